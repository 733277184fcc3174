/* swmrbus/socket.h — a component's ZeroMQ socket from its config. */
#ifndef SWMRBUS_SOCKET_H
#define SWMRBUS_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "swmrbus/config.h"
#include "swmrbus/err.h"
#include "swmrbus/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options a component sets on a socket besides its config. */
typedef struct swmrbus_socket_opts {
    const char *name;      /* prefixes error texts ("in", "out", ...); NULL: "socket" */
    int hwm_opt;           /* ZMQ_SNDHWM or ZMQ_RCVHWM, set to the config's hwm; 0: none */
    int linger_ms;         /* ZMQ_LINGER: 0 drops unsent messages at close, -1 waits */
    int64_t max_msg_bytes; /* ZMQ_MAXMSGSIZE when > 0: larger messages are dropped */
    int rcvbuf;            /* ZMQ_RCVBUF (kernel receive buffer, bytes) when > 0 */
} swmrbus_socket_opts;

/* Creates a socket of zmq_type (ZMQ_PULL, ZMQ_PUB, ...) in the ZeroMQ context
 * zctx, sets opts (NULL: linger 0, nothing else) and, for ZMQ_SUB, subscribes
 * to everything, all before it binds (sc->bind) or connects to every endpoint
 * of sc in order (listeners and sessions copy options then, so options set
 * afterwards would not reach them). On success *out owns the socket (close it
 * with zmq_close) and SWMRBUS_OK is returned; on any failure the socket is
 * closed, *out is untouched, SWMRBUS_EZMQ is returned and err (may be NULL)
 * holds "<name>: cannot bind|connect <endpoint>: <reason>" or
 * "<name>: <reason>". Thread-safe as far as ZeroMQ is: zctx may be shared. */
SWMRBUS_API swmrbus_err swmrbus_socket_open(void *zctx, int zmq_type,
                                            const swmrbus_socket_cfg *sc,
                                            const swmrbus_socket_opts *opts, void **out,
                                            char *err, size_t errlen);

/* Receives one whole multipart message from sock: its first max_parts parts
 * into parts[0 .. max_parts) (each initialised here; the caller closes the
 * ones returned with zmq_msg_close, or moves them on with zmq_msg_send), any
 * further parts read and dropped, so the next call starts at a message
 * boundary. flags: 0 or ZMQ_DONTWAIT (for the first part; the rest of a
 * message is always there once its first part is). Returns the message's
 * total number of parts (may exceed max_parts: the caller can reject a
 * message with too many), or -1 when nothing could be received (zmq_errno():
 * EAGAIN, ETERM, EINTR); then no part needs closing. One thread per socket,
 * as ZeroMQ requires. */
SWMRBUS_API int swmrbus_socket_recv(void *sock, zmq_msg_t *parts, int max_parts, int flags);

#ifdef __cplusplus
}
#endif
#endif
