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
#define SWMRBUS_DEFAULT_MAX_MEMORY_BYTES (1ull << 30) /* limits.max_memory_bytes: 1 GiB */
#define SWMRBUS_DEFAULT_MAX_START_BYTES (96ull << 20) /* limits.max_start_bytes: 96 MiB */
#define SWMRBUS_CFG_START_BYTES_MAX (4ull << 30)      /* limits.max_start_bytes: 4 GiB */

typedef enum swmrbus_pattern {
    SWMRBUS_PATTERN_DEFAULT = 0, /* the socket's fixed type: control (REP) */
    SWMRBUS_PATTERN_PULL,
    SWMRBUS_PATTERN_SUB,
    SWMRBUS_PATTERN_PUSH,
    SWMRBUS_PATTERN_PUB,
    SWMRBUS_PATTERN_REQ, /* in: a sink asks for each message (Karabo bridge "next") */
    SWMRBUS_PATTERN_REP, /* out: a source answers each request (Karabo bridge) */
} swmrbus_pattern;

/* CURVE security of one socket (the socket's "curve" map; README
 * "Security"). Loading reads the certificate files: this side's certificate
 * with its secret key; on a binding socket the allowed clients' public keys
 * (required: deny by default); on a connecting one the server's public key.
 * curve on an inproc:// endpoint is an error (inproc has no handshake). */
typedef struct swmrbus_curve_cfg {
    bool present;
    char *secret_key_path;                  /* "secret_key" */
    char *allow_path;                       /* "allow": binding socket */
    char *server_key_path;                  /* "server_key": connecting socket */
    char *component;                        /* the component's name: denials are counted by it */
    uint8_t public_key[32], secret_key[32]; /* this side */
    uint8_t server_key[32];                 /* connecting: the server's public key */
    uint8_t (*allow)[32];                   /* binding: n_allow distinct client keys */
    size_t n_allow;
} swmrbus_curve_cfg;

/* One socket's settings (in, out, notify, control). present is false when
 * the key was absent (then that socket is not created). */
typedef struct swmrbus_socket_cfg {
    bool present;
    char *endpoints[SWMRBUS_MAX_ENDPOINTS]; /* "endpoint" or "endpoints" */
    unsigned n_endpoints;                   /* >= 1 when present */
    swmrbus_pattern pattern;                /* in: pull|sub, out: push|pub */
    bool bind;
    int hwm;                                /* messages, 1000 */
    swmrbus_curve_cfg curve;                /* CURVE (issue 9); !curve.present: plain */
    char *protocol;                         /* in: the stream's protocol (a decoder of
                                             * swmrbus/codec.h); NULL: wire protocol v1 */
} swmrbus_socket_cfg;

typedef enum swmrbus_from {
    SWMRBUS_FROM_START = 0,
    SWMRBUS_FROM_LATEST,
} swmrbus_from;

/* One component's settings. Strings are owned by the config. Keys that do
 * not apply to the kind keep their defaults; so do absent sockets. An outside
 * plugin takes name, kind, the four sockets, limits and `options` (any map,
 * read through swmrbus/options.h). */
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
    /* karabo.new_file_on_new_keys (sink, in.protocol karabo-bridge): a
     * source or key first seen after the file was laid out starts a new
     * file at the next train; false: it is counted (late_keys) only */
    bool karabo_new_file_on_new_keys;
    swmrbus_encoding compression;/* NONE ("none"), BSLZ4 or LZ4 */
    swmrbus_limits limits;
    /* sink memory bound (README "Memory"): limits.max_memory_bytes, default
     * SWMRBUS_DEFAULT_MAX_MEMORY_BYTES; the input's receive high-water mark
     * and kernel buffer are derived from it so that the queue, ZeroMQ's
     * pipe and the kernel's buffer stay under it */
    uint64_t max_memory_bytes;
    /* source */
    swmrbus_from from;           /* start */
    uint64_t stale_ms;           /* 10000 */
    /* sim */
    uint64_t sim_series;         /* "series": 1 */
    uint64_t sim_frames;         /* "frames": 1000 */
    swmrbus_format sim_format;   /* shape [64,128], dtype uint16, encoding raw */
    double sim_rate_hz;          /* "rate_hz": 0 = as fast as possible */
    /* outside plugins */
    size_t index;                /* position in the config's list (key paths) */
    struct swmrbus_options *options; /* the `options:` map, NULL when absent:
                                  * read it with swmrbus/options.h */
    /* file safety (issue 9): where a source may read, how a sink's files
     * are created */
    char **dirs;                 /* source: directories it reads files from;
                                  * absent: every sink's dir of the config */
    size_t n_dirs;               /* >= 1 for a loaded source */
    unsigned file_mode;          /* sink: mode of new files, 0644 (umask ignored) */
    /* scale-out (issue 12, README "Scale-out") */
    uint64_t shard_index;        /* sink `shard.index`: takes frames f with f % count == index */
    uint64_t shard_count;        /* sink `shard.count`, 1..SWMRBUS_MAX_SHARDS; 0: not sharded */
    uint64_t shards;             /* coordinator `shards`: how many sinks write a series */
    /* Dectris streams (issue 11): limits.max_start_bytes, the largest
     * foreign start message (masks, flatfields) a decoder takes; default
     * SWMRBUS_DEFAULT_MAX_START_BYTES. Applies only with an in.protocol. */
    uint64_t max_start_bytes;
} swmrbus_component_cfg;

/* ---- metrics (README "Metrics"): the top-level key `metrics` ---------- */
/* present is false when the key was absent: then no HTTP server runs.
 * endpoint ("http://HOST:PORT", checked by swmrbus_metrics_endpoint_check)
 * is owned by the config. */
typedef struct swmrbus_metrics_cfg {
    bool present;
    char *endpoint;
} swmrbus_metrics_cfg;

typedef struct swmrbus_config {
    swmrbus_component_cfg *components;
    size_t n_components;
    swmrbus_metrics_cfg metrics; /* top-level `metrics` */
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

/* ---- checking a config: every problem, not only the first ------------- */

/* Called by swmrbus_config_check once per problem, with one line that starts
 * with the key's path ("components[1].flush.ms: expected a non-negative
 * integer, got \"fast\"": the text swmrbus_config_load gives for its first
 * problem) and the caller's user pointer. The line is valid only during the
 * call. */
typedef void (*swmrbus_config_problem_fn)(const char *problem, void *user);

/* Validates the file at path as swmrbus_config_load does, but goes on after
 * a problem: every problem of values, ranges, missing required keys, keys
 * that do not apply to a kind, duplicate names and endpoints (malformed,
 * repeated, or one address bound twice) is reported through fn, in file
 * order. A problem of the file itself (unreadable, not UTF-8, YAML syntax)
 * or of its structure as the YAML parser sees it (an unknown key, a list
 * where a scalar belongs) stops the check at once: that one problem is
 * reported and nothing after it. Nothing but reading path happens: no socket,
 * no directory, no file, no plugin lookup (a kind that is not built in is
 * taken as an outside plugin and not looked up).
 * Returns OK when there is no problem; then *out (when out is not NULL) owns
 * the config, as swmrbus_config_load would give it. Else *out is NULL and the
 * result is ECONFIG (at least one problem reported), EIO (path unreadable,
 * reported) or ENOMEM (reported); EINVAL (nothing reported) when path or fn
 * is NULL. fn is called from the calling thread only. Thread-safe (no global
 * state). swmrbus_config_load's behaviour (the first problem) is unchanged. */
SWMRBUS_API swmrbus_err swmrbus_config_check(const char *path, swmrbus_config **out,
                                             swmrbus_config_problem_fn fn, void *user);

/* Same, from a YAML/JSON text in memory (len bytes). */
SWMRBUS_API swmrbus_err swmrbus_config_check_text(const char *text, size_t len,
                                                  swmrbus_config **out,
                                                  swmrbus_config_problem_fn fn, void *user);

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

/* ---- bounds of config numbers (issue 9) ---------------------------------
 * swmrbus_config_parse rejects a value outside these, naming the key path
 * and the range. They keep every size derived from the limits (socket
 * message caps, queue accounting, chunk bounds) far from wrapping. */
#define SWMRBUS_CFG_MS_MAX 86400000ull                  /* every *_ms: a day */
#define SWMRBUS_CFG_HWM_MIN 1ull                        /* in/out/notify/control.hwm */
#define SWMRBUS_CFG_HWM_MAX 1000000ull
#define SWMRBUS_CFG_FLUSH_FRAMES_MAX (1ull << 40)       /* flush.frames >= 1 */
#define SWMRBUS_CFG_HEADER_BYTES_MIN 64ull              /* limits.max_header_bytes */
#define SWMRBUS_CFG_HEADER_BYTES_MAX (16ull << 20)      /* 16 MiB */
#define SWMRBUS_CFG_FRAME_BYTES_MAX (4ull << 30)        /* limits.max_frame_bytes: 4 GiB */
#define SWMRBUS_CFG_FRAMES_MAX (1ull << 40)             /* limits.max_frames >= 1 */
#define SWMRBUS_CFG_OPEN_SERIES_MAX 4096ull             /* limits.max_open_series >= 1 */
#define SWMRBUS_CFG_QUEUE_BYTES_MAX (1ull << 40)        /* limits.max_queue_bytes: 1 TiB */
#define SWMRBUS_CFG_SIM_SERIES_MAX 1000000ull           /* sim series */
#define SWMRBUS_CFG_SIM_FRAMES_MAX (1ull << 40)         /* sim frames (per series) */

/* ZMQ_MAXMSGSIZE of a frame-stream input (a sink's in): 8 x max_frame_bytes
 * + max_header_bytes + 65536 (a compressed frame is at most a little over its
 * raw size). Of a notification input (a source's in): max_header_bytes +
 * 4096. For limits within the bounds above the result is exact and positive
 * (at most 32 GiB + 16 MiB + 64 KiB); for limits outside them it is -1 (no
 * cap), never a wrapped value. Pure; thread-safe. */
SWMRBUS_API int64_t swmrbus_limits_frame_msg_max(const swmrbus_limits *l);
SWMRBUS_API int64_t swmrbus_limits_notice_msg_max(const swmrbus_limits *l);

#ifdef __cplusplus
}
#endif
#endif
