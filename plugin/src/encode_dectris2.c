/* encode_dectris2.c — `out.protocol: dectris-stream2` for a source: the
 * frame stream as Dectris stream v2 CBOR messages, which a stream v2 client
 * decodes to the same images (compressed bytes unchanged, in tag 56500).
 *
 *   start -> {type: start, series_id, series_unique_id (the series' name),
 *             image_size_x/y, number_of_images (frames, when known),
 *             channels: ["threshold_1"], and the NXmx detector fields of
 *             start.meta under their stream v2 names; from start.arrays:
 *             threshold_energy by channel name, pixel_mask / flatfield
 *             maps, countrate_correction_lookup_table}
 *   frame -> {type: image, series_id, image_id, start/stop/real_time (the
 *             frame's times as Rationals of ns), data: {threshold_1:
 *             tag 40 [[y, x], typed array tag (tag 56500 [bslz4, itemsize,
 *             chunk] | [lz4, 0, chunk] | raw bytes)]}}; image_id = the
 *             series' meta first_image_id (what a Dectris decoder kept) +
 *             row, else the row
 *   end   -> {type: end, series_id}
 *
 * Item heads are written by libcbor's encoders (cbor_encode_*); the payload
 * is copied once after them (stream v2 messages are single-part). */
#include <cbor.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "swmrbus/codec.h"

#define E2_SERIES 64 /* series whose first_image_id is remembered */
#define E2_CHANNEL "threshold_1"
#define E2_CHANNELS 16 /* channels of a series sent (README "Channels") */

typedef struct e2_series {
    bool used;
    uint64_t id, first, last_use;
} e2_series;

typedef struct e2_state {
    swmrbus_buf b;
    e2_series s[E2_SERIES];
    uint64_t clock;
    bool oom;
} e2_state;

/* ---- writing heads with libcbor ------------------------------------------ */

static bool room(e2_state *st, size_t n)
{
    if (st->oom) return false;
    if (st->b.cap - st->b.len >= n) return true;
    size_t cap = st->b.cap ? st->b.cap : 256;
    while (cap - st->b.len < n) {
        if (cap > SIZE_MAX / 2) {
            st->oom = true;
            return false;
        }
        cap *= 2;
    }
    uint8_t *p = realloc(st->b.data, cap);
    if (!p) {
        st->oom = true;
        return false;
    }
    st->b.data = p;
    st->b.cap = cap;
    return true;
}

static void head(e2_state *st, size_t (*fn)(size_t, unsigned char *, size_t), size_t v)
{
    if (!room(st, 9)) return;
    size_t n = fn(v, st->b.data + st->b.len, st->b.cap - st->b.len);
    if (n == 0) st->oom = true;
    st->b.len += n;
}

static void uint_(e2_state *st, uint64_t v)
{
    if (!room(st, 9)) return;
    st->b.len += cbor_encode_uint(v, st->b.data + st->b.len, st->b.cap - st->b.len);
}

static void tag(e2_state *st, uint64_t v)
{
    if (!room(st, 9)) return;
    st->b.len += cbor_encode_tag(v, st->b.data + st->b.len, st->b.cap - st->b.len);
}

static void text(e2_state *st, const char *s, size_t n)
{
    head(st, cbor_encode_string_start, n);
    if (!room(st, n)) return;
    memcpy(st->b.data + st->b.len, s, n);
    st->b.len += n;
}

static void ctext(e2_state *st, const char *s) { text(st, s, strlen(s)); }

static void dbl(e2_state *st, double v)
{
    if (!room(st, 9)) return;
    st->b.len += cbor_encode_double(v, st->b.data + st->b.len, st->b.cap - st->b.len);
}

static void int_(e2_state *st, int64_t v)
{
    if (!room(st, 9)) return;
    if (v >= 0)
        st->b.len += cbor_encode_uint((uint64_t)v, st->b.data + st->b.len, st->b.cap - st->b.len);
    else
        st->b.len += cbor_encode_negint((uint64_t)(-1 - v), st->b.data + st->b.len,
                                        st->b.cap - st->b.len);
}

static void boolean(e2_state *st, bool v)
{
    if (!room(st, 1)) return;
    st->b.len += cbor_encode_bool(v, st->b.data + st->b.len, st->b.cap - st->b.len);
}

/* ---- start: NXmx meta back to stream v2 names ---------------------------- */

static const struct {
    const char *nx, *v2;
} names[] = {
    {"beam_center_x", "beam_center_x"},
    {"beam_center_y", "beam_center_y"},
    {"count_time", "count_time"},
    {"frame_time", "frame_time"},
    {"sensor_thickness", "sensor_thickness"},
    {"x_pixel_size", "pixel_size_x"},
    {"y_pixel_size", "pixel_size_y"},
    {"incident_wavelength", "incident_wavelength"},
    {"incident_energy", "incident_energy"},
    {"description", "detector_description"},
    {"serial_number", "detector_serial_number"},
    {"sensor_material", "sensor_material"},
    {"countrate_correction_applied", "countrate_correction_enabled"},
    {"flatfield_applied", "flatfield_enabled"},
    {"pixel_mask_applied", "pixel_mask_enabled"},
    {"virtual_pixel_correction_applied", "virtual_pixel_interpolation_enabled"},
    {"saturation_value", "saturation_value"},
};

static bool key_is(swmrbus_str k, const char *s)
{
    return k.len == strlen(s) && memcmp(k.ptr, s, k.len) == 0;
}

/* The stream v2 name of a meta key, NULL: not carried. threshold_energy is
 * written apart (a map by channel). */
static const char *v2_name(const swmrbus_meta_item *it)
{
    if (it->is_array) return NULL;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (key_is(it->key, names[i].nx)) return names[i].v2;
    return NULL;
}

static void value(e2_state *st, const swmrbus_meta_item *it, size_t k)
{
    switch (it->kind) {
    case SWMRBUS_META_FLOAT: dbl(st, it->f[k]); break;
    case SWMRBUS_META_UINT: uint_(st, it->u[k]); break;
    case SWMRBUS_META_INT: int_(st, it->i[k]); break;
    case SWMRBUS_META_BOOL: boolean(st, it->i[k] != 0); break;
    case SWMRBUS_META_STR: text(st, it->s.ptr ? it->s.ptr : "", it->s.len); break;
    }
}

static e2_series *series_of(e2_state *st, uint64_t id, bool make)
{
    e2_series *old = NULL;
    for (size_t i = 0; i < E2_SERIES; i++) {
        if (st->s[i].used && st->s[i].id == id) return &st->s[i];
        if (!old || !st->s[i].used || (old->used && st->s[i].last_use < old->last_use))
            old = &st->s[i];
    }
    if (!make) return NULL;
    memset(old, 0, sizeof *old);
    old->used = true;
    old->id = id;
    return old;
}

static uint64_t typed_tag(swmrbus_dtype t);
static void image_head(e2_state *st, const swmrbus_format *f, size_t len);

/* Walks start.meta twice: counting (write false), then writing. */
typedef struct meta_walk {
    e2_state *st;
    e2_series *se;
    bool write;
    size_t n;
    bool has_thr;
    double thr;
    size_t n_thr;          /* several channels: threshold_energy per channel */
    double thrs[E2_CHANNELS];
} meta_walk;

static int meta_cb(const swmrbus_meta_item *it, void *user)
{
    meta_walk *w = user;
    const char *k = v2_name(it);
    if (k) {
        w->n++;
        if (w->write) {
            ctext(w->st, k);
            value(w->st, it, 0);
        }
    }
    if (key_is(it->key, "threshold_energy") && !it->is_array && it->kind == SWMRBUS_META_FLOAT) {
        w->has_thr = true;
        w->thr = it->f[0];
    }
    if (key_is(it->key, "threshold_energy") && it->is_array && it->kind == SWMRBUS_META_FLOAT &&
        it->count <= E2_CHANNELS) {
        w->n_thr = it->count;
        for (size_t i = 0; i < it->count; i++) w->thrs[i] = it->f[i];
    }
    if (key_is(it->key, "first_image_id") && !it->is_array && it->kind == SWMRBUS_META_UINT)
        w->se->first = it->u[0];
    return 0;
}

/* The start's arrays (README "Start arrays", e.g. from a source reading an
 * NXmx file): each one's name, format and bytes (its payload part). */
typedef struct arr_list {
    size_t n;
    swmrbus_str name[SWMRBUS_MAX_START_ARRAYS];
    swmrbus_format f[SWMRBUS_MAX_START_ARRAYS];
    const uint8_t *p[SWMRBUS_MAX_START_ARRAYS];
    size_t len[SWMRBUS_MAX_START_ARRAYS];
    zmq_msg_t *parts;
    size_t n_parts;
} arr_list;

static int arr_cb(const swmrbus_dataset *d, size_t k, void *user)
{
    arr_list *a = user;
    if (k >= a->n_parts || a->n >= SWMRBUS_MAX_START_ARRAYS) return 1;
    a->name[a->n] = d->name;
    a->f[a->n] = d->format;
    a->p[a->n] = zmq_msg_data(&a->parts[k]);
    a->len[a->n] = zmq_msg_size(&a->parts[k]);
    a->n++;
    return 0;
}

/* The array "<channel>_channel/<what>" (several channels) or "<what>", of
 * ndim dims, raw and of its full size; -1: none. */
static int arr_find(const arr_list *a, swmrbus_str channel, bool per_channel, const char *what,
                    uint32_t ndim)
{
    char name[SWMRBUS_CHANNEL_NAME_MAX + 48];
    if (per_channel)
        snprintf(name, sizeof name, "%.*s_channel/%s", (int)channel.len, channel.ptr, what);
    else
        snprintf(name, sizeof name, "%s", what);
    for (size_t k = 0; k < a->n; k++)
        if (key_is(a->name[k], name) && a->f[k].ndim == ndim &&
            a->f[k].encoding == SWMRBUS_ENC_RAW && typed_tag(a->f[k].dtype) &&
            swmrbus_format_raw_bytes(&a->f[k]) == a->len[k])
            return (int)k;
    return -1;
}

static swmrbus_str channel_of(const swmrbus_header *h, size_t nch, size_t c)
{
    swmrbus_str name = {E2_CHANNEL, strlen(E2_CHANNEL)};
    if (nch > 1) (void)swmrbus_channel_name(h->channels, c, &name);
    return name;
}

/* A start map {channel: tag 40 [[y, x], typed array]} of the channels'
 * <what> arrays (pixel_mask, flatfield), those the start has. */
static void arr_map(e2_state *st, const swmrbus_header *h, size_t nch, const arr_list *a,
                    const char *what, size_t count)
{
    ctext(st, what);
    head(st, cbor_encode_map_start, count);
    for (size_t c = 0; c < nch; c++) {
        swmrbus_str ch = channel_of(h, nch, c);
        int k = arr_find(a, ch, nch > 1, what, 2);
        if (k < 0) continue;
        text(st, ch.ptr, ch.len);
        image_head(st, &a->f[k], a->len[k]);
        if (!room(st, a->len[k])) return;
        memcpy(st->b.data + st->b.len, a->p[k], a->len[k]);
        st->b.len += a->len[k];
    }
}

static double le_f64(const uint8_t *p)
{
    uint64_t bits = 0;
    double v;
    for (int i = 7; i >= 0; i--) bits = bits << 8 | p[i];
    memcpy(&v, &bits, sizeof v);
    return v;
}

static void encode_start(e2_state *st, const swmrbus_header *h, zmq_msg_t *parts,
                         size_t n_parts)
{
    e2_series *se = series_of(st, h->series, true);
    se->last_use = ++st->clock;
    meta_walk w;
    memset(&w, 0, sizeof w);
    w.st = st;
    w.se = se;
    if (h->meta.len && swmrbus_meta_foreach(h->meta, meta_cb, &w) != SWMRBUS_OK) w.n = 0;
    size_t nch = h->n_channels > 1 ? h->n_channels : 1;
    arr_list a;
    a.n = 0;
    a.parts = parts;
    a.n_parts = n_parts;
    if (h->n_arrays && h->n_arrays == n_parts &&
        swmrbus_datasets_foreach(h->arrays, arr_cb, &a) != SWMRBUS_OK)
        a.n = 0;
    /* several channels: each one's threshold_energy by its name (a start
     * array <channel>_channel/threshold_energy), else the meta's in order */
    double thrs[E2_CHANNELS];
    size_t by_name = 0, masks = 0, flats = 0;
    for (size_t c = 0; c < nch && nch > 1; c++) {
        int k = arr_find(&a, channel_of(h, nch, c), true, "threshold_energy", 0);
        if (k >= 0 && a.f[k].dtype == SWMRBUS_DTYPE_FLOAT64) thrs[by_name++] = le_f64(a.p[k]);
    }
    for (size_t c = 0; c < nch; c++) {
        masks += arr_find(&a, channel_of(h, nch, c), nch > 1, "pixel_mask", 2) >= 0;
        flats += arr_find(&a, channel_of(h, nch, c), nch > 1, "flatfield", 2) >= 0;
    }
    swmrbus_str none = {"", 0};
    int lut = arr_find(&a, none, false, "countrate_correction_lookup_table", 1);
    if (nch > 1 && by_name != nch) /* none by name: the meta's, in order */
        memcpy(thrs, w.thrs, sizeof thrs);
    bool thr = nch > 1 ? by_name == nch || w.n_thr == nch : w.has_thr;
    size_t n = 5 + (h->has_frames ? 1 : 0) + (h->name.len ? 1 : 0) + w.n + (thr ? 1 : 0) +
               (masks > 0) + (flats > 0) + (lut >= 0);
    head(st, cbor_encode_map_start, n);
    ctext(st, "type");
    ctext(st, "start");
    ctext(st, "series_id");
    uint_(st, h->series);
    if (h->name.len) {
        ctext(st, "series_unique_id");
        text(st, h->name.ptr, h->name.len);
    }
    ctext(st, "image_size_x");
    uint_(st, h->format.shape[1]);
    ctext(st, "image_size_y");
    uint_(st, h->format.shape[0]);
    if (h->has_frames) {
        ctext(st, "number_of_images");
        uint_(st, h->frames);
    }
    ctext(st, "channels");
    head(st, cbor_encode_array_start, nch);
    for (size_t c = 0; c < nch; c++) {
        swmrbus_str name = {E2_CHANNEL, strlen(E2_CHANNEL)};
        if (nch > 1) (void)swmrbus_channel_name(h->channels, c, &name);
        text(st, name.ptr, name.len);
    }
    if (w.n) {
        w.write = true;
        w.n = 0;
        (void)swmrbus_meta_foreach(h->meta, meta_cb, &w);
    }
    if (thr) {
        ctext(st, "threshold_energy");
        head(st, cbor_encode_map_start, nch);
        for (size_t c = 0; c < nch; c++) {
            swmrbus_str name = {E2_CHANNEL, strlen(E2_CHANNEL)};
            if (nch > 1) (void)swmrbus_channel_name(h->channels, c, &name);
            text(st, name.ptr, name.len);
            dbl(st, nch > 1 ? thrs[c] : w.thr);
        }
    }
    if (masks) arr_map(st, h, nch, &a, "pixel_mask", masks);
    if (flats) arr_map(st, h, nch, &a, "flatfield", flats);
    if (lut >= 0) { /* a TypedArray */
        ctext(st, "countrate_correction_lookup_table");
        tag(st, typed_tag(a.f[lut].dtype));
        head(st, cbor_encode_bytestring_start, a.len[lut]);
        if (!room(st, a.len[lut])) return;
        memcpy(st->b.data + st->b.len, a.p[lut], a.len[lut]);
        st->b.len += a.len[lut];
    }
}

/* An image's start_time, stop_time, real_time (the frame's times, s) as
 * stream v2 Rationals of ns; NaN: left out. The count of those written. */
static size_t n_times(const swmrbus_header *h)
{
    size_t n = 0;
    for (int i = 0; h->has_frame_times && i < 3; i++)
        n += isfinite(h->frame_times[i]) && h->frame_times[i] >= 0 &&
             h->frame_times[i] < 1.8e10;
    return n;
}

static void image_times(e2_state *st, const swmrbus_header *h)
{
    static const char *const keys[3] = {"start_time", "stop_time", "real_time"};
    for (int i = 0; h->has_frame_times && i < 3; i++) {
        double v = h->frame_times[i];
        if (!(isfinite(v) && v >= 0 && v < 1.8e10)) continue;
        ctext(st, keys[i]);
        head(st, cbor_encode_array_start, 2);
        uint_(st, (uint64_t)(v * 1e9 + 0.5));
        uint_(st, 1000000000u);
    }
}

/* RFC 8746 typed-array tag of a dtype (little-endian). */
static uint64_t typed_tag(swmrbus_dtype t)
{
    switch (t) {
    case SWMRBUS_DTYPE_UINT8: return 64;
    case SWMRBUS_DTYPE_UINT16: return 69;
    case SWMRBUS_DTYPE_UINT32: return 70;
    case SWMRBUS_DTYPE_UINT64: return 71;
    case SWMRBUS_DTYPE_INT8: return 72;
    case SWMRBUS_DTYPE_INT16: return 77;
    case SWMRBUS_DTYPE_INT32: return 78;
    case SWMRBUS_DTYPE_INT64: return 79;
    case SWMRBUS_DTYPE_FLOAT32: return 85;
    case SWMRBUS_DTYPE_FLOAT64: return 86;
    default: return 0;
    }
}

/* The typed array of one channel's image; its len bytes follow (the caller
 * writes them). */
static void image_head(e2_state *st, const swmrbus_format *f, size_t len)
{
    tag(st, 40);
    head(st, cbor_encode_array_start, 2);
    head(st, cbor_encode_array_start, 2);
    uint_(st, f->shape[0]);
    uint_(st, f->shape[1]);
    tag(st, typed_tag(f->dtype));
    if (f->encoding != SWMRBUS_ENC_RAW) {
        tag(st, 56500);
        head(st, cbor_encode_array_start, 3);
        ctext(st, f->encoding == SWMRBUS_ENC_BSLZ4 ? "bslz4" : "lz4");
        uint_(st, f->encoding == SWMRBUS_ENC_BSLZ4 ? swmrbus_dtype_size(f->dtype) : 0);
    }
    head(st, cbor_encode_bytestring_start, len);
}

/* An image message up to its data map's head (n_data entries follow):
 * type, series_id, image_id (the series' first id + frame), the times. */
static void image_msg_head(e2_state *st, const swmrbus_header *h, size_t n_data)
{
    e2_series *se = series_of(st, h->series, false);
    uint64_t first = se ? se->first : 0;
    if (se) se->last_use = ++st->clock;
    head(st, cbor_encode_map_start, 4 + n_times(h));
    ctext(st, "type");
    ctext(st, "image");
    ctext(st, "series_id");
    uint_(st, h->series);
    ctext(st, "image_id");
    uint_(st, first + h->frame);
    image_times(st, h);
    ctext(st, "data");
    head(st, cbor_encode_map_start, n_data);
}

/* A frame of n_ch channels (README "Channels"): the whole message in st->b,
 * each channel's bytes copied after its head. */
static void encode_channels(e2_state *st, const swmrbus_header *h, const swmrbus_format *f,
                            const char (*chs)[SWMRBUS_CHANNEL_NAME_MAX + 1], size_t n_ch,
                            zmq_msg_t *payloads)
{
    image_msg_head(st, h, n_ch);
    for (size_t c = 0; c < n_ch; c++) {
        size_t len = zmq_msg_size(&payloads[c]);
        ctext(st, chs[c]);
        image_head(st, f, len);
        if (!room(st, len)) return;
        memcpy(st->b.data + st->b.len, zmq_msg_data(&payloads[c]), len);
        st->b.len += len;
    }
}

static void encode_image(e2_state *st, const swmrbus_header *h, const swmrbus_format *f,
                         size_t len)
{
    image_msg_head(st, h, 1);
    ctext(st, E2_CHANNEL);
    image_head(st, f, len);
}

/* ---- the vtable ---------------------------------------------------------- */

/* The format of each series as its start said (frames carry it only on a
 * PUB): kept beside first_image_id. */
typedef struct e2_full {
    e2_state st;
    zmq_msg_t part; /* the message handed out (the caller sends or closes it) */
    struct {
        bool used;
        uint64_t id;
        swmrbus_format f;
        size_t n_ch;  /* README "Channels": 2.., 0: one */
        char ch[E2_CHANNELS][SWMRBUS_CHANNEL_NAME_MAX + 1];
    } fmt[E2_SERIES];
} e2_full;

static swmrbus_err e2_create(const swmrbus_component_cfg *cfg, void **state, char *err,
                             size_t errlen)
{
    (void)cfg;
    (void)err;
    (void)errlen;
    e2_full *s = calloc(1, sizeof *s);
    if (!s) return SWMRBUS_ENOMEM;
    *state = s;
    return SWMRBUS_OK;
}

static swmrbus_err e2_encode(void *state, const swmrbus_header *h, zmq_msg_t *payloads,
                             size_t n_payloads, zmq_msg_t **out, size_t *n_out, char *err,
                             size_t errlen)
{
    e2_full *s = state;
    const void *payload = NULL;
    size_t len = 0;
    *out = NULL;
    *n_out = 0;
    size_t slot = E2_SERIES; /* the series' entry of fmt */
    for (size_t i = 0; i < E2_SERIES; i++)
        if (s->fmt[i].used && s->fmt[i].id == h->series) slot = i;
    size_t n_ch = slot < E2_SERIES && s->fmt[slot].n_ch ? s->fmt[slot].n_ch : 1;
    if (h->type == SWMRBUS_MSG_FRAME) {
        if (n_payloads != n_ch) {
            snprintf(err, errlen, "dectris-stream2: a frame of %zu parts, the series has %zu "
                     "channels", n_payloads, n_ch);
            return SWMRBUS_EINVAL;
        }
        payload = zmq_msg_data(&payloads[0]);
        len = zmq_msg_size(&payloads[0]);
    }
    e2_state *st = &s->st;
    st->b.len = 0;
    st->oom = false;
    swmrbus_format f;
    memset(&f, 0, sizeof f);
    switch (h->type) {
    case SWMRBUS_MSG_START:
        if (!h->has_format || h->format.ndim != 2 || !typed_tag(h->format.dtype)) {
            snprintf(err, errlen, "dectris-stream2: series %llu: only 2-D images can be sent",
                     (unsigned long long)h->series);
            return SWMRBUS_EINVAL;
        }
        if (h->n_channels > E2_CHANNELS) {
            snprintf(err, errlen, "dectris-stream2: series %llu: %u channels (at most %d)",
                     (unsigned long long)h->series, h->n_channels, E2_CHANNELS);
            return SWMRBUS_EINVAL;
        }
        encode_start(st, h, payloads, n_payloads);
        {
            size_t k = 0;
            for (size_t i = 0; i < E2_SERIES; i++)
                if (s->fmt[i].used && s->fmt[i].id == h->series) k = i + 1;
            for (size_t i = 0; !k && i < E2_SERIES; i++)
                if (!s->fmt[i].used) k = i + 1;
            if (!k) k = (size_t)(h->series % E2_SERIES) + 1;
            s->fmt[k - 1].used = true;
            s->fmt[k - 1].id = h->series;
            s->fmt[k - 1].f = h->format;
            s->fmt[k - 1].n_ch = h->n_channels > 1 ? h->n_channels : 0;
            for (size_t c = 0; c < s->fmt[k - 1].n_ch; c++) {
                swmrbus_str name = {"", 0};
                (void)swmrbus_channel_name(h->channels, c, &name);
                snprintf(s->fmt[k - 1].ch[c], sizeof s->fmt[k - 1].ch[c], "%.*s",
                         (int)name.len, name.ptr);
            }
        }
        break;
    case SWMRBUS_MSG_FRAME:
        if (h->has_format) f = h->format;
        for (size_t i = 0; !f.ndim && i < E2_SERIES; i++)
            if (s->fmt[i].used && s->fmt[i].id == h->series) f = s->fmt[i].f;
        if (f.ndim != 2 || !typed_tag(f.dtype)) {
            snprintf(err, errlen, "dectris-stream2: series %llu: a frame with no 2-D format",
                     (unsigned long long)h->series);
            return SWMRBUS_EINVAL;
        }
        if (n_ch > 1) {
            encode_channels(st, h, &f, (const char (*)[SWMRBUS_CHANNEL_NAME_MAX + 1])
                                           s->fmt[slot].ch, n_ch, payloads);
            len = 0; /* the bytes are in st->b already */
        } else {
            encode_image(st, h, &f, len);
        }
        break;
    case SWMRBUS_MSG_END:
        head(st, cbor_encode_map_start, 2);
        ctext(st, "type");
        ctext(st, "end");
        ctext(st, "series_id");
        uint_(st, h->series);
        for (size_t i = 0; i < E2_SERIES; i++)
            if (s->fmt[i].used && s->fmt[i].id == h->series) s->fmt[i].used = false;
        {
            e2_series *se = series_of(st, h->series, false);
            if (se) se->used = false;
        }
        break;
    default:
        snprintf(err, errlen, "dectris-stream2: not a frame-stream message");
        return SWMRBUS_EINVAL;
    }
    if (st->oom) return SWMRBUS_ENOMEM;
    size_t body = h->type == SWMRBUS_MSG_FRAME ? len : 0;
    if (zmq_msg_init_size(&s->part, st->b.len + body) != 0) return SWMRBUS_ENOMEM;
    memcpy(zmq_msg_data(&s->part), st->b.data, st->b.len);
    if (body) memcpy((char *)zmq_msg_data(&s->part) + st->b.len, payload, body);
    *out = &s->part;
    *n_out = 1;
    return SWMRBUS_OK;
}

static void e2_destroy(void **state)
{
    e2_full *s = state ? *state : NULL;
    if (!s) return;
    swmrbus_buf_free(&s->st.b);
    free(s);
    *state = NULL;
}

const swmrbus_encoder_vtable swmrbus__encoder_dectris2 = {
    "dectris-stream2", e2_create, e2_encode, e2_destroy,
};
