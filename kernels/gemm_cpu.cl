/*
 * gemm_cpu.cl: register-blocked GEMM for CPU devices (pocl and the like).
 *   C[i][j] = epilogue(alpha * sum_p op(A)[i][p] * op(B)[p][j])
 * No local memory: a CPU's caches do the blocking that local memory does on a GPU. Each
 * work-item keeps its tile of C in float16 registers.
 *
 *   gemm_rb_nn: A (m,k), B (k,n)         forward   Z = X·W
 *   gemm_rb_tn: A stored (k,m), B (k,n)  weights   [dW; db] = [X, 1]ᵀ·δ
 *     with a_ones, row m-1 of op(A) is implicit ones (the bias gradient's row)
 *     tile RB_TM rows x RB_TN = 32 columns (two float16 per row: 2*RB_TM accumulators, enough
 *     independent FMAs to cover their latency); per p: two float16 loads of B's row,
 *     RB_TM broadcasts of A.
 *   gemm_rb_nt: A (m,k), B stored (n,k)  delta     δ·Wᵀ
 *     tile 4 x 4 of dot products, each a float16 of partial sums along k (both operands
 *     are contiguous in k), reduced at the end; the k % 16 tail one by one.
 *   gemm_rb_ntg: the same product for short k (the host picks it when k < 32): the nn
 *     tile with each row of op(B) gathered from B's columns.
 *
 * Edges: every tile takes the vector path. Rows past m are read clamped to row m-1 and
 * never stored; columns past n are computed from whatever follows in memory and never
 * stored. A read past a row of B could leave B's buffer on its last rows, so narrow
 * column tiles switch to bounded loads where b_len (elements of B from b_off) ends.
 * Global size: (ceil(n/RB_TN), ceil(m/RB_TM)) for nn/tn/ntg, (ceil(n/NT_TN), ceil(m/NT_TM))
 * for nt (RB_TN = 32, NT_TM = NT_TN = 4: kernel_interface.h). RB_TM is a build option
 * (DEFAULT_RB_TM there; `mnistcl tune` tries others).
 */
#ifndef RB_TM
#error "RB_TM is a build option the host always passes (kernel_interface.h)"
#endif
#if RB_TN != 32
#error "rb_tile computes RB_TN = 32 columns: two float16 accumulators per row"
#endif

/* Stores the first `valid` lanes of v (alpha already applied) at C[i][j0..] through the
 * epilogue (see gemm_epilogue_one in common.cl). */
inline void rb_store(float16 v, int valid, int i, int j0, global float *C, int c_off, int ldc,
                     float beta, int epi, global const float *bias, int bias_off, int act,
                     global const float *aux, int aux_off, int ldaux)
{
    global float *c = C + c_off + i * ldc + j0;
    if (epi == EPI_BIAS_ACT)
        v = act_apply16(act, v + load16_bounded(bias + bias_off + j0, valid));
    else if (epi == EPI_ACT_GRAD)
        v = v * act_grad16(act, load16_bounded(aux + aux_off + i * ldaux + j0, valid));
    else if (beta != 0.0f)
        v = v + beta * load16_bounded(c, valid);
    if (valid >= 16) {
        STORE16(v, c);
    } else {
        float t[16];
        vstore16(v, 0, t);
        for (int q = 0; q < valid; q++)
            c[q] = t[q];
    }
}

/*
 * One RB_TM x (16 * chunks) tile of NN (trans_a 0), TN (trans_a 1) or, gathering B's
 * columns, NT (trans_b 1); chunks is 1 or 2 and ones says whether the tile holds the
 * implicit ones row. All four are constants in every caller and the function is always
 * inlined, so the compiler specialises the loops (pocl does not inline it by itself, and
 * runtime flags between the FMAs of the inner loop cost a third of the speed).
 */
static __attribute__((always_inline)) inline void
rb_tile(const int trans_a, const int trans_b, const int chunks, const int ones, int i0, int j0,
        int m, int n, int k, global const float *A, int a_off, int lda, global const float *B,
        int b_off, int ldb, int b_len, global float *C, int c_off, int ldc, float alpha,
        float beta, int epi, global const float *bias, int bias_off, int act,
        global const float *aux, int aux_off, int ldaux)
{
    float16 acc0[RB_TM], acc1[RB_TM];
    int row[RB_TM];
#pragma unroll
    for (int r = 0; r < RB_TM; r++) {
        acc0[r] = acc1[r] = (float16)0.0f;
        row[r] = min(i0 + r, m - 1); /* rows past m: computed, never stored */
    }
    /* rows p < p_fast can be read 16 * chunks wide without leaving B */
    int width = 16 * chunks;
    int p_fast = b_len - j0 - width < 0 ? 0 : (b_len - j0 - width) / ldb + 1;
    p_fast = min(p_fast, k);
    global const float *b = B + b_off + j0;
    for (int p = 0; p < k; p++) {
        float16 b0, b1 = (float16)0.0f;
        if (trans_b) { /* op(B)[p][j] = B[j][p]: gather 16 * chunks columns, clamped */
            float t[32];
            for (int c = 0; c < width; c++)
                t[c] = B[b_off + min(j0 + c, n - 1) * ldb + p];
            b0 = vload16(0, t);
            if (chunks == 2)
                b1 = vload16(1, t);
        } else if (p < p_fast) {
            b0 = vload16(0, b + p * ldb);
            if (chunks == 2)
                b1 = vload16(1, b + p * ldb);
        } else {
            int left = b_len - (j0 + p * ldb);
            b0 = load16_bounded(b + p * ldb, left);
            if (chunks == 2)
                b1 = load16_bounded(b + p * ldb + 16, left - 16);
        }
#pragma unroll
        for (int r = 0; r < RB_TM; r++) {
            float a = ones && row[r] == m - 1 ? 1.0f
                      : trans_a             ? A[a_off + p * lda + row[r]]
                                            : A[a_off + row[r] * lda + p];
            acc0[r] = fma((float16)a, b0, acc0[r]);
            if (chunks == 2)
                acc1[r] = fma((float16)a, b1, acc1[r]);
        }
    }
    int valid0 = min(16, n - j0), valid1 = min(16, n - j0 - 16);
#pragma unroll
    for (int r = 0; r < RB_TM; r++) {
        if (i0 + r >= m)
            break;
        rb_store(alpha * acc0[r], valid0, i0 + r, j0, C, c_off, ldc, beta, epi, bias, bias_off,
                 act, aux, aux_off, ldaux);
        if (chunks == 2 && valid1 > 0)
            rb_store(alpha * acc1[r], valid1, i0 + r, j0 + 16, C, c_off, ldc, beta, epi, bias,
                     bias_off, act, aux, aux_off, ldaux);
    }
}

/* Dispatches a work-item's tile to the specialisation it needs: one or two chunks, and
 * the implicit ones row only in the tile that holds row m-1. */
static __attribute__((always_inline)) inline void
rb_body(const int trans_a, const int trans_b, int a_ones, int m, int n, int k,
        global const float *A, int a_off, int lda, global const float *B, int b_off, int ldb,
        int b_len, global float *C, int c_off, int ldc, float alpha, float beta, int epi,
        global const float *bias, int bias_off, int act, global const float *aux, int aux_off,
        int ldaux)
{
    int j0 = get_global_id(0) * RB_TN, i0 = get_global_id(1) * RB_TM;
    if (i0 >= m || j0 >= n)
        return;
    int ones = a_ones && i0 + RB_TM > m - 1, two = n - j0 > 16;
    if (ones && two)
        rb_tile(trans_a, trans_b, 2, 1, i0, j0, m, n, k, A, a_off, lda, B, b_off, ldb, b_len, C,
                c_off, ldc, alpha, beta, epi, bias, bias_off, act, aux, aux_off, ldaux);
    else if (ones)
        rb_tile(trans_a, trans_b, 1, 1, i0, j0, m, n, k, A, a_off, lda, B, b_off, ldb, b_len, C,
                c_off, ldc, alpha, beta, epi, bias, bias_off, act, aux, aux_off, ldaux);
    else if (two)
        rb_tile(trans_a, trans_b, 2, 0, i0, j0, m, n, k, A, a_off, lda, B, b_off, ldb, b_len, C,
                c_off, ldc, alpha, beta, epi, bias, bias_off, act, aux, aux_off, ldaux);
    else
        rb_tile(trans_a, trans_b, 1, 0, i0, j0, m, n, k, A, a_off, lda, B, b_off, ldb, b_len, C,
                c_off, ldc, alpha, beta, epi, bias, bias_off, act, aux, aux_off, ldaux);
}

/* NN: C = epilogue(alpha * A·B), A (m,k), B (k,n); an RB_TM x RB_TN tile per work-item */
kernel void gemm_rb_nn(int a_ones, int m, int n, int k, global const float *A, int a_off,
                       int lda, global const float *B, int b_off, int ldb, int b_len,
                       global float *C, int c_off, int ldc, float alpha, float beta, int epi,
                       global const float *bias, int bias_off, int act, global const float *aux,
                       int aux_off, int ldaux)
{
    rb_body(0, 0, a_ones, m, n, k, A, a_off, lda, B, b_off, ldb, b_len, C, c_off, ldc, alpha,
            beta, epi, bias, bias_off, act, aux, aux_off, ldaux);
}

/* TN: C = epilogue(alpha * Aᵀ·B), A stored (k,m) (with a_ones: row m-1 of Aᵀ is ones) */
kernel void gemm_rb_tn(int a_ones, int m, int n, int k, global const float *A, int a_off,
                       int lda, global const float *B, int b_off, int ldb, int b_len,
                       global float *C, int c_off, int ldc, float alpha, float beta, int epi,
                       global const float *bias, int bias_off, int act, global const float *aux,
                       int aux_off, int ldaux)
{
    rb_body(1, 0, a_ones, m, n, k, A, a_off, lda, B, b_off, ldb, b_len, C, c_off, ldc, alpha,
            beta, epi, bias, bias_off, act, aux, aux_off, ldaux);
}

/* NT for k < 32: C = epilogue(alpha * A·Bᵀ), B stored (n,k), as the NN tile with B's
   columns gathered */
kernel void gemm_rb_ntg(int a_ones, int m, int n, int k, global const float *A, int a_off,
                        int lda, global const float *B, int b_off, int ldb, int b_len,
                        global float *C, int c_off, int ldc, float alpha, float beta, int epi,
                        global const float *bias, int bias_off, int act,
                        global const float *aux, int aux_off, int ldaux)
{
    rb_body(0, 1, a_ones, m, n, k, A, a_off, lda, B, b_off, ldb, b_len, C, c_off, ldc, alpha,
            beta, epi, bias, bias_off, act, aux, aux_off, ldaux);
}

/* NT: C[i][j] = epilogue(alpha * sum_p A[i][p] * B[j][p]); a 4 x 4 tile per work-item. */
kernel void gemm_rb_nt(int a_ones, int m, int n, int k, global const float *A, int a_off,
                       int lda, global const float *B, int b_off, int ldb, int b_len,
                       global float *C, int c_off, int ldc, float alpha, float beta, int epi,
                       global const float *bias, int bias_off, int act, global const float *aux,
                       int aux_off, int ldaux)
{
    (void)b_len, (void)a_ones;
    int j0 = get_global_id(0) * NT_TN, i0 = get_global_id(1) * NT_TM;
    if (i0 >= m || j0 >= n)
        return;
    global const float *a[NT_TM], *b[NT_TN];
#pragma unroll
    for (int r = 0; r < NT_TM; r++)
        a[r] = A + a_off + min(i0 + r, m - 1) * lda;
#pragma unroll
    for (int c = 0; c < NT_TN; c++)
        b[c] = B + b_off + min(j0 + c, n - 1) * ldb;
    float16 acc[NT_TM][NT_TN];
#pragma unroll
    for (int r = 0; r < NT_TM; r++)
#pragma unroll
        for (int c = 0; c < NT_TN; c++)
            acc[r][c] = (float16)0.0f;
    int p = 0;
    for (; p + 16 <= k; p += 16) {
        float16 av[NT_TM], bv[NT_TN];
#pragma unroll
        for (int r = 0; r < NT_TM; r++)
            av[r] = vload16(0, a[r] + p);
#pragma unroll
        for (int c = 0; c < NT_TN; c++)
            bv[c] = vload16(0, b[c] + p);
#pragma unroll
        for (int r = 0; r < NT_TM; r++)
#pragma unroll
            for (int c = 0; c < NT_TN; c++)
                acc[r][c] = fma(av[r], bv[c], acc[r][c]);
    }
    float sum[NT_TM][NT_TN];
#pragma unroll
    for (int r = 0; r < NT_TM; r++)
#pragma unroll
        for (int c = 0; c < NT_TN; c++) {
            float16 v = acc[r][c];
            float8 h8 = v.lo + v.hi;
            float4 h4 = h8.lo + h8.hi;
            float2 h2 = h4.lo + h4.hi;
            sum[r][c] = h2.x + h2.y;
        }
    for (; p < k; p++) /* the k % 16 tail */
#pragma unroll
        for (int r = 0; r < NT_TM; r++)
#pragma unroll
            for (int c = 0; c < NT_TN; c++)
                sum[r][c] = fma(a[r][p], b[c][p], sum[r][c]);
    for (int r = 0; r < NT_TM && i0 + r < m; r++)
        for (int c = 0; c < NT_TN && j0 + c < n; c++) {
            int i = i0 + r, j = j0 + c;
            global float *out = C + c_off + i * ldc + j;
            *out = gemm_epilogue_one(epi, alpha * sum[r][c], beta, out, bias + bias_off + j, act,
                                     aux + aux_off + i * ldaux + j);
        }
}
