/*
 * The tuning cache: kernel tunables found by `mnistcl tune`, one line per device:
 *   KEY<TAB>rb_tm=8 rb_local=4 gt_ts=64 gt_wpt=4
 * KEY is backend_cl_device_key(). Lines starting with # are comments. The file is
 * $MNISTCL_TUNE_CACHE, else $XDG_CACHE_HOME/mnistcl/tuning.txt, else
 * ~/.cache/mnistcl/tuning.txt. Backends read it when they open a device.
 */
#ifndef MNISTCL_TUNE_CACHE_H
#define MNISTCL_TUNE_CACHE_H

#include "mnistcl/opencl.h"

/** The cache's path (a static buffer). */
const char *tune_cache_path(void);

/**
 * Looks up key in the cache file at path. *found is 0 when the file or the key is
 * absent (not an error). A malformed file is MC_ERR_DATA with the file, line and problem.
 */
mc_status tune_cache_lookup(const char *path, const char *key, cl_tuning *out, int *found,
                            mc_error *err);

/** Writes key's tuning into the cache (replacing its line), atomically. */
mc_status tune_cache_store(const char *path, const char *key, const cl_tuning *t, mc_error *err);

#endif
