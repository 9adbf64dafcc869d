/* The tuning cache file: parse, look up, store. */
#include "mnistcl/tune_cache.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define LINE_MAX_LEN 1024

const char *tune_cache_path(void)
{
    static char path[4096];
    const char *env = getenv("MNISTCL_TUNE_CACHE");
    if (env && *env)
        return env;
    const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
    if (xdg && *xdg)
        snprintf(path, sizeof path, "%s/mnistcl/tuning.txt", xdg);
    else
        snprintf(path, sizeof path, "%s/.cache/mnistcl/tuning.txt", home && *home ? home : ".");
    return path;
}

/* Parses "rb_tm=8 rb_local=4 ..." into t; returns 0, or -1 with a message in what. */
static int parse_values(char *text, cl_tuning *t, char *what, size_t len)
{
    memset(t, 0, sizeof *t);
    static const struct {
        const char *name;
        size_t offset;
        int allowed[5];
    } fields[] = {
        {"rb_tm", offsetof(cl_tuning, rb_tm), {4, 6, 8, 0}},
        {"rb_local", offsetof(cl_tuning, rb_local), {1, 2, 4, 8, 0}},
        {"gt_ts", offsetof(cl_tuning, gt_ts), {32, 64, 0}},
        {"gt_wpt", offsetof(cl_tuning, gt_wpt), {2, 4, 0}},
    };
    for (char *tok = strtok(text, " \t"); tok; tok = strtok(NULL, " \t")) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            snprintf(what, len, "'%.40s' is not name=value", tok);
            return -1;
        }
        *eq = 0;
        size_t f = 0;
        while (f < sizeof fields / sizeof fields[0] && strcmp(fields[f].name, tok) != 0)
            f++;
        if (f == sizeof fields / sizeof fields[0]) {
            snprintf(what, len, "unknown tunable '%.40s'", tok);
            return -1;
        }
        char *end;
        errno = 0;
        long v = strtol(eq + 1, &end, 10);
        int ok = end != eq + 1 && !*end && !errno;
        for (int a = 0; ok && fields[f].allowed[a]; a++)
            if (v == fields[f].allowed[a]) {
                *(int *)((char *)t + fields[f].offset) = (int)v;
                ok = 2;
                break;
            }
        if (ok != 2) {
            snprintf(what, len, "%s=%.20s is not an allowed value", tok, eq + 1);
            return -1;
        }
    }
    return 0;
}

mc_status tune_cache_lookup(const char *path, const char *key, cl_tuning *out, int *found,
                            mc_error *err)
{
    *found = 0;
    FILE *f = fopen(path, "r");
    if (!f)
        return errno == ENOENT ? MC_OK
                               : mc_fail(err, MC_ERR_IO, "%s: cannot open: %s", path,
                                         strerror(errno));
    char line[LINE_MAX_LEN];
    int line_no = 0;
    mc_status st = MC_OK;
    while (fgets(line, sizeof line, f)) {
        line_no++;
        size_t n = strlen(line);
        if (n == sizeof line - 1 && line[n - 1] != '\n') {
            st = mc_fail(err, MC_ERR_DATA, "%s:%d: line longer than %d bytes", path, line_no,
                         LINE_MAX_LEN - 2);
            break;
        }
        line[strcspn(line, "\r\n")] = 0;
        if (!line[0] || line[0] == '#')
            continue;
        char *tab = strchr(line, '\t');
        if (!tab) {
            st = mc_fail(err, MC_ERR_DATA, "%s:%d: expected KEY<TAB>name=value ...", path,
                         line_no);
            break;
        }
        *tab = 0;
        cl_tuning t;
        char what[128];
        if (parse_values(tab + 1, &t, what, sizeof what)) {
            st = mc_fail(err, MC_ERR_DATA, "%s:%d: %s (delete the file or run `mnistcl tune`)",
                         path, line_no, what);
            break;
        }
        if (strcmp(line, key) == 0) {
            *out = t;
            *found = 1;
        }
    }
    fclose(f);
    if (st)
        *found = 0;
    return st;
}

/* mkdir -p of the folder that holds path. */
static void make_parent_dirs(const char *path)
{
    char dir[4096];
    snprintf(dir, sizeof dir, "%s", path);
    for (char *p = dir + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = 0;
        mkdir(dir, 0755);
        *p = '/';
    }
}

mc_status tune_cache_store(const char *path, const char *key, const cl_tuning *t, mc_error *err)
{
    make_parent_dirs(path);
    char tmp[4200];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    FILE *out = fopen(tmp, "w");
    if (!out)
        return mc_fail(err, MC_ERR_IO, "%s: cannot create: %s", tmp, strerror(errno));
    fprintf(out, "# mnistcl tuning cache: written by `mnistcl tune`, read when a device opens\n");
    FILE *in = fopen(path, "r");
    char line[LINE_MAX_LEN];
    size_t key_len = strlen(key);
    while (in && fgets(line, sizeof line, in)) /* keep the other devices' lines */
        if (line[0] != '#' && !(strncmp(line, key, key_len) == 0 && line[key_len] == '\t'))
            fputs(line, out);
    if (in)
        fclose(in);
    fprintf(out, "%s\trb_tm=%d rb_local=%d gt_ts=%d gt_wpt=%d\n", key, t->rb_tm, t->rb_local,
            t->gt_ts, t->gt_wpt);
    int bad = fflush(out) != 0 || fsync(fileno(out)) != 0;
    bad |= fclose(out) != 0;
    if (bad || rename(tmp, path) != 0) {
        unlink(tmp);
        return mc_fail(err, MC_ERR_IO, "%s: cannot write: %s", path, strerror(errno));
    }
    return MC_OK;
}
