/*
 * Data parallelism (trainer_create_parallel): a group of G replicas against one trainer on
 * the same kind of device, from the same parameters, step by step.
 *   - after every step the replicas' parameters are identical, bit for bit;
 *   - the step losses and the final parameters are the one-device run's within the
 *     training-parity tolerance (test_train_parity.c: losses 1e-6 + 1e-5 |ref|,
 *     parameters 2e-6 + 1e-5 |ref|, adamw 1e-5 + 1e-5 |ref|): the gradient is the same
 *     sum grouped differently;
 *   - a second run of the group gives the same bits;
 *   - the first step's per-image losses are the one-device run's exactly (same
 *     parameters, each image at its place in the step: statistics positions, dropout
 *     masks and distortions by the step's row);
 *   - the statistics merged over the replicas (partial sums, step losses, the first bad
 *     step, the progress sums, the epoch's sums) and the split evaluation passes (test,
 *     training, validation) agree with the one-device trainer's;
 *   - the shuffle generator advances once per epoch, as for one trainer;
 *   - a batch smaller than G is a usage error; one backend is trainer_create exactly.
 * Cases: momentum SGD over an epoch boundary with a short last step; adamw + dropout
 * with an odd share split; adam + dropout + distortions in chunks of 10 rows; a last
 * step of one image (a replica without rows).
 * usage: test_multi_device cpu            (three instances of the CPU reference)
 *        test_multi_device P:D,P:D[,...]  (OpenCL devices; pocl: POCL_DEVICES="pthread
 *                                          pthread" gives 0:0 and 0:1)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/opencl.h"
#include "mnistcl/train.h"
#include "train/data_parallel.h"
#include "train/trainer_internal.h"
#include "test_util.h"

#define MAX_BACKENDS 8

typedef struct {
    const char *name;
    mlp_spec spec;
    train_config cfg;
    int images, steps;
    int replicas;        /* at most the backends there are */
    trainer_knobs knobs; /* chunk_rows */
    double param_atol;   /* 0: 2e-6 */
} dp_case;

/* Everything one run leaves to compare. */
typedef struct {
    double *losses;       /* per step */
    float *params;
    double partial_loss;  /* trainer_partial_sums after the last epoch's steps */
    long long partial_correct;
    pass_stats epoch, test, train_pass, val;
    rng after;            /* the shuffle generator at the end */
    int bad_step;         /* trainer_first_bad_step at the limit below */
} run_result;

static void free_result(run_result *r)
{
    free(r->losses), free(r->params);
}

/*
 * Trains c on backends[0 .. n) (n 1: one trainer, through trainer_create_with) and fills
 * out. With n > 1 checks after every step that each replica's parameters are the
 * primary's, bit for bit. bad_limit: the loss limit of the first-bad-step query.
 */
static int run(backend **be, int n, const dp_case *c, const dataset *train, const dataset *test,
               const dataset *val, double bad_limit, run_result *out)
{
    mc_error err;
    trainer *t = NULL;
    mc_status st = n == 1 ? trainer_create_with(&t, be[0], &c->spec, train, test, &c->cfg,
                                                &c->knobs, &err)
                          : trainer_create_parallel_with(&t, be, n, NULL, &c->spec, train, test,
                                                         &c->cfg, &c->knobs, &err);
    if (st) {
        test_fail("%s: creating %d replicas: %s", c->name, n, err.msg);
        return 0;
    }
    if (trainer_replicas(t) != n)
        test_fail("%s: trainer_replicas %d, want %d", c->name, trainer_replicas(t), n);
    if (val && trainer_set_validation(t, val, &err))
        test_fail("%s: trainer_set_validation: %s", c->name, err.msg);
    size_t np = mlp_param_count(&c->spec);
    memset(out, 0, sizeof *out);
    out->losses = calloc((size_t)c->steps, sizeof(double));
    out->params = malloc(np * sizeof(float));
    float *other = malloc(np * sizeof(float));
    rng init, shuffle;
    rng_seed(&init, 42);
    rng_seed(&shuffle, 43);
    mlp_init_params(&c->spec, INIT_HE, &init, out->params);
    int ok = trainer_set_params(t, out->params) == MC_OK;
    int per_epoch = trainer_steps_per_epoch(t);
    for (int s = 0; ok && s < c->steps; s++) {
        if (s % per_epoch == 0)
            ok = trainer_begin_epoch(t, s / per_epoch + 1, &shuffle) == MC_OK;
        ok = ok && trainer_step(t, s % per_epoch) == MC_OK &&
             trainer_step_loss(t, s % per_epoch, &out->losses[s]) == MC_OK;
        for (int i = 1; ok && n > 1 && i < n; i++) {
            ok = trainer_get_params(t, out->params) == MC_OK &&
                 trainer_get_params(dp_local_trainer(t, i), other) == MC_OK;
            if (ok && memcmp(out->params, other, np * sizeof(float)) != 0) {
                test_fail("%s: after step %d replica %d's parameters differ from replica 0's",
                          c->name, s, i);
                ok = 0;
            }
        }
    }
    int last = (c->steps - 1) % per_epoch + 1; /* steps of the last epoch done */
    if (ok) { /* the progress sums: this process's replicas are every replica */
        pass_stats ps;
        ok = trainer_progress_request(t, last) == MC_OK && trainer_finish(t) == MC_OK &&
             trainer_progress_result(t, &ps) == MC_OK;
        double sum = 0;
        long long images = 0;
        for (int s = 0; s < last; s++) { /* the last epoch's steps, the short one weighed */
            long long rows = train->n - (long long)s * c->cfg.batch;
            rows = rows < c->cfg.batch ? rows : c->cfg.batch;
            sum += out->losses[c->steps - last + s] * (double)rows, images += rows;
        }
        if (ok && ps.images != images)
            test_fail("%s: progress over %d images, want %lld", c->name, ps.images, images);
        double mean = sum / (double)images;
        if (ok && !(ps.loss > mean - 1e-5 * mean && ps.loss < mean + 1e-5 * mean))
            test_fail("%s: progress loss %.9g, the steps' mean %.9g", c->name, ps.loss, mean);
    }
    ok = ok && trainer_first_bad_step(t, last, bad_limit, &out->bad_step) == MC_OK;
    ok = ok && trainer_partial_sums(t, last, &out->partial_loss, &out->partial_correct) == MC_OK;
    if (ok && c->steps % per_epoch == 0)
        ok = trainer_end_epoch(t, &out->epoch) == MC_OK;
    ok = ok && trainer_get_params(t, out->params) == MC_OK;
    ok = ok && trainer_evaluate(t, 0, &out->test) == MC_OK;
    ok = ok && trainer_evaluate(t, 1, &out->train_pass) == MC_OK;
    if (ok && val)
        ok = trainer_evaluate_validation(t, &out->val) == MC_OK;
    out->after = shuffle;
    if (!ok)
        test_fail("%s: the run on %d replica(s) failed", c->name, n);
    free(other);
    trainer_destroy(t);
    return ok;
}

/* The per-image losses of the first step from params (one step, then its statistics). */
static int first_step_losses(backend **be, int n, const dp_case *c, const dataset *train,
                             float *losses)
{
    mc_error err;
    trainer *t = NULL;
    mc_status st = n == 1 ? trainer_create_with(&t, be[0], &c->spec, train, NULL, &c->cfg,
                                                &c->knobs, &err)
                          : trainer_create_parallel_with(&t, be, n, NULL, &c->spec, train, NULL,
                                                         &c->cfg, &c->knobs, &err);
    if (st) {
        test_fail("%s: creating %d replicas: %s", c->name, n, err.msg);
        return 0;
    }
    size_t np = mlp_param_count(&c->spec);
    float *params = malloc(np * sizeof(float));
    rng init, shuffle;
    rng_seed(&init, 42);
    rng_seed(&shuffle, 43);
    mlp_init_params(&c->spec, INIT_HE, &init, params);
    int ok = trainer_set_params(t, params) == MC_OK &&
             trainer_begin_epoch(t, 1, &shuffle) == MC_OK && trainer_step(t, 0) == MC_OK;
    /* merged over the replicas as the trainer merges them (first_bad_step / step_loss) */
    for (int i = 0; ok && i < n; i++) {
        trainer *u = dp_local_trainer(t, i);
        float *mine = malloc((size_t)c->cfg.batch * sizeof(float));
        ok = u->op->read(u->be, u->stat_loss, 0, mine, (size_t)c->cfg.batch * 4) == MC_OK;
        for (int k = 0; ok && k < c->cfg.batch; k++)
            losses[k] = i ? losses[k] + mine[k] : mine[k];
        free(mine);
    }
    free(params);
    trainer_destroy(t);
    if (!ok)
        test_fail("%s: the first step on %d replica(s) failed", c->name, n);
    return ok;
}

/* |a - b| <= atol + rtol |b| for two doubles, else a failure naming what. */
static void check_near(const char *name, const char *what, double a, double b, double atol,
                       double rtol)
{
    double d = a > b ? a - b : b - a;
    if (!(d <= atol + rtol * (b < 0 ? -b : b)))
        test_fail("%s: %s %.9g, one device %.9g", name, what, a, b);
}

/* Compares a group's run with the one-device run (and with a second run of the group). */
static void compare(const dp_case *c, const run_result *one, const run_result *g,
                    const run_result *again, const dataset *val, int exact_per_image)
{
    size_t np = mlp_param_count(&c->spec);
    char what[160];
    float *lf[2] = {malloc((size_t)c->steps * 4), malloc((size_t)c->steps * 4)};
    for (int s = 0; s < c->steps; s++)
        lf[0][s] = (float)one->losses[s], lf[1][s] = (float)g->losses[s];
    snprintf(what, sizeof what, "%s: step losses", c->name);
    check_close(what, lf[1], lf[0], (size_t)c->steps, 1e-6, 1e-5);
    free(lf[0]), free(lf[1]);
    snprintf(what, sizeof what, "%s: parameters after %d steps", c->name, c->steps);
    check_close(what, g->params, one->params, np, c->param_atol > 0 ? c->param_atol : 2e-6,
                1e-5);
    if (memcmp(g->params, again->params, np * sizeof(float)) != 0)
        test_fail("%s: a second run of the %d replicas ended with other parameters", c->name,
                  c->replicas);
    if (memcmp(&g->after, &one->after, sizeof g->after) != 0)
        test_fail("%s: the shuffle generator advanced differently over the group", c->name);
    if (g->bad_step != one->bad_step)
        test_fail("%s: first bad step %d, one device %d", c->name, g->bad_step, one->bad_step);
    check_near(c->name, "partial loss sum", g->partial_loss, one->partial_loss, 1e-6, 1e-5);
    if (g->partial_correct != one->partial_correct)
        test_fail("%s: partial hits %lld, one device %lld", c->name, g->partial_correct,
                  one->partial_correct);
    const pass_stats *gp[4] = {&g->epoch, &g->test, &g->train_pass, &g->val};
    const pass_stats *op[4] = {&one->epoch, &one->test, &one->train_pass, &one->val};
    const char *pass_name[4] = {"epoch", "test pass", "training pass", "validation pass"};
    for (int k = 0; k < 4; k++) {
        if (k == 3 && !val)
            continue;
        if (gp[k]->images != op[k]->images)
            test_fail("%s: %s over %d images, one device %d", c->name, pass_name[k],
                      gp[k]->images, op[k]->images);
        snprintf(what, sizeof what, "%s loss", pass_name[k]);
        check_near(c->name, what, gp[k]->loss, op[k]->loss, 1e-6, 1e-5);
        /* the parameters differ by rounding: an image on the boundary may go either way */
        double hits = (gp[k]->accuracy - op[k]->accuracy) * op[k]->images;
        if (hits > 1.5 || hits < -1.5 || (exact_per_image && (hits > 0.5 || hits < -0.5)))
            test_fail("%s: %s accuracy %.6f, one device %.6f", c->name, pass_name[k],
                      gp[k]->accuracy, op[k]->accuracy);
    }
    printf("%-44s %d replicas: loss %.4f -> %.4f (one device %.4f), test %.2f%% (%.2f%%)\n",
           c->name, c->replicas, g->losses[0], g->losses[c->steps - 1],
           one->losses[c->steps - 1], 100 * g->test.accuracy, 100 * one->test.accuracy);
}

int main(int argc, char **argv)
{
    if (argc != 2) {
        fprintf(stderr, "usage: test_multi_device cpu | P:D,P:D[,...]\n");
        return 2;
    }
    backend *be[MAX_BACKENDS];
    int n_be = 0, reference = strcmp(argv[1], "cpu") == 0;
    mc_error err;
    if (reference) {
        for (; n_be < 3; n_be++)
            be[n_be] = backend_cpu_create();
    } else {
        char list[256];
        snprintf(list, sizeof list, "%s", argv[1]);
        for (char *spec = strtok(list, ","); spec && n_be < MAX_BACKENDS;
             spec = strtok(NULL, ",")) {
            if (backend_open(spec, &be[n_be], &err)) {
                fprintf(stderr, "%s: %s\n", getenv("CI") ? "FAIL" : "SKIP", err.msg);
                for (int i = 0; i < n_be; i++)
                    backend_destroy(be[i]);
                return getenv("CI") && strcmp(getenv("CI"), "false") ? 1 : TEST_SKIP;
            }
            printf("OpenCL device under test: %s\n", backend_name(be[n_be]));
            n_be++;
        }
    }
    dataset train, test;
    if (dataset_load_named(&train, DATASET_MNIST, NULL, 1, &err) ||
        dataset_load_named(&test, DATASET_MNIST, NULL, 0, &err)) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        return 1;
    }
    dataset_truncate(&test, 2000);
    dp_case cases[] = {
        {"momentum, epoch boundary, short last step", {2, {784, 64, 10}, ACT_RELU,
                                                        OUT_SOFTMAX_XENT},
         {.batch = 32, .lr = 0.05f, .momentum = 0.9f, .shuffle = 1}, 32 * 20 + 7, 42, 2, {0}, 0},
        {"adamw cosine, dropout, batch 50 (3 shares)", {3, {784, 96, 32, 10}, ACT_RELU,
                                                    OUT_SOFTMAX_XENT},
         {.batch = 50, .lr = 2e-3f, .weight_decay = 1e-2f, .shuffle = 1,
          .optimizer = MC_OPT_ADAMW, .beta1 = 0.9f, .beta2 = 0.99f, .eps = 1e-8f,
          .schedule = MC_SCHEDULE_COSINE, .epochs = 1, .warmup_steps = 5, .dropout = 0.3f,
          .seed = 11},
         50 * 30, 30, 3, {0}, 1e-5},
        {"adam, dropout, distortions, chunks of 10", {2, {784, 64, 10}, ACT_RELU,
                                                       OUT_SOFTMAX_XENT},
         {.batch = 50, .lr = 1e-3f, .shuffle = 1, .optimizer = MC_OPT_ADAM, .beta1 = 0.9f,
          .beta2 = 0.999f, .eps = 1e-8f, .dropout = 0.25f, .seed = 3, .augment = 1,
          .augment_shift = 2, .augment_rotate = 10, .augment_scale = 0.1f,
          .augment_alpha = 34, .augment_sigma = 4},
         50 * 12, 12, 2, {.chunk_rows = 10}, 0},
        {"last step of one image", {2, {784, 32, 10}, ACT_TANH, OUT_SOFTMAX_XENT},
         {.batch = 16, .lr = 0.1f, .shuffle = 1}, 16 * 10 + 1, 11, 2, {0}, 0},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dp_case *c = &cases[i];
        if (c->replicas > n_be)
            c->replicas = n_be;
        if (c->replicas < 2) {
            test_fail("%s: needs two devices, have %d", c->name, n_be);
            continue;
        }
        dataset subset = train, val = train;
        dataset_truncate(&subset, c->images);
        size_t skip = (size_t)c->images * dataset_dim(&train); /* the next 700 images */
        val.images += skip, val.images_lead += skip;
        val.labels += c->images;
        val.n = 700;
        /* the first-bad-step limit: between the losses, so the answer is a real step */
        run_result one, g, again;
        if (!run(be, 1, c, &subset, &test, &val, 1e9, &one))
            continue;
        int last = (c->steps - 1) % ((c->images + c->cfg.batch - 1) / c->cfg.batch) + 1;
        double limit = one.losses[c->steps - last + last / 2] - 1e-12;
        free_result(&one);
        if (run(be, 1, c, &subset, &test, &val, limit, &one) &&
            run(be, c->replicas, c, &subset, &test, &val, limit, &g) &&
            run(be, c->replicas, c, &subset, &test, &val, limit, &again)) {
            if (one.bad_step < 0)
                test_fail("%s: the limit %.6g finds no bad step; the check proves little",
                          c->name, limit);
            compare(c, &one, &g, &again, &val, reference);
            float *a = calloc((size_t)c->cfg.batch, 4), *b = calloc((size_t)c->cfg.batch, 4);
            if (first_step_losses(be, 1, c, &subset, a) &&
                first_step_losses(be, c->replicas, c, &subset, b)) {
                char what[128];
                snprintf(what, sizeof what, "%s: the first step's per-image losses", c->name);
                if (reference)
                    check_close(what, b, a, (size_t)c->cfg.batch, 0, 0);
                else
                    check_close(what, b, a, (size_t)c->cfg.batch, 1e-6, 1e-5);
            }
            free(a), free(b);
            free_result(&g), free_result(&again);
        }
        free_result(&one);
    }
    /* batch 1 cannot be split; one backend is trainer_create */
    {
        mlp_spec spec = {2, {784, 16, 10}, ACT_RELU, OUT_SOFTMAX_XENT};
        train_config cfg = {.batch = 1, .lr = 0.01f};
        dataset small = train;
        dataset_truncate(&small, 100);
        trainer *t = NULL;
        mc_status st = trainer_create_parallel(&t, be, 2, NULL, &spec, &small, NULL, &cfg, &err);
        if (st != MC_ERR_USAGE || !strstr(err.msg, "--batch 1"))
            test_fail("batch 1 over 2 devices: status %d (%s), want a usage error naming "
                      "--batch 1", (int)st, st ? err.msg : "created");
        trainer_destroy(st ? NULL : t);
        cfg.batch = 10;
        st = trainer_create_parallel(&t, be, 1, NULL, &spec, &small, NULL, &cfg, &err);
        if (st)
            test_fail("one backend: %s", err.msg);
        else if (trainer_replicas(t) != 1 || dp_local_trainer(t, 1) || t->knobs.replicas > 1)
            test_fail("one backend: the trainer is not a plain one");
        trainer_destroy(st ? NULL : t);
    }
    dataset_free(&train);
    dataset_free(&test);
    for (int i = 0; i < n_be; i++)
        backend_destroy(be[i]);
    return test_exit_code();
}
