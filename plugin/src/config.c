/* config.c — pipeline configs: defaults, strict value parsing, checks.
 *
 * config_schema.c loads the file's structure with libcyaml (every scalar as
 * text); this file turns it into swmrbus_config. Every error is one line that
 * starts with the key's path: "components[0].from: not a key of kind sink". */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swmrbus/config.h"
#include "swmrbus/metrics.h"
#include "config_schema.h"
#include "options.h"
#include "swmrbus/codec.h"
#include "config_curve.h" /* CURVE (issue 9) */

#define CONFIG_MAX_BYTES (1u << 20) /* a config file larger than this is a mistake */
#define DEFAULT_HWM 1000
#define DEFAULT_FILE "{name}_{series}.h5"

/* The built-in kinds; anything else names an outside plugin. */
enum {
    K_SINK = 1u << 0,
    K_SOURCE = 1u << 1,
    K_SIM = 1u << 2,
    K_PLUGIN = 1u << 3,
    K_SHARD = 1u << 4, /* scale-out (issue 12): the splitter */
    K_COORD = 1u << 5, /* scale-out (issue 12): the coordinator */
    K_ALL = K_SINK | K_SOURCE | K_SIM | K_PLUGIN | K_SHARD | K_COORD,
};

typedef enum socket_role { ROLE_IN, ROLE_OUT, ROLE_NOTIFY, ROLE_CONTROL } socket_role;

static const char *const role_names[] = {"in", "out", "notify", "control"};

static unsigned kind_class(const char *kind)
{
    if (strcmp(kind, "sink") == 0) return K_SINK;
    if (strcmp(kind, "source") == 0) return K_SOURCE;
    if (strcmp(kind, "sim") == 0) return K_SIM;
    if (strcmp(kind, "shard") == 0) return K_SHARD;       /* issue 12 */
    if (strcmp(kind, "coordinator") == 0) return K_COORD; /* issue 12 */
    return K_PLUGIN;
}

/* ---- error text ------------------------------------------------------- */

static swmrbus_err fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static swmrbus_err fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    if (!err || errlen == 0) return SWMRBUS_ECONFIG;
    va_start(ap, fmt);
    vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    for (char *p = err; *p; p++) /* one line, always */
        if ((unsigned char)*p < 0x20 || *p == 0x7f) *p = '?';
    return SWMRBUS_ECONFIG;
}

/* A value from the file, quoted for an error line: printable, truncated. */
typedef struct shown {
    char s[72];
} shown;

static shown show(const char *v)
{
    shown out;
    size_t i = 0, n = strlen(v);
    out.s[i++] = '"';
    for (size_t j = 0; j < n && i < sizeof out.s - 5; j++)
        out.s[i++] = ((unsigned char)v[j] < 0x20 || v[j] == 0x7f) ? '?' : v[j];
    if (i >= sizeof out.s - 5 && n > sizeof out.s - 6) {
        memcpy(out.s + i, "...", 3);
        i += 3;
    }
    out.s[i++] = '"';
    out.s[i] = '\0';
    return out;
}

/* ---- every problem, not only the first (swmrbus_config_check) ----------- */

/* Loading stops at the first problem. Checking passes a collector down: a
 * configuration problem is reported through it and the walk goes on (other
 * errors, out of memory, still stop). NULL when loading. */
typedef struct collect {
    swmrbus_config_problem_fn fn;
    void *user;
    size_t n; /* problems reported */
} collect;

/* After a failed step: true when the walk goes on (the problem in err was
 * reported to col), false when it stops. */
static bool keep_going(collect *col, swmrbus_err rc, const char *err)
{
    if (!col || rc != SWMRBUS_ECONFIG) return false;
    col->fn(err, col->user);
    col->n++;
    return true;
}

/* ---- strict scalars ---------------------------------------------------- */

/* Decimal digits only: no sign, no spaces, no 0x, no 1e3. */
static swmrbus_err parse_u64(const char *v, uint64_t min, uint64_t max, uint64_t *out,
                             const char *path, const char *key, char *err, size_t errlen)
{
    uint64_t n = 0;
    const char *p = v;

    if (*p == '\0' || strspn(v, "0123456789") != strlen(v)) goto bad;
    for (; *p; p++) {
        if (n > (UINT64_MAX - (uint64_t)(*p - '0')) / 10) goto big;
        n = n * 10 + (uint64_t)(*p - '0');
    }
    if (n < min || n > max) goto range;
    *out = n;
    return SWMRBUS_OK;
bad:
    return fail(err, errlen, "%s.%s: expected a non-negative integer, got %s", path, key,
                show(v).s);
big: /* the allowed range in every out-of-range message (issue 9) */
    return fail(err, errlen, "%s.%s: too large (allowed %llu..%llu), got %s", path, key,
                (unsigned long long)min, (unsigned long long)max, show(v).s);
range:
    if (n > max) goto big;
    return fail(err, errlen, "%s.%s: must be >= %llu (allowed %llu..%llu), got %s", path, key,
                (unsigned long long)min, (unsigned long long)min, (unsigned long long)max,
                show(v).s);
}

/* true | false (YAML 1.2 core spellings); not yes/no/on/off/1/0. */
static swmrbus_err parse_bool(const char *v, bool *out, const char *path, const char *key,
                              char *err, size_t errlen)
{
    if (!strcmp(v, "true") || !strcmp(v, "True") || !strcmp(v, "TRUE")) {
        *out = true;
        return SWMRBUS_OK;
    }
    if (!strcmp(v, "false") || !strcmp(v, "False") || !strcmp(v, "FALSE")) {
        *out = false;
        return SWMRBUS_OK;
    }
    return fail(err, errlen, "%s.%s: expected true or false, got %s", path, key, show(v).s);
}

/* A finite decimal number >= 0 ("100", "2.5", "1e3"); no hex, inf or nan. */
static swmrbus_err parse_rate(const char *v, double *out, const char *path, const char *key,
                              char *err, size_t errlen)
{
    char *end = NULL;
    double d;

    if (!isdigit((unsigned char)v[0]) && !(v[0] == '.' && isdigit((unsigned char)v[1])))
        goto bad;
    if (strpbrk(v, "xXpP")) goto bad;
    errno = 0;
    d = strtod(v, &end);
    if (end == v || *end != '\0' || errno == ERANGE || !isfinite(d) || d < 0) goto bad;
    *out = d;
    return SWMRBUS_OK;
bad:
    return fail(err, errlen, "%s.%s: expected a number >= 0, got %s", path, key, show(v).s);
}

/* A string value that must not be empty or hold control characters; max 0:
 * any length. */
static swmrbus_err check_text(const char *v, size_t max, const char *path, const char *key,
                              char *err, size_t errlen)
{
    if (v[0] == '\0') return fail(err, errlen, "%s.%s: must not be empty", path, key);
    if (max && strlen(v) > max)
        return fail(err, errlen, "%s.%s: longer than %zu bytes", path, key, max);
    for (const char *p = v; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return fail(err, errlen, "%s.%s: contains a control character", path, key);
    return SWMRBUS_OK;
}

/* "transport://address" with a non-empty transport of letters. */
static swmrbus_err check_endpoint(const char *v, const char *path, const char *key,
                                  char *err, size_t errlen)
{
    const char *sep;
    swmrbus_err rc = check_text(v, 0, path, key, err, errlen);
    if (rc != SWMRBUS_OK) return rc;
    sep = strstr(v, "://");
    if (!sep || sep == v || sep[3] == '\0') goto bad;
    for (const char *p = v; p < sep; p++)
        if (!isalpha((unsigned char)*p)) goto bad;
    /* ipc: a Unix socket address holds at most 107 bytes of path */
    if (!strncmp(v, "ipc://", 6) && strlen(v + 6) > 107)
        return fail(err, errlen, "%s.%s: ipc:// path longer than 107 bytes (%zu): %s", path,
                    key, strlen(v + 6), show(v).s);
    return SWMRBUS_OK;
bad:
    return fail(err, errlen,
                "%s.%s: expected transport://address (tcp://, ipc://, inproc://), got %s", path,
                key, show(v).s);
}

/* The file template: a file name (no '/') whose only placeholders are
 * {name} and {series}. */
static swmrbus_err check_template(const char *v, const char *path, char *err, size_t errlen)
{
    swmrbus_err rc = check_text(v, SWMRBUS_NAME_MAX, path, "file", err, errlen);
    if (rc != SWMRBUS_OK) return rc;
    if (strchr(v, '/'))
        return fail(err, errlen, "%s.file: must be a file name inside dir, not a path: %s",
                    path, show(v).s);
    if (!strcmp(v, ".") || !strcmp(v, ".."))
        return fail(err, errlen, "%s.file: not a file name: %s", path, show(v).s);
    for (const char *p = v; *p; p++) {
        if (*p == '{') {
            if (!strncmp(p, "{name}", 6)) p += 5;
            else if (!strncmp(p, "{series}", 8)) p += 7;
            else goto bad;
        } else if (*p == '}') {
            goto bad;
        }
    }
    return SWMRBUS_OK;
bad:
    return fail(err, errlen, "%s.file: placeholders are {name} and {series}, got %s", path,
                show(v).s);
}

/* ---- defaults ----------------------------------------------------------- */

static void socket_defaults(swmrbus_socket_cfg *s, swmrbus_pattern pattern, bool bind)
{
    s->pattern = pattern;
    s->bind = bind;
    s->hwm = DEFAULT_HWM;
}

/* Every default of the table for kind class k; strings are not touched. */
static void apply_defaults(swmrbus_component_cfg *c, unsigned k)
{
    swmrbus_pattern in = k == K_SOURCE || k == K_COORD ? SWMRBUS_PATTERN_SUB : SWMRBUS_PATTERN_PULL;
    socket_defaults(&c->in, in, (k == K_SINK || k == K_SHARD) && in == SWMRBUS_PATTERN_PULL);
    socket_defaults(&c->out, SWMRBUS_PATTERN_PUSH, true);
    socket_defaults(&c->notify, SWMRBUS_PATTERN_PUB, true);
    /* control is always a REP socket; the enum has no value for it */
    socket_defaults(&c->control, SWMRBUS_PATTERN_DEFAULT, true);
    c->flush_frames = 100;
    c->flush_ms = 200;
    c->linger_ms = 1000;
    c->idle_close_ms = 0;
    c->compression = SWMRBUS_ENC_NONE;
    swmrbus_limits_default(&c->limits);
    c->max_memory_bytes = SWMRBUS_DEFAULT_MAX_MEMORY_BYTES; /* sink memory bound */
    c->from = SWMRBUS_FROM_START;
    c->stale_ms = 10000;
    c->sim_series = 1;
    c->sim_frames = 1000;
    c->sim_format.dtype = SWMRBUS_DTYPE_UINT16;
    c->sim_format.encoding = SWMRBUS_ENC_RAW;
    c->sim_format.ndim = 2;
    c->sim_format.shape[0] = 64;
    c->sim_format.shape[1] = 128;
    c->sim_format.shape[2] = 0;
    c->sim_rate_hz = 0.0;
    c->file_mode = 0644; /* file safety */
    c->max_start_bytes = SWMRBUS_DEFAULT_MAX_START_BYTES; /* Dectris streams (issue 11) */
}

static void socket_clear(swmrbus_socket_cfg *s)
{
    for (unsigned i = 0; i < SWMRBUS_MAX_ENDPOINTS; i++) {
        free(s->endpoints[i]);
        s->endpoints[i] = NULL;
    }
    s->n_endpoints = 0;
    s->present = false;
    swmrbus__curve_cfg_clear(&s->curve); /* CURVE (issue 9) */
    free(s->protocol);
    s->protocol = NULL;
}

/* A step of loading: on failure goes to out, or with a collector (col in
 * scope) reports a configuration problem and goes on. */
#define TRY(expr)                                                  \
    do {                                                           \
        rc = (expr);                                               \
        if (rc != SWMRBUS_OK) {                                    \
            if (!keep_going(col, rc, err)) goto out;               \
            rc = SWMRBUS_OK;                                       \
        }                                                          \
    } while (0)

/* ---- one socket ----------------------------------------------------------- */

static swmrbus_err load_socket(const swmrbus__raw_socket *rs, swmrbus_socket_cfg *s,
                               socket_role role, unsigned k, const char *cpath, char *err,
                               size_t errlen, collect *col)
{
    char path[64];
    swmrbus_err rc = SWMRBUS_OK;
    const char *eps[SWMRBUS_MAX_ENDPOINTS];
    unsigned n = 0;

    snprintf(path, sizeof path, "%s.%s", cpath, role_names[role]);
    if (rs->endpoint && rs->endpoints)
        TRY(fail(err, errlen, "%s: give endpoint or endpoints, not both", path));
    if (!rs->endpoint && !rs->endpoints)
        TRY(fail(err, errlen, "%s: endpoint or endpoints required", path));
    if (rs->endpoint) {
        TRY(check_endpoint(rs->endpoint, path, "endpoint", err, errlen));
        eps[n++] = rs->endpoint;
    } else if (rs->endpoints) {
        for (unsigned i = 0; i < rs->endpoints_count && i < SWMRBUS_MAX_ENDPOINTS; i++) {
            char key[32];
            snprintf(key, sizeof key, "endpoints[%u]", i);
            TRY(check_endpoint(rs->endpoints[i], path, key, err, errlen));
            for (unsigned j = 0; j < i; j++)
                if (!strcmp(rs->endpoints[i], rs->endpoints[j]))
                    TRY(fail(err, errlen, "%s.%s: duplicate of endpoints[%u]", path, key, j));
            eps[n++] = rs->endpoints[i];
        }
    }

    if (rs->pattern) {
        if (role == ROLE_IN && !strcmp(rs->pattern, "pull")) s->pattern = SWMRBUS_PATTERN_PULL;
        else if (role == ROLE_IN && !strcmp(rs->pattern, "sub")) s->pattern = SWMRBUS_PATTERN_SUB;
        else if (role == ROLE_OUT && !strcmp(rs->pattern, "push")) s->pattern = SWMRBUS_PATTERN_PUSH;
        else if (role == ROLE_OUT && !strcmp(rs->pattern, "pub")) s->pattern = SWMRBUS_PATTERN_PUB;
        /* Karabo bridge (issue 10): a sink's REQ input (its in.protocol's
         * decoder names the request), a source's REP output */
        else if (role == ROLE_IN && !strcmp(rs->pattern, "req")) s->pattern = SWMRBUS_PATTERN_REQ;
        else if (role == ROLE_OUT && !strcmp(rs->pattern, "rep")) s->pattern = SWMRBUS_PATTERN_REP;
        else if (role == ROLE_IN)
            TRY(fail(err, errlen, "%s.pattern: expected pull or sub, got %s", path,
                     show(rs->pattern).s));
        else if (role == ROLE_OUT)
            TRY(fail(err, errlen, "%s.pattern: expected push or pub, got %s", path,
                     show(rs->pattern).s));
        else
            TRY(fail(err, errlen, "%s.pattern: not a key of %s (always %s)", path,
                     role_names[role], role == ROLE_NOTIFY ? "pub" : "rep"));
    }
    /* a foreign stream on the input: one of the built-in decoders; on the
     * output (a source's, issue 11): one of the built-in encoders */
    if (rs->protocol && role != ROLE_IN && role != ROLE_OUT)
        TRY(fail(err, errlen, "%s.protocol: not a key of %s", path, role_names[role]));
    else if (rs->protocol && role == ROLE_OUT &&
             strcmp(rs->protocol, SWMRBUS_PROTOCOL_NATIVE) != 0 &&
             !swmrbus_encoder_find(rs->protocol))
        TRY(fail(err, errlen, "%s.protocol: expected one of %s, got %s", path,
                 swmrbus_encoder_names(), show(rs->protocol).s));
    else if (rs->protocol && role == ROLE_IN &&
             strcmp(rs->protocol, SWMRBUS_PROTOCOL_NATIVE) != 0 &&
             !swmrbus_decoder_find(rs->protocol))
        TRY(fail(err, errlen, "%s.protocol: expected one of %s, got %s", path,
                 swmrbus_decoder_names(), show(rs->protocol).s));
    else if (rs->protocol && strcmp(rs->protocol, SWMRBUS_PROTOCOL_NATIVE) != 0 &&
             !(s->protocol = strdup(rs->protocol)))
        TRY(SWMRBUS_ENOMEM);
    if (rs->bind) {
        TRY(parse_bool(rs->bind, &s->bind, path, "bind", err, errlen));
    } else if (role == ROLE_IN) {
        s->bind = (k == K_SINK || k == K_SHARD) && s->pattern == SWMRBUS_PATTERN_PULL;
    }
    if (rs->hwm) {
        uint64_t v = (uint64_t)s->hwm;
        TRY(parse_u64(rs->hwm, SWMRBUS_CFG_HWM_MIN, SWMRBUS_CFG_HWM_MAX, &v, path, "hwm", err,
                      errlen));
        s->hwm = (int)v;
    }

    for (unsigned i = 0; i < n; i++) {
        s->endpoints[i] = strdup(eps[i]);
        if (!s->endpoints[i]) {
            socket_clear(s);
            return SWMRBUS_ENOMEM;
        }
    }
    s->n_endpoints = n;
    s->present = true;
out:
    return rc;
}

/* ---- one component -------------------------------------------------------- */

/* Which kinds take which component keys (name and kind: all). An outside
 * plugin takes the common keys: the four sockets and limits. */
static const struct {
    const char *key;
    unsigned kinds;
} key_kinds[] = {
    {"in", K_SINK | K_SOURCE | K_PLUGIN | K_SHARD | K_COORD},
    {"out", K_SOURCE | K_SIM | K_PLUGIN | K_SHARD},
    {"notify", K_SINK | K_SOURCE | K_PLUGIN | K_COORD},
    {"control", K_SINK | K_SOURCE | K_PLUGIN | K_SHARD | K_COORD},
    {"dir", K_SINK | K_COORD},
    {"file", K_SINK},
    {"flush", K_SINK},
    {"linger_ms", K_SINK},
    {"idle_close_ms", K_SINK},
    {"compression", K_SINK},
    {"limits", K_SINK | K_SOURCE | K_PLUGIN | K_SHARD | K_COORD},
    {"from", K_SOURCE},
    {"stale_ms", K_SOURCE | K_COORD},
    {"series", K_SIM},
    {"frames", K_SIM},
    {"shape", K_SIM},
    {"dtype", K_SIM},
    {"encoding", K_SIM},
    {"rate_hz", K_SIM},
    {"karabo", K_SINK}, /* issue 10 */
};
#define N_KEY_KINDS (sizeof key_kinds / sizeof key_kinds[0])

static swmrbus_err check_keys_for_kind(const swmrbus__raw_component *rc, unsigned k,
                                       const char *path, char *err, size_t errlen,
                                       collect *col)
{
    const void *present[N_KEY_KINDS] = {
        rc->in,        rc->out,         rc->notify,      rc->control, rc->dir,
        rc->file,      rc->flush,       rc->linger_ms,   rc->idle_close_ms,
        rc->compression, rc->limits,    rc->from,        rc->stale_ms,
        rc->series,    rc->frames,      rc->shape,       rc->dtype,
        rc->encoding,  rc->rate_hz,     rc->karabo,
    };
    for (size_t i = 0; i < N_KEY_KINDS; i++) {
        swmrbus_err e;
        if (!present[i] || (key_kinds[i].kinds & k)) continue;
        if (k != K_PLUGIN)
            e = fail(err, errlen, "%s.%s: not a key of kind %s", path, key_kinds[i].key,
                     rc->kind);
        else
            e = fail(err, errlen,
                     "%s.%s: not a key of kind %s (an outside plugin takes name, kind, in, "
                     "out, notify, control, limits)", path, key_kinds[i].key, show(rc->kind).s);
        if (!keep_going(col, e, err)) return e; /* checking: every such key */
    }
    return SWMRBUS_OK;
}

static swmrbus_err load_limits(const swmrbus__raw_limits *rl, swmrbus_limits *l,
                               const char *cpath, char *err, size_t errlen, collect *col)
{
    char path[64];
    swmrbus_err rc = SWMRBUS_OK;
    snprintf(path, sizeof path, "%s.limits", cpath);
    if (rl->max_header_bytes)
        TRY(parse_u64(rl->max_header_bytes, SWMRBUS_CFG_HEADER_BYTES_MIN, SWMRBUS_CFG_HEADER_BYTES_MAX, &l->max_header_bytes, path,
                      "max_header_bytes", err, errlen));
    if (rl->max_frame_bytes)
        TRY(parse_u64(rl->max_frame_bytes, 1, SWMRBUS_CFG_FRAME_BYTES_MAX, &l->max_frame_bytes, path,
                      "max_frame_bytes", err, errlen));
    if (rl->max_frames)
        TRY(parse_u64(rl->max_frames, 1, SWMRBUS_CFG_FRAMES_MAX, &l->max_frames, path, "max_frames", err,
                      errlen));
    if (rl->max_open_series)
        TRY(parse_u64(rl->max_open_series, 1, SWMRBUS_CFG_OPEN_SERIES_MAX, &l->max_open_series, path,
                      "max_open_series", err, errlen));
    if (rl->max_queue_bytes)
        TRY(parse_u64(rl->max_queue_bytes, 1, SWMRBUS_CFG_QUEUE_BYTES_MAX, &l->max_queue_bytes, path,
                      "max_queue_bytes", err, errlen));
out:
    return rc;
}

static swmrbus_err load_sim(const swmrbus__raw_component *r, swmrbus_component_cfg *c,
                            const char *path, char *err, size_t errlen, collect *col)
{
    swmrbus_err rc = SWMRBUS_OK;
    size_t problems = col ? col->n : 0; /* the size check needs a valid format */

    if (r->series) TRY(parse_u64(r->series, 0, SWMRBUS_CFG_SIM_SERIES_MAX, &c->sim_series, path, "series", err, errlen));
    if (r->frames) TRY(parse_u64(r->frames, 0, SWMRBUS_CFG_SIM_FRAMES_MAX, &c->sim_frames, path, "frames", err, errlen));
    if (r->shape) {
        swmrbus_format f = c->sim_format;
        f.ndim = r->shape_count;
        for (unsigned i = 0; i < r->shape_count && i < SWMRBUS_MAX_DIMS; i++) {
            char key[16];
            snprintf(key, sizeof key, "shape[%u]", i);
            TRY(parse_u64(r->shape[i], 1, UINT64_MAX, &f.shape[i], path, key, err, errlen));
        }
        for (unsigned i = r->shape_count; i < SWMRBUS_MAX_DIMS; i++) f.shape[i] = 0;
        if (f.ndim < 1 || f.ndim > SWMRBUS_MAX_DIMS) /* libcyaml enforces it too */
            TRY(fail(err, errlen, "%s.shape: expected 1 to %d dimensions", path, SWMRBUS_MAX_DIMS));
        c->sim_format.ndim = f.ndim;
        memcpy(c->sim_format.shape, f.shape, sizeof f.shape);
    }
    if (r->dtype) {
        c->sim_format.dtype = swmrbus_dtype_parse(r->dtype, strlen(r->dtype));
        if (c->sim_format.dtype == SWMRBUS_DTYPE_NONE)
            TRY(fail(err, errlen,
                     "%s.dtype: expected uint8|uint16|uint32|uint64|int8|int16|int32|int64|"
                     "float32|float64, got %s", path, show(r->dtype).s));
    }
    if (r->encoding) {
        c->sim_format.encoding = swmrbus_encoding_parse(r->encoding, strlen(r->encoding));
        if (c->sim_format.encoding == SWMRBUS_ENC_NONE)
            TRY(fail(err, errlen, "%s.encoding: expected raw, bslz4 or lz4, got %s", path,
                     show(r->encoding).s));
    }
    if ((!col || col->n == problems) && swmrbus_format_raw_bytes(&c->sim_format) == 0)
        TRY(fail(err, errlen, "%s.shape: frame size overflows", path));
    if (swmrbus_format_raw_bytes(&c->sim_format) > SWMRBUS_CFG_FRAME_BYTES_MAX) /* issue 9 */
        TRY(fail(err, errlen, "%s.shape: frame larger than %llu bytes", path,
                 (unsigned long long)SWMRBUS_CFG_FRAME_BYTES_MAX));
    if (r->rate_hz) TRY(parse_rate(r->rate_hz, &c->sim_rate_hz, path, "rate_hz", err, errlen));
out:
    return rc;
}

/* ---- file safety: a source's dirs, a sink's file_mode -------------------- */

/* "0644", "644", "0640": octal permission bits, at most 0777, with read and
 * write for the owner (the sink writes the file). */
static swmrbus_err parse_mode(const char *v, unsigned *out, const char *path, char *err,
                              size_t errlen)
{
    unsigned m = 0;
    size_t n = strlen(v);
    if (n < 3 || n > 4 || strspn(v, "01234567") != n || (n == 4 && v[0] != '0')) goto bad;
    for (const char *p = v; *p; p++) m = m * 8 + (unsigned)(*p - '0');
    if ((m & 0600) != 0600)
        return fail(err, errlen, "%s.file_mode: the owner needs read and write (0600), got %s",
                    path, show(v).s);
    *out = m;
    return SWMRBUS_OK;
bad:
    return fail(err, errlen, "%s.file_mode: expected octal permissions such as \"0644\", got %s",
                path, show(v).s);
}

static swmrbus_err load_file_safety(const swmrbus__raw_component *r, swmrbus_component_cfg *c,
                                    unsigned k, const char *path, char *err, size_t errlen,
                                    collect *col)
{
    swmrbus_err rc = SWMRBUS_OK;
    if (r->dirs && k != K_SOURCE)
        TRY(fail(err, errlen, "%s.dirs: not a key of kind %s", path, show(r->kind).s));
    if (r->file_mode && k != K_SINK)
        TRY(fail(err, errlen, "%s.file_mode: not a key of kind %s", path, show(r->kind).s));
    if (r->file_mode) TRY(parse_mode(r->file_mode, &c->file_mode, path, err, errlen));
    if (r->dirs) {
        if (!(c->dirs = calloc(r->dirs_count, sizeof *c->dirs))) TRY(SWMRBUS_ENOMEM);
        for (unsigned i = 0; i < r->dirs_count; i++) {
            char key[24];
            snprintf(key, sizeof key, "dirs[%u]", i);
            TRY(check_text(r->dirs[i], 0, path, key, err, errlen));
            if (!(c->dirs[i] = strdup(r->dirs[i]))) TRY(SWMRBUS_ENOMEM);
            c->n_dirs = i + 1;
        }
    }
out:
    return rc;
}

/* After every component is loaded: a source without dirs reads from every
 * sink's dir of the config; with no sink it must name its dirs. */
static swmrbus_err default_dirs(swmrbus_config *cfg, char *err, size_t errlen)
{
    for (size_t i = 0; i < cfg->n_components; i++) {
        swmrbus_component_cfg *c = &cfg->components[i];
        size_t n = 0;
        if (kind_class(c->kind) != K_SOURCE || c->n_dirs) continue;
        for (size_t j = 0; j < cfg->n_components; j++) n += cfg->components[j].dir != NULL;
        if (n == 0)
            return fail(err, errlen, "components[%zu].dirs: required when no sink in this config",
                        i);
        if (!(c->dirs = calloc(n, sizeof *c->dirs))) return SWMRBUS_ENOMEM;
        for (size_t j = 0; j < cfg->n_components; j++) {
            const char *d = cfg->components[j].dir;
            bool seen = false;
            if (!d) continue;
            for (size_t q = 0; q < c->n_dirs; q++) seen = seen || !strcmp(c->dirs[q], d);
            if (seen) continue;
            if (!(c->dirs[c->n_dirs] = strdup(d))) return SWMRBUS_ENOMEM;
            c->n_dirs++;
        }
    }
    return SWMRBUS_OK;
}

static void free_dirs(swmrbus_component_cfg *c)
{
    for (size_t i = 0; i < c->n_dirs; i++) free(c->dirs[i]);
    free(c->dirs);
    c->dirs = NULL;
    c->n_dirs = 0;
}

/* ---- scale-out (issue 12): a sink's shard, the splitter, the coordinator -- */

static swmrbus_err check_scale_required(const swmrbus__raw_component *r, unsigned k,
                                        const char *path, char *err, size_t errlen,
                                        collect *col)
{
    swmrbus_err rc = SWMRBUS_OK;
    const char *kn = k == K_SHARD ? "shard" : "coordinator";
    if (!r->in) TRY(fail(err, errlen, "%s.in: required for kind %s", path, kn));
    if (k == K_SHARD && !r->out) TRY(fail(err, errlen, "%s.out: required for kind shard", path));
    if (k == K_COORD && !r->dir) TRY(fail(err, errlen, "%s.dir: required for kind coordinator", path));
    if (k == K_COORD && !r->shards)
        TRY(fail(err, errlen, "%s.shards: required for kind coordinator", path));
out:
    return rc;
}

static swmrbus_err load_scale(const swmrbus__raw_component *r, swmrbus_component_cfg *c,
                              unsigned k, const char *path, char *err, size_t errlen,
                              collect *col)
{
    swmrbus_err rc = SWMRBUS_OK;
    char spath[64];
    snprintf(spath, sizeof spath, "%s.shard", path);
    if (r->shard && k != K_SINK)
        TRY(fail(err, errlen, "%s.shard: not a key of kind %s", path, show(r->kind).s));
    if (r->shards && k != K_COORD)
        TRY(fail(err, errlen, "%s.shards: not a key of kind %s", path, show(r->kind).s));
    if (r->shard) {
        if (!r->shard->index) TRY(fail(err, errlen, "%s.index: required", spath));
        if (!r->shard->count) TRY(fail(err, errlen, "%s.count: required", spath));
        if (r->shard->count)
            TRY(parse_u64(r->shard->count, 1, SWMRBUS_MAX_SHARDS, &c->shard_count, spath, "count",
                          err, errlen));
        if (r->shard->index)
            TRY(parse_u64(r->shard->index, 0, SWMRBUS_MAX_SHARDS - 1, &c->shard_index, spath,
                          "index", err, errlen));
        if (c->shard_count && c->shard_index >= c->shard_count)
            TRY(fail(err, errlen, "%s.index: must be below count (%llu), got %llu", spath,
                     (unsigned long long)c->shard_count, (unsigned long long)c->shard_index));
    }
    if (r->shards)
        TRY(parse_u64(r->shards, 1, SWMRBUS_MAX_SHARDS, &c->shards, path, "shards", err, errlen));
    if ((k == K_SHARD || k == K_COORD) && c->in.protocol) /* the splitter forwards our frames */
        TRY(fail(err, errlen, "%s.in.protocol: not a key of kind %s", path, show(r->kind).s));
    if (k == K_SHARD && r->out && c->out.pattern != SWMRBUS_PATTERN_PUSH)
        TRY(fail(err, errlen, "%s.out.pattern: a splitter pushes (push), got pub", path));
out:
    return rc;
}

static swmrbus_err load_component(const swmrbus__raw_component *r, size_t idx,
                                  swmrbus_component_cfg *c, char *err, size_t errlen,
                                  collect *col)
{
    char path[48];
    swmrbus_err rc = SWMRBUS_OK;
    unsigned k;

    snprintf(path, sizeof path, "components[%zu]", idx);
    if (!r->name) TRY(fail(err, errlen, "%s.name: required", path));
    else TRY(check_text(r->name, SWMRBUS_NAME_MAX, path, "name", err, errlen));
    if (!r->kind) TRY(fail(err, errlen, "%s.kind: required", path));
    else TRY(check_text(r->kind, 0, path, "kind", err, errlen));
    k = r->kind ? kind_class(r->kind) : 0; /* 0: no kind, no kind rules (checking) */
    if (k) TRY(check_keys_for_kind(r, k, path, err, errlen, col));

    if (k == K_SINK && !r->dir) TRY(fail(err, errlen, "%s.dir: required for kind sink", path));
    if ((k == K_SINK || k == K_SOURCE) && !r->in)
        TRY(fail(err, errlen, "%s.in: required for kind %s", path, r->kind));
    if (k == K_SIM && !r->out) TRY(fail(err, errlen, "%s.out: required for kind sim", path));
    if (k == K_SHARD || k == K_COORD) /* issue 12 */
        TRY(check_scale_required(r, k, path, err, errlen, col));

    apply_defaults(c, k);
    c->name = strdup(r->name ? r->name : "");
    c->kind = strdup(r->kind ? r->kind : "");
    c->file = strdup(r->file ? r->file : DEFAULT_FILE);
    if (!c->name || !c->kind || !c->file) TRY(SWMRBUS_ENOMEM);

    if (r->in) TRY(load_socket(r->in, &c->in, ROLE_IN, k, path, err, errlen, col));
    if (r->out) TRY(load_socket(r->out, &c->out, ROLE_OUT, k, path, err, errlen, col));
    if (r->notify) TRY(load_socket(r->notify, &c->notify, ROLE_NOTIFY, k, path, err, errlen, col));
    if (r->control) TRY(load_socket(r->control, &c->control, ROLE_CONTROL, k, path, err, errlen, col));
    TRY(swmrbus__config_curve(r, c, path, err, errlen)); /* CURVE (issue 9) */

    /* sink */
    if (r->dir) {
        TRY(check_text(r->dir, 0, path, "dir", err, errlen));
        c->dir = strdup(r->dir);
        if (!c->dir) TRY(SWMRBUS_ENOMEM);
    }
    if (r->file) TRY(check_template(r->file, path, err, errlen));
    if (r->flush) {
        char fpath[64];
        snprintf(fpath, sizeof fpath, "%s.flush", path);
        if (r->flush->frames)
            TRY(parse_u64(r->flush->frames, 1, SWMRBUS_CFG_FLUSH_FRAMES_MAX, &c->flush_frames, fpath, "frames",
                          err, errlen));
        if (r->flush->ms)
            TRY(parse_u64(r->flush->ms, 0, SWMRBUS_CFG_MS_MAX, &c->flush_ms, fpath, "ms", err, errlen));
    }
    if (r->linger_ms)
        TRY(parse_u64(r->linger_ms, 0, SWMRBUS_CFG_MS_MAX, &c->linger_ms, path, "linger_ms", err, errlen));
    if (r->idle_close_ms)
        TRY(parse_u64(r->idle_close_ms, 0, SWMRBUS_CFG_MS_MAX, &c->idle_close_ms, path, "idle_close_ms",
                      err, errlen));
    /* Karabo bridge input (issue 10) */
    if (r->karabo && r->karabo->new_file_on_new_keys) {
        char kpath[64];
        snprintf(kpath, sizeof kpath, "%s.karabo", path);
        TRY(parse_bool(r->karabo->new_file_on_new_keys, &c->karabo_new_file_on_new_keys, kpath,
                       "new_file_on_new_keys", err, errlen));
    }
    if (r->compression) {
        if (!strcmp(r->compression, "none")) c->compression = SWMRBUS_ENC_NONE;
        else if (!strcmp(r->compression, "bslz4")) c->compression = SWMRBUS_ENC_BSLZ4;
        else if (!strcmp(r->compression, "lz4")) c->compression = SWMRBUS_ENC_LZ4;
        else
            TRY(fail(err, errlen, "%s.compression: expected none, bslz4 or lz4, got %s", path,
                     show(r->compression).s));
    }
    if (r->limits) TRY(load_limits(r->limits, &c->limits, path, err, errlen, col));
    /* sink memory bound: limits.max_memory_bytes (not a decoder limit) */
    if (r->limits && r->limits->max_memory_bytes) {
        char lpath[64];
        snprintf(lpath, sizeof lpath, "%s.limits", path);
        TRY(parse_u64(r->limits->max_memory_bytes, 1ull << 20, 1ull << 50, &c->max_memory_bytes, lpath,
                      "max_memory_bytes", err, errlen));
    }
    /* Dectris streams (issue 11): limits.max_start_bytes */
    if (r->limits && r->limits->max_start_bytes) {
        char lpath[64];
        snprintf(lpath, sizeof lpath, "%s.limits", path);
        TRY(parse_u64(r->limits->max_start_bytes, 65536, SWMRBUS_CFG_START_BYTES_MAX,
                      &c->max_start_bytes, lpath, "max_start_bytes", err, errlen));
    }

    /* source */
    if (r->from) {
        if (!strcmp(r->from, "start")) c->from = SWMRBUS_FROM_START;
        else if (!strcmp(r->from, "latest")) c->from = SWMRBUS_FROM_LATEST;
        else
            TRY(fail(err, errlen, "%s.from: expected start or latest, got %s", path,
                     show(r->from).s));
    }
    if (r->stale_ms)
        TRY(parse_u64(r->stale_ms, 0, SWMRBUS_CFG_MS_MAX, &c->stale_ms, path, "stale_ms", err, errlen));

    /* sim */
    TRY(load_sim(r, c, path, err, errlen, col));
    TRY(load_file_safety(r, c, k, path, err, errlen, col));
    TRY(load_scale(r, c, k, path, err, errlen, col)); /* issue 12 */
out:
    if (rc == SWMRBUS_ENOMEM) fail(err, errlen, "out of memory loading the config");
    return rc;
}

/* ---- endpoints across components ------------------------------------------ */

/* No address is bound twice in one config: the components share a process,
 * so the second bind would fail when the pipeline starts. Endpoints are
 * compared as written (tcp://0.0.0.0:5 and tcp://127.0.0.1:5 are not matched). */
static const swmrbus_socket_cfg *socket_of(const swmrbus_component_cfg *c, unsigned role)
{
    switch (role) {
    case ROLE_IN: return &c->in;
    case ROLE_OUT: return &c->out;
    case ROLE_NOTIFY: return &c->notify;
    default: return &c->control;
    }
}

/* Whether ep is bound earlier in the order (component, socket role, endpoint)
 * than position (ci, cr, ce); if so, where (*cj, *cq). */
static bool bound_before(const swmrbus_config *cfg, size_t ci, unsigned cr, unsigned ce,
                         const char *ep, size_t *cj, unsigned *cq)
{
    for (size_t j = 0; j <= ci; j++) {
        for (unsigned q = ROLE_IN; q <= ROLE_CONTROL; q++) {
            const swmrbus_socket_cfg *s = socket_of(&cfg->components[j], q);
            if (!s->present || !s->bind) continue;
            for (unsigned f = 0; f < s->n_endpoints; f++) {
                if (j == ci && (q > cr || (q == cr && f >= ce))) return false;
                if (strcmp(s->endpoints[f], ep) == 0) {
                    *cj = j;
                    *cq = q;
                    return true;
                }
            }
        }
    }
    return false;
}

static swmrbus_err check_binds(const swmrbus_config *cfg, char *err, size_t errlen,
                               collect *col)
{
    swmrbus_err rc = SWMRBUS_OK;

    for (size_t i = 0; i < cfg->n_components; i++) {
        for (unsigned r = ROLE_IN; r <= ROLE_CONTROL; r++) {
            const swmrbus_socket_cfg *s = socket_of(&cfg->components[i], r);
            if (!s->present || !s->bind) continue;
            for (unsigned e = 0; e < s->n_endpoints; e++) {
                size_t j;
                unsigned q;
                if (bound_before(cfg, i, r, e, s->endpoints[e], &j, &q))
                    TRY(fail(err, errlen,
                             "components[%zu].%s: binds %s, already bound by components[%zu].%s",
                             i, role_names[r], show(s->endpoints[e]).s, j, role_names[q]));
            }
        }
    }
out:
    return rc;
}

/* ---- metrics: the top-level `metrics` map ---------------------------------- */

static swmrbus_err load_metrics(const swmrbus__raw_metrics *rm, swmrbus_metrics_cfg *m,
                                char *err, size_t errlen)
{
    char why[200];
    if (!rm->endpoint) return fail(err, errlen, "metrics.endpoint: required");
    swmrbus_err rc = check_text(rm->endpoint, 0, "metrics", "endpoint", err, errlen);
    if (rc != SWMRBUS_OK) return rc;
    if (swmrbus_metrics_endpoint_check(rm->endpoint, why, sizeof why) != SWMRBUS_OK)
        return fail(err, errlen, "metrics.endpoint: %s, got %s", why, show(rm->endpoint).s);
    m->endpoint = strdup(rm->endpoint);
    if (!m->endpoint) return SWMRBUS_ENOMEM;
    m->present = true;
    return SWMRBUS_OK;
}

static swmrbus_err build(const swmrbus__raw_config *raw, swmrbus_config **out, char *err,
                         size_t errlen, collect *col)
{
    swmrbus_config *cfg = NULL;
    swmrbus_err rc = SWMRBUS_OK;

    if (!raw || !raw->components)
        return fail(err, errlen, "components: required (a list of at least one component)");
    if (raw->components_count == 0)
        return fail(err, errlen, "components: at least one component required");

    cfg = calloc(1, sizeof *cfg);
    if (!cfg) TRY(SWMRBUS_ENOMEM);
    cfg->components = calloc(raw->components_count, sizeof *cfg->components);
    if (!cfg->components) TRY(SWMRBUS_ENOMEM);

    for (size_t i = 0; i < raw->components_count; i++) {
        cfg->n_components = i + 1; /* so that destroy clears this one too */
        TRY(load_component(&raw->components[i], i, &cfg->components[i], err, errlen, col));
        for (size_t j = 0; j < i; j++)
            if (cfg->components[i].name && cfg->components[i].name[0] &&
                cfg->components[j].name && /* NULL: a load that stopped early */
                !strcmp(cfg->components[j].name, cfg->components[i].name))
                TRY(fail(err, errlen, "components[%zu].name: duplicate name %s (also components[%zu])",
                         i, show(cfg->components[i].name).s, j));
    }
    if (raw->metrics) TRY(load_metrics(raw->metrics, &cfg->metrics, err, errlen));
    TRY(default_dirs(cfg, err, errlen));
    TRY(check_binds(cfg, err, errlen, col));
    if (col && col->n > 0) {
        rc = SWMRBUS_ECONFIG; /* every problem is reported: no config */
        goto out;
    }
    *out = cfg;
    cfg = NULL;
out:
    if (rc == SWMRBUS_ENOMEM) fail(err, errlen, "out of memory loading the config");
    swmrbus_config_destroy(&cfg);
    return rc;
}

/* Rejects what libyaml would reject without saying where: NUL and other
 * control characters, and malformed UTF-8. Reports line and column. */
static swmrbus_err check_bytes(const char *text, size_t len, char *err, size_t errlen)
{
    const unsigned char *t = (const unsigned char *)text;
    size_t line = 1, col = 1;

    for (size_t i = 0; i < len; col++) {
        unsigned char b = t[i];
        size_t n = 0;
        unsigned char lo = 0x80, hi = 0xbf;

        if (b == '\n') {
            line++;
            col = 0;
            i++;
            continue;
        }
        if (b < 0x80) {
            if ((b < 0x20 && b != '\t' && b != '\r') || b == 0x7f)
                return fail(err, errlen, "line %zu, column %zu: control character 0x%02x "
                            "(not allowed in YAML)", line, col, b);
            i++;
            continue;
        }
        if (b >= 0xc2 && b <= 0xdf) n = 1;
        else if (b >= 0xe0 && b <= 0xef) n = 2;
        else if (b >= 0xf0 && b <= 0xf4) n = 3;
        else goto bad;
        if (b == 0xe0) lo = 0xa0;      /* overlong */
        else if (b == 0xed) hi = 0x9f; /* surrogates */
        else if (b == 0xf0) lo = 0x90; /* overlong */
        else if (b == 0xf4) hi = 0x8f; /* > U+10FFFF */
        if (i + n >= len) goto bad;
        if (t[i + 1] < lo || t[i + 1] > hi) goto bad;
        for (size_t j = 2; j <= n; j++)
            if (t[i + j] < 0x80 || t[i + j] > 0xbf) goto bad;
        i += n + 1;
        continue;
    bad:
        return fail(err, errlen, "line %zu, column %zu: invalid UTF-8", line, col);
    }
    return SWMRBUS_OK;
}

/* Gives outside plugins their `options:` maps; a built-in kind has none. */
static swmrbus_err attach_options(const char *text, size_t len, swmrbus_config *cfg,
                                  char *err, size_t errlen)
{
    swmrbus_err rc = swmrbus__options_attach(text, len, cfg, err, errlen);
    for (size_t i = 0; rc == SWMRBUS_OK && i < cfg->n_components; i++) {
        cfg->components[i].index = i;
        if (cfg->components[i].options && kind_class(cfg->components[i].kind) != K_PLUGIN)
            rc = fail(err, errlen, "components[%zu].options: only outside plugins take options "
                      "(kind %s is built in)", i, show(cfg->components[i].kind).s);
    }
    return rc;
}

/* ---- public API ------------------------------------------------------------ */

/* Parses text into *out; with col, reports every problem through it. */
static swmrbus_err parse_text(const char *text, size_t len, swmrbus_config **out,
                              char *err, size_t errlen, collect *col)
{
    swmrbus__raw_config *raw = NULL;
    swmrbus_err rc;

    if (err && errlen) err[0] = '\0';
    if (!out || (!text && len > 0)) {
        if (out) *out = NULL;
        if (err && errlen) snprintf(err, errlen, "invalid argument");
        return SWMRBUS_EINVAL;
    }
    *out = NULL;
    if (len > CONFIG_MAX_BYTES)
        return fail(err, errlen, "config larger than %u bytes", CONFIG_MAX_BYTES);
    rc = check_bytes(text, len, err, errlen);
    if (rc != SWMRBUS_OK) return rc;

    rc = swmrbus__config_raw_load(text, len, &raw, err, errlen);
    if (rc == SWMRBUS_OK) rc = build(raw, out, err, errlen, col);
    swmrbus__config_raw_free(raw);
    if (rc == SWMRBUS_OK) rc = attach_options(text, len, *out, err, errlen);
    if (rc != SWMRBUS_OK) swmrbus_config_destroy(out);
    return rc;
}

swmrbus_err swmrbus_config_parse(const char *text, size_t len, swmrbus_config **out,
                                 char *err, size_t errlen)
{
    return parse_text(text, len, out, err, errlen, NULL);
}

/* Reads the file at path and parses it; with col, reports every problem. */
static swmrbus_err load_path(const char *path, swmrbus_config **out, char *err,
                             size_t errlen, collect *col)
{
    FILE *f = NULL;
    char *text = NULL;
    size_t len = 0, cap = 0;
    swmrbus_err rc = SWMRBUS_OK;
    char ebuf[128];

    if (err && errlen) err[0] = '\0';
    if (out) *out = NULL;
    if (!path || !out) {
        if (err && errlen) snprintf(err, errlen, "invalid argument");
        return SWMRBUS_EINVAL;
    }
    f = fopen(path, "rb");
    if (!f) {
        int e = errno;
        (void)fail(err, errlen, "cannot open %s: %s", path, strerror_r(e, ebuf, sizeof ebuf));
        rc = e == ENOMEM ? SWMRBUS_ENOMEM : SWMRBUS_EIO;
        goto out;
    }
    for (;;) {
        size_t got;
        if (len == cap) {
            char *grown;
            if (cap > CONFIG_MAX_BYTES) {
                rc = fail(err, errlen, "%s: larger than %u bytes", path, CONFIG_MAX_BYTES);
                goto out;
            }
            cap = cap ? cap * 2 : 4096;
            grown = realloc(text, cap);
            if (!grown) {
                (void)fail(err, errlen, "out of memory reading %s", path);
                rc = SWMRBUS_ENOMEM;
                goto out;
            }
            text = grown;
        }
        got = fread(text + len, 1, cap - len, f);
        len += got;
        if (got == 0) break;
    }
    if (ferror(f)) {
        int e = errno;
        (void)fail(err, errlen, "cannot read %s: %s", path, strerror_r(e, ebuf, sizeof ebuf));
        rc = SWMRBUS_EIO;
        goto out;
    }
    rc = parse_text(text, len, out, err, errlen, col);
out:
    free(text);
    if (f) fclose(f);
    return rc;
}

swmrbus_err swmrbus_config_load(const char *path, swmrbus_config **out, char *err,
                                size_t errlen)
{
    return load_path(path, out, err, errlen, NULL);
}

/* ---- swmrbus_config_check: every problem ------------------------------------ */

/* Runs a load with a collector; a problem that stopped the load before the
 * collector saw it (syntax, structure, an unreadable file) is reported too. */
static swmrbus_err check_run(const char *path, const char *text, size_t len,
                             swmrbus_config **out, swmrbus_config_problem_fn fn, void *user)
{
    collect col = {fn, user, 0};
    swmrbus_config *cfg = NULL;
    char line[1024] = "";
    swmrbus_err rc;

    if (out) *out = NULL;
    if (!fn || (!path && !text && len > 0)) return SWMRBUS_EINVAL;
    if (path) rc = load_path(path, &cfg, line, sizeof line, &col);
    else rc = parse_text(text ? text : "", len, &cfg, line, sizeof line, &col);
    if (rc != SWMRBUS_OK && col.n == 0) {
        if (line[0] == '\0') snprintf(line, sizeof line, "%s", swmrbus_strerror(rc));
        fn(line, user);
    }
    if (rc == SWMRBUS_OK && out) *out = cfg;
    else swmrbus_config_destroy(&cfg);
    return rc;
}

swmrbus_err swmrbus_config_check(const char *path, swmrbus_config **out,
                                 swmrbus_config_problem_fn fn, void *user)
{
    if (!path) {
        if (out) *out = NULL;
        return SWMRBUS_EINVAL;
    }
    return check_run(path, NULL, 0, out, fn, user);
}

swmrbus_err swmrbus_config_check_text(const char *text, size_t len, swmrbus_config **out,
                                      swmrbus_config_problem_fn fn, void *user)
{
    return check_run(NULL, text, len, out, fn, user);
}

swmrbus_err swmrbus_component_cfg_init(swmrbus_component_cfg *c, const char *name,
                                       const char *kind)
{
    if (!c || !name || !kind) return SWMRBUS_EINVAL;
    memset(c, 0, sizeof *c);
    apply_defaults(c, kind_class(kind));
    c->name = strdup(name);
    c->kind = strdup(kind);
    c->file = strdup(DEFAULT_FILE);
    if (!c->name || !c->kind || !c->file) {
        swmrbus_component_cfg_clear(c);
        return SWMRBUS_ENOMEM;
    }
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_socket_cfg_set(swmrbus_socket_cfg *s, const char *endpoint,
                                   swmrbus_pattern pattern, bool bind)
{
    char *dup;
    bool zeroed;

    if (!s || !endpoint || endpoint[0] == '\0' || (unsigned)pattern > SWMRBUS_PATTERN_PUB)
        return SWMRBUS_EINVAL;
    dup = strdup(endpoint);
    if (!dup) return SWMRBUS_ENOMEM;
    /* A zeroed socket, not one that swmrbus_component_cfg_init filled with
     * its kind's defaults: there are no defaults to keep. */
    zeroed = !s->present && s->n_endpoints == 0 && s->pattern == SWMRBUS_PATTERN_DEFAULT &&
             !s->bind && s->hwm == 0;
    socket_clear(s);
    s->endpoints[0] = dup;
    s->n_endpoints = 1;
    s->present = true;
    if (zeroed) {
        s->hwm = DEFAULT_HWM;
        s->bind = bind;
    }
    if (pattern != SWMRBUS_PATTERN_DEFAULT) {
        s->pattern = pattern;
        s->bind = bind;
    }
    return SWMRBUS_OK;
}

void swmrbus_component_cfg_clear(swmrbus_component_cfg *c)
{
    if (!c) return;
    free(c->name);
    free(c->kind);
    free(c->dir);
    free(c->file);
    free_dirs(c);
    socket_clear(&c->in);
    socket_clear(&c->out);
    socket_clear(&c->notify);
    socket_clear(&c->control);
    swmrbus__options_free(&c->options);
    memset(c, 0, sizeof *c);
}

void swmrbus_config_destroy(swmrbus_config **cfg)
{
    if (!cfg || !*cfg) return;
    for (size_t i = 0; i < (*cfg)->n_components; i++)
        swmrbus_component_cfg_clear(&(*cfg)->components[i]);
    free((*cfg)->components);
    free((*cfg)->metrics.endpoint);
    free(*cfg);
    *cfg = NULL;
}

const char *swmrbus_pattern_name(swmrbus_pattern p)
{
    switch (p) {
    case SWMRBUS_PATTERN_DEFAULT: return "default";
    case SWMRBUS_PATTERN_PULL: return "pull";
    case SWMRBUS_PATTERN_SUB: return "sub";
    case SWMRBUS_PATTERN_PUSH: return "push";
    case SWMRBUS_PATTERN_PUB: return "pub";
    case SWMRBUS_PATTERN_REQ: return "req";
    case SWMRBUS_PATTERN_REP: return "rep";
    }
    return "unknown";
}

/* ---- message size caps from bounded limits (issue 9) ---------------------- */

static bool limits_in_bounds(const swmrbus_limits *l)
{
    return l && l->max_header_bytes >= SWMRBUS_CFG_HEADER_BYTES_MIN &&
           l->max_header_bytes <= SWMRBUS_CFG_HEADER_BYTES_MAX && l->max_frame_bytes >= 1 &&
           l->max_frame_bytes <= SWMRBUS_CFG_FRAME_BYTES_MAX;
}

int64_t swmrbus_limits_frame_msg_max(const swmrbus_limits *l)
{
    /* <= 8 * 2^32 + 2^24 + 2^16 < 2^36: no wrap in uint64_t nor int64_t */
    if (!limits_in_bounds(l)) return -1;
    return (int64_t)(8 * l->max_frame_bytes + l->max_header_bytes + 65536);
}

int64_t swmrbus_limits_notice_msg_max(const swmrbus_limits *l)
{
    if (!limits_in_bounds(l)) return -1;
    return (int64_t)(l->max_header_bytes + 4096);
}
