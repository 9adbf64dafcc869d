/*
 * gather.cl: build a training batch on the device from the uint8 image set.
 *   x[i][j] = images[index[start + i]][j] * (1/255)    (float multiply, bit-exact with the CPU)
 *   y[i]    = labels[index[start + i]]
 * Global size: (dim, count). y is written by the work-items with j == 0; has_y == 0 skips it.
 */
kernel void gather_batch(global float *x, int x_off, global int *y, int y_off, int has_y,
                         global const uchar *images, int img_off, global const uchar *labels,
                         int lab_off, int has_labels, global const int *index, int idx_off,
                         int start, int count, int dim)
{
    int j = get_global_id(0), i = get_global_id(1);
    if (j >= dim || i >= count)
        return;
    int src = index[idx_off + start + i];
    x[x_off + i * dim + j] = (float)images[img_off + src * dim + j] * (1.0f / 255.0f);
    if (has_y && j == 0)
        y[y_off + i] = has_labels ? (int)labels[lab_off + src] : 0;
}
