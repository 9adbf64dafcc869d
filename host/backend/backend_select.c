/* Turning a --device string into a backend, and listing the OpenCL devices. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/opencl.h"
#include "backend/device_limits.h"
#include "backend/opencl/ocl_util.h"

/*
 * Index in devs of the first GPU, else of the first other device, where a device that
 * caps its loops (ocl_loops_capped) comes last; -1 when n == 0.
 */
static int preferred_device(const ocl_device_ref *devs, int n)
{
    for (int capped = 0; capped <= 1; capped++) {
        for (int i = 0; i < n; i++)
            if ((devs[i].type & CL_DEVICE_TYPE_GPU) && ocl_loops_capped(&devs[i]) == capped)
                return i;
        for (int i = 0; i < n; i++)
            if (ocl_loops_capped(&devs[i]) == capped)
                return i;
    }
    return -1;
}

mc_status ocl_resolve_device(const char *spec, int *platform, int *device, mc_error *err)
{
    int p, d;
    char tail;
    if (sscanf(spec, "%d:%d%c", &p, &d, &tail) == 2 && p >= 0 && d >= 0) {
        *platform = p, *device = d;
        return MC_OK;
    }
    if (strcmp(spec, "auto") != 0 && strcmp(spec, "opencl") != 0)
        return mc_fail(err, MC_ERR_USAGE,
                       "--device '%s': expected auto, opencl or PLATFORM:DEVICE (e.g. 0:0)",
                       spec);
    ocl_device_ref devs[64];
    int pick = preferred_device(devs, ocl_enumerate(devs, 64));
    if (pick < 0)
        return mc_fail(err, MC_ERR_OPENCL,
                       "no OpenCL device found (is an ICD installed? Debian: "
                       "pocl-opencl-icd; `clinfo` lists what the loader sees)");
    *platform = devs[pick].platform_index, *device = devs[pick].device_index;
    return MC_OK;
}

mc_status backend_open(const char *spec, backend **out, mc_error *err)
{
    /* a malformed MNISTCL_DEVICE_LIMITS is the user's error, whichever backend opens */
    size_t max_alloc = SIZE_MAX, memory = SIZE_MAX;
    mc_status limits_st = device_limits_apply(&max_alloc, &memory, err);
    if (limits_st)
        return limits_st;
    if (!spec || !*spec)
        spec = getenv("MNISTCL_DEVICE");
    if (!spec || !*spec)
        spec = "auto";
    if (strcmp(spec, "cpu") == 0) {
        *out = backend_cpu_create();
        return *out ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
    }
    if (strcmp(spec, "auto") == 0 || strcmp(spec, "opencl") == 0) {
        ocl_device_ref devs[64];
        int n = ocl_enumerate(devs, 64);
        int pick = preferred_device(devs, n);
        if (pick < 0 && strcmp(spec, "auto") == 0) {
            fprintf(stderr, "mnistcl: no OpenCL device found; using the CPU reference backend\n");
            *out = backend_cpu_create();
            return *out ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory");
        }
        if (pick < 0)
            return mc_fail(err, MC_ERR_OPENCL,
                           "no OpenCL device found (is an ICD installed? Debian: "
                           "pocl-opencl-icd; `clinfo` lists what the loader sees)");
        return backend_cl_create(devs[pick].platform_index, devs[pick].device_index, NULL, out,
                                 err);
    }
    int p, d;
    char tail;
    if (sscanf(spec, "%d:%d%c", &p, &d, &tail) == 2 && p >= 0 && d >= 0)
        return backend_cl_create(p, d, NULL, out, err);
    return mc_fail(err, MC_ERR_USAGE,
                   "--device '%s': expected auto, cpu, opencl or PLATFORM:DEVICE (e.g. 0:0)",
                   spec);
}

int ocl_device_count(void)
{
    ocl_device_ref devs[64];
    return ocl_enumerate(devs, 64);
}

mc_status ocl_print_devices(FILE *out, mc_error *err)
{
    ocl_device_ref devs[64];
    int n = ocl_enumerate(devs, 64);
    cl_platform_id last = NULL;
    for (int i = 0; i < n; i++) {
        const ocl_device_ref *d = &devs[i];
        if (d->platform != last) {
            char name[256] = "?", version[256] = "?";
            clGetPlatformInfo(d->platform, CL_PLATFORM_NAME, sizeof name - 1, name, NULL);
            clGetPlatformInfo(d->platform, CL_PLATFORM_VERSION, sizeof version - 1, version, NULL);
            fprintf(out, "platform %d: %s (%s)\n", d->platform_index, name, version);
            last = d->platform;
        }
        char name[256] = "?", driver[128] = "?";
        cl_ulong mem = 0, max_alloc = 0;
        cl_uint units = 0, mhz = 0;
        clGetDeviceInfo(d->device, CL_DEVICE_NAME, sizeof name - 1, name, NULL);
        clGetDeviceInfo(d->device, CL_DRIVER_VERSION, sizeof driver - 1, driver, NULL);
        clGetDeviceInfo(d->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof mem, &mem, NULL);
        clGetDeviceInfo(d->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc, &max_alloc,
                        NULL);
        clGetDeviceInfo(d->device, CL_DEVICE_MAX_COMPUTE_UNITS, sizeof units, &units, NULL);
        clGetDeviceInfo(d->device, CL_DEVICE_MAX_CLOCK_FREQUENCY, sizeof mhz, &mhz, NULL);
        fprintf(out,
                "  device %d:%d  %-3s %s\n"
                "          %u compute units at %u MHz, %.0f MiB global memory "
                "(%.0f MiB per buffer), driver %s\n",
                d->platform_index, d->device_index, ocl_type_name(d->type), name, units, mhz,
                mem / 1048576.0, max_alloc / 1048576.0, driver);
    }
    if (n == 0)
        return mc_fail(err, MC_ERR_OPENCL,
                       "no OpenCL platform or device found (Debian: apt-get install "
                       "pocl-opencl-icd; `clinfo` shows what the ICD loader sees)");
    fprintf(out, "  cpu      the CPU reference backend (plain C, always available)\n");
    return MC_OK;
}
