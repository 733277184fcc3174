/* config_schema.c — the config's libcyaml schema and loader.
 *
 * libcyaml reports a failed load only through its log: a first error line
 * ("Load: Unexpected key: frmaes") and then a backtrace, innermost first
 * ("  in mapping field 'flush' (line: 9, column: 7)", "  in sequence entry
 * '2' ..."). The loader installs a log function (per call: no global state)
 * that keeps the first error line and the backtrace, and turns them into the
 * one line callers see: "components[1].flush.frmaes: unknown key". Nothing
 * reaches stderr. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cyaml/cyaml.h>

#include "config_schema.h"

/* ---- the schema ------------------------------------------------------- */

#define OPT CYAML_FLAG_OPTIONAL
#define STR_FIELD(key, type, member) \
    CYAML_FIELD_STRING_PTR(key, OPT, type, member, 0, CYAML_UNLIMITED)

static const cyaml_schema_value_t string_entry = {
    CYAML_VALUE_STRING(CYAML_FLAG_POINTER, char, 0, CYAML_UNLIMITED),
};

/* CURVE (issue 9): a socket's "curve" map. */
static const cyaml_schema_field_t curve_fields[] = {
    STR_FIELD("secret_key", swmrbus__raw_curve, secret_key),
    STR_FIELD("allow", swmrbus__raw_curve, allow),
    STR_FIELD("server_key", swmrbus__raw_curve, server_key),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t socket_fields[] = {
    STR_FIELD("endpoint", swmrbus__raw_socket, endpoint),
    CYAML_FIELD_SEQUENCE("endpoints", CYAML_FLAG_POINTER | OPT, swmrbus__raw_socket,
                         endpoints, &string_entry, 1, SWMRBUS_MAX_ENDPOINTS),
    STR_FIELD("pattern", swmrbus__raw_socket, pattern),
    STR_FIELD("bind", swmrbus__raw_socket, bind),
    STR_FIELD("hwm", swmrbus__raw_socket, hwm),
    STR_FIELD("protocol", swmrbus__raw_socket, protocol),
    CYAML_FIELD_MAPPING_PTR("curve", OPT, swmrbus__raw_socket, curve, curve_fields), /* issue 9 */
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t karabo_fields[] = { /* issue 10 */
    STR_FIELD("new_file_on_new_keys", swmrbus__raw_karabo, new_file_on_new_keys),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t flush_fields[] = {
    STR_FIELD("frames", swmrbus__raw_flush, frames),
    STR_FIELD("ms", swmrbus__raw_flush, ms),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t limits_fields[] = {
    STR_FIELD("max_header_bytes", swmrbus__raw_limits, max_header_bytes),
    STR_FIELD("max_frame_bytes", swmrbus__raw_limits, max_frame_bytes),
    STR_FIELD("max_frames", swmrbus__raw_limits, max_frames),
    STR_FIELD("max_open_series", swmrbus__raw_limits, max_open_series),
    STR_FIELD("max_queue_bytes", swmrbus__raw_limits, max_queue_bytes),
    STR_FIELD("max_memory_bytes", swmrbus__raw_limits, max_memory_bytes), /* sink memory bound */
    STR_FIELD("max_start_bytes", swmrbus__raw_limits, max_start_bytes), /* issue 11 */
    CYAML_FIELD_END,
};

/* scale-out (issue 12): a sink's shard map */
static const cyaml_schema_field_t shard_fields[] = {
    STR_FIELD("index", swmrbus__raw_shard, index),
    STR_FIELD("count", swmrbus__raw_shard, count),
    CYAML_FIELD_END,
};

#define SOCKET_FIELD(key, member) \
    CYAML_FIELD_MAPPING_PTR(key, OPT, swmrbus__raw_component, member, socket_fields)

static const cyaml_schema_field_t component_fields[] = {
    STR_FIELD("name", swmrbus__raw_component, name),
    STR_FIELD("kind", swmrbus__raw_component, kind),
    SOCKET_FIELD("in", in),
    SOCKET_FIELD("out", out),
    SOCKET_FIELD("notify", notify),
    SOCKET_FIELD("control", control),
    STR_FIELD("dir", swmrbus__raw_component, dir),
    STR_FIELD("file", swmrbus__raw_component, file),
    CYAML_FIELD_MAPPING_PTR("flush", OPT, swmrbus__raw_component, flush, flush_fields),
    STR_FIELD("linger_ms", swmrbus__raw_component, linger_ms),
    STR_FIELD("idle_close_ms", swmrbus__raw_component, idle_close_ms),
    STR_FIELD("compression", swmrbus__raw_component, compression),
    CYAML_FIELD_MAPPING_PTR("limits", OPT, swmrbus__raw_component, limits, limits_fields),
    STR_FIELD("from", swmrbus__raw_component, from),
    STR_FIELD("stale_ms", swmrbus__raw_component, stale_ms),
    STR_FIELD("series", swmrbus__raw_component, series),
    STR_FIELD("frames", swmrbus__raw_component, frames),
    CYAML_FIELD_SEQUENCE("shape", CYAML_FLAG_POINTER | OPT, swmrbus__raw_component,
                         shape, &string_entry, 1, SWMRBUS_MAX_DIMS),
    STR_FIELD("dtype", swmrbus__raw_component, dtype),
    STR_FIELD("encoding", swmrbus__raw_component, encoding),
    STR_FIELD("rate_hz", swmrbus__raw_component, rate_hz),
    /* an outside plugin's own settings, any map: read by options.c */
    CYAML_FIELD_IGNORE("options", OPT),
    /* file safety */
    CYAML_FIELD_SEQUENCE("dirs", CYAML_FLAG_POINTER | OPT, swmrbus__raw_component,
                         dirs, &string_entry, 1, SWMRBUS_MAX_DIRS),
    STR_FIELD("file_mode", swmrbus__raw_component, file_mode),
    /* Karabo bridge input (issue 10) */
    CYAML_FIELD_MAPPING_PTR("karabo", OPT, swmrbus__raw_component, karabo, karabo_fields),
    /* scale-out (issue 12) */
    CYAML_FIELD_MAPPING_PTR("shard", OPT, swmrbus__raw_component, shard, shard_fields),
    STR_FIELD("shards", swmrbus__raw_component, shards),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t component_entry = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_DEFAULT, swmrbus__raw_component, component_fields),
};

/* metrics: the top-level `metrics` map (the /metrics HTTP endpoint) */
static const cyaml_schema_field_t metrics_fields[] = {
    STR_FIELD("endpoint", swmrbus__raw_metrics, endpoint),
    CYAML_FIELD_END,
};

static const cyaml_schema_field_t top_fields[] = {
    CYAML_FIELD_SEQUENCE("components", CYAML_FLAG_POINTER | OPT, swmrbus__raw_config,
                         components, &component_entry, 0, CYAML_UNLIMITED),
    CYAML_FIELD_MAPPING_PTR("metrics", OPT, swmrbus__raw_config, metrics, metrics_fields),
    CYAML_FIELD_END,
};

static const cyaml_schema_value_t top_schema = {
    CYAML_VALUE_MAPPING(CYAML_FLAG_POINTER, swmrbus__raw_config, top_fields),
};

/* ---- capturing libcyaml's log ----------------------------------------- */

#define MAX_SEGS 16

typedef struct capture {
    char first[200];          /* first error line, without "Load: " */
    bool have_first;
    bool in_backtrace;
    struct {
        bool is_index;
        unsigned long index;  /* the entry count libcyaml printed */
        char key[40];
    } seg[MAX_SEGS];          /* innermost first, as libcyaml prints them */
    unsigned n_seg;
    unsigned long line;       /* innermost backtrace line (1-based), 0: none */
} capture;

/* Copies s into dst as printable one-line text, truncated to fit. */
static void printable(char *dst, size_t cap, const char *s)
{
    size_t i = 0;
    if (cap == 0) return;
    for (; s && *s && i + 1 < cap; s++)
        dst[i++] = ((unsigned char)*s < 0x20 || *s == 0x7f) ? '?' : *s;
    dst[i] = '\0';
}

static unsigned long line_of(const char *s)
{
    const char *p = strstr(s, "(line: ");
    return p ? strtoul(p + 7, NULL, 10) : 0;
}

__attribute__((format(printf, 3, 0)))
static void capture_log(cyaml_log_t level, void *ctx, const char *fmt, va_list args)
{
    capture *c = ctx;
    char line[256];
    size_t n;

    if (level < CYAML_LOG_ERROR) return;
    vsnprintf(line, sizeof line, fmt, args);
    n = strlen(line);
    while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r')) line[--n] = '\0';

    if (strncmp(line, "Load: Backtrace:", 16) == 0) {
        c->in_backtrace = true;
    } else if (c->in_backtrace) {
        static const char field[] = "  in mapping field '";
        static const char entry[] = "  in sequence entry '";
        if (c->n_seg == 0 && c->line == 0) c->line = line_of(line);
        if (c->n_seg >= MAX_SEGS) return;
        if (strncmp(line, field, sizeof field - 1) == 0) {
            const char *k = line + sizeof field - 1;
            const char *q = strchr(k, '\'');
            size_t kl = q ? (size_t)(q - k) : strlen(k);
            if (kl >= sizeof c->seg[0].key) kl = sizeof c->seg[0].key - 1;
            memcpy(c->seg[c->n_seg].key, k, kl);
            c->seg[c->n_seg].key[kl] = '\0';
            c->seg[c->n_seg].is_index = false;
            c->n_seg++;
        } else if (strncmp(line, entry, sizeof entry - 1) == 0) {
            c->seg[c->n_seg].is_index = true;
            c->seg[c->n_seg].index = strtoul(line + sizeof entry - 1, NULL, 10);
            c->seg[c->n_seg].key[0] = '\0';
            c->n_seg++;
        }
        /* "  in mapping (line ...)": a mapping whose current key is the
         * unknown one; it adds nothing to the path. */
    } else if (!c->have_first) {
        const char *s = strncmp(line, "Load: ", 6) == 0 ? line + 6 : line;
        printable(c->first, sizeof c->first, s);
        c->have_first = true;
    }
}

/* Appends to a path buffer, always NUL-terminated. */
static void path_add(char *path, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void path_add(char *path, size_t cap, const char *fmt, ...)
{
    size_t len = strlen(path);
    va_list ap;
    if (len + 1 >= cap) return;
    va_start(ap, fmt);
    vsnprintf(path + len, cap - len, fmt, ap);
    va_end(ap);
}

/* libcyaml's type and event names as the user knows them. */
static const char *noun(const char *s)
{
    static const struct { const char *cyaml, *user; } names[] = {
        {"MAPPING_START", "a map"}, {"SEQUENCE_START", "a list"},
        {"SCALAR", "a scalar"},     {"ALIAS", "an alias"},
        {"MAPPING", "a map"},       {"SEQUENCE", "a list"},
        {"STRING", "a scalar"},
    };
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i].cyaml) == 0) return names[i].user;
    return s;
}

/* Writes the one-line message for a failed load. */
static void describe(const capture *c, cyaml_err_t cerr, char *err, size_t errlen)
{
    char path[256] = "";
    char what[256];
    const char *msg = c->have_first ? c->first : cyaml_strerror(cerr);
    unsigned innermost = 0;
    char a[64], b[64];
    unsigned long u1, u2;

    /* Count errors are reported with the sequence itself innermost. */
    bool count_err = strncmp(msg, "Excessive entries", 17) == 0 ||
                     strncmp(msg, "Insufficient entries", 20) == 0;
    if (count_err && c->n_seg > 0 && c->seg[0].is_index) innermost = 1;

    for (unsigned i = c->n_seg; i-- > innermost;) {
        if (!c->seg[i].is_index)
            path_add(path, sizeof path, "%s%s", path[0] ? "." : "", c->seg[i].key);
        else if (i == 0 && cerr == CYAML_ERR_ALIAS) /* refused before it is counted */
            path_add(path, sizeof path, "[%lu]", c->seg[i].index);
        else /* libcyaml counts the entry before reading it: 1-based */
            path_add(path, sizeof path, "[%lu]", c->seg[i].index ? c->seg[i].index - 1 : 0);
    }

    if (strncmp(msg, "Unexpected key: ", 16) == 0) {
        snprintf(err, errlen, "%s%s%s: unknown key", path, path[0] ? "." : "", msg + 16);
        return;
    }
    if (sscanf(msg, "Expecting %63[A-Z_], got event: %63[A-Z_]", a, b) == 2)
        snprintf(what, sizeof what, "expected %s, got %s", noun(a), noun(b));
    else if (strncmp(msg, "Mapping field already seen: ", 28) == 0)
        snprintf(what, sizeof what, "duplicate key");
    else if (sscanf(msg, "Excessive entries (%lu max)", &u1) == 1)
        snprintf(what, sizeof what, "too many entries (at most %lu)", u1);
    else if (sscanf(msg, "Insufficient entries (%lu of %lu min)", &u1, &u2) == 2)
        snprintf(what, sizeof what, "too few entries (at least %lu)", u2);
    else if (cerr == CYAML_ERR_ALIAS) /* CYAML_CFG_NO_ALIAS: see make_config */
        snprintf(what, sizeof what, "YAML aliases (*name) are not allowed in a config");
    else if (sscanf(msg, "No anchor found for alias: '%63[^']'", a) == 1)
        snprintf(what, sizeof what, "unknown alias *%s", a);
    else if (strncmp(msg, "libyaml: ", 9) == 0 && c->line > 0)
        snprintf(what, sizeof what, "YAML syntax error near line %lu: %s", c->line, msg + 9);
    else if (strncmp(msg, "libyaml: ", 9) == 0)
        snprintf(what, sizeof what, "YAML syntax error: %s", msg + 9);
    else
        snprintf(what, sizeof what, "%s", msg);
    snprintf(err, errlen, "%s: %s", path[0] ? path : "top level", what);
}

static cyaml_config_t make_config(capture *c)
{
    cyaml_config_t cfg = {
        .log_fn = capture_log,
        .log_ctx = c,
        .mem_fn = cyaml_mem,
        .mem_ctx = NULL,
        .log_level = CYAML_LOG_ERROR,
        /* libcyaml expands an alias by replaying (and allocating) its
         * anchor's events again: a small file of nested aliases ("billion
         * laughs") would take unbounded time and memory. A config needs
         * none: aliases are rejected (issue 9). */
        .flags = CYAML_CFG_NO_ALIAS,
    };
    return cfg;
}

swmrbus_err swmrbus__config_raw_load(const char *text, size_t len,
                                     swmrbus__raw_config **out,
                                     char *err, size_t errlen)
{
    capture cap;
    cyaml_config_t cfg;
    cyaml_err_t cerr;
    swmrbus__raw_config *raw = NULL;
    char msg[512];

    *out = NULL;
    memset(&cap, 0, sizeof cap);
    cfg = make_config(&cap);
    if (len == 0) return SWMRBUS_OK; /* libyaml: an empty stream, no document */

    cerr = cyaml_load_data((const uint8_t *)text, len, &cfg, &top_schema,
                           (cyaml_data_t **)&raw, NULL);
    /* libyaml reports its allocation failures as a parser error with no
     * problem text ("(null)" once formatted). */
    if (cerr == CYAML_ERR_LIBYAML_PARSER && cap.have_first &&
        strcmp(cap.first, "libyaml: (null)") == 0)
        cerr = CYAML_ERR_OOM;
    if (cerr == CYAML_ERR_OOM || cerr == CYAML_ERR_LIBYAML_PARSER_INIT ||
        cerr == CYAML_ERR_LIBYAML_EVENT_INIT) {
        if (err && errlen) snprintf(err, errlen, "out of memory loading the config");
        return SWMRBUS_ENOMEM;
    }
    if (cerr != CYAML_OK) {
        describe(&cap, cerr, msg, sizeof msg);
        if (err && errlen) printable(err, errlen, msg);
        return SWMRBUS_ECONFIG;
    }
    *out = raw;
    return SWMRBUS_OK;
}

void swmrbus__config_raw_free(swmrbus__raw_config *raw)
{
    capture cap;
    cyaml_config_t cfg;

    if (!raw) return;
    memset(&cap, 0, sizeof cap);
    cfg = make_config(&cap);
    cyaml_free(&cfg, &top_schema, raw, 0);
}
