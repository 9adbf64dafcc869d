/*
 * transpose.cl: out (cols, rows) = in (rows, cols)ᵀ
 *   out[c * ld_out + r] = in[r * ld_in + c]
 * Global size: (cols, rows). Used to turn the NT product δ·Wᵀ into an NN product for the
 * register-blocked GEMM, which wants op(B) rows contiguous.
 */
kernel void transpose(global float *out, int out_off, int ld_out, global const float *in,
                      int in_off, int ld_in, int rows, int cols)
{
    int c = get_global_id(0), r = get_global_id(1);
    if (c >= cols || r >= rows)
        return;
    out[out_off + c * ld_out + r] = in[in_off + r * ld_in + c];
}
