/* options.h — internal: attaching `options:` maps to a loaded config. */
#ifndef SWMRBUS_OPTIONS_INTERNAL_H
#define SWMRBUS_OPTIONS_INTERNAL_H

#include <stddef.h>

#include "swmrbus/config.h"

/* Parses text (the config, already accepted by the schema loader) with
 * libyaml and gives each component that has an `options:` map a copy of it
 * (bounded: at most 4096 nodes and depth 16 per map; aliases count as the
 * nodes they expand to). ECONFIG with err naming the path (a non-map
 * options, too large) or ENOMEM. */
swmrbus_err swmrbus__options_attach(const char *text, size_t len, swmrbus_config *cfg,
                                    char *err, size_t errlen);

/* Frees *o and sets it NULL. */
void swmrbus__options_free(struct swmrbus_options **o);

#endif
