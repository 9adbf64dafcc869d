/*
 * op_contract.h: the preconditions of every operation of the table (backend_ops.h), checked
 * once for both backends. Each op_contract_<op> holds the union of what the CPU reference
 * and the OpenCL backend need of their arguments: sizes of at least 1, the buffers the
 * operation reads or writes present and large enough from their offsets, the limits of the
 * fused operations and the relations between their parts. Both backends call it first
 * (OP_CONTRACT), so a caller that breaks a contract gets the same answer from either.
 *
 * A broken contract is a bug of the caller, not of the user's input: the check prints
 *   mnistcl: internal error: <op>: <the condition as written> (<the values involved>)
 * to stderr and returns MC_ERR_RUNTIME. A backend's own extra limits (an OpenCL kernel
 * that indexes a buffer from 0) go through OP_REQUIRE, in the same format.
 */
#ifndef MNISTCL_OP_CONTRACT_H
#define MNISTCL_OP_CONTRACT_H

#include <stddef.h>

#include "backend/backend_ops.h"

/**
 * Prints "mnistcl: internal error: OP: COND (DETAILS)" (DETAILS formatted from fmt) to
 * stderr and returns MC_ERR_RUNTIME.
 */
mc_status op_contract_broken(const char *op, const char *cond, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/**
 * Checks that r names a buffer holding `count` elements of `elem` bytes from its offset;
 * if not, reports "OP: R holds COUNT elements" (r_text, count_text: the expressions as
 * written) with the offset, the count and the buffer's size, and returns MC_ERR_RUNTIME.
 */
mc_status op_require_span(const char *op, const char *r_text, const char *count_text, bref r,
                          size_t count, size_t elem);

/** Elements a (rows, cols) matrix with row stride ld spans: (rows - 1)·ld + cols, or 0. */
static inline size_t mat_extent(size_t rows, size_t cols, size_t ld)
{
    return rows && cols ? (rows - 1) * ld + cols : 0;
}

/** a·b and a + b in size_t, for the element counts of the checks (no int overflow). */
static inline size_t prod(size_t a, size_t b)
{
    return a * b;
}
static inline size_t plus(size_t a, size_t b)
{
    return a + b;
}

/** Returns op_contract_broken(op, "cond", ...) from the calling function unless cond holds. */
#define OP_REQUIRE(op, cond, ...)                                                             \
    do {                                                                                      \
        if (!(cond))                                                                          \
            return op_contract_broken((op), #cond, __VA_ARGS__);                              \
    } while (0)

/** Returns MC_ERR_RUNTIME (reported) unless bref r holds count elements of elem bytes. */
#define OP_REQUIRE_SPAN(op, r, count, elem)                                                   \
    do {                                                                                      \
        mc_status span_st_ = op_require_span((op), #r, #count, (r), (count), (elem));         \
        if (span_st_)                                                                         \
            return span_st_;                                                                  \
    } while (0)

/** OP_REQUIRE_SPAN for a buffer that may be left out (NULL: not wanted). */
#define OP_REQUIRE_OPT_SPAN(op, r, count, elem)                                               \
    do {                                                                                      \
        if ((r).b)                                                                            \
            OP_REQUIRE_SPAN(op, r, count, elem);                                              \
    } while (0)

/* One check per operation: MC_OK, or MC_ERR_RUNTIME with the broken condition reported. */
mc_status op_contract_gather(const gather_args *a);
mc_status op_contract_gemm(const gemm_args *a);
mc_status op_contract_loss(const loss_args *a);
mc_status op_contract_output_step(const output_step_args *a);
mc_status op_contract_probs(const probs_args *a);
mc_status op_contract_update(const update_args *a);
mc_status op_contract_sum(const sum_args *a);
mc_status op_contract_sequential(const sequential_args *a);
mc_status op_contract_sparse_forward(const sparse_forward_args *a);
mc_status op_contract_sparse_forward_output(const sparse_forward_output_args *a);
mc_status op_contract_sparse_grad(const sparse_grad_args *a);
mc_status op_contract_sparse_backward_update(const sparse_backward_update_args *a);
mc_status op_contract_dropout(const dropout_args *a);
mc_status op_contract_augment(const augment_args *a);
mc_status op_contract_window_images(const window_images_args *a);

/** At the entry of a backend's operation: returns the contract's status if it is broken. */
#define OP_CONTRACT(name, args)                                                               \
    do {                                                                                      \
        mc_status contract_st_ = op_contract_##name(args);                                    \
        if (contract_st_)                                                                     \
            return contract_st_;                                                              \
    } while (0)

#endif
