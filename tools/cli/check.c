/* check.c — `swmrbus check CONFIG`: validates a config and lists every
 * problem (with its key path), or says what the config runs. Reads CONFIG
 * (and loads outside plugins to check them) and nothing else: no socket is
 * bound, no directory or file created, no component created. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "swmrbus/config.h"
#include "swmrbus/host.h"
#include "swmrbus/plugin.h"

void swmrbus_cli_check_help(FILE *to)
{
    fprintf(to,
            "NAME\n"
            "    swmrbus check - validate a pipeline config, listing every problem\n"
            "\n"
            "SYNOPSIS\n"
            "    swmrbus check CONFIG\n"
            "\n"
            "DESCRIPTION\n"
            "    Loads CONFIG as `swmrbus run` would, without binding a socket or creating\n"
            "    anything. When it is valid, prints\n"
            "      CONFIG: ok (N components: NAME KIND, ...)\n"
            "    Otherwise prints every problem found, one per line, each starting with\n"
            "    its key path (CONFIG: components[1].flush.ms: ...), then a count.\n"
            "    Values, ranges, required keys, keys of another kind, duplicate names and\n"
            "    endpoints are all reported; a YAML syntax error or an unknown key stops\n"
            "    the parse, so only the first of those is. A kind that is not built in\n"
            "    names an outside plugin: it is loaded (found as `swmrbus run` would),\n"
            "    its ABI checked and its own check of its options run, then unloaded.\n"
            "\n"
            "OPTIONS\n"
            "    --help    this text\n"
            "\n"
            "EXIT STATUS\n"
            "    0   the config is valid\n"
            "    1   it has problems (all listed), or cannot be read\n"
            "    2   usage error\n");
}

typedef struct problems {
    const char *path;
    size_t n;
} problems;

static void on_problem(const char *line, void *user)
{
    problems *p = user;
    p->n++;
    printf("%s: %s\n", p->path, line);
}

int swmrbus_cli_check(int argc, char **argv)
{
    const char *path = NULL;
    for (int i = 1; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1] != '\0') {
            fprintf(stderr, "swmrbus check: unknown option %s\nusage: swmrbus check CONFIG\n",
                    argv[i]);
            return 2;
        }
        if (path) {
            fprintf(stderr, "usage: swmrbus check CONFIG\n");
            return 2;
        }
        path = argv[i];
    }
    if (!path) {
        fprintf(stderr, "usage: swmrbus check CONFIG\n");
        return 2;
    }

    problems p = {path, 0};
    swmrbus_config *cfg = NULL;
    swmrbus_err rc = swmrbus_config_check(path, &cfg, on_problem, &p);
    if (rc != SWMRBUS_OK) {
        if (p.n == 0) printf("%s: %s\n", path, swmrbus_strerror(rc));
        printf("%s: %zu problem%s\n", path, p.n, p.n == 1 ? "" : "s");
        fflush(stdout);
        return 1;
    }

    /* Every kind resolves (outside plugins are loaded, their ABI checked,
     * then unloaded; none is created) and every component with a check()
     * accepts its config: a plugin's options are checked here. */
    swmrbus_host *h = swmrbus_cli_host();
    if (!h) {
        printf("%s: cannot create the host\n", path);
        swmrbus_config_destroy(&cfg);
        return 1;
    }
    swmrbus_host_check(h, cfg, on_problem, &p);
    swmrbus_host_destroy(&h);
    if (p.n) {
        printf("%s: %zu problem%s\n", path, p.n, p.n == 1 ? "" : "s");
        swmrbus_config_destroy(&cfg);
        return 1;
    }
    printf("%s: ok (%zu component%s: ", path, cfg->n_components,
           cfg->n_components == 1 ? "" : "s");
    for (size_t i = 0; i < cfg->n_components; i++)
        printf("%s%s %s", i ? ", " : "", cfg->components[i].name, cfg->components[i].kind);
    printf(")\n");
    for (size_t i = 0; i < cfg->n_components; i++) {
        const swmrbus_component_cfg *c = &cfg->components[i];
        if (swmrbus_cli_builtin_kind(c->kind)) continue;
        printf("%s: components[%zu].kind: %s: plugin (loaded, ABI %u, config checked)\n", path,
               i, c->kind, SWMRBUS_ABI_VERSION);
    }
    swmrbus_config_destroy(&cfg);
    return 0;
}
