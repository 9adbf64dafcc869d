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

/* ---- a plain PyTorch nn.Sequential state_dict ------------------------------------------ */

/*
 * Whether f is not an mnistcl file but a plain state_dict: no layers in its metadata and
 * no mnistcl format (safetensors.torch.save_file writes no metadata; save_model and
 * Hugging Face write format "pt").
 */
static int is_state_dict(const st_file *f)
{
    const char *format = st_meta_get(f, "format");
    return !st_meta_get(f, "layers") &&
           (!format || (strcmp(format, "mnistcl") != 0 && strcmp(format, "mnistcl-checkpoint") != 0));
}

/*
 * Splits a state_dict name PREFIX INDEX "." KIND (KIND weight or bias, INDEX digits, as
 * nn.Sequential names its modules: "0.weight", "net.2.bias") into its prefix length, the
 * index and whether it is a bias. Returns 0 for any other name.
 */
static int parse_state_name(const char *name, size_t *prefix, long *index, int *bias)
{
    const char *dot = strrchr(name, '.');
    if (!dot || (strcmp(dot, ".weight") != 0 && strcmp(dot, ".bias") != 0))
        return 0;
    const char *digits = dot;
    while (digits > name && digits[-1] >= '0' && digits[-1] <= '9')
        digits--;
    if (digits == dot || dot - digits > 6 || (digits > name && digits[-1] != '.'))
        return 0;
    *prefix = (size_t)(digits - name);
    *index = strtol(digits, NULL, 10);
    *bias = strcmp(dot, ".bias") == 0;
    return 1;
}

/* The tensors of one Linear layer of a state_dict, found by layers_of_state_dict. */
typedef struct {
    long index;          /* the module's index in the nn.Sequential */
    const st_tensor *w;  /* (out, in) */
    const st_tensor *b;  /* (out), or NULL: nn.Linear(bias=False), zeros */
} linear_tensors;

/* qsort order of linear_tensors: by module index. */
static int by_index(const void *a, const void *b)
{
    long x = ((const linear_tensors *)a)->index, y = ((const linear_tensors *)b)->index;
    return (x > y) - (x < y);
}

/*
 * The Linear layers of a state_dict in module order (lin[0 .. *n)), each bias with its
 * weight, every name of one prefix, each weight 2-D and each layer's input the previous
 * one's output. MC_ERR_DATA naming the tensor otherwise.
 */
static mc_status layers_of_state_dict(const st_file *f, const char *origin,
                                      linear_tensors lin[MLP_MAX_LAYERS], int *n, mc_error *err)
{
    *n = 0;
    size_t prefix_len = 0;
    const char *prefix = NULL;
    for (int i = 0; i < f->n_tensors; i++) { /* the weights first: each makes a layer */
        const st_tensor *t = &f->tensors[i];
        size_t plen;
        long index;
        int bias;
        if (!parse_state_name(t->name, &plen, &index, &bias))
            return mc_fail(err, MC_ERR_DATA,
                           "%s: not an mnistcl model (its metadata has no layers) nor a "
                           "PyTorch state_dict of an nn.Sequential of Linear layers "
                           "(\"0.weight\", \"0.bias\", \"2.weight\", ...): tensor '%s'",
                           origin, t->name);
        if (!prefix)
            prefix = t->name, prefix_len = plen;
        if (plen != prefix_len || strncmp(t->name, prefix, plen) != 0)
            return mc_fail(err, MC_ERR_DATA,
                           "%s: tensors '%s' and '%s' are not of one nn.Sequential", origin,
                           prefix, t->name);
        if (bias)
            continue;
        if (*n == MLP_MAX_LAYERS)
            return mc_fail(err, MC_ERR_DATA, "%s: more than %d Linear layers", origin,
                           MLP_MAX_LAYERS);
        if (t->ndim != 2)
            return mc_fail(err, MC_ERR_DATA,
                           "%s: tensor %s has %d dimensions; a Linear layer's weight has 2 "
                           "(out, in)",
                           origin, t->name, t->ndim);
        lin[(*n)++] = (linear_tensors){index, t, NULL};
    }
    for (int i = 0; i < f->n_tensors; i++) { /* then each bias to its weight */
        const st_tensor *t = &f->tensors[i];
        size_t plen;
        long index;
        int bias, k;
        parse_state_name(t->name, &plen, &index, &bias);
        if (!bias)
            continue;
        for (k = 0; k < *n && lin[k].index != index; k++)
            ;
        if (k == *n)
            return mc_fail(err, MC_ERR_DATA, "%s: tensor %s has no weight beside it", origin,
                           t->name);
        if (t->ndim != 1 || t->shape[0] != lin[k].w->shape[0])
            return mc_fail(err, MC_ERR_DATA,
                           "%s: tensor %s is not %lld values, one per output of %s", origin,
                           t->name, (long long)lin[k].w->shape[0], lin[k].w->name);
        lin[k].b = t;
    }
    if (*n == 0)
        return mc_fail(err, MC_ERR_DATA,
                       "%s: no tensors and no mnistcl metadata: not a model (docs/FORMATS.md)",
                       origin);
    qsort(lin, (size_t)*n, sizeof lin[0], by_index);
    for (int k = 1; k < *n; k++)
        if (lin[k].w->shape[1] != lin[k - 1].w->shape[0])
            return mc_fail(err, MC_ERR_DATA,
                           "%s: %s takes %lld inputs but %s gives %lld outputs: not a chain of "
                           "Linear layers",
                           origin, lin[k].w->name, (long long)lin[k].w->shape[1],
                           lin[k - 1].w->name, (long long)lin[k - 1].w->shape[0]);
    return MC_OK;
}

/* The network a state_dict holds: its Linear layers' shapes, the assumed activations. */
static mc_status spec_of_state_dict(const st_file *f, const char *origin,
                                    const model_assumptions *assume, mlp_spec *spec,
                                    mc_error *err)
{
    linear_tensors lin[MLP_MAX_LAYERS];
    int n;
    mc_status st = layers_of_state_dict(f, origin, lin, &n, err);
    if (st)
        return st;
    memset(spec, 0, sizeof *spec);
    spec->n_layers = n;
    for (int k = 0; k <= n; k++) {
        long long size = k == 0 ? (long long)lin[0].w->shape[1] : (long long)lin[k - 1].w->shape[0];
        if (size < 1 || size > (1 << 20))
            return mc_fail(err, MC_ERR_DATA, "%s: a layer of %lld units (1 to %d are supported)",
                           origin, size, 1 << 20);
        spec->sizes[k] = (int)size;
    }
    spec->hidden_act = assume ? assume->hidden_act : ACT_RELU;
    spec->output = assume ? assume->output : OUT_SOFTMAX_XENT;
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

/* model_check_st with the activations a state_dict is assumed to have (NULL: ReLU, softmax). */
static mc_status check_st_assuming(const st_file *f, const char *origin,
                                   const model_assumptions *assume, mlp_spec *spec, mc_error *err)
{
    if (is_state_dict(f))
        return spec_of_state_dict(f, origin, assume, spec, err);
    mc_status st = check_format_fields(f, origin, err);
    if (!st)
        st = spec_from_meta(f, origin, spec, err);
    if (!st)
        st = check_layer_tensors(f, origin, spec, err);
    if (!st)
        st = check_no_stray_tensors(f, origin, spec, err);
    return st;
}

mc_status model_check_st(const st_file *f, const char *origin, mlp_spec *spec, mc_error *err)
{
    return check_st_assuming(f, origin, NULL, spec, err);
}

/* Layer l's weight (out, in) and bias (NULL: zeros) in f, checked by check_st_assuming. */
static void find_layer(const st_file *f, int l, const st_tensor **w, const st_tensor **b)
{
    if (is_state_dict(f)) {
        linear_tensors lin[MLP_MAX_LAYERS];
        int n;
        layers_of_state_dict(f, "", lin, &n, NULL);
        *w = lin[l].w, *b = lin[l].b;
        return;
    }
    char wn[32], bn[32];
    layer_tensors(f, l, wn, bn, w, b);
}

/* model_from_st with check_st_assuming's assumptions. */
static mc_status from_st_assuming(const st_file *f, const char *origin,
                                  const model_assumptions *assume, mlp_spec *spec,
                                  float **params, mc_error *err)
{
    mc_status st = check_st_assuming(f, origin, assume, spec, err);
    if (st)
        return st;
    float *p = malloc(mlp_param_count(spec) * sizeof(float));
    if (!p)
        return mc_fail(err, MC_ERR_NOMEM, "%s: out of memory", origin);
    for (int l = 0; l < spec->n_layers; l++) {
        int in = spec->sizes[l], out = spec->sizes[l + 1];
        const st_tensor *w, *b; /* present and of the right shapes: check_st_assuming */
        find_layer(f, l, &w, &b);
        float *W = p + mlp_weight_offset(spec, l);
        for (int i = 0; i < in; i++)
            for (int k = 0; k < out; k++)
                W[(size_t)i * out + k] = w->data[(size_t)k * in + i];
        if (b)
            memcpy(p + mlp_bias_offset(spec, l), b->data, (size_t)out * sizeof(float));
        else
            memset(p + mlp_bias_offset(spec, l), 0, (size_t)out * sizeof(float));
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

mc_status model_from_st(const st_file *f, const char *origin, mlp_spec *spec, float **params,
                        mc_error *err)
{
    return from_st_assuming(f, origin, NULL, spec, params, err);
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

/* What check_model checks against: the assumptions, and where the spec goes. */
typedef struct {
    const model_assumptions *assume;
    mlp_spec *spec;
} model_check_context;

/* st_check_fn of model_load: check_st_assuming before any tensor data is read. */
static mc_status check_model(const st_file *f, const char *origin, void *ctx, mc_error *err)
{
    model_check_context *c = ctx;
    return check_st_assuming(f, origin, c->assume, c->spec, err);
}

mc_status model_load_assuming(const char *path, const model_assumptions *assume, mlp_spec *spec,
                              float **params, st_file *meta, mc_error *err)
{
    st_file f;
    model_check_context c = {assume, spec};
    mc_status st = st_load_checked(path, &f, check_model, &c, err);
    if (st)
        return st;
    st = from_st_assuming(&f, path, assume, spec, params, err);
    if (!st && meta) {
        memset(meta, 0, sizeof *meta);
        meta->n_meta = f.n_meta;
        memcpy(meta->meta, f.meta, sizeof f.meta);
    }
    st_free(&f);
    return st;
}

mc_status model_load(const char *path, mlp_spec *spec, float **params, st_file *meta,
                     mc_error *err)
{
    return model_load_assuming(path, NULL, spec, params, meta, err);
}
