/* `mnistcl tune`: search the kernel tunables on this device and cache the best. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_common.h"
#include "cli/cli_options.h"
#include "mnistcl/opencl.h"
#include "backend/backend_ops.h"
#include "mnistcl/rng.h"
#include "io/tune_cache.h"

static const char synopsis[] =
    "usage: mnistcl tune [--device SPEC] [--quick]\n"
    "Times the GEMM kernels of this OpenCL device with each candidate setting of their\n"
    "tunables, on the products of a 784-128-10 and a 784-1024-1024-10 training step at\n"
    "batch 128, after checking every result against the CPU reference; writes the fastest\n"
    "to the tuning cache, which later runs on this device read by themselves.";

/* The GEMMs of one training step: forward NN, [dW; db] TN with the ones row, delta NT. */
typedef struct {
    int m, n, k, ta, tb, ones;
} product;

static const product workload[] = {
    {128, 128, 784, 0, 0, 0},   {785, 128, 128, 1, 0, 1},  {129, 10, 128, 1, 0, 1},
    {128, 128, 10, 0, 1, 0},    {128, 1024, 784, 0, 0, 0}, {128, 1024, 1024, 0, 0, 0},
    {1025, 1024, 128, 1, 0, 1}, {128, 1024, 1024, 0, 1, 0},
};
#define N_PRODUCTS ((int)(sizeof workload / sizeof workload[0]))

/* The operands of one product, on both backends. */
typedef struct {
    buf *a[2], *b[2], *c[2];
    gemm_args g;
    float *ref;
    size_t nc;
} operands;

static mc_status make_operands(backend *cpu, const product *p, rng *r, operands *o)
{
    memset(o, 0, sizeof *o);
    int ar = p->ta ? p->k : p->m - p->ones, ac = p->ta ? p->m - p->ones : p->k;
    int br = p->tb ? p->n : p->k, bc = p->tb ? p->k : p->n;
    size_t na = (size_t)ar * ac, nb = (size_t)br * bc;
    o->nc = (size_t)p->m * p->n;
    float *a = malloc(na * 4 + 4), *b = malloc(nb * 4);
    o->ref = malloc(o->nc * 4);
    if (!a || !b || !o->ref) {
        free(a), free(b);
        return MC_ERR_NOMEM;
    }
    for (size_t i = 0; i < na; i++)
        a[i] = (float)(rng_uniform(r) * 2 - 1);
    for (size_t i = 0; i < nb; i++)
        b[i] = (float)(rng_uniform(r) * 2 - 1);
    gemm_args g = {.trans_a = p->ta, .trans_b = p->tb, .a_ones_row = p->ones, .m = p->m,
                   .n = p->n, .k = p->k, .lda = ac, .ldb = bc, .ldc = p->n, .alpha = 1.0f};
    o->g = g;
    cpu->ops->alloc(cpu, na * 4 + 4, &o->a[0]);
    cpu->ops->alloc(cpu, nb * 4, &o->b[0]);
    cpu->ops->alloc(cpu, o->nc * 4, &o->c[0]);
    cpu->ops->write(cpu, o->a[0], 0, a, na * 4 + 4);
    cpu->ops->write(cpu, o->b[0], 0, b, nb * 4);
    g.a = bref_at(o->a[0], 0), g.b = bref_at(o->b[0], 0), g.c = bref_at(o->c[0], 0);
    cpu->ops->gemm(cpu, &g);
    cpu->ops->read(cpu, o->c[0], 0, o->ref, o->nc * 4);
    /* keep the host copies in the CPU buffers; device copies are made per candidate */
    free(a), free(b);
    return MC_OK;
}

/* Times the workload on be (ms per step), or returns a negative value if a result is
 * wrong. */
static double time_workload(backend *be, backend *cpu, operands *ops, double seconds)
{
    double total = 0;
    for (int i = 0; i < N_PRODUCTS; i++) {
        operands *o = &ops[i];
        size_t na = o->a[0]->bytes, nb = o->b[0]->bytes;
        void *ha = malloc(na), *hb = malloc(nb);
        float *got = malloc(o->nc * 4);
        cpu->ops->read(cpu, o->a[0], 0, ha, na);
        cpu->ops->read(cpu, o->b[0], 0, hb, nb);
        buf *a = NULL, *b = NULL, *c = NULL;
        int ok = !be->ops->alloc(be, na, &a) && !be->ops->alloc(be, nb, &b) &&
                 !be->ops->alloc(be, o->nc * 4, &c) && !be->ops->write(be, a, 0, ha, na) &&
                 !be->ops->write(be, b, 0, hb, nb);
        gemm_args g = o->g;
        g.a = bref_at(a, 0), g.b = bref_at(b, 0), g.c = bref_at(c, 0);
        ok = ok && !be->ops->gemm(be, &g) && !be->ops->read(be, c, 0, got, o->nc * 4);
        for (size_t e = 0; ok && e < o->nc; e++) {
            double d = got[e] - o->ref[e];
            ok = (d < 0 ? -d : d) <= 2e-7 * g.k + 1e-6 + 1e-6 * (o->ref[e] < 0 ? -o->ref[e] : o->ref[e]);
        }
        if (ok) {
            int reps = 0;
            double t0 = cli_now();
            while (cli_now() - t0 < seconds || reps < 3) {
                for (int r = 0; r < 4; r++, reps++)
                    be->ops->gemm(be, &g);
                be->ops->finish(be);
            }
            total += (cli_now() - t0) * 1e3 / reps;
        }
        be->ops->release(be, a), be->ops->release(be, b), be->ops->release(be, c);
        free(ha), free(hb), free(got);
        if (!ok)
            return -1;
    }
    return total;
}

int cmd_tune(int argc, char **argv)
{
    const char *device = cli_default_device();
    int quick = 0;
    cli_option table[] = {
        cli_opt("device", OPT_STRING, &device, "SPEC", "auto, opencl or P:D", 0, 0),
        cli_opt("quick", OPT_FLAG, &quick, NULL, "fewer candidates (a smoke test)", 0, 0),
    };
    mc_error err = {{0}};
    int rc = cli_parse(argc, argv, 2, table, 2, synopsis, &err);
    if (rc == CLI_HELP)
        return 0;
    if (rc)
        return cli_report((mc_status)rc, &err);
    int platform, dev;
    mc_status st = ocl_resolve_device(device, &platform, &dev, &err);
    if (st)
        return cli_report(st, &err);
    cl_tuning defaults = {0};
    backend *probe = NULL, *cpu = backend_cpu_create();
    if ((st = backend_cl_create(platform, dev, &defaults, &probe, &err)))
        return cli_report(st, &err);
    printf("device: %s\n", backend_name(probe));
    char key[512];
    snprintf(key, sizeof key, "%s", backend_cl_device_key(probe));
    int gpu_like = strstr(backend_name(probe), ", CPU)") == NULL;
    backend_destroy(probe);

    /* candidates: the register-blocked kernels on CPU devices, the tiled ones elsewhere */
    cl_tuning cand[16];
    int n = 0;
    if (!gpu_like) {
        const int tms[] = {4, 6, 8}, locals[] = {1, 2, 4, 8};
        for (int i = 0; i < 3; i++)
            for (int j = 0; j < 4; j++)
                if (!quick || (j == 2 && i != 1))
                    cand[n++] = (cl_tuning){.rb_tm = tms[i], .rb_local = locals[j]};
    } else {
        const int ts[] = {32, 64}, wpt[] = {2, 4};
        for (int i = 0; i < 2; i++)
            for (int j = 0; j < 2; j++)
                if (!quick || wpt[j] == 4)
                    cand[n++] = (cl_tuning){.gt_ts = ts[i], .gt_wpt = wpt[j]};
    }
    rng r;
    rng_seed(&r, 11);
    operands ops[N_PRODUCTS];
    for (int i = 0; i < N_PRODUCTS; i++)
        if (make_operands(cpu, &workload[i], &r, &ops[i]))
            return cli_report(mc_fail(&err, MC_ERR_NOMEM, "out of memory"), &err);
    int best = -1;
    double best_ms = 0;
    printf("%-34s %10s\n", "candidate", "ms/step");
    for (int c = 0; c < n; c++) {
        backend *be = NULL;
        mc_error cerr;
        char label[64];
        cl_tuning *t = &cand[c];
        snprintf(label, sizeof label, gpu_like ? "gt_ts=%d gt_wpt=%d" : "rb_tm=%d rb_local=%d",
                 gpu_like ? t->gt_ts : t->rb_tm, gpu_like ? t->gt_wpt : t->rb_local);
        if (backend_cl_create(platform, dev, t, &be, &cerr)) {
            printf("%-34s %10s  (%s)\n", label, "-", cerr.msg);
            continue;
        }
        cl_tuning used = backend_cl_tuning(be);
        if ((gpu_like && (used.gt_ts != t->gt_ts || used.gt_wpt != t->gt_wpt))) {
            printf("%-34s %10s  (too large for this device)\n", label, "-");
            backend_destroy(be);
            continue;
        }
        double ms = time_workload(be, cpu, ops, quick ? 0.02 : 0.12);
        if (ms < 0)
            printf("%-34s %10s  (wrong results: skipped)\n", label, "-");
        else
            printf("%-34s %10.3f\n", label, ms);
        fflush(stdout);
        if (ms >= 0 && (best < 0 || ms < best_ms))
            best = c, best_ms = ms;
        *t = used;
        backend_destroy(be);
    }
    for (int i = 0; i < N_PRODUCTS; i++) {
        cpu->ops->release(cpu, ops[i].a[0]), cpu->ops->release(cpu, ops[i].b[0]);
        cpu->ops->release(cpu, ops[i].c[0]);
        free(ops[i].ref);
    }
    backend_destroy(cpu);
    if (best < 0)
        return cli_report(mc_fail(&err, MC_ERR_OPENCL, "no candidate produced correct results"),
                          &err);
    st = tune_cache_store(tune_cache_path(), key, &cand[best], &err);
    if (!st)
        printf("best: rb_tm=%d rb_local=%d gt_ts=%d gt_wpt=%d (%.3f ms/step), saved to %s\n",
               cand[best].rb_tm, cand[best].rb_local, cand[best].gt_ts, cand[best].gt_wpt,
               best_ms, tune_cache_path());
    return cli_report(st, &err);
}
