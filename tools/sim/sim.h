/* tools/sim/sim.h — the frame simulator component (kind "sim"): sends one
 * or more series of synthetic frames in wire protocol v1 on its `out`
 * socket, then returns. Pixel i of frame f holds (f + i) in the dtype's
 * width (wrapping), so a reader can check every byte. */
#ifndef SWMRBUS_SIM_H
#define SWMRBUS_SIM_H

#include "swmrbus/plugin.h"

/* The simulator's component table (kind "sim"); static storage. */
const swmrbus_component_vtable *swmrbus_sim_component(void);

#endif
