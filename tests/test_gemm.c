/*
 * GEMM parity: every OpenCL GEMM variant (naive, register-blocked, auto) against the CPU
 * reference, for the NN, NT and TN products of a dense layer (TN also with the implicit
 * ones row that yields the bias gradient; NT with short k, which takes the gathering
 * kernel, and long k, which takes the dot-product one), every epilogue, awkward
 * sizes (1, 10, 63, 127 in every combination, plus the 784/128 training shapes), row
 * strides wider than the matrices and nonzero buffer offsets. C is compared whole,
 * padding columns and a canary tail included, so out-of-range writes are caught.
 *
 * Tolerance: |x - ref| <= ATOL_PER_K * k + 1e-6 + 1e-6 |ref|. The reference sums in
 * double; float accumulation over k terms of size <= 1 errs by O(k * 2^-24) in the
 * worst case (Higham); observed on pocl: max 5e-5 at k = 784, 1e-5 at k = 128.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend_ops.h"
#include "backend/opencl/backend_cl.h"
#include "test_util.h"

#define ATOL_PER_K 2e-7
#define CANARY 37     /* floats of canary after each matrix */
#define A_OFFSET 7    /* element offset of A in its buffer */

typedef struct {
    gemm_epilogue epi;
    act_kind act;
    float alpha, beta;
    const char *name;
} epi_case;

static const epi_case epis[] = {
    {EPI_NONE, ACT_IDENTITY, 1.0f, 0.0f, "none"},
    {EPI_NONE, ACT_IDENTITY, 0.5f, 1.0f, "alpha0.5+beta1"},
    {EPI_BIAS_ACT, ACT_IDENTITY, 1.0f, 0.0f, "bias"},
    {EPI_BIAS_ACT, ACT_RELU, 1.0f, 0.0f, "bias+relu"},
    {EPI_BIAS_ACT, ACT_SIGMOID, 1.0f, 0.0f, "bias+sigmoid"},
    {EPI_BIAS_ACT, ACT_TANH, 1.0f, 0.0f, "bias+tanh"},
    {EPI_ACT_GRAD, ACT_RELU, 1.0f, 0.0f, "relu'"},
    {EPI_ACT_GRAD, ACT_SIGMOID, 1.0f, 0.0f, "sigmoid'"},
    {EPI_ACT_GRAD, ACT_TANH, 1.0f, 0.0f, "tanh'"},
};
#define N_EPIS ((int)(sizeof epis / sizeof epis[0]))

typedef struct {
    int m, n, k, trans_a, trans_b;
    int ones; /* op(A)'s last row is implicit ones (TN only): A stores m - 1 columns */
} shape;

/* Runs one GEMM on be with fresh copies of the inputs; returns C's whole buffer (malloc). */
static float *run_gemm(backend *be, const shape *s, const epi_case *e, const float *a,
                       size_t a_len, int lda, const float *b, size_t b_len, int ldb,
                       const float *c0, size_t c_len, int ldc, const float *bias,
                       const float *aux, int ldaux)
{
    buf *ba = upload_f32(be, a, a_len), *bb = upload_f32(be, b, b_len),
        *bc = upload_f32(be, c0, c_len), *bbias = upload_f32(be, bias, (size_t)s->n + 3),
        *baux = upload_f32(be, aux, (size_t)s->m * ldaux + 2);
    gemm_args g = {.trans_a = s->trans_a, .trans_b = s->trans_b, .a_ones_row = s->ones,
                   .m = s->m, .n = s->n,
                   .k = s->k, .a = bref_at(ba, A_OFFSET), .lda = lda, .b = bref_at(bb, 0),
                   .ldb = ldb, .c = bref_at(bc, 1), .ldc = ldc, .alpha = e->alpha,
                   .beta = e->beta, .epilogue = e->epi, .bias = bref_at(bbias, 3), .act = e->act,
                   .aux = bref_at(baux, 2), .ldaux = ldaux};
    float *out = malloc(c_len * sizeof(float));
    if (be->ops->gemm(be, &g)) {
        test_fail("gemm launch failed");
        memcpy(out, c0, c_len * sizeof(float));
    } else {
        download_f32(be, bc, out, c_len);
    }
    buf *all[] = {ba, bb, bc, bbias, baux};
    for (int i = 0; i < 5; i++)
        be->ops->release(be, all[i]);
    return out;
}

static void test_shape(backend *cpu, backend *cl, const shape *s, int pad, rng *r)
{
    int a_rows = s->trans_a ? s->k : s->m, a_cols = s->trans_a ? s->m - s->ones : s->k;
    int b_rows = s->trans_b ? s->n : s->k, b_cols = s->trans_b ? s->k : s->n;
    int lda = a_cols + pad, ldb = b_cols + pad, ldc = s->n + pad, ldaux = s->n + pad;
    size_t a_len = A_OFFSET + (size_t)a_rows * lda + CANARY, b_len = (size_t)b_rows * ldb + CANARY;
    size_t c_len = 1 + (size_t)s->m * ldc + CANARY;
    float *a = malloc(a_len * 4), *b = malloc(b_len * 4), *c0 = malloc(c_len * 4),
          *bias = malloc(((size_t)s->n + 3) * 4), *aux = malloc(((size_t)s->m * ldaux + 2) * 4);
    fill_uniform(r, a, a_len, -1, 1);
    fill_uniform(r, b, b_len, -1, 1);
    fill_uniform(r, c0, c_len, -1, 1);
    fill_uniform(r, bias, (size_t)s->n + 3, -1, 1);
    fill_uniform(r, aux, (size_t)s->m * ldaux + 2, -1, 1);
    double atol = ATOL_PER_K * s->k + 1e-6;
    for (int e = 0; e < N_EPIS; e++) {
        if (test_small() && e % 3 != 0) /* none, bias+relu, tanh': one of each kind */
            continue;
        float *ref = run_gemm(cpu, s, &epis[e], a, a_len, lda, b, b_len, ldb, c0, c_len, ldc,
                              bias, aux, ldaux);
        for (int v = 0; v < GEMM_VARIANT_COUNT; v++) {
            backend_cl_force_gemm(cl, (gemm_variant)v);
            float *got = run_gemm(cl, s, &epis[e], a, a_len, lda, b, b_len, ldb, c0, c_len,
                                  ldc, bias, aux, ldaux);
            char what[160];
            snprintf(what, sizeof what, "gemm %s %c%c%s m=%d n=%d k=%d pad=%d %s",
                     gemm_variant_name((gemm_variant)v), s->trans_a ? 'T' : 'N',
                     s->trans_b ? 'T' : 'N', s->ones ? "+ones" : "", s->m, s->n, s->k, pad,
                     epis[e].name);
            check_close(what, got, ref, c_len, atol, 1e-6);
            free(got);
        }
        free(ref);
    }
    backend_cl_force_gemm(cl, GEMM_AUTO);
    free(a), free(b), free(c0), free(bias), free(aux);
}

int main(void)
{
    backend *cpu = backend_cpu_create();
    backend *cl = test_open_opencl();
    rng r;
    rng_seed(&r, 20261123);
    static const int sizes[] = {1, 10, 63, 127}, small[] = {1, 10, 33};
    /* small: 33 columns take both chunk widths of the register-blocked kernels */
    const int *list = test_small() ? small : sizes;
    const int ns = test_small() ? 3 : (int)(sizeof sizes / sizeof sizes[0]);
    int cases = 0;
    for (int t = 0; t < 3; t++) {
        int ta = t == 2, tb = t == 1;
        for (int i = 0; i < ns; i++)
            for (int j = 0; j < ns; j++)
                for (int l = 0; l < ns; l++) {
                    for (int ones = 0; ones <= ta; ones++) {
                        shape s = {list[i], list[j], list[l], ta, tb, ones};
                        test_shape(cpu, cl, &s, (i + j + l) % 2 ? 5 : 0, &r);
                        cases++;
                    }
                }
    }
    /* the products of 784-128-10 at batch 128 and of a batch of 1 */
    static const shape training[] = {
        {128, 128, 784, 0, 0, 0}, {128, 10, 128, 0, 0, 0}, {785, 128, 128, 1, 0, 1},
        {129, 10, 128, 1, 0, 1},  {128, 128, 10, 0, 1, 0}, {128, 784, 128, 0, 1, 0},
        {1, 128, 784, 0, 0, 0},   {785, 128, 1, 1, 0, 1},  {1, 784, 128, 0, 1, 0},
        {784, 128, 128, 1, 0, 0}, {128, 1024, 1024, 0, 1, 0},
    };
    /* small: k = 40 takes the dot-product NT kernel (k >= 32), 9 rows two tiles of 8 */
    static const shape small_extra[] = {{9, 33, 40, 0, 1, 0}, {12, 20, 40, 1, 0, 1}};
    const shape *extra = test_small() ? small_extra : training;
    size_t n_extra = test_small() ? 2 : sizeof training / sizeof training[0];
    for (size_t i = 0; i < n_extra; i++) {
        test_shape(cpu, cl, &extra[i], 0, &r);
        cases++;
    }
    printf("%d shapes x %d epilogues x %d variants checked\n", cases, N_EPIS, GEMM_VARIANT_COUNT);
    backend_destroy(cl);
    backend_destroy(cpu);
    return test_exit_code();
}
