/* membound.c — the sink's memory bound: the input socket's receive
 * high-water mark and kernel buffer from limits.max_memory_bytes. */
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "membound.h"

#define RCVBUF_MIN (64u * 1024u)
#define RCVBUF_MAX (4u * 1024u * 1024u)
#define PART_OVERHEAD 128u /* ZeroMQ's bookkeeping per message part, about */

static uint64_t sat_add(uint64_t a, uint64_t b) { return a > UINT64_MAX - b ? UINT64_MAX : a + b; }

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    return b && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

uint64_t swmrbus__mem_max_part(const swmrbus_limits *l)
{
    uint64_t f = l->max_frame_bytes;
    return sat_add(sat_add(sat_add(f, f / 4), l->max_header_bytes), 64u * 1024u);
}

swmrbus_err swmrbus__mem_plan_make(const swmrbus_component_cfg *cfg, swmrbus__mem_plan *p,
                                   char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    uint64_t part = swmrbus__mem_max_part(&cfg->limits);
    /* A foreign stream's start message (Dectris: masks) may be larger than
     * a frame: limits.max_start_bytes (issue 11). */
    if (cfg->in.protocol && sat_add(cfg->max_start_bytes, 64u * 1024u) > part)
        part = sat_add(cfg->max_start_bytes, 64u * 1024u);
    p->max_part_bytes = part > (uint64_t)INT64_MAX ? -1 : (int64_t)part;
    uint64_t msg = sat_add(sat_mul(part, 2), 2 * PART_OVERHEAD);
    p->max_msg_bytes = msg;
    p->queue_bytes = sat_add(cfg->limits.max_queue_bytes, msg);
    p->senders = cfg->in.bind || cfg->in.n_endpoints == 0 ? 1 : cfg->in.n_endpoints;
    uint64_t mem = cfg->max_memory_bytes;
    /* Each sender needs room for two messages (rcvhwm 1, one being decoded)
     * and the smallest kernel buffer. */
    uint64_t least = sat_add(sat_mul(msg, 2), 2 * RCVBUF_MIN);
    uint64_t need = sat_add(p->queue_bytes, sat_mul(least, p->senders));
    if (mem < need || need == UINT64_MAX) {
        snprintf(err, errlen,
                 "limits.max_memory_bytes: %llu bytes leave no room for the input's receive "
                 "pipe: need at least %llu (limits.max_queue_bytes plus %u x 3 messages of "
                 "up to %llu bytes from limits.max_frame_bytes, and kernel buffers); raise it, "
                 "or lower limits.max_queue_bytes or limits.max_frame_bytes",
                 (unsigned long long)mem, (unsigned long long)need, p->senders,
                 (unsigned long long)msg);
        return SWMRBUS_ECONFIG;
    }
    uint64_t share = (mem - p->queue_bytes) / p->senders;
    /* A quarter of what is left past the two messages goes to the kernel
     * (which doubles the buffer it is given), within [64 KiB, 4 MiB]. */
    uint64_t rb = (share - 2 * msg) / 8;
    if (rb < RCVBUF_MIN) rb = RCVBUF_MIN;
    if (rb > RCVBUF_MAX) rb = RCVBUF_MAX;
    uint64_t hwm = (share - 2 * rb) / msg - 1;
    if (hwm > INT_MAX) hwm = INT_MAX;
    if (cfg->in.hwm > 0 && (uint64_t)cfg->in.hwm < hwm) hwm = (uint64_t)cfg->in.hwm;
    p->rcvhwm = (int)hwm;
    p->rcvbuf = (int)rb;
    p->per_sender_bytes = (hwm + 1) * msg + 2 * rb;
    p->bound_bytes = p->queue_bytes + p->senders * p->per_sender_bytes;
    return SWMRBUS_OK;
}
