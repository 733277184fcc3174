/* notify.c — notifications on the PUB socket, and error rate limiting. */
#include <stdio.h>
#include <string.h>
#include <zmq.h>

#include "notify.h"
#include "sink_internal.h"
#include "swmrbus/log.h"

#define SECOND_NS 1000000000ull

void swmrbus__notifier_init(swmrbus__notifier *n, void *pub, const char *sink)
{
    memset(n, 0, sizeof *n);
    n->pub = pub;
    n->sink = sink;
}

void swmrbus__notifier_fini(swmrbus__notifier *n) { swmrbus_buf_free(&n->buf); }

static swmrbus_str str_of(const char *s)
{
    swmrbus_str r = {s, s ? strlen(s) : 0};
    return r;
}

static void publish(swmrbus__notifier *n, swmrbus_notice *note)
{
    if (!n->pub) return;
    note->seq = n->seq++;
    note->has_seq = true;
    note->t = swmrbus_wall_ns();
    note->has_t = true;
    note->sink = str_of(n->sink);
    if (swmrbus_notice_encode(note, &n->buf) != SWMRBUS_OK) {
        swmrbus_log(SWMRBUS_LOG_ERROR, n->sink, "cannot encode a notification");
        return;
    }
    const char *topic = swmrbus_topic_name(note->topic);
    /* PUB never blocks: at a subscriber's high-water mark ZeroMQ drops. */
    if (zmq_send(n->pub, topic, strlen(topic), ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(n->pub, n->buf.data, n->buf.len, ZMQ_DONTWAIT) < 0) {
        swmrbus_log(SWMRBUS_LOG_WARN, n->sink, "notification not sent: %s",
                    zmq_strerror(zmq_errno()));
        return;
    }
    n->published++;
}

void swmrbus__notify_series(swmrbus__notifier *n, swmrbus_topic topic,
                            const swmrbus__series_note *s)
{
    swmrbus_notice note = {0};
    note.topic = topic;
    note.series = s->series;
    note.has_series = true;
    note.file = str_of(s->file);
    note.dataset = str_of(SWMRBUS_DATASET_PATH);
    note.frames = s->frames;
    note.has_frames = true;
    note.written = s->written;
    note.has_written = true;
    note.complete = s->complete;
    note.has_complete = true;
    publish(n, &note);
}

static void report(swmrbus__notifier *n, swmrbus__rate_slot *sl, const char *text,
                   uint64_t count)
{
    const char *reason = swmrbus_reason_name(sl->reason);
    if (sl->has_series)
        swmrbus_log(SWMRBUS_LOG_WARN, n->sink, "rejected (%s, series %llu)%s: %s", reason,
                    (unsigned long long)sl->series,
                    count > 1 ? " and more, see count" : "", text);
    else
        swmrbus_log(SWMRBUS_LOG_WARN, n->sink, "rejected (%s): %s%s", reason, text,
                    count > 1 ? " (and more)" : "");
    if (count > 1)
        swmrbus_log(SWMRBUS_LOG_WARN, n->sink, "  %llu %s errors in this report",
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
    publish(n, &note);
}

void swmrbus__notify_error(swmrbus__notifier *n, swmrbus_reason reason, bool has_series,
                           uint64_t series, const char *file, const char *text)
{
    uint64_t now = swmrbus_mono_ns();
    swmrbus__rate_slot *sl = NULL;
    for (int i = 0; i < SWMRBUS__RATE_SLOTS && !sl; i++) {
        swmrbus__rate_slot *c = &n->slots[i];
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
        for (int i = 0; i < SWMRBUS__RATE_SLOTS; i++) {
            swmrbus__rate_slot *c = &n->slots[i];
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

uint64_t swmrbus__notify_tick(swmrbus__notifier *n, uint64_t now_ns)
{
    uint64_t next = UINT64_MAX;
    for (int i = 0; i < SWMRBUS__RATE_SLOTS; i++) {
        swmrbus__rate_slot *sl = &n->slots[i];
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
