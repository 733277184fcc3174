/* auth.h — internal: the process's ZAP handler (one per ZeroMQ context). */
#ifndef SWMRBUS_AUTH_H
#define SWMRBUS_AUTH_H

#include <stddef.h>

#include "swmrbus/config.h"
#include "swmrbus/err.h"

/* Makes s, a socket of zctx that will bind as a CURVE server, subject to
 * cc's allow set: gives s a ZAP domain of its own, starts zctx's ZAP handler
 * (bound to inproc://zeromq.zap.01 before this returns, so no handshake can
 * precede it) when it is the first, and watches s for failed handshakes.
 * Call before s binds. role ("in", ...) names the socket in logs. The
 * handler ends, freeing everything, when zctx is terminated. EZMQ (err says
 * why, e.g. another ZAP handler owns the endpoint), ENOMEM. Thread-safe. */
swmrbus_err swmrbus__auth_server(void *zctx, void *s, const swmrbus_curve_cfg *cc,
                                 const char *role, char *err, size_t errlen);

#endif
