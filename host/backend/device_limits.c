/* MNISTCL_DEVICE_LIMITS: memory limits below the device's own (device_limits.h). */
#include "backend/device_limits.h"

#include <stdint.h>
#include <stdlib.h>

/*
 * Reads one size at *p: digits, then an optional K/M/G (k/m/g); advances *p past it.
 * Returns 1 with *out set, or 0 when there is no digit, the value is 0 or it passes
 * SIZE_MAX.
 */
static int parse_size(const char **p, size_t *out)
{
    const char *s = *p;
    size_t v = 0;
    if (*s < '0' || *s > '9')
        return 0;
    for (; *s >= '0' && *s <= '9'; s++) {
        size_t d = (size_t)(*s - '0');
        if (v > (SIZE_MAX - d) / 10)
            return 0;
        v = v * 10 + d;
    }
    int shift = 0;
    switch (*s) {
    case 'K': case 'k': shift = 10, s++; break;
    case 'M': case 'm': shift = 20, s++; break;
    case 'G': case 'g': shift = 30, s++; break;
    default: break;
    }
    if (v == 0 || v > SIZE_MAX >> shift)
        return 0;
    *out = v << shift;
    *p = s;
    return 1;
}

mc_status device_limits_parse(const char *text, size_t *alloc, size_t *memory, mc_error *err)
{
    const char *p = text;
    size_t a = 0, m = SIZE_MAX;
    int ok = parse_size(&p, &a);
    if (ok && *p == ',') {
        p++;
        ok = parse_size(&p, &m);
    }
    if (!ok || *p != '\0')
        return mc_fail(err, MC_ERR_USAGE,
                       "%s '%s': expected ALLOC[,MEMORY], each a whole number of bytes >= 1 "
                       "with an optional K, M or G (2^10, 2^20, 2^30), e.g. 8M,20M",
                       DEVICE_LIMITS_ENV, text);
    *alloc = a;
    *memory = m;
    return MC_OK;
}

mc_status device_limits_apply(size_t *max_alloc, size_t *memory, mc_error *err)
{
    const char *text = getenv(DEVICE_LIMITS_ENV);
    if (!text || !*text)
        return MC_OK;
    size_t a, m;
    mc_status st = device_limits_parse(text, &a, &m, err);
    if (st)
        return st;
    if (a < *max_alloc)
        *max_alloc = a;
    if (m < *memory)
        *memory = m;
    return MC_OK;
}
