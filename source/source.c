/* source/source.c — the source component: sockets, the one loop (stop,
 * control, notifications in, frames out when there is room), status. The
 * series and their files are in series.c, relays in relay.c. */
#include <errno.h>
#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include "h5util.h"
#include "pack.h"
#include "source_internal.h"
#include "swmrbus/log.h"
#include "swmrbus/socket.h"
#include "swmrbus/source.h"

#define MS_NS UINT64_C(1000000)
#define RECV_BATCH 256             /* notifications taken per loop turn */
#define DRAIN_NS (5000 * MS_NS)    /* at stop: at most this long to finish */
#define QUIET_NS (200 * MS_NS)     /* at stop: no input this long and no work: done */
#define STATUS_EVERY_NS (5000 * MS_NS)

/* ---- create / destroy / stop ------------------------------------------------ */

static void source_destroy(void **self);

static swmrbus_err source_create(const swmrbus_component_args *args, void **self, char *err,
                                 size_t errlen)
{
    const swmrbus_component_cfg *cfg = args->cfg;
    swmrbus_err rc = SWMRBUS_OK;
    swmrbus__source *s = calloc(1, sizeof *s);
    if (!s) return SWMRBUS_ENOMEM;
    s->cfg = cfg;
    s->name = cfg->name;
    s->stop_fd = -1;
    s->alt_next = 1ull << 32;
    s->start_ns = s->last_tick_ns = swmrbus_mono_ns();
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
    if ((s->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)) < 0) {
        snprintf(err, errlen, "eventfd: %s", strerror(errno));
        rc = SWMRBUS_EIO;
        goto out;
    }
    /* Notifications are small: ZeroMQ drops anything far larger unread. */
    const swmrbus_socket_opts in_opts = {
        .name = "in", .hwm_opt = ZMQ_RCVHWM,
        .max_msg_bytes = (int64_t)cfg->limits.max_header_bytes + 4096};
    rc = swmrbus_socket_open(args->zmq_ctx, ZMQ_SUB, &cfg->in, &in_opts, &s->in, err, errlen);
    if (rc != SWMRBUS_OK) goto out;
    if (cfg->out.present) {
        s->out_pub = cfg->out.pattern == SWMRBUS_PATTERN_PUB;
        const swmrbus_socket_opts o = {.name = "out", .hwm_opt = ZMQ_SNDHWM};
        rc = swmrbus_socket_open(args->zmq_ctx, s->out_pub ? ZMQ_PUB : ZMQ_PUSH, &cfg->out, &o,
                                 &s->out, err, errlen);
        if (rc != SWMRBUS_OK) goto out;
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
    if (s->stop_fd >= 0) close(s->stop_fd);
    if (s->slots) {
        for (size_t i = 0; i < s->n_slots; i++) {
            swmrbus__series *se = &s->slots[i];
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
    swmrbus_buf_free(&s->rbuf);
    free(s);
    *self = NULL;
}

static void source_stop(void *self)
{
    swmrbus__source *s = self;
    atomic_store(&s->stopping, true);
    uint64_t one = 1;
    ssize_t w = write(s->stop_fd, &one, sizeof one);
    (void)w;
}

/* ---- control ------------------------------------------------------------------ */

static void pack_kv_u64(msgpack_packer *pk, const char *k, uint64_t v)
{
    swmrbus__pack_str(pk, k);
    msgpack_pack_uint64(pk, v);
}

static bool status_encode(swmrbus__source *s, swmrbus_buf *out)
{
    uint64_t now = swmrbus_mono_ns();
    out->len = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, swmrbus_buf_write);
    size_t n = 0, np = 0;
    for (size_t i = 0; i < s->n_slots; i++) n += s->slots[i].used;
    for (size_t i = 0; i < SWMRBUS__PUBLISHERS; i++) np += s->pubs[i].used;
    msgpack_pack_map(&pk, 17); /* the keys below */
    swmrbus__pack_str(&pk, "ok");
    msgpack_pack_true(&pk);
    swmrbus__pack_str(&pk, "name");
    swmrbus__pack_str(&pk, s->name);
    swmrbus__pack_str(&pk, "kind");
    swmrbus__pack_str(&pk, "source");
    swmrbus__pack_str(&pk, "uptime_s");
    msgpack_pack_double(&pk, (double)(now - s->start_ns) / 1e9);
    swmrbus__pack_str(&pk, "series");
    msgpack_pack_array(&pk, n);
    uint64_t no_rej[SWMRBUS_R_COUNT] = {0};
    for (size_t i = 0; i < s->n_slots; i++) {
        const swmrbus__series *se = &s->slots[i];
        if (!se->used) continue;
        msgpack_pack_map(&pk, 19 + (se->last_flush_t != 0) + (se->why[0] != 0));
        pack_kv_u64(&pk, "series", se->out_id);
        swmrbus__pack_str(&pk, "file"); swmrbus__pack_str(&pk, se->file);
        swmrbus__pack_str(&pk, "dataset"); swmrbus__pack_str(&pk, SWMRBUS_DATASET_PATH);
        swmrbus__pack_str(&pk, "origin");
        msgpack_pack_map(&pk, 2 + se->has_orig);
        swmrbus__pack_str(&pk, "sink"); swmrbus__pack_str(&pk, se->sink);
        if (se->has_orig) pack_kv_u64(&pk, "series", se->orig);
        swmrbus__pack_str(&pk, "file"); swmrbus__pack_str(&pk, se->file);
        /* received: notifications of the series; written: frames sent */
        pack_kv_u64(&pk, "received", se->notices);
        pack_kv_u64(&pk, "written", se->sent);
        pack_kv_u64(&pk, "sent", se->sent);
        pack_kv_u64(&pk, "gaps", se->gaps);
        pack_kv_u64(&pk, "duplicates", 0);
        swmrbus__pack_str(&pk, "rejected"); swmrbus__pack_rejected(&pk, no_rej);
        pack_kv_u64(&pk, "bytes", se->bytes);
        pack_kv_u64(&pk, "flushes", se->flushes);
        pack_kv_u64(&pk, "frames", se->frames);
        pack_kv_u64(&pk, "complete", se->complete);
        pack_kv_u64(&pk, "next", se->next);
        pack_kv_u64(&pk, "errors", se->errors);
        pack_kv_u64(&pk, "dropped", se->dropped);
        pack_kv_u64(&pk, "relays_waiting", se->rq_n);
        swmrbus__pack_str(&pk, "state"); swmrbus__pack_str(&pk, swmrbus__src_state_name(s, se, now));
        if (se->last_flush_t) pack_kv_u64(&pk, "last_flush_t", se->last_flush_t);
        if (se->why[0]) {
            swmrbus__pack_str(&pk, "error");
            swmrbus__pack_str(&pk, se->why);
        }
    }
    swmrbus__pack_str(&pk, "rejected");
    swmrbus__pack_rejected(&pk, s->rejected);
    uint64_t total = 0;
    for (int i = 0; i < SWMRBUS_R_COUNT; i++) total += s->rejected[i];
    pack_kv_u64(&pk, "rejected_total", total);
    pack_kv_u64(&pk, "notices", s->notices);
    pack_kv_u64(&pk, "missed", s->missed);
    pack_kv_u64(&pk, "relayed", s->relayed);
    pack_kv_u64(&pk, "relays_dropped", s->relays_dropped);
    pack_kv_u64(&pk, "relays_unsent", s->relays_unsent);
    pack_kv_u64(&pk, "frames_sent", s->frames_sent);
    pack_kv_u64(&pk, "bytes_sent", s->bytes_sent);
    pack_kv_u64(&pk, "dropped", s->dropped);
    pack_kv_u64(&pk, "refused", s->refused);
    swmrbus__pack_str(&pk, "publishers");
    msgpack_pack_array(&pk, np);
    for (size_t i = 0; i < SWMRBUS__PUBLISHERS; i++) {
        const swmrbus__publisher *p = &s->pubs[i];
        if (!p->used) continue;
        msgpack_pack_map(&pk, 4);
        swmrbus__pack_str(&pk, "name"); swmrbus__pack_str(&pk, p->name);
        pack_kv_u64(&pk, "seq", p->last_seq);
        pack_kv_u64(&pk, "notices", p->notices);
        pack_kv_u64(&pk, "missed", p->missed);
    }
    return out->data != NULL;
}

static void reply_error(swmrbus__source *s, const char *error)
{
    swmrbus_buf b = {0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &b, swmrbus_buf_write);
    msgpack_pack_map(&pk, 2);
    swmrbus__pack_str(&pk, "ok");
    msgpack_pack_false(&pk);
    swmrbus__pack_str(&pk, "error");
    swmrbus__pack_str(&pk, error);
    if (b.data)
        zmq_send(s->control, b.data, b.len, 0);
    else
        zmq_send(s->control, "\x82\xa2ok\xc2\xa5""error\xa3oom", 16, 0);
    swmrbus_buf_free(&b);
}

static void control_one(swmrbus__source *s, swmrbus_buf *out)
{
    zmq_msg_t req;
    zmq_msg_init(&req);
    if (zmq_msg_recv(&req, s->control, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&req);
        return;
    }
    bool multipart = zmq_msg_more(&req);
    while (zmq_msg_more(&req)) zmq_msg_recv(&req, s->control, 0);
    swmrbus_request rq;
    char why[240];
    if (multipart) {
        reply_error(s, "a request is one msgpack map in one part");
    } else if (swmrbus_request_decode(zmq_msg_data(&req), zmq_msg_size(&req),
                                      (size_t)s->cfg->limits.max_header_bytes, &rq, why,
                                      sizeof why) != SWMRBUS_OK) {
        reply_error(s, why);
    } else if (rq.cmd == SWMRBUS_CMD_STATUS) {
        if (status_encode(s, out))
            zmq_send(s->control, out->data, out->len, 0);
        else
            reply_error(s, "out of memory");
    } else {
        reply_error(s, "a source takes only {cmd: status} (flush and close are a sink's)");
    }
    zmq_msg_close(&req);
}

/* ---- notifications in ---------------------------------------------------------- */

/* Takes one notification. Returns false when none was waiting. */
static bool receive_one(swmrbus__source *s, uint64_t now)
{
    zmq_msg_t topic, map;
    zmq_msg_init(&topic);
    if (zmq_msg_recv(&topic, s->in, ZMQ_DONTWAIT) < 0) {
        zmq_msg_close(&topic);
        return false;
    }
    zmq_msg_init(&map);
    int parts = 1;
    if (zmq_msg_more(&topic)) {
        zmq_msg_recv(&map, s->in, 0);
        parts++;
        if (zmq_msg_more(&map)) {
            zmq_msg_t extra;
            zmq_msg_init(&extra);
            bool more = true;
            while (more && zmq_msg_recv(&extra, s->in, 0) >= 0) {
                parts++;
                more = zmq_msg_more(&extra);
            }
            zmq_msg_close(&extra);
        }
    }
    swmrbus_notice n;
    char why[240];
    if (parts != 2) {
        s->rejected[SWMRBUS_R_BAD_PAYLOAD]++;
        swmrbus_log(SWMRBUS_LOG_DEBUG, s->name, "notification of %d parts dropped (2: topic, map)",
                    parts);
    } else if (swmrbus_notice_decode(zmq_msg_data(&topic), zmq_msg_size(&topic),
                                     zmq_msg_data(&map), zmq_msg_size(&map),
                                     (size_t)s->cfg->limits.max_header_bytes, &n, why,
                                     sizeof why) != SWMRBUS_OK) {
        s->rejected[n.topic == SWMRBUS_TOPIC_NONE ? SWMRBUS_R_BAD_HEADER
                                                  : SWMRBUS_R_BAD_MSGPACK]++;
        if (now - s->last_reject_log_ns >= 1000 * MS_NS || !s->last_reject_log_ns) {
            s->last_reject_log_ns = now;
            swmrbus_log(SWMRBUS_LOG_WARN, s->name, "notification dropped: %s", why);
        }
    } else {
        swmrbus__src_on_notice(s, &n, zmq_msg_data(&map), zmq_msg_size(&map), now);
    }
    zmq_msg_close(&map);
    zmq_msg_close(&topic);
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

static swmrbus_err source_run(void *self)
{
    swmrbus__source *s = self;
    swmrbus_buf status = {0};
    swmrbus__h5_init();
    bool draining = false, more = false, blocked = false, pending = false;
    uint64_t drain_until = 0, last_input = swmrbus_mono_ns(), last_tick = 0;
    uint64_t due = UINT64_MAX;
    for (;;) {
        uint64_t now = swmrbus_mono_ns();
        if (!draining && atomic_load(&s->stopping)) {
            /* Take what the sinks said last (a sink in this process has
             * already stopped and published `closed`), finish, then go. */
            draining = true;
            drain_until = now + DRAIN_NS;
        }
        if (draining && (now >= drain_until || (!pending && !more && now - last_input >= QUIET_NS)))
            break;
        long timeout = 1000;
        if (more) {
            timeout = 0;
        } else if (due != UINT64_MAX) {
            timeout = due > now ? (long)((due - now) / MS_NS) + 1 : 0;
            if (timeout > 1000) timeout = 1000;
        }
        if (draining && timeout > 50) timeout = 50;
        zmq_pollitem_t pi[4];
        int npi = 0, i_control = -1;
        pi[npi++] = (zmq_pollitem_t){NULL, s->stop_fd, ZMQ_POLLIN, 0};
        pi[npi++] = (zmq_pollitem_t){s->in, 0, ZMQ_POLLIN, 0};
        if (s->control) {
            i_control = npi;
            pi[npi++] = (zmq_pollitem_t){s->control, 0, ZMQ_POLLIN, 0};
        }
        /* A PUSH with no room: wake when a consumer takes some. */
        if (s->out && blocked && !s->out_pub) pi[npi++] = (zmq_pollitem_t){s->out, 0, ZMQ_POLLOUT, 0};
        int rc = zmq_poll(pi, npi, timeout);
        if (rc < 0) {
            if (zmq_errno() == EINTR) continue;
            swmrbus_log(SWMRBUS_LOG_ERROR, s->name, "poll: %s", zmq_strerror(zmq_errno()));
            break;
        }
        now = swmrbus_mono_ns();
        if (pi[0].revents & ZMQ_POLLIN) {
            uint64_t v;
            ssize_t r = read(s->stop_fd, &v, sizeof v);
            (void)r;
        }
        if (i_control >= 0 && (pi[i_control].revents & ZMQ_POLLIN)) control_one(s, &status);
        for (int k = 0; k < RECV_BATCH && receive_one(s, now); k++) last_input = now;
        more = swmrbus__src_work(s, now, &blocked, &due, &pending);
        if (now - last_tick >= 1000 * MS_NS) {
            tick(s, now);
            last_tick = now;
        }
    }
    swmrbus__src_close_all(s);
    swmrbus_log(SWMRBUS_LOG_INFO, s->name,
                "source done: %" PRIu64 " frames sent (%" PRIu64 " bytes), %" PRIu64
                " notifications, %" PRIu64 " relayed, %" PRIu64 " missed upstream",
                s->frames_sent, s->bytes_sent, s->notices, s->relayed, s->missed);
    swmrbus_buf_free(&status);
    return SWMRBUS_OK;
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
