/*
 * SIGINT, SIGTERM and SIGHUP, taken by a thread of their own (signals_install, first
 * thing in main, blocks them in every thread created after it):
 *   - the temporary files registered here (output_file.h does it) are removed whenever
 *     a signal ends the process, so no PATH.tmp.PID survives a signal;
 *   - outside a "keep the work" section the first signal ends the process at once
 *     (exit 128 + signal number), after that cleanup;
 *   - inside one (training), the first signal only sets a flag that the training loop
 *     reads between steps (signals_pending), so it can save its work and exit; a second
 *     signal ends the process at once.
 */
#ifndef MNISTCL_SIGNALS_H
#define MNISTCL_SIGNALS_H

/**
 * Blocks SIGINT, SIGTERM and SIGHUP and starts the thread that takes them. Call it
 * before anything starts threads (the OpenCL drivers do): they inherit the mask.
 */
void signals_install(void);

/** Starts (on = 1) or ends (on = 0) the section in which the first signal is deferred. */
void signals_defer(int on);

/**
 * signals_defer(1), and note (text that lives until signals_defer(0)) is what stderr
 * gets when the first signal is deferred, instead of training's "stopping after the
 * current step" (`mnistcl serve`: "stopping the server").
 */
void signals_defer_note(const char *note);

/**
 * Ignores SIGPIPE from now on: writes to a closed stdout (`mnistcl train | head`) then
 * fail instead of ending the process, so a run still trains and saves its work.
 */
void signals_ignore_pipe(void);

/** The signal received inside the deferring section, or 0 when none. */
int signals_pending(void);

/** The exit code for a signal: 128 + its number (130 for SIGINT, 143 for SIGTERM). */
int signals_exit_code(int sig);

/**
 * Registers a temporary file to remove if a signal ends the process; returns the slot
 * to pass to signals_forget, or -1 when every slot is taken (the file is then not
 * removed by a signal, nothing else changes). path is copied.
 */
int signals_track(const char *path);

/**
 * Takes (on = 1) or gives back (on = 0) the lock under which tracked files are created,
 * renamed and removed; a signal that ends the process removes them under the same lock,
 * so none is created after that removal.
 */
void signals_lock_files(int on);

/** Unregisters the slot signals_track returned (-1: nothing). */
void signals_forget(int slot);

#endif
