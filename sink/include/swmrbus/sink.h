/* swmrbus/sink.h — the sink component: ZeroMQ frames in, HDF5 SWMR files
 * out, "flushed at N" notifications out, control REP. */
#ifndef SWMRBUS_SINK_H
#define SWMRBUS_SINK_H

#include <stddef.h>
#include <stdint.h>

#include "swmrbus/err.h"
#include "swmrbus/export.h"
#include "swmrbus/plugin.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The sink's component table (kind "sink"); static storage. */
SWMRBUS_API const swmrbus_component_vtable *swmrbus_sink_component(void);

/* Makes the file of a crashed sink open as a normal HDF5 file without losing
 * a notified frame: clears the SWMR/open-for-write status flags and extends
 * the end-of-allocation to the end of file (what `h5clear -s --increment`
 * does). *frames receives the rows of /entry/data/data found afterwards.
 * Not thread-safe with other HDF5 users of the same file. */
SWMRBUS_API swmrbus_err swmrbus_sink_recover(const char *path, uint64_t *frames,
                                             char *err, size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
