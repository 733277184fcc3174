/* swmrbus/stream.h — frame-stream messages (README "Frame stream") on
 * ZeroMQ sockets: receive and validate one, send or forward one.
 *
 * The header is decoded with swmrbus_header_decode (bounded, no allocation);
 * parts travel zero-copy. One thread per socket, as ZeroMQ requires. */
#ifndef SWMRBUS_STREAM_H
#define SWMRBUS_STREAM_H

#include <stdbool.h>
#include <stddef.h>
#include <zmq.h>

#include "swmrbus/err.h"
#include "swmrbus/export.h"
#include "swmrbus/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* One received message: its parts and its decoded header, whose slices
 * point into header's data (valid until the message is closed or the parts
 * are sent on). */
typedef struct swmrbus_frame_msg {
    zmq_msg_t header;     /* part 1 */
    zmq_msg_t payload;    /* part 2: frames only (has_payload) */
    bool has_payload;
    swmrbus_header h;
} swmrbus_frame_msg;

/* Receives one message from sock (flags: 0 or ZMQ_DONTWAIT) and checks it:
 * the header against lim, and the part count (a frame has 2 parts: header,
 * payload; start and end 1). The payload is NOT checked against the series'
 * format (a frame that carries no format belongs to a series only the caller
 * knows): use swmrbus_payload_check.
 * Returns OK with m filled (close it with swmrbus_frame_msg_close, or send
 * its parts on with swmrbus_frame_forward); EAGAIN when nothing was waiting
 * (flags ZMQ_DONTWAIT) or the socket is closing; EINVAL/ELIMIT when a
 * message was taken but rejected: *reason and why (one line) say why,
 * m->h.series holds its series when it had a valid one (else 0), and m needs
 * no closing. */
SWMRBUS_API swmrbus_err swmrbus_frame_recv(void *sock, int flags, const swmrbus_limits *lim,
                                           swmrbus_frame_msg *m, swmrbus_reason *reason,
                                           char *why, size_t whylen);

/* Closes m's parts. Safe to call twice. */
SWMRBUS_API void swmrbus_frame_msg_close(swmrbus_frame_msg *m);

/* Sends m's parts unchanged, zero-copy, on sock (flags: 0 waits for room,
 * ZMQ_DONTWAIT does not). OK: the parts were queued and m is closed; EAGAIN:
 * no room (m kept, try again); EZMQ: failed (m kept). */
SWMRBUS_API swmrbus_err swmrbus_frame_forward(void *sock, swmrbus_frame_msg *m, int flags);

/* Encodes h (with meta items for a start, as swmrbus_header_encode) into
 * scratch and sends it, then the payload (len bytes, copied by ZeroMQ) when
 * payload is not NULL. flags as for swmrbus_frame_forward; a message is sent
 * whole or not at all (EAGAIN only before its first part). */
SWMRBUS_API swmrbus_err swmrbus_frame_send(void *sock, const swmrbus_header *h,
                                           const swmrbus_meta_item *meta, size_t n_meta,
                                           const void *payload, size_t len,
                                           swmrbus_buf *scratch, int flags);

#ifdef __cplusplus
}
#endif
#endif
