/* `mnistcl predict` / `mnistcl forward`: what a saved model makes of single images. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cli/cli_common.h"
#include "cli/cli_options.h"
#include "cli/display.h"
#include "mnistcl/csv.h"
#include "mnistcl/model_io.h"
#include "io/output_file.h"

static const char synopsis[] =
    "usage: mnistcl predict --model FILE (--index N | --random K | --interactive) [options]\n"
    "       mnistcl forward --model FILE --index N      (= predict --verbose)\n"
    "Shows images and the network's answer: the digit in the terminal, the ten output\n"
    "values as bars, the guess, the label, CORRECT or INCORRECT; --png draws tutorial 002's\n"
    "figure. Single images are computed on the host by the reference implementation.";

typedef struct {
    const char *model, *set_name, *dataset, *data_dir, *csv, *png;
    int index, random, interactive, verbose;
    uint64_t seed;
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

/* Shows image `index` of set: terminal, trace (verbose), PNG (when asked). */
static mc_status show(const predict_options *o, const mlp_spec *spec, const float *params,
                      const dataset *set, const char *set_name, int index, int several,
                      mc_error *err)
{
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
static mc_status interactive(const predict_options *o, const mlp_spec *spec, const float *params,
                             const dataset *set, const char *set_name, mc_error *err)
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
        mc_status st = show(o, spec, params, set, set_name, (int)v, 1, err);
        if (st)
            return st;
    }
}

int cmd_predict(int argc, char **argv)
{
    predict_options o = {.set_name = "test", .dataset = "mnist", .index = -1,
                         .verbose = strcmp(argv[1], "forward") == 0};
    cli_option table[] = {
        cli_opt("model", OPT_STRING, &o.model, "FILE", "model file written by `train --save`", 0,
                0),
        cli_opt("index", OPT_INT, &o.index, "N", "the image to show (-1: none)", -1, 1 << 30),
        cli_opt("random", OPT_INT, &o.random, "K", "show K random images", 0, 100000),
        cli_opt("seed", OPT_U64, &o.seed, "N", "seed of --random (0: from the clock)", 0, 0),
        cli_opt("interactive", OPT_FLAG, &o.interactive, NULL,
                "ask for indices until end of input (tutorial 000)", 0, 0),
        cli_opt("set", OPT_STRING, &o.set_name, "NAME", "test or train", 0, 0),
        cli_opt("dataset", OPT_STRING, &o.dataset, "NAME", "mnist or fashion", 0, 0),
        cli_opt("data", OPT_STRING, &o.data_dir, "DIR", "folder of the IDX files (raw or .gz)", 0,
                0),
        cli_opt("csv", OPT_STRING, &o.csv, "FILE", "take the images from a Kaggle CSV instead", 0,
                0),
        cli_opt("png", OPT_STRING, &o.png, "FILE",
                "also draw the figure; several images: %d in FILE is the index", 0, 0),
        cli_opt("verbose", OPT_FLAG, &o.verbose, NULL,
                "print every layer's values (tutorial 002's forward_propagation)", 0, 0),
    };
    int n = (int)(sizeof table / sizeof table[0]);
    mc_error err = {{0}};
    int rc = cli_parse(argc, argv, 2, table, n, synopsis, &err);
    if (rc == CLI_HELP)
        return 0;
    if (rc)
        return cli_report((mc_status)rc, &err);
    int modes = (o.index >= 0) + (o.random > 0) + o.interactive;
    if (!o.model)
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
    mc_status st = model_load(o.model, &spec, &params, NULL, &err);
    if (!st && o.csv)
        st = csv_load(&set, o.csv, spec.sizes[spec.n_layers], &err);
    else if (!st)
        st = cli_load_data(o.dataset, o.data_dir, on_train ? &set : NULL, on_train ? NULL : &set,
                           &err);
    const char *set_name = o.csv ? o.csv : o.set_name;
    if (!st && dataset_dim(&set) != spec.sizes[0])
        st = mc_fail(&err, MC_ERR_USAGE, "the model takes %d inputs but the images have %d pixels",
                     spec.sizes[0], dataset_dim(&set));
    if (!st && o.index >= set.n)
        st = mc_fail(&err, MC_ERR_USAGE, "--index %d: the %s set has images 0 to %d", o.index,
                     set_name, set.n - 1);
    if (!st && o.index >= 0) {
        st = show(&o, &spec, params, &set, set_name, o.index, 0, &err);
    } else if (!st && o.random > 0) {
        uint64_t seed = o.seed ? o.seed : (uint64_t)time(NULL);
        printf("%d random %s images (seed %llu)\n\n", o.random, set_name,
               (unsigned long long)seed);
        rng r;
        rng_seed(&r, seed);
        for (int k = 0; !st && k < o.random; k++)
            st = show(&o, &spec, params, &set, set_name, (int)rng_below(&r, (uint32_t)set.n), 1,
                      &err);
    } else if (!st) {
        st = interactive(&o, &spec, params, &set, set_name, &err);
    }
    dataset_free(&set);
    free(params);
    return cli_report(st, &err);
}
