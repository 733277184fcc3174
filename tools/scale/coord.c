/* coord.c — the coordinator (kind "coordinator", README "Scale-out").
 *
 *   sink shard 0 ─┐ swmrbus.open/flushed/closed (with shard, shards)
 *   sink shard 1 ─┼──────────────▶ COORDINATOR ──▶ master file (VDS over the shard files)
 *   sink shard 2 ─┘                     └──▶ swmrbus.open/flushed/closed: frames = G
 *
 * It subscribes to the S sinks' notifications (in.endpoints). Once every
 * shard of a series has named its file, it writes the master file (master.c)
 * and publishes `open` with it; after each shard's `flushed` it publishes
 * `flushed` with frames = G (g.c) when G rose, and `closed` once every shard
 * has closed. A shard that stops talking holds G back and shows `stale`. */
#include <inttypes.h>
#include <limits.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "scale.h"
#include "swmrbus/clock.h"
#include "swmrbus/log.h"
#include "swmrbus/loop.h"
#include "swmrbus/notify.h"
#include "swmrbus/pack.h"
#include "swmrbus/socket.h"

#define MS_NS 1000000ull
#define MAX_SERIES 64

typedef enum cstate { C_WAITING = 0, C_OPEN, C_CLOSED, C_FAILED } cstate;
static const char *const cstate_names[] = {"waiting", "open", "closed", "failed"};

typedef struct shard_state {
    bool heard, closed, stale_logged;
    char file[PATH_MAX]; /* "" until a notification names it */
    uint64_t frames, written, complete;
    uint64_t last_ns;    /* monotonic: its last notification */
} shard_state;

typedef struct cseries {
    bool used;
    uint64_t id;
    cstate state;
    char master[PATH_MAX];
    uint64_t g_pub;      /* G of the last `flushed` published */
    uint64_t created_ns; /* monotonic: first heard of */
    uint64_t order;      /* for reuse: the oldest closed slot goes first */
    shard_state *sh;     /* shards entries */
} cseries;

typedef struct coord {
    const swmrbus_component_cfg *cfg;
    void *in, *notify, *control;
    swmrbus_loop *loop;
    swmrbus_notifier *nt;
    size_t shards;
    cseries series[MAX_SERIES];
    uint64_t order;
    uint64_t received, ignored, masters, failed;
    char err[1024];
} coord;

/* ---- series bookkeeping -------------------------------------------------- */

static cseries *find(coord *c, uint64_t id)
{
    for (size_t i = 0; i < MAX_SERIES; i++)
        if (c->series[i].used && c->series[i].id == id) return &c->series[i];
    return NULL;
}

static void reset(coord *c, cseries *s, uint64_t id, uint64_t now)
{
    shard_state *sh = s->sh;
    memset(s, 0, sizeof *s);
    memset(sh, 0, c->shards * sizeof *sh);
    s->sh = sh;
    s->used = true;
    s->id = id;
    s->created_ns = now;
    s->order = ++c->order;
}

/* A slot for a new series: a free one, else the oldest closed or failed. */
static cseries *add(coord *c, uint64_t id, uint64_t now)
{
    cseries *pick = NULL;
    for (size_t i = 0; i < MAX_SERIES && !pick; i++)
        if (!c->series[i].used) pick = &c->series[i];
    for (size_t i = 0; i < MAX_SERIES && !pick; i++) {
        cseries *s = &c->series[i];
        if (s->state != C_CLOSED && s->state != C_FAILED) continue;
        if (!pick || s->order < pick->order) pick = s;
    }
    if (pick) reset(c, pick, id, now);
    return pick;
}

static bool shard_stale(const coord *c, const cseries *s, const shard_state *h, uint64_t now)
{
    if (h->closed || s->state == C_CLOSED || s->state == C_FAILED) return false;
    uint64_t last = h->heard ? h->last_ns : s->created_ns;
    return now - last > c->cfg->stale_ms * MS_NS;
}

/* ---- publishing ------------------------------------------------------------ */

static void publish(coord *c, cseries *s, swmrbus_topic topic, uint64_t g)
{
    swmrbus_notice n;
    memset(&n, 0, sizeof n);
    n.topic = topic;
    n.series = s->id;
    n.has_series = true;
    n.file = (swmrbus_str){s->master, strlen(s->master)};
    n.dataset = (swmrbus_str){SWMRBUS_DATASET_PATH, strlen(SWMRBUS_DATASET_PATH)};
    n.frames = g;
    n.has_frames = true;
    n.complete = g;
    n.has_complete = true;
    n.written = 0;
    for (size_t k = 0; k < c->shards; k++) {
        n.written += s->sh[k].written;
        n.shard_frames[k] = s->sh[k].frames;
    }
    n.has_written = true;
    n.shards = c->shards;
    n.has_shards = true;
    n.has_shard_frames = true;
    swmrbus_notifier_publish(c->nt, &n);
}

static uint64_t g_of(const coord *c, const cseries *s)
{
    uint64_t complete[SWMRBUS_MAX_SHARDS];
    for (size_t k = 0; k < c->shards; k++) complete[k] = s->sh[k].complete;
    return swmrbus__scale_g(complete, c->shards);
}

/* After a shard's notification: the master once every file is known, then
 * G and closed. */
static void advance(coord *c, cseries *s)
{
    if (s->state == C_WAITING) {
        const char *files[SWMRBUS_MAX_SHARDS];
        for (size_t k = 0; k < c->shards; k++) {
            if (!s->sh[k].file[0]) return; /* not every shard has opened yet */
            files[k] = s->sh[k].file;
        }
        swmrbus_err rc = swmrbus__scale_master_create(c->cfg->dir, c->cfg->name, s->id, files,
                                                      c->shards, s->master, sizeof s->master,
                                                      c->err, sizeof c->err);
        if (rc != SWMRBUS_OK) {
            /* EIO (a shard file not readable yet, a failed create): try again
             * at the shard's next notification; anything else is final */
            if (rc != SWMRBUS_EIO) s->state = C_FAILED;
            s->master[0] = '\0';
            c->failed++;
            swmrbus_notifier_error(c->nt, SWMRBUS_R_IO, true, s->id, NULL, c->err);
            return;
        }
        s->state = C_OPEN;
        c->masters++;
        swmrbus_log(SWMRBUS_LOG_INFO, c->cfg->name, "series %" PRIu64 ": master %s over %zu shards",
                    s->id, s->master, c->shards);
        publish(c, s, SWMRBUS_NOTICE_OPEN, 0);
    }
    if (s->state != C_OPEN) return;
    uint64_t g = g_of(c, s);
    bool all_closed = true;
    for (size_t k = 0; k < c->shards; k++) all_closed = all_closed && s->sh[k].closed;
    if (g > s->g_pub) {
        s->g_pub = g;
        publish(c, s, SWMRBUS_NOTICE_FLUSHED, g);
    }
    if (all_closed) {
        s->state = C_CLOSED;
        publish(c, s, SWMRBUS_NOTICE_CLOSED, s->g_pub);
        swmrbus_log(SWMRBUS_LOG_INFO, c->cfg->name,
                    "series %" PRIu64 " closed: %s, %" PRIu64 " frames", s->id, s->master,
                    s->g_pub);
    }
}

/* ---- input ------------------------------------------------------------------- */

static void take(coord *c, const swmrbus_notice *n, uint64_t now)
{
    if (n->topic == SWMRBUS_NOTICE_ERROR) return; /* the sinks report their own errors */
    if (!n->has_shard || !n->has_shards || n->has_shard_frames || n->shards != c->shards ||
        n->shard >= c->shards || !n->has_series || !n->file.len ||
        n->file.len >= PATH_MAX || !n->has_frames || !n->has_complete) {
        if (c->ignored++ == 0)
            swmrbus_log(SWMRBUS_LOG_WARN, c->cfg->name,
                        "ignoring a notification that is not from a shard of %zu "
                        "(shard, shards, series, file, frames, complete needed); counted in status",
                        c->shards);
        return;
    }
    cseries *s = find(c, n->series);
    if (s && s->state == C_CLOSED && n->topic == SWMRBUS_NOTICE_OPEN) {
        reset(c, s, n->series, now); /* the id reopened: a new series, new files */
    } else if (s && (s->state == C_CLOSED || s->state == C_FAILED)) {
        return; /* late news of a finished series */
    }
    if (!s && !(s = add(c, n->series, now))) {
        c->ignored++;
        swmrbus_log(SWMRBUS_LOG_WARN, c->cfg->name,
                    "series %" PRIu64 ": no slot (%d series open)", n->series, MAX_SERIES);
        return;
    }
    shard_state *h = &s->sh[n->shard];
    if (h->file[0] && (strlen(h->file) != n->file.len ||
                       memcmp(h->file, n->file.ptr, n->file.len) != 0)) {
        c->ignored++;
        swmrbus_log(SWMRBUS_LOG_WARN, c->cfg->name,
                    "series %" PRIu64 " shard %" PRIu64 ": notification for another file %.*s "
                    "ignored", s->id, n->shard, (int)n->file.len, n->file.ptr);
        return;
    }
    if (!h->file[0]) {
        memcpy(h->file, n->file.ptr, n->file.len);
        h->file[n->file.len] = '\0';
    }
    h->heard = true;
    h->last_ns = now;
    if (h->stale_logged)
        swmrbus_log(SWMRBUS_LOG_INFO, c->cfg->name, "series %" PRIu64 " shard %" PRIu64
                    " talks again", s->id, n->shard);
    h->stale_logged = false;
    /* N and complete are cumulative: never step back on a reordered message */
    if (n->frames > h->frames) h->frames = n->frames;
    if (n->complete > h->complete) h->complete = n->complete;
    if (n->has_written && n->written > h->written) h->written = n->written;
    if (n->topic == SWMRBUS_NOTICE_CLOSED) h->closed = true;
    advance(c, s);
}

static int on_input(swmrbus_loop *loop, void *socket, short revents, void *user)
{
    coord *c = user;
    (void)loop;
    (void)revents;
    for (int i = 0; i < 256; i++) {
        zmq_msg_t parts[2];
        int np = swmrbus_socket_recv(socket, parts, 2, ZMQ_DONTWAIT);
        if (np < 0) break;
        int kept = np < 2 ? np : 2;
        swmrbus_notice n;
        char why[200];
        c->received++;
        if (np != 2 ||
            swmrbus_notice_decode(zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]),
                                  zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]),
                                  (size_t)c->cfg->limits.max_header_bytes, &n, why,
                                  sizeof why) != SWMRBUS_OK) {
            c->ignored++;
        } else {
            take(c, &n, swmrbus_mono_ns());
        }
        for (int k = 0; k < kept; k++) zmq_msg_close(&parts[k]);
    }
    return 0;
}

/* Logs shards that went stale (once each); also sends held-back error reports. */
static uint64_t on_work(swmrbus_loop *loop, uint64_t now, void *user)
{
    coord *c = user;
    (void)loop;
    for (size_t i = 0; i < MAX_SERIES; i++) {
        cseries *s = &c->series[i];
        if (!s->used) continue;
        for (size_t k = 0; k < c->shards; k++) {
            shard_state *h = &s->sh[k];
            if (h->stale_logged || !shard_stale(c, s, h, now)) continue;
            h->stale_logged = true;
            swmrbus_log(SWMRBUS_LOG_WARN, c->cfg->name,
                        "series %" PRIu64 ": shard %zu silent for %" PRIu64
                        " ms (stale): G stays at %" PRIu64, s->id, k, c->cfg->stale_ms,
                        s->g_pub);
        }
    }
    uint64_t next = swmrbus_notifier_tick(c->nt, now);
    uint64_t soon = now + 250 * MS_NS;
    return next != UINT64_MAX && now + next < soon ? now + next : soon;
}

/* ---- control ----------------------------------------------------------------- */

static int pack_series(msgpack_packer *pk, const coord *c, const cseries *s, uint64_t now)
{
    bool stale = false;
    for (size_t k = 0; k < c->shards; k++) stale = stale || shard_stale(c, s, &s->sh[k], now);
    int bad = msgpack_pack_map(pk, 5);
    bad |= swmrbus_pack_kv_u64(pk, "series", s->id);
    bad |= swmrbus_pack_kv_str(pk, "file", s->master);
    bad |= swmrbus_pack_kv_u64(pk, "frames", s->g_pub);
    bad |= swmrbus_pack_kv_str(pk, "state",
                               stale && s->state == C_OPEN ? "stale" : cstate_names[s->state]);
    bad |= swmrbus_pack_cstr(pk, "shards");
    bad |= msgpack_pack_array(pk, c->shards);
    for (size_t k = 0; k < c->shards; k++) {
        const shard_state *h = &s->sh[k];
        const char *st = h->closed ? "closed"
                         : shard_stale(c, s, h, now) ? "stale"
                         : h->heard ? "open"
                                    : "waiting";
        bad |= msgpack_pack_map(pk, 6);
        bad |= swmrbus_pack_kv_u64(pk, "shard", k);
        bad |= swmrbus_pack_kv_str(pk, "file", h->file);
        bad |= swmrbus_pack_kv_u64(pk, "frames", h->frames);
        bad |= swmrbus_pack_kv_u64(pk, "complete", h->complete);
        bad |= swmrbus_pack_kv_u64(pk, "written", h->written);
        bad |= swmrbus_pack_kv_str(pk, "state", st);
    }
    return bad;
}

/* {cmd: close, series?}: stop waiting for the shards of a series (all open
 * ones when series is absent), e.g. a dead sink's: publishes `closed` with
 * the G reached; the shard files are not touched. A series whose master
 * was never made is dropped (no notification). */
static swmrbus_err give_up(coord *c, const swmrbus_request *rq, char *why, size_t whylen)
{
    bool found = false;
    for (size_t i = 0; i < MAX_SERIES; i++) {
        cseries *s = &c->series[i];
        if (!s->used || (rq->has_series && s->id != rq->series)) continue;
        if (s->state == C_OPEN) {
            s->state = C_CLOSED;
            publish(c, s, SWMRBUS_NOTICE_CLOSED, s->g_pub);
            swmrbus_log(SWMRBUS_LOG_WARN, c->cfg->name,
                        "series %" PRIu64 " closed on request at %" PRIu64 " frames", s->id,
                        s->g_pub);
        } else if (s->state == C_WAITING) {
            s->state = C_FAILED;
        } else if (!rq->has_series) {
            continue;
        }
        found = true;
    }
    if (rq->has_series && !found) {
        snprintf(why, whylen, "series %" PRIu64 " is not followed", rq->series);
        return SWMRBUS_EINVAL;
    }
    return SWMRBUS_OK;
}

static swmrbus_err on_request(const swmrbus_request *rq, swmrbus_buf *reply, char *why,
                              size_t whylen, void *user)
{
    coord *c = user;
    if (rq->cmd == SWMRBUS_CMD_CLOSE) return give_up(c, rq, why, whylen);
    if (rq->cmd != SWMRBUS_CMD_STATUS) {
        snprintf(why, whylen, "a coordinator takes {cmd: status} and {cmd: close, series?}");
        return SWMRBUS_EINVAL;
    }
    uint64_t now = swmrbus_mono_ns();
    size_t n = 0;
    for (size_t i = 0; i < MAX_SERIES; i++) n += c->series[i].used;
    msgpack_packer pk;
    msgpack_packer_init(&pk, reply, swmrbus_buf_write);
    int bad = swmrbus_pack_status_head(&pk, c->cfg->name, "coordinator",
                                       swmrbus_loop_uptime_ns(c->loop), 6);
    bad |= swmrbus_pack_kv_u64(&pk, "shards", c->shards);
    bad |= swmrbus_pack_kv_u64(&pk, "received", c->received);
    bad |= swmrbus_pack_kv_u64(&pk, "ignored", c->ignored);
    bad |= swmrbus_pack_kv_u64(&pk, "masters", c->masters);
    bad |= swmrbus_pack_kv_u64(&pk, "master_failures", c->failed);
    bad |= swmrbus_pack_cstr(&pk, "series");
    bad |= msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < MAX_SERIES; i++)
        if (c->series[i].used) bad |= pack_series(&pk, c, &c->series[i], now);
    if (bad) {
        snprintf(why, whylen, "out of memory");
        return SWMRBUS_ENOMEM;
    }
    return SWMRBUS_OK;
}

/* ---- the component table ---------------------------------------------------- */

static void coord_destroy(void **self)
{
    coord *c = *self;
    if (!c) return;
    void *socks[] = {c->in, c->notify, c->control};
    for (size_t i = 0; i < 3; i++)
        if (socks[i]) zmq_close(socks[i]);
    swmrbus_notifier_destroy(&c->nt);
    swmrbus_loop_destroy(&c->loop);
    for (size_t i = 0; i < MAX_SERIES; i++) free(c->series[i].sh);
    free(c);
    *self = NULL;
}

static swmrbus_err coord_check(const swmrbus_component_args *args, char *err, size_t errlen)
{
    const swmrbus_component_cfg *cfg = args->cfg;
    if (cfg->shards < 1 || cfg->shards > SWMRBUS_MAX_SHARDS || !cfg->dir || !cfg->in.present) {
        snprintf(err, errlen, "components[%zu]: a coordinator needs in, dir and shards (1..%d)",
                 cfg->index, SWMRBUS_MAX_SHARDS);
        return SWMRBUS_ECONFIG;
    }
    return SWMRBUS_OK;
}

static swmrbus_err coord_create(const swmrbus_component_args *args, void **self, char *err,
                                size_t errlen)
{
    const swmrbus_component_cfg *cfg = args->cfg;
    swmrbus_err rc = coord_check(args, err, errlen);
    coord *c = rc == SWMRBUS_OK ? calloc(1, sizeof *c) : NULL;
    if (rc == SWMRBUS_OK && !c) rc = SWMRBUS_ENOMEM;
    if (rc == SWMRBUS_OK) {
        c->cfg = cfg;
        c->shards = (size_t)cfg->shards;
        for (size_t i = 0; i < MAX_SERIES && rc == SWMRBUS_OK; i++)
            if (!(c->series[i].sh = calloc(c->shards, sizeof *c->series[i].sh)))
                rc = SWMRBUS_ENOMEM;
    }
    const swmrbus_socket_opts in_o = {.name = "in", .hwm_opt = ZMQ_RCVHWM,
                                      .max_msg_bytes = swmrbus_limits_notice_msg_max(&cfg->limits)};
    const swmrbus_socket_opts notify_o = {.name = "notify", .hwm_opt = ZMQ_SNDHWM};
    const swmrbus_socket_opts control_o = {.name = "control"};
    if (rc == SWMRBUS_OK) rc = swmrbus_loop_create(cfg->name, "coordinator", &c->loop);
    if (rc == SWMRBUS_OK)
        rc = swmrbus_socket_open(args->zmq_ctx,
                                 cfg->in.pattern == SWMRBUS_PATTERN_PULL ? ZMQ_PULL : ZMQ_SUB,
                                 &cfg->in, &in_o, &c->in, err, errlen);
    if (rc == SWMRBUS_OK && cfg->notify.present)
        rc = swmrbus_socket_open(args->zmq_ctx, ZMQ_PUB, &cfg->notify, &notify_o, &c->notify,
                                 err, errlen);
    if (rc == SWMRBUS_OK && cfg->control.present)
        rc = swmrbus_socket_open(args->zmq_ctx, ZMQ_REP, &cfg->control, &control_o,
                                 &c->control, err, errlen);
    if (rc == SWMRBUS_OK) rc = swmrbus_notifier_create(c->notify, cfg->name, &c->nt);
    if (rc == SWMRBUS_OK) rc = swmrbus_loop_add(c->loop, c->in, ZMQ_POLLIN, on_input, c);
    if (rc == SWMRBUS_OK)
        rc = swmrbus_loop_control(c->loop, c->control, on_request, c,
                                  (size_t)cfg->limits.max_header_bytes);
    if (rc == SWMRBUS_OK) swmrbus_loop_set_work(c->loop, on_work, c);
    if (rc != SWMRBUS_OK && c) {
        if (rc == SWMRBUS_ENOMEM) snprintf(err, errlen, "out of memory");
        void *p = c;
        coord_destroy(&p);
        c = NULL;
    } else if (c) {
        swmrbus_log(SWMRBUS_LOG_INFO, cfg->name, "coordinator ready: %zu shards, masters in %s",
                    c->shards, cfg->dir);
    }
    *self = c;
    return rc;
}

static swmrbus_err coord_run(void *self) { return swmrbus_loop_run(((coord *)self)->loop); }

static void coord_stop(void *self) { swmrbus_loop_stop(((coord *)self)->loop); }

static const swmrbus_component_vtable coord_vtable = {
    .abi_version = SWMRBUS_ABI_VERSION,
    .struct_size = sizeof(swmrbus_component_vtable),
    .kind = "coordinator",
    .create = coord_create,
    .run = coord_run,
    .stop = coord_stop,
    .destroy = coord_destroy,
    .check = coord_check,
};

const swmrbus_component_vtable *swmrbus_coord_component(void) { return &coord_vtable; }
