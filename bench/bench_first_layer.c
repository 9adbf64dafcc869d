/*
 * First-layer benchmark: the dense and the pixel-list ways of computing a training
 * step's first layer, on real MNIST batches of 128 shuffled training images, for hidden
 * widths 128, 800 and 1024:
 *   forward   dense: gather + NN GEMM with bias + ReLU    lists: sparse_forward
 *   gradient  dense: TN GEMM [X, 1]ᵀ·δ (X gathered)      lists: sparse_grad
 * Each pair is first checked to agree (their results should be identical bit for bit;
 * the largest difference is printed), then timed: ROUNDS rounds, each running every
 * contender back to back for 0.1 s (wall time / calls, launch costs included); the best
 * round is reported. Prints: op | hidden | way | us/call | speed-up.
 * usage: bench_first_layer [--device SPEC]     (default: auto)
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mnistcl/dataset.h"
#include "backend/backend_ops.h"
#include "backend/opencl/backend_cl.h"
#include "mnistcl/rng.h"

#define ROUNDS 5
#define BATCH 128

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec * 1e-9;
}

/* Everything one hidden width needs on the device. */
typedef struct {
    backend *be;
    int n, dim, start;
    buf *images, *labels, *pixels, *offsets, *index, *x, *y, *w, *h, *delta, *grad, *scratch;
} setup;

static void dense_forward(const setup *s)
{
    gather_args g = {bref_at(s->x, 0), bref_at(s->y, 0), bref_at(s->images, 0),
                     bref_at(s->labels, 0), bref_at(s->index, 0), s->start, BATCH, s->dim};
    s->be->ops->gather(s->be, &g);
    gemm_args f = {.m = BATCH, .n = s->n, .k = s->dim, .a = bref_at(s->x, 0), .lda = s->dim,
                   .b = bref_at(s->w, 0), .ldb = s->n, .c = bref_at(s->h, 0), .ldc = s->n,
                   .alpha = 1.0f, .epilogue = EPI_BIAS_ACT,
                   .bias = bref_at(s->w, (size_t)s->dim * s->n), .act = ACT_RELU};
    s->be->ops->gemm(s->be, &f);
}

static void list_forward(const setup *s)
{
    pixel_lists pl = {bref_at(s->pixels, 0), bref_at(s->offsets, 0)};
    sparse_forward_args a = {bref_at(s->h, 0), s->n, s->dim, BATCH, bref_at(s->w, 0),
                             bref_at(s->w, (size_t)s->dim * s->n), ACT_RELU, pl,
                             bref_at(s->index, 0), s->start, bref_at(s->y, 0),
                             bref_at(s->labels, 0)};
    s->be->ops->sparse_forward(s->be, &a);
}

static void dense_grad(const setup *s)
{
    gemm_args g = {.trans_a = 1, .a_ones_row = 1, .m = s->dim + 1, .n = s->n, .k = BATCH,
                   .a = bref_at(s->x, 0), .lda = s->dim, .b = bref_at(s->delta, 0),
                   .ldb = s->n, .c = bref_at(s->grad, 0), .ldc = s->n, .alpha = 1.0f,
                   .epilogue = EPI_NONE};
    s->be->ops->gemm(s->be, &g);
}

static void list_grad(const setup *s)
{
    pixel_lists pl = {bref_at(s->pixels, 0), bref_at(s->offsets, 0)};
    sparse_grad_args a = {bref_at(s->grad, 0), bref_at(s->delta, 0), s->n, BATCH, s->dim, pl,
                          bref_at(s->index, 0), s->start, 0, bref_at(s->scratch, 0)};
    s->be->ops->sparse_grad(s->be, &a);
}

/* Best-round microseconds per call of each of the four ways, interleaved. */
static void time_all(setup *s, void (*const fn[4])(const setup *), double best[4])
{
    for (int round = 0; round < ROUNDS; round++)
        for (int f = 0; f < 4; f++) {
            fn[f](s);
            s->be->ops->finish(s->be);
            int calls = 0;
            double t0 = now();
            do {
                for (int r = 0; r < 4; r++, calls++) {
                    s->start = (s->start + BATCH) % (60000 - BATCH); /* a new batch each call */
                    fn[f](s);
                }
                s->be->ops->finish(s->be);
            } while (now() - t0 < 0.1);
            double us = (now() - t0) * 1e6 / calls;
            if (round == 0 || us < best[f])
                best[f] = us;
        }
}

/* Largest |a - b| over n floats. */
static double max_diff(const float *a, const float *b, size_t n)
{
    double worst = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > worst || d != d)
            worst = d;
    }
    return worst;
}

/* Runs a way and reads back its output (h for forward, grad for the gradient). */
static void run_and_read(setup *s, void (*fn)(const setup *), buf *b, float *out, size_t n)
{
    fn(s);
    s->be->ops->read(s->be, b, 0, out, n * 4);
}

int main(int argc, char **argv)
{
    const char *spec = "auto";
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--device") && i + 1 < argc) {
            spec = argv[++i];
        } else {
            fprintf(stderr, "usage: bench_first_layer [--device SPEC]\n");
            return 2;
        }
    }
    mc_error err;
    dataset train;
    if (dataset_load_named(&train, DATASET_MNIST, NULL, 1, &err)) {
        fprintf(stderr, "bench_first_layer: %s\n", err.msg);
        return 1;
    }
    backend *be = NULL;
    if (backend_open(spec, &be, &err)) {
        fprintf(stderr, "bench_first_layer: %s\n", err.msg);
        return 1;
    }
    printf("device: %s\n", be->name);
    int dim = dataset_dim(&train);
    uint32_t *pixels;
    int32_t *offsets;
    size_t total;
    if (dataset_pixel_lists(train.images, train.n, dim, PIXEL_BANDS, &pixels, &offsets, &total)) {
        fprintf(stderr, "bench_first_layer: cannot list the pixels\n");
        return 1;
    }
    printf("MNIST training set: %.1f%% of the pixels are nonzero\n",
           100.0 * total / ((double)train.n * dim));
    int *index = malloc((size_t)train.n * sizeof *index);
    for (int i = 0; i < train.n; i++)
        index[i] = i;
    rng r;
    rng_seed(&r, 1);
    rng_shuffle(&r, index, (size_t)train.n);
    printf("%-8s | %6s | %-38s | %9s | %s\n", "op", "hidden", "way", "us/call", "dense/lists");
    const int widths[] = {128, 800, 1024};
    int status = 0;
    for (int wi = 0; wi < 3; wi++) {
        setup s = {.be = be, .n = widths[wi], .dim = dim};
        int n = s.n;
        size_t nw = (size_t)(dim + 1) * n, nh = (size_t)BATCH * n;
        float *w = malloc(nw * 4), *delta = malloc(nh * 4);
        for (size_t i = 0; i < nw; i++)
            w[i] = (float)(rng_uniform(&r) * 0.1 - 0.05);
        for (size_t i = 0; i < nh; i++)
            delta[i] = (float)(rng_uniform(&r) * 2e-3 - 1e-3);
        const backend_ops *op = be->ops;
        if (op->alloc(be, (size_t)train.n * dim, &s.images) ||
            op->alloc(be, (size_t)train.n, &s.labels) ||
            op->alloc(be, (total ? total : 1) * 4, &s.pixels) ||
            op->alloc(be, ((size_t)train.n * PIXEL_BANDS + 1) * 4, &s.offsets) ||
            op->alloc(be, (size_t)train.n * 4, &s.index) ||
            op->alloc(be, (size_t)BATCH * dim * 4, &s.x) || op->alloc(be, BATCH * 4, &s.y) ||
            op->alloc(be, nw * 4, &s.w) || op->alloc(be, nh * 4, &s.h) ||
            op->alloc(be, nh * 4, &s.delta) || op->alloc(be, nw * 4, &s.grad) ||
            op->alloc(be, sparse_grad_scratch(dim, n) * 4, &s.scratch))
            return 1;
        op->write(be, s.images, 0, train.images, (size_t)train.n * dim);
        op->write(be, s.labels, 0, train.labels, (size_t)train.n);
        op->write(be, s.pixels, 0, pixels, total * 4);
        op->write(be, s.offsets, 0, offsets, ((size_t)train.n * PIXEL_BANDS + 1) * 4);
        op->write(be, s.index, 0, index, (size_t)train.n * 4);
        op->write(be, s.w, 0, w, nw * 4);
        op->write(be, s.delta, 0, delta, nh * 4);
        /* agreement first: forward outputs, then gradients (dense reads the gathered x) */
        float *a = malloc(nw * 4), *b = malloc(nw * 4);
        run_and_read(&s, dense_forward, s.h, a, nh);
        run_and_read(&s, list_forward, s.h, b, nh);
        double df = max_diff(a, b, nh);
        run_and_read(&s, dense_grad, s.grad, a, nw);
        run_and_read(&s, list_grad, s.grad, b, nw);
        double dg = max_diff(a, b, nw);
        printf("agreement at hidden %d: largest difference %.3g (forward), %.3g (gradient)\n",
               n, df, dg);
        if (!(df <= 1e-5 && dg <= 1e-5)) {
            printf("WRONG RESULT: the two ways disagree; not timed\n");
            status = 1;
        } else {
            void (*const fn[4])(const setup *) = {dense_forward, list_forward, dense_grad,
                                                  list_grad};
            double best[4];
            time_all(&s, fn, best);
            printf("%-8s | %6d | %-38s | %9.1f |\n", "forward", n, "dense: gather + NN GEMM",
                   best[0]);
            printf("%-8s | %6d | %-38s | %9.1f | %.2fx\n", "forward", n,
                   "lists: sparse_forward", best[1], best[0] / best[1]);
            printf("%-8s | %6d | %-38s | %9.1f |\n", "gradient", n,
                   "dense: TN GEMM (x already gathered)", best[2]);
            printf("%-8s | %6d | %-38s | %9.1f | %.2fx\n", "gradient", n,
                   "lists: sparse_grad", best[3], best[2] / best[3]);
        }
        fflush(stdout);
        buf *all[] = {s.images, s.labels, s.pixels, s.offsets, s.index, s.x,
                      s.y,      s.w,      s.h,      s.delta,   s.grad,  s.scratch};
        for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
            op->release(be, all[i]);
        free(w), free(delta), free(a), free(b);
    }
    backend_destroy(be);
    free(pixels), free(offsets), free(index);
    dataset_free(&train);
    return status;
}
