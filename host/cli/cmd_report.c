/*
 * `mnistcl report`: a folder of figures (PNG, cairo), the data behind them (CSV) and an
 * index.html showing them, about a trained model measured on a labelled set now, with
 * its learning curves when the run's `train --log` is given (docs/REPORT.md).
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli/cli_common.h"
#include "cli/cli_options.h"
#include "cli/output_paths.h"
#include "cli/report_figures.h"
#include "cli/report_html.h"
#include "cli/report_log.h"
#include "cli/report_stats.h"
#include "io/output_file.h"
#include "mnistcl/csv.h"
#include "mnistcl/model_io.h"
#include "mnistcl/train.h"

static const char synopsis[] =
    "usage: mnistcl report --model FILE --out DIR [--log FILE] [options]\n"
    "Writes a report on a trained model into the folder DIR (made if missing): PNG figures\n"
    "(learning_curves.png from --log, confusion.png, per_class.png, mistakes.png,\n"
    "weights.png), the data behind them (confusion.csv, per_class.csv) and index.html, a\n"
    "page that shows them with the model's facts and metadata. The model is run on --device\n"
    "over the test set of the dataset it was trained on, unless --dataset, --data or --csv\n"
    "say otherwise; the per-class table (precision, recall, F1, support) and the accuracy\n"
    "are printed too. docs/REPORT.md describes each figure.";

/* The files of the report, in the order they are written. */
enum { F_CONFUSION_CSV, F_PER_CLASS_CSV, F_CURVES, F_CONFUSION, F_PER_CLASS, F_MISTAKES,
       F_WEIGHTS, F_INDEX, N_FILES };
static const char *const file_names[N_FILES] = {
    "confusion.csv", "per_class.csv", "learning_curves.png", "confusion.png",
    "per_class.png", "mistakes.png",  "weights.png",         "index.html"};

typedef struct {
    const char *model, *out, *log, *dataset, *data_dir, *csv, *device, *activation, *output;
    int mistakes;
} report_options;

/* Creates folder path and the folders above it that are missing (mkdir -p); an existing
   path must be a folder. MC_ERR_IO naming --out and the part that failed. */
static mc_status make_folder(const char *path, mc_error *err)
{
    char part[OUTPUT_PATH_MAX + 1];
    size_t n = strlen(path);
    if (n > OUTPUT_PATH_MAX - 32)
        return mc_fail(err, MC_ERR_USAGE, "--out: the folder's name is longer than %d bytes",
                       OUTPUT_PATH_MAX - 32);
    for (size_t i = 1; i <= n; i++) {
        if (i < n && path[i] != '/')
            continue;
        memcpy(part, path, i);
        part[i] = '\0';
        struct stat sb;
        if (stat(part, &sb) == 0) {
            if (!S_ISDIR(sb.st_mode))
                return mc_fail(err, MC_ERR_IO, "--out %s: %s exists and is not a folder", path,
                               part);
            continue;
        }
        if (mkdir(part, 0777) != 0 && errno != EEXIST)
            return mc_fail(err, MC_ERR_IO, "--out %s: cannot create the folder %s: %s", path,
                           part, strerror(errno));
    }
    return MC_OK;
}

/* Writes a CSV field: as it is, or quoted (quotes doubled) when it holds , " or a line end. */
static void csv_field(output_file *f, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        output_printf(f, "%s", s);
        return;
    }
    output_printf(f, "\"");
    for (; *s; s++)
        output_printf(f, *s == '"' ? "\"\"" : "%c", *s);
    output_printf(f, "\"");
}

/* confusion.csv: a header "true\predicted,NAME..." then a row per true class. */
static mc_status write_confusion_csv(const char *path, const report_stats *s,
                                     const char *const *names, mc_error *err)
{
    output_file f;
    mc_status st = output_begin(&f, path, err);
    if (st)
        return st;
    output_printf(&f, "true\\predicted");
    for (int c = 0; c < s->classes; c++) {
        output_printf(&f, ",");
        csv_field(&f, names[c]);
    }
    output_printf(&f, "\n");
    for (int r = 0; r < s->classes; r++) {
        csv_field(&f, names[r]);
        for (int c = 0; c < s->classes; c++)
            output_printf(&f, ",%lld", s->confusion[(size_t)r * s->classes + c]);
        output_printf(&f, "\n");
    }
    return output_commit(&f, err);
}

/* A ratio for the CSV (9 digits) or the table (4 decimals); empty / n/a when undefined. */
static void put_ratio(output_file *f, FILE *out, double v)
{
    if (f)
        isnan(v) ? output_printf(f, ",") : output_printf(f, ",%.9g", v);
    else
        isnan(v) ? fprintf(out, " %9s", "n/a") : fprintf(out, " %9.4f", v);
}

/* per_class.csv: class,precision,recall,f1,support,predicted (an undefined ratio empty). */
static mc_status write_per_class_csv(const char *path, const report_stats *s,
                                     const char *const *names, mc_error *err)
{
    output_file f;
    mc_status st = output_begin(&f, path, err);
    if (st)
        return st;
    output_printf(&f, "class,precision,recall,f1,support,predicted\n");
    for (int c = 0; c < s->classes; c++) {
        const report_class *pc = &s->per_class[c];
        csv_field(&f, names[c]);
        put_ratio(&f, NULL, pc->precision);
        put_ratio(&f, NULL, pc->recall);
        put_ratio(&f, NULL, pc->f1);
        output_printf(&f, ",%lld,%lld\n", pc->support, pc->predicted);
    }
    return output_commit(&f, err);
}

/* The per-class table and the accuracy on stdout. */
static void print_table(const report_stats *s, const char *const *names, const char *set)
{
    printf("%-12s %9s %9s %9s %8s\n", "class", "precision", "recall", "F1", "support");
    for (int c = 0; c < s->classes; c++) {
        const report_class *pc = &s->per_class[c];
        printf("%-12s", names[c]);
        put_ratio(NULL, stdout, pc->precision);
        put_ratio(NULL, stdout, pc->recall);
        put_ratio(NULL, stdout, pc->f1);
        printf(" %8lld\n", pc->support);
    }
    printf("accuracy %.2f%% (%lld/%lld) on %s\n",
           s->images ? 100.0 * s->correct / s->images : 0.0, s->correct, s->images, set);
}

/* Runs every image of set through the trainer's network (in chunks) into s. */
static mc_status measure(trainer *t, const dataset *set, int classes, report_stats *s,
                         mc_error *err)
{
    enum { CHUNK = 1000 };
    float *out = malloc(sizeof *out * (size_t)classes * CHUNK);
    if (!out)
        return mc_fail(err, MC_ERR_NOMEM, "out of memory for the network's outputs");
    mc_status st = MC_OK;
    for (int first = 0; first < set->n; first += CHUNK) {
        int count = set->n - first < CHUNK ? set->n - first : CHUNK;
        if ((st = trainer_predict(t, 0, first, count, out))) {
            mc_fail(err, st, "computing the network's outputs failed: %s", mc_status_name(st));
            break;
        }
        for (int i = 0; i < count; i++)
            report_stats_add(s, first + i, set->labels[first + i], out + (size_t)i * classes);
    }
    free(out);
    report_stats_finish(s);
    return st;
}

/* Removes a figure an earlier report left in the folder that this one does not draw. */
static void remove_stale(const char *path)
{
    struct stat sb;
    if (lstat(path, &sb) == 0 && S_ISREG(sb.st_mode) && unlink(path) == 0)
        printf("removed %s (an earlier report's; this one has none)\n", path);
}

/* Everything a report is made of, freed by free_report. */
typedef struct {
    mlp_spec spec;
    float *params;
    st_file meta;
    dataset set;
    train_log log;
    report_stats stats;
    char (*names)[32];
    const char **name_ptrs;
    char paths[N_FILES][OUTPUT_PATH_MAX + 1];
    char model_name[256], set_name[512], log_name[256];
} report;

static void free_report(report *r)
{
    free(r->params);
    dataset_free(&r->set);
    train_log_free(&r->log);
    report_stats_free(&r->stats);
    free(r->names);
    free(r->name_ptrs);
}

/* Loads the log, the model and the set; names the classes. */
static mc_status load_inputs(const report_options *o, report *r, mc_error *err)
{
    mc_status st = o->log ? train_log_read(o->log, &r->log, err) : MC_OK;
    if (!st)
        st = cli_load_model(o->model, o->activation, o->output, &r->spec, &r->params, &r->meta,
                            err);
    if (st)
        return st;
    int classes = r->spec.sizes[r->spec.n_layers];
    const char *name = o->dataset ? o->dataset : cli_model_dataset(&r->meta);
    char text[600];
    if (o->csv) {
        if ((st = csv_load(&r->set, o->csv, classes, err)))
            return st;
        if (!r->set.labels)
            return mc_fail(err, MC_ERR_DATA,
                           "%s: has no labels, which a report measures the network against",
                           o->csv);
        snprintf(text, sizeof text, "%s", o->csv);
    } else {
        if ((st = cli_load_data(name, o->data_dir, NULL, &r->set, err)))
            return st;
        snprintf(text, sizeof text, "the %s test set", name);
    }
    report_text(text, r->set_name, sizeof r->set_name);
    if (r->spec.sizes[0] != dataset_dim(&r->set))
        return mc_fail(err, MC_ERR_DATA, "%s: takes %d inputs, but %s has images of %d x %d pixels",
                       o->model, r->spec.sizes[0], o->csv ? o->csv : text, r->set.rows,
                       r->set.cols);
    const char *slash = strrchr(o->model, '/');
    report_text(slash && slash[1] ? slash + 1 : o->model, r->model_name, sizeof r->model_name);
    if (o->log) {
        slash = strrchr(o->log, '/');
        report_text(slash && slash[1] ? slash + 1 : o->log, r->log_name, sizeof r->log_name);
    }
    r->names = malloc(sizeof *r->names * (size_t)classes);
    r->name_ptrs = malloc(sizeof *r->name_ptrs * (size_t)classes);
    if (!r->names || !r->name_ptrs)
        return mc_fail(err, MC_ERR_NOMEM, "out of memory for %d class names", classes);
    for (int c = 0; c < classes; c++)
        r->name_ptrs[c] = report_class_name(name, classes, c, r->names[c], sizeof r->names[c]);
    return report_stats_init(&r->stats, classes, o->mistakes, err);
}

/* Whether the first layer's inputs are the set's images (weights.png can show them). */
static int image_input(const report *r)
{
    return r->spec.sizes[0] == r->set.rows * r->set.cols;
}

/* Makes the folder and checks every file of the report can be written there, and that
   none is an input. */
static mc_status prepare_outputs(const report_options *o, report *r, mc_error *err)
{
    mc_status st = make_folder(o->out, err);
    if (st)
        return st;
    cli_path outputs[N_FILES];
    int n = 0;
    for (int k = 0; k < N_FILES; k++) {
        snprintf(r->paths[k], sizeof r->paths[k], "%s%s%s", o->out,
                 o->out[strlen(o->out) - 1] == '/' ? "" : "/", file_names[k]);
        if ((k == F_CURVES && !(o->log && r->log.n)) || (k == F_WEIGHTS && !image_input(r)))
            continue;
        outputs[n++] = (cli_path){"--out", r->paths[k]};
    }
    const cli_path inputs[] = {{"--model", o->model}, {"--log", o->log}, {"--csv", o->csv}};
    return cli_check_paths(outputs, n, inputs, 3, NULL, NULL, err);
}

/* Draws the figures (a build with cairo) and writes index.html. */
static mc_status write_report(const report_options *o, report *r, mc_error *err)
{
    const report_stats *s = &r->stats;
    const char *const *names = r->name_ptrs;
    report_context ctx = {r->model_name, r->set_name, s->classes, names};
    int units = r->spec.sizes[1], shown = units < REPORT_WEIGHTS_MAX ? units : REPORT_WEIGHTS_MAX;
    report_page page = {o->model, &ctx, &r->spec, &r->meta, s, o->log, &r->log, NULL,
                        shown, units, NULL};
    if (!o->log)
        page.curves_note = "no training log was given (mnistcl train --log FILE writes one; "
                           "mnistcl report --log FILE draws it).";
    else if (!r->log.n)
        page.curves_note = "the training log has no epoch records yet.";
    if (!image_input(r))
        page.weights_note = "the first layer's inputs are not the set's image pixels.";
    mc_status st = MC_OK;
#ifdef MNISTCL_HAVE_CAIRO
    if (!page.curves_note)
        st = report_draw_curves(r->paths[F_CURVES], &ctx, r->log_name, &r->log, err);
    if (!st)
        st = report_draw_confusion(r->paths[F_CONFUSION], &ctx, s, err);
    if (!st)
        st = report_draw_per_class(r->paths[F_PER_CLASS], &ctx, s, err);
    if (!st)
        st = report_draw_mistakes(r->paths[F_MISTAKES], &ctx, s, &r->set, err);
    if (!st && !page.weights_note)
        st = report_draw_weights(r->paths[F_WEIGHTS], &ctx,
                                 r->params + mlp_weight_offset(&r->spec, 0), units, shown,
                                 r->set.rows, r->set.cols,
                                 r->spec.n_layers == 1 ? names : NULL, err);
#endif
    if (st)
        return st;
    if (page.curves_note)
        remove_stale(r->paths[F_CURVES]);
    if (page.weights_note)
        remove_stale(r->paths[F_WEIGHTS]);
    if ((st = report_write_html(r->paths[F_INDEX], &page, err)))
        return st;
    printf("wrote %s: %sconfusion.png, per_class.png, mistakes.png (%d of %lld mistakes), "
           "%sconfusion.csv, per_class.csv, index.html\n",
           o->out, page.curves_note ? "" : "learning_curves.png, ", s->n_mistakes, s->wrong,
           page.weights_note ? "" : "weights.png, ");
    return MC_OK;
}

int cmd_report(int argc, char **argv)
{
    report_options o = {NULL, NULL, NULL, NULL, NULL, NULL, cli_default_device(), "relu",
                        "softmax", 24};
    cli_option table[] = {
        cli_opt("model", OPT_STRING, &o.model, "FILE",
                "the model (`train --save`, or a PyTorch state_dict)", 0, 0),
        cli_opt("out", OPT_STRING, &o.out, "DIR", "the report's folder (made if missing)", 0,
                0),
        cli_opt("log", OPT_STRING, &o.log, "FILE",
                "the run's `train --log` (CSV, or JSON Lines if *.jsonl): learning curves",
                0, 0),
        cli_opt("mistakes", OPT_INT, &o.mistakes, "N",
                "show the N most confident mistakes", 0, 1000),
        cli_opt("dataset", OPT_STRING, &o.dataset, "NAME",
                "mnist or fashion (default: the model's, else mnist)", 0, 0),
        cli_opt("data", OPT_STRING, &o.data_dir, "DIR", "folder of the IDX files (raw or .gz)",
                0, 0),
        cli_opt("csv", OPT_STRING, &o.csv, "FILE",
                "measure on a labelled Kaggle CSV instead of the test set", 0, 0),
        cli_opt("device", OPT_STRING, &o.device, "SPEC", "auto, cpu, opencl or P:D", 0, 0),
        cli_opt("activation", OPT_STRING, &o.activation, "NAME",
                "a PyTorch state_dict's hidden activation (relu, sigmoid, tanh)", 0, 0),
        cli_opt("output", OPT_STRING, &o.output, "NAME",
                "a PyTorch state_dict's output (softmax, sigmoid-mse)", 0, 0),
    };
    mc_error err = {{0}};
    int n = (int)(sizeof table / sizeof table[0]);
    int rc = cli_parse(argc, argv, 2, table, n, synopsis, &err);
    if (rc == CLI_HELP)
        return 0;
    if (rc)
        return cli_report((mc_status)rc, &err);
    if (!o.model || !o.out)
        return cli_report(mc_fail(&err, MC_ERR_USAGE, "report needs --model FILE and --out DIR "
                                                      "(see mnistcl report --help)"),
                          &err);
    if (o.dataset && strcmp(o.dataset, "mnist") != 0 && strcmp(o.dataset, "fashion") != 0)
        return cli_report(mc_fail(&err, MC_ERR_USAGE, "--dataset '%s': expected mnist or fashion",
                                  o.dataset), &err);
#ifndef MNISTCL_HAVE_CAIRO
    return cli_report(mc_fail(&err, MC_ERR_RUNTIME,
                              "report: this mnistcl was built without cairo, so it cannot draw "
                              "the report's figures (install libcairo2-dev and rebuild)"),
                      &err);
#endif
    struct stat sb;
    if (stat(o.out, &sb) == 0 && !S_ISDIR(sb.st_mode))
        return cli_report(mc_fail(&err, MC_ERR_IO, "--out %s: exists and is not a folder",
                                  o.out), &err);
    static report r; /* (large: kept off the stack) */
    memset(&r, 0, sizeof r);
    mc_status st = load_inputs(&o, &r, &err);
    if (!st)
        st = prepare_outputs(&o, &r, &err);
    backend *be = NULL;
    trainer *t = NULL;
    train_config cfg = {0};
    if (!st)
        st = cli_open_device(o.device, &be, &err);
    if (!st) /* the set goes in as the "test" set */
        st = trainer_create(&t, be, &r.spec, NULL, &r.set, &cfg, &err);
    if (!st)
        st = trainer_set_params(t, r.params);
    if (!st)
        st = measure(t, &r.set, r.stats.classes, &r.stats, &err);
    trainer_destroy(t);
    backend_destroy(be);
    if (!st) {
        print_table(&r.stats, r.name_ptrs, r.set_name);
        st = write_confusion_csv(r.paths[F_CONFUSION_CSV], &r.stats, r.name_ptrs, &err);
    }
    if (!st)
        st = write_per_class_csv(r.paths[F_PER_CLASS_CSV], &r.stats, r.name_ptrs, &err);
    if (!st)
        st = write_report(&o, &r, &err);
    free_report(&r);
    return cli_report(st, &err);
}
