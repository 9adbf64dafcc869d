/*
 * `mnistcl eval`: accuracy and loss of a saved (or freshly initialised) model, and its
 * answers for a whole set as CSV (--predictions, --probabilities), without retraining.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli_common.h"
#include "cli/output_paths.h"
#include "cli/predictions_file.h"
#include "mnistcl/csv.h"
#include "mnistcl/model_io.h"
#include "mnistcl/train.h"
#include "cli/train_options.h"

static const char synopsis[] =
    "usage: mnistcl eval --model FILE [options]\n"
    "       mnistcl eval --untrained [--preset NAME | network options] [options]\n"
    "Evaluates a saved model, or a freshly initialised one (what tutorial 002 shows before\n"
    "training): prints its accuracy and mean loss on the chosen set (the test set of the\n"
    "dataset the model was trained on, unless --dataset, --data or --csv say otherwise),\n"
    "and writes its answers for every image with --predictions / --probabilities (an\n"
    "unlabelled Kaggle test CSV too: then there is no accuracy). --model also takes a\n"
    "PyTorch nn.Sequential state_dict saved with safetensors (\"0.weight\", \"0.bias\",\n"
    "\"2.weight\", ...): the layers from its shapes, --activation and --output as given.";

int cmd_eval(int argc, char **argv)
{
    train_options o;
    train_options_defaults(&o);
    const char *model = NULL, *set_name = "test", *csv = NULL, *predictions = NULL,
               *probabilities = NULL;
    int untrained = 0, repeat = 1;
    mc_error err = {{0}};
    mc_status st = train_options_preset_from_argv(&o, argc, argv, 2, &err);
    if (st)
        return cli_report(st, &err);
    o.dataset = NULL; /* none given: the model's */
    cli_option table[28];
    int n = 0;
    table[n++] = cli_opt("model", OPT_STRING, &model, "FILE", "model file written by `train --save`",
                         0, 0);
    table[n++] = cli_opt("untrained", OPT_FLAG, &untrained, NULL,
                         "evaluate a freshly initialised network instead of a model file", 0, 0);
    n = train_options_network_table(&o, table, n);
    table[n++] = cli_opt("set", OPT_STRING, &set_name, "NAME", "test or train", 0, 0);
    table[n++] = cli_opt("dataset", OPT_STRING, &o.dataset, "NAME",
                         "mnist or fashion (default: the model's, else mnist)", 0, 0);
    table[n++] = cli_opt("data", OPT_STRING, &o.data_dir, "DIR",
                         "folder of the IDX files (raw or .gz)", 0, 0);
    table[n++] = cli_opt("csv", OPT_STRING, &csv, "FILE",
                         "evaluate on a labelled Kaggle CSV instead", 0, 0);
    table[n++] = cli_opt("predictions", OPT_STRING, &predictions, "FILE",
                         "write the set's predicted labels as CSV (ImageId,Label: Kaggle's "
                         "submission format)", 0, 0);
    table[n++] = cli_opt("probabilities", OPT_STRING, &probabilities, "FILE",
                         "write the network's output values for every image as CSV "
                         "(ImageId,0,1,...)", 0, 0);
    table[n++] = cli_opt("device", OPT_STRING, &o.device, "SPEC", "auto, cpu, opencl or P:D", 0,
                         0);
    table[n++] = cli_opt("repeat", OPT_INT, &repeat, "N",
                         "evaluate N times and report the fastest pass (throughput)", 1, 1000);
    int rc = cli_parse(argc, argv, 2, table, n, synopsis, &err);
    if (rc == CLI_HELP) {
        train_options_print_presets(stdout);
        return 0;
    }
    if (rc)
        return cli_report((mc_status)rc, &err);
    if (!model == !untrained)
        return cli_report(mc_fail(&err, MC_ERR_USAGE, "eval needs --model FILE or --untrained"),
                          &err);
    int on_train = strcmp(set_name, "train") == 0;
    if (!on_train && strcmp(set_name, "test") != 0)
        return cli_report(mc_fail(&err, MC_ERR_USAGE, "--set '%s': expected test or train",
                                  set_name),
                          &err);
    const cli_path outputs[] = {{"--predictions", predictions}, {"--probabilities", probabilities}};
    const cli_path inputs[] = {{"--model", model}, {"--csv", csv}};
    if ((st = cli_check_paths(outputs, 2, inputs, 2, NULL, NULL, &err)))
        return cli_report(st, &err);
    mlp_spec spec;
    float *params = NULL;
    static st_file meta; /* (large: kept off the stack) */
    dataset data = {0};
    if (model)
        st = cli_load_model(model, o.activation, o.output, &spec, &params, &meta, &err);
    const char *dataset_name = o.dataset ? o.dataset : cli_model_dataset(model ? &meta : NULL);
    if (!st && csv)
        st = csv_load(&data, csv, model ? spec.sizes[spec.n_layers] : 10, &err);
    else if (!st)
        st = cli_load_data(dataset_name, o.data_dir, on_train ? &data : NULL,
                           on_train ? NULL : &data, &err);
    int answers_only = predictions || probabilities; /* an unlabelled set is fine then */
    if (!st && !data.labels && !answers_only)
        st = mc_fail(&err, MC_ERR_DATA,
                     "%s: has no labels to evaluate against (--predictions FILE writes the "
                     "network's answers)",
                     csv);
    if (!st && !model) {
        st = train_options_spec(&o, dataset_dim(&data), &spec, &err);
        params = st ? NULL : malloc(mlp_param_count(&spec) * sizeof(float));
        if (!st && !params)
            st = mc_fail(&err, MC_ERR_NOMEM, "out of memory");
        if (!st)
            st = train_options_init_params(&o, &spec, params, &err);
    }
    backend *be = NULL;
    trainer *t = NULL;
    if (!st)
        st = cli_open_device(o.device, &be, &err);
    train_config cfg = {0};
    /* the set is handed over as the "test" set; its name only matters for messages */
    if (!st)
        st = trainer_create(&t, be, &spec, NULL, &data, &cfg, &err);
    if (!st)
        st = trainer_set_params(t, params);
    pass_stats ps = {0};
    double best = 0;
    for (int i = 0; !st && data.labels && i < repeat; i++) {
        double t0 = cli_now();
        st = trainer_evaluate(t, 0, &ps);
        double seconds = cli_now() - t0;
        if (i == 0 || seconds < best)
            best = seconds;
    }
    if (!st) {
        char shape[128];
        mlp_format_layers(&spec, shape, sizeof shape);
        if (model)
            printf("model %s: %s, %s hidden, %s output\n", model, shape,
                   act_name(spec.hidden_act), output_name(spec.output));
        else
            printf("untrained %s, %s hidden, %s output, init %s, seed %llu\n", shape,
                   act_name(spec.hidden_act), output_name(spec.output), o.init,
                   (unsigned long long)o.seed);
    }
    if (!st && data.labels) {
        const char *name = csv ? csv : on_train ? "train" : "test";
        printf("%s accuracy %.2f%% (%d/%d), mean loss %.4f\n", name, 100 * ps.accuracy,
               (int)lround(ps.accuracy * ps.images), ps.images, ps.loss);
        printf("%s %d images in %.4f s: %.0f images/s%s\n", repeat > 1 ? "fastest pass:" : "evaluated",
               ps.images, best, ps.images / best,
               repeat == 1 && backend_is_opencl(be) ? " (first pass: includes kernel compilation)" : "");
    }
    if (!st && answers_only)
        st = write_set_outputs(t, data.n, spec.sizes[spec.n_layers], predictions, probabilities,
                               stdout, &err);
    trainer_destroy(t);
    backend_destroy(be);
    dataset_free(&data);
    free(params);
    return cli_report(st, &err);
}
