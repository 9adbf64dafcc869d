/*
 * The inside of an exchange (exchange.h), shared by its two implementations: the generic
 * part and the single rank (exchange_local.c, in the library) and MPI's transport
 * (mpi_exchange.c, built only with MPI and never part of libmnistcl). A transport moves
 * bytes; exchange_local.c does all the arithmetic, in rank order, whatever moved them.
 */
#ifndef MNISTCL_EXCHANGE_TRANSPORT_H
#define MNISTCL_EXCHANGE_TRANSPORT_H

#include "train/exchange.h"

/** What a transport does; every call is collective (all ranks, in the same order). */
typedef struct {
    /* every rank's `bytes` bytes at mine, into all in rank order (ranks * bytes) */
    mc_status (*allgather)(exchange *x, const void *mine, void *all, size_t bytes,
                           mc_error *err);
    /* rank 0's `bytes` bytes at data, copied over every other rank's */
    mc_status (*broadcast)(exchange *x, void *data, size_t bytes, mc_error *err);
    /* ends every rank's process with `code`; does not return */
    void (*abort)(exchange *x, int code);
} exchange_transport;

struct exchange {
    const exchange_transport *ops; /* NULL: this process alone (rank 0 of 1) */
    int rank, ranks;
    void *scratch;        /* what allgather brings back for a sum (grown on demand) */
    size_t scratch_bytes;
};

/** The single-rank exchange (rank 0 of 1, every sum a no-op): a static object. */
exchange *exchange_single(void);

/** Frees x's scratch buffer (exchange_close of a transport). */
void exchange_free_scratch(exchange *x);

#endif
