/*
 * st_meta_set FILE KEY [VALUE]: rewrites a safetensors file (model or checkpoint) with
 * metadata KEY set to VALUE, or removed when VALUE is absent; the tensors are kept.
 * For tests that need a file whose metadata says something the trainer would never
 * write (out-of-range settings, other data, a zero RNG state). Exits 0, or 2 on failure.
 */
#include <stdio.h>
#include <string.h>

#include "mnistcl/safetensors.h"

int main(int argc, char **argv)
{
    if (argc != 3 && argc != 4) {
        fprintf(stderr, "usage: st_meta_set FILE KEY [VALUE]\n");
        return 2;
    }
    static st_file f; /* large: not on the stack */
    mc_error err = {{0}};
    if (st_load(argv[1], &f, &err)) {
        fprintf(stderr, "st_meta_set: %s\n", err.msg);
        return 2;
    }
    int found = 0;
    for (int i = 0; i < f.n_meta; i++)
        if (strcmp(f.meta[i].key, argv[2]) == 0) {
            found = 1;
            if (argc == 4)
                snprintf(f.meta[i].value, sizeof f.meta[i].value, "%s", argv[3]);
            else
                f.meta[i--] = f.meta[--f.n_meta];
        }
    if (!found && argc == 4 && !st_meta_add(&f, argv[2], argv[3])) {
        fprintf(stderr, "st_meta_set: %s: no room for another metadata entry\n", argv[1]);
        st_free(&f);
        return 2;
    }
    mc_status st = st_save(argv[1], &f, &err);
    st_free(&f);
    if (st) {
        fprintf(stderr, "st_meta_set: %s\n", err.msg);
        return 2;
    }
    return 0;
}
