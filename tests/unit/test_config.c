/* test_config.c — config loading: defaults, every key, every error class
 * with its path, JSON, the example configs in configs/, and the helpers
 * used by built-in runs. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "swmrbus/config.h"

/* A minimal valid component of each built-in kind, as flow maps. */
#define SINK_MIN "{name: w, kind: sink, dir: /tmp/d, in: {endpoint: 'tcp://127.0.0.1:5555'}}"
#define SOURCE_MIN \
    "{name: r, kind: source, dirs: [/tmp/d], in: {endpoint: 'tcp://127.0.0.1:5556'}}"
#define SIM_MIN "{name: s, kind: sim, out: {endpoint: 'inproc://frames'}}"

static swmrbus_config *parse_ok(const char *yaml)
{
    swmrbus_config *cfg = NULL;
    char err[512] = "unset";
    swmrbus_err rc = swmrbus_config_parse(yaml, strlen(yaml), &cfg, err, sizeof err);
    if (rc != SWMRBUS_OK) fail_msg("expected OK, got %d: %s\n--- config:\n%s", rc, err, yaml);
    assert_non_null(cfg);
    assert_string_equal(err, "");
    return cfg;
}

/* Parses yaml, expects ECONFIG and an error line holding want1 (and want2). */
static void parse_bad(const char *yaml, const char *want1, const char *want2)
{
    swmrbus_config *cfg = (swmrbus_config *)1;
    char err[512] = "";
    swmrbus_err rc = swmrbus_config_parse(yaml, strlen(yaml), &cfg, err, sizeof err);
    if (rc != SWMRBUS_ECONFIG) fail_msg("expected ECONFIG, got %d (%s) for:\n%s", rc, err, yaml);
    assert_null(cfg);
    if (!strstr(err, want1) || (want2 && !strstr(err, want2)))
        fail_msg("error \"%s\" lacks \"%s\"%s%s%s", err, want1, want2 ? " / \"" : "",
                 want2 ? want2 : "", want2 ? "\"" : "");
    assert_null(strchr(err, '\n'));
    assert_null(strchr(err, '\r'));
}

/* "components: [<a>]" or "[<a>, <b>]". */
static const char *one(const char *comp)
{
    static _Thread_local char buf[4096];
    snprintf(buf, sizeof buf, "components: [%s]\n", comp);
    return buf;
}

static const char *tmp_dir(void)
{
    static char dir[1024];
    const char *env = getenv("SWMRBUS_TEST_TMP");
    snprintf(dir, sizeof dir, "%s", env && *env ? env : "/tmp/swmrbus-test-tmp");
    for (char *p = dir + 1; *p; p++) { /* mkdir -p */
        if (*p != '/') continue;
        *p = '\0';
        mkdir(dir, 0755);
        *p = '/';
    }
    if (mkdir(dir, 0755) != 0 && errno != EEXIST) fail_msg("mkdir %s: %s", dir, strerror(errno));
    return dir;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(text, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}

static void assert_default_limits(const swmrbus_limits *l)
{
    swmrbus_limits d;
    swmrbus_limits_default(&d);
    assert_int_equal(l->max_header_bytes, 65536);
    assert_int_equal(l->max_frame_bytes, 67108864);
    assert_int_equal(l->max_frames, 10000000);
    assert_int_equal(l->max_open_series, 16);
    assert_int_equal(l->max_queue_bytes, 268435456);
    assert_memory_equal(l, &d, sizeof d);
}

/* The defaults every component gets for keys it did not set. */
static void assert_common_defaults(const swmrbus_component_cfg *c)
{
    assert_string_equal(c->file, "{name}_{series}.h5");
    assert_int_equal(c->flush_frames, 100);
    assert_int_equal(c->flush_ms, 200);
    assert_int_equal(c->linger_ms, 1000);
    assert_int_equal(c->idle_close_ms, 0);
    assert_int_equal(c->compression, SWMRBUS_ENC_NONE);
    assert_default_limits(&c->limits);
    assert_int_equal(c->from, SWMRBUS_FROM_START);
    assert_int_equal(c->stale_ms, 10000);
    assert_int_equal(c->sim_series, 1);
    assert_int_equal(c->sim_frames, 1000);
    assert_int_equal(c->sim_format.ndim, 2);
    assert_int_equal(c->sim_format.shape[0], 64);
    assert_int_equal(c->sim_format.shape[1], 128);
    assert_int_equal(c->sim_format.dtype, SWMRBUS_DTYPE_UINT16);
    assert_int_equal(c->sim_format.encoding, SWMRBUS_ENC_RAW);
    assert_true(c->sim_rate_hz == 0.0);
    assert_int_equal(c->out.pattern, SWMRBUS_PATTERN_PUSH);
    assert_true(c->out.bind);
    assert_int_equal(c->out.hwm, 1000);
    assert_true(c->notify.bind);
    assert_int_equal(c->notify.hwm, 1000);
    assert_true(c->control.bind);
    assert_int_equal(c->control.hwm, 1000);
}

/* ---- defaults ---------------------------------------------------------- */

static void test_defaults_sink(void **state)
{
    (void)state;
    swmrbus_config *cfg = parse_ok(one(SINK_MIN));
    const swmrbus_component_cfg *c = &cfg->components[0];
    assert_int_equal(cfg->n_components, 1);
    assert_string_equal(c->name, "w");
    assert_string_equal(c->kind, "sink");
    assert_string_equal(c->dir, "/tmp/d");
    assert_true(c->in.present);
    assert_int_equal(c->in.n_endpoints, 1);
    assert_string_equal(c->in.endpoints[0], "tcp://127.0.0.1:5555");
    assert_null(c->in.endpoints[1]);
    assert_int_equal(c->in.pattern, SWMRBUS_PATTERN_PULL);
    assert_true(c->in.bind); /* a sink's pull binds */
    assert_int_equal(c->in.hwm, 1000);
    assert_false(c->out.present);
    assert_false(c->notify.present);
    assert_false(c->control.present);
    assert_int_equal(c->out.n_endpoints, 0);
    assert_common_defaults(c);
    swmrbus_config_destroy(&cfg);
    assert_null(cfg);
}

static void test_defaults_sink_sub(void **state)
{
    (void)state;
    swmrbus_config *cfg = parse_ok(one("{name: w, kind: sink, dir: d, "
                                       "in: {endpoint: 'tcp://h:1', pattern: sub}}"));
    assert_int_equal(cfg->components[0].in.pattern, SWMRBUS_PATTERN_SUB);
    assert_false(cfg->components[0].in.bind); /* only a sink's pull binds */
    swmrbus_config_destroy(&cfg);

    cfg = parse_ok(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1', bind: false}}"));
    assert_int_equal(cfg->components[0].in.pattern, SWMRBUS_PATTERN_PULL);
    assert_false(cfg->components[0].in.bind);
    swmrbus_config_destroy(&cfg);
}

static void test_defaults_source(void **state)
{
    (void)state;
    swmrbus_config *cfg = parse_ok(one(SOURCE_MIN));
    const swmrbus_component_cfg *c = &cfg->components[0];
    assert_string_equal(c->kind, "source");
    assert_null(c->dir);
    assert_int_equal(c->in.pattern, SWMRBUS_PATTERN_SUB);
    assert_false(c->in.bind);
    assert_int_equal(c->in.hwm, 1000);
    assert_common_defaults(c);
    swmrbus_config_destroy(&cfg);

    cfg = parse_ok(one("{name: r, kind: source, dirs: [d], in: {endpoint: 'tcp://h:1', pattern: pull}, "
                       "out: {endpoint: 'tcp://h:2'}, notify: {endpoint: 'tcp://h:3'}}"));
    c = &cfg->components[0];
    assert_int_equal(c->in.pattern, SWMRBUS_PATTERN_PULL);
    assert_false(c->in.bind); /* a source's pull connects */
    assert_true(c->out.present);
    assert_int_equal(c->out.pattern, SWMRBUS_PATTERN_PUSH);
    assert_true(c->out.bind);
    assert_true(c->notify.present);
    assert_int_equal(c->notify.pattern, SWMRBUS_PATTERN_PUB);
    assert_true(c->notify.bind);
    swmrbus_config_destroy(&cfg);
}

static void test_defaults_sim(void **state)
{
    (void)state;
    swmrbus_config *cfg = parse_ok(one(SIM_MIN));
    const swmrbus_component_cfg *c = &cfg->components[0];
    assert_string_equal(c->kind, "sim");
    assert_false(c->in.present);
    assert_true(c->out.present);
    assert_string_equal(c->out.endpoints[0], "inproc://frames");
    assert_common_defaults(c);
    swmrbus_config_destroy(&cfg);
}

static void test_defaults_plugin(void **state)
{
    (void)state;
    swmrbus_config *cfg = parse_ok(one("{name: p, kind: ./libmine.so}"));
    const swmrbus_component_cfg *c = &cfg->components[0];
    assert_string_equal(c->kind, "./libmine.so");
    assert_false(c->in.present);
    assert_common_defaults(c);
    swmrbus_config_destroy(&cfg);

    /* an outside plugin takes the common keys */
    cfg = parse_ok(one("{name: p, kind: mine, in: {endpoint: 'tcp://h:1'}, "
                       "out: {endpoint: 'tcp://h:2', pattern: pub}, notify: {endpoint: 'tcp://h:3'},"
                       " control: {endpoint: 'tcp://127.0.0.1:4'}, limits: {max_frames: 5}}"));
    c = &cfg->components[0];
    assert_int_equal(c->in.pattern, SWMRBUS_PATTERN_PULL);
    assert_false(c->in.bind);
    assert_int_equal(c->out.pattern, SWMRBUS_PATTERN_PUB);
    assert_true(c->control.present);
    assert_int_equal(c->limits.max_frames, 5);
    swmrbus_config_destroy(&cfg);
}

/* ---- every key ------------------------------------------------------------ */

static const char every_key[] =
    "components:\n"
    "  - name: writer\n"
    "    kind: sink\n"
    "    in:\n"
    "      endpoints: ['tcp://127.0.0.1:5555', 'ipc:///tmp/x', 'inproc://y']\n"
    "      pattern: sub\n"
    "      bind: true\n"
    "      hwm: 7\n"
    "    notify: {endpoint: 'tcp://127.0.0.1:5556', bind: false, hwm: 8}\n"
    "    control: {endpoint: 'tcp://127.0.0.1:5557', bind: false, hwm: 9}\n"
    "    dir: /data/run42\n"
    "    file: 'run_{series}_{name}.h5'\n"
    "    flush: {frames: 10, ms: 20}\n"
    "    linger_ms: 30\n"
    "    idle_close_ms: 40\n"
    "    compression: bslz4\n"
    "    limits:\n"
    "      max_header_bytes: 64\n"
    "      max_frame_bytes: 2\n"
    "      max_frames: 3\n"
    "      max_open_series: 4\n"
    "      max_queue_bytes: 1099511627776\n"
    "  - name: reader\n"
    "    kind: source\n"
    "    in: {endpoint: 'tcp://127.0.0.1:5556', pattern: sub, bind: true, hwm: 1}\n"
    "    out: {endpoint: 'tcp://127.0.0.1:5600', pattern: pub, bind: false, hwm: 11}\n"
    "    notify: {endpoints: ['tcp://127.0.0.1:5601']}\n"
    "    control: {endpoint: 'tcp://127.0.0.1:5602'}\n"
    "    from: latest\n"
    "    stale_ms: 50\n"
    "    limits: {max_open_series: 2}\n"
    "  - name: sim\n"
    "    kind: sim\n"
    "    out: {endpoint: 'inproc://frames', pattern: push, bind: false, hwm: 12}\n"
    "    series: 7\n"
    "    frames: 0\n"
    "    shape: [3, 4, 5]\n"
    "    dtype: float64\n"
    "    encoding: lz4\n"
    "    rate_hz: 2.5\n"
    "  - name: other\n"
    "    kind: sink\n"
    "    dir: d\n"
    "    in: {endpoint: 'tcp://h:1'}\n"
    "    compression: lz4\n"
    "    idle_close_ms: 0\n"
    "  - name: other-sim\n"
    "    kind: sim\n"
    "    out: {endpoint: 'inproc://frames2'}\n"
    "    shape: [10]\n"
    "    dtype: int8\n"
    "    encoding: bslz4\n"
    "    rate_hz: 100\n";

static void test_every_key(void **state)
{
    (void)state;
    swmrbus_config *cfg = parse_ok(every_key);
    const swmrbus_component_cfg *c;
    assert_int_equal(cfg->n_components, 5);

    c = &cfg->components[0];
    assert_string_equal(c->name, "writer");
    assert_string_equal(c->kind, "sink");
    assert_int_equal(c->in.n_endpoints, 3);
    assert_string_equal(c->in.endpoints[0], "tcp://127.0.0.1:5555");
    assert_string_equal(c->in.endpoints[1], "ipc:///tmp/x");
    assert_string_equal(c->in.endpoints[2], "inproc://y");
    assert_int_equal(c->in.pattern, SWMRBUS_PATTERN_SUB);
    assert_true(c->in.bind);
    assert_int_equal(c->in.hwm, 7);
    assert_true(c->notify.present);
    assert_string_equal(c->notify.endpoints[0], "tcp://127.0.0.1:5556");
    assert_false(c->notify.bind);
    assert_int_equal(c->notify.hwm, 8);
    assert_true(c->control.present);
    assert_false(c->control.bind);
    assert_int_equal(c->control.hwm, 9);
    assert_string_equal(c->dir, "/data/run42");
    assert_string_equal(c->file, "run_{series}_{name}.h5");
    assert_int_equal(c->flush_frames, 10);
    assert_int_equal(c->flush_ms, 20);
    assert_int_equal(c->linger_ms, 30);
    assert_int_equal(c->idle_close_ms, 40);
    assert_int_equal(c->compression, SWMRBUS_ENC_BSLZ4);
    assert_int_equal(c->limits.max_header_bytes, 64);
    assert_int_equal(c->limits.max_frame_bytes, 2);
    assert_int_equal(c->limits.max_frames, 3);
    assert_int_equal(c->limits.max_open_series, 4);
    assert_true(c->limits.max_queue_bytes == 1ull << 40);

    c = &cfg->components[1];
    assert_string_equal(c->kind, "source");
    assert_int_equal(c->in.pattern, SWMRBUS_PATTERN_SUB);
    assert_true(c->in.bind);
    assert_int_equal(c->in.hwm, 1);
    assert_true(c->out.present);
    assert_string_equal(c->out.endpoints[0], "tcp://127.0.0.1:5600");
    assert_int_equal(c->out.pattern, SWMRBUS_PATTERN_PUB);
    assert_false(c->out.bind);
    assert_int_equal(c->out.hwm, 11);
    assert_int_equal(c->notify.n_endpoints, 1);
    assert_string_equal(c->notify.endpoints[0], "tcp://127.0.0.1:5601");
    assert_string_equal(c->control.endpoints[0], "tcp://127.0.0.1:5602");
    assert_int_equal(c->from, SWMRBUS_FROM_LATEST);
    assert_int_equal(c->stale_ms, 50);
    assert_int_equal(c->limits.max_open_series, 2);
    assert_int_equal(c->limits.max_frames, 10000000);

    c = &cfg->components[2];
    assert_string_equal(c->kind, "sim");
    assert_int_equal(c->out.pattern, SWMRBUS_PATTERN_PUSH);
    assert_false(c->out.bind);
    assert_int_equal(c->out.hwm, 12);
    assert_int_equal(c->sim_series, 7);
    assert_int_equal(c->sim_frames, 0);
    assert_int_equal(c->sim_format.ndim, 3);
    assert_int_equal(c->sim_format.shape[0], 3);
    assert_int_equal(c->sim_format.shape[1], 4);
    assert_int_equal(c->sim_format.shape[2], 5);
    assert_int_equal(c->sim_format.dtype, SWMRBUS_DTYPE_FLOAT64);
    assert_int_equal(c->sim_format.encoding, SWMRBUS_ENC_LZ4);
    assert_true(c->sim_rate_hz == 2.5);

    c = &cfg->components[3];
    assert_int_equal(c->compression, SWMRBUS_ENC_LZ4);
    assert_int_equal(c->idle_close_ms, 0);

    c = &cfg->components[4];
    assert_int_equal(c->sim_format.ndim, 1);
    assert_int_equal(c->sim_format.shape[0], 10);
    assert_int_equal(c->sim_format.shape[1], 0);
    assert_int_equal(c->sim_format.dtype, SWMRBUS_DTYPE_INT8);
    assert_int_equal(c->sim_format.encoding, SWMRBUS_ENC_BSLZ4);
    assert_true(c->sim_rate_hz == 100.0);
    swmrbus_config_destroy(&cfg);
}

static void test_endpoints(void **state)
{
    (void)state;
    char comp[2048];
    swmrbus_config *cfg;
    size_t n;

    /* 16 endpoints: the maximum */
    n = (size_t)snprintf(comp, sizeof comp, "{name: w, kind: sink, dir: d, in: {endpoints: [");
    for (int i = 0; i < SWMRBUS_MAX_ENDPOINTS; i++)
        n += (size_t)snprintf(comp + n, sizeof comp - n, "%s'tcp://h:%d'", i ? ", " : "", 5555 + i);
    snprintf(comp + n, sizeof comp - n, "]}}");
    cfg = parse_ok(one(comp));
    assert_int_equal(cfg->components[0].in.n_endpoints, SWMRBUS_MAX_ENDPOINTS);
    assert_string_equal(cfg->components[0].in.endpoints[15], "tcp://h:5570");
    swmrbus_config_destroy(&cfg);

    /* 17: one too many */
    n = (size_t)snprintf(comp, sizeof comp, "{name: w, kind: sink, dir: d, in: {endpoints: [");
    for (int i = 0; i <= SWMRBUS_MAX_ENDPOINTS; i++)
        n += (size_t)snprintf(comp + n, sizeof comp - n, "%s'tcp://h:%d'", i ? ", " : "", 5555 + i);
    snprintf(comp + n, sizeof comp - n, "]}}");
    parse_bad(one(comp), "components[0].in.endpoints: too many entries", "16");

    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoints: []}}"),
              "components[0].in.endpoints: too few entries", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1', endpoints: ['tcp://h:2']}}"),
              "components[0].in: give endpoint or endpoints, not both", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {pattern: pull}}"),
              "components[0].in: endpoint or endpoints required", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: ''}}"),
              "components[0].in.endpoint: must not be empty", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: '127.0.0.1:5555'}}"),
              "components[0].in.endpoint: expected transport://address", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoints: ['tcp://h:1', '']}}"),
              "components[0].in.endpoints[1]: must not be empty", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoints: ['tcp://h:1', 'tcp://h:1']}}"),
              "components[0].in.endpoints[1]: duplicate", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoints: ['tcp://h:1', [x]]}}"),
              "components[0].in.endpoints[1]: expected a scalar, got a list", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoints: 'tcp://h:1'}}"),
              "components[0].in.endpoints: expected a list, got a scalar", NULL);
}

/* ---- errors --------------------------------------------------------------- */

static void test_unknown_keys(void **state)
{
    (void)state;
    parse_bad("components:\n"
              "  - name: a\n"
              "    kind: sink\n"
              "    dir: /tmp\n"
              "    in: {endpoint: 'tcp://127.0.0.1:5555'}\n"
              "  - name: b\n"
              "    kind: sink\n"
              "    dir: /tmp\n"
              "    in: {endpoint: 'tcp://127.0.0.1:5565'}\n"
              "    flush:\n"
              "      frames: 5\n"
              "      frmaes: 5\n",
              "components[1].flush.frmaes: unknown key", NULL);
    parse_bad("components: [" SINK_MIN "]\ncomponent: []\n", "component: unknown key", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1', bnid: true}}"),
              "components[0].in.bnid: unknown key", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, limits: {max_frame: 1}}"),
              "components[0].limits.max_frame: unknown key", NULL);
    parse_bad(one(SIM_MIN ", {name: t, kind: sim, out: {endpoint: 'inproc://f'}, fps: 3}"),
              "components[1].fps: unknown key", NULL);
    /* keys are case-sensitive */
    parse_bad(one("{Name: w, kind: sink}"), "components[0].Name: unknown key", NULL);
    /* a key with a newline still gives one line */
    parse_bad(one("{name: w, kind: sink, \"a\\nb\": 1}"), "components[0].a?b: unknown key", NULL);
}

static void test_duplicate_key(void **state)
{
    (void)state;
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, "
                  "flush: {frames: 1, frames: 2}}"),
              "components[0].flush.frames: duplicate key", NULL);
    parse_bad(one("{name: w, name: v, kind: sink}"), "components[0].name: duplicate key", NULL);
}

static void test_wrong_types(void **state)
{
    (void)state;
    /* bool: true | false only */
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1', bind: yes}}"),
              "components[0].in.bind: expected true or false", "\"yes\"");
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1', bind: 1}}"),
              "components[0].in.bind: expected true or false", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1', bind: }}"),
              "components[0].in.bind: expected true or false", NULL);
    /* integers: decimal digits only */
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1', hwm: 12abc}}"),
              "components[0].in.hwm: expected a non-negative integer", "\"12abc\"");
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1', hwm: -1}}"),
              "components[0].in.hwm: expected a non-negative integer", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1', hwm: 2147483648}}"),
              "components[0].in.hwm: too large", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, flush: {ms: 0x10}}"),
              "components[0].flush.ms: expected a non-negative integer", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, flush: {ms: 1e3}}"),
              "components[0].flush.ms: expected a non-negative integer", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, linger_ms: 2.5}"),
              "components[0].linger_ms: expected a non-negative integer", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, "
                  "limits: {max_queue_bytes: 18446744073709551616}}"),
              "components[0].limits.max_queue_bytes: too large", NULL);
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, frames: ~}"),
              "components[0].frames: expected a non-negative integer", NULL);
    /* numbers */
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, rate_hz: -1}"),
              "components[0].rate_hz: expected a number >= 0", NULL);
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, rate_hz: .inf}"),
              "components[0].rate_hz: expected a number >= 0", NULL);
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, rate_hz: nan}"),
              "components[0].rate_hz: expected a number >= 0", NULL);
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, rate_hz: 5Hz}"),
              "components[0].rate_hz: expected a number >= 0", NULL);
    /* structure */
    parse_bad(one("{name: w, kind: sink, dir: d, in: 'tcp://h:1'}"),
              "components[0].in: expected a map, got a scalar", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, flush: [1, 2]}"),
              "components[0].flush: expected a map, got a list", NULL);
    parse_bad(one("{name: [w], kind: sink}"), "components[0].name: expected a scalar, got a list",
              NULL);
    parse_bad(one("{name: w, kind: {a: b}}"), "components[0].kind: expected a scalar, got a map",
              NULL);
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, shape: 64}"),
              "components[0].shape: expected a list, got a scalar", NULL);
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, shape: [64, [1]]}"),
              "components[0].shape[1]: expected a scalar, got a list", NULL);
    parse_bad("components: {name: w}\n", "components: expected a list, got a map", NULL);
    parse_bad("components: [5]\n", "components[0]: expected a map, got a scalar", NULL);
    parse_bad("- a\n- b\n", "top level: expected a map, got a list", NULL);
    parse_bad("just text\n", "top level: expected a map, got a scalar", NULL);
}

static void test_syntax_error(void **state)
{
    (void)state;
    parse_bad("components:\n  - {name: a, kind: sim\n  - b\n", "YAML syntax error", NULL);
    parse_bad("components: [\n", "YAML syntax error", NULL);
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, frames: *nope}"),
              "components[0].frames: YAML aliases (*name) are not allowed", NULL);
    /* bytes libyaml refuses: told with line and column */
    parse_bad("components:\n  - {name: \x01}\n", "line 2, column 12: control character 0x01",
              NULL);
    parse_bad("components:\n\n  - {name: a\xff}\n", "line 3, column 13: invalid UTF-8", NULL);
    parse_bad("components: [{name: \xc3}]\n", "line 1, column 21: invalid UTF-8", NULL);
    parse_bad("components: [{name: \xed\xa0\x80}]\n", "invalid UTF-8", NULL); /* surrogate */
    parse_bad("components: [{name: \xe0\x80\x80}]\n", "invalid UTF-8", NULL); /* overlong */
    /* but UTF-8 text is fine */
    swmrbus_config *cfg = parse_ok(one("{name: caméra-Ω, kind: sink, dir: /tmp/données, "
                                       "in: {endpoint: 'tcp://h:1'}}"));
    assert_string_equal(cfg->components[0].name, "caméra-Ω");
    assert_string_equal(cfg->components[0].dir, "/tmp/données");
    swmrbus_config_destroy(&cfg);
}

static void test_required(void **state)
{
    (void)state;
    parse_bad("", "components: required", NULL);
    parse_bad("# only a comment\n", "components: required", NULL);
    parse_bad("components: []\n", "components", NULL);
    parse_bad(one("{kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}}"), "components[0].name: required",
              NULL);
    parse_bad(one("{name: '', kind: sink}"), "components[0].name: must not be empty", NULL);
    parse_bad(one("{name: w, dir: d, in: {endpoint: 'tcp://h:1'}}"), "components[0].kind: required",
              NULL);
    parse_bad(one("{name: w, kind: ''}"), "components[0].kind: must not be empty", NULL);
    parse_bad(one(SIM_MIN ", {name: w, kind: sink, in: {endpoint: 'tcp://h:1'}}"),
              "components[1].dir: required for kind sink", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d}"), "components[0].in: required for kind sink", NULL);
    parse_bad(one("{name: r, kind: source}"), "components[0].in: required for kind source", NULL);
    parse_bad(one("{name: s, kind: sim}"), "components[0].out: required for kind sim", NULL);
    parse_bad(one("{name: w, kind: sink, dir: '', in: {endpoint: 'tcp://h:1'}}"),
              "components[0].dir: must not be empty", NULL);
}

static void test_not_a_key_of_kind(void **state)
{
    (void)state;
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, from: start}"),
              "components[0].from: not a key of kind sink", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, stale_ms: 5}"),
              "components[0].stale_ms: not a key of kind sink", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, out: {endpoint: 'tcp://h:2'}}"),
              "components[0].out: not a key of kind sink", NULL);
    /* the sim's keys at component level */
    static const char *const sim_keys[] = {"series: 1", "frames: 1", "shape: [1]",
                                           "dtype: uint8", "encoding: raw", "rate_hz: 1"};
    for (size_t i = 0; i < sizeof sim_keys / sizeof sim_keys[0]; i++) {
        char comp[256], want[64];
        snprintf(comp, sizeof comp, "{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, %s}",
                 sim_keys[i]);
        snprintf(want, sizeof want, "components[0].%.*s: not a key of kind sink",
                 (int)strcspn(sim_keys[i], ":"), sim_keys[i]);
        parse_bad(one(comp), want, NULL);
    }
    /* the sink's keys on a source */
    static const char *const sink_keys[] = {"dir: d", "file: x.h5", "flush: {frames: 1}",
                                            "linger_ms: 1", "idle_close_ms: 1",
                                            "compression: none"};
    for (size_t i = 0; i < sizeof sink_keys / sizeof sink_keys[0]; i++) {
        char comp[256], want[64];
        snprintf(comp, sizeof comp, "{name: r, kind: source, in: {endpoint: 'tcp://h:1'}, %s}",
                 sink_keys[i]);
        snprintf(want, sizeof want, "components[0].%.*s: not a key of kind source",
                 (int)strcspn(sink_keys[i], ":"), sink_keys[i]);
        parse_bad(one(comp), want, NULL);
    }
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, in: {endpoint: 'inproc://g'}}"),
              "components[0].in: not a key of kind sim", NULL);
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, limits: {max_frames: 1}}"),
              "components[0].limits: not a key of kind sim", NULL);
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, notify: {endpoint: 'inproc://g'}}"),
              "components[0].notify: not a key of kind sim", NULL);
    /* outside plugins: the common keys only */
    parse_bad(one("{name: p, kind: libmine.so, dir: d}"),
              "components[0].dir: not a key of kind \"libmine.so\"", NULL);
    parse_bad(one("{name: p, kind: mine, rate_hz: 1}"), "components[0].rate_hz: not a key of kind",
              NULL);
    /* sockets: notify is always PUB, control always REP */
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, "
                  "notify: {endpoint: 'tcp://h:2', pattern: pub}}"),
              "components[0].notify.pattern: not a key of notify", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, "
                  "control: {endpoint: 'tcp://h:2', pattern: rep}}"),
              "components[0].control.pattern: not a key of control", NULL);
}

static void test_patterns(void **state)
{
    (void)state;
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1', pattern: push}}"),
              "components[0].in.pattern: expected pull or sub", "\"push\"");
    parse_bad(one("{name: r, kind: source, in: {endpoint: 'tcp://h:1'}, "
                  "out: {endpoint: 'tcp://h:2', pattern: pull}}"),
              "components[0].out.pattern: expected push or pub", "\"pull\"");
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1', pattern: PULL}}"),
              "components[0].in.pattern: expected pull or sub", NULL);
}

/* limits.max_memory_bytes (sink memory bound): default 1 GiB, a value,
 * 0 refused with its path. */
static void test_max_memory_bytes(void **state)
{
    (void)state;
    swmrbus_config *cfg = parse_ok(one(SINK_MIN));
    assert_true(cfg->components[0].max_memory_bytes == (1ull << 30));
    swmrbus_config_destroy(&cfg);
    cfg = parse_ok(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, "
                       "limits: {max_memory_bytes: 100663296}}"));
    assert_true(cfg->components[0].max_memory_bytes == 100663296);
    swmrbus_config_destroy(&cfg);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, "
                  "limits: {max_memory_bytes: 0}}"),
              "components[0].limits.max_memory_bytes: must be >= 1", NULL);
    swmrbus_component_cfg c;
    assert_int_equal(swmrbus_component_cfg_init(&c, "w", "sink"), SWMRBUS_OK);
    assert_true(c.max_memory_bytes == SWMRBUS_DEFAULT_MAX_MEMORY_BYTES);
    swmrbus_component_cfg_clear(&c);
}

static void test_values(void **state)
{
    (void)state;
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, compression: raw}"),
              "components[0].compression: expected none, bslz4 or lz4", "\"raw\"");
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, compression: gzip}"),
              "components[0].compression: expected none, bslz4 or lz4", NULL);
    parse_bad(one("{name: r, kind: source, in: {endpoint: 'tcp://h:1'}, from: end}"),
              "components[0].from: expected start or latest", "\"end\"");
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, flush: {frames: 0}}"),
              "components[0].flush.frames: must be >= 1", NULL);
    static const char *const limits[] = {"max_header_bytes", "max_frame_bytes", "max_frames",
                                         "max_open_series", "max_queue_bytes"};
    for (size_t i = 0; i < 5; i++) {
        char comp[256], want[96];
        snprintf(comp, sizeof comp,
                 "{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, limits: {%s: 0}}",
                 limits[i]);
        snprintf(want, sizeof want, "components[0].limits.%s: must be >= ", limits[i]);
        parse_bad(one(comp), want, NULL);
    }
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, shape: []}"),
              "components[0].shape: too few entries", NULL);
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, shape: [1, 2, 3, 4]}"),
              "components[0].shape: too many entries (at most 3)", NULL);
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, shape: [64, 0]}"),
              "components[0].shape[1]: must be >= 1", NULL);
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, "
                  "shape: [4294967296, 4294967296, 4294967296]}"),
              "components[0].shape: frame size overflows", NULL);
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, dtype: int128}"),
              "components[0].dtype: expected uint8", "\"int128\"");
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, encoding: none}"),
              "components[0].encoding: expected raw, bslz4 or lz4", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, file: '{nmae}.h5'}"),
              "components[0].file: placeholders are {name} and {series}", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, file: '../x.h5'}"),
              "components[0].file: must be a file name", NULL);
    parse_bad(one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, file: ''}"),
              "components[0].file: must not be empty", NULL);
    /* a long value is truncated in the message */
    char comp[1024], big[600];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    snprintf(comp, sizeof comp, "{name: r, kind: source, in: {endpoint: 'tcp://h:1'}, from: %s}", big);
    parse_bad(one(comp), "components[0].from: expected start or latest", "...");
}

/* ---- bounds of numbers (issue 9) ------------------------------------------ */

/* One bounded key: a component with "%s" where the value goes, the key's
 * path, its range. */
typedef struct bound_case {
    const char *comp;
    const char *path;
    unsigned long long min, max;
} bound_case;

#define SINK_WITH(x) "{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, " x "}"
#define SINK_IN_WITH(x) "{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1', " x "}}"
#define SOURCE_WITH(x) "{name: r, kind: source, dirs: [d], in: {endpoint: 'tcp://h:1'}, " x "}"
#define SIM_WITH(x) "{name: s, kind: sim, out: {endpoint: 'inproc://f'}, " x "}"

static const bound_case bound_cases[] = {
    {SINK_WITH("flush: {frames: %s}"), "flush.frames", 1, SWMRBUS_CFG_FLUSH_FRAMES_MAX},
    {SINK_WITH("flush: {ms: %s}"), "flush.ms", 0, SWMRBUS_CFG_MS_MAX},
    {SINK_WITH("linger_ms: %s"), "linger_ms", 0, SWMRBUS_CFG_MS_MAX},
    {SINK_WITH("idle_close_ms: %s"), "idle_close_ms", 0, SWMRBUS_CFG_MS_MAX},
    {SOURCE_WITH("stale_ms: %s"), "stale_ms", 0, SWMRBUS_CFG_MS_MAX},
    {SINK_IN_WITH("hwm: %s"), "in.hwm", 1, SWMRBUS_CFG_HWM_MAX},
    {SOURCE_WITH("out: {endpoint: 'tcp://h:2', hwm: %s}"), "out.hwm", 1, SWMRBUS_CFG_HWM_MAX},
    {SINK_WITH("notify: {endpoint: 'tcp://h:2', hwm: %s}"), "notify.hwm", 1,
     SWMRBUS_CFG_HWM_MAX},
    {SINK_WITH("control: {endpoint: 'tcp://127.0.0.1:2', hwm: %s}"), "control.hwm", 1,
     SWMRBUS_CFG_HWM_MAX},
    {SINK_WITH("limits: {max_header_bytes: %s}"), "limits.max_header_bytes",
     SWMRBUS_CFG_HEADER_BYTES_MIN, SWMRBUS_CFG_HEADER_BYTES_MAX},
    {SINK_WITH("limits: {max_frame_bytes: %s}"), "limits.max_frame_bytes", 1,
     SWMRBUS_CFG_FRAME_BYTES_MAX},
    {SINK_WITH("limits: {max_frames: %s}"), "limits.max_frames", 1, SWMRBUS_CFG_FRAMES_MAX},
    {SOURCE_WITH("limits: {max_open_series: %s}"), "limits.max_open_series", 1,
     SWMRBUS_CFG_OPEN_SERIES_MAX},
    {SINK_WITH("limits: {max_queue_bytes: %s}"), "limits.max_queue_bytes", 1,
     SWMRBUS_CFG_QUEUE_BYTES_MAX},
    {SIM_WITH("series: %s"), "series", 0, SWMRBUS_CFG_SIM_SERIES_MAX},
    {SIM_WITH("frames: %s"), "frames", 0, SWMRBUS_CFG_SIM_FRAMES_MAX},
};

/* The parsed value of the key a bound_case sets. */
static unsigned long long bound_value(const swmrbus_component_cfg *c, const char *path)
{
    if (!strcmp(path, "flush.frames")) return c->flush_frames;
    if (!strcmp(path, "flush.ms")) return c->flush_ms;
    if (!strcmp(path, "linger_ms")) return c->linger_ms;
    if (!strcmp(path, "idle_close_ms")) return c->idle_close_ms;
    if (!strcmp(path, "stale_ms")) return c->stale_ms;
    if (!strcmp(path, "in.hwm")) return (unsigned long long)c->in.hwm;
    if (!strcmp(path, "out.hwm")) return (unsigned long long)c->out.hwm;
    if (!strcmp(path, "notify.hwm")) return (unsigned long long)c->notify.hwm;
    if (!strcmp(path, "control.hwm")) return (unsigned long long)c->control.hwm;
    if (!strcmp(path, "limits.max_header_bytes")) return c->limits.max_header_bytes;
    if (!strcmp(path, "limits.max_frame_bytes")) return c->limits.max_frame_bytes;
    if (!strcmp(path, "limits.max_frames")) return c->limits.max_frames;
    if (!strcmp(path, "limits.max_open_series")) return c->limits.max_open_series;
    if (!strcmp(path, "limits.max_queue_bytes")) return c->limits.max_queue_bytes;
    if (!strcmp(path, "series")) return c->sim_series;
    if (!strcmp(path, "frames")) return c->sim_frames;
    fail_msg("no such bound: %s", path);
    return 0;
}

static const char *with_value(const bound_case *bc, unsigned long long v)
{
    static char comp[512];
    char num[32];
    const char *at = strstr(bc->comp, "%s");
    assert_non_null(at);
    snprintf(num, sizeof num, "%llu", v);
    snprintf(comp, sizeof comp, "%.*s%s%s", (int)(at - bc->comp), bc->comp, num, at + 2);
    return one(comp);
}

/* Below the minimum, at both ends, above the maximum: the ends load with
 * their value, the others fail naming the key path and the allowed range. */
static void test_bounds(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof bound_cases / sizeof bound_cases[0]; i++) {
        const bound_case *bc = &bound_cases[i];
        char want_path[96], want_range[96];
        snprintf(want_path, sizeof want_path, "components[0].%s: ", bc->path);
        snprintf(want_range, sizeof want_range, "(allowed %llu..%llu)", bc->min, bc->max);

        const unsigned long long ok[] = {bc->min, bc->max, bc->min + (bc->max - bc->min) / 2};
        for (size_t k = 0; k < 3; k++) {
            swmrbus_config *cfg = parse_ok(with_value(bc, ok[k]));
            assert_int_equal(bound_value(&cfg->components[0], bc->path), ok[k]);
            swmrbus_config_destroy(&cfg);
        }
        if (bc->min > 0) parse_bad(with_value(bc, bc->min - 1), want_path, want_range);
        parse_bad(with_value(bc, bc->max + 1), want_path, want_range);
        parse_bad(with_value(bc, bc->max * 2 + 7), want_path, want_range);
        parse_bad(with_value(bc, UINT64_MAX), want_path, want_range);
    }
    /* a sim frame over max_frame_bytes' bound is refused too */
    swmrbus_config *cfg = parse_ok(one(SIM_WITH("shape: [65536, 32768], dtype: uint16")));
    assert_int_equal(swmrbus_format_raw_bytes(&cfg->components[0].sim_format), 4ull << 30);
    swmrbus_config_destroy(&cfg);
    parse_bad(one(SIM_WITH("shape: [65536, 32769], dtype: uint16")),
              "components[0].shape: frame larger than 4294967296 bytes", NULL);
}

/* The largest limits a config may give make a sink's and a source's
 * ZMQ_MAXMSGSIZE exact and positive (no wrap); out-of-bound limits that a
 * program sets by hand give -1 (no cap), never a wrapped size. */
static void test_msg_max(void **state)
{
    (void)state;
    char yaml[512];
    snprintf(yaml, sizeof yaml,
             SINK_WITH("limits: {max_header_bytes: %llu, max_frame_bytes: %llu, "
                       "max_frames: %llu, max_open_series: %llu, max_queue_bytes: %llu}"),
             SWMRBUS_CFG_HEADER_BYTES_MAX, SWMRBUS_CFG_FRAME_BYTES_MAX, SWMRBUS_CFG_FRAMES_MAX,
             SWMRBUS_CFG_OPEN_SERIES_MAX, SWMRBUS_CFG_QUEUE_BYTES_MAX);
    swmrbus_config *cfg = parse_ok(one(yaml));
    const swmrbus_limits *l = &cfg->components[0].limits;
    int64_t frame = swmrbus_limits_frame_msg_max(l);
    int64_t notice = swmrbus_limits_notice_msg_max(l);
    /* 8 x 4 GiB + 16 MiB + 64 KiB, computed without the helper */
    assert_true(frame == (int64_t)34376581120LL);
    assert_true(frame > 0 && (uint64_t)frame > 8 * l->max_frame_bytes);
    assert_true(notice == (int64_t)(16777216 + 4096));
    swmrbus_config_destroy(&cfg);

    swmrbus_limits d;
    swmrbus_limits_default(&d);
    assert_true(swmrbus_limits_frame_msg_max(&d) == 8 * 67108864LL + 65536 + 65536);
    assert_true(swmrbus_limits_notice_msg_max(&d) == 65536 + 4096);
    d.max_header_bytes = SWMRBUS_CFG_HEADER_BYTES_MIN;
    d.max_frame_bytes = 1;
    assert_true(swmrbus_limits_frame_msg_max(&d) == 8 + 64 + 65536);
    assert_true(swmrbus_limits_notice_msg_max(&d) == 64 + 4096);

    swmrbus_limits_default(&d);
    d.max_frame_bytes = UINT64_MAX / 8 + 1; /* 8 x this wraps to 0 */
    assert_true(swmrbus_limits_frame_msg_max(&d) == -1);
    d.max_frame_bytes = SWMRBUS_CFG_FRAME_BYTES_MAX + 1;
    assert_true(swmrbus_limits_frame_msg_max(&d) == -1);
    swmrbus_limits_default(&d);
    d.max_header_bytes = UINT64_MAX - 100;
    assert_true(swmrbus_limits_frame_msg_max(&d) == -1);
    assert_true(swmrbus_limits_notice_msg_max(&d) == -1);
    assert_true(swmrbus_limits_frame_msg_max(NULL) == -1);
}

/* libcyaml expands aliases by replaying their anchor's events: a few
 * hundred bytes could ask for gigabytes. Aliases are refused, at once. */
static void test_aliases_refused(void **state)
{
    (void)state;
    parse_bad(one("{name: &n w, kind: sink, dir: *n, in: {endpoint: 'tcp://h:1'}}"),
              "components[0].dir: YAML aliases (*name) are not allowed", NULL);
    parse_bad("components:\n  - &c " SIM_MIN "\n  - *c\n",
              "components[1]: YAML aliases (*name) are not allowed", NULL);
    parse_bad(one("{name: s, kind: sim, out: {endpoint: 'inproc://f'}, <<: {dir: x}}"),
              "components[0].<<: unknown key", NULL);
    /* "billion laughs": 9 levels of 9 aliases each, 9^9 names */
    char bomb[4096] = "components:\n  - {name: &a0 w, kind: sim, out: {endpoint: 'inproc://f'}}\n";
    for (int lvl = 1; lvl <= 9; lvl++) {
        size_t n = strlen(bomb);
        snprintf(bomb + n, sizeof bomb - n, "  - &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
                 "*a%d, *a%d]\n", lvl, lvl - 1, lvl - 1, lvl - 1, lvl - 1, lvl - 1, lvl - 1,
                 lvl - 1, lvl - 1, lvl - 1);
    }
    parse_bad(bomb, "components[1]: expected a map, got a list", NULL);
    /* the same with the list where a list is taken, and a long anchored name */
    parse_bad("components:\n  - {name: &s wwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwwww, kind: sim, "
              "out: {endpoints: [*s, *s, *s, *s, *s, *s, *s, *s, *s, *s, *s, *s, *s]}}\n",
              "components[0].out.endpoints[0]: YAML aliases (*name) are not allowed", NULL);
}

/* dirs (source) and file_mode (sink): issue 9's file safety keys. */
static void test_file_safety_keys(void **state)
{
    (void)state;
    /* a source alone must name its dirs */
    parse_bad(one("{name: r, kind: source, in: {endpoint: 'tcp://h:1'}}"),
              "components[0].dirs: required when no sink in this config", NULL);
    parse_bad(one(SIM_MIN ", {name: r, kind: source, in: {endpoint: 'tcp://h:1'}}"),
              "components[1].dirs: required when no sink in this config", NULL);
    /* by default: every sink's dir, each once, whatever the order */
    swmrbus_config *cfg = parse_ok(one(
        "{name: r, kind: source, in: {endpoint: 'tcp://h:1'}}, " SINK_MIN ", "
        "{name: w2, kind: sink, dir: /tmp/d, in: {endpoint: 'tcp://h:2'}}, "
        "{name: w3, kind: sink, dir: rel/e, in: {endpoint: 'tcp://h:3'}}"));
    const swmrbus_component_cfg *c = &cfg->components[0];
    assert_int_equal(c->n_dirs, 2);
    assert_string_equal(c->dirs[0], "/tmp/d");
    assert_string_equal(c->dirs[1], "rel/e");
    assert_int_equal(cfg->components[1].file_mode, 0644);
    assert_int_equal(cfg->components[1].n_dirs, 0);
    swmrbus_config_destroy(&cfg);
    /* given: kept as given, no sink's dir added */
    cfg = parse_ok(one(SINK_MIN ", {name: r, kind: source, dirs: [/a, 'b/c'], "
                       "in: {endpoint: 'tcp://h:1'}}"));
    c = &cfg->components[1];
    assert_int_equal(c->n_dirs, 2);
    assert_string_equal(c->dirs[0], "/a");
    assert_string_equal(c->dirs[1], "b/c");
    swmrbus_config_destroy(&cfg);
    parse_bad(one("{name: r, kind: source, dirs: [], in: {endpoint: 'tcp://h:1'}}"),
              "components[0].dirs: too few entries", NULL);
    parse_bad(one("{name: r, kind: source, dirs: [/a, ''], in: {endpoint: 'tcp://h:1'}}"),
              "components[0].dirs[1]: must not be empty", NULL);
    parse_bad(one("{name: r, kind: source, dirs: /a, in: {endpoint: 'tcp://h:1'}}"),
              "components[0].dirs", "expected a list");
    parse_bad(one("{name: w, kind: sink, dir: d, dirs: [d], in: {endpoint: 'tcp://h:1'}}"),
              "components[0].dirs: not a key of kind \"sink\"", NULL);
    parse_bad(one("{name: p, kind: mine, dirs: [d]}"),
              "components[0].dirs: not a key of kind \"mine\"", NULL);

    /* file_mode: octal, owner read and write */
    static const struct { const char *v; unsigned mode; } good[] = {
        {"'0644'", 0644}, {"\"0640\"", 0640}, {"0600", 0600}, {"660", 0660}, {"0777", 0777},
    };
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        char comp[256];
        snprintf(comp, sizeof comp, "{name: w, kind: sink, dir: d, file_mode: %s, "
                 "in: {endpoint: 'tcp://h:1'}}", good[i].v);
        cfg = parse_ok(one(comp));
        assert_int_equal(cfg->components[0].file_mode, good[i].mode);
        swmrbus_config_destroy(&cfg);
    }
    static const char *const bad[] = {"'0999'", "'01644'", "'u+rw'", "'64'", "'-644'",
                                      "'0x1a4'", "'00644'"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char comp[256];
        snprintf(comp, sizeof comp, "{name: w, kind: sink, dir: d, file_mode: %s, "
                 "in: {endpoint: 'tcp://h:1'}}", bad[i]);
        parse_bad(one(comp), "components[0].file_mode: expected octal permissions", NULL);
    }
    parse_bad(one("{name: w, kind: sink, dir: d, file_mode: '0444', in: {endpoint: 'tcp://h:1'}}"),
              "components[0].file_mode: the owner needs read and write", NULL);
    parse_bad(one("{name: r, kind: source, dirs: [d], file_mode: '0644', "
                  "in: {endpoint: 'tcp://h:1'}}"),
              "components[0].file_mode: not a key of kind \"source\"", NULL);
}

static void test_duplicate_names(void **state)
{
    (void)state;
    parse_bad(one(SINK_MIN ", " SIM_MIN ", {name: w, kind: source, in: {endpoint: 'tcp://h:1'}}"),
              "components[2].name: duplicate name \"w\"", "components[0]");
    swmrbus_config *cfg = parse_ok(one(SINK_MIN ", " SOURCE_MIN ", " SIM_MIN));
    assert_int_equal(cfg->n_components, 3);
    swmrbus_config_destroy(&cfg);
}

static void test_error_buffer(void **state)
{
    (void)state;
    const char *bad = one("{name: w, kind: sink, dir: d, in: {endpoint: 'tcp://h:1'}, from: x}");
    swmrbus_config *cfg = NULL;
    char small[12];
    memset(small, 'Z', sizeof small);
    assert_int_equal(swmrbus_config_parse(bad, strlen(bad), &cfg, small, sizeof small),
                     SWMRBUS_ECONFIG);
    assert_int_equal(strlen(small), sizeof small - 1);
    assert_string_equal(small, "components[");
    assert_int_equal(swmrbus_config_parse(bad, strlen(bad), &cfg, NULL, 0), SWMRBUS_ECONFIG);
    assert_null(cfg);
    /* libcyaml's errors too */
    bad = "components:\n  - {name: a, kind: sink, dir: d, frmaes: 1}\n";
    assert_int_equal(swmrbus_config_parse(bad, strlen(bad), &cfg, small, 5), SWMRBUS_ECONFIG);
    assert_string_equal(small, "comp");
    assert_int_equal(swmrbus_config_parse(bad, strlen(bad), &cfg, NULL, 0), SWMRBUS_ECONFIG);
    /* arguments */
    assert_int_equal(swmrbus_config_parse(bad, strlen(bad), NULL, small, sizeof small),
                     SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_config_parse(NULL, 5, &cfg, small, sizeof small), SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_config_load(NULL, &cfg, small, sizeof small), SWMRBUS_EINVAL);
    /* an embedded NUL is not text */
    assert_int_equal(swmrbus_config_parse("components: []\0x", 16, &cfg, small, sizeof small),
                     SWMRBUS_ECONFIG);
    /* not NUL-terminated: only len bytes are read */
    char text[] = "components: [" SIM_MIN "]\nXXXX";
    cfg = parse_ok("components: [" SIM_MIN "]\n");
    swmrbus_config_destroy(&cfg);
    assert_int_equal(swmrbus_config_parse(text, strlen(text) - 4, &cfg, NULL, 0), SWMRBUS_OK);
    swmrbus_config_destroy(&cfg);
    swmrbus_config_destroy(&cfg); /* NULL: no-op */
    swmrbus_config_destroy(NULL);
}

/* ---- files ---------------------------------------------------------------- */

static void test_json_file(void **state)
{
    (void)state;
    char path[1200], err[512];
    swmrbus_config *cfg = NULL;
    snprintf(path, sizeof path, "%s/test_config.json", tmp_dir());
    write_file(path,
               "{\n"
               "  \"components\": [\n"
               "    {\"name\": \"w\", \"kind\": \"sink\", \"dir\": \"/tmp/d\",\n"
               "     \"in\": {\"endpoints\": [\"tcp://127.0.0.1:5555\", \"tcp://127.0.0.1:5556\"],\n"
               "            \"pattern\": \"pull\", \"bind\": false, \"hwm\": 10},\n"
               "     \"flush\": {\"frames\": 5, \"ms\": 50},\n"
               "     \"limits\": {\"max_frames\": 100}},\n"
               "    {\"name\": \"s\", \"kind\": \"sim\", \"out\": {\"endpoint\": \"inproc://f\"},\n"
               "     \"shape\": [2, 3], \"dtype\": \"int32\", \"rate_hz\": 12.5}\n"
               "  ]\n"
               "}\n");
    assert_int_equal(swmrbus_config_load(path, &cfg, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(cfg->n_components, 2);
    assert_int_equal(cfg->components[0].in.n_endpoints, 2);
    assert_string_equal(cfg->components[0].in.endpoints[1], "tcp://127.0.0.1:5556");
    assert_false(cfg->components[0].in.bind);
    assert_int_equal(cfg->components[0].in.hwm, 10);
    assert_int_equal(cfg->components[0].flush_frames, 5);
    assert_int_equal(cfg->components[0].flush_ms, 50);
    assert_int_equal(cfg->components[0].limits.max_frames, 100);
    assert_int_equal(cfg->components[1].sim_format.dtype, SWMRBUS_DTYPE_INT32);
    assert_int_equal(cfg->components[1].sim_format.ndim, 2);
    assert_true(cfg->components[1].sim_rate_hz == 12.5);
    swmrbus_config_destroy(&cfg);

    /* errors in JSON name their path the same way */
    write_file(path, "{\"components\": [{\"name\": \"w\", \"kind\": \"sink\", \"dir\": \"d\",\n"
                     " \"in\": {\"endpoint\": \"tcp://h:1\"}, \"flush\": {\"frmaes\": 1}}]}\n");
    assert_int_equal(swmrbus_config_load(path, &cfg, err, sizeof err), SWMRBUS_ECONFIG);
    assert_null(cfg);
    assert_non_null(strstr(err, "components[0].flush.frmaes: unknown key"));
    write_file(path, "{\"components\": [{\"name\": \"w\", \"kind\": \"sink\", \"dir\": \"d\",\n"
                     " \"in\": {\"endpoint\": \"tcp://h:1\", \"bind\": \"maybe\"}}]}\n");
    assert_int_equal(swmrbus_config_load(path, &cfg, err, sizeof err), SWMRBUS_ECONFIG);
    assert_non_null(strstr(err, "components[0].in.bind: expected true or false"));
    remove(path);
}

static void test_yaml_file(void **state)
{
    (void)state;
    char path[1200], err[512];
    swmrbus_config *cfg = NULL;
    snprintf(path, sizeof path, "%s/test_config.yaml", tmp_dir());
    write_file(path, "# comment\ncomponents:\n  - name: s   # trailing comment\n"
                     "    kind: sim\n    out:\n      endpoint: inproc://f\n");
    assert_int_equal(swmrbus_config_load(path, &cfg, err, sizeof err), SWMRBUS_OK);
    assert_string_equal(cfg->components[0].name, "s");
    swmrbus_config_destroy(&cfg);
    remove(path);
}

static void test_load_io_errors(void **state)
{
    (void)state;
    char path[1200], err[512];
    swmrbus_config *cfg = (swmrbus_config *)1;
    snprintf(path, sizeof path, "%s/does-not-exist.yaml", tmp_dir());
    assert_int_equal(swmrbus_config_load(path, &cfg, err, sizeof err), SWMRBUS_EIO);
    assert_null(cfg);
    assert_non_null(strstr(err, "does-not-exist.yaml"));
    assert_null(strchr(err, '\n'));
    assert_int_equal(swmrbus_config_load(tmp_dir(), &cfg, err, sizeof err), SWMRBUS_EIO);
    assert_null(cfg);
}

/* Every *.yaml and *.json file in configs/ and its subfolders (two-hosts/)
 * loads: the examples stay true. Other files (a folder's README.md) are not
 * configs. */
typedef struct {
    int n, yaml, json, nested;
} example_count;

static bool has_suffix(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a > b && !strcmp(s + a - b, suffix);
}

static void load_examples_in(const char *dir, int depth, example_count *cnt)
{
    DIR *d = opendir(dir);
    struct dirent *e;

    if (!d) fail_msg("opendir %s: %s", dir, strerror(errno));
    while ((e = readdir(d)) != NULL) {
        char path[2048], err[512];
        struct stat st;
        swmrbus_config *cfg = NULL;
        if (e->d_name[0] == '.') continue;
        snprintf(path, sizeof path, "%s/%s", dir, e->d_name);
        if (stat(path, &st) != 0) continue;
        if (S_ISDIR(st.st_mode)) {
            if (depth < 4) load_examples_in(path, depth + 1, cnt);
            continue;
        }
        if (!S_ISREG(st.st_mode)) continue;
        if (!has_suffix(e->d_name, ".yaml") && !has_suffix(e->d_name, ".json")) continue;
        if (swmrbus_config_load(path, &cfg, err, sizeof err) != SWMRBUS_OK)
            fail_msg("%s: %s", path, err);
        assert_true(cfg->n_components >= 1);
        for (size_t i = 0; i < cfg->n_components; i++) {
            const swmrbus_component_cfg *c = &cfg->components[i];
            assert_non_null(c->name);
            assert_non_null(c->kind);
            if (!strcmp(c->kind, "sink")) assert_non_null(c->dir);
        }
        swmrbus_config_destroy(&cfg);
        cnt->n++;
        if (has_suffix(e->d_name, ".yaml")) cnt->yaml++;
        if (has_suffix(e->d_name, ".json")) cnt->json++;
        if (depth > 0) cnt->nested++;
    }
    closedir(d);
}

static void test_example_configs(void **state)
{
    (void)state;
    const char *src = getenv("SWMRBUS_SOURCE_DIR");
    char dir[1024];
    example_count cnt = {0, 0, 0, 0};

    if (!src || !*src) {
        print_message("SWMRBUS_SOURCE_DIR unset (set by ctest): skipping\n");
        skip();
    }
    snprintf(dir, sizeof dir, "%s/configs", src);
    load_examples_in(dir, 0, &cnt);
    print_message("loaded %d example configs (%d yaml, %d json, %d in subfolders)\n", cnt.n,
                  cnt.yaml, cnt.json, cnt.nested);
    assert_true(cnt.yaml >= 7);   /* pipeline.yaml and two-hosts/ among them */
    assert_true(cnt.json >= 1);
    assert_true(cnt.nested >= 2); /* two-hosts/daq.yaml, two-hosts/analysis.yaml */
}

/* sink.json says what sink.yaml says. */
static void test_example_json_matches_yaml(void **state)
{
    (void)state;
    const char *src = getenv("SWMRBUS_SOURCE_DIR");
    char py[1024], pj[1024], err[512];
    swmrbus_config *a = NULL, *b = NULL;
    if (!src || !*src) skip();
    snprintf(py, sizeof py, "%s/configs/sink.yaml", src);
    snprintf(pj, sizeof pj, "%s/configs/sink.json", src);
    if (swmrbus_config_load(py, &a, err, sizeof err) != SWMRBUS_OK) fail_msg("%s", err);
    if (swmrbus_config_load(pj, &b, err, sizeof err) != SWMRBUS_OK) fail_msg("%s", err);
    assert_int_equal(a->n_components, b->n_components);
    for (size_t i = 0; i < a->n_components; i++) {
        const swmrbus_component_cfg *x = &a->components[i], *y = &b->components[i];
        const swmrbus_socket_cfg *sx[] = {&x->in, &x->out, &x->notify, &x->control};
        const swmrbus_socket_cfg *sy[] = {&y->in, &y->out, &y->notify, &y->control};
        assert_string_equal(x->name, y->name);
        assert_string_equal(x->kind, y->kind);
        assert_string_equal(x->dir, y->dir);
        assert_string_equal(x->file, y->file);
        for (int s = 0; s < 4; s++) {
            assert_int_equal(sx[s]->present, sy[s]->present);
            assert_int_equal(sx[s]->n_endpoints, sy[s]->n_endpoints);
            for (unsigned k = 0; k < sx[s]->n_endpoints; k++)
                assert_string_equal(sx[s]->endpoints[k], sy[s]->endpoints[k]);
            assert_int_equal(sx[s]->pattern, sy[s]->pattern);
            assert_int_equal(sx[s]->bind, sy[s]->bind);
            assert_int_equal(sx[s]->hwm, sy[s]->hwm);
        }
        assert_int_equal(x->flush_frames, y->flush_frames);
        assert_int_equal(x->flush_ms, y->flush_ms);
        assert_int_equal(x->linger_ms, y->linger_ms);
        assert_int_equal(x->idle_close_ms, y->idle_close_ms);
        assert_int_equal(x->compression, y->compression);
        assert_memory_equal(&x->limits, &y->limits, sizeof x->limits);
    }
    swmrbus_config_destroy(&a);
    swmrbus_config_destroy(&b);
}

/* ---- helpers for built-in runs -------------------------------------------- */

static void test_component_cfg_init(void **state)
{
    (void)state;
    swmrbus_component_cfg c;

    assert_int_equal(swmrbus_component_cfg_init(&c, "w", "sink"), SWMRBUS_OK);
    assert_string_equal(c.name, "w");
    assert_string_equal(c.kind, "sink");
    assert_null(c.dir);
    assert_int_equal(c.file_mode, 0644);
    assert_false(c.in.present);
    assert_int_equal(c.in.pattern, SWMRBUS_PATTERN_PULL);
    assert_true(c.in.bind);
    assert_int_equal(c.in.hwm, 1000);
    assert_common_defaults(&c);
    /* DEFAULT keeps the kind's pattern and bind */
    assert_int_equal(swmrbus_socket_cfg_set(&c.in, "inproc://a", SWMRBUS_PATTERN_DEFAULT, false),
                     SWMRBUS_OK);
    assert_true(c.in.present);
    assert_int_equal(c.in.n_endpoints, 1);
    assert_string_equal(c.in.endpoints[0], "inproc://a");
    assert_int_equal(c.in.pattern, SWMRBUS_PATTERN_PULL);
    assert_true(c.in.bind);
    /* a given pattern brings its bind; setting again replaces the endpoint */
    assert_int_equal(swmrbus_socket_cfg_set(&c.in, "inproc://b", SWMRBUS_PATTERN_SUB, false),
                     SWMRBUS_OK);
    assert_int_equal(c.in.n_endpoints, 1);
    assert_string_equal(c.in.endpoints[0], "inproc://b");
    assert_int_equal(c.in.pattern, SWMRBUS_PATTERN_SUB);
    assert_false(c.in.bind);
    assert_int_equal(swmrbus_socket_cfg_set(&c.notify, "inproc://n", SWMRBUS_PATTERN_DEFAULT, false),
                     SWMRBUS_OK);
    assert_int_equal(c.notify.pattern, SWMRBUS_PATTERN_PUB);
    assert_true(c.notify.bind);
    assert_int_equal(c.notify.hwm, 1000);
    c.dir = strdup("/tmp/x");
    swmrbus_component_cfg_clear(&c);
    assert_null(c.name);
    assert_null(c.kind);
    assert_null(c.dir);
    assert_null(c.file);
    assert_null(c.in.endpoints[0]);
    assert_false(c.in.present);

    assert_int_equal(swmrbus_component_cfg_init(&c, "r", "source"), SWMRBUS_OK);
    assert_int_equal(c.in.pattern, SWMRBUS_PATTERN_SUB);
    assert_false(c.in.bind);
    assert_int_equal(swmrbus_socket_cfg_set(&c.out, "tcp://h:1", SWMRBUS_PATTERN_DEFAULT, false),
                     SWMRBUS_OK);
    assert_int_equal(c.out.pattern, SWMRBUS_PATTERN_PUSH);
    assert_true(c.out.bind);
    swmrbus_component_cfg_clear(&c);

    assert_int_equal(swmrbus_component_cfg_init(&c, "s", "sim"), SWMRBUS_OK);
    assert_int_equal(c.sim_frames, 1000);
    assert_int_equal(swmrbus_socket_cfg_set(&c.out, "inproc://f", SWMRBUS_PATTERN_PUSH, false),
                     SWMRBUS_OK);
    assert_false(c.out.bind);
    swmrbus_component_cfg_clear(&c);
    swmrbus_component_cfg_clear(&c); /* twice: a zeroed cfg */
    swmrbus_component_cfg_clear(NULL);

    /* a zeroed socket (not from init): the caller's bind, default hwm */
    swmrbus_socket_cfg s;
    memset(&s, 0, sizeof s);
    assert_int_equal(swmrbus_socket_cfg_set(&s, "inproc://z", SWMRBUS_PATTERN_DEFAULT, true),
                     SWMRBUS_OK);
    assert_true(s.present);
    assert_true(s.bind);
    assert_int_equal(s.hwm, 1000);
    free(s.endpoints[0]);

    assert_int_equal(swmrbus_component_cfg_init(NULL, "a", "sink"), SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_component_cfg_init(&c, NULL, "sink"), SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_socket_cfg_set(NULL, "inproc://a", SWMRBUS_PATTERN_DEFAULT, true),
                     SWMRBUS_EINVAL);
    memset(&s, 0, sizeof s);
    assert_int_equal(swmrbus_socket_cfg_set(&s, "", SWMRBUS_PATTERN_DEFAULT, true), SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_socket_cfg_set(&s, NULL, SWMRBUS_PATTERN_DEFAULT, true), SWMRBUS_EINVAL);
    assert_false(s.present);
}

static void test_pattern_name(void **state)
{
    (void)state;
    assert_string_equal(swmrbus_pattern_name(SWMRBUS_PATTERN_PULL), "pull");
    assert_string_equal(swmrbus_pattern_name(SWMRBUS_PATTERN_SUB), "sub");
    assert_string_equal(swmrbus_pattern_name(SWMRBUS_PATTERN_PUSH), "push");
    assert_string_equal(swmrbus_pattern_name(SWMRBUS_PATTERN_PUB), "pub");
    assert_string_equal(swmrbus_pattern_name(SWMRBUS_PATTERN_DEFAULT), "default");
    assert_string_equal(swmrbus_pattern_name((swmrbus_pattern)99), "unknown");
}

/* No global state: parses in several threads at once agree. */
static void *parse_loop(void *arg)
{
    intptr_t bad = 0;
    (void)arg;
    for (int i = 0; i < 200; i++) {
        swmrbus_config *cfg = NULL;
        char err[256];
        const char *text = (i % 2) ? every_key : "components: [{name: a, kind: sink, frmaes: 1}]\n";
        swmrbus_err rc = swmrbus_config_parse(text, strlen(text), &cfg, err, sizeof err);
        if (i % 2) bad += rc != SWMRBUS_OK || cfg->n_components != 5;
        else bad += rc != SWMRBUS_ECONFIG || !strstr(err, "components[0].frmaes: unknown key");
        swmrbus_config_destroy(&cfg);
    }
    return (void *)bad;
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[4];
    for (int i = 0; i < 4; i++) assert_int_equal(pthread_create(&t[i], NULL, parse_loop, NULL), 0);
    for (int i = 0; i < 4; i++) {
        void *bad = NULL;
        assert_int_equal(pthread_join(t[i], &bad), 0);
        assert_null(bad);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_sink),
        cmocka_unit_test(test_defaults_sink_sub),
        cmocka_unit_test(test_defaults_source),
        cmocka_unit_test(test_file_safety_keys),
        cmocka_unit_test(test_defaults_sim),
        cmocka_unit_test(test_defaults_plugin),
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_endpoints),
        cmocka_unit_test(test_unknown_keys),
        cmocka_unit_test(test_duplicate_key),
        cmocka_unit_test(test_wrong_types),
        cmocka_unit_test(test_syntax_error),
        cmocka_unit_test(test_required),
        cmocka_unit_test(test_not_a_key_of_kind),
        cmocka_unit_test(test_patterns),
        cmocka_unit_test(test_values),
        cmocka_unit_test(test_bounds),
        cmocka_unit_test(test_msg_max),
        cmocka_unit_test(test_aliases_refused),
        cmocka_unit_test(test_max_memory_bytes),
        cmocka_unit_test(test_duplicate_names),
        cmocka_unit_test(test_error_buffer),
        cmocka_unit_test(test_json_file),
        cmocka_unit_test(test_yaml_file),
        cmocka_unit_test(test_load_io_errors),
        cmocka_unit_test(test_example_configs),
        cmocka_unit_test(test_example_json_matches_yaml),
        cmocka_unit_test(test_component_cfg_init),
        cmocka_unit_test(test_pattern_name),
        cmocka_unit_test(test_threads),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
