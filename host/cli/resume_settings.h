/*
 * The run settings a checkpoint keeps ("setting.NAME" metadata) so that `train --resume`
 * continues the same run: written from the options, read back through the command
 * line's own option table, so a checkpoint's value gets exactly the checks (ranges,
 * finiteness, names) the same value typed on the command line would. A path that is not
 * UTF-8 (metadata is JSON, so it would be written with U+FFFD in place of its odd bytes)
 * is also kept exactly, as hex digits in "setting.NAME.bytes".
 */
#ifndef MNISTCL_RESUME_SETTINGS_H
#define MNISTCL_RESUME_SETTINGS_H

#include "cli/cli_options.h"
#include "mnistcl/safetensors.h"
#include "cli/train_options.h"

/** How many metadata pairs resume_settings_to_meta writes at most. */
#define RESUME_SETTINGS_MAX 24

/** The run's settings as metadata pairs (at most RESUME_SETTINGS_MAX); returns the count. */
int resume_settings_to_meta(const train_options *o, st_meta *meta);

/**
 * Applies a checkpoint's settings (meta, which must outlive o, and whose ".bytes" entries
 * are decoded in place) to o through table, the
 * train command's parsed option table. An option the checkpoint fixes that the command
 * line also gave is MC_ERR_USAGE; a stored value the option would refuse is MC_ERR_DATA
 * naming path, the setting and why.
 */
mc_status resume_settings_apply(train_options *o, st_file *meta, const char *path,
                                cli_option *table, int n_table, mc_error *err);

#endif
