/*
 * A plan: the ordered stages of one training step (or one evaluation pass, or one chunk of
 * predictions), chosen once from what the backend can do (backend_caps) and bound to the
 * trainer's buffers. Running a plan is a loop over its stages; per run only the position
 * of the step's first image in the pass (and, for the per-sample kernel, how many steps
 * one launch takes) changes, written into the fields each stage marked as moving.
 *
 *   plan_build.c   which stages a step, a pass or a prediction takes (the choices)
 *   plan.c         the stage list, running it, and printing it (`train --plan`)
 */
#ifndef MNISTCL_PLAN_H
#define MNISTCL_PLAN_H

#include <stdio.h>

#include "backend/backend_ops.h"

/**
 * One operation with its bound arguments. The fields that move with the step are named
 * by their byte offset inside the stage (0: none) and the value they hold at position 0:
 *   start     an image position in the index (gather, sparse_*, sequential): base + first
 *   loss/hits a per-image statistics offset (loss, output_step...):          base + first
 *   count     the number of steps one sequential launch takes:                 steps
 *   rule      an update rule: the rule at the run's step (plan_position)
 *   step      the run's step number of the first step, and the schedule
 *             (sequential, which computes each step's rule itself):          step, schedule
 *   step32    the run's step number as a random stream's counter (dropout):  step
 *   epoch     the epoch, 1-based, as a counter (augment):                    epoch
 */
typedef struct {
    op_kind op;
    op_args a;
    char role[96]; /* what the stage does in the step, for people ("layer 2 forward") */
    int chunk;     /* which chunk of rows the stage works on (0, 1, ...), -1 for none */
    unsigned start_at, loss_at, hits_at, count_at, rule_at, step_at, schedule_at, step32_at,
        epoch_at;
    int start_base;
    size_t loss_base, hits_base;
} stage;

typedef struct {
    stage *stages;
    int n, cap;
    int steps_per_run; /* consecutive steps one run may take: 1, or the per-sample
                          kernel's block of images */
    int rows;          /* images one step of the plan covers */
    int chunk;         /* the chunk the stages added now work on (-1: none); plan_add
                          records it, plan_print shows the first chunk's stages only */
    int chunks, chunk_rows, last_chunk_rows; /* how the rows are cut (for plan_print) */
    int oom;           /* a stage could not be added (no memory): the plan is unusable */
} plan;

/**
 * Appends a stage for `op` with zeroed arguments and the role printf-formatted; returns
 * it (valid until the next plan_add) or NULL when out of memory (then p->oom is set).
 */
stage *plan_add(plan *p, op_kind op, const char *role_fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Marks a field of s's arguments as moving with the step (see stage); the field's value
   now is its value at position 0. */
void stage_moves_start(stage *s, int *field);
void stage_moves_stats(stage *s, bref *loss, bref *hits);
void stage_moves_count(stage *s, int *field);
void stage_moves_rule(stage *s, update_rule *field);
void stage_moves_step(stage *s, int *step, lr_schedule *schedule);
void stage_moves_step32(stage *s, uint32_t *step); /* a random stream's counter word */
void stage_moves_epoch(stage *s, uint32_t *epoch);

/** Where in the run a training step stands: its step number and the rule's values there. */
typedef struct {
    int step;             /* of the whole run, 0-based */
    int epoch;            /* 1-based */
    update_rule rule;     /* update_rule_at(the run's rule, schedule, step) */
    lr_schedule schedule; /* the run's, with the plateau multiplier as it is now */
} plan_position;

/**
 * Runs the plan for the step whose first image is at position `first` of the pass,
 * covering `steps` consecutive steps (1 <= steps <= p->steps_per_run), the first at `pos`
 * in the run (NULL for a plan that updates nothing). Enqueues only.
 */
mc_status plan_run(backend *be, plan *p, int first, int steps, const plan_position *pos);

/** Runs one stage as bound. */
mc_status stage_run(backend *be, const stage *s);

/** Prints the stages: op, the backend's kernel and launches, role and shapes. */
void plan_print(FILE *out, backend *be, const plan *p);

/** Frees the stage list; the plan is then empty. */
void plan_free(plan *p);

#endif
