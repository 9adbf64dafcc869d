/*
 * SIGINT, SIGTERM and SIGHUP (signals.h), taken by one thread with sigwait: the signals
 * are blocked in every other thread (the mask is set before any is created, and threads
 * inherit it), so no handler ever runs inside other code. That matters: pocl compiles
 * kernels with an in-process LLVM, which installs handlers of its own that delete its
 * temporary files on a signal and so break the build a deferred signal should not touch.
 */
#include "core/signals.h"

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TRACKED_MAX 8
#define TRACKED_PATH 4096

/* The temporary files to remove; a slot is live while its flag is set. */
static char tracked[TRACKED_MAX][TRACKED_PATH];
static atomic_int tracked_live[TRACKED_MAX];
static atomic_int deferring, pending;
/* What the watcher writes when it defers a signal (signals_defer_note); NULL: training's. */
static _Atomic(const char *) defer_note;
/* Held by whoever creates or removes a tracked file, and by the watcher from the moment it
 * removes them until the process ends, so a file is never created after that removal. */
static pthread_mutex_t files_lock = PTHREAD_MUTEX_INITIALIZER;

/* The signals this module takes. */
static void watched(sigset_t *set)
{
    sigemptyset(set);
    sigaddset(set, SIGINT);
    sigaddset(set, SIGTERM);
    sigaddset(set, SIGHUP);
}

/* Removes every live temporary file. */
static void remove_tracked(void)
{
    for (int i = 0; i < TRACKED_MAX; i++)
        if (atomic_load(&tracked_live[i]) == 1)
            unlink(tracked[i]);
}

/* The watcher thread: defers the first signal inside a deferring section, else ends the
 * process (removing the temporary files first). */
static void *watch(void *unused)
{
    (void)unused;
    sigset_t set;
    watched(&set);
    for (;;) {
        int sig = 0;
        if (sigwait(&set, &sig) != 0)
            continue;
        if (atomic_load(&deferring) && !atomic_load(&pending)) {
            atomic_store(&pending, sig);
            static const char msg[] = "\nmnistcl: stopping after the current step, with the "
                                      "work saved (a second signal stops at once)\n";
            const char *note = atomic_load(&defer_note);
            ssize_t w = note ? write(STDERR_FILENO, note, strlen(note))
                             : write(STDERR_FILENO, msg, sizeof msg - 1);
            (void)w;
            continue;
        }
        pthread_mutex_lock(&files_lock); /* never released: the process ends below */
        remove_tracked();
        if (atomic_load(&pending)) {
            static const char msg[] = "\nmnistcl: second signal: stopped at once\n";
            ssize_t w = write(STDERR_FILENO, msg, sizeof msg - 1);
            (void)w;
        }
        _exit(128 + sig);
    }
    return NULL;
}

static pthread_t watcher;

/* At exit: ends the watcher (sigwait is a cancellation point) and frees what it holds. */
static void stop_watcher(void)
{
    pthread_cancel(watcher);
    pthread_join(watcher, NULL);
}

void signals_install(void)
{
    sigset_t set;
    watched(&set);
    if (pthread_sigmask(SIG_BLOCK, &set, NULL) != 0)
        return;
    if (pthread_create(&watcher, NULL, watch, NULL) != 0) {
        /* no watcher: keep the default actions rather than ignore every signal */
        pthread_sigmask(SIG_UNBLOCK, &set, NULL);
        fprintf(stderr, "mnistcl: warning: cannot start the signal thread; Ctrl-C will not "
                        "save the work\n");
        return;
    }
    atexit(stop_watcher);
}

void signals_defer(int on)
{
    if (!on)
        atomic_store(&defer_note, NULL);
    atomic_store(&deferring, on);
}

void signals_defer_note(const char *note)
{
    atomic_store(&defer_note, note);
    atomic_store(&deferring, 1);
}

void signals_ignore_pipe(void)
{
    signal(SIGPIPE, SIG_IGN);
}

int signals_pending(void)
{
    return atomic_load(&pending);
}

int signals_exit_code(int sig)
{
    return 128 + sig;
}

int signals_track(const char *path)
{
    size_t len = strlen(path);
    if (len >= TRACKED_PATH)
        return -1;
    for (int i = 0; i < TRACKED_MAX; i++) {
        int expected = 0;
        /* claim the slot with -1 (not live yet), fill it, then publish it */
        if (!atomic_compare_exchange_strong(&tracked_live[i], &expected, -1))
            continue;
        memcpy(tracked[i], path, len + 1);
        atomic_store(&tracked_live[i], 1);
        return i;
    }
    return -1;
}

void signals_lock_files(int on)
{
    if (on)
        pthread_mutex_lock(&files_lock);
    else
        pthread_mutex_unlock(&files_lock);
}

void signals_forget(int slot)
{
    if (slot >= 0 && slot < TRACKED_MAX)
        atomic_store(&tracked_live[slot], 0);
}
