/*
 * device_limits.h: MNISTCL_DEVICE_LIMITS="ALLOC[,MEMORY]", lower memory limits than the
 * device's own, so that the split and streamed ways of placing a training set (tests, CI)
 * run on small data: ALLOC bounds every buffer (backend_caps.max_alloc_bytes), MEMORY all
 * buffers together (memory_bytes). Each is a whole number of bytes >= 1 with an optional
 * suffix K, M or G (also k, m, g: 2^10, 2^20, 2^30), e.g. "8M,20M". Both backends apply it
 * when they are created; it only ever lowers a limit.
 */
#ifndef MNISTCL_DEVICE_LIMITS_H
#define MNISTCL_DEVICE_LIMITS_H

#include <stddef.h>

#include "mnistcl/status.h"

/** The environment variable's name. */
#define DEVICE_LIMITS_ENV "MNISTCL_DEVICE_LIMITS"

/**
 * Parses `text` ("ALLOC[,MEMORY]", above) into *alloc and, when given, *memory (else
 * *memory = SIZE_MAX). Anything else (empty parts, 0, other suffixes, signs, spaces, a
 * value past SIZE_MAX, a third part) is MC_ERR_USAGE, err naming MNISTCL_DEVICE_LIMITS
 * and the text.
 */
mc_status device_limits_parse(const char *text, size_t *alloc, size_t *memory, mc_error *err);

/**
 * Lowers *max_alloc and *memory to MNISTCL_DEVICE_LIMITS's values where those are lower;
 * unset or empty: nothing changes. A malformed value is MC_ERR_USAGE (device_limits_parse)
 * and changes nothing.
 */
mc_status device_limits_apply(size_t *max_alloc, size_t *memory, mc_error *err);

#endif
