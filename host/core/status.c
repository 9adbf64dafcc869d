/* Status names and the error-message helper. */
#include <stdarg.h>
#include <stdio.h>

#include "mnistcl/status.h"

mc_status mc_fail(mc_error *err, mc_status status, const char *fmt, ...)
{
    if (err) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err->msg, sizeof err->msg, fmt, ap);
        va_end(ap);
    }
    return status;
}

const char *mc_status_name(mc_status status)
{
    switch (status) {
    case MC_OK: return "success";
    case MC_ERR_RUNTIME: return "error";
    case MC_ERR_USAGE: return "usage error";
    case MC_ERR_DATA: return "data error";
    case MC_ERR_IO: return "I/O error";
    case MC_ERR_OPENCL: return "OpenCL error";
    case MC_ERR_NOMEM: return "out of memory";
    case MC_ERR_DIVERGED: return "training diverged";
    }
    return "unknown status";
}
