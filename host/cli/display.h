/* How `predict` shows the network's answer: in the terminal, and as tutorial 002's figure. */
#ifndef MNISTCL_DISPLAY_H
#define MNISTCL_DISPLAY_H

#include <stdio.h>

#include "mnistcl/mlp.h"

/** One image and what the network made of it. */
typedef struct {
    const unsigned char *image; /* rows * cols pixels, 0 = background */
    int rows, cols;
    int index;                  /* position in its set */
    const char *set_name;       /* "test", "train" or a file name */
    int label;                  /* -1 when the set has no labels */
    const double *out;          /* the output values (softmax probabilities or sigmoids) */
    int classes;
    output_kind output;
    int guess;                  /* argmax of out */
} prediction;

/**
 * Prints the digit with Unicode shading (two characters per pixel), the output values as
 * a horizontal bar chart, the guess, the label and CORRECT/INCORRECT (in green/red when
 * color is set).
 */
void display_terminal(FILE *out, const prediction *p, int color);

/** Prints every layer's pre- and post-activation values (tutorial 002's forward_propagation). */
void display_trace(FILE *out, const mlp_spec *spec, const mlp_trace *tr);

/**
 * Writes tutorial 002's figure as a PNG: the digit (labelled "Label = y") beside a bar
 * chart of the outputs (titled "Guessed digit = g"), under a CORRECT (green) or INCORRECT
 * (red) title. MC_ERR_IO on write failure; MC_ERR_RUNTIME in a build without cairo.
 */
mc_status display_png(const char *path, const prediction *p, mc_error *err);

/** One image of a row or grid of images, with a title above it and a caption under it. */
typedef struct {
    const unsigned char *image; /* rows * cols pixels, 0 = background */
    const char *title;          /* or NULL */
    const char *caption;        /* or NULL */
} shown_image;

/**
 * Prints n images of rows x cols side by side, each framed and shaded as
 * display_terminal's digit (two characters per pixel), its title above and its caption
 * under it; as many as fit in `width` columns on a line (at least one), the others on the
 * lines after.
 */
void display_terminal_images(FILE *out, const shown_image *imgs, int n, int rows, int cols,
                             int width);

/* The layout of display_png_grid, in pixels: each image drawn SCALE = max(1, 112 /
   max(rows, cols)) pixels a pixel, in a cell max(cols·SCALE, 96) wide with a line of text
   above and under it, ceil(sqrt(n)) cells a row. */
#define GRID_PAD 8
#define GRID_HEADER 44
#define GRID_LABEL 16

/**
 * The size of display_png_grid's figure: GRID_PAD + g (cell_w + GRID_PAD) wide and
 * GRID_HEADER + r (2 GRID_LABEL + rows·SCALE + GRID_PAD) + GRID_PAD high, for g =
 * ceil(sqrt(n)) cells a row and r = ceil(n / g) rows of cells (see above).
 */
void display_png_grid_size(int n, int rows, int cols, int *width, int *height);

/**
 * Writes n images of rows x cols as one PNG grid (display_png_grid_size) under `title`
 * (two lines, split at a newline, each drawn smaller if it would not fit), each image in
 * matplotlib's 'Greys' map with its title and caption. MC_ERR_USAGE when the grid
 * would be wider or taller than cairo draws (32767 pixels); MC_ERR_IO on write failure;
 * MC_ERR_RUNTIME in a build without cairo.
 */
mc_status display_png_grid(const char *path, const char *title, const shown_image *imgs, int n,
                           int rows, int cols, mc_error *err);

#endif
