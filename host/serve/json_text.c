/* JSON reply text (json_text.h). */
#include "serve/json_text.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void jt_init(json_text *t)
{
    t->buf = NULL;
    t->len = t->cap = 0;
    t->failed = 0;
}

/* Makes room for extra more bytes and the NUL; 0, or -1 (t failed) when memory runs out. */
static int reserve(json_text *t, size_t extra)
{
    if (t->failed)
        return -1;
    if (t->len + extra + 1 <= t->cap)
        return 0;
    size_t cap = t->cap ? t->cap : 256;
    while (cap < t->len + extra + 1)
        cap *= 2;
    char *b = realloc(t->buf, cap);
    if (!b) {
        t->failed = 1;
        return -1;
    }
    t->buf = b;
    t->cap = cap;
    return 0;
}

void jt_printf(json_text *t, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0) {
        t->failed = 1;
        return;
    }
    if (reserve(t, (size_t)n))
        return;
    va_start(ap, fmt);
    vsnprintf(t->buf + t->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    t->len += (size_t)n;
}

/* The length of the well-formed UTF-8 sequence at s (a non-ASCII byte), or 0. */
static int utf8_length(const unsigned char *s)
{
    unsigned c = s[0], lo = 0x80, hi = 0xBF;
    int n = c >= 0xC2 && c <= 0xDF ? 2 : c >= 0xE0 && c <= 0xEF ? 3 : c >= 0xF0 && c <= 0xF4 ? 4 : 0;
    if (c == 0xE0)
        lo = 0xA0;
    else if (c == 0xED)
        hi = 0x9F;
    else if (c == 0xF0)
        lo = 0x90;
    else if (c == 0xF4)
        hi = 0x8F;
    if (!n || s[1] < lo || s[1] > hi) /* (a NUL terminator stops it here or below) */
        return 0;
    for (int k = 2; k < n; k++)
        if (s[k] < 0x80 || s[k] > 0xBF)
            return 0;
    return n;
}

void jt_string(json_text *t, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    if (reserve(t, 2 + 6 * strlen(s)))
        return;
    char *o = t->buf + t->len;
    *o++ = '"';
    while (*p) {
        unsigned c = *p;
        if (c == '"' || c == '\\') {
            *o++ = '\\';
            *o++ = (char)c;
            p++;
        } else if (c < 0x20) {
            o += sprintf(o, "\\u%04x", c);
            p++;
        } else if (c < 0x80) {
            *o++ = (char)c;
            p++;
        } else {
            int k = utf8_length(p);
            if (k) {
                memcpy(o, p, (size_t)k);
                o += k;
                p += k;
            } else {
                memcpy(o, "\xEF\xBF\xBD", 3); /* U+FFFD for a byte that is not UTF-8 */
                o += 3;
                p++;
            }
        }
    }
    *o++ = '"';
    *o = '\0';
    t->len = (size_t)(o - t->buf);
}

void jt_bytes(json_text *t, const uint8_t *v, int n)
{
    if (reserve(t, 2 + 4 * (size_t)n))
        return;
    char *o = t->buf + t->len;
    *o++ = '[';
    for (int i = 0; i < n; i++)
        o += sprintf(o, i ? ",%u" : "%u", (unsigned)v[i]);
    *o++ = ']';
    *o = '\0';
    t->len = (size_t)(o - t->buf);
}

void jt_floats(json_text *t, const float *v, int n)
{
    jt_printf(t, "[");
    for (int i = 0; i < n; i++) {
        if (isfinite(v[i]))
            jt_printf(t, i ? ",%.7g" : "%.7g", (double)v[i]);
        else
            jt_printf(t, i ? ",null" : "null");
    }
    jt_printf(t, "]");
}

char *jt_take(json_text *t, size_t *len)
{
    if (t->failed || reserve(t, 0)) {
        jt_free(t);
        return NULL;
    }
    char *b = t->buf;
    *len = t->len;
    jt_init(t);
    return b;
}

void jt_free(json_text *t)
{
    free(t->buf);
    jt_init(t);
}
