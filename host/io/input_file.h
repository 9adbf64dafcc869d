/*
 * Opening the files mnistcl reads (IDX, CSV, models, checkpoints, the tuning cache):
 * regular files only. The file is opened without blocking, so a FIFO or a device node is
 * refused at once instead of hanging, and a directory is named as one instead of failing
 * later as "cannot decompress" or "empty file".
 */
#ifndef MNISTCL_INPUT_FILE_H
#define MNISTCL_INPUT_FILE_H

#include <stdio.h>
#include <zlib.h>

#include "mnistcl/status.h"

/**
 * Opens path for reading and checks that it is a regular file. On success *fd is a
 * blocking descriptor at offset 0 and *size (when not NULL) the file's length in bytes.
 * Fails with MC_ERR_IO and a message naming path: "cannot open: <errno text>",
 * "is a directory, not a file", "is not a regular file (a FIFO, socket or device)".
 */
mc_status input_open(const char *path, int *fd, long long *size, mc_error *err);

/** input_open, then fdopen(fd, "rb"): *out is the stream (fclose closes the file). */
mc_status input_fopen(const char *path, FILE **out, long long *size, mc_error *err);

/**
 * input_open, then a zlib stream over the descriptor (gzdopen), which reads gzip or,
 * transparently, raw bytes; gzclose closes the file.
 */
mc_status input_gzopen(const char *path, gzFile *out, mc_error *err);

#endif
