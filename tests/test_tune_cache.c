/*
 * The tuning cache: store and look up round trip (other devices' lines kept, a device's
 * line replaced), an absent file is no error, and malformed files are rejected with the
 * file, the line and the problem: no tab, not name=value, an unknown tunable, a value not
 * allowed, a line too long.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "mnistcl/tune_cache.h"
#include "test_util.h"

static char path[128];

static void write_text(const char *text)
{
    FILE *f = fopen(path, "w");
    fputs(text, f);
    fclose(f);
}

static void expect_bad(const char *what, const char *text, const char *needle)
{
    write_text(text);
    cl_tuning t;
    int found = 1;
    mc_error err = {{0}};
    mc_status st = tune_cache_lookup(path, "dev", &t, &found, &err);
    if (st != MC_ERR_DATA || found || !strstr(err.msg, path) || !strstr(err.msg, needle))
        test_fail("%s: status %d found %d message '%s' (wanted '%s')", what, st, found, err.msg,
                  needle);
    else
        printf("ok  %-22s %s\n", what, err.msg);
}

int main(void)
{
    char dir[] = "/tmp/mnistcl-test-tune-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    snprintf(path, sizeof path, "%s/sub/tuning.txt", dir);
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

    expect_bad("no tab", "dev rb_tm=8\n", ":1: expected KEY<TAB>name=value");
    expect_bad("not name=value", "# comment\n\ndev\trb_tm\n", ":3: 'rb_tm' is not name=value");
    expect_bad("unknown tunable", "dev\trb_tm=8 wg=64\n", "unknown tunable 'wg'");
    expect_bad("value not allowed", "dev\trb_tm=7\n", "rb_tm=7 is not an allowed value");
    expect_bad("not a number", "dev\tgt_ts=sixty\n", "gt_ts=sixty is not an allowed value");
    char *long_line = malloc(3000);
    memset(long_line, 'x', 2999);
    long_line[2999] = 0;
    expect_bad("line too long", long_line, "line longer than");
    free(long_line);
    char cmd[200];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_exit_code();
}
