/*
 * The training loop, written once against the backend operation table: gather a batch on
 * the device, forward through every dense layer (GEMM with a fused bias + activation),
 * output loss and delta in one kernel, backward (weight GEMM, bias column sums, delta GEMM
 * with the activation derivative fused), one SGD kernel over the flat parameter buffer.
 * Where the backend prefers it (CPU devices), the first layer's forward product (with the
 * gather) and weight gradient read the training images' nonzero pixels, listed once.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/train.h"
#include "backend/backend_ops.h"

#define ACTIVATION_BUDGET (64u << 20) /* bytes of activations + deltas per chunk */
#define MAX_CHUNK_ROWS 8192

/* One image set living on the device. */
typedef struct {
    buf *images; /* uint8 (n, dim) */
    buf *labels; /* uint8 (n) */
    int n;
} device_set;

struct trainer {
    backend *be;
    const backend_ops *op;
    mlp_spec spec;
    train_config cfg;
    int batch;      /* effective batch size (cfg.batch, or n_train when 0) */
    int chunk_rows; /* rows of the activation buffers */
    size_t n_params;
    device_set train, test;
    buf *params, *grads, *velocity;
    buf *act[MLP_MAX_LAYERS + 1];   /* act[0] input batch, act[l+1] output of layer l */
    buf *delta[MLP_MAX_LAYERS + 1]; /* delta[l+1] = dLoss/d(pre-activation of layer l) */
    buf *labels;                    /* int32 labels of the chunk */
    buf *index;                     /* int32 permutation of the training set */
    buf *identity;                  /* int32 0..n-1, for evaluation */
    buf *stat_loss, *stat_correct;  /* per-image loss and hit of the current pass */
    buf *sums;                      /* [0] loss sum (float), [1] correct count (int32) */
    buf *seq_scratch;               /* fused batch-1 path: activations and deltas */
    buf *grad_scratch;              /* sparse_grad's scratch (first layer) */
    buf *sparse_pixels;             /* the training images' nonzero pixels (pixel_lists) */
    buf *sparse_offsets;
    int fused;                      /* batch 1 runs through be->ops->sequential */
    int sparse_input;               /* first layer through sparse_forward / sparse_grad */
    int32_t *host_index;
};

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

/*
 * Lists the nonzero pixels of every training image once (pixel_lists): offsets (n + 1)
 * and (index << 8) | value words. Leaves both buffers NULL for images wider than 2^24
 * pixels or more than 2^31 nonzero pixels in all; the callers then read the images.
 */
static mc_status upload_sparse_pixels(trainer *t, const dataset *set)
{
    uint32_t *pixels;
    int32_t *offsets;
    size_t total;
    if (dataset_pixel_lists(set->images, set->n, dataset_dim(set), PIXEL_BANDS, &pixels,
                            &offsets, &total))
        return MC_OK; /* too big to list (or no memory for it): the images are read instead */
    mc_status st = t->op->alloc(t->be, (total ? total : 1) * 4, &t->sparse_pixels);
    if (!st)
        st = t->op->write(t->be, t->sparse_pixels, 0, pixels, total * 4);
    if (!st)
        st = t->op->alloc(t->be, ((size_t)set->n * PIXEL_BANDS + 1) * 4, &t->sparse_offsets);
    if (!st)
        st = t->op->write(t->be, t->sparse_offsets, 0, offsets,
                          ((size_t)set->n * PIXEL_BANDS + 1) * 4);
    free(pixels);
    free(offsets);
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
    mc_status st = check_shapes(spec, train, "training", err);
    if (!st)
        st = check_shapes(spec, test, "test", err);
    if (st)
        return st;
    trainer *t = calloc(1, sizeof *t);
    if (!t)
        return mc_fail(err, MC_ERR_NOMEM, "out of memory");
    t->be = be;
    t->op = be->ops;
    t->spec = *spec;
    t->cfg = *cfg;
    t->n_params = mlp_param_count(spec);
    int n_train = train ? train->n : 0, n_test = test ? test->n : 0;
    t->batch = cfg->batch > 0 ? cfg->batch : n_train;
    if (train && t->batch > n_train) {
        int batch = t->batch;
        trainer_destroy(t);
        return mc_fail(err, MC_ERR_USAGE, "--batch %d is larger than the training set (%d images)",
                       batch, n_train);
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
    if (cfg->chunk_rows > 0)
        t->chunk_rows = cfg->chunk_rows;
    if (t->chunk_rows < 1)
        t->chunk_rows = 1;

    st = alloc_floats(t, t->n_params, &t->params);
    if (!st)
        st = alloc_floats(t, t->n_params, &t->grads);
    if (!st)
        st = alloc_floats(t, t->n_params, &t->velocity);
    for (int l = 0; !st && l <= spec->n_layers; l++) {
        size_t n = (size_t)t->chunk_rows * spec->sizes[l];
        st = alloc_floats(t, n, &t->act[l]);
        if (!st && l > 0)
            st = alloc_floats(t, n, &t->delta[l]);
    }
    if (!st)
        st = t->op->alloc(t->be, (size_t)t->chunk_rows * 4, &t->labels);
    if (!st && train)
        st = upload_set(t, train, &t->train);
    if (!st && test)
        st = upload_set(t, test, &t->test);
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
    t->fused = t->batch == 1 && !cfg->unfused && spec->n_layers <= be->caps.sequential_max_layers && train;
    if (!st && t->fused)
        st = alloc_floats(t, seq_scratch_floats(spec), &t->seq_scratch);
    /* the output step fuses the last layer, so the first is separate only when L >= 2 */
    int want_sparse = train && be->caps.pixel_lists_first_layer && !cfg->dense_input && spec->n_layers >= 2;
    if (!st && ((t->fused && be->caps.sequential_pixel_lists) || want_sparse))
        st = upload_sparse_pixels(t, train);
    /* also for batch 1: trainer_gradient takes the general path */
    t->sparse_input = want_sparse && t->sparse_pixels;
    if (!st && t->sparse_input)
        st = alloc_floats(t, sparse_grad_scratch(spec->sizes[0], spec->sizes[1]),
                          &t->grad_scratch);
    if (st) {
        trainer_destroy(t);
        return mc_fail(err, st, "cannot allocate the network's buffers on %s (see above)",
                       be->name);
    }
    *out = t;
    return MC_OK;
}

void trainer_destroy(trainer *t)
{
    if (!t)
        return;
    buf *all[] = {t->params,     t->grads,   t->velocity,  t->labels,       t->index,
                  t->identity,   t->stat_loss, t->stat_correct, t->sums, t->seq_scratch,
                  t->grad_scratch,
                  t->sparse_pixels, t->sparse_offsets,
                  t->train.images, t->train.labels, t->test.images, t->test.labels};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        if (all[i])
            t->op->release(t->be, all[i]);
    for (int l = 0; l <= MLP_MAX_LAYERS; l++) {
        if (t->act[l])
            t->op->release(t->be, t->act[l]);
        if (t->delta[l])
            t->op->release(t->be, t->delta[l]);
    }
    free(t->host_index);
    free(t);
}

mc_status trainer_set_params(trainer *t, const float *params)
{
    size_t bytes = t->n_params * sizeof(float);
    mc_status st = t->op->write(t->be, t->params, 0, params, bytes);
    float *zeros = st ? NULL : calloc(t->n_params, sizeof(float));
    if (!st && !zeros)
        st = MC_ERR_NOMEM;
    if (!st)
        st = t->op->write(t->be, t->velocity, 0, zeros, bytes);
    free(zeros);
    return st;
}

mc_status trainer_get_params(trainer *t, float *params)
{
    return t->op->read(t->be, t->params, 0, params, t->n_params * sizeof(float));
}

mc_status trainer_set_state(trainer *t, const float *params, const float *velocity)
{
    size_t bytes = t->n_params * sizeof(float);
    mc_status st = t->op->write(t->be, t->params, 0, params, bytes);
    return st ? st : t->op->write(t->be, t->velocity, 0, velocity, bytes);
}

mc_status trainer_get_state(trainer *t, float *params, float *velocity)
{
    size_t bytes = t->n_params * sizeof(float);
    mc_status st = t->op->read(t->be, t->params, 0, params, bytes);
    return st ? st : t->op->read(t->be, t->velocity, 0, velocity, bytes);
}

/* Images covered by the first `steps` steps of an epoch. */
static int images_in_steps(const trainer *t, int steps)
{
    long long n = (long long)steps * t->batch;
    return n < t->train.n ? (int)n : t->train.n;
}

mc_status trainer_partial_sums(trainer *t, int steps, double *loss_sum, long long *correct)
{
    int n = images_in_steps(t, steps);
    float *l = malloc((size_t)n * sizeof(float) + 1);
    int32_t *c = malloc((size_t)n * sizeof(int32_t) + 1);
    mc_status st = l && c ? MC_OK : MC_ERR_NOMEM;
    if (!st)
        st = t->op->read(t->be, t->stat_loss, 0, l, (size_t)n * 4);
    if (!st)
        st = t->op->read(t->be, t->stat_correct, 0, c, (size_t)n * 4);
    *loss_sum = 0, *correct = 0;
    for (int i = 0; !st && i < n; i++)
        *loss_sum += l[i], *correct += c[i];
    free(l), free(c);
    return st;
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
    return st;
}

mc_status trainer_first_bad_step(trainer *t, int steps, double loss_limit, int *step)
{
    int n = images_in_steps(t, steps);
    float *l = malloc((size_t)n * sizeof(float) + 1);
    if (!l)
        return MC_ERR_NOMEM;
    mc_status st = t->op->read(t->be, t->stat_loss, 0, l, (size_t)n * 4);
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

/* act[l+1] = act_l(act[l] · W_l + b_l) for layers [from, to), on `rows` rows. */
static mc_status forward_layers(trainer *t, int rows, int from, int to)
{
    const mlp_spec *s = &t->spec;
    for (int l = from; l < to; l++) {
        gemm_args g = {.m = rows, .n = s->sizes[l + 1], .k = s->sizes[l],
                       .a = bref_at(t->act[l], 0), .lda = s->sizes[l],
                       .b = bref_at(t->params, mlp_weight_offset(s, l)), .ldb = s->sizes[l + 1],
                       .c = bref_at(t->act[l + 1], 0), .ldc = s->sizes[l + 1], .alpha = 1.0f,
                       .epilogue = EPI_BIAS_ACT, .bias = bref_at(t->params, mlp_bias_offset(s, l)),
                       .act = mlp_layer_act(s, l)};
        mc_status st = t->op->gemm(t->be, &g);
        if (st)
            return st;
    }
    return MC_OK;
}

/* The whole forward pass: act[L] holds the logits. */
static mc_status forward(trainer *t, int rows)
{
    return forward_layers(t, rows, 0, t->spec.n_layers);
}

/* The training images' pixel lists (NULL buffers when there are none). */
static pixel_lists train_pixel_lists(const trainer *t)
{
    pixel_lists p = {bref_at(t->sparse_pixels, 0), bref_at(t->sparse_offsets, 0)};
    return p;
}

/*
 * The arguments of act[1] = act_0(X · W_0 + b_0) and the labels of `rows` training
 * images taken through index from `start`, straight from their pixel lists (replaces
 * gather + layer 0).
 */
static sparse_forward_args sparse_first_layer_args(trainer *t, buf *index, int start, int rows)
{
    const mlp_spec *s = &t->spec;
    sparse_forward_args a = {bref_at(t->act[1], 0), s->sizes[1], s->sizes[0], rows,
                             bref_at(t->params, mlp_weight_offset(s, 0)),
                             bref_at(t->params, mlp_bias_offset(s, 0)), mlp_layer_act(s, 0),
                             train_pixel_lists(t), bref_at(index, 0), start,
                             bref_at(t->labels, 0), bref_at(t->train.labels, 0)};
    return a;
}

/* The first layer of `rows` images taken through index from `start` (see above). */
static mc_status sparse_first_layer(trainer *t, buf *index, int start, int rows)
{
    sparse_forward_args a = sparse_first_layer_args(t, index, start, rows);
    return t->op->sparse_forward(t->be, &a);
}

/* The arguments of the first layer's [dW_0; db_0] (+)= [X, 1]ᵀ · delta[1] from the lists. */
static sparse_grad_args sparse_first_grad_args(trainer *t, buf *index, int start, int rows,
                                               int accumulate)
{
    sparse_grad_args sg = {bref_at(t->grads, 0), bref_at(t->delta[1], 0), t->spec.sizes[1],
                           rows, t->spec.sizes[0], train_pixel_lists(t), bref_at(index, 0),
                           start, accumulate, bref_at(t->grad_scratch, 0)};
    return sg;
}

/* [dW_l; db_l] (+)= [act[l], 1]ᵀ · delta[l+1] as one GEMM (b_l follows W_l in memory). */
static mc_status weight_gradient(trainer *t, int l, int rows, int accumulate)
{
    const mlp_spec *s = &t->spec;
    int in = s->sizes[l], out = s->sizes[l + 1];
    gemm_args dw = {.trans_a = 1, .a_ones_row = 1, .m = in + 1, .n = out, .k = rows,
                    .a = bref_at(t->act[l], 0), .lda = in, .b = bref_at(t->delta[l + 1], 0),
                    .ldb = out, .c = bref_at(t->grads, mlp_weight_offset(s, l)), .ldc = out,
                    .alpha = 1.0f, .beta = accumulate ? 1.0f : 0.0f, .epilogue = EPI_NONE};
    return t->op->gemm(t->be, &dw);
}

/*
 * Gradients from delta[L] back to the first layer, on `rows` rows whose images are
 * index[start ...]:
 *   [dW_l; db_l] (+)= [act[l], 1]ᵀ · delta[l+1]   (one GEMM: b_l follows W_l in memory;
 *                                                   with sparse_input, l = 0 from the
 *                                                   pixel lists)
 *   delta[l] = (delta[l+1] · W_lᵀ) ⊙ act'(act[l])      for l >= 1, unless have_delta_last
 *                                                       says delta[L-1] is already there
 * With `update` (sgd over all parameters; sparse_input, not accumulating), the step's
 * update is done here too: the layers after the first right after their gradients, the
 * first layer's fused with its gradient (sparse_backward_sgd), so its gradient is never
 * stored. The products are ordered so that each gradient is still in the cache when
 * the update reads it.
 */
static mc_status backward(trainer *t, buf *index, int start, int rows, int accumulate,
                          int have_delta_last, const update_args *update)
{
    const mlp_spec *s = &t->spec;
    size_t first_end = ((size_t)s->sizes[0] + 1) * s->sizes[1]; /* [W_0; b_0] */
    mc_status st = MC_OK;
    for (int l = s->n_layers - 1; !st && l >= 1; l--) {
        int in = s->sizes[l], out = s->sizes[l + 1];
        if (!(have_delta_last && l == s->n_layers - 1)) {
            gemm_args dx = {.trans_b = 1, .m = rows, .n = in, .k = out,
                            .a = bref_at(t->delta[l + 1], 0), .lda = out,
                            .b = bref_at(t->params, mlp_weight_offset(s, l)), .ldb = out,
                            .c = bref_at(t->delta[l], 0), .ldc = in, .alpha = 1.0f,
                            .epilogue = EPI_ACT_GRAD, .act = s->hidden_act,
                            .aux = bref_at(t->act[l], 0), .ldaux = in};
            st = t->op->gemm(t->be, &dx);
        }
        if (!st)
            st = weight_gradient(t, l, rows, accumulate);
    }
    if (!st && update && update->n > first_end) { /* the layers after the first */
        update_args rest = *update;
        rest.params.off += first_end, rest.grads.off += first_end;
        rest.state.off += first_end, rest.n -= first_end;
        st = t->op->update(t->be, &rest);
    }
    if (st)
        return st;
    if (t->sparse_input) {
        sparse_grad_args sg = sparse_first_grad_args(t, index, start, rows, accumulate);
        if (!update)
            return t->op->sparse_grad(t->be, &sg);
        sparse_backward_update_args b = {sg, bref_at(NULL, 0), bref_at(NULL, 0), 0, *update};
        b.upd.n = first_end;
        return t->op->sparse_backward_update(t->be, &b);
    }
    st = weight_gradient(t, 0, rows, accumulate);
    if (!st && update) { /* gathered first layer: its update after its gradient */
        update_args head = *update;
        head.n = first_end;
        st = t->op->update(t->be, &head);
    }
    return st;
}

mc_status trainer_begin_epoch(trainer *t, rng *r)
{
    for (int i = 0; i < t->train.n; i++)
        t->host_index[i] = i;
    if (t->cfg.shuffle)
        rng_shuffle(r, t->host_index, (size_t)t->train.n);
    return t->op->write(t->be, t->index, 0, t->host_index, (size_t)t->train.n * 4);
}

/* Gathers `rows` images of `set` through `index` from position `start` into act[0]. */
static mc_status gather(trainer *t, const device_set *set, buf *index, int start, int rows)
{
    gather_args g = {bref_at(t->act[0], 0), bref_at(t->labels, 0), bref_at(set->images, 0),
                     bref_at(set->labels, 0), bref_at(index, 0), start, rows, t->spec.sizes[0]};
    return t->op->gather(t->be, &g);
}

/*
 * Gradients of the mean loss over `count` images taken through `index` from position
 * `first` (in chunks of chunk_rows, accumulated), into t->grads. Per-image losses and hits
 * land in the stats buffers at [first, first + count).
 * With `update` (not NULL; sgd over all parameters) and the first layer from the pixel
 * lists in one chunk, the step's update is done here, with the backward pass (see
 * backward; a one-hidden-layer network's in one sparse_backward_sgd launch): *updated is
 * then set to 1 and t->grads is left undefined; otherwise *updated is 0 and the caller
 * updates.
 */
static mc_status accumulate_gradients(trainer *t, buf *index, int first, int count,
                                      const update_args *update, int *updated)
{
    const mlp_spec *s = &t->spec;
    int L = s->n_layers, classes = s->sizes[L];
    /* small outputs: last layer, loss and the first delta back in one fused pass */
    int fused_output = classes <= t->be->caps.output_step_max_classes;
    int fused = update && t->sparse_input && count <= t->chunk_rows;
    int fused_all = fused && fused_output && L == 2; /* backward + SGD in one launch */
    if (updated)
        *updated = fused;
    mc_status st = MC_OK;
    for (int done = 0; !st && done < count; done += t->chunk_rows) {
        int rows = count - done < t->chunk_rows ? count - done : t->chunk_rows;
        bref loss = bref_at(t->stat_loss, (size_t)first + done),
             correct = bref_at(t->stat_correct, (size_t)first + done);
        output_step_args o = {s->output,
                              bref_at(t->act[L - 1], 0),
                              s->sizes[L - 1],
                              bref_at(t->params, mlp_weight_offset(s, L - 1)),
                              bref_at(t->params, mlp_bias_offset(s, L - 1)),
                              classes,
                              rows,
                              bref_at(t->labels, 0),
                              1.0f / (float)count,
                              bref_at(t->delta[L], 0),
                              bref_at(L > 1 ? t->delta[L - 1] : NULL, 0),
                              s->hidden_act,
                              loss,
                              correct};
        if (t->sparse_input && fused_output && L == 2 &&
            s->sizes[1] <= t->be->caps.sparse_output_max_hidden) {
            /* one hidden layer, narrow: the whole forward pass and the output step in one */
            sparse_forward_output_args fo = {sparse_first_layer_args(t, index, first + done, rows),
                                             o};
            st = t->op->sparse_forward_output(t->be, &fo);
        } else {
            if (t->sparse_input) {
                st = sparse_first_layer(t, index, first + done, rows);
                if (!st)
                    st = forward_layers(t, rows, 1, fused_output ? L - 1 : L);
            } else {
                st = gather(t, &t->train, index, first + done, rows);
                if (!st)
                    st = forward_layers(t, rows, 0, fused_output ? L - 1 : L);
            }
            if (!st && fused_output)
                st = t->op->output_step(t->be, &o);
        }
        if (!st && !fused_output) {
            loss_args la = {s->output, bref_at(t->delta[L], 0), loss, correct,
                            bref_at(t->act[L], 0), bref_at(t->labels, 0), rows, classes,
                            1.0f / (float)count};
            st = t->op->loss(t->be, &la);
        }
        if (!st && fused_all) {
            sparse_backward_update_args b = {sparse_first_grad_args(t, index, first + done, rows, 0),
                                          bref_at(t->act[1], 0), bref_at(t->delta[2], 0),
                                          classes, *update};
            st = t->op->sparse_backward_update(t->be, &b);
        } else if (!st) {
            st = backward(t, index, first + done, rows, done > 0, fused_output,
                          fused ? update : NULL);
        }
    }
    return st;
}

#define SEQ_BLOCK 4096 /* images per launch of the fused batch-1 kernel */

mc_status trainer_train_steps(trainer *t, int first, int count)
{
    mc_status st = MC_OK;
    if (!t->fused) {
        for (int s = first; !st && s < first + count; s++)
            st = trainer_step(t, s);
        return st;
    }
    for (int done = 0; !st && done < count; done += SEQ_BLOCK) {
        sequential_args a = {&t->spec,
                             bref_at(t->params, 0),
                             bref_at(t->velocity, 0),
                             bref_at(t->seq_scratch, 0),
                             bref_at(t->train.images, 0),
                             bref_at(t->train.labels, 0),
                             bref_at(t->index, 0),
                             first + done,
                             count - done < SEQ_BLOCK ? count - done : SEQ_BLOCK,
                             bref_at(t->stat_loss, 0),
                             bref_at(t->stat_correct, 0),
                             {UPDATE_SGD, t->cfg.lr, t->cfg.momentum, t->cfg.weight_decay},
                             train_pixel_lists(t)};
        st = t->op->sequential(t->be, &a);
    }
    return st;
}

mc_status trainer_step(trainer *t, int step)
{
    if (t->fused)
        return trainer_train_steps(t, step, 1);
    int first = step * t->batch;
    int rows_in_step = t->train.n - first < t->batch ? t->train.n - first : t->batch;
    update_args u = {bref_at(t->params, 0), bref_at(t->grads, 0), bref_at(t->velocity, 0),
                  t->n_params, {UPDATE_SGD, t->cfg.lr, t->cfg.momentum, t->cfg.weight_decay}};
    int updated = 0;
    mc_status st = accumulate_gradients(t, t->index, first, rows_in_step,
                                        t->cfg.unfused ? NULL : &u, &updated);
    if (!st && !updated)
        st = t->op->update(t->be, &u);
    return st;
}

mc_status trainer_gradient(trainer *t, int first, int count, float *grads, double *loss)
{
    if (first < 0 || count < 1 || first + count > t->train.n)
        return MC_ERR_USAGE;
    mc_status st = accumulate_gradients(t, t->identity, first, count, NULL, NULL);
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
    return t->op->finish(t->be);
}

mc_status trainer_step_loss(trainer *t, int step, double *loss)
{
    int first = step * t->batch;
    int rows = t->train.n - first < t->batch ? t->train.n - first : t->batch;
    float *l = malloc((size_t)rows * sizeof(float));
    if (!l)
        return MC_ERR_NOMEM;
    mc_status st = t->op->read(t->be, t->stat_loss, (size_t)first * 4, l, (size_t)rows * 4);
    double s = 0;
    for (int i = 0; i < rows; i++)
        s += l[i];
    *loss = s / rows;
    free(l);
    return st;
}

/* Sums the first n per-image stats on the device and reads the two sums. */
static mc_status read_sums(trainer *t, int n, pass_stats *out)
{
    sum_args a = {bref_at(t->sums, 0), bref_at(t->sums, 1), bref_at(t->stat_loss, 0),
                  bref_at(t->stat_correct, 0), n};
    mc_status st = t->op->sum(t->be, &a);
    union {
        float f;
        int32_t i;
    } sums[2];
    if (!st)
        st = t->op->read(t->be, t->sums, 0, sums, sizeof sums);
    if (st)
        return st;
    out->images = n;
    out->loss = n ? sums[0].f / n : 0.0;
    out->accuracy = n ? (double)sums[1].i / n : 0.0;
    return MC_OK;
}

mc_status trainer_end_epoch(trainer *t, pass_stats *out)
{
    return read_sums(t, t->train.n, out);
}

mc_status trainer_evaluate(trainer *t, int train_set, pass_stats *out)
{
    const device_set *set = train_set ? &t->train : &t->test;
    const mlp_spec *s = &t->spec;
    mc_status st = MC_OK;
    for (int first = 0; !st && first < set->n; first += t->chunk_rows) {
        int rows = set->n - first < t->chunk_rows ? set->n - first : t->chunk_rows;
        st = gather(t, set, t->identity, first, rows);
        if (!st)
            st = forward(t, rows);
        loss_args la = {s->output, bref_at(NULL, 0), bref_at(t->stat_loss, (size_t)first),
                        bref_at(t->stat_correct, (size_t)first), bref_at(t->act[s->n_layers], 0),
                        bref_at(t->labels, 0), rows, s->sizes[s->n_layers], 1.0f};
        if (!st)
            st = t->op->loss(t->be, &la);
    }
    if (!st)
        st = read_sums(t, set->n, out);
    return st;
}

mc_status trainer_predict(trainer *t, int train_set, int first, int count, float *out)
{
    const device_set *set = train_set ? &t->train : &t->test;
    const mlp_spec *s = &t->spec;
    int classes = s->sizes[s->n_layers];
    if (first < 0 || count < 0 || first + count > set->n)
        return MC_ERR_USAGE;
    mc_status st = MC_OK;
    for (int done = 0; !st && done < count; done += t->chunk_rows) {
        int rows = count - done < t->chunk_rows ? count - done : t->chunk_rows;
        st = gather(t, set, t->identity, first + done, rows);
        if (!st)
            st = forward(t, rows);
        /* probabilities go to delta[L], which evaluation does not otherwise use */
        probs_args pa = {s->output, bref_at(t->delta[s->n_layers], 0),
                         bref_at(t->act[s->n_layers], 0), rows, classes};
        if (!st)
            st = t->op->probs(t->be, &pa);
        if (!st)
            st = t->op->read(t->be, t->delta[s->n_layers], 0, out + (size_t)done * classes,
                             (size_t)rows * classes * sizeof(float));
    }
    return st;
}
