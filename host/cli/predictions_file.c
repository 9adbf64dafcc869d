/* --predictions and --probabilities: the network's answers for a set, as CSV. */
#include "cli/predictions_file.h"

#include <stdlib.h>

#include "io/output_file.h"
#include "mnistcl/classify.h"

mc_status write_set_outputs(trainer *t, int n, int classes, const char *predictions,
                            const char *probabilities, FILE *out, mc_error *err)
{
    enum { CHUNK = 1000 };
    const char *paths[2] = {predictions, probabilities};
    output_file f[2];
    int open[2] = {0, 0};
    float *p = malloc(sizeof(float) * (size_t)classes * CHUNK);
    mc_status st = p ? MC_OK : mc_fail(err, MC_ERR_NOMEM, "out of memory for the predictions");
    for (int k = 0; k < 2 && !st; k++) {
        if (!paths[k])
            continue;
        if ((st = output_begin(&f[k], paths[k], err)))
            break;
        open[k] = 1;
        output_printf(&f[k], "ImageId");
        if (k == 0)
            output_printf(&f[k], ",Label");
        for (int c = 0; k == 1 && c < classes; c++)
            output_printf(&f[k], ",%d", c);
        output_printf(&f[k], "\n");
    }
    for (int first = 0; !st && first < n; first += CHUNK) {
        int count = n - first < CHUNK ? n - first : CHUNK;
        if ((st = trainer_predict(t, 0, first, count, p))) {
            mc_fail(err, st, "%s: computing the network's outputs failed: %s",
                    predictions ? predictions : probabilities, mc_status_name(st));
            break;
        }
        for (int i = 0; i < count; i++) {
            const float *row = p + (size_t)i * classes;
            if (open[0])
                output_printf(&f[0], "%d,%d\n", first + i + 1, mc_argmax(row, classes));
            if (open[1]) {
                output_printf(&f[1], "%d", first + i + 1);
                for (int c = 0; c < classes; c++)
                    output_printf(&f[1], ",%.9g", (double)row[c]);
                output_printf(&f[1], "\n");
            }
        }
    }
    free(p);
    for (int k = 0; k < 2; k++) {
        if (!open[k])
            continue;
        if (st) {
            output_abort(&f[k]);
            continue;
        }
        if ((st = output_commit(&f[k], err))) {
            if (k == 0 && open[1])
                output_abort(&f[1]);
            break;
        }
        if (out)
            fprintf(out, "wrote %d %s to %s\n", n, k ? "rows of output values" : "predictions",
                    paths[k]);
    }
    return st;
}
