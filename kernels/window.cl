/*
 * window.cl: one part of a split image set copied into the slots of a window
 * (window_images_args in backend_ops.h), uint8 images of dim bytes:
 *   for r < count, id = ids[r]: when part_first <= id < part_first + part_n, i = id - part_first,
 *     images_out[(slot0 + r)·dim + j] = images[i·dim + j]    for j < dim
 *     labels_out[slot0 + r]          = labels[i]
 *   rows whose id lies outside the part are left as they are (another part's launch fills
 *   them).
 * One work-group per window row (global size count · local size): its work-items copy the
 * row in pieces of `piece` bytes, item k taking pieces k, k + local size, ... (neighbouring
 * items, neighbouring addresses: coalesced on GPUs, one vector loop on CPUs), and item 0
 * the label. piece is 16 (uint4), 4 (uint) or 1 (uchar): the host passes the widest that
 * divides dim and both rows' byte offsets (out_off, img_off), so every piece is aligned to
 * its size (the buffers' base addresses are aligned to CL_DEVICE_MEM_BASE_ADDR_ALIGN, at
 * least 64 bytes).
 */

/* The window rows of one part (see above). */
kernel void window_images(global uchar *images_out, int out_off, global uchar *labels_out,
                          int lab_out_off, global const uchar *images, int img_off,
                          global const uchar *labels, int lab_off, global const int *ids,
                          int ids_off, int count, int slot0, int dim, int part_first,
                          int part_n, int piece)
{
    int r = get_group_id(0);
    if (r >= count)
        return;
    int id = ids[ids_off + r];
    if (id < part_first || id - part_first >= part_n)
        return;
    int i = id - part_first, item = get_local_id(0), items = get_local_size(0);
    /* byte offsets of the two rows; below 2^31, as the buffers are (backend_cl.c) */
    global const uchar *src = images + img_off + (size_t)i * dim;
    global uchar *dst = images_out + out_off + (size_t)(slot0 + r) * dim;
    if (piece == 16) {
        global const uint4 *s = (global const uint4 *)src;
        global uint4 *d = (global uint4 *)dst;
        for (int p = item; p < dim / 16; p += items)
            d[p] = s[p];
    } else if (piece == 4) {
        global const uint *s = (global const uint *)src;
        global uint *d = (global uint *)dst;
        for (int p = item; p < dim / 4; p += items)
            d[p] = s[p];
    } else {
        for (int p = item; p < dim; p += items)
            dst[p] = src[p];
    }
    if (item == 0)
        labels_out[lab_out_off + slot0 + r] = labels[lab_off + i];
}
