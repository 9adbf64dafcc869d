/*
 * augment.h: setting up the augment operation (augment_args, backend_ops.h) on the host:
 * Simard's settings as defaults, and the elastic field's Gaussian, computed once.
 */
#ifndef MNISTCL_AUGMENT_H
#define MNISTCL_AUGMENT_H

#include "backend/backend_ops.h"

/* The defaults: shifts of up to 2 pixels, rotations of up to 10 degrees, scaling by up to
   10%, and Simard, Steinkraus & Platt's (ICDAR 2003) elastic distortion, alpha 34, sigma 4. */
#define AUGMENT_DEFAULT_SHIFT 2.0f
#define AUGMENT_DEFAULT_ROTATE 10.0f
#define AUGMENT_DEFAULT_SCALE 0.1f
#define AUGMENT_DEFAULT_ALPHA 34.0f
#define AUGMENT_DEFAULT_SIGMA 4.0f

/**
 * Fills a with the default settings above for 28 x 28 images, seed 0, epoch 0, start 0,
 * count 0 and no buffers: the caller sets the buffers (x, images, index and, with alpha >
 * 0, gauss from augment_gauss_upload), the rows and its own settings.
 */
void augment_args_defaults(augment_args *a);

/** Taps of the elastic field's Gaussian of std sigma: 2 augment_radius(sigma) + 1. */
int augment_gauss_taps(float sigma);

/**
 * The normalised Gaussian of std sigma > 0 (radius R = augment_radius(sigma)):
 * w[k] = exp(-(k - R)^2 / (2 sigma^2)) / sum, for k = 0 .. 2R, computed in double and
 * rounded to float (augment_args' gauss; the same numbers for every backend).
 */
void augment_gauss_weights(float sigma, float *w);

/**
 * Allocates a buffer on be holding augment_gauss_weights(sigma) into *out (the caller
 * releases it with be->ops->release). sigma must be in (0, AUGMENT_MAX_RADIUS / 3]:
 * MC_ERR_USAGE with err set otherwise; MC_ERR_NOMEM and the backend's errors as they come.
 */
mc_status augment_gauss_upload(backend *be, float sigma, buf **out, mc_error *err);

#endif
