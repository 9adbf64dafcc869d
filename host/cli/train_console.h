/*
 * `mnistcl train`'s standard output: the lines it prints (none at all with --quiet) and,
 * when asked for (--progress; by default on a terminal only), one progress line within
 * an epoch, redrawn in place ("\r", the line, ESC[K) and erased ("\r" ESC[K) before any
 * other line is printed, so the scrollback holds only the plain lines.
 */
#ifndef MNISTCL_TRAIN_CONSOLE_H
#define MNISTCL_TRAIN_CONSOLE_H

#include <stdarg.h>
#include <stdio.h>

#include "mnistcl/status.h"

typedef struct {
    FILE *out;    /* stdout, or NULL: nothing is printed (--quiet) */
    int progress; /* whether progress lines are drawn */
    int drawn;    /* a progress line is showing, not yet erased */
} train_console;

/** What the progress line shows of the epoch in progress. */
typedef struct {
    int epoch, epochs;      /* 1-based; the run's last */
    int step, steps;        /* steps of the epoch done; steps per epoch */
    double loss, accuracy;  /* the epoch so far: mean loss, accuracy 0..1 */
    double images_per_s;
    double eta_epoch;       /* seconds until the epoch's end (< 0: unknown) */
    double eta_run;         /* seconds until the run's end (< 0: unknown or the same) */
} progress_fields;

/**
 * Sets c up to print on out (stdout): nothing at all when quiet; progress lines by mode:
 * "auto" when out is a terminal (isatty, and TERM is not "dumb"), "on" always (tests,
 * benchmarks), "off" never. Another mode is MC_ERR_USAGE naming --progress.
 */
mc_status console_init(train_console *c, FILE *out, int quiet, const char *mode, mc_error *err);

/** Prints a line (or lines) like vprintf, after erasing a progress line; flushes. Nothing
 *  with --quiet. */
void console_vsay(train_console *c, const char *fmt, va_list ap)
    __attribute__((format(printf, 2, 0)));

/** Draws p as the progress line in place of the last one (cut to the terminal's width);
 *  nothing unless c draws progress. Flushes. */
void console_progress(train_console *c, const progress_fields *p);

/** Erases the progress line when one is showing (before a message on stderr, say). */
void console_erase(train_console *c);

#endif
