/* IDX file reader (raw or gzip) and the MNIST-style dataset loader built on it. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include "io/input_file.h"
#include "mnistcl/dataset.h"
#include "mnistcl/rng.h"

#ifndef MNISTCL_SOURCE_DIR
#define MNISTCL_SOURCE_DIR "."
#endif

/* One IDX array of unsigned bytes as read from disk. */
typedef struct {
    uint8_t *data;
    long long dims[3];
    int ndims;
    long long size; /* product of dims, bytes of data */
} idx_array;

static long long be32(const uint8_t *p)
{
    return ((long long)p[0] << 24) | ((long long)p[1] << 16) | ((long long)p[2] << 8) | p[3];
}

/* Reads up to n bytes; returns bytes read, or -1 on a zlib error (message in err). */
static long long gz_read_fully(gzFile f, uint8_t *dst, long long n)
{
    long long got = 0;
    while (got < n) {
        long long want = n - got;
        if (want > (1 << 30))
            want = 1 << 30;
        int r = gzread(f, dst + got, (unsigned)want);
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += r;
    }
    return got;
}

/* zlib's message for the stream's error, without the "path: " (gzopen) or "<fd:N>: "
 * (gzdopen) that zlib puts first. */
static const char *gz_message(gzFile f, const char *path)
{
    int code = 0;
    const char *m = gzerror(f, &code);
    if (code == Z_ERRNO)
        return strerror(errno);
    if (!m || !*m)
        return "unknown zlib error";
    size_t n = strlen(path);
    if (strncmp(m, path, n) == 0 && m[n] == ':' && m[n + 1] == ' ')
        m += n + 2;
    else if (strncmp(m, "<fd:", 4) == 0 && strstr(m, ">: "))
        m = strstr(m, ">: ") + 3; /* what gzdopen names the stream */
    return m;
}

/*
 * Fails for the stream's pending error: a read error (Z_ERRNO) is MC_ERR_IO "cannot read",
 * zlib running out of memory MC_ERR_NOMEM, anything else (corrupt deflate data, a wrong
 * CRC or length, a stream cut short) MC_ERR_DATA "damaged or truncated gzip data". `where`
 * says how far the reader got, e.g. " after 100 data bytes" (may be "").
 */
static mc_status gz_fail(gzFile f, const char *path, const char *where, mc_error *err)
{
    int code = Z_OK;
    gzerror(f, &code);
    const char *m = gz_message(f, path);
    if (code == Z_ERRNO)
        return mc_fail(err, MC_ERR_IO, "%s: cannot read%s: %s", path, where, m);
    if (code == Z_MEM_ERROR)
        return mc_fail(err, MC_ERR_NOMEM, "%s: out of memory while decompressing", path);
    return mc_fail(err, MC_ERR_DATA, "%s: damaged or truncated gzip data%s: %s", path, where, m);
}

/*
 * Reads what follows the data the header describes: MC_OK when nothing does and the
 * stream ended cleanly (for gzip: its CRC and length trailer present and right), else
 * MC_ERR_DATA naming the extra bytes or the damage (gz_fail).
 */
static mc_status idx_check_end(gzFile f, const char *path, long long total, mc_error *err)
{
    uint8_t extra[4096];
    long long trailing = 0;
    for (;;) {
        long long r = gz_read_fully(f, extra, sizeof extra);
        if (r < 0)
            return gz_fail(f, path, " after the data", err);
        if (r == 0)
            break;
        trailing += r;
        if (trailing > (1LL << 30))
            break;
    }
    if (trailing > 0)
        return mc_fail(err, MC_ERR_DATA,
                       "%s: %lld%s bytes follow the %lld data bytes its header describes", path,
                       trailing, trailing > (1LL << 30) ? "+" : "", total);
    /* a gzip stream cut before its trailer reads to the end with no error from gzread:
     * zlib only records Z_BUF_ERROR ("unexpected end of file") */
    int code = Z_OK;
    gzerror(f, &code);
    if (code != Z_OK)
        return gz_fail(f, path, "", err);
    return MC_OK;
}

/*
 * Reads the IDX file at path, which must hold unsigned bytes in want_dims dimensions.
 * Memory grows with the bytes actually present, never from the header's claim alone,
 * so a lying header cannot make the loader allocate gigabytes.
 */
static mc_status idx_read(const char *path, int want_dims, idx_array *out, mc_error *err)
{
    memset(out, 0, sizeof *out);
    gzFile f;
    mc_status st = input_gzopen(path, &f, err);
    if (st)
        return st;
    uint8_t head[16];
    long long header_bytes = 4 + 4LL * want_dims;
    long long got = gz_read_fully(f, head, 4);
    if (got < 0) {
        st = gz_fail(f, path, "", err);
        goto out_close;
    }
    if (got < 4) {
        st = mc_fail(err, MC_ERR_DATA, "%s: truncated: %lld bytes, too short for an IDX header",
                     path, got);
        goto out_close;
    }
    long long magic = be32(head);
    if (head[0] != 0 || head[1] != 0) {
        st = mc_fail(err, MC_ERR_DATA,
                     "%s: bad magic number 0x%08llx: not an IDX file (expected 0x%08x)", path,
                     magic, 0x800 | want_dims);
        goto out_close;
    }
    if (head[2] != 0x08) {
        st = mc_fail(err, MC_ERR_DATA,
                     "%s: magic 0x%08llx: element type 0x%02x is not unsigned byte (0x08)", path,
                     magic, head[2]);
        goto out_close;
    }
    if (head[3] != want_dims) {
        st = mc_fail(err, MC_ERR_DATA,
                     "%s: magic 0x%08llx: %d dimensions, expected %d (%s file)", path, magic,
                     head[3], want_dims, want_dims == 3 ? "an image" : "a label");
        goto out_close;
    }
    got = gz_read_fully(f, head + 4, header_bytes - 4);
    if (got < 0) {
        st = gz_fail(f, path, " in the header", err);
        goto out_close;
    }
    if (got < header_bytes - 4) {
        st = mc_fail(err, MC_ERR_DATA, "%s: truncated header: %lld of %lld bytes", path, 4 + got,
                     header_bytes);
        goto out_close;
    }
    out->ndims = want_dims;
    long long total = 1;
    for (int d = 0; d < want_dims; d++) {
        long long v = be32(head + 4 + 4 * d);
        if (v == 0) {
            st = mc_fail(err, MC_ERR_DATA, "%s: dimension %d is 0: the file holds no data", path,
                         d);
            goto out_close;
        }
        if (v > DATASET_MAX_BYTES || total > DATASET_MAX_BYTES / v) {
            st = mc_fail(err, MC_ERR_DATA,
                         "%s: header claims dimensions over the %lld-byte limit (dimension %d "
                         "is %lld)",
                         path, (long long)DATASET_MAX_BYTES, d, v);
            goto out_close;
        }
        out->dims[d] = v;
        total *= v;
    }
    out->size = total;

    long long cap = total < (1 << 20) ? total : (1 << 20);
    long long have = 0;
    out->data = malloc((size_t)cap);
    if (!out->data) {
        st = mc_fail(err, MC_ERR_NOMEM, "%s: out of memory for %lld bytes", path, cap);
        goto out_close;
    }
    while (have < total) {
        if (have == cap) {
            long long ncap = cap * 2 < total ? cap * 2 : total;
            uint8_t *grown = realloc(out->data, (size_t)ncap);
            if (!grown) {
                st = mc_fail(err, MC_ERR_NOMEM, "%s: out of memory for %lld bytes", path, ncap);
                goto out_free;
            }
            out->data = grown;
            cap = ncap;
        }
        long long r = gz_read_fully(f, out->data + have, cap - have);
        if (r < 0) {
            char where[64];
            snprintf(where, sizeof where, " after %lld data bytes", have);
            st = gz_fail(f, path, where, err);
            goto out_free;
        }
        if (r == 0)
            break;
        have += r;
    }
    if (have < total) {
        st = mc_fail(err, MC_ERR_DATA,
                     "%s: truncated: the header promises %lld data bytes, the file holds %lld",
                     path, total, have);
        goto out_free;
    }
    st = idx_check_end(f, path, total, err);
    if (st)
        goto out_free;
    gzclose(f);
    return MC_OK;

out_free:
    free(out->data);
    out->data = NULL;
out_close:
    gzclose(f);
    return st;
}

mc_status dataset_load_idx(dataset *out, const char *images_path, const char *labels_path,
                           int num_classes, mc_error *err)
{
    memset(out, 0, sizeof *out);
    idx_array img, lab;
    mc_status st = idx_read(images_path, 3, &img, err);
    if (st)
        return st;
    st = idx_read(labels_path, 1, &lab, err);
    if (st)
        goto out_free_images;
    if (img.dims[0] != lab.dims[0]) {
        st = mc_fail(err, MC_ERR_DATA, "%s holds %lld images but %s holds %lld labels",
                     images_path, img.dims[0], labels_path, lab.dims[0]);
        goto out_free_labels;
    }
    int max_label = 0;
    for (long long i = 0; i < lab.size; i++) {
        if (lab.data[i] >= num_classes) {
            st = mc_fail(err, MC_ERR_DATA, "%s: label %d of item %lld is not below %d",
                         labels_path, lab.data[i], i, num_classes);
            goto out_free_labels;
        }
        if (lab.data[i] > max_label)
            max_label = lab.data[i];
    }
    out->images = img.data;
    out->labels = lab.data;
    out->n = (int)img.dims[0];
    out->rows = (int)img.dims[1];
    out->cols = (int)img.dims[2];
    out->max_label = max_label;
    return MC_OK;

out_free_labels:
    free(lab.data);
out_free_images:
    free(img.data);
    return st;
}

/*
 * Whether something is at path. Only "no such file" (ENOENT, ENOTDIR) counts as absent:
 * a file behind a folder we may not search, or a directory, is present, so the reader
 * opens it and names the real problem (permission denied, is a directory).
 */
static int file_exists(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 || (errno != ENOENT && errno != ENOTDIR);
}

const char *dataset_default_dir(dataset_kind kind)
{
    if (kind == DATASET_FASHION) {
        const char *env = getenv("MNISTCL_FASHION_DATA");
        return env && *env ? env : "/usr/share/datasets/fashion-mnist";
    }
    const char *env = getenv("MNISTCL_DATA");
    if (env && *env)
        return env;
    if (file_exists("data/mnist"))
        return "data/mnist";
    return MNISTCL_SOURCE_DIR "/data/mnist";
}

/*
 * Sets path to dir/base, or dir/base.gz when only the compressed one exists. Anything at
 * dir/base (a directory too) is taken, so the reader reports it rather than "not found".
 */
static void pick_file(char *path, size_t len, const char *dir, const char *base)
{
    snprintf(path, len, "%s/%s", dir, base);
    if (file_exists(path))
        return;
    char gz[4096];
    snprintf(gz, sizeof gz, "%s/%s.gz", dir, base);
    if (file_exists(gz))
        snprintf(path, len, "%s", gz);
}

mc_status dataset_load_named(dataset *out, dataset_kind kind, const char *dir, int train,
                             mc_error *err)
{
    if (!dir)
        dir = dataset_default_dir(kind);
    const char *prefix = train ? "train" : "t10k";
    char base_img[64], base_lab[64], img[4096], lab[4096];
    snprintf(base_img, sizeof base_img, "%s-images-idx3-ubyte", prefix);
    snprintf(base_lab, sizeof base_lab, "%s-labels-idx1-ubyte", prefix);
    pick_file(img, sizeof img, dir, base_img);
    pick_file(lab, sizeof lab, dir, base_lab);
    const char *hint = kind == DATASET_MNIST
                           ? "run data/fetch.sh or pass --data DIR"
                           : "install Debian's dataset-fashion-mnist or pass --data DIR";
    if (!file_exists(img))
        return mc_fail(err, MC_ERR_IO, "%s: not found (nor %s.gz); %s", img, img, hint);
    if (!file_exists(lab))
        return mc_fail(err, MC_ERR_IO, "%s: not found (nor %s.gz); %s", lab, lab, hint);
    return dataset_load_idx(out, img, lab, 10, err);
}

void dataset_truncate(dataset *set, int n)
{
    if (n >= 0 && n < set->n)
        set->n = n;
}

/* The largest of n labels, or -1 (no labels, or none). */
static int largest_label(const uint8_t *labels, int n)
{
    int max = -1;
    for (int i = 0; labels && i < n; i++)
        if (labels[i] > max)
            max = labels[i];
    return max;
}

mc_status dataset_split(dataset *set, int count, uint64_t seed, dataset *out, mc_error *err)
{
    memset(out, 0, sizeof *out);
    if (count < 1 || count >= set->n)
        return mc_fail(err, MC_ERR_USAGE,
                       "cannot hold out %d of %d images: between 1 and %d can be", count, set->n,
                       set->n - 1);
    size_t dim = (size_t)dataset_dim(set), n = (size_t)set->n;
    int32_t *order = malloc(n * sizeof *order);
    uint8_t *held = calloc(n, 1);
    out->images = malloc((size_t)count * dim);
    out->labels = set->labels ? malloc((size_t)count) : NULL;
    if (!order || !held || !out->images || (set->labels && !out->labels)) {
        free(order);
        free(held);
        dataset_free(out);
        return mc_fail(err, MC_ERR_NOMEM, "out of memory holding out %d images", count);
    }
    for (size_t i = 0; i < n; i++)
        order[i] = (int32_t)i;
    rng r;
    rng_seed(&r, seed);
    rng_shuffle(&r, order, n);
    for (int k = 0; k < count; k++)
        held[order[k]] = 1;
    size_t kept = 0, moved = 0;
    for (size_t i = 0; i < n; i++) { /* both in file order; kept <= i: in place */
        if (held[i]) {
            memcpy(out->images + moved * dim, set->images + i * dim, dim);
            if (set->labels)
                out->labels[moved] = set->labels[i];
            moved++;
        } else {
            if (kept != i) {
                memmove(set->images + kept * dim, set->images + i * dim, dim);
                if (set->labels)
                    set->labels[kept] = set->labels[i];
            }
            kept++;
        }
    }
    free(order);
    free(held);
    out->n = count;
    out->rows = set->rows, out->cols = set->cols;
    out->max_label = largest_label(out->labels, count);
    set->n = (int)kept;
    set->max_label = largest_label(set->labels, set->n);
    return MC_OK;
}

void dataset_free(dataset *set)
{
    free(set->images);
    free(set->labels);
    memset(set, 0, sizeof *set);
}
