/* source/relay.c — relaying notifications (through the SDK's notifier: the
 * map as received, every key kept, with `seq` replaced by this source's and
 * `via` set to its name) and following each publisher's `seq` to count lost
 * notifications. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "source_internal.h"
#include "swmrbus/log.h"

void swmrbus__src_relay_now(swmrbus__source *s, swmrbus_topic topic, const void *map,
                            size_t len)
{
    if (!s->notify) return;
    /* The map as received, `seq` this source's, `via` its name. */
    if (swmrbus_notifier_relay(s->nt, topic, map, len) != SWMRBUS_OK) {
        s->relays_unsent++;
        return;
    }
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
