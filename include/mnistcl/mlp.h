/* The multi-layer perceptron: its shape, activations, parameter layout and initialisation. */
#ifndef MNISTCL_MLP_H
#define MNISTCL_MLP_H

#include <stddef.h>

#include "mnistcl/mlp_kinds.h" /* act_kind (ACT_*), output_kind (OUT_*): shared with the kernels */
#include "mnistcl/rng.h"
#include "mnistcl/status.h"

#define MLP_MAX_LAYERS 16 /* weight layers; sizes[] holds one more entry */

/** How initial weights are drawn (biases always start at 0). */
typedef enum {
    INIT_UNIFORM = 0, /* uniform(-0.5, 0.5), as in the seed tutorials */
    INIT_NORMAL = 1,  /* normal(0, 1) * 0.01 */
    INIT_HE = 2,      /* normal(0, 1) * sqrt(2 / fan_in) */
    INIT_XAVIER = 3,  /* uniform(-a, a), a = sqrt(6 / (fan_in + fan_out)) */
} init_kind;

/** Shape of the network: sizes[0] inputs, sizes[n_layers] outputs. */
typedef struct {
    int n_layers;                    /* number of weight layers, >= 1 */
    int sizes[MLP_MAX_LAYERS + 1];   /* units per layer, input first */
    act_kind hidden_act;             /* activation of every hidden layer */
    output_kind output;              /* output layer and loss */
} mlp_spec;

/*
 * Parameter layout, one flat float array: for each layer l in order, W_l then b_l.
 * W_l is (sizes[l], sizes[l+1]) row-major, so a layer computes Y = X·W + b with X of
 * shape (batch, sizes[l]). Gradients and optimizer state use the same layout.
 */

/** Total number of parameters. */
size_t mlp_param_count(const mlp_spec *spec);

/** Offset of W_l in the flat array. */
size_t mlp_weight_offset(const mlp_spec *spec, int layer);

/** Offset of b_l in the flat array. */
size_t mlp_bias_offset(const mlp_spec *spec, int layer);

/** Activation applied after layer l (the hidden activation, or identity for the last). */
act_kind mlp_layer_act(const mlp_spec *spec, int layer);

/** Widest layer (max of sizes[]). */
int mlp_max_width(const mlp_spec *spec);

/**
 * Parses "784,128,10" into spec->sizes/n_layers. Each size must be in [1, 1<<20] and
 * there must be 2 to MLP_MAX_LAYERS+1 sizes.
 */
mc_status mlp_parse_layers(mlp_spec *spec, const char *text, mc_error *err);

/** Writes "784-128-10" into buf. */
void mlp_format_layers(const mlp_spec *spec, char *buf, size_t len);

/** Fills params (mlp_param_count floats): weights by `init` from r, biases 0. */
void mlp_init_params(const mlp_spec *spec, init_kind init, rng *r, float *params);

/** Name tables and parsers for the enums ("relu", "softmax", "he", ...); -1 if unknown. */
const char *act_name(act_kind a);
int act_parse(const char *name);
const char *output_name(output_kind o);
int output_parse(const char *name);
const char *init_name(init_kind i);
int init_parse(const char *name);

/* ---- one image through the network on the host, every intermediate kept ---------- */

/** Every intermediate of one forward pass, in double precision (tutorial 002's x, h, ha, y, ya). */
typedef struct {
    int n_layers;
    double *z[MLP_MAX_LAYERS + 1]; /* z[l+1] = a[l]·W_l + b_l (z[0] unused) */
    double *a[MLP_MAX_LAYERS + 1]; /* a[0] = pixels / 255, a[l+1] = act_l(z[l+1]) */
    double *out;                   /* softmax(a[L]) or sigmoid(a[L]): the output values */
} mlp_trace;

/** Runs `image` (sizes[0] bytes) through the network; MC_ERR_NOMEM if out of memory. */
mc_status mlp_trace_run(const mlp_spec *spec, const float *params, const unsigned char *image,
                        mlp_trace *tr);

/** Frees the arrays of a trace. */
void mlp_trace_free(mlp_trace *tr);

#endif
