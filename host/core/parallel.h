/* Work split over threads for the host's own loops (pixel lists, checksums). */
#ifndef MNISTCL_PARALLEL_H
#define MNISTCL_PARALLEL_H

#include <stddef.h>

#define PARALLEL_MAX_THREADS 64

/** Threads worth starting for host work: the online CPUs, between 1 and `cap`. */
int parallel_threads(int cap);

/**
 * Calls fn(items + k * item_size) for k in [0, count) (count <= PARALLEL_MAX_THREADS),
 * each on a thread of its own except item 0, which runs on the caller's; an item whose
 * thread cannot be started runs on the caller's too. Returns when all have returned.
 */
void parallel_run(void *(*fn)(void *), void *items, size_t item_size, int count);

#endif
