/* MLP shape, parameter layout and initialisation. */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/mlp.h"

size_t mlp_weight_offset(const mlp_spec *spec, int layer)
{
    size_t off = 0;
    for (int l = 0; l < layer; l++)
        off += (size_t)spec->sizes[l] * spec->sizes[l + 1] + spec->sizes[l + 1];
    return off;
}

size_t mlp_bias_offset(const mlp_spec *spec, int layer)
{
    return mlp_weight_offset(spec, layer) + (size_t)spec->sizes[layer] * spec->sizes[layer + 1];
}

size_t mlp_param_count(const mlp_spec *spec) { return mlp_weight_offset(spec, spec->n_layers); }

act_kind mlp_layer_act(const mlp_spec *spec, int layer)
{
    return layer == spec->n_layers - 1 ? ACT_IDENTITY : spec->hidden_act;
}

int mlp_max_width(const mlp_spec *spec)
{
    int w = 0;
    for (int l = 0; l <= spec->n_layers; l++)
        if (spec->sizes[l] > w)
            w = spec->sizes[l];
    return w;
}

mc_status mlp_parse_layers(mlp_spec *spec, const char *text, mc_error *err)
{
    int count = 0;
    const char *p = text;
    for (;;) {
        if (count > MLP_MAX_LAYERS)
            return mc_fail(err, MC_ERR_USAGE, "--layers '%s': more than %d sizes", text,
                           MLP_MAX_LAYERS + 1);
        char *end;
        errno = 0;
        long v = strtol(p, &end, 10);
        if (end == p || errno || v < 1 || v > (1 << 20) || (*end && *end != ','))
            return mc_fail(err, MC_ERR_USAGE,
                           "--layers '%s': each size must be an integer from 1 to %d, "
                           "separated by commas",
                           text, 1 << 20);
        spec->sizes[count++] = (int)v;
        if (!*end)
            break;
        p = end + 1;
    }
    if (count < 2)
        return mc_fail(err, MC_ERR_USAGE, "--layers '%s': need at least input and output sizes",
                       text);
    spec->n_layers = count - 1;
    return MC_OK;
}

void mlp_format_layers(const mlp_spec *spec, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (int l = 0; l <= spec->n_layers && used < len; l++)
        used += (size_t)snprintf(buf + used, len - used, l ? "-%d" : "%d", spec->sizes[l]);
}

void mlp_init_params(const mlp_spec *spec, init_kind init, rng *r, float *params)
{
    for (int l = 0; l < spec->n_layers; l++) {
        int fan_in = spec->sizes[l], fan_out = spec->sizes[l + 1];
        float *w = params + mlp_weight_offset(spec, l);
        float *b = params + mlp_bias_offset(spec, l);
        size_t n = (size_t)fan_in * fan_out;
        double xavier = sqrt(6.0 / (fan_in + fan_out));
        double he = sqrt(2.0 / fan_in);
        for (size_t i = 0; i < n; i++) {
            switch (init) {
            case INIT_UNIFORM: w[i] = (float)(rng_uniform(r) - 0.5); break;
            case INIT_NORMAL: w[i] = (float)(rng_normal(r) * 0.01); break;
            case INIT_HE: w[i] = (float)(rng_normal(r) * he); break;
            case INIT_XAVIER: w[i] = (float)((2.0 * rng_uniform(r) - 1.0) * xavier); break;
            }
        }
        memset(b, 0, sizeof(float) * (size_t)fan_out);
    }
}

static const char *const act_names[] = {"identity", "sigmoid", "relu", "tanh"};
static const char *const output_names[] = {"softmax", "sigmoid-mse"};
static const char *const init_names[] = {"uniform", "normal", "he", "xavier"};

static int lookup(const char *const *names, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(names[i], name) == 0)
            return i;
    return -1;
}

const char *act_name(act_kind a) { return act_names[a]; }
int act_parse(const char *name) { return lookup(act_names, 4, name); }
const char *output_name(output_kind o) { return output_names[o]; }
int output_parse(const char *name) { return lookup(output_names, 2, name); }
const char *init_name(init_kind i) { return init_names[i]; }
int init_parse(const char *name) { return lookup(init_names, 4, name); }
