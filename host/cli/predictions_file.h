/* The network's answers for a whole set as CSV files: Kaggle's submission, the outputs. */
#ifndef MNISTCL_PREDICTIONS_FILE_H
#define MNISTCL_PREDICTIONS_FILE_H

#include "mnistcl/train.h"

/**
 * Runs the trainer's test set (n images) through the network in chunks and writes, each
 * atomically (io/output_file.h), the files whose paths are not NULL:
 *   predictions    "ImageId,Label": 1-based ids (Kaggle's submission format), the label
 *                  the largest of the network's `classes` outputs (the first of equals);
 *   probabilities  "ImageId,0,1,...": the output values (softmax probabilities or sigmoid
 *                  outputs), %.9g, enough to read each float back exactly.
 * Prints "wrote N predictions to PATH" (and the values) on `out` (NULL: nothing). When
 * computing or writing fails, neither file is changed (when only the second's commit
 * fails, the first stays written).
 */
mc_status write_set_outputs(trainer *t, int n, int classes, const char *predictions,
                            const char *probabilities, FILE *out, mc_error *err);

#endif
