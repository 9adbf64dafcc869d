/* Shared helpers of the test programs. */
#include "test_util.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend_ops.h"
#include "backend/opencl/backend_cl.h"

int test_failures = 0;

int test_exit_code(void)
{
    if (test_failures)
        fprintf(stderr, "FAILED: %d check%s\n", test_failures, test_failures == 1 ? "" : "s");
    else
        printf("all checks passed\n");
    return test_failures ? 1 : 0;
}

void test_fail(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "FAIL: ");
    vfprintf(stderr, fmt, ap);
    fprintf(stderr, "\n");
    va_end(ap);
    test_failures++;
}

int check_close(const char *what, const float *got, const float *ref, size_t n, double atol,
                double rtol)
{
    return check_close_at(what, got, ref, 0, n, atol, rtol);
}

int check_close_at(const char *what, const float *got, const float *ref, size_t first,
                   size_t end, double atol, double rtol)
{
    size_t i = first; /* a first, fast pass: the statistics are only wanted on failure */
    while (i < end && fabs((double)got[i] - ref[i]) <= atol + rtol * fabs((double)ref[i]) &&
           !isnan((double)got[i]) == !isnan((double)ref[i]) &&
           !isinf((double)got[i]) == !isinf((double)ref[i]))
        i++;
    if (i == end)
        return 1;
    double max_abs = 0, max_rel = 0, worst_excess = -1;
    size_t worst = first, bad = 0;
    for (i = first; i < end; i++) {
        double g = got[i], r = ref[i];
        double abs_err = fabs(g - r);
        double rel_err = r != 0 ? abs_err / fabs(r) : (abs_err ? INFINITY : 0);
        int ok = abs_err <= atol + rtol * fabs(r);
        if (isnan(g) != isnan(r) || isinf(g) != isinf(r))
            ok = 0, abs_err = INFINITY;
        if (abs_err > max_abs)
            max_abs = abs_err;
        if (rel_err > max_rel)
            max_rel = rel_err;
        double excess = isfinite(abs_err) ? abs_err - (atol + rtol * fabs(r)) : INFINITY;
        if (!ok)
            bad++;
        if (excess > worst_excess) {
            worst_excess = excess;
            worst = i;
        }
    }
    if (bad == 0)
        return 1;
    test_fail("%s: %zu of %zu elements out of tolerance (atol %g, rtol %g): max abs err %.3g, "
              "max rel err %.3g, worst element [%zu] got %.9g want %.9g",
              what, bad, end - first, atol, rtol, max_abs, max_rel, worst, got[worst],
              ref[worst]);
    return 0;
}

int check_equal_int(const char *what, const int *got, const int *ref, size_t n)
{
    return check_equal_int_at(what, got, ref, 0, n);
}

int check_equal_int_at(const char *what, const int *got, const int *ref, size_t first,
                       size_t end)
{
    for (size_t i = first; i < end; i++) {
        if (got[i] != ref[i]) {
            test_fail("%s: element [%zu] got %d want %d", what, i, got[i], ref[i]);
            return 0;
        }
    }
    return 1;
}

backend *test_open_opencl(void)
{
    const char *spec = getenv("MNISTCL_TEST_DEVICE");
    if (!spec || !*spec)
        spec = "opencl";
    backend *be = NULL;
    mc_error err = {{0}};
    mc_status st = backend_open(spec, &be, &err);
    if (st == MC_OK && be->is_opencl) {
        printf("OpenCL device under test: %s\n", be->name);
        return be;
    }
    if (st == MC_OK)
        backend_destroy(be);
    if (ocl_device_count() > 0) {
        fprintf(stderr, "FAIL: cannot open the OpenCL device %s: %s\n", spec,
                st ? err.msg : "not an OpenCL device");
        exit(1);
    }
    const char *ci = getenv("CI");
    int in_ci = ci && *ci && strcmp(ci, "0") != 0 && strcmp(ci, "false") != 0;
    fprintf(stderr, "%s: no OpenCL device for the test (%s)\n", in_ci ? "FAIL" : "SKIP",
            st ? err.msg : "the device is not an OpenCL device");
    exit(in_ci ? 1 : TEST_SKIP);
}

int test_small(void)
{
    const char *v = getenv("MNISTCL_TEST_SMALL");
    return v && *v && strcmp(v, "0") != 0;
}

void fill_uniform(rng *r, float *a, size_t n, float lo, float hi)
{
    for (size_t i = 0; i < n; i++)
        a[i] = lo + (hi - lo) * (float)rng_uniform(r);
}

static buf *upload_bytes(backend *be, const void *a, size_t bytes)
{
    buf *b = NULL;
    if (be->ops->alloc(be, bytes, &b) || be->ops->write(be, b, 0, a, bytes)) {
        fprintf(stderr, "FAIL: cannot allocate/upload %zu bytes\n", bytes);
        exit(1);
    }
    return b;
}

buf *upload_f32(backend *be, const float *a, size_t n) { return upload_bytes(be, a, n * 4); }
buf *upload_i32(backend *be, const int *a, size_t n) { return upload_bytes(be, a, n * 4); }
buf *upload_u8(backend *be, const unsigned char *a, size_t n) { return upload_bytes(be, a, n); }

static void download_bytes(backend *be, buf *b, void *a, size_t bytes)
{
    if (be->ops->read(be, b, 0, a, bytes)) {
        fprintf(stderr, "FAIL: cannot read %zu bytes back\n", bytes);
        exit(1);
    }
}

void download_f32(backend *be, buf *b, float *a, size_t n) { download_bytes(be, b, a, n * 4); }
void download_i32(backend *be, buf *b, int *a, size_t n) { download_bytes(be, b, a, n * 4); }
