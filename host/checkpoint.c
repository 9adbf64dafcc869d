/* Checkpoints: model tensors + optimizer velocity + progress, as safetensors. */
#include "mnistcl/checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/model_io.h"

mc_status checkpoint_save(const char *path, const mlp_spec *spec, const float *params,
                          const float *velocity, const train_progress *progress,
                          const st_meta *settings, int n_settings, mc_error *err)
{
    st_file f;
    mc_status st = model_to_st(spec, params, &f, err);
    if (st)
        return st;
    if (f.n_tensors >= ST_MAX_TENSORS) {
        st_free(&f);
        return mc_fail(err, MC_ERR_RUNTIME, "%s: too many layers for a checkpoint", path);
    }
    size_t n = mlp_param_count(spec);
    st_tensor *v = &f.tensors[f.n_tensors++];
    snprintf(v->name, sizeof v->name, "optimizer.velocity");
    v->ndim = 1, v->shape[0] = (long long)n, v->count = n;
    v->data = malloc(n * sizeof(float) + 1);
    if (!v->data) {
        st_free(&f);
        return mc_fail(err, MC_ERR_NOMEM, "out of memory");
    }
    memcpy(v->data, velocity, n * sizeof(float));
    char text[128];
    st_meta_add(&f, "format", "mnistcl-checkpoint");
    snprintf(text, sizeof text, "%d", progress->epoch);
    st_meta_add(&f, "epoch", text);
    snprintf(text, sizeof text, "%d", progress->step);
    st_meta_add(&f, "step", text);
    const uint64_t *s = progress->shuffle_rng.s;
    snprintf(text, sizeof text, "%016" PRIx64 "%016" PRIx64 "%016" PRIx64 "%016" PRIx64, s[0],
             s[1], s[2], s[3]);
    st_meta_add(&f, "rng", text);
    snprintf(text, sizeof text, "%.17g", progress->loss_sum);
    st_meta_add(&f, "epoch_loss_sum", text);
    snprintf(text, sizeof text, "%lld", progress->correct);
    st_meta_add(&f, "epoch_correct", text);
    for (int i = 0; i < n_settings; i++)
        if (!st_meta_add(&f, settings[i].key, settings[i].value)) {
            st_free(&f);
            return mc_fail(err, MC_ERR_RUNTIME, "%s: too many settings for a checkpoint", path);
        }
    /* "format" was added twice (model, then checkpoint): keep the checkpoint's */
    for (int i = 0; i < f.n_meta; i++)
        if (strcmp(f.meta[i].key, "format") == 0 && strcmp(f.meta[i].value, "mnistcl") == 0) {
            f.meta[i] = f.meta[--f.n_meta];
            break;
        }
    st = st_save(path, &f, err);
    st_free(&f);
    return st;
}

/* Parses a metadata integer in [lo, hi]. */
static int meta_int(const st_file *f, const char *key, long long lo, long long hi, long long *out)
{
    const char *v = st_meta_get(f, key);
    if (!v)
        return 0;
    char *end;
    errno = 0;
    long long x = strtoll(v, &end, 10);
    if (end == v || *end || errno || x < lo || x > hi)
        return 0;
    *out = x;
    return 1;
}

mc_status checkpoint_load(const char *path, mlp_spec *spec, float **params, float **velocity,
                          train_progress *progress, st_file *meta, mc_error *err)
{
    st_file f;
    *params = *velocity = NULL;
    mc_status st = st_load(path, &f, err);
    if (st)
        return st;
    const char *format = st_meta_get(&f, "format");
    if (!format || strcmp(format, "mnistcl-checkpoint") != 0) {
        st = mc_fail(err, MC_ERR_DATA, "%s: not an mnistcl checkpoint (format %s)", path,
                     format ? format : "missing");
        goto out;
    }
    st = model_from_st(&f, path, spec, params, err);
    if (st)
        goto out;
    size_t n = mlp_param_count(spec);
    const st_tensor *v = st_find(&f, "optimizer.velocity");
    if (!v || v->ndim != 1 || v->count != n) {
        st = mc_fail(err, MC_ERR_DATA, "%s: optimizer.velocity missing or not %zu values", path,
                     n);
        goto out;
    }
    *velocity = malloc(n * sizeof(float) + 1);
    if (!*velocity) {
        st = mc_fail(err, MC_ERR_NOMEM, "out of memory");
        goto out;
    }
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(v->data[i])) {
            st = mc_fail(err, MC_ERR_DATA, "%s: velocity %zu is not a finite number", path, i);
            goto out;
        }
        (*velocity)[i] = v->data[i];
    }
    long long epoch, step, correct;
    const char *rng_hex = st_meta_get(&f, "rng"), *loss = st_meta_get(&f, "epoch_loss_sum");
    char *end = NULL;
    double loss_sum = loss ? strtod(loss, &end) : NAN;
    if (!meta_int(&f, "epoch", 1, 1 << 30, &epoch) || !meta_int(&f, "step", 0, 1 << 30, &step) ||
        !meta_int(&f, "epoch_correct", 0, 1LL << 40, &correct) || !rng_hex ||
        strlen(rng_hex) != 64 || !loss || *end || !isfinite(loss_sum)) {
        st = mc_fail(err, MC_ERR_DATA,
                     "%s: epoch, step, rng, epoch_loss_sum or epoch_correct missing or malformed",
                     path);
        goto out;
    }
    for (int i = 0; i < 4; i++) {
        char part[17];
        memcpy(part, rng_hex + 16 * i, 16);
        part[16] = 0;
        progress->shuffle_rng.s[i] = strtoull(part, &end, 16);
        if (*end) {
            st = mc_fail(err, MC_ERR_DATA, "%s: rng is not 64 hexadecimal digits", path);
            goto out;
        }
    }
    progress->epoch = (int)epoch;
    progress->step = (int)step;
    progress->loss_sum = loss_sum;
    progress->correct = correct;
    if (meta) {
        memset(meta, 0, sizeof *meta);
        meta->n_meta = f.n_meta;
        memcpy(meta->meta, f.meta, sizeof f.meta);
    }
out:
    if (st) {
        free(*params);
        free(*velocity);
        *params = *velocity = NULL;
    }
    st_free(&f);
    return st;
}
