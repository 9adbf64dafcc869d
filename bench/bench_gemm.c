/*
 * GEMM benchmark: every OpenCL GEMM variant at the training shapes of 784-128-10 and
 * 784-1024-1024-10 at batch 128 (the NN forward, NT delta and TN weight-gradient
 * products) and at 1024^3; each result is first checked against the CPU reference
 * (the test suite's tolerance), then timed. Beside ours, in the same run: CLBlast SGEMM
 * on the same OpenCL queue and OpenBLAS (cblas_sgemm), when built with them.
 * Timing: one warm-up call (kernel compilation excluded); then ROUNDS rounds, each timing
 * every contender in turn (calls enqueued back to back for 0.1 s, wall time / calls, so
 * launch costs count); each contender's best round is reported. Interleaving and best-of
 * keep a shared machine's drifting speed from favouring whoever ran in a fast moment.
 * Prints the launch floor (the cost of the smallest kernel, timed the same way), then
 * variant | shape | ms | GFLOP/s.
 * usage: bench_gemm [--device SPEC] [--all] [--shape MxNxK:TT ...]   (TT: NN, NT, TN)
 * (--all also times the naive and tiled kernels on shapes over 5e7 multiply-adds)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/backend_ops.h"
#include "backend/opencl/backend_cl.h"
#include "mnistcl/rng.h"

#ifdef MNISTCL_HAVE_CLBLAST
#include <clblast_c.h>
#endif
#ifdef MNISTCL_HAVE_OPENBLAS
#include <cblas.h>
#endif

typedef struct {
    int m, n, k, ta, tb;
    const char *what;
} shape;

static const shape shapes[] = {
    {128, 128, 784, 0, 0, "784-128-10 fwd layer 1"},
    {128, 10, 128, 0, 0, "784-128-10 fwd layer 2"},
    {784, 128, 128, 1, 0, "784-128-10 dW1"},
    {128, 10, 128, 1, 0, "784-128-10 dW2"},
    {128, 128, 10, 0, 1, "784-128-10 delta1"},
    {128, 1024, 784, 0, 0, "784-1024-1024-10 fwd 1"},
    {128, 1024, 1024, 0, 0, "784-1024-1024-10 fwd 2"},
    {784, 1024, 128, 1, 0, "784-1024-1024-10 dW1"},
    {1024, 1024, 128, 1, 0, "784-1024-1024-10 dW2"},
    {128, 1024, 1024, 0, 1, "784-1024-1024-10 delta2"},
    {1024, 1024, 1024, 0, 0, "1024^3"},
};

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Stored shapes of A and B for a product. */
static void dims(const shape *s, int *ar, int *ac, int *br, int *bc)
{
    *ar = s->ta ? s->k : s->m, *ac = s->ta ? s->m : s->k;
    *br = s->tb ? s->n : s->k, *bc = s->tb ? s->k : s->n;
}

static void print_row(const char *variant, const shape *s, double ms)
{
    char sh[48];
    snprintf(sh, sizeof sh, "%dx%dx%d %c%c", s->m, s->n, s->k, s->ta ? 'T' : 'N',
             s->tb ? 'T' : 'N');
    printf("%-10s | %-17s | %-24s | %8.3f | %7.1f\n", variant, sh, s->what, ms,
           2.0 * s->m * s->n * s->k / (ms * 1e6));
    fflush(stdout);
}

#define ROUNDS 5

/* One contender: something that runs the product once, and something that waits for it. */
typedef struct {
    const char *name;
    void (*run)(void *ctx);
    void (*wait)(void *ctx);
    void *ctx;
    double best_ms;
} contender;

/* Runs c for about 0.1 s (after one untimed call) and keeps its best ms per call. */
static void time_round(contender *c)
{
    c->run(c->ctx);
    c->wait(c->ctx);
    int reps = 0;
    double t0 = now();
    do {
        for (int r = 0; r < 4; r++, reps++)
            c->run(c->ctx);
        c->wait(c->ctx);
    } while (now() - t0 < 0.1);
    double ms = (now() - t0) * 1e3 / reps;
    if (c->best_ms == 0 || ms < c->best_ms)
        c->best_ms = ms;
}

/* Contexts of the three kinds of contender. */
typedef struct {
    backend *be;
    gemm_args g;
    gemm_variant variant;
} ours_ctx;
static void ours_run(void *p)
{
    ours_ctx *c = p;
    backend_cl_force_gemm(c->be, c->variant);
    c->be->ops->gemm(c->be, &c->g);
}
static void ours_wait(void *p)
{
    ours_ctx *c = p;
    c->be->ops->finish(c->be);
}
#ifdef MNISTCL_HAVE_CLBLAST
typedef struct {
    const shape *s;
    cl_command_queue q;
    cl_mem a, b, c;
    int lda, ldb;
} clblast_ctx;
static void clblast_run(void *p)
{
    clblast_ctx *c = p;
    CLBlastSgemm(CLBlastLayoutRowMajor, c->s->ta ? CLBlastTransposeYes : CLBlastTransposeNo,
                 c->s->tb ? CLBlastTransposeYes : CLBlastTransposeNo, c->s->m, c->s->n, c->s->k,
                 1.0f, c->a, 0, c->lda, c->b, 0, c->ldb, 0.0f, c->c, 0, c->s->n, &c->q, NULL);
}
static void clblast_wait(void *p) { clFinish(((clblast_ctx *)p)->q); }
#endif
#ifdef MNISTCL_HAVE_OPENBLAS
typedef struct {
    const shape *s;
    const float *a, *b;
    float *c;
    int lda, ldb;
} openblas_ctx;
static void openblas_run(void *p)
{
    openblas_ctx *c = p;
    cblas_sgemm(CblasRowMajor, c->s->ta ? CblasTrans : CblasNoTrans,
                c->s->tb ? CblasTrans : CblasNoTrans, c->s->m, c->s->n, c->s->k, 1.0f, c->a,
                c->lda, c->b, c->ldb, 0.0f, c->c, c->s->n);
}
static void openblas_wait(void *p) { (void)p; }
#endif

static int all_variants; /* --all: time the general kernels on big shapes too */

/* The launch floor: the smallest kernel there is (the update kernel on 16 floats). */
typedef struct {
    backend *be;
    update_args u;
} floor_ctx;
static void floor_run(void *p)
{
    floor_ctx *c = p;
    c->be->ops->update(c->be, &c->u);
}
static void floor_wait(void *p)
{
    floor_ctx *c = p;
    c->be->ops->finish(c->be);
}

/*
 * Prints the device's cost per launch of a kernel that does next to nothing, enqueued and
 * waited for as the GEMMs are: no product can take less on this device.
 */
static void bench_launch_floor(backend *cl)
{
    buf *b[3] = {NULL, NULL, NULL};
    for (int i = 0; i < 3; i++)
        if (cl->ops->alloc(cl, 64, &b[i]))
            return;
    floor_ctx f = {cl, {bref_at(b[0], 0), bref_at(b[1], 0), bref_at(b[2], 0), 16, {.kind = UPDATE_SGD, .lr = 0.01f, .momentum = 0.9f}}};
    contender c = {"launch", floor_run, floor_wait, &f, 0};
    for (int round = 0; round < ROUNDS; round++)
        time_round(&c);
    printf("launch floor (the update kernel on 16 floats, timed as the products): %.3f ms\n", c.best_ms);
    for (int i = 0; i < 3; i++)
        cl->ops->release(cl, b[i]);
}

static int bench_shape(backend *cpu, backend *cl, const shape *s, rng *r)
{
    int ar, ac, br, bc, bad = 0;
    dims(s, &ar, &ac, &br, &bc);
    size_t na = (size_t)ar * ac, nb = (size_t)br * bc, nc = (size_t)s->m * s->n;
    float *a = malloc(na * 4), *b = malloc(nb * 4), *ref = malloc(nc * 4), *got = malloc(nc * 4);
    for (size_t i = 0; i < na; i++)
        a[i] = (float)(rng_uniform(r) * 2 - 1);
    for (size_t i = 0; i < nb; i++)
        b[i] = (float)(rng_uniform(r) * 2 - 1);
    buf *ca, *cb, *cc, *ga, *gb, *gc;
    cpu->ops->alloc(cpu, na * 4, &ca), cpu->ops->alloc(cpu, nb * 4, &cb);
    cpu->ops->alloc(cpu, nc * 4, &cc);
    cpu->ops->write(cpu, ca, 0, a, na * 4), cpu->ops->write(cpu, cb, 0, b, nb * 4);
    if (cl->ops->alloc(cl, na * 4, &ga) || cl->ops->alloc(cl, nb * 4, &gb) ||
        cl->ops->alloc(cl, nc * 4, &gc))
        return 1;
    cl->ops->write(cl, ga, 0, a, na * 4), cl->ops->write(cl, gb, 0, b, nb * 4);
    gemm_args g = {.trans_a = s->ta, .trans_b = s->tb, .m = s->m, .n = s->n, .k = s->k,
                   .a = bref_at(ca, 0), .lda = ac, .b = bref_at(cb, 0), .ldb = bc,
                   .c = bref_at(cc, 0), .ldc = s->n, .alpha = 1.0f, .epilogue = EPI_NONE};
    cpu->ops->gemm(cpu, &g);
    cpu->ops->read(cpu, cc, 0, ref, nc * 4);
    g.a = bref_at(ga, 0), g.b = bref_at(gb, 0), g.c = bref_at(gc, 0);
    contender list[GEMM_VARIANT_COUNT + 2];
    ours_ctx ours[GEMM_VARIANT_COUNT];
    int n = 0;
    for (int v = 0; v < GEMM_VARIANT_COUNT; v++) {
        backend_cl_force_gemm(cl, (gemm_variant)v);
        memset(got, 0, nc * 4);
        cl->ops->write(cl, gc, 0, got, nc * 4);
        cl->ops->gemm(cl, &g);
        cl->ops->read(cl, gc, 0, got, nc * 4);
        double tol = 2e-7 * s->k + 1e-6, worst = 0;
        for (size_t i = 0; i < nc; i++) {
            double e = got[i] - ref[i];
            e = e < 0 ? -e : e;
            double lim = tol + 1e-6 * (ref[i] < 0 ? -ref[i] : ref[i]);
            if (e - lim > worst)
                worst = e - lim;
        }
        if (worst > 0) {
            printf("%-10s | %dx%dx%d: WRONG RESULT (off by %.3g beyond tolerance), not timed\n",
                   gemm_variant_name((gemm_variant)v), s->m, s->n, s->k, worst);
            bad = 1;
            continue;
        }
        /* the slow general kernels get one round on the big shapes */
        if ((v == GEMM_NAIVE || v == GEMM_TILED) && (double)s->m * s->n * s->k > 5e7 && !all_variants)
            continue;
        ours[v] = (ours_ctx){cl, g, (gemm_variant)v};
        list[n++] = (contender){gemm_variant_name((gemm_variant)v), ours_run, ours_wait, &ours[v], 0};
    }
#ifdef MNISTCL_HAVE_CLBLAST
    clblast_ctx cbl = {s, backend_cl_queue(cl), ga->handle, gb->handle, gc->handle, ac, bc};
    list[n++] = (contender){"CLBlast", clblast_run, clblast_wait, &cbl, 0};
#endif
#ifdef MNISTCL_HAVE_OPENBLAS
    openblas_ctx obl = {s, a, b, got, ac, bc};
    list[n++] = (contender){"OpenBLAS", openblas_run, openblas_wait, &obl, 0};
#endif
    for (int round = 0; round < ROUNDS; round++)
        for (int i = 0; i < n; i++)
            time_round(&list[i]);
    backend_cl_force_gemm(cl, GEMM_AUTO);
    for (int i = 0; i < n; i++)
        print_row(list[i].name, s, list[i].best_ms);
    buf *all_cpu[] = {ca, cb, cc}, *all_cl[] = {ga, gb, gc};
    for (int i = 0; i < 3; i++)
        cpu->ops->release(cpu, all_cpu[i]), cl->ops->release(cl, all_cl[i]);
    free(a), free(b), free(ref), free(got);
    return bad;
}

int main(int argc, char **argv)
{
    const char *device = "opencl";
    shape custom[32];
    int n_custom = 0;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--device") == 0 && i + 1 < argc) {
            device = argv[++i];
        } else if (strcmp(argv[i], "--all") == 0) {
            all_variants = 1;
        } else if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc && n_custom < 32) {
            char t[3] = "NN";
            shape *s = &custom[n_custom++];
            if (sscanf(argv[++i], "%dx%dx%d:%2s", &s->m, &s->n, &s->k, t) < 3) {
                fprintf(stderr, "bad --shape %s (MxNxK:TT)\n", argv[i]);
                return 2;
            }
            s->ta = t[0] == 'T', s->tb = t[1] == 'T', s->what = "custom";
        } else {
            fprintf(stderr, "usage: bench_gemm [--device SPEC] [--all] [--shape MxNxK:TT ...]\n");
            return 2;
        }
    }
    backend *cl = NULL, *cpu = backend_cpu_create();
    mc_error err;
    if (backend_open(device, &cl, &err) || !cl->is_opencl) {
        fprintf(stderr, "bench_gemm: %s\n", cl ? "not an OpenCL device" : err.msg);
        return 1;
    }
    printf("device: %s\n", cl->name);
#ifdef MNISTCL_HAVE_OPENBLAS
    printf("OpenBLAS: %s, %d threads\n", openblas_get_config(), openblas_get_num_threads());
#endif
    bench_launch_floor(cl);
    printf("%-10s | %-17s | %-24s | %8s | %7s\n", "variant", "shape (MxNxK)", "role", "ms",
           "GFLOP/s");
    rng r;
    rng_seed(&r, 3);
    int bad = 0;
    const shape *list = n_custom ? custom : shapes;
    int n = n_custom ? n_custom : (int)(sizeof shapes / sizeof shapes[0]);
    for (int i = 0; i < n; i++)
        bad |= bench_shape(cpu, cl, &list[i], &r);
    backend_destroy(cl);
    backend_destroy(cpu);
    return bad;
}
