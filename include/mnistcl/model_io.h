/*
 * Model files: an MLP's parameters as safetensors, readable by NumPy and PyTorch.
 *   fc{l}.weight  F32 (out, in)   PyTorch nn.Linear orientation: y = x @ W.T + b
 *   fc{l}.bias    F32 (out)
 *   __metadata__  format=mnistcl, layers=784,128,10, hidden_activation=relu,
 *                 output=softmax|sigmoid-mse, input_scale=1/255, plus what the caller adds
 * (docs/FORMATS.md shows how to load one in NumPy and PyTorch.)
 */
#ifndef MNISTCL_MODEL_IO_H
#define MNISTCL_MODEL_IO_H

#include "mnistcl/mlp.h"
#include "mnistcl/safetensors.h"

/**
 * Fills f (emptied first) with the network's tensors and metadata; the tensor arrays are
 * freshly allocated (st_free releases them).
 */
mc_status model_to_st(const mlp_spec *spec, const float *params, st_file *f, mc_error *err);

/**
 * Reads the network back from a parsed file: spec from the metadata, params (malloc'd,
 * layout of mlp.h) from the tensors, whose shapes and finiteness are checked.
 */
mc_status model_from_st(const st_file *f, const char *origin, mlp_spec *spec, float **params,
                        mc_error *err);

/** model_to_st + the caller's extra metadata pairs + atomic st_save. */
mc_status model_save(const char *path, const mlp_spec *spec, const float *params,
                     const st_meta *extra, int n_extra, mc_error *err);

/** st_load + model_from_st; meta (if not NULL) receives the file's metadata. */
mc_status model_load(const char *path, mlp_spec *spec, float **params, st_file *meta,
                     mc_error *err);

#endif
