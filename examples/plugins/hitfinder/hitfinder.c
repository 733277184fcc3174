/* hitfinder.c — an outside swmrbus plugin: a per-frame hit finder that sits
 * between a detector and a sink.
 *
 *   detector ──frames──▶ HITFINDER ──frames (all, or hits only)──▶ sink
 *                            └──── one result per frame ("hitfinder.result") ──▶ live view
 *
 * For every raw frame it counts the pixels above `threshold`, sums the frame
 * and finds its maximum; a frame with at least `min_pixels` such pixels is a
 * hit. Frames go on unchanged and zero-copy; compressed frames are forwarded
 * and reported as not analysed. Built against the installed SDK only
 * (swmrbus/*.h, libswmrbus.so): see README.md beside this file.
 *
 * Config:
 *   - name: hits
 *     kind: hitfinder                  # libswmrbus_hitfinder.so in SWMRBUS_PLUGIN_PATH
 *     in:      {endpoint: "tcp://0.0.0.0:5550", pattern: pull, bind: true}
 *     out:     {endpoint: "inproc://to-sink", pattern: push, bind: true}
 *     notify:  {endpoint: "tcp://0.0.0.0:5551"}        # results
 *     control: {endpoint: "tcp://127.0.0.1:5552"}      # {cmd: status}
 *     options: {threshold: 100, min_pixels: 20, forward: all}
 */
#include <inttypes.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include <swmrbus/log.h>
#include <swmrbus/loop.h>
#include <swmrbus/options.h>
#include <swmrbus/pack.h>
#include <swmrbus/plugin.h>
#include <swmrbus/socket.h>
#include <swmrbus/stream.h>

#define TOPIC "hitfinder.result"
#define MAX_SERIES 64

typedef struct series_fmt {
    bool used;
    uint64_t id;
    swmrbus_format fmt;
} series_fmt;

typedef struct hitfinder {
    const swmrbus_component_cfg *cfg;
    void *in, *out, *notify, *control;
    swmrbus_loop *loop;
    /* options */
    double threshold;
    uint64_t min_pixels;
    bool hits_only;
    /* state */
    series_fmt series[MAX_SERIES];
    swmrbus_frame_msg held;   /* a message waiting for room on out */
    bool holding;
    swmrbus_buf buf;
    /* counters for status */
    uint64_t frames, hits, skipped, forwarded, vetoed, rejected;
} hitfinder;

static const char *const known_options[] = {"threshold", "min_pixels", "forward", NULL};

/* Reads and checks the options; shared by create() and check(). */
static swmrbus_err read_options(const swmrbus_component_cfg *cfg, hitfinder *h, char *err,
                                size_t errlen)
{
    const char *forward = NULL;
    swmrbus_err rc = swmrbus_options_only(cfg, known_options, err, errlen);
    if (rc == SWMRBUS_OK)
        rc = swmrbus_option_f64(cfg, "threshold", 0.0, -1e300, 1e300, &h->threshold, err,
                                errlen);
    if (rc == SWMRBUS_OK)
        rc = swmrbus_option_u64(cfg, "min_pixels", 1, 1, UINT32_MAX, &h->min_pixels, err,
                                errlen);
    if (rc == SWMRBUS_OK) rc = swmrbus_option_str(cfg, "forward", "all", &forward, err, errlen);
    if (rc == SWMRBUS_OK && strcmp(forward, "all") != 0 && strcmp(forward, "hits") != 0) {
        snprintf(err, errlen, "components[%zu].options.forward: expected all or hits, got \"%s\"",
                 cfg->index, forward);
        rc = SWMRBUS_ECONFIG;
    }
    if (rc == SWMRBUS_OK) h->hits_only = strcmp(forward, "hits") == 0;
    if (rc == SWMRBUS_OK && (!cfg->in.present || !cfg->out.present)) {
        snprintf(err, errlen, "components[%zu]: a hitfinder needs in and out", cfg->index);
        rc = SWMRBUS_ECONFIG;
    }
    return rc;
}

static swmrbus_err hf_check(const swmrbus_component_args *args, char *err, size_t errlen)
{
    hitfinder h;
    memset(&h, 0, sizeof h);
    return read_options(args->cfg, &h, err, errlen);
}

/* ---- analysis ---------------------------------------------------------------- */

static series_fmt *series_of(hitfinder *h, uint64_t id, bool create)
{
    series_fmt *free_slot = NULL;
    for (size_t i = 0; i < MAX_SERIES; i++) {
        if (h->series[i].used && h->series[i].id == id) return &h->series[i];
        if (!h->series[i].used && !free_slot) free_slot = &h->series[i];
    }
    if (!create) return NULL;
    if (!free_slot) free_slot = &h->series[id % MAX_SERIES]; /* forget an old one */
    memset(free_slot, 0, sizeof *free_slot);
    free_slot->used = true;
    free_slot->id = id;
    return free_slot;
}

typedef struct result {
    bool analysed;
    double sum, max;
    uint64_t lit;
} result;

#define SCAN(T)                                                                \
    do {                                                                       \
        const T *px = (const T *)p;                                            \
        for (size_t i = 0; i < n; i++) {                                       \
            double v = (double)px[i];                                          \
            r->sum += v;                                                       \
            if (i == 0 || v > r->max) r->max = v;                              \
            r->lit += v > h->threshold;                                        \
        }                                                                      \
    } while (0)

static void analyse(const hitfinder *h, const swmrbus_format *f, const void *p, size_t len,
                    result *r)
{
    memset(r, 0, sizeof *r);
    if (f->encoding != SWMRBUS_ENC_RAW || swmrbus_format_raw_bytes(f) != len) return;
    size_t n = len / swmrbus_dtype_size(f->dtype);
    r->analysed = true;
    switch (f->dtype) {
    case SWMRBUS_DTYPE_UINT8: SCAN(uint8_t); break;
    case SWMRBUS_DTYPE_UINT16: SCAN(uint16_t); break;
    case SWMRBUS_DTYPE_UINT32: SCAN(uint32_t); break;
    case SWMRBUS_DTYPE_UINT64: SCAN(uint64_t); break;
    case SWMRBUS_DTYPE_INT8: SCAN(int8_t); break;
    case SWMRBUS_DTYPE_INT16: SCAN(int16_t); break;
    case SWMRBUS_DTYPE_INT32: SCAN(int32_t); break;
    case SWMRBUS_DTYPE_INT64: SCAN(int64_t); break;
    case SWMRBUS_DTYPE_FLOAT32: SCAN(float); break;
    case SWMRBUS_DTYPE_FLOAT64: SCAN(double); break;
    default: r->analysed = false;
    }
}

/* One result per frame on notify: [TOPIC][{series, frame, analysed, sum, max, lit, hit}]. */
static void publish(hitfinder *h, const swmrbus_header *hd, const result *r, bool hit)
{
    if (!h->notify) return;
    msgpack_packer pk;
    h->buf.len = 0;
    msgpack_packer_init(&pk, &h->buf, swmrbus_buf_write);
    msgpack_pack_map(&pk, r->analysed ? 7 : 3);
    swmrbus_pack_kv_u64(&pk, "series", hd->series);
    swmrbus_pack_kv_u64(&pk, "frame", hd->frame);
    swmrbus_pack_cstr(&pk, "analysed");
    r->analysed ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    if (r->analysed) {
        swmrbus_pack_cstr(&pk, "sum");
        msgpack_pack_double(&pk, r->sum);
        swmrbus_pack_cstr(&pk, "max");
        msgpack_pack_double(&pk, r->max);
        swmrbus_pack_kv_u64(&pk, "lit", r->lit);
        swmrbus_pack_cstr(&pk, "hit");
        hit ? msgpack_pack_true(&pk) : msgpack_pack_false(&pk);
    }
    if (!h->buf.data) return;
    /* PUB never blocks: a slow live view loses results, never stalls frames. */
    if (zmq_send(h->notify, TOPIC, strlen(TOPIC), ZMQ_SNDMORE | ZMQ_DONTWAIT) >= 0)
        zmq_send(h->notify, h->buf.data, h->buf.len, ZMQ_DONTWAIT);
}

/* ---- the loop ------------------------------------------------------------------ */

/* Forwards the held message; false when out has no room (keep holding). */
static bool flush_held(hitfinder *h)
{
    if (!h->holding) return true;
    swmrbus_err rc = swmrbus_frame_forward(h->out, &h->held, ZMQ_DONTWAIT);
    if (rc == SWMRBUS_EAGAIN) return false;
    if (rc != SWMRBUS_OK) swmrbus_frame_msg_close(&h->held);
    else h->forwarded++;
    h->holding = false;
    return true;
}

/* Takes one message: analyses a frame, forwards what goes on. */
static bool take_one(hitfinder *h)
{
    swmrbus_frame_msg *m = &h->held;
    swmrbus_reason reason;
    char why[240];
    swmrbus_err rc = swmrbus_frame_recv(h->in, ZMQ_DONTWAIT, &h->cfg->limits, m, &reason, why,
                                        sizeof why);
    if (rc == SWMRBUS_EAGAIN) return false;
    if (rc != SWMRBUS_OK) {
        h->rejected++;
        swmrbus_log(SWMRBUS_LOG_WARN, h->cfg->name, "dropped (%s): %s",
                    swmrbus_reason_name(reason), why);
        return true;
    }
    bool forward = true;
    if (m->h.type == SWMRBUS_MSG_START && m->h.has_format) {
        series_of(h, m->h.series, true)->fmt = m->h.format;
    } else if (m->h.type == SWMRBUS_MSG_FRAME) {
        series_fmt *s = series_of(h, m->h.series, m->h.has_format);
        if (s && m->h.has_format) s->fmt = m->h.format;
        result r;
        memset(&r, 0, sizeof r);
        if (s) analyse(h, &s->fmt, zmq_msg_data(&m->payload), zmq_msg_size(&m->payload), &r);
        bool hit = r.analysed && r.lit >= h->min_pixels;
        h->frames++;
        h->hits += hit;
        h->skipped += !r.analysed;
        publish(h, &m->h, &r, hit);
        /* Vetoed frames are gaps in the sink's file (counted there). */
        forward = !h->hits_only || hit || !r.analysed;
        h->vetoed += !forward;
    }
    if (!forward) {
        swmrbus_frame_msg_close(m);
        return true;
    }
    h->holding = true;
    return flush_held(h);
}

static int on_input(swmrbus_loop *loop, void *socket, short revents, void *user)
{
    hitfinder *h = user;
    (void)socket;
    (void)revents;
    for (int k = 0; k < 256 && take_one(h); k++) {}
    /* Backpressure: while the sink does not take frames, take none. */
    swmrbus_loop_set_events(loop, h->in, (short)(h->holding ? 0 : ZMQ_POLLIN));
    swmrbus_loop_set_events(loop, h->out, (short)(h->holding ? ZMQ_POLLOUT : 0));
    return 0;
}

static int on_room(swmrbus_loop *loop, void *socket, short revents, void *user)
{
    hitfinder *h = user;
    (void)socket;
    (void)revents;
    if (flush_held(h)) {
        swmrbus_loop_set_events(loop, h->out, 0);
        swmrbus_loop_set_events(loop, h->in, ZMQ_POLLIN);
    }
    return 0;
}

static swmrbus_err on_request(const swmrbus_request *rq, swmrbus_buf *reply, char *why,
                              size_t whylen, void *user)
{
    hitfinder *h = user;
    if (rq->cmd != SWMRBUS_CMD_STATUS) {
        snprintf(why, whylen, "a hitfinder takes only {cmd: status}");
        return SWMRBUS_EINVAL;
    }
    msgpack_packer pk;
    msgpack_packer_init(&pk, reply, swmrbus_buf_write);
    int bad = swmrbus_pack_status_head(&pk, h->cfg->name, "hitfinder",
                                       swmrbus_loop_uptime_ns(h->loop), 6);
    bad |= swmrbus_pack_kv_u64(&pk, "frames", h->frames);
    bad |= swmrbus_pack_kv_u64(&pk, "hits", h->hits);
    bad |= swmrbus_pack_kv_u64(&pk, "not_analysed", h->skipped);
    bad |= swmrbus_pack_kv_u64(&pk, "forwarded", h->forwarded);
    bad |= swmrbus_pack_kv_u64(&pk, "vetoed", h->vetoed);
    bad |= swmrbus_pack_kv_u64(&pk, "rejected", h->rejected);
    if (bad) {
        snprintf(why, whylen, "out of memory");
        return SWMRBUS_ENOMEM;
    }
    return SWMRBUS_OK;
}

/* ---- the component table --------------------------------------------------------- */

static void hf_destroy(void **self)
{
    hitfinder *h = *self;
    if (!h) return;
    if (h->holding) swmrbus_frame_msg_close(&h->held);
    void *socks[] = {h->in, h->out, h->notify, h->control};
    for (size_t i = 0; i < 4; i++)
        if (socks[i]) zmq_close(socks[i]);
    swmrbus_loop_destroy(&h->loop);
    swmrbus_buf_free(&h->buf);
    free(h);
    *self = NULL;
}

static swmrbus_err hf_create(const swmrbus_component_args *args, void **self, char *err,
                             size_t errlen)
{
    const swmrbus_component_cfg *cfg = args->cfg;
    hitfinder *h = calloc(1, sizeof *h);
    swmrbus_err rc = h ? SWMRBUS_OK : SWMRBUS_ENOMEM;
    if (rc == SWMRBUS_OK) {
        h->cfg = cfg;
        rc = read_options(cfg, h, err, errlen);
    }
    if (rc == SWMRBUS_OK) rc = swmrbus_loop_create(cfg->name, "hitfinder", &h->loop);
    const swmrbus_socket_opts in_o = {.name = "in", .hwm_opt = ZMQ_RCVHWM};
    const swmrbus_socket_opts out_o = {.name = "out", .hwm_opt = ZMQ_SNDHWM, .linger_ms = 2000};
    const swmrbus_socket_opts notify_o = {.name = "notify", .hwm_opt = ZMQ_SNDHWM};
    const swmrbus_socket_opts control_o = {.name = "control"};
    if (rc == SWMRBUS_OK)
        rc = swmrbus_socket_open(args->zmq_ctx,
                                 cfg->in.pattern == SWMRBUS_PATTERN_SUB ? ZMQ_SUB : ZMQ_PULL,
                                 &cfg->in, &in_o, &h->in, err, errlen);
    if (rc == SWMRBUS_OK)
        rc = swmrbus_socket_open(args->zmq_ctx,
                                 cfg->out.pattern == SWMRBUS_PATTERN_PUB ? ZMQ_PUB : ZMQ_PUSH,
                                 &cfg->out, &out_o, &h->out, err, errlen);
    if (rc == SWMRBUS_OK && cfg->notify.present)
        rc = swmrbus_socket_open(args->zmq_ctx, ZMQ_PUB, &cfg->notify, &notify_o, &h->notify,
                                 err, errlen);
    if (rc == SWMRBUS_OK && cfg->control.present)
        rc = swmrbus_socket_open(args->zmq_ctx, ZMQ_REP, &cfg->control, &control_o,
                                 &h->control, err, errlen);
    if (rc == SWMRBUS_OK) rc = swmrbus_loop_add(h->loop, h->in, ZMQ_POLLIN, on_input, h);
    if (rc == SWMRBUS_OK) rc = swmrbus_loop_add(h->loop, h->out, 0, on_room, h);
    if (rc == SWMRBUS_OK)
        rc = swmrbus_loop_control(h->loop, h->control, on_request, h,
                                  (size_t)cfg->limits.max_header_bytes);
    if (rc != SWMRBUS_OK) {
        void *p = h;
        hf_destroy(&p);
        h = NULL;
    } else {
        swmrbus_log(SWMRBUS_LOG_INFO, cfg->name,
                    "hitfinder ready: threshold %g, min_pixels %" PRIu64 ", forwarding %s",
                    h->threshold, h->min_pixels, h->hits_only ? "hits only" : "all frames");
    }
    *self = h;
    return rc;
}

static swmrbus_err hf_run(void *self)
{
    hitfinder *h = self;
    swmrbus_err rc = swmrbus_loop_run(h->loop);
    swmrbus_log(SWMRBUS_LOG_INFO, h->cfg->name,
                "hitfinder done: %" PRIu64 " frames, %" PRIu64 " hits, %" PRIu64 " forwarded",
                h->frames, h->hits, h->forwarded);
    return rc;
}

static void hf_stop(void *self) { swmrbus_loop_stop(((hitfinder *)self)->loop); }

static const swmrbus_component_vtable hitfinder_vtable = {
    .abi_version = SWMRBUS_ABI_VERSION,
    .struct_size = sizeof(swmrbus_component_vtable),
    .kind = "hitfinder",
    .create = hf_create,
    .run = hf_run,
    .stop = hf_stop,
    .destroy = hf_destroy,
    .check = hf_check,
};

/* The one symbol the host looks for. */
__attribute__((visibility("default"))) const swmrbus_component_vtable *
swmrbus_plugin_component(void)
{
    return &hitfinder_vtable;
}
