/* What `train` (and `eval --untrained`) can be told, the tutorial presets, and the
 * network/initialisation built from it. */
#ifndef MNISTCL_TRAIN_OPTIONS_H
#define MNISTCL_TRAIN_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "cli/augment_options.h"
#include "cli/cli_options.h"
#include "mnistcl/mlp.h"
#include "mnistcl/train.h"

typedef struct {
    const char *preset;
    const char *dataset, *data_dir, *train_csv, *test_csv;
    const char *layers, *hidden, *activation, *output, *init, *batch;
    const char *device, *save, *predictions, *checkpoint, *resume;
    int epochs, train_limit, shuffle, print_every, checkpoint_every;
    int plan; /* --plan: print the stages of one step and exit (not a training setting) */
    float lr, momentum, weight_decay;
    uint64_t seed;
    /* validation: --val N|F held out, --early-stop PATIENCE, --plateau FACTOR[:PATIENCE] */
    const char *val, *plateau;
    int early_stop;
    /* the update rule and the rate over the run (train_options_config) */
    const char *optimizer, *schedule;
    float beta1, beta2, eps, gamma, final_lr;
    int warmup, step_epochs;
    float dropout, input_dropout; /* --dropout, --input-dropout */
    int augment;                  /* --augment, with these distortions (their seed unused:
                                     train_options_config derives it from --seed) */
    augment_options aug;
} train_options;

/** The defaults: 784-128-10 ReLU/softmax, He init, batch 128, SGD lr 0.05, momentum 0.9, a
 *  constant rate, no dropout, no distortions (their settings Simard's), 5 epochs. */
void train_options_defaults(train_options *o);

/**
 * Applies preset `name` (network, initialisation, batch, learning rate, momentum, weight
 * decay, epochs, shuffling, training-set size, print interval, optimizer, schedule,
 * warm-up, dropout, distortions) to o. MC_ERR_USAGE if unknown.
 */
mc_status train_options_preset(train_options *o, const char *name, mc_error *err);

/** Whether name is one of the presets. */
int train_options_preset_known(const char *name);

/** Finds the last --preset NAME / --preset=NAME in argv[first..] and applies it (before parsing). */
mc_status train_options_preset_from_argv(train_options *o, int argc, char **argv, int first,
                                         mc_error *err);

/** Prints the preset list with what each reproduces. */
void train_options_print_presets(FILE *out);

/**
 * Adds the options of the network and its initialisation (preset, layers, hidden,
 * activation, output, init, seed) to table; returns the new count.
 */
int train_options_network_table(train_options *o, cli_option *table, int n);

/**
 * Adds the options of the update rule, the rate's schedule and dropout (optimizer, beta1,
 * beta2, eps, schedule, warmup, step-epochs, gamma, final-lr, dropout, input-dropout) to
 * table; returns the new count.
 */
int train_options_rule_table(train_options *o, cli_option *table, int n);

/** The run's hyper-parameters from o (batch: images per step, 0 = full); checks names. */
mc_status train_options_config(const train_options *o, int batch, train_config *cfg,
                               mc_error *err);

/**
 * The update rule and schedule in words ("optimizer adam (beta1 0.9, ...); schedule cosine
 * ...") into out; returns 0 (out "") for plain SGD at a constant rate, which the data line
 * already describes.
 */
int train_options_describe_rule(const train_options *o, char *out, size_t len);

/** Builds the network for `inputs` pixels and 10 classes; checks every name. */
mc_status train_options_spec(const train_options *o, int inputs, mlp_spec *spec, mc_error *err);

/** Draws initial parameters (mlp_param_count floats) from the seed's weight stream. */
mc_status train_options_init_params(const train_options *o, const mlp_spec *spec, float *params,
                                    mc_error *err);

/** Seed of the shuffle stream derived from the run's seed (weights use the seed itself). */
uint64_t train_options_shuffle_seed(const train_options *o);

/** Seed of the permutation that draws the --val images (a third stream of the seed). */
uint64_t train_options_val_seed(const train_options *o);

#endif
