/* Writing `train --log` (epoch_log.h): the header, the records, a resumed run's truncation. */
#include "cli/epoch_log.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "io/input_file.h"

/* The fields in order; the CSV header is these names joined by commas. */
static const char *const fields[] = {
    "epoch",          "steps",    "lr",           "train_loss", "train_accuracy", "val_loss",
    "val_accuracy",   "test_loss", "test_accuracy", "seconds",   "images_per_s"};
enum { N_FIELDS = (int)(sizeof fields / sizeof fields[0]), NUMBER_MAX = 32 };

/* The CSV header line, without its newline, into out. */
static void csv_header(char *out, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    for (int i = 0; i < N_FIELDS && used < len; i++)
        used += (size_t)snprintf(out + used, len - used, "%s%s", i ? "," : "", fields[i]);
}

/* A non-finite v as JSON Lines' readers (Python's json) and strtod take it (NaN, Infinity,
   -Infinity) into out; returns 0 for a finite v. */
static int put_nonfinite(char *out, double v)
{
    if (isnan(v))
        snprintf(out, NUMBER_MAX, "NaN");
    else if (isinf(v))
        snprintf(out, NUMBER_MAX, "%sInfinity", v < 0 ? "-" : "");
    return !isfinite(v);
}

/* v with 9 significant digits (a loss added in float has no more; seconds, rates). */
static void put_double(char *out, double v)
{
    if (!put_nonfinite(out, v))
        snprintf(out, NUMBER_MAX, "%.9g", v);
}

/* v with the fewest significant digits (6 to 17) that read back as v, so that 100 v
   rounds as the epoch line's (an accuracy: correct / images). */
static void put_exact(char *out, double v)
{
    if (put_nonfinite(out, v))
        return;
    for (int digits = 6; digits <= 17; digits++) {
        snprintf(out, NUMBER_MAX, "%.*g", digits, v);
        if (strtod(out, NULL) == v)
            return;
    }
}

/* The fewest digits (6 to 9) that read back as the same float (lr 0.05, not 0.0500000007). */
static void put_float(char *out, float v)
{
    if (put_nonfinite(out, v))
        return;
    for (int digits = 6; digits <= 9; digits++) {
        snprintf(out, NUMBER_MAX, "%.*g", digits, (double)v);
        if (strtof(out, NULL) == v)
            return;
    }
}

/* The record's fields as text, in order; "" for a set not measured. */
static void record_values(const epoch_record *r, char values[N_FIELDS][NUMBER_MAX])
{
    snprintf(values[0], NUMBER_MAX, "%d", r->epoch);
    snprintf(values[1], NUMBER_MAX, "%lld", r->steps);
    put_float(values[2], r->lr);
    put_double(values[3], r->train.loss);
    put_exact(values[4], r->train.accuracy);
    const pass_stats *sets[2] = {r->has_val ? &r->val : NULL, r->has_test ? &r->test : NULL};
    for (int k = 0; k < 2; k++) {
        values[5 + 2 * k][0] = values[6 + 2 * k][0] = '\0';
        if (sets[k]) {
            put_double(values[5 + 2 * k], sets[k]->loss);
            put_exact(values[6 + 2 * k], sets[k]->accuracy);
        }
    }
    put_double(values[9], r->seconds);
    put_double(values[10], r->images_per_s);
}

/* The record as one line (with its newline) into out; returns its length. */
static size_t format_record(const epoch_log *log, const epoch_record *r, char *out, size_t len)
{
    char values[N_FIELDS][NUMBER_MAX];
    record_values(r, values);
    size_t used = 0;
    for (int i = 0; i < N_FIELDS && used < len; i++) {
        const char *v = values[i][0] ? values[i] : log->jsonl ? "null" : "";
        if (log->jsonl)
            used += (size_t)snprintf(out + used, len - used, "%s\"%s\":%s", i ? "," : "{",
                                     fields[i], v);
        else
            used += (size_t)snprintf(out + used, len - used, "%s%s", i ? "," : "", v);
    }
    if (used < len)
        used += (size_t)snprintf(out + used, len - used, "%s\n", log->jsonl ? "}" : "");
    return used < len ? used : len - 1;
}

/*
 * The epoch of a record line of the log's form, or 0 when the line is not one: CSV
 * "EPOCH,...", JSON Lines {"epoch": EPOCH, ...} (spaces allowed around the tokens).
 */
static long record_epoch(const char *line, int jsonl)
{
    const char *p = line;
    if (jsonl) {
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p++ != '{')
            return 0;
        while (*p == ' ' || *p == '\t')
            p++;
        if (strncmp(p, "\"epoch\"", 7) != 0)
            return 0;
        p += 7;
        while (*p == ' ' || *p == '\t')
            p++;
        if (*p++ != ':')
            return 0;
        while (*p == ' ' || *p == '\t')
            p++;
    }
    if (!isdigit((unsigned char)*p))
        return 0;
    char *end;
    errno = 0;
    long epoch = strtol(p, &end, 10);
    if (errno || epoch < 1)
        return 0;
    while (jsonl && (*end == ' ' || *end == '\t'))
        end++;
    return *end == ',' || (jsonl && *end == '}') ? epoch : 0;
}

/* Whether the line is spaces only (its end of line stripped already). */
static int blank(const char *line)
{
    while (*line == ' ' || *line == '\t')
        line++;
    return *line == '\0';
}

/*
 * Copies the header and the records of epochs before keep_before from the existing log
 * in (path) to f, writing a header where there was none. MC_ERR_DATA for a line that is
 * not a record (or a CSV first line that is not the header), MC_ERR_IO for a read error.
 */
static mc_status copy_kept(FILE *in, const char *path, int jsonl, int keep_before,
                           output_file *f, mc_error *err)
{
    char header[256];
    csv_header(header, sizeof header);
    char *line = NULL;
    size_t cap = 0;
    ssize_t len;
    long number = 0;
    mc_status st = MC_OK;
    while (!st && (len = getline(&line, &cap, in)) >= 0) {
        number++;
        int whole = len > 0 && line[len - 1] == '\n';
        while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r'))
            line[--len] = '\0';
        if (!jsonl && number == 1) {
            if (strcmp(line, header) != 0)
                st = mc_fail(err, MC_ERR_DATA, "%s:1: not the header `mnistcl train --log` "
                             "writes (%s); give --log another file, or remove this one",
                             path, header);
            else
                output_printf(f, "%s\n", header);
            continue;
        }
        if (blank(line))
            continue;
        long epoch = record_epoch(line, jsonl);
        if (!epoch && !whole) /* a last record cut short: not a record of the run */
            break;
        if (!epoch)
            st = mc_fail(err, MC_ERR_DATA, "%s:%ld: not a record of `mnistcl train --log` "
                         "(a %s line starting with the epoch); give --log another file, or "
                         "remove this one",
                         path, number, jsonl ? "JSON" : "CSV");
        else if (epoch < keep_before)
            output_printf(f, "%s\n", line);
    }
    if (!st && ferror(in))
        st = mc_fail(err, MC_ERR_IO, "%s: cannot read: %s", path, strerror(errno));
    if (!st && !jsonl && number == 0) /* an empty file: a new log */
        output_printf(f, "%s\n", header);
    free(line);
    return st;
}

mc_status epoch_log_open(epoch_log *log, const char *path, int keep_before, mc_error *err)
{
    memset(log, 0, sizeof *log);
    log->fd = -1;
    size_t plen = strlen(path);
    snprintf(log->path, sizeof log->path, "%s", path);
    log->jsonl = plen >= 6 && strcmp(path + plen - 6, ".jsonl") == 0;
    FILE *in = NULL;
    if (keep_before > 0 && access(path, F_OK) == 0) {
        mc_status st = input_fopen(path, &in, NULL, err);
        if (st)
            return st;
    }
    output_file f;
    mc_status st = output_begin(&f, path, err);
    if (st) {
        if (in)
            fclose(in);
        return st;
    }
    if (in) {
        st = copy_kept(in, path, log->jsonl, keep_before, &f, err);
        fclose(in);
    } else if (!log->jsonl) {
        char header[256];
        csv_header(header, sizeof header);
        output_printf(&f, "%s\n", header);
    }
    if (st) {
        output_abort(&f);
        return st;
    }
    if ((st = output_commit(&f, err)))
        return st;
    log->fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC);
    if (log->fd < 0)
        return mc_fail(err, MC_ERR_IO, "%s: cannot open the log to append to it: %s", path,
                       strerror(errno));
    log->end = lseek(log->fd, 0, SEEK_END);
    if (log->end < 0) {
        int e = errno;
        epoch_log_close(log);
        return mc_fail(err, MC_ERR_IO, "%s: %s", path, strerror(e));
    }
    return MC_OK;
}

void epoch_log_write(epoch_log *log, const epoch_record *r)
{
    if (log->fd < 0)
        return;
    char line[N_FIELDS * (NUMBER_MAX + 24) + 8];
    size_t len = format_record(log, r, line, sizeof line), done = 0;
    while (done < len) {
        ssize_t n = write(log->fd, line + done, len - done);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int e = n < 0 ? errno : EIO;
            /* no half record left behind: the log stays a run of whole records */
            int cut = done == 0 || ftruncate(log->fd, log->end) == 0;
            fprintf(stderr, "mnistcl: warning: --log %s: cannot write the record of epoch %d: "
                    "%s; the log stops %s (training goes on)\n", log->path, r->epoch,
                    strerror(e), cut ? "before it" : "with that record cut short");
            epoch_log_close(log);
            return;
        }
        done += (size_t)n;
    }
    log->end += (off_t)len;
}

void epoch_log_close(epoch_log *log)
{
    if (log->fd >= 0)
        close(log->fd);
    log->fd = -1;
}
