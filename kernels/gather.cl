/*
 * gather.cl: build a training batch on the device from the uint8 image set.
 *   x[i][j] = images[index[start + i]][j] * (1/255)    (float multiply, bit-exact with the CPU)
 *   y[i]    = labels[index[start + i]]                  (has_y == 0: y is not written)
 * GATHER_ROWS (build option, DEFAULT_GATHER_ROWS_* in kernel_interface.h) 1, for CPU
 * devices: one work-item per image row, 16 pixels per step as uchar16 -> float16; global
 * size count. 0, for GPUs: one work-item per pixel, neighbours reading neighbouring bytes;
 * global size count * dim.
 */
#ifndef GATHER_ROWS
#error "GATHER_ROWS is a build option the host always passes (kernel_interface.h)"
#endif

/* x[i][j] = images[index[start + i]][j] / 255, y[i] = its label (see above) */
kernel void gather_batch(global float *x, int x_off, global int *y, int y_off, int has_y,
                         global const uchar *images, int img_off, global const uchar *labels,
                         int lab_off, int has_labels, global const int *index, int idx_off,
                         int start, int count, int dim)
{
#if GATHER_ROWS
    int i = get_global_id(0);
    if (i >= count)
        return;
    int src = index[idx_off + start + i];
    global const uchar *in = images + img_off + src * dim;
    global float *out = x + x_off + i * dim;
    int j = 0;
    for (; j + 16 <= dim; j += 16)
        STORE16(convert_float16(vload16(0, in + j)) * (1.0f / 255.0f), out + j);
    for (; j < dim; j++)
        out[j] = (float)in[j] * (1.0f / 255.0f);
    if (has_y)
        y[y_off + i] = has_labels ? (int)labels[lab_off + src] : 0;
#else
    int e = get_global_id(0);
    if (e >= count * dim)
        return;
    int i = e / dim, j = e - i * dim;
    int src = index[idx_off + start + i];
    x[x_off + e] = (float)images[img_off + src * dim + j] * (1.0f / 255.0f);
    if (has_y && j == 0)
        y[y_off + i] = has_labels ? (int)labels[lab_off + src] : 0;
#endif
}
