/* In-memory datasets of 8-bit images with 8-bit labels, and the MNIST file set. */
#ifndef MNISTCL_DATASET_H
#define MNISTCL_DATASET_H

#include <stddef.h>
#include <stdint.h>

#include "mnistcl/status.h"

/**
 * Images as stored on disk: n images of rows x cols bytes, row-major, 0 = background.
 * A set the IDX loader made from a raw file is a private, writable mapping of the file
 * (copy-on-write: dataset_split rewrites it in place, the file is never changed); one
 * from a gzip file, and dataset_split's held-out part, are page-aligned allocations. The
 * trailing fields, which say how to release those, are zero in a set built by hand with
 * the first six initialised: dataset_free then free()s images and labels.
 */
typedef struct {
    uint8_t *images; /* n * rows * cols bytes */
    uint8_t *labels; /* n bytes; NULL when the set has no labels (Kaggle test CSV) */
    int n;           /* number of images */
    int rows, cols;  /* image size; rows * cols is the network's input size */
    int max_label;   /* largest label present; -1 without labels */
    /* Bytes before `images` in the same mapping or allocation that may be read. In a set
     * the IDX loader or dataset_split made, `images - images_lead` is page-aligned (16, the
     * header, for a mapped IDX file; 0 for an allocation) and the bytes from there up to
     * the page boundary after the last image may be read (past the end of a mapped file
     * they read as 0). Other sets (CSV, built by hand) have 0 here and whatever alignment
     * malloc gave: check `(uintptr_t)(images - images_lead)` before relying on it. */
    size_t images_lead;
    void *images_map;        /* the mapping holding images (munmap), or NULL: free(images) */
    size_t images_map_bytes; /* length of images_map; 0 when it is NULL */
    void *labels_map;        /* the mapping holding labels (munmap), or NULL: free(labels) */
    size_t labels_map_bytes; /* length of labels_map; 0 when it is NULL */
} dataset;

/** Which image collection `dataset_load_named` reads. */
typedef enum { DATASET_MNIST, DATASET_FASHION } dataset_kind;

/**
 * Loads a pair of IDX files (raw or gzip-compressed) into `out`: raw files are mapped
 * (never copied; see dataset), gzip files inflated into page-aligned memory.
 * Checks magic numbers, dimensions (at most INT_MAX images of at most INT_MAX pixels, the
 * data's size within size_t), that each file holds exactly the bytes its header describes,
 * that both files hold the same number of items, and that every label is below
 * `num_classes`. On failure `out` is left empty and `err` names the file and the problem.
 * A mapped file cut shorter by another program while the set is in use makes reads past
 * its new end fail (SIGBUS), as with any mapping.
 */
mc_status dataset_load_idx(dataset *out, const char *images_path, const char *labels_path,
                           int num_classes, mc_error *err);

/**
 * Loads the training (`train` != 0) or test set of `kind` from folder `dir`
 * (NULL: the default folder, see dataset_default_dir). Files may be raw or end in ".gz".
 */
mc_status dataset_load_named(dataset *out, dataset_kind kind, const char *dir, int train,
                             mc_error *err);

/**
 * The folder `dataset_load_named` uses when given none: $MNISTCL_DATA if set; for MNIST,
 * ./data/mnist if it exists, else the source tree's data/mnist; for Fashion-MNIST,
 * /usr/share/datasets/fashion-mnist (Debian's dataset-fashion-mnist).
 */
const char *dataset_default_dir(dataset_kind kind);

/** Keeps the first n images (n <= set->n); the memory is not shrunk. */
void dataset_truncate(dataset *set, int n);

/**
 * Moves `count` images of set (0 < count < set->n), drawn by a permutation of its images
 * seeded with `seed` (rng_shuffle of 0..n-1; its first `count` positions), into *out: a
 * new set (page-aligned images), in file order. set keeps the others, in file order, in
 * place (its memory is not shrunk; a mapped set's rewritten pages become private copies).
 * Not stratified: the classes are in whatever proportion the draw gives. max_label is
 * recomputed for both. MC_ERR_USAGE for a count out of range, MC_ERR_NOMEM; set is then
 * unchanged and out zeroed.
 */
mc_status dataset_split(dataset *set, int count, uint64_t seed, dataset *out, mc_error *err);

/**
 * Releases the arrays (unmaps the mappings, frees the allocations) and zeroes the struct;
 * safe on a zeroed or already freed set. Copies of the struct (e.g. a truncated view) share
 * the arrays: free exactly one of them.
 */
void dataset_free(dataset *set);

/** Pixels per image. */
static inline int dataset_dim(const dataset *set) { return set->rows * set->cols; }

/**
 * Lists the nonzero pixels of n images of dim pixels, each image cut into `bands` bands
 * of pixel indices (pixel_lists in backend.h, bands = PIXEL_BANDS): band b of image i is
 * (*pixels)[(*offsets)[i * bands + b] .. (*offsets)[i * bands + b + 1]), each word
 * (q << 8) | value, q increasing, q in [b * span, (b + 1) * span) with span =
 * ceil(dim / bands); *total words in all. Both arrays are page-aligned allocations that
 * free() releases (pixels has at least one word; offsets n * bands + 1). Runs on
 * min(online CPUs, 8) threads for large sets (the result does not depend on how many).
 * Returns 0, or -1 with both NULL when dim >= 2^24, there are more than 2^31 - 1 nonzero
 * pixels, or memory runs out.
 */
int dataset_pixel_lists(const uint8_t *images, int n, int dim, int bands, uint32_t **pixels,
                        int32_t **offsets, size_t *total);

#endif
