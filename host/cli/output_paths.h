/* Checking a command's output paths before any work: writable, distinct, not an input. */
#ifndef MNISTCL_OUTPUT_PATHS_H
#define MNISTCL_OUTPUT_PATHS_H

#include "mnistcl/status.h"

/** An option naming a file, and its value (NULL: not given). */
typedef struct {
    const char *option, *path;
} cli_path;

/**
 * Whether paths a and b name the same file: the same existing inode, or, for files that
 * do not exist yet, the same name in the same folder however written (./m.st, d/../m.st).
 * 0 when either is NULL.
 */
int cli_same_file(const char *a, const char *b);

/**
 * Before any work: every given output can be written (output_check), no two outputs are
 * one file, and no output would overwrite one of the inputs — except that output option
 * `may_replace` (or NULL) may name the file of input option `replaced` (a checkpoint
 * replacing the one resumed from). MC_ERR_USAGE naming both options, or output_check's.
 */
mc_status cli_check_paths(const cli_path *outputs, int n_out, const cli_path *inputs, int n_in,
                          const char *may_replace, const char *replaced, mc_error *err);

#endif
