/*
 * The tuning cache: store and look up round trip (other devices' lines kept, a device's
 * line replaced, folders created), an absent file is no error. Tuning is an
 * optimisation, so nothing in the cache stops a run: each malformed line (no tab, not
 * name=value, an unknown tunable, a value not allowed, a tunable given twice, a line too
 * long) is skipped with exactly one warning line naming the file, the line and the
 * problem; a valid line for this device is still used when other lines are bad; an
 * unreadable cache (a directory, no permission) is one warning. `tune` (store) drops
 * the malformed lines and keeps the other devices' valid ones.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "io/tune_cache.h"
#include "test_util.h"

static char path[128], log_path[128];
static char warnings[8192]; /* what the last captured call wrote on stderr */

static void write_text(const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

/* Runs tune_cache_lookup(file, key) with stderr captured into `warnings`. */
static mc_status lookup_captured(const char *file, const char *key, cl_tuning *t, int *found)
{
    fflush(stderr);
    int saved = dup(2), log = open(log_path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    dup2(log, 2);
    mc_error err = {{0}};
    mc_status st = tune_cache_lookup(file, key, t, found, &err);
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    close(log);
    FILE *f = fopen(log_path, "r");
    size_t n = fread(warnings, 1, sizeof warnings - 1, f);
    warnings[n] = 0;
    fclose(f);
    return st;
}

/* Lines in `warnings`. */
static int warning_lines(void)
{
    int n = 0;
    for (const char *p = warnings; *p; p++)
        n += *p == '\n';
    return n;
}

/* A cache holding text: lookup of "dev" succeeds, finds want_found, and warns once with
 * the file and `needle`. */
static void expect_skipped(const char *what, const char *text, int want_found,
                           const char *needle)
{
    write_text(text);
    cl_tuning t = {0};
    int found = -1;
    mc_status st = lookup_captured(path, "dev", &t, &found);
    if (st != MC_OK || found != want_found || warning_lines() != 1 ||
        !strstr(warnings, "mnistcl: warning: ") || !strstr(warnings, path) ||
        !strstr(warnings, needle) || !strstr(warnings, "line ignored"))
        test_fail("%s: status %d found %d (want %d), warnings '%s' (wanted one with '%s')", what,
                  st, found, want_found, warnings, needle);
    else if (want_found && t.rb_tm != 6)
        test_fail("%s: found rb_tm=%d, want 6", what, t.rb_tm);
    else
        printf("ok  %-30s %s", what, warnings);
}

/* Lookup of key in file: no error, not found, one warning holding needle. */
static void expect_unreadable(const char *what, const char *file, const char *needle)
{
    cl_tuning t;
    int found = -1;
    mc_status st = lookup_captured(file, "dev", &t, &found);
    if (st != MC_OK || found != 0 || warning_lines() != 1 || !strstr(warnings, needle) ||
        !strstr(warnings, file))
        test_fail("%s: status %d found %d, warnings '%s' (wanted one with '%s')", what, st,
                  found, warnings, needle);
    else
        printf("ok  %-30s %s", what, warnings);
}

/* The store drops malformed lines and keeps other devices' valid ones. */
static void test_store_cleans(void)
{
    write_text("# old comment\ndev A\trb_tm=7\ngarbage\ndev B\trb_tm=4 gt_ts=32\n"
               "dev B\trb_tm=8\ndev C\trb_local=2 rb_local=2\n");
    cl_tuning a = {8, 4, 64, 4}, t;
    mc_error err;
    fflush(stderr);
    if (tune_cache_store(path, "dev A", &a, &err)) {
        test_fail("store over a damaged cache: %s", err.msg);
        return;
    }
    FILE *f = fopen(path, "r");
    char text[1024];
    size_t n = fread(text, 1, sizeof text - 1, f);
    text[n] = 0;
    fclose(f);
    const char *want = "# mnistcl tuning cache: written by `mnistcl tune`, read when a device "
                       "opens\ndev B\trb_tm=4 gt_ts=32\ndev A\trb_tm=8 rb_local=4 gt_ts=64 "
                       "gt_wpt=4\n";
    int found = 0;
    if (strcmp(text, want) != 0)
        test_fail("store kept or lost the wrong lines:\n%s", text);
    else if (lookup_captured(path, "dev B", &t, &found) || !found || t.rb_tm != 4 ||
             t.gt_ts != 32 || t.rb_local || warnings[0])
        test_fail("after store: dev B found %d rb_tm %d, warnings '%s'", found, t.rb_tm,
                  warnings);
    else
        printf("ok  store drops malformed lines, keeps the other devices' valid ones\n");
}

int main(void)
{
    char dir[] = "/tmp/mnistcl-test-tune-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/sub/tuning.txt", dir);
    snprintf(log_path, sizeof log_path, "%s/stderr.txt", dir);
    cl_tuning t = {0}, a = {8, 4, 64, 4}, b = {4, 1, 32, 2}, c = {6, 2, 64, 2};
    int found = 1;
    mc_error err;
    if (tune_cache_lookup(path, "dev A", &t, &found, &err) || found)
        test_fail("an absent cache must be 'not found', not an error: %s", err.msg);
    if (tune_cache_store(path, "dev A", &a, &err) || tune_cache_store(path, "dev|B 1.0", &b, &err) ||
        tune_cache_store(path, "dev A", &c, &err))
        test_fail("store: %s", err.msg);
    if (tune_cache_lookup(path, "dev A", &t, &found, &err) || !found || memcmp(&t, &c, sizeof t))
        test_fail("dev A: not replaced by the second store");
    if (tune_cache_lookup(path, "dev|B 1.0", &t, &found, &err) || !found ||
        memcmp(&t, &b, sizeof t))
        test_fail("dev|B: lost when dev A was stored again");
    if (tune_cache_lookup(path, "dev C", &t, &found, &err) || found)
        test_fail("dev C: found though never stored");
    printf("ok  store/lookup round trip, lines of other devices kept\n");

    expect_skipped("no tab", "dev rb_tm=8\n", 0, ":1: expected KEY<TAB>name=value");
    expect_skipped("not name=value", "# comment\n\ndev\trb_tm\n", 0,
                   ":3: 'rb_tm' is not name=value");
    expect_skipped("unknown tunable", "dev\trb_tm=8 wg=64\n", 0, ":1: unknown tunable 'wg'");
    expect_skipped("value not allowed", "dev\trb_tm=7\n", 0, ":1: rb_tm=7 is not an allowed value");
    expect_skipped("not a number", "dev\tgt_ts=sixty\n", 0, "gt_ts=sixty is not an allowed value");
    expect_skipped("signed number", "dev\tgt_ts=+64\n", 0, "gt_ts=+64 is not an allowed value");
    expect_skipped("given twice", "dev\trb_tm=8 rb_tm=4\n", 0, ":1: rb_tm given twice");
    expect_skipped("no tunables", "dev\t\n", 0, ":1: no tunables");
    char *long_line = malloc(3100);
    memset(long_line, 'x', 2999);
    strcpy(long_line + 2999, "\ndev\trb_tm=6\n");
    expect_skipped("line too long, then dev", long_line, 1, ":1: line longer than");
    free(long_line);
    expect_skipped("other device's line bad", "other\trb_tm=5\ndev\trb_tm=6 gt_ts=32\n", 1,
                   ":1: rb_tm=5 is not an allowed value");
    expect_skipped("bad line after dev's", "dev\trb_tm=6\nother\tgt_wpt=3\n", 1,
                   ":2: gt_wpt=3 is not an allowed value");
    expect_skipped("dev's line bad, other ok", "dev\trb_tm=5\nother\trb_tm=6\n", 0,
                   ":1: rb_tm=5");
    expect_skipped("CRLF, then a bad line", "dev\trb_tm=6\r\nx\r\n", 1, ":2: expected KEY<TAB>");

    char folder[160];
    snprintf(folder, sizeof folder, "%s/folder", dir);
    mkdir(folder, 0755);
    expect_unreadable("cache is a directory", folder, "is a directory");
    write_text("dev\trb_tm=6\n");
    if (geteuid() != 0 && chmod(path, 0) == 0) {
        expect_unreadable("cache not readable", path, "Permission denied");
        chmod(path, 0644);
    } else {
        printf("--  cache not readable: skipped (root reads any file)\n");
    }
    test_store_cleans();

    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_exit_code();
}
