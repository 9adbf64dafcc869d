/* Building the JSON text of `mnistcl serve`'s replies in a growing buffer. */
#ifndef MNISTCL_SERVE_JSON_TEXT_H
#define MNISTCL_SERVE_JSON_TEXT_H

#include <stddef.h>
#include <stdint.h>

/** A growing, NUL-terminated text; once an allocation fails it stays failed. */
typedef struct {
    char *buf;
    size_t len, cap;
    int failed;
} json_text;

/** Empties t (no allocation until the first append). */
void jt_init(json_text *t);

/** Appends printf-formatted text. */
void jt_printf(json_text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/**
 * Appends s as a JSON string: quoted, with '"', '\\' and control characters escaped;
 * bytes that are not UTF-8 become U+FFFD, so the reply is valid JSON whatever s holds.
 */
void jt_string(json_text *t, const char *s);

/** Appends [v0,v1,...] of n bytes as integers. */
void jt_bytes(json_text *t, const uint8_t *v, int n);

/** Appends [v0,v1,...] of n floats (%.7g; null for a NaN or infinity, which JSON lacks). */
void jt_floats(json_text *t, const float *v, int n);

/** Hands over the text (malloc'd; *len its length) and empties t; NULL if anything failed. */
char *jt_take(json_text *t, size_t *len);

/** Frees the text. */
void jt_free(json_text *t);

#endif
