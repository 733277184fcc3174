/* wire.c — decoders for the frame-stream header (and its meta map), the
 * payload check, and control requests (wire protocol v1).
 *
 * Every decoder runs swmrbus_msgpack_scan() first, then walks the buffer in
 * place with the mpread cursor: nothing is allocated, every slice returned
 * points into the caller's buffer. */
#include <math.h>
#include <string.h>

#include "mpread.h"
#include "swmrbus/wire.h"
#include "wire_priv.h"

#define META_ARRAY_MAX 4096

/* Records reason r, error e and a one-line explanation, then leaves through
 * the function's single exit (`out:`). Expects locals err, rr, why, whylen. */
#define FAIL(r, e, ...)                                   \
    do {                                                  \
        rr = (r);                                         \
        err = (e);                                        \
        swmrbus__wire_why(why, whylen, __VA_ARGS__);      \
        goto out;                                         \
    } while (0)

static void why_clear(char *why, size_t whylen)
{
    if (why && whylen) why[0] = '\0';
}

static bool has_nul(swmrbus_str s)
{
    return s.len > 0 && memchr(s.ptr, '\0', s.len) != NULL;
}

/* ---- meta ------------------------------------------------------------ */

/* Scratch for one converted meta array (fixed size, not wire-dependent). */
typedef union meta_scratch {
    int64_t i[META_ARRAY_MAX];
    uint64_t u[META_ARRAY_MAX];
    double f[META_ARRAY_MAX];
} meta_scratch;

/* Classifies the n array elements at the cursor (and moves past them):
 * all bool: BOOL; else numbers only: any float FLOAT, any negative or
 * signed-encoded INT, else UINT. An INT array holding a uint > INT64_MAX, a
 * bool among numbers or any other element type is an error. */
static swmrbus_err meta_array_kind(swmrbus__mp *mp, size_t n, swmrbus_meta_kind *kind,
                                   char *why, size_t whylen, swmrbus_str key)
{
    swmrbus_err err = SWMRBUS_OK;
    swmrbus_reason rr = SWMRBUS_R_BAD_HEADER;
    size_t bools = 0, floats = 0, signeds = 0, bigs = 0;
    swmrbus__mp_val v;
    for (size_t k = 0; k < n; k++) {
        if (swmrbus__mp_next(mp, &v) != SWMRBUS_OK)
            FAIL(rr, SWMRBUS_EINVAL, "meta.%.*s: truncated array", (int)key.len, key.ptr);
        switch (v.type) {
        case SWMRBUS__MP_BOOL: bools++; break;
        case SWMRBUS__MP_FLOAT: floats++; break;
        case SWMRBUS__MP_INT: signeds++; break;
        case SWMRBUS__MP_UINT:
            if (v.signed_fmt) signeds++;
            if (v.u > (uint64_t)INT64_MAX) bigs++;
            break;
        default:
            FAIL(rr, SWMRBUS_EINVAL, "meta.%.*s: array element %zu is not a number",
                 (int)key.len, key.ptr, k);
        }
    }
    if (bools > 0 && bools < n)
        FAIL(rr, SWMRBUS_EINVAL, "meta.%.*s: array mixes bools and numbers", (int)key.len,
             key.ptr);
    if (bools > 0) *kind = SWMRBUS_META_BOOL;
    else if (floats > 0) *kind = SWMRBUS_META_FLOAT;
    else if (signeds > 0) {
        if (bigs > 0)
            FAIL(rr, SWMRBUS_EINVAL, "meta.%.*s: array mixes negative and > INT64_MAX values",
                 (int)key.len, key.ptr);
        *kind = SWMRBUS_META_INT;
    } else *kind = SWMRBUS_META_UINT;
out:
    (void)rr;
    return err;
}

/* Converts the n elements at the cursor, already classified as kind, into sc. */
static void meta_array_fill(swmrbus__mp *mp, size_t n, swmrbus_meta_kind kind,
                            meta_scratch *sc)
{
    swmrbus__mp_val v;
    for (size_t k = 0; k < n; k++) {
        (void)swmrbus__mp_next(mp, &v); /* cannot fail: classified just before */
        switch (kind) {
        case SWMRBUS_META_BOOL: sc->i[k] = v.b ? 1 : 0; break;
        case SWMRBUS_META_INT: sc->i[k] = v.i; break;
        case SWMRBUS_META_UINT: sc->u[k] = v.u; break;
        case SWMRBUS_META_FLOAT:
            sc->f[k] = v.type == SWMRBUS__MP_FLOAT ? v.f
                       : v.type == SWMRBUS__MP_INT ? (double)v.i
                                                   : (double)v.u;
            break;
        case SWMRBUS_META_STR: break;
        }
    }
}

/* Walks a meta map at the cursor: checks it and, when fn is set, calls fn
 * once per key with values converted into sc. The cursor ends after the map.
 * Errors are EINVAL with why set. */
static swmrbus_err meta_walk(swmrbus__mp *mp, swmrbus_meta_fn fn, void *user,
                             meta_scratch *sc, char *why, size_t whylen)
{
    swmrbus_err err = SWMRBUS_OK;
    swmrbus_reason rr = SWMRBUS_R_BAD_HEADER;
    size_t pairs;
    bool stopped = false;
    swmrbus__mp_val v;

    if (swmrbus__mp_map(mp, &pairs) != SWMRBUS_OK)
        FAIL(rr, SWMRBUS_EINVAL, "meta: must be a map");
    for (size_t k = 0; k < pairs; k++) {
        swmrbus_meta_item item;
        memset(&item, 0, sizeof item);
        if (swmrbus__mp_str(mp, &item.key) != SWMRBUS_OK)
            FAIL(rr, SWMRBUS_EINVAL, "meta: key %zu is not a string", k);
        if (item.key.len == 0 || item.key.len > SWMRBUS_NAME_MAX || has_nul(item.key))
            FAIL(rr, SWMRBUS_EINVAL, "meta: key %zu is empty, too long or holds NUL", k);
        if (swmrbus__mp_next(mp, &v) != SWMRBUS_OK)
            FAIL(rr, SWMRBUS_EINVAL, "meta.%.*s: truncated value", (int)item.key.len,
                 item.key.ptr);
        item.count = 1;
        switch (v.type) {
        case SWMRBUS__MP_BOOL:
            item.kind = SWMRBUS_META_BOOL;
            if (sc) sc->i[0] = v.b ? 1 : 0;
            break;
        case SWMRBUS__MP_UINT:
            item.kind = v.signed_fmt ? SWMRBUS_META_INT : SWMRBUS_META_UINT;
            if (sc && v.signed_fmt) sc->i[0] = v.i;
            else if (sc) sc->u[0] = v.u;
            break;
        case SWMRBUS__MP_INT:
            item.kind = SWMRBUS_META_INT;
            if (sc) sc->i[0] = v.i;
            break;
        case SWMRBUS__MP_FLOAT:
            item.kind = SWMRBUS_META_FLOAT;
            if (sc) sc->f[0] = v.f;
            break;
        case SWMRBUS__MP_STR:
            item.kind = SWMRBUS_META_STR;
            item.s.ptr = v.ptr;
            item.s.len = v.len;
            break;
        case SWMRBUS__MP_ARRAY: {
            if (v.n > META_ARRAY_MAX)
                FAIL(rr, SWMRBUS_EINVAL, "meta.%.*s: array of %zu elements (at most %d)",
                     (int)item.key.len, item.key.ptr, v.n, META_ARRAY_MAX);
            swmrbus__mp first = *mp;
            err = meta_array_kind(mp, v.n, &item.kind, why, whylen, item.key);
            if (err != SWMRBUS_OK) goto out;
            item.is_array = true;
            item.count = v.n;
            if (sc) meta_array_fill(&first, v.n, item.kind, sc);
            break;
        }
        default:
            FAIL(rr, SWMRBUS_EINVAL,
                 "meta.%.*s: must be a bool, number, string or array of numbers",
                 (int)item.key.len, item.key.ptr);
        }
        if (sc && item.kind != SWMRBUS_META_STR) {
            item.i = sc->i;
            item.u = sc->u;
            item.f = sc->f;
            if (item.kind == SWMRBUS_META_UINT) item.i = NULL, item.f = NULL;
            else if (item.kind == SWMRBUS_META_FLOAT) item.i = NULL, item.u = NULL;
            else item.u = NULL, item.f = NULL;
        }
        if (fn && !stopped && fn(&item, user) != 0) stopped = true;
        if (stopped) break;
    }
out:
    (void)rr;
    return err;
}

swmrbus_err swmrbus_meta_foreach(swmrbus_str meta, swmrbus_meta_fn fn, void *user)
{
    meta_scratch sc;
    swmrbus__mp mp;
    if (meta.len == 0) return SWMRBUS_OK; /* no meta: nothing to walk */
    if (!meta.ptr) return SWMRBUS_EINVAL;
    if (swmrbus_msgpack_scan(meta.ptr, meta.len, meta.len, 2, NULL, 0) != SWMRBUS_OK)
        return SWMRBUS_EINVAL;
    swmrbus__mp_init(&mp, meta.ptr, meta.len);
    return meta_walk(&mp, fn, user, &sc, NULL, 0);
}

/* ---- frame-stream header -------------------------------------------- */

enum {
    K_TYPE, K_SERIES, K_FRAME, K_TS, K_FRAMES, K_DTYPE, K_SHAPE, K_ENCODING,
    K_NAME, K_META, K_ORIGIN, K_DATASETS, K_STATIC, K_TIMES, K_ARRAYS, K_CHANNELS, K_COUNT
};
static const char *const header_keys[K_COUNT] = {
    "type", "series", "frame", "ts", "frames", "dtype", "shape", "encoding",
    "name", "meta", "origin", "datasets", "static", "times", "arrays", "channels",
};

static int header_key(swmrbus_str key)
{
    for (int k = 0; k < K_COUNT; k++)
        if (swmrbus__str_is(key, header_keys[k])) return k;
    return -1;
}

/* Decodes the "origin" map at the cursor into out. */
static swmrbus_err decode_origin(swmrbus__mp *mp, swmrbus_header *out, char *why,
                                 size_t whylen)
{
    swmrbus_err err = SWMRBUS_OK;
    swmrbus_reason rr = SWMRBUS_R_BAD_HEADER;
    size_t pairs;
    unsigned seen = 0;
    if (swmrbus__mp_map(mp, &pairs) != SWMRBUS_OK)
        FAIL(rr, SWMRBUS_EINVAL, "origin: must be a map");
    out->has_origin = true;
    for (size_t k = 0; k < pairs; k++) {
        swmrbus_str key;
        unsigned bit;
        if (swmrbus__mp_str(mp, &key) != SWMRBUS_OK)
            FAIL(rr, SWMRBUS_EINVAL, "origin: key %zu is not a string", k);
        if (swmrbus__str_is(key, "sink")) bit = 1;
        else if (swmrbus__str_is(key, "series")) bit = 2;
        else if (swmrbus__str_is(key, "file")) bit = 4;
        else {
            if (swmrbus__mp_skip(mp) != SWMRBUS_OK)
                FAIL(rr, SWMRBUS_EINVAL, "origin: truncated value");
            continue;
        }
        if (seen & bit) FAIL(rr, SWMRBUS_EINVAL, "origin: duplicate key");
        seen |= bit;
        if (bit == 2) {
            if (swmrbus__mp_uint(mp, &out->origin_series) != SWMRBUS_OK)
                FAIL(rr, SWMRBUS_EINVAL, "origin.series: must be a uint");
            out->has_origin_series = true;
            continue;
        }
        swmrbus_str *s = bit == 1 ? &out->origin_sink : &out->origin_file;
        if (swmrbus__mp_str(mp, s) != SWMRBUS_OK)
            FAIL(rr, SWMRBUS_EINVAL, "origin.%s: must be a string", bit == 1 ? "sink" : "file");
        if (has_nul(*s))
            FAIL(rr, SWMRBUS_EINVAL, "origin.%s: holds NUL", bit == 1 ? "sink" : "file");
        if (bit == 1 && s->len > SWMRBUS_NAME_MAX)
            FAIL(rr, SWMRBUS_EINVAL, "origin.sink: longer than %d bytes", SWMRBUS_NAME_MAX);
    }
out:
    (void)rr;
    return err;
}

/* "times": in a start, true or false (the file gets the per-frame time
 * datasets); in a frame, [start_time, stop_time, real_time], numbers in
 * seconds (nil: not known, stored as NaN). Which one the message wants is
 * told by the value's kind; swmrbus_header_decode checks it against type. */
static swmrbus_err decode_times(swmrbus__mp *mp, swmrbus_header *out, char *why, size_t whylen)
{
    swmrbus_err err = SWMRBUS_OK;
    swmrbus_reason rr = SWMRBUS_R_BAD_HEADER;
    swmrbus__mp_val v;
    if (swmrbus__mp_next(mp, &v) != SWMRBUS_OK)
        FAIL(rr, SWMRBUS_EINVAL, "times: truncated value");
    if (v.type == SWMRBUS__MP_BOOL) {
        out->times = v.b;
        goto out;
    }
    if (v.type != SWMRBUS__MP_ARRAY || v.n != 3)
        FAIL(rr, SWMRBUS_EINVAL, "times: must be a bool (start) or an array of 3 numbers (frame)");
    for (size_t i = 0; i < 3; i++) {
        if (swmrbus__mp_next(mp, &v) != SWMRBUS_OK)
            FAIL(rr, SWMRBUS_EINVAL, "times[%zu]: truncated value", i);
        switch (v.type) {
        case SWMRBUS__MP_NIL: out->frame_times[i] = NAN; break;
        case SWMRBUS__MP_FLOAT: out->frame_times[i] = v.f; break;
        case SWMRBUS__MP_UINT: out->frame_times[i] = (double)v.u; break;
        case SWMRBUS__MP_INT: out->frame_times[i] = (double)v.i; break;
        default: FAIL(rr, SWMRBUS_EINVAL, "times[%zu]: must be a number or nil", i);
        }
    }
    out->has_frame_times = true;
out:
    (void)rr;
    return err;
}

/* After a failed decode of a well-formed map: the "series" value when it is
 * a uint, so the caller can tie the rejection to a series (0 otherwise). */
static uint64_t series_hint(const void *buf, size_t len)
{
    swmrbus__mp mp;
    size_t pairs;
    uint64_t series = 0;
    swmrbus__mp_init(&mp, buf, len);
    if (swmrbus__mp_map(&mp, &pairs) != SWMRBUS_OK) return 0;
    for (size_t k = 0; k < pairs; k++) {
        swmrbus__mp_val key;
        if (swmrbus__mp_next(&mp, &key) != SWMRBUS_OK) return 0;
        swmrbus_str s = {key.ptr, key.len};
        if (key.type == SWMRBUS__MP_STR && swmrbus__str_is(s, "series")) {
            if (swmrbus__mp_uint(&mp, &series) != SWMRBUS_OK) series = 0;
            return series;
        }
        if (key.type == SWMRBUS__MP_ARRAY || key.type == SWMRBUS__MP_MAP) return 0;
        if (swmrbus__mp_skip(&mp) != SWMRBUS_OK) return 0;
    }
    return 0;
}

swmrbus_err swmrbus_header_decode(const void *buf, size_t len, const swmrbus_limits *lim,
                                  swmrbus_header *out, swmrbus_reason *reason, char *why,
                                  size_t whylen)
{
    swmrbus_err err = SWMRBUS_OK;
    swmrbus_reason rr = SWMRBUS_R_BAD_HEADER;
    swmrbus_limits defaults;
    swmrbus__mp mp;
    size_t pairs;
    unsigned seen = 0;
    bool is_map = false;

    why_clear(why, whylen);
    if (!out) FAIL(SWMRBUS_R_BAD_HEADER, SWMRBUS_EINVAL, "no output header");
    memset(out, 0, sizeof *out);
    if (!lim) {
        swmrbus_limits_default(&defaults);
        lim = &defaults;
    }
    size_t max_bytes = lim->max_header_bytes > SIZE_MAX ? SIZE_MAX
                                                        : (size_t)lim->max_header_bytes;
    err = swmrbus_msgpack_scan(buf, len, max_bytes, SWMRBUS_MAX_DEPTH, why, whylen);
    if (err != SWMRBUS_OK) {
        rr = err == SWMRBUS_ELIMIT ? SWMRBUS_R_LIMIT : SWMRBUS_R_BAD_MSGPACK;
        goto out;
    }
    swmrbus__mp_init(&mp, buf, len);
    if (swmrbus__mp_map(&mp, &pairs) != SWMRBUS_OK)
        FAIL(SWMRBUS_R_BAD_MSGPACK, SWMRBUS_EINVAL, "header is not a msgpack map");
    is_map = true;

    for (size_t k = 0; k < pairs; k++) {
        swmrbus_str key, s;
        char q[SWMRBUS__QUOTE_CAP];
        size_t n;
        if (swmrbus__mp_str(&mp, &key) != SWMRBUS_OK)
            FAIL(rr, SWMRBUS_EINVAL, "header key %zu is not a string", k);
        int id = header_key(key);
        if (id < 0) { /* unknown keys are ignored (forward compatibility) */
            if (swmrbus__mp_skip(&mp) != SWMRBUS_OK)
                FAIL(SWMRBUS_R_BAD_MSGPACK, SWMRBUS_EINVAL, "truncated value");
            continue;
        }
        const char *kn = header_keys[id];
        if (seen & (1u << id)) FAIL(rr, SWMRBUS_EINVAL, "duplicate key \"%s\"", kn);
        seen |= 1u << id;
        switch (id) {
        case K_TYPE:
            if (swmrbus__mp_str(&mp, &s) != SWMRBUS_OK)
                FAIL(rr, SWMRBUS_EINVAL, "type: must be a string");
            if (swmrbus__str_is(s, "start")) out->type = SWMRBUS_MSG_START;
            else if (swmrbus__str_is(s, "frame")) out->type = SWMRBUS_MSG_FRAME;
            else if (swmrbus__str_is(s, "end")) out->type = SWMRBUS_MSG_END;
            else FAIL(rr, SWMRBUS_EINVAL, "type: unknown message type");
            break;
        case K_SERIES:
        case K_FRAME:
        case K_TS:
        case K_FRAMES: {
            uint64_t *dst = id == K_SERIES ? &out->series
                            : id == K_FRAME ? &out->frame
                            : id == K_TS    ? &out->ts
                                            : &out->frames;
            if (swmrbus__mp_uint(&mp, dst) != SWMRBUS_OK)
                FAIL(rr, SWMRBUS_EINVAL, "%s: must be an unsigned integer", kn);
            if (id == K_TS) out->has_ts = true;
            if (id == K_FRAMES) out->has_frames = true;
            if (id == K_FRAME && out->frame >= lim->max_frames)
                FAIL(SWMRBUS_R_LIMIT, SWMRBUS_ELIMIT,
                     "frame: index %llu is not below max_frames %llu",
                     (unsigned long long)out->frame, (unsigned long long)lim->max_frames);
            break;
        }
        case K_DTYPE:
            if (swmrbus__mp_str(&mp, &s) != SWMRBUS_OK)
                FAIL(rr, SWMRBUS_EINVAL, "dtype: must be a string");
            out->format.dtype = swmrbus_dtype_parse(s.ptr, s.len);
            if (out->format.dtype == SWMRBUS_DTYPE_NONE)
                FAIL(rr, SWMRBUS_EINVAL, "dtype: unknown \"%s\"", swmrbus__wire_quote(s, q));
            break;
        case K_ENCODING:
            if (swmrbus__mp_str(&mp, &s) != SWMRBUS_OK)
                FAIL(rr, SWMRBUS_EINVAL, "encoding: must be a string");
            out->format.encoding = swmrbus_encoding_parse(s.ptr, s.len);
            if (out->format.encoding == SWMRBUS_ENC_NONE)
                FAIL(rr, SWMRBUS_EINVAL, "encoding: unknown \"%s\"", swmrbus__wire_quote(s, q));
            break;
        case K_SHAPE:
            if (swmrbus__mp_array(&mp, &n) != SWMRBUS_OK)
                FAIL(rr, SWMRBUS_EINVAL, "shape: must be an array");
            if (n < 1 || n > SWMRBUS_MAX_DIMS)
                FAIL(rr, SWMRBUS_EINVAL, "shape: %zu dimensions (1 to %d)", n,
                     SWMRBUS_MAX_DIMS);
            out->format.ndim = (uint32_t)n;
            for (size_t d = 0; d < n; d++) {
                if (swmrbus__mp_uint(&mp, &out->format.shape[d]) != SWMRBUS_OK)
                    FAIL(rr, SWMRBUS_EINVAL, "shape[%zu]: must be an unsigned integer", d);
                if (out->format.shape[d] == 0)
                    FAIL(rr, SWMRBUS_EINVAL, "shape[%zu]: must be >= 1", d);
            }
            break;
        case K_NAME:
            if (swmrbus__mp_str(&mp, &out->name) != SWMRBUS_OK)
                FAIL(rr, SWMRBUS_EINVAL, "name: must be a string");
            if (out->name.len == 0) FAIL(SWMRBUS_R_BAD_NAME, SWMRBUS_EINVAL, "name: empty");
            if (out->name.len > SWMRBUS_NAME_MAX)
                FAIL(SWMRBUS_R_BAD_NAME, SWMRBUS_EINVAL, "name: longer than %d bytes",
                     SWMRBUS_NAME_MAX);
            if (has_nul(out->name)) FAIL(SWMRBUS_R_BAD_NAME, SWMRBUS_EINVAL, "name: holds NUL");
            break;
        case K_META: {
            const uint8_t *start = mp.p;
            err = meta_walk(&mp, NULL, NULL, NULL, why, whylen);
            if (err != SWMRBUS_OK) goto out; /* rr is bad_header */
            out->meta.ptr = (const char *)start;
            out->meta.len = (size_t)(mp.p - start);
            break;
        }
        case K_ORIGIN:
            err = decode_origin(&mp, out, why, whylen);
            if (err != SWMRBUS_OK) goto out;
            break;
        case K_DATASETS: /* several named datasets (wire_datasets.c) */
            err = swmrbus__wire_datasets(&mp, lim, out, why, whylen);
            if (err != SWMRBUS_OK) {
                rr = err == SWMRBUS_ELIMIT ? SWMRBUS_R_LIMIT : SWMRBUS_R_BAD_HEADER;
                goto out;
            }
            break;
        case K_STATIC:
            err = swmrbus__wire_statics(&mp, out, why, whylen);
            if (err != SWMRBUS_OK) goto out;
            break;
        case K_ARRAYS: { /* start arrays (README "Start arrays"): as datasets' items */
            swmrbus_str ds = out->datasets;
            uint32_t n_ds = out->n_datasets;
            err = swmrbus__wire_datasets(&mp, lim, out, why, whylen);
            out->arrays = out->datasets;
            out->n_arrays = out->n_datasets;
            out->datasets = ds;
            out->n_datasets = n_ds;
            if (err != SWMRBUS_OK) {
                rr = err == SWMRBUS_ELIMIT ? SWMRBUS_R_LIMIT : SWMRBUS_R_BAD_HEADER;
                goto out;
            }
            if (out->n_arrays > SWMRBUS_MAX_START_ARRAYS)
                FAIL(rr, SWMRBUS_EINVAL, "arrays: at most %d", SWMRBUS_MAX_START_ARRAYS);
            break;
        }
        case K_CHANNELS: /* several channels a frame (README "Channels") */
            err = swmrbus__wire_channels(&mp, out, why, whylen);
            if (err != SWMRBUS_OK) goto out;
            break;
        case K_TIMES: /* per-frame times (README "Per-frame times") */
            err = decode_times(&mp, out, why, whylen);
            if (err != SWMRBUS_OK) goto out;
            break;
        }
    }

    if (!(seen & (1u << K_TYPE))) FAIL(rr, SWMRBUS_EINVAL, "missing key \"type\"");
    unsigned fmt_bits = (1u << K_DTYPE) | (1u << K_SHAPE) | (1u << K_ENCODING);
    if ((seen & fmt_bits) != 0 && (seen & fmt_bits) != fmt_bits)
        FAIL(rr, SWMRBUS_EINVAL, "dtype, shape and encoding must come together");
    if ((seen & fmt_bits) == fmt_bits) {
        uint64_t raw = swmrbus_format_raw_bytes(&out->format);
        if (raw == 0)
            FAIL(SWMRBUS_R_LIMIT, SWMRBUS_ELIMIT, "frame size overflows 64 bits");
        if (raw > lim->max_frame_bytes)
            FAIL(SWMRBUS_R_LIMIT, SWMRBUS_ELIMIT,
                 "frame of %llu bytes exceeds max_frame_bytes %llu", (unsigned long long)raw,
                 (unsigned long long)lim->max_frame_bytes);
        out->has_format = true;
    }
    unsigned need = 1u << K_SERIES;
    bool named = (seen & (1u << K_DATASETS)) != 0;
    if (named && (seen & fmt_bits))
        FAIL(rr, SWMRBUS_EINVAL, "with \"datasets\", dtype, shape and encoding go in them");
    if ((seen & (1u << K_CHANNELS)) && (out->type != SWMRBUS_MSG_START || named))
        FAIL(rr, SWMRBUS_EINVAL, "channels: only in a start, and not with datasets");
    if ((seen & (1u << K_ARRAYS)) && out->type != SWMRBUS_MSG_START)
        FAIL(rr, SWMRBUS_EINVAL, "arrays: only in a start");
    if ((seen & (1u << K_TIMES)) &&
        (out->type == SWMRBUS_MSG_FRAME) != out->has_frame_times)
        FAIL(rr, SWMRBUS_EINVAL, "times: a bool in a start, an array of 3 in a frame");
    switch (out->type) {
    case SWMRBUS_MSG_START: need |= named ? 0u : fmt_bits; break;
    case SWMRBUS_MSG_FRAME: need |= 1u << K_FRAME; break;
    case SWMRBUS_MSG_END: need |= 1u << K_FRAMES; break;
    case SWMRBUS_MSG_NONE: break;
    }
    for (int id = 0; id < K_COUNT; id++)
        if ((need & (1u << id)) && !(seen & (1u << id)))
            FAIL(rr, SWMRBUS_EINVAL, "missing key \"%s\"", header_keys[id]);

out:
    if (err != SWMRBUS_OK) {
        if (reason) *reason = rr;
        if (out) {
            memset(out, 0, sizeof *out);
            if (is_map) out->series = series_hint(buf, len);
        }
    }
    return err;
}

/* ---- payload check --------------------------------------------------- */

static uint64_t sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t sat_mul(uint64_t a, uint64_t b)
{
    return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

static uint64_t be_u(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t k = 0; k < n; k++) v = (v << 8) | p[k];
    return v;
}

swmrbus_err swmrbus_payload_check(const swmrbus_format *f, const void *payload, size_t len,
                                  char *why, size_t whylen)
{
    swmrbus_err err = SWMRBUS_OK;
    swmrbus_reason rr = SWMRBUS_R_BAD_PAYLOAD;
    const uint8_t *p = payload;

    why_clear(why, whylen);
    uint64_t raw = f ? swmrbus_format_raw_bytes(f) : 0;
    if (raw == 0) FAIL(rr, SWMRBUS_EINVAL, "invalid frame format");
    if (len > 0 && !p) FAIL(rr, SWMRBUS_EINVAL, "no payload bytes");
    uint64_t item = swmrbus_dtype_size(f->dtype);

    switch (f->encoding) {
    case SWMRBUS_ENC_RAW:
        if ((uint64_t)len != raw)
            FAIL(rr, SWMRBUS_EINVAL, "raw payload of %zu bytes, expected %llu", len,
                 (unsigned long long)raw);
        break;
    case SWMRBUS_ENC_BSLZ4:
    case SWMRBUS_ENC_LZ4: {
        const char *en = f->encoding == SWMRBUS_ENC_BSLZ4 ? "bslz4" : "lz4";
        if (len <= 12)
            FAIL(rr, SWMRBUS_EINVAL, "%s payload of %zu bytes: no chunk body", en, len);
        uint64_t s = be_u(p, 8);
        uint64_t b = be_u(p + 8, 4);
        if (s != raw)
            FAIL(rr, SWMRBUS_EINVAL, "%s chunk says %llu uncompressed bytes, frame has %llu",
                 en, (unsigned long long)s, (unsigned long long)raw);
        if (b == 0) FAIL(rr, SWMRBUS_EINVAL, "%s chunk block size is 0", en);
        if (f->encoding == SWMRBUS_ENC_BSLZ4 && b % (item * 8) != 0)
            FAIL(rr, SWMRBUS_EINVAL, "bslz4 block size %llu is not a multiple of %llu", 
                 (unsigned long long)b, (unsigned long long)(item * 8));
        /* A block never holds more than the frame: with min(B, S) the bound
         * stays tight when B is huge (lz4's default block is 1 GiB). lz4's
         * LZ4_COMPRESSBOUND(x) = x + x/255 + 16, without its 0 for x > 2 GiB. */
        uint64_t bb = b < raw ? b : raw;
        uint64_t blocks = raw / bb + (raw % bb != 0);
        uint64_t bound = sat_add(sat_mul(blocks, 4 + bb + bb / 255 + 16), 8 * item);
        uint64_t body = (uint64_t)len - 12;
        if (body > bound)
            FAIL(rr, SWMRBUS_EINVAL, "%s chunk body of %llu bytes exceeds its bound %llu", en,
                 (unsigned long long)body, (unsigned long long)bound);
        break;
    }
    default:
        FAIL(rr, SWMRBUS_EINVAL, "unknown encoding");
    }
out:
    (void)rr;
    return err;
}

/* ---- control requests ------------------------------------------------ */

swmrbus_err swmrbus_request_decode(const void *buf, size_t len, size_t max_bytes,
                                   swmrbus_request *out, char *why, size_t whylen)
{
    swmrbus_err err = SWMRBUS_OK;
    swmrbus_reason rr = SWMRBUS_R_BAD_HEADER;
    swmrbus__mp mp;
    size_t pairs;
    bool seen_cmd = false;

    why_clear(why, whylen);
    if (!out) FAIL(rr, SWMRBUS_EINVAL, "no output request");
    memset(out, 0, sizeof *out);
    if (swmrbus_msgpack_scan(buf, len, max_bytes, SWMRBUS_MAX_DEPTH, why, whylen) !=
        SWMRBUS_OK) {
        err = SWMRBUS_EINVAL; /* why set by the scanner */
        goto out;
    }
    swmrbus__mp_init(&mp, buf, len);
    if (swmrbus__mp_map(&mp, &pairs) != SWMRBUS_OK)
        FAIL(rr, SWMRBUS_EINVAL, "request is not a msgpack map");
    for (size_t k = 0; k < pairs; k++) {
        swmrbus_str key, s;
        char q[SWMRBUS__QUOTE_CAP];
        if (swmrbus__mp_str(&mp, &key) != SWMRBUS_OK)
            FAIL(rr, SWMRBUS_EINVAL, "request key %zu is not a string", k);
        if (swmrbus__str_is(key, "cmd")) {
            if (seen_cmd) FAIL(rr, SWMRBUS_EINVAL, "duplicate key \"cmd\"");
            seen_cmd = true;
            if (swmrbus__mp_str(&mp, &s) != SWMRBUS_OK)
                FAIL(rr, SWMRBUS_EINVAL, "cmd: must be a string");
            if (swmrbus__str_is(s, "status")) out->cmd = SWMRBUS_CMD_STATUS;
            else if (swmrbus__str_is(s, "flush")) out->cmd = SWMRBUS_CMD_FLUSH;
            else if (swmrbus__str_is(s, "close")) out->cmd = SWMRBUS_CMD_CLOSE;
            else FAIL(rr, SWMRBUS_EINVAL, "unknown cmd \"%s\"", swmrbus__wire_quote(s, q));
        } else if (swmrbus__str_is(key, "series")) {
            if (out->has_series) FAIL(rr, SWMRBUS_EINVAL, "duplicate key \"series\"");
            if (swmrbus__mp_uint(&mp, &out->series) != SWMRBUS_OK)
                FAIL(rr, SWMRBUS_EINVAL, "series: must be an unsigned integer");
            out->has_series = true;
        } else if (swmrbus__mp_skip(&mp) != SWMRBUS_OK) {
            FAIL(rr, SWMRBUS_EINVAL, "truncated value");
        }
    }
    if (!seen_cmd) FAIL(rr, SWMRBUS_EINVAL, "missing key \"cmd\"");
out:
    (void)rr;
    if (err != SWMRBUS_OK && out) memset(out, 0, sizeof *out);
    return err;
}
