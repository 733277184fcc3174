/* sink/sink_internal.h — what the sink's two threads share (internal).
 *
 * The receive thread (sink.c) owns the input and control sockets: it decodes
 * and validates headers (no HDF5 there) and hands each message, zero-copy,
 * through an inproc PAIR to the writer thread (core.c), which owns the
 * series, their files and the notify socket. Counters live in stats.c under
 * a mutex, so `status` answers without waiting for the writer. */
#ifndef SWMRBUS_SINK_INTERNAL_H
#define SWMRBUS_SINK_INTERNAL_H

#include <limits.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "stats.h"
#include "swmrbus/clock.h"
#include "swmrbus/codec.h"
#include "swmrbus/config.h"
#include "swmrbus/loop.h"
#include "swmrbus/notify.h"
#include "swmrbus/wire.h"
#include <zmq.h>

typedef enum swmrbus__item_kind {
    SWMRBUS__ITEM_MSG = 1, /* a frame-stream message: [item][header][payload...]: a
                            * frame has one payload per dataset (n_payloads) */
    SWMRBUS__ITEM_REJECT,  /* a rejection found on receipt: [item][explanation] */
    SWMRBUS__ITEM_CMD,     /* a control command; the writer answers with an ack */
    SWMRBUS__ITEM_STOP,    /* close everything and end the writer thread */
} swmrbus__item_kind;

typedef struct swmrbus__item {
    swmrbus__item_kind kind;
    swmrbus_header h;       /* MSG: slices point into the header part at hdr_base */
    const char *hdr_base;   /* MSG: where the header bytes were when decoded */
    bool has_payload;
    uint32_t n_payloads;    /* MSG: payload parts that follow the header */
    uint64_t queued;        /* bytes counted in queue_bytes for this item (parts plus
                             * ZeroMQ's per-message overhead) */
    uint64_t recv_ns;       /* monotonic receipt time */
    swmrbus_reason reason;  /* REJECT */
    bool has_series;        /* REJECT: tied to a series */
    uint64_t series;
    swmrbus_request req;    /* CMD */
} swmrbus__item;

/* Parts of one hand-off item at most: the item, the header, a payload per
 * dataset. */
#define SWMRBUS__ITEM_PARTS (2 + SWMRBUS_MAX_DATASETS)

/* Items go to the writer in batches: the receive thread fills one with what
 * a turn of its loop takes (the messages' parts moved in, zero-copy) and
 * sends the batch's address through the inproc PAIR, one message and at
 * most one wake-up per batch instead of three messages per frame. The
 * writer takes every item of a batch in order, closes their parts and
 * gives the batch back (swmrbus__batch_release) for reuse. */
#define SWMRBUS__BATCH_ITEMS 128
#define SWMRBUS__BATCH_PARTS (2 * SWMRBUS__BATCH_ITEMS + 8) /* a batch's usual parts */
#define SWMRBUS__BATCH_BYTES (2ull << 20) /* sent once it holds this much */

typedef struct swmrbus__entry {
    swmrbus__item it;
    uint32_t first;   /* its parts: parts[first .. first + n) */
    uint32_t n;       /* MSG: the header and the payloads; REJECT: the text */
} swmrbus__entry;

typedef struct swmrbus__batch {
    struct swmrbus__batch *next; /* the free list's */
    size_t n, n_parts;
    size_t cap_parts;            /* SWMRBUS__BATCH_PARTS, or more for one item of
                                  * many parts (a batch of its own, not reused) */
    uint64_t queued;             /* bytes counted in queue_bytes: the batch itself,
                                  * its parts and ZeroMQ's overhead per part */
    swmrbus__entry e[SWMRBUS__BATCH_ITEMS];
    zmq_msg_t parts[];
} swmrbus__batch;

/* The writer's answer to a CMD item. */
typedef struct swmrbus__ack {
    bool ok;
    char error[240];
} swmrbus__ack;

typedef struct swmrbus__sink {
    const swmrbus_component_cfg *cfg;
    const char *name;
    void *in;          /* PULL or SUB: receive thread */
    void *control;     /* REP or NULL: receive thread */
    void *notify;      /* PUB or NULL: writer thread */
    void *pair_rx;     /* receive thread's end of the hand-off */
    void *pair_wx;     /* writer thread's end */
    swmrbus_loop *loop;        /* the receive thread's (stop() ends it) */
    swmrbus_loop *writer_loop; /* the writer thread's (ends at the STOP item) */
    swmrbus_notifier *nt;      /* notifications on notify: writer thread */
    const swmrbus_decoder_vtable *decoder; /* in.protocol's, NULL: wire protocol v1 */
    void *decoder_state;
    zmq_msg_t *parts;          /* a foreign message's parts (SWMRBUS_CODEC_MAX_PARTS) */
    const char *request;       /* in.pattern req: what is sent before each receive */
    uint64_t request_ns;       /* when the pending request went out (0: none) */
    _Atomic uint64_t queue_bytes;
    uint64_t nap_until_ns;     /* receive thread: input paused to batch, until (0: not) */
    swmrbus__batch *cur;       /* receive thread: the batch being filled, or NULL */
    pthread_mutex_t free_mu;   /* guards the free batches */
    swmrbus__batch *free_list;
    unsigned n_free;
    bool free_mu_ok;
    /* receive thread, the read-ahead (sink.c): */
    uint64_t last_item_bytes;  /* the last message's size */
    uint64_t ahead_q;          /* queue_bytes when the writer last made progress */
    uint64_t ahead_ns;         /* ... and when */
    bool ahead_paused;         /* input paused at the read-ahead */
    bool burst;                /* the writer stalled: read on up to max_queue_bytes */
    swmrbus__stats stats;
    char dir[PATH_MAX]; /* canonical absolute data directory */
} swmrbus__sink;

/* A batch the writer is done with (its parts closed): kept for reuse, a
 * few at most, else freed. Thread-safe. */
void swmrbus__batch_release(swmrbus__sink *sk, swmrbus__batch *b);

/* The writer thread's main (core.c). Returns NULL; ends after a STOP item. */
void *swmrbus__core_main(void *sink);

#endif
