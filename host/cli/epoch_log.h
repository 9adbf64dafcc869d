/*
 * `mnistcl train --log FILE`: one record per epoch, CSV with a header line, or JSON Lines
 * when FILE ends in ".jsonl" (docs/FORMATS.md; `mnistcl report` reads it, report_log.h).
 * The fields, in order: epoch, steps, lr, train_loss, train_accuracy, val_loss,
 * val_accuracy, test_loss, test_accuracy, seconds, images_per_s; a set not measured in
 * an epoch is an empty CSV field or a JSON null. Accuracies and the rate are written with
 * the fewest digits that read back as the same number, the others with 9 significant
 * digits (docs/FORMATS.md). Each record goes to the file when it is
 * written (write(2), no buffering), so `tail -f` shows it and a crash keeps it.
 */
#ifndef MNISTCL_EPOCH_LOG_H
#define MNISTCL_EPOCH_LOG_H

#include <sys/types.h>

#include "io/output_file.h"
#include "mnistcl/status.h"
#include "mnistcl/train.h"

/** One epoch's record. */
typedef struct {
    int epoch;            /* 1-based */
    long long steps;      /* steps of the whole run done at the epoch's end */
    float lr;             /* the rate of the epoch's last step (trainer_lr_at) */
    pass_stats train;     /* as the epoch line: loss and accuracy during the epoch */
    pass_stats val, test; /* after it, where has_val / has_test */
    int has_val, has_test;
    double seconds, images_per_s;
} epoch_record;

typedef struct {
    char path[OUTPUT_PATH_MAX + 1];
    int fd;    /* appending to path; -1: no log (none given, or stopped after a failure) */
    int jsonl; /* JSON Lines (path ends in ".jsonl"), else CSV */
    off_t end; /* bytes of the file up to the last whole record */
} epoch_log;

/**
 * Starts the log at path. keep_before 0: a new log (any file there is replaced, as --save
 * replaces a model). keep_before = E >= 1 (a resumed run at epoch E): an existing log keeps
 * its header and its records of epochs before E, in order, and loses the others, so that
 * the resumed run's log reads as one run; a missing or empty one is started anew. The
 * file is replaced atomically (output_file.h), then opened for appending. Errors: those of
 * reading or writing the file (MC_ERR_IO), or an existing log that is not one
 * (MC_ERR_DATA, "PATH:LINE: why").
 */
mc_status epoch_log_open(epoch_log *log, const char *path, int keep_before, mc_error *err);

/**
 * Appends r (nothing when the log is closed). A failed write is warned about on stderr
 * once ("mnistcl: warning: ..."), the partial record is cut off again, and the log is
 * closed: the run goes on without it.
 */
void epoch_log_write(epoch_log *log, const epoch_record *r);

/** Closes the log (safe when it is closed). */
void epoch_log_close(epoch_log *log);

#endif
