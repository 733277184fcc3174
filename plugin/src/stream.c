/* stream.c — frame-stream messages on sockets (swmrbus/stream.h). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "swmrbus/socket.h"
#include "swmrbus/stream.h"

static const char *type_name(swmrbus_msg_type t)
{
    return t == SWMRBUS_MSG_FRAME ? "frame" : t == SWMRBUS_MSG_START ? "start" : "end";
}

swmrbus_err swmrbus_frame_recv(void *sock, int flags, const swmrbus_limits *lim,
                               swmrbus_frame_msg *m, swmrbus_reason *reason, char *why,
                               size_t whylen)
{
    zmq_msg_t parts[2];
    memset(m, 0, sizeof *m);
    int n = swmrbus_socket_recv(sock, parts, 2, flags);
    if (n < 0) return SWMRBUS_EAGAIN;
    swmrbus_err rc = swmrbus_header_decode(zmq_msg_data(&parts[0]), zmq_msg_size(&parts[0]),
                                           lim, &m->h, reason, why, whylen);
    if (rc == SWMRBUS_OK && n != (m->h.type == SWMRBUS_MSG_FRAME ? 2 : 1)) {
        snprintf(why, whylen, "%s message with %d parts (a frame has 2: header, payload; "
                 "start and end have 1)", type_name(m->h.type), n);
        *reason = SWMRBUS_R_BAD_PAYLOAD;
        rc = SWMRBUS_EINVAL;
    }
    if (rc != SWMRBUS_OK) {
        for (int i = 0; i < n && i < 2; i++) zmq_msg_close(&parts[i]);
        /* keep h.series (the decoder leaves it set when it was valid) */
        uint64_t series = m->h.series;
        memset(&m->h, 0, sizeof m->h);
        m->h.series = series;
        return rc;
    }
    m->header = parts[0];
    m->has_payload = n == 2;
    if (m->has_payload)
        m->payload = parts[1];
    else
        zmq_msg_init(&m->payload);
    return SWMRBUS_OK;
}

void swmrbus_frame_msg_close(swmrbus_frame_msg *m)
{
    zmq_msg_close(&m->header);
    zmq_msg_close(&m->payload);
    zmq_msg_init(&m->header);
    zmq_msg_init(&m->payload);
    m->has_payload = false;
}

swmrbus_err swmrbus_frame_forward(void *sock, swmrbus_frame_msg *m, int flags)
{
    if (zmq_msg_send(&m->header, sock, flags | (m->has_payload ? ZMQ_SNDMORE : 0)) < 0)
        return zmq_errno() == EAGAIN ? SWMRBUS_EAGAIN : SWMRBUS_EZMQ;
    /* Once the first part is queued, the rest of the message always is. */
    if (m->has_payload && zmq_msg_send(&m->payload, sock, flags & ~ZMQ_DONTWAIT) < 0)
        return SWMRBUS_EZMQ;
    swmrbus_frame_msg_close(m);
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_frame_send(void *sock, const swmrbus_header *h,
                               const swmrbus_meta_item *meta, size_t n_meta,
                               const void *payload, size_t len, swmrbus_buf *scratch,
                               int flags)
{
    swmrbus_err rc = swmrbus_header_encode(h, meta, n_meta, scratch);
    if (rc != SWMRBUS_OK) return rc;
    if (zmq_send(sock, scratch->data, scratch->len, flags | (payload ? ZMQ_SNDMORE : 0)) < 0)
        return zmq_errno() == EAGAIN ? SWMRBUS_EAGAIN : SWMRBUS_EZMQ;
    if (payload && zmq_send(sock, payload, len, flags & ~ZMQ_DONTWAIT) < 0) return SWMRBUS_EZMQ;
    return SWMRBUS_OK;
}
