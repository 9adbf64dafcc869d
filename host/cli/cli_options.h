/* Table-driven command-line options: parsing with range checks, and usage text whose
 * defaults are read from the same table, so --help always tells the truth. */
#ifndef MNISTCL_CLI_OPTIONS_H
#define MNISTCL_CLI_OPTIONS_H

#include <stdint.h>
#include <stdio.h>

#include "mnistcl/status.h"

typedef enum {
    OPT_INT,    /* int, bounded by [min, max] */
    OPT_FLOAT,  /* float, finite, bounded by [min, max] */
    OPT_U64,    /* uint64_t */
    OPT_STRING, /* const char * (points into argv or a literal) */
    OPT_FLAG,   /* int set to 1; --no-NAME sets 0 */
} opt_kind;

typedef struct {
    const char *name; /* long name without dashes */
    opt_kind kind;
    void *target;     /* int*, float*, uint64_t*, const char** */
    const char *meta; /* placeholder in the usage text ("N", "FILE") */
    const char *help;
    double min, max;  /* bounds of OPT_INT / OPT_FLOAT */
    int seen;         /* set by cli_parse when given */
    char shown_default[64]; /* filled by cli_parse before parsing */
} cli_option;

/** An option entry; the remaining fields start zeroed. */
static inline cli_option cli_opt(const char *name, opt_kind kind, void *target, const char *meta,
                                 const char *help, double min, double max)
{
    cli_option o = {0};
    o.name = name, o.kind = kind, o.target = target, o.meta = meta, o.help = help;
    o.min = min, o.max = max;
    return o;
}

/** Result of cli_parse besides errors: --help was asked for. */
#define CLI_HELP (-1)

/**
 * Parses argv[first..argc) as --name VALUE, --name=VALUE or --flag / --no-flag against
 * opts. Returns MC_OK, CLI_HELP after printing usage (synopsis + every option with its
 * default) to stdout, or MC_ERR_USAGE with err set. Positional arguments are errors.
 */
int cli_parse(int argc, char **argv, int first, cli_option *opts, int n, const char *synopsis,
              mc_error *err);

/** Prints the usage text of opts (defaults as recorded by cli_parse). */
void cli_usage(FILE *out, const char *synopsis, const cli_option *opts, int n);

/** The option called name, or NULL. */
cli_option *cli_find(cli_option *opts, int n, const char *name);

/**
 * Stores text into option o with the checks cli_parse applies (range, finiteness, not
 * empty); a flag takes "1" (on) or "0" (off). For values that come from elsewhere than
 * the command line (a checkpoint's settings). MC_ERR_USAGE with the message otherwise.
 */
mc_status cli_set(cli_option *o, const char *text, mc_error *err);

/** Parses a decimal int in [min, max] for option `name`; MC_ERR_USAGE with a message otherwise. */
mc_status cli_parse_int(const char *name, const char *text, long min, long max, int *out,
                        mc_error *err);

#endif
