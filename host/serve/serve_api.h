/*
 * What `mnistcl serve` answers, apart from HTTP: a classifier on a device, the test set
 * with the network's outputs for every image (computed once, at the start), and the
 * JSON replies of the endpoints (docs/SERVE.md). Thread-safe: the classifier, which is
 * not, is used under a mutex.
 */
#ifndef MNISTCL_SERVE_API_H
#define MNISTCL_SERVE_API_H

#include <stddef.h>

#include "mnistcl/backend.h"
#include "mnistcl/dataset.h"
#include "mnistcl/mlp.h"
#include "mnistcl/status.h"

typedef struct serve_app serve_app;

/** Limits of a drawing POSTed to /api/classify: each side in 1..SERVE_MAX_SIDE pixels. */
#define SERVE_MAX_SIDE 1024

/** What the network is and where it came from, for /api/info. */
typedef struct {
    const char *model_name; /* the model file's name (no folders: it is shown to clients) */
    const char *dataset;    /* "mnist" or "fashion": also picks the class names */
} serve_model_info;

/** A reply: an HTTP status and its JSON body (body_len bytes). */
typedef struct {
    unsigned status;
    const char *body; /* owned (free it) when owned is not NULL; else it lives with the app */
    size_t body_len;
    char *owned;
} serve_reply;

/**
 * Puts the network (spec, params) on be (which must outlive the app), takes over the
 * test set (28x28 images, labels below the network's classes: checked) and runs it
 * through the classifier to find the test accuracy and the misclassified images.
 * spec must take 784 inputs and give 10 outputs. MC_ERR_DATA for a network or set
 * that does not fit, MC_ERR_NOMEM, MC_ERR_OPENCL, with err set; test is freed then too.
 */
mc_status serve_app_create(serve_app **out, backend *be, const mlp_spec *spec,
                           const float *params, dataset *test, const serve_model_info *info,
                           mc_error *err);

/** Test images, how many of them the network gets wrong. */
int serve_app_test_images(const serve_app *app);
int serve_app_mistakes(const serve_app *app);

/** Frees the app (not its backend); NULL is fine. */
void serve_app_destroy(serve_app *app);

/** GET /api/info: the model, its layers and activations, dataset, class names, accuracy. */
void serve_info(serve_app *app, serve_reply *r);

/** GET /api/mistakes: {"indices":[...]}, the test images the network gets wrong. */
void serve_mistakes(serve_app *app, serve_reply *r);

/**
 * GET /api/test?index=N (index_text: the argument as given, NULL when absent): the test
 * image N, its label, the network's outputs and guess; 400 for an index that is not a
 * decimal integer in range.
 */
void serve_test_image(serve_app *app, const char *index_text, serve_reply *r);

/**
 * POST /api/classify: body {"width":W,"height":H,"pixels":"<base64 of W*H bytes>"} (0 =
 * background, 255 = ink) → the 28x28 image MNIST's preprocessing makes of it, the ten
 * outputs, the guess. 400 with the reason for anything malformed; 500 if the device fails.
 */
void serve_classify(serve_app *app, const char *body, size_t len, serve_reply *r);

/** Fills r with status and {"error": message} (a fixed text when memory runs out). */
void serve_error(serve_reply *r, unsigned status, const char *message);

/** Frees what r owns. */
void serve_reply_free(serve_reply *r);

#endif
