/* What tests and benchmarks may ask of the OpenCL backend beyond mnistcl/opencl.h. */
#ifndef MNISTCL_BACKEND_CL_H
#define MNISTCL_BACKEND_CL_H

#include "mnistcl/opencl.h"

/** Which GEMM kernels the OpenCL backend uses. */
typedef enum {
    GEMM_AUTO = 0,  /* by device type and shape */
    GEMM_NAIVE = 1, /* gemm_naive: one work-item per element, any shape */
    GEMM_RB = 2,    /* gemm_rb_*: register-blocked float16 tiles (CPU devices) */
    GEMM_TILED = 3, /* gemm_tiled_*: local-memory blocks with register tiles (GPUs) */
    GEMM_VARIANT_COUNT
} gemm_variant;

/** "auto", "naive", "rb", "tiled". */
const char *gemm_variant_name(gemm_variant v);

/** Forces one GEMM variant (tests and benchmarks); GEMM_AUTO restores the choice. */
void backend_cl_force_gemm(backend *be, gemm_variant v);

/** The backend's cl_command_queue (as void *; benchmarks run peers on it), NULL if not OpenCL. */
void *backend_cl_queue(backend *be);

#endif
