/*
 * loss.cl: the output layer, its loss and the output delta; one work-item per row.
 * For logits z (count, classes) and label y of each row:
 *   softmax + cross-entropy: p = exp(z - max z) / sum exp(z - max z)
 *                            loss = log(sum exp(z - max z)) - (z[y] - max z)   (= -log p[y],
 *                            exact even where p[y] underflows), delta = (p - onehot(y)) * scale
 *   sigmoid + squared error: o = 1 / (1 + exp(-z)), loss = mean_c (o - onehot(y))^2,
 *                            delta = (o - onehot(y)) * scale         (the seed 000 network)
 *   correct = (argmax z == y), the first maximum winning ties.
 * scale is 1/batch for a mean loss. has_delta == 0 evaluates only.
 * probs_rows writes p or o for display.
 *
 * output_step: the last layer, the loss and the first step back in one pass per row, for
 * classes <= OUTPUT_STEP_MAX_CLASSES (16: one float16 holds a row of logits), OUTPUT_ROWS
 * rows per work-item:
 *   z = h · W + b;  loss, correct, delta_out as loss_rows;
 *   delta_hidden = (delta_out · Wᵀ) ⊙ act'(h)  (has_dh)
 * W (hidden, classes) is read 16 wide per row; rows whose 16 floats would leave W's
 * buffer (w_len elements from w_off) are read bounded. Lanes past `classes` carry
 * whatever follows in memory; delta's lanes there are 0, so they add nothing back.
 */
#if OUTPUT_STEP_MAX_CLASSES != 16
#error "output_step holds a row of logits in one float16: OUTPUT_STEP_MAX_CLASSES must be 16"
#endif
/* The index of the first maximum of z[0..n) */
inline int argmax_first(global const float *z, int n)
{
    int best = 0;
    for (int c = 1; c < n; c++)
        if (z[c] > z[best])
            best = c;
    return best;
}

/*
 * The loss, hit and (delta != 0) scaled delta of one row of logits z; shared by loss_rows
 * and the fused batch-1 kernel (train_seq.cl).
 */
inline void loss_row(int kind, global const float *z, int classes, int y, float scale,
                     global float *delta, float *loss, int *correct)
{
    int best = argmax_first(z, classes);
    float l = 0.0f;
    if (kind == OUT_SOFTMAX_XENT) {
        float zmax = z[best], denom = 0.0f;
        for (int c = 0; c < classes; c++)
            denom += exp(z[c] - zmax);
        l = log(denom) - (z[y] - zmax);
        for (int c = 0; delta && c < classes; c++)
            delta[c] = (exp(z[c] - zmax) / denom - (c == y ? 1.0f : 0.0f)) * scale;
    } else {
        for (int c = 0; c < classes; c++) {
            float diff = 1.0f / (1.0f + exp(-z[c])) - (c == y ? 1.0f : 0.0f);
            l += diff * diff;
            if (delta)
                delta[c] = diff * scale;
        }
        l /= (float)classes;
    }
    *loss = l;
    *correct = best == y;
}

/* Row i: loss[i], correct[i] and (has_delta) delta[i][..] of logits[i][..] (see above) */
kernel void loss_rows(int kind, global float *delta, int delta_off, int has_delta,
                      global float *loss, int loss_off, global int *correct, int correct_off,
                      global const float *logits, int logits_off, global const int *labels,
                      int labels_off, int count, int classes, float scale)
{
    int i = get_global_id(0);
    if (i >= count)
        return;
    float l;
    int hit;
    loss_row(kind, logits + logits_off + i * classes, classes, labels[labels_off + i], scale,
             has_delta ? delta + delta_off + i * classes : 0, &l, &hit);
    loss[loss_off + i] = l;
    correct[correct_off + i] = hit;
}

/* Row i: out[i][..] = softmax(z) (max-subtracted) or sigmoid(z) of logits[i][..] */
kernel void probs_rows(int kind, global float *out, int out_off, global const float *logits,
                       int logits_off, int count, int classes)
{
    int i = get_global_id(0);
    if (i >= count)
        return;
    global const float *z = logits + logits_off + i * classes;
    global float *o = out + out_off + i * classes;
    if (kind == OUT_SOFTMAX_XENT) {
        float zmax = z[argmax_first(z, classes)], denom = 0.0f;
        for (int c = 0; c < classes; c++)
            denom += exp(z[c] - zmax);
        for (int c = 0; c < classes; c++)
            o[c] = exp(z[c] - zmax) / denom;
    } else {
        for (int c = 0; c < classes; c++)
            o[c] = 1.0f / (1.0f + exp(-z[c]));
    }
}

/* Softmax/sigmoid loss, hit and scaled delta of one row of logits z (lanes < classes). */
inline float16 output_delta(int kind, float16 zv, int classes, int y, float scale,
                            float *loss, int *correct)
{
    float z[16], d[16];
    vstore16(zv, 0, z);
    int best = 0;
    for (int c = 1; c < classes; c++)
        if (z[c] > z[best])
            best = c;
    float l = 0.0f;
    for (int c = 0; c < 16; c++)
        d[c] = 0.0f;
    if (kind == OUT_SOFTMAX_XENT) {
        float zmax = z[best], denom = 0.0f;
        for (int c = 0; c < classes; c++)
            denom += exp(z[c] - zmax);
        l = log(denom) - (z[y] - zmax);
        for (int c = 0; c < classes; c++)
            d[c] = (exp(z[c] - zmax) / denom - (c == y ? 1.0f : 0.0f)) * scale;
    } else {
        for (int c = 0; c < classes; c++) {
            float diff = 1.0f / (1.0f + exp(-z[c])) - (c == y ? 1.0f : 0.0f);
            l += diff * diff;
            d[c] = diff * scale;
        }
        l /= (float)classes;
    }
    *loss = l;
    *correct = best == y;
    return vload16(0, d);
}

/*
 * output_step for `valid` (1 .. R) consecutive rows from row i of h, R (<= 4) a constant at
 * every call: z = h·W + b, the loss, hit and delta_out row, and (dh != 0) the row of
 * delta_hidden. Each row's sums run in the same order whatever R is; R rows side by side
 * give the FMA chains (one per row, `hidden` long) independent work to overlap. Rows past
 * `valid` are computed from row i + valid - 1 and never stored. Shared by output_step and
 * the fused first and last layer (csr_forward_output in sparse_input.cl), so all compute
 * alike.
 */
static __attribute__((always_inline)) inline void
output_rows(const int R, int valid, int kind, global const float *h, int i, int hidden,
            global const float *w, int w_len, global const float *b, int classes,
            global const int *labels, float scale, global float *delta, global float *dh,
            int hidden_act, global float *loss, global int *correct)
{
    global const float *hr[4]; /* R <= 4 */
#pragma unroll
    for (int r = 0; r < R; r++)
        hr[r] = h + (i + min(r, valid - 1)) * hidden;
    /* rows p < p_fast of W can be read 16 wide without leaving the buffer */
    int p_fast = w_len < 16 ? 0 : min(hidden, (w_len - 16) / classes + 1);
    float16 bias = load16_bounded(b, classes), z[4];
#pragma unroll
    for (int r = 0; r < R; r++)
        z[r] = bias;
    for (int p = 0; p < hidden; p++) {
        float16 wr = p < p_fast ? vload16(0, w + p * classes)
                                : load16_bounded(w + p * classes, w_len - p * classes);
#pragma unroll
        for (int r = 0; r < R; r++)
            z[r] = fma((float16)hr[r][p], wr, z[r]);
    }
    float16 d[4];
#pragma unroll
    for (int r = 0; r < R; r++) {
        float l;
        int hit;
        d[r] = output_delta(kind, z[r], classes, labels[i + min(r, valid - 1)], scale, &l, &hit);
        if (r < valid) {
            loss[i + r] = l;
            correct[i + r] = hit;
            float dd[16];
            vstore16(d[r], 0, dd);
            for (int c = 0; c < classes; c++)
                delta[(i + r) * classes + c] = dd[c];
        }
    }
    if (!dh)
        return;
    for (int p = 0; p < hidden; p++) {
        float16 wr = p < p_fast ? vload16(0, w + p * classes)
                                : load16_bounded(w + p * classes, w_len - p * classes);
#pragma unroll
        for (int r = 0; r < R; r++) {
            float16 v = d[r] * wr;
            float8 s8 = v.lo + v.hi;
            float4 s4 = s8.lo + s8.hi;
            float2 s2 = s4.lo + s4.hi;
            if (r < valid)
                dh[(i + r) * hidden + p] =
                    (s2.x + s2.y) * act_grad_from_output(hidden_act, hr[r][p]);
        }
    }
}

/* Rows per output_step work-item: a build option the host always passes
   (DEFAULT_OUTPUT_ROWS_CPU 4 for CPU devices, _GPU 1 for GPUs: kernel_interface.h) */
#if !defined(OUTPUT_ROWS) || OUTPUT_ROWS < 1 || OUTPUT_ROWS > 4
#error "OUTPUT_ROWS (1 to 4, output_rows' R) is a build option the host always passes"
#endif

/* Rows i .. i + OUTPUT_ROWS - 1: z = h·W + b, loss, hit, delta_out and (has_dh)
   delta_hidden = (delta_out·Wᵀ) ⊙ act'(h) (see above) */
kernel void output_step(int kind, global const float *h, int h_off, int hidden,
                        global const float *W, int w_off, int w_len, global const float *b,
                        int b_off, int classes, int count, global const int *labels,
                        int labels_off, float scale, global float *delta, int delta_off,
                        global float *dh, int dh_off, int has_dh, int hidden_act,
                        global float *loss, int loss_off, global int *correct, int correct_off)
{
    int i = get_global_id(0) * OUTPUT_ROWS;
    if (i >= count)
        return;
    output_rows(OUTPUT_ROWS, min(OUTPUT_ROWS, count - i), kind, h + h_off, i, hidden, W + w_off,
                w_len, b + b_off, classes, labels + labels_off, scale, delta + delta_off,
                has_dh ? dh + dh_off : 0, hidden_act, loss + loss_off, correct + correct_off);
}
