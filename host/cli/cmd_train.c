/*
 * `mnistcl train`: train a network, print its progress, save it. No work is lost: every
 * output path is checked before the first step, files are written atomically, and the
 * first SIGINT/SIGTERM/SIGHUP stops training after the current step with the model and
 * checkpoint written as of that step. The rules it follows (divergence, the checkpoint
 * schedule, the resume checks, the settings a checkpoint keeps) are train/run_policy.h's;
 * this file does the work and the printing.
 */
#define _XOPEN_SOURCE 700 /* realpath */
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_common.h"
#include "mnistcl/checkpoint.h"
#include "mnistcl/csv.h"
#include "mnistcl/model_io.h"
#include "mnistcl/train.h"
#include "io/output_file.h"
#include "cli/resume_settings.h"
#include "core/signals.h"
#include "cli/train_options.h"
#include "train/run_policy.h"

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
                     "keep a resumable checkpoint here (atomic; with --resume: that file)", 0, 0);
    t[n++] = cli_opt("checkpoint-every", OPT_INT, &o->checkpoint_every, "N",
                     "also checkpoint every N steps within an epoch (0: at epoch ends only)", 0,
                     1 << 30);
    t[n++] = cli_opt("resume", OPT_STRING, &o->resume, "FILE",
                     "continue the run a checkpoint describes (its settings are kept)", 0, 0);
    t[n++] = cli_opt("plan", OPT_FLAG, &o->plan, NULL,
                     "print the operations of one training step on the device (kernels, "
                     "launches, shapes) and of an evaluation pass, then exit without training",
                     0, 0);
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

/* Everything a run holds, released by run_free. */
typedef struct {
    train_options o;
    dataset train, test;
    mlp_spec spec;
    backend *be;
    trainer *t;
    float *params, *velocity;
    st_file resume_meta;
    train_progress progress;     /* where training starts: epoch 1, or the checkpoint's */
    int resumed;
    int batch;                   /* images per step (the whole set for --batch full) */
    char fingerprint[POLICY_FINGERPRINT_MAX]; /* the training set's (policy_data_fingerprint) */
    int checkpointed;            /* whether o.checkpoint holds a state of this run */
    train_progress checkpoint_at; /* which one */
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

static int classes_of(const mlp_spec *spec)
{
    return spec->sizes[spec->n_layers];
}

/* Images the first `steps` steps of an epoch train on (policy_images_done). */
static long long images_done(const run *r, int steps)
{
    return policy_images_done(steps, r->batch, r->train.n);
}

/* ---- outputs -------------------------------------------------------------------------- */

/*
 * path as its folder's canonical path + "/" + its name (for a file that need not exist
 * yet), or "" when the folder cannot be resolved.
 */
static void canonical_path(const char *path, char *out, size_t len)
{
    char dir[OUTPUT_PATH_MAX + 1], real[PATH_MAX];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    if (!realpath(dir, real)) {
        out[0] = 0;
        return;
    }
    snprintf(out, len, "%s/%s", real, slash ? slash + 1 : path);
}

/* Whether paths a and b name the same file: the same existing inode, or, for files that
 * do not exist yet, the same name in the same folder however written (./m.st, d/../m.st). */
static int same_file(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    if (strcmp(a, b) == 0)
        return 1;
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char ca[OUTPUT_PATH_MAX + PATH_MAX + 2], cb[sizeof ca];
    canonical_path(a, ca, sizeof ca);
    canonical_path(b, cb, sizeof cb);
    return ca[0] && strcmp(ca, cb) == 0;
}

/*
 * Before any work: every output path can be written (output_check), no two outputs are
 * one file, and no output would overwrite an input (a checkpoint may replace the one
 * resumed from: that is what it is for).
 */
static mc_status check_outputs(const train_options *o, mc_error *err)
{
    const struct {
        const char *option, *path;
    } out[] = {{"--save", o->save}, {"--checkpoint", o->checkpoint},
               {"--predictions", o->predictions}};
    const struct {
        const char *option, *path;
    } in[] = {{"--train-csv", o->train_csv}, {"--test-csv", o->test_csv},
              {"--resume", o->resume}};
    const int n_out = (int)(sizeof out / sizeof out[0]), n_in = (int)(sizeof in / sizeof in[0]);
    for (int i = 0; i < n_out; i++) {
        if (!out[i].path)
            continue;
        for (int k = 0; k < i; k++)
            if (same_file(out[i].path, out[k].path))
                return mc_fail(err, MC_ERR_USAGE, "%s and %s name the same file (%s): give each "
                               "its own", out[k].option, out[i].option, out[i].path);
        for (int k = 0; k < n_in; k++)
            if (same_file(out[i].path, in[k].path) && !(strcmp(out[i].option, "--checkpoint") == 0 &&
                                                         strcmp(in[k].option, "--resume") == 0))
                return mc_fail(err, MC_ERR_USAGE, "%s %s would overwrite the %s input file",
                               out[i].option, out[i].path, in[k].option);
        mc_status st = output_check(out[i].path, out[i].option, err);
        if (st)
            return st;
    }
    return MC_OK;
}

/* Records the run's settings and result in the saved model's metadata. */
static int run_metadata(const run *r, const pass_stats *test, const char *stopped, st_meta *meta)
{
    const train_options *o = &r->o;
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
    if (test) {
        snprintf(meta[n].key, sizeof meta[n].key, "test_accuracy");
        snprintf(meta[n++].value, sizeof meta[0].value, "%.4f", 100.0 * test->accuracy);
    }
    if (stopped) {
        snprintf(meta[n].key, sizeof meta[n].key, "stopped");
        snprintf(meta[n++].value, sizeof meta[0].value, "%s", stopped);
    }
    snprintf(meta[n].key, sizeof meta[n].key, "trained_on");
    snprintf(meta[n++].value, sizeof meta[0].value, "%s", backend_name(r->be));
    return n;
}

/* Writes the model to --save; `stopped` (or NULL) says how far an interrupted run got. */
static mc_status save_model(run *r, const pass_stats *test, const char *stopped, mc_error *err)
{
    mc_status st = trainer_get_params(r->t, r->params);
    if (st)
        return mc_fail(err, st, "reading the parameters back from %s failed: %s", backend_name(r->be),
                       mc_status_name(st));
    st_meta meta[8];
    int n_meta = run_metadata(r, test, stopped, meta);
    st = model_save(r->o.save, &r->spec, r->params, meta, n_meta, err);
    if (!st)
        printf("saved %s%s\n", r->o.save, stopped ? " (as of the step above)" : "");
    return st;
}

/*
 * Writes "ImageId,Label" rows (1-based ids, Kaggle's submission format) for the test
 * set, atomically: the label is the largest of the network's outputs, however many.
 */
static mc_status write_predictions(run *r, mc_error *err)
{
    const int chunk = 1000, classes = classes_of(&r->spec);
    const char *path = r->o.predictions;
    float *p = malloc(sizeof(float) * (size_t)classes * chunk);
    if (!p)
        return mc_fail(err, MC_ERR_NOMEM, "out of memory for the predictions");
    output_file f;
    mc_status st = output_begin(&f, path, err);
    if (!st)
        output_printf(&f, "ImageId,Label\n");
    for (int first = 0; !st && first < r->test.n; first += chunk) {
        int count = r->test.n - first < chunk ? r->test.n - first : chunk;
        if ((st = trainer_predict(r->t, 0, first, count, p))) {
            mc_fail(err, st, "%s: computing the predictions failed: %s", path, mc_status_name(st));
            break;
        }
        for (int i = 0; i < count; i++) {
            const float *row = p + (size_t)i * classes;
            int best = 0;
            for (int c = 1; c < classes; c++)
                if (row[c] > row[best])
                    best = c;
            output_printf(&f, "%d,%d\n", first + i + 1, best);
        }
    }
    free(p);
    if (st) {
        output_abort(&f);
        return st;
    }
    if ((st = output_commit(&f, err)))
        return st;
    printf("wrote %d predictions to %s\n", r->test.n, path);
    return MC_OK;
}

/* ---- divergence and checkpoints (the rules: train/run_policy.h) --------------------------- */

/* The run's loss limit (policy_loss_limit of its output and classes). */
static double loss_limit(const run *r)
{
    return policy_loss_limit(r->spec.output, classes_of(&r->spec));
}

/* Whether the state in r->params and r->velocity (read back) or the mean loss has diverged. */
static int state_diverged(const run *r, double mean_loss)
{
    return policy_state_diverged(&r->spec, r->params, r->velocity, mean_loss);
}

/*
 * Writes the checkpoint for `progress` (images: those its partial sums cover) and
 * remembers it; a diverged state is never written (MC_ERR_DIVERGED, err untouched).
 * have_state: r->params and r->velocity already hold the trainer's state (else it is read).
 */
static mc_status write_checkpoint(run *r, const train_progress *progress, long long images,
                                  int have_state, mc_error *err)
{
    mc_status st = have_state ? MC_OK : trainer_get_state(r->t, r->params, r->velocity);
    if (st)
        return mc_fail(err, st, "reading the training state back from %s failed: %s",
                       backend_name(r->be), mc_status_name(st));
    if (state_diverged(r, policy_mean_loss(progress->loss_sum, images)))
        return MC_ERR_DIVERGED;
    policy_value values[POLICY_N_SETTINGS];
    resume_settings_values(&r->o, values);
    st_meta meta[POLICY_CHECKPOINT_META_MAX];
    int n_meta = policy_checkpoint_meta(values, r->fingerprint, meta);
    st = checkpoint_save(r->o.checkpoint, &r->spec, r->params, r->velocity, progress, meta,
                         n_meta, err);
    if (st) {
        char why[sizeof err->msg];
        snprintf(why, sizeof why, "%s", err->msg);
        return mc_fail(err, st, "%s (the checkpoint of epoch %d, step %d); training stopped",
                       why, progress->epoch, progress->step);
    }
    r->checkpointed = 1;
    r->checkpoint_at = *progress;
    return MC_OK;
}

/*
 * The divergence report on stderr (policy_divergence_message: where, why, what to try,
 * what the checkpoint holds), after looking for the first bad of the epoch's steps_done
 * steps and reading the parameters back. Returns MC_ERR_DIVERGED with err set.
 */
static mc_status diverged(run *r, int epoch, int steps_done, double mean_loss, mc_error *err)
{
    policy_divergence d = {.epoch = epoch, .steps_done = steps_done, .first_bad_step = -1,
                           .mean_loss = mean_loss, .lr = r->o.lr, .checkpoint = r->o.checkpoint,
                           .checkpointed = r->checkpointed, .checkpoint_at = r->checkpoint_at};
    trainer_first_bad_step(r->t, steps_done, loss_limit(r), &d.first_bad_step);
    trainer_get_params(r->t, r->params);
    char message[POLICY_DIVERGENCE_MESSAGE_MAX];
    policy_divergence_message(&d, &r->spec, r->params, message, sizeof message);
    fputs(message, stderr);
    return mc_fail(err, MC_ERR_DIVERGED, "stopped (exit code %d)", MC_ERR_DIVERGED);
}

/* A failed training or evaluation call: what failed, where, and where the details are. */
static mc_status step_failed(run *r, mc_status st, const char *what, int epoch, mc_error *err)
{
    return mc_fail(err, st, "%s failed in epoch %d on %s: %s%s", what, epoch, backend_name(r->be),
                   mc_status_name(st),
                   st == MC_ERR_OPENCL  ? " (the OpenCL call and its error are printed above)"
                   : st == MC_ERR_RUNTIME ? " (an internal error: the broken contract and its "
                                            "values are printed above; please report it)"
                                          : "");
}

/* ---- stopping on a signal ----------------------------------------------------------------- */

/* The name of one of the signals signals.c takes. */
static const char *signal_name(int sig)
{
    return sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : "SIGHUP";
}

/*
 * Training stopped on signal `sig` with `progress` the state reached (images: those its
 * partial sums cover): writes the checkpoint and the model as of that step, says what
 * was written where, and returns the exit code (128 + sig, or the failure's status).
 */
static int stop_on_signal(run *r, int sig, const train_progress *progress, long long images,
                          mc_error *err)
{
    int steps = trainer_steps_per_epoch(r->t), step = progress->step;
    char stopped[128];
    policy_stop_description(signal_name(sig), progress, steps, stopped, sizeof stopped);
    printf("interrupted (%s)\n", stopped);
    fflush(stdout);
    /* nothing trained yet: an existing file holds more than the initial network does */
    int untrained = policy_nothing_trained(r->resumed, progress);
    const char *paths[2] = {r->o.checkpoint, r->o.save};
    int write[2];
    for (int k = 0; k < 2; k++) {
        struct stat sb;
        write[k] = paths[k] && !(untrained && stat(paths[k], &sb) == 0);
        if (paths[k] && !write[k])
            printf("nothing was trained yet: %s is left as it was\n", paths[k]);
    }
    int have_state = trainer_get_state(r->t, r->params, r->velocity) == MC_OK;
    double mean_loss = policy_mean_loss(progress->loss_sum, images);
    if ((write[0] || write[1]) && have_state && state_diverged(r, mean_loss))
        return cli_report(diverged(r, progress->epoch, step ? step : steps, mean_loss, err), err);
    /* both are tried whatever happens to the other; the first failure is reported */
    mc_status first = MC_OK;
    mc_error why = {{0}};
    if (write[0]) {
        mc_status st = write_checkpoint(r, progress, images, have_state, &why);
        if (st) {
            first = st;
            *err = why;
        } else {
            printf("wrote checkpoint %s: `mnistcl train --resume %s` continues from here\n",
                   r->o.checkpoint, r->o.checkpoint);
        }
    }
    if (write[1]) {
        mc_status st = save_model(r, NULL, stopped, &why);
        if (st && !first) {
            first = st;
            *err = why;
        } else if (st) {
            fprintf(stderr, "mnistcl: %s\n", why.msg);
        }
    }
    if (r->o.predictions)
        printf("predictions not written: training did not finish\n");
    if (!r->o.save && !r->o.checkpoint)
        printf("nothing saved: give --save FILE or --checkpoint FILE to keep interrupted work\n");
    fflush(stdout);
    return first ? cli_report(first, err) : signals_exit_code(sig);
}

/* ---- the epochs -------------------------------------------------------------------------- */

/* The epoch's line: loss, accuracies, time. */
static void print_epoch(const run *r, int epoch, const pass_stats *tr, const pass_stats *te,
                        double seconds)
{
    if (r->test.labels)
        printf("%5d %9.4f %8.2f %8.2f %8.3f %10.0f\n", epoch, tr->loss, 100 * tr->accuracy,
               100 * te->accuracy, seconds, r->train.n / seconds);
    else
        printf("%5d %9.4f %8.2f %8s %8.3f %10.0f\n", epoch, tr->loss, 100 * tr->accuracy, "-",
               seconds, r->train.n / seconds);
    fflush(stdout);
}

/*
 * The epochs, from where the run stands: training, checks, checkpoints, the epoch lines,
 * then the model and the predictions. Returns the exit code.
 */
static int train_epochs(run *r, mc_error *err)
{
    train_options *o = &r->o;
    trainer *t = r->t;
    rng shuffle_rng = r->progress.shuffle_rng;
    int steps = trainer_steps_per_epoch(t), first_epoch = r->progress.epoch;
    pass_stats tr = {0}, te = {0};
    double total = 0;
    int tested = 0, slice = 1;
    for (int epoch = first_epoch; epoch <= o->epochs; epoch++) {
        int resumed_here = r->resumed && epoch == first_epoch;
        int s = resumed_here ? r->progress.step : 0;
        double carry_loss = resumed_here ? r->progress.loss_sum : 0;
        long long carry_correct = resumed_here ? r->progress.correct : 0;
        rng epoch_rng = shuffle_rng; /* before this epoch's shuffle: what a checkpoint keeps */
        if (signals_pending()) { /* arrived in the set-up, an evaluation or a checkpoint */
            train_progress p = {epoch, 0, epoch_rng, 0, 0};
            if (resumed_here)
                p = r->progress;
            return stop_on_signal(r, signals_pending(), &p, images_done(r, p.step), err);
        }
        double t0 = cli_now();
        mc_status st = trainer_begin_epoch(t, &shuffle_rng);
        if (!st && resumed_here && s > 0)
            st = trainer_clear_stats(t);
        int every = o->checkpoint ? o->checkpoint_every : 0;
        while (!st && s < steps) {
            int next_checkpoint = policy_next_checkpoint(s, every, steps);
            int next = policy_slice_end(s, slice, next_checkpoint, steps);
            double t_slice = cli_now();
            int s_before = s;
            st = trainer_train_steps(t, s, next - s);
            if (!st)
                st = trainer_finish(t);
            if (st)
                break;
            s = next;
            slice = policy_next_slice(slice, next - s_before, cli_now() - t_slice, steps);
            int sig = signals_pending();
            if (s < steps && (sig || policy_checkpoint_due(s, next_checkpoint, steps))) {
                train_progress p = {epoch, s, epoch_rng, 0, 0};
                if ((st = trainer_partial_sums(t, s, &p.loss_sum, &p.correct)))
                    break;
                p.loss_sum += carry_loss, p.correct += carry_correct;
                long long images = images_done(r, s);
                if (sig)
                    return stop_on_signal(r, sig, &p, images, err);
                st = write_checkpoint(r, &p, images, 0, err);
                if (st == MC_ERR_DIVERGED)
                    return cli_report(diverged(r, epoch, s, p.loss_sum / (double)images, err),
                                      err);
                if (st)
                    return cli_report(st, err);
            }
        }
        if (st)
            return cli_report(step_failed(r, st, "training", epoch, err), err);
        if ((st = trainer_end_epoch(t, &tr)))
            return cli_report(step_failed(r, st, "training", epoch, err), err);
        double seconds = cli_now() - t0;
        total += seconds;
        if (resumed_here) { /* the steps before the resume are in the carried sums */
            tr.loss = (tr.loss * tr.images + carry_loss) / tr.images;
            tr.accuracy = (tr.accuracy * tr.images + (double)carry_correct) / tr.images;
        }
        if ((st = trainer_get_state(t, r->params, r->velocity)))
            return cli_report(step_failed(r, st, "reading the parameters", epoch, err), err);
        if (state_diverged(r, tr.loss))
            return cli_report(diverged(r, epoch, steps, tr.loss, err), err);
        int show = policy_epoch_shown(epoch, first_epoch, o->print_every, o->epochs);
        if (show && r->test.labels) {
            if ((st = trainer_evaluate(t, 0, &te)))
                return cli_report(step_failed(r, st, "evaluation", epoch, err), err);
            tested = 1;
        }
        if (o->checkpoint) {
            train_progress p = policy_epoch_end_progress(epoch, &shuffle_rng);
            st = write_checkpoint(r, &p, 0, 1, err); /* read at the epoch's end above */
            if (st == MC_ERR_DIVERGED)
                return cli_report(diverged(r, epoch, steps, tr.loss, err), err);
            if (st)
                return cli_report(st, err);
        }
        if (show)
            print_epoch(r, epoch, &tr, &te, seconds);
    }
    if (first_epoch > o->epochs) {
        printf("the checkpoint's run is complete (epoch %d of %d); give --epochs to go on\n",
               first_epoch - 1, o->epochs);
        mc_status st = r->test.labels ? trainer_evaluate(t, 0, &te) : MC_OK;
        if (st)
            return cli_report(step_failed(r, st, "evaluation", first_epoch - 1, err), err);
        tested = r->test.labels != NULL;
    }
    if (tested)
        printf("test accuracy %.2f%% (%d/%d)\n", 100 * te.accuracy,
               (int)lround(te.accuracy * te.images), te.images);
    else
        printf("the test set has no labels: no test accuracy\n");
    printf("training took %.2f s\n", total);
    /* the model first: a failure writing the predictions must not cost the network */
    mc_status st = o->save ? save_model(r, tested ? &te : NULL, NULL, err) : MC_OK;
    if (!st && o->predictions)
        st = write_predictions(r, err);
    if (st)
        return cli_report(st, err);
    int sig = signals_pending();
    if (sig) {
        printf("interrupted (%s) after training had finished; everything was written\n",
               signal_name(sig));
        return signals_exit_code(sig);
    }
    return 0;
}

/* Reads the checkpoint --resume names and takes its network, state and settings. */
static mc_status load_resume(run *r, cli_option *table, int n_table, mc_error *err)
{
    train_options *o = &r->o;
    mc_status st = checkpoint_load(o->resume, &r->spec, &r->params, &r->velocity, &r->progress,
                                   &r->resume_meta, err);
    if (!st)
        st = resume_settings_apply(o, &r->resume_meta, o->resume, table, n_table, err);
    if (st)
        return st;
    r->resumed = 1;
    if (!o->checkpoint) /* keep protecting the work: go on writing where it came from */
        o->checkpoint = o->resume;
    if (same_file(o->checkpoint, o->resume)) {
        r->checkpointed = 1;
        r->checkpoint_at = r->progress;
    }
    return MC_OK;
}

/*
 * Everything before the first step: options, checkpoint, outputs, data, device,
 * trainer, initial state. Returns MC_OK or the failure with err set.
 */
static mc_status prepare(run *r, int argc, char **argv, int *help, mc_error *err)
{
    train_options *o = &r->o;
    train_options_defaults(o);
    mc_status st = train_options_preset_from_argv(o, argc, argv, 2, err);
    if (st)
        return st;
    cli_option table[48];
    int n = options_table(o, table);
    int rc = cli_parse(argc, argv, 2, table, n, synopsis, err);
    if (rc == CLI_HELP) {
        train_options_print_presets(stdout);
        *help = 1;
        return MC_OK;
    }
    if (rc)
        return (mc_status)rc;
    r->progress.epoch = 1;
    rng_seed(&r->progress.shuffle_rng, train_options_shuffle_seed(o));
    if (o->resume && (st = load_resume(r, table, n, err)))
        return st;
    if (o->checkpoint_every > 0 && !o->checkpoint)
        return mc_fail(err, MC_ERR_USAGE, "--checkpoint-every needs --checkpoint FILE");
    if ((st = check_outputs(o, err)))
        return st;
    int batch = 0;
    if (strcmp(o->batch, "full") != 0 &&
        (st = cli_parse_int("batch", o->batch, 1, 1 << 30, &batch, err)))
        return st;
    if (!r->resumed && (st = train_options_spec(o, 784, &r->spec, err))) /* names first */
        return st;
    if ((st = load_sets(o, &r->train, &r->test, err)))
        return st;
    if (o->predictions && r->test.n == 0)
        return mc_fail(err, MC_ERR_USAGE, "--predictions: the test set is empty");
    if (o->train_limit > 0)
        dataset_truncate(&r->train, o->train_limit);
    r->batch = batch > 0 ? batch : r->train.n;
    if (!r->resumed && (st = train_options_spec(o, dataset_dim(&r->train), &r->spec, err)))
        return st;
    if (o->checkpoint || r->resumed)
        policy_data_fingerprint(&r->train, r->fingerprint, sizeof r->fingerprint);
    if ((st = cli_open_device(o->device, &r->be, err)))
        return st;
    train_config cfg = {.batch = batch, .lr = o->lr, .momentum = o->momentum,
                        .weight_decay = o->weight_decay, .shuffle = o->shuffle};
    if ((st = trainer_create(&r->t, r->be, &r->spec, &r->train, &r->test, &cfg, err)))
        return st;
    if (r->resumed) {
        policy_data data = {r->fingerprint, r->train.n, r->batch, trainer_steps_per_epoch(r->t)};
        const char *recorded = st_meta_get(&r->resume_meta, POLICY_DATA_KEY);
        if ((st = policy_check_resume_progress(o->resume, recorded, &data, &r->progress,
                                               loss_limit(r), err)))
            return st;
        if ((st = policy_check_resume_epochs(o->epochs, o->resume, &r->progress, err)))
            return st;
    }
    size_t n_params = mlp_param_count(&r->spec);
    if (!r->resumed) {
        r->params = malloc(n_params * sizeof(float));
        r->velocity = calloc(n_params, sizeof(float));
        if (!r->params || !r->velocity)
            return mc_fail(err, MC_ERR_NOMEM, "out of memory for %zu parameters", n_params);
        if ((st = train_options_init_params(o, &r->spec, r->params, err)))
            return st;
    }
    if ((st = trainer_set_state(r->t, r->params, r->velocity)))
        return mc_fail(err, st, "uploading the parameters to %s failed: %s", backend_name(r->be),
                       mc_status_name(st));
    return MC_OK;
}

/* The lines before the first epoch: what is trained on what, and the table's header. */
static void print_header(const run *r)
{
    const train_options *o = &r->o;
    char shape[128];
    mlp_format_layers(&r->spec, shape, sizeof shape);
    if (r->resumed)
        printf("resuming %s at epoch %d, step %d\n", o->resume, r->progress.epoch,
               r->progress.step);
    if (o->preset)
        printf("preset %s\n", o->preset);
    printf("network %s, %s hidden, %s output, %zu parameters, init %s, seed %llu\n", shape,
           act_name(r->spec.hidden_act), output_name(r->spec.output), mlp_param_count(&r->spec),
           o->init, (unsigned long long)o->seed);
    printf("data: %s, %d training and %d test images; batch %s, lr %g, momentum %g%s\n",
           o->train_csv ? o->train_csv : o->dataset, r->train.n, r->test.n, o->batch, o->lr,
           o->momentum, o->shuffle ? "" : ", file order");
    printf("%5s %9s %8s %8s %8s %10s\n", "epoch", "loss", "train%", "test%", "seconds",
           "images/s");
    fflush(stdout);
}

int cmd_train(int argc, char **argv)
{
    run r;
    memset(&r, 0, sizeof r);
    mc_error err = {{0}};
    int help = 0, rc;
    signals_ignore_pipe();
    /* from here a signal stops the run at its next step with the work saved (one during
       the set-up is acted on before the first step: the model is then the initial one) */
    signals_defer(1);
    mc_status st = prepare(&r, argc, argv, &help, &err);
    if (st || help) {
        rc = cli_report(st, &err);
    } else if (r.o.plan) {
        trainer_print_plan(r.t, stdout);
        rc = 0;
    } else {
        print_header(&r);
        rc = train_epochs(&r, &err);
    }
    signals_defer(0);
    run_free(&r);
    return rc;
}
