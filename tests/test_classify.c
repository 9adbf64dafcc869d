/*
 * The classifier and MNIST's preprocessing (mnistcl/classify.h).
 *   mc_mnist_preprocess: exact cases — nothing drawn; one pixel (a full 20x20 block, its
 *     mass 10 from its edge placed on pixel 14's centre 14.5: rows/cols 5..24); a 40x20
 *     bar (20x10, placed by its centre of mass); mass off-centre (the box moves so the
 *     mass is on pixel 14, a part is cut at the border); a 2x2 checkerboard of 0
 *     and 255 scaled down (area means, 127.5 rounds to 128); sizes out of range (-1, zeroed);
 *     a digit-like drawing 10x larger becomes the same image as the small one.
 *   mc_classify on the CPU reference and on OpenCL against the network run image by image
 *     on the host in double (mlp_trace_run), for 1, 63, 127, 257 and 784 images (more
 *     than MC_CLASSIFY_CAPACITY: several launches) of 784-127-10 relu/softmax and
 *     784-63-10 sigmoid/sigmoid-mse: |x - ref| <= 1e-5 + 1e-4 |ref|, and the guesses
 *     equal wherever the host's top two outputs are 1e-4 apart or more.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/classify.h"
#include "test_util.h"

#define SIDE MC_MNIST_SIDE

/* Whether out is exactly 255 inside rows [r0, r1) x cols [c0, c1) and 0 elsewhere. */
static int is_block(const uint8_t *out, int r0, int r1, int c0, int c1)
{
    for (int r = 0; r < SIDE; r++)
        for (int c = 0; c < SIDE; c++) {
            int inside = r >= r0 && r < r1 && c >= c0 && c < c1;
            if (out[r * SIDE + c] != (inside ? 255 : 0))
                return 0;
        }
    return 1;
}

static void test_preprocess(void)
{
    uint8_t out[SIDE * SIDE];
    static uint8_t g[400 * 400];
    memset(g, 0, sizeof g);
    memset(out, 7, sizeof out);
    if (mc_mnist_preprocess(g, 50, 30, out) != 0 || !is_block(out, 0, 0, 0, 0))
        test_fail("preprocess: an empty drawing must give an empty image");
    g[13 * 50 + 41] = 255; /* one pixel anywhere: the whole 20x20 box, mass on pixel 14 */
    if (mc_mnist_preprocess(g, 50, 30, out) != 0 || !is_block(out, 5, 25, 5, 25))
        test_fail("preprocess: one pixel must give the 20x20 block at 5..24");
    memset(g, 0, sizeof g); /* a 40x20 bar at (5, 3): 20x10, mass (10, 5) -> 14.5: +4.5, +9.5 */
    for (int y = 3; y < 23; y++)
        for (int x = 5; x < 45; x++)
            g[y * 60 + x] = 255;
    if (mc_mnist_preprocess(g, 60, 30, out) != 0 || !is_block(out, 10, 20, 5, 25))
        test_fail("preprocess: a 40x20 bar must give a 20x10 block at rows 10..19, cols 5..24");
    memset(g, 0, sizeof g); /* 20x20 box: faint ink (10) in its left column, 255 in 17..19 */
    for (int y = 0; y < 20; y++) {
        g[y * 20 + 0] = 10;
        for (int x = 17; x < 20; x++)
            g[y * 20 + x] = 255;
    }
    /* mass x: (10 * 0.5 + 765 * 18.5) / 775 = 18.27 -> box left at round(14.5 - 18.27) = -4 */
    mc_mnist_preprocess(g, 20, 20, out);
    int right_ok = 1;
    for (int r = 0; r < SIDE; r++) {
        for (int c = 0; c < SIDE; c++) {
            int want = r >= 5 && r < 25 && c >= 13 && c < 16 ? 255 : 0; /* col 0 cut at -4 */
            if (out[r * SIDE + c] != want)
                right_ok = 0;
        }
    }
    if (!right_ok)
        test_fail("preprocess: the centre of mass must move the box (cols 13..15, col 0 cut)");
    memset(g, 0, sizeof g); /* a 40x40 checkerboard of 1-pixel squares -> 20x20 of 127.5 */
    for (int y = 0; y < 40; y++)
        for (int x = 0; x < 40; x++)
            g[y * 40 + x] = (uint8_t)((x + y) % 2 ? 255 : 0);
    g[0] = 255; /* the box must span the whole 40x40 */
    mc_mnist_preprocess(g, 40, 40, out);
    if (out[14 * SIDE + 14] != 128 || out[0] != 0)
        test_fail("preprocess: area means of a checkerboard must be 128 (got %d)",
                  out[14 * SIDE + 14]);
    memset(out, 9, sizeof out);
    if (mc_mnist_preprocess(g, 0, 5, out) != -1 || mc_mnist_preprocess(g, 5, 4097, out) != -1 ||
        !is_block(out, 0, 0, 0, 0))
        test_fail("preprocess: a size out of 1..4096 must return -1 with the image zeroed");
    /* a "digit" drawn 10x larger than a 20x14 one reduces to the same image */
    uint8_t small[20 * 14], small_out[SIDE * SIDE];
    rng r;
    rng_seed(&r, 11);
    for (int i = 0; i < 20 * 14; i++)
        small[i] = (uint8_t)(rng_next(&r) % 3 ? 0 : 255);
    small[0] = small[19] = small[13 * 20] = small[13 * 20 + 19] = 255; /* the box corners */
    memset(g, 0, sizeof g);
    for (int y = 0; y < 140; y++)
        for (int x = 0; x < 200; x++)
            g[(y + 30) * 400 + x + 100] = small[(y / 10) * 20 + x / 10];
    mc_mnist_preprocess(small, 20, 14, small_out);
    mc_mnist_preprocess(g, 400, 400, out);
    if (memcmp(small_out, out, sizeof out) != 0)
        test_fail("preprocess: a drawing 10x larger must reduce to the same image");
}

/* Runs n random images through a random network on be and against mlp_trace_run. */
static void test_classify_on(backend *be, const char *layers, act_kind act, output_kind o, int n)
{
    mlp_spec spec;
    mc_error err;
    if (mlp_parse_layers(&spec, layers, &err)) {
        test_fail("mlp_parse_layers %s: %s", layers, err.msg);
        return;
    }
    spec.hidden_act = act;
    spec.output = o;
    size_t np = mlp_param_count(&spec);
    int in = spec.sizes[0], classes = spec.sizes[spec.n_layers];
    float *params = malloc(np * sizeof(float)), *out = malloc((size_t)n * classes * sizeof(float));
    float *ref = malloc((size_t)n * classes * sizeof(float));
    uint8_t *images = malloc((size_t)n * in);
    rng r;
    rng_seed(&r, (uint64_t)n * 31 + (uint64_t)act);
    mlp_init_params(&spec, INIT_HE, &r, params);
    for (size_t i = 0; i < np; i++) /* biases too */
        if (i % 7 == 0)
            params[i] += 0.01f * (float)(rng_next(&r) % 100) / 100.0f;
    for (size_t i = 0; i < (size_t)n * in; i++)
        images[i] = (uint8_t)(rng_next(&r) % 4 ? 0 : rng_next(&r) % 256);
    mc_classifier *c = NULL;
    if (mc_classifier_create(&c, be, &spec, params, &err)) {
        test_fail("mc_classifier_create on %s: %s", backend_name(be), err.msg);
        goto done;
    }
    if (mc_classifier_inputs(c) != in || mc_classifier_classes(c) != classes)
        test_fail("mc_classifier_inputs/classes: %d/%d", mc_classifier_inputs(c),
                  mc_classifier_classes(c));
    if (mc_classify(c, images, n, out, &err)) {
        test_fail("mc_classify on %s: %s", backend_name(be), err.msg);
        goto done;
    }
    int guesses_ok = 1;
    for (int i = 0; i < n; i++) {
        mlp_trace tr;
        if (mlp_trace_run(&spec, params, images + (size_t)i * in, &tr)) {
            test_fail("mlp_trace_run: out of memory");
            goto done;
        }
        int best = 0, second = -1;
        for (int k = 0; k < classes; k++) {
            ref[(size_t)i * classes + k] = (float)tr.out[k];
            if (tr.out[k] > tr.out[best])
                best = k;
        }
        for (int k = 0; k < classes; k++)
            if (k != best && (second < 0 || tr.out[k] > tr.out[second]))
                second = k;
        if ((second < 0 || tr.out[best] - tr.out[second] >= 1e-4) &&
            mc_argmax(out + (size_t)i * classes, classes) != best)
            guesses_ok = 0;
        mlp_trace_free(&tr);
    }
    char what[128];
    snprintf(what, sizeof what, "mc_classify %s %d images on %s", layers, n, backend_name(be));
    check_close(what, out, ref, (size_t)n * classes, 1e-5, 1e-4);
    if (!guesses_ok)
        test_fail("%s: a guess differs from the host's", what);
done:
    mc_classifier_destroy(c);
    free(params), free(out), free(ref), free(images);
}

int main(void)
{
    test_preprocess();
    const int counts[] = {1, 63, 127, 257, 784};
    backend *cpu = backend_cpu_create();
    backend *cl = test_open_opencl();
    backend *bes[2] = {cpu, cl};
    for (int b = 0; b < 2; b++)
        for (size_t k = 0; k < sizeof counts / sizeof counts[0]; k++) {
            if (test_small() && counts[k] > 127)
                continue;
            test_classify_on(bes[b], "784,127,10", ACT_RELU, OUT_SOFTMAX_XENT, counts[k]);
            test_classify_on(bes[b], "784,63,10", ACT_SIGMOID, OUT_SIGMOID_MSE, counts[k]);
        }
    backend_destroy(cl);
    backend_destroy(cpu);
    return test_exit_code();
}
