/* Pieces shared by the subcommands. */
#include "cli/cli_common.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backend/opencl/ocl_util.h"
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

/* Whether a --device value names several devices: a comma list, or "all". */
static int names_a_list(const char *spec)
{
    return spec && (strchr(spec, ',') || strcmp(spec, "all") == 0);
}

/* The line a device's kernel tuning came from the cache (nothing for defaults). */
static void say_tuning(FILE *say, backend *be)
{
    const char *tuned = backend_cl_tuning_source(be);
    cl_tuning t = backend_cl_tuning(be);
    if (tuned)
        fprintf(say, "kernel tuning from %s: rb_tm=%d rb_local=%d gt_ts=%d gt_wpt=%d\n", tuned,
                t.rb_tm, t.rb_local, t.gt_ts, t.gt_wpt);
}

mc_status cli_open_device_on(const char *spec, FILE *say, backend **out, mc_error *err)
{
    if (names_a_list(spec))
        return mc_fail(err, MC_ERR_USAGE, "--device '%s': several devices (a list, or all) "
                       "are for `train` only; give one (see `mnistcl devices`)", spec);
    mc_status st = backend_open(spec, out, err);
    if (!st && say) {
        fprintf(say, "device: %s\n", backend_name(*out));
        say_tuning(say, *out);
        fflush(say);
    }
    return st;
}

/*
 * The specs a --device value lists, each resolved ("auto" and "opencl" to the P:D they
 * choose; "all" to every OpenCL device), into specs[0 .. *n) (CLI_DEVICE_SPEC bytes each).
 * A repeated OpenCL device, an empty entry or more than CLI_MAX_DEVICES is MC_ERR_USAGE.
 */
#define CLI_DEVICE_SPEC 32
static mc_status list_devices(const char *value, char specs[][CLI_DEVICE_SPEC], int *n,
                              mc_error *err)
{
    *n = 0;
    if (strcmp(value, "all") == 0) {
        ocl_device_ref devs[64];
        int count = ocl_enumerate(devs, 64);
        if (count == 0)
            return mc_fail(err, MC_ERR_OPENCL, "--device all: no OpenCL device found (is an "
                           "ICD installed? `clinfo` lists what the loader sees)");
        if (count > CLI_MAX_DEVICES)
            return mc_fail(err, MC_ERR_USAGE, "--device all: %d OpenCL devices, at most %d "
                           "train together; list the ones to use", count, CLI_MAX_DEVICES);
        for (int i = 0; i < count; i++)
            snprintf(specs[(*n)++], CLI_DEVICE_SPEC, "%d:%d", devs[i].platform_index,
                     devs[i].device_index);
        return MC_OK;
    }
    int platform[CLI_MAX_DEVICES], device[CLI_MAX_DEVICES];
    for (const char *at = value;; at++) {
        size_t len = strcspn(at, ",");
        char one[CLI_DEVICE_SPEC];
        if (len == 0 || len >= sizeof one)
            return mc_fail(err, MC_ERR_USAGE, "--device '%s': expected a comma list of devices "
                           "(cpu or PLATFORM:DEVICE, e.g. 0:0,0:1) or all%s", value,
                           len ? "" : "; an entry is empty");
        if (*n == CLI_MAX_DEVICES)
            return mc_fail(err, MC_ERR_USAGE, "--device '%s': at most %d devices train "
                           "together", value, CLI_MAX_DEVICES);
        memcpy(one, at, len);
        one[len] = 0;
        platform[*n] = device[*n] = -1; /* the reference: it may repeat */
        if (strcmp(one, "all") == 0)
            return mc_fail(err, MC_ERR_USAGE, "--device '%s': all stands alone (every OpenCL "
                           "device)", value);
        if (strcmp(one, "cpu") != 0) {
            mc_status st = ocl_resolve_device(one, &platform[*n], &device[*n], err);
            if (st)
                return st;
            snprintf(one, sizeof one, "%d:%d", platform[*n], device[*n]);
            for (int k = 0; k < *n; k++)
                if (platform[k] == platform[*n] && device[k] == device[*n])
                    return mc_fail(err, MC_ERR_USAGE, "--device '%s': device %s is listed "
                                   "twice (each device trains one share of every step)",
                                   value, one);
        }
        snprintf(specs[(*n)++], CLI_DEVICE_SPEC, "%s", one);
        at += len;
        if (!*at)
            return MC_OK;
    }
}

mc_status cli_open_devices(const char *spec, FILE *say, backend **out, int *n, mc_error *err)
{
    *n = 0;
    if (!spec || !*spec)
        spec = cli_default_device();
    if (!names_a_list(spec)) {
        mc_status st = cli_open_device_on(spec, say, out, err);
        *n = st ? 0 : 1;
        return st;
    }
    char specs[CLI_MAX_DEVICES][CLI_DEVICE_SPEC];
    int count;
    mc_status st = list_devices(spec, specs, &count, err);
    for (int i = 0; !st && i < count; i++) {
        st = backend_open(specs[i], &out[i], err);
        if (!st)
            *n = i + 1;
    }
    if (st) {
        for (int i = 0; i < *n; i++)
            backend_destroy(out[i]);
        *n = 0;
        return st;
    }
    if (say) {
        char names[1024];
        cli_devices_name(out, *n, names, sizeof names);
        fprintf(say, "device: %s%s\n", names,
                *n > 1 ? " (data parallel: each takes its share of every step)" : "");
        for (int i = 0; i < *n; i++)
            say_tuning(say, out[i]);
        fflush(say);
    }
    return MC_OK;
}

void cli_devices_name(backend *const *be, int n, char *out, size_t len)
{
    size_t used = 0;
    out[0] = 0;
    for (int i = 0; i < n && used < len; i++) {
        int w = snprintf(out + used, len - used, "%s%s", i ? " + " : "", backend_name(be[i]));
        used += w > 0 ? (size_t)w : 0;
    }
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
