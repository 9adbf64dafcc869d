/*
 * The request-body parsing of `mnistcl serve` (host/serve/): json_request.h and base64.h.
 *   json_parse_object: a good body (whitespace, key order, escapes, \u0000 and a surrogate
 *     pair, UTF-8 passed through) gives its values; each of ~50 malformed bodies is an
 *     error with a message naming the problem (syntax: truncation at every byte of a good
 *     body, bad escapes and surrogates, control characters, bad UTF-8, leading zeros,
 *     fractions and exponents for integers, trailing commas or bytes, NUL bytes; schema:
 *     unknown, duplicate, missing fields, wrong types, out-of-range values), and leaves no
 *     string allocated;
 *   base64_decode: RFC 4648's test vectors and all byte values round-trip; wrong lengths,
 *     foreign characters, whitespace, misplaced or excess padding, non-zero pad bits and a
 *     full output buffer are errors at the right offset.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "serve/base64.h"
#include "serve/json_request.h"
#include "test_util.h"

/* The three fields of /api/classify's body. */
static void classify_fields(json_field f[3])
{
    json_field init[3] = {
        {"width", JSON_FIELD_INT, 1, 1024, 0, NULL, 0, 0},
        {"height", JSON_FIELD_INT, 1, 1024, 0, NULL, 0, 0},
        {"pixels", JSON_FIELD_STRING, 0, 0, 0, NULL, 0, 0},
    };
    memcpy(f, init, sizeof init);
}

/* Parses text (its strlen, or len when not 0) and returns the result; why receives the
 * message. */
static int parse(const char *text, size_t len, json_field f[3], char *why, size_t why_len)
{
    classify_fields(f);
    return json_parse_object(text, len ? len : strlen(text), f, 3, why, why_len);
}

/* A malformed body must fail with a message containing `expect`, all strings freed. */
static void bad(const char *text, size_t len, const char *expect)
{
    json_field f[3];
    char why[256] = "";
    int rc = parse(text, len, f, why, sizeof why);
    if (rc == 0) {
        test_fail("accepted malformed body '%.60s'", text);
        json_fields_free(f, 3);
        return;
    }
    if (!strstr(why, expect))
        test_fail("body '%.60s': message '%s' lacks '%s'", text, why, expect);
    for (int i = 0; i < 3; i++)
        if (f[i].str_value)
            test_fail("body '%.60s': field %s still allocated after an error", text, f[i].name);
}

static void test_good(void)
{
    json_field f[3];
    char why[256];
    const char *body = " \r\n\t{ \"pixels\" : \"a\\\"b\\\\c\\/\\b\\f\\n\\r\\t\\u0041\\u00e9"
                       "\\u20AC\\ud83d\\ude00\\u0000z\xc3\xa9\" , \"height\":1024,\"width\" :1 } \n";
    if (parse(body, 0, f, why, sizeof why) != 0) {
        test_fail("good body refused: %s", why);
        return;
    }
    const char want[] = "a\"b\\c/\b\f\n\r\tA\xc3\xa9\xe2\x82\xac\xf0\x9f\x98\x80\0z\xc3\xa9";
    if (f[0].int_value != 1 || f[1].int_value != 1024)
        test_fail("width/height %lld/%lld, want 1/1024", f[0].int_value, f[1].int_value);
    if (f[2].str_len != sizeof want - 1 || memcmp(f[2].str_value, want, sizeof want - 1) != 0)
        test_fail("pixels decoded to %zu bytes, not the %zu expected", f[2].str_len,
                  sizeof want - 1);
    json_fields_free(f, 3);
    if (f[2].str_value)
        test_fail("json_fields_free left a string");
    /* -0 is an integer (0), and ranges may include negatives */
    json_field g[1] = {{"n", JSON_FIELD_INT, -5, 5, 0, NULL, 0, 0}};
    if (json_parse_object("{\"n\":-0}", 8, g, 1, why, sizeof why) || g[0].int_value != 0)
        test_fail("-0 refused or not 0: %s", why);
    if (json_parse_object("{\"n\":-5}", 8, g, 1, why, sizeof why) || g[0].int_value != -5)
        test_fail("-5 refused: %s", why);
    /* an empty object with no fields expected */
    if (json_parse_object("{}", 2, g, 0, why, sizeof why))
        test_fail("{} with no fields refused: %s", why);
}

static void test_malformed(void)
{
    const char *good = "{\"width\":2,\"height\":1,\"pixels\":\"AAA=\"}";
    /* every proper prefix of a good body is truncated JSON */
    for (size_t n = 0; n < strlen(good); n++) {
        json_field f[3];
        char why[256];
        classify_fields(f);
        if (json_parse_object(good, n, f, 3, why, sizeof why) == 0) {
            test_fail("the first %zu bytes of a good body were accepted", n);
            json_fields_free(f, 3);
        }
        for (int i = 0; i < 3; i++)
            if (f[i].str_value)
                test_fail("prefix %zu: a string still allocated", n);
    }
    bad("", 0, "empty body");
    bad("   ", 0, "empty body");
    bad("not json", 0, "expected a JSON object");
    bad("[1,2]", 0, "expected a JSON object");
    bad("{\"width\":2,\"height\":1,\"pixels\":\"AAA=\"", 0, "not closed");
    bad("{\"width\":2,\"height\":1,\"pixels\":\"AAA=", 0, "string not closed");
    bad("{\"width\":2,\"height\":1,\"pixels\":\"AAA=\",}", 0, "expected a member name");
    bad("{\"width\":2,\"height\":1,\"pixels\":\"AAA=\"} x", 0, "after the object");
    bad("{\"width\":2,\"height\":1,\"pixels\":\"AAA=\"}{}", 0, "after the object");
    bad("{\"width\":2 \"height\":1,\"pixels\":\"AAA=\"}", 0, "expected ',' or '}'");
    bad("{\"width\" 2,\"height\":1,\"pixels\":\"AAA=\"}", 0, "expected ':'");
    bad("{width:2,\"height\":1,\"pixels\":\"AAA=\"}", 0, "expected a member name");
    bad("{'width':2,\"height\":1,\"pixels\":\"AAA=\"}", 0, "expected a member name");
    bad("{\"height\":1,\"pixels\":\"AAA=\"}", 0, "missing field \"width\"");
    bad("{\"width\":2,\"pixels\":\"AAA=\"}", 0, "missing field \"height\"");
    bad("{\"width\":2,\"height\":1}", 0, "missing field \"pixels\"");
    bad("{}", 0, "missing field");
    bad("{\"width\":2,\"width\":2,\"height\":1,\"pixels\":\"AAA=\"}", 0, "given twice");
    bad("{\"width\":2,\"height\":1,\"pixels\":\"AAA=\",\"extra\":1}", 0, "unknown field \"extra\"");
    bad("{\"Width\":2,\"height\":1,\"pixels\":\"AAA=\"}", 0, "unknown field \"Width\"");
    bad("{\"wid\\u0000th\":2,\"height\":1,\"pixels\":\"AAA=\"}", 0, "unknown field");
    bad("{\"width\":\"2\",\"height\":1,\"pixels\":\"AAA=\"}", 0, "expected an integer");
    bad("{\"width\":2.0,\"height\":1,\"pixels\":\"AAA=\"}", 0, "fraction or exponent");
    bad("{\"width\":2e0,\"height\":1,\"pixels\":\"AAA=\"}", 0, "fraction or exponent");
    bad("{\"width\":02,\"height\":1,\"pixels\":\"AAA=\"}", 0, "leading zero");
    bad("{\"width\":+2,\"height\":1,\"pixels\":\"AAA=\"}", 0, "expected an integer");
    bad("{\"width\":-,\"height\":1,\"pixels\":\"AAA=\"}", 0, "expected an integer");
    bad("{\"width\":true,\"height\":1,\"pixels\":\"AAA=\"}", 0, "expected an integer");
    bad("{\"width\":null,\"height\":1,\"pixels\":\"AAA=\"}", 0, "expected an integer");
    bad("{\"width\":[2],\"height\":1,\"pixels\":\"AAA=\"}", 0, "expected an integer");
    bad("{\"width\":0,\"height\":1,\"pixels\":\"AAA=\"}", 0, "out of range 1..1024");
    bad("{\"width\":1025,\"height\":1,\"pixels\":\"AAA=\"}", 0, "out of range 1..1024");
    bad("{\"width\":-3,\"height\":1,\"pixels\":\"AAA=\"}", 0, "out of range");
    bad("{\"width\":99999999999999999999999999,\"height\":1,\"pixels\":\"AAA=\"}", 0,
        "out of range");
    bad("{\"width\":2,\"height\":1,\"pixels\":7}", 0, "expected a string");
    bad("{\"width\":2,\"height\":1,\"pixels\":{\"a\":1}}", 0, "expected a string");
    bad("{\"width\":2,\"height\":1,\"pixels\":\"AA\\x\"}", 0, "bad escape");
    bad("{\"width\":2,\"height\":1,\"pixels\":\"AA\\u12\"}", 0, "4 hex digits");
    bad("{\"width\":2,\"height\":1,\"pixels\":\"\\ud800\"}", 0, "without its low half");
    bad("{\"width\":2,\"height\":1,\"pixels\":\"\\ud800\\u0041\"}", 0, "not a low surrogate");
    bad("{\"width\":2,\"height\":1,\"pixels\":\"\\udc00\"}", 0, "lone low surrogate");
    bad("{\"width\":2,\"height\":1,\"pixels\":\"A\tA\"}", 0, "control character");
    bad("{\"width\":2,\"height\":1,\"pixels\":\"A\nA\"}", 0, "control character");
    bad("{\"width\":2,\"height\":1,\"pixels\":\"\xff\"}", 0, "not UTF-8");
    bad("{\"width\":2,\"height\":1,\"pixels\":\"\xc0\xaf\"}", 0, "not UTF-8");        /* overlong */
    bad("{\"width\":2,\"height\":1,\"pixels\":\"\xed\xa0\x80\"}", 0, "not UTF-8");    /* surrogate */
    bad("{\"width\":2,\"height\":1,\"pixels\":\"\xf4\x90\x80\x80\"}", 0, "not UTF-8"); /* > 10FFFF */
    bad("{\"width\":2,\"height\":1,\"pixels\":\"\xe2\x82\"}", 0, "not UTF-8");        /* cut */
    bad("{\"width\":2,\"height\":1,\"pixels\":\"AAA=\"}\0", 40, "NUL byte");
    bad("{\"width\":2,\"height\":1,\"pixels\":\"A\0A\"}", 37, "NUL byte");
    bad("{\"width\":2,\"height\":1,\"pixels\":\"AAA=\"}\v", 0, "after the object");
}

/* Decodes text; returns the result and the length/offset through the pointers. */
static int decode(const char *text, uint8_t *out, size_t cap, size_t *n, size_t *at)
{
    *n = 12345;
    *at = 12345;
    return base64_decode(text, strlen(text), out, cap, n, at);
}

static void bad64(const char *text, size_t want_at)
{
    uint8_t out[64];
    size_t n, at;
    if (decode(text, out, sizeof out, &n, &at) == 0)
        test_fail("base64 '%s' accepted (%zu bytes)", text, n);
    else if (at != want_at)
        test_fail("base64 '%s': error at %zu, want %zu", text, at, want_at);
}

static void test_base64(void)
{
    /* RFC 4648 section 10 */
    const char *plain[] = {"", "f", "fo", "foo", "foob", "fooba", "foobar"};
    const char *coded[] = {"", "Zg==", "Zm8=", "Zm9v", "Zm9vYg==", "Zm9vYmE=", "Zm9vYmFy"};
    for (int i = 0; i < 7; i++) {
        uint8_t out[16];
        size_t n, at;
        if (decode(coded[i], out, sizeof out, &n, &at) || n != strlen(plain[i]) ||
            memcmp(out, plain[i], n) != 0)
            test_fail("base64 '%s' did not decode to '%s'", coded[i], plain[i]);
    }
    /* all 256 byte values, encoded by hand here */
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    uint8_t bytes[256], back[256];
    char text[400];
    size_t t = 0;
    for (int i = 0; i < 256; i++)
        bytes[i] = (uint8_t)(255 - i);
    for (int i = 0; i < 256; i += 3) {
        int left = 256 - i;
        unsigned w = (unsigned)bytes[i] << 16 | (left > 1 ? (unsigned)bytes[i + 1] << 8 : 0) |
                     (left > 2 ? bytes[i + 2] : 0);
        text[t++] = alphabet[w >> 18 & 63];
        text[t++] = alphabet[w >> 12 & 63];
        text[t++] = left > 1 ? alphabet[w >> 6 & 63] : '=';
        text[t++] = left > 2 ? alphabet[w & 63] : '=';
    }
    text[t] = '\0';
    size_t n, at;
    if (decode(text, back, sizeof back, &n, &at) || n != 256 || memcmp(back, bytes, 256) != 0)
        test_fail("the 256 byte values did not round-trip");
    if (decode(text, back, 255, &n, &at) == 0 || at != t - 4)
        test_fail("a full output buffer was not an error at the last group (at %zu)", at);
    bad64("Zg=", 3);       /* length not a multiple of 4: the offset is the length */
    bad64("Zm9vY", 5);
    bad64("Zm9v\n", 5);
    bad64("Zm 9", 2);      /* whitespace */
    bad64("Zm9-", 3);      /* the URL-safe alphabet is not this one */
    bad64("Zm9_", 3);
    bad64("Z===", 1);      /* too much padding */
    bad64("====", 0);
    bad64("Zg==Zg==", 2);  /* padding before the end */
    bad64("Zm=v", 2);      /* padding not at the end of the group */
    bad64("Zh==", 1);      /* non-zero bits after the last byte: not canonical */
    bad64("Zm9=", 2);
    bad64("Zm\x80v", 2);
}

int main(void)
{
    test_good();
    test_malformed();
    test_base64();
    return test_exit_code();
}
