/*
 * The figures of `mnistcl report` (docs/REPORT.md shows each), drawn with cairo: their
 * sizes, fixed here so that tests and pages can rely on them, and the functions that
 * draw them (MNISTCL_HAVE_CAIRO builds only). Every figure has a title and, under it, a
 * subtitle naming the model (its file name) and what was measured.
 */
#ifndef MNISTCL_REPORT_FIGURES_H
#define MNISTCL_REPORT_FIGURES_H

#include "cli/report_log.h"
#include "cli/report_stats.h"
#include "mnistcl/dataset.h"
#include "mnistcl/status.h"

/* learning_curves.png: loss and accuracy per epoch, two panels side by side */
#define REPORT_CURVES_W 1100
#define REPORT_CURVES_H 480
/* confusion.png: the heat map with its colour bar */
#define REPORT_CONFUSION_W 820
#define REPORT_CONFUSION_H 780
/* per_class.png: precision, recall and F1 as grouped bars */
#define REPORT_PER_CLASS_W 1100
#define REPORT_PER_CLASS_H 500
/* mistakes.png and weights.png: galleries REPORT_GALLERY_W wide, as tall as their rows */
#define REPORT_GALLERY_W 1040
#define REPORT_MISTAKES_PER_ROW 8
#define REPORT_MISTAKES_TOP 80     /* title and subtitle */
#define REPORT_MISTAKES_ROW_H 165  /* an image (fitted into 96 x 96) and four lines */
#define REPORT_MISTAKES_BOTTOM 16
#define REPORT_WEIGHTS_PER_ROW 10
#define REPORT_WEIGHTS_MAX 100     /* tiles shown at most: the first layer's first units */
#define REPORT_WEIGHTS_TOP 80
#define REPORT_WEIGHTS_ROW_H 112   /* a label and a tile (fitted into 84 x 84) */
#define REPORT_WEIGHTS_BOTTOM 80   /* the colour bar */

/** Height of mistakes.png showing n mistakes (one row for the note when n is 0). */
static inline int report_mistakes_height(int n)
{
    int rows = n > 0 ? (n + REPORT_MISTAKES_PER_ROW - 1) / REPORT_MISTAKES_PER_ROW : 1;
    return REPORT_MISTAKES_TOP + rows * REPORT_MISTAKES_ROW_H + REPORT_MISTAKES_BOTTOM;
}

/** Height of weights.png showing n tiles (n >= 1). */
static inline int report_weights_height(int n)
{
    int rows = (n + REPORT_WEIGHTS_PER_ROW - 1) / REPORT_WEIGHTS_PER_ROW;
    return REPORT_WEIGHTS_TOP + rows * REPORT_WEIGHTS_ROW_H + REPORT_WEIGHTS_BOTTOM;
}

/** What every figure names: the model and the set it was measured on. */
typedef struct {
    const char *model;             /* the model's file name, displayable (report_text) */
    const char *set;               /* e.g. "the mnist test set", displayable */
    int classes;
    const char *const *class_names; /* classes names */
} report_context;

#ifdef MNISTCL_HAVE_CAIRO

/**
 * learning_curves.png: mean loss (left) and accuracy in % (right) per epoch of log
 * (log->n >= 1), one line with markers per set the log measures (train, validation,
 * test), points only where measured, a legend; log_name (displayable) in the subtitle.
 */
mc_status report_draw_curves(const char *path, const report_context *c, const char *log_name,
                             const train_log *log, mc_error *err);

/**
 * confusion.png: the confusion matrix of s as a heat map (rows the true class, columns
 * the predicted one, class names on both axes, every cell's count), coloured by the
 * count on a log scale ('Blues'), with its colour bar.
 */
mc_status report_draw_confusion(const char *path, const report_context *c,
                                const report_stats *s, mc_error *err);

/**
 * per_class.png: each class's precision, recall and F1 (s->per_class) as grouped bars
 * on 0..1, with the overall accuracy as a dashed line; a ratio that is not defined (no
 * image of the class, or none called it) is marked n/a.
 */
mc_status report_draw_per_class(const char *path, const report_context *c,
                                const report_stats *s, mc_error *err);

/**
 * mistakes.png: s's kept mistakes, most confident first, row by row, each image of set
 * with its rank and index, its true class and the guess with the guess's output value.
 */
mc_status report_draw_mistakes(const char *path, const report_context *c,
                               const report_stats *s, const dataset *set, mc_error *err);

/**
 * weights.png: the first `shown` (1..REPORT_WEIGHTS_MAX) of the first layer's `units`
 * units as rows x cols tiles, tile j holding w[i * units + j] at pixel i (the layer's
 * weights, mlp.h's layout, rows * cols inputs), each scaled by its own largest |weight|
 * on the diverging map (blue negative, white 0, red positive). unit_names (or NULL:
 * "unit J") label the tiles.
 */
mc_status report_draw_weights(const char *path, const report_context *c, const float *w,
                              int units, int shown, int rows, int cols,
                              const char *const *unit_names, mc_error *err);

#endif

#endif
