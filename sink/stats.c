/* stats.c — the sink's counters and the status reply. */
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

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
        if (c->state != SWMRBUS__CLOSED) continue;
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

static void pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

static void pack_rejected(msgpack_packer *pk, const uint64_t *r)
{
    size_t n = 0;
    for (int i = 0; i < SWMRBUS_R_COUNT; i++) n += r[i] != 0;
    msgpack_pack_map(pk, n);
    for (int i = 0; i < SWMRBUS_R_COUNT; i++) {
        if (!r[i]) continue;
        pack_str(pk, swmrbus_reason_name((swmrbus_reason)i));
        msgpack_pack_uint64(pk, r[i]);
    }
}

static int buf_write(void *data, const char *p, size_t len)
{
    swmrbus_buf *b = data;
    if (b->len + len > b->cap) {
        size_t cap = b->cap ? b->cap : 1024;
        while (cap < b->len + len) cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d) return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    return 0;
}

bool swmrbus__stats_encode(swmrbus__stats *s, const char *name, const char *kind,
                           swmrbus_buf *out)
{
    out->len = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, out, buf_write);
    pthread_mutex_lock(&s->mu);
    size_t n = 0;
    for (size_t i = 0; i < s->cap; i++) n += s->ents[i].used;
    msgpack_pack_map(&pk, 7);
    pack_str(&pk, "ok");
    msgpack_pack_true(&pk);
    pack_str(&pk, "name");
    pack_str(&pk, name);
    pack_str(&pk, "kind");
    pack_str(&pk, kind);
    pack_str(&pk, "uptime_s");
    msgpack_pack_double(&pk, (double)(swmrbus_mono_ns() - s->start_ns) / 1e9);
    pack_str(&pk, "series");
    msgpack_pack_array(&pk, n);
    for (size_t i = 0; i < s->cap; i++) {
        const swmrbus__series_stats *e = &s->ents[i];
        if (!e->used) continue;
        msgpack_pack_map(&pk, e->last_flush_t ? 15 : 14);
        pack_str(&pk, "series"); msgpack_pack_uint64(&pk, e->series);
        pack_str(&pk, "file"); pack_str(&pk, e->file);
        pack_str(&pk, "received"); msgpack_pack_uint64(&pk, e->received);
        pack_str(&pk, "written"); msgpack_pack_uint64(&pk, e->written);
        pack_str(&pk, "gaps"); msgpack_pack_uint64(&pk, e->gaps);
        pack_str(&pk, "duplicates"); msgpack_pack_uint64(&pk, e->duplicates);
        pack_str(&pk, "restarts"); msgpack_pack_uint64(&pk, e->restarts);
        pack_str(&pk, "rejected"); pack_rejected(&pk, e->rejected);
        pack_str(&pk, "bytes"); msgpack_pack_uint64(&pk, e->bytes);
        pack_str(&pk, "flushes"); msgpack_pack_uint64(&pk, e->flushes);
        pack_str(&pk, "frames"); msgpack_pack_uint64(&pk, e->frames);
        pack_str(&pk, "complete"); msgpack_pack_uint64(&pk, e->complete);
        pack_str(&pk, "state"); pack_str(&pk, swmrbus__state_name(e->state));
        pack_str(&pk, "dataset"); pack_str(&pk, SWMRBUS_DATASET_PATH);
        if (e->last_flush_t) {
            pack_str(&pk, "last_flush_t");
            msgpack_pack_uint64(&pk, e->last_flush_t);
        }
    }
    pack_str(&pk, "rejected");
    pack_rejected(&pk, s->rejected);
    uint64_t total = 0;
    for (int i = 0; i < SWMRBUS_R_COUNT; i++) total += s->rejected[i];
    pack_str(&pk, "rejected_total");
    msgpack_pack_uint64(&pk, total);
    pthread_mutex_unlock(&s->mu);
    return out->data != NULL;
}
