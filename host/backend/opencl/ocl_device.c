/* OpenCL platform and device discovery. */
#include <string.h>

#include "backend/opencl/ocl_util.h"

#define MAX_PLATFORMS 16
#define MAX_DEVICES_PER_PLATFORM 32

/* Every device of every platform, up to max (ocl_util.h). */
int ocl_enumerate(ocl_device_ref *out, int max)
{
    cl_platform_id platforms[MAX_PLATFORMS];
    cl_uint np = 0;
    /* No ICD or no platform is not an error here: the caller reports "no device". */
    if (clGetPlatformIDs(MAX_PLATFORMS, platforms, &np) != CL_SUCCESS)
        return 0;
    int count = 0;
    for (cl_uint p = 0; p < np && p < MAX_PLATFORMS; p++) {
        cl_device_id devices[MAX_DEVICES_PER_PLATFORM];
        cl_uint nd = 0;
        if (clGetDeviceIDs(platforms[p], CL_DEVICE_TYPE_ALL, MAX_DEVICES_PER_PLATFORM, devices,
                           &nd) != CL_SUCCESS)
            continue;
        for (cl_uint d = 0; d < nd && d < MAX_DEVICES_PER_PLATFORM && count < max; d++) {
            ocl_device_ref *r = &out[count++];
            r->platform = platforms[p];
            r->device = devices[d];
            r->platform_index = (int)p;
            r->device_index = (int)d;
            r->type = 0;
            clGetDeviceInfo(devices[d], CL_DEVICE_TYPE, sizeof r->type, &r->type, NULL);
        }
    }
    return count;
}

/* Whether the device is Mesa's llvmpipe, whose loops stop at 65535 iterations. */
int ocl_loops_capped(const ocl_device_ref *d)
{
    char name[256] = "";
    clGetDeviceInfo(d->device, CL_DEVICE_NAME, sizeof name - 1, name, NULL);
    name[sizeof name - 1] = 0;
    return strncmp(name, "llvmpipe", 8) == 0;
}

/* "GPU", "CPU", "accelerator", ... for a device type. */
const char *ocl_type_name(cl_device_type type)
{
    if (type & CL_DEVICE_TYPE_GPU)
        return "GPU";
    if (type & CL_DEVICE_TYPE_CPU)
        return "CPU";
    if (type & CL_DEVICE_TYPE_ACCELERATOR)
        return "accelerator";
    return "other";
}

/* "NAME (PLATFORM, TYPE)" into buf. */
void ocl_describe(const ocl_device_ref *d, char *buf, size_t len)
{
    char name[256] = "?", platform[256] = "?";
    clGetDeviceInfo(d->device, CL_DEVICE_NAME, sizeof name - 1, name, NULL);
    clGetPlatformInfo(d->platform, CL_PLATFORM_NAME, sizeof platform - 1, platform, NULL);
    name[sizeof name - 1] = platform[sizeof platform - 1] = 0;
    snprintf(buf, len, "%s (%s, %s)", name, platform, ocl_type_name(d->type));
}
