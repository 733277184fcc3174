/* codec_dectris_common.c — series, start, frame and end for the Dectris
 * decoders (codec_dectris.h). */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec_dectris.h"
#include "swmrbus/pack.h"

swmrbus_err swmrbus__dx_init(swmrbus__dx *d, const swmrbus_component_cfg *cfg,
                             const char *proto, char *err, size_t errlen)
{
    memset(d, 0, sizeof *d);
    d->proto = proto;
    d->lim = cfg->limits;
    d->max_start_bytes = cfg->max_start_bytes;
    d->n_slots = (size_t)(cfg->limits.max_open_series ? cfg->limits.max_open_series : 1);
    if (!(d->slots = calloc(d->n_slots, sizeof *d->slots))) {
        snprintf(err, errlen, "in.protocol: out of memory");
        return SWMRBUS_ENOMEM;
    }
    return SWMRBUS_OK;
}

void swmrbus__dx_arrays_free(swmrbus__dx_series *se)
{
    for (size_t k = 0; k < se->n_arrays; k++) {
        if (se->arrays[k].msg) zmq_msg_close(se->arrays[k].msg);
        free(se->arrays[k].msg);
        se->arrays[k].msg = NULL;
    }
    se->n_arrays = 0;
}

bool swmrbus__dx_array_add(swmrbus__dx *d, swmrbus__dx_series *se, const char *what,
                           const char *channel, swmrbus_dtype t, uint64_t y, uint64_t x,
                           zmq_msg_t *part, const void *data, size_t len)
{
    size_t isz = swmrbus_dtype_size(t);
    if (se->n_arrays >= SWMRBUS__DX_ARRAYS_MAX || isz == 0 || y == 0 || x == 0 ||
        x > UINT64_MAX / y || x * y > UINT64_MAX / isz || x * y * isz != len ||
        len > d->lim.max_frame_bytes)
        return false;
    swmrbus__dx_array *a = &se->arrays[se->n_arrays];
    char name[SWMRBUS__DX_CHANNEL_MAX + 48];
    memset(a, 0, sizeof *a);
    if (strlen(what) >= sizeof a->what || strlen(channel) >= sizeof a->channel) return false;
    snprintf(a->what, sizeof a->what, "%s", what);
    snprintf(a->channel, sizeof a->channel, "%s", channel);
    /* the name it may take (the channel count is known at the start) */
    snprintf(name, sizeof name, "%s_channel/%s", channel, what);
    if (!swmrbus_path_ok((swmrbus_str){name, strlen(name)})) return false;
    for (size_t k = 0; k < se->n_arrays; k++) /* a channel given twice: the first */
        if (strcmp(se->arrays[k].channel, channel) == 0 && strcmp(se->arrays[k].what, what) == 0)
            return false;
    a->f.dtype = t;
    a->f.encoding = SWMRBUS_ENC_RAW;
    a->f.ndim = 2;
    a->f.shape[0] = y;
    a->f.shape[1] = x;
    if (!(a->msg = malloc(sizeof *a->msg))) return false;
    if (swmrbus_msg_slice(a->msg, part, data, len) != SWMRBUS_OK) {
        free(a->msg);
        a->msg = NULL;
        return false;
    }
    se->n_arrays++;
    return true;
}

bool swmrbus__dx_array_det(swmrbus__dx *d, swmrbus__dx_series *se, const char *path,
                           swmrbus_dtype t, uint32_t ndim, const uint64_t *shape,
                           zmq_msg_t *part, const void *data, size_t len)
{
    size_t isz = swmrbus_dtype_size(t);
    uint64_t n = 1;
    if (se->n_arrays >= SWMRBUS__DX_ARRAYS_MAX || isz == 0 || ndim < 1 || ndim > 2 ||
        strlen(path) >= sizeof se->arrays[0].what ||
        !swmrbus_path_ok((swmrbus_str){path, strlen(path)}))
        return false;
    for (uint32_t i = 0; i < ndim; i++) {
        if (shape[i] == 0 || shape[i] > UINT64_MAX / n) return false;
        n *= shape[i];
    }
    if (n > UINT64_MAX / isz || n * isz != len || len > d->lim.max_frame_bytes) return false;
    for (size_t k = 0; k < se->n_arrays; k++) /* given twice: the first */
        if (se->arrays[k].channel[0] == '\0' && strcmp(se->arrays[k].what, path) == 0)
            return false;
    swmrbus__dx_array *a = &se->arrays[se->n_arrays];
    memset(a, 0, sizeof *a);
    snprintf(a->what, sizeof a->what, "%s", path);
    a->f.dtype = t;
    a->f.encoding = SWMRBUS_ENC_RAW;
    a->f.ndim = ndim;
    for (uint32_t i = 0; i < ndim; i++) a->f.shape[i] = shape[i];
    if (!(a->msg = malloc(sizeof *a->msg))) return false;
    if (swmrbus_msg_slice(a->msg, part, data, len) != SWMRBUS_OK) {
        free(a->msg);
        a->msg = NULL;
        return false;
    }
    se->n_arrays++;
    return true;
}

bool swmrbus__dx_array_f64(swmrbus__dx_series *se, const char *what, const char *channel,
                           double v)
{
    if (se->n_arrays >= SWMRBUS__DX_ARRAYS_MAX || strlen(what) >= sizeof se->arrays[0].what ||
        strlen(channel) >= sizeof se->arrays[0].channel)
        return false;
    swmrbus__dx_array *a = &se->arrays[se->n_arrays];
    memset(a, 0, sizeof *a);
    snprintf(a->what, sizeof a->what, "%s", what);
    snprintf(a->channel, sizeof a->channel, "%s", channel);
    a->f.dtype = SWMRBUS_DTYPE_FLOAT64;
    a->f.encoding = SWMRBUS_ENC_RAW;
    a->f.ndim = 0;
    if (!(a->msg = malloc(sizeof *a->msg))) return false;
    if (zmq_msg_init_size(a->msg, 8) != 0) {
        free(a->msg);
        a->msg = NULL;
        return false;
    }
    uint64_t bits;
    memcpy(&bits, &v, 8);
    uint8_t *p = zmq_msg_data(a->msg);
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(bits >> (8 * i)); /* little-endian */
    se->n_arrays++;
    return true;
}

static void drop_series(swmrbus__dx_series *se)
{
    swmrbus__dx_arrays_free(se);
    free(se->meta);
    memset(se, 0, sizeof *se);
}

void swmrbus__dx_fini(swmrbus__dx *d)
{
    for (size_t i = 0; d->slots && i < d->n_slots; i++) drop_series(&d->slots[i]);
    free(d->slots);
    swmrbus_buf_free(&d->hdr);
    swmrbus_buf_free(&d->meta);
    memset(d, 0, sizeof *d);
}

swmrbus__dx_series *swmrbus__dx_find(swmrbus__dx *d, uint64_t id)
{
    for (size_t i = 0; i < d->n_slots; i++)
        if (d->slots[i].used && d->slots[i].id == id) return &d->slots[i];
    return NULL;
}

const char *swmrbus__dx_printable(char *out, size_t cap, const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t k = 0;
    for (size_t i = 0; i < n && k + 1 < cap; i++)
        out[k++] = s[i] >= 0x20 && s[i] < 0x7f ? (char)s[i] : '?';
    out[k] = '\0';
    return out;
}

static void reject(swmrbus__dx *d, const swmrbus_decode_sink *out, swmrbus_reason r,
                   uint64_t id, const char *what)
{
    char why[240];
    snprintf(why, sizeof why, "%s: %s", d->proto, what);
    out->reject(out->user, r, true, id, why);
}

/* ---- meta -------------------------------------------------------------- */

void swmrbus__dx_meta_key(swmrbus__dx_meta *m, const char *key)
{
    m->n++;
    m->e |= swmrbus_pack_cstr(&m->pk, key);
}

void swmrbus__dx_meta_begin(swmrbus__dx *d, swmrbus__dx_meta *m)
{
    m->n = 0;
    m->e = 0;
    d->meta.len = 0;
    msgpack_packer_init(&m->pk, &d->meta, swmrbus_buf_write);
    swmrbus__dx_meta_str(m, "definition", "NXmx", 4); /* sink/writer_nxmx.c */
}

void swmrbus__dx_meta_f64(swmrbus__dx_meta *m, const char *key, double v)
{
    swmrbus__dx_meta_key(m, key);
    m->e |= msgpack_pack_double(&m->pk, v);
}

void swmrbus__dx_meta_str(swmrbus__dx_meta *m, const char *key, const void *s, size_t n)
{
    swmrbus__dx_meta_key(m, key);
    m->e |= msgpack_pack_str_with_body(&m->pk, s, n);
}

void swmrbus__dx_meta_bool(swmrbus__dx_meta *m, const char *key, bool v)
{
    swmrbus__dx_meta_key(m, key);
    m->e |= v ? msgpack_pack_true(&m->pk) : msgpack_pack_false(&m->pk);
}

void swmrbus__dx_meta_user_data(swmrbus__dx_meta *m, const char *json, size_t n)
{
    if (json && n > 0 && n <= SWMRBUS__DX_USER_DATA_MAX) swmrbus__dx_meta_str(m, "user_data", json, n);
}

/* ---- series ------------------------------------------------------------ */

/* A free slot, else the one unused for longest (its end never came). */
static swmrbus__dx_series *new_series(swmrbus__dx *d)
{
    swmrbus__dx_series *old = NULL;
    for (size_t i = 0; i < d->n_slots; i++) {
        if (!d->slots[i].used) return &d->slots[i];
        if (!old || d->slots[i].last_use < old->last_use) old = &d->slots[i];
    }
    drop_series(old);
    return old;
}

void swmrbus__dx_open(swmrbus__dx *d, swmrbus__dx_series *se, swmrbus__dx_meta *m,
                      const void *unique, size_t unique_len, const swmrbus_decode_sink *out)
{
    if (se->n_channels > SWMRBUS__DX_CHANNELS_MAX) {
        char why[160];
        snprintf(why, sizeof why, "start of %zu channels: at most %d are supported",
                 se->n_channels, SWMRBUS__DX_CHANNELS_MAX);
        reject(d, out, SWMRBUS_R_LIMIT, se->id, why);
        swmrbus__dx_arrays_free(se);
        return;
    }
    if (swmrbus__dx_find(d, se->id)) {
        reject(d, out, SWMRBUS_R_MISMATCH, se->id,
               "start for a series that is open (no end yet): ignored");
        swmrbus__dx_arrays_free(se);
        return;
    }
    /* the entries (the map header goes out with the start, which adds
     * first_image_id) */
    if (m->e) {
        reject(d, out, SWMRBUS_R_LIMIT, se->id, "out of memory");
        swmrbus__dx_arrays_free(se);
        return;
    }
    if (d->meta.len + 512 > d->lim.max_header_bytes) {
        reject(d, out, SWMRBUS_R_LIMIT, se->id,
               "the start's metadata exceed limits.max_header_bytes");
        swmrbus__dx_arrays_free(se);
        return;
    }
    uint8_t *entries = malloc(d->meta.len ? d->meta.len : 1);
    if (!entries) {
        reject(d, out, SWMRBUS_R_LIMIT, se->id, "out of memory");
        swmrbus__dx_arrays_free(se);
        return;
    }
    memcpy(entries, d->meta.data, d->meta.len);
    if (unique && unique_len >= 1 && unique_len <= SWMRBUS__DX_NAME_MAX &&
        !memchr(unique, '\0', unique_len))
        snprintf(se->name, sizeof se->name, "%.*s", (int)unique_len, (const char *)unique);
    else
        snprintf(se->name, sizeof se->name, "series_%llu", (unsigned long long)se->id);
    swmrbus__dx_series *slot = new_series(d);
    *slot = *se;
    slot->used = true;
    slot->started = false;
    slot->meta = entries;
    slot->meta_len = d->meta.len;
    slot->meta_n = m->n;
    slot->last_use = ++d->clock;
}

static void emit(swmrbus__dx *d, const swmrbus_decode_sink *out, zmq_msg_t *payloads, size_t n,
                 uint64_t id)
{
    zmq_msg_t h;
    if (zmq_msg_init_size(&h, d->hdr.len) != 0) {
        for (size_t k = 0; k < n; k++) zmq_msg_close(&payloads[k]);
        reject(d, out, SWMRBUS_R_LIMIT, id, "out of memory");
        return;
    }
    memcpy(zmq_msg_data(&h), d->hdr.data, d->hdr.len);
    out->emit(out->user, &h, n ? payloads : NULL, n);
}

/* The start in d->hdr, with the series' arrays as its payload parts (moved
 * out of se: the series holds none afterwards). */
static void emit_start(swmrbus__dx *d, const swmrbus_decode_sink *out, swmrbus__dx_series *se)
{
    zmq_msg_t parts[SWMRBUS__DX_ARRAYS_MAX];
    size_t n = se->n_arrays;
    for (size_t k = 0; k < n; k++) {
        zmq_msg_init(&parts[k]);
        zmq_msg_move(&parts[k], se->arrays[k].msg);
    }
    swmrbus__dx_arrays_free(se);
    zmq_msg_t h;
    if (zmq_msg_init_size(&h, d->hdr.len) != 0) {
        for (size_t k = 0; k < n; k++) zmq_msg_close(&parts[k]);
        reject(d, out, SWMRBUS_R_LIMIT, se->id, "out of memory");
        return;
    }
    memcpy(zmq_msg_data(&h), d->hdr.data, d->hdr.len);
    out->emit(out->user, &h, n ? parts : NULL, n);
}

/* The name array a takes in the start (README "Start arrays"). */
static void array_name(const swmrbus__dx_series *se, const swmrbus__dx_array *a, char *name,
                       size_t cap)
{
    if (se->n_channels > 1 && a->channel[0]) /* NXmx 2024.02: per channel */
        snprintf(name, cap, "%s_channel/%s", a->channel, a->what);
    else
        snprintf(name, cap, "%s", a->what);
}

/* True when dataset paths a and b are the same or one lies inside the other. */
static bool paths_clash(const char *a, const char *b)
{
    size_t na = strlen(a), nb = strlen(b), n = na < nb ? na : nb;
    return strncmp(a, b, n) == 0 && (na == nb || (na < nb ? b[n] : a[n]) == '/');
}

/* Drops the arrays whose name clashes with an earlier one's (a key given
 * twice in a map, a channel's array in a one-channel series beside
 * another's, a detector path inside another): the first is kept, as the
 * sink would refuse the whole start. */
static void prune_arrays(swmrbus__dx_series *se)
{
    char ni[SWMRBUS__DX_CHANNEL_MAX + 64], nj[SWMRBUS__DX_CHANNEL_MAX + 64];
    size_t kept = 0;
    for (size_t i = 0; i < se->n_arrays; i++) {
        bool clash = false;
        array_name(se, &se->arrays[i], ni, sizeof ni);
        for (size_t j = 0; j < kept && !clash; j++) {
            array_name(se, &se->arrays[j], nj, sizeof nj);
            clash = paths_clash(ni, nj);
        }
        if (clash) {
            zmq_msg_close(se->arrays[i].msg);
            free(se->arrays[i].msg);
            se->arrays[i].msg = NULL;
            continue;
        }
        if (kept != i) se->arrays[kept] = se->arrays[i];
        kept++;
    }
    se->n_arrays = kept;
}

static bool pack_start(swmrbus__dx *d, const swmrbus__dx_series *se)
{
    msgpack_packer pk;
    d->hdr.len = 0;
    msgpack_packer_init(&pk, &d->hdr, swmrbus_buf_write);
    int e = msgpack_pack_map(&pk, (se->has_frames ? 9u : 8u) + (se->n_arrays > 0) +
                                      (se->n_channels > 1));
    if (se->n_channels > 1) { /* README "Channels": a payload part each */
        e |= swmrbus_pack_cstr(&pk, "channels");
        e |= msgpack_pack_array(&pk, se->n_channels);
        for (size_t k = 0; k < se->n_channels; k++) e |= swmrbus_pack_cstr(&pk, se->channel[k]);
    }
    e |= swmrbus_pack_kv_str(&pk, "type", "start");
    e |= swmrbus_pack_cstr(&pk, "times"); /* frames carry start/stop/real_time */
    e |= msgpack_pack_true(&pk);
    e |= swmrbus_pack_kv_u64(&pk, "series", se->id);
    e |= swmrbus_pack_kv_str(&pk, "dtype", swmrbus_dtype_name(se->format.dtype));
    e |= swmrbus_pack_cstr(&pk, "shape");
    e |= msgpack_pack_array(&pk, 2);
    e |= msgpack_pack_uint64(&pk, se->format.shape[0]);
    e |= msgpack_pack_uint64(&pk, se->format.shape[1]);
    e |= swmrbus_pack_kv_str(&pk, "encoding", swmrbus_encoding_name(se->format.encoding));
    if (se->has_frames) e |= swmrbus_pack_kv_u64(&pk, "frames", se->frames);
    e |= swmrbus_pack_kv_str(&pk, "name", se->name);
    e |= swmrbus_pack_cstr(&pk, "meta");
    e |= msgpack_pack_map(&pk, se->meta_n + 1);
    e |= swmrbus_buf_write(&d->hdr, (const char *)se->meta, se->meta_len);
    e |= swmrbus_pack_kv_u64(&pk, "first_image_id", se->first_id); /* the id of row 0 */
    if (se->n_arrays) { /* README "Start arrays": one payload part each */
        e |= swmrbus_pack_cstr(&pk, "arrays");
        e |= msgpack_pack_array(&pk, se->n_arrays);
        for (size_t k = 0; k < se->n_arrays; k++) {
            const swmrbus__dx_array *a = &se->arrays[k];
            char name[SWMRBUS__DX_CHANNEL_MAX + 64]; /* "<channel>_channel/<what>" */
            array_name(se, a, name, sizeof name);
            e |= msgpack_pack_map(&pk, 4);
            e |= swmrbus_pack_kv_str(&pk, "name", name);
            e |= swmrbus_pack_kv_str(&pk, "dtype", swmrbus_dtype_name(a->f.dtype));
            e |= swmrbus_pack_cstr(&pk, "shape");
            e |= msgpack_pack_array(&pk, a->f.ndim);
            for (uint32_t i = 0; i < a->f.ndim; i++) e |= msgpack_pack_uint64(&pk, a->f.shape[i]);
            e |= swmrbus_pack_kv_str(&pk, "encoding", "raw");
        }
    }
    return e == 0;
}

void swmrbus__dx_image(swmrbus__dx *d, swmrbus__dx_series *se, swmrbus_format f,
                       uint64_t image_id, zmq_msg_t *payload, const swmrbus_decode_sink *out)
{
    swmrbus__dx_image_ts(d, se, f, image_id, 0, NULL, payload, 1, out);
}

void swmrbus__dx_image_ts(swmrbus__dx *d, swmrbus__dx_series *se, swmrbus_format f,
                          uint64_t image_id, uint64_t ts, const double *times,
                          zmq_msg_t *payloads, size_t n, const swmrbus_decode_sink *out)
{
    char why[200];
    se->last_use = ++d->clock;
    if (n != (se->n_channels > 1 ? se->n_channels : 1)) {
        snprintf(why, sizeof why, "image of %zu channels, the start said %zu", n,
                 se->n_channels > 1 ? se->n_channels : (size_t)1);
        reject(d, out, SWMRBUS_R_MISMATCH, se->id, why);
        goto out;
    }
    if ((se->size_y && f.shape[0] != se->size_y) || (se->size_x && f.shape[1] != se->size_x)) {
        snprintf(why, sizeof why, "image of %llux%llu, the start said %llux%llu",
                 (unsigned long long)f.shape[0], (unsigned long long)f.shape[1],
                 (unsigned long long)se->size_y, (unsigned long long)se->size_x);
        reject(d, out, SWMRBUS_R_MISMATCH, se->id, why);
        goto out;
    }
    if (se->started && !swmrbus_format_equal(&f, &se->format)) {
        snprintf(why, sizeof why, "image of %s/%s %llux%llu, the series is %s/%s %llux%llu",
                 swmrbus_dtype_name(f.dtype), swmrbus_encoding_name(f.encoding),
                 (unsigned long long)f.shape[0], (unsigned long long)f.shape[1],
                 swmrbus_dtype_name(se->format.dtype), swmrbus_encoding_name(se->format.encoding),
                 (unsigned long long)se->format.shape[0], (unsigned long long)se->format.shape[1]);
        reject(d, out, SWMRBUS_R_MISMATCH, se->id, why);
        goto out;
    }
    if (!se->started) {
        se->format = f;
        se->first_id = image_id;
        prune_arrays(se);
        if (!pack_start(d, se)) {
            reject(d, out, SWMRBUS_R_LIMIT, se->id, "out of memory");
            goto out;
        }
        se->started = true;
        emit_start(d, out, se);
    }
    if (image_id < se->first_id) {
        snprintf(why, sizeof why, "image %llu before the series' first (%llu, row 0)",
                 (unsigned long long)image_id, (unsigned long long)se->first_id);
        reject(d, out, SWMRBUS_R_BAD_HEADER, se->id, why);
        goto out;
    }
    uint64_t row = image_id - se->first_id;
    msgpack_packer pk;
    d->hdr.len = 0;
    msgpack_packer_init(&pk, &d->hdr, swmrbus_buf_write);
    int e = msgpack_pack_map(&pk, 3u + (ts != 0) + (times != NULL));
    e |= swmrbus_pack_kv_str(&pk, "type", "frame");
    e |= swmrbus_pack_kv_u64(&pk, "series", se->id);
    e |= swmrbus_pack_kv_u64(&pk, "frame", row);
    if (ts) e |= swmrbus_pack_kv_u64(&pk, "ts", ts);
    if (times) {
        e |= swmrbus_pack_cstr(&pk, "times");
        e |= msgpack_pack_array(&pk, 3);
        for (int i = 0; i < 3; i++)
            e |= isnan(times[i]) ? msgpack_pack_nil(&pk) : msgpack_pack_double(&pk, times[i]);
    }
    if (e) {
        reject(d, out, SWMRBUS_R_LIMIT, se->id, "out of memory");
        goto out;
    }
    if (row + 1 > se->rows && row < d->lim.max_frames) se->rows = row + 1;
    emit(d, out, payloads, n, se->id);
    return;
out:
    for (size_t k = 0; k < n; k++) zmq_msg_close(&payloads[k]);
}

void swmrbus__dx_end(swmrbus__dx *d, uint64_t id, const swmrbus_decode_sink *out)
{
    swmrbus__dx_series *se = swmrbus__dx_find(d, id);
    if (!se) {
        reject(d, out, SWMRBUS_R_BAD_HEADER, id, "end for a series with no start");
        return;
    }
    if (se->started) {
        msgpack_packer pk;
        d->hdr.len = 0;
        msgpack_packer_init(&pk, &d->hdr, swmrbus_buf_write);
        int e = msgpack_pack_map(&pk, 3);
        e |= swmrbus_pack_kv_str(&pk, "type", "end");
        e |= swmrbus_pack_kv_u64(&pk, "series", id);
        e |= swmrbus_pack_kv_u64(&pk, "frames", se->rows);
        if (e) reject(d, out, SWMRBUS_R_LIMIT, id, "out of memory");
        else emit(d, out, NULL, 0, id);
    }
    drop_series(se);
}

/* ---- times ------------------------------------------------------------- */

static bool digits(const char *s, size_t n, int *v)
{
    *v = 0;
    for (size_t i = 0; i < n; i++) {
        if (s[i] < '0' || s[i] > '9') return false;
        *v = *v * 10 + (s[i] - '0');
    }
    return true;
}

bool swmrbus__dx_rfc3339(const char *s, size_t n, uint64_t *ns)
{
    int Y, M, D, h, m, sec;
    /* YYYY-MM-DDTHH:MM:SS */
    if (n < 19 || s[4] != '-' || s[7] != '-' || (s[10] != 'T' && s[10] != 't' && s[10] != ' ') ||
        s[13] != ':' || s[16] != ':' || !digits(s, 4, &Y) || !digits(s + 5, 2, &M) ||
        !digits(s + 8, 2, &D) || !digits(s + 11, 2, &h) || !digits(s + 14, 2, &m) ||
        !digits(s + 17, 2, &sec))
        return false;
    if (Y < 1970 || Y > 2261 || M < 1 || M > 12 || D < 1 || D > 31 || h > 23 || m > 59 ||
        sec > 60)
        return false;
    size_t i = 19;
    uint64_t frac = 0, scale = 1000000000u;
    if (i < n && s[i] == '.') {
        i++;
        size_t start = i;
        for (; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (scale > 1) {
                scale /= 10;
                frac += (uint64_t)(s[i] - '0') * scale;
            }
        if (i == start) return false;
    }
    int64_t off = 0;
    if (i < n && (s[i] == 'Z' || s[i] == 'z')) {
        i++;
    } else if (i < n && (s[i] == '+' || s[i] == '-')) {
        int oh, om;
        if (n - i != 6 || s[i + 3] != ':' || !digits(s + i + 1, 2, &oh) ||
            !digits(s + i + 4, 2, &om) || oh > 23 || om > 59)
            return false;
        off = (int64_t)(oh * 3600 + om * 60) * (s[i] == '+' ? 1 : -1);
        i += 6;
    }
    if (i != n) return false;
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = Y - 1900;
    tm.tm_mon = M - 1;
    tm.tm_mday = D;
    tm.tm_hour = h;
    tm.tm_min = m;
    tm.tm_sec = sec;
    int64_t t = (int64_t)timegm(&tm) - off;
    if (t < 0 || t > 9000000000) return false;
    *ns = (uint64_t)t * 1000000000u + frac;
    return true;
}

uint64_t swmrbus__dx_add_rational(uint64_t base_ns, uint64_t num, uint64_t den)
{
    if (den == 0) return 0;
    unsigned __int128 v = (unsigned __int128)num * 1000000000u / den + base_ns;
    return v > UINT64_MAX ? 0 : (uint64_t)v;
}
