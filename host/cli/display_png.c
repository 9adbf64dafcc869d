/* Tutorial 002's figure, drawn with cairo: the digit beside a bar chart of the outputs,
 * under a CORRECT (green) or INCORRECT (red) title, laid out like its matplotlib code. */
#include <stdio.h>

#include "cli/display.h"

#ifndef MNISTCL_HAVE_CAIRO

mc_status display_png(const char *path, const prediction *p, mc_error *err)
{
    (void)p;
    return mc_fail(err, MC_ERR_RUNTIME,
                   "%s: this mnistcl was built without cairo, so it cannot write PNG files "
                   "(install libcairo2-dev and rebuild)",
                   path);
}

#else

#include <cairo.h>
#include <stdlib.h>

#include "io/output_file.h"

#define FIG_W 900
#define FIG_H 460

/* Draws text centred (align 0.5), left (0) or right (1) of x, with its baseline at y. */
static void text_at(cairo_t *cr, double x, double y, double align, const char *s)
{
    cairo_text_extents_t e;
    cairo_text_extents(cr, s, &e);
    cairo_move_to(cr, x - align * e.x_advance, y);
    cairo_show_text(cr, s);
}

static void font(cairo_t *cr, double size, int bold)
{
    cairo_select_font_face(cr, "sans-serif", CAIRO_FONT_SLANT_NORMAL,
                           bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
    cairo_set_font_size(cr, size);
}

/* The largest side of the digit's own surface: larger images are sampled down to it. */
#define DIGIT_MAX_SIDE 1024

/*
 * The digit in matplotlib's 'Greys' map (0 white, 255 black), scaled without smoothing.
 * Images wider or taller than DIGIT_MAX_SIDE are sampled (nearest pixel) down to it, so
 * any image can be drawn (cairo's surfaces end at 32767 pixels a side). Returns 0, or -1
 * when cairo could not make the surface (out of memory).
 */
static int draw_digit(cairo_t *cr, const prediction *p, double x, double y, double size)
{
    int w = p->cols < DIGIT_MAX_SIDE ? p->cols : DIGIT_MAX_SIDE;
    int h = p->rows < DIGIT_MAX_SIDE ? p->rows : DIGIT_MAX_SIDE;
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, w, h);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(img);
        return -1;
    }
    cairo_surface_flush(img);
    unsigned char *px = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    for (int r = 0; r < h; r++) {
        long long src_r = (long long)r * p->rows / h;
        for (int c = 0; c < w; c++) {
            long long src_c = (long long)c * p->cols / w;
            unsigned v = 255u - p->image[src_r * p->cols + src_c];
            ((uint32_t *)(void *)(px + (size_t)r * stride))[c] = v << 16 | v << 8 | v;
        }
    }
    cairo_surface_mark_dirty(img);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, size / w, size / h);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, x + 0.5, y + 0.5, size - 1, size - 1);
    cairo_stroke(cr);
    return 0;
}

/* The bar chart: ylim 0..1, xlim -0.5..9.5, y grid, tick labels, x label. */
static void draw_bars(cairo_t *cr, const prediction *p, double x, double y, double w, double h)
{
    double unit = w / p->classes; /* one class per unit, bars 0.8 wide */
    font(cr, 13, 0);
    for (int t = 0; t <= 5; t++) {
        double gy = y + h - h * t / 5.0;
        cairo_set_source_rgb(cr, 0.85, 0.85, 0.85);
        cairo_move_to(cr, x, gy);
        cairo_line_to(cr, x + w, gy);
        cairo_stroke(cr);
        char label[16];
        snprintf(label, sizeof label, "%.1f", t / 5.0);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text_at(cr, x - 8, gy + 4, 1, label);
    }
    for (int c = 0; c < p->classes; c++) {
        double v = p->out[c] < 0 ? 0 : p->out[c] > 1 ? 1 : p->out[c];
        double bx = x + unit * (c + 0.1);
        cairo_set_source_rgb(cr, 0.12, 0.47, 0.71); /* matplotlib's default blue */
        cairo_rectangle(cr, bx, y + h - v * h, unit * 0.8, v * h);
        cairo_fill(cr);
        char label[16];
        snprintf(label, sizeof label, "%d", c);
        cairo_set_source_rgb(cr, 0, 0, 0);
        text_at(cr, x + unit * (c + 0.5), y + h + 18, 0.5, label);
    }
    cairo_set_source_rgb(cr, 0, 0, 0);
    cairo_rectangle(cr, x + 0.5, y + 0.5, w - 1, h - 1);
    cairo_stroke(cr);
    font(cr, 15, 0);
    text_at(cr, x + w / 2, y + h + 42, 0.5, "output values");
}

/* cairo's PNG writer hands its bytes here: into the output file. */
static cairo_status_t write_png_bytes(void *closure, const unsigned char *data,
                                      unsigned int length)
{
    return output_write(closure, data, length) ? CAIRO_STATUS_SUCCESS : CAIRO_STATUS_WRITE_ERROR;
}

/* Draws the figure onto cr (FIG_W x FIG_H); returns 0, or -1 when cairo ran out of memory. */
static int draw_figure(cairo_t *cr, const prediction *p)
{
    cairo_set_source_rgb(cr, 1, 1, 1);
    cairo_paint(cr);
    char title[64];
    if (p->label >= 0) {
        int ok = p->guess == p->label;
        if (ok)
            cairo_set_source_rgb(cr, 0, 0.5, 0); /* matplotlib 'g' */
        else
            cairo_set_source_rgb(cr, 1, 0, 0); /* matplotlib 'r' */
        font(cr, 28, 1);
        text_at(cr, FIG_W / 2.0, 42, 0.5, ok ? "CORRECT" : "INCORRECT");
        snprintf(title, sizeof title, "Label = %d", p->label);
    } else {
        snprintf(title, sizeof title, "%.40s image %d", p->set_name, p->index);
    }
    const double top = 95, size = 300;
    cairo_set_source_rgb(cr, 0, 0, 0);
    font(cr, 18, 0);
    text_at(cr, 70 + size / 2, top - 12, 0.5, title);
    if (draw_digit(cr, p, 70, top, size))
        return -1;
    snprintf(title, sizeof title, "Guessed digit = %d", p->guess);
    text_at(cr, 500 + 360 / 2.0, top - 12, 0.5, title);
    draw_bars(cr, p, 500, top, 360, size);
    return 0;
}

mc_status display_png(const char *path, const prediction *p, mc_error *err)
{
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, FIG_W, FIG_H);
    cairo_t *cr = cairo_create(s);
    cairo_status_t cs = cairo_status(cr);
    if (cs == CAIRO_STATUS_SUCCESS && draw_figure(cr, p))
        cs = CAIRO_STATUS_NO_MEMORY;
    if (cs == CAIRO_STATUS_SUCCESS)
        cs = cairo_status(cr);
    mc_status st = MC_OK;
    output_file out;
    if (cs != CAIRO_STATUS_SUCCESS)
        st = mc_fail(err, cs == CAIRO_STATUS_NO_MEMORY ? MC_ERR_NOMEM : MC_ERR_RUNTIME,
                     "%s: cannot draw the figure: %s", path, cairo_status_to_string(cs));
    else if (!(st = output_begin(&out, path, err))) {
        cs = cairo_surface_write_to_png_stream(s, write_png_bytes, &out);
        if (cs == CAIRO_STATUS_SUCCESS || out.write_errno) {
            st = output_commit(&out, err); /* names the write error, if that was it */
        } else {
            output_abort(&out);
            st = mc_fail(err, MC_ERR_RUNTIME, "%s: cannot encode the PNG: %s", path,
                         cairo_status_to_string(cs));
        }
    }
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    return st;
}

#endif
