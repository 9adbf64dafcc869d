/* Kaggle "digit recognizer" CSV files as datasets. */
#ifndef MNISTCL_CSV_H
#define MNISTCL_CSV_H

#include "mnistcl/dataset.h"

/**
 * Loads a CSV (raw or gzipped) in the Kaggle "digit recognizer" format: a header line
 * (`label,pixel0,...,pixel783` for training data, `pixel0,...` for unlabelled test data),
 * then one row per image: the label (when the header's first column is "label") and the
 * pixel values, integers 0..255. The pixel count must be a square (784 = 28x28). Labels
 * must be below num_classes. Blank lines are ignored, CRLF line ends accepted, a UTF-8
 * byte order mark before the header dropped. Header names may be quoted; each must be
 * there and not a number, and "label" (any case) may only be first. path must be a
 * regular file (input_open: MC_ERR_IO for a directory or FIFO, never blocking); a
 * damaged or truncated gzip stream is MC_ERR_DATA. Any malformed row is an error naming
 * the file, the line and the field.
 */
mc_status csv_load(dataset *out, const char *path, int num_classes, mc_error *err);

#endif
