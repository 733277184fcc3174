/* codec_karabo.c — the Karabo bridge decoder (`in.protocol: karabo-bridge`):
 * European XFEL's train stream (protocol 2.2 and 2.1, as karabo_bridge's
 * serializer.py writes it) into series of named datasets laid out as
 * European XFEL files are (README "Karabo bridge").
 *
 * A message is one train: pairs of parts, a msgpack header {source, content,
 * metadata?, path?, dtype?, shape?} and its payload: for content "msgpack"
 * the source's map of scalars, for "array" the bytes of one array. One
 * series per run of trains: row = trainId - the series' first trainId; the
 * first train fixes the datasets (INDEX/trainId, INDEX/timestamp,
 * INDEX/flag, per source INDEX/<source>[/<group>]/first|count and per key
 * INSTRUMENT|CONTROL/<source>/<key with '.' as '/'>) and METADATA (as
 * start.static). Array payloads go on without a copy (swmrbus_msg_slice).
 *
 * Everything read off the wire is walked by the bounded scanner first; the
 * tables here are bounded by SWMRBUS_MAX_DATASETS, never by a wire count. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <msgpack.h>

#include "mpread.h"
#include "swmrbus/clock.h"
#include "swmrbus/codec.h"
#include "swmrbus/log.h"

#define KB_PROTOCOL "karabo-bridge"
#define KB_MAX_SOURCES 256
#define KB_DEPTH 8

typedef enum ds_kind {
    DS_TRAINID, DS_TIMESTAMP, DS_FLAG, DS_FIRST, DS_COUNT, DS_KEY,
} ds_kind;

/* One dataset of the series (in start.datasets order). */
typedef struct kds {
    ds_kind kind;
    int src;                 /* FIRST/COUNT/KEY: index into sources */
    int group;               /* FIRST/COUNT: which of the source's groups; KEY: its group */
    char *key;               /* KEY: the Karabo key ("data.adc") */
    bool is_array;           /* KEY: from an array part (else a msgpack scalar) */
    swmrbus_format fmt;
    uint64_t raw;
} kds;

typedef struct ksrc {
    char *name;
    bool control;            /* no ':' in the name: CONTROL/, one index without group */
    char *groups[64];        /* INSTRUMENT: the first segments of its keys */
    int n_groups;
    bool seen;               /* in the train at hand */
    bool group_seen[64];
} ksrc;

/* One pair of the message at hand, as parsed. */
typedef struct kpart {
    swmrbus_str source;
    bool array;
    swmrbus_str path;        /* array: the key */
    swmrbus_dtype dtype;     /* array */
    swmrbus_format fmt;      /* array: dtype, raw, shape */
    bool shape_ok;
    zmq_msg_t *payload;
} kpart;

typedef struct kstate {
    const swmrbus_component_cfg *cfg;
    const char *name;
    swmrbus_limits lim;
    uint64_t idle_ns;
    /* the series */
    bool open;
    uint64_t series, first_tid, last_tid, last_row, rows_sent;
    uint64_t last_rx_ns;
    kds *ds;
    size_t n_ds;
    ksrc src[KB_MAX_SOURCES];
    int n_src;
    /* scratch */
    kpart *parts;            /* SWMRBUS_CODEC_MAX_PARTS / 2 */
    zmq_msg_t *out;          /* SWMRBUS_MAX_DATASETS */
    bool *filled;
    swmrbus_buf hdr, dsbuf, stbuf;
    uint64_t late_keys, bad;
    bool late_logged;
    bool renew_on_late;      /* karabo.new_file_on_new_keys */
    bool renew;              /* a late key was seen: a new series at the next train */
} kstate;

/* ---- small helpers ---------------------------------------------------- */

static void reject(kstate *k, const swmrbus_decode_sink *out, swmrbus_reason r,
                   const char *fmt, ...) __attribute__((format(printf, 4, 5)));
static void reject(kstate *k, const swmrbus_decode_sink *out, swmrbus_reason r,
                   const char *fmt, ...)
{
    char why[300];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, sizeof why, fmt, ap);
    va_end(ap);
    k->bad++;
    out->reject(out->user, r, k->open, k->series, why);
}

static char *dupn(swmrbus_str s)
{
    char *p = malloc(s.len + 1);
    if (!p) return NULL;
    memcpy(p, s.ptr, s.len);
    p[s.len] = '\0';
    return p;
}

static bool eq(const char *a, swmrbus_str b)
{
    return strlen(a) == b.len && memcmp(a, b.ptr, b.len) == 0;
}

/* numpy's str(dtype) for the types the wire knows; "bool" as uint8. */
static swmrbus_dtype np_dtype(swmrbus_str s)
{
    if (swmrbus__str_is(s, "bool")) return SWMRBUS_DTYPE_UINT8;
    return swmrbus_dtype_parse(s.ptr, s.len);
}

/* The group of a key: its first '.'-separated segment. */
static swmrbus_str key_group(swmrbus_str key)
{
    const char *dot = memchr(key.ptr, '.', key.len);
    return (swmrbus_str){key.ptr, dot ? (size_t)(dot - key.ptr) : key.len};
}

/* "<root>/<source>/<key with '.' as '/'>" into buf; false when too long. */
static bool key_path(const ksrc *s, const char *key, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/%s/%s", s->control ? "CONTROL" : "INSTRUMENT", s->name, key);
    if (n < 0 || (size_t)n >= cap) return false;
    for (char *p = buf + strlen(s->control ? "CONTROL/" : "INSTRUMENT/") + strlen(s->name) + 1;
         *p; p++)
        if (*p == '.') *p = '/';
    return true;
}

static bool index_path(const ksrc *s, int g, const char *leaf, char *buf, size_t cap)
{
    int n = s->control ? snprintf(buf, cap, "INDEX/%s/%s", s->name, leaf)
                       : snprintf(buf, cap, "INDEX/%s/%s/%s", s->name, s->groups[g], leaf);
    return n > 0 && (size_t)n < cap;
}

static bool path_ok(const char *p)
{
    return swmrbus_path_ok((swmrbus_str){p, strlen(p)});
}

/* ---- the message at hand ----------------------------------------------- */

/* Parses the msgpack header of pair i; its metadata gives tid and ts. */
static bool parse_header(kstate *k, zmq_msg_t *hdr, kpart *p, bool *has_tid, uint64_t *tid,
                         uint64_t *ts, char *why, size_t wl)
{
    const void *b = zmq_msg_data(hdr);
    size_t len = zmq_msg_size(hdr);
    swmrbus__mp mp;
    size_t pairs;
    swmrbus_str key, s;
    memset(p, 0, sizeof *p);
    if (swmrbus_msgpack_scan(b, len, (size_t)k->lim.max_header_bytes, KB_DEPTH, why, wl) !=
        SWMRBUS_OK)
        return false;
    swmrbus__mp_init(&mp, b, len);
    if (swmrbus__mp_map(&mp, &pairs) != SWMRBUS_OK) {
        snprintf(why, wl, "header is not a map");
        return false;
    }
    bool has_content = false, has_dtype = false;
    for (size_t i = 0; i < pairs; i++) {
        if (swmrbus__mp_str(&mp, &key) != SWMRBUS_OK) {
            snprintf(why, wl, "header key is not a string");
            return false;
        }
        if (swmrbus__str_is(key, "source")) {
            if (swmrbus__mp_str(&mp, &p->source) != SWMRBUS_OK) goto bad;
        } else if (swmrbus__str_is(key, "content")) {
            if (swmrbus__mp_str(&mp, &s) != SWMRBUS_OK) goto bad;
            if (swmrbus__str_is(s, "array")) p->array = true;
            else if (!swmrbus__str_is(s, "msgpack")) {
                snprintf(why, wl, "content: neither msgpack nor array");
                return false;
            }
            has_content = true;
        } else if (swmrbus__str_is(key, "path")) {
            if (swmrbus__mp_str(&mp, &p->path) != SWMRBUS_OK) goto bad;
        } else if (swmrbus__str_is(key, "dtype")) {
            if (swmrbus__mp_str(&mp, &s) != SWMRBUS_OK) goto bad;
            p->fmt.dtype = np_dtype(s);
            has_dtype = true;
        } else if (swmrbus__str_is(key, "shape")) {
            size_t n;
            if (swmrbus__mp_array(&mp, &n) != SWMRBUS_OK) goto bad;
            p->shape_ok = n <= SWMRBUS_MAX_DATASET_DIMS;
            for (size_t d = 0; d < n; d++) {
                uint64_t v;
                if (swmrbus__mp_uint(&mp, &v) != SWMRBUS_OK) goto bad;
                if (d < SWMRBUS_MAX_DATASET_DIMS) p->fmt.shape[d] = v;
                if (v == 0) p->shape_ok = false;
            }
            if (p->shape_ok) p->fmt.ndim = (uint32_t)n;
        } else if (swmrbus__str_is(key, "metadata")) {
            size_t mp_pairs;
            if (swmrbus__mp_map(&mp, &mp_pairs) != SWMRBUS_OK) goto bad;
            for (size_t j = 0; j < mp_pairs; j++) {
                swmrbus_str mk;
                swmrbus__mp_val v;
                if (swmrbus__mp_str(&mp, &mk) != SWMRBUS_OK) goto bad;
                swmrbus__mp save = mp;
                if (swmrbus__mp_next(&mp, &v) != SWMRBUS_OK) goto bad;
                if (v.type == SWMRBUS__MP_ARRAY || v.type == SWMRBUS__MP_MAP) {
                    mp = save;
                    if (swmrbus__mp_skip(&mp) != SWMRBUS_OK) goto bad;
                    continue;
                }
                if (swmrbus__str_is(mk, "timestamp.tid") && v.type == SWMRBUS__MP_UINT) {
                    *tid = v.u;
                    *has_tid = true;
                } else if (swmrbus__str_is(mk, "timestamp") && v.type == SWMRBUS__MP_FLOAT &&
                           v.f > 0 && v.f < 1e10) {
                    *ts = (uint64_t)(v.f * 1e9);
                }
            }
        } else if (swmrbus__mp_skip(&mp) != SWMRBUS_OK) {
            goto bad;
        }
    }
    if (!p->source.ptr || !has_content || p->source.len == 0) {
        snprintf(why, wl, "header without source or content");
        return false;
    }
    if (p->array && (!p->path.ptr || !has_dtype)) {
        snprintf(why, wl, "array header without path or dtype");
        return false;
    }
    return true;
bad:
    snprintf(why, wl, "header: a key of the wrong type");
    return false;
}

/* ---- the series' datasets ------------------------------------------------ */

static void free_series(kstate *k)
{
    for (size_t i = 0; i < k->n_ds; i++) free(k->ds[i].key);
    k->n_ds = 0;
    for (int i = 0; i < k->n_src; i++) {
        free(k->src[i].name);
        for (int g = 0; g < k->src[i].n_groups; g++) free(k->src[i].groups[g]);
    }
    memset(k->src, 0, sizeof k->src);
    k->n_src = 0;
}

static int find_src(const kstate *k, swmrbus_str name)
{
    for (int i = 0; i < k->n_src; i++)
        if (eq(k->src[i].name, name)) return i;
    return -1;
}

static int find_group(const ksrc *s, swmrbus_str g)
{
    for (int i = 0; i < s->n_groups; i++)
        if (eq(s->groups[i], g)) return i;
    return -1;
}

static size_t find_key(const kstate *k, int src, swmrbus_str key)
{
    for (size_t i = 0; i < k->n_ds; i++)
        if (k->ds[i].kind == DS_KEY && k->ds[i].src == src && eq(k->ds[i].key, key)) return i;
    return SIZE_MAX;
}

static kds *add_ds(kstate *k, ds_kind kind, int src, int group, swmrbus_dtype t, uint32_t ndim,
                   const uint64_t *shape)
{
    if (k->n_ds >= SWMRBUS_MAX_DATASETS) return NULL;
    kds *d = &k->ds[k->n_ds++];
    memset(d, 0, sizeof *d);
    d->kind = kind;
    d->src = src;
    d->group = group;
    d->fmt.dtype = t;
    d->fmt.encoding = SWMRBUS_ENC_RAW;
    d->fmt.ndim = ndim;
    for (uint32_t i = 0; i < ndim; i++) d->fmt.shape[i] = shape[i];
    d->raw = swmrbus_format_raw_bytes(&d->fmt);
    return d;
}

/* Adds source name (with its index datasets added lazily per group). */
static int add_src(kstate *k, swmrbus_str name)
{
    if (k->n_src >= KB_MAX_SOURCES) return -1;
    ksrc *s = &k->src[k->n_src];
    if (!(s->name = dupn(name))) return -1;
    s->control = memchr(name.ptr, ':', name.len) == NULL;
    return k->n_src++;
}

/* The index group of key in source si, adding it (and its first/count
 * datasets) when new. -1 when it cannot be added. */
static int add_group(kstate *k, int si, swmrbus_str key)
{
    ksrc *s = &k->src[si];
    swmrbus_str g = s->control ? (swmrbus_str){"", 0} : key_group(key);
    int gi = find_group(s, g);
    if (gi >= 0) return gi;
    if (s->n_groups >= 64 || k->n_ds + 2 > SWMRBUS_MAX_DATASETS) return -1;
    char p[SWMRBUS_PATH_MAX + 1];
    s->groups[s->n_groups] = dupn(g);
    if (!s->groups[s->n_groups]) return -1;
    gi = s->n_groups++;
    if (!index_path(s, gi, "first", p, sizeof p) || !path_ok(p)) {
        free(s->groups[--s->n_groups]);
        return -1;
    }
    add_ds(k, DS_FIRST, si, gi, SWMRBUS_DTYPE_UINT64, 0, NULL);
    add_ds(k, DS_COUNT, si, gi, SWMRBUS_DTYPE_UINT64, 0, NULL);
    return gi;
}

/* True when path p clashes with a key dataset of the series (equal, or one
 * inside the other). */
static bool clashes(const kstate *k, const char *p)
{
    char q[SWMRBUS_PATH_MAX + 1];
    size_t n = strlen(p);
    for (size_t i = 0; i < k->n_ds; i++) {
        if (k->ds[i].kind != DS_KEY) continue;
        if (!key_path(&k->src[k->ds[i].src], k->ds[i].key, q, sizeof q)) continue;
        size_t m = strlen(q), s = n < m ? n : m;
        if (memcmp(p, q, s) == 0 && (n == m || (n < m ? q[n] : p[m]) == '/')) return true;
    }
    return false;
}

/* Adds key of source si as a dataset of format f; false (counted by the
 * caller) when its name or format cannot be carried. */
static bool add_key(kstate *k, int si, swmrbus_str key, const swmrbus_format *f, bool array,
                    char *why, size_t wl)
{
    char p[SWMRBUS_PATH_MAX + 1];
    char *kc = dupn(key);
    if (!kc) return false;
    if (key.len == 0 || memchr(key.ptr, '\0', key.len) || !key_path(&k->src[si], kc, p, sizeof p) ||
        !path_ok(p) || clashes(k, p)) {
        snprintf(why, wl, "source %s key %.80s: not a usable name in the file", k->src[si].name,
                 kc);
        free(kc);
        return false;
    }
    uint64_t raw = swmrbus_format_raw_bytes(f);
    if (raw == 0 || raw > k->lim.max_frame_bytes) {
        snprintf(why, wl, "source %s key %.80s: %llu bytes a train (max_frame_bytes %llu)",
                 k->src[si].name, kc, (unsigned long long)raw,
                 (unsigned long long)k->lim.max_frame_bytes);
        free(kc);
        return false;
    }
    int gi = add_group(k, si, key);
    kds *d = gi < 0 ? NULL : add_ds(k, DS_KEY, si, gi, f->dtype, f->ndim, f->shape);
    if (!d) {
        snprintf(why, wl, "source %s key %.80s: too many datasets", k->src[si].name, kc);
        free(kc);
        return false;
    }
    d->key = kc;
    d->is_array = array;
    return true;
}

/* The scalar kinds of a source's msgpack map become datasets of shape (N,). */
static bool scalar_format(const swmrbus__mp_val *v, swmrbus_format *f)
{
    memset(f, 0, sizeof *f);
    f->encoding = SWMRBUS_ENC_RAW;
    switch (v->type) {
    case SWMRBUS__MP_BOOL: f->dtype = SWMRBUS_DTYPE_UINT8; return true;
    case SWMRBUS__MP_UINT:
        f->dtype = v->signed_fmt ? SWMRBUS_DTYPE_INT64 : SWMRBUS_DTYPE_UINT64;
        return true;
    case SWMRBUS__MP_INT: f->dtype = SWMRBUS_DTYPE_INT64; return true;
    case SWMRBUS__MP_FLOAT: f->dtype = SWMRBUS_DTYPE_FLOAT64; return true;
    default: return false; /* strings, lists, maps (metadata), bin: not carried */
    }
}

/* Calls fn for every scalar key of a msgpack source map (already scanned). */
typedef void (*scalar_fn)(kstate *k, int si, swmrbus_str key, const swmrbus__mp_val *v,
                          void *user);

static bool walk_scalars(kstate *k, int si, zmq_msg_t *payload, scalar_fn fn, void *user,
                         char *why, size_t wl)
{
    swmrbus__mp mp;
    size_t pairs;
    const void *b = zmq_msg_data(payload);
    size_t len = zmq_msg_size(payload);
    if (swmrbus_msgpack_scan(b, len, len, KB_DEPTH, why, wl) != SWMRBUS_OK) return false;
    swmrbus__mp_init(&mp, b, len);
    if (swmrbus__mp_map(&mp, &pairs) != SWMRBUS_OK) {
        snprintf(why, wl, "source data is not a map");
        return false;
    }
    for (size_t i = 0; i < pairs; i++) {
        swmrbus_str key;
        swmrbus__mp_val v;
        if (swmrbus__mp_str(&mp, &key) != SWMRBUS_OK) {
            if (swmrbus__mp_skip(&mp) != SWMRBUS_OK || swmrbus__mp_skip(&mp) != SWMRBUS_OK)
                return false;
            continue;
        }
        swmrbus__mp save = mp;
        if (swmrbus__mp_next(&mp, &v) != SWMRBUS_OK) return false;
        if (v.type == SWMRBUS__MP_ARRAY || v.type == SWMRBUS__MP_MAP) {
            mp = save;
            if (swmrbus__mp_skip(&mp) != SWMRBUS_OK) return false;
            continue;
        }
        fn(k, si, key, &v, user);
    }
    return true;
}

typedef struct build_ctx {
    const swmrbus_decode_sink *out;
} build_ctx;

static void build_scalar(kstate *k, int si, swmrbus_str key, const swmrbus__mp_val *v,
                         void *user)
{
    build_ctx *bc = user;
    swmrbus_format f;
    char why[300];
    if (!scalar_format(v, &f) || find_key(k, si, key) != SIZE_MAX) return;
    if (!add_key(k, si, key, &f, false, why, sizeof why))
        reject(k, bc->out, SWMRBUS_R_BAD_NAME, "%s", why);
}

/* Builds the series' datasets from its first train (parts[0..np)). */
static bool build_series(kstate *k, kpart *parts, size_t np, const swmrbus_decode_sink *out)
{
    char why[300];
    build_ctx bc = {out};
    free_series(k);
    static const uint64_t none[1] = {0};
    add_ds(k, DS_TRAINID, -1, -1, SWMRBUS_DTYPE_UINT64, 0, none);
    add_ds(k, DS_TIMESTAMP, -1, -1, SWMRBUS_DTYPE_UINT64, 0, none);
    add_ds(k, DS_FLAG, -1, -1, SWMRBUS_DTYPE_INT32, 0, none);
    for (size_t i = 0; i < np; i++) {
        kpart *p = &parts[i];
        int si = find_src(k, p->source);
        if (si < 0) {
            char probe[SWMRBUS_PATH_MAX + 1];
            int n = snprintf(probe, sizeof probe, "INSTRUMENT/%.*s/x", (int)p->source.len,
                             p->source.ptr);
            if (n < 0 || (size_t)n >= sizeof probe || !path_ok(probe) ||
                memchr(p->source.ptr, '\0', p->source.len) || (si = add_src(k, p->source)) < 0) {
                reject(k, out, SWMRBUS_R_BAD_NAME, "source %.*s: not a usable name",
                       (int)(p->source.len > 80 ? 80 : p->source.len), p->source.ptr);
                continue;
            }
        }
        if (!p->array) {
            if (!walk_scalars(k, si, p->payload, build_scalar, &bc, why, sizeof why))
                reject(k, out, SWMRBUS_R_BAD_MSGPACK, "source %s: %s", k->src[si].name, why);
            continue;
        }
        if (!p->fmt.dtype || !p->shape_ok) {
            reject(k, out, SWMRBUS_R_BAD_HEADER, "source %s key %.*s: unknown dtype or shape",
                   k->src[si].name, (int)(p->path.len > 80 ? 80 : p->path.len), p->path.ptr);
            continue;
        }
        if (find_key(k, si, p->path) != SIZE_MAX) continue;
        p->fmt.encoding = SWMRBUS_ENC_RAW;
        if (!add_key(k, si, p->path, &p->fmt, true, why, sizeof why))
            reject(k, out, SWMRBUS_R_BAD_NAME, "%s", why);
    }
    return k->n_ds > 3;
}

/* start.datasets and start.static of the series, into k->dsbuf / stbuf. */
static bool pack_start(kstate *k)
{
    msgpack_packer pk;
    char p[SWMRBUS_PATH_MAX + 1];
    k->dsbuf.len = k->stbuf.len = 0;
    msgpack_packer_init(&pk, &k->dsbuf, swmrbus_buf_write);
    if (msgpack_pack_array(&pk, k->n_ds)) return false;
    for (size_t i = 0; i < k->n_ds; i++) {
        kds *d = &k->ds[i];
        const ksrc *s = d->src >= 0 ? &k->src[d->src] : NULL;
        switch (d->kind) {
        case DS_TRAINID: snprintf(p, sizeof p, "INDEX/trainId"); break;
        case DS_TIMESTAMP: snprintf(p, sizeof p, "INDEX/timestamp"); break;
        case DS_FLAG: snprintf(p, sizeof p, "INDEX/flag"); break;
        case DS_FIRST: index_path(s, d->group, "first", p, sizeof p); break;
        case DS_COUNT: index_path(s, d->group, "count", p, sizeof p); break;
        case DS_KEY: key_path(s, d->key, p, sizeof p); break;
        }
        const char *dt = swmrbus_dtype_name(d->fmt.dtype);
        if (msgpack_pack_map(&pk, 4) || msgpack_pack_str_with_body(&pk, "name", 4) ||
            msgpack_pack_str_with_body(&pk, p, strlen(p)) ||
            msgpack_pack_str_with_body(&pk, "dtype", 5) ||
            msgpack_pack_str_with_body(&pk, dt, strlen(dt)) ||
            msgpack_pack_str_with_body(&pk, "shape", 5) || msgpack_pack_array(&pk, d->fmt.ndim))
            return false;
        for (uint32_t j = 0; j < d->fmt.ndim; j++)
            if (msgpack_pack_uint64(&pk, d->fmt.shape[j])) return false;
        if (msgpack_pack_str_with_body(&pk, "encoding", 8) ||
            msgpack_pack_str_with_body(&pk, "raw", 3))
            return false;
    }
    /* METADATA as European XFEL's format 1.0 has it: one dataSources entry
     * per INSTRUMENT source and group, one per CONTROL source. */
    size_t n_entries = 0;
    for (int i = 0; i < k->n_src; i++)
        n_entries += k->src[i].control ? 1u : (size_t)k->src[i].n_groups;
    char date[32];
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    strftime(date, sizeof date, "%Y%m%dT%H%M%SZ", &tm);
    msgpack_packer_init(&pk, &k->stbuf, swmrbus_buf_write);
    const char *str_keys[][2] = {
        {"METADATA/dataFormatVersion", "1.0"}, {"METADATA/daqLibrary", "swmrbus"},
        {"METADATA/karaboFramework", "karabo-bridge"}, {"METADATA/creationDate", date},
        {"METADATA/updateDate", date}, {"METADATA/runType", ""}, {"METADATA/sample", ""},
    };
    size_t n_str = sizeof str_keys / sizeof str_keys[0];
    if (msgpack_pack_map(&pk, n_str + 3 + 3)) return false;
    for (size_t i = 0; i < n_str; i++)
        if (msgpack_pack_str_with_body(&pk, str_keys[i][0], strlen(str_keys[i][0])) ||
            msgpack_pack_str_with_body(&pk, str_keys[i][1], strlen(str_keys[i][1])))
            return false;
    const char *zero_keys[] = {"METADATA/proposalNumber", "METADATA/runNumber",
                               "METADATA/sequenceNumber"};
    for (size_t i = 0; i < 3; i++)
        if (msgpack_pack_str_with_body(&pk, zero_keys[i], strlen(zero_keys[i])) ||
            msgpack_pack_uint64(&pk, 0))
            return false;
    const char *lists[] = {"METADATA/dataSources/dataSourceId", "METADATA/dataSources/deviceId",
                           "METADATA/dataSources/root"};
    for (int l = 0; l < 3; l++) {
        if (msgpack_pack_str_with_body(&pk, lists[l], strlen(lists[l])) ||
            msgpack_pack_array(&pk, n_entries))
            return false;
        for (int i = 0; i < k->n_src; i++) {
            const ksrc *s = &k->src[i];
            const char *root = s->control ? "CONTROL" : "INSTRUMENT";
            for (int g = 0; g < (s->control ? 1 : s->n_groups); g++) {
                if (l == 0) snprintf(p, sizeof p, "%s/%s%s%s", root, s->name,
                                     s->control ? "" : "/", s->control ? "" : s->groups[g]);
                else snprintf(p, sizeof p, "%s", l == 1 ? s->name : root);
                if (msgpack_pack_str_with_body(&pk, p, strlen(p))) return false;
            }
        }
    }
    return true;
}

static bool emit_header(kstate *k, const swmrbus_header *h, const swmrbus_decode_sink *out,
                        zmq_msg_t *payloads, size_t n)
{
    zmq_msg_t hm;
    if (swmrbus_header_encode(h, NULL, 0, &k->hdr) != SWMRBUS_OK ||
        zmq_msg_init_size(&hm, k->hdr.len) != 0) {
        for (size_t i = 0; i < n; i++) zmq_msg_close(&payloads[i]);
        return false;
    }
    memcpy(zmq_msg_data(&hm), k->hdr.data, k->hdr.len);
    out->emit(out->user, &hm, payloads, n);
    return true;
}

static void end_series(kstate *k, const swmrbus_decode_sink *out)
{
    if (!k->open) return;
    swmrbus_header h;
    memset(&h, 0, sizeof h);
    h.type = SWMRBUS_MSG_END;
    h.series = k->series;
    h.frames = k->last_row + 1;
    h.has_frames = true;
    emit_header(k, &h, out, NULL, 0);
    k->open = false;
}

static bool start_series(kstate *k, kpart *parts, size_t np, uint64_t tid,
                         const swmrbus_decode_sink *out)
{
    end_series(k, out);
    if (!build_series(k, parts, np, out) || !pack_start(k)) {
        reject(k, out, SWMRBUS_R_BAD_HEADER, "train %" PRIu64 ": no dataset to write", tid);
        return false;
    }
    k->series++;
    swmrbus_header h;
    memset(&h, 0, sizeof h);
    h.type = SWMRBUS_MSG_START;
    h.series = k->series;
    h.datasets = (swmrbus_str){(const char *)k->dsbuf.data, k->dsbuf.len};
    h.n_datasets = (uint32_t)k->n_ds;
    h.statics = (swmrbus_str){(const char *)k->stbuf.data, k->stbuf.len};
    k->open = true;
    k->first_tid = tid;
    k->last_tid = tid;
    k->last_row = 0;
    k->late_logged = false;
    if (!emit_header(k, &h, out, NULL, 0)) return false;
    swmrbus_log(SWMRBUS_LOG_INFO, k->name,
                "karabo-bridge: series %" PRIu64 " from train %" PRIu64 ": %d sources, %zu datasets",
                k->series, tid, k->n_src, k->n_ds);
    return true;
}

/* ---- a train's values into the row's payloads ----------------------------- */

static void late(kstate *k, const swmrbus_decode_sink *out, const char *src, swmrbus_str key)
{
    k->late_keys++;
    k->renew = k->renew_on_late;
    if (out->count) out->count(out->user, "late_keys", 1);
    if (!k->late_logged)
        swmrbus_log(SWMRBUS_LOG_WARN, k->name,
                    "karabo-bridge: series %" PRIu64 ": %s %.*s first seen after the file "
                    "opened: not written (late_keys; logged once a series)",
                    k->series, src, (int)(key.len > 80 ? 80 : key.len), key.ptr);
    k->late_logged = true;
}

static bool put_bytes(kstate *k, size_t i, const void *p, size_t n)
{
    if (k->filled[i] || zmq_msg_init_size(&k->out[i], n) != 0) return false;
    memcpy(zmq_msg_data(&k->out[i]), p, n);
    k->filled[i] = true;
    return true;
}

typedef struct fill_ctx {
    const swmrbus_decode_sink *out;
    uint64_t mismatched;
} fill_ctx;

static void fill_scalar(kstate *k, int si, swmrbus_str key, const swmrbus__mp_val *v,
                        void *user)
{
    fill_ctx *fc = user;
    size_t i = find_key(k, si, key);
    if (i == SIZE_MAX) {
        late(k, ((fill_ctx *)user)->out, k->src[si].name, key);
        return;
    }
    const kds *d = &k->ds[i];
    union { uint64_t u; int64_t s; double f; uint8_t b; } x;
    bool ok = true;
    switch (d->fmt.dtype) {
    case SWMRBUS_DTYPE_UINT64:
        ok = v->type == SWMRBUS__MP_UINT;
        x.u = v->u;
        break;
    case SWMRBUS_DTYPE_INT64:
        ok = v->type == SWMRBUS__MP_INT || (v->type == SWMRBUS__MP_UINT && v->u <= INT64_MAX);
        x.s = v->i;
        break;
    case SWMRBUS_DTYPE_FLOAT64:
        ok = v->type == SWMRBUS__MP_FLOAT || v->type == SWMRBUS__MP_UINT ||
             v->type == SWMRBUS__MP_INT;
        x.f = v->type == SWMRBUS__MP_FLOAT ? v->f
              : v->type == SWMRBUS__MP_INT ? (double)v->i
                                           : (double)v->u;
        break;
    case SWMRBUS_DTYPE_UINT8:
        ok = v->type == SWMRBUS__MP_BOOL;
        x.b = v->b;
        break;
    default: ok = false;
    }
    if (!ok || !put_bytes(k, i, &x, (size_t)d->raw)) fc->mismatched++;
}

/* Decodes one train into a frame of the open series (or a new series). */
static void feed(void *state, zmq_msg_t *parts, int n, const swmrbus_decode_sink *out)
{
    kstate *k = state;
    char why[300];
    uint64_t now = swmrbus_mono_ns();
    if (n > SWMRBUS_CODEC_MAX_PARTS) {
        reject(k, out, SWMRBUS_R_LIMIT, "train of %d parts (at most %d)", n,
               SWMRBUS_CODEC_MAX_PARTS);
        return;
    }
    if (n == 1) {
        reject(k, out, SWMRBUS_R_BAD_PAYLOAD,
               "a one-part message (bridge protocol 1.0): not supported, use 2.1 or 2.2");
        return;
    }
    if (n < 2 || n % 2) {
        reject(k, out, SWMRBUS_R_BAD_PAYLOAD, "%d parts: a train is header/payload pairs", n);
        return;
    }
    size_t np = (size_t)n / 2;
    bool has_tid = false;
    uint64_t tid = 0, ts = 0;
    for (size_t i = 0; i < np; i++) {
        bool got = false;
        uint64_t t = 0;
        if (!parse_header(k, &parts[2 * i], &k->parts[i], &got, &t, &ts, why, sizeof why)) {
            reject(k, out, SWMRBUS_R_BAD_HEADER, "train part %zu: %s", 2 * i, why);
            return;
        }
        k->parts[i].payload = &parts[2 * i + 1];
        if (got && !has_tid) tid = t, has_tid = true;
    }
    if (!has_tid) {
        reject(k, out, SWMRBUS_R_BAD_HEADER, "train without metadata timestamp.tid");
        return;
    }
    bool idle = k->open && k->idle_ns && now - k->last_rx_ns >= k->idle_ns;
    bool renew = k->open && k->renew;
    k->renew = false;
    if (!k->open || tid < k->last_tid || tid - k->first_tid >= k->lim.max_frames || idle ||
        renew) {
        if (k->open)
            swmrbus_log(SWMRBUS_LOG_INFO, k->name,
                        "karabo-bridge: train %" PRIu64 " after %" PRIu64 " (%s): a new series",
                        tid, k->last_tid,
                        idle ? "idle" : renew ? "new keys (karabo.new_file_on_new_keys)"
                        : tid < k->last_tid ? "ids jumped back" : "max_frames");
        /* after idle_close_ms the sink closed the series itself: no end */
        if (idle) k->open = false;
        if (!start_series(k, k->parts, np, tid, out)) return;
    }
    k->last_rx_ns = now;
    uint64_t row = tid - k->first_tid;

    /* values */
    memset(k->filled, 0, k->n_ds * sizeof *k->filled);
    for (int s = 0; s < k->n_src; s++) {
        k->src[s].seen = false;
        memset(k->src[s].group_seen, 0, sizeof k->src[s].group_seen);
    }
    fill_ctx fc = {out, 0};
    for (size_t i = 0; i < np; i++) {
        kpart *p = &k->parts[i];
        int si = find_src(k, p->source);
        if (si < 0) {
            late(k, out, "source", p->source);
            continue;
        }
        k->src[si].seen = true;
        if (!p->array) {
            if (!walk_scalars(k, si, p->payload, fill_scalar, &fc, why, sizeof why))
                reject(k, out, SWMRBUS_R_BAD_MSGPACK, "train %" PRIu64 ", source %s: %s", tid,
                       k->src[si].name, why);
            continue;
        }
        size_t di = find_key(k, si, p->path);
        if (di == SIZE_MAX) {
            late(k, out, k->src[si].name, p->path);
            continue;
        }
        kds *d = &k->ds[di];
        size_t len = zmq_msg_size(p->payload);
        if (!p->shape_ok || p->fmt.dtype != d->fmt.dtype || p->fmt.ndim != d->fmt.ndim ||
            memcmp(p->fmt.shape, d->fmt.shape, d->fmt.ndim * sizeof d->fmt.shape[0]) != 0 ||
            len != d->raw || k->filled[di]) {
            reject(k, out, SWMRBUS_R_BAD_PAYLOAD,
                   "train %" PRIu64 ", %s %s: %zu bytes, dtype or shape other than the "
                   "series' (or given twice)",
                   tid, k->src[si].name, d->key, len);
            continue;
        }
        if (swmrbus_msg_slice(&k->out[di], p->payload, zmq_msg_data(p->payload), len) !=
            SWMRBUS_OK)
            continue;
        k->filled[di] = true;
        k->src[si].group_seen[d->group] = true;
    }
    if (fc.mismatched)
        reject(k, out, SWMRBUS_R_BAD_PAYLOAD,
               "train %" PRIu64 ": %" PRIu64 " scalars of another type than the series'", tid,
               fc.mismatched);
    /* a scalar key marks its group present too */
    for (size_t i = 0; i < k->n_ds; i++)
        if (k->ds[i].kind == DS_KEY && k->filled[i]) k->src[k->ds[i].src].group_seen[k->ds[i].group] = true;
    /* index datasets, and zeros where a value is missing */
    for (size_t i = 0; i < k->n_ds; i++) {
        kds *d = &k->ds[i];
        uint64_t v = 0;
        int32_t flag = 1;
        bool present = d->src >= 0 && k->src[d->src].group_seen[d->group];
        switch (d->kind) {
        case DS_TRAINID: put_bytes(k, i, &tid, 8); break;
        case DS_TIMESTAMP: put_bytes(k, i, &ts, 8); break;
        case DS_FLAG: put_bytes(k, i, &flag, 4); break;
        case DS_FIRST:
            v = row;
            put_bytes(k, i, &v, 8);
            break;
        case DS_COUNT:
            v = present ? 1 : 0;
            put_bytes(k, i, &v, 8);
            break;
        case DS_KEY: break;
        }
        if (!k->filled[i]) {
            if (zmq_msg_init_size(&k->out[i], (size_t)d->raw) != 0) {
                for (size_t j = 0; j < k->n_ds; j++)
                    if (j != i && k->filled[j]) zmq_msg_close(&k->out[j]);
                reject(k, out, SWMRBUS_R_LIMIT, "train %" PRIu64 ": out of memory", tid);
                return;
            }
            memset(zmq_msg_data(&k->out[i]), 0, (size_t)d->raw);
            k->filled[i] = true;
        }
    }
    swmrbus_header h;
    memset(&h, 0, sizeof h);
    h.type = SWMRBUS_MSG_FRAME;
    h.series = k->series;
    h.frame = row;
    if (ts) h.ts = ts, h.has_ts = true;
    if (row > k->last_row || k->rows_sent == 0) k->last_row = row;
    if (tid > k->last_tid) k->last_tid = tid;
    k->rows_sent++;
    emit_header(k, &h, out, k->out, k->n_ds);
}

/* ---- life cycle --------------------------------------------------------- */

static void kb_destroy(void **state)
{
    kstate *k = *state;
    if (!k) return;
    free_series(k);
    free(k->ds);
    free(k->parts);
    free(k->out);
    free(k->filled);
    swmrbus_buf_free(&k->hdr);
    swmrbus_buf_free(&k->dsbuf);
    swmrbus_buf_free(&k->stbuf);
    free(k);
    *state = NULL;
}

static swmrbus_err kb_create(const swmrbus_component_cfg *cfg, void **state, char *err,
                             size_t errlen)
{
    kstate *k = calloc(1, sizeof *k);
    *state = NULL;
    if (!k) return SWMRBUS_ENOMEM;
    k->cfg = cfg;
    k->name = cfg->name;
    k->lim = cfg->limits;
    k->idle_ns = cfg->idle_close_ms * 1000000ull;
    k->renew_on_late = cfg->karabo_new_file_on_new_keys;
    k->ds = calloc(SWMRBUS_MAX_DATASETS, sizeof *k->ds);
    k->parts = calloc(SWMRBUS_CODEC_MAX_PARTS / 2 + 1, sizeof *k->parts);
    k->out = calloc(SWMRBUS_MAX_DATASETS, sizeof *k->out);
    k->filled = calloc(SWMRBUS_MAX_DATASETS, sizeof *k->filled);
    if (!k->ds || !k->parts || !k->out || !k->filled) {
        void *p = k;
        kb_destroy(&p);
        snprintf(err, errlen, "karabo-bridge decoder: out of memory");
        return SWMRBUS_ENOMEM;
    }
    *state = k;
    return SWMRBUS_OK;
}

const swmrbus_decoder_vtable swmrbus__codec_karabo = {
    .protocol = KB_PROTOCOL,
    .create = kb_create,
    .feed = feed,
    .request = "next",
    .destroy = kb_destroy,
};
