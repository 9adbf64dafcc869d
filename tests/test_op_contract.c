/*
 * The operations' contracts (host/backend/op_contract.h): for every operation of the
 * table, on the CPU reference and, when there is a device, on OpenCL:
 *   - on the CPU reference, a call with valid arguments passes its contract (MC_OK), so
 *     the checks are not stricter than the operations (on OpenCL test_ops runs every
 *     kernel with valid arguments; here no kernel is launched there, which keeps this test
 *     fast and free of the driver's compiler, also in the sanitizer build);
 *   - the same call with one precondition broken returns MC_ERR_RUNTIME (never
 *     MC_ERR_USAGE) and prints "mnistcl: internal error: <op>: <condition>" to stderr;
 *   - OpenCL's own extra limits (buffers a kernel indexes from element 0) answer alike;
 *   - kernel_of names the kernel an operation runs (GEMM: the variant's choice).
 * Without an OpenCL device the OpenCL part fails under CI=true and is skipped elsewhere;
 * the CPU part always runs. MNISTCL_TEST_VERBOSE=1 prints every message checked.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "backend/backend_ops.h"
#include "backend/opencl/backend_cl.h"
#include "test_util.h"

/* ---- stderr capture ------------------------------------------------------------------- */

static FILE *capture_file;
static int saved_stderr = -1;

/* Sends stderr to a temporary file until capture_end. */
static void capture_begin(void)
{
    fflush(stderr);
    capture_file = tmpfile();
    saved_stderr = dup(2);
    if (!capture_file || saved_stderr < 0 || dup2(fileno(capture_file), 2) < 0) {
        fprintf(stderr, "FAIL: cannot capture stderr\n");
        exit(1);
    }
}

/* Restores stderr and copies what was written to it since capture_begin into out. */
static void capture_end(char *out, size_t len)
{
    fflush(stderr);
    dup2(saved_stderr, 2);
    close(saved_stderr);
    rewind(capture_file);
    size_t n = fread(out, 1, len - 1, capture_file);
    out[n] = 0;
    fclose(capture_file);
}

/* Checks a call that must pass its contract: MC_OK, nothing printed. */
static void expect_ok(const char *be_name, const char *what, mc_status st, const char *msg)
{
    if (st != MC_OK || strstr(msg, "internal error"))
        test_fail("%s: %s with valid arguments: status %d, stderr \"%s\"", be_name, what,
                  (int)st, msg);
}

/*
 * Checks a call whose contract is broken: MC_ERR_RUNTIME and the message
 * "mnistcl: internal error: OP: " followed by a condition containing `cond`.
 */
static void expect_broken(const char *be_name, const char *what, mc_status st, const char *msg,
                          const char *op, const char *cond)
{
    char head[128];
    snprintf(head, sizeof head, "mnistcl: internal error: %s: ", op);
    const char *at = strstr(msg, head);
    if (st != MC_ERR_RUNTIME)
        test_fail("%s: %s: status %d, want MC_ERR_RUNTIME (%d)", be_name, what, (int)st,
                  (int)MC_ERR_RUNTIME);
    if (!at || !strstr(at + strlen(head), cond))
        test_fail("%s: %s: stderr \"%s\" lacks \"%s...%s\"", be_name, what, msg, head, cond);
    else if (getenv("MNISTCL_TEST_VERBOSE"))
        printf("%s: %s\n  %s", be_name, what, msg);
}

/* Runs `call` (an expression of type mc_status) with stderr captured into msg. */
#define CAPTURED(st, msg, call)                                                               \
    do {                                                                                      \
        capture_begin();                                                                      \
        (st) = (call);                                                                        \
        capture_end((msg), sizeof(msg));                                                      \
    } while (0)

/* Runs the valid call (CPU reference only: see above), then the broken one (`breaks` edits
   the copy `bad` of `good`). */
#define CHECK_OP(be, op_field, op_text, args_type, good, breaks, cond)                        \
    do {                                                                                      \
        char msg_[1024];                                                                      \
        mc_status st_;                                                                        \
        if (!(be)->is_opencl) {                                                               \
            CAPTURED(st_, msg_, (be)->ops->op_field((be), &(good)));                          \
            expect_ok(be_name, op_text, st_, msg_);                                           \
        }                                                                                     \
        args_type bad = (good);                                                               \
        breaks;                                                                               \
        CAPTURED(st_, msg_, (be)->ops->op_field((be), &bad));                                 \
        expect_broken(be_name, op_text ": " #breaks, st_, msg_, op_text, cond);               \
    } while (0)

/* ---- the buffers every case uses -------------------------------------------------------- */

enum { DIM = 20, HID = 8, CLS = 4, ROWS = 3, IMAGES = 5 };

typedef struct {
    buf *f;       /* floats, 4096: operands at various offsets */
    buf *i;       /* int32, 1024, zeros: labels, hits */
    buf *images;  /* uint8 (IMAGES, DIM) */
    buf *labels;  /* uint8 (IMAGES), zeros */
    buf *index;   /* int32 0 .. IMAGES - 1 */
    buf *y;       /* int32 (ROWS + 5) */
    buf *pixels;  /* the pixel lists: 16 words, every image empty */
    buf *offsets; /* int32 IMAGES * PIXEL_BANDS + 1, zeros */
    buf *params, *state, *grads; /* floats, 1024 each */
    buf *scratch; /* floats, sparse_grad_scratch(DIM, HID) (also the batch-1 scratch) */
    buf *loss;    /* floats, 64 */
    buf *correct; /* int32, 64 */
} fixture;

/* Uploads the fixture's buffers to be. */
static fixture fixture_make(backend *be)
{
    static float f[4096], zf[1024];
    static int zi[1024], idx[IMAGES] = {0, 1, 2, 3, 4};
    static unsigned char img[IMAGES * DIM], lab[IMAGES];
    for (int q = 0; q < 4096; q++)
        f[q] = 0.001f * (float)(q % 97) - 0.03f;
    for (int q = 0; q < IMAGES * DIM; q++)
        img[q] = (unsigned char)(q * 37);
    size_t scratch = sparse_grad_scratch(DIM, HID);
    float *zs = calloc(scratch, sizeof *zs);
    if (!zs)
        exit(1);
    fixture x = {
        .f = upload_f32(be, f, 4096),
        .i = upload_i32(be, zi, 1024),
        .images = upload_u8(be, img, sizeof img),
        .labels = upload_u8(be, lab, sizeof lab),
        .index = upload_i32(be, idx, IMAGES),
        .y = upload_i32(be, zi, ROWS + 5),
        .pixels = upload_i32(be, zi, 16),
        .offsets = upload_i32(be, zi, IMAGES * PIXEL_BANDS + 1),
        .params = upload_f32(be, f, 1024),
        .state = upload_f32(be, zf, 1024),
        .grads = upload_f32(be, f + 1024, 1024),
        .scratch = upload_f32(be, zs, scratch),
        .loss = upload_f32(be, zf, 64),
        .correct = upload_i32(be, zi, 64),
    };
    free(zs);
    return x;
}

/* Releases the fixture's buffers. */
static void fixture_free(backend *be, fixture *x)
{
    buf *all[] = {x->f,      x->i,     x->images, x->labels, x->index,   x->y,    x->pixels,
                  x->offsets, x->params, x->state, x->grads,  x->scratch, x->loss, x->correct};
    for (size_t q = 0; q < sizeof all / sizeof all[0]; q++)
        be->ops->release(be, all[q]);
}

/* The first layer's forward pass from the pixel lists, valid for the fixture. */
static sparse_forward_args sparse_forward_ok(fixture *x)
{
    sparse_forward_args a = {.out = bref_at(x->f, 0), .n = HID, .dim = DIM, .rows = ROWS,
                             .W = bref_at(x->f, 100), .bias = bref_at(x->f, 300),
                             .act = ACT_RELU,
                             .images = {bref_at(x->pixels, 0), bref_at(x->offsets, 0)},
                             .index = bref_at(x->index, 0), .start = 0,
                             .y = bref_at(x->y, 0), .labels = bref_at(x->labels, 0)};
    return a;
}

/* The first layer's weight gradient from the pixel lists, valid for the fixture. */
static sparse_grad_args sparse_grad_ok(fixture *x)
{
    sparse_grad_args a = {.out = bref_at(x->grads, 0), .delta = bref_at(x->f, 0), .n = HID,
                          .rows = ROWS, .dim = DIM,
                          .images = {bref_at(x->pixels, 0), bref_at(x->offsets, 0)},
                          .index = bref_at(x->index, 0), .start = 0, .accumulate = 0,
                          .scratch = bref_at(x->scratch, 0)};
    return a;
}

/* Every operation, valid then with one precondition broken, on be. */
static void check_contracts(backend *be, const char *be_name)
{
    fixture x = fixture_make(be);
    update_rule sgd_m = {.kind = UPDATE_SGD, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 1e-4f};

    gather_args ga = {.x = bref_at(x.f, 0), .y = bref_at(x.y, 0), .images = bref_at(x.images, 0),
                      .labels = bref_at(x.labels, 0), .index = bref_at(x.index, 0), .start = 0,
                      .count = ROWS, .dim = DIM};
    CHECK_OP(be, gather, "gather", gather_args, ga, bad.count = 0, "a->count >= 1");

    gemm_args gm = {.m = ROWS, .n = HID, .k = DIM, .a = bref_at(x.f, 0), .lda = DIM,
                    .b = bref_at(x.f, 100), .ldb = HID, .c = bref_at(x.f, 300), .ldc = HID,
                    .alpha = 1.0f, .epilogue = EPI_NONE};
    CHECK_OP(be, gemm, "gemm", gemm_args, gm, bad.a_ones_row = 1, "!a->a_ones_row || a->trans_a");
    CHECK_OP(be, gemm, "gemm", gemm_args, gm, bad.c.off = 4090,
             "a->c holds mat_extent(a->m, a->n, a->ldc) elements");

    loss_args la = {.kind = OUT_SOFTMAX_XENT, .delta = bref_at(x.f, 400),
                    .loss = bref_at(x.f, 420), .correct = bref_at(x.i, 100),
                    .logits = bref_at(x.f, 440), .labels = bref_at(x.i, 200), .count = ROWS,
                    .classes = CLS, .scale = 1.0f};
    CHECK_OP(be, loss, "loss", loss_args, la, bad.classes = 0,
             "a->count >= 1 && a->classes >= 1");

    output_step_args os = {.kind = OUT_SOFTMAX_XENT, .h = bref_at(x.f, 0), .hidden = HID,
                           .W = bref_at(x.f, 100), .b = bref_at(x.f, 140), .classes = CLS,
                           .count = ROWS, .labels = bref_at(x.i, 200), .scale = 1.0f,
                           .delta_out = bref_at(x.f, 400), .delta_hidden = bref_at(x.f, 500),
                           .hidden_act = ACT_RELU, .loss = bref_at(x.f, 420),
                           .correct = bref_at(x.i, 100)};
    CHECK_OP(be, output_step, "output_step", output_step_args, os,
             bad.classes = OUTPUT_STEP_MAX_CLASSES + 1,
             "a->classes >= 1 && a->classes <= OUTPUT_STEP_MAX_CLASSES");

    probs_args pa = {.kind = OUT_SIGMOID_MSE, .out = bref_at(x.f, 400),
                     .logits = bref_at(x.f, 440), .count = ROWS, .classes = CLS};
    CHECK_OP(be, probs, "probs", probs_args, pa, bad.kind = (output_kind)7,
             "output_valid(a->kind)");

    update_args ua = {.params = bref_at(x.params, 0), .grads = bref_at(x.grads, 0),
                      .state = bref_at(x.state, 0), .n = 100, .rule = sgd_m};
    CHECK_OP(be, update, "update", update_args, ua, bad.state = bref_at(NULL, 0),
             "a->state.b != NULL");
    CHECK_OP(be, update, "update", update_args, ua, bad.rule.kind = (update_kind)4,
             "rule->kind >= UPDATE_SGD && rule->kind <= UPDATE_ADAMW");
    update_args adam = ua;
    adam.rule = (update_rule){.kind = UPDATE_ADAM, .lr = 1e-3f, .beta1 = 0.9f, .beta2 = 0.999f,
                              .eps = 1e-8f, .moment2 = 100};
    CHECK_OP(be, update, "update", update_args, adam, bad.rule.moment2 = 99,
             "rule->moment2 >= n");
    CHECK_OP(be, update, "update", update_args, adam, bad.rule.beta2 = 1.0f,
             "rule->beta2 < 1.0f");

    sum_args sa = {.loss_sum = bref_at(x.f, 600), .correct_sum = bref_at(x.i, 300),
                   .loss = bref_at(x.f, 420), .correct = bref_at(x.i, 100), .n = ROWS};
    CHECK_OP(be, sum, "sum", sum_args, sa, bad.loss = bref_at(NULL, 0), "a->loss.b != NULL");

    mlp_spec spec = {.n_layers = 2, .sizes = {DIM, HID, CLS}, .hidden_act = ACT_RELU,
                     .output = OUT_SOFTMAX_XENT};
    mlp_spec deep = spec;
    deep.n_layers = SEQ_MAX_LAYERS + 1;
    for (int l = 0; l <= deep.n_layers; l++)
        deep.sizes[l] = 4;
    sequential_args qa = {.spec = &spec, .params = bref_at(x.params, 0),
                          .state = bref_at(x.state, 0), .scratch = bref_at(x.scratch, 0),
                          .images = bref_at(x.images, 0), .labels = bref_at(x.labels, 0),
                          .index = bref_at(x.index, 0), .start = 0, .count = ROWS,
                          .loss = bref_at(x.loss, 0), .correct = bref_at(x.correct, 0),
                          .rule = sgd_m};
    CHECK_OP(be, sequential, "sequential", sequential_args, qa, bad.spec = &deep,
             "s->n_layers >= 1 && s->n_layers <= SEQ_MAX_LAYERS");

    sparse_forward_args fa = sparse_forward_ok(&x);
    CHECK_OP(be, sparse_forward, "sparse_forward", sparse_forward_args, fa, bad.start = IMAGES,
             "a->index holds plus(a->start, a->rows) elements");

    output_step_args top = {.kind = OUT_SOFTMAX_XENT, .h = fa.out, .hidden = HID,
                            .W = bref_at(x.f, 400), .b = bref_at(x.f, 440), .classes = CLS,
                            .count = ROWS, .labels = fa.y, .scale = 1.0f,
                            .delta_out = bref_at(x.f, 460), .delta_hidden = bref_at(x.f, 480),
                            .hidden_act = ACT_RELU, .loss = bref_at(x.f, 520),
                            .correct = bref_at(x.i, 100)};
    sparse_forward_output_args fo = {.f = fa, .o = top};
    CHECK_OP(be, sparse_forward_output, "sparse_forward_output", sparse_forward_output_args, fo,
             bad.o.labels = bref_at(x.i, 200),
             "o->labels.b == f->y.b && o->labels.off == f->y.off");
    CHECK_OP(be, sparse_forward_output, "sparse_forward_output", sparse_forward_output_args, fo,
             bad.o.classes = 0, "a->classes >= 1 && a->classes <= OUTPUT_STEP_MAX_CLASSES");

    sparse_grad_args sg = sparse_grad_ok(&x);
    CHECK_OP(be, sparse_grad, "sparse_grad", sparse_grad_args, sg, bad.n = HID + 200,
             "a->out holds prod(a->dim + 1, a->n) elements");
    CHECK_OP(be, sparse_grad, "sparse_grad", sparse_grad_args, sg, bad.scratch.off = 64,
             "a->scratch holds sparse_grad_scratch(a->dim, a->n) elements");

    sparse_grad_args g1 = sparse_grad_ok(&x);
    size_t first = (size_t)(DIM + 1) * HID;
    sparse_backward_update_args bu = {
        .g = g1, .h = bref_at(x.f, 0), .delta2 = bref_at(x.f, 100), .classes = CLS,
        .upd = {.params = bref_at(x.params, 0), .grads = g1.out, .state = bref_at(x.state, 0),
                .n = first + (size_t)(HID + 1) * CLS, .rule = sgd_m}};
    CHECK_OP(be, sparse_backward_update, "sparse_backward_update", sparse_backward_update_args,
             bu, bad.upd.n = first, "u->n == first + second");
    CHECK_OP(be, sparse_backward_update, "sparse_backward_update", sparse_backward_update_args,
             bu, bad.g.accumulate = 1, "g->accumulate == 0");

    dropout_args da = {.x = bref_at(x.f, 0), .ld_x = 10, .y = bref_at(x.f, 0), .ld_y = 10,
                       .rows = ROWS, .cols = 8, .seed = 5};
    dropout_set_rate(&da, 0.5);
    CHECK_OP(be, dropout, "dropout", dropout_args, da, bad.y.off = 5, "in_place || apart");
    CHECK_OP(be, dropout, "dropout", dropout_args, da, bad.ld_y = 7,
             "a->ld_x >= a->cols && a->ld_y >= a->cols");
    augment_args aa = {.x = bref_at(x.f, 0), .images = bref_at(x.images, 0),
                       .index = bref_at(x.index, 0), .count = ROWS, .width = 5, .height = 4,
                       .shift = 1, .rotate_deg = 10, .scale = 0.1f, .alpha = 3, .sigma = 1,
                       .gauss = bref_at(x.f, 1000)};
    CHECK_OP(be, augment, "augment", augment_args, aa, bad.gauss = bref_at(NULL, 0),
             "a->gauss.b != NULL");
    CHECK_OP(be, augment, "augment", augment_args, aa, bad.width = 1025,
             "dim <= AUGMENT_MAX_PIXELS");
    CHECK_OP(be, augment, "augment", augment_args, aa, bad.scale = 0.95f,
             "a->scale >= 0.0f && a->scale <= 0.9f");

    if (be->is_opencl) { /* the kernels that index a buffer from element 0 */
        CHECK_OP(be, sequential, "sequential", sequential_args, qa, bad.params.off = 16,
                 "(a->params.off) == 0");
        CHECK_OP(be, sparse_forward, "sparse_forward", sparse_forward_args, fa,
                 bad.labels.off = 1, "(f->labels.off) == 0");
        CHECK_OP(be, sparse_grad, "sparse_grad", sparse_grad_args, sg, bad.index.off = 1,
                 "(g->index.off) == 0");
        CHECK_OP(be, sparse_backward_update, "sparse_backward_update",
                 sparse_backward_update_args, bu, bad.upd.state.off = 4,
                 "!u->state.b || u->state.off == u->params.off");
    }
    if (be->ops->finish(be))
        test_fail("%s: finish after the valid calls failed", be_name);
    fixture_free(be, &x);
}

/* kernel_of names `want` with one launch for op (args: gm when op is OP_GEMM). */
static void expect_kernel(backend *be, const char *be_name, op_kind op, const gemm_args *gm,
                          const char *want)
{
    int launches = -1;
    const char *got = be->ops->kernel_of(be, op, gm, &launches);
    if (!got || strcmp(got, want) != 0 || launches != 1)
        test_fail("%s: kernel_of(%s) = %s, %d launches; want %s, 1", be_name, op_name(op),
                  got ? got : "NULL", launches, want);
}

/* kernel_of on the CPU reference ("cpu_<op>") and on OpenCL (every GEMM variant). */
static void check_kernel_of(backend *be, const char *be_name)
{
    gemm_args nn = {.m = 64, .n = 64, .k = 64}, tn = nn, nt = nn, ntg = nn, tt = nn;
    tn.trans_a = 1;
    nt.trans_b = 1;
    ntg.trans_b = 1, ntg.k = 16;
    tt.trans_a = tt.trans_b = 1;
    if (!be->is_opencl) {
        expect_kernel(be, be_name, OP_GEMM, &nn, "cpu_gemm");
        expect_kernel(be, be_name, OP_SPARSE_BACKWARD_UPDATE, NULL, "cpu_sparse_backward_update");
        expect_kernel(be, be_name, OP_AUGMENT, NULL, "cpu_augment");
        return;
    }
    backend_cl_force_gemm(be, GEMM_RB);
    expect_kernel(be, be_name, OP_GEMM, &nn, "gemm_rb_nn");
    expect_kernel(be, be_name, OP_GEMM, &tn, "gemm_rb_tn");
    expect_kernel(be, be_name, OP_GEMM, &nt, "gemm_rb_nt");
    expect_kernel(be, be_name, OP_GEMM, &ntg, "gemm_rb_ntg");
    expect_kernel(be, be_name, OP_GEMM, &tt, "gemm_naive");
    backend_cl_force_gemm(be, GEMM_TILED);
    expect_kernel(be, be_name, OP_GEMM, &nn, "gemm_tiled_nn");
    expect_kernel(be, be_name, OP_GEMM, &tn, "gemm_tiled_tn");
    expect_kernel(be, be_name, OP_GEMM, &nt, "gemm_tiled_nt");
    backend_cl_force_gemm(be, GEMM_NAIVE);
    expect_kernel(be, be_name, OP_GEMM, &nn, "gemm_naive");
    backend_cl_force_gemm(be, GEMM_AUTO);
    expect_kernel(be, be_name, OP_UPDATE, NULL, "param_update");
    expect_kernel(be, be_name, OP_SPARSE_FORWARD_OUTPUT, NULL, "csr_forward_output");
    expect_kernel(be, be_name, OP_SPARSE_BACKWARD_UPDATE, NULL, "csr_backward_update");
    expect_kernel(be, be_name, OP_SEQUENTIAL, NULL, "train_sequential");
    expect_kernel(be, be_name, OP_DROPOUT, NULL, "dropout_rows");
    expect_kernel(be, be_name, OP_AUGMENT, NULL, "augment_batch");
}

/* The CPU reference's checks, then OpenCL's when there is a device. */
int main(void)
{
    backend *cpu = backend_cpu_create();
    if (!cpu) {
        fprintf(stderr, "FAIL: cannot create the CPU reference\n");
        return 1;
    }
    check_contracts(cpu, "cpu");
    check_kernel_of(cpu, "cpu");
    backend_destroy(cpu);
    printf("CPU reference: contracts checked\n");

    if (ocl_device_count() > 0) {
        backend *cl = test_open_opencl(); /* fails, never skips, when it cannot open it */
        check_contracts(cl, "opencl");
        check_kernel_of(cl, "opencl");
        backend_destroy(cl);
        printf("OpenCL: contracts checked\n");
    } else {
        const char *ci = getenv("CI");
        int in_ci = ci && *ci && strcmp(ci, "0") != 0 && strcmp(ci, "false") != 0;
        if (in_ci)
            test_fail("no OpenCL device for the OpenCL part");
        else
            printf("SKIP: the OpenCL part (no OpenCL device)\n");
    }
    return test_exit_code();
}
