/*
 * Reading the per-epoch log `mnistcl train --log FILE` writes, for `mnistcl report`'s
 * learning curves. Two forms, told apart by the name: JSON Lines when it ends in
 * ".jsonl" (one object a line), else CSV with a header line. One record per epoch with
 * the fields epoch, steps, lr, train_loss, train_accuracy, val_loss, val_accuracy,
 * test_loss, test_accuracy, seconds, images_per_s; they are found by name (the CSV
 * header, the JSON keys), not by position, and unknown fields are ignored. Accuracies
 * are fractions 0..1; a set not measured in an epoch has an empty CSV field or a JSON
 * null (or no key at all).
 */
#ifndef MNISTCL_REPORT_LOG_H
#define MNISTCL_REPORT_LOG_H

#include "mnistcl/status.h"

/** The sets a log measures, in the order the figures list them. */
enum { LOG_TRAIN, LOG_VAL, LOG_TEST, LOG_SETS };

/** One epoch's record; NAN for a value the log does not give. */
typedef struct {
    int epoch; /* 1-based */
    double steps, lr, seconds, images_per_s;
    double loss[LOG_SETS];     /* mean loss of each set (may be NaN or infinite: diverged) */
    double accuracy[LOG_SETS]; /* a fraction 0..1 */
} log_epoch;

typedef struct {
    log_epoch *epochs; /* n records, epochs increasing */
    int n;
} train_log;

/** Names of the sets for legends ("train", "validation", "test"). */
extern const char *const log_set_names[LOG_SETS];

/**
 * Reads the log at path into log (emptied first). Every record must have an epoch (an
 * integer >= 1); a record whose epoch is not after the previous one's starts the curve
 * over from that epoch (a resumed run appending to its log), so the epochs kept
 * increase. Values are numbers (losses may be nan or inf); accuracies in [0, 1]; steps,
 * lr, seconds and images_per_s >= 0. A file without any record gives n = 0. Errors:
 * MC_ERR_IO when the file cannot be read, MC_ERR_DATA for a malformed line, with
 * "PATH:LINE: problem"; log is then empty.
 */
mc_status train_log_read(const char *path, train_log *log, mc_error *err);

/** Frees the records and zeroes log; safe on a zeroed log. */
void train_log_free(train_log *log);

#endif
