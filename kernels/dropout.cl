/*
 * dropout.cl: inverted dropout, forward and backward alike (dropout_args in backend_ops.h):
 *   y[r][c] = keep(r, c) ? x[r][c] * scale : 0
 *   keep(r, c) = philox4x32_10({row0 + r, c / 4, step, stream}, {seed_lo, seed_hi}).v[c % 4]
 *                >= threshold
 * threshold = min(p 2^32, 2^32 - 1) and scale = 1 / (1 - p) come from the host, so the
 * mask is recomputed, never stored, and equals the CPU reference's bit for bit (one float
 * multiply per kept element, no contraction). One work-item per row and DROPOUT_ITEM_COLS
 * (= 32: eight Philox blocks, computed together by philox4x32_10_x8) consecutive columns;
 * global size rows * ceil(cols / 32). Each element is read before it is written by the
 * same work-item, so y may be x (in place).
 */

/* y = mask ⊙ x · scale over (rows, cols), eight Philox blocks per work-item (see above) */
kernel void dropout_rows(global const float *x, int x_off, int ld_x, global float *y, int y_off,
                         int ld_y, int rows, int cols, int row0, uint step, uint stream,
                         uint seed_lo, uint seed_hi, uint threshold, float scale)
{
    MC_NO_FP_CONTRACT
    int groups = (cols + DROPOUT_ITEM_COLS - 1) / DROPOUT_ITEM_COLS;
    int e = get_global_id(0);
    if (e >= rows * groups)
        return;
    int r = e / groups, g = e - r * groups;
    uint8 c0 = (uint8)(uint)(row0 + r), c1 = (uint8)(0, 1, 2, 3, 4, 5, 6, 7) + (uint)(8 * g),
          c2 = (uint8)step, c3 = (uint8)stream;
    philox4x32_10_x8(&c0, &c1, &c2, &c3, seed_lo, seed_hi);
    uint w[4][8]; /* w[k][l]: word k of block 8 g + l, for column 32 g + 4 l + k */
    vstore8(c0, 0, w[0]);
    vstore8(c1, 0, w[1]);
    vstore8(c2, 0, w[2]);
    vstore8(c3, 0, w[3]);
    int first = g * DROPOUT_ITEM_COLS, n = min(DROPOUT_ITEM_COLS, cols - first);
    global const float *xr = x + x_off + r * ld_x + first;
    global float *yr = y + y_off + r * ld_y + first;
    for (int j = 0; j < n; j++)
        yr[j] = w[j & 3][j >> 2] >= threshold ? xr[j] * scale : 0.0f;
}
