/* safetensors reader and atomic writer, F32 tensors only. */
#include "mnistcl/safetensors.h"

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

/* Encodes code point c (< 0x10000) as UTF-8 into out; returns the byte count. */
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
    out[0] = (unsigned char)(0xe0 | (c >> 12));
    out[1] = (unsigned char)(0x80 | ((c >> 6) & 0x3f));
    out[2] = (unsigned char)(0x80 | (c & 0x3f));
    return 3;
}

/* Parses a string into out (cap bytes, NUL-terminated); \u escapes become UTF-8. */
static int json_string(json *j, char *out, size_t cap)
{
    if (!json_expect(j, '"'))
        return 0;
    size_t n = 0;
    while (j->p < j->end && *j->p != '"') {
        unsigned char bytes[3];
        size_t len = 1;
        unsigned char c = (unsigned char)*j->p++;
        bytes[0] = c;
        if (c < 0x20)
            return json_error(j, "control character in string");
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
            case 'u': {
                unsigned long code = 0;
                for (int i = 0; i < 4; i++) {
                    int h = j->p < j->end ? hex_value(*j->p) : -1;
                    if (h < 0)
                        return json_error(j, "bad \\u escape");
                    code = code * 16 + (unsigned long)h;
                    j->p++;
                }
                if (code == 0)
                    return json_error(j, "\\u0000 in string");
                len = utf8_encode(code, bytes);
                break;
            }
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

/* Parses a non-negative integer below 2^53 (no sign, fraction or exponent). */
static int json_uint(json *j, unsigned long long *out)
{
    json_ws(j);
    if (j->p >= j->end || *j->p < '0' || *j->p > '9')
        return json_error(j, "expected a non-negative integer");
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

/* Parses {"key": "value", ...} into f's metadata. */
static int parse_metadata(json *j, st_file *f)
{
    if (!json_expect(j, '{'))
        return 0;
    if (json_accept(j, '}'))
        return 1;
    do {
        if (f->n_meta >= ST_MAX_META)
            return json_error(j, "too many metadata entries");
        st_meta *m = &f->meta[f->n_meta++];
        if (!json_string(j, m->key, sizeof m->key) || !json_expect(j, ':') ||
            !json_string(j, m->value, sizeof m->value))
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
        if (strcmp(key, "dtype") == 0) {
            char dtype[16];
            if (!json_string(j, dtype, sizeof dtype))
                return 0;
            if (strcmp(dtype, "F32") != 0) {
                char what[96];
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
    return x->begin < y->begin ? -1 : x->begin > y->begin;
}

/* ---- reading ----------------------------------------------------------------------- */

static float le_float(const uint8_t *p)
{
    uint32_t u = (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
    float f;
    memcpy(&f, &u, 4);
    return f;
}

mc_status st_parse(const uint8_t *bytes, size_t len, const char *origin, st_file *f,
                   mc_error *err)
{
    memset(f, 0, sizeof *f);
    if (len < 8)
        return mc_fail(err, MC_ERR_DATA, "%s: %zu bytes: too short for a safetensors file",
                       origin, len);
    unsigned long long hlen = 0;
    for (int i = 7; i >= 0; i--)
        hlen = hlen << 8 | bytes[i];
    if (hlen > ST_MAX_HEADER || hlen > len - 8)
        return mc_fail(err, MC_ERR_DATA,
                       "%s: header length %llu is larger than the file (%zu bytes) or the "
                       "%d-byte limit: not a safetensors file, or truncated",
                       origin, hlen, len, ST_MAX_HEADER);
    json j = {(const char *)bytes + 8, (const char *)bytes + 8, (const char *)bytes + 8 + hlen,
              origin, err, 0};
    range ranges[ST_MAX_TENSORS];
    if (!json_expect(&j, '{'))
        goto out_fail;
    if (!json_accept(&j, '}')) {
        do {
            char key[64];
            if (!json_string(&j, key, sizeof key) || !json_expect(&j, ':'))
                goto out_fail;
            if (strcmp(key, "__metadata__") == 0) {
                if (!parse_metadata(&j, f))
                    goto out_fail;
                continue;
            }
            if (st_find(f, key)) {
                json_error(&j, "duplicate tensor name");
                goto out_fail;
            }
            if (f->n_tensors >= ST_MAX_TENSORS) {
                json_error(&j, "too many tensors");
                goto out_fail;
            }
            st_tensor *t = &f->tensors[f->n_tensors];
            snprintf(t->name, sizeof t->name, "%s", key);
            ranges[f->n_tensors].index = f->n_tensors;
            if (!parse_tensor(&j, t, &ranges[f->n_tensors]))
                goto out_fail;
            f->n_tensors++;
        } while (json_accept(&j, ','));
        if (!json_expect(&j, '}'))
            goto out_fail;
    }
    json_ws(&j);
    if (j.p != j.end) {
        json_error(&j, "unexpected text after the header object");
        goto out_fail;
    }
    /* The byte ranges must tile the data region exactly. */
    size_t data_len = len - 8 - (size_t)hlen;
    qsort(ranges, (size_t)f->n_tensors, sizeof ranges[0], by_begin);
    unsigned long long pos = 0;
    for (int i = 0; i < f->n_tensors; i++) {
        if (ranges[i].begin != pos) {
            mc_fail(err, MC_ERR_DATA, "%s: tensor '%s' starts at data byte %llu, expected %llu",
                    origin, f->tensors[ranges[i].index].name, ranges[i].begin, pos);
            goto out_fail;
        }
        pos = ranges[i].end;
    }
    if (pos != data_len) {
        mc_fail(err, MC_ERR_DATA, "%s: tensors describe %llu data bytes but the file holds %zu%s",
                origin, pos, data_len, pos > data_len ? " (truncated?)" : "");
        goto out_fail;
    }
    const uint8_t *data = bytes + 8 + hlen;
    for (int i = 0; i < f->n_tensors; i++) {
        st_tensor *t = &f->tensors[ranges[i].index];
        t->data = malloc(t->count ? t->count * sizeof(float) : 1);
        if (!t->data) {
            st_free(f);
            return mc_fail(err, MC_ERR_NOMEM, "%s: out of memory", origin);
        }
        for (size_t k = 0; k < t->count; k++)
            t->data[k] = le_float(data + ranges[i].begin + 4 * k);
    }
    return MC_OK;

out_fail:
    st_free(f);
    return MC_ERR_DATA;
}

mc_status st_load(const char *path, st_file *f, mc_error *err)
{
    memset(f, 0, sizeof *f);
    FILE *fp = fopen(path, "rb");
    if (!fp)
        return mc_fail(err, MC_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    struct stat sb;
    if (fstat(fileno(fp), &sb) != 0 || !S_ISREG(sb.st_mode)) {
        fclose(fp);
        return mc_fail(err, MC_ERR_IO, "%s: not a regular file", path);
    }
    size_t len = (size_t)sb.st_size;
    if ((unsigned long long)sb.st_size > (4ULL << 30)) {
        fclose(fp);
        return mc_fail(err, MC_ERR_DATA, "%s: %lld bytes: larger than any mnistcl model", path,
                       (long long)sb.st_size);
    }
    uint8_t *bytes = malloc(len ? len : 1);
    if (!bytes) {
        fclose(fp);
        return mc_fail(err, MC_ERR_NOMEM, "%s: out of memory for %zu bytes", path, len);
    }
    size_t got = fread(bytes, 1, len, fp);
    fclose(fp);
    mc_status st;
    if (got != len)
        st = mc_fail(err, MC_ERR_IO, "%s: read %zu of %zu bytes", path, got, len);
    else
        st = st_parse(bytes, len, path, f, err);
    free(bytes);
    return st;
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
    if (f->n_meta >= ST_MAX_META)
        return 0;
    st_meta *m = &f->meta[f->n_meta++];
    snprintf(m->key, sizeof m->key, "%s", key);
    snprintf(m->value, sizeof m->value, "%s", value);
    return 1;
}

/* ---- writing ----------------------------------------------------------------------- */

/* Appends s as a JSON string literal to buf (escaping quotes, backslashes, controls). */
static size_t put_json_string(char *buf, size_t cap, size_t n, const char *s)
{
    n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "\"");
    for (; *s; s++) {
        unsigned char c = (unsigned char)*s;
        if (c == '"' || c == '\\')
            n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "\\%c", c);
        else if (c < 0x20)
            n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "\\u%04x", c);
        else
            n += (size_t)snprintf(buf + n, n < cap ? cap - n : 0, "%c", c);
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

static int write_all(int fd, const void *p, size_t n)
{
    const char *c = p;
    while (n) {
        ssize_t w = write(fd, c, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return 0;
        c += w;
        n -= (size_t)w;
    }
    return 1;
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
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    if (fd < 0) {
        free(header);
        return mc_fail(err, MC_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    }
    uint8_t len8[8];
    for (int i = 0; i < 8; i++)
        len8[i] = (uint8_t)((unsigned long long)hlen >> (8 * i));
    int ok = write_all(fd, len8, 8) && write_all(fd, header, hlen);
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
            ok = write_all(fd, chunk, 4 * m);
        }
    }
    int saved_errno = errno;
    if (ok && fsync(fd) != 0)
        ok = 0, saved_errno = errno;
    if (close(fd) != 0 && ok)
        ok = 0, saved_errno = errno;
    if (ok && rename(tmp, path) != 0)
        ok = 0, saved_errno = errno;
    if (!ok) {
        unlink(tmp);
        return mc_fail(err, MC_ERR_IO, "%s: cannot write: %s", path, strerror(saved_errno));
    }
    /* make the rename itself durable */
    char dir_buf[4096];
    snprintf(dir_buf, sizeof dir_buf, "%s", path);
    int dfd = open(dirname(dir_buf), O_RDONLY);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return MC_OK;
}
