/* recover.c — `swmrbus recover FILE...`. */
#include <inttypes.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "swmrbus/sink.h"

int swmrbus_cli_recover(int argc, char **argv)
{
    int first = 1;
    bool bad = false;
    if (argc > 1 && strcmp(argv[1], "--") == 0) first = 2; /* FILE names that start with - */
    for (int i = first; i < argc && first == 1 && !bad; i++) {
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "swmrbus recover: unknown option %s\n", argv[i]);
            bad = true;
        }
    }
    if (bad || argc <= first) {
        fprintf(stderr, "usage: swmrbus recover [--] FILE...\n");
        return 2;
    }
    int status = 0;
    for (int i = first; i < argc; i++) {
        char err[1024] = "";
        uint64_t frames = 0;
        if (swmrbus_sink_recover(argv[i], &frames, err, sizeof err) != SWMRBUS_OK) {
            fprintf(stderr, "swmrbus recover: %s: %s\n", argv[i], err);
            status = 1;
            continue;
        }
        printf("%s: recovered, %" PRIu64 " frames in /entry/data/data\n", argv[i], frames);
    }
    return status;
}

void swmrbus_cli_recover_help(FILE *to)
{
    fprintf(to,
            "NAME\n"
            "    swmrbus recover - make the file of a crashed sink a normal HDF5 file\n"
            "\n"
            "SYNOPSIS\n"
            "    swmrbus recover [--] FILE...\n"
            "\n"
            "DESCRIPTION\n"
            "    Clears the SWMR write flags that a sink killed mid-series left in FILE\n"
            "    (what `h5clear -s --increment` does), keeping every flushed frame, so the\n"
            "    file opens without swmr=True. Refuses a file a live sink still holds.\n"
            "    Prints the frames in /entry/data/data for each file.\n"
            "\n"
            "OPTIONS\n"
            "    --        the arguments after it are files, even if they start with -\n"
            "    --help    this text\n"
            "\n"
            "EXIT STATUS\n"
            "    0 every file recovered; 1 some file could not be; 2 usage error.\n");
}
