/* swmrbus/loop.h — a component's run loop (after czmq's zloop).
 *
 * Every component's run() has the same shape: poll its sockets, answer
 * control requests, do timed work, end when the host calls stop(). The loop
 * does the common part once:
 *
 *   swmrbus_loop_create(name, "hitfind", &loop);         // in create()
 *   swmrbus_loop_add(loop, in, ZMQ_POLLIN, on_frame, self);
 *   swmrbus_loop_control(loop, control, on_request, self, max_bytes);
 *   swmrbus_loop_run(loop);                               // in run()
 *   swmrbus_loop_stop(loop);                              // in stop(): any thread
 *   swmrbus_loop_destroy(&loop);                          // in destroy()
 *
 * A loop belongs to the thread that runs it: every function but
 * swmrbus_loop_stop() and swmrbus_loop_stopping() is called from that thread
 * (or before run() starts). Handlers run on it, one at a time. */
#ifndef SWMRBUS_LOOP_H
#define SWMRBUS_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swmrbus/err.h"
#include "swmrbus/export.h"
#include "swmrbus/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SWMRBUS_LOOP_MAX_SOCKETS 16
#define SWMRBUS_LOOP_IDLE UINT64_MAX /* a work handler with nothing timed to do */

typedef struct swmrbus_loop swmrbus_loop;

/* Called when socket has the events it was registered for (revents: what it
 * has). Return 0 to go on, -1 to end the loop (run() returns EINVAL then). */
typedef int (*swmrbus_loop_fn)(swmrbus_loop *loop, void *socket, short revents, void *user);

/* Called once per loop turn, after the socket handlers, with the monotonic
 * time. Returns the monotonic ns when it wants to be called again at the
 * latest: now or earlier = at once (the loop polls without waiting),
 * SWMRBUS_LOOP_IDLE = only when a socket has something. */
typedef uint64_t (*swmrbus_work_fn)(swmrbus_loop *loop, uint64_t now_ns, void *user);

/* Called on the loop's thread once, at the first turn after
 * swmrbus_loop_stop(). Without it the loop ends there; with it, the loop goes
 * on until a handler calls swmrbus_loop_end() (to drain, finish files, ...). */
typedef void (*swmrbus_stop_fn)(swmrbus_loop *loop, void *user);

/* Answers one decoded control request. Return SWMRBUS_OK with reply left
 * empty for {ok: true}, or with reply filled with a whole msgpack map (a
 * status reply: swmrbus_pack_status_head() and the component's keys); any
 * other value for {ok: false, error: why} (why holds one line). */
typedef swmrbus_err (*swmrbus_control_fn)(const swmrbus_request *rq, swmrbus_buf *reply,
                                          char *why, size_t whylen, void *user);

/* Creates a loop for the component called name (for logs; copied) of the
 * given kind ("sink", ...: the status reply's kind; copied). ENOMEM, or EIO
 * when the stop event cannot be made. */
SWMRBUS_API swmrbus_err swmrbus_loop_create(const char *name, const char *kind,
                                            swmrbus_loop **out);

/* Frees *loop (not the sockets: they are the component's) and sets it NULL. */
SWMRBUS_API void swmrbus_loop_destroy(swmrbus_loop **loop);

/* Registers a ZeroMQ socket (not NULL) for events (ZMQ_POLLIN and/or
 * ZMQ_POLLOUT), calling fn with user. ELIMIT beyond SWMRBUS_LOOP_MAX_SOCKETS,
 * EINVAL for a NULL socket or one already registered. */
SWMRBUS_API swmrbus_err swmrbus_loop_add(swmrbus_loop *loop, void *socket, short events,
                                         swmrbus_loop_fn fn, void *user);

/* Changes the events a registered socket is polled for; 0 pauses it (e.g. an
 * input while the component's queue is full). ENOTFOUND if not registered. */
SWMRBUS_API swmrbus_err swmrbus_loop_set_events(swmrbus_loop *loop, void *socket,
                                                short events);

/* Serves the REP socket rep (NULL: nothing to serve): each request goes
 * through the bounded decoder (at most max_request_bytes), and the loop
 * itself answers a multipart or undecodable request with {ok: false, error};
 * a decoded one goes to fn, whose result the loop sends. Replies never block
 * the loop. */
SWMRBUS_API swmrbus_err swmrbus_loop_control(swmrbus_loop *loop, void *rep,
                                             swmrbus_control_fn fn, void *user,
                                             size_t max_request_bytes);

/* Sets the work handler (NULL: none) and the stop handler (NULL: end at stop). */
SWMRBUS_API void swmrbus_loop_set_work(swmrbus_loop *loop, swmrbus_work_fn fn, void *user);
SWMRBUS_API void swmrbus_loop_on_stop(swmrbus_loop *loop, swmrbus_stop_fn fn, void *user);

/* Runs until stop (without a stop handler), swmrbus_loop_end() or a handler
 * returning -1. Returns OK, EINVAL (a handler ended it) or EZMQ (poll failed:
 * logged). Call once. */
SWMRBUS_API swmrbus_err swmrbus_loop_run(swmrbus_loop *loop);

/* Asks the loop to stop: thread-safe, idempotent, non-blocking, async-signal
 * safe; may be called before run(). */
SWMRBUS_API void swmrbus_loop_stop(swmrbus_loop *loop);

/* True once swmrbus_loop_stop() was called. Thread-safe. */
SWMRBUS_API bool swmrbus_loop_stopping(const swmrbus_loop *loop);

/* Ends the loop after the current turn (from a handler on its thread). */
SWMRBUS_API void swmrbus_loop_end(swmrbus_loop *loop);

/* Monotonic ns since the loop was created (a status reply's uptime_s). */
SWMRBUS_API uint64_t swmrbus_loop_uptime_ns(const swmrbus_loop *loop);

/* The name and kind given at creation. */
SWMRBUS_API const char *swmrbus_loop_name(const swmrbus_loop *loop);
SWMRBUS_API const char *swmrbus_loop_kind(const swmrbus_loop *loop);

#ifdef __cplusplus
}
#endif
#endif
