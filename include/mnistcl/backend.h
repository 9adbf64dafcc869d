/*
 * The device a trainer runs on: the plain-C CPU reference or an OpenCL device
 * (mnistcl/opencl.h opens those). What a backend computes, and how, is the library's
 * business; an embedding program only opens one, names it and frees it.
 */
#ifndef MNISTCL_BACKEND_H
#define MNISTCL_BACKEND_H

typedef struct backend backend;

/** The CPU reference backend (obvious loops, double accumulators); NULL without memory. */
backend *backend_cpu_create(void);

/** Frees a backend and everything it owns; NULL is fine. */
void backend_destroy(backend *be);

/** A human-readable description of the device ("CPU reference", "OpenCL 0:0 ..."). */
const char *backend_name(const backend *be);

/** 1 for an OpenCL device (its kernels were compiled when it was opened), 0 otherwise. */
int backend_is_opencl(const backend *be);

#endif
