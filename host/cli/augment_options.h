/*
 * The distortions' options (--shift, --rotate, --scale, --elastic-alpha, --elastic-sigma,
 * --augment-seed), for any command that runs the augment operation (`predict
 * --augment-demo`; `train --augment` can take them too): a struct, its defaults (Simard's
 * settings, backend/augment.h), the option table entries and the augment_args they make.
 */
#ifndef MNISTCL_AUGMENT_OPTIONS_H
#define MNISTCL_AUGMENT_OPTIONS_H

#include <stdint.h>

#include "backend/backend_ops.h"
#include "cli/cli_options.h"

/** The settings of the distortions, as the options give them. */
typedef struct {
    float shift;  /* --shift PIXELS: up to this much each way, each axis (0: none) */
    float rotate; /* --rotate DEGREES: up to this much either way (0: none) */
    float scale;  /* --scale FRACTION: a factor in 1 - scale .. 1 + scale (0: none) */
    float alpha;  /* --elastic-alpha PIXELS: the elastic field's strength (0: none) */
    float sigma;  /* --elastic-sigma PIXELS: its smoothness, the Gaussian's std */
    uint64_t seed; /* --augment-seed N: the key of the draws */
} augment_options;

/** Shift 2, rotate 10, scale 0.1, elastic alpha 34 and sigma 4 (Simard 2003), seed 0. */
void augment_options_defaults(augment_options *o);

/** Number of entries augment_options_table adds at most. */
#define AUGMENT_OPTION_COUNT 6

/**
 * Adds the options (their bounds: shift 0..10000, rotate 0..180, scale 0..0.9, alpha
 * 0..10000, sigma 0.01..AUGMENT_MAX_RADIUS/3), and with with_seed --augment-seed (a
 * command whose draws follow a seed of its own, as `train` does, leaves it out), to table
 * at n; returns the new count. The help texts say what each does, not which command flag
 * turns them on.
 */
int augment_options_table(augment_options *o, cli_option *table, int n, int with_seed);

/** Copies o's settings into a (its buffers, rows and epoch stay as they are). */
void augment_options_apply(const augment_options *o, augment_args *a);

/** "shift 2 px, rotate 10 deg, scale 0.1, elastic 34/4, seed 0" (elastic alpha/sigma) into out. */
void augment_options_describe(const augment_options *o, char *out, size_t len);

#endif
