/*
 * Training parity: the same seed, data and settings on the CPU reference and on OpenCL,
 * step by step. After every SGD step the mean loss of that step's images is compared,
 * and at the end every parameter. Eight runs cover the code paths:
 *   784-64-10 relu/softmax, he init, batch 32, momentum 0.9           60 steps
 *     (on CPU devices one hidden layer of <= 128 takes the fused forward + output step)
 *   784-200-10 relu/softmax, batch 50, momentum (wider: forward, then output step) 20 steps
 *   784-20-10 sigmoid/sigmoid-mse, uniform init, batch 1 (seed 000)   100 steps
 *   784-32-16-10 relu/softmax, batch 1, momentum 0.9 and decay          200 steps
 *     (batch 1: OpenCL's fused per-sample kernel against the reference's general path)
 *   784-32-16-10 tanh/softmax, xavier, batch 127, momentum, decay     50 steps
 *   784-16-10 relu/softmax, full batch of 1000; OpenCL computes it in chunks of 300
 *     with accumulated gradients, the reference in one piece (seed 003)  50 steps
 *   (on CPU devices these run the first layer from the pixel lists, as the reference)
 *   784-48-10 relu/softmax, batch 64, momentum, dense_input: gather + dense products
 *     for the first layer (the GPU way)                                   40 steps
 *   784-10 sigmoid/softmax, batch 100, one layer (always gathered)      30 steps
 *   784-64-10 relu/softmax, batch 64, adam with a one-cycle schedule      40 steps
 *   784-96-32-10 relu/softmax, batch 32, adamw, cosine with warm-up, dropout 0.3  40 steps
 *   784-32-16-10 relu/softmax, batch 1, nesterov, step schedule, warm-up (OpenCL's fused
 *     per-sample kernel, which computes each step's rate itself)      150 steps
 *   784-40-10 sigmoid/softmax, batch 40, dropout 0.2 and input dropout 0.1 (the output
 *     step unfused: act' of a sigmoid is taken before the dropout)     30 steps
 *   784-64-10 relu/softmax, batch 50, adam, dropout 0.25, distortions (shift, rotation,
 *     scale, elastic) drawn anew each epoch                             30 steps
 * MNISTCL_TEST_SMALL=1 (the rusticl runs) makes the chunked full batch 250 images in
 * chunks of 75: Mesa's llvmpipe ends a work-item's loops after 65535 iterations in all
 * (ocl_loops_capped), which the first layer's gradient over 300 rows passes.
 * Tolerance: step losses |x - ref| <= 1e-6 + 1e-5 |ref|; parameters <= 2e-6 + 1e-5 |ref|
 * (the adamw case 1e-5 + 1e-5 |ref|: Adam divides a gradient by its running size, so where
 * a weight's gradients are rounding noise (units dropped most of the time), its steps of
 * up to lr = 2e-3 follow the noise's sign; observed 2.9e-6 in 2 of 78794 weights).
 * The reference accumulates in double, OpenCL in float, so the runs drift apart slowly;
 * observed on pocl: at most 4e-7 relative in a step loss, 2e-7 absolute in a parameter.
 */
#include <stdio.h>
#include <stdlib.h>

#include "mnistcl/train.h"
#include "train/trainer_internal.h"
#include "test_util.h"

typedef struct {
    const char *name;
    mlp_spec spec;
    init_kind init;
    train_config cfg;
    int images, steps;
    int cl_chunk_rows; /* chunk size forced on the OpenCL side (0 = automatic) */
    int cpu_unfused;   /* batch 1 through the reference's general path, not its fused twin */
    trainer_knobs knobs; /* dense_input; chunk_rows and unfused are set per side */
    double param_atol;   /* the parameters' absolute tolerance, 0: 2e-6 (see above) */
} parity_case;

/* Runs the case on be; fills losses[steps] and params (mlp_param_count floats). */
static int run_case(backend *be, const parity_case *c, const dataset *train, int chunk_rows,
                    int unfused, double *losses, float *params)
{
    mc_error err;
    trainer *t = NULL;
    trainer_knobs knobs = c->knobs;
    knobs.chunk_rows = chunk_rows;
    knobs.unfused = unfused;
    if (trainer_create_with(&t, be, &c->spec, train, NULL, &c->cfg, &knobs, &err)) {
        test_fail("%s: trainer_create on %s: %s", c->name, be->name, err.msg);
        return 0;
    }
    rng init, shuffle;
    rng_seed(&init, 42);
    rng_seed(&shuffle, 43);
    mlp_init_params(&c->spec, c->init, &init, params);
    int ok = trainer_set_params(t, params) == MC_OK;
    int per_epoch = trainer_steps_per_epoch(t);
    for (int s = 0; ok && s < c->steps; s++) {
        if (s % per_epoch == 0)
            ok = trainer_begin_epoch(t, s / per_epoch + 1, &shuffle) == MC_OK;
        ok = ok && trainer_step(t, s % per_epoch) == MC_OK &&
             trainer_step_loss(t, s % per_epoch, &losses[s]) == MC_OK;
    }
    ok = ok && trainer_get_params(t, params) == MC_OK;
    if (!ok)
        test_fail("%s: training on %s failed", c->name, be->name);
    trainer_destroy(t);
    return ok;
}

int main(void)
{
    backend *cpu = backend_cpu_create();
    backend *cl = test_open_opencl();
    dataset train;
    mc_error err;
    if (dataset_load_named(&train, DATASET_MNIST, NULL, 1, &err)) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        return 1;
    }
    parity_case cases[] = {
        {"relu/softmax batch 32", {2, {784, 64, 10}, ACT_RELU, OUT_SOFTMAX_XENT}, INIT_HE,
         {.batch = 32, .lr = 0.05f, .momentum = 0.9f, .shuffle = 1}, 32 * 60, 60, 0, 0, {0}, 0},
        {"relu/softmax 200 wide batch 50", {2, {784, 200, 10}, ACT_RELU, OUT_SOFTMAX_XENT},
         INIT_HE, {.batch = 50, .lr = 0.05f, .momentum = 0.9f, .shuffle = 1}, 50 * 20, 20, 0, 0, {0}, 0},
        {"sigmoid/sigmoid-mse batch 1 fused", {2, {784, 20, 10}, ACT_SIGMOID, OUT_SIGMOID_MSE},
         INIT_UNIFORM, {.batch = 1, .lr = 0.01f, .shuffle = 0}, 100, 100, 0, 1, {0}, 0},
        {"relu/softmax batch 1 fused, momentum", {3, {784, 32, 16, 10}, ACT_RELU, OUT_SOFTMAX_XENT},
         INIT_HE, {.batch = 1, .lr = 0.01f, .momentum = 0.9f, .weight_decay = 1e-4f,
                   .shuffle = 1},
         200, 200, 0, 1, {0}, 0},
        {"tanh/softmax batch 127", {3, {784, 32, 16, 10}, ACT_TANH, OUT_SOFTMAX_XENT},
         INIT_XAVIER,
         {.batch = 127, .lr = 0.1f, .momentum = 0.5f, .weight_decay = 1e-4f, .shuffle = 1},
         127 * 50, 50, 0, 0, {0}, 0},
        {"relu/softmax full batch, chunked", {2, {784, 16, 10}, ACT_RELU, OUT_SOFTMAX_XENT},
         INIT_UNIFORM, {.batch = 0, .lr = 0.2f}, 1000, 50, 300, 0, {0}, 0},
        {"relu/softmax batch 64, dense first layer", {2, {784, 48, 10}, ACT_RELU,
                                                       OUT_SOFTMAX_XENT},
         INIT_HE, {.batch = 64, .lr = 0.05f, .momentum = 0.9f, .shuffle = 1},
         64 * 40, 40, 0, 0, {.dense_input = 1}, 0},
        {"sigmoid/softmax batch 100, one layer", {1, {784, 10}, ACT_SIGMOID, OUT_SOFTMAX_XENT},
         INIT_XAVIER, {.batch = 100, .lr = 0.1f, .shuffle = 1}, 100 * 30, 30, 0, 0, {0}, 0},
        {"adam one-cycle batch 64", {2, {784, 64, 10}, ACT_RELU, OUT_SOFTMAX_XENT}, INIT_HE,
         {.batch = 64, .lr = 3e-3f, .shuffle = 1, .optimizer = MC_OPT_ADAM, .beta1 = 0.9f,
          .beta2 = 0.999f, .eps = 1e-8f, .schedule = MC_SCHEDULE_ONECYCLE, .epochs = 2},
         64 * 20, 40, 0, 0, {0}, 0},
        {"adamw cosine, dropout, batch 32", {3, {784, 96, 32, 10}, ACT_RELU, OUT_SOFTMAX_XENT},
         INIT_HE,
         {.batch = 32, .lr = 2e-3f, .weight_decay = 1e-2f, .shuffle = 1,
          .optimizer = MC_OPT_ADAMW, .beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-8f,
          .schedule = MC_SCHEDULE_COSINE, .epochs = 1, .warmup_steps = 5, .dropout = 0.3f,
          .seed = 11},
         32 * 40, 40, 0, 0, {0}, 1e-5},
        {"nesterov step schedule batch 1 fused", {3, {784, 32, 16, 10}, ACT_RELU,
                                                  OUT_SOFTMAX_XENT},
         INIT_HE,
         {.batch = 1, .lr = 0.01f, .momentum = 0.9f, .shuffle = 1,
          .optimizer = MC_OPT_NESTEROV, .schedule = MC_SCHEDULE_STEP, .epochs = 3,
          .step_epochs = 1, .gamma = 0.5f, .warmup_steps = 20},
         60, 150, 0, 1, {0}, 0},
        {"sigmoid, dropout 0.2 and input dropout 0.1", {2, {784, 40, 10}, ACT_SIGMOID,
                                                       OUT_SOFTMAX_XENT},
         INIT_XAVIER,
         {.batch = 40, .lr = 0.2f, .momentum = 0.9f, .shuffle = 1, .dropout = 0.2f,
          .input_dropout = 0.1f, .seed = 5},
         40 * 30, 30, 0, 0, {0}, 0},
        {"augmented, adam, dropout, batch 50", {2, {784, 64, 10}, ACT_RELU, OUT_SOFTMAX_XENT},
         INIT_HE,
         {.batch = 50, .lr = 1e-3f, .shuffle = 1, .optimizer = MC_OPT_ADAM, .beta1 = 0.9f,
          .beta2 = 0.999f, .eps = 1e-8f, .dropout = 0.25f, .seed = 3, .augment = 1,
          .augment_shift = 2, .augment_rotate = 10, .augment_scale = 0.1f,
          .augment_alpha = 34, .augment_sigma = 4},
         50 * 10, 30, 0, 0, {0}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        if (test_small() && cases[i].cl_chunk_rows > 0)
            cases[i].images = 250, cases[i].cl_chunk_rows = 75;
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const parity_case *c = &cases[i];
        dataset subset = train;
        dataset_truncate(&subset, c->images);
        size_t n = mlp_param_count(&c->spec);
        double *loss[2] = {calloc((size_t)c->steps, 8), calloc((size_t)c->steps, 8)};
        float *params[2] = {malloc(n * 4), malloc(n * 4)};
        if (run_case(cpu, c, &subset, 0, c->cpu_unfused, loss[0], params[0]) &&
            run_case(cl, c, &subset, c->cl_chunk_rows, 0, loss[1], params[1])) {
            float *lf[2] = {malloc((size_t)c->steps * 4), malloc((size_t)c->steps * 4)};
            for (int s = 0; s < c->steps; s++)
                lf[0][s] = (float)loss[0][s], lf[1][s] = (float)loss[1][s];
            char what[128];
            snprintf(what, sizeof what, "%s: step losses", c->name);
            check_close(what, lf[1], lf[0], (size_t)c->steps, 1e-6, 1e-5);
            free(lf[0]), free(lf[1]);
            snprintf(what, sizeof what, "%s: parameters after %d steps", c->name, c->steps);
            check_close(what, params[1], params[0], n, c->param_atol > 0 ? c->param_atol : 2e-6,
                        1e-5);
            printf("%-36s loss %.4f -> %.4f (reference) / %.4f (OpenCL)\n", c->name, loss[0][0],
                   loss[0][c->steps - 1], loss[1][c->steps - 1]);
            if (!(loss[0][c->steps - 1] < loss[0][0]))
                test_fail("%s: the loss did not fall; the run proves little", c->name);
        }
        free(loss[0]), free(loss[1]), free(params[0]), free(params[1]);
    }
    dataset_free(&train);
    backend_destroy(cl);
    backend_destroy(cpu);
    return test_exit_code();
}
