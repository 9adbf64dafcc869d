/*
 * mc_mnist_preprocess (mnistcl/classify.h): a drawing as MNIST's images were made from
 * NIST's (LeCun et al.): the ink's bounding box, scaled with area averaging into a
 * 20-pixel box (aspect ratio kept), placed in 28x28 with its centre of mass on pixel (14, 14).
 */
#include "mnistcl/classify.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#define MAX_SIDE 4096

/* The part of source pixel k, [k, k + 1), that output interval [a, b) covers. */
static double overlap(int k, double a, double b)
{
    double lo = a > k ? a : k, hi = b < k + 1 ? b : k + 1;
    return hi > lo ? hi - lo : 0.0;
}

/*
 * Scales the box [x0, x0 + bw) x [y0, y0 + bh) of gray (row stride width) to ow x oh
 * pixels (each output pixel the mean of the source area it covers) into box (doubles).
 */
static void scale_box(const uint8_t *gray, int width, int x0, int y0, int bw, int bh, int ow,
                      int oh, double *box)
{
    double fx = (double)bw / ow, fy = (double)bh / oh;
    for (int i = 0; i < oh; i++) {
        double a_y = i * fy, b_y = (i + 1) * fy;
        for (int j = 0; j < ow; j++) {
            double a_x = j * fx, b_x = (j + 1) * fx, sum = 0;
            for (int y = (int)a_y; y < bh && y < b_y; y++) {
                double wy = overlap(y, a_y, b_y);
                const uint8_t *row = gray + (size_t)(y0 + y) * width + x0;
                for (int x = (int)a_x; x < bw && x < b_x; x++)
                    sum += wy * overlap(x, a_x, b_x) * row[x];
            }
            box[i * ow + j] = sum / (fx * fy);
        }
    }
}

int mc_mnist_preprocess(const uint8_t *gray, int width, int height, uint8_t *out)
{
    const int side = MC_MNIST_SIDE;
    memset(out, 0, (size_t)side * side);
    if (width < 1 || height < 1 || width > MAX_SIDE || height > MAX_SIDE)
        return -1;
    int x0 = width, y0 = height, x1 = -1, y1 = -1; /* the ink's bounding box */
    for (int y = 0; y < height; y++)
        for (int x = 0; x < width; x++)
            if (gray[(size_t)y * width + x]) {
                x0 = x < x0 ? x : x0, x1 = x > x1 ? x : x1;
                y0 = y < y0 ? y : y0, y1 = y > y1 ? y : y1;
            }
    if (x1 < 0)
        return 0; /* nothing drawn */
    int bw = x1 - x0 + 1, bh = y1 - y0 + 1, longer = bw > bh ? bw : bh;
    int ow = (int)lround((double)bw * MC_MNIST_BOX / longer);
    int oh = (int)lround((double)bh * MC_MNIST_BOX / longer);
    ow = ow < 1 ? 1 : ow, oh = oh < 1 ? 1 : oh;
    double box[MC_MNIST_BOX * MC_MNIST_BOX];
    scale_box(gray, width, x0, y0, bw, bh, ow, oh, box);
    /* centre of mass of the box (pixel centres at i + 0.5), moved to the centre of pixel
       (14, 14): where MNIST's images have it (their mean is 14.49, 14.51) */
    double mass = 0, mx = 0, my = 0;
    for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++) {
            double v = box[i * ow + j];
            mass += v, mx += v * (j + 0.5), my += v * (i + 0.5);
        }
    if (mass <= 0)
        return 0;
    /* (to a millionth of a pixel first, so a symmetric box's exact half is not rounding
       noise's to decide) */
    double cx = round(mx / mass * 1e6) / 1e6, cy = round(my / mass * 1e6) / 1e6;
    int ox = (int)lround(side / 2 + 0.5 - cx), oy = (int)lround(side / 2 + 0.5 - cy);
    for (int i = 0; i < oh; i++)
        for (int j = 0; j < ow; j++) {
            int r = oy + i, c = ox + j;
            if (r < 0 || r >= side || c < 0 || c >= side)
                continue;
            long v = lround(box[i * ow + j]);
            out[r * side + c] = (uint8_t)(v > 255 ? 255 : v < 0 ? 0 : v);
        }
    return 0;
}
