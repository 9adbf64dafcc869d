/*
 * op_contract.c: the preconditions of the operations (op_contract.h), written once for
 * the CPU reference and the OpenCL backend.
 */
#include "backend/op_contract.h"

#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>

#include "mnistcl/mlp.h"

/* Reports a broken condition (op_contract.h) and returns MC_ERR_RUNTIME. */
mc_status op_contract_broken(const char *op, const char *cond, const char *fmt, ...)
{
    char details[256];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(details, sizeof details, fmt, ap);
    va_end(ap);
    fprintf(stderr, "mnistcl: internal error: %s: %s (%s)\n", op, cond, details);
    return MC_ERR_RUNTIME;
}

/* MC_OK when r holds count elements of elem bytes from its offset, else reported. */
mc_status op_require_span(const char *op, const char *r_text, const char *count_text, bref r,
                          size_t count, size_t elem)
{
    char cond[256];
    if (!r.b) {
        snprintf(cond, sizeof cond, "%s.b != NULL", r_text);
        return op_contract_broken(op, cond, "a buffer the operation needs is missing");
    }
    size_t have = r.b->bytes / elem;
    if (r.off <= have && count <= have - r.off)
        return MC_OK;
    snprintf(cond, sizeof cond, "%s holds %s elements", r_text, count_text);
    return op_contract_broken(op, cond,
                              "offset %zu + %zu elements of %zu bytes > %zu in its %zu bytes",
                              r.off, count, elem, have, r.b->bytes);
}

/* Whether a is one of the activations (act_kind). */
static int act_valid(int a)
{
    return a >= ACT_IDENTITY && a <= ACT_TANH;
}

/* Whether k is one of the output layers (output_kind). */
static int output_valid(int k)
{
    return k == OUT_SOFTMAX_XENT || k == OUT_SIGMOID_MSE;
}

/* Whether e is one of the GEMM epilogues (gemm_epilogue). */
static int epilogue_valid(int e)
{
    return e >= EPI_NONE && e <= EPI_ACT_GRAD;
}

/* The contract of gather (gather_args). */
mc_status op_contract_gather(const gather_args *a)
{
    const char *op = op_name(OP_GATHER);
    OP_REQUIRE(op, a->count >= 1, "count %d", a->count);
    OP_REQUIRE(op, a->dim >= 1, "dim %d", a->dim);
    OP_REQUIRE(op, a->start >= 0, "start %d", a->start);
    OP_REQUIRE_SPAN(op, a->x, prod(a->count, a->dim), sizeof(float));
    OP_REQUIRE_OPT_SPAN(op, a->y, a->count, sizeof(int32_t));
    OP_REQUIRE_SPAN(op, a->images, a->dim, 1); /* at least one image */
    OP_REQUIRE_OPT_SPAN(op, a->labels, 1, 1);
    OP_REQUIRE_SPAN(op, a->index, plus(a->start, a->count), sizeof(int32_t));
    return MC_OK;
}

/* The contract of gemm (gemm_args). */
mc_status op_contract_gemm(const gemm_args *a)
{
    const char *op = op_name(OP_GEMM);
    OP_REQUIRE(op, a->m >= 1 && a->n >= 1 && a->k >= 1, "m %d, n %d, k %d", a->m, a->n, a->k);
    OP_REQUIRE(op, !a->a_ones_row || a->trans_a, "a_ones_row %d, trans_a %d", a->a_ones_row,
               a->trans_a);
    OP_REQUIRE(op, epilogue_valid(a->epilogue), "epilogue %d", (int)a->epilogue);
    OP_REQUIRE(op, a->epilogue == EPI_NONE || act_valid(a->act), "epilogue %d, act %d",
               (int)a->epilogue, (int)a->act);
    /* op(A) (m, k): A stored (k, m) when trans_a, without the implicit ones row */
    int a_rows = a->trans_a ? a->k : a->m;
    int a_cols = a->trans_a ? a->m - (a->a_ones_row != 0) : a->k;
    OP_REQUIRE(op, a->lda >= a_cols, "lda %d, A stored (%d, %d)", a->lda, a_rows, a_cols);
    int b_rows = a->trans_b ? a->n : a->k, b_cols = a->trans_b ? a->k : a->n;
    OP_REQUIRE(op, a->ldb >= b_cols, "ldb %d, B stored (%d, %d)", a->ldb, b_rows, b_cols);
    OP_REQUIRE(op, a->ldc >= a->n, "ldc %d, n %d", a->ldc, a->n);
    OP_REQUIRE_SPAN(op, a->a, mat_extent(a_rows, a_cols, a->lda), sizeof(float));
    OP_REQUIRE_SPAN(op, a->b, mat_extent(b_rows, b_cols, a->ldb), sizeof(float));
    OP_REQUIRE_SPAN(op, a->c, mat_extent(a->m, a->n, a->ldc), sizeof(float));
    if (a->epilogue == EPI_BIAS_ACT)
        OP_REQUIRE_SPAN(op, a->bias, a->n, sizeof(float));
    if (a->epilogue == EPI_ACT_GRAD) {
        OP_REQUIRE(op, a->ldaux >= a->n, "ldaux %d, n %d", a->ldaux, a->n);
        OP_REQUIRE_SPAN(op, a->aux, mat_extent(a->m, a->n, a->ldaux), sizeof(float));
    }
    return MC_OK;
}

/* The contract of loss (loss_args). */
mc_status op_contract_loss(const loss_args *a)
{
    const char *op = op_name(OP_LOSS);
    OP_REQUIRE(op, output_valid(a->kind), "kind %d", (int)a->kind);
    OP_REQUIRE(op, a->count >= 1 && a->classes >= 1, "count %d, classes %d", a->count,
               a->classes);
    OP_REQUIRE_OPT_SPAN(op, a->delta, prod(a->count, a->classes), sizeof(float));
    OP_REQUIRE_SPAN(op, a->loss, a->count, sizeof(float));
    OP_REQUIRE_SPAN(op, a->correct, a->count, sizeof(int32_t));
    OP_REQUIRE_SPAN(op, a->logits, prod(a->count, a->classes), sizeof(float));
    OP_REQUIRE_SPAN(op, a->labels, a->count, sizeof(int32_t));
    return MC_OK;
}

/* The output step's contract, reported as operation `op` (it is part of a fused one too). */
static mc_status output_step_fields(const char *op, const output_step_args *a)
{
    OP_REQUIRE(op, output_valid(a->kind), "kind %d", (int)a->kind);
    OP_REQUIRE(op, a->count >= 1 && a->hidden >= 1, "count %d, hidden %d", a->count, a->hidden);
    OP_REQUIRE(op, a->classes >= 1 && a->classes <= OUTPUT_STEP_MAX_CLASSES,
               "classes %d, OUTPUT_STEP_MAX_CLASSES %d", a->classes, OUTPUT_STEP_MAX_CLASSES);
    OP_REQUIRE_SPAN(op, a->h, prod(a->count, a->hidden), sizeof(float));
    OP_REQUIRE_SPAN(op, a->W, prod(a->hidden, a->classes), sizeof(float));
    OP_REQUIRE_SPAN(op, a->b, a->classes, sizeof(float));
    OP_REQUIRE_SPAN(op, a->labels, a->count, sizeof(int32_t));
    OP_REQUIRE_SPAN(op, a->delta_out, prod(a->count, a->classes), sizeof(float));
    if (a->delta_hidden.b) {
        OP_REQUIRE(op, act_valid(a->hidden_act), "hidden_act %d", (int)a->hidden_act);
        OP_REQUIRE_SPAN(op, a->delta_hidden, prod(a->count, a->hidden), sizeof(float));
    }
    OP_REQUIRE_SPAN(op, a->loss, a->count, sizeof(float));
    OP_REQUIRE_SPAN(op, a->correct, a->count, sizeof(int32_t));
    return MC_OK;
}

/* The contract of output_step (output_step_args). */
mc_status op_contract_output_step(const output_step_args *a)
{
    return output_step_fields(op_name(OP_OUTPUT_STEP), a);
}

/* The contract of probs (probs_args). */
mc_status op_contract_probs(const probs_args *a)
{
    const char *op = op_name(OP_PROBS);
    OP_REQUIRE(op, output_valid(a->kind), "kind %d", (int)a->kind);
    OP_REQUIRE(op, a->count >= 1 && a->classes >= 1, "count %d, classes %d", a->count,
               a->classes);
    OP_REQUIRE_SPAN(op, a->out, prod(a->count, a->classes), sizeof(float));
    OP_REQUIRE_SPAN(op, a->logits, prod(a->count, a->classes), sizeof(float));
    return MC_OK;
}

/* The rule's contract for n parameters: a kind both backends implement (update_rule),
   Adam's moments apart (moment2 >= n), betas in [0, 1) and a positive eps. */
static mc_status rule_fields(const char *op, const update_rule *rule, size_t n)
{
    OP_REQUIRE(op, rule->kind >= UPDATE_SGD && rule->kind <= UPDATE_ADAMW, "rule kind %d",
               (int)rule->kind);
    if (rule->kind == UPDATE_ADAM || rule->kind == UPDATE_ADAMW) {
        OP_REQUIRE(op, rule->moment2 >= n && rule->moment2 <= INT_MAX, "moment2 %zu, n %zu",
                   rule->moment2, n);
        OP_REQUIRE(op, rule->beta1 >= 0.0f && rule->beta1 < 1.0f && rule->beta2 >= 0.0f &&
                           rule->beta2 < 1.0f && rule->eps > 0.0f,
                   "beta1 %g, beta2 %g, eps %g", rule->beta1, rule->beta2, rule->eps);
    }
    return MC_OK;
}

/* Floats of state from the state's offset that n parameters' rule reads and writes. */
static size_t state_span(const update_rule *rule, size_t n)
{
    return update_rule_state_slots(rule) == 2 ? rule->moment2 + n : n;
}

/* The update's contract, reported as operation `op` (it is part of a fused one too). */
static mc_status update_fields(const char *op, const update_args *a)
{
    mc_status st = rule_fields(op, &a->rule, a->n);
    if (st)
        return st;
    OP_REQUIRE(op, a->n >= 1, "n %zu", a->n);
    OP_REQUIRE_SPAN(op, a->params, a->n, sizeof(float));
    OP_REQUIRE_SPAN(op, a->grads, a->n, sizeof(float));
    if (update_rule_has_state(&a->rule))
        OP_REQUIRE_SPAN(op, a->state, state_span(&a->rule, a->n), sizeof(float));
    return MC_OK;
}

/* The contract of update (update_args). */
mc_status op_contract_update(const update_args *a)
{
    return update_fields(op_name(OP_UPDATE), a);
}

/* The contract of sum (sum_args: n may be 0). */
mc_status op_contract_sum(const sum_args *a)
{
    const char *op = op_name(OP_SUM);
    OP_REQUIRE(op, a->n >= 0, "n %d", a->n);
    OP_REQUIRE_SPAN(op, a->loss_sum, 1, sizeof(float));
    OP_REQUIRE_SPAN(op, a->correct_sum, 1, sizeof(int32_t));
    OP_REQUIRE_SPAN(op, a->loss, a->n, sizeof(float));
    OP_REQUIRE_SPAN(op, a->correct, a->n, sizeof(int32_t));
    return MC_OK;
}

/* The pixel lists' contract: both arrays, the offsets of at least one image. */
static mc_status pixel_lists_fields(const char *op, const pixel_lists *images)
{
    OP_REQUIRE_SPAN(op, images->pixels, 0, sizeof(uint32_t));
    OP_REQUIRE_SPAN(op, images->offsets, PIXEL_BANDS + 1, sizeof(int32_t));
    return MC_OK;
}

/* The contract of sequential (sequential_args). */
mc_status op_contract_sequential(const sequential_args *a)
{
    const char *op = op_name(OP_SEQUENTIAL);
    const mlp_spec *s = a->spec;
    OP_REQUIRE(op, s != NULL, "no network given");
    OP_REQUIRE(op, s->n_layers >= 1 && s->n_layers <= SEQ_MAX_LAYERS,
               "n_layers %d, SEQ_MAX_LAYERS %d", s->n_layers, SEQ_MAX_LAYERS);
    for (int l = 0; l <= s->n_layers; l++)
        OP_REQUIRE(op, s->sizes[l] >= 1, "sizes[%d] %d", l, s->sizes[l]);
    OP_REQUIRE(op, act_valid(s->hidden_act), "hidden_act %d", (int)s->hidden_act);
    OP_REQUIRE(op, output_valid(s->output), "output %d", (int)s->output);
    OP_REQUIRE(op, a->count >= 1 && a->start >= 0, "count %d, start %d", a->count, a->start);
    mc_status st = rule_fields(op, &a->rule, mlp_param_count(s));
    if (st)
        return st;
    OP_REQUIRE(op, a->first_step >= 0 && a->schedule.kind >= SCHEDULE_CONSTANT &&
                       a->schedule.kind <= SCHEDULE_ONECYCLE,
               "first_step %d, schedule kind %d", a->first_step, (int)a->schedule.kind);
    OP_REQUIRE_SPAN(op, a->params, mlp_param_count(s), sizeof(float));
    if (update_rule_has_state(&a->rule))
        OP_REQUIRE_SPAN(op, a->state, state_span(&a->rule, mlp_param_count(s)), sizeof(float));
    OP_REQUIRE_SPAN(op, a->scratch, seq_scratch_floats(s), sizeof(float));
    OP_REQUIRE_SPAN(op, a->images, s->sizes[0], 1); /* at least one image */
    OP_REQUIRE_SPAN(op, a->labels, 1, 1);
    OP_REQUIRE_SPAN(op, a->index, plus(a->start, a->count), sizeof(int32_t));
    OP_REQUIRE_SPAN(op, a->loss, plus(a->start, a->count), sizeof(float));
    OP_REQUIRE_SPAN(op, a->correct, plus(a->start, a->count), sizeof(int32_t));
    OP_REQUIRE(op, (a->sparse.pixels.b == NULL) == (a->sparse.offsets.b == NULL),
               "pixels %s, offsets %s", a->sparse.pixels.b ? "given" : "NULL",
               a->sparse.offsets.b ? "given" : "NULL");
    if (a->sparse.pixels.b)
        return pixel_lists_fields(op, &a->sparse);
    return MC_OK;
}

/* sparse_forward's contract, reported as operation `op` (it is part of a fused one too). */
static mc_status sparse_forward_fields(const char *op, const sparse_forward_args *a)
{
    OP_REQUIRE(op, a->n >= 1 && a->dim >= 1 && a->rows >= 1, "n %d, dim %d, rows %d", a->n,
               a->dim, a->rows);
    OP_REQUIRE(op, a->start >= 0, "start %d", a->start);
    OP_REQUIRE(op, act_valid(a->act), "act %d", (int)a->act);
    OP_REQUIRE_SPAN(op, a->out, prod(a->rows, a->n), sizeof(float));
    OP_REQUIRE_SPAN(op, a->W, prod(a->dim, a->n), sizeof(float));
    OP_REQUIRE_SPAN(op, a->bias, a->n, sizeof(float));
    mc_status st = pixel_lists_fields(op, &a->images);
    if (st)
        return st;
    OP_REQUIRE_SPAN(op, a->index, plus(a->start, a->rows), sizeof(int32_t));
    OP_REQUIRE_OPT_SPAN(op, a->y, a->rows, sizeof(int32_t));
    OP_REQUIRE_OPT_SPAN(op, a->labels, 1, 1);
    return MC_OK;
}

/* The contract of sparse_forward (sparse_forward_args). */
mc_status op_contract_sparse_forward(const sparse_forward_args *a)
{
    return sparse_forward_fields(op_name(OP_SPARSE_FORWARD), a);
}

/* The contract of sparse_forward_output (sparse_forward_output_args): both parts, linked. */
mc_status op_contract_sparse_forward_output(const sparse_forward_output_args *a)
{
    const char *op = op_name(OP_SPARSE_FORWARD_OUTPUT);
    const sparse_forward_args *f = &a->f;
    const output_step_args *o = &a->o;
    mc_status st = sparse_forward_fields(op, f);
    if (!st)
        st = output_step_fields(op, o);
    if (st)
        return st;
    OP_REQUIRE(op, f->n <= SPARSE_OUTPUT_MAX_HIDDEN, "f.n %d, SPARSE_OUTPUT_MAX_HIDDEN %d", f->n,
               SPARSE_OUTPUT_MAX_HIDDEN);
    OP_REQUIRE(op, o->hidden == f->n, "o.hidden %d, f.n %d", o->hidden, f->n);
    OP_REQUIRE(op, o->count == f->rows, "o.count %d, f.rows %d", o->count, f->rows);
    OP_REQUIRE(op, o->h.b == f->out.b && o->h.off == f->out.off,
               "the output step must read the hidden layer just computed: o.h.off %zu, "
               "f.out.off %zu, %s buffer",
               o->h.off, f->out.off, o->h.b == f->out.b ? "same" : "another");
    OP_REQUIRE(op, f->y.b != NULL, "the labels are copied to f.y for the output step");
    OP_REQUIRE(op, o->labels.b == f->y.b && o->labels.off == f->y.off,
               "the output step must read the labels just copied: o.labels.off %zu, "
               "f.y.off %zu, %s buffer",
               o->labels.off, f->y.off, o->labels.b == f->y.b ? "same" : "another");
    OP_REQUIRE(op, o->delta_hidden.b != NULL, "the hidden delta is always computed");
    return MC_OK;
}

/* sparse_grad's contract, reported as operation `op` (it is part of a fused one too). */
static mc_status sparse_grad_fields(const char *op, const sparse_grad_args *a)
{
    OP_REQUIRE(op, a->n >= 1 && a->dim >= 1 && a->rows >= 1, "n %d, dim %d, rows %d", a->n,
               a->dim, a->rows);
    OP_REQUIRE(op, a->start >= 0, "start %d", a->start);
    OP_REQUIRE_SPAN(op, a->out, prod(a->dim + 1, a->n), sizeof(float));
    OP_REQUIRE_SPAN(op, a->delta, prod(a->rows, a->n), sizeof(float));
    mc_status st = pixel_lists_fields(op, &a->images);
    if (st)
        return st;
    OP_REQUIRE_SPAN(op, a->index, plus(a->start, a->rows), sizeof(int32_t));
    OP_REQUIRE_SPAN(op, a->scratch, sparse_grad_scratch(a->dim, a->n), sizeof(float));
    return MC_OK;
}

/* The contract of sparse_grad (sparse_grad_args). */
mc_status op_contract_sparse_grad(const sparse_grad_args *a)
{
    return sparse_grad_fields(op_name(OP_SPARSE_GRAD), a);
}

/* The contract of sparse_backward_update (sparse_backward_update_args): both parts, linked. */
mc_status op_contract_sparse_backward_update(const sparse_backward_update_args *a)
{
    const char *op = op_name(OP_SPARSE_BACKWARD_UPDATE);
    const sparse_grad_args *g = &a->g;
    const update_args *u = &a->upd;
    mc_status st = sparse_grad_fields(op, g);
    if (!st)
        st = update_fields(op, u);
    if (st)
        return st;
    OP_REQUIRE(op, g->accumulate == 0, "g.accumulate %d", g->accumulate);
    OP_REQUIRE(op, g->out.b == u->grads.b && g->out.off == u->grads.off,
               "the first layer's gradient goes where the update reads it: g.out.off %zu, "
               "upd.grads.off %zu, %s buffer",
               g->out.off, u->grads.off, g->out.b == u->grads.b ? "same" : "another");
    OP_REQUIRE(op, a->classes >= 0 && a->classes <= OUTPUT_STEP_MAX_CLASSES,
               "classes %d, OUTPUT_STEP_MAX_CLASSES %d", a->classes, OUTPUT_STEP_MAX_CLASSES);
    size_t first = prod(g->dim + 1, g->n), second = a->classes ? prod(g->n + 1, a->classes) : 0;
    OP_REQUIRE(op, u->n == first + second, "upd.n %zu, (dim + 1) * n %zu, (n + 1) * classes %zu",
               u->n, first, second);
    if (a->classes) {
        OP_REQUIRE_SPAN(op, a->h, prod(g->rows, g->n), sizeof(float));
        OP_REQUIRE_SPAN(op, a->delta2, prod(g->rows, a->classes), sizeof(float));
    }
    return MC_OK;
}

/* Whether v is a finite float (not NaN, not infinite). */
static int finite_float(float v)
{
    return v == v && v - v == 0.0f;
}

/* The contract of dropout (dropout_args): sizes, strides, spans, and y either x itself (in
   place: same offset and stride) or apart from it. */
mc_status op_contract_dropout(const dropout_args *a)
{
    const char *op = op_name(OP_DROPOUT);
    OP_REQUIRE(op, a->rows >= 1 && a->cols >= 1, "rows %d, cols %d", a->rows, a->cols);
    OP_REQUIRE(op, a->row0 >= 0 && a->row0 <= INT_MAX - a->rows, "row0 %d, rows %d", a->row0,
               a->rows);
    OP_REQUIRE(op, a->ld_x >= a->cols && a->ld_y >= a->cols, "ld_x %d, ld_y %d, cols %d",
               a->ld_x, a->ld_y, a->cols);
    OP_REQUIRE(op, finite_float(a->scale), "scale %g", a->scale);
    size_t ex = mat_extent(a->rows, a->cols, a->ld_x), ey = mat_extent(a->rows, a->cols, a->ld_y);
    OP_REQUIRE_SPAN(op, a->x, ex, sizeof(float));
    OP_REQUIRE_SPAN(op, a->y, ey, sizeof(float));
    if (a->x.b == a->y.b) {
        int in_place = a->x.off == a->y.off && a->ld_x == a->ld_y;
        int apart = a->x.off + ex <= a->y.off || a->y.off + ey <= a->x.off;
        OP_REQUIRE(op, in_place || apart,
                   "y overlaps x without being x: x.off %zu, ld_x %d, y.off %zu, ld_y %d",
                   a->x.off, a->ld_x, a->y.off, a->ld_y);
    }
    return MC_OK;
}

/* The contract of augment (augment_args): sizes within AUGMENT_MAX_PIXELS, the parts'
   settings in range, the Gaussian's weights when the elastic part is on. */
mc_status op_contract_augment(const augment_args *a)
{
    const char *op = op_name(OP_AUGMENT);
    OP_REQUIRE(op, a->count >= 1 && a->start >= 0, "count %d, start %d", a->count, a->start);
    OP_REQUIRE(op, a->width >= 1 && a->height >= 1, "width %d, height %d", a->width, a->height);
    size_t dim = prod(a->width, a->height);
    OP_REQUIRE(op, dim <= AUGMENT_MAX_PIXELS, "width %d x height %d, AUGMENT_MAX_PIXELS %d",
               a->width, a->height, AUGMENT_MAX_PIXELS);
    OP_REQUIRE(op, finite_float(a->shift) && a->shift >= 0.0f, "shift %g", a->shift);
    OP_REQUIRE(op, a->rotate_deg >= 0.0f && a->rotate_deg <= 180.0f, "rotate_deg %g",
               a->rotate_deg);
    OP_REQUIRE(op, a->scale >= 0.0f && a->scale <= 0.9f, "scale %g", a->scale);
    OP_REQUIRE(op, finite_float(a->alpha) && a->alpha >= 0.0f, "alpha %g", a->alpha);
    OP_REQUIRE_SPAN(op, a->x, prod(a->count, dim), sizeof(float));
    OP_REQUIRE_SPAN(op, a->images, dim, 1); /* at least one image */
    OP_REQUIRE_SPAN(op, a->index, plus(a->start, a->count), sizeof(int32_t));
    if (a->ids.b)
        OP_REQUIRE_SPAN(op, a->ids, plus(a->start, a->count), sizeof(int32_t));
    if (a->alpha > 0.0f) {
        OP_REQUIRE(op, a->sigma > 0.0f && augment_radius(a->sigma) <= AUGMENT_MAX_RADIUS,
                   "sigma %g, radius ceil(3 sigma) %d, AUGMENT_MAX_RADIUS %d", a->sigma,
                   augment_radius(a->sigma), AUGMENT_MAX_RADIUS);
        OP_REQUIRE_SPAN(op, a->gauss, 2 * (size_t)augment_radius(a->sigma) + 1, sizeof(float));
    }
    return MC_OK;
}

/* Whether the spans [a_off, a_off + a_n) and [b_off, b_off + b_n) of one buffer are apart. */
static int spans_apart(size_t a_off, size_t a_n, size_t b_off, size_t b_n)
{
    return a_off + a_n <= b_off || b_off + b_n <= a_off;
}

/* The contract of window_images (window_images_args): sizes, the spans of every buffer for
   the extents named, the outputs in buffers of their own (or one, apart). */
mc_status op_contract_window_images(const window_images_args *a)
{
    const char *op = op_name(OP_WINDOW_IMAGES);
    OP_REQUIRE(op, a->count >= 1 && a->dim >= 1, "count %d, dim %d", a->count, a->dim);
    OP_REQUIRE(op, a->slot0 >= 0 && a->slot0 <= INT_MAX - a->count, "slot0 %d, count %d",
               a->slot0, a->count);
    OP_REQUIRE(op, a->part_first >= 0 && a->part_n >= 1, "part_first %d, part_n %d",
               a->part_first, a->part_n);
    size_t slots = plus(a->slot0, a->count);
    size_t out_n = prod(slots, a->dim), in_n = prod(a->part_n, a->dim);
    OP_REQUIRE_SPAN(op, a->images_out, out_n, 1);
    OP_REQUIRE_SPAN(op, a->labels_out, slots, 1);
    OP_REQUIRE_SPAN(op, a->images, in_n, 1);
    OP_REQUIRE_SPAN(op, a->labels, a->part_n, 1);
    OP_REQUIRE_SPAN(op, a->ids, a->count, sizeof(int32_t));
    /* what is written lies in buffers nothing is read from, the two outputs apart */
    for (int o = 0; o < 2; o++) {
        const buf *out = o ? a->labels_out.b : a->images_out.b;
        OP_REQUIRE(op, out != a->images.b && out != a->labels.b && out != a->ids.b,
                   "%s shares a buffer with images, labels or ids",
                   o ? "labels_out" : "images_out");
    }
    OP_REQUIRE(op,
               a->images_out.b != a->labels_out.b ||
                   spans_apart(a->images_out.off, out_n, a->labels_out.off, slots),
               "images_out overlaps labels_out in one buffer: bytes [%zu, +%zu) and [%zu, +%zu)",
               a->images_out.off, out_n, a->labels_out.off, slots);
    return MC_OK;
}
