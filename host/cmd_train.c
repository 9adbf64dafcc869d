/* `mnistcl train`: train a network, print its progress, optionally save it. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "mnistcl/csv.h"
#include "mnistcl/model_io.h"
#include "mnistcl/train.h"
#include "train_options.h"

static const char synopsis[] =
    "usage: mnistcl train [options]\n"
    "Trains a fully connected network on MNIST-format data and prints, per epoch: the mean\n"
    "training loss, the training accuracy measured during the epoch, the test accuracy after\n"
    "it, the epoch's seconds and images per second. Ends with the test accuracy.";

static int options_table(train_options *o, cli_option *t)
{
    int n = train_options_network_table(o, t, 0);
    t[n++] = cli_opt("dataset", OPT_STRING, &o->dataset, "NAME", "mnist or fashion", 0, 0);
    t[n++] = cli_opt("data", OPT_STRING, &o->data_dir, "DIR",
                     "IDX folder; none: $MNISTCL_DATA, ./data/mnist or the source tree's "
                     "data/mnist (fashion: /usr/share/datasets/fashion-mnist)",
                     0, 0);
    t[n++] = cli_opt("train-csv", OPT_STRING, &o->train_csv, "FILE",
                     "train on a Kaggle digit-recognizer CSV instead", 0, 0);
    t[n++] = cli_opt("test-csv", OPT_STRING, &o->test_csv, "FILE",
                     "test on a Kaggle CSV (without labels: see --predictions)", 0, 0);
    t[n++] = cli_opt("predictions", OPT_STRING, &o->predictions, "FILE",
                     "write the test set's predicted digits as CSV (ImageId,Label)", 0, 0);
    t[n++] = cli_opt("epochs", OPT_INT, &o->epochs, "N", "passes over the training set", 1,
                     1000000);
    t[n++] = cli_opt("batch", OPT_STRING, &o->batch, "N|full",
                     "images per SGD step; full = the whole training set", 0, 0);
    t[n++] = cli_opt("lr", OPT_FLOAT, &o->lr, "X", "learning rate", 1e-12, 1e12);
    t[n++] = cli_opt("momentum", OPT_FLOAT, &o->momentum, "X", "SGD momentum (0 = plain SGD)", 0,
                     0.9999);
    t[n++] = cli_opt("weight-decay", OPT_FLOAT, &o->weight_decay, "X", "L2 weight decay", 0, 1);
    t[n++] = cli_opt("shuffle", OPT_FLAG, &o->shuffle, NULL,
                     "reshuffle the training set every epoch (off: file order)", 0, 0);
    t[n++] = cli_opt("train-limit", OPT_INT, &o->train_limit, "N",
                     "use only the first N training images (0 = all)", 0, 1 << 30);
    t[n++] = cli_opt("print-every", OPT_INT, &o->print_every, "N",
                     "print (and test) every N epochs, and the last", 1, 1000000);
    t[n++] = cli_opt("device", OPT_STRING, &o->device, "SPEC",
                     "auto, cpu, opencl or P:D (see `mnistcl devices`; env MNISTCL_DEVICE)", 0,
                     0);
    t[n++] = cli_opt("save", OPT_STRING, &o->save, "FILE", "write the trained model (safetensors)",
                     0, 0);
    return n;
}

/* Loads the training and test sets the options name (IDX folders or CSV files). */
static mc_status load_sets(const train_options *o, dataset *train, dataset *test, mc_error *err)
{
    mc_status st;
    if (o->train_csv)
        st = csv_load(train, o->train_csv, 10, err);
    else
        st = cli_load_data(o->dataset, o->data_dir, train, NULL, err);
    if (st)
        return st;
    if (!train->labels) {
        dataset_free(train);
        return mc_fail(err, MC_ERR_DATA, "%s: has no label column; it cannot be trained on",
                       o->train_csv);
    }
    if (o->test_csv)
        st = csv_load(test, o->test_csv, 10, err);
    else
        st = cli_load_data(o->dataset, o->data_dir, NULL, test, err);
    if (!st && dataset_dim(test) != dataset_dim(train))
        st = mc_fail(err, MC_ERR_DATA, "the test images have %d pixels, the training images %d",
                     dataset_dim(test), dataset_dim(train));
    if (st) {
        dataset_free(train);
        dataset_free(test);
    }
    return st;
}

/* Records the run's settings and result in the saved model's metadata. */
static int run_metadata(const train_options *o, const pass_stats *test, const backend *be,
                        int has_test_labels, st_meta *meta)
{
    int n = 0;
    snprintf(meta[n].key, sizeof meta[n].key, "dataset");
    snprintf(meta[n++].value, sizeof meta[0].value, "%s",
             o->train_csv ? o->train_csv : o->dataset);
    if (o->preset) {
        snprintf(meta[n].key, sizeof meta[n].key, "preset");
        snprintf(meta[n++].value, sizeof meta[0].value, "%s", o->preset);
    }
    snprintf(meta[n].key, sizeof meta[n].key, "epochs");
    snprintf(meta[n++].value, sizeof meta[0].value, "%d", o->epochs);
    snprintf(meta[n].key, sizeof meta[n].key, "seed");
    snprintf(meta[n++].value, sizeof meta[0].value, "%llu", (unsigned long long)o->seed);
    if (has_test_labels) {
        snprintf(meta[n].key, sizeof meta[n].key, "test_accuracy");
        snprintf(meta[n++].value, sizeof meta[0].value, "%.4f", 100.0 * test->accuracy);
    }
    snprintf(meta[n].key, sizeof meta[n].key, "trained_on");
    snprintf(meta[n++].value, sizeof meta[0].value, "%s", be->name);
    return n;
}

/* Writes "ImageId,Label" rows (1-based ids, Kaggle's submission format) for the test set. */
static mc_status write_predictions(trainer *t, const char *path, int n, mc_error *err)
{
    FILE *f = fopen(path, "w");
    if (!f)
        return mc_fail(err, MC_ERR_IO, "%s: cannot create: %s", path, strerror(errno));
    float *p = malloc(sizeof(float) * 10 * 1000);
    mc_status st = p ? MC_OK : MC_ERR_NOMEM;
    fprintf(f, "ImageId,Label\n");
    for (int first = 0; !st && first < n; first += 1000) {
        int count = n - first < 1000 ? n - first : 1000;
        st = trainer_predict(t, 0, first, count, p);
        for (int i = 0; !st && i < count; i++) {
            int best = 0;
            for (int c = 1; c < 10; c++)
                if (p[i * 10 + c] > p[i * 10 + best])
                    best = c;
            fprintf(f, "%d,%d\n", first + i + 1, best);
        }
    }
    free(p);
    if (fclose(f) != 0 && !st)
        st = mc_fail(err, MC_ERR_IO, "%s: cannot write", path);
    if (!st)
        printf("wrote %d predictions to %s\n", n, path);
    return st;
}

int cmd_train(int argc, char **argv)
{
    train_options o;
    train_options_defaults(&o);
    mc_error err = {{0}};
    mc_status st = train_options_preset_from_argv(&o, argc, argv, 2, &err);
    if (st)
        return cli_report(st, &err);
    cli_option table[40];
    int n = options_table(&o, table);
    int rc = cli_parse(argc, argv, 2, table, n, synopsis, &err);
    if (rc == CLI_HELP) {
        train_options_print_presets(stdout);
        return 0;
    }
    if (rc)
        return cli_report((mc_status)rc, &err);

    int batch = 0;
    if (strcmp(o.batch, "full") != 0 && (st = cli_parse_int("batch", o.batch, 1, 1 << 30, &batch,
                                                            &err)))
        return cli_report(st, &err);
    dataset train = {0}, test = {0};
    mlp_spec spec;
    st = train_options_spec(&o, 784, &spec, &err); /* names checked before loading data */
    if (!st)
        st = load_sets(&o, &train, &test, &err);
    if (st)
        return cli_report(st, &err);
    if (o.train_limit > 0)
        dataset_truncate(&train, o.train_limit);
    backend *be = NULL;
    trainer *t = NULL;
    float *params = NULL;
    st = train_options_spec(&o, dataset_dim(&train), &spec, &err);
    if (!st)
        st = cli_open_device(o.device, &be, &err);
    train_config cfg = {.batch = batch, .lr = o.lr, .momentum = o.momentum,
                        .weight_decay = o.weight_decay, .shuffle = o.shuffle};
    if (!st)
        st = trainer_create(&t, be, &spec, &train, &test, &cfg, &err);
    if (st)
        goto out;
    size_t n_params = mlp_param_count(&spec);
    params = malloc(n_params * sizeof(float));
    if (!params) {
        st = mc_fail(&err, MC_ERR_NOMEM, "out of memory");
        goto out;
    }
    st = train_options_init_params(&o, &spec, params, &err);
    if (!st)
        st = trainer_set_params(t, params);
    if (st)
        goto out;
    rng shuffle_rng;
    rng_seed(&shuffle_rng, train_options_shuffle_seed(&o));

    char shape[128];
    mlp_format_layers(&spec, shape, sizeof shape);
    if (o.preset)
        printf("preset %s\n", o.preset);
    printf("network %s, %s hidden, %s output, %zu parameters, init %s, seed %llu\n", shape,
           act_name(spec.hidden_act), output_name(spec.output), n_params, o.init,
           (unsigned long long)o.seed);
    printf("data: %s, %d training and %d test images; batch %s, lr %g, momentum %g%s\n",
           o.train_csv ? o.train_csv : o.dataset, train.n, test.n, o.batch, o.lr, o.momentum,
           o.shuffle ? "" : ", file order");
    printf("%5s %9s %8s %8s %8s %10s\n", "epoch", "loss", "train%", "test%", "seconds",
           "images/s");
    fflush(stdout);
    pass_stats tr = {0}, te = {0};
    double total = 0;
    for (int epoch = 1; epoch <= o.epochs; epoch++) {
        double t0 = cli_now();
        st = trainer_begin_epoch(t, &shuffle_rng);
        if (!st)
            st = trainer_train_steps(t, 0, trainer_steps_per_epoch(t));
        if (!st)
            st = trainer_end_epoch(t, &tr);
        double seconds = cli_now() - t0;
        total += seconds;
        int show = epoch == 1 || epoch % o.print_every == 0 || epoch == o.epochs;
        if (!st && show && test.labels)
            st = trainer_evaluate(t, 0, &te);
        if (st) {
            mc_fail(&err, st, "training failed in epoch %d on %s (see above)", epoch, be->name);
            goto out;
        }
        if (!show)
            continue;
        if (test.labels)
            printf("%5d %9.4f %8.2f %8.2f %8.3f %10.0f\n", epoch, tr.loss, 100 * tr.accuracy,
                   100 * te.accuracy, seconds, train.n / seconds);
        else
            printf("%5d %9.4f %8.2f %8s %8.3f %10.0f\n", epoch, tr.loss, 100 * tr.accuracy, "-",
                   seconds, train.n / seconds);
        fflush(stdout);
    }
    if (test.labels)
        printf("test accuracy %.2f%% (%d/%d)\n", 100 * te.accuracy,
               (int)lround(te.accuracy * te.images), te.images);
    else
        printf("the test set has no labels: no test accuracy\n");
    printf("training took %.2f s\n", total);
    if (o.predictions && (st = write_predictions(t, o.predictions, test.n, &err)))
        goto out;
    if (o.save) {
        st = trainer_get_params(t, params);
        st_meta meta[8];
        int n_meta = run_metadata(&o, &te, be, test.labels != NULL, meta);
        if (!st)
            st = model_save(o.save, &spec, params, meta, n_meta, &err);
        if (!st)
            printf("saved %s\n", o.save);
    }
out:
    free(params);
    trainer_destroy(t);
    backend_destroy(be);
    dataset_free(&train);
    dataset_free(&test);
    return cli_report(st, &err);
}
