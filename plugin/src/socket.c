/* plugin/src/socket.c — a component's ZeroMQ socket from its config: create,
 * set options, then bind or connect every endpoint. */
#include <stdio.h>
#include <zmq.h>

#include "swmrbus/socket.h"

static void set_err(char *err, size_t errlen, const char *name, const char *what,
                    const char *ep)
{
    if (!err || errlen == 0) return;
    if (ep)
        snprintf(err, errlen, "%s: cannot %s %s: %s", name, what, ep, zmq_strerror(zmq_errno()));
    else
        snprintf(err, errlen, "%s: %s", name, zmq_strerror(zmq_errno()));
}

swmrbus_err swmrbus_socket_open(void *zctx, int zmq_type, const swmrbus_socket_cfg *sc,
                                const swmrbus_socket_opts *opts, void **out, char *err,
                                size_t errlen)
{
    static const swmrbus_socket_opts none = {0};
    if (!opts) opts = &none;
    const char *name = opts->name ? opts->name : "socket";
    swmrbus_err rc = SWMRBUS_EZMQ;
    void *s = zmq_socket(zctx, zmq_type);
    if (!s) {
        set_err(err, errlen, name, NULL, NULL);
        goto out;
    }
    int linger = opts->linger_ms;
    if (zmq_setsockopt(s, ZMQ_LINGER, &linger, sizeof linger) != 0 ||
        (opts->hwm_opt && sc->hwm >= 0 &&
         zmq_setsockopt(s, opts->hwm_opt, &sc->hwm, sizeof sc->hwm) != 0) ||
        (zmq_type == ZMQ_SUB && zmq_setsockopt(s, ZMQ_SUBSCRIBE, "", 0) != 0) ||
        (opts->max_msg_bytes > 0 &&
         zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &opts->max_msg_bytes, sizeof opts->max_msg_bytes) != 0) ||
        (opts->rcvbuf > 0 &&
         zmq_setsockopt(s, ZMQ_RCVBUF, &opts->rcvbuf, sizeof opts->rcvbuf) != 0)) {
        set_err(err, errlen, name, NULL, NULL);
        goto out;
    }
    for (unsigned i = 0; i < sc->n_endpoints; i++) {
        const char *ep = sc->endpoints[i];
        if ((sc->bind ? zmq_bind(s, ep) : zmq_connect(s, ep)) != 0) {
            set_err(err, errlen, name, sc->bind ? "bind" : "connect", ep);
            goto out;
        }
    }
    *out = s;
    s = NULL;
    rc = SWMRBUS_OK;
out:
    if (s) zmq_close(s);
    return rc;
}
