/* `mnistcl train`: train a network, print one line per epoch, optionally save it. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "cli_options.h"
#include "mnistcl/model_io.h"
#include "mnistcl/train.h"

/* Everything `train` can be told, with its defaults. */
typedef struct {
    const char *dataset, *data_dir, *layers, *hidden, *activation, *output, *init, *batch;
    const char *device, *save;
    int epochs, train_limit, shuffle;
    float lr, momentum, weight_decay;
    uint64_t seed;
} train_options;

static const char synopsis[] =
    "usage: mnistcl train [options]\n"
    "Trains a fully connected network on MNIST-format data and prints, per epoch: the mean\n"
    "training loss, the training accuracy measured during the epoch, the test accuracy after\n"
    "it, the epoch's seconds and images per second.";

static int options_table(train_options *o, cli_option *t)
{
    int n = 0;
    t[n++] = cli_opt("dataset", OPT_STRING, &o->dataset, "NAME", "mnist or fashion", 0, 0);
    t[n++] = cli_opt("data", OPT_STRING, &o->data_dir, "DIR",
                          "IDX folder; none: $MNISTCL_DATA, ./data/mnist or the source tree's data/mnist (fashion: /usr/share/datasets/fashion-mnist)", 0, 0);
    t[n++] = cli_opt("layers", OPT_STRING, &o->layers, "LIST",
                          "all layer sizes, e.g. 784,128,10 (overrides --hidden)", 0, 0);
    t[n++] = cli_opt("hidden", OPT_STRING, &o->hidden, "LIST",
                          "hidden layer sizes, e.g. 128 or 256,128, or none", 0, 0);
    t[n++] = cli_opt("activation", OPT_STRING, &o->activation, "NAME",
                          "hidden activation: relu, sigmoid or tanh", 0, 0);
    t[n++] = cli_opt("output", OPT_STRING, &o->output, "NAME",
                          "softmax (cross-entropy) or sigmoid-mse (squared error, delta o-t)", 0,
                          0);
    t[n++] = cli_opt("init", OPT_STRING, &o->init, "NAME",
                          "weights: he, xavier, uniform (-0.5..0.5) or normal (x0.01)", 0, 0);
    t[n++] = cli_opt("epochs", OPT_INT, &o->epochs, "N", "passes over the training set", 1,
                          100000);
    t[n++] = cli_opt("batch", OPT_STRING, &o->batch, "N|full",
                          "images per SGD step; full = the whole training set", 0, 0);
    t[n++] = cli_opt("lr", OPT_FLOAT, &o->lr, "X", "learning rate", 1e-12, 1e12);
    t[n++] = cli_opt("momentum", OPT_FLOAT, &o->momentum, "X", "SGD momentum (0 = plain SGD)",
                          0, 0.9999);
    t[n++] = cli_opt("weight-decay", OPT_FLOAT, &o->weight_decay, "X", "L2 weight decay", 0,
                          1);
    t[n++] = cli_opt("shuffle", OPT_FLAG, &o->shuffle, NULL,
                          "reshuffle the training set every epoch", 0, 0);
    t[n++] = cli_opt("train-limit", OPT_INT, &o->train_limit, "N",
                          "use only the first N training images (0 = all)", 0, 1 << 30);
    t[n++] = cli_opt("seed", OPT_U64, &o->seed, "N",
                          "seed of the initial weights and the shuffles", 0, 0);
    t[n++] = cli_opt("device", OPT_STRING, &o->device, "SPEC",
                          "auto, cpu, opencl or P:D (see `mnistcl devices`; env MNISTCL_DEVICE)",
                          0, 0);
    t[n++] = cli_opt("save", OPT_STRING, &o->save, "FILE",
                          "write the trained model (safetensors)", 0, 0);
    return n;
}

/* Records the run's settings and result in the saved model's metadata. */
static int run_metadata(const train_options *o, const pass_stats *test, const backend *be,
                        st_meta *meta)
{
    int n = 0;
    snprintf(meta[n].key, sizeof meta[n].key, "dataset");
    snprintf(meta[n++].value, sizeof meta[0].value, "%s", o->dataset);
    snprintf(meta[n].key, sizeof meta[n].key, "epochs");
    snprintf(meta[n++].value, sizeof meta[0].value, "%d", o->epochs);
    snprintf(meta[n].key, sizeof meta[n].key, "seed");
    snprintf(meta[n++].value, sizeof meta[0].value, "%llu", (unsigned long long)o->seed);
    snprintf(meta[n].key, sizeof meta[n].key, "test_accuracy");
    snprintf(meta[n++].value, sizeof meta[0].value, "%.4f", 100.0 * test->accuracy);
    snprintf(meta[n].key, sizeof meta[n].key, "trained_on");
    snprintf(meta[n++].value, sizeof meta[0].value, "%s", be->name);
    return n;
}

int cmd_train(int argc, char **argv)
{
    train_options o = {.dataset = "mnist", .hidden = "128", .activation = "relu",
                       .output = "softmax", .init = "he", .batch = "128", .device = "auto",
                       .epochs = 5, .shuffle = 1, .lr = 0.05f, .momentum = 0.9f, .seed = 1};
    cli_option table[32];
    int n = options_table(&o, table);
    mc_error err = {{0}};
    int rc = cli_parse(argc, argv, 2, table, n, synopsis, &err);
    if (rc == CLI_HELP)
        return 0;
    if (rc)
        return cli_report((mc_status)rc, &err);

    int batch = 0;
    if (strcmp(o.batch, "full") != 0) {
        mc_status st = cli_parse_int("batch", o.batch, 1, 1 << 30, &batch, &err);
        if (st)
            return cli_report(st, &err);
    }
    int init = init_parse(o.init);
    if (init < 0) {
        mc_fail(&err, MC_ERR_USAGE, "--init '%s': expected he, xavier, uniform or normal", o.init);
        return cli_report(MC_ERR_USAGE, &err);
    }
    dataset train = {0}, test = {0};
    mc_status st = cli_load_data(o.dataset, o.data_dir, &train, &test, &err);
    if (st)
        return cli_report(st, &err);
    if (o.train_limit > 0)
        dataset_truncate(&train, o.train_limit);
    mlp_spec spec;
    st = cli_network_spec(&spec, o.layers, o.hidden, o.activation, o.output, dataset_dim(&train),
                          10, &err);
    backend *be = NULL;
    trainer *t = NULL;
    float *params = NULL;
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
    rng init_rng, shuffle_rng;
    rng_seed(&init_rng, o.seed);
    rng_seed(&shuffle_rng, o.seed ^ 0x5851f42d4c957f2dULL);
    mlp_init_params(&spec, (init_kind)init, &init_rng, params);
    st = trainer_set_params(t, params);
    if (st)
        goto out;

    char shape[128];
    mlp_format_layers(&spec, shape, sizeof shape);
    printf("network %s, %s hidden, %s output, %zu parameters, init %s, seed %llu\n", shape,
           act_name(spec.hidden_act), output_name(spec.output), n_params, o.init,
           (unsigned long long)o.seed);
    printf("data: %s, %d training and %d test images; batch %s, lr %g, momentum %g%s\n",
           o.dataset, train.n, test.n, o.batch, o.lr, o.momentum, o.shuffle ? "" : ", no shuffle");
    printf("%5s %9s %8s %8s %8s %10s\n", "epoch", "loss", "train%", "test%", "seconds",
           "images/s");
    fflush(stdout);
    pass_stats tr = {0}, te = {0};
    for (int epoch = 1; epoch <= o.epochs; epoch++) {
        double t0 = cli_now();
        st = trainer_begin_epoch(t, &shuffle_rng);
        if (!st)
            st = trainer_train_steps(t, 0, trainer_steps_per_epoch(t));
        if (!st)
            st = trainer_end_epoch(t, &tr);
        double seconds = cli_now() - t0;
        if (!st)
            st = trainer_evaluate(t, 0, &te);
        if (st) {
            mc_fail(&err, st, "training failed in epoch %d on %s (see above)", epoch, be->name);
            goto out;
        }
        printf("%5d %9.4f %8.2f %8.2f %8.2f %10.0f\n", epoch, tr.loss, 100 * tr.accuracy,
               100 * te.accuracy, seconds, train.n / seconds);
        fflush(stdout);
    }
    printf("test accuracy %.2f%% (%d/%d)\n", 100 * te.accuracy,
           (int)lround(te.accuracy * te.images), te.images);
    if (o.save) {
        st = trainer_get_params(t, params);
        st_meta meta[8];
        int n_meta = run_metadata(&o, &te, be, meta);
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
