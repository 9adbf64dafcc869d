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
    o->optimizer = "sgd";
    o->beta1 = 0.9f;
    o->beta2 = 0.999f;
    o->eps = 1e-8f;
    o->schedule = "constant";
    o->step_epochs = 10;
    o->gamma = 0.1f;
    augment_options_defaults(&o->aug);
}

/*
 * A preset (docs/PRESETS.md): one of the NumPy tutorials reproduced as a set of defaults,
 * or a recipe of ours for a record. Fields left out keep train_options_defaults' values
 * (SGD at a constant rate, no dropout, no distortions); layers NULL: 784-hidden-10.
 */
typedef struct {
    const char *name, *source, *summary;
    const char *layers, *hidden, *activation, *output, *init, *batch;
    int epochs, train_limit, shuffle, print_every;
    float lr, momentum, weight_decay;
    uint64_t seed; /* 0: keep the default seed */
    const char *optimizer, *schedule; /* NULL: sgd, constant */
    int warmup;
    float dropout, input_dropout;
    int augment;                      /* with the distortions below */
    float shift, rotate, scale, elastic_alpha;
} preset;

static const preset presets[] = {
    {.name = "botacademy", .source = "tutorials 000/001 (Bot Academy)",
     .summary = "784-20-10 sigmoid/sigmoid, delta o - t, per-sample SGD lr 0.01, 3 epochs, in "
                "file order",
     .hidden = "20", .activation = "sigmoid", .output = "sigmoid-mse", .init = "uniform",
     .batch = "1", .epochs = 3, .shuffle = 0, .print_every = 1, .lr = 0.01f},
    {.name = "simple-nn", .source = "tutorial 002 (simple_nn)",
     .summary = "784-16-10 sigmoid/softmax + cross-entropy, SGD batch 32 lr 0.5, 1 epoch",
     .hidden = "16", .activation = "sigmoid", .output = "softmax", .init = "uniform",
     .batch = "32", .epochs = 1, .shuffle = 1, .print_every = 1, .lr = 0.5f},
    {.name = "relu16-fullbatch", .source = "tutorial 003 (Kaggle digit recognizer)",
     .summary = "784-16-10 relu/softmax, full-batch gradient descent on the first 42,000 "
                "images, lr 0.2, 350 iterations; seed 2 (seeds 1-8 give 87.3-89.1%, "
                "docs/PRESETS.md)",
     .hidden = "16", .activation = "relu", .output = "softmax", .init = "uniform",
     .batch = "full", .epochs = 350, .train_limit = 42000, .shuffle = 0, .print_every = 10,
     .lr = 0.2f, .seed = 2},
    {.name = "dense128-fullbatch", .source = "tutorial 004 (layers as objects)",
     .summary = "784-128-10 relu/softmax, randn x 0.01 weights, full-batch gradient descent, "
                "lr 0.1, 250 epochs",
     .hidden = "128", .activation = "relu", .output = "softmax", .init = "normal",
     .batch = "full", .epochs = 250, .shuffle = 0, .print_every = 1, .lr = 0.1f},
    {.name = "speedrun", .source = "ours (docs/PRESETS.md)",
     .summary = "98% in seconds: 784-128-10 relu/softmax, SGD momentum 0.9, batch 128, "
                "one-cycle to lr 0.2, 6 epochs, fixed in advance",
     .hidden = "128", .activation = "relu", .output = "softmax", .init = "he", .batch = "128",
     .epochs = 6, .shuffle = 1, .print_every = 1, .lr = 0.2f, .momentum = 0.9f,
     .schedule = "onecycle"},
    {.name = "simard-800", .source = "Simard, Steinkraus & Platt, ICDAR 2003",
     .summary = "784-800-10 relu/softmax on elastically distorted images (alpha 34, sigma 4), "
                "SGD momentum 0.9, batch 128, cosine from lr 0.05, 150 epochs",
     .hidden = "800", .activation = "relu", .output = "softmax", .init = "he", .batch = "128",
     .epochs = 150, .shuffle = 1, .print_every = 1, .lr = 0.05f, .momentum = 0.9f,
     .schedule = "cosine", .augment = 1, .elastic_alpha = 34},
    {.name = "best", .source = "ours (docs/PRESETS.md)",
     .summary = "784-1024-1024-10 relu/softmax, distorted images (shift 2, rotate 10, scale "
                "0.1, elastic 34/4), SGD momentum 0.9, cosine from lr 0.05, 140 epochs",
     .layers = "784,1024,1024,10", .activation = "relu", .output = "softmax", .init = "he",
     .batch = "128", .epochs = 140, .shuffle = 1, .print_every = 1, .lr = 0.05f,
     .momentum = 0.9f, .schedule = "cosine", .augment = 1, .shift = 2,
     .rotate = 10, .scale = 0.1f, .elastic_alpha = 34},
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
        train_options d; /* what a preset leaves out */
        train_options_defaults(&d);
        o->preset = p->name;
        o->layers = p->layers;
        o->hidden = p->hidden ? p->hidden : d.hidden;
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
        o->weight_decay = p->weight_decay;
        if (p->seed)
            o->seed = p->seed;
        o->optimizer = p->optimizer ? p->optimizer : d.optimizer;
        o->schedule = p->schedule ? p->schedule : d.schedule;
        o->warmup = p->warmup;
        o->dropout = p->dropout;
        o->input_dropout = p->input_dropout;
        o->augment = p->augment;
        if (p->augment) { /* the preset's distortions, each 0 where it has none */
            o->aug.shift = p->shift, o->aug.rotate = p->rotate, o->aug.scale = p->scale;
            o->aug.alpha = p->elastic_alpha, o->aug.sigma = d.aug.sigma;
        }
        return MC_OK;
    }
    return mc_fail(err, MC_ERR_USAGE,
                   "--preset '%s': unknown (botacademy, simple-nn, relu16-fullbatch, "
                   "dense128-fullbatch, speedrun, simard-800, best)",
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
                     "a tutorial's or a record's network and training (list below)", 0, 0);
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
    t[n++] = cli_opt("seed", OPT_U64, &o->seed, "N",
                     "seed of the initial weights, the shuffles, the --val draw, the dropout "
                     "masks and the distortions (each its own stream)",
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

uint64_t train_options_val_seed(const train_options *o)
{
    return o->seed ^ 0x9e3779b97f4a7c15ULL;
}

static const char *const optimizer_names[] = {"sgd", "nesterov", "adam", "adamw"};
static const char *const schedule_names[] = {"constant", "step", "cosine", "onecycle"};

int train_options_rule_table(train_options *o, cli_option *t, int n)
{
    t[n++] = cli_opt("optimizer", OPT_STRING, &o->optimizer, "NAME",
                     "sgd (with --momentum), nesterov (SGD with Nesterov momentum), adam or "
                     "adamw: PyTorch's torch.optim formulas (adam/adamw ignore --momentum)",
                     0, 0);
    t[n++] = cli_opt("beta1", OPT_FLOAT, &o->beta1, "X", "adam/adamw: first-moment decay", 0,
                     0.999999);
    t[n++] = cli_opt("beta2", OPT_FLOAT, &o->beta2, "X", "adam/adamw: second-moment decay", 0,
                     0.999999);
    t[n++] = cli_opt("eps", OPT_FLOAT, &o->eps, "X", "adam/adamw: added to sqrt(v)", 1e-30, 1);
    t[n++] = cli_opt("schedule", OPT_STRING, &o->schedule, "NAME",
                     "the rate over the run, per step: constant; step (x gamma every "
                     "--step-epochs); cosine (from --lr down to --final-lr at the last step); "
                     "onecycle (PyTorch's OneCycleLR: from lr/25 up to --lr over --warmup "
                     "steps, default 30% of the run, then down to lr/25e4)",
                     0, 0);
    t[n++] = cli_opt("warmup", OPT_INT, &o->warmup, "STEPS",
                     "linear warm-up from lr/STEPS to --lr over the first STEPS steps (onecycle: "
                     "its rising phase)",
                     0, 1 << 30);
    t[n++] = cli_opt("step-epochs", OPT_INT, &o->step_epochs, "N",
                     "step schedule: epochs between drops", 1, 1000000);
    t[n++] = cli_opt("gamma", OPT_FLOAT, &o->gamma, "X", "step schedule: factor of each drop",
                     1e-12, 1);
    t[n++] = cli_opt("final-lr", OPT_FLOAT, &o->final_lr, "X",
                     "cosine schedule: the rate at the run's end", 0, 1e12);
    t[n++] = cli_opt("dropout", OPT_FLOAT, &o->dropout, "P",
                     "drop each hidden unit with probability P while training (inverted "
                     "dropout: the kept ones scaled by 1/(1-P); none at evaluation)",
                     0, 0.99);
    t[n++] = cli_opt("input-dropout", OPT_FLOAT, &o->input_dropout, "P",
                     "drop each input pixel with probability P while training", 0, 0.99);
    t[n++] = cli_opt("augment", OPT_FLAG, &o->augment, NULL,
                     "distort every training image anew each epoch, on the device: a random "
                     "shift, rotation and scaling, then Simard's elastic distortion (see "
                     "`mnistcl predict --augment-demo`); off: the images as they are",
                     0, 0);
    return augment_options_table(&o->aug, t, n, 0); /* --shift ... --elastic-sigma */
}

/* The index of `name` in names (count of them), or -1. */
static int name_index(const char *const *names, int count, const char *name)
{
    for (int i = 0; i < count; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

mc_status train_options_config(const train_options *o, int batch, train_config *cfg,
                               mc_error *err)
{
    int opt = name_index(optimizer_names, 4, o->optimizer);
    if (opt < 0)
        return mc_fail(err, MC_ERR_USAGE,
                       "--optimizer %s: not one of sgd, nesterov, adam, adamw", o->optimizer);
    int sched = name_index(schedule_names, 4, o->schedule);
    if (sched < 0)
        return mc_fail(err, MC_ERR_USAGE,
                       "--schedule %s: not one of constant, step, cosine, onecycle", o->schedule);
    if (opt == MC_OPT_NESTEROV && !(o->momentum > 0.0f))
        return mc_fail(err, MC_ERR_USAGE, "--optimizer nesterov needs --momentum above 0");
    *cfg = (train_config){.batch = batch, .lr = o->lr, .momentum = o->momentum,
                          .weight_decay = o->weight_decay, .shuffle = o->shuffle,
                          .optimizer = (mc_optimizer)opt, .beta1 = o->beta1, .beta2 = o->beta2,
                          .eps = o->eps, .schedule = (mc_schedule)sched, .epochs = o->epochs,
                          .warmup_steps = o->warmup, .step_epochs = o->step_epochs,
                          .gamma = o->gamma, .final_lr = o->final_lr, .dropout = o->dropout,
                          .input_dropout = o->input_dropout,
                          .seed = o->seed ^ 0xd1b54a32d192ed03ULL, /* a stream of its own */
                          .augment = o->augment, .augment_shift = o->aug.shift,
                          .augment_rotate = o->aug.rotate, .augment_scale = o->aug.scale,
                          .augment_alpha = o->aug.alpha, .augment_sigma = o->aug.sigma};
    return MC_OK;
}

int train_options_describe_rule(const train_options *o, char *out, size_t len)
{
    int adam = strcmp(o->optimizer, "adam") == 0 || strcmp(o->optimizer, "adamw") == 0;
    int sgd = strcmp(o->optimizer, "sgd") == 0, constant = strcmp(o->schedule, "constant") == 0;
    out[0] = 0;
    if (sgd && constant && o->warmup == 0)
        return 0;
    char opt[128] = "", sched[160] = "";
    if (adam)
        snprintf(opt, sizeof opt, "optimizer %s (beta1 %g, beta2 %g, eps %g%s)", o->optimizer,
                 o->beta1, o->beta2, o->eps,
                 strcmp(o->optimizer, "adamw") == 0 ? ", decoupled weight decay" : "");
    else
        snprintf(opt, sizeof opt, "optimizer %s", o->optimizer);
    if (strcmp(o->schedule, "step") == 0)
        snprintf(sched, sizeof sched, "schedule step (x %g every %d epochs)", o->gamma,
                 o->step_epochs);
    else if (strcmp(o->schedule, "cosine") == 0)
        snprintf(sched, sizeof sched, "schedule cosine (down to %g)", o->final_lr);
    else
        snprintf(sched, sizeof sched, "schedule %s", o->schedule);
    size_t n = (size_t)snprintf(out, len, "%s; %s", opt, sched);
    if (o->warmup > 0 && n < len)
        snprintf(out + n, len - n, ", %s %d steps",
                 strcmp(o->schedule, "onecycle") == 0 ? "rising for" : "warm-up", o->warmup);
    return 1;
}
