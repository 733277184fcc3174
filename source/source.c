/* source/source.c — the source component: sockets, the one loop (stop,
 * control, notifications in, frames out when there is room), status. The
 * series and their files are in series.c, relays in relay.c. */
#include <errno.h>
#include <inttypes.h>
#include <msgpack.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "bufpool.h"
#include "h5util.h"
#include "swmrbus/pack.h"
#include "source_internal.h"
#include "swmrbus/codec.h"
#include "swmrbus/curve.h"
#include "swmrbus/log.h"
#include "swmrbus/pack.h"
#include "swmrbus/socket.h"
#include "swmrbus/source.h"

#define MS_NS UINT64_C(1000000)
#define RECV_BATCH 256             /* notifications taken per loop turn */
#define DRAIN_NS (5000 * MS_NS)    /* at stop: at most this long to finish */
#define QUIET_NS (200 * MS_NS)     /* at stop: no input this long and no work: done */
#define STATUS_EVERY_NS (5000 * MS_NS)

/* ---- create / destroy / stop ------------------------------------------------ */

static void source_destroy(void **self);
static int on_notices(swmrbus_loop *loop, void *socket, short revents, void *user);
static int on_room(swmrbus_loop *loop, void *socket, short revents, void *user);
static uint64_t on_work(swmrbus_loop *loop, uint64_t now, void *user);
static void on_stop(swmrbus_loop *loop, void *user);
static swmrbus_err on_request(const swmrbus_request *rq, swmrbus_buf *reply, char *why,
                              size_t whylen, void *user);

static swmrbus_err source_create(const swmrbus_component_args *args, void **self, char *err,
                                 size_t errlen)
{
    const swmrbus_component_cfg *cfg = args->cfg;
    swmrbus_err rc = SWMRBUS_OK;
    swmrbus__source *s = calloc(1, sizeof *s);
    if (!s) return SWMRBUS_ENOMEM;
    s->cfg = cfg;
    s->name = cfg->name;
    s->alt_next = 1ull << 32;
    s->last_tick_ns = swmrbus_mono_ns();
    swmrbus__src_metrics_init(s);
    if (!cfg->in.present || cfg->limits.max_open_series == 0) {
        snprintf(err, errlen, "a source needs in (the notify endpoint(s) of a sink or source)");
        rc = SWMRBUS_ECONFIG;
        goto out;
    }
    if (cfg->in.pattern != SWMRBUS_PATTERN_SUB) {
        snprintf(err, errlen, "in.pattern: a source subscribes to notifications (sub)");
        rc = SWMRBUS_ECONFIG;
        goto out;
    }
    if (cfg->limits.max_open_series > 1u << 20) {
        snprintf(err, errlen, "limits.max_open_series: at most %u for a source", 1u << 20);
        rc = SWMRBUS_ECONFIG;
        goto out;
    }
    s->n_slots = (size_t)cfg->limits.max_open_series + SWMRBUS__FINISHED_KEPT;
    if (!(s->slots = calloc(s->n_slots, sizeof *s->slots))) {
        rc = SWMRBUS_ENOMEM;
        goto out;
    }
    if ((rc = swmrbus__src_dirs_init(s, err, errlen)) != SWMRBUS_OK) goto out; /* dirs.c */
    if ((rc = swmrbus__bufpool_create(SWMRBUS__POOL_BYTES, &s->pool)) != SWMRBUS_OK) goto out;
    if ((rc = swmrbus_loop_create(cfg->name, "source", &s->loop)) != SWMRBUS_OK) {
        snprintf(err, errlen, "loop: %s", swmrbus_strerror(rc));
        goto out;
    }
    /* Notifications are small: ZeroMQ drops anything far larger unread. */
    /* max_header_bytes <= 16 MiB (config.c bounds it): the sum cannot wrap */
    const swmrbus_socket_opts in_opts = {
        .name = "in", .hwm_opt = ZMQ_RCVHWM,
        .max_msg_bytes = (int64_t)cfg->limits.max_header_bytes + 4096};
    rc = swmrbus_socket_open(args->zmq_ctx, ZMQ_SUB, &cfg->in, &in_opts, &s->in, err, errlen);
    if (rc != SWMRBUS_OK) goto out;
    if (cfg->out.present) {
        s->out_pub = cfg->out.pattern == SWMRBUS_PATTERN_PUB;
        s->out_rep = cfg->out.pattern == SWMRBUS_PATTERN_REP; /* Karabo bridge's REQ clients */
        const swmrbus_socket_opts o = {.name = "out", .hwm_opt = ZMQ_SNDHWM};
        rc = swmrbus_socket_open(args->zmq_ctx, s->out_pub ? ZMQ_PUB : s->out_rep ? ZMQ_REP : ZMQ_PUSH,
                                 &cfg->out, &o, &s->out, err, errlen);
        if (rc != SWMRBUS_OK) goto out;
        if (cfg->out.protocol) { /* out.protocol: an encoder (swmrbus/codec.h) */
            if (!(s->enc = swmrbus_encoder_find(cfg->out.protocol))) {
                snprintf(err, errlen, "out.protocol: no encoder for %s", cfg->out.protocol);
                rc = SWMRBUS_ECONFIG;
                goto out;
            }
            if ((rc = s->enc->create(cfg, &s->enc_state, err, errlen)) != SWMRBUS_OK) goto out;
        } else if (s->out_rep) {
            snprintf(err, errlen, "out.pattern: rep needs out.protocol: karabo-bridge");
            rc = SWMRBUS_ECONFIG;
            goto out;
        }
        if (s->out_pub) {
            int on = 1;
            zmq_setsockopt(s->out, ZMQ_XPUB_NODROP, &on, sizeof on);
        }
    }
    if (cfg->notify.present) {
        const swmrbus_socket_opts o = {.name = "notify", .hwm_opt = ZMQ_SNDHWM};
        rc = swmrbus_socket_open(args->zmq_ctx, ZMQ_PUB, &cfg->notify, &o, &s->notify, err,
                                 errlen);
        if (rc != SWMRBUS_OK) goto out;
    }
    if (cfg->control.present) {
        const swmrbus_socket_opts o = {.name = "control"};
        rc = swmrbus_socket_open(args->zmq_ctx, ZMQ_REP, &cfg->control, &o, &s->control, err,
                                 errlen);
        if (rc != SWMRBUS_OK) goto out;
    }
    if ((rc = swmrbus_notifier_create(s->notify, cfg->name, &s->nt)) != SWMRBUS_OK ||
        (rc = swmrbus_loop_add(s->loop, s->in, ZMQ_POLLIN, on_notices, s)) != SWMRBUS_OK ||
        (s->out && (rc = swmrbus_loop_add(s->loop, s->out, 0, on_room, s)) != SWMRBUS_OK) ||
        (rc = swmrbus_loop_control(s->loop, s->control, on_request, s,
                                   (size_t)cfg->limits.max_header_bytes)) != SWMRBUS_OK)
        goto out;
    swmrbus_loop_set_work(s->loop, on_work, s);
    swmrbus_loop_on_stop(s->loop, on_stop, s);
    swmrbus_log(SWMRBUS_LOG_INFO, cfg->name, "source ready: notifications from %s%s, frames %s %s",
                cfg->in.endpoints[0], cfg->in.n_endpoints > 1 ? " (and more)" : "",
                cfg->out.present ? swmrbus_pattern_name(cfg->out.pattern) : "(no out)",
                cfg->out.present ? cfg->out.endpoints[0] : "");
out:
    if (rc != SWMRBUS_OK) {
        void *p = s;
        source_destroy(&p);
        s = NULL;
    }
    *self = s;
    return rc;
}

static void source_destroy(void **self)
{
    swmrbus__source *s = *self;
    if (!s) return;
    void *socks[] = {s->in, s->out, s->notify, s->control};
    for (size_t i = 0; i < sizeof socks / sizeof socks[0]; i++)
        if (socks[i]) zmq_close(socks[i]);
    swmrbus_notifier_destroy(&s->nt);
    swmrbus_loop_destroy(&s->loop);
    if (s->enc && s->enc_state) s->enc->destroy(&s->enc_state);
    if (s->slots) {
        for (size_t i = 0; i < s->n_slots; i++) {
            swmrbus__series *se = &s->slots[i];
            swmrbus__src_held_free(se);
            swmrbus__sfile_close(&se->f);
            while (se->rq_head) {
                swmrbus__relay *r = se->rq_head;
                se->rq_head = r->next;
                free(r);
            }
        }
    }
    free(s->slots);
    swmrbus__src_dirs_free(s);
    swmrbus_buf_free(&s->hbuf);
    /* Messages still in ZeroMQ give their buffers back later: the pool
     * goes with the last of them. */
    swmrbus__bufpool_destroy(&s->pool);
    free(s);
    *self = NULL;
}

static void source_stop(void *self) { swmrbus_loop_stop(((swmrbus__source *)self)->loop); }

/* ---- control ------------------------------------------------------------------ */

static bool status_encode(swmrbus__source *s, swmrbus_buf *out)
{
    uint64_t now = swmrbus_mono_ns();
    out->len = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, swmrbus_buf_write);
    size_t n = 0, np = 0;
    for (size_t i = 0; i < s->n_slots; i++) n += s->slots[i].used;
    for (size_t i = 0; i < SWMRBUS__PUBLISHERS; i++) np += s->pubs[i].used;
    swmrbus_pack_status_head(&pk, s->name, "source", swmrbus_loop_uptime_ns(s->loop),
                             14); /* the keys below */
    swmrbus_pack_kv_u64(&pk, "auth_denied", swmrbus_auth_denied(s->name)); /* CURVE */
    swmrbus_pack_cstr(&pk, "series");
    msgpack_pack_array(&pk, n);
    uint64_t no_rej[SWMRBUS_R_COUNT] = {0};
    for (size_t i = 0; i < s->n_slots; i++) {
        const swmrbus__series *se = &s->slots[i];
        if (!se->used) continue;
        msgpack_pack_map(&pk, 19 + (se->last_flush_t != 0) + (se->why[0] != 0));
        swmrbus_pack_kv_u64(&pk, "series", se->out_id);
        swmrbus_pack_cstr(&pk, "file"); swmrbus_pack_cstr(&pk, se->file);
        swmrbus_pack_cstr(&pk, "dataset"); swmrbus_pack_cstr(&pk, SWMRBUS_DATASET_PATH);
        swmrbus_pack_cstr(&pk, "origin");
        msgpack_pack_map(&pk, 2 + se->has_orig);
        swmrbus_pack_cstr(&pk, "sink"); swmrbus_pack_cstr(&pk, se->sink);
        if (se->has_orig) swmrbus_pack_kv_u64(&pk, "series", se->orig);
        swmrbus_pack_cstr(&pk, "file"); swmrbus_pack_cstr(&pk, se->file);
        /* received: notifications of the series; written: frames sent */
        swmrbus_pack_kv_u64(&pk, "received", se->notices);
        swmrbus_pack_kv_u64(&pk, "written", se->sent);
        swmrbus_pack_kv_u64(&pk, "sent", se->sent);
        swmrbus_pack_kv_u64(&pk, "gaps", se->gaps);
        swmrbus_pack_kv_u64(&pk, "duplicates", 0);
        swmrbus_pack_cstr(&pk, "rejected"); swmrbus_pack_rejected(&pk, no_rej);
        swmrbus_pack_kv_u64(&pk, "bytes", se->bytes);
        swmrbus_pack_kv_u64(&pk, "flushes", se->flushes);
        swmrbus_pack_kv_u64(&pk, "frames", se->frames);
        swmrbus_pack_kv_u64(&pk, "complete", se->complete);
        swmrbus_pack_kv_u64(&pk, "next", se->next);
        swmrbus_pack_kv_u64(&pk, "errors", se->errors);
        swmrbus_pack_kv_u64(&pk, "dropped", se->dropped);
        swmrbus_pack_kv_u64(&pk, "relays_waiting", se->rq_n);
        swmrbus_pack_cstr(&pk, "state"); swmrbus_pack_cstr(&pk, swmrbus__src_state_name(s, se, now));
        if (se->last_flush_t) swmrbus_pack_kv_u64(&pk, "last_flush_t", se->last_flush_t);
        if (se->why[0]) {
            swmrbus_pack_cstr(&pk, "error");
            swmrbus_pack_cstr(&pk, se->why);
        }
    }
    swmrbus_pack_cstr(&pk, "rejected");
    swmrbus_pack_rejected(&pk, s->rejected);
    uint64_t total = 0;
    for (int i = 0; i < SWMRBUS_R_COUNT; i++) total += s->rejected[i];
    swmrbus_pack_kv_u64(&pk, "rejected_total", total);
    swmrbus_pack_kv_u64(&pk, "notices", s->notices);
    swmrbus_pack_kv_u64(&pk, "missed", s->missed);
    swmrbus_pack_kv_u64(&pk, "relayed", s->relayed);
    swmrbus_pack_kv_u64(&pk, "relays_dropped", s->relays_dropped);
    swmrbus_pack_kv_u64(&pk, "relays_unsent", s->relays_unsent);
    swmrbus_pack_kv_u64(&pk, "frames_sent", s->frames_sent);
    swmrbus_pack_kv_u64(&pk, "bytes_sent", s->bytes_sent);
    swmrbus_pack_kv_u64(&pk, "dropped", s->dropped);
    swmrbus_pack_kv_u64(&pk, "refused", s->refused);
    swmrbus_pack_cstr(&pk, "publishers");
    msgpack_pack_array(&pk, np);
    for (size_t i = 0; i < SWMRBUS__PUBLISHERS; i++) {
        const swmrbus__publisher *p = &s->pubs[i];
        if (!p->used) continue;
        msgpack_pack_map(&pk, 4);
        swmrbus_pack_cstr(&pk, "name"); swmrbus_pack_cstr(&pk, p->name);
        swmrbus_pack_kv_u64(&pk, "seq", p->last_seq);
        swmrbus_pack_kv_u64(&pk, "notices", p->notices);
        swmrbus_pack_kv_u64(&pk, "missed", p->missed);
    }
    return out->data != NULL;
}

static swmrbus_err on_request(const swmrbus_request *rq, swmrbus_buf *reply, char *why,
                              size_t whylen, void *user)
{
    swmrbus__source *s = user;
    if (rq->cmd != SWMRBUS_CMD_STATUS) {
        snprintf(why, whylen, "a source takes only {cmd: status} (flush and close are a sink's)");
        return SWMRBUS_EINVAL;
    }
    if (status_encode(s, reply)) return SWMRBUS_OK;
    snprintf(why, whylen, "out of memory");
    return SWMRBUS_ENOMEM;
}

/* ---- notifications in ---------------------------------------------------------- */

/* Takes one notification. Returns false when none was waiting. */
static bool receive_one(swmrbus__source *s, uint64_t now)
{
    zmq_msg_t part[2];
    int parts = swmrbus_socket_recv(s->in, part, 2, ZMQ_DONTWAIT);
    if (parts < 0) return false;
    zmq_msg_t *topic = &part[0], *map = &part[1];
    if (parts < 2) zmq_msg_init(map);
    swmrbus_notice n;
    char why[240];
    if (parts != 2) {
        s->rejected[SWMRBUS_R_BAD_PAYLOAD]++;
        swmrbus_log(SWMRBUS_LOG_DEBUG, s->name, "notification of %d parts dropped (2: topic, map)",
                    parts);
    } else if (swmrbus_notice_decode(zmq_msg_data(topic), zmq_msg_size(topic),
                                     zmq_msg_data(map), zmq_msg_size(map),
                                     (size_t)s->cfg->limits.max_header_bytes, &n, why,
                                     sizeof why) != SWMRBUS_OK) {
        s->rejected[n.topic == SWMRBUS_TOPIC_NONE ? SWMRBUS_R_BAD_HEADER
                                                  : SWMRBUS_R_BAD_MSGPACK]++;
        if (now - s->last_reject_log_ns >= 1000 * MS_NS || !s->last_reject_log_ns) {
            s->last_reject_log_ns = now;
            swmrbus_log(SWMRBUS_LOG_WARN, s->name, "notification dropped: %s", why);
        }
    } else {
        swmrbus__src_on_notice(s, &n, zmq_msg_data(map), zmq_msg_size(map), now);
    }
    zmq_msg_close(map);
    zmq_msg_close(topic);
    return true;
}

/* ---- the loop ------------------------------------------------------------------ */

static void tick(swmrbus__source *s, uint64_t now)
{
    swmrbus__src_tick(s, now);
    if (now - s->last_tick_ns < STATUS_EVERY_NS) return;
    if (s->frames_since) {
        double dt = (double)(now - s->last_tick_ns) / 1e9;
        size_t following = 0;
        for (size_t i = 0; i < s->n_slots; i++)
            following += s->slots[i].used && s->slots[i].state <= SWMRBUS__S_CLOSING;
        swmrbus_log(SWMRBUS_LOG_INFO, s->name,
                    "%.0f frames/s, %.1f MB/s sent, %zu series followed, %" PRIu64
                    " relayed, %" PRIu64 " dropped (PUB)",
                    (double)s->frames_since / dt, (double)s->bytes_since / dt / 1e6, following,
                    s->relayed, s->dropped);
    }
    s->frames_since = s->bytes_since = 0;
    s->last_tick_ns = now;
}

static int on_notices(swmrbus_loop *loop, void *socket, short revents, void *user)
{
    swmrbus__source *s = user;
    uint64_t now = swmrbus_mono_ns();
    (void)loop;
    (void)socket;
    (void)revents;
    for (int k = 0; k < RECV_BATCH && receive_one(s, now); k++) s->last_input = now;
    return 0;
}

/* A PUSH output had no room and now has some: the work handler goes on. */
static int on_room(swmrbus_loop *loop, void *socket, short revents, void *user)
{
    (void)loop;
    (void)socket;
    (void)revents;
    (void)user;
    return 0;
}

/* Stop: take what the sinks said last (a sink in this process has already
 * stopped and published `closed`), finish, then go (on_work ends the loop). */
static void on_stop(swmrbus_loop *loop, void *user)
{
    swmrbus__source *s = user;
    (void)loop;
    s->draining = true;
    s->drain_until = swmrbus_mono_ns() + DRAIN_NS;
}

static uint64_t on_work(swmrbus_loop *loop, uint64_t now, void *user)
{
    swmrbus__source *s = user;
    uint64_t due = SWMRBUS_LOOP_IDLE;
    s->more = swmrbus__src_work(s, now, &s->blocked, &due, &s->pending);
    /* A PUSH with no room: wake when a consumer takes some. */
    if (s->out && !s->out_pub)
        swmrbus_loop_set_events(loop, s->out, (short)(s->blocked ? (s->out_rep ? ZMQ_POLLIN
                                                                              : ZMQ_POLLOUT)
                                                                 : 0));
    if (now - s->last_second >= 1000 * MS_NS) {
        tick(s, now);
        s->last_second = now;
    }
    if (s->draining) {
        if (now >= s->drain_until ||
            (!s->pending && !s->more && now - s->last_input >= QUIET_NS)) {
            swmrbus_loop_end(loop);
            return SWMRBUS_LOOP_IDLE;
        }
        if (due > now + 50 * MS_NS) due = now + 50 * MS_NS;
    }
    if (s->more) return now;
    uint64_t second = s->last_second + 1000 * MS_NS; /* stale checks, progress */
    return due < second ? due : second;
}

static swmrbus_err source_run(void *self)
{
    swmrbus__source *s = self;
    /* The thread shows as "src:NAME" in top -H, perf and /proc/PID/task
     * (15 bytes at most): its CPU can be told from the sink's threads of
     * the same process. */
    char tname[16];
    snprintf(tname, sizeof tname, "src:%s", s->name);
    (void)pthread_setname_np(pthread_self(), tname);
    swmrbus__h5_init();
    s->last_input = swmrbus_mono_ns();
    swmrbus_err rc = swmrbus_loop_run(s->loop);
    swmrbus__src_close_all(s);
    swmrbus_log(SWMRBUS_LOG_INFO, s->name,
                "source done: %" PRIu64 " frames sent (%" PRIu64 " bytes), %" PRIu64
                " notifications, %" PRIu64 " relayed, %" PRIu64 " missed upstream",
                s->frames_sent, s->bytes_sent, s->notices, s->relayed, s->missed);
    return rc;
}

static const swmrbus_component_vtable source_vtable = {
    .abi_version = SWMRBUS_ABI_VERSION,
    .struct_size = sizeof(swmrbus_component_vtable),
    .kind = "source",
    .create = source_create,
    .run = source_run,
    .stop = source_stop,
    .destroy = source_destroy,
};

const swmrbus_component_vtable *swmrbus_source_component(void) { return &source_vtable; }
