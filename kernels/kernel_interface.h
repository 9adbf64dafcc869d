/*
 * kernel_interface.h: what the host code and the kernels must agree on, written once.
 * It is valid C and OpenCL C: the C code includes it (backend/backend_ops.h), and the
 * OpenCL program text starts with it (backend/opencl/ocl_program.c prepends it, with
 * mnistcl/mlp_kinds.h, to the .cl files), so an enum value or a limit cannot differ
 * between the two sides.
 */
#ifndef MNISTCL_KERNEL_INTERFACE_H
#define MNISTCL_KERNEL_INTERFACE_H

/** What a GEMM does with its product before storing it (gemm_args, gemm_epilogue_one). */
typedef enum {
    EPI_NONE = 0,     /* C = alpha·P + beta·C (C is not read when beta == 0) */
    EPI_BIAS_ACT = 1, /* C = act(alpha·P + bias[j])                      (forward layer) */
    EPI_ACT_GRAD = 2, /* C = alpha·P ⊙ act'(aux[i][j]), act' from act's output (backward) */
} gemm_epilogue;

/** The rule that turns a gradient into a parameter step (update_rule, update.cl). */
typedef enum {
    UPDATE_SGD = 0, /* g += wd·p; v = mu·v + g (mu != 0); p -= lr·v: PyTorch's SGD */
} update_kind;

/** Widest output layer of the fused output step (one float16 of logits per row). */
#define OUTPUT_STEP_MAX_CLASSES 16

/** Widest hidden layer of sparse_forward_output (one work-item holds a whole row). */
#define SPARSE_OUTPUT_MAX_HIDDEN 128

/** Deepest network (weight layers) of the fused per-sample kernel train_sequential. */
#define SEQ_MAX_LAYERS 4

/** Bands of pixel indices per image in the pixel lists (pixel_lists in backend_ops.h). */
#define PIXEL_BANDS 8

/** Columns of dW per csr_weight_grad work-item (a multiple of 16; the scratch allows 128). */
#define SPARSE_GRAD_COLS 128

#endif
