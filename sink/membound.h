/* sink/membound.h — the sink's memory bound (internal).
 *
 * ZeroMQ holds received messages outside the sink's own queue: up to
 * ZMQ_RCVHWM whole messages in each connection's pipe, one more being
 * decoded, and the kernel holds up to twice ZMQ_RCVBUF per connection. From
 * limits.max_memory_bytes this derives the input socket's options so that
 *
 *   queue (max_queue_bytes + the one message read past it)
 *   + per sender: (rcvhwm + 1) messages + 2 x rcvbuf
 *
 * stays under max_memory_bytes for the senders it counts: one for a bound
 * input (each further connected peer adds per_sender_bytes), one per
 * endpoint for a connecting input. A message counts as two parts of the
 * largest part the socket takes (ZMQ_MAXMSGSIZE); messages of more than two
 * parts are rejected but held for a moment and are outside the bound. */
#ifndef SWMRBUS_SINK_MEMBOUND_H
#define SWMRBUS_SINK_MEMBOUND_H

#include <stddef.h>
#include <stdint.h>

#include "swmrbus/config.h"
#include "swmrbus/err.h"

typedef struct swmrbus__mem_plan {
    int64_t max_part_bytes;    /* ZMQ_MAXMSGSIZE: a larger part is dropped by ZeroMQ */
    uint64_t max_msg_bytes;    /* a message as the bound counts it (two parts) */
    int rcvhwm;                /* ZMQ_RCVHWM, messages per connection, >= 1 */
    int rcvbuf;                /* ZMQ_RCVBUF, bytes (the kernel may cap and doubles it) */
    uint64_t queue_bytes;      /* max_queue_bytes + one message */
    uint64_t per_sender_bytes; /* (rcvhwm + 1) messages + 2 x rcvbuf */
    unsigned senders;          /* connections the bound counts */
    uint64_t bound_bytes;      /* queue_bytes + senders x per_sender_bytes <= max_memory */
} swmrbus__mem_plan;

/* Largest payload part taken for a frame of max_frame_bytes raw bytes: the
 * raw size plus a quarter (a compressed chunk exceeds its raw size only by
 * its per-block overhead: under 20 % for blocks of 128 bytes or more) plus
 * the header limit and 64 KiB. Saturates at UINT64_MAX. */
uint64_t swmrbus__mem_max_part(const swmrbus_limits *l);

/* Derives the plan from cfg (limits, max_memory_bytes, in.hwm as an upper
 * limit of rcvhwm when > 0, in.bind and in.n_endpoints). ECONFIG with a
 * one-line err naming limits.max_memory_bytes when it leaves no room for
 * one message in the pipe besides the queue. Pure: no allocation, no I/O. */
swmrbus_err swmrbus__mem_plan_make(const swmrbus_component_cfg *cfg, swmrbus__mem_plan *p,
                                   char *err, size_t errlen);

#endif
