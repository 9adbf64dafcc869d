/*
 * The training set on the device. The steps read, through the index, either the images
 * (and labels) or the pixel lists (and labels) of the epoch's order. When those arrays
 * fit the device (each in one buffer, all in its memory), they are uploaded once and the
 * index is the epoch's permutation: the resident path, as it always was. Otherwise the
 * epoch is cut into windows of W consecutive positions of its order (W a multiple of the
 * batch, so a step never straddles two), and each window's images are copied, in that
 * order, into one of two halves of small device buffers just before its steps run:
 *
 *   slots     half 0 holds slots 0 .. W-1, half 1 slots W+1 .. 2W (slot W is unused, so
 *             each half's pixel offsets end where its own words end)
 *   index     fixed: position k of the epoch reads slot (w % 2)(W + 1) + k - wW, w = k / W
 *   split     the images live on the device in parts of consecutive images, each a
 *             buffer (DATA_MAX_PARTS at most); window_images copies a window's images
 *             from every part into its slots
 *   streamed  the host copies the window's images (or pixel lists) from its own copy
 *             into a staging array and queues the upload (write_async), one window ahead
 *
 * A window holds the same images in the same order as the resident path's index would
 * give, so every kernel adds the same terms in the same order: the three paths train to
 * the same bits (tests/data_paths.sh). The shuffle stays a shuffle of the whole set.
 * Pixel lists are resident or streamed, never split.
 */
#include <limits.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "train/train_data.h"
#include "train/trainer_internal.h"

/* Bytes of the buffers t has allocated so far (the budget left is memory - these). */
static size_t trainer_bytes(const trainer *t)
{
    const buf *all[] = {t->params,        t->grads,        t->state,       t->labels,
                        t->index,         t->identity,     t->stat_loss,   t->stat_correct,
                        t->sums,          t->seq_scratch,  t->progress_sums, t->grad_scratch,
                        t->gauss,         t->test.images,  t->test.labels};
    size_t sum = 0;
    for (size_t i = 0; i < sizeof all / sizeof all[0]; i++)
        sum += all[i] ? all[i]->bytes : 0;
    for (int l = 0; l <= MLP_MAX_LAYERS; l++) {
        const buf *per_layer[] = {t->act[l], t->delta[l], t->dropped[l]};
        for (int k = 0; k < 3; k++)
            sum += per_layer[k] ? per_layer[k]->bytes : 0;
    }
    return sum;
}

/* a + b, saturating at SIZE_MAX. */
static size_t add_sat(size_t a, size_t b)
{
    return a > SIZE_MAX - b ? SIZE_MAX : a + b;
}

/* The pixel words the largest `w` images of the set need together: a bound for any
   window of w images (from a histogram of the per-image counts, which are <= dim). */
static size_t largest_words(const int32_t *offsets, int n, int dim, int w)
{
    size_t *hist = calloc((size_t)dim + 1, sizeof *hist);
    if (!hist)
        return SIZE_MAX;
    for (int i = 0; i < n; i++)
        hist[offsets[(size_t)(i + 1) * PIXEL_BANDS] - offsets[(size_t)i * PIXEL_BANDS]]++;
    size_t words = 0, left = (size_t)w;
    for (int c = dim; c >= 0 && left > 0; c--) {
        size_t take = hist[c] < left ? hist[c] : left;
        words += take * (size_t)c;
        left -= take;
    }
    free(hist);
    return words;
}

/* What the steps read, as the trainer's choices say. */
static int reads_lists(const trainer *t)
{
    return t->sparse_input || (t->sequential && t->be->caps.sequential_pixel_lists);
}

static int reads_images(const trainer *t)
{
    return !t->sparse_input || t->sequential; /* sequential takes both (the lists optional) */
}

/* The device bytes the windows of W images take (buffers per half x 2, + slot W). */
typedef struct {
    size_t images, labels, words, offsets, ids, total, largest;
} window_bytes;

static window_bytes window_size(const trainer *t, int w, int split, size_t words_cap)
{
    const train_data *d = &t->data;
    size_t slots = 2 * (size_t)w + 1, dim = (size_t)dataset_dim(&d->host);
    window_bytes b = {0};
    b.labels = slots;
    if (reads_images(t))
        b.images = slots * dim;
    if (d->lists) {
        b.words = 2 * (words_cap ? words_cap : 1) * 4;
        b.offsets = (slots * PIXEL_BANDS + 1) * 4;
    }
    if (split)
        b.ids = 2 * (size_t)w * 4;
    size_t all[] = {b.images, b.labels, b.words, b.offsets, b.ids};
    for (int k = 0; k < 5; k++) {
        b.total = add_sat(b.total, all[k]);
        if (all[k] > b.largest)
            b.largest = all[k];
    }
    return b;
}

/* Uploads host bytes as a read-only buffer, in place where the backend allows it; the
   pointer handed over is page-aligned when lead bytes before it may be read. */
static mc_status upload_host(trainer *t, const void *host, size_t bytes, size_t lead,
                             int *in_place, buf **out)
{
    int dummy;
    return t->op->alloc_host(t->be, (const uint8_t *)host - lead, bytes + lead,
                             in_place ? in_place : &dummy, out);
}

/* The labels of the set as a device buffer (zeros for an unlabelled set). */
static mc_status upload_labels(trainer *t, const dataset *set, int first, int count, buf **out)
{
    mc_status st = t->op->alloc(t->be, (size_t)count, out);
    if (st)
        return st;
    if (set->labels)
        return t->op->write(t->be, *out, 0, set->labels + first, (size_t)count);
    unsigned char *zeros = calloc((size_t)count, 1);
    if (!zeros)
        return MC_ERR_NOMEM;
    st = t->op->write(t->be, *out, 0, zeros, (size_t)count);
    free(zeros);
    return st;
}

/* The resident path: the arrays the steps read (and the images for whole-set passes
   when they fit too), each one buffer. */
static mc_status place_resident(trainer *t, size_t left, size_t words)
{
    train_data *d = &t->data;
    const dataset *set = &d->host;
    size_t img_bytes = (size_t)set->n * (size_t)dataset_dim(set);
    mc_status st = MC_OK;
    int want_images = reads_images(t) ||
                      (add_sat(img_bytes, set->images_lead) <= t->be->caps.max_alloc_bytes &&
                       img_bytes <= left);
    d->images = reads_images(t) ? DATA_RESIDENT : DATA_ABSENT;
    if (want_images) {
        /* from the page boundary before the images (the per-sample kernel reads its
           buffer from element 0: not there) */
        size_t lead = t->sequential ? 0 : set->images_lead;
        st = upload_host(t, set->images, img_bytes ? img_bytes : 1, lead, NULL,
                         &t->train.images);
        t->train.images_off = lead;
        d->passes = !st;
    }
    if (!st)
        st = upload_labels(t, set, 0, set->n, &t->train.labels);
    if (!st && d->lists) {
        int pixels_in_place = 0, offsets_in_place = 0;
        size_t offsets = (size_t)set->n * PIXEL_BANDS + 1;
        st = upload_host(t, d->host_pixels, (words ? words : 1) * 4, 0, &pixels_in_place,
                         &t->sparse_pixels);
        if (!st)
            st = upload_host(t, d->host_offsets, offsets * 4, 0, &offsets_in_place,
                             &t->sparse_offsets);
        d->lists_in_place = pixels_in_place && offsets_in_place;
        if (!st && !pixels_in_place) {
            free(d->host_pixels);
            d->host_pixels = NULL;
        }
        if (!st && !offsets_in_place) {
            free(d->host_offsets);
            d->host_offsets = NULL;
        }
    }
    return st;
}

/* The windowed path's device buffers, the split parts, the staging and the fixed index. */
static mc_status place_windows(trainer *t, int split, size_t words_cap)
{
    train_data *d = &t->data;
    const dataset *set = &d->host;
    int dim = dataset_dim(set), W = d->window;
    window_bytes b = window_size(t, W, split, words_cap);
    d->words_cap = words_cap;
    d->images = reads_images(t) ? (split ? DATA_SPLIT : DATA_STREAMED) : DATA_ABSENT;
    mc_status st = t->op->alloc(t->be, b.labels, &t->train.labels);
    if (!st && b.images)
        st = t->op->alloc(t->be, b.images, &t->train.images);
    if (!st && d->lists)
        st = t->op->alloc(t->be, b.words, &t->sparse_pixels);
    if (!st && d->lists)
        st = t->op->alloc(t->be, b.offsets, &t->sparse_offsets);
    if (!st && split) {
        st = t->op->alloc(t->be, b.ids, &d->ids);
        d->part_n = (int)((t->be->caps.max_alloc_bytes - 4096) / (size_t)dim); /* + a lead */
        if (d->part_n > set->n)
            d->part_n = set->n;
        d->parts = (set->n + d->part_n - 1) / d->part_n;
        for (int p = 0; !st && p < d->parts; p++) {
            int first = p * d->part_n;
            int count = set->n - first < d->part_n ? set->n - first : d->part_n;
            size_t at = (size_t)first * (size_t)dim;
            /* each part handed over from a page boundary (the bytes before it are the
               mapping's header or the previous part's images), so it may be used in place */
            size_t lead = p == 0 ? set->images_lead : (uintptr_t)(set->images + at) % 4096;
            d->part_off[p] = lead;
            st = upload_host(t, set->images + at, (size_t)count * (size_t)dim, lead, NULL,
                             &d->part_images[p]);
            if (!st)
                st = upload_labels(t, set, first, count, &d->part_labels[p]);
        }
    }
    for (int h = 0; !st && h < 2; h++) {
        if (d->images == DATA_STREAMED &&
            !(d->stage_images[h] = malloc((size_t)W * (size_t)dim)))
            st = MC_ERR_NOMEM;
        if (!st && !split && !(d->stage_labels[h] = calloc((size_t)W, 1)))
            st = MC_ERR_NOMEM;
        if (!st && d->lists &&
            (!(d->stage_words[h] = malloc((words_cap ? words_cap : 1) * 4)) ||
             !(d->stage_offsets[h] = malloc(((size_t)W * PIXEL_BANDS + 1) * 4))))
            st = MC_ERR_NOMEM;
    }
    if (!st && t->cfg.augment)
        st = t->op->alloc(t->be, (size_t)set->n * 4, &d->image_ids);
    /* the fixed index: position k of the epoch reads its window's slot */
    for (int k = 0; !st && k < set->n; k++) {
        int w = k / W;
        t->host_index[k] = (w % 2) * (W + 1) + (k - w * W);
    }
    if (!st)
        st = t->op->write(t->be, t->index, 0, t->host_index, (size_t)set->n * 4);
    return st;
}

mc_status train_data_place(trainer *t, const dataset *set, mc_error *err)
{
    train_data *d = &t->data;
    const backend_caps *caps = &t->be->caps;
    *d = (train_data){.host = *set, .placed = 1, .current = -1, .ahead = -1};
    int dim = dataset_dim(set);
    size_t words = 0;
    if (reads_lists(t)) {
        if (dataset_pixel_lists(set->images, set->n, dim, PIXEL_BANDS, &d->host_pixels,
                                &d->host_offsets, &words) == 0)
            d->lists = DATA_RESIDENT;
        else
            t->sparse_input = 0; /* too many to list (or no memory): the steps read images */
    }
    size_t used = trainer_bytes(t);
    size_t left = caps->memory_bytes > used ? caps->memory_bytes - used : 0;
    size_t img_bytes = (size_t)set->n * (size_t)dim, lab_bytes = (size_t)set->n;
    size_t list_bytes = words * 4, off_bytes = ((size_t)set->n * PIXEL_BANDS + 1) * 4;
    size_t need = lab_bytes, largest = lab_bytes;
    if (reads_images(t)) {
        need = add_sat(need, img_bytes);
        size_t with_lead = add_sat(img_bytes, set->images_lead);
        largest = with_lead > largest ? with_lead : largest;
    }
    if (d->lists) {
        need = add_sat(need, add_sat(list_bytes, off_bytes));
        largest = list_bytes > largest ? list_bytes : largest;
        largest = off_bytes > largest ? off_bytes : largest;
    }
    if (largest <= caps->max_alloc_bytes && need <= left)
        return place_resident(t, left - need, words);

    /* windows: W from the most a window may hold down, halving, until its buffers fit */
    d->windowed = 1;
    if (d->lists)
        d->lists = DATA_STREAMED;
    int batch = t->batch;
    long long top = (long long)set->n + batch - 1;
    top -= top % batch; /* the whole epoch in one window at most */
    long long want = DATA_WINDOW_IMAGES > batch ? DATA_WINDOW_IMAGES - DATA_WINDOW_IMAGES % batch
                                                : batch;
    int W = (int)(want < top ? want : top);
    int split = 0;
    size_t words_cap = 0;
    /* with distortions, the epoch's permutation as the images' ids (n int32) beside */
    size_t ids_bytes = t->cfg.augment ? (size_t)set->n * 4 : 0;
    if (ids_bytes > caps->max_alloc_bytes || ids_bytes > left)
        return mc_fail(err, MC_ERR_NOMEM, "the training set's %d image ids (%zu bytes) do not "
                       "fit %s beside the network", set->n, ids_bytes, t->be->name);
    for (;;) {
        words_cap = d->lists ? largest_words(d->host_offsets, set->n, dim, W) : 0;
        if (words_cap == SIZE_MAX)
            return mc_fail(err, MC_ERR_NOMEM, "out of memory sizing the training set's windows");
        window_bytes b = window_size(t, W, 0, words_cap);
        window_bytes bs = window_size(t, W, 1, words_cap);
        /* split when the images fit the memory beside the windows, in few enough parts
           (each handed over from a page boundary: up to 4095 bytes more) */
        size_t per_part = caps->max_alloc_bytes > 4096
                              ? (caps->max_alloc_bytes - 4096) / (size_t)dim : 0;
        size_t parts = per_part ? ((size_t)set->n + per_part - 1) / per_part : 0;
        size_t split_bytes = add_sat(add_sat(img_bytes, lab_bytes), parts * 4096);
        int can_split = reads_images(t) && parts > 0 && parts <= DATA_MAX_PARTS &&
                        bs.largest <= caps->max_alloc_bytes &&
                        add_sat(add_sat(bs.total, split_bytes), ids_bytes) <= left;
        int words_ok = words_cap <= (size_t)INT_MAX / 2;
        if (can_split && words_ok) {
            split = 1;
            break;
        }
        if (b.largest <= caps->max_alloc_bytes && add_sat(b.total, ids_bytes) <= left &&
            words_ok)
            break;
        int next = W / 2 - (W / 2) % batch;
        if (next < batch)
            return mc_fail(err, MC_ERR_NOMEM,
                           "the training set (%d images) does not fit %s (largest buffer %zu "
                           "bytes, %zu bytes free), and a window of one batch (%d images, %zu "
                           "bytes) does not fit either: use a smaller --batch",
                           set->n, t->be->name, caps->max_alloc_bytes, left, batch, b.total);
        W = next;
    }
    d->window = W;
    d->windows = (set->n + W - 1) / W;
    return place_windows(t, split, words_cap);
}

mc_status train_data_begin_epoch(trainer *t)
{
    train_data *d = &t->data;
    d->current = d->ahead = -1;
    if (d->image_ids) /* the distortions are drawn for the images' own ids */
        return t->op->write(t->be, d->image_ids, 0, t->host_index, (size_t)t->train.n * 4);
    if (d->windowed)
        return MC_OK; /* the index is fixed; the windows follow host_index */
    return t->op->write(t->be, t->index, 0, t->host_index, (size_t)t->train.n * 4);
}

/* Waits until the copies queued from staging half h have been made (a finish returned). */
static mc_status staging_free(trainer *t, int h)
{
    if (t->data.staged_gen[h] && t->data.staged_gen[h] - 1 == t->finish_gen)
        return trainer_finish(t);
    return MC_OK;
}

/* Queues window w's images into its half: from the parts (split) or the host. */
static mc_status enqueue_window(trainer *t, int w)
{
    train_data *d = &t->data;
    const dataset *set = &d->host;
    int h = w % 2, W = d->window, first = w * W;
    int count = set->n - first < W ? set->n - first : W;
    int slot0 = h * (W + 1);
    size_t dim = (size_t)dataset_dim(set);
    const int32_t *ids = t->host_index + first;
    mc_status st = staging_free(t, h);
    if (!st && d->lists) {
        const int32_t *off = d->host_offsets;
        int32_t *so = d->stage_offsets[h];
        uint32_t *sw = d->stage_words[h];
        size_t base = (size_t)h * d->words_cap, at = 0;
        for (int r = 0; r < count; r++) {
            size_t i = (size_t)ids[r] * PIXEL_BANDS;
            for (int b = 0; b < PIXEL_BANDS; b++)
                so[(size_t)r * PIXEL_BANDS + b] = (int32_t)(base + at + (size_t)(off[i + b] - off[i]));
            size_t len = (size_t)(off[i + PIXEL_BANDS] - off[i]);
            memcpy(sw + at, d->host_pixels + off[i], len * 4);
            at += len;
        }
        so[(size_t)count * PIXEL_BANDS] = (int32_t)(base + at);
        if (at)
            st = t->op->write_async(t->be, t->sparse_pixels, base * 4, sw, at * 4);
        if (!st)
            st = t->op->write_async(t->be, t->sparse_offsets, (size_t)slot0 * PIXEL_BANDS * 4,
                                    so, ((size_t)count * PIXEL_BANDS + 1) * 4);
    }
    if (!st && d->images == DATA_SPLIT) {
        st = t->op->write_async(t->be, d->ids, (size_t)h * W * 4, ids, (size_t)count * 4);
        for (int p = 0; !st && p < d->parts; p++) {
            int part_first = p * d->part_n;
            window_images_args a = {
                bref_at(t->train.images, 0), bref_at(t->train.labels, 0),
                bref_at(d->part_images[p], d->part_off[p]), bref_at(d->part_labels[p], 0),
                bref_at(d->ids, (size_t)h * W), count, slot0, (int)dim, part_first,
                set->n - part_first < d->part_n ? set->n - part_first : d->part_n};
            st = t->op->window_images(t->be, &a);
        }
    } else if (!st) {
        uint8_t *sl = d->stage_labels[h];
        for (int r = 0; r < count; r++)
            sl[r] = set->labels ? set->labels[ids[r]] : 0;
        st = t->op->write_async(t->be, t->train.labels, (size_t)slot0, sl, (size_t)count);
        if (!st && d->images == DATA_STREAMED) {
            uint8_t *si = d->stage_images[h];
            for (int r = 0; r < count; r++)
                memcpy(si + (size_t)r * dim, set->images + (size_t)ids[r] * dim, dim);
            st = t->op->write_async(t->be, t->train.images, (size_t)slot0 * dim, si,
                                    (size_t)count * dim);
        }
    }
    d->staged_gen[h] = t->finish_gen + 1;
    return st;
}

mc_status trainer_data_ready(trainer *t, int step, int count, int *steps_here)
{
    train_data *d = &t->data;
    *steps_here = count;
    if (!d->windowed)
        return MC_OK;
    int w = (int)((long long)step * t->batch / d->window);
    mc_status st = MC_OK;
    if (w != d->current) {
        if (w != d->ahead)
            st = enqueue_window(t, w);
        d->current = w;
        d->ahead = -1;
        if (!st && w + 1 < d->windows) {
            st = enqueue_window(t, w + 1);
            d->ahead = w + 1;
        }
    }
    int end = (int)(((long long)w + 1) * d->window / t->batch); /* the window's last step + 1 */
    if (end - step < count)
        *steps_here = end - step;
    return st;
}

void train_data_release(trainer *t)
{
    train_data *d = &t->data;
    for (int p = 0; p < d->parts; p++) {
        if (d->part_images[p])
            t->op->release(t->be, d->part_images[p]);
        if (d->part_labels[p])
            t->op->release(t->be, d->part_labels[p]);
    }
    if (d->ids)
        t->op->release(t->be, d->ids);
    if (d->image_ids)
        t->op->release(t->be, d->image_ids);
    for (int h = 0; h < 2; h++) {
        free(d->stage_images[h]);
        free(d->stage_labels[h]);
        free(d->stage_words[h]);
        free(d->stage_offsets[h]);
    }
    free(d->host_pixels);
    free(d->host_offsets);
    *d = (train_data){.current = -1, .ahead = -1};
}

void train_data_describe(const trainer *t, char *out, size_t len)
{
    const train_data *d = &t->data;
    const char *what = d->lists ? "pixel lists" : "images";
    if (!d->placed) {
        snprintf(out, len, "no training set");
    } else if (!d->windowed) {
        snprintf(out, len, "%s resident on the device%s", what,
                 d->lists && d->lists_in_place ? " (the host's copy, in place)" : "");
    } else if (d->images == DATA_SPLIT) {
        snprintf(out, len,
                 "images split into %d device buffers; windows of %d images "
                 "assembled on the device%s",
                 d->parts, d->window, d->lists ? ", their pixel lists streamed" : "");
    } else {
        snprintf(out, len, "%s streamed to the device in windows of %d images "
                           "(%d an epoch, two buffered)",
                 what, d->window, d->windows);
    }
}
