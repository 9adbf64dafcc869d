/*
 * The OpenCL backend: buffers are cl_mem, every operation enqueues one of our kernels on
 * an in-order queue without waiting; only read/write/finish block (read_async does not).
 */
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "backend/backend_ops.h"
#include "backend/device_limits.h"
#include "backend/op_contract.h"
#include "backend/opencl/backend_cl.h"
#include "io/tune_cache.h"
#include "backend/opencl/ocl_util.h"

/* Every kernel the backend uses, created once after the program is built. */
enum {
    K_GATHER,
    K_GEMM_NAIVE,
    K_GEMM_RB_NN,
    K_GEMM_RB_TN,
    K_GEMM_RB_NT,
    K_GEMM_RB_NTG,
    K_GEMM_TILED_NN,
    K_GEMM_TILED_NT,
    K_GEMM_TILED_TN,
    K_LOSS,
    K_OUTPUT_STEP,
    K_PROBS,
    K_SUM,
    K_PARAM_UPDATE,
    K_SEQ,
    K_CSR_FORWARD,
    K_CSR_FORWARD_OUTPUT,
    K_CSR_GRAD,
    K_CSR_BACKWARD_UPDATE,
    K_DROPOUT,
    K_AUGMENT,
    K_WINDOW_IMAGES,
    K_COUNT
};

static const char *const kernel_names[K_COUNT] = {
    [K_GATHER] = "gather_batch",
    [K_GEMM_NAIVE] = "gemm_naive",
    [K_GEMM_RB_NN] = "gemm_rb_nn",
    [K_GEMM_RB_TN] = "gemm_rb_tn",
    [K_GEMM_RB_NT] = "gemm_rb_nt",
    [K_GEMM_RB_NTG] = "gemm_rb_ntg",
    [K_GEMM_TILED_NN] = "gemm_tiled_nn",
    [K_GEMM_TILED_NT] = "gemm_tiled_nt",
    [K_GEMM_TILED_TN] = "gemm_tiled_tn",
    [K_LOSS] = "loss_rows",
    [K_OUTPUT_STEP] = "output_step",
    [K_PROBS] = "probs_rows",
    [K_SUM] = "sum_stats",
    [K_PARAM_UPDATE] = "param_update",
    [K_SEQ] = "train_sequential",
    [K_CSR_FORWARD] = "csr_forward",
    [K_CSR_FORWARD_OUTPUT] = "csr_forward_output",
    [K_CSR_GRAD] = "csr_weight_grad",
    [K_CSR_BACKWARD_UPDATE] = "csr_backward_update",
    [K_DROPOUT] = "dropout_rows",
    [K_AUGMENT] = "augment_batch",
    [K_WINDOW_IMAGES] = "window_images",
};

/* gemm_rb_ntg (the NN tile with B's columns gathered) takes NT products with k below this;
   gemm_rb_nt's float16 dot products along k take the others. */
#define RB_NTG_BELOW_K 32

typedef struct {
    backend base;
    cl_device_id device;
    cl_device_type type;
    cl_context context;
    cl_command_queue queue;
    cl_program program;
    cl_kernel kernels[K_COUNT];
    cl_uint kernel_args[K_COUNT]; /* CL_KERNEL_NUM_ARGS of each kernel */
    size_t base_align;   /* CL_DEVICE_MEM_BASE_ADDR_ALIGN, in bytes */
    size_t max_wg;       /* CL_DEVICE_MAX_WORK_GROUP_SIZE */
    size_t sum_wg;       /* work-group size sum_stats was built for */
    size_t seq_wg;       /* work-group size train_sequential was built for */
    cl_tuning tuning;    /* kernel tunables in use (all fields set) */
    char key[512];       /* "platform|device|driver": the tuning cache's key */
    char tuning_source[4096]; /* the cache file the tuning came from, or "" */
    size_t elem_wg;      /* work-group size of element-wise kernels */
    size_t row_wg;       /* work-group size of one-item-per-row kernels (gather, loss, update) */
    int output_rows;     /* rows per output_step work-item (OUTPUT_ROWS in loss.cl) */
    int gather_rows;     /* GATHER_ROWS: one work-item per image row (CPU devices) */
    size_t window_wg;    /* window_images' most work-items per row: 1 on CPU paths, else 64 */
    size_t augment_wg;   /* augment_batch's work-group size */
    cl_ulong augment_local_max; /* local memory bytes augment_batch's data may take */
    cl_mem dummy;        /* bound to kernel arguments a call does not use */
    gemm_variant forced;    /* GEMM_AUTO unless a test forces one */
    gemm_variant auto_gemm; /* what GEMM_AUTO means here: RB on CPU paths, TILED else */
    /* MNISTCL_PROFILE=1: an event per launch, summed per kernel at each finish */
    int profile;
    cl_event *events;
    int *event_kernel;
    size_t n_events, cap_events;
    double kernel_ms[K_COUNT];
    long kernel_calls[K_COUNT];
} cl_backend;

/* One kernel argument: its size and a pointer to its value. */
typedef struct {
    size_t size;
    const void *value;
} karg;
#define ARG(v) {sizeof(v), &(v)}

/* An update rule's kernel arguments (UPDATE_RULE_PARAMS in update.cl) as OpenCL types. */
typedef struct {
    cl_int kind;
    cl_float lr, momentum, weight_decay, beta1, beta2, eps, step_size, bc2_sqrt;
    cl_int moment2; /* the contract keeps it <= INT_MAX */
} cl_rule;

/* The kernel arguments of rule r (see RULE_KARGS). */
static cl_rule cl_rule_of(const update_rule *r)
{
    cl_rule c = {r->kind, r->lr,        r->momentum,  r->weight_decay, r->beta1,
                 r->beta2, r->eps,      r->step_size, r->bc2_sqrt,     (cl_int)r->moment2};
    return c;
}

/* Appends a rule's kernel arguments, in UPDATE_RULE_PARAMS's order, to a karg list: the
   one place the host spells them out (a new rule's parameters go here and in update.cl). */
#define RULE_KARGS(c)                                                                       \
    ARG((c).kind), ARG((c).lr), ARG((c).momentum), ARG((c).weight_decay), ARG((c).beta1),   \
        ARG((c).beta2), ARG((c).eps), ARG((c).step_size), ARG((c).bc2_sqrt), ARG((c).moment2)

/* A schedule's kernel arguments (SCHEDULE_PARAMS in train_seq.cl) as OpenCL types. */
typedef struct {
    cl_int kind;
    cl_float lr, final_lr, gamma, scale;
    cl_int total_steps, warmup_steps, every;
} cl_schedule;

/* The kernel arguments of schedule s, in SCHEDULE_PARAMS's order. */
static cl_schedule cl_schedule_of(const lr_schedule *s)
{
    cl_schedule c = {s->kind,        s->lr,           s->final_lr, s->gamma,
                     s->scale,       s->total_steps,  s->warmup_steps, s->every};
    return c;
}
#define SCHEDULE_KARGS(c)                                                                   \
    ARG((c).kind), ARG((c).lr), ARG((c).final_lr), ARG((c).gamma), ARG((c).scale),          \
        ARG((c).total_steps), ARG((c).warmup_steps), ARG((c).every)

/* The backend object behind be (which must be an OpenCL one). */
static cl_backend *cl_of(backend *be) { return (cl_backend *)be; }

/* The cl_mem behind a reference, or the dummy buffer for a NULL one. */
static cl_mem mem_of(const cl_backend *cb, bref r)
{
    return r.b ? (cl_mem)r.b->handle : cb->dummy;
}

/* Keeps a launch's event for profile_collect (MNISTCL_PROFILE). */
static void profile_record(cl_backend *cb, cl_event ev, int which)
{
    if (cb->n_events == cb->cap_events) {
        size_t cap = cb->cap_events ? 2 * cb->cap_events : 4096;
        cl_event *e = realloc(cb->events, cap * sizeof *e);
        if (e)
            cb->events = e;
        int *k = realloc(cb->event_kernel, cap * sizeof *k);
        if (k)
            cb->event_kernel = k;
        if (!e || !k) {
            clReleaseEvent(ev);
            return;
        }
        cb->cap_events = cap;
    }
    cb->events[cb->n_events] = ev;
    cb->event_kernel[cb->n_events++] = which;
}

/* Adds the run times of the finished launches to the per-kernel totals. */
static void profile_collect(cl_backend *cb)
{
    for (size_t i = 0; i < cb->n_events; i++) {
        cl_ulong t0 = 0, t1 = 0;
        clGetEventProfilingInfo(cb->events[i], CL_PROFILING_COMMAND_START, sizeof t0, &t0, NULL);
        clGetEventProfilingInfo(cb->events[i], CL_PROFILING_COMMAND_END, sizeof t1, &t1, NULL);
        cb->kernel_ms[cb->event_kernel[i]] += (double)(t1 - t0) * 1e-6;
        cb->kernel_calls[cb->event_kernel[i]]++;
        clReleaseEvent(cb->events[i]);
    }
    cb->n_events = 0;
}

/* Prints the per-kernel totals to stderr. */
static void profile_report(cl_backend *cb)
{
    double total = 0;
    for (int i = 0; i < K_COUNT; i++)
        total += cb->kernel_ms[i];
    fprintf(stderr, "mnistcl profile (device time per kernel, MNISTCL_PROFILE):\n");
    for (int i = 0; i < K_COUNT; i++)
        if (cb->kernel_calls[i])
            fprintf(stderr, "  %-19s %8ld calls %10.1f ms %8.1f us/call %5.1f%%\n",
                    kernel_names[i], cb->kernel_calls[i], cb->kernel_ms[i],
                    1e3 * cb->kernel_ms[i] / cb->kernel_calls[i], 100 * cb->kernel_ms[i] / total);
}

/*
 * Sets the nargs arguments of kernel `which` and enqueues it over `global` (rounded up to
 * a multiple of `local` when local is given). nargs must be the kernel's own count
 * (CL_KERNEL_NUM_ARGS): otherwise nothing is enqueued, the mismatch is reported as an
 * internal error and MC_ERR_RUNTIME returned. Called through LAUNCH, which counts the
 * arguments itself.
 */
static mc_status launch(cl_backend *cb, int which, const karg *args, size_t nargs, cl_uint dims,
                        const size_t *global, const size_t *local)
{
    cl_kernel k = cb->kernels[which];
    char what[128];
    if (nargs != cb->kernel_args[which]) {
        fprintf(stderr, "mnistcl: internal error: kernel %s takes %u arguments, the host "
                        "passed %zu\n",
                kernel_names[which], (unsigned)cb->kernel_args[which], nargs);
        return MC_ERR_RUNTIME;
    }
    for (size_t i = 0; i < nargs; i++) {
        cl_int e = clSetKernelArg(k, (cl_uint)i, args[i].size, args[i].value);
        if (e != CL_SUCCESS) {
            snprintf(what, sizeof what, "clSetKernelArg(%s, arg %zu)", kernel_names[which], i);
            ocl_failed(e, what);
            return MC_ERR_OPENCL;
        }
    }
    size_t g[3];
    for (cl_uint d = 0; d < dims; d++) {
        g[d] = global[d] ? global[d] : 1;
        if (local)
            g[d] = (g[d] + local[d] - 1) / local[d] * local[d];
    }
    cl_event ev = NULL;
    cl_int e = clEnqueueNDRangeKernel(cb->queue, k, dims, NULL, g, local, 0, NULL,
                                      cb->profile ? &ev : NULL);
    snprintf(what, sizeof what, "clEnqueueNDRangeKernel(%s)", kernel_names[which]);
    if (ocl_failed(e, what))
        return MC_ERR_OPENCL;
    if (ev)
        profile_record(cb, ev, which);
    return MC_OK;
}

/* launch() with the karg array `args` (an array, not a pointer), counted here. */
#define LAUNCH(cb, which, args, dims, global, local)                                          \
    launch((cb), (which), (args), sizeof(args) / sizeof((args)[0]), (dims), (global), (local))

/*
 * A buffer of `bytes` bytes (4 for 0) made by clCreateBuffer with `flags` (and host, for
 * the flags that take one), charged to the backend's limits (backend_charge); `host_copy`
 * marks alloc_host's. MC_ERR_NOMEM past the limits or when the device has no room.
 */
static mc_status cl_new_buffer(cl_backend *cb, cl_mem_flags flags, void *host, size_t bytes,
                               int host_copy, buf **out)
{
    if (bytes == 0)
        bytes = 4;
    mc_status st = backend_charge(&cb->base, bytes);
    if (st)
        return st;
    buf *b = calloc(1, sizeof *b);
    if (!b) {
        backend_uncharge(&cb->base, bytes);
        return MC_ERR_NOMEM;
    }
    cl_int e;
    cl_mem m = clCreateBuffer(cb->context, flags, bytes, host, &e);
    if (ocl_failed(e, "clCreateBuffer")) {
        free(b);
        backend_uncharge(&cb->base, bytes);
        return e == CL_MEM_OBJECT_ALLOCATION_FAILURE || e == CL_OUT_OF_RESOURCES ||
                       e == CL_OUT_OF_HOST_MEMORY || e == CL_INVALID_BUFFER_SIZE
                   ? MC_ERR_NOMEM
                   : MC_ERR_OPENCL;
    }
    b->bytes = bytes;
    b->handle = m;
    b->host_copy = host_copy;
    *out = b;
    return MC_OK;
}

/* A device buffer of `bytes` bytes (4 for 0); MC_ERR_NOMEM past the limits. */
static mc_status cl_alloc(backend *be, size_t bytes, buf **out)
{
    return cl_new_buffer(cl_of(be), CL_MEM_READ_WRITE, NULL, bytes, 0, out);
}

/*
 * alloc_host: on a device that reads host memory (caps.host_memory) with host aligned to
 * CL_DEVICE_MEM_BASE_ADDR_ALIGN, a CL_MEM_USE_HOST_PTR buffer over host itself (in place);
 * else a device buffer the bytes are copied into at creation (CL_MEM_COPY_HOST_PTR).
 * Both read-only to kernels.
 */
static mc_status cl_alloc_host(backend *be, const void *host, size_t bytes, int *in_place,
                               buf **out)
{
    cl_backend *cb = cl_of(be);
    OP_REQUIRE("alloc_host", host != NULL || bytes == 0, "host NULL, bytes %zu", bytes);
    if (bytes == 0) { /* nothing to hold: an empty buffer of the backend's own */
        *in_place = 0;
        return cl_new_buffer(cb, CL_MEM_READ_ONLY, NULL, 0, 1, out);
    }
    int use = be->caps.host_memory && (uintptr_t)host % cb->base_align == 0;
    cl_mem_flags flags = CL_MEM_READ_ONLY | (use ? CL_MEM_USE_HOST_PTR : CL_MEM_COPY_HOST_PTR);
    mc_status st = cl_new_buffer(cb, flags, (void *)host, bytes, 1, out);
    if (!st)
        *in_place = use;
    return st;
}

/* Releases a buffer (NULL: nothing); alloc_host's memory stays the caller's. */
static void cl_release(backend *be, buf *b)
{
    if (!b)
        return;
    backend_uncharge(be, b->bytes);
    clReleaseMemObject((cl_mem)b->handle);
    free(b);
}

/* The check of write and write_async (reported as `op`): b is not alloc_host's. (OpenCL
   checks the range itself.) */
static mc_status cl_write_limits(const char *op, const buf *b)
{
    OP_REQUIRE(op, !b->host_copy, "the buffer is alloc_host's (%zu bytes): kernels read it, "
               "nothing writes it", b->bytes);
    return MC_OK;
}

/* Blocking copy of bytes from src into b at off. */
static mc_status cl_write(backend *be, buf *b, size_t off, const void *src, size_t bytes)
{
    mc_status st = cl_write_limits("write", b);
    if (st)
        return st;
    cl_int e = clEnqueueWriteBuffer(cl_of(be)->queue, (cl_mem)b->handle, CL_TRUE, off, bytes, src,
                                    0, NULL, NULL);
    return ocl_failed(e, "clEnqueueWriteBuffer") ? MC_ERR_OPENCL : MC_OK;
}

/*
 * Non-blocking copy of bytes from src into b at off (write_async): enqueued behind the
 * work queued so far, before the work queued after it; src is read until the next finish
 * or blocking read/write returns.
 */
static mc_status cl_write_async(backend *be, buf *b, size_t off, const void *src, size_t bytes)
{
    mc_status st = cl_write_limits("write_async", b);
    if (st)
        return st;
    cl_int e = clEnqueueWriteBuffer(cl_of(be)->queue, (cl_mem)b->handle, CL_FALSE, off, bytes,
                                    src, 0, NULL, NULL);
    return ocl_failed(e, "clEnqueueWriteBuffer (non-blocking)") ? MC_ERR_OPENCL : MC_OK;
}

/* Blocking copy of bytes of b from off into dst; collects the profile's events. */
static mc_status cl_read(backend *be, buf *b, size_t off, void *dst, size_t bytes)
{
    cl_backend *cb = cl_of(be);
    cl_int e = clEnqueueReadBuffer(cb->queue, (cl_mem)b->handle, CL_TRUE, off, bytes, dst, 0,
                                   NULL, NULL);
    if (ocl_failed(e, "clEnqueueReadBuffer"))
        return MC_ERR_OPENCL;
    if (cb->profile) /* a blocking read on an in-order queue: everything before it is done */
        profile_collect(cb);
    return MC_OK;
}

/*
 * Non-blocking copy of bytes of b from off into dst (read_async): enqueued behind the
 * kernels queued so far; dst holds them after the next finish or blocking read/write.
 */
static mc_status cl_read_async(backend *be, buf *b, size_t off, void *dst, size_t bytes)
{
    cl_int e = clEnqueueReadBuffer(cl_of(be)->queue, (cl_mem)b->handle, CL_FALSE, off, bytes,
                                   dst, 0, NULL, NULL);
    return ocl_failed(e, "clEnqueueReadBuffer (non-blocking)") ? MC_ERR_OPENCL : MC_OK;
}

/* Waits for every queued kernel; collects the profile's events. */
static mc_status cl_finish(backend *be)
{
    cl_backend *cb = cl_of(be);
    if (ocl_failed(clFinish(cb->queue), "clFinish"))
        return MC_ERR_OPENCL;
    if (cb->profile)
        profile_collect(cb);
    return MC_OK;
}

/* gather (gather_args): gather_batch, a work-item per image row (CPU paths) or per pixel. */
static mc_status cl_gather(backend *be, const gather_args *a)
{
    cl_backend *cb = cl_of(be);
    OP_CONTRACT(gather, a);
    cl_mem x = mem_of(cb, a->x), y = mem_of(cb, a->y), img = mem_of(cb, a->images),
           lab = mem_of(cb, a->labels), idx = mem_of(cb, a->index);
    cl_int xo = (cl_int)a->x.off, yo = (cl_int)a->y.off, io = (cl_int)a->images.off,
           lo = (cl_int)a->labels.off, ixo = (cl_int)a->index.off, has_y = a->y.b != NULL,
           has_l = a->labels.b != NULL, start = a->start, count = a->count, dim = a->dim;
    karg args[] = {ARG(x),   ARG(xo),  ARG(y),   ARG(yo),    ARG(has_y), ARG(img),
                   ARG(io),  ARG(lab), ARG(lo),  ARG(has_l), ARG(idx),   ARG(ixo),
                   ARG(start), ARG(count), ARG(dim)};
    size_t global[1] = {cb->gather_rows ? (size_t)a->count : (size_t)a->dim * a->count};
    size_t local[1] = {cb->gather_rows ? cb->row_wg : cb->elem_wg};
    return LAUNCH(cb, K_GATHER, args, 1, global, local);
}

/*
 * The GEMM kernel cl_gemm runs for g: by the variant in use (a forced one, else the
 * device's: rb on the CPU paths, tiled on the GPU ones), the transposes and, for rb's NT,
 * k. Both transposed (no caller does it) always takes gemm_naive. kernel_of reports it.
 */
static int gemm_kernel(const cl_backend *cb, const gemm_args *g)
{
    gemm_variant v = cb->forced != GEMM_AUTO ? cb->forced : cb->auto_gemm;
    if (g->trans_a && g->trans_b)
        return K_GEMM_NAIVE;
    if (v == GEMM_TILED)
        return g->trans_b ? K_GEMM_TILED_NT : g->trans_a ? K_GEMM_TILED_TN : K_GEMM_TILED_NN;
    if (v == GEMM_RB)
        return g->trans_b   ? (g->k < RB_NTG_BELOW_K ? K_GEMM_RB_NTG : K_GEMM_RB_NT)
               : g->trans_a ? K_GEMM_RB_TN
                            : K_GEMM_RB_NN;
    return K_GEMM_NAIVE;
}

/* Enqueues GEMM kernel `which` (gemm_naive, a gemm_rb_* or a gemm_tiled_*) for g. */
static mc_status launch_gemm(cl_backend *cb, int which, const gemm_args *g)
{
    cl_int ta = g->trans_a, tb = g->trans_b, ones = g->a_ones_row && g->trans_a, m = g->m,
           n = g->n, k = g->k, lda = g->lda, ldb = g->ldb, ldc = g->ldc,
           a_off = (cl_int)g->a.off, b_off = (cl_int)g->b.off, c_off = (cl_int)g->c.off,
           epi = g->epilogue, bias_off = (cl_int)g->bias.off, act = g->act,
           aux_off = (cl_int)g->aux.off, ldaux = g->ldaux;
    /* elements of B from b_off to the end of its buffer: the kernels never read past it */
    cl_int b_len = (cl_int)(g->b.b->bytes / sizeof(float) - g->b.off);
    cl_mem amem = mem_of(cb, g->a), bmem = mem_of(cb, g->b), cmem = mem_of(cb, g->c),
           bias = mem_of(cb, g->bias), aux = mem_of(cb, g->aux);
    cl_float alpha = g->alpha, beta = g->beta;
    if (which == K_GEMM_NAIVE) {
        karg args[] = {ARG(ta),    ARG(tb),    ARG(ones),  ARG(m),     ARG(n),     ARG(k),
                       ARG(amem),  ARG(a_off), ARG(lda),   ARG(bmem),  ARG(b_off), ARG(ldb),
                       ARG(cmem),  ARG(c_off), ARG(ldc),   ARG(alpha), ARG(beta),  ARG(epi),
                       ARG(bias),  ARG(bias_off), ARG(act), ARG(aux),  ARG(aux_off), ARG(ldaux)};
        size_t global[2] = {(size_t)n, (size_t)m};
        size_t local[2] = {16, 16};
        int is_gpu = (cb->type & CL_DEVICE_TYPE_GPU) != 0;
        return LAUNCH(cb, which, args, 2, global, is_gpu && cb->max_wg >= 256 ? local : NULL);
    }
    if (which == K_GEMM_TILED_NN || which == K_GEMM_TILED_NT || which == K_GEMM_TILED_TN) {
        karg targs[] = {ARG(ones),  ARG(m),     ARG(n),     ARG(k),     ARG(amem),  ARG(a_off),
                        ARG(lda),   ARG(bmem),  ARG(b_off), ARG(ldb),   ARG(cmem),  ARG(c_off),
                        ARG(ldc),   ARG(alpha), ARG(beta),  ARG(epi),   ARG(bias),  ARG(bias_off),
                        ARG(act),   ARG(aux),   ARG(aux_off), ARG(ldaux)};
        int ts = cb->tuning.gt_ts;
        size_t rts = (size_t)(ts / cb->tuning.gt_wpt);
        size_t tglobal[2] = {(size_t)((n + ts - 1) / ts) * rts, (size_t)((m + ts - 1) / ts) * rts};
        size_t tlocal[2] = {rts, rts};
        return LAUNCH(cb, which, targs, 2, tglobal, tlocal);
    }
    karg args[] = {ARG(ones),  ARG(m),     ARG(n),     ARG(k),     ARG(amem),  ARG(a_off),
                   ARG(lda),   ARG(bmem),  ARG(b_off), ARG(ldb),   ARG(b_len), ARG(cmem),
                   ARG(c_off), ARG(ldc),   ARG(alpha), ARG(beta),  ARG(epi),   ARG(bias),
                   ARG(bias_off), ARG(act), ARG(aux),  ARG(aux_off), ARG(ldaux)};
    size_t global[2];
    if (which == K_GEMM_RB_NT)
        global[0] = (size_t)(n + NT_TN - 1) / NT_TN, global[1] = (size_t)(m + NT_TM - 1) / NT_TM;
    else
        global[0] = (size_t)(n + RB_TN - 1) / RB_TN,
        global[1] = (size_t)(m + cb->tuning.rb_tm - 1) / cb->tuning.rb_tm;
    /* several small work-groups: pocl's own choice can leave one core idle */
    size_t local[2] = {1, (size_t)cb->tuning.rb_local};
    return LAUNCH(cb, which, args, 2, global, local);
}

/* gemm (gemm_args): the kernel gemm_kernel picks. */
static mc_status cl_gemm(backend *be, const gemm_args *g)
{
    cl_backend *cb = cl_of(be);
    OP_CONTRACT(gemm, g);
    return launch_gemm(cb, gemm_kernel(cb, g), g);
}

/* loss (loss_args): loss_rows, a work-item per row. */
static mc_status cl_loss(backend *be, const loss_args *a)
{
    cl_backend *cb = cl_of(be);
    OP_CONTRACT(loss, a);
    cl_mem d = mem_of(cb, a->delta), l = mem_of(cb, a->loss), c = mem_of(cb, a->correct),
           z = mem_of(cb, a->logits), y = mem_of(cb, a->labels);
    cl_int kind = a->kind, d_off = (cl_int)a->delta.off, has_d = a->delta.b != NULL,
           l_off = (cl_int)a->loss.off, c_off = (cl_int)a->correct.off,
           z_off = (cl_int)a->logits.off, y_off = (cl_int)a->labels.off, count = a->count,
           classes = a->classes;
    cl_float scale = a->scale;
    karg args[] = {ARG(kind), ARG(d),     ARG(d_off), ARG(has_d), ARG(l),
                   ARG(l_off), ARG(c),    ARG(c_off), ARG(z),     ARG(z_off),
                   ARG(y),    ARG(y_off), ARG(count), ARG(classes), ARG(scale)};
    size_t global[1] = {(size_t)a->count}, local[1] = {cb->row_wg};
    return LAUNCH(cb, K_LOSS, args, 1, global, local);
}

/* output_step (output_step_args): output_step, output_rows rows per work-item. */
static mc_status cl_output_step(backend *be, const output_step_args *a)
{
    cl_backend *cb = cl_of(be);
    OP_CONTRACT(output_step, a);
    cl_mem h = mem_of(cb, a->h), w = mem_of(cb, a->W), b = mem_of(cb, a->b),
           y = mem_of(cb, a->labels), d = mem_of(cb, a->delta_out),
           dh = mem_of(cb, a->delta_hidden), l = mem_of(cb, a->loss), c = mem_of(cb, a->correct);
    cl_int kind = a->kind, h_off = (cl_int)a->h.off, hidden = a->hidden, w_off = (cl_int)a->W.off,
           w_len = (cl_int)(a->W.b->bytes / sizeof(float) - a->W.off), b_off = (cl_int)a->b.off,
           classes = a->classes, count = a->count, y_off = (cl_int)a->labels.off,
           d_off = (cl_int)a->delta_out.off, dh_off = (cl_int)a->delta_hidden.off,
           has_dh = a->delta_hidden.b != NULL, act = a->hidden_act, l_off = (cl_int)a->loss.off,
           c_off = (cl_int)a->correct.off;
    cl_float scale = a->scale;
    karg args[] = {ARG(kind),   ARG(h),      ARG(h_off), ARG(hidden), ARG(w),     ARG(w_off),
                   ARG(w_len),  ARG(b),      ARG(b_off), ARG(classes), ARG(count), ARG(y),
                   ARG(y_off),  ARG(scale),  ARG(d),     ARG(d_off),  ARG(dh),    ARG(dh_off),
                   ARG(has_dh), ARG(act),    ARG(l),     ARG(l_off),  ARG(c),     ARG(c_off)};
    size_t global[1] = {(size_t)(a->count + cb->output_rows - 1) / cb->output_rows},
           local[1] = {cb->output_rows > 1 ? 2 : cb->row_wg};
    return LAUNCH(cb, K_OUTPUT_STEP, args, 1, global, local);
}

/* probs (probs_args): probs_rows, a work-item per row. */
static mc_status cl_probs(backend *be, const probs_args *a)
{
    cl_backend *cb = cl_of(be);
    OP_CONTRACT(probs, a);
    cl_mem o = mem_of(cb, a->out), z = mem_of(cb, a->logits);
    cl_int kind = a->kind, o_off = (cl_int)a->out.off, z_off = (cl_int)a->logits.off,
           count = a->count, classes = a->classes;
    karg args[] = {ARG(kind), ARG(o), ARG(o_off), ARG(z), ARG(z_off), ARG(count), ARG(classes)};
    size_t global[1] = {(size_t)a->count}, local[1] = {cb->row_wg};
    return LAUNCH(cb, K_PROBS, args, 1, global, local);
}

/* update (update_args): param_update, PARAM_UPDATE_WIDTH parameters per work-item. */
static mc_status cl_update(backend *be, const update_args *a)
{
    cl_backend *cb = cl_of(be);
    OP_CONTRACT(update, a);
    cl_mem p = mem_of(cb, a->params), g = mem_of(cb, a->grads), v = mem_of(cb, a->state);
    cl_int p_off = (cl_int)a->params.off, g_off = (cl_int)a->grads.off,
           v_off = (cl_int)a->state.off, n = (cl_int)a->n;
    cl_rule rule = cl_rule_of(&a->rule);
    karg args[] = {ARG(p), ARG(p_off), ARG(g),   ARG(g_off), ARG(v),
                   ARG(v_off), ARG(n), RULE_KARGS(rule)};
    size_t global[1] = {(a->n + PARAM_UPDATE_WIDTH - 1) / PARAM_UPDATE_WIDTH},
           local[1] = {cb->row_wg};
    return LAUNCH(cb, K_PARAM_UPDATE, args, 1, global, local);
}

/* sum (sum_args): sum_stats, one work-group of SUM_WG. */
static mc_status cl_sum(backend *be, const sum_args *a)
{
    cl_backend *cb = cl_of(be);
    OP_CONTRACT(sum, a);
    cl_mem ls = mem_of(cb, a->loss_sum), cs = mem_of(cb, a->correct_sum),
           l = mem_of(cb, a->loss), c = mem_of(cb, a->correct);
    cl_int ls_off = (cl_int)a->loss_sum.off, cs_off = (cl_int)a->correct_sum.off,
           l_off = (cl_int)a->loss.off, c_off = (cl_int)a->correct.off, n = a->n;
    karg args[] = {ARG(ls), ARG(ls_off), ARG(cs), ARG(cs_off), ARG(l),
                   ARG(l_off), ARG(c), ARG(c_off), ARG(n)};
    size_t wg[1] = {cb->sum_wg};
    return LAUNCH(cb, K_SUM, args, 1, wg, wg);
}

/* Reports a buffer offset a kernel cannot take: it indexes that buffer from element 0. */
#define REQUIRE_ZERO_OFF(op, kernel, off)                                                     \
    OP_REQUIRE(op, (off) == 0, "%s %zu; %s indexes this buffer from element 0", #off,         \
               (size_t)(off), kernel)

/* sequential (sequential_args): train_sequential, one work-group of SEQ_WG. */
static mc_status cl_sequential(backend *be, const sequential_args *a)
{
    cl_backend *cb = cl_of(be);
    OP_CONTRACT(sequential, a);
    const char *op = op_name(OP_SEQUENTIAL), *kernel = kernel_names[K_SEQ];
    REQUIRE_ZERO_OFF(op, kernel, a->params.off);
    REQUIRE_ZERO_OFF(op, kernel, a->state.off);
    REQUIRE_ZERO_OFF(op, kernel, a->scratch.off);
    REQUIRE_ZERO_OFF(op, kernel, a->images.off);
    REQUIRE_ZERO_OFF(op, kernel, a->labels.off);
    REQUIRE_ZERO_OFF(op, kernel, a->index.off);
    REQUIRE_ZERO_OFF(op, kernel, a->loss.off);
    REQUIRE_ZERO_OFF(op, kernel, a->correct.off);
    REQUIRE_ZERO_OFF(op, kernel, a->sparse.pixels.off);
    REQUIRE_ZERO_OFF(op, kernel, a->sparse.offsets.off);
    const mlp_spec *s = a->spec;
    cl_mem p = mem_of(cb, a->params), v = mem_of(cb, a->state), sc = mem_of(cb, a->scratch),
           img = mem_of(cb, a->images), lab = mem_of(cb, a->labels), idx = mem_of(cb, a->index),
           l = mem_of(cb, a->loss), c = mem_of(cb, a->correct),
           sp = mem_of(cb, a->sparse.pixels), so = mem_of(cb, a->sparse.offsets);
    cl_int has_sparse = a->sparse.pixels.b != NULL && a->sparse.offsets.b != NULL;
    cl_int start = a->start, count = a->count, nl = s->n_layers, sz[SEQ_MAX_LAYERS + 1] = {0},
           act = s->hidden_act, out = s->output;
    for (int i = 0; i <= s->n_layers; i++)
        sz[i] = s->sizes[i];
    cl_rule rule = cl_rule_of(&a->rule);
    cl_schedule sched = cl_schedule_of(&a->schedule);
    cl_int first_step = a->first_step;
    /* the kernel takes the sizes as s0 .. s4 (train_seq.cl checks SEQ_MAX_LAYERS too) */
    _Static_assert(SEQ_MAX_LAYERS == 4, "train_sequential's arguments s0 .. s4");
    karg args[] = {ARG(p),     ARG(v),     ARG(sc),    ARG(img),   ARG(lab),  ARG(idx),
                   ARG(start), ARG(count), ARG(nl),    ARG(sz[0]), ARG(sz[1]), ARG(sz[2]),
                   ARG(sz[3]), ARG(sz[4]), ARG(act),   ARG(out),   RULE_KARGS(rule),
                   SCHEDULE_KARGS(sched), ARG(first_step),
                   ARG(l),     ARG(c),     ARG(has_sparse), ARG(sp), ARG(so)};
    size_t wg[1] = {cb->seq_wg};
    return LAUNCH(cb, K_SEQ, args, 1, wg, wg);
}

/* The limits csr_forward and csr_forward_output add to the contract, reported as op:
   they index the pixel lists, the index and the labels from element 0. */
static mc_status csr_forward_limits(const char *op, const char *kernel,
                                    const sparse_forward_args *f)
{
    REQUIRE_ZERO_OFF(op, kernel, f->images.pixels.off);
    REQUIRE_ZERO_OFF(op, kernel, f->images.offsets.off);
    REQUIRE_ZERO_OFF(op, kernel, f->index.off);
    REQUIRE_ZERO_OFF(op, kernel, f->labels.off);
    return MC_OK;
}

/* sparse_forward (sparse_forward_args): csr_forward over (rows, column blocks). */
static mc_status cl_sparse_forward(backend *be, const sparse_forward_args *a)
{
    cl_backend *cb = cl_of(be);
    OP_CONTRACT(sparse_forward, a);
    mc_status st = csr_forward_limits(op_name(OP_SPARSE_FORWARD), kernel_names[K_CSR_FORWARD], a);
    if (st)
        return st;
    cl_mem out = mem_of(cb, a->out), w = mem_of(cb, a->W), bias = mem_of(cb, a->bias),
           px = mem_of(cb, a->images.pixels), off = mem_of(cb, a->images.offsets),
           idx = mem_of(cb, a->index), y = mem_of(cb, a->y), lab = mem_of(cb, a->labels);
    cl_int out_off = (cl_int)a->out.off, n = a->n, w_off = (cl_int)a->W.off,
           w_len = (cl_int)(a->W.b->bytes / sizeof(float) - a->W.off),
           bias_off = (cl_int)a->bias.off, act = a->act, start = a->start, rows = a->rows,
           y_off = (cl_int)a->y.off, has_y = a->y.b != NULL, has_labels = a->labels.b != NULL;
    karg args[] = {ARG(out),   ARG(out_off), ARG(n),     ARG(w),     ARG(w_off), ARG(w_len),
                   ARG(bias),  ARG(bias_off), ARG(act),  ARG(px),    ARG(off),   ARG(idx),
                   ARG(start), ARG(rows),    ARG(y),     ARG(y_off), ARG(has_y), ARG(lab),
                   ARG(has_labels)};
    size_t cols = CSR_FORWARD_COLS((size_t)n); /* csr_forward's block of columns */
    size_t global[2] = {(size_t)rows, ((size_t)n + cols - 1) / cols}, local[2] = {4, 1};
    return LAUNCH(cb, K_CSR_FORWARD, args, 2, global, local);
}

/* sparse_forward_output (sparse_forward_output_args): csr_forward_output, a work-item per
   batch row. */
static mc_status cl_sparse_forward_output(backend *be, const sparse_forward_output_args *a)
{
    cl_backend *cb = cl_of(be);
    OP_CONTRACT(sparse_forward_output, a);
    const sparse_forward_args *f = &a->f;
    const output_step_args *o = &a->o;
    mc_status st = csr_forward_limits(op_name(OP_SPARSE_FORWARD_OUTPUT),
                                      kernel_names[K_CSR_FORWARD_OUTPUT], f);
    if (st)
        return st;
    cl_mem out = mem_of(cb, f->out), w = mem_of(cb, f->W), bias = mem_of(cb, f->bias),
           px = mem_of(cb, f->images.pixels), off = mem_of(cb, f->images.offsets),
           idx = mem_of(cb, f->index), y = mem_of(cb, f->y), lab = mem_of(cb, f->labels),
           w2 = mem_of(cb, o->W), b2 = mem_of(cb, o->b), d = mem_of(cb, o->delta_out),
           dh = mem_of(cb, o->delta_hidden), l = mem_of(cb, o->loss), c = mem_of(cb, o->correct);
    cl_int out_off = (cl_int)f->out.off, n = f->n, w_off = (cl_int)f->W.off,
           w_len = (cl_int)(f->W.b->bytes / sizeof(float) - f->W.off),
           bias_off = (cl_int)f->bias.off, act = f->act, start = f->start, rows = f->rows,
           y_off = (cl_int)f->y.off, has_labels = f->labels.b != NULL, kind = o->kind,
           w2_off = (cl_int)o->W.off, w2_len = (cl_int)(o->W.b->bytes / sizeof(float) - o->W.off),
           b2_off = (cl_int)o->b.off, classes = o->classes, d_off = (cl_int)o->delta_out.off,
           dh_off = (cl_int)o->delta_hidden.off, hidden_act = o->hidden_act,
           l_off = (cl_int)o->loss.off, c_off = (cl_int)o->correct.off;
    cl_float scale = o->scale;
    karg args[] = {ARG(out),     ARG(out_off), ARG(n),      ARG(w),          ARG(w_off),
                   ARG(w_len),   ARG(bias),    ARG(bias_off), ARG(act),      ARG(px),
                   ARG(off),     ARG(idx),     ARG(start),  ARG(rows),       ARG(y),
                   ARG(y_off),   ARG(lab),     ARG(has_labels), ARG(kind),   ARG(w2),
                   ARG(w2_off),  ARG(w2_len),  ARG(b2),     ARG(b2_off),     ARG(classes),
                   ARG(scale),   ARG(d),       ARG(d_off),  ARG(dh),         ARG(dh_off),
                   ARG(hidden_act), ARG(l),    ARG(l_off),  ARG(c),          ARG(c_off)};
    size_t global[1] = {(size_t)rows}, local[1] = {4};
    return LAUNCH(cb, K_CSR_FORWARD_OUTPUT, args, 1, global, local);
}

/* The limits csr_weight_grad and csr_backward_update add to the contract, reported as op:
   they index the scratch, the pixel lists and the index from element 0. */
static mc_status csr_grad_limits(const char *op, const char *kernel, const sparse_grad_args *g)
{
    REQUIRE_ZERO_OFF(op, kernel, g->scratch.off);
    REQUIRE_ZERO_OFF(op, kernel, g->images.pixels.off);
    REQUIRE_ZERO_OFF(op, kernel, g->images.offsets.off);
    REQUIRE_ZERO_OFF(op, kernel, g->index.off);
    return MC_OK;
}

/* sparse_grad (sparse_grad_args): csr_weight_grad over (column blocks, pixel bands). */
static mc_status cl_sparse_grad(backend *be, const sparse_grad_args *a)
{
    cl_backend *cb = cl_of(be);
    OP_CONTRACT(sparse_grad, a);
    mc_status st = csr_grad_limits(op_name(OP_SPARSE_GRAD), kernel_names[K_CSR_GRAD], a);
    if (st)
        return st;
    cl_mem out = mem_of(cb, a->out), scratch = mem_of(cb, a->scratch), d = mem_of(cb, a->delta),
           px = mem_of(cb, a->images.pixels), off = mem_of(cb, a->images.offsets),
           idx = mem_of(cb, a->index);
    cl_int out_off = (cl_int)a->out.off, d_off = (cl_int)a->delta.off, n = a->n,
           rows = a->rows, dim = a->dim, start = a->start, acc = a->accumulate;
    karg args[] = {ARG(out), ARG(out_off), ARG(scratch), ARG(d),   ARG(d_off),
                   ARG(n),   ARG(rows),    ARG(dim),     ARG(px),  ARG(off),
                   ARG(idx), ARG(start),   ARG(acc)};
    size_t global[2] = {(size_t)(n + SPARSE_GRAD_COLS - 1) / SPARSE_GRAD_COLS, PIXEL_BANDS},
           local[2] = {1, 1};
    return LAUNCH(cb, K_CSR_GRAD, args, 2, global, local);
}

/* sparse_backward_update (sparse_backward_update_args): csr_backward_update over (column
   blocks, pixel bands and, with classes > 0, one band more for [dW2; db2]). */
static mc_status cl_sparse_backward_update(backend *be, const sparse_backward_update_args *a)
{
    cl_backend *cb = cl_of(be);
    OP_CONTRACT(sparse_backward_update, a);
    const sparse_grad_args *g = &a->g;
    const update_args *u = &a->upd;
    const char *op = op_name(OP_SPARSE_BACKWARD_UPDATE);
    mc_status st = csr_grad_limits(op, kernel_names[K_CSR_BACKWARD_UPDATE], g);
    if (st)
        return st;
    /* the kernel addresses the state at the parameters' offsets */
    OP_REQUIRE(op, !u->state.b || u->state.off == u->params.off,
               "upd.state.off %zu, upd.params.off %zu", u->state.off, u->params.off);
    size_t first = ((size_t)g->dim + 1) * g->n;
    cl_mem p = mem_of(cb, u->params), v = mem_of(cb, u->state), scratch = mem_of(cb, g->scratch),
           d = mem_of(cb, g->delta), px = mem_of(cb, g->images.pixels),
           off = mem_of(cb, g->images.offsets), idx = mem_of(cb, g->index), h = mem_of(cb, a->h),
           d2 = mem_of(cb, a->delta2);
    cl_int p1_off = (cl_int)u->params.off, p2_off = (cl_int)(u->params.off + first),
           d_off = (cl_int)g->delta.off, n = g->n, rows = g->rows, dim = g->dim,
           start = g->start, h_off = (cl_int)a->h.off, d2_off = (cl_int)a->delta2.off,
           classes = a->classes;
    cl_rule rule = cl_rule_of(&u->rule);
    karg args[] = {ARG(p),     ARG(p1_off), ARG(p2_off), ARG(v),     ARG(scratch), ARG(d),
                   ARG(d_off), ARG(n),      ARG(rows),   ARG(dim),   ARG(px),      ARG(off),
                   ARG(idx),   ARG(start),  ARG(h),      ARG(h_off), ARG(d2),      ARG(d2_off),
                   ARG(classes), RULE_KARGS(rule)};
    /* the extra band of work-items takes [dW2; db2] */
    size_t global[2] = {(size_t)(n + SPARSE_GRAD_COLS - 1) / SPARSE_GRAD_COLS,
                        PIXEL_BANDS + (classes > 0)},
           local[2] = {1, 1};
    return LAUNCH(cb, K_CSR_BACKWARD_UPDATE, args, 2, global, local);
}

/* The limit the OpenCL kernels of dropout and augment add: int element indices. */
#define REQUIRE_INT_INDEX(op, what, count)                                                    \
    OP_REQUIRE(op, (count) <= (size_t)INT_MAX, "%s: %zu elements; the kernel indexes with int", \
               what, (size_t)(count))

/* dropout (dropout_args): dropout_rows, a work-item per row and DROPOUT_ITEM_COLS columns. */
static mc_status cl_dropout(backend *be, const dropout_args *a)
{
    cl_backend *cb = cl_of(be);
    OP_CONTRACT(dropout, a);
    const char *op = op_name(OP_DROPOUT);
    size_t blocks = ((size_t)a->cols + DROPOUT_ITEM_COLS - 1) / DROPOUT_ITEM_COLS;
    REQUIRE_INT_INDEX(op, "x.off + its extent",
                      a->x.off + ((size_t)a->rows - 1) * a->ld_x + a->cols);
    REQUIRE_INT_INDEX(op, "y.off + its extent",
                      a->y.off + ((size_t)a->rows - 1) * a->ld_y + a->cols);
    REQUIRE_INT_INDEX(op, "rows * ceil(cols / 32) work-items", (size_t)a->rows * blocks);
    cl_mem x = mem_of(cb, a->x), y = mem_of(cb, a->y);
    cl_int x_off = (cl_int)a->x.off, ld_x = a->ld_x, y_off = (cl_int)a->y.off, ld_y = a->ld_y,
           rows = a->rows, cols = a->cols, row0 = a->row0;
    cl_uint step = a->step, stream = a->stream, seed_lo = (cl_uint)a->seed,
            seed_hi = (cl_uint)(a->seed >> 32), threshold = a->threshold;
    cl_float scale = a->scale;
    karg args[] = {ARG(x),    ARG(x_off),  ARG(ld_x),    ARG(y),       ARG(y_off),
                   ARG(ld_y), ARG(rows),   ARG(cols),    ARG(row0),    ARG(step),
                   ARG(stream), ARG(seed_lo), ARG(seed_hi), ARG(threshold), ARG(scale)};
    size_t global[1] = {(size_t)a->rows * blocks}, local[1] = {cb->elem_wg};
    return LAUNCH(cb, K_DROPOUT, args, 1, global, local);
}

/*
 * augment (augment_args): augment_batch, one work-group of augment_wg per image, the image
 * ((w + 2)(h + 2) floats) and with the elastic part its field (2 (w h8 + h w8) floats, h8
 * and w8 the height and width rounded up to 8: about 20 bytes a pixel in all) in local
 * memory, which must fit what the device leaves the kernel (an OpenCL limit, reported as
 * the contract's are).
 */
static mc_status cl_augment(backend *be, const augment_args *a)
{
    cl_backend *cb = cl_of(be);
    OP_CONTRACT(augment, a);
    const char *op = op_name(OP_AUGMENT);
    int elastic = a->alpha > 0.0f;
    /* augment_batch's local data: the image with a border, and the elastic field, dx, dy
       with the height rounded up to 8, hx, hy with the width */
    size_t w = (size_t)a->width, h = (size_t)a->height, h8 = (h + 7) / 8 * 8, w8 = (w + 7) / 8 * 8;
    size_t local_bytes =
        sizeof(float) * ((w + 2) * (h + 2) + (elastic ? 2 * (w * h8 + h * w8) : 0));
    OP_REQUIRE(op, local_bytes <= cb->augment_local_max,
               "a %d x %d image and its elastic field take %zu bytes of local memory; %s has "
               "%zu here (AUGMENT_MAX_PIXELS %d)",
               a->width, a->height, local_bytes, kernel_names[K_AUGMENT],
               (size_t)cb->augment_local_max, AUGMENT_MAX_PIXELS);
    REQUIRE_INT_INDEX(op, "x.off", a->x.off);
    REQUIRE_INT_INDEX(op, "images.off", a->images.off);
    REQUIRE_INT_INDEX(op, "index.off + start + count", a->index.off + a->start + a->count);
    bref draw = a->ids.b ? a->ids : a->index; /* the ids the distortions are drawn for */
    REQUIRE_INT_INDEX(op, "ids.off + start + count", draw.off + a->start + a->count);
    cl_mem x = mem_of(cb, a->x), img = mem_of(cb, a->images), idx = mem_of(cb, a->index),
           ids = mem_of(cb, draw), gauss = mem_of(cb, elastic ? a->gauss : bref_at(NULL, 0));
    cl_int x_off = (cl_int)a->x.off, img_off = (cl_int)a->images.off,
           idx_off = (cl_int)a->index.off, ids_off = (cl_int)draw.off, start = a->start,
           count = a->count,
           width = a->width, height = a->height, gauss_off = elastic ? (cl_int)a->gauss.off : 0,
           radius = elastic ? augment_radius(a->sigma) : 0;
    /* the angle's bound in half-turns, divided here as cpu_augment does */
    cl_float shift = a->shift, rot_ht = a->rotate_deg / 180.0f, scale = a->scale,
             alpha = a->alpha;
    cl_uint seed_lo = (cl_uint)a->seed, seed_hi = (cl_uint)(a->seed >> 32), epoch = a->epoch;
    karg args[] = {ARG(x),       ARG(x_off),   ARG(img),     ARG(img_off), ARG(idx),
                   ARG(idx_off), ARG(ids),     ARG(ids_off), ARG(start),   ARG(count),
                   ARG(width),   ARG(height),
                   ARG(shift),   ARG(rot_ht),  ARG(scale),   ARG(alpha),   ARG(gauss),
                   ARG(gauss_off), ARG(radius), ARG(seed_lo), ARG(seed_hi), ARG(epoch),
                   {local_bytes, NULL}}; /* local memory: a size and no value */
    size_t global[1] = {(size_t)a->count * cb->augment_wg}, local[1] = {cb->augment_wg};
    return LAUNCH(cb, K_AUGMENT, args, 1, global, local);
}

/*
 * window_images (window_images_args): window_images, one work-group per window row (one
 * work-item on CPU paths, up to 64 elsewhere), copying 16-, 4- or 1-byte pieces (the widest
 * that divides dim and both rows' byte offsets, within the buffers' base alignment).
 */
static mc_status cl_window_images(backend *be, const window_images_args *a)
{
    cl_backend *cb = cl_of(be);
    OP_CONTRACT(window_images, a);
    const char *op = op_name(OP_WINDOW_IMAGES);
    /* int offsets; the ends fit too, as every buffer here is below 2^31 bytes */
    REQUIRE_INT_INDEX(op, "images_out.off", a->images_out.off);
    REQUIRE_INT_INDEX(op, "labels_out.off", a->labels_out.off);
    REQUIRE_INT_INDEX(op, "images.off", a->images.off);
    REQUIRE_INT_INDEX(op, "labels.off", a->labels.off);
    REQUIRE_INT_INDEX(op, "ids.off", a->ids.off);
    cl_int piece = 1;
    for (cl_int w = 16; w > 1; w /= 4)
        if ((size_t)w <= cb->base_align && a->dim % w == 0 && a->images_out.off % w == 0 &&
            a->images.off % w == 0) {
            piece = w;
            break;
        }
    cl_mem io = mem_of(cb, a->images_out), lo = mem_of(cb, a->labels_out),
           img = mem_of(cb, a->images), lab = mem_of(cb, a->labels), ids = mem_of(cb, a->ids);
    cl_int io_off = (cl_int)a->images_out.off, lo_off = (cl_int)a->labels_out.off,
           img_off = (cl_int)a->images.off, lab_off = (cl_int)a->labels.off,
           ids_off = (cl_int)a->ids.off, count = a->count, slot0 = a->slot0, dim = a->dim,
           part_first = a->part_first, part_n = a->part_n;
    karg args[] = {ARG(io),    ARG(io_off),  ARG(lo),    ARG(lo_off), ARG(img),
                   ARG(img_off), ARG(lab),   ARG(lab_off), ARG(ids),  ARG(ids_off),
                   ARG(count), ARG(slot0),   ARG(dim),   ARG(part_first), ARG(part_n),
                   ARG(piece)};
    /* work-items: the row's pieces rounded up to a power of two, at most window_wg (CPU
       paths: 1, a plain copy loop; 60000 MNIST rows took 7-9 ms on pocl, 11 ms with 4
       items and 18-21 ms with 64 per row) */
    size_t pieces = (size_t)(a->dim / piece), wg = 1;
    while (wg < pieces && wg < cb->window_wg)
        wg *= 2;
    size_t global[1] = {(size_t)a->count * wg}, local[1] = {wg};
    return LAUNCH(cb, K_WINDOW_IMAGES, args, 1, global, local);
}

/*
 * kernel_of: the kernel operation `op` runs with arguments `args` (its *_args struct; only
 * gemm's are read, for gemm_kernel's choice) and its launches (always 1 here); NULL and 0
 * for an unknown op.
 */
static const char *cl_kernel_of(backend *be, op_kind op, const void *args, int *launches)
{
    cl_backend *cb = cl_of(be);
    int which = -1;
    switch (op) {
    case OP_GATHER: which = K_GATHER; break;
    case OP_GEMM: which = args ? gemm_kernel(cb, args) : -1; break;
    case OP_LOSS: which = K_LOSS; break;
    case OP_OUTPUT_STEP: which = K_OUTPUT_STEP; break;
    case OP_PROBS: which = K_PROBS; break;
    case OP_UPDATE: which = K_PARAM_UPDATE; break;
    case OP_SUM: which = K_SUM; break;
    case OP_SEQUENTIAL: which = K_SEQ; break;
    case OP_SPARSE_FORWARD: which = K_CSR_FORWARD; break;
    case OP_SPARSE_FORWARD_OUTPUT: which = K_CSR_FORWARD_OUTPUT; break;
    case OP_SPARSE_GRAD: which = K_CSR_GRAD; break;
    case OP_SPARSE_BACKWARD_UPDATE: which = K_CSR_BACKWARD_UPDATE; break;
    case OP_DROPOUT: which = K_DROPOUT; break;
    case OP_AUGMENT: which = K_AUGMENT; break;
    case OP_WINDOW_IMAGES: which = K_WINDOW_IMAGES; break;
    case OP_COUNT: break;
    }
    if (launches)
        *launches = which >= 0 ? 1 : 0;
    return which >= 0 ? kernel_names[which] : NULL;
}

/* Releases every object of the backend, printing the profile first (MNISTCL_PROFILE). */
static void cl_destroy(backend *be)
{
    cl_backend *cb = cl_of(be);
    if (!cb)
        return;
    if (cb->profile) {
        if (cb->queue)
            clFinish(cb->queue);
        profile_collect(cb);
        profile_report(cb);
        free(cb->events);
        free(cb->event_kernel);
    }
    if (cb->dummy)
        clReleaseMemObject(cb->dummy);
    for (int i = 0; i < K_COUNT; i++)
        if (cb->kernels[i])
            clReleaseKernel(cb->kernels[i]);
    if (cb->program)
        clReleaseProgram(cb->program);
    if (cb->queue)
        clReleaseCommandQueue(cb->queue);
    if (cb->context)
        clReleaseContext(cb->context);
    free(cb);
}

static const backend_ops cl_ops = {
    .alloc = cl_alloc,
    .release = cl_release,
    .write = cl_write,
    .read = cl_read,
    .read_async = cl_read_async,
    .write_async = cl_write_async,
    .alloc_host = cl_alloc_host,
    .finish = cl_finish,
    .gather = cl_gather,
    .gemm = cl_gemm,
    .loss = cl_loss,
    .output_step = cl_output_step,
    .probs = cl_probs,
    .update = cl_update,
    .sum = cl_sum,
    .sequential = cl_sequential,
    .sparse_forward = cl_sparse_forward,
    .sparse_forward_output = cl_sparse_forward_output,
    .sparse_backward_update = cl_sparse_backward_update,
    .sparse_grad = cl_sparse_grad,
    .dropout = cl_dropout,
    .augment = cl_augment,
    .window_images = cl_window_images,
    .kernel_of = cl_kernel_of,
    .destroy = cl_destroy,
};

/*
 * Settles cb->tuning: the defaults, then `given` (when not NULL) or the device's line in
 * the tuning cache; values the device cannot run (work-groups too large) are dropped.
 */
static mc_status choose_tuning(cl_backend *cb, const cl_tuning *given, mc_error *err)
{
    int gt_ts = cb->max_wg >= 256 ? DEFAULT_GT_TS : DEFAULT_GT_TS_SMALL;
    cl_tuning t = {.rb_tm = DEFAULT_RB_TM, .rb_local = DEFAULT_RB_LOCAL, .gt_ts = gt_ts,
                   .gt_wpt = DEFAULT_GT_WPT};
    cl_tuning found = {0};
    int have = 0;
    if (given) {
        found = *given;
        have = 1;
    } else {
        mc_status st = tune_cache_lookup(tune_cache_path(), cb->key, &found, &have, err);
        if (st)
            return st;
        if (have)
            snprintf(cb->tuning_source, sizeof cb->tuning_source, "%s", tune_cache_path());
    }
    if (have) {
        if (found.rb_tm)
            t.rb_tm = found.rb_tm;
        if (found.rb_local)
            t.rb_local = found.rb_local;
        if (found.gt_ts)
            t.gt_ts = found.gt_ts;
        if (found.gt_wpt)
            t.gt_wpt = found.gt_wpt;
    }
    /* gemm_gpu.cl's conditions: (GT_TS / GT_WPT)^2 work-items, dividing GT_TS * GT_TK */
    size_t rts = (size_t)(t.gt_ts / t.gt_wpt);
    if (rts * rts > cb->max_wg || (t.gt_ts * DEFAULT_GT_TK) % (int)(rts * rts) != 0) {
        t.gt_ts = gt_ts;
        t.gt_wpt = DEFAULT_GT_WPT;
    }
    if ((size_t)t.rb_local > cb->max_wg)
        t.rb_local = 1;
    cb->tuning = t;
    return MC_OK;
}

/*
 * augment_batch's launch settings: its work-group size (DEFAULT_AUGMENT_WG, or what the
 * kernel may take on the device) and the local memory its image and field may take (the
 * device's, less what the kernel's own local array takes).
 */
static mc_status augment_limits(cl_backend *cb, mc_error *err)
{
    cl_kernel k = cb->kernels[K_AUGMENT];
    size_t kernel_wg = 0;
    cl_ulong device_local = 0, kernel_local = 0;
    if (ocl_failed(clGetKernelWorkGroupInfo(k, cb->device, CL_KERNEL_WORK_GROUP_SIZE,
                                            sizeof kernel_wg, &kernel_wg, NULL),
                   "clGetKernelWorkGroupInfo(augment_batch, CL_KERNEL_WORK_GROUP_SIZE)") ||
        ocl_failed(clGetKernelWorkGroupInfo(k, cb->device, CL_KERNEL_LOCAL_MEM_SIZE,
                                            sizeof kernel_local, &kernel_local, NULL),
                   "clGetKernelWorkGroupInfo(augment_batch, CL_KERNEL_LOCAL_MEM_SIZE)") ||
        ocl_failed(clGetDeviceInfo(cb->device, CL_DEVICE_LOCAL_MEM_SIZE, sizeof device_local,
                                   &device_local, NULL),
                   "clGetDeviceInfo(CL_DEVICE_LOCAL_MEM_SIZE)"))
        return mc_fail(err, MC_ERR_OPENCL, "cannot query the limits of kernel %s",
                       kernel_names[K_AUGMENT]);
    cb->augment_wg = DEFAULT_AUGMENT_WG;
    const char *wg_env = getenv("MNISTCL_AUGMENT_WG"); /* for measurements, as MNISTCL_SEQ_WG */
    if (wg_env && atoi(wg_env) > 0)
        cb->augment_wg = (size_t)atoi(wg_env);
    while (cb->augment_wg > kernel_wg && cb->augment_wg > 1)
        cb->augment_wg /= 2;
    cb->augment_local_max = device_local > kernel_local ? device_local - kernel_local : 0;
    return MC_OK;
}

/*
 * The memory caps of device d (backend_caps): the largest buffer (at most 2^31 - 1 bytes:
 * the kernels take int offsets), all buffers, whether it reads host memory; then lowered
 * by MNISTCL_DEVICE_LIMITS (MC_ERR_USAGE when malformed). Sets cb->base_align.
 */
static mc_status memory_caps(cl_backend *cb, const ocl_device_ref *d, mc_error *err)
{
    cl_ulong max_alloc = 0, global = 0;
    cl_uint align_bits = 0;
    cl_bool unified = CL_FALSE;
    if (ocl_failed(clGetDeviceInfo(d->device, CL_DEVICE_MAX_MEM_ALLOC_SIZE, sizeof max_alloc,
                                   &max_alloc, NULL),
                   "clGetDeviceInfo(CL_DEVICE_MAX_MEM_ALLOC_SIZE)") ||
        ocl_failed(clGetDeviceInfo(d->device, CL_DEVICE_GLOBAL_MEM_SIZE, sizeof global, &global,
                                   NULL),
                   "clGetDeviceInfo(CL_DEVICE_GLOBAL_MEM_SIZE)") ||
        ocl_failed(clGetDeviceInfo(d->device, CL_DEVICE_MEM_BASE_ADDR_ALIGN, sizeof align_bits,
                                   &align_bits, NULL),
                   "clGetDeviceInfo(CL_DEVICE_MEM_BASE_ADDR_ALIGN)"))
        return mc_fail(err, MC_ERR_OPENCL, "cannot query the memory of %s", cb->base.name);
    /* deprecated since OpenCL 2.0: a device that no longer answers is taken as separate */
    if (clGetDeviceInfo(d->device, CL_DEVICE_HOST_UNIFIED_MEMORY, sizeof unified, &unified,
                        NULL) != CL_SUCCESS)
        unified = CL_FALSE;
    backend_caps *c = &cb->base.caps;
    c->max_alloc_bytes = max_alloc < 0x7fffffffu ? (size_t)max_alloc : 0x7fffffffu;
    c->memory_bytes = global < SIZE_MAX ? (size_t)global : SIZE_MAX;
    c->host_memory = (d->type & CL_DEVICE_TYPE_CPU) && unified == CL_TRUE;
    cb->base_align = align_bits >= 8 ? align_bits / 8 : 1;
    return device_limits_apply(&c->max_alloc_bytes, &c->memory_bytes, err);
}

/* Creates the context, queue, program and kernels of cb for device d. */
static mc_status cl_init(cl_backend *cb, const ocl_device_ref *d, const cl_tuning *given,
                         mc_error *err)
{
    cl_int e;
    cb->device = d->device;
    cb->type = d->type;
    clGetDeviceInfo(d->device, CL_DEVICE_MAX_WORK_GROUP_SIZE, sizeof cb->max_wg, &cb->max_wg,
                    NULL);
    /* explicit sizes: with none, pocl may make work-groups of one item */
    cb->elem_wg = cb->max_wg < 256 ? cb->max_wg : 256;
    cb->row_wg = cb->max_wg < 32 ? cb->max_wg : 32;
    cb->sum_wg = DEFAULT_SUM_WG;
    while (cb->sum_wg > cb->max_wg && cb->sum_wg > 1)
        cb->sum_wg /= 2;
    /* CPU devices take the CPU code paths, others the GPU ones. MNISTCL_GPU_PATHS=1 / =0
       forces one side on any device, so both can be tested wherever there is a device
       (pocl, oclgrind). */
    const char *gpu_env = getenv("MNISTCL_GPU_PATHS");
    int cpu_paths = (d->type & CL_DEVICE_TYPE_CPU) != 0;
    if (gpu_env && *gpu_env)
        cpu_paths = atoi(gpu_env) == 0;
    cb->auto_gemm = cpu_paths ? GEMM_RB : GEMM_TILED;
    /* pixel lists suit a CPU's caches; a GPU runs the dense products faster */
    cb->base.caps = (backend_caps){.pixel_lists_first_layer = cpu_paths,
                                   .output_step_max_classes = OUTPUT_STEP_MAX_CLASSES,
                                   .sparse_output_max_hidden = SPARSE_OUTPUT_MAX_HIDDEN,
                                   .sequential_max_layers = SEQ_MAX_LAYERS,
                                   .sequential_pixel_lists = 1};
    mc_status st = memory_caps(cb, d, err);
    if (st)
        return st;
    /* one work-item per group on CPU devices (vectorised loops), 64 elsewhere */
    cb->seq_wg = cpu_paths ? DEFAULT_SEQ_WG_CPU : DEFAULT_SEQ_WG_GPU;
    const char *seq_env = getenv("MNISTCL_SEQ_WG");
    if (seq_env && atoi(seq_env) > 0)
        cb->seq_wg = (size_t)atoi(seq_env);
    if (cb->seq_wg > cb->max_wg)
        cb->seq_wg = cb->max_wg;
    cl_context_properties props[] = {CL_CONTEXT_PLATFORM, (cl_context_properties)d->platform, 0};
    cb->context = clCreateContext(props, 1, &d->device, NULL, NULL, &e);
    if (ocl_failed(e, "clCreateContext"))
        return mc_fail(err, MC_ERR_OPENCL, "cannot create an OpenCL context on %s", cb->base.name);
    const char *prof = getenv("MNISTCL_PROFILE");
    cb->profile = prof && *prof && strcmp(prof, "0") != 0;
    cb->queue = clCreateCommandQueue(cb->context, d->device,
                                     cb->profile ? CL_QUEUE_PROFILING_ENABLE : 0, &e);
    if (ocl_failed(e, "clCreateCommandQueue"))
        return mc_fail(err, MC_ERR_OPENCL, "cannot create a command queue on %s", cb->base.name);
    cb->dummy = clCreateBuffer(cb->context, CL_MEM_READ_WRITE, 64, NULL, &e);
    if (ocl_failed(e, "clCreateBuffer(dummy)"))
        return mc_fail(err, MC_ERR_OPENCL, "cannot allocate on %s", cb->base.name);
    char pname[128] = "?", dname[128] = "?", driver[128] = "?";
    clGetPlatformInfo(d->platform, CL_PLATFORM_NAME, sizeof pname - 1, pname, NULL);
    clGetDeviceInfo(d->device, CL_DEVICE_NAME, sizeof dname - 1, dname, NULL);
    clGetDeviceInfo(d->device, CL_DRIVER_VERSION, sizeof driver - 1, driver, NULL);
    snprintf(cb->key, sizeof cb->key, "%s|%s|%s", pname, dname, driver);
    for (char *c = cb->key; *c; c++)
        if (*c == '\t' || *c == '\n' || *c == '\r')
            *c = ' ';
    st = choose_tuning(cb, given, err);
    if (st)
        return st;
    char *text = NULL;
    st = ocl_program_text(&text, err);
    if (st)
        return st;
    char options[256];
    cb->gather_rows = cpu_paths ? DEFAULT_GATHER_ROWS_CPU : DEFAULT_GATHER_ROWS_GPU;
    cb->window_wg = cpu_paths ? 1 : cb->max_wg < 64 ? cb->max_wg : 64;
    /* CPU devices: four rows side by side hide the FMA latency of each row's logit sums */
    cb->output_rows = cpu_paths ? DEFAULT_OUTPUT_ROWS_CPU : DEFAULT_OUTPUT_ROWS_GPU;
    /* every tunable the kernels take (kernel_interface.h); the constants they share with
       the host come with the program text's headers */
    snprintf(options, sizeof options,
             "-cl-std=CL1.2 -DSUM_WG=%zu -DSEQ_WG=%zu -DRB_TM=%d -DGATHER_ROWS=%d -DGT_TS=%d "
             "-DGT_TK=%d -DGT_WPT=%d -DOUTPUT_ROWS=%d",
             cb->sum_wg, cb->seq_wg, cb->tuning.rb_tm, cb->gather_rows, cb->tuning.gt_ts,
             DEFAULT_GT_TK, cb->tuning.gt_wpt, cb->output_rows);
    st = ocl_build(cb->context, d->device, text, options, &cb->program, err);
    free(text);
    if (st)
        return st;
    for (int i = 0; i < K_COUNT; i++) {
        cb->kernels[i] = clCreateKernel(cb->program, kernel_names[i], &e);
        char what[96];
        snprintf(what, sizeof what, "clCreateKernel(%s)", kernel_names[i]);
        if (ocl_failed(e, what))
            return mc_fail(err, MC_ERR_OPENCL, "kernel %s is missing from the program",
                           kernel_names[i]);
        /* launch() checks every call's argument count against it */
        e = clGetKernelInfo(cb->kernels[i], CL_KERNEL_NUM_ARGS, sizeof cb->kernel_args[i],
                            &cb->kernel_args[i], NULL);
        snprintf(what, sizeof what, "clGetKernelInfo(%s, CL_KERNEL_NUM_ARGS)", kernel_names[i]);
        if (ocl_failed(e, what))
            return mc_fail(err, MC_ERR_OPENCL, "cannot query the arguments of kernel %s",
                           kernel_names[i]);
    }
    return augment_limits(cb, err);
}

/* Opens device platform:device as a backend (mnistcl/opencl.h). */
mc_status backend_cl_create(int platform, int device, const cl_tuning *tuning, backend **out,
                            mc_error *err)
{
    ocl_device_ref devs[64];
    int n = ocl_enumerate(devs, 64);
    const ocl_device_ref *d = NULL;
    for (int i = 0; i < n; i++)
        if (devs[i].platform_index == platform && devs[i].device_index == device)
            d = &devs[i];
    if (!d)
        return mc_fail(err, MC_ERR_OPENCL,
                       "no OpenCL device %d:%d (%d device%s found; `mnistcl devices` lists them)",
                       platform, device, n, n == 1 ? "" : "s");
    cl_backend *cb = calloc(1, sizeof *cb);
    if (!cb)
        return mc_fail(err, MC_ERR_NOMEM, "out of memory");
    cb->base.ops = &cl_ops;
    cb->base.is_opencl = 1;
    char desc[200];
    ocl_describe(d, desc, sizeof desc);
    snprintf(cb->base.name, sizeof cb->base.name, "OpenCL %d:%d %s", platform, device, desc);
    mc_status st = cl_init(cb, d, tuning, err);
    if (st) {
        cl_destroy(&cb->base);
        return st;
    }
    if (ocl_loops_capped(d))
        fprintf(stderr,
                "mnistcl: warning: %s: Mesa's llvmpipe silently ends a kernel's loops after "
                "65535 iterations in all, so large batches, wide layers and long batch-1 "
                "blocks can compute wrong results here; use it for tests at small sizes and "
                "train on another device (Debian: pocl-opencl-icd)\n",
                cb->base.name);
    *out = &cb->base;
    return MC_OK;
}

/* The tunables in use; all 0 for a backend that is not OpenCL. */
cl_tuning backend_cl_tuning(backend *be)
{
    cl_tuning none = {0};
    return be && be->is_opencl ? cl_of(be)->tuning : none;
}

/* The tuning cache the tunables came from, or NULL. */
const char *backend_cl_tuning_source(backend *be)
{
    return be && be->is_opencl && cl_of(be)->tuning_source[0] ? cl_of(be)->tuning_source : NULL;
}

/* The device's "platform|device|driver" key of the tuning cache ("" if not OpenCL). */
const char *backend_cl_device_key(backend *be)
{
    return be && be->is_opencl ? cl_of(be)->key : "";
}

/* The command queue (as void *), NULL if not OpenCL. */
void *backend_cl_queue(backend *be)
{
    return be && be->is_opencl ? (void *)cl_of(be)->queue : NULL;
}

/* Forces GEMM variant v (GEMM_AUTO: the device's own choice again). */
void backend_cl_force_gemm(backend *be, gemm_variant v)
{
    if (be && be->is_opencl)
        cl_of(be)->forced = v;
}

/* "auto", "naive", "rb", "tiled"; "?" for anything else. */
const char *gemm_variant_name(gemm_variant v)
{
    static const char *const names[GEMM_VARIANT_COUNT] = {"auto", "naive", "rb", "tiled"};
    return v >= 0 && v < GEMM_VARIANT_COUNT ? names[v] : "?";
}
