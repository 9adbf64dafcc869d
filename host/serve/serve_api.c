/* The endpoints' JSON replies and the classifier behind them (serve_api.h). */
#include "serve/serve_api.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/classify.h"
#include "serve/base64.h"
#include "serve/json_request.h"
#include "serve/json_text.h"

#define CLASSES 10
#define PIXELS (MC_MNIST_SIDE * MC_MNIST_SIDE)

struct serve_app {
    mc_classifier *classifier;
    pthread_mutex_t lock; /* held around every mc_classify */
    dataset test;
    float *test_outputs; /* test.n * CLASSES */
    int *mistakes, n_mistakes;
    const char *const *class_names;
    char *info_json, *mistakes_json; /* the replies that never change */
    size_t info_len, mistakes_len;
};

static const char *const digit_names[CLASSES] = {"0", "1", "2", "3", "4",
                                                 "5", "6", "7", "8", "9"};
/* Fashion-MNIST's labels, in its order (Xiao et al., 2017). */
static const char *const fashion_names[CLASSES] = {"T-shirt/top", "Trouser", "Pullover",
                                                   "Dress",       "Coat",    "Sandal",
                                                   "Shirt",       "Sneaker", "Bag",
                                                   "Ankle boot"};

/* Runs the whole test set through the classifier: outputs and the misclassified list. */
static mc_status classify_test_set(serve_app *app, mc_error *err)
{
    int n = app->test.n;
    app->test_outputs = malloc((size_t)n * CLASSES * sizeof(float));
    app->mistakes = malloc((size_t)(n ? n : 1) * sizeof(int));
    if (!app->test_outputs || !app->mistakes)
        return mc_fail(err, MC_ERR_NOMEM, "out of memory for the outputs of %d test images", n);
    mc_status st = mc_classify(app->classifier, app->test.images, n, app->test_outputs, err);
    if (st)
        return st;
    for (int i = 0; i < n; i++)
        if (mc_argmax(app->test_outputs + (size_t)i * CLASSES, CLASSES) != app->test.labels[i])
            app->mistakes[app->n_mistakes++] = i;
    return MC_OK;
}

/* Builds the replies of /api/info and /api/mistakes, which never change. */
static mc_status build_fixed_replies(serve_app *app, const mlp_spec *spec,
                                     const serve_model_info *info, backend *be, mc_error *err)
{
    json_text t;
    jt_init(&t);
    jt_printf(&t, "{\"model\":");
    jt_string(&t, info->model_name);
    jt_printf(&t, ",\"layers\":[");
    for (int l = 0; l <= spec->n_layers; l++)
        jt_printf(&t, l ? ",%d" : "%d", spec->sizes[l]);
    jt_printf(&t, "],\"hidden_activation\":");
    jt_string(&t, act_name(spec->hidden_act));
    jt_printf(&t, ",\"output\":");
    jt_string(&t, output_name(spec->output));
    jt_printf(&t, ",\"dataset\":");
    jt_string(&t, info->dataset);
    jt_printf(&t, ",\"classes\":[");
    for (int c = 0; c < CLASSES; c++) {
        jt_printf(&t, c ? "," : "");
        jt_string(&t, app->class_names[c]);
    }
    int n = app->test.n;
    jt_printf(&t, "],\"test_images\":%d,\"test_accuracy\":%.2f,\"mistakes\":%d,\"device\":", n,
              n ? 100.0 * (n - app->n_mistakes) / n : 0.0, app->n_mistakes);
    jt_string(&t, backend_name(be));
    jt_printf(&t, "}");
    app->info_json = jt_take(&t, &app->info_len);
    jt_printf(&t, "{\"indices\":[");
    for (int i = 0; i < app->n_mistakes; i++)
        jt_printf(&t, i ? ",%d" : "%d", app->mistakes[i]);
    jt_printf(&t, "]}");
    app->mistakes_json = jt_take(&t, &app->mistakes_len);
    if (!app->info_json || !app->mistakes_json)
        return mc_fail(err, MC_ERR_NOMEM, "out of memory for the server's replies");
    return MC_OK;
}

mc_status serve_app_create(serve_app **out, backend *be, const mlp_spec *spec,
                           const float *params, dataset *test, const serve_model_info *info,
                           mc_error *err)
{
    *out = NULL;
    if (spec->sizes[0] != PIXELS || spec->sizes[spec->n_layers] != CLASSES) {
        dataset_free(test);
        return mc_fail(err, MC_ERR_DATA,
                       "%s: the network takes %d inputs and gives %d outputs; serve needs "
                       "%d (28x28 images) and %d",
                       info->model_name, spec->sizes[0], spec->sizes[spec->n_layers], PIXELS,
                       CLASSES);
    }
    if (test->rows * test->cols != PIXELS || !test->labels || test->max_label >= CLASSES) {
        dataset_free(test);
        return mc_fail(err, MC_ERR_DATA,
                       "the %s test set is not labelled 28x28 images of %d classes",
                       info->dataset, CLASSES);
    }
    serve_app *app = calloc(1, sizeof *app);
    if (!app) {
        dataset_free(test);
        return mc_fail(err, MC_ERR_NOMEM, "out of memory");
    }
    app->test = *test;
    memset(test, 0, sizeof *test);
    app->class_names = strcmp(info->dataset, "fashion") == 0 ? fashion_names : digit_names;
    if (pthread_mutex_init(&app->lock, NULL) != 0) {
        dataset_free(&app->test);
        free(app);
        return mc_fail(err, MC_ERR_RUNTIME, "cannot create the classifier's mutex");
    }
    mc_status st = mc_classifier_create(&app->classifier, be, spec, params, err);
    if (!st)
        st = classify_test_set(app, err);
    if (!st)
        st = build_fixed_replies(app, spec, info, be, err);
    if (st) {
        serve_app_destroy(app);
        return st;
    }
    *out = app;
    return MC_OK;
}

int serve_app_test_images(const serve_app *app)
{
    return app->test.n;
}

int serve_app_mistakes(const serve_app *app)
{
    return app->n_mistakes;
}

void serve_app_destroy(serve_app *app)
{
    if (!app)
        return;
    mc_classifier_destroy(app->classifier);
    pthread_mutex_destroy(&app->lock);
    dataset_free(&app->test);
    free(app->test_outputs);
    free(app->mistakes);
    free(app->info_json);
    free(app->mistakes_json);
    free(app);
}

void serve_reply_free(serve_reply *r)
{
    free(r->owned);
    r->owned = NULL;
    r->body = NULL;
    r->body_len = 0;
}

void serve_error(serve_reply *r, unsigned status, const char *message)
{
    static const char nomem[] = "{\"error\":\"out of memory\"}";
    json_text t;
    jt_init(&t);
    jt_printf(&t, "{\"error\":");
    jt_string(&t, message);
    jt_printf(&t, "}");
    r->status = status;
    r->owned = jt_take(&t, &r->body_len);
    r->body = r->owned;
    if (!r->owned) {
        r->body = nomem;
        r->body_len = sizeof nomem - 1;
    }
}

/* Hands t's text to r as a 200 reply (500 when building it ran out of memory). */
static void reply_ok(serve_reply *r, json_text *t)
{
    r->status = 200;
    r->owned = jt_take(t, &r->body_len);
    r->body = r->owned;
    if (!r->owned)
        serve_error(r, 500, "out of memory");
}

void serve_info(serve_app *app, serve_reply *r)
{
    r->status = 200;
    r->owned = NULL;
    r->body = app->info_json;
    r->body_len = app->info_len;
}

void serve_mistakes(serve_app *app, serve_reply *r)
{
    r->status = 200;
    r->owned = NULL;
    r->body = app->mistakes_json;
    r->body_len = app->mistakes_len;
}

/* Appends "outputs":[...],"guess":g for the ten outputs. */
static void put_outputs(json_text *t, const float *outputs)
{
    jt_printf(t, ",\"outputs\":");
    jt_floats(t, outputs, CLASSES);
    jt_printf(t, ",\"guess\":%d", mc_argmax(outputs, CLASSES));
}

void serve_test_image(serve_app *app, const char *index_text, serve_reply *r)
{
    char why[160];
    int n = app->test.n;
    if (!index_text) {
        serve_error(r, 400, "index: missing (/api/test?index=N)");
        return;
    }
    /* a decimal integer, no sign, no spaces, in 0..n-1 */
    long index = 0;
    size_t len = strlen(index_text);
    int ok = len > 0 && len <= 9;
    for (size_t i = 0; ok && i < len; i++) {
        ok = index_text[i] >= '0' && index_text[i] <= '9';
        index = index * 10 + (index_text[i] - '0');
    }
    if (!ok || index >= n) {
        snprintf(why, sizeof why, "index '%.20s%s': expected an integer between 0 and %d",
                 index_text, len > 20 ? "..." : "", n - 1);
        serve_error(r, 400, why);
        return;
    }
    json_text t;
    jt_init(&t);
    jt_printf(&t, "{\"index\":%ld,\"label\":%d,\"image\":", index, app->test.labels[index]);
    jt_bytes(&t, app->test.images + (size_t)index * PIXELS, PIXELS);
    put_outputs(&t, app->test_outputs + (size_t)index * CLASSES);
    jt_printf(&t, "}");
    reply_ok(r, &t);
}

void serve_classify(serve_app *app, const char *body, size_t len, serve_reply *r)
{
    char why[256];
    json_field f[3] = {
        {"width", JSON_FIELD_INT, 1, SERVE_MAX_SIDE, 0, NULL, 0, 0},
        {"height", JSON_FIELD_INT, 1, SERVE_MAX_SIDE, 0, NULL, 0, 0},
        {"pixels", JSON_FIELD_STRING, 0, 0, 0, NULL, 0, 0},
    };
    if (json_parse_object(body, len, f, 3, why, sizeof why)) {
        serve_error(r, 400, why);
        return;
    }
    int w = (int)f[0].int_value, h = (int)f[1].int_value;
    size_t want = (size_t)w * (size_t)h, got = 0, bad = 0;
    uint8_t *gray = malloc(base64_max_decoded(f[2].str_len) + 1);
    if (!gray) {
        json_fields_free(f, 3);
        serve_error(r, 500, "out of memory");
        return;
    }
    int rc = base64_decode(f[2].str_value, f[2].str_len, gray, base64_max_decoded(f[2].str_len),
                           &got, &bad);
    json_fields_free(f, 3);
    if (rc) {
        snprintf(why, sizeof why, "pixels: not base64 (at character %zu)", bad);
        serve_error(r, 400, why);
    } else if (got != want) {
        snprintf(why, sizeof why, "pixels: %zu bytes, expected width x height = %d x %d = %zu",
                 got, w, h, want);
        serve_error(r, 400, why);
    }
    if (rc || got != want) {
        free(gray);
        return;
    }
    uint8_t image[PIXELS];
    float outputs[CLASSES];
    mc_error err = {{0}};
    rc = mc_mnist_preprocess(gray, w, h, image);
    free(gray);
    if (rc) { /* (the sides were checked: it does not happen) */
        serve_error(r, 400, "width and height must be between 1 and 4096");
        return;
    }
    pthread_mutex_lock(&app->lock);
    mc_status st = mc_classify(app->classifier, image, 1, outputs, &err);
    pthread_mutex_unlock(&app->lock);
    if (st) {
        serve_error(r, 500, err.msg);
        return;
    }
    json_text t;
    jt_init(&t);
    jt_printf(&t, "{\"image\":");
    jt_bytes(&t, image, PIXELS);
    put_outputs(&t, outputs);
    jt_printf(&t, "}");
    reply_ok(r, &t);
}
