/* sink.c — the sink component: sockets, the receive loop (decode and
 * validate, no HDF5), control requests; hands messages to core.c. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "sink_internal.h"
#include "swmrbus/log.h"
#include "swmrbus/socket.h"
#include "swmrbus/sink.h"
#include "writer.h"

#define RECV_BATCH 256
#define MSG_OVERHEAD 64 /* bytes ZeroMQ allocates per queued message part, about */
#define DRAIN_MAX 100000          /* messages still taken from the input at stop */
#define DRAIN_NS 10000000000ull   /* ... for at most 10 s */

/* mkdir -p */
static int make_dirs(const char *path)
{
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s", path) >= (int)sizeof tmp) return -1;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/') continue;
        *p = '\0';
        if (mkdir(tmp, 0775) != 0 && errno != EEXIST) return -1;
        *p = '/';
    }
    return mkdir(tmp, 0775) != 0 && errno != EEXIST ? -1 : 0;
}

static void sink_destroy(void **self);

static swmrbus_err sink_create(const swmrbus_component_args *args, void **self, char *err,
                               size_t errlen)
{
    const swmrbus_component_cfg *cfg = args->cfg;
    swmrbus_err rc = SWMRBUS_OK;
    swmrbus__sink *sk = calloc(1, sizeof *sk);
    if (!sk) return SWMRBUS_ENOMEM;
    sk->cfg = cfg;
    sk->name = cfg->name;
    sk->stop_fd = -1;
    if (!cfg->dir || !cfg->in.present || cfg->limits.max_open_series == 0) {
        snprintf(err, errlen, "a sink needs dir and in");
        rc = SWMRBUS_ECONFIG;
        goto out;
    }
    if (make_dirs(cfg->dir) != 0 || !realpath(cfg->dir, sk->dir)) {
        snprintf(err, errlen, "dir %s: %s", cfg->dir, strerror(errno));
        rc = SWMRBUS_EIO;
        goto out;
    }
    if (!swmrbus__stats_init(&sk->stats, (size_t)cfg->limits.max_open_series + 1024)) {
        rc = SWMRBUS_ENOMEM;
        goto out;
    }
    sk->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (sk->stop_fd < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        rc = SWMRBUS_EIO;
        goto out;
    }
    /* The memory bound (membound.h) sets the input's largest part, receive
     * high-water mark and kernel buffer. Before bind: listeners copy options. */
    rc = swmrbus__mem_plan_make(cfg, &sk->stats.mem, err, errlen);
    if (rc != SWMRBUS_OK) goto out;
    sk->stats.max_memory_bytes = cfg->max_memory_bytes;
    swmrbus_socket_cfg in_cfg = cfg->in;
    in_cfg.hwm = sk->stats.mem.rcvhwm;
    int in_type = cfg->in.pattern == SWMRBUS_PATTERN_SUB ? ZMQ_SUB : ZMQ_PULL;
    const swmrbus_socket_opts in_opts = {.name = "in", .hwm_opt = ZMQ_RCVHWM,
                                         .max_msg_bytes = sk->stats.mem.max_part_bytes,
                                         .rcvbuf = sk->stats.mem.rcvbuf};
    rc = swmrbus_socket_open(args->zmq_ctx, in_type, &in_cfg, &in_opts, &sk->in, err, errlen);
    if (rc != SWMRBUS_OK) goto out;
    if (cfg->notify.present) {
        const swmrbus_socket_opts o = {.name = "notify", .hwm_opt = ZMQ_SNDHWM};
        rc = swmrbus_socket_open(args->zmq_ctx, ZMQ_PUB, &cfg->notify, &o, &sk->notify, err,
                                 errlen);
        if (rc != SWMRBUS_OK) goto out;
    }
    if (cfg->control.present) {
        const swmrbus_socket_opts o = {.name = "control"};
        rc = swmrbus_socket_open(args->zmq_ctx, ZMQ_REP, &cfg->control, &o, &sk->control, err,
                                 errlen);
        if (rc != SWMRBUS_OK) goto out;
    }
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://swmrbus-sink-%p", (void *)sk);
    sk->pair_wx = zmq_socket(args->zmq_ctx, ZMQ_PAIR);
    sk->pair_rx = zmq_socket(args->zmq_ctx, ZMQ_PAIR);
    int zero = 0;
    if (!sk->pair_wx || !sk->pair_rx) {
        rc = SWMRBUS_EZMQ;
        goto out;
    }
    /* The hand-off is bounded by max_queue_bytes, not by a message count. */
    zmq_setsockopt(sk->pair_wx, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(sk->pair_wx, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(sk->pair_rx, ZMQ_RCVHWM, &zero, sizeof zero);
    zmq_setsockopt(sk->pair_rx, ZMQ_SNDHWM, &zero, sizeof zero);
    zmq_setsockopt(sk->pair_wx, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(sk->pair_rx, ZMQ_LINGER, &zero, sizeof zero);
    if (zmq_bind(sk->pair_wx, ep) != 0 || zmq_connect(sk->pair_rx, ep) != 0) {
        snprintf(err, errlen, "hand-off socket: %s", zmq_strerror(zmq_errno()));
        rc = SWMRBUS_EZMQ;
        goto out;
    }
    swmrbus_log(SWMRBUS_LOG_INFO, cfg->name,
                "sink ready: in %s (%s, %s), files in %s; memory bound %llu MiB (in.hwm %d)",
                cfg->in.endpoints[0], swmrbus_pattern_name(cfg->in.pattern),
                cfg->in.bind ? "bind" : "connect", sk->dir,
                (unsigned long long)(sk->stats.mem.bound_bytes >> 20), sk->stats.mem.rcvhwm);
out:
    if (rc != SWMRBUS_OK) {
        void *p = sk;
        sink_destroy(&p);
        sk = NULL;
    }
    *self = sk;
    return rc;
}

static void sink_destroy(void **self)
{
    swmrbus__sink *sk = *self;
    if (!sk) return;
    void *socks[] = {sk->in, sk->control, sk->notify, sk->pair_rx, sk->pair_wx};
    for (size_t i = 0; i < sizeof socks / sizeof socks[0]; i++)
        if (socks[i]) zmq_close(socks[i]);
    if (sk->stop_fd >= 0) close(sk->stop_fd);
    swmrbus__stats_destroy(&sk->stats);
    free(sk);
    *self = NULL;
}

static void sink_stop(void *self)
{
    swmrbus__sink *sk = self;
    atomic_store(&sk->stopping, true);
    uint64_t one = 1;
    ssize_t w = write(sk->stop_fd, &one, sizeof one);
    (void)w;
}

/* Sends an item (and moves the given message parts) to the writer. */
static void hand_off(swmrbus__sink *sk, swmrbus__item *it, zmq_msg_t *part1, zmq_msg_t *part2)
{
    it->recv_ns = swmrbus_mono_ns();
    it->queued = sizeof *it + MSG_OVERHEAD;
    if (part1) it->queued += zmq_msg_size(part1) + MSG_OVERHEAD;
    if (part2) it->queued += zmq_msg_size(part2) + MSG_OVERHEAD;
    atomic_fetch_add(&sk->queue_bytes, it->queued);
    zmq_send(sk->pair_rx, it, sizeof *it, part1 ? ZMQ_SNDMORE : 0);
    if (part1) zmq_msg_send(part1, sk->pair_rx, part2 ? ZMQ_SNDMORE : 0);
    if (part2) zmq_msg_send(part2, sk->pair_rx, 0);
}

static void reject_rx(swmrbus__sink *sk, swmrbus_reason r, const swmrbus_header *h,
                      const char *why)
{
    swmrbus__item it;
    memset(&it, 0, sizeof it);
    it.kind = SWMRBUS__ITEM_REJECT;
    it.reason = r;
    if (h) {
        it.has_series = true;
        it.series = h->series;
    }
    zmq_msg_t text;
    zmq_msg_init_size(&text, strlen(why) + 1);
    memcpy(zmq_msg_data(&text), why, strlen(why) + 1);
    hand_off(sk, &it, &text, NULL);
    zmq_msg_close(&text);
}

/* Receives one multipart message from the input and hands it off.
 * Returns false when nothing could be received. */
static bool receive_one(swmrbus__sink *sk, int flags)
{
    zmq_msg_t hdr, payload;
    zmq_msg_init(&hdr);
    if (zmq_msg_recv(&hdr, sk->in, flags) < 0) {
        zmq_msg_close(&hdr);
        return false;
    }
    int parts = 1;
    bool has_payload = false;
    zmq_msg_init(&payload);
    if (zmq_msg_more(&hdr)) {
        zmq_msg_recv(&payload, sk->in, 0);
        has_payload = true;
        parts++;
        zmq_msg_t extra;
        zmq_msg_init(&extra);
        bool more = zmq_msg_more(&payload);
        while (more && zmq_msg_recv(&extra, sk->in, 0) >= 0) {
            parts++;
            more = zmq_msg_more(&extra);
        }
        zmq_msg_close(&extra);
    }
    swmrbus__item it;
    memset(&it, 0, sizeof it);
    it.kind = SWMRBUS__ITEM_MSG;
    char why[240];
    swmrbus_reason reason;
    if (swmrbus_header_decode(zmq_msg_data(&hdr), zmq_msg_size(&hdr), &sk->cfg->limits, &it.h,
                              &reason, why, sizeof why) != SWMRBUS_OK) {
        /* The decoder leaves series set when the message had a valid one. */
        reject_rx(sk, reason, it.h.series ? &it.h : NULL, why);
    } else if (parts != (it.h.type == SWMRBUS_MSG_FRAME ? 2 : 1)) {
        snprintf(why, sizeof why, "%s message with %d parts (a frame has 2: header, payload; "
                 "start and end have 1)", it.h.type == SWMRBUS_MSG_FRAME ? "frame" :
                 it.h.type == SWMRBUS_MSG_START ? "start" : "end", parts);
        reject_rx(sk, SWMRBUS_R_BAD_PAYLOAD, &it.h, why);
    } else {
        it.hdr_base = zmq_msg_data(&hdr);
        it.has_payload = has_payload;
        hand_off(sk, &it, &hdr, has_payload ? &payload : NULL);
    }
    zmq_msg_close(&payload);
    zmq_msg_close(&hdr);
    return true;
}

static void reply(swmrbus__sink *sk, bool ok, const char *error)
{
    char buf[300];
    size_t n = 0;
    /* {ok: bool[, error: str]} by hand: two keys at most. */
    buf[n++] = (char)(ok ? 0x81 : 0x82);
    buf[n++] = (char)0xa2;
    memcpy(buf + n, "ok", 2);
    n += 2;
    buf[n++] = (char)(ok ? 0xc3 : 0xc2);
    if (!ok) {
        size_t el = strlen(error);
        if (el > 255) el = 255;
        buf[n++] = (char)0xa5;
        memcpy(buf + n, "error", 5);
        n += 5;
        buf[n++] = (char)0xd9;
        buf[n++] = (char)el;
        memcpy(buf + n, error, el);
        n += el;
    }
    zmq_send(sk->control, buf, n, 0);
}

static void control_one(swmrbus__sink *sk, swmrbus_buf *out)
{
    zmq_msg_t req;
    zmq_msg_init(&req);
    if (zmq_msg_recv(&req, sk->control, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&req);
        return;
    }
    bool multipart = zmq_msg_more(&req);
    while (zmq_msg_more(&req)) zmq_msg_recv(&req, sk->control, 0);
    swmrbus_request rq;
    char why[240];
    if (multipart) {
        reply(sk, false, "a request is one msgpack map in one part");
    } else if (swmrbus_request_decode(zmq_msg_data(&req), zmq_msg_size(&req),
                                      (size_t)sk->cfg->limits.max_header_bytes, &rq, why,
                                      sizeof why) != SWMRBUS_OK) {
        reply(sk, false, why);
    } else if (rq.cmd == SWMRBUS_CMD_STATUS) {
        if (swmrbus__stats_encode(&sk->stats, sk->name, "sink", out))
            zmq_send(sk->control, out->data, out->len, 0);
        else
            reply(sk, false, "out of memory");
    } else {
        swmrbus__item it;
        memset(&it, 0, sizeof it);
        it.kind = SWMRBUS__ITEM_CMD;
        it.req = rq;
        hand_off(sk, &it, NULL, NULL);
        swmrbus__ack ack = {0};
        /* The writer answers every command, after the items before it. */
        if (zmq_recv(sk->pair_rx, &ack, sizeof ack, 0) != (int)sizeof ack)
            snprintf(ack.error, sizeof ack.error, "no answer from the writer");
        reply(sk, ack.ok, ack.error);
    }
    zmq_msg_close(&req);
}

static swmrbus_err sink_run(void *self)
{
    swmrbus__sink *sk = self;
    pthread_t writer;
    if (pthread_create(&writer, NULL, swmrbus__core_main, sk) != 0) return SWMRBUS_ENOMEM;
    swmrbus_buf out = {0};
    /* Poll only the sockets that exist (a NULL socket would be fd 0). */
    zmq_pollitem_t pi[3] = {{NULL, sk->stop_fd, ZMQ_POLLIN, 0}, {sk->in, 0, ZMQ_POLLIN, 0}};
    int n_pi = 2;
    if (sk->control) pi[n_pi++] = (zmq_pollitem_t){sk->control, 0, ZMQ_POLLIN, 0};
    while (!atomic_load(&sk->stopping)) {
        bool full = atomic_load(&sk->queue_bytes) >= sk->cfg->limits.max_queue_bytes;
        /* When the queue is full, stop reading (the sender's HWM pushes
         * back) and look again soon. */
        pi[1].events = (short)(full ? 0 : ZMQ_POLLIN);
        int rc = zmq_poll(pi, n_pi, full ? 5 : 1000);
        if (rc < 0) {
            if (zmq_errno() == EINTR) continue;
            swmrbus_log(SWMRBUS_LOG_ERROR, sk->name, "poll: %s", zmq_strerror(zmq_errno()));
            break;
        }
        if (n_pi > 2 && (pi[2].revents & ZMQ_POLLIN)) control_one(sk, &out);
        if (pi[1].revents & ZMQ_POLLIN)
            for (int k = 0; k < RECV_BATCH && receive_one(sk, ZMQ_DONTWAIT); k++)
                if (atomic_load(&sk->queue_bytes) >= sk->cfg->limits.max_queue_bytes) break;
    }
    /* Take what already arrived, then let the writer close every file. */
    /* (still within max_queue_bytes: wait for the writer when it is full) */
    uint64_t until = swmrbus_mono_ns() + DRAIN_NS;
    for (int k = 0; k < DRAIN_MAX && swmrbus_mono_ns() < until;) {
        if (atomic_load(&sk->queue_bytes) >= sk->cfg->limits.max_queue_bytes) {
            struct timespec ms = {0, 1000000L};
            nanosleep(&ms, NULL);
            continue;
        }
        if (!receive_one(sk, ZMQ_DONTWAIT)) break;
        k++;
    }
    swmrbus__item it;
    memset(&it, 0, sizeof it);
    it.kind = SWMRBUS__ITEM_STOP;
    hand_off(sk, &it, NULL, NULL);
    pthread_join(writer, NULL);
    swmrbus_buf_free(&out);
    return SWMRBUS_OK;
}

static const swmrbus_component_vtable sink_vtable = {
    .abi_version = SWMRBUS_ABI_VERSION,
    .struct_size = sizeof(swmrbus_component_vtable),
    .kind = "sink",
    .create = sink_create,
    .run = sink_run,
    .stop = sink_stop,
    .destroy = sink_destroy,
};

const swmrbus_component_vtable *swmrbus_sink_component(void) { return &sink_vtable; }

