/* What every backend shares: the handle's public functions, the operations' names, and
   running any operation by its op_kind. */
#include <stdio.h>
#include <stdlib.h>

#include "backend/backend_ops.h"
#include "backend/device_limits.h"

/* Frees a backend through its own destroy. */
void backend_destroy(backend *be)
{
    if (be)
        be->ops->destroy(be);
}

/* The backend's description. */
const char *backend_name(const backend *be)
{
    return be->name;
}

/* Whether the backend is an OpenCL one. */
int backend_is_opencl(const backend *be)
{
    return be->is_opencl;
}

/* Where the environment lowered the limits, the words that say so in alloc's message. */
static const char *limits_note(void)
{
    const char *v = getenv(DEVICE_LIMITS_ENV);
    return v && *v ? ", as " DEVICE_LIMITS_ENV " sets it" : "";
}

mc_status backend_charge(backend *be, size_t bytes)
{
    const backend_caps *c = &be->caps;
    if (bytes > c->max_alloc_bytes) {
        fprintf(stderr,
                "mnistcl: a buffer of %zu bytes (%.1f MiB) is larger than the device allows: "
                "at most %zu bytes (%.1f MiB) per buffer on %s%s\n",
                bytes, bytes / 1048576.0, c->max_alloc_bytes, c->max_alloc_bytes / 1048576.0,
                be->name, limits_note());
        return MC_ERR_NOMEM;
    }
    if (bytes > c->memory_bytes - be->allocated_bytes) {
        fprintf(stderr,
                "mnistcl: a buffer of %zu bytes (%.1f MiB) does not fit on %s: %zu bytes are "
                "taken of its %zu (%.1f MiB)%s\n",
                bytes, bytes / 1048576.0, be->name, be->allocated_bytes, c->memory_bytes,
                c->memory_bytes / 1048576.0, limits_note());
        return MC_ERR_NOMEM;
    }
    be->allocated_bytes += bytes;
    return MC_OK;
}

void backend_uncharge(backend *be, size_t bytes)
{
    be->allocated_bytes -= bytes <= be->allocated_bytes ? bytes : be->allocated_bytes;
}

/* The name of an operation, as its table slot is named ("?" for none). */
const char *op_name(op_kind op)
{
    static const char *const names[OP_COUNT] = {
        "gather", "gemm", "loss", "output_step", "probs", "update", "sum", "sequential",
        "sparse_forward", "sparse_forward_output", "sparse_grad", "sparse_backward_update",
        "dropout", "augment", "window_images"};
    return op >= 0 && op < OP_COUNT ? names[op] : "?";
}

mc_status backend_run(backend *be, op_kind op, const op_args *a)
{
    const backend_ops *o = be->ops;
    switch (op) {
    case OP_GATHER: return o->gather(be, &a->gather);
    case OP_GEMM: return o->gemm(be, &a->gemm);
    case OP_LOSS: return o->loss(be, &a->loss);
    case OP_OUTPUT_STEP: return o->output_step(be, &a->output_step);
    case OP_PROBS: return o->probs(be, &a->probs);
    case OP_UPDATE: return o->update(be, &a->update);
    case OP_SUM: return o->sum(be, &a->sum);
    case OP_SEQUENTIAL: return o->sequential(be, &a->sequential);
    case OP_SPARSE_FORWARD: return o->sparse_forward(be, &a->sparse_forward);
    case OP_SPARSE_FORWARD_OUTPUT: return o->sparse_forward_output(be, &a->sparse_forward_output);
    case OP_SPARSE_GRAD: return o->sparse_grad(be, &a->sparse_grad);
    case OP_SPARSE_BACKWARD_UPDATE:
        return o->sparse_backward_update(be, &a->sparse_backward_update);
    case OP_DROPOUT: return o->dropout(be, &a->dropout);
    case OP_AUGMENT: return o->augment(be, &a->augment);
    case OP_WINDOW_IMAGES: return o->window_images(be, &a->window_images);
    case OP_COUNT: break;
    }
    fprintf(stderr, "mnistcl: internal error: backend_run: op %d is not an operation\n",
            (int)op);
    return MC_ERR_RUNTIME;
}

