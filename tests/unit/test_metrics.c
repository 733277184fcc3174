/* test_metrics.c — the metrics registry (registration, updates from many
 * threads, exact exposition text), the sink's latency groups, the
 * `metrics` config key and the endpoint check, and a taken port. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "stats.h"
#include "swmrbus/config.h"
#include "swmrbus/metrics.h"

/* The registry is process-wide: each test uses its own metric names and
 * looks only at its own lines of the render. */
static char *render(void)
{
    char *text = NULL;
    size_t len = 0;
    assert_int_equal(swmrbus_metrics_render(&text, &len), SWMRBUS_OK);
    assert_non_null(text);
    assert_int_equal(strlen(text), len);
    return text;
}

/* The lines of text that start with prefix, joined. */
static char *lines_of(const char *text, const char *prefix)
{
    size_t cap = strlen(text) + 1, n = 0;
    char *out = calloc(1, cap);
    for (const char *p = text; *p;) {
        const char *e = strchr(p, '\n');
        size_t l = e ? (size_t)(e - p) + 1 : strlen(p);
        if (strncmp(p, prefix, strlen(prefix)) == 0 ||
            (strncmp(p, "# ", 2) == 0 && strstr(p, prefix) == p + 7)) {
            memcpy(out + n, p, l);
            n += l;
        }
        p += l;
    }
    return out;
}

static void test_counter_gauge_text(void **state)
{
    (void)state;
    swmrbus_metric *c = NULL, *c2 = NULL, *again = NULL, *g = NULL;
    assert_int_equal(swmrbus_metrics_counter("t1_frames_total", "Frames.", "w", NULL, NULL, &c),
                     SWMRBUS_OK);
    assert_int_equal(swmrbus_metrics_counter("t1_frames_total", "ignored", "r", "reason",
                                             "bad \"x\"\\y\nz", &c2),
                     SWMRBUS_OK);
    assert_int_equal(swmrbus_metrics_counter("t1_frames_total", "Frames.", "w", NULL, NULL,
                                             &again),
                     SWMRBUS_OK);
    assert_ptr_equal(c, again);
    assert_ptr_not_equal(c, c2);
    assert_int_equal(swmrbus_metrics_gauge("t1_queue_bytes", "Queue\\n\nbytes.", "w", NULL, NULL,
                                           &g),
                     SWMRBUS_OK);
    swmrbus_metrics_add(c, 5);
    swmrbus_metrics_add(again, 2);
    swmrbus_metrics_add(c2, 1);
    swmrbus_metrics_set(c, 100); /* not for counters */
    swmrbus_metrics_sub(c, 1);   /* not for counters */
    swmrbus_metrics_add(g, 10);
    swmrbus_metrics_sub(g, 13);
    assert_int_equal(swmrbus_metrics_value(c), 7);
    assert_int_equal(swmrbus_metrics_value(g), -3);

    char *text = render();
    char *mine = lines_of(text, "t1_");
    assert_string_equal(mine,
                        "# HELP t1_frames_total Frames.\n"
                        "# TYPE t1_frames_total counter\n"
                        "t1_frames_total{component=\"w\"} 7\n"
                        "t1_frames_total{component=\"r\",reason=\"bad \\\"x\\\"\\\\y\\nz\"} 1\n"
                        "# HELP t1_queue_bytes Queue\\\\n\\nbytes.\n"
                        "# TYPE t1_queue_bytes gauge\n"
                        "t1_queue_bytes{component=\"w\"} -3\n");
    free(mine);
    free(text);

    swmrbus_metrics_set(g, 42);
    assert_int_equal(swmrbus_metrics_value(g), 42);
    /* NULL handles: no-ops */
    swmrbus_metrics_add(NULL, 1);
    swmrbus_metrics_sub(NULL, 1);
    swmrbus_metrics_set(NULL, 1);
    swmrbus_metrics_observe(NULL, 1, 1);
    assert_int_equal(swmrbus_metrics_value(NULL), 0);
}

static void test_registration_errors(void **state)
{
    (void)state;
    swmrbus_metric *m = (swmrbus_metric *)1;
    double b[] = {1, 2};
    assert_int_equal(swmrbus_metrics_counter("t2_ok_total", "h", "w", NULL, NULL, &m), SWMRBUS_OK);
    /* same name, another type */
    assert_int_equal(swmrbus_metrics_gauge("t2_ok_total", "h", "w", NULL, NULL, &m), SWMRBUS_EINVAL);
    assert_null(m);
    /* bad names and labels */
    const char *bad_names[] = {"", "1abc", "a-b", "a b", "é"};
    for (size_t i = 0; i < sizeof bad_names / sizeof bad_names[0]; i++)
        assert_int_equal(swmrbus_metrics_counter(bad_names[i], "h", "w", NULL, NULL, &m),
                         SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_metrics_counter("t2:ns_total", "h", "w", NULL, NULL, &m), SWMRBUS_OK);
    assert_int_equal(swmrbus_metrics_counter("t2_l_total", "h", "w", "component", "x", &m),
                     SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_metrics_counter("t2_l_total", "h", "w", "__x", "x", &m),
                     SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_metrics_counter("t2_l_total", "h", "w", "a:b", "x", &m),
                     SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_metrics_counter("t2_l_total", "h", "w", "reason", NULL, &m),
                     SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_metrics_counter("t2_l_total", "h", NULL, NULL, NULL, &m),
                     SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_metrics_counter("t2_l_total", NULL, "w", NULL, NULL, &m),
                     SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_metrics_counter("t2_l_total", "h", "w", NULL, NULL, NULL),
                     SWMRBUS_EINVAL);
    /* histograms: bounds increasing, 1..max, same bounds when registered again */
    double dec[] = {2, 1};
    double many[SWMRBUS_METRICS_MAX_BUCKETS + 1];
    for (int i = 0; i <= SWMRBUS_METRICS_MAX_BUCKETS; i++) many[i] = i + 1;
    assert_int_equal(swmrbus_metrics_histogram("t2_h", "h", "w", dec, 2, 1, &m), SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_metrics_histogram("t2_h", "h", "w", b, 0, 1, &m), SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_metrics_histogram("t2_h", "h", "w", many,
                                               SWMRBUS_METRICS_MAX_BUCKETS + 1, 1, &m),
                     SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_metrics_histogram("t2_h", "h", "w", b, 2, 0, &m), SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_metrics_histogram("t2_h", "h", "w", b, 2, 1, &m), SWMRBUS_OK);
    assert_int_equal(swmrbus_metrics_histogram("t2_h", "h", "r", b, 1, 1, &m), SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_metrics_histogram("t2_h", "h", "r", b, 2, 1e-3, &m), SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_metrics_counter("t2_h", "h", "w", NULL, NULL, &m), SWMRBUS_EINVAL);
}

static void test_histogram_text(void **state)
{
    (void)state;
    swmrbus_metric *h = NULL;
    const double bounds[] = {0.001, 0.01, 0.5};
    assert_int_equal(swmrbus_metrics_histogram("t3_latency_seconds", "Latency.", "w", bounds, 3,
                                               1e-9, &h),
                     SWMRBUS_OK);
    swmrbus_metrics_observe(h, 0, 1);              /* le 0.001 */
    swmrbus_metrics_observe(h, 1000000, 2);        /* exactly 0.001: le 0.001 */
    swmrbus_metrics_observe(h, 1000001, 1);        /* le 0.01 */
    swmrbus_metrics_observe(h, 400000000, 3);      /* le 0.5 */
    swmrbus_metrics_observe(h, 2000000000, 1);     /* +Inf */
    swmrbus_metrics_observe(h, 5, 0);              /* nothing */
    assert_int_equal(swmrbus_metrics_value(h), 8);
    char *text = render();
    char *mine = lines_of(text, "t3_");
    assert_string_equal(mine,
                        "# HELP t3_latency_seconds Latency.\n"
                        "# TYPE t3_latency_seconds histogram\n"
                        "t3_latency_seconds_bucket{component=\"w\",le=\"0.001\"} 3\n"
                        "t3_latency_seconds_bucket{component=\"w\",le=\"0.01\"} 4\n"
                        "t3_latency_seconds_bucket{component=\"w\",le=\"0.5\"} 7\n"
                        "t3_latency_seconds_bucket{component=\"w\",le=\"+Inf\"} 8\n"
                        "t3_latency_seconds_sum{component=\"w\"} 3.203000001\n"
                        "t3_latency_seconds_count{component=\"w\"} 8\n");
    free(mine);
    /* process basics are there, once */
    assert_non_null(strstr(text, "\n# TYPE process_resident_memory_bytes gauge\n"));
    assert_non_null(strstr(text, "\nprocess_open_fds "));
    assert_non_null(strstr(text, "\nprocess_start_time_seconds "));
    free(text);
}

#define THREADS 4
#define ADDS 200000

static void *bump(void *arg)
{
    swmrbus_metric **m = arg;
    for (int i = 0; i < ADDS; i++) {
        swmrbus_metrics_add(m[0], 1);
        swmrbus_metrics_add(m[1], 3);
        swmrbus_metrics_sub(m[1], 2);
        swmrbus_metrics_observe(m[2], (uint64_t)(i % 3), 1);
    }
    return NULL;
}

/* Registration races too: every thread registers the same names. */
static void *reg_and_bump(void *arg)
{
    (void)arg;
    const double b[] = {0.5, 1.5};
    swmrbus_metric *m[3];
    assert_int_equal(swmrbus_metrics_counter("t4_total", "h", "w", NULL, NULL, &m[0]), SWMRBUS_OK);
    assert_int_equal(swmrbus_metrics_gauge("t4_gauge", "h", "w", NULL, NULL, &m[1]), SWMRBUS_OK);
    assert_int_equal(swmrbus_metrics_histogram("t4_h", "h", "w", b, 2, 1, &m[2]), SWMRBUS_OK);
    return bump(m);
}

static void test_threads(void **state)
{
    (void)state;
    pthread_t t[THREADS];
    for (int i = 0; i < THREADS; i++)
        assert_int_equal(pthread_create(&t[i], NULL, reg_and_bump, NULL), 0);
    /* scrapes while the updates run */
    for (int i = 0; i < 20; i++) free(render());
    for (int i = 0; i < THREADS; i++) pthread_join(t[i], NULL);
    swmrbus_metric *c, *g, *h;
    const double b[] = {0.5, 1.5};
    assert_int_equal(swmrbus_metrics_counter("t4_total", "h", "w", NULL, NULL, &c), SWMRBUS_OK);
    assert_int_equal(swmrbus_metrics_gauge("t4_gauge", "h", "w", NULL, NULL, &g), SWMRBUS_OK);
    assert_int_equal(swmrbus_metrics_histogram("t4_h", "h", "w", b, 2, 1, &h), SWMRBUS_OK);
    assert_int_equal(swmrbus_metrics_value(c), (int64_t)THREADS * ADDS);
    assert_int_equal(swmrbus_metrics_value(g), (int64_t)THREADS * ADDS);
    assert_int_equal(swmrbus_metrics_value(h), (int64_t)THREADS * ADDS);
    char *text = render();
    char *mine = lines_of(text, "t4_total");
    char want[128];
    snprintf(want, sizeof want, "t4_total{component=\"w\"} %d\n", THREADS * ADDS);
    assert_non_null(strstr(mine, want));
    free(mine);
    free(text);
}

/* The sink's latency groups: exact while <= 64 arrival windows wait, never
 * understated after merging. */
static void test_latency_groups(void **state)
{
    (void)state;
    const double bounds[] = {0.001, 0.002, 0.005, 0.1, 1};
    swmrbus_metric *h = NULL;
    assert_int_equal(swmrbus_metrics_histogram("t5_latency_seconds", "h", "w", bounds, 5, 1e-9,
                                               &h),
                     SWMRBUS_OK);
    swmrbus__lat_pending p;
    memset(&p, 0, sizeof p);
    const uint64_t ms = 1000000, t0 = 1000 * ms;
    /* 10 frames in one burst (one group), then 5 frames 1 ms apart */
    for (int i = 0; i < 10; i++) swmrbus__lat_add(&p, t0 + (uint64_t)i * 1000);
    for (int i = 1; i <= 5; i++) swmrbus__lat_add(&p, t0 + (uint64_t)i * ms);
    assert_int_equal(p.used, 6);
    /* flushed at t0 + 5.5 ms: the burst waited 5.5 ms (-> le 0.1), frame
     * i waited 5.5 - i ms: 4.5, 3.5, 2.5 (le 0.005), 1.5 (le 0.002), 0.5 (le 0.001) */
    swmrbus__lat_flushed(&p, h, t0 + 5 * ms + ms / 2);
    assert_int_equal(p.used, 0);
    char *text = render();
    char *mine = lines_of(text, "t5_latency_seconds_bucket");
    assert_string_equal(mine,
                        "t5_latency_seconds_bucket{component=\"w\",le=\"0.001\"} 1\n"
                        "t5_latency_seconds_bucket{component=\"w\",le=\"0.002\"} 2\n"
                        "t5_latency_seconds_bucket{component=\"w\",le=\"0.005\"} 5\n"
                        "t5_latency_seconds_bucket{component=\"w\",le=\"0.1\"} 15\n"
                        "t5_latency_seconds_bucket{component=\"w\",le=\"1\"} 15\n"
                        "t5_latency_seconds_bucket{component=\"w\",le=\"+Inf\"} 15\n");
    free(mine);
    free(text);

    /* 1000 frames 1 ms apart: bounded groups, every frame counted, the sum
     * never below the exact one and the newest frame's group still exact */
    swmrbus_metric *h2 = NULL;
    assert_int_equal(swmrbus_metrics_histogram("t5_many_seconds", "h", "w", bounds, 5, 1e-9, &h2),
                     SWMRBUS_OK);
    uint64_t exact = 0, flush = t0 + 1000 * ms;
    for (uint64_t i = 0; i < 1000; i++) {
        swmrbus__lat_add(&p, t0 + i * ms);
        exact += flush - (t0 + i * ms);
        assert_true(p.used <= SWMRBUS__LAT_GROUPS);
    }
    assert_int_equal(p.t[p.used - 1], t0 + 999 * ms);
    swmrbus__lat_flushed(&p, h2, flush);
    assert_int_equal(swmrbus_metrics_value(h2), 1000);
    text = render();
    mine = lines_of(text, "t5_many_seconds_sum");
    double sum = 0;
    assert_int_equal(sscanf(mine, "t5_many_seconds_sum{component=\"w\"} %lf", &sum), 1);
    assert_true(sum >= (double)exact * 1e-9 - 1e-6);
    assert_true(sum <= (double)exact * 1e-9 * 1.2);
    free(mine);
    free(text);
}

static void test_endpoint_check(void **state)
{
    (void)state;
    char why[200];
    const char *good[] = {"http://127.0.0.1:9464", "http://0.0.0.0:1", "http://localhost:65535",
                          "http://[::1]:9464", "http://127.0.0.1:9464/",
                          "http://127.0.0.1:9464/metrics"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++)
        assert_int_equal(swmrbus_metrics_endpoint_check(good[i], why, sizeof why), SWMRBUS_OK);
    const struct { const char *ep, *why; } bad[] = {
        {"tcp://127.0.0.1:9464", "http://HOST:PORT"},
        {"https://127.0.0.1:9464", "http://HOST:PORT"},
        {"http://127.0.0.1", "port is required"},
        {"http://127.0.0.1:", "1..65535"},
        {"http://127.0.0.1:0", "1..65535"},
        {"http://127.0.0.1:65536", "1..65535"},
        {"http://127.0.0.1:123456", "1..65535"},
        {"http://127.0.0.1:80x", "/metrics"},
        {"http://127.0.0.1:80/other", "/metrics"},
        {"http://example.org:80", "IPv4 address"},
        {"http://300.1.1.1:80", "IPv4 address"},
        {"http://[::1:80", "unclosed"},
        {"http://[zz]:80", "IPv6"},
        {"http://:80", "http://HOST:PORT"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        why[0] = '\0';
        assert_int_equal(swmrbus_metrics_endpoint_check(bad[i].ep, why, sizeof why),
                         SWMRBUS_EINVAL);
        if (!strstr(why, bad[i].why)) fail_msg("%s: got \"%s\", want \"%s\"", bad[i].ep, why, bad[i].why);
    }
    assert_int_equal(swmrbus_metrics_endpoint_check(NULL, why, sizeof why), SWMRBUS_EINVAL);
}

#define SINK "components: [{name: w, kind: sink, dir: /tmp/d, in: {endpoint: 'tcp://127.0.0.1:5555'}}]\n"

static void test_config_key(void **state)
{
    (void)state;
    swmrbus_config *cfg = NULL;
    char err[512];
    const char *absent = SINK;
    assert_int_equal(swmrbus_config_parse(absent, strlen(absent), &cfg, err, sizeof err), SWMRBUS_OK);
    assert_false(cfg->metrics.present);
    assert_null(cfg->metrics.endpoint);
    swmrbus_config_destroy(&cfg);

    const char *ok = SINK "metrics: {endpoint: 'http://127.0.0.1:9464'}\n";
    assert_int_equal(swmrbus_config_parse(ok, strlen(ok), &cfg, err, sizeof err), SWMRBUS_OK);
    assert_true(cfg->metrics.present);
    assert_string_equal(cfg->metrics.endpoint, "http://127.0.0.1:9464");
    swmrbus_config_destroy(&cfg);

    /* before components, too */
    const char *first = "metrics:\n  endpoint: http://localhost:9464/metrics\n" SINK;
    assert_int_equal(swmrbus_config_parse(first, strlen(first), &cfg, err, sizeof err), SWMRBUS_OK);
    assert_string_equal(cfg->metrics.endpoint, "http://localhost:9464/metrics");
    swmrbus_config_destroy(&cfg);

    const struct { const char *yaml, *err; } bad[] = {
        {SINK "metrics: {endpoint: 'http://127.0.0.1:9464', path: /x}\n",
         "metrics.path: unknown key"},
        {SINK "metrics: {}\n", "metrics.endpoint: required"},
        {SINK "metrics: {endpoint: 'tcp://127.0.0.1:9464'}\n",
         "metrics.endpoint: expected http://HOST:PORT, got \"tcp://127.0.0.1:9464\""},
        {SINK "metrics: {endpoint: 'http://127.0.0.1:0'}\n", "metrics.endpoint: expected a port"},
        {SINK "metrics: {endpoint: ''}\n", "metrics.endpoint: must not be empty"},
        {SINK "metrics: {endpoint: [a]}\n", "metrics.endpoint: expected a scalar, got a list"},
        {SINK "metrics: 'http://127.0.0.1:9464'\n", "metrics: expected a map, got a scalar"},
        {SINK "metrics: {endpoint: 'http://127.0.0.1:1'}\nmetrics: {endpoint: 'http://127.0.0.1:2'}\n",
         "metrics: duplicate key"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = '\0';
        cfg = (swmrbus_config *)1;
        assert_int_equal(swmrbus_config_parse(bad[i].yaml, strlen(bad[i].yaml), &cfg, err,
                                              sizeof err),
                         SWMRBUS_ECONFIG);
        assert_null(cfg);
        if (!strstr(err, bad[i].err)) fail_msg("got \"%s\", want \"%s\"", err, bad[i].err);
    }
}

/* A taken port is a clear error; the server's own port is reported. */
static void test_server_port_taken(void **state)
{
    (void)state;
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t al = sizeof a;
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(listen(fd, 1), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &al), 0);
    char ep[64], err[256] = "";
    snprintf(ep, sizeof ep, "http://127.0.0.1:%u", (unsigned)ntohs(a.sin_port));
    swmrbus_metrics_server *s = (swmrbus_metrics_server *)1;
    assert_int_equal(swmrbus_metrics_server_start(ep, &s, err, sizeof err), SWMRBUS_EIO);
    assert_null(s);
    assert_non_null(strstr(err, "Address already in use"));
    close(fd);
    /* now free: it starts, reports its port, stops */
    assert_int_equal(swmrbus_metrics_server_start(ep, &s, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(swmrbus_metrics_server_port(s), ntohs(a.sin_port));
    swmrbus_metrics_server_destroy(&s);
    assert_null(s);
    swmrbus_metrics_server_destroy(&s);
    assert_int_equal(swmrbus_metrics_server_start("http://x:1", &s, err, sizeof err),
                     SWMRBUS_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_counter_gauge_text),
        cmocka_unit_test(test_registration_errors),
        cmocka_unit_test(test_histogram_text),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_latency_groups),
        cmocka_unit_test(test_endpoint_check),
        cmocka_unit_test(test_config_key),
        cmocka_unit_test(test_server_port_taken),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
