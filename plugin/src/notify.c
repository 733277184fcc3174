/* notify.c — notifications on a PUB socket, error rate limiting and relays
 * (swmrbus/notify.h). */
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "mpread.h"
#include "swmrbus/clock.h"
#include "swmrbus/log.h"
#include "swmrbus/notify.h"
#include "swmrbus/pack.h"

#define SECOND_NS 1000000000ull
#define RATE_SLOTS 64

typedef struct rate_slot {
    bool used;
    swmrbus_reason reason;
    bool has_series;
    uint64_t series;
    uint64_t window_ns;   /* start of the current one-second window */
    uint64_t pending;     /* errors not yet reported */
    char file[512];
    char last[240];       /* text of the last suppressed error */
} rate_slot;

struct swmrbus_notifier {
    void *pub;            /* may be NULL: then nothing is published */
    char name[SWMRBUS_NAME_MAX + 1];
    uint64_t seq;
    uint64_t published;
    swmrbus_buf buf;
    rate_slot slots[RATE_SLOTS];
    uint64_t shard, shards; /* scale-out (issue 12): shards 0 = not sharded */
};

swmrbus_err swmrbus_notifier_create(void *pub, const char *name, swmrbus_notifier **out)
{
    swmrbus_notifier *n = calloc(1, sizeof *n);
    if (!n) return SWMRBUS_ENOMEM;
    n->pub = pub;
    snprintf(n->name, sizeof n->name, "%s", name ? name : "");
    *out = n;
    return SWMRBUS_OK;
}

void swmrbus_notifier_destroy(swmrbus_notifier **np)
{
    if (!np || !*np) return;
    swmrbus_buf_free(&(*np)->buf);
    free(*np);
    *np = NULL;
}

uint64_t swmrbus_notifier_published(const swmrbus_notifier *n) { return n->published; }

void swmrbus_notifier_set_shard(swmrbus_notifier *n, uint64_t index, uint64_t count)
{
    n->shard = count ? index : 0;
    n->shards = count;
}

static swmrbus_str str_of(const char *s)
{
    swmrbus_str r = {s, s ? strlen(s) : 0};
    return r;
}

/* Sends [topic][buf] without blocking; on success the seq moves on. */
static swmrbus_err send_buf(swmrbus_notifier *n, swmrbus_topic topic)
{
    const char *t = swmrbus_topic_name(topic);
    if (!t) return SWMRBUS_EINVAL;
    /* PUB never blocks: at a subscriber's high-water mark ZeroMQ drops. */
    if (zmq_send(n->pub, t, strlen(t), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(n->pub, n->buf.data, n->buf.len, ZMQ_DONTWAIT) < 0) {
        swmrbus_log(SWMRBUS_LOG_WARN, n->name, "notification not sent: %s",
                    zmq_strerror(zmq_errno()));
        return SWMRBUS_EZMQ;
    }
    n->seq++;
    n->published++;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_notifier_publish(swmrbus_notifier *n, swmrbus_notice *note)
{
    if (!n->pub) return SWMRBUS_OK;
    note->seq = n->seq;
    note->has_seq = true;
    note->t = swmrbus_wall_ns();
    note->has_t = true;
    note->sink = str_of(n->name);
    if (n->shards && !note->has_shards) { /* a sharded sink (issue 12) */
        note->shard = n->shard;
        note->has_shard = true;
        note->shards = n->shards;
        note->has_shards = true;
    }
    if (swmrbus_notice_encode(note, &n->buf) != SWMRBUS_OK) {
        swmrbus_log(SWMRBUS_LOG_ERROR, n->name, "cannot encode a notification");
        return SWMRBUS_EINVAL;
    }
    return send_buf(n, note->topic);
}

swmrbus_err swmrbus_notifier_series(swmrbus_notifier *n, swmrbus_topic topic, uint64_t series,
                                    const char *file, uint64_t frames, uint64_t written,
                                    uint64_t complete)
{
    swmrbus_notice note = {0};
    note.topic = topic;
    note.series = series;
    note.has_series = true;
    note.file = str_of(file);
    note.dataset = str_of(SWMRBUS_DATASET_PATH);
    note.frames = frames;
    note.has_frames = true;
    note.written = written;
    note.has_written = true;
    note.complete = complete;
    note.has_complete = true;
    return swmrbus_notifier_publish(n, &note);
}

static void report(swmrbus_notifier *n, rate_slot *sl, const char *text, uint64_t count)
{
    const char *reason = swmrbus_reason_name(sl->reason);
    if (sl->has_series)
        swmrbus_log(SWMRBUS_LOG_WARN, n->name, "rejected (%s, series %llu)%s: %s", reason,
                    (unsigned long long)sl->series,
                    count > 1 ? " and more, see count" : "", text);
    else
        swmrbus_log(SWMRBUS_LOG_WARN, n->name, "rejected (%s): %s%s", reason, text,
                    count > 1 ? " (and more)" : "");
    if (count > 1)
        swmrbus_log(SWMRBUS_LOG_WARN, n->name, "  %llu %s errors in this report",
                    (unsigned long long)count, reason);
    swmrbus_notice note = {0};
    note.topic = SWMRBUS_NOTICE_ERROR;
    note.series = sl->series;
    note.has_series = sl->has_series;
    if (sl->file[0]) note.file = str_of(sl->file);
    note.error = str_of(text);
    note.reason = sl->reason;
    note.has_reason = true;
    note.count = count;
    note.has_count = true;
    swmrbus_notifier_publish(n, &note);
}

void swmrbus_notifier_error(swmrbus_notifier *n, swmrbus_reason reason, bool has_series,
                            uint64_t series, const char *file, const char *text)
{
    uint64_t now = swmrbus_mono_ns();
    rate_slot *sl = NULL;
    for (int i = 0; i < RATE_SLOTS && !sl; i++) {
        rate_slot *c = &n->slots[i];
        if (c->used && c->reason == reason && c->has_series == has_series &&
            (!has_series || c->series == series))
            sl = c;
    }
    if (sl && now - sl->window_ns < SECOND_NS) {
        sl->pending++;
        snprintf(sl->last, sizeof sl->last, "%s", text);
        return;
    }
    if (!sl) {
        /* A free slot, else the one whose window is oldest. */
        for (int i = 0; i < RATE_SLOTS; i++) {
            rate_slot *c = &n->slots[i];
            if (!c->used) {
                sl = c;
                break;
            }
            if (!sl || c->window_ns < sl->window_ns) sl = c;
        }
        if (sl->used && sl->pending) report(n, sl, sl->last, sl->pending);
        memset(sl, 0, sizeof *sl);
        sl->used = true;
        sl->reason = reason;
        sl->has_series = has_series;
        sl->series = series;
    }
    snprintf(sl->file, sizeof sl->file, "%s", file ? file : "");
    /* A new window: this error and those held back in the last one. */
    uint64_t count = sl->pending + 1;
    sl->pending = 0;
    sl->window_ns = now;
    report(n, sl, text, count);
}

uint64_t swmrbus_notifier_tick(swmrbus_notifier *n, uint64_t now_ns)
{
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < RATE_SLOTS; i++) {
        rate_slot *sl = &n->slots[i];
        if (!sl->used || !sl->pending) continue;
        uint64_t due = sl->window_ns + SECOND_NS;
        if (now_ns >= due) {
            uint64_t count = sl->pending;
            sl->pending = 0;
            sl->window_ns = now_ns;
            report(n, sl, sl->last, count);
        } else if (due - now_ns < next) {
            next = due - now_ns;
        }
    }
    return next;
}

/* ---- relays ---------------------------------------------------------------- */

/* Walks the map's pairs; with out, appends every pair but seq and via as
 * they were encoded (whole msgpack objects, copied unchanged). Returns the
 * number of pairs kept, or -1 when the map does not walk. */
static long copy_pairs(const void *map, size_t len, swmrbus_buf *out)
{
    swmrbus__mp mp;
    size_t pairs;
    long kept = 0;
    swmrbus__mp_init(&mp, map, len);
    if (swmrbus__mp_map(&mp, &pairs) != SWMRBUS_OK) return -1;
    for (size_t k = 0; k < pairs; k++) {
        const uint8_t *p0 = mp.p;
        swmrbus_str key = {NULL, 0};
        swmrbus__mp key_mp = mp;
        bool is_str = swmrbus__mp_str(&key_mp, &key) == SWMRBUS_OK;
        if (swmrbus__mp_skip(&mp) != SWMRBUS_OK || swmrbus__mp_skip(&mp) != SWMRBUS_OK)
            return -1;
        if (is_str && (swmrbus__str_is(key, "seq") || swmrbus__str_is(key, "via"))) continue;
        if (out && swmrbus_buf_write(out, (const char *)p0, (size_t)(mp.p - p0)) != 0) return -1;
        kept++;
    }
    return kept;
}

swmrbus_err swmrbus_notifier_relay(swmrbus_notifier *n, swmrbus_topic topic, const void *map,
                                   size_t len)
{
    if (!n->pub) return SWMRBUS_OK;
    long kept = copy_pairs(map, len, NULL);
    if (kept < 0 || !swmrbus_topic_name(topic)) return SWMRBUS_EINVAL;
    n->buf.len = 0;
    msgpack_packer pk;
    msgpack_packer_init(&pk, &n->buf, swmrbus_buf_write);
    if (msgpack_pack_map(&pk, (size_t)kept + 2) != 0 || copy_pairs(map, len, &n->buf) != kept ||
        swmrbus_pack_kv_u64(&pk, "seq", n->seq) != 0 ||
        swmrbus_pack_kv_str(&pk, "via", n->name) != 0) {
        swmrbus_log(SWMRBUS_LOG_ERROR, n->name, "cannot encode a relayed notification");
        return SWMRBUS_ENOMEM;
    }
    return send_buf(n, topic);
}
