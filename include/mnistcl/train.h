/* Training and evaluation of an MLP on any backend (mnistcl/backend.h, mnistcl/opencl.h). */
#ifndef MNISTCL_TRAIN_H
#define MNISTCL_TRAIN_H

#include <stdint.h>
#include <stdio.h>

#include "mnistcl/backend.h"
#include "mnistcl/status.h"
#include "mnistcl/dataset.h"
#include "mnistcl/mlp.h"
#include "mnistcl/rng.h"

/** The update rule (PyTorch's torch.optim formulas; docs/DESIGN.md "The update rule"). */
typedef enum {
    MC_OPT_SGD = 0,      /* SGD with momentum (momentum 0: plain SGD) */
    MC_OPT_NESTEROV = 1, /* SGD with Nesterov momentum */
    MC_OPT_ADAM = 2,     /* Adam, weight decay added to the gradient (L2) */
    MC_OPT_ADAMW = 3,    /* AdamW, decoupled weight decay */
} mc_optimizer;

/** How the learning rate moves over the run's steps (see train_config). */
typedef enum {
    MC_SCHEDULE_CONSTANT = 0,
    MC_SCHEDULE_STEP = 1,     /* times gamma every step_epochs epochs */
    MC_SCHEDULE_COSINE = 2,   /* cosine from lr down to final_lr at the run's end */
    MC_SCHEDULE_ONECYCLE = 3, /* PyTorch's OneCycleLR: lr/25 up to lr, then down to lr/25e4 */
} mc_schedule;

/** Hyper-parameters of a run. A zeroed config with batch, lr and shuffle set is plain SGD
 *  at a constant rate, without dropout or augmentation. */
typedef struct {
    int batch;          /* images per SGD step; 0 means the whole training set */
    float lr;           /* learning rate (the schedule's peak) */
    float momentum;     /* SGD momentum (0 = plain SGD) */
    float weight_decay; /* L2 penalty added to the gradient (AdamW: decoupled decay) */
    int shuffle;        /* reshuffle the training set every epoch */
    mc_optimizer optimizer;
    float beta1, beta2, eps; /* Adam / AdamW (PyTorch's defaults: 0.9, 0.999, 1e-8) */
    mc_schedule schedule;
    int epochs;         /* the run's length, which cosine and one-cycle schedules span */
    int warmup_steps;   /* linear warm-up steps (one-cycle: the rising phase, 0 = 30%) */
    int step_epochs;    /* MC_SCHEDULE_STEP: epochs between drops */
    float gamma;        /* MC_SCHEDULE_STEP: factor of each drop */
    float final_lr;     /* MC_SCHEDULE_COSINE: the rate at the run's end */
    float dropout;       /* inverted dropout of every hidden layer's units, in [0, 1) */
    float input_dropout; /* ... of the input pixels */
    uint64_t seed;       /* key of the dropout masks and the distortions (Philox4x32-10:
                            the same on every backend for the same step, row and unit) */
    int augment;         /* distort each training image anew every epoch: */
    float augment_shift;  /*  up to this many pixels each way, */
    float augment_rotate; /*  degrees, */
    float augment_scale;  /*  scaling by 1 +- this, */
    float augment_alpha, augment_sigma; /* Simard's elastic field (alpha 0: none) */
} train_config;

/** Sums over one pass. */
typedef struct {
    double loss;     /* mean per-image loss */
    double accuracy; /* share of images classified correctly, 0..1 */
    int images;
} pass_stats;

typedef struct trainer trainer;

/**
 * Uploads the training and test sets to be (once; they are never sent again), allocates
 * parameters, gradients, optimizer state and activations, and sets the parameters to 0.
 * train may be NULL for evaluation only. The shapes must agree: input size = image
 * pixels, every label below the output size. The training set's arrays (images, labels)
 * must stay valid and unchanged until trainer_destroy: a CPU device may read them in
 * place, and a set larger than the device is sent window by window from them
 * (docs/DESIGN.md "Datasets of any size"); the dataset struct itself is copied.
 */
mc_status trainer_create(trainer **out, backend *be, const mlp_spec *spec, const dataset *train,
                         const dataset *test, const train_config *cfg, mc_error *err);

/**
 * How the processes of a run combine their sums (the library's MPI support; opaque). NULL
 * everywhere means this process alone.
 */
typedef struct exchange exchange;

/**
 * A data-parallel trainer over n_backends devices of this process (and, with an exchange
 * of several processes, over every process's devices: G global replicas in all, this
 * process's taking the global numbers after those of the processes before it). Each
 * device gets a full trainer of the same network, data and config (the primary, on
 * backends[0], is the one returned); every trainer_* function acts on the whole group.
 * A step of B images gives global replica g its rows [g*B/G, (g+1)*B/G) (integer
 * division): each computes the gradient of its rows' loss / B, the host adds the
 * gradients of this process's devices in order (backends[0], [1], ...), the exchange adds
 * the processes' sums in rank order, and every replica applies that sum with the same
 * update, so the parameters stay identical, bit for bit, on every device. Evaluation
 * passes are split the same way (replica g: images [g*n/G, (g+1)*n/G)). A run is
 * repeatable bit for bit on the same devices, and equals the one-device run up to float
 * rounding (the gradient sums are grouped differently). One backend and no exchange (x
 * NULL or a single process) is exactly trainer_create. The batch must be at least G
 * (MC_ERR_USAGE: every replica needs rows; batch 1, the per-sample kernel, cannot be
 * split), and the devices must compute alike, as the update's bits must agree: one OpenCL
 * device model and driver (on every process), or all the CPU reference (MC_ERR_USAGE
 * otherwise). The backends stay the caller's (freed after the trainer).
 */
mc_status trainer_create_parallel(trainer **out, backend **backends, int n_backends,
                                  exchange *x, const mlp_spec *spec, const dataset *train,
                                  const dataset *test, const train_config *cfg, mc_error *err);

/** Global replicas of the trainer's group (devices x processes; 1 for trainer_create). */
int trainer_replicas(const trainer *t);

/**
 * Prints the plans the trainer made when it was created: the operations of one training
 * step in order (the backend's kernel for each, its launches, the shapes), the epoch's
 * shorter last step when there is one, and the evaluation pass over the test set.
 */
void trainer_print_plan(trainer *t, FILE *out);

/**
 * How the training set lives on the device, as one line into out (len bytes): resident
 * (uploaded once), split over several buffers or streamed in windows of the epoch's order
 * when it does not fit (docs/DESIGN.md "Datasets of any size"). Returns 1 when resident.
 */
int trainer_describe_data(const trainer *t, char *out, size_t len);

/** Frees the trainer and its buffers (not the backend); NULL is fine. */
void trainer_destroy(trainer *t);

/** Copies params (mlp_param_count floats, layout of mlp.h) to the device; zeroes the
 *  optimizer's state (momentum, Adam's moments). */
mc_status trainer_set_params(trainer *t, const float *params);

/** Copies the current parameters back to the host. */
mc_status trainer_get_params(trainer *t, float *params);

/**
 * Floats of optimizer state: mlp_param_count for SGD (the velocity, zeros without
 * momentum), twice that for Adam and AdamW (the first moments, then the second moments),
 * each in the parameters' flat layout.
 */
size_t trainer_state_floats(const trainer *t);

/** Sets parameters and optimizer state (a resumed run): mlp_param_count and
 *  trainer_state_floats floats. */
mc_status trainer_set_state(trainer *t, const float *params, const float *state);

/** Copies parameters and optimizer state back to the host. */
mc_status trainer_get_state(trainer *t, float *params, float *state);

/**
 * The learning rate step `step` (0-based, of the whole run: (epoch - 1) * steps per epoch
 * + step of the epoch) trains with: the schedule's, times the plateau multiplier.
 */
float trainer_lr_at(const trainer *t, long long step);

/** Sets the multiplier of the schedule's rate (reduce-on-plateau; 1 at creation). */
mc_status trainer_set_lr_scale(trainer *t, float scale);

/**
 * Sums the per-image losses and hits of the first `steps` steps of the current epoch
 * (read back from the device, added in double).
 */
mc_status trainer_partial_sums(trainer *t, int steps, double *loss_sum, long long *correct);

/**
 * Starts reading the sums of trainer_partial_sums without waiting (a progress display
 * during an epoch): enqueues, behind the steps enqueued so far, the sum of the per-image
 * losses and hits of the first `steps` steps of the current epoch (1 <= steps <= steps per
 * epoch) into a buffer of its own, and a non-blocking read of the two sums into the
 * trainer. Nothing waits; trainer_progress_result has them once trainer_finish has
 * returned after this call. A later request replaces this one.
 */
mc_status trainer_progress_request(trainer *t, int steps);

/**
 * The last trainer_progress_request's sums as a pass over its steps' images: mean loss,
 * accuracy, images. Valid once a trainer_finish has returned after the request; without
 * such a request an internal error (MC_ERR_RUNTIME, reported). The loss sum is added in
 * float on the device (trainer_partial_sums adds in double); images whose statistics
 * trainer_clear_stats zeroed count as loss 0 and no hit.
 */
mc_status trainer_progress_result(trainer *t, pass_stats *out);

/** Zeroes the per-image losses and hits of the current pass (a resumed, partial epoch). */
mc_status trainer_clear_stats(trainer *t);

/**
 * The first step of the current epoch among the first `steps` whose images' mean loss is
 * NaN, infinite or above loss_limit, or -1 when there is none.
 */
mc_status trainer_first_bad_step(trainer *t, int steps, double loss_limit, int *step);

/** Steps in one epoch. */
int trainer_steps_per_epoch(const trainer *t);

/**
 * Starts epoch `epoch` (1-based; it places the steps in the run, for the schedule, Adam's
 * bias corrections and the random streams): draws the permutation from r (identity when
 * shuffling is off) and uploads it. Nothing else crosses the bus during the epoch (but
 * the two sums of a trainer_progress_request).
 */
mc_status trainer_begin_epoch(trainer *t, int epoch, rng *r);

/** Runs SGD step `step` (0-based) of the epoch: forward, loss, backward, update. Enqueues only. */
mc_status trainer_step(trainer *t, int step);

/**
 * Runs steps [first, first + count) of the epoch, each as the step's plan says (with
 * batch 1, where the backend has the per-sample kernel, a few thousand images per
 * launch). Enqueues only.
 */
mc_status trainer_train_steps(trainer *t, int first, int count);

/** Waits until every step enqueued so far has run (the device is idle after it), and a
 *  trainer_progress_request's read with them. */
mc_status trainer_finish(trainer *t);

/** Mean loss of the images of step `step`, read back from the device (tests, progress). */
mc_status trainer_step_loss(trainer *t, int step, double *loss);

/** Ends the epoch: sums the per-image losses and hits on the device and reads the two sums. */
mc_status trainer_end_epoch(trainer *t, pass_stats *out);

/**
 * Gradient of the mean loss over training images [first, first + count) (in file order)
 * into grads (mlp_param_count floats); the mean loss into *loss. Changes no parameter.
 */
mc_status trainer_gradient(trainer *t, int first, int count, float *grads, double *loss);

/** Forward pass over the test set (train_set != 0: the training set) in chunks. */
mc_status trainer_evaluate(trainer *t, int train_set, pass_stats *out);

/**
 * Gives the trainer a validation set (images held out of the training set, e.g. by
 * dataset_split): uploaded once, like the other two, and planned as a third evaluation
 * pass (trainer_print_plan shows it). At most once per trainer, before the first epoch;
 * its shapes are checked as trainer_create checks the others. The trainer never trains on
 * it; what is done with its figures (early stopping, keeping the best weights) is the
 * caller's.
 */
mc_status trainer_set_validation(trainer *t, const dataset *val, mc_error *err);

/** Forward pass over the validation set: its mean loss and accuracy (MC_ERR_RUNTIME, an
 *  internal error, without one). Between epochs only: it reuses the per-image statistics. */
mc_status trainer_evaluate_validation(trainer *t, pass_stats *out);

/**
 * Output-layer values (softmax probabilities or sigmoid outputs) of `count` consecutive
 * images of a set starting at `first`, into out (count * classes floats).
 */
mc_status trainer_predict(trainer *t, int train_set, int first, int count, float *out);

#endif
