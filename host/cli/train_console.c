/* `train`'s standard output and its in-epoch progress line (train_console.h). */
#include "cli/train_console.h"

#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#define PROGRESS_MAX 160 /* bytes of a progress line */

mc_status console_init(train_console *c, FILE *out, int quiet, const char *mode, mc_error *err)
{
    memset(c, 0, sizeof *c);
    int on;
    if (strcmp(mode, "on") == 0) {
        on = 1;
    } else if (strcmp(mode, "off") == 0) {
        on = 0;
    } else if (strcmp(mode, "auto") == 0) {
        const char *term = getenv("TERM");
        on = isatty(fileno(out)) && !(term && strcmp(term, "dumb") == 0);
    } else {
        return mc_fail(err, MC_ERR_USAGE, "--progress '%s': expected auto, on or off", mode);
    }
    c->out = quiet ? NULL : out;
    c->progress = on && !quiet;
    return MC_OK;
}

void console_erase(train_console *c)
{
    if (!c->drawn)
        return;
    fputs("\r\033[K", c->out);
    fflush(c->out);
    c->drawn = 0;
}

void console_vsay(train_console *c, const char *fmt, va_list ap)
{
    if (!c->out)
        return;
    console_erase(c);
    vfprintf(c->out, fmt, ap);
    fflush(c->out);
}


/* Columns of the terminal out writes to, or 0 when that is not known. */
static int terminal_width(FILE *out)
{
#ifdef TIOCGWINSZ
    struct winsize w;
    if (ioctl(fileno(out), TIOCGWINSZ, &w) == 0)
        return w.ws_col;
#else
    (void)out;
#endif
    return 0;
}

/* A duration as M:SS, or H:MM:SS from an hour on, into out. */
static void format_duration(double seconds, char *out, size_t len)
{
    long s = seconds < 1e9 ? (long)(seconds + 0.5) : 999999999L;
    if (s >= 3600)
        snprintf(out, len, "%ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
    else
        snprintf(out, len, "%ld:%02ld", s / 60, s % 60);
}

void console_progress(train_console *c, const progress_fields *p)
{
    if (!c->progress)
        return;
    char eta[64] = "", epoch_left[24], run_left[24];
    if (p->eta_epoch >= 0) {
        format_duration(p->eta_epoch, epoch_left, sizeof epoch_left);
        if (p->eta_run >= 0) {
            format_duration(p->eta_run, run_left, sizeof run_left);
            snprintf(eta, sizeof eta, "  ETA %s (run %s)", epoch_left, run_left);
        } else {
            snprintf(eta, sizeof eta, "  ETA %s", epoch_left);
        }
    }
    char line[PROGRESS_MAX];
    int n = snprintf(line, sizeof line,
                     "epoch %d/%d  step %d/%d  loss %.4f  train %.2f%%  %.0f img/s%s", p->epoch,
                     p->epochs, p->step, p->steps, p->loss, 100 * p->accuracy, p->images_per_s,
                     eta);
    int width = terminal_width(c->out);
    if (width > 1 && n >= width && width - 1 < (int)sizeof line)
        line[width - 1] = '\0'; /* the last column left free: no wrap, \r reaches it all */
    fprintf(c->out, "\r%s\033[K", line);
    fflush(c->out);
    c->drawn = 1;
}
