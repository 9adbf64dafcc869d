/*
 * What `mnistcl report` measures over a labelled set: the confusion matrix, each class's
 * precision, recall and F1, and the most confident mistakes; and the classes' names.
 */
#ifndef MNISTCL_REPORT_STATS_H
#define MNISTCL_REPORT_STATS_H

#include <stddef.h>
#include <stdint.h>

#include "mnistcl/status.h"

/** One wrong answer: the image, what it is, what the network said and how surely. */
typedef struct {
    int index;        /* position in the set (0-based) */
    int label, guess; /* true class, the network's (argmax) */
    float confidence; /* the guess's output value (softmax probability or sigmoid) */
} report_mistake;

/** One class's figures; a ratio whose denominator is 0 is NAN (shown as n/a). */
typedef struct {
    double precision; /* right among the images the network called this class */
    double recall;    /* right among the images of this class */
    double f1;        /* 2 P R / (P + R); NAN when either is NAN, 0 when both are 0 */
    long long support; /* images of this class */
    long long predicted; /* images the network called this class */
} report_class;

typedef struct {
    int classes;
    long long *confusion;    /* classes x classes: [true * classes + predicted] */
    long long images, correct;
    report_class *per_class; /* classes entries, set by report_stats_finish */
    report_mistake *mistakes; /* the most confident, most confident first */
    int n_mistakes, max_mistakes;
    long long wrong;         /* all the mistakes, shown or not */
} report_stats;

/** Zeroes s for `classes` classes keeping up to max_mistakes mistakes. MC_ERR_NOMEM. */
mc_status report_stats_init(report_stats *s, int classes, int max_mistakes, mc_error *err);

/**
 * Counts image `index` of true class label (0 <= label < classes) whose outputs are out
 * (classes values): its guess is the largest output (the first of equal ones); a wrong
 * guess is kept when it is among the max_mistakes most confident so far (ties: the
 * lower index first).
 */
void report_stats_add(report_stats *s, int index, int label, const float *out);

/** Computes per_class from the confusion matrix. */
void report_stats_finish(report_stats *s);

/** Frees the arrays and zeroes s. */
void report_stats_free(report_stats *s);

/**
 * The name of class c of a dataset ("mnist" or "fashion"): Fashion-MNIST's ten names
 * ("T-shirt/top", ..., "Ankle boot") for fashion with 10 classes, else the number, into
 * buf (len bytes); returns buf.
 */
const char *report_class_name(const char *dataset, int classes, int c, char *buf, int len);

/**
 * Copies text into buf (len >= 4 bytes) as something a figure or a web page can show:
 * well-formed UTF-8 as it is, other text with every byte above 127 as '?'; cut at a
 * character's start (with "...") when it does not fit. Returns buf.
 */
const char *report_text(const char *text, char *buf, size_t len);

#endif
