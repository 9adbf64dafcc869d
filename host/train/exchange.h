/*
 * How the processes of a data-parallel run combine their numbers: one process (no MPI,
 * or MPI with one rank) or several MPI ranks (mpi_exchange.c, built when MPI is found).
 * Every sum is taken in rank order (rank 0's values + rank 1's + ...), never in the
 * order messages arrive, so every rank gets the same bits and a run repeats bit for bit.
 */
#ifndef MNISTCL_EXCHANGE_H
#define MNISTCL_EXCHANGE_H

#include <stddef.h>

#include "mnistcl/status.h"

typedef struct exchange exchange;

/** The process's exchange: MPI's world when started by mpirun (and built with MPI), else
 *  a single rank. Never NULL; the first call sets it up (MPI_Init), exchange_close ends
 *  it. */
exchange *exchange_world(void);

/** This process's rank (0-based) and the number of ranks (1 without MPI). */
int exchange_rank(const exchange *x);
int exchange_ranks(const exchange *x);

/** 1 when an MPI launcher started this process (mpirun, even with -np 1), else 0. */
int exchange_launched(const exchange *x);

/** Sums n floats elementwise over the ranks, in rank order; every rank gets the sum.
 *  With one rank: nothing to do. */
mc_status exchange_sum_floats(exchange *x, float *data, size_t n, mc_error *err);

/** The same for doubles and for 64-bit integers. */
mc_status exchange_sum_doubles(exchange *x, double *data, size_t n, mc_error *err);
mc_status exchange_sum_longs(exchange *x, long long *data, size_t n, mc_error *err);

/** The largest of each rank's *value, on every rank (a stop request, a status). */
mc_status exchange_max_int(exchange *x, int *value, mc_error *err);

/** Rank 0's `bytes` bytes at data, copied to every rank. */
mc_status exchange_broadcast(exchange *x, void *data, size_t bytes, mc_error *err);

/** Ends MPI (MPI_Finalize) if exchange_world started it; safe to call more than once.
 *  Every rank must get there (MPI_Finalize waits for all): after a failure the other
 *  ranks cannot know of, call exchange_abort instead. */
void exchange_close(void);

/** With several ranks: ends every rank's process with exit code `code` (MPI_Abort), for
 *  a failure on this rank that leaves the others waiting in a sum; never returns. With
 *  one rank (or x NULL): returns at once, and the caller exits as it would alone. */
void exchange_abort(exchange *x, int code);

#endif
