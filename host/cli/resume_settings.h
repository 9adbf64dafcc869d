/*
 * The run settings a checkpoint keeps, between the train command's options and the
 * library's settings table (train/run_policy.h: which settings, their encoding, the
 * ".bytes" hex of a string that is not UTF-8): the values come from the options, and are
 * read back through the command line's own option table, so a checkpoint's value gets
 * exactly the checks (ranges, finiteness, names) the same value typed on the command line
 * would.
 */
#ifndef MNISTCL_RESUME_SETTINGS_H
#define MNISTCL_RESUME_SETTINGS_H

#include "cli/cli_options.h"
#include "cli/train_options.h"
#include "mnistcl/safetensors.h"
#include "train/run_policy.h"

/** The run's settings from the options, values[i] for policy_settings[i]. */
void resume_settings_values(const train_options *o, policy_value values[POLICY_N_SETTINGS]);

/**
 * Applies a checkpoint's settings (meta, which must outlive o, and whose ".bytes" entries
 * are decoded in place) to o through table, the train command's parsed option table. An
 * option the checkpoint fixes that the command line also gave is MC_ERR_USAGE (the command
 * line's value of one that may change is kept); a stored value the option would refuse,
 * or a preset that does not exist, is MC_ERR_DATA naming path, the setting and why.
 */
mc_status resume_settings_apply(train_options *o, st_file *meta, const char *path,
                                cli_option *table, int n_table, mc_error *err);

#endif
