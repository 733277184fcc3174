/* config_curve.h — internal: the "curve" maps of a component's sockets
 * (issue 9), kept apart from config.c so that each part stays small. */
#ifndef SWMRBUS_CONFIG_CURVE_H
#define SWMRBUS_CONFIG_CURVE_H

#include <stddef.h>

#include "config_schema.h"
#include "swmrbus/config.h"
#include "swmrbus/err.h"

/* Loads the curve map of each of r's sockets into c's socket (the sockets
 * themselves already loaded; c->name set), reading the certificate files,
 * and refuses a control socket on a non-loopback tcp address without curve.
 * path is "components[i]". ECONFIG with one line in err naming the key path,
 * or ENOMEM. */
swmrbus_err swmrbus__config_curve(const swmrbus__raw_component *r, swmrbus_component_cfg *c,
                                  const char *path, char *err, size_t errlen);

/* Frees what swmrbus__config_curve put in cc (wiping the secret key) and
 * zeroes it. */
void swmrbus__curve_cfg_clear(swmrbus_curve_cfg *cc);

#endif
