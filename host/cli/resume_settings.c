/* A checkpoint's run settings, written and read back through the option table. */
#include "cli/resume_settings.h"

#include <stddef.h>
#include <stdio.h>
#include <string.h>

/* The settings a checkpoint keeps: the option's name and where it lives in the options. */
typedef struct {
    const char *name;
    opt_kind kind;
    size_t offset;
} setting;

static const setting settings[] = {
    {"dataset", OPT_STRING, offsetof(train_options, dataset)},
    {"data", OPT_STRING, offsetof(train_options, data_dir)},
    {"train-csv", OPT_STRING, offsetof(train_options, train_csv)},
    {"test-csv", OPT_STRING, offsetof(train_options, test_csv)},
    {"init", OPT_STRING, offsetof(train_options, init)},
    {"batch", OPT_STRING, offsetof(train_options, batch)},
    {"epochs", OPT_INT, offsetof(train_options, epochs)},
    {"train-limit", OPT_INT, offsetof(train_options, train_limit)},
    {"shuffle", OPT_FLAG, offsetof(train_options, shuffle)},
    {"lr", OPT_FLOAT, offsetof(train_options, lr)},
    {"momentum", OPT_FLOAT, offsetof(train_options, momentum)},
    {"weight-decay", OPT_FLOAT, offsetof(train_options, weight_decay)},
    {"seed", OPT_U64, offsetof(train_options, seed)},
    {"preset", OPT_STRING, offsetof(train_options, preset)},
};
#define N_SETTINGS ((int)(sizeof settings / sizeof settings[0]))
_Static_assert(N_SETTINGS <= RESUME_SETTINGS_MAX, "RESUME_SETTINGS_MAX is too small");

/* Options that may change when resuming (the others are the checkpoint's). */
static const char *const resume_may_change[] = {
    "resume", "epochs", "device", "save", "checkpoint", "checkpoint-every", "print-every",
    "predictions", "data", "train-csv", "test-csv",
};

/* Writes text's bytes as hex digits into out (cap bytes, NUL-terminated; cut if short). */
static void hex_encode(const char *text, char *out, size_t cap)
{
    static const char digits[] = "0123456789abcdef";
    size_t n = 0;
    for (const unsigned char *c = (const unsigned char *)text; *c && n + 2 < cap; c++) {
        out[n++] = digits[*c >> 4];
        out[n++] = digits[*c & 15];
    }
    out[n] = 0;
}

static int hex_digit(char c)
{
    return c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
}

int resume_settings_to_meta(const train_options *o, st_meta *meta)
{
    int n = 0;
    for (int i = 0; i < N_SETTINGS; i++) {
        const void *field = (const char *)o + settings[i].offset;
        char *value = meta[n].value;
        size_t cap = sizeof meta[n].value;
        switch (settings[i].kind) {
        case OPT_STRING:
            if (!*(const char *const *)field)
                continue;
            snprintf(value, cap, "%s", *(const char *const *)field);
            break;
        case OPT_INT:
        case OPT_FLAG: snprintf(value, cap, "%d", *(const int *)field); break;
        case OPT_FLOAT: snprintf(value, cap, "%.9g", *(const float *)field); break;
        case OPT_U64:
            snprintf(value, cap, "%llu", (unsigned long long)*(const uint64_t *)field);
            break;
        }
        snprintf(meta[n].key, sizeof meta[n].key, "setting.%s", settings[i].name);
        n++;
        if (settings[i].kind == OPT_STRING && !st_is_utf8(value)) {
            snprintf(meta[n].key, sizeof meta[n].key, "setting.%s.bytes", settings[i].name);
            hex_encode(value, meta[n].value, sizeof meta[n].value);
            n++;
        }
    }
    return n;
}

/* Decodes "setting.NAME.bytes" in place (hex digits to the bytes); 0 if malformed. */
static int hex_decode_in_place(char *s)
{
    size_t n = strlen(s);
    if (n % 2)
        return 0;
    for (size_t i = 0; i < n; i += 2) {
        int hi = hex_digit(s[i]), lo = hex_digit(s[i + 1]);
        if (hi < 0 || lo < 0 || (hi == 0 && lo == 0))
            return 0;
        s[i / 2] = (char)(hi * 16 + lo);
    }
    s[n / 2] = 0;
    return 1;
}

/* Whether the command line may give option `name` beside --resume. */
static int may_change(const char *name)
{
    for (size_t k = 0; k < sizeof resume_may_change / sizeof resume_may_change[0]; k++)
        if (strcmp(name, resume_may_change[k]) == 0)
            return 1;
    return 0;
}

mc_status resume_settings_apply(train_options *o, st_file *meta, const char *path,
                                cli_option *table, int n_table, mc_error *err)
{
    for (int i = 0; i < n_table; i++)
        if (table[i].seen && !may_change(table[i].name))
            return mc_fail(err, MC_ERR_USAGE,
                           "--%s cannot change when resuming: the checkpoint's setting is kept",
                           table[i].name);
    for (int i = 0; i < N_SETTINGS; i++) {
        char key[64];
        snprintf(key, sizeof key, "setting.%s", settings[i].name);
        const char *v = st_meta_get(meta, key);
        char bytes_key[80];
        snprintf(bytes_key, sizeof bytes_key, "setting.%s.bytes", settings[i].name);
        char *bytes = (char *)st_meta_get(meta, bytes_key); /* points into meta */
        if (bytes && settings[i].kind == OPT_STRING) {
            if (!hex_decode_in_place(bytes))
                return mc_fail(err, MC_ERR_DATA, "%s: %s is not hexadecimal bytes", path,
                               bytes_key);
            v = bytes;
        }
        cli_option *opt = cli_find(table, n_table, settings[i].name);
        if (!opt || opt->target != (char *)o + settings[i].offset)
            return mc_fail(err, MC_ERR_RUNTIME,
                           "internal: setting %s has no option of the same name in the train "
                           "command's table (resume_settings.c and cmd_train.c disagree)",
                           settings[i].name);
        if (opt->seen) /* changed on purpose (epochs, data paths) */
            continue;
        if (!v) {
            if (settings[i].kind == OPT_STRING)
                *(const char **)opt->target = NULL;
            continue;
        }
        mc_error why;
        if (cli_set(opt, v, &why))
            return mc_fail(err, MC_ERR_DATA, "%s: setting.%s = '%.80s' is not valid: %s", path,
                           settings[i].name, v, why.msg);
    }
    if (o->preset && !train_options_preset_known(o->preset))
        return mc_fail(err, MC_ERR_DATA, "%s: setting.preset = '%.80s' is not a preset", path,
                       o->preset);
    return MC_OK;
}
