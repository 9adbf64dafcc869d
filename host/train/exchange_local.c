/*
 * The exchange's arithmetic (exchange.h) over any transport (exchange_transport.h), and
 * the single rank: a process alone (no MPI built, or not started by an MPI launcher) is
 * rank 0 of 1 and every sum leaves its numbers as they are.
 *
 * Why sums are gathered and then added here rather than reduced by MPI_Allreduce: MPI does
 * not promise the order in which a reduction adds the ranks' values (Open MPI picks an
 * algorithm by message size and rank count, and a tree adds (r0 + r1) + (r2 + r3)), and
 * float addition is not associative, so the bits of a sum could depend on the transport's
 * choice, and a run would not repeat bit for bit nor agree with a run over another
 * transport. Each rank gathers every rank's values (allgather: n values per rank go out,
 * ranks x n come back) and adds them itself as r0 + r1 + r2 + ... from the left, so every
 * rank gets the same bits, and always the same ones.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "train/exchange_transport.h"

/* Largest scratch buffer of one gather: a longer sum goes in pieces of this many bytes
   (all the ranks' values together). */
#define EXCHANGE_SCRATCH_BYTES ((size_t)16 << 20)

static exchange single = {NULL, 0, 1, NULL, 0};

exchange *exchange_single(void)
{
    return &single;
}

void exchange_free_scratch(exchange *x)
{
    free(x->scratch);
    x->scratch = NULL;
    x->scratch_bytes = 0;
}

int exchange_rank(const exchange *x)
{
    return x ? x->rank : 0;
}

int exchange_ranks(const exchange *x)
{
    return x ? x->ranks : 1;
}

int exchange_launched(const exchange *x)
{
    return x && x->ops != NULL;
}

/* Whether x has more than one rank (else every collective is a no-op). */
static int several(const exchange *x)
{
    return x && x->ops && x->ranks > 1;
}

/* x's scratch buffer of at least `bytes` bytes into *out. Without the memory this rank
   cannot take part in the collective the others have entered (they would wait for it
   forever), so it says so and ends every rank (exchange_abort, MC_ERR_NOMEM). */
static mc_status scratch(exchange *x, size_t bytes, void **out, mc_error *err)
{
    (void)err;
    if (x->scratch_bytes < bytes) {
        void *p = realloc(x->scratch, bytes);
        if (!p) {
            fprintf(stderr, "mnistcl: out of memory for the %zu bytes of an exchange between "
                            "%d ranks: every rank stops\n", bytes, x->ranks);
            exchange_abort(x, MC_ERR_NOMEM);
            return MC_ERR_NOMEM; /* (a transport's abort does not return) */
        }
        x->scratch = p;
        x->scratch_bytes = bytes;
    }
    *out = x->scratch;
    return MC_OK;
}

/* The element kinds a sum takes. */
typedef enum { SUM_FLOAT, SUM_DOUBLE, SUM_LONG } sum_kind;

/*
 * data[i] = all[0][i] + all[1][i] + ... + all[ranks - 1][i] for i < m, added from the
 * left in the element's own type, where all[r] = all + r * m (each rank's m values).
 */
static void add_in_rank_order(sum_kind kind, void *data, const void *all, size_t m, int ranks)
{
    for (size_t i = 0; i < m; i++) {
        if (kind == SUM_FLOAT) {
            const float *a = all;
            float s = a[i];
            for (int r = 1; r < ranks; r++)
                s += a[(size_t)r * m + i];
            ((float *)data)[i] = s;
        } else if (kind == SUM_DOUBLE) {
            const double *a = all;
            double s = a[i];
            for (int r = 1; r < ranks; r++)
                s += a[(size_t)r * m + i];
            ((double *)data)[i] = s;
        } else { /* exact in any order, but gathered like the others: one transport call */
            const long long *a = all;
            long long s = a[i];
            for (int r = 1; r < ranks; r++)
                s += a[(size_t)r * m + i];
            ((long long *)data)[i] = s;
        }
    }
}

/* The sums of exchange_sum_*: n elements of `size` bytes at data, in pieces that keep the
   gathered values within EXCHANGE_SCRATCH_BYTES. */
static mc_status sum_in_rank_order(exchange *x, sum_kind kind, size_t size, void *data,
                                   size_t n, mc_error *err)
{
    if (!several(x) || n == 0)
        return MC_OK;
    size_t piece = EXCHANGE_SCRATCH_BYTES / size / (size_t)x->ranks;
    if (piece < 1)
        piece = 1;
    if (piece > n)
        piece = n;
    void *all = NULL;
    mc_status st = scratch(x, piece * size * (size_t)x->ranks, &all, err);
    for (size_t first = 0; !st && first < n; first += piece) {
        size_t m = n - first < piece ? n - first : piece;
        char *part = (char *)data + first * size;
        if (!(st = x->ops->allgather(x, part, all, m * size, err)))
            add_in_rank_order(kind, part, all, m, x->ranks);
    }
    return st;
}

mc_status exchange_sum_floats(exchange *x, float *data, size_t n, mc_error *err)
{
    return sum_in_rank_order(x, SUM_FLOAT, sizeof *data, data, n, err);
}

mc_status exchange_sum_doubles(exchange *x, double *data, size_t n, mc_error *err)
{
    return sum_in_rank_order(x, SUM_DOUBLE, sizeof *data, data, n, err);
}

mc_status exchange_sum_longs(exchange *x, long long *data, size_t n, mc_error *err)
{
    return sum_in_rank_order(x, SUM_LONG, sizeof *data, data, n, err);
}

mc_status exchange_max_int(exchange *x, int *value, mc_error *err)
{
    if (!several(x))
        return MC_OK;
    int *all = NULL;
    mc_status st = scratch(x, sizeof(int) * (size_t)x->ranks, (void **)&all, err);
    if (!st)
        st = x->ops->allgather(x, value, all, sizeof(int), err);
    for (int r = 0; !st && r < x->ranks; r++)
        *value = all[r] > *value ? all[r] : *value;
    return st;
}

mc_status exchange_broadcast(exchange *x, void *data, size_t bytes, mc_error *err)
{
    return several(x) && bytes ? x->ops->broadcast(x, data, bytes, err) : MC_OK;
}

void exchange_abort(exchange *x, int code)
{
    if (several(x))
        x->ops->abort(x, code);
}

#ifndef MNISTCL_HAVE_MPI
/* Without MPI the process is always alone. */
exchange *exchange_world(void)
{
    return &single;
}

void exchange_close(void)
{
}
#endif
