/* main.c — `swmrbus`: dispatches to the subcommands (one file each). */
#include <stdio.h>
#include <string.h>

#include "cli.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    void (*help)(FILE *to);
    const char *synopsis; /* after "swmrbus " */
    const char *summary;
} command;

static const command commands[] = {
    {"run", swmrbus_cli_run, swmrbus_cli_run_help, "run CONFIG [--log-level L]",
     "run the components of a pipeline config until SIGINT/SIGTERM"},
    {"demo", swmrbus_cli_demo, swmrbus_cli_demo_help, "demo [--frames N] [--shape HxW] [--dir DIR] [--sim-only]",
     "a built-in frame simulator into a sink; prints how to read the file"},
    {"recover", swmrbus_cli_recover, swmrbus_cli_recover_help, "recover FILE...",
     "make the file of a crashed sink open as a normal HDF5 file"},
    {"ctl", swmrbus_cli_ctl, swmrbus_cli_ctl_help,
     "ctl ENDPOINT status|flush|close [SERIES] [--timeout S]",
     "send one control request, print the reply as JSON"},
    {"tail", swmrbus_cli_tail, swmrbus_cli_tail_help,
     "tail ENDPOINT... [--json] [--topic T] [--count N] [--timeout S]",
     "print notifications as they come, one line each"},
    {"check", swmrbus_cli_check, swmrbus_cli_check_help, "check CONFIG",
     "validate a config (every problem, nothing created)"},
    {"keygen", swmrbus_cli_keygen, swmrbus_cli_keygen_help, "keygen NAME [--dir DIR]",
     "write a CURVE certificate pair DIR/NAME.key, DIR/NAME.key_secret"},
    {"version", swmrbus_cli_version, swmrbus_cli_version_help, "version",
     "versions of swmrbus, its wire protocol and plugin ABI"},
};
#define N_COMMANDS (sizeof commands / sizeof commands[0])

static void usage(FILE *to)
{
    fprintf(to, "usage: swmrbus COMMAND [ARGS]\n"
                "       swmrbus COMMAND --help    the command's manual\n"
                "       swmrbus --version\n\ncommands:\n");
    for (size_t i = 0; i < N_COMMANDS; i++)
        fprintf(to, "  %-60s\n      %s\n", commands[i].synopsis, commands[i].summary);
}

static const command *find(const char *name)
{
    for (size_t i = 0; i < N_COMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0) return &commands[i];
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    const char *name = argv[1];
    if (strcmp(name, "--version") == 0 || strcmp(name, "-V") == 0)
        return swmrbus_cli_version(1, argv + 1);
    if (strcmp(name, "help") == 0 || strcmp(name, "--help") == 0 || strcmp(name, "-h") == 0) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            const command *c = find(argv[2]);
            if (!c) {
                fprintf(stderr, "swmrbus: unknown command '%s'\n", argv[2]);
                usage(stderr);
                return 2;
            }
            c->help(stdout);
            return 0;
        }
        usage(stdout);
        return 0;
    }
    const command *c = find(name);
    if (!c) {
        fprintf(stderr, "swmrbus: unknown command '%s'\n", name);
        usage(stderr);
        return 2;
    }
    if (swmrbus_cli_wants_help(argc - 1, argv + 1)) {
        c->help(stdout);
        return 0;
    }
    return c->run(argc - 1, argv + 1);
}
