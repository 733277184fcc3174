/* stats.c — the sink's counters and the status reply. */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "swmrbus/pack.h"
#include "swmrbus/curve.h"
#include "sink_internal.h"
#include "stats.h"
#include "swmrbus/log.h"

const char *swmrbus__state_name(swmrbus__series_state s)
{
    switch (s) {
    case SWMRBUS__OPEN: return "open";
    case SWMRBUS__LINGERING: return "lingering";
    case SWMRBUS__CLOSED: return "closed";
    case SWMRBUS__FAILED: return "failed";
    }
    return "?";
}

bool swmrbus__stats_init(swmrbus__stats *s, size_t cap)
{
    memset(s, 0, sizeof *s);
    s->ents = calloc(cap, sizeof *s->ents);
    if (!s->ents) return false;
    s->cap = cap;
    s->start_ns = swmrbus_mono_ns();
    pthread_mutex_init(&s->mu, NULL);
    return true;
}

void swmrbus__stats_destroy(swmrbus__stats *s)
{
    if (!s->ents) return;
    for (size_t i = 0; i < s->cap; i++) free(s->ents[i].file);
    free(s->ents);
    s->ents = NULL;
    pthread_mutex_destroy(&s->mu);
}

void swmrbus__stats_lock(swmrbus__stats *s) { pthread_mutex_lock(&s->mu); }
void swmrbus__stats_unlock(swmrbus__stats *s) { pthread_mutex_unlock(&s->mu); }

swmrbus__series_stats *swmrbus__stats_add(swmrbus__stats *s, uint64_t series, const char *file)
{
    char *copy = strdup(file);
    if (!copy) return NULL;
    swmrbus__series_stats *e = NULL;
    pthread_mutex_lock(&s->mu);
    for (size_t i = 0; i < s->cap && !e; i++)
        if (!s->ents[i].used) e = &s->ents[i];
    for (size_t i = 0; i < s->cap && !e; i++) {
        swmrbus__series_stats *c = &s->ents[i];
        if (!c->closed_order) continue; /* still holds a slot */
        if (!e || c->closed_order < e->closed_order) e = c;
    }
    if (e) {
        free(e->file);
        memset(e, 0, sizeof *e);
        e->used = true;
        e->series = series;
        e->file = copy;
        copy = NULL;
    }
    pthread_mutex_unlock(&s->mu);
    free(copy);
    return e;
}

void swmrbus__stats_reject(swmrbus__stats *s, swmrbus__series_stats *e, swmrbus_reason r)
{
    if ((unsigned)r >= SWMRBUS_R_COUNT) return;
    pthread_mutex_lock(&s->mu);
    s->rejected[r]++;
    if (e) e->rejected[r]++;
    pthread_mutex_unlock(&s->mu);
    swmrbus_metrics_add(s->m.rejected[r], 1);
}

/* ---- Prometheus metrics ------------------------------------------------------ */

/* Upper bounds of the frame→flushed latency buckets, seconds. */
static const double latency_bounds[] = {0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                        0.1,    0.25,  0.5,    1,     2.5,  5,     10};

void swmrbus__stats_metrics(swmrbus__stats *s, const char *name)
{
    swmrbus__sink_metrics *m = &s->m;
    int bad = 0;
#define COUNTER(h, n, help) bad |= swmrbus_metrics_counter(n, help, name, NULL, NULL, &(h)) != SWMRBUS_OK
#define GAUGE(h, n, help) bad |= swmrbus_metrics_gauge(n, help, name, NULL, NULL, &(h)) != SWMRBUS_OK
    COUNTER(m->received, "swmrbus_frames_received_total",
            "Frames taken for an open series (written, duplicate or failed to write).");
    COUNTER(m->written, "swmrbus_frames_written_total", "Frames written to a file.");
    COUNTER(m->bytes, "swmrbus_bytes_written_total",
            "Payload bytes of the frames written (as received: compressed stays compressed).");
    COUNTER(m->duplicates, "swmrbus_duplicate_frames_total",
            "Frames received again for a row already written (not written twice).");
    COUNTER(m->flushes, "swmrbus_flushes_total", "Flushes of a series' file (H5Fflush).");
    COUNTER(m->notifications, "swmrbus_notifications_total",
            "Notifications published (every topic; a source counts those it relays).");
    GAUGE(m->queue, "swmrbus_queue_bytes",
          "Bytes received and waiting for the writer (bounded by limits.max_queue_bytes).");
    GAUGE(m->open, "swmrbus_open_series", "Series open (a source: series followed).");
    for (int r = 0; r < SWMRBUS_R_COUNT; r++)
        bad |= swmrbus_metrics_counter("swmrbus_rejected_total",
                                       "Messages rejected, by reason (as in status).", name,
                                       "reason", swmrbus_reason_name((swmrbus_reason)r),
                                       &m->rejected[r]) != SWMRBUS_OK;
    bad |= swmrbus_metrics_histogram(
               "swmrbus_flush_latency_seconds",
               "Time from a frame's receipt to the flush (and flushed notification) covering it.",
               name, latency_bounds, sizeof latency_bounds / sizeof latency_bounds[0], 1e-9,
               &m->latency) != SWMRBUS_OK;
#undef COUNTER
#undef GAUGE
    if (bad) swmrbus_log(SWMRBUS_LOG_WARN, name, "some metrics could not be registered");
}

#define LAT_RES_NS 50000ull /* 50 us */

void swmrbus__lat_add(swmrbus__lat_pending *p, uint64_t recv_ns)
{
    if (p->used && recv_ns - p->t[p->used - 1] < LAT_RES_NS) {
        p->n[p->used - 1]++;
        return;
    }
    if (p->used == SWMRBUS__LAT_GROUPS) {
        /* Full: the two neighbours closest in time become one group with
         * the older receipt (the smallest overstatement possible). */
        unsigned k = 0;
        for (unsigned i = 1; i + 1 < p->used; i++)
            if (p->t[i + 1] - p->t[i] < p->t[k + 1] - p->t[k]) k = i;
        p->n[k] += p->n[k + 1];
        memmove(&p->t[k + 1], &p->t[k + 2], (p->used - k - 2) * sizeof p->t[0]);
        memmove(&p->n[k + 1], &p->n[k + 2], (p->used - k - 2) * sizeof p->n[0]);
        p->used--;
    }
    p->t[p->used] = recv_ns;
    p->n[p->used] = 1;
    p->used++;
}

void swmrbus__lat_flushed(swmrbus__lat_pending *p, swmrbus_metric *h, uint64_t now_ns)
{
    for (unsigned i = 0; i < p->used; i++)
        swmrbus_metrics_observe(h, now_ns > p->t[i] ? now_ns - p->t[i] : 0, p->n[i]);
    memset(p, 0, sizeof *p);
}

bool swmrbus__stats_encode(swmrbus__stats *s, const char *name, const char *kind,
                           swmrbus_buf *out)
{
    out->len = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, swmrbus_buf_write);
    pthread_mutex_lock(&s->mu);
    size_t n = 0;
    for (size_t i = 0; i < s->cap; i++) n += s->ents[i].used;
    swmrbus_pack_status_head(&pk, name, kind, swmrbus_mono_ns() - s->start_ns,
                             8); /* the keys below */
    swmrbus_pack_kv_u64(&pk, "auth_denied", swmrbus_auth_denied(name)); /* CURVE */
    swmrbus_pack_cstr(&pk, "series");
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < s->cap; i++) {
        const swmrbus__series_stats *e = &s->ents[i];
        if (!e->used) continue;
        msgpack_pack_map(&pk, e->last_flush_t ? 15 : 14);
        swmrbus_pack_cstr(&pk, "series"); msgpack_pack_uint64(&pk, e->series);
        swmrbus_pack_cstr(&pk, "file"); swmrbus_pack_cstr(&pk, e->file);
        swmrbus_pack_cstr(&pk, "received"); msgpack_pack_uint64(&pk, e->received);
        swmrbus_pack_cstr(&pk, "written"); msgpack_pack_uint64(&pk, e->written);
        swmrbus_pack_cstr(&pk, "gaps"); msgpack_pack_uint64(&pk, e->gaps);
        swmrbus_pack_cstr(&pk, "duplicates"); msgpack_pack_uint64(&pk, e->duplicates);
        swmrbus_pack_cstr(&pk, "restarts"); msgpack_pack_uint64(&pk, e->restarts);
        swmrbus_pack_cstr(&pk, "rejected"); swmrbus_pack_rejected(&pk, e->rejected);
        swmrbus_pack_cstr(&pk, "bytes"); msgpack_pack_uint64(&pk, e->bytes);
        swmrbus_pack_cstr(&pk, "flushes"); msgpack_pack_uint64(&pk, e->flushes);
        swmrbus_pack_cstr(&pk, "frames"); msgpack_pack_uint64(&pk, e->frames);
        swmrbus_pack_cstr(&pk, "complete"); msgpack_pack_uint64(&pk, e->complete);
        swmrbus_pack_cstr(&pk, "state"); swmrbus_pack_cstr(&pk, swmrbus__state_name(e->state));
        swmrbus_pack_cstr(&pk, "dataset"); swmrbus_pack_cstr(&pk, SWMRBUS_DATASET_PATH);
        if (e->last_flush_t) {
            swmrbus_pack_cstr(&pk, "last_flush_t");
            msgpack_pack_uint64(&pk, e->last_flush_t);
        }
    }
    swmrbus_pack_cstr(&pk, "rejected");
    swmrbus_pack_rejected(&pk, s->rejected);
    uint64_t total = 0;
    for (int i = 0; i < SWMRBUS_R_COUNT; i++) total += s->rejected[i];
    swmrbus_pack_cstr(&pk, "rejected_total");
    msgpack_pack_uint64(&pk, total);
    swmrbus_pack_cstr(&pk, "slots_freed");
    msgpack_pack_map(&pk, 2);
    swmrbus_pack_cstr(&pk, "failed"); msgpack_pack_uint64(&pk, s->slots_freed_failed);
    swmrbus_pack_cstr(&pk, "idle"); msgpack_pack_uint64(&pk, s->slots_freed_idle);
    swmrbus_pack_kv_u64(&pk, "late_keys", s->late_keys);
    swmrbus_pack_cstr(&pk, "memory_bound_bytes");
    msgpack_pack_uint64(&pk, s->mem.bound_bytes);
    swmrbus_pack_cstr(&pk, "memory");
    msgpack_pack_map(&pk, 8);
    swmrbus_pack_cstr(&pk, "max_memory_bytes"); msgpack_pack_uint64(&pk, s->max_memory_bytes);
    swmrbus_pack_cstr(&pk, "queue_bytes"); msgpack_pack_uint64(&pk, s->mem.queue_bytes);
    swmrbus_pack_cstr(&pk, "per_sender_bytes"); msgpack_pack_uint64(&pk, s->mem.per_sender_bytes);
    swmrbus_pack_cstr(&pk, "senders"); msgpack_pack_uint32(&pk, s->mem.senders);
    swmrbus_pack_cstr(&pk, "max_message_bytes"); msgpack_pack_uint64(&pk, s->mem.max_msg_bytes);
    swmrbus_pack_cstr(&pk, "max_part_bytes"); msgpack_pack_int64(&pk, s->mem.max_part_bytes);
    swmrbus_pack_cstr(&pk, "in_hwm"); msgpack_pack_int(&pk, s->mem.rcvhwm);
    swmrbus_pack_cstr(&pk, "in_rcvbuf"); msgpack_pack_int(&pk, s->mem.rcvbuf);
    pthread_mutex_unlock(&s->mu);
    return out->data != NULL;
}
