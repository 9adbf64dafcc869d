/* A training run's decisions besides the arithmetic: see run_policy.h. */
#include "train/run_policy.h"

#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "core/parallel.h"

/* ---- divergence --------------------------------------------------------------------------- */

double policy_loss_limit(output_kind output, int classes)
{
    return output == OUT_SOFTMAX_XENT ? 10.0 * log(classes > 1 ? classes : 2) : 1.0;
}

double policy_param_limit(output_kind output)
{
    return output == OUT_SIGMOID_MSE ? POLICY_MAX_SANE_PARAM_SIGMOID_MSE : POLICY_MAX_SANE_PARAM;
}

int policy_values_insane(const float *v, size_t n, double limit)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(v[i]) <= limit))
            return 1;
    return 0;
}

/* The spec's number of classes: the width of its last layer. */
static int classes_of(const mlp_spec *spec)
{
    return spec->sizes[spec->n_layers];
}

int policy_state_diverged(const mlp_spec *spec, const float *params, const float *velocity,
                          double mean_loss)
{
    size_t n = mlp_param_count(spec);
    double limit = policy_param_limit(spec->output);
    return policy_values_insane(params, n, limit) || policy_values_insane(velocity, n, limit) ||
           !isfinite(mean_loss) || mean_loss > policy_loss_limit(spec->output, classes_of(spec));
}

void policy_divergence_reason(const mlp_spec *spec, const float *params, double mean_loss,
                              char *out, size_t len)
{
    size_t n = mlp_param_count(spec);
    double worst = 0, limit = policy_param_limit(spec->output);
    double loss_limit = policy_loss_limit(spec->output, classes_of(spec));
    for (size_t i = 0; i < n; i++) {
        double a = fabs((double)params[i]);
        if (!(a <= worst))
            worst = a;
    }
    if (!(worst <= limit))
        snprintf(out, len, "a parameter reached %g (limit %g%s)", worst, limit,
                 spec->output == OUT_SIGMOID_MSE ? " for sigmoid outputs: they are saturated"
                                                 : "");
    else if (!isfinite(mean_loss))
        snprintf(out, len, "the loss became %s", isnan(mean_loss) ? "NaN" : "infinite");
    else
        snprintf(out, len, "the mean loss reached %.4g (a guess scores %.3g; limit %.3g)",
                 mean_loss, loss_limit / 10, loss_limit);
}

void policy_divergence_message(const policy_divergence *d, const mlp_spec *spec,
                               const float *params, char *out, size_t len)
{
    char where[64], why[200], kept[512] = "";
    if (d->first_bad_step >= 0)
        snprintf(where, sizeof where, "at step %d", d->first_bad_step + 1);
    else
        snprintf(where, sizeof where, "by step %d", d->steps_done);
    policy_divergence_reason(spec, params, d->mean_loss, why, sizeof why);
    if (d->checkpointed)
        snprintf(kept, sizeof kept, "; %.300s holds epoch %d, step %d, from before it",
                 d->checkpoint, d->checkpoint_at.epoch, d->checkpoint_at.step);
    else if (d->checkpoint)
        snprintf(kept, sizeof kept, "; no checkpoint of this run was written before it");
    snprintf(out, len,
             "mnistcl: training diverged in epoch %d %s: %s.\n"
             "mnistcl: try a lower learning rate (--lr %g now)%s; nothing was saved\n",
             d->epoch, where, why, d->lr, kept);
}

/* ---- steps, slices and the checkpoint schedule --------------------------------------------- */

long long policy_images_done(int steps, int batch, int set_images)
{
    long long images = (long long)steps * batch;
    return images < set_images ? images : set_images;
}

double policy_mean_loss(double loss_sum, long long images)
{
    return images > 0 ? loss_sum / (double)images : 0;
}

int policy_next_checkpoint(int step, int every, int steps)
{
    return every > 0 ? (step / every + 1) * every : steps;
}

int policy_checkpoint_due(int step, int next_checkpoint, int steps)
{
    return step == next_checkpoint && step < steps;
}

int policy_slice_end(int step, int slice, int next_checkpoint, int steps)
{
    int next = step + slice < next_checkpoint ? step + slice : next_checkpoint;
    return next < steps ? next : steps;
}

int policy_next_slice(int slice, int done, double seconds, int steps)
{
    if (done < slice) /* cut short by a checkpoint or the epoch's end: says little */
        return slice;
    double want = seconds > 0 ? slice * (POLICY_SLICE_SECONDS / seconds) : 8.0 * slice;
    want = want > 8.0 * slice ? 8.0 * slice : want < slice / 2.0 ? slice / 2.0 : want;
    return want < 1 ? 1 : want > steps ? steps : (int)want;
}

train_progress policy_epoch_end_progress(int epoch, const rng *shuffle_rng)
{
    train_progress p = {epoch + 1, 0, *shuffle_rng, 0, 0};
    return p;
}

int policy_epoch_shown(int epoch, int first_epoch, int print_every, int epochs)
{
    return epoch == first_epoch || epoch % print_every == 0 || epoch == epochs;
}

/* ---- stopping on a signal ----------------------------------------------------------------- */

void policy_stop_description(const char *signal_name, const train_progress *p, int steps,
                             char *out, size_t len)
{
    if (p->step > 0)
        snprintf(out, len, "%s in epoch %d after step %d of %d", signal_name, p->epoch, p->step,
                 steps);
    else
        snprintf(out, len, "%s at the start of epoch %d", signal_name, p->epoch);
}

int policy_nothing_trained(int resumed, const train_progress *p)
{
    return !resumed && p->epoch == 1 && p->step == 0;
}

/* ---- resuming ------------------------------------------------------------------------------ */

/* The fingerprint's crc32 over pieces of the pixels-then-labels stream, `threads` threads
 * taking every threads-th piece; the pieces' crcs joined in order (crc32_combine). */
typedef struct {
    const unsigned char *bytes[2]; /* the pixels, the labels */
    size_t sizes[2];
    size_t piece;                  /* bytes a piece (the last one may be shorter) */
    size_t pieces;
    uLong *crcs;                   /* one a piece, each started from crc32's initial value */
    int threads, first;            /* this thread's first piece */
} fingerprint_job;

/* crc32 (from `crc`) of the bytes [from, to) of the stream that is bytes[0] then bytes[1]. */
static uLong stream_crc(const fingerprint_job *j, uLong crc, size_t from, size_t to)
{
    for (int k = 0; k < 2; k++) {
        size_t hi = to < j->sizes[k] ? to : j->sizes[k];
        for (size_t done = from; done < hi;) {
            size_t part = hi - done < (1u << 30) ? hi - done : (1u << 30);
            crc = crc32(crc, j->bytes[k] + done, (uInt)part);
            done += part;
        }
        from = from > j->sizes[k] ? from - j->sizes[k] : 0;
        to = to > j->sizes[k] ? to - j->sizes[k] : 0;
    }
    return crc;
}

/* One thread's share of a fingerprint_job: the crc of each of its pieces. */
static void *fingerprint_pieces(void *arg)
{
    fingerprint_job *j = arg;
    for (size_t p = (size_t)j->first; p < j->pieces; p += (size_t)j->threads)
        j->crcs[p] = stream_crc(j, crc32(0L, Z_NULL, 0), p * j->piece, (p + 1) * j->piece);
    return NULL;
}

void policy_data_fingerprint_with(const dataset *d, size_t piece, int threads, char *out,
                                  size_t len)
{
    fingerprint_job job = {.bytes = {d->images, d->labels},
                           .sizes = {(size_t)d->n * (size_t)dataset_dim(d),
                                     d->labels ? (size_t)d->n : 0}};
    size_t total = job.sizes[0] + job.sizes[1];
    job.piece = piece > 0 ? piece : 1;
    job.pieces = total / job.piece + (total % job.piece != 0);
    if (threads > PARALLEL_MAX_THREADS)
        threads = PARALLEL_MAX_THREADS;
    if ((size_t)threads > job.pieces)
        threads = (int)job.pieces;
    uLong crc = crc32(0L, Z_NULL, 0);
    job.crcs = threads > 1 ? malloc(job.pieces * sizeof *job.crcs) : NULL;
    if (!job.crcs) { /* one thread, or no memory for the pieces' crcs */
        crc = stream_crc(&job, crc, 0, total);
    } else {
        fingerprint_job jobs[PARALLEL_MAX_THREADS];
        for (int t = 0; t < threads; t++) {
            jobs[t] = job;
            jobs[t].threads = threads, jobs[t].first = t;
        }
        parallel_run(fingerprint_pieces, jobs, sizeof jobs[0], threads);
        for (size_t p = 0; p < job.pieces; p++) {
            size_t bytes = p + 1 < job.pieces ? job.piece : total - p * job.piece;
            crc = crc32_combine(crc, job.crcs[p], (z_off_t)bytes);
        }
        free(job.crcs);
    }
    snprintf(out, len, "%d images of %dx%d, crc32 %08lx", d->n, d->rows, d->cols,
             (unsigned long)crc);
}

void policy_data_fingerprint(const dataset *d, char *out, size_t len)
{
    policy_data_fingerprint_with(d, POLICY_FINGERPRINT_PIECE, parallel_threads(8), out, len);
}

mc_status policy_check_resume_progress(const char *path, const char *recorded,
                                       const policy_data *data, const train_progress *p,
                                       double loss_limit, mc_error *err)
{
    if (recorded && strcmp(recorded, data->fingerprint) != 0)
        return mc_fail(err, MC_ERR_USAGE,
                       "%s was made on other training data (%s; now %s): resume on the same "
                       "data and --train-limit",
                       path, recorded, data->fingerprint);
    if (p->step >= data->steps)
        return mc_fail(err, MC_ERR_DATA,
                       "%s: step %d of epoch %d, but an epoch of this data has %d steps", path,
                       p->step, p->epoch, data->steps);
    long long images = policy_images_done(p->step, data->batch, data->images);
    if (p->correct > images || p->loss_sum > (double)images * loss_limit)
        return mc_fail(err, MC_ERR_DATA,
                       "%s: epoch_correct %lld / epoch_loss_sum %g cannot come from the %lld "
                       "images of %d steps",
                       path, p->correct, p->loss_sum, images, p->step);
    return MC_OK;
}

int policy_epochs_done(const train_progress *p)
{
    return p->step > 0 ? p->epoch : p->epoch - 1;
}

mc_status policy_recorded_replicas(const char *path, const char *recorded, int *replicas,
                                   mc_error *err)
{
    *replicas = 1;
    if (!recorded)
        return MC_OK;
    long long n = 0;
    size_t len = strlen(recorded);
    int digits = len > 0 && len <= 7 && strspn(recorded, "0123456789") == len;
    for (size_t i = 0; digits && i < len; i++)
        n = n * 10 + (recorded[i] - '0');
    if (!digits || n < 1 || n > 1 << 20)
        return mc_fail(err, MC_ERR_DATA, "%s: %s = '%.40s' is not a replica count (1 .. %d)",
                       path, POLICY_REPLICAS_KEY, recorded, 1 << 20);
    *replicas = (int)n;
    return MC_OK;
}

mc_status policy_check_resume_epochs(int epochs, const char *path, const train_progress *p,
                                     mc_error *err)
{
    int done = policy_epochs_done(p);
    if (epochs < done)
        return mc_fail(err, MC_ERR_USAGE,
                       "--epochs %d: %s is already in epoch %d (step %d); give at least "
                       "--epochs %d",
                       epochs, path, p->epoch, p->step, done);
    return MC_OK;
}

/* ---- the settings a checkpoint keeps ------------------------------------------------------- */

const policy_setting policy_settings[POLICY_N_SETTINGS] = {
    {"dataset", SETTING_STRING},
    {"data", SETTING_STRING},
    {"train-csv", SETTING_STRING},
    {"test-csv", SETTING_STRING},
    {"init", SETTING_STRING},
    {"batch", SETTING_STRING},
    {"epochs", SETTING_INT},
    {"train-limit", SETTING_INT},
    {"shuffle", SETTING_FLAG},
    {"lr", SETTING_FLOAT},
    {"momentum", SETTING_FLOAT},
    {"weight-decay", SETTING_FLOAT},
    {"seed", SETTING_U64},
    {"preset", SETTING_STRING},
    {"val", SETTING_STRING},
    {"early-stop", SETTING_INT},
    {"plateau", SETTING_STRING},
    {"optimizer", SETTING_STRING},
    {"beta1", SETTING_FLOAT},
    {"beta2", SETTING_FLOAT},
    {"eps", SETTING_FLOAT},
    {"schedule", SETTING_STRING},
    {"warmup", SETTING_INT},
    {"step-epochs", SETTING_INT},
    {"gamma", SETTING_FLOAT},
    {"final-lr", SETTING_FLOAT},
    {"dropout", SETTING_FLOAT},
    {"input-dropout", SETTING_FLOAT},
    {"augment", SETTING_FLAG},
    {"shift", SETTING_FLOAT},
    {"rotate", SETTING_FLOAT},
    {"scale", SETTING_FLOAT},
    {"elastic-alpha", SETTING_FLOAT},
    {"elastic-sigma", SETTING_FLOAT},
};
/* 34 settings, 11 of them strings: 45 pairs at most */
_Static_assert(POLICY_N_SETTINGS + 11 <= POLICY_SETTINGS_META_MAX,
               "POLICY_SETTINGS_META_MAX is too small");

/* Options that may change when resuming (the others are the checkpoint's). */
static const char *const resume_may_change[] = {
    "resume", "epochs", "device", "save", "checkpoint", "checkpoint-every", "print-every",
    "predictions", "log", "progress", "quiet", "data", "train-csv", "test-csv",
};

int policy_resume_may_change(const char *name)
{
    for (size_t k = 0; k < sizeof resume_may_change / sizeof resume_may_change[0]; k++)
        if (strcmp(name, resume_may_change[k]) == 0)
            return 1;
    return 0;
}

void policy_hex_encode(const char *text, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)text; *c && n + 2 < cap; c++) {
        out[n++] = digits[*c >> 4];
        out[n++] = digits[*c & 15];
    }
    out[n] = 0;
}

/* The value of lowercase hex digit c, or -1. */
static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int policy_hex_decode_in_place(char *s)
{
    size_t n = strlen(s);
    if (n % 2)
        return 0;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return 0;
        s[i / 2] = (char)(hi * 16 + lo);
    }
    s[n / 2] = 0;
    return 1;
}

int policy_settings_to_meta(const policy_value values[POLICY_N_SETTINGS], st_meta *meta)
{
    int n = 0;
    for (int i = 0; i < POLICY_N_SETTINGS; i++) {
        const policy_value *v = &values[i];
        char *value = meta[n].value;
        size_t cap = sizeof meta[n].value;
        switch (policy_settings[i].kind) {
        case SETTING_STRING:
            if (!v->text)
                continue;
            snprintf(value, cap, "%s", v->text);
            break;
        case SETTING_INT:
        case SETTING_FLAG: snprintf(value, cap, "%d", v->integer); break;
        case SETTING_FLOAT: snprintf(value, cap, "%.9g", v->real); break;
        case SETTING_U64: snprintf(value, cap, "%llu", (unsigned long long)v->u64); break;
        }
        snprintf(meta[n].key, sizeof meta[n].key, "setting.%s", policy_settings[i].name);
        n++;
        if (policy_settings[i].kind == SETTING_STRING && !st_is_utf8(value)) {
            snprintf(meta[n].key, sizeof meta[n].key, "setting.%s.bytes",
                     policy_settings[i].name);
            policy_hex_encode(value, meta[n].value, sizeof meta[n].value);
            n++;
        }
    }
    return n;
}

int policy_checkpoint_meta(const policy_value values[POLICY_N_SETTINGS], const char *fingerprint,
                           st_meta *meta)
{
    int n = policy_settings_to_meta(values, meta);
    snprintf(meta[n].key, sizeof meta[n].key, "%s", POLICY_DATA_KEY);
    snprintf(meta[n++].value, sizeof meta[0].value, "%s", fingerprint);
    return n;
}

mc_status policy_settings_from_meta(st_file *meta, const char *path, policy_setting_fn set,
                                    void *ctx, mc_error *err)
{
    for (int i = 0; i < POLICY_N_SETTINGS; i++) {
        const char *name = policy_settings[i].name;
        int is_string = policy_settings[i].kind == SETTING_STRING;
        char key[64];
        snprintf(key, sizeof key, "setting.%s", name);
        const char *v = st_meta_get(meta, key);
        char bytes_key[80];
        snprintf(bytes_key, sizeof bytes_key, "setting.%s.bytes", name);
        char *bytes = (char *)st_meta_get(meta, bytes_key); /* points into meta */
        if (bytes && is_string) {
            if (!policy_hex_decode_in_place(bytes))
                return mc_fail(err, MC_ERR_DATA, "%s: %s is not hexadecimal bytes", path,
                               bytes_key);
            v = bytes;
        }
        if (!v && !is_string)
            continue;
        mc_error why = {{0}};
        if (set(ctx, i, v, &why)) {
            if (!v) /* unsetting a string cannot be refused; say so rather than print NULL */
                return mc_fail(err, MC_ERR_DATA, "%s: setting.%s cannot be unset: %s", path,
                               name, why.msg);
            return mc_fail(err, MC_ERR_DATA, "%s: setting.%s = '%.80s' is not valid: %s", path,
                           name, v, why.msg);
        }
    }
    return MC_OK;
}

/* ---- validation: early stopping, the best weights, reduce-on-plateau ----------------------- */

mc_status policy_val_count(const char *text, int images, int *count, mc_error *err)
{
    const char *hint = "give a number of images (--val 5000) or a fraction of the training set "
                       "(--val 0.1)";
    int check_only = images == INT_MAX;
    size_t len = text ? strlen(text) : 0;
    if (!len || len > 32 || strspn(text, "0123456789.") != len ||
        strchr(text, '.') != strrchr(text, '.') || strcmp(text, ".") == 0)
        return mc_fail(err, MC_ERR_USAGE, "--val '%.40s': %s", text ? text : "", hint);
    long long n;
    if (strchr(text, '.')) {
        double f = strtod(text, NULL);
        if (!(f > 0 && f < 1))
            return mc_fail(err, MC_ERR_USAGE,
                           "--val %s: a fraction of the training set lies strictly between 0 "
                           "and 1 (a number of images has no point)",
                           text);
        if (check_only) {
            *count = 0;
            return MC_OK;
        }
        n = llround(f * images);
        if (n < 1)
            return mc_fail(err, MC_ERR_USAGE,
                           "--val %s: %s of %d training images rounds to none; give more", text,
                           text, images);
    } else {
        n = len > 10 ? LLONG_MAX : strtoll(text, NULL, 10);
        if (n < 1)
            return mc_fail(err, MC_ERR_USAGE,
                           "--val %s: hold out at least 1 image (without --val nothing is)",
                           text);
        if (check_only && n >= INT_MAX)
            return mc_fail(err, MC_ERR_USAGE, "--val %s: too many images", text);
        if (check_only) {
            *count = (int)n;
            return MC_OK;
        }
    }
    if (n >= images)
        return mc_fail(err, MC_ERR_USAGE,
                       "--val %s: the training set has %d images (after --train-limit): hold "
                       "out at most %d, so that some are left to train on",
                       text, images, images - 1);
    *count = (int)n;
    return MC_OK;
}

mc_status policy_parse_plateau(const char *text, double *factor, int *patience, mc_error *err)
{
    const char *usage = "give FACTOR[:PATIENCE], 0 < FACTOR < 1 (e.g. --plateau 0.5 or 0.1:3)";
    char buf[64];
    if (!text || strlen(text) >= sizeof buf)
        return mc_fail(err, MC_ERR_USAGE, "--plateau: %s", usage);
    snprintf(buf, sizeof buf, "%s", text);
    char *colon = strchr(buf, ':');
    if (colon)
        *colon = 0;
    char *end;
    errno = 0;
    double f = strtod(buf, &end);
    if (!buf[0] || *end || errno || strspn(buf, "0123456789.eE+-") != strlen(buf) ||
        !(f > 0 && f < 1))
        return mc_fail(err, MC_ERR_USAGE, "--plateau '%s': the factor must lie strictly "
                       "between 0 and 1; %s", text, usage);
    long p = POLICY_PLATEAU_PATIENCE;
    if (colon) {
        const char *digits = colon + 1;
        if (!*digits || strlen(digits) > 7 || strspn(digits, "0123456789") != strlen(digits) ||
            (p = strtol(digits, NULL, 10)) > 1000000)
            return mc_fail(err, MC_ERR_USAGE, "--plateau '%s': the patience must be an integer "
                           "from 0 to 1000000; %s", text, usage);
    }
    *factor = f;
    *patience = (int)p;
    return MC_OK;
}

int policy_val_improved(double loss, double best)
{
    return loss < best;
}

int policy_patience_exhausted(int bad_epochs, int patience)
{
    return patience > 0 && bad_epochs >= patience;
}

int policy_plateau_due(int bad_epochs, int patience)
{
    return bad_epochs > patience;
}

float policy_plateau_scale(float scale, double factor)
{
    return scale * (float)factor;
}

policy_val_state policy_val_start(void)
{
    policy_val_state s = {0, INFINITY, 0, 0, 0, 1.0f};
    return s;
}

policy_val_decision policy_val_epoch(policy_val_state *s, int epoch, double loss,
                                     double accuracy, int early_stop, double plateau_factor,
                                     int plateau_patience)
{
    policy_val_decision d = {0, 0, 0};
    if (policy_val_improved(loss, s->best_loss)) {
        d.improved = 1;
        s->best_epoch = epoch, s->best_loss = loss, s->best_accuracy = accuracy;
        s->bad_epochs = s->plateau_bad = 0;
    } else {
        s->bad_epochs++, s->plateau_bad++;
    }
    if (plateau_factor > 0 && policy_plateau_due(s->plateau_bad, plateau_patience)) {
        d.reduced = 1;
        s->lr_scale = policy_plateau_scale(s->lr_scale, plateau_factor);
        s->plateau_bad = 0;
    }
    d.stop = policy_patience_exhausted(s->bad_epochs, early_stop);
    return d;
}

/* Appends key = the printf-formatted value to meta[*n]. */
static void put_meta(st_meta *meta, int *n, const char *key, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void put_meta(st_meta *meta, int *n, const char *key, const char *fmt, ...)
{
    snprintf(meta[*n].key, sizeof meta[*n].key, "%s", key);
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(meta[*n].value, sizeof meta[*n].value, fmt, ap);
    va_end(ap);
    (*n)++;
}

int policy_val_state_to_meta(const policy_val_state *s, int plateau, st_meta *meta)
{
    int n = 0;
    put_meta(meta, &n, POLICY_KEY_BEST_EPOCH, "%d", s->best_epoch);
    if (s->best_epoch > 0) {
        put_meta(meta, &n, POLICY_KEY_BEST_LOSS, "%.17g", s->best_loss);
        put_meta(meta, &n, POLICY_KEY_BEST_ACCURACY, "%.17g", s->best_accuracy);
    }
    put_meta(meta, &n, POLICY_KEY_BAD_EPOCHS, "%d", s->bad_epochs);
    if (plateau) {
        put_meta(meta, &n, POLICY_KEY_LR_SCALE, "%.9g", s->lr_scale);
        put_meta(meta, &n, POLICY_KEY_PLATEAU_BAD, "%d", s->plateau_bad);
    }
    return n;
}

/* A metadata count: decimal digits only, at most 1e9. */
static int meta_count(const st_file *f, const char *key, int *out)
{
    const char *v = st_meta_get(f, key);
    if (!v || !*v || strlen(v) > 10 || strspn(v, "0123456789") != strlen(v))
        return 0;
    long long x = strtoll(v, NULL, 10);
    if (x > 1000000000)
        return 0;
    *out = (int)x;
    return 1;
}

/* A metadata number: a plain finite decimal (no space, sign, inf or nan). */
static int meta_number(const st_file *f, const char *key, double *out)
{
    const char *v = st_meta_get(f, key);
    if (!v || !*v || strspn(v, "0123456789.eE+-") != strlen(v) || *v == '-' || *v == '+')
        return 0;
    char *end;
    errno = 0;
    *out = strtod(v, &end);
    return !*end && !errno && isfinite(*out);
}

mc_status policy_val_state_from_meta(const st_file *meta, const char *path, int epochs_finished,
                                     int plateau, int plateau_patience, policy_val_state *s,
                                     mc_error *err)
{
    policy_val_state v = policy_val_start();
    const char *bad = NULL;
    double scale = 1;
    if (!meta_count(meta, POLICY_KEY_BEST_EPOCH, &v.best_epoch) ||
        v.best_epoch > epochs_finished)
        bad = POLICY_KEY_BEST_EPOCH;
    else if (v.best_epoch > 0 && !meta_number(meta, POLICY_KEY_BEST_LOSS, &v.best_loss))
        bad = POLICY_KEY_BEST_LOSS;
    else if (v.best_epoch > 0 && (!meta_number(meta, POLICY_KEY_BEST_ACCURACY, &v.best_accuracy) ||
                                  v.best_accuracy > 1))
        bad = POLICY_KEY_BEST_ACCURACY;
    else if (!meta_count(meta, POLICY_KEY_BAD_EPOCHS, &v.bad_epochs) ||
             v.bad_epochs != epochs_finished - v.best_epoch)
        bad = POLICY_KEY_BAD_EPOCHS;
    else if (plateau && (!meta_number(meta, POLICY_KEY_LR_SCALE, &scale) || !(scale > 0) ||
                         scale > 1))
        bad = POLICY_KEY_LR_SCALE;
    else if (plateau && (!meta_count(meta, POLICY_KEY_PLATEAU_BAD, &v.plateau_bad) ||
                         v.plateau_bad > v.bad_epochs || v.plateau_bad > plateau_patience))
        bad = POLICY_KEY_PLATEAU_BAD;
    if (bad) {
        const char *value = st_meta_get(meta, bad);
        if (!value)
            return mc_fail(err, MC_ERR_DATA, "%s: %s is missing (a checkpoint of a run with --val "
                           "keeps it)", path, bad);
        return mc_fail(err, MC_ERR_DATA,
                       "%s: %s = '%.40s' is not what a run of %d finished epochs can have "
                       "(best epoch %s, %s)",
                       path, bad, value, epochs_finished,
                       st_meta_get(meta, POLICY_KEY_BEST_EPOCH) ? st_meta_get(meta, POLICY_KEY_BEST_EPOCH) : "?",
                       "epochs without improvement = finished epochs - best epoch");
    }
    v.lr_scale = (float)scale;
    *s = v;
    return MC_OK;
}
