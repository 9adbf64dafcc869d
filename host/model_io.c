/* MLP <-> safetensors. */
#include "mnistcl/model_io.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

mc_status model_to_st(const mlp_spec *spec, const float *params, st_file *f, mc_error *err)
{
    memset(f, 0, sizeof *f);
    char layers[256] = "";
    size_t used = 0;
    for (int l = 0; l <= spec->n_layers; l++)
        used += (size_t)snprintf(layers + used, sizeof layers - used, l ? ",%d" : "%d",
                                 spec->sizes[l]);
    st_meta_add(f, "format", "mnistcl");
    st_meta_add(f, "format_version", "1");
    st_meta_add(f, "layers", layers);
    st_meta_add(f, "hidden_activation", act_name(spec->hidden_act));
    st_meta_add(f, "output", output_name(spec->output));
    st_meta_add(f, "input_scale", "1/255");
    st_meta_add(f, "weight_layout", "fc{l}.weight is (out, in): y = x @ W.T + b");
    for (int l = 0; l < spec->n_layers; l++) {
        int in = spec->sizes[l], out = spec->sizes[l + 1];
        st_tensor *w = &f->tensors[f->n_tensors++];
        st_tensor *b = &f->tensors[f->n_tensors++];
        snprintf(w->name, sizeof w->name, "fc%d.weight", l);
        snprintf(b->name, sizeof b->name, "fc%d.bias", l);
        w->ndim = 2, w->shape[0] = out, w->shape[1] = in, w->count = (size_t)in * out;
        b->ndim = 1, b->shape[0] = out, b->count = (size_t)out;
        w->data = malloc(w->count * sizeof(float));
        b->data = malloc(b->count * sizeof(float));
        if (!w->data || !b->data) {
            st_free(f);
            return mc_fail(err, MC_ERR_NOMEM, "out of memory");
        }
        const float *W = params + mlp_weight_offset(spec, l); /* (in, out) */
        for (int i = 0; i < in; i++)
            for (int o = 0; o < out; o++)
                w->data[(size_t)o * in + i] = W[(size_t)i * out + o];
        memcpy(b->data, params + mlp_bias_offset(spec, l), b->count * sizeof(float));
    }
    return MC_OK;
}

mc_status model_from_st(const st_file *f, const char *origin, mlp_spec *spec, float **params,
                        mc_error *err)
{
    memset(spec, 0, sizeof *spec);
    const char *layers = st_meta_get(f, "layers");
    const char *hidden = st_meta_get(f, "hidden_activation");
    const char *output = st_meta_get(f, "output");
    if (!layers || !hidden || !output)
        return mc_fail(err, MC_ERR_DATA,
                       "%s: metadata lacks layers, hidden_activation or output: not an mnistcl "
                       "model (docs/FORMATS.md)",
                       origin);
    mc_error perr;
    if (mlp_parse_layers(spec, layers, &perr))
        return mc_fail(err, MC_ERR_DATA, "%s: metadata layers=\"%s\" is not valid", origin,
                       layers);
    int a = act_parse(hidden), o = output_parse(output);
    if (a < 0 || a == ACT_IDENTITY || o < 0)
        return mc_fail(err, MC_ERR_DATA, "%s: unknown hidden_activation \"%s\" or output \"%s\"",
                       origin, hidden, output);
    spec->hidden_act = (act_kind)a;
    spec->output = (output_kind)o;
    float *p = malloc(mlp_param_count(spec) * sizeof(float));
    if (!p)
        return mc_fail(err, MC_ERR_NOMEM, "%s: out of memory", origin);
    for (int l = 0; l < spec->n_layers; l++) {
        int in = spec->sizes[l], out = spec->sizes[l + 1];
        char wn[32], bn[32];
        snprintf(wn, sizeof wn, "fc%d.weight", l);
        snprintf(bn, sizeof bn, "fc%d.bias", l);
        const st_tensor *w = st_find(f, wn), *b = st_find(f, bn);
        if (!w || !b) {
            free(p);
            return mc_fail(err, MC_ERR_DATA, "%s: tensor %s missing", origin, w ? bn : wn);
        }
        if (w->ndim != 2 || w->shape[0] != out || w->shape[1] != in || b->ndim != 1 ||
            b->shape[0] != out) {
            free(p);
            return mc_fail(err, MC_ERR_DATA,
                           "%s: %s/%s have the wrong shape for layers %s (want (%d, %d) and (%d))",
                           origin, wn, bn, layers, out, in, out);
        }
        float *W = p + mlp_weight_offset(spec, l);
        for (int i = 0; i < in; i++)
            for (int k = 0; k < out; k++)
                W[(size_t)i * out + k] = w->data[(size_t)k * in + i];
        memcpy(p + mlp_bias_offset(spec, l), b->data, (size_t)out * sizeof(float));
    }
    for (size_t i = 0; i < mlp_param_count(spec); i++) {
        if (!isfinite(p[i])) {
            free(p);
            return mc_fail(err, MC_ERR_DATA, "%s: parameter %zu is not a finite number", origin, i);
        }
    }
    *params = p;
    return MC_OK;
}

mc_status model_save(const char *path, const mlp_spec *spec, const float *params,
                     const st_meta *extra, int n_extra, mc_error *err)
{
    st_file f;
    mc_status st = model_to_st(spec, params, &f, err);
    if (st)
        return st;
    for (int i = 0; i < n_extra; i++)
        st_meta_add(&f, extra[i].key, extra[i].value);
    st = st_save(path, &f, err);
    st_free(&f);
    return st;
}

mc_status model_load(const char *path, mlp_spec *spec, float **params, st_file *meta,
                     mc_error *err)
{
    st_file f;
    mc_status st = st_load(path, &f, err);
    if (st)
        return st;
    st = model_from_st(&f, path, spec, params, err);
    if (!st && meta) {
        memset(meta, 0, sizeof *meta);
        meta->n_meta = f.n_meta;
        memcpy(meta->meta, f.meta, sizeof f.meta);
    }
    st_free(&f);
    return st;
}
