/* The tuning cache file: parse, look up, store. */
#include "io/tune_cache.h"

#include <errno.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/input_file.h"
#include "io/output_file.h"

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

/* The tunables a line may set, with the values each allows (0-terminated). */
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
#define N_FIELDS (sizeof fields / sizeof fields[0])

/* Parses value text (decimal digits only) into the allowed value of field f; returns it
 * or 0 when the text is not one of them. */
static int allowed_value(size_t f, const char *text)
{
    long v = 0;
    if (!*text || strlen(text) > 4 || strspn(text, "0123456789") != strlen(text))
        return 0;
    v = strtol(text, NULL, 10);
    for (int a = 0; fields[f].allowed[a]; a++)
        if (v == fields[f].allowed[a])
            return (int)v;
    return 0;
}

/*
 * Parses "rb_tm=8 rb_local=4 ..." (modifying text) into t: at least one tunable, each
 * known, given once, with an allowed value. Returns 0, or -1 with the problem in what.
 */
static int parse_values(char *text, cl_tuning *t, char *what, size_t len)
{
    memset(t, 0, sizeof *t);
    int count = 0;
    for (char *tok = strtok(text, " \t"); tok; tok = strtok(NULL, " \t")) {
        char *eq = strchr(tok, '=');
        if (!eq) {
            snprintf(what, len, "'%.40s' is not name=value", tok);
            return -1;
        }
        *eq = 0;
        size_t f = 0;
        while (f < N_FIELDS && strcmp(fields[f].name, tok) != 0)
            f++;
        if (f == N_FIELDS) {
            snprintf(what, len, "unknown tunable '%.40s'", tok);
            return -1;
        }
        int *slot = (int *)((char *)t + fields[f].offset);
        if (*slot) {
            snprintf(what, len, "%s given twice", tok);
            return -1;
        }
        if (!(*slot = allowed_value(f, eq + 1))) {
            snprintf(what, len, "%s=%.20s is not an allowed value", tok, eq + 1);
            return -1;
        }
        count++;
    }
    if (!count) {
        snprintf(what, len, "no tunables after the key");
        return -1;
    }
    return 0;
}

/* Writes t as "rb_tm=8 rb_local=4 ..." (the tunables it sets) into buf. */
static void format_values(const cl_tuning *t, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = 0;
    for (size_t f = 0; f < N_FIELDS && used < len; f++) {
        int v = *(const int *)((const char *)t + fields[f].offset);
        if (v)
            used += (size_t)snprintf(buf + used, len - used, "%s%s=%d", used ? " " : "",
                                     fields[f].name, v);
    }
}

/* Reads the cache file line by line, numbering the lines. */
typedef struct {
    FILE *f;
    const char *path;
    int line_no;
    char line[LINE_MAX_LEN];
} cache_reader;

/*
 * Reads the next line into r->line without its end (LF or CRLF). Returns its length, -1
 * at the end of the file (or a read error), -2 when it is too long or holds a NUL byte
 * (the rest of the line is consumed, so the numbering stays right).
 */
static int read_line(cache_reader *r)
{
    int c, n = 0, bad = 0;
    while ((c = getc(r->f)) != EOF && c != '\n') {
        if (c == 0 || n == LINE_MAX_LEN - 1)
            bad = 1;
        else
            r->line[n++] = (char)c;
    }
    if (c == EOF && n == 0 && !bad)
        return -1;
    r->line_no++;
    if (n && r->line[n - 1] == '\r')
        n--;
    r->line[n] = 0;
    return bad ? -2 : n;
}

/*
 * Reads entries until the next one that is not blank or a comment. Returns 1 with *key
 * (inside r->line) and *t set, -1 for a malformed line (its problem in what), 0 at the
 * end of the file.
 */
static int next_entry(cache_reader *r, char **key, cl_tuning *t, char *what, size_t len)
{
    for (;;) {
        int n = read_line(r);
        if (n == -1)
            return 0;
        if (n == -2) {
            snprintf(what, len, "line longer than %d bytes or holding a NUL byte",
                     LINE_MAX_LEN - 2);
            return -1;
        }
        if (!r->line[0] || r->line[0] == '#')
            continue;
        char *tab = strchr(r->line, '\t');
        if (!tab || tab == r->line) {
            snprintf(what, len, "expected KEY<TAB>name=value ...");
            return -1;
        }
        *tab = 0;
        *key = r->line;
        return parse_values(tab + 1, t, what, len) ? -1 : 1;
    }
}

/* Prints the one-line warning for a malformed line of the cache; `fate` says what becomes
 * of it. */
static void warn_line(const cache_reader *r, const char *what, const char *fate)
{
    fprintf(stderr, "mnistcl: warning: %s:%d: %s; %s\n", r->path, r->line_no, what, fate);
}

/*
 * Opens the cache for reading. Returns NULL when there is nothing to read: the file is
 * absent (silently), or unreadable, a directory or not a regular file (one warning line:
 * tuning is an optimisation, and a run must not stop for it).
 */
static FILE *open_cache(const char *path)
{
    struct stat sb;
    if (stat(path, &sb) != 0 && errno == ENOENT)
        return NULL;
    FILE *f;
    mc_error e;
    if (input_fopen(path, &f, NULL, &e)) {
        fprintf(stderr, "mnistcl: warning: %s; tuning cache not used\n", e.msg);
        return NULL;
    }
    return f;
}

mc_status tune_cache_lookup(const char *path, const char *key, cl_tuning *out, int *found,
                            mc_error *err)
{
    (void)err; /* nothing in the cache is an error any more: see tune_cache.h */
    *found = 0;
    cache_reader r = {open_cache(path), path, 0, {0}};
    if (!r.f)
        return MC_OK;
    char *k, what[128];
    cl_tuning t;
    int got;
    while ((got = next_entry(&r, &k, &t, what, sizeof what)) != 0) {
        if (got < 0)
            warn_line(&r, what, "line ignored (run `mnistcl tune` to rewrite the file)");
        else if (strcmp(k, key) == 0 && !*found) {
            *out = t;
            *found = 1;
        }
    }
    if (ferror(r.f))
        fprintf(stderr, "mnistcl: warning: %s: cannot read after line %d: %s\n", path, r.line_no,
                strerror(errno));
    fclose(r.f);
    return MC_OK;
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

/* Copies the valid lines of other devices from the old cache (if any) to out, once per
 * key; malformed lines are dropped with a warning each. */
static void copy_other_lines(const char *path, const char *key, output_file *out)
{
    cache_reader r = {open_cache(path), path, 0, {0}};
    if (!r.f)
        return;
    char *k, what[128], values[128];
    cl_tuning t;
    int got;
    char(*kept)[LINE_MAX_LEN] = NULL;
    int n_kept = 0;
    while ((got = next_entry(&r, &k, &t, what, sizeof what)) != 0) {
        if (got < 0) {
            warn_line(&r, what, "line dropped from the rewritten file");
            continue;
        }
        int seen = strcmp(k, key) == 0;
        for (int i = 0; !seen && i < n_kept; i++)
            seen = strcmp(kept[i], k) == 0;
        if (seen)
            continue; /* this device's line is replaced; a repeated key keeps its first line */
        char(*grown)[LINE_MAX_LEN] = realloc(kept, (size_t)(n_kept + 1) * sizeof *kept);
        if (grown) {
            kept = grown;
            snprintf(kept[n_kept++], LINE_MAX_LEN, "%s", k);
        }
        format_values(&t, values, sizeof values);
        output_printf(out, "%s\t%s\n", k, values);
    }
    free(kept);
    fclose(r.f);
}

mc_status tune_cache_store(const char *path, const char *key, const cl_tuning *t, mc_error *err)
{
    make_parent_dirs(path);
    output_file out;
    mc_status st = output_begin(&out, path, err);
    if (st)
        return st;
    output_printf(&out,
                  "# mnistcl tuning cache: written by `mnistcl tune`, read when a device opens\n");
    copy_other_lines(path, key, &out);
    char values[128];
    format_values(t, values, sizeof values);
    output_printf(&out, "%s\t%s\n", key, values);
    return output_commit(&out, err);
}
