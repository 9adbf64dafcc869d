/*
 * A program embedding the library, built with include/ alone (CMake links it to
 * mnistcl_core, not to the internal headers): every public header compiles on its own,
 * and what they offer is enough to train and evaluate. On the CPU reference, a 16-pixel
 * toy problem (label = which quarter of the image is lit) is learnt to 100%, and the
 * printed plan names the operations of a step. A validation set (trainer_set_validation)
 * larger than the trainer's other sets scores exactly what the same images score as a test
 * set, and training goes on after it was added; dataset_split holds images out.
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
    dataset set = {.images = images, .labels = labels, .n = N_IMAGES, .rows = 4, .cols = 4,
                   .max_label = 3};
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
        st = trainer_begin_epoch(t, e + 1, &r);
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

    /* a validation set of all 64 images beside sets of 12 (its buffers grow, the plans are
       made again): the same figures as the first trainer's test pass over them */
    static uint8_t small_images[12 * 16], small_labels[12];
    memcpy(small_images, images, sizeof small_images);
    memcpy(small_labels, labels, sizeof small_labels);
    dataset small = {.images = small_images, .labels = small_labels, .n = 12, .rows = 4,
                     .cols = 4, .max_label = 3};
    trainer *v = NULL;
    pass_stats val = {0};
    if (trainer_create(&v, be, &spec, &small, &small, &cfg, &err) ||
        trainer_set_validation(v, &set, &err))
        return fail("trainer_create / trainer_set_validation", err.msg);
    if (trainer_set_validation(v, &set, &err) == MC_OK)
        return fail("a second validation set was taken", NULL);
    if ((st = trainer_get_params(t, params)) || (st = trainer_set_params(v, params)) ||
        (st = trainer_evaluate_validation(v, &val)))
        return fail("validation", mc_status_name(st));
    printf("validation of the 64 images: loss %.6f, accuracy %.1f%%\n", val.loss,
           100 * val.accuracy);
    if (val.images != 64 || val.loss != test.loss || val.accuracy != test.accuracy)
        return fail("the validation pass differs from the test pass over the same images", NULL);
    pass_stats small_stats = {0};
    if ((st = trainer_begin_epoch(v, 1, &r)) ||
        (st = trainer_train_steps(v, 0, trainer_steps_per_epoch(v))) ||
        (st = trainer_end_epoch(v, &small_stats)) || (st = trainer_evaluate_validation(v, &val)))
        return fail("training after trainer_set_validation", mc_status_name(st));
    if (small_stats.images != 12 || val.images != 64)
        return fail("the sets' sizes after training", NULL);
    trainer_destroy(v);
    static uint8_t split_images[N_IMAGES * 16], split_labels[N_IMAGES];
    memcpy(split_images, images, sizeof images);
    memcpy(split_labels, labels, sizeof labels);
    dataset whole = {.images = split_images, .labels = split_labels, .n = N_IMAGES, .rows = 4,
                     .cols = 4, .max_label = 3};
    dataset held;
    if (dataset_split(&whole, 16, 3, &held, &err) || whole.n != 48 || held.n != 16)
        return fail("dataset_split", err.msg);
    dataset_free(&held);
    free(params);
    trainer_destroy(t);
    backend_destroy(be);
    if (!ok)
        return fail("the toy problem was not learnt, or the plan lacks its stages", NULL);
    printf("all checks passed\n");
    return 0;
}
