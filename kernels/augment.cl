/*
 * augment.cl: random distortions of a batch of images for the first layer (augment_args in
 * backend_ops.h; Simard, Steinkraus, Platt, ICDAR 2003). Row p of x is image
 * index[start + p] of the buffer (w x h uint8), its distortions drawn for the image's id =
 * ids[start + p] (the host passes index again when the whole set is in the buffer),
 * output pixel (i, j) = (column, row):
 *   x[p][j w + i] = bilinear(image / 255, src(i, j)), zero outside the image
 *   per image  r = philox4x32_10({id, 0, epoch, AUGMENT_STREAM_AFFINE}, seed), U_k from r.v[k]:
 *              a = rot_ht (2U_0 - 1) half-turns (rot_ht = rotate_deg / 180, from the host),
 *              s = 1 + scale (2U_1 - 1), t = shift (2U_2 - 1, 2U_3 - 1)
 *   affine     d = (i, j) - c - t, c = ((w-1)/2, (h-1)/2);
 *              src = (cos a d_x + sin a d_y, cos a d_y - sin a d_x) (1/s) + c
 *              (cos, sin: exact_cospi / exact_sinpi of a; 1/s: aug_recip, Newton)
 *   elastic    (alpha > 0) dx, dy = 2U - 1 per pixel (block {id, j ceil(w/2) + i/2, epoch,
 *              AUGMENT_STREAM_ELASTIC}, words 2(i%2), 2(i%2)+1), convolved with the
 *              normalised Gaussian gauss (2 radius + 1 taps) along rows, then columns, taps
 *              outside the image left out (zero padding), summed from -radius up:
 *              src += alpha (gx, gy)
 *   bilinear   (1-fy)((1-fx) p00 + fx p10) + fy((1-fx) p01 + fx p11), (fx, fy) = src - floor(src)
 * Every step is +, -, * in float (and floor), FP_CONTRACT off, in the CPU reference's order,
 * so the two agree bit for bit. One work-group per image (global count * local, the host's
 * local size, at most DEFAULT_AUGMENT_WG), its data in local memory (see augment_batch).
 * Work-item 0 makes the image's draws; barriers separate the image and the field, the
 * field's rows pass, and the output pixels, each of which takes its columns pass itself.
 * The field, its passes and the output work on eight neighbouring pixels as a float8 (or
 * eight Philox blocks as uint8, philox4x32_10_x8): the lanes are independent, each the
 * reference's sum or product, so vectors change no result (and CPU devices run them as
 * SIMD: a batch of 128 MNIST images with every part on costs about a third of the first
 * layer's 128 x 784 x 800 GEMM on pocl).
 */

/* 1/s for s in [0.1, 1.9]: Newton's y = y (2 - s y) from 1, eight times (as backend_cpu.c) */
inline float aug_recip(float s)
{
    MC_NO_FP_CONTRACT
    float y = 1.0f;
    for (int k = 0; k < 8; k++)
        y = y * (2.0f - s * y);
    return y;
}

/* 2 philox_uniform(w) - 1 on eight words: in U(-1, 1), exact */
inline float8 aug_signed8(uint8 w)
{
    MC_NO_FP_CONTRACT
    return 2.0f * (convert_float8(w >> 8) * 5.9604644775390625e-8f) - 1.0f;
}

/* The work-items' walk over a (rows, cols) grid (cols >= 1), item (lid, lid + lsz, ...)
   in row-major order, without a division per step: AUG_WALK(r, c, rows, cols) { body } */
#define AUG_WALK(r, c, rows, cols)                                                            \
    for (int r = lid / (cols), c = lid % (cols), dr_ = lsz / (cols), dc_ = lsz % (cols);      \
         r < (rows); c += dc_, r += dr_ + (c >= (cols)), c -= c >= (cols) ? (cols) : 0)

/* The float8 of local values at eight indices (a gather). */
inline float8 aug_gather8(local const float *a, int8 k)
{
    return (float8)(a[k.s0], a[k.s1], a[k.s2], a[k.s3], a[k.s4], a[k.s5], a[k.s6], a[k.s7]);
}

/*
 * x[p] = the distorted image index[start + p], one work-group per image (see above).
 * Local memory `data`: the image / 255 with a border of zeros, (h + 2) rows of w + 2; with
 * the elastic part then its field: dx, dy transposed (column i at i h8, h8 = h rounded up
 * to 8, the rows past h zero) and their rows pass hx, hy (row j at j w8, w8 = w rounded
 * up to 8, the columns past w zero): (w + 2)(h + 2) + 2 (w h8 + h w8) floats in all.
 */
kernel void augment_batch(global float *x, int x_off, global const uchar *images, int img_off,
                          global const int *index, int idx_off, global const int *ids,
                          int ids_off, int start, int count, int width,
                          int height, float shift, float rot_ht, float scale, float alpha,
                          global const float *gauss, int gauss_off, int radius, uint seed_lo,
                          uint seed_hi, uint epoch, local float *data)
{
    MC_NO_FP_CONTRACT
    local float gl[2 * AUGMENT_MAX_RADIUS + 1];
    local float pr[5]; /* the image's cos a, sin a, 1/s, t_x, t_y */
    int p = get_group_id(0);
    if (p >= count) /* the whole group: no barrier is left waiting */
        return;
    int lid = get_local_id(0), lsz = get_local_size(0);
    int w = width, h = height, R = radius, elastic = alpha > 0.0f;
    int wb = w + 2, h8 = (h + 7) & ~7, w8 = (w + 7) & ~7, bw = (w + 1) / 2;
    int slot = index[idx_off + start + p], id = ids[ids_off + start + p];
    global const uchar *img = images + img_off + (size_t)slot * (size_t)(w * h);
    local float *pix = data, *dxt = data + wb * (h + 2), *dyt = dxt + w * h8;
    local float *hx = dyt + w * h8, *hy = hx + h * w8;
    if (lid == 0) {
        philox4x32 r = philox4x32_10(philox_ctr((uint)id, 0u, epoch, AUGMENT_STREAM_AFFINE),
                                     seed_lo, seed_hi);
        float ang = rot_ht * (2.0f * philox_uniform(r.v[0]) - 1.0f);
        float s = 1.0f + scale * (2.0f * philox_uniform(r.v[1]) - 1.0f);
        pr[0] = exact_cospi(ang);
        pr[1] = exact_sinpi(ang);
        pr[2] = aug_recip(s);
        pr[3] = shift * (2.0f * philox_uniform(r.v[2]) - 1.0f);
        pr[4] = shift * (2.0f * philox_uniform(r.v[3]) - 1.0f);
    }
    AUG_WALK(yb, xb, h + 2, wb) { /* pixel (xb - 1, yb - 1), as gather makes it */
        int xi = xb - 1, yi = yb - 1;
        pix[yb * wb + xb] =
            xi >= 0 && xi < w && yi >= 0 && yi < h ? (float)img[yi * w + xi] * (1.0f / 255.0f)
                                                   : 0.0f;
    }
    if (elastic) {
        for (int k = lid; k <= 2 * R; k += lsz)
            gl[k] = gauss[gauss_off + k];
        /* the field: eight blocks (sixteen pixels of row j) per item */
        AUG_WALK(j, g, h, (bw + 7) / 8) {
            uint8 c0 = (uint8)(uint)id, c2 = (uint8)epoch, c3 = (uint8)AUGMENT_STREAM_ELASTIC;
            uint8 c1 = (uint8)(0, 1, 2, 3, 4, 5, 6, 7) + (uint)(j * bw + 8 * g);
            philox4x32_10_x8(&c0, &c1, &c2, &c3, seed_lo, seed_hi);
            float e0[8], f0[8], e1[8], f1[8];
            vstore8(aug_signed8(c0), 0, e0);
            vstore8(aug_signed8(c1), 0, f0);
            vstore8(aug_signed8(c2), 0, e1);
            vstore8(aug_signed8(c3), 0, f1);
            for (int l = 0; l < 8; l++) {
                int i = 2 * (8 * g + l);
                if (i < w)
                    dxt[i * h8 + j] = e0[l], dyt[i * h8 + j] = f0[l];
                if (i + 1 < w)
                    dxt[(i + 1) * h8 + j] = e1[l], dyt[(i + 1) * h8 + j] = f1[l];
            }
        }
        if (h8 > h) /* the rows past the image */
            AUG_WALK(i, j, w, h8 - h)
                dxt[i * h8 + h + j] = dyt[i * h8 + h + j] = 0.0f;
        if (w8 > w) /* the columns past it */
            AUG_WALK(j, i, h, w8 - w)
                hx[j * w8 + w + i] = hy[j * w8 + w + i] = 0.0f;
    }
    barrier(CLK_LOCAL_MEM_FENCE);
    if (elastic) {
        /* the rows pass, eight rows j .. j + 7 of column i per item */
        AUG_WALK(i, q, w, h8 / 8) {
            int lo = i < R ? -i : -R, hi = w - 1 - i < R ? w - 1 - i : R;
            float8 sx = 0.0f, sy = 0.0f;
            for (int k = lo; k <= hi; k++) {
                float gk = gl[k + R];
                sx = sx + gk * vload8(0, dxt + (i + k) * h8 + 8 * q);
                sy = sy + gk * vload8(0, dyt + (i + k) * h8 + 8 * q);
            }
            float ex[8], ey[8];
            vstore8(sx, 0, ex);
            vstore8(sy, 0, ey);
            for (int l = 0; l < 8 && 8 * q + l < h; l++)
                hx[(8 * q + l) * w8 + i] = ex[l], hy[(8 * q + l) * w8 + i] = ey[l];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    float co = pr[0], si = pr[1], inv = pr[2], tx = pr[3], ty = pr[4];
    float cx = (float)(w - 1) * 0.5f, cy = (float)(h - 1) * 0.5f;
    global float *out = x + x_off + (size_t)p * (size_t)(w * h);
    /* eight pixels i .. i + 7 of row j per item: the columns pass, the source, the sample */
    AUG_WALK(j, q, h, w8 / 8) {
        int i = 8 * q;
        float8 ddx = convert_float8((int8)(0, 1, 2, 3, 4, 5, 6, 7) + i) - cx - tx;
        float ddy = (float)j - cy - ty;
        float8 sx = (co * ddx + si * ddy) * inv + cx;
        float8 sy = (co * ddy - si * ddx) * inv + cy;
        if (elastic) {
            int lo = j < R ? -j : -R, hi = h - 1 - j < R ? h - 1 - j : R;
            float8 gx = 0.0f, gy = 0.0f;
            for (int k = lo; k <= hi; k++) {
                float gk = gl[k + R];
                gx = gx + gk * vload8(0, hx + (j + k) * w8 + i);
                gy = gy + gk * vload8(0, hy + (j + k) * w8 + i);
            }
            sx = sx + alpha * gx;
            sy = sy + alpha * gy;
        }
        /* bilinear, zero outside: lanes outside (NaN too) sample the border and give 0 */
        int8 in = sx > -1.0f && sx < (float)w && sy > -1.0f && sy < (float)h;
        float8 fx0 = select((float8)(-1.0f), floor(sx), in),
               fy0 = select((float8)(-1.0f), floor(sy), in);
        float8 fx = sx - fx0, fy = sy - fy0;
        int8 k00 = (convert_int8(fy0) + 1) * wb + convert_int8(fx0) + 1;
        float8 top = (1.0f - fx) * aug_gather8(pix, k00) + fx * aug_gather8(pix, k00 + 1);
        float8 bot = (1.0f - fx) * aug_gather8(pix, k00 + wb) + fx * aug_gather8(pix, k00 + wb + 1);
        float8 v = select((float8)(0.0f), (1.0f - fy) * top + fy * bot, in);
        if (i + 7 < w) {
            vstore8(v, 0, out + j * w + i);
        } else {
            float vl[8];
            vstore8(v, 0, vl);
            for (int l = 0; i + l < w; l++)
                out[j * w + i + l] = vl[l];
        }
    }
}
