/* fuzz_header.c — libFuzzer target for the wire decoders.
 *
 * Input: one msgpack object (the header / notice map / request), then any
 * bytes (the payload). Inputs that do not split are fed whole. Besides "no
 * crash, no UB, no leak", it checks the decoders' promises and that
 * decode -> encode -> decode gives back what was decoded; a broken promise
 * aborts. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpread.h"
#include "swmrbus/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define CHECK(c)                                                                 \
    do {                                                                         \
        if (!(c)) {                                                              \
            fprintf(stderr, "%s:%d: broken promise: %s\n", __FILE__, __LINE__, #c); \
            abort();                                                             \
        }                                                                        \
    } while (0)

static bool inside(swmrbus_str s, const uint8_t *buf, size_t len)
{
    if (!s.ptr) return s.len == 0;
    const uint8_t *p = (const uint8_t *)s.ptr;
    return p >= buf && p + s.len <= buf + len;
}

static bool str_eq(swmrbus_str a, swmrbus_str b)
{
    if (!a.ptr || !b.ptr) return !a.ptr && !b.ptr;
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

typedef struct meta_count {
    size_t items;
} meta_count;

static int count_meta(const swmrbus_meta_item *it, void *user)
{
    meta_count *mc = user;
    mc->items++;
    CHECK(it->key.len >= 1 && it->key.len <= SWMRBUS_NAME_MAX);
    CHECK(it->is_array ? it->count <= 4096 : it->count == 1);
    if (it->kind == SWMRBUS_META_STR) {
        CHECK(!it->is_array);
    } else {
        /* touch every value so ASan sees any bad pointer */
        volatile double sink = 0;
        for (size_t k = 0; k < it->count; k++) {
            if (it->kind == SWMRBUS_META_UINT) sink += (double)it->u[k];
            else if (it->kind == SWMRBUS_META_FLOAT) sink += it->f[k];
            else sink += (double)it->i[k];
            if (it->kind == SWMRBUS_META_BOOL) CHECK(it->i[k] == 0 || it->i[k] == 1);
        }
        (void)sink;
    }
    return 0;
}

typedef struct ds_count {
    size_t n;
    uint64_t max_row;
} ds_count;

static int count_ds(const swmrbus_dataset *d, size_t index, void *user)
{
    ds_count *c = user;
    CHECK(index == c->n);
    c->n++;
    CHECK(swmrbus_path_ok(d->name));
    CHECK(d->format.ndim <= SWMRBUS_MAX_DATASET_DIMS);
    uint64_t raw = swmrbus_format_raw_bytes(&d->format);
    CHECK(raw > 0 && raw <= c->max_row);
    return 0;
}

static int count_static(const swmrbus_static_item *it, void *user)
{
    size_t *n = user;
    (*n)++;
    CHECK(swmrbus_path_ok(it->path));
    CHECK(it->count >= 1 && it->count <= SWMRBUS_STATIC_MAX);
    volatile size_t sink = 0;
    for (size_t k = 0; k < it->count; k++) {
        if (it->kind == SWMRBUS_META_STR) sink += it->is_array ? it->ss[k].len : it->s.len;
        else if (it->kind == SWMRBUS_META_UINT) sink += (size_t)it->u[k];
        else if (it->kind == SWMRBUS_META_FLOAT) sink += (size_t)(it->f[k] != 0);
        else sink += (size_t)it->i[k];
    }
    (void)sink;
    return 0;
}

static void check_header(const uint8_t *hdr, size_t hlen, const uint8_t *rest, size_t rlen)
{
    swmrbus_limits lim;
    swmrbus_header h;
    swmrbus_reason reason = SWMRBUS_R_COUNT;
    char why[128];
    swmrbus_limits_default(&lim);

    swmrbus_err e = swmrbus_header_decode(hdr, hlen, &lim, &h, &reason, why, sizeof why);
    CHECK(memchr(why, '\0', sizeof why) != NULL);
    for (const char *c = why; *c; c++) CHECK(*c >= 0x20 && *c <= 0x7e); /* one line */
    if (e != SWMRBUS_OK) {
        CHECK(e == SWMRBUS_EINVAL || e == SWMRBUS_ELIMIT);
        CHECK(why[0] != '\0');
        CHECK(reason < SWMRBUS_R_COUNT);
        CHECK((e == SWMRBUS_ELIMIT) == (reason == SWMRBUS_R_LIMIT));
        return;
    }
    CHECK(swmrbus_msgpack_scan(hdr, hlen, hlen, SWMRBUS_MAX_DEPTH, NULL, 0) == SWMRBUS_OK);
    CHECK(h.type != SWMRBUS_MSG_NONE);
    CHECK(inside(h.name, hdr, hlen) && inside(h.meta, hdr, hlen));
    CHECK(inside(h.origin_sink, hdr, hlen) && inside(h.origin_file, hdr, hlen));
    if (h.name.ptr) CHECK(h.name.len >= 1 && h.name.len <= SWMRBUS_NAME_MAX);
    if (h.type == SWMRBUS_MSG_START) CHECK(h.has_format != (h.n_datasets > 0));
    CHECK(inside(h.datasets, hdr, hlen) && inside(h.statics, hdr, hlen));
    if (h.n_datasets) {
        ds_count dc = {0, lim.max_frame_bytes};
        CHECK(swmrbus_datasets_foreach(h.datasets, count_ds, &dc) == SWMRBUS_OK);
        CHECK(dc.n == h.n_datasets && dc.n <= SWMRBUS_MAX_DATASETS);
    }
    size_t n_static = 0;
    CHECK(swmrbus_static_foreach(h.statics, count_static, &n_static) == SWMRBUS_OK);
    if (h.type == SWMRBUS_MSG_FRAME) CHECK(h.frame < lim.max_frames);
    if (h.type == SWMRBUS_MSG_END) CHECK(h.has_frames);
    if (h.has_format) {
        uint64_t raw = swmrbus_format_raw_bytes(&h.format);
        CHECK(raw > 0 && raw <= lim.max_frame_bytes);
        char pwhy[128];
        swmrbus_err pe = swmrbus_payload_check(&h.format, rest, rlen, pwhy, sizeof pwhy);
        CHECK(pe == SWMRBUS_OK || pe == SWMRBUS_EINVAL);
        if (pe == SWMRBUS_OK && h.format.encoding == SWMRBUS_ENC_RAW) CHECK(rlen == raw);
    }
    meta_count mc = {0};
    CHECK(swmrbus_meta_foreach(h.meta, count_meta, &mc) == SWMRBUS_OK);
    CHECK((mc.items > 0) <= (h.meta.len > 0));

    /* decode -> encode -> decode (meta aside: its items live only in the
     * callback) gives the same header */
    swmrbus_buf out = {0};
    swmrbus_header h2;
    swmrbus_header in = h;
    if (in.type != SWMRBUS_MSG_FRAME)
        in.has_format = in.type == SWMRBUS_MSG_START && in.n_datasets == 0;
    if (in.type != SWMRBUS_MSG_START) in.n_datasets = 0, in.statics.len = 0;
    CHECK(swmrbus_header_encode(&in, NULL, 0, &out) == SWMRBUS_OK);
    lim.max_header_bytes = out.len;
    CHECK(swmrbus_header_decode(out.data, out.len, &lim, &h2, &reason, why, sizeof why) ==
          SWMRBUS_OK);
    CHECK(h2.type == h.type && h2.series == h.series);
    switch (h.type) {
    case SWMRBUS_MSG_START:
        CHECK(swmrbus_format_equal(&h2.format, &h.format));
        CHECK(h2.n_datasets == h.n_datasets && str_eq(h2.datasets, h.datasets));
        CHECK(h2.statics.len == h.statics.len &&
              (h.statics.len == 0 || memcmp(h2.statics.ptr, h.statics.ptr, h.statics.len) == 0));
        CHECK(h2.has_frames == h.has_frames && h2.frames == h.frames);
        CHECK(str_eq(h2.name, h.name));
        CHECK(h2.has_origin == h.has_origin);
        CHECK(str_eq(h2.origin_sink, h.origin_sink) && str_eq(h2.origin_file, h.origin_file));
        CHECK(h2.has_origin_series == h.has_origin_series &&
              h2.origin_series == h.origin_series);
        break;
    case SWMRBUS_MSG_FRAME:
        CHECK(h2.frame == h.frame && h2.has_ts == h.has_ts && h2.ts == h.ts);
        CHECK(h2.has_format == h.has_format);
        if (h.has_format) {
            CHECK(swmrbus_format_equal(&h2.format, &h.format));
            CHECK(str_eq(h2.name, h.name));
        }
        break;
    case SWMRBUS_MSG_END:
        CHECK(h2.frames == h.frames);
        break;
    case SWMRBUS_MSG_NONE:
        break;
    }
    swmrbus_buf_free(&out);
}

static void check_notice(const char *topic, size_t tlen, const uint8_t *map, size_t mlen)
{
    swmrbus_notice n, n2;
    char why[128];
    swmrbus_err e = swmrbus_notice_decode(topic, tlen, map, mlen, 65536, &n, why, sizeof why);
    CHECK(memchr(why, '\0', sizeof why) != NULL);
    if (e != SWMRBUS_OK) {
        CHECK(e == SWMRBUS_EINVAL || e == SWMRBUS_ELIMIT);
        return;
    }
    CHECK(n.topic != SWMRBUS_TOPIC_NONE);
    CHECK(inside(n.file, map, mlen) && inside(n.dataset, map, mlen) &&
          inside(n.sink, map, mlen) && inside(n.via, map, mlen) && inside(n.error, map, mlen));
    swmrbus_buf out = {0};
    CHECK(swmrbus_notice_encode(&n, &out) == SWMRBUS_OK);
    const char *tn = swmrbus_topic_name(n.topic);
    CHECK(swmrbus_notice_decode(tn, strlen(tn), out.data, out.len, out.len, &n2, why,
                                sizeof why) == SWMRBUS_OK);
    CHECK(n2.topic == n.topic);
    CHECK(n2.has_series == n.has_series && n2.series == n.series);
    CHECK(n2.has_frames == n.has_frames && n2.frames == n.frames);
    CHECK(n2.has_written == n.has_written && n2.written == n.written);
    CHECK(n2.has_complete == n.has_complete && n2.complete == n.complete);
    CHECK(n2.has_seq == n.has_seq && n2.seq == n.seq);
    CHECK(n2.has_t == n.has_t && n2.t == n.t);
    CHECK(n2.has_count == n.has_count && n2.count == n.count);
    CHECK(n2.has_reason == n.has_reason && n2.reason == n.reason);
    CHECK(str_eq(n2.file, n.file) && str_eq(n2.dataset, n.dataset));
    CHECK(str_eq(n2.sink, n.sink) && str_eq(n2.via, n.via) && str_eq(n2.error, n.error));
    swmrbus_buf_free(&out);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const char *const topics[] = {SWMRBUS_TOPIC_OPEN, SWMRBUS_TOPIC_FLUSHED,
                                         SWMRBUS_TOPIC_CLOSED, SWMRBUS_TOPIC_ERROR};
    char why[64];

    /* split: the first msgpack object, then the rest */
    size_t hlen = size;
    swmrbus__mp mp;
    swmrbus__mp_init(&mp, data, size);
    if (swmrbus__mp_skip(&mp) == SWMRBUS_OK) hlen = size - swmrbus__mp_left(&mp);
    const uint8_t *rest = data + hlen;
    size_t rlen = size - hlen;

    /* the scanner: whole input and the first object, at every depth bound */
    swmrbus_err e = swmrbus_msgpack_scan(data, size, 65536, SWMRBUS_MAX_DEPTH, why, sizeof why);
    CHECK(e == SWMRBUS_OK || e == SWMRBUS_EINVAL || e == SWMRBUS_ELIMIT);
    if (size > 0 && size <= 65536 && hlen < size) CHECK(e == SWMRBUS_EINVAL); /* trailing */
    unsigned depth = size > 0 ? data[0] % 10u : 0;
    (void)swmrbus_msgpack_scan(data, hlen, 65536, depth, why, sizeof why);

    check_header(data, hlen, rest, rlen);
    if (rlen > 0) check_header(data, size, NULL, 0);

    check_notice(topics[size % 4], strlen(topics[size % 4]), data, hlen);
    if (rlen > 0) check_notice((const char *)rest, rlen > 20 ? 20 : rlen, data, hlen);

    swmrbus_request q;
    e = swmrbus_request_decode(data, hlen, 4096, &q, why, sizeof why);
    CHECK(e == SWMRBUS_OK ? q.cmd != SWMRBUS_CMD_NONE : e == SWMRBUS_EINVAL);
    return 0;
}
