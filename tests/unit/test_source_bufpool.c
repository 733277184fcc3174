/* tests/unit/test_source_bufpool.c — source/bufpool.c: frame buffers sent
 * zero-copy. A buffer given back is taken again (warm) for a size it fits
 * (cap to 2 cap), never one too small or far too big; the buffers kept
 * stay within the bound (past it a buffer is still given, never kept when
 * it comes back; idle ones freed coldest first to make room); a message over a buffer is zero-copy and gives the
 * buffer back when ZeroMQ frees it, from any thread; the pool outlives its
 * destroy until the last buffer in flight is back (ASan: no leak, no use
 * after free). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <zmq.h>

#include <cmocka.h>

#include "bufpool.h"

static void *get(swmrbus__bufpool *p, size_t cap)
{
    return swmrbus__bufpool_get(p, cap);
}

static void test_reuse(void **state)
{
    (void)state;
    swmrbus__bufpool *p = NULL;
    assert_int_equal(swmrbus__bufpool_create(1 << 20, &p), SWMRBUS_OK);
    char *a = get(p, 1000);
    assert_non_null(a);
    assert_int_equal((uintptr_t)a % 64, 0);
    memset(a, 0xab, 1000);
    swmrbus__bufpool_put(a);
    char *b = get(p, 900); /* fits: the same buffer */
    assert_ptr_equal(a, b);
    swmrbus__bufpool_put(b);
    char *c = get(p, 3000); /* too small: a new one */
    assert_ptr_not_equal(c, a);
    char *d = get(p, 400);  /* 1000 is over twice 400: new */
    assert_ptr_not_equal(d, a);
    swmrbus__bufpool_put(c);
    swmrbus__bufpool_put(d);
    swmrbus__bufpool_put(NULL);
    swmrbus__bufpool_destroy(&p);
    assert_null(p);
    swmrbus__bufpool_destroy(&p); /* NULL: nothing */
}

#define NB (SWMRBUS__BUFPOOL_MIN_BUFS + 4) /* buffers of 1000 bytes the bound holds */

static void test_bound(void **state)
{
    (void)state;
    swmrbus__bufpool *p = NULL;
    char *b[NB + 1];
    assert_int_equal(swmrbus__bufpool_create(NB * 1000, &p), SWMRBUS_OK);
    for (int i = 0; i < NB; i++) {
        b[i] = get(p, 1000);
        assert_non_null(b[i]);
    }
    /* the bound in flight: a buffer is still given (the caller is never
     * held back), but not kept when it comes back */
    char *spill = get(p, 1000);
    assert_non_null(spill);
    swmrbus__bufpool_put(b[3]);
    swmrbus__bufpool_put(spill); /* freed: the idle list holds b[3] only */
    b[NB] = get(p, 1000);
    assert_ptr_equal(b[NB], b[3]);
    char *other = get(p, 1000); /* past the bound again: a spill, not b[3] */
    assert_ptr_not_equal(other, b[3]);
    swmrbus__bufpool_put(other);
    for (int i = 0; i < NB; i++) swmrbus__bufpool_put(b[i]);
    /* the bound idle: a size none fits makes room by freeing the coldest
     * (the first given back); the warm ones stay */
    char *big = get(p, 2000);
    assert_non_null(big);
    assert_ptr_equal(get(p, 1000), b[NB - 1]); /* the last given back */
    swmrbus__bufpool_put(b[NB - 1]);
    swmrbus__bufpool_put(big);
    /* a frame over the bound still goes: the bound is at least
     * SWMRBUS__BUFPOOL_MIN_BUFS frames */
    char *huge[SWMRBUS__BUFPOOL_MIN_BUFS];
    for (int i = 0; i < SWMRBUS__BUFPOOL_MIN_BUFS; i++) {
        huge[i] = get(p, 50000);
        assert_non_null(huge[i]);
    }
    char *past = get(p, 50000); /* given, and freed when it comes back */
    assert_non_null(past);
    swmrbus__bufpool_put(past);
    for (int i = 0; i < SWMRBUS__BUFPOOL_MIN_BUFS; i++) swmrbus__bufpool_put(huge[i]);
    swmrbus__bufpool_destroy(&p);
}

static void test_zero_copy_send(void **state)
{
    (void)state;
    void *ctx = zmq_ctx_new();
    void *push = zmq_socket(ctx, ZMQ_PUSH), *pull = zmq_socket(ctx, ZMQ_PULL);
    assert_int_equal(zmq_bind(pull, "inproc://bufpool"), 0);
    assert_int_equal(zmq_connect(push, "inproc://bufpool"), 0);
    swmrbus__bufpool *p = NULL;
    assert_int_equal(swmrbus__bufpool_create(1 << 20, &p), SWMRBUS_OK);
    for (int round = 0; round < 2; round++) {
        char *buf = get(p, 4096);
        assert_non_null(buf);
        memset(buf, 'a' + round, 4096);
        zmq_msg_t m, r;
        assert_int_equal(swmrbus__bufpool_msg(&m, buf, 3000), SWMRBUS_OK);
        assert_int_equal(zmq_msg_send(&m, push, 0), 3000);
        zmq_msg_init(&r);
        assert_int_equal(zmq_msg_recv(&r, pull, 0), 3000);
        /* inproc passes the message itself: the receiver reads the buffer */
        assert_ptr_equal(zmq_msg_data(&r), buf);
        assert_int_equal(((char *)zmq_msg_data(&r))[2999], 'a' + round);
        zmq_msg_close(&r); /* the buffer goes back */
        char *again = get(p, 4096);
        assert_ptr_equal(again, buf);
        swmrbus__bufpool_put(again);
    }
    /* Destroyed with a buffer in flight: it comes back after, and frees
     * the pool. */
    char *buf = get(p, 64);
    zmq_msg_t m, r;
    assert_int_equal(swmrbus__bufpool_msg(&m, buf, 64), SWMRBUS_OK);
    assert_int_equal(zmq_msg_send(&m, push, 0), 64);
    swmrbus__bufpool_destroy(&p);
    zmq_msg_init(&r);
    assert_int_equal(zmq_msg_recv(&r, pull, 0), 64);
    zmq_msg_close(&r);
    zmq_close(push);
    zmq_close(pull);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reuse),
        cmocka_unit_test(test_bound),
        cmocka_unit_test(test_zero_copy_send),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
