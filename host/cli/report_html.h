/* index.html of `mnistcl report`: one self-contained page that shows the report. */
#ifndef MNISTCL_REPORT_HTML_H
#define MNISTCL_REPORT_HTML_H

#include "cli/report_figures.h"
#include "cli/report_log.h"
#include "cli/report_stats.h"
#include "mnistcl/mlp.h"
#include "mnistcl/safetensors.h"
#include "mnistcl/status.h"

/** Everything the page says. Strings are as they come (the page escapes them). */
typedef struct {
    const char *model_path;       /* --model as given */
    const report_context *ctx;    /* the model's name, the set, the class names */
    const mlp_spec *spec;
    const st_file *meta;          /* the model's metadata (every pair is listed) */
    const report_stats *stats;
    const char *log_path;         /* --log, or NULL */
    const train_log *log;         /* its records (none without --log) */
    const char *curves_note;      /* NULL: learning_curves.png is there; else why not */
    int weights_shown, weights_units;
    const char *weights_note;     /* NULL: weights.png is there; else why not */
} report_page;

/**
 * Writes the page to path (atomically, output_file.h): the model's name, layers,
 * activations, dataset, the accuracy measured now, each figure (relative links to its
 * PNG, the size of report_figures.h) with a caption or the reason it is missing, the
 * per-class table, the metadata table. Inline CSS, no scripts; every string escaped.
 */
mc_status report_write_html(const char *path, const report_page *p, mc_error *err);

#endif
