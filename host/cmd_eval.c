/* `mnistcl eval`: accuracy and loss of a saved model on the test (or training) set. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli_common.h"
#include "cli_options.h"
#include "mnistcl/model_io.h"
#include "mnistcl/train.h"

static const char synopsis[] =
    "usage: mnistcl eval --model FILE [options]\n"
    "Evaluates a saved model: prints its accuracy and mean loss on the chosen set.";

int cmd_eval(int argc, char **argv)
{
    const char *model = NULL, *dataset_name = "mnist", *data_dir = NULL, *device = "auto",
               *set_name = "test";
    cli_option table[] = {
        cli_opt("model", OPT_STRING, &model, "FILE", "model file written by `train --save`", 0, 0),
        cli_opt("set", OPT_STRING, &set_name, "NAME", "test or train", 0, 0),
        cli_opt("dataset", OPT_STRING, &dataset_name, "NAME", "mnist or fashion", 0, 0),
        cli_opt("data", OPT_STRING, &data_dir, "DIR", "folder of the IDX files (raw or .gz)", 0, 0),
        cli_opt("device", OPT_STRING, &device, "SPEC", "auto, cpu, opencl or P:D", 0, 0),
    };
    int n = (int)(sizeof table / sizeof table[0]);
    mc_error err = {{0}};
    int rc = cli_parse(argc, argv, 2, table, n, synopsis, &err);
    if (rc == CLI_HELP)
        return 0;
    if (rc)
        return cli_report((mc_status)rc, &err);
    if (!model)
        return cli_report(mc_fail(&err, MC_ERR_USAGE, "eval needs --model FILE"), &err);
    int on_train = strcmp(set_name, "train") == 0;
    if (!on_train && strcmp(set_name, "test") != 0)
        return cli_report(mc_fail(&err, MC_ERR_USAGE, "--set '%s': expected test or train",
                                  set_name),
                          &err);
    mlp_spec spec;
    float *params = NULL;
    mc_status st = model_load(model, &spec, &params, NULL, &err);
    if (st)
        return cli_report(st, &err);
    dataset data = {0};
    st = cli_load_data(dataset_name, data_dir, on_train ? &data : NULL, on_train ? NULL : &data,
                       &err);
    backend *be = NULL;
    trainer *t = NULL;
    if (!st)
        st = cli_open_device(device, &be, &err);
    train_config cfg = {0};
    if (!st)
        st = trainer_create(&t, be, &spec, on_train ? &data : NULL, on_train ? NULL : &data,
                            &cfg, &err);
    if (!st)
        st = trainer_set_params(t, params);
    pass_stats ps;
    if (!st)
        st = trainer_evaluate(t, on_train, &ps);
    if (!st) {
        char shape[128];
        mlp_format_layers(&spec, shape, sizeof shape);
        printf("model %s: %s, %s hidden, %s output\n", model, shape, act_name(spec.hidden_act),
               output_name(spec.output));
        printf("%s accuracy %.2f%% (%d/%d), mean loss %.4f\n", set_name, 100 * ps.accuracy,
               (int)lround(ps.accuracy * ps.images), ps.images, ps.loss);
    }
    trainer_destroy(t);
    backend_destroy(be);
    dataset_free(&data);
    free(params);
    return cli_report(st, &err);
}
