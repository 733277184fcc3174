/* source/bufpool.h — the source's pool of frame buffers (internal).
 *
 * A row is read straight into a pool buffer and sent from it without a copy
 * (zmq_msg_init_data): ZeroMQ holds the message after zmq_msg_send until
 * its I/O thread has written it (or the consumer closed it, inproc), and
 * only then calls the free function, which gives the buffer back. So a
 * buffer is reused only once ZeroMQ is done with it, and a reused buffer's
 * pages are already mapped (a fresh malloc of a large frame page-faults on
 * every page as it is first written).
 *
 * Memory: the pool keeps for reuse at most max_bytes (or a few frames'
 * worth when that is more: SWMRBUS__BUFPOOL_MIN_BUFS buffers of the size
 * asked), counting the buffers in flight: when a frame does not fit, idle
 * buffers are freed to make room, and when the buffers in flight alone
 * fill the bound a fresh buffer is taken anyway and freed, not kept, when
 * it comes back. The pool never holds the caller back: what is in flight
 * is bounded by out.hwm, as for any message (a pool that made the source
 * wait would let one stuck PUB subscriber or PUSH peer, holding the pool's
 * buffers in its pipe, stop every other consumer).
 *
 * Thread-safe (one mutex): buffers are taken by the source's thread and
 * given back from ZeroMQ's threads. The pool outlives its destroy until the
 * last buffer in flight comes back. */
#ifndef SWMRBUS_SOURCE_BUFPOOL_H
#define SWMRBUS_SOURCE_BUFPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <zmq.h>

#include "swmrbus/err.h"

typedef struct swmrbus__bufpool swmrbus__bufpool;

#define SWMRBUS__BUFPOOL_MIN_BUFS 16

/* ENOMEM. */
swmrbus_err swmrbus__bufpool_create(size_t max_bytes, swmrbus__bufpool **out);

/* The owner lets go: idle buffers are freed, the pool itself when the last
 * buffer in flight comes back. Sets *p NULL; safe with NULL. */
void swmrbus__bufpool_destroy(swmrbus__bufpool **p);

/* A buffer of at least cap bytes (an idle one of cap to 2 cap bytes when
 * there is one), 64-byte aligned; NULL when out of memory. */
void *swmrbus__bufpool_get(swmrbus__bufpool *p, size_t cap);

/* Gives back a buffer of swmrbus__bufpool_get that was not sent. */
void swmrbus__bufpool_put(void *buf);

/* Makes m a message of the first len bytes of buf (a buffer of
 * swmrbus__bufpool_get), without copying: m owns buf from then on, and the
 * buffer goes back to its pool when ZeroMQ frees the message. On failure
 * (ENOMEM) buf is still the caller's. */
swmrbus_err swmrbus__bufpool_msg(zmq_msg_t *m, void *buf, size_t len);

#endif
