/* check.c — `swmrbus check CONFIG`: validates a config and lists every
 * problem (with its key path), or says what the config runs. Reads CONFIG
 * and nothing else: no socket is bound, no directory or file created, no
 * plugin loaded. */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "swmrbus/config.h"

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
            "    names an outside plugin: it is listed as `plugin (not checked)`.\n"
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

typedef enum plugin_state {
    PLUGIN_NOT_CHECKED = 0, /* lookup not wired yet */
    PLUGIN_FOUND,           /* the .so loads and exports a matching table */
    PLUGIN_MISSING,         /* a problem: why says what */
} plugin_state;

/* HOOK for the plugin lookup (being reworked in the host): say whether the
 * outside plugin of component c can be found and loaded, without running
 * it, and on PLUGIN_MISSING write why. Until it is wired every outside kind
 * is PLUGIN_NOT_CHECKED, and `check` says so. */
static plugin_state check_plugin(const swmrbus_component_cfg *c, char *why, size_t whylen)
{
    (void)c;
    if (whylen) why[0] = '\0';
    return PLUGIN_NOT_CHECKED;
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

    /* Outside plugins go through the hook: one that cannot be found is a
     * problem; the others are listed after the summary. */
    char why[512];
    for (size_t i = 0; i < cfg->n_components; i++) {
        const swmrbus_component_cfg *c = &cfg->components[i];
        if (swmrbus_cli_builtin_kind(c->kind)) continue;
        if (check_plugin(c, why, sizeof why) == PLUGIN_MISSING) {
            printf("%s: components[%zu].kind: plugin %s: %s\n", path, i, c->kind, why);
            p.n++;
        }
    }
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
        printf("%s: components[%zu].kind: %s: %s\n", path, i, c->kind,
               check_plugin(c, why, sizeof why) == PLUGIN_FOUND ? "plugin (found)"
                                                               : "plugin (not checked)");
    }
    swmrbus_config_destroy(&cfg);
    return 0;
}
