/* swmrbus/options.h — an outside plugin's own settings.
 *
 * A component of a kind that is not built in may carry an `options:` map of
 * any YAML (scalars, nested maps, lists). The host keeps it with the
 * component's config; the plugin reads it through these typed getters, which
 * report errors the way the built-in keys do, naming the key's path:
 *
 *   components[2].options.threshold: expected a number from 0 to 65535, got "lots"
 *
 * A key is a name of the options map, or a dotted path into nested maps
 * ("roi.x"). An absent key yields the default and SWMRBUS_OK. Getters never
 * allocate; strings returned are owned by the config. Thread-safe (the
 * config is read-only once loaded). */
#ifndef SWMRBUS_OPTIONS_H
#define SWMRBUS_OPTIONS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swmrbus/config.h"
#include "swmrbus/err.h"
#include "swmrbus/export.h"

#ifdef __cplusplus
extern "C" {
#endif

/* True when key is present in c's options. */
SWMRBUS_API bool swmrbus_option_present(const swmrbus_component_cfg *c, const char *key);

/* An unsigned integer (decimal, or 0x hex) in [min, max]. ECONFIG with err
 * naming the path for anything else (a float, a negative, a map, ...). */
SWMRBUS_API swmrbus_err swmrbus_option_u64(const swmrbus_component_cfg *c, const char *key,
                                           uint64_t def, uint64_t min, uint64_t max,
                                           uint64_t *out, char *err, size_t errlen);

/* A finite number in [min, max]. */
SWMRBUS_API swmrbus_err swmrbus_option_f64(const swmrbus_component_cfg *c, const char *key,
                                           double def, double min, double max, double *out,
                                           char *err, size_t errlen);

/* true/false (YAML's true, false, yes, no, on, off are accepted). */
SWMRBUS_API swmrbus_err swmrbus_option_bool(const swmrbus_component_cfg *c, const char *key,
                                            bool def, bool *out, char *err, size_t errlen);

/* A string (any scalar, as written); *out points into the config. */
SWMRBUS_API swmrbus_err swmrbus_option_str(const swmrbus_component_cfg *c, const char *key,
                                           const char *def, const char **out, char *err,
                                           size_t errlen);

/* A list of numbers: up to max items into out, their count in *n (0 when the
 * key is absent). ECONFIG for a longer list or a non-number item. */
SWMRBUS_API swmrbus_err swmrbus_option_f64_list(const swmrbus_component_cfg *c,
                                                const char *key, double *out, size_t max,
                                                size_t *n, char *err, size_t errlen);

/* Checks that every key of c's options (nested ones as dotted paths) is one
 * of known (a NULL-terminated list; a map key listed as "roi" admits every
 * key below it): the first other one is an ECONFIG "unknown key" error with
 * its path. Call it in create() and in check(), so typos do not pass. */
SWMRBUS_API swmrbus_err swmrbus_options_only(const swmrbus_component_cfg *c,
                                             const char *const *known, char *err,
                                             size_t errlen);

#ifdef __cplusplus
}
#endif
#endif
