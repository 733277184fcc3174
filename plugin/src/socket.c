/* plugin/src/socket.c — a component's ZeroMQ socket from its config: create,
 * set options, then bind or connect every endpoint. */
#include <stdbool.h>
#include <stdio.h>
#include <zmq.h>

#include "auth.h"
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

/* CURVE (issue 9): a binding socket is a CURVE server whose clients the
 * context's ZAP handler admits by its allow set; a connecting one a client
 * that knows the server's key. Set before bind/connect, like every option. */
static swmrbus_err apply_curve(void *zctx, void *s, const swmrbus_socket_cfg *sc,
                               const char *name, char *err, size_t errlen)
{
    const swmrbus_curve_cfg *cc = &sc->curve;
    int one = 1;
    if (!zmq_has("curve")) {
        if (err && errlen) snprintf(err, errlen, "%s: this libzmq has no CURVE support", name);
        return SWMRBUS_EZMQ;
    }
    if (sc->bind) {
        if (zmq_setsockopt(s, ZMQ_CURVE_SERVER, &one, sizeof one) != 0 ||
            zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, cc->secret_key, sizeof cc->secret_key) != 0) {
            set_err(err, errlen, name, NULL, NULL);
            return SWMRBUS_EZMQ;
        }
        return swmrbus__auth_server(zctx, s, cc, name, err, errlen);
    }
    if (zmq_setsockopt(s, ZMQ_CURVE_SERVERKEY, cc->server_key, sizeof cc->server_key) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_PUBLICKEY, cc->public_key, sizeof cc->public_key) != 0 ||
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, cc->secret_key, sizeof cc->secret_key) != 0) {
        set_err(err, errlen, name, NULL, NULL);
        return SWMRBUS_EZMQ;
    }
    return SWMRBUS_OK;
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
    if (sc->curve.present) {
        rc = apply_curve(zctx, s, sc, name, err, errlen);
        if (rc != SWMRBUS_OK) goto out;
        rc = SWMRBUS_EZMQ;
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

int swmrbus_socket_recv(void *sock, zmq_msg_t *parts, int max_parts, int flags)
{
    if (max_parts < 1) return -1;
    zmq_msg_init(&parts[0]);
    if (zmq_msg_recv(&parts[0], sock, flags) < 0) {
        zmq_msg_close(&parts[0]);
        return -1;
    }
    int n = 1;
    bool more = zmq_msg_more(&parts[0]);
    zmq_msg_t extra;
    zmq_msg_init(&extra);
    while (more) {
        zmq_msg_t *m = n < max_parts ? &parts[n] : &extra;
        if (n < max_parts) zmq_msg_init(m);
        if (zmq_msg_recv(m, sock, 0) < 0) {
            /* Only at context termination: the message is cut short. */
            if (n < max_parts) zmq_msg_close(m);
            break;
        }
        n++;
        more = zmq_msg_more(m);
    }
    zmq_msg_close(&extra);
    return n;
}
