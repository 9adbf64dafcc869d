/* `mnistcl devices`: every OpenCL platform and device, and the CPU reference. */
#include <stdio.h>
#include <string.h>

#include "cli/cli_common.h"
#include "mnistcl/opencl.h"

int cmd_devices(int argc, char **argv)
{
    if (argc > 2 && (strcmp(argv[2], "--help") == 0 || strcmp(argv[2], "-h") == 0)) {
        printf("usage: mnistcl devices\n"
               "Lists every OpenCL platform and device (type, compute units, memory, driver)\n"
               "with the P:D numbers that --device takes, and the CPU reference backend.\n");
        return 0;
    }
    mc_error err = {{0}};
    if (argc > 2)
        return cli_report(mc_fail(&err, MC_ERR_USAGE, "devices takes no arguments"), &err);
    return cli_report(ocl_print_devices(stdout, &err), &err);
}
