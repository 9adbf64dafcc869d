/*
 * sparse_input.cl: the first layer, forward and weight gradient, from the images'
 * nonzero pixels, for CPU devices. MNIST's pixels are 81% zeros; the host lists each
 * image's nonzero pixels once (CSR over the image set, pixel_lists in backend_ops.h):
 *   words (q << 8) | value in increasing pixel index q, x[q] = value * (1/255)
 *   (gather_batch's float multiply); band b (PIXEL_BANDS bands of span ceil(dim/BANDS)
 *   pixel indices) of image i at pixels[offsets[i*BANDS + b] .. offsets[i*BANDS + b+1]).
 * Batch row p is image index[start + p]. The skipped terms are zeros and the others are
 * added in increasing order as fma(x, w, acc), so both results equal the dense kernels'
 * (gather_batch + gemm_rb_nn / gemm_rb_tn) bit for bit while δ and W are finite.
 *
 * csr_forward: out[p][j] = act(sum_q x_p[q] W[q][j] + b[j]); y[p] = label of image p
 *   (gather_batch's label copy, so a training step needs no gather). One work-item per
 *   (batch row, block of cols = CSR_FORWARD_COLS(n) columns: 256, or 128 when n < 256)
 *   keeps its part of the row in 16 (8) float16 accumulators; each listed pixel streams
 *   W's row q once: the wider block decodes each pixel once for twice the FMAs (13%
 *   faster at n = 1024).
 *   Global size (rows, ceil(n / cols)): the batch rows of one column block run one after
 *   another, while that block of W is in the cache.
 * csr_weight_grad: [dW; db] (+)= [X, 1]ᵀ · δ        X (rows, dim), δ (rows, n)
 *   One work-item per (SPARSE_GRAD_COLS columns j0.., pixel band) owns those rows and
 *   columns of [dW; db] (the last band also the bias row): for each batch row p in order
 *   it adds x_p[q] δ[p][j] into its sum for (q, j) over p's listed pixels q in the band (a
 *   fifth of the dense product's work), in a compact block of the scratch buffer (rows of
 *   SPARSE_GRAD_COLS floats from scratch + j0 * (dim + 1)); then out = sum, or sum + out
 *   with accumulate (the GEMM's beta = 1). SPARSE_GRAD_COLS is 128 (SG_CHUNKS 8 float16,
 *   kernel_interface.h): one decoded pixel then feeds eight FMAs, and a block's rows are
 *   whole 512-byte runs (with 32 columns, csr_backward_update's reads of params and
 *   velocity at dW's row stride cost more than the update itself).
 *   Global size (ceil(n / SPARSE_GRAD_COLS), PIXEL_BANDS).
 */

/* csr_row_block holds at most 16 float16 accumulators; csr_backward_update reads a row of
   the output delta as one float16 */
#if CSR_FORWARD_WIDE_COLS > 256 || CSR_FORWARD_NARROW_COLS > 256 ||                          \
    SPARSE_OUTPUT_MAX_HIDDEN > 256 || CSR_FORWARD_WIDE_COLS % 16 ||                           \
    CSR_FORWARD_NARROW_COLS % 16 || SPARSE_OUTPUT_MAX_HIDDEN % 16
#error "csr_row_block takes 1 to 16 float16 accumulators"
#endif
#if OUTPUT_STEP_MAX_CLASSES != 16
#error "csr_backward_update reads a row of the output delta as one float16"
#endif

/* x of one listed pixel: its value times 1/255, as gather_batch computes it */
inline float listed_value(uint pk)
{
    return (float)(pk & 255u) * (1.0f / 255.0f);
}

/*
 * Columns j0 .. j0 + 16 * CH - 1 (fewer at the end of a row of n) of one row of
 * act(X · W + b), from that image's listed pixels pixels[first .. last), stored at o[0 ..]
 * (the row's column j0). CH (8 or 16 float16 accumulators) is a constant at every call.
 */
static __attribute__((always_inline)) inline void
csr_row_block(const int CH, global float *o, int n, int j0, global const float *W, int w_off,
              int w_len, global const float *bias, int bias_off, int act,
              global const uint *pixels, int first, int last)
{
    global const float *w = W + w_off + j0;
    float16 acc[16];
#pragma unroll
    for (int c = 0; c < CH; c++)
        acc[c] = (float16)0.0f;
    int width = min(16 * CH, n - j0);
    if (width == 16 * CH) { /* the common case: whole blocks, always inside W */
        for (int e = first; e < last; e++) {
            uint pk = pixels[e];
            float16 x = (float16)listed_value(pk);
            global const float *row = w + (int)(pk >> 8) * n;
#pragma unroll
            for (int c = 0; c < CH; c++)
                acc[c] = fma(x, vload16(c, row), acc[c]);
        }
    } else { /* a narrower last block: lanes past n are computed and never stored */
        int chunks = (width + 15) / 16;
        for (int e = first; e < last; e++) {
            uint pk = pixels[e];
            float16 x = (float16)listed_value(pk);
            int base = (int)(pk >> 8) * n;
            global const float *row = w + base;
#pragma unroll
            for (int c = 0; c < CH; c++) {
                if (c < chunks) {
                    /* elements of W left from this chunk's first: never read past them */
                    int left = w_len - (j0 + base + 16 * c);
                    float16 v = left >= 16 ? vload16(c, row) : load16_bounded(row + 16 * c, left);
                    acc[c] = fma(x, v, acc[c]);
                }
            }
        }
    }
#pragma unroll
    for (int c = 0; c < CH; c++) {
        int valid = width - 16 * c;
        if (valid <= 0)
            break;
        float16 v = act_apply16(act, acc[c] + load16_bounded(bias + bias_off + j0 + 16 * c, valid));
        if (valid >= 16) {
            STORE16(v, o + 16 * c);
        } else {
            float t[16];
            vstore16(v, 0, t);
            for (int q = 0; q < valid; q++)
                o[16 * c + q] = t[q];
        }
    }
}

/* out[p][j0 ..] = act(sum_q x_p[q] W[q][j] + b[j]) for one column block; y[p] = label */
kernel void csr_forward(global float *out, int out_off, int n, global const float *W, int w_off,
                        int w_len, global const float *bias, int bias_off, int act,
                        global const uint *pixels, global const int *offsets,
                        global const int *index, int start, int rows, global int *y, int y_off,
                        int has_y, global const uchar *labels, int has_labels)
{
    int cols = CSR_FORWARD_COLS(n); /* as cl_sparse_forward sizes the grid */
    int j0 = get_global_id(1) * cols, p = get_global_id(0);
    if (p >= rows || j0 >= n)
        return;
    int img = index[start + p];
    int first = offsets[img * PIXEL_BANDS], last = offsets[(img + 1) * PIXEL_BANDS];
    global float *o = out + out_off + p * n + j0;
    if (cols == CSR_FORWARD_WIDE_COLS)
        csr_row_block(CSR_FORWARD_WIDE_COLS / 16, o, n, j0, W, w_off, w_len, bias, bias_off, act,
                      pixels, first, last);
    else
        csr_row_block(CSR_FORWARD_NARROW_COLS / 16, o, n, j0, W, w_off, w_len, bias, bias_off,
                      act, pixels, first, last);
    if (has_y && j0 == 0)
        y[y_off + p] = has_labels ? (int)labels[img] : 0;
}

/*
 * csr_forward_output: csr_forward, then output_step (output_rows in loss.cl) on the row
 * just computed, for a network of one hidden layer of n <= SPARSE_OUTPUT_MAX_HIDDEN (128)
 * units (one work-item holds a whole row, 8 float16) and classes <= OUTPUT_STEP_MAX_CLASSES:
 *   h = act(X · W + b); y = label; z = h · W2 + b2; loss, correct, delta_out;
 *   delta_hidden = (delta_out · W2ᵀ) ⊙ act'(h)
 * Results equal csr_forward followed by output_step. One work-item per batch row,
 * global size (rows).
 */
kernel void csr_forward_output(global float *out, int out_off, int n, global const float *W,
                               int w_off, int w_len, global const float *bias, int bias_off,
                               int act, global const uint *pixels, global const int *offsets,
                               global const int *index, int start, int rows, global int *y,
                               int y_off, global const uchar *labels, int has_labels, int kind,
                               global const float *W2, int w2_off, int w2_len,
                               global const float *b2, int b2_off, int classes, float scale,
                               global float *delta, int delta_off, global float *dh, int dh_off,
                               int hidden_act, global float *loss, int loss_off,
                               global int *correct, int correct_off)
{
    int p = get_global_id(0);
    if (p >= rows)
        return;
    int img = index[start + p];
    global float *h = out + out_off + p * n;
    csr_row_block(SPARSE_OUTPUT_MAX_HIDDEN / 16, h, n, 0, W, w_off, w_len, bias, bias_off, act,
                  pixels, offsets[img * PIXEL_BANDS], offsets[(img + 1) * PIXEL_BANDS]);
    y[y_off + p] = has_labels ? (int)labels[img] : 0;
    output_rows(1, 1, kind, out + out_off, p, n, W2 + w2_off, w2_len, b2 + b2_off, classes,
                y + y_off, scale, delta + delta_off, dh + dh_off, hidden_act, loss + loss_off,
                correct + correct_off);
}

/*
 * The sums of csr_weight_grad's work-item (columns j0 .. j0 + valid - 1, pixel band
 * `band`) into its compact block of scratch, which it returns: row q's SPARSE_GRAD_COLS
 * sums at block + q * SPARSE_GRAD_COLS for its rows *q0 .. *q_end - 1 of [dW; db] (the
 * band's pixel indices; the last band also has the bias row, dim).
 */
inline global float *sg_accumulate(global float *scratch, global const float *delta,
                                   int delta_off, int n, int rows, int dim,
                                   global const uint *pixels, global const int *offsets,
                                   global const int *index, int start, int j0, int band,
                                   int valid, int *q0_out, int *q_end_out)
{
    int span = (dim + PIXEL_BANDS - 1) / PIXEL_BANDS;
    int q0 = min(band * span, dim), q1 = min(q0 + span, dim);
    int q_end = band == PIXEL_BANDS - 1 ? dim + 1 : q1;
    *q0_out = q0, *q_end_out = q_end;
    /* this work-item's sums, compact: rows q0 .. q_end - 1 of SPARSE_GRAD_COLS floats in
       the column block's (dim + 1) x SPARSE_GRAD_COLS block of scratch (dW's own rows are n
       apart, and a power-of-two stride would crowd a few cache sets) */
    global float *acc = scratch + (size_t)j0 * (dim + 1);
    for (int q = q0; q < q_end; q++)
        for (int c = 0; c < SG_CHUNKS; c++)
            STORE16((float16)0.0f, acc + q * SPARSE_GRAD_COLS + 16 * c);
    float16 bias_sum[SG_CHUNKS];
    for (int c = 0; c < SG_CHUNKS; c++)
        bias_sum[c] = (float16)0.0f;
    global const float *d = delta + delta_off + j0;
    for (int p = 0; p < rows; p++) {
        float16 dp[SG_CHUNKS];
        for (int c = 0; c < SG_CHUNKS; c++) { /* lanes past n read as 0 and are not stored */
            dp[c] = load16_bounded(d + p * n + 16 * c, valid - 16 * c);
            bias_sum[c] = bias_sum[c] + dp[c];
        }
        int img = index[start + p];
        int last = offsets[img * PIXEL_BANDS + band + 1];
        for (int e = offsets[img * PIXEL_BANDS + band]; e < last; e++) {
            uint pk = pixels[e];
            float16 x = (float16)listed_value(pk);
            global float *r = acc + (int)(pk >> 8) * SPARSE_GRAD_COLS;
#pragma unroll
            for (int c = 0; c < SG_CHUNKS; c++)
                STORE16(fma(x, dp[c], vload16(c, r)), r + 16 * c);
        }
    }
    if (q_end == dim + 1) /* the bias row */
        for (int c = 0; c < SG_CHUNKS; c++)
            STORE16(bias_sum[c], acc + dim * SPARSE_GRAD_COLS + 16 * c);
    return acc;
}

/* [dW; db] (+)= [X, 1]ᵀ · δ for one (column block, pixel band) (see above) */
kernel void csr_weight_grad(global float *out, int out_off, global float *scratch,
                            global const float *delta, int delta_off, int n, int rows, int dim,
                            global const uint *pixels, global const int *offsets,
                            global const int *index, int start, int accumulate)
{
    int j0 = get_global_id(0) * SPARSE_GRAD_COLS, band = get_global_id(1);
    if (j0 >= n || band >= PIXEL_BANDS)
        return;
    int valid = min(SPARSE_GRAD_COLS, n - j0), q0, q_end;
    global float *acc = sg_accumulate(scratch, delta, delta_off, n, rows, dim, pixels, offsets,
                                      index, start, j0, band, valid, &q0, &q_end);
    /* out = sum (+ old), the GEMM's beta = 1 */
    global float *o = out + out_off + j0;
    for (int q = q0; q < q_end; q++) {
        for (int c = 0; c < SG_CHUNKS; c++) {
            int left = valid - 16 * c;
            if (left <= 0)
                break;
            float16 v = vload16(c, acc + q * SPARSE_GRAD_COLS);
            if (accumulate)
                v = v + load16_bounded(o + q * n + 16 * c, left);
            if (left >= 16) {
                STORE16(v, o + q * n + 16 * c);
            } else {
                float t[16];
                vstore16(v, 0, t);
                for (int l = 0; l < left; l++)
                    o[q * n + 16 * c + l] = t[l];
            }
        }
    }
}

/*
 * csr_backward_update: the first layer's weight gradient and its update, and with
 * classes > 0 (<= OUTPUT_STEP_MAX_CLASSES) the whole backward pass and update of a network
 * of one hidden layer, in one launch:
 *   [dW1; db1] = [X, 1]ᵀ · δ1   (as csr_weight_grad)    X from the pixel lists
 *   [dW2; db2] = [H, 1]ᵀ · δ2   (as gemm_rb_tn with the ones row: fma over p in order)
 *   then the update rule (update16 / update_one, update.cl) on [W1; b1] at params + p1_off
 *   and [W2; b2] at p2_off (its state at the same offsets) with those gradients, which are
 *   not stored.
 * Work-items (j block, band < PIXEL_BANDS) take csr_weight_grad's share of [dW1; db1] and
 * update those parameters; with classes > 0 an extra band PIXEL_BANDS shares the rows of
 * [dW2; db2] among the j blocks. No work-item reads a parameter another one writes.
 * Global size (ceil(n / SPARSE_GRAD_COLS), PIXEL_BANDS + (classes > 0)).
 */
kernel void csr_backward_update(global float *params, int p1_off, int p2_off,
                                global float *state, global float *scratch,
                                global const float *delta, int delta_off, int n, int rows,
                                int dim, global const uint *pixels, global const int *offsets,
                                global const int *index, int start, global const float *h,
                                int h_off, global const float *delta2, int d2_off, int classes,
                                UPDATE_RULE_PARAMS)
{
    int jb = get_global_id(0), j0 = jb * SPARSE_GRAD_COLS, band = get_global_id(1);
    if (j0 >= n || band > PIXEL_BANDS || (band == PIXEL_BANDS && classes == 0))
        return;
    if (band < PIXEL_BANDS) {
        int valid = min(SPARSE_GRAD_COLS, n - j0), q0, q_end;
        global float *acc = sg_accumulate(scratch, delta, delta_off, n, rows, dim, pixels,
                                          offsets, index, start, j0, band, valid, &q0, &q_end);
        for (int q = q0; q < q_end; q++) {
            int at = p1_off + q * n + j0;
            global const float *gq = acc + q * SPARSE_GRAD_COLS;
            for (int c = 0; c < SG_CHUNKS; c++) {
                int left = valid - 16 * c;
                if (left >= 16) {
                    update16(params + at + 16 * c, vload16(c, gq), state + at + 16 * c,
                             UPDATE_RULE_ARGS);
                } else {
                    for (int l = 0; l < left; l++)
                        update_one(params + at + 16 * c + l, gq[16 * c + l],
                                   state + at + 16 * c + l, UPDATE_RULE_ARGS);
                }
            }
        }
        return;
    }
    /* [dW2; db2]: rows r0 .. r1 - 1 of n + 1 (row n: the bias, from the ones row) */
    int blocks = (n + SPARSE_GRAD_COLS - 1) / SPARSE_GRAD_COLS, per = (n + blocks) / blocks;
    int r0 = jb * per, r1 = min(r0 + per, n + 1);
    global const float *hh = h + h_off, *d2 = delta2 + d2_off;
    /* rows p < p_fast of δ2 can be read 16 wide without passing its rows * classes */
    int p_fast = rows * classes < 16 ? 0 : (rows * classes - 16) / classes + 1;
    for (int rb = r0; rb < r1; rb += 8) {
        float16 acc[8];
#pragma unroll
        for (int r = 0; r < 8; r++)
            acc[r] = (float16)0.0f;
        for (int p = 0; p < rows; p++) {
            float16 dv = p < p_fast ? vload16(0, d2 + p * classes)
                                    : load16_bounded(d2 + p * classes, classes);
#pragma unroll
            for (int r = 0; r < 8; r++) { /* rows past r1: computed, never used */
                float a = rb + r >= n ? 1.0f : hh[p * n + rb + r];
                acc[r] = fma((float16)a, dv, acc[r]);
            }
        }
        for (int r = 0; r < 8 && rb + r < r1; r++) {
            float g[16];
            vstore16(acc[r], 0, g);
            int at = p2_off + (rb + r) * classes;
            for (int c = 0; c < classes; c++)
                update_one(params + at + c, g[c], state + at + c, UPDATE_RULE_ARGS);
        }
    }
}
