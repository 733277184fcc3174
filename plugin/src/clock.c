/* plugin/src/clock.c — the monotonic and the wall clock in nanoseconds. */
#include <time.h>

#include "swmrbus/clock.h"

static uint64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

uint64_t swmrbus_mono_ns(void)
{
    return clock_ns(CLOCK_MONOTONIC);
}

uint64_t swmrbus_wall_ns(void)
{
    return clock_ns(CLOCK_REALTIME);
}
