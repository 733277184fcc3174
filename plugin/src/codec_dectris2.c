/* codec_dectris2.c — `in.protocol: dectris-stream2`: Dectris stream v2
 * (one CBOR message per ZeroMQ message: start, image, end; Dectris's
 * documentation repository, stream_v2/README.md and
 * cbor/dectris-compression-tag.md) into wire protocol v1.
 *
 *   start  -> remembered per detector series_id (nothing is emitted yet: the
 *             stream says the element type only with the first image)
 *   image  -> on the series' first image a swmrbus start (dtype from the
 *             typed-array tag, shape [image_size_y, image_size_x], encoding
 *             from tag 56500: bslz4 / lz4, else raw; name series_unique_id or
 *             series_<id>; meta: the NXmx fields of the start message), then
 *             a frame at row image_id - (the series' first image_id) whose
 *             payload is a zero-copy slice of the compressed bytes
 *   end    -> end with frames = highest row + 1
 *
 * The start's pixel_mask / flatfield (per channel) and
 * countrate_correction_lookup_table go out with the swmrbus start as start
 * arrays (README "Start arrays"), zero-copy slices of the start message.
 *
 * CBOR is read with libcbor's streaming decoder (cbor_stream_decode), one
 * item head at a time: nothing is allocated from a length read off the wire,
 * every array/map count is checked against the bytes left, indefinite-length
 * items are refused, nesting is bounded (D2_MAX_DEPTH). */
#include <cbor.h>
#include <jansson.h>
#include <math.h>
#include <msgpack.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swmrbus/codec.h"
#include "codec_dectris.h"
#include "swmrbus/pack.h"

#define D2_MAX_DEPTH 16      /* nesting of CBOR items (tags count as a level) */
#define D2_CHANNEL_MAX SWMRBUS__DX_CHANNEL_MAX
#define D2_MAX_CHANNELS 16   /* threshold_energy / channels entries kept */
#define D2_TAG_MULTIDIM 40   /* RFC 8746 multi-dimensional array, row-major */
#define D2_TAG_COMPRESSED 56500

/* ---- a pull reader over libcbor's streaming decoder ------------------- */

typedef enum tkind {
    T_UINT, T_NEG, T_BYTES, T_TEXT, T_ARRAY, T_MAP, T_TAG, T_FLOAT, T_BOOL, T_NULL,
    T_UNDEF, T_INDEF,
} tkind;

typedef struct tok {
    tkind k;
    uint64_t u;      /* UINT, NEG (the value is -1 - u), ARRAY/MAP count, TAG, BOOL */
    double f;        /* FLOAT */
    const uint8_t *p; /* BYTES / TEXT */
    size_t n;
} tok;

typedef struct rd {
    const uint8_t *buf;
    size_t len, pos;
    char why[200];
} rd;

static void cb_u8(void *c, uint8_t v) { ((tok *)c)->k = T_UINT; ((tok *)c)->u = v; }
static void cb_u16(void *c, uint16_t v) { ((tok *)c)->k = T_UINT; ((tok *)c)->u = v; }
static void cb_u32(void *c, uint32_t v) { ((tok *)c)->k = T_UINT; ((tok *)c)->u = v; }
static void cb_u64(void *c, uint64_t v) { ((tok *)c)->k = T_UINT; ((tok *)c)->u = v; }
static void cb_n8(void *c, uint8_t v) { ((tok *)c)->k = T_NEG; ((tok *)c)->u = v; }
static void cb_n16(void *c, uint16_t v) { ((tok *)c)->k = T_NEG; ((tok *)c)->u = v; }
static void cb_n32(void *c, uint32_t v) { ((tok *)c)->k = T_NEG; ((tok *)c)->u = v; }
static void cb_n64(void *c, uint64_t v) { ((tok *)c)->k = T_NEG; ((tok *)c)->u = v; }
static void cb_bytes(void *c, cbor_data p, size_t n)
{
    tok *t = c;
    t->k = T_BYTES;
    t->p = p;
    t->n = n;
}
static void cb_text(void *c, cbor_data p, size_t n)
{
    tok *t = c;
    t->k = T_TEXT;
    t->p = p;
    t->n = n;
}
static void cb_indef(void *c) { ((tok *)c)->k = T_INDEF; }
static void cb_array(void *c, size_t n) { ((tok *)c)->k = T_ARRAY; ((tok *)c)->u = n; }
static void cb_map(void *c, size_t n) { ((tok *)c)->k = T_MAP; ((tok *)c)->u = n; }
static void cb_tag(void *c, uint64_t v) { ((tok *)c)->k = T_TAG; ((tok *)c)->u = v; }
static void cb_f4(void *c, float v) { ((tok *)c)->k = T_FLOAT; ((tok *)c)->f = v; }
static void cb_f8(void *c, double v) { ((tok *)c)->k = T_FLOAT; ((tok *)c)->f = v; }
static void cb_null(void *c) { ((tok *)c)->k = T_NULL; }
static void cb_undef(void *c) { ((tok *)c)->k = T_UNDEF; }
static void cb_bool(void *c, bool v) { ((tok *)c)->k = T_BOOL; ((tok *)c)->u = v; }

static const struct cbor_callbacks cbs = {
    .uint8 = cb_u8, .uint16 = cb_u16, .uint32 = cb_u32, .uint64 = cb_u64,
    .negint64 = cb_n64, .negint32 = cb_n32, .negint16 = cb_n16, .negint8 = cb_n8,
    .byte_string_start = cb_indef, .byte_string = cb_bytes, .string = cb_text,
    .string_start = cb_indef, .indef_array_start = cb_indef, .array_start = cb_array,
    .indef_map_start = cb_indef, .map_start = cb_map, .tag = cb_tag, .float2 = cb_f4,
    .float4 = cb_f4, .float8 = cb_f8, .undefined = cb_undef, .null = cb_null,
    .boolean = cb_bool, .indef_break = cb_indef,
};

__attribute__((format(printf, 2, 3))) static bool fail(rd *r, const char *fmt, ...)
{
    if (r->why[0]) return false; /* the first reason stays */
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(r->why, sizeof r->why, fmt, ap);
    va_end(ap);
    return false;
}

/* The next item head; arrays and maps must fit the bytes left (each item
 * takes at least one byte). */
static bool next(rd *r, tok *t)
{
    if (r->why[0]) return false;
    if (r->pos >= r->len) return fail(r, "truncated CBOR: the message ends inside an item");
    memset(t, 0, sizeof *t);
    struct cbor_decoder_result res = cbor_stream_decode(r->buf + r->pos, r->len - r->pos, &cbs, t);
    if (res.status == CBOR_DECODER_NEDATA)
        return fail(r, "truncated CBOR at byte %zu (a length beyond the message)", r->pos);
    if (res.status != CBOR_DECODER_FINISHED || res.read == 0)
        return fail(r, "malformed CBOR at byte %zu", r->pos);
    size_t at = r->pos;
    r->pos += res.read;
    size_t left = r->len - r->pos;
    if (t->k == T_INDEF) return fail(r, "indefinite-length item at byte %zu (refused)", at);
    if (t->k == T_ARRAY && t->u > left)
        return fail(r, "array of %llu items at byte %zu: beyond the message",
                    (unsigned long long)t->u, at);
    if (t->k == T_MAP && t->u > left / 2)
        return fail(r, "map of %llu pairs at byte %zu: beyond the message",
                    (unsigned long long)t->u, at);
    return true;
}

/* Skips what the item t (already read) contains. */
static bool skip_rest(rd *r, const tok *t, unsigned depth)
{
    if (depth > D2_MAX_DEPTH) return fail(r, "CBOR nested deeper than %d", D2_MAX_DEPTH);
    uint64_t items = t->k == T_ARRAY ? t->u : t->k == T_MAP ? 2 * t->u : t->k == T_TAG ? 1 : 0;
    for (uint64_t i = 0; i < items; i++) {
        tok c;
        if (!next(r, &c) || !skip_rest(r, &c, depth + 1)) return false;
    }
    return true;
}

static bool skip(rd *r, unsigned depth)
{
    tok t;
    return next(r, &t) && skip_rest(r, &t, depth);
}

#define printable swmrbus__dx_printable

static bool text_is(const tok *t, const char *s)
{
    size_t n = strlen(s);
    return t->k == T_TEXT && t->n == n && memcmp(t->p, s, n) == 0;
}

static bool want_uint(rd *r, const char *key, uint64_t *v)
{
    tok t;
    if (!next(r, &t)) return false;
    if (t.k != T_UINT) return fail(r, "%s: expected an unsigned integer", key);
    *v = t.u;
    return true;
}

/* ---- the decoder's state ---------------------------------------------- */

typedef struct d2_state {
    swmrbus__dx dx; /* series, start, frame, end: codec_dectris_common.c */
} d2_state;

/* ---- start ------------------------------------------------------------- */

typedef swmrbus__dx_meta metab;
#define m_key swmrbus__dx_meta_key

/* start keys kept as NXmx detector fields (meta), by their NXmx name */
typedef enum mkind { M_FLOAT, M_STR, M_BOOL, M_INT } mkind;
static const struct {
    const char *key, *nx;
    mkind kind;
} start_fields[] = {
    {"beam_center_x", "beam_center_x", M_FLOAT},
    {"beam_center_y", "beam_center_y", M_FLOAT},
    {"count_time", "count_time", M_FLOAT},
    {"frame_time", "frame_time", M_FLOAT},
    {"sensor_thickness", "sensor_thickness", M_FLOAT},
    {"pixel_size_x", "x_pixel_size", M_FLOAT},
    {"pixel_size_y", "y_pixel_size", M_FLOAT},
    {"incident_wavelength", "incident_wavelength", M_FLOAT},
    {"incident_energy", "incident_energy", M_FLOAT},
    {"detector_description", "description", M_STR},
    {"detector_serial_number", "serial_number", M_STR},
    {"sensor_material", "sensor_material", M_STR},
    {"countrate_correction_enabled", "countrate_correction_applied", M_BOOL},
    {"flatfield_enabled", "flatfield_applied", M_BOOL},
    {"pixel_mask_enabled", "pixel_mask_applied", M_BOOL},
    {"virtual_pixel_interpolation_enabled", "virtual_pixel_correction_applied", M_BOOL},
    {"saturation_value", "saturation_value", M_INT},
};

static bool as_number(const tok *t, double *v)
{
    if (t->k == T_FLOAT) *v = t->f;
    else if (t->k == T_UINT) *v = (double)t->u;
    else if (t->k == T_NEG) *v = -1.0 - (double)t->u;
    else return false;
    return true;
}

/* One known metadata value (already a key of start_fields): a wrong type is
 * skipped, never fatal. */
static bool start_field(rd *r, metab *m, size_t f)
{
    tok t;
    double d;
    if (!next(r, &t)) return false;
    switch (start_fields[f].kind) {
    case M_FLOAT:
        if (!as_number(&t, &d)) break;
        m_key(m, start_fields[f].nx);
        m->e |= msgpack_pack_double(&m->pk, d);
        return true;
    case M_STR:
        if (t.k != T_TEXT) break;
        m_key(m, start_fields[f].nx);
        m->e |= msgpack_pack_str_with_body(&m->pk, t.p, t.n);
        return true;
    case M_BOOL:
        if (t.k != T_BOOL) break;
        m_key(m, start_fields[f].nx);
        m->e |= t.u ? msgpack_pack_true(&m->pk) : msgpack_pack_false(&m->pk);
        return true;
    case M_INT:
        if (t.k == T_UINT) {
            m_key(m, start_fields[f].nx);
            m->e |= msgpack_pack_uint64(&m->pk, t.u);
            return true;
        }
        if (t.k == T_NEG && t.u < (uint64_t)INT64_MAX) {
            m_key(m, start_fields[f].nx);
            m->e |= msgpack_pack_int64(&m->pk, -1 - (int64_t)t.u);
            return true;
        }
        break;
    }
    return skip_rest(r, &t, 1);
}

static bool channel_ok(const tok *t);

/* threshold_energy: {channel: eV}: a float (one channel) or an array in map
 * order (several); each channel's also into th. */
typedef struct thresholds {  /* per channel, for <channel>_channel/threshold_energy */
    char name[D2_MAX_CHANNELS][D2_CHANNEL_MAX + 1];
    double e[D2_MAX_CHANNELS];
    size_t n;
} thresholds;

static bool start_thresholds(rd *r, metab *m, thresholds *th)
{
    tok t, k, v;
    double e[D2_MAX_CHANNELS];
    size_t n = 0;
    if (!next(r, &t)) return false;
    if (t.k != T_MAP) return skip_rest(r, &t, 1);
    for (uint64_t i = 0; i < t.u; i++) {
        if (!next(r, &k) || !skip_rest(r, &k, 2) || !next(r, &v)) return false;
        double d;
        if (as_number(&v, &d) && n < D2_MAX_CHANNELS) {
            e[n++] = d;
            if (channel_ok(&k) && th->n < D2_MAX_CHANNELS) {
                snprintf(th->name[th->n], sizeof th->name[0], "%.*s", (int)k.n,
                         (const char *)k.p);
                th->e[th->n++] = d;
            }
        } else if (!skip_rest(r, &v, 2)) {
            return false;
        }
    }
    if (n == 0) return true;
    m_key(m, "threshold_energy");
    if (n == 1) {
        m->e |= msgpack_pack_double(&m->pk, e[0]);
    } else {
        m->e |= msgpack_pack_array(&m->pk, n);
        for (size_t i = 0; i < n; i++) m->e |= msgpack_pack_double(&m->pk, e[i]);
    }
    return true;
}

/* goniometer: {axis: {start, increment}} -> goniometer_<axis>_start, ... */
static bool start_goniometer(rd *r, metab *m)
{
    tok t, ax, g, k, v;
    if (!next(r, &t)) return false;
    if (t.k != T_MAP) return skip_rest(r, &t, 1);
    for (uint64_t i = 0; i < t.u; i++) {
        if (!next(r, &ax)) return false;
        if (ax.k != T_TEXT || ax.n > 64) {
            if (!skip_rest(r, &ax, 2) || !skip(r, 2)) return false;
            continue;
        }
        if (!next(r, &g)) return false;
        if (g.k != T_MAP) {
            if (!skip_rest(r, &g, 2)) return false;
            continue;
        }
        for (uint64_t j = 0; j < g.u; j++) {
            double d;
            if (!next(r, &k) || !skip_rest(r, &k, 3) || !next(r, &v)) return false;
            if ((text_is(&k, "start") || text_is(&k, "increment")) && as_number(&v, &d)) {
                char key[96];
                snprintf(key, sizeof key, "goniometer_%.*s_%.*s", (int)ax.n,
                         (const char *)ax.p, (int)k.n, (const char *)k.p);
                m_key(m, key);
                m->e |= msgpack_pack_double(&m->pk, d);
            } else if (!skip_rest(r, &v, 3)) {
                return false;
            }
        }
    }
    return true;
}

/* detector_translation: [x, y, z] floats (at most D2_MAX_CHANNELS kept). */
static bool start_translation(rd *r, metab *m)
{
    tok t, v;
    double e[D2_MAX_CHANNELS];
    size_t n = 0;
    if (!next(r, &t)) return false;
    if (t.k != T_ARRAY) return skip_rest(r, &t, 1);
    for (uint64_t i = 0; i < t.u; i++) {
        double d;
        if (!next(r, &v)) return false;
        if (as_number(&v, &d) && n < D2_MAX_CHANNELS) e[n++] = d;
        else if (!skip_rest(r, &v, 2)) return false;
    }
    m_key(m, "detector_translation");
    m->e |= msgpack_pack_array(&m->pk, n);
    for (size_t i = 0; i < n; i++) m->e |= msgpack_pack_double(&m->pk, e[i]);
    return true;
}

/* ---- user_data: CBOR -> JSON (jansson) ----------------------------------- */

/* One item as JSON: maps with text keys (others dropped), arrays, text,
 * numbers, bool, null; byte strings become null (binary is not carried),
 * a tag is its content. NULL on a reader error or out of memory. */
static json_t *to_json(rd *r, unsigned depth)
{
    tok t;
    if (depth > D2_MAX_DEPTH) {
        fail(r, "CBOR nested deeper than %d", D2_MAX_DEPTH);
        return NULL;
    }
    if (!next(r, &t)) return NULL;
    switch (t.k) {
    case T_UINT:
        return t.u <= (uint64_t)INT64_MAX ? json_integer((json_int_t)t.u) : json_real((double)t.u);
    case T_NEG:
        return t.u < (uint64_t)INT64_MAX ? json_integer(-1 - (json_int_t)t.u)
                                         : json_real(-1.0 - (double)t.u);
    case T_FLOAT: return t.f == t.f && t.f - t.f == 0 ? json_real(t.f) : json_null();
    case T_BOOL: return json_boolean(t.u);
    case T_TEXT: {
        json_t *j = json_stringn((const char *)t.p, t.n);
        return j ? j : json_null(); /* not UTF-8 */
    }
    case T_TAG: return to_json(r, depth + 1);
    case T_ARRAY: {
        json_t *a = json_array();
        for (uint64_t i = 0; a && i < t.u; i++) {
            json_t *v = to_json(r, depth + 1);
            if (!v || json_array_append_new(a, v) != 0) {
                json_decref(a);
                return NULL;
            }
        }
        return a;
    }
    case T_MAP: {
        json_t *o = json_object();
        for (uint64_t i = 0; o && i < t.u; i++) {
            tok k;
            if (!next(r, &k)) goto bad;
            if (k.k != T_TEXT) {
                if (!skip_rest(r, &k, depth + 1) || !skip(r, depth + 1)) goto bad;
                continue;
            }
            json_t *v = to_json(r, depth + 1);
            if (!v) goto bad;
            json_object_setn_new(o, (const char *)k.p, k.n, v); /* a bad key: dropped */
        }
        return o;
    bad:
        json_decref(o);
        return NULL;
    }
    default: return json_null();
    }
}

/* start.user_data: kept as a JSON text when its CBOR is at most
 * SWMRBUS__DX_USER_DATA_MAX bytes (so converting it is bounded), else
 * skipped. */
static bool start_user_data(rd *r, metab *m)
{
    size_t at = r->pos;
    if (!skip(r, 1)) return false;
    if (r->pos - at > SWMRBUS__DX_USER_DATA_MAX) return true;
    size_t end = r->pos;
    r->pos = at;
    json_t *j = to_json(r, 1);
    if (!j) return false;
    char *text = json_dumps(j, JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    if (text) swmrbus__dx_meta_user_data(m, text, strlen(text));
    free(text);
    r->pos = end;
    return true;
}

static bool start_arrays(d2_state *s, rd *r, swmrbus__dx_series *se, const char *what,
                         zmq_msg_t *part);
static bool start_countrate(d2_state *s, rd *r, swmrbus__dx_series *se, zmq_msg_t *part);
static bool channel_ok(const tok *t);

static void on_start(d2_state *s, rd *r, size_t n_pairs, zmq_msg_t *part,
                     const swmrbus_decode_sink *out)
{
    swmrbus__dx_series se;
    memset(&se, 0, sizeof se);
    thresholds th;
    th.n = 0;
    bool has_id = false;
    const uint8_t *uniq = NULL;
    size_t uniq_len = 0;
    metab m;
    swmrbus__dx_meta_begin(&s->dx, &m);

    for (size_t i = 0; i < n_pairs; i++) {
        tok k, v;
        if (!next(r, &k)) goto bad;
        if (k.k != T_TEXT) {
            fail(r, "start: a key that is not a text string");
            goto bad;
        }
        size_t f;
        for (f = 0; f < sizeof start_fields / sizeof start_fields[0]; f++)
            if (text_is(&k, start_fields[f].key)) break;
        bool ok;
        if (f < sizeof start_fields / sizeof start_fields[0]) {
            ok = start_field(r, &m, f);
        } else if (text_is(&k, "series_id")) {
            ok = has_id = want_uint(r, "start.series_id", &se.id);
        } else if (text_is(&k, "image_size_x")) {
            ok = want_uint(r, "start.image_size_x", &se.size_x);
        } else if (text_is(&k, "image_size_y")) {
            ok = want_uint(r, "start.image_size_y", &se.size_y);
        } else if (text_is(&k, "number_of_images")) {
            ok = se.has_frames = want_uint(r, "start.number_of_images", &se.frames);
        } else if (text_is(&k, "series_unique_id")) {
            ok = next(r, &v);
            if (ok && v.k == T_TEXT) {
                uniq = v.p;
                uniq_len = v.n;
            } else if (ok) {
                ok = skip_rest(r, &v, 1);
            }
        } else if (text_is(&k, "channels")) {
            ok = next(r, &v);
            if (ok && v.k != T_ARRAY) {
                ok = fail(r, "start.channels: expected an array of text strings");
            }
            for (uint64_t c = 0; ok && c < v.u; c++) {
                tok ch;
                ok = next(r, &ch);
                if (ok && ch.k != T_TEXT)
                    ok = fail(r, "start.channels: expected an array of text strings");
                if (ok && !channel_ok(&ch))
                    ok = fail(r, "start.channels: a name of 1 to %d bytes without '/' or "
                              "control characters", D2_CHANNEL_MAX);
                if (ok && c < SWMRBUS__DX_CHANNELS_MAX) {
                    snprintf(se.channel[c], sizeof se.channel[c], "%.*s", (int)ch.n,
                             (const char *)ch.p);
                    for (uint64_t o = 0; o < c; o++)
                        if (strcmp(se.channel[o], se.channel[c]) == 0)
                            ok = fail(r, "start.channels: a name given twice");
                }
            }
            se.n_channels = ok ? (size_t)v.u : 0;
        } else if (text_is(&k, "arm_date")) {
            /* DateTime: tag 0 + text (a bare text taken too) */
            ok = next(r, &v);
            if (ok && v.k == T_TAG && v.u == 0) ok = next(r, &v);
            if (ok && v.k == T_TEXT && v.n <= 64) {
                m_key(&m, "arm_date");
                m.e |= msgpack_pack_str_with_body(&m.pk, v.p, v.n);
            } else if (ok) {
                ok = skip_rest(r, &v, 1);
            }
        } else if (text_is(&k, "threshold_energy")) {
            ok = start_thresholds(r, &m, &th);
        } else if (text_is(&k, "goniometer")) {
            ok = start_goniometer(r, &m);
        } else if (text_is(&k, "detector_translation")) {
            ok = start_translation(r, &m);
        } else if (text_is(&k, "user_data")) {
            ok = start_user_data(r, &m);
        } else if (text_is(&k, "pixel_mask") || text_is(&k, "flatfield")) {
            ok = start_arrays(s, r, &se, text_is(&k, "flatfield") ? "flatfield" : "pixel_mask",
                              part);
        } else if (text_is(&k, "countrate_correction_lookup_table")) {
            ok = start_countrate(s, r, &se, part);
        } else {
            /* type (read before) and unknown keys: skipped */
            ok = skip(r, 1);
        }
        if (!ok) goto bad;
    }
    if (r->pos != r->len) {
        fail(r, "%zu bytes after the message", r->len - r->pos);
        goto bad;
    }
    if (!has_id) {
        fail(r, "start without series_id");
        goto bad;
    }
    if (se.size_x == 0 || se.size_y == 0) {
        swmrbus__dx_arrays_free(&se);
        out->reject(out->user, SWMRBUS_R_BAD_HEADER, true, se.id,
                    "dectris-stream2: start without image_size_x / image_size_y >= 1");
        return;
    }
    /* several channels: each one's threshold_energy in <channel>_channel
     * (Dectris's NXmx 2024.02 layout), as a start array */
    for (size_t i = 0; se.n_channels > 1 && i < th.n; i++)
        for (size_t c = 0; c < se.n_channels && c < SWMRBUS__DX_CHANNELS_MAX; c++)
            if (strcmp(th.name[i], se.channel[c]) == 0)
                (void)swmrbus__dx_array_f64(&se, "threshold_energy", th.name[i], th.e[i]);
    swmrbus__dx_open(&s->dx, &se, &m, uniq, uniq_len, out);
    return;
bad:;
    swmrbus__dx_arrays_free(&se);
    char why[240];
    snprintf(why, sizeof why, "dectris-stream2: start: %s", r->why);
    out->reject(out->user, SWMRBUS_R_BAD_HEADER, has_id, se.id, why);
}

/* ---- image ------------------------------------------------------------- */

/* RFC 8746 typed-array tag -> dtype (little-endian and one-byte types only). */
static swmrbus_dtype tag_dtype(uint64_t tag)
{
    switch (tag) {
    case 64: case 68: return SWMRBUS_DTYPE_UINT8;
    case 69: return SWMRBUS_DTYPE_UINT16;
    case 70: return SWMRBUS_DTYPE_UINT32;
    case 71: return SWMRBUS_DTYPE_UINT64;
    case 72: return SWMRBUS_DTYPE_INT8;
    case 77: return SWMRBUS_DTYPE_INT16;
    case 78: return SWMRBUS_DTYPE_INT32;
    case 79: return SWMRBUS_DTYPE_INT64;
    case 85: return SWMRBUS_DTYPE_FLOAT32;
    case 86: return SWMRBUS_DTYPE_FLOAT64;
    default: return SWMRBUS_DTYPE_NONE;
    }
}

typedef struct image {
    swmrbus_format f;
    uint64_t dims[2];
    const uint8_t *data;
    size_t len;
    uint64_t elem_size;
    swmrbus_reason reason; /* when the data are not acceptable */
} image;

/* tag 40 [[y, x], typed array]; typed array = tag + (bytes | tag 56500
 * ["bslz4"|"lz4", modifier, bytes]). */
static bool read_multidim(rd *r, image *im)
{
    tok t;
    if (!next(r, &t)) return false;
    if (t.k != T_TAG || t.u != D2_TAG_MULTIDIM)
        return fail(r, "image.data: expected a row-major multi-dimensional array (tag 40)");
    if (!next(r, &t)) return false;
    if (t.k != T_ARRAY || t.u != 2) return fail(r, "image.data: tag 40 needs [dims, array]");
    if (!next(r, &t)) return false;
    if (t.k != T_ARRAY || t.u != 2) return fail(r, "image.data: dims must be [y, x]");
    for (int i = 0; i < 2; i++)
        if (!want_uint(r, "image.data dims", &im->dims[i])) return false;
    if (!next(r, &t)) return false;
    if (t.k != T_TAG) return fail(r, "image.data: expected a typed array (RFC 8746 tag)");
    im->f.dtype = tag_dtype(t.u);
    if (im->f.dtype == SWMRBUS_DTYPE_NONE)
        return fail(r, "image.data: typed array tag %llu: not a little-endian integer or "
                    "float32/64 type", (unsigned long long)t.u);
    if (!next(r, &t)) return false;
    if (t.k == T_BYTES) {
        im->f.encoding = SWMRBUS_ENC_RAW;
        im->data = t.p;
        im->len = t.n;
        return true;
    }
    if (t.k != T_TAG || t.u != D2_TAG_COMPRESSED)
        return fail(r, "image.data: expected a byte string or tag 56500 in the typed array");
    if (!next(r, &t)) return false;
    if (t.k != T_ARRAY || t.u != 3)
        return fail(r, "image.data: tag 56500 needs [algorithm, modifier, bytes]");
    if (!next(r, &t)) return false;
    if (text_is(&t, "bslz4")) im->f.encoding = SWMRBUS_ENC_BSLZ4;
    else if (text_is(&t, "lz4")) im->f.encoding = SWMRBUS_ENC_LZ4;
    else if (t.k == T_TEXT) {
        char name[33];
        return fail(r, "image.data: compression \"%s\" not supported (bslz4, lz4)",
                    printable(name, sizeof name, t.p, t.n));
    }
    else return fail(r, "image.data: tag 56500 algorithm is not a text string");
    if (!want_uint(r, "image.data tag 56500 modifier", &im->elem_size)) return false;
    if (!next(r, &t)) return false;
    if (t.k != T_BYTES) return fail(r, "image.data: tag 56500 data is not a byte string");
    im->data = t.p;
    im->len = t.n;
    return true;
}

/* A channel name the file can hold (README "Channels"). */
static bool channel_ok(const tok *t)
{
    if (t->k != T_TEXT || t->n == 0 || t->n > D2_CHANNEL_MAX) return false;
    for (size_t i = 0; i < t->n; i++)
        if (t->p[i] < 0x20 || t->p[i] == 0x7f || t->p[i] == '/') return false;
    return !(t->n == 1 && t->p[0] == '.') && !(t->n == 2 && t->p[0] == '.' && t->p[1] == '.');
}

/* start.pixel_mask / start.flatfield: {channel: tag 40 [[y, x], typed
 * array]}; each uncompressed one of y * x elements is kept as a slice of
 * part (README "Start arrays"), others are skipped. */
static bool start_arrays(d2_state *s, rd *r, swmrbus__dx_series *se, const char *what,
                         zmq_msg_t *part)
{
    tok v, ch;
    if (!next(r, &v)) return false;
    if (v.k != T_MAP) return skip_rest(r, &v, 1);
    for (uint64_t c = 0; c < v.u; c++) {
        if (!next(r, &ch)) return false;
        if (ch.k != T_TEXT) return fail(r, "start.%s: a channel name is not text", what);
        char name[D2_CHANNEL_MAX + 1];
        snprintf(name, sizeof name, "%.*s", (int)(ch.n > D2_CHANNEL_MAX ? D2_CHANNEL_MAX : ch.n),
                 (const char *)ch.p);
        image im;
        memset(&im, 0, sizeof im);
        if (!read_multidim(r, &im)) return false;
        if (im.f.encoding == SWMRBUS_ENC_RAW && memchr(ch.p, '\0', ch.n) == NULL)
            (void)swmrbus__dx_array_add(&s->dx, se, what, name, im.f.dtype, im.dims[0],
                                        im.dims[1], part, im.data, im.len);
    }
    return true;
}

/* start.countrate_correction_lookup_table: a TypedArray (RFC 8746 tag +
 * byte string), kept as a slice of part and written where Dectris's NXmx
 * 2024.02 file writer has it, /entry/instrument/detector/
 * countrate_correction_lookup_table (1-D, its dtype); a compressed or
 * big-endian one, or one over limits.max_frame_bytes, is skipped. */
static bool start_countrate(d2_state *s, rd *r, swmrbus__dx_series *se, zmq_msg_t *part)
{
    tok t, b;
    if (!next(r, &t)) return false;
    if (t.k != T_TAG) return skip_rest(r, &t, 1);
    swmrbus_dtype dt = tag_dtype(t.u);
    if (!next(r, &b)) return false;
    if (b.k != T_BYTES) return skip_rest(r, &b, 2);
    size_t isz = swmrbus_dtype_size(dt);
    if (isz && b.n % isz == 0 && b.n > 0) {
        uint64_t n = b.n / isz;
        (void)swmrbus__dx_array_det(&s->dx, se, "countrate_correction_lookup_table", dt, 1, &n,
                                    part, b.p, b.n);
    }
    return true;
}

static void on_image(d2_state *s, rd *r, size_t n_pairs, zmq_msg_t *part,
                     const swmrbus_decode_sink *out)
{
    image ims[D2_MAX_CHANNELS];
    char channel[D2_MAX_CHANNELS][D2_CHANNEL_MAX + 1];
    memset(ims, 0, sizeof ims);
    uint64_t id = 0, image_id = 0;
    bool has_id = false, has_image = false, has_data = false;
    size_t n_channels = 0;
    uint64_t t_num = 0, t_den = 0, date_ns = 0;
    bool has_time = false, has_date = false;
    double times[3] = {NAN, NAN, NAN};
    char why[240];

    for (size_t i = 0; i < n_pairs; i++) {
        tok k, v;
        bool ok;
        if (!next(r, &k)) goto bad;
        if (k.k != T_TEXT) {
            fail(r, "image: a key that is not a text string");
            goto bad;
        }
        if (text_is(&k, "series_id")) {
            ok = has_id = want_uint(r, "image.series_id", &id);
        } else if (text_is(&k, "image_id")) {
            ok = has_image = want_uint(r, "image.image_id", &image_id);
        } else if (text_is(&k, "data")) {
            ok = next(r, &v);
            if (ok && v.k != T_MAP) ok = fail(r, "image.data: expected a map of channels");
            n_channels = ok ? (size_t)v.u : 0;
            for (uint64_t c = 0; ok && c < v.u; c++) {
                tok ch;
                ok = next(r, &ch);
                if (ok && ch.k != T_TEXT) ok = fail(r, "image.data: a channel name is not text");
                if (ok && c < D2_MAX_CHANNELS) {
                    snprintf(channel[c], sizeof channel[c], "%.*s",
                             (int)(ch.n > D2_CHANNEL_MAX ? D2_CHANNEL_MAX : ch.n),
                             (const char *)ch.p);
                    ok = read_multidim(r, &ims[c]);
                } else if (ok) {
                    ok = skip(r, 2);
                }
            }
            has_data = ok && n_channels >= 1;
        } else if (text_is(&k, "start_time") || text_is(&k, "stop_time") ||
                   text_is(&k, "real_time")) {
            /* Rational [num, den] s (start_time after series_date: the
             * frame's ts); each also one of the frame's times */
            int w = text_is(&k, "start_time") ? 0 : text_is(&k, "stop_time") ? 1 : 2;
            uint64_t num = 0, den = 0;
            ok = next(r, &v);
            if (ok && v.k == T_ARRAY && v.u == 2) {
                ok = want_uint(r, "image time", &num) && want_uint(r, "image time", &den);
                if (ok && den) times[w] = (double)num / (double)den;
                if (ok && w == 0) {
                    t_num = num;
                    t_den = den;
                    has_time = true;
                }
            } else if (ok) {
                ok = skip_rest(r, &v, 1);
            }
        } else if (text_is(&k, "series_date")) {
            ok = next(r, &v);
            if (ok && v.k == T_TAG && v.u == 0) ok = next(r, &v);
            if (ok && v.k == T_TEXT)
                has_date = swmrbus__dx_rfc3339((const char *)v.p, v.n, &date_ns);
            else if (ok)
                ok = skip_rest(r, &v, 1);
        } else {
            /* type, series_unique_id, user_data, unknown keys */
            ok = skip(r, 1);
        }
        if (!ok) goto bad;
    }
    if (r->pos != r->len) {
        fail(r, "%zu bytes after the message", r->len - r->pos);
        goto bad;
    }
    if (!has_id || !has_image || !has_data) {
        fail(r, "image without series_id, image_id or data");
        goto bad;
    }
    swmrbus__dx_series *se = swmrbus__dx_find(&s->dx, id);
    if (!se) {
        out->reject(out->user, SWMRBUS_R_BAD_HEADER, true, id,
                    "dectris-stream2: image for a series with no start (or ended)");
        return;
    }
    size_t want = se->n_channels > 1 ? se->n_channels : 1;
    if (n_channels != want) {
        snprintf(why, sizeof why, "dectris-stream2: image of %zu channels, the start said %zu",
                 n_channels, want);
        out->reject(out->user, SWMRBUS_R_MISMATCH, true, id, why);
        return;
    }
    /* the payloads in the start's channel order; each channel once, all of
     * one format */
    size_t at[D2_MAX_CHANNELS];
    for (size_t c = 0; c < want; c++) {
        size_t k = 0;
        if (se->channel[0][0]) /* the start named them */
            while (k < want && strcmp(channel[k], se->channel[c]) != 0) k++;
        if (k == want) {
            char b[D2_CHANNEL_MAX + 1];
            snprintf(why, sizeof why, "dectris-stream2: image without channel \"%s\" of the "
                     "start", printable(b, sizeof b, (const uint8_t *)se->channel[c],
                                        strlen(se->channel[c])));
            out->reject(out->user, SWMRBUS_R_MISMATCH, true, id, why);
            return;
        }
        at[c] = k;
        image *im = &ims[k];
        if (im->f.encoding == SWMRBUS_ENC_BSLZ4 &&
            im->elem_size != swmrbus_dtype_size(im->f.dtype)) {
            snprintf(why, sizeof why, "dectris-stream2: bslz4 element size %llu, the typed "
                     "array holds %s", (unsigned long long)im->elem_size,
                     swmrbus_dtype_name(im->f.dtype));
            out->reject(out->user, SWMRBUS_R_BAD_PAYLOAD, true, id, why);
            return;
        }
        im->f.ndim = 2;
        im->f.shape[0] = im->dims[0];
        im->f.shape[1] = im->dims[1];
        if (!swmrbus_format_equal(&im->f, &ims[at[0]].f)) {
            snprintf(why, sizeof why, "dectris-stream2: the image's channels differ in dtype, "
                     "encoding or shape");
            out->reject(out->user, SWMRBUS_R_MISMATCH, true, id, why);
            return;
        }
    }
    zmq_msg_t pl[D2_MAX_CHANNELS];
    for (size_t c = 0; c < want; c++) {
        if (swmrbus_msg_slice(&pl[c], part, ims[at[c]].data, ims[at[c]].len) != SWMRBUS_OK) {
            for (size_t o = 0; o < c; o++) zmq_msg_close(&pl[o]);
            out->reject(out->user, SWMRBUS_R_LIMIT, true, id, "dectris-stream2: out of memory");
            return;
        }
    }
    uint64_t ts = has_time && has_date ? swmrbus__dx_add_rational(date_ns, t_num, t_den) : 0;
    /* the slices: no copy */
    swmrbus__dx_image_ts(&s->dx, se, ims[at[0]].f, image_id, ts, times, pl, want, out);
    return;
bad:
    snprintf(why, sizeof why, "dectris-stream2: image: %s", r->why);
    out->reject(out->user, SWMRBUS_R_BAD_HEADER, has_id, id, why);
}

/* ---- end --------------------------------------------------------------- */

static void on_end(d2_state *s, rd *r, size_t n_pairs, const swmrbus_decode_sink *out)
{
    uint64_t id = 0;
    bool has_id = false;
    for (size_t i = 0; i < n_pairs; i++) {
        tok k;
        if (!next(r, &k)) goto bad;
        if (k.k != T_TEXT) {
            fail(r, "end: a key that is not a text string");
            goto bad;
        }
        bool ok = text_is(&k, "series_id") ? (has_id = want_uint(r, "end.series_id", &id))
                                           : skip(r, 1);
        if (!ok) goto bad;
    }
    if (r->pos != r->len) {
        fail(r, "%zu bytes after the message", r->len - r->pos);
        goto bad;
    }
    if (!has_id) {
        fail(r, "end without series_id");
        goto bad;
    }
    swmrbus__dx_end(&s->dx, id, out);
    return;
bad:;
    char why[240];
    snprintf(why, sizeof why, "dectris-stream2: end: %s", r->why);
    out->reject(out->user, SWMRBUS_R_BAD_HEADER, has_id, id, why);
}

/* ---- the vtable -------------------------------------------------------- */

static swmrbus_err d2_create(const swmrbus_component_cfg *cfg, void **state, char *err,
                             size_t errlen)
{
    d2_state *s = calloc(1, sizeof *s);
    if (!s) return SWMRBUS_ENOMEM;
    swmrbus_err rc = swmrbus__dx_init(&s->dx, cfg, "dectris-stream2", err, errlen);
    if (rc != SWMRBUS_OK) {
        free(s);
        return rc;
    }
    *state = s;
    return SWMRBUS_OK;
}

static void d2_feed(void *state, zmq_msg_t *parts, int n, const swmrbus_decode_sink *out)
{
    d2_state *s = state;
    if (n != 1) {
        char why[96];
        snprintf(why, sizeof why, "dectris-stream2: a message of %d parts (one expected)", n);
        out->reject(out->user, SWMRBUS_R_BAD_PAYLOAD, false, 0, why);
        return;
    }
    rd r;
    memset(&r, 0, sizeof r);
    r.buf = zmq_msg_data(&parts[0]);
    r.len = zmq_msg_size(&parts[0]);
    tok t, k;
    size_t n_pairs = 0, after_type = 0;
    enum { NONE, START, IMAGE, END } type = NONE;
    /* first pass: the type (the spec puts it first; not relied on) */
    if (!next(&r, &t)) goto bad;
    if (t.k != T_MAP) {
        fail(&r, "not a CBOR map");
        goto bad;
    }
    n_pairs = (size_t)t.u;
    after_type = r.pos;
    for (size_t i = 0; i < n_pairs && type == NONE; i++) {
        if (!next(&r, &k)) goto bad;
        if (text_is(&k, "type")) {
            tok v;
            if (!next(&r, &v)) goto bad;
            if (text_is(&v, "start")) type = START;
            else if (text_is(&v, "image")) type = IMAGE;
            else if (text_is(&v, "end")) type = END;
            else {
                fail(&r, "type: expected start, image or end");
                goto bad;
            }
        } else if (!skip_rest(&r, &k, 1) || !skip(&r, 1)) {
            goto bad;
        }
    }
    if (type == NONE) {
        fail(&r, "a message without type");
        goto bad;
    }
    r.pos = after_type;
    if (type == START) {
        if (r.len > s->dx.max_start_bytes) {
            char why[160];
            snprintf(why, sizeof why, "dectris-stream2: start of %zu bytes exceeds "
                     "limits.max_start_bytes (%llu)", r.len,
                     (unsigned long long)s->dx.max_start_bytes);
            out->reject(out->user, SWMRBUS_R_LIMIT, false, 0, why);
            return;
        }
        on_start(s, &r, n_pairs, &parts[0], out);
    } else if (type == IMAGE) {
        on_image(s, &r, n_pairs, &parts[0], out);
    } else {
        on_end(s, &r, n_pairs, out);
    }
    return;
bad:;
    char why[240];
    snprintf(why, sizeof why, "dectris-stream2: %s", r.why);
    out->reject(out->user, SWMRBUS_R_BAD_MSGPACK, false, 0, why);
}

static void d2_destroy(void **state)
{
    d2_state *s = state ? *state : NULL;
    if (!s) return;
    swmrbus__dx_fini(&s->dx);
    free(s);
    *state = NULL;
}

const swmrbus_decoder_vtable swmrbus__codec_dectris2 = {
    "dectris-stream2", d2_create, d2_feed, NULL, d2_destroy,
};
