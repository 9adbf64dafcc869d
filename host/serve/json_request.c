/* A small strict JSON parser for request bodies (json_request.h). */
#include "serve/json_request.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    const unsigned char *s;
    size_t len, pos;
    char *why;
    size_t why_len;
} parser;

/* Writes the message into p->why and returns -1. */
__attribute__((format(printf, 2, 3))) static int fail(parser *p, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->why, p->why_len, fmt, ap);
    va_end(ap);
    return -1;
}

/* Skips JSON whitespace (space, tab, line feed, carriage return). */
static void skip_ws(parser *p)
{
    while (p->pos < p->len && (p->s[p->pos] == ' ' || p->s[p->pos] == '\t' ||
                               p->s[p->pos] == '\n' || p->s[p->pos] == '\r'))
        p->pos++;
}

/* The next byte, or -1 at the end of the text. */
static int peek(const parser *p)
{
    return p->pos < p->len ? p->s[p->pos] : -1;
}

/* The value of hex digit c, or -1. */
static int hex_digit(int c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Reads the 4 hex digits at p->pos (after "\u") into *cp; -1 with a message if not. */
static int read_hex4(parser *p, unsigned *cp)
{
    unsigned v = 0;
    for (int k = 0; k < 4; k++) {
        int d = p->pos < p->len ? hex_digit(p->s[p->pos]) : -1;
        if (d < 0)
            return fail(p, "at byte %zu: \\u needs 4 hex digits", p->pos);
        v = v << 4 | (unsigned)d;
        p->pos++;
    }
    *cp = v;
    return 0;
}

/* Appends code point cp (a scalar value) to out as UTF-8; returns the new length. */
static size_t put_utf8(char *out, size_t n, unsigned cp)
{
    if (cp < 0x80) {
        out[n++] = (char)cp;
    } else if (cp < 0x800) {
        out[n++] = (char)(0xC0 | cp >> 6);
        out[n++] = (char)(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out[n++] = (char)(0xE0 | cp >> 12);
        out[n++] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[n++] = (char)(0x80 | (cp & 0x3F));
    } else {
        out[n++] = (char)(0xF0 | cp >> 18);
        out[n++] = (char)(0x80 | (cp >> 12 & 0x3F));
        out[n++] = (char)(0x80 | (cp >> 6 & 0x3F));
        out[n++] = (char)(0x80 | (cp & 0x3F));
    }
    return n;
}

/*
 * The length (2..4) of the well-formed UTF-8 sequence of a non-ASCII lead byte at s
 * (avail bytes there), or 0 when it is not one (overlong, surrogate, past U+10FFFF,
 * truncated, a stray continuation byte).
 */
static int utf8_sequence(const unsigned char *s, size_t avail)
{
    unsigned c = s[0];
    int n;
    unsigned lo = 0x80, hi = 0xBF; /* range of the second byte */
    if (c >= 0xC2 && c <= 0xDF) {
        n = 2;
    } else if (c >= 0xE0 && c <= 0xEF) {
        n = 3;
        if (c == 0xE0)
            lo = 0xA0; /* no overlongs */
        if (c == 0xED)
            hi = 0x9F; /* no surrogates */
    } else if (c >= 0xF0 && c <= 0xF4) {
        n = 4;
        if (c == 0xF0)
            lo = 0x90;
        if (c == 0xF4)
            hi = 0x8F; /* nothing past U+10FFFF */
    } else {
        return 0;
    }
    if (avail < (size_t)n || s[1] < lo || s[1] > hi)
        return 0;
    for (int k = 2; k < n; k++)
        if (s[k] < 0x80 || s[k] > 0xBF)
            return 0;
    return n;
}

/*
 * Parses the string starting at p->pos (which holds '"') into a malloc'd,
 * NUL-terminated *out of *out_len bytes. -1 with a message on a syntax error.
 */
static int parse_string(parser *p, char **out, size_t *out_len)
{
    size_t start = ++p->pos, end = start;
    /* find the closing quote first: the text decodes to at most its own length */
    while (end < p->len && p->s[end] != '"')
        end += p->s[end] == '\\' ? 2 : 1;
    if (end >= p->len)
        return fail(p, "at byte %zu: string not closed", start - 1);
    char *buf = malloc(end - start + 1);
    if (!buf)
        return fail(p, "out of memory for a string of %zu bytes", end - start);
    size_t n = 0;
    while (p->pos < end) {
        unsigned c = p->s[p->pos];
        if (c < 0x20) {
            free(buf);
            return fail(p, "at byte %zu: control character 0x%02x in a string (escape it)",
                        p->pos, c);
        }
        if (c >= 0x80) {
            int k = utf8_sequence(p->s + p->pos, end - p->pos);
            if (!k) {
                free(buf);
                return fail(p, "at byte %zu: not UTF-8", p->pos);
            }
            memcpy(buf + n, p->s + p->pos, (size_t)k);
            n += (size_t)k;
            p->pos += (size_t)k;
            continue;
        }
        p->pos++;
        if (c != '\\') {
            buf[n++] = (char)c;
            continue;
        }
        int e = p->s[p->pos++];
        const char *simple = strchr("\"\\/bfnrt", e);
        if (e && simple) {
            static const char to[] = "\"\\/\b\f\n\r\t";
            buf[n++] = to[simple - "\"\\/bfnrt"];
            continue;
        }
        if (e != 'u') {
            free(buf);
            return fail(p, "at byte %zu: bad escape", p->pos - 2);
        }
        unsigned cp = 0, low = 0;
        if (read_hex4(p, &cp)) {
            free(buf);
            return -1;
        }
        if (cp >= 0xDC00 && cp <= 0xDFFF) {
            free(buf);
            return fail(p, "at byte %zu: lone low surrogate \\u%04X", p->pos - 6, cp);
        }
        if (cp >= 0xD800 && cp <= 0xDBFF) {
            if (p->pos + 2 > end || p->s[p->pos] != '\\' || p->s[p->pos + 1] != 'u') {
                free(buf);
                return fail(p, "at byte %zu: high surrogate \\u%04X without its low half",
                            p->pos - 6, cp);
            }
            p->pos += 2;
            if (read_hex4(p, &low)) {
                free(buf);
                return -1;
            }
            if (low < 0xDC00 || low > 0xDFFF) {
                free(buf);
                return fail(p, "at byte %zu: \\u%04X is not a low surrogate", p->pos - 6,
                            low);
            }
            cp = 0x10000 + ((cp - 0xD800) << 10) + (low - 0xDC00);
        }
        n = put_utf8(buf, n, cp);
    }
    p->pos = end + 1;
    buf[n] = '\0';
    *out = buf;
    *out_len = n;
    return 0;
}

/* Copies name into out (cap bytes) with anything but printable ASCII shown as '?'. */
static const char *shown(const char *name, size_t len, char *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < len && n + 4 < cap; i++) {
        unsigned char c = (unsigned char)name[i];
        out[n++] = c >= 0x20 && c < 0x7F && c != '"' && c != '\\' ? (char)c : '?';
    }
    if (len > 0 && n < len && n + 4 <= cap)
        out[n++] = '.', out[n++] = '.', out[n++] = '.';
    out[n] = '\0';
    return out;
}

/*
 * Parses the integer at p->pos for field f: JSON's number grammar without fraction or
 * exponent, in [f->min, f->max].
 */
static int parse_int(parser *p, json_field *f)
{
    size_t start = p->pos;
    int neg = peek(p) == '-';
    if (neg)
        p->pos++;
    int c = peek(p);
    if (c < '0' || c > '9')
        return fail(p, "at byte %zu: field \"%s\": expected an integer", start, f->name);
    unsigned long long v = 0;
    int big = 0;
    if (c == '0') {
        p->pos++;
        c = peek(p);
        if (c >= '0' && c <= '9')
            return fail(p, "at byte %zu: a number with a leading zero", start);
    } else {
        while ((c = peek(p)) >= '0' && c <= '9') {
            if (v > 100000000000000000ULL)
                big = 1;
            else
                v = v * 10 + (unsigned)(c - '0');
            p->pos++;
        }
    }
    if (c == '.' || c == 'e' || c == 'E')
        return fail(p, "at byte %zu: field \"%s\": expected an integer, not a number with a "
                       "fraction or exponent",
                    start, f->name);
    long long value = neg ? -(long long)v : (long long)v;
    if (big || value < f->min || value > f->max)
        return fail(p, "field \"%s\": %.*s is out of range %lld..%lld", f->name,
                    (int)(p->pos - start > 24 ? 24 : p->pos - start), (const char *)p->s + start,
                    f->min, f->max);
    f->int_value = value;
    return 0;
}

/* Parses one "name": value member into its field. */
static int parse_member(parser *p, json_field *fields, int n)
{
    if (peek(p) != '"')
        return fail(p, "at byte %zu: expected a member name (a string)", p->pos);
    char *key = NULL, show[48];
    size_t key_len = 0, key_at = p->pos;
    if (parse_string(p, &key, &key_len))
        return -1;
    json_field *f = NULL;
    for (int i = 0; i < n && !f; i++)
        if (strlen(fields[i].name) == key_len && memcmp(fields[i].name, key, key_len) == 0)
            f = &fields[i];
    int rc = 0;
    if (!f)
        rc = fail(p, "at byte %zu: unknown field \"%s\"", key_at,
                  shown(key, key_len, show, sizeof show));
    else if (f->seen)
        rc = fail(p, "at byte %zu: field \"%s\" given twice", key_at, f->name);
    free(key);
    if (rc)
        return rc;
    skip_ws(p);
    if (peek(p) != ':')
        return fail(p, "at byte %zu: expected ':' after the member name", p->pos);
    p->pos++;
    skip_ws(p);
    f->seen = 1;
    if (f->kind == JSON_FIELD_INT)
        return parse_int(p, f);
    if (peek(p) != '"')
        return fail(p, "at byte %zu: field \"%s\": expected a string", p->pos, f->name);
    return parse_string(p, &f->str_value, &f->str_len);
}

int json_parse_object(const char *text, size_t len, json_field *fields, int n, char *why,
                      size_t why_len)
{
    parser p = {(const unsigned char *)text, len, 0, why, why_len};
    for (int i = 0; i < n; i++) {
        fields[i].seen = 0;
        fields[i].int_value = 0;
        fields[i].str_value = NULL;
        fields[i].str_len = 0;
    }
    int rc = 0;
    const unsigned char *nul = len ? memchr(text, '\0', len) : NULL;
    if (nul)
        rc = fail(&p, "at byte %zu: a NUL byte", (size_t)(nul - p.s));
    skip_ws(&p);
    if (!rc && p.pos == len)
        rc = fail(&p, "empty body: expected a JSON object");
    else if (!rc && peek(&p) != '{')
        rc = fail(&p, "at byte %zu: expected a JSON object ('{')", p.pos);
    if (!rc) {
        p.pos++;
        skip_ws(&p);
        if (peek(&p) == '}') {
            p.pos++;
        } else {
            for (;;) {
                if ((rc = parse_member(&p, fields, n)))
                    break;
                skip_ws(&p);
                int c = peek(&p);
                if (c == ',') {
                    p.pos++;
                    skip_ws(&p);
                    continue;
                }
                if (c == '}') {
                    p.pos++;
                    break;
                }
                rc = fail(&p, c < 0 ? "at byte %zu: the object is not closed (truncated?)"
                                    : "at byte %zu: expected ',' or '}'",
                          p.pos);
                break;
            }
        }
    }
    if (!rc) {
        skip_ws(&p);
        if (p.pos != len)
            rc = fail(&p, "at byte %zu: unexpected bytes after the object", p.pos);
    }
    for (int i = 0; !rc && i < n; i++)
        if (!fields[i].seen)
            rc = fail(&p, "missing field \"%s\"", fields[i].name);
    if (rc)
        json_fields_free(fields, n);
    return rc;
}

void json_fields_free(json_field *fields, int n)
{
    for (int i = 0; i < n; i++) {
        free(fields[i].str_value);
        fields[i].str_value = NULL;
    }
}
