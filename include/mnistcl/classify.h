/*
 * Classifying images with a trained network on any backend, and MNIST's preprocessing of
 * a drawing: what a program embedding mnistcl (or `mnistcl serve`) needs to turn pixels
 * into the network's ten outputs.
 *
 *     backend *be;  mlp_spec spec;  float *params;  mc_classifier *c;
 *     backend_open("auto", &be, &err);
 *     model_load("m.st", &spec, &params, NULL, &err);
 *     mc_classifier_create(&c, be, &spec, params, &err);
 *     mc_classify(c, image, 1, outputs, &err);     (outputs: 10 floats for MNIST)
 *
 * (docs/LIBRARY.md has the whole program.)
 */
#ifndef MNISTCL_CLASSIFY_H
#define MNISTCL_CLASSIFY_H

#include <stdint.h>

#include "mnistcl/backend.h"
#include "mnistcl/mlp.h"
#include "mnistcl/status.h"

typedef struct mc_classifier mc_classifier;

/** Images one mc_classify launch runs at most (more are run in several). */
#define MC_CLASSIFY_CAPACITY 256

/**
 * Puts the network (spec, params: mlp_param_count floats, layout of mlp.h; both copied)
 * on backend be, with room for MC_CLASSIFY_CAPACITY images. be must outlive the
 * classifier. MC_ERR_NOMEM, MC_ERR_OPENCL with err set.
 */
mc_status mc_classifier_create(mc_classifier **out, backend *be, const mlp_spec *spec,
                               const float *params, mc_error *err);

/**
 * The output layer's values (softmax probabilities, or the sigmoid outputs) of n images
 * of mc_classifier_inputs bytes each (0 = background, 255 = ink, as in MNIST's files),
 * into outputs (n * mc_classifier_classes floats), computed on the classifier's backend.
 * Not thread-safe: one call at a time per classifier. n >= 0.
 */
mc_status mc_classify(mc_classifier *c, const uint8_t *images, int n, float *outputs,
                      mc_error *err);

/** The index of the largest of `classes` outputs (the first of equal ones). */
int mc_argmax(const float *outputs, int classes);

/** Pixels per image the network takes (sizes[0]). */
int mc_classifier_inputs(const mc_classifier *c);

/** Outputs per image (sizes[n_layers]). */
int mc_classifier_classes(const mc_classifier *c);

/** Frees the classifier (not its backend); NULL is fine. */
void mc_classifier_destroy(mc_classifier *c);

/** Side of MNIST's images, and of the box the digit is scaled into. */
#define MC_MNIST_SIDE 28
#define MC_MNIST_BOX 20

/**
 * MNIST's own preprocessing of a drawing (LeCun et al.): gray (width x height bytes,
 * row-major, 0 = background, 255 = ink) is cut to the bounding box of its nonzero
 * pixels, scaled with area averaging, aspect ratio kept, so its longer side is
 * MC_MNIST_BOX pixels, and placed in a 28x28 image so that its centre of mass lies on
 * the centre of pixel (14, 14) (row and column 14, counted from 0: where MNIST's images
 * have it), rounded to whole pixels (parts shifted past the border are cut).
 * out receives 28 * 28 bytes. An empty drawing gives an empty image. Returns 0, or -1
 * (out zeroed) when width or height is below 1 or above 4096.
 */
int mc_mnist_preprocess(const uint8_t *gray, int width, int height, uint8_t *out);

#endif
