/* The planner (plan_build.c): the stages of a trainer's step, pass and prediction chunk. */
#ifndef MNISTCL_PLAN_BUILD_H
#define MNISTCL_PLAN_BUILD_H

#include "train/trainer_internal.h"

/**
 * One training step of `rows` images (t->batch, or fewer for an epoch's last step)
 * through t->index, forward, loss, backward and update; run with the position of the
 * step's first image. For batch 1 with the per-sample kernel, one run takes up to
 * p->steps_per_run steps. MC_ERR_NOMEM when the stage list cannot be allocated.
 */
mc_status plan_step(trainer *t, int rows, plan *p);

/**
 * The gradient of the mean loss over `count` training images in file order (through
 * t->identity) into t->grads, parameters untouched; run with the first image's position.
 */
mc_status plan_gradient(trainer *t, int count, plan *p);

/** A whole pass over `set`: losses and hits of every image, then their two sums; run at 0. */
mc_status plan_evaluate(trainer *t, const device_set *set, plan *p);

/**
 * A data-parallel replica's share of one training step of `total` images: the gradient of
 * the step's rows [row0, row0 + rows) through t->index (rows >= 0; 0: an empty plan) into
 * t->grads, the loss delta scaled by 1/total (so the shares' gradients add up to the
 * step's mean), their losses and hits at the step's positions row0 ... of the statistics,
 * dropout masks drawn for those rows; no update. Run with the step's first position, as
 * plan_step.
 */
mc_status plan_step_share(trainer *t, int total, int row0, int rows, plan *p);

/** The update of every parameter from t->grads by the step's rule (a data-parallel step's
 *  last stage, once the shares' gradients are summed into t->grads). */
mc_status plan_update(trainer *t, plan *p);

/**
 * Images [from, from + count) of `set` (count >= 0): losses and hits at their positions
 * in the statistics, then the two sums of that range into t->sums; run at 0. plan_evaluate
 * is the range [0, set->n).
 */
mc_status plan_evaluate_range(trainer *t, const device_set *set, int from, int count, plan *p);

/**
 * Output probabilities of `rows` (<= t->chunk_rows) consecutive images of `set` into
 * delta[L]; run with the first image's position.
 */
mc_status plan_predict(trainer *t, const device_set *set, int rows, plan *p);

#endif
