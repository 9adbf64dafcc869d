/* Pieces shared by the mnistcl subcommands. */
#ifndef MNISTCL_CLI_COMMON_H
#define MNISTCL_CLI_COMMON_H

#include <stdio.h>

#include "mnistcl/backend.h"
#include "mnistcl/dataset.h"
#include "mnistcl/mlp.h"
#include "mnistcl/safetensors.h"

/** Entry points of the subcommands; each returns the process exit code. */
int cmd_train(int argc, char **argv);
int cmd_eval(int argc, char **argv);
int cmd_devices(int argc, char **argv);
int cmd_predict(int argc, char **argv); /* also `forward` */
int cmd_tune(int argc, char **argv);
int cmd_report(int argc, char **argv);
int cmd_serve(int argc, char **argv);

/** Prints "mnistcl: MESSAGE" to stderr and returns status (for `return report(...)`). */
int cli_report(mc_status status, const mc_error *err);

/**
 * Loads the named dataset ("mnist" or "fashion") from dir (NULL: its default folder):
 * the training set when train is not NULL, the test set when test is not NULL.
 */
mc_status cli_load_data(const char *name, const char *dir, dataset *train, dataset *test,
                        mc_error *err);

/**
 * Loads a model file (model_load_assuming): a PyTorch state_dict, which does not record
 * its activations, is taken to have `activation` between its layers and `output` after
 * them (names as --activation and --output take; checked whatever the file). meta (or
 * NULL) receives the file's metadata.
 */
mc_status cli_load_model(const char *path, const char *activation, const char *output,
                         mlp_spec *spec, float **params, st_file *meta, mc_error *err);

/**
 * The dataset a command reads when not told: the one the model's metadata names
 * ("dataset" = mnist or fashion); anything else (a Kaggle CSV's path, none) is MNIST.
 */
const char *cli_model_dataset(const st_file *meta);

/** The --device default: $MNISTCL_DEVICE when set and not empty, else "auto". */
const char *cli_default_device(void);

/** Opens the backend for a --device value and prints "device: ..." to stdout. */
mc_status cli_open_device(const char *spec, backend **out, mc_error *err);

/** cli_open_device, printing its lines to say instead (NULL: nothing, `train --quiet`).
 *  A list of devices (several, or all) is MC_ERR_USAGE: only `train` takes one. */
mc_status cli_open_device_on(const char *spec, FILE *say, backend **out, mc_error *err);

/** Most devices one `train --device` list may name. */
#define CLI_MAX_DEVICES 16

/**
 * Opens the backends a `train --device` value names (NULL or "": cli_default_device) into
 * out[0 .. *n), out holding CLI_MAX_DEVICES: one spec, as cli_open_device_on takes; a
 * comma list of specs ("0:0,0:1"; auto and opencl stand for the device they choose; cpu
 * may repeat, each its own instance of the reference; an OpenCL device may not: a usage
 * error), or "all" (every OpenCL device `mnistcl devices` lists, in its order). Prints one
 * "device: ..." line naming every device (and the tuning lines) to say (NULL: nothing).
 * On failure nothing is left open.
 */
mc_status cli_open_devices(const char *spec, FILE *say, backend **out, int *n, mc_error *err);

/** The devices' names joined by " + " into out (len bytes, NUL-terminated; cut to fit). */
void cli_devices_name(backend *const *be, int n, char *out, size_t len);

/**
 * Builds a network spec from --layers (if given) or --hidden, the input size and class
 * count, and the activation/output names; checks every name.
 */
mc_status cli_network_spec(mlp_spec *spec, const char *layers, const char *hidden,
                           const char *activation, const char *output, int inputs, int classes,
                           mc_error *err);

/** Seconds on a monotonic clock. */
double cli_now(void);

#endif
