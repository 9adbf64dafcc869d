/*
 * Where the training images are for the step plans (train_data.c): resident in device
 * buffers, or in windows of the epoch's order, assembled on the device from parts of a
 * split set or on the host and streamed (trainer_data_ready in trainer_internal.h).
 */
#ifndef MNISTCL_TRAIN_DATA_H
#define MNISTCL_TRAIN_DATA_H

#include <stddef.h>

#include "backend/backend_ops.h"
#include "mnistcl/dataset.h"
#include "mnistcl/status.h"
#include "mnistcl/train.h"

/** How one array the training steps read lives on the device. */
typedef enum {
    DATA_ABSENT,   /* the steps do not read it */
    DATA_RESIDENT, /* one device buffer for the whole set */
    DATA_SPLIT,    /* parts of consecutive images, each a device buffer; windows are
                      assembled from them on the device (window_images) */
    DATA_STREAMED, /* on the host only; windows are assembled there and sent */
} data_placement;

#define DATA_MAX_PARTS 64       /* device buffers a split image set may take */
#define DATA_WINDOW_IMAGES 65536 /* images per window at most (then a multiple of the batch) */

/** The training set's placement (the trainer's `data`); zeroed = no training set. */
typedef struct {
    dataset host;           /* the caller's set (its arrays are read while the trainer
                               lives: in place, split or streamed) */
    int placed;             /* train_data_place has run */
    data_placement images;  /* the images (and labels) as the steps read them */
    data_placement lists;   /* the pixel lists, when the steps read them */
    int windowed;           /* steps read windows (images or lists not resident) */
    int window;             /* W: images per window, a multiple of the batch */
    int windows;            /* windows per epoch */
    int current, ahead;     /* the windows enqueued in this epoch (-1: none) */
    int passes;             /* whole-set passes (evaluate, predict, gradient) can read the
                               images: they are resident in one buffer */
    /* split images: parts of part_n consecutive images (the last may be shorter) */
    int parts, part_n;
    buf *part_images[DATA_MAX_PARTS], *part_labels[DATA_MAX_PARTS];
    size_t part_off[DATA_MAX_PARTS]; /* where image 0 of a part is in its buffer */
    buf *ids;               /* int32 (2W): the window's image ids, half h at h * W */
    buf *image_ids;         /* int32 (n): the epoch's permutation, the images' own ids,
                               for the distortions' draws (windowed with --augment) */
    /* the pixel lists on the host (kept while resident in place, or streamed) */
    uint32_t *host_pixels;
    int32_t *host_offsets;
    int lists_in_place;     /* the device reads host_pixels/host_offsets themselves */
    size_t words_cap;       /* pixel words one window can need: the largest W images' */
    /* the host's staging of a window, per half (streamed arrays only) */
    uint8_t *stage_images[2], *stage_labels[2];
    uint32_t *stage_words[2];
    int32_t *stage_offsets[2];
    unsigned long staged_gen[2]; /* t->finish_gen when the half's copies were queued, + 1 */
} train_data;

/**
 * Places the training set `set` on t's device (after the network's buffers and before
 * the plans): decides from the backend's limits (backend_caps.max_alloc_bytes and
 * memory_bytes, lowered by MNISTCL_DEVICE_LIMITS) and from what the steps read
 * (t->sparse_input, t->sequential) how each array lives, allocates and fills the device
 * buffers (t->train, t->sparse_pixels, t->sparse_offsets, t->index for windows). On CPU
 * devices a resident array is the host's own memory where the backend allows it
 * (alloc_host in place). MC_ERR_NOMEM with a message when not even a window of one batch
 * fits the device.
 */
mc_status train_data_place(trainer *t, const dataset *set, mc_error *err);

/** Starts an epoch's data: the permutation t->host_index (already drawn) is uploaded as
 *  the index (resident) or governs the windows (windowed, where the index is fixed). */
mc_status train_data_begin_epoch(trainer *t);

/** Releases what train_data_place made (the device buffers stay the trainer's). */
void train_data_release(trainer *t);

/** One line on how the training set lives on the device ("pixel lists resident on the
 *  device", "images split into 3 device buffers; windows of 65536 images assembled on the
 *  device", ...), for the run's log. */
void train_data_describe(const trainer *t, char *out, size_t len);

#endif
