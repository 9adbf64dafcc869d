/* `mnistcl predict` / `mnistcl forward`: what a saved model makes of single images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backend/augment.h"
#include "cli/augment_options.h"
#include "cli/cli_common.h"
#include "cli/cli_options.h"
#include "cli/display.h"
#include "mnistcl/csv.h"
#include "mnistcl/model_io.h"
#include "io/output_file.h"

static const char synopsis[] =
    "usage: mnistcl predict --model FILE (--index N | --random K | --interactive) [options]\n"
    "       mnistcl predict [--model FILE] (--index N | ...) --augment-demo N [--device SPEC]\n"
    "               [--shift PIXELS --rotate DEGREES --scale FRACTION --elastic-alpha A\n"
    "                --elastic-sigma S --augment-seed N]\n"
    "       mnistcl forward --model FILE --index N      (= predict --verbose)\n"
    "Shows images and the network's answer: the digit in the terminal, the ten output\n"
    "values as bars, the guess, the label, CORRECT or INCORRECT; --png draws tutorial 002's\n"
    "figure. Single images are computed on the host by the reference implementation.\n"
    "--augment-demo N shows each image instead beside N randomly distorted copies (copy k\n"
    "as the augment operation makes it in epoch k: shift, rotation, scaling, then Simard's\n"
    "elastic distortion), made on --device, with the model's guess for each when --model is\n"
    "given; --png then draws them as one grid.";

typedef struct {
    const char *model, *set_name, *dataset, *data_dir, *csv, *png, *device;
    const char *activation, *output; /* what a PyTorch state_dict is taken to have */
    int index, random, interactive, verbose, augment_demo;
    uint64_t seed;
    augment_options aug;
} predict_options;

/* The PNG name for image `index`: the pattern itself for a single image; with several,
 * "%d" in the pattern becomes the index, else "-INDEX" goes before ".png". */
static void png_name(char *out, size_t len, const char *pattern, int index, int several)
{
    const char *pct = strstr(pattern, "%d");
    size_t plen = strlen(pattern);
    if (!several)
        snprintf(out, len, "%s", pattern);
    else if (pct)
        snprintf(out, len, "%.*s%d%s", (int)(pct - pattern), pattern, index, pct + 2);
    else if (plen > 4 && strcmp(pattern + plen - 4, ".png") == 0)
        snprintf(out, len, "%.*s-%d.png", (int)(plen - 4), pattern, index);
    else
        snprintf(out, len, "%s-%d", pattern, index);
}

/* What --augment-demo keeps on its device: the set's images, one index, N outputs, the
   Gaussian; and the host's copies of the outputs (floats, then N + 1 uint8 images). */
typedef struct {
    backend *be;
    buf *images, *index, *x, *gauss;
    float *x_host;
    unsigned char *shown;
} demo_state;

/* Releases what demo_open made (any part may be missing). */
static void demo_close(demo_state *d)
{
    if (d->be) {
        d->be->ops->release(d->be, d->images);
        d->be->ops->release(d->be, d->index);
        d->be->ops->release(d->be, d->x);
        d->be->ops->release(d->be, d->gauss);
        backend_destroy(d->be);
    }
    free(d->x_host);
    free(d->shown);
    memset(d, 0, sizeof *d);
}

/* Opens --device and uploads what every demo of set needs (see demo_state). */
static mc_status demo_open(const predict_options *o, const dataset *set, demo_state *d,
                           mc_error *err)
{
    memset(d, 0, sizeof *d);
    int dim = dataset_dim(set), N = o->augment_demo;
    if (dim > AUGMENT_MAX_PIXELS)
        return mc_fail(err, MC_ERR_USAGE,
                       "--augment-demo distorts images of up to %d pixels; these have %d (%d x %d)",
                       AUGMENT_MAX_PIXELS, dim, set->cols, set->rows);
    mc_status st = cli_open_device(o->device, &d->be, err);
    if (st)
        return st;
    const backend_ops *ops = d->be->ops;
    size_t img_bytes = (size_t)set->n * dim, x_floats = (size_t)N * dim;
    d->x_host = malloc(x_floats * sizeof(float));
    d->shown = malloc((x_floats + dim) * sizeof(unsigned char));
    if (!d->x_host || !d->shown)
        st = mc_fail(err, MC_ERR_NOMEM, "out of memory");
    if (!st && ((st = ops->alloc(d->be, img_bytes, &d->images)) ||
                (st = ops->write(d->be, d->images, 0, set->images, img_bytes)) ||
                (st = ops->alloc(d->be, sizeof(int32_t), &d->index)) ||
                (st = ops->alloc(d->be, x_floats * sizeof(float), &d->x))))
        st = mc_fail(err, st, "cannot set up --augment-demo on %s", backend_name(d->be));
    if (!st && o->aug.alpha > 0.0f)
        st = augment_gauss_upload(d->be, o->aug.sigma, &d->gauss, err);
    if (st)
        demo_close(d);
    return st;
}

/* The guess of the network for an image (-1 without a model). */
static mc_status guess_of(const mlp_spec *spec, const float *params, const unsigned char *image,
                          int *guess)
{
    *guess = -1;
    if (!spec)
        return MC_OK;
    mlp_trace tr;
    if (mlp_trace_run(spec, params, image, &tr))
        return MC_ERR_NOMEM;
    int classes = spec->sizes[spec->n_layers];
    *guess = 0;
    for (int c = 1; c < classes; c++)
        if (tr.out[c] > tr.out[*guess])
            *guess = c;
    mlp_trace_free(&tr);
    return MC_OK;
}

/* Caps the demo's copies: titles and captions of up to 64 + 1 images. */
#define DEMO_MAX 64

/*
 * --augment-demo: image `index` of set and N copies from the augment operation on d's
 * device (copy k: epoch k, the same image id, seed and settings), each shown rounded to
 * 8 bits with the network's guess (spec NULL: none), side by side in the terminal and as
 * one PNG grid with --png.
 */
static mc_status demo_show(const predict_options *o, demo_state *d, const mlp_spec *spec,
                           const float *params, const dataset *set, const char *set_name,
                           int index, int several, mc_error *err)
{
    int dim = dataset_dim(set), N = o->augment_demo;
    const backend_ops *ops = d->be->ops;
    int32_t id = index;
    mc_status st = ops->write(d->be, d->index, 0, &id, sizeof id);
    augment_args a;
    augment_args_defaults(&a);
    augment_options_apply(&o->aug, &a);
    a.images = bref_at(d->images, 0);
    a.index = bref_at(d->index, 0);
    a.start = 0;
    a.count = 1;
    a.width = set->cols;
    a.height = set->rows;
    a.gauss = bref_at(d->gauss, 0);
    for (int k = 0; !st && k < N; k++) {
        op_args args;
        a.epoch = (uint32_t)k;
        a.x = bref_at(d->x, (size_t)k * dim);
        args.augment = a;
        st = backend_run(d->be, OP_AUGMENT, &args);
    }
    if (!st)
        st = ops->read(d->be, d->x, 0, d->x_host, (size_t)N * dim * sizeof(float));
    if (st)
        return mc_fail(err, st, "--augment-demo: the augment operation failed on %s",
                       backend_name(d->be));
    memcpy(d->shown, set->images + (size_t)index * dim, (size_t)dim);
    for (size_t q = 0; q < (size_t)N * dim; q++) {
        float v = d->x_host[q] * 255.0f + 0.5f;
        d->shown[dim + q] = v <= 0.0f ? 0 : v >= 255.0f ? 255 : (unsigned char)v;
    }
    static char titles[DEMO_MAX + 1][32], captions[DEMO_MAX + 1][32];
    shown_image imgs[DEMO_MAX + 1];
    int label = set->labels ? set->labels[index] : -1;
    for (int k = 0; k <= N; k++) {
        int guess;
        if (guess_of(spec, params, d->shown + (size_t)k * dim, &guess))
            return mc_fail(err, MC_ERR_NOMEM, "out of memory");
        if (k == 0)
            snprintf(titles[k], sizeof titles[k], "original");
        else
            snprintf(titles[k], sizeof titles[k], "epoch %d", k - 1);
        if (guess >= 0)
            snprintf(captions[k], sizeof captions[k], "guess %d%s", guess,
                     label < 0 ? "" : guess == label ? " ok" : " WRONG");
        else
            captions[k][0] = 0;
        imgs[k] = (shown_image){d->shown + (size_t)k * dim, titles[k], captions[k]};
    }
    char settings[160], title[400], label_text[32] = "";
    augment_options_describe(&o->aug, settings, sizeof settings);
    if (label >= 0)
        snprintf(label_text, sizeof label_text, ", label %d", label);
    snprintf(title, sizeof title, "%.60s image %d%s\n%d distortion%s on %s: %s", set_name, index,
             label_text, N, N == 1 ? "" : "s",
             backend_is_opencl(d->be) ? "OpenCL" : "the CPU reference", settings);
    printf("%s\n", title);
    const char *cols_env = getenv("COLUMNS");
    int width = cols_env && atoi(cols_env) > 0 ? atoi(cols_env) : 160;
    display_terminal_images(stdout, imgs, N + 1, set->rows, set->cols, width);
    if (o->png) {
        char path[OUTPUT_PATH_MAX + 64];
        png_name(path, sizeof path, o->png, index, several);
        st = display_png_grid(path, title, imgs, N + 1, set->rows, set->cols, err);
        if (!st)
            printf("  wrote %s\n", path);
    }
    printf("\n");
    fflush(stdout);
    return st;
}

/* Shows image `index` of set: terminal, trace (verbose), PNG (when asked); with demo
   (--augment-demo) its distortions instead (spec NULL: no model, no guesses). */
static mc_status show(const predict_options *o, demo_state *demo, const mlp_spec *spec,
                      const float *params, const dataset *set, const char *set_name, int index,
                      int several, mc_error *err)
{
    if (demo)
        return demo_show(o, demo, spec, params, set, set_name, index, several, err);
    mlp_trace tr;
    const unsigned char *image = set->images + (size_t)index * dataset_dim(set);
    if (mlp_trace_run(spec, params, image, &tr))
        return mc_fail(err, MC_ERR_NOMEM, "out of memory");
    int classes = spec->sizes[spec->n_layers], guess = 0;
    for (int c = 1; c < classes; c++)
        if (tr.out[c] > tr.out[guess])
            guess = c;
    prediction p = {image, set->rows, set->cols, index, set_name,
                    set->labels ? set->labels[index] : -1, tr.out, classes, spec->output, guess};
    const char *no_color = getenv("NO_COLOR");
    display_terminal(stdout, &p, isatty(STDOUT_FILENO) && !(no_color && *no_color));
    if (o->verbose)
        display_trace(stdout, spec, &tr);
    mc_status st = MC_OK;
    if (o->png) {
        char path[OUTPUT_PATH_MAX + 64];
        png_name(path, sizeof path, o->png, index, several);
        st = display_png(path, &p, err);
        if (!st)
            printf("  wrote %s\n", path);
    }
    printf("\n");
    fflush(stdout);
    mlp_trace_free(&tr);
    return st;
}

/* Tutorial 000's loop: ask for an index until end of input; bad entries ask again. */
static mc_status interactive(const predict_options *o, demo_state *demo, const mlp_spec *spec,
                             const float *params, const dataset *set, const char *set_name,
                             mc_error *err)
{
    char line[256];
    for (;;) {
        printf("Enter an image index between 0 and %d (end of input to quit): ", set->n - 1);
        fflush(stdout);
        if (!fgets(line, sizeof line, stdin)) {
            printf("\n");
            return MC_OK;
        }
        size_t len = strlen(line);
        int truncated = len == sizeof line - 1 && line[len - 1] != '\n';
        while (truncated && fgets(line + 128, 128, stdin) && !strchr(line + 128, '\n'))
            ;
        line[strcspn(line, "\r\n")] = 0;
        char *s = line;
        while (*s == ' ' || *s == '\t')
            s++;
        if (!*s)
            continue;
        char *end;
        long v = strtol(s, &end, 10);
        while (*end == ' ' || *end == '\t')
            end++;
        if (truncated || end == s || *end || v < 0 || v >= set->n) {
            printf("  '%.40s%s' is not an index between 0 and %d; try again\n", s,
                   truncated || strlen(s) > 40 ? "..." : "", set->n - 1);
            continue;
        }
        mc_status st = show(o, demo, spec, params, set, set_name, (int)v, 1, err);
        if (st)
            return st;
    }
}

int cmd_predict(int argc, char **argv)
{
    predict_options o = {.set_name = "test", .index = -1, .activation = "relu",
                         .output = "softmax",
                         .verbose = strcmp(argv[1], "forward") == 0,
                         .device = cli_default_device()};
    augment_options_defaults(&o.aug);
    cli_option table[32] = {
        cli_opt("model", OPT_STRING, &o.model, "FILE",
                "model file written by `train --save` (or a PyTorch nn.Sequential state_dict "
                "saved with safetensors)", 0, 0),
        cli_opt("activation", OPT_STRING, &o.activation, "NAME",
                "a state_dict's hidden activation: relu, sigmoid or tanh (mnistcl models "
                "record their own)", 0, 0),
        cli_opt("output", OPT_STRING, &o.output, "NAME",
                "a state_dict's output: softmax or sigmoid-mse", 0, 0),
        cli_opt("index", OPT_INT, &o.index, "N", "the image to show (-1: none)", -1, 1 << 30),
        cli_opt("random", OPT_INT, &o.random, "K", "show K random images", 0, 100000),
        cli_opt("seed", OPT_U64, &o.seed, "N", "seed of --random (0: from the clock)", 0, 0),
        cli_opt("interactive", OPT_FLAG, &o.interactive, NULL,
                "ask for indices until end of input (tutorial 000)", 0, 0),
        cli_opt("set", OPT_STRING, &o.set_name, "NAME", "test or train", 0, 0),
        cli_opt("dataset", OPT_STRING, &o.dataset, "NAME",
                "mnist or fashion (default: the model's, else mnist)", 0, 0),
        cli_opt("data", OPT_STRING, &o.data_dir, "DIR", "folder of the IDX files (raw or .gz)", 0,
                0),
        cli_opt("csv", OPT_STRING, &o.csv, "FILE", "take the images from a Kaggle CSV instead", 0,
                0),
        cli_opt("png", OPT_STRING, &o.png, "FILE",
                "also draw the figure (--augment-demo: the grid); several images: %d in FILE is "
                "the index",
                0, 0),
        cli_opt("verbose", OPT_FLAG, &o.verbose, NULL,
                "print every layer's values (tutorial 002's forward_propagation)", 0, 0),
        cli_opt("augment-demo", OPT_INT, &o.augment_demo, "N",
                "show each image beside N distorted copies instead, the model's guess (with "
                "--model) under each; with --png as one grid (0: off)",
                0, DEMO_MAX),
        cli_opt("device", OPT_STRING, &o.device, "SPEC",
                "where --augment-demo distorts: auto, cpu, opencl or P:D", 0, 0),
    };
    int n = 0;
    while (table[n].name)
        n++;
    n = augment_options_table(&o.aug, table, n, 1); /* --shift ... --augment-seed */
    mc_error err = {{0}};
    int rc = cli_parse(argc, argv, 2, table, n, synopsis, &err);
    if (rc == CLI_HELP)
        return 0;
    if (rc)
        return cli_report((mc_status)rc, &err);
    int modes = (o.index >= 0) + (o.random > 0) + o.interactive;
    if (!o.model && !o.augment_demo)
        return cli_report(mc_fail(&err, MC_ERR_USAGE, "%s needs --model FILE", argv[1]), &err);
    if (modes != 1)
        return cli_report(mc_fail(&err, MC_ERR_USAGE,
                                  "%s needs exactly one of --index N, --random K, --interactive",
                                  argv[1]),
                          &err);
    if (o.png) { /* before any work: the folder takes files, the name is no device */
        char first[OUTPUT_PATH_MAX + 64];
        png_name(first, sizeof first, o.png, o.index >= 0 ? o.index : 0, o.index < 0);
        mc_status pst = output_check(first, "--png", &err);
        if (pst)
            return cli_report(pst, &err);
    }
    int on_train = strcmp(o.set_name, "train") == 0;
    if (!on_train && strcmp(o.set_name, "test") != 0)
        return cli_report(mc_fail(&err, MC_ERR_USAGE, "--set '%s': expected test or train",
                                  o.set_name),
                          &err);
    mlp_spec spec;
    float *params = NULL;
    dataset set = {0};
    demo_state demo = {0};
    static st_file meta; /* the model's metadata (large: kept off the stack) */
    mc_status st = o.model ? cli_load_model(o.model, o.activation, o.output, &spec, &params,
                                            &meta, &err)
                           : MC_OK;
    const char *dataset_name = o.dataset ? o.dataset : cli_model_dataset(o.model ? &meta : NULL);
    const mlp_spec *net = o.model ? &spec : NULL; /* --augment-demo may go without one */
    if (!st && o.csv)
        st = csv_load(&set, o.csv, net ? spec.sizes[spec.n_layers] : 10, &err);
    else if (!st)
        st = cli_load_data(dataset_name, o.data_dir, on_train ? &set : NULL, on_train ? NULL : &set,
                           &err);
    const char *set_name = o.csv ? o.csv : o.set_name;
    if (!st && net && dataset_dim(&set) != spec.sizes[0])
        st = mc_fail(&err, MC_ERR_USAGE, "the model takes %d inputs but the images have %d pixels",
                     spec.sizes[0], dataset_dim(&set));
    if (!st && o.index >= set.n)
        st = mc_fail(&err, MC_ERR_USAGE, "--index %d: the %s set has images 0 to %d", o.index,
                     set_name, set.n - 1);
    if (!st && o.augment_demo > 0)
        st = demo_open(&o, &set, &demo, &err);
    demo_state *d = demo.be ? &demo : NULL;
    if (!st && o.index >= 0) {
        st = show(&o, d, net, params, &set, set_name, o.index, 0, &err);
    } else if (!st && o.random > 0) {
        uint64_t seed = o.seed ? o.seed : (uint64_t)time(NULL);
        printf("%d random %s images (seed %llu)\n\n", o.random, set_name,
               (unsigned long long)seed);
        rng r;
        rng_seed(&r, seed);
        for (int k = 0; !st && k < o.random; k++)
            st = show(&o, d, net, params, &set, set_name, (int)rng_below(&r, (uint32_t)set.n), 1,
                      &err);
    } else if (!st) {
        st = interactive(&o, d, net, params, &set, set_name, &err);
    }
    demo_close(&demo);
    dataset_free(&set);
    free(params);
    return cli_report(st, &err);
}
