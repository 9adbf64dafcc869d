/* IDX file reader (raw files mapped, gzip inflated) and the MNIST-style dataset loader. */
#include <errno.h>
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
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
    uint8_t *data;    /* the elements: size bytes */
    size_t dims[3];
    int ndims;
    size_t size;      /* product of dims, bytes of data */
    void *map;        /* the raw file's mapping, data = map + lead; NULL: data is a page-aligned
                       * allocation (free) */
    size_t map_bytes; /* length of map (the file's size); 0 without one */
    size_t lead;      /* bytes of the mapping before data (the header); 0 for an allocation */
} idx_array;

/* Releases what idx_read made (unmaps or frees) and zeroes *a. */
static void idx_array_free(idx_array *a)
{
    if (a->map)
        munmap(a->map, a->map_bytes);
    else
        free(a->data);
    memset(a, 0, sizeof *a);
}

static long long be32(const uint8_t *p)
{
    return ((long long)p[0] << 24) | ((long long)p[1] << 16) | ((long long)p[2] << 8) | p[3];
}

/* The system's page size (4096 if it cannot be had). */
static size_t page_size(void)
{
    long p = sysconf(_SC_PAGESIZE);
    return p > 0 ? (size_t)p : 4096;
}

/* A page-aligned allocation of `bytes` (at least 1) rounded up to whole pages, all of it
 * usable; NULL when memory runs out. free() releases it. */
static uint8_t *alloc_pages(size_t bytes)
{
    size_t page = page_size();
    if (bytes == 0)
        bytes = 1;
    if (bytes > SIZE_MAX - page)
        return NULL;
    void *p;
    return posix_memalign(&p, page, (bytes + page - 1) / page * page) == 0 ? p : NULL;
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

/* Reads up to n bytes at offset `at` of fd; returns bytes read (fewer at the end of the
 * file), or -1 with errno set. */
static long long pread_fully(int fd, uint8_t *dst, size_t n, off_t at)
{
    size_t got = 0;
    while (got < n) {
        size_t want = n - got < (1u << 30) ? n - got : (1u << 30);
        ssize_t r = pread(fd, dst + got, want, at + (off_t)got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    return (long long)got;
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
static mc_status idx_check_end(gzFile f, const char *path, size_t total, mc_error *err)
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
                       "%s: %lld%s bytes follow the %zu data bytes its header describes", path,
                       trailing, trailing > (1LL << 30) ? "+" : "", total);
    /* a gzip stream cut before its trailer reads to the end with no error from gzread:
     * zlib only records Z_BUF_ERROR ("unexpected end of file") */
    int code = Z_OK;
    gzerror(f, &code);
    if (code != Z_OK)
        return gz_fail(f, path, "", err);
    return MC_OK;
}

/* Checks the header's first `got` bytes for the magic number: an IDX file of unsigned
 * bytes in want_dims dimensions. MC_ERR_DATA with the problem otherwise. */
static mc_status idx_check_magic(const uint8_t *head, long long got, const char *path,
                                 int want_dims, mc_error *err)
{
    if (got < 4)
        return mc_fail(err, MC_ERR_DATA, "%s: truncated: %lld bytes, too short for an IDX header",
                       path, got);
    long long magic = be32(head);
    if (head[0] != 0 || head[1] != 0)
        return mc_fail(err, MC_ERR_DATA,
                       "%s: bad magic number 0x%08llx: not an IDX file (expected 0x%08x)", path,
                       magic, 0x800 | want_dims);
    if (head[2] != 0x08)
        return mc_fail(err, MC_ERR_DATA,
                       "%s: magic 0x%08llx: element type 0x%02x is not unsigned byte (0x08)",
                       path, magic, head[2]);
    if (head[3] != want_dims)
        return mc_fail(err, MC_ERR_DATA, "%s: magic 0x%08llx: %d dimensions, expected %d (%s file)",
                       path, magic, head[3], want_dims, want_dims == 3 ? "an image" : "a label");
    return MC_OK;
}

/*
 * Checks the dimensions in the header's first `got` bytes (4 + 4 * want_dims are needed;
 * the magic checked) and stores them in out (dims, ndims, size): none 0, none over
 * INT_MAX, an image (rows x cols) of at most INT_MAX pixels, the product within size_t.
 * MC_ERR_DATA with the problem otherwise.
 */
static mc_status idx_check_dims(const uint8_t *head, long long got, const char *path,
                                int want_dims, idx_array *out, mc_error *err)
{
    long long header_bytes = 4 + 4LL * want_dims;
    if (got < header_bytes)
        return mc_fail(err, MC_ERR_DATA, "%s: truncated header: %lld of %lld bytes", path, got,
                       header_bytes);
    out->ndims = want_dims;
    size_t total = 1;
    for (int d = 0; d < want_dims; d++) {
        long long v = be32(head + 4 + 4 * d);
        if (v == 0)
            return mc_fail(err, MC_ERR_DATA, "%s: dimension %d is 0: the file holds no data",
                           path, d);
        if (v > INT_MAX)
            return mc_fail(err, MC_ERR_DATA,
                           "%s: dimension %d is %lld, over the limit of %d (INT_MAX)", path, d, v,
                           INT_MAX);
        if (total > SIZE_MAX / (size_t)v)
            return mc_fail(err, MC_ERR_DATA,
                           "%s: header claims more data than memory can address (over the "
                           "%zu-byte limit; dimension %d is %lld)",
                           path, (size_t)SIZE_MAX, d, v);
        out->dims[d] = (size_t)v;
        total *= (size_t)v;
    }
    if (want_dims == 3 && (unsigned long long)out->dims[1] * out->dims[2] > INT_MAX)
        return mc_fail(err, MC_ERR_DATA,
                       "%s: images of %zux%zu pixels, over the limit of %d pixels per image",
                       path, out->dims[1], out->dims[2], INT_MAX);
    out->size = total;
    return MC_OK;
}

/*
 * Maps the raw IDX file open at fd (file_bytes long): the header must be right and the
 * file exactly as long as it says. The mapping is private and writable (copy-on-write);
 * should the system refuse to map the file, it is read into page-aligned memory instead.
 */
static mc_status idx_map_raw(int fd, long long file_bytes, const char *path, int want_dims,
                             idx_array *out, mc_error *err)
{
    uint8_t head[16];
    size_t header_bytes = 4 + 4 * (size_t)want_dims;
    long long got = pread_fully(fd, head, header_bytes, 0);
    if (got < 0)
        return mc_fail(err, MC_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    mc_status st = idx_check_magic(head, got, path, want_dims, err);
    if (st || (st = idx_check_dims(head, got, path, want_dims, out, err)))
        return st;
    long long have = file_bytes - (long long)header_bytes;
    if (have < 0 || (unsigned long long)have < out->size) /* < 0: the file shrank */
        return mc_fail(err, MC_ERR_DATA,
                       "%s: truncated: the header promises %zu data bytes, the file holds %lld",
                       path, out->size, have);
    if ((unsigned long long)have > out->size)
        return mc_fail(err, MC_ERR_DATA,
                       "%s: %llu bytes follow the %zu data bytes its header describes", path,
                       (unsigned long long)have - out->size, out->size);
    size_t bytes = (size_t)file_bytes;
    void *map = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE, fd, 0);
    if (map != MAP_FAILED) {
        out->map = map;
        out->map_bytes = bytes;
        out->lead = header_bytes;
        out->data = (uint8_t *)map + header_bytes;
        return MC_OK;
    }
    out->data = alloc_pages(out->size);
    if (!out->data)
        return mc_fail(err, MC_ERR_NOMEM, "%s: out of memory for %zu bytes", path, out->size);
    got = pread_fully(fd, out->data, out->size, (off_t)header_bytes);
    if (got < 0 || (size_t)got < out->size) {
        st = got < 0 ? mc_fail(err, MC_ERR_IO, "%s: cannot read: %s", path, strerror(errno))
                     : mc_fail(err, MC_ERR_DATA,
                               "%s: truncated while being read: %lld of %zu data bytes", path,
                               got, out->size);
        idx_array_free(out);
        return st;
    }
    return MC_OK;
}

/*
 * Inflates the gzip-compressed IDX file open at fd (which this closes) into page-aligned
 * memory. Memory grows with the bytes actually present, never from the header's claim
 * alone, so a lying header cannot make the loader allocate gigabytes.
 */
static mc_status idx_inflate(int fd, const char *path, int want_dims, idx_array *out,
                             mc_error *err)
{
    gzFile f = gzdopen(fd, "rb");
    if (!f) {
        close(fd);
        return mc_fail(err, MC_ERR_NOMEM, "%s: out of memory opening the file", path);
    }
    uint8_t head[16];
    long long header_bytes = 4 + 4LL * want_dims;
    mc_status st;
    long long got = gz_read_fully(f, head, 4);
    if (got < 0) {
        st = gz_fail(f, path, "", err);
        goto out_close;
    }
    if ((st = idx_check_magic(head, got, path, want_dims, err)))
        goto out_close;
    got = gz_read_fully(f, head + 4, header_bytes - 4);
    if (got < 0) {
        st = gz_fail(f, path, " in the header", err);
        goto out_close;
    }
    if ((st = idx_check_dims(head, 4 + got, path, want_dims, out, err)))
        goto out_close;
    size_t total = out->size;
    size_t cap = total < (1 << 20) ? total : (1 << 20);
    size_t have = 0;
    out->data = alloc_pages(cap);
    if (!out->data) {
        st = mc_fail(err, MC_ERR_NOMEM, "%s: out of memory for %zu bytes", path, cap);
        goto out_close;
    }
    while (have < total) {
        if (have == cap) {
            size_t ncap = cap <= total / 2 ? cap * 2 : total;
            uint8_t *grown = alloc_pages(ncap);
            if (!grown) {
                st = mc_fail(err, MC_ERR_NOMEM, "%s: out of memory for %zu bytes", path, ncap);
                goto out_free;
            }
            memcpy(grown, out->data, have);
            free(out->data);
            out->data = grown;
            cap = ncap;
        }
        long long r = gz_read_fully(f, out->data + have, (long long)(cap - have));
        if (r < 0) {
            char where[64];
            snprintf(where, sizeof where, " after %zu data bytes", have);
            st = gz_fail(f, path, where, err);
            goto out_free;
        }
        if (r == 0)
            break;
        have += (size_t)r;
    }
    if (have < total) {
        st = mc_fail(err, MC_ERR_DATA,
                     "%s: truncated: the header promises %zu data bytes, the file holds %zu",
                     path, total, have);
        goto out_free;
    }
    st = idx_check_end(f, path, total, err);
    if (st)
        goto out_free;
    gzclose(f);
    return MC_OK;

out_free:
    idx_array_free(out);
out_close:
    gzclose(f);
    return st;
}

/*
 * Reads the IDX file at path, which must hold unsigned bytes in want_dims dimensions: a
 * raw file is mapped (idx_map_raw), a gzip one (starting 1f 8b, as zlib decides) inflated
 * (idx_inflate). On failure *out is zeroed.
 */
static mc_status idx_read(const char *path, int want_dims, idx_array *out, mc_error *err)
{
    memset(out, 0, sizeof *out);
    int fd;
    long long file_bytes;
    mc_status st = input_open(path, &fd, &file_bytes, err);
    if (st)
        return st;
    uint8_t magic[2];
    long long got = pread_fully(fd, magic, 2, 0);
    if (got < 0) {
        st = mc_fail(err, MC_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
        close(fd);
    } else if (got == 2 && magic[0] == 0x1f && magic[1] == 0x8b) {
        st = idx_inflate(fd, path, want_dims, out, err);
    } else {
        st = idx_map_raw(fd, file_bytes, path, want_dims, out, err);
        close(fd); /* the mapping stays */
    }
    if (st)
        memset(out, 0, sizeof *out);
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
        st = mc_fail(err, MC_ERR_DATA, "%s holds %zu images but %s holds %zu labels",
                     images_path, img.dims[0], labels_path, lab.dims[0]);
        goto out_free_labels;
    }
    int max_label = 0;
    for (size_t i = 0; i < lab.size; i++) {
        if (lab.data[i] >= num_classes) {
            st = mc_fail(err, MC_ERR_DATA, "%s: label %d of item %zu is not below %d",
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
    out->images_lead = img.lead;
    out->images_map = img.map;
    out->images_map_bytes = img.map_bytes;
    out->labels_map = lab.map;
    out->labels_map_bytes = lab.map_bytes;
    return MC_OK;

out_free_labels:
    idx_array_free(&lab);
out_free_images:
    idx_array_free(&img);
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
    out->images = alloc_pages((size_t)count * dim);
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
    if (set->images_map)
        munmap(set->images_map, set->images_map_bytes);
    else
        free(set->images);
    if (set->labels_map)
        munmap(set->labels_map, set->labels_map_bytes);
    else
        free(set->labels);
    memset(set, 0, sizeof *set);
}
