/* Helpers of the libFuzzer targets: fuzz input as a file the parsers can open. */
#ifndef MNISTCL_FUZZ_UTIL_H
#define MNISTCL_FUZZ_UTIL_H

#define _GNU_SOURCE
#include <stdint.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>

/**
 * Replaces the contents of in-memory file `slot` (0..3) with data and returns a path
 * that opens it (/proc/self/fd/N). No disk is touched, so millions of runs are cheap.
 */
static inline const char *fuzz_file(int slot, const uint8_t *data, size_t size)
{
    static int fds[4] = {-1, -1, -1, -1};
    static char paths[4][64];
    if (fds[slot] < 0) {
        fds[slot] = memfd_create("mnistcl-fuzz", 0);
        snprintf(paths[slot], sizeof paths[slot], "/proc/self/fd/%d", fds[slot]);
    }
    if (ftruncate(fds[slot], 0) != 0 || pwrite(fds[slot], data, size, 0) != (ssize_t)size)
        return "/nonexistent";
    return paths[slot];
}

#endif
