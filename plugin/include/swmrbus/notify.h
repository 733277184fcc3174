/* swmrbus/notify.h — publishing notifications (README "Notifications").
 *
 * A notifier owns a component's sequence counter and sends every
 * notification as [topic][msgpack map] on a PUB socket, never blocking (a
 * subscriber at its high-water mark loses messages; it never stalls the
 * component). It fills `seq` (0 for the first notification, +1 for every
 * notification of any topic), `t` and `sink`. Error notifications and their
 * log lines are limited to one per reason per second per series; each
 * carries in `count` the errors it stands for.
 *
 * A notifier is used from one thread (the one that owns the PUB socket). */
#ifndef SWMRBUS_NOTIFY_H
#define SWMRBUS_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swmrbus/err.h"
#include "swmrbus/export.h"
#include "swmrbus/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct swmrbus_notifier swmrbus_notifier;

/* Creates a notifier publishing on pub (a ZMQ_PUB socket the caller keeps
 * owning; NULL: nothing is published, errors are still logged) as component
 * name (copied; the notifications' `sink`). ENOMEM. */
SWMRBUS_API swmrbus_err swmrbus_notifier_create(void *pub, const char *name,
                                                swmrbus_notifier **out);

/* Frees *n and sets it to NULL. Safe with NULL. */
SWMRBUS_API void swmrbus_notifier_destroy(swmrbus_notifier **n);

/* Publishes note (topic and its keys; seq, t and sink are set here). Returns
 * OK, EINVAL when it cannot be encoded, EAGAIN-like EZMQ when ZeroMQ did not
 * take it (logged). With no socket, OK and nothing sent. */
SWMRBUS_API swmrbus_err swmrbus_notifier_publish(swmrbus_notifier *n, swmrbus_notice *note);

/* Publishes open/flushed/closed for a series: series, file, dataset
 * (SWMRBUS_DATASET_PATH), frames, written, complete. */
SWMRBUS_API swmrbus_err swmrbus_notifier_series(swmrbus_notifier *n, swmrbus_topic topic,
                                                uint64_t series, const char *file,
                                                uint64_t frames, uint64_t written,
                                                uint64_t complete);

/* Reports one error: logs and publishes swmrbus.error at once when its
 * (reason, series) had no report in the last second, else counts it for the
 * next report. file may be NULL. */
SWMRBUS_API void swmrbus_notifier_error(swmrbus_notifier *n, swmrbus_reason reason,
                                        bool has_series, uint64_t series, const char *file,
                                        const char *text);

/* Sends the error reports held back whose second has passed. Returns the ns
 * until the next one is due (UINT64_MAX: none pending). Call from the
 * component's loop (a work handler). */
SWMRBUS_API uint64_t swmrbus_notifier_tick(swmrbus_notifier *n, uint64_t now_ns);

/* Relays a notification received from elsewhere: map (len bytes, a map that
 * swmrbus_notice_decode accepted) with every key kept but `seq` (this
 * notifier's instead) and `via` (this notifier's name), under topic. Returns
 * OK, EINVAL (not a map), ENOMEM or EZMQ (not sent). */
SWMRBUS_API swmrbus_err swmrbus_notifier_relay(swmrbus_notifier *n, swmrbus_topic topic,
                                               const void *map, size_t len);

/* Scale-out (issue 12): from now on every notification this notifier
 * publishes (errors included; not relays, which keep their keys) carries
 * `shard` = index and `shards` = count, unless it sets `shards` itself.
 * count 0 turns that off. */
SWMRBUS_API void swmrbus_notifier_set_shard(swmrbus_notifier *n, uint64_t index,
                                            uint64_t count);

/* Notifications sent so far (all topics, relays included). */
SWMRBUS_API uint64_t swmrbus_notifier_published(const swmrbus_notifier *n);

#ifdef __cplusplus
}
#endif
#endif
