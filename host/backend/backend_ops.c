/* What every backend shares: the handle's public functions and the operations' names. */
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
        "sparse_forward", "sparse_forward_output", "sparse_grad", "sparse_backward_update"};
    return op >= 0 && op < OP_COUNT ? names[op] : "?";
}
