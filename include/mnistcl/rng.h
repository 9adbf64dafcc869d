/* Seeded pseudo-random numbers: xoshiro256** seeded through splitmix64.
 * One generator makes the initial weights and every epoch's shuffle, on the host, so
 * every backend sees the same numbers for the same seed. */
#ifndef MNISTCL_RNG_H
#define MNISTCL_RNG_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint64_t s[4]; /* xoshiro256** state; never all zero */
} rng;

/** Seeds the generator; every seed (0 included) gives a valid, distinct stream. */
void rng_seed(rng *r, uint64_t seed);

/** Next 64 random bits. */
uint64_t rng_next(rng *r);

/** Uniform double in [0, 1) with 53 random bits. */
double rng_uniform(rng *r);

/** Standard normal deviate (Box-Muller; consumes two draws, caches nothing). */
double rng_normal(rng *r);

/** Uniform integer in [0, n), without modulo bias; n must be > 0. */
uint32_t rng_below(rng *r, uint32_t n);

/** Fisher-Yates shuffle of a[0..n). */
void rng_shuffle(rng *r, int32_t *a, size_t n);

#endif
