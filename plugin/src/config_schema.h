/* config_schema.h — internal: the config file as libcyaml loads it.
 *
 * config_schema.c owns libcyaml: the schema, the load, and the translation of
 * libcyaml's log (its first error line and its backtrace) into one line
 * naming the key's path ("components[1].flush.frmaes: unknown key").
 * config.c turns the raw tree into swmrbus_config: types, defaults, checks.
 *
 * Every scalar is kept as the text the file holds (NULL when the key is
 * absent): libcyaml's own number and bool readers are lenient ("12abc" reads
 * as 12, any word but false/no/off/disable/0 as true), so config.c parses
 * them strictly itself. */
#ifndef SWMRBUS_CONFIG_SCHEMA_H
#define SWMRBUS_CONFIG_SCHEMA_H

#include <stddef.h>

#include "swmrbus/config.h"
#include "swmrbus/err.h"

/* CURVE (issue 9): a socket's "curve" map; config_curve.c checks it. */
typedef struct swmrbus__raw_curve {
    char *secret_key;
    char *allow;
    char *server_key;
} swmrbus__raw_curve;
#define SWMRBUS_MAX_DIRS 64 /* a source's dirs */

typedef struct swmrbus__raw_socket {
    char *endpoint;
    char **endpoints;        /* NULL when absent, else 1..SWMRBUS_MAX_ENDPOINTS */
    unsigned endpoints_count;
    char *pattern;
    char *bind;
    char *hwm;
    swmrbus__raw_curve *curve; /* CURVE (issue 9); NULL when absent */
    char *protocol;          /* in: a decoder (swmrbus/codec.h) */
} swmrbus__raw_socket;

typedef struct swmrbus__raw_flush {
    char *frames;
    char *ms;
} swmrbus__raw_flush;

/* karabo: a sink's Karabo bridge settings (issue 10) */
typedef struct swmrbus__raw_karabo {
    char *new_file_on_new_keys;
} swmrbus__raw_karabo;

typedef struct swmrbus__raw_limits {
    char *max_header_bytes;
    char *max_frame_bytes;
    char *max_frames;
    char *max_open_series;
    char *max_queue_bytes;
    char *max_memory_bytes;  /* sink memory bound */
    char *max_start_bytes;   /* Dectris streams (issue 11) */
} swmrbus__raw_limits;

/* scale-out (issue 12): a sink's `shard` map */
typedef struct swmrbus__raw_shard {
    char *index;
    char *count;
} swmrbus__raw_shard;

typedef struct swmrbus__raw_component {
    char *name;
    char *kind;
    swmrbus__raw_socket *in, *out, *notify, *control;
    /* sink */
    char *dir;
    char *file;
    swmrbus__raw_flush *flush;
    char *linger_ms;
    char *idle_close_ms;
    char *compression;
    swmrbus__raw_limits *limits;
    /* source */
    char *from;
    char *stale_ms;
    /* sim */
    char *series;
    char *frames;
    char **shape;            /* NULL when absent, else 1..SWMRBUS_MAX_DIMS */
    unsigned shape_count;
    char *dtype;
    char *encoding;
    char *rate_hz;
    /* file safety */
    char **dirs;             /* source; NULL when absent, else 1..SWMRBUS_MAX_DIRS */
    unsigned dirs_count;
    char *file_mode;         /* sink */
    swmrbus__raw_karabo *karabo; /* sink: in.protocol karabo-bridge settings */
    /* scale-out (issue 12) */
    swmrbus__raw_shard *shard; /* sink; NULL when absent */
    char *shards;              /* coordinator */
} swmrbus__raw_component;

/* metrics: the top-level `metrics` map */
typedef struct swmrbus__raw_metrics {
    char *endpoint;
} swmrbus__raw_metrics;

typedef struct swmrbus__raw_config {
    swmrbus__raw_component *components; /* NULL when absent */
    unsigned components_count;
    swmrbus__raw_metrics *metrics;      /* NULL when absent */
} swmrbus__raw_config;

/* Loads len bytes of YAML (or JSON) into *out (NULL for an empty document).
 * Structure only: unknown keys, duplicate keys, a map where a scalar belongs
 * and the like are ECONFIG with one line in err naming the path. ENOMEM. */
swmrbus_err swmrbus__config_raw_load(const char *text, size_t len,
                                     swmrbus__raw_config **out,
                                     char *err, size_t errlen);

/* Frees what swmrbus__config_raw_load returned; safe with NULL. */
void swmrbus__config_raw_free(swmrbus__raw_config *raw);

#endif
