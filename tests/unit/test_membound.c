/* test_membound.c — the sink's memory bound (sink/membound.c): the plan
 * stays under limits.max_memory_bytes, caps in.hwm, and refuses a bound that
 * leaves no room for one message besides the queue. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "membound.h"

#define MiB (1024ull * 1024ull)

static swmrbus_component_cfg sink_cfg(void)
{
    swmrbus_component_cfg c;
    memset(&c, 0, sizeof c);
    swmrbus_limits_default(&c.limits);
    c.max_memory_bytes = SWMRBUS_DEFAULT_MAX_MEMORY_BYTES;
    c.in.present = true;
    c.in.bind = true;
    c.in.n_endpoints = 1;
    c.in.hwm = 1000;
    return c;
}

static void assert_sane(const swmrbus_component_cfg *c, const swmrbus__mem_plan *p)
{
    assert_true(p->rcvhwm >= 1);
    assert_true(p->rcvbuf >= 64 * 1024 && p->rcvbuf <= 4 * 1024 * 1024);
    assert_true(p->max_part_bytes > 0);
    assert_true(p->max_msg_bytes >= 2 * (uint64_t)p->max_part_bytes);
    assert_true(p->queue_bytes == c->limits.max_queue_bytes + p->max_msg_bytes);
    assert_true(p->per_sender_bytes ==
                ((uint64_t)p->rcvhwm + 1) * p->max_msg_bytes + 2 * (uint64_t)p->rcvbuf);
    assert_true(p->bound_bytes == p->queue_bytes + p->senders * p->per_sender_bytes);
    assert_true(p->bound_bytes <= c->max_memory_bytes);
}

static void test_defaults(void **state)
{
    (void)state;
    swmrbus_component_cfg c = sink_cfg();
    swmrbus__mem_plan p;
    char err[512] = "";
    assert_int_equal(swmrbus__mem_plan_make(&c, &p, err, sizeof err), SWMRBUS_OK);
    assert_sane(&c, &p);
    assert_int_equal(p.senders, 1);
    /* 64 MiB frames: a part is 80 MiB + 128 KiB; two messages fit besides the queue */
    assert_true(p.max_part_bytes == (int64_t)(80 * MiB + 128 * 1024));
    assert_int_equal(p.rcvhwm, 2);
}

static void test_small_frames_keep_in_hwm(void **state)
{
    (void)state;
    swmrbus_component_cfg c = sink_cfg();
    c.limits.max_frame_bytes = 16384;
    swmrbus__mem_plan p;
    char err[512] = "";
    assert_int_equal(swmrbus__mem_plan_make(&c, &p, err, sizeof err), SWMRBUS_OK);
    assert_sane(&c, &p);
    assert_int_equal(p.rcvhwm, 1000); /* in.hwm is the upper limit */
    c.in.hwm = 0;                     /* 0: ZeroMQ's "no limit" is not taken */
    assert_int_equal(swmrbus__mem_plan_make(&c, &p, err, sizeof err), SWMRBUS_OK);
    assert_sane(&c, &p);
    assert_true(p.rcvhwm > 1000);
}

static void test_the_test_config(void **state)
{
    (void)state;
    swmrbus_component_cfg c = sink_cfg();
    c.limits.max_frame_bytes = 4 * MiB;
    c.limits.max_queue_bytes = 16 * MiB;
    c.max_memory_bytes = 96 * MiB;
    swmrbus__mem_plan p;
    char err[512] = "";
    assert_int_equal(swmrbus__mem_plan_make(&c, &p, err, sizeof err), SWMRBUS_OK);
    assert_sane(&c, &p);
    assert_int_equal(p.rcvhwm, 5);
    assert_int_equal(p.rcvbuf, 4 * 1024 * 1024);
}

static void test_connecting_to_several(void **state)
{
    (void)state;
    swmrbus_component_cfg c = sink_cfg();
    c.in.bind = false;
    c.in.n_endpoints = 3;
    c.limits.max_frame_bytes = 1 * MiB;
    swmrbus__mem_plan p;
    char err[512] = "";
    assert_int_equal(swmrbus__mem_plan_make(&c, &p, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(p.senders, 3);
    assert_sane(&c, &p);
}

static void test_too_small(void **state)
{
    (void)state;
    swmrbus_component_cfg c = sink_cfg();
    c.max_memory_bytes = 512 * MiB; /* the 256 MiB queue + 3 x 160 MiB do not fit */
    swmrbus__mem_plan p;
    char err[512] = "";
    assert_int_equal(swmrbus__mem_plan_make(&c, &p, err, sizeof err), SWMRBUS_ECONFIG);
    assert_non_null(strstr(err, "limits.max_memory_bytes: 536870912 bytes leave no room"));
    assert_non_null(strstr(err, "limits.max_queue_bytes"));
    assert_null(strchr(err, '\n'));
}

static void test_absurd_limits(void **state)
{
    (void)state;
    swmrbus_component_cfg c = sink_cfg();
    c.limits.max_frame_bytes = UINT64_MAX;
    c.limits.max_header_bytes = UINT64_MAX;
    c.limits.max_queue_bytes = UINT64_MAX;
    c.max_memory_bytes = UINT64_MAX;
    swmrbus__mem_plan p;
    char err[512] = "";
    assert_int_equal(swmrbus__mem_plan_make(&c, &p, err, sizeof err), SWMRBUS_ECONFIG);
    assert_true(swmrbus__mem_max_part(&c.limits) == UINT64_MAX);
    c = sink_cfg();
    c.limits.max_queue_bytes = UINT64_MAX - 1;
    assert_int_equal(swmrbus__mem_plan_make(&c, &p, err, sizeof err), SWMRBUS_ECONFIG);
    c = sink_cfg();
    c.max_memory_bytes = UINT64_MAX; /* a huge bound: in.hwm and 4 MiB buffers */
    assert_int_equal(swmrbus__mem_plan_make(&c, &p, err, sizeof err), SWMRBUS_OK);
    assert_sane(&c, &p);
    assert_int_equal(p.rcvhwm, 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_small_frames_keep_in_hwm),
        cmocka_unit_test(test_the_test_config),
        cmocka_unit_test(test_connecting_to_several),
        cmocka_unit_test(test_too_small),
        cmocka_unit_test(test_absurd_limits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
