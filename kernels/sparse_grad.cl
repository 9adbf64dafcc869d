/*
 * sparse_grad.cl: the first layer's weight gradient from the batch's nonzero pixels.
 *   [dW; db] (+)= [X, 1]ᵀ · δ      X[p] = image index[start + p] * (1/255), δ (rows, n)
 * MNIST's pixels are 81% zeros; the δ rows are few and stay in cache, so visiting only
 * the nonzero (p, q) pairs does about a fifth of a dense product's work.
 *
 * csc_build: one work-item per 16 pixels lists, for each pixel q, the batch's images in
 *   which q is nonzero,
 *   list[q * rows + e] = (p << 8) | value, in increasing p, and the count of entries
 *   list[count_off + q] (the counts follow the lists in the same buffer). The
 *   compaction is branch-free (an entry is always written, the count advances only for
 *   nonzero values), since whether a pixel is zero is unpredictable.
 * csc_weight_grad: one work-item per (pixel q, 128 columns): out[q][j] = sum over q's
 *   list of (value/255) δ[p][j], in increasing p like the dense kernels, so the result is
 *   theirs exactly (the skipped terms are zeros); row q == dim is the bias row, the
 *   column sums of δ. With accumulate, out is added to.
 */
kernel void csc_build(global uint *list, int count_off, global const uchar *images,
                      global const int *index, int start, int rows, int dim)
{
    /* 16 neighbouring pixels per work-item: one uchar16 load per image serves all 16 */
    int q0 = get_global_id(0) * 16;
    if (q0 >= dim)
        return;
    int c[16];
    for (int k = 0; k < 16; k++)
        c[k] = 0;
    if (q0 + 16 <= dim) {
        for (int p = 0; p < rows; p++) {
            uchar16 v = vload16(0, images + index[start + p] * dim + q0);
            uchar t[16];
            vstore16(v, 0, t);
#pragma unroll
            for (int k = 0; k < 16; k++) {
                list[(q0 + k) * rows + c[k]] = (uint)p << 8 | t[k];
                c[k] += t[k] != 0;
            }
        }
    } else {
        for (int p = 0; p < rows; p++) {
            global const uchar *img = images + index[start + p] * dim;
            for (int k = 0; q0 + k < dim; k++) {
                uint v = img[q0 + k];
                list[(q0 + k) * rows + c[k]] = (uint)p << 8 | v;
                c[k] += v != 0u;
            }
        }
    }
    for (int k = 0; k < 16 && q0 + k < dim; k++)
        list[count_off + q0 + k] = (uint)c[k];
}

kernel void csc_weight_grad(global float *out, int out_off, global const float *delta,
                            int delta_off, int n, int rows, int dim, global const uint *list,
                            int count_off, int accumulate)
{
    int j0 = get_global_id(0) * 128, q = get_global_id(1);
    if (q > dim || j0 >= n)
        return;
    global const float *d = delta + delta_off + j0;
    float16 acc[8];
    for (int c = 0; c < 8; c++)
        acc[c] = (float16)0.0f;
    int width = min(128, n - j0);
    if (q < dim) {
        global const uint *l = list + q * rows;
        int entries = (int)list[count_off + q];
        if (width == 128) {
            for (int e = 0; e < entries; e++) {
                uint pk = l[e];
                float16 x = (float16)((float)(pk & 255u) * (1.0f / 255.0f));
                global const float *row = d + (int)(pk >> 8) * n;
#pragma unroll
                for (int c = 0; c < 8; c++)
                    acc[c] = fma(x, vload16(c, row), acc[c]);
            }
        } else {
            for (int e = 0; e < entries; e++) {
                uint pk = l[e];
                float16 x = (float16)((float)(pk & 255u) * (1.0f / 255.0f));
                global const float *row = d + (int)(pk >> 8) * n;
                for (int c = 0; 16 * c < width; c++)
                    acc[c] = fma(x, load16_bounded(row + 16 * c, width - 16 * c), acc[c]);
            }
        }
    } else { /* the bias row: column sums of δ */
        for (int p = 0; p < rows; p++)
            for (int c = 0; 16 * c < width; c++)
                acc[c] = acc[c] + load16_bounded(d + p * n + 16 * c, width - 16 * c);
    }
    global float *o = out + out_off + q * n + j0;
    for (int c = 0; 16 * c < width; c++) {
        int valid = min(16, width - 16 * c);
        float16 v = acc[c];
        if (accumulate)
            v = v + load16_bounded(o + 16 * c, valid);
        if (valid == 16) {
            vstore16(v, 0, o + 16 * c);
        } else {
            float t[16];
            vstore16(v, 0, t);
            for (int e = 0; e < valid; e++)
                o[16 * c + e] = t[e];
        }
    }
}
