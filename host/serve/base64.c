/* Strict base64 decoding (base64.h). */
#include "serve/base64.h"

/* The value (0..63) of a base64 character, or -1. */
static int sextet(unsigned char c)
{
    if (c >= 'A' && c <= 'Z')
        return c - 'A';
    if (c >= 'a' && c <= 'z')
        return c - 'a' + 26;
    if (c >= '0' && c <= '9')
        return c - '0' + 52;
    if (c == '+')
        return 62;
    if (c == '/')
        return 63;
    return -1;
}

int base64_decode(const char *text, size_t len, uint8_t *out, size_t cap, size_t *out_len,
                  size_t *bad_at)
{
    size_t bad = len, n = 0;
    *out_len = 0;
    if (len % 4 != 0)
        goto fail;
    for (size_t i = 0; i < len; i += 4) {
        int last = i + 4 == len;
        /* padding: only in the last group, as its last one or two characters */
        int pad = last && text[i + 3] == '=' ? (text[i + 2] == '=' ? 2 : 1) : 0;
        int v[4] = {0, 0, 0, 0};
        for (int k = 0; k < 4 - pad; k++) {
            v[k] = sextet((unsigned char)text[i + k]);
            if (v[k] < 0) {
                bad = i + k;
                goto fail;
            }
        }
        int bytes = 3 - pad;
        if (n + (size_t)bytes > cap) {
            bad = i;
            goto fail;
        }
        /* the bits after the last whole byte must be zero (canonical text) */
        if ((pad == 1 && (v[2] & 3)) || (pad == 2 && (v[1] & 15))) {
            bad = i + 3 - pad;
            goto fail;
        }
        uint32_t word = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
                        (uint32_t)v[3];
        out[n++] = (uint8_t)(word >> 16);
        if (bytes > 1)
            out[n++] = (uint8_t)(word >> 8);
        if (bytes > 2)
            out[n++] = (uint8_t)word;
    }
    *out_len = n;
    return 0;
fail:
    if (bad_at)
        *bad_at = bad;
    return -1;
}
