/*
 * reduce.cl: the per-pass loss and accuracy sums.
 * sum_stats: loss_sum = sum_i loss[i], correct_sum = sum_i correct[i], i < n
 *            one work-group of SUM_WG work-items: strided partial sums, then a tree in local
 *            memory. Must be launched with global = local = SUM_WG, a build option the
 *            host always passes (DEFAULT_SUM_WG in kernel_interface.h, or less).
 */
#ifndef SUM_WG
#error "SUM_WG is a build option the host always passes (kernel_interface.h)"
#endif

/* loss_sum = sum loss[0..n), correct_sum = sum correct[0..n) (see above) */
kernel __attribute__((reqd_work_group_size(SUM_WG, 1, 1))) void
sum_stats(global float *loss_sum, int loss_sum_off, global int *correct_sum, int correct_sum_off,
          global const float *loss, int loss_off, global const int *correct, int correct_off,
          int n)
{
    local float ls[SUM_WG];
    local int cs[SUM_WG];
    int t = get_local_id(0);
    float l = 0.0f;
    int c = 0;
    for (int i = t; i < n; i += SUM_WG) {
        l += loss[loss_off + i];
        c += correct[correct_off + i];
    }
    ls[t] = l;
    cs[t] = c;
    barrier(CLK_LOCAL_MEM_FENCE);
    for (int stride = SUM_WG / 2; stride > 0; stride /= 2) {
        if (t < stride) {
            ls[t] += ls[t + stride];
            cs[t] += cs[t + stride];
        }
        barrier(CLK_LOCAL_MEM_FENCE);
    }
    if (t == 0) {
        loss_sum[loss_sum_off] = ls[0];
        correct_sum[correct_sum_off] = cs[0];
    }
}
