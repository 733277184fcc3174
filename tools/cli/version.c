/* version.c — `swmrbus version` (and `swmrbus --version`). */
#include <stdio.h>

#include "cli.h"
#include "swmrbus/plugin.h"
#include "swmrbus/wire.h"

void swmrbus_cli_version_help(FILE *to)
{
    fprintf(to,
            "NAME\n"
            "    swmrbus version - versions of swmrbus, its wire protocol and plugin ABI\n"
            "\n"
            "SYNOPSIS\n"
            "    swmrbus version\n"
            "    swmrbus --version\n"
            "\n"
            "DESCRIPTION\n"
            "    Prints one line: the swmrbus release, the wire protocol version that its\n"
            "    frames, notifications and control messages follow, and the plugin ABI\n"
            "    version an outside component must be built for.\n"
            "\n"
            "OPTIONS\n"
            "    --help    this text\n"
            "\n"
            "EXIT STATUS\n"
            "    0 always; 2 on an unknown argument.\n");
}

int swmrbus_cli_version(int argc, char **argv)
{
    (void)argv;
    if (argc > 1) {
        fprintf(stderr, "usage: swmrbus version\n");
        return 2;
    }
    printf("swmrbus %s (wire protocol %d, plugin ABI %u)\n", SWMRBUS_VERSION_STRING,
           SWMRBUS_WIRE_VERSION, SWMRBUS_ABI_VERSION);
    return 0;
}
