/* Pieces shared by the subcommands. */
#include "cli/cli_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "mnistcl/model_io.h"
#include "mnistcl/opencl.h"

int cli_report(mc_status status, const mc_error *err)
{
    if (status)
        fprintf(stderr, "mnistcl: %s\n", err->msg[0] ? err->msg : mc_status_name(status));
    return (int)status;
}

mc_status cli_load_data(const char *name, const char *dir, dataset *train, dataset *test,
                        mc_error *err)
{
    dataset_kind kind;
    if (strcmp(name, "mnist") == 0)
        kind = DATASET_MNIST;
    else if (strcmp(name, "fashion") == 0)
        kind = DATASET_FASHION;
    else
        return mc_fail(err, MC_ERR_USAGE, "--dataset '%s': expected mnist or fashion", name);
    mc_status st = MC_OK;
    if (train)
        st = dataset_load_named(train, kind, dir, 1, err);
    if (!st && test)
        st = dataset_load_named(test, kind, dir, 0, err);
    if (st && train)
        dataset_free(train);
    return st;
}

mc_status cli_load_model(const char *path, const char *activation, const char *output,
                         mlp_spec *spec, float **params, st_file *meta, mc_error *err)
{
    int a = act_parse(activation), o = output_parse(output);
    if (a < 0 || a == ACT_IDENTITY)
        return mc_fail(err, MC_ERR_USAGE, "--activation '%s': expected relu, sigmoid or tanh",
                       activation);
    if (o < 0)
        return mc_fail(err, MC_ERR_USAGE, "--output '%s': expected softmax or sigmoid-mse",
                       output);
    model_assumptions assume = {(act_kind)a, (output_kind)o};
    return model_load_assuming(path, &assume, spec, params, meta, err);
}

const char *cli_model_dataset(const st_file *meta)
{
    const char *d = meta ? st_meta_get(meta, "dataset") : NULL;
    return d && strcmp(d, "fashion") == 0 ? "fashion" : "mnist";
}

const char *cli_default_device(void)
{
    const char *env = getenv("MNISTCL_DEVICE");
    return env && *env ? env : "auto";
}

mc_status cli_open_device(const char *spec, backend **out, mc_error *err)
{
    return cli_open_device_on(spec, stdout, out, err);
}

mc_status cli_open_device_on(const char *spec, FILE *say, backend **out, mc_error *err)
{
    mc_status st = backend_open(spec, out, err);
    if (!st && say) {
        fprintf(say, "device: %s\n", backend_name(*out));
        const char *tuned = backend_cl_tuning_source(*out);
        cl_tuning t = backend_cl_tuning(*out);
        if (tuned)
            fprintf(say, "kernel tuning from %s: rb_tm=%d rb_local=%d gt_ts=%d gt_wpt=%d\n",
                    tuned, t.rb_tm, t.rb_local, t.gt_ts, t.gt_wpt);
        fflush(say);
    }
    return st;
}

mc_status cli_network_spec(mlp_spec *spec, const char *layers, const char *hidden,
                           const char *activation, const char *output, int inputs, int classes,
                           mc_error *err)
{
    memset(spec, 0, sizeof *spec);
    if (layers) {
        mc_status st = mlp_parse_layers(spec, layers, err);
        if (st)
            return st;
    } else {
        char text[512];
        if (strcmp(hidden, "none") == 0 || strcmp(hidden, "0") == 0)
            snprintf(text, sizeof text, "%d,%d", inputs, classes);
        else
            snprintf(text, sizeof text, "%d,%s,%d", inputs, hidden, classes);
        mc_status st = mlp_parse_layers(spec, text, err);
        if (st)
            return mc_fail(err, MC_ERR_USAGE,
                           "--hidden '%s': expected sizes separated by commas, e.g. 128 or "
                           "256,128 (or none)",
                           hidden);
    }
    int a = act_parse(activation);
    if (a < 0 || a == ACT_IDENTITY)
        return mc_fail(err, MC_ERR_USAGE, "--activation '%s': expected relu, sigmoid or tanh",
                       activation);
    int o = output_parse(output);
    if (o < 0)
        return mc_fail(err, MC_ERR_USAGE, "--output '%s': expected softmax or sigmoid-mse",
                       output);
    spec->hidden_act = (act_kind)a;
    spec->output = (output_kind)o;
    return MC_OK;
}

double cli_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec * 1e-9;
}
