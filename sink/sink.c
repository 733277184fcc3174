/* sink.c — the sink component: sockets, the receive loop (decode and
 * validate, no HDF5), control requests; hands messages to core.c. */
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <zmq.h>

#include "sink_internal.h"
#include "swmrbus/log.h"
#include "swmrbus/socket.h"
#include "swmrbus/sink.h"
#include "swmrbus/stream.h"
#include "writer.h"

#define RECV_BATCH 256
#define MSG_OVERHEAD 64 /* bytes ZeroMQ allocates per queued message part, about */
#define DRAIN_MAX 100000          /* messages still taken from the input at stop */
#define DRAIN_NS 10000000000ull   /* ... for at most 10 s */
#define FULL_RETRY_NS 5000000ull  /* queue full: look again this soon */
#define REQ_RETRY_NS 5000000000ull /* in.pattern req: no reply this long: ask again */
/* Receive in batches: once the input ran dry after taking frames, pause it
 * for NAP_NS, so that frames gather in ZeroMQ's receive pipe and the next
 * turn takes many at once. Without it a sink faster than its sender wakes
 * (ZeroMQ's I/O thread writes an eventfd, this thread leaves poll) for
 * every message. Only with a receive pipe of NAP_MIN_HWM messages or more
 * (limits.max_frame_bytes near the real frame size): a pipe of 2 would stall
 * the sender instead. Costs at most NAP_NS (the loop's poll rounds it up to
 * 1 ms) of latency. */
#define NAP_NS 1000000ull
#define NAP_MIN_HWM 16
/* Read ahead of the writer only so far: while the writer keeps taking items,
 * the receive thread stops reading once the queue holds AHEAD_BYTES, or as
 * many messages of the last one's size as ZeroMQ's receive pipe holds (in.hwm),
 * if more; the rest waits in that pipe and the kernel (the sender feels the
 * push-back). A queue that fills to max_queue_bytes in steady state buys no
 * throughput: with small frames it costs a first-touch page fault per 4 KiB
 * as it grows (16 KiB frames over tcp: 70-90k minor faults per 100k frames
 * with the default 256 MiB queue, 19k with 16 MiB) and frames go to disk
 * from cache-cold memory. Large frames read ahead a pipe's worth, as before
 * (4 MiB frames: in.hwm 72, more than the default queue). When the writer
 * takes nothing for AHEAD_STALL_NS (a slow flush, a busy disk), the receive
 * thread reads on up to max_queue_bytes, as before, until the queue is back
 * under the read-ahead. */
#define AHEAD_BYTES (16ull << 20)
#define AHEAD_STALL_NS 20000000ull
/* ... but of small messages no more than AHEAD_MSGS: 16 MiB of 1 KiB frames
 * is 15k frames, which the writer then copies into the page cache long
 * after they left the CPU's caches (1 KiB frames: 10 % less CPU per GB, 0.88x
 * -> 0.98x the C ceiling with 2 MiB; 16 KiB frames, where the pipe's worth is
 * the larger, unchanged). */
#define AHEAD_MSGS 2048ull

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
static int on_input(swmrbus_loop *loop, void *socket, short revents, void *user);
static uint64_t on_tick(swmrbus_loop *loop, uint64_t now, void *user);
static swmrbus_err on_request(const swmrbus_request *rq, swmrbus_buf *reply, char *why,
                              size_t whylen, void *user);

static swmrbus_err sink_create(const swmrbus_component_args *args, void **self, char *err,
                               size_t errlen)
{
    const swmrbus_component_cfg *cfg = args->cfg;
    swmrbus_err rc = SWMRBUS_OK;
    swmrbus__sink *sk = calloc(1, sizeof *sk);
    if (!sk) return SWMRBUS_ENOMEM;
    sk->cfg = cfg;
    sk->name = cfg->name;
    if (pthread_mutex_init(&sk->free_mu, NULL) != 0) {
        free(sk);
        return SWMRBUS_ENOMEM;
    }
    sk->free_mu_ok = true;
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
    swmrbus__stats_metrics(&sk->stats, cfg->name);
    if ((rc = swmrbus_loop_create(cfg->name, "sink", &sk->loop)) != SWMRBUS_OK ||
        (rc = swmrbus_loop_create(cfg->name, "sink-writer", &sk->writer_loop)) != SWMRBUS_OK) {
        snprintf(err, errlen, "loop: %s", swmrbus_strerror(rc));
        goto out;
    }
    /* The memory bound (membound.h) sets the input's largest part, receive
     * high-water mark and kernel buffer. Before bind: listeners copy options. */
    rc = swmrbus__mem_plan_make(cfg, &sk->stats.mem, err, errlen);
    if (rc != SWMRBUS_OK) goto out;
    sk->stats.max_memory_bytes = cfg->max_memory_bytes;
    swmrbus_socket_cfg in_cfg = cfg->in;
    in_cfg.hwm = sk->stats.mem.rcvhwm;
    int in_type = cfg->in.pattern == SWMRBUS_PATTERN_SUB   ? ZMQ_SUB
                  : cfg->in.pattern == SWMRBUS_PATTERN_REQ ? ZMQ_REQ
                                                           : ZMQ_PULL;
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
    if ((rc = swmrbus_notifier_create(sk->notify, cfg->name, &sk->nt)) != SWMRBUS_OK) goto out;
    swmrbus_notifier_set_shard(sk->nt, cfg->shard_index, cfg->shard_count); /* issue 12 */
    if (cfg->in.protocol) {
        /* A foreign stream: its decoder turns each message into ours. */
        sk->decoder = swmrbus_decoder_find(cfg->in.protocol);
        if (!sk->decoder) {
            snprintf(err, errlen, "in.protocol: no decoder for %s", cfg->in.protocol);
            rc = SWMRBUS_ECONFIG;
            goto out;
        }
        if ((rc = sk->decoder->create(cfg, &sk->decoder_state, err, errlen)) != SWMRBUS_OK)
            goto out;
        if (!(sk->parts = calloc(SWMRBUS_CODEC_MAX_PARTS, sizeof *sk->parts))) {
            rc = SWMRBUS_ENOMEM;
            goto out;
        }
        sk->request = cfg->in.pattern == SWMRBUS_PATTERN_REQ ? sk->decoder->request : NULL;
    }
    if (cfg->in.pattern == SWMRBUS_PATTERN_REQ) {
        /* A REQ input asks before each message; relaxed and correlated, so
         * a request can be sent again when a restarted server lost it. */
        int one = 1;
        if (!sk->request) {
            snprintf(err, errlen, "in.pattern: req needs an in.protocol that sends requests "
                     "(karabo-bridge)");
            rc = SWMRBUS_ECONFIG;
            goto out;
        }
        zmq_setsockopt(sk->in, ZMQ_REQ_RELAXED, &one, sizeof one);
        zmq_setsockopt(sk->in, ZMQ_REQ_CORRELATE, &one, sizeof one);
    } else if (!sk->parts && !(sk->parts = calloc(SWMRBUS__ITEM_PARTS, sizeof *sk->parts))) {
        rc = SWMRBUS_ENOMEM; /* the native input's parts (a payload per dataset) */
        goto out;
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
    if ((rc = swmrbus_loop_add(sk->loop, sk->in, ZMQ_POLLIN, on_input, sk)) != SWMRBUS_OK ||
        (rc = swmrbus_loop_control(sk->loop, sk->control, on_request, sk,
                                   (size_t)cfg->limits.max_header_bytes)) != SWMRBUS_OK)
        goto out;
    swmrbus_loop_set_work(sk->loop, on_tick, sk);
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
    swmrbus_notifier_destroy(&sk->nt);
    if (sk->decoder && sk->decoder_state) sk->decoder->destroy(&sk->decoder_state);
    free(sk->parts);
    if (sk->cur) {
        for (size_t i = 0; i < sk->cur->n_parts; i++) zmq_msg_close(&sk->cur->parts[i]);
        free(sk->cur);
    }
    while (sk->free_list) {
        swmrbus__batch *b = sk->free_list;
        sk->free_list = b->next;
        free(b);
    }
    if (sk->free_mu_ok) pthread_mutex_destroy(&sk->free_mu);
    swmrbus_loop_destroy(&sk->loop);
    swmrbus_loop_destroy(&sk->writer_loop);
    swmrbus__stats_destroy(&sk->stats);
    free(sk);
    *self = NULL;
}

static void sink_stop(void *self) { swmrbus_loop_stop(((swmrbus__sink *)self)->loop); }

/* ---- the hand-off in batches (sink_internal.h) ------------------------- */

/* Most batches kept for reuse: more would only hold memory. */
#define FREE_BATCHES 8

static size_t batch_size(size_t cap_parts)
{
    return sizeof(swmrbus__batch) + cap_parts * sizeof(zmq_msg_t);
}

void swmrbus__batch_release(swmrbus__sink *sk, swmrbus__batch *b)
{
    if (!b) return;
    if (sk->free_mu_ok && b->cap_parts == SWMRBUS__BATCH_PARTS) {
        pthread_mutex_lock(&sk->free_mu);
        if (sk->n_free < FREE_BATCHES) {
            b->next = sk->free_list;
            sk->free_list = b;
            sk->n_free++;
            b = NULL;
        }
        pthread_mutex_unlock(&sk->free_mu);
    }
    free(b);
}

/* An empty batch with room for n_parts parts at least (counted in
 * queue_bytes from now on), or NULL. */
static swmrbus__batch *batch_get(swmrbus__sink *sk, size_t n_parts)
{
    swmrbus__batch *b = NULL;
    size_t cap = n_parts > SWMRBUS__BATCH_PARTS ? n_parts : SWMRBUS__BATCH_PARTS;
    if (cap == SWMRBUS__BATCH_PARTS && sk->free_mu_ok) {
        pthread_mutex_lock(&sk->free_mu);
        if ((b = sk->free_list)) {
            sk->free_list = b->next;
            sk->n_free--;
        }
        pthread_mutex_unlock(&sk->free_mu);
    }
    if (!b && !(b = malloc(batch_size(cap)))) return NULL;
    b->next = NULL;
    b->n = b->n_parts = 0;
    b->cap_parts = cap;
    b->queued = batch_size(cap) + MSG_OVERHEAD;
    atomic_fetch_add(&sk->queue_bytes, b->queued);
    return b;
}

/* Sends the batch being filled (if any) to the writer: one message, its
 * address. */
static void batch_send(swmrbus__sink *sk)
{
    swmrbus__batch *b = sk->cur;
    if (!b) return;
    sk->cur = NULL;
    swmrbus_metrics_add(sk->stats.m.queue, b->queued);
    if (zmq_send(sk->pair_rx, &b, sizeof b, 0) == (int)sizeof b) return;
    /* Cannot happen with an unbounded inproc PAIR; do not leak. */
    for (size_t i = 0; i < b->n_parts; i++) zmq_msg_close(&b->parts[i]);
    atomic_fetch_sub(&sk->queue_bytes, b->queued);
    swmrbus_metrics_sub(sk->stats.m.queue, b->queued);
    swmrbus__batch_release(sk, b);
}

/* Moves one message part into batch b (zero-copy); returns its bytes as
 * counted in queue_bytes. */
static uint64_t batch_take(swmrbus__batch *b, zmq_msg_t *part)
{
    zmq_msg_t *m = &b->parts[b->n_parts++];
    zmq_msg_init(m);
    zmq_msg_move(m, part);
    return zmq_msg_size(m) + MSG_OVERHEAD;
}

/* Adds an item with its message parts (head, if not NULL, then the n of
 * rest; moved in, zero-copy) to the batch being filled, sending that first
 * when it has no room, and after when it is full or holds
 * SWMRBUS__BATCH_BYTES. Counts the item in queue_bytes. */
static bool hand_off_parts(swmrbus__sink *sk, swmrbus__item *it, zmq_msg_t *head,
                           zmq_msg_t *rest, size_t n_rest)
{
    size_t n = (head != NULL) + n_rest;
    if (sk->cur && (sk->cur->n == SWMRBUS__BATCH_ITEMS ||
                    sk->cur->n_parts + n > sk->cur->cap_parts))
        batch_send(sk);
    if (!sk->cur && !(sk->cur = batch_get(sk, n))) {
        if (head) { /* a message: dropped and counted (a CMD or STOP waits: hand_off_now) */
            swmrbus__stats_reject(&sk->stats, NULL, SWMRBUS_R_LIMIT);
            swmrbus_log(SWMRBUS_LOG_ERROR, sk->name, "out of memory: a message is dropped");
        }
        return false;
    }
    swmrbus__batch *b = sk->cur;
    it->recv_ns = swmrbus_mono_ns();
    uint64_t q = 0;
    swmrbus__entry *e = &b->e[b->n++];
    e->first = (uint32_t)b->n_parts;
    e->n = (uint32_t)n;
    if (head) q += batch_take(b, head);
    for (size_t i = 0; i < n_rest; i++) q += batch_take(b, &rest[i]);
    it->queued = q;
    e->it = *it;
    sk->last_item_bytes = q + sizeof *e + MSG_OVERHEAD;
    b->queued += q;
    atomic_fetch_add(&sk->queue_bytes, q);
    if (b->n == SWMRBUS__BATCH_ITEMS || b->queued >= SWMRBUS__BATCH_BYTES) batch_send(sk);
    return true;
}

/* An item without parts (CMD, STOP): sent at once, with the batch. The
 * writer answers or ends on it, so it must get there: out of memory, wait
 * for the writer to give batches back. */
static void hand_off_now(swmrbus__sink *sk, swmrbus__item *it)
{
    while (!hand_off_parts(sk, it, NULL, NULL, 0)) {
        batch_send(sk);
        struct timespec ms = {0, 1000000L};
        nanosleep(&ms, NULL);
    }
    batch_send(sk);
}

static void reject_rx(swmrbus__sink *sk, swmrbus_reason r, uint64_t series, const char *why)
{
    swmrbus__item it;
    memset(&it, 0, sizeof it);
    it.kind = SWMRBUS__ITEM_REJECT;
    it.reason = r;
    it.has_series = series != 0;
    it.series = series;
    zmq_msg_t text;
    zmq_msg_init_size(&text, strlen(why) + 1);
    memcpy(zmq_msg_data(&text), why, strlen(why) + 1);
    hand_off_parts(sk, &it, &text, NULL, 0);
    zmq_msg_close(&text);
}

/* Bytes of a start's array parts (README "Start arrays"). */
static uint64_t start_arrays_bytes(zmq_msg_t *payloads, size_t n)
{
    uint64_t sum = 0;
    for (size_t i = 0; i < n; i++) sum += zmq_msg_size(&payloads[i]);
    return sum;
}

/* A decoder's output: one wire protocol v1 message, checked like any other.
 * A frame has one payload per dataset of its series (the writer checks the
 * count against the series). */
static void on_decoded(void *user, zmq_msg_t *header, zmq_msg_t *payloads, size_t n_payloads)
{
    swmrbus__sink *sk = user;
    swmrbus__item it;
    swmrbus_reason reason;
    char why[240];
    memset(&it, 0, sizeof it);
    it.kind = SWMRBUS__ITEM_MSG;
    bool frame;
    if (swmrbus_header_decode(zmq_msg_data(header), zmq_msg_size(header), &sk->cfg->limits,
                              &it.h, &reason, why, sizeof why) != SWMRBUS_OK) {
        reject_rx(sk, reason, it.h.series, why);
    } else if ((frame = it.h.type == SWMRBUS_MSG_FRAME)
                   ? n_payloads < 1 || n_payloads > SWMRBUS_MAX_DATASETS
                   : n_payloads != (it.h.type == SWMRBUS_MSG_START ? it.h.n_arrays : 0)) {
        snprintf(why, sizeof why, "%s: %zu payloads for a %s",
                 sk->decoder ? sk->decoder->protocol : "message", n_payloads,
                 frame ? "frame" : "start or end");
        reject_rx(sk, SWMRBUS_R_BAD_PAYLOAD, it.h.series, why);
    } else if (!frame && n_payloads && start_arrays_bytes(payloads, n_payloads) >
                                           sk->cfg->max_start_bytes) { /* README "Start arrays" */
        reject_rx(sk, SWMRBUS_R_LIMIT, it.h.series,
                  "start arrays exceed limits.max_start_bytes");
    } else {
        it.hdr_base = zmq_msg_data(header);
        it.has_payload = n_payloads >= 1;
        it.n_payloads = (uint32_t)n_payloads;
        hand_off_parts(sk, &it, header, payloads, n_payloads);
    }
    zmq_msg_close(header);
    for (size_t i = 0; i < n_payloads; i++) zmq_msg_close(&payloads[i]);
}

static void on_decode_reject(void *user, swmrbus_reason reason, bool has_series,
                             uint64_t series, const char *why)
{
    reject_rx(user, reason, has_series ? series : 0, why);
}

/* A decoder's counter: "late_keys" goes into status. */
static void on_decode_count(void *user, const char *counter, uint64_t n)
{
    swmrbus__sink *sk = user;
    if (strcmp(counter, "late_keys") != 0) return;
    swmrbus__stats_lock(&sk->stats);
    sk->stats.late_keys += n;
    swmrbus__stats_unlock(&sk->stats);
}

/* Receives one foreign message and feeds it to the decoder. */
/* in.pattern req: sends the request for the next message. */
static void send_request(swmrbus__sink *sk)
{
    if (zmq_send(sk->in, sk->request, strlen(sk->request), ZMQ_DONTWAIT) >= 0)
        sk->request_ns = swmrbus_mono_ns();
}

static bool receive_foreign(swmrbus__sink *sk, int flags)
{
    if (sk->request && !sk->request_ns) send_request(sk);
    int n = swmrbus_socket_recv(sk->in, sk->parts, SWMRBUS_CODEC_MAX_PARTS, flags);
    if (n < 0) return false;
    if (sk->request) { /* the reply came: ask for the next one */
        sk->request_ns = 0;
        send_request(sk);
    }
    const swmrbus_decode_sink out = {on_decoded, on_decode_reject, sk, on_decode_count};
    sk->decoder->feed(sk->decoder_state, sk->parts, n, &out);
    for (int i = 0; i < n && i < SWMRBUS_CODEC_MAX_PARTS; i++) zmq_msg_close(&sk->parts[i]);
    return true;
}

/* Receives one multipart message from the input and hands it off.
 * Returns false when nothing could be received. */
static bool receive_one(swmrbus__sink *sk, int flags)
{
    if (sk->decoder) return receive_foreign(sk, flags);
    /* wire protocol v1: the header, then a payload per dataset of a frame */
    int n = swmrbus_socket_recv(sk->in, sk->parts, SWMRBUS__ITEM_PARTS - 1, flags);
    if (n < 0) return false;
    if (n > SWMRBUS__ITEM_PARTS - 1) {
        reject_rx(sk, SWMRBUS_R_BAD_PAYLOAD, 0, "message of too many parts");
        for (int i = 0; i < SWMRBUS__ITEM_PARTS - 1; i++) zmq_msg_close(&sk->parts[i]);
        return true;
    }
    on_decoded(sk, &sk->parts[0], &sk->parts[1], (size_t)n - 1);
    return true;
}

static bool queue_full(const swmrbus__sink *sk)
{
    return atomic_load(&sk->queue_bytes) >= sk->cfg->limits.max_queue_bytes;
}

/* The queue holds the read-ahead and the writer is not stalled. */
static bool ahead_full(swmrbus__sink *sk)
{
    uint64_t q = atomic_load(&sk->queue_bytes);
    uint64_t ahead = (uint64_t)sk->stats.mem.rcvhwm * sk->last_item_bytes;
    uint64_t floor = AHEAD_BYTES;
    if (sk->last_item_bytes && AHEAD_MSGS * sk->last_item_bytes < floor)
        floor = AHEAD_MSGS * sk->last_item_bytes;
    if (ahead < floor) ahead = floor;
    if (q < ahead) {
        sk->burst = false;
        return false;
    }
    return !sk->burst;
}

static int on_input(swmrbus_loop *loop, void *socket, short revents, void *user)
{
    swmrbus__sink *sk = user;
    (void)socket;
    (void)revents;
    int k = 0;
    bool dry = false;
    bool ahead = false;
    for (; k < RECV_BATCH; k++) {
        if (!receive_one(sk, ZMQ_DONTWAIT)) {
            dry = true;
            break;
        }
        if (queue_full(sk) || (ahead = ahead_full(sk))) break;
    }
    batch_send(sk); /* what this turn took: one hand-off */
    /* When the queue is full, stop reading (the sender's HWM pushes back)
     * and look again soon (on_tick). */
    if (queue_full(sk)) {
        swmrbus_loop_set_events(loop, sk->in, 0);
    } else if (ahead) {
        /* on_tick resumes once the writer took items, or stalled */
        swmrbus_loop_set_events(loop, sk->in, 0);
        sk->ahead_paused = true;
        sk->ahead_q = atomic_load(&sk->queue_bytes);
        sk->ahead_ns = swmrbus_mono_ns();
    } else if (dry && k > 0 && sk->stats.mem.rcvhwm >= NAP_MIN_HWM) {
        swmrbus_loop_set_events(loop, sk->in, 0);
        sk->nap_until_ns = swmrbus_mono_ns() + NAP_NS;
    }
    return 0;
}

static uint64_t on_tick(swmrbus_loop *loop, uint64_t now, void *user)
{
    swmrbus__sink *sk = user;
    if (sk->request) {
        /* REQ input: the first request, and again when no reply came for
         * REQ_RETRY_NS (a restarted server lost it); relaxed REQ allows it. */
        if (!sk->request_ns || now - sk->request_ns >= REQ_RETRY_NS) send_request(sk);
    }
    if (sk->nap_until_ns && now < sk->nap_until_ns) return sk->nap_until_ns;
    sk->nap_until_ns = 0;
    if (sk->ahead_paused) {
        uint64_t q = atomic_load(&sk->queue_bytes);
        if (q < sk->ahead_q) { /* the writer took items */
            sk->ahead_q = q;
            sk->ahead_ns = now;
        } else if (now - sk->ahead_ns >= AHEAD_STALL_NS) {
            sk->burst = true; /* it stalled: read on, up to max_queue_bytes */
        }
        if (ahead_full(sk)) return now + NAP_NS;
        sk->ahead_paused = false;
    }
    if (!queue_full(sk)) {
        swmrbus_loop_set_events(loop, sk->in, ZMQ_POLLIN);
        return sk->request ? now + REQ_RETRY_NS / 10 : SWMRBUS_LOOP_IDLE;
    }
    return now + FULL_RETRY_NS;
}

static swmrbus_err on_request(const swmrbus_request *rq, swmrbus_buf *reply, char *why,
                              size_t whylen, void *user)
{
    swmrbus__sink *sk = user;
    if (rq->cmd == SWMRBUS_CMD_STATUS) {
        if (swmrbus__stats_encode(&sk->stats, sk->name, "sink", reply)) return SWMRBUS_OK;
        snprintf(why, whylen, "out of memory");
        return SWMRBUS_ENOMEM;
    }
    swmrbus__item it;
    memset(&it, 0, sizeof it);
    it.kind = SWMRBUS__ITEM_CMD;
    it.req = *rq;
    hand_off_now(sk, &it);
    swmrbus__ack ack = {0};
    /* The writer answers every command, after the items before it. */
    if (zmq_recv(sk->pair_rx, &ack, sizeof ack, 0) != (int)sizeof ack) {
        snprintf(why, whylen, "no answer from the writer");
        return SWMRBUS_ESTATE;
    }
    if (ack.ok) return SWMRBUS_OK;
    snprintf(why, whylen, "%.*s", (int)sizeof ack.error, ack.error);
    return SWMRBUS_ENOTFOUND;
}

static swmrbus_err sink_run(void *self)
{
    swmrbus__sink *sk = self;
    pthread_t writer;
    if (pthread_create(&writer, NULL, swmrbus__core_main, sk) != 0) return SWMRBUS_ENOMEM;
    swmrbus_err rc = swmrbus_loop_run(sk->loop);
    /* Take what already arrived, then let the writer close every file. */
    /* (still within max_queue_bytes: wait for the writer when it is full) */
    uint64_t until = swmrbus_mono_ns() + DRAIN_NS;
    for (int k = 0; k < DRAIN_MAX && swmrbus_mono_ns() < until;) {
        if (queue_full(sk)) {
            batch_send(sk);
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
    hand_off_now(sk, &it);
    pthread_join(writer, NULL);
    return rc;
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
