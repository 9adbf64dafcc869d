/*
 * GEMM benchmark: every OpenCL GEMM variant at the training shapes of 784-128-10 and
 * 784-1024-1024-10 at batch 128 (the NN forward, NT delta and TN weight-gradient
 * products) and at 1024^3; each result is first checked against the CPU reference
 * (the test suite's tolerance), then timed. Beside ours, in the same run: CLBlast SGEMM
 * on the same OpenCL queue and OpenBLAS (cblas_sgemm), when built with them.
 * Timing: one warm-up call (kernel compilation excluded), then repeated calls enqueued
 * back to back until 0.3 s have passed, wall time / calls, so launch costs count.
 * Prints: variant | shape | ms | GFLOP/s.
 * usage: bench_gemm [--device SPEC] [--shape MxNxK:TT ...]   (TT: NN, NT, TN)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mnistcl/opencl.h"
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

/* Repeats fn until 0.3 s have passed; returns ms per call. */
#define TIME_LOOP(call, finish)                                                               \
    do {                                                                                      \
        call;                                                                                 \
        finish;                                                                               \
        int reps = 0;                                                                         \
        double t0 = now();                                                                    \
        do {                                                                                  \
            for (int r_ = 0; r_ < 8; r_++, reps++)                                            \
                call;                                                                         \
            finish;                                                                           \
        } while (now() - t0 < 0.3);                                                           \
        ms = (now() - t0) * 1e3 / reps;                                                       \
    } while (0)

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
    double ms;
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
        TIME_LOOP(cl->ops->gemm(cl, &g), cl->ops->finish(cl));
        print_row(gemm_variant_name((gemm_variant)v), s, ms);
    }
    backend_cl_force_gemm(cl, GEMM_AUTO);
#ifdef MNISTCL_HAVE_CLBLAST
    {
        cl_command_queue q = backend_cl_queue(cl);
        cl_mem ma = ga->handle, mb = gb->handle, mc = gc->handle;
        CLBlastStatusCode e = CLBlastSuccess;
        TIME_LOOP(e = CLBlastSgemm(CLBlastLayoutRowMajor,
                                   s->ta ? CLBlastTransposeYes : CLBlastTransposeNo,
                                   s->tb ? CLBlastTransposeYes : CLBlastTransposeNo, s->m, s->n,
                                   s->k, 1.0f, ma, 0, ac, mb, 0, bc, 0.0f, mc, 0, s->n, &q, NULL),
                  clFinish(q));
        if (e == CLBlastSuccess)
            print_row("CLBlast", s, ms);
        else
            printf("CLBlast    | error %d\n", e);
    }
#endif
#ifdef MNISTCL_HAVE_OPENBLAS
    TIME_LOOP(cblas_sgemm(CblasRowMajor, s->ta ? CblasTrans : CblasNoTrans,
                          s->tb ? CblasTrans : CblasNoTrans, s->m, s->n, s->k, 1.0f, a, ac, b, bc,
                          0.0f, got, s->n),
              (void)0);
    print_row("OpenBLAS", s, ms);
#endif
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
        } else if (strcmp(argv[i], "--shape") == 0 && i + 1 < argc && n_custom < 32) {
            char t[3] = "NN";
            shape *s = &custom[n_custom++];
            if (sscanf(argv[++i], "%dx%dx%d:%2s", &s->m, &s->n, &s->k, t) < 3) {
                fprintf(stderr, "bad --shape %s (MxNxK:TT)\n", argv[i]);
                return 2;
            }
            s->ta = t[0] == 'T', s->tb = t[1] == 'T', s->what = "custom";
        } else {
            fprintf(stderr, "usage: bench_gemm [--device SPEC] [--shape MxNxK:TT ...]\n");
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
