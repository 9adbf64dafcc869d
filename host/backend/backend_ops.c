/* What every backend shares: the handle's public functions, the operations' names, and
   running any operation by its op_kind. */
#include <stdio.h>

#include "backend/backend_ops.h"

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

/* The name of an operation, as its table slot is named ("?" for none). */
const char *op_name(op_kind op)
{
    static const char *const names[OP_COUNT] = {
        "gather", "gemm", "loss", "output_step", "probs", "update", "sum", "sequential",
        "sparse_forward", "sparse_forward_output", "sparse_grad", "sparse_backward_update",
        "dropout", "augment"};
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
    case OP_COUNT: break;
    }
    fprintf(stderr, "mnistcl: internal error: backend_run: op %d is not an operation\n",
            (int)op);
    return MC_ERR_RUNTIME;
}

