/*
 * dataset_pixel_lists and pixel_lists_threads against a plain one-thread reference written
 * here: the same words and offsets, bit for bit, for every thread count (1 .. 9, and more
 * threads than images), n = 1, 10, 63, 127, 784 images of 784 and 5 pixels in 8 bands and
 * in 1, random sparse images (values up to 255, so the top bit of a byte matters), dense
 * and empty images, and images at an odd address. The refusals: a bad dim or bands, and
 * more than 2^31 - 1 nonzero pixels (2^31 pixels of 1: one small file mapped over and over,
 * so the test reads 2 GB of address space but uses 1 MB of memory).
 */
#define _DEFAULT_SOURCE /* MAP_ANONYMOUS */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "core/pixel_lists.h"
#include "mnistcl/dataset.h"
#include "test_util.h"

/* The reference: band b of image i from (b * span) up, every nonzero pixel in order. */
static int reference(const uint8_t *images, int n, int dim, int bands, uint32_t **pixels,
                     int32_t **offsets, size_t *total)
{
    size_t span = ((size_t)dim + bands - 1) / bands, count = 0;
    *offsets = malloc(((size_t)n * bands + 1) * sizeof **offsets);
    *pixels = malloc(((size_t)n * dim + 1) * sizeof **pixels);
    if (!*offsets || !*pixels)
        return -1;
    for (int i = 0; i < n; i++)
        for (int b = 0; b < bands; b++) {
            (*offsets)[(size_t)i * bands + b] = (int32_t)count;
            for (size_t q = b * span; q < (b + 1) * span && q < (size_t)dim; q++) {
                uint8_t v = images[(size_t)i * dim + q];
                if (v)
                    (*pixels)[count++] = (uint32_t)q << 8 | v;
            }
        }
    (*offsets)[(size_t)n * bands] = (int32_t)count;
    *total = count;
    return 0;
}

/* Lists the images with `threads` threads (0: through dataset_pixel_lists) and compares
 * with the reference. */
static void check(const char *what, const uint8_t *images, int n, int dim, int bands,
                  int threads)
{
    uint32_t *px, *want_px;
    int32_t *off, *want_off;
    size_t total, want_total;
    if (reference(images, n, dim, bands, &want_px, &want_off, &want_total)) {
        test_fail("%s: out of memory for the reference", what);
        exit(1);
    }
    int r = threads ? pixel_lists_threads(images, n, dim, bands, threads, &px, &off, &total)
                    : dataset_pixel_lists(images, n, dim, bands, &px, &off, &total);
    if (r != 0) {
        test_fail("%s, n %d, dim %d, %d bands, %d threads: refused", what, n, dim, bands,
                  threads);
    } else if (total != want_total ||
               memcmp(off, want_off, ((size_t)n * bands + 1) * sizeof *off) ||
               memcmp(px, want_px, total * sizeof *px)) {
        test_fail("%s, n %d, dim %d, %d bands, %d threads: %zu words, want %zu, or they differ",
                  what, n, dim, bands, threads, total, want_total);
    }
    if (!r)
        free(px), free(off);
    free(want_px), free(want_off);
}

/* Fills bytes with pixels: 0 with probability 1 - density, else 1..255 uniformly. */
static void fill(uint8_t *bytes, size_t n, double density, rng *r)
{
    for (size_t i = 0; i < n; i++)
        bytes[i] = rng_uniform(r) < density ? (uint8_t)(1 + rng_below(r, 255)) : 0;
}

/* More than 2^31 - 1 nonzero pixels: refused with both arrays NULL. */
static void check_word_limit(void)
{
    const size_t chunk = (size_t)1 << 20, bytes = (size_t)1 << 31;
    char path[] = "/tmp/mnistcl-test-pixel-lists-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0) {
        test_fail("mkstemp: cannot make a temporary file");
        return;
    }
    unlink(path);
    uint8_t *ones = malloc(chunk);
    memset(ones, 1, chunk);
    int wrote = ones && write(fd, ones, chunk) == (ssize_t)chunk;
    free(ones);
    uint8_t *area = mmap(NULL, bytes, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (!wrote || area == MAP_FAILED) {
        test_fail("cannot set up 2^31 bytes of address space");
        close(fd);
        return;
    }
    for (size_t at = 0; at < bytes; at += chunk)
        if (mmap(area + at, chunk, PROT_READ, MAP_PRIVATE | MAP_FIXED, fd, 0) == MAP_FAILED) {
            test_fail("cannot map the file at offset %zu", at);
            munmap(area, bytes), close(fd);
            return;
        }
    close(fd);
    uint32_t *px = (uint32_t *)1;
    int32_t *off = (int32_t *)1;
    size_t total = 1;
    /* 2^21 images of 1024 pixels of 1: 2^31 nonzero pixels, one more than words can */
    int r = dataset_pixel_lists(area, 1 << 21, 1024, 8, &px, &off, &total);
    if (r != -1 || px || off || total)
        test_fail("2^31 nonzero pixels: returned %d, pixels %p, offsets %p, total %zu", r,
                  (void *)px, (void *)off, total);
    else
        printf("ok  2^31 nonzero pixels are refused (more than 2^31 - 1 words)\n");
    munmap(area, bytes);
}

int main(void)
{
    rng r;
    rng_seed(&r, 12345);
    const int ns[] = {1, 10, 63, 127, 784};
    const int dims[] = {784, 5};
    const int band_counts[] = {8, 1};
    static uint8_t images[784 * 784 + 1];
    for (int d = 0; d < 2; d++)
        for (int k = 0; k < 5; k++) {
            int n = ns[k], dim = dims[d];
            fill(images, (size_t)n * dim, 0.2, &r);
            for (int b = 0; b < 2; b++)
                for (int threads = 0; threads <= 9; threads++)
                    check("sparse", images, n, dim, band_counts[b], threads);
            check("more threads than images", images, n, dim, 8, n + 3);
        }
    printf("ok  sparse images: n 1..784, dims 784 and 5, 8 and 1 bands, 1..9 threads\n");
    for (int d = 0; d < 2; d++) {
        int dim = dims[d], n = 127;
        fill(images, (size_t)n * dim, 1.0, &r);
        check("dense", images, n, dim, 8, 4);
        memset(images, 0, (size_t)n * dim);
        check("empty", images, n, dim, 8, 4);
        fill(images, (size_t)n * dim + 1, 0.5, &r);
        check("at an odd address", images + 1, n, dim, 8, 3);
        check("at an odd address, 3 bands", images + 1, n, dim, 3, 2);
    }
    /* large enough for dataset_pixel_lists to use its threads */
    int big = (int)(PIXEL_LISTS_MIN_PARALLEL_BYTES / 784) + 7;
    uint8_t *many = malloc((size_t)big * 784);
    if (!many) {
        test_fail("out of memory for %d images", big);
        return test_exit_code();
    }
    fill(many, (size_t)big * 784, 0.2, &r);
    check("over the one-thread threshold", many, big, 784, 8, 0);
    check("over the one-thread threshold", many, big, 784, 8, 5);
    free(many);
    printf("ok  dense, empty, unaligned images; %d images over the threshold\n", big);

    uint32_t *px;
    int32_t *off;
    size_t total;
    if (pixel_lists_threads(images, 1, 0, 8, 1, &px, &off, &total) != -1 || px || off ||
        dataset_pixel_lists(images, 1, 1 << 24, 8, &px, &off, &total) != -1 ||
        dataset_pixel_lists(images, 1, 5, 0, &px, &off, &total) != -1 ||
        pixel_lists_threads(images, 1, 5, 8, 0, &px, &off, &total) != -1)
        test_fail("a bad dim, bands or thread count is not refused");
    else
        printf("ok  dim 0, dim 2^24, 0 bands, 0 threads are refused\n");
    if (dataset_pixel_lists(images, 0, 5, 8, &px, &off, &total) || total || off[0] != 0)
        test_fail("no images: not an empty list");
    else
        free(px), free(off);
    check_word_limit();
    return test_exit_code();
}
