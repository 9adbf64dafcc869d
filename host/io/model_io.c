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

/*
 * Checks the metadata fields that say what kind of file this is, when present: format
 * (mnistcl or mnistcl-checkpoint), format_version (1), input_scale (1/255).
 */
static mc_status check_format_fields(const st_file *f, const char *origin, mc_error *err)
{
    const char *format = st_meta_get(f, "format");
    const char *version = st_meta_get(f, "format_version");
    const char *scale = st_meta_get(f, "input_scale");
    if (format && strcmp(format, "mnistcl") != 0 && strcmp(format, "mnistcl-checkpoint") != 0)
        return mc_fail(err, MC_ERR_DATA,
                       "%s: metadata format=\"%.100s\": not an mnistcl model or checkpoint",
                       origin, format);
    if (version && strcmp(version, "1") != 0)
        return mc_fail(err, MC_ERR_DATA,
                       "%s: metadata format_version=\"%.100s\": this mnistcl reads version 1",
                       origin, version);
    if (scale && strcmp(scale, "1/255") != 0)
        return mc_fail(err, MC_ERR_DATA,
                       "%s: metadata input_scale=\"%.100s\": only 1/255 is supported", origin,
                       scale);
    return MC_OK;
}

/* Reads spec (layers, activations) from the metadata of f. */
static mc_status spec_from_meta(const st_file *f, const char *origin, mlp_spec *spec,
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
        return mc_fail(err, MC_ERR_DATA, "%s: metadata layers=\"%.100s\" is not valid", origin,
                       layers);
    int a = act_parse(hidden), o = output_parse(output);
    if (a < 0 || a == ACT_IDENTITY || o < 0)
        return mc_fail(err, MC_ERR_DATA,
                       "%s: unknown hidden_activation \"%.40s\" or output \"%.40s\"", origin,
                       hidden, output);
    spec->hidden_act = (act_kind)a;
    spec->output = (output_kind)o;
    return MC_OK;
}

/* Layer l's tensors fc{l}.weight and fc{l}.bias (NULL when absent), and their names. */
static void layer_tensors(const st_file *f, int l, char wn[32], char bn[32], const st_tensor **w,
                          const st_tensor **b)
{
    snprintf(wn, 32, "fc%d.weight", l);
    snprintf(bn, 32, "fc%d.bias", l);
    *w = st_find(f, wn);
    *b = st_find(f, bn);
}

/* Checks that fc{l}.weight (out, in) and fc{l}.bias (out) of every layer exist. */
static mc_status check_layer_tensors(const st_file *f, const char *origin, const mlp_spec *spec,
                                     mc_error *err)
{
    for (int l = 0; l < spec->n_layers; l++) {
        int in = spec->sizes[l], out = spec->sizes[l + 1];
        char wn[32], bn[32];
        const st_tensor *w, *b;
        layer_tensors(f, l, wn, bn, &w, &b);
        if (!w || !b)
            return mc_fail(err, MC_ERR_DATA, "%s: tensor %s missing", origin, w ? bn : wn);
        if (w->ndim != 2 || w->shape[0] != out || w->shape[1] != in)
            return mc_fail(err, MC_ERR_DATA,
                           "%s: tensor %s has the wrong shape for layers %s (want (%d, %d))",
                           origin, wn, st_meta_get(f, "layers"), out, in);
        if (b->ndim != 1 || b->shape[0] != out)
            return mc_fail(err, MC_ERR_DATA,
                           "%s: tensor %s has the wrong shape for layers %s (want (%d))", origin,
                           bn, st_meta_get(f, "layers"), out);
    }
    return MC_OK;
}

/* The tensors a checkpoint holds beside the network's, each one value per parameter in the
   flat layout: the optimizer's state (SGD's velocity; Adam's moments), the best weights. */
static const char *const checkpoint_state_tensors[] = {
    "optimizer.velocity", "optimizer.exp_avg", "optimizer.exp_avg_sq", "best.params"};

/*
 * Checks that every tensor of f belongs to the network: fc{l}.weight or fc{l}.bias with
 * l below n_layers, or, in a checkpoint, one of checkpoint_state_tensors of one value per
 * parameter.
 */
static mc_status check_no_stray_tensors(const st_file *f, const char *origin,
                                        const mlp_spec *spec, mc_error *err)
{
    const char *format = st_meta_get(f, "format");
    int checkpoint = format && strcmp(format, "mnistcl-checkpoint") == 0;
    for (int i = 0; i < f->n_tensors; i++) {
        const st_tensor *t = &f->tensors[i];
        int used = 0;
        for (int l = 0; l < spec->n_layers && !used; l++) {
            char wn[32], bn[32];
            snprintf(wn, sizeof wn, "fc%d.weight", l);
            snprintf(bn, sizeof bn, "fc%d.bias", l);
            used = strcmp(t->name, wn) == 0 || strcmp(t->name, bn) == 0;
        }
        for (size_t k = 0; checkpoint && !used && k < sizeof checkpoint_state_tensors /
                                                          sizeof checkpoint_state_tensors[0];
             k++) {
            if (strcmp(t->name, checkpoint_state_tensors[k]) != 0)
                continue;
            if (t->ndim != 1 || t->count != mlp_param_count(spec))
                return mc_fail(err, MC_ERR_DATA,
                               "%s: tensor %s is not %zu values, one per parameter", origin,
                               t->name, mlp_param_count(spec));
            used = 1;
        }
        if (!used)
            return mc_fail(err, MC_ERR_DATA,
                           "%s: tensor '%s' is not part of a %d-layer mnistcl %s (fc0.weight .. "
                           "fc%d.bias%s)",
                           origin, t->name, spec->n_layers, checkpoint ? "checkpoint" : "model",
                           spec->n_layers - 1,
                           checkpoint ? ", optimizer.velocity or .exp_avg/.exp_avg_sq, "
                                        "best.params"
                                      : "");
    }
    return MC_OK;
}

mc_status model_check_st(const st_file *f, const char *origin, mlp_spec *spec, mc_error *err)
{
    mc_status st = check_format_fields(f, origin, err);
    if (!st)
        st = spec_from_meta(f, origin, spec, err);
    if (!st)
        st = check_layer_tensors(f, origin, spec, err);
    if (!st)
        st = check_no_stray_tensors(f, origin, spec, err);
    return st;
}

mc_status model_from_st(const st_file *f, const char *origin, mlp_spec *spec, float **params,
                        mc_error *err)
{
    mc_status st = model_check_st(f, origin, spec, err);
    if (st)
        return st;
    float *p = malloc(mlp_param_count(spec) * sizeof(float));
    if (!p)
        return mc_fail(err, MC_ERR_NOMEM, "%s: out of memory", origin);
    for (int l = 0; l < spec->n_layers; l++) {
        int in = spec->sizes[l], out = spec->sizes[l + 1];
        char wn[32], bn[32];
        const st_tensor *w, *b; /* present and of the right shapes: model_check_st */
        layer_tensors(f, l, wn, bn, &w, &b);
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
        if (!st_meta_add(&f, extra[i].key, extra[i].value)) {
            st_free(&f);
            return mc_fail(err, MC_ERR_RUNTIME,
                           "%s: metadata '%s' repeated, too long or one too many; not saved",
                           path, extra[i].key);
        }
    st = st_save(path, &f, err);
    st_free(&f);
    return st;
}

/* st_check_fn of model_load: model_check_st before any tensor data is read. */
static mc_status check_model(const st_file *f, const char *origin, void *spec, mc_error *err)
{
    return model_check_st(f, origin, spec, err);
}

mc_status model_load(const char *path, mlp_spec *spec, float **params, st_file *meta,
                     mc_error *err)
{
    st_file f;
    mc_status st = st_load_checked(path, &f, check_model, spec, err);
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
