/* libFuzzer target: the tuning-cache reader. */
#include "fuzz_util.h"
#include "io/tune_cache.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    cl_tuning t;
    int found;
    mc_error err;
    tune_cache_lookup(fuzz_file(0, data, size), "key", &t, &found, &err);
    return 0;
}
