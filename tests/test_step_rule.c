/*
 * The update rules and learning-rate schedules against values computed independently:
 *   - schedule_lr (kernels/step_rule.h) for each schedule at chosen steps against
 *     PyTorch 1.13's torch.optim.lr_scheduler (OneCycleLR, CosineAnnealingLR, StepLR,
 *     stepped once per training step) and against the warm-up's formula by hand;
 *   - three steps of each update rule (sgd with momentum and decay, nesterov, adam with
 *     decay, adamw) on three parameters with fixed gradients, on the CPU reference and the
 *     OpenCL device, against torch.optim.SGD / Adam / AdamW's results (printed by PyTorch
 *     1.13 in float32; the script is in the comment of torch_steps below).
 * Tolerances: schedules 1e-6 relative (float arithmetic against double); parameters 1e-6
 * relative plus 1e-7 absolute (PyTorch rounds every intermediate to float, the reference
 * computes in double, the device in float in another order).
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "test_util.h"

/* Checks schedule_lr(kind, ...) at step t against want (relative 1e-6). */
static void check_lr(const char *what, int kind, float lr, float final_lr, int total, int warmup,
                     int every, float gamma, int t, double want)
{
    float got = schedule_lr(kind, lr, final_lr, total, warmup, every, gamma, t);
    if (!(fabs(got - want) <= 1e-6 * fabs(want) + 1e-12))
        test_fail("%s at step %d: %.9g, want %.9g", what, t, got, want);
}

static void test_schedules(void)
{
    /* OneCycleLR(max_lr=0.1, total_steps=100) (pct_start 0.3, div 25, final div 1e4) */
    const struct {
        int t;
        double lr;
    } onecycle[] = {{0, 0.004},
                    {1, 0.004281378056590748},
                    {15, 0.05459866761210004},
                    {29, 0.1},
                    {30, 0.09994965352845243},
                    {31, 0.09979871550490317},
                    {60, 0.05892800902855288},
                    {99, 4e-07}},
      cosine[] = {{0, 0.1},
                  {25, 0.08550178566873408},
                  {50, 0.050499999999999975},
                  {75, 0.015498214331265893},
                  {99, 0.0010244252618962857},
                  {100, 0.001}},
      step[] = {{0, 0.1}, {9, 0.1}, {10, 0.05}, {25, 0.025}, {39, 0.0125}};
    for (size_t i = 0; i < sizeof onecycle / sizeof onecycle[0]; i++)
        check_lr("onecycle", SCHEDULE_ONECYCLE, 0.1f, 0, 100, 0, 0, 0, onecycle[i].t,
                 onecycle[i].lr);
    /* CosineAnnealingLR(T_max=100, eta_min=0.001) */
    for (size_t i = 0; i < sizeof cosine / sizeof cosine[0]; i++)
        check_lr("cosine", SCHEDULE_COSINE, 0.1f, 0.001f, 100, 0, 0, 0, cosine[i].t,
                 cosine[i].lr);
    /* StepLR(step_size=10, gamma=0.5) */
    for (size_t i = 0; i < sizeof step / sizeof step[0]; i++)
        check_lr("step", SCHEDULE_STEP, 0.1f, 0, 100, 0, 10, 0.5f, step[i].t, step[i].lr);
    /* constant is the rate itself, to the bit */
    if (schedule_lr(SCHEDULE_CONSTANT, 0.05f, 0, 1000, 0, 0, 0, 777) != 0.05f)
        test_fail("constant schedule: not exactly lr");
    /* warm-up of 10 steps: lr (t + 1) / 10, then the schedule over the other 90 steps */
    check_lr("warm-up", SCHEDULE_CONSTANT, 0.1f, 0, 100, 10, 0, 0, 0, 0.01);
    check_lr("warm-up", SCHEDULE_CONSTANT, 0.1f, 0, 100, 10, 0, 0, 4, 0.05);
    check_lr("warm-up", SCHEDULE_CONSTANT, 0.1f, 0, 100, 10, 0, 0, 9, 0.1);
    check_lr("warm-up", SCHEDULE_CONSTANT, 0.1f, 0, 100, 10, 0, 0, 50, 0.1);
    check_lr("warm-up + cosine", SCHEDULE_COSINE, 0.1f, 0, 100, 10, 0, 0, 55, 0.05);
    check_lr("warm-up + cosine", SCHEDULE_COSINE, 0.1f, 0, 100, 10, 0, 0, 100, 0.0);
    check_lr("warm-up + step", SCHEDULE_STEP, 0.1f, 0, 100, 10, 20, 0.1f, 29, 0.1);
    check_lr("warm-up + step", SCHEDULE_STEP, 0.1f, 0, 100, 10, 20, 0.1f, 30, 0.01);
    /* one-cycle with the rising phase given: 10 steps up, peak at step 9 */
    check_lr("onecycle rising 10", SCHEDULE_ONECYCLE, 0.1f, 0, 100, 10, 0, 0, 9, 0.1);
    check_lr("onecycle rising 10", SCHEDULE_ONECYCLE, 0.1f, 0, 100, 10, 0, 0, 99, 4e-7);
    /* Adam's corrections, 1 - b^t, against double arithmetic on the same float betas (the
       float 0.999f itself is 1.3e-8 above 0.999, which moves 1 - 0.999^t by up to 1.3e-5
       relative from PyTorch's double 0.999: the parameters, below, stay within 1e-6) */
    const float betas[] = {0.0f, 0.5f, 0.8f, 0.9f, 0.99f, 0.999f, 0.9999f};
    const int steps[] = {0, 1, 2, 3, 9, 99, 999, 16383, 100000, 2000000000};
    for (size_t i = 0; i < sizeof betas / sizeof betas[0]; i++)
        for (size_t k = 0; k < sizeof steps / sizeof steps[0]; k++) {
            double want = 1.0 - pow((double)betas[i], steps[k] + 1.0);
            float got = step_rule_one_minus_pow(betas[i], steps[k] + 1);
            if (!(fabs(got - want) <= 1e-6 * want))
                test_fail("1 - %g^%d: %.9g, want %.9g", betas[i], steps[k] + 1, got, want);
        }
    float ss = adam_step_size(0.01f, 0.9f, 3), bc2 = adam_bc2_sqrt(0.999f, 3);
    double b1 = 1.0 - pow((double)0.9f, 4), b2 = sqrt(1.0 - pow((double)0.999f, 4));
    if (fabs(ss - 0.01f / b1) > 1e-6 * (0.01f / b1) || fabs(bc2 - b2) > 1e-6 * b2)
        test_fail("adam corrections at step 3: %.9g, %.9g (want %.9g, %.9g)", ss, bc2,
                  0.01f / b1, b2);
}

/*
 * torch_steps: PyTorch 1.13, float32, parameters [1, -0.5, 0.25], gradients g1, g2, g3:
 *   p = torch.nn.Parameter(torch.tensor([1.0, -0.5, 0.25])); o = OPT([p], ...)
 *   for g in grads: p.grad = g.clone(); o.step(); print(p.tolist())
 */
static const float grads[3][3] = {{0.5f, -1.0f, 2.0f}, {0.25f, 0.5f, -1.5f}, {-0.75f, 1.0f, 0.125f}};
static const struct {
    const char *name; /* the torch.optim call */
    update_rule rule;
    float want[3][3]; /* the parameters after each step */
} torch_steps[] = {
    {"SGD(lr=0.1, momentum=0.9, weight_decay=0.01)",
     {.kind = UPDATE_SGD, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f},
     {{0.9490000009536743f, -0.3995000123977661f, 0.04974999278783798f},
      {0.8771510124206543f, -0.3586505055427551f, 0.019475243985652924f},
      {0.8866097331047058f, -0.42152729630470276f, -0.020291507244110107f}}},
    {"SGD(lr=0.1, momentum=0.9, weight_decay=0.01, nesterov=True)",
     {.kind = UPDATE_NESTEROV, .lr = 0.1f, .momentum = 0.9f, .weight_decay = 0.01f},
     {{0.9031000137329102f, -0.3090499937534332f, -0.1304749995470047f},
      {0.8125741481781006f, -0.3220578134059906f, -0.007429600693285465f},
      {0.8953697681427002f, -0.4784310758113861f, -0.055542051792144775f}}},
    {"Adam(lr=0.01, weight_decay=0.01)",
     {.kind = UPDATE_ADAM, .lr = 0.01f, .weight_decay = 0.01f, .beta1 = 0.9f, .beta2 = 0.999f,
      .eps = 1e-8f},
     {{0.9900000095367432f, -0.49000000953674316f, 0.23999999463558197f},
      {0.9806504845619202f, -0.48727965354919434f, 0.2390930950641632f},
      {0.981286883354187f, -0.48995253443717957f, 0.23806768655776978f}}},
    {"AdamW(lr=0.01, weight_decay=0.1, betas=(0.8, 0.99), eps=1e-6)",
     {.kind = UPDATE_ADAMW, .lr = 0.01f, .weight_decay = 0.1f, .beta1 = 0.8f, .beta2 = 0.99f,
      .eps = 1e-6f},
     {{0.9890000224113464f, -0.4895000159740448f, 0.23975001275539398f},
      {0.9788618087768555f, -0.48689913749694824f, 0.23919577896595f},
      {0.9796252250671387f, -0.4900088310241699f, 0.23837336897850037f}}},
};

/* Three steps of each rule on be, the step values from update_rule_at at a constant rate. */
static void test_rules(backend *be)
{
    for (size_t k = 0; k < sizeof torch_steps / sizeof torch_steps[0]; k++) {
        float p[3] = {1.0f, -0.5f, 0.25f}, zeros[6] = {0};
        buf *bp = upload_f32(be, p, 3), *bs = upload_f32(be, zeros, 6), *bg = NULL;
        update_rule rule = torch_steps[k].rule;
        rule.moment2 = 3;
        lr_schedule constant = {.kind = SCHEDULE_CONSTANT, .lr = rule.lr, .scale = 1.0f};
        for (int t = 0; t < 3; t++) {
            bg = upload_f32(be, grads[t], 3);
            update_args a = {bref_at(bp, 0), bref_at(bg, 0), bref_at(bs, 0), 3,
                             update_rule_at(rule, &constant, t)};
            if (be->ops->update(be, &a)) {
                test_fail("%s on %s: update failed", torch_steps[k].name, be->name);
                break;
            }
            download_f32(be, bp, p, 3);
            be->ops->release(be, bg);
            char what[160];
            snprintf(what, sizeof what, "%s step %d on %s", torch_steps[k].name, t + 1,
                     backend_is_opencl(be) ? "OpenCL" : "the reference");
            check_close(what, p, torch_steps[k].want[t], 3, 1e-7, 1e-6);
        }
        be->ops->release(be, bp);
        be->ops->release(be, bs);
    }
}

int main(void)
{
    test_schedules();
    backend *cpu = backend_cpu_create();
    test_rules(cpu);
    backend_destroy(cpu);
    backend *cl = test_open_opencl();
    test_rules(cl);
    backend_destroy(cl);
    return test_exit_code();
}
