/* run.c — `swmrbus run CONFIG`: the components of a config until a signal. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "swmrbus/config.h"
#include "swmrbus/log.h"
#include "swmrbus/metrics.h"

int swmrbus_cli_run(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--log-level") == 0 && i + 1 < argc) {
            int l = swmrbus_log_level_parse(argv[++i]);
            if (l < 0) {
                fprintf(stderr, "swmrbus run: --log-level takes debug|info|warn|error\n");
                return 2;
            }
            swmrbus_log_set_level((swmrbus_log_level)l);
        } else if (!path && argv[i][0] != '-') {
            path = argv[i];
        } else {
            fprintf(stderr, "usage: swmrbus run CONFIG [--log-level debug|info|warn|error]\n");
            return 2;
        }
    }
    if (!path) {
        fprintf(stderr, "usage: swmrbus run CONFIG [--log-level debug|info|warn|error]\n");
        return 2;
    }
    char err[2048] = "";
    swmrbus_config *cfg = NULL;
    if (swmrbus_config_load(path, &cfg, err, sizeof err) != SWMRBUS_OK) {
        fprintf(stderr, "swmrbus run: %s: %s\n", path, err);
        return 2;
    }
    swmrbus_cli_signals();
    swmrbus_cli_tune_heap();
    int status = 1;
    swmrbus_metrics_server *metrics = NULL;
    swmrbus_host *h = NULL;
    /* metrics: before the components, so a taken port stops the run before
     * any file is made; after the signal mask, which its thread inherits. */
    if (cfg->metrics.present) {
        if (swmrbus_metrics_server_start(cfg->metrics.endpoint, &metrics, err, sizeof err) !=
            SWMRBUS_OK) {
            fprintf(stderr, "swmrbus run: metrics.endpoint: %s\n", err);
            goto out;
        }
        swmrbus_log(SWMRBUS_LOG_INFO, NULL, "metrics at %s (port %u, path /metrics)",
                    cfg->metrics.endpoint, (unsigned)swmrbus_metrics_server_port(metrics));
    }
    h = swmrbus_cli_host();
    if (!h) {
        fprintf(stderr, "swmrbus run: cannot create the host\n");
        goto out;
    }
    if (swmrbus_host_start(h, cfg, err, sizeof err) != SWMRBUS_OK) {
        fprintf(stderr, "swmrbus run: %s\n", err);
        goto out;
    }
    swmrbus_log(SWMRBUS_LOG_INFO, NULL, "running %zu component(s) from %s", cfg->n_components,
                path);
    swmrbus_err rc = swmrbus_cli_wait(h, NULL, NULL);
    status = rc == SWMRBUS_OK ? 0 : 1;
    swmrbus_log(SWMRBUS_LOG_INFO, NULL, "stopped%s", status ? " with errors" : "");
out:
    swmrbus_host_destroy(&h);
    swmrbus_metrics_server_destroy(&metrics);
    swmrbus_config_destroy(&cfg);
    return status;
}

void swmrbus_cli_run_help(FILE *to)
{
    fprintf(to,
            "NAME\n"
            "    swmrbus run - run the components of a pipeline config\n"
            "\n"
            "SYNOPSIS\n"
            "    swmrbus run CONFIG [--log-level debug|info|warn|error]\n"
            "\n"
            "DESCRIPTION\n"
            "    Loads CONFIG (YAML or JSON; `swmrbus check CONFIG` lists every problem),\n"
            "    creates every component in order (binding its sockets), then runs each in\n"
            "    a thread of this process. On SIGINT or SIGTERM every sink flushes and\n"
            "    closes its files and publishes `closed`. Logs go to stderr: a line per\n"
            "    series opened and closed and, every 5 s while frames flow, the rates.\n"
            "\n"
            "OPTIONS\n"
            "    --log-level L    debug, info (default), warn or error\n"
            "    --help           this text\n"
            "\n"
            "EXIT STATUS\n"
            "    0   stopped by a signal (or every component finished) without error\n"
            "    1   a component failed to start or ended with an error\n"
            "    2   usage error, or CONFIG does not load\n");
}
