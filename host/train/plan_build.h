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
 * Output probabilities of `rows` (<= t->chunk_rows) consecutive images of `set` into
 * delta[L]; run with the first image's position.
 */
mc_status plan_predict(trainer *t, const device_set *set, int rows, plan *p);

#endif
