/*
 * `mnistcl serve`: a draw-a-digit web page and its JSON API (docs/SERVE.md) for a saved
 * model: the options, loading the model, the test set and the device, starting the
 * server (host/serve/), waiting for SIGINT/SIGTERM/SIGHUP, stopping it cleanly.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli_common.h"
#include "cli/cli_options.h"
#include "core/signals.h"

#ifdef MNISTCL_HAVE_MICROHTTPD
#include "serve/http_server.h"
#include "serve/serve_api.h"
#endif

static const char synopsis[] =
    "usage: mnistcl serve --model FILE [--host ADDR] [--port N] [options]\n"
    "Serves a page to draw digits on and see what the model makes of them (the 28x28\n"
    "image it sees, its ten outputs, its guess), and to browse its test set and its\n"
    "mistakes; JSON endpoints under /api (docs/SERVE.md). It answers on 127.0.0.1 only\n"
    "unless --host says otherwise; anyone who can reach the address can use it.\n"
    "Limits: 2 MiB bodies (413 beyond), 10 s per connection (one request each; cut\n"
    "after that), 5 s idle, 64 connections, 16 per client address, drawings up to\n"
    "1024x1024. It runs until SIGINT (Ctrl-C), SIGTERM or SIGHUP, then closes every\n"
    "connection and exits with 128 + the signal's number (130, 143, 129). Exit 4: the\n"
    "address cannot be had (port in use: pick another, or --port 0 for any free one);\n"
    "1: built without libmicrohttpd.";

#ifdef MNISTCL_HAVE_MICROHTTPD
/* Sleeps a tenth of a second. */
static void nap(void)
{
    struct timespec ts = {0, 100000000L};
    nanosleep(&ts, NULL);
}

/* The file name of path without its folders. */
static const char *base_name(const char *path)
{
    const char *slash = strrchr(path, '/');
    return slash && slash[1] ? slash + 1 : path;
}

/* Loads, starts, waits for a signal, stops. Returns the exit code. */
static int serve(const char *model, const char *host, int port, const char *device,
                 const char *dataset_name, const char *data_dir, const char *activation,
                 const char *output)
{
    mc_error err = {{0}};
    mlp_spec spec;
    float *params = NULL;
    static st_file meta; /* (large: kept off the stack) */
    dataset test = {0};
    backend *be = NULL;
    serve_app *app = NULL;
    http_server *server = NULL;
    /* the address first: one in use is known before the loading */
    mc_status st = http_server_open(&server, host, port, &err);
    if (!st)
        st = cli_load_model(model, activation, output, &spec, &params, &meta, &err);
    const char *name = dataset_name ? dataset_name : cli_model_dataset(&meta);
    if (!st)
        st = cli_load_data(name, data_dir, NULL, &test, &err);
    if (!st)
        st = cli_open_device(device, &be, &err);
    serve_model_info info = {base_name(model), name};
    if (!st)
        st = serve_app_create(&app, be, &spec, params, &test, &info, &err);
    free(params);
    dataset_free(&test);
    if (!st) {
        int n = serve_app_test_images(app), wrong = serve_app_mistakes(app);
        printf("model %s on the %s test set: accuracy %.2f%% (%d of %d images wrong)\n",
               model, name, n ? 100.0 * (n - wrong) / n : 0.0, wrong, n);
        /* from here the first signal only asks the loop below to stop the server */
        signals_defer_note("\nmnistcl: serve: stopping (a second signal stops at once)\n");
        st = http_server_start(server, app, &err);
    }
    int rc;
    if (st) {
        rc = cli_report(st, &err);
    } else {
        printf("serving %s (Ctrl-C stops)%s\n", http_server_url(server),
               http_server_loopback(server) ? "" : "; not a loopback address: other machines "
                                                   "can reach it");
        fflush(stdout);
        int sig;
        while (!(sig = signals_pending()))
            nap();
        long cut = http_server_cut(server);
        http_server_stop(server);
        server = NULL;
        printf("stopped by %s; %ld connection%s cut by the deadline\n",
               sig == SIGINT ? "SIGINT" : sig == SIGTERM ? "SIGTERM" : sig == SIGHUP ? "SIGHUP"
                                                                               : "a signal",
               cut, cut == 1 ? "" : "s");
        rc = signals_exit_code(sig);
    }
    http_server_stop(server);
    signals_defer(0);
    serve_app_destroy(app);
    backend_destroy(be);
    st_free(&meta);
    return rc;
}
#endif

int cmd_serve(int argc, char **argv)
{
    const char *model = NULL, *host = "127.0.0.1", *device = cli_default_device(),
               *dataset_name = NULL, *data_dir = NULL, *activation = "relu", *output = "softmax";
    int port = 8080;
    cli_option table[] = {
        cli_opt("model", OPT_STRING, &model, "FILE",
                "model file written by `train --save` (or a PyTorch nn.Sequential state_dict "
                "saved with safetensors)", 0, 0),
        cli_opt("host", OPT_STRING, &host, "ADDR",
                "address to listen on (0.0.0.0 or :: open it to the network)", 0, 0),
        cli_opt("port", OPT_INT, &port, "N", "port to listen on (0: any free one; the URL is "
                "printed)", 0, 65535),
        cli_opt("device", OPT_STRING, &device, "SPEC", "auto, cpu, opencl or P:D", 0, 0),
        cli_opt("dataset", OPT_STRING, &dataset_name, "NAME",
                "test set to browse: mnist or fashion (default: the model's, else mnist)", 0, 0),
        cli_opt("data", OPT_STRING, &data_dir, "DIR", "folder of the IDX files (raw or .gz)", 0,
                0),
        cli_opt("activation", OPT_STRING, &activation, "NAME",
                "a state_dict's hidden activation: relu, sigmoid or tanh (mnistcl models "
                "record their own)", 0, 0),
        cli_opt("output", OPT_STRING, &output, "NAME",
                "a state_dict's output: softmax or sigmoid-mse", 0, 0),
    };
    int n = (int)(sizeof table / sizeof table[0]);
    mc_error err = {{0}};
    int rc = cli_parse(argc, argv, 2, table, n, synopsis, &err);
    if (rc == CLI_HELP)
        return 0;
    if (rc)
        return cli_report((mc_status)rc, &err);
#ifndef MNISTCL_HAVE_MICROHTTPD
    return cli_report(mc_fail(&err, MC_ERR_RUNTIME,
                              "serve is unavailable: this mnistcl was built without "
                              "libmicrohttpd (install libmicrohttpd-dev and rebuild)"),
                      &err);
#else
    if (!model)
        return cli_report(mc_fail(&err, MC_ERR_USAGE, "serve needs --model FILE"), &err);
    signals_ignore_pipe(); /* a client gone mid-reply is that connection's problem only */
    return serve(model, host, port, device, dataset_name, data_dir, activation, output);
#endif
}
