/*
 * Kaggle CSV loader: a CSV written from the first 1000 MNIST test images (labelled, and
 * unlabelled as Kaggle's test.csv, and gzipped) loads back to exactly the IDX bytes;
 * CRLF line ends and blank lines are accepted; malformed files are rejected with the
 * file, the line number and the problem: no header, a header that is not a square image,
 * short and long rows, a non-number, a pixel above 255, a label above 9, an empty value,
 * no data rows. The header: a UTF-8 byte order mark (as spreadsheets write) is dropped,
 * CRLF and quoted names are accepted, a first line of numbers (even with spaces, signs or
 * quotes: it would be lost as a "header"), an unnamed column and a label column that is
 * not first are refused. A gzip file cut before its trailer is refused; a directory or a
 * FIFO is named as such (MC_ERR_IO) without blocking.
 */
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

#include "mnistcl/csv.h"
#include "test_util.h"

static char dir[64];

/* Writes the first n images of set as a CSV (with labels when labelled), CRLF if crlf. */
static void write_csv(const char *path, const dataset *set, int n, int labelled, int crlf, int gz)
{
    size_t cap = 8 << 20, len = 0;
    char *text = malloc(cap);
    const char *eol = crlf ? "\r\n" : "\n";
    len += (size_t)sprintf(text + len, "%s", labelled ? "label" : "");
    for (int j = 0; j < 784; j++)
        len += (size_t)sprintf(text + len, "%spixel%d", (j || labelled) ? "," : "", j);
    len += (size_t)sprintf(text + len, "%s", eol);
    for (int i = 0; i < n; i++) {
        if (labelled)
            len += (size_t)sprintf(text + len, "%d", set->labels[i]);
        for (int j = 0; j < 784; j++)
            len += (size_t)sprintf(text + len, "%s%d", (j || labelled) ? "," : "",
                                   set->images[(size_t)i * 784 + j]);
        len += (size_t)sprintf(text + len, "%s", eol);
        if (i == n / 2)
            len += (size_t)sprintf(text + len, "%s", eol); /* a blank line */
    }
    if (gz) {
        gzFile f = gzopen(path, "wb");
        gzwrite(f, text, (unsigned)len);
        gzclose(f);
    } else {
        FILE *f = fopen(path, "wb");
        fwrite(text, 1, len, f);
        fclose(f);
    }
    free(text);
}

static void check_same(const char *what, const dataset *got, const dataset *want, int n,
                       int labelled)
{
    if (got->n != n || got->rows != 28 || got->cols != 28)
        test_fail("%s: %d images of %dx%d", what, got->n, got->rows, got->cols);
    else if (memcmp(got->images, want->images, (size_t)n * 784) != 0)
        test_fail("%s: pixels differ from the IDX file", what);
    else if (labelled && (!got->labels || memcmp(got->labels, want->labels, (size_t)n) != 0))
        test_fail("%s: labels differ from the IDX file", what);
    else if (!labelled && got->labels)
        test_fail("%s: an unlabelled file came back with labels", what);
    else
        printf("ok  %-44s %d images, same bytes as the IDX file\n", what, n);
}

/* Writes text to dir/name and expects csv_load to fail with `needle` in the message. */
static void expect_bad(const char *what, const char *name, const char *text, const char *needle)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
    dataset d;
    mc_error err = {{0}};
    mc_status st = csv_load(&d, path, 10, &err);
    if (st != MC_ERR_DATA)
        test_fail("%s: status %d, want MC_ERR_DATA (%s)", what, st, err.msg);
    else if (!strstr(err.msg, path) || !strstr(err.msg, needle))
        test_fail("%s: message '%s' lacks the file or '%s'", what, err.msg, needle);
    else
        printf("ok  %-26s %s\n", what, err.msg);
}

/* Loads path and expects status want with the file and `needle` in the message. */
static void expect_status(const char *what, const char *path, mc_status want, const char *needle)
{
    dataset d;
    mc_error err = {{0}};
    mc_status st = csv_load(&d, path, 10, &err);
    if (st != want)
        test_fail("%s: status %d, want %d (%s)", what, st, want, err.msg);
    else if (!strstr(err.msg, path) || !strstr(err.msg, needle))
        test_fail("%s: message '%s' lacks the file or '%s'", what, err.msg, needle);
    else
        printf("ok  %-26s %s\n", what, err.msg);
    if (st == MC_OK)
        dataset_free(&d);
}

/* Writes text to dir/name and expects csv_load to accept it as n images of side x side,
 * the first image's first pixel p0 and, when labelled, the first label l0. */
static void expect_good(const char *what, const char *name, const char *text, int n, int side,
                        int labelled, int p0, int l0)
{
    char path[128];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    fputs(text, f);
    fclose(f);
    dataset d;
    mc_error err = {{0}};
    if (csv_load(&d, path, 10, &err)) {
        test_fail("%s: rejected: %s", what, err.msg);
        return;
    }
    if (d.n != n || d.rows != side || d.cols != side || !d.labels != !labelled ||
        d.images[0] != p0 || (labelled && d.labels[0] != l0))
        test_fail("%s: loaded %d images of %dx%d, %s, first pixel %d", what, d.n, d.rows, d.cols,
                  d.labels ? "labelled" : "no labels", d.images[0]);
    else
        printf("ok  %-26s %d images of %dx%d\n", what, d.n, d.rows, d.cols);
    dataset_free(&d);
}

/* A header for `pixels` pixel columns, with a label column first. */
static char *header(int pixels)
{
    char *h = malloc(16 * (size_t)pixels + 16);
    size_t len = (size_t)sprintf(h, "label");
    for (int j = 0; j < pixels; j++)
        len += (size_t)sprintf(h + len, ",pixel%d", j);
    sprintf(h + len, "\n");
    return h;
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/mnistcl-test-csv-XXXXXX");
    if (!mkdtemp(dir))
        return 1;
    dataset test;
    mc_error err;
    if (dataset_load_named(&test, DATASET_MNIST, NULL, 0, &err)) {
        fprintf(stderr, "FAIL: %s\n", err.msg);
        return 1;
    }
    const int n = 1000;
    struct {
        const char *name;
        int labelled, crlf, gz;
    } variants[] = {{"train.csv", 1, 0, 0}, {"test.csv", 0, 0, 0}, {"crlf.csv", 1, 1, 0},
                    {"train.csv.gz", 1, 0, 1}};
    for (int v = 0; v < 4; v++) {
        char path[128];
        snprintf(path, sizeof path, "%s/%s", dir, variants[v].name);
        write_csv(path, &test, n, variants[v].labelled, variants[v].crlf, variants[v].gz);
        dataset got;
        if (csv_load(&got, path, 10, &err)) {
            test_fail("%s rejected: %s", variants[v].name, err.msg);
            continue;
        }
        char what[96];
        snprintf(what, sizeof what, "%s (%s%s%s)", variants[v].name,
                 variants[v].labelled ? "labelled" : "no labels", variants[v].crlf ? ", CRLF" : "",
                 variants[v].gz ? ", gzip" : "");
        check_same(what, &got, &test, n, variants[v].labelled);
        dataset_free(&got);
    }

    char *h784 = header(784), *h4 = header(4);
    char text[4096];
    expect_bad("empty file", "empty.csv", "", "empty file");
    expect_bad("no header", "nohead.csv", "5,0,0,0,0\n", ":1: expected a header");
    expect_bad("header not square", "h3.csv", "label,pixel0,pixel1,pixel2\n1,2,3,4\n",
               ":1: the header names 3 pixel columns");
    snprintf(text, sizeof text, "%s3,1,2,3,4\n3,1,2,3\n", h4);
    expect_bad("short row", "short.csv", text, ":3: 4 values, expected 5 (label + 4 pixels)");
    snprintf(text, sizeof text, "%s3,1,2,3,4,5\n", h4);
    expect_bad("long row", "long.csv", text, ":2: 6 values, expected 5");
    snprintf(text, sizeof text, "%s3,1,x,3,4\n", h4);
    expect_bad("not a number", "nan.csv", text, ":2: pixel 1 ('x') is not an integer 0..255");
    snprintf(text, sizeof text, "%s3,1,2,256,4\n", h4);
    expect_bad("pixel 256", "p256.csv", text, ":2: pixel 2 ('256')");
    snprintf(text, sizeof text, "%s3,1,2,-3,4\n", h4);
    expect_bad("negative pixel", "neg.csv", text, "pixel 2 ('-3')");
    snprintf(text, sizeof text, "%s3,1,2,3,4\n\n10,1,2,3,4\n", h4);
    expect_bad("label 10", "l10.csv", text, ":4: label '10' is not an integer 0..9");
    snprintf(text, sizeof text, "%s3,1,,3,4\n", h4);
    expect_bad("empty value", "emptyval.csv", text, "pixel 1 ('')");
    expect_bad("header only", "headonly.csv", h784, "no data rows");

    /* the header line */
    expect_good("UTF-8 BOM before label", "bom.csv", "\xef\xbb\xbflabel,p0,p1,p2,p3\n3,1,2,3,4\n",
                1, 2, 1, 1, 3);
    expect_good("UTF-8 BOM, no labels", "bom2.csv", "\xef\xbb\xbfpixel0,pixel1,pixel2,pixel3\r\n"
                "9,2,3,4\r\n", 1, 2, 0, 9, 0);
    expect_good("BOM, blank line, CRLF", "bom3.csv", "\xef\xbb\xbf\r\nlabel,a,b,c,d\r\n1,2,3,4,5\r\n",
                1, 2, 1, 2, 1);
    expect_good("quoted, spaced names", "quoted.csv", "\"Label\", \"p0\",p1 ,p2,p3\n7,5,0,0,0\n", 1,
                2, 1, 5, 7);
    expect_good("names like 1x1", "names.csv", "label,1x1,1x2,2x1,2x2\n4,8,0,0,0\n", 1, 2, 1, 8, 4);
    expect_bad("BOM then numbers", "bomnum.csv", "\xef\xbb\xbf" "5,0,0,0,0\n", ":1: expected a header");
    expect_bad("numbers after a space", "spnum.csv", " 5,0,0,0,0\n1,2,3,4,5\n",
               ":1: expected a header");
    expect_bad("quoted numbers", "qnum.csv", "\"5\",\"0\",\"0\",\"0\",\"0\"\n", ":1: expected a header");
    expect_bad("names then a number", "mixed.csv", "label,pixel0,pixel1,pixel2,255\n",
               ":1: expected a header");
    expect_bad("unnamed column", "trail.csv", "label,pixel0,pixel1,pixel2,pixel3,\n1,2,3,4,5,\n",
               ":1: header column 6 has no name");
    expect_bad("label column last", "lablast.csv", "pixel0,pixel1,pixel2,pixel3,label\n1,2,3,4,5\n",
               ":1: the label column is column 5");
    expect_bad("BOM + header only, CRLF", "bomhead.csv", "\xef\xbb\xbflabel,a,b,c,d\r\n\r\n",
               "no data rows");
    expect_bad("BOM only", "bomonly.csv", "\xef\xbb\xbf", "empty file");

    /* a gzip file whose rows are all there but whose trailer is cut off */
    char gz[128], cut[128];
    snprintf(gz, sizeof gz, "%s/train.csv.gz", dir);
    snprintf(cut, sizeof cut, "%s/cut.csv.gz", dir);
    FILE *in = fopen(gz, "rb");
    static char packed[8 << 20];
    size_t packed_len = fread(packed, 1, sizeof packed, in);
    fclose(in);
    FILE *out = fopen(cut, "wb");
    fwrite(packed, 1, packed_len - 8, out);
    fclose(out);
    expect_status("gzip without its trailer", cut, MC_ERR_DATA, "damaged or truncated gzip");
    packed[packed_len - 6] ^= 0xff;
    out = fopen(cut, "wb");
    fwrite(packed, 1, packed_len, out);
    fclose(out);
    expect_status("gzip CRC changed", cut, MC_ERR_DATA, "damaged or truncated gzip");

    /* not regular files */
    char folder[128], fifo[128];
    snprintf(folder, sizeof folder, "%s/folder.csv", dir);
    snprintf(fifo, sizeof fifo, "%s/fifo.csv", dir);
    if (mkdir(folder, 0755) != 0 || mkfifo(fifo, 0644) != 0)
        perror("mkdir/mkfifo");
    expect_status("directory", folder, MC_ERR_IO, "is a directory");
    expect_status("FIFO (no hang)", fifo, MC_ERR_IO, "not a regular file");
    free(h784), free(h4);
    dataset_free(&test);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_exit_code();
}
