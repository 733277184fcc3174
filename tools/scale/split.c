/* split.c — the splitter (kind "shard", README "Scale-out"): one frame
 * stream in, S PUSH outputs (out.endpoints, one socket each); frame f goes
 * to output f % S, `start` and `end` to every output, zero-copy. A message
 * keeps all its parts (frames of several datasets or channels, a start with
 * arrays): the sinks check them against the series.
 *
 *   detector ──▶ SPLITTER ──frame f % 3 == 0──▶ sink shard 0
 *                        ├─frame f % 3 == 1──▶ sink shard 1
 *                        └─frame f % 3 == 2──▶ sink shard 2
 *
 * Memory is bounded: each output has a queue of QUEUE_MSGS messages besides
 * ZeroMQ's own pipe (out.hwm). A slow output holds back only its own frames
 * until its queue fills; then the input pauses (one stream cannot be read
 * past a message with nowhere to go), so nothing is lost or duplicated.
 * Order is kept per output; across outputs a lagging sink gets its frames
 * later than the others get theirs. */
#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "scale.h"
#include "swmrbus/log.h"
#include "swmrbus/loop.h"
#include "swmrbus/pack.h"
#include "swmrbus/socket.h"
#include "swmrbus/wire.h"

#define QUEUE_MSGS 16
/* A message's parts: the header and one per dataset, channel or start array,
 * whichever is most. */
#define MAX_PARTS (1 + SWMRBUS_MAX_DATASETS)
#define INLINE_PARTS 2

typedef struct qmsg {
    zmq_msg_t inl[INLINE_PARTS];
    zmq_msg_t *parts; /* inl, or allocated for a message of more parts */
    size_t n;
} qmsg;

typedef struct output {
    void *sock;
    qmsg q[QUEUE_MSGS];
    size_t head, len;
    uint64_t sent, frames;
} output;

typedef struct splitter {
    const swmrbus_component_cfg *cfg;
    void *in, *control;
    swmrbus_loop *loop;
    output *out;
    size_t n_out;
    zmq_msg_t *rx; /* MAX_PARTS: the message being received */
    uint64_t received, rejected, frames, starts, ends;
} splitter;

static void qmsg_close(qmsg *m)
{
    for (size_t k = 0; k < m->n; k++) zmq_msg_close(&m->parts[k]);
    if (m->parts != m->inl) free(m->parts);
    m->parts = NULL;
    m->n = 0;
}

/* Sends what output o has queued, as far as ZeroMQ takes it. */
static void drain(splitter *sp, output *o)
{
    while (o->len) {
        qmsg *m = &o->q[o->head];
        if (zmq_msg_send(&m->parts[0], o->sock, ZMQ_DONTWAIT | (m->n > 1 ? ZMQ_SNDMORE : 0)) < 0)
            break; /* EAGAIN: no room; the loop polls POLLOUT */
        /* the first part is queued; the others always follow it */
        for (size_t k = 1; k < m->n; k++) {
            if (zmq_msg_send(&m->parts[k], o->sock, k + 1 < m->n ? ZMQ_SNDMORE : 0) < 0) {
                swmrbus_log(SWMRBUS_LOG_ERROR, sp->cfg->name, "out: send failed: %s",
                            zmq_strerror(zmq_errno()));
                zmq_msg_close(&m->parts[k]);
            }
        }
        m->n = 0; /* sent parts need no closing */
        qmsg_close(m);
        o->sent++;
        o->head = (o->head + 1) % QUEUE_MSGS;
        o->len--;
    }
    swmrbus_loop_set_events(sp->loop, o->sock, (short)(o->len ? ZMQ_POLLOUT : 0));
}

static bool all_have_room(const splitter *sp)
{
    for (size_t i = 0; i < sp->n_out; i++)
        if (sp->out[i].len == QUEUE_MSGS) return false;
    return true;
}

static qmsg *slot(output *o) { return &o->q[(o->head + o->len++) % QUEUE_MSGS]; }

/* Queues the n received parts on output o, moved, or copies of them (copy
 * true). False when out of memory (nothing queued). */
static bool enqueue(output *o, zmq_msg_t *rx, size_t n, bool copy)
{
    zmq_msg_t *parts = n <= INLINE_PARTS ? NULL : malloc(n * sizeof *parts);
    if (n > INLINE_PARTS && !parts) return false;
    qmsg *q = slot(o);
    q->parts = parts ? parts : q->inl;
    q->n = n;
    for (size_t k = 0; k < n; k++) {
        zmq_msg_init(&q->parts[k]);
        if (copy) zmq_msg_copy(&q->parts[k], &rx[k]);
        else zmq_msg_move(&q->parts[k], &rx[k]);
    }
    return true;
}

static void drop(splitter *sp, swmrbus_reason reason, const char *why)
{
    sp->rejected++;
    swmrbus_log(SWMRBUS_LOG_WARN, sp->cfg->name, "dropped (%s): %s",
                swmrbus_reason_name(reason), why);
}

/* Takes one input message while every queue has room; false when none. */
static bool take_one(splitter *sp)
{
    swmrbus_header h;
    swmrbus_reason reason = SWMRBUS_R_BAD_HEADER;
    char why[240];
    int got = swmrbus_socket_recv(sp->in, sp->rx, MAX_PARTS, ZMQ_DONTWAIT);
    if (got < 0) return false;
    sp->received++;
    size_t n = (size_t)got < MAX_PARTS ? (size_t)got : MAX_PARTS;
    if ((size_t)got > MAX_PARTS) {
        snprintf(why, sizeof why, "%d parts (at most %d)", got, MAX_PARTS);
        drop(sp, SWMRBUS_R_BAD_PAYLOAD, why);
        goto out;
    }
    if (swmrbus_header_decode(zmq_msg_data(&sp->rx[0]), zmq_msg_size(&sp->rx[0]),
                              &sp->cfg->limits, &h, &reason, why, sizeof why) != SWMRBUS_OK) {
        drop(sp, reason, why);
        goto out;
    }
    /* a frame: header + a payload per dataset or channel; an end: header
     * alone; a start: header + its arrays (the sinks check the counts) */
    if ((h.type == SWMRBUS_MSG_FRAME && n < 2) || (h.type == SWMRBUS_MSG_END && n != 1)) {
        snprintf(why, sizeof why, "%s of %zu parts",
                 h.type == SWMRBUS_MSG_FRAME ? "a frame" : "an end", n);
        drop(sp, SWMRBUS_R_BAD_PAYLOAD, why);
        goto out;
    }
    if (h.type == SWMRBUS_MSG_FRAME) {
        output *o = &sp->out[h.frame % sp->n_out];
        if (!enqueue(o, sp->rx, n, false)) {
            drop(sp, SWMRBUS_R_LIMIT, "out of memory");
            goto out;
        }
        n = 0; /* moved */
        o->frames++;
        sp->frames++;
    } else { /* start, end: every output */
        for (size_t i = 0; i < sp->n_out; i++)
            if (!enqueue(&sp->out[i], sp->rx, n, true))
                swmrbus_log(SWMRBUS_LOG_ERROR, sp->cfg->name,
                            "out of memory: a start or end not sent to %s",
                            sp->cfg->out.endpoints[i]);
        if (h.type == SWMRBUS_MSG_START) sp->starts++;
        else sp->ends++;
    }
out:
    for (size_t k = 0; k < n; k++) zmq_msg_close(&sp->rx[k]);
    return true;
}

static void pump(splitter *sp)
{
    for (int k = 0; k < 256 && all_have_room(sp) && take_one(sp); k++)
        for (size_t i = 0; i < sp->n_out; i++)
            if (sp->out[i].len) drain(sp, &sp->out[i]);
    for (size_t i = 0; i < sp->n_out; i++) drain(sp, &sp->out[i]);
    /* Backpressure: while an output's queue is full, read nothing more. */
    swmrbus_loop_set_events(sp->loop, sp->in, (short)(all_have_room(sp) ? ZMQ_POLLIN : 0));
}

static int on_input(swmrbus_loop *loop, void *socket, short revents, void *user)
{
    (void)loop;
    (void)socket;
    (void)revents;
    pump(user);
    return 0;
}

static int on_room(swmrbus_loop *loop, void *socket, short revents, void *user)
{
    splitter *sp = user;
    (void)loop;
    (void)revents;
    for (size_t i = 0; i < sp->n_out; i++)
        if (sp->out[i].sock == socket) drain(sp, &sp->out[i]);
    pump(sp);
    return 0;
}

static swmrbus_err on_request(const swmrbus_request *rq, swmrbus_buf *reply, char *why,
                              size_t whylen, void *user)
{
    splitter *sp = user;
    if (rq->cmd != SWMRBUS_CMD_STATUS) {
        snprintf(why, whylen, "a splitter takes only {cmd: status}");
        return SWMRBUS_EINVAL;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, reply, swmrbus_buf_write);
    int bad = swmrbus_pack_status_head(&pk, sp->cfg->name, "shard",
                                       swmrbus_loop_uptime_ns(sp->loop), 6);
    bad |= swmrbus_pack_kv_u64(&pk, "received", sp->received);
    bad |= swmrbus_pack_kv_u64(&pk, "frames", sp->frames);
    bad |= swmrbus_pack_kv_u64(&pk, "starts", sp->starts);
    bad |= swmrbus_pack_kv_u64(&pk, "ends", sp->ends);
    bad |= swmrbus_pack_kv_u64(&pk, "rejected", sp->rejected);
    bad |= swmrbus_pack_cstr(&pk, "outputs");
    bad |= msgpack_pack_array(&pk, sp->n_out);
    for (size_t i = 0; i < sp->n_out; i++) {
        bad |= msgpack_pack_map(&pk, 4);
        bad |= swmrbus_pack_kv_str(&pk, "endpoint", sp->cfg->out.endpoints[i]);
        bad |= swmrbus_pack_kv_u64(&pk, "frames", sp->out[i].frames);
        bad |= swmrbus_pack_kv_u64(&pk, "sent", sp->out[i].sent);
        bad |= swmrbus_pack_kv_u64(&pk, "queued", sp->out[i].len);
    }
    if (bad) {
        snprintf(why, whylen, "out of memory");
        return SWMRBUS_ENOMEM;
    }
    return SWMRBUS_OK;
}

/* At stop: hand what is queued to ZeroMQ where it has room (it sends within
 * out's linger); what a full output cannot take is dropped and logged, so a
 * dead sink never blocks the stop. */
static void on_stop(swmrbus_loop *loop, void *user)
{
    splitter *sp = user;
    for (size_t i = 0; i < sp->n_out; i++) {
        output *o = &sp->out[i];
        drain(sp, o);
        if (o->len)
            swmrbus_log(SWMRBUS_LOG_WARN, sp->cfg->name,
                        "stopping: %zu messages for %s dropped (the output is full)", o->len,
                        sp->cfg->out.endpoints[i]);
    }
    swmrbus_loop_end(loop);
}

static void split_destroy(void **self)
{
    splitter *sp = *self;
    if (!sp) return;
    for (size_t i = 0; sp->out && i < sp->n_out; i++) {
        output *o = &sp->out[i];
        for (; o->len; o->len--, o->head = (o->head + 1) % QUEUE_MSGS)
            qmsg_close(&o->q[o->head]);
        if (o->sock) zmq_close(o->sock);
    }
    free(sp->out);
    free(sp->rx);
    if (sp->in) zmq_close(sp->in);
    if (sp->control) zmq_close(sp->control);
    swmrbus_loop_destroy(&sp->loop);
    free(sp);
    *self = NULL;
}

static swmrbus_err split_check(const swmrbus_component_args *args, char *err, size_t errlen)
{
    const swmrbus_component_cfg *cfg = args->cfg;
    if (!cfg->in.present || !cfg->out.present || cfg->out.pattern != SWMRBUS_PATTERN_PUSH) {
        snprintf(err, errlen, "components[%zu]: a splitter needs in and out (push)", cfg->index);
        return SWMRBUS_ECONFIG;
    }
    return SWMRBUS_OK;
}

static swmrbus_err split_create(const swmrbus_component_args *args, void **self, char *err,
                                size_t errlen)
{
    const swmrbus_component_cfg *cfg = args->cfg;
    swmrbus_err rc = split_check(args, err, errlen);
    splitter *sp = rc == SWMRBUS_OK ? calloc(1, sizeof *sp) : NULL;
    if (rc == SWMRBUS_OK && !sp) rc = SWMRBUS_ENOMEM;
    if (rc == SWMRBUS_OK) {
        sp->cfg = cfg;
        sp->n_out = cfg->out.n_endpoints;
        if (!(sp->out = calloc(sp->n_out, sizeof *sp->out)) ||
            !(sp->rx = calloc(MAX_PARTS, sizeof *sp->rx)))
            rc = SWMRBUS_ENOMEM;
    }
    const swmrbus_socket_opts in_o = {.name = "in", .hwm_opt = ZMQ_RCVHWM,
                                      .max_msg_bytes = swmrbus_limits_frame_msg_max(&cfg->limits)};
    const swmrbus_socket_opts out_o = {.name = "out", .hwm_opt = ZMQ_SNDHWM, .linger_ms = 5000};
    const swmrbus_socket_opts control_o = {.name = "control"};
    if (rc == SWMRBUS_OK) rc = swmrbus_loop_create(cfg->name, "shard", &sp->loop);
    if (rc == SWMRBUS_OK)
        rc = swmrbus_socket_open(args->zmq_ctx,
                                 cfg->in.pattern == SWMRBUS_PATTERN_SUB ? ZMQ_SUB : ZMQ_PULL,
                                 &cfg->in, &in_o, &sp->in, err, errlen);
    for (size_t i = 0; rc == SWMRBUS_OK && i < sp->n_out; i++) {
        swmrbus_socket_cfg one = cfg->out; /* shallow: one endpoint per socket */
        one.endpoints[0] = cfg->out.endpoints[i];
        for (unsigned j = 1; j < SWMRBUS_MAX_ENDPOINTS; j++) one.endpoints[j] = NULL;
        one.n_endpoints = 1;
        rc = swmrbus_socket_open(args->zmq_ctx, ZMQ_PUSH, &one, &out_o, &sp->out[i].sock, err,
                                 errlen);
        if (rc == SWMRBUS_OK) rc = swmrbus_loop_add(sp->loop, sp->out[i].sock, 0, on_room, sp);
    }
    if (rc == SWMRBUS_OK && cfg->control.present)
        rc = swmrbus_socket_open(args->zmq_ctx, ZMQ_REP, &cfg->control, &control_o,
                                 &sp->control, err, errlen);
    if (rc == SWMRBUS_OK) rc = swmrbus_loop_add(sp->loop, sp->in, ZMQ_POLLIN, on_input, sp);
    if (rc == SWMRBUS_OK)
        rc = swmrbus_loop_control(sp->loop, sp->control, on_request, sp,
                                  (size_t)cfg->limits.max_header_bytes);
    if (rc == SWMRBUS_OK) swmrbus_loop_on_stop(sp->loop, on_stop, sp);
    if (rc != SWMRBUS_OK && sp) {
        if (rc == SWMRBUS_ENOMEM) snprintf(err, errlen, "out of memory");
        void *p = sp;
        split_destroy(&p);
        sp = NULL;
    } else if (sp) {
        swmrbus_log(SWMRBUS_LOG_INFO, cfg->name, "splitter ready: frame f to output f %% %zu",
                    sp->n_out);
    }
    *self = sp;
    return rc;
}

static swmrbus_err split_run(void *self) { return swmrbus_loop_run(((splitter *)self)->loop); }

static void split_stop(void *self) { swmrbus_loop_stop(((splitter *)self)->loop); }

static const swmrbus_component_vtable split_vtable = {
    .abi_version = SWMRBUS_ABI_VERSION,
    .struct_size = sizeof(swmrbus_component_vtable),
    .kind = "shard",
    .create = split_create,
    .run = split_run,
    .stop = split_stop,
    .destroy = split_destroy,
    .check = split_check,
};

const swmrbus_component_vtable *swmrbus_shard_component(void) { return &split_vtable; }
