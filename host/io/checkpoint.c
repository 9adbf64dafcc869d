/* Checkpoints: model tensors + the optimizer's state + progress, as safetensors. */
#include "mnistcl/checkpoint.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/model_io.h"

/* The state's tensors: one per slot of n values. */
static const char *const sgd_state_names[] = {"optimizer.velocity"};
static const char *const adam_state_names[] = {"optimizer.exp_avg", "optimizer.exp_avg_sq"};

/* Appends tensor `name` of the n floats at values to f; 0 when full or out of memory. */
static int add_flat_tensor(st_file *f, const char *name, const float *values, size_t n)
{
    if (f->n_tensors >= ST_MAX_TENSORS)
        return 0;
    st_tensor *v = &f->tensors[f->n_tensors];
    memset(v, 0, sizeof *v);
    snprintf(v->name, sizeof v->name, "%s", name);
    v->ndim = 1, v->shape[0] = (long long)n, v->count = n;
    v->data = malloc(n * sizeof(float) + 1);
    if (!v->data)
        return 0;
    memcpy(v->data, values, n * sizeof(float));
    f->n_tensors++;
    return 1;
}

mc_status checkpoint_save(const char *path, const mlp_spec *spec, const float *params,
                          const optimizer_state *state, const train_progress *progress,
                          const st_meta *settings, int n_settings, mc_error *err)
{
    size_t n = mlp_param_count(spec);
    if (state->floats != n && state->floats != 2 * n)
        return mc_fail(err, MC_ERR_RUNTIME,
                       "internal error: checkpoint_save: the optimizer state is %zu floats, "
                       "not %zu or %zu (one or two per parameter)",
                       state->floats, n, 2 * n);
    st_file f;
    mc_status st = model_to_st(spec, params, &f, err);
    if (st)
        return st;
    int slots = state->floats == n ? 1 : 2;
    const char *const *names = slots == 1 ? sgd_state_names : adam_state_names;
    for (int k = 0; k < slots; k++)
        if (!add_flat_tensor(&f, names[k], state->values + (size_t)k * n, n)) {
            st_free(&f);
            return mc_fail(err, MC_ERR_NOMEM, "%s: out of memory or too many layers for a "
                           "checkpoint", path);
        }
    if (state->best && !add_flat_tensor(&f, "best.params", state->best, n)) {
        st_free(&f);
        return mc_fail(err, MC_ERR_NOMEM, "%s: out of memory or too many layers for a "
                       "checkpoint", path);
    }
    char text[128];
    for (int i = 0; i < f.n_meta; i++) /* a model's format, made a checkpoint's */
        if (strcmp(f.meta[i].key, "format") == 0)
            snprintf(f.meta[i].value, sizeof f.meta[i].value, "mnistcl-checkpoint");
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
            return mc_fail(err, MC_ERR_RUNTIME,
                           "%s: the setting %s does not fit in a checkpoint (too many or too "
                           "long)",
                           path, settings[i].key);
        }
    st = st_save(path, &f, err);
    st_free(&f);
    return st;
}

/* Parses a metadata integer in [lo, hi]: decimal digits only (no space or sign). */
static int meta_int(const st_file *f, const char *key, long long lo, long long hi, long long *out)
{
    const char *v = st_meta_get(f, key);
    if (!v || !*v || strspn(v, "0123456789") != strlen(v) || strlen(v) > 18)
        return 0;
    long long x = strtoll(v, NULL, 10);
    if (x < lo || x > hi)
        return 0;
    *out = x;
    return 1;
}

/* Parses the 64 hex digits of the rng metadata into the four state words; 0 unless there
 * are exactly 64 characters and every one is a hex digit. */
static int parse_rng(const char *hex, rng *r)
{
    if (!hex || strlen(hex) != 64 || strspn(hex, "0123456789abcdefABCDEF") != 64)
        return 0;
    for (int i = 0; i < 4; i++) {
        char part[17];
        memcpy(part, hex + 16 * i, 16);
        part[16] = 0;
        r->s[i] = strtoull(part, NULL, 16);
    }
    return 1;
}

/* Parses epoch_loss_sum, a plain decimal number (no space, sign, inf or nan), into *out. */
static int parse_loss(const char *text, double *out)
{
    if (!text || !*text || strspn(text, "0123456789.eE+-") != strlen(text) || *text == '+' ||
        *text == '-')
        return 0;
    char *end;
    errno = 0;
    *out = strtod(text, &end);
    return !*end && !errno && isfinite(*out);
}

/*
 * Reads where training stood from the metadata into p and checks what can be checked
 * without the data: epoch >= 1, step >= 0, epoch_correct >= 0, epoch_loss_sum finite and
 * >= 0, nothing counted at step 0, and an rng state xoshiro256** can run from (not all
 * zero, a state it never leaves). Checks against the data and the settings (steps per
 * epoch, images seen) are the caller's.
 */
static mc_status parse_progress(const st_file *f, const char *path, train_progress *p,
                                mc_error *err)
{
    long long epoch, step, correct;
    double loss_sum;
    if (!meta_int(f, "epoch", 1, 1 << 30, &epoch) || !meta_int(f, "step", 0, 1 << 30, &step) ||
        !meta_int(f, "epoch_correct", 0, 1LL << 40, &correct) ||
        !parse_loss(st_meta_get(f, "epoch_loss_sum"), &loss_sum))
        return mc_fail(err, MC_ERR_DATA,
                       "%s: epoch, step, rng, epoch_loss_sum or epoch_correct missing or malformed",
                       path);
    if (!parse_rng(st_meta_get(f, "rng"), &p->shuffle_rng))
        return mc_fail(err, MC_ERR_DATA, "%s: rng is not 64 hexadecimal digits", path);
    const uint64_t *s = p->shuffle_rng.s;
    if (!s[0] && !s[1] && !s[2] && !s[3])
        return mc_fail(err, MC_ERR_DATA,
                       "%s: rng state is all zero, which xoshiro256** cannot run from", path);
    if (step == 0 && (correct != 0 || loss_sum != 0))
        return mc_fail(err, MC_ERR_DATA,
                       "%s: step 0 with epoch_correct %lld and epoch_loss_sum %.17g: nothing "
                       "is counted before the first step",
                       path, correct, loss_sum);
    p->epoch = (int)epoch;
    p->step = (int)step;
    p->loss_sum = loss_sum;
    p->correct = correct;
    return MC_OK;
}

/* What checkpoint_load's check before the data fills in. */
typedef struct {
    mlp_spec *spec;
    train_progress *progress;
} load_context;

/*
 * st_check_fn of checkpoint_load, run before any tensor data is read: the format, the
 * model's metadata and tensors (model_check_st, which also checks the state tensors'
 * shapes), that the optimizer's state is there (one kind of it), the progress.
 */
static mc_status check_checkpoint(const st_file *f, const char *path, void *ctx, mc_error *err)
{
    load_context *c = ctx;
    const char *format = st_meta_get(f, "format");
    if (!format || strcmp(format, "mnistcl-checkpoint") != 0)
        return mc_fail(err, MC_ERR_DATA, "%s: not an mnistcl checkpoint (format %.100s)", path,
                       format ? format : "missing");
    mc_status st = model_check_st(f, path, c->spec, err);
    if (st)
        return st;
    int sgd = st_find(f, "optimizer.velocity") != NULL;
    int adam = st_find(f, "optimizer.exp_avg") != NULL, adam_sq = st_find(f, "optimizer.exp_avg_sq") != NULL;
    if (sgd + adam != 1 || adam != adam_sq)
        return mc_fail(err, MC_ERR_DATA,
                       "%s: the optimizer's state is not one of optimizer.velocity or "
                       "optimizer.exp_avg with optimizer.exp_avg_sq (%zu values each)",
                       path, mlp_param_count(c->spec));
    return parse_progress(f, path, c->progress, err);
}

mc_status checkpoint_load(const char *path, mlp_spec *spec, float **params,
                          optimizer_state *state, train_progress *progress, st_file *meta,
                          mc_error *err)
{
    st_file f;
    *params = NULL;
    state->values = state->best = NULL, state->floats = 0;
    load_context ctx = {spec, progress};
    mc_status st = st_load_checked(path, &f, check_checkpoint, &ctx, err);
    if (st)
        return st;
    st = model_from_st(&f, path, spec, params, err);
    if (st)
        goto out;
    size_t n = mlp_param_count(spec);
    int slots = st_find(&f, "optimizer.velocity") ? 1 : 2;
    const char *const *names = slots == 1 ? sgd_state_names : adam_state_names;
    state->values = malloc((size_t)slots * n * sizeof(float) + 1);
    if (!state->values) {
        st = mc_fail(err, MC_ERR_NOMEM, "out of memory");
        goto out;
    }
    state->floats = (size_t)slots * n;
    for (int k = 0; k < slots; k++) {
        const st_tensor *v = st_find(&f, names[k]);
        for (size_t i = 0; i < n; i++) {
            /* Adam's second moments are never negative */
            if (!isfinite(v->data[i]) || (k == 1 && v->data[i] < 0.0f)) {
                st = mc_fail(err, MC_ERR_DATA, "%s: %s value %zu is not a finite number%s",
                             path, names[k], i, k == 1 ? " of at least 0" : "");
                goto out;
            }
            state->values[(size_t)k * n + i] = v->data[i];
        }
    }
    const st_tensor *best = st_find(&f, "best.params");
    if (best) {
        if (!(state->best = malloc(n * sizeof(float) + 1))) {
            st = mc_fail(err, MC_ERR_NOMEM, "out of memory");
            goto out;
        }
        for (size_t i = 0; i < n; i++) {
            if (!isfinite(best->data[i])) {
                st = mc_fail(err, MC_ERR_DATA, "%s: best.params value %zu is not a finite "
                             "number", path, i);
                goto out;
            }
            state->best[i] = best->data[i];
        }
    }
    if (meta) {
        memset(meta, 0, sizeof *meta);
        meta->n_meta = f.n_meta;
        memcpy(meta->meta, f.meta, sizeof f.meta);
    }
out:
    if (st) {
        free(*params);
        free(state->values);
        free(state->best);
        *params = NULL;
        state->values = state->best = NULL, state->floats = 0;
    }
    st_free(&f);
    return st;
}
