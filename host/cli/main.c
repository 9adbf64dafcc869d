/* mnistcl: the command-line entry point; dispatches to the subcommands. */
#ifdef __linux__
#define _GNU_SOURCE /* fopencookie: the "rank K: " prefix of stderr */
#endif
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli_common.h"
#include "core/signals.h"
#include "train/exchange.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mnistcl COMMAND [options]\n"
            "Trains fully connected networks on MNIST-format data with OpenCL kernels.\n\n"
            "commands:\n"
            "  train     train a network (default: 784-128-10 ReLU, softmax, 5 epochs)\n"
            "  eval      accuracy of a saved (or untrained) model\n"
            "  predict   show images and the network's answers (terminal, PNG, interactive)\n"
            "  forward   every layer's values for one image (= predict --verbose)\n"
            "  report    a folder of figures and a web page about a trained model\n"
            "  serve     a web page to draw digits on and see what a model makes of them\n"
            "  devices   list OpenCL platforms and devices\n"
            "  tune      search this device's kernel settings and cache the best\n\n"
            "`mnistcl COMMAND --help` lists a command's options with their defaults.\n"
            "Exit codes: 0 ok, 1 error, 2 usage, 3 bad data file, 4 I/O, 5 OpenCL,\n"
            "            6 out of memory, 7 training diverged, 130/143 stopped by\n"
            "            SIGINT/SIGTERM (train saves its work first).\n");
}

/* ---- the ranks of `mpirun -np N mnistcl train` -------------------------------------------- */

#ifdef __linux__
static char rank_prefix[32]; /* "rank K: " */
static int at_line_start = 1;

/* Writes the n bytes at p to fd 2, retrying short writes and EINTR; 0, or -1. */
static int write_stderr(const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(2, p, n);
        if (w < 0)
            return -1;
        p += w, n -= (size_t)w;
    }
    return 0;
}

/* The write function of a rank's stderr stream (fopencookie): the n bytes at buf, with
   rank_prefix before every line, each line (up to 4 KiB of it) in one write. */
static ssize_t prefixed_write(void *cookie, const char *buf, size_t n)
{
    (void)cookie;
    char out[4096 + sizeof rank_prefix];
    size_t prefix = strlen(rank_prefix);
    for (size_t done = 0; done < n;) {
        size_t used = 0;
        if (at_line_start)
            memcpy(out, rank_prefix, prefix), used = prefix;
        const char *nl = memchr(buf + done, '\n', n - done);
        size_t piece = nl ? (size_t)(nl - (buf + done)) + 1 : n - done;
        piece = piece < 4096 ? piece : 4096;
        memcpy(out + used, buf + done, piece);
        used += piece;
        done += piece;
        at_line_start = out[used - 1] == '\n';
        if (write_stderr(out, used))
            return -1;
    }
    return (ssize_t)n;
}
#endif

/*
 * What a rank after the first prints: nothing on stdout (it goes to /dev/null: rank 0
 * prints the run), and every line of stderr (this program's, the OpenCL driver's, MPI's)
 * after "rank K: " (where stdio allows: Linux's fopencookie).
 */
static void quiet_rank(int rank)
{
    fflush(stdout);
    fflush(stderr);
    int null = open("/dev/null", O_WRONLY);
    if (null >= 0) {
        dup2(null, 1);
        close(null);
    }
#ifdef __linux__
    snprintf(rank_prefix, sizeof rank_prefix, "rank %d: ", rank);
    cookie_io_functions_t io = {NULL, prefixed_write, NULL, NULL};
    FILE *f = fopencookie(NULL, "w", io);
    if (f) {
        setvbuf(f, NULL, _IOLBF, BUFSIZ);
        stderr = f;
    }
#endif
}

/*
 * `train`, as one process or as one rank of an MPI run (exchange_world: MPI is started
 * only under an MPI launcher): ranks after 0 go quiet (quiet_rank), MPI ends after the
 * run (cmd_train has agreed its ending with the other ranks, or has aborted them all).
 * Built without MPI, a process that a launcher started as one of several refuses: each
 * would train alone and write the same files.
 */
static int train_on_ranks(int argc, char **argv)
{
#ifndef MNISTCL_HAVE_MPI
    /* the launchers' process counts: Open MPI, PMI-1/2 (MPICH), PMIx (srun --mpi=pmix) */
    const char *size = getenv("OMPI_COMM_WORLD_SIZE");
    if (!size)
        size = getenv("PMI_SIZE");
    if (!size)
        size = getenv("PMIX_SIZE");
    if (size && atoi(size) > 1) {
        fprintf(stderr, "mnistcl: started by an MPI launcher as one of %d processes, but this "
                        "mnistcl was built without MPI (Debian: libopenmpi-dev, then "
                        "rebuild): each would train alone\n", atoi(size));
        return 1;
    }
#endif
    exchange *x = exchange_world();
    if (exchange_rank(x) > 0)
        quiet_rank(exchange_rank(x));
    int rc = cmd_train(argc, argv);
    exchange_close();
    return rc;
}

int main(int argc, char **argv)
{
    signals_install();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("mnistcl %s\n", MNISTCL_VERSION);
        return 0;
    }
    if (strcmp(cmd, "train") == 0)
        return train_on_ranks(argc, argv);
    if (strcmp(cmd, "eval") == 0)
        return cmd_eval(argc, argv);
    if (strcmp(cmd, "predict") == 0 || strcmp(cmd, "forward") == 0)
        return cmd_predict(argc, argv);
    if (strcmp(cmd, "report") == 0)
        return cmd_report(argc, argv);
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc, argv);
    if (strcmp(cmd, "tune") == 0)
        return cmd_tune(argc, argv);
    if (strcmp(cmd, "devices") == 0)
        return cmd_devices(argc, argv);
    fprintf(stderr, "mnistcl: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
