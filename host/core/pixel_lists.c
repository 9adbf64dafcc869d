/*
 * The nonzero pixels of an image set, listed once per image (see pixel_lists in backend.h).
 * Two passes over runs of whole images, one thread a run: pass 1 counts each run's nonzero
 * pixels, a prefix sum over the runs gives each run its first word, pass 2 writes the
 * words and the band offsets. Both inner loops look at 8 pixels at a time: a byte is
 * nonzero when ((x & 0x7f) + 0x7f) | x has its top bit set, computed for all 8 bytes of a
 * 64-bit word at once (no carry crosses a byte).
 */
#include "core/pixel_lists.h"

#include <stdlib.h>
#include <string.h>

#include "core/parallel.h"
#include "mnistcl/dataset.h"

#define LOW7 0x7f7f7f7f7f7f7f7fULL
#define HIGH 0x8080808080808080ULL

/* The top bit of each byte of x that is nonzero (0x80 there, 0 elsewhere). */
static inline uint64_t nonzero_bytes(uint64_t x)
{
    return (((x & LOW7) + LOW7) | x) & HIGH;
}

/* The 64-bit word at p (any alignment), in memory order on little-endian machines. */
static inline uint64_t load64(const uint8_t *p)
{
    uint64_t x;
    memcpy(&x, p, sizeof x);
    return x;
}

/* How many of the len bytes at p are nonzero; branch-free, 8 bytes a step. */
static size_t count_nonzero(const uint8_t *p, size_t len)
{
    size_t count = 0, i = 0;
    while (len - i >= 8) {
        /* up to 255 words into 8 byte lanes of at most 255 each */
        size_t words = (len - i) / 8 < 255 ? (len - i) / 8 : 255;
        uint64_t lanes = 0;
        for (size_t w = 0; w < words; w++, i += 8)
            lanes += nonzero_bytes(load64(p + i)) >> 7;
        /* pairs of lanes into 4 lanes of 16 bits (<= 510), their sum into the top lane */
        lanes = (lanes & 0x00ff00ff00ff00ffULL) + ((lanes >> 8) & 0x00ff00ff00ff00ffULL);
        count += (size_t)((lanes * 0x0001000100010001ULL) >> 48);
    }
    for (; i < len; i++)
        count += p[i] != 0;
    return count;
}

#if defined(__GNUC__) && defined(__BYTE_ORDER__) && __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define PIXEL_LISTS_WORDS 1
#endif

/*
 * Writes the words (q << 8) | img[q] of the nonzero pixels q in [from, to) of img to out,
 * q increasing; returns the end of what it wrote. While 8 or more words of room remain
 * before `limit` (the end of what this run may write), the 8 pixels of a 64-bit word that
 * holds any nonzero one are each stored at out, out advancing past the nonzero ones only
 * (no branch per pixel); nearer the limit only the nonzero ones are stored.
 */
static uint32_t *list_nonzero(const uint8_t *img, size_t from, size_t to, uint32_t *out,
                              const uint32_t *limit)
{
    size_t q = from;
#ifdef PIXEL_LISTS_WORDS
    for (; q + 8 <= to; q += 8) {
        uint64_t x = load64(img + q);
        uint64_t m = nonzero_bytes(x);
        if (!m)
            continue;
        if (limit - out >= 8) {
            for (unsigned j = 0; j < 8; j++) {
                uint32_t v = (uint32_t)(x >> (8 * j)) & 0xff;
                *out = (uint32_t)(q + j) << 8 | v;
                out += v != 0;
            }
            continue;
        }
        while (m) { /* the lowest set bit is the first nonzero byte in memory order */
            unsigned j = (unsigned)__builtin_ctzll(m) >> 3;
            *out++ = (uint32_t)(q + j) << 8 | (uint32_t)(x >> (8 * j) & 0xff);
            m &= m - 1;
        }
    }
#else
    (void)limit;
#endif
    for (; q < to; q++)
        if (img[q])
            *out++ = (uint32_t)q << 8 | img[q];
    return out;
}

/* One thread's run of images [first, last) and what it computes. */
typedef struct {
    const uint8_t *images;
    size_t dim, bands, span;
    size_t first, last;
    int pass;      /* 1: count, 2: list */
    size_t count;  /* pass 1: the run's nonzero pixels; pass 2: its first word */
    size_t end;    /* pass 2: the word after its last */
    uint32_t *px;  /* pass 2: all the words */
    int32_t *off;  /* pass 2: all the offsets */
} pixel_run;

/* Does r's pass: counts its nonzero pixels, or writes its words and offsets. */
static void *pixel_run_do(void *arg)
{
    pixel_run *r = arg;
    if (r->pass == 1) {
        r->count = count_nonzero(r->images + r->first * r->dim, (r->last - r->first) * r->dim);
        return NULL;
    }
    uint32_t *base = r->px, *out = r->px + r->count;
    const uint32_t *limit = r->px + r->end;
    for (size_t i = r->first; i < r->last; i++) {
        const uint8_t *img = r->images + i * r->dim;
        int32_t *off = r->off + i * r->bands;
        for (size_t b = 0; b < r->bands; b++) {
            off[b] = (int32_t)(out - base);
            size_t from = b * r->span < r->dim ? b * r->span : r->dim;
            size_t to = from + r->span < r->dim ? from + r->span : r->dim;
            out = list_nonzero(img, from, to, out, limit);
        }
    }
    return NULL;
}

/* Runs pass `pass` of the `count` runs, one thread each (parallel_run). */
static void run_pass(pixel_run *runs, int count, int pass)
{
    for (int t = 0; t < count; t++)
        runs[t].pass = pass;
    parallel_run(pixel_run_do, runs, sizeof *runs, count);
}

/* bytes of memory from a page boundary (free() releases it), or NULL. */
static void *page_alloc(size_t bytes)
{
    size_t page = 4096, rounded = (bytes + page - 1) / page * page;
    return rounded >= bytes ? aligned_alloc(page, rounded) : NULL;
}

int pixel_lists_threads(const uint8_t *images, int n, int dim, int bands, int threads,
                        uint32_t **pixels, int32_t **offsets, size_t *total)
{
    *pixels = NULL;
    *offsets = NULL;
    *total = 0;
    if (n < 0 || dim < 1 || dim >= (1 << 24) || bands < 1 || threads < 1)
        return -1;
    if (threads > PARALLEL_MAX_THREADS)
        threads = PARALLEL_MAX_THREADS;
    if (threads > n)
        threads = n > 0 ? n : 1;
    pixel_run runs[64];
    size_t span = ((size_t)dim + (size_t)bands - 1) / (size_t)bands;
    for (int t = 0; t < threads; t++)
        runs[t] = (pixel_run){.images = images, .dim = (size_t)dim, .bands = (size_t)bands,
                              .span = span, .first = (size_t)n * t / threads,
                              .last = (size_t)n * (t + 1) / threads};
    run_pass(runs, threads, 1);
    size_t count = 0;
    for (int t = 0; t < threads; t++) { /* each run's first word */
        size_t c = runs[t].count;
        runs[t].count = count;
        count += c;
        runs[t].end = count;
    }
    if (count > 0x7fffffffu)
        return -1;
    /* page-aligned, so an OpenCL CPU device may read them in place (alloc_host) */
    int32_t *off = page_alloc(((size_t)n * (size_t)bands + 1) * sizeof *off);
    uint32_t *px = page_alloc((count ? count : 1) * sizeof *px);
    if (!off || !px) {
        free(off);
        free(px);
        return -1;
    }
    for (int t = 0; t < threads; t++)
        runs[t].px = px, runs[t].off = off;
    run_pass(runs, threads, 2);
    off[(size_t)n * (size_t)bands] = (int32_t)count;
    *pixels = px;
    *offsets = off;
    *total = count;
    return 0;
}

int dataset_pixel_lists(const uint8_t *images, int n, int dim, int bands, uint32_t **pixels,
                        int32_t **offsets, size_t *total)
{
    int threads = parallel_threads(8);
    if (n > 0 && dim > 0 && (size_t)n * (size_t)dim < PIXEL_LISTS_MIN_PARALLEL_BYTES)
        threads = 1;
    return pixel_lists_threads(images, n, dim, bands, threads, pixels, offsets, total);
}
