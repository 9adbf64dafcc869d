/* libFuzzer target: the Kaggle CSV loader. */
#include "fuzz_util.h"
#include "mnistcl/csv.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    dataset d;
    mc_error err;
    if (csv_load(&d, fuzz_file(0, data, size), 10, &err) == MC_OK)
        dataset_free(&d);
    return 0;
}
