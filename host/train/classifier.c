/*
 * mc_classifier (mnistcl/classify.h): a trainer without a training set whose "test set"
 * is a device buffer of MC_CLASSIFY_CAPACITY images, rewritten by every call and run
 * through the trainer's prediction plan (gather, forward layers, probabilities).
 */
#include "mnistcl/classify.h"

#include <stdlib.h>
#include <string.h>

#include "train/trainer_internal.h"

struct mc_classifier {
    trainer *t;
    int inputs, classes;
};

mc_status mc_classifier_create(mc_classifier **out, backend *be, const mlp_spec *spec,
                               const float *params, mc_error *err)
{
    *out = NULL;
    mc_classifier *c = calloc(1, sizeof *c);
    int inputs = spec->sizes[0];
    /* a blank set of the capacity, shaped 1 x inputs (the trainer reads only the pixels) */
    dataset room = {.images = calloc((size_t)MC_CLASSIFY_CAPACITY, (size_t)inputs),
                    .n = MC_CLASSIFY_CAPACITY, .rows = 1, .cols = inputs, .max_label = -1};
    if (!c || !room.images) {
        free(c);
        free(room.images);
        return mc_fail(err, MC_ERR_NOMEM, "out of memory for a classifier of %d inputs", inputs);
    }
    train_config cfg = {0};
    mc_status st = trainer_create(&c->t, be, spec, NULL, &room, &cfg, err);
    free(room.images);
    if (!st && (st = trainer_set_params(c->t, params)))
        mc_fail(err, st, "uploading the parameters to %s failed: %s", backend_name(be),
                mc_status_name(st));
    if (st) {
        trainer_destroy(c->t);
        free(c);
        return st;
    }
    c->inputs = inputs;
    c->classes = spec->sizes[spec->n_layers];
    *out = c;
    return MC_OK;
}

mc_status mc_classify(mc_classifier *c, const uint8_t *images, int n, float *outputs,
                      mc_error *err)
{
    trainer *t = c->t;
    for (int done = 0; done < n; done += MC_CLASSIFY_CAPACITY) {
        int count = n - done < MC_CLASSIFY_CAPACITY ? n - done : MC_CLASSIFY_CAPACITY;
        mc_status st = t->op->write(t->be, t->test.images, 0,
                                    images + (size_t)done * c->inputs, (size_t)count * c->inputs);
        if (!st)
            st = trainer_predict(t, 0, 0, count, outputs + (size_t)done * c->classes);
        if (st)
            return mc_fail(err, st, "classifying %d image%s on %s failed: %s", count,
                           count == 1 ? "" : "s", backend_name(t->be), mc_status_name(st));
    }
    return MC_OK;
}

int mc_argmax(const float *outputs, int classes)
{
    int best = 0;
    for (int k = 1; k < classes; k++)
        if (outputs[k] > outputs[best])
            best = k;
    return best;
}

int mc_classifier_inputs(const mc_classifier *c)
{
    return c->inputs;
}

int mc_classifier_classes(const mc_classifier *c)
{
    return c->classes;
}

void mc_classifier_destroy(mc_classifier *c)
{
    if (!c)
        return;
    trainer_destroy(c->t);
    free(c);
}
