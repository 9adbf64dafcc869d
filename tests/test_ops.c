/*
 * Table-driven parity tests of the backend operations (backend_ops.h), after ggml's
 * tests/test-backend-ops.cpp. Each op has one case table (all in tables[] below): its
 * parameters (axes, whose cross product gives the cases, and options, which rotate with
 * the axes' indices), a function declaring a case's buffers (random inputs; outputs with
 * their tolerances) and one filling the op's args from them. One runner, for every case,
 * runs the op on every backend (the CPU reference, the OpenCL device) from the same
 * inputs and compares every output with the reference's; a table's other ways to the same
 * results run on every backend but the reference, compared bit-exactly with that
 * backend's op (the unfused ops) or with the reference in tolerance. Every run is also
 * checked exactly on its own: elements outside an output's compared range (before the
 * op's offset, ...) keep their contents; labels written out (y) are the images' labels;
 * and outputs start filled with a value of the run's own (on the device: in the ways' runs
 * and where the first check needs it), so an element left unwritten shows.
 *
 * The checks: full sizes [under MNISTCL_TEST_SMALL=1, for oclgrind and rusticl];
 * tolerances (atol, rtol) against the reference; EXACT: equal values.
 *  gather       dim 1,10,63,784 [1,10,33] x count 1,63,127,128,200 [1,63] of 300 images:
 *               x (offset 5) EXACT, y (offset 2) EXACT
 *  loss         softmax-xent, sigmoid-mse x classes 10,1,63 x count 1,63,127,128,784
 *               [1,63], logits +-30 with ties: delta (1e-7, 1e-5), loss (1e-6, 1e-5),
 *               correct EXACT; way eval only (no delta, scale 1): loss and correct in
 *               the same tolerances against the reference, the delta buffer untouched
 *  output_step  hidden 1,63,127,784 [1,63] x classes 1,10,16 x count 1,63,128 [1,63];
 *               kind, act relu/sigmoid/tanh, delta_hidden or not rotate: delta_out (1e-6,
 *               1e-4), loss (1e-5, 1e-4), correct EXACT, delta_hidden (1e-7, 1e-4)
 *  sparse_forward  dim 1,63,784 [1,63] x n 1,10,127,128,300 [no 127] x rows 1,63,128
 *               [1,63]; act (all four), W at offset 0 or 7 rotate: out (offset 3) (2e-7 dim
 *               + 1e-6, 1e-5), y (offset 1) EXACT
 *  sparse_forward_output  dim, rows as above x n 1,10,63,127,128; classes 1,10,16, act,
 *               kind rotate: h (2e-7 dim + 1e-6, 1e-5), y EXACT, delta_out and delta_hidden
 *               (1e-6, 1e-4), loss (1e-5, 1e-4), correct EXACT; way sparse_forward +
 *               output_step: all six EXACT against the fused op
 *  sparse_grad  as sparse_forward; accumulate rotates: out (offset 5, starting random)
 *               (2e-7 rows + 1e-6, 1e-6)
 *  sparse_backward_update  as sparse_grad; classes 0 (first layer only),1,10,16, momentum
 *               0/0.9, decay 0/1e-4, adamw (lr 1e-3, decay 1e-2, step 4) rotate, else SGD lr
 *               0.1: params (offset 3) (0.1 (2e-7 rows +
 *               1e-6), 1e-6), state (offset 3) (2e-7 rows + 1e-6, 1e-6); way sparse_grad +
 *               TN GEMM with the ones row + update: both EXACT against the fused op
 *  probs        softmax, sigmoid x count 1,63,127,128,784 [1,63], 10 classes: out (1e-7,
 *               1e-5)
 *  update       n 1,63,127,101770 [1,63,127,1000] x lr 0.1 / 0.01 momentum 0.9 / 0.05
 *               momentum 0.9 decay 5e-4 / the same nesterov / adam / adam decay 1e-2 /
 *               adamw decay 1e-2 betas 0.8, 0.99 eps 1e-6 (at step 4), two steps: params,
 *               state (1e-7, 1e-6)
 *  sum          n 1,63,127,255,256,257,10000,60000 [600, 1000 for the last two]: loss_sum
 *               (offset 1) (0, 1e-6), correct_sum (offset 1) EXACT
 *  sequential   10-10, 63-1-10, 784-20-10, 127-63-10-10, 784-64-32-16-10 [10-10, 63-1-10,
 *               40-20-10, 33-17-10-10, 20-12-8-5-10] x pixels scanned / listed x lr 0.01 /
 *               0.005 momentum 0.5 decay 1e-3 / adamw with a cosine schedule and warm-up /
 *               nesterov with one-cycle (both from step 5 of the run, so each image's
 *               step values differ), 33 images from 4 (the reference ignores
 *               the lists): params, state, loss[4..37) (1e-6, 1e-5), correct[4..37) EXACT
 *  dropout      rows 1,63,127 [1,63] x cols 784,10,63,1 [no 784] x p 0,0.5,0.9; in place
 *               or not, row padding 0/3 rotate; row0, step, stream, seed vary with the
 *               case: y (x in place) EXACT against the reference and as expected from
 *               philox4x32_10 on the host (one float multiply or 0: no rounding can
 *               differ); the fraction dropped within 5 sigma of p where rows x cols >=
 *               10000; p = 0 an exact copy
 *  augment      28x28, 10x7, 1x1, 63x1, 1x63, 45x45 [no 45x45] x count 1,63,127 [1,5] x
 *               parts none, affine (2, 10, 0.1), elastic (34/4), both, extreme (5, 180,
 *               0.9, 8/0.7), 150 images: x (offset 4) EXACT against the reference (both do
 *               the same float operations in the same order, FP_CONTRACT off, exact
 *               trigonometry and reductions, so no tolerance is needed; pocl without the
 *               pragma differs by a few 1e-6) and, all parts off, EXACT as gather's image/255
 *  window_images  count 1,63,127,784,10 [1,63,10] x dim 784,5 x part [300,700), none, all
 *               of 1000 ids, the one id of row count/2; slot0 0,5,64, window offset 0,16,3
 *               and part offset 0,4,32,7 rotate (16-, 4- and 1-byte pieces): the window's
 *               images and labels EXACT against the reference and as expected, rows whose
 *               ids (a shuffled prefix of the 1000, with INT_MIN, INT_MAX, -1) the part does
 *               not hold and the two rows past the window as they started (random)
 * Beyond the per-op runners this replaced: state is compared at momentum 0 too (no
 * backend may touch it), sparse_forward_output's correct is compared with the reference,
 * and the exact checks of every run above apply to all ops.
 * The cases draw their inputs in turn from one stream seeded 7 (not the old draws).
 * MNISTCL_TEST_OPS=op,op,... runs those ops' tables alone (their inputs then differ).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <math.h>

#include "backend/augment.h"
#include "mnistcl/dataset.h"
#include "philox.h"
#include "test_util.h"

enum { MAX_VALUES = 8, MAX_PARAMS = 7, MAX_BUFS = 16, MAX_WAYS = 2, N_BACKENDS = 2 };
enum { A0 = 1, A1 = 2, A2 = 4 }; /* the axes (by parameter index) an option rotates with */
#define DROP (-1.0)              /* a small value of an axis: that index is not run small */
#define UNPAREN(...) __VA_ARGS__
#define NV(...) ((int)(sizeof((double[]){__VA_ARGS__}) / sizeof(double)))
/* AXIS("n", (full values), (small values), show); OPTION("act", axes, (values), show) */
#define AXIS(nm, f, s, show_) \
    {.name = nm, .n = NV f, .n_small = NV s, .full = {UNPAREN f}, .small = {UNPAREN s}, \
     .show = show_}
#define OPTION(nm, axes, f, show_) \
    {.name = nm, .n = NV f, .full = {UNPAREN f}, .by = axes, .show = show_}

/* One parameter of an op's cases: an axis (by 0) or an option. */
typedef struct {
    const char *name;
    int n, n_small;           /* values; an axis has as many small values as full ones */
    double full[MAX_VALUES];  /* an option takes value [(sum of its axes' indices) % n] */
    double small[MAX_VALUES]; /* an axis's values under MNISTCL_TEST_SMALL, index for index */
    unsigned by;              /* an option: the axes (A0 | A2 ...) it rotates with */
    const char *(*show)(int); /* a value's name in case descriptions, or NULL: the number */
} param;

typedef enum { F32, I32, U8 } elem_type; /* outputs are F32, I32 or (INOUT) U8 */
typedef enum { IN, INOUT, OUT, SCRATCH } buf_role;

/* One buffer of a case; OUT and INOUT buffers are compared after the op. */
typedef struct {
    const char *name;
    elem_type type;
    buf_role role;
    size_t n, off;     /* elements (>= 1); the op sees the buffer from element off */
    size_t lo, hi;     /* compared elements, [off, n) unless set; the others stay as they were */
    double atol, rtol; /* tolerance against the reference; ints compare exactly */
    void *host;        /* IN, INOUT: the contents every backend starts from */
    int *expect;       /* or NULL: what every backend must write into [lo, hi) */
} tbuf;

typedef struct op_case op_case;

/* Another way to an op's results, run with the op's args on every backend but the reference. */
typedef struct {
    const char *name;
    mc_status (*run)(backend *be, const op_case *c, op_args *a);
    int exact;        /* 1: bit-exactly the same backend's op; 0: the reference, in tolerance */
    const char *skip; /* an output this way does not produce: it must stay untouched */
} op_way;

/* An op's case table and how to set up one case. */
typedef struct {
    op_kind op;
    param p[MAX_PARAMS];                 /* until one without a name */
    void (*declare)(op_case *c, rng *r); /* the case's buffers, inputs drawn from r */
    void (*args)(const op_case *c, buf *const *b, op_args *a); /* from one backend's buffers */
    int runs;                            /* times the op runs in a row (0: once) */
    op_way way[MAX_WAYS];                /* until one without a name */
} op_table;

struct op_case {
    const op_table *t;
    double v[MAX_PARAMS]; /* this case's value of each parameter */
    char desc[200];       /* "dim=63 n=10 ..." */
    int n_bufs;
    tbuf b[MAX_BUFS];
};

static const char *const backend_names[N_BACKENDS] = {"reference", "opencl"};
static int comparisons; /* made so far, for the summary lines */

/* ---- what the declare and args functions use --------------------------------------- */

static size_t elem_size(elem_type t) { return t == U8 ? 1 : 4; }

/* The value of parameter `name` in case c (exits when the table has no such parameter). */
static double par(const op_case *c, const char *name)
{
    for (int i = 0; i < MAX_PARAMS && c->t->p[i].name; i++)
        if (!strcmp(c->t->p[i].name, name))
            return c->v[i];
    fprintf(stderr, "test_ops: %s has no parameter %s\n", op_name(c->t->op), name);
    exit(2);
}
#define P(name) ((int)par(c, name))

/*
 * Declares buffer `name` of case c: n elements (at least 1) of type t, seen by the op from
 * element off; IN and INOUT get zeroed host contents for the caller to fill, OUT and INOUT
 * are compared on [off, n) within (atol, rtol).
 */
static tbuf *decl(op_case *c, const char *name, elem_type t, buf_role role, size_t n,
                  size_t off, double atol, double rtol)
{
    if (c->n_bufs == MAX_BUFS)
        fprintf(stderr, "test_ops: more than %d buffers\n", MAX_BUFS), exit(2);
    tbuf *b = &c->b[c->n_bufs++];
    n = n ? n : 1;
    *b = (tbuf){name, t, role, n, off, off, n, atol, rtol, NULL, NULL};
    if (role == IN || role == INOUT)
        b->host = calloc(n, elem_size(t));
    return b;
}
#define IN_(name, t, n, off) decl(c, name, t, IN, n, off, 0, 0)
#define OUT_(name, t, n, off, atol, rtol) decl(c, name, t, OUT, n, off, atol, rtol)
#define INOUT_(name, n, off, atol, rtol) decl(c, name, F32, INOUT, n, off, atol, rtol)
#define SCRATCH_(name, n, off) decl(c, name, F32, SCRATCH, n, off, 0, 0)

/* Fills float buffer b's host contents uniformly in [lo, hi); returns them. */
static float *uniform(tbuf *b, rng *r, float lo, float hi)
{
    fill_uniform(r, b->host, b->n, lo, hi);
    return b->host;
}

/* Index of buffer `name` in c; -1 when c does not declare it and `optional`, else exits. */
static int find(const op_case *c, const char *name, int optional)
{
    for (int i = 0; i < c->n_bufs; i++)
        if (!strcmp(c->b[i].name, name))
            return i;
    if (!optional)
        fprintf(stderr, "test_ops: %s has no buffer %s\n", op_name(c->t->op), name), exit(2);
    return -1;
}

/* Buffer `name` as allocated on one backend (b), at its declared offset (NULL if none). */
static bref at(const op_case *c, buf *const *b, const char *name, int optional)
{
    int i = find(c, name, optional);
    return i < 0 ? bref_at(NULL, 0) : bref_at(b[i], c->b[i].off);
}
#define AT(name) at(c, b, name, 0)
#define MAYBE(name) at(c, b, name, 1)
#define LISTS ((pixel_lists){MAYBE("pixels"), MAYBE("offsets")})

/*
 * Declares `count` random images of dim pixels (one draw a pixel: zero with probability
 * zeros / 10, else uniform in 0..255): "index" (a shuffled int32 permutation), with
 * classes > 0 "labels" (uint8, below classes), with `dense` the images ("images", uint8)
 * and with `lists` their pixel lists ("pixels", "offsets", as the trainer builds them).
 */
static void images(op_case *c, rng *r, int count, int dim, int zeros, int classes, int dense,
                   int lists)
{
    size_t n = (size_t)count * dim, total, no = (size_t)count * PIXEL_BANDS + 1;
    unsigned char *img = malloc(n), *lab = classes ? IN_("labels", U8, count, 0)->host : NULL;
    for (size_t q = 0; q < n; q++) {
        uint64_t x = rng_next(r);
        img[q] = ((x >> 32) * 10 >> 32) < (uint64_t)zeros ? 0 : (unsigned char)x;
    }
    int *index = IN_("index", I32, count, 0)->host;
    for (int q = 0; q < count; q++)
        index[q] = q;
    for (int q = 0; lab && q < count; q++)
        lab[q] = (unsigned char)rng_below(r, (uint32_t)classes);
    rng_shuffle(r, index, (size_t)count);
    if (dense)
        memcpy(IN_("images", U8, n, 0)->host, img, n);
    uint32_t *pixels;
    int32_t *offsets;
    if (lists && dataset_pixel_lists(img, count, dim, PIXEL_BANDS, &pixels, &offsets, &total))
        test_fail("dataset_pixel_lists dim=%d", dim), exit(1);
    if (lists) {
        memcpy(IN_("pixels", I32, total, 0)->host, pixels, total * 4);
        memcpy(IN_("offsets", I32, no, 0)->host, offsets, no * 4);
        free(pixels), free(offsets);
    }
    free(img);
}

/* Sets output y's expected contents: row p holds the label of image index[start + p]. */
static void expect_labels(op_case *c, tbuf *y, int start)
{
    const unsigned char *lab = c->b[find(c, "labels", 0)].host;
    const int *index = c->b[find(c, "index", 0)].host;
    y->expect = calloc(y->n, sizeof(int));
    for (size_t p = y->lo; p < y->hi; p++)
        y->expect[p] = lab[index[start + (int)(p - y->lo)]];
}

static const char *act_str(int v) { return act_name((act_kind)v); }
static const char *output_str(int v) { return output_name((output_kind)v); }

/* ---- the ops: declare, args, other ways, table ------------------------------------- */

enum { GATHER_IMAGES = 300, SPARSE_IMAGES = 150 };

/* 300 random images; rows start .. start + count of a shuffled index, 3 before its end */
static void gather_declare(op_case *c, rng *r)
{
    int dim = P("dim"), count = P("count");
    images(c, r, GATHER_IMAGES, dim, 0, 10, 1, 0);
    OUT_("x", F32, (size_t)count * dim + 5, 5, 0, 0); /* the same float multiply: exact */
    expect_labels(c, OUT_("y", I32, (size_t)count + 2, 2, 0, 0), GATHER_IMAGES - count - 3);
}

static void gather_args_of(const op_case *c, buf *const *b, op_args *a)
{
    a->gather = (gather_args){AT("x"), AT("y"), AT("images"), AT("labels"), AT("index"),
                              GATHER_IMAGES - P("count") - 3, P("count"), P("dim")};
}

/* logits up to +-30 (softmax must stay stable), an exact tie in every 7th row */
static void loss_declare(op_case *c, rng *r)
{
    int classes = P("classes"), count = P("count");
    size_t nz = (size_t)count * classes;
    float *z = uniform(IN_("logits", F32, nz, 0), r, -30, 30);
    int *y = IN_("labels", I32, count, 0)->host;
    for (int i = 0; i < count; i++) {
        y[i] = (int)rng_below(r, (uint32_t)classes);
        if (i % 7 == 3 && classes > 1)
            z[(size_t)i * classes + 1] = z[(size_t)i * classes];
    }
    /* exp/log in float: a few ulp; delta carries the 1/count scale */
    OUT_("delta", F32, nz, 0, 1e-7, 1e-5);
    OUT_("loss", F32, count, 0, 1e-6, 1e-5);
    OUT_("correct", I32, count, 0, 0, 0);
}

static void loss_args_of(const op_case *c, buf *const *b, op_args *a)
{
    a->loss = (loss_args){(output_kind)P("kind"), AT("delta"),  AT("loss"),
                          AT("correct"),          AT("logits"), AT("labels"),
                          P("count"),             P("classes"), 1.0f / P("count")};
}

/* Evaluation only: the loss without delta, at scale 1. */
static mc_status loss_eval_only(backend *be, const op_case *c, op_args *a)
{
    (void)c;
    a->loss.delta = bref_at(NULL, 0);
    a->loss.scale = 1.0f;
    return be->ops->loss(be, &a->loss);
}

static void output_step_declare(op_case *c, rng *r)
{
    int hidden = P("hidden"), classes = P("classes"), count = P("count");
    int relu = P("act") == ACT_RELU;
    size_t nh = (size_t)count * hidden;
    float *h = uniform(IN_("h", F32, nh, 0), r, relu ? -0.5f : 0.0f, 1);
    for (size_t q = 0; relu && q < nh; q++)
        h[q] = h[q] < 0 ? 0 : h[q]; /* relu outputs: some exact zeros */
    /* W exactly fills its buffer, so reads past it would show */
    uniform(IN_("W", F32, (size_t)hidden * classes, 0), r, -0.3f, 0.3f);
    uniform(IN_("b", F32, classes, 0), r, -1, 1);
    int *y = IN_("labels", I32, count, 0)->host;
    for (int q = 0; q < count; q++)
        y[q] = (int)rng_below(r, (uint32_t)classes);
    /* k = hidden float products into the logits, then exp: a few ulp */
    OUT_("delta_out", F32, (size_t)count * classes, 0, 1e-6, 1e-4);
    OUT_("loss", F32, count, 0, 1e-5, 1e-4);
    OUT_("correct", I32, count, 0, 0, 0);
    if (P("delta_hidden"))
        OUT_("delta_hidden", F32, nh, 0, 1e-7, 1e-4);
}

static void output_step_args_of(const op_case *c, buf *const *b, op_args *a)
{
    a->output_step = (output_step_args){
        (output_kind)P("kind"), AT("h"), P("hidden"), AT("W"), AT("b"), P("classes"),
        P("count"), AT("labels"), 1.0f / P("count"), AT("delta_out"), MAYBE("delta_hidden"),
        (act_kind)P("act"), AT("loss"), AT("correct")};
}

/* 150 images, 80% zero pixels as in MNIST; rows from index position 9 */
static void sparse_forward_declare(op_case *c, rng *r)
{
    int dim = P("dim"), n = P("n"), rows = P("rows"), w_off = P("w_off");
    images(c, r, SPARSE_IMAGES, dim, 8, 10, 0, 1);
    /* W (dim, n) ends its buffer: reads past its last row would be caught */
    uniform(IN_("W", F32, (size_t)w_off + (size_t)dim * n, w_off), r, -1, 1);
    uniform(IN_("b", F32, n, 0), r, -1, 1);
    /* float sums of up to dim terms against double, as the NN GEMM */
    OUT_("out", F32, (size_t)rows * n + 3, 3, 2e-7 * dim + 1e-6, 1e-5);
    expect_labels(c, OUT_("y", I32, (size_t)rows + 1, 1, 0, 0), 9);
}

static void sparse_forward_args_of(const op_case *c, buf *const *b, op_args *a)
{
    a->sparse_forward = (sparse_forward_args){
        AT("out"), P("n"), P("dim"), P("rows"), AT("W"), AT("b"), (act_kind)P("act"), LISTS,
        AT("index"), 9, AT("y"), AT("labels")};
}

/* rows from index position 5; labels below classes */
static void sfo_declare(op_case *c, rng *r)
{
    int dim = P("dim"), n = P("n"), rows = P("rows"), classes = P("classes");
    images(c, r, SPARSE_IMAGES, dim, 8, classes, 0, 1);
    /* both weight matrices end their buffers: reads past them would be caught */
    uniform(IN_("W1", F32, (size_t)dim * n, 0), r, -0.5f, 0.5f);
    uniform(IN_("b1", F32, n, 0), r, -0.5f, 0.5f);
    uniform(IN_("W2", F32, (size_t)n * classes, 0), r, -0.5f, 0.5f);
    uniform(IN_("b2", F32, classes, 0), r, -0.5f, 0.5f);
    /* the tolerances of sparse_forward and output_step */
    OUT_("h", F32, (size_t)rows * n, 0, 2e-7 * dim + 1e-6, 1e-5);
    expect_labels(c, OUT_("y", I32, rows, 0, 0, 0), 5);
    OUT_("delta_out", F32, (size_t)rows * classes, 0, 1e-6, 1e-4);
    OUT_("delta_hidden", F32, (size_t)rows * n, 0, 1e-6, 1e-4);
    OUT_("loss", F32, rows, 0, 1e-5, 1e-4);
    OUT_("correct", I32, rows, 0, 0, 0);
}

static void sfo_args_of(const op_case *c, buf *const *b, op_args *a)
{
    int n = P("n"), rows = P("rows");
    act_kind act = (act_kind)P("act");
    a->sparse_forward_output = (sparse_forward_output_args){
        {AT("h"), n, P("dim"), rows, AT("W1"), AT("b1"), act, LISTS, AT("index"), 5, AT("y"),
         AT("labels")},
        {(output_kind)P("kind"), AT("h"), n, AT("W2"), AT("b2"), P("classes"), rows, AT("y"),
         1.0f / rows, AT("delta_out"), AT("delta_hidden"), act, AT("loss"), AT("correct")}};
}

/* sparse_forward, then output_step on its result: the same float operations in order */
static mc_status sfo_two_steps(backend *be, const op_case *c, op_args *a)
{
    (void)c;
    mc_status st = be->ops->sparse_forward(be, &a->sparse_forward_output.f);
    return st ? st : be->ops->output_step(be, &a->sparse_forward_output.o);
}

/* rows from index position 9; out starts random (accumulate adds to it) */
static void sparse_grad_declare(op_case *c, rng *r)
{
    int dim = P("dim"), n = P("n"), rows = P("rows");
    images(c, r, SPARSE_IMAGES, dim, 8, 0, 0, 1);
    uniform(IN_("delta", F32, (size_t)rows * n, 0), r, -1, 1);
    /* float sums of `rows` terms against double, as the TN GEMM */
    uniform(INOUT_("out", ((size_t)dim + 1) * n + 5, 5, 2e-7 * rows + 1e-6, 1e-6), r, -1, 1);
    SCRATCH_("scratch", sparse_grad_scratch(dim, n), 0);
}

static void sparse_grad_args_of(const op_case *c, buf *const *b, op_args *a)
{
    a->sparse_grad = (sparse_grad_args){AT("out"), AT("delta"), P("n"), P("rows"), P("dim"),
                                        LISTS, AT("index"), 9, P("accumulate"), AT("scratch")};
}

/* The parameters sparse_backward_update steps: [W1; b1] and, with classes, [W2; b2]. */
static size_t sbu_count(const op_case *c)
{
    return ((size_t)P("dim") + 1) * P("n") + ((size_t)P("n") + 1) * P("classes");
}

/* rows from index position 7; params, state and grads from element 3 of their buffers */
static void sbu_declare(op_case *c, rng *r)
{
    int dim = P("dim"), n = P("n"), rows = P("rows");
    images(c, r, SPARSE_IMAGES, dim, 8, 0, 0, 1);
    uniform(IN_("delta1", F32, (size_t)rows * n, 0), r, -1, 1);
    uniform(IN_("h", F32, (size_t)rows * n, 0), r, 0, 1);
    uniform(IN_("delta2", F32, (size_t)rows * P("classes") + 1, 0), r, -1, 1);
    /* gradients: float sums of `rows` terms against double (as sparse_grad), then lr 0.1 */
    uniform(INOUT_("params", sbu_count(c) + 3, 3, 0.1 * (2e-7 * rows + 1e-6), 1e-6), r, -1, 1);
    /* Adam: m then v (from moment2 = sbu_count on), v >= 0 */
    int adam = P("adam");
    tbuf *state = INOUT_("state", sbu_count(c) * (adam ? 2 : 1) + 3, 3, 2e-7 * rows + 1e-6, 1e-6);
    uniform(state, r, -1, 1);
    for (size_t i = 3 + sbu_count(c); adam && i < 3 + 2 * sbu_count(c); i++)
        ((float *)state->host)[i] = fabsf(((float *)state->host)[i]);
    SCRATCH_("grads", sbu_count(c) + 3, 3);
    SCRATCH_("scratch", sparse_grad_scratch(dim, n), 0);
}

static void sbu_args_of(const op_case *c, buf *const *b, op_args *a)
{
    update_rule rule = {.kind = UPDATE_SGD, .lr = 0.1f, .momentum = (float)par(c, "momentum"),
                        .weight_decay = (float)par(c, "decay")};
    if (P("adam")) /* at step 3 of a run (t = 4) */
        rule = (update_rule){.kind = UPDATE_ADAMW, .lr = 1e-3f, .weight_decay = 1e-2f,
                             .beta1 = 0.9f, .beta2 = 0.999f, .eps = 1e-8f,
                             .step_size = 1e-3f / 0.3439f, .bc2_sqrt = 0.06319813f,
                             .moment2 = sbu_count(c)};
    a->sparse_backward_update = (sparse_backward_update_args){
        {AT("grads"), AT("delta1"), P("n"), P("rows"), P("dim"), LISTS, AT("index"), 7, 0,
         AT("scratch")},
        AT("h"), AT("delta2"), P("classes"),
        {AT("params"), AT("grads"), AT("state"), sbu_count(c), rule}};
}

/* sparse_grad, the TN GEMM with the ones row for [dW2; db2], then update */
static mc_status sbu_three_steps(backend *be, const op_case *c, op_args *args)
{
    const sparse_backward_update_args *a = &args->sparse_backward_update;
    size_t first = ((size_t)P("dim") + 1) * P("n");
    gemm_args top = {.trans_a = 1, .a_ones_row = 1, .m = a->g.n + 1, .n = a->classes,
                     .k = a->g.rows, .a = a->h, .lda = a->g.n, .b = a->delta2,
                     .ldb = a->classes, .c = bref_at(a->upd.grads.b, a->upd.grads.off + first),
                     .ldc = a->classes, .alpha = 1.0f, .epilogue = EPI_NONE};
    mc_status st = be->ops->sparse_grad(be, &a->g);
    if (!st && a->classes)
        st = be->ops->gemm(be, &top);
    return st ? st : be->ops->update(be, &a->upd);
}

static void probs_declare(op_case *c, rng *r)
{
    uniform(IN_("logits", F32, (size_t)P("count") * 10, 0), r, -20, 20);
    OUT_("out", F32, (size_t)P("count") * 10, 0, 1e-7, 1e-5); /* exp in float: a few ulp */
}

static void probs_args_of(const op_case *c, buf *const *b, op_args *a)
{
    a->probs = (probs_args){(output_kind)P("kind"), AT("out"), AT("logits"), P("count"), 10};
}

/* The rules the update cases run; Adam's step values as at step 3 of a run (t = 4),
   step_size = lr / (1 - 0.9^4), bc2_sqrt = sqrt(1 - 0.999^4). */
#define RULE(kind_, lr_, momentum_, decay_) \
    {.kind = kind_, .lr = lr_, .momentum = momentum_, .weight_decay = decay_}
#define ADAM_RULE(kind_, lr_, decay_, b1, b2, eps_, step_size_, bc2_sqrt_)                   \
    {.kind = kind_, .lr = lr_, .weight_decay = decay_, .beta1 = b1, .beta2 = b2, .eps = eps_, \
     .step_size = step_size_, .bc2_sqrt = bc2_sqrt_}
static const update_rule update_rules[] = {
    RULE(UPDATE_SGD, 0.1f, 0, 0),
    RULE(UPDATE_SGD, 0.01f, 0.9f, 0),
    RULE(UPDATE_SGD, 0.05f, 0.9f, 5e-4f),
    RULE(UPDATE_NESTEROV, 0.05f, 0.9f, 5e-4f),
    ADAM_RULE(UPDATE_ADAM, 1e-3f, 0, 0.9f, 0.999f, 1e-8f, 1e-3f / 0.3439f, 0.06319813f),
    ADAM_RULE(UPDATE_ADAM, 1e-3f, 1e-2f, 0.9f, 0.999f, 1e-8f, 1e-3f / 0.3439f, 0.06319813f),
    ADAM_RULE(UPDATE_ADAMW, 1e-3f, 1e-2f, 0.8f, 0.99f, 1e-6f, 1e-3f / 0.5904f, 0.19850438f),
};

static const char *update_rule_str(int v)
{
    return (const char *const[]){"sgd,lr0.1",
                                 "sgd,lr0.01,momentum0.9",
                                 "sgd,lr0.05,momentum0.9,decay5e-4",
                                 "nesterov,lr0.05,momentum0.9,decay5e-4",
                                 "adam,lr1e-3,t4",
                                 "adam,lr1e-3,decay1e-2,t4",
                                 "adamw,lr1e-3,decay1e-2,betas0.8/0.99,eps1e-6,t4"}[v];
}

/* Adam's state: first moments in [-1, 1), second moments (from element moment2 = n) in
   [0, 1): a second moment is a running mean of squares */
static void update_declare(op_case *c, rng *r)
{
    size_t n = (size_t)P("n");
    int slots = update_rule_state_slots(&update_rules[P("rule")]);
    /* a few float roundings (Adam: a division and a square root more) */
    uniform(INOUT_("params", n, 0, 1e-7, 1e-6), r, -1, 1);
    uniform(IN_("grads", F32, n, 0), r, -1, 1);
    tbuf *state = INOUT_("state", n * (slots > 1 ? 2 : 1), 0, 1e-7, 1e-6);
    uniform(state, r, -1, 1);
    float *v = (float *)state->host + n;
    for (size_t i = 0; slots > 1 && i < n; i++)
        v[i] = fabsf(v[i]);
}

static void update_args_of(const op_case *c, buf *const *b, op_args *a)
{
    update_rule rule = update_rules[P("rule")];
    rule.moment2 = (size_t)P("n");
    a->update = (update_args){AT("params"), AT("grads"), AT("state"), (size_t)P("n"), rule};
}

static void sum_declare(op_case *c, rng *r)
{
    uniform(IN_("loss", F32, P("n"), 0), r, 0, 3);
    int *correct = IN_("correct", I32, P("n"), 0)->host;
    for (int j = 0; j < P("n"); j++)
        correct[j] = (int)rng_below(r, 2);
    OUT_("loss_sum", F32, 2, 1, 0, 1e-6); /* pairwise float sum */
    OUT_("correct_sum", I32, 2, 1, 0, 0);
}

static void sum_args_of(const op_case *c, buf *const *b, op_args *a)
{
    a->sum = (sum_args){AT("loss_sum"), AT("correct_sum"), AT("loss"), AT("correct"), P("n")};
}

/* The networks sequential trains: the full ones, then the small ones. */
static const mlp_spec seq_specs[] = {
    {1, {10, 10}, ACT_SIGMOID, OUT_SOFTMAX_XENT},
    {2, {63, 1, 10}, ACT_RELU, OUT_SOFTMAX_XENT},
    {2, {784, 20, 10}, ACT_SIGMOID, OUT_SIGMOID_MSE},
    {3, {127, 63, 10, 10}, ACT_TANH, OUT_SIGMOID_MSE},
    {4, {784, 64, 32, 16, 10}, ACT_RELU, OUT_SOFTMAX_XENT},
    {1, {10, 10}, ACT_SIGMOID, OUT_SOFTMAX_XENT},
    {2, {63, 1, 10}, ACT_RELU, OUT_SOFTMAX_XENT},
    {2, {40, 20, 10}, ACT_SIGMOID, OUT_SIGMOID_MSE},
    {3, {33, 17, 10, 10}, ACT_TANH, OUT_SIGMOID_MSE},
    {4, {20, 12, 8, 5, 10}, ACT_RELU, OUT_SOFTMAX_XENT},
};

/* well-conditioned settings: a diverging run would amplify rounding, not test it; the
   rules' step values come from the schedule, per image (sequential_args) */
static const update_rule seq_rules[] = {RULE(UPDATE_SGD, 0.01f, 0, 0),
                                        RULE(UPDATE_SGD, 0.005f, 0.5f, 1e-3f),
                                        ADAM_RULE(UPDATE_ADAMW, 0, 1e-2f, 0.9f, 0.999f, 1e-8f, 0, 0),
                                        RULE(UPDATE_NESTEROV, 0, 0.5f, 1e-3f)};

/* Their schedules: constant, constant, cosine with warm-up over steps 5 .. 38 of a run of
   60 (warm-up 10), one-cycle over them in a run of 50. */
#define SCHEDULE(kind_, lr_, final_, total, warmup) \
    {.kind = kind_, .lr = lr_, .final_lr = final_, .scale = 1.0f, .total_steps = total, \
     .warmup_steps = warmup}
static const lr_schedule seq_schedules[] = {
    SCHEDULE(SCHEDULE_CONSTANT, 0.01f, 0, 0, 0), SCHEDULE(SCHEDULE_CONSTANT, 0.005f, 0, 0, 0),
    SCHEDULE(SCHEDULE_COSINE, 1e-3f, 1e-4f, 60, 10), SCHEDULE(SCHEDULE_ONECYCLE, 0.01f, 0, 50, 0)};
static const int seq_first_step[] = {0, 0, 5, 5};

static const char *seq_rule_str(int v)
{
    return (const char *const[]){"lr0.01", "lr0.005,momentum0.5,decay1e-3",
                                 "adamw,cosine,warmup,from-step5",
                                 "nesterov,onecycle,from-step5"}[v];
}

static const char *seq_spec_str(int v)
{
    static char s[96];
    mlp_format_layers(&seq_specs[v], s, sizeof s);
    size_t len = strlen(s);
    snprintf(s + len, sizeof s - len, ",%s,%s", act_name(seq_specs[v].hidden_act),
             output_name(seq_specs[v].output));
    return s;
}

enum { SEQ_IMAGES = 40, SEQ_START = 4, SEQ_COUNT = 33 };

/* 40 images, 70% zero pixels; images 4 .. 36 of the index trained on in order */
static void sequential_declare(op_case *c, rng *r)
{
    const mlp_spec *spec = &seq_specs[P("spec")];
    size_t np = mlp_param_count(spec);
    images(c, r, SEQ_IMAGES, spec->sizes[0], 7, spec->sizes[spec->n_layers], 1, P("listed"));
    /* 33 dependent float updates against double ones */
    mlp_init_params(spec, INIT_XAVIER, r, INOUT_("params", np, 0, 1e-6, 1e-5)->host);
    int adam = update_rule_state_slots(&seq_rules[P("rule")]) == 2;
    tbuf *state = INOUT_("state", np * (adam ? 2 : 1), 0, 1e-6, 1e-5);
    uniform(state, r, -0.01f, 0.01f);
    for (size_t i = np; adam && i < 2 * np; i++) /* second moments */
        ((float *)state->host)[i] = fabsf(((float *)state->host)[i]);
    SCRATCH_("scratch", seq_scratch_floats(spec), 0);
    tbuf *loss = OUT_("loss", F32, SEQ_IMAGES, 0, 1e-6, 1e-5);
    tbuf *correct = OUT_("correct", I32, SEQ_IMAGES, 0, 0, 0);
    loss->lo = correct->lo = SEQ_START;
    loss->hi = correct->hi = SEQ_START + SEQ_COUNT;
}

/* the reference ignores the pixel lists (caps.sequential_pixel_lists 0) */
static void sequential_args_of(const op_case *c, buf *const *b, op_args *a)
{
    update_rule rule = seq_rules[P("rule")];
    rule.moment2 = mlp_param_count(&seq_specs[P("spec")]);
    a->sequential = (sequential_args){
        &seq_specs[P("spec")], AT("params"), AT("state"), AT("scratch"), AT("images"),
        AT("labels"), AT("index"), SEQ_START, SEQ_COUNT, AT("loss"), AT("correct"),
        rule, seq_schedules[P("rule")], seq_first_step[P("rule")], LISTS};
}

/* dropout's counter and key, varied with the case (both backends get the same) */
static void dropout_args_of(const op_case *c, buf *const *b, op_args *a)
{
    int rows = P("rows"), cols = P("cols"), in_place = P("in_place"), ld_x = cols + P("pad");
    dropout_args d = {.x = AT("x"), .ld_x = ld_x, .y = in_place ? AT("x") : AT("y"),
                      .ld_y = in_place ? ld_x : cols, .rows = rows, .cols = cols,
                      .row0 = 17 * rows, .step = 0x9e3779b9u * (uint32_t)cols + 5,
                      .stream = (uint32_t)(rows * 3 + cols), .seed = 0xfedcba9876543210ull ^
                                                                     (uint64_t)rows << 40 ^
                                                                     (uint64_t)cols};
    dropout_set_rate(&d, par(c, "p"));
    a->dropout = d;
}

/*
 * x (rows, cols + pad) from element 3, random; y dense from element 2, or x itself. The
 * expected output comes from philox4x32_10 here (the C side of philox.h, tested against
 * Random123's answers in test_philox): the device's mask is checked against it exactly,
 * and on the larger cases the fraction dropped against p (within 5 sigma).
 */
static void dropout_declare(op_case *c, rng *r)
{
    int rows = P("rows"), cols = P("cols"), in_place = P("in_place"), ld_x = cols + P("pad");
    double p = par(c, "p");
    size_t nx = 3 + ((size_t)rows - 1) * ld_x + cols, ny = 2 + (size_t)rows * cols;
    /* one float multiply, or 0: both backends exactly */
    tbuf *x = in_place ? INOUT_("x", nx, 3, 0, 0) : IN_("x", F32, nx, 3);
    float *xs = uniform(x, r, -2, 2);
    tbuf *y = in_place ? x : OUT_("y", F32, ny, 2, 0, 0);
    op_args a;
    dropout_args_of(c, (buf *const[MAX_BUFS]){0}, &a); /* the counter, key and rate alone */
    const dropout_args *d = &a.dropout;
    float *want = calloc(y->n, sizeof(float));
    if (in_place)
        memcpy(want, xs, nx * sizeof(float));
    long dropped = 0;
    for (int i = 0; i < rows; i++)
        for (int j = 0; j < cols; j++) {
            philox4x32 w = philox4x32_10(philox_ctr((mc_u32)(d->row0 + i), (mc_u32)(j / 4),
                                                    d->step, d->stream),
                                         (mc_u32)d->seed, (mc_u32)(d->seed >> 32));
            int keep = w.v[j % 4] >= d->threshold;
            float v = keep ? xs[3 + (size_t)i * ld_x + j] * d->scale : 0.0f;
            want[in_place ? 3 + (size_t)i * ld_x + j : 2 + (size_t)i * cols + j] = v;
            dropped += !keep;
        }
    y->expect = (int *)(void *)want; /* compared as floats (the buffer's type), exactly */
    double n = (double)rows * cols, frac = dropped / n, sd = sqrt(p * (1 - p) / n);
    if (n >= 10000 && fabs(frac - p) > 5 * sd + 1e-12)
        test_fail("dropout [%s]: %.5f of %.0f elements dropped, want p = %g +- %.5f", c->desc,
                  frac, n, p, 5 * sd);
    if (p == 0 && (d->threshold != 0 || d->scale != 1.0f))
        test_fail("dropout_set_rate(0): threshold %u, scale %g; want 0, 1", d->threshold,
                  d->scale);
}

/* The image sizes augment runs on (width x height): odd ones, a row, a column, and 45 x 45,
   whose image and elastic field take 43 KiB of local memory on OpenCL (48 KiB GPUs fit it). */
static const int aug_sizes[][2] = {{28, 28}, {10, 7}, {1, 1}, {63, 1}, {1, 63}, {45, 45}};
static const char *aug_size_str(int v)
{
    static char s[16];
    snprintf(s, sizeof s, "%dx%d", aug_sizes[v][0], aug_sizes[v][1]);
    return s;
}

/* The settings of augment's cases: shift, rotate_deg, scale, alpha, sigma. */
static const float aug_parts[][5] = {
    {0, 0, 0, 0, 0},        /* all off: gather's image / 255, exactly */
    {2, 10, 0.1f, 0, 0},    /* the affine part */
    {0, 0, 0, 34, 4},       /* the elastic part (Simard's settings) */
    {2, 10, 0.1f, 34, 4},   /* both (augment_args_defaults) */
    {5, 180, 0.9f, 8, 0.7f} /* the largest angle and scale, a narrow Gaussian */
};
static const char *aug_parts_str(int v)
{
    return (const char *const[]){"none", "affine", "elastic", "simard", "extreme"}[v];
}

enum { AUG_IMAGES = 150 };

static void augment_args_of(const op_case *c, buf *const *b, op_args *a)
{
    const int *sz = aug_sizes[P("size")];
    const float *s = aug_parts[P("parts")];
    a->augment = (augment_args){.x = AT("x"), .images = AT("images"), .index = AT("index"),
                                .start = AUG_IMAGES - P("count") - 3, .count = P("count"),
                                .width = sz[0], .height = sz[1], .shift = s[0],
                                .rotate_deg = s[1], .scale = s[2], .alpha = s[3],
                                .sigma = s[4], .seed = 0x0123456789abcdefull + (uint64_t)P("size"),
                                .epoch = (uint32_t)(3 + P("count")), .gauss = MAYBE("gauss")};
}

/*
 * 150 random images (70% zero pixels), rows from index position 150 - count - 3; the
 * Gaussian's weights (from element 1) when the elastic part is on. Both backends do the
 * same float operations in the same order (exact reductions, exact_cospi / exact_sinpi,
 * FP_CONTRACT off), so x is compared exactly; with every part off it must also be
 * gather's image / 255 exactly.
 */
static void augment_declare(op_case *c, rng *r)
{
    const int *sz = aug_sizes[P("size")];
    const float *s = aug_parts[P("parts")];
    int n = sz[0] * sz[1], count = P("count"), start = AUG_IMAGES - count - 3;
    images(c, r, AUG_IMAGES, n, 7, 0, 1, 0);
    if (s[3] > 0) {
        tbuf *g = IN_("gauss", F32, (size_t)augment_gauss_taps(s[4]) + 1, 1);
        augment_gauss_weights(s[4], (float *)g->host + 1);
    }
    tbuf *x = OUT_("x", F32, (size_t)count * n + 4, 4, 0, 0);
    if (P("parts") == 0) {
        const unsigned char *img = c->b[find(c, "images", 0)].host;
        const int *index = c->b[find(c, "index", 0)].host;
        float *want = calloc(x->n, sizeof(float));
        for (int p = 0; p < count; p++)
            for (int q = 0; q < n; q++)
                want[4 + (size_t)p * n + q] =
                    (float)img[(size_t)index[start + p] * n + q] * (1.0f / 255.0f);
        x->expect = (int *)(void *)want; /* compared as floats, exactly */
    }
}

enum { WINDOW_IDS = 1000 }; /* the image ids of window_images' cases: 0 .. 999 */

/* The parts window_images copies from, of the 1000 ids: [300, 700), none of them (from
   1000), all, and the single id of window row count / 2 (part_window's "one"). */
static const char *window_part_str(int v)
{
    return (const char *const[]){"some", "none", "all", "one"}[v];
}

/* The part of case c: its first id and its images. */
static void window_part(const op_case *c, int *first, int *n)
{
    static const int parts[][2] = {{300, 400}, {1000, 50}, {0, WINDOW_IDS}};
    if (P("part") == 3) {
        const tbuf *ids = &c->b[find(c, "ids", 0)];
        *first = ((const int *)ids->host)[ids->off + P("count") / 2], *n = 1;
        return;
    }
    *first = parts[P("part")][0], *n = parts[P("part")][1];
}

/*
 * The window's rows: ids, a shuffled prefix of 0 .. 999 (with INT_MIN, INT_MAX and -1 in
 * rows 1, 2 and every 9th, which no part holds), from element in_off % 5; the part's
 * images and labels random from element in_off and in_off / 2; the window's images and
 * labels (two rows more than slot0 + count, from element out_off and out_off + 1) start
 * random, and only the rows whose ids the part holds may change, exactly to the part's.
 */
static void window_declare(op_case *c, rng *r)
{
    int count = P("count"), dim = P("dim"), slot0 = P("slot0"), out_off = P("out_off"),
        in_off = P("in_off"), first, n;
    int perm[WINDOW_IDS];
    for (int q = 0; q < WINDOW_IDS; q++)
        perm[q] = q;
    rng_shuffle(r, perm, WINDOW_IDS);
    tbuf *ids = IN_("ids", I32, (size_t)(in_off % 5) + count, (size_t)(in_off % 5));
    int *id = (int *)ids->host + ids->off;
    for (int q = 0; q < count; q++)
        id[q] = q == 1 ? INT_MIN : q == 2 ? INT_MAX : q % 9 == 8 ? -1 : perm[q];
    window_part(c, &first, &n);
    size_t in_n = (size_t)n * dim, slots = (size_t)slot0 + count + 2;
    unsigned char *img = IN_("images", U8, in_off + in_n, in_off)->host;
    unsigned char *lab = IN_("labels", U8, in_off / 2 + n, in_off / 2)->host;
    for (size_t q = 0; q < in_off + in_n; q++)
        img[q] = (unsigned char)rng_next(r);
    for (size_t q = 0; q < (size_t)(in_off / 2 + n); q++)
        lab[q] = (unsigned char)rng_next(r);
    tbuf *out = decl(c, "images_out", U8, INOUT, out_off + slots * dim, out_off, 0, 0);
    tbuf *lout = decl(c, "labels_out", U8, INOUT, out_off + 1 + slots, out_off + 1, 0, 0);
    unsigned char *o = out->host, *lo = lout->host;
    for (size_t q = 0; q < out->n; q++)
        o[q] = (unsigned char)rng_next(r);
    for (size_t q = 0; q < lout->n; q++)
        lo[q] = (unsigned char)rng_next(r);
    unsigned char *want = malloc(out->n), *lwant = malloc(lout->n);
    memcpy(want, o, out->n);
    memcpy(lwant, lo, lout->n);
    for (int q = 0; q < count; q++) {
        if (id[q] < first || id[q] - first >= n)
            continue;
        size_t i = (size_t)(id[q] - first), slot = (size_t)slot0 + q;
        memcpy(want + out->off + slot * dim, img + in_off + i * dim, (size_t)dim);
        lwant[lout->off + slot] = lab[in_off / 2 + i];
    }
    out->expect = (int *)(void *)want, lout->expect = (int *)(void *)lwant; /* as bytes */
}

static void window_args_of(const op_case *c, buf *const *b, op_args *a)
{
    int first, n;
    window_part(c, &first, &n);
    a->window_images = (window_images_args){AT("images_out"), AT("labels_out"), AT("images"),
                                            AT("labels"), AT("ids"), P("count"), P("slot0"),
                                            P("dim"), first, n};
}

/* The axes of the pixel-list ops; small leaves n 127 out */
#define SPARSE_DIM AXIS("dim", (1, 63, 784), (1, 63, DROP), NULL)
#define SPARSE_N AXIS("n", (1, 10, 127, 128, 300), (1, 10, DROP, 128, 300), NULL)
#define SPARSE_ROWS AXIS("rows", (1, 63, 128), (1, 63, DROP), NULL)

/* Every op's case table, in the order they run: AXIS(name, (full values), (small values),
   show), OPTION(name, the axes it rotates with, (values), show) */
static const op_table tables[] = {
    {.op = OP_GATHER,
     .p = {AXIS("dim", (1, 10, 63, 784), (1, 10, 33, DROP), NULL),
           AXIS("count", (1, 63, 127, 128, 200), (1, 63, DROP, DROP, DROP), NULL)},
     .declare = gather_declare, .args = gather_args_of},
    {.op = OP_LOSS,
     .p = {AXIS("kind", (0, 1), (0, 1), output_str),
           AXIS("classes", (10, 1, 63), (10, 1, 63), NULL),
           AXIS("count", (1, 63, 127, 128, 784), (1, 63, DROP, DROP, DROP), NULL)},
     .declare = loss_declare, .args = loss_args_of,
     .way = {{"eval only", loss_eval_only, 0, "delta"}}},
    {.op = OP_OUTPUT_STEP,
     .p = {AXIS("hidden", (1, 63, 127, 784), (1, 63, DROP, DROP), NULL),
           AXIS("classes", (1, 10, 16), (1, 10, 16), NULL),
           AXIS("count", (1, 63, 128), (1, 63, DROP), NULL),
           OPTION("kind", A0 | A1 | A2, (0, 1), output_str),
           OPTION("act", A0 | A2, (ACT_RELU, ACT_SIGMOID, ACT_TANH), act_str),
           OPTION("delta_hidden", A0 | A1, (0, 1, 1), NULL)},
     .declare = output_step_declare, .args = output_step_args_of},
    {.op = OP_SPARSE_FORWARD,
     .p = {SPARSE_DIM, SPARSE_N, SPARSE_ROWS,
           OPTION("act", A0 | A1 | A2, (ACT_SIGMOID, ACT_RELU, ACT_TANH, ACT_IDENTITY), act_str),
           OPTION("w_off", A1, (0, 7), NULL)},
     .declare = sparse_forward_declare, .args = sparse_forward_args_of},
    {.op = OP_SPARSE_FORWARD_OUTPUT,
     .p = {SPARSE_DIM, AXIS("n", (1, 10, 63, 127, 128), (1, 10, 63, 127, 128), NULL),
           SPARSE_ROWS,
           OPTION("classes", A0 | A1 | A2, (1, 10, 16), NULL),
           OPTION("act", A0 | A1, (ACT_RELU, ACT_SIGMOID, ACT_TANH), act_str),
           OPTION("kind", A1 | A2, (0, 1), output_str)},
     .declare = sfo_declare, .args = sfo_args_of,
     .way = {{"sparse_forward + output_step", sfo_two_steps, 1, NULL}}},
    {.op = OP_SPARSE_GRAD,
     .p = {SPARSE_DIM, SPARSE_N, SPARSE_ROWS, OPTION("accumulate", A0 | A1 | A2, (0, 1), NULL)},
     .declare = sparse_grad_declare, .args = sparse_grad_args_of},
    {.op = OP_SPARSE_BACKWARD_UPDATE,
     .p = {SPARSE_DIM, SPARSE_N, SPARSE_ROWS,
           OPTION("classes", A0 | A1 | A2, (0, 1, 10, 16), NULL),
           OPTION("momentum", A1 | A2, (0, 0.9), NULL), OPTION("decay", A0 | A2, (0, 1e-4), NULL),
           OPTION("adam", A0 | A1, (0, 1), NULL)},
     .declare = sbu_declare, .args = sbu_args_of,
     .way = {{"sparse_grad + gemm + update", sbu_three_steps, 1, NULL}}},
    {.op = OP_PROBS,
     .p = {AXIS("kind", (0, 1), (0, 1), output_str),
           AXIS("count", (1, 63, 127, 128, 784), (1, 63, DROP, DROP, DROP), NULL)},
     .declare = probs_declare, .args = probs_args_of},
    {.op = OP_UPDATE,
     .p = {AXIS("n", (1, 63, 127, 101770), (1, 63, 127, 1000), NULL),
           AXIS("rule", (0, 1, 2, 3, 4, 5, 6), (0, 1, 2, 3, 4, 5, 6), update_rule_str)},
     .declare = update_declare, .args = update_args_of,
     .runs = 2}, /* so the state written by the first step is read by the second */
    {.op = OP_SUM,
     .p = {AXIS("n", (1, 63, 127, 255, 256, 257, 10000, 60000),
                (1, 63, 127, 255, 256, 257, 600, 1000), NULL)},
     .declare = sum_declare, .args = sum_args_of},
    {.op = OP_SEQUENTIAL,
     .p = {AXIS("spec", (0, 1, 2, 3, 4), (5, 6, 7, 8, 9), seq_spec_str),
           AXIS("listed", (0, 1), (0, 1), NULL),
           AXIS("rule", (0, 1, 2, 3), (0, 1, 2, 3), seq_rule_str)},
     .declare = sequential_declare, .args = sequential_args_of},
    {.op = OP_DROPOUT,
     .p = {AXIS("rows", (1, 63, 127), (1, 63, DROP), NULL),
           AXIS("cols", (784, 10, 63, 1), (DROP, 10, 63, 1), NULL),
           AXIS("p", (0, 0.5, 0.9), (0, 0.5, 0.9), NULL),
           OPTION("in_place", A0 | A1 | A2, (0, 1), NULL), OPTION("pad", A1 | A2, (0, 3), NULL)},
     .declare = dropout_declare, .args = dropout_args_of},
    {.op = OP_AUGMENT,
     .p = {AXIS("size", (0, 1, 2, 3, 4, 5), (0, 1, 2, 3, 4, DROP), aug_size_str),
           AXIS("count", (1, 63, 127), (1, 5, DROP), NULL),
           AXIS("parts", (0, 1, 2, 3, 4), (0, 1, 2, 3, 4), aug_parts_str)},
     .declare = augment_declare, .args = augment_args_of},
    {.op = OP_WINDOW_IMAGES,
     .p = {AXIS("count", (1, 63, 127, 784, 10), (1, 63, DROP, DROP, 10), NULL),
           AXIS("dim", (784, 5), (784, 5), NULL),
           AXIS("part", (0, 1, 2, 3), (0, 1, 2, 3), window_part_str),
           OPTION("slot0", A0 | A2, (0, 5, 64), NULL),
           OPTION("out_off", A1 | A2, (0, 16, 3), NULL),
           OPTION("in_off", A0 | A1, (0, 4, 32, 7), NULL)},
     .declare = window_declare, .args = window_args_of},
};

/* ---- the runner ---------------------------------------------------------------------- */

/*
 * What buffer t holds before run number `run` of its case: its host contents, or for an
 * output without them the run's own value in every element (in *made, malloc'd, else
 * NULL), so that an element a run leaves unwritten differs from the other runs'.
 */
static const void *initial(const tbuf *t, int run, void **made)
{
    *made = NULL;
    if (t->host)
        return t->host;
    *made = malloc(t->n * elem_size(t->type));
    for (size_t i = 0; i < t->n; i++)
        if (t->type == F32)
            ((float *)*made)[i] = -1000.0f - (float)run;
        else if (t->type == U8)
            ((unsigned char *)*made)[i] = (unsigned char)(0xc0 + run);
        else
            ((int *)*made)[i] = -1000 - run;
    return *made;
}

/*
 * Runs case c once on be, as the op (w NULL) or way w: allocates each declared buffer and
 * fills it as initial() says (scratch left as allocated; OUT buffers too, unless
 * `fill_all` or they have elements outside their compared range), fills the op's args,
 * runs, reads every OUT and INOUT buffer back into res[i] (malloc'd; NULL for the others)
 * and releases the buffers. Returns 1, or 0 (a failure recorded, res all NULL) when the
 * backend reports an error.
 */
static int run_once(const op_case *c, backend *be, const char *label, const op_way *w,
                    int run, int fill_all, void **res)
{
    buf *b[MAX_BUFS] = {0};
    for (int i = 0; i < c->n_bufs; i++) {
        const tbuf *t = &c->b[i];
        size_t bytes = t->n * elem_size(t->type);
        void *made = NULL;
        int fill = t->role == IN || t->role == INOUT ||
                   (t->role == OUT && (fill_all || t->lo > 0 || t->hi < t->n));
        const void *init = fill ? initial(t, run, &made) : NULL;
        if (be->ops->alloc(be, bytes, &b[i]) || (init && be->ops->write(be, b[i], 0, init, bytes)))
            fprintf(stderr, "FAIL: cannot allocate/upload %zu bytes\n", bytes), exit(1);
        free(made);
    }
    op_args a;
    memset(&a, 0, sizeof a);
    c->t->args(c, b, &a);
    mc_status st = MC_OK;
    for (int k = 0; k < (c->t->runs ? c->t->runs : 1) && !st; k++)
        st = w ? w->run(be, c, &a) : backend_run(be, c->t->op, &a);
    if (st)
        test_fail("%s [%s] %s: the backend reported error %d", op_name(c->t->op), c->desc, label,
                  (int)st);
    for (int i = 0; i < c->n_bufs; i++) {
        size_t bytes = c->b[i].n * elem_size(c->b[i].type);
        res[i] = NULL;
        if (!st && (c->b[i].role == OUT || c->b[i].role == INOUT)) {
            res[i] = malloc(bytes);
            if (be->ops->read(be, b[i], 0, res[i], bytes))
                fprintf(stderr, "FAIL: cannot read a buffer back\n"), exit(1);
        }
        be->ops->release(be, b[i]);
    }
    return st == MC_OK;
}

/* Exact equality of the bytes [lo, hi) of got and want; prints the first mismatch. */
static void check_equal_u8_at(const char *what, const unsigned char *got,
                              const unsigned char *want, size_t lo, size_t hi)
{
    for (size_t i = lo; i < hi; i++)
        if (got[i] != want[i]) {
            test_fail("%s: byte [%zu] got %u want %u", what, i, got[i], want[i]);
            return;
        }
}

/* Compares output t's elements [lo, hi), got against want, in t's tolerance or (exact, or
   ints) exactly; `label` and `check` name the comparison in a failure. */
static void compare(const op_case *c, const tbuf *t, const char *label, const char *check,
                    const void *got, const void *want, size_t lo, size_t hi, int exact)
{
    char what[640];
    if (lo >= hi)
        return;
    comparisons++;
    snprintf(what, sizeof what, "%s [%s] %s: %s%s%s", op_name(c->t->op), c->desc, label,
             t->name, check, exact || t->type != F32 ? " (exact)" : "");
    if (t->type == F32)
        check_close_at(what, got, want, lo, hi, exact ? 0 : t->atol, exact ? 0 : t->rtol);
    else if (t->type == U8)
        check_equal_u8_at(what, got, want, lo, hi);
    else
        check_equal_int_at(what, got, want, lo, hi);
}

/*
 * Checks the outputs `got` of run number `run`, named `name` ("opencl, eval only"): on
 * their own, exactly: outside their compared ranges (everywhere, for the output way w
 * skips) as before the run, inside them as expected where an output has expectations;
 * with want given (the run named want_name), against it on the compared ranges, exactly
 * or in each output's tolerance.
 */
static void check_outputs(const op_case *c, const char *name, const op_way *w, int run,
                          void *const *got, void *const *want, const char *want_name, int exact)
{
    char vs[200];
    snprintf(vs, sizeof vs, "%s vs %s", name, want_name);
    for (int i = 0; i < c->n_bufs; i++) {
        const tbuf *t = &c->b[i];
        if (!got[i])
            continue;
        int skipped = w && w->skip && !strcmp(w->skip, t->name);
        size_t lo = skipped ? t->n : t->lo, hi = skipped ? t->n : t->hi;
        if (lo > 0 || hi < t->n) {
            void *made;
            const void *init = initial(t, run, &made);
            compare(c, t, name, " outside its outputs untouched", got[i], init, 0, lo, 1);
            compare(c, t, name, " outside its outputs untouched", got[i], init, hi, t->n, 1);
            free(made);
        }
        if (t->expect)
            compare(c, t, name, " as expected", got[i], t->expect, lo, hi, 1);
        if (want && want[i])
            compare(c, t, vs, "", got[i], want[i], lo, hi, exact);
    }
}

/*
 * Runs case c: the op on every backend, each checked against the reference's (bes[0]) in
 * tolerance; then each of the table's ways on every backend but the reference (where they
 * are its definition of the op), checked against the same backend's op (exact ways) or
 * the reference's (others). Outputs start filled (see initial()) on the reference, where
 * it costs a copy, in the ways' runs, where a buffer freed by the op's run and reused
 * could hold its results, and where elements outside the compared range are checked.
 */
static void run_case(const op_case *c, backend *const *bes)
{
    void *op_res[N_BACKENDS][MAX_BUFS] = {{0}}, *way_res[MAX_BUFS] = {0};
    int ok[N_BACKENDS], run = 0;
    char name[96], want_name[96];
    for (int k = 0; k < N_BACKENDS; k++, run++) {
        ok[k] = run_once(c, bes[k], backend_names[k], NULL, run, k == 0, op_res[k]);
        if (ok[k])
            check_outputs(c, backend_names[k], NULL, run, op_res[k],
                          k && ok[0] ? op_res[0] : NULL, backend_names[0], 0);
    }
    for (int wi = 0; wi < MAX_WAYS && c->t->way[wi].name; wi++) {
        const op_way *w = &c->t->way[wi];
        for (int k = 1; k < N_BACKENDS; k++, run++) {
            int against = w->exact ? k : 0;
            snprintf(name, sizeof name, "%s, %s", backend_names[k], w->name);
            snprintf(want_name, sizeof want_name, "%s %s", backend_names[against],
                     op_name(c->t->op));
            if (!run_once(c, bes[k], name, w, run, 1, way_res))
                continue;
            check_outputs(c, name, w, run, way_res, ok[against] ? op_res[against] : NULL,
                          want_name, w->exact);
            for (int i = 0; i < c->n_bufs; i++)
                free(way_res[i]);
        }
    }
    for (int k = 0; k < N_BACKENDS; k++)
        for (int i = 0; i < c->n_bufs; i++)
            free(op_res[k][i]);
}

/*
 * Runs every case of table t: the cross product of its axes, the last varying fastest
 * (under MNISTCL_TEST_SMALL their small values, DROP ones left out), each option the
 * value its axes' indices select; prints the op's summary line.
 */
static void run_table(const op_table *t, backend *const *bes, rng *r)
{
    int np = 0, idx[MAX_PARAMS] = {0}, small = test_small(), cases = 0;
    int failures = test_failures, compared = comparisons;
    while (np < MAX_PARAMS && t->p[np].name)
        np++;
    for (int i = 0; i < np; i++)
        if (!t->p[i].by && t->p[i].n != t->p[i].n_small)
            fprintf(stderr, "test_ops: %s: axis %s needs as many small values as full ones\n",
                    op_name(t->op), t->p[i].name), exit(2);
    for (int i = 0; i >= 0;) {
        op_case c = {.t = t};
        int dropped = 0;
        size_t len = 0;
        for (int j = 0; j < np; j++) {
            const param *p = &t->p[j];
            int sum = 0, used;
            for (int k = 0; k < np; k++)
                sum += p->by >> k & 1 ? idx[k] : 0;
            c.v[j] = p->by ? p->full[sum % p->n] : small ? p->small[idx[j]] : p->full[idx[j]];
            dropped |= !p->by && c.v[j] == DROP;
            used = p->show ? snprintf(c.desc + len, sizeof c.desc - len, "%s%s=%s", j ? " " : "",
                                      p->name, p->show((int)c.v[j]))
                           : snprintf(c.desc + len, sizeof c.desc - len, "%s%s=%g", j ? " " : "",
                                      p->name, c.v[j]);
            len += used > 0 && (size_t)used < sizeof c.desc - len ? (size_t)used : 0;
        }
        if (!dropped) {
            t->declare(&c, r);
            run_case(&c, bes);
            for (int j = 0; j < c.n_bufs; j++)
                free(c.b[j].host), free(c.b[j].expect);
            cases++;
        }
        for (i = np - 1; i >= 0; i--) /* the next combination of the axes' indices */
            if (!t->p[i].by && ++idx[i] < t->p[i].n)
                break;
            else if (!t->p[i].by)
                idx[i] = 0;
    }
    printf("%-23s %3d cases, %4d comparisons, %s\n", op_name(t->op), cases,
           comparisons - compared, test_failures == failures ? "passed" : "FAILED");
}

/* Whether table t runs: every table, or those $MNISTCL_TEST_OPS names (op names separated
   by commas, e.g. "gather,window_images"). */
static int table_wanted(const op_table *t)
{
    const char *list = getenv("MNISTCL_TEST_OPS"), *name = op_name(t->op);
    if (!list || !*list)
        return 1;
    for (const char *p = list; *p;) {
        size_t n = strcspn(p, ",");
        if (n == strlen(name) && strncmp(p, name, n) == 0)
            return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

int main(void)
{
    backend *bes[N_BACKENDS] = {backend_cpu_create(), test_open_opencl()};
    rng r;
    rng_seed(&r, 7);
    for (size_t i = 0; i < sizeof tables / sizeof tables[0]; i++)
        if (table_wanted(&tables[i]))
            run_table(&tables[i], bes, &r);
    for (int k = N_BACKENDS - 1; k >= 0; k--)
        backend_destroy(bes[k]);
    return test_exit_code();
}
