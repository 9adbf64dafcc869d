/*
 * Model files: save -> load gives back the same network and bit-identical parameters;
 * weights are stored in PyTorch's (out, in) orientation; the write is atomic (no
 * temporary left behind); and damaged files are rejected with MC_ERR_DATA and a message
 * naming the file: truncation, a header length past the end, broken JSON, a non-F32
 * dtype, a shape that disagrees with its byte range, overlapping ranges, a missing
 * tensor, missing metadata, a NaN parameter.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mnistcl/model_io.h"
#include "test_util.h"

/* Builds a small safetensors image from a JSON header and data length (zero bytes). */
static size_t make_file(unsigned char *out, const char *header, size_t data_len)
{
    size_t h = strlen(header);
    for (int i = 0; i < 8; i++)
        out[i] = (unsigned char)((unsigned long long)h >> (8 * i));
    memcpy(out + 8, header, h);
    memset(out + 8 + h, 0, data_len);
    return 8 + h + data_len;
}

static void expect_bad(const char *what, const unsigned char *bytes, size_t len,
                       const char *needle)
{
    st_file f;
    mc_error err = {{0}};
    mc_status st = st_parse(bytes, len, "bad.safetensors", &f, &err);
    mlp_spec spec;
    float *params = NULL;
    if (st == MC_OK) {
        st = model_from_st(&f, "bad.safetensors", &spec, &params, &err);
        st_free(&f);
        free(params);
    }
    if (st != MC_ERR_DATA)
        test_fail("%s: status %d, want MC_ERR_DATA (%s)", what, st, err.msg);
    else if (!strstr(err.msg, "bad.safetensors") || !strstr(err.msg, needle))
        test_fail("%s: message '%s' lacks the file or '%s'", what, err.msg, needle);
    else
        printf("ok  %-26s %s\n", what, err.msg);
}

static void test_round_trip(const char *dir)
{
    mlp_spec spec = {.n_layers = 3, .sizes = {784, 63, 10, 10}, .hidden_act = ACT_TANH,
                     .output = OUT_SIGMOID_MSE};
    size_t n = mlp_param_count(&spec);
    float *p = malloc(n * 4);
    rng r;
    rng_seed(&r, 5);
    mlp_init_params(&spec, INIT_NORMAL, &r, p);
    p[mlp_bias_offset(&spec, 0) + 3] = -1.5e-39f; /* a subnormal survives too */
    char path[300];
    snprintf(path, sizeof path, "%s/model.safetensors", dir);
    st_meta extra[1] = {{"note", "quote \" and backslash \\ survive"}};
    mc_error err;
    if (model_save(path, &spec, p, extra, 1, &err)) {
        test_fail("save: %s", err.msg);
        return;
    }
    mlp_spec back;
    float *q = NULL;
    st_file meta;
    if (model_load(path, &back, &q, &meta, &err)) {
        test_fail("load: %s", err.msg);
        return;
    }
    if (back.n_layers != 3 || back.sizes[1] != 63 || back.hidden_act != ACT_TANH ||
        back.output != OUT_SIGMOID_MSE)
        test_fail("spec changed in the round trip");
    if (memcmp(p, q, n * 4) != 0)
        test_fail("parameters changed in the round trip");
    const char *note = st_meta_get(&meta, "note");
    if (!note || strcmp(note, extra[0].value) != 0)
        test_fail("metadata changed in the round trip: %s", note ? note : "(missing)");
    /* orientation: fc1.weight is (10, 63) and fc1.weight[o][i] == W1[i][o] */
    st_file f;
    st_load(path, &f, &err);
    const st_tensor *w = st_find(&f, "fc1.weight");
    const float *W1 = p + mlp_weight_offset(&spec, 1);
    if (!w || w->shape[0] != 10 || w->shape[1] != 63 || w->data[2 * 63 + 5] != W1[5 * 10 + 2])
        test_fail("fc1.weight is not stored as (out, in)");
    st_free(&f);
    /* no temporary file left beside the model */
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (strstr(e->d_name, ".tmp"))
            test_fail("temporary file %s left behind", e->d_name);
    if (d)
        closedir(d);
    printf("ok  round trip of 784-63-10-10 tanh/sigmoid-mse, %zu parameters bit-identical\n", n);
    free(p), free(q);
}

int main(void)
{
    char dir[] = "/tmp/mnistcl-test-model-XXXXXX";
    if (!mkdtemp(dir))
        return 1;
    test_round_trip(dir);

    static unsigned char b[4096];
    const char *meta = "\"__metadata__\":{\"layers\":\"2,1\",\"hidden_activation\":\"relu\","
                       "\"output\":\"softmax\"}";
    char h[1024];
    size_t n;
    snprintf(h, sizeof h,
             "{%s,\"fc0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
             "\"fc0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
             meta);
    n = make_file(b, h, 12);
    st_file f;
    mc_error err;
    if (st_parse(b, n, "good", &f, &err))
        test_fail("a good minimal file was rejected: %s", err.msg);
    else
        st_free(&f);
    expect_bad("truncated data", b, n - 1, "truncated");
    expect_bad("7 bytes", b, 7, "too short");
    unsigned char big[16] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x7f, '{', '}'};
    expect_bad("header length 2^63", big, sizeof big, "header length");
    n = make_file(b, "{\"fc0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2]", 0);
    expect_bad("unterminated JSON", b, n, "expected");
    n = make_file(b, "{\"fc0.weight\":{\"dtype\":\"F16\",\"shape\":[1,2],\"data_offsets\":[0,4]}}", 4);
    expect_bad("F16 tensor", b, n, "only F32");
    n = make_file(b, "{\"fc0.weight\":{\"dtype\":\"F32\",\"shape\":[3,2],\"data_offsets\":[0,8]}}", 8);
    expect_bad("shape vs byte range", b, n, "does not match");
    n = make_file(b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                     "\"b\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[4,12]}}", 12);
    expect_bad("overlapping ranges", b, n, "starts at data byte");
    n = make_file(b, "{\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[0,8]},"
                     "\"a\":{\"dtype\":\"F32\",\"shape\":[2],\"data_offsets\":[8,16]}}", 16);
    expect_bad("duplicate name", b, n, "duplicate");
    n = make_file(b, "{\"fc0.weight\":{\"dtype\":\"F32\",\"shape\":[-1],\"data_offsets\":[0,4]}}", 4);
    expect_bad("negative dimension", b, n, "non-negative");
    snprintf(h, sizeof h,
             "{%s,\"fc0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]}}",
             meta);
    n = make_file(b, h, 8);
    expect_bad("missing bias", b, n, "fc0.bias missing");
    n = make_file(b, "{\"fc0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
                     "\"fc0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}", 12);
    expect_bad("no metadata", b, n, "not an mnistcl model");
    snprintf(h, sizeof h,
             "{%s,\"fc0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
             "\"fc0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}}",
             meta);
    n = make_file(b, h, 12);
    float nan_value = __builtin_nanf("");
    memcpy(b + n - 4, &nan_value, 4);
    expect_bad("NaN parameter", b, n, "not a finite number");

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_exit_code();
}
