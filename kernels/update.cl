/*
 * update.cl: the update rule (update_rule in backend_ops.h) over the flat parameter buffer,
 * PyTorch's formulas (torch.optim.SGD with momentum / nesterov, Adam, AdamW):
 *   UPDATE_SGD, UPDATE_NESTEROV:
 *     g = grad + weight_decay * p
 *     v = momentum * v + g        (only when momentum != 0: v is the rule's state, else
 *                                  v = g and the state is neither read nor written)
 *     p = p - lr * v              (NESTEROV: p = p - lr * (g + momentum * v))
 *   UPDATE_ADAM, UPDATE_ADAMW (m = state[i], v = state[i + moment2]):
 *     ADAMW: p = p * (1 - lr * weight_decay), g = grad;  ADAM: g = grad + weight_decay * p
 *     m = beta1 * m + (1 - beta1) * g
 *     v = beta2 * v + (1 - beta2) * g * g
 *     p = p - step_size * m / (sqrt(v) / bc2_sqrt + eps)   (the division by bc2_sqrt as a
 *       product with its reciprocal, computed once: within an ulp of PyTorch's division)
 *       with step_size = lr / (1 - beta1^t), bc2_sqrt = sqrt(1 - beta2^t) (step_rule.h)
 * A rule reaches a kernel as UPDATE_RULE_PARAMS (its kind, then its values at the step), and
 * every kernel that updates parameters (param_update here, csr_backward_update in
 * sparse_input.cl, train_sequential in train_seq.cl) applies it through update_one (one
 * parameter) or update16 (16 consecutive ones), so every update computes alike and a rule
 * is written once: a new one adds its parameters to UPDATE_RULE_PARAMS and
 * UPDATE_RULE_ARGS (and to cl_rule / RULE_KARGS in backend_cl.c) and its case below.
 */
#define UPDATE_RULE_PARAMS                                                                  \
    int rule, float lr, float momentum, float weight_decay, float beta1, float beta2,        \
        float eps, float step_size, float bc2_sqrt, int moment2
#define UPDATE_RULE_ARGS \
    rule, lr, momentum, weight_decay, beta1, beta2, eps, step_size, bc2_sqrt, moment2

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
    if (rule == UPDATE_SGD || rule == UPDATE_NESTEROV) {
        float16 pv = vload16(0, p);
        float16 g = grad + weight_decay * pv;
        if (momentum != 0.0f) {
            float16 v = momentum * vload16(0, state) + g;
            STORE16(v, state);
            g = rule == UPDATE_NESTEROV ? g + momentum * v : v;
        }
        STORE16(pv - lr * g, p);
    } else {
        float16 pv = vload16(0, p), g = grad;
        if (rule == UPDATE_ADAMW)
            pv = pv * (1.0f - lr * weight_decay);
        else
            g = g + weight_decay * pv;
        float16 m = beta1 * vload16(0, state) + (1.0f - beta1) * g;
        float16 v = beta2 * vload16(0, state + moment2) + (1.0f - beta2) * (g * g);
        STORE16(m, state);
        STORE16(v, state + moment2);
        float inv_bc2 = 1.0f / bc2_sqrt; /* a product per element, not a division */
        STORE16(pv - step_size * (m / (sqrt(v) * inv_bc2 + eps)), p);
    }
}

/* The rule on one parameter *p with gradient grad, its state at *state. */
inline void update_one(global float *p, float grad, global float *state, UPDATE_RULE_PARAMS)
{
    if (rule == UPDATE_SGD || rule == UPDATE_NESTEROV) {
        float pv = *p;
        float g = grad + weight_decay * pv;
        if (momentum != 0.0f) {
            float v = momentum * *state + g;
            *state = v;
            g = rule == UPDATE_NESTEROV ? g + momentum * v : v;
        }
        *p = pv - lr * g;
    } else {
        float pv = *p, g = grad;
        if (rule == UPDATE_ADAMW)
            pv = pv * (1.0f - lr * weight_decay);
        else
            g = g + weight_decay * pv;
        float m = beta1 * state[0] + (1.0f - beta1) * g;
        float v = beta2 * state[moment2] + (1.0f - beta2) * (g * g);
        state[0] = m;
        state[moment2] = v;
        *p = pv - step_size * (m / (sqrt(v) * (1.0f / bc2_sqrt) + eps));
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
