/*
 * The operation set every backend implements with the same signatures: the plain-C CPU
 * reference (backend_cpu.c) and OpenCL (backend_cl.c). The training code is written once
 * against this table, so both backends run the very same sequence of operations and can
 * be compared step by step.
 *
 * All matrices are row-major float32; shapes are written as (rows, cols).
 * Buffers are opaque; a `bref` names a buffer plus an offset counted in elements of the
 * type the operation expects there (float, int32 or uint8).
 */
#ifndef MNISTCL_BACKEND_OPS_H
#define MNISTCL_BACKEND_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "mnistcl/backend.h"
#include "mnistcl/mlp.h"
#include "mnistcl/status.h"
#include "kernel_interface.h"
#include "step_rule.h"

/** Backend-owned memory: a host array (CPU reference) or a cl_mem (OpenCL). */
typedef struct buf {
    size_t bytes;
    void *handle;
    int host_copy; /* made by alloc_host: holds the caller's bytes (perhaps the caller's very
                      memory), read by kernels only; write and write_async refuse it */
} buf;

/** A buffer and an element offset into it. A NULL buffer means "not wanted". */
typedef struct {
    buf *b;
    size_t off;
} bref;

static inline bref bref_at(buf *b, size_t off)
{
    bref r = {b, off};
    return r;
}

/**
 * C (m,n) = op(A) (m,k) · op(B) (k,n), then the epilogue.
 * With a_ones_row (trans_a only), op(A) has one row more than A stores: row m-1 is all
 * ones, so C's row m-1 receives the column sums of op(B). For a layer's gradient
 * [dW; db] = [X, 1]ᵀ·δ this yields the bias gradient, which the flat parameter layout
 * keeps right after W_l, i.e. as row `in` of the same block.
 */
typedef struct {
    int trans_a, trans_b; /* A stored (k,m) when trans_a; B stored (n,k) when trans_b */
    int a_ones_row;       /* op(A)'s last row is implicit ones (needs trans_a) */
    int m, n, k;          /* m, n >= 1; k >= 1 */
    bref a;
    int lda; /* row stride of A as stored */
    bref b;
    int ldb;
    bref c;
    int ldc;
    float alpha, beta;
    gemm_epilogue epilogue;
    bref bias;    /* EPI_BIAS_ACT: n floats */
    act_kind act; /* EPI_BIAS_ACT: activation; EPI_ACT_GRAD: activation whose derivative */
    bref aux;     /* EPI_ACT_GRAD: (m,n) activation outputs, row stride ldaux */
    int ldaux;
} gemm_args;

/** x (count,dim) = images[index[start+i]] / 255; y[i] = labels[index[start+i]]. */
typedef struct {
    bref x;      /* float out */
    bref y;      /* int32 out; may be NULL (no labels) */
    bref images; /* uint8 (n, dim) */
    bref labels; /* uint8 (n); may be NULL */
    bref index;  /* int32 permutation */
    int start, count, dim;
} gather_args;

/**
 * Output layer and loss, row by row over logits z (count, classes), label y:
 *   OUT_SOFTMAX_XENT: p = softmax(z) (max-subtracted), loss = log sum exp(z - max z) -
 *                     (z[y] - max z), i.e. -log p[y] without underflow,
 *                     delta = (p - onehot(y)) · scale
 *   OUT_SIGMOID_MSE:  o = sigmoid(z), loss = mean_c (o - onehot(y))², delta = (o - onehot(y)) · scale
 *   correct = (argmax_c z == y), the first maximum winning ties.
 * delta may be NULL (evaluation only).
 */
typedef struct {
    output_kind kind;
    bref delta;   /* float out (count, classes) or NULL */
    bref loss;    /* float out (count) */
    bref correct; /* int32 out (count) */
    bref logits;  /* float (count, classes) */
    bref labels;  /* int32 (count) */
    int count, classes;
    float scale;
} loss_args;

/**
 * The last layer of a training step, its loss and the first step back, fused, row by row
 * (for classes <= OUTPUT_STEP_MAX_CLASSES):
 *   z = h · W + b                              h (count, hidden), W (hidden, classes)
 *   loss, correct, delta_out from z           exactly as loss_args (with scale)
 *   delta_hidden = (delta_out · Wᵀ) ⊙ act'(h)  when delta_hidden is given
 * The same as a GEMM with EPI_BIAS_ACT (identity), the loss, and an NT GEMM with
 * EPI_ACT_GRAD, in one pass.
 */
typedef struct {
    output_kind kind;
    bref h;            /* float (count, hidden): the last hidden layer's activations */
    int hidden;
    bref W, b;         /* float (hidden, classes) and (classes) */
    int classes, count;
    bref labels;       /* int32 (count) */
    float scale;
    bref delta_out;    /* float out (count, classes) */
    bref delta_hidden; /* float out (count, hidden), or NULL */
    act_kind hidden_act;
    bref loss;         /* float out (count) */
    bref correct;      /* int32 out (count) */
} output_step_args;

/** out (count, classes) = softmax(z) or sigmoid(z) per row, for inference displays. */
typedef struct {
    output_kind kind;
    bref out;
    bref logits;
    int count, classes;
} probs_args;

/**
 * How a gradient becomes a parameter step at one step of a run: the update rule
 * (kernel_interface.h's update_kind, with PyTorch's formulas) and its values at that
 * step. kind, momentum, weight_decay, beta1, beta2, eps and moment2 hold for a whole run;
 * lr, step_size and bc2_sqrt are the step's (update_rule_at). The state of parameter i:
 *   SGD, NESTEROV  state[i] = the velocity v (neither read nor written when momentum == 0)
 *   ADAM, ADAMW    state[i] = the first moment m, state[i + moment2] = the second v
 * Every operation that updates parameters (update, sparse_backward_update, sequential)
 * takes one, and each backend applies it through one function (backend_cpu.c's
 * cpu_update_one, update.cl's update_one / update16), so a new rule is written once per
 * backend.
 */
typedef struct {
    update_kind kind;
    float lr;                  /* this step's learning rate */
    float momentum, weight_decay;
    float beta1, beta2, eps;   /* ADAM, ADAMW */
    float step_size, bc2_sqrt; /* ADAM, ADAMW at this step: lr / (1 - beta1^t) and
                                  sqrt(1 - beta2^t) (step_rule.h) */
    size_t moment2;            /* ADAM, ADAMW: floats from m to v in the state buffer */
} update_rule;

/** Floats of state per parameter the rule keeps: 0, 1 (SGD's velocity) or 2 (Adam's m, v). */
static inline int update_rule_state_slots(const update_rule *r)
{
    if (r->kind == UPDATE_ADAM || r->kind == UPDATE_ADAMW)
        return 2;
    return r->momentum != 0.0f ? 1 : 0;
}

/** Whether the rule keeps per-parameter state (the state buffer is read and written). */
static inline int update_rule_has_state(const update_rule *r)
{
    return update_rule_state_slots(r) > 0;
}

/**
 * The learning rate over a run: schedule_lr (step_rule.h) of kind from the rate lr, times
 * scale (reduce-on-plateau's multiplier, 1 otherwise).
 */
typedef struct {
    schedule_kind kind;
    float lr, final_lr, gamma, scale;
    int total_steps, warmup_steps, every;
} lr_schedule;

/** The rule r at step t (0-based) of the run: its rate from the schedule, Adam's corrections. */
static inline update_rule update_rule_at(update_rule r, const lr_schedule *s, int t)
{
    r.lr = schedule_lr(s->kind, s->lr, s->final_lr, s->total_steps, s->warmup_steps, s->every,
                       s->gamma, t) *
           s->scale;
    if (r.kind == UPDATE_ADAM || r.kind == UPDATE_ADAMW) {
        r.step_size = adam_step_size(r.lr, r.beta1, t);
        r.bc2_sqrt = adam_bc2_sqrt(r.beta2, t);
    } else {
        r.step_size = r.bc2_sqrt = 0.0f;
    }
    return r;
}

/**
 * One step of the update rule over n parameters: params[i] and state[i] (the rule's
 * per-parameter state, as update_rule says; same layout as params) from grads[i].
 */
typedef struct {
    bref params, grads, state;
    size_t n;
    update_rule rule;
} update_args;

/** loss_sum[0] = sum loss[0..n); correct_sum[0] = sum correct[0..n). */
typedef struct {
    bref loss_sum;    /* float out, 1 element */
    bref correct_sum; /* int32 out, 1 element */
    bref loss;        /* float (n) */
    bref correct;     /* int32 (n) */
    int n;
} sum_args;

/**
 * An image set's nonzero pixels, listed once (CSR): each pixel is a word (q << 8) | value
 * with q the pixel index, in increasing q; x[q] = value * (1/255), as gather computes
 * it. Each image's list is cut into PIXEL_BANDS bands of pixel indices, band b holding
 * q in [b * span, (b + 1) * span), span = ceil(dim / PIXEL_BANDS): band b of image i is
 * pixels[offsets[i * PIXEL_BANDS + b] .. offsets[i * PIXEL_BANDS + b + 1]), so the whole
 * image is pixels[offsets[i * PIXEL_BANDS] .. offsets[(i + 1) * PIXEL_BANDS]).
 */
typedef struct {
    bref pixels;  /* uint32 */
    bref offsets; /* int32, images * PIXEL_BANDS + 1 */
} pixel_lists;

/**
 * Gather and the first layer in one, from the pixel lists of the batch's images
 * (row p is image index[start + p]):
 *   out (rows, n) = act(X · W + b)      X (rows, dim), W (dim, n), b (n)
 *   y[p] = labels[index[start + p]]      (as gather; 0 when labels is NULL; y may be NULL)
 * The same as gather + a GEMM with EPI_BIAS_ACT: zero pixels add nothing, the other terms
 * are added in the same order.
 */
typedef struct {
    bref out;
    int n, dim, rows;
    bref W, bias;
    act_kind act;
    pixel_lists images;
    bref index; /* int32 positions */
    int start;
    bref y;      /* int32 out (rows), or NULL */
    bref labels; /* uint8 (images), or NULL */
} sparse_forward_args;

/**
 * A network of one hidden layer, forward and the first step back, from the pixel lists:
 * sparse_forward f, then output_step o on its result, in one pass per row. Requires
 * o->h = f->out, o->hidden = f->n <= SPARSE_OUTPUT_MAX_HIDDEN, o->labels = f->y (not
 * NULL), o->count = f->rows, o->classes <= OUTPUT_STEP_MAX_CLASSES, o->delta_hidden given.
 * The results equal the two operations'.
 */
typedef struct {
    sparse_forward_args f;
    output_step_args o;
} sparse_forward_output_args;

/**
 * The first layer's weight gradient from the batch's pixel lists:
 *   [dW; db] (+)= [X, 1]ᵀ · δ    X[p] = images[index[start + p]] * (1/255), δ (rows, n)
 * the same as gather + TN GEMM with the ones row (and beta 1 when accumulating): zero
 * pixels add nothing, and the other terms are added in the same order.
 */
typedef struct {
    bref out;     /* float (dim + 1, n): dW then db */
    bref delta;   /* float (rows, n) */
    int n, rows, dim;
    pixel_lists images;
    bref index;   /* int32 positions */
    int start;
    int accumulate;
    bref scratch; /* float, sparse_grad_scratch(dim, n) elements, the backend's to use */
} sparse_grad_args;

/**
 * The first layer's weight gradient and its update in one, and with classes > 0 the
 * whole backward pass and update of a network of one hidden layer (n units):
 *   [dW1; db1] = [X, 1]ᵀ · δ1    as sparse_grad g (g.out = upd.grads, g.accumulate = 0)
 *   [dW2; db2] = [H, 1]ᵀ · δ2    (classes > 0) H (g.rows, n), δ2 (g.rows, classes),
 *                                 classes <= OUTPUT_STEP_MAX_CLASSES; into upd.grads
 *                                 after [dW1; db1], as the
 *                                 TN GEMM with the ones row
 *   update over [W1; b1] (and [W2; b2]): upd.params / upd.state at W1, the next
 *                                 upd.n = (g.dim + 1) * n (+ (n + 1) * classes) floats
 * The parameters and state end as sparse_grad, gemm and update would leave them; the
 * gradients need not be stored (upd.grads is the backend's to use, undefined after).
 */
typedef struct {
    sparse_grad_args g;
    bref h;      /* float (g.rows, g.n): the hidden activations (classes > 0) */
    bref delta2; /* float (g.rows, classes): the output delta (classes > 0) */
    int classes; /* 0: the first layer only */
    update_args upd;
} sparse_backward_update_args;

/** Scratch floats sparse_grad_args needs: (dim + 1) rows of n rounded up to SPARSE_GRAD_COLS
 *  (kernel_interface.h). */
static inline size_t sparse_grad_scratch(int dim, int n)
{
    size_t cols = ((size_t)n + SPARSE_GRAD_COLS - 1) / SPARSE_GRAD_COLS * SPARSE_GRAD_COLS;
    return ((size_t)dim + 1) * cols;
}

/**
 * Per-sample training (batch 1) over `count` images in order, fused: for each image
 * index[start + s]: x = image / 255, forward through every layer, output loss and delta
 * (scale 1), then from the last layer back: delta_l = (delta_{l+1}·W_lᵀ) ⊙ act'(a_l)
 * computed with W_l before its update, then W_l and b_l updated by the rule at that image's
 * step (as update_args). Per-image loss and hit go to loss/correct[start + s].
 * Same arithmetic as a batch-1 step of the general path, in one launch.
 */
typedef struct {
    const mlp_spec *spec; /* n_layers <= SEQ_MAX_LAYERS */
    bref params, state; /* state: the rule's, as update_args */
    bref scratch;         /* float, mlp_seq_scratch_floats(spec) elements */
    bref images, labels, index;
    int start, count;
    bref loss, correct;   /* indexed by start + s */
    update_rule rule;     /* the run's rule; image s trains with update_rule_at(rule,
                             &schedule, first_step + s) */
    lr_schedule schedule;
    int first_step;       /* the run's step number of image start */
    /* Optional (NULL buffers: not given): the images' pixel lists, so the kernel need not
       scan every pixel of every image. Backends may ignore them; the result is the same. */
    pixel_lists sparse;
} sequential_args;

/** Floats of scratch the fused path needs: activations and deltas of one image. */
static inline size_t seq_scratch_floats(const mlp_spec *spec)
{
    size_t n = 0;
    for (int l = 0; l <= spec->n_layers; l++)
        n += 2 * (size_t)spec->sizes[l];
    return n;
}

/**
 * Inverted dropout, the same operation forward and backward (the mask is recomputed from
 * the counter, never stored): for r < rows, c < cols
 *   y[r][c] = keep(r, c) ? x[r][c] * scale : 0        (one float multiply)
 *   keep(r, c) = philox4x32_10(ctr = {row0 + r, c / 4, step, stream},
 *                              key = {seed low 32 bits, seed high 32 bits}).v[c % 4]
 *                >= threshold
 * with x and y of row strides ld_x, ld_y (>= cols). y may be x itself (the same buffer,
 * offset and stride: in place); otherwise the two must not overlap. threshold and scale
 * come from the drop probability p in [0, 1) through dropout_set_rate: p = 0 keeps every
 * element and copies it exactly (scale 1). Both backends give the same bits.
 */
typedef struct {
    bref x;        /* float (rows, ld_x) */
    int ld_x;
    bref y;        /* float out (rows, ld_y); may be x (in place) */
    int ld_y;
    int rows, cols; /* >= 1 */
    int row0;      /* >= 0: the row of x[0] in the whole batch (counter word 0 is row0 + r) */
    uint32_t step, stream; /* counter words 2 and 3: the step (its low 32 bits), a stream
                              per place the network drops (layer, forward/backward alike) */
    uint64_t seed;         /* the key */
    uint32_t threshold;    /* dropped iff the word < threshold */
    float scale;           /* 1 / (1 - p) */
} dropout_args;

/** Sets a's threshold = min(p·2^32, 2^32 - 1) (truncated) and scale = 1/(1 - p) (as a
 *  float) for dropping with probability p in [0, 1); p = 0: threshold 0, scale 1. */
static inline void dropout_set_rate(dropout_args *a, double p)
{
    double t = p * 4294967296.0;
    a->threshold = t >= 4294967295.0 ? 0xffffffffu : t > 0.0 ? (uint32_t)t : 0u;
    a->scale = (float)(1.0 / (1.0 - p));
}

/**
 * Random distortions of a batch of images, for the first layer (Simard, Steinkraus, Platt,
 * "Best practices for convolutional neural networks applied to visual document
 * analysis", ICDAR 2003): for p < count, image id = index[start + p] of width w and height
 * h (uint8, w·h <= AUGMENT_MAX_PIXELS), output pixel (i, j) (column i, row j) of row p:
 *   x[p][j·w + i] = bilinear(image / 255, src(i, j)), zero outside the image
 * with, in float, in this order (both backends do the same operations, so agree exactly):
 *   draws      r = philox4x32_10({id, 0, epoch, AUGMENT_STREAM_AFFINE}, seed); U_k =
 *              philox_uniform(r.v[k]); angle a = rotate_deg·(2U_0 - 1) degrees, scale
 *              s = 1 + scale·(2U_1 - 1) (both axes alike), shift t = shift·(2U_2 - 1,
 *              2U_3 - 1) pixels: the same for the same image, epoch and seed
 *   affine     c = ((w - 1)/2, (h - 1)/2); d = (i, j) - c - t;
 *              src = R(-a)·d·(1/s) + c, R(-a)·d = (cos a·d_x + sin a·d_y,
 *              cos a·d_y - sin a·d_x), cos and sin as exact_cospi/exact_sinpi(a/180),
 *              1/s by Newton's iteration (exact operations only)
 *   elastic    (alpha > 0) per pixel (i, j), from the block
 *              philox4x32_10({id, j·ceil(w/2) + i/2, epoch, AUGMENT_STREAM_ELASTIC}, seed)
 *              words 2(i%2), 2(i%2)+1 (two pixels of a row per block): the fields dx, dy =
 *              2U - 1, in U(-1, 1); each convolved with
 *              the normalised Gaussian gauss (radius R = augment_radius(sigma)), rows first
 *              then columns, zero outside the image (taps outside are left out, the others
 *              summed from -R up); src += alpha·(gx(i, j), gy(i, j))
 *   bilinear   (x0, y0) = floor(src), (fx, fy) = src - (x0, y0):
 *              (1-fy)·((1-fx)·p00 + fx·p10) + fy·((1-fx)·p01 + fx·p11)
 * shift, rotate_deg, scale, alpha may each be 0 (that part off); all four 0 gives gather's
 * x = image / 255 exactly. seed is the key (low, high 32 bits), epoch counter word 2. The
 * ids must name images of the buffer (the caller's to ensure, as for gather). On OpenCL
 * the image and its elastic field must also fit the device's local memory, about 20 bytes
 * a pixel (backend_cl.c; 45 x 45 fits 48 KiB), else an internal error says so.
 */
typedef struct {
    bref x;      /* float out (count, width·height) */
    bref images; /* uint8 (n, width·height) */
    bref index;  /* int32 positions, as gather's */
    bref ids;    /* int32: row p's distortions are drawn for image ids[start + p] (the
                    training set's own numbering, where index names window slots);
                    NULL buffer: for index[start + p] */
    int start, count, width, height;
    float shift;      /* >= 0 pixels, each axis */
    float rotate_deg; /* 0 .. 180 */
    float scale;      /* 0 .. 0.9 */
    float alpha;      /* >= 0: elastic strength, pixels (Simard: 34; 0 = off) */
    float sigma;      /* > 0 when alpha > 0: elastic smoothness, pixels (Simard: 4), at most
                         AUGMENT_MAX_RADIUS / 3 */
    uint64_t seed;
    uint32_t epoch;
    bref gauss; /* float (2R + 1), the weights augment_gauss_weights gives (alpha > 0) */
} augment_args;

/** R = ceil(3 sigma), the radius of augment_args' Gaussian, 3 sigma rounded to a float
 *  first (so the float nearest AUGMENT_MAX_RADIUS / 3 gives AUGMENT_MAX_RADIUS); capped
 *  at 10^6. */
static inline int augment_radius(float sigma)
{
    float r3 = 3.0f * sigma;
    if (!(r3 <= 1e6f))
        return 1000000;
    int r = (int)r3;
    return (float)r < r3 ? r + 1 : r;
}

/**
 * Copies the images and labels of one part of a split image set into slots of a window:
 * for r in [0, count): i = ids[r]; when part_first <= i < part_first + part_n,
 *   images_out[(slot0 + r)·dim + j] = images[(i - part_first)·dim + j] for j < dim, and
 *   labels_out[slot0 + r] = labels[i - part_first];
 * rows whose id lies outside the part are not written (another part's launch fills them).
 */
typedef struct {
    bref images_out, labels_out; /* uint8 (slots, dim), uint8 (slots) */
    bref images, labels;         /* uint8 (part_n, dim), uint8 (part_n): the part */
    bref ids;                    /* int32 (count): the image id of each window row */
    int count, slot0, dim, part_first, part_n;
} window_images_args;

/** The operations of the table below that compute (a plan's stages name them). */
typedef enum {
    OP_GATHER,
    OP_GEMM,
    OP_LOSS,
    OP_OUTPUT_STEP,
    OP_PROBS,
    OP_UPDATE,
    OP_SUM,
    OP_SEQUENTIAL,
    OP_SPARSE_FORWARD,
    OP_SPARSE_FORWARD_OUTPUT,
    OP_SPARSE_GRAD,
    OP_SPARSE_BACKWARD_UPDATE,
    OP_DROPOUT,
    OP_AUGMENT,
    OP_WINDOW_IMAGES,
    OP_COUNT
} op_kind;

/** "gather", "gemm", ..., as the table's slots are named. */
const char *op_name(op_kind op);

/** The arguments of any operation of the table, named as the operation. */
typedef union {
    gather_args gather;
    gemm_args gemm;
    loss_args loss;
    output_step_args output_step;
    probs_args probs;
    update_args update;
    sum_args sum;
    sequential_args sequential;
    sparse_forward_args sparse_forward;
    sparse_forward_output_args sparse_forward_output;
    sparse_grad_args sparse_grad;
    sparse_backward_update_args sparse_backward_update;
    dropout_args dropout;
    augment_args augment;
    window_images_args window_images;
} op_args;

/**
 * Runs operation `op` of be's table with the member of `a` that op names; an op outside
 * the table is an internal error (MC_ERR_RUNTIME, reported).
 */
mc_status backend_run(backend *be, op_kind op, const op_args *a);

/** The operation table. Every function returns MC_OK or an error (message printed). */
typedef struct {
    mc_status (*alloc)(backend *be, size_t bytes, buf **out);
    void (*release)(backend *be, buf *b);
    /* Copies between host memory and a buffer; both block until done. */
    mc_status (*write)(backend *be, buf *b, size_t offset_bytes, const void *src, size_t bytes);
    mc_status (*read)(backend *be, buf *b, size_t offset_bytes, void *dst, size_t bytes);
    /* Queues the same copy as read without waiting for it (a progress display's sums):
       it runs after the work queued before it, and dst holds the bytes once the next
       finish (or a blocking read or write) has returned; until then dst must stay valid
       and must not be read. The CPU reference copies at once. */
    mc_status (*read_async)(backend *be, buf *b, size_t offset_bytes, void *dst, size_t bytes);
    /* Queues the same copy as write without waiting for it (a streamed window's images):
       it runs after the work queued before it and before the work queued after it; src
       must stay valid and unchanged until the next finish (or a blocking read or write)
       has returned. The CPU reference copies at once. */
    mc_status (*write_async)(backend *be, buf *b, size_t offset_bytes, const void *src,
                             size_t bytes);
    /* A buffer of `bytes` bytes holding host's, for kernels to read only (never written
       by write, write_async or an operation). Where the device reads the host memory in
       place (the CPU reference always; OpenCL with caps.host_memory and host aligned to
       CL_DEVICE_MEM_BASE_ADDR_ALIGN), *in_place = 1 and host must stay valid and
       unchanged until the buffer is released (release leaves it to the caller); else
       the bytes are copied before it returns, *in_place = 0, and host may be freed at
       once. Counts against caps.max_alloc_bytes and memory_bytes as alloc does. */
    mc_status (*alloc_host)(backend *be, const void *host, size_t bytes, int *in_place,
                            buf **out);
    mc_status (*finish)(backend *be); /* waits for all queued work */
    mc_status (*gather)(backend *be, const gather_args *a);
    mc_status (*gemm)(backend *be, const gemm_args *a);
    mc_status (*loss)(backend *be, const loss_args *a);
    mc_status (*output_step)(backend *be, const output_step_args *a);
    mc_status (*probs)(backend *be, const probs_args *a);
    mc_status (*update)(backend *be, const update_args *a);
    mc_status (*sum)(backend *be, const sum_args *a);
    mc_status (*sequential)(backend *be, const sequential_args *a);
    mc_status (*sparse_forward)(backend *be, const sparse_forward_args *a);
    mc_status (*sparse_forward_output)(backend *be, const sparse_forward_output_args *a);
    mc_status (*sparse_grad)(backend *be, const sparse_grad_args *a);
    mc_status (*sparse_backward_update)(backend *be, const sparse_backward_update_args *a);
    mc_status (*dropout)(backend *be, const dropout_args *a);
    mc_status (*augment)(backend *be, const augment_args *a);
    mc_status (*window_images)(backend *be, const window_images_args *a);
    /* What operation `op` with arguments `args` (the op's *_args struct) runs here: the
       kernel's name and the number of launches ("gemm_rb_nn", 1), for `train --plan` */
    const char *(*kernel_of)(backend *be, op_kind op, const void *args, int *launches);
    void (*destroy)(backend *be);
} backend_ops;

/**
 * What a backend runs, and runs well: read once, when a trainer plans its step
 * (train/plan.c), never per step. A limit of 0 means the backend lacks the operation.
 */
typedef struct {
    int pixel_lists_first_layer;  /* the first layer runs faster from the pixel lists
                                     (sparse_forward, sparse_grad, sparse_backward_update)
                                     than through gather + dense GEMMs (CPU caches) */
    int output_step_max_classes;  /* widest output layer output_step takes */
    int sparse_output_max_hidden; /* widest hidden layer sparse_forward_output takes */
    int sequential_max_layers;    /* deepest network sequential takes */
    int sequential_pixel_lists;   /* sequential reads the pixel lists when given them */
    /* Memory, lowered (never raised) by MNISTCL_DEVICE_LIMITS (device_limits.h); alloc and
       alloc_host refuse (MC_ERR_NOMEM, a line printed) a buffer past either */
    size_t max_alloc_bytes; /* the largest buffer (CPU reference: SIZE_MAX; OpenCL:
                               CL_DEVICE_MAX_MEM_ALLOC_SIZE, at most 2^31 - 1) */
    size_t memory_bytes;    /* all buffers together (SIZE_MAX; CL_DEVICE_GLOBAL_MEM_SIZE) */
    int host_memory;        /* 1: the device reads host memory directly (the CPU reference;
                               an OpenCL CPU device with CL_DEVICE_HOST_UNIFIED_MEMORY), so
                               alloc_host can leave the bytes where they are */
} backend_caps;

/**
 * Charges a new buffer of `bytes` bytes to be (alloc, alloc_host): MC_OK with
 * be->allocated_bytes raised, or MC_ERR_NOMEM with one line printed naming the size and
 * the limit when the buffer is larger than caps.max_alloc_bytes or would take the live
 * buffers past caps.memory_bytes.
 */
mc_status backend_charge(backend *be, size_t bytes);

/** Gives back what backend_charge took for a buffer of `bytes` bytes (release). */
void backend_uncharge(backend *be, size_t bytes);

/** Common head of every backend object. */
struct backend {
    const backend_ops *ops;
    backend_caps caps;
    size_t allocated_bytes; /* of the live buffers, against caps.memory_bytes */
    char name[256]; /* human-readable device description */
    int is_opencl;  /* the object is a cl_backend (backend_cl.c's own functions check it) */
};

#endif
