/*
 * Finite-difference gradient check of the CPU reference backend, for every hidden
 * activation (sigmoid, relu, tanh) with every output (softmax + cross-entropy,
 * sigmoid + the seed's delta o - t), on a 12-7-5-4 network (two hidden layers, so the
 * delta GEMM with the fused activation derivative is on the path) and 3 images.
 *
 * The objective differentiated:
 *   softmax:     mean_i -log p_i[y_i]
 *   sigmoid-mse: mean_i sum_c -(t log o + (1-t) log(1-o)). The seed 000 delta o - t is
 *                exactly the gradient of this binary cross-entropy; the squared error the
 *                seed prints is only reported, never differentiated.
 * Central differences with h = 1e-3 on float parameters; pass rule
 * |numeric - analytic| <= 2e-4 + 1e-2 |analytic| (float rounding of the activations makes
 * the numeric side noisy: observed up to 1e-4, while a wrong derivative errs by ~1e-1).
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/train.h"
#include "test_util.h"

#define N_IMAGES 3
#define DIM 12
#define CLASSES 4

/* The objective above for the current parameters. */
static double objective(trainer *t, const mlp_spec *spec, const dataset *set)
{
    float out[N_IMAGES * CLASSES];
    if (trainer_predict(t, 1, 0, N_IMAGES, out))
        test_fail("predict failed");
    double total = 0;
    for (int i = 0; i < N_IMAGES; i++) {
        int y = set->labels[i];
        const float *o = out + i * CLASSES;
        if (spec->output == OUT_SOFTMAX_XENT) {
            total += -log((double)o[y]);
        } else {
            for (int c = 0; c < CLASSES; c++)
                total += c == y ? -log((double)o[c]) : -log(1.0 - (double)o[c]);
        }
    }
    return total / N_IMAGES;
}

static void check_pair(act_kind act, output_kind out, const dataset *set, rng *r)
{
    mlp_spec spec = {.n_layers = 3, .sizes = {DIM, 7, 5, CLASSES}, .hidden_act = act,
                     .output = out};
    backend *cpu = backend_cpu_create();
    train_config cfg = {.batch = N_IMAGES};
    trainer *t = NULL;
    mc_error err;
    if (trainer_create(&t, cpu, &spec, set, NULL, &cfg, &err)) {
        test_fail("trainer_create: %s", err.msg);
        return;
    }
    size_t n = mlp_param_count(&spec);
    float *p = malloc(n * 4), *grad = malloc(n * 4), *num = malloc(n * 4);
    mlp_init_params(&spec, INIT_XAVIER, r, p);
    for (int l = 0; l < spec.n_layers; l++) /* nonzero biases, so their gradient matters */
        for (int j = 0; j < spec.sizes[l + 1]; j++)
            p[mlp_bias_offset(&spec, l) + j] = (float)(rng_uniform(r) - 0.5);
    double loss;
    trainer_set_params(t, p);
    if (trainer_gradient(t, 0, N_IMAGES, grad, &loss))
        test_fail("trainer_gradient failed");
    double max_grad = 0;
    for (size_t i = 0; i < n; i++) {
        float saved = p[i];
        float up = saved + 1e-3f, down = saved - 1e-3f;
        p[i] = up;
        trainer_set_params(t, p);
        double f_up = objective(t, &spec, set);
        p[i] = down;
        trainer_set_params(t, p);
        double f_down = objective(t, &spec, set);
        p[i] = saved;
        num[i] = (float)((f_up - f_down) / ((double)up - (double)down));
        if (fabs(grad[i]) > max_grad)
            max_grad = fabs(grad[i]);
    }
    char what[96];
    snprintf(what, sizeof what, "gradient %s hidden, %s output (analytic vs numeric)",
             act_name(act), output_name(out));
    check_close(what, grad, num, n, 2e-4, 1e-2);
    if (max_grad < 1e-3)
        test_fail("%s: gradients are all but zero (max %g): the check proves nothing", what,
                  max_grad);
    printf("%-50s %zu parameters, max |gradient| %.3f\n", what, n, max_grad);
    free(p), free(grad), free(num);
    trainer_destroy(t);
    backend_destroy(cpu);
}

int main(void)
{
    rng r;
    rng_seed(&r, 99);
    unsigned char images[N_IMAGES * DIM], labels[N_IMAGES];
    for (int i = 0; i < N_IMAGES * DIM; i++)
        images[i] = (unsigned char)rng_below(&r, 256);
    for (int i = 0; i < N_IMAGES; i++)
        labels[i] = (unsigned char)rng_below(&r, CLASSES);
    dataset set = {.images = images, .labels = labels, .n = N_IMAGES, .rows = 3, .cols = 4,
                   .max_label = CLASSES - 1};
    const act_kind acts[] = {ACT_SIGMOID, ACT_RELU, ACT_TANH};
    for (int a = 0; a < 3; a++)
        for (int o = 0; o < 2; o++)
            check_pair(acts[a], (output_kind)o, &set, &r);
    return test_exit_code();
}
