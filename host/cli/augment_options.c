/* The distortions' options (augment_options.h). */
#include "cli/augment_options.h"

#include <stdio.h>

#include "backend/augment.h"

void augment_options_defaults(augment_options *o)
{
    o->shift = AUGMENT_DEFAULT_SHIFT;
    o->rotate = AUGMENT_DEFAULT_ROTATE;
    o->scale = AUGMENT_DEFAULT_SCALE;
    o->alpha = AUGMENT_DEFAULT_ALPHA;
    o->sigma = AUGMENT_DEFAULT_SIGMA;
    o->seed = 0;
}

int augment_options_table(augment_options *o, cli_option *t, int n, int with_seed)
{
    t[n++] = cli_opt("shift", OPT_FLOAT, &o->shift, "PIXELS",
                     "distortions: shift by up to this much each way, each axis (0: none)", 0,
                     10000);
    t[n++] = cli_opt("rotate", OPT_FLOAT, &o->rotate, "DEGREES",
                     "distortions: rotate by up to this much either way (0: none)", 0, 180);
    t[n++] = cli_opt("scale", OPT_FLOAT, &o->scale, "FRACTION",
                     "distortions: scale by a factor in 1-FRACTION .. 1+FRACTION, both axes "
                     "alike (0: none)",
                     0, 0.9);
    t[n++] = cli_opt("elastic-alpha", OPT_FLOAT, &o->alpha, "PIXELS",
                     "distortions: strength of Simard's elastic distortion (Simard 2003: 34; "
                     "0: none)",
                     0, 10000);
    t[n++] = cli_opt("elastic-sigma", OPT_FLOAT, &o->sigma, "PIXELS",
                     "distortions: smoothness of the elastic field, its Gaussian's std "
                     "(Simard: 4)",
                     0.01, AUGMENT_MAX_RADIUS / 3.0);
    if (with_seed)
        t[n++] = cli_opt("augment-seed", OPT_U64, &o->seed, "N",
                         "distortions: seed of their random draws", 0, 0);
    return n;
}

void augment_options_apply(const augment_options *o, augment_args *a)
{
    a->shift = o->shift;
    a->rotate_deg = o->rotate;
    a->scale = o->scale;
    a->alpha = o->alpha;
    a->sigma = o->sigma;
    a->seed = o->seed;
}

void augment_options_describe(const augment_options *o, char *out, size_t len)
{
    snprintf(out, len, "shift %g px, rotate %g deg, scale %g, elastic %g/%g, seed %llu", o->shift,
             o->rotate, o->scale, o->alpha, o->sigma, (unsigned long long)o->seed);
}
