/*
 * The exchange (train/exchange.h), run as every rank of `mpirun -np R test_exchange` (or
 * alone, R = 1, where every call must leave the numbers as they are):
 *   - the sums of floats and doubles are added in rank order, r0 + r1 + ... from the
 *     left: each rank contributes values for which other orders give other bits (1e8, a
 *     small number, -1e8: with three ranks or more some element tells the orders apart,
 *     which the test checks too, so it can fail), over 3,000,001 floats (several pieces
 *     of the 16 MiB scratch) and 100,003 doubles;
 *   - the sum of 64-bit integers is exact past 2^53, the largest int is every rank's,
 *     rank 0's bytes reach every rank (a piece that is no multiple of anything);
 *   - every rank ends with the same bits (a checksum of its results, max and min over
 *     the ranks equal);
 *   - the rank count is the launcher's (OMPI_COMM_WORLD_SIZE when set).
 * Rank 0 prints what was checked; each rank's failures go to stdout with its rank.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "test_util.h"
#include "train/exchange.h"

/* Rank q's float at index i: 1e8 on rank 0, a small value on the middle ranks, -1e8 on
   the last, alternating sign with i. */
static float float_of(int q, int ranks, size_t i)
{
    float sign = (i & 1) ? -1.0f : 1.0f;
    if (q == 0)
        return sign * 1e8f;
    if (q == ranks - 1 && ranks > 2)
        return -sign * 1e8f;
    return (float)(1 + (int)(i % 7)) + 0.25f * (float)q;
}

/* The same for doubles, at 1e17. */
static double double_of(int q, int ranks, size_t i)
{
    double sign = (i & 1) ? -1.0 : 1.0;
    if (q == 0)
        return sign * 1e17;
    if (q == ranks - 1 && ranks > 2)
        return -sign * 1e17;
    return (double)(1 + (int)(i % 5)) + 0.5 * q;
}

/* FNV-1a of n bytes, folded to a non-negative int. */
static int checksum(const void *p, size_t n, uint32_t h)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++)
        h = (h ^ b[i]) * 16777619u;
    return (int)(h & 0x7fffffff);
}

int main(void)
{
    exchange *x = exchange_world();
    int R = exchange_ranks(x), me = exchange_rank(x);
    mc_error err = {{0}};
    const char *launcher = getenv("OMPI_COMM_WORLD_SIZE");
    if (launcher && atoi(launcher) != R)
        test_fail("rank %d: %d ranks, the launcher says %s", me, R, launcher);
    if (me < 0 || me >= R)
        test_fail("rank %d of %d", me, R);

    /* floats, in rank order */
    size_t nf = 3000001;
    float *f = malloc(nf * sizeof *f);
    if (!f)
        return 1;
    for (size_t i = 0; i < nf; i++)
        f[i] = float_of(me, R, i);
    mc_status st = exchange_sum_floats(x, f, nf, &err);
    if (st)
        test_fail("rank %d: exchange_sum_floats: %s", me, err.msg);
    size_t bad = 0, told_apart = 0;
    for (size_t i = 0; !st && i < nf; i++) {
        float s = float_of(0, R, i), other = float_of(R - 1, R, i);
        for (int q = 1; q < R; q++)
            s += float_of(q, R, i);
        for (int q = 0; q < R - 1; q++) /* the reverse order */
            other += float_of(q, R, i);
        if (memcmp(&s, &f[i], sizeof s) != 0 && bad++ == 0)
            test_fail("rank %d: float sum [%zu] = %.9g, rank order gives %.9g", me, i,
                      (double)f[i], (double)s);
        told_apart += memcmp(&s, &other, sizeof s) != 0;
    }
    if (R >= 3 && !told_apart)
        test_fail("rank %d: no element where the order of addition matters", me);

    /* doubles, in rank order */
    size_t nd = 100003;
    double *d = malloc(nd * sizeof *d);
    if (!d)
        return 1;
    for (size_t i = 0; i < nd; i++)
        d[i] = double_of(me, R, i);
    if ((st = exchange_sum_doubles(x, d, nd, &err)))
        test_fail("rank %d: exchange_sum_doubles: %s", me, err.msg);
    for (size_t i = 0, bad_d = 0; !st && i < nd; i++) {
        double s = double_of(0, R, i);
        for (int q = 1; q < R; q++)
            s += double_of(q, R, i);
        if (memcmp(&s, &d[i], sizeof s) != 0 && bad_d++ == 0)
            test_fail("rank %d: double sum [%zu] = %.17g, rank order gives %.17g", me, i, d[i],
                      s);
    }

    /* 64-bit integers past 2^53 */
    long long l[3] = {(1LL << 60) / 64 * (me + 1) + 1, -(long long)me, 7};
    if ((st = exchange_sum_longs(x, l, 3, &err)))
        test_fail("rank %d: exchange_sum_longs: %s", me, err.msg);
    long long want0 = 0, want1 = 0;
    for (int q = 0; q < R; q++)
        want0 += (1LL << 60) / 64 * (q + 1) + 1, want1 -= q;
    if (!st && (l[0] != want0 || l[1] != want1 || l[2] != 7LL * R))
        test_fail("rank %d: long sums %lld %lld %lld, want %lld %lld %lld", me, l[0], l[1], l[2],
                  want0, want1, 7LL * R);

    /* the largest int */
    int m = (me * 5 + 3) % (R + 2), want_m = 0;
    for (int q = 0; q < R; q++)
        want_m = (q * 5 + 3) % (R + 2) > want_m ? (q * 5 + 3) % (R + 2) : want_m;
    if ((st = exchange_max_int(x, &m, &err)) || m != want_m)
        test_fail("rank %d: exchange_max_int = %d, want %d (%s)", me, m, want_m, err.msg);

    /* rank 0's bytes */
    unsigned char b[1237];
    for (size_t i = 0; i < sizeof b; i++)
        b[i] = me == 0 ? (unsigned char)(i * 31 + 7) : 0xee;
    if ((st = exchange_broadcast(x, b, sizeof b, &err)))
        test_fail("rank %d: exchange_broadcast: %s", me, err.msg);
    for (size_t i = 0; !st && i < sizeof b; i++)
        if (b[i] != (unsigned char)(i * 31 + 7)) {
            test_fail("rank %d: broadcast byte %zu = %u, rank 0 sent %u", me, i, b[i],
                      (unsigned)(unsigned char)(i * 31 + 7));
            break;
        }

    /* the same bits everywhere */
    int sum = checksum(f, nf * sizeof *f, checksum(d, nd * sizeof *d, 2166136261u));
    int hi = sum, lo = -sum;
    if (exchange_max_int(x, &hi, &err) || exchange_max_int(x, &lo, &err))
        test_fail("rank %d: comparing the checksums: %s", me, err.msg);
    else if (hi != sum || -lo != sum)
        test_fail("rank %d: checksums differ between ranks (%d here, %d to %d)", me, sum, -lo,
                  hi);
    if (me == 0)
        printf("%d rank%s: rank-order sums of %zu floats and %zu doubles (%s), 64-bit sums, "
               "max, broadcast, the same bits on every rank: %s\n",
               R, R == 1 ? "" : "s", nf, nd,
               R >= 3 ? "the order of addition told apart" : "two ranks or one: any order",
               test_failures ? "FAILED" : "ok");
    free(f);
    free(d);
    exchange_close();
    exchange_close(); /* a second time: nothing */
    return test_exit_code();
}
