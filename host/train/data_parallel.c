/*
 * Data parallelism: one trainer per device, G global replicas over this process's devices
 * and every process of the exchange. Each holds the whole parameter set; a step of B
 * images gives global replica g the step's rows [g*B/G, (g+1)*B/G), whose gradient (of
 * their loss / B) it computes into its grads buffer; the host reads the gradients of this
 * process's replicas and adds them in order (local 0, 1, ...: a float sum, elementwise),
 * the exchange adds the processes' sums in rank order, the sum goes back to every replica
 * and each runs the same update on the same bits, so the parameters never differ. A
 * replica writes its images' losses and hits at their positions of its own statistics,
 * zero elsewhere (cleared at each epoch's start), so merged statistics are an exact
 * elementwise sum. Evaluation passes split the same way by image ranges.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/opencl.h"
#include "train/data_parallel.h"
#include "train/exchange.h"
#include "train/plan_build.h"

struct dp_group {
    trainer **local; /* this process's trainers, local[0] the primary */
    int n_local;
    exchange *x;     /* NULL: this process alone */
    int ranks;       /* processes (1 without an exchange) */
    int first;       /* the global number of local[0] */
    float *sum;      /* n_params: the step's summed gradient */
    float *part;     /* n_local x n_params: each local replica's, read back */
};

/* Rows [*row0, *row0 + *rows) of `total` that global replica g of G takes. */
static void share_of(long long total, int g, int G, int *row0, int *rows)
{
    long long a = total * g / G, b = total * (g + 1) / G;
    *row0 = (int)a;
    *rows = (int)(b - a);
}

/* Prints an exchange's failure (err) and passes its status on. */
static mc_status exchange_failed(mc_status st, const mc_error *err)
{
    if (st)
        fprintf(stderr, "mnistcl: %s\n", err->msg[0] ? err->msg : mc_status_name(st));
    return st;
}

mc_status dp_plan_step(trainer *t, int rows, plan *p)
{
    if (t->knobs.replicas <= 1)
        return plan_step(t, rows, p);
    int row0, n;
    share_of(rows, t->knobs.replica, t->knobs.replicas, &row0, &n);
    return plan_step_share(t, rows, row0, n, p);
}

mc_status dp_plan_pass(trainer *t, const device_set *set, plan *p)
{
    if (t->knobs.replicas <= 1)
        return plan_evaluate(t, set, p);
    int from, n;
    share_of(set->n, t->knobs.replica, t->knobs.replicas, &from, &n);
    return plan_evaluate_range(t, set, from, n, p);
}

void dp_destroy(dp_group *g)
{
    if (!g)
        return;
    for (int i = 1; i < g->n_local; i++)
        trainer_destroy(g->local[i]);
    free(g->local);
    free(g->sum);
    free(g->part);
    free(g);
}

mc_status trainer_create_parallel(trainer **out, backend **backends, int n_backends,
                                  exchange *x, const mlp_spec *spec, const dataset *train,
                                  const dataset *test, const train_config *cfg, mc_error *err)
{
    return trainer_create_parallel_with(out, backends, n_backends, x, spec, train, test, cfg,
                                        NULL, err);
}

/*
 * The global numbering: how many replicas all processes hold (*replicas) and the number
 * of this process's first (*first), from every rank's count (a collective sum).
 */
static mc_status number_replicas(exchange *x, int n_local, int *first, int *replicas,
                                 mc_error *err)
{
    int ranks = x ? exchange_ranks(x) : 1, rank = x ? exchange_rank(x) : 0;
    *first = 0, *replicas = n_local;
    if (ranks <= 1)
        return MC_OK;
    long long *counts = calloc((size_t)ranks, sizeof *counts);
    if (!counts)
        return mc_fail(err, MC_ERR_NOMEM, "out of memory");
    counts[rank] = n_local;
    mc_status st = exchange_sum_longs(x, counts, (size_t)ranks, err);
    long long total = 0, before = 0;
    for (int r = 0; !st && r < ranks; r++) {
        total += counts[r];
        if (r < rank)
            before += counts[r];
    }
    free(counts);
    if (!st && total > 1 << 20)
        st = mc_fail(err, MC_ERR_USAGE, "%lld replicas: at most %d", total, 1 << 20);
    *first = (int)before, *replicas = (int)total;
    return st;
}

/* What decides the bits of a backend's update: the reference's code, or an OpenCL device's
   compiler (its platform|device|driver key). */
static const char *numerics_of(backend *be)
{
    return backend_is_opencl(be) ? backend_cl_device_key(be) : "the CPU reference";
}

/*
 * Every replica applies the same update to the same bits, and the parameters stay
 * identical only if the devices compute it alike: the same kind of device (one OpenCL
 * device model and driver, or the reference) on this process and, through the exchange,
 * as rank 0's first device. MC_ERR_USAGE naming two that differ. Collective: every rank
 * takes part in both exchanges whatever it found, so none waits for another.
 */
static mc_status check_alike(backend **be, int n, exchange *x, int ranks, mc_error *err)
{
    int mismatch = 0; /* the first of this process's devices unlike its first */
    for (int i = 1; i < n && !mismatch; i++)
        if (strcmp(numerics_of(be[i]), numerics_of(be[0])) != 0)
            mismatch = i;
    if (mismatch)
        mc_fail(err, MC_ERR_USAGE, "data parallelism needs devices that compute alike (every "
                "replica applies the same update, which must give the same bits): %s and %s "
                "differ", backend_name(be[0]), backend_name(be[mismatch]));
    if (ranks <= 1)
        return mismatch ? MC_ERR_USAGE : MC_OK;
    char first[512];
    snprintf(first, sizeof first, "%s", numerics_of(be[0]));
    mc_error why = {{0}};
    mc_status st = exchange_broadcast(x, first, sizeof first, &why);
    int differs = mismatch || strcmp(first, numerics_of(be[0])) != 0, any = differs;
    if (!st)
        st = exchange_max_int(x, &any, &why);
    if (st)
        return mc_fail(err, st, "%s", why.msg);
    if (mismatch)
        return MC_ERR_USAGE; /* err says which */
    if (differs)
        return mc_fail(err, MC_ERR_USAGE, "data parallelism needs devices that compute alike: "
                       "this process's %s is not rank 0's (%s)", backend_name(be[0]), first);
    if (any)
        return mc_fail(err, MC_ERR_USAGE, "data parallelism needs devices that compute alike: "
                       "another process's device is not rank 0's (its error is printed there)");
    return MC_OK;
}

mc_status trainer_create_parallel_with(trainer **out, backend **backends, int n_backends,
                                       exchange *x, const mlp_spec *spec, const dataset *train,
                                       const dataset *test, const train_config *cfg,
                                       const trainer_knobs *knobs, mc_error *err)
{
    if (n_backends < 1 || !backends)
        return mc_fail(err, MC_ERR_RUNTIME, "internal: trainer_create_parallel: needs at least "
                       "one backend (n_backends %d)", n_backends);
    int ranks = x ? exchange_ranks(x) : 1;
    if (n_backends == 1 && ranks <= 1)
        return trainer_create_with(out, backends[0], spec, train, test, cfg, knobs, err);
    int first, replicas;
    mc_status st = number_replicas(x, n_backends, &first, &replicas, err);
    if (!st)
        st = check_alike(backends, n_backends, x, ranks, err);
    if (st)
        return st;
    int batch = cfg->batch > 0 ? cfg->batch : train ? train->n : 0;
    if (train && batch < replicas)
        return mc_fail(err, MC_ERR_USAGE,
                       "--batch %d: data parallelism over %d replicas (devices x processes) "
                       "splits every step's images, so the batch must be at least %d%s",
                       batch, replicas, replicas,
                       batch == 1 ? " (batch 1, the per-sample kernel, runs on one device)" : "");
    dp_group *g = calloc(1, sizeof *g);
    size_t n_params = mlp_param_count(spec);
    if (g) {
        g->local = calloc((size_t)n_backends, sizeof *g->local);
        g->sum = malloc(n_params * sizeof(float));
        g->part = malloc((size_t)n_backends * n_params * sizeof(float));
    }
    if (!g || !g->local || !g->sum || !g->part) {
        if (ranks > 1) { /* the others' agreement below: say this process failed */
            int failed = 1;
            mc_error why;
            exchange_max_int(x, &failed, &why);
        }
        dp_destroy(g);
        return mc_fail(err, MC_ERR_NOMEM, "out of memory");
    }
    g->x = ranks > 1 ? x : NULL;
    g->ranks = ranks > 1 ? ranks : 1;
    g->first = first;
    for (int i = 0; !st && i < n_backends; i++) {
        trainer_knobs k = knobs ? *knobs : (trainer_knobs){0};
        k.replica = first + i, k.replicas = replicas;
        st = trainer_create_with(&g->local[i], backends[i], spec, train, test, cfg, &k, err);
        if (!st)
            g->n_local = i + 1;
    }
    if (g->x) { /* every rank goes on, or none: the others would wait in the first sum */
        int failed = st != MC_OK;
        mc_error why = {{0}};
        mc_status xs = exchange_max_int(g->x, &failed, &why);
        if (xs && !st)
            st = mc_fail(err, xs, "%s", why.msg);
        else if (failed && !st)
            st = mc_fail(err, MC_ERR_RUNTIME, "another process could not create its trainers "
                         "(its error is printed there)");
    }
    if (st) {
        trainer *primary = g->n_local ? g->local[0] : NULL;
        dp_destroy(g); /* the replicas */
        trainer_destroy(primary);
        return st;
    }
    g->local[0]->group = g;
    *out = g->local[0];
    return MC_OK;
}

int trainer_replicas(const trainer *t)
{
    return t->knobs.replicas > 1 ? t->knobs.replicas : 1;
}

/* ---- the same on every replica -------------------------------------------------------- */

mc_status dp_set_params(trainer *t, const float *params)
{
    mc_status st = MC_OK;
    for (int i = 1; !st && i < t->group->n_local; i++)
        st = trainer_set_params(t->group->local[i], params);
    return st;
}

mc_status dp_set_state(trainer *t, const float *params, const float *state)
{
    mc_status st = MC_OK;
    for (int i = 1; !st && i < t->group->n_local; i++)
        st = trainer_set_state(t->group->local[i], params, state);
    return st;
}

mc_status dp_set_lr_scale(trainer *t, float scale)
{
    mc_status st = MC_OK;
    for (int i = 1; !st && i < t->group->n_local; i++)
        st = trainer_set_lr_scale(t->group->local[i], scale);
    return st;
}

mc_status dp_clear_stats(trainer *t)
{
    mc_status st = MC_OK;
    for (int i = 1; !st && i < t->group->n_local; i++)
        st = trainer_clear_stats(t->group->local[i]);
    return st;
}

mc_status dp_finish(trainer *t)
{
    mc_status st = MC_OK;
    for (int i = 1; !st && i < t->group->n_local; i++)
        st = trainer_finish(t->group->local[i]);
    return st;
}

mc_status dp_set_validation(trainer *t, const dataset *val, mc_error *err)
{
    mc_status st = MC_OK;
    for (int i = 1; !st && i < t->group->n_local; i++)
        st = trainer_set_validation(t->group->local[i], val, err);
    return st;
}

mc_status dp_begin_epoch(trainer *t, int epoch, const rng *before)
{
    mc_status st = MC_OK;
    for (int i = 1; !st && i < t->group->n_local; i++) {
        rng same = *before;
        st = trainer_begin_epoch(t->group->local[i], epoch, &same);
    }
    return st ? st : trainer_clear_stats(t); /* the primary's, then dp_clear_stats */
}

/* ---- a step ----------------------------------------------------------------------------- */

/*
 * One data-parallel step: every local replica's share is enqueued with the read of its
 * gradient behind it (the devices work at once), one wait for all of them, then the
 * gradients are added in order (sum = part 0 + part 1 + ..., elementwise in float),
 * summed over the ranks, and queued back to every replica with its update behind: the
 * next step's shares queue after them, and the next wait finds them done before the
 * sum's memory is written again. A replica without rows in the step (a short last step)
 * adds nothing.
 */
static mc_status dp_step(trainer *t, int step)
{
    dp_group *g = t->group;
    size_t n = t->n_params, bytes = n * sizeof(float);
    mc_status st = MC_OK;
    for (int i = 0; !st && i < g->n_local; i++) {
        trainer *u = g->local[i];
        plan *p = trainer_plan_of_step(u, step);
        if (p->rows > 0)
            st = trainer_run_step_plan(u, p, step, 1);
        if (!st && p->rows > 0)
            st = u->op->read_async(u->be, u->grads, 0, g->part + (size_t)i * n, bytes);
    }
    if (!st)
        st = trainer_finish(t); /* every local replica's */
    int have = 0;
    for (int i = 0; !st && i < g->n_local; i++) {
        if (trainer_plan_of_step(g->local[i], step)->rows == 0)
            continue;
        const float *part = g->part + (size_t)i * n;
        if (have)
            for (size_t j = 0; j < n; j++)
                g->sum[j] += part[j];
        else
            memcpy(g->sum, part, bytes);
        have = 1;
    }
    if (!st && !have)
        memset(g->sum, 0, bytes);
    if (!st && g->x) {
        mc_error err = {{0}};
        st = exchange_failed(exchange_sum_floats(g->x, g->sum, n, &err), &err);
    }
    for (int i = 0; !st && i < g->n_local; i++) {
        trainer *u = g->local[i];
        st = u->op->write_async(u->be, u->grads, 0, g->sum, bytes);
        if (!st)
            st = trainer_run_step_plan(u, &u->update, step, 1);
    }
    return st;
}

mc_status dp_train_steps(trainer *t, int first, int count)
{
    dp_group *g = t->group;
    mc_status st = MC_OK;
    for (int done = 0; !st && done < count;) {
        int step = first + done, k = count - done;
        for (int i = 0; !st && i < g->n_local; i++) {
            int here;
            st = trainer_data_ready(g->local[i], step, count - done, &here);
            if (!st && here < k)
                k = here;
        }
        for (int j = 0; !st && j < k; j++)
            st = dp_step(t, step + j);
        done += k;
    }
    return st;
}

/* ---- sums over the replicas ------------------------------------------------------------ */

/* The two sums (float loss, int32 hits) a sum stage left in u->sums. */
static mc_status read_two_sums(trainer *u, double *loss, long long *hits)
{
    union {
        float f;
        int32_t i;
    } s[2];
    mc_status st = u->op->read(u->be, u->sums, 0, s, sizeof s);
    if (!st)
        *loss += s[0].f, *hits += s[1].i;
    return st;
}

mc_status dp_pass_stats(trainer *t, int which, pass_stats *out)
{
    dp_group *g = t->group;
    int n = which == 0 ? t->test.n : which == 2 ? t->val.n : t->train.n;
    mc_status st = MC_OK;
    for (int i = 0; !st && i < g->n_local; i++) { /* every device starts before any read */
        trainer *u = g->local[i];
        if (which == 3) {
            sum_args a = {bref_at(u->sums, 0), bref_at(u->sums, 1), bref_at(u->stat_loss, 0),
                          bref_at(u->stat_correct, 0), u->train.n};
            st = u->op->sum(u->be, &a);
        } else {
            plan *p = which == 2 ? &u->eval_val : &u->eval[which];
            st = plan_run(u->be, p, 0, 1, NULL);
        }
    }
    double loss = 0;
    long long hits = 0;
    for (int i = 0; !st && i < g->n_local; i++)
        st = read_two_sums(g->local[i], &loss, &hits);
    mc_error err = {{0}};
    if (!st && g->x)
        st = exchange_failed(exchange_sum_doubles(g->x, &loss, 1, &err), &err);
    if (!st && g->x)
        st = exchange_failed(exchange_sum_longs(g->x, &hits, 1, &err), &err);
    if (st)
        return st;
    out->images = n;
    out->loss = n ? loss / n : 0.0;
    out->accuracy = n ? (double)hits / n : 0.0;
    return MC_OK;
}

mc_status dp_read_stats(trainer *t, int first, int n, float *loss, int32_t *hits)
{
    dp_group *g = t->group;
    float *lp = malloc((size_t)n * sizeof(float) + 1);
    int32_t *hp = hits ? malloc((size_t)n * sizeof(int32_t) + 1) : NULL;
    mc_status st = lp && (hp || !hits) ? MC_OK : MC_ERR_NOMEM;
    for (int i = 0; !st && i < g->n_local; i++) {
        trainer *u = g->local[i];
        st = u->op->read(u->be, u->stat_loss, (size_t)first * 4, i ? lp : loss, (size_t)n * 4);
        if (!st && hits)
            st = u->op->read(u->be, u->stat_correct, (size_t)first * 4, i ? hp : hits,
                             (size_t)n * 4);
        for (int k = 0; !st && i && k < n; k++) {
            loss[k] += lp[k];
            if (hits)
                hits[k] += hp[k];
        }
    }
    mc_error err = {{0}};
    if (!st && g->x)
        st = exchange_failed(exchange_sum_floats(g->x, loss, (size_t)n, &err), &err);
    if (!st && g->x && hits) { /* hits are 0 or 1: exact as floats */
        for (int k = 0; k < n; k++)
            lp[k] = (float)hits[k];
        st = exchange_failed(exchange_sum_floats(g->x, lp, (size_t)n, &err), &err);
        for (int k = 0; !st && k < n; k++)
            hits[k] = (int32_t)lp[k];
    }
    free(lp);
    free(hp);
    return st;
}

/* ---- the progress line ----------------------------------------------------------------- */

/* Images of the first `steps` steps of the epoch that this process's replicas train. */
static long long local_images(const trainer *t, int steps)
{
    const dp_group *g = t->group;
    long long n = 0;
    int per_epoch = trainer_steps_per_epoch(t);
    for (int i = 0; i < g->n_local; i++) {
        int row0, rows, tail_rows;
        share_of(t->batch, g->first + i, t->knobs.replicas, &row0, &rows);
        int tail = t->train.n - (per_epoch - 1) * t->batch; /* the last step's images */
        share_of(tail, g->first + i, t->knobs.replicas, &row0, &tail_rows);
        n += steps < per_epoch ? (long long)steps * rows
                               : (long long)(per_epoch - 1) * rows + tail_rows;
    }
    return n;
}

mc_status dp_progress_request(trainer *t, int steps)
{
    dp_group *g = t->group;
    mc_status st = MC_OK;
    for (int i = 0; !st && i < g->n_local; i++)
        st = trainer_queue_progress(g->local[i], steps);
    return st;
}

mc_status dp_progress_result(trainer *t, pass_stats *out)
{
    dp_group *g = t->group;
    double loss = 0;
    long long hits = 0;
    for (int i = 0; i < g->n_local; i++) {
        trainer *u = g->local[i];
        if (u->progress_state != 2) {
            fprintf(stderr, "mnistcl: internal error: trainer_progress_result: no "
                            "trainer_progress_request %s (replica %d)\n",
                    u->progress_state ? "has been followed by trainer_finish yet" : "was made",
                    u->knobs.replica);
            return MC_ERR_RUNTIME;
        }
        loss += u->progress_host[0].f;
        hits += u->progress_host[1].i;
    }
    long long n = local_images(t, t->progress_steps);
    out->images = (int)n;
    out->loss = n ? loss / (double)n : 0.0;
    out->accuracy = n ? (double)hits / (double)n : 0.0;
    return MC_OK;
}

trainer *dp_local_trainer(trainer *t, int i)
{
    if (!t->group)
        return i == 0 ? t : NULL;
    return i >= 0 && i < t->group->n_local ? t->group->local[i] : NULL;
}

/* ---- the plan ---------------------------------------------------------------------------- */

void dp_print_group(trainer *t, FILE *out)
{
    dp_group *g = t->group;
    int G = t->knobs.replicas;
    fprintf(out, "data parallel: %d replicas (%d on this process%s), each with every "
                 "parameter; replica g takes rows [g*B/G, (g+1)*B/G) of each step of B images\n",
            G, g->n_local, g->ranks > 1 ? ", the others through the exchange" : "");
    for (int i = 0; i < g->n_local; i++) {
        int row0, rows;
        share_of(t->batch, g->first + i, G, &row0, &rows);
        fprintf(out, "  replica %d on %s: rows [%d, %d) of a step\n", g->first + i,
                g->local[i]->be->name, row0, row0 + rows);
    }
    fprintf(out, "each step: the shares' gradients (of their loss / B) are read and added on "
                 "the host in replica order%s, written back to every replica, and each "
                 "applies the same update\n",
            g->ranks > 1 ? " (this process's, then the processes' sums in rank order)" : "");
    fprintf(out, "the plans below are replica %d's\n", g->first);
}
