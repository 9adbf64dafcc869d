/* Kernel sources (embedded or from $MNISTCL_KERNEL_DIR) and program builds. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "backend/opencl/kernel_source.h"
#include "backend/opencl/ocl_util.h"

/* Reads a whole text file; returns NULL (with err set) on failure. */
static char *read_text_file(const char *path, mc_error *err)
{
    FILE *f = fopen(path, "rb");
    if (!f) {
        mc_fail(err, MC_ERR_IO, "%s: cannot open kernel source: %s", path, strerror(errno));
        return NULL;
    }
    size_t cap = 1 << 16, len = 0;
    char *text = malloc(cap);
    while (text) {
        len += fread(text + len, 1, cap - len - 1, f);
        if (len < cap - 1)
            break;
        char *grown = realloc(text, cap * 2);
        if (!grown) {
            free(text);
            text = NULL;
            break;
        }
        text = grown;
        cap *= 2;
    }
    int bad = ferror(f);
    fclose(f);
    if (!text || bad) {
        free(text);
        mc_fail(err, MC_ERR_IO, "%s: cannot read kernel source", path);
        return NULL;
    }
    text[len] = 0;
    return text;
}

/* Appends "#line 1 \"NAME\"\nTEXT\n" at text + *used (room for it is there): the #line
   makes the compiler's messages name the file and its own line numbers. */
static void append_part(char *text, size_t total, size_t *used, const char *name,
                        const char *part)
{
    *used += (size_t)snprintf(text + *used, total - *used, "#line 1 \"%s\"\n%s\n", name, part);
}

/* Bytes append_part writes for one file, its terminating NUL not counted. */
static size_t part_size(const char *name, const char *part)
{
    return strlen(part) + strlen(name) + 16;
}

/*
 * The program text: the shared headers (mnistcl/mlp_kinds.h, kernel_interface.h), always
 * the copies embedded at build time since they must match the compiled host, then the
 * .cl files, from $MNISTCL_KERNEL_DIR when set, else embedded. Each part starts with a
 * #line directive naming its file.
 */
mc_status ocl_program_text(char **out, mc_error *err)
{
    const char *dir = getenv("MNISTCL_KERNEL_DIR");
    size_t total = 1;
    char *parts[64] = {0};
    mc_status st = MC_OK;
    if (embedded_kernel_count > (int)(sizeof parts / sizeof parts[0]))
        return mc_fail(err, MC_ERR_RUNTIME, "internal error: %d kernel files, room for %d",
                       embedded_kernel_count, (int)(sizeof parts / sizeof parts[0]));
    for (int i = 0; i < embedded_header_count; i++)
        total += part_size(embedded_headers[i].name, embedded_headers[i].text);
    for (int i = 0; i < embedded_kernel_count; i++) {
        if (dir && *dir) {
            char path[4096];
            snprintf(path, sizeof path, "%s/%s", dir, embedded_kernels[i].name);
            parts[i] = read_text_file(path, err);
            if (!parts[i]) {
                st = MC_ERR_IO;
                goto out_free_parts;
            }
        }
        total += part_size(embedded_kernels[i].name,
                           parts[i] ? parts[i] : embedded_kernels[i].text);
    }
    char *text = malloc(total);
    if (!text) {
        st = mc_fail(err, MC_ERR_NOMEM, "out of memory for the kernel sources");
        goto out_free_parts;
    }
    size_t used = 0;
    for (int i = 0; i < embedded_header_count; i++)
        append_part(text, total, &used, embedded_headers[i].name, embedded_headers[i].text);
    for (int i = 0; i < embedded_kernel_count; i++)
        append_part(text, total, &used, embedded_kernels[i].name,
                    parts[i] ? parts[i] : embedded_kernels[i].text);
    *out = text;
out_free_parts:
    for (int i = 0; i < embedded_kernel_count; i++)
        free(parts[i]);
    return st;
}

/* Builds `text` for one device with `options`; on failure prints the build log. */
mc_status ocl_build(cl_context ctx, cl_device_id dev, const char *text, const char *options,
                    cl_program *out, mc_error *err)
{
    cl_int e;
    cl_program prog = clCreateProgramWithSource(ctx, 1, &text, NULL, &e);
    if (ocl_failed(e, "clCreateProgramWithSource"))
        return mc_fail(err, MC_ERR_OPENCL, "cannot create the OpenCL program");
    e = clBuildProgram(prog, 1, &dev, options, NULL, NULL);
    if (e != CL_SUCCESS) {
        size_t log_len = 0;
        clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, 0, NULL, &log_len);
        char *log = malloc(log_len + 1);
        if (log && clGetProgramBuildInfo(prog, dev, CL_PROGRAM_BUILD_LOG, log_len, log, NULL) ==
                       CL_SUCCESS) {
            log[log_len] = 0;
            fprintf(stderr, "mnistcl: kernel build log (options: %s):\n%s\n", options, log);
        }
        free(log);
        ocl_failed(e, "clBuildProgram");
        clReleaseProgram(prog);
        return mc_fail(err, MC_ERR_OPENCL, "the OpenCL kernels failed to build (log above)");
    }
    *out = prog;
    return MC_OK;
}
