/* main.c — `swmrbus`: dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "swmrbus/plugin.h"
#include "swmrbus/wire.h"

static void usage(FILE *to)
{
    fprintf(to,
            "usage: swmrbus COMMAND [ARGS]\n"
            "\n"
            "  run CONFIG [--log-level L]   run the components of a pipeline config until\n"
            "                               SIGINT/SIGTERM (every file flushed and closed)\n"
            "  demo [--frames N] [--shape HxW] [--dir DIR]\n"
            "                               a built-in frame simulator into a sink; prints\n"
            "                               what it did and how to read the file\n"
            "  recover FILE...              make the file of a crashed sink open as a normal\n"
            "                               HDF5 file, keeping every flushed frame\n"
            "  ctl ENDPOINT status|flush|close [SERIES]\n"
            "                               send a control request, print the reply\n"
            "  keygen NAME [--dir D]        a CURVE certificate pair D/NAME.key, NAME.key_secret\n"
            "  version                      versions of swmrbus, its wire protocol and ABI\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *cmd = argv[1];
    if (strcmp(cmd, "run") == 0) return swmrbus_cli_run(argc - 1, argv + 1);
    if (strcmp(cmd, "demo") == 0) return swmrbus_cli_demo(argc - 1, argv + 1);
    if (strcmp(cmd, "recover") == 0) return swmrbus_cli_recover(argc - 1, argv + 1);
    if (strcmp(cmd, "ctl") == 0) return swmrbus_cli_ctl(argc - 1, argv + 1);
    if (strcmp(cmd, "keygen") == 0) return swmrbus_cli_keygen(argc - 1, argv + 1);
    if (strcmp(cmd, "version") == 0 || strcmp(cmd, "--version") == 0) {
        printf("swmrbus %s (wire protocol %d, plugin ABI %u)\n", SWMRBUS_VERSION_STRING,
               SWMRBUS_WIRE_VERSION, SWMRBUS_ABI_VERSION);
        return 0;
    }
    if (strcmp(cmd, "help") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "-h") == 0) {
        usage(stdout);
        return 0;
    }
    fprintf(stderr, "swmrbus: unknown command '%s'\n", cmd);
    usage(stderr);
    return 2;
}
