/* sim.c — the frame simulator component. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "sim.h"
#include "swmrbus/clock.h"
#include "swmrbus/log.h"
#include "swmrbus/socket.h"
#include "swmrbus/wire.h"

#define POOL_MAX 16
#define POOL_BYTES (256u << 20)
/* raw frames come from two "ramps" (see below), each good for a window of
 * consecutive frames: the values' period for uint8 and uint16 (256, 65536:
 * those ramps are never refilled), RAMP_WINDOW for wider dtypes. */
#define RAMP_WINDOW 1024u
#define N_RAMPS 2

/* Payloads go out zero-copy from a small pool: a buffer is busy from its
 * send until ZeroMQ (the receiving side, possibly another thread, possibly
 * after the sim is destroyed) frees the message. Whoever sees the other's
 * mark last frees the buffer: destroy marks ORPHAN, release marks FREE. */
enum { BUF_FREE = 0, BUF_BUSY = 1, BUF_ORPHAN = 2 };

typedef struct pool_buf {
    atomic_int state;
    uint8_t data[];
} pool_buf;

/* Raw frames are pre-built, not filled per frame: pixel i of frame f is
 * f + i, so frame f is the slice [f - base, f - base + n) of a ramp holding
 * base + j for j < n + window (n pixels a frame). A ramp is filled
 * once per window of frames at most (never for uint8/uint16, whose values
 * wrap within the window) and every frame goes out zero-copy as a slice.
 * refs counts the slices ZeroMQ holds plus one for the sim itself; whoever
 * drops the last reference frees the ramp. */
typedef struct ramp {
    atomic_uint_fast64_t refs;
    uint64_t base; /* the frame index whose slice starts at data[0] */
    bool filled;
    _Alignas(8) uint8_t data[]; /* pixels of every width start aligned */
} ramp;

typedef struct sim {
    const swmrbus_component_cfg *cfg;
    void *out;
    atomic_bool stopping;
    pool_buf *pool[POOL_MAX]; /* lz4 frames (filled per frame) */
    size_t n_pool;
    ramp *ramps[N_RAMPS];     /* raw frames */
    uint64_t window;          /* frames a ramp serves */
    size_t frame_len;
    uint64_t raw_len;
} sim;

static void ramp_unref(ramp *r)
{
    if (atomic_fetch_sub(&r->refs, 1) == 1) free(r);
}

static void sim_destroy(void **self)
{
    sim *s = *self;
    if (!s) return;
    if (s->out) zmq_close(s->out);
    for (size_t i = 0; i < s->n_pool; i++)
        if (atomic_exchange(&s->pool[i]->state, BUF_ORPHAN) != BUF_BUSY) free(s->pool[i]);
    for (size_t i = 0; i < N_RAMPS; i++)
        if (s->ramps[i]) ramp_unref(s->ramps[i]);
    free(s);
    *self = NULL;
}

static swmrbus_err sim_create(const swmrbus_component_args *args, void **self, char *err,
                              size_t errlen)
{
    const swmrbus_component_cfg *cfg = args->cfg;
    swmrbus_err rc = SWMRBUS_OK;
    sim *s = calloc(1, sizeof *s);
    if (!s) return SWMRBUS_ENOMEM;
    s->cfg = cfg;
    const swmrbus_format *f = &cfg->sim_format;
    s->raw_len = swmrbus_format_raw_bytes(f);
    if (!cfg->out.present || s->raw_len == 0) {
        snprintf(err, errlen, "a sim needs out and a valid shape/dtype");
        rc = SWMRBUS_ECONFIG;
        goto out;
    }
    if (f->encoding == SWMRBUS_ENC_BSLZ4) {
        snprintf(err, errlen, "sim: encoding bslz4 is not generated; use raw or lz4");
        rc = SWMRBUS_ECONFIG;
        goto out;
    }
    /* lz4: the filter's chunk format with every block stored (a block whose
     * compressed size equals its size is taken as is by filter 32004). */
    uint64_t block = s->raw_len < (1u << 20) ? s->raw_len : (1u << 20);
    uint64_t nblocks = (s->raw_len + block - 1) / block;
    s->frame_len = (size_t)(f->encoding == SWMRBUS_ENC_LZ4 ? 12 + 4 * nblocks + s->raw_len
                                                           : s->raw_len);
    if (f->encoding == SWMRBUS_ENC_RAW) {
        size_t isz = swmrbus_dtype_size(f->dtype);
        s->window = isz <= 2 ? 1ull << (8 * isz) : RAMP_WINDOW;
        for (size_t i = 0; i < N_RAMPS; i++) {
            s->ramps[i] = malloc(sizeof(ramp) + s->raw_len + (size_t)s->window * isz);
            if (!s->ramps[i]) {
                rc = SWMRBUS_ENOMEM;
                goto out;
            }
            atomic_init(&s->ramps[i]->refs, 1);
            s->ramps[i]->filled = false;
        }
        goto open_out;
    }
    s->n_pool = POOL_BYTES / s->frame_len;
    if (s->n_pool > POOL_MAX) s->n_pool = POOL_MAX;
    if (s->n_pool < 2) s->n_pool = 2;
    for (size_t i = 0; i < s->n_pool; i++) {
        s->pool[i] = malloc(sizeof(pool_buf) + s->frame_len);
        if (!s->pool[i]) {
            s->n_pool = i;
            rc = SWMRBUS_ENOMEM;
            goto out;
        }
        atomic_init(&s->pool[i]->state, BUF_FREE);
        uint8_t *p = s->pool[i]->data;
        if (f->encoding != SWMRBUS_ENC_LZ4) continue;
        for (int k = 0; k < 8; k++) *p++ = (uint8_t)(s->raw_len >> (56 - 8 * k));
        for (int k = 0; k < 4; k++) *p++ = (uint8_t)(block >> (24 - 8 * k));
        for (uint64_t b = 0; b < nblocks; b++) {
            uint64_t n = b + 1 < nblocks ? block : s->raw_len - b * block;
            for (int k = 0; k < 4; k++) *p++ = (uint8_t)(n >> (24 - 8 * k));
            p += n;
        }
    }
open_out:;
    int type = cfg->out.pattern == SWMRBUS_PATTERN_PUB ? ZMQ_PUB : ZMQ_PUSH;
    const swmrbus_socket_opts o = {.name = "out", .hwm_opt = ZMQ_SNDHWM, .linger_ms = 2000};
    rc = swmrbus_socket_open(args->zmq_ctx, type, &cfg->out, &o, &s->out, err, errlen);
out:
    if (rc != SWMRBUS_OK) {
        void *p = s;
        sim_destroy(&p);
        s = NULL;
    }
    *self = s;
    return rc;
}

static void sim_stop(void *self) { atomic_store(&((sim *)self)->stopping, true); }

/* Sends one message part, waiting (in slices, so stop is seen) while the
 * peer is not taking messages. */
static bool send_part(sim *s, const void *p, size_t n, int more)
{
    while (!atomic_load(&s->stopping)) {
        if (zmq_send(s->out, p, n, ZMQ_DONTWAIT | more) >= 0) return true;
        if (zmq_errno() != EAGAIN) return false;
        zmq_pollitem_t pi = {s->out, 0, ZMQ_POLLOUT, 0};
        zmq_poll(&pi, 1, 100);
    }
    return false;
}

static bool send_header(sim *s, const swmrbus_header *h, swmrbus_buf *b, int more)
{
    return swmrbus_header_encode(h, NULL, 0, b) == SWMRBUS_OK &&
           send_part(s, b->data, b->len, more);
}

static void release(void *data, void *hint)
{
    (void)data;
    pool_buf *b = hint;
    if (atomic_exchange(&b->state, BUF_FREE) == BUF_ORPHAN) free(b);
}

/* A free pool buffer; waits (seeing stop) while ZeroMQ holds them all. */
static pool_buf *take_buf(sim *s, uint64_t f)
{
    for (;;) {
        for (size_t k = 0; k < s->n_pool; k++) {
            pool_buf *b = s->pool[(f + k) % s->n_pool];
            if (atomic_load(&b->state) == BUF_FREE) return b;
        }
        if (atomic_load(&s->stopping)) return NULL;
        struct timespec ts = {0, 50000L};
        nanosleep(&ts, NULL);
    }
}

/* Sends a payload part zero-copy from pool buffer b. */
static bool send_payload(sim *s, pool_buf *b)
{
    zmq_msg_t m;
    atomic_store(&b->state, BUF_BUSY);
    zmq_msg_init_data(&m, b->data, s->frame_len, release, b);
    while (!atomic_load(&s->stopping)) {
        if (zmq_msg_send(&m, s->out, ZMQ_DONTWAIT) >= 0) return true;
        if (zmq_errno() != EAGAIN) break;
        zmq_pollitem_t pi = {s->out, 0, ZMQ_POLLOUT, 0};
        zmq_poll(&pi, 1, 100);
    }
    zmq_msg_close(&m); /* calls release */
    return false;
}

static void release_ramp(void *data, void *hint)
{
    (void)data;
    ramp_unref(hint);
}

/* Writes base + j, j < n, in the dtype's width (little-endian host). */
static void fill_ramp(uint8_t *px, size_t isz, size_t n, uint64_t base)
{
    switch (isz) {
    case 1: for (size_t i = 0; i < n; i++) px[i] = (uint8_t)(base + i); break;
    case 2: for (size_t i = 0; i < n; i++) ((uint16_t *)(void *)px)[i] = (uint16_t)(base + i); break;
    case 4: for (size_t i = 0; i < n; i++) ((uint32_t *)(void *)px)[i] = (uint32_t)(base + i); break;
    default: for (size_t i = 0; i < n; i++) ((uint64_t *)(void *)px)[i] = base + i; break;
    }
}

/* The ramp holding frame f, (re)filled if needed; waits (seeing stop)
 * while ZeroMQ still holds slices of the ramp to be refilled. */
static ramp *ramp_for(sim *s, uint64_t f)
{
    size_t isz = swmrbus_dtype_size(s->cfg->sim_format.dtype);
    uint64_t base = f - f % s->window;
    ramp *r = s->ramps[(f / s->window) % N_RAMPS];
    /* the values only, modulo the dtype's width: equal content */
    uint64_t mask = isz >= 8 ? ~0ull : (1ull << (8 * isz)) - 1;
    if (r->filled && ((r->base ^ base) & mask) == 0) {
        r->base = base;
        return r;
    }
    while (atomic_load(&r->refs) > 1) {
        if (atomic_load(&s->stopping)) return NULL;
        struct timespec ts = {0, 50000L};
        nanosleep(&ts, NULL);
    }
    fill_ramp(r->data, isz, (size_t)(s->raw_len / isz + s->window), base);
    r->base = base;
    r->filled = true;
    return r;
}

/* Sends frame f's payload, a zero-copy slice of its ramp. */
static bool send_ramp_payload(sim *s, uint64_t f)
{
    ramp *r = ramp_for(s, f);
    if (!r) return false;
    size_t isz = swmrbus_dtype_size(s->cfg->sim_format.dtype);
    zmq_msg_t m;
    atomic_fetch_add(&r->refs, 1);
    zmq_msg_init_data(&m, r->data + (f - r->base) * isz, (size_t)s->raw_len, release_ramp, r);
    while (!atomic_load(&s->stopping)) {
        if (zmq_msg_send(&m, s->out, ZMQ_DONTWAIT) >= 0) return true;
        if (zmq_errno() != EAGAIN) break;
        zmq_pollitem_t pi = {s->out, 0, ZMQ_POLLOUT, 0};
        zmq_poll(&pi, 1, 100);
    }
    zmq_msg_close(&m); /* calls release_ramp */
    return false;
}

/* Fills the raw pixels of frame f: pixel i = f + i, in the dtype's width. */
static void fill(sim *s, uint8_t *frame, uint64_t f)
{
    uint8_t *px = frame + (s->frame_len - s->raw_len);
    size_t isz = swmrbus_dtype_size(s->cfg->sim_format.dtype);
    if (s->cfg->sim_format.encoding == SWMRBUS_ENC_LZ4) {
        /* blocks interleave with their 4-byte sizes; keep it simple: fill
         * block by block */
        uint64_t block = s->raw_len < (1u << 20) ? s->raw_len : (1u << 20);
        uint8_t *p = frame + 12;
        uint64_t i = 0;
        for (uint64_t off = 0; off < s->raw_len; off += block) {
            uint64_t n = off + block <= s->raw_len ? block : s->raw_len - off;
            p += 4;
            for (uint64_t k = 0; k < n / isz; k++, i++) {
                uint64_t v = f + i;
                memcpy(p + k * isz, &v, isz); /* little-endian host */
            }
            p += n;
        }
        return;
    }
    size_t n = (size_t)(s->raw_len / isz);
    switch (isz) {
    case 1: for (size_t i = 0; i < n; i++) px[i] = (uint8_t)(f + i); break;
    case 2: for (size_t i = 0; i < n; i++) ((uint16_t *)(void *)px)[i] = (uint16_t)(f + i); break;
    case 4: for (size_t i = 0; i < n; i++) ((uint32_t *)(void *)px)[i] = (uint32_t)(f + i); break;
    default: for (size_t i = 0; i < n; i++) ((uint64_t *)(void *)px)[i] = f + i; break;
    }
}

static swmrbus_err sim_run(void *self)
{
    sim *s = self;
    const swmrbus_component_cfg *cfg = s->cfg;
    swmrbus_buf b = {0};
    swmrbus_err rc = SWMRBUS_OK;
    if (cfg->out.pattern == SWMRBUS_PATTERN_PUB) {
        struct timespec joiner = {0, 300000000L}; /* let subscribers join */
        nanosleep(&joiner, NULL);
    }
    uint64_t t0 = swmrbus_mono_ns();
    uint64_t sent = 0;
    swmrbus_header h;
    memset(&h, 0, sizeof h);
    h.series = cfg->sim_series;
    h.type = SWMRBUS_MSG_START;
    h.format = cfg->sim_format;
    h.has_format = true;
    h.frames = cfg->sim_frames;
    h.has_frames = true;
    h.name.ptr = cfg->name;
    h.name.len = strlen(cfg->name);
    if (!send_header(s, &h, &b, 0)) goto out;
    for (uint64_t f = 0; f < cfg->sim_frames; f++) {
        if (cfg->sim_rate_hz > 0) {
            double due = (double)f / cfg->sim_rate_hz;
            double el = (double)(swmrbus_mono_ns() - t0) / 1e9;
            if (due > el) {
                double w = due - el;
                struct timespec ts = {(time_t)w, (long)((w - (double)(time_t)w) * 1e9)};
                nanosleep(&ts, NULL);
            }
        }
        memset(&h, 0, sizeof h);
        h.type = SWMRBUS_MSG_FRAME;
        h.series = cfg->sim_series;
        h.frame = f;
        h.ts = swmrbus_wall_ns();
        h.has_ts = true;
        if (s->n_pool == 0) {
            if (!send_header(s, &h, &b, ZMQ_SNDMORE) || !send_ramp_payload(s, f)) goto out;
            sent++;
            continue;
        }
        pool_buf *pb = take_buf(s, f);
        if (!pb) goto out;
        fill(s, pb->data, f);
        if (!send_header(s, &h, &b, ZMQ_SNDMORE) || !send_payload(s, pb)) goto out;
        sent++;
    }
    memset(&h, 0, sizeof h);
    h.type = SWMRBUS_MSG_END;
    h.series = cfg->sim_series;
    h.frames = sent;
    h.has_frames = true;
    send_header(s, &h, &b, 0);
out:
    if (atomic_load(&s->stopping) && sent < cfg->sim_frames)
        swmrbus_log(SWMRBUS_LOG_INFO, cfg->name, "stopped after %llu of %llu frames",
                    (unsigned long long)sent, (unsigned long long)cfg->sim_frames);
    else
        swmrbus_log(SWMRBUS_LOG_INFO, cfg->name, "sent series %llu: %llu frames",
                    (unsigned long long)cfg->sim_series, (unsigned long long)sent);
    swmrbus_buf_free(&b);
    return rc;
}

static const swmrbus_component_vtable sim_vtable = {
    .abi_version = SWMRBUS_ABI_VERSION,
    .struct_size = sizeof(swmrbus_component_vtable),
    .kind = "sim",
    .create = sim_create,
    .run = sim_run,
    .stop = sim_stop,
    .destroy = sim_destroy,
};

const swmrbus_component_vtable *swmrbus_sim_component(void) { return &sim_vtable; }
