/*
 * The trainer: the network's buffers on the backend, the data uploaded once, epochs and
 * their statistics. What one step computes is its plan (plan_build.c), made when the
 * trainer is created; a step runs that plan at the step's position in the epoch.
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/augment.h"
#include "train/data_parallel.h"
#include "train/plan_build.h"
#include "train/trainer_internal.h"

#define ACTIVATION_BUDGET (64u << 20) /* bytes of activations + deltas per chunk */
#define MAX_CHUNK_ROWS 8192

static mc_status alloc_floats(trainer *t, size_t n, buf **out)
{
    return t->op->alloc(t->be, n * sizeof(float), out);
}

static mc_status upload_set(trainer *t, const dataset *set, device_set *out)
{
    size_t bytes = (size_t)set->n * dataset_dim(set);
    out->n = set->n;
    mc_status st = t->op->alloc(t->be, bytes, &out->images);
    if (!st)
        st = t->op->write(t->be, out->images, 0, set->images, bytes);
    if (!st)
        st = t->op->alloc(t->be, (size_t)set->n, &out->labels);
    if (st)
        return st;
    if (set->labels)
        return t->op->write(t->be, out->labels, 0, set->labels, (size_t)set->n);
    unsigned char *zeros = calloc((size_t)set->n, 1); /* unlabelled set: labels read as 0 */
    if (!zeros)
        return MC_ERR_NOMEM;
    st = t->op->write(t->be, out->labels, 0, zeros, (size_t)set->n);
    free(zeros);
    return st;
}

/* Checks that the network fits the data: input size, labels below the output size. */
static mc_status check_shapes(const mlp_spec *spec, const dataset *set, const char *which,
                              mc_error *err)
{
    if (!set)
        return MC_OK;
    if (spec->sizes[0] != dataset_dim(set))
        return mc_fail(err, MC_ERR_USAGE,
                       "the network takes %d inputs but the %s images have %dx%d = %d pixels",
                       spec->sizes[0], which, set->rows, set->cols, dataset_dim(set));
    if (set->labels && set->max_label >= spec->sizes[spec->n_layers])
        return mc_fail(err, MC_ERR_USAGE,
                       "the network has %d outputs but the %s set has label %d",
                       spec->sizes[spec->n_layers], which, set->max_label);
    return MC_OK;
}

mc_status trainer_create(trainer **out, backend *be, const mlp_spec *spec, const dataset *train,
                         const dataset *test, const train_config *cfg, mc_error *err)
{
    return trainer_create_with(out, be, spec, train, test, cfg, NULL, err);
}

_Static_assert((int)MC_OPT_SGD == UPDATE_SGD && (int)MC_OPT_NESTEROV == UPDATE_NESTEROV &&
                   (int)MC_OPT_ADAM == UPDATE_ADAM && (int)MC_OPT_ADAMW == UPDATE_ADAMW,
               "train.h's optimizers are kernel_interface.h's update kinds");
_Static_assert((int)MC_SCHEDULE_CONSTANT == SCHEDULE_CONSTANT &&
                   (int)MC_SCHEDULE_STEP == SCHEDULE_STEP &&
                   (int)MC_SCHEDULE_COSINE == SCHEDULE_COSINE &&
                   (int)MC_SCHEDULE_ONECYCLE == SCHEDULE_ONECYCLE,
               "train.h's schedules are kernel_interface.h's schedule kinds");

/*
 * The run's update rule and schedule from cfg (t->batch and the training set's size
 * known): checks the optimizer's settings and that the run's steps fit a step number.
 */
static mc_status rule_of_config(trainer *t, const train_config *cfg, mc_error *err)
{
    if (cfg->optimizer < MC_OPT_SGD || cfg->optimizer > MC_OPT_ADAMW)
        return mc_fail(err, MC_ERR_USAGE, "unknown optimizer %d", (int)cfg->optimizer);
    int adam = cfg->optimizer == MC_OPT_ADAM || cfg->optimizer == MC_OPT_ADAMW;
    if (cfg->optimizer == MC_OPT_NESTEROV && !(cfg->momentum > 0.0f))
        return mc_fail(err, MC_ERR_USAGE, "Nesterov momentum needs --momentum above 0");
    if (adam && !(cfg->beta1 >= 0.0f && cfg->beta1 < 1.0f && cfg->beta2 >= 0.0f &&
                  cfg->beta2 < 1.0f))
        return mc_fail(err, MC_ERR_USAGE, "--beta1 and --beta2 must be in [0, 1) (%g, %g)",
                       cfg->beta1, cfg->beta2);
    if (adam && !(cfg->eps > 0.0f))
        return mc_fail(err, MC_ERR_USAGE, "--eps must be above 0 (%g)", cfg->eps);
    if (cfg->schedule < MC_SCHEDULE_CONSTANT || cfg->schedule > MC_SCHEDULE_ONECYCLE)
        return mc_fail(err, MC_ERR_USAGE, "unknown schedule %d", (int)cfg->schedule);
    long long steps = trainer_steps_per_epoch(t);
    long long total = steps * (cfg->epochs > 0 ? cfg->epochs : 1);
    if ((cfg->schedule != MC_SCHEDULE_CONSTANT || cfg->warmup_steps > 0) && total > INT_MAX)
        return mc_fail(err, MC_ERR_USAGE,
                       "a schedule spans at most %d steps; this run has %lld (%lld a epoch)",
                       INT_MAX, total, steps);
    if (cfg->schedule == MC_SCHEDULE_STEP && cfg->step_epochs < 1)
        return mc_fail(err, MC_ERR_USAGE, "the step schedule needs a step of 1 epoch or more");
    t->rule = (update_rule){.kind = (update_kind)cfg->optimizer, .lr = cfg->lr,
                            .momentum = adam ? 0.0f : cfg->momentum,
                            .weight_decay = cfg->weight_decay, .beta1 = cfg->beta1,
                            .beta2 = cfg->beta2, .eps = cfg->eps, .moment2 = t->n_params};
    t->state_slots = adam ? 2 : 1;
    t->schedule = (lr_schedule){.kind = (schedule_kind)cfg->schedule, .lr = cfg->lr,
                                .final_lr = cfg->final_lr, .gamma = cfg->gamma, .scale = 1.0f,
                                .total_steps = total > INT_MAX ? INT_MAX : (int)total,
                                .warmup_steps = cfg->warmup_steps,
                                .every = (int)(cfg->step_epochs * steps > INT_MAX
                                                   ? INT_MAX
                                                   : cfg->step_epochs * steps)};
    return MC_OK;
}

/* Checks cfg's dropout and distortions (the augment op's limits, for the training images). */
static mc_status check_regularisers(const train_config *cfg, const dataset *train, mc_error *err)
{
    if (!(cfg->dropout >= 0.0f && cfg->dropout < 1.0f) ||
        !(cfg->input_dropout >= 0.0f && cfg->input_dropout < 1.0f))
        return mc_fail(err, MC_ERR_USAGE, "dropout rates must be in [0, 1) (--dropout %g, "
                       "--input-dropout %g)", cfg->dropout, cfg->input_dropout);
    if (!cfg->augment || !train)
        return MC_OK;
    if (!(cfg->augment_shift >= 0.0f && cfg->augment_shift <= 1e4f) ||
        !(cfg->augment_rotate >= 0.0f && cfg->augment_rotate <= 180.0f) ||
        !(cfg->augment_scale >= 0.0f && cfg->augment_scale <= 0.9f) ||
        !(cfg->augment_alpha >= 0.0f && cfg->augment_alpha <= 1e4f))
        return mc_fail(err, MC_ERR_USAGE,
                       "distortions out of range: shift %g (0 .. 10000 pixels), rotate %g (0 .. "
                       "180 degrees), scale %g (0 .. 0.9), elastic alpha %g (0 .. 10000)",
                       cfg->augment_shift, cfg->augment_rotate, cfg->augment_scale,
                       cfg->augment_alpha);
    if (cfg->augment_alpha > 0.0f &&
        !(cfg->augment_sigma > 0.0f && cfg->augment_sigma <= AUGMENT_MAX_RADIUS / 3.0f))
        return mc_fail(err, MC_ERR_USAGE, "--elastic-sigma %g: must be above 0 and at most %g",
                       cfg->augment_sigma, AUGMENT_MAX_RADIUS / 3.0);
    if ((long long)train->rows * train->cols > AUGMENT_MAX_PIXELS)
        return mc_fail(err, MC_ERR_USAGE, "--augment distorts images of up to %d pixels; these "
                       "are %dx%d", AUGMENT_MAX_PIXELS, train->rows, train->cols);
    return MC_OK;
}

/* Plans the step, the epoch's shorter last step and the evaluation passes (plan_build.c). */
static mc_status make_plans(trainer *t)
{
    mc_status st = MC_OK;
    if (t->train.n > 0) {
        st = dp_plan_step(t, t->batch, &t->step);
        int last = t->train.n % t->batch;
        if (!st && last)
            st = dp_plan_step(t, last, &t->tail);
        if (!st && t->knobs.replicas > 1)
            st = plan_update(t, &t->update);
    }
    if (!st && (t->train.n == 0 || t->data.passes))
        st = dp_plan_pass(t, &t->train, &t->eval[1]);
    if (!st)
        st = dp_plan_pass(t, &t->test, &t->eval[0]);
    return st;
}

mc_status trainer_create_with(trainer **out, backend *be, const mlp_spec *spec,
                              const dataset *train, const dataset *test,
                              const train_config *cfg, const trainer_knobs *knobs,
                              mc_error *err)
{
    mc_status st = check_shapes(spec, train, "training", err);
    if (!st)
        st = check_shapes(spec, test, "test", err);
    if (!st)
        st = check_regularisers(cfg, train, err);
    if (st)
        return st;
    trainer *t = calloc(1, sizeof *t);
    if (!t)
        return mc_fail(err, MC_ERR_NOMEM, "out of memory");
    t->be = be;
    t->op = be->ops;
    t->spec = *spec;
    t->cfg = *cfg;
    if (knobs)
        t->knobs = *knobs;
    t->train.n = train ? train->n : 0; /* trainer_steps_per_epoch, before the upload */
    t->image_rows = train ? train->rows : 0, t->image_cols = train ? train->cols : 0;
    t->n_params = mlp_param_count(spec);
    int n_train = train ? train->n : 0, n_test = test ? test->n : 0;
    t->batch = cfg->batch > 0 ? cfg->batch : n_train;
    if (train && t->batch > n_train) {
        int batch = t->batch;
        trainer_destroy(t);
        return mc_fail(err, MC_ERR_USAGE, "--batch %d is larger than the training set (%d images)",
                       batch, n_train);
    }
    if ((st = rule_of_config(t, cfg, err))) {
        trainer_destroy(t);
        return st;
    }
    size_t width_sum = 0;
    for (int l = 0; l <= spec->n_layers; l++)
        width_sum += (size_t)spec->sizes[l];
    size_t cap = ACTIVATION_BUDGET / (2 * sizeof(float) * width_sum);
    if (cap > MAX_CHUNK_ROWS)
        cap = MAX_CHUNK_ROWS;
    if (cap < 1)
        cap = 1;
    int want = t->batch > 1024 ? t->batch : 1024; /* evaluation wants big chunks too */
    int largest = n_train > n_test ? n_train : n_test;
    if (want > largest && largest > 0)
        want = largest;
    t->chunk_rows = (int)(want < (int)cap ? want : (int)cap);
    if (t->knobs.chunk_rows > 0)
        t->chunk_rows = t->knobs.chunk_rows;
    if (t->chunk_rows < 1)
        t->chunk_rows = 1;

    st = alloc_floats(t, t->n_params, &t->params);
    if (!st)
        st = alloc_floats(t, t->n_params, &t->grads);
    if (!st)
        st = alloc_floats(t, t->n_params * (size_t)t->state_slots, &t->state);
    for (int l = 0; !st && l <= spec->n_layers; l++) {
        size_t n = (size_t)t->chunk_rows * spec->sizes[l];
        st = alloc_floats(t, n, &t->act[l]);
        if (!st && l > 0)
            st = alloc_floats(t, n, &t->delta[l]);
        if (!st && train && cfg->dropout > 0.0f && l >= 1 && l < spec->n_layers)
            st = alloc_floats(t, n, &t->dropped[l]);
    }
    if (!st && train && cfg->augment && cfg->augment_alpha > 0.0f &&
        (st = augment_gauss_upload(be, cfg->augment_sigma, &t->gauss, err))) {
        trainer_destroy(t);
        return st;
    }
    if (!st)
        st = t->op->alloc(t->be, (size_t)t->chunk_rows * 4, &t->labels);
    if (!st && test && (st = upload_set(t, test, &t->test))) {
        int n = test->n;
        trainer_destroy(t);
        return mc_fail(err, st, "cannot upload the %d test images to %s%s", n, be->name,
                       st == MC_ERR_NOMEM ? " (out of memory: a test set must fit one buffer; "
                                            "only training sets are split or streamed)"
                                          : " (the error is printed above)");
    }
    size_t n_max = (size_t)(largest > 0 ? largest : 1);
    t->host_index = malloc(n_max * sizeof(int32_t));
    if (!st && !t->host_index)
        st = MC_ERR_NOMEM;
    if (!st)
        st = t->op->alloc(t->be, n_max * 4, &t->index);
    if (!st)
        st = t->op->alloc(t->be, n_max * 4, &t->identity);
    if (!st) {
        for (size_t i = 0; i < n_max; i++)
            t->host_index[i] = (int32_t)i;
        st = t->op->write(t->be, t->identity, 0, t->host_index, n_max * 4);
    }
    if (!st)
        st = t->op->alloc(t->be, n_max * 4, &t->stat_loss);
    if (!st)
        st = t->op->alloc(t->be, n_max * 4, &t->stat_correct);
    if (!st)
        st = t->op->alloc(t->be, 8, &t->sums);
    if (!st)
        st = t->op->alloc(t->be, 8, &t->progress_sums);
    /* the per-sample kernel and the pixel lists take the images as they are */
    int plain_input = !cfg->augment && !(cfg->input_dropout > 0.0f);
    t->sequential = t->batch == 1 && !t->knobs.unfused &&
                    spec->n_layers <= be->caps.sequential_max_layers && train && plain_input &&
                    !(cfg->dropout > 0.0f);
    if (!st && t->sequential)
        st = alloc_floats(t, seq_scratch_floats(spec), &t->seq_scratch);
    /* the output step fuses the last layer, so the first is separate only when L >= 2;
       train_data_place turns it off when the images are too many to list */
    t->sparse_input = train && be->caps.pixel_lists_first_layer && !t->knobs.dense_input &&
                      spec->n_layers >= 2 && plain_input;
    if (!st && train) {
        mc_error placing = {0};
        st = train_data_place(t, train, &placing);
        if (st && placing.msg[0]) {
            trainer_destroy(t);
            return mc_fail(err, st, "%s", placing.msg);
        }
    }
    /* also for batch 1: trainer_gradient takes the general path */
    if (!st && t->sparse_input)
        st = alloc_floats(t, sparse_grad_scratch(spec->sizes[0], spec->sizes[1]),
                          &t->grad_scratch);
    if (st) {
        trainer_destroy(t);
        return mc_fail(err, st, "cannot allocate the network's buffers on %s%s", be->name,
                       st == MC_ERR_NOMEM ? " (out of memory)" : " (the error is printed above)");
    }
    st = make_plans(t);
    if (st) {
        trainer_destroy(t);
        return mc_fail(err, st, "out of memory planning the training step");
    }
    *out = t;
    return MC_OK;
}

void trainer_destroy(trainer *t)
{
    if (!t)
        return;
    /* queued copies read host memory freed below (a window's staging, the group's gradient
       sum) or write into *t (the progress read): let them land first, whatever failed */
    t->op->finish(t->be);
    dp_destroy(t->group); /* the replicas (each waits for its own queue) */
    buf *all[] = {t->params,     t->grads,   t->state,     t->labels,       t->index,
                  t->identity,   t->stat_loss, t->stat_correct, t->sums, t->seq_scratch,
                  t->progress_sums, t->grad_scratch,
                  t->sparse_pixels, t->sparse_offsets,
                  t->train.images, t->train.labels, t->test.images, t->test.labels,
                  t->val.images, t->val.labels};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i])
            t->op->release(t->be, all[i]);
    if (t->gauss)
        t->op->release(t->be, t->gauss);
    for (int l = 0; l <= MLP_MAX_LAYERS; l++) {
        if (t->dropped[l])
            t->op->release(t->be, t->dropped[l]);
        if (t->act[l])
            t->op->release(t->be, t->act[l]);
        if (t->delta[l])
            t->op->release(t->be, t->delta[l]);
    }
    plan_free(&t->step);
    plan_free(&t->tail);
    plan_free(&t->eval[0]);
    plan_free(&t->eval[1]);
    plan_free(&t->eval_val);
    plan_free(&t->update);
    train_data_release(t);
    free(t->host_index);
    free(t);
}

mc_status trainer_set_params(trainer *t, const float *params)
{
    size_t bytes = t->n_params * sizeof(float), state_bytes = trainer_state_floats(t) * 4;
    mc_status st = t->op->write(t->be, t->params, 0, params, bytes);
    float *zeros = st ? NULL : calloc(trainer_state_floats(t), sizeof(float));
    if (!st && !zeros)
        st = MC_ERR_NOMEM;
    if (!st)
        st = t->op->write(t->be, t->state, 0, zeros, state_bytes);
    free(zeros);
    return !st && t->group ? dp_set_params(t, params) : st;
}

mc_status trainer_get_params(trainer *t, float *params)
{
    return t->op->read(t->be, t->params, 0, params, t->n_params * sizeof(float));
}

size_t trainer_state_floats(const trainer *t)
{
    return t->n_params * (size_t)t->state_slots;
}

mc_status trainer_set_state(trainer *t, const float *params, const float *state)
{
    size_t bytes = t->n_params * sizeof(float);
    mc_status st = t->op->write(t->be, t->params, 0, params, bytes);
    if (!st)
        st = t->op->write(t->be, t->state, 0, state, trainer_state_floats(t) * 4);
    return !st && t->group ? dp_set_state(t, params, state) : st;
}

mc_status trainer_get_state(trainer *t, float *params, float *state)
{
    size_t bytes = t->n_params * sizeof(float);
    mc_status st = t->op->read(t->be, t->params, 0, params, bytes);
    return st ? st : t->op->read(t->be, t->state, 0, state, trainer_state_floats(t) * 4);
}

/* The run's step number of step `step` of the current epoch (clamped to int: past that
   only a constant rate, whose bias corrections are long 1, runs). */
static int run_step(const trainer *t, int step)
{
    long long n = (long long)(t->epoch > 0 ? t->epoch - 1 : 0) * trainer_steps_per_epoch(t) + step;
    return n > INT_MAX ? INT_MAX : (int)n;
}

float trainer_lr_at(const trainer *t, long long step)
{
    int s = step > INT_MAX ? INT_MAX : step < 0 ? 0 : (int)step;
    return update_rule_at(t->rule, &t->schedule, s).lr;
}

mc_status trainer_set_lr_scale(trainer *t, float scale)
{
    if (!(scale > 0.0f) || !isfinite(scale)) {
        fprintf(stderr, "mnistcl: internal error: trainer_set_lr_scale: needs a finite scale "
                        "above 0 (scale %g)\n", scale);
        return MC_ERR_RUNTIME;
    }
    t->schedule.scale = scale;
    return t->group ? dp_set_lr_scale(t, scale) : MC_OK;
}

/* Images covered by the first `steps` steps of an epoch. */
static int images_in_steps(const trainer *t, int steps)
{
    long long n = (long long)steps * t->batch;
    return n < t->train.n ? (int)n : t->train.n;
}

/* Per-image statistics [first, first + n) of the training pass (hits may be NULL): the
   device's, or merged over a data-parallel group's replicas (dp_read_stats). */
static mc_status read_stats(trainer *t, int first, int n, float *loss, int32_t *hits)
{
    if (t->group)
        return dp_read_stats(t, first, n, loss, hits);
    mc_status st = t->op->read(t->be, t->stat_loss, (size_t)first * 4, loss, (size_t)n * 4);
    if (!st && hits)
        st = t->op->read(t->be, t->stat_correct, (size_t)first * 4, hits, (size_t)n * 4);
    return st;
}

mc_status trainer_partial_sums(trainer *t, int steps, double *loss_sum, long long *correct)
{
    int n = images_in_steps(t, steps);
    float *l = malloc((size_t)n * sizeof(float) + 1);
    int32_t *c = malloc((size_t)n * sizeof(int32_t) + 1);
    mc_status st = l && c ? MC_OK : MC_ERR_NOMEM;
    if (!st)
        st = read_stats(t, 0, n, l, c);
    *loss_sum = 0, *correct = 0;
    for (int i = 0; !st && i < n; i++)
        *loss_sum += l[i], *correct += c[i];
    free(l), free(c);
    return st;
}

mc_status trainer_progress_request(trainer *t, int steps)
{
    int per_epoch = trainer_steps_per_epoch(t);
    if (steps < 1 || steps > per_epoch) {
        fprintf(stderr, "mnistcl: internal error: trainer_progress_request: needs 1 <= steps "
                        "<= %d steps per epoch (steps %d)\n", per_epoch, steps);
        return MC_ERR_RUNTIME;
    }
    return t->group ? dp_progress_request(t, steps) : trainer_queue_progress(t, steps);
}

mc_status trainer_queue_progress(trainer *t, int steps)
{
    sum_args a = {bref_at(t->progress_sums, 0), bref_at(t->progress_sums, 1),
                  bref_at(t->stat_loss, 0), bref_at(t->stat_correct, 0),
                  images_in_steps(t, steps)};
    mc_status st = t->op->sum(t->be, &a);
    if (!st)
        st = t->op->read_async(t->be, t->progress_sums, 0, t->progress_host,
                               sizeof t->progress_host);
    t->progress_steps = steps;
    t->progress_state = st ? 0 : 1;
    return st;
}

mc_status trainer_progress_result(trainer *t, pass_stats *out)
{
    if (t->group)
        return dp_progress_result(t, out);
    if (t->progress_state != 2) {
        fprintf(stderr, "mnistcl: internal error: trainer_progress_result: no "
                        "trainer_progress_request %s\n",
                t->progress_state ? "has been followed by trainer_finish yet" : "was made");
        return MC_ERR_RUNTIME;
    }
    int n = images_in_steps(t, t->progress_steps);
    out->images = n;
    out->loss = (double)t->progress_host[0].f / n;
    out->accuracy = (double)t->progress_host[1].i / n;
    return MC_OK;
}

mc_status trainer_clear_stats(trainer *t)
{
    size_t bytes = t->stat_loss->bytes;
    void *zeros = calloc(1, bytes);
    if (!zeros)
        return MC_ERR_NOMEM;
    mc_status st = t->op->write(t->be, t->stat_loss, 0, zeros, bytes);
    if (!st)
        st = t->op->write(t->be, t->stat_correct, 0, zeros, bytes);
    free(zeros);
    return !st && t->group ? dp_clear_stats(t) : st;
}

mc_status trainer_first_bad_step(trainer *t, int steps, double loss_limit, int *step)
{
    int n = images_in_steps(t, steps);
    float *l = malloc((size_t)n * sizeof(float) + 1);
    if (!l)
        return MC_ERR_NOMEM;
    mc_status st = read_stats(t, 0, n, l, NULL);
    *step = -1;
    for (int s = 0; !st && s * t->batch < n; s++) {
        int first = s * t->batch, last = first + t->batch < n ? first + t->batch : n;
        double sum = 0;
        for (int i = first; i < last; i++)
            sum += l[i];
        double mean = sum / (last - first);
        if (!isfinite(mean) || mean > loss_limit) {
            *step = s;
            break;
        }
    }
    free(l);
    return st;
}

int trainer_steps_per_epoch(const trainer *t)
{
    return t->batch > 0 ? (t->train.n + t->batch - 1) / t->batch : 0;
}

mc_status trainer_begin_epoch(trainer *t, int epoch, rng *r)
{
    if (epoch < 1) {
        fprintf(stderr, "mnistcl: internal error: trainer_begin_epoch: epochs count from 1 "
                        "(epoch %d)\n", epoch);
        return MC_ERR_RUNTIME;
    }
    /* windows still being copied read host_index: let them land before it changes */
    mc_status st = t->data.windowed ? trainer_finish(t) : MC_OK;
    if (st)
        return st;
    t->epoch = epoch;
    rng before = *r; /* a data-parallel group's replicas draw the same permutation */
    for (int i = 0; i < t->train.n; i++)
        t->host_index[i] = i;
    if (t->cfg.shuffle)
        rng_shuffle(r, t->host_index, (size_t)t->train.n);
    st = train_data_begin_epoch(t);
    return !st && t->group ? dp_begin_epoch(t, epoch, &before) : st;
}

plan *trainer_plan_of_step(trainer *t, int step)
{
    int shorter_last = t->batch > 0 && t->train.n % t->batch != 0;
    return shorter_last && step == trainer_steps_per_epoch(t) - 1 ? &t->tail : &t->step;
}

mc_status trainer_run_step_plan(trainer *t, plan *p, int step, int steps)
{
    plan_position pos = {run_step(t, step), t->epoch, t->rule, t->schedule};
    pos.rule = update_rule_at(t->rule, &t->schedule, pos.step);
    return plan_run(t->be, p, step * t->batch, steps, &pos);
}

mc_status trainer_train_steps(trainer *t, int first, int count)
{
    if (t->group)
        return dp_train_steps(t, first, count);
    mc_status st = MC_OK;
    for (int done = 0, k; !st && done < count; done += k) {
        int step = first + done;
        plan *p = trainer_plan_of_step(t, step);
        if ((st = trainer_data_ready(t, step, count - done, &k)))
            break;
        if (k > p->steps_per_run)
            k = p->steps_per_run;
        st = trainer_run_step_plan(t, p, step, k);
    }
    return st;
}

mc_status trainer_step(trainer *t, int step)
{
    return trainer_train_steps(t, step, 1);
}

/*
 * Passes over the training set in file order (evaluate, predict, gradient) read its
 * images through the identity: they need them resident in one buffer. Says so (usage
 * error) when they are not.
 */
static mc_status need_train_passes(const trainer *t, const char *what)
{
    if (t->train.n == 0 || t->data.passes)
        return MC_OK;
    char where[256];
    train_data_describe(t, where, sizeof where);
    fprintf(stderr, "mnistcl: %s: a pass over the whole training set needs its images resident "
                    "on %s, and %s; evaluate those images as a test set instead\n",
            what, t->be->name, where);
    return MC_ERR_USAGE;
}

mc_status trainer_gradient(trainer *t, int first, int count, float *grads, double *loss)
{
    if (need_train_passes(t, "trainer_gradient"))
        return MC_ERR_USAGE;
    if (first < 0 || count < 1 || first + count > t->train.n) {
        fprintf(stderr,
                "mnistcl: internal error: trainer_gradient: needs 0 <= first, 1 <= count, "
                "first + count <= %d training images (first %d, count %d)\n",
                t->train.n, first, count);
        return MC_ERR_RUNTIME;
    }
    plan p;
    mc_status st = plan_gradient(t, count, &p);
    if (!st)
        st = plan_run(t->be, &p, first, 1, &(plan_position){0, 1, t->rule, t->schedule});
    plan_free(&p);
    float *l = st ? NULL : malloc((size_t)count * sizeof(float));
    if (!st && !l)
        st = MC_ERR_NOMEM;
    if (!st)
        st = t->op->read(t->be, t->stat_loss, (size_t)first * 4, l, (size_t)count * 4);
    if (!st)
        st = t->op->read(t->be, t->grads, 0, grads, t->n_params * sizeof(float));
    double sum = 0;
    for (int i = 0; !st && i < count; i++)
        sum += l[i];
    *loss = sum / count;
    free(l);
    return st;
}

mc_status trainer_finish(trainer *t)
{
    mc_status st = t->op->finish(t->be);
    if (!st && t->progress_state == 1)
        t->progress_state = 2;
    if (!st)
        t->finish_gen++;
    return !st && t->group ? dp_finish(t) : st;
}

mc_status trainer_step_loss(trainer *t, int step, double *loss)
{
    int first = step * t->batch;
    int rows = t->train.n - first < t->batch ? t->train.n - first : t->batch;
    float *l = malloc((size_t)rows * sizeof(float));
    if (!l)
        return MC_ERR_NOMEM;
    mc_status st = read_stats(t, first, rows, l, NULL);
    double s = 0;
    for (int i = 0; i < rows; i++)
        s += l[i];
    *loss = s / rows;
    free(l);
    return st;
}

/* Reads the two sums of a pass over n images (computed by a sum operation) into out. */
static mc_status read_sums(trainer *t, int n, pass_stats *out)
{
    union {
        float f;
        int32_t i;
    } sums[2];
    mc_status st = t->op->read(t->be, t->sums, 0, sums, sizeof sums);
    if (st)
        return st;
    out->images = n;
    out->loss = n ? sums[0].f / n : 0.0;
    out->accuracy = n ? (double)sums[1].i / n : 0.0;
    return MC_OK;
}

mc_status trainer_end_epoch(trainer *t, pass_stats *out)
{
    if (t->group)
        return dp_pass_stats(t, 3, out);
    sum_args a = {bref_at(t->sums, 0), bref_at(t->sums, 1), bref_at(t->stat_loss, 0),
                  bref_at(t->stat_correct, 0), t->train.n};
    mc_status st = t->op->sum(t->be, &a);
    return st ? st : read_sums(t, t->train.n, out);
}

mc_status trainer_evaluate(trainer *t, int train_set, pass_stats *out)
{
    if (train_set && need_train_passes(t, "trainer_evaluate"))
        return MC_ERR_USAGE;
    if (t->group)
        return dp_pass_stats(t, train_set ? 1 : 0, out);
    mc_status st = plan_run(t->be, &t->eval[train_set ? 1 : 0], 0, 1, NULL);
    return st ? st : read_sums(t, train_set ? t->train.n : t->test.n, out);
}

/*
 * Makes the per-pass buffers (identity, per-image statistics, host index) hold n images
 * when they hold fewer, and plans again, as the plans are bound to those buffers.
 */
static mc_status grow_pass_buffers(trainer *t, int n)
{
    size_t have = t->identity->bytes / 4;
    if ((size_t)n <= have)
        return MC_OK;
    buf *identity = NULL, *loss = NULL, *correct = NULL;
    int32_t *host = malloc((size_t)n * sizeof *host);
    mc_status st = host ? MC_OK : MC_ERR_NOMEM;
    if (!st)
        st = t->op->alloc(t->be, (size_t)n * 4, &identity);
    if (!st)
        st = t->op->alloc(t->be, (size_t)n * 4, &loss);
    if (!st)
        st = t->op->alloc(t->be, (size_t)n * 4, &correct);
    for (int i = 0; !st && i < n; i++)
        host[i] = i;
    if (!st)
        st = t->op->write(t->be, identity, 0, host, (size_t)n * 4);
    if (st) {
        buf *made[] = {identity, loss, correct};
        for (int k = 0; k < 3; k++)
            if (made[k])
                t->op->release(t->be, made[k]);
        free(host);
        return st;
    }
    t->op->release(t->be, t->identity);
    t->op->release(t->be, t->stat_loss);
    t->op->release(t->be, t->stat_correct);
    free(t->host_index);
    t->identity = identity, t->stat_loss = loss, t->stat_correct = correct;
    t->host_index = host;
    plan_free(&t->step);
    plan_free(&t->tail);
    plan_free(&t->eval[0]);
    plan_free(&t->eval[1]);
    plan_free(&t->update);
    return make_plans(t);
}

mc_status trainer_set_validation(trainer *t, const dataset *val, mc_error *err)
{
    if (t->val.images)
        return mc_fail(err, MC_ERR_RUNTIME,
                       "internal: trainer_set_validation: the trainer has a validation set");
    mc_status st = check_shapes(&t->spec, val, "validation", err);
    if (st)
        return st;
    if (val->n < 1)
        return mc_fail(err, MC_ERR_USAGE, "the validation set is empty");
    st = grow_pass_buffers(t, val->n);
    if (!st)
        st = upload_set(t, val, &t->val);
    if (!st)
        st = dp_plan_pass(t, &t->val, &t->eval_val);
    if (st)
        return mc_fail(err, st, "cannot upload the %d validation images to %s%s", val->n,
                       t->be->name,
                       st == MC_ERR_NOMEM ? " (out of memory)" : " (the error is printed above)");
    return t->group ? dp_set_validation(t, val, err) : MC_OK;
}

mc_status trainer_evaluate_validation(trainer *t, pass_stats *out)
{
    if (!t->val.n) {
        fprintf(stderr, "mnistcl: internal error: trainer_evaluate_validation: the trainer has "
                        "no validation set (trainer_set_validation)\n");
        return MC_ERR_RUNTIME;
    }
    if (t->group)
        return dp_pass_stats(t, 2, out);
    mc_status st = plan_run(t->be, &t->eval_val, 0, 1, NULL);
    return st ? st : read_sums(t, t->val.n, out);
}

mc_status trainer_predict(trainer *t, int train_set, int first, int count, float *out)
{
    if (train_set && need_train_passes(t, "trainer_predict"))
        return MC_ERR_USAGE;
    const device_set *set = train_set ? &t->train : &t->test;
    const mlp_spec *s = &t->spec;
    int classes = s->sizes[s->n_layers];
    if (first < 0 || count < 0 || first + count > set->n) {
        fprintf(stderr,
                "mnistcl: internal error: trainer_predict: needs images [first, first + count) "
                "within the set's %d (first %d, count %d)\n",
                set->n, first, count);
        return MC_ERR_RUNTIME;
    }
    mc_status st = MC_OK;
    plan p = {0};
    for (int done = 0; !st && done < count; done += t->chunk_rows) {
        int rows = count - done < t->chunk_rows ? count - done : t->chunk_rows;
        if (rows != p.rows) { /* every chunk but the last is chunk_rows long */
            plan_free(&p);
            st = plan_predict(t, set, rows, &p);
        }
        if (!st)
            st = plan_run(t->be, &p, first + done, 1, NULL);
        if (!st)
            st = t->op->read(t->be, t->delta[s->n_layers], 0, out + (size_t)done * classes,
                             (size_t)rows * classes * sizeof(float));
    }
    plan_free(&p);
    return st;
}

int trainer_describe_data(const trainer *t, char *out, size_t len)
{
    train_data_describe(t, out, len);
    return !t->data.windowed;
}

void trainer_print_plan(trainer *t, FILE *out)
{
    char layers[256];
    mlp_format_layers(&t->spec, layers, sizeof layers);
    int steps = trainer_steps_per_epoch(t);
    fprintf(out, "network %s %s/%s, %zu parameters, on %s\n", layers, act_name(t->spec.hidden_act),
            output_name(t->spec.output), t->n_params, t->be->name);
    fprintf(out, "activations in chunks of up to %d rows\n", t->chunk_rows);
    if (t->train.n > 0) {
        char where[256];
        train_data_describe(t, where, sizeof where);
        fprintf(out, "training set: %s\n", where);
    }
    if (t->group)
        dp_print_group(t, out);
    fputc('\n', out);
    if (t->train.n > 0) {
        if (t->step.steps_per_run > 1)
            fprintf(out,
                    "one training step: 1 image (%d steps an epoch; one launch takes up to %d "
                    "consecutive steps)\n",
                    steps, t->step.steps_per_run);
        else if (t->knobs.replicas > 1)
            fprintf(out, "one training step: %d images (%d step%s an epoch), this replica's "
                    "share %d\n", t->batch, steps, steps == 1 ? "" : "s", t->step.rows);
        else
            fprintf(out, "one training step: %d images (%d step%s an epoch)\n", t->batch, steps,
                    steps == 1 ? "" : "s");
        plan_print(out, t->be, &t->step);
        if (t->tail.n) {
            fprintf(out, "\nthe epoch's last step: %d images%s\n", t->tail.rows,
                    t->knobs.replicas > 1 ? " (this replica's share)" : "");
            plan_print(out, t->be, &t->tail);
        }
        if (t->knobs.replicas > 1) {
            fprintf(out, "\nonce the replicas' gradients are summed, on every replica\n");
            plan_print(out, t->be, &t->update);
        }
    }
    if (t->test.n > 0) {
        fprintf(out, "\nevaluation of the %d test images\n", t->test.n);
        plan_print(out, t->be, &t->eval[0]);
    }
    if (t->val.n > 0) {
        fprintf(out, "\nevaluation of the %d validation images\n", t->val.n);
        plan_print(out, t->be, &t->eval_val);
    }
}
