/* swmrbus/socket.h — a component's ZeroMQ socket from its config. */
#ifndef SWMRBUS_SOCKET_H
#define SWMRBUS_SOCKET_H

#include <stddef.h>
#include <stdint.h>

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

#ifdef __cplusplus
}
#endif
#endif
