/*
 * philox.h: a counter-based random generator and exact trigonometry, written once for the
 * host and the kernels. It is valid C11 and OpenCL C, like kernel_interface.h: the C code
 * includes it (backend_ops.h, backend_cpu.c, the tests), and the OpenCL program text
 * starts with it (CMakeLists.txt's MNISTCL_KERNEL_HEADERS, after kernel_interface.h), so
 * the host and a device draw the same numbers and compute the same angles, bit for bit.
 *
 * Philox4x32-10 (Salmon, Moraes, Dror, Shaw, "Parallel random numbers: as easy as 1, 2,
 * 3", SC'11; the Random123 library's philox4x32 with 10 rounds): a bijection of a 128-bit
 * counter under a 64-bit key, so the k-th number of any stream is computed directly, in
 * any order, by any work-item, with no state to store. One round, with the key (k0, k1):
 *   (hi0, lo0) = M0 * c0,  (hi1, lo1) = M1 * c2        (32 x 32 -> 64-bit products)
 *   c' = (hi1 ^ c1 ^ k0,  lo1,  hi0 ^ c3 ^ k1,  lo0)
 * and between rounds the key moves by the Weyl constants: k0 += W0, k1 += W1.
 * Known answers (Random123's kat_vectors), tests/test_philox.c checks them:
 *   ctr 0 0 0 0, key 0 0                            -> 6627e8d5 e169c58d bc57ac4c 9b00dbd8
 *   ctr ffffffff x4, key ffffffff ffffffff          -> 408f276d 41c83b0e a20bc7c6 6d5451fd
 *   ctr 243f6a88 85a308d3 13198a2e 03707344,
 *   key a4093822 299f31d0                           -> d16cfe09 94fdcceb 5001e420 24126ea1
 *
 * Exact trigonometry: exact_cospi(x) = cos(pi x) and exact_sinpi(x) = sin(pi x) for any
 * finite float x, from +, -, * on floats and floor only (an exact range reduction, then
 * Taylor polynomials on [-pi/4, pi/4]; absolute error below 2e-7, test_philox.c measures
 * it against libm). Both languages round each of those operations the same way (IEEE-754
 * single precision, round to nearest), so the results are the same bits on both sides as
 * long as no multiply and add are fused: the OpenCL side turns FP_CONTRACT off in every
 * function (MC_NO_FP_CONTRACT), and the C side is built with -ffp-contract=off
 * (CMakeLists.txt; GCC's ISO C mode is off anyway, and clang gets the STDC pragma too).
 * A device that flushes denormal floats to zero can differ for denormal arguments only.
 *
 * Nothing here includes anything on the OpenCL side; the C side takes <stdint.h> (uint32_t)
 * and <math.h> (floorf).
 */
#ifndef MNISTCL_PHILOX_H
#define MNISTCL_PHILOX_H

#ifdef __OPENCL_VERSION__
typedef uint mc_u32;
#define PHILOX_FN inline
#define PHILOX_FLOOR(x) floor(x)
/* at the start of a function body: no fused multiply-add in it (see above) */
#define MC_NO_FP_CONTRACT _Pragma("OPENCL FP_CONTRACT OFF")
#else
#include <math.h>
#include <stdint.h>
typedef uint32_t mc_u32;
#define PHILOX_FN static inline
#define PHILOX_FLOOR(x) floorf(x)
#if defined(__clang__)
#define MC_NO_FP_CONTRACT _Pragma("STDC FP_CONTRACT OFF")
#else
#define MC_NO_FP_CONTRACT /* GCC: -ffp-contract=off, from CMakeLists.txt */
#endif
#endif

/** A Philox counter or output block: four 32-bit words. */
typedef struct {
    mc_u32 v[4];
} philox4x32;

/* The multipliers and Weyl key increments of Philox4x32 (Random123's PHILOX_M4x32_0/1,
   PHILOX_W32_0/1). */
#define PHILOX_M0 0xD2511F53u
#define PHILOX_M1 0xCD9E8D57u
#define PHILOX_W0 0x9E3779B9u
#define PHILOX_W1 0xBB67AE85u

/** The high 32 bits of the 64-bit product a * b. */
PHILOX_FN mc_u32 philox_mulhi(mc_u32 a, mc_u32 b)
{
#ifdef __OPENCL_VERSION__
    return mul_hi(a, b);
#else
    return (mc_u32)(((uint64_t)a * (uint64_t)b) >> 32);
#endif
}

/** One Philox4x32 round of counter c under key (k0, k1) (see the top of the file). */
PHILOX_FN philox4x32 philox4x32_round(philox4x32 c, mc_u32 k0, mc_u32 k1)
{
    mc_u32 hi0 = philox_mulhi(PHILOX_M0, c.v[0]), lo0 = PHILOX_M0 * c.v[0];
    mc_u32 hi1 = philox_mulhi(PHILOX_M1, c.v[2]), lo1 = PHILOX_M1 * c.v[2];
    philox4x32 r;
    r.v[0] = hi1 ^ c.v[1] ^ k0;
    r.v[1] = lo1;
    r.v[2] = hi0 ^ c.v[3] ^ k1;
    r.v[3] = lo0;
    return r;
}

/**
 * Philox4x32-10: the block of four random words for counter ctr under key (key0, key1):
 * ten rounds, the key bumped by (W0, W1) before each round after the first. Equal to
 * Random123's philox4x32(ctr, key) (the known answers above).
 */
PHILOX_FN philox4x32 philox4x32_10(philox4x32 ctr, mc_u32 key0, mc_u32 key1)
{
    ctr = philox4x32_round(ctr, key0, key1);
    for (int i = 1; i < 10; i++) {
        key0 += PHILOX_W0;
        key1 += PHILOX_W1;
        ctr = philox4x32_round(ctr, key0, key1);
    }
    return ctr;
}

/** The counter (c0, c1, c2, c3), for philox4x32_10's first argument. */
PHILOX_FN philox4x32 philox_ctr(mc_u32 c0, mc_u32 c1, mc_u32 c2, mc_u32 c3)
{
    philox4x32 c;
    c.v[0] = c0;
    c.v[1] = c1;
    c.v[2] = c2;
    c.v[3] = c3;
    return c;
}

#ifdef __OPENCL_VERSION__
/**
 * OpenCL only: Philox4x32-10 on eight counters at once, (c0, c1, c2, c3) in place, lane l
 * of each being counter l's words: the very integer operations of philox4x32_10 on each
 * lane (so the same words), as SIMD on CPU devices.
 */
inline void philox4x32_10_x8(uint8 *c0, uint8 *c1, uint8 *c2, uint8 *c3, uint k0, uint k1)
{
    for (int r = 0; r < 10; r++) {
        uint8 hi0 = mul_hi((uint8)PHILOX_M0, *c0), lo0 = (uint8)PHILOX_M0 * *c0;
        uint8 hi1 = mul_hi((uint8)PHILOX_M1, *c2), lo1 = (uint8)PHILOX_M1 * *c2;
        *c0 = hi1 ^ *c1 ^ k0;
        *c1 = lo1;
        *c2 = hi0 ^ *c3 ^ k1;
        *c3 = lo0;
        k0 += PHILOX_W0;
        k1 += PHILOX_W1;
    }
}
#endif

/**
 * A uniform float in [0, 1) from a random word: (word >> 8) * 2^-24, the 24 high bits as
 * a multiple of 2^-24. Exact (every such value is a float) in both languages.
 */
PHILOX_FN float philox_uniform(mc_u32 word)
{
    return (float)(word >> 8) * 5.9604644775390625e-8f; /* 2^-24 */
}

/* sin(pi/2 u) for |u| <= 1/2: Taylor to u^9 (the next term is below 2e-9) */
PHILOX_FN float exact_sin_quarter(float u)
{
    MC_NO_FP_CONTRACT
    float z = u * u;
    return u * (1.5707963267948966f +
                z * (-0.6459640975062462f +
                     z * (0.07969262624616703f +
                          z * (-0.004681754135318687f + z * 0.00016044118478735975f))));
}

/* cos(pi/2 u) for |u| <= 1/2: Taylor to u^10 (the next term is below 1e-9) */
PHILOX_FN float exact_cos_quarter(float u)
{
    MC_NO_FP_CONTRACT
    float z = u * u;
    return 1.0f +
           z * (-1.2337005501361697f +
                z * (0.253669507901048f +
                     z * (-0.020863480763352957f +
                          z * (0.0009192602748394263f + z * -2.5202042373060596e-05f))));
}

/*
 * The exact reduction both functions share: for a = |x| < 2^24, 2a = n + f with n =
 * floor(2a) an integer (exact) and f = 2a - n in [0, 1) (exact: a multiple of 2a's ulp,
 * below 1); f >= 1/2 moves to f - 1 (exact, Sterbenz) and n + 1. Then
 * pi a = (pi/2)(n + f): *quarter = n mod 4 and *u = f in [-1/2, 1/2).
 */
PHILOX_FN float exact_reduce_pi(float a, int *quarter)
{
    MC_NO_FP_CONTRACT
    float t = a + a;
    float n = PHILOX_FLOOR(t);
    float f = t - n;
    int q = (int)n & 3;
    if (f >= 0.5f) {
        f = f - 1.0f;
        q = (q + 1) & 3;
    }
    *quarter = q;
    return f;
}

/**
 * sin(pi x) for any finite float x, absolute error below 2e-7, the same bits in C and in
 * OpenCL (see the top of the file). |x| >= 2^24 (even integers) gives 0; inf and NaN give
 * NaN. Odd: exact_sinpi(-x) = -exact_sinpi(x).
 */
PHILOX_FN float exact_sinpi(float x)
{
    MC_NO_FP_CONTRACT
    float a = x < 0.0f ? -x : x;
    if (!(a < 16777216.0f))
        return x * 0.0f;
    int q;
    float u = exact_reduce_pi(a, &q);
    float s = exact_sin_quarter(u), c = exact_cos_quarter(u);
    float r = q == 0 ? s : q == 1 ? c : q == 2 ? -s : -c;
    return x < 0.0f ? -r : r;
}

/**
 * cos(pi x) for any finite float x, absolute error below 2e-7, the same bits in C and in
 * OpenCL. |x| >= 2^24 (even integers) gives 1; inf and NaN give NaN. Even.
 */
PHILOX_FN float exact_cospi(float x)
{
    MC_NO_FP_CONTRACT
    float a = x < 0.0f ? -x : x;
    if (!(a < 16777216.0f))
        return x - x + 1.0f; /* 1, or NaN for inf and NaN */
    int q;
    float u = exact_reduce_pi(a, &q);
    float s = exact_sin_quarter(u), c = exact_cos_quarter(u);
    return q == 0 ? c : q == 1 ? -s : q == 2 ? -c : s;
}

#endif
