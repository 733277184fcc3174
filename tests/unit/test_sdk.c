/* test_sdk.c — the component SDK as a plugin author uses it: the run loop
 * (control requests answered by the loop, work timing, stop from another
 * thread), the notifier (seq, relays), frame messages on sockets, and a
 * plugin's options read through the typed getters. Real ZeroMQ (inproc). */
#include <msgpack.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include <cmocka.h>

#include "swmrbus/clock.h"
#include "swmrbus/loop.h"
#include "swmrbus/notify.h"
#include "swmrbus/options.h"
#include "swmrbus/pack.h"
#include "swmrbus/socket.h"
#include "swmrbus/stream.h"

/* ---- msgpack reading for the assertions ------------------------------------- */

typedef struct reply {
    msgpack_unpacked u;
    char *bytes; /* what u's strings point into */
} reply;

static void reply_free(reply *r)
{
    msgpack_unpacked_destroy(&r->u);
    free(r->bytes);
}

static const msgpack_object *get(const msgpack_object *map, const char *key)
{
    assert_int_equal(map->type, MSGPACK_OBJECT_MAP);
    for (uint32_t i = 0; i < map->via.map.size; i++) {
        const msgpack_object_kv *kv = &map->via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == strlen(key) &&
            !memcmp(kv->key.via.str.ptr, key, strlen(key)))
            return &kv->val;
    }
    return NULL;
}

static bool str_is(const msgpack_object *o, const char *s)
{
    return o && o->type == MSGPACK_OBJECT_STR && o->via.str.size == strlen(s) &&
           !memcmp(o->via.str.ptr, s, strlen(s));
}

/* ---- the loop ------------------------------------------------------------------- */

typedef struct fixture {
    void *ctx, *rep, *req, *in, *push;
    swmrbus_loop *loop;
    int requests, frames, works;
    bool stopped_seen;
    uint64_t first_work_ns, last_work_ns;
} fixture;

static swmrbus_err on_request(const swmrbus_request *rq, swmrbus_buf *reply_buf, char *why,
                              size_t whylen, void *user)
{
    fixture *f = user;
    f->requests++;
    if (rq->cmd == SWMRBUS_CMD_FLUSH) return SWMRBUS_OK; /* empty: {ok: true} */
    if (rq->cmd == SWMRBUS_CMD_CLOSE) {
        snprintf(why, whylen, "series %llu is not open", (unsigned long long)rq->series);
        return SWMRBUS_ENOTFOUND;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, reply_buf, swmrbus_buf_write);
    swmrbus_pack_status_head(&pk, swmrbus_loop_name(f->loop), swmrbus_loop_kind(f->loop),
                             swmrbus_loop_uptime_ns(f->loop), 1);
    swmrbus_pack_kv_u64(&pk, "frames", (uint64_t)f->frames);
    return SWMRBUS_OK;
}

static int on_frame(swmrbus_loop *loop, void *socket, short revents, void *user)
{
    fixture *f = user;
    (void)revents;
    swmrbus_frame_msg m;
    swmrbus_reason reason;
    char why[200];
    swmrbus_limits lim;
    swmrbus_limits_default(&lim);
    while (swmrbus_frame_recv(socket, ZMQ_DONTWAIT, &lim, &m, &reason, why, sizeof why) !=
           SWMRBUS_EAGAIN) {
        f->frames++;
        if (m.h.type == SWMRBUS_MSG_END) swmrbus_loop_end(loop);
        swmrbus_frame_msg_close(&m);
    }
    return 0;
}

static void setup_fixture(fixture *f)
{
    memset(f, 0, sizeof *f);
    f->ctx = zmq_ctx_new();
    f->rep = zmq_socket(f->ctx, ZMQ_REP);
    f->req = zmq_socket(f->ctx, ZMQ_REQ);
    f->in = zmq_socket(f->ctx, ZMQ_PULL);
    f->push = zmq_socket(f->ctx, ZMQ_PUSH);
    assert_int_equal(zmq_bind(f->rep, "inproc://ctl"), 0);
    assert_int_equal(zmq_connect(f->req, "inproc://ctl"), 0);
    assert_int_equal(zmq_bind(f->in, "inproc://in"), 0);
    assert_int_equal(zmq_connect(f->push, "inproc://in"), 0);
    assert_int_equal(swmrbus_loop_create("t1", "tester", &f->loop), SWMRBUS_OK);
    assert_int_equal(swmrbus_loop_control(f->loop, f->rep, on_request, f, 65536), SWMRBUS_OK);
    assert_int_equal(swmrbus_loop_add(f->loop, f->in, ZMQ_POLLIN, on_frame, f), SWMRBUS_OK);
}

static void teardown_fixture(fixture *f)
{
    swmrbus_loop_destroy(&f->loop);
    assert_null(f->loop);
    void *s[] = {f->rep, f->req, f->in, f->push};
    for (int i = 0; i < 4; i++) {
        int zero = 0;
        zmq_setsockopt(s[i], ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(s[i]);
    }
    zmq_ctx_term(f->ctx);
}

static void *loop_thread(void *arg)
{
    fixture *f = arg;
    return (void *)(intptr_t)swmrbus_loop_run(f->loop);
}

/* Sends one request part(s) and unpacks the reply into r. */
static void ask(fixture *f, const char *const *parts, const size_t *lens, int n, reply *r)
{
    for (int i = 0; i < n; i++)
        assert_true(zmq_send(f->req, parts[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0) >= 0);
    zmq_msg_t m;
    zmq_msg_init(&m);
    assert_true(zmq_msg_recv(&m, f->req, 0) >= 0);
    r->bytes = malloc(zmq_msg_size(&m) + 1);
    assert_non_null(r->bytes);
    memcpy(r->bytes, zmq_msg_data(&m), zmq_msg_size(&m));
    msgpack_unpacked_init(&r->u);
    assert_int_equal(msgpack_unpack_next(&r->u, r->bytes, zmq_msg_size(&m), NULL),
                     MSGPACK_UNPACK_SUCCESS);
    zmq_msg_close(&m);
}

static void ask_map(fixture *f, const char *cmd, long series, reply *r)
{
    swmrbus_buf b = {0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, swmrbus_buf_write);
    msgpack_pack_map(&pk, series >= 0 ? 2 : 1);
    swmrbus_pack_kv_str(&pk, "cmd", cmd);
    if (series >= 0) swmrbus_pack_kv_u64(&pk, "series", (uint64_t)series);
    const char *p = (const char *)b.data;
    ask(f, &p, &b.len, 1, r);
    swmrbus_buf_free(&b);
}

static void test_loop_control_and_stop(void **state)
{
    (void)state;
    fixture f;
    setup_fixture(&f);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, loop_thread, &f), 0);
    reply r;
    ask_map(&f, "status", -1, &r);
    assert_true(get(&r.u.data, "ok")->via.boolean);
    assert_true(str_is(get(&r.u.data, "name"), "t1"));
    assert_true(str_is(get(&r.u.data, "kind"), "tester"));
    assert_non_null(get(&r.u.data, "uptime_s"));
    assert_int_equal(get(&r.u.data, "frames")->via.u64, 0);
    reply_free(&r);
    ask_map(&f, "flush", -1, &r); /* handler left the reply empty */
    assert_true(get(&r.u.data, "ok")->via.boolean);
    assert_null(get(&r.u.data, "error"));
    reply_free(&r);
    ask_map(&f, "close", 7, &r);
    assert_false(get(&r.u.data, "ok")->via.boolean);
    assert_true(str_is(get(&r.u.data, "error"), "series 7 is not open"));
    reply_free(&r);
    /* The loop itself answers what never reaches the handler. */
    const char *two[] = {"\x81\xa3""cmd\xa6status", "x"};
    size_t two_len[] = {11, 1};
    ask(&f, two, two_len, 2, &r);
    assert_false(get(&r.u.data, "ok")->via.boolean);
    assert_true(str_is(get(&r.u.data, "error"), "a request is one msgpack map in one part"));
    reply_free(&r);
    const char *junk[] = {"\xdf\xff\xff\xff\xff"}; /* a map claiming 4 G pairs */
    size_t junk_len[] = {5};
    ask(&f, junk, junk_len, 1, &r);
    assert_false(get(&r.u.data, "ok")->via.boolean);
    reply_free(&r);
    const char *unknown[] = {"\x81\xa3""cmd\xa4quit"};
    size_t unknown_len[] = {10};
    ask(&f, unknown, unknown_len, 1, &r);
    assert_false(get(&r.u.data, "ok")->via.boolean);
    reply_free(&r);
    assert_int_equal(f.requests, 3); /* only the three decodable ones */
    /* Stop from this thread: run() returns OK. */
    assert_false(swmrbus_loop_stopping(f.loop));
    swmrbus_loop_stop(f.loop);
    assert_true(swmrbus_loop_stopping(f.loop));
    void *ret;
    pthread_join(t, &ret);
    assert_int_equal((intptr_t)ret, SWMRBUS_OK);
    teardown_fixture(&f);
}

static void test_loop_frames_and_end(void **state)
{
    (void)state;
    fixture f;
    setup_fixture(&f);
    swmrbus_buf scratch = {0};
    swmrbus_header h = {.type = SWMRBUS_MSG_START, .series = 3, .has_format = true};
    h.format = (swmrbus_format){SWMRBUS_DTYPE_UINT8, SWMRBUS_ENC_RAW, 1, {4}};
    assert_int_equal(swmrbus_frame_send(f.push, &h, NULL, 0, NULL, 0, &scratch, 0), SWMRBUS_OK);
    swmrbus_header fr = {.type = SWMRBUS_MSG_FRAME, .series = 3, .frame = 0};
    assert_int_equal(swmrbus_frame_send(f.push, &fr, NULL, 0, "abcd", 4, &scratch, 0),
                     SWMRBUS_OK);
    /* A frame without its payload is rejected by swmrbus_frame_recv (counted
     * by on_frame like any message), the stream goes on. */
    assert_int_equal(swmrbus_frame_send(f.push, &fr, NULL, 0, NULL, 0, &scratch, 0), SWMRBUS_OK);
    swmrbus_header end = {.type = SWMRBUS_MSG_END, .series = 3, .frames = 1, .has_frames = true};
    assert_int_equal(swmrbus_frame_send(f.push, &end, NULL, 0, NULL, 0, &scratch, 0), SWMRBUS_OK);
    /* The handler ends the loop at `end`: run() returns without stop(). */
    assert_int_equal(swmrbus_loop_run(f.loop), SWMRBUS_OK);
    assert_int_equal(f.frames, 4);
    swmrbus_buf_free(&scratch);
    teardown_fixture(&f);
}

static uint64_t work_at_once_then_end(swmrbus_loop *loop, uint64_t now, void *user)
{
    fixture *f = user;
    if (!f->works++) f->first_work_ns = now;
    f->last_work_ns = now;
    if (f->works == 50) {
        swmrbus_loop_end(loop);
        return SWMRBUS_LOOP_IDLE;
    }
    return f->works < 40 ? now : now + 2000000; /* 40 at once, then every 2 ms */
}

static void on_stop_count(swmrbus_loop *loop, void *user)
{
    ((fixture *)user)->stopped_seen = true;
    swmrbus_loop_end(loop);
}

static void test_loop_work_and_stop_handler(void **state)
{
    (void)state;
    fixture f;
    setup_fixture(&f);
    swmrbus_loop_set_work(f.loop, work_at_once_then_end, &f);
    assert_int_equal(swmrbus_loop_run(f.loop), SWMRBUS_OK);
    assert_int_equal(f.works, 50);
    /* ten timed turns of 2 ms: at least 18 ms, however slow the machine */
    assert_true(f.last_work_ns - f.first_work_ns >= 18000000);
    teardown_fixture(&f);

    setup_fixture(&f);
    swmrbus_loop_on_stop(f.loop, on_stop_count, &f);
    swmrbus_loop_stop(f.loop); /* before run: seen at its first turn */
    assert_int_equal(swmrbus_loop_run(f.loop), SWMRBUS_OK);
    assert_true(f.stopped_seen);
    teardown_fixture(&f);
}

/* ---- notifier ------------------------------------------------------------------ */

/* Receives one notification; *bytes holds what u's strings point into
 * (free it after u). */
static int recv_note(void *sub, char *topic, size_t tcap, msgpack_unpacked *u, char **bytes)
{
    zmq_msg_t parts[2];
    int n = swmrbus_socket_recv(sub, parts, 2, 0);
    assert_int_equal(n, 2);
    size_t tl = zmq_msg_size(&parts[0]);
    assert_true(tl < tcap);
    memcpy(topic, zmq_msg_data(&parts[0]), tl);
    topic[tl] = '\0';
    *bytes = malloc(zmq_msg_size(&parts[1]) + 1);
    assert_non_null(*bytes);
    memcpy(*bytes, zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]));
    msgpack_unpacked_init(u);
    assert_int_equal(msgpack_unpack_next(u, *bytes, zmq_msg_size(&parts[1]), NULL),
                     MSGPACK_UNPACK_SUCCESS);
    zmq_msg_close(&parts[0]);
    zmq_msg_close(&parts[1]);
    return n;
}

static void test_notifier_seq_and_relay(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *pub = zmq_socket(ctx, ZMQ_PUB), *sub = zmq_socket(ctx, ZMQ_SUB);
    assert_int_equal(zmq_bind(pub, "inproc://n"), 0);
    assert_int_equal(zmq_connect(sub, "inproc://n"), 0);
    assert_int_equal(zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "", 0), 0);
    swmrbus_notifier *n = NULL;
    assert_int_equal(swmrbus_notifier_create(pub, "relay1", &n), SWMRBUS_OK);
    assert_int_equal(swmrbus_notifier_series(n, SWMRBUS_NOTICE_OPEN, 5, "/d/x.h5", 0, 0, 0),
                     SWMRBUS_OK);
    /* A map from upstream, with its own seq and via, and a key we don't know. */
    swmrbus_buf up = {0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &up, swmrbus_buf_write);
    msgpack_pack_map(&pk, 5);
    swmrbus_pack_kv_u64(&pk, "series", 5);
    swmrbus_pack_kv_u64(&pk, "seq", 999);
    swmrbus_pack_kv_str(&pk, "via", "someone");
    swmrbus_pack_kv_u64(&pk, "frames", 42);
    swmrbus_pack_kv_str(&pk, "future_key", "kept");
    assert_int_equal(swmrbus_notifier_relay(n, SWMRBUS_NOTICE_FLUSHED, up.data, up.len),
                     SWMRBUS_OK);
    assert_int_equal(swmrbus_notifier_relay(n, SWMRBUS_NOTICE_FLUSHED, "\x01", 1),
                     SWMRBUS_EINVAL); /* not a map */
    assert_int_equal(swmrbus_notifier_published(n), 2);

    char topic[64], *bytes;
    msgpack_unpacked u;
    recv_note(sub, topic, sizeof topic, &u, &bytes);
    assert_string_equal(topic, "swmrbus.open");
    assert_int_equal(get(&u.data, "seq")->via.u64, 0);
    assert_int_equal(get(&u.data, "series")->via.u64, 5);
    assert_true(str_is(get(&u.data, "sink"), "relay1"));
    assert_true(str_is(get(&u.data, "file"), "/d/x.h5"));
    msgpack_unpacked_destroy(&u);
    free(bytes);
    recv_note(sub, topic, sizeof topic, &u, &bytes);
    assert_string_equal(topic, "swmrbus.flushed");
    assert_int_equal(u.data.via.map.size, 5);
    assert_int_equal(get(&u.data, "seq")->via.u64, 1);     /* ours, not 999 */
    assert_true(str_is(get(&u.data, "via"), "relay1"));    /* ours */
    assert_int_equal(get(&u.data, "frames")->via.u64, 42); /* kept */
    assert_true(str_is(get(&u.data, "future_key"), "kept"));
    msgpack_unpacked_destroy(&u);
    free(bytes);

    swmrbus_buf_free(&up);
    swmrbus_notifier_destroy(&n);
    assert_null(n);
    int zero = 0;
    zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(pub);
    zmq_close(sub);
    zmq_ctx_term(ctx);
}

/* ---- options ------------------------------------------------------------------- */

static swmrbus_config *load(const char *text, char *err, size_t errlen)
{
    swmrbus_config *cfg = NULL;
    swmrbus_config_parse(text, strlen(text), &cfg, err, errlen);
    return cfg;
}

static void test_options(void **state)
{
    (void)state;
    char err[512];
    swmrbus_config *cfg = load(
        "components:\n"
        "  - name: a\n    kind: sink\n    in: {endpoint: 'inproc://a'}\n    dir: /tmp/x\n"
        "  - name: p\n    kind: myplugin\n"
        "    options:\n"
        "      threshold: 2.5\n      count: 0x10\n      enabled: yes\n      label: hello\n"
        "      roi: {x: 3, y: [1, 2, 3]}\n      list: [1.5, 2, -3]\n      octal: 010\n",
        err, sizeof err);
    assert_non_null(cfg);
    const swmrbus_component_cfg *sink = &cfg->components[0], *c = &cfg->components[1];
    assert_null(sink->options);
    assert_int_equal(c->index, 1);
    double d;
    uint64_t u;
    bool b;
    const char *s;
    assert_int_equal(swmrbus_option_f64(c, "threshold", 0, 0, 10, &d, err, sizeof err), 0);
    assert_true(d == 2.5);
    assert_int_equal(swmrbus_option_u64(c, "count", 0, 0, 100, &u, err, sizeof err), 0);
    assert_int_equal(u, 16);
    assert_int_equal(swmrbus_option_bool(c, "enabled", false, &b, err, sizeof err), 0);
    assert_true(b);
    assert_int_equal(swmrbus_option_str(c, "label", NULL, &s, err, sizeof err), 0);
    assert_string_equal(s, "hello");
    assert_int_equal(swmrbus_option_u64(c, "roi.x", 0, 0, 100, &u, err, sizeof err), 0);
    assert_int_equal(u, 3);
    assert_int_equal(swmrbus_option_u64(c, "absent", 77, 0, 100, &u, err, sizeof err), 0);
    assert_int_equal(u, 77);
    assert_false(swmrbus_option_present(c, "absent"));
    assert_true(swmrbus_option_present(c, "roi.y"));
    double list[4];
    size_t n;
    assert_int_equal(swmrbus_option_f64_list(c, "list", list, 4, &n, err, sizeof err), 0);
    assert_int_equal(n, 3);
    assert_true(list[2] == -3.0);
    /* errors name the path and the range */
    assert_int_equal(swmrbus_option_u64(c, "threshold", 0, 0, 100, &u, err, sizeof err),
                     SWMRBUS_ECONFIG);
    assert_string_equal(err, "components[1].options.threshold: expected an integer from 0 to "
                             "100, got \"2.5\"");
    assert_int_equal(swmrbus_option_f64(c, "threshold", 0, 3, 10, &d, err, sizeof err),
                     SWMRBUS_ECONFIG);
    assert_int_equal(swmrbus_option_u64(c, "octal", 0, 0, 100, &u, err, sizeof err),
                     SWMRBUS_ECONFIG); /* 010 is not silently 8 */
    assert_int_equal(swmrbus_option_str(c, "roi", NULL, &s, err, sizeof err), SWMRBUS_ECONFIG);
    assert_string_equal(err, "components[1].options.roi: expected a string, got a map");
    assert_int_equal(swmrbus_option_f64_list(c, "list", list, 2, &n, err, sizeof err),
                     SWMRBUS_ECONFIG);
    assert_int_equal(swmrbus_option_bool(c, "label", false, &b, err, sizeof err),
                     SWMRBUS_ECONFIG);
    /* unknown keys: a listed map admits its keys; a listed sub-key checks below */
    const char *const all[] = {"threshold", "count", "enabled", "label", "roi", "list",
                               "octal", NULL};
    assert_int_equal(swmrbus_options_only(c, all, err, sizeof err), SWMRBUS_OK);
    const char *const some[] = {"threshold", "count", "enabled", "label", "roi.x", "list",
                                "octal", NULL};
    assert_int_equal(swmrbus_options_only(c, some, err, sizeof err), SWMRBUS_ECONFIG);
    assert_string_equal(err, "components[1].options.roi.y: unknown key");
    swmrbus_config_destroy(&cfg);

    /* options on a built-in kind, a non-map options, an alias bomb */
    assert_null(load("components:\n  - {name: a, kind: sink, in: {endpoint: 'inproc://a'}, "
                     "dir: /tmp/x, options: {k: 1}}\n", err, sizeof err));
    assert_string_equal(err, "components[0].options: only outside plugins take options "
                             "(kind \"sink\" is built in)");
    assert_null(load("components:\n  - {name: p, kind: plug, options: [1, 2]}\n", err,
                     sizeof err));
    assert_string_equal(err, "components[0].options: expected a map");
    char bomb[2048] = "components:\n  - name: p\n    kind: plug\n    options:\n"
                      "      a0: &a0 [1, 1, 1, 1, 1, 1, 1, 1, 1, 1]\n";
    for (int i = 1; i < 10; i++) {
        char line[128];
        snprintf(line, sizeof line, "      a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
                 "*a%d, *a%d, *a%d, *a%d]\n", i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
                 i - 1, i - 1, i - 1, i - 1);
        strcat(bomb, line);
    }
    uint64_t t0 = swmrbus_mono_ns();
    swmrbus_config *b2 = load(bomb, err, sizeof err);
    /* Either the schema loader refuses aliases or the options loader caps
     * the expansion; never 10^10 nodes. */
    assert_null(b2);
    assert_true(swmrbus_mono_ns() - t0 < 10ull * 1000000000ull);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_loop_control_and_stop),
        cmocka_unit_test(test_loop_frames_and_end),
        cmocka_unit_test(test_loop_work_and_stop_handler),
        cmocka_unit_test(test_notifier_seq_and_relay),
        cmocka_unit_test(test_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
