/* Kaggle digit-recognizer CSV loader. */
#include "mnistcl/csv.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#define CSV_MAX_LINE (1 << 16)

/* Reads one line (without its end) into line; returns its length, -1 at end of file,
 * -2 when longer than CSV_MAX_LINE - 1. */
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

mc_status csv_load(dataset *out, const char *path, int num_classes, mc_error *err)
{
    memset(out, 0, sizeof *out);
    gzFile f = gzopen(path, "rb");
    if (!f)
        return mc_fail(err, MC_ERR_IO, "%s: cannot open: %s", path,
                       errno ? strerror(errno) : "out of memory");
    char *line = malloc(CSV_MAX_LINE);
    mc_status st = MC_OK;
    long len;
    long long line_no = 1;
    if (!line) {
        st = mc_fail(err, MC_ERR_NOMEM, "%s: out of memory", path);
        goto out_close;
    }
    while ((len = read_line(f, line)) == 0) /* blank lines before the header */
        line_no++;
    if (len == -1) {
        st = mc_fail(err, MC_ERR_DATA, "%s: empty file: expected a header line (label,pixel0,...)",
                     path);
        goto out_close;
    }
    if (len == -2) {
        st = mc_fail(err, MC_ERR_DATA, "%s:%lld: line longer than %d bytes", path, line_no,
                     CSV_MAX_LINE - 1);
        goto out_close;
    }
    if (line[0] >= '0' && line[0] <= '9') {
        st = mc_fail(err, MC_ERR_DATA,
                     "%s:%lld: expected a header line (label,pixel0,... or pixel0,...), found "
                     "numbers",
                     path, line_no);
        goto out_close;
    }
    int has_label = strncmp(line, "label,", 6) == 0 || strncmp(line, "\"label\",", 8) == 0;
    int columns = count_fields(line), dim = columns - has_label;
    int side = (int)lround(sqrt((double)dim));
    if (dim < 1 || side * side != dim) {
        st = mc_fail(err, MC_ERR_DATA,
                     "%s:%lld: the header names %d pixel columns; expected a square image such "
                     "as 784 (28x28)",
                     path, line_no, dim);
        goto out_close;
    }
    size_t cap = 1024, n = 0;
    out->images = malloc(cap * (size_t)dim);
    out->labels = has_label ? malloc(cap) : NULL;
    out->max_label = has_label ? 0 : -1;
    if (!out->images || (has_label && !out->labels)) {
        st = mc_fail(err, MC_ERR_NOMEM, "%s: out of memory", path);
        goto out_free;
    }
    while ((len = read_line(f, line)) != -1) {
        line_no++;
        if (len == -2) {
            st = mc_fail(err, MC_ERR_DATA, "%s:%lld: line longer than %d bytes", path, line_no,
                         CSV_MAX_LINE - 1);
            goto out_free;
        }
        if (len == 0)
            continue;
        int fields = count_fields(line);
        if (fields != columns) {
            st = mc_fail(err, MC_ERR_DATA, "%s:%lld: %d values, expected %d (%s%d pixels)", path,
                         line_no, fields, columns, has_label ? "label + " : "", dim);
            goto out_free;
        }
        if (n == cap) {
            if ((long long)(cap * 2) * dim > DATASET_MAX_BYTES) {
                st = mc_fail(err, MC_ERR_DATA, "%s:%lld: more images than the %lld-byte limit",
                             path, line_no, (long long)DATASET_MAX_BYTES);
                goto out_free;
            }
            unsigned char *img = realloc(out->images, cap * 2 * (size_t)dim);
            if (img)
                out->images = img;
            unsigned char *lab = has_label ? realloc(out->labels, cap * 2) : NULL;
            if (lab)
                out->labels = lab;
            if (!img || (has_label && !lab)) {
                st = mc_fail(err, MC_ERR_NOMEM, "%s: out of memory", path);
                goto out_free;
            }
            cap *= 2;
        }
        const char *p = line;
        char bad[32];
        int v;
        if (has_label) {
            if (parse_field(&p, num_classes - 1, &v, bad, sizeof bad)) {
                st = mc_fail(err, MC_ERR_DATA, "%s:%lld: label '%s' is not an integer 0..%d",
                             path, line_no, bad, num_classes - 1);
                goto out_free;
            }
            out->labels[n] = (unsigned char)v;
            if (v > out->max_label)
                out->max_label = v;
        }
        for (int j = 0; j < dim; j++) {
            if (parse_field(&p, 255, &v, bad, sizeof bad)) {
                st = mc_fail(err, MC_ERR_DATA,
                             "%s:%lld: pixel %d ('%s') is not an integer 0..255", path, line_no,
                             j, bad);
                goto out_free;
            }
            out->images[n * (size_t)dim + j] = (unsigned char)v;
        }
        n++;
    }
    if (n == 0) {
        st = mc_fail(err, MC_ERR_DATA, "%s: no data rows after the header", path);
        goto out_free;
    }
    int zerr;
    gzerror(f, &zerr);
    if (zerr != Z_OK && zerr != Z_STREAM_END) {
        st = mc_fail(err, MC_ERR_DATA, "%s: cannot decompress after line %lld", path, line_no);
        goto out_free;
    }
    out->n = (int)n;
    out->rows = out->cols = side;
    goto out_close;

out_free:
    dataset_free(out);
out_close:
    free(line);
    gzclose(f);
    return st;
}
