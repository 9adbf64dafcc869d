/* safetensors reader and atomic writer, F32 tensors only. */
#include "mnistcl/safetensors.h"

#include "io/input_file.h"
#include "io/output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

/* ---- JSON parsing ------------------------------------------------------------------ */

/* Cursor over the header text; errors name the origin and the byte offset. */
typedef struct {
    const char *start, *p, *end;
    const char *origin;
    mc_error *err;
    int failed;
} json;

static int json_error(json *j, const char *what)
{
    if (!j->failed)
        mc_fail(j->err, MC_ERR_DATA, "%s: header byte %ld: %s", j->origin,
                (long)(j->p - j->start) + 8, what);
    j->failed = 1;
    return 0;
}

/* json_error as a status, for the functions that return one. */
static mc_status json_fail(json *j, const char *what)
{
    json_error(j, what);
    return MC_ERR_DATA;
}

static void json_ws(json *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

/* Consumes c (after white space) or fails. */
static int json_expect(json *j, char c)
{
    json_ws(j);
    if (j->p >= j->end || *j->p != c) {
        char what[48];
        snprintf(what, sizeof what, "expected '%c'", c);
        return json_error(j, what);
    }
    j->p++;
    return 1;
}

/* Consumes c if it is next (after white space); returns whether it did. */
static int json_accept(json *j, char c)
{
    json_ws(j);
    if (j->p < j->end && *j->p == c) {
        j->p++;
        return 1;
    }
    return 0;
}

static int hex_value(char c)
{
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/* Encodes code point c (at most 0x10FFFF, not a surrogate) as UTF-8 into out (4 bytes of
 * room); returns the byte count. */
static size_t utf8_encode(unsigned long c, unsigned char *out)
{
    if (c < 0x80) {
        out[0] = (unsigned char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (unsigned char)(0xc0 | (c >> 6));
        out[1] = (unsigned char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (unsigned char)(0xe0 | (c >> 12));
        out[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
        out[2] = (unsigned char)(0x80 | (c & 0x3f));
        return 3;
    }
    out[0] = (unsigned char)(0xf0 | (c >> 18));
    out[1] = (unsigned char)(0x80 | ((c >> 12) & 0x3f));
    out[2] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
    out[3] = (unsigned char)(0x80 | (c & 0x3f));
    return 4;
}

/*
 * Length of the well-formed UTF-8 character at s, of which n bytes are available: 1 for
 * ASCII, 2 to 4 for a multi-byte character, 0 when the bytes are not UTF-8 (a stray
 * continuation byte, an overlong form, a surrogate, a code point above U+10FFFF, a
 * sequence cut short). Shared by the reader (which refuses such bytes) and the writer
 * (which replaces them).
 */
static size_t utf8_length(const unsigned char *s, size_t n)
{
    unsigned char c = s[0], lo = 0x80, hi = 0xbf;
    size_t len;
    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        len = 2;
    } else if (c >= 0xe0 && c <= 0xef) {
        len = 3;
        lo = c == 0xe0 ? 0xa0 : 0x80; /* no overlong 3-byte forms */
        hi = c == 0xed ? 0x9f : 0xbf; /* no surrogates D800..DFFF */
    } else if (c >= 0xf0 && c <= 0xf4) {
        len = 4;
        lo = c == 0xf0 ? 0x90 : 0x80; /* no overlong 4-byte forms */
        hi = c == 0xf4 ? 0x8f : 0xbf; /* nothing above U+10FFFF */
    } else {
        return 0; /* a continuation byte, C0/C1 (overlong), F5..FF */
    }
    if (n < len || s[1] < lo || s[1] > hi)
        return 0;
    for (size_t i = 2; i < len; i++)
        if ((s[i] & 0xc0) != 0x80)
            return 0;
    return len;
}

int st_is_utf8(const char *s)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        size_t len = utf8_length(u + i, n - i);
        if (!len)
            return 0;
        i += len;
    }
    return 1;
}

/* Parses the 4 hex digits of a \u escape (the cursor just past "\u") into *code. */
static int json_hex4(json *j, unsigned long *code)
{
    *code = 0;
    for (int i = 0; i < 4; i++) {
        int h = j->p < j->end ? hex_value(*j->p) : -1;
        if (h < 0)
            return json_error(j, "bad \\u escape");
        *code = *code * 16 + (unsigned long)h;
        j->p++;
    }
    return 1;
}

/*
 * Parses a \u escape (the cursor just past "\u") into UTF-8 bytes (*len of them): a
 * surrogate pair \uD83D\uDE00 is one 4-byte character; a lone surrogate, which no UTF-8
 * can hold, and \u0000, which a C string cannot, are errors.
 */
static int json_unicode_escape(json *j, unsigned char *bytes, size_t *len)
{
    unsigned long code, low;
    if (!json_hex4(j, &code))
        return 0;
    if (code == 0)
        return json_error(j, "\\u0000 in string");
    if (code >= 0xdc00 && code <= 0xdfff)
        return json_error(j, "lone low surrogate in \\u escape");
    if (code >= 0xd800 && code <= 0xdbff) {
        if (j->end - j->p < 2 || j->p[0] != '\\' || j->p[1] != 'u')
            return json_error(j, "high surrogate in \\u escape without its low half");
        j->p += 2;
        if (!json_hex4(j, &low))
            return 0;
        if (low < 0xdc00 || low > 0xdfff)
            return json_error(j, "high surrogate in \\u escape without its low half");
        code = 0x10000 + ((code - 0xd800) << 10) + (low - 0xdc00);
    }
    *len = utf8_encode(code, bytes);
    return 1;
}

/*
 * Parses a string into out (cap bytes, NUL-terminated): \u escapes become UTF-8, raw
 * bytes must be well-formed UTF-8 (RFC 8259 and the safetensors format require it), and
 * a string that does not fit is an error, never truncated.
 */
static int json_string(json *j, char *out, size_t cap)
{
    if (!json_expect(j, '"'))
        return 0;
    size_t n = 0;
    while (j->p < j->end && *j->p != '"') {
        unsigned char bytes[4];
        size_t len = 1;
        unsigned char c = (unsigned char)*j->p;
        bytes[0] = c;
        if (c < 0x20)
            return json_error(j, "control character in string");
        if (c >= 0x80) {
            len = utf8_length((const unsigned char *)j->p, (size_t)(j->end - j->p));
            if (!len)
                return json_error(j, "string is not valid UTF-8");
            memcpy(bytes, j->p, len);
        }
        j->p += len;
        if (c == '\\') {
            if (j->p >= j->end)
                return json_error(j, "unterminated escape");
            char e = *j->p++;
            switch (e) {
            case '"': case '\\': case '/': bytes[0] = (unsigned char)e; break;
            case 'b': bytes[0] = '\b'; break;
            case 'f': bytes[0] = '\f'; break;
            case 'n': bytes[0] = '\n'; break;
            case 'r': bytes[0] = '\r'; break;
            case 't': bytes[0] = '\t'; break;
            case 'u':
                if (!json_unicode_escape(j, bytes, &len))
                    return 0;
                break;
            default: return json_error(j, "unknown escape");
            }
        }
        if (n + len >= cap)
            return json_error(j, "string too long");
        memcpy(out + n, bytes, len);
        n += len;
    }
    if (j->p >= j->end)
        return json_error(j, "unterminated string");
    j->p++;
    out[n] = 0;
    return 1;
}

/* Parses a non-negative integer below 2^53 (no sign, fraction, exponent or leading 0). */
static int json_uint(json *j, unsigned long long *out)
{
    json_ws(j);
    if (j->p >= j->end || *j->p < '0' || *j->p > '9')
        return json_error(j, "expected a non-negative integer");
    if (*j->p == '0' && j->end - j->p > 1 && j->p[1] >= '0' && j->p[1] <= '9')
        return json_error(j, "integer with a leading zero");
    unsigned long long v = 0;
    while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
        v = v * 10 + (unsigned long long)(*j->p++ - '0');
        if (v >= (1ULL << 53))
            return json_error(j, "integer too large");
    }
    if (j->p < j->end && (*j->p == '.' || *j->p == 'e' || *j->p == 'E'))
        return json_error(j, "expected an integer");
    *out = v;
    return 1;
}

/* Parses [u, u, ...] with at most max entries; returns the count through n. */
static int json_uint_array(json *j, unsigned long long *vals, int max, int *n)
{
    *n = 0;
    if (!json_expect(j, '['))
        return 0;
    if (json_accept(j, ']'))
        return 1;
    do {
        if (*n >= max)
            return json_error(j, "too many array entries");
        if (!json_uint(j, &vals[(*n)++]))
            return 0;
    } while (json_accept(j, ','));
    return json_expect(j, ']');
}

/* Parses {"key": "value", ...} into f's metadata: string values, each key once. */
static int parse_metadata(json *j, st_file *f)
{
    if (!json_expect(j, '{'))
        return 0;
    if (json_accept(j, '}'))
        return 1;
    do {
        if (f->n_meta >= ST_MAX_META)
            return json_error(j, "too many metadata entries");
        st_meta *m = &f->meta[f->n_meta];
        if (!json_string(j, m->key, sizeof m->key))
            return 0;
        if (st_meta_get(f, m->key)) {
            char what[96];
            snprintf(what, sizeof what, "duplicate metadata key '%.60s'", m->key);
            return json_error(j, what);
        }
        f->n_meta++;
        if (!json_expect(j, ':') || !json_string(j, m->value, sizeof m->value))
            return 0;
    } while (json_accept(j, ','));
    return json_expect(j, '}');
}

/* Byte range of one tensor, kept beside the st_tensor while parsing. */
typedef struct {
    unsigned long long begin, end;
    int index;
} range;

/* Parses {"dtype": ..., "shape": [...], "data_offsets": [b, e]} into t and r. */
static int parse_tensor(json *j, st_tensor *t, range *r)
{
    int have_dtype = 0, have_shape = 0, have_offsets = 0;
    if (!json_expect(j, '{'))
        return 0;
    do {
        char key[32];
        if (!json_string(j, key, sizeof key) || !json_expect(j, ':'))
            return 0;
        if ((have_dtype && strcmp(key, "dtype") == 0) ||
            (have_shape && strcmp(key, "shape") == 0) ||
            (have_offsets && strcmp(key, "data_offsets") == 0)) {
            char what[64];
            snprintf(what, sizeof what, "duplicate key '%s' in tensor entry", key);
            return json_error(j, what);
        }
        if (strcmp(key, "dtype") == 0) {
            char dtype[16];
            if (!json_string(j, dtype, sizeof dtype))
                return 0;
            if (strcmp(dtype, "F32") != 0) {
                char what[128];
                snprintf(what, sizeof what, "tensor '%s' has dtype %s; only F32 is supported",
                         t->name, dtype);
                return json_error(j, what);
            }
            have_dtype = 1;
        } else if (strcmp(key, "shape") == 0) {
            unsigned long long dims[ST_MAX_DIMS];
            if (!json_uint_array(j, dims, ST_MAX_DIMS, &t->ndim))
                return 0;
            unsigned long long count = 1;
            for (int d = 0; d < t->ndim; d++) {
                t->shape[d] = (long long)dims[d];
                if (dims[d] && count > (1ULL << 40) / dims[d])
                    return json_error(j, "shape too large");
                count *= dims[d];
            }
            t->count = (size_t)count;
            have_shape = 1;
        } else if (strcmp(key, "data_offsets") == 0) {
            unsigned long long off[2];
            int n;
            if (!json_uint_array(j, off, 2, &n))
                return 0;
            if (n != 2 || off[1] < off[0])
                return json_error(j, "data_offsets must be [begin, end] with begin <= end");
            r->begin = off[0];
            r->end = off[1];
            have_offsets = 1;
        } else {
            return json_error(j, "unknown key in tensor entry");
        }
    } while (json_accept(j, ','));
    if (!json_expect(j, '}'))
        return 0;
    if (!have_dtype || !have_shape || !have_offsets)
        return json_error(j, "tensor entry lacks dtype, shape or data_offsets");
    if (r->end - r->begin != t->count * 4)
        return json_error(j, "tensor byte range does not match its shape");
    return 1;
}

static int by_begin(const void *a, const void *b)
{
    const range *x = a, *y = b;
    if (x->begin != y->begin) /* ties (empty tensors) by their end, so they come first */
        return x->begin < y->begin ? -1 : 1;
    return x->end < y->end ? -1 : x->end > y->end;
}

/* ---- reading ----------------------------------------------------------------------- */

static float le_float(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

/*
 * Reads the header length from the file's first 8 bytes into *hlen and checks it: at
 * most ST_MAX_HEADER and within the file_len bytes (>= 8) the file holds.
 */
static mc_status header_length(const uint8_t *len8, unsigned long long file_len,
                               const char *origin, size_t *hlen, mc_error *err)
{
    unsigned long long n = 0;
    for (int i = 7; i >= 0; i--)
        n = n << 8 | len8[i];
    if (n > ST_MAX_HEADER || n > file_len - 8)
        return mc_fail(err, MC_ERR_DATA,
                       "%s: header length %llu is larger than the file (%llu bytes) or the "
                       "%d-byte limit: not a safetensors file, or truncated",
                       origin, n, file_len, ST_MAX_HEADER);
    *hlen = (size_t)n;
    return MC_OK;
}

/*
 * Checks that the tensors' byte ranges (sorted here by begin) tile the data_len bytes
 * after the header exactly: no gap, no overlap, nothing missing or left over.
 */
static mc_status check_tiling(const st_file *f, range *ranges, unsigned long long data_len,
                              const char *origin, mc_error *err)
{
    qsort(ranges, (size_t)f->n_tensors, sizeof ranges[0], by_begin);
    unsigned long long pos = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        if (ranges[i].begin != pos)
            return mc_fail(err, MC_ERR_DATA,
                           "%s: tensor '%s' starts at data byte %llu, expected %llu", origin,
                           f->tensors[ranges[i].index].name, ranges[i].begin, pos);
        pos = ranges[i].end;
    }
    if (pos != data_len)
        return mc_fail(err, MC_ERR_DATA,
                       "%s: tensors describe %llu data bytes but the file holds %llu%s", origin,
                       pos, data_len, pos > data_len ? " (truncated?)" : "");
    return MC_OK;
}

/*
 * Parses the hlen bytes of JSON header text into f (metadata; tensors with names and
 * shapes, data NULL) and ranges (one per tensor, sorted by begin), and checks that the
 * ranges tile the data_len bytes that follow the header. The one header validation both
 * st_parse and st_load use. On failure f may hold partial entries (the caller frees).
 */
static mc_status parse_header(const char *text, size_t hlen, unsigned long long data_len,
                              const char *origin, st_file *f, range *ranges, mc_error *err)
{
    json j = {text, text, text + hlen, origin, err, 0};
    int have_meta = 0;
    if (!json_expect(&j, '{'))
        return MC_ERR_DATA;
    if (!json_accept(&j, '}')) {
        do {
            char key[64];
            if (!json_string(&j, key, sizeof key) || !json_expect(&j, ':'))
                return MC_ERR_DATA;
            if (strcmp(key, "__metadata__") == 0) {
                if (have_meta++)
                    return json_fail(&j, "second __metadata__ entry");
                if (!parse_metadata(&j, f))
                    return MC_ERR_DATA;
                continue;
            }
            if (st_find(f, key))
                return json_fail(&j, "duplicate tensor name");
            if (f->n_tensors >= ST_MAX_TENSORS)
                return json_fail(&j, "too many tensors");
            st_tensor *t = &f->tensors[f->n_tensors];
            snprintf(t->name, sizeof t->name, "%s", key);
            ranges[f->n_tensors].index = f->n_tensors;
            if (!parse_tensor(&j, t, &ranges[f->n_tensors]))
                return MC_ERR_DATA;
            f->n_tensors++;
        } while (json_accept(&j, ','));
        if (!json_expect(&j, '}'))
            return MC_ERR_DATA;
    }
    json_ws(&j);
    if (j.p != j.end)
        return json_fail(&j, "unexpected text after the header object");
    return check_tiling(f, ranges, data_len, origin, err);
}

/* Allocates t->data for t->count floats (at least one byte); 0 when memory runs out. */
static int alloc_tensor(st_tensor *t)
{
    t->data = malloc(t->count ? t->count * sizeof(float) : 1);
    return t->data != NULL;
}

mc_status st_parse(const uint8_t *bytes, size_t len, const char *origin, st_file *f,
                   mc_error *err)
{
    memset(f, 0, sizeof *f);
    if (len < 8)
        return mc_fail(err, MC_ERR_DATA, "%s: %zu bytes: too short for a safetensors file",
                       origin, len);
    size_t hlen = 0;
    range ranges[ST_MAX_TENSORS];
    mc_status st = header_length(bytes, len, origin, &hlen, err);
    if (!st)
        st = parse_header((const char *)bytes + 8, hlen, len - 8 - hlen, origin, f, ranges, err);
    const uint8_t *data = bytes + 8 + hlen;
    for (int i = 0; !st && i < f->n_tensors; i++) {
        st_tensor *t = &f->tensors[ranges[i].index];
        if (!alloc_tensor(t)) {
            st = mc_fail(err, MC_ERR_NOMEM, "%s: out of memory", origin);
            break;
        }
        for (size_t k = 0; k < t->count; k++)
            t->data[k] = le_float(data + ranges[i].begin + 4 * k);
    }
    if (st)
        st_free(f);
    return st;
}

/* Reads exactly n bytes from fd into dst; MC_ERR_IO naming path when it cannot. */
static mc_status read_exact(int fd, void *dst, size_t n, const char *path, mc_error *err)
{
    size_t got = 0;
    while (got < n) {
        ssize_t r = read(fd, (char *)dst + got, n - got > (1u << 30) ? (1u << 30) : n - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return mc_fail(err, MC_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        if (r == 0)
            return mc_fail(err, MC_ERR_IO, "%s: the file shrank while being read", path);
        got += (size_t)r;
    }
    return MC_OK;
}

/* Reads the tensors' data, which follows the header (fd positioned there) in the order
 * of ranges (sorted, tiling it), into freshly allocated arrays, 64 KiB at a time. */
static mc_status read_tensors(int fd, const char *path, st_file *f, const range *ranges,
                              mc_error *err)
{
    uint8_t chunk[1 << 16];
    for (int i = 0; i < f->n_tensors; i++) {
        st_tensor *t = &f->tensors[ranges[i].index];
        if (!alloc_tensor(t))
            return mc_fail(err, MC_ERR_NOMEM, "%s: out of memory for tensor '%s' (%zu values)",
                           path, t->name, t->count);
        for (size_t k = 0; k < t->count; k += sizeof chunk / 4) {
            size_t m = t->count - k < sizeof chunk / 4 ? t->count - k : sizeof chunk / 4;
            mc_status st = read_exact(fd, chunk, 4 * m, path, err);
            if (st)
                return st;
            for (size_t q = 0; q < m; q++)
                t->data[k + q] = le_float(chunk + 4 * q);
        }
    }
    return MC_OK;
}

/*
 * st_load_checked's steps once the file is open as fd (size bytes): the length, the
 * header, the tiling, the caller's check, then the data. f is filled; the caller frees
 * it on failure.
 */
static mc_status load_open_file(int fd, long long size, const char *path, st_file *f,
                                st_check_fn check, void *ctx, mc_error *err)
{
    if ((unsigned long long)size > (4ULL << 30))
        return mc_fail(err, MC_ERR_DATA, "%s: %lld bytes: larger than any mnistcl model", path,
                       size);
    if (size < 8)
        return mc_fail(err, MC_ERR_DATA, "%s: %lld bytes: too short for a safetensors file",
                       path, size);
    uint8_t len8[8];
    size_t hlen = 0;
    mc_status st = read_exact(fd, len8, 8, path, err);
    if (!st)
        st = header_length(len8, (unsigned long long)size, path, &hlen, err);
    if (st)
        return st;
    char *text = malloc(hlen ? hlen : 1);
    if (!text)
        return mc_fail(err, MC_ERR_NOMEM, "%s: out of memory for the %zu-byte header", path,
                       hlen);
    range ranges[ST_MAX_TENSORS];
    st = read_exact(fd, text, hlen, path, err);
    if (!st)
        st = parse_header(text, hlen, (unsigned long long)size - 8 - hlen, path, f, ranges, err);
    free(text);
    if (!st && check)
        st = check(f, path, ctx, err);
    if (!st)
        st = read_tensors(fd, path, f, ranges, err);
    return st;
}

mc_status st_load_checked(const char *path, st_file *f, st_check_fn check, void *ctx,
                          mc_error *err)
{
    memset(f, 0, sizeof *f);
    int fd;
    long long size;
    mc_status st = input_open(path, &fd, &size, err);
    if (st)
        return st;
    st = load_open_file(fd, size, path, f, check, ctx, err);
    close(fd);
    if (st)
        st_free(f);
    return st;
}

mc_status st_load(const char *path, st_file *f, mc_error *err)
{
    return st_load_checked(path, f, NULL, NULL, err);
}

void st_free(st_file *f)
{
    for (int i = 0; i < f->n_tensors; i++)
        free(f->tensors[i].data);
    memset(f, 0, sizeof *f);
}

const char *st_meta_get(const st_file *f, const char *key)
{
    for (int i = 0; i < f->n_meta; i++)
        if (strcmp(f->meta[i].key, key) == 0)
            return f->meta[i].value;
    return NULL;
}

const st_tensor *st_find(const st_file *f, const char *name)
{
    for (int i = 0; i < f->n_tensors; i++)
        if (strcmp(f->tensors[i].name, name) == 0)
            return &f->tensors[i];
    return NULL;
}

int st_meta_add(st_file *f, const char *key, const char *value)
{
    st_meta *m = &f->meta[f->n_meta];
    if (f->n_meta >= ST_MAX_META || strlen(key) >= sizeof m->key ||
        strlen(value) >= sizeof m->value || st_meta_get(f, key))
        return 0; /* never truncated: a cut value could even end inside a UTF-8 character */
    memcpy(m->key, key, strlen(key) + 1);
    memcpy(m->value, value, strlen(value) + 1);
    f->n_meta++;
    return 1;
}

/* ---- writing ----------------------------------------------------------------------- */

/*
 * Appends s as a JSON string literal to buf (escaping quotes, backslashes, controls).
 * The header must be valid UTF-8, but s need not be (a path given on a non-UTF-8 system
 * becomes the "dataset" value): each byte that does not start a well-formed UTF-8
 * character is written as \ufffd, the replacement character; valid ones are copied.
 */
static size_t put_json_string(char *buf, size_t cap, size_t n, const char *s)
{
    n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "\"");
    size_t left = strlen(s);
    while (left) {
        unsigned char c = (unsigned char)*s;
        size_t len = utf8_length((const unsigned char *)s, left);
        if (c == '"' || c == '\\')
            n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "\\%c", c);
        else if (c < 0x20)
            n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "\\u%04x", c);
        else if (!len)
            n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "\\ufffd");
        else
            n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%.*s", (int)len, s);
        len = len ? len : 1;
        s += len;
        left -= len;
    }
    return n + (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "\"");
}

/* Builds the JSON header of f into buf; returns its length (>= cap means too long). */
static size_t build_header(const st_file *f, char *buf, size_t cap)
{
    size_t n = (size_t)snprintf(buf, cap, "{");
    if (f->n_meta) {
        n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "\"__metadata__\":{");
        for (int i = 0; i < f->n_meta; i++) {
            if (i)
                n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, ",");
            n = put_json_string(buf, cap, n, f->meta[i].key);
            n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, ":");
            n = put_json_string(buf, cap, n, f->meta[i].value);
        }
        n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "}");
    }
    unsigned long long off = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        const st_tensor *t = &f->tensors[i];
        if (f->n_meta || i)
            n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, ",");
        n = put_json_string(buf, cap, n, t->name);
        n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, ":{\"dtype\":\"F32\",\"shape\":[");
        for (int d = 0; d < t->ndim; d++)
            n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, d ? ",%lld" : "%lld", t->shape[d]);
        n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "],\"data_offsets\":[%llu,%llu]}", off,
                              off + 4ULL * t->count);
        off += 4ULL * t->count;
    }
    n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "}");
    /* pad with spaces so the data starts 8-byte aligned, as the format recommends */
    while ((n + 8) % 8 && n + 1 < cap)
        buf[n++] = ' ';
    if (n < cap)
        buf[n] = 0;
    return n;
}

mc_status st_save(const char *path, const st_file *f, mc_error *err)
{
    char *header = malloc(ST_MAX_HEADER);
    if (!header)
        return mc_fail(err, MC_ERR_NOMEM, "out of memory");
    size_t hlen = build_header(f, header, ST_MAX_HEADER);
    if (hlen >= ST_MAX_HEADER) {
        free(header);
        return mc_fail(err, MC_ERR_RUNTIME, "%s: safetensors header too long", path);
    }
    output_file out;
    mc_status st = output_begin(&out, path, err);
    if (st) {
        free(header);
        return st;
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (uint8_t)((unsigned long long)hlen >> (8 * i));
    int ok = output_write(&out, len8, 8) && output_write(&out, header, hlen);
    free(header);
    uint8_t chunk[4096];
    for (int i = 0; ok && i < f->n_tensors; i++) {
        const st_tensor *t = &f->tensors[i];
        for (size_t k = 0; ok && k < t->count; k += sizeof chunk / 4) {
            size_t m = t->count - k < sizeof chunk / 4 ? t->count - k : sizeof chunk / 4;
            for (size_t q = 0; q < m; q++) {
                uint32_t u;
                memcpy(&u, &t->data[k + q], 4);
                for (int b = 0; b < 4; b++)
                    chunk[4 * q + b] = (uint8_t)(u >> (8 * b));
            }
            ok = output_write(&out, chunk, 4 * m);
        }
    }
    return output_commit(&out, err);
}
