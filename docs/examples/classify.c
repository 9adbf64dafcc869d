/*
 * classify: a program embedding libmnistcl. It loads a model file (`mnistcl train
 * --save`), opens a device, and prints the network's ten outputs and its guess for
 * images of the MNIST test set, classified together in one call.
 *
 *   cc classify.c $(pkg-config --cflags --libs mnistcl) -o classify
 *   ./classify --model FILE [--data DIR] [--device SPEC] INDEX...
 *
 * --data: the folder of the IDX files, raw or .gz (default: $MNISTCL_DATA, else
 * ./data/mnist, else the mnistcl source tree's data/mnist); --device: auto, cpu, opencl
 * or P:D as `mnistcl devices` numbers them (default: $MNISTCL_DEVICE, else auto).
 * Exit status: 0; 2 for a bad command line; else the library's mc_status.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mnistcl/backend.h>
#include <mnistcl/classify.h>
#include <mnistcl/dataset.h>
#include <mnistcl/model_io.h>
#include <mnistcl/opencl.h>
#include <mnistcl/status.h>

/* Prints what is wrong with the command line and the usage; returns the usage status. */
static int usage(const char *problem, const char *arg)
{
    fprintf(stderr, "classify: %s%s%s\n", problem, arg ? ": " : "", arg ? arg : "");
    fprintf(stderr, "usage: classify --model FILE [--data DIR] [--device SPEC] INDEX...\n");
    return MC_ERR_USAGE;
}

/* The image index text names (decimal, 0 <= index < n), or -1 when it names none. */
static long parse_index(const char *text, long n)
{
    char *end;
    errno = 0;
    long i = strtol(text, &end, 10);
    if (errno || end == text || *end || i < 0 || i >= n)
        return -1;
    return i;
}

/* Prints the library's message of a failure and returns its status. */
static int failed(mc_status st, const mc_error *err)
{
    fprintf(stderr, "classify: %s\n", err->msg);
    return st;
}

int main(int argc, char **argv)
{
    const char *model = NULL, *data = NULL, *device = NULL;
    int first = 1; /* the first INDEX */
    while (first < argc && strncmp(argv[first], "--", 2) == 0) {
        const char *opt = argv[first];
        if (strcmp(opt, "--model") && strcmp(opt, "--data") && strcmp(opt, "--device"))
            return usage("unknown option", opt);
        if (first + 1 >= argc)
            return usage("a value must follow", opt);
        const char *value = argv[first + 1];
        if (!strcmp(opt, "--model"))
            model = value;
        else if (!strcmp(opt, "--data"))
            data = value;
        else
            device = value;
        first += 2;
    }
    if (!model)
        return usage("--model FILE is required", NULL);
    if (first >= argc)
        return usage("no image index given", NULL);

    mc_error err;
    mlp_spec spec;
    dataset test = {0};
    float *params = NULL, *outputs = NULL;
    long *index = NULL;
    uint8_t *images = NULL;
    backend *be = NULL;
    mc_classifier *c = NULL;
    int n = argc - first, dim = 0;
    mc_status st = model_load(model, &spec, &params, NULL, &err);
    if (!st)
        st = dataset_load_named(&test, DATASET_MNIST, data, 0, &err);
    if (st) {
        failed(st, &err);
        goto out;
    }
    dim = dataset_dim(&test);
    if (spec.sizes[0] != dim) {
        fprintf(stderr, "classify: %s: the network takes %d pixels, the images have %d\n",
                model, spec.sizes[0], dim);
        st = MC_ERR_DATA;
        goto out;
    }
    /* the chosen images, one after the other, as mc_classify takes them */
    index = malloc((size_t)n * sizeof *index);
    images = malloc((size_t)n * (size_t)dim);
    if (!index || !images) {
        fprintf(stderr, "classify: out of memory for %d images\n", n);
        st = MC_ERR_NOMEM;
        goto out;
    }
    for (int k = 0; k < n; k++) {
        index[k] = parse_index(argv[first + k], test.n);
        if (index[k] < 0) {
            fprintf(stderr, "classify: %s is not an image index between 0 and %d\n",
                    argv[first + k], test.n - 1);
            st = MC_ERR_USAGE;
            goto out;
        }
        memcpy(images + (size_t)k * dim, test.images + (size_t)index[k] * dim, (size_t)dim);
    }

    st = backend_open(device, &be, &err);
    if (!st) {
        printf("device: %s\n", backend_name(be));
        st = mc_classifier_create(&c, be, &spec, params, &err);
    }
    if (!st) {
        int classes = mc_classifier_classes(c);
        outputs = malloc((size_t)n * (size_t)classes * sizeof *outputs);
        if (!outputs)
            st = mc_fail(&err, MC_ERR_NOMEM, "out of memory for %d outputs", n * classes);
        else
            st = mc_classify(c, images, n, outputs, &err);
        for (int k = 0; !st && k < n; k++) {
            const float *o = outputs + (size_t)k * classes;
            printf("image %ld, label %d\n", index[k], test.labels[index[k]]);
            for (int j = 0; j < classes; j++)
                printf("  %d: %.6f\n", j, o[j]);
            printf("  guess: %d\n", mc_argmax(o, classes));
        }
    }
    if (st)
        failed(st, &err);
out:
    free(outputs);
    mc_classifier_destroy(c);
    backend_destroy(be);
    free(images);
    free(index);
    free(params);
    dataset_free(&test);
    return st;
}
