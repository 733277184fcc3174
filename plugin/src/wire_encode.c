/* wire_encode.c — encoders for frame-stream headers and notification maps,
 * with msgpack-c's packer writing into a swmrbus_buf (grown by doubling).
 * Everything is validated before the first byte is packed, so an encoder
 * fails either with EINVAL and nothing packed, or with ENOMEM. */
#include <math.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>

#include "swmrbus/wire.h"

#define META_ARRAY_MAX 4096

/* A string is present when its ptr is set ("" included). */
static bool str_set(swmrbus_str s)
{
    return s.ptr != NULL;
}

/* Fits msgpack's str32: at most 4 GiB - 1 bytes. */
static bool str_ok(swmrbus_str s)
{
    return s.len <= UINT32_MAX;
}

static bool has_nul(swmrbus_str s)
{
    return s.len > 0 && memchr(s.ptr, '\0', s.len) != NULL;
}

static bool name_ok(swmrbus_str s)
{
    return s.len >= 1 && s.len <= SWMRBUS_NAME_MAX && !has_nul(s);
}

static int pack_str(msgpack_packer *pk, swmrbus_str s)
{
    if (msgpack_pack_str(pk, s.len) != 0) return -1;
    return s.len ? msgpack_pack_str_body(pk, s.ptr, s.len) : 0;
}

static int pack_key(msgpack_packer *pk, const char *k)
{
    return msgpack_pack_str_with_body(pk, k, strlen(k));
}

static bool meta_item_ok(const swmrbus_meta_item *m)
{
    if (!m->key.ptr || !name_ok(m->key)) return false;
    size_t count = m->is_array ? m->count : 1;
    if (m->is_array && count > META_ARRAY_MAX) return false;
    switch (m->kind) {
    case SWMRBUS_META_INT:
    case SWMRBUS_META_BOOL: return count == 0 || m->i != NULL;
    case SWMRBUS_META_UINT: return count == 0 || m->u != NULL;
    case SWMRBUS_META_FLOAT: return count == 0 || m->f != NULL;
    case SWMRBUS_META_STR: return !m->is_array && m->s.ptr != NULL && str_ok(m->s);
    }
    return false;
}

static int pack_meta_value(msgpack_packer *pk, const swmrbus_meta_item *m, size_t k)
{
    switch (m->kind) {
    /* INT keeps a signed format even for values >= 0, so the decoder gives
     * INT back (a plain int would come back as UINT). */
    case SWMRBUS_META_INT: return msgpack_pack_fix_int64(pk, m->i[k]);
    case SWMRBUS_META_UINT: return msgpack_pack_uint64(pk, m->u[k]);
    case SWMRBUS_META_FLOAT: return msgpack_pack_double(pk, m->f[k]);
    case SWMRBUS_META_BOOL: return m->i[k] ? msgpack_pack_true(pk) : msgpack_pack_false(pk);
    case SWMRBUS_META_STR: return pack_str(pk, m->s);
    }
    return -1;
}

static int pack_meta(msgpack_packer *pk, const swmrbus_meta_item *meta, size_t n_meta)
{
    if (msgpack_pack_map(pk, n_meta) != 0) return -1;
    for (size_t k = 0; k < n_meta; k++) {
        const swmrbus_meta_item *m = &meta[k];
        if (pack_str(pk, m->key) != 0) return -1;
        if (!m->is_array) {
            if (pack_meta_value(pk, m, 0) != 0) return -1;
            continue;
        }
        if (msgpack_pack_array(pk, m->count) != 0) return -1;
        for (size_t e = 0; e < m->count; e++)
            if (pack_meta_value(pk, m, e) != 0) return -1;
    }
    return 0;
}

static int pack_format(msgpack_packer *pk, const swmrbus_format *f)
{
    const char *dt = swmrbus_dtype_name(f->dtype), *en = swmrbus_encoding_name(f->encoding);
    if (pack_key(pk, "dtype") || pack_key(pk, dt) || pack_key(pk, "shape") ||
        msgpack_pack_array(pk, f->ndim))
        return -1;
    for (uint32_t d = 0; d < f->ndim; d++)
        if (msgpack_pack_uint64(pk, f->shape[d])) return -1;
    return pack_key(pk, "encoding") || pack_key(pk, en) ? -1 : 0;
}

static bool format_ok(const swmrbus_format *f)
{
    return swmrbus_dtype_name(f->dtype) && swmrbus_encoding_name(f->encoding) &&
           swmrbus_format_raw_bytes(f) != 0;
}

static int pack_origin(msgpack_packer *pk, const swmrbus_header *h)
{
    size_t n = (size_t)str_set(h->origin_sink) + h->has_origin_series +
               (size_t)str_set(h->origin_file);
    if (pack_key(pk, "origin") || msgpack_pack_map(pk, n)) return -1;
    if (str_set(h->origin_sink) && (pack_key(pk, "sink") || pack_str(pk, h->origin_sink)))
        return -1;
    if (h->has_origin_series &&
        (pack_key(pk, "series") || msgpack_pack_uint64(pk, h->origin_series)))
        return -1;
    if (str_set(h->origin_file) && (pack_key(pk, "file") || pack_str(pk, h->origin_file)))
        return -1;
    return 0;
}

swmrbus_err swmrbus_header_encode(const swmrbus_header *h, const swmrbus_meta_item *meta,
                                  size_t n_meta, swmrbus_buf *out)
{
    swmrbus_err err = SWMRBUS_EINVAL;
    msgpack_packer pk;
    size_t entries = 2; /* type, series */
    bool with_format = false, with_name = false, with_meta = false;
    bool with_ds = false, with_static = false; /* start.datasets / start.static */
    bool with_ch = false;                      /* start.channels (README "Channels") */
    bool with_arr = false;                     /* start.arrays (README "Start arrays") */
    bool with_times = false;                   /* start/frame times ("Per-frame times") */

    if (!h || !out) goto out;
    out->len = 0;
    with_name = str_set(h->name) && h->name.len > 0; /* "" counts as absent */
    if (with_name && !name_ok(h->name)) goto out;
    switch (h->type) {
    case SWMRBUS_MSG_START:
        /* Named datasets (already valid msgpack, copied as they are) replace
         * the top-level format. */
        with_ds = h->n_datasets > 0;
        if (with_ds && swmrbus_datasets_foreach(h->datasets, NULL, NULL) != SWMRBUS_OK)
            goto out;
        with_static = h->statics.len > 0;
        if (with_static && swmrbus_static_foreach(h->statics, NULL, NULL) != SWMRBUS_OK)
            goto out;
        with_ch = h->n_channels > 0 && !with_ds;
        if (with_ch && swmrbus_channel_name(h->channels, h->n_channels - 1, &(swmrbus_str){0}) !=
                           SWMRBUS_OK)
            goto out;
        if (!with_ds && !format_ok(&h->format)) goto out;
        with_format = !with_ds;
        with_meta = n_meta > 0;
        if (with_meta && (!meta || n_meta > UINT32_MAX)) goto out;
        for (size_t k = 0; k < n_meta && with_meta; k++)
            if (!meta_item_ok(&meta[k])) goto out;
        /* what the decoder takes: sink <= SWMRBUS_NAME_MAX, no NUL in either */
        if (h->has_origin &&
            ((str_set(h->origin_sink) &&
              (h->origin_sink.len > SWMRBUS_NAME_MAX || has_nul(h->origin_sink))) ||
             (str_set(h->origin_file) && (!str_ok(h->origin_file) || has_nul(h->origin_file)))))
            goto out;
        with_arr = h->n_arrays > 0;
        if (with_arr && (h->n_arrays > SWMRBUS_MAX_START_ARRAYS ||
                         swmrbus_datasets_foreach(h->arrays, NULL, NULL) != SWMRBUS_OK))
            goto out;
        with_times = h->times;
        entries += (with_format ? 3 : 1) + (size_t)h->has_frames + with_name + with_meta +
                   h->has_origin + with_static + with_ch + with_arr + with_times;
        break;
    case SWMRBUS_MSG_FRAME:
        /* an implicit start: the format (and name) ride along when set */
        with_format = h->has_format;
        if (with_format && !format_ok(&h->format)) goto out;
        with_name = with_name && with_format;
        with_times = h->has_frame_times;
        entries += 1 + (size_t)h->has_ts + (with_format ? 3 : 0) + with_name + with_times;
        break;
    case SWMRBUS_MSG_END:
        with_name = false;
        entries += 1;
        break;
    default:
        goto out;
    }

    err = SWMRBUS_ENOMEM;
    msgpack_packer_init(&pk, out, swmrbus_buf_write);
    static const char *const type_names[] = {NULL, "start", "frame", "end"};
    if (msgpack_pack_map(&pk, entries) || pack_key(&pk, "type") ||
        pack_key(&pk, type_names[h->type]) || pack_key(&pk, "series") ||
        msgpack_pack_uint64(&pk, h->series))
        goto out;
    if (h->type == SWMRBUS_MSG_FRAME &&
        (pack_key(&pk, "frame") || msgpack_pack_uint64(&pk, h->frame) ||
         (h->has_ts && (pack_key(&pk, "ts") || msgpack_pack_uint64(&pk, h->ts)))))
        goto out;
    if (with_format && pack_format(&pk, &h->format)) goto out;
    if ((h->type == SWMRBUS_MSG_END || (h->type == SWMRBUS_MSG_START && h->has_frames)) &&
        (pack_key(&pk, "frames") || msgpack_pack_uint64(&pk, h->frames)))
        goto out;
    if (with_name && (pack_key(&pk, "name") || pack_str(&pk, h->name))) goto out;
    if (with_meta && (pack_key(&pk, "meta") || pack_meta(&pk, meta, n_meta))) goto out;
    if (h->type == SWMRBUS_MSG_START && h->has_origin && pack_origin(&pk, h)) goto out;
    if (with_ds && (pack_key(&pk, "datasets") ||
                    swmrbus_buf_write(out, h->datasets.ptr, h->datasets.len)))
        goto out;
    if (with_ch && (pack_key(&pk, "channels") ||
                    swmrbus_buf_write(out, h->channels.ptr, h->channels.len)))
        goto out;
    if (with_static && (pack_key(&pk, "static") ||
                        swmrbus_buf_write(out, h->statics.ptr, h->statics.len)))
        goto out;
    if (with_arr && (pack_key(&pk, "arrays") ||
                     swmrbus_buf_write(out, h->arrays.ptr, h->arrays.len)))
        goto out;
    if (with_times && h->type == SWMRBUS_MSG_START &&
        (pack_key(&pk, "times") || msgpack_pack_true(&pk)))
        goto out;
    if (with_times && h->type == SWMRBUS_MSG_FRAME) { /* NaN: nil (not known) */
        if (pack_key(&pk, "times") || msgpack_pack_array(&pk, 3)) goto out;
        for (int i = 0; i < 3; i++)
            if (isnan(h->frame_times[i]) ? msgpack_pack_nil(&pk)
                                         : msgpack_pack_double(&pk, h->frame_times[i]))
                goto out;
    }
    err = SWMRBUS_OK;
out:
    if (err != SWMRBUS_OK && out) out->len = 0;
    return err;
}

swmrbus_err swmrbus_notice_encode(const swmrbus_notice *n, swmrbus_buf *out)
{
    swmrbus_err err = SWMRBUS_EINVAL;
    msgpack_packer pk;
    const struct {
        const char *key;
        bool has;
        uint64_t v;
    } uints[] = {
        {"series", n ? n->has_series : false, n ? n->series : 0},
        {"frames", n ? n->has_frames : false, n ? n->frames : 0},
        {"written", n ? n->has_written : false, n ? n->written : 0},
        {"complete", n ? n->has_complete : false, n ? n->complete : 0},
        {"seq", n ? n->has_seq : false, n ? n->seq : 0},
        {"t", n ? n->has_t : false, n ? n->t : 0},
        {"count", n ? n->has_count : false, n ? n->count : 0},
        {"shard", n ? n->has_shard : false, n ? n->shard : 0}, /* issue 12 */
        {"shards", n ? n->has_shards && !n->has_shard_frames : false, n ? n->shards : 0},
    };
    struct {
        const char *key;
        swmrbus_str s;
    } strs[] = {
        {"file", {NULL, 0}}, {"dataset", {NULL, 0}}, {"sink", {NULL, 0}},
        {"via", {NULL, 0}},  {"error", {NULL, 0}},
    };
    size_t entries = 0;
    const size_t n_uints = sizeof uints / sizeof uints[0];
    const size_t n_strs = sizeof strs / sizeof strs[0];

    if (!n || !out) goto out;
    out->len = 0;
    strs[0].s = n->file;
    strs[1].s = n->dataset;
    strs[2].s = n->sink;
    strs[3].s = n->via;
    strs[4].s = n->error;
    const char *reason = n->has_reason ? swmrbus_reason_name(n->reason) : NULL;
    if (n->has_reason && !reason) goto out;
    for (size_t k = 0; k < n_uints; k++) entries += uints[k].has;
    for (size_t k = 0; k < n_strs; k++) {
        if (str_set(strs[k].s) && !str_ok(strs[k].s)) goto out;
        entries += str_set(strs[k].s);
    }
    entries += n->has_reason;
    /* scale-out (issue 12): a coordinator's per-shard N */
    if (n->has_shard_frames && (!n->has_shards || n->shards > SWMRBUS_MAX_SHARDS)) goto out;
    entries += n->has_shard_frames;

    err = SWMRBUS_ENOMEM;
    msgpack_packer_init(&pk, out, swmrbus_buf_write);
    if (msgpack_pack_map(&pk, entries)) goto out;
    for (size_t k = 0; k < n_uints; k++)
        if (uints[k].has && (pack_key(&pk, uints[k].key) || msgpack_pack_uint64(&pk, uints[k].v)))
            goto out;
    for (size_t k = 0; k < n_strs; k++)
        if (str_set(strs[k].s) && (pack_key(&pk, strs[k].key) || pack_str(&pk, strs[k].s)))
            goto out;
    if (reason && (pack_key(&pk, "reason") || pack_key(&pk, reason))) goto out;
    if (n->has_shard_frames) {
        if (pack_key(&pk, "shards") || msgpack_pack_array(&pk, (size_t)n->shards)) goto out;
        for (uint64_t k = 0; k < n->shards; k++)
            if (msgpack_pack_uint64(&pk, n->shard_frames[k])) goto out;
    }
    err = SWMRBUS_OK;
out:
    if (err != SWMRBUS_OK && out) out->len = 0;
    return err;
}
