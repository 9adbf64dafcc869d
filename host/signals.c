/* SIGINT, SIGTERM and SIGHUP: deferred while training, temporary files removed (signals.h). */
#include "signals.h"

#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define TRACKED_MAX 8
#define TRACKED_PATH 4096

/* The temporary files to remove; a slot is live while its flag is set. */
static char tracked[TRACKED_MAX][TRACKED_PATH];
static volatile sig_atomic_t tracked_live[TRACKED_MAX];
static volatile sig_atomic_t deferring, pending;

/* Removes every live temporary file (async-signal-safe: unlink only). */
static void remove_tracked(void)
{
    for (int i = 0; i < TRACKED_MAX; i++)
        if (tracked_live[i])
            unlink(tracked[i]);
}

static void on_signal(int sig)
{
    if (deferring && !pending) {
        pending = sig;
        return;
    }
    remove_tracked();
    if (pending) {
        static const char msg[] = "\nmnistcl: second signal: stopped at once, nothing saved\n";
        ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
        (void)w;
    }
    _exit(128 + sig);
}

void signals_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaddset(&sa.sa_mask, SIGINT);
    sigaddset(&sa.sa_mask, SIGTERM);
    sigaddset(&sa.sa_mask, SIGHUP);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
}

void signals_defer(int on)
{
    deferring = on;
}

void signals_ignore_pipe(void)
{
    signal(SIGPIPE, SIG_IGN);
}

int signals_pending(void)
{
    return (int)pending;
}

int signals_exit_code(int sig)
{
    return 128 + sig;
}

int signals_track(const char *path)
{
    if (strlen(path) >= TRACKED_PATH)
        return -1;
    for (int i = 0; i < TRACKED_MAX; i++) {
        if (tracked_live[i])
            continue;
        memcpy(tracked[i], path, strlen(path) + 1);
        atomic_signal_fence(memory_order_seq_cst);
        tracked_live[i] = 1; /* after the copy: a handler never sees half a path */
        return i;
    }
    return -1;
}

void signals_forget(int slot)
{
    if (slot >= 0 && slot < TRACKED_MAX)
        tracked_live[slot] = 0;
}
