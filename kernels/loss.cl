/*
 * loss.cl: the output layer, its loss and the output delta; one work-item per row.
 * For logits z (count, classes) and label y of each row:
 *   softmax + cross-entropy: p = exp(z - max z) / sum exp(z - max z)
 *                            loss = -log(max(p[y], 1e-30)), delta = (p - onehot(y)) * scale
 *   sigmoid + squared error: o = 1 / (1 + exp(-z)), loss = mean_c (o - onehot(y))^2,
 *                            delta = (o - onehot(y)) * scale         (the seed 000 network)
 *   correct = (argmax z == y), the first maximum winning ties.
 * scale is 1/batch for a mean loss. has_delta == 0 evaluates only.
 * probs_rows writes p or o for display.
 */
inline int argmax_first(global const float *z, int n)
{
    int best = 0;
    for (int c = 1; c < n; c++)
        if (z[c] > z[best])
            best = c;
    return best;
}

kernel void loss_rows(int kind, global float *delta, int delta_off, int has_delta,
                      global float *loss, int loss_off, global int *correct, int correct_off,
                      global const float *logits, int logits_off, global const int *labels,
                      int labels_off, int count, int classes, float scale)
{
    int i = get_global_id(0);
    if (i >= count)
        return;
    global const float *z = logits + logits_off + i * classes;
    int y = labels[labels_off + i];
    int best = argmax_first(z, classes);
    float l = 0.0f;
    if (kind == OUT_SOFTMAX_XENT) {
        float zmax = z[best], denom = 0.0f;
        for (int c = 0; c < classes; c++)
            denom += exp(z[c] - zmax);
        float py = exp(z[y] - zmax) / denom;
        l = -log(fmax(py, 1e-30f));
        if (has_delta) {
            global float *d = delta + delta_off + i * classes;
            for (int c = 0; c < classes; c++)
                d[c] = (exp(z[c] - zmax) / denom - (c == y ? 1.0f : 0.0f)) * scale;
        }
    } else {
        for (int c = 0; c < classes; c++) {
            float o = 1.0f / (1.0f + exp(-z[c]));
            float diff = o - (c == y ? 1.0f : 0.0f);
            l += diff * diff;
            if (has_delta)
                delta[delta_off + i * classes + c] = diff * scale;
        }
        l /= (float)classes;
    }
    loss[loss_off + i] = l;
    correct[correct_off + i] = best == y;
}

kernel void probs_rows(int kind, global float *out, int out_off, global const float *logits,
                       int logits_off, int count, int classes)
{
    int i = get_global_id(0);
    if (i >= count)
        return;
    global const float *z = logits + logits_off + i * classes;
    global float *o = out + out_off + i * classes;
    if (kind == OUT_SOFTMAX_XENT) {
        float zmax = z[argmax_first(z, classes)], denom = 0.0f;
        for (int c = 0; c < classes; c++)
            denom += exp(z[c] - zmax);
        for (int c = 0; c < classes; c++)
            o[c] = exp(z[c] - zmax) / denom;
    } else {
        for (int c = 0; c < classes; c++)
            o[c] = 1.0f / (1.0f + exp(-z[c]));
    }
}
