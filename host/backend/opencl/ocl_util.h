/* Private helpers of the OpenCL host code: checked calls, device discovery, programs. */
#ifndef MNISTCL_OCL_UTIL_H
#define MNISTCL_OCL_UTIL_H

#ifndef CL_TARGET_OPENCL_VERSION
#define CL_TARGET_OPENCL_VERSION 120
#endif
#include <CL/cl.h>
#include <stdio.h>

#include "mnistcl/status.h"

/** The name of an OpenCL error code ("CL_OUT_OF_RESOURCES"), or "unknown OpenCL error". */
const char *ocl_error_name(cl_int err);

/**
 * If err is not CL_SUCCESS, prints "mnistcl: OpenCL error NAME (code) in CALL at FILE:LINE"
 * to stderr and returns 1; returns 0 on success. Use through ocl_failed().
 */
int ocl_report(cl_int err, const char *call, const char *file, int line);
#define ocl_failed(err, call) ocl_report((err), (call), __FILE__, __LINE__)

/** One OpenCL device with its indices in the platform/device enumeration. */
typedef struct {
    cl_platform_id platform;
    cl_device_id device;
    int platform_index, device_index;
    cl_device_type type;
} ocl_device_ref;

/**
 * Enumerates every device of every platform into out[0..max); returns how many were found
 * (0 when there is no platform). Platforms that fail to enumerate are skipped.
 */
int ocl_enumerate(ocl_device_ref *out, int max);

/**
 * Whether the device caps its kernels' loops: Mesa's llvmpipe (rusticl's and Clover's CPU
 * device) ends every loop of a work-item once 65535 iterations have run in all its loops
 * (gallivm's loop limiter, seen with Mesa 22.3), silently, so a kernel with more
 * iterations per work-item computes a wrong result without an error.
 */
int ocl_loops_capped(const ocl_device_ref *d);

/** Writes "NAME (PLATFORM, TYPE)" for the device into buf. */
void ocl_describe(const ocl_device_ref *d, char *buf, size_t len);

/** "GPU", "CPU", "accelerator", ... for a device type bit field. */
const char *ocl_type_name(cl_device_type type);

/**
 * Concatenates the program into one NUL-terminated text (caller frees): first the headers
 * shared with the host (mnistcl/mlp_kinds.h, kernel_interface.h), always as embedded at
 * build time, then the kernel sources, taken from the files in $MNISTCL_KERNEL_DIR when
 * that is set, otherwise from the copies embedded at build time. Each file is preceded by
 * a #line directive naming it.
 */
mc_status ocl_program_text(char **out, mc_error *err);

/**
 * Builds the program for one device with the given options; on failure prints the build
 * log and returns MC_ERR_OPENCL.
 */
mc_status ocl_build(cl_context ctx, cl_device_id dev, const char *text, const char *options,
                    cl_program *out, mc_error *err);

#endif
