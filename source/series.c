/* source/series.c — the series a source follows: which file a notification
 * names, opening it (retrying while the writer is not in SWMR mode), and
 * sending its rows in order as the notifications allow (see README "Source
 * output"): on `flushed`, the rows below `complete`; at `closed`, the rest
 * below N, rows with no stored chunk skipped as gaps; then `end`, the file
 * closed, and only then the relayed `closed`. Sending never blocks: when the
 * output has no room the series stops where it is and resumes later. */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include <msgpack.h>

#include "bufpool.h"
#include "source_internal.h"
#include "swmrbus/codec.h"
#include "swmrbus/log.h"

#define MS_NS UINT64_C(1000000)
#define FRAME_BUDGET 256          /* frames one series sends per round */
#define OPEN_TRIES 34             /* ~15 s with the backoff below */
#define LAG_TRIES 250             /* 20 ms apart: 5 s for the file to show N */
#define ROW_TRIES 50              /* a row below complete without a chunk */
#define REFRESH_FAILS 10          /* refresh/reopen failures in a row (~1 s each) */
#define ALT_ID_BASE (1ull << 32)  /* output ids when a sink's id is taken */

static swmrbus_str str_of(const char *p) { return (swmrbus_str){p, p ? strlen(p) : 0}; }

static bool str_eq(const char *a, swmrbus_str b)
{
    return strlen(a) == b.len && (b.len == 0 || memcmp(a, b.ptr, b.len) == 0);
}

static bool active(const swmrbus__series *se)
{
    return se->used && se->state <= SWMRBUS__S_CLOSING;
}

const char *swmrbus__src_state_name(const swmrbus__source *s, const swmrbus__series *se,
                                    uint64_t now)
{
    switch (se->state) {
    case SWMRBUS__S_OPENING:
    case SWMRBUS__S_OPEN:
        if (now - se->last_notice_ns >= s->cfg->stale_ms * MS_NS) return "stale";
        return "open";
    case SWMRBUS__S_CLOSING: return "lingering";
    case SWMRBUS__S_CLOSED: return "closed";
    case SWMRBUS__S_FAILED: return "failed";
    }
    return "?";
}

/* ---- the table ---------------------------------------------------------------- */

static swmrbus__series *find(swmrbus__source *s, swmrbus_str sink, swmrbus_str file)
{
    for (size_t i = 0; i < s->n_slots; i++) {
        swmrbus__series *se = &s->slots[i];
        if (se->used && str_eq(se->file, file) && str_eq(se->sink, sink)) return se;
    }
    return NULL;
}

static bool id_taken(const swmrbus__source *s, uint64_t id)
{
    for (size_t i = 0; i < s->n_slots; i++)
        if (active(&s->slots[i]) && s->slots[i].out_id == id) return true;
    return false;
}

/* The sink's id when no followed series uses it, else the next of a range
 * of ids above 2^32 (so several sinks' series 1 stay apart downstream). */
static uint64_t pick_id(swmrbus__source *s, bool has_orig, uint64_t orig)
{
    if (has_orig && !id_taken(s, orig)) return orig;
    while (id_taken(s, s->alt_next)) s->alt_next++;
    return s->alt_next++;
}

/* A slot for a new series: a free one, else the finished one that finished
 * first. NULL when max_open_series series are followed. */
static swmrbus__series *new_slot(swmrbus__source *s)
{
    size_t n_active = 0;
    swmrbus__series *free_se = NULL, *oldest = NULL;
    for (size_t i = 0; i < s->n_slots; i++) {
        swmrbus__series *se = &s->slots[i];
        if (!se->used) {
            if (!free_se) free_se = se;
        } else if (active(se)) {
            n_active++;
        } else if (!oldest || se->finished_order < oldest->finished_order) {
            oldest = se;
        }
    }
    if (n_active >= s->cfg->limits.max_open_series) return NULL;
    swmrbus__series *se = free_se ? free_se : oldest;
    if (se) memset(se, 0, sizeof *se);
    return se;
}

/* ---- relays of a series --------------------------------------------------------- */

static void relay_free(swmrbus__source *s, swmrbus__series *se, swmrbus__relay *r)
{
    s->relay_bytes -= r->len;
    se->rq_n--;
    free(r);
}

/* Sends the relays whose frames are out, in order. */
static void release_relays(swmrbus__source *s, swmrbus__series *se)
{
    bool done = se->state == SWMRBUS__S_CLOSED || se->state == SWMRBUS__S_FAILED;
    while (se->rq_head) {
        swmrbus__relay *r = se->rq_head;
        if (!done && (r->after_close || (r->complete > se->next && r->complete > se->first)))
            break;
        se->rq_head = r->next;
        if (!se->rq_head) se->rq_tail = NULL;
        swmrbus__src_relay_now(s, r->topic, r->map, r->len);
        relay_free(s, se, r);
    }
}

/* Queues a relay behind the series' frames. When the queue is full, the
 * oldest waiting `flushed` relay goes (a later one covers its N). */
static void queue_relay(swmrbus__source *s, swmrbus__series *se, swmrbus_topic topic,
                        const void *map, size_t len, uint64_t complete, bool after_close)
{
    while ((se->rq_n >= SWMRBUS__RELAYS_MAX || s->relay_bytes + len > SWMRBUS__RELAY_BYTES) &&
           se->rq_head) {
        swmrbus__relay **pp = &se->rq_head, *prev = NULL;
        while (*pp && (*pp)->topic != SWMRBUS_NOTICE_FLUSHED) {
            prev = *pp;
            pp = &(*pp)->next;
        }
        if (!*pp) break;
        swmrbus__relay *victim = *pp;
        *pp = victim->next;
        if (se->rq_tail == victim) se->rq_tail = prev;
        relay_free(s, se, victim);
        s->relays_dropped++;
    }
    swmrbus__relay *r = swmrbus__src_relay_new(topic, map, len, complete, after_close);
    if (!r) {
        /* Out of memory: relay it now rather than lose it. */
        swmrbus__src_relay_now(s, topic, map, len);
        return;
    }
    if (se->rq_tail) se->rq_tail->next = r;
    else se->rq_head = r;
    se->rq_tail = r;
    se->rq_n++;
    s->relay_bytes += len;
}

/* ---- sending ---------------------------------------------------------------------- */

/* Room for one more message on the output. A PUB always has room (ZeroMQ
 * drops for a subscriber at its high-water mark, which send() counts). */
static bool writable(swmrbus__source *s)
{
    if (s->out_pub) return true;
    if (s->out_rep) { /* a REP may answer once a request came (any request: "next") */
        char req[64];
        if (!s->rep_ready && zmq_recv(s->out, req, sizeof req, ZMQ_DONTWAIT) >= 0)
            s->rep_ready = true;
        return s->rep_ready;
    }
    int ev = 0;
    size_t len = sizeof ev;
    return zmq_getsockopt(s->out, ZMQ_EVENTS, &ev, &len) == 0 && (ev & ZMQ_POLLOUT);
}

/* Sends [header][payload?]. EAGAIN (PUSH: no peer has room) sends nothing.
 * On a PUB, ZMQ_XPUB_NODROP makes a full subscriber visible as EAGAIN: the
 * message is counted as dropped and sent again without NODROP, so the
 * subscribers with room get it and the full one loses it, as ZeroMQ's PUB
 * does. */
static swmrbus_err send_msg(swmrbus__source *s, swmrbus__series *se, const swmrbus_buf *h,
                            zmq_msg_t *payload, size_t n_payloads)
{
    int more = payload ? ZMQ_SNDMORE : 0;
    if (zmq_send(s->out, h->data, h->len, ZMQ_DONTWAIT | more) < 0) {
        int e = zmq_errno();
        if (e != EAGAIN) goto fail;
        if (!s->out_pub) return SWMRBUS_ETIMEDOUT;
        int off = 0, on = 1;
        se->dropped++;
        s->dropped++;
        zmq_setsockopt(s->out, ZMQ_XPUB_NODROP, &off, sizeof off);
        int rc = zmq_send(s->out, h->data, h->len, ZMQ_DONTWAIT | more);
        zmq_setsockopt(s->out, ZMQ_XPUB_NODROP, &on, sizeof on);
        if (rc < 0) goto fail;
    }
    /* The rest of a multipart message always follows its first part (a
     * payload per dataset of a series with named datasets). */
    for (size_t i = 0; payload && i < n_payloads; i++)
        if (zmq_msg_send(&payload[i], s->out, ZMQ_DONTWAIT | (i + 1 < n_payloads ? ZMQ_SNDMORE : 0)) < 0)
            goto fail;
    return SWMRBUS_OK;
fail:
    swmrbus_log(SWMRBUS_LOG_ERROR, s->name, "send: %s", zmq_strerror(zmq_errno()));
    return SWMRBUS_EZMQ;
}

/* Sends the n parts of one foreign message (an encoder's output, which
 * are consumed). ETIMEDOUT (no room, or a REP with no request) sends
 * nothing; a PUB drops for a full subscriber as send_msg does. */
static swmrbus_err send_foreign(swmrbus__source *s, swmrbus__series *se, zmq_msg_t *parts,
                                size_t n)
{
    swmrbus_err rc = SWMRBUS_OK;
    size_t i = 0;
    if (n == 0) return SWMRBUS_OK;
    if (s->out_rep && !writable(s)) {
        rc = SWMRBUS_ETIMEDOUT;
        goto out;
    }
    int more = n > 1 ? ZMQ_SNDMORE : 0;
    if (zmq_msg_send(&parts[0], s->out, ZMQ_DONTWAIT | more) < 0) {
        if (zmq_errno() != EAGAIN) goto fail;
        if (!s->out_pub) {
            rc = SWMRBUS_ETIMEDOUT;
            goto out;
        }
        int off = 0, on = 1;
        se->dropped++;
        s->dropped++;
        zmq_setsockopt(s->out, ZMQ_XPUB_NODROP, &off, sizeof off);
        int r = zmq_msg_send(&parts[0], s->out, ZMQ_DONTWAIT | more);
        zmq_setsockopt(s->out, ZMQ_XPUB_NODROP, &on, sizeof on);
        if (r < 0) goto fail;
    }
    for (i = 1; i < n; i++)
        if (zmq_msg_send(&parts[i], s->out, ZMQ_DONTWAIT | (i + 1 < n ? ZMQ_SNDMORE : 0)) < 0)
            goto fail;
    s->rep_ready = false;
    goto out;
fail:
    swmrbus_log(SWMRBUS_LOG_ERROR, s->name, "send: %s", zmq_strerror(zmq_errno()));
    rc = SWMRBUS_EZMQ;
out:
    for (i = 0; i < n; i++) zmq_msg_close(&parts[i]);
    return rc;
}

/* Hands one message of the series to out.protocol's encoder and sends what
 * it makes of it (a start or an end: nothing, for the Karabo bridge). */
static swmrbus_err send_encoded(swmrbus__source *s, swmrbus__series *se,
                                const swmrbus_header *h, zmq_msg_t *payloads, size_t n)
{
    zmq_msg_t *out = NULL;
    size_t n_out = 0;
    char why[256];
    swmrbus_err rc = s->enc->encode(s->enc_state, h, payloads, n, &out, &n_out, why, sizeof why);
    if (rc != SWMRBUS_OK) {
        snprintf(se->why, sizeof se->why, "%s", why);
        return SWMRBUS_EINVAL;
    }
    return send_foreign(s, se, out, n_out);
}

static void base_header(const swmrbus__series *se, swmrbus_header *h, swmrbus_msg_type t)
{
    memset(h, 0, sizeof *h);
    h->type = t;
    h->series = se->out_id;
}

/* start.datasets of a file with named datasets: each one's path (from the
 * root, without the leading '/'), dtype, shape and encoding as read. */
static swmrbus_err pack_datasets(const swmrbus__sfile *f, swmrbus_buf *out)
{
    msgpack_packer pk;
    size_t n = swmrbus__sfile_get_info(f)->n_datasets;
    msgpack_packer_init(&pk, out, swmrbus_buf_write);
    if (msgpack_pack_array(&pk, n)) return SWMRBUS_ENOMEM;
    for (size_t k = 0; k < n; k++) {
        const swmrbus__sfile *p = swmrbus__sfile_part(f, k);
        if (!p) return SWMRBUS_EINVAL;
        const swmrbus_format *fmt = &swmrbus__sfile_get_info(p)->fmt;
        const char *name = swmrbus__sfile_dspath(p) + 1;
        const char *dt = swmrbus_dtype_name(fmt->dtype), *en = swmrbus_encoding_name(fmt->encoding);
        if (msgpack_pack_map(&pk, 4) || msgpack_pack_str_with_body(&pk, "name", 4) ||
            msgpack_pack_str_with_body(&pk, name, strlen(name)) ||
            msgpack_pack_str_with_body(&pk, "dtype", 5) ||
            msgpack_pack_str_with_body(&pk, dt, strlen(dt)) ||
            msgpack_pack_str_with_body(&pk, "shape", 5) || msgpack_pack_array(&pk, fmt->ndim))
            return SWMRBUS_ENOMEM;
        for (uint32_t d = 0; d < fmt->ndim; d++)
            if (msgpack_pack_uint64(&pk, fmt->shape[d])) return SWMRBUS_ENOMEM;
        if (msgpack_pack_str_with_body(&pk, "encoding", 8) ||
            msgpack_pack_str_with_body(&pk, en, strlen(en)))
            return SWMRBUS_ENOMEM;
    }
    return SWMRBUS_OK;
}

static swmrbus_err send_start(swmrbus__source *s, swmrbus__series *se)
{
    const swmrbus__sfile_info *in = swmrbus__sfile_get_info(se->f);
    swmrbus_header h;
    swmrbus__meta_list ml;
    char why[256] = "";
    base_header(se, &h, SWMRBUS_MSG_START);
    h.format = in->fmt;
    h.has_format = true;
    swmrbus_buf ds = {0};
    if (in->n_channels) { /* README "Channels": start.channels, a part a channel */
        msgpack_packer pk;
        msgpack_packer_init(&pk, &ds, swmrbus_buf_write);
        int e = msgpack_pack_array(&pk, in->n_channels);
        for (size_t k = 0; k < in->n_channels; k++)
            e |= msgpack_pack_str_with_body(&pk, in->channel[k], strlen(in->channel[k]));
        if (e) {
            swmrbus_buf_free(&ds);
            snprintf(se->why, sizeof se->why, "cannot encode the channels of start");
            return SWMRBUS_EINVAL;
        }
        h.channels = (swmrbus_str){(const char *)ds.data, ds.len};
        h.n_channels = (uint32_t)in->n_channels;
    } else if (in->n_datasets) { /* named datasets: start.datasets, as the sink took them */
        if (pack_datasets(se->f, &ds) != SWMRBUS_OK) {
            swmrbus_buf_free(&ds);
            snprintf(se->why, sizeof se->why, "cannot encode the datasets of start");
            return SWMRBUS_EINVAL;
        }
        h.has_format = false;
        h.datasets = (swmrbus_str){(const char *)ds.data, ds.len};
        h.n_datasets = (uint32_t)in->n_datasets;
    }
    if (s->enc && in->n_datasets && !in->n_channels) { /* out.protocol: the layout */
        swmrbus_err erc = send_encoded(s, se, &h, NULL, 0);
        swmrbus_buf_free(&ds);
        return erc;
    }
    /* What a second sink needs for the same NXmx file (sfile_nx.c, issue
     * 11): start.times when the file has per-frame times, and the
     * detector's arrays (masks, flatfields, thresholds, countrate tables)
     * as start.arrays with a part each. */
    swmrbus__start_arrays sa;
    h.times = swmrbus__sfile_has_times(se->f);
    if (swmrbus__sfile_arrays(se->f, s->cfg->limits.max_frame_bytes, s->cfg->max_start_bytes,
                              &sa, why, sizeof why) != SWMRBUS_OK) {
        swmrbus_log(SWMRBUS_LOG_WARN, s->name, "series %" PRIu64 ": start arrays not read: %s",
                    se->out_id, why);
        memset(&sa, 0, sizeof sa);
    }
    if (sa.skipped)
        swmrbus_log(SWMRBUS_LOG_WARN, s->name, "series %" PRIu64 ": %zu start array(s) of %s "
                    "not carried (type, rank or limits)", se->out_id, sa.skipped, se->file);
    if (sa.n) {
        h.arrays = (swmrbus_str){(const char *)sa.arrays.data, sa.arrays.len};
        h.n_arrays = (uint32_t)sa.n;
    }
    if (in->frames_expected) {
        h.frames = in->frames_expected;
        h.has_frames = true;
    }
    if (in->name[0]) h.name = str_of(in->name);
    h.has_origin = true;
    h.origin_sink = str_of(se->sink);
    h.origin_series = se->orig;
    h.has_origin_series = se->has_orig;
    h.origin_file = str_of(se->file);
    /* Meta is bounded so the whole start stays under max_header_bytes. */
    size_t budget = (size_t)s->cfg->limits.max_header_bytes;
    budget = budget > 2048 + strlen(se->file) ? budget - 2048 - strlen(se->file) : 0;
    if (swmrbus__sfile_meta(se->f, budget, &ml, why, sizeof why) != SWMRBUS_OK) {
        swmrbus_log(SWMRBUS_LOG_WARN, s->name, "series %" PRIu64 ": meta not read: %s",
                    se->out_id, why);
        memset(&ml, 0, sizeof ml);
    }
    if (ml.skipped)
        swmrbus_log(SWMRBUS_LOG_WARN, s->name,
                    "series %" PRIu64 ": %zu meta dataset(s) of %s not carried (type, rank or "
                    "size)", se->out_id, ml.skipped, se->file);
    swmrbus_err rc = swmrbus_header_encode(&h, ml.items, ml.n, &s->hbuf);
    if (rc == SWMRBUS_OK && s->enc) {
        /* out.protocol (issue 11): the encoder takes the header decoded
         * back, its meta the raw map (h.meta) */
        swmrbus_header h2;
        swmrbus_reason reason;
        char dwhy[160];
        swmrbus_limits lim = s->cfg->limits;
        lim.max_header_bytes = s->hbuf.len;
        swmrbus__meta_list_free(&ml);
        swmrbus_buf_free(&ds);
        if (swmrbus_header_decode(s->hbuf.data, s->hbuf.len, &lim, &h2, &reason, dwhy,
                                  sizeof dwhy) != SWMRBUS_OK) {
            swmrbus__start_arrays_free(&sa);
            snprintf(se->why, sizeof se->why, "start: %s", dwhy);
            return SWMRBUS_EINVAL;
        }
        rc = send_encoded(s, se, &h2, sa.n ? sa.parts : NULL, sa.n);
        swmrbus__start_arrays_free(&sa);
        return rc;
    }
    if (rc == SWMRBUS_OK && s->hbuf.len > s->cfg->limits.max_header_bytes && ml.n) {
        swmrbus_log(SWMRBUS_LOG_WARN, s->name, "series %" PRIu64 ": start without meta (over "
                    "limits.max_header_bytes)", se->out_id);
        rc = swmrbus_header_encode(&h, NULL, 0, &s->hbuf);
    }
    swmrbus__meta_list_free(&ml);
    swmrbus_buf_free(&ds);
    if (rc != SWMRBUS_OK) {
        swmrbus__start_arrays_free(&sa);
        snprintf(se->why, sizeof se->why, "cannot encode start: %s", swmrbus_strerror(rc));
        return SWMRBUS_EINVAL;
    }
    rc = send_msg(s, se, &s->hbuf, sa.n ? sa.parts : NULL, sa.n);
    swmrbus__start_arrays_free(&sa);
    return rc;
}

static swmrbus_err send_end(swmrbus__source *s, swmrbus__series *se)
{
    swmrbus_header h;
    base_header(se, &h, SWMRBUS_MSG_END);
    h.frames = se->sent;
    h.has_frames = true;
    if (s->enc) return send_encoded(s, se, &h, NULL, 0);
    if (swmrbus_header_encode(&h, NULL, 0, &s->hbuf) != SWMRBUS_OK) return SWMRBUS_EINVAL;
    return send_msg(s, se, &s->hbuf, NULL, 0);
}

/* ---- life cycle --------------------------------------------------------------------- */

static void finish(swmrbus__source *s, swmrbus__series *se, swmrbus__sstate state)
{
    swmrbus__src_held_free(se);
    swmrbus__sfile_close(&se->f);
    se->state = state;
    se->retry_at = 0;
    se->finished_order = ++s->finished_counter;
    release_relays(s, se);
}

/* The series cannot be served: an `end` for what went out (best effort),
 * the file closed, its relays released. */
static void fail_series(swmrbus__source *s, swmrbus__series *se, const char *why)
{
    /* why may be se->why itself: copy through a buffer of its own */
    char text[sizeof se->why];
    snprintf(text, sizeof text, "%s", why);
    snprintf(se->why, sizeof se->why, "%s", text);
    swmrbus_log(SWMRBUS_LOG_ERROR, s->name, "series %" PRIu64 " (%s): stopped after %" PRIu64
                " frames: %s", se->out_id, se->file, se->sent, text);
    if (se->start_sent && s->out && writable(s)) (void)send_end(s, se);
    finish(s, se, SWMRBUS__S_FAILED);
}

static uint64_t open_backoff_ns(unsigned tries)
{
    uint64_t ms = tries < 6 ? 10ull << tries : 500; /* 10, 20, ... 320, then 500 ms */
    return ms * MS_NS;
}

static bool try_open(swmrbus__source *s, swmrbus__series *se, uint64_t now)
{
    /* Resolved again at each try: what is opened is the file's realpath,
     * checked to lie in dirs (a symlink put there since the notification
     * is refused, the file never opened). */
    char real[PATH_MAX];
    swmrbus_err rc = swmrbus__src_dirs_check(s, se->file, true, real, s->err, sizeof s->err);
    if (rc == SWMRBUS_EINVAL) {
        swmrbus__src_bad_name(s, se->file, s->err, now);
        fail_series(s, se, s->err);
        return true;
    }
    if (rc == SWMRBUS_OK)
        rc = swmrbus__sfile_open_all(real, &s->cfg->limits, &se->f, s->err, sizeof s->err);
    if (rc == SWMRBUS_OK) {
        const swmrbus__sfile_info *in = swmrbus__sfile_get_info(se->f);
        se->state = se->closed_seen ? SWMRBUS__S_CLOSING : SWMRBUS__S_OPEN;
        se->need_refresh = true;
        se->retry_at = 0;
        char shape[64];
        int k = 0;
        for (uint32_t i = 0; i < in->fmt.ndim; i++)
            k += snprintf(shape + k, sizeof shape - (size_t)k, "%s%" PRIu64, i ? "x" : "",
                          in->fmt.shape[i]);
        swmrbus_log(SWMRBUS_LOG_INFO, s->name,
                    "following %s (sink %s, series %" PRIu64 ") as series %" PRIu64
                    " from row %" PRIu64 ": %s %s %s%s", se->file, se->sink[0] ? se->sink : "?",
                    se->orig, se->out_id, se->first, shape, swmrbus_dtype_name(in->fmt.dtype),
                    swmrbus_encoding_name(in->fmt.encoding),
                    in->direct ? "" : " (decoded: chunks cannot go out as stored)");
        return true;
    }
    if (rc == SWMRBUS_EIO && se->open_tries < OPEN_TRIES) {
        if (se->open_tries == 0 || se->open_tries == 20)
            swmrbus_log(SWMRBUS_LOG_INFO, s->name, "%s: not open yet, retrying: %s", se->file,
                        s->err);
        se->retry_at = now + open_backoff_ns(se->open_tries);
        se->open_tries++;
        return false;
    }
    fail_series(s, se, s->err);
    return true;
}

static void do_refresh(swmrbus__source *s, swmrbus__series *se, uint64_t now)
{
    uint64_t rows = 0;
    se->need_refresh = false;
    se->retry_at = 0;
    se->row_wait = false;
    if (swmrbus__sfile_refresh(se->f, &rows, s->err, sizeof s->err) != SWMRBUS_OK) {
        se->errors++;
        if (++se->refresh_fails >= REFRESH_FAILS) {
            fail_series(s, se, s->err);
            return;
        }
        if (se->refresh_fails == 1)
            swmrbus_log(SWMRBUS_LOG_WARN, s->name, "series %" PRIu64 ": %s (retrying)",
                        se->out_id, s->err);
        se->need_refresh = true;
        se->retry_at = now + 20 * MS_NS;
        return;
    }
    se->refresh_fails = 0;
    se->visible = rows;
}

/* Rows the notifications allow out now: below complete, or below N once
 * `closed` was heard; never beyond what the file shows. */
static uint64_t target_of(const swmrbus__series *se)
{
    uint64_t want = se->state == SWMRBUS__S_CLOSING ? se->frames : se->complete;
    return want < se->visible ? want : se->visible;
}

/* When the file shows fewer rows than notified, look again shortly; after
 * LAG_TRIES give up on the rest (logged) so relays are not held forever. */
static void check_lag(swmrbus__source *s, swmrbus__series *se, uint64_t now)
{
    uint64_t want = se->state == SWMRBUS__S_CLOSING ? se->frames : se->complete;
    if (want <= se->visible) {
        se->lag_tries = 0;
        return;
    }
    if (se->retry_at) return;
    if (++se->lag_tries <= LAG_TRIES) {
        se->need_refresh = true;
        se->retry_at = now + 20 * MS_NS;
        return;
    }
    swmrbus_log(SWMRBUS_LOG_WARN, s->name,
                "series %" PRIu64 ": %s shows %" PRIu64 " rows, notified %" PRIu64
                "; serving what it shows", se->out_id, se->file, se->visible, want);
    se->lag_tries = 0;
    if (se->frames > se->visible) se->frames = se->visible;
    if (se->complete > se->visible) se->complete = se->visible;
    for (swmrbus__relay *r = se->rq_head; r; r = r->next)
        if (r->complete > se->visible) r->complete = se->visible;
}

typedef enum step { STEP_IDLE, STEP_PROGRESS, STEP_BLOCKED } step;

/* Rows are read in a batch, then sent in a burst: ZeroMQ's I/O thread then
 * takes many messages per wake-up instead of one (each wake-up is a signal
 * and an epoll round, syscalls that are expensive in a VM). The batch is
 * bounded in rows and bytes; rows not sent (PUSH full) are dropped and read
 * again later, `next` only moves when a row is out. */
#define BATCH_ROWS 32
#define BATCH_BYTES ((size_t)2 << 20)

typedef swmrbus__out_row out_row;

static void out_row_close(out_row *o)
{
    zmq_msg_close(&o->payload);
    free(o->parts);
    o->parts = NULL;
}

/* Moves a read row (zmq_msg_move: a message is never copied bitwise). */
static void out_row_move(out_row *dst, out_row *src)
{
    *dst = *src;
    zmq_msg_init(&dst->payload);
    zmq_msg_move(&dst->payload, &src->payload);
    src->parts = NULL;
}

void swmrbus__src_held_free(swmrbus__series *se)
{
    for (int i = 0; i < se->n_held; i++) out_row_close(&se->held[i]);
    free(se->held);
    se->held = NULL;
    se->n_held = 0;
}

/* Reads a row of a series sent as stored chunks into a pool buffer and makes
 * o->payload a message over it (no copy; the buffer goes back to the pool
 * when ZeroMQ is done with it). The buffer takes the largest chunk a frame
 * may store (max_chunk, the bound H5Dread_chunk is held to); a compressed
 * chunk under half of that is copied into a buffer of its size instead, so
 * that messages in flight hold at most about twice their bytes. */
static swmrbus_err read_direct(swmrbus__source *s, swmrbus__series *se, uint64_t row, out_row *o,
                               size_t *size, bool *gap)
{
    size_t cap = (size_t)swmrbus__sfile_get_info(se->f)->max_chunk;
    void *buf = swmrbus__bufpool_get(s->pool, cap);
    swmrbus_err rc = SWMRBUS_ENOMEM;
    if (!buf) {
        snprintf(s->err, sizeof s->err, "out of memory for %zu bytes", cap);
        return rc;
    }
    rc = swmrbus__sfile_read_direct(se->f, row, buf, cap, size, gap, s->err, sizeof s->err);
    if (rc != SWMRBUS_OK || *gap) goto out;
    if (*size < cap / 2) {
        void *small = swmrbus__bufpool_get(s->pool, *size);
        if (small) {
            memcpy(small, buf, *size);
            swmrbus__bufpool_put(buf);
            buf = small;
        }
    }
    if ((rc = swmrbus__bufpool_msg(&o->payload, buf, *size)) != SWMRBUS_OK) {
        snprintf(s->err, sizeof s->err, "out of memory for a message");
        goto out;
    }
    buf = NULL; /* the message's now */
out:
    swmrbus__bufpool_put(buf);
    return rc;
}

/* Reads row into *o (payload, size, ts). No series state changes. *gap is
 * set when the row has no stored chunk. On error s->err says why. */
static swmrbus_err read_row(swmrbus__source *s, swmrbus__series *se, uint64_t row, out_row *o,
                            bool *gap)
{
    size_t size = 0;
    swmrbus_err rc;
    o->parts = NULL;
    if (s->pool && swmrbus__sfile_can_read_direct(se->f)) {
        rc = read_direct(s, se, row, o, &size, gap);
        if (rc != SWMRBUS_OK || *gap) return rc;
        goto check;
    }
    rc = swmrbus__sfile_row_size(se->f, row, &size, gap, s->err, sizeof s->err);
    if (rc != SWMRBUS_OK || *gap) return rc;
    if (zmq_msg_init_size(&o->payload, size) != 0) {
        snprintf(s->err, sizeof s->err, "out of memory for %zu bytes", size);
        return SWMRBUS_ENOMEM;
    }
    rc = swmrbus__sfile_read_row(se->f, row, zmq_msg_data(&o->payload), size, s->err,
                                 sizeof s->err);
check:;
    size_t n_parts = swmrbus__sfile_get_info(se->f)->n_datasets;
    const size_t *ps = swmrbus__sfile_part_sizes(se->f);
    if (rc == SWMRBUS_OK && n_parts && ps) {
        if ((o->parts = malloc(n_parts * sizeof *o->parts)))
            memcpy(o->parts, ps, n_parts * sizeof *o->parts);
        else
            rc = SWMRBUS_ENOMEM;
    }
    size_t off = 0;
    for (size_t k = 0; rc == SWMRBUS_OK && k < (n_parts ? n_parts : 1); k++) {
        const swmrbus__sfile_info *in = swmrbus__sfile_get_info(swmrbus__sfile_part(se->f, k));
        size_t len = n_parts ? o->parts[k] : size;
        char why[240];
        if (swmrbus_payload_check(&in->fmt, (const char *)zmq_msg_data(&o->payload) + off, len,
                                  why, sizeof why) != SWMRBUS_OK) {
            snprintf(s->err, sizeof s->err, "row %" PRIu64 " (dataset %zu) is not a valid %s "
                     "chunk: %s", row, k, swmrbus_encoding_name(in->fmt.encoding), why);
            rc = SWMRBUS_EINVAL;
        }
        off += len;
    }
    if (rc != SWMRBUS_OK) {
        out_row_close(o);
        return rc;
    }
    o->row = row;
    o->size = size;
    o->ts = 0;
    /* Only rows allowed out are final (a row past a hole may still come,
     * with its timestamp): the timestamp block never reaches beyond. */
    if (swmrbus__sfile_ts(se->f, row, target_of(se), &o->ts, s->err, sizeof s->err) !=
        SWMRBUS_OK) {
        swmrbus_log(SWMRBUS_LOG_WARN, s->name, "series %" PRIu64 ": %s", se->out_id, s->err);
        o->ts = 0;
    }
    return SWMRBUS_OK;
}

/* Sends one read row. Its payload is consumed (closed) in every case but
 * one: the output had no room (STEP_BLOCKED) and the row is kept (*kept,
 * the native protocol: nothing of it went out). */
static step send_out_row(swmrbus__source *s, swmrbus__series *se, out_row *o, bool *kept)
{
    *kept = false;
    swmrbus_header h;
    base_header(se, &h, SWMRBUS_MSG_FRAME);
    h.frame = o->row;
    h.ts = o->ts;
    h.has_ts = o->ts != 0;
    if (swmrbus__sfile_has_times(se->f)) { /* per-frame times (sfile_nx.c, issue 11) */
        h.has_frame_times = true;
        if (swmrbus__sfile_times(se->f, o->row, target_of(se), h.frame_times, s->err,
                                 sizeof s->err) != SWMRBUS_OK)
            swmrbus_log(SWMRBUS_LOG_WARN, s->name, "series %" PRIu64 ": %s", se->out_id, s->err);
    }
    const swmrbus__sfile_info *info = swmrbus__sfile_get_info(se->f);
    if (s->out_pub && !info->n_datasets) {
        /* A subscriber that joins late missed the start: every frame
         * carries the format (an implicit start; not for named datasets,
         * which only a start declares). */
        const swmrbus__sfile_info *in = info;
        h.format = in->fmt;
        h.has_format = true;
        if (in->name[0]) h.name = str_of(in->name);
    }
    if (swmrbus_header_encode(&h, NULL, 0, &s->hbuf) != SWMRBUS_OK) {
        out_row_close(o);
        fail_series(s, se, "cannot encode a frame header");
        return STEP_PROGRESS;
    }
    swmrbus_err rc;
    if (o->parts) {
        /* A part per dataset: slices of the row read at once (no copy). */
        size_t n = info->n_datasets, off = 0, made = 0;
        zmq_msg_t *parts = calloc(n, sizeof *parts);
        rc = parts ? SWMRBUS_OK : SWMRBUS_ENOMEM;
        for (; rc == SWMRBUS_OK && made < n; made++) {
            rc = swmrbus_msg_slice(&parts[made], &o->payload,
                                   (const char *)zmq_msg_data(&o->payload) + off, o->parts[made]);
            off += o->parts[made];
        }
        if (rc == SWMRBUS_OK)
            rc = s->enc ? send_encoded(s, se, &h, parts, n) : send_msg(s, se, &s->hbuf, parts, n);
        else if (made) made--; /* the failed slice holds nothing */
        for (size_t i = 0; parts && i < made; i++) zmq_msg_close(&parts[i]);
        free(parts);
    } else {
        rc = s->enc ? send_encoded(s, se, &h, &o->payload, 1) /* out.protocol */
                    : send_msg(s, se, &s->hbuf, &o->payload, 1);
    }
    if (rc == SWMRBUS_ETIMEDOUT && !s->enc) { /* send_msg sent nothing: keep it */
        *kept = true;
        return STEP_BLOCKED;
    }
    out_row_close(o);
    if (s->enc && rc == SWMRBUS_EINVAL) { /* the encoder cannot send this series */
        fail_series(s, se, se->why);
        return STEP_PROGRESS;
    }
    if (rc == SWMRBUS_ETIMEDOUT) return STEP_BLOCKED;
    if (rc != SWMRBUS_OK) {
        fail_series(s, se, "the output socket failed");
        return STEP_PROGRESS;
    }
    se->row_tries = 0;
    se->sent++;
    se->bytes += o->size;
    s->frames_sent++;
    s->bytes_sent += o->size;
    swmrbus_metrics_add(s->m.frames, 1);
    swmrbus_metrics_add(s->m.bytes, o->size);
    s->frames_since++;
    s->bytes_since += o->size;
    se->next = o->row + 1;
    return STEP_PROGRESS;
}

/* Sends the batch in order. When the output is full, the rows not sent are
 * held by the series for the next round (native protocol; with an encoder
 * they are dropped and read again later). STEP_BLOCKED when the output was
 * full, STEP_PROGRESS otherwise (the series may have failed: check
 * active()). */
static step send_batch(swmrbus__source *s, swmrbus__series *se, out_row *b, int *n)
{
    step st = STEP_PROGRESS;
    bool kept = false;
    int i = 0;
    while (i < *n && st == STEP_PROGRESS && active(se)) {
        st = send_out_row(s, se, &b[i], &kept);
        if (!kept) i++;
    }
    if (kept && i < *n && active(se) && !se->held &&
        (se->held = malloc(BATCH_ROWS * sizeof *se->held))) {
        for (; i < *n; i++) {
            out_row_move(&se->held[se->n_held++], &b[i]);
            zmq_msg_close(&b[i].payload); /* empty now */
        }
    }
    for (; i < *n; i++) out_row_close(&b[i]);
    *n = 0;
    return st;
}

/* Row se->next could not be read as a frame (rc, or *gap): skips it as a
 * gap, or waits to look again. */
static step row_not_read(swmrbus__source *s, swmrbus__series *se, uint64_t now, swmrbus_err rc,
                         bool gap)
{
    uint64_t row = se->next;
    if (rc == SWMRBUS_OK && gap) {
        /* Below complete a row must be there: the index may lag, look
         * again a few times before calling it a gap. */
        if (se->state != SWMRBUS__S_CLOSING && row < se->complete && se->row_tries < ROW_TRIES) {
            se->row_tries++;
            se->row_wait = true;
            se->need_refresh = true;
            se->retry_at = now + 20 * MS_NS;
            return STEP_IDLE;
        }
        if (se->state != SWMRBUS__S_CLOSING && row < se->complete)
            swmrbus_log(SWMRBUS_LOG_WARN, s->name, "series %" PRIu64 ": row %" PRIu64
                        " below complete has no chunk in %s; skipped", se->out_id, row, se->file);
        se->row_tries = 0;
        se->gaps++;
        se->next++;
        return STEP_PROGRESS;
    }
    se->errors++;
    /* An I/O error may pass (a torn read); a bad chunk will not. */
    if (rc == SWMRBUS_EIO && se->row_tries < 5) {
        se->row_tries++;
        se->row_wait = true;
        se->need_refresh = true;
        se->retry_at = now + 20 * MS_NS;
        return STEP_IDLE;
    }
    /* Logged at the 1st, 2nd, 4th, 8th... error of the series. */
    if ((se->errors & (se->errors - 1)) == 0)
        swmrbus_log(SWMRBUS_LOG_ERROR, s->name, "series %" PRIu64 ": row %" PRIu64
                    " skipped (%" PRIu64 " errors so far): %s", se->out_id, row,
                    se->errors, s->err);
    se->row_tries = 0;
    se->gaps++;
    se->next++;
    return STEP_PROGRESS;
}

/* Sends the rows [next, target) it can this round (at most FRAME_BUDGET
 * looked at), skipping gaps. */
static step send_rows(swmrbus__source *s, swmrbus__series *se, uint64_t target, uint64_t now)
{
    out_row b[BATCH_ROWS];
    int n = 0;
    size_t bytes = 0;
    step result = STEP_IDLE;
    uint64_t row = se->next;
    /* Rows held from a round that found the output full go first. */
    for (int i = 0; i < se->n_held; i++) {
        out_row_move(&b[n], &se->held[i]);
        zmq_msg_close(&se->held[i].payload); /* empty now */
        bytes += b[n].size;
        n++;
        row++;
    }
    se->n_held = 0;
    free(se->held);
    se->held = NULL;
    if (n) { /* sent before any row is read: the batch may be full */
        step st = send_batch(s, se, b, &n);
        bytes = 0;
        if (!active(se)) return STEP_PROGRESS;
        if (st == STEP_BLOCKED) return STEP_BLOCKED;
        result = STEP_PROGRESS;
    }
    for (int k = 0; k < FRAME_BUDGET && row < target; k++) {
        bool gap = false;
        swmrbus_err rc = read_row(s, se, row, &b[n], &gap);
        if (rc == SWMRBUS_OK && !gap) {
            bytes += b[n].size;
            n++;
            row++;
            if (n < BATCH_ROWS && bytes < BATCH_BYTES) continue;
            step st = send_batch(s, se, b, &n);
            bytes = 0;
            if (!active(se)) return STEP_PROGRESS;
            if (st == STEP_BLOCKED) return STEP_BLOCKED;
            result = STEP_PROGRESS;
            continue;
        }
        /* The rows before this one go first, so it is se->next. */
        if (n) {
            step st = send_batch(s, se, b, &n);
            bytes = 0;
            if (!active(se)) return STEP_PROGRESS;
            if (st == STEP_BLOCKED) return STEP_BLOCKED;
            result = STEP_PROGRESS;
        }
        step st = row_not_read(s, se, now, rc, gap);
        if (st != STEP_PROGRESS) break; /* a retry is due later */
        result = STEP_PROGRESS;
        row = se->next;
    }
    if (n) {
        step st = send_batch(s, se, b, &n);
        if (!active(se)) return STEP_PROGRESS;
        if (st == STEP_BLOCKED) return STEP_BLOCKED;
        result = STEP_PROGRESS;
    }
    return result;
}

/* One round for one series. */
static step series_step(swmrbus__source *s, swmrbus__series *se, uint64_t now)
{
    step result = STEP_IDLE;
    if (se->state == SWMRBUS__S_OPENING) {
        if (se->retry_at && now < se->retry_at) return STEP_IDLE;
        if (!try_open(s, se, now)) return STEP_IDLE;
        result = STEP_PROGRESS;
        if (!active(se)) return result;
    }
    if (se->need_refresh && (!se->retry_at || now >= se->retry_at)) {
        do_refresh(s, se, now);
        if (!active(se)) return STEP_PROGRESS;
    }
    if (!se->start_sent) {
        if (!writable(s)) return STEP_BLOCKED;
        swmrbus_err rc = send_start(s, se);
        if (rc == SWMRBUS_ETIMEDOUT) return STEP_BLOCKED;
        if (rc != SWMRBUS_OK) {
            fail_series(s, se, se->why[0] ? se->why : "cannot send start");
            return STEP_PROGRESS;
        }
        se->start_sent = true;
        result = STEP_PROGRESS;
    }
    check_lag(s, se, now);
    uint64_t target = target_of(se);
    /* No ZMQ_EVENTS check per row: it costs ZeroMQ a getpid and a poll
     * syscall each time. A full PUSH shows as EAGAIN on a row's first
     * part, which sends nothing (the row is read again next time). */
    if (se->next < target && !se->row_wait) {
        step st = send_rows(s, se, target, now);
        if (!active(se)) return STEP_PROGRESS;
        if (st != STEP_IDLE) result = st;
    }
    release_relays(s, se);
    if (se->state == SWMRBUS__S_CLOSING && se->next >= target && !se->row_wait &&
        se->frames <= se->visible) {
        if (!writable(s)) return STEP_BLOCKED;
        swmrbus_err rc = send_end(s, se);
        if (rc == SWMRBUS_ETIMEDOUT) return STEP_BLOCKED;
        if (rc != SWMRBUS_OK) {
            fail_series(s, se, "cannot send end");
            return STEP_PROGRESS;
        }
        /* Closed before `closed` is relayed: in the sink's process our
         * handle keeps the file open for writing until it goes. */
        finish(s, se, SWMRBUS__S_CLOSED);
        swmrbus_log(SWMRBUS_LOG_INFO, s->name,
                    "series %" PRIu64 " ended (%s): %" PRIu64 " frames sent, %" PRIu64
                    " gaps skipped", se->out_id, se->file, se->sent, se->gaps);
        return STEP_PROGRESS;
    }
    if (result == STEP_PROGRESS && se->next < target) return STEP_PROGRESS;
    return result == STEP_BLOCKED ? STEP_BLOCKED : (result == STEP_PROGRESS ? STEP_PROGRESS
                                                                             : STEP_IDLE);
}

/* ---- Prometheus metrics ----------------------------------------------------------- */

void swmrbus__src_metrics_init(swmrbus__source *s)
{
    const char *name = s->name;
    int bad = 0;
#define COUNTER(h, n, l, v, help) \
    bad |= swmrbus_metrics_counter(n, help, name, l, v, &(h)) != SWMRBUS_OK
#define GAUGE(h, n, help) bad |= swmrbus_metrics_gauge(n, help, name, NULL, NULL, &(h)) != SWMRBUS_OK
    COUNTER(s->m.frames, "swmrbus_source_frames_sent_total", NULL, NULL,
            "Frames the source sent on its output.");
    COUNTER(s->m.bytes, "swmrbus_source_bytes_sent_total", NULL, NULL,
            "Payload bytes of the frames the source sent.");
    GAUGE(s->m.lag, "swmrbus_source_lag_frames",
          "Rows notified (flushed N) and not yet sent, over the series followed.");
    GAUGE(s->m.open, "swmrbus_open_series", "Series open (a source: series followed).");
    COUNTER(s->m.notifications, "swmrbus_notifications_total", NULL, NULL,
            "Notifications published (every topic; a source counts those it relays).");
    COUNTER(s->m.dropped_pub, "swmrbus_dropped_total", "reason", "pub_hwm",
            "Messages dropped: frames a PUB subscriber at its high-water mark lost "
            "(pub_hwm), relays not kept (relay_queue).");
    COUNTER(s->m.dropped_relay, "swmrbus_dropped_total", "reason", "relay_queue",
            "Messages dropped: frames a PUB subscriber at its high-water mark lost "
            "(pub_hwm), relays not kept (relay_queue).");
    for (int r = 0; r < SWMRBUS_R_COUNT; r++)
        COUNTER(s->m.rejected[r], "swmrbus_rejected_total", "reason",
                swmrbus_reason_name((swmrbus_reason)r),
                "Messages rejected, by reason (as in status).");
#undef COUNTER
#undef GAUGE
    if (bad) swmrbus_log(SWMRBUS_LOG_WARN, name, "some metrics could not be registered");
}

/* Brings the metrics up to the status counters that change elsewhere
 * (source.c, relay.c): called after every round of work. */
static void metrics_sync(swmrbus__source *s)
{
    uint64_t lag = 0;
    int64_t open = 0;
    for (size_t i = 0; i < s->n_slots; i++) {
        const swmrbus__series *se = &s->slots[i];
        if (!active(se)) continue;
        open++;
        if (se->frames > se->next) lag += se->frames - se->next;
    }
    swmrbus_metrics_set(s->m.lag, (int64_t)lag);
    swmrbus_metrics_set(s->m.open, open);
    swmrbus_metrics_add(s->m.notifications, s->relayed - s->m.relayed_n);
    s->m.relayed_n = s->relayed;
    swmrbus_metrics_add(s->m.dropped_pub, s->dropped - s->m.dropped_n);
    s->m.dropped_n = s->dropped;
    swmrbus_metrics_add(s->m.dropped_relay, s->relays_dropped - s->m.relays_dropped_n);
    s->m.relays_dropped_n = s->relays_dropped;
    for (int r = 0; r < SWMRBUS_R_COUNT; r++) {
        swmrbus_metrics_add(s->m.rejected[r], s->rejected[r] - s->m.rejected_n[r]);
        s->m.rejected_n[r] = s->rejected[r];
    }
}

bool swmrbus__src_work(swmrbus__source *s, uint64_t now, bool *blocked, uint64_t *due,
                       bool *pending)
{
    bool progress = false;
    *blocked = false;
    *pending = false;
    *due = UINT64_MAX;
    for (size_t i = 0; i < s->n_slots; i++) {
        swmrbus__series *se = &s->slots[i];
        if (!active(se)) continue;
        step st = series_step(s, se, now);
        if (st == STEP_PROGRESS) progress = true;
        if (st == STEP_BLOCKED) *blocked = true;
        if (!active(se)) continue;
        if (se->retry_at && se->retry_at < *due) *due = se->retry_at;
        bool work = se->state == SWMRBUS__S_OPENING || se->state == SWMRBUS__S_CLOSING ||
                    !se->start_sent || se->next < target_of(se) || se->rq_head ||
                    se->need_refresh;
        if (work) *pending = true;
    }
    metrics_sync(s);
    return progress;
}

/* ---- notifications ------------------------------------------------------------------ */

static bool usable_file(swmrbus_str f)
{
    return f.ptr && f.len > 1 && f.len < PATH_MAX && f.ptr[0] == '/' &&
           !memchr(f.ptr, '\0', f.len);
}

/* A notification naming a file outside dirs is refused (counted, reported,
 * not relayed) and the file never opened. */
static bool file_in_dirs(swmrbus__source *s, swmrbus_str file, uint64_t now)
{
    char path[PATH_MAX], real[PATH_MAX], why[PATH_MAX + 64];
    memcpy(path, file.ptr, file.len);
    path[file.len] = '\0';
    if (swmrbus__src_dirs_check(s, path, false, real, why, sizeof why) == SWMRBUS_OK) return true;
    swmrbus__src_bad_name(s, path, why, now);
    return false;
}

static void reject(swmrbus__source *s, swmrbus_reason r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void reject(swmrbus__source *s, swmrbus_reason r, const char *fmt, ...)
{
    s->rejected[r]++;
    uint64_t now = swmrbus_mono_ns();
    if (now - s->last_reject_log_ns < 1000 * MS_NS && s->last_reject_log_ns) return;
    s->last_reject_log_ns = now;
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    swmrbus_log(SWMRBUS_LOG_WARN, s->name, "notification not followed (%s): %s",
                swmrbus_reason_name(r), text);
}

void swmrbus__src_on_notice(swmrbus__source *s, const swmrbus_notice *n, const void *map,
                            size_t map_len, uint64_t now)
{
    s->notices++;
    swmrbus__src_seq_check(s, n, now);
    swmrbus_str sink = n->sink.ptr ? n->sink : (swmrbus_str){"", 0};
    bool series_topic = n->topic == SWMRBUS_NOTICE_OPEN || n->topic == SWMRBUS_NOTICE_FLUSHED ||
                        n->topic == SWMRBUS_NOTICE_CLOSED;
    if (series_topic && usable_file(n->file) && !file_in_dirs(s, n->file, now)) return;
    if (!series_topic || !s->out) {
        /* Errors, and everything when there is no frame output, go on at once. */
        swmrbus__src_relay_now(s, n->topic, map, map_len);
        return;
    }
    if (!usable_file(n->file) || sink.len > SWMRBUS_NAME_MAX) {
        reject(s, SWMRBUS_R_BAD_HEADER, "%s without a usable absolute file path or sink name",
               swmrbus_topic_name(n->topic));
        swmrbus__src_relay_now(s, n->topic, map, map_len);
        return;
    }
    uint64_t nframes = n->has_frames ? n->frames : 0;
    uint64_t ncomplete = n->has_complete ? n->complete : nframes;
    if (ncomplete > nframes) ncomplete = nframes;
    if (nframes > s->cfg->limits.max_frames) {
        reject(s, SWMRBUS_R_LIMIT, "%.*s: N %" PRIu64 " is over limits.max_frames",
               (int)n->file.len, n->file.ptr, nframes);
        swmrbus__src_relay_now(s, n->topic, map, map_len);
        return;
    }
    swmrbus__series *se = find(s, sink, n->file);
    if (se && !active(se)) {
        /* Finished here; only an `open` (a new file of that name) starts
         * it again. */
        if (n->topic != SWMRBUS_NOTICE_OPEN) {
            swmrbus__src_relay_now(s, n->topic, map, map_len);
            return;
        }
        se->used = false;
        se = NULL;
    }
    if (!se) {
        uint64_t first = 0;
        if (s->cfg->from == SWMRBUS_FROM_LATEST && n->topic != SWMRBUS_NOTICE_OPEN) {
            if (n->topic == SWMRBUS_NOTICE_CLOSED) {
                /* from: latest, and the series is over: nothing to send. */
                swmrbus__src_relay_now(s, n->topic, map, map_len);
                return;
            }
            first = nframes;
        }
        if (!(se = new_slot(s))) {
            s->refused++;
            reject(s, SWMRBUS_R_LIMIT, "%.*s: %" PRIu64 " series are followed "
                   "(limits.max_open_series)", (int)n->file.len, n->file.ptr,
                   s->cfg->limits.max_open_series);
            swmrbus__src_relay_now(s, n->topic, map, map_len);
            return;
        }
        se->used = true;
        se->state = SWMRBUS__S_OPENING;
        memcpy(se->sink, sink.ptr, sink.len);
        se->sink[sink.len] = '\0';
        memcpy(se->file, n->file.ptr, n->file.len);
        se->file[n->file.len] = '\0';
        se->has_orig = n->has_series;
        se->orig = n->series;
        se->out_id = pick_id(s, n->has_series, n->series);
        se->first = se->next = first;
        if (n->topic != SWMRBUS_NOTICE_OPEN)
            swmrbus_log(SWMRBUS_LOG_INFO, s->name, "%s first heard of mid-way (N %" PRIu64
                        "): serving it from row %" PRIu64 " (from: %s)", se->file, nframes,
                        first, s->cfg->from == SWMRBUS_FROM_LATEST ? "latest" : "start");
    }
    se->notices++;
    se->last_notice_ns = now;
    if (se->stale_logged) {
        swmrbus_log(SWMRBUS_LOG_INFO, s->name, "series %" PRIu64 ": notifications again",
                    se->out_id);
        se->stale_logged = false;
    }
    if (nframes > se->frames) se->frames = nframes;
    if (ncomplete > se->complete) se->complete = ncomplete;
    switch (n->topic) {
    case SWMRBUS_NOTICE_FLUSHED:
        se->flushes++;
        if (n->has_t) se->last_flush_t = n->t;
        se->need_refresh = true;
        se->lag_tries = 0;
        queue_relay(s, se, n->topic, map, map_len, ncomplete, false);
        break;
    case SWMRBUS_NOTICE_CLOSED:
        se->closed_seen = true;
        se->need_refresh = true;
        se->lag_tries = 0;
        if (se->state == SWMRBUS__S_OPEN) se->state = SWMRBUS__S_CLOSING;
        queue_relay(s, se, n->topic, map, map_len, nframes, true);
        break;
    default: /* open */
        queue_relay(s, se, n->topic, map, map_len, 0, false);
        break;
    }
    release_relays(s, se);
}

/* ---- timers and the end --------------------------------------------------------------- */

void swmrbus__src_tick(swmrbus__source *s, uint64_t now)
{
    swmrbus__src_dirs_tick(s, now);
    for (size_t i = 0; i < s->n_slots; i++) {
        swmrbus__series *se = &s->slots[i];
        if (!active(se) || se->stale_logged || se->state == SWMRBUS__S_CLOSING) continue;
        if (now - se->last_notice_ns < s->cfg->stale_ms * MS_NS) continue;
        se->stale_logged = true;
        swmrbus_log(SWMRBUS_LOG_WARN, s->name,
                    "series %" PRIu64 " (%s) is stale: no notification for %" PRIu64
                    " ms; %" PRIu64 " frames sent, still serving what was notified",
                    se->out_id, se->file, (uint64_t)((now - se->last_notice_ns) / MS_NS), se->sent);
    }
}

void swmrbus__src_close_all(swmrbus__source *s)
{
    for (size_t i = 0; i < s->n_slots; i++) {
        swmrbus__series *se = &s->slots[i];
        if (!se->used) continue;
        if (active(se)) {
            if (se->start_sent)
                swmrbus_log(SWMRBUS_LOG_INFO, s->name,
                            "series %" PRIu64 " (%s): stopped following at row %" PRIu64
                            " (%" PRIu64 " frames sent, no end: not closed upstream)",
                            se->out_id, se->file, se->next, se->sent);
            release_relays(s, se);
            swmrbus__src_held_free(se);
            swmrbus__sfile_close(&se->f);
            se->state = SWMRBUS__S_CLOSED;
        }
        /* Relays whose frames did not go out are not sent: a relay always
         * means "the frames below its complete were sent". */
        while (se->rq_head) {
            swmrbus__relay *r = se->rq_head;
            se->rq_head = r->next;
            relay_free(s, se, r);
            s->relays_dropped++;
        }
        se->rq_tail = NULL;
    }
    metrics_sync(s);
}
