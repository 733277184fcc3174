/* swmrbus/config.h — pipeline configuration (YAML; JSON files load too).
 *
 * A config lists components; each is a map of the keys in README "Config".
 * Loading validates everything: unknown keys, wrong types, keys that do not
 * apply to the component's kind and missing required keys are errors whose
 * text names the key's path ("components[1].flush.frmaes: unknown key").
 * After loading, every field holds its value or its documented default. */
#ifndef SWMRBUS_CONFIG_H
#define SWMRBUS_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swmrbus/err.h"
#include "swmrbus/export.h"
#include "swmrbus/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SWMRBUS_MAX_ENDPOINTS 16

typedef enum swmrbus_pattern {
    SWMRBUS_PATTERN_DEFAULT = 0, /* the socket's fixed type: control (REP) */
    SWMRBUS_PATTERN_PULL,
    SWMRBUS_PATTERN_SUB,
    SWMRBUS_PATTERN_PUSH,
    SWMRBUS_PATTERN_PUB,
} swmrbus_pattern;

/* One socket's settings (in, out, notify, control). present is false when
 * the key was absent (then that socket is not created). */
typedef struct swmrbus_socket_cfg {
    bool present;
    char *endpoints[SWMRBUS_MAX_ENDPOINTS]; /* "endpoint" or "endpoints" */
    unsigned n_endpoints;                   /* >= 1 when present */
    swmrbus_pattern pattern;                /* in: pull|sub, out: push|pub */
    bool bind;
    int hwm;                                /* messages, 1000 */
} swmrbus_socket_cfg;

typedef enum swmrbus_from {
    SWMRBUS_FROM_START = 0,
    SWMRBUS_FROM_LATEST,
} swmrbus_from;

/* One component's settings. Strings are owned by the config. Keys that do
 * not apply to the kind keep their defaults; so do absent sockets. An outside
 * plugin takes name, kind, the four sockets and limits. */
typedef struct swmrbus_component_cfg {
    char *name;                  /* required, unique */
    char *kind;                  /* required: sink | source | sim | plugin */
    swmrbus_socket_cfg in, out, notify, control;
    /* sink */
    char *dir;                   /* required for a sink */
    char *file;                  /* "{name}_{series}.h5" */
    uint64_t flush_frames;       /* 100 */
    uint64_t flush_ms;           /* 200 */
    uint64_t linger_ms;          /* 1000 */
    uint64_t idle_close_ms;      /* 0 = never */
    swmrbus_encoding compression;/* NONE ("none"), BSLZ4 or LZ4 */
    swmrbus_limits limits;
    /* source */
    swmrbus_from from;           /* start */
    uint64_t stale_ms;           /* 10000 */
    /* sim */
    uint64_t sim_series;         /* "series": 1 */
    uint64_t sim_frames;         /* "frames": 1000 */
    swmrbus_format sim_format;   /* shape [64,128], dtype uint16, encoding raw */
    double sim_rate_hz;          /* "rate_hz": 0 = as fast as possible */
    /* file safety (issue 9): where a source may read, how a sink's files
     * are created */
    char **dirs;                 /* source: directories it reads files from;
                                  * absent: every sink's dir of the config */
    size_t n_dirs;               /* >= 1 for a loaded source */
    unsigned file_mode;          /* sink: mode of new files, 0644 (umask ignored) */
} swmrbus_component_cfg;

typedef struct swmrbus_config {
    swmrbus_component_cfg *components;
    size_t n_components;
} swmrbus_config;

/* Loads and validates the file at path. On success *out owns a new config
 * (free with swmrbus_config_destroy). On failure returns ECONFIG (or ENOMEM,
 * EIO when the file cannot be read) and writes one line to err naming the
 * key path and the problem. Thread-safe (no global state). */
SWMRBUS_API swmrbus_err swmrbus_config_load(const char *path, swmrbus_config **out,
                                            char *err, size_t errlen);

/* Same, from a YAML/JSON text in memory (len bytes). */
SWMRBUS_API swmrbus_err swmrbus_config_parse(const char *text, size_t len,
                                             swmrbus_config **out,
                                             char *err, size_t errlen);

/* Fills c with the defaults for kind (name and kind are strdup'ed) and no
 * sockets; used by built-in runs (`swmrbus demo`). Free with
 * swmrbus_component_cfg_clear. Returns ENOMEM. */
SWMRBUS_API swmrbus_err swmrbus_component_cfg_init(swmrbus_component_cfg *c,
                                                   const char *name, const char *kind);

/* Replaces the endpoints of a socket with endpoint (strdup'ed) and marks it
 * present. With pattern DEFAULT the socket keeps the pattern and bind that
 * swmrbus_component_cfg_init gave it for its kind (bind is then ignored);
 * otherwise pattern and bind are set as given. Returns ENOMEM or EINVAL. */
SWMRBUS_API swmrbus_err swmrbus_socket_cfg_set(swmrbus_socket_cfg *s, const char *endpoint,
                                               swmrbus_pattern pattern, bool bind);

/* Frees the strings of c and zeroes it. */
SWMRBUS_API void swmrbus_component_cfg_clear(swmrbus_component_cfg *c);

/* Frees *cfg and sets it to NULL. Safe with NULL or *cfg == NULL. */
SWMRBUS_API void swmrbus_config_destroy(swmrbus_config **cfg);

SWMRBUS_API const char *swmrbus_pattern_name(swmrbus_pattern p);

#ifdef __cplusplus
}
#endif
#endif
