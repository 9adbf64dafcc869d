/*
 * gemm_gpu.cl: local-memory tiled GEMM with register tiles, for GPUs.
 *   C[i][j] = epilogue(alpha * sum_p op(A)[i][p] * op(B)[p][j])
 * A work-group computes a GT_TS x GT_TS block of C; each of its (GT_TS/GT_WPT)^2
 * work-items owns a GT_WPT x GT_WPT register tile of that block. The k dimension is
 * walked in steps of GT_TK: the group loads a GT_TS x GT_TK slice of op(A) and a
 * GT_TK x GT_TS slice of op(B) into local memory (cooperatively, out-of-range elements as
 * 0), waits at a barrier, accumulates from local memory, and waits again.
 *   gemm_tiled_nn / _nt / _tn: op(A) = A or Aᵀ, op(B) = B or Bᵀ as the name says;
 *   a_ones: op(A)'s row m-1 is implicit ones (TN, for [dW; db] = [X, 1]ᵀ·δ).
 * Tunables (build options the host always passes; defaults DEFAULT_GT_* in
 * kernel_interface.h): GT_TS (block, 64), GT_TK (k step, 16), GT_WPT (register tile side,
 * 4); GT_TS must be a multiple of GT_WPT, and (GT_TS/GT_WPT)^2 must divide GT_TS * GT_TK.
 * Launch: local (GT_TS/GT_WPT, GT_TS/GT_WPT), global rounded up to it over
 * (ceil(n/GT_TS) * GT_TS/GT_WPT, ceil(m/GT_TS) * GT_TS/GT_WPT).
 */
#if !defined(GT_TS) || !defined(GT_TK) || !defined(GT_WPT)
#error "GT_TS, GT_TK and GT_WPT are build options the host always passes (kernel_interface.h)"
#endif
#define GT_RTS (GT_TS / GT_WPT) /* work-items per block side */

/* op(A)[i][p], 0 outside the matrix; the ones row when asked. */
inline float gt_a(const int trans_a, int a_ones, global const float *A, int lda, int m, int k,
                  int i, int p)
{
    if (i >= m || p >= k)
        return 0.0f;
    if (a_ones && i == m - 1)
        return 1.0f;
    return trans_a ? A[p * lda + i] : A[i * lda + p];
}

/* op(B)[p][j], 0 outside the matrix. */
inline float gt_b(const int trans_b, global const float *B, int ldb, int n, int k, int p, int j)
{
    if (j >= n || p >= k)
        return 0.0f;
    return trans_b ? B[j * ldb + p] : B[p * ldb + j];
}

/* One GT_TS x GT_TS block of C = epilogue(alpha * op(A)·op(B)) per work-group, through
   local memory (see above); A, B, C, bias and aux already at their offsets. */
inline void gt_body(const int trans_a, const int trans_b, int a_ones, int m, int n, int k,
                    global const float *A, int lda, global const float *B, int ldb,
                    global float *C, int ldc, float alpha, float beta, int epi,
                    global const float *bias, int act, global const float *aux, int ldaux,
                    local float *As, local float *Bs)
{
    int tx = get_local_id(0), ty = get_local_id(1);
    int j_block = get_group_id(0) * GT_TS, i_block = get_group_id(1) * GT_TS;
    int lid = ty * GT_RTS + tx;
    float acc[GT_WPT][GT_WPT];
    for (int r = 0; r < GT_WPT; r++)
        for (int c = 0; c < GT_WPT; c++)
            acc[r][c] = 0.0f;
    for (int p0 = 0; p0 < k; p0 += GT_TK) {
        /* As[i][p] for the block's GT_TS rows, Bs[p][j] for its GT_TS columns */
        for (int e = lid; e < GT_TS * GT_TK; e += GT_RTS * GT_RTS) {
            int i = e / GT_TK, p = e % GT_TK;
            As[i * GT_TK + p] = gt_a(trans_a, a_ones, A, lda, m, k, i_block + i, p0 + p);
            int pb = e / GT_TS, jb = e % GT_TS;
            Bs[pb * GT_TS + jb] = gt_b(trans_b, B, ldb, n, k, p0 + pb, j_block + jb);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
        for (int p = 0; p < GT_TK; p++) {
            float a[GT_WPT], b[GT_WPT];
            for (int r = 0; r < GT_WPT; r++)
                a[r] = As[(ty + r * GT_RTS) * GT_TK + p];
            for (int c = 0; c < GT_WPT; c++)
                b[c] = Bs[p * GT_TS + tx + c * GT_RTS];
            for (int r = 0; r < GT_WPT; r++)
                for (int c = 0; c < GT_WPT; c++)
                    acc[r][c] = fma(a[r], b[c], acc[r][c]);
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    /* work-item (tx, ty) owns rows ty + r*GT_RTS and columns tx + c*GT_RTS: neighbouring
       work-items store neighbouring columns */
    for (int r = 0; r < GT_WPT; r++) {
        int i = i_block + ty + r * GT_RTS;
        if (i >= m)
            break;
        for (int c = 0; c < GT_WPT; c++) {
            int j = j_block + tx + c * GT_RTS;
            if (j < n) {
                global float *out = C + i * ldc + j;
                *out = gemm_epilogue_one(epi, alpha * acc[r][c], beta, out, bias + j, act,
                                         aux + i * ldaux + j);
            }
        }
    }
}

#define GT_KERNEL_ARGS                                                                          \
    int a_ones, int m, int n, int k, global const float *A, int a_off, int lda,               \
        global const float *B, int b_off, int ldb, global float *C, int c_off, int ldc,       \
        float alpha, float beta, int epi, global const float *bias, int bias_off, int act,    \
        global const float *aux, int aux_off, int ldaux

/* C = epilogue(alpha * A·B) */
kernel __attribute__((reqd_work_group_size(GT_RTS, GT_RTS, 1))) void gemm_tiled_nn(GT_KERNEL_ARGS)
{
    local float As[GT_TS * GT_TK], Bs[GT_TK * GT_TS];
    gt_body(0, 0, a_ones, m, n, k, A + a_off, lda, B + b_off, ldb, C + c_off, ldc, alpha, beta,
            epi, bias + bias_off, act, aux + aux_off, ldaux, As, Bs);
}

/* C = epilogue(alpha * A·Bᵀ), B stored (n,k) */
kernel __attribute__((reqd_work_group_size(GT_RTS, GT_RTS, 1))) void gemm_tiled_nt(GT_KERNEL_ARGS)
{
    local float As[GT_TS * GT_TK], Bs[GT_TK * GT_TS];
    gt_body(0, 1, a_ones, m, n, k, A + a_off, lda, B + b_off, ldb, C + c_off, ldc, alpha, beta,
            epi, bias + bias_off, act, aux + aux_off, ldaux, As, Bs);
}

/* C = epilogue(alpha * Aᵀ·B), A stored (k,m); with a_ones row m-1 of Aᵀ is ones */
kernel __attribute__((reqd_work_group_size(GT_RTS, GT_RTS, 1))) void gemm_tiled_tn(GT_KERNEL_ARGS)
{
    local float As[GT_TS * GT_TK], Bs[GT_TK * GT_TS];
    gt_body(1, 0, a_ones, m, n, k, A + a_off, lda, B + b_off, ldb, C + c_off, ldc, alpha, beta,
            epi, bias + bias_off, act, aux + aux_off, ldaux, As, Bs);
}
