/* Terminal rendering of a prediction and of a forward trace. */
#include <math.h>
#include <string.h>

#include "cli/display.h"

/* Shades from background to ink; each pixel is printed twice to look square. */
static const char *const shades[] = {" ", "\u2591", "\u2592", "\u2593", "\u2588"};
/* Eighths of a block, for bar ends. */
static const char *const eighths[] = {"", "\u258f", "\u258e", "\u258d", "\u258c",
                                      "\u258b", "\u258a", "\u2589"};
#define BAR_WIDTH 40

static void print_digit(FILE *out, const prediction *p)
{
    fprintf(out, "  \u250c");
    for (int c = 0; c < p->cols; c++)
        fprintf(out, "\u2500\u2500");
    fprintf(out, "\u2510\n");
    for (int r = 0; r < p->rows; r++) {
        fprintf(out, "  \u2502");
        for (int c = 0; c < p->cols; c++) {
            int v = p->image[r * p->cols + c];
            const char *s = shades[v == 0 ? 0 : 1 + v * 4 / 256];
            fprintf(out, "%s%s", s, s);
        }
        fprintf(out, "\u2502\n");
    }
    fprintf(out, "  \u2514");
    for (int c = 0; c < p->cols; c++)
        fprintf(out, "\u2500\u2500");
    fprintf(out, "\u2518\n");
}

/* A bar of value v in [0, 1], BAR_WIDTH cells wide at 1, in eighths. */
static void print_bar(FILE *out, double v)
{
    if (!(v > 0))
        v = 0;
    if (v > 1)
        v = 1;
    int eighth_cells = (int)lround(v * BAR_WIDTH * 8);
    int full = eighth_cells / 8, part = eighth_cells % 8;
    for (int i = 0; i < full; i++)
        fprintf(out, "\u2588");
    fprintf(out, "%s", eighths[part]);
    for (int i = full + (part > 0); i < BAR_WIDTH; i++)
        fputc(' ', out);
}

void display_terminal(FILE *out, const prediction *p, int color)
{
    fprintf(out, "%s image %d", p->set_name, p->index);
    if (p->label >= 0)
        fprintf(out, ", label %d", p->label);
    fprintf(out, "\n");
    print_digit(out, p);
    fprintf(out, "  output values (%s):\n",
            p->output == OUT_SOFTMAX_XENT ? "softmax probabilities" : "sigmoid outputs");
    for (int c = 0; c < p->classes; c++) {
        int mark = c == p->guess;
        fprintf(out, "  %s%2d \u2502", mark && color ? "\033[1m" : "", c);
        print_bar(out, p->out[c]);
        fprintf(out, " %.3f%s%s\n", p->out[c], mark ? "  <- guess" : "",
                mark && color ? "\033[0m" : "");
    }
    fprintf(out, "  guessed digit %d", p->guess);
    if (p->label >= 0) {
        int ok = p->guess == p->label;
        const char *on = !color ? "" : ok ? "\033[1;32m" : "\033[1;31m";
        fprintf(out, ", label %d: %s%s%s\n", p->label, on, ok ? "CORRECT" : "INCORRECT",
                color ? "\033[0m" : "");
    } else {
        fprintf(out, " (the set has no labels)\n");
    }
}

/* Prints name = values: all of them when few, else a summary and the first ones. */
static void print_vector(FILE *out, const char *name, const char *formula, const double *v, int n)
{
    double lo = v[0], hi = v[0], sum = 0;
    int nonzero = 0;
    for (int i = 0; i < n; i++) {
        lo = v[i] < lo ? v[i] : lo;
        hi = v[i] > hi ? v[i] : hi;
        sum += v[i];
        nonzero += v[i] != 0;
    }
    int pad = 20; /* columns, so widen by the UTF-8 continuation bytes of the formula */
    for (const char *c = formula; *c; c++)
        pad += ((unsigned char)*c & 0xc0) == 0x80;
    fprintf(out, "  %-4s = %-*s %d values, min %.4g, max %.4g, mean %.4g, %d nonzero\n", name,
            pad, formula, n, lo, hi, sum / n, nonzero);
    int shown = n <= 32 ? n : 8;
    fprintf(out, "         [");
    for (int i = 0; i < shown; i++)
        fprintf(out, "%s%.3f", i ? " " : "", v[i]);
    fprintf(out, "%s]\n", shown < n ? " ..." : "");
}

void display_trace(FILE *out, const mlp_spec *spec, const mlp_trace *tr)
{
    int L = spec->n_layers;
    fprintf(out, "forward propagation (tutorial 002's x, h, ha, y, ya):\n");
    print_vector(out, "x", "pixels / 255", tr->a[0], spec->sizes[0]);
    for (int l = 0; l < L; l++) {
        char zname[16], aname[16], zf[48], af[48];
        const char *prev = l == 0 ? "x" : NULL;
        char prevbuf[16];
        if (!prev) {
            snprintf(prevbuf, sizeof prevbuf, L == 2 ? "ha" : "a%d", l);
            prev = prevbuf;
        }
        if (L == 2) { /* the tutorial's own names */
            snprintf(zname, sizeof zname, "%s", l == 0 ? "h" : "y");
            snprintf(aname, sizeof aname, "%s", l == 0 ? "ha" : "ya");
        } else {
            snprintf(zname, sizeof zname, "z%d", l + 1);
            snprintf(aname, sizeof aname, l == L - 1 ? "out" : "a%d", l + 1);
        }
        snprintf(zf, sizeof zf, "%s\u00b7W%d + b%d", prev, l, l);
        print_vector(out, zname, zf, tr->z[l + 1], spec->sizes[l + 1]);
        if (l < L - 1)
            snprintf(af, sizeof af, "%s(%s)", act_name(spec->hidden_act), zname);
        else
            snprintf(af, sizeof af, "%s(%s)",
                     spec->output == OUT_SOFTMAX_XENT ? "softmax" : "sigmoid", zname);
        print_vector(out, aname, af, l < L - 1 ? tr->a[l + 1] : tr->out, spec->sizes[l + 1]);
    }
}

/* Prints s (ASCII) cut to `cells` terminal cells, then a space and padding to them when
   more follows on the line (more), else the line's end. */
static void print_padded(FILE *out, const char *s, int cells, int more)
{
    int len = s ? (int)strlen(s) : 0;
    if (len > cells)
        len = cells;
    if (more)
        fprintf(out, "%.*s%*s ", len, s ? s : "", cells - len, "");
    else
        fprintf(out, "%.*s\n", len, s ? s : "");
}

void display_terminal_images(FILE *out, const shown_image *imgs, int n, int rows, int cols,
                             int width)
{
    int cell = 2 * cols + 2; /* the frame's width */
    int per_line = (width - 2) / (cell + 1);
    if (per_line < 1)
        per_line = 1;
    for (int first = 0; first < n; first += per_line) {
        int last = first + per_line < n ? first + per_line : n;
        fprintf(out, "  ");
        for (int k = first; k < last; k++) {
            print_padded(out, imgs[k].title, cell, k + 1 < last);
        }
        fprintf(out, "  ");
        for (int k = first; k < last; k++) {
            fprintf(out, "\u250c");
            for (int c = 0; c < cols; c++)
                fprintf(out, "\u2500\u2500");
            fprintf(out, "\u2510%s", k + 1 < last ? " " : "\n");
        }
        for (int r = 0; r < rows; r++) {
            fprintf(out, "  ");
            for (int k = first; k < last; k++) {
                fprintf(out, "\u2502");
                for (int c = 0; c < cols; c++) {
                    int v = imgs[k].image[r * cols + c];
                    const char *s = shades[v == 0 ? 0 : 1 + v * 4 / 256];
                    fprintf(out, "%s%s", s, s);
                }
                fprintf(out, "\u2502%s", k + 1 < last ? " " : "\n");
            }
        }
        fprintf(out, "  ");
        for (int k = first; k < last; k++) {
            fprintf(out, "\u2514");
            for (int c = 0; c < cols; c++)
                fprintf(out, "\u2500\u2500");
            fprintf(out, "\u2518%s", k + 1 < last ? " " : "\n");
        }
        fprintf(out, "  ");
        for (int k = first; k < last; k++) {
            print_padded(out, imgs[k].caption, cell, k + 1 < last);
        }
    }
}
