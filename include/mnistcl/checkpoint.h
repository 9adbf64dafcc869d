/*
 * Checkpoints: a model file (model_io.h, so `eval --model` reads it too) plus the
 * optimizer state and where training stood, to resume a run exactly:
 *   tensors   fc{l}.weight, fc{l}.bias, and the optimizer's state in the flat parameter
 *             layout: optimizer.velocity (SGD's momentum buffer) or optimizer.exp_avg and
 *             optimizer.exp_avg_sq (Adam's first and second moments, PyTorch's names)
 *   metadata  format=mnistcl-checkpoint, epoch, step, rng (the shuffle generator before
 *             the epoch's shuffle), epoch_loss_sum, epoch_correct, and the run's settings
 * Written atomically (st_save): a crash leaves the previous checkpoint intact.
 */
#ifndef MNISTCL_CHECKPOINT_H
#define MNISTCL_CHECKPOINT_H

#include "mnistcl/mlp.h"
#include "mnistcl/rng.h"
#include "mnistcl/safetensors.h"

/** Where a run stands. */
typedef struct {
    int epoch;          /* the epoch in progress, 1-based */
    int step;           /* steps of it already done */
    rng shuffle_rng;    /* the shuffle generator before this epoch's shuffle */
    double loss_sum;    /* sum of the per-image losses of those steps */
    long long correct;  /* images they classified correctly */
} train_progress;

/** What a run keeps beside its parameters: the optimizer's state, `floats` values,
 *  mlp_param_count (SGD's velocity) or twice that (Adam's first moments, then its second
 *  moments); and the best weights so far (tensor best.params; NULL: none). */
typedef struct {
    float *values;
    size_t floats;
    float *best; /* mlp_param_count floats, or NULL */
} optimizer_state;

/**
 * Writes a checkpoint. settings are the caller's name/value pairs describing the run
 * (hyper-parameters, data), stored as metadata for resuming.
 */
mc_status checkpoint_save(const char *path, const mlp_spec *spec, const float *params,
                          const optimizer_state *state, const train_progress *progress,
                          const st_meta *settings, int n_settings, mc_error *err);

/**
 * Reads a checkpoint: the network, its parameters and the optimizer's state (malloc'd),
 * the progress, and (when meta is not NULL) all metadata, for the caller's settings.
 */
mc_status checkpoint_load(const char *path, mlp_spec *spec, float **params,
                          optimizer_state *state, train_progress *progress, st_file *meta,
                          mc_error *err);

#endif
