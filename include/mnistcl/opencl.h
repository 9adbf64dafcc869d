/* Choosing and opening a compute device: OpenCL or the CPU reference. */
#ifndef MNISTCL_OPENCL_H
#define MNISTCL_OPENCL_H

#include <stdio.h>

#include "mnistcl/backend.h"
#include "mnistcl/status.h"

/**
 * Kernel tunables of one device (build options of the .cl files, and launch shapes);
 * 0 leaves a value at its default.
 */
typedef struct {
    int rb_tm;    /* gemm_rb_*: rows per work-item (RB_TM: 4, 6 or 8) */
    int rb_local; /* gemm_rb_*: work-items per group along the rows (1, 2, 4 or 8) */
    int gt_ts;    /* gemm_tiled_*: block side (GT_TS: 32 or 64) */
    int gt_wpt;   /* gemm_tiled_*: register tile side (GT_WPT: 2 or 4) */
} cl_tuning;

/** The tuning a backend runs with (after defaults and the tuning cache). */
cl_tuning backend_cl_tuning(backend *be);

/** The tuning cache file the backend's tuning came from, or NULL (defaults or given). */
const char *backend_cl_tuning_source(backend *be);

/** A stable name for the backend's device ("platform|device|driver"), the cache's key. */
const char *backend_cl_device_key(backend *be);

/**
 * Opens the backend named by spec:
 *   "auto"    the first GPU, else the first OpenCL device of any type, else the CPU reference
 *   "opencl"  the first GPU, else the first OpenCL device; an error if there is none
 *   "cpu"     the CPU reference backend
 *   "P:D"     device D of platform P, as numbered by `mnistcl devices`
 * NULL or "" reads $MNISTCL_DEVICE, then falls back to "auto".
 */
mc_status backend_open(const char *spec, backend **out, mc_error *err);

/**
 * Resolves an OpenCL spec ("auto"/"opencl": the first GPU, else the first device; "P:D")
 * to indices; MC_ERR_OPENCL when there is no such device, MC_ERR_USAGE for "cpu" or junk.
 */
mc_status ocl_resolve_device(const char *spec, int *platform, int *device, mc_error *err);

/**
 * Opens OpenCL device `device` of platform `platform` and builds the kernels for it,
 * with `tuning` when given, else with the device's entry in the tuning cache (see
 * tune_cache.h) when there is one, else with the defaults.
 */
mc_status backend_cl_create(int platform, int device, const cl_tuning *tuning, backend **out,
                            mc_error *err);

/** Number of OpenCL devices the ICD loader finds (0 without platforms). */
int ocl_device_count(void);

/** Prints every platform and device with type, compute units and memory. */
mc_status ocl_print_devices(FILE *out, mc_error *err);

#endif
