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
#define ST_MAX_META 32
#define ST_MAX_DIMS 4
#define ST_MAX_HEADER (1 << 20) /* bytes of JSON header accepted */

typedef struct {
    char name[64];
    int ndim;
    long long shape[ST_MAX_DIMS];
    size_t count; /* product of shape */
    float *data;  /* count floats; owned by the st_file after st_load/st_parse */
} st_tensor;

typedef struct {
    char key[64];
    char value[256];
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

/** Reads and validates a whole file (see st_parse). */
mc_status st_load(const char *path, st_file *f, mc_error *err);

/**
 * Parses a safetensors image of len bytes. Checks the header length, the JSON syntax,
 * F32 dtypes, shapes against byte ranges, and that the ranges tile the data exactly.
 * `origin` names the source in error messages. On failure f is left empty.
 */
mc_status st_parse(const uint8_t *bytes, size_t len, const char *origin, st_file *f,
                   mc_error *err);

/** Frees tensor data and empties f. */
void st_free(st_file *f);

/** The metadata value for key, or NULL. */
const char *st_meta_get(const st_file *f, const char *key);

/** The tensor called name, or NULL. */
const st_tensor *st_find(const st_file *f, const char *name);

/** Appends a metadata pair (truncating overlong strings); returns 0 when full. */
int st_meta_add(st_file *f, const char *key, const char *value);

#endif
