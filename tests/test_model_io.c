/*
 * Model files: save -> load gives back the same network and bit-identical parameters;
 * weights are stored in PyTorch's (out, in) orientation; the write is atomic (no
 * temporary left behind); and damaged files are rejected with MC_ERR_DATA and a message
 * naming the file: truncation, a header length past the end, broken JSON, a non-F32
 * dtype, a shape that disagrees with its byte range, overlapping ranges, a missing
 * tensor, missing metadata, a NaN parameter.
 * Reading: a FIFO or a directory is refused at once (MC_ERR_IO, no hang); a large file
 * with a bad header is refused without being read (resident memory stays small). JSON:
 * invalid UTF-8 (bytes, overlong forms, raw and escaped lone surrogates) is refused, a
 * surrogate pair becomes one 4-byte character, duplicate metadata keys, two __metadata__
 * and repeated tensor-entry keys are refused. Writing: invalid UTF-8 in a value becomes
 * U+FFFD, values up to 4095 bytes round-trip whole, longer ones and repeated keys are
 * refused by st_meta_add. Models: metadata claiming layers the tensors lack is a data
 * error naming the tensor (not out of memory); format, format_version, input_scale and
 * stray tensors are checked. Checkpoints: an all-zero or non-hex rng, epoch 0, negative
 * or non-finite progress, and counts at step 0 are refused.
 */
#include <dirent.h>
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include "mnistcl/checkpoint.h"
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

/* st_parse of the header text (no tensors): expects MC_ERR_DATA with needle. */
static void expect_bad_header(const char *what, const char *header, const char *needle)
{
    static unsigned char b[8192];
    size_t n = make_file(b, header, 0);
    st_file f;
    mc_error err = {{0}};
    mc_status st = st_parse(b, n, "bad.safetensors", &f, &err);
    if (st == MC_OK)
        st_free(&f);
    if (st != MC_ERR_DATA || !strstr(err.msg, "bad.safetensors") || !strstr(err.msg, needle))
        test_fail("%s: status %d, message '%s' (wanted '%s')", what, st, err.msg, needle);
    else
        printf("ok  %-26s %s\n", what, err.msg);
}

/* Strings in the header: UTF-8 rules, escapes, duplicate keys. */
static void test_json_strings(void)
{
    expect_bad_header("byte 0xff in a value", "{\"__metadata__\":{\"a\":\"x\xffy\"}}",
                      "not valid UTF-8");
    expect_bad_header("overlong '/' (C0 AF)", "{\"__metadata__\":{\"a\":\"\xc0\xaf\"}}",
                      "not valid UTF-8");
    expect_bad_header("overlong 3-byte form", "{\"__metadata__\":{\"a\":\"\xe0\x80\xaf\"}}",
                      "not valid UTF-8");
    expect_bad_header("raw surrogate ED A0 80", "{\"__metadata__\":{\"a\":\"\xed\xa0\x80\"}}",
                      "not valid UTF-8");
    expect_bad_header("above U+10FFFF", "{\"__metadata__\":{\"a\":\"\xf4\x90\x80\x80\"}}",
                      "not valid UTF-8");
    expect_bad_header("cut sequence", "{\"__metadata__\":{\"a\":\"\xe2\x82\"}}",
                      "not valid UTF-8");
    expect_bad_header("invalid byte in a name", "{\"fc\x80\":{}}", "not valid UTF-8");
    expect_bad_header("lone \\ud800", "{\"__metadata__\":{\"a\":\"\\ud800x\"}}", "surrogate");
    expect_bad_header("lone \\udc00", "{\"__metadata__\":{\"a\":\"\\udc00\"}}", "surrogate");
    expect_bad_header("\\ud800 + \\u0041", "{\"__metadata__\":{\"a\":\"\\ud800\\u0041\"}}",
                      "surrogate");
    expect_bad_header("duplicate metadata key",
                      "{\"__metadata__\":{\"layers\":\"2,1\",\"layers\":\"4,1\"}}",
                      "duplicate metadata key 'layers'");
    expect_bad_header("__metadata__ twice",
                      "{\"__metadata__\":{\"a\":\"1\"},\"__metadata__\":{\"b\":\"2\"}}",
                      "second __metadata__");
    expect_bad_header("metadata value a number", "{\"__metadata__\":{\"a\":1}}", "expected '\"'");
    expect_bad_header("shape given twice",
                      "{\"t\":{\"dtype\":\"F32\",\"shape\":[1],\"shape\":[0],\"data_offsets\":[0,0]}}",
                      "duplicate key 'shape'");
    expect_bad_header("integer with leading 0",
                      "{\"t\":{\"dtype\":\"F32\",\"shape\":[01],\"data_offsets\":[0,4]}}",
                      "leading zero");
    /* good: escapes, a surrogate pair, raw multi-byte characters */
    static unsigned char b[1024];
    size_t n = make_file(b, "{\"__metadata__\":{\"e\":\"\\ud83d\\ude00 \\u00e9 \xc3\xa9 \xe2\x82\xac "
                            "\xf0\x9f\x98\x80\"}}", 0);
    st_file f;
    mc_error err;
    const char *want = "\xf0\x9f\x98\x80 \xc3\xa9 \xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80";
    if (st_parse(b, n, "good", &f, &err)) {
        test_fail("valid UTF-8 and escapes rejected: %s", err.msg);
        return;
    }
    const char *v = st_meta_get(&f, "e");
    if (!v || strcmp(v, want) != 0)
        test_fail("\\ud83d\\ude00 etc. decoded as '%s'", v ? v : "(missing)");
    else
        printf("ok  surrogate pair -> 4-byte UTF-8, raw UTF-8 kept\n");
    st_free(&f);
}

/* Writing: invalid UTF-8 replaced, long values whole, st_meta_add refuses what won't fit. */
static void test_write_strings(const char *dir)
{
    mlp_spec spec = {.n_layers = 1, .sizes = {2, 1}, .hidden_act = ACT_RELU,
                     .output = OUT_SOFTMAX_XENT};
    float p[3] = {1, 2, 3};
    static st_meta extra[3];
    snprintf(extra[0].key, sizeof extra[0].key, "dataset");
    snprintf(extra[0].value, sizeof extra[0].value, "/data/caf\xe9/\xc3\xa9/\xff\xfe");
    snprintf(extra[1].key, sizeof extra[1].key, "long");
    memset(extra[1].value, 'a', 4000);
    memcpy(extra[1].value + 3990, "\xe2\x82\xac", 3); /* a multi-byte character near the end */
    extra[1].value[4000] = 0;
    char path[300];
    snprintf(path, sizeof path, "%s/strings.safetensors", dir);
    mc_error err;
    mlp_spec back;
    float *q = NULL;
    static st_file meta;
    if (model_save(path, &spec, p, extra, 2, &err) || model_load(path, &back, &q, &meta, &err)) {
        test_fail("save/load with a non-UTF-8 value: %s", err.msg);
        return;
    }
    free(q);
    const char *d = st_meta_get(&meta, "dataset"), *l = st_meta_get(&meta, "long");
    if (!d || strcmp(d, "/data/caf\xef\xbf\xbd/\xc3\xa9/\xef\xbf\xbd\xef\xbf\xbd") != 0)
        test_fail("invalid UTF-8 not written as U+FFFD: '%s'", d ? d : "(missing)");
    else
        printf("ok  invalid UTF-8 in a value is written as U+FFFD, valid kept\n");
    if (!l || strcmp(l, extra[1].value) != 0)
        test_fail("a 4000-byte value did not round-trip whole (%zu bytes back)", l ? strlen(l) : 0);
    else
        printf("ok  a 4000-byte value round-trips whole\n");
    static st_file f;
    memset(&f, 0, sizeof f);
    static char big[5000];
    memset(big, 'b', sizeof big - 1);
    char long_key[80];
    memset(long_key, 'k', 70);
    long_key[70] = 0;
    if (st_meta_add(&f, "big", big) || st_meta_add(&f, long_key, "v") || f.n_meta)
        test_fail("st_meta_add took a value or key that does not fit");
    else if (!st_meta_add(&f, "k", "1") || st_meta_add(&f, "k", "2") || f.n_meta != 1)
        test_fail("st_meta_add took a repeated key");
    else
        printf("ok  st_meta_add refuses an overlong key or value and a repeated key\n");
}

/* st_load of a FIFO and a directory: refused at once; a big file with a bad header is
 * refused without being read. */
static void test_not_files(const char *dir)
{
    char fifo[300], folder[300], big[300];
    snprintf(fifo, sizeof fifo, "%s/fifo.safetensors", dir);
    snprintf(folder, sizeof folder, "%s/folder.safetensors", dir);
    snprintf(big, sizeof big, "%s/big.safetensors", dir);
    if (mkfifo(fifo, 0644) != 0 || mkdir(folder, 0755) != 0)
        perror("mkfifo/mkdir");
    struct {
        const char *path, *needle;
    } cases[] = {{fifo, "not a regular file"}, {folder, "is a directory"}};
    for (int i = 0; i < 2; i++) {
        st_file f;
        mc_error err = {{0}};
        mc_status st = st_load(cases[i].path, &f, &err);
        if (st != MC_ERR_IO || !strstr(err.msg, cases[i].path) || !strstr(err.msg, cases[i].needle))
            test_fail("st_load(%s): status %d, message '%s'", cases[i].path, st, err.msg);
        else
            printf("ok  %-26s %s\n", "not a regular file", err.msg);
        if (st == MC_OK)
            st_free(&f);
    }
    /* 1.5 GiB, sparse: a valid 2-byte header "{}" and then nothing the header describes */
    int fd = open(big, O_WRONLY | O_CREAT | O_TRUNC, 0644);
    unsigned char head[10] = {2, 0, 0, 0, 0, 0, 0, 0, '{', '}'};
    if (fd < 0 || write(fd, head, 10) != 10 || ftruncate(fd, 3LL << 29) != 0) {
        test_fail("cannot make a sparse 1.5 GiB file");
        return;
    }
    close(fd);
    st_file f;
    mc_error err = {{0}};
    mc_status st = st_load(big, &f, &err);
    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    if (st != MC_ERR_DATA || !strstr(err.msg, "tensors describe 0 data bytes"))
        test_fail("1.5 GiB file with no tensors: status %d, '%s'", st, err.msg);
    else if (ru.ru_maxrss > 256 * 1024)
        test_fail("1.5 GiB file: %ld MiB resident, so it was read before the header was "
                  "checked", ru.ru_maxrss / 1024);
    else
        printf("ok  1.5 GiB file refused from its header (%ld MiB resident)\n",
               ru.ru_maxrss / 1024);
    unlink(big);
}

/* A model of layers 2,1 with extra metadata `meta_extra` (",\"k\":\"v\"" or "") and extra
 * tensors `tensors_extra`; expects model_from_st to fail with needle. */
static void expect_bad_model(const char *what, const char *layers, const char *meta_extra,
                             const char *tensors_extra, size_t extra_bytes, const char *needle)
{
    char h[2048];
    static unsigned char b[8192];
    snprintf(h, sizeof h,
             "{\"__metadata__\":{\"layers\":\"%s\",\"hidden_activation\":\"relu\","
             "\"output\":\"softmax\"%s},"
             "\"fc0.weight\":{\"dtype\":\"F32\",\"shape\":[1,2],\"data_offsets\":[0,8]},"
             "\"fc0.bias\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[8,12]}%s}",
             layers, meta_extra, tensors_extra);
    size_t n = make_file(b, h, 12 + extra_bytes);
    expect_bad(what, b, n, needle);
}

static void test_model_checks(void)
{
    expect_bad_model("layers far larger (no OOM)", "2,1048576,1048576,1", "", "", 0,
                     "fc0.weight has the wrong shape");
    expect_bad_model("layers 784,100000,10", "784,100000,10", "", "", 0,
                     "fc0.weight has the wrong shape");
    expect_bad_model("format not mnistcl", "2,1", ",\"format\":\"pytorch\"", "", 0,
                     "format=\"pytorch\"");
    expect_bad_model("format_version 2", "2,1", ",\"format_version\":\"2\"", "", 0,
                     "format_version=\"2\"");
    expect_bad_model("input_scale 1", "2,1", ",\"input_scale\":\"1\"", "", 0,
                     "input_scale=\"1\"");
    expect_bad_model("stray tensor fc1.weight", "2,1", "",
                     ",\"fc1.weight\":{\"dtype\":\"F32\",\"shape\":[1],\"data_offsets\":[12,16]}",
                     4, "tensor 'fc1.weight' is not part of");
    expect_bad_model("velocity in a model", "2,1", ",\"format\":\"mnistcl\"",
                     ",\"optimizer.velocity\":{\"dtype\":\"F32\",\"shape\":[3],"
                     "\"data_offsets\":[12,24]}",
                     12, "tensor 'optimizer.velocity' is not part of");
    expect_bad_model("velocity of wrong size", "2,1", ",\"format\":\"mnistcl-checkpoint\"",
                     ",\"optimizer.velocity\":{\"dtype\":\"F32\",\"shape\":[2],"
                     "\"data_offsets\":[12,20]}",
                     8, "optimizer.velocity is not 3 values");
}

/* Writes a 2-1 checkpoint with the given progress metadata and loads it: expects
 * MC_ERR_DATA with needle (or MC_OK when needle is NULL). */
static void expect_checkpoint(const char *dir, const char *what, const char *epoch,
                              const char *step, const char *rng_hex, const char *loss,
                              const char *correct, const char *needle)
{
    mlp_spec spec = {.n_layers = 1, .sizes = {2, 1}, .hidden_act = ACT_RELU,
                     .output = OUT_SOFTMAX_XENT};
    float p[3] = {1, 2, 3};
    static st_file f;
    mc_error err = {{0}};
    model_to_st(&spec, p, &f, &err);
    st_tensor *v = &f.tensors[f.n_tensors++];
    snprintf(v->name, sizeof v->name, "optimizer.velocity");
    v->ndim = 1, v->shape[0] = 3, v->count = 3;
    v->data = calloc(3, sizeof(float));
    snprintf(f.meta[0].value, sizeof f.meta[0].value, "mnistcl-checkpoint"); /* format */
    st_meta_add(&f, "epoch", epoch);
    st_meta_add(&f, "step", step);
    st_meta_add(&f, "rng", rng_hex);
    st_meta_add(&f, "epoch_loss_sum", loss);
    st_meta_add(&f, "epoch_correct", correct);
    char path[300];
    snprintf(path, sizeof path, "%s/c.ckpt", dir);
    if (st_save(path, &f, &err)) {
        test_fail("%s: cannot write: %s", what, err.msg);
        st_free(&f);
        return;
    }
    st_free(&f);
    mlp_spec back;
    float *params;
    optimizer_state state;
    train_progress prog;
    mc_status st = checkpoint_load(path, &back, &params, &state, &prog, NULL, &err);
    if (st == MC_OK)
        free(params), free(state.values), free(state.best);
    if (!needle ? st != MC_OK
                : st != MC_ERR_DATA || !strstr(err.msg, path) || !strstr(err.msg, needle))
        test_fail("%s: status %d, message '%s' (wanted %s)", what, st, err.msg,
                  needle ? needle : "success");
    else
        printf("ok  %-26s %s\n", what, needle ? err.msg : "loads");
}

static void test_checkpoint_checks(const char *dir)
{
    const char *rng = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";
    const char *zero = "0000000000000000000000000000000000000000000000000000000000000000";
    expect_checkpoint(dir, "good checkpoint", "2", "5", rng, "3.25", "17", NULL);
    expect_checkpoint(dir, "good at step 0", "1", "0", rng, "0", "0", NULL);
    expect_checkpoint(dir, "all-zero rng", "1", "3", zero, "1.5", "2", "all zero");
    expect_checkpoint(dir, "rng with spaces", "1", "3",
                      " 123456789abcdef 123456789abcdef 123456789abcdef 123456789abcdef", "1",
                      "2", "rng is not 64 hexadecimal digits");
    expect_checkpoint(dir, "rng with signs", "1", "3",
                      "+123456789abcdef-123456789abcdef0123456789abcdef0123456789abcdef", "1",
                      "2", "rng is not 64 hexadecimal digits");
    expect_checkpoint(dir, "rng of 63 digits", "1", "3", rng + 1, "1", "2", "rng is not 64");
    expect_checkpoint(dir, "epoch 0", "0", "3", rng, "1", "2", "malformed");
    expect_checkpoint(dir, "step -1", "1", "-1", rng, "1", "2", "malformed");
    expect_checkpoint(dir, "step ' 3'", "1", " 3", rng, "1", "2", "malformed");
    expect_checkpoint(dir, "epoch_correct -2", "1", "3", rng, "1", "-2", "malformed");
    expect_checkpoint(dir, "negative loss sum", "1", "3", rng, "-1.5", "2", "malformed");
    expect_checkpoint(dir, "infinite loss sum", "1", "3", rng, "inf", "2", "malformed");
    expect_checkpoint(dir, "loss sum 1e999", "1", "3", rng, "1e999", "2", "malformed");
    expect_checkpoint(dir, "step 0, correct 5", "1", "0", rng, "0", "5", "step 0");
    expect_checkpoint(dir, "step 0, loss 2.5", "1", "0", rng, "2.5", "0", "step 0");
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
    test_json_strings();
    test_write_strings(dir);
    test_not_files(dir);
    test_model_checks();
    test_checkpoint_checks(dir);

    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", dir);
    return test_exit_code();
}
