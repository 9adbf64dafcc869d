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

#endif
