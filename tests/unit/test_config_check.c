/* test_config_check.c — swmrbus_config_check(_text): every problem of a
 * config, each with its path, in file order; structural errors stop at one;
 * a valid config comes back loaded; swmrbus_config_parse still gives the
 * first problem only; an address bound twice is a problem for both. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "swmrbus/config.h"

typedef struct lines {
    char l[32][512];
    size_t n;
} lines;

static void collect(const char *problem, void *user)
{
    lines *ls = user;
    assert_non_null(problem);
    assert_null(strchr(problem, '\n'));
    if (ls->n < 32) snprintf(ls->l[ls->n], sizeof ls->l[0], "%s", problem);
    ls->n++;
}

static swmrbus_err check(const char *yaml, lines *ls, swmrbus_config **cfg)
{
    memset(ls, 0, sizeof *ls);
    return swmrbus_config_check_text(yaml, strlen(yaml), cfg, collect, ls);
}

/* The problem lines start with these, in this order. */
static void expect(const lines *ls, const char *const *want, size_t n)
{
    if (ls->n != n) {
        for (size_t i = 0; i < ls->n && i < 32; i++) print_message("got: %s\n", ls->l[i]);
        fail_msg("expected %zu problems, got %zu", n, ls->n);
    }
    for (size_t i = 0; i < n; i++)
        if (strncmp(ls->l[i], want[i], strlen(want[i])) != 0)
            fail_msg("problem %zu: \"%s\" does not start with \"%s\"", i, ls->l[i], want[i]);
}

static const char many[] =
    "components:\n"
    "  - name: writer\n"
    "    kind: sink\n"
    "    in: {endpoint: 'tcp//bad', pattern: push, hwm: many}\n"
    "    notify: {endpoint: 'tcp://127.0.0.1:7001'}\n"
    "    dir: /nonexistent/swmrbus-check\n"
    "    flush: {frames: 0, ms: fast}\n"
    "    compression: zstd\n"
    "  - name: writer\n"
    "    kind: source\n"
    "    from: middle\n"
    "    notify: {endpoint: 'tcp://127.0.0.1:7001'}\n"
    "  - kind: sim\n"
    "    out: {endpoint: 'inproc://x', pattern: pull}\n"
    "    dtype: uint12\n"
    "    shape: [0, 4]\n"
    "    dir: /x\n"
    "  - name: ext\n"
    "    kind: myplugin\n"
    "    flush: {frames: 3}\n"
    "    limits: {max_frames: 0}\n";

static void test_every_problem(void **state)
{
    (void)state;
    lines ls;
    swmrbus_config *cfg = (swmrbus_config *)1;
    static const char *const want[] = {
        "components[0].in.endpoint: expected transport://address",
        "components[0].in.pattern: expected pull or sub",
        "components[0].in.hwm: expected a non-negative integer",
        "components[0].flush.frames: must be >= 1",
        "components[0].flush.ms: expected a non-negative integer",
        "components[0].compression: expected none, bslz4 or lz4",
        "components[1].in: required for kind source",
        "components[1].from: expected start or latest",
        "components[1].name: duplicate name \"writer\" (also components[0])",
        "components[2].name: required",
        "components[2].dir: not a key of kind sim",
        "components[2].out.pattern: expected push or pub",
        "components[2].shape[0]: must be >= 1",
        "components[2].dtype: expected uint8",
        "components[3].flush: not a key of kind \"myplugin\"",
        "components[3].limits.max_frames: must be >= 1",
        "components[1].notify: binds \"tcp://127.0.0.1:7001\", already bound by "
        "components[0].notify",
    };
    assert_int_equal(check(many, &ls, &cfg), SWMRBUS_ECONFIG);
    assert_null(cfg);
    expect(&ls, want, sizeof want / sizeof want[0]);

    /* The loader is unchanged: the first problem only. */
    char err[512] = "";
    assert_int_equal(swmrbus_config_parse(many, strlen(many), &cfg, err, sizeof err),
                     SWMRBUS_ECONFIG);
    assert_null(cfg);
    assert_string_equal(err, ls.l[0]);
    /* Checking created nothing. */
    struct stat st;
    assert_int_not_equal(stat("/nonexistent/swmrbus-check", &st), 0);
}

static void test_missing_kind_and_required(void **state)
{
    (void)state;
    lines ls;
    swmrbus_config *cfg = NULL;
    static const char *const want[] = {
        "components[0].kind: required",
        "components[0].flush.ms: expected a non-negative integer",
        "components[1].dir: required for kind sink",
        "components[1].in: required for kind sink",
        "components[2].out: required for kind sim",
        "components[2].rate_hz: expected a number >= 0",
    };
    const char *yaml = "components:\n"
                       "  - {name: a, flush: {ms: x}}\n"
                       "  - {name: b, kind: sink}\n"
                       "  - {name: c, kind: sim, rate_hz: -3}\n";
    assert_int_equal(check(yaml, &ls, &cfg), SWMRBUS_ECONFIG);
    assert_null(cfg);
    expect(&ls, want, sizeof want / sizeof want[0]);
}

static void test_structural_stops_at_one(void **state)
{
    (void)state;
    lines ls;
    swmrbus_config *cfg = NULL;
    static const char *const unknown[] = {"components[0].flush.frmaes: unknown key"};
    assert_int_equal(check("components:\n  - {name: w, kind: sink, flush: {frmaes: 3, ms: x}}\n",
                           &ls, &cfg),
                     SWMRBUS_ECONFIG);
    expect(&ls, unknown, 1);
    static const char *const none[] = {"components: required"};
    assert_int_equal(check("", &ls, &cfg), SWMRBUS_ECONFIG);
    expect(&ls, none, 1);
    assert_int_equal(check("components: [\n", &ls, &cfg), SWMRBUS_ECONFIG);
    assert_int_equal(ls.n, 1);
    assert_null(cfg);
}

static void test_valid_config_loads(void **state)
{
    (void)state;
    lines ls;
    swmrbus_config *cfg = NULL;
    const char *yaml = "components:\n"
                       "  - {name: w, kind: sink, dir: /tmp/d, in: {endpoint: 'tcp://127.0.0.1:5'},"
                       " notify: {endpoint: 'inproc://n'}}\n"
                       "  - {name: r, kind: source, in: {endpoint: 'inproc://n'}}\n"
                       "  - {name: p, kind: myplugin, in: {endpoint: 'inproc://n'}}\n";
    assert_int_equal(check(yaml, &ls, &cfg), SWMRBUS_OK);
    assert_int_equal(ls.n, 0);
    assert_non_null(cfg);
    assert_int_equal(cfg->n_components, 3);
    assert_string_equal(cfg->components[2].kind, "myplugin");
    swmrbus_config_destroy(&cfg);
    /* out may be NULL */
    memset(&ls, 0, sizeof ls);
    assert_int_equal(swmrbus_config_check_text(yaml, strlen(yaml), NULL, collect, &ls), SWMRBUS_OK);
}

static void test_bound_twice_in_load(void **state)
{
    (void)state;
    char err[512] = "";
    swmrbus_config *cfg = NULL;
    /* Two binds of one address fail at load; a bind and a connect do not. */
    const char *twice = "components:\n"
                        "  - {name: a, kind: sink, dir: /tmp/d, in: {endpoint: 'inproc://x'}}\n"
                        "  - {name: b, kind: sink, dir: /tmp/d, in: {endpoint: 'inproc://x'}}\n";
    assert_int_equal(swmrbus_config_parse(twice, strlen(twice), &cfg, err, sizeof err),
                     SWMRBUS_ECONFIG);
    assert_non_null(strstr(err, "components[1].in: binds \"inproc://x\", already bound by "
                                "components[0].in"));
    const char *same_list = "components:\n"
                            "  - {name: a, kind: sink, dir: /tmp/d,"
                            " in: {endpoint: 'inproc://x'}, control: {endpoint: 'inproc://x'}}\n";
    assert_int_equal(swmrbus_config_parse(same_list, strlen(same_list), &cfg, err, sizeof err),
                     SWMRBUS_ECONFIG);
    assert_non_null(strstr(err, "components[0].control: binds \"inproc://x\", already bound by "
                                "components[0].in"));
    const char *ok = "components:\n"
                     "  - {name: a, kind: sink, dir: /tmp/d, in: {endpoint: 'inproc://x'},"
                     " notify: {endpoint: 'inproc://n'}}\n"
                     "  - {name: b, kind: source, in: {endpoint: 'inproc://n'},"
                     " out: {endpoint: 'inproc://x', bind: false}}\n";
    assert_int_equal(swmrbus_config_parse(ok, strlen(ok), &cfg, err, sizeof err), SWMRBUS_OK);
    swmrbus_config_destroy(&cfg);
}

static void test_ipc_path_length(void **state)
{
    (void)state;
    char yaml[1024], path[200];
    lines ls;
    swmrbus_config *cfg = NULL;
    /* 107 bytes of path bind; 108 do not (sun_path is 108 with its NUL) */
    memset(path, 'a', sizeof path);
    path[0] = '/';
    path[107] = '\0';
    snprintf(yaml, sizeof yaml,
             "components: [{name: w, kind: sink, dir: /tmp/d, in: {endpoint: 'ipc://%s'}}]\n",
             path);
    assert_int_equal(check(yaml, &ls, &cfg), SWMRBUS_OK);
    swmrbus_config_destroy(&cfg);
    path[107] = 'a';
    path[108] = '\0';
    snprintf(yaml, sizeof yaml,
             "components: [{name: w, kind: sink, dir: /tmp/d, in: {endpoint: 'ipc://%s'}}]\n",
             path);
    static const char *const want[] = {"components[0].in.endpoint: ipc:// path longer than "
                                       "107 bytes (108)"};
    assert_int_equal(check(yaml, &ls, &cfg), SWMRBUS_ECONFIG);
    expect(&ls, want, 1);
}

static void test_file_and_args(void **state)
{
    (void)state;
    lines ls;
    swmrbus_config *cfg = (swmrbus_config *)1;
    memset(&ls, 0, sizeof ls);
    assert_int_equal(swmrbus_config_check("/nonexistent/swmrbus.yaml", &cfg, collect, &ls),
                     SWMRBUS_EIO);
    assert_null(cfg);
    assert_int_equal(ls.n, 1);
    assert_non_null(strstr(ls.l[0], "cannot open /nonexistent/swmrbus.yaml"));
    assert_int_equal(swmrbus_config_check(NULL, &cfg, collect, &ls), SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_config_check("x", &cfg, NULL, NULL), SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_config_check_text(NULL, 3, &cfg, collect, &ls), SWMRBUS_EINVAL);

    /* Every example config passes. */
    const char *src = getenv("SWMRBUS_SOURCE_DIR");
    const char *names[] = {"sink.yaml", "sink.json", "sink-source.yaml", "sim-sink.yaml",
                           "multi-sink.yaml", "pipeline.yaml", "two-hosts/daq.yaml",
                           "two-hosts/analysis.yaml"};
    for (size_t i = 0; src && i < sizeof names / sizeof names[0]; i++) {
        char path[4096];
        snprintf(path, sizeof path, "%s/configs/%s", src, names[i]);
        memset(&ls, 0, sizeof ls);
        swmrbus_err rc = swmrbus_config_check(path, NULL, collect, &ls);
        if (rc != SWMRBUS_OK) fail_msg("%s: %s", path, ls.l[0]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_problem),
        cmocka_unit_test(test_missing_kind_and_required),
        cmocka_unit_test(test_structural_stops_at_one),
        cmocka_unit_test(test_valid_config_loads),
        cmocka_unit_test(test_bound_twice_in_load),
        cmocka_unit_test(test_ipc_path_length),
        cmocka_unit_test(test_file_and_args),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
