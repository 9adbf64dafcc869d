/*
 * gemm_cpu.cl: register-blocked GEMM for CPU devices (pocl and the like).
 *   C[i][j] = epilogue(alpha * sum_p op(A)[i][p] * B[p][j])       (B not transposed)
 * No local memory: each work-item owns an RB_TM x 16 tile of C in float16 registers; per p
 * it loads one float16 row piece of B and broadcasts RB_TM scalars of op(A), RB_TM FMAs on
 * 16 lanes. A CPU's caches do the blocking that local memory does on a GPU.
 *   gemm_rb_nn: A stored (m,k)        forward   Z = X·W
 *   gemm_rb_tn: A stored (k,m)        weights   dW = Xᵀ·δ
 * Global size: (ceil(n/16), ceil(m/RB_TM)). A tile that crosses the edge of C is computed
 * by the same work-item with scalar loops and bounds checks.
 */
#ifndef RB_TM
#define RB_TM 4
#endif

/* Stores 16 finished lanes v = alpha * (A·B)[i][j0..j0+15] through the epilogue. */
inline void rb_store16(float16 v, int i, int j0, global float *C, int c_off, int ldc,
                       float beta, int epi, global const float *bias, int bias_off, int act,
                       global const float *aux, int aux_off, int ldaux)
{
    global float *c = C + c_off + i * ldc + j0;
    if (epi == EPI_BIAS_ACT)
        v = act_apply16(act, v + vload16(0, bias + bias_off + j0));
    else if (epi == EPI_ACT_GRAD)
        v = v * act_grad16(act, vload16(0, aux + aux_off + i * ldaux + j0));
    else if (beta != 0.0f)
        v = v + beta * vload16(0, c);
    vstore16(v, 0, c);
}

/* The shared body; trans_a is a compile-time constant in each caller. */
inline void gemm_rb_body(const int trans_a, int m, int n, int k, global const float *A,
                         int a_off, int lda, global const float *B, int b_off, int ldb,
                         global float *C, int c_off, int ldc, float alpha, float beta, int epi,
                         global const float *bias, int bias_off, int act,
                         global const float *aux, int aux_off, int ldaux)
{
    int j0 = get_global_id(0) * 16, i0 = get_global_id(1) * RB_TM;
    if (i0 >= m || j0 >= n)
        return;
    if (i0 + RB_TM > m || j0 + 16 > n) {
        /* edge tile: scalar loops over the part of the tile inside C */
        for (int i = i0; i < min(i0 + RB_TM, m); i++) {
            for (int j = j0; j < min(j0 + 16, n); j++) {
                float s = 0.0f;
                for (int p = 0; p < k; p++) {
                    float a = trans_a ? A[a_off + p * lda + i] : A[a_off + i * lda + p];
                    s = fma(a, B[b_off + p * ldb + j], s);
                }
                global float *c = C + c_off + i * ldc + j;
                *c = gemm_epilogue_one(epi, alpha * s, beta, c, bias + bias_off + j, act,
                                       aux + aux_off + i * ldaux + j);
            }
        }
        return;
    }
    float16 acc[RB_TM];
#pragma unroll
    for (int r = 0; r < RB_TM; r++)
        acc[r] = (float16)0.0f;
    global const float *b = B + b_off + j0;
    for (int p = 0; p < k; p++) {
        float16 bv = vload16(0, b + p * ldb);
#pragma unroll
        for (int r = 0; r < RB_TM; r++) {
            float a = trans_a ? A[a_off + p * lda + i0 + r] : A[a_off + (i0 + r) * lda + p];
            acc[r] = fma((float16)a, bv, acc[r]);
        }
    }
#pragma unroll
    for (int r = 0; r < RB_TM; r++)
        rb_store16(alpha * acc[r], i0 + r, j0, C, c_off, ldc, beta, epi, bias, bias_off, act, aux,
                   aux_off, ldaux);
}

kernel void gemm_rb_nn(int m, int n, int k, global const float *A, int a_off, int lda,
                       global const float *B, int b_off, int ldb, global float *C, int c_off,
                       int ldc, float alpha, float beta, int epi, global const float *bias,
                       int bias_off, int act, global const float *aux, int aux_off, int ldaux)
{
    gemm_rb_body(0, m, n, k, A, a_off, lda, B, b_off, ldb, C, c_off, ldc, alpha, beta, epi, bias,
                 bias_off, act, aux, aux_off, ldaux);
}

kernel void gemm_rb_tn(int m, int n, int k, global const float *A, int a_off, int lda,
                       global const float *B, int b_off, int ldb, global float *C, int c_off,
                       int ldc, float alpha, float beta, int epi, global const float *bias,
                       int bias_off, int act, global const float *aux, int aux_off, int ldaux)
{
    gemm_rb_body(1, m, n, k, A, a_off, lda, B, b_off, ldb, C, c_off, ldc, alpha, beta, epi, bias,
                 bias_off, act, aux, aux_off, ldaux);
}
