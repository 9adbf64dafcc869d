/*
 * The decisions a training run makes besides the arithmetic, as pure functions (no
 * printing, no files, no device) so that C unit tests reach them (tests/test_run_policy.c):
 * - divergence: the loss and parameter limits, the check of a state, and the report;
 * - the checkpoint schedule: where a slice of steps ends, when a checkpoint is due, what a
 *   stop or an epoch's end records;
 * - resuming: the training-data fingerprint, the checks of a checkpoint's progress against
 *   the data and --epochs;
 * - validation (--val, --early-stop, --plateau): the size of the held-out set, whether a
 *   validation loss improved, when patience runs out, the learning-rate multiplier, and
 *   that state as checkpoint metadata;
 * - the settings a checkpoint keeps ("setting.NAME" metadata, "setting.NAME.bytes" for a
 *   string that is not UTF-8) and the reading back of them. Parsing the values (ranges,
 *   names) is the caller's: `mnistcl train` runs them through its option table
 *   (host/cli/resume_settings.c).
 * `mnistcl train` (host/cli/cmd_train.c) prints what these decide; the texts built here
 * are the ones it prints.
 */
#ifndef MNISTCL_RUN_POLICY_H
#define MNISTCL_RUN_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "mnistcl/checkpoint.h"
#include "mnistcl/dataset.h"
#include "mnistcl/mlp.h"
#include "mnistcl/safetensors.h"
#include "mnistcl/status.h"

/* ---- divergence --------------------------------------------------------------------------- */

/*
 * Divergence: a mean loss that is not finite or above the loss limit, or a parameter (or
 * velocity) that is not finite or beyond the parameter limit. Healthy runs come nowhere
 * near either.
 * - softmax: the loss limit is 10 ln(classes) (the right class then gets under e^-23 of
 *   the probability on average; chance is ln(classes)); parameters up to 1e15 (products of
 *   two such overflow float32).
 * - sigmoid + squared error: the loss is bounded (at most 1 per image) and a ruined
 *   network scores lower than an untrained one, so only the parameters tell. A weight
 *   beyond 1e4 on inputs in [0, 1] puts its units' sums in the thousands: the sigmoids are
 *   exactly 0 or 1 in float32, their deltas stop moving the weights, and the network is
 *   stuck at chance for good (an lr of 1000 gets there in one epoch). Healthy runs stay
 *   below 100 (the botacademy preset ends near 5).
 */
#define POLICY_MAX_SANE_PARAM 1e15
#define POLICY_MAX_SANE_PARAM_SIGMOID_MSE 1e4

/**
 * The highest healthy mean loss per image: softmax 10 ln(classes) (classes below 2 count
 * as 2), sigmoid-MSE 1. A mean exactly at the limit is healthy.
 */
double policy_loss_limit(output_kind output, int classes);

/** The largest healthy parameter magnitude: 1e4 for sigmoid-MSE, else 1e15 (inclusive). */
double policy_param_limit(output_kind output);

/** Whether any of v[0..n) is NaN, infinite or of magnitude above limit (n = 0: no). */
int policy_values_insane(const float *v, size_t n, double limit);

/**
 * Whether a state has diverged: any of params or velocity (mlp_param_count(spec) floats
 * each) insane for the spec's parameter limit, or mean_loss NaN, infinite or above the
 * spec's loss limit.
 */
int policy_state_diverged(const mlp_spec *spec, const float *params, const float *velocity,
                          double mean_loss);

/**
 * What exploded, for the report: "a parameter reached X (limit L[ for sigmoid outputs:
 * they are saturated])" when the largest |param| is beyond the limit (or NaN), else
 * "the loss became NaN|infinite", else "the mean loss reached X (a guess scores G; limit
 * L)". Writes a NUL-terminated text of at most len bytes into out.
 */
void policy_divergence_reason(const mlp_spec *spec, const float *params, double mean_loss,
                              char *out, size_t len);

/** The facts of a divergence report. */
typedef struct {
    int epoch;            /* the epoch it happened in */
    int steps_done;       /* steps of that epoch done when it was noticed */
    int first_bad_step;   /* 0-based: the first whose mean loss broke the rules, or -1 */
    double mean_loss;     /* the mean loss of the step (or epoch) that was checked */
    double lr;            /* the run's learning rate */
    const char *checkpoint;       /* --checkpoint, or NULL */
    int checkpointed;             /* whether `checkpoint` holds a state of this run */
    train_progress checkpoint_at; /* which one (when checkpointed) */
} policy_divergence;

/**
 * The two lines `train` prints on stderr when a run diverges (each starting "mnistcl: ",
 * each ending in '\n'): where (at the first bad step, 1-based, else by steps_done), why
 * (policy_divergence_reason over params), the learning rate to lower, and what the
 * checkpoint holds (its epoch and step, or that none of this run was written; nothing
 * when there is no checkpoint). out: at least POLICY_DIVERGENCE_MESSAGE_MAX bytes for
 * the whole text; a shorter buffer gets it cut.
 */
#define POLICY_DIVERGENCE_MESSAGE_MAX 1024
void policy_divergence_message(const policy_divergence *d, const mlp_spec *spec,
                               const float *params, char *out, size_t len);

/* ---- steps, slices and the checkpoint schedule --------------------------------------------- */

/** Images the first `steps` steps of an epoch train on: steps * batch, at most set_images. */
long long policy_images_done(int steps, int batch, int set_images);

/** The mean of a loss sum over `images` images; 0 when images <= 0. */
double policy_mean_loss(double loss_sum, long long images);

/**
 * The step count (of an epoch of `steps`) after which the next checkpoint within the epoch
 * is due, from `step` steps done: the next multiple of every above step, or `steps` (the
 * epoch's end) when every <= 0 (no --checkpoint-every, or no --checkpoint). May exceed
 * steps: none is then due before the epoch's end.
 */
int policy_next_checkpoint(int step, int every, int steps);

/** Whether a checkpoint within the epoch is due after `step` steps: step is next_checkpoint
 *  and before the epoch's last step (the epoch's end has its own checkpoint). */
int policy_checkpoint_due(int step, int next_checkpoint, int steps);

/**
 * Where the slice of steps from `step` ends: step + slice, cut at next_checkpoint and at
 * the epoch's `steps`.
 */
int policy_slice_end(int step, int slice, int next_checkpoint, int steps);

/*
 * Steps are enqueued in slices; after each the trainer is waited for and a signal looked
 * for. Slices are sized to take about POLICY_SLICE_SECONDS, so a signal is acted on within
 * about that time, and the few waits per second cost nothing measurable.
 */
#define POLICY_SLICE_SECONDS 0.05

/**
 * The next slice's steps, from the last one (`done` of the `slice` planned, in `seconds`):
 * a slice cut short (done < slice) keeps its size; otherwise scaled towards
 * POLICY_SLICE_SECONDS (seconds <= 0: 8 times), at most 8 times larger or 2 times smaller
 * at once, at least 1 step, at most `steps`.
 */
int policy_next_slice(int slice, int done, double seconds, int steps);

/** Where a checkpoint written at the end of `epoch` resumes: epoch + 1, step 0, the shuffle
 *  generator as it is after that epoch's shuffle (shuffle_rng), no partial sums. */
train_progress policy_epoch_end_progress(int epoch, const rng *shuffle_rng);

/** Whether epoch's line is printed (and the test set evaluated): the first epoch of this
 *  invocation, every print_every-th, and the last (`epochs`). */
int policy_epoch_shown(int epoch, int first_epoch, int print_every, int epochs);

/* ---- stopping on a signal ----------------------------------------------------------------- */

/**
 * How far a run stopped by signal `signal_name` got, as the model's "stopped" metadata
 * and the "interrupted (...)" line say: "NAME in epoch E after step S of N" (step > 0) or
 * "NAME at the start of epoch E". Into out (len bytes, NUL-terminated).
 */
void policy_stop_description(const char *signal_name, const train_progress *p, int steps,
                             char *out, size_t len);

/**
 * Whether nothing was trained when a run stops at p: a fresh run (not resumed) at epoch
 * 1, step 0. Existing --save / --checkpoint files are then left as they are.
 */
int policy_nothing_trained(int resumed, const train_progress *p);

/* ---- resuming ------------------------------------------------------------------------------ */

/** Metadata key of the training data a checkpoint was made on. */
#define POLICY_DATA_KEY "data.train"

/**
 * Metadata key of the number of global replicas (devices x processes: trainer_replicas)
 * whose gradients the checkpoint's run summed at each step. A resume on another number is
 * allowed (the command line says where to run), with a note: the sums are grouped
 * differently, so the run is no longer bit for bit the uninterrupted one.
 */
#define POLICY_REPLICAS_KEY "data.replicas"

/**
 * The replicas a checkpoint recorded (recorded: its POLICY_REPLICAS_KEY, NULL when it has
 * none: 1, as every checkpoint before data parallelism): decimal digits, 1 .. 1048576;
 * else MC_ERR_DATA naming path.
 */
mc_status policy_recorded_replicas(const char *path, const char *recorded, int *replicas,
                                   mc_error *err);

/** Bytes policy_data_fingerprint needs at most. */
#define POLICY_FINGERPRINT_MAX 96

/**
 * The training set's fingerprint, "N images of RxC, crc32 X": a crc32 (zlib's) over its
 * pixels then its labels (none when it has none). Into out (len bytes, NUL-terminated).
 * `train` takes it of the set after --train-limit and before the --val split, so it
 * covers the validation images too; the split itself is re-derived on resume from the
 * seed and --val, both settings the checkpoint keeps.
 */
void policy_data_fingerprint(const dataset *d, char *out, size_t len);

/** Bytes of the pixels-then-labels stream policy_data_fingerprint gives one thread at once. */
#define POLICY_FINGERPRINT_PIECE ((size_t)64 << 20)

/**
 * policy_data_fingerprint with the stream cut into pieces of `piece` bytes, every
 * threads-th one taken by one of `threads` threads (1: all in order on the caller's), the
 * pieces' crc32s joined in order with crc32_combine: the same value for any piece size and
 * thread count. policy_data_fingerprint uses POLICY_FINGERPRINT_PIECE and min(online CPUs, 8)
 * threads (only as many as there are pieces).
 */
void policy_data_fingerprint_with(const dataset *d, size_t piece, int threads, char *out,
                                  size_t len);

/** The training data a resumed checkpoint is checked against. */
typedef struct {
    const char *fingerprint; /* policy_data_fingerprint of the (truncated) training set */
    int images;              /* images in it */
    int batch;               /* images per step */
    int steps;               /* steps per epoch */
} policy_data;

/**
 * Checks a resumed checkpoint's progress p against the data it is resumed on: the same
 * training set when the checkpoint recorded one (recorded: its POLICY_DATA_KEY, or NULL;
 * else MC_ERR_USAGE), a step inside the epoch (step < steps), sums that images of those
 * steps can have produced (correct <= images, loss_sum <= images * loss_limit); else
 * MC_ERR_DATA. Messages name path.
 */
mc_status policy_check_resume_progress(const char *path, const char *recorded,
                                       const policy_data *data, const train_progress *p,
                                       double loss_limit, mc_error *err);

/** Epochs a checkpoint at p has begun or finished: p->epoch with steps of it done, else
 *  the epoch before. */
int policy_epochs_done(const train_progress *p);

/**
 * Whether --epochs `epochs` can continue the checkpoint at p: at least
 * policy_epochs_done(p); else MC_ERR_USAGE naming path and the least that works.
 */
mc_status policy_check_resume_epochs(int epochs, const char *path, const train_progress *p,
                                     mc_error *err);

/* ---- the settings a checkpoint keeps ------------------------------------------------------- */

/** How a setting's value is held and written. */
typedef enum {
    SETTING_STRING, /* text, or unset (NULL: not stored) */
    SETTING_INT,    /* int, written "%d" */
    SETTING_FLAG,   /* 0 or 1, written "%d" */
    SETTING_FLOAT,  /* float, written "%.9g" (exact for a float) */
    SETTING_U64,    /* uint64_t, written "%llu" */
} setting_kind;

/** One setting: the train option of that name, and its kind. */
typedef struct {
    const char *name;
    setting_kind kind;
} policy_setting;

/** How many settings a checkpoint keeps. */
#define POLICY_N_SETTINGS 34

/**
 * The settings a checkpoint keeps, in the order they are written and read: dataset, data,
 * train-csv, test-csv, init, batch, epochs, train-limit, shuffle, lr, momentum,
 * weight-decay, seed, preset, val, early-stop, plateau, optimizer, beta1, beta2, eps,
 * schedule, warmup, step-epochs, gamma, final-lr, dropout, input-dropout, augment, shift,
 * rotate, scale, elastic-alpha, elastic-sigma. Each is the `train` option of the same
 * name.
 */
extern const policy_setting policy_settings[POLICY_N_SETTINGS];

/** A setting's value: the field of its kind counts. */
typedef struct {
    const char *text; /* SETTING_STRING */
    int integer;      /* SETTING_INT, SETTING_FLAG */
    float real;       /* SETTING_FLOAT */
    uint64_t u64;     /* SETTING_U64 */
} policy_value;

/** Metadata pairs policy_settings_to_meta writes at most (every string also as .bytes). */
#define POLICY_SETTINGS_META_MAX 48

/**
 * Whether option `name` may be given on the command line beside --resume: the ones that
 * say where to run and write (resume, epochs, device, save, checkpoint, checkpoint-every,
 * print-every, predictions, log, progress, quiet) and where the same data lives now
 * (data, train-csv, test-csv). Every other option's value is the checkpoint's.
 */
int policy_resume_may_change(const char *name);

/**
 * Writes text's bytes (up to its NUL) as lowercase hex digits into out: cap bytes at most,
 * NUL-terminated; a text too long for cap is cut at a whole byte.
 */
void policy_hex_encode(const char *text, char *out, size_t cap);

/**
 * Decodes hex digits (lowercase, as policy_hex_encode writes them) in place into the bytes
 * they spell, NUL-terminated. Returns 0, with s in an unspecified state, when s has an
 * odd length, a character that is not a lowercase hex digit, or spells a NUL byte.
 */
int policy_hex_decode_in_place(char *s);

/**
 * The settings as metadata: "setting.NAME" = the value, for each of policy_settings in
 * order (values[i] holding setting i); an unset string is left out; a string that is not
 * UTF-8 (metadata is JSON: its odd bytes would become U+FFFD) also goes, exactly, as hex
 * digits in "setting.NAME.bytes" right after it. Values longer than an st_meta value are
 * cut. Returns the count, at most POLICY_SETTINGS_META_MAX.
 */
int policy_settings_to_meta(const policy_value values[POLICY_N_SETTINGS], st_meta *meta);

/** A checkpoint's metadata: policy_settings_to_meta, then POLICY_DATA_KEY = fingerprint.
 *  Returns the count, at most POLICY_CHECKPOINT_META_MAX. */
#define POLICY_CHECKPOINT_META_MAX (POLICY_SETTINGS_META_MAX + 1)
int policy_checkpoint_meta(const policy_value values[POLICY_N_SETTINGS], const char *fingerprint,
                           st_meta *meta);

/**
 * Takes one setting read back: policy_settings[index] is to become `text` (NULL: a string
 * setting the checkpoint does not hold, to be unset). Returns MC_OK, or a failure with
 * why->msg saying what is wrong with the value (the caller's parser's message).
 */
typedef mc_status (*policy_setting_fn)(void *ctx, int index, const char *text, mc_error *why);

/**
 * Reads the settings back from a checkpoint's metadata (from `path`), in policy_settings
 * order: the text of "setting.NAME", or for a string the bytes "setting.NAME.bytes" spells
 * (decoded in place in meta, which is why meta is not const; the text passed points into
 * meta), goes to set(ctx, i, text). A string setting meta lacks goes as NULL; a number
 * it lacks is not passed (keeps its value). A .bytes entry that is not hex is MC_ERR_DATA;
 * a value set refuses is MC_ERR_DATA "PATH: setting.NAME = 'VALUE' is not valid: WHY"
 * (refusing a NULL: "PATH: setting.NAME cannot be unset: WHY"). Stops at the first
 * failure.
 */
mc_status policy_settings_from_meta(st_file *meta, const char *path, policy_setting_fn set,
                                    void *ctx, mc_error *err);

/* ---- validation: early stopping, the best weights, reduce-on-plateau ----------------------- */

/**
 * The images --val `text` holds out of a training set of `images`: a count N ("1000",
 * digits only) or a fraction F of the set ("0.1", a decimal number with a point, 0 < F < 1,
 * rounded to the nearest image). At least 1 and at most images - 1 (one is left to train
 * on); else MC_ERR_USAGE with a message naming --val. With images = INT_MAX only the
 * syntax is checked (before the data is read).
 */
mc_status policy_val_count(const char *text, int images, int *count, mc_error *err);

/** The default PATIENCE of --plateau FACTOR (PyTorch's ReduceLROnPlateau default). */
#define POLICY_PLATEAU_PATIENCE 2

/**
 * Reads --plateau "FACTOR[:PATIENCE]": 0 < FACTOR < 1, PATIENCE an integer from 0 to
 * 1000000 (default POLICY_PLATEAU_PATIENCE); else MC_ERR_USAGE naming --plateau.
 */
mc_status policy_parse_plateau(const char *text, double *factor, int *patience, mc_error *err);

/**
 * Whether validation loss `loss` improves on `best` (the lowest so far; INFINITY before
 * the first): strictly lower (PyTorch's mode min with threshold 0). NaN never does.
 */
int policy_val_improved(double loss, double best);

/**
 * Whether early stopping ends the run after `bad_epochs` epochs in a row without
 * improvement: patience > 0 (0: no early stopping) and bad_epochs >= patience.
 */
int policy_patience_exhausted(int bad_epochs, int patience);

/**
 * Whether reduce-on-plateau lowers the rate after `bad_epochs` epochs without improvement
 * since the best or the last reduction: more than `patience` of them (PyTorch's
 * num_bad_epochs > patience: with patience 2, the third such epoch lowers it).
 */
int policy_plateau_due(int bad_epochs, int patience);

/** The learning-rate multiplier after a reduction: scale * factor, in float. */
float policy_plateau_scale(float scale, double factor);

/** Where a run with a validation set stands (kept in its checkpoints). */
typedef struct {
    int best_epoch;       /* the epoch of the lowest validation loss; 0: none yet */
    double best_loss;     /* that loss (INFINITY while none) */
    double best_accuracy; /* that epoch's validation accuracy, 0..1 */
    int bad_epochs;       /* epochs since best_epoch (all of them while none): early stopping */
    int plateau_bad;      /* epochs without improvement since the best or the last
                             reduction: reduce-on-plateau (PyTorch's num_bad_epochs) */
    float lr_scale;       /* the learning-rate multiplier: 1, times FACTOR per reduction */
} policy_val_state;

/** The state before the first epoch: no best, no bad epochs, multiplier 1. */
policy_val_state policy_val_start(void);

/** What policy_val_epoch decided. */
typedef struct {
    int improved; /* a new best: keep this epoch's weights */
    int reduced;  /* the multiplier was lowered (s->lr_scale is the new one) */
    int stop;     /* early stopping: patience ran out */
} policy_val_decision;

/**
 * Takes the validation loss and accuracy of `epoch` into s: a new best (improved) resets
 * both counters; otherwise both count the epoch. With plateau_factor > 0, a plateau
 * (policy_plateau_due over plateau_patience) multiplies lr_scale by the factor and
 * restarts its counter. stop: policy_patience_exhausted(bad_epochs, early_stop).
 */
policy_val_decision policy_val_epoch(policy_val_state *s, int epoch, double loss,
                                     double accuracy, int early_stop, double plateau_factor,
                                     int plateau_patience);

/* Metadata keys of the state in a checkpoint (only with --val; the plateau's only with
 * --plateau), beside the tensor POLICY_BEST_TENSOR (the best epoch's parameters, flat,
 * once there is a best). */
#define POLICY_BEST_TENSOR "best.params"
#define POLICY_KEY_BEST_EPOCH "val.best_epoch"
#define POLICY_KEY_BEST_LOSS "val.best_loss"
#define POLICY_KEY_BEST_ACCURACY "val.best_accuracy"
#define POLICY_KEY_BAD_EPOCHS "val.epochs_without_improvement"
#define POLICY_KEY_LR_SCALE "plateau.lr_scale"
#define POLICY_KEY_PLATEAU_BAD "plateau.bad_epochs"
#define POLICY_VAL_META_MAX 6

/**
 * The state as metadata: best epoch, loss and accuracy ("%.17g": exact; the loss and
 * accuracy only once there is a best), epochs without improvement, and with `plateau` the
 * multiplier ("%.9g": exact) and its counter. Returns the count (at most
 * POLICY_VAL_META_MAX).
 */
int policy_val_state_to_meta(const policy_val_state *s, int plateau, st_meta *meta);

/**
 * Reads the state back from a checkpoint's metadata (from `path`), trusting nothing: every
 * key policy_val_state_to_meta writes must be there and well formed (plateau's only with
 * `plateau`, else the multiplier is 1), and the state must be one a run of
 * `epochs_finished` epochs can reach: best_epoch <= epochs_finished, bad_epochs =
 * epochs_finished - best_epoch, a best loss finite and >= 0, accuracy in [0, 1],
 * plateau_bad <= min(bad_epochs, plateau_patience), 0 < lr_scale <= 1. MC_ERR_DATA
 * naming path and the key otherwise.
 */
mc_status policy_val_state_from_meta(const st_file *meta, const char *path, int epochs_finished,
                                     int plateau, int plateau_patience, policy_val_state *s,
                                     mc_error *err);

#endif
