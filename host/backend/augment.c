/* Setting up the augment operation on the host (augment.h). */
#include "backend/augment.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

/* Simard's settings for 28 x 28 images, no buffers (augment.h). */
void augment_args_defaults(augment_args *a)
{
    memset(a, 0, sizeof *a);
    a->width = a->height = 28;
    a->shift = AUGMENT_DEFAULT_SHIFT;
    a->rotate_deg = AUGMENT_DEFAULT_ROTATE;
    a->scale = AUGMENT_DEFAULT_SCALE;
    a->alpha = AUGMENT_DEFAULT_ALPHA;
    a->sigma = AUGMENT_DEFAULT_SIGMA;
}

/* 2 R + 1 (augment.h). */
int augment_gauss_taps(float sigma)
{
    return 2 * augment_radius(sigma) + 1;
}

/* The normalised Gaussian, in double, then float (augment.h). */
void augment_gauss_weights(float sigma, float *w)
{
    int R = augment_radius(sigma);
    double sum = 0.0, s2 = 2.0 * (double)sigma * (double)sigma;
    for (int k = -R; k <= R; k++)
        sum += exp(-(double)k * k / s2);
    for (int k = -R; k <= R; k++)
        w[k + R] = (float)(exp(-(double)k * k / s2) / sum);
}

/* A buffer on be with the weights (augment.h). */
mc_status augment_gauss_upload(backend *be, float sigma, buf **out, mc_error *err)
{
    *out = NULL;
    if (!(sigma > 0.0f) || augment_radius(sigma) > AUGMENT_MAX_RADIUS)
        return mc_fail(err, MC_ERR_USAGE,
                       "elastic sigma %g: expected more than 0 and at most %g pixels", sigma,
                       AUGMENT_MAX_RADIUS / 3.0);
    int taps = augment_gauss_taps(sigma);
    float *w = malloc(sizeof(float) * (size_t)taps);
    if (!w)
        return mc_fail(err, MC_ERR_NOMEM, "out of memory");
    augment_gauss_weights(sigma, w);
    mc_status st = be->ops->alloc(be, sizeof(float) * (size_t)taps, out);
    if (!st)
        st = be->ops->write(be, *out, 0, w, sizeof(float) * (size_t)taps);
    free(w);
    if (st) {
        if (*out)
            be->ops->release(be, *out);
        *out = NULL;
        return mc_fail(err, st, "cannot upload the elastic field's Gaussian");
    }
    return MC_OK;
}
