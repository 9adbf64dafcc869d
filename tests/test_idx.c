/*
 * IDX loader: good raw and gzipped files load identically; every malformed file is
 * rejected with the right status and a message that names the file and the problem:
 * missing, truncated header, wrong magic, wrong element type, wrong dimension count,
 * zero or oversized dimensions (over INT_MAX images, over INT_MAX pixels an image; no
 * allocation from the header's claim, raw or gzip), truncated data,
 * trailing bytes, mismatched counts, labels out of range, corrupt and truncated gzip,
 * and a gzip file whose data is complete but whose CRC/length trailer is cut off or
 * altered (zlib reports that only through gzerror). A directory or a FIFO given as a file
 * is refused at once (MC_ERR_IO, never blocking), also by dataset_load_named.
 * dataset_split (--val): the seeded draw, both parts in file order, the refusals.
 * Raw files are mapped (images 16 bytes into a page), gzip ones page-aligned; a split of
 * a mapped set leaves its file alone; a 2.35 GB file (3,000,000 images, sparse: no disk)
 * loads, and is refused a byte short or long.
 */
#include <sys/stat.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "mnistcl/dataset.h"
#include "mnistcl/rng.h"
#include "test_util.h"

static char dir[256];

/* Big-endian u32 into p. */
static void put_be32(unsigned char *p, unsigned v)
{
    p[0] = (unsigned char)(v >> 24), p[1] = (unsigned char)(v >> 16);
    p[2] = (unsigned char)(v >> 8), p[3] = (unsigned char)v;
}

/* Writes bytes to dir/name (gzip-compressed when gz); returns the path (static storage,
 * one slot per file this test writes). */
static const char *write_file(const char *name, const unsigned char *bytes, size_t n, int gz)
{
    static char paths[32][512];
    static int used;
    char *path = paths[used++ % 32];
    snprintf(path, 512, "%s/%s", dir, name);
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, bytes, (unsigned)n);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(bytes, 1, n, f);
        fclose(f);
    }
    return path;
}

/*
 * Writes bytes gzip-compressed to dir/name, then rewrites the compressed file with `cut`
 * bytes removed from its end and the byte `flip_from_end` bytes before the end (0: none)
 * inverted; returns the path.
 */
static const char *write_damaged_gz(const char *name, const unsigned char *bytes, size_t n,
                                    size_t cut, size_t flip_from_end)
{
    const char *path = write_file(name, bytes, n, 1);
    static unsigned char gz[1 << 16];
    FILE *f = fopen(path, "rb");
    size_t len = fread(gz, 1, sizeof gz, f);
    fclose(f);
    if (flip_from_end)
        gz[len - flip_from_end] ^= 0xff;
    return write_file(name, gz, len - cut, 0);
}

/* An image file image: magic, dims, then n*rows*cols pixel bytes (value = index % 251). */
static size_t image_file(unsigned char *out, unsigned magic, unsigned n, unsigned rows,
                         unsigned cols, size_t data_bytes)
{
    put_be32(out, magic);
    put_be32(out + 4, n), put_be32(out + 8, rows), put_be32(out + 12, cols);
    for (size_t i = 0; i < data_bytes; i++)
        out[16 + i] = (unsigned char)(i % 251);
    return 16 + data_bytes;
}

static size_t label_file(unsigned char *out, unsigned n, const unsigned char *labels)
{
    put_be32(out, 0x801);
    put_be32(out + 4, n);
    memcpy(out + 8, labels, n);
    return 8 + n;
}

/* Loads the pair and checks the status and that the message holds `needle` and the file. */
static void expect_error(const char *what, const char *img, const char *lab, mc_status want,
                         const char *needle, const char *file)
{
    dataset d;
    mc_error err = {{0}};
    mc_status st = dataset_load_idx(&d, img, lab, 10, &err);
    if (st != want)
        test_fail("%s: status %d (%s), want %d; message: %s", what, st, mc_status_name(st), want,
                  err.msg);
    else if (!strstr(err.msg, needle) || !strstr(err.msg, file))
        test_fail("%s: message '%s' lacks '%s' or the file name", what, err.msg, needle);
    else
        printf("ok  %-28s %s\n", what, err.msg);
    if (st == MC_OK)
        dataset_free(&d);
}

/* A set of n images of 3 pixels, image i = (i, i, 255 - i), label i % 10 (or none). */
static dataset numbered_set(int n, int labelled)
{
    dataset d = {0};
    d.n = n, d.rows = 1, d.cols = 3;
    d.images = malloc((size_t)n * 3);
    d.labels = labelled ? malloc((size_t)n) : NULL;
    for (int i = 0; i < n; i++) {
        d.images[3 * i] = d.images[3 * i + 1] = (uint8_t)i, d.images[3 * i + 2] = (uint8_t)(255 - i);
        if (labelled)
            d.labels[i] = (uint8_t)(i % 10);
    }
    d.max_label = labelled ? 9 : -1;
    return d;
}

/* Whether every image of d is intact (its 3 pixels agree, its label fits) and the images
 * are in increasing file order; *seen[i] counts image i. */
static int split_part_ok(const dataset *d, int labelled, int *seen)
{
    int last = -1, max = -1;
    for (int k = 0; k < d->n; k++) {
        int i = d->images[3 * k];
        if (d->images[3 * k + 1] != i || d->images[3 * k + 2] != 255 - i || i <= last)
            return 0;
        if (labelled && d->labels[k] != i % 10)
            return 0;
        if (labelled && d->labels[k] > max)
            max = d->labels[k];
        last = i;
        seen[i]++;
    }
    return labelled ? d->max_label == max : d->max_label == -1 && !d->labels;
}

/* dataset_split: what is drawn, the order of both parts, determinism, the refusals. */
static void test_split(void)
{
    mc_error err;
    for (int labelled = 0; labelled < 2; labelled++) {
        dataset a = numbered_set(50, labelled), held;
        if (dataset_split(&a, 12, 7, &held, &err)) {
            test_fail("split: %s", err.msg);
            continue;
        }
        int seen[50] = {0};
        if (a.n != 38 || held.n != 12 || held.rows != 1 || held.cols != 3 ||
            !split_part_ok(&a, labelled, seen) || !split_part_ok(&held, labelled, seen))
            test_fail("split parts wrong (kept %d, held %d)", a.n, held.n);
        for (int i = 0; i < 50; i++)
            if (seen[i] != 1)
                test_fail("image %d is in %d parts", i, seen[i]);
        /* the held-out images are the first 12 positions of the seeded permutation */
        int32_t order[50];
        for (int i = 0; i < 50; i++)
            order[i] = i;
        rng r;
        rng_seed(&r, 7);
        rng_shuffle(&r, order, 50);
        int want[50] = {0}, got[50] = {0};
        for (int k = 0; k < 12; k++)
            want[order[k]] = 1, got[held.images[3 * k]] = 1;
        if (memcmp(want, got, sizeof want))
            test_fail("the held-out images are not the permutation's first 12");
        dataset b = numbered_set(50, labelled), held_b, c = numbered_set(50, labelled), held_c;
        if (dataset_split(&b, 12, 7, &held_b, &err) || dataset_split(&c, 12, 8, &held_c, &err))
            test_fail("split again: %s", err.msg);
        else if (memcmp(held.images, held_b.images, 36) || memcmp(a.images, b.images, 38 * 3))
            test_fail("the same seed split differently");
        else if (!memcmp(held.images, held_c.images, 36))
            test_fail("seeds 7 and 8 held out the same images");
        dataset_free(&a), dataset_free(&held), dataset_free(&b), dataset_free(&held_b);
        dataset_free(&c), dataset_free(&held_c);
    }
    /* refused counts leave the set as it was */
    const int bad[] = {0, -1, 5, 6};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        dataset a = numbered_set(5, 1), held;
        held.n = 99;
        mc_status st = dataset_split(&a, bad[k], 1, &held, &err);
        if (st != MC_ERR_USAGE || a.n != 5 || held.n != 0 || held.images ||
            !strstr(err.msg, "between 1 and 4"))
            test_fail("holding out %d of 5: status %d, %s", bad[k], (int)st, err.msg);
        dataset_free(&a);
    }
    dataset one = numbered_set(2, 1), held;
    if (dataset_split(&one, 1, 3, &held, &err) || one.n != 1 || held.n != 1 ||
        one.images[0] == held.images[0])
        test_fail("1 of 2 images");
    dataset_free(&one), dataset_free(&held);
    printf("ok  dataset_split: a seeded draw, both parts in file order, refusals\n");
}

/* The raw set a is a mapping of its files (images 16 bytes into a page, labels 8), the
 * gzip set b page-aligned allocations; both free by dataset_free. */
static void check_placement(const dataset *a, const dataset *b)
{
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    if (!a->images_map || a->images_lead != 16 || a->images != (uint8_t *)a->images_map + 16 ||
        (uintptr_t)(a->images - a->images_lead) % page || a->images_map_bytes != 76 ||
        !a->labels_map || a->labels != (uint8_t *)a->labels_map + 8 || a->labels_map_bytes != 13)
        test_fail("the raw set is not a mapping of its files (lead %zu, %zu and %zu bytes)",
                  a->images_lead, a->images_map_bytes, a->labels_map_bytes);
    else if (b->images_map || b->labels_map || b->images_lead != 0 ||
             (uintptr_t)b->images % page)
        test_fail("the gzip set is not a page-aligned allocation (lead %zu)", b->images_lead);
    else
        printf("ok  raw files mapped (images 16 bytes into a page), gzip page-aligned\n");
}

/* dataset_split on a mapped set: rewrites the mapping in place (copy-on-write), never the
 * file; the held-out part is page-aligned. */
static void test_split_mapped(const char *img, const char *lab)
{
    dataset a, again, held;
    mc_error err;
    if (dataset_load_idx(&a, img, lab, 10, &err) || dataset_split(&a, 2, 5, &held, &err)) {
        test_fail("split of a mapped set: %s", err.msg);
        return;
    }
    a.images[0] ^= 0xff; /* writable too */
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    if (a.n != 3 || held.n != 2 || held.images_lead || (uintptr_t)held.images % page ||
        held.images_map)
        test_fail("split of a mapped set: kept %d, held %d, held lead %zu", a.n, held.n,
                  held.images_lead);
    else if (dataset_load_idx(&again, img, lab, 10, &err))
        test_fail("reloading after the split: %s", err.msg);
    else {
        int same = again.n == 5;
        for (int i = 0; same && i < 60; i++)
            same = again.images[i] == (uint8_t)i;
        if (!same || again.labels[1] != 9)
            test_fail("splitting the mapped set changed its file");
        else
            printf("ok  dataset_split on a mapped set leaves the file as it was\n");
        dataset_free(&again);
    }
    dataset_free(&a), dataset_free(&held);
}

/* Makes dir/name a file of `bytes` bytes: the header `head` (head_len bytes), then a hole
 * (zeros that take no disk). Returns the path (static storage, as write_file). */
static const char *sparse_file(const char *name, const unsigned char *head, size_t head_len,
                               long long bytes)
{
    const char *path = write_file(name, head, head_len, 0);
    if (truncate(path, (off_t)bytes) != 0)
        test_fail("%s: cannot extend to %lld bytes", path, bytes);
    return path;
}

/* 3,000,000 images of 28x28: 2,352,000,016 bytes, over 2^31, load (mapped: the hole is
 * never read but for the last image), and the same file a byte short or long does not. */
static void test_big_sparse(void)
{
    const long long n = 3000000, data = n * 784;
    unsigned char head[16];
    put_be32(head, 0x803), put_be32(head + 4, (unsigned)n);
    put_be32(head + 8, 28), put_be32(head + 12, 28);
    const char *img = sparse_file("big-images", head, 16, 16 + data);
    put_be32(head, 0x801), put_be32(head + 4, (unsigned)n);
    const char *lab = sparse_file("big-labels", head, 8, 8 + n);
    dataset d;
    mc_error err;
    if (dataset_load_idx(&d, img, lab, 10, &err)) {
        test_fail("3,000,000 images of 28x28 refused: %s", err.msg);
    } else {
        size_t last = (size_t)data - 1;
        if (d.n != 3000000 || d.rows != 28 || d.cols != 28 || d.max_label != 0 ||
            d.images[last] != 0 || d.images[last - 783] != 0 || d.labels[n - 1] != 0 ||
            d.images_map_bytes != (size_t)data + 16)
            test_fail("the 2.35 GB set loaded wrongly (n %d, %dx%d)", d.n, d.rows, d.cols);
        else
            printf("ok  3,000,000 images of 28x28 (2,352,000,016 bytes) load\n");
        dataset_free(&d);
    }
    char promise[96];
    snprintf(promise, sizeof promise, "truncated: the header promises %lld data bytes, the "
             "file holds %lld", data, data - 1);
    put_be32(head, 0x803), put_be32(head + 4, (unsigned)n);
    const char *cut = sparse_file("big-images-cut", head, 16, 16 + data - 1);
    expect_error("2.35 GB set a byte short", cut, lab, MC_ERR_DATA, promise, cut);
    const char *longer = sparse_file("big-images-long", head, 16, 16 + data + 1);
    snprintf(promise, sizeof promise, "1 bytes follow the %lld data bytes", data);
    expect_error("2.35 GB set a byte long", longer, lab, MC_ERR_DATA, promise, longer);
}

int main(void)
{
    test_split();
    snprintf(dir, sizeof dir, "/tmp/mnistcl-test-idx-XXXXXX");
    if (!mkdtemp(dir)) {
        perror("mkdtemp");
        return 1;
    }
    static unsigned char buf[1 << 16];
    const unsigned char labels5[5] = {0, 9, 3, 3, 7};
    size_t n = label_file(buf, 5, labels5);
    const char *lab = write_file("labels", buf, n, 0);
    const char *lab_gz = write_file("labels.gz", buf, n, 1);
    n = image_file(buf, 0x803, 5, 3, 4, 60);
    const char *img = write_file("images", buf, n, 0);
    const char *img_gz = write_file("images.gz", buf, n, 1);

    /* good files, raw and gzipped, give the same set */
    dataset a, b;
    mc_error err;
    if (dataset_load_idx(&a, img, lab, 10, &err) || dataset_load_idx(&b, img_gz, lab_gz, 10, &err)) {
        test_fail("good files rejected: %s", err.msg);
    } else {
        if (a.n != 5 || a.rows != 3 || a.cols != 4 || a.max_label != 9 || a.images[59] != 59 ||
            a.labels[1] != 9)
            test_fail("good raw file loaded wrongly (n %d, %dx%d)", a.n, a.rows, a.cols);
        if (memcmp(a.images, b.images, 60) || memcmp(a.labels, b.labels, 5))
            test_fail("gzipped file loads differently from the raw one");
        check_placement(&a, &b);
        dataset_free(&a), dataset_free(&b);
        printf("ok  good raw and gzip files load the same 5 images of 3x4\n");
    }
    test_split_mapped(img, lab);
    test_big_sparse();

    char missing[300];
    snprintf(missing, sizeof missing, "%s/no-such-file", dir);
    expect_error("missing file", missing, lab, MC_ERR_IO, "cannot open", missing);
    const char *p = write_file("short", buf, 3, 0);
    expect_error("3-byte file", p, lab, MC_ERR_DATA, "truncated", p);
    n = image_file(buf, 0x12345678, 5, 3, 4, 60);
    p = write_file("badmagic", buf, n, 0);
    expect_error("wrong magic", p, lab, MC_ERR_DATA, "bad magic", p);
    n = image_file(buf, 0x0d03, 5, 3, 4, 60);
    p = write_file("floats", buf, n, 0);
    expect_error("float element type", p, lab, MC_ERR_DATA, "element type 0x0d", p);
    expect_error("labels as images", lab, lab, MC_ERR_DATA, "1 dimensions, expected 3", lab);
    n = image_file(buf, 0x803, 5, 3, 4, 60);
    p = write_file("halfheader", buf, 10, 0);
    expect_error("truncated header", p, lab, MC_ERR_DATA, "truncated header", p);
    n = image_file(buf, 0x803, 5, 0, 4, 0);
    p = write_file("zerodim", buf, n, 0);
    expect_error("zero dimension", p, lab, MC_ERR_DATA, "is 0", p);
    n = image_file(buf, 0x803, 0x7fffffff, 65536, 65536, 100);
    p = write_file("huge", buf, n, 0);
    expect_error("2^31-1 images of 2^16x2^16", p, lab, MC_ERR_DATA,
                 "images of 65536x65536 pixels, over the limit", p);
    n = image_file(buf, 0x803, 200000, 1000, 1000, 100);
    p = write_file("liar", buf, n, 0);
    expect_error("header claims 200 GB", p, lab, MC_ERR_DATA,
                 "truncated: the header promises 200000000000 data bytes, the file holds 100", p);
    p = write_file("liar.gz", buf, n, 1);
    expect_error("gzip header claims 200 GB", p, lab, MC_ERR_DATA,
                 "truncated: the header promises 200000000000 data bytes, the file holds 100", p);
    n = image_file(buf, 0x803, 0x80000000u, 1, 1, 100);
    p = write_file("2^31", buf, n, 0);
    expect_error("2^31 images", p, lab, MC_ERR_DATA, "dimension 0 is 2147483648, over the limit",
                 p);
    n = image_file(buf, 0x803, 5000, 28, 28, 1000);
    p = write_file("claims-more", buf, n, 0);
    expect_error("data truncated", p, lab, MC_ERR_DATA, "the header promises 3920000", p);
    n = image_file(buf, 0x803, 5, 3, 4, 65);
    p = write_file("trailing", buf, n, 0);
    expect_error("trailing bytes", p, lab, MC_ERR_DATA, "5 bytes follow", p);
    n = image_file(buf, 0x803, 6, 3, 4, 72);
    p = write_file("six", buf, n, 0);
    expect_error("count mismatch", p, lab, MC_ERR_DATA, "6 images but", p);
    const unsigned char bad_labels[5] = {0, 1, 10, 2, 3};
    n = label_file(buf, 5, bad_labels);
    p = write_file("badlabels", buf, n, 0);
    expect_error("label out of range", img, p, MC_ERR_DATA, "label 10 of item 2", p);

    /* gzip damage: a valid gzip stream cut short, and garbage after a gzip magic */
    n = image_file(buf, 0x803, 5, 3, 4, 60);
    write_file("cut.gz", buf, n, 1);
    char cut[300];
    snprintf(cut, sizeof cut, "%s/cut.gz", dir);
    if (truncate(cut, 30) != 0)
        perror("truncate");
    expect_error("truncated gzip", cut, lab, MC_ERR_DATA, "", cut);
    unsigned char junk[64] = {0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3};
    for (int i = 10; i < 64; i++)
        junk[i] = (unsigned char)(i * 37);
    p = write_file("junk.gz", junk, sizeof junk, 0);
    expect_error("corrupt gzip", p, lab, MC_ERR_DATA, "", p);

    /* the data is all there, the gzip trailer (CRC-32, length) is not, or is wrong */
    n = image_file(buf, 0x803, 5, 3, 4, 60);
    p = write_damaged_gz("notrailer.gz", buf, n, 8, 0);
    expect_error("gzip without its trailer", p, lab, MC_ERR_DATA, "damaged or truncated gzip", p);
    p = write_damaged_gz("halftrailer.gz", buf, n, 3, 0);
    expect_error("gzip trailer cut in two", p, lab, MC_ERR_DATA, "damaged or truncated gzip", p);
    p = write_damaged_gz("badcrc.gz", buf, n, 0, 6);
    expect_error("gzip CRC changed", p, lab, MC_ERR_DATA, "damaged or truncated gzip", p);
    p = write_damaged_gz("badlength.gz", buf, n, 0, 1);
    expect_error("gzip length changed", p, lab, MC_ERR_DATA, "damaged or truncated gzip", p);
    n = label_file(buf, 5, labels5);
    p = write_damaged_gz("labels-notrailer.gz", buf, n, 8, 0);
    expect_error("labels gzip without trailer", img, p, MC_ERR_DATA, "damaged or truncated", p);

    /* not regular files: refused at once with what they are */
    char folder[300], fifo[300];
    snprintf(folder, sizeof folder, "%s/folder", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo", dir);
    if (mkdir(folder, 0755) != 0 || mkfifo(fifo, 0644) != 0)
        perror("mkdir/mkfifo");
    expect_error("directory as images", folder, lab, MC_ERR_IO, "is a directory", folder);
    expect_error("directory as labels", img, folder, MC_ERR_IO, "is a directory", folder);
    expect_error("FIFO as images (no hang)", fifo, lab, MC_ERR_IO, "not a regular file", fifo);

    /* dataset_load_named: a folder where train-images-idx3-ubyte should be is named */
    char set[300], path[400];
    snprintf(set, sizeof set, "%s/set", dir);
    snprintf(path, sizeof path, "%s/train-images-idx3-ubyte", set);
    if (mkdir(set, 0755) != 0 || mkdir(path, 0755) != 0)
        perror("mkdir");
    n = label_file(buf, 5, labels5);
    write_file("set/train-labels-idx1-ubyte", buf, n, 0);
    dataset d;
    err.msg[0] = 0;
    mc_status st = dataset_load_named(&d, DATASET_MNIST, set, 1, &err);
    if (st != MC_ERR_IO || !strstr(err.msg, path) || !strstr(err.msg, "is a directory"))
        test_fail("folder in place of the images: status %d, message '%s'", st, err.msg);
    else
        printf("ok  %-28s %s\n", "folder named as images file", err.msg);
    if (st == MC_OK)
        dataset_free(&d);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_exit_code();
}
