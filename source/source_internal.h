/* source/source_internal.h — the source component's state (internal).
 *
 * One thread runs everything (source.c's loop): notifications are small and
 * few, so they are taken as they come; sending is non-blocking and resumes
 * where it stopped when the output has room again, so neither a stuck
 * consumer nor a slow file ever blocks control requests, notifications or
 * stop. Memory: one open file per followed series, at most
 * limits.max_open_series of them, and a bounded queue of relays waiting for
 * their frames; no frame is held (rows are read from the file when they can
 * go out) beyond those ZeroMQ holds until written (bounded by out.hwm) and
 * the idle buffers the pool keeps for reuse (SWMRBUS__POOL_BYTES, counting
 * those in flight; bufpool.h). */
#ifndef SWMRBUS_SOURCE_INTERNAL_H
#define SWMRBUS_SOURCE_INTERNAL_H

#include <limits.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <zmq.h>

#include "sfile.h"
#include "swmrbus/codec.h"
#include "swmrbus/clock.h"
#include "swmrbus/config.h"
#include "swmrbus/loop.h"
#include "swmrbus/notify.h"
#include "swmrbus/metrics.h"
#include "swmrbus/wire.h"

#define SWMRBUS__PUBLISHERS 64    /* publishers whose seq is followed */
#define SWMRBUS__RELAYS_MAX 256   /* relays waiting, per series */
#define SWMRBUS__RELAY_BYTES (4u << 20) /* relays waiting, all series */
#define SWMRBUS__FINISHED_KEPT 64 /* closed/failed series kept for status */
#define SWMRBUS__POOL_BYTES (8u << 20) /* frame buffers in flight and idle (bufpool.h) */

typedef enum swmrbus__sstate {
    SWMRBUS__S_OPENING = 0, /* waiting for the file to open (retrying) */
    SWMRBUS__S_OPEN,        /* following: frames go out as notified */
    SWMRBUS__S_CLOSING,     /* `closed` heard: the rest, then end */
    SWMRBUS__S_CLOSED,      /* end sent, file closed */
    SWMRBUS__S_FAILED,      /* could not be served; file closed */
} swmrbus__sstate;

/* A notification waiting to be relayed until the frames it covers are out. */
typedef struct swmrbus__relay {
    struct swmrbus__relay *next;
    swmrbus_topic topic;
    uint64_t complete;      /* goes when the series has sent every row below */
    bool after_close;       /* `closed`: goes when the file is closed */
    size_t len;
    uint8_t map[];          /* the notification's map as received */
} swmrbus__relay;

/* A row read and not sent yet (series.c): its payload, and for named
 * datasets each one's bytes in it (malloc'd). */
typedef struct swmrbus__out_row {
    zmq_msg_t payload;
    uint64_t row, ts;
    size_t size;
    size_t *parts;
} swmrbus__out_row;

typedef struct swmrbus__series {
    bool used;
    swmrbus__sstate state;
    char sink[SWMRBUS_NAME_MAX + 1];
    char file[PATH_MAX];
    bool has_orig;
    uint64_t orig;            /* the sink's series id */
    uint64_t out_id;          /* the id this source sends it under */
    swmrbus__sfile *f;
    bool start_sent;
    bool closed_seen;
    uint64_t first;           /* first row it serves (from: latest) */
    uint64_t next;            /* next row to look at */
    uint64_t frames;          /* N, the highest notified */
    uint64_t complete;        /* the highest notified gap-free prefix */
    uint64_t visible;         /* the data extent at the last refresh */
    bool need_refresh;
    bool row_wait;            /* a row is tried again after the next refresh */
    unsigned open_tries, lag_tries, row_tries, refresh_fails;
    uint64_t retry_at;        /* mono ns of the next try (open, refresh), 0 = none */
    uint64_t last_notice_ns;  /* mono */
    bool stale_logged;
    uint64_t notices, flushes, last_flush_t;
    uint64_t sent, gaps, bytes, errors, dropped;
    /* Rows read and not sent when the output had no room (PUSH at its
     * high-water mark): rows next, next+1, ..., sent first next time rather
     * than read again (at most a batch, malloc'd). */
    swmrbus__out_row *held;
    int n_held;
    swmrbus__relay *rq_head, *rq_tail;
    size_t rq_n;
    uint64_t finished_order;
    char why[256];            /* why it failed */
} swmrbus__series;

typedef struct swmrbus__publisher {
    bool used;
    char name[SWMRBUS_NAME_MAX + 1]; /* `via` when present, else `sink` */
    uint64_t last_seq;
    uint64_t missed;
    uint64_t notices;
    uint64_t seen_ns;
} swmrbus__publisher;

typedef struct swmrbus__source {
    const swmrbus_component_cfg *cfg;
    const char *name;
    void *in, *out, *notify, *control;
    bool out_pub;             /* out is a PUB (else a PUSH) */
    /* out.protocol (Karabo bridge, issue 10): the encoder and its state,
     * NULL: wire protocol v1; out.pattern rep: a request was taken and the
     * next train is its reply (rep_ready) */
    const swmrbus_encoder_vtable *enc;
    void *enc_state;
    bool out_rep, rep_ready;
    swmrbus_loop *loop;       /* the component's loop (stop() ends it) */
    swmrbus_notifier *nt;     /* relays on notify */
    bool draining;            /* stop seen: finishing what waits */
    uint64_t drain_until, last_input;
    bool more, blocked, pending;
    uint64_t last_second;     /* mono ns of the last once-a-second tick */

    swmrbus__series *slots;
    size_t n_slots;
    uint64_t alt_next;        /* next output id when a sink's id is taken */
    uint64_t finished_counter;
    size_t relay_bytes;       /* bytes of relays waiting */

    swmrbus__publisher pubs[SWMRBUS__PUBLISHERS];

    swmrbus_buf hbuf;         /* header encoding */
    /* Frame buffers sent zero-copy (bufpool.h), rows of direct series */
    struct swmrbus__bufpool *pool;

    /* counters for status (this thread only) */
    uint64_t notices, relayed, relays_dropped, relays_unsent, missed;
    uint64_t frames_sent, bytes_sent, dropped, refused;
    uint64_t rejected[SWMRBUS_R_COUNT];
    uint64_t last_reject_log_ns;

    uint64_t last_tick_ns, frames_since, bytes_since;
    char err[1024];

    /* Prometheus handles (swmrbus/metrics.h; NULL: not registered, updates
     * do nothing) and the counters above already added to them. */
    struct {
        swmrbus_metric *frames, *bytes, *lag, *open, *notifications;
        swmrbus_metric *dropped_pub, *dropped_relay;
        swmrbus_metric *rejected[SWMRBUS_R_COUNT];
        uint64_t relayed_n, dropped_n, relays_dropped_n, rejected_n[SWMRBUS_R_COUNT];
    } m;
    /* dirs.c: where files may be read (canonical), refusals to report */
    char **dirs;
    size_t n_dirs;
    uint64_t bad_name_unreported; /* refusals since the last error notification */
    uint64_t bad_name_report_ns;  /* mono ns of the last report, 0: none yet */
    char bad_name_file[PATH_MAX]; /* the file of the last refusal */
} swmrbus__source;

/* ---- series.c -------------------------------------------------------------- */

/* Takes one decoded notification (map: its map part as received, for the
 * relay): follows a new series, updates one, queues or sends the relay. */
void swmrbus__src_on_notice(swmrbus__source *s, const swmrbus_notice *n, const void *map,
                            size_t map_len, uint64_t now);

/* One round of work over every series (opening, refreshing, sending up to a
 * budget of frames each, ending, relaying). Returns true when it made
 * progress and may have more to do at once. *blocked is set when a series
 * waits for room on the output; *due receives the mono ns of the next timed
 * try (UINT64_MAX: none); *pending whether any series still has work. */
bool swmrbus__src_work(swmrbus__source *s, uint64_t now, bool *blocked, uint64_t *due,
                       bool *pending);

/* Registers the source's metrics (at create; a failure is logged and
 * leaves those handles NULL). */
void swmrbus__src_metrics_init(swmrbus__source *s);

/* Once a second: logs series that became stale. */
void swmrbus__src_tick(swmrbus__source *s, uint64_t now);

/* At the end of run(): relays what waits, closes every file. Series not
 * closed upstream get no `end` (a source started again resumes them). */
void swmrbus__src_close_all(swmrbus__source *s);

/* Frees the rows a series holds (safe with none). */
void swmrbus__src_held_free(swmrbus__series *se);

/* Status name of a series' state ("open", "lingering", "closed", "failed",
 * "stale"). */
const char *swmrbus__src_state_name(const swmrbus__source *s, const swmrbus__series *se,
                                    uint64_t now);

/* ---- dirs.c ---------------------------------------------------------------- */

/* Makes cfg->dirs canonical into s->dirs (a dir that does not exist yet is
 * resolved as far as it exists). ECONFIG with err naming the dir. */
swmrbus_err swmrbus__src_dirs_init(swmrbus__source *s, char *err, size_t errlen);
void swmrbus__src_dirs_free(swmrbus__source *s);

/* Resolves file (realpath into real, PATH_MAX bytes) and checks it lies in
 * one of the dirs; nothing else touches the file. OK: inside. EINVAL: not
 * inside (why says where it leads). EIO: it does not exist (yet); when
 * !must_exist a missing file whose directory is inside is OK (real: that
 * directory's realpath and the name). */
swmrbus_err swmrbus__src_dirs_check(const swmrbus__source *s, const char *file, bool must_exist,
                                    char *real, char *why, size_t whylen);

/* Counts a refusal (bad_name), logs it and publishes an `error` notification
 * at most once a second (count: the refusals it stands for). */
void swmrbus__src_bad_name(swmrbus__source *s, const char *file, const char *why,
                           uint64_t now);

/* Once a second: reports refusals held back by the once-a-second limit. */
void swmrbus__src_dirs_tick(swmrbus__source *s, uint64_t now);

/* ---- relay.c --------------------------------------------------------------- */

/* Checks n's seq against its publisher's last (counts and logs gaps). */
void swmrbus__src_seq_check(swmrbus__source *s, const swmrbus_notice *n, uint64_t now);

/* Relays a notification now: map as received, `seq` replaced by this
 * source's, `via` set to its name. */
void swmrbus__src_relay_now(swmrbus__source *s, swmrbus_topic topic, const void *map,
                            size_t len);

/* A queued relay (NULL when out of memory). */
swmrbus__relay *swmrbus__src_relay_new(swmrbus_topic topic, const void *map, size_t len,
                                       uint64_t complete, bool after_close);

#endif
