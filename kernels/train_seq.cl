/*
 * train_seq.cl: per-sample training (batch 1) fused into one launch, for the seed 000 style of
 * training where one kernel launch per operation would cost more than the arithmetic.
 * One work-group runs `count` images strictly in order; for image n (index[start + n]):
 *   a_0     = pixels / 255
 *   a_{l+1} = act_l(a_l · W_l + b_l)                          (identity on the last layer)
 *   delta_L = o - onehot(y), o = softmax(a_L) or sigmoid(a_L)  (loss, hit -> stats)
 *   for l = L-1 .. 0:
 *     delta_l = (delta_{l+1} · W_lᵀ) ⊙ act'(a_l)     (l >= 1, with W_l before its update)
 *     W_l, b_l updated by the rule with gradients a_lᵀ · delta_{l+1} and delta_{l+1}
 *       (update_one, update.cl, with the rule's values at the image's step of the run;
 *        SGD: g = grad + wd W_l;  v = mu v + g (mu != 0);  W_l -= lr v)
 * the same arithmetic as a batch-1 step of the general path (backend_ops.h,
 * sequential_args).
 *
 * Zero inputs: when a_l[i] == 0 the row i adds nothing to a_{l+1} and its weight gradient
 * is 0, so where the rule leaves parameters alone on a zero gradient
 * (update_zero_grad_is_noop: plain SGD, mu = wd = 0) the row is skipped: bit-identical for
 * finite weights, and about 80% of MNIST pixels are 0. `sparse` says whether skipping is
 * allowed; those plain-SGD loops compute p - lr * (x * d), update_one's arithmetic for
 * mu = wd = 0 without its + 0 * p.
 *
 * The input's nonzero pixels come from a list made once per data set (sparse_pixels:
 * (index << 8) | value words, image i at [sparse_offsets[i * PIXEL_BANDS],
 * sparse_offsets[(i + 1) * PIXEL_BANDS]); see pixel_lists in backend_ops.h) when
 * has_sparse is set, else from a scan of the image.
 *
 * SEQ_WG work-items per group (a build option the host always passes: DEFAULT_SEQ_WG_*
 * in kernel_interface.h). SEQ_WG == 1 (CPU devices): loops run along
 * contiguous rows of W so the compiler vectorises them. SEQ_WG > 1 (GPUs): work-items
 * split the units of a layer, or the elements of W in the update.
 * scratch: for l = 0..L, a_l (sizes[l] floats) then delta_l (sizes[l] floats).
 */
#ifndef SEQ_WG
#error "SEQ_WG is a build option the host always passes (kernel_interface.h)"
#endif
#if SEQ_MAX_LAYERS != 4
#error "train_sequential takes the layer sizes as s0 .. s4: SEQ_MAX_LAYERS must be 4"
#endif
#define SEQ_FENCE (CLK_GLOBAL_MEM_FENCE | CLK_LOCAL_MEM_FENCE)

/* a_out = act(a_in · W + b) for one layer */
inline void seq_dense_forward(global const float *a_in, int in, int out, global const float *W,
                              global const float *b, int act, global float *a_out)
{
#if SEQ_WG == 1
    /* 16 columns at a time in one float16 register; the last out % 16 one by one */
    int j0 = 0;
    for (; j0 + 16 <= out; j0 += 16) {
        float16 acc = vload16(0, b + j0);
        for (int i = 0; i < in; i++) {
            float x = a_in[i];
            if (x != 0.0f) /* adds +-0: exact for finite W */
                acc = fma((float16)x, vload16(0, W + i * out + j0), acc);
        }
        STORE16(act_apply16(act, acc), a_out + j0);
    }
    for (int j = j0; j < out; j++) {
        float acc = b[j];
        for (int i = 0; i < in; i++) {
            float x = a_in[i];
            if (x != 0.0f)
                acc = fma(x, W[i * out + j], acc);
        }
        a_out[j] = act_apply(act, acc);
    }
#else
    for (int j = get_local_id(0); j < out; j += SEQ_WG) {
        float z = b[j];
        for (int i = 0; i < in; i++) {
            float x = a_in[i];
            if (x != 0.0f)
                z = fma(x, W[i * out + j], z);
        }
        a_out[j] = act_apply(act, z);
    }
#endif
}

#if SEQ_WG == 1
/* First layer from the image's nonzero pixels only: a_out = act(sum_k val_k W[idx_k] + b) */
inline void seq_sparse_forward(global const float *val, global const int *idx, int nnz, int out,
                               global const float *W, global const float *b, int act,
                               global float *a_out)
{
    /* sums over the nonzero pixels, 16, then 4, then 1 column at a time in registers;
       two accumulators halve the FMA latency chain of the wide part */
    int j0 = 0;
    for (; j0 + 16 <= out; j0 += 16) {
        float16 acc0 = (float16)0.0f, acc1 = (float16)0.0f;
        int k = 0;
        for (; k + 2 <= nnz; k += 2) {
            acc0 = fma((float16)val[k], vload16(0, W + idx[k] * out + j0), acc0);
            acc1 = fma((float16)val[k + 1], vload16(0, W + idx[k + 1] * out + j0), acc1);
        }
        if (k < nnz)
            acc0 = fma((float16)val[k], vload16(0, W + idx[k] * out + j0), acc0);
        STORE16(acc0 + acc1, a_out + j0);
    }
    for (; j0 + 4 <= out; j0 += 4) {
        float4 acc = (float4)0.0f;
        for (int k = 0; k < nnz; k++)
            acc = fma((float4)val[k], vload4(0, W + idx[k] * out + j0), acc);
        vstore4(acc, 0, a_out + j0);
    }
    for (; j0 < out; j0++) {
        float acc = 0.0f;
        for (int k = 0; k < nnz; k++)
            acc = fma(val[k], W[idx[k] * out + j0], acc);
        a_out[j0] = acc;
    }
    for (int j = 0; j < out; j++)
        a_out[j] = act_apply(act, a_out[j] + b[j]);
}

/* Plain-SGD update of the first layer's rows of nonzero pixels (the others get 0). */
inline void seq_sparse_update(global const float *val, global const int *idx, int nnz,
                              global const float *delta_out, int out, global float *W, float lr)
{
    int j0 = 0;
    for (; j0 + 16 <= out; j0 += 16) {
        float16 d = vload16(0, delta_out + j0);
        for (int k = 0; k < nnz; k++) {
            global float *p = W + idx[k] * out + j0;
            STORE16(vload16(0, p) - lr * (val[k] * d), p);
        }
    }
    for (; j0 + 4 <= out; j0 += 4) {
        float4 d = vload4(0, delta_out + j0);
        for (int k = 0; k < nnz; k++) {
            global float *p = W + idx[k] * out + j0;
            vstore4(vload4(0, p) - lr * (val[k] * d), 0, p);
        }
    }
    for (; j0 < out; j0++) {
        float d = delta_out[j0];
        for (int k = 0; k < nnz; k++)
            W[idx[k] * out + j0] -= lr * (val[k] * d);
    }
}
#endif

/* delta_in = (delta_out · Wᵀ) ⊙ act'(a_in), with W not yet updated */
inline void seq_delta_back(global const float *delta_out, int in, int out, global const float *W,
                           global const float *a_in, int act, global float *delta_in)
{
    for (int i = get_local_id(0); i < in; i += SEQ_WG) {
        global const float *row = W + i * out;
        float d = 0.0f;
        for (int j = 0; j < out; j++)
            d = fma(delta_out[j], row[j], d);
        delta_in[i] = d * act_grad_from_output(act, a_in[i]);
    }
}

/*
 * W and b updated by the rule (update_one, update.cl) with gradients a_inᵀ · delta_out and
 * delta_out; vW and vb are the rule's state of W and b. With `sparse` (only where
 * update_zero_grad_is_noop: plain SGD), W -= lr (a_inᵀ delta_out) skipping zero inputs.
 */
inline void seq_update(global const float *a_in, global const float *delta_out, int in, int out,
                       global float *W, global float *b, global float *vW, global float *vb,
                       int sparse, UPDATE_RULE_PARAMS)
{
#if SEQ_WG == 1
    if (sparse) { /* plain SGD: 16 columns at a time, rows of zero inputs skipped */
        int j0 = 0;
        for (; j0 + 16 <= out; j0 += 16) {
            float16 d = vload16(0, delta_out + j0);
            for (int i = 0; i < in; i++) {
                float x = a_in[i];
                if (x == 0.0f)
                    continue; /* W - lr * 0 == W exactly */
                global float *p = W + i * out + j0;
                STORE16(vload16(0, p) - lr * (x * d), p);
            }
        }
        for (int j = j0; j < out; j++) {
            float d = delta_out[j];
            for (int i = 0; i < in; i++)
                W[i * out + j] -= lr * (a_in[i] * d);
        }
    } else {
        for (int i = 0; i < in; i++)
            for (int j = 0; j < out; j++)
                update_one(&W[i * out + j], a_in[i] * delta_out[j], &vW[i * out + j],
                           UPDATE_RULE_ARGS);
    }
#else
    for (int k = get_local_id(0); k < in * out; k += SEQ_WG) {
        float x = a_in[k / out];
        if (sparse && x == 0.0f)
            continue;
        update_one(&W[k], x * delta_out[k % out], &vW[k], UPDATE_RULE_ARGS);
    }
#endif
    for (int j = get_local_id(0); j < out; j += SEQ_WG)
        update_one(&b[j], delta_out[j], &vb[j], UPDATE_RULE_ARGS);
}

/* The learning-rate schedule (lr_schedule in backend_ops.h), for schedule_lr (step_rule.h). */
#define SCHEDULE_PARAMS                                                                     \
    int sched_kind, float sched_lr, float sched_final_lr, float sched_gamma, float sched_scale, \
        int sched_total, int sched_warmup, int sched_every

/* count batch-1 training steps in order, forward, loss, backward and update (see above);
   image n trains at step first_step + n of the run, with that step's rate and (Adam) bias
   corrections, computed here as the host computes them (update_rule_at) */
kernel __attribute__((reqd_work_group_size(SEQ_WG, 1, 1))) void
train_sequential(global float *params, global float *state, global float *scratch,
                 global const uchar *images, global const uchar *labels, global const int *index,
                 int start, int count, int n_layers, int s0, int s1, int s2, int s3, int s4,
                 int hidden_act, int output, UPDATE_RULE_PARAMS, SCHEDULE_PARAMS,
                 int first_step, global float *loss,
                 global int *correct, int has_sparse, global const uint *sparse_pixels,
                 global const int *sparse_offsets)
{
    int sizes[SEQ_MAX_LAYERS + 1] = {s0, s1, s2, s3, s4};
    global float *act[SEQ_MAX_LAYERS + 1], *delta[SEQ_MAX_LAYERS + 1];
    global float *W[SEQ_MAX_LAYERS], *b[SEQ_MAX_LAYERS], *vW[SEQ_MAX_LAYERS], *vb[SEQ_MAX_LAYERS];
    int off = 0, poff = 0;
    for (int l = 0; l <= n_layers; l++) {
        act[l] = scratch + off;
        delta[l] = scratch + off + sizes[l];
        off += 2 * sizes[l];
        if (l < n_layers) {
            W[l] = params + poff, vW[l] = state + poff;
            poff += sizes[l] * sizes[l + 1];
            b[l] = params + poff, vb[l] = state + poff;
            poff += sizes[l + 1];
        }
    }
    int sparse = update_zero_grad_is_noop(UPDATE_RULE_ARGS);
    int lid = get_local_id(0), L = n_layers;
#if SEQ_WG == 1
    /* the input's nonzero pixels: values in act[0], their indices where delta[0] would be */
    global float *nz_val = act[0];
    global int *nz_idx = (global int *)delta[0];
#endif
    for (int n = 0; n < count; n++) {
        int src = index[start + n];
        /* this step's values of the rule, shadowing the (unused) arguments of that name */
        int t = first_step + n;
        float lr = schedule_lr(sched_kind, sched_lr, sched_final_lr, sched_total, sched_warmup,
                               sched_every, sched_gamma, t) *
                   sched_scale;
        int adam = rule == UPDATE_ADAM || rule == UPDATE_ADAMW;
        float step_size = adam ? adam_step_size(lr, beta1, t) : 0.0f;
        float bc2_sqrt = adam ? adam_bc2_sqrt(beta2, t) : 0.0f;
#if SEQ_WG == 1
        int nnz = 0;
        if (has_sparse) {
            int first = sparse_offsets[src * PIXEL_BANDS];
            nnz = sparse_offsets[(src + 1) * PIXEL_BANDS] - first;
            for (int k = 0; k < nnz; k++) {
                uint p = sparse_pixels[first + k];
                nz_val[k] = (float)(p & 255u) * (1.0f / 255.0f);
                nz_idx[k] = (int)(p >> 8);
            }
        } else {
            global const uchar *img = images + src * s0;
            int i = 0;
            for (; i + 16 <= s0; i += 16) { /* all-zero blocks (the borders): one test */
                if (!any(vload16(0, img + i) != (uchar16)0))
                    continue;
                for (int q = i; q < i + 16; q++) {
                    if (img[q]) {
                        nz_val[nnz] = (float)img[q] * (1.0f / 255.0f);
                        nz_idx[nnz++] = q;
                    }
                }
            }
            for (; i < s0; i++) {
                if (img[i]) {
                    nz_val[nnz] = (float)img[i] * (1.0f / 255.0f);
                    nz_idx[nnz++] = i;
                }
            }
        }
        seq_sparse_forward(nz_val, nz_idx, nnz, s1, W[0], b[0],
                           L == 1 ? ACT_IDENTITY : hidden_act, act[1]);
        for (int l = 1; l < L; l++)
            seq_dense_forward(act[l], sizes[l], sizes[l + 1], W[l], b[l],
                              l == L - 1 ? ACT_IDENTITY : hidden_act, act[l + 1]);
#else
        for (int i = lid; i < s0; i += SEQ_WG)
            act[0][i] = (float)images[src * s0 + i] * (1.0f / 255.0f);
        barrier(SEQ_FENCE);
        for (int l = 0; l < L; l++) {
            seq_dense_forward(act[l], sizes[l], sizes[l + 1], W[l], b[l],
                              l == L - 1 ? ACT_IDENTITY : hidden_act, act[l + 1]);
            barrier(SEQ_FENCE);
        }
#endif
        if (lid == 0) { /* loss_row: loss.cl */
            float l;
            int hit;
            loss_row(output, act[L], sizes[L], labels[src], 1.0f, delta[L], &l, &hit);
            loss[start + n] = l;
            correct[start + n] = hit;
        }
        barrier(SEQ_FENCE);
        for (int l = L - 1; l >= 0; l--) {
            if (l > 0) {
                seq_delta_back(delta[l + 1], sizes[l], sizes[l + 1], W[l], act[l], hidden_act,
                               delta[l]);
                barrier(SEQ_FENCE);
            }
#if SEQ_WG == 1
            if (l == 0) { /* the input is held as its nonzero pixels */
                if (sparse) {
                    seq_sparse_update(nz_val, nz_idx, nnz, delta[1], s1, W[0], lr);
                    for (int j = 0; j < s1; j++)
                        b[0][j] -= lr * delta[1][j];
                } else {
                    /* momentum or decay touch every weight: expand the list back into
                       the dense input in place. idx[k] >= k, so going backwards never
                       overwrites a value still to be read. */
                    int next = s0;
                    for (int k = nnz - 1; k >= 0; k--) {
                        int i = nz_idx[k];
                        float v = nz_val[k];
                        for (int q = i + 1; q < next; q++)
                            act[0][q] = 0.0f;
                        act[0][i] = v;
                        next = i;
                    }
                    for (int q = 0; q < next; q++)
                        act[0][q] = 0.0f;
                    seq_update(act[0], delta[1], s0, s1, W[0], b[0], vW[0], vb[0], 0,
                               UPDATE_RULE_ARGS);
                }
                continue;
            }
#endif
            seq_update(act[l], delta[l + 1], sizes[l], sizes[l + 1], W[l], b[l], vW[l], vb[l],
                       sparse, UPDATE_RULE_ARGS);
            barrier(SEQ_FENCE);
        }
    }
}
