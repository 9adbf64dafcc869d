/* Status codes shared by the library and the CLI; each is also the process exit code. */
#ifndef MNISTCL_STATUS_H
#define MNISTCL_STATUS_H

#include <stddef.h>

/** Result of a library call, and the exit code of `mnistcl` (documented in README.md). */
typedef enum {
    MC_OK = 0,
    MC_ERR_RUNTIME = 1,  /* anything not covered below */
    MC_ERR_USAGE = 2,    /* bad command line: unknown flag, bad number, impossible setting */
    MC_ERR_DATA = 3,     /* malformed or inconsistent input file (IDX, CSV, model) */
    MC_ERR_IO = 4,       /* a file could not be opened, read or written */
    MC_ERR_OPENCL = 5,   /* no platform/device, kernel build failure, OpenCL runtime error */
    MC_ERR_NOMEM = 6,    /* host or device memory could not be allocated */
    MC_ERR_DIVERGED = 7, /* training produced NaN/Inf and was stopped */
} mc_status;

/** Holds the one-line message of the last failure; filled by the library, printed by the CLI. */
typedef struct {
    char msg[512];
} mc_error;

/**
 * Formats a message into err (if err is not NULL) and returns status, so a failing
 * function can end with `return mc_fail(err, MC_ERR_DATA, "%s: bad magic", path);`.
 */
mc_status mc_fail(mc_error *err, mc_status status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/** Short name of a status ("data error", "OpenCL error", ...). */
const char *mc_status_name(mc_status status);

#endif
