/*
 * The training run's decisions (host/train/run_policy.c), without a device or the CLI:
 * - divergence: the limits per output kind, exactly at and just past each limit, NaN and
 *   infinities in parameters, velocity and loss, empty vectors, the reason and the whole
 *   two-line report (where, why, the learning rate, what the checkpoint holds);
 * - the checkpoint schedule: every N steps, never on an epoch's last step (the epoch's end
 *   has its own), slices cut at checkpoints and epoch ends, slice sizing, the epoch-end
 *   progress, which epochs print, what a stop records and when nothing was trained;
 * - resuming: the data fingerprint, the progress checks (other data, a step past the
 *   epoch, sums the steps cannot have produced, at and past each bound), --epochs at and
 *   between epoch boundaries;
 * - settings: the table, which options may change, hex encoding and its refusals, the
 *   metadata written (formatting, order, .bytes beside a non-UTF-8 string, the worst case
 *   within the maximum), reading back (absent strings unset, absent numbers kept, refused
 *   values, bad hex), and a non-UTF-8 path kept exactly through a real checkpoint file;
 * - validation: --val counts and fractions, --plateau FACTOR[:PATIENCE], whether a loss
 *   improves, patience, the multiplier, sequences of epochs (early stop, reductions, both),
 *   and the state as checkpoint metadata (exact round trip, every refusal).
 */
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zlib.h>

#include "mnistcl/checkpoint.h"
#include "train/run_policy.h"
#include "test_util.h"

#define CHECK(cond, ...)                                                                     \
    do {                                                                                     \
        if (!(cond))                                                                         \
            test_fail(__VA_ARGS__);                                                          \
    } while (0)

/* got equals want (both may be NULL). */
static void check_str(const char *what, const char *got, const char *want)
{
    if ((!got || !want) ? got != want : strcmp(got, want) != 0)
        test_fail("%s: got '%s', want '%s'", what, got ? got : "(null)", want ? want : "(null)");
}

/* A network of `in` inputs and `classes` outputs, one layer. */
static mlp_spec one_layer(int in, int classes, output_kind out)
{
    mlp_spec s = {0};
    s.n_layers = 1, s.sizes[0] = in, s.sizes[1] = classes;
    s.hidden_act = ACT_RELU, s.output = out;
    return s;
}

/* ---- divergence --------------------------------------------------------------------------- */

static void test_limits(void)
{
    CHECK(policy_loss_limit(OUT_SOFTMAX_XENT, 10) == 10.0 * log(10), "softmax 10 classes");
    CHECK(policy_loss_limit(OUT_SOFTMAX_XENT, 2) == 10.0 * log(2), "softmax 2 classes");
    CHECK(policy_loss_limit(OUT_SOFTMAX_XENT, 1) == 10.0 * log(2), "1 class counts as 2");
    CHECK(policy_loss_limit(OUT_SOFTMAX_XENT, 0) == 10.0 * log(2), "0 classes count as 2");
    CHECK(policy_loss_limit(OUT_SIGMOID_MSE, 10) == 1.0, "sigmoid-MSE loss limit");
    CHECK(policy_loss_limit(OUT_SIGMOID_MSE, 1000) == 1.0, "sigmoid-MSE whatever the classes");
    CHECK(policy_param_limit(OUT_SOFTMAX_XENT) == 1e15, "softmax parameter limit");
    CHECK(policy_param_limit(OUT_SIGMOID_MSE) == 1e4, "sigmoid-MSE parameter limit");
}

static void test_values_insane(void)
{
    float v[4] = {0, -1, 2, 3};
    CHECK(!policy_values_insane(v, 0, 1e4), "an empty vector is sane");
    CHECK(!policy_values_insane(NULL, 0, 1e4), "an empty vector is not read");
    CHECK(!policy_values_insane(v, 4, 3), "a value exactly at the limit is sane");
    CHECK(policy_values_insane(v, 4, 2.999), "a value past the limit is insane");
    v[3] = -1e4f;
    CHECK(!policy_values_insane(v, 4, 1e4), "-limit is sane");
    v[3] = nextafterf(1e4f, INFINITY);
    CHECK(policy_values_insane(v, 4, 1e4), "the next float past the limit is insane");
    CHECK(!policy_values_insane(v, 3, 1e4), "only n values are looked at");
    const float bad[] = {NAN, INFINITY, -INFINITY};
    for (int k = 0; k < 3; k++) {
        v[3] = bad[k];
        CHECK(policy_values_insane(v, 4, 1e15), "%g is insane (last)", (double)bad[k]);
        float first[2] = {bad[k], 0};
        CHECK(policy_values_insane(first, 2, 1e15), "%g is insane (first)", (double)bad[k]);
    }
}

static void test_state_diverged(void)
{
    mlp_spec soft = one_layer(4, 10, OUT_SOFTMAX_XENT); /* 50 parameters */
    float p[50] = {0}, vel[50] = {0};
    double limit = 10.0 * log(10);
    CHECK(!policy_state_diverged(&soft, p, vel, 0), "a zero state is healthy");
    CHECK(!policy_state_diverged(&soft, p, vel, limit), "a loss exactly at the limit is healthy");
    CHECK(policy_state_diverged(&soft, p, vel, nextafter(limit, INFINITY)),
          "a loss past the limit diverged");
    CHECK(policy_state_diverged(&soft, p, vel, NAN), "a NaN loss diverged");
    CHECK(policy_state_diverged(&soft, p, vel, INFINITY), "an infinite loss diverged");
    CHECK(policy_state_diverged(&soft, p, vel, -INFINITY), "a -inf loss diverged");
    p[49] = 1e15f; /* float 1e15 is a little below 1e15 */
    CHECK(!policy_state_diverged(&soft, p, vel, 1), "a softmax parameter at 1e15 is healthy");
    p[49] = 2e15f;
    CHECK(policy_state_diverged(&soft, p, vel, 1), "a softmax parameter at 2e15 diverged");
    p[49] = 0;
    vel[0] = NAN;
    CHECK(policy_state_diverged(&soft, p, vel, 1), "a NaN velocity diverged");
    vel[0] = 0;

    mlp_spec sig = one_layer(4, 10, OUT_SIGMOID_MSE);
    CHECK(!policy_state_diverged(&sig, p, vel, 1.0), "sigmoid-MSE loss 1 is healthy");
    CHECK(policy_state_diverged(&sig, p, vel, nextafter(1.0, 2)), "sigmoid-MSE loss past 1");
    p[10] = -1e4f;
    CHECK(!policy_state_diverged(&sig, p, vel, 0.5), "a sigmoid weight at -1e4 is healthy");
    p[10] = -10001;
    CHECK(policy_state_diverged(&sig, p, vel, 0.5), "a sigmoid weight at -10001 diverged");
    CHECK(!policy_state_diverged(&soft, p, vel, 0.5), "the same weight is fine for softmax");
    p[10] = 0;
    vel[49] = 20000;
    CHECK(policy_state_diverged(&sig, p, vel, 0.5), "a sigmoid velocity past 1e4 diverged");
}

static void test_divergence_reason(void)
{
    mlp_spec soft = one_layer(4, 10, OUT_SOFTMAX_XENT), sig = one_layer(4, 10, OUT_SIGMOID_MSE);
    float p[50] = {0};
    char why[200];
    p[3] = 20000;
    policy_divergence_reason(&sig, p, 0.1, why, sizeof why);
    check_str("sigmoid parameter", why,
              "a parameter reached 20000 (limit 10000 for sigmoid outputs: they are saturated)");
    policy_divergence_reason(&soft, p, NAN, why, sizeof why);
    check_str("softmax: a 20000 parameter is fine, the loss is not", why, "the loss became NaN");
    p[7] = -3e15f;
    policy_divergence_reason(&soft, p, NAN, why, sizeof why);
    check_str("the largest magnitude counts, before the loss", why,
              "a parameter reached 3e+15 (limit 1e+15)");
    p[3] = p[7] = 0;
    p[49] = NAN; /* the last: a NaN among others is at least reported as a parameter */
    policy_divergence_reason(&soft, p, 1, why, sizeof why);
    check_str("NaN parameter", why, "a parameter reached nan (limit 1e+15)");
    p[49] = 0;
    policy_divergence_reason(&soft, p, INFINITY, why, sizeof why);
    check_str("infinite loss", why, "the loss became infinite");
    policy_divergence_reason(&soft, p, -INFINITY, why, sizeof why);
    check_str("-inf loss", why, "the loss became infinite");
    policy_divergence_reason(&soft, p, 50, why, sizeof why);
    check_str("loss", why, "the mean loss reached 50 (a guess scores 2.3; limit 23)");
    policy_divergence_reason(&sig, p, 1.5, why, sizeof why);
    check_str("sigmoid loss", why, "the mean loss reached 1.5 (a guess scores 0.1; limit 1)");
    policy_divergence_reason(&soft, p, 50, why, 10);
    check_str("cut to the buffer", why, "the mean ");
}

static void test_divergence_message(void)
{
    mlp_spec soft = one_layer(4, 10, OUT_SOFTMAX_XENT);
    float p[50] = {0};
    char msg[POLICY_DIVERGENCE_MESSAGE_MAX];
    p[0] = 2e15f;
    policy_divergence d = {.epoch = 2, .steps_done = 50, .first_bad_step = -1, .mean_loss = 3.5,
                           .lr = 0.5, .checkpoint = "/tmp/x.ckpt", .checkpointed = 1,
                           .checkpoint_at = {.epoch = 2, .step = 30}};
    policy_divergence_message(&d, &soft, p, msg, sizeof msg);
    check_str("checkpointed, parameters", msg,
              "mnistcl: training diverged in epoch 2 by step 50: a parameter reached 2e+15 "
              "(limit 1e+15).\n"
              "mnistcl: try a lower learning rate (--lr 0.5 now); /tmp/x.ckpt holds epoch 2, "
              "step 30, from before it; nothing was saved\n");
    p[0] = 0;
    d.first_bad_step = 6, d.mean_loss = NAN, d.checkpointed = 0, d.lr = 0.05f;
    policy_divergence_message(&d, &soft, p, msg, sizeof msg);
    check_str("not checkpointed yet, first bad step", msg,
              "mnistcl: training diverged in epoch 2 at step 7: the loss became NaN.\n"
              "mnistcl: try a lower learning rate (--lr 0.05 now); no checkpoint of this run "
              "was written before it; nothing was saved\n");
    d.first_bad_step = 0, d.mean_loss = 50, d.checkpoint = NULL, d.epoch = 1;
    policy_divergence_message(&d, &soft, p, msg, sizeof msg);
    check_str("no checkpoint, the first step", msg,
              "mnistcl: training diverged in epoch 1 at step 1: the mean loss reached 50 (a "
              "guess scores 2.3; limit 23).\n"
              "mnistcl: try a lower learning rate (--lr 0.05 now); nothing was saved\n");
    char longpath[400];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[sizeof longpath - 1] = 0;
    d.checkpoint = longpath, d.checkpointed = 1;
    policy_divergence_message(&d, &soft, p, msg, sizeof msg);
    char want[300 + 1];
    memcpy(want, longpath, 300);
    want[300] = 0;
    CHECK(strstr(msg, want) && !strstr(msg, longpath + 98) &&
              strstr(msg, "a holds epoch 2, step 30, from before it; nothing was saved\n"),
          "a long checkpoint path is cut to 300 bytes: %s", msg);
}

/* ---- steps, slices and the checkpoint schedule --------------------------------------------- */

static void test_images_and_mean(void)
{
    CHECK(policy_images_done(0, 128, 1000) == 0, "no steps, no images");
    CHECK(policy_images_done(7, 128, 1000) == 896, "7 full steps");
    CHECK(policy_images_done(8, 128, 1000) == 1000, "the last step of an epoch is partial");
    CHECK(policy_images_done(9, 128, 1000) == 1000, "never more than the set");
    CHECK(policy_images_done(1 << 30, 1 << 30, 2000000000) == 2000000000, "no int overflow");
    CHECK(policy_images_done(3, 10, 0) == 0, "an empty set");
    CHECK(policy_mean_loss(10, 4) == 2.5, "mean");
    CHECK(policy_mean_loss(10, 0) == 0, "no images: 0, not NaN");
    CHECK(policy_mean_loss(10, -1) == 0, "negative images: 0");
    CHECK(isnan(policy_mean_loss(NAN, 4)), "a NaN sum stays NaN");
}

/* The steps after which a run of `steps` steps per epoch, --checkpoint-every `every`, and
 * slices of `slice` steps checkpoints within the epoch, as a list "3,6,9" into out. */
static void schedule(int steps, int every, int slice, char *out, size_t len)
{
    out[0] = 0;
    for (int s = 0; s < steps;) {
        int next_checkpoint = policy_next_checkpoint(s, every, steps);
        s = policy_slice_end(s, slice, next_checkpoint, steps);
        if (s < steps && policy_checkpoint_due(s, next_checkpoint, steps))
            snprintf(out + strlen(out), len - strlen(out), "%s%d", out[0] ? "," : "", s);
    }
}

static void test_checkpoint_schedule(void)
{
    CHECK(policy_next_checkpoint(0, 0, 10) == 10, "no --checkpoint-every: the epoch's end");
    CHECK(policy_next_checkpoint(7, -1, 10) == 10, "negative every: the epoch's end");
    CHECK(policy_next_checkpoint(0, 3, 10) == 3, "every 3 from 0");
    CHECK(policy_next_checkpoint(2, 3, 10) == 3, "every 3 from 2");
    CHECK(policy_next_checkpoint(3, 3, 10) == 6, "every 3 from 3 (just written)");
    CHECK(policy_next_checkpoint(9, 3, 10) == 12, "past the epoch's end");
    CHECK(policy_next_checkpoint(0, 50, 10) == 50, "every beyond the epoch");
    CHECK(policy_checkpoint_due(3, 3, 10), "due at a multiple");
    CHECK(!policy_checkpoint_due(4, 6, 10), "not due between");
    CHECK(!policy_checkpoint_due(9, 9, 9), "not on the epoch's last step: its end has one");
    CHECK(policy_checkpoint_due(8, 8, 9), "due on the step before the last");
    CHECK(policy_slice_end(0, 5, 3, 10) == 3, "a slice ends at the checkpoint");
    CHECK(policy_slice_end(4, 5, 6, 10) == 6, "a slice ends at the checkpoint (2)");
    CHECK(policy_slice_end(8, 5, 12, 10) == 10, "a slice ends at the epoch's end");
    CHECK(policy_slice_end(2, 3, 10, 10) == 5, "a slice of 3");
    char got[256];
    schedule(10, 3, 1, got, sizeof got);
    check_str("10 steps, every 3, slices of 1", got, "3,6,9");
    schedule(10, 3, 100, got, sizeof got);
    check_str("10 steps, every 3, large slices", got, "3,6,9");
    schedule(9, 3, 2, got, sizeof got);
    check_str("9 steps, every 3: not on the last", got, "3,6");
    schedule(9, 0, 4, got, sizeof got);
    check_str("no --checkpoint-every", got, "");
    schedule(1, 1, 1, got, sizeof got);
    check_str("one step per epoch", got, "");
    schedule(5, 1, 7, got, sizeof got);
    check_str("every step", got, "1,2,3,4");
}

static void test_next_slice(void)
{
    CHECK(policy_next_slice(10, 4, 1.0, 100) == 10, "a slice cut short keeps its size");
    CHECK(policy_next_slice(10, 10, POLICY_SLICE_SECONDS, 100) == 10, "on time: the same");
    CHECK(policy_next_slice(10, 10, POLICY_SLICE_SECONDS / 2, 100) == 20, "twice as fast");
    CHECK(policy_next_slice(10, 10, 0, 1000) == 80, "no time measured: 8 times");
    CHECK(policy_next_slice(10, 10, -1, 1000) == 80, "negative time: 8 times");
    CHECK(policy_next_slice(10, 10, 1e-9, 1000) == 80, "at most 8 times larger");
    CHECK(policy_next_slice(10, 10, 100, 1000) == 5, "at most 2 times smaller");
    CHECK(policy_next_slice(1, 1, 100, 1000) == 1, "at least 1 step");
    CHECK(policy_next_slice(10, 10, 0, 30) == 30, "at most an epoch");
    CHECK(policy_next_slice(10, 10, POLICY_SLICE_SECONDS, 7) == 7, "at most an epoch (2)");
}

static void test_epoch_end_and_shown(void)
{
    rng r;
    rng_seed(&r, 42);
    rng_next(&r);
    train_progress p = policy_epoch_end_progress(3, &r);
    CHECK(p.epoch == 4 && p.step == 0 && p.loss_sum == 0 && p.correct == 0,
          "the epoch-end checkpoint resumes at the next epoch's start");
    CHECK(memcmp(&p.shuffle_rng, &r, sizeof r) == 0, "with the generator as it is");
    CHECK(policy_epoch_shown(1, 1, 5, 20), "the first epoch is shown");
    CHECK(policy_epoch_shown(7, 7, 5, 20), "the first epoch of a resumed run is shown");
    CHECK(!policy_epoch_shown(8, 7, 5, 20), "other epochs are not");
    CHECK(policy_epoch_shown(10, 7, 5, 20), "every print_every-th is");
    CHECK(policy_epoch_shown(20, 1, 7, 20), "the last is");
    CHECK(!policy_epoch_shown(19, 1, 7, 20), "the one before the last is not");
    CHECK(policy_epoch_shown(5, 1, 1, 20), "print_every 1: every epoch");
}

static void test_stop(void)
{
    char out[128];
    train_progress p = {.epoch = 3, .step = 17};
    policy_stop_description("SIGINT", &p, 469, out, sizeof out);
    check_str("mid-epoch", out, "SIGINT in epoch 3 after step 17 of 469");
    p.step = 0;
    policy_stop_description("SIGTERM", &p, 469, out, sizeof out);
    check_str("at an epoch's start", out, "SIGTERM at the start of epoch 3");
    p.step = 468;
    policy_stop_description("SIGHUP", &p, 469, out, sizeof out);
    check_str("the step before the last", out, "SIGHUP in epoch 3 after step 468 of 469");
    train_progress fresh = {.epoch = 1, .step = 0};
    CHECK(policy_nothing_trained(0, &fresh), "a fresh run at its start trained nothing");
    CHECK(!policy_nothing_trained(1, &fresh), "a resumed one did (the checkpoint's)");
    fresh.step = 1;
    CHECK(!policy_nothing_trained(0, &fresh), "one step is training");
    fresh.epoch = 2, fresh.step = 0;
    CHECK(!policy_nothing_trained(0, &fresh), "a finished epoch is training");
}

/* ---- resuming ------------------------------------------------------------------------------ */

static void test_fingerprint(void)
{
    unsigned char px[12], lab[3] = {0, 1, 2}, all[15];
    for (int i = 0; i < 12; i++)
        px[i] = all[i] = (unsigned char)(i + 1);
    memcpy(all + 12, lab, 3);
    dataset d = {.images = px, .labels = lab, .n = 3, .rows = 2, .cols = 2, .max_label = 2};
    char got[POLICY_FINGERPRINT_MAX], want[POLICY_FINGERPRINT_MAX];
    policy_data_fingerprint(&d, got, sizeof got);
    snprintf(want, sizeof want, "3 images of 2x2, crc32 %08lx",
             (unsigned long)crc32(crc32(0L, Z_NULL, 0), all, 15));
    check_str("pixels then labels", got, want);
    /* in pieces on threads (pieces across the pixels/labels seam, more threads than
     * pieces): the same crc32 as in one run */
    for (size_t piece = 1; piece <= 16; piece++)
        for (int threads = 1; threads <= 5; threads++) {
            char part[POLICY_FINGERPRINT_MAX];
            policy_data_fingerprint_with(&d, piece, threads, part, sizeof part);
            CHECK(strcmp(part, want) == 0, "pieces of %zu on %d threads: %s", piece, threads,
                  part);
        }
    d.labels = NULL;
    policy_data_fingerprint(&d, got, sizeof got);
    snprintf(want, sizeof want, "3 images of 2x2, crc32 %08lx",
             (unsigned long)crc32(crc32(0L, Z_NULL, 0), px, 12));
    check_str("without labels: the pixels", got, want);
    d.labels = lab;
    lab[2] = 1;
    char other[POLICY_FINGERPRINT_MAX];
    policy_data_fingerprint(&d, other, sizeof other);
    CHECK(strcmp(other, got) != 0, "a label changes it");
    d.n = 2; /* truncated (--train-limit) */
    policy_data_fingerprint(&d, got, sizeof got);
    CHECK(strncmp(got, "2 images of 2x2, crc32 ", 23) == 0, "truncated: %s", got);
    dataset empty = {.rows = 28, .cols = 28};
    policy_data_fingerprint(&empty, got, sizeof got);
    check_str("empty", got, "0 images of 28x28, crc32 00000000");
}

static void test_resume_progress(void)
{
    mc_error err = {{0}};
    double limit = 10.0 * log(10);
    /* 1000 images, batch 128: 8 steps, the last of 104 images */
    policy_data data = {"1000 images of 28x28, crc32 0badf00d", 1000, 128, 8};
    train_progress p = {.epoch = 2, .step = 0};
    CHECK(policy_check_resume_progress("c.ckpt", NULL, &data, &p, limit, &err) == MC_OK,
          "an epoch boundary, no recorded data: %s", err.msg);
    CHECK(policy_check_resume_progress("c.ckpt", data.fingerprint, &data, &p, limit, &err) ==
              MC_OK,
          "the same data: %s", err.msg);
    CHECK(policy_check_resume_progress("c.ckpt", "999 images of 28x28, crc32 0badf00d", &data,
                                       &p, limit, &err) == MC_ERR_USAGE,
          "other data is refused");
    check_str("other data", err.msg,
              "c.ckpt was made on other training data (999 images of 28x28, crc32 0badf00d; now "
              "1000 images of 28x28, crc32 0badf00d): resume on the same data and "
              "--train-limit");
    p.step = 8;
    CHECK(policy_check_resume_progress("c.ckpt", NULL, &data, &p, limit, &err) == MC_ERR_DATA,
          "a step past the epoch is refused");
    check_str("step past the epoch", err.msg,
              "c.ckpt: step 8 of epoch 2, but an epoch of this data has 8 steps");
    p.step = 7, p.correct = 896, p.loss_sum = 896 * limit;
    CHECK(policy_check_resume_progress("c.ckpt", NULL, &data, &p, limit, &err) == MC_OK,
          "the step before the last, sums exactly at their bounds: %s", err.msg);
    p.correct = 897;
    CHECK(policy_check_resume_progress("c.ckpt", NULL, &data, &p, limit, &err) == MC_ERR_DATA,
          "one hit too many is refused");
    check_str("too many hits", err.msg,
              "c.ckpt: epoch_correct 897 / epoch_loss_sum 20631.2 cannot come from the 896 "
              "images of 7 steps");
    p.correct = 896, p.loss_sum = nextafter(896 * limit, INFINITY);
    CHECK(policy_check_resume_progress("c.ckpt", NULL, &data, &p, limit, &err) == MC_ERR_DATA,
          "a loss sum past its bound is refused");
    p.loss_sum = INFINITY;
    CHECK(policy_check_resume_progress("c.ckpt", NULL, &data, &p, limit, &err) == MC_ERR_DATA,
          "an infinite loss sum is refused");
    p.step = 0, p.correct = 1, p.loss_sum = 0;
    CHECK(policy_check_resume_progress("c.ckpt", NULL, &data, &p, limit, &err) == MC_ERR_DATA,
          "hits at step 0 are refused");
    policy_data one = {"x", 1000, 1000, 1}; /* --batch full: one step */
    p.correct = 0;
    CHECK(policy_check_resume_progress("c.ckpt", NULL, &one, &p, limit, &err) == MC_OK,
          "full batch at step 0: %s", err.msg);
    p.step = 1;
    CHECK(policy_check_resume_progress("c.ckpt", NULL, &one, &p, limit, &err) == MC_ERR_DATA,
          "full batch, step 1");
}

static void test_resume_epochs(void)
{
    mc_error err = {{0}};
    train_progress boundary = {.epoch = 3, .step = 0}, mid = {.epoch = 3, .step = 5};
    CHECK(policy_epochs_done(&boundary) == 2, "at epoch 3 step 0, 2 are done");
    CHECK(policy_epochs_done(&mid) == 3, "at epoch 3 step 5, 3 are begun");
    train_progress start = {.epoch = 1, .step = 0};
    CHECK(policy_epochs_done(&start) == 0, "at the start, none");
    CHECK(policy_check_resume_epochs(2, "c.ckpt", &boundary, &err) == MC_OK,
          "--epochs 2 after 2 epochs: complete, not refused");
    CHECK(policy_check_resume_epochs(3, "c.ckpt", &boundary, &err) == MC_OK, "--epochs 3");
    CHECK(policy_check_resume_epochs(1, "c.ckpt", &boundary, &err) == MC_ERR_USAGE,
          "--epochs 1 after 2 epochs");
    check_str("--epochs below", err.msg,
              "--epochs 1: c.ckpt is already in epoch 3 (step 0); give at least --epochs 2");
    CHECK(policy_check_resume_epochs(2, "c.ckpt", &mid, &err) == MC_ERR_USAGE,
          "--epochs 2 in the middle of epoch 3");
    check_str("--epochs below, mid-epoch", err.msg,
              "--epochs 2: c.ckpt is already in epoch 3 (step 5); give at least --epochs 3");
    CHECK(policy_check_resume_epochs(3, "c.ckpt", &mid, &err) == MC_OK,
          "--epochs 3 finishes epoch 3");
}

/* ---- the settings a checkpoint keeps ------------------------------------------------------- */

enum { S_DATASET, S_DATA, S_TRAIN_CSV, S_TEST_CSV, S_INIT, S_BATCH, S_EPOCHS, S_TRAIN_LIMIT,
       S_SHUFFLE, S_LR, S_MOMENTUM, S_WEIGHT_DECAY, S_SEED, S_PRESET, S_VAL, S_EARLY_STOP,
       S_PLATEAU };

static void test_settings_table(void)
{
    static const char *const names[POLICY_N_SETTINGS] = {
        "dataset", "data", "train-csv", "test-csv", "init", "batch", "epochs",
        "train-limit", "shuffle", "lr", "momentum", "weight-decay", "seed", "preset",
        "val", "early-stop", "plateau", "optimizer", "beta1", "beta2", "eps", "schedule",
        "warmup", "step-epochs", "gamma", "final-lr", "dropout", "input-dropout", "augment",
        "shift", "rotate", "scale", "elastic-alpha", "elastic-sigma"};
    static const setting_kind kinds[POLICY_N_SETTINGS] = {
        SETTING_STRING, SETTING_STRING, SETTING_STRING, SETTING_STRING, SETTING_STRING,
        SETTING_STRING, SETTING_INT, SETTING_INT, SETTING_FLAG, SETTING_FLOAT, SETTING_FLOAT,
        SETTING_FLOAT, SETTING_U64, SETTING_STRING, SETTING_STRING, SETTING_INT,
        SETTING_STRING, SETTING_STRING, SETTING_FLOAT, SETTING_FLOAT, SETTING_FLOAT,
        SETTING_STRING, SETTING_INT, SETTING_INT, SETTING_FLOAT, SETTING_FLOAT, SETTING_FLOAT,
        SETTING_FLOAT, SETTING_FLAG, SETTING_FLOAT, SETTING_FLOAT, SETTING_FLOAT,
        SETTING_FLOAT, SETTING_FLOAT};
    for (int i = 0; i < POLICY_N_SETTINGS; i++) {
        check_str("setting name", policy_settings[i].name, names[i]);
        CHECK(policy_settings[i].kind == kinds[i], "%s: kind %d", names[i],
              (int)policy_settings[i].kind);
    }
    static const char *const may[] = {"resume", "epochs", "device", "save", "checkpoint",
                                      "checkpoint-every", "print-every", "predictions", "log",
                                      "progress", "quiet", "data", "train-csv", "test-csv"};
    for (size_t k = 0; k < sizeof may / sizeof may[0]; k++)
        CHECK(policy_resume_may_change(may[k]), "--%s may change when resuming", may[k]);
    static const char *const fixed[] = {"lr", "momentum", "weight-decay", "seed", "batch",
                                        "layers", "hidden", "activation", "output", "init",
                                        "preset", "dataset", "shuffle", "train-limit", "",
                                        "val", "early-stop", "plateau", "optimizer",
                                        "beta1", "beta2", "eps", "schedule", "warmup",
                                        "step-epochs", "gamma", "final-lr", "dropout",
                                        "input-dropout", "augment", "shift", "rotate",
                                        "scale", "elastic-alpha", "elastic-sigma", "epoch",
                                        "EPOCHS"};
    for (size_t k = 0; k < sizeof fixed / sizeof fixed[0]; k++)
        CHECK(!policy_resume_may_change(fixed[k]), "--%s may not change", fixed[k]);
}

static void test_hex(void)
{
    char out[64], s[64];
    policy_hex_encode("\xff\xfe" "a/", out, sizeof out);
    check_str("encode", out, "fffe612f");
    policy_hex_encode("", out, sizeof out);
    check_str("encode empty", out, "");
    policy_hex_encode("\xff\xfe" "a", out, 5);
    check_str("cut at a whole byte (cap 5)", out, "fffe");
    policy_hex_encode("\xff\xfe" "a", out, 4);
    check_str("cut at a whole byte (cap 4)", out, "ff");
    policy_hex_encode("\xff", out, 2);
    check_str("no room", out, "");
    strcpy(s, "fffe612f");
    CHECK(policy_hex_decode_in_place(s) && strcmp(s, "\xff\xfe" "a/") == 0, "decode");
    strcpy(s, "");
    CHECK(policy_hex_decode_in_place(s) && s[0] == 0, "decode empty");
    const char *bad[] = {"fff", "0g", "FF", "zz", "00", "ab00cd", "0", " 1", "1 "};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        strcpy(s, bad[k]);
        CHECK(!policy_hex_decode_in_place(s), "'%s' is refused", bad[k]);
    }
    /* every byte but NUL round trips */
    char all[256], hex[520];
    for (int b = 1; b < 256; b++)
        all[b - 1] = (char)b;
    all[255] = 0;
    policy_hex_encode(all, hex, sizeof hex);
    CHECK(strlen(hex) == 510 && policy_hex_decode_in_place(hex) && strcmp(hex, all) == 0,
          "bytes 1..255 round trip");
}

/* The default settings of `train`, as values. */
static void default_values(policy_value v[POLICY_N_SETTINGS])
{
    memset(v, 0, sizeof(policy_value) * POLICY_N_SETTINGS);
    v[S_DATASET].text = "mnist";
    v[S_INIT].text = "he";
    v[S_BATCH].text = "128";
    v[S_EPOCHS].integer = 5;
    v[S_SHUFFLE].integer = 1;
    v[S_LR].real = 0.05f;
    v[S_MOMENTUM].real = 0.9f;
    v[S_SEED].u64 = UINT64_MAX;
}

static st_meta meta[POLICY_CHECKPOINT_META_MAX];

static void test_settings_to_meta(void)
{
    policy_value v[POLICY_N_SETTINGS];
    default_values(v);
    int n = policy_settings_to_meta(v, meta);
    static const char *const want[][2] = {
        {"setting.dataset", "mnist"}, {"setting.init", "he"},
        {"setting.batch", "128"},     {"setting.epochs", "5"},
        {"setting.train-limit", "0"}, {"setting.shuffle", "1"},
        {"setting.lr", "0.0500000007"}, {"setting.momentum", "0.899999976"},
        {"setting.weight-decay", "0"}, {"setting.seed", "18446744073709551615"},
        {"setting.early-stop", "0"}};
    CHECK(n == 26, "unset strings are left out: %d pairs", n); /* 11 + beta1 .. elastic-sigma */
    for (int i = 0; i < n && i < 11; i++) {
        check_str("key", meta[i].key, want[i][0]);
        check_str(want[i][0], meta[i].value, want[i][1]);
    }
    v[S_DATA].text = "/data/caf\xc3\xa9";    /* UTF-8: no .bytes */
    v[S_TRAIN_CSV].text = "/d/\xff\xfe.csv"; /* not UTF-8 */
    v[S_PRESET].text = "";
    n = policy_settings_to_meta(v, meta);
    CHECK(n == 30, "data, train-csv (+ .bytes), preset: %d pairs", n);
    check_str("key 1", meta[1].key, "setting.data");
    check_str("UTF-8 kept as is", meta[1].value, "/data/caf\xc3\xa9");
    check_str("key 2", meta[2].key, "setting.train-csv");
    check_str("key 3", meta[3].key, "setting.train-csv.bytes");
    check_str("the bytes", meta[3].value, "2f642ffffe2e637376");
    check_str("key 4", meta[4].key, "setting.init");
    check_str("preset key", meta[13].key, "setting.preset");
    check_str("an empty string is kept", meta[13].value, "");
    check_str("key 14", meta[14].key, "setting.early-stop");
    check_str("last key", meta[29].key, "setting.elastic-sigma");
    /* the worst case: every string set and not UTF-8 */
    for (int i = 0; i < POLICY_N_SETTINGS; i++)
        if (policy_settings[i].kind == SETTING_STRING)
            v[i].text = "\x80";
    n = policy_settings_to_meta(v, meta);
    CHECK(n == 45 && n <= POLICY_SETTINGS_META_MAX, "worst case %d pairs", n);
    n = policy_checkpoint_meta(v, "3 images of 2x2, crc32 01234567", meta);
    CHECK(n == 46 && n <= POLICY_CHECKPOINT_META_MAX, "with the data: %d pairs", n);
    check_str("data key", meta[45].key, "data.train");
    check_str("data value", meta[45].value, "3 images of 2x2, crc32 01234567");
    /* a string longer than a metadata value is cut; its .bytes hold as much as fits */
    static char huge[5000];
    memset(huge, 'x', sizeof huge - 1);
    huge[0] = '\xff';
    default_values(v);
    v[S_DATA].text = huge;
    n = policy_settings_to_meta(v, meta);
    CHECK(n == 28 && strlen(meta[1].value) == sizeof meta[1].value - 1 &&
              strlen(meta[2].value) == 4094,
          "a long value is cut: %d pairs, %zu, %zu", n, strlen(meta[1].value),
          strlen(meta[2].value));
}

/* ---- reading the settings back -- */

typedef struct {
    int calls;
    int called[POLICY_N_SETTINGS];
    char text[POLICY_N_SETTINGS][4096];
    int was_null[POLICY_N_SETTINGS];
    int refuse;            /* the index to refuse, or -1 */
} recorder;

static mc_status record(void *ctx, int index, const char *text, mc_error *why)
{
    recorder *r = ctx;
    r->calls++;
    r->called[index]++;
    r->was_null[index] = !text;
    snprintf(r->text[index], sizeof r->text[index], "%s", text ? text : "");
    if (index == r->refuse)
        return mc_fail(why, MC_ERR_USAGE, "--%s: no good", policy_settings[index].name);
    return MC_OK;
}

static st_file file; /* large: static */

static void set_file(const st_meta *m, int n)
{
    memset(&file, 0, sizeof file);
    for (int i = 0; i < n; i++)
        st_meta_add(&file, m[i].key, m[i].value);
}

static void test_settings_from_meta(void)
{
    mc_error err = {{0}};
    recorder rec;
    policy_value v[POLICY_N_SETTINGS];
    default_values(v);
    v[S_TEST_CSV].text = "/t/\xe9t\xe9.csv";
    int n = policy_checkpoint_meta(v, "fp", meta);
    set_file(meta, n);
    memset(&rec, 0, sizeof rec), rec.refuse = -1;
    CHECK(policy_settings_from_meta(&file, "c.ckpt", record, &rec, &err) == MC_OK, "%s", err.msg);
    CHECK(rec.calls == POLICY_N_SETTINGS, "every setting once: %d calls", rec.calls);
    check_str("dataset", rec.text[S_DATASET], "mnist");
    CHECK(rec.was_null[S_DATA] && rec.was_null[S_TRAIN_CSV] && rec.was_null[S_PRESET],
          "absent strings are unset");
    check_str("test-csv from its bytes", rec.text[S_TEST_CSV], "/t/\xe9t\xe9.csv");
    check_str("lr", rec.text[S_LR], "0.0500000007");
    CHECK(strtof(rec.text[S_LR], NULL) == 0.05f, "lr reads back exactly");
    CHECK(strtof(rec.text[S_MOMENTUM], NULL) == 0.9f, "momentum reads back exactly");
    check_str("seed", rec.text[S_SEED], "18446744073709551615");

    /* nothing stored: strings unset, numbers kept (not passed) */
    set_file(meta, 0);
    memset(&rec, 0, sizeof rec), rec.refuse = -1;
    CHECK(policy_settings_from_meta(&file, "c.ckpt", record, &rec, &err) == MC_OK, "empty");
    CHECK(rec.calls == 11, "11 strings unset, no number passed: %d calls", rec.calls);
    CHECK(!rec.called[S_EPOCHS] && !rec.called[S_LR] && !rec.called[S_SEED] &&
              rec.called[S_PRESET] && rec.was_null[S_PRESET],
          "numbers are not passed, strings as NULL");

    /* a refused value: named with the path, cut at 80 bytes, the first failure stops */
    set_file(meta, n);
    memset(&rec, 0, sizeof rec), rec.refuse = S_LR;
    CHECK(policy_settings_from_meta(&file, "c.ckpt", record, &rec, &err) == MC_ERR_DATA,
          "a refused value is MC_ERR_DATA");
    check_str("refused", err.msg,
              "c.ckpt: setting.lr = '0.0500000007' is not valid: --lr: no good");
    CHECK(rec.calls == S_LR + 1, "stops at the first failure: %d calls", rec.calls);
    char longval[200];
    memset(longval, '9', sizeof longval - 1);
    longval[sizeof longval - 1] = 0;
    set_file(meta, 0);
    st_meta_add(&file, "setting.batch", longval);
    memset(&rec, 0, sizeof rec), rec.refuse = S_BATCH;
    policy_settings_from_meta(&file, "c.ckpt", record, &rec, &err);
    char want[512];
    snprintf(want, sizeof want, "c.ckpt: setting.batch = '%.80s' is not valid: --batch: no good",
             longval);
    check_str("a long refused value is cut", err.msg, want);
    memset(&rec, 0, sizeof rec), rec.refuse = S_DATA;
    CHECK(policy_settings_from_meta(&file, "c.ckpt", record, &rec, &err) == MC_ERR_DATA &&
              strcmp(err.msg, "c.ckpt: setting.data cannot be unset: --data: no good") == 0,
          "refusing an unset: %s", err.msg);

    /* bad .bytes: refused before the value is passed, whatever the plain value says */
    const char *bad[] = {"2f6", "2F", "2f00", "xyz0"};
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        set_file(meta, 0);
        st_meta_add(&file, "setting.data", "/d/\xef\xbf\xbd");
        st_meta_add(&file, "setting.data.bytes", bad[k]);
        memset(&rec, 0, sizeof rec), rec.refuse = -1;
        CHECK(policy_settings_from_meta(&file, "c.ckpt", record, &rec, &err) == MC_ERR_DATA,
              "bad bytes '%s'", bad[k]);
        check_str("bad bytes", err.msg, "c.ckpt: setting.data.bytes is not hexadecimal bytes");
        CHECK(!rec.called[S_DATA], "the value is not passed");
    }
    /* .bytes beside a number is not a thing: ignored */
    set_file(meta, 0);
    st_meta_add(&file, "setting.lr", "0.5");
    st_meta_add(&file, "setting.lr.bytes", "zz");
    memset(&rec, 0, sizeof rec), rec.refuse = -1;
    CHECK(policy_settings_from_meta(&file, "c.ckpt", record, &rec, &err) == MC_OK, "%s", err.msg);
    check_str(".bytes beside a number is ignored", rec.text[S_LR], "0.5");
    /* .bytes without the plain value still gives the value */
    set_file(meta, 0);
    st_meta_add(&file, "setting.init", "x");
    st_meta_add(&file, "setting.init.bytes", "6865");
    memset(&rec, 0, sizeof rec), rec.refuse = -1;
    policy_settings_from_meta(&file, "c.ckpt", record, &rec, &err);
    check_str(".bytes wins over the plain value", rec.text[S_INIT], "he");
}

/* Non-UTF-8 settings through a real checkpoint file: kept exactly. */
static void test_checkpoint_round_trip(void)
{
    char dir[] = "/tmp/test_run_policy.XXXXXX";
    if (!mkdtemp(dir)) {
        test_fail("mkdtemp failed");
        return;
    }
    char path[256];
    snprintf(path, sizeof path, "%s/c.ckpt", dir);
    mlp_spec spec = one_layer(4, 2, OUT_SOFTMAX_XENT);
    float params[10] = {0}, velocity[10] = {0};
    train_progress p = {.epoch = 2, .step = 3, .loss_sum = 1.5, .correct = 7};
    rng_seed(&p.shuffle_rng, 5);
    policy_value v[POLICY_N_SETTINGS];
    default_values(v);
    v[S_DATA].text = "/data/\xff\xfe\x80mnist";
    v[S_TRAIN_CSV].text = "/d/\xc3\x28.csv"; /* an invalid 2-byte sequence */
    v[S_TEST_CSV].text = "/d/t\xc3\xa9st.csv"; /* valid */
    v[S_PRESET].text = "seed000";
    st_meta m[POLICY_CHECKPOINT_META_MAX];
    int n = policy_checkpoint_meta(v, "4 images of 2x2, crc32 00c0ffee", m);
    mc_error err = {{0}};
    optimizer_state state = {velocity, 10, NULL}, got_state;
    CHECK(checkpoint_save(path, &spec, params, &state, &p, m, n, &err) == MC_OK, "save: %s",
          err.msg);
    mlp_spec got_spec;
    float *gp = NULL;
    train_progress got_p;
    static st_file loaded;
    memset(&loaded, 0, sizeof loaded);
    CHECK(checkpoint_load(path, &got_spec, &gp, &got_state, &got_p, &loaded, &err) == MC_OK,
          "load: %s", err.msg);
    CHECK(strcmp(st_meta_get(&loaded, "setting.data") ? st_meta_get(&loaded, "setting.data")
                                                       : "",
                 v[S_DATA].text) != 0,
          "the plain value lost the odd bytes (which is why .bytes exists)");
    recorder rec;
    memset(&rec, 0, sizeof rec), rec.refuse = -1;
    CHECK(policy_settings_from_meta(&loaded, path, record, &rec, &err) == MC_OK, "%s", err.msg);
    check_str("data kept exactly", rec.text[S_DATA], v[S_DATA].text);
    check_str("train-csv kept exactly", rec.text[S_TRAIN_CSV], v[S_TRAIN_CSV].text);
    check_str("test-csv kept", rec.text[S_TEST_CSV], v[S_TEST_CSV].text);
    check_str("preset kept", rec.text[S_PRESET], "seed000");
    check_str("data.train kept", st_meta_get(&loaded, POLICY_DATA_KEY),
              "4 images of 2x2, crc32 00c0ffee");
    CHECK(got_p.epoch == 2 && got_p.step == 3, "progress");
    free(gp);
    free(got_state.values);
    st_free(&loaded);
    unlink(path);
    rmdir(dir);
}

/* ---- validation: early stopping, the best weights, reduce-on-plateau ----------------------- */

static void test_val_count(void)
{
    static const struct {
        const char *text;
        int images, want; /* want -1: refused with a message containing `why` */
        const char *why;
    } cases[] = {
        {"1000", 5000, 1000, NULL},
        {"1", 2, 1, NULL},
        {"4999", 5000, 4999, NULL},
        {"0.1", 5000, 500, NULL},
        {"0.1", 60000, 6000, NULL},
        {".25", 10, 3, NULL},             /* 2.5 rounds away from zero */
        {"0.3", 7, 2, NULL},              /* 2.1 */
        {"0.999", 1000, 999, NULL},
        {"0.9999", 1000, -1, "hold out at most 999"}, /* rounds to the whole set */
        {"0.0001", 1000, -1, "rounds to none"},
        {"5000", 5000, -1, "the training set has 5000 images (after --train-limit): hold out at most 4999"},
        {"70000", 60000, -1, "hold out at most 59999"},
        {"99999999999", 60000, -1, "hold out at most 59999"},
        {"0", 5000, -1, "at least 1 image"},
        {"1.0", 5000, -1, "strictly between 0 and 1"},
        {"0.0", 5000, -1, "strictly between 0 and 1"},
        {"1.5", 5000, -1, "strictly between 0 and 1"},
        {"", 5000, -1, "give a number of images"},
        {".", 5000, -1, "give a number of images"},
        {"-1", 5000, -1, "give a number of images"},
        {"1e3", 5000, -1, "give a number of images"},
        {"0.1.2", 5000, -1, "give a number of images"},
        {"10%", 5000, -1, "give a number of images"},
        {" 10", 5000, -1, "give a number of images"},
        /* the syntax alone (before the data is read) */
        {"70000", INT_MAX, 70000, NULL},
        {"0.5", INT_MAX, 0, NULL},
        {"0", INT_MAX, -1, "at least 1 image"},
        {"99999999999", INT_MAX, -1, "too many images"},
        {"2.5", INT_MAX, -1, "strictly between 0 and 1"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        mc_error err = {{0}};
        int got = -7;
        mc_status st = policy_val_count(cases[k].text, cases[k].images, &got, &err);
        if (cases[k].want >= 0)
            CHECK(st == MC_OK && got == cases[k].want, "--val '%s' of %d: status %d, %d (want %d): %s",
                  cases[k].text, cases[k].images, (int)st, got, cases[k].want, err.msg);
        else
            CHECK(st == MC_ERR_USAGE && strstr(err.msg, cases[k].why) &&
                      strncmp(err.msg, "--val ", 6) == 0 && got == -7,
                  "--val '%s' of %d: status %d, '%s' (want /%s/)", cases[k].text,
                  cases[k].images, (int)st, err.msg, cases[k].why);
    }
}

static void test_parse_plateau(void)
{
    static const struct {
        const char *text;
        double factor; /* 0: refused with `why` */
        int patience;
        const char *why;
    } cases[] = {
        {"0.5", 0.5, POLICY_PLATEAU_PATIENCE, NULL},
        {"0.1:3", 0.1, 3, NULL},
        {"0.1:0", 0.1, 0, NULL},
        {".5:1000000", 0.5, 1000000, NULL},
        {"5e-1", 0.5, 2, NULL},
        {"1", 0, 0, "strictly between 0 and 1"},
        {"0", 0, 0, "strictly between 0 and 1"},
        {"1.5:2", 0, 0, "strictly between 0 and 1"},
        {"-0.5", 0, 0, "strictly between 0 and 1"},
        {"nan", 0, 0, "strictly between 0 and 1"},
        {"inf", 0, 0, "strictly between 0 and 1"},
        {"", 0, 0, "strictly between 0 and 1"},
        {":2", 0, 0, "strictly between 0 and 1"},
        {"0.5:", 0, 0, "the patience must be an integer"},
        {"0.5:-1", 0, 0, "the patience must be an integer"},
        {"0.5:1.5", 0, 0, "the patience must be an integer"},
        {"0.5:1000001", 0, 0, "the patience must be an integer"},
        {"0.5:2:3", 0, 0, "the patience must be an integer"},
        {"0.5 ", 0, 0, "strictly between 0 and 1"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        mc_error err = {{0}};
        double f = -1;
        int pat = -1;
        mc_status st = policy_parse_plateau(cases[k].text, &f, &pat, &err);
        if (cases[k].factor > 0)
            CHECK(st == MC_OK && f == cases[k].factor && pat == cases[k].patience,
                  "--plateau '%s': status %d, %g:%d: %s", cases[k].text, (int)st, f, pat, err.msg);
        else
            CHECK(st == MC_ERR_USAGE && strstr(err.msg, cases[k].why) &&
                      strncmp(err.msg, "--plateau", 9) == 0 && f == -1 && pat == -1,
                  "--plateau '%s': status %d, '%s' (want /%s/)", cases[k].text, (int)st, err.msg,
                  cases[k].why);
    }
}

static void test_val_rules(void)
{
    CHECK(policy_val_improved(0.5, INFINITY), "the first loss improves on none");
    CHECK(policy_val_improved(0.5, 0.6), "lower improves");
    CHECK(!policy_val_improved(0.5, 0.5), "equal does not (threshold 0, strict)");
    CHECK(!policy_val_improved(0.6, 0.5), "higher does not");
    CHECK(!policy_val_improved(NAN, INFINITY) && !policy_val_improved(NAN, 0.5),
          "NaN never improves");
    CHECK(!policy_val_improved(INFINITY, INFINITY), "infinity does not improve on none");
    CHECK(policy_val_improved(nextafter(0.5, 0), 0.5), "the next double down improves");
    CHECK(!policy_patience_exhausted(100, 0), "patience 0: no early stopping");
    CHECK(!policy_patience_exhausted(0, 1) && policy_patience_exhausted(1, 1), "patience 1");
    CHECK(!policy_patience_exhausted(2, 3) && policy_patience_exhausted(3, 3) &&
              policy_patience_exhausted(4, 3),
          "patience 3: the third bad epoch stops");
    CHECK(!policy_plateau_due(2, 2) && policy_plateau_due(3, 2),
          "plateau patience 2: the third bad epoch (PyTorch's num_bad_epochs > patience)");
    CHECK(!policy_plateau_due(0, 0) && policy_plateau_due(1, 0), "plateau patience 0");
    CHECK(policy_plateau_scale(1.0f, 0.1) == 0.1f, "1 x 0.1");
    CHECK(policy_plateau_scale(0.1f, 0.1) == 0.1f * 0.1f, "0.1 x 0.1 in float");
    CHECK(policy_plateau_scale(0.5f, 0.5) == 0.25f, "0.5 x 0.5");
    policy_val_state s = policy_val_start();
    CHECK(s.best_epoch == 0 && isinf(s.best_loss) && s.bad_epochs == 0 && s.plateau_bad == 0 &&
              s.lr_scale == 1.0f,
          "the start");

    /* sequences of validation losses and what each epoch decides: I a new best, R the rate
       reduced, S early stop, . nothing */
    static const struct {
        const char *what;
        int early_stop;
        double factor;
        int patience;
        int n;
        double loss[8];
        const char *want;
        int best_epoch, bad, plateau_bad;
        float scale;
    } cases[] = {
        {"falling", 2, 0, 2, 4, {1, 0.9, 0.8, 0.7}, "I I I I", 4, 0, 0, 1.0f},
        {"early stop 2", 2, 0, 2, 5, {1, 0.9, 0.95, 0.95, 0.8}, "I I . S I", 5, 0, 0, 1.0f},
        {"early stop 1", 1, 0, 2, 3, {1, 1.1, 0.5}, "I S I", 3, 0, 0, 1.0f},
        {"equal is no improvement", 1, 0, 2, 2, {1, 1}, "I S", 1, 1, 1, 1.0f},
        {"no early stop", 0, 0, 2, 4, {1, 2, 3, 4}, "I . . .", 1, 3, 3, 1.0f},
        {"plateau 0.5:2", 0, 0.5, 2, 7, {1, 1.1, 1.2, 1.3, 1.4, 1.5, 1.6}, "I . . R . . R", 1, 6,
         0, 0.25f},
        {"plateau patience 0", 0, 0.1, 0, 3, {1, 2, 3}, "I R R", 1, 2, 0, 0.1f * 0.1f},
        {"a best resets the plateau", 0, 0.5, 1, 5, {1, 2, 0.5, 0.6, 0.7}, "I . I . R", 3, 2, 0,
         0.5f},
        {"a reduction restarts its count", 0, 0.5, 1, 6, {1, 2, 2, 2, 2, 0.1}, "I . R . R I", 6,
         0, 0, 0.25f},
        {"both", 3, 0.1, 1, 4, {1, 2, 3, 4}, "I . R S", 1, 3, 1, 0.1f},
        {"both at once", 3, 0.1, 2, 4, {1, 2, 3, 4}, "I . . RS", 1, 3, 0, 0.1f},
        {"NaN first", 1, 0, 2, 2, {NAN, 1}, "S I", 2, 0, 0, 1.0f},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        s = policy_val_start();
        char got[64] = "";
        for (int e = 0; e < cases[k].n; e++) {
            policy_val_decision d = policy_val_epoch(&s, e + 1, cases[k].loss[e], 0.5 + e / 100.0,
                                                     cases[k].early_stop, cases[k].factor,
                                                     cases[k].patience);
            char word[8];
            snprintf(word, sizeof word, "%s%s%s%s", d.improved ? "I" : "", d.reduced ? "R" : "",
                     d.stop ? "S" : "", d.improved || d.reduced || d.stop ? "" : ".");
            if (e)
                strcat(got, " ");
            strcat(got, word);
        }
        check_str(cases[k].what, got, cases[k].want);
        CHECK(s.best_epoch == cases[k].best_epoch && s.bad_epochs == cases[k].bad &&
                  s.plateau_bad == cases[k].plateau_bad && s.lr_scale == cases[k].scale,
              "%s: best epoch %d, bad %d, plateau bad %d, scale %g", cases[k].what, s.best_epoch,
              s.bad_epochs, s.plateau_bad, (double)s.lr_scale);
        if (s.best_epoch > 0)
            CHECK(s.best_loss == cases[k].loss[s.best_epoch - 1] &&
                      s.best_accuracy == 0.5 + (s.best_epoch - 1) / 100.0,
                  "%s: the best epoch's loss and accuracy", cases[k].what);
    }
}

static void test_val_meta(void)
{
    policy_val_state s = policy_val_start();
    policy_val_epoch(&s, 1, 0.3, 0.91, 0, 0.5, 1);
    policy_val_epoch(&s, 2, 0.1 + 0.2, 0.92, 0, 0.5, 1); /* 0.30000000000000004: worse */
    policy_val_epoch(&s, 3, 0.4, 0.90, 0, 0.5, 1);        /* reduced */
    CHECK(s.best_epoch == 1 && s.bad_epochs == 2 && s.plateau_bad == 0 && s.lr_scale == 0.5f,
          "the state to write");
    st_meta m[POLICY_VAL_META_MAX];
    int n = policy_val_state_to_meta(&s, 1, m);
    static const char *const want[][2] = {
        {"val.best_epoch", "1"}, {"val.best_loss", "0.29999999999999999"},
        {"val.best_accuracy", "0.91000000000000003"},
        {"val.epochs_without_improvement", "2"}, {"plateau.lr_scale", "0.5"},
        {"plateau.bad_epochs", "0"}};
    CHECK(n == 6, "6 keys with --plateau: %d", n);
    for (int i = 0; i < n && i < 6; i++) {
        check_str("key", m[i].key, want[i][0]);
        check_str(want[i][0], m[i].value, want[i][1]);
    }
    CHECK(policy_val_state_to_meta(&s, 0, m) == 4, "4 without --plateau");
    policy_val_state none = policy_val_start();
    none.bad_epochs = 1; /* a NaN first epoch */
    CHECK(policy_val_state_to_meta(&none, 0, m) == 2 && strcmp(m[1].key, POLICY_KEY_BAD_EPOCHS) == 0,
          "no best: no loss or accuracy");

    /* read back: exact */
    mc_error err = {{0}};
    n = policy_val_state_to_meta(&s, 1, m);
    set_file(m, n);
    policy_val_state got;
    CHECK(policy_val_state_from_meta(&file, "c.ckpt", 3, 1, 1, &got, &err) == MC_OK, "%s", err.msg);
    CHECK(got.best_epoch == 1 && got.best_loss == 0.3 && got.best_accuracy == 0.91 &&
              got.bad_epochs == 2 && got.plateau_bad == 0 && got.lr_scale == 0.5f,
          "read back exactly");
    s.lr_scale = 0.1f * 0.1f * 0.1f;
    n = policy_val_state_to_meta(&s, 1, m);
    set_file(m, n);
    CHECK(policy_val_state_from_meta(&file, "c.ckpt", 3, 1, 1, &got, &err) == MC_OK &&
              got.lr_scale == s.lr_scale,
          "a float multiplier reads back exactly");
    set_file(m, 4); /* no plateau keys: read without --plateau, the multiplier is 1 */
    CHECK(policy_val_state_from_meta(&file, "c.ckpt", 3, 0, 2, &got, &err) == MC_OK &&
              got.lr_scale == 1.0f,
          "without --plateau the multiplier is 1");

    /* refusals: one key changed at a time */
    static const struct {
        const char *key, *value; /* NULL value: the key left out */
        int finished;
        const char *why;
    } bad[] = {
        {NULL, NULL, 2, "val.epochs_without_improvement = '2' is not"}, /* 2 epochs, bad 2 */
        {"val.best_epoch", NULL, 3, "val.best_epoch is missing"},
        {"val.best_epoch", "4", 3, "val.best_epoch = '4' is not what a run of 3"},
        {"val.best_epoch", "-1", 3, "val.best_epoch = '-1'"},
        {"val.best_epoch", "1x", 3, "val.best_epoch = '1x'"},
        {"val.best_loss", NULL, 3, "val.best_loss is missing"},
        {"val.best_loss", "nan", 3, "val.best_loss = 'nan'"},
        {"val.best_loss", "-0.5", 3, "val.best_loss = '-0.5'"},
        {"val.best_loss", "1e999", 3, "val.best_loss = '1e999'"},
        {"val.best_accuracy", "1.5", 3, "val.best_accuracy = '1.5'"},
        {"val.epochs_without_improvement", "1", 3, "val.epochs_without_improvement = '1'"},
        {"val.epochs_without_improvement", NULL, 3, "val.epochs_without_improvement is missing"},
        {"plateau.lr_scale", "0", 3, "plateau.lr_scale = '0'"},
        {"plateau.lr_scale", "1.5", 3, "plateau.lr_scale = '1.5'"},
        {"plateau.lr_scale", NULL, 3, "plateau.lr_scale is missing"},
        {"plateau.bad_epochs", "2", 3, "plateau.bad_epochs = '2'"}, /* above patience 1 */
        {"plateau.bad_epochs", NULL, 3, "plateau.bad_epochs is missing"},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        n = policy_val_state_to_meta(&s, 1, m);
        memset(&file, 0, sizeof file);
        for (int i = 0; i < n; i++) {
            if (bad[k].key && strcmp(m[i].key, bad[k].key) == 0) {
                if (bad[k].value)
                    st_meta_add(&file, m[i].key, bad[k].value);
            } else {
                st_meta_add(&file, m[i].key, m[i].value);
            }
        }
        got = policy_val_start();
        got.best_epoch = 77;
        mc_status st = policy_val_state_from_meta(&file, "c.ckpt", bad[k].finished, 1, 1, &got, &err);
        CHECK(st == MC_ERR_DATA && strncmp(err.msg, "c.ckpt: ", 8) == 0 && strstr(err.msg, bad[k].why) &&
                  got.best_epoch == 77,
              "%s = %s: status %d, '%s' (want /%s/)", bad[k].key ? bad[k].key : "(all)",
              bad[k].value ? bad[k].value : "(none)", (int)st, err.msg, bad[k].why);
    }
}

int main(void)
{
    test_limits();
    test_values_insane();
    test_state_diverged();
    test_divergence_reason();
    test_divergence_message();
    test_images_and_mean();
    test_checkpoint_schedule();
    test_next_slice();
    test_epoch_end_and_shown();
    test_stop();
    test_fingerprint();
    test_resume_progress();
    test_resume_epochs();
    test_settings_table();
    test_hex();
    test_settings_to_meta();
    test_settings_from_meta();
    test_checkpoint_round_trip();
    test_val_count();
    test_parse_plateau();
    test_val_rules();
    test_val_meta();
    return test_exit_code();
}
