/*
 * mlp_kinds.h: the activation and output-layer codes, shared by the host and the OpenCL
 * kernels. It is valid C and OpenCL C (plain enums, nothing included): mnistcl/mlp.h
 * includes it, and the OpenCL program text starts with it (backend/opencl/ocl_program.c
 * prepends the copy embedded at build time), so a code cannot differ between the two.
 */
#ifndef MNISTCL_MLP_KINDS_H
#define MNISTCL_MLP_KINDS_H

/** Element-wise activation applied after a dense layer. */
typedef enum { ACT_IDENTITY = 0, ACT_SIGMOID = 1, ACT_RELU = 2, ACT_TANH = 3 } act_kind;

/** What the output layer computes and which loss trains it. */
typedef enum {
    OUT_SOFTMAX_XENT = 0, /* softmax probabilities, cross-entropy loss, delta p - t */
    OUT_SIGMOID_MSE = 1,  /* sigmoid outputs, mean squared error, delta o - t (seed 000) */
} output_kind;

#endif
