/* The five figures of `mnistcl report` (report_figures.h); cairo builds only. */
#ifdef MNISTCL_HAVE_CAIRO

#include "cli/report_figures.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cli/report_draw.h"

/* matplotlib's first three colours (tab:blue, tab:orange, tab:green) */
static const double set_colour[3][3] = {
    {0.122, 0.467, 0.706}, {1.000, 0.498, 0.055}, {0.173, 0.627, 0.173}};

static void set_rgb(cairo_t *cr, const double rgb[3])
{
    cairo_set_source_rgb(cr, rgb[0], rgb[1], rgb[2]);
}

/* ---- learning curves -------------------------------------------------------------------- */

/* A marker of shape k (0 circle, 1 square, 2 triangle) centred on (x, y). */
static void marker(cairo_t *cr, int k, double x, double y)
{
    if (k == 0) {
        cairo_new_sub_path(cr);
        cairo_arc(cr, x, y, 3.6, 0, 2 * REPORT_PI);
    } else if (k == 1) {
        cairo_rectangle(cr, x - 3.3, y - 3.3, 6.6, 6.6);
    } else {
        cairo_move_to(cr, x, y - 4.4);
        cairo_line_to(cr, x + 4.2, y + 3.2);
        cairo_line_to(cr, x - 4.2, y + 3.2);
        cairo_close_path(cr);
    }
    cairo_fill(cr);
}

/* Value of set k in record e for the loss (acc 0) or the accuracy in % (acc 1). */
static double curve_value(const log_epoch *e, int k, int acc)
{
    return acc ? 100 * e->accuracy[k] : e->loss[k];
}

/* One panel: every set's line and markers on the axes (xs, ys), clipped to the box. */
static void draw_panel(cairo_t *cr, const train_log *log, int acc, const scale *xs,
                       const scale *ys)
{
    cairo_save(cr);
    cairo_rectangle(cr, xs->p0, ys->p1, xs->p1 - xs->p0, ys->p0 - ys->p1);
    cairo_clip(cr);
    for (int k = 0; k < LOG_SETS; k++) {
        set_rgb(cr, set_colour[k]);
        cairo_set_line_width(cr, 2);
        int drawn = 0;
        for (int i = 0; i < log->n; i++) {
            double v = curve_value(&log->epochs[i], k, acc);
            if (!isfinite(v))
                continue;
            double x = scale_at(xs, log->epochs[i].epoch), y = scale_at(ys, v);
            if (drawn++)
                cairo_line_to(cr, x, y);
            else
                cairo_move_to(cr, x, y);
        }
        cairo_stroke(cr);
        for (int i = 0; i < log->n; i++) {
            double v = curve_value(&log->epochs[i], k, acc);
            if (isfinite(v))
                marker(cr, k, scale_at(xs, log->epochs[i].epoch), scale_at(ys, v));
        }
    }
    cairo_restore(cr);
    cairo_set_line_width(cr, 1);
}

/* The y range of a panel: from 0 (losses) or near the lowest value (accuracies) to a
   whole step above the highest, and its tick step; *any set when a value is finite. */
static void panel_range(const train_log *log, int acc, double *lo, double *hi, double *step,
                        int *any)
{
    double mn = INFINITY, mx = -INFINITY;
    for (int i = 0; i < log->n; i++)
        for (int k = 0; k < LOG_SETS; k++) {
            double v = curve_value(&log->epochs[i], k, acc);
            if (isfinite(v))
                mn = v < mn ? v : mn, mx = v > mx ? v : mx;
        }
    *any = isfinite(mn);
    if (!*any)
        mn = 0, mx = acc ? 100 : 1;
    if (!acc) {
        mx = mx > 0 ? mx : 1;
        *step = nice_step(mx * 1.05, 5, 0);
        *lo = 0;
        *hi = ceil(mx * 1.05 / *step) * *step;
        return;
    }
    double span = mx - mn < 1 ? 1 : mx - mn, mid = (mx + mn) / 2;
    if (mx - mn < 1)
        mn = mid - 0.5, mx = mid + 0.5;
    *step = nice_step(span * 1.1, 5, 0);
    *lo = floor((mn - 0.05 * span) / *step) * *step;
    *hi = ceil((mx + 0.05 * span) / *step) * *step;
    *lo = *lo < 0 ? 0 : *lo;
    *hi = *hi > 100 && mx <= 100 ? 100 : *hi;
}

/* The tick format for a step: as many decimals as it needs. */
static const char *tick_format(double step)
{
    return step >= 1 ? "%.0f" : step >= 0.1 ? "%.1f" : step >= 0.01 ? "%.2f" : "%.3g";
}

/* The legend: a line and marker per measured set, centred on one row at y. */
static void curves_legend(cairo_t *cr, const int present[LOG_SETS], double cx, double y)
{
    double total = 0, gap = 28;
    draw_font(cr, 13, 0);
    for (int k = 0; k < LOG_SETS; k++)
        if (present[k])
            total += 34 + text_width(cr, log_set_names[k]) + gap;
    double x = cx - (total - gap) / 2;
    for (int k = 0; k < LOG_SETS; k++) {
        if (!present[k])
            continue;
        set_rgb(cr, set_colour[k]);
        cairo_set_line_width(cr, 2);
        cairo_move_to(cr, x, y - 4);
        cairo_line_to(cr, x + 26, y - 4);
        cairo_stroke(cr);
        marker(cr, k, x + 13, y - 4);
        cairo_set_source_rgb(cr, 0, 0, 0);
        draw_text(cr, x + 34, y, 0, log_set_names[k]);
        x += 34 + text_width(cr, log_set_names[k]) + gap;
    }
    cairo_set_line_width(cr, 1);
}

mc_status report_draw_curves(const char *path, const report_context *c, const char *log_name,
                             const train_log *log, mc_error *err)
{
    figure f;
    figure_begin(&f, REPORT_CURVES_W, REPORT_CURVES_H);
    cairo_t *cr = f.cr;
    char sub[600];
    snprintf(sub, sizeof sub, "model %s, log %s: %d epoch%s", c->model, log_name, log->n,
             log->n == 1 ? "" : "s");
    draw_title(&f, "Learning curves", sub);
    int present[LOG_SETS] = {0}, any_set = 0;
    for (int i = 0; i < log->n; i++)
        for (int k = 0; k < LOG_SETS; k++)
            if (isfinite(log->epochs[i].loss[k]) || isfinite(log->epochs[i].accuracy[k]))
                present[k] = any_set = 1;
    curves_legend(cr, present, f.w / 2.0, 80);
    int first = log->epochs[0].epoch, last = log->epochs[log->n - 1].epoch;
    double pad = last - first > 16 ? (last - first) * 0.03 : 0.5;
    const double left[2] = {90, 650}, width = 420, top = 100, bottom = 405;
    static const char *const ylabels[2] = {"mean loss", "accuracy (%)"};
    static const char *const headings[2] = {"loss", "accuracy"};
    for (int acc = 0; acc < 2; acc++) {
        scale xs = {first - pad, last + pad, left[acc], left[acc] + width};
        double lo, hi, step;
        int any;
        panel_range(log, acc, &lo, &hi, &step, &any);
        scale ys = {lo, hi, bottom, top};
        draw_axes(cr, &xs, nice_step(last - first + 1, 10, 1), &ys, step, tick_format(step),
                  "epoch", ylabels[acc]);
        draw_panel(cr, log, acc, &xs, &ys);
        draw_font(cr, 13, 1);
        draw_text(cr, left[acc] + width / 2, top - 6, 0.5, headings[acc]);
        if (!any) {
            draw_font(cr, 14, 0);
            cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
            draw_text(cr, left[acc] + width / 2, (top + bottom) / 2, 0.5,
                      any_set ? "not measured in this log" : "the log measures no set");
            cairo_set_source_rgb(cr, 0, 0, 0);
        }
    }
    return figure_save(&f, path, err);
}

/* ---- confusion matrix -------------------------------------------------------------------- */

/* The colour scale of the heat map: log(1 + count) / log(1 + max), 0..1. */
static double count_t(long long count, long long max)
{
    return max > 0 ? log1p((double)count) / log1p((double)max) : 0;
}

/* The vertical colour bar at (x, y0..y1) for counts 0..max, ticks at 0 and powers of ten. */
static void confusion_colour_bar(cairo_t *cr, double x, double y0, double y1, long long max)
{
    const double w = 18;
    for (int i = 0; i < (int)(y1 - y0); i++) {
        double rgb[3];
        cmap_blues(1 - (i + 0.5) / (y1 - y0), rgb);
        set_rgb(cr, rgb);
        cairo_rectangle(cr, x, y0 + i, w, 1);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, x + 0.5, y0 + 0.5, w - 1, y1 - y0 - 1);
    cairo_stroke(cr);
    draw_font(cr, 11, 0);
    char label[32];
    double last_y = 1e9;
    for (long long v = 0; v <= max; v = v ? v * 10 : 1) {
        double y = y1 - count_t(v, max) * (y1 - y0);
        cairo_move_to(cr, x + w, round(y) + 0.5);
        cairo_line_to(cr, x + w + 4, round(y) + 0.5);
        cairo_stroke(cr);
        snprintf(label, sizeof label, "%lld", v);
        draw_text(cr, x + w + 7, y + 4, 0, label);
        last_y = y;
        if (v > max / 10)
            break;
    }
    if (max > 0 && last_y - y0 > 14) { /* the top: max itself */
        snprintf(label, sizeof label, "%lld", max);
        draw_text(cr, x + w + 7, y0 + 4, 0, label);
    }
    draw_font(cr, 12, 0);
    draw_text(cr, x + w / 2, y0 - 10, 0.5, "images");
}

mc_status report_draw_confusion(const char *path, const report_context *c,
                                const report_stats *s, mc_error *err)
{
    figure f;
    figure_begin(&f, REPORT_CONFUSION_W, REPORT_CONFUSION_H);
    cairo_t *cr = f.cr;
    int k = s->classes;
    char sub[600];
    snprintf(sub, sizeof sub, "model %s on %s: %lld/%lld right (%.2f%%); colour: count, log scale",
             c->model, c->set, s->correct, s->images,
             s->images ? 100.0 * s->correct / s->images : 0.0);
    draw_title(&f, "Confusion matrix", sub);
    const double x0 = 150, y0 = 90, side = 560, cell = side / k;
    long long max = 0;
    for (int i = 0; i < k * k; i++)
        max = s->confusion[i] > max ? s->confusion[i] : max;
    double fsize = cell * 0.3 < 13 ? cell * 0.3 : 13;
    for (int r = 0; r < k; r++)
        for (int q = 0; q < k; q++) {
            long long n = s->confusion[(size_t)r * k + q];
            double rgb[3], t = count_t(n, max), x = x0 + q * cell, y = y0 + r * cell;
            cmap_blues(t, rgb);
            set_rgb(cr, rgb);
            cairo_rectangle(cr, x, y, cell + 0.5, cell + 0.5);
            cairo_fill(cr);
            if (fsize < 5)
                continue; /* too small to read: the colour alone, the counts in the CSV */
            char text[24];
            snprintf(text, sizeof text, "%lld", n);
            if (n == 0)
                cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
            else if (t > 0.6)
                cairo_set_source_rgb(cr, 1, 1, 1);
            else
                cairo_set_source_rgb(cr, 0, 0, 0);
            draw_text_fit(cr, x + cell / 2, y + cell / 2 + fsize * 0.36, 0.5, text, fsize,
                          r == q, cell - 4);
        }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, x0 + 0.5, y0 + 0.5, side - 1, side - 1);
    cairo_stroke(cr);
    /* class names: rows left of the matrix, columns under it (turned when too wide) */
    draw_font(cr, 12, 0);
    int every = cell >= 12 ? 1 : (int)ceil(12 / cell);
    double widest = 0;
    for (int q = 0; q < k; q++)
        widest = fmax(widest, text_width(cr, c->class_names[q]));
    int turned = widest > cell - 6;
    for (int i = 0; i < k; i += every) {
        double mid = i * cell + cell / 2;
        draw_text_fit(cr, x0 - 8, y0 + mid + 4, 1, c->class_names[i], 12, 0, x0 - 50);
        if (turned) {
            draw_font(cr, 12, 0);
            draw_text_rotated(cr, x0 + mid + 4, y0 + side + 10, -REPORT_PI / 4, 1,
                              c->class_names[i]);
        } else {
            draw_text(cr, x0 + mid, y0 + side + 18, 0.5, c->class_names[i]);
        }
    }
    double below = turned ? 10 + fmin(widest, 120) * 0.72 + 28 : 46;
    draw_font(cr, 14, 1);
    draw_text(cr, x0 + side / 2, y0 + side + below, 0.5, "predicted class");
    draw_text_rotated(cr, fmax(22, x0 - 8 - fmin(widest, x0 - 50) - 16), y0 + side / 2,
                      -REPORT_PI / 2, 0.5, "true class");
    confusion_colour_bar(cr, x0 + side + 25, y0, y0 + side, max);
    return figure_save(&f, path, err);
}

/* ---- per-class precision, recall, F1 ------------------------------------------------------ */

mc_status report_draw_per_class(const char *path, const report_context *c,
                                const report_stats *s, mc_error *err)
{
    figure f;
    figure_begin(&f, REPORT_PER_CLASS_W, REPORT_PER_CLASS_H);
    cairo_t *cr = f.cr;
    int k = s->classes;
    double accuracy = s->images ? (double)s->correct / s->images : 0;
    char sub[600];
    snprintf(sub, sizeof sub, "model %s on %s (%lld images)", c->model, c->set, s->images);
    draw_title(&f, "Precision, recall and F1 per class", sub);
    const double x0 = 90, x1 = 1070, top = 100, bottom = 390;
    scale xs = {0, k, x0, x1}, ys = {0, 1, bottom, top};
    draw_axes(cr, &xs, 0, &ys, 0.2, "%.1f", NULL, "score");
    static const char *const names[3] = {"precision", "recall", "F1"};
    /* the overall accuracy, dashed, behind the bars */
    double ay = round(scale_at(&ys, accuracy)) + 0.5, dash[2] = {6, 4};
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_dash(cr, dash, 2, 0);
    cairo_move_to(cr, x0, ay);
    cairo_line_to(cr, x1, ay);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    double group = (x1 - x0) / k, bar = group * 0.8 / 3;
    for (int q = 0; q < k; q++) {
        const report_class *pc = &s->per_class[q];
        const double v[3] = {pc->precision, pc->recall, pc->f1};
        for (int m = 0; m < 3; m++) {
            double bx = x0 + q * group + group * 0.1 + m * bar, top_y = scale_at(&ys, v[m]);
            if (isnan(v[m])) {
                cairo_set_source_rgb(cr, 0.4, 0.4, 0.4);
                draw_font(cr, bar > 14 ? 9 : 6, 0);
                draw_text_rotated(cr, bx + bar / 2 + 3, bottom - 4, -REPORT_PI / 2, 0, "n/a");
                continue;
            }
            set_rgb(cr, set_colour[m]);
            cairo_rectangle(cr, bx, top_y, bar - (bar > 4 ? 1 : 0), bottom - top_y);
            cairo_fill(cr);
            if (bar >= 14 && bottom - top_y > 40) { /* the value, up the bar's top */
                char text[16];
                snprintf(text, sizeof text, "%.3f", v[m]);
                cairo_set_source_rgb(cr, 1, 1, 1);
                draw_font(cr, bar >= 20 ? 11 : 9, 0);
                draw_text_rotated(cr, bx + bar / 2 + 4, top_y + 5, -REPORT_PI / 2, 1, text);
            }
        }
    }
    /* class names under the groups (turned when too wide) and the x label */
    draw_font(cr, 12, 0);
    int every = group >= 12 ? 1 : (int)ceil(12 / group);
    double widest = 0;
    for (int q = 0; q < k; q++)
        widest = fmax(widest, text_width(cr, c->class_names[q]));
    int turned = widest > group - 4;
    cairo_set_source_rgb(cr, 0, 0, 0);
    for (int q = 0; q < k; q += every) {
        double mid = x0 + (q + 0.5) * group;
        if (turned)
            draw_text_rotated(cr, mid + 4, bottom + 10, -REPORT_PI / 6, 1, c->class_names[q]);
        else
            draw_text(cr, mid, bottom + 18, 0.5, c->class_names[q]);
    }
    draw_font(cr, 14, 0);
    draw_text(cr, (x0 + x1) / 2, bottom + (turned ? 20 + fmin(widest, 150) * 0.5 + 14 : 46),
              0.5, "class");
    /* the legend, centred under the subtitle */
    char acc_label[64];
    snprintf(acc_label, sizeof acc_label, "accuracy %.2f%%", 100 * accuracy);
    draw_font(cr, 13, 0);
    double total = 0, gap = 26;
    for (int m = 0; m < 3; m++)
        total += 20 + text_width(cr, names[m]) + gap;
    total += 32 + text_width(cr, acc_label);
    double lx = f.w / 2.0 - total / 2, ly = 80;
    for (int m = 0; m < 3; m++) {
        set_rgb(cr, set_colour[m]);
        cairo_rectangle(cr, lx, ly - 11, 14, 12);
        cairo_fill(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        draw_text(cr, lx + 20, ly, 0, names[m]);
        lx += 20 + text_width(cr, names[m]) + gap;
    }
    cairo_set_source_rgb(cr, 0.2, 0.2, 0.2);
    cairo_set_dash(cr, dash, 2, 0);
    cairo_move_to(cr, lx, ly - 4.5);
    cairo_line_to(cr, lx + 26, ly - 4.5);
    cairo_stroke(cr);
    cairo_set_dash(cr, NULL, 0, 0);
    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_text(cr, lx + 32, ly, 0, acc_label);
    return figure_save(&f, path, err);
}

/* ---- the most confident mistakes --------------------------------------------------------- */

mc_status report_draw_mistakes(const char *path, const report_context *c,
                               const report_stats *s, const dataset *set, mc_error *err)
{
    figure f;
    figure_begin(&f, REPORT_GALLERY_W, report_mistakes_height(s->n_mistakes));
    cairo_t *cr = f.cr;
    char sub[600];
    snprintf(sub, sizeof sub,
             "model %s on %s: the %d of its %lld wrong answers it was surest of (output: the "
             "guess's output value)",
             c->model, c->set, s->n_mistakes, s->wrong);
    draw_title(&f, "Most confident mistakes", sub);
    const double cell_w = (REPORT_GALLERY_W - 32.0) / REPORT_MISTAKES_PER_ROW, box = 96;
    double zoom = tile_zoom(set->rows, set->cols, box);
    if (s->n_mistakes == 0) {
        draw_font(cr, 16, 0);
        draw_text(cr, f.w / 2.0, REPORT_MISTAKES_TOP + REPORT_MISTAKES_ROW_H / 2.0, 0.5,
                  s->images ? "no mistakes: every image was classified right"
                            : "no images were classified");
    }
    for (int i = 0; i < s->n_mistakes; i++) {
        const report_mistake *m = &s->mistakes[i];
        double x = 16 + (i % REPORT_MISTAKES_PER_ROW) * cell_w;
        double y = REPORT_MISTAKES_TOP + (i / REPORT_MISTAKES_PER_ROW) * REPORT_MISTAKES_ROW_H;
        double iw = set->cols * zoom, ih = set->rows * zoom;
        draw_grey_tile(&f, set->images + (size_t)m->index * set->rows * set->cols, set->rows,
                       set->cols, x + (cell_w - iw) / 2, y + 4 + (box - ih) / 2, zoom);
        char line[128];
        double ty = y + box + 19, mid = x + cell_w / 2;
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(line, sizeof line, "true: %s", c->class_names[m->label]);
        draw_text_fit(cr, mid, ty, 0.5, line, 12, 0, cell_w - 6);
        cairo_set_source_rgb(cr, 0.80, 0.0, 0.0);
        snprintf(line, sizeof line, "guess: %s", c->class_names[m->guess]);
        draw_text_fit(cr, mid, ty + 14, 0.5, line, 12, 1, cell_w - 6);
        snprintf(line, sizeof line, "output %.4f", (double)m->confidence);
        draw_text_fit(cr, mid, ty + 28, 0.5, line, 11, 0, cell_w - 6);
        cairo_set_source_rgb(cr, 0.45, 0.45, 0.45);
        snprintf(line, sizeof line, "%d. image %d", i + 1, m->index);
        draw_text_fit(cr, mid, ty + 42, 0.5, line, 11, 0, cell_w - 6);
    }
    return figure_save(&f, path, err);
}

/* ---- the first layer's weights ------------------------------------------------------------ */

/* The horizontal colour bar of the weights under the tiles, centred at cx, top y. */
static void weights_colour_bar(cairo_t *cr, double cx, double y)
{
    const double w = 360, h = 14, x = cx - w / 2;
    for (int i = 0; i < (int)w; i++) {
        double rgb[3];
        cmap_diverging(2 * (i + 0.5) / w - 1, rgb);
        set_rgb(cr, rgb);
        cairo_rectangle(cr, x + i, y, 1, h);
        cairo_fill(cr);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, x + 0.5, y + 0.5, w - 1, h - 1);
    cairo_stroke(cr);
    draw_font(cr, 12, 0);
    draw_text(cr, x, y + h + 16, 0.5, "-max |w|");
    draw_text(cr, cx, y + h + 16, 0.5, "0");
    draw_text(cr, x + w, y + h + 16, 0.5, "+max |w|");
    draw_text(cr, cx, y + h + 34, 0.5, "weight, as a share of the tile's own largest |weight|");
}

mc_status report_draw_weights(const char *path, const report_context *c, const float *w,
                              int units, int shown, int rows, int cols,
                              const char *const *unit_names, mc_error *err)
{
    figure f;
    figure_begin(&f, REPORT_GALLERY_W, report_weights_height(shown));
    cairo_t *cr = f.cr;
    char sub[600];
    if (shown < units)
        snprintf(sub, sizeof sub, "model %s: units 0-%d of the first layer's %d shown, "
                 "%d x %d weights each", c->model, shown - 1, units, rows, cols);
    else
        snprintf(sub, sizeof sub, "model %s: all %d units of the first layer, %d x %d weights "
                 "each", c->model, units, rows, cols);
    draw_title(&f, "First layer weights", sub);
    size_t dim = (size_t)rows * cols;
    uint32_t *px = malloc(sizeof *px * dim);
    if (!px)
        f.failed = 1;
    const double cell_w = (REPORT_GALLERY_W - 32.0) / REPORT_WEIGHTS_PER_ROW, box = 84;
    double zoom = tile_zoom(rows, cols, box);
    for (int j = 0; px && j < shown; j++) {
        double m = 0;
        for (size_t i = 0; i < dim; i++)
            m = fmax(m, fabs(w[i * units + j]));
        for (size_t i = 0; i < dim; i++) {
            double rgb[3];
            cmap_diverging(m > 0 ? w[i * units + j] / m : 0, rgb);
            px[i] = (uint32_t)lround(rgb[0] * 255) << 16 | (uint32_t)lround(rgb[1] * 255) << 8 |
                    (uint32_t)lround(rgb[2] * 255);
        }
        double x = 16 + (j % REPORT_WEIGHTS_PER_ROW) * cell_w;
        double y = REPORT_WEIGHTS_TOP + (j / REPORT_WEIGHTS_PER_ROW) * REPORT_WEIGHTS_ROW_H;
        char label[64];
        if (unit_names)
            snprintf(label, sizeof label, "%s", unit_names[j]);
        else
            snprintf(label, sizeof label, "unit %d", j);
        cairo_set_source_rgb(cr, 0.3, 0.3, 0.3);
        draw_text_fit(cr, x + cell_w / 2, y + 12, 0.5, label, 11, 0, cell_w - 4);
        draw_rgb_tile(&f, px, rows, cols, x + (cell_w - cols * zoom) / 2,
                      y + 18 + (box - rows * zoom) / 2, zoom);
    }
    free(px);
    weights_colour_bar(cr, f.w / 2.0, f.h - REPORT_WEIGHTS_BOTTOM + 12);
    return figure_save(&f, path, err);
}

#endif
