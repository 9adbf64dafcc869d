/*
 * kernels/philox.h on the C side (the device side is compared with it in test_ops: the
 * dropout cases' expected outputs come from philox4x32_10 here, and the augment cases with
 * rotation compare exact_cospi / exact_sinpi on both backends bit for bit):
 *   - philox4x32_10 gives Random123's known answers (kat_vectors, philox4x32 R=10);
 *   - philox_uniform is (word >> 8) * 2^-24: 0 at 0, 1 - 2^-24 at 0xffffffff, exact;
 *   - a million draws look uniform (mean, and each of 16 bins within 5 sigma);
 *   - exact_sinpi / exact_cospi are within 2e-7 of sin(pi x) / cos(pi x) (libm, in double
 *     after an exact reduction of x modulo 2) over a dense grid of [-4, 4], random floats
 *     of every exponent, integers, half-integers and the values around them, and 2^22 ..
 *     2^31; exact at 0, 1/2, 1, the integers and beyond 2^24; odd and even as they should.
 * Prints the largest errors found.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "mnistcl/rng.h"
#include "philox.h"
#include "test_util.h"

/* Checks philox4x32_10(ctr, key) against a known answer. */
static void kat(const mc_u32 ctr[4], mc_u32 k0, mc_u32 k1, const mc_u32 want[4])
{
    philox4x32 got = philox4x32_10(philox_ctr(ctr[0], ctr[1], ctr[2], ctr[3]), k0, k1);
    if (memcmp(got.v, want, sizeof got.v))
        test_fail("philox4x32_10(%08x %08x %08x %08x, key %08x %08x) = %08x %08x %08x %08x, "
                  "want %08x %08x %08x %08x",
                  ctr[0], ctr[1], ctr[2], ctr[3], k0, k1, got.v[0], got.v[1], got.v[2], got.v[3],
                  want[0], want[1], want[2], want[3]);
}

static void test_known_answers(void)
{
    const mc_u32 zero[4] = {0, 0, 0, 0}, ones[4] = {~0u, ~0u, ~0u, ~0u},
                 pi[4] = {0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344};
    const mc_u32 a0[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8},
                 a1[4] = {0x408f276d, 0x41c83b0e, 0xa20bc7c6, 0x6d5451fd},
                 a2[4] = {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1};
    kat(zero, 0, 0, a0);
    kat(ones, ~0u, ~0u, a1);
    kat(pi, 0xa4093822, 0x299f31d0, a2);
    printf("philox4x32_10: the three known answers\n");
}

static void test_uniform(void)
{
    if (philox_uniform(0) != 0.0f || philox_uniform(255) != 0.0f)
        test_fail("philox_uniform(0 or 255) != 0");
    if (philox_uniform(0xffffffffu) != 1.0f - 0x1p-24f)
        test_fail("philox_uniform(0xffffffff) = %.9g, want 1 - 2^-24", philox_uniform(~0u));
    if (philox_uniform(0x80000000u) != 0.5f)
        test_fail("philox_uniform(0x80000000) = %.9g, want 0.5", philox_uniform(0x80000000u));
    for (mc_u32 w = 1; w < 0xffffff00u; w = w * 3 + 7)
        if ((double)philox_uniform(w) != (double)(w >> 8) / 16777216.0)
            test_fail("philox_uniform(%08x) is not exact", w);
    /* a million draws: mean 1/2, 16 equal bins */
    enum { N = 1 << 20, BINS = 16 };
    long bins[BINS] = {0};
    double sum = 0;
    for (mc_u32 k = 0; k < N / 4; k++) {
        philox4x32 r = philox4x32_10(philox_ctr(k, 0, 1, 2), 12345, 678);
        for (int j = 0; j < 4; j++) {
            float u = philox_uniform(r.v[j]);
            sum += u;
            bins[(int)(u * BINS)]++;
        }
    }
    double mean = sum / N, sd_mean = sqrt(1.0 / 12 / N);
    if (fabs(mean - 0.5) > 5 * sd_mean)
        test_fail("mean of %d uniforms %.6f, want 0.5 +- %.6f", N, mean, 5 * sd_mean);
    double expect = (double)N / BINS, sd = sqrt(expect * (1 - 1.0 / BINS));
    for (int b = 0; b < BINS; b++)
        if (fabs(bins[b] - expect) > 5 * sd)
            test_fail("bin %d holds %ld of %d uniforms, want %.0f +- %.0f", b, bins[b], N, expect,
                      5 * sd);
    printf("philox_uniform: exact, mean %.6f over %d draws, 16 bins within 5 sigma\n", mean, N);
}

#define PI_D 3.14159265358979323846

static double max_sin_err, max_cos_err;
static float worst_sin_x, worst_cos_x;
static long trig_checked;

/* Compares both functions at x with libm in double (x reduced modulo 2 exactly first). */
static void trig_at(float x)
{
    double r = fmod((double)x, 2.0); /* exact */
    double s = sin(PI_D * r), c = cos(PI_D * r);
    double es = fabs((double)exact_sinpi(x) - s), ec = fabs((double)exact_cospi(x) - c);
    trig_checked++;
    if (!(es <= max_sin_err)) /* NaN counts as worst */
        max_sin_err = isnan(es) ? INFINITY : es, worst_sin_x = x;
    if (!(ec <= max_cos_err))
        max_cos_err = isnan(ec) ? INFINITY : ec, worst_cos_x = x;
    if (exact_sinpi(-x) != -exact_sinpi(x) || exact_cospi(-x) != exact_cospi(x))
        test_fail("exact_sinpi / exact_cospi not odd / even at %.9g", x);
}

static void test_trig(void)
{
    for (int k = -(1 << 22); k <= (1 << 22); k++) /* [-4, 4] in steps of 2^-20 */
        trig_at((float)k * 0x1p-20f);
    rng r;
    rng_seed(&r, 99);
    for (int k = 0; k < 1 << 21; k++) { /* random finite floats, every exponent */
        uint32_t bits = (uint32_t)rng_next(&r);
        float x;
        memcpy(&x, &bits, sizeof x);
        if (isfinite(x))
            trig_at(x);
    }
    for (int k = -4096; k <= 4096; k++) { /* integers, half-integers and their neighbours */
        float h = (float)k * 0.5f;
        trig_at(h);
        trig_at(nextafterf(h, -INFINITY));
        trig_at(nextafterf(h, INFINITY));
    }
    for (float x = 0x1p22f; x < 0x1p31f; x = x * 1.0001f + 1.0f) /* large: multiples of 1/2 */
        trig_at(x);
    for (float x = 1e-30f; x < 1.0f; x *= 1.01f) /* small */
        trig_at(x);
    printf("exact_sinpi: max error %.3g at %.9g; exact_cospi: max error %.3g at %.9g "
           "(%ld values)\n",
           max_sin_err, worst_sin_x, max_cos_err, worst_cos_x, trig_checked);
    if (!(max_sin_err < 2e-7) || !(max_cos_err < 2e-7))
        test_fail("trig error above 2e-7: sin %.3g at %.9g, cos %.3g at %.9g", max_sin_err,
                  worst_sin_x, max_cos_err, worst_cos_x);
    /* exact values */
    struct {
        float x, s, c;
    } exact[] = {{0, 0, 1}, {0.5f, 1, 0}, {1, 0, -1}, {1.5f, -1, 0}, {2, 0, 1},
                 {-0.5f, -1, 0}, {3, 0, -1}, {0x1p24f, 0, 1}, {0x1p30f, 0, 1}, {1e38f, 0, 1}};
    for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
        if (exact_sinpi(exact[i].x) != exact[i].s || exact_cospi(exact[i].x) != exact[i].c)
            test_fail("sinpi/cospi(%.9g) = %.9g, %.9g; want %g, %g", exact[i].x,
                      exact_sinpi(exact[i].x), exact_cospi(exact[i].x), exact[i].s, exact[i].c);
    for (int k = -1000; k <= 1000; k++)
        if (exact_sinpi((float)k) != 0.0f || fabsf(exact_cospi((float)k)) != 1.0f ||
            exact_cospi((float)k + 0.5f) != 0.0f)
            test_fail("sinpi/cospi not exact at the integer %d", k);
    if (!isnan(exact_sinpi(INFINITY)) || !isnan(exact_cospi(NAN)))
        test_fail("exact_sinpi(inf) or exact_cospi(NaN) is not NaN");
}

int main(void)
{
    test_known_answers();
    test_uniform();
    test_trig();
    return test_exit_code();
}
