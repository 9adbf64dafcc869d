/* `mnistcl train`: train a network, print its progress, optionally save it. */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "mnistcl/checkpoint.h"
#include "mnistcl/csv.h"
#include "mnistcl/model_io.h"
#include "mnistcl/train.h"
#include "train_options.h"

static const char synopsis[] =
    "usage: mnistcl train [options]\n"
    "Trains a fully connected network on MNIST-format data and prints, per epoch: the mean\n"
    "training loss, the training accuracy measured during the epoch, the test accuracy after\n"
    "it, the epoch's seconds and images per second. Ends with the test accuracy.";

static int options_table(train_options *o, cli_option *t)
{
    int n = train_options_network_table(o, t, 0);
    t[n++] = cli_opt("dataset", OPT_STRING, &o->dataset, "NAME", "mnist or fashion", 0, 0);
    t[n++] = cli_opt("data", OPT_STRING, &o->data_dir, "DIR",
                     "IDX folder; none: $MNISTCL_DATA, ./data/mnist or the source tree's "
                     "data/mnist (fashion: /usr/share/datasets/fashion-mnist)",
                     0, 0);
    t[n++] = cli_opt("train-csv", OPT_STRING, &o->train_csv, "FILE",
                     "train on a Kaggle digit-recognizer CSV instead", 0, 0);
    t[n++] = cli_opt("test-csv", OPT_STRING, &o->test_csv, "FILE",
                     "test on a Kaggle CSV (without labels: see --predictions)", 0, 0);
    t[n++] = cli_opt("predictions", OPT_STRING, &o->predictions, "FILE",
                     "write the test set's predicted digits as CSV (ImageId,Label)", 0, 0);
    t[n++] = cli_opt("epochs", OPT_INT, &o->epochs, "N", "passes over the training set", 1,
                     1000000);
    t[n++] = cli_opt("batch", OPT_STRING, &o->batch, "N|full",
                     "images per SGD step; full = the whole training set", 0, 0);
    t[n++] = cli_opt("lr", OPT_FLOAT, &o->lr, "X", "learning rate", 1e-12, 1e12);
    t[n++] = cli_opt("momentum", OPT_FLOAT, &o->momentum, "X", "SGD momentum (0 = plain SGD)", 0,
                     0.9999);
    t[n++] = cli_opt("weight-decay", OPT_FLOAT, &o->weight_decay, "X", "L2 weight decay", 0, 1);
    t[n++] = cli_opt("shuffle", OPT_FLAG, &o->shuffle, NULL,
                     "reshuffle the training set every epoch (off: file order)", 0, 0);
    t[n++] = cli_opt("train-limit", OPT_INT, &o->train_limit, "N",
                     "use only the first N training images (0 = all)", 0, 1 << 30);
    t[n++] = cli_opt("print-every", OPT_INT, &o->print_every, "N",
                     "print (and test) every N epochs, and the last", 1, 1000000);
    t[n++] = cli_opt("device", OPT_STRING, &o->device, "SPEC",
                     "auto, cpu, opencl or P:D (see `mnistcl devices`; env MNISTCL_DEVICE)", 0,
                     0);
    t[n++] = cli_opt("save", OPT_STRING, &o->save, "FILE", "write the trained model (safetensors)",
                     0, 0);
    t[n++] = cli_opt("checkpoint", OPT_STRING, &o->checkpoint, "FILE",
                     "keep a resumable checkpoint here (written atomically)", 0, 0);
    t[n++] = cli_opt("checkpoint-every", OPT_INT, &o->checkpoint_every, "N",
                     "also checkpoint every N steps within an epoch (0: at epoch ends only)", 0,
                     1 << 30);
    t[n++] = cli_opt("resume", OPT_STRING, &o->resume, "FILE",
                     "continue the run a checkpoint describes (its settings are kept)", 0, 0);
    return n;
}

/* Loads the training and test sets the options name (IDX folders or CSV files). */
static mc_status load_sets(const train_options *o, dataset *train, dataset *test, mc_error *err)
{
    mc_status st;
    if (o->train_csv)
        st = csv_load(train, o->train_csv, 10, err);
    else
        st = cli_load_data(o->dataset, o->data_dir, train, NULL, err);
    if (st)
        return st;
    if (!train->labels) {
        dataset_free(train);
        return mc_fail(err, MC_ERR_DATA, "%s: has no label column; it cannot be trained on",
                       o->train_csv);
    }
    if (o->test_csv)
        st = csv_load(test, o->test_csv, 10, err);
    else
        st = cli_load_data(o->dataset, o->data_dir, NULL, test, err);
    if (!st && dataset_dim(test) != dataset_dim(train))
        st = mc_fail(err, MC_ERR_DATA, "the test images have %d pixels, the training images %d",
                     dataset_dim(test), dataset_dim(train));
    if (st) {
        dataset_free(train);
        dataset_free(test);
    }
    return st;
}

/* Records the run's settings and result in the saved model's metadata. */
static int run_metadata(const train_options *o, const pass_stats *test, const backend *be,
                        int has_test_labels, st_meta *meta)
{
    int n = 0;
    snprintf(meta[n].key, sizeof meta[n].key, "dataset");
    snprintf(meta[n++].value, sizeof meta[0].value, "%s",
             o->train_csv ? o->train_csv : o->dataset);
    if (o->preset) {
        snprintf(meta[n].key, sizeof meta[n].key, "preset");
        snprintf(meta[n++].value, sizeof meta[0].value, "%s", o->preset);
    }
    snprintf(meta[n].key, sizeof meta[n].key, "epochs");
    snprintf(meta[n++].value, sizeof meta[0].value, "%d", o->epochs);
    snprintf(meta[n].key, sizeof meta[n].key, "seed");
    snprintf(meta[n++].value, sizeof meta[0].value, "%llu", (unsigned long long)o->seed);
    if (has_test_labels) {
        snprintf(meta[n].key, sizeof meta[n].key, "test_accuracy");
        snprintf(meta[n++].value, sizeof meta[0].value, "%.4f", 100.0 * test->accuracy);
    }
    snprintf(meta[n].key, sizeof meta[n].key, "trained_on");
    snprintf(meta[n++].value, sizeof meta[0].value, "%s", be->name);
    return n;
}

/* Writes "ImageId,Label" rows (1-based ids, Kaggle's submission format) for the test set. */
static mc_status write_predictions(trainer *t, const char *path, int n, mc_error *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return mc_fail(err, MC_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    float *p = malloc(sizeof(float) * 10 * 1000);
    mc_status st = p ? MC_OK : MC_ERR_NOMEM;
    fprintf(f, "ImageId,Label\n");
    for (int first = 0; !st && first < n; first += 1000) {
        int count = n - first < 1000 ? n - first : 1000;
        st = trainer_predict(t, 0, first, count, p);
        for (int i = 0; !st && i < count; i++) {
            int best = 0;
            for (int c = 1; c < 10; c++)
                if (p[i * 10 + c] > p[i * 10 + best])
                    best = c;
            fprintf(f, "%d,%d\n", first + i + 1, best);
        }
    }
    free(p);
    if (fclose(f) != 0 && !st)
        st = mc_fail(err, MC_ERR_IO, "%s: cannot write", path);
    if (!st)
        printf("wrote %d predictions to %s\n", n, path);
    return st;
}

/* The settings a checkpoint keeps to resume the run: name, where the option lives. */
typedef struct {
    const char *name;
    opt_kind kind;
    size_t offset;
} setting;

static const setting settings[] = {
    {"dataset", OPT_STRING, offsetof(train_options, dataset)},
    {"data", OPT_STRING, offsetof(train_options, data_dir)},
    {"train-csv", OPT_STRING, offsetof(train_options, train_csv)},
    {"test-csv", OPT_STRING, offsetof(train_options, test_csv)},
    {"init", OPT_STRING, offsetof(train_options, init)},
    {"batch", OPT_STRING, offsetof(train_options, batch)},
    {"epochs", OPT_INT, offsetof(train_options, epochs)},
    {"train-limit", OPT_INT, offsetof(train_options, train_limit)},
    {"shuffle", OPT_FLAG, offsetof(train_options, shuffle)},
    {"lr", OPT_FLOAT, offsetof(train_options, lr)},
    {"momentum", OPT_FLOAT, offsetof(train_options, momentum)},
    {"weight-decay", OPT_FLOAT, offsetof(train_options, weight_decay)},
    {"seed", OPT_U64, offsetof(train_options, seed)},
    {"preset", OPT_STRING, offsetof(train_options, preset)},
};
#define N_SETTINGS ((int)(sizeof settings / sizeof settings[0]))

/* Options that may change when resuming (the others are the checkpoint's). */
static const char *const resume_may_change[] = {
    "resume", "epochs", "device", "save", "checkpoint", "checkpoint-every", "print-every",
    "predictions", "data", "train-csv", "test-csv",
};

/* The run's settings as checkpoint metadata ("setting.NAME" = value). */
static int settings_to_meta(const train_options *o, st_meta *meta)
{
    int n = 0;
    for (int i = 0; i < N_SETTINGS; i++) {
        const void *field = (const char *)o + settings[i].offset;
        char value[256];
        switch (settings[i].kind) {
        case OPT_STRING:
            if (!*(const char *const *)field)
                continue;
            snprintf(value, sizeof value, "%s", *(const char *const *)field);
            break;
        case OPT_INT:
        case OPT_FLAG: snprintf(value, sizeof value, "%d", *(const int *)field); break;
        case OPT_FLOAT: snprintf(value, sizeof value, "%.9g", *(const float *)field); break;
        case OPT_U64:
            snprintf(value, sizeof value, "%llu", (unsigned long long)*(const uint64_t *)field);
            break;
        }
        snprintf(meta[n].key, sizeof meta[n].key, "setting.%s", settings[i].name);
        snprintf(meta[n++].value, sizeof meta[0].value, "%s", value);
    }
    return n;
}

/*
 * Takes the run's settings from a checkpoint's metadata (meta must outlive o). An option
 * the checkpoint fixes and the command line also gives is a usage error.
 */
static mc_status settings_from_meta(train_options *o, const st_file *meta, cli_option *table,
                                    int n_table, mc_error *err)
{
    for (int i = 0; i < n_table; i++) {
        int may = 0;
        for (size_t k = 0; k < sizeof resume_may_change / sizeof resume_may_change[0]; k++)
            may |= strcmp(table[i].name, resume_may_change[k]) == 0;
        if (table[i].seen && !may)
            return mc_fail(err, MC_ERR_USAGE,
                           "--%s cannot change when resuming: the checkpoint's setting is kept",
                           table[i].name);
    }
    for (int i = 0; i < N_SETTINGS; i++) {
        char key[64];
        snprintf(key, sizeof key, "setting.%s", settings[i].name);
        const char *v = st_meta_get(meta, key);
        cli_option *given = cli_find(table, n_table, settings[i].name);
        void *field = (char *)o + settings[i].offset;
        if (given && given->seen) /* changed on purpose (epochs, data paths) */
            continue;
        if (!v) {
            if (settings[i].kind == OPT_STRING)
                *(const char **)field = NULL;
            continue;
        }
        char *end = NULL;
        switch (settings[i].kind) {
        case OPT_STRING: *(const char **)field = v; break;
        case OPT_INT:
        case OPT_FLAG: *(int *)field = (int)strtol(v, &end, 10); break;
        case OPT_FLOAT: *(float *)field = strtof(v, &end); break;
        case OPT_U64: *(uint64_t *)field = strtoull(v, &end, 10); break;
        }
        if (end && (end == v || *end))
            return mc_fail(err, MC_ERR_DATA, "%s: setting.%s = '%s' is malformed", o->resume,
                           settings[i].name, v);
    }
    return MC_OK;
}

/* Everything a run holds, released by run_free. */
typedef struct {
    train_options o;
    dataset train, test;
    mlp_spec spec;
    backend *be;
    trainer *t;
    float *params, *velocity;
    st_file resume_meta;
    train_progress progress;
    int resumed;
    int batch; /* images per step (the whole set for --batch full) */
} run;

static void run_free(run *r)
{
    free(r->params);
    free(r->velocity);
    trainer_destroy(r->t);
    backend_destroy(r->be);
    dataset_free(&r->train);
    dataset_free(&r->test);
}

/*
 * Divergence: a mean loss that is not finite or, for softmax, above 10 ln(classes) (the
 * right class then gets under e^-23 of the probability on average; chance is ln(classes)),
 * or a parameter that is not finite or beyond MAX_SANE_PARAM (products of two such
 * overflow float32). Healthy runs come nowhere near either.
 */
#define MAX_SANE_PARAM 1e15

static double loss_limit(const mlp_spec *spec)
{
    int classes = spec->sizes[spec->n_layers];
    return spec->output == OUT_SOFTMAX_XENT ? 10.0 * log(classes > 1 ? classes : 2) : INFINITY;
}

/* Whether any of n values is not finite or beyond MAX_SANE_PARAM. */
static int insane(const float *v, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (!(fabsf(v[i]) <= MAX_SANE_PARAM))
            return 1;
    return 0;
}

/* Writes the checkpoint for `progress`, refusing a diverged state (MC_ERR_DIVERGED). */
static mc_status write_checkpoint(run *r, const train_progress *progress, int images,
                                  mc_error *err)
{
    mc_status st = trainer_get_state(r->t, r->params, r->velocity);
    size_t n = mlp_param_count(&r->spec);
    if (st)
        return st;
    if (insane(r->params, n) || insane(r->velocity, n))
        return MC_ERR_DIVERGED;
    double mean = images > 0 ? progress->loss_sum / images : 0;
    if (!isfinite(mean) || mean > loss_limit(&r->spec))
        return MC_ERR_DIVERGED;
    st_meta meta[N_SETTINGS];
    int n_meta = settings_to_meta(&r->o, meta);
    if (!st)
        st = checkpoint_save(r->o.checkpoint, &r->spec, r->params, r->velocity, progress, meta,
                             n_meta, err);
    return st;
}

/* What exploded: the mean loss of the step (or epoch) or the largest parameter. */
static void divergence_reason(run *r, double mean_loss, char *out, size_t len)
{
    size_t n = mlp_param_count(&r->spec);
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double a = fabs((double)r->params[i]);
        if (!(a <= worst))
            worst = a;
    }
    if (!(worst <= MAX_SANE_PARAM))
        snprintf(out, len, "a parameter reached %g (limit %g)", worst, MAX_SANE_PARAM);
    else if (!isfinite(mean_loss))
        snprintf(out, len, "the loss became %s", isnan(mean_loss) ? "NaN" : "infinite");
    else
        snprintf(out, len, "the mean loss reached %.4g (a guess scores %.3g; limit %.3g)",
                 mean_loss, loss_limit(&r->spec) / 10, loss_limit(&r->spec));
}

/* The divergence report: where, why, what to try; keeps the exit code DIVERGED. */
static mc_status diverged(run *r, int epoch, int step, double mean_loss, mc_error *err)
{
    char where[64] = "", why[160];
    if (step >= 0)
        snprintf(where, sizeof where, " at step %d", step + 1);
    trainer_get_params(r->t, r->params);
    divergence_reason(r, mean_loss, why, sizeof why);
    fprintf(stderr,
            "mnistcl: training diverged in epoch %d%s: %s.\n"
            "mnistcl: try a lower learning rate (--lr %g now)%s\n",
            epoch, where, why, r->o.lr,
            r->o.checkpoint ? "; the last checkpoint was written before this and is intact" : "");
    return mc_fail(err, MC_ERR_DIVERGED, "stopped (exit code %d)", MC_ERR_DIVERGED);
}

/* The epochs, from where the run stands: training, checks, checkpoints, the epoch lines. */
static mc_status train_epochs(run *r, mc_error *err)
{
    train_options *o = &r->o;
    trainer *t = r->t;
    rng shuffle_rng = r->progress.shuffle_rng;
    int steps = trainer_steps_per_epoch(t), first_epoch = r->progress.epoch;
    pass_stats tr = {0}, te = {0};
    double total = 0;
    size_t n_params = mlp_param_count(&r->spec);
    for (int epoch = first_epoch; epoch <= o->epochs; epoch++) {
        int resumed_here = r->resumed && epoch == first_epoch;
        int s = resumed_here ? r->progress.step : 0;
        double carry_loss = resumed_here ? r->progress.loss_sum : 0;
        long long carry_correct = resumed_here ? r->progress.correct : 0;
        rng epoch_rng = shuffle_rng; /* before this epoch's shuffle: what a checkpoint keeps */
        double t0 = cli_now();
        mc_status st = trainer_begin_epoch(t, &shuffle_rng);
        if (!st && resumed_here && s > 0)
            st = trainer_clear_stats(t);
        while (!st && s < steps) {
            int every = o->checkpoint ? o->checkpoint_every : 0;
            int next = every > 0 ? (s / every + 1) * every : steps;
            next = next < steps ? next : steps;
            st = trainer_train_steps(t, s, next - s);
            s = next;
            if (!st && every > 0 && s < steps) {
                train_progress p = {epoch, s, epoch_rng, 0, 0};
                st = trainer_partial_sums(t, s, &p.loss_sum, &p.correct);
                p.loss_sum += carry_loss, p.correct += carry_correct;
                long long images = (long long)s * r->batch;
                if (images > r->train.n)
                    images = r->train.n;
                if (!st && (st = write_checkpoint(r, &p, (int)images, err)) == MC_ERR_DIVERGED) {
                    int bad = -1;
                    trainer_first_bad_step(t, s, loss_limit(&r->spec), &bad);
                    return diverged(r, epoch, bad, p.loss_sum / (images > 0 ? images : 1), err);
                }
            }
        }
        if (!st)
            st = trainer_end_epoch(t, &tr);
        double seconds = cli_now() - t0;
        total += seconds;
        if (st)
            return mc_fail(err, st, "training failed in epoch %d on %s (see above)", epoch,
                           r->be->name);
        if (resumed_here) { /* the steps before the resume are in the carried sums */
            tr.loss = (tr.loss * tr.images + carry_loss) / tr.images;
            tr.accuracy = (tr.accuracy * tr.images + (double)carry_correct) / tr.images;
        }
        if ((st = trainer_get_params(t, r->params)))
            return st;
        if (!isfinite(tr.loss) || tr.loss > loss_limit(&r->spec) || insane(r->params, n_params)) {
            int bad = -1;
            trainer_first_bad_step(t, steps, loss_limit(&r->spec), &bad);
            return diverged(r, epoch, bad, tr.loss, err);
        }
        int show = epoch == first_epoch || epoch % o->print_every == 0 || epoch == o->epochs;
        if (show && r->test.labels && (st = trainer_evaluate(t, 0, &te)))
            return mc_fail(err, st, "evaluation failed in epoch %d (see above)", epoch);
        if (o->checkpoint) {
            train_progress p = {epoch + 1, 0, shuffle_rng, 0, 0};
            st = write_checkpoint(r, &p, 0, err);
            if (st == MC_ERR_DIVERGED)
                return diverged(r, epoch, -1, tr.loss, err);
            if (st)
                return st;
        }
        if (!show)
            continue;
        if (r->test.labels)
            printf("%5d %9.4f %8.2f %8.2f %8.3f %10.0f\n", epoch, tr.loss, 100 * tr.accuracy,
                   100 * te.accuracy, seconds, r->train.n / seconds);
        else
            printf("%5d %9.4f %8.2f %8s %8.3f %10.0f\n", epoch, tr.loss, 100 * tr.accuracy, "-",
                   seconds, r->train.n / seconds);
        fflush(stdout);
    }
    if (first_epoch > o->epochs) {
        printf("the checkpoint's run is complete (epoch %d of %d); give --epochs to go on\n",
               first_epoch - 1, o->epochs);
        if (r->test.labels && trainer_evaluate(t, 0, &te))
            return mc_fail(err, MC_ERR_OPENCL, "evaluation failed (see above)");
    }
    if (r->test.labels)
        printf("test accuracy %.2f%% (%d/%d)\n", 100 * te.accuracy,
               (int)lround(te.accuracy * te.images), te.images);
    else
        printf("the test set has no labels: no test accuracy\n");
    printf("training took %.2f s\n", total);
    mc_status st = MC_OK;
    if (o->predictions && (st = write_predictions(t, o->predictions, r->test.n, err)))
        return st;
    if (o->save) {
        st = trainer_get_params(t, r->params);
        st_meta meta[8];
        int n_meta = run_metadata(o, &te, r->be, r->test.labels != NULL, meta);
        if (!st)
            st = model_save(o->save, &r->spec, r->params, meta, n_meta, err);
        if (!st)
            printf("saved %s\n", o->save);
    }
    return st;
}

int cmd_train(int argc, char **argv)
{
    run r;
    memset(&r, 0, sizeof r);
    train_options *o = &r.o;
    train_options_defaults(o);
    mc_error err = {{0}};
    mc_status st = train_options_preset_from_argv(o, argc, argv, 2, &err);
    if (st)
        return cli_report(st, &err);
    cli_option table[48];
    int n = options_table(o, table);
    int rc = cli_parse(argc, argv, 2, table, n, synopsis, &err);
    if (rc == CLI_HELP) {
        train_options_print_presets(stdout);
        return 0;
    }
    if (rc)
        return cli_report((mc_status)rc, &err);
    if (o->checkpoint_every > 0 && !o->checkpoint)
        return cli_report(mc_fail(&err, MC_ERR_USAGE, "--checkpoint-every needs --checkpoint FILE"),
                          &err);
    r.progress.epoch = 1;
    rng_seed(&r.progress.shuffle_rng, train_options_shuffle_seed(o));
    if (o->resume) {
        mlp_spec saved;
        st = checkpoint_load(o->resume, &saved, &r.params, &r.velocity, &r.progress,
                             &r.resume_meta, &err);
        if (!st)
            st = settings_from_meta(o, &r.resume_meta, table, n, &err);
        if (st)
            goto out;
        r.spec = saved;
        r.resumed = 1;
    }
    int batch = 0;
    if (strcmp(o->batch, "full") != 0 &&
        (st = cli_parse_int("batch", o->batch, 1, 1 << 30, &batch, &err)))
        goto out;
    if (!r.resumed && (st = train_options_spec(o, 784, &r.spec, &err))) /* names first */
        goto out;
    if ((st = load_sets(o, &r.train, &r.test, &err)))
        goto out;
    if (o->train_limit > 0)
        dataset_truncate(&r.train, o->train_limit);
    r.batch = batch > 0 ? batch : r.train.n;
    if (!r.resumed && (st = train_options_spec(o, dataset_dim(&r.train), &r.spec, &err)))
        goto out;
    if ((st = cli_open_device(o->device, &r.be, &err)))
        goto out;
    train_config cfg = {.batch = batch, .lr = o->lr, .momentum = o->momentum,
                        .weight_decay = o->weight_decay, .shuffle = o->shuffle};
    if ((st = trainer_create(&r.t, r.be, &r.spec, &r.train, &r.test, &cfg, &err)))
        goto out;
    size_t n_params = mlp_param_count(&r.spec);
    if (!r.resumed) {
        r.params = malloc(n_params * sizeof(float));
        r.velocity = calloc(n_params, sizeof(float));
        if (!r.params || !r.velocity) {
            st = mc_fail(&err, MC_ERR_NOMEM, "out of memory");
            goto out;
        }
        if ((st = train_options_init_params(o, &r.spec, r.params, &err)))
            goto out;
    }
    if ((st = trainer_set_state(r.t, r.params, r.velocity)))
        goto out;

    char shape[128];
    mlp_format_layers(&r.spec, shape, sizeof shape);
    if (r.resumed)
        printf("resuming %s at epoch %d, step %d\n", o->resume, r.progress.epoch,
               r.progress.step);
    if (o->preset)
        printf("preset %s\n", o->preset);
    printf("network %s, %s hidden, %s output, %zu parameters, init %s, seed %llu\n", shape,
           act_name(r.spec.hidden_act), output_name(r.spec.output), n_params, o->init,
           (unsigned long long)o->seed);
    printf("data: %s, %d training and %d test images; batch %s, lr %g, momentum %g%s\n",
           o->train_csv ? o->train_csv : o->dataset, r.train.n, r.test.n, o->batch, o->lr,
           o->momentum, o->shuffle ? "" : ", file order");
    printf("%5s %9s %8s %8s %8s %10s\n", "epoch", "loss", "train%", "test%", "seconds",
           "images/s");
    fflush(stdout);
    st = train_epochs(&r, &err);
out:
    run_free(&r);
    return cli_report(st, &err);
}
