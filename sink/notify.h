/* sink/notify.h — the sink's notifications and rate-limited error reports
 * (internal; writer thread only).
 *
 * Every notification goes out as [topic][msgpack map] on the PUB socket,
 * never blocking (a slow subscriber loses messages at its high-water mark,
 * never stalls the sink); seq counts every notification of this sink. Error
 * notifications and error log lines are limited to one per reason per second
 * per series; each carries in `count` the errors it stands for. */
#ifndef SWMRBUS_SINK_NOTIFY_H
#define SWMRBUS_SINK_NOTIFY_H

#include <stdbool.h>
#include <stdint.h>

#include "swmrbus/wire.h"

#define SWMRBUS__RATE_SLOTS 64

typedef struct swmrbus__rate_slot {
    bool used;
    swmrbus_reason reason;
    bool has_series;
    uint64_t series;
    uint64_t window_ns;   /* start of the current one-second window */
    uint64_t pending;     /* errors not yet reported */
    char file[512];
    char last[240];       /* text of the last suppressed error */
} swmrbus__rate_slot;

typedef struct swmrbus__notifier {
    void *pub;            /* may be NULL: then nothing is published */
    const char *sink;     /* component name */
    uint64_t seq;
    uint64_t published;   /* notifications sent, all topics */
    swmrbus_buf buf;
    swmrbus__rate_slot slots[SWMRBUS__RATE_SLOTS];
} swmrbus__notifier;

/* The durable figures of a series, for open/flushed/closed. */
typedef struct swmrbus__series_note {
    uint64_t series;
    const char *file;
    uint64_t frames, written, complete;
} swmrbus__series_note;

void swmrbus__notifier_init(swmrbus__notifier *n, void *pub, const char *sink);
void swmrbus__notifier_fini(swmrbus__notifier *n);

/* Publishes open / flushed / closed for a series. */
void swmrbus__notify_series(swmrbus__notifier *n, swmrbus_topic topic,
                            const swmrbus__series_note *s);

/* Reports one error: logs and publishes at once when its (reason, series)
 * had no report in the last second, else counts it for the next report. */
void swmrbus__notify_error(swmrbus__notifier *n, swmrbus_reason reason, bool has_series,
                           uint64_t series, const char *file, const char *text);

/* Reports the errors held back whose second has passed. Returns the ns
 * until the next such report is due (UINT64_MAX when none is pending). */
uint64_t swmrbus__notify_tick(swmrbus__notifier *n, uint64_t now_ns);

#endif
