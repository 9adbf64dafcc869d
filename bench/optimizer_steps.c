/*
 * optimizer_steps: runs a few training steps of a small network with given optimizer and
 * schedule settings on the CPU reference and on an OpenCL device (also through the
 * trainer's unfused and dense-input knobs), from given initial weights, over the first
 * images of the training set in file order, and writes the parameters after every step.
 * bench/optimizer_check.py drives it and compares the results with PyTorch's.
 *
 * usage: optimizer_steps CASES INIT OUTDIR [DEVICE]
 *   CASES  a text file, one case a line (fields separated by blanks; '#' starts a comment):
 *            name layers batch images steps epochs optimizer lr momentum weight_decay
 *            beta1 beta2 eps schedule warmup final_lr step_epochs gamma
 *          (layers "784,32,10": relu hidden layers, softmax + cross-entropy output;
 *           optimizer sgd|nesterov|adam|adamw; schedule constant|step|cosine|onecycle;
 *           epochs: the run's length the schedule spans, in epochs of images/batch steps)
 *   INIT   raw little-endian float32, mlp_param_count floats in the flat layout of
 *          mnistcl/mlp.h (per layer W (in, out) row-major, then b); one file for every
 *          case of the same layers: INIT is a pattern with "%s" replaced by the layers
 *          with '-' for ',' (e.g. init-%s.f32 -> init-784-32-10.f32)
 *   OUTDIR gets NAME.RUN.f32 for every case and run (RUN: cpu, cpu-unfused, opencl,
 *          opencl-unfused, opencl-dense): `steps` snapshots of the parameters, the one after
 *          step 1 first; and NAME.RUN.loss: each step's mean loss and learning rate
 *          (trainer_lr_at), one step a line; for the plain cpu and opencl runs also
 *          NAME.RUN.grad.f32 (before each step, trainer_gradient of its batch at the
 *          parameters the step starts from) and NAME.RUN.state.f32 (after each step, the
 *          optimizer state of trainer_get_state), for a one-step replay of the update
 *   DEVICE the OpenCL device (default "opencl"); "none" runs the CPU reference only
 * Prints one line per case and run (first and last step loss).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/dataset.h"
#include "mnistcl/opencl.h"
#include "mnistcl/train.h"
#include "train/trainer_internal.h"

typedef struct {
    char name[64], layers[128], optimizer[16], schedule[16];
    int batch, images, steps, epochs, warmup, step_epochs;
    float lr, momentum, weight_decay, beta1, beta2, eps, final_lr, gamma;
} step_case;

static int parse_name(const char *s, const char *const *names, int n)
{
    for (int i = 0; i < n; i++)
        if (strcmp(s, names[i]) == 0)
            return i;
    return -1;
}

/* Runs case c on be with knobs; writes the snapshots and losses. Returns 0 on success. */
static int run(backend *be, const char *run_name, const step_case *c, const trainer_knobs *knobs,
               const dataset *train_all, const char *init_pattern, const char *outdir,
               int diag)
{
    static const char *const opts[] = {"sgd", "nesterov", "adam", "adamw"};
    static const char *const scheds[] = {"constant", "step", "cosine", "onecycle"};
    mc_error err = {{0}};
    mlp_spec spec = {0};
    if (mlp_parse_layers(&spec, c->layers, &err)) {
        fprintf(stderr, "%s: %s\n", c->name, err.msg);
        return 1;
    }
    spec.hidden_act = ACT_RELU;
    spec.output = OUT_SOFTMAX_XENT;
    int opt = parse_name(c->optimizer, opts, 4), sched = parse_name(c->schedule, scheds, 4);
    if (opt < 0 || sched < 0) {
        fprintf(stderr, "%s: unknown optimizer %s or schedule %s\n", c->name, c->optimizer,
                c->schedule);
        return 1;
    }
    train_config cfg = {.batch = c->batch, .lr = c->lr, .momentum = c->momentum,
                        .weight_decay = c->weight_decay, .shuffle = 0,
                        .optimizer = (mc_optimizer)opt, .beta1 = c->beta1, .beta2 = c->beta2,
                        .eps = c->eps, .schedule = (mc_schedule)sched, .epochs = c->epochs,
                        .warmup_steps = c->warmup, .step_epochs = c->step_epochs,
                        .gamma = c->gamma, .final_lr = c->final_lr};
    dataset train = *train_all;
    if (c->images > train.n) {
        fprintf(stderr, "%s: %d images asked, %d in the set\n", c->name, c->images, train.n);
        return 1;
    }
    dataset_truncate(&train, c->images);

    size_t n = mlp_param_count(&spec);
    float *params = malloc(n * sizeof(float));
    double *losses = calloc((size_t)c->steps, sizeof(double));
    float *lrs = calloc((size_t)c->steps, sizeof(float));
    char dashed[128], init_path[1024], path[1024];
    snprintf(dashed, sizeof dashed, "%s", c->layers);
    for (char *p = dashed; *p; p++)
        if (*p == ',')
            *p = '-';
    snprintf(init_path, sizeof init_path, init_pattern, dashed);
    FILE *f = fopen(init_path, "rb");
    if (!params || !losses || !lrs || !f || fread(params, sizeof(float), n, f) != n) {
        fprintf(stderr, "%s: cannot read %zu floats from %s\n", c->name, n, init_path);
        if (f)
            fclose(f);
        free(params), free(losses), free(lrs);
        return 1;
    }
    fclose(f);

    snprintf(path, sizeof path, "%s/%s.%s.f32", outdir, c->name, run_name);
    FILE *out = fopen(path, "wb");
    FILE *grad_out = NULL, *state_out = NULL;
    if (diag) {
        snprintf(path, sizeof path, "%s/%s.%s.grad.f32", outdir, c->name, run_name);
        grad_out = fopen(path, "wb");
        snprintf(path, sizeof path, "%s/%s.%s.state.f32", outdir, c->name, run_name);
        state_out = fopen(path, "wb");
    }
    trainer *t = NULL;
    int ok = out != NULL && (!diag || (grad_out && state_out));
    if (ok && trainer_create_with(&t, be, &spec, &train, NULL, &cfg, knobs, &err)) {
        fprintf(stderr, "%s on %s: trainer_create: %s\n", c->name, run_name, err.msg);
        ok = 0;
    }
    size_t n_state = ok ? trainer_state_floats(t) : 0;
    float *grads = diag ? malloc(n * sizeof(float)) : NULL;
    float *state = diag ? malloc((n_state + 1) * sizeof(float)) : NULL;
    if (diag && (!grads || !state))
        ok = 0;
    rng shuffle;
    rng_seed(&shuffle, 1);
    ok = ok && trainer_set_params(t, params) == MC_OK;
    int per_epoch = ok ? trainer_steps_per_epoch(t) : 1;
    for (int s = 0; ok && s < c->steps; s++) {
        if (s % per_epoch == 0)
            ok = trainer_begin_epoch(t, s / per_epoch + 1, &shuffle) == MC_OK;
        if (ok)
            lrs[s] = trainer_lr_at(t, s);
        if (ok && diag) {
            /* the gradient the step is about to take (the batch's mean loss, no decay) */
            double gl;
            ok = trainer_gradient(t, (s % per_epoch) * c->batch, c->batch, grads, &gl) == MC_OK &&
                 fwrite(grads, sizeof(float), n, grad_out) == n;
        }
        ok = ok && trainer_step(t, s % per_epoch) == MC_OK &&
             trainer_step_loss(t, s % per_epoch, &losses[s]) == MC_OK &&
             trainer_get_params(t, params) == MC_OK &&
             fwrite(params, sizeof(float), n, out) == n;
        if (ok && diag)
            ok = trainer_get_state(t, params, state) == MC_OK &&
                 fwrite(state, sizeof(float), n_state, state_out) == n_state;
    }
    if (out && fclose(out) != 0)
        ok = 0;
    if (grad_out && fclose(grad_out) != 0)
        ok = 0;
    if (state_out && fclose(state_out) != 0)
        ok = 0;
    free(grads), free(state);
    trainer_destroy(t);
    if (ok) {
        snprintf(path, sizeof path, "%s/%s.%s.loss", outdir, c->name, run_name);
        FILE *lf = fopen(path, "w");
        for (int s = 0; lf && s < c->steps; s++)
            fprintf(lf, "%.9g %.9g\n", losses[s], lrs[s]);
        ok = lf && fclose(lf) == 0;
        printf("%-22s %-15s loss %.6f -> %.6f (%d steps)\n", c->name, run_name, losses[0],
               losses[c->steps - 1], c->steps);
    } else {
        fprintf(stderr, "%s on %s: training failed\n", c->name, run_name);
    }
    free(params), free(losses), free(lrs);
    return ok ? 0 : 1;
}

int main(int argc, char **argv)
{
    if (argc < 4 || argc > 5) {
        fprintf(stderr, "usage: optimizer_steps CASES INIT_PATTERN OUTDIR [DEVICE]\n");
        return 2;
    }
    const char *device = argc > 4 ? argv[4] : "opencl";
    FILE *cf = fopen(argv[1], "r");
    if (!cf) {
        fprintf(stderr, "cannot open %s\n", argv[1]);
        return 2;
    }
    step_case cases[64];
    int n_cases = 0;
    char line[1024];
    while (fgets(line, sizeof line, cf)) {
        char *hash = strchr(line, '#');
        if (hash)
            *hash = 0;
        step_case c = {0};
        int got = sscanf(line, "%63s %127s %d %d %d %d %15s %f %f %f %f %f %f %15s %d %f %d %f",
                         c.name, c.layers, &c.batch, &c.images, &c.steps, &c.epochs,
                         c.optimizer, &c.lr, &c.momentum, &c.weight_decay, &c.beta1,
                         &c.beta2, &c.eps, c.schedule, &c.warmup, &c.final_lr,
                         &c.step_epochs, &c.gamma);
        if (got <= 0)
            continue;
        if (got != 18 || n_cases == 64) {
            fprintf(stderr, "%s: bad case line (%d fields): %s\n", argv[1], got, line);
            fclose(cf);
            return 2;
        }
        cases[n_cases++] = c;
    }
    fclose(cf);

    mc_error err = {{0}};
    dataset train;
    if (dataset_load_named(&train, DATASET_MNIST, NULL, 1, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    backend *cpu = backend_cpu_create(), *cl = NULL;
    if (strcmp(device, "none") != 0) {
        if (backend_open(device, &cl, &err) || !backend_is_opencl(cl)) {
            fprintf(stderr, "cannot open OpenCL device %s: %s\n", device,
                    cl ? "not an OpenCL device" : err.msg);
            return 1;
        }
        printf("OpenCL: %s\n", backend_name(cl));
    }
    /* the diagnostics (gradients, optimizer state) of the plain runs; calling
       trainer_gradient between steps changes no result (OPTIMIZER_STEPS_NODIAG=1 to check) */
    const char *nodiag = getenv("OPTIMIZER_STEPS_NODIAG");
    int diag = !(nodiag && *nodiag && strcmp(nodiag, "0") != 0);
    int failed = 0;
    trainer_knobs plain = {0}, unfused = {.unfused = 1}, dense = {.dense_input = 1};
    for (int i = 0; i < n_cases; i++) {
        failed |= run(cpu, "cpu", &cases[i], &plain, &train, argv[2], argv[3], diag);
        failed |= run(cpu, "cpu-unfused", &cases[i], &unfused, &train, argv[2], argv[3], 0);
        if (cl) {
            failed |= run(cl, "opencl", &cases[i], &plain, &train, argv[2], argv[3], diag);
            failed |= run(cl, "opencl-unfused", &cases[i], &unfused, &train, argv[2], argv[3], 0);
            failed |= run(cl, "opencl-dense", &cases[i], &dense, &train, argv[2], argv[3], 0);
        }
    }
    backend_destroy(cl);
    backend_destroy(cpu);
    dataset_free(&train);
    return failed;
}
