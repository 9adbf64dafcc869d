/* A command's output paths, checked before any work. */
#define _XOPEN_SOURCE 700 /* realpath */
#include "cli/output_paths.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "io/output_file.h"

/*
 * path as its folder's canonical path + "/" + its name (for a file that need not exist
 * yet), or "" when the folder cannot be resolved.
 */
static void canonical_path(const char *path, char *out, size_t len)
{
    char dir[OUTPUT_PATH_MAX + 1], real[PATH_MAX];
    const char *slash = strrchr(path, '/');
    snprintf(dir, sizeof dir, "%.*s", slash ? (int)(slash - path) + 1 : 1, slash ? path : ".");
    if (!realpath(dir, real)) {
        out[0] = 0;
        return;
    }
    snprintf(out, len, "%s/%s", real, slash ? slash + 1 : path);
}

int cli_same_file(const char *a, const char *b)
{
    if (!a || !b)
        return 0;
    if (strcmp(a, b) == 0)
        return 1;
    struct stat sa, sb;
    if (stat(a, &sa) == 0 && stat(b, &sb) == 0)
        return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
    char ca[OUTPUT_PATH_MAX + PATH_MAX + 2], cb[sizeof ca];
    canonical_path(a, ca, sizeof ca);
    canonical_path(b, cb, sizeof cb);
    return ca[0] && strcmp(ca, cb) == 0;
}

mc_status cli_check_paths(const cli_path *outputs, int n_out, const cli_path *inputs, int n_in,
                          const char *may_replace, const char *replaced, mc_error *err)
{
    for (int i = 0; i < n_out; i++) {
        const cli_path *o = &outputs[i];
        if (!o->path)
            continue;
        for (int k = 0; k < i; k++)
            if (cli_same_file(o->path, outputs[k].path))
                return mc_fail(err, MC_ERR_USAGE, "%s and %s name the same file (%s): give each "
                               "its own", outputs[k].option, o->option, o->path);
        for (int k = 0; k < n_in; k++) {
            int allowed = may_replace && replaced && strcmp(o->option, may_replace) == 0 &&
                          strcmp(inputs[k].option, replaced) == 0;
            if (!allowed && cli_same_file(o->path, inputs[k].path))
                return mc_fail(err, MC_ERR_USAGE, "%s %s would overwrite the %s input file",
                               o->option, o->path, inputs[k].option);
        }
        mc_status st = output_check(o->path, o->option, err);
        if (st)
            return st;
    }
    return MC_OK;
}
