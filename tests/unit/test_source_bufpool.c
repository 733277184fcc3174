/* tests/unit/test_source_bufpool.c — source/bufpool.c: frame buffers sent
 * zero-copy. A buffer given back is taken again (warm) for a size it fits
 * (cap to 2 cap), never one too small or far too big; idle buffers stay
 * within max_idle bytes; a message over a buffer is zero-copy and gives the
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

static void test_reuse(void **state)
{
    (void)state;
    swmrbus__bufpool *p = NULL;
    assert_int_equal(swmrbus__bufpool_create(1 << 20, &p), SWMRBUS_OK);
    char *a = swmrbus__bufpool_get(p, 1000);
    assert_non_null(a);
    assert_int_equal((uintptr_t)a % 64, 0);
    memset(a, 0xab, 1000);
    swmrbus__bufpool_put(a);
    char *b = swmrbus__bufpool_get(p, 900); /* fits: the same buffer */
    assert_ptr_equal(a, b);
    swmrbus__bufpool_put(b);
    char *c = swmrbus__bufpool_get(p, 3000); /* too small: a new one */
    assert_ptr_not_equal(c, a);
    char *d = swmrbus__bufpool_get(p, 400);  /* 1000 is over twice 400: new */
    assert_ptr_not_equal(d, a);
    swmrbus__bufpool_put(c);
    swmrbus__bufpool_put(d);
    swmrbus__bufpool_put(NULL);
    swmrbus__bufpool_destroy(&p);
    assert_null(p);
    swmrbus__bufpool_destroy(&p); /* NULL: nothing */
}

static void test_idle_bound(void **state)
{
    (void)state;
    swmrbus__bufpool *p = NULL;
    assert_int_equal(swmrbus__bufpool_create(2500, &p), SWMRBUS_OK);
    char *a = swmrbus__bufpool_get(p, 1000), *b = swmrbus__bufpool_get(p, 1000),
         *c = swmrbus__bufpool_get(p, 1000);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    swmrbus__bufpool_put(a);
    swmrbus__bufpool_put(b);
    swmrbus__bufpool_put(c); /* over 2500 idle bytes: freed */
    char *x = swmrbus__bufpool_get(p, 1000), *y = swmrbus__bufpool_get(p, 1000);
    /* the last given back first */
    assert_ptr_equal(x, b);
    assert_ptr_equal(y, a);
    swmrbus__bufpool_put(x);
    swmrbus__bufpool_put(y);
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
        char *buf = swmrbus__bufpool_get(p, 4096);
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
        char *again = swmrbus__bufpool_get(p, 4096);
        assert_ptr_equal(again, buf);
        swmrbus__bufpool_put(again);
    }
    /* Destroyed with a buffer in flight: it comes back after, and frees
     * the pool. */
    char *buf = swmrbus__bufpool_get(p, 64);
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
        cmocka_unit_test(test_idle_bound),
        cmocka_unit_test(test_zero_copy_send),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
