/*
 * How faithful MNIST's preprocessing (mc_mnist_preprocess) is to MNIST's own images: each
 * test image is "drawn" again as a person would on the serve page's 280x280 canvas (every
 * pixel of at least THRESHOLD ink painted as a full 10x10 square of 255, no grey levels),
 * preprocessed back to 28x28 and classified; prints how often the guess equals the guess
 * for the original image, and the mean absolute pixel difference.
 * usage: preprocess_agreement MODEL [THRESHOLD (128)] [DEVICE (cpu)]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/classify.h"
#include "mnistcl/dataset.h"
#include "mnistcl/model_io.h"
#include "mnistcl/opencl.h"

#define SCALE 10

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: preprocess_agreement MODEL [THRESHOLD] [DEVICE]\n");
        return 2;
    }
    int threshold = argc > 2 ? atoi(argv[2]) : 128;
    mc_error err;
    mlp_spec spec;
    float *params;
    dataset test = {0};
    backend *be = NULL;
    mc_classifier *c = NULL;
    if (model_load(argv[1], &spec, &params, NULL, &err) ||
        dataset_load_named(&test, DATASET_MNIST, NULL, 0, &err) ||
        backend_open(argc > 3 ? argv[3] : "cpu", &be, &err) ||
        mc_classifier_create(&c, be, &spec, params, &err)) {
        fprintf(stderr, "preprocess_agreement: %s\n", err.msg);
        return 1;
    }
    const int side = MC_MNIST_SIDE, big = side * SCALE, n = test.n;
    uint8_t *redrawn = malloc((size_t)n * side * side), *canvas = malloc((size_t)big * big);
    float *a = malloc(sizeof(float) * 10 * n), *b = malloc(sizeof(float) * 10 * n);
    double diff = 0;
    for (int i = 0; i < n; i++) {
        const uint8_t *img = test.images + (size_t)i * side * side;
        for (int y = 0; y < big; y++)
            for (int x = 0; x < big; x++)
                canvas[y * big + x] = img[(y / SCALE) * side + x / SCALE] >= threshold ? 255 : 0;
        mc_mnist_preprocess(canvas, big, big, redrawn + (size_t)i * side * side);
        for (int p = 0; p < side * side; p++)
            diff += fabs((double)redrawn[(size_t)i * side * side + p] - img[p]);
    }
    if (mc_classify(c, test.images, n, a, &err) || mc_classify(c, redrawn, n, b, &err)) {
        fprintf(stderr, "preprocess_agreement: %s\n", err.msg);
        return 1;
    }
    int agree = 0, right_orig = 0, right_drawn = 0;
    for (int i = 0; i < n; i++) {
        int ga = mc_argmax(a + 10 * i, 10), gb = mc_argmax(b + 10 * i, 10);
        agree += ga == gb, right_orig += ga == test.labels[i], right_drawn += gb == test.labels[i];
    }
    printf("threshold %d: redrawn guesses equal the originals' for %d/%d (%.2f%%); accuracy "
           "%.2f%% original, %.2f%% redrawn; mean |pixel difference| %.1f\n",
           threshold, agree, n, 100.0 * agree / n, 100.0 * right_orig / n,
           100.0 * right_drawn / n, diff / ((double)n * side * side));
    mc_classifier_destroy(c);
    backend_destroy(be);
    dataset_free(&test);
    free(params), free(redrawn), free(canvas), free(a), free(b);
    return 0;
}
