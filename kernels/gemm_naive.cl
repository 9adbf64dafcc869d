/*
 * gemm_naive.cl: the general GEMM, any size, any transpose, one work-item per element of C.
 *   C[i][j] = epilogue(alpha * sum_p op(A)[i][p] * op(B)[p][j])
 *   op(A)[i][p] = trans_a ? A[p*lda + i] : A[i*lda + p]      (A is (m,k), or (k,m) stored)
 *   op(B)[p][j] = trans_b ? B[j*ldb + p] : B[p*ldb + j]      (B is (k,n), or (n,k) stored)
 * With a_ones (trans_a only) row m-1 of op(A) is all ones instead of read from A.
 * The epilogue is gemm_epilogue_one (common.cl). Global size: (n, m) rounded up to the
 * work-group size; out-of-range work-items return at once.
 * It is the fallback for shapes the fast variants do not take, and their reference on
 * devices where the CPU backend is too slow to compare against.
 */
kernel void gemm_naive(int trans_a, int trans_b, int a_ones, int m, int n, int k,
                       global const float *A,
                       int a_off, int lda, global const float *B, int b_off, int ldb,
                       global float *C, int c_off, int ldc, float alpha, float beta, int epi,
                       global const float *bias, int bias_off, int act, global const float *aux,
                       int aux_off, int ldaux)
{
    int j = get_global_id(0), i = get_global_id(1);
    if (i >= m || j >= n)
        return;
    int a_step = trans_a ? lda : 1, a_base = a_off + (trans_a ? i : i * lda);
    int b_step = trans_b ? 1 : ldb, b_base = b_off + (trans_b ? j * ldb : j);
    float s = 0.0f;
    if (a_ones && i == m - 1)
        for (int p = 0; p < k; p++)
            s += B[b_base + p * b_step];
    else
        for (int p = 0; p < k; p++)
            s += A[a_base + p * a_step] * B[b_base + p * b_step];
    global float *c = C + c_off + i * ldc + j;
    *c = gemm_epilogue_one(epi, alpha * s, beta, c, bias + bias_off + j, act,
                           aux + aux_off + i * ldaux + j);
}
