/*
 * Writing the files mnistcl produces (models, checkpoints, predictions, the tuning
 * cache, PNG figures) so that no work is lost and no wrong file is left behind:
 *   - output_check, before any work starts, proves that a path can be written: the
 *     folder exists and takes a new file, the target is absent or a regular file;
 *   - output_begin .. output_commit write through a temporary file in the same folder
 *     (PATH.tmp.PID), fsync it, rename it over PATH and fsync the folder, so a crash or
 *     a full disk leaves the old file or the new one, never a truncated one;
 *   - the temporary file is registered with signals.h, which removes it if the process
 *     is stopped by a signal while writing.
 * Every message names the user's path (never the temporary one) and the errno text.
 */
#ifndef MNISTCL_OUTPUT_FILE_H
#define MNISTCL_OUTPUT_FILE_H

#include <stdio.h>

#include "mnistcl/status.h"

/** Longest path accepted for a file mnistcl writes (bytes, without the NUL). */
#define OUTPUT_PATH_MAX 4000

/** A file being written; see output_begin. */
typedef struct {
    char path[OUTPUT_PATH_MAX + 1];      /* the user's path */
    char tmp[OUTPUT_PATH_MAX + 32];      /* PATH.tmp.PID, renamed over path by commit */
    FILE *stream;                        /* the temporary file (use output_write/printf) */
    int write_errno;                     /* errno of the first failed write, 0 if none */
    int slot;                            /* registration with signals.h, -1 when none */
} output_file;

/**
 * Checks that path can be written later: not empty, not too long, not ending in '/', its
 * folder exists and accepts a new file (probed by creating and removing PATH.tmp.PID),
 * and path itself is absent or a regular file (never a directory, device node or FIFO).
 * Also removes temporaries PATH.tmp.PID left by mnistcl processes that no longer run.
 * `option` names the option in messages, e.g. "--save". MC_ERR_IO (or MC_ERR_USAGE for
 * an empty or overlong path) with "OPTION PATH: <problem>".
 */
mc_status output_check(const char *path, const char *option, mc_error *err);

/**
 * Starts writing path: checks it as output_check does (without the option name) and
 * opens the temporary file for writing. On success the caller writes with output_write
 * and output_printf and ends with output_commit or output_abort.
 */
mc_status output_begin(output_file *f, const char *path, mc_error *err);

/**
 * Appends n bytes (or formatted text). Returns 1, or 0 once any write has failed: the
 * first failure's errno is kept for output_commit's message, later writes are skipped.
 */
int output_write(output_file *f, const void *bytes, size_t n);
int output_printf(output_file *f, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * Finishes the file: flushes, fsyncs and closes the temporary file, renames it over
 * the path and fsyncs the folder. On any failure (a write error seen on the stream,
 * ENOSPC, ...) the temporary file is removed, the old file at path is untouched, and the
 * message is "PATH: cannot write: <errno text>".
 */
mc_status output_commit(output_file *f, mc_error *err);

/** Abandons the file: closes and removes the temporary file; path is untouched. */
void output_abort(output_file *f);

#endif
