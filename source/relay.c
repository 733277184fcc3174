/* source/relay.c — relaying notifications (the map as received, every key
 * kept, with `seq` replaced by this source's and `via` set to its name) and
 * following each publisher's `seq` to count lost notifications. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "mpread.h"
#include "source_internal.h"
#include "swmrbus/log.h"

/* ---- a few msgpack writers into a swmrbus_buf ----------------------------- */

static bool put(swmrbus_buf *b, const void *p, size_t n)
{
    if (n > SIZE_MAX - b->len) return false;
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 512;
        while (cap < b->len + n) cap *= 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d) return false;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, n);
    b->len += n;
    return true;
}

static bool put_be(swmrbus_buf *b, uint8_t tag, uint64_t v, unsigned bytes)
{
    uint8_t x[9];
    x[0] = tag;
    for (unsigned i = 0; i < bytes; i++) x[1 + i] = (uint8_t)(v >> (8 * (bytes - 1 - i)));
    return put(b, x, 1 + bytes);
}

static bool put_map(swmrbus_buf *b, size_t n)
{
    if (n < 16) {
        uint8_t t = (uint8_t)(0x80 | n);
        return put(b, &t, 1);
    }
    return n <= 0xffff ? put_be(b, 0xde, n, 2) : put_be(b, 0xdf, n, 4);
}

static bool put_str(swmrbus_buf *b, const char *s, size_t n)
{
    bool ok;
    if (n < 32) {
        uint8_t t = (uint8_t)(0xa0 | n);
        ok = put(b, &t, 1);
    } else if (n <= 0xff) {
        ok = put_be(b, 0xd9, n, 1);
    } else if (n <= 0xffff) {
        ok = put_be(b, 0xda, n, 2);
    } else {
        ok = put_be(b, 0xdb, n, 4);
    }
    return ok && put(b, s, n);
}

static bool put_u64(swmrbus_buf *b, uint64_t v)
{
    if (v < 128) {
        uint8_t t = (uint8_t)v;
        return put(b, &t, 1);
    }
    if (v <= 0xff) return put_be(b, 0xcc, v, 1);
    if (v <= 0xffff) return put_be(b, 0xcd, v, 2);
    if (v <= 0xffffffffu) return put_be(b, 0xce, v, 4);
    return put_be(b, 0xcf, v, 8);
}

/* ---- relays ---------------------------------------------------------------- */

/* Walks the map's pairs; with out, copies every pair but seq and via. Returns
 * the number of pairs kept, or -1 when the map does not walk (it always
 * does: it was decoded before). */
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
        if (out && !put(out, p0, (size_t)(mp.p - p0))) return -1;
        kept++;
    }
    return kept;
}

void swmrbus__src_relay_now(swmrbus__source *s, swmrbus_topic topic, const void *map,
                            size_t len)
{
    if (!s->notify) return;
    swmrbus_buf *b = &s->rbuf;
    b->len = 0;
    long kept = copy_pairs(map, len, NULL);
    const char *t = swmrbus_topic_name(topic);
    if (kept < 0 || !t || !put_map(b, (size_t)kept + 2) || copy_pairs(map, len, b) != kept ||
        !put_str(b, "seq", 3) || !put_u64(b, s->seq) || !put_str(b, "via", 3) ||
        !put_str(b, s->name, strlen(s->name))) {
        s->relays_unsent++;
        swmrbus_log(SWMRBUS_LOG_ERROR, s->name, "cannot encode a relayed notification");
        return;
    }
    /* PUB never blocks: a subscriber at its high-water mark loses it. */
    if (zmq_send(s->notify, t, strlen(t), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(s->notify, b->data, b->len, ZMQ_DONTWAIT) < 0) {
        s->relays_unsent++;
        swmrbus_log(SWMRBUS_LOG_WARN, s->name, "relay not sent: %s", zmq_strerror(zmq_errno()));
        return;
    }
    s->seq++;
    s->relayed++;
}

swmrbus__relay *swmrbus__src_relay_new(swmrbus_topic topic, const void *map, size_t len,
                                       uint64_t complete, bool after_close)
{
    swmrbus__relay *r = malloc(sizeof *r + len);
    if (!r) return NULL;
    r->next = NULL;
    r->topic = topic;
    r->complete = complete;
    r->after_close = after_close;
    r->len = len;
    memcpy(r->map, map, len);
    return r;
}

/* ---- publishers' seq --------------------------------------------------------- */

void swmrbus__src_seq_check(swmrbus__source *s, const swmrbus_notice *n, uint64_t now)
{
    if (!n->has_seq) return;
    swmrbus_str who = n->via.ptr ? n->via : n->sink;
    if (who.len > SWMRBUS_NAME_MAX) who.len = SWMRBUS_NAME_MAX;
    swmrbus__publisher *p = NULL, *oldest = NULL, *free_p = NULL;
    for (size_t i = 0; i < SWMRBUS__PUBLISHERS; i++) {
        swmrbus__publisher *c = &s->pubs[i];
        if (!c->used) {
            if (!free_p) free_p = c;
            continue;
        }
        if (strlen(c->name) == who.len && memcmp(c->name, who.ptr ? who.ptr : "", who.len) == 0) {
            p = c;
            break;
        }
        if (!oldest || c->seen_ns < oldest->seen_ns) oldest = c;
    }
    if (!p) {
        p = free_p ? free_p : oldest;
        memset(p, 0, sizeof *p);
        p->used = true;
        memcpy(p->name, who.ptr ? who.ptr : "", who.len);
        p->name[who.len] = '\0';
        p->last_seq = n->seq;
        p->notices = 1;
        p->seen_ns = now;
        return;
    }
    p->notices++;
    p->seen_ns = now;
    if (n->seq == p->last_seq + 1) {
        p->last_seq = n->seq;
        return;
    }
    if (n->seq > p->last_seq) {
        uint64_t lost = n->seq - p->last_seq - 1;
        p->missed += lost;
        s->missed += lost;
        swmrbus_log(SWMRBUS_LOG_WARN, s->name,
                    "missed %" PRIu64 " notification(s) of %s (seq %" PRIu64 " after %" PRIu64
                    "); N is cumulative, the next one covers them", lost,
                    p->name[0] ? p->name : "(unnamed)", n->seq, p->last_seq);
    } else {
        swmrbus_log(SWMRBUS_LOG_INFO, s->name,
                    "%s: seq went back from %" PRIu64 " to %" PRIu64 " (restarted?)",
                    p->name[0] ? p->name : "(unnamed)", p->last_seq, n->seq);
    }
    p->last_seq = n->seq;
}
