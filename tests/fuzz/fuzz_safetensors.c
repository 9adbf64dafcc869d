/* libFuzzer target: the safetensors parser, then the model and checkpoint readers on what
 * it accepts. */
#include "fuzz_util.h" /* first: it defines _GNU_SOURCE */

#include <stdlib.h>

#include "mnistcl/checkpoint.h"
#include "mnistcl/model_io.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    st_file f;
    mc_error err;
    if (st_parse(data, size, "fuzz", &f, &err) == MC_OK) {
        mlp_spec spec;
        float *params = NULL;
        optimizer_state state;
        if (model_from_st(&f, "fuzz", &spec, &params, &err) == MC_OK)
            free(params);
        st_free(&f);
        train_progress p;
        if (checkpoint_load(fuzz_file(0, data, size), &spec, &params, &state, &p, NULL,
                            &err) == MC_OK) {
            free(params);
            free(state.values);
            free(state.best);
        }
    }
    return 0;
}
