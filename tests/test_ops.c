/*
 * Parity of every non-GEMM kernel family against the CPU reference at awkward sizes:
 *   gather.cl   gather_batch        exact (same float multiply on both sides)
 *   loss.cl     loss_rows           softmax-CE and sigmoid-MSE: delta, loss, correct
 *               output_step         last layer + loss + first delta back, fused
 *               probs_rows          softmax and sigmoid outputs
 *   reduce.cl   sum_stats           the loss/accuracy sums
 *   update.cl   sgd_update          with and without momentum and weight decay
 *   sparse_input.cl csr_forward     gather + first layer from the pixel lists, and labels
 *               csr_forward_output  csr_forward + output_step in one pass (one hidden
 *                                   layer <= 128): the reference's tolerances, and exactly
 *                                   OpenCL's own two-step results
 *               csr_weight_grad first-layer [dW; db] from the pixel lists
 *               csr_backward_sgd    the first layer's gradient and SGD step in one, or a
 *                                   one-hidden-layer net's whole backward pass and step:
 *                                   the reference's tolerances, and exactly OpenCL's own
 *                                   sparse_grad + TN GEMM + sgd_update
 *   train_seq.cl train_sequential   fused per-sample SGD, 1 to 4 layers, plain SGD (zero
 *                                   inputs skipped) and momentum + decay, pixels scanned
 *                                   or read from the nonzero-pixel list
 * Each check's tolerance is written beside it.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/dataset.h"
#include "test_util.h"

static const int row_counts_full[] = {1, 63, 127, 128, 784}, row_counts_small[] = {1, 63};
static const int *row_counts = row_counts_full;
static int N_ROWS = 5;

static void test_gather(backend *cpu, backend *cl, rng *r)
{
    const int n_images = 300, dims[] = {1, 10, 63, 784}, small_dims[] = {1, 10, 33};
    for (int di = 0; di < (test_small() ? 3 : 4); di++) {
        int dim = test_small() ? small_dims[di] : dims[di];
        unsigned char *images = malloc((size_t)n_images * dim), labels[300];
        for (int i = 0; i < n_images * dim; i++)
            images[i] = (unsigned char)rng_below(r, 256);
        for (int i = 0; i < n_images; i++)
            labels[i] = (unsigned char)rng_below(r, 10);
        int index[300];
        for (int i = 0; i < n_images; i++)
            index[i] = i;
        rng_shuffle(r, index, n_images);
        for (int ci = 0; ci < N_ROWS; ci++) {
            int count = row_counts[ci] < 200 ? row_counts[ci] : 200, start = 300 - count - 3;
            float *x[2];
            int *y[2];
            backend *bes[2] = {cpu, cl};
            for (int b = 0; b < 2; b++) {
                backend *be = bes[b];
                buf *bi = upload_u8(be, images, (size_t)n_images * dim),
                    *bl = upload_u8(be, labels, 300), *bx = NULL, *by = NULL,
                    *bidx = upload_i32(be, index, 300);
                be->ops->alloc(be, ((size_t)count * dim + 5) * 4, &bx);
                be->ops->alloc(be, ((size_t)count + 2) * 4, &by);
                gather_args g = {bref_at(bx, 5), bref_at(by, 2), bref_at(bi, 0), bref_at(bl, 0),
                                 bref_at(bidx, 0), start, count, dim};
                if (be->ops->gather(be, &g))
                    test_fail("gather launch");
                x[b] = malloc(((size_t)count * dim + 5) * 4);
                y[b] = malloc(((size_t)count + 2) * 4);
                download_f32(be, bx, x[b], (size_t)count * dim + 5);
                download_i32(be, by, y[b], (size_t)count + 2);
                buf *all[] = {bi, bl, bx, by, bidx};
                for (int i = 0; i < 5; i++)
                    be->ops->release(be, all[i]);
            }
            char what[96];
            snprintf(what, sizeof what, "gather dim=%d count=%d x", dim, count);
            check_close(what, x[1] + 5, x[0] + 5, (size_t)count * dim, 0, 0); /* bit-exact */
            snprintf(what, sizeof what, "gather dim=%d count=%d y", dim, count);
            check_equal_int(what, y[1] + 2, y[0] + 2, (size_t)count);
            for (int b = 0; b < 2; b++)
                free(x[b]), free(y[b]);
        }
        free(images);
    }
}

/* Runs loss_rows (delta wanted or not) on be; outputs into delta/loss/correct. */
static void run_loss(backend *be, output_kind kind, const float *z, const int *y, int count,
                     int classes, float scale, int want_delta, float *delta, float *loss,
                     int *correct)
{
    size_t nz = (size_t)count * classes;
    buf *bz = upload_f32(be, z, nz), *by = upload_i32(be, y, (size_t)count), *bd = NULL,
        *bl = NULL, *bc = NULL;
    be->ops->alloc(be, nz * 4, &bd);
    be->ops->alloc(be, (size_t)count * 4, &bl);
    be->ops->alloc(be, (size_t)count * 4, &bc);
    loss_args a = {kind,       want_delta ? bref_at(bd, 0) : bref_at(NULL, 0),
                   bref_at(bl, 0), bref_at(bc, 0), bref_at(bz, 0), bref_at(by, 0), count,
                   classes,   scale};
    if (be->ops->loss(be, &a))
        test_fail("loss launch");
    if (want_delta)
        download_f32(be, bd, delta, nz);
    download_f32(be, bl, loss, (size_t)count);
    download_i32(be, bc, correct, (size_t)count);
    buf *all[] = {bz, by, bd, bl, bc};
    for (int i = 0; i < 5; i++)
        be->ops->release(be, all[i]);
}

static void test_loss(backend *cpu, backend *cl, rng *r)
{
    const int class_counts[] = {10, 1, 63};
    for (int kind = 0; kind < 2; kind++) {
        for (int cc = 0; cc < 3; cc++) {
            int classes = class_counts[cc];
            for (int ci = 0; ci < N_ROWS; ci++) {
                int count = row_counts[ci];
                size_t nz = (size_t)count * classes;
                float *z = malloc(nz * 4), *d[2], *l[2];
                int *y = malloc((size_t)count * 4), *c[2];
                /* logits up to +-30 (softmax must stay stable); a few exact ties */
                fill_uniform(r, z, nz, -30, 30);
                for (int i = 0; i < count; i++) {
                    y[i] = (int)rng_below(r, (uint32_t)classes);
                    if (i % 7 == 3 && classes > 1)
                        z[(size_t)i * classes + 1] = z[(size_t)i * classes];
                }
                backend *bes[2] = {cpu, cl};
                for (int b = 0; b < 2; b++) {
                    d[b] = malloc(nz * 4), l[b] = malloc((size_t)count * 4);
                    c[b] = malloc((size_t)count * 4);
                    run_loss(bes[b], (output_kind)kind, z, y, count, classes, 1.0f / count, 1,
                             d[b], l[b], c[b]);
                }
                char what[128];
                const char *kn = kind ? "sigmoid-mse" : "softmax-xent";
                /* exp/log in float: a few ulp; delta carries the 1/count scale */
                snprintf(what, sizeof what, "loss %s count=%d classes=%d delta", kn, count,
                         classes);
                check_close(what, d[1], d[0], nz, 1e-7, 1e-5);
                snprintf(what, sizeof what, "loss %s count=%d classes=%d loss", kn, count,
                         classes);
                check_close(what, l[1], l[0], (size_t)count, 1e-6, 1e-5);
                snprintf(what, sizeof what, "loss %s count=%d classes=%d correct", kn, count,
                         classes);
                check_equal_int(what, c[1], c[0], (size_t)count);
                /* evaluation only: same loss and correct, delta untouched */
                float *l2 = malloc((size_t)count * 4);
                int *c2 = malloc((size_t)count * 4);
                run_loss(cl, (output_kind)kind, z, y, count, classes, 1.0f, 0, NULL, l2, c2);
                snprintf(what, sizeof what, "loss %s eval-only count=%d", kn, count);
                check_close(what, l2, l[0], (size_t)count, 1e-6, 1e-5);
                check_equal_int(what, c2, c[0], (size_t)count);
                free(l2), free(c2);
                for (int b = 0; b < 2; b++)
                    free(d[b]), free(l[b]), free(c[b]);
                free(z), free(y);
            }
        }
    }
}

static void test_output_step(backend *cpu, backend *cl, rng *r)
{
    const int hiddens[] = {1, 63, 127, 784}, class_counts[] = {1, 10, 16}, counts[] = {1, 63, 128};
    const act_kind acts[] = {ACT_RELU, ACT_SIGMOID, ACT_TANH};
    int cases = 0, small = test_small();
    for (int hi = 0; hi < (small ? 2 : 4); hi++)
        for (int ci = 0; ci < 3; ci++)
            for (int ni = 0; ni < (small ? 2 : 3); ni++) {
                int hidden = hiddens[hi], classes = class_counts[ci], count = counts[ni];
                output_kind kind = (output_kind)((hi + ci + ni) % 2);
                act_kind act = acts[(hi + ni) % 3];
                int want_dh = (hi + ci) % 3 != 0;
                size_t nh = (size_t)count * hidden, nw = (size_t)hidden * classes;
                float *h = malloc(nh * 4), *w = malloc(nw * 4), bias[16];
                int *y = malloc((size_t)count * 4);
                fill_uniform(r, h, nh, act == ACT_RELU ? -0.5f : 0.0f, 1);
                for (size_t q = 0; act == ACT_RELU && q < nh; q++)
                    h[q] = h[q] < 0 ? 0 : h[q]; /* relu outputs: some exact zeros */
                fill_uniform(r, w, nw, -0.3f, 0.3f);
                fill_uniform(r, bias, 16, -1, 1);
                for (int q = 0; q < count; q++)
                    y[q] = (int)rng_below(r, (uint32_t)classes);
                float *d[2], *dh[2], *l[2];
                int *c[2];
                backend *bes[2] = {cpu, cl};
                for (int b = 0; b < 2; b++) {
                    backend *be = bes[b];
                    /* W exactly at the end of its buffer, so row reads past it would show */
                    buf *bh = upload_f32(be, h, nh), *bw = upload_f32(be, w, nw),
                        *bb = upload_f32(be, bias, (size_t)classes), *by = upload_i32(be, y, (size_t)count),
                        *bd = NULL, *bdh = NULL, *bl = NULL, *bc = NULL;
                    be->ops->alloc(be, (size_t)count * classes * 4, &bd);
                    be->ops->alloc(be, nh * 4, &bdh);
                    be->ops->alloc(be, (size_t)count * 4, &bl);
                    be->ops->alloc(be, (size_t)count * 4, &bc);
                    output_step_args a = {kind, bref_at(bh, 0), hidden, bref_at(bw, 0),
                                          bref_at(bb, 0), classes, count, bref_at(by, 0),
                                          1.0f / count, bref_at(bd, 0),
                                          bref_at(want_dh ? bdh : NULL, 0), act, bref_at(bl, 0),
                                          bref_at(bc, 0)};
                    if (be->ops->output_step(be, &a))
                        test_fail("output_step launch");
                    d[b] = malloc((size_t)count * classes * 4), dh[b] = malloc(nh * 4);
                    l[b] = malloc((size_t)count * 4), c[b] = malloc((size_t)count * 4);
                    download_f32(be, bd, d[b], (size_t)count * classes);
                    if (want_dh)
                        download_f32(be, bdh, dh[b], nh);
                    download_f32(be, bl, l[b], (size_t)count);
                    download_i32(be, bc, c[b], (size_t)count);
                    buf *all[] = {bh, bw, bb, by, bd, bdh, bl, bc};
                    for (int q = 0; q < 8; q++)
                        be->ops->release(be, all[q]);
                }
                char what[128];
                snprintf(what, sizeof what, "output_step %s hidden=%d classes=%d count=%d",
                         output_name(kind), hidden, classes, count);
                /* k = hidden float products into the logits, then exp: a few ulp */
                check_close(what, d[1], d[0], (size_t)count * classes, 1e-6, 1e-4);
                check_close(what, l[1], l[0], (size_t)count, 1e-5, 1e-4);
                check_equal_int(what, c[1], c[0], (size_t)count);
                if (want_dh)
                    check_close(what, dh[1], dh[0], nh, 1e-7, 1e-4);
                for (int b = 0; b < 2; b++)
                    free(d[b]), free(dh[b]), free(l[b]), free(c[b]);
                free(h), free(w), free(y);
                cases++;
            }
    printf("output_step: %d cases\n", cases);
}

/* Random images with 80% zero pixels, as in MNIST, and their pixel lists on be. */
typedef struct {
    unsigned char *images, labels[150];
    uint32_t *pixels;
    int32_t *offsets;
    size_t total;
    int index[150];
} sparse_images;

enum { SPARSE_IMAGES = 150 };

static void sparse_images_make(sparse_images *s, int dim, rng *r)
{
    s->images = malloc((size_t)SPARSE_IMAGES * dim);
    for (int q = 0; q < SPARSE_IMAGES * dim; q++)
        s->images[q] = rng_below(r, 10) < 8 ? 0 : (unsigned char)rng_below(r, 256);
    for (int q = 0; q < SPARSE_IMAGES; q++) {
        s->labels[q] = (unsigned char)rng_below(r, 10);
        s->index[q] = q;
    }
    rng_shuffle(r, s->index, SPARSE_IMAGES);
    if (dataset_pixel_lists(s->images, SPARSE_IMAGES, dim, PIXEL_BANDS, &s->pixels, &s->offsets,
                            &s->total))
        test_fail("dataset_pixel_lists dim=%d", dim);
}

static void sparse_images_free(sparse_images *s)
{
    free(s->images), free(s->pixels), free(s->offsets);
}

/* The lists of s uploaded to be (release both buffers after use). */
static pixel_lists sparse_images_upload(backend *be, const sparse_images *s)
{
    pixel_lists p = {
        bref_at(upload_i32(be, (const int *)s->pixels, s->total ? s->total : 1), 0),
        bref_at(upload_i32(be, s->offsets, SPARSE_IMAGES * PIXEL_BANDS + 1), 0)};
    return p;
}

static void test_sparse_forward(backend *cpu, backend *cl, rng *r)
{
    const int dims[] = {1, 63, 784}, ns[] = {1, 10, 127, 128, 300}, rows_list[] = {1, 63, 128};
    const act_kind acts[] = {ACT_SIGMOID, ACT_RELU, ACT_TANH, ACT_IDENTITY};
    int cases = 0, small = test_small();
    for (int di = 0; di < (small ? 2 : 3); di++)
        for (int ni = 0; ni < 5; ni++)
            for (int ri = 0; ri < (small ? 2 : 3); ri++) {
                if (small && ns[ni] == 127)
                    continue;
                int dim = dims[di], n = ns[ni], rows = rows_list[ri];
                act_kind act = acts[(di + ni + ri) % 4];
                int w_off = (ni % 2) * 7; /* W at an offset, or at the start */
                sparse_images s;
                sparse_images_make(&s, dim, r);
                /* W (dim, n) ends its buffer: reads past its last row would be caught */
                size_t nw = (size_t)w_off + (size_t)dim * n, no = (size_t)rows * n + 3;
                float *w = malloc(nw * 4), *bias = malloc((size_t)n * 4), *o[2];
                int *y[2];
                fill_uniform(r, w, nw, -1, 1);
                fill_uniform(r, bias, (size_t)n, -1, 1);
                backend *bes[2] = {cpu, cl};
                for (int b = 0; b < 2; b++) {
                    backend *be = bes[b];
                    pixel_lists pl = sparse_images_upload(be, &s);
                    buf *bw = upload_f32(be, w, nw), *bb = upload_f32(be, bias, (size_t)n),
                        *bx = upload_i32(be, s.index, SPARSE_IMAGES),
                        *bl = upload_u8(be, s.labels, SPARSE_IMAGES), *bo = NULL, *by = NULL;
                    be->ops->alloc(be, no * 4, &bo);
                    be->ops->alloc(be, ((size_t)rows + 1) * 4, &by);
                    sparse_forward_args a = {bref_at(bo, 3), n, dim, rows, bref_at(bw, w_off),
                                             bref_at(bb, 0), act, pl, bref_at(bx, 0), 9,
                                             bref_at(by, 1), bref_at(bl, 0)};
                    if (be->ops->sparse_forward(be, &a))
                        test_fail("sparse_forward launch");
                    o[b] = malloc(no * 4);
                    y[b] = malloc(((size_t)rows + 1) * 4);
                    download_f32(be, bo, o[b], no);
                    download_i32(be, by, y[b], (size_t)rows + 1);
                    buf *all[] = {bw, bb, bx, bl, bo, by, pl.pixels.b, pl.offsets.b};
                    for (int q = 0; q < 8; q++)
                        be->ops->release(be, all[q]);
                }
                char what[128];
                snprintf(what, sizeof what, "sparse_forward dim=%d n=%d rows=%d act=%d", dim, n,
                         rows, (int)act);
                /* float sums of up to dim terms against double, as the NN GEMM */
                check_close(what, o[1] + 3, o[0] + 3, (size_t)rows * n, 2e-7 * dim + 1e-6, 1e-5);
                check_equal_int(what, y[1] + 1, y[0] + 1, (size_t)rows);
                for (int p = 0; p < rows; p++)
                    if (y[0][1 + p] != s.labels[s.index[9 + p]])
                        test_fail("%s: label of row %d is %d, not %d", what, p, y[0][1 + p],
                                  s.labels[s.index[9 + p]]);
                free(o[0]), free(o[1]), free(y[0]), free(y[1]), free(w), free(bias);
                sparse_images_free(&s);
                cases++;
            }
    printf("sparse_forward: %d cases\n", cases);
}

/* Outputs of one sparse_forward_output case (see test_sparse_forward_output). */
typedef struct {
    float *h, *d, *dh, *loss;
    int *y, *correct;
} sfo_result;

/*
 * Runs the first layer and the output step on be, fused (one sparse_forward_output) or
 * as sparse_forward then output_step, and downloads every output into res.
 */
static void sfo_run(backend *be, int fused, const sparse_images *s, int dim, int n, int classes,
                    int rows, act_kind act, output_kind kind, const float *w1, const float *b1,
                    const float *w2, const float *b2, sfo_result *res)
{
    pixel_lists pl = sparse_images_upload(be, s);
    size_t nw1 = (size_t)dim * n, nw2 = (size_t)n * classes, nh = (size_t)rows * n;
    /* both weight matrices end their buffers: reads past them would be caught */
    buf *bw1 = upload_f32(be, w1, nw1), *bb1 = upload_f32(be, b1, (size_t)n),
        *bw2 = upload_f32(be, w2, nw2), *bb2 = upload_f32(be, b2, (size_t)classes),
        *bx = upload_i32(be, s->index, SPARSE_IMAGES), *bl = upload_u8(be, s->labels, SPARSE_IMAGES),
        *bh = NULL, *by = NULL, *bd = NULL, *bdh = NULL, *bloss = NULL, *bc = NULL;
    be->ops->alloc(be, nh * 4, &bh);
    be->ops->alloc(be, (size_t)rows * 4, &by);
    be->ops->alloc(be, (size_t)rows * classes * 4, &bd);
    be->ops->alloc(be, nh * 4, &bdh);
    be->ops->alloc(be, (size_t)rows * 4, &bloss);
    be->ops->alloc(be, (size_t)rows * 4, &bc);
    sparse_forward_output_args a = {
        {bref_at(bh, 0), n, dim, rows, bref_at(bw1, 0), bref_at(bb1, 0), act, pl, bref_at(bx, 0),
         5, bref_at(by, 0), bref_at(bl, 0)},
        {kind, bref_at(bh, 0), n, bref_at(bw2, 0), bref_at(bb2, 0), classes, rows, bref_at(by, 0),
         1.0f / rows, bref_at(bd, 0), bref_at(bdh, 0), act, bref_at(bloss, 0), bref_at(bc, 0)}};
    mc_status st = fused ? be->ops->sparse_forward_output(be, &a)
                         : be->ops->sparse_forward(be, &a.f);
    if (!st && !fused)
        st = be->ops->output_step(be, &a.o);
    if (st)
        test_fail("sparse_forward_output launch (%s)", fused ? "fused" : "two steps");
    res->h = malloc(nh * 4), res->dh = malloc(nh * 4);
    res->d = malloc((size_t)rows * classes * 4), res->loss = malloc((size_t)rows * 4);
    res->y = malloc((size_t)rows * 4), res->correct = malloc((size_t)rows * 4);
    download_f32(be, bh, res->h, nh);
    download_f32(be, bdh, res->dh, nh);
    download_f32(be, bd, res->d, (size_t)rows * classes);
    download_f32(be, bloss, res->loss, (size_t)rows);
    download_i32(be, by, res->y, (size_t)rows);
    download_i32(be, bc, res->correct, (size_t)rows);
    buf *all[] = {bw1, bb1, bw2, bb2, bx, bl, bh, by, bd, bdh, bloss, bc, pl.pixels.b, pl.offsets.b};
    for (size_t q = 0; q < sizeof all / sizeof all[0]; q++)
        be->ops->release(be, all[q]);
}

static void sfo_free(sfo_result *r)
{
    free(r->h), free(r->d), free(r->dh), free(r->loss), free(r->y), free(r->correct);
}

/*
 * sparse_forward_output: OpenCL's fused kernel against the reference (tolerances of
 * sparse_forward and output_step) and, exactly, against OpenCL's own two-step way.
 */
static void test_sparse_forward_output(backend *cpu, backend *cl, rng *r)
{
    const int dims[] = {1, 63, 784}, ns[] = {1, 10, 63, 127, 128}, class_counts[] = {1, 10, 16},
              rows_list[] = {1, 63, 128};
    const act_kind acts[] = {ACT_RELU, ACT_SIGMOID, ACT_TANH};
    int cases = 0, small = test_small();
    for (int di = 0; di < (small ? 2 : 3); di++)
        for (int ni = 0; ni < 5; ni++)
            for (int ri = 0; ri < (small ? 2 : 3); ri++) {
                int dim = dims[di], n = ns[ni], rows = rows_list[ri];
                int classes = class_counts[(di + ni + ri) % 3];
                act_kind act = acts[(di + ni) % 3];
                output_kind kind = (output_kind)((ni + ri) % 2);
                sparse_images s;
                sparse_images_make(&s, dim, r);
                for (int q = 0; q < SPARSE_IMAGES; q++) /* the labels must name a class */
                    s.labels[q] = (unsigned char)(s.labels[q] % classes);
                size_t nw1 = (size_t)dim * n, nw2 = (size_t)n * classes, nh = (size_t)rows * n;
                float *w1 = malloc(nw1 * 4), *b1 = malloc((size_t)n * 4), *w2 = malloc(nw2 * 4),
                      b2[16];
                fill_uniform(r, w1, nw1, -0.5f, 0.5f);
                fill_uniform(r, b1, (size_t)n, -0.5f, 0.5f);
                fill_uniform(r, w2, nw2, -0.5f, 0.5f);
                fill_uniform(r, b2, 16, -0.5f, 0.5f);
                sfo_result ref, fused, two;
                sfo_run(cpu, 1, &s, dim, n, classes, rows, act, kind, w1, b1, w2, b2, &ref);
                sfo_run(cl, 1, &s, dim, n, classes, rows, act, kind, w1, b1, w2, b2, &fused);
                sfo_run(cl, 0, &s, dim, n, classes, rows, act, kind, w1, b1, w2, b2, &two);
                char what[160];
                snprintf(what, sizeof what,
                         "sparse_forward_output %s dim=%d n=%d classes=%d rows=%d act=%d",
                         output_name(kind), dim, n, classes, rows, (int)act);
                check_close(what, fused.h, ref.h, nh, 2e-7 * dim + 1e-6, 1e-5);
                check_equal_int(what, fused.y, ref.y, (size_t)rows);
                check_close(what, fused.d, ref.d, (size_t)rows * classes, 1e-6, 1e-4);
                check_close(what, fused.loss, ref.loss, (size_t)rows, 1e-5, 1e-4);
                check_close(what, fused.dh, ref.dh, nh, 1e-6, 1e-4);
                /* the same float operations in the same order as the two-step way */
                snprintf(what, sizeof what,
                         "sparse_forward_output fused vs two steps dim=%d n=%d classes=%d rows=%d",
                         dim, n, classes, rows);
                check_close(what, fused.h, two.h, nh, 0, 0);
                check_close(what, fused.d, two.d, (size_t)rows * classes, 0, 0);
                check_close(what, fused.loss, two.loss, (size_t)rows, 0, 0);
                check_close(what, fused.dh, two.dh, nh, 0, 0);
                check_equal_int(what, fused.y, two.y, (size_t)rows);
                check_equal_int(what, fused.correct, two.correct, (size_t)rows);
                sfo_free(&ref), sfo_free(&fused), sfo_free(&two);
                free(w1), free(b1), free(w2);
                sparse_images_free(&s);
                cases++;
            }
    printf("sparse_forward_output: %d cases\n", cases);
}

static void test_sparse_grad(backend *cpu, backend *cl, rng *r)
{
    const int dims[] = {1, 63, 784}, ns[] = {1, 10, 127, 128, 300}, rows_list[] = {1, 63, 128};
    int cases = 0, small = test_small();
    for (int di = 0; di < (small ? 2 : 3); di++)
        for (int ni = 0; ni < 5; ni++)
            for (int ri = 0; ri < (small ? 2 : 3); ri++) {
                if (small && ns[ni] == 127)
                    continue;
                int dim = dims[di], n = ns[ni], rows = rows_list[ri];
                int accumulate = (di + ni + ri) % 2;
                sparse_images s;
                sparse_images_make(&s, dim, r);
                size_t nd = (size_t)rows * n, no = (size_t)(dim + 1) * n + 5;
                float *d = malloc(nd * 4), *out0 = malloc(no * 4), *o[2];
                fill_uniform(r, d, nd, -1, 1);
                fill_uniform(r, out0, no, -1, 1);
                backend *bes[2] = {cpu, cl};
                for (int b = 0; b < 2; b++) {
                    backend *be = bes[b];
                    pixel_lists pl = sparse_images_upload(be, &s);
                    buf *bd = upload_f32(be, d, nd), *bo = upload_f32(be, out0, no),
                        *bx = upload_i32(be, s.index, SPARSE_IMAGES), *bs = NULL;
                    be->ops->alloc(be, sparse_grad_scratch(dim, n) * 4, &bs);
                    sparse_grad_args a = {bref_at(bo, 5), bref_at(bd, 0), n, rows, dim, pl,
                                          bref_at(bx, 0), 9, accumulate, bref_at(bs, 0)};
                    if (be->ops->sparse_grad(be, &a))
                        test_fail("sparse_grad launch");
                    o[b] = malloc(no * 4);
                    download_f32(be, bo, o[b], no);
                    buf *all[] = {bd, bo, bx, bs, pl.pixels.b, pl.offsets.b};
                    for (int q = 0; q < 6; q++)
                        be->ops->release(be, all[q]);
                }
                char what[128];
                snprintf(what, sizeof what, "sparse_grad dim=%d n=%d rows=%d accumulate=%d", dim,
                         n, rows, accumulate);
                /* float sums of `rows` terms against double, as the TN GEMM; the 5 floats
                   before out must be untouched */
                check_close(what, o[1], o[0], no, 2e-7 * rows + 1e-6, 1e-6);
                for (int q = 0; q < 5; q++)
                    if (o[1][q] != out0[q])
                        test_fail("%s: wrote before its output", what);
                free(o[0]), free(o[1]), free(d), free(out0);
                sparse_images_free(&s);
                cases++;
            }
    printf("sparse_grad: %d cases\n", cases);
}

/*
 * One fused backward + SGD step (sparse_backward_sgd) on be, or (fused 0) the same as
 * sparse_grad, the TN GEMM and sgd; params / velocity (count floats from offset 3 of their
 * buffers) are updated in place.
 */
static void sbs_run(backend *be, int fused, const sparse_images *s, int dim, int n, int classes,
                    int rows, const float *d1, const float *h, const float *d2, float momentum,
                    float weight_decay, float *params, float *velocity, size_t count)
{
    pixel_lists pl = sparse_images_upload(be, s);
    size_t first = ((size_t)dim + 1) * n;
    buf *bp = upload_f32(be, params, count + 3), *bv = upload_f32(be, velocity, count + 3),
        *bd1 = upload_f32(be, d1, (size_t)rows * n), *bh = upload_f32(be, h, (size_t)rows * n),
        *bd2 = upload_f32(be, d2, (size_t)rows * classes + 1),
        *bx = upload_i32(be, s->index, SPARSE_IMAGES), *bg = NULL, *bs = NULL;
    be->ops->alloc(be, (count + 3) * 4, &bg);
    be->ops->alloc(be, sparse_grad_scratch(dim, n) * 4, &bs);
    sparse_backward_update_args a = {
        {bref_at(bg, 3), bref_at(bd1, 0), n, rows, dim, pl, bref_at(bx, 0), 7, 0, bref_at(bs, 0)},
        bref_at(bh, 0),
        bref_at(bd2, 0),
        classes,
        {bref_at(bp, 3), bref_at(bg, 3), bref_at(bv, 3), count, {UPDATE_SGD, 0.1f, momentum, weight_decay}}};
    mc_status st;
    if (fused) {
        st = be->ops->sparse_backward_update(be, &a);
    } else {
        gemm_args top = {.trans_a = 1, .a_ones_row = 1, .m = n + 1, .n = classes, .k = rows,
                         .a = a.h, .lda = n, .b = a.delta2, .ldb = classes,
                         .c = bref_at(bg, 3 + first), .ldc = classes, .alpha = 1.0f,
                         .epilogue = EPI_NONE};
        st = be->ops->sparse_grad(be, &a.g);
        st = st || !classes ? st : be->ops->gemm(be, &top);
        st = st ? st : be->ops->update(be, &a.upd);
    }
    if (st)
        test_fail("sparse_backward_sgd launch (%s)", fused ? "fused" : "three steps");
    download_f32(be, bp, params, count + 3);
    download_f32(be, bv, velocity, count + 3);
    buf *all[] = {bp, bv, bd1, bh, bd2, bx, bg, bs, pl.pixels.b, pl.offsets.b};
    for (size_t q = 0; q < sizeof all / sizeof all[0]; q++)
        be->ops->release(be, all[q]);
}

/*
 * sparse_backward_sgd: parameters and velocity after one fused step, against the
 * reference (its gradients in double) and, exactly, against OpenCL's own three steps.
 */
static void test_sparse_backward_sgd(backend *cpu, backend *cl, rng *r)
{
    /* classes 0: the first layer alone */
    const int dims[] = {1, 63, 784}, ns[] = {1, 10, 127, 128, 300}, class_counts[] = {0, 1, 10, 16},
              rows_list[] = {1, 63, 128};
    int cases = 0, small = test_small();
    for (int di = 0; di < (small ? 2 : 3); di++)
        for (int ni = 0; ni < 5; ni++)
            for (int ri = 0; ri < (small ? 2 : 3); ri++) {
                if (small && ns[ni] == 127)
                    continue;
                int dim = dims[di], n = ns[ni], rows = rows_list[ri];
                int classes = class_counts[(di + ni + ri) % 4];
                float momentum = (ni + ri) % 2 ? 0.9f : 0.0f;
                float weight_decay = (di + ri) % 2 ? 1e-4f : 0.0f;
                sparse_images s;
                sparse_images_make(&s, dim, r);
                size_t count = ((size_t)dim + 1) * n + ((size_t)n + 1) * classes;
                size_t nd1 = (size_t)rows * n, nd2 = (size_t)rows * classes + 1;
                float *d1 = malloc(nd1 * 4), *h = malloc(nd1 * 4), *d2 = malloc(nd2 * 4);
                float *p0 = malloc((count + 3) * 4), *v0 = malloc((count + 3) * 4);
                fill_uniform(r, d1, nd1, -1, 1);
                fill_uniform(r, h, nd1, 0, 1);
                fill_uniform(r, d2, nd2, -1, 1);
                fill_uniform(r, p0, count + 3, -1, 1);
                fill_uniform(r, v0, count + 3, -1, 1);
                float *p[3], *v[3];
                for (int k = 0; k < 3; k++) {
                    p[k] = malloc((count + 3) * 4), v[k] = malloc((count + 3) * 4);
                    memcpy(p[k], p0, (count + 3) * 4), memcpy(v[k], v0, (count + 3) * 4);
                }
                sbs_run(cpu, 1, &s, dim, n, classes, rows, d1, h, d2, momentum, weight_decay,
                        p[0], v[0], count);
                sbs_run(cl, 1, &s, dim, n, classes, rows, d1, h, d2, momentum, weight_decay,
                        p[1], v[1], count);
                sbs_run(cl, 0, &s, dim, n, classes, rows, d1, h, d2, momentum, weight_decay,
                        p[2], v[2], count);
                char what[160];
                snprintf(what, sizeof what,
                         "sparse_backward_sgd dim=%d n=%d classes=%d rows=%d momentum=%g decay=%g",
                         dim, n, classes, rows, momentum, weight_decay);
                /* gradients: float sums of `rows` terms against double (as sparse_grad), then
                   lr 0.1; the 3 floats before the parameters must be untouched */
                check_close(what, p[1], p[0], count + 3, 0.1 * (2e-7 * rows + 1e-6), 1e-6);
                if (momentum != 0.0f)
                    check_close(what, v[1], v[0], count + 3, 2e-7 * rows + 1e-6, 1e-6);
                for (int q = 0; q < 3; q++)
                    if (p[1][q] != p0[q] || v[1][q] != v0[q])
                        test_fail("%s: wrote before the parameters", what);
                snprintf(what, sizeof what,
                         "sparse_backward_sgd fused vs three steps dim=%d n=%d classes=%d rows=%d",
                         dim, n, classes, rows);
                check_close(what, p[1], p[2], count + 3, 0, 0);
                check_close(what, v[1], v[2], count + 3, 0, 0);
                for (int k = 0; k < 3; k++)
                    free(p[k]), free(v[k]);
                free(d1), free(h), free(d2), free(p0), free(v0);
                sparse_images_free(&s);
                cases++;
            }
    printf("sparse_backward_sgd: %d cases\n", cases);
}

static void test_probs(backend *cpu, backend *cl, rng *r)
{
    for (int kind = 0; kind < 2; kind++) {
        for (int ci = 0; ci < N_ROWS; ci++) {
            int count = row_counts[ci], classes = 10;
            size_t nz = (size_t)count * classes;
            float *z = malloc(nz * 4), *p[2];
            fill_uniform(r, z, nz, -20, 20);
            backend *bes[2] = {cpu, cl};
            for (int b = 0; b < 2; b++) {
                backend *be = bes[b];
                buf *bz = upload_f32(be, z, nz), *bo = NULL;
                be->ops->alloc(be, nz * 4, &bo);
                probs_args a = {(output_kind)kind, bref_at(bo, 0), bref_at(bz, 0), count, classes};
                if (be->ops->probs(be, &a))
                    test_fail("probs launch");
                p[b] = malloc(nz * 4);
                download_f32(be, bo, p[b], nz);
                be->ops->release(be, bz), be->ops->release(be, bo);
            }
            char what[96];
            snprintf(what, sizeof what, "probs %s count=%d", kind ? "sigmoid" : "softmax", count);
            check_close(what, p[1], p[0], nz, 1e-7, 1e-5); /* exp in float: a few ulp */
            free(p[0]), free(p[1]), free(z);
        }
    }
}

static void test_sgd(backend *cpu, backend *cl, rng *r)
{
    const size_t full_sizes[] = {1, 63, 127, 101770}, small_sizes[] = {1, 63, 127, 1000};
    const size_t *sizes = test_small() ? small_sizes : full_sizes;
    const float cfg[][3] = {{0.1f, 0, 0}, {0.01f, 0.9f, 0}, {0.05f, 0.9f, 5e-4f}};
    for (int si = 0; si < 4; si++) {
        for (int k = 0; k < 3; k++) {
            size_t n = sizes[si];
            float *p = malloc(n * 4), *g = malloc(n * 4), *v = malloc(n * 4), *po[2], *vo[2];
            fill_uniform(r, p, n, -1, 1);
            fill_uniform(r, g, n, -1, 1);
            fill_uniform(r, v, n, -1, 1);
            backend *bes[2] = {cpu, cl};
            for (int b = 0; b < 2; b++) {
                backend *be = bes[b];
                buf *bp = upload_f32(be, p, n), *bg = upload_f32(be, g, n),
                    *bv = upload_f32(be, v, n);
                update_args a = {bref_at(bp, 0), bref_at(bg, 0), bref_at(bv, 0), n,
                                 {UPDATE_SGD, cfg[k][0], cfg[k][1], cfg[k][2]}};
                /* two steps, so the velocity written by the first is read by the second */
                if (be->ops->update(be, &a) || be->ops->update(be, &a))
                    test_fail("sgd launch");
                po[b] = malloc(n * 4), vo[b] = malloc(n * 4);
                download_f32(be, bp, po[b], n);
                download_f32(be, bv, vo[b], n);
                be->ops->release(be, bp), be->ops->release(be, bg), be->ops->release(be, bv);
            }
            char what[96];
            snprintf(what, sizeof what, "sgd n=%zu lr=%g momentum=%g wd=%g params", n, cfg[k][0],
                     cfg[k][1], cfg[k][2]);
            check_close(what, po[1], po[0], n, 1e-7, 1e-6); /* a few float roundings */
            snprintf(what, sizeof what, "sgd n=%zu momentum=%g velocity", n, cfg[k][1]);
            check_close(what, vo[1], vo[0], n, 1e-7, 1e-6);
            for (int b = 0; b < 2; b++)
                free(po[b]), free(vo[b]);
            free(p), free(g), free(v);
        }
    }
}

static void test_sum(backend *cpu, backend *cl, rng *r)
{
    const int full_ns[] = {1, 63, 127, 255, 256, 257, 10000, 60000},
              small_ns[] = {1, 63, 127, 255, 256, 257, 600, 1000};
    const int *ns = test_small() ? small_ns : full_ns;
    for (int i = 0; i < 8; i++) {
        int n = ns[i];
        float *loss = malloc((size_t)n * 4), ls[2];
        int *correct = malloc((size_t)n * 4), cs[2];
        fill_uniform(r, loss, (size_t)n, 0, 3);
        for (int j = 0; j < n; j++)
            correct[j] = rng_below(r, 2);
        backend *bes[2] = {cpu, cl};
        for (int b = 0; b < 2; b++) {
            backend *be = bes[b];
            buf *bl = upload_f32(be, loss, (size_t)n), *bc = upload_i32(be, correct, (size_t)n),
                *bls = NULL, *bcs = NULL;
            be->ops->alloc(be, 8, &bls);
            be->ops->alloc(be, 8, &bcs);
            sum_args a = {bref_at(bls, 1), bref_at(bcs, 1), bref_at(bl, 0), bref_at(bc, 0), n};
            if (be->ops->sum(be, &a))
                test_fail("sum launch");
            float l2[2];
            int c2[2];
            download_f32(be, bls, l2, 2);
            download_i32(be, bcs, c2, 2);
            ls[b] = l2[1], cs[b] = c2[1];
            buf *all[] = {bl, bc, bls, bcs};
            for (int j = 0; j < 4; j++)
                be->ops->release(be, all[j]);
        }
        char what[64];
        snprintf(what, sizeof what, "sum_stats n=%d loss", n);
        check_close(what, &ls[1], &ls[0], 1, 0, 1e-6); /* pairwise float sum */
        snprintf(what, sizeof what, "sum_stats n=%d correct", n);
        check_equal_int(what, &cs[1], &cs[0], 1);
        free(loss), free(correct);
    }
}

static void test_sequential(backend *cpu, backend *cl, rng *r)
{
    const mlp_spec full_specs[] = {
        {1, {10, 10}, ACT_SIGMOID, OUT_SOFTMAX_XENT},
        {2, {63, 1, 10}, ACT_RELU, OUT_SOFTMAX_XENT},
        {2, {784, 20, 10}, ACT_SIGMOID, OUT_SIGMOID_MSE},
        {3, {127, 63, 10, 10}, ACT_TANH, OUT_SIGMOID_MSE},
        {4, {784, 64, 32, 16, 10}, ACT_RELU, OUT_SOFTMAX_XENT},
    };
    const mlp_spec small_specs[] = {
        {1, {10, 10}, ACT_SIGMOID, OUT_SOFTMAX_XENT},
        {2, {63, 1, 10}, ACT_RELU, OUT_SOFTMAX_XENT},
        {2, {40, 20, 10}, ACT_SIGMOID, OUT_SIGMOID_MSE},
        {3, {33, 17, 10, 10}, ACT_TANH, OUT_SIGMOID_MSE},
        {4, {20, 12, 8, 5, 10}, ACT_RELU, OUT_SOFTMAX_XENT},
    };
    const mlp_spec *specs = test_small() ? small_specs : full_specs;
    /* well-conditioned settings: a diverging run would amplify rounding, not test it */
    const float cfg[][3] = {{0.01f, 0, 0}, {0.005f, 0.5f, 1e-3f}};
    const int n_images = 40, count = 33, start = 4;
    for (size_t si = 0; si < 5; si++) {
        const mlp_spec *spec = &specs[si];
        int dim = spec->sizes[0], classes = spec->sizes[spec->n_layers];
        unsigned char *images = malloc((size_t)n_images * dim), labels[40];
        for (int i = 0; i < n_images * dim; i++) /* 70% zeros, as in MNIST */
            images[i] = rng_below(r, 10) < 7 ? 0 : (unsigned char)rng_below(r, 256);
        for (int i = 0; i < n_images; i++)
            labels[i] = (unsigned char)rng_below(r, (uint32_t)classes);
        int index[40];
        for (int i = 0; i < n_images; i++)
            index[i] = i;
        rng_shuffle(r, index, n_images);
        size_t np = mlp_param_count(spec);
        float *p0 = malloc(np * 4), *v0 = malloc(np * 4);
        mlp_init_params(spec, INIT_XAVIER, r, p0);
        fill_uniform(r, v0, np, -0.01f, 0.01f);
        /* the pixel lists the trainer builds for the fused path */
        uint32_t *pixels;
        int32_t *offsets;
        size_t nnz;
        if (dataset_pixel_lists(images, n_images, dim, PIXEL_BANDS, &pixels, &offsets, &nnz))
            test_fail("dataset_pixel_lists");
        for (int k = 0; k < 4; k++) {
            int ci = k % 2, listed = k / 2; /* config, and whether OpenCL gets the list */
            float *p[2], *v[2], *l[2];
            int *c[2];
            backend *bes[2] = {cpu, cl};
            for (int b = 0; b < 2; b++) {
                backend *be = bes[b];
                buf *bp = upload_f32(be, p0, np), *bv = upload_f32(be, v0, np),
                    *bi = upload_u8(be, images, (size_t)n_images * dim),
                    *bl = upload_u8(be, labels, 40), *bx = upload_i32(be, index, 40), *bs = NULL,
                    *bls = NULL, *bcs = NULL;
                be->ops->alloc(be, seq_scratch_floats(spec) * 4, &bs);
                be->ops->alloc(be, 40 * 4, &bls);
                be->ops->alloc(be, 40 * 4, &bcs);
                buf *bsp = NULL, *bso = NULL;
                if (b == 1 && listed) {
                    bsp = upload_i32(be, (const int *)pixels, nnz ? nnz : 1);
                    bso = upload_i32(be, offsets, (size_t)n_images * PIXEL_BANDS + 1);
                }
                sequential_args a = {spec, bref_at(bp, 0), bref_at(bv, 0), bref_at(bs, 0),
                                     bref_at(bi, 0), bref_at(bl, 0), bref_at(bx, 0), start,
                                     count, bref_at(bls, 0), bref_at(bcs, 0),
                                     {UPDATE_SGD, cfg[ci][0], cfg[ci][1], cfg[ci][2]},
                                     {bref_at(bsp, 0), bref_at(bso, 0)}};
                if (be->ops->sequential(be, &a))
                    test_fail("sequential launch");
                p[b] = malloc(np * 4), v[b] = malloc(np * 4), l[b] = malloc(40 * 4);
                c[b] = malloc(40 * 4);
                download_f32(be, bp, p[b], np);
                download_f32(be, bv, v[b], np);
                download_f32(be, bls, l[b], 40);
                download_i32(be, bcs, c[b], 40);
                buf *all[] = {bp, bv, bi, bl, bx, bs, bls, bcs, bsp, bso};
                for (int i = 0; i < 10; i++)
                    if (all[i])
                        be->ops->release(be, all[i]);
            }
            char shape[64], what[160];
            mlp_format_layers(spec, shape, sizeof shape);
            /* 33 dependent float updates against double ones */
            snprintf(what, sizeof what, "sequential %s %s momentum=%g %s: parameters", shape,
                     output_name(spec->output), cfg[ci][1], listed ? "listed pixels" : "scan");
            check_close(what, p[1], p[0], np, 1e-6, 1e-5);
            if (cfg[ci][1] != 0.0f) {
                snprintf(what, sizeof what, "sequential %s: velocity", shape);
                check_close(what, v[1], v[0], np, 1e-6, 1e-5);
            }
            snprintf(what, sizeof what, "sequential %s: per-image loss", shape);
            check_close(what, l[1] + start, l[0] + start, count, 1e-6, 1e-5);
            snprintf(what, sizeof what, "sequential %s: per-image hits", shape);
            check_equal_int(what, c[1] + start, c[0] + start, count);
            for (int b = 0; b < 2; b++)
                free(p[b]), free(v[b]), free(l[b]), free(c[b]);
        }
        free(images), free(p0), free(v0), free(pixels), free(offsets);
    }
}

int main(void)
{
    backend *cpu = backend_cpu_create();
    backend *cl = test_open_opencl();
    if (test_small()) {
        row_counts = row_counts_small;
        N_ROWS = 2;
    }
    rng r;
    rng_seed(&r, 7);
    test_gather(cpu, cl, &r);
    test_loss(cpu, cl, &r);
    test_output_step(cpu, cl, &r);
    test_sparse_forward(cpu, cl, &r);
    test_sparse_forward_output(cpu, cl, &r);
    test_sparse_grad(cpu, cl, &r);
    test_sparse_backward_sgd(cpu, cl, &r);
    test_probs(cpu, cl, &r);
    test_sgd(cpu, cl, &r);
    test_sum(cpu, cl, &r);
    test_sequential(cpu, cl, &r);
    backend_destroy(cl);
    backend_destroy(cpu);
    return test_exit_code();
}
