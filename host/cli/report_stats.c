/* The confusion matrix, per-class figures and most confident mistakes (report_stats.h). */
#include "cli/report_stats.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/classify.h"
#include "mnistcl/safetensors.h"

mc_status report_stats_init(report_stats *s, int classes, int max_mistakes, mc_error *err)
{
    memset(s, 0, sizeof *s);
    s->classes = classes;
    s->max_mistakes = max_mistakes;
    s->confusion = calloc((size_t)classes * classes, sizeof *s->confusion);
    s->per_class = calloc((size_t)classes, sizeof *s->per_class);
    s->mistakes = calloc((size_t)max_mistakes + 1, sizeof *s->mistakes);
    if (!s->confusion || !s->per_class || !s->mistakes) {
        report_stats_free(s);
        return mc_fail(err, MC_ERR_NOMEM, "out of memory for a %d-class confusion matrix",
                       classes);
    }
    return MC_OK;
}

/* Whether mistake a goes before b: more confident, or as confident and earlier. */
static int before(const report_mistake *a, const report_mistake *b)
{
    return a->confidence > b->confidence ||
           (a->confidence == b->confidence && a->index < b->index);
}

void report_stats_add(report_stats *s, int index, int label, const float *out)
{
    int guess = mc_argmax(out, s->classes);
    s->confusion[(size_t)label * s->classes + guess]++;
    s->images++;
    if (guess == label) {
        s->correct++;
        return;
    }
    s->wrong++;
    report_mistake m = {index, label, guess, out[guess]};
    /* insertion into the sorted list, which keeps max_mistakes */
    int at = s->n_mistakes;
    while (at > 0 && before(&m, &s->mistakes[at - 1]))
        at--;
    if (at >= s->max_mistakes)
        return;
    int keep = s->n_mistakes < s->max_mistakes ? s->n_mistakes : s->max_mistakes - 1;
    memmove(&s->mistakes[at + 1], &s->mistakes[at], sizeof m * (size_t)(keep - at));
    s->mistakes[at] = m;
    s->n_mistakes = keep + 1;
}

void report_stats_finish(report_stats *s)
{
    int k = s->classes;
    for (int c = 0; c < k; c++) {
        report_class *pc = &s->per_class[c];
        long long tp = s->confusion[(size_t)c * k + c], row = 0, col = 0;
        for (int j = 0; j < k; j++) {
            row += s->confusion[(size_t)c * k + j];
            col += s->confusion[(size_t)j * k + c];
        }
        pc->support = row;
        pc->predicted = col;
        pc->precision = col ? (double)tp / col : NAN;
        pc->recall = row ? (double)tp / row : NAN;
        if (isnan(pc->precision) || isnan(pc->recall))
            pc->f1 = NAN;
        else if (pc->precision + pc->recall == 0)
            pc->f1 = 0;
        else
            pc->f1 = 2 * pc->precision * pc->recall / (pc->precision + pc->recall);
    }
}

void report_stats_free(report_stats *s)
{
    free(s->confusion);
    free(s->per_class);
    free(s->mistakes);
    memset(s, 0, sizeof *s);
}

const char *report_class_name(const char *dataset, int classes, int c, char *buf, int len)
{
    static const char *const fashion[10] = {"T-shirt/top", "Trouser", "Pullover", "Dress",
                                            "Coat",        "Sandal",  "Shirt",    "Sneaker",
                                            "Bag",         "Ankle boot"};
    if (dataset && strcmp(dataset, "fashion") == 0 && classes == 10 && c >= 0 && c < 10)
        snprintf(buf, (size_t)len, "%s", fashion[c]);
    else
        snprintf(buf, (size_t)len, "%d", c);
    return buf;
}

const char *report_text(const char *text, char *buf, size_t len)
{
    int utf8 = st_is_utf8(text);
    size_t n = strlen(text), keep = n;
    if (n >= len) { /* room for "..." and the NUL; a character is not cut */
        keep = len - 4;
        while (utf8 && keep > 0 && ((unsigned char)text[keep] & 0xC0) == 0x80)
            keep--;
    }
    for (size_t i = 0; i < keep; i++)
        buf[i] = utf8 || (unsigned char)text[i] < 0x80 ? text[i] : '?';
    strcpy(buf + keep, n > keep ? "..." : "");
    return buf;
}
