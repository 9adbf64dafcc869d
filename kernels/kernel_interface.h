/*
 * kernel_interface.h: what the host code and the kernels must agree on, written once.
 * It is valid C and OpenCL C: the C code includes it (backend/backend_ops.h), and the
 * OpenCL program text starts with it (backend/opencl/ocl_program.c prepends it, after
 * mnistcl/mlp_kinds.h, to the .cl files, always from the copies embedded at build time),
 * so an enum value, a limit or a launch geometry cannot differ between the two sides.
 *
 * The kernels' tunables (RB_TM, GT_TS, GT_TK, GT_WPT, SUM_WG, SEQ_WG, OUTPUT_ROWS,
 * GATHER_ROWS) are build options: backend_cl.c passes every one of them with -D on every
 * build, starting from the DEFAULT_* values below, and a kernel file stops with #error
 * when one is missing. No .cl file defines a constant of its own that the host uses.
 */
#ifndef MNISTCL_KERNEL_INTERFACE_H
#define MNISTCL_KERNEL_INTERFACE_H

/** What a GEMM does with its product before storing it (gemm_args, gemm_epilogue_one). */
typedef enum {
    EPI_NONE = 0,     /* C = alpha·P + beta·C (C is not read when beta == 0) */
    EPI_BIAS_ACT = 1, /* C = act(alpha·P + bias[j])                      (forward layer) */
    EPI_ACT_GRAD = 2, /* C = alpha·P ⊙ act'(aux[i][j]), act' from act's output (backward) */
} gemm_epilogue;

/** The rule that turns a gradient into a parameter step (update_rule, update.cl), with
 *  PyTorch's formulas (torch.optim.SGD, Adam, AdamW); t counts steps from 1:
 *   SGD       g += wd·p; v = mu·v + g (mu != 0); p -= lr·v
 *   NESTEROV  g += wd·p; v = mu·v + g; p -= lr·(g + mu·v)
 *   ADAM      g += wd·p; m = b1·m + (1-b1)·g; v = b2·v + (1-b2)·g²;
 *             p -= lr/(1-b1^t) · m / (sqrt(v)/sqrt(1-b2^t) + eps)
 *   ADAMW     p *= 1 - lr·wd, then ADAM without the decay in g */
typedef enum {
    UPDATE_SGD = 0,
    UPDATE_NESTEROV = 1,
    UPDATE_ADAM = 2,
    UPDATE_ADAMW = 3,
} update_kind;

/** How the learning rate moves with the step (step_rule.h's schedule_lr). */
typedef enum {
    SCHEDULE_CONSTANT = 0, /* lr */
    SCHEDULE_STEP = 1,     /* lr · gamma^floor(t / every) */
    SCHEDULE_COSINE = 2,   /* final + (lr - final)(1 + cos(pi t / total)) / 2 */
    SCHEDULE_ONECYCLE = 3, /* up from lr/25 to lr, then down to lr/25e4 (PyTorch's OneCycleLR) */
} schedule_kind;

/* ---- limits of the fused kernels ------------------------------------------------------ */

/** Widest output layer of the fused output step (one float16 of logits per row). */
#define OUTPUT_STEP_MAX_CLASSES 16

/** Widest hidden layer of sparse_forward_output (one work-item holds a whole row). */
#define SPARSE_OUTPUT_MAX_HIDDEN 128

/** Deepest network (weight layers) of the fused per-sample kernel train_sequential. */
#define SEQ_MAX_LAYERS 4

/** Bands of pixel indices per image in the pixel lists (pixel_lists in backend_ops.h). */
#define PIXEL_BANDS 8

/* ---- launch geometry: fixed by the kernels' code, the host sizes its grids by it ------- */

/** Columns of dW per csr_weight_grad / csr_backward_update work-item; sparse_grad_scratch
 *  rounds n up to it. A multiple of 16: SG_CHUNKS float16 per row. */
#define SPARSE_GRAD_COLS 128
#define SG_CHUNKS (SPARSE_GRAD_COLS / 16)
#if SPARSE_GRAD_COLS % 16 != 0
#error "SPARSE_GRAD_COLS must be a multiple of 16"
#endif

/** Columns of one csr_forward work-item: a wide block (16 float16) from 256 units up,
 *  else a narrow one (8 float16). */
#define CSR_FORWARD_WIDE_COLS 256
#define CSR_FORWARD_NARROW_COLS 128
#define CSR_FORWARD_COLS(n) \
    ((n) >= CSR_FORWARD_WIDE_COLS ? CSR_FORWARD_WIDE_COLS : CSR_FORWARD_NARROW_COLS)

/** Columns of C per gemm_rb_nn / _tn / _ntg work-item (two float16). */
#define RB_TN 32

/** The tile of C (rows x columns) of one gemm_rb_nt work-item. */
#define NT_TM 4
#define NT_TN 4

/** Parameters per param_update work-item (one float16). */
#define PARAM_UPDATE_WIDTH 16

/* ---- defaults of the tunables (build options; see above) ------------------------------ */

/** gemm_rb_*: rows of C per work-item (RB_TM), and rows of work-items per work-group (a
 *  launch setting of the host, not a build option). */
#define DEFAULT_RB_TM 8
#define DEFAULT_RB_LOCAL 4

/** gemm_tiled_*: block side (GT_TS: the first where work-groups of 256 are allowed, the
 *  second elsewhere), k step (GT_TK), register tile side (GT_WPT). */
#define DEFAULT_GT_TS 64
#define DEFAULT_GT_TS_SMALL 32
#define DEFAULT_GT_TK 16
#define DEFAULT_GT_WPT 4

/** sum_stats: work-items of its one work-group (SUM_WG; halved until the device allows). */
#define DEFAULT_SUM_WG 256

/** train_sequential: work-items per group (SEQ_WG), on the CPU and on the GPU code paths. */
#define DEFAULT_SEQ_WG_CPU 1
#define DEFAULT_SEQ_WG_GPU 64

/** output_step: rows per work-item (OUTPUT_ROWS, at most 4), CPU and GPU code paths. */
#define DEFAULT_OUTPUT_ROWS_CPU 4
#define DEFAULT_OUTPUT_ROWS_GPU 1

/** gather_batch: one work-item per image row (GATHER_ROWS 1) or per pixel (0). */
#define DEFAULT_GATHER_ROWS_CPU 1
#define DEFAULT_GATHER_ROWS_GPU 0

/* ---- dropout and augmentation (dropout.cl, augment.cl; dropout_args, augment_args) ---- */

/** Columns of one dropout_rows work-item: eight Philox blocks of four words (the block of
 *  column c is c / 4, its word c % 4: dropout_args). */
#define DROPOUT_ITEM_COLS 32

/** augment_batch: the largest image (width * height pixels; on OpenCL its elastic field,
 *  16 bytes a pixel, must also fit the device's local memory) and the widest Gaussian of
 *  the elastic field (radius ceil(3 sigma)). */
#define AUGMENT_MAX_PIXELS 4096
#define AUGMENT_MAX_RADIUS 32

/** The Philox streams (counter word 3) of augment_batch's draws: one block per image for
 *  the affine part, one per two pixels for the elastic field. */
#define AUGMENT_STREAM_AFFINE 0x41464631u  /* "AFF1" */
#define AUGMENT_STREAM_ELASTIC 0x454c4131u /* "ELA1" */
/* The dropout masks' stream of layer l's input (0: the pixels; counter word 3, see
   dropout_args): apart from the augmentation's */
#define DROPOUT_STREAM(l) (0x44525030u + (unsigned)(l)) /* "DRP0" + l */

/** augment_batch: work-items of its work-groups (one per image), lowered to what the
 *  kernel may take on the device. */
#define DEFAULT_AUGMENT_WG 64

#endif
