/* recover.c — `swmrbus recover FILE...`. */
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>

#include "cli.h"
#include "swmrbus/sink.h"

int swmrbus_cli_recover(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: swmrbus recover FILE...\n");
        return 2;
    }
    int status = 0;
    for (int i = 1; i < argc; i++) {
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
