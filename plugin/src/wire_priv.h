/* wire_priv.h — the parts of the header decoder that live in
 * wire_datasets.c (internal to libswmrbus). */
#ifndef SWMRBUS_WIRE_PRIV_H
#define SWMRBUS_WIRE_PRIV_H

#include "mpread.h"
#include "swmrbus/wire.h"

/* Checks start.datasets at the cursor (moving past it) and sets
 * out->datasets / n_datasets. EINVAL or ELIMIT with why set. */
swmrbus_err swmrbus__wire_datasets(swmrbus__mp *mp, const swmrbus_limits *lim,
                                   swmrbus_header *out, char *why, size_t whylen);

/* Checks start.channels at the cursor (moving past it) and sets
 * out->channels / n_channels. */
swmrbus_err swmrbus__wire_channels(swmrbus__mp *mp, swmrbus_header *out, char *why,
                                   size_t whylen);

/* Checks start.static at the cursor (moving past it) and sets out->statics. */
swmrbus_err swmrbus__wire_statics(swmrbus__mp *mp, swmrbus_header *out, char *why,
                                  size_t whylen);

#endif
