/* codec_karabo_enc.c — the Karabo bridge encoder (`out.protocol:
 * karabo-bridge` on a source): a series laid out as codec_karabo.c writes
 * it (European XFEL's INDEX / INSTRUMENT / CONTROL paths) back into bridge
 * trains, protocol 2.2 as karabo_bridge's serializer.py writes them: per
 * source (sorted by name) a msgpack header {source, content: "msgpack",
 * metadata} and the map of its scalar keys, then per array key a header
 * {source, content: "array", path, dtype, shape} and the array's bytes (the
 * frame's payload part itself, not copied). A source whose index `count` is
 * 0 in a train is left out of it, as it was missing when received.
 *
 * The sources and keys come from the dataset names of start alone:
 * INDEX/<source>/<group>/count (INSTRUMENT) and INDEX/<source>/count
 * (CONTROL) name the sources; a key dataset belongs to the longest source
 * its path starts with. Datasets that fit nothing are not sent. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <msgpack.h>

#include "mpread.h"
#include "swmrbus/codec.h"

#define MAX_SRC 256

typedef struct eds {
    char *name;
    swmrbus_format fmt;
    int src;           /* key: its source, -1: not a key */
    int count_ds;      /* key: the index count dataset of its group (-1: none) */
    char *key;         /* key: the Karabo key ("data.adc") */
} eds;

typedef struct esrc {
    char *name;
    bool control;
} esrc;

typedef struct estate {
    eds *ds;
    size_t n_ds;
    esrc src[MAX_SRC];
    int n_src;
    int order[MAX_SRC];  /* sources sorted by name */
    long tid_ds, ts_ds;
    zmq_msg_t *out;
    size_t out_cap;
    swmrbus_buf buf;
} estate;

static void clear(estate *e)
{
    for (size_t i = 0; i < e->n_ds; i++) free(e->ds[i].name), free(e->ds[i].key);
    free(e->ds);
    e->ds = NULL;
    e->n_ds = 0;
    for (int i = 0; i < e->n_src; i++) free(e->src[i].name);
    e->n_src = 0;
    e->tid_ds = e->ts_ds = -1;
}

static char *dupn(const char *p, size_t n)
{
    char *s = malloc(n + 1);
    if (s) {
        memcpy(s, p, n);
        s[n] = '\0';
    }
    return s;
}

static int collect(const swmrbus_dataset *d, size_t index, void *user)
{
    estate *e = user;
    e->ds[index].name = dupn(d->name.ptr, d->name.len);
    e->ds[index].fmt = d->format;
    e->ds[index].src = -1;
    e->ds[index].count_ds = -1;
    e->n_ds = index + 1;
    return e->ds[index].name ? 0 : 1;
}

static bool ends_with(const char *s, const char *tail)
{
    size_t n = strlen(s), m = strlen(tail);
    return n >= m && strcmp(s + n - m, tail) == 0;
}

static int find_src(const estate *e, const char *name, size_t len, bool control)
{
    for (int i = 0; i < e->n_src; i++)
        if (e->src[i].control == control && strlen(e->src[i].name) == len &&
            memcmp(e->src[i].name, name, len) == 0)
            return i;
    return -1;
}


/* The series' layout from start.datasets. */
static swmrbus_err learn(estate *e, const swmrbus_header *h, char *why, size_t wl)
{
    clear(e);
    if (h->n_datasets == 0) {
        snprintf(why, wl, "karabo-bridge out: the series has no named datasets");
        return SWMRBUS_EINVAL;
    }
    if (!(e->ds = calloc(h->n_datasets, sizeof *e->ds)) ||
        swmrbus_datasets_foreach(h->datasets, collect, e) != SWMRBUS_OK) {
        snprintf(why, wl, "karabo-bridge out: datasets not read");
        return SWMRBUS_ENOMEM;
    }
    /* sources from the index count datasets */
    for (size_t i = 0; i < e->n_ds; i++) {
        const char *n = e->ds[i].name;
        if (strcmp(n, "INDEX/trainId") == 0 && e->ds[i].fmt.ndim == 0) e->tid_ds = (long)i;
        if (strcmp(n, "INDEX/timestamp") == 0 && e->ds[i].fmt.ndim == 0) e->ts_ds = (long)i;
        if (strncmp(n, "INDEX/", 6) != 0 || !ends_with(n, "/count")) continue;
        const char *x = n + 6;
        size_t xl = strlen(x) - strlen("/count");
        /* INSTRUMENT: <source>/<group>; CONTROL: <source> (no ':'). */
        const char *colon = memchr(x, ':', xl);
        bool control = colon == NULL;
        size_t sl = xl;
        if (!control) {
            const char *slash = NULL;
            for (const char *p = x + xl; p > colon; p--)
                if (*(p - 1) == '/') {
                    slash = p - 1;
                    break;
                }
            if (!slash) continue;
            sl = (size_t)(slash - x);
        }
        if (find_src(e, x, sl, control) < 0 && e->n_src < MAX_SRC) {
            if (!(e->src[e->n_src].name = dupn(x, sl))) return SWMRBUS_ENOMEM;
            e->src[e->n_src].control = control;
            e->n_src++;
        }
    }
    /* keys: the longest source each path starts with */
    char p[SWMRBUS_PATH_MAX + 64];
    for (size_t i = 0; i < e->n_ds; i++) {
        const char *n = e->ds[i].name;
        bool control = strncmp(n, "CONTROL/", 8) == 0;
        if (!control && strncmp(n, "INSTRUMENT/", 11) != 0) continue;
        const char *rest0 = n + (control ? 8 : 11);
        int best = -1;
        size_t best_len = 0;
        for (int s = 0; s < e->n_src; s++) {
            size_t l = strlen(e->src[s].name);
            if (e->src[s].control == control && l > best_len &&
                strncmp(rest0, e->src[s].name, l) == 0 && rest0[l] == '/') {
                best = s;
                best_len = l;
            }
        }
        if (best < 0) continue;
        const char *rest = rest0 + best_len + 1;
        char *key = strdup(rest);
        if (!key) return SWMRBUS_ENOMEM;
        for (char *c = key; *c; c++)
            if (*c == '/') *c = '.';
        if (control) {
            snprintf(p, sizeof p, "INDEX/%s/count", e->src[best].name);
        } else {
            const char *dot = strchr(key, '.');
            size_t gl = dot ? (size_t)(dot - key) : strlen(key);
            snprintf(p, sizeof p, "INDEX/%s/%.*s/count", e->src[best].name, (int)gl, key);
        }
        for (size_t j = 0; j < e->n_ds; j++)
            if (strcmp(e->ds[j].name, p) == 0 && e->ds[j].fmt.ndim == 0) e->ds[i].count_ds = (int)j;
        e->ds[i].src = best;
        e->ds[i].key = key;
    }
    for (int i = 0; i < e->n_src; i++) { /* sorted by name, as the serializer sends */
        int j = i;
        for (; j > 0 && strcmp(e->src[e->order[j - 1]].name, e->src[i].name) > 0; j--)
            e->order[j] = e->order[j - 1];
        e->order[j] = i;
    }
    size_t need = 2 * ((size_t)e->n_src + e->n_ds);
    if (need > e->out_cap) {
        zmq_msg_t *o = realloc(e->out, need * sizeof *o);
        if (!o) return SWMRBUS_ENOMEM;
        e->out = o;
        e->out_cap = need;
    }
    return SWMRBUS_OK;
}

static uint64_t u64_of(zmq_msg_t *m)
{
    uint64_t v = 0;
    if (zmq_msg_size(m) == 8) memcpy(&v, zmq_msg_data(m), 8);
    return v;
}

static bool present(const eds *d, zmq_msg_t *payloads)
{
    return d->count_ds < 0 || u64_of(&payloads[d->count_ds]) > 0;
}

static int pack_scalar(msgpack_packer *pk, const eds *d, zmq_msg_t *m)
{
    const void *p = zmq_msg_data(m);
    union { uint8_t u8; uint16_t u16; uint32_t u32; uint64_t u64; int8_t i8; int16_t i16;
            int32_t i32; int64_t i64; float f; double g; } v;
    memcpy(&v, p, zmq_msg_size(m) < sizeof v ? zmq_msg_size(m) : sizeof v);
    switch (d->fmt.dtype) {
    case SWMRBUS_DTYPE_UINT8: return msgpack_pack_uint8(pk, v.u8);
    case SWMRBUS_DTYPE_UINT16: return msgpack_pack_uint16(pk, v.u16);
    case SWMRBUS_DTYPE_UINT32: return msgpack_pack_uint32(pk, v.u32);
    case SWMRBUS_DTYPE_UINT64: return msgpack_pack_uint64(pk, v.u64);
    case SWMRBUS_DTYPE_INT8: return msgpack_pack_int8(pk, v.i8);
    case SWMRBUS_DTYPE_INT16: return msgpack_pack_int16(pk, v.i16);
    case SWMRBUS_DTYPE_INT32: return msgpack_pack_int32(pk, v.i32);
    case SWMRBUS_DTYPE_INT64: return msgpack_pack_int64(pk, v.i64);
    case SWMRBUS_DTYPE_FLOAT32: return msgpack_pack_double(pk, (double)v.f);
    case SWMRBUS_DTYPE_FLOAT64: return msgpack_pack_double(pk, v.g);
    case SWMRBUS_DTYPE_NONE: break;
    }
    return msgpack_pack_nil(pk);
}

static int pack_cstr(msgpack_packer *pk, const char *s)
{
    return msgpack_pack_str_with_body(pk, s, strlen(s));
}

/* Moves e->buf into out part *k as a new message. */
static bool take_buf(estate *e, size_t *k)
{
    if (zmq_msg_init_size(&e->out[*k], e->buf.len) != 0) return false;
    memcpy(zmq_msg_data(&e->out[*k]), e->buf.data, e->buf.len);
    (*k)++;
    e->buf.len = 0;
    return true;
}

static swmrbus_err encode_frame(estate *e, const swmrbus_header *h, zmq_msg_t *payloads,
                                size_t n, zmq_msg_t **out, size_t *n_out, char *why, size_t wl)
{
    size_t k = 0;
    msgpack_packer pk;
    if (n != e->n_ds || e->tid_ds < 0) {
        snprintf(why, wl, "karabo-bridge out: frame %" PRIu64 " of %zu parts for %zu datasets "
                 "(or no INDEX/trainId)", h->frame, n, e->n_ds);
        return SWMRBUS_EINVAL;
    }
    uint64_t tid = u64_of(&payloads[e->tid_ds]);
    uint64_t ts = e->ts_ds >= 0 ? u64_of(&payloads[e->ts_ds]) : 0;
    msgpack_packer_init(&pk, &e->buf, swmrbus_buf_write);
    for (int oi = 0; oi < e->n_src; oi++) {
        int s = e->order[oi];
        size_t n_scalar = 0, n_keys = 0;
        for (size_t i = 0; i < e->n_ds; i++) {
            const eds *d = &e->ds[i];
            if (d->src != s || !present(d, payloads)) continue;
            n_keys++;
            if (d->fmt.ndim == 0) n_scalar++;
        }
        if (n_keys == 0) continue; /* missing from this train when received */
        char sec[32], frac[32];
        snprintf(sec, sizeof sec, "%" PRIu64, ts / 1000000000u);
        snprintf(frac, sizeof frac, "%09" PRIu64 "000000000", ts % 1000000000u);
        e->buf.len = 0;
        if (msgpack_pack_map(&pk, 3) || pack_cstr(&pk, "source") ||
            pack_cstr(&pk, e->src[s].name) || pack_cstr(&pk, "content") ||
            pack_cstr(&pk, "msgpack") || pack_cstr(&pk, "metadata") ||
            msgpack_pack_map(&pk, ts ? 5 : 2) || pack_cstr(&pk, "source") ||
            pack_cstr(&pk, e->src[s].name) || pack_cstr(&pk, "timestamp.tid") ||
            msgpack_pack_uint64(&pk, tid))
            goto nomem;
        if (ts && (pack_cstr(&pk, "timestamp") || msgpack_pack_double(&pk, (double)ts / 1e9) ||
                   pack_cstr(&pk, "timestamp.sec") || pack_cstr(&pk, sec) ||
                   pack_cstr(&pk, "timestamp.frac") || pack_cstr(&pk, frac)))
            goto nomem;
        if (!take_buf(e, &k)) goto nomem;
        if (msgpack_pack_map(&pk, n_scalar)) goto nomem;
        for (size_t i = 0; i < e->n_ds; i++) {
            const eds *d = &e->ds[i];
            if (d->src != s || d->fmt.ndim != 0 || !present(d, payloads)) continue;
            if (pack_cstr(&pk, d->key) || pack_scalar(&pk, d, &payloads[i])) goto nomem;
        }
        if (!take_buf(e, &k)) goto nomem;
        for (size_t i = 0; i < e->n_ds; i++) {
            const eds *d = &e->ds[i];
            if (d->src != s || d->fmt.ndim == 0 || !present(d, payloads)) continue;
            if (d->fmt.encoding != SWMRBUS_ENC_RAW) {
                snprintf(why, wl, "karabo-bridge out: %s is stored %s, the bridge takes raw "
                         "arrays", d->name, swmrbus_encoding_name(d->fmt.encoding));
                goto fail;
            }
            if (msgpack_pack_map(&pk, 5) || pack_cstr(&pk, "source") ||
                pack_cstr(&pk, e->src[s].name) || pack_cstr(&pk, "content") ||
                pack_cstr(&pk, "array") || pack_cstr(&pk, "path") || pack_cstr(&pk, d->key) ||
                pack_cstr(&pk, "dtype") || pack_cstr(&pk, swmrbus_dtype_name(d->fmt.dtype)) ||
                pack_cstr(&pk, "shape") || msgpack_pack_array(&pk, d->fmt.ndim))
                goto nomem;
            for (uint32_t j = 0; j < d->fmt.ndim; j++)
                if (msgpack_pack_uint64(&pk, d->fmt.shape[j])) goto nomem;
            if (!take_buf(e, &k)) goto nomem;
            zmq_msg_init(&e->out[k]);
            if (zmq_msg_copy(&e->out[k], &payloads[i]) != 0) goto nomem; /* a reference */
            k++;
        }
    }
    *out = e->out;
    *n_out = k;
    return SWMRBUS_OK;
nomem:
    snprintf(why, wl, "karabo-bridge out: out of memory");
fail:
    for (size_t i = 0; i < k; i++) zmq_msg_close(&e->out[i]);
    e->buf.len = 0;
    return SWMRBUS_ENOMEM;
}

static swmrbus_err kbe_encode(void *state, const swmrbus_header *h, zmq_msg_t *payloads,
                              size_t n, zmq_msg_t **out, size_t *n_out, char *why, size_t wl)
{
    estate *e = state;
    *n_out = 0;
    *out = e->out;
    switch (h->type) {
    case SWMRBUS_MSG_START: return learn(e, h, why, wl);
    case SWMRBUS_MSG_FRAME: return encode_frame(e, h, payloads, n, out, n_out, why, wl);
    default: return SWMRBUS_OK; /* end: the bridge has no such message */
    }
}

static swmrbus_err kbe_create(const swmrbus_component_cfg *cfg, void **state, char *err,
                              size_t errlen)
{
    (void)cfg;
    estate *e = calloc(1, sizeof *e);
    if (!e) {
        snprintf(err, errlen, "karabo-bridge encoder: out of memory");
        return SWMRBUS_ENOMEM;
    }
    e->tid_ds = e->ts_ds = -1;
    *state = e;
    return SWMRBUS_OK;
}

static void kbe_destroy(void **state)
{
    estate *e = *state;
    if (!e) return;
    clear(e);
    free(e->out);
    swmrbus_buf_free(&e->buf);
    free(e);
    *state = NULL;
}

const swmrbus_encoder_vtable swmrbus__encoder_karabo = {
    .protocol = "karabo-bridge",
    .create = kbe_create,
    .encode = kbe_encode,
    .destroy = kbe_destroy,
};
