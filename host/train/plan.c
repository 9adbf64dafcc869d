/* The stage list of a plan: adding stages, running them, printing them. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "train/plan.h"

stage *plan_add(plan *p, op_kind op, const char *role_fmt, ...)
{
    if (p->oom)
        return NULL;
    if (p->n == p->cap) {
        int cap = p->cap ? 2 * p->cap : 16;
        stage *grown = realloc(p->stages, (size_t)cap * sizeof *grown);
        if (!grown) {
            p->oom = 1;
            return NULL;
        }
        p->stages = grown, p->cap = cap;
    }
    stage *s = &p->stages[p->n++];
    memset(s, 0, sizeof *s);
    s->op = op;
    s->chunk = p->chunk;
    va_list ap;
    va_start(ap, role_fmt);
    vsnprintf(s->role, sizeof s->role, role_fmt, ap);
    va_end(ap);
    return s;
}

/* Byte offset of a field inside its stage. */
static unsigned offset_in(const stage *s, const void *field)
{
    return (unsigned)((const char *)field - (const char *)s);
}

void stage_moves_start(stage *s, int *field)
{
    s->start_at = offset_in(s, field);
    s->start_base = *field;
}

void stage_moves_stats(stage *s, bref *loss, bref *hits)
{
    s->loss_at = offset_in(s, loss);
    s->loss_base = loss->off;
    s->hits_at = offset_in(s, hits);
    s->hits_base = hits->off;
}

void stage_moves_count(stage *s, int *field)
{
    s->count_at = offset_in(s, field);
}

void stage_moves_rule(stage *s, update_rule *field)
{
    s->rule_at = offset_in(s, field);
}

void stage_moves_step32(stage *s, uint32_t *step)
{
    s->step32_at = offset_in(s, step);
}

void stage_moves_epoch(stage *s, uint32_t *epoch)
{
    s->epoch_at = offset_in(s, epoch);
}

void stage_moves_step(stage *s, int *step, lr_schedule *schedule)
{
    s->step_at = offset_in(s, step);
    s->schedule_at = offset_in(s, schedule);
}

/* The field at byte offset `at` of s. */
#define FIELD(s, at, type) ((type *)((char *)(s) + (at)))

mc_status stage_run(backend *be, const stage *s)
{
    return backend_run(be, s->op, &s->a);
}

mc_status plan_run(backend *be, plan *p, int first, int steps, const plan_position *pos)
{
    if (p->oom || steps < 1 || steps > p->steps_per_run) {
        fprintf(stderr,
                "mnistcl: internal error: plan_run: needs a complete plan and 1 <= steps <= "
                "%d (plan %s, steps %d)\n",
                p->steps_per_run, p->oom ? "incomplete" : "complete", steps);
        return MC_ERR_RUNTIME;
    }
    for (int i = 0; !pos && i < p->n; i++)
        if (p->stages[i].rule_at || p->stages[i].step_at || p->stages[i].step32_at ||
            p->stages[i].epoch_at) {
            fprintf(stderr, "mnistcl: internal error: plan_run: stage %d (%s) updates "
                            "parameters or draws random numbers, so the plan needs the step's "
                            "position in the run\n",
                    i, p->stages[i].role);
            return MC_ERR_RUNTIME;
        }
    mc_status st = MC_OK;
    for (int i = 0; !st && i < p->n; i++) {
        stage *s = &p->stages[i];
        if (s->start_at)
            *FIELD(s, s->start_at, int) = s->start_base + first;
        if (s->loss_at) {
            FIELD(s, s->loss_at, bref)->off = s->loss_base + (size_t)first;
            FIELD(s, s->hits_at, bref)->off = s->hits_base + (size_t)first;
        }
        if (s->count_at)
            *FIELD(s, s->count_at, int) = steps;
        if (s->rule_at)
            *FIELD(s, s->rule_at, update_rule) = pos->rule;
        if (s->step_at) {
            *FIELD(s, s->step_at, int) = pos->step;
            *FIELD(s, s->schedule_at, lr_schedule) = pos->schedule;
        }
        if (s->step32_at)
            *FIELD(s, s->step32_at, uint32_t) = (uint32_t)pos->step;
        if (s->epoch_at)
            *FIELD(s, s->epoch_at, uint32_t) = (uint32_t)pos->epoch;
        st = stage_run(be, s);
    }
    return st;
}

/* " by nesterov" etc. for a rule other than SGD's (whose plans print as they always did). */
static const char *rule_note(const update_rule *r)
{
    switch (r->kind) {
    case UPDATE_NESTEROV: return " by nesterov";
    case UPDATE_ADAM: return " by adam";
    case UPDATE_ADAMW: return " by adamw";
    default: return "";
    }
}

/* Writes the shapes a stage works on, in the notation of backend_ops.h. */
static void describe_shapes(const stage *s, char *buf, size_t len)
{
    const op_args *a = &s->a;
    switch (s->op) {
    case OP_GATHER:
        snprintf(buf, len, "x (%d,%d) <- images[index]", a->gather.count, a->gather.dim);
        return;
    case OP_GEMM: {
        const gemm_args *g = &a->gemm;
        char epi[48] = "";
        if (g->epilogue == EPI_BIAS_ACT)
            snprintf(epi, sizeof epi, " + b, %s", act_name(g->act));
        else if (g->epilogue == EPI_ACT_GRAD)
            snprintf(epi, sizeof epi, " (.) %s'", act_name(g->act));
        snprintf(buf, len, "C (%d,%d) %s= %s%s (%d,%d) . %s (%d,%d)%s", g->m, g->n,
                 g->beta != 0.0f ? "+" : "", g->trans_a ? "At" : "A",
                 g->a_ones_row ? " with a ones row" : "", g->m, g->k, g->trans_b ? "Bt" : "B",
                 g->k, g->n, epi);
        return;
    }
    case OP_LOSS:
        snprintf(buf, len, "z (%d,%d) -> loss, hits%s", a->loss.count, a->loss.classes,
                 a->loss.delta.b ? ", delta" : "");
        return;
    case OP_OUTPUT_STEP: {
        const output_step_args *o = &a->output_step;
        snprintf(buf, len, "h (%d,%d) . W (%d,%d) -> loss, hits, delta%s", o->count, o->hidden,
                 o->hidden, o->classes, o->delta_hidden.b ? ", delta_h" : "");
        return;
    }
    case OP_PROBS:
        snprintf(buf, len, "z (%d,%d) -> probabilities", a->probs.count, a->probs.classes);
        return;
    case OP_UPDATE:
        snprintf(buf, len, "%zu parameters%s", a->update.n, rule_note(&a->update.rule));
        return;
    case OP_SUM:
        snprintf(buf, len, "%d losses and hits -> 2 sums", a->sum.n);
        return;
    case OP_SEQUENTIAL: {
        char layers[128];
        mlp_format_layers(a->sequential.spec, layers, sizeof layers);
        snprintf(buf, len, "%s, one image after another", layers);
        return;
    }
    case OP_SPARSE_FORWARD:
        snprintf(buf, len, "pixels (%d,%d) . W (%d,%d) + b, %s", a->sparse_forward.rows,
                 a->sparse_forward.dim, a->sparse_forward.dim, a->sparse_forward.n,
                 act_name(a->sparse_forward.act));
        return;
    case OP_SPARSE_FORWARD_OUTPUT: {
        const sparse_forward_output_args *f = &a->sparse_forward_output;
        snprintf(buf, len, "pixels (%d,%d) -> h (%d,%d) -> z (%d,%d) -> loss, delta, delta_h",
                 f->f.rows, f->f.dim, f->f.rows, f->f.n, f->o.count, f->o.classes);
        return;
    }
    case OP_SPARSE_GRAD:
        snprintf(buf, len, "[dW;db] (%d,%d) %s= [pixels,1]t . delta (%d,%d)",
                 a->sparse_grad.dim + 1, a->sparse_grad.n, a->sparse_grad.accumulate ? "+" : "",
                 a->sparse_grad.rows, a->sparse_grad.n);
        return;
    case OP_SPARSE_BACKWARD_UPDATE: {
        const sparse_backward_update_args *b = &a->sparse_backward_update;
        snprintf(buf, len, "[dW;db] (%d,%d)%s, then %zu parameters updated%s", b->g.dim + 1,
                 b->g.n, b->classes ? " and the output layer's" : "", b->upd.n,
                 rule_note(&b->upd.rule));
        return;
    }
    case OP_DROPOUT:
        snprintf(buf, len, "y (%d,%d) = x . keep mask . %.4g (dropped below %u/2^32)%s",
                 a->dropout.rows, a->dropout.cols, a->dropout.scale, a->dropout.threshold,
                 a->dropout.x.b == a->dropout.y.b ? ", in place" : "");
        return;
    case OP_AUGMENT: {
        const augment_args *g = &a->augment;
        snprintf(buf, len, "x (%d,%d) <- images[index] distorted (shift %g, rotate %g, scale "
                 "%g, elastic %g/%g)", g->count, g->width * g->height, g->shift, g->rotate_deg,
                 g->scale, g->alpha, g->sigma);
        return;
    }
    case OP_WINDOW_IMAGES: {
        const window_images_args *w = &a->window_images;
        snprintf(buf, len, "window slots [%d,%d) (%d bytes) <- ids in part [%d,%d)", w->slot0,
                 w->slot0 + w->count, w->dim, w->part_first, w->part_first + w->part_n);
        return;
    }
    case OP_COUNT: break;
    }
    snprintf(buf, len, "?");
}

void plan_print(FILE *out, backend *be, const plan *p)
{
    fprintf(out, "  %-3s %-22s %-25s %-8s %s\n", "#", "operation", "kernel", "launches",
            "what it does: shapes (rows, cols)");
    int first_chunk_stages = 0, accumulates = 0;
    for (int i = 0; i < p->n; i++) {
        const stage *s = &p->stages[i];
        accumulates |= s->chunk > 0 && ((s->op == OP_GEMM && s->a.gemm.beta != 0.0f) ||
                                        (s->op == OP_SPARSE_GRAD && s->a.sparse_grad.accumulate));
    }
    for (int i = 0; i < p->n; i++) {
        const stage *s = &p->stages[i];
        if (s->chunk > 0) /* later chunks repeat the first one's stages */
            continue;
        first_chunk_stages += s->chunk == 0;
        int launches = 1;
        const char *kernel =
            be->ops->kernel_of ? be->ops->kernel_of(be, s->op, &s->a, &launches) : "?";
        char shapes[160];
        describe_shapes(s, shapes, sizeof shapes);
        fprintf(out, "  %-3d %-22s %-25s %-8d %s: %s\n", i + 1, op_name(s->op), kernel,
                launches, s->role, shapes);
        if (s->chunk == 0 && i + 1 < p->n && p->stages[i + 1].chunk > 0)
            fprintf(out,
                    "      (stages %d-%d again for each of %d more chunk%s of %d rows, the "
                    "last of %d%s)\n",
                    i + 2 - first_chunk_stages, i + 1, p->chunks - 1, p->chunks > 2 ? "s" : "",
                    p->chunk_rows, p->last_chunk_rows,
                    accumulates ? "; their weight gradients add to the first chunk's" : "");
    }
}

void plan_free(plan *p)
{
    free(p->stages);
    memset(p, 0, sizeof *p);
}
