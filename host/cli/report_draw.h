/*
 * The drawing pieces `mnistcl report`'s figures share (cairo; built with
 * MNISTCL_HAVE_CAIRO only): a figure and its PNG file, text that fits, axes with ticks,
 * the colour maps, images as tiles.
 */
#ifndef MNISTCL_REPORT_DRAW_H
#define MNISTCL_REPORT_DRAW_H

#include <cairo.h>
#include <stdint.h>

#include "mnistcl/status.h"

#define REPORT_PI 3.14159265358979323846

/** A figure being drawn: a white RGB surface of w x h pixels and its context. */
typedef struct {
    cairo_surface_t *surface;
    cairo_t *cr;
    int w, h;
    int failed; /* a tile's surface could not be made (out of memory) */
} figure;

/** Starts a figure of w x h pixels painted white; check with figure_save's status. */
void figure_begin(figure *f, int w, int h);

/**
 * Ends the figure: when every cairo call succeeded, writes it as a PNG to path through
 * output_file (whole or not at all); frees it either way. MC_ERR_NOMEM or MC_ERR_RUNTIME
 * naming path and cairo's status when drawing failed, output_file's errors otherwise.
 */
mc_status figure_save(figure *f, const char *path, mc_error *err);

/** Selects the sans-serif font at size pixels, bold or not. */
void draw_font(cairo_t *cr, double size, int bold);

/** Draws text with its baseline at y: left of x (align 0), centred (0.5), right (1). */
void draw_text(cairo_t *cr, double x, double y, double align, const char *text);

/** Width text takes in the current font. */
double text_width(cairo_t *cr, const char *text);

/**
 * Draws text as draw_text does in the font of size `size` (bold or not) made smaller, to
 * 7 pixels at least, so that it is at most max_w wide; text still too wide is cut (with
 * "...") at a character's start.
 */
void draw_text_fit(cairo_t *cr, double x, double y, double align, const char *text,
                   double size, int bold, double max_w);

/** Draws text rotated by angle radians (counter-clockwise negative, as cairo turns) about
 *  (x, y), aligned along its own baseline as draw_text. */
void draw_text_rotated(cairo_t *cr, double x, double y, double angle, double align,
                       const char *text);

/**
 * The figure's title (bold, centred) and, under it, a subtitle (grey), each fitted to
 * the width; the subtitle may be NULL.
 */
void draw_title(figure *f, const char *title, const char *subtitle);

/** A value range and where it lies on the figure: lo maps to p0, hi to p1 (pixels). */
typedef struct {
    double lo, hi, p0, p1;
} scale;

/** The pixel position of value v on s. */
double scale_at(const scale *s, double v);

/**
 * A "nice" tick step (1, 2 or 5 times a power of ten) for a range of `span` with about
 * `ticks` ticks; integer > 0 steps only when `integer` is set.
 */
double nice_step(double span, int ticks, int integer);

/**
 * The axes of a plot whose box xs and ys span: a frame, light grid lines and tick
 * labels every xstep along xs (none when xstep is 0) and every ystep along ys
 * (ylabel_fmt formats a y tick, e.g. "%.1f"; x ticks as integers when xstep is whole),
 * the x label (or NULL) centred under it and the y label (or NULL) turned up along its
 * left side.
 */
void draw_axes(cairo_t *cr, const scale *xs, double xstep, const scale *ys, double ystep,
               const char *ylabel_fmt, const char *xlabel, const char *ylabel);

/** matplotlib's 'Blues' map at t in [0, 1] (white to dark blue) into rgb. */
void cmap_blues(double t, double rgb[3]);

/** matplotlib's 'RdBu_r' map at t in [-1, 1] (blue, white at 0, red) into rgb. */
void cmap_diverging(double t, double rgb[3]);

/**
 * Draws a rows x cols image given as 0xRRGGBB pixels at (x, y), scaled by `zoom` without
 * smoothing, in a thin grey frame. Sets f->failed when its surface cannot be made.
 */
void draw_rgb_tile(figure *f, const uint32_t *pixels, int rows, int cols, double x, double y,
                   double zoom);

/** draw_rgb_tile of an 8-bit image (0 = background) in 'Greys' (0 white, 255 black). */
void draw_grey_tile(figure *f, const uint8_t *image, int rows, int cols, double x, double y,
                    double zoom);

/** A zoom that fits a rows x cols image into a box of side `box`: whole when >= 1. */
double tile_zoom(int rows, int cols, double box);

#endif
