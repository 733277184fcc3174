/* test_codec_dectris2.c — the Dectris stream v2 decoder (codec_dectris2.c)
 * on CBOR messages built with libcbor's encoder: what it emits (wire
 * protocol v1 headers that swmrbus_header_decode accepts, zero-copy
 * payloads), and what it rejects, with which reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cbor.h>
#include <cmocka.h>
#include <zmq.h>

#include "codec_dectris.h"
#include "swmrbus/codec.h"
#include "swmrbus/config.h"

#define X 40u
#define Y 24u
#define MAXREC 32

typedef struct rec {
    int n_emit;
    uint8_t hdr[MAXREC][8192];
    size_t hlen[MAXREC];
    swmrbus_header h[MAXREC];
    const uint8_t *pdata[MAXREC];
    size_t plen[MAXREC];
    size_t n_payloads[MAXREC];
    int n_rej;
    swmrbus_reason reason[MAXREC];
    char why[MAXREC][240];
} rec;

static void on_emit(void *user, zmq_msg_t *header, zmq_msg_t *payloads, size_t n)
{
    rec *r = user;
    assert_true(r->n_emit < MAXREC);
    int i = r->n_emit++;
    assert_true(zmq_msg_size(header) <= sizeof r->hdr[i]);
    r->hlen[i] = zmq_msg_size(header);
    memcpy(r->hdr[i], zmq_msg_data(header), r->hlen[i]);
    swmrbus_limits lim;
    swmrbus_limits_default(&lim);
    swmrbus_reason why;
    char text[200];
    assert_int_equal(swmrbus_header_decode(r->hdr[i], r->hlen[i], &lim, &r->h[i], &why, text,
                                           sizeof text),
                     SWMRBUS_OK);
    r->n_payloads[i] = n;
    if (n) {
        r->pdata[i] = zmq_msg_data(&payloads[0]);
        r->plen[i] = zmq_msg_size(&payloads[0]);
    }
    zmq_msg_close(header);
    for (size_t k = 0; k < n; k++) zmq_msg_close(&payloads[k]);
}

static void on_reject(void *user, swmrbus_reason reason, bool has_series, uint64_t series,
                      const char *why)
{
    (void)has_series;
    (void)series;
    rec *r = user;
    assert_true(r->n_rej < MAXREC);
    r->reason[r->n_rej] = reason;
    snprintf(r->why[r->n_rej], sizeof r->why[0], "%s", why);
    r->n_rej++;
}

/* ---- CBOR built with libcbor --------------------------------------------- */

static void kv(cbor_item_t *map, const char *k, cbor_item_t *v)
{
    assert_true(cbor_map_add(map, (struct cbor_pair){cbor_move(cbor_build_string(k)),
                                                     cbor_move(v)}));
}

static cbor_item_t *start_item(uint64_t id, size_t channels)
{
    cbor_item_t *m = cbor_new_definite_map(20);
    kv(m, "type", cbor_build_string("start"));
    kv(m, "series_id", cbor_build_uint64(id));
    kv(m, "series_unique_id", cbor_build_string("uniq-7"));
    kv(m, "image_size_x", cbor_build_uint32(X));
    kv(m, "image_size_y", cbor_build_uint32(Y));
    kv(m, "number_of_images", cbor_build_uint8(3));
    cbor_item_t *ch = cbor_new_definite_array(channels);
    for (size_t i = 0; i < channels; i++) {
        char name[32];
        snprintf(name, sizeof name, "t%zu", i + 1);
        assert_true(cbor_array_push(ch, cbor_move(cbor_build_string(name))));
    }
    kv(m, "channels", ch);
    kv(m, "beam_center_x", cbor_build_float8(1.5));
    kv(m, "beam_center_y", cbor_build_string("not a number: skipped"));
    kv(m, "sensor_material", cbor_build_string("Si"));
    kv(m, "saturation_value", cbor_build_uint32(65535));
    kv(m, "flatfield_enabled", cbor_build_bool(true));
    cbor_item_t *th = cbor_new_definite_map(1);
    kv(th, "t1", cbor_build_float4(8000.0f));
    kv(m, "threshold_energy", th);
    kv(m, "unknown_future_key", cbor_new_definite_array(0));
    return m;
}

/* tag 40 [[Y, X], tag typed (tag 56500 [alg, elem, bytes] | bytes)] */
static cbor_item_t *image_data(uint64_t typed, const char *alg, uint64_t elem,
                               const uint8_t *p, size_t n, uint64_t y)
{
    cbor_item_t *dims = cbor_new_definite_array(2);
    assert_true(cbor_array_push(dims, cbor_move(cbor_build_uint64(y))));
    assert_true(cbor_array_push(dims, cbor_move(cbor_build_uint64(X))));
    cbor_item_t *bytes = cbor_build_bytestring(p, n);
    cbor_item_t *data = bytes;
    if (alg) {
        cbor_item_t *c = cbor_new_definite_array(3);
        assert_true(cbor_array_push(c, cbor_move(cbor_build_string(alg))));
        assert_true(cbor_array_push(c, cbor_move(cbor_build_uint64(elem))));
        assert_true(cbor_array_push(c, cbor_move(bytes)));
        data = cbor_build_tag(56500, cbor_move(c));
    }
    cbor_item_t *md = cbor_new_definite_array(2);
    assert_true(cbor_array_push(md, cbor_move(dims)));
    assert_true(cbor_array_push(md, cbor_move(cbor_build_tag(typed, cbor_move(data)))));
    return cbor_build_tag(40, cbor_move(md));
}

static cbor_item_t *image_item(uint64_t id, uint64_t image_id, cbor_item_t *data)
{
    cbor_item_t *m = cbor_new_definite_map(5);
    kv(m, "type", cbor_build_string("image"));
    kv(m, "series_id", cbor_build_uint64(id));
    kv(m, "image_id", cbor_build_uint64(image_id));
    cbor_item_t *d = cbor_new_definite_map(1);
    kv(d, "t1", data);
    kv(m, "data", d);
    cbor_item_t *rt = cbor_new_definite_array(2);
    assert_true(cbor_array_push(rt, cbor_move(cbor_build_uint8(1))));
    assert_true(cbor_array_push(rt, cbor_move(cbor_build_uint8(100))));
    kv(m, "real_time", rt);
    return m;
}

static cbor_item_t *end_item(uint64_t id)
{
    cbor_item_t *m = cbor_new_definite_map(2);
    kv(m, "type", cbor_build_string("end"));
    kv(m, "series_id", cbor_build_uint64(id));
    return m;
}

/* A valid-looking bslz4 chunk of a Y x X uint32 image (not decoded here). */
static size_t chunk(uint8_t *c, size_t cap)
{
    uint64_t raw = (uint64_t)X * Y * 4;
    assert_true(cap >= 300);
    memset(c, 0xab, 300);
    for (int i = 0; i < 8; i++) c[i] = (uint8_t)(raw >> (56 - 8 * i));
    uint32_t block = 8192;
    for (int i = 0; i < 4; i++) c[8 + i] = (uint8_t)(block >> (24 - 8 * i));
    return 300;
}

/* ---- feeding ------------------------------------------------------------ */

typedef struct fx {
    const swmrbus_decoder_vtable *vt;
    void *st;
    swmrbus_component_cfg cfg;
    rec r;
    zmq_msg_t last; /* the last message fed (open until the next feed) */
    bool has_last;
} fx;

static int setup(void **state)
{
    fx *f = calloc(1, sizeof *f);
    f->vt = swmrbus_decoder_find("dectris-stream2");
    assert_non_null(f->vt);
    swmrbus_limits_default(&f->cfg.limits);
    f->cfg.max_start_bytes = SWMRBUS_DEFAULT_MAX_START_BYTES;
    char err[200];
    assert_int_equal(f->vt->create(&f->cfg, &f->st, err, sizeof err), SWMRBUS_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    fx *f = *state;
    if (f->has_last) zmq_msg_close(&f->last);
    f->vt->destroy(&f->st);
    assert_null(f->st);
    free(f);
    return 0;
}

static void feed_bytes(fx *f, const void *p, size_t n)
{
    if (f->has_last) zmq_msg_close(&f->last);
    assert_int_equal(zmq_msg_init_size(&f->last, n), 0);
    if (n) memcpy(zmq_msg_data(&f->last), p, n);
    f->has_last = true;
    const swmrbus_decode_sink out = {on_emit, on_reject, &f->r, NULL};
    f->vt->feed(f->st, &f->last, 1, &out);
}

static void feed(fx *f, cbor_item_t *it)
{
    unsigned char *buf = NULL;
    size_t cap = 0;
    size_t n = cbor_serialize_alloc(it, &buf, &cap);
    assert_true(n > 0);
    cbor_decref(&it);
    feed_bytes(f, buf, n);
    free(buf);
}

static bool meta_has(swmrbus_str meta, const char *key);

static void test_series(void **state)
{
    fx *f = *state;
    uint8_t c[512];
    size_t n = chunk(c, sizeof c);
    feed(f, start_item(7, 1));
    assert_int_equal(f->r.n_emit, 0); /* the start waits for the first image */
    assert_int_equal(f->r.n_rej, 0);
    feed(f, image_item(7, 1, image_data(70, "bslz4", 4, c, n, Y)));
    assert_int_equal(f->r.n_rej, 0);
    assert_int_equal(f->r.n_emit, 2);
    swmrbus_header *h = &f->r.h[0];
    assert_int_equal(h->type, SWMRBUS_MSG_START);
    assert_int_equal(h->series, 7);
    assert_int_equal(h->format.dtype, SWMRBUS_DTYPE_UINT32);
    assert_int_equal(h->format.encoding, SWMRBUS_ENC_BSLZ4);
    assert_int_equal(h->format.ndim, 2);
    assert_int_equal(h->format.shape[0], Y);
    assert_int_equal(h->format.shape[1], X);
    assert_true(h->has_frames && h->frames == 3);
    assert_int_equal(h->name.len, 6);
    assert_memory_equal(h->name.ptr, "uniq-7", 6);
    assert_true(meta_has(h->meta, "definition"));
    assert_true(meta_has(h->meta, "beam_center_x"));
    assert_false(meta_has(h->meta, "beam_center_y")); /* wrong type: skipped */
    assert_true(meta_has(h->meta, "saturation_value"));
    assert_true(meta_has(h->meta, "flatfield_applied"));
    assert_true(meta_has(h->meta, "threshold_energy"));
    assert_false(meta_has(h->meta, "unknown_future_key"));
    assert_true(meta_has(h->meta, "first_image_id"));
    h = &f->r.h[1];
    assert_int_equal(h->type, SWMRBUS_MSG_FRAME);
    assert_int_equal(h->frame, 0); /* image_id 1 -> row 0 */
    assert_int_equal(f->r.n_payloads[1], 1);
    assert_int_equal(f->r.plen[1], n);
    /* zero-copy: the payload lies inside the message fed */
    const uint8_t *base = zmq_msg_data(&f->last);
    assert_true(f->r.pdata[1] >= base &&
                f->r.pdata[1] + n <= base + zmq_msg_size(&f->last));
    assert_memory_equal(f->r.pdata[1], c, n);
    assert_int_equal(swmrbus_payload_check(&f->r.h[0].format, f->r.pdata[1], n, NULL, 0),
                     SWMRBUS_OK);
    feed(f, image_item(7, 3, image_data(70, "bslz4", 4, c, n, Y)));
    assert_int_equal(f->r.h[2].frame, 2);
    feed(f, end_item(7));
    assert_int_equal(f->r.n_emit, 4);
    assert_int_equal(f->r.h[3].type, SWMRBUS_MSG_END);
    assert_int_equal(f->r.h[3].frames, 3); /* highest row + 1 */
    assert_int_equal(f->r.n_rej, 0);
    /* the series is over: an image for it is rejected */
    feed(f, image_item(7, 4, image_data(70, "bslz4", 4, c, n, Y)));
    assert_int_equal(f->r.n_rej, 1);
    assert_int_equal(f->r.reason[0], SWMRBUS_R_BAD_HEADER);
}

typedef struct find_key {
    const char *key;
    bool found;
} find_key;

static int find_cb(const swmrbus_meta_item *it, void *user)
{
    find_key *k = user;
    if (it->key.len == strlen(k->key) && memcmp(it->key.ptr, k->key, it->key.len) == 0)
        k->found = true;
    return 0;
}

static bool meta_has(swmrbus_str meta, const char *key)
{
    find_key k = {key, false};
    assert_int_equal(swmrbus_meta_foreach(meta, find_cb, &k), SWMRBUS_OK);
    return k.found;
}

static void test_raw_and_lz4(void **state)
{
    fx *f = *state;
    uint16_t px[X * Y];
    for (size_t i = 0; i < X * Y; i++) px[i] = (uint16_t)i;
    feed(f, start_item(1, 1));
    feed(f, image_item(1, 0, image_data(69, NULL, 0, (const uint8_t *)px, sizeof px, Y)));
    assert_int_equal(f->r.n_rej, 0);
    assert_int_equal(f->r.h[0].format.dtype, SWMRBUS_DTYPE_UINT16);
    assert_int_equal(f->r.h[0].format.encoding, SWMRBUS_ENC_RAW);
    assert_int_equal(f->r.plen[1], sizeof px);
    /* the same series in lz4: a mismatch */
    feed(f, image_item(1, 1, image_data(69, "lz4", 0, (const uint8_t *)px, 100, Y)));
    assert_int_equal(f->r.n_rej, 1);
    assert_int_equal(f->r.reason[0], SWMRBUS_R_MISMATCH);
}

static void test_rejects(void **state)
{
    fx *f = *state;
    uint8_t c[512];
    size_t n = chunk(c, sizeof c);
    /* image before start */
    feed(f, image_item(5, 1, image_data(70, "bslz4", 4, c, n, Y)));
    assert_int_equal(f->r.reason[f->r.n_rej - 1], SWMRBUS_R_BAD_HEADER);
    feed(f, start_item(5, 1));
    /* start for an open series */
    feed(f, start_item(5, 1));
    assert_int_equal(f->r.reason[f->r.n_rej - 1], SWMRBUS_R_MISMATCH);
    /* element size disagreeing with the typed array */
    feed(f, image_item(5, 1, image_data(70, "bslz4", 2, c, n, Y)));
    assert_int_equal(f->r.reason[f->r.n_rej - 1], SWMRBUS_R_BAD_PAYLOAD);
    /* dims disagreeing with the start */
    feed(f, image_item(5, 1, image_data(70, "bslz4", 4, c, n, Y + 1)));
    assert_int_equal(f->r.reason[f->r.n_rej - 1], SWMRBUS_R_MISMATCH);
    /* big-endian typed array, float16, unknown compression */
    feed(f, image_item(5, 1, image_data(66, "bslz4", 4, c, n, Y)));
    assert_int_equal(f->r.reason[f->r.n_rej - 1], SWMRBUS_R_BAD_HEADER);
    feed(f, image_item(5, 1, image_data(84, NULL, 0, c, n, Y)));
    assert_int_equal(f->r.reason[f->r.n_rej - 1], SWMRBUS_R_BAD_HEADER);
    feed(f, image_item(5, 1, image_data(70, "zstd", 4, c, n, Y)));
    assert_int_equal(f->r.reason[f->r.n_rej - 1], SWMRBUS_R_BAD_HEADER);
    /* more channels than a series holds (16) */
    feed(f, start_item(6, 17));
    assert_int_equal(f->r.reason[f->r.n_rej - 1], SWMRBUS_R_LIMIT);
    int rej = f->r.n_rej;
    assert_int_equal(f->r.n_emit, 0);

    /* bytes: truncated, indefinite, beyond, nested, trailing, not a map */
    static const uint8_t indef[] = {0xbf, 0x64, 't', 'y', 'p', 'e', 0x63, 'e', 'n', 'd', 0xff};
    static const uint8_t indef_str[] = {0xa1, 0x64, 't', 'y', 'p', 'e', 0x7f, 0x63,
                                        'e',  'n',  'd', 0xff};
    static const uint8_t beyond[] = {0xa2, 0x64, 't', 'y', 'p', 'e', 0x63, 'e', 'n', 'd',
                                     0x61, 'x', 0x5a, 0x00, 0x10, 0x00, 0x00, 'a'};
    static const uint8_t count[] = {0xa2, 0x64, 't', 'y', 'p', 'e', 0x63, 'e', 'n', 'd',
                                    0x61, 'x', 0x9b, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
                                    0xff, 0xff};
    static const uint8_t trailing[] = {0xa2, 0x64, 't', 'y', 'p', 'e', 0x63, 'e', 'n', 'd',
                                       0x69, 's', 'e', 'r', 'i', 'e', 's', '_', 'i', 'd', 0x05,
                                       0x00};
    static const uint8_t notmap[] = {0x83, 0x01, 0x02, 0x03};
    uint8_t deep[64] = {0xa2, 0x64, 't', 'y', 'p', 'e', 0x63, 'e', 'n', 'd', 0x61, 'x'};
    memset(deep + 12, 0x81, 40);
    deep[52] = 0x00;
    feed_bytes(f, indef, sizeof indef);
    assert_non_null(strstr(f->r.why[f->r.n_rej - 1], "indefinite"));
    feed_bytes(f, indef_str, sizeof indef_str);
    assert_non_null(strstr(f->r.why[f->r.n_rej - 1], "indefinite"));
    feed_bytes(f, beyond, sizeof beyond);
    assert_non_null(strstr(f->r.why[f->r.n_rej - 1], "truncated"));
    feed_bytes(f, count, sizeof count);
    assert_non_null(strstr(f->r.why[f->r.n_rej - 1], "beyond the message"));
    feed_bytes(f, deep, 53);
    assert_non_null(strstr(f->r.why[f->r.n_rej - 1], "nested"));
    feed_bytes(f, trailing, sizeof trailing);
    assert_non_null(strstr(f->r.why[f->r.n_rej - 1], "after the message"));
    feed_bytes(f, notmap, sizeof notmap);
    feed_bytes(f, "", 0);
    feed_bytes(f, indef, 5); /* truncated */
    assert_int_equal(f->r.n_rej, rej + 9);
    assert_int_equal(f->r.n_emit, 0);
    /* the open series still works */
    feed(f, image_item(5, 1, image_data(70, "bslz4", 4, c, n, Y)));
    assert_int_equal(f->r.n_emit, 2);
    assert_int_equal(f->r.n_rej, rej + 9);
}

static void test_max_start_bytes(void **state)
{
    fx *f = *state;
    f->vt->destroy(&f->st);
    f->cfg.max_start_bytes = 64;
    char err[100];
    assert_int_equal(f->vt->create(&f->cfg, &f->st, err, sizeof err), SWMRBUS_OK);
    feed(f, start_item(2, 1));
    assert_int_equal(f->r.n_rej, 1);
    assert_int_equal(f->r.reason[0], SWMRBUS_R_LIMIT);
    assert_non_null(strstr(f->r.why[0], "max_start_bytes"));
}

static void test_slots_recycled(void **state)
{
    fx *f = *state;
    /* more starts without end than slots: the oldest gives way */
    for (uint64_t id = 100; id < 100 + 3 * f->cfg.limits.max_open_series; id++)
        feed(f, start_item(id, 1));
    assert_int_equal(f->r.n_rej, 0);
}

/* limits.max_start_bytes and in.protocol in a config: defaults, a value,
 * a bound, and an unknown protocol, each error naming its key path. */
static swmrbus_err parse(const char *yaml, swmrbus_config **cfg, char *err, size_t n)
{
    return swmrbus_config_parse(yaml, strlen(yaml), cfg, err, n);
}

static void test_config_keys(void **state)
{
    (void)state;
    swmrbus_config *cfg = NULL;
    char err[300] = "";
#define BASE "components:\n  - {name: w, kind: sink, dir: d, " \
             "in: {endpoint: 'tcp://h:1', protocol: %s}%s}\n"
    char yaml[512];
    snprintf(yaml, sizeof yaml, BASE, "dectris-stream2", "");
    assert_int_equal(parse(yaml, &cfg, err, sizeof err), SWMRBUS_OK);
    assert_string_equal(cfg->components[0].in.protocol, "dectris-stream2");
    assert_true(cfg->components[0].max_start_bytes == SWMRBUS_DEFAULT_MAX_START_BYTES);
    swmrbus_config_destroy(&cfg);
    snprintf(yaml, sizeof yaml, BASE, "dectris-stream1", ", limits: {max_start_bytes: 300000000}");
    assert_int_equal(parse(yaml, &cfg, err, sizeof err), SWMRBUS_OK);
    assert_true(cfg->components[0].max_start_bytes == 300000000);
    swmrbus_config_destroy(&cfg);
    snprintf(yaml, sizeof yaml, BASE, "dectris-stream2", ", limits: {max_start_bytes: 100}");
    assert_int_not_equal(parse(yaml, &cfg, err, sizeof err), SWMRBUS_OK);
    assert_non_null(strstr(err, "components[0].limits.max_start_bytes"));
    snprintf(yaml, sizeof yaml, BASE, "dectris-stream3", "");
    assert_int_not_equal(parse(yaml, &cfg, err, sizeof err), SWMRBUS_OK);
    assert_non_null(strstr(err, "components[0].in.protocol"));
    assert_non_null(strstr(err, "dectris-stream1"));
    /* out.protocol: the encoders only */
#define SRC "components:\n  - {name: r, kind: source, dirs: [/tmp], " \
            "in: {endpoint: 'tcp://h:1'}, out: {endpoint: 'tcp://h:2', protocol: %s}}\n"
    snprintf(yaml, sizeof yaml, SRC, "dectris-stream2");
    assert_int_equal(parse(yaml, &cfg, err, sizeof err), SWMRBUS_OK);
    assert_string_equal(cfg->components[0].out.protocol, "dectris-stream2");
    swmrbus_config_destroy(&cfg);
    snprintf(yaml, sizeof yaml, SRC, "dectris-stream1");
    assert_int_not_equal(parse(yaml, &cfg, err, sizeof err), SWMRBUS_OK);
    assert_non_null(strstr(err, "components[0].out.protocol"));
}

/* The encoder's messages, fed to the decoder, give back the same series:
 * format, name, frames, meta fields, rows and the payload bytes. */
static void test_encoder_roundtrip(void **state)
{
    fx *f = *state;
    const swmrbus_encoder_vtable *ev = swmrbus_encoder_find("dectris-stream2");
    assert_non_null(ev);
    assert_null(swmrbus_encoder_find("dectris-stream1"));
    void *es = NULL;
    char err[200];
    assert_int_equal(ev->create(&f->cfg, &es, err, sizeof err), SWMRBUS_OK);
    swmrbus_header h;
    memset(&h, 0, sizeof h);
    h.type = SWMRBUS_MSG_START;
    h.series = 9;
    h.has_format = true;
    h.format = (swmrbus_format){SWMRBUS_DTYPE_UINT32, SWMRBUS_ENC_BSLZ4, 2, {Y, X, 0}};
    h.has_frames = true;
    h.frames = 2;
    h.name = (swmrbus_str){"run9", 4};
    double bx = 12.5, th = 7000.0;
    uint64_t first = 5;
    swmrbus_meta_item meta[3] = {
        {.key = {"beam_center_x", 13}, .kind = SWMRBUS_META_FLOAT, .count = 1, .f = &bx},
        {.key = {"threshold_energy", 16}, .kind = SWMRBUS_META_FLOAT, .count = 1, .f = &th},
        {.key = {"first_image_id", 14}, .kind = SWMRBUS_META_UINT, .count = 1, .u = &first},
    };
    /* the start as a source hands it over: decoded, meta the raw map */
    swmrbus_buf hb = {0};
    assert_int_equal(swmrbus_header_encode(&h, meta, 3, &hb), SWMRBUS_OK);
    swmrbus_header h2;
    swmrbus_reason why;
    swmrbus_limits lim;
    swmrbus_limits_default(&lim);
    assert_int_equal(swmrbus_header_decode(hb.data, hb.len, &lim, &h2, &why, err, sizeof err),
                     SWMRBUS_OK);
    zmq_msg_t *out = NULL;
    size_t n_out = 0;
    assert_int_equal(ev->encode(es, &h2, NULL, 0, &out, &n_out, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(n_out, 1);
    feed_bytes(f, zmq_msg_data(&out[0]), zmq_msg_size(&out[0]));
    zmq_msg_close(&out[0]);
    swmrbus_buf_free(&hb);
    uint8_t c[512];
    size_t n = chunk(c, sizeof c);
    for (uint64_t row = 0; row < 2; row++) {
        swmrbus_header fr;
        memset(&fr, 0, sizeof fr);
        fr.type = SWMRBUS_MSG_FRAME;
        fr.series = 9;
        fr.frame = row;
        zmq_msg_t pl;
        assert_int_equal(zmq_msg_init_size(&pl, n), 0);
        memcpy(zmq_msg_data(&pl), c, n);
        assert_int_equal(ev->encode(es, &fr, &pl, 1, &out, &n_out, err, sizeof err), SWMRBUS_OK);
        zmq_msg_close(&pl);
        assert_int_equal(n_out, 1);
        feed_bytes(f, zmq_msg_data(&out[0]), zmq_msg_size(&out[0]));
        zmq_msg_close(&out[0]);
    }
    h.type = SWMRBUS_MSG_END;
    assert_int_equal(ev->encode(es, &h, NULL, 0, &out, &n_out, err, sizeof err), SWMRBUS_OK);
    feed_bytes(f, zmq_msg_data(&out[0]), zmq_msg_size(&out[0]));
    zmq_msg_close(&out[0]);
    assert_int_equal(f->r.n_rej, 0);
    assert_int_equal(f->r.n_emit, 4);
    swmrbus_header *s0 = &f->r.h[0];
    assert_true(swmrbus_format_equal(&s0->format, &h.format));
    assert_int_equal(s0->name.len, 4);
    assert_true(s0->has_frames && s0->frames == 2);
    assert_true(meta_has(s0->meta, "beam_center_x"));
    assert_true(meta_has(s0->meta, "threshold_energy"));
    assert_int_equal(f->r.h[1].frame, 0); /* image_id 5 is the first: row 0 */
    assert_int_equal(f->r.h[2].frame, 1);
    assert_int_equal(f->r.plen[2], n);
    assert_int_equal(f->r.h[3].type, SWMRBUS_MSG_END);
    assert_int_equal(f->r.h[3].frames, 2);
    /* a 3-D series cannot be said in stream v2 */
    h.type = SWMRBUS_MSG_START;
    h.format.ndim = 3;
    h.format.shape[2] = 2;
    assert_int_equal(ev->encode(es, &h, NULL, 0, &out, &n_out, err, sizeof err), SWMRBUS_EINVAL);
    assert_int_equal(n_out, 0);
    ev->destroy(&es);
    assert_null(es);
}

static void test_times(void **state)
{
    (void)state;
    uint64_t ns = 0;
#define T(s) swmrbus__dx_rfc3339(s, strlen(s), &ns)
    assert_true(T("1970-01-01T00:00:00Z") && ns == 0);
    assert_true(T("2026-11-29T22:00:00.000Z") && ns == 1795989600ull * 1000000000ull);
    assert_true(T("2026-11-29T23:00:00.5+01:00") && ns == 1795989600ull * 1000000000ull + 500000000);
    assert_true(T("2026-11-29T21:30:00-00:30") && ns == 1795989600ull * 1000000000ull);
    assert_true(T("2026-11-29T22:00:00.123456789123") && ns % 1000000000ull == 123456789);
    assert_false(T("1969-12-31T23:59:59Z"));
    assert_false(T("2026-11-29"));
    assert_false(T("2026-13-29T22:00:00Z"));
    assert_false(T("2026-11-29T22:00:00.Z"));
    assert_false(T("2026-11-29T22:00:00+1:00"));
    assert_false(T("2026-11-29T22:00:00Zjunk"));
    assert_false(T("9999-11-29T22:00:00Z"));
#undef T
    assert_int_equal(swmrbus__dx_add_rational(5, 1, 4), 250000005);
    assert_int_equal(swmrbus__dx_add_rational(5, 1, 0), 0);
    assert_int_equal(swmrbus__dx_add_rational(UINT64_MAX - 1, UINT64_MAX, 1), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_series, setup, teardown),
        cmocka_unit_test_setup_teardown(test_raw_and_lz4, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_max_start_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_slots_recycled, setup, teardown),
        cmocka_unit_test(test_config_keys),
        cmocka_unit_test(test_times),
        cmocka_unit_test_setup_teardown(test_encoder_roundtrip, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
