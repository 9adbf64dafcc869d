/* One image through the network on the host, every intermediate kept (for displays). */
#include <stdlib.h>
#include <string.h>

#include "core/activations.h"
#include "mnistcl/mlp.h"

mc_status mlp_trace_run(const mlp_spec *spec, const float *params, const unsigned char *image,
                        mlp_trace *tr)
{
    memset(tr, 0, sizeof *tr);
    int L = spec->n_layers;
    tr->n_layers = L;
    for (int l = 0; l <= L; l++) {
        tr->z[l] = calloc((size_t)spec->sizes[l], sizeof(double));
        tr->a[l] = calloc((size_t)spec->sizes[l], sizeof(double));
        if (!tr->z[l] || !tr->a[l]) {
            mlp_trace_free(tr);
            return MC_ERR_NOMEM;
        }
    }
    tr->out = calloc((size_t)spec->sizes[L], sizeof(double));
    if (!tr->out) {
        mlp_trace_free(tr);
        return MC_ERR_NOMEM;
    }
    for (int i = 0; i < spec->sizes[0]; i++)
        tr->a[0][i] = image[i] / 255.0;
    for (int l = 0; l < L; l++) {
        int in = spec->sizes[l], out = spec->sizes[l + 1];
        const float *W = params + mlp_weight_offset(spec, l), *b = params + mlp_bias_offset(spec, l);
        for (int j = 0; j < out; j++) {
            double z = b[j];
            for (int i = 0; i < in; i++)
                z += tr->a[l][i] * W[(size_t)i * out + j];
            tr->z[l + 1][j] = z;
            tr->a[l + 1][j] = act_apply(mlp_layer_act(spec, l), z);
        }
    }
    int classes = spec->sizes[L];
    const double *z = tr->a[L];
    if (spec->output == OUT_SOFTMAX_XENT) {
        double zmax = z[0], denom = 0;
        for (int c = 1; c < classes; c++)
            zmax = z[c] > zmax ? z[c] : zmax;
        for (int c = 0; c < classes; c++)
            denom += tr->out[c] = exp(z[c] - zmax);
        for (int c = 0; c < classes; c++)
            tr->out[c] /= denom;
    } else {
        for (int c = 0; c < classes; c++)
            tr->out[c] = 1.0 / (1.0 + exp(-z[c]));
    }
    return MC_OK;
}

void mlp_trace_free(mlp_trace *tr)
{
    for (int l = 0; l <= MLP_MAX_LAYERS; l++) {
        free(tr->z[l]);
        free(tr->a[l]);
    }
    free(tr->out);
    memset(tr, 0, sizeof *tr);
}
