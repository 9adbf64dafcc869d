/*
 * update.cl: optimizer steps over the flat parameter buffer.
 * sgd (PyTorch's convention):
 *   g = grad + weight_decay * p
 *   v = momentum * v + g        (skipped when use_momentum == 0; then v = g)
 *   p = p - lr * v
 * sgd_step16 / sgd_step1 apply it to 16 consecutive parameters or one; the fused
 * backward pass of sparse_input.cl uses them too, so every update computes alike.
 * sgd_update: each work-item updates 16 consecutive parameters (the last one fewer),
 * global size ceil(n / 16).
 */
inline void sgd_step16(global float *p, float16 grad, global float *v, int use_momentum,
                       float lr, float momentum, float weight_decay)
{
    float16 pv = vload16(0, p);
    float16 g = grad + weight_decay * pv;
    if (use_momentum) {
        g = momentum * vload16(0, v) + g;
        STORE16(g, v);
    }
    STORE16(pv - lr * g, p);
}

inline void sgd_step1(global float *p, float grad, global float *v, int use_momentum, float lr,
                      float momentum, float weight_decay)
{
    float pv = *p;
    float g = grad + weight_decay * pv;
    if (use_momentum) {
        g = momentum * *v + g;
        *v = g;
    }
    *p = pv - lr * g;
}

kernel void sgd_update(global float *params, int p_off, global const float *grads, int g_off,
                       global float *velocity, int v_off, int use_momentum, int n, float lr,
                       float momentum, float weight_decay)
{
    int i = get_global_id(0) * 16;
    if (i >= n)
        return;
    if (i + 16 <= n) {
        sgd_step16(params + p_off + i, vload16(0, grads + g_off + i), velocity + v_off + i,
                   use_momentum, lr, momentum, weight_decay);
        return;
    }
    for (; i < n; i++)
        sgd_step1(params + p_off + i, grads[g_off + i], velocity + v_off + i, use_momentum, lr,
                  momentum, weight_decay);
}
