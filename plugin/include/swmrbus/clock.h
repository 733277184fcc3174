/* swmrbus/clock.h — the two clocks every part of swmrbus reads. */
#ifndef SWMRBUS_CLOCK_H
#define SWMRBUS_CLOCK_H

#include <stdint.h>
#include "swmrbus/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Nanoseconds of CLOCK_MONOTONIC: for intervals, timeouts and rates only
 * (the origin is arbitrary; it never jumps with the wall clock). Never
 * fails, allocates nothing; thread-safe. */
SWMRBUS_API uint64_t swmrbus_mono_ns(void);

/* Nanoseconds since the Unix epoch (CLOCK_REALTIME): for timestamps that
 * leave the process (frame ts, notifications, status). May jump when the
 * system clock is set. Never fails, allocates nothing; thread-safe. */
SWMRBUS_API uint64_t swmrbus_wall_ns(void);

#ifdef __cplusplus
}
#endif
#endif
