/*
 * A program embedding the library, built with include/ alone (CMake links it to
 * mnistcl_core, not to the internal headers): every public header compiles on its own,
 * and what they offer is enough to train and evaluate. On the CPU reference, a 16-pixel
 * toy problem (label = which quarter of the image is lit) is learnt to 100%, and the
 * printed plan names the operations of a step.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/backend.h"
#include "mnistcl/checkpoint.h"
#include "mnistcl/csv.h"
#include "mnistcl/dataset.h"
#include "mnistcl/mlp.h"
#include "mnistcl/model_io.h"
#include "mnistcl/opencl.h"
#include "mnistcl/rng.h"
#include "mnistcl/safetensors.h"
#include "mnistcl/status.h"
#include "mnistcl/train.h"

#define N_IMAGES 64

/* Fails the test with a message. */
static int fail(const char *what, const char *detail)
{
    fprintf(stderr, "test_public_api: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
    return 1;
}

int main(void)
{
    static uint8_t images[N_IMAGES * 16], labels[N_IMAGES];
    rng r;
    rng_seed(&r, 7);
    for (int i = 0; i < N_IMAGES; i++) { /* quarter q of the 4x4 image lit, noise elsewhere */
        int q = i % 4;
        labels[i] = (uint8_t)q;
        for (int p = 0; p < 16; p++)
            images[i * 16 + p] = (uint8_t)((p / 4 == q ? 200 : 0) + rng_next(&r) % 40);
    }
    dataset set = {images, labels, N_IMAGES, 4, 4, 3};
    mlp_spec spec;
    mc_error err;
    if (mlp_parse_layers(&spec, "16,8,4", &err))
        return fail("mlp_parse_layers", err.msg);
    spec.hidden_act = ACT_RELU;
    spec.output = OUT_SOFTMAX_XENT;
    backend *be = backend_cpu_create();
    if (!be)
        return fail("backend_cpu_create", NULL);
    if (backend_is_opencl(be) || !strstr(backend_name(be), "CPU reference"))
        return fail("backend_name / backend_is_opencl", backend_name(be));
    train_config cfg = {.batch = 8, .lr = 0.1f, .momentum = 0.9f, .shuffle = 1};
    trainer *t = NULL;
    if (trainer_create(&t, be, &spec, &set, &set, &cfg, &err))
        return fail("trainer_create", err.msg);
    float *params = malloc(mlp_param_count(&spec) * sizeof(float));
    mlp_init_params(&spec, INIT_HE, &r, params);
    mc_status st = trainer_set_params(t, params);
    for (int e = 0; !st && e < 30; e++) {
        st = trainer_begin_epoch(t, &r);
        if (!st)
            st = trainer_train_steps(t, 0, trainer_steps_per_epoch(t));
    }
    pass_stats test = {0};
    if (!st)
        st = trainer_evaluate(t, 0, &test);
    if (st)
        return fail("training", mc_status_name(st));
    char *text = NULL;
    size_t len = 0;
    FILE *plan = open_memstream(&text, &len);
    trainer_print_plan(t, plan);
    fclose(plan);
    printf("%s", text);
    printf("toy problem: test loss %.4f, accuracy %.1f%%\n", test.loss, 100 * test.accuracy);
    int ok = test.accuracy == 1.0 && strstr(text, "gemm") && strstr(text, "update");
    free(text);
    free(params);
    trainer_destroy(t);
    backend_destroy(be);
    if (!ok)
        return fail("the toy problem was not learnt, or the plan lacks its stages", NULL);
    printf("all checks passed\n");
    return 0;
}
