/* The nonzero pixels of an image set, listed once per image (see pixel_lists in backend.h). */
#include <stdlib.h>

#include "mnistcl/dataset.h"

int dataset_pixel_lists(const uint8_t *images, int n, int dim, int bands, uint32_t **pixels,
                        int32_t **offsets, size_t *total)
{
    *pixels = NULL;
    *offsets = NULL;
    *total = 0;
    if (n < 0 || dim < 1 || dim >= (1 << 24) || bands < 1)
        return -1;
    size_t span = ((size_t)dim + (size_t)bands - 1) / (size_t)bands;
    int32_t *off = malloc(((size_t)n * (size_t)bands + 1) * sizeof *off);
    if (!off)
        return -1;
    size_t count = 0;
    for (size_t i = 0; i < (size_t)n; i++) {
        const uint8_t *img = images + i * (size_t)dim;
        for (size_t b = 0; b < (size_t)bands; b++) {
            off[i * (size_t)bands + b] = (int32_t)count;
            size_t end = (b + 1) * span < (size_t)dim ? (b + 1) * span : (size_t)dim;
            for (size_t q = b * span; q < end; q++)
                count += img[q] != 0;
        }
        if (count > 0x7fffffffu) {
            free(off);
            return -1;
        }
    }
    off[(size_t)n * (size_t)bands] = (int32_t)count;
    uint32_t *px = malloc((count ? count : 1) * sizeof *px);
    if (!px) {
        free(off);
        return -1;
    }
    size_t k = 0;
    for (size_t i = 0; i < (size_t)n; i++)
        for (size_t q = 0; q < (size_t)dim; q++)
            if (images[i * dim + q])
                px[k++] = (uint32_t)q << 8 | images[i * dim + q];
    *pixels = px;
    *offsets = off;
    *total = count;
    return 0;
}
