/*
 * Model files: an MLP's parameters as safetensors, readable by NumPy and PyTorch.
 *   fc{l}.weight  F32 (out, in)   PyTorch nn.Linear orientation: y = x @ W.T + b
 *   fc{l}.bias    F32 (out)
 *   __metadata__  format=mnistcl, layers=784,128,10, hidden_activation=relu,
 *                 output=softmax|sigmoid-mse, input_scale=1/255, plus what the caller adds
 * (docs/FORMATS.md shows how to load one in NumPy and PyTorch.)
 *
 * A plain PyTorch state_dict of an nn.Sequential of Linear layers, saved with
 * safetensors.torch.save_file (no metadata: "0.weight", "0.bias", "2.weight", ...; any
 * common prefix, "net.0.weight"; a layer without bias has zeros), loads too: the layers
 * from the tensors' shapes in module order, the activations, which such a file does not
 * record, from model_assumptions.
 */
#ifndef MNISTCL_MODEL_IO_H
#define MNISTCL_MODEL_IO_H

#include "mnistcl/mlp.h"
#include "mnistcl/safetensors.h"

/** What a file that does not say is assumed to be (a PyTorch state_dict). */
typedef struct {
    act_kind hidden_act; /* between the Linear layers */
    output_kind output;  /* after the last */
} model_assumptions;

/**
 * Fills f (emptied first) with the network's tensors and metadata; the tensor arrays are
 * freshly allocated (st_free releases them).
 */
mc_status model_to_st(const mlp_spec *spec, const float *params, st_file *f, mc_error *err);

/**
 * Checks a parsed file (tensor data not needed) and reads spec from its metadata (a
 * state_dict without mnistcl metadata: from its tensors, ReLU and softmax): format
 * (when present mnistcl or mnistcl-checkpoint), format_version (when present 1),
 * input_scale (when present 1/255), valid layers and activations; every fc{l}.weight
 * (out, in) and fc{l}.bias (out) present with that shape; no other tensor but, in a
 * checkpoint, optimizer.velocity of one value per parameter. MC_ERR_DATA naming origin
 * and the field or tensor. Runs before any parameter memory is allocated.
 */
mc_status model_check_st(const st_file *f, const char *origin, mlp_spec *spec, mc_error *err);

/**
 * Reads the network back from a parsed file: model_check_st, then params (malloc'd,
 * layout of mlp.h) from the tensors, whose values must be finite.
 */
mc_status model_from_st(const st_file *f, const char *origin, mlp_spec *spec, float **params,
                        mc_error *err);

/** model_to_st + the caller's extra metadata pairs + atomic st_save. */
mc_status model_save(const char *path, const mlp_spec *spec, const float *params,
                     const st_meta *extra, int n_extra, mc_error *err);

/**
 * st_load_checked with model_check_st (so nothing is allocated for a file that does not
 * match its metadata) + model_from_st; meta (if not NULL) receives the file's metadata.
 */
mc_status model_load(const char *path, mlp_spec *spec, float **params, st_file *meta,
                     mc_error *err);

/**
 * model_load, a state_dict taken to have assume's activations (NULL: ReLU between the
 * layers, softmax after the last); a file with mnistcl metadata has its own.
 */
mc_status model_load_assuming(const char *path, const model_assumptions *assume, mlp_spec *spec,
                              float **params, st_file *meta, mc_error *err);

#endif
