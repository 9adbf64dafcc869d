/* libFuzzer target: the IDX loader (raw or gzip) on an images file and a labels file.
 * Input: 2 bytes (little-endian) giving the images file's length, its bytes, then the
 * labels file's bytes. */
#include "fuzz_util.h"
#include "mnistcl/dataset.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2)
        return 0;
    size_t split = (size_t)data[0] | (size_t)data[1] << 8;
    data += 2, size -= 2;
    if (split > size)
        split = size;
    const char *images = fuzz_file(0, data, split);
    const char *labels = fuzz_file(1, data + split, size - split);
    dataset d;
    mc_error err;
    if (dataset_load_idx(&d, images, labels, 10, &err) == MC_OK)
        dataset_free(&d);
    return 0;
}
