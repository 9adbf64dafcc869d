/* Scalar activation functions shared by the CPU reference and host-side displays. */
#ifndef MNISTCL_ACTIVATIONS_H
#define MNISTCL_ACTIVATIONS_H

#include <math.h>

#include "mnistcl/mlp_kinds.h"

/** act(x) in double precision. */
static inline double act_apply(act_kind a, double x)
{
    switch (a) {
    case ACT_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case ACT_RELU: return x > 0.0 ? x : 0.0;
    case ACT_TANH: return tanh(x);
    case ACT_IDENTITY: break;
    }
    return x;
}

/** act'(x) expressed through the activation's output y = act(x). */
static inline double act_grad_from_output(act_kind a, double y)
{
    switch (a) {
    case ACT_SIGMOID: return y * (1.0 - y);
    case ACT_RELU: return y > 0.0 ? 1.0 : 0.0;
    case ACT_TANH: return 1.0 - y * y;
    case ACT_IDENTITY: break;
    }
    return 1.0;
}

#endif
