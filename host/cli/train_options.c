/* Training options, the tutorial presets, and the network built from them. */
#include "cli/train_options.h"

#include <string.h>

#include "cli/cli_common.h"

void train_options_defaults(train_options *o)
{
    memset(o, 0, sizeof *o);
    o->dataset = "mnist";
    o->hidden = "128";
    o->activation = "relu";
    o->output = "softmax";
    o->init = "he";
    o->batch = "128";
    o->device = cli_default_device();
    o->epochs = 5;
    o->shuffle = 1;
    o->print_every = 1;
    o->lr = 0.05f;
    o->momentum = 0.9f;
    o->seed = 1;
}

/* One of the NumPy tutorials (docs/PRESETS.md) reproduced as a set of defaults. */
typedef struct {
    const char *name, *source, *summary;
    const char *hidden, *activation, *output, *init, *batch;
    int epochs, train_limit, shuffle, print_every;
    float lr, momentum;
    uint64_t seed; /* 0: keep the default seed */
} preset;

static const preset presets[] = {
    {"botacademy", "tutorials 000/001 (Bot Academy)",
     "784-20-10 sigmoid/sigmoid, delta o - t, per-sample SGD lr 0.01, 3 epochs, in file order",
     "20", "sigmoid", "sigmoid-mse", "uniform", "1", 3, 0, 0, 1, 0.01f, 0.0f, 0},
    {"simple-nn", "tutorial 002 (simple_nn)",
     "784-16-10 sigmoid/softmax + cross-entropy, SGD batch 32 lr 0.5, 1 epoch", "16", "sigmoid",
     "softmax", "uniform", "32", 1, 0, 1, 1, 0.5f, 0.0f, 0},
    {"relu16-fullbatch", "tutorial 003 (Kaggle digit recognizer)",
     "784-16-10 relu/softmax, full-batch gradient descent on the first 42,000 images, lr 0.2, "
     "350 iterations; seed 2 (seeds 1-8 give 87.3-89.1%, docs/PRESETS.md)",
     "16", "relu", "softmax", "uniform", "full", 350, 42000, 0, 10, 0.2f, 0.0f, 2},
    {"dense128-fullbatch", "tutorial 004 (layers as objects)",
     "784-128-10 relu/softmax, randn x 0.01 weights, full-batch gradient descent, lr 0.1, "
     "250 epochs",
     "128", "relu", "softmax", "normal", "full", 250, 0, 0, 1, 0.1f, 0.0f, 0},
};
#define N_PRESETS ((int)(sizeof presets / sizeof presets[0]))

int train_options_preset_known(const char *name)
{
    for (int i = 0; i < N_PRESETS; i++)
        if (strcmp(presets[i].name, name) == 0)
            return 1;
    return 0;
}

mc_status train_options_preset(train_options *o, const char *name, mc_error *err)
{
    for (int i = 0; i < N_PRESETS; i++) {
        const preset *p = &presets[i];
        if (strcmp(p->name, name) != 0)
            continue;
        o->preset = p->name;
        o->layers = NULL;
        o->hidden = p->hidden;
        o->activation = p->activation;
        o->output = p->output;
        o->init = p->init;
        o->batch = p->batch;
        o->epochs = p->epochs;
        o->train_limit = p->train_limit;
        o->shuffle = p->shuffle;
        o->print_every = p->print_every;
        o->lr = p->lr;
        o->momentum = p->momentum;
        o->weight_decay = 0.0f;
        if (p->seed)
            o->seed = p->seed;
        return MC_OK;
    }
    return mc_fail(err, MC_ERR_USAGE,
                   "--preset '%s': unknown (botacademy, simple-nn, relu16-fullbatch, "
                   "dense128-fullbatch)",
                   name);
}

mc_status train_options_preset_from_argv(train_options *o, int argc, char **argv, int first,
                                         mc_error *err)
{
    /* the last one counts, as for every option given twice (cli_parse keeps the last) */
    const char *name = NULL;
    for (int i = first; i < argc; i++) {
        if (strcmp(argv[i], "--preset") == 0 && i + 1 < argc)
            name = argv[++i];
        else if (strncmp(argv[i], "--preset=", 9) == 0)
            name = argv[i] + 9;
    }
    return name ? train_options_preset(o, name, err) : MC_OK;
}

void train_options_print_presets(FILE *out)
{
    fprintf(out, "\npresets (--preset NAME; any option given beside it overrides it):\n");
    for (int i = 0; i < N_PRESETS; i++)
        fprintf(out, "  %-20s %s: %s\n", presets[i].name, presets[i].source, presets[i].summary);
}

int train_options_network_table(train_options *o, cli_option *t, int n)
{
    t[n++] = cli_opt("preset", OPT_STRING, &o->preset, "NAME",
                     "a tutorial's network and training (list below)", 0, 0);
    t[n++] = cli_opt("layers", OPT_STRING, &o->layers, "LIST",
                     "all layer sizes, e.g. 784,128,10 (overrides --hidden)", 0, 0);
    t[n++] = cli_opt("hidden", OPT_STRING, &o->hidden, "LIST",
                     "hidden layer sizes, e.g. 128 or 256,128, or none", 0, 0);
    t[n++] = cli_opt("activation", OPT_STRING, &o->activation, "NAME",
                     "hidden activation: relu, sigmoid or tanh", 0, 0);
    t[n++] = cli_opt("output", OPT_STRING, &o->output, "NAME",
                     "softmax (cross-entropy) or sigmoid-mse (squared error, delta o-t)", 0, 0);
    t[n++] = cli_opt("init", OPT_STRING, &o->init, "NAME",
                     "weights: he, xavier, uniform (-0.5..0.5) or normal (x0.01)", 0, 0);
    t[n++] = cli_opt("seed", OPT_U64, &o->seed, "N", "seed of the initial weights and the shuffles",
                     0, 0);
    return n;
}

mc_status train_options_spec(const train_options *o, int inputs, mlp_spec *spec, mc_error *err)
{
    if (init_parse(o->init) < 0)
        return mc_fail(err, MC_ERR_USAGE, "--init '%s': expected he, xavier, uniform or normal",
                       o->init);
    return cli_network_spec(spec, o->layers, o->hidden, o->activation, o->output, inputs, 10,
                            err);
}

mc_status train_options_init_params(const train_options *o, const mlp_spec *spec, float *params,
                                    mc_error *err)
{
    int init = init_parse(o->init);
    if (init < 0)
        return mc_fail(err, MC_ERR_USAGE, "--init '%s': expected he, xavier, uniform or normal",
                       o->init);
    rng r;
    rng_seed(&r, o->seed);
    mlp_init_params(spec, (init_kind)init, &r, params);
    return MC_OK;
}

uint64_t train_options_shuffle_seed(const train_options *o)
{
    return o->seed ^ 0x5851f42d4c957f2dULL;
}
