/* source/bufpool.c — frame buffers taken by the source's thread, sent
 * zero-copy, given back by ZeroMQ's free function (see bufpool.h). */
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>

#include "bufpool.h"

#define HDR 64 /* the header before a buffer's bytes: keeps them 64-aligned */

typedef struct buf_hdr {
    struct swmrbus__bufpool *pool;
    struct buf_hdr *next; /* idle list */
    size_t cap;
} buf_hdr;

_Static_assert(sizeof(buf_hdr) <= HDR, "buffer header fits");

struct swmrbus__bufpool {
    pthread_mutex_t mu;
    buf_hdr *idle;        /* most recently given back first (warmest) */
    size_t idle_bytes, max_idle;
    size_t out;           /* buffers taken and not back */
    bool closed;          /* the owner let go */
};

static buf_hdr *hdr_of(void *buf) { return (buf_hdr *)(void *)((char *)buf - HDR); }

swmrbus_err swmrbus__bufpool_create(size_t max_idle, swmrbus__bufpool **out)
{
    swmrbus__bufpool *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p) return SWMRBUS_ENOMEM;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return SWMRBUS_ENOMEM;
    }
    p->max_idle = max_idle;
    *out = p;
    return SWMRBUS_OK;
}

static void free_idle(swmrbus__bufpool *p)
{
    while (p->idle) {
        buf_hdr *h = p->idle;
        p->idle = h->next;
        free(h);
    }
    p->idle_bytes = 0;
}

void swmrbus__bufpool_destroy(swmrbus__bufpool **pp)
{
    swmrbus__bufpool *p = pp ? *pp : NULL;
    if (!p) return;
    *pp = NULL;
    pthread_mutex_lock(&p->mu);
    p->closed = true;
    free_idle(p);
    bool last = p->out == 0;
    pthread_mutex_unlock(&p->mu);
    if (last) {
        pthread_mutex_destroy(&p->mu);
        free(p);
    }
}

void *swmrbus__bufpool_get(swmrbus__bufpool *p, size_t cap)
{
    buf_hdr *h = NULL;
    if (cap == 0) cap = 1;
    pthread_mutex_lock(&p->mu);
    for (buf_hdr **pp = &p->idle; *pp; pp = &(*pp)->next) {
        if ((*pp)->cap >= cap && (*pp)->cap / 2 <= cap) {
            h = *pp;
            *pp = h->next;
            p->idle_bytes -= h->cap;
            break;
        }
    }
    if (h) p->out++;
    pthread_mutex_unlock(&p->mu);
    if (!h) {
        if (cap > SIZE_MAX - 2 * HDR || !(h = aligned_alloc(HDR, (cap + HDR + HDR - 1) / HDR * HDR)))
            return NULL;
        h->pool = p;
        h->cap = cap;
        pthread_mutex_lock(&p->mu);
        p->out++;
        pthread_mutex_unlock(&p->mu);
    }
    h->next = NULL;
    return (char *)h + HDR;
}

void swmrbus__bufpool_put(void *buf)
{
    if (!buf) return;
    buf_hdr *h = hdr_of(buf);
    swmrbus__bufpool *p = h->pool;
    bool keep, last;
    pthread_mutex_lock(&p->mu);
    p->out--;
    keep = !p->closed && h->cap <= p->max_idle - p->idle_bytes; /* idle_bytes <= max_idle */
    if (keep) {
        h->next = p->idle;
        p->idle = h;
        p->idle_bytes += h->cap;
    }
    last = p->closed && p->out == 0;
    pthread_mutex_unlock(&p->mu);
    if (!keep) free(h);
    if (last) {
        pthread_mutex_destroy(&p->mu);
        free(p);
    }
}

/* ZeroMQ's free function: from its I/O thread, or whichever thread closed
 * the message last. */
static void give_back(void *data, void *hint)
{
    (void)hint;
    swmrbus__bufpool_put(data);
}

swmrbus_err swmrbus__bufpool_msg(zmq_msg_t *m, void *buf, size_t len)
{
    return zmq_msg_init_data(m, buf, len, give_back, NULL) == 0 ? SWMRBUS_OK : SWMRBUS_ENOMEM;
}
