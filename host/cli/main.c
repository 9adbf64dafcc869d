/* mnistcl: the command-line entry point; dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli/cli_common.h"
#include "core/signals.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: mnistcl COMMAND [options]\n"
            "Trains fully connected networks on MNIST-format data with OpenCL kernels.\n\n"
            "commands:\n"
            "  train     train a network (default: 784-128-10 ReLU, softmax, 5 epochs)\n"
            "  eval      accuracy of a saved (or untrained) model\n"
            "  predict   show images and the network's answers (terminal, PNG, interactive)\n"
            "  forward   every layer's values for one image (= predict --verbose)\n"
            "  report    a folder of figures and a web page about a trained model\n"
            "  serve     a web page to draw digits on and see what a model makes of them\n"
            "  devices   list OpenCL platforms and devices\n"
            "  tune      search this device's kernel settings and cache the best\n\n"
            "`mnistcl COMMAND --help` lists a command's options with their defaults.\n"
            "Exit codes: 0 ok, 1 error, 2 usage, 3 bad data file, 4 I/O, 5 OpenCL,\n"
            "            6 out of memory, 7 training diverged, 130/143 stopped by\n"
            "            SIGINT/SIGTERM (train saves its work first).\n");
}

int main(int argc, char **argv)
{
    signals_install();
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0 || strcmp(cmd, "help") == 0) {
        usage(stdout);
        return 0;
    }
    if (strcmp(cmd, "--version") == 0) {
        printf("mnistcl %s\n", MNISTCL_VERSION);
        return 0;
    }
    if (strcmp(cmd, "train") == 0)
        return cmd_train(argc, argv);
    if (strcmp(cmd, "eval") == 0)
        return cmd_eval(argc, argv);
    if (strcmp(cmd, "predict") == 0 || strcmp(cmd, "forward") == 0)
        return cmd_predict(argc, argv);
    if (strcmp(cmd, "report") == 0)
        return cmd_report(argc, argv);
    if (strcmp(cmd, "serve") == 0)
        return cmd_serve(argc, argv);
    if (strcmp(cmd, "tune") == 0)
        return cmd_tune(argc, argv);
    if (strcmp(cmd, "devices") == 0)
        return cmd_devices(argc, argv);
    fprintf(stderr, "mnistcl: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
