/*
 * The safetensors file format (https://github.com/huggingface/safetensors):
 *   8 bytes   little-endian u64 N, the header's length
 *   N bytes   JSON: {"__metadata__": {"key": "value", ...},
 *                    "name": {"dtype": "F32", "shape": [d0, d1], "data_offsets": [begin, end]}, ...}
 *   rest      raw little-endian tensor data; offsets are relative to the end of the header
 * mnistcl reads and writes F32 tensors only.
 */
#ifndef MNISTCL_SAFETENSORS_H
#define MNISTCL_SAFETENSORS_H

#include <stddef.h>
#include <stdint.h>

#include "mnistcl/status.h"

#define ST_MAX_TENSORS 64
#define ST_MAX_META 96
#define ST_MAX_DIMS 4
#define ST_MAX_HEADER (1 << 20) /* bytes of JSON header accepted */

typedef struct {
    char name[64];
    int ndim;
    long long shape[ST_MAX_DIMS];
    size_t count; /* product of shape */
    float *data;  /* count floats; owned by the st_file after st_load/st_parse */
} st_tensor;

/* One metadata pair; value holds paths up to 4000 bytes (OUTPUT_PATH_MAX) and more. */
typedef struct {
    char key[64];
    char value[4096];
} st_meta;

typedef struct {
    int n_tensors;
    st_tensor tensors[ST_MAX_TENSORS];
    int n_meta;
    st_meta meta[ST_MAX_META];
} st_file;

/**
 * Writes f to path atomically: a temporary file in the same folder, fsync, rename over
 * path, fsync of the folder. A crash leaves either the old file or the new one.
 */
mc_status st_save(const char *path, const st_file *f, mc_error *err);

/** Reads and validates a whole file (st_load_checked without a check). */
mc_status st_load(const char *path, st_file *f, mc_error *err);

/**
 * A check of a file made after its header is parsed and before its data is read: f's
 * metadata and tensor names and shapes are set, every tensor's data is NULL. Returns
 * MC_OK, or fails with a message (the load then fails with that status).
 */
typedef mc_status (*st_check_fn)(const st_file *f, const char *origin, void *ctx,
                                 mc_error *err);

/**
 * Reads a file in steps, so nothing is read whole or allocated before it is checked:
 * the path must be a regular file (input_open: a FIFO or a directory is refused at
 * once, MC_ERR_IO), at most 4 GiB; the 8-byte length is checked against ST_MAX_HEADER
 * and the file size, the header is read and validated as st_parse does (the tensors'
 * byte ranges must tile the rest of the file exactly), then check(f, path, ctx, err)
 * runs when not NULL, and only then is the data read, tensor by tensor. On failure f is
 * left empty.
 */
mc_status st_load_checked(const char *path, st_file *f, st_check_fn check, void *ctx,
                          mc_error *err);

/**
 * Parses a safetensors image of len bytes. Checks the header length, the JSON syntax
 * (strings well-formed UTF-8, \u surrogate pairs joined, no duplicate keys, one
 * __metadata__ object of string values), F32 dtypes, shapes against byte ranges, and
 * that the ranges tile the data exactly. `origin` names the source in error messages.
 * On failure f is left empty.
 */
mc_status st_parse(const uint8_t *bytes, size_t len, const char *origin, st_file *f,
                   mc_error *err);

/** Frees tensor data and empties f. */
void st_free(st_file *f);

/** The metadata value for key, or NULL. */
const char *st_meta_get(const st_file *f, const char *key);

/** The tensor called name, or NULL. */
const st_tensor *st_find(const st_file *f, const char *name);

/**
 * Whether s is well-formed UTF-8 (what a metadata string must be to be written as it
 * is: other bytes are written as U+FFFD).
 */
int st_is_utf8(const char *s);

/**
 * Appends a metadata pair. Returns 1, or 0 (f unchanged) when f is full, the key is
 * already there, or key or value does not fit (63 and 4095 bytes): never truncated.
 */
int st_meta_add(st_file *f, const char *key, const char *value);

#endif
