/*
 * The planner: which stages one training step, one evaluation pass and one chunk of
 * predictions take on a trainer's backend, bound to the trainer's buffers. Every choice
 * between fused and composed operations is made here, once, from the backend's
 * capabilities (backend_caps) and the network's shape; the step itself only runs the list.
 *
 * A training step over `count` images taken through an index, in chunks of chunk_rows:
 *
 *   per chunk   forward   sparse_forward_output                  (pixel lists, 1 hidden
 *                                                                  layer <= caps width)
 *                       | [gather | sparse_forward] gemm* [output_step]
 *               loss      loss                                   (unless output_step did it)
 *               backward  sparse_backward_update (+ output layer) (pixel lists, 1 hidden
 *                                                                  layer, one chunk)
 *                       | (gemm delta, gemm dW)* per layer back, update of the layers after
 *                         the first, then the first layer's gradient [+ update]
 *   once        update    over every parameter, unless a fused stage already updated
 *
 * or, with batch 1, one `sequential` stage that trains a block of images in one launch.
 *
 * With --augment the gathered images are distorted (augment) before the first layer, and
 * with dropout each dropped layer input gets a dropout stage in the forward pass (into
 * dropped[l], act[l] kept for act') and the same mask on its delta in the backward pass;
 * both take the images as they are no more, so neither the pixel lists nor the per-sample
 * kernel serve them.
 */
#include <stdio.h>

#include "train/plan_build.h"

#define SEQ_BLOCK 4096 /* images per launch of the per-sample kernel */

/* Notes how `count` rows are cut into chunks of chunk_rows (for plan_print). */
static void begin_chunks(plan *p, int count, int chunk_rows)
{
    p->chunks = (count + chunk_rows - 1) / chunk_rows;
    p->chunk_rows = chunk_rows;
    p->last_chunk_rows = count - (p->chunks - 1) * chunk_rows;
}

/* The training images' pixel lists (NULL buffers when there are none). */
static pixel_lists train_pixel_lists(const trainer *t)
{
    pixel_lists p = {bref_at(t->sparse_pixels, 0), bref_at(t->sparse_offsets, 0)};
    return p;
}

/* Whether the step drops hidden units (the inputs of layers 1 .. L-1). */
static int hidden_dropout(const trainer *t)
{
    return t->cfg.dropout > 0.0f && t->spec.n_layers >= 2;
}

/* Layer l's input in a training step: dropped[l] where its units are dropped, else act[l]. */
static buf *layer_input(const trainer *t, int l)
{
    return l >= 1 && t->dropped[l] ? t->dropped[l] : t->act[l];
}

/* The dropout stage of layer l's input (stream DROPOUT_STREAM(l), rate p) from x into y,
   rows `rows` from row `row0` of the step; the same mask forward and back. */
static void add_dropout(plan *p, trainer *t, int l, buf *x, buf *y, int rows, int row0,
                        const char *role)
{
    stage *s = plan_add(p, OP_DROPOUT, "%s", role);
    if (!s)
        return;
    int cols = t->spec.sizes[l];
    s->a.dropout = (dropout_args){.x = bref_at(x, 0), .ld_x = cols, .y = bref_at(y, 0),
                                  .ld_y = cols, .rows = rows, .cols = cols, .row0 = row0,
                                  .stream = DROPOUT_STREAM(l), .seed = t->cfg.seed};
    dropout_set_rate(&s->a.dropout, l == 0 ? t->cfg.input_dropout : t->cfg.dropout);
    stage_moves_step32(s, &s->a.dropout.step);
}

/* x = act[0] and the labels of `rows` images of `set` through `index` from `start`. */
static void add_gather(plan *p, trainer *t, const device_set *set, buf *index, int start,
                       int rows)
{
    stage *s = plan_add(p, OP_GATHER, "batch images to floats, labels");
    if (!s)
        return;
    s->a.gather = (gather_args){bref_at(t->act[0], 0), bref_at(t->labels, 0),
                                bref_at(set->images, set->images_off), bref_at(set->labels, 0),
                                bref_at(index, 0), start, rows, t->spec.sizes[0]};
    stage_moves_start(s, &s->a.gather.start);
}

/*
 * What a training step does to the gathered images in act[0] before the first layer: the
 * distortions (augment, from the same index positions as the gather, the epoch moving),
 * then the input's dropout (in place).
 */
static void add_training_input(plan *p, trainer *t, buf *index, int start, int rows)
{
    const train_config *c = &t->cfg;
    if (c->augment) {
        stage *s = plan_add(p, OP_AUGMENT, "distort the images (this epoch's draws)");
        if (!s)
            return;
        s->a.augment = (augment_args){.x = bref_at(t->act[0], 0),
                                      .images = bref_at(t->train.images, t->train.images_off),
                                      .ids = bref_at(t->data.image_ids, 0),
                                      .index = bref_at(index, 0), .start = start,
                                      .count = rows, .width = t->image_cols,
                                      .height = t->image_rows, .shift = c->augment_shift,
                                      .rotate_deg = c->augment_rotate, .scale = c->augment_scale,
                                      .alpha = c->augment_alpha, .sigma = c->augment_sigma,
                                      .seed = c->seed, .gauss = bref_at(t->gauss, 0)};
        stage_moves_start(s, &s->a.augment.start);
        stage_moves_epoch(s, &s->a.augment.epoch);
    }
    if (c->input_dropout > 0.0f)
        add_dropout(p, t, 0, t->act[0], t->act[0], rows, start, "dropout of the input pixels");
}

/* The dropout of layer l's input before it is read (training, 1 <= l < L, with dropout). */
static void add_input_dropout(plan *p, trainer *t, int l, int rows, int row0)
{
    if (hidden_dropout(t) && l >= 1 && l < t->spec.n_layers) {
        char role[64];
        snprintf(role, sizeof role, "dropout of layer %d's input", l + 1);
        add_dropout(p, t, l, t->act[l], t->dropped[l], rows, row0, role);
    }
}

/*
 * act[l+1] = act_l(in_l · W_l + b_l) for layers [from, to), on `rows` rows; in a training
 * step (row0 >= 0: the chunk's first row in the step) in_l is layer_input (dropout first),
 * in evaluation (row0 < 0) act[l].
 */
static void add_forward_layers(plan *p, trainer *t, int rows, int from, int to, int row0)
{
    const mlp_spec *sp = &t->spec;
    for (int l = from; l < to; l++) {
        if (row0 >= 0)
            add_input_dropout(p, t, l, rows, row0);
        stage *s = plan_add(p, OP_GEMM, "layer %d forward", l + 1);
        if (!s)
            return;
        s->a.gemm = (gemm_args){.m = rows, .n = sp->sizes[l + 1], .k = sp->sizes[l],
                                .a = bref_at(row0 >= 0 ? layer_input(t, l) : t->act[l], 0),
                                .lda = sp->sizes[l],
                                .b = bref_at(t->params, mlp_weight_offset(sp, l)),
                                .ldb = sp->sizes[l + 1], .c = bref_at(t->act[l + 1], 0),
                                .ldc = sp->sizes[l + 1], .alpha = 1.0f,
                                .epilogue = EPI_BIAS_ACT,
                                .bias = bref_at(t->params, mlp_bias_offset(sp, l)),
                                .act = mlp_layer_act(sp, l)};
    }
}

/* act[1] = act_0(X · W_0 + b_0) and the labels, from the pixel lists (gather + layer 0). */
static sparse_forward_args first_layer_args(trainer *t, buf *index, int start, int rows)
{
    const mlp_spec *sp = &t->spec;
    sparse_forward_args a = {bref_at(t->act[1], 0), sp->sizes[1], sp->sizes[0], rows,
                             bref_at(t->params, mlp_weight_offset(sp, 0)),
                             bref_at(t->params, mlp_bias_offset(sp, 0)), mlp_layer_act(sp, 0),
                             train_pixel_lists(t), bref_at(index, 0), start,
                             bref_at(t->labels, 0), bref_at(t->train.labels, 0)};
    return a;
}

/* The first layer's [dW_0; db_0] (+)= [X, 1]ᵀ · delta[1] from the pixel lists. */
static sparse_grad_args first_grad_args(trainer *t, buf *index, int start, int rows,
                                        int accumulate)
{
    sparse_grad_args g = {bref_at(t->grads, 0), bref_at(t->delta[1], 0), t->spec.sizes[1],
                          rows, t->spec.sizes[0], train_pixel_lists(t), bref_at(index, 0),
                          start, accumulate, bref_at(t->grad_scratch, 0)};
    return g;
}

/* The output layer, its loss and the first delta back, of `rows` rows (output_step), the
   loss delta scaled by 1/total (total: the images of the whole step). */
static output_step_args output_args(trainer *t, int rows, int total)
{
    const mlp_spec *sp = &t->spec;
    int L = sp->n_layers;
    output_step_args o = {sp->output,
                          bref_at(layer_input(t, L - 1), 0),
                          sp->sizes[L - 1],
                          bref_at(t->params, mlp_weight_offset(sp, L - 1)),
                          bref_at(t->params, mlp_bias_offset(sp, L - 1)),
                          sp->sizes[L],
                          rows,
                          bref_at(t->labels, 0),
                          1.0f / (float)total,
                          bref_at(t->delta[L], 0),
                          bref_at(L > 1 ? t->delta[L - 1] : NULL, 0),
                          sp->hidden_act,
                          bref_at(t->stat_loss, 0),
                          bref_at(t->stat_correct, 0)};
    return o;
}

/* [dW_l; db_l] (+)= [act[l], 1]ᵀ · delta[l+1] as one GEMM (b_l follows W_l in memory). */
static void add_weight_gradient(plan *p, trainer *t, int l, int rows, int accumulate)
{
    const mlp_spec *sp = &t->spec;
    int in = sp->sizes[l], out = sp->sizes[l + 1];
    stage *s = plan_add(p, OP_GEMM, "layer %d weight gradient", l + 1);
    if (!s)
        return;
    s->a.gemm = (gemm_args){.trans_a = 1, .a_ones_row = 1, .m = in + 1, .n = out, .k = rows,
                            .a = bref_at(layer_input(t, l), 0), .lda = in,
                            .b = bref_at(t->delta[l + 1], 0), .ldb = out,
                            .c = bref_at(t->grads, mlp_weight_offset(sp, l)), .ldc = out,
                            .alpha = 1.0f, .beta = accumulate ? 1.0f : 0.0f,
                            .epilogue = EPI_NONE};
}

/* The update of parameters [from, from + n) of `update` (all of them: from 0, n = all). */
static void add_update(plan *p, const update_args *update, size_t from, size_t n,
                       const char *which)
{
    stage *s = plan_add(p, OP_UPDATE, "update %s", which);
    if (!s)
        return;
    s->a.update = *update;
    s->a.update.params.off += from, s->a.update.grads.off += from;
    s->a.update.state.off += from, s->a.update.n = n;
    stage_moves_rule(s, &s->a.update.rule);
}

/*
 * Gradients from delta[L] back to the first layer, on `rows` rows whose images are
 * index[start ...]:
 *   [dW_l; db_l] (+)= [act[l], 1]ᵀ · delta[l+1]   (l = 0 from the pixel lists with
 *                                                   sparse_input)
 *   delta[l] = (delta[l+1] · W_lᵀ) ⊙ act'(act[l])   for l >= 1, unless have_delta_last
 *                                                    says delta[L-1] is already there
 * With `update` (sparse_input, not accumulating), the step's update is planned here too:
 * the layers after the first right after their gradients, the first layer's fused with its
 * gradient, so that gradient is never stored; each gradient is still in the cache when the
 * update reads it.
 */
static void add_backward(plan *p, trainer *t, buf *index, int start, int rows, int accumulate,
                         int have_delta_last, const update_args *update)
{
    const mlp_spec *sp = &t->spec;
    size_t first_end = ((size_t)sp->sizes[0] + 1) * sp->sizes[1]; /* [W_0; b_0] */
    for (int l = sp->n_layers - 1; l >= 1; l--) {
        int in = sp->sizes[l], out = sp->sizes[l + 1];
        if (!(have_delta_last && l == sp->n_layers - 1)) {
            stage *s = plan_add(p, OP_GEMM, "layer %d delta back", l + 1);
            if (!s)
                return;
            s->a.gemm = (gemm_args){.trans_b = 1, .m = rows, .n = in, .k = out,
                                    .a = bref_at(t->delta[l + 1], 0), .lda = out,
                                    .b = bref_at(t->params, mlp_weight_offset(sp, l)),
                                    .ldb = out, .c = bref_at(t->delta[l], 0), .ldc = in,
                                    .alpha = 1.0f, .epilogue = EPI_ACT_GRAD,
                                    .act = sp->hidden_act, .aux = bref_at(t->act[l], 0),
                                    .ldaux = in};
        }
        if (hidden_dropout(t))
            add_dropout(p, t, l, t->delta[l], t->delta[l], rows, start, "dropout mask on the "
                        "delta (the forward pass's)");
        add_weight_gradient(p, t, l, rows, accumulate);
    }
    if (update && update->n > first_end) {
        char which[32];
        snprintf(which, sizeof which, sp->n_layers > 2 ? "layers 2-%d" : "layer %d", sp->n_layers);
        add_update(p, update, first_end, update->n - first_end, which);
    }
    if (t->sparse_input) {
        stage *s = plan_add(p, update ? OP_SPARSE_BACKWARD_UPDATE : OP_SPARSE_GRAD,
                            update ? "layer 1 weight gradient and update" : "layer 1 weight gradient");
        if (!s)
            return;
        sparse_grad_args g = first_grad_args(t, index, start, rows, accumulate);
        if (update) {
            s->a.sparse_backward_update =
                (sparse_backward_update_args){g, bref_at(NULL, 0), bref_at(NULL, 0), 0, *update};
            s->a.sparse_backward_update.upd.n = first_end;
            stage_moves_start(s, &s->a.sparse_backward_update.g.start);
            stage_moves_rule(s, &s->a.sparse_backward_update.upd.rule);
        } else {
            s->a.sparse_grad = g;
            stage_moves_start(s, &s->a.sparse_grad.start);
        }
        return;
    }
    add_weight_gradient(p, t, 0, rows, accumulate);
    if (update) /* gathered first layer: its update after its gradient */
        add_update(p, update, 0, first_end, "layer 1");
}

/*
 * The gradient over `count` images through `index` (in chunks of chunk_rows, accumulated)
 * into t->grads, per-image losses and hits into the statistics; with `update`, the update
 * of every parameter follows, fused into the backward stages where the backend and the
 * shape allow. The images are rows [row0, row0 + count) of a step of `total` rows (a data-
 * parallel replica's share; else row0 = 0, count = total): they sit at positions row0 ...
 * of the step in the index, the statistics and the dropout masks, and the gradient is
 * that of the step's summed loss over `total` (the mean over the whole step once every
 * share's gradient is added).
 */
static void add_gradients(plan *p, trainer *t, buf *index, int row0, int count, int total,
                          const update_args *update)
{
    const mlp_spec *sp = &t->spec;
    const backend_caps *caps = &t->be->caps;
    int L = sp->n_layers, classes = sp->sizes[L];
    /* output_step takes act' from its input h, dropped[L-1] under dropout: the same as
       from act[L-1] for ReLU only (a dropped unit's delta is masked to 0 anyway) */
    int fused_output = classes <= caps->output_step_max_classes &&
                       (!hidden_dropout(t) || sp->hidden_act == ACT_RELU);
    int fused_update = update && t->sparse_input && count <= t->chunk_rows;
    int fused_all = fused_update && fused_output && L == 2; /* backward + update in one */
    int forward_output = t->sparse_input && fused_output && L == 2 && !hidden_dropout(t) &&
                         sp->sizes[1] <= caps->sparse_output_max_hidden;
    begin_chunks(p, count, t->chunk_rows);
    for (int done = 0; done < count; done += t->chunk_rows) {
        int rows = count - done < t->chunk_rows ? count - done : t->chunk_rows;
        int at = row0 + done; /* the chunk's first row in the step */
        p->chunk = done / t->chunk_rows;
        output_step_args o = output_args(t, rows, total);
        o.loss.off = o.correct.off = (size_t)at;
        if (forward_output) {
            stage *s = plan_add(p, OP_SPARSE_FORWARD_OUTPUT,
                                "layers 1-2 forward, loss, deltas back to layer 1");
            if (!s)
                return;
            s->a.sparse_forward_output =
                (sparse_forward_output_args){first_layer_args(t, index, at, rows), o};
            stage_moves_start(s, &s->a.sparse_forward_output.f.start);
            stage_moves_stats(s, &s->a.sparse_forward_output.o.loss,
                              &s->a.sparse_forward_output.o.correct);
        } else {
            if (t->sparse_input) {
                stage *s = plan_add(p, OP_SPARSE_FORWARD, "layer 1 forward (with the labels)");
                if (!s)
                    return;
                s->a.sparse_forward = first_layer_args(t, index, at, rows);
                stage_moves_start(s, &s->a.sparse_forward.start);
                add_forward_layers(p, t, rows, 1, fused_output ? L - 1 : L, at);
            } else {
                add_gather(p, t, &t->train, index, at, rows);
                add_training_input(p, t, index, at, rows);
                add_forward_layers(p, t, rows, 0, fused_output ? L - 1 : L, at);
            }
            if (fused_output) {
                add_input_dropout(p, t, L - 1, rows, at);
                stage *s = plan_add(p, OP_OUTPUT_STEP, "layer %d forward, loss, delta%s", L,
                                    L > 1 ? "s back" : "");
                if (!s)
                    return;
                s->a.output_step = o;
                stage_moves_stats(s, &s->a.output_step.loss, &s->a.output_step.correct);
            }
        }
        if (!fused_output) {
            stage *s = plan_add(p, OP_LOSS, "loss and output delta");
            if (!s)
                return;
            s->a.loss = (loss_args){sp->output, bref_at(t->delta[L], 0), o.loss, o.correct,
                                    bref_at(t->act[L], 0), bref_at(t->labels, 0), rows, classes,
                                    1.0f / (float)total};
            stage_moves_stats(s, &s->a.loss.loss, &s->a.loss.correct);
        }
        if (fused_all) {
            if (hidden_dropout(t))
                add_dropout(p, t, 1, t->delta[1], t->delta[1], rows, at,
                            "dropout mask on the delta (the forward pass's)");
            stage *s = plan_add(p, OP_SPARSE_BACKWARD_UPDATE,
                                "both layers' gradients and update");
            if (!s)
                return;
            s->a.sparse_backward_update = (sparse_backward_update_args){
                first_grad_args(t, index, at, rows, 0), bref_at(layer_input(t, 1), 0),
                bref_at(t->delta[2], 0), classes, *update};
            stage_moves_start(s, &s->a.sparse_backward_update.g.start);
            stage_moves_rule(s, &s->a.sparse_backward_update.upd.rule);
        } else {
            add_backward(p, t, index, at, rows, done > 0, fused_output,
                         fused_update ? update : NULL);
        }
    }
    p->chunk = -1;
    if (update && !fused_update)
        add_update(p, update, 0, update->n, "all parameters");
}

mc_status plan_step(trainer *t, int rows, plan *p)
{
    *p = (plan){.steps_per_run = 1, .rows = rows, .chunk = -1};
    if (t->sequential) {
        stage *s = plan_add(p, OP_SEQUENTIAL, "per image: forward, loss, back, update");
        if (s) {
            s->a.sequential = (sequential_args){&t->spec,
                                                bref_at(t->params, 0),
                                                bref_at(t->state, 0),
                                                bref_at(t->seq_scratch, 0),
                                                bref_at(t->train.images, t->train.images_off),
                                                bref_at(t->train.labels, 0),
                                                bref_at(t->index, 0),
                                                0,
                                                1,
                                                bref_at(t->stat_loss, 0),
                                                bref_at(t->stat_correct, 0),
                                                t->rule,
                                                t->schedule,
                                                0,
                                                train_pixel_lists(t)};
            stage_moves_start(s, &s->a.sequential.start);
            stage_moves_count(s, &s->a.sequential.count);
            stage_moves_step(s, &s->a.sequential.first_step, &s->a.sequential.schedule);
        }
        p->steps_per_run = SEQ_BLOCK;
    } else {
        update_args u = {bref_at(t->params, 0), bref_at(t->grads, 0), bref_at(t->state, 0),
                         t->n_params, t->rule};
        if (t->knobs.unfused) {
            add_gradients(p, t, t->index, 0, rows, rows, NULL);
            add_update(p, &u, 0, u.n, "all parameters");
        } else {
            add_gradients(p, t, t->index, 0, rows, rows, &u);
        }
    }
    return p->oom ? MC_ERR_NOMEM : MC_OK;
}

mc_status plan_gradient(trainer *t, int count, plan *p)
{
    *p = (plan){.steps_per_run = 1, .rows = count, .chunk = -1};
    add_gradients(p, t, t->identity, 0, count, count, NULL);
    return p->oom ? MC_ERR_NOMEM : MC_OK;
}

mc_status plan_step_share(trainer *t, int total, int row0, int rows, plan *p)
{
    *p = (plan){.steps_per_run = 1, .rows = rows, .chunk = -1};
    if (rows > 0)
        add_gradients(p, t, t->index, row0, rows, total, NULL);
    return p->oom ? MC_ERR_NOMEM : MC_OK;
}

mc_status plan_update(trainer *t, plan *p)
{
    *p = (plan){.steps_per_run = 1, .rows = 0, .chunk = -1};
    update_args u = {bref_at(t->params, 0), bref_at(t->grads, 0), bref_at(t->state, 0),
                     t->n_params, t->rule};
    add_update(p, &u, 0, u.n, "all parameters");
    return p->oom ? MC_ERR_NOMEM : MC_OK;
}

mc_status plan_evaluate(trainer *t, const device_set *set, plan *p)
{
    return plan_evaluate_range(t, set, 0, set->n, p);
}

mc_status plan_evaluate_range(trainer *t, const device_set *set, int from, int count, plan *p)
{
    const mlp_spec *sp = &t->spec;
    int L = sp->n_layers;
    *p = (plan){.steps_per_run = 1, .rows = count, .chunk = -1};
    begin_chunks(p, count, t->chunk_rows);
    for (int first = from; first < from + count; first += t->chunk_rows) {
        int rows = from + count - first < t->chunk_rows ? from + count - first : t->chunk_rows;
        p->chunk = (first - from) / t->chunk_rows;
        add_gather(p, t, set, t->identity, first, rows);
        add_forward_layers(p, t, rows, 0, L, -1);
        stage *s = plan_add(p, OP_LOSS, "loss and hits");
        if (!s)
            break;
        s->a.loss = (loss_args){sp->output, bref_at(NULL, 0), bref_at(t->stat_loss, (size_t)first),
                                bref_at(t->stat_correct, (size_t)first), bref_at(t->act[L], 0),
                                bref_at(t->labels, 0), rows, sp->sizes[L], 1.0f};
    }
    p->chunk = -1;
    stage *s = plan_add(p, OP_SUM, "the pass's loss and hit sums");
    if (s)
        s->a.sum = (sum_args){bref_at(t->sums, 0), bref_at(t->sums, 1),
                              bref_at(t->stat_loss, (size_t)from),
                              bref_at(t->stat_correct, (size_t)from), count};
    return p->oom ? MC_ERR_NOMEM : MC_OK;
}

mc_status plan_predict(trainer *t, const device_set *set, int rows, plan *p)
{
    const mlp_spec *sp = &t->spec;
    int L = sp->n_layers;
    *p = (plan){.steps_per_run = 1, .rows = rows, .chunk = -1};
    add_gather(p, t, set, t->identity, 0, rows);
    add_forward_layers(p, t, rows, 0, L, -1);
    /* probabilities go to delta[L], which inference does not otherwise use */
    stage *s = plan_add(p, OP_PROBS, "output probabilities");
    if (s)
        s->a.probs = (probs_args){sp->output, bref_at(t->delta[L], 0), bref_at(t->act[L], 0),
                                  rows, sp->sizes[L]};
    return p->oom ? MC_ERR_NOMEM : MC_OK;
}
