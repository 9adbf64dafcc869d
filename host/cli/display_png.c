/* Tutorial 002's figure, drawn with cairo: the digit beside a bar chart of the outputs,
 * under a CORRECT (green) or INCORRECT (red) title, laid out like its matplotlib code. */
#include <stdio.h>

#include "cli/display.h"

/* display_png_grid's pixels a pixel, cell width and cells a row (display.h) */
static void grid_layout(int n, int rows, int cols, int *scale, int *cell_w, int *per_row)
{
    int side = rows > cols ? rows : cols;
    *scale = side < 112 ? 112 / side : 1;
    *cell_w = cols * *scale > 96 ? cols * *scale : 96;
    int g = 1;
    while (g * g < n)
        g++;
    *per_row = g;
}

void display_png_grid_size(int n, int rows, int cols, int *width, int *height)
{
    int scale, cell_w, g;
    grid_layout(n, rows, cols, &scale, &cell_w, &g);
    long long r = (n + g - 1) / g;
    long long w = GRID_PAD + (long long)g * (cell_w + GRID_PAD);
    long long h = GRID_HEADER + r * (2 * GRID_LABEL + (long long)rows * scale + GRID_PAD) + GRID_PAD;
    *width = w > 1 << 30 ? 1 << 30 : (int)w;
    *height = h > 1 << 30 ? 1 << 30 : (int)h;
}

#ifndef MNISTCL_HAVE_CAIRO

mc_status display_png_grid(const char *path, const char *title, const shown_image *imgs, int n,
                           int rows, int cols, mc_error *err)
{
    (void)title, (void)imgs, (void)n, (void)rows, (void)cols;
    return mc_fail(err, MC_ERR_RUNTIME,
                   "%s: this mnistcl was built without cairo, so it cannot write PNG files "
                   "(install libcairo2-dev and rebuild)",
                   path);
}

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
#include <string.h>

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

/* Writes the surface s as a PNG to path through output_file (whole or not at all). */
static mc_status write_surface(cairo_surface_t *s, const char *path, mc_error *err)
{
    output_file out;
    mc_status st = output_begin(&out, path, err);
    if (st)
        return st;
    cairo_status_t cs = cairo_surface_write_to_png_stream(s, write_png_bytes, &out);
    if (cs == CAIRO_STATUS_SUCCESS || out.write_errno)
        return output_commit(&out, err); /* names the write error, if that was it */
    output_abort(&out);
    return mc_fail(err, MC_ERR_RUNTIME, "%s: cannot encode the PNG: %s", path,
                   cairo_status_to_string(cs));
}

/* Draws a rows x cols image at (x, y), scale pixels a pixel, in 'Greys', framed; 0, or -1
   when cairo could not make its surface. */
static int draw_grid_image(cairo_t *cr, const unsigned char *image, int rows, int cols, double x,
                           double y, int scale)
{
    cairo_surface_t *img = cairo_image_surface_create(CAIRO_FORMAT_RGB24, cols, rows);
    if (cairo_surface_status(img) != CAIRO_STATUS_SUCCESS) {
        cairo_surface_destroy(img);
        return -1;
    }
    cairo_surface_flush(img);
    unsigned char *px = cairo_image_surface_get_data(img);
    int stride = cairo_image_surface_get_stride(img);
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            unsigned v = 255u - image[(size_t)r * cols + c];
            ((uint32_t *)(void *)(px + (size_t)r * stride))[c] = v << 16 | v << 8 | v;
        }
    cairo_surface_mark_dirty(img);
    cairo_save(cr);
    cairo_translate(cr, x, y);
    cairo_scale(cr, scale, scale);
    cairo_set_source_surface(cr, img, 0, 0);
    cairo_pattern_set_filter(cairo_get_source(cr), CAIRO_FILTER_NEAREST);
    cairo_paint(cr);
    cairo_restore(cr);
    cairo_surface_destroy(img);
    cairo_set_source_rgb(cr, 0.6, 0.6, 0.6);
    cairo_set_line_width(cr, 1);
    cairo_rectangle(cr, x - 0.5, y - 0.5, (double)cols * scale + 1, (double)rows * scale + 1);
    cairo_stroke(cr);
    return 0;
}

mc_status display_png_grid(const char *path, const char *title, const shown_image *imgs, int n,
                           int rows, int cols, mc_error *err)
{
    int width, height, scale, cell_w, g;
    display_png_grid_size(n, rows, cols, &width, &height);
    grid_layout(n, rows, cols, &scale, &cell_w, &g);
    if (width > 32767 || height > 32767)
        return mc_fail(err, MC_ERR_USAGE,
                       "%s: a grid of %d images of %d x %d would be %d x %d pixels, more than "
                       "the 32767 a side PNG figures can have; show fewer",
                       path, n, cols, rows, width, height);
    cairo_surface_t *s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
    cairo_t *cr = cairo_create(s);
    cairo_status_t cs = cairo_status(cr);
    if (cs == CAIRO_STATUS_SUCCESS) {
        cairo_set_source_rgb(cr, 1, 1, 1);
        cairo_paint(cr);
        cairo_set_source_rgb(cr, 0, 0, 0);
        const char *line = title ? title : "";
        for (int l = 0; l < 2; l++) { /* two lines, each in a font small enough to fit */
            char text[256];
            size_t len = strcspn(line, "\n");
            snprintf(text, sizeof text, "%.*s", (int)(len < 255 ? len : 255), line);
            double size = l ? 12 : 14;
            cairo_text_extents_t e;
            font(cr, size, l == 0);
            cairo_text_extents(cr, text, &e);
            if (e.x_advance > width - 2 * GRID_PAD)
                font(cr, size * (width - 2 * GRID_PAD) / e.x_advance, l == 0);
            text_at(cr, GRID_PAD, 18 + 18 * l, 0, text);
            line += len + (line[len] == '\n');
        }
        font(cr, 12, 0);
        double cell_h = 2 * GRID_LABEL + (double)rows * scale + GRID_PAD;
        for (int k = 0; k < n && cs == CAIRO_STATUS_SUCCESS; k++) {
            double x = GRID_PAD + (k % g) * (double)(cell_w + GRID_PAD);
            double y = GRID_HEADER + (k / g) * cell_h;
            double img_x = x + (cell_w - (double)cols * scale) / 2;
            cairo_set_source_rgb(cr, 0, 0, 0);
            if (imgs[k].title)
                text_at(cr, x + cell_w / 2.0, y + GRID_LABEL - 4, 0.5, imgs[k].title);
            if (draw_grid_image(cr, imgs[k].image, rows, cols, img_x, y + GRID_LABEL, scale))
                cs = CAIRO_STATUS_NO_MEMORY;
            cairo_set_source_rgb(cr, 0, 0, 0);
            if (imgs[k].caption)
                text_at(cr, x + cell_w / 2.0, y + GRID_LABEL + (double)rows * scale + 13, 0.5,
                        imgs[k].caption);
        }
        if (cs == CAIRO_STATUS_SUCCESS)
            cs = cairo_status(cr);
    }
    mc_status st = cs != CAIRO_STATUS_SUCCESS
                       ? mc_fail(err, cs == CAIRO_STATUS_NO_MEMORY ? MC_ERR_NOMEM : MC_ERR_RUNTIME,
                                 "%s: cannot draw the grid: %s", path, cairo_status_to_string(cs))
                       : write_surface(s, path, err);
    cairo_destroy(cr);
    cairo_surface_destroy(s);
    return st;
}

#endif
