/* Kaggle digit-recognizer CSV loader. */
#include "mnistcl/csv.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <zlib.h>

#include "io/input_file.h"

#define CSV_MAX_LINE (1 << 16)

/* Reads one line (without its end) into line; returns its length, -1 at end of file or on
 * a read error (csv_stream_error tells which), -2 when longer than CSV_MAX_LINE - 1. */
static long read_line(gzFile f, char *line)
{
    if (!gzgets(f, line, CSV_MAX_LINE))
        return -1;
    size_t n = strlen(line);
    if (n == CSV_MAX_LINE - 1 && line[n - 1] != '\n')
        return -2;
    while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
        line[--n] = 0;
    return (long)n;
}

/* Number of comma-separated fields in line. */
static int count_fields(const char *line)
{
    int n = 1;
    for (; *line; line++)
        n += *line == ',';
    return n;
}

/* Parses the integer field starting at *p into v (0..max), advancing *p past it and its
 * comma. Returns 0 on success, else -1 with the field's text copied to bad. */
static int parse_field(const char **p, int max, int *v, char *bad, size_t bad_len)
{
    const char *s = *p, *end = s;
    while (*end && *end != ',')
        end++;
    const char *q = s;
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    long value = 0;
    int digits = 0;
    while (q < end && *q >= '0' && *q <= '9' && value <= max) {
        value = value * 10 + (*q++ - '0');
        digits++;
    }
    while (q < end && (*q == ' ' || *q == '\t'))
        q++;
    if (!digits || q != end || value > max) {
        size_t len = (size_t)(end - s) < bad_len - 1 ? (size_t)(end - s) : bad_len - 1;
        memcpy(bad, s, len);
        bad[len] = 0;
        return -1;
    }
    *v = (int)value;
    *p = *end ? end + 1 : end;
    return 0;
}

/*
 * Fails for a damaged stream once reading has stopped, MC_OK when it ended cleanly: a
 * read error is MC_ERR_IO, zlib out of memory MC_ERR_NOMEM, a corrupt or truncated gzip
 * stream MC_ERR_DATA. zlib records a stream cut short (Z_BUF_ERROR, "unexpected end of
 * file") without gzgets failing, so this must run after the last line was read.
 */
static mc_status csv_stream_error(gzFile f, const char *path, long long line_no, mc_error *err)
{
    int code = Z_OK;
    const char *m = gzerror(f, &code);
    if (code == Z_OK || code == Z_STREAM_END)
        return MC_OK;
    size_t n = strlen(path);
    if (m && strncmp(m, "<fd:", 4) == 0 && strstr(m, ">: "))
        m = strstr(m, ">: ") + 3; /* zlib puts "<fd:N>: " (gzdopen's name) first */
    else if (m && strncmp(m, path, n) == 0 && m[n] == ':' && m[n + 1] == ' ')
        m += n + 2;
    if (code == Z_ERRNO)
        return mc_fail(err, MC_ERR_IO, "%s: cannot read after line %lld: %s", path, line_no,
                       strerror(errno));
    if (code == Z_MEM_ERROR)
        return mc_fail(err, MC_ERR_NOMEM, "%s: out of memory while decompressing", path);
    return mc_fail(err, MC_ERR_DATA, "%s: damaged or truncated gzip data after line %lld: %s",
                   path, line_no, m && *m ? m : "unknown zlib error");
}

/* Whether line holds nothing but spaces and tabs (a blank line, skipped). */
static int blank(const char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    return !*line;
}

/* Copies header field `s` (up to its comma or the end) into name, without surrounding
 * spaces and one pair of double quotes; returns the position after the field. */
static const char *header_name(const char *s, char *name, size_t cap)
{
    const char *end = s;
    while (*end && *end != ',')
        end++;
    const char *a = s, *b = end;
    while (a < b && (*a == ' ' || *a == '\t'))
        a++;
    while (b > a && (b[-1] == ' ' || b[-1] == '\t'))
        b--;
    if (b - a >= 2 && *a == '"' && b[-1] == '"')
        a++, b--;
    size_t len = (size_t)(b - a) < cap - 1 ? (size_t)(b - a) : cap - 1;
    memcpy(name, a, len);
    name[len] = 0;
    return end;
}

/* Whether name reads as a number ("5", "-1", "+0.5"): then the line is data, not names. */
static int numeric(const char *name)
{
    if (*name == '+' || *name == '-')
        name++;
    int digits = 0;
    for (; *name; name++) {
        if (isdigit((unsigned char)*name))
            digits++;
        else if (*name != '.')
            return 0;
    }
    return digits > 0;
}

/*
 * Checks the header line and finds the layout:
 * *has_label when the first column is named "label" (any case, quotes allowed), *columns
 * the field count, *dim the pixel columns, a square. Every column needs a name that is
 * not a number (a headerless file would otherwise lose its first row as the "header"),
 * and "label" may only come first. MC_ERR_DATA naming the file and line otherwise.
 */
static mc_status parse_header(const char *line, const char *path, long long line_no,
                              int *has_label, int *columns, int *dim, mc_error *err)
{
    char name[64];
    int col = 0;
    *has_label = 0;
    for (const char *p = line;; p++) {
        p = header_name(p, name, sizeof name);
        if (numeric(name))
            return mc_fail(err, MC_ERR_DATA,
                           "%s:%lld: expected a header line (label,pixel0,... or pixel0,...), "
                           "found numbers (column %d is '%s')",
                           path, line_no, col + 1, name);
        if (!name[0])
            return mc_fail(err, MC_ERR_DATA, "%s:%lld: header column %d has no name", path,
                           line_no, col + 1);
        int is_label = strcasecmp(name, "label") == 0;
        if (is_label && col > 0)
            return mc_fail(err, MC_ERR_DATA,
                           "%s:%lld: the label column is column %d; it must be the first",
                           path, line_no, col + 1);
        *has_label |= is_label;
        col++;
        if (!*p)
            break;
    }
    *columns = col;
    *dim = col - *has_label;
    int side = (int)lround(sqrt((double)*dim));
    if (*dim < 1 || side * side != *dim)
        return mc_fail(err, MC_ERR_DATA,
                       "%s:%lld: the header names %d pixel columns; expected a square image "
                       "such as 784 (28x28)",
                       path, line_no, *dim);
    return MC_OK;
}

/*
 * Reads up to the header line (dropping a UTF-8 byte order mark at the start of the file,
 * skipping blank lines) into line and parses it; *line_no is its number. MC_ERR_DATA for
 * an empty file or a bad header, or the stream's error.
 */
static mc_status read_header(gzFile f, const char *path, char *line, long long *line_no,
                             int *has_label, int *columns, int *dim, mc_error *err)
{
    long len = read_line(f, line);
    if (len >= 3 && memcmp(line, "\xef\xbb\xbf", 3) == 0) { /* as spreadsheets write */
        len -= 3;
        memmove(line, line + 3, (size_t)len + 1);
    }
    for (*line_no = 1; len >= 0 && blank(line); ++*line_no)
        len = read_line(f, line);
    if (len == -1) {
        mc_status st = csv_stream_error(f, path, *line_no, err);
        return st ? st
                  : mc_fail(err, MC_ERR_DATA,
                            "%s: empty file: expected a header line (label,pixel0,...)", path);
    }
    if (len == -2)
        return mc_fail(err, MC_ERR_DATA, "%s:%lld: line longer than %d bytes", path, *line_no,
                       CSV_MAX_LINE - 1);
    return parse_header(line, path, *line_no, has_label, columns, dim, err);
}

/* Doubles the room for images (and labels) from *cap to 2 * *cap images of dim pixels
 * (at most INT_MAX images, a dataset's n). */
static mc_status grow(dataset *out, size_t *cap, int dim, int has_label, const char *path,
                      long long line_no, mc_error *err)
{
    size_t ncap = *cap <= (size_t)INT_MAX / 2 ? *cap * 2 : (size_t)INT_MAX;
    if (ncap == *cap || ncap > SIZE_MAX / (size_t)dim)
        return mc_fail(err, MC_ERR_DATA, "%s:%lld: more images than the limit of %zu", path,
                       line_no, *cap);
    unsigned char *img = realloc(out->images, ncap * (size_t)dim);
    if (img)
        out->images = img;
    unsigned char *lab = has_label ? realloc(out->labels, ncap) : NULL;
    if (lab)
        out->labels = lab;
    if (!img || (has_label && !lab))
        return mc_fail(err, MC_ERR_NOMEM, "%s: out of memory", path);
    *cap = ncap;
    return MC_OK;
}

/* Parses data row `line` (columns fields) into image n (and its label). */
static mc_status parse_row(const char *line, dataset *out, size_t n, int dim, int has_label,
                           int num_classes, const char *path, long long line_no, mc_error *err)
{
    const char *p = line;
    char bad[32];
    int v;
    if (has_label) {
        if (parse_field(&p, num_classes - 1, &v, bad, sizeof bad))
            return mc_fail(err, MC_ERR_DATA, "%s:%lld: label '%s' is not an integer 0..%d",
                           path, line_no, bad, num_classes - 1);
        out->labels[n] = (unsigned char)v;
        if (v > out->max_label)
            out->max_label = v;
    }
    for (int j = 0; j < dim; j++) {
        if (parse_field(&p, 255, &v, bad, sizeof bad))
            return mc_fail(err, MC_ERR_DATA, "%s:%lld: pixel %d ('%s') is not an integer 0..255",
                           path, line_no, j, bad);
        out->images[n * (size_t)dim + j] = (unsigned char)v;
    }
    return MC_OK;
}

/* Reads the data rows after the header into out (allocated here); see csv_load. */
static mc_status read_rows(gzFile f, const char *path, char *line, long long line_no,
                           int has_label, int columns, int dim, int num_classes, dataset *out,
                           mc_error *err)
{
    size_t cap = 1024, n = 0;
    out->images = malloc(cap * (size_t)dim);
    out->labels = has_label ? malloc(cap) : NULL;
    out->max_label = has_label ? 0 : -1;
    if (!out->images || (has_label && !out->labels))
        return mc_fail(err, MC_ERR_NOMEM, "%s: out of memory", path);
    long len;
    mc_status st;
    while ((len = read_line(f, line)) != -1) {
        line_no++;
        if (len == -2)
            return mc_fail(err, MC_ERR_DATA, "%s:%lld: line longer than %d bytes", path, line_no,
                           CSV_MAX_LINE - 1);
        if (blank(line))
            continue;
        int fields = count_fields(line);
        if (fields != columns)
            return mc_fail(err, MC_ERR_DATA, "%s:%lld: %d values, expected %d (%s%d pixels)",
                           path, line_no, fields, columns, has_label ? "label + " : "", dim);
        if (n == cap && (st = grow(out, &cap, dim, has_label, path, line_no, err)))
            return st;
        if ((st = parse_row(line, out, n, dim, has_label, num_classes, path, line_no, err)))
            return st;
        n++;
    }
    if ((st = csv_stream_error(f, path, line_no, err)))
        return st;
    if (n == 0)
        return mc_fail(err, MC_ERR_DATA, "%s: no data rows after the header", path);
    out->n = (int)n;
    return MC_OK;
}

mc_status csv_load(dataset *out, const char *path, int num_classes, mc_error *err)
{
    memset(out, 0, sizeof *out);
    gzFile f;
    mc_status st = input_gzopen(path, &f, err);
    if (st)
        return st;
    char *line = malloc(CSV_MAX_LINE);
    if (!line) {
        gzclose(f);
        return mc_fail(err, MC_ERR_NOMEM, "%s: out of memory", path);
    }
    long long line_no = 0;
    int has_label = 0, columns = 0, dim = 0;
    st = read_header(f, path, line, &line_no, &has_label, &columns, &dim, err);
    if (!st)
        st = read_rows(f, path, line, line_no, has_label, columns, dim, num_classes, out, err);
    if (st) {
        dataset_free(out);
    } else {
        out->rows = out->cols = (int)lround(sqrt((double)dim));
    }
    free(line);
    gzclose(f);
    return st;
}
