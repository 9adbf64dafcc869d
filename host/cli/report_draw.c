/* Drawing pieces of `mnistcl report`'s figures (report_draw.h); cairo builds only. */
#ifdef MNISTCL_HAVE_CAIRO

#include "cli/report_draw.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "io/output_file.h"

void figure_begin(figure *f, int w, int h)
{
    f->w = w, f->h = h, f->failed = 0;
    f->surface = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    f->cr = cairo_create(f->surface);
    cairo_set_source_rgb(f->cr, 1, 1, 1);
    cairo_paint(f->cr);
    cairo_set_source_rgb(f->cr, 0, 0, 0);
    cairo_set_line_width(f->cr, 1);
}

/* cairo's PNG writer hands its bytes here: into the output file. */
static cairo_status_t write_png_bytes(void *closure, const unsigned char *data,
                                      unsigned int length)
{
    return output_write(closure, data, length) ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

mc_status figure_save(figure *f, const char *path, mc_error *err)
{
    cairo_status_t cs = cairo_status(f->cr);
    if (cs == CAIRO_STATUS_SUCCESS)
        cs = cairo_surface_status(f->surface);
    if (cs == CAIRO_STATUS_SUCCESS && f->failed)
        cs = CAIRO_STATUS_NO_MEMORY;
    mc_status st = MC_OK;
    output_file out;
    if (cs != CAIRO_STATUS_SUCCESS) {
        st = mc_fail(err, cs == CAIRO_STATUS_NO_MEMORY ? MC_ERR_NOMEM : MC_ERR_RUNTIME,
                     "%s: cannot draw the figure: %s", path, cairo_status_to_string(cs));
    } else if (!(st = output_begin(&out, path, err))) {
        cairo_surface_flush(f->surface);
        cs = cairo_surface_write_to_png_stream(f->surface, write_png_bytes, &out);
        if (cs == CAIRO_STATUS_SUCCESS || out.write_errno) {
            st = output_commit(&out, err); /* names the write error, if that was it */
        } else {
            output_abort(&out);
            st = mc_fail(err, MC_ERR_RUNTIME, "%s: cannot encode the PNG: %s", path,
                         cairo_status_to_string(cs));
        }
    }
    cairo_destroy(f->cr);
    cairo_surface_destroy(f->surface);
    f->cr = NULL, f->surface = NULL;
    return st;
}

void draw_font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

double text_width(cairo_t *cr, const char *text)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, text, &e);
    return e.x_advance;
}

void draw_text(cairo_t *cr, double x, double y, double align, const char *text)
{
    cairo_move_to(cr, x - align * text_width(cr, text), y);
    cairo_show_text(cr, text);
}

void draw_text_fit(cairo_t *cr, double x, double y, double align, const char *text,
                   double size, int bold, double max_w)
{
    draw_font(cr, size, bold);
    double w = text_width(cr, text);
    if (w > max_w && w > 0) {
        size = size * max_w / w < 7 ? 7 : size * max_w / w;
        draw_font(cr, size, bold);
    }
    char cut[512];
    size_t n = strlen(text);
    int shortened = n > 500;
    n = shortened ? 500 : n;
    memcpy(cut, text, n);
    cut[n] = '\0';
    while (n > 0 && (shortened || text_width(cr, cut) > max_w)) {
        do /* back to the start of a character */
            n--;
        while (n > 0 && ((unsigned char)cut[n] & 0xC0) == 0x80);
        strcpy(cut + n, "...");
        shortened = 0;
    }
    draw_text(cr, x, y, align, cut);
}

void draw_text_rotated(cairo_t *cr, double x, double y, double angle, double align,
                       const char *text)
{
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_rotate(cr, angle);
    draw_text(cr, 0, 0, align, text);
    cairo_restore(cr);
}

void draw_title(figure *f, const char *title, const char *subtitle)
{
    cairo_t *cr = f->cr;
    cairo_set_source_rgb(cr, 0, 0, 0);
    draw_text_fit(cr, f->w / 2.0, 28, 0.5, title, 20, 1, f->w - 40);
    if (subtitle) {
        cairo_set_source_rgb(cr, 0.35, 0.35, 0.35);
        draw_text_fit(cr, f->w / 2.0, 50, 0.5, subtitle, 13, 0, f->w - 40);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
}

double scale_at(const scale *s, double v)
{
    return s->p0 + (v - s->lo) / (s->hi - s->lo) * (s->p1 - s->p0);
}

double nice_step(double span, int ticks, int integer)
{
    if (!(span > 0) || !isfinite(span))
        return 1;
    double raw = span / (ticks > 1 ? ticks : 1), p = pow(10, floor(log10(raw)));
    double step = raw <= p ? p : raw <= 2 * p ? 2 * p : raw <= 5 * p ? 5 * p : 10 * p;
    return integer && step < 1 ? 1 : step;
}

/* The first multiple of step at or above lo (within a rounding error). */
static double first_tick(double lo, double step)
{
    return ceil(lo / step - 1e-9) * step;
}

void draw_axes(cairo_t *cr, const scale *xs, double xstep, const scale *ys, double ystep,
               const char *ylabel_fmt, const char *xlabel, const char *ylabel)
{
    double x0 = xs->p0, x1 = xs->p1, y0 = ys->p0, y1 = ys->p1; /* y0 is the bottom */
    char label[32];
    draw_font(cr, 12, 0);
    for (double v = first_tick(ys->lo, ystep); v <= ys->hi + ystep * 1e-9; v += ystep) {
        double y = scale_at(ys, v);
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, x0, round(y) + 0.5);
        cairo_line_to(cr, x1, round(y) + 0.5);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(label, sizeof label, ylabel_fmt, fabs(v) < ystep * 1e-9 ? 0.0 : v);
        draw_text(cr, x0 - 6, y + 4, 1, label);
    }
    int whole = xstep > 0 && xstep == floor(xstep);
    for (double v = first_tick(xs->lo, xstep); xstep > 0 && v <= xs->hi + xstep * 1e-9;
         v += xstep) {
        double x = scale_at(xs, v);
        cairo_set_source_rgb(cr, 0.88, 0.88, 0.88);
        cairo_move_to(cr, round(x) + 0.5, y0);
        cairo_line_to(cr, round(x) + 0.5, y1);
        cairo_stroke(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        snprintf(label, sizeof label, whole ? "%.0f" : "%g", fabs(v) < xstep * 1e-9 ? 0.0 : v);
        draw_text(cr, x, y0 + 17, 0.5, label);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, round(x0) + 0.5, round(y1) + 0.5, round(x1 - x0), round(y0 - y1));
    cairo_stroke(cr);
    draw_font(cr, 14, 0);
    if (xlabel)
        draw_text(cr, (x0 + x1) / 2, y0 + 38, 0.5, xlabel);
    if (ylabel)
        draw_text_rotated(cr, x0 - 52, (y0 + y1) / 2, -REPORT_PI / 2, 0.5, ylabel);
}

/* Linear interpolation in a table of n colours spaced evenly over [0, 1]. */
static void interpolate(const double (*table)[3], int n, double t, double rgb[3])
{
    t = t < 0 ? 0 : t > 1 ? 1 : isnan(t) ? 0 : t;
    double pos = t * (n - 1);
    int i = (int)pos < n - 1 ? (int)pos : n - 2;
    double u = pos - i;
    for (int k = 0; k < 3; k++)
        rgb[k] = table[i][k] * (1 - u) + table[i + 1][k] * u;
}

void cmap_blues(double t, double rgb[3])
{
    static const double blues[9][3] = {
        {0.969, 0.984, 1.000}, {0.871, 0.922, 0.969}, {0.776, 0.859, 0.937},
        {0.620, 0.792, 0.882}, {0.420, 0.682, 0.839}, {0.259, 0.573, 0.776},
        {0.129, 0.443, 0.710}, {0.031, 0.318, 0.612}, {0.031, 0.188, 0.420}};
    interpolate(blues, 9, t, rgb);
}

void cmap_diverging(double t, double rgb[3])
{
    static const double rdbu_r[11][3] = {
        {0.020, 0.188, 0.380}, {0.129, 0.400, 0.675}, {0.263, 0.576, 0.765},
        {0.573, 0.773, 0.871}, {0.820, 0.898, 0.941}, {0.969, 0.969, 0.969},
        {0.992, 0.859, 0.780}, {0.957, 0.647, 0.510}, {0.839, 0.376, 0.302},
        {0.698, 0.094, 0.169}, {0.404, 0.000, 0.122}};
    interpolate(rdbu_r, 11, (t + 1) / 2, rgb);
}

/* Draws a tile whose pixel (r, c) is rgb ? rgb[r * cols + c] : Greys(grey[...]). */
static void draw_tile(figure *f, const uint32_t *rgb, const uint8_t *grey, int rows, int cols,
                      double x, double y, double zoom)
{
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, cols, rows);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(img);
        f->failed = 1;
        return;
    }
    cairo_surface_flush(img);
    unsigned char *px = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    for (int r = 0; r < rows; r++) {
        uint32_t *row = (uint32_t *)(void *)(px + (size_t)r * stride);
        for (int c = 0; c < cols; c++) {
            size_t i = (size_t)r * cols + c;
            uint32_t v = 255u - (grey ? grey[i] : 0);
            row[c] = rgb ? rgb[i] : v << 16 | v << 8 | v;
        }
    }
    cairo_surface_mark_dirty(img);
    cairo_t *cr = f->cr;
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, zoom, zoom);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_rectangle(cr, x - 0.5, y - 0.5, cols * zoom + 1, rows * zoom + 1);
    cairo_stroke(cr);
    cairo_set_source_rgb(cr, 0, 0, 0);
}

void draw_rgb_tile(figure *f, const uint32_t *pixels, int rows, int cols, double x, double y,
                   double zoom)
{
    draw_tile(f, pixels, NULL, rows, cols, x, y, zoom);
}

void draw_grey_tile(figure *f, const uint8_t *image, int rows, int cols, double x, double y,
                    double zoom)
{
    draw_tile(f, NULL, image, rows, cols, x, y, zoom);
}

double tile_zoom(int rows, int cols, double box)
{
    int side = rows > cols ? rows : cols;
    return side <= box ? floor(box / side) : box / side;
}

#endif
