/* tail.c — `swmrbus tail ENDPOINT...`: subscribes to the notifications of
 * one or more sinks or sources and prints one line per notification (or one
 * JSON object with --json) until SIGINT/SIGTERM. Every notification goes
 * through the library's bounded decoder first; a malformed one is a warning
 * on stderr, and tail goes on. */
#include <errno.h>
#include <inttypes.h>
#include <msgpack.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "cli.h"
#include "swmrbus/wire.h"

#define TAIL_MAX_TOPICS 16
#define TAIL_MAX_NOTICE 65536        /* bytes of a notification map (sinks send < 5 KiB) */
#define TAIL_MAX_PART (1 << 20)      /* ZMQ_MAXMSGSIZE: a larger part drops the peer */
#define TAIL_TOPIC_MAX 64

static const char tail_usage[] =
    "usage: swmrbus tail ENDPOINT... [--json] [--topic T] [--count N] [--timeout S]\n"
    "                    [--secret-key FILE --server-key FILE]\n";

void swmrbus_cli_tail_help(FILE *to)
{
    fprintf(to,
            "NAME\n"
            "    swmrbus tail - print notifications as they come\n"
            "\n"
            "SYNOPSIS\n"
            "    swmrbus tail ENDPOINT... [--json] [--topic T]... [--count N] [--timeout S]\n"
            "                 [--secret-key FILE --server-key FILE]\n"
            "\n"
            "DESCRIPTION\n"
            "    Connects a SUB socket to every ENDPOINT (a sink's or a source's notify\n"
            "    endpoint, e.g. tcp://daq:5556) and prints one line per notification until\n"
            "    SIGINT or SIGTERM, flushed at once:\n"
            "      2026-11-29T22:01:02.123Z flushed  writer series 3 frames 1200 complete 1200\n"
            "        written 1200 seq 17 file /data/x_3.h5\n"
            "    (one line): the publication time (UTC, from `t`), the topic, the sink, then\n"
            "    the keys present; error notices add reason, count and the error text, and\n"
            "    a relayed notice shows `via SOURCE`. A malformed notification gives a\n"
            "    warning on stderr and is skipped.\n"
            "\n"
            "OPTIONS\n"
            "    --json        one JSON object per line instead: \"topic\" and every key of\n"
            "                  the map, unknown keys included\n"
            "    --topic T     only topic T: open, flushed, closed, error (or swmrbus.T);\n"
            "                  may be repeated (default: every swmrbus.* topic)\n"
            "    --count N     exit after N notifications\n"
            "    --timeout S   exit 2 when nothing arrived for S seconds (fractions allowed)\n"
            "    --secret-key FILE   CURVE: this client's secret certificate (keygen's\n"
            "                  NAME.key_secret; its public key must be in the notify allow)\n"
            "    --server-key FILE   CURVE: the notify socket's public certificate (the\n"
            "                  same for every ENDPOINT)\n"
            "    --help        this text\n"
            "\n"
            "EXIT STATUS\n"
            "    0   stopped by SIGINT/SIGTERM, or --count notifications printed\n"
            "    1   stdout could not be written, or a ZeroMQ error\n"
            "    2   usage error (a malformed ENDPOINT too), or --timeout expired\n");
}

typedef struct tail {
    bool json;
    unsigned long long count; /* 0: no limit */
    int timeout_ms;           /* -1: none */
    const char *topics[TAIL_MAX_TOPICS];
    unsigned n_topics;
    char topic_buf[TAIL_MAX_TOPICS][TAIL_TOPIC_MAX];
} tail;

/* "2026-11-29T22:01:02.123Z" for ns since the epoch. */
static void print_time(FILE *to, uint64_t ns)
{
    time_t s = (time_t)(ns / 1000000000u);
    unsigned ms = (unsigned)(ns % 1000000000u / 1000000u);
    struct tm tm;
    char buf[40];

    if (!gmtime_r(&s, &tm) || strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm) == 0) {
        fprintf(to, "%" PRIu64 "ns", ns);
        return;
    }
    fprintf(to, "%s.%03uZ", buf, ms);
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void print_str_key(FILE *to, const char *key, swmrbus_str s)
{
    if (!s.ptr || s.len == 0) return;
    fprintf(to, " %s ", key);
    swmrbus_cli_text(to, s.ptr, s.len);
}

/* The readable line of a decoded notice. */
static void print_line(FILE *to, const swmrbus_notice *n)
{
    const char *topic = swmrbus_topic_name(n->topic);
    if (topic && strncmp(topic, "swmrbus.", 8) == 0) topic += 8;

    print_time(to, n->has_t ? n->t : now_ns());
    fprintf(to, " %-8s ", topic ? topic : "?");
    if (n->sink.len) swmrbus_cli_text(to, n->sink.ptr, n->sink.len);
    else fputc('-', to);
    if (n->has_series) fprintf(to, " series %" PRIu64, n->series);
    if (n->has_frames) fprintf(to, " frames %" PRIu64, n->frames);
    if (n->has_complete) fprintf(to, " complete %" PRIu64, n->complete);
    if (n->has_written) fprintf(to, " written %" PRIu64, n->written);
    if (n->has_seq) fprintf(to, " seq %" PRIu64, n->seq);
    if (n->has_reason) fprintf(to, " reason %s", swmrbus_reason_name(n->reason));
    if (n->has_count) fprintf(to, " count %" PRIu64, n->count);
    print_str_key(to, "via", n->via);
    print_str_key(to, "file", n->file);
    if (n->error.len) {
        fputs(" error: ", to);
        swmrbus_cli_text(to, n->error.ptr, n->error.len);
    }
    fputc('\n', to);
}

/* {"topic": ..., every key of the map}. The map passed the bounded scan
 * (inside swmrbus_notice_decode), so msgpack-c unpacks it within its size.
 * A key named "topic" in the map is left out (the part's topic wins). */
static bool print_json(FILE *to, const char *topic, size_t topic_len, const void *map,
                       size_t len)
{
    msgpack_unpacked up;
    bool ok = false;

    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, map, len, NULL) != MSGPACK_UNPACK_SUCCESS ||
        up.data.type != MSGPACK_OBJECT_MAP)
        goto out;
    fputs("{\"topic\": ", to);
    swmrbus_cli_json_str(to, topic, topic_len);
    for (uint32_t i = 0; i < up.data.via.map.size; i++) {
        const msgpack_object_kv *kv = &up.data.via.map.ptr[i];
        if (kv->key.type == MSGPACK_OBJECT_STR && kv->key.via.str.size == 5 &&
            memcmp(kv->key.via.str.ptr, "topic", 5) == 0)
            continue;
        fputs(", ", to);
        swmrbus_cli_json(to, &kv->key);
        fputs(": ", to);
        swmrbus_cli_json(to, &kv->val);
    }
    fputs("}\n", to);
    ok = true;
out:
    msgpack_unpacked_destroy(&up);
    return ok;
}

static void warn(const char *what, const char *why)
{
    fprintf(stderr, "swmrbus tail: malformed notification skipped: %s%s%s\n", what,
            why && *why ? ": " : "", why ? why : "");
}

/* Receives one whole message (all its parts) and prints it. Returns 1 when
 * a notification was printed, 0 when it was malformed (warned), -1 on a
 * ZeroMQ or stdout error. */
static int take(const tail *t, void *sub)
{
    zmq_msg_t parts[2];
    int nparts = 0, more = 1, rc = 0;
    size_t extra = 0;
    swmrbus_notice n;
    char why[256] = "";

    zmq_msg_init(&parts[0]);
    zmq_msg_init(&parts[1]);
    while (more) {
        zmq_msg_t tmp, *m = nparts < 2 ? &parts[nparts] : &tmp;
        if (m == &tmp) zmq_msg_init(&tmp);
        if (zmq_msg_recv(m, sub, 0) < 0) {
            if (m == &tmp) zmq_msg_close(&tmp);
            rc = zmq_errno() == EINTR ? 0 : -1;
            if (rc < 0) fprintf(stderr, "swmrbus tail: %s\n", zmq_strerror(zmq_errno()));
            goto out;
        }
        more = zmq_msg_more(m);
        if (m == &tmp) {
            extra++;
            zmq_msg_close(&tmp);
        } else {
            nparts++;
        }
    }
    if (nparts != 2 || extra) {
        snprintf(why, sizeof why, "%zu parts, expected 2 (topic, map)", (size_t)nparts + extra);
        warn("wrong part count", why);
        goto out;
    }
    const char *topic = zmq_msg_data(&parts[0]);
    size_t topic_len = zmq_msg_size(&parts[0]);
    if (swmrbus_notice_decode(topic, topic_len, zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]),
                              TAIL_MAX_NOTICE, &n, why, sizeof why) != SWMRBUS_OK) {
        char what[TAIL_TOPIC_MAX + 16];
        size_t shown = topic_len < TAIL_TOPIC_MAX ? topic_len : TAIL_TOPIC_MAX;
        size_t w = 0;
        w += (size_t)snprintf(what, sizeof what, "topic ");
        for (size_t i = 0; i < shown && w + 1 < sizeof what; i++) {
            unsigned char c = (unsigned char)topic[i];
            what[w++] = (char)(c < 0x20 || c >= 0x7f ? '?' : c);
        }
        what[w] = '\0';
        warn(what, why);
        goto out;
    }
    if (t->json) {
        if (!print_json(stdout, topic, topic_len, zmq_msg_data(&parts[1]),
                        zmq_msg_size(&parts[1]))) {
            warn("map", "msgpack-c could not unpack it");
            goto out;
        }
    } else {
        print_line(stdout, &n);
    }
    if (fflush(stdout) != 0 || ferror(stdout)) {
        fprintf(stderr, "swmrbus tail: stdout: %s\n", strerror(errno));
        rc = -1;
        goto out;
    }
    rc = 1;
out:
    zmq_msg_close(&parts[0]);
    zmq_msg_close(&parts[1]);
    return rc;
}

static bool add_topic(tail *t, const char *arg)
{
    const char *known[] = {SWMRBUS_TOPIC_OPEN, SWMRBUS_TOPIC_FLUSHED, SWMRBUS_TOPIC_CLOSED,
                           SWMRBUS_TOPIC_ERROR};
    if (t->n_topics == TAIL_MAX_TOPICS) return false;
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (strcmp(arg, known[i]) == 0 || strcmp(arg, known[i] + 8) == 0) {
            t->topics[t->n_topics++] = known[i];
            return true;
        }
    }
    return false;
}

int swmrbus_cli_tail(int argc, char **argv)
{
    tail t;
    const char *endpoints[64];
    unsigned n_endpoints = 0;
    unsigned long long printed = 0;
    int status = 2, sfd = -1;
    void *ctx = NULL, *sub = NULL;
    sigset_t set;
    swmrbus_cli_curve curve = {0};

    memset(&t, 0, sizeof t);
    t.timeout_ms = -1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        int cv = swmrbus_cli_curve_arg(&curve, argc, argv, &i, "tail");
        if (cv < 0) {
            fputs(tail_usage, stderr);
            return 2;
        } else if (cv > 0) {
            continue;
        } else if (strcmp(a, "--json") == 0) {
            t.json = true;
        } else if (strcmp(a, "--topic") == 0) {
            if (i + 1 >= argc || !add_topic(&t, argv[i + 1])) {
                fprintf(stderr, "swmrbus tail: --topic takes open, flushed, closed or error\n%s",
                        tail_usage);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--count") == 0) {
            if (i + 1 >= argc || !swmrbus_cli_parse_u64(argv[i + 1], &t.count) || t.count == 0) {
                fprintf(stderr, "swmrbus tail: --count takes a number >= 1\n%s", tail_usage);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--timeout") == 0) {
            if (i + 1 >= argc || !swmrbus_cli_parse_seconds(argv[i + 1], &t.timeout_ms)) {
                fprintf(stderr, "swmrbus tail: --timeout takes seconds > 0, e.g. 5 or 0.5\n%s",
                        tail_usage);
                return 2;
            }
            i++;
        } else if (a[0] == '-' && a[1] != '\0') {
            fprintf(stderr, "swmrbus tail: unknown option %s\n%s", a, tail_usage);
            return 2;
        } else if (n_endpoints < sizeof endpoints / sizeof endpoints[0]) {
            endpoints[n_endpoints++] = a;
        } else {
            fprintf(stderr, "swmrbus tail: at most %zu endpoints\n",
                    sizeof endpoints / sizeof endpoints[0]);
            return 2;
        }
    }
    if (n_endpoints == 0) {
        fputs(tail_usage, stderr);
        return 2;
    }

    /* SIGINT/SIGTERM arrive on a descriptor that the poll watches; blocked
     * before ZeroMQ starts its threads, so that they inherit the mask. */
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (sigprocmask(SIG_BLOCK, &set, NULL) != 0 || (sfd = signalfd(-1, &set, SFD_CLOEXEC)) < 0) {
        fprintf(stderr, "swmrbus tail: signalfd: %s\n", strerror(errno));
        status = 1;
        goto out;
    }
    int linger = 0, hwm = 0;
    int64_t maxmsg = TAIL_MAX_PART;
    ctx = zmq_ctx_new();
    sub = ctx ? zmq_socket(ctx, ZMQ_SUB) : NULL;
    if (!sub) {
        fprintf(stderr, "swmrbus tail: %s\n", zmq_strerror(zmq_errno()));
        status = 1;
        goto out;
    }
    zmq_setsockopt(sub, ZMQ_LINGER, &linger, sizeof linger);
    zmq_setsockopt(sub, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_setsockopt(sub, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg);
    if (!swmrbus_cli_curve_apply(&curve, sub, "tail")) goto out; /* 2 */
    if (t.n_topics == 0) {
        zmq_setsockopt(sub, ZMQ_SUBSCRIBE, "swmrbus.", 8);
    } else {
        for (unsigned i = 0; i < t.n_topics; i++)
            zmq_setsockopt(sub, ZMQ_SUBSCRIBE, t.topics[i], strlen(t.topics[i]));
    }
    for (unsigned i = 0; i < n_endpoints; i++) {
        if (zmq_connect(sub, endpoints[i]) != 0) {
            fprintf(stderr, "swmrbus tail: %s: %s\n%s", endpoints[i], zmq_strerror(zmq_errno()),
                    tail_usage);
            goto out; /* 2 */
        }
    }

    zmq_pollitem_t items[2] = {{sub, 0, ZMQ_POLLIN, 0}, {NULL, sfd, ZMQ_POLLIN, 0}};
    for (;;) {
        int n = zmq_poll(items, 2, t.timeout_ms);
        if (n < 0) {
            if (zmq_errno() == EINTR) continue;
            fprintf(stderr, "swmrbus tail: %s\n", zmq_strerror(zmq_errno()));
            status = 1;
            goto out;
        }
        if (n == 0) {
            fprintf(stderr, "swmrbus tail: nothing arrived for %.3g s\n",
                    (double)t.timeout_ms / 1000.0);
            status = 2;
            goto out;
        }
        if (items[1].revents & ZMQ_POLLIN) {
            status = 0;
            goto out;
        }
        /* What is queued (at most a batch, so that a flood cannot keep a
         * signal waiting); the timeout restarts after each arrival. */
        for (int batch = 0; batch < 1000; batch++) {
            int ev = 0;
            size_t evlen = sizeof ev;
            if (zmq_getsockopt(sub, ZMQ_EVENTS, &ev, &evlen) != 0 || !(ev & ZMQ_POLLIN)) break;
            int r = take(&t, sub);
            if (r < 0) {
                status = 1;
                goto out;
            }
            /* a subscription is a prefix match: "swmrbus.open" also takes
             * "swmrbus.openx", which then fails to decode (warned) */
            if (r > 0 && t.count && ++printed >= t.count) {
                status = 0;
                goto out;
            }
        }
    }
out:
    if (sub) zmq_close(sub);
    if (ctx) zmq_ctx_term(ctx);
    if (sfd >= 0) close(sfd);
    return status;
}
