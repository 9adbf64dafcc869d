/* index.html of `mnistcl report` (report_html.h). */
#include "cli/report_html.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/output_file.h"

/* Writes s with & < > " ' as entities; bytes above 127 of text that is not UTF-8, and
   control characters, as '?'. */
static void esc(output_file *f, const char *s)
{
    int utf8 = st_is_utf8(s);
    for (const unsigned char *c = (const unsigned char *)s; *c; c++) {
        switch (*c) {
        case '&': output_printf(f, "&amp;"); break;
        case '<': output_printf(f, "&lt;"); break;
        case '>': output_printf(f, "&gt;"); break;
        case '"': output_printf(f, "&quot;"); break;
        case '\'': output_printf(f, "&#39;"); break;
        default:
            if ((*c < 0x20 && *c != '\n' && *c != '\t') || *c == 0x7f || (!utf8 && *c >= 0x80))
                output_printf(f, "?");
            else
                output_write(f, c, 1);
        }
    }
}

static const char style[] =
    "body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;max-width:1120px;"
    "margin:24px auto;padding:0 16px;color:#222;line-height:1.45}\n"
    "h1{margin-bottom:4px}h2{margin-top:36px;border-bottom:1px solid #ddd;padding-bottom:4px}\n"
    ".sub{color:#666;margin-top:0}\n"
    "table{border-collapse:collapse;margin:8px 0}\n"
    "th,td{padding:3px 10px;border-bottom:1px solid #e4e4e4;text-align:left;"
    "vertical-align:top}\n"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "tr.total td{font-weight:bold;border-top:2px solid #bbb}\n"
    "table.meta td{font-family:ui-monospace,monospace;font-size:90%;word-break:break-all}\n"
    "figure{margin:12px 0}img{max-width:100%;height:auto;border:1px solid #ddd}\n"
    "figcaption{color:#444;font-size:95%;margin-top:4px}\n"
    ".note{background:#f6f6f6;border-left:4px solid #bbb;padding:8px 12px}\n"
    "nav a{margin-right:14px}\n";

/* A figure: the image (its fixed size) and its caption. */
static void figure_html(output_file *f, const char *file, int w, int h, const char *alt,
                        const char *caption)
{
    output_printf(f, "<figure><img src=\"%s\" width=\"%d\" height=\"%d\" alt=\"", file, w, h);
    esc(f, alt);
    output_printf(f, "\"><figcaption>");
    esc(f, caption);
    output_printf(f, "</figcaption></figure>\n");
}

/* A ratio with 4 decimals, or n/a. */
static void ratio(output_file *f, double v)
{
    if (isnan(v))
        output_printf(f, "<td class=\"num\">n/a</td>");
    else
        output_printf(f, "<td class=\"num\">%.4f</td>", v);
}

/* The facts at the top: model, layers, activations, dataset, accuracy now and then. */
static void facts(output_file *f, const report_page *p)
{
    const report_stats *s = p->stats;
    char layers[256];
    mlp_format_layers(p->spec, layers, sizeof layers);
    output_printf(f, "<table class=\"facts\">\n<tr><th>model file</th><td>");
    esc(f, p->model_path);
    output_printf(f, "</td></tr>\n<tr><th>layers</th><td>%s (%zu parameters)</td></tr>\n",
                  layers, mlp_param_count(p->spec));
    if (p->spec->n_layers > 1)
        output_printf(f, "<tr><th>activation</th><td>%s between the layers, %s output</td>"
                         "</tr>\n", act_name(p->spec->hidden_act), output_name(p->spec->output));
    else
        output_printf(f, "<tr><th>activation</th><td>none (no hidden layer), %s output</td>"
                         "</tr>\n", output_name(p->spec->output));
    output_printf(f, "<tr><th>evaluated on</th><td>");
    esc(f, p->ctx->set);
    output_printf(f, " (%lld images)</td></tr>\n", s->images);
    const char *trained = st_meta_get(p->meta, "dataset");
    if (trained) {
        output_printf(f, "<tr><th>trained on</th><td>");
        esc(f, trained);
        output_printf(f, "</td></tr>\n");
    }
    output_printf(f, "<tr><th>accuracy (computed now)</th><td><b>%.2f%%</b> (%lld/%lld)"
                     "</td></tr>\n",
                  s->images ? 100.0 * s->correct / s->images : 0.0, s->correct, s->images);
    const char *recorded = st_meta_get(p->meta, "test_accuracy");
    if (recorded) {
        output_printf(f, "<tr><th>test accuracy recorded by train</th><td>");
        esc(f, recorded);
        output_printf(f, "%%</td></tr>\n");
    }
    output_printf(f, "</table>\n");
}

/* The per-class table, the accuracy as its last row. */
static void class_table(output_file *f, const report_page *p)
{
    const report_stats *s = p->stats;
    output_printf(f, "<table class=\"classes\">\n<tr><th>class</th><th class=\"num\">precision"
                     "</th><th class=\"num\">recall</th><th class=\"num\">F1</th>"
                     "<th class=\"num\">support</th></tr>\n");
    for (int c = 0; c < s->classes; c++) {
        const report_class *pc = &s->per_class[c];
        output_printf(f, "<tr><td>");
        esc(f, p->ctx->class_names[c]);
        output_printf(f, "</td>");
        ratio(f, pc->precision);
        ratio(f, pc->recall);
        ratio(f, pc->f1);
        output_printf(f, "<td class=\"num\">%lld</td></tr>\n", pc->support);
    }
    output_printf(f, "<tr class=\"total\"><td>accuracy</td><td colspan=\"3\" class=\"num\">"
                     "%.4f</td><td class=\"num\">%lld</td></tr>\n</table>\n",
                  s->images ? (double)s->correct / s->images : 0.0, s->images);
}

/* The metadata pairs the model file holds. */
static void meta_table(output_file *f, const st_file *meta)
{
    if (!meta->n_meta) {
        output_printf(f, "<p class=\"note\">The model file holds no metadata.</p>\n");
        return;
    }
    output_printf(f, "<table class=\"meta\">\n<tr><th>key</th><th>value</th></tr>\n");
    for (int i = 0; i < meta->n_meta; i++) {
        output_printf(f, "<tr><td>");
        esc(f, meta->meta[i].key);
        output_printf(f, "</td><td>");
        esc(f, meta->meta[i].value);
        output_printf(f, "</td></tr>\n");
    }
    output_printf(f, "</table>\n");
}

/* The page's sections, in order. */
static void body(output_file *f, const report_page *p)
{
    const report_stats *s = p->stats;
    const report_context *c = p->ctx;
    char text[1200];
    output_printf(f, "<h1>Report on ");
    esc(f, c->model);
    output_printf(f, "</h1>\n<p class=\"sub\">written by <code>mnistcl report</code> "
                     "(mnistcl %s)</p>\n", MNISTCL_VERSION);
    facts(f, p);
    output_printf(f, "<nav><a href=\"#curves\">learning curves</a><a href=\"#confusion\">"
                     "confusion matrix</a><a href=\"#classes\">per class</a><a href=\"#mistakes\">"
                     "mistakes</a><a href=\"#weights\">weights</a><a href=\"#metadata\">"
                     "metadata</a></nav>\n");

    output_printf(f, "<h2 id=\"curves\">Learning curves</h2>\n");
    if (!p->curves_note) {
        char sets[64] = "";
        int present[LOG_SETS] = {0}, n_sets = 0, written = 0;
        for (int i = 0; i < p->log->n; i++)
            for (int k = 0; k < LOG_SETS; k++) {
                const log_epoch *e = &p->log->epochs[i];
                present[k] |= isfinite(e->loss[k]) || isfinite(e->accuracy[k]);
            }
        for (int k = 0; k < LOG_SETS; k++)
            n_sets += present[k];
        for (int k = 0; k < LOG_SETS; k++) {
            if (!present[k])
                continue;
            size_t len = strlen(sets);
            snprintf(sets + len, sizeof sets - len, "%s%s",
                     !written ? "" : written == n_sets - 1 ? " and " : ", ", log_set_names[k]);
            written++;
        }
        snprintf(text, sizeof text,
                 "Mean loss and accuracy after each of the %d epochs the log %s records: %s%s.",
                 p->log->n, p->log_path, n_sets ? "the sets it measured, " : "it measured no set",
                 sets);
        figure_html(f, "learning_curves.png", REPORT_CURVES_W, REPORT_CURVES_H,
                    "learning curves", text);
    } else {
        output_printf(f, "<p class=\"note\">No learning curves: ");
        esc(f, p->curves_note);
        output_printf(f, "</p>\n");
    }

    output_printf(f, "<h2 id=\"confusion\">Confusion matrix</h2>\n");
    snprintf(text, sizeof text,
             "Rows are the true classes, columns the network's answers: cell (r, c) counts the "
             "images of class r the network called c, so the diagonal holds the %lld right "
             "answers. Colour by count on a log scale. The counts are in confusion.csv.",
             s->correct);
    figure_html(f, "confusion.png", REPORT_CONFUSION_W, REPORT_CONFUSION_H, "confusion matrix",
                text);

    output_printf(f, "<h2 id=\"classes\">Precision, recall and F1 per class</h2>\n");
    figure_html(f, "per_class.png", REPORT_PER_CLASS_W, REPORT_PER_CLASS_H, "per-class scores",
                "Precision: the share right of the images the network gave the class. Recall: "
                "the share of the class's images it recognised. F1: their harmonic mean. The "
                "dashed line is the overall accuracy. The same numbers are in per_class.csv.");
    class_table(f, p);

    output_printf(f, "<h2 id=\"mistakes\">Most confident mistakes</h2>\n");
    snprintf(text, sizeof text,
             "The %d wrong answers (of %lld) the network was surest of, most confident first: "
             "each image with its true class, the guess and the guess's output value, and its "
             "index in the set (mnistcl predict --index N shows it).",
             s->n_mistakes, s->wrong);
    figure_html(f, "mistakes.png", REPORT_GALLERY_W, report_mistakes_height(s->n_mistakes),
                "most confident mistakes", text);

    output_printf(f, "<h2 id=\"weights\">First layer weights</h2>\n");
    if (!p->weights_note) {
        if (p->weights_shown < p->weights_units)
            snprintf(text, sizeof text,
                     "The weights into units 0 to %d (the first %d of %d) of the first layer, "
                     "each unit's as an image: ",
                     p->weights_shown - 1, p->weights_shown, p->weights_units);
        else
            snprintf(text, sizeof text,
                     "The weights into each of the first layer's %d units, as an image: ",
                     p->weights_units);
        size_t n = strlen(text);
        snprintf(text + n, sizeof text - n,
                 "red pixels push the unit up, blue ones down, each tile scaled by its own "
                 "largest |weight|.");
        figure_html(f, "weights.png", REPORT_GALLERY_W, report_weights_height(p->weights_shown),
                    "first layer weights", text);
    } else {
        output_printf(f, "<p class=\"note\">No weights figure: ");
        esc(f, p->weights_note);
        output_printf(f, "</p>\n");
    }

    output_printf(f, "<h2 id=\"metadata\">Model metadata</h2>\n");
    meta_table(f, p->meta);
}

mc_status report_write_html(const char *path, const report_page *p, mc_error *err)
{
    output_file f;
    mc_status st = output_begin(&f, path, err);
    if (st)
        return st;
    output_printf(&f, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n"
                      "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n"
                      "<title>mnistcl report: ");
    esc(&f, p->ctx->model);
    output_printf(&f, "</title>\n<style>\n%s</style>\n</head>\n<body>\n", style);
    body(&f, p);
    output_printf(&f, "</body>\n</html>\n");
    return output_commit(&f, err);
}
