/*
 * The CPU reference backend: every operation as an obvious loop with double accumulators,
 * written to be plainly right. It is the ground truth the OpenCL kernels are tested against,
 * and a usable backend (`--device cpu`).
 */
#include <float.h>
#include <stdint.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/activations.h"
#include "backend/backend_ops.h"
#include "backend/device_limits.h"
#include "backend/op_contract.h"
#include "philox.h"

#define F32(r) ((float *)(r).b->handle + (r).off)
#define I32(r) ((int *)(r).b->handle + (r).off)
#define U8(r) ((unsigned char *)(r).b->handle + (r).off)

/* A host array of `bytes` bytes, zeroed; MC_ERR_NOMEM past the limits (backend_charge). */
static mc_status cpu_alloc(backend *be, size_t bytes, buf **out)
{
    mc_status st = backend_charge(be, bytes);
    if (st)
        return st;
    buf *b = calloc(1, sizeof *b);
    if (b)
        b->handle = calloc(bytes ? bytes : 1, 1);
    if (!b || !b->handle) {
        free(b);
        backend_uncharge(be, bytes);
        return MC_ERR_NOMEM;
    }
    b->bytes = bytes;
    *out = b;
    return MC_OK;
}

/* alloc_host: the reference reads host memory itself, so the buffer is host's bytes where
   they are (*in_place = 1; release leaves them to the caller). */
static mc_status cpu_alloc_host(backend *be, const void *host, size_t bytes, int *in_place,
                                buf **out)
{
    OP_REQUIRE("alloc_host", host != NULL || bytes == 0, "host NULL, bytes %zu", bytes);
    mc_status st = backend_charge(be, bytes);
    if (st)
        return st;
    buf *b = calloc(1, sizeof *b);
    if (!b) {
        backend_uncharge(be, bytes);
        return MC_ERR_NOMEM;
    }
    b->bytes = bytes;
    b->handle = (void *)host; /* never written through: host_copy */
    b->host_copy = 1;
    *in_place = 1;
    *out = b;
    return MC_OK;
}

/* Frees a buffer (NULL: nothing); alloc_host's memory is the caller's. */
static void cpu_release(backend *be, buf *b)
{
    if (!b)
        return;
    backend_uncharge(be, b->bytes);
    if (!b->host_copy)
        free(b->handle);
    free(b);
}

/* The checks of write and write_async (reported as `op`): b is not alloc_host's and
   [off, off + bytes) lies within it. */
static mc_status cpu_write_limits(const char *op, const buf *b, size_t off, size_t bytes)
{
    OP_REQUIRE(op, !b->host_copy, "the buffer is alloc_host's (%zu bytes): kernels read it, "
               "nothing writes it", b->bytes);
    OP_REQUIRE(op, off <= b->bytes && bytes <= b->bytes - off,
               "offset %zu + %zu bytes, buffer of %zu", off, bytes, b->bytes);
    return MC_OK;
}

/* Copies bytes from src into b at off for operation `op` (not into alloc_host's buffer;
   within b). */
static mc_status cpu_copy_in(const char *op, buf *b, size_t off, const void *src, size_t bytes)
{
    mc_status st = cpu_write_limits(op, b, off, bytes);
    if (st)
        return st;
    memcpy((unsigned char *)b->handle + off, src, bytes);
    return MC_OK;
}

/* write: the copy, at once. */
static mc_status cpu_write(backend *be, buf *b, size_t off, const void *src, size_t bytes)
{
    (void)be;
    return cpu_copy_in("write", b, off, src, bytes);
}

/* write_async: the reference queues nothing, so the copy is made at once too. */
static mc_status cpu_write_async(backend *be, buf *b, size_t off, const void *src, size_t bytes)
{
    (void)be;
    return cpu_copy_in("write_async", b, off, src, bytes);
}

/* Copies bytes of b from off into dst (within b: the caller's to ensure). */
static mc_status cpu_read(backend *be, buf *b, size_t off, void *dst, size_t bytes)
{
    (void)be;
    memcpy(dst, (unsigned char *)b->handle + off, bytes);
    return MC_OK;
}

/* read_async: the reference queues nothing, so the copy is made at once (as cpu_read). */
static mc_status cpu_read_async(backend *be, buf *b, size_t off, void *dst, size_t bytes)
{
    return cpu_read(be, b, off, dst, bytes);
}

/* Nothing is ever queued: every operation is done when it returns. */
static mc_status cpu_finish(backend *be)
{
    (void)be;
    return MC_OK;
}

/* gather (gather_args): x = images[index[start + i]] / 255, y = their labels. */
static mc_status cpu_gather(backend *be, const gather_args *a)
{
    (void)be;
    OP_CONTRACT(gather, a);
    const int *index = I32(a->index);
    float *x = F32(a->x);
    for (int i = 0; i < a->count; i++) {
        int src = index[a->start + i];
        const unsigned char *img = U8(a->images) + (size_t)src * a->dim;
        for (int j = 0; j < a->dim; j++)
            x[(size_t)i * a->dim + j] = (float)img[j] * (1.0f / 255.0f); /* as the kernel */
        if (a->y.b)
            I32(a->y)[i] = a->labels.b ? U8(a->labels)[src] : 0;
    }
    return MC_OK;
}

/* Stores one finished row of a GEMM: alpha·acc through the epilogue into C. */
static void gemm_store_row(const gemm_args *g, int i, const double *acc)
{
    float *c = F32(g->c) + (size_t)i * g->ldc;
    for (int j = 0; j < g->n; j++) {
        double v = g->alpha * acc[j];
        switch (g->epilogue) {
        case EPI_NONE:
            if (g->beta != 0.0f)
                v += (double)g->beta * c[j];
            break;
        case EPI_BIAS_ACT: v = act_apply(g->act, v + F32(g->bias)[j]); break;
        case EPI_ACT_GRAD:
            v *= act_grad_from_output(g->act, F32(g->aux)[(size_t)i * g->ldaux + j]);
            break;
        }
        c[j] = (float)v;
    }
}

/* C = epilogue(alpha·op(A)·op(B)) (gemm_args), in double; the contract already checked. */
static mc_status gemm_run(const gemm_args *g)
{
    const float *A = F32(g->a), *B = F32(g->b);
    double *acc = malloc(sizeof(double) * (size_t)g->n);
    if (!acc)
        return MC_ERR_NOMEM;
    for (int i = 0; i < g->m; i++) {
        if (g->trans_b && !g->trans_a) {
            /* both operands contiguous along k: dot products */
            const float *arow = A + (size_t)i * g->lda;
            for (int j = 0; j < g->n; j++) {
                const float *brow = B + (size_t)j * g->ldb;
                double s = 0.0;
                for (int p = 0; p < g->k; p++)
                    s += (double)arow[p] * brow[p];
                acc[j] = s;
            }
        } else {
            for (int j = 0; j < g->n; j++)
                acc[j] = 0.0;
            int ones = g->a_ones_row && i == g->m - 1;
            for (int p = 0; p < g->k; p++) {
                double av = ones         ? 1.0
                            : g->trans_a ? A[(size_t)p * g->lda + i]
                                         : A[(size_t)i * g->lda + p];
                if (!g->trans_b) {
                    const float *brow = B + (size_t)p * g->ldb;
                    for (int j = 0; j < g->n; j++)
                        acc[j] += av * brow[j];
                } else {
                    for (int j = 0; j < g->n; j++)
                        acc[j] += av * B[(size_t)j * g->ldb + p];
                }
            }
        }
        gemm_store_row(g, i, acc);
    }
    free(acc);
    return MC_OK;
}

/* gemm (gemm_args). */
static mc_status cpu_gemm(backend *be, const gemm_args *g)
{
    (void)be;
    OP_CONTRACT(gemm, g);
    return gemm_run(g);
}

/* Index of the first maximum of z[0..n). */
static int argmax_first(const float *z, int n)
{
    int best = 0;
    for (int c = 1; c < n; c++)
        if (z[c] > z[best])
            best = c;
    return best;
}

/* Output values of one row: softmax(z) (max-subtracted) or sigmoid(z), in double. */
static void output_values(output_kind kind, const float *z, int classes, double *o)
{
    if (kind == OUT_SOFTMAX_XENT) {
        double zmax = z[argmax_first(z, classes)], denom = 0.0;
        for (int c = 0; c < classes; c++)
            denom += o[c] = exp((double)z[c] - zmax);
        for (int c = 0; c < classes; c++)
            o[c] /= denom;
    } else {
        for (int c = 0; c < classes; c++)
            o[c] = 1.0 / (1.0 + exp(-(double)z[c]));
    }
}

/* Loss, hit and (when delta is not NULL) the scaled delta of one row (see loss_args). */
static void output_row(output_kind kind, const float *z, int classes, int y, double scale,
                       float *delta, float *loss, int *correct)
{
    double o[classes], l = 0.0;
    output_values(kind, z, classes, o);
    if (kind == OUT_SOFTMAX_XENT) { /* log sum exp(z - zmax) - (z_y - zmax): never clamped */
        double zmax = z[argmax_first(z, classes)], denom = 0.0;
        for (int c = 0; c < classes; c++)
            denom += exp((double)z[c] - zmax);
        l = log(denom) - ((double)z[y] - zmax);
    } else {
        for (int c = 0; c < classes; c++)
            l += (o[c] - (c == y)) * (o[c] - (c == y));
        l /= classes;
    }
    *loss = (float)l;
    *correct = argmax_first(z, classes) == y;
    for (int c = 0; delta && c < classes; c++)
        delta[c] = (float)((o[c] - (c == y)) * scale);
}

/* Loss, hit and delta of every row (loss_args); the contract already checked. */
static mc_status loss_run(const loss_args *a)
{
    for (int i = 0; i < a->count; i++)
        output_row(a->kind, F32(a->logits) + (size_t)i * a->classes, a->classes,
                   I32(a->labels)[i], a->scale,
                   a->delta.b ? F32(a->delta) + (size_t)i * a->classes : NULL,
                   F32(a->loss) + i, I32(a->correct) + i);
    return MC_OK;
}

/* loss (loss_args). */
static mc_status cpu_loss(backend *be, const loss_args *a)
{
    (void)be;
    OP_CONTRACT(loss, a);
    return loss_run(a);
}

/* The fused output step as the composition it stands for: GEMM, loss, GEMM (NT)
   (output_step_args); the contract already checked. */
static mc_status output_step_run(const output_step_args *a)
{
    size_t nz = (size_t)a->count * a->classes;
    buf z = {.bytes = nz * sizeof(float), .handle = malloc(nz * sizeof(float) + 1)};
    if (!z.handle)
        return MC_ERR_NOMEM;
    gemm_args fwd = {.m = a->count, .n = a->classes, .k = a->hidden, .a = a->h,
                     .lda = a->hidden, .b = a->W, .ldb = a->classes, .c = bref_at(&z, 0),
                     .ldc = a->classes, .alpha = 1.0f, .epilogue = EPI_BIAS_ACT, .bias = a->b,
                     .act = ACT_IDENTITY};
    loss_args la = {a->kind, a->delta_out, a->loss,     a->correct, bref_at(&z, 0),
                    a->labels, a->count,  a->classes, a->scale};
    mc_status st = gemm_run(&fwd);
    if (!st)
        st = loss_run(&la);
    if (!st && a->delta_hidden.b) {
        gemm_args back = {.trans_b = 1, .m = a->count, .n = a->hidden, .k = a->classes,
                          .a = a->delta_out, .lda = a->classes, .b = a->W, .ldb = a->classes,
                          .c = a->delta_hidden, .ldc = a->hidden, .alpha = 1.0f,
                          .epilogue = EPI_ACT_GRAD, .act = a->hidden_act, .aux = a->h,
                          .ldaux = a->hidden};
        st = gemm_run(&back);
    }
    free(z.handle);
    return st;
}

/* output_step (output_step_args). */
static mc_status cpu_output_step(backend *be, const output_step_args *a)
{
    (void)be;
    OP_CONTRACT(output_step, a);
    return output_step_run(a);
}

/* probs (probs_args): softmax or sigmoid of every row of logits. */
static mc_status cpu_probs(backend *be, const probs_args *a)
{
    (void)be;
    OP_CONTRACT(probs, a);
    double o[a->classes];
    for (int i = 0; i < a->count; i++) {
        output_values(a->kind, F32(a->logits) + (size_t)i * a->classes, a->classes, o);
        for (int c = 0; c < a->classes; c++)
            F32(a->out)[(size_t)i * a->classes + c] = (float)o[c];
    }
    return MC_OK;
}

/*
 * The update rule r on one parameter *p with gradient g, in double, its state at *state
 * (read and written only where update_rule_has_state; else may be NULL; Adam's second
 * moment at state[r->moment2]), the formulas of update.cl / kernel_interface.h:
 *   SGD:      g += weight_decay·p; v = momentum·v + g (momentum != 0); p -= lr·v
 *   NESTEROV: the same, then p -= lr·(g + momentum·v)
 *   ADAM:     g += weight_decay·p;  ADAMW: p *= 1 - lr·weight_decay
 *             m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g²; p -= step_size·m / (sqrt(v)/bc2_sqrt + eps)
 * Every operation that updates parameters (update, sequential, sparse_backward_update)
 * goes through it.
 */
static void cpu_update_one(const update_rule *r, float *p, float *state, double g)
{
    double lr = r->lr, momentum = r->momentum, wd = r->weight_decay;
    switch (r->kind) {
    case UPDATE_SGD:
    case UPDATE_NESTEROV:
        g += wd * *p;
        if (momentum != 0.0) {
            *state = (float)(momentum * *state + g);
            g = r->kind == UPDATE_NESTEROV ? g + momentum * *state : *state;
        }
        *p = (float)(*p - lr * g);
        break;
    case UPDATE_ADAM:
    case UPDATE_ADAMW: {
        double pv = *p, b1 = r->beta1, b2 = r->beta2;
        if (r->kind == UPDATE_ADAMW)
            pv *= 1.0 - lr * wd;
        else
            g += wd * pv;
        double m = b1 * state[0] + (1.0 - b1) * g;
        double v = b2 * state[r->moment2] + (1.0 - b2) * g * g;
        state[0] = (float)m;
        state[r->moment2] = (float)v;
        *p = (float)(pv - (double)r->step_size * m / (sqrt(v) / r->bc2_sqrt + r->eps));
        break;
    }
    }
}

/* The rule over n parameters (update_args); the contract already checked. */
static mc_status update_run(const update_args *a)
{
    float *p = F32(a->params), *g = F32(a->grads);
    float *v = update_rule_has_state(&a->rule) ? F32(a->state) : NULL;
    for (size_t i = 0; i < a->n; i++)
        cpu_update_one(&a->rule, &p[i], v ? &v[i] : NULL, g[i]);
    return MC_OK;
}

/* update (update_args). */
static mc_status cpu_update(backend *be, const update_args *a)
{
    (void)be;
    OP_CONTRACT(update, a);
    return update_run(a);
}

/* sum (sum_args): the loss and hit sums, in double and 64-bit. */
static mc_status cpu_sum(backend *be, const sum_args *a)
{
    (void)be;
    OP_CONTRACT(sum, a);
    double s = 0.0;
    long long c = 0;
    for (int i = 0; i < a->n; i++) {
        s += F32(a->loss)[i];
        c += I32(a->correct)[i];
    }
    F32(a->loss_sum)[0] = (float)s;
    I32(a->correct_sum)[0] = (int)c;
    return MC_OK;
}

/* sequential (sequential_args): batch-1 steps over count images in order; the pixel lists
   are not used (the dense loops give the same result). */
static mc_status cpu_sequential(backend *be, const sequential_args *a)
{
    (void)be;
    OP_CONTRACT(sequential, a);
    const mlp_spec *s = a->spec;
    int L = s->n_layers;
    float *act[SEQ_MAX_LAYERS + 1], *delta[SEQ_MAX_LAYERS + 1];
    float *scratch = F32(a->scratch);
    for (int l = 0; l <= L; l++) {
        act[l] = scratch;
        delta[l] = scratch + s->sizes[l];
        scratch += 2 * (size_t)s->sizes[l];
    }
    float *P = F32(a->params), *V = update_rule_has_state(&a->rule) ? F32(a->state) : NULL;
    for (int n = 0; n < a->count; n++) {
        int src = I32(a->index)[a->start + n];
        const unsigned char *img = U8(a->images) + (size_t)src * s->sizes[0];
        update_rule rule = update_rule_at(a->rule, &a->schedule, a->first_step + n);
        for (int i = 0; i < s->sizes[0]; i++)
            act[0][i] = (float)img[i] * (1.0f / 255.0f);
        for (int l = 0; l < L; l++) {
            int in = s->sizes[l], out = s->sizes[l + 1];
            const float *W = P + mlp_weight_offset(s, l), *b = P + mlp_bias_offset(s, l);
            for (int j = 0; j < out; j++) {
                double z = b[j];
                for (int i = 0; i < in; i++)
                    z += (double)act[l][i] * W[(size_t)i * out + j];
                act[l + 1][j] = (float)act_apply(mlp_layer_act(s, l), z);
            }
        }
        output_row(s->output, act[L], s->sizes[L], U8(a->labels)[src], 1.0, delta[L],
                   F32(a->loss) + a->start + n, I32(a->correct) + a->start + n);
        for (int l = L - 1; l >= 0; l--) {
            int in = s->sizes[l], out = s->sizes[l + 1];
            size_t wo = mlp_weight_offset(s, l), bo = mlp_bias_offset(s, l);
            float *W = P + wo, *b = P + bo;
            if (l > 0) { /* with W_l before its update */
                for (int i = 0; i < in; i++) {
                    double d = 0.0;
                    for (int j = 0; j < out; j++)
                        d += (double)delta[l + 1][j] * W[(size_t)i * out + j];
                    delta[l][i] = (float)(d * act_grad_from_output(s->hidden_act, act[l][i]));
                }
            }
            for (int i = 0; i < in; i++)
                for (int j = 0; j < out; j++) {
                    size_t k = (size_t)i * out + j;
                    cpu_update_one(&rule, &W[k], V ? V + wo + k : NULL,
                                   (double)act[l][i] * delta[l + 1][j]);
                }
            for (int j = 0; j < out; j++)
                cpu_update_one(&rule, &b[j], V ? V + bo + j : NULL, delta[l + 1][j]);
        }
    }
    return MC_OK;
}

/* x of one listed pixel (see pixel_lists): value * (1/255) in float, as gather does */
static double listed_value(uint32_t pk)
{
    return (float)(pk & 255u) * (1.0f / 255.0f);
}

/* act(X·W + b) and the labels from the pixel lists (sparse_forward_args); the contract
   already checked. */
static mc_status sparse_forward_run(const sparse_forward_args *a)
{
    double *acc = malloc(sizeof(double) * (size_t)a->n);
    if (!acc)
        return MC_ERR_NOMEM;
    const uint32_t *pixels = (const uint32_t *)a->images.pixels.b->handle + a->images.pixels.off;
    const int *offsets = I32(a->images.offsets);
    const float *W = F32(a->W), *bias = F32(a->bias);
    for (int p = 0; p < a->rows; p++) {
        int img = I32(a->index)[a->start + p];
        for (int j = 0; j < a->n; j++)
            acc[j] = 0.0;
        int last = offsets[(img + 1) * PIXEL_BANDS];
        for (int e = offsets[img * PIXEL_BANDS]; e < last; e++) {
            double x = listed_value(pixels[e]);
            const float *w = W + (size_t)(pixels[e] >> 8) * a->n;
            for (int j = 0; j < a->n; j++)
                acc[j] += x * w[j];
        }
        float *o = F32(a->out) + (size_t)p * a->n;
        for (int j = 0; j < a->n; j++)
            o[j] = (float)act_apply(a->act, acc[j] + bias[j]);
        if (a->y.b)
            I32(a->y)[p] = a->labels.b ? U8(a->labels)[img] : 0;
    }
    free(acc);
    return MC_OK;
}

/* sparse_forward (sparse_forward_args). */
static mc_status cpu_sparse_forward(backend *be, const sparse_forward_args *a)
{
    (void)be;
    OP_CONTRACT(sparse_forward, a);
    return sparse_forward_run(a);
}

/* sparse_forward_output (sparse_forward_output_args): the two operations it stands for. */
static mc_status cpu_sparse_forward_output(backend *be, const sparse_forward_output_args *a)
{
    (void)be;
    OP_CONTRACT(sparse_forward_output, a);
    mc_status st = sparse_forward_run(&a->f);
    return st ? st : output_step_run(&a->o);
}

/* [dW; db] (+)= [X, 1]ᵀ·δ from the pixel lists (sparse_grad_args), in double; the scratch
   is not used. The contract already checked. */
static mc_status sparse_grad_run(const sparse_grad_args *a)
{
    size_t count = ((size_t)a->dim + 1) * (size_t)a->n;
    double *acc = calloc(count, sizeof(double));
    if (!acc)
        return MC_ERR_NOMEM;
    const uint32_t *pixels = (const uint32_t *)a->images.pixels.b->handle + a->images.pixels.off;
    const int *offsets = I32(a->images.offsets);
    const float *d = F32(a->delta);
    for (int p = 0; p < a->rows; p++) {
        int img = I32(a->index)[a->start + p];
        const float *dp = d + (size_t)p * a->n;
        int last = offsets[(img + 1) * PIXEL_BANDS];
        for (int e = offsets[img * PIXEL_BANDS]; e < last; e++) {
            double x = listed_value(pixels[e]);
            double *row = acc + (size_t)(pixels[e] >> 8) * a->n;
            for (int j = 0; j < a->n; j++)
                row[j] += x * dp[j];
        }
        for (int j = 0; j < a->n; j++) /* the bias row */
            acc[(size_t)a->dim * a->n + j] += dp[j];
    }
    float *o = F32(a->out);
    for (size_t i = 0; i < count; i++)
        o[i] = (float)(a->accumulate ? o[i] + acc[i] : acc[i]);
    free(acc);
    return MC_OK;
}

/* sparse_grad (sparse_grad_args). */
static mc_status cpu_sparse_grad(backend *be, const sparse_grad_args *a)
{
    (void)be;
    OP_CONTRACT(sparse_grad, a);
    return sparse_grad_run(a);
}

/* sparse_backward_update (sparse_backward_update_args) as the operations it stands for:
   sparse_grad into upd.grads, the TN GEMM of [dW2; db2] after it, then the update. */
static mc_status cpu_sparse_backward_update(backend *be, const sparse_backward_update_args *a)
{
    (void)be;
    OP_CONTRACT(sparse_backward_update, a);
    const sparse_grad_args *g = &a->g;
    size_t first = ((size_t)g->dim + 1) * g->n;
    gemm_args top = {.trans_a = 1, .a_ones_row = 1, .m = g->n + 1, .n = a->classes, .k = g->rows,
                     .a = a->h, .lda = g->n, .b = a->delta2, .ldb = a->classes,
                     .c = bref_at(a->upd.grads.b, a->upd.grads.off + first), .ldc = a->classes,
                     .alpha = 1.0f, .epilogue = EPI_NONE};
    mc_status st = sparse_grad_run(g);
    if (!st && a->classes)
        st = gemm_run(&top);
    return st ? st : update_run(&a->upd);
}

/*
 * dropout (dropout_args): keep(r, c) from philox4x32_10, one block per four columns (word
 * c % 4 for column c), then y = x·scale or 0, the float multiply of dropout.cl. Row by
 * row, each element read before it is written, so y may be x.
 */
static mc_status cpu_dropout(backend *be, const dropout_args *a)
{
    (void)be;
    OP_CONTRACT(dropout, a);
    const float *x = F32(a->x);
    float *y = F32(a->y);
    mc_u32 k0 = (mc_u32)a->seed, k1 = (mc_u32)(a->seed >> 32);
    for (int r = 0; r < a->rows; r++) {
        const float *xr = x + (size_t)r * a->ld_x;
        float *yr = y + (size_t)r * a->ld_y;
        for (int c0 = 0; c0 < a->cols; c0 += 4) {
            philox4x32 w = philox4x32_10(
                philox_ctr((mc_u32)(a->row0 + r), (mc_u32)(c0 / 4), a->step, a->stream), k0, k1);
            for (int k = 0; k < 4 && c0 + k < a->cols; k++)
                yr[c0 + k] = w.v[k] >= a->threshold ? xr[c0 + k] * a->scale : 0.0f;
        }
    }
    return MC_OK;
}

/* 1/s for s in [0.1, 1.9] (augment_args' scale up to 0.9): Newton's y = y·(2 - s·y) from
   y = 1, eight times (|1 - s·y| squares each time, 0.9^256 at worst), in float, as
   augment.cl's aug_recip. */
static float aug_recip(float s)
{
    MC_NO_FP_CONTRACT
    float y = 1.0f;
    for (int k = 0; k < 8; k++)
        y = y * (2.0f - s * y);
    return y;
}

/* Pixel (x, y) of a w x h uint8 image as gather makes it, value·(1/255); 0 outside. */
static float aug_pixel(const unsigned char *img, int w, int h, int x, int y)
{
    return x >= 0 && x < w && y >= 0 && y < h ? (float)img[y * w + x] * (1.0f / 255.0f) : 0.0f;
}

/* The image sampled bilinearly at (sx, sy), zero outside (augment_args), as augment.cl. */
static float aug_bilinear(const unsigned char *img, int w, int h, float sx, float sy)
{
    MC_NO_FP_CONTRACT
    if (!(sx > -1.0f && sx < (float)w && sy > -1.0f && sy < (float)h))
        return 0.0f; /* NaN too; and (int) of the floors below cannot overflow */
    float fx0 = floorf(sx), fy0 = floorf(sy);
    int x0 = (int)fx0, y0 = (int)fy0;
    float fx = sx - fx0, fy = sy - fy0;
    float top = (1.0f - fx) * aug_pixel(img, w, h, x0, y0) + fx * aug_pixel(img, w, h, x0 + 1, y0);
    float bot = (1.0f - fx) * aug_pixel(img, w, h, x0, y0 + 1) +
                fx * aug_pixel(img, w, h, x0 + 1, y0 + 1);
    return (1.0f - fy) * top + fy * bot;
}

/*
 * The elastic field of image id before its vertical pass (augment_args): dx, dy = 2U - 1
 * per pixel from one Philox block per two pixels of a row, then each row convolved with
 * the Gaussian g (radius R, taps outside the row left out, summed from -R up) into hx, hy.
 */
static void aug_field_rows(const augment_args *a, mc_u32 id, int R, const float *g, float *dx,
                           float *dy, float *hx, float *hy)
{
    MC_NO_FP_CONTRACT
    int w = a->width, n = a->width * a->height, bw = (a->width + 1) / 2;
    for (int e = 0; e < n; e += 2 - (e % w == w - 1)) { /* (i, j), (i + 1, j): one block */
        int i = e % w, j = e / w;
        philox4x32 b = philox4x32_10(
            philox_ctr(id, (mc_u32)(j * bw + i / 2), a->epoch, AUGMENT_STREAM_ELASTIC),
            (mc_u32)a->seed, (mc_u32)(a->seed >> 32));
        dx[e] = 2.0f * philox_uniform(b.v[0]) - 1.0f;
        dy[e] = 2.0f * philox_uniform(b.v[1]) - 1.0f;
        if (i + 1 < w) {
            dx[e + 1] = 2.0f * philox_uniform(b.v[2]) - 1.0f;
            dy[e + 1] = 2.0f * philox_uniform(b.v[3]) - 1.0f;
        }
    }
    for (int e = 0; e < n; e++) {
        int i = e % w, lo = i < R ? -i : -R, hi = w - 1 - i < R ? w - 1 - i : R;
        float sx = 0.0f, sy = 0.0f;
        for (int k = lo; k <= hi; k++) {
            sx = sx + g[k + R] * dx[e + k];
            sy = sy + g[k + R] * dy[e + k];
        }
        hx[e] = sx;
        hy[e] = sy;
    }
}

/*
 * augment (augment_args): image after image, pixel after pixel, in float and in the
 * contract's order (the same operations as augment.cl's augment_batch, so the results
 * are the same bits): the image's draws, its elastic field's rows, then for each output
 * pixel the affine source, the field's column pass at that pixel, and the bilinear sample.
 */
static mc_status cpu_augment(backend *be, const augment_args *a)
{
    MC_NO_FP_CONTRACT
    (void)be;
    OP_CONTRACT(augment, a);
    int w = a->width, h = a->height, n = w * h;
    int elastic = a->alpha > 0.0f, R = elastic ? augment_radius(a->sigma) : 0;
    float *field = elastic ? malloc(4 * sizeof(float) * (size_t)n) : NULL;
    if (elastic && !field)
        return MC_ERR_NOMEM;
    const float *g = elastic ? F32(a->gauss) : NULL;
    float cx = (float)(w - 1) * 0.5f, cy = (float)(h - 1) * 0.5f;
    float rot_ht = a->rotate_deg / 180.0f; /* half-turns, as the OpenCL host code passes */
    mc_u32 k0 = (mc_u32)a->seed, k1 = (mc_u32)(a->seed >> 32);
    for (int p = 0; p < a->count; p++) {
        int slot = I32(a->index)[a->start + p];
        int id = a->ids.b ? I32(a->ids)[a->start + p] : slot; /* whose draws */
        const unsigned char *img = U8(a->images) + (size_t)slot * n;
        philox4x32 r =
            philox4x32_10(philox_ctr((mc_u32)id, 0, a->epoch, AUGMENT_STREAM_AFFINE), k0, k1);
        float ang = rot_ht * (2.0f * philox_uniform(r.v[0]) - 1.0f);
        float s = 1.0f + a->scale * (2.0f * philox_uniform(r.v[1]) - 1.0f);
        float tx = a->shift * (2.0f * philox_uniform(r.v[2]) - 1.0f);
        float ty = a->shift * (2.0f * philox_uniform(r.v[3]) - 1.0f);
        float co = exact_cospi(ang), si = exact_sinpi(ang), inv = aug_recip(s);
        float *hx = field ? field + 2 * (size_t)n : NULL;
        float *hy = field ? field + 3 * (size_t)n : NULL;
        if (elastic)
            aug_field_rows(a, (mc_u32)id, R, g, field, field + n, hx, hy);
        float *out = F32(a->x) + (size_t)p * n;
        for (int e = 0; e < n; e++) {
            int i = e % w, j = e / w;
            float dx = (float)i - cx - tx, dy = (float)j - cy - ty;
            float sx = (co * dx + si * dy) * inv + cx;
            float sy = (co * dy - si * dx) * inv + cy;
            if (elastic) {
                int lo = j < R ? -j : -R, hi = h - 1 - j < R ? h - 1 - j : R;
                float gx = 0.0f, gy = 0.0f;
                for (int k = lo; k <= hi; k++) {
                    gx = gx + g[k + R] * hx[e + k * w];
                    gy = gy + g[k + R] * hy[e + k * w];
                }
                sx = sx + a->alpha * gx;
                sy = sy + a->alpha * gy;
            }
            out[e] = aug_bilinear(img, w, h, sx, sy);
        }
    }
    free(field);
    return MC_OK;
}

/* window_images (window_images_args): each window row whose id lies in the part, its image
   and label copied into its slot. */
static mc_status cpu_window_images(backend *be, const window_images_args *a)
{
    (void)be;
    OP_CONTRACT(window_images, a);
    const int *ids = I32(a->ids);
    size_t dim = (size_t)a->dim;
    for (int r = 0; r < a->count; r++) {
        int id = ids[r];
        if (id < a->part_first || id - a->part_first >= a->part_n)
            continue;
        size_t i = (size_t)(id - a->part_first), slot = (size_t)a->slot0 + (size_t)r;
        memcpy(U8(a->images_out) + slot * dim, U8(a->images) + i * dim, dim);
        U8(a->labels_out)[slot] = U8(a->labels)[i];
    }
    return MC_OK;
}

/* kernel_of: the reference runs each operation as one function, "cpu_<op>". */
static const char *cpu_kernel_of(backend *be, op_kind op, const void *args, int *launches)
{
    (void)be, (void)args;
    static const char *const names[OP_COUNT] = {
        [OP_GATHER] = "cpu_gather",
        [OP_GEMM] = "cpu_gemm",
        [OP_LOSS] = "cpu_loss",
        [OP_OUTPUT_STEP] = "cpu_output_step",
        [OP_PROBS] = "cpu_probs",
        [OP_UPDATE] = "cpu_update",
        [OP_SUM] = "cpu_sum",
        [OP_SEQUENTIAL] = "cpu_sequential",
        [OP_SPARSE_FORWARD] = "cpu_sparse_forward",
        [OP_SPARSE_FORWARD_OUTPUT] = "cpu_sparse_forward_output",
        [OP_SPARSE_GRAD] = "cpu_sparse_grad",
        [OP_SPARSE_BACKWARD_UPDATE] = "cpu_sparse_backward_update",
        [OP_DROPOUT] = "cpu_dropout",
        [OP_AUGMENT] = "cpu_augment",
        [OP_WINDOW_IMAGES] = "cpu_window_images",
    };
    int known = op >= 0 && op < OP_COUNT;
    if (launches)
        *launches = known ? 1 : 0;
    return known ? names[op] : NULL;
}

/* Frees the backend object (its buffers are the caller's to release first). */
static void cpu_destroy(backend *be) { free(be); }

static const backend_ops cpu_ops = {
    .alloc = cpu_alloc,
    .release = cpu_release,
    .write = cpu_write,
    .read = cpu_read,
    .read_async = cpu_read_async,
    .write_async = cpu_write_async,
    .alloc_host = cpu_alloc_host,
    .finish = cpu_finish,
    .gather = cpu_gather,
    .gemm = cpu_gemm,
    .loss = cpu_loss,
    .output_step = cpu_output_step,
    .probs = cpu_probs,
    .update = cpu_update,
    .sum = cpu_sum,
    .sequential = cpu_sequential,
    .sparse_forward = cpu_sparse_forward,
    .sparse_forward_output = cpu_sparse_forward_output,
    .sparse_backward_update = cpu_sparse_backward_update,
    .sparse_grad = cpu_sparse_grad,
    .dropout = cpu_dropout,
    .augment = cpu_augment,
    .window_images = cpu_window_images,
    .kernel_of = cpu_kernel_of,
    .destroy = cpu_destroy,
};

/* The CPU reference backend (NULL when out of memory, or with a line printed when
   MNISTCL_DEVICE_LIMITS is malformed: backend_open reports that as a usage error first). */
backend *backend_cpu_create(void)
{
    size_t max_alloc = SIZE_MAX, memory = SIZE_MAX;
    mc_error err = {{0}};
    if (device_limits_apply(&max_alloc, &memory, &err)) {
        fprintf(stderr, "mnistcl: %s\n", err.msg);
        return NULL;
    }
    backend *be = calloc(1, sizeof *be);
    if (!be)
        return NULL;
    be->ops = &cpu_ops;
    be->is_opencl = 0;
    /* the reference runs every operation, and plans as a CPU device does, so the two can
       be compared stage by stage */
    be->caps = (backend_caps){.pixel_lists_first_layer = 1,
                              .output_step_max_classes = OUTPUT_STEP_MAX_CLASSES,
                              .sparse_output_max_hidden = SPARSE_OUTPUT_MAX_HIDDEN,
                              .sequential_max_layers = SEQ_MAX_LAYERS,
                              .sequential_pixel_lists = 0,
                              .max_alloc_bytes = max_alloc,
                              .memory_bytes = memory,
                              .host_memory = 1};
    strcpy(be->name, "CPU reference (plain C, double accumulators)");
    return be;
}
