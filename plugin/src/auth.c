/* auth.c — the ZAP handler of the process (ZeroMQ RFC 27), one per ZeroMQ
 * context, started by the context's first CURVE server socket.
 *
 * Each CURVE server socket gets a ZAP domain of its own ("swmrbus-N"); the
 * handler admits a client when its public key is in that socket's allow
 * set, and answers 400 to everything else (an unknown domain included).
 * Clients that never reach ZAP — no CURVE at all, or a wrong server key —
 * fail the handshake (or, racing the server, close the connection during
 * it); a monitor on each server socket reports those, and both kinds count
 * as denied for the socket's component. A denial is logged
 * at most once a second per socket, with the count since the last line.
 *
 * The handler is a detached thread with a REP on inproc://zeromq.zap.01 in
 * the context (bound by the registering thread, before its socket binds, so
 * no handshake ever finds the endpoint empty; libzmq would then admit any
 * client). When the context terminates the thread unlinks its state, frees
 * it, and closes its sockets last, so zmq_ctx_term returns only after all
 * of it is gone. czmq's zauth would do the same for one allow set per
 * context, not per socket, and add a dependency; this is ~300 lines. */
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "auth.h"
#include "swmrbus/clock.h"
#include "swmrbus/curve.h"
#include "swmrbus/log.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define ZAP_MAX_PARTS 8
#define LOG_EVERY_NS 1000000000ull
#define POLL_MS 200

typedef struct auth_sock {
    struct auth_sock *next;
    char domain[32];
    char component[SWMRBUS_NAME_MAX + 1];
    char role[16];
    uint8_t (*allow)[SWMRBUS_CURVE_KEY_BYTES];
    size_t n_allow;
    void *mon;            /* PAIR connected to the socket's monitor, or NULL */
    uint64_t denied;      /* every denial */
    uint64_t unreported;  /* denials since the last log line */
    uint64_t last_log_ns;
} auth_sock;

typedef struct auth_ctx {
    struct auth_ctx *next;
    void *zctx;
    void *rep;
    auth_sock *socks;
} auth_ctx;

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static auth_ctx *g_ctxs; /* guarded by g_mu, as is everything reachable from it */
static uint64_t g_seq;

/* A denial's log line, formatted under the lock and emitted after it. */
typedef struct pending_log {
    bool due;
    char component[SWMRBUS_NAME_MAX + 1];
    char text[320];
} pending_log;

/* Counts one denial of as; fills pl when a log line is due. Under g_mu. */
static void deny_locked(auth_sock *as, const char *what, pending_log *pl)
{
    uint64_t now = swmrbus_mono_ns();
    as->denied++;
    as->unreported++;
    pl->due = false;
    if (as->last_log_ns && now - as->last_log_ns < LOG_EVERY_NS) return;
    pl->due = true;
    snprintf(pl->component, sizeof pl->component, "%s", as->component);
    snprintf(pl->text, sizeof pl->text,
             "%s: CURVE denied %" PRIu64 " client%s since the last report (%" PRIu64
             " in all); last: %s", as->role, as->unreported, as->unreported == 1 ? "" : "s",
             as->denied, what);
    as->unreported = 0;
    as->last_log_ns = now;
}

static void emit(const pending_log *pl)
{
    if (pl->due) swmrbus_log(SWMRBUS_LOG_WARN, pl->component, "%s", pl->text);
}

static bool part_is(const zmq_msg_t *m, const char *s)
{
    size_t n = strlen(s);
    return zmq_msg_size((zmq_msg_t *)m) == n && memcmp(zmq_msg_data((zmq_msg_t *)m), s, n) == 0;
}

static void send_str(void *rep, const char *s, int more)
{
    zmq_send(rep, s, strlen(s), more ? ZMQ_SNDMORE : 0);
}

/* Reads one ZAP request and answers it (RFC 27: version, request id,
 * domain, address, identity, mechanism, credentials...). */
static void handle_zap(auth_ctx *ac)
{
    zmq_msg_t part[ZAP_MAX_PARTS];
    int n = 0, more = 1;
    bool ok = false;
    char user[SWMRBUS_CURVE_Z85_LEN + 1] = "";
    char what[200] = "a malformed ZAP request";
    pending_log pl = {0};

    while (more) {
        zmq_msg_t m;
        zmq_msg_init(&m);
        if (zmq_msg_recv(&m, ac->rep, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&m);
            if (n == 0) return; /* spurious wake-up */
            break;
        }
        more = zmq_msg_more(&m);
        if (n < ZAP_MAX_PARTS) part[n++] = m;
        else zmq_msg_close(&m);
    }
    if (n < 6 || !part_is(&part[0], "1.0")) goto reply; /* REP must answer anyway */

    char address[64] = "?";
    size_t al = zmq_msg_size(&part[3]);
    if (al > 0 && al < sizeof address) {
        memcpy(address, zmq_msg_data(&part[3]), al);
        address[al] = '\0';
        for (char *p = address; *p; p++)
            if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    }
    pthread_mutex_lock(&g_mu);
    auth_sock *as = ac->socks;
    for (; as; as = as->next)
        if (part_is(&part[2], as->domain)) break;
    if (!as) {
        snprintf(what, sizeof what, "a request for an unknown ZAP domain from %s", address);
    } else if (!part_is(&part[5], "CURVE") || n < 7 ||
               zmq_msg_size(&part[6]) != SWMRBUS_CURVE_KEY_BYTES) {
        snprintf(what, sizeof what, "a client without CURVE credentials from %s", address);
        deny_locked(as, what, &pl);
    } else {
        const uint8_t *key = zmq_msg_data(&part[6]);
        for (size_t i = 0; i < as->n_allow && !ok; i++)
            ok = memcmp(as->allow[i], key, SWMRBUS_CURVE_KEY_BYTES) == 0;
        zmq_z85_encode(user, key, SWMRBUS_CURVE_KEY_BYTES);
        if (!ok) {
            snprintf(what, sizeof what, "key %s from %s (not in allow)", user, address);
            deny_locked(as, what, &pl);
        }
    }
    pthread_mutex_unlock(&g_mu);
reply:
    send_str(ac->rep, "1.0", 1);
    if (n >= 2)
        zmq_send(ac->rep, zmq_msg_data(&part[1]), zmq_msg_size(&part[1]), ZMQ_SNDMORE);
    else
        send_str(ac->rep, "", 1);
    send_str(ac->rep, ok ? "200" : "400", 1);
    send_str(ac->rep, ok ? "OK" : "not allowed", 1);
    send_str(ac->rep, ok ? user : "", 1);
    send_str(ac->rep, "", 0); /* metadata: none */
    for (int i = 0; i < n; i++) zmq_msg_close(&part[i]);
    emit(&pl);
}

/* Drains the monitor events of as: a failed handshake is a denial. */
static void handle_monitor(auth_sock *as)
{
    for (;;) {
        zmq_msg_t ev, addr;
        pending_log pl = {0};
        zmq_msg_init(&ev);
        zmq_msg_init(&addr);
        if (zmq_msg_recv(&ev, as->mon, ZMQ_DONTWAIT) < 0) {
            zmq_msg_close(&ev);
            zmq_msg_close(&addr);
            return;
        }
        if (zmq_msg_more(&ev)) zmq_msg_recv(&addr, as->mon, 0);
        if (zmq_msg_size(&ev) == 6) {
            uint16_t event;
            uint32_t value;
            memcpy(&event, zmq_msg_data(&ev), 2);
            memcpy(&value, (char *)zmq_msg_data(&ev) + 2, 4);
            if (event == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL ||
                event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
                char what[160];
                if (event == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL)
                    snprintf(what, sizeof what, "a connection that closed during the handshake "
                             "(a client without CURVE, or with a wrong server key?)");
                else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
                    snprintf(what, sizeof what, "a client without CURVE (mechanism mismatch)");
                else if (value == ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC)
                    snprintf(what, sizeof what,
                             "a handshake that failed to decrypt (wrong server key?)");
                else
                    snprintf(what, sizeof what, "a failed handshake (protocol error 0x%08x)",
                             (unsigned)value);
                pthread_mutex_lock(&g_mu);
                deny_locked(as, what, &pl);
                pthread_mutex_unlock(&g_mu);
                emit(&pl);
            }
        }
        zmq_msg_close(&ev);
        zmq_msg_close(&addr);
    }
}

static void *handler_main(void *arg)
{
    auth_ctx *ac = arg;
    zmq_pollitem_t *items = NULL;
    auth_sock **who = NULL;
    size_t cap = 0;

    for (;;) {
        size_t n = 1;
        pthread_mutex_lock(&g_mu);
        size_t want = 1;
        for (auth_sock *as = ac->socks; as; as = as->next) want += as->mon != NULL;
        if (want > cap) {
            zmq_pollitem_t *gi = realloc(items, want * sizeof *items);
            if (gi) items = gi;
            auth_sock **gw = realloc(who, want * sizeof *who);
            if (gw) who = gw;
            if (gi && gw) cap = want;
        }
        if (!items || !who) { /* no memory for even one item: still serve ZAP */
            pthread_mutex_unlock(&g_mu);
            zmq_pollitem_t one = {ac->rep, 0, ZMQ_POLLIN, 0};
            if (zmq_poll(&one, 1, POLL_MS) < 0 && zmq_errno() == ETERM) break;
            if (one.revents & ZMQ_POLLIN) handle_zap(ac);
            continue;
        }
        items[0] = (zmq_pollitem_t){ac->rep, 0, ZMQ_POLLIN, 0};
        for (auth_sock *as = ac->socks; as && n < cap; as = as->next)
            if (as->mon) {
                items[n] = (zmq_pollitem_t){as->mon, 0, ZMQ_POLLIN, 0};
                who[n++] = as;
            }
        pthread_mutex_unlock(&g_mu);

        int rc = zmq_poll(items, (int)n, POLL_MS);
        if (rc < 0) {
            if (zmq_errno() == EINTR) continue;
            break; /* ETERM: the context is terminating */
        }
        if (items[0].revents & ZMQ_POLLIN) handle_zap(ac);
        for (size_t i = 1; i < n; i++)
            if (items[i].revents & ZMQ_POLLIN) handle_monitor(who[i]);
    }
    free(items);
    free(who);

    /* Unlink and free everything, then close the sockets: the last close
     * lets zmq_ctx_term return, with nothing of ours left behind. */
    pthread_mutex_lock(&g_mu);
    for (auth_ctx **pp = &g_ctxs; *pp; pp = &(*pp)->next)
        if (*pp == ac) {
            *pp = ac->next;
            break;
        }
    pthread_mutex_unlock(&g_mu);
    void *rep = ac->rep;
    while (ac->socks) {
        auth_sock *as = ac->socks;
        ac->socks = as->next;
        if (as->mon) zmq_close(as->mon);
        free(as->allow);
        free(as);
    }
    free(ac);
    zmq_close(rep);
    return NULL;
}

/* The handler of zctx, started if needed. Under g_mu. */
static auth_ctx *handler_locked(void *zctx, char *err, size_t errlen)
{
    auth_ctx *ac;
    pthread_t th;
    pthread_attr_t attr;
    int zero = 0;

    for (ac = g_ctxs; ac; ac = ac->next)
        if (ac->zctx == zctx) return ac;
    ac = calloc(1, sizeof *ac);
    if (!ac) return NULL;
    ac->zctx = zctx;
    ac->rep = zmq_socket(zctx, ZMQ_REP);
    if (!ac->rep || zmq_setsockopt(ac->rep, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_bind(ac->rep, ZAP_ENDPOINT) != 0) {
        int e = zmq_errno();
        snprintf(err, errlen, "ZAP handler: cannot bind %s: %s%s", ZAP_ENDPOINT, zmq_strerror(e),
                 e == EADDRINUSE ? " (another ZAP handler owns this ZeroMQ context)" : "");
        goto fail;
    }
    if (pthread_attr_init(&attr) != 0) goto nothread;
    pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
    int prc = pthread_create(&th, &attr, handler_main, ac);
    pthread_attr_destroy(&attr);
    if (prc != 0) goto nothread;
    ac->next = g_ctxs;
    g_ctxs = ac;
    return ac;
nothread:
    snprintf(err, errlen, "ZAP handler: cannot start its thread");
fail:
    if (ac->rep) zmq_close(ac->rep);
    free(ac);
    return NULL;
}

swmrbus_err swmrbus__auth_server(void *zctx, void *s, const swmrbus_curve_cfg *cc,
                                 const char *role, char *err, size_t errlen)
{
    char tmp[200] = "", mon_ep[64];
    swmrbus_err rc = SWMRBUS_EZMQ;
    auth_sock *as = calloc(1, sizeof *as);
    int zero = 0;

    if (!err || errlen == 0) {
        err = tmp;
        errlen = sizeof tmp;
    }
    if (!as || (cc->n_allow && !(as->allow = malloc(cc->n_allow * sizeof *as->allow)))) {
        snprintf(err, errlen, "%s: out of memory", role);
        free(as);
        return SWMRBUS_ENOMEM;
    }
    if (cc->n_allow) memcpy(as->allow, cc->allow, cc->n_allow * sizeof *as->allow);
    as->n_allow = cc->n_allow;
    snprintf(as->component, sizeof as->component, "%s", cc->component ? cc->component : "");
    snprintf(as->role, sizeof as->role, "%s", role);

    pthread_mutex_lock(&g_mu);
    auth_ctx *ac = handler_locked(zctx, err, errlen);
    if (!ac) goto out;
    uint64_t id = ++g_seq;
    snprintf(as->domain, sizeof as->domain, "swmrbus-%" PRIu64, id);
    snprintf(mon_ep, sizeof mon_ep, "inproc://swmrbus-zap-monitor-%" PRIu64, id);
    if (zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, as->domain, strlen(as->domain)) != 0 ||
        zmq_socket_monitor(s, mon_ep, ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                                           ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) != 0 ||
        !(as->mon = zmq_socket(zctx, ZMQ_PAIR)) ||
        zmq_setsockopt(as->mon, ZMQ_LINGER, &zero, sizeof zero) != 0 ||
        zmq_connect(as->mon, mon_ep) != 0) {
        snprintf(err, errlen, "%s: ZAP set-up: %s", role, zmq_strerror(zmq_errno()));
        goto out;
    }
    as->next = ac->socks;
    ac->socks = as; /* the handler thread owns as->mon from here on */
    as = NULL;
    rc = SWMRBUS_OK;
out:
    pthread_mutex_unlock(&g_mu);
    if (as) {
        if (as->mon) zmq_close(as->mon);
        free(as->allow);
        free(as);
    }
    return rc;
}

uint64_t swmrbus_auth_denied(const char *component)
{
    uint64_t n = 0;
    if (!component) return 0;
    pthread_mutex_lock(&g_mu);
    for (auth_ctx *ac = g_ctxs; ac; ac = ac->next)
        for (auth_sock *as = ac->socks; as; as = as->next)
            if (strcmp(as->component, component) == 0) n += as->denied;
    pthread_mutex_unlock(&g_mu);
    return n;
}
