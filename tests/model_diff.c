/*
 * model_diff A B [ATOL RTOL]: compares two model (or checkpoint) files parameter by
 * parameter; prints the largest difference; exits 0 when every parameter is within
 * |a - b| <= ATOL + RTOL |b| (default 0 and 0: identical), 1 otherwise, 2 on bad input.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/model_io.h"

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 5) {
        fprintf(stderr, "usage: model_diff A B [ATOL RTOL]\n");
        return 2;
    }
    double atol = argc == 5 ? atof(argv[3]) : 0, rtol = argc == 5 ? atof(argv[4]) : 0;
    mlp_spec sa, sb;
    float *pa = NULL, *pb = NULL;
    mc_error err;
    if (model_load(argv[1], &sa, &pa, NULL, &err) || model_load(argv[2], &sb, &pb, NULL, &err)) {
        fprintf(stderr, "model_diff: %s\n", err.msg);
        return 2;
    }
    size_t n = mlp_param_count(&sa);
    if (sa.n_layers != sb.n_layers || memcmp(sa.sizes, sb.sizes, sizeof sa.sizes) ||
        n != mlp_param_count(&sb)) {
        fprintf(stderr, "model_diff: the networks differ in shape\n");
        return 1;
    }
    size_t bad = 0, worst = 0;
    double worst_diff = 0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)pa[i] - pb[i]);
        if (d > worst_diff)
            worst_diff = d, worst = i;
        bad += !(d <= atol + rtol * fabs((double)pb[i]));
    }
    printf("%zu parameters, %zu outside |a-b| <= %g + %g|b|, largest difference %.3g at [%zu] "
           "(%.9g vs %.9g)\n",
           n, bad, atol, rtol, worst_diff, worst, pa[worst], pb[worst]);
    free(pa), free(pb);
    return bad ? 1 : 0;
}
