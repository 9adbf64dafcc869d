/*
 * update.cl: optimizer steps over the flat parameter buffer.
 * sgd (PyTorch's convention):
 *   g = grad + weight_decay * p
 *   v = momentum * v + g        (skipped when use_momentum == 0; then v = g)
 *   p = p - lr * v
 * Each work-item updates 16 consecutive parameters (float16; the last one fewer), global
 * size ceil(n / 16).
 */
kernel void sgd_update(global float *params, int p_off, global const float *grads, int g_off,
                       global float *velocity, int v_off, int use_momentum, int n, float lr,
                       float momentum, float weight_decay)
{
    int i = get_global_id(0) * 16;
    if (i >= n)
        return;
    if (i + 16 <= n) {
        float16 p = vload16(0, params + p_off + i);
        float16 g = vload16(0, grads + g_off + i) + weight_decay * p;
        if (use_momentum) {
            g = momentum * vload16(0, velocity + v_off + i) + g;
            STORE16(g, velocity + v_off + i);
        }
        STORE16(p - lr * g, params + p_off + i);
        return;
    }
    for (; i < n; i++) {
        float p = params[p_off + i];
        float g = grads[g_off + i] + weight_decay * p;
        if (use_momentum) {
            g = momentum * velocity[v_off + i] + g;
            velocity[v_off + i] = g;
        }
        params[p_off + i] = p - lr * g;
    }
}
