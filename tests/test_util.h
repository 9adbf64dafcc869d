/* Shared helpers of the test programs: tolerance checks, device opening, random inputs. */
#ifndef MNISTCL_TEST_UTIL_H
#define MNISTCL_TEST_UTIL_H

#include <stddef.h>

#include "backend/backend_ops.h"
#include "mnistcl/rng.h"

/** Exit code a test uses to tell CTest it was skipped (only outside CI). */
#define TEST_SKIP 77

/** Counts failures across a test program; main returns test_exit_code(). */
extern int test_failures;
int test_exit_code(void);

/** Records a failed check with a printf-style message. */
void test_fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/**
 * Element-wise |got - ref| <= atol + rtol * |ref| over n floats; NaN or Inf in got where
 * ref is finite fails. On failure prints the max absolute and relative errors and the
 * worst element with both values. Returns 1 when all pass.
 */
int check_close(const char *what, const float *got, const float *ref, size_t n, double atol,
                double rtol);

/**
 * check_close over the elements [first, end) of got and ref only; the worst element is
 * named by its index in the arrays.
 */
int check_close_at(const char *what, const float *got, const float *ref, size_t first,
                   size_t end, double atol, double rtol);

/** Exact equality of n ints; prints the first mismatch. Returns 1 when all equal. */
int check_equal_int(const char *what, const int *got, const int *ref, size_t n);

/** check_equal_int over the elements [first, end) only, named by their array index. */
int check_equal_int_at(const char *what, const int *got, const int *ref, size_t first,
                       size_t end);

/**
 * Opens the OpenCL device for a test: $MNISTCL_TEST_DEVICE if set, else "opencl" (first
 * GPU, else first OpenCL device), and prints which one. When none is found the test fails
 * under CI=true and is skipped (exit 77) elsewhere. Never returns NULL.
 */
backend *test_open_opencl(void);

/**
 * Whether $MNISTCL_TEST_SMALL asks for small sizes only (runs under oclgrind, which
 * interprets every work-item). Small sizes still reach every kernel path.
 */
int test_small(void);

/** Fills a[0..n) with uniform values in [lo, hi). */
void fill_uniform(rng *r, float *a, size_t n, float lo, float hi);

/** Allocates a buffer on be and uploads n floats (or bytes for the _u8 / ints for _i32). */
buf *upload_f32(backend *be, const float *a, size_t n);
buf *upload_i32(backend *be, const int *a, size_t n);
buf *upload_u8(backend *be, const unsigned char *a, size_t n);

/** Reads n floats / ints from b into a. */
void download_f32(backend *be, buf *b, float *a, size_t n);
void download_i32(backend *be, buf *b, int *a, size_t n);

#endif
