/* Reading `train --log` files (CSV or JSON Lines) into per-epoch records (report_log.h). */
#include "cli/report_log.h"

#include <ctype.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "io/input_file.h"

const char *const log_set_names[LOG_SETS] = {"train", "validation", "test"};

/* The fields the report reads, in the log's documented order. */
enum {
    F_EPOCH, F_STEPS, F_LR, F_TRAIN_LOSS, F_TRAIN_ACC, F_VAL_LOSS, F_VAL_ACC, F_TEST_LOSS,
    F_TEST_ACC, F_SECONDS, F_IMAGES_PER_S, N_FIELDS
};
static const char *const field_names[N_FIELDS] = {
    "epoch",    "steps",     "lr",           "train_loss", "train_accuracy", "val_loss",
    "val_accuracy", "test_loss", "test_accuracy", "seconds", "images_per_s"};

/* The field called name (len bytes), or -1 for one the report does not read. */
static int field_of(const char *name, size_t len)
{
    for (int f = 0; f < N_FIELDS; f++)
        if (strlen(field_names[f]) == len && memcmp(field_names[f], name, len) == 0)
            return f;
    return -1;
}

/* A record with nothing measured (every value NAN, epoch 0 = not given). */
static log_epoch empty_record(void)
{
    log_epoch e;
    e.epoch = 0;
    e.steps = e.lr = e.seconds = e.images_per_s = NAN;
    for (int s = 0; s < LOG_SETS; s++)
        e.loss[s] = e.accuracy[s] = NAN;
    return e;
}

/*
 * Stores value v of field f into e after checking it (the contract of train_log_read);
 * returns NULL, or why v is refused (a static text, "%s %g" style message in why).
 */
static const char *store(log_epoch *e, int f, double v, char *why, size_t len)
{
    const char *name = field_names[f];
    int finite = isfinite(v);
    switch (f) {
    case F_EPOCH:
        if (!finite || v < 1 || v > INT_MAX || v != floor(v))
            break;
        e->epoch = (int)v;
        return NULL;
    case F_STEPS:
        if (!finite || v < 0 || v != floor(v))
            break;
        e->steps = v;
        return NULL;
    case F_LR: case F_SECONDS: case F_IMAGES_PER_S:
        if (!finite || v < 0)
            break;
        *(f == F_LR ? &e->lr : f == F_SECONDS ? &e->seconds : &e->images_per_s) = v;
        return NULL;
    case F_TRAIN_LOSS: case F_VAL_LOSS: case F_TEST_LOSS:
        if (v < 0)
            break;
        e->loss[(f - F_TRAIN_LOSS) / 2] = v;
        return NULL;
    default: /* the accuracies */
        if (!finite || v < 0 || v > 1) {
            snprintf(why, len, "%s %g: expected a fraction 0..1", name, v);
            return why;
        }
        e->accuracy[(f - F_TRAIN_ACC) / 2] = v;
        return NULL;
    }
    snprintf(why, len, "%s %g: expected %s", name, v,
             f == F_EPOCH   ? "an integer >= 1"
             : f == F_STEPS ? "an integer >= 0"
             : f == F_LR || f == F_SECONDS || f == F_IMAGES_PER_S ? "a number >= 0"
                                                                  : "a loss >= 0");
    return why;
}

/*
 * Parses the len bytes at s as a number (decimal, with an exponent or not, or nan / inf
 * / infinity / NaN / Infinity in any case, signed); returns 0, or -1 when they are not one.
 */
static int parse_number(const char *s, size_t len, double *out)
{
    char text[64];
    if (len == 0 || len >= sizeof text)
        return -1;
    memcpy(text, s, len);
    text[len] = '\0';
    for (size_t i = 0; i < len; i++)
        if (text[i] == 'x' || text[i] == 'X' || isspace((unsigned char)text[i]))
            return -1; /* no hexadecimal floats, no inner spaces */
    char *end;
    *out = strtod(text, &end);
    return *end == '\0' ? 0 : -1;
}

/* Adds e to log under the rule of train_log_read (a repeated epoch starts over there). */
static int append(train_log *log, int *cap, const log_epoch *e)
{
    while (log->n > 0 && log->epochs[log->n - 1].epoch >= e->epoch)
        log->n--;
    if (log->n == *cap) {
        int grown = *cap ? 2 * *cap : 64;
        log_epoch *p = *cap < INT_MAX / 2 ? realloc(log->epochs, sizeof *p * (size_t)grown) : NULL;
        if (!p)
            return -1;
        log->epochs = p;
        *cap = grown;
    }
    log->epochs[log->n++] = *e;
    return 0;
}

/* ---- CSV ----------------------------------------------------------------------------- */

/* The next comma-separated field of *p (ending at a comma or the line's end), spaces
   trimmed: start and length; *p moves past it and its comma. Returns 0 at the line's end. */
static int next_field(const char **p, const char **start, size_t *len, int *more)
{
    const char *s = *p, *e = s;
    while (*e && *e != ',')
        e++;
    *more = *e == ',';
    *p = *more ? e + 1 : e;
    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    *start = s, *len = (size_t)(e - s);
    return 1;
}

/* Reads the header: which known field each column holds (-1: ignored). */
static const char *csv_header(const char *line, int **columns, int *n_columns, char *why,
                              size_t len)
{
    int cap = 16, n = 0, seen[N_FIELDS] = {0}, more = 1;
    int *cols = malloc(sizeof *cols * (size_t)cap);
    if (!cols)
        return "out of memory";
    const char *p = line;
    while (more) {
        const char *name;
        size_t name_len;
        next_field(&p, &name, &name_len, &more);
        if (name_len == 0) {
            snprintf(why, len, "header column %d has no name", n + 1);
            free(cols);
            return why;
        }
        if (n == cap) {
            int *grown = cap < INT_MAX / 2 ? realloc(cols, sizeof *cols * (size_t)(cap * 2)) : NULL;
            if (!grown) {
                free(cols);
                return "out of memory";
            }
            cols = grown, cap *= 2;
        }
        int f = field_of(name, name_len);
        if (f >= 0 && seen[f]++) {
            snprintf(why, len, "header names column '%s' twice", field_names[f]);
            free(cols);
            return why;
        }
        cols[n++] = f;
    }
    if (!seen[F_EPOCH]) {
        free(cols);
        return "the header has no 'epoch' column (is this a `train --log` CSV file?)";
    }
    *columns = cols, *n_columns = n;
    return NULL;
}

/* Reads one CSV record into e: exactly n_columns fields, each empty or a number. */
static const char *csv_record(const char *line, const int *columns, int n_columns, log_epoch *e,
                              char *why, size_t len)
{
    const char *p = line;
    int i = 0, more = 1;
    *e = empty_record();
    while (more) {
        const char *s;
        size_t n;
        next_field(&p, &s, &n, &more);
        if (i >= n_columns) {
            snprintf(why, len, "more fields than the header's %d columns", n_columns);
            return why;
        }
        int f = columns[i++];
        if (f < 0 || n == 0)
            continue; /* an unknown column, or a value not measured */
        double v;
        if (parse_number(s, n, &v)) {
            snprintf(why, len, "%s '%.*s' is not a number", field_names[f], (int)(n < 40 ? n : 40),
                     s);
            return why;
        }
        const char *bad = store(e, f, v, why, len);
        if (bad)
            return bad;
    }
    if (i < n_columns) {
        snprintf(why, len, "%d fields where the header has %d columns", i, n_columns);
        return why;
    }
    if (!e->epoch)
        return "the epoch is empty";
    return NULL;
}

/* ---- JSON Lines ----------------------------------------------------------------------- */

static void skip_ws(const char **p)
{
    while (**p == ' ' || **p == '\t' || **p == '\r' || **p == '\n')
        (*p)++;
}

/*
 * Reads a JSON string at *p (at its opening quote) into out (cap bytes with the NUL; an
 * escaped or non-ASCII character is kept as it comes, longer strings are cut, *cut set);
 * *p moves past it. Returns 0, or -1 when it is not a well-formed string.
 */
static int json_string(const char **p, char *out, size_t cap, int *cut)
{
    const char *s = *p;
    size_t n = 0;
    *cut = 0;
    if (*s++ != '"')
        return -1;
    for (;;) {
        unsigned char c = (unsigned char)*s++;
        if (c == '"')
            break;
        if (c < 0x20)
            return -1; /* the line's end, or a raw control character */
        if (c == '\\') {
            char esc = *s++;
            if (esc == 'u') {
                for (int k = 0; k < 4; k++)
                    if (!isxdigit((unsigned char)*s++))
                        return -1;
                c = '?';
            } else if (strchr("\"\\/bfnrt", esc) && esc) {
                c = (unsigned char)esc;
            } else {
                return -1;
            }
        }
        if (n + 1 < cap)
            out[n++] = (char)c;
        else
            *cut = 1;
    }
    out[n] = '\0';
    *p = s;
    return 0;
}

/* Skips one JSON value of any kind at *p (nested at most 64 deep); 0, or -1 if malformed. */
static int json_skip(const char **p, int depth)
{
    char scratch[8];
    int cut;
    skip_ws(p);
    if (depth > 64)
        return -1;
    if (**p == '"')
        return json_string(p, scratch, sizeof scratch, &cut);
    if (**p == '{' || **p == '[') {
        char close = **p == '{' ? '}' : ']';
        (*p)++;
        skip_ws(p);
        if (**p == close) {
            (*p)++;
            return 0;
        }
        for (;;) {
            if (close == '}') {
                skip_ws(p);
                if (json_string(p, scratch, sizeof scratch, &cut))
                    return -1;
                skip_ws(p);
                if (*(*p)++ != ':')
                    return -1;
            }
            if (json_skip(p, depth + 1))
                return -1;
            skip_ws(p);
            char c = *(*p)++;
            if (c == close)
                return 0;
            if (c != ',')
                return -1;
        }
    }
    const char *s = *p;
    while (**p && (isalnum((unsigned char)**p) || strchr("+-.", **p)))
        (*p)++;
    double v;
    size_t n = (size_t)(*p - s);
    if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 5 && memcmp(s, "false", 5) == 0) ||
        (n == 4 && memcmp(s, "null", 4) == 0))
        return 0;
    return parse_number(s, n, &v);
}

/* Reads one JSON object line into e: the known keys' values are numbers or null. */
static const char *json_record(const char *line, log_epoch *e, char *why, size_t len)
{
    const char *p = line;
    int seen[N_FIELDS] = {0};
    *e = empty_record();
    skip_ws(&p);
    if (*p++ != '{')
        return "expected a JSON object ({...}) on each line";
    skip_ws(&p);
    int empty = *p == '}';
    if (empty)
        p++;
    while (!empty) {
        char key[64];
        int cut;
        skip_ws(&p);
        if (json_string(&p, key, sizeof key, &cut))
            return "malformed JSON: expected a key in double quotes";
        skip_ws(&p);
        if (*p++ != ':') {
            snprintf(why, len, "malformed JSON: expected ':' after key \"%s\"", key);
            return why;
        }
        skip_ws(&p);
        int f = cut ? -1 : field_of(key, strlen(key));
        const char *start = p;
        if (f < 0) {
            if (json_skip(&p, 0)) {
                snprintf(why, len, "malformed JSON value of key \"%.40s\"", key);
                return why;
            }
        } else {
            if (seen[f]++) {
                snprintf(why, len, "key \"%s\" given twice", key);
                return why;
            }
            while (*p && (isalnum((unsigned char)*p) || strchr("+-.", *p)))
                p++;
            size_t n = (size_t)(p - start);
            double v;
            if (n == 4 && memcmp(start, "null", 4) == 0) {
                if (f == F_EPOCH)
                    return "the epoch is null";
            } else if (parse_number(start, n, &v)) {
                snprintf(why, len, "\"%s\": expected a number or null", key);
                return why;
            } else {
                const char *bad = store(e, f, v, why, len);
                if (bad)
                    return bad;
            }
        }
        skip_ws(&p);
        char c = *p++;
        if (c == '}')
            break;
        if (c != ',')
            return "malformed JSON: expected ',' or '}' after a value";
    }
    skip_ws(&p);
    if (*p)
        return "text after the JSON object's closing '}'";
    if (!seen[F_EPOCH])
        return "no \"epoch\" key";
    return NULL;
}

/* ---- the file -------------------------------------------------------------------------- */

mc_status train_log_read(const char *path, train_log *log, mc_error *err)
{
    memset(log, 0, sizeof *log);
    size_t plen = strlen(path);
    int jsonl = plen >= 6 && strcmp(path + plen - 6, ".jsonl") == 0;
    FILE *in;
    mc_status st = input_fopen(path, &in, NULL, err);
    if (st)
        return st;
    char *line = NULL, why[256];
    size_t line_cap = 0;
    int *columns = NULL, n_columns = 0, cap = 0, have_header = 0;
    long number = 0;
    ssize_t len;
    const char *bad = NULL;
    while (!st && (len = getline(&line, &line_cap, in)) >= 0) {
        number++;
        if (strlen(line) != (size_t)len) {
            bad = "holds a NUL byte (not a text file)";
            break;
        }
        char *text = line;
        if (number == 1 && memcmp(text, "\xEF\xBB\xBF", 3) == 0)
            text += 3; /* a UTF-8 byte order mark */
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        const char *q = text;
        while (isspace((unsigned char)*q))
            q++;
        if (!*q)
            continue; /* blank lines are ignored */
        log_epoch e;
        if (!jsonl && !have_header) {
            bad = csv_header(text, &columns, &n_columns, why, sizeof why);
            have_header = 1;
        } else {
            bad = jsonl ? json_record(text, &e, why, sizeof why)
                        : csv_record(text, columns, n_columns, &e, why, sizeof why);
            if (!bad && append(log, &cap, &e))
                st = mc_fail(err, MC_ERR_NOMEM, "%s: out of memory for the log's records", path);
        }
        if (bad)
            break;
    }
    if (!st && !bad && ferror(in))
        st = mc_fail(err, MC_ERR_IO, "%s: cannot read: read error", path);
    if (bad)
        st = mc_fail(err, MC_ERR_DATA, "%s:%ld: %s", path, number, bad);
    else if (!st && !jsonl && !have_header)
        st = mc_fail(err, MC_ERR_DATA,
                     "%s: empty (a `train --log` CSV file starts with a header line)", path);
    free(line);
    free(columns);
    fclose(in);
    if (st)
        train_log_free(log);
    return st;
}

void train_log_free(train_log *log)
{
    free(log->epochs);
    log->epochs = NULL;
    log->n = 0;
}
