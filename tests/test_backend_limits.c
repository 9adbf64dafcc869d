/*
 * The backends' memory (backend_ops.h), on the CPU reference and on the OpenCL device:
 *  - MNISTCL_DEVICE_LIMITS (device_limits.h): good and malformed values parsed; applied,
 *    lowering and never raising; a malformed one refused by backend_open (a usage error
 *    naming the variable and the value) and by backend_cpu_create;
 *  - the caps it lowers: alloc and alloc_host refuse a buffer past max_alloc_bytes, or
 *    past memory_bytes with the live buffers, and release gives the bytes back;
 *  - alloc_host: the contents read back; in_place 1 on the reference and, for an aligned
 *    pointer, on a device with caps.host_memory (pocl's CPU device), 0 for a misaligned
 *    one on OpenCL (then a copy: later changes to the host bytes do not show); write and
 *    write_async refuse its buffers; window_images reads it;
 *  - write_async: ordered behind the work queued before it and before the work after it,
 *    its bytes there after finish;
 *  - window_images' contract: every broken condition refused with MC_ERR_RUNTIME.
 * Without an OpenCL device the OpenCL part is skipped (exit 77), or fails under CI.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend_ops.h"
#include "backend/device_limits.h"
#include "mnistcl/opencl.h"
#include "test_util.h"

#define KIB ((size_t)1 << 10)
#define MIB ((size_t)1 << 20)

/* device_limits_parse on good values: the sizes they name. */
static void check_parse_good(void)
{
    static const struct {
        const char *text;
        size_t alloc, memory;
    } good[] = {
        {"8M,20M", 8 * MIB, 20 * MIB},
        {"4096", 4096, SIZE_MAX},
        {"1K", KIB, SIZE_MAX},
        {"3G", (size_t)3 << 30, SIZE_MAX},
        {"2g,1k", (size_t)2 << 30, KIB},
        {"1,1", 1, 1},
        {"007m", 7 * MIB, SIZE_MAX},
        {"18446744073709551615", SIZE_MAX, SIZE_MAX},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        size_t a = 0, m = 0;
        mc_error err = {{0}};
        mc_status st = device_limits_parse(good[i].text, &a, &m, &err);
        if (st || a != good[i].alloc || m != good[i].memory)
            test_fail("device_limits_parse(\"%s\"): status %d, %zu, %zu; want 0, %zu, %zu (%s)",
                      good[i].text, (int)st, a, m, good[i].alloc, good[i].memory, err.msg);
    }
}

/* device_limits_parse on malformed values: MC_ERR_USAGE naming the variable and the text,
   the outputs untouched. */
static void check_parse_bad(void)
{
    static const char *const bad[] = {
        "",      "M",       "0",         "0K",     "8M,",   ",8M",        "8M,20M,1",
        "-1",    "+5",      " 8M",       "8M ",    "1.5M",  "8Q",         "8MB",
        "8M;20M", "8M,0",   "18446744073709551616", "17179869184G", "0x10",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        size_t a = 11, m = 12;
        mc_error err = {{0}};
        mc_status st = device_limits_parse(bad[i], &a, &m, &err);
        char want[128];
        snprintf(want, sizeof want, "'%s'", bad[i]);
        if (st != MC_ERR_USAGE || !strstr(err.msg, DEVICE_LIMITS_ENV) || !strstr(err.msg, want) ||
            a != 11 || m != 12)
            test_fail("device_limits_parse(\"%s\"): status %d, message \"%s\", %zu, %zu; want "
                      "a usage error naming %s and %s, the sizes untouched",
                      bad[i], (int)st, err.msg, a, m, DEVICE_LIMITS_ENV, want);
    }
}

/* device_limits_apply: lowers, never raises; unset or empty changes nothing; malformed is
   a usage error that changes nothing. */
static void check_apply(void)
{
    mc_error err = {{0}};
    size_t a = 8 * MIB, m = (size_t)16 << 30;
    setenv(DEVICE_LIMITS_ENV, "1M,3M", 1);
    if (device_limits_apply(&a, &m, &err) || a != MIB || m != 3 * MIB)
        test_fail("device_limits_apply(1M,3M) on 8M, 16G: %zu, %zu", a, m);
    a = 512 * KIB, m = 2 * MIB;
    if (device_limits_apply(&a, &m, &err) || a != 512 * KIB || m != 2 * MIB)
        test_fail("device_limits_apply(1M,3M) on 512K, 2M raised a limit: %zu, %zu", a, m);
    setenv(DEVICE_LIMITS_ENV, "2M", 1);
    a = m = 8 * MIB;
    if (device_limits_apply(&a, &m, &err) || a != 2 * MIB || m != 8 * MIB)
        test_fail("device_limits_apply(2M) on 8M, 8M: %zu, %zu", a, m);
    setenv(DEVICE_LIMITS_ENV, "", 1);
    if (device_limits_apply(&a, &m, &err) || a != 2 * MIB || m != 8 * MIB)
        test_fail("device_limits_apply with the variable empty changed %zu, %zu", a, m);
    unsetenv(DEVICE_LIMITS_ENV);
    if (device_limits_apply(&a, &m, &err) || a != 2 * MIB || m != 8 * MIB)
        test_fail("device_limits_apply with the variable unset changed %zu, %zu", a, m);
    setenv(DEVICE_LIMITS_ENV, "8X", 1);
    if (device_limits_apply(&a, &m, &err) != MC_ERR_USAGE || a != 2 * MIB || m != 8 * MIB)
        test_fail("device_limits_apply(8X): not a usage error, or changed %zu, %zu", a, m);
    unsetenv(DEVICE_LIMITS_ENV);
}

/* A malformed MNISTCL_DEVICE_LIMITS: backend_open refuses every device spec with a usage
   error naming it and the value; backend_cpu_create returns NULL. */
static void check_open_malformed(void)
{
    static const char *const specs[] = {"cpu", "auto", "opencl", "0:0"};
    setenv(DEVICE_LIMITS_ENV, "1.5G", 1);
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        backend *be = NULL;
        mc_error err = {{0}};
        mc_status st = backend_open(specs[i], &be, &err);
        if (st != MC_ERR_USAGE || !strstr(err.msg, DEVICE_LIMITS_ENV) || !strstr(err.msg, "1.5G"))
            test_fail("backend_open(%s) with %s=1.5G: status %d, \"%s\"; want a usage error "
                      "naming both", specs[i], DEVICE_LIMITS_ENV, (int)st, err.msg);
        if (st == MC_OK)
            backend_destroy(be);
    }
    backend *cpu = backend_cpu_create();
    if (cpu) {
        test_fail("backend_cpu_create with %s=1.5G made a backend", DEVICE_LIMITS_ENV);
        backend_destroy(cpu);
    }
    unsetenv(DEVICE_LIMITS_ENV);
}

/* Fills n bytes with a pattern of seed. */
static void pattern(unsigned char *p, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        p[i] = (unsigned char)((i * 131 + seed * 71 + (i >> 8)) ^ seed);
}

/* Whether buffer b holds n bytes equal to want from offset off (a failure named `what`). */
static int holds(backend *be, buf *b, size_t off, const unsigned char *want, size_t n,
                 const char *be_name, const char *what)
{
    unsigned char *got = malloc(n);
    int ok = be->ops->read(be, b, off, got, n) == MC_OK;
    size_t i = 0;
    while (ok && i < n && got[i] == want[i])
        i++;
    if (!ok)
        test_fail("%s: %s: the read failed", be_name, what);
    else if (i < n)
        test_fail("%s: %s: byte %zu is %u, want %u", be_name, what, i, got[i], want[i]);
    free(got);
    return ok && i == n;
}

/* Under MNISTCL_DEVICE_LIMITS=1M,3M: the caps, and alloc / alloc_host refused past them. */
static void check_limits(backend *be, const char *be_name)
{
    const backend_ops *o = be->ops;
    if (be->caps.max_alloc_bytes != MIB || be->caps.memory_bytes != 3 * MIB)
        test_fail("%s under 1M,3M: caps %zu, %zu", be_name, be->caps.max_alloc_bytes,
                  be->caps.memory_bytes);
    size_t before = be->allocated_bytes;
    buf *b[4] = {0}, *x = NULL;
    unsigned char *host = malloc(MIB + 1);
    pattern(host, MIB + 1, 3);
    int in_place = -1;
    if (o->alloc(be, MIB + 1, &x) != MC_ERR_NOMEM)
        test_fail("%s: alloc of 1M + 1 bytes under a 1M limit was not refused", be_name);
    if (o->alloc_host(be, host, MIB + 1, &in_place, &x) != MC_ERR_NOMEM)
        test_fail("%s: alloc_host of 1M + 1 bytes under a 1M limit was not refused", be_name);
    for (int i = 0; i < 3; i++)
        if (o->alloc(be, MIB, &b[i]))
            test_fail("%s: alloc %d of 1M (3M in all) refused", be_name, i);
    if (be->allocated_bytes != before + 3 * MIB)
        test_fail("%s: %zu bytes counted after three 1M buffers, want %zu", be_name,
                  be->allocated_bytes, before + 3 * MIB);
    if (o->alloc(be, 1, &b[3]) != MC_ERR_NOMEM)
        test_fail("%s: a byte past 3M of buffers was not refused", be_name);
    if (o->alloc_host(be, host, 1, &in_place, &b[3]) != MC_ERR_NOMEM)
        test_fail("%s: alloc_host of a byte past 3M of buffers was not refused", be_name);
    o->release(be, b[1]);
    if (be->allocated_bytes != before + 2 * MIB)
        test_fail("%s: %zu bytes counted after a release, want %zu", be_name,
                  be->allocated_bytes, before + 2 * MIB);
    b[1] = NULL;
    if (o->alloc_host(be, host, MIB, &in_place, &b[1]))
        test_fail("%s: alloc_host of 1M after a release refused", be_name);
    else
        holds(be, b[1], 0, host, MIB, be_name, "alloc_host of 1M under the limits");
    for (int i = 0; i < 4; i++)
        o->release(be, b[i]);
    if (be->allocated_bytes != before)
        test_fail("%s: %zu bytes counted after releasing everything, want %zu", be_name,
                  be->allocated_bytes, before);
    free(host);
}

/* The window_images of rows ids[0..count) from a part of images 10 .. 10 + part_n, dim
   bytes each, into slots from slot0. */
static window_images_args window_of(buf *out, buf *lout, buf *img, buf *lab, buf *ids,
                                    int count, int slot0, int dim, int part_n)
{
    return (window_images_args){bref_at(out, 0), bref_at(lout, 0), bref_at(img, 0),
                                bref_at(lab, 0), bref_at(ids, 0),    count,
                                slot0,           dim,              10,  part_n};
}

/*
 * alloc_host's contents and in_place (aligned and misaligned host memory), its buffers
 * refused by write and write_async, and read by window_images; write_async ordered with
 * the kernels around it.
 */
static void check_host_and_async(backend *be, const char *be_name)
{
    const backend_ops *o = be->ops;
    enum { DIM = 784, PART = 40, COUNT = 8 };
    size_t bytes = (size_t)PART * DIM;
    unsigned char *host = aligned_alloc(4096, bytes + 4096), *lab = malloc(PART);
    pattern(host, bytes + 4096, 5);
    pattern(lab, PART, 9);
    int want_aligned = be->is_opencl ? be->caps.host_memory : 1;
    for (int misaligned = 0; misaligned <= 1; misaligned++) {
        const unsigned char *h = host + misaligned;
        int in_place = -1;
        buf *b = NULL;
        int want = misaligned && be->is_opencl ? 0 : want_aligned;
        if (o->alloc_host(be, h, bytes, &in_place, &b)) {
            test_fail("%s: alloc_host of %zu bytes (host%s) failed", be_name, bytes,
                      misaligned ? " + 1" : "");
            continue;
        }
        if (in_place != want)
            test_fail("%s: alloc_host (host%s): in_place %d, want %d", be_name,
                      misaligned ? " + 1" : "", in_place, want);
        holds(be, b, 0, h, bytes, be_name, misaligned ? "alloc_host (host + 1)" : "alloc_host");
        holds(be, b, 1000, h + 1000, 500, be_name, "alloc_host, read from 1000");
        unsigned char byte = 1;
        if (o->write(be, b, 0, &byte, 1) != MC_ERR_RUNTIME)
            test_fail("%s: write into an alloc_host buffer was not refused", be_name);
        if (o->write_async(be, b, 0, &byte, 1) != MC_ERR_RUNTIME)
            test_fail("%s: write_async into an alloc_host buffer was not refused", be_name);
        if (!in_place) { /* a copy: host's bytes may change at once */
            unsigned char *was = malloc(bytes);
            memcpy(was, h, bytes);
            memset(host, 0xee, bytes + 1);
            holds(be, b, 0, was, bytes, be_name, "alloc_host's copy after host changed");
            memcpy(host + misaligned, was, bytes);
            free(was);
        }
        o->release(be, b);
    }

    /* window_images from a part held in place (where the device can), then write_async
       over the window's row 0 behind it and into the part before a second window */
    int in_place = -1, ids[COUNT] = {12, 9, 49, 10, 31, 50, 10 + PART - 1, 27};
    buf *img = NULL, *labs = NULL, *out = NULL, *lout = NULL, *out2 = NULL, *idb = NULL;
    if (o->alloc_host(be, host, bytes, &in_place, &img) ||
        o->alloc_host(be, lab, PART, &in_place, &labs) || o->alloc(be, 3 * COUNT * DIM, &out) ||
        o->alloc(be, 3 * COUNT, &lout) || o->alloc(be, 3 * COUNT * DIM, &out2) ||
        o->alloc(be, sizeof ids, &idb) || o->write(be, idb, 0, ids, sizeof ids)) {
        test_fail("%s: cannot set up the window_images buffers", be_name);
        return;
    }
    /* the windows before: zeros; what each row must hold after the launches */
    unsigned char *want = calloc(3 * COUNT, DIM), *lwant = calloc(3 * COUNT, 1);
    if (o->write(be, out, 0, want, 3 * COUNT * DIM) ||
        o->write(be, out2, 0, want, 3 * COUNT * DIM) || o->write(be, lout, 0, lwant, 3 * COUNT)) {
        test_fail("%s: cannot clear the windows", be_name);
        return;
    }
    for (int r = 0; r < COUNT; r++)
        if (ids[r] >= 10 && ids[r] < 10 + PART) {
            memcpy(want + (size_t)(COUNT + r) * DIM, host + (size_t)(ids[r] - 10) * DIM, DIM);
            lwant[r] = lwant[COUNT + r] = lab[ids[r] - 10]; /* both launches' slots */
        }
    window_images_args w1 = window_of(out, lout, img, labs, idb, COUNT, COUNT, DIM, PART);
    unsigned char row[DIM], part_row[DIM];
    pattern(row, DIM, 21);
    pattern(part_row, DIM, 22);
    buf *part2 = NULL;
    if (o->alloc(be, bytes, &part2) || o->write(be, part2, 0, host, bytes)) {
        test_fail("%s: cannot set up the second part", be_name);
        return;
    }
    window_images_args w2 = window_of(out2, lout, part2, labs, idb, COUNT, 0, DIM, PART);
    mc_status st = backend_run(be, OP_WINDOW_IMAGES, (const op_args *)&w1);
    /* behind the first launch: the window's row COUNT (id 12) becomes `row` from byte 5 */
    if (!st)
        st = o->write_async(be, out, (size_t)COUNT * DIM + 5, row, DIM - 5);
    /* before the second launch: the part's image 2 (id 12) becomes part_row */
    if (!st)
        st = o->write_async(be, part2, 2 * DIM, part_row, DIM);
    if (!st)
        st = backend_run(be, OP_WINDOW_IMAGES, (const op_args *)&w2);
    if (!st)
        st = o->finish(be);
    if (st) {
        test_fail("%s: window_images / write_async failed (%d)", be_name, (int)st);
        return;
    }
    unsigned char *want2 = calloc(3 * COUNT, DIM);
    memcpy(want2, want + (size_t)COUNT * DIM, (size_t)COUNT * DIM);
    memcpy(want2, part_row, DIM); /* row 0 is id 12 */
    memcpy(want + (size_t)COUNT * DIM + 5, row, DIM - 5);
    holds(be, out, 0, want, 3 * COUNT * DIM, be_name,
          "window_images from an alloc_host part, then write_async into its row");
    holds(be, lout, 0, lwant, 3 * COUNT, be_name, "window_images' labels (alloc_host part)");
    holds(be, out2, 0, want2, 3 * COUNT * DIM, be_name,
          "write_async into the part, then window_images from it");
    free(want), free(lwant), free(want2);
    buf *all[] = {img, labs, out, lout, out2, idb, part2};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        o->release(be, all[i]);
    free(host);
    free(lab);
}

/* window_images' contract: each broken condition is MC_ERR_RUNTIME; valid calls pass. */
static void check_contract(backend *be, const char *be_name)
{
    const backend_ops *o = be->ops;
    buf *out = NULL, *lout = NULL, *img = NULL, *lab = NULL, *ids = NULL;
    /* exactly the sizes of 4 slots of 5 bytes, a part of 3 images, 2 ids */
    if (o->alloc(be, 20, &out) || o->alloc(be, 4, &lout) || o->alloc(be, 15, &img) ||
        o->alloc(be, 3, &lab) || o->alloc(be, 8, &ids)) {
        test_fail("%s: cannot set up the contract buffers", be_name);
        return;
    }
    window_images_args ok = {bref_at(out, 0), bref_at(lout, 0), bref_at(img, 0),
                             bref_at(lab, 0), bref_at(ids, 0), 2, 2, 5, 0, 3};
    struct {
        const char *what;
        window_images_args a;
    } bad[12];
    int n = 0;
#define BAD(text, change) bad[n].what = text, bad[n].a = ok, bad[n].a.change, n++
    BAD("count 0", count = 0);
    BAD("dim 0", dim = 0);
    BAD("slot0 -1", slot0 = -1);
    BAD("part_first -1", part_first = -1);
    BAD("part_n 0", part_n = 0);
    BAD("images_out short by a slot", slot0 = 3);
    BAD("labels_out short", labels_out.off = 1);
    BAD("images short", part_n = 4);
    BAD("ids short", ids.off = 1);
    BAD("images_out missing", images_out.b = NULL);
    BAD("labels_out in the part's buffer", labels_out = bref_at(img, 11));
    BAD("labels_out is ids' buffer", labels_out = bref_at(ids, 0));
#undef BAD
    for (int i = 0; i < n; i++)
        if (o->window_images(be, &bad[i].a) != MC_ERR_RUNTIME)
            test_fail("%s: window_images with %s was not refused", be_name, bad[i].what);
    int zero[2] = {0, 2};
    if (o->write(be, ids, 0, zero, sizeof zero) || o->window_images(be, &ok) || o->finish(be))
        test_fail("%s: window_images on the valid arguments failed", be_name);
    buf *all[] = {out, lout, img, lab, ids};
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        o->release(be, all[i]);
}

/* The checks of one backend opened (by `open`) under MNISTCL_DEVICE_LIMITS=1M,3M. */
static void check_backend(backend *be, const char *be_name)
{
    check_limits(be, be_name);
    check_host_and_async(be, be_name);
    check_contract(be, be_name);
    printf("%s: limits, alloc_host, write_async, window_images' contract checked\n", be_name);
}

int main(void)
{
    check_parse_good();
    check_parse_bad();
    check_apply();
    check_open_malformed();

    backend *cpu = backend_cpu_create();
    if (!cpu || cpu->caps.max_alloc_bytes != SIZE_MAX || cpu->caps.memory_bytes != SIZE_MAX ||
        !cpu->caps.host_memory)
        test_fail("the CPU reference's caps without limits: want SIZE_MAX, SIZE_MAX, host "
                  "memory");
    backend_destroy(cpu);
    setenv(DEVICE_LIMITS_ENV, "1M,3M", 1);
    cpu = backend_cpu_create();
    if (!cpu) {
        test_fail("backend_cpu_create under 1M,3M failed");
        return test_exit_code();
    }
    check_backend(cpu, "cpu");
    backend_destroy(cpu);

    if (ocl_device_count() == 0) {
        const char *ci = getenv("CI");
        int in_ci = ci && *ci && strcmp(ci, "0") != 0 && strcmp(ci, "false") != 0;
        if (in_ci)
            test_fail("no OpenCL device for the OpenCL part");
        else
            printf("SKIP: the OpenCL part (no OpenCL device)\n");
        return test_failures || in_ci ? test_exit_code() : TEST_SKIP;
    }
    /* the device's own limits, which a larger MNISTCL_DEVICE_LIMITS leaves as they are */
    unsetenv(DEVICE_LIMITS_ENV);
    backend *cl = test_open_opencl();
    backend_caps own = cl->caps;
    backend_destroy(cl);
    if (own.max_alloc_bytes < MIB || own.max_alloc_bytes > 0x7fffffffu ||
        own.memory_bytes < own.max_alloc_bytes)
        test_fail("OpenCL caps without limits: %zu per buffer, %zu in all", own.max_alloc_bytes,
                  own.memory_bytes);
    setenv(DEVICE_LIMITS_ENV, "1000G,1000G", 1);
    cl = test_open_opencl();
    if (cl->caps.max_alloc_bytes != own.max_alloc_bytes ||
        cl->caps.memory_bytes != own.memory_bytes || cl->caps.host_memory != own.host_memory)
        test_fail("OpenCL caps under 1000G,1000G: %zu, %zu; want the device's %zu, %zu",
                  cl->caps.max_alloc_bytes, cl->caps.memory_bytes, own.max_alloc_bytes,
                  own.memory_bytes);
    backend_destroy(cl);
    setenv(DEVICE_LIMITS_ENV, "1M,3M", 1);
    cl = test_open_opencl();
    printf("OpenCL caps under 1M,3M: %zu, %zu, host memory %d\n", cl->caps.max_alloc_bytes,
           cl->caps.memory_bytes, cl->caps.host_memory);
    check_backend(cl, "opencl");
    backend_destroy(cl);
    return test_exit_code();
}
