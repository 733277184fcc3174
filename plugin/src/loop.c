/* loop.c — a component's run loop: sockets, control requests, timed work and
 * stop (swmrbus/loop.h). */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>
#include <zmq.h>

#include "swmrbus/clock.h"
#include "swmrbus/log.h"
#include "swmrbus/loop.h"
#include "swmrbus/pack.h"
#include "swmrbus/socket.h"

#define MS_NS UINT64_C(1000000)
#define MAX_WAIT_MS 1000 /* a turn at least this often: the work handler's clock */

typedef struct reader {
    void *socket;
    short events;
    swmrbus_loop_fn fn;
    void *user;
} reader;

struct swmrbus_loop {
    char name[SWMRBUS_NAME_MAX + 1];
    char kind[64];
    int stop_fd;
    atomic_bool stopping;
    bool stop_seen, ended;
    uint64_t start_ns;
    reader readers[SWMRBUS_LOOP_MAX_SOCKETS];
    size_t n_readers;
    void *control;
    swmrbus_control_fn control_fn;
    void *control_user;
    size_t max_request_bytes;
    swmrbus_buf reply;
    swmrbus_work_fn work_fn;
    void *work_user;
    swmrbus_stop_fn stop_fn;
    void *stop_user;
};

swmrbus_err swmrbus_loop_create(const char *name, const char *kind, swmrbus_loop **out)
{
    swmrbus_loop *l = calloc(1, sizeof *l);
    if (!l) return SWMRBUS_ENOMEM;
    snprintf(l->name, sizeof l->name, "%s", name ? name : "");
    snprintf(l->kind, sizeof l->kind, "%s", kind ? kind : "");
    l->start_ns = swmrbus_mono_ns();
    l->stop_fd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (l->stop_fd < 0) {
        free(l);
        return SWMRBUS_EIO;
    }
    *out = l;
    return SWMRBUS_OK;
}

void swmrbus_loop_destroy(swmrbus_loop **lp)
{
    if (!lp || !*lp) return;
    swmrbus_loop *l = *lp;
    close(l->stop_fd);
    swmrbus_buf_free(&l->reply);
    free(l);
    *lp = NULL;
}

static reader *find(swmrbus_loop *l, void *socket)
{
    for (size_t i = 0; i < l->n_readers; i++)
        if (l->readers[i].socket == socket) return &l->readers[i];
    return NULL;
}

swmrbus_err swmrbus_loop_add(swmrbus_loop *l, void *socket, short events, swmrbus_loop_fn fn,
                             void *user)
{
    if (!socket || !fn || socket == l->control || find(l, socket)) return SWMRBUS_EINVAL;
    if (l->n_readers == SWMRBUS_LOOP_MAX_SOCKETS) return SWMRBUS_ELIMIT;
    l->readers[l->n_readers++] = (reader){socket, events, fn, user};
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_loop_set_events(swmrbus_loop *l, void *socket, short events)
{
    reader *r = find(l, socket);
    if (!r) return SWMRBUS_ENOTFOUND;
    r->events = events;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_loop_control(swmrbus_loop *l, void *rep, swmrbus_control_fn fn, void *user,
                                 size_t max_request_bytes)
{
    if (rep && (!fn || find(l, rep))) return SWMRBUS_EINVAL;
    l->control = rep;
    l->control_fn = fn;
    l->control_user = user;
    l->max_request_bytes = max_request_bytes;
    return SWMRBUS_OK;
}

void swmrbus_loop_set_work(swmrbus_loop *l, swmrbus_work_fn fn, void *user)
{
    l->work_fn = fn;
    l->work_user = user;
}

void swmrbus_loop_on_stop(swmrbus_loop *l, swmrbus_stop_fn fn, void *user)
{
    l->stop_fn = fn;
    l->stop_user = user;
}

void swmrbus_loop_stop(swmrbus_loop *l)
{
    atomic_store(&l->stopping, true);
    uint64_t one = 1;
    ssize_t w = write(l->stop_fd, &one, sizeof one);
    (void)w;
}

bool swmrbus_loop_stopping(const swmrbus_loop *l) { return atomic_load(&l->stopping); }

void swmrbus_loop_end(swmrbus_loop *l) { l->ended = true; }

uint64_t swmrbus_loop_uptime_ns(const swmrbus_loop *l) { return swmrbus_mono_ns() - l->start_ns; }

const char *swmrbus_loop_name(const swmrbus_loop *l) { return l->name; }

const char *swmrbus_loop_kind(const swmrbus_loop *l) { return l->kind; }

/* Takes one request from the control socket and answers it. */
static void serve_control(swmrbus_loop *l)
{
    zmq_msg_t req;
    int parts = swmrbus_socket_recv(l->control, &req, 1, ZMQ_DONTWAIT);
    if (parts < 0) return;
    swmrbus_request rq;
    char why[240] = "";
    swmrbus_buf *out = &l->reply;
    out->len = 0;
    int packed;
    if (parts != 1) {
        packed = swmrbus_pack_reply(out, "a request is one msgpack map in one part");
    } else if (swmrbus_request_decode(zmq_msg_data(&req), zmq_msg_size(&req),
                                      l->max_request_bytes, &rq, why, sizeof why) != SWMRBUS_OK) {
        packed = swmrbus_pack_reply(out, why);
    } else {
        swmrbus_err rc = l->control_fn(&rq, out, why, sizeof why, l->control_user);
        if (rc != SWMRBUS_OK)
            packed = swmrbus_pack_reply(out, why[0] ? why : swmrbus_strerror(rc));
        else
            packed = out->len ? 0 : swmrbus_pack_reply(out, NULL);
    }
    zmq_msg_close(&req);
    if (packed != 0) swmrbus_pack_reply(out, "out of memory");
    /* A REP reply goes straight into the requester's pipe. If even the short
     * reply could not be packed, an empty part keeps REP's send/receive order. */
    if (zmq_send(l->control, out->data ? (const void *)out->data : "", out->data ? out->len : 0,
                 0) < 0)
        swmrbus_log(SWMRBUS_LOG_WARN, l->name, "control reply not sent: %s",
                    zmq_strerror(zmq_errno()));
}

swmrbus_err swmrbus_loop_run(swmrbus_loop *l)
{
    zmq_pollitem_t pi[SWMRBUS_LOOP_MAX_SOCKETS + 2];
    size_t idx[SWMRBUS_LOOP_MAX_SOCKETS + 2];
    uint64_t due = SWMRBUS_LOOP_IDLE;
    swmrbus_err rc = SWMRBUS_OK;
    while (!l->ended) {
        if (!l->stop_seen && atomic_load(&l->stopping)) {
            l->stop_seen = true;
            if (!l->stop_fn) break;
            l->stop_fn(l, l->stop_user);
            if (l->ended) break;
        }
        int n = 0;
        pi[n++] = (zmq_pollitem_t){NULL, l->stop_fd, (short)(l->stop_seen ? 0 : ZMQ_POLLIN), 0};
        if (l->control) pi[n++] = (zmq_pollitem_t){l->control, 0, ZMQ_POLLIN, 0};
        int first_reader = n;
        for (size_t i = 0; i < l->n_readers; i++) {
            if (!l->readers[i].events) continue;
            idx[n] = i;
            pi[n++] = (zmq_pollitem_t){l->readers[i].socket, 0, l->readers[i].events, 0};
        }
        uint64_t now = swmrbus_mono_ns();
        long timeout = MAX_WAIT_MS;
        if (due <= now)
            timeout = 0;
        else if (due != SWMRBUS_LOOP_IDLE && (due - now) / MS_NS < MAX_WAIT_MS)
            timeout = (long)((due - now + MS_NS - 1) / MS_NS);
        if (zmq_poll(pi, n, timeout) < 0) {
            if (zmq_errno() == EINTR) continue;
            swmrbus_log(SWMRBUS_LOG_ERROR, l->name, "poll: %s", zmq_strerror(zmq_errno()));
            rc = SWMRBUS_EZMQ;
            break;
        }
        if (pi[0].revents & ZMQ_POLLIN) {
            uint64_t v;
            ssize_t r = read(l->stop_fd, &v, sizeof v);
            (void)r;
        }
        if (l->control && (pi[1].revents & ZMQ_POLLIN)) serve_control(l);
        for (int k = first_reader; k < n && !l->ended; k++) {
            if (!pi[k].revents) continue;
            reader *r = &l->readers[idx[k]];
            if (r->fn(l, r->socket, pi[k].revents, r->user) != 0) {
                rc = SWMRBUS_EINVAL;
                l->ended = true;
            }
        }
        due = l->work_fn && !l->ended ? l->work_fn(l, swmrbus_mono_ns(), l->work_user)
                                      : SWMRBUS_LOOP_IDLE;
    }
    return rc;
}
