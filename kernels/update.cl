/*
 * update.cl: optimizer steps over the flat parameter buffer, one work-item per parameter.
 * sgd (PyTorch's convention):
 *   g = grad + weight_decay * p
 *   v = momentum * v + g        (skipped when use_momentum == 0; then v = g)
 *   p = p - lr * v
 */
kernel void sgd_update(global float *params, int p_off, global const float *grads, int g_off,
                       global float *velocity, int v_off, int use_momentum, int n, float lr,
                       float momentum, float weight_decay)
{
    int i = get_global_id(0);
    if (i >= n)
        return;
    float p = params[p_off + i];
    float g = grads[g_off + i] + weight_decay * p;
    if (use_momentum) {
        g = momentum * velocity[v_off + i] + g;
        velocity[v_off + i] = g;
    }
    params[p_off + i] = p - lr * g;
}
