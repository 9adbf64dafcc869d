/*
 * The trainer's insides, shared by trainer.c (buffers, epochs, statistics) and the
 * planner (plan_build.c), which binds the stages of a step to these buffers once.
 * Tests reach the knobs below through trainer_create_with; programs use mnistcl/train.h.
 */
#ifndef MNISTCL_TRAINER_INTERNAL_H
#define MNISTCL_TRAINER_INTERNAL_H

#include "backend/backend_ops.h"
#include "mnistcl/train.h"
#include "train/plan.h"
#include "train/train_data.h"

/** How a trainer may be told to plan differently from its own choice (tests only). */
typedef struct {
    int chunk_rows;  /* rows per device pass (0 = sized from memory); a step larger than
                        this is computed in chunks whose gradients are accumulated */
    int unfused;     /* 1: no fused training steps: batch 1 through the general path, not
                        the per-sample kernel; the update always a stage of its own */
    int dense_input; /* 1: the first layer through gather + dense GEMMs even where the
                        backend prefers the pixel lists */
    int replica, replicas; /* data parallelism (trainer_create_parallel sets them): global
                              replica `replica` of `replicas` plans its share of each step
                              and of each evaluation pass; replicas 0 or 1: alone */
} trainer_knobs;

/** trainer_create, planned with the given knobs (NULL: none). */
mc_status trainer_create_with(trainer **out, backend *be, const mlp_spec *spec,
                              const dataset *train, const dataset *test,
                              const train_config *cfg, const trainer_knobs *knobs,
                              mc_error *err);

/**
 * Makes sure the training images of steps [step, step + count) of the current epoch are
 * where the step plans read them, and sets *steps_here (1 <= *steps_here <= count) to how
 * many of those steps, from `step` on, can run before the next call is due. Resident data
 * (the whole set in device buffers): nothing to do, *steps_here = count. Windowed data
 * (split or streamed, train_data.c): enqueues the window holding `step` (and the next one
 * ahead) and stops at the window's end. Call it before running a step plan for `step`,
 * after trainer_begin_epoch.
 */
mc_status trainer_data_ready(trainer *t, int step, int count, int *steps_here);

/**
 * trainer_create_parallel, planned with the given knobs (NULL: none; their replica fields
 * are set per replica).
 */
mc_status trainer_create_parallel_with(trainer **out, backend **backends, int n_backends,
                                       exchange *x, const mlp_spec *spec, const dataset *train,
                                       const dataset *test, const train_config *cfg,
                                       const trainer_knobs *knobs, mc_error *err);

/** The plan of step `step` of the epoch (t->tail for a shorter last step, else t->step). */
plan *trainer_plan_of_step(trainer *t, int step);

/**
 * Runs plan p (a step plan of t: t->step, t->tail, t->update) for `steps` consecutive
 * steps from step `step` of the current epoch, at the step's place in the run (its rule,
 * its random streams' counters). Enqueues only. trainer_train_steps runs its steps so.
 */
mc_status trainer_run_step_plan(trainer *t, plan *p, int step, int steps);

/**
 * This trainer's part of trainer_progress_request (steps checked): queues the sum of its
 * first `steps` steps' statistics and its read into progress_host (a replica's own, for
 * data_parallel.c).
 */
mc_status trainer_queue_progress(trainer *t, int steps);

/** One image set living on the device. */
typedef struct {
    buf *images; /* uint8 (n, dim) from element images_off (training set: see train_data) */
    size_t images_off;
    buf *labels; /* uint8 (n) */
    int n;
} device_set;

struct trainer {
    backend *be;
    const backend_ops *op;
    mlp_spec spec;
    train_config cfg;
    trainer_knobs knobs;
    update_rule rule;   /* cfg's optimiser for the whole run (its step values: plan_run) */
    lr_schedule schedule; /* the rate over the run (scale: reduce-on-plateau's multiplier) */
    int epoch;          /* the epoch in progress, 1-based (0 before the first) */
    int batch;          /* effective batch size (cfg.batch, or n_train when 0) */
    int image_rows, image_cols; /* the training images' shape (augment) */
    int chunk_rows;     /* rows of the activation buffers */
    size_t n_params;
    device_set train, test;
    device_set val;                 /* trainer_set_validation's set (n 0 without one) */
    buf *params, *grads, *state;   /* state: the rule's, state_slots x n_params floats */
    int state_slots;               /* 1 (SGD's velocity, zeros without momentum) or 2 (Adam) */
    buf *act[MLP_MAX_LAYERS + 1];   /* act[0] input batch, act[l+1] output of layer l */
    buf *dropped[MLP_MAX_LAYERS + 1]; /* with dropout, dropped[l] = act[l] ⊙ mask / (1-p),
                                       layer l's input (1 <= l < n_layers); act[l] keeps
                                       the activations for act' */
    buf *gauss;                     /* the elastic distortion's Gaussian (augment) */
    buf *delta[MLP_MAX_LAYERS + 1]; /* delta[l+1] = dLoss/d(pre-activation of layer l) */
    buf *labels;                    /* int32 labels of the chunk */
    buf *index;                     /* int32 permutation of the training set */
    buf *identity;                  /* int32 0..n-1, for evaluation */
    buf *stat_loss, *stat_correct;  /* per-image loss and hit of the current pass */
    buf *sums;                      /* [0] loss sum (float), [1] correct count (int32) */
    /* trainer_progress_request: the sums of the epoch's first progress_steps steps, on the
       device and read into progress_host without waiting; progress_state 0 none, 1 queued,
       2 read (a trainer_finish has returned since) */
    buf *progress_sums;
    union {
        float f;
        int32_t i;
    } progress_host[2];
    int progress_steps, progress_state;
    buf *seq_scratch;               /* per-sample kernel: activations and deltas */
    buf *grad_scratch;              /* sparse_grad's scratch (first layer) */
    buf *sparse_pixels;             /* the training images' nonzero pixels (pixel_lists) */
    buf *sparse_offsets;
    int sequential;                 /* steps run through the per-sample kernel (batch 1) */
    int sparse_input;               /* first layer through the pixel lists */
    plan step;                      /* one step of `batch` images */
    plan tail;                      /* the epoch's last step when it is shorter (else empty) */
    plan eval[2];                   /* a whole pass over the test [0] / training [1] set */
    plan eval_val;                  /* a whole pass over the validation set (if any) */
    /* data parallelism (data_parallel.c): the primary's group of replicas (NULL alone or
       in a replica); with knobs.replicas > 1 every trainer of the group has, instead of
       fused steps, its share's gradient in step/tail and this update */
    struct dp_group *group;
    plan update;
    int32_t *host_index;            /* the epoch's permutation (resident: uploaded as the
                                       index; windowed: the order the windows copy) */
    train_data data;                /* where the training images are (train_data.c) */
    unsigned long finish_gen;       /* trainer_finish calls that returned (staging reuse) */
};

#endif
