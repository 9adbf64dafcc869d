/*
 * `mnistcl train`: train a network, print its progress, save it. No work is lost: every
 * output path is checked before the first step, files are written atomically, and the
 * first SIGINT/SIGTERM/SIGHUP stops training after the current step with the model and
 * checkpoint written as of that step. The rules it follows (divergence, the checkpoint
 * schedule, the resume checks, the settings a checkpoint keeps) are train/run_policy.h's;
 * this file does the work and the printing.
 */
#include <limits.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli_common.h"
#include "cli/output_paths.h"
#include "cli/predictions_file.h"
#include "cli/epoch_log.h"
#include "cli/train_console.h"
#include "mnistcl/checkpoint.h"
#include "mnistcl/csv.h"
#include "mnistcl/model_io.h"
#include "mnistcl/train.h"
#include "io/output_file.h"
#include "cli/resume_settings.h"
#include "core/signals.h"
#include "cli/train_options.h"
#include "train/exchange.h"
#include "train/run_policy.h"

static const char synopsis[] =
    "usage: mnistcl train [options]\n"
    "Trains a fully connected network on MNIST-format data and prints, per epoch: the mean\n"
    "training loss, the training accuracy measured during the epoch (with dropout and\n"
    "distortions as trained), the test accuracy after it (with --val first the validation\n"
    "loss and accuracy), the epoch's seconds and images per second. Ends with the test\n"
    "accuracy. Under `mpirun -np N` (mnistcl built with MPI) the N processes train one\n"
    "run, each its share of every batch on its own --device; rank 0 prints and writes the\n"
    "files, and --resume reads the checkpoint on every rank (the same path on each).";

/* What train prints and logs: none of them a training setting (no checkpoint keeps them). */
typedef struct {
    const char *log;      /* --log FILE: a record per epoch (epoch_log.h) */
    const char *progress; /* --progress auto|on|off */
    int quiet;            /* --quiet: nothing on stdout */
} output_options;

static int options_table(train_options *o, output_options *w, cli_option *t)
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
    t[n++] = cli_opt("weight-decay", OPT_FLOAT, &o->weight_decay, "X",
                     "weight decay: L2, added to the gradient (adamw: decoupled, p -= lr*X*p)",
                     0, 1);
    n = train_options_rule_table(o, t, n);
    t[n++] = cli_opt("shuffle", OPT_FLAG, &o->shuffle, NULL,
                     "reshuffle the training set every epoch (off: file order)", 0, 0);
    t[n++] = cli_opt("train-limit", OPT_INT, &o->train_limit, "N",
                     "use only the first N training images (0 = all)", 0, 1 << 30);
    t[n++] = cli_opt("val", OPT_STRING, &o->val, "N|F",
                     "hold out N of the training images (or the fraction F: 0.1 = 10%, "
                     "rounded) for validation, drawn at random from --seed (not stratified) "
                     "after --train-limit; evaluated after every epoch (the val_loss and "
                     "val% columns). The run's result is then the weights of the epoch of "
                     "the lowest validation loss: --save, --predictions and the final test "
                     "accuracy; the test set decides nothing",
                     0, 0);
    t[n++] = cli_opt("early-stop", OPT_INT, &o->early_stop, "PATIENCE",
                     "stop when the validation loss has not gone below its lowest for "
                     "PATIENCE epochs in a row (needs --val; 0 = never)",
                     0, 1000000);
    t[n++] = cli_opt("plateau", OPT_STRING, &o->plateau, "FACTOR[:PATIENCE]",
                     "reduce on plateau (PyTorch's ReduceLROnPlateau: mode min, threshold 0, "
                     "no cooldown): the learning rate is multiplied by FACTOR (0 < FACTOR < 1) "
                     "when the validation loss has not gone below its lowest for more than "
                     "PATIENCE epochs (default 2) since the lowest or the last reduction "
                     "(needs --val)",
                     0, 0);
    t[n++] = cli_opt("print-every", OPT_INT, &o->print_every, "N",
                     "print (and test) every N epochs, and the last", 1, 1000000);
    t[n++] = cli_opt("log", OPT_STRING, &w->log, "FILE",
                     "write a record of every epoch (whatever --print-every says) to FILE as "
                     "it ends: CSV, or JSON Lines when FILE ends in .jsonl (docs/FORMATS.md); "
                     "with --resume an existing log keeps the epochs before the resumed one "
                     "and loses the others",
                     0, 0);
    t[n++] = cli_opt("progress", OPT_STRING, &w->progress, "auto|on|off",
                     "a line within each epoch, redrawn in place: steps done, loss and "
                     "training accuracy so far, images per second, time left (of the epoch "
                     "and of the run); auto = when stdout is a terminal",
                     0, 0);
    t[n++] = cli_opt("quiet", OPT_FLAG, &w->quiet, NULL,
                     "print nothing on stdout (errors and warnings still go to stderr, --log "
                     "is still written; --plan still prints the plan)",
                     0, 0);
    t[n++] = cli_opt("device", OPT_STRING, &o->device, "SPEC",
                     "auto, cpu, opencl or P:D (see `mnistcl devices`; env MNISTCL_DEVICE); "
                     "or several, data parallel: a comma list (0:0,0:1; cpu may repeat) or "
                     "all (every OpenCL device), devices alike (one model and driver, or all "
                     "cpu): each holds the parameters and takes an equal share of every "
                     "step's images (--batch at least the devices x the mpirun processes), the "
                     "gradients are "
                     "added in device order, so a run repeats bit for bit on the same "
                     "devices; evaluation is split too",
                     0, 0);
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
    output_options w;
    train_console con;           /* stdout (nothing with --quiet), the progress line */
    epoch_log log;               /* --log (fd -1 without) */
    dataset train, test;
    mlp_spec spec;
    backend *be;                 /* the first device: the trainer's primary */
    backend *devices[CLI_MAX_DEVICES]; /* --device's (devices[0] = be) */
    int n_devices;
    char device_names[1024];     /* every device's name (cli_devices_name) */
    int resumed_replicas;        /* the checkpoint's POLICY_REPLICAS_KEY (1 when absent) */
    trainer *t;
    float *params;
    optimizer_state state;       /* the optimizer's (trainer_state_floats) and best weights */
    st_file resume_meta;
    train_progress progress;     /* where training starts: epoch 1, or the checkpoint's */
    int resumed;
    int batch;                   /* images per step (the whole set for --batch full) */
    char fingerprint[POLICY_FINGERPRINT_MAX]; /* the training set's (policy_data_fingerprint) */
    int checkpointed;            /* whether o.checkpoint holds a state of this run */
    train_progress checkpoint_at; /* which one */
    /* --val: the held-out images; state.best holds the weights of vs.best_epoch (NULL
       before there is one); --plateau's FACTOR (0 without) and PATIENCE */
    dataset val;
    policy_val_state vs;
    double plateau_factor;
    int plateau_patience;
    int epochs_done;             /* epochs finished (by this run and the one resumed) */
    int stopped_early;           /* 1: early stopping ended the run after epochs_done */
    /* the ranks of an MPI run (train/exchange.h; one rank without MPI): each trains its
       share of every step, rank 0 alone prints and writes files (main.c sends the others'
       stdout to /dev/null). A failure every rank meets at the same point (agreed) ends
       them all normally; any other one aborts them all (cmd_train: exchange_abort), as
       the others may be waiting for this rank in a sum */
    exchange *x;
    int agreed;                  /* 1: this rank's ending is one every rank reaches */
    int setup_failed;            /* a set-up agreement (agree_setup) has reported a failure */
    int quiet_error;             /* the failure is rank 0's own, printed there: not again */
} run;

/* Prints on train's stdout like printf (console_vsay): nothing with --quiet, a progress
   line erased first. */
static void say(run *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void say(run *r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    console_vsay(&r->con, fmt, ap);
    va_end(ap);
}

/* Whether this process writes the run's files: rank 0 (or the process alone). */
static int writes_files(const run *r)
{
    return exchange_rank(r->x) == 0;
}

/*
 * The set-up's outcome, agreed by every rank (collective: each rank calls it once before
 * creating the trainer, or, failing before that point, instead of it, then once at the
 * end; nothing to do alone). st is this rank's outcome. Returns MC_OK when every rank
 * succeeded; else this rank's own failure (r->quiet_error set when it is rank 0's, word
 * for word: the same options fail alike everywhere, and rank 0 has said it), or, on a
 * rank that succeeded, the status of the first rank that failed: quiet, but on rank 0 with
 * a line naming that rank (which prints its own error after "rank K: ").
 */
static mc_status agree_setup(run *r, mc_status st, mc_error *err)
{
    int ranks = exchange_ranks(r->x), rank = exchange_rank(r->x);
    if (ranks <= 1)
        return st;
    r->agreed = 1;
    /* the largest: the lowest failing rank, with its status (statuses are below 256) */
    int first_failed = st ? (ranks - rank) << 8 | (int)st : 0;
    struct {
        mc_status st;
        mc_error err;
    } zero = {st, {{0}}};
    mc_error why = {{0}};
    mc_status xs = exchange_max_int(r->x, &first_failed, &why);
    if (!xs && first_failed) {
        if (st)
            zero.err = *err;
        xs = exchange_broadcast(r->x, &zero, sizeof zero, &why); /* rank 0's outcome */
    }
    if (xs) { /* the ranks no longer agree on anything */
        r->agreed = 0;
        return mc_fail(err, xs, "%s", why.msg);
    }
    if (!first_failed)
        return MC_OK;
    r->setup_failed = 1;
    if (st) {
        r->quiet_error = rank > 0 && zero.st == st && strcmp(zero.err.msg, err->msg) == 0;
        return st;
    }
    r->quiet_error = rank > 0 || zero.st;
    int failed_rank = ranks - (first_failed >> 8);
    return mc_fail(err, (mc_status)(first_failed & 0xff), "rank %d of the %d could not set up "
                   "(its error is printed after \"rank %d: \"); every rank stops", failed_rank,
                   ranks, failed_rank);
}

/*
 * After each slice of steps, what every rank must do alike (collective; nothing alone):
 * *sig becomes the largest signal any rank received (mpirun forwards SIGINT and SIGTERM
 * to every rank, but each sees it after its own slice; a signal sent to one rank stops
 * them all), and *slice (when not NULL) rank 0's next slice length, which each rank would
 * otherwise size from its own clock. An exchange failure is printed and returned.
 */
static mc_status agree_slice(run *r, int *sig, int *slice, mc_error *err)
{
    if (exchange_ranks(r->x) <= 1)
        return MC_OK;
    mc_status st = exchange_max_int(r->x, sig, err);
    if (!st && slice)
        st = exchange_broadcast(r->x, slice, sizeof *slice, err);
    if (st)
        fprintf(stderr, "mnistcl: %s\n", err->msg);
    return st;
}

static void run_free(run *r)
{
    epoch_log_close(&r->log);
    free(r->params);
    free(r->state.values);
    free(r->state.best);
    trainer_destroy(r->t);
    for (int i = 0; i < r->n_devices; i++)
        backend_destroy(r->devices[i]);
    dataset_free(&r->train);
    dataset_free(&r->test);
    dataset_free(&r->val);
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
 * Before any work: every output path can be written, no two outputs are one file, and no
 * output would overwrite an input (a checkpoint may replace the one resumed from: that is
 * what it is for).
 */
static mc_status check_outputs(const train_options *o, const char *log, mc_error *err)
{
    const cli_path out[] = {{"--save", o->save}, {"--checkpoint", o->checkpoint},
                            {"--predictions", o->predictions}, {"--log", log}};
    const cli_path in[] = {{"--train-csv", o->train_csv}, {"--test-csv", o->test_csv},
                           {"--resume", o->resume}};
    return cli_check_paths(out, (int)(sizeof out / sizeof out[0]), in,
                           (int)(sizeof in / sizeof in[0]), "--checkpoint", "--resume", err);
}

/* Whether the run's result is the best validation epoch's weights (in r->state.best). */
static int best_weights(const run *r)
{
    return r->val.n && r->state.best && r->vs.best_epoch > 0;
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
    if (r->val.n) { /* the weights are the best epoch's (best_weights) */
        const policy_val_state *v = &r->vs;
        snprintf(meta[n].key, sizeof meta[n].key, "val_images");
        snprintf(meta[n++].value, sizeof meta[0].value, "%d", r->val.n);
        snprintf(meta[n].key, sizeof meta[n].key, "epochs_trained");
        snprintf(meta[n++].value, sizeof meta[0].value, "%d", r->epochs_done);
        if (best_weights(r)) {
            snprintf(meta[n].key, sizeof meta[n].key, "best_epoch");
            snprintf(meta[n++].value, sizeof meta[0].value, "%d", v->best_epoch);
            snprintf(meta[n].key, sizeof meta[n].key, "val_loss");
            snprintf(meta[n++].value, sizeof meta[0].value, "%.6f", v->best_loss);
            snprintf(meta[n].key, sizeof meta[n].key, "val_accuracy");
            snprintf(meta[n++].value, sizeof meta[0].value, "%.4f", 100.0 * v->best_accuracy);
            snprintf(meta[n].key, sizeof meta[n].key, "selected_by");
            snprintf(meta[n++].value, sizeof meta[0].value,
                     "the lowest validation loss (the test set decides nothing)");
        }
        if (r->stopped_early) {
            snprintf(meta[n].key, sizeof meta[n].key, "early_stop");
            snprintf(meta[n++].value, sizeof meta[0].value,
                     "after epoch %d: no lower validation loss for %d epoch%s", r->epochs_done,
                     r->o.early_stop, r->o.early_stop == 1 ? "" : "s");
        }
    }
    snprintf(meta[n].key, sizeof meta[n].key, "trained_on");
    snprintf(meta[n++].value, sizeof meta[0].value, "%s", r->device_names);
    return n;
}

/*
 * Writes the model to --save; `stopped` (or NULL) says how far an interrupted run got.
 * With --val, once an epoch has been validated, the weights written are the best
 * epoch's (best_weights), stopped or not.
 */
static mc_status save_model(run *r, const pass_stats *test, const char *stopped, mc_error *err)
{
    if (!writes_files(r))
        return MC_OK;
    mc_status st = trainer_get_params(r->t, r->params);
    if (st)
        return mc_fail(err, st, "reading the parameters back from %s failed: %s", r->device_names,
                       mc_status_name(st));
    st_meta meta[24];
    int n_meta = run_metadata(r, test, stopped, meta);
    int best = best_weights(r);
    st = model_save(r->o.save, &r->spec, best ? r->state.best : r->params, meta, n_meta, err);
    if (!st && best)
        say(r, "saved %s (the weights of epoch %d, the lowest validation loss%s)\n", r->o.save,
               r->vs.best_epoch, stopped ? " so far" : "");
    else if (!st)
        say(r, "saved %s%s\n", r->o.save, stopped ? " (as of the step above)" : "");
    return st;
}

/* Writes --predictions for the test set (write_set_outputs: what `eval --predictions`
 * writes from the saved model). */
static mc_status write_predictions(run *r, mc_error *err)
{
    if (!writes_files(r))
        return MC_OK;
    console_erase(&r->con);
    return write_set_outputs(r->t, r->test.n, classes_of(&r->spec), r->o.predictions, NULL,
                             r->con.out, err);
}

/* ---- divergence and checkpoints (the rules: train/run_policy.h) --------------------------- */

/* The run's loss limit (policy_loss_limit of its output and classes). */
static double loss_limit(const run *r)
{
    return policy_loss_limit(r->spec.output, classes_of(&r->spec));
}

/* Whether the state in r->params and r->state (read back) or the mean loss has diverged. */
static int state_diverged(const run *r, double mean_loss)
{
    return policy_state_diverged(&r->spec, r->params, r->state.values, mean_loss);
}

/*
 * Writes the checkpoint for `progress` (images: those its partial sums cover) and
 * remembers it; a diverged state is never written (MC_ERR_DIVERGED, err untouched).
 * have_state: r->params and r->state already hold the trainer's state (else it is read).
 */
static mc_status write_checkpoint(run *r, const train_progress *progress, long long images,
                                  int have_state, mc_error *err)
{
    mc_status st = have_state ? MC_OK : trainer_get_state(r->t, r->params, r->state.values);
    if (st)
        return mc_fail(err, st, "reading the training state back from %s failed: %s",
                       r->device_names, mc_status_name(st));
    if (state_diverged(r, policy_mean_loss(progress->loss_sum, images)))
        return MC_ERR_DIVERGED;
    policy_value values[POLICY_N_SETTINGS];
    resume_settings_values(&r->o, values);
    st_meta meta[POLICY_CHECKPOINT_META_MAX + POLICY_VAL_META_MAX + 1];
    int n_meta = policy_checkpoint_meta(values, r->fingerprint, meta);
    snprintf(meta[n_meta].key, sizeof meta[n_meta].key, "%s", POLICY_REPLICAS_KEY);
    snprintf(meta[n_meta++].value, sizeof meta[0].value, "%d", trainer_replicas(r->t));
    if (r->val.n) /* with it, state.best: the best epoch's weights (once there is one) */
        n_meta += policy_val_state_to_meta(&r->vs, r->plateau_factor > 0, meta + n_meta);
    if (writes_files(r)) /* the other ranks hold the same state */
        st = checkpoint_save(r->o.checkpoint, &r->spec, r->params, &r->state, progress, meta,
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
    console_erase(&r->con);
    policy_divergence d = {.epoch = epoch, .steps_done = steps_done, .first_bad_step = -1,
                           .mean_loss = mean_loss, .lr = r->o.lr, .checkpoint = r->o.checkpoint,
                           .checkpointed = r->checkpointed, .checkpoint_at = r->checkpoint_at};
    trainer_first_bad_step(r->t, steps_done, loss_limit(r), &d.first_bad_step);
    trainer_get_params(r->t, r->params);
    char message[POLICY_DIVERGENCE_MESSAGE_MAX];
    policy_divergence_message(&d, &r->spec, r->params, message, sizeof message);
    if (writes_files(r)) /* every rank finds the same: rank 0 reports it */
        fputs(message, stderr);
    r->agreed = 1; /* the same state and sums on every rank: all of them stop here */
    return mc_fail(err, MC_ERR_DIVERGED, "stopped (exit code %d)", MC_ERR_DIVERGED);
}

/* A failed training or evaluation call: what failed, where, and where the details are. */
static mc_status step_failed(run *r, mc_status st, const char *what, int epoch, mc_error *err)
{
    return mc_fail(err, st, "%s failed in epoch %d on %s: %s%s", what, epoch, r->device_names,
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
    r->agreed = 1; /* every rank stops at this step (agree_slice) */
    char stopped[128];
    policy_stop_description(signal_name(sig), progress, steps, stopped, sizeof stopped);
    say(r, "interrupted (%s)\n", stopped);
    /* nothing trained yet: an existing file holds more than the initial network does */
    int untrained = policy_nothing_trained(r->resumed, progress);
    const char *paths[2] = {r->o.checkpoint, r->o.save};
    int write[2];
    for (int k = 0; k < 2; k++) {
        struct stat sb;
        write[k] = paths[k] && !(untrained && stat(paths[k], &sb) == 0);
        if (paths[k] && !write[k])
            say(r, "nothing was trained yet: %s is left as it was\n", paths[k]);
    }
    int have_state = trainer_get_state(r->t, r->params, r->state.values) == MC_OK;
    double mean_loss = policy_mean_loss(progress->loss_sum, images);
    /* rank 0's decisions on every rank: diverged() is collective, and the files are its */
    int decide[3] = {write[0], write[1],
                     (write[0] || write[1]) && have_state && state_diverged(r, mean_loss)};
    mc_status xs = exchange_broadcast(r->x, decide, sizeof decide, err);
    if (xs) {
        r->agreed = 0;
        return cli_report(xs, err);
    }
    write[0] = decide[0], write[1] = decide[1];
    if (decide[2])
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
            say(r, "wrote checkpoint %s: `mnistcl train --resume %s` continues from here\n",
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
        say(r, "predictions not written: training did not finish\n");
    if (!r->o.save && !r->o.checkpoint)
        say(r, "nothing saved: give --save FILE or --checkpoint FILE to keep interrupted work\n");
    return first ? cli_report(first, err) : signals_exit_code(sig);
}

/* ---- the epochs -------------------------------------------------------------------------- */

/* The epoch's line: loss, accuracies (with --val: the validation loss and accuracy after
 * the training accuracy), time. */
static void print_epoch(run *r, int epoch, const pass_stats *tr, const pass_stats *ve,
                        const pass_stats *te, double seconds)
{
    if (r->val.n) {
        char test[16];
        snprintf(test, sizeof test, "%.2f", 100 * te->accuracy);
        say(r, "%5d %9.4f %8.2f %9.4f %8.2f %8s %8.3f %10.0f\n", epoch, tr->loss,
               100 * tr->accuracy, ve->loss, 100 * ve->accuracy, r->test.labels ? test : "-",
               seconds, r->train.n / seconds);
    } else if (r->test.labels)
        say(r, "%5d %9.4f %8.2f %8.2f %8.3f %10.0f\n", epoch, tr->loss, 100 * tr->accuracy,
               100 * te->accuracy, seconds, r->train.n / seconds);
    else
        say(r, "%5d %9.4f %8.2f %8s %8.3f %10.0f\n", epoch, tr->loss, 100 * tr->accuracy, "-",
               seconds, r->train.n / seconds);
}

/*
 * The validation pass after `epoch` (r->params holds its weights): its figures into *ve,
 * the decisions (policy_val_epoch) into *vd and r->vs; a new best's weights are copied to
 * r->state.best, a lower rate goes to the trainer.
 */
static mc_status validate(run *r, int epoch, pass_stats *ve, policy_val_decision *vd)
{
    mc_status st = trainer_evaluate_validation(r->t, ve);
    if (st)
        return st;
    *vd = policy_val_epoch(&r->vs, epoch, ve->loss, ve->accuracy, r->o.early_stop,
                           r->plateau_factor, r->plateau_patience);
    if (vd->improved) {
        size_t n = mlp_param_count(&r->spec);
        if (!r->state.best && !(r->state.best = malloc(n * sizeof(float))))
            return MC_ERR_NOMEM;
        memcpy(r->state.best, r->params, n * sizeof(float));
    }
    return vd->reduced ? trainer_set_lr_scale(r->t, r->vs.lr_scale) : MC_OK;
}

/* The lines after an epoch's about its validation: a lower rate, early stopping. */
static void print_val_decision(run *r, int epoch, const policy_val_decision *vd)
{
    const policy_val_state *v = &r->vs;
    if (vd->reduced)
        say(r, "plateau after epoch %d: no lower validation loss for %d epoch%s (lowest %.4f, "
               "epoch %d): learning rate x%g, now %g x --lr\n",
               epoch, r->plateau_patience + 1, r->plateau_patience ? "s" : "", v->best_loss,
               v->best_epoch, r->plateau_factor, (double)v->lr_scale);
    if (vd->stop)
        say(r, "early stop after epoch %d: no lower validation loss for %d epoch%s; the best "
               "was epoch %d (validation loss %.4f, %.2f%%)\n",
               epoch, v->bad_epochs, v->bad_epochs == 1 ? "" : "s", v->best_epoch, v->best_loss,
               100 * v->best_accuracy);
}

/* ---- the progress line and the log ------------------------------------------------------ */

/* Where the epoch in progress stands, for its progress line. */
typedef struct {
    int epoch, last_epoch;
    int first;                /* the step the epoch (re)started at this time: 0, or resumed */
    double t0, last_drawn;    /* when the epoch started; the last progress line (or t0) */
    double carry_loss;        /* sums of the steps before a resume (trainer_clear_stats) */
    long long carry_correct;
    double epoch_seconds;     /* the mean whole epoch of this run so far (0: none yet) */
} epoch_clock;

/* Whether the slice ending at step `next` should read the sums for a progress line: the
   line is on, the epoch goes on after it, and 100 ms have passed since the last one. */
static int progress_due(const run *r, const epoch_clock *c, int next)
{
    return r->con.progress && next < trainer_steps_per_epoch(r->t) &&
           cli_now() - c->last_drawn >= 0.1;
}

/*
 * Draws the progress line after the epoch's first `step` steps from the sums that
 * trainer_progress_request(step) read (the trainer has finished since), with the sums
 * carried over a resume. Returns the trainer's failure (an internal error), else MC_OK.
 */
static mc_status show_progress(run *r, epoch_clock *c, int step)
{
    pass_stats ps;
    mc_status st = trainer_progress_result(r->t, &ps);
    if (st)
        return st;
    int steps = trainer_steps_per_epoch(r->t);
    double now = cli_now(), elapsed = now - c->t0;
    double per_step = elapsed / (step - c->first); /* steps of this epoch trained this time */
    progress_fields p = {.epoch = c->epoch, .epochs = r->o.epochs, .step = step,
                         .steps = steps, .eta_run = -1};
    p.loss = (ps.loss * ps.images + c->carry_loss) / ps.images;
    p.accuracy = (ps.accuracy * ps.images + (double)c->carry_correct) / ps.images;
    p.images_per_s = elapsed > 0 ? (ps.images - images_done(r, c->first)) / elapsed : 0;
    p.eta_epoch = per_step * (steps - step);
    if (c->last_epoch > c->epoch)
        p.eta_run = p.eta_epoch + (c->last_epoch - c->epoch) *
                                      (c->epoch_seconds > 0 ? c->epoch_seconds : per_step * steps);
    console_progress(&r->con, &p);
    c->last_drawn = now;
    return MC_OK;
}

/* Erases the progress line, then reports the failure (cli_report): the exit code. */
static int fail_with(run *r, mc_status st, const mc_error *err)
{
    console_erase(&r->con);
    return cli_report(st, err);
}

/*
 * The epochs, from where the run stands: training, checks, checkpoints, the epoch lines
 * and the log's records, then the model and the predictions. Returns the exit code.
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
    /* a checkpoint written when early stopping ended its run: nothing is left to train */
    int stopped_before = r->resumed && r->val.n &&
                         policy_patience_exhausted(r->vs.bad_epochs, o->early_stop);
    r->stopped_early = stopped_before;
    int last_epoch = stopped_before ? first_epoch - 1 : o->epochs;
    double whole_epochs = 0; /* seconds of the whole epochs of this run, and how many */
    int n_whole = 0;
    for (int epoch = first_epoch; epoch <= last_epoch; epoch++) {
        int resumed_here = r->resumed && epoch == first_epoch;
        int s = resumed_here ? r->progress.step : 0;
        double carry_loss = resumed_here ? r->progress.loss_sum : 0;
        long long carry_correct = resumed_here ? r->progress.correct : 0;
        rng epoch_rng = shuffle_rng; /* before this epoch's shuffle: what a checkpoint keeps */
        int pending = signals_pending(); /* in the set-up, an evaluation or a checkpoint */
        mc_status agreed = agree_slice(r, &pending, NULL, err); /* all ranks stop, or none */
        if (agreed)
            return cli_report(agreed, err);
        if (pending) {
            train_progress p = {epoch, 0, epoch_rng, 0, 0};
            if (resumed_here)
                p = r->progress;
            return stop_on_signal(r, pending, &p, images_done(r, p.step), err);
        }
        double t0 = cli_now();
        epoch_clock clock = {epoch, last_epoch, s, t0, t0, carry_loss, carry_correct,
                             n_whole ? whole_epochs / n_whole : 0};
        mc_status st = trainer_begin_epoch(t, epoch, &shuffle_rng);
        if (!st && resumed_here && s > 0)
            st = trainer_clear_stats(t);
        int every = o->checkpoint ? o->checkpoint_every : 0;
        while (!st && s < steps) {
            int next_checkpoint = policy_next_checkpoint(s, every, steps);
            int next = policy_slice_end(s, slice, next_checkpoint, steps);
            double t_slice = cli_now();
            int s_before = s;
            st = trainer_train_steps(t, s, next - s);
            /* the progress line's sums: queued behind the slice, read by the same finish */
            int draw = !st && progress_due(r, &clock, next);
            if (draw)
                st = trainer_progress_request(t, next);
            if (!st)
                st = trainer_finish(t);
            if (!st && draw)
                st = show_progress(r, &clock, next);
            if (st)
                break;
            s = next;
            slice = policy_next_slice(slice, next - s_before, cli_now() - t_slice, steps);
            int sig = signals_pending();
            if ((st = agree_slice(r, &sig, &slice, err))) /* anyone's signal, rank 0's slice */
                break;
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
                    return fail_with(r, st, err);
            }
        }
        console_erase(&r->con); /* the epoch's training is over */
        if (st)
            return cli_report(step_failed(r, st, "training", epoch, err), err);
        if ((st = trainer_end_epoch(t, &tr)))
            return cli_report(step_failed(r, st, "training", epoch, err), err);
        double seconds = cli_now() - t0;
        total += seconds;
        float lr = trainer_lr_at(t, (long long)epoch * steps - 1); /* before a plateau's cut */
        if (resumed_here) { /* the steps before the resume are in the carried sums */
            tr.loss = (tr.loss * tr.images + carry_loss) / tr.images;
            tr.accuracy = (tr.accuracy * tr.images + (double)carry_correct) / tr.images;
        }
        if ((st = trainer_get_state(t, r->params, r->state.values)))
            return cli_report(step_failed(r, st, "reading the parameters", epoch, err), err);
        if (state_diverged(r, tr.loss))
            return cli_report(diverged(r, epoch, steps, tr.loss, err), err);
        pass_stats ve = {0};
        policy_val_decision vd = {0, 0, 0};
        if (r->val.n && (st = validate(r, epoch, &ve, &vd)))
            return cli_report(step_failed(r, st, "validation", epoch, err), err);
        r->epochs_done = epoch;
        r->stopped_early = vd.stop;
        int show = policy_epoch_shown(epoch, first_epoch, o->print_every, o->epochs) || vd.stop;
        int tested_now = show && r->test.labels;
        if (tested_now) {
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
            print_epoch(r, epoch, &tr, &ve, &te, seconds);
        print_val_decision(r, epoch, &vd);
        epoch_record rec = {epoch, (long long)epoch * steps, lr, tr, ve, te, r->val.n > 0,
                            tested_now, seconds, r->train.n / seconds};
        epoch_log_write(&r->log, &rec);
        if (!resumed_here || clock.first == 0) {
            whole_epochs += cli_now() - t0;
            n_whole++;
        }
        if (vd.stop)
            break;
    }
    if (stopped_before)
        say(r, "the checkpoint's run was stopped early after epoch %d (no lower validation "
               "loss for %d epoch%s)\n",
               first_epoch - 1, r->vs.bad_epochs, r->vs.bad_epochs == 1 ? "" : "s");
    else if (first_epoch > o->epochs)
        say(r, "the checkpoint's run is complete (epoch %d of %d); give --epochs to go on\n",
               first_epoch - 1, o->epochs);
    int best = best_weights(r);
    if (best) { /* the run's result; the optimizer's state on the device is spent */
        mc_status st = trainer_set_params(t, r->state.best);
        if (st)
            return cli_report(step_failed(r, st, "uploading the best weights", r->epochs_done,
                                          err), err);
    }
    if ((best || stopped_before || first_epoch > o->epochs) && r->test.labels) {
        mc_status st = trainer_evaluate(t, 0, &te);
        if (st)
            return cli_report(step_failed(r, st, "evaluation", r->epochs_done, err), err);
        tested = 1;
    }
    if (tested && best)
        say(r, "test accuracy %.2f%% (%d/%d) of the weights of epoch %d, the lowest validation "
               "loss\n",
               100 * te.accuracy, (int)lround(te.accuracy * te.images), te.images,
               r->vs.best_epoch);
    else if (tested)
        say(r, "test accuracy %.2f%% (%d/%d)\n", 100 * te.accuracy,
               (int)lround(te.accuracy * te.images), te.images);
    else
        say(r, "the test set has no labels: no test accuracy\n");
    say(r, "training took %.2f s\n", total);
    r->agreed = 1; /* no rank waits for another after this: each ends on its own */
    /* the model first: a failure writing the predictions must not cost the network */
    mc_status st = o->save ? save_model(r, tested ? &te : NULL, NULL, err) : MC_OK;
    if (!st && o->predictions)
        st = write_predictions(r, err);
    if (st)
        return cli_report(st, err);
    int sig = signals_pending();
    if (sig) {
        say(r, "interrupted (%s) after training had finished; everything was written\n",
               signal_name(sig));
        return signals_exit_code(sig);
    }
    return 0;
}

/* Reads the checkpoint --resume names and takes its network, state and settings. */
static mc_status load_resume(run *r, cli_option *table, int n_table, mc_error *err)
{
    train_options *o = &r->o;
    mc_status st = checkpoint_load(o->resume, &r->spec, &r->params, &r->state, &r->progress,
                                   &r->resume_meta, err);
    if (!st)
        st = resume_settings_apply(o, &r->resume_meta, o->resume, table, n_table, err);
    if (st)
        return st;
    /* a checkpoint from before the update rules and schedules has neither: SGD, constant */
    if (!o->optimizer)
        o->optimizer = "sgd";
    if (!o->schedule)
        o->schedule = "constant";
    r->resumed = 1;
    if (!o->checkpoint) /* keep protecting the work: go on writing where it came from */
        o->checkpoint = o->resume;
    if (cli_same_file(o->checkpoint, o->resume)) {
        r->checkpointed = 1;
        r->checkpoint_at = r->progress;
    }
    return MC_OK;
}

/*
 * --val, --early-stop and --plateau (as given, or as the checkpoint resumed keeps them):
 * the last two need the first; the syntax of --val and --plateau, before any data is read.
 */
static mc_status check_val_options(run *r, mc_error *err)
{
    const train_options *o = &r->o;
    const char *setting = NULL; /* the option a failure is about */
    int count;
    mc_status st = MC_OK;
    if (o->early_stop > 0 && !o->val)
        setting = "early-stop",
        st = mc_fail(err, MC_ERR_USAGE, "--early-stop needs --val N|F: the validation loss it "
                     "watches comes from images held out of the training set");
    else if (o->plateau && !o->val)
        setting = "plateau",
        st = mc_fail(err, MC_ERR_USAGE, "--plateau needs --val N|F: the validation loss it "
                     "watches comes from images held out of the training set");
    else if (o->val && (st = policy_val_count(o->val, INT_MAX, &count, err)))
        setting = "val";
    else if (o->plateau &&
             (st = policy_parse_plateau(o->plateau, &r->plateau_factor, &r->plateau_patience, err)))
        setting = "plateau";
    if (st && r->resumed) { /* the checkpoint's settings (they cannot change on resuming) */
        char why[sizeof err->msg], value[32];
        snprintf(why, sizeof why, "%s", err->msg);
        if (strcmp(setting, "early-stop") == 0)
            snprintf(value, sizeof value, "%d", o->early_stop);
        else
            snprintf(value, sizeof value, "%.31s",
                     strcmp(setting, "val") == 0 ? o->val : o->plateau);
        return mc_fail(err, MC_ERR_DATA, "%s: setting.%s = '%s' is not valid: %s", o->resume,
                       setting, value, why);
    }
    return st;
}

/* Moves the --val images out of the training set (after --train-limit) into r->val. */
static mc_status split_validation(run *r, mc_error *err)
{
    int count;
    mc_status st = policy_val_count(r->o.val, r->train.n, &count, err);
    if (!st)
        st = dataset_split(&r->train, count, train_options_val_seed(&r->o), &r->val, err);
    return st;
}

/*
 * A resumed run's validation state, from the checkpoint's metadata (policy_val_state_from_meta)
 * and its best.params, which must be there exactly when it names a best epoch; the plateau
 * multiplier goes to the trainer.
 */
static mc_status resume_val_state(run *r, mc_error *err)
{
    const char *path = r->o.resume;
    if (!r->val.n) {
        if (r->state.best)
            return mc_fail(err, MC_ERR_DATA, "%s: holds %s, but its run has no --val setting",
                           path, POLICY_BEST_TENSOR);
        return MC_OK;
    }
    mc_status st = policy_val_state_from_meta(&r->resume_meta, path, r->progress.epoch - 1,
                                              r->plateau_factor > 0, r->plateau_patience,
                                              &r->vs, err);
    if (st)
        return st;
    if ((r->vs.best_epoch > 0) != (r->state.best != NULL))
        return mc_fail(err, MC_ERR_DATA, "%s: %s = %d %s %s", path, POLICY_KEY_BEST_EPOCH,
                       r->vs.best_epoch, r->state.best ? "but it holds" : "but it lacks",
                       POLICY_BEST_TENSOR);
    return trainer_set_lr_scale(r->t, r->vs.lr_scale);
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
    r->w.progress = "auto";
    cli_option table[96];
    int n = options_table(o, &r->w, table);
    int rc = cli_parse(argc, argv, 2, table, n, synopsis, err);
    if (rc == CLI_HELP) {
        train_options_print_presets(stdout);
        *help = 1;
        return MC_OK;
    }
    if (rc)
        return (mc_status)rc;
    /* under mpirun each rank's stdout is a pseudo-terminal whatever mpirun's own is: auto
       cannot tell, so an MPI run draws the progress line only when told (on) */
    if (exchange_launched(r->x) && strcmp(r->w.progress, "auto") == 0)
        r->w.progress = "off";
    if ((st = console_init(&r->con, stdout, r->w.quiet, r->w.progress, err)))
        return st;
    r->progress.epoch = 1;
    rng_seed(&r->progress.shuffle_rng, train_options_shuffle_seed(o));
    if (o->resume && (st = load_resume(r, table, n, err)))
        return st;
    if (o->checkpoint_every > 0 && !o->checkpoint)
        return mc_fail(err, MC_ERR_USAGE, "--checkpoint-every needs --checkpoint FILE");
    r->vs = policy_val_start();
    r->epochs_done = r->progress.epoch - 1;
    if ((st = check_val_options(r, err)))
        return st;
    if ((st = check_outputs(o, r->w.log, err)))
        return st;
    int batch = 0;
    if (strcmp(o->batch, "full") != 0 &&
        (st = cli_parse_int("batch", o->batch, 1, 1 << 30, &batch, err)))
        return st;
    if (!r->resumed && (st = train_options_spec(o, 784, &r->spec, err))) /* names first */
        return st;
    train_config cfg;
    if ((st = train_options_config(o, batch, &cfg, err)))
        return st;
    if ((st = load_sets(o, &r->train, &r->test, err)))
        return st;
    if (o->predictions && r->test.n == 0)
        return mc_fail(err, MC_ERR_USAGE, "--predictions: the test set is empty");
    if (o->train_limit > 0)
        dataset_truncate(&r->train, o->train_limit);
    if (!r->resumed && (st = train_options_spec(o, dataset_dim(&r->train), &r->spec, err)))
        return st;
    if (o->checkpoint || r->resumed) /* before the --val split: it covers those images too */
        policy_data_fingerprint(&r->train, r->fingerprint, sizeof r->fingerprint);
    if (o->val && (st = split_validation(r, err)))
        return st;
    r->batch = batch > 0 ? batch : r->train.n;
    st = cli_open_devices(o->device, r->con.out, r->devices, &r->n_devices, err);
    /* every rank has its data and devices, or none goes on to the trainer's sums */
    if ((st = agree_setup(r, st, err)))
        return st;
    r->be = r->devices[0];
    cli_devices_name(r->devices, r->n_devices, r->device_names, sizeof r->device_names);
    if ((st = trainer_create_parallel(&r->t, r->devices, r->n_devices, r->x, &r->spec, &r->train,
                                      &r->test, &cfg, err)))
        return st;
    if (r->val.n && (st = trainer_set_validation(r->t, &r->val, err)))
        return st;
    char placed[256];
    if (!trainer_describe_data(r->t, placed, sizeof placed) && r->con.out)
        fprintf(r->con.out, "training set: %s\n", placed);
    if (r->resumed) {
        policy_data data = {r->fingerprint, r->train.n, r->batch, trainer_steps_per_epoch(r->t)};
        const char *recorded = st_meta_get(&r->resume_meta, POLICY_DATA_KEY);
        if ((st = policy_check_resume_progress(o->resume, recorded, &data, &r->progress,
                                               loss_limit(r), err)))
            return st;
        if ((st = policy_check_resume_epochs(o->epochs, o->resume, &r->progress, err)))
            return st;
        if ((st = policy_recorded_replicas(o->resume,
                                           st_meta_get(&r->resume_meta, POLICY_REPLICAS_KEY),
                                           &r->resumed_replicas, err)))
            return st;
        if ((st = resume_val_state(r, err)))
            return st;
    }
    size_t n_params = mlp_param_count(&r->spec), n_state = trainer_state_floats(r->t);
    if (!r->resumed) {
        r->params = malloc(n_params * sizeof(float));
        r->state.values = calloc(n_state, sizeof(float));
        r->state.floats = n_state;
        if (!r->params || !r->state.values)
            return mc_fail(err, MC_ERR_NOMEM, "out of memory for %zu parameters", n_params);
        if ((st = train_options_init_params(o, &r->spec, r->params, err)))
            return st;
    } else if (r->state.floats != n_state) {
        return mc_fail(err, MC_ERR_DATA,
                       "%s: the optimizer state holds %zu values; --optimizer %s keeps %zu",
                       o->resume, r->state.floats, o->optimizer, n_state);
    }
    if ((st = trainer_set_state(r->t, r->params, r->state.values)))
        return mc_fail(err, st, "uploading the parameters to %s failed: %s", r->device_names,
                       mc_status_name(st));
    return MC_OK;
}

/* The lines before the first epoch: what is trained on what, and the table's header. */
static void print_header(run *r)
{
    const train_options *o = &r->o;
    char shape[128];
    mlp_format_layers(&r->spec, shape, sizeof shape);
    if (r->resumed)
        say(r, "resuming %s at epoch %d, step %d\n", o->resume, r->progress.epoch,
               r->progress.step);
    const char *recorded = r->resumed ? st_meta_get(&r->resume_meta, "setting.epochs") : NULL;
    if (recorded && atoi(recorded) != o->epochs &&
        (strcmp(o->schedule, "cosine") == 0 || strcmp(o->schedule, "onecycle") == 0))
        say(r, "note: the %s schedule now spans %d epochs (the checkpoint's run: %s), so the "
               "rate from here on is not the one the run had planned\n",
               o->schedule, o->epochs, recorded);
    if (r->resumed && r->resumed_replicas != trainer_replicas(r->t))
        say(r, "note: the checkpoint's run summed each step's gradient over %d replica%s, this "
               "one over %d: the sums round differently, so from here on the run is not bit "
               "for bit the one it would have been\n",
               r->resumed_replicas, r->resumed_replicas == 1 ? "" : "s", trainer_replicas(r->t));
    if (o->preset)
        say(r, "preset %s\n", o->preset);
    say(r, "network %s, %s hidden, %s output, %zu parameters, init %s, seed %llu\n", shape,
           act_name(r->spec.hidden_act), output_name(r->spec.output), mlp_param_count(&r->spec),
           o->init, (unsigned long long)o->seed);
    char momentum[48] = ""; /* Adam has none */
    if (strncmp(o->optimizer, "adam", 4) != 0)
        snprintf(momentum, sizeof momentum, ", momentum %g", o->momentum);
    char val[64] = "";
    if (r->val.n)
        snprintf(val, sizeof val, ", %d validation", r->val.n);
    say(r, "data: %s, %d training%s and %d test images; batch %s, lr %g%s%s\n",
           o->train_csv ? o->train_csv : o->dataset, r->train.n, val, r->test.n, o->batch, o->lr,
           momentum, o->shuffle ? "" : ", file order");
    if (r->o.early_stop > 0 || r->plateau_factor > 0) {
        char stop[96] = "", plateau[128] = "";
        if (r->o.early_stop > 0)
            snprintf(stop, sizeof stop, "early stop after %d epoch%s without a lower "
                     "validation loss", r->o.early_stop, r->o.early_stop == 1 ? "" : "s");
        if (r->plateau_factor > 0)
            snprintf(plateau, sizeof plateau, "%slearning rate x%g after more than %d epoch%s "
                     "without a lower validation loss", stop[0] ? "; " : "", r->plateau_factor,
                     r->plateau_patience, r->plateau_patience == 1 ? "" : "s");
        say(r, "%s%s\n", stop, plateau);
    }
    char rule[256];
    if (train_options_describe_rule(o, rule, sizeof rule))
        say(r, "%s\n", rule);
    if (r->val.n)
        say(r, "%5s %9s %8s %9s %8s %8s %8s %10s\n", "epoch", "loss", "train%", "val_loss",
               "val%", "test%", "seconds", "images/s");
    else
        say(r, "%5s %9s %8s %8s %8s %10s\n", "epoch", "loss", "train%", "test%", "seconds",
               "images/s");
}

int cmd_train(int argc, char **argv)
{
    run r;
    memset(&r, 0, sizeof r);
    r.log.fd = -1; /* no --log (yet) */
    mc_error err = {{0}};
    int help = 0, rc;
    signals_ignore_pipe();
    /* from here a signal stops the run at its next step with the work saved (one during
       the set-up is acted on before the first step: the model is then the initial one) */
    signals_defer(1);
    r.x = exchange_world();
    mc_status st = prepare(&r, argc, argv, &help, &err);
    if (!st && !help && !r.o.plan && r.w.log && writes_files(&r))
        st = epoch_log_open(&r.log, r.w.log, r.resumed ? r.progress.epoch : 0, &err);
    if (!r.setup_failed) /* the set-up's last agreement (or, failed before it, its first) */
        st = agree_setup(&r, st, &err);
    if (st || help) {
        rc = r.quiet_error ? (int)st : cli_report(st, &err);
    } else if (r.o.plan) {
        trainer_print_plan(r.t, stdout);
        rc = 0;
    } else {
        r.agreed = 0; /* until an ending every rank shares (stop_on_signal, diverged, the end) */
        print_header(&r);
        rc = train_epochs(&r, &err);
    }
    if (rc && !r.agreed) /* this rank's failure alone: the others may wait for it in a sum */
        exchange_abort(r.x, rc);
    signals_defer(0);
    run_free(&r);
    return rc;
}
