/* Table-driven option parsing and usage text. */
#include "cli/cli_options.h"

#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

cli_option *cli_find(cli_option *opts, int n, const char *name)
{
    for (int i = 0; i < n; i++)
        if (strcmp(opts[i].name, name) == 0)
            return &opts[i];
    return NULL;
}

mc_status cli_parse_int(const char *name, const char *text, long min, long max, int *out,
                        mc_error *err)
{
    char *end;
    errno = 0;
    long v = strtol(text, &end, 10);
    if (end == text || *end || errno)
        return mc_fail(err, MC_ERR_USAGE, "--%s '%s': not an integer", name, text);
    if (v < min || v > max)
        return mc_fail(err, MC_ERR_USAGE, "--%s %ld: must be between %ld and %ld", name, v, min,
                       max);
    *out = (int)v;
    return MC_OK;
}

/* Stores text into option o after checking it. */
static mc_status set_value(cli_option *o, const char *text, mc_error *err)
{
    char *end;
    errno = 0;
    switch (o->kind) {
    case OPT_INT:
        return cli_parse_int(o->name, text, (long)o->min, (long)o->max, (int *)o->target, err);
    case OPT_FLOAT: {
        double v = strtod(text, &end);
        if (end == text || *end || errno == ERANGE || !isfinite(v))
            return mc_fail(err, MC_ERR_USAGE, "--%s '%s': not a finite number", o->name, text);
        if (v < o->min || v > o->max)
            return mc_fail(err, MC_ERR_USAGE, "--%s %s: must be between %g and %g", o->name, text,
                           o->min, o->max);
        *(float *)o->target = (float)v;
        return MC_OK;
    }
    case OPT_U64: {
        if (text[0] == '-')
            return mc_fail(err, MC_ERR_USAGE, "--%s '%s': must not be negative", o->name, text);
        unsigned long long v = strtoull(text, &end, 10);
        if (end == text || *end || errno)
            return mc_fail(err, MC_ERR_USAGE, "--%s '%s': not a non-negative integer", o->name,
                           text);
        *(uint64_t *)o->target = v;
        return MC_OK;
    }
    case OPT_STRING:
        if (!*text)
            return mc_fail(err, MC_ERR_USAGE, "--%s: empty value", o->name);
        *(const char **)o->target = text;
        return MC_OK;
    case OPT_FLAG: break;
    }
    return mc_fail(err, MC_ERR_USAGE, "--%s takes no value", o->name);
}

mc_status cli_set(cli_option *o, const char *text, mc_error *err)
{
    if (o->kind != OPT_FLAG)
        return set_value(o, text, err);
    if (strcmp(text, "0") != 0 && strcmp(text, "1") != 0)
        return mc_fail(err, MC_ERR_USAGE, "--%s '%s': expected 1 (on) or 0 (off)", o->name, text);
    *(int *)o->target = text[0] == '1';
    return MC_OK;
}

static void record_default(cli_option *o)
{
    switch (o->kind) {
    case OPT_INT: snprintf(o->shown_default, sizeof o->shown_default, "%d", *(int *)o->target); break;
    case OPT_FLOAT:
        snprintf(o->shown_default, sizeof o->shown_default, "%g", *(float *)o->target);
        break;
    case OPT_U64:
        snprintf(o->shown_default, sizeof o->shown_default, "%" PRIu64, *(uint64_t *)o->target);
        break;
    case OPT_STRING: {
        const char *s = *(const char **)o->target;
        snprintf(o->shown_default, sizeof o->shown_default, "%s", s ? s : "none");
        break;
    }
    case OPT_FLAG:
        snprintf(o->shown_default, sizeof o->shown_default, "%s", *(int *)o->target ? "on" : "off");
        break;
    }
}

void cli_usage(FILE *out, const char *synopsis, const cli_option *opts, int n)
{
    fprintf(out, "%s\n\noptions (defaults in brackets):\n", synopsis);
    for (int i = 0; i < n; i++) {
        const cli_option *o = &opts[i];
        char left[64];
        if (o->kind == OPT_FLAG)
            snprintf(left, sizeof left, "--[no-]%s", o->name);
        else
            snprintf(left, sizeof left, "--%s %s", o->name, o->meta ? o->meta : "X");
        fprintf(out, "  %-24s %s [%s]\n", left, o->help, o->shown_default);
    }
    fprintf(out, "  %-24s %s\n", "--help", "print this text and exit");
}

int cli_parse(int argc, char **argv, int first, cli_option *opts, int n, const char *synopsis,
              mc_error *err)
{
    for (int i = 0; i < n; i++) {
        record_default(&opts[i]);
        opts[i].seen = 0;
    }
    for (int i = first; i < argc; i++) {
        const char *arg = argv[i];
        if (strcmp(arg, "--help") == 0 || strcmp(arg, "-h") == 0) {
            cli_usage(stdout, synopsis, opts, n);
            return CLI_HELP;
        }
        if (strncmp(arg, "--", 2) != 0)
            return mc_fail(err, MC_ERR_USAGE, "unexpected argument '%s' (options start with --)",
                           arg);
        char name[64];
        const char *eq = strchr(arg + 2, '=');
        size_t len = eq ? (size_t)(eq - arg - 2) : strlen(arg + 2);
        if (len >= sizeof name)
            return mc_fail(err, MC_ERR_USAGE, "unknown option '%s'", arg);
        memcpy(name, arg + 2, len);
        name[len] = 0;
        cli_option *o = cli_find(opts, n, name);
        int negated = 0;
        if (!o && strncmp(name, "no-", 3) == 0) {
            o = cli_find(opts, n, name + 3);
            negated = o && o->kind == OPT_FLAG;
            if (!negated)
                o = NULL;
        }
        if (!o)
            return mc_fail(err, MC_ERR_USAGE, "unknown option '%s' (see --help)", arg);
        o->seen = 1;
        if (o->kind == OPT_FLAG) {
            if (eq)
                return mc_fail(err, MC_ERR_USAGE, "--%s takes no value", o->name);
            *(int *)o->target = !negated;
            continue;
        }
        const char *value = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!value)
            return mc_fail(err, MC_ERR_USAGE, "--%s needs a value (%s)", o->name,
                           o->meta ? o->meta : "X");
        mc_status st = set_value(o, value, err);
        if (st)
            return st;
    }
    return MC_OK;
}
