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
 * Looks up key in the cache file at path. *found is 0 when the file or the key is absent.
 * Tuning is an optimisation, so nothing in the cache stops a run: each malformed line
 * (no tab, an unknown tunable or a value not allowed, given twice, too long) is skipped
 * with one warning line on stderr ("mnistcl: warning: FILE:LINE: problem; line ignored
 * ..."), and an unreadable cache (permission, a directory) is one warning. The first
 * valid line for key is used. Returns MC_OK (err is unused; kept for the callers).
 */
mc_status tune_cache_lookup(const char *path, const char *key, cl_tuning *out, int *found,
                            mc_error *err);

/**
 * Writes key's tuning into the cache, atomically (output_file.h), creating its folders:
 * key's line is replaced, the other devices' valid lines are kept (the first per key),
 * malformed lines are dropped with a warning each. MC_ERR_IO when it cannot be written.
 */
mc_status tune_cache_store(const char *path, const char *key, const cl_tuning *t, mc_error *err);

#endif
