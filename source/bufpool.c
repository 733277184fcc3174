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
    bool spill;           /* taken past the bound: freed when it comes back */
} buf_hdr;

_Static_assert(sizeof(buf_hdr) <= HDR, "buffer header fits");

struct swmrbus__bufpool {
    pthread_mutex_t mu;
    buf_hdr *idle;        /* most recently given back first (warmest) */
    size_t idle_bytes;    /* bytes of the idle buffers */
    size_t out_bytes;     /* bytes of the buffers taken and not back */
    size_t max_bytes;
    size_t out;           /* buffers taken and not back */
    bool closed;          /* the owner let go */
};

static buf_hdr *hdr_of(void *buf) { return (buf_hdr *)(void *)((char *)buf - HDR); }

swmrbus_err swmrbus__bufpool_create(size_t max_bytes, swmrbus__bufpool **out)
{
    swmrbus__bufpool *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p) return SWMRBUS_ENOMEM;
    if (pthread_mutex_init(&p->mu, NULL) != 0) {
        free(p);
        return SWMRBUS_ENOMEM;
    }
    p->max_bytes = max_bytes;
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
    buf_hdr *h = NULL, *drop = NULL;
    bool spill = false;
    if (cap == 0) cap = 1;
    if (cap > (SIZE_MAX - 2 * HDR) / SWMRBUS__BUFPOOL_MIN_BUFS) return NULL;
    size_t max = p->max_bytes;
    if (max / SWMRBUS__BUFPOOL_MIN_BUFS < cap) max = cap * SWMRBUS__BUFPOOL_MIN_BUFS;
    pthread_mutex_lock(&p->mu);
    for (buf_hdr **pp = &p->idle; *pp; pp = &(*pp)->next) {
        if ((*pp)->cap >= cap && (*pp)->cap / 2 <= cap) {
            h = *pp;
            *pp = h->next;
            p->idle_bytes -= h->cap;
            break;
        }
    }
    if (!h) {
        /* A new buffer: room made by freeing idle ones (the coldest
         * first), none when those in flight fill the bound. */
        spill = p->out_bytes + cap > max && p->out > 0;
        while (!spill && p->idle && p->out_bytes + p->idle_bytes + cap > max) {
            buf_hdr **pp = &p->idle;
            while ((*pp)->next) pp = &(*pp)->next;
            buf_hdr *last = *pp;
            *pp = NULL;
            p->idle_bytes -= last->cap;
            last->next = drop;
            drop = last;
        }
        p->out_bytes += cap; /* reserved before the lock goes */
    } else {
        p->out_bytes += h->cap;
    }
    p->out++;
    pthread_mutex_unlock(&p->mu);
    while (drop) {
        buf_hdr *d = drop;
        drop = d->next;
        free(d);
    }
    if (!h) {
        if (!(h = aligned_alloc(HDR, (cap + HDR + HDR - 1) / HDR * HDR))) {
            pthread_mutex_lock(&p->mu);
            p->out_bytes -= cap;
            p->out--;
            pthread_mutex_unlock(&p->mu);
            return NULL;
        }
        h->pool = p;
        h->cap = cap;
        h->spill = spill;
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
    p->out_bytes -= h->cap;
    keep = !p->closed && !h->spill; /* it was counted in the bound already */
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
