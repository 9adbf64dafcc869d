/*
 * step_rule.h: what the update rule uses at step t of a run (t = 0, 1, ... over the
 * whole run, not the epoch): the learning rate of the schedule and Adam's bias
 * corrections. Valid C and OpenCL C, like kernel_interface.h: the host computes every
 * step's values with it (train/trainer.c) and passes them to the kernels as arguments,
 * and the per-sample kernel (train_seq.cl), which runs many steps in one launch,
 * computes them with the very same code. Only +, -, *, / and sqrt on floats (the powers
 * by repeated squaring, the cosine by philox.h's exact_cospi), no contraction into fused
 * multiply-adds (MC_NO_FP_CONTRACT), so both sides give the same bits. The OpenCL program
 * text has philox.h before it.
 */
#ifndef MNISTCL_STEP_RULE_H
#define MNISTCL_STEP_RULE_H

#ifdef __OPENCL_VERSION__
/* FP_CONTRACT off inside each function (MC_NO_FP_CONTRACT, philox.h), so the program's
   other kernels keep the default */
#define STEP_RULE_FN inline
#define STEP_RULE_SQRT sqrt
#else
#include <math.h>

#include "kernel_interface.h"
#include "philox.h"
#define STEP_RULE_FN static inline
#define STEP_RULE_SQRT sqrtf
#endif

/** b^e for e >= 0, by repeated squaring (the same products on every device). */
STEP_RULE_FN float step_rule_pow(float b, int e)
{
    MC_NO_FP_CONTRACT
    float r = 1.0f;
    while (e > 0) {
        if (e & 1)
            r = r * b;
        b = b * b;
        e >>= 1;
    }
    return r;
}

/*
 * Double-float arithmetic (a value as hi + lo, two floats, Dekker 1971) with only +, -, *,
 * so that b^t keeps about 44 bits over the thousands of multiplications a power of a
 * float near 1 amounts to. dfloat_mul's error is ~2^-44 relative.
 */
typedef struct {
    float hi, lo;
} dfloat;

/* a = hi + lo exactly, hi with the upper 12 bits of a's significand (Veltkamp's split). */
STEP_RULE_FN dfloat dfloat_split(float a)
{
    MC_NO_FP_CONTRACT
    float c = 4097.0f * a;
    dfloat r;
    r.hi = c - (c - a);
    r.lo = a - r.hi;
    return r;
}

/* x · y in double-float. */
STEP_RULE_FN dfloat dfloat_mul(dfloat x, dfloat y)
{
    MC_NO_FP_CONTRACT
    float p = x.hi * y.hi;
    dfloat a = dfloat_split(x.hi), b = dfloat_split(y.hi);
    float e = ((a.hi * b.hi - p) + a.hi * b.lo + a.lo * b.hi) + a.lo * b.lo; /* x.hi y.hi - p */
    e = e + (x.hi * y.lo + x.lo * y.hi);
    dfloat r;
    r.hi = p + e;
    r.lo = e - (r.hi - p);
    return r;
}

/**
 * 1 - b^t for 0 <= b < 1, t >= 0, to float precision: b^t by repeated squaring in
 * double-float, then 1 - hi (exact by Sterbenz's lemma where it cancels) - lo. Plain float
 * would lose digits twice: each squaring doubles the relative error of a power (b^1000
 * off by ~1000 ulp), and 1 - b^t cancels near t = 1 (Adam's 1 - 0.999^t).
 */
STEP_RULE_FN float step_rule_one_minus_pow(float b, int t)
{
    MC_NO_FP_CONTRACT
    dfloat r, base;
    r.hi = 1.0f, r.lo = 0.0f;
    base.hi = b, base.lo = 0.0f;
    while (t > 0) {
        if (t & 1)
            r = dfloat_mul(r, base);
        base = dfloat_mul(base, base);
        t >>= 1;
    }
    return (1.0f - r.hi) - r.lo;
}

/** (1 + cos(pi x)) / 2 as cos(pi x / 2)^2, which keeps its digits near x = 1. */
STEP_RULE_FN float step_rule_half_cosine(float x)
{
    MC_NO_FP_CONTRACT
    float c = exact_cospi(0.5f * x);
    return c * c;
}

/**
 * The learning rate of step t (0-based) of a run of `total` steps, from the rate lr:
 *   warm-up (warmup > 0, not ONECYCLE): lr · (t + 1) / warmup for t < warmup, then the
 *            schedule below runs over the remaining steps (t -= warmup, total -= warmup)
 *   CONSTANT lr
 *   STEP     lr · gamma^floor(t / every)
 *   COSINE   final + (lr - final) · (1 + cos(pi · t / total)) / 2
 *   ONECYCLE PyTorch's OneCycleLR (cosine, two phases, div 25, final div 1e4): from lr/25
 *            up to lr over the first `warmup` steps (0: 30% of total), then down to
 *            lr/25/1e4 at step total - 1; `final` is not used.
 */
STEP_RULE_FN float schedule_lr(int kind, float lr, float final_lr, int total, int warmup,
                               int every, float gamma, int t)
{
    MC_NO_FP_CONTRACT
    if (kind == SCHEDULE_ONECYCLE) {
        int up = warmup > 0 ? warmup : (int)(0.3f * (float)total);
        float initial = lr / 25.0f, min_lr = initial / 1e4f;
        float end1 = (float)up - 1.0f, end2 = (float)total - 1.0f;
        float start, end, pct;
        if ((float)t <= end1) {
            start = initial, end = lr;
            pct = end1 > 0.0f ? (float)t / end1 : 1.0f;
        } else {
            start = lr, end = min_lr;
            pct = end2 > end1 ? ((float)t - end1) / (end2 - end1) : 1.0f;
        }
        if (pct > 1.0f)
            pct = 1.0f;
        return end + (start - end) * step_rule_half_cosine(pct);
    }
    if (warmup > 0 && t < warmup)
        return lr * (float)(t + 1) / (float)warmup;
    if (warmup > 0) {
        t -= warmup;
        total -= warmup;
    }
    if (kind == SCHEDULE_STEP)
        return lr * step_rule_pow(gamma, every > 0 ? t / every : 0);
    if (kind == SCHEDULE_COSINE) {
        float pct = total > 0 ? (float)t / (float)total : 1.0f;
        if (pct > 1.0f)
            pct = 1.0f;
        return final_lr + (lr - final_lr) * step_rule_half_cosine(pct);
    }
    return lr;
}

/** Adam's step size at step t (0-based): lr_t / (1 - beta1^(t+1)). */
STEP_RULE_FN float adam_step_size(float lr_t, float beta1, int t)
{
    MC_NO_FP_CONTRACT
    return lr_t / step_rule_one_minus_pow(beta1, t + 1);
}

/** Adam's second-moment correction at step t (0-based): sqrt(1 - beta2^(t+1)). */
STEP_RULE_FN float adam_bc2_sqrt(float beta2, int t)
{
    MC_NO_FP_CONTRACT
    return STEP_RULE_SQRT(step_rule_one_minus_pow(beta2, t + 1));
}

#endif
