/* wire_datasets.c — the optional start keys of wire protocol v1 that give a
 * series several named per-row datasets ("datasets") and datasets written
 * once at open ("static"): their checks, and walkers over accepted ones.
 *
 * Like wire.c: runs over bytes swmrbus_msgpack_scan() accepted, in place,
 * allocating nothing; every count is checked against its bound before use. */
#include <stdlib.h>
#include <string.h>

#include "mpread.h"
#include "wire_priv.h"

bool swmrbus_path_ok(swmrbus_str p)
{
    if (!p.ptr || p.len == 0 || p.len > SWMRBUS_PATH_MAX) return false;
    size_t seg = 0; /* start of the current segment */
    for (size_t k = 0; k <= p.len; k++) {
        if (k < p.len) {
            unsigned char c = (unsigned char)p.ptr[k];
            if (c < 0x20 || c == 0x7f) return false;
            if (c != '/') continue;
        }
        size_t n = k - seg;
        const char *s = p.ptr + seg;
        if (n == 0) return false;
        if ((n == 1 && s[0] == '.') || (n == 2 && s[0] == '.' && s[1] == '.')) return false;
        if (seg == 0 && n == 5 && memcmp(s, "entry", 5) == 0) return false;
        seg = k + 1;
    }
    return true;
}

/* Reads one dataset map {name, dtype, shape, encoding} at the cursor. */
static swmrbus_err read_dataset(swmrbus__mp *mp, const swmrbus_limits *lim,
                                swmrbus_dataset *d, size_t idx, char *w, size_t wl)
{
    size_t pairs, n;
    unsigned seen = 0;
    swmrbus_str key, s;
    memset(d, 0, sizeof *d);
    if (swmrbus__mp_map(mp, &pairs) != SWMRBUS_OK) {
        swmrbus__wire_why(w, wl, "datasets[%zu]: must be a map", idx);
        return SWMRBUS_EINVAL;
    }
    for (size_t k = 0; k < pairs; k++) {
        if (swmrbus__mp_str(mp, &key) != SWMRBUS_OK) {
            swmrbus__wire_why(w, wl, "datasets[%zu]: key %zu is not a string", idx, k);
            return SWMRBUS_EINVAL;
        }
        unsigned bit = swmrbus__str_is(key, "name")       ? 1u
                       : swmrbus__str_is(key, "dtype")    ? 2u
                       : swmrbus__str_is(key, "shape")    ? 4u
                       : swmrbus__str_is(key, "encoding") ? 8u
                                                          : 0u;
        if (!bit) { /* unknown keys are ignored, as in the header */
            if (swmrbus__mp_skip(mp) != SWMRBUS_OK) return SWMRBUS_EINVAL;
            continue;
        }
        if (seen & bit) {
            swmrbus__wire_why(w, wl, "datasets[%zu]: duplicate key", idx);
            return SWMRBUS_EINVAL;
        }
        seen |= bit;
        if (bit == 4) {
            if (swmrbus__mp_array(mp, &n) != SWMRBUS_OK || n > SWMRBUS_MAX_DATASET_DIMS) {
                swmrbus__wire_why(w, wl, "datasets[%zu].shape: an array of 0 to %d uints", idx,
                                  SWMRBUS_MAX_DATASET_DIMS);
                return SWMRBUS_EINVAL;
            }
            d->format.ndim = (uint32_t)n;
            for (size_t i = 0; i < n; i++)
                if (swmrbus__mp_uint(mp, &d->format.shape[i]) != SWMRBUS_OK ||
                    d->format.shape[i] == 0) {
                    swmrbus__wire_why(w, wl, "datasets[%zu].shape[%zu]: must be a uint >= 1",
                                      idx, i);
                    return SWMRBUS_EINVAL;
                }
            continue;
        }
        if (swmrbus__mp_str(mp, &s) != SWMRBUS_OK) {
            swmrbus__wire_why(w, wl, "datasets[%zu]: name, dtype, encoding are strings", idx);
            return SWMRBUS_EINVAL;
        }
        if (bit == 1) {
            d->name = s;
        } else if (bit == 2) {
            d->format.dtype = swmrbus_dtype_parse(s.ptr, s.len);
            if (!d->format.dtype) {
                swmrbus__wire_why(w, wl, "datasets[%zu].dtype: unknown", idx);
                return SWMRBUS_EINVAL;
            }
        } else {
            d->format.encoding = swmrbus_encoding_parse(s.ptr, s.len);
            if (!d->format.encoding) {
                swmrbus__wire_why(w, wl, "datasets[%zu].encoding: unknown", idx);
                return SWMRBUS_EINVAL;
            }
        }
    }
    if (seen != 15) {
        swmrbus__wire_why(w, wl, "datasets[%zu]: needs name, dtype, shape and encoding", idx);
        return SWMRBUS_EINVAL;
    }
    if (!swmrbus_path_ok(d->name)) {
        swmrbus__wire_why(w, wl, "datasets[%zu].name: not a usable path in a file", idx);
        return SWMRBUS_EINVAL;
    }
    uint64_t raw = swmrbus_format_raw_bytes(&d->format);
    if (raw == 0 || (lim && raw > lim->max_frame_bytes)) {
        swmrbus__wire_why(w, wl, "datasets[%zu]: a row of %llu bytes (max_frame_bytes %llu)",
                          idx, (unsigned long long)raw,
                          (unsigned long long)(lim ? lim->max_frame_bytes : 0));
        return SWMRBUS_ELIMIT;
    }
    return SWMRBUS_OK;
}

/* True when name a is a path prefix of b ("a" of "a/b") or equal to it. */
static bool path_clash(swmrbus_str a, swmrbus_str b)
{
    if (a.len > b.len) {
        swmrbus_str t = a;
        a = b;
        b = t;
    }
    return memcmp(a.ptr, b.ptr, a.len) == 0 && (a.len == b.len || b.ptr[a.len] == '/');
}

swmrbus_err swmrbus__wire_datasets(swmrbus__mp *mp, const swmrbus_limits *lim,
                                   swmrbus_header *out, char *w, size_t wl)
{
    size_t n;
    const uint8_t *start = mp->p;
    if (swmrbus__mp_array(mp, &n) != SWMRBUS_OK || n < 1 || n > SWMRBUS_MAX_DATASETS) {
        swmrbus__wire_why(w, wl, "datasets: an array of 1 to %d maps", SWMRBUS_MAX_DATASETS);
        return SWMRBUS_EINVAL;
    }
    /* Names are compared pairwise: read them through a second cursor. */
    for (size_t k = 0; k < n; k++) {
        swmrbus_dataset d;
        swmrbus_err rc = read_dataset(mp, lim, &d, k, w, wl);
        if (rc != SWMRBUS_OK) return rc;
    }
    out->datasets.ptr = (const char *)start;
    out->datasets.len = (size_t)(mp->p - start);
    out->n_datasets = (uint32_t)n;
    swmrbus__mp a;
    swmrbus__mp_init(&a, out->datasets.ptr, out->datasets.len);
    (void)swmrbus__mp_array(&a, &n);
    for (size_t k = 0; k < n; k++) {
        swmrbus_dataset d, e;
        (void)read_dataset(&a, NULL, &d, k, NULL, 0);
        swmrbus__mp b = a;
        for (size_t j = k + 1; j < n; j++) {
            (void)read_dataset(&b, NULL, &e, j, NULL, 0);
            if (path_clash(d.name, e.name)) {
                swmrbus__wire_why(w, wl,
                                  "datasets: \"%.*s\" given twice or inside another dataset",
                                  (int)(d.name.len > 80 ? 80 : d.name.len), d.name.ptr);
                return SWMRBUS_EINVAL;
            }
        }
    }
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_datasets_foreach(swmrbus_str ds, swmrbus_dataset_fn fn, void *user)
{
    swmrbus__mp mp;
    size_t n;
    if (!ds.ptr || ds.len == 0) return SWMRBUS_EINVAL;
    if (swmrbus_msgpack_scan(ds.ptr, ds.len, ds.len, 3, NULL, 0) != SWMRBUS_OK)
        return SWMRBUS_EINVAL;
    swmrbus__mp_init(&mp, ds.ptr, ds.len);
    if (swmrbus__mp_array(&mp, &n) != SWMRBUS_OK || n > SWMRBUS_MAX_DATASETS)
        return SWMRBUS_EINVAL;
    for (size_t k = 0; k < n; k++) {
        swmrbus_dataset d;
        if (read_dataset(&mp, NULL, &d, k, NULL, 0) != SWMRBUS_OK) return SWMRBUS_EINVAL;
        if (fn && fn(&d, k, user) != 0) break;
    }
    return SWMRBUS_OK;
}

/* ---- channels (README "Channels") --------------------------------------- */

/* A channel name: 1..SWMRBUS_CHANNEL_NAME_MAX bytes, no control character,
 * no '/' (a group <name>_channel may be made of it). */
static bool channel_name_ok(swmrbus_str s)
{
    if (s.len == 0 || s.len > SWMRBUS_CHANNEL_NAME_MAX) return false;
    for (size_t i = 0; i < s.len; i++) {
        unsigned char c = (unsigned char)s.ptr[i];
        if (c < 0x20 || c == 0x7f || c == '/') return false;
    }
    return !(s.len == 1 && s.ptr[0] == '.') && !(s.len == 2 && s.ptr[0] == '.' && s.ptr[1] == '.');
}

swmrbus_err swmrbus__wire_channels(swmrbus__mp *mp, swmrbus_header *out, char *w, size_t wl)
{
    size_t n;
    const uint8_t *start = mp->p;
    if (swmrbus__mp_array(mp, &n) != SWMRBUS_OK || n < 1 || n > SWMRBUS_MAX_CHANNELS) {
        swmrbus__wire_why(w, wl, "channels: an array of 1 to %d strings", SWMRBUS_MAX_CHANNELS);
        return SWMRBUS_EINVAL;
    }
    for (size_t k = 0; k < n; k++) {
        swmrbus_str s;
        if (swmrbus__mp_str(mp, &s) != SWMRBUS_OK || !channel_name_ok(s)) {
            swmrbus__wire_why(w, wl, "channels[%zu]: a name of 1 to %d bytes, no '/' or control "
                              "character", k, SWMRBUS_CHANNEL_NAME_MAX);
            return SWMRBUS_EINVAL;
        }
    }
    out->channels.ptr = (const char *)start;
    out->channels.len = (size_t)(mp->p - start);
    out->n_channels = (uint32_t)n;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_channel_name(swmrbus_str channels, size_t k, swmrbus_str *name)
{
    swmrbus__mp mp;
    size_t n;
    if (!channels.ptr || channels.len == 0 || !name) return SWMRBUS_EINVAL;
    if (swmrbus_msgpack_scan(channels.ptr, channels.len, channels.len, 2, NULL, 0) != SWMRBUS_OK)
        return SWMRBUS_EINVAL;
    swmrbus__mp_init(&mp, channels.ptr, channels.len);
    if (swmrbus__mp_array(&mp, &n) != SWMRBUS_OK || k >= n) return SWMRBUS_EINVAL;
    for (size_t i = 0; i <= k; i++)
        if (swmrbus__mp_str(&mp, name) != SWMRBUS_OK) return SWMRBUS_EINVAL;
    return SWMRBUS_OK;
}

/* ---- static ------------------------------------------------------------ */

typedef struct static_scratch {
    int64_t i[SWMRBUS_STATIC_MAX];
    uint64_t u[SWMRBUS_STATIC_MAX];
    double f[SWMRBUS_STATIC_MAX];
    swmrbus_str ss[SWMRBUS_STATIC_MAX];
} static_scratch;

/* Kind of one scalar value (STR too); false for other types. */
static bool value_kind(const swmrbus__mp_val *v, swmrbus_meta_kind *k)
{
    switch (v->type) {
    case SWMRBUS__MP_BOOL: *k = SWMRBUS_META_BOOL; return true;
    case SWMRBUS__MP_UINT: *k = v->signed_fmt ? SWMRBUS_META_INT : SWMRBUS_META_UINT; return true;
    case SWMRBUS__MP_INT: *k = SWMRBUS_META_INT; return true;
    case SWMRBUS__MP_FLOAT: *k = SWMRBUS_META_FLOAT; return true;
    case SWMRBUS__MP_STR: *k = SWMRBUS_META_STR; return true;
    default: return false;
    }
}

static void put(static_scratch *sc, size_t k, swmrbus_meta_kind kind, const swmrbus__mp_val *v)
{
    switch (kind) {
    case SWMRBUS_META_BOOL: sc->i[k] = v->b; break;
    case SWMRBUS_META_INT: sc->i[k] = v->i; break;
    case SWMRBUS_META_UINT: sc->u[k] = v->u; break;
    case SWMRBUS_META_FLOAT:
        sc->f[k] = v->type == SWMRBUS__MP_FLOAT ? v->f
                   : v->type == SWMRBUS__MP_INT ? (double)v->i
                                                : (double)v->u;
        break;
    case SWMRBUS_META_STR: sc->ss[k] = (swmrbus_str){v->ptr, v->len}; break;
    }
}

/* Walks a static map at the cursor; with fn, calls it per path. An array
 * takes the kind of its first element: strings only with strings, bools
 * only with bools; numbers widen to FLOAT, else to INT with a negative or
 * signed element (a uint over INT64_MAX among them is an error), else UINT. */
static swmrbus_err static_walk(swmrbus__mp *mp, swmrbus_static_fn fn, void *user,
                               static_scratch *sc, char *w, size_t wl)
{
    size_t pairs;
    swmrbus__mp_val v;
    if (swmrbus__mp_map(mp, &pairs) != SWMRBUS_OK || pairs > SWMRBUS_MAX_DATASETS) {
        swmrbus__wire_why(w, wl, "static: a map of at most %d paths", SWMRBUS_MAX_DATASETS);
        return SWMRBUS_EINVAL;
    }
    for (size_t k = 0; k < pairs; k++) {
        swmrbus_static_item it;
        memset(&it, 0, sizeof it);
        if (swmrbus__mp_str(mp, &it.path) != SWMRBUS_OK || !swmrbus_path_ok(it.path)) {
            swmrbus__wire_why(w, wl, "static: key %zu is not a usable path", k);
            return SWMRBUS_EINVAL;
        }
        if (swmrbus__mp_next(mp, &v) != SWMRBUS_OK) return SWMRBUS_EINVAL;
        it.count = 1;
        if (v.type != SWMRBUS__MP_ARRAY) {
            if (!value_kind(&v, &it.kind)) goto bad;
            if (sc) put(sc, 0, it.kind, &v);
            if (it.kind == SWMRBUS_META_STR) it.s = (swmrbus_str){v.ptr, v.len};
        } else {
            size_t n = v.n;
            if (n < 1 || n > SWMRBUS_STATIC_MAX) goto bad;
            it.is_array = true;
            it.count = n;
            swmrbus__mp first = *mp;
            bool strs = false, bools = false, floats = false, negs = false, bigs = false;
            for (size_t e = 0; e < n; e++) {
                swmrbus_meta_kind ek;
                if (swmrbus__mp_next(mp, &v) != SWMRBUS_OK || !value_kind(&v, &ek)) goto bad;
                if (e == 0) strs = ek == SWMRBUS_META_STR, bools = ek == SWMRBUS_META_BOOL;
                if ((ek == SWMRBUS_META_STR) != strs || (ek == SWMRBUS_META_BOOL) != bools)
                    goto bad;
                floats |= ek == SWMRBUS_META_FLOAT;
                negs |= ek == SWMRBUS_META_INT;
                bigs |= v.type == SWMRBUS__MP_UINT && v.u > (uint64_t)INT64_MAX;
            }
            if (!floats && negs && bigs) goto bad;
            it.kind = strs ? SWMRBUS_META_STR
                      : bools ? SWMRBUS_META_BOOL
                      : floats ? SWMRBUS_META_FLOAT
                      : negs ? SWMRBUS_META_INT
                             : SWMRBUS_META_UINT;
            if (sc)
                for (size_t e = 0; e < n; e++) {
                    (void)swmrbus__mp_next(&first, &v);
                    put(sc, e, it.kind, &v);
                }
        }
        if (sc) {
            it.i = sc->i;
            it.u = sc->u;
            it.f = sc->f;
            it.ss = sc->ss;
        }
        if (fn && fn(&it, user) != 0) break;
        continue;
    bad:
        swmrbus__wire_why(w, wl, "static.%.*s: a bool, number, string or array of one of them",
                          (int)(it.path.len > 80 ? 80 : it.path.len), it.path.ptr);
        return SWMRBUS_EINVAL;
    }
    return SWMRBUS_OK;
}

swmrbus_err swmrbus__wire_statics(swmrbus__mp *mp, swmrbus_header *out, char *w, size_t wl)
{
    const uint8_t *start = mp->p;
    swmrbus_err rc = static_walk(mp, NULL, NULL, NULL, w, wl);
    if (rc != SWMRBUS_OK) return rc;
    out->statics.ptr = (const char *)start;
    out->statics.len = (size_t)(mp->p - start);
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_static_foreach(swmrbus_str st, swmrbus_static_fn fn, void *user)
{
    swmrbus__mp mp;
    if (st.len == 0) return SWMRBUS_OK;
    if (!st.ptr || swmrbus_msgpack_scan(st.ptr, st.len, st.len, 3, NULL, 0) != SWMRBUS_OK)
        return SWMRBUS_EINVAL;
    static_scratch *sc = malloc(sizeof *sc);
    if (!sc) return SWMRBUS_ENOMEM;
    swmrbus__mp_init(&mp, st.ptr, st.len);
    swmrbus_err rc = static_walk(&mp, fn, user, sc, NULL, 0);
    free(sc);
    return rc;
}
