/*
 * The exchange over MPI (built when CMake finds MPI: MNISTCL_HAVE_MPI; never part of
 * libmnistcl, which stays free of MPI). exchange_world() starts MPI only when the process
 * was started by an MPI launcher (mpirun, mpiexec, srun): a plain `mnistcl train` pays
 * nothing and prints nothing (a singleton MPI_Init costs ~0.4 s here and may warn about
 * missing network interfaces). The transport moves bytes (MPI_Allgather, MPI_Bcast on
 * MPI_COMM_WORLD); exchange_local.c adds the gathered values in rank order, which is why
 * there is no MPI_Allreduce here (its order of addition is not defined). Per sum of n
 * floats a rank sends its n floats and receives the others' (ranks - 1) x n.
 *
 * MPI's errors come back (MPI_ERRORS_RETURN on the communicator) and are turned into
 * mc_fail with MPI_Error_string's text, MC_ERR_RUNTIME.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>

#include <mpi.h>

#include "train/exchange_transport.h"

static exchange world;       /* MPI's, when started */
static exchange *the_world;  /* what exchange_world returns (NULL before the first call) */
static int mpi_started;      /* 1: MPI_Init was called and MPI_Finalize not yet */

/* Whether an MPI launcher started this process: Open MPI's mpirun sets
   OMPI_COMM_WORLD_SIZE, PMIx launchers (Open MPI 4+, Slurm's srun --mpi=pmix) PMIX_RANK,
   MPICH's Hydra and PMI-1/2 launchers PMI_SIZE. */
static int launched_by_mpi(void)
{
    const char *v[3] = {getenv("OMPI_COMM_WORLD_SIZE"), getenv("PMIX_RANK"),
                        getenv("PMI_SIZE")};
    for (int i = 0; i < 3; i++)
        if (v[i] && v[i][0])
            return 1;
    return 0;
}

/* MPI's error text for rc, into err with `call` before it: MC_ERR_RUNTIME. */
static mc_status mpi_failed(int rc, const char *call, mc_error *err)
{
    char text[MPI_MAX_ERROR_STRING + 1];
    int len = 0;
    if (MPI_Error_string(rc, text, &len) != MPI_SUCCESS)
        len = snprintf(text, sizeof text, "error code %d", rc);
    text[len < 0 ? 0 : len > MPI_MAX_ERROR_STRING ? MPI_MAX_ERROR_STRING : len] = '\0';
    return mc_fail(err, MC_ERR_RUNTIME, "%s failed on rank %d of %d: %s", call, world.rank,
                   world.ranks, text);
}

/* The transport's allgather: MPI_Allgather of bytes (at most INT_MAX per rank; the sums
   of exchange_local.c send pieces of a few MiB). */
static mc_status mpi_allgather(exchange *x, const void *mine, void *all, size_t bytes,
                               mc_error *err)
{
    (void)x;
    if (bytes > INT_MAX)
        return mc_fail(err, MC_ERR_RUNTIME, "internal error: exchange allgather: bytes <= "
                       "INT_MAX (%zu)", bytes);
    int rc = MPI_Allgather(mine, (int)bytes, MPI_BYTE, all, (int)bytes, MPI_BYTE,
                           MPI_COMM_WORLD);
    return rc == MPI_SUCCESS ? MC_OK : mpi_failed(rc, "MPI_Allgather", err);
}

/* The transport's broadcast: MPI_Bcast from rank 0, in pieces of at most INT_MAX bytes. */
static mc_status mpi_broadcast(exchange *x, void *data, size_t bytes, mc_error *err)
{
    (void)x;
    for (size_t done = 0; done < bytes;) {
        size_t piece = bytes - done < (size_t)INT_MAX ? bytes - done : (size_t)INT_MAX;
        int rc = MPI_Bcast((char *)data + done, (int)piece, MPI_BYTE, 0, MPI_COMM_WORLD);
        if (rc != MPI_SUCCESS)
            return mpi_failed(rc, "MPI_Bcast", err);
        done += piece;
    }
    return MC_OK;
}

/* The transport's abort: what this process wrote goes out first, then MPI_Abort ends
   every rank (mpirun exits with `code`). */
static void mpi_abort(exchange *x, int code)
{
    (void)x;
    fflush(stdout);
    fflush(stderr);
    MPI_Abort(MPI_COMM_WORLD, code);
    exit(code); /* MPI_Abort does not return; should it, this rank at least ends */
}

static const exchange_transport mpi_transport = {mpi_allgather, mpi_broadcast, mpi_abort};

/*
 * The process's exchange. Not started by a launcher: the single rank. Else MPI_Init_thread
 * (MPI_THREAD_FUNNELED: only the main thread calls MPI; the OpenCL driver's and the signal
 * watcher's threads never do), errors returned instead of fatal, the rank and size of
 * MPI_COMM_WORLD. MPI_Init failing (Open MPI's default handler aborts first) ends the
 * process with exit code 1 and MPI's reason: there is no way to run as one of N.
 */
exchange *exchange_world(void)
{
    if (the_world)
        return the_world;
    if (!launched_by_mpi())
        return the_world = exchange_single();
    int provided = 0;
    int rc = MPI_Init_thread(NULL, NULL, MPI_THREAD_FUNNELED, &provided);
    mc_error err = {{0}};
    if (rc != MPI_SUCCESS) {
        world.rank = 0, world.ranks = 1;
        mpi_failed(rc, "MPI_Init_thread", &err);
        fprintf(stderr, "mnistcl: %s\n", err.msg);
        exit(MC_ERR_RUNTIME);
    }
    mpi_started = 1;
    rc = MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_rank(MPI_COMM_WORLD, &world.rank);
    if (rc == MPI_SUCCESS)
        rc = MPI_Comm_size(MPI_COMM_WORLD, &world.ranks);
    if (rc != MPI_SUCCESS) {
        mpi_failed(rc, "setting up MPI_COMM_WORLD", &err);
        fprintf(stderr, "mnistcl: %s\n", err.msg);
        MPI_Abort(MPI_COMM_WORLD, MC_ERR_RUNTIME);
        exit(MC_ERR_RUNTIME);
    }
    world.ops = &mpi_transport;
    return the_world = &world;
}

/* MPI_Finalize once, if MPI was started; the scratch buffer goes with it. */
void exchange_close(void)
{
    if (!mpi_started)
        return;
    mpi_started = 0;
    exchange_free_scratch(&world);
    fflush(stdout);
    fflush(stderr);
    MPI_Finalize();
}
