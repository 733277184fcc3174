/* stats.c — the sink's counters and the status reply. */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "pack.h"
#include "sink_internal.h"
#include "stats.h"

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
    msgpack_pack_map(&pk, 10);
    swmrbus__pack_str(&pk, "ok");
    msgpack_pack_true(&pk);
    swmrbus__pack_str(&pk, "name");
    swmrbus__pack_str(&pk, name);
    swmrbus__pack_str(&pk, "kind");
    swmrbus__pack_str(&pk, kind);
    swmrbus__pack_str(&pk, "uptime_s");
    msgpack_pack_double(&pk, (double)(swmrbus_mono_ns() - s->start_ns) / 1e9);
    swmrbus__pack_str(&pk, "series");
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < s->cap; i++) {
        const swmrbus__series_stats *e = &s->ents[i];
        if (!e->used) continue;
        msgpack_pack_map(&pk, e->last_flush_t ? 15 : 14);
        swmrbus__pack_str(&pk, "series"); msgpack_pack_uint64(&pk, e->series);
        swmrbus__pack_str(&pk, "file"); swmrbus__pack_str(&pk, e->file);
        swmrbus__pack_str(&pk, "received"); msgpack_pack_uint64(&pk, e->received);
        swmrbus__pack_str(&pk, "written"); msgpack_pack_uint64(&pk, e->written);
        swmrbus__pack_str(&pk, "gaps"); msgpack_pack_uint64(&pk, e->gaps);
        swmrbus__pack_str(&pk, "duplicates"); msgpack_pack_uint64(&pk, e->duplicates);
        swmrbus__pack_str(&pk, "restarts"); msgpack_pack_uint64(&pk, e->restarts);
        swmrbus__pack_str(&pk, "rejected"); swmrbus__pack_rejected(&pk, e->rejected);
        swmrbus__pack_str(&pk, "bytes"); msgpack_pack_uint64(&pk, e->bytes);
        swmrbus__pack_str(&pk, "flushes"); msgpack_pack_uint64(&pk, e->flushes);
        swmrbus__pack_str(&pk, "frames"); msgpack_pack_uint64(&pk, e->frames);
        swmrbus__pack_str(&pk, "complete"); msgpack_pack_uint64(&pk, e->complete);
        swmrbus__pack_str(&pk, "state"); swmrbus__pack_str(&pk, swmrbus__state_name(e->state));
        swmrbus__pack_str(&pk, "dataset"); swmrbus__pack_str(&pk, SWMRBUS_DATASET_PATH);
        if (e->last_flush_t) {
            swmrbus__pack_str(&pk, "last_flush_t");
            msgpack_pack_uint64(&pk, e->last_flush_t);
        }
    }
    swmrbus__pack_str(&pk, "rejected");
    swmrbus__pack_rejected(&pk, s->rejected);
    uint64_t total = 0;
    for (int i = 0; i < SWMRBUS_R_COUNT; i++) total += s->rejected[i];
    swmrbus__pack_str(&pk, "rejected_total");
    msgpack_pack_uint64(&pk, total);
    swmrbus__pack_str(&pk, "slots_freed");
    msgpack_pack_map(&pk, 2);
    swmrbus__pack_str(&pk, "failed"); msgpack_pack_uint64(&pk, s->slots_freed_failed);
    swmrbus__pack_str(&pk, "idle"); msgpack_pack_uint64(&pk, s->slots_freed_idle);
    swmrbus__pack_str(&pk, "memory_bound_bytes");
    msgpack_pack_uint64(&pk, s->mem.bound_bytes);
    swmrbus__pack_str(&pk, "memory");
    msgpack_pack_map(&pk, 8);
    swmrbus__pack_str(&pk, "max_memory_bytes"); msgpack_pack_uint64(&pk, s->max_memory_bytes);
    swmrbus__pack_str(&pk, "queue_bytes"); msgpack_pack_uint64(&pk, s->mem.queue_bytes);
    swmrbus__pack_str(&pk, "per_sender_bytes"); msgpack_pack_uint64(&pk, s->mem.per_sender_bytes);
    swmrbus__pack_str(&pk, "senders"); msgpack_pack_uint32(&pk, s->mem.senders);
    swmrbus__pack_str(&pk, "max_message_bytes"); msgpack_pack_uint64(&pk, s->mem.max_msg_bytes);
    swmrbus__pack_str(&pk, "max_part_bytes"); msgpack_pack_int64(&pk, s->mem.max_part_bytes);
    swmrbus__pack_str(&pk, "in_hwm"); msgpack_pack_int(&pk, s->mem.rcvhwm);
    swmrbus__pack_str(&pk, "in_rcvbuf"); msgpack_pack_int(&pk, s->mem.rcvbuf);
    pthread_mutex_unlock(&s->mu);
    return out->data != NULL;
}
