/*
 * update.cl: the update rule (update_rule in backend_ops.h) over the flat parameter buffer.
 *   UPDATE_SGD (PyTorch's convention):
 *     g = grad + weight_decay * p
 *     v = momentum * v + g        (only when momentum != 0: v is the rule's state, else
 *                                  v = g and the state is neither read nor written)
 *     p = p - lr * v
 * A rule reaches a kernel as UPDATE_RULE_PARAMS (its kind, then its hyper-parameters), and
 * every kernel that updates parameters (param_update here, csr_backward_update in
 * sparse_input.cl, train_sequential in train_seq.cl) applies it through update_one (one
 * parameter) or update16 (16 consecutive ones), so every update computes alike and a rule
 * is written once: a new one adds its parameters to UPDATE_RULE_PARAMS and
 * UPDATE_RULE_ARGS (and to cl_rule / RULE_KARGS in backend_cl.c) and its case below.
 */
#define UPDATE_RULE_PARAMS int rule, float lr, float momentum, float weight_decay
#define UPDATE_RULE_ARGS rule, lr, momentum, weight_decay

#if PARAM_UPDATE_WIDTH != 16
#error "param_update updates one float16 per work-item: PARAM_UPDATE_WIDTH must be 16"
#endif

/*
 * Whether a zero gradient leaves every (finite) parameter and its state as they are, so a
 * kernel may skip zero gradients: plain SGD, p - lr * 0 == p (no momentum, no decay).
 */
inline int update_zero_grad_is_noop(UPDATE_RULE_PARAMS)
{
    return rule == UPDATE_SGD && momentum == 0.0f && weight_decay == 0.0f;
}

/* The rule on 16 consecutive parameters p[0..16) with gradients grad, state at state. */
inline void update16(global float *p, float16 grad, global float *state, UPDATE_RULE_PARAMS)
{
    if (rule == UPDATE_SGD) {
        float16 pv = vload16(0, p);
        float16 g = grad + weight_decay * pv;
        if (momentum != 0.0f) {
            g = momentum * vload16(0, state) + g;
            STORE16(g, state);
        }
        STORE16(pv - lr * g, p);
    }
}

/* The rule on one parameter *p with gradient grad, its state at *state. */
inline void update_one(global float *p, float grad, global float *state, UPDATE_RULE_PARAMS)
{
    if (rule == UPDATE_SGD) {
        float pv = *p;
        float g = grad + weight_decay * pv;
        if (momentum != 0.0f) {
            g = momentum * *state + g;
            *state = g;
        }
        *p = pv - lr * g;
    }
}

/*
 * param_update: params[i] updated by the rule with gradient grads[i] and state state[i],
 * i < n (each array from its offset). Each work-item takes PARAM_UPDATE_WIDTH (16)
 * consecutive parameters (the last one fewer): global size ceil(n / 16).
 */
kernel void param_update(global float *params, int p_off, global const float *grads, int g_off,
                         global float *state, int s_off, int n, UPDATE_RULE_PARAMS)
{
    int i = get_global_id(0) * PARAM_UPDATE_WIDTH;
    if (i >= n)
        return;
    if (i + PARAM_UPDATE_WIDTH <= n) {
        update16(params + p_off + i, vload16(0, grads + g_off + i), state + s_off + i,
                 UPDATE_RULE_ARGS);
        return;
    }
    for (; i < n; i++)
        update_one(params + p_off + i, grads[g_off + i], state + s_off + i, UPDATE_RULE_ARGS);
}
