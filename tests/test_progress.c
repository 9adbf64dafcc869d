/*
 * The progress line's sums (trainer_progress_request / trainer_progress_result: the
 * backend's sum into a buffer of their own and a read that does not wait, read_async)
 * against trainer_partial_sums (a blocking read of the per-image statistics, added in
 * double), on the CPU reference and on OpenCL, over two epochs of real MNIST images
 * trained in slices of 1, 2, 3, ... steps, a request behind each slice:
 *   relu/softmax 784-32-10, batch 32, 300 images (a shorter last step of 12)
 *   sigmoid/sigmoid-mse 784-20-10, batch 1: the per-sample kernel (sequential)
 *   the same through the general path (trainer_knobs.unfused)
 *   relu/softmax 784-24-16-10, batch 25, dropout 0.2: dense layers and dropout
 * and a resumed partial epoch: epoch 2 begun again, its statistics cleared
 * (trainer_clear_stats), trained from step 4: the sums cover zeros before it, as
 * trainer_partial_sums's do.
 * Checks: the images counted (as trainer_partial_sums covers them); the hits EXACT; the
 * loss sum within 1e-6 + 2e-6 |sum| (the device adds in float; the reference in double, then
 * rounds to float); the parameters after the run bit for bit those of the same run
 * without requests (reading the sums changes nothing); a second request before a finish
 * replaces the first; trainer_progress_result before any request and after one not yet
 * followed by trainer_finish, and a request of 0 steps, are internal errors; read_async
 * itself copies a buffer's bytes from an offset EXACTLY on both backends.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/train.h"
#include "train/trainer_internal.h"
#include "test_util.h"

typedef struct {
    const char *name;
    mlp_spec spec;
    train_config cfg;
    int images;
    trainer_knobs knobs;
    int sequential; /* whether the trainer must take the per-sample kernel */
} progress_case;

/* One request behind the slice ending at `steps`, checked against trainer_partial_sums. */
static int check_request(trainer *t, const char *what, int steps)
{
    pass_stats p;
    double loss_sum;
    long long correct;
    if (trainer_progress_request(t, steps) || trainer_finish(t) ||
        trainer_progress_result(t, &p) || trainer_partial_sums(t, steps, &loss_sum, &correct)) {
        test_fail("%s: a call failed at step %d", what, steps);
        return 0;
    }
    long long images = (long long)steps * t->batch < t->train.n ? (long long)steps * t->batch
                                                                : t->train.n;
    double sum = p.loss * p.images, hits = p.accuracy * p.images;
    int ok = 1;
    if (p.images != images) {
        test_fail("%s, step %d: %d images counted, the steps hold %lld", what, steps, p.images,
                  images);
        ok = 0;
    }
    if ((long long)(hits + 0.5) != correct) {
        test_fail("%s, step %d: %.0f hits, trainer_partial_sums %lld", what, steps, hits,
                  correct);
        ok = 0;
    }
    double d = sum - loss_sum;
    if (!(d <= 1e-6 + 2e-6 * loss_sum && -d <= 1e-6 + 2e-6 * loss_sum)) {
        test_fail("%s, step %d: loss sum %.9g, trainer_partial_sums %.9g", what, steps, sum,
                  loss_sum);
        ok = 0;
    }
    return ok;
}

/*
 * Trains the case for two epochs in slices of 1, 2, 3, ... steps (with requests after each
 * when `requests`), then epoch 2 again from step 4 with cleared statistics; the final
 * parameters into params. Returns the number of requests checked (0 on a failure).
 */
static int run_case(backend *be, const progress_case *c, const dataset *train, int requests,
                    float *params)
{
    char what[400];
    snprintf(what, sizeof what, "%s on %.256s", c->name, be->name);
    mc_error err;
    trainer *t = NULL;
    if (trainer_create_with(&t, be, &c->spec, train, NULL, &c->cfg, &c->knobs, &err)) {
        test_fail("%s: trainer_create: %s", what, err.msg);
        return 0;
    }
    if (t->sequential != c->sequential) {
        test_fail("%s: the trainer %s the per-sample kernel", what,
                  t->sequential ? "takes" : "does not take");
        trainer_destroy(t);
        return 0;
    }
    rng init, shuffle;
    rng_seed(&init, 42);
    rng_seed(&shuffle, 43);
    mlp_init_params(&c->spec, INIT_HE, &init, params);
    int checked = 0, ok = trainer_set_params(t, params) == MC_OK;
    int steps = trainer_steps_per_epoch(t);
    pass_stats p;
    rng epoch2 = shuffle;
    for (int pass = 0; ok && pass < 3; pass++) {
        int epoch = pass < 2 ? pass + 1 : 2, s = pass < 2 ? 0 : 4;
        if (pass == 1)
            epoch2 = shuffle;
        if (pass == 2)
            shuffle = epoch2; /* epoch 2 once more, as a resumed run draws it */
        ok = trainer_begin_epoch(t, epoch, &shuffle) == MC_OK &&
             (pass < 2 || trainer_clear_stats(t) == MC_OK);
        for (int slice = 1; ok && s < steps; slice++) {
            int next = s + slice < steps ? s + slice : steps;
            ok = trainer_train_steps(t, s, next - s) == MC_OK;
            if (ok && requests && slice == 2) /* two before one finish: the second counts */
                ok = trainer_progress_request(t, s) == MC_OK;
            if (ok && requests)
                ok = check_request(t, what, next) && ++checked;
            else if (ok)
                ok = trainer_finish(t) == MC_OK;
            s = next;
        }
        ok = ok && trainer_end_epoch(t, &p) == MC_OK;
    }
    ok = ok && trainer_get_params(t, params) == MC_OK;
    trainer_destroy(t);
    if (!ok)
        test_fail("%s: the run failed", what);
    return ok ? (requests ? checked : 1) : 0;
}

/* trainer_progress_result before any request, and before the finish after one: both
   internal errors (their three messages are expected on stderr). */
static void check_result_order(backend *be, const dataset *train)
{
    mlp_spec spec = {1, {784, 10}, ACT_RELU, OUT_SOFTMAX_XENT};
    train_config cfg = {.batch = 10, .lr = 0.1f};
    trainer *t = NULL;
    mc_error err;
    rng r;
    rng_seed(&r, 1);
    pass_stats p;
    printf("three internal errors expected on %s:\n", be->name);
    fflush(stdout);
    if (trainer_create(&t, be, &spec, train, NULL, &cfg, &err) ||
        trainer_begin_epoch(t, 1, &r) || trainer_train_steps(t, 0, 2)) {
        test_fail("result order on %s: a call failed", be->name);
    } else {
        if (trainer_progress_result(t, &p) != MC_ERR_RUNTIME)
            test_fail("on %s: trainer_progress_result without a request succeeded", be->name);
        if (trainer_progress_request(t, 2))
            test_fail("on %s: trainer_progress_request failed", be->name);
        else if (trainer_progress_result(t, &p) != MC_ERR_RUNTIME)
            test_fail("on %s: trainer_progress_result before trainer_finish succeeded",
                      be->name);
        if (trainer_progress_request(t, 0) != MC_ERR_RUNTIME)
            test_fail("on %s: trainer_progress_request of 0 steps succeeded", be->name);
    }
    fflush(stderr);
    trainer_destroy(t); /* with a request queued: destroy waits for its read */
}

/* read_async of 5 words from word 3 of a 12-word buffer, after a finish: EXACT. */
static void check_read_async(backend *be)
{
    int32_t src[12], dst[8];
    for (int i = 0; i < 12; i++)
        src[i] = 1000 * i - 7;
    for (int i = 0; i < 8; i++)
        dst[i] = -1;
    buf *b = upload_i32(be, src, 12);
    if (!b || be->ops->read_async(be, b, 3 * 4, dst + 1, 5 * 4) || be->ops->finish(be)) {
        test_fail("read_async on %s: a call failed", be->name);
    } else {
        int want[8] = {-1, src[3], src[4], src[5], src[6], src[7], -1, -1};
        char what[300];
        snprintf(what, sizeof what, "read_async on %s (words 3..8 into dst[1..6))", be->name);
        check_equal_int(what, dst, want, 8);
    }
    if (b)
        be->ops->release(be, b);
}

int main(void)
{
    backend *bes[2] = {backend_cpu_create(), test_open_opencl()};
    dataset train;
    mc_error err;
    if (dataset_load_named(&train, DATASET_MNIST, NULL, 1, &err)) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        return 1;
    }
    const progress_case cases[] = {
        {"relu/softmax batch 32", {2, {784, 32, 10}, ACT_RELU, OUT_SOFTMAX_XENT},
         {.batch = 32, .lr = 0.05f, .momentum = 0.9f, .shuffle = 1}, 300, {0}, 0},
        {"sigmoid/sigmoid-mse batch 1 per-sample kernel",
         {2, {784, 20, 10}, ACT_SIGMOID, OUT_SIGMOID_MSE}, {.batch = 1, .lr = 0.01f}, 120,
         {0}, 1},
        {"sigmoid/sigmoid-mse batch 1 general path",
         {2, {784, 20, 10}, ACT_SIGMOID, OUT_SIGMOID_MSE}, {.batch = 1, .lr = 0.01f}, 120,
         {.unfused = 1}, 0},
        {"relu/softmax 24-16 batch 25 dropout, dense", {3, {784, 24, 16, 10}, ACT_RELU,
                                                        OUT_SOFTMAX_XENT},
         {.batch = 25, .lr = 0.05f, .momentum = 0.9f, .shuffle = 1, .dropout = 0.2f, .seed = 3},
         250, {.dense_input = 1}, 0},
    };
    for (int k = 0; k < 2; k++) {
        check_read_async(bes[k]);
        check_result_order(bes[k], &train);
    }
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const progress_case *c = &cases[i];
        dataset subset = train;
        dataset_truncate(&subset, c->images);
        size_t n = mlp_param_count(&c->spec);
        float *with = malloc(n * 4), *without = malloc(n * 4);
        for (int k = 0; k < 2 && with && without; k++) {
            int checked = run_case(bes[k], c, &subset, 1, with);
            if (checked && run_case(bes[k], c, &subset, 0, without)) {
                if (memcmp(with, without, n * 4) != 0)
                    test_fail("%s on %s: the requests changed the parameters", c->name,
                              bes[k]->name);
                printf("%-48s %-9s %3d requests checked\n", c->name, k ? "OpenCL" : "reference",
                       checked);
            }
        }
        free(with), free(without);
    }
    dataset_free(&train);
    backend_destroy(bes[1]);
    backend_destroy(bes[0]);
    return test_exit_code();
}
