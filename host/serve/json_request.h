/*
 * A small strict JSON parser (RFC 8259) for the bodies of `mnistcl serve`'s requests:
 * one object whose members are integers or strings, each named in a table of expected
 * fields. Anything else is an error with a message saying what and where: a syntax
 * error, a member not in the table, one given twice or missing, a value of the wrong
 * type or out of its range, bytes after the object.
 */
#ifndef MNISTCL_SERVE_JSON_REQUEST_H
#define MNISTCL_SERVE_JSON_REQUEST_H

#include <stddef.h>

typedef enum {
    JSON_FIELD_INT,    /* an integer (no fraction, no exponent) in [min, max] */
    JSON_FIELD_STRING, /* a string, unescaped into UTF-8 */
} json_field_kind;

/** One expected member of the object: set name, kind (and min/max); the rest is output. */
typedef struct {
    const char *name;
    json_field_kind kind;
    long long min, max;
    long long int_value; /* JSON_FIELD_INT */
    char *str_value;     /* JSON_FIELD_STRING: malloc'd, NUL-terminated (json_fields_free) */
    size_t str_len;      /* its length in bytes (it may hold NUL bytes from \u0000) */
    int seen;
} json_field;

/**
 * Parses text[0..len) (not NUL-terminated; a NUL byte in it is an error) as one JSON
 * object holding every field of fields[0..n) exactly once and nothing else, with
 * whitespace allowed around tokens. Returns 0, or -1 with a one-line message in why
 * (why_len bytes; "at byte K: ..." for syntax errors) and every str_value freed.
 */
int json_parse_object(const char *text, size_t len, json_field *fields, int n, char *why,
                      size_t why_len);

/** Frees the fields' str_value (and sets them to NULL). */
void json_fields_free(json_field *fields, int n);

#endif
