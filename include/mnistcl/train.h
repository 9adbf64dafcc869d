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

/** Hyper-parameters of a run. */
typedef struct {
    int batch;          /* images per SGD step; 0 means the whole training set */
    float lr;           /* learning rate */
    float momentum;     /* SGD momentum (0 = plain SGD) */
    float weight_decay; /* L2 penalty added to the gradient */
    int shuffle;        /* reshuffle the training set every epoch */
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
 * pixels, every label below the output size.
 */
mc_status trainer_create(trainer **out, backend *be, const mlp_spec *spec, const dataset *train,
                         const dataset *test, const train_config *cfg, mc_error *err);

/**
 * Prints the plans the trainer made when it was created: the operations of one training
 * step in order (the backend's kernel for each, its launches, the shapes), the epoch's
 * shorter last step when there is one, and the evaluation pass over the test set.
 */
void trainer_print_plan(trainer *t, FILE *out);

/** Frees the trainer and its buffers (not the backend); NULL is fine. */
void trainer_destroy(trainer *t);

/** Copies params (mlp_param_count floats, layout of mlp.h) to the device; zeroes momentum. */
mc_status trainer_set_params(trainer *t, const float *params);

/** Copies the current parameters back to the host. */
mc_status trainer_get_params(trainer *t, float *params);

/** Sets parameters and optimizer velocity (a resumed run); both mlp_param_count floats. */
mc_status trainer_set_state(trainer *t, const float *params, const float *velocity);

/** Copies parameters and velocity back to the host. */
mc_status trainer_get_state(trainer *t, float *params, float *velocity);

/**
 * Sums the per-image losses and hits of the first `steps` steps of the current epoch
 * (read back from the device, added in double).
 */
mc_status trainer_partial_sums(trainer *t, int steps, double *loss_sum, long long *correct);

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
 * Starts an epoch: draws the permutation from r (identity when shuffling is off) and
 * uploads it. Nothing else crosses the bus during the epoch.
 */
mc_status trainer_begin_epoch(trainer *t, rng *r);

/** Runs SGD step `step` (0-based) of the epoch: forward, loss, backward, update. Enqueues only. */
mc_status trainer_step(trainer *t, int step);

/**
 * Runs steps [first, first + count) of the epoch, each as the step's plan says (with
 * batch 1, where the backend has the per-sample kernel, a few thousand images per
 * launch). Enqueues only.
 */
mc_status trainer_train_steps(trainer *t, int first, int count);

/** Waits until every step enqueued so far has run (the device is idle after it). */
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
 * Output-layer values (softmax probabilities or sigmoid outputs) of `count` consecutive
 * images of a set starting at `first`, into out (count * classes floats).
 */
mc_status trainer_predict(trainer *t, int train_set, int first, int count, float *out);

#endif
