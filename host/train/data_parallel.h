/*
 * Data parallelism (data_parallel.c): a primary trainer holding the replicas of the other
 * devices of this process, and the exchange with the other processes. trainer.c calls
 * these from its public functions when t->group is set (dp_plan_step and dp_plan_pass
 * always: they plan a replica's share); every function here that sums over the ranks is
 * collective (every rank must call it, in the same order), except dp_progress_*.
 */
#ifndef MNISTCL_DATA_PARALLEL_H
#define MNISTCL_DATA_PARALLEL_H

#include "train/trainer_internal.h"

/** The group a primary holds (data_parallel.c). */
typedef struct dp_group dp_group;

/** Frees the group's replicas (not their backends) and buffers; NULL is fine. */
void dp_destroy(dp_group *g);

/** The plan of a step of `rows` images for t: plan_step alone, else the replica's share
 *  (plan_step_share). */
mc_status dp_plan_step(trainer *t, int rows, plan *p);

/** The evaluation pass over `set` for t: plan_evaluate alone, else the replica's range. */
mc_status dp_plan_pass(trainer *t, const device_set *set, plan *p);

/* The group's half of trainer_set_params, _set_state, _set_lr_scale, _clear_stats,
   _finish and _set_validation: the same on every replica after the primary. */
mc_status dp_set_params(trainer *t, const float *params);
mc_status dp_set_state(trainer *t, const float *params, const float *state);
mc_status dp_set_lr_scale(trainer *t, float scale);
mc_status dp_clear_stats(trainer *t);
mc_status dp_finish(trainer *t);
mc_status dp_set_validation(trainer *t, const dataset *val, mc_error *err);

/** The group's half of trainer_begin_epoch (the primary has begun): every replica draws
 *  the same permutation from `before` (the generator as the primary had it before its
 *  shuffle), and every replica's statistics are zeroed (each writes only its rows). */
mc_status dp_begin_epoch(trainer *t, int epoch, const rng *before);

/** trainer_train_steps of a group: each step's shares, the sum, the update. */
mc_status dp_train_steps(trainer *t, int first, int count);

/** trainer_end_epoch, _evaluate, _evaluate_validation of a group (which: 0 test set, 1
 *  training set, 2 validation set, 3 the epoch's training statistics). */
mc_status dp_pass_stats(trainer *t, int which, pass_stats *out);

/**
 * Per-image statistics at positions [first, first + n) of the training pass, merged over
 * the replicas (each holds its rows' values and zeros elsewhere: the elementwise sum is
 * exact) and the ranks: losses into loss, hits into hits (NULL: not read).
 */
mc_status dp_read_stats(trainer *t, int first, int n, float *loss, int32_t *hits);

/** trainer_progress_request / _result of a group: this process's replicas only (the
 *  progress line is this process's; no exchange, so ranks need not agree on when). */
mc_status dp_progress_request(trainer *t, int steps);
mc_status dp_progress_result(trainer *t, pass_stats *out);

/** Trainer i of this process's replicas (0: t itself), NULL past the last (tests). */
trainer *dp_local_trainer(trainer *t, int i);

/** The group's lines of trainer_print_plan: who takes which rows, how gradients meet. */
void dp_print_group(trainer *t, FILE *out);

#endif
