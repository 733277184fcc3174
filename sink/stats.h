/* sink/stats.h — the sink's counters, read by `status` (internal).
 *
 * The writer thread updates, the receive thread reads for a status reply;
 * both under the one mutex. Entries are created when a series opens and are
 * kept (closed) for the last 1024 closed series. Pointers to entries stay
 * valid for the life of the stats. */
#ifndef SWMRBUS_SINK_STATS_H
#define SWMRBUS_SINK_STATS_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swmrbus/metrics.h"
#include "membound.h"
#include "swmrbus/wire.h"

typedef enum swmrbus__series_state {
    SWMRBUS__OPEN = 0,
    SWMRBUS__LINGERING,
    SWMRBUS__CLOSED,
    SWMRBUS__FAILED,
} swmrbus__series_state;

const char *swmrbus__state_name(swmrbus__series_state s);

typedef struct swmrbus__series_stats {
    bool used;
    uint64_t series;
    char *file;
    uint64_t received, written, gaps, duplicates, restarts, bytes, flushes;
    uint64_t last_flush_t;  /* wall ns of the last flush, 0 = none */
    uint64_t frames, complete;
    uint64_t rejected[SWMRBUS_R_COUNT];
    swmrbus__series_state state;
    uint64_t closed_order;  /* set when the series left its slot (closed, or failed
                             * and released): the oldest such entry is evicted */
} swmrbus__series_stats;

/* ---- Prometheus metrics (swmrbus/metrics.h) --------------------------------
 * Handles into the process-wide registry, registered by
 * swmrbus__stats_metrics(); NULL (not registered) makes updates no-ops.
 * Updates are atomic: no need for the stats mutex. */
typedef struct swmrbus__sink_metrics {
    swmrbus_metric *received, *written, *bytes, *duplicates, *flushes;
    swmrbus_metric *rejected[SWMRBUS_R_COUNT];
    swmrbus_metric *latency;       /* histogram, seconds (observed in ns) */
    swmrbus_metric *queue;         /* gauge: bytes between receipt and writer */
    swmrbus_metric *open;          /* gauge: open series */
    swmrbus_metric *notifications; /* counter: notifications published */
} swmrbus__sink_metrics;

/* Receipt times of a series' frames not yet flushed, for the frame→flushed
 * latency histogram, in bounded memory: a frame received within 50 us of
 * the last group's first frame joins that group (and its receipt time).
 * When all groups are in use the two closest in time merge, keeping the
 * older receipt: a latency is never understated, and is exact to 50 us
 * while at most 64 such arrival windows wait for one flush. All zero =
 * empty. Writer thread only. */
#define SWMRBUS__LAT_GROUPS 64
typedef struct swmrbus__lat_pending {
    uint64_t t[SWMRBUS__LAT_GROUPS]; /* mono ns: receipt of the group's first frame */
    uint64_t n[SWMRBUS__LAT_GROUPS]; /* frames in the group */
    unsigned used;
} swmrbus__lat_pending;

/* Notes one written frame received at recv_ns (monotonic). */
void swmrbus__lat_add(swmrbus__lat_pending *p, uint64_t recv_ns);

/* The pending frames are flushed (and notified) at now_ns: observes each
 * one's latency in histogram h and empties p. */
void swmrbus__lat_flushed(swmrbus__lat_pending *p, swmrbus_metric *h, uint64_t now_ns);

typedef struct swmrbus__stats {
    pthread_mutex_t mu;
    uint64_t start_ns;
    uint64_t rejected[SWMRBUS_R_COUNT];
    swmrbus__series_stats *ents;
    size_t cap;
    uint64_t closed_counter;
    swmrbus__sink_metrics m;  /* Prometheus handles (atomic, outside mu) */
    /* slots given to a new series when every slot was taken (core.c) */
    uint64_t slots_freed_failed, slots_freed_idle;
    /* keys or sources a decoder met after their series' file was laid out
     * (Karabo bridge: not written; status `late_keys`) */
    uint64_t late_keys;
    /* the memory bound (set once at create, read-only after) */
    uint64_t max_memory_bytes;
    swmrbus__mem_plan mem;
} swmrbus__stats;

/* cap = max_open_series + 1024. Returns false on allocation failure. */
bool swmrbus__stats_init(swmrbus__stats *s, size_t cap);
void swmrbus__stats_destroy(swmrbus__stats *s);

/* Registers the sink's metrics for component name (all at zero, so a
 * scrape shows them before the first frame). A failure leaves handles NULL
 * (their updates do nothing) and is logged. */
void swmrbus__stats_metrics(swmrbus__stats *s, const char *name);

/* Takes a free entry (or evicts the oldest closed one) for a new series.
 * Locks internally. Returns NULL when every entry is open (cannot happen
 * while open series are limited to max_open_series). */
swmrbus__series_stats *swmrbus__stats_add(swmrbus__stats *s, uint64_t series, const char *file);

/* Counts a rejection at top level and, when e is not NULL, for its series. */
void swmrbus__stats_reject(swmrbus__stats *s, swmrbus__series_stats *e, swmrbus_reason r);

void swmrbus__stats_lock(swmrbus__stats *s);
void swmrbus__stats_unlock(swmrbus__stats *s);

/* Encodes the status reply map for component name into out. */
bool swmrbus__stats_encode(swmrbus__stats *s, const char *name, const char *kind,
                           swmrbus_buf *out);

#endif
