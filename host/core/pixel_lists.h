/* dataset_pixel_lists (mnistcl/dataset.h) on a chosen number of threads, for the tests. */
#ifndef MNISTCL_PIXEL_LISTS_H
#define MNISTCL_PIXEL_LISTS_H

#include <stddef.h>
#include <stdint.h>

/** The pixel_lists threshold: sets of fewer pixel bytes than this are listed on one thread. */
#define PIXEL_LISTS_MIN_PARALLEL_BYTES ((size_t)1 << 20)

/**
 * dataset_pixel_lists on `threads` threads (at least 1; more than n are not started), the
 * images cut into that many runs of whole images. The result is the same for any count.
 * dataset_pixel_lists calls this with min(online CPUs, 8), or 1 for sets under
 * PIXEL_LISTS_MIN_PARALLEL_BYTES. A thread that cannot be started has its run done by the
 * caller.
 */
int pixel_lists_threads(const uint8_t *images, int n, int dim, int bands, int threads,
                        uint32_t **pixels, int32_t **offsets, size_t *total);

#endif
