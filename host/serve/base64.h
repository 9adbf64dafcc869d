/* Strict base64 decoding (RFC 4648, standard alphabet, padded) of request bodies. */
#ifndef MNISTCL_SERVE_BASE64_H
#define MNISTCL_SERVE_BASE64_H

#include <stddef.h>
#include <stdint.h>

/** Bytes the base64 text of len characters decodes to at most. */
static inline size_t base64_max_decoded(size_t len) { return len / 4 * 3; }

/**
 * Decodes text[0..len) into out (room for cap bytes) and stores the byte count in
 * *out_len. Strict: len a multiple of 4, only A-Z a-z 0-9 + / and '=' as the last one
 * or two characters, the unused bits before the padding zero (the one canonical text
 * per byte string), no whitespace. Returns 0, or -1 with *bad_at (if not NULL) the
 * offset of the first character that breaks a rule (len when the length is wrong) or
 * of the group that would pass cap.
 */
int base64_decode(const char *text, size_t len, uint8_t *out, size_t cap, size_t *out_len,
                  size_t *bad_at);

#endif
