/*
 * common.cl: definitions shared by every kernel family (the first .cl file of the program).
 *
 * The program text starts with mnistcl/mlp_kinds.h and kernel_interface.h, the headers the
 * host compiles too: act_kind (ACT_*), output_kind (OUT_*), gemm_epilogue (EPI_*),
 * update_kind (UPDATE_*), the fused kernels' limits and the launch geometry come from
 * there. The activations:
 *   ACT_IDENTITY  a = z
 *   ACT_SIGMOID   a = 1 / (1 + exp(-z))        a' = a (1 - a)
 *   ACT_RELU      a = max(z, 0)                a' = [a > 0]
 *   ACT_TANH      a = tanh(z)                  a' = 1 - a^2
 * Derivatives are written in terms of the activation's output a, so the backward pass
 * needs only the stored activations, not the pre-activations.
 *
 * Buffers are passed as (pointer, element offset) pairs so one flat parameter buffer can
 * hold every layer without OpenCL sub-buffers and their alignment rules.
 */

/* a = act(z) */
inline float act_apply(int act, float z)
{
    if (act == ACT_SIGMOID)
        return 1.0f / (1.0f + exp(-z));
    if (act == ACT_RELU)
        return fmax(z, 0.0f);
    if (act == ACT_TANH)
        return tanh(z);
    return z;
}

/* act'(z) written through a = act(z) */
inline float act_grad_from_output(int act, float a)
{
    if (act == ACT_SIGMOID)
        return a * (1.0f - a);
    if (act == ACT_RELU)
        return a > 0.0f ? 1.0f : 0.0f;
    if (act == ACT_TANH)
        return 1.0f - a * a;
    return 1.0f;
}

/* act(z) on 16 lanes (see act_apply in common.cl) */
inline float16 act_apply16(int act, float16 z)
{
    if (act == ACT_SIGMOID)
        return 1.0f / (1.0f + exp(-z));
    if (act == ACT_RELU)
        return fmax(z, (float16)0.0f);
    if (act == ACT_TANH)
        return tanh(z);
    return z;
}

/* act'(z) through a = act(z), on 16 lanes */
inline float16 act_grad16(int act, float16 a)
{
    if (act == ACT_SIGMOID)
        return a * (1.0f - a);
    if (act == ACT_RELU)
        return select((float16)0.0f, (float16)1.0f, a > 0.0f);
    if (act == ACT_TANH)
        return 1.0f - a * a;
    return (float16)1.0f;
}

/* STORE16(v, p): stores float16 v at p, any float-aligned global address, as
 * vstore16(v, 0, p) does, but as one unaligned vector store where pocl splits vstore16
 * into four 128-bit stores (in a typedef, clang-based OpenCL compilers let an attribute
 * lower the alignment; other compilers get vstore16). */
#ifdef __clang__
typedef float16 __attribute__((aligned(4))) float16_any;
#define STORE16(v, p) (*(global float16_any *)(p) = (v))
#else
#define STORE16(v, p) vstore16((v), 0, (p))
#endif

/* Up to 16 floats from p (`valid` of them, the rest 0), without reading past them. */
inline float16 load16_bounded(global const float *p, int valid)
{
    if (valid >= 16)
        return vload16(0, p);
    float t[16];
    for (int q = 0; q < 16; q++)
        t[q] = q < valid ? p[q] : 0.0f;
    return vload16(0, t);
}

/* The GEMM epilogue for one element: v = alpha * (A·B)[i][j] already computed.
 *   EPI_NONE:     c = v + beta * c_old   (c_old read only when beta != 0)
 *   EPI_BIAS_ACT: c = act(v + bias[j])
 *   EPI_ACT_GRAD: c = v * act'(aux[i][j]) */
inline float gemm_epilogue_one(int epi, float v, float beta, global const float *c_old,
                               global const float *bias, int act, global const float *aux)
{
    if (epi == EPI_BIAS_ACT)
        return act_apply(act, v + *bias);
    if (epi == EPI_ACT_GRAD)
        return v * act_grad_from_output(act, *aux);
    return beta != 0.0f ? v + beta * *c_old : v;
}
