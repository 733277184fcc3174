/* test_wire.c — wire protocol v1: the bounded scanner, the in-place reader,
 * header / notice / request decoders, the payload check and the encoders. */
#include <dirent.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <msgpack.h>

#include "mpread.h"
#include "swmrbus/wire.h"

/* ---- helpers: build messages with msgpack-c ------------------------- */

typedef struct mb {
    msgpack_sbuffer sb;
    msgpack_packer pk;
} mb;

static void mb_init(mb *m)
{
    msgpack_sbuffer_init(&m->sb);
    msgpack_packer_init(&m->pk, &m->sb, msgpack_sbuffer_write);
}

static void mb_done(mb *m)
{
    msgpack_sbuffer_destroy(&m->sb);
}

static void s_(mb *m, const char *s)
{
    msgpack_pack_str_with_body(&m->pk, s, strlen(s));
}

static void u_(mb *m, uint64_t v)
{
    msgpack_pack_uint64(&m->pk, v);
}

static void map_(mb *m, size_t n)
{
    msgpack_pack_map(&m->pk, n);
}

static void arr_(mb *m, size_t n)
{
    msgpack_pack_array(&m->pk, n);
}

static void ks(mb *m, const char *k, const char *v)
{
    s_(m, k);
    s_(m, v);
}

static void ku(mb *m, const char *k, uint64_t v)
{
    s_(m, k);
    u_(m, v);
}

static void kshape(mb *m, size_t n, uint64_t a, uint64_t b, uint64_t c)
{
    uint64_t d[3] = {a, b, c};
    s_(m, "shape");
    arr_(m, n);
    for (size_t k = 0; k < n; k++) u_(m, d[k % 3]);
}

static char why[256];

static swmrbus_err dec_lim(const void *p, size_t n, const swmrbus_limits *lim,
                           swmrbus_header *h, swmrbus_reason *r)
{
    *r = SWMRBUS_R_COUNT;
    why[0] = 'x';
    swmrbus_err e = swmrbus_header_decode(p, n, lim, h, r, why, sizeof why);
    if (e != SWMRBUS_OK) assert_true(strlen(why) > 0);
    return e;
}

static swmrbus_err dec(const mb *m, swmrbus_header *h, swmrbus_reason *r)
{
    swmrbus_limits lim;
    swmrbus_limits_default(&lim);
    return dec_lim(m->sb.data, m->sb.size, &lim, h, r);
}

/* Expects the decode of m to fail with e and reason want. */
static void expect_reject(const mb *m, swmrbus_err e, swmrbus_reason want)
{
    swmrbus_header h;
    swmrbus_reason r;
    swmrbus_err got = dec(m, &h, &r);
    if (got != e || r != want)
        fprintf(stderr, "got err %d reason %d (%s), want %d %d\n", got, r, why, e, want);
    assert_int_equal(got, e);
    assert_int_equal(r, want);
}

/* A start header: {type: start, series: 7, dtype, shape: [4, 5], encoding} */
static void start_msg(mb *m, size_t extra)
{
    map_(m, 5 + extra);
    ks(m, "type", "start");
    ku(m, "series", 7);
    ks(m, "dtype", "uint16");
    kshape(m, 2, 4, 5, 0);
    ks(m, "encoding", "raw");
}

/* A frame header: {type: frame, series: 7, frame: 3} */
static void frame_msg(mb *m, size_t extra)
{
    map_(m, 3 + extra);
    ks(m, "type", "frame");
    ku(m, "series", 7);
    ku(m, "frame", 3);
}

/* ---- scanner ---------------------------------------------------------- */

static swmrbus_err scan(const void *p, size_t n)
{
    return swmrbus_msgpack_scan(p, n, 65536, SWMRBUS_MAX_DEPTH, why, sizeof why);
}

static void test_scan_basic(void **state)
{
    (void)state;
    static const uint8_t ok1[] = {0x80};                             /* {} */
    static const uint8_t ok2[] = {0x92, 0x01, 0xa1, 'x'};            /* [1, "x"] */
    static const uint8_t ok3[] = {0xc7, 0x02, 0x05, 0xaa, 0xbb};     /* ext8 */
    static const uint8_t ok4[] = {0xd8, 0x01, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t ok5[] = {0xcb, 0, 0, 0, 0, 0, 0, 0, 0};
    static const uint8_t ok6[] = {0xdc, 0x00, 0x00};                 /* array16 [] */
    assert_int_equal(scan(ok1, sizeof ok1), SWMRBUS_OK);
    assert_int_equal(scan(ok2, sizeof ok2), SWMRBUS_OK);
    assert_int_equal(scan(ok3, sizeof ok3), SWMRBUS_OK);
    assert_int_equal(scan(ok4, sizeof ok4), SWMRBUS_OK);
    assert_int_equal(scan(ok5, sizeof ok5), SWMRBUS_OK);
    assert_int_equal(scan(ok6, sizeof ok6), SWMRBUS_OK);

    static const uint8_t trailing[] = {0x01, 0x02};
    static const uint8_t c1[] = {0xc1};
    static const uint8_t trunc_arr[] = {0x92, 0x01};
    static const uint8_t trunc_str[] = {0xd9, 0x05, 'a', 'b'};
    static const uint8_t trunc_len[] = {0xda, 0x00};
    static const uint8_t trunc_f[] = {0xcb, 0, 0};
    static const uint8_t ext_big[] = {0xc9, 0xff, 0xff, 0xff, 0xff, 0x01};
    assert_int_equal(scan(trailing, sizeof trailing), SWMRBUS_EINVAL);
    assert_non_null(strstr(why, "trailing"));
    assert_int_equal(scan(c1, sizeof c1), SWMRBUS_EINVAL);
    assert_int_equal(scan(trunc_arr, sizeof trunc_arr), SWMRBUS_EINVAL);
    assert_int_equal(scan(trunc_str, sizeof trunc_str), SWMRBUS_EINVAL);
    assert_int_equal(scan(trunc_len, sizeof trunc_len), SWMRBUS_EINVAL);
    assert_int_equal(scan(trunc_f, sizeof trunc_f), SWMRBUS_EINVAL);
    assert_int_equal(scan(ext_big, sizeof ext_big), SWMRBUS_EINVAL);
    assert_int_equal(scan(NULL, 0), SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_msgpack_scan(ok2, sizeof ok2, 3, 8, why, sizeof why),
                     SWMRBUS_ELIMIT);
    /* why is optional */
    assert_int_equal(swmrbus_msgpack_scan(c1, 1, 10, 8, NULL, 0), SWMRBUS_EINVAL);
}

static void test_scan_huge_counts(void **state)
{
    (void)state;
    /* 5 bytes asking for 2^32 - 1 elements / pairs / bytes */
    static const uint8_t arr[] = {0xdd, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t map[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t str[] = {0xdb, 0xff, 0xff, 0xff, 0xff};
    static const uint8_t bin[] = {0xc6, 0xff, 0xff, 0xff, 0xff};
    /* a map of 2 pairs in 4 bytes after its header: 2 * 2 > 3 bytes left */
    static const uint8_t map2[] = {0x82, 0x01, 0x02, 0x03};
    clock_t t0 = clock();
    for (int k = 0; k < 1000; k++) {
        assert_int_equal(scan(arr, sizeof arr), SWMRBUS_EINVAL);
        assert_int_equal(scan(map, sizeof map), SWMRBUS_EINVAL);
        assert_int_equal(scan(str, sizeof str), SWMRBUS_EINVAL);
        assert_int_equal(scan(bin, sizeof bin), SWMRBUS_EINVAL);
    }
    double secs = (double)(clock() - t0) / CLOCKS_PER_SEC;
    assert_true(secs < 0.5); /* 4000 rejections: no allocation, no walk */
    assert_int_equal(scan(map2, sizeof map2), SWMRBUS_EINVAL);
    assert_non_null(strstr(why, "claims"));

    /* and through the header decoder: bad_msgpack */
    swmrbus_header h;
    swmrbus_reason r;
    assert_int_equal(dec_lim(arr, sizeof arr, NULL, &h, &r), SWMRBUS_EINVAL);
    assert_int_equal(r, SWMRBUS_R_BAD_MSGPACK);
    uint8_t in_map[] = {0x81, 0xa4, 't', 'y', 'p', 'e', 0xdd, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(dec_lim(in_map, sizeof in_map, NULL, &h, &r), SWMRBUS_EINVAL);
    assert_int_equal(r, SWMRBUS_R_BAD_MSGPACK);
}

static void test_scan_depth(void **state)
{
    (void)state;
    uint8_t nest[16];
    for (int d = 1; d <= 10; d++) {
        memset(nest, 0x91, sizeof nest); /* [[[...]]] */
        nest[d - 1] = 0x90;             /* innermost: [] */
        swmrbus_err e = scan(nest, (size_t)d);
        assert_int_equal(e, d <= 8 ? SWMRBUS_OK : SWMRBUS_EINVAL);
    }
    /* max_depth below 8 is honoured, above it is capped at 8 */
    memset(nest, 0x91, sizeof nest);
    nest[2] = 0x90;
    assert_int_equal(swmrbus_msgpack_scan(nest, 3, 100, 2, why, sizeof why), SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_msgpack_scan(nest, 3, 100, 3, why, sizeof why), SWMRBUS_OK);
    nest[8] = 0x90;
    assert_int_equal(swmrbus_msgpack_scan(nest, 9, 100, 100, why, sizeof why), SWMRBUS_EINVAL);

    /* a header with 9 levels (in an unknown key) is bad_msgpack, 8 is fine */
    for (int levels = 8; levels <= 9; levels++) {
        mb m;
        mb_init(&m);
        frame_msg(&m, 1);
        s_(&m, "x-deep");
        for (int k = 0; k < levels - 2; k++) arr_(&m, 1);
        arr_(&m, 0);
        swmrbus_header h;
        swmrbus_reason r;
        swmrbus_err e = dec(&m, &h, &r);
        if (levels == 8) {
            assert_int_equal(e, SWMRBUS_OK);
        } else {
            assert_int_equal(e, SWMRBUS_EINVAL);
            assert_int_equal(r, SWMRBUS_R_BAD_MSGPACK);
        }
        mb_done(&m);
    }
}

/* ---- in-place reader ------------------------------------------------- */

static void test_mpread(void **state)
{
    (void)state;
    static const uint8_t buf[] = {
        0xd0, 0xff,                         /* int8 -1 */
        0xd1, 0x80, 0x00,                   /* int16 -32768 */
        0xd3, 0, 0, 0, 0, 0, 0, 0, 5,       /* int64 5 (signed format) */
        0xcf, 0x80, 0, 0, 0, 0, 0, 0, 0,    /* uint64 2^63 */
        0xca, 0x3f, 0xc0, 0x00, 0x00,       /* float32 1.5 */
        0x92, 0x81, 0xa1, 'a', 0x90, 0xc3,  /* [{"a": []}, true] */
        0xe0,                               /* -32 */
        0xc4, 0x02, 'h', 'i',               /* bin "hi" */
    };
    swmrbus__mp mp;
    swmrbus__mp_val v;
    int64_t i;
    uint64_t u;
    double f;
    swmrbus_str s;
    swmrbus__mp_init(&mp, buf, sizeof buf);
    assert_int_equal(swmrbus__mp_int(&mp, &i), SWMRBUS_OK);
    assert_int_equal(i, -1);
    assert_int_equal(swmrbus__mp_int(&mp, &i), SWMRBUS_OK);
    assert_int_equal(i, -32768);
    assert_int_equal(swmrbus__mp_next(&mp, &v), SWMRBUS_OK);
    assert_int_equal(v.type, SWMRBUS__MP_UINT);
    assert_true(v.signed_fmt);
    assert_int_equal(v.u, 5);
    assert_int_equal(swmrbus__mp_uint(&mp, &u), SWMRBUS_OK);
    assert_true(u == (uint64_t)1 << 63);
    assert_int_equal(swmrbus__mp_float(&mp, &f), SWMRBUS_OK);
    assert_true(f == 1.5);
    assert_int_equal(swmrbus__mp_skip(&mp), SWMRBUS_OK); /* the whole array */
    assert_int_equal(swmrbus__mp_uint(&mp, &u), SWMRBUS_EINVAL); /* -32 is not a uint */
    assert_int_equal(swmrbus__mp_str(&mp, &s), SWMRBUS_EINVAL);  /* bin is not a str */
    assert_int_equal(swmrbus__mp_left(&mp), 0);
    assert_int_equal(swmrbus__mp_next(&mp, &v), SWMRBUS_EINVAL); /* end of buffer */

    /* int64 cannot hold 2^63 */
    swmrbus__mp_init(&mp, buf + 14, 9);
    assert_int_equal(swmrbus__mp_int(&mp, &i), SWMRBUS_EINVAL);
    /* skip of a truncated container fails, never reads past the end */
    static const uint8_t bad[] = {0x93, 0x01};
    swmrbus__mp_init(&mp, bad, sizeof bad);
    assert_int_equal(swmrbus__mp_skip(&mp), SWMRBUS_EINVAL);
}

/* ---- headers ---------------------------------------------------------- */

static void test_header_start_frame_end(void **state)
{
    (void)state;
    mb m;
    swmrbus_header h;
    swmrbus_reason r;

    mb_init(&m);
    start_msg(&m, 2);
    ku(&m, "frames", 100);
    ks(&m, "name", "run42");
    assert_int_equal(dec(&m, &h, &r), SWMRBUS_OK);
    assert_int_equal(h.type, SWMRBUS_MSG_START);
    assert_int_equal(h.series, 7);
    assert_true(h.has_format);
    assert_int_equal(h.format.dtype, SWMRBUS_DTYPE_UINT16);
    assert_int_equal(h.format.encoding, SWMRBUS_ENC_RAW);
    assert_int_equal(h.format.ndim, 2);
    assert_int_equal(h.format.shape[0], 4);
    assert_int_equal(h.format.shape[1], 5);
    assert_true(h.has_frames);
    assert_int_equal(h.frames, 100);
    assert_int_equal(h.name.len, 5);
    assert_memory_equal(h.name.ptr, "run42", 5);
    /* slices point into the buffer */
    assert_true(h.name.ptr > m.sb.data && h.name.ptr < m.sb.data + m.sb.size);
    assert_false(h.has_ts);
    assert_false(h.has_origin);
    assert_int_equal(h.meta.len, 0);
    mb_done(&m);

    mb_init(&m);
    frame_msg(&m, 1);
    ku(&m, "ts", 1700000000123456789ull);
    assert_int_equal(dec(&m, &h, &r), SWMRBUS_OK);
    assert_int_equal(h.type, SWMRBUS_MSG_FRAME);
    assert_int_equal(h.series, 7);
    assert_int_equal(h.frame, 3);
    assert_true(h.has_ts);
    assert_true(h.ts == 1700000000123456789ull);
    assert_false(h.has_format);
    mb_done(&m);

    mb_init(&m);
    map_(&m, 3);
    ks(&m, "type", "end");
    ku(&m, "series", 7);
    ku(&m, "frames", 10);
    assert_int_equal(dec(&m, &h, &r), SWMRBUS_OK);
    assert_int_equal(h.type, SWMRBUS_MSG_END);
    assert_true(h.has_frames);
    assert_int_equal(h.frames, 10);
    mb_done(&m);

    /* missing required keys */
    mb_init(&m);
    map_(&m, 2);
    ks(&m, "type", "end");
    ku(&m, "series", 7);
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    assert_non_null(strstr(why, "frames"));
    mb_done(&m);

    mb_init(&m);
    map_(&m, 2);
    ks(&m, "type", "frame");
    ku(&m, "series", 7);
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);

    mb_init(&m);
    map_(&m, 2);
    ks(&m, "type", "start");
    ku(&m, "series", 7);
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);

    mb_init(&m);
    map_(&m, 1);
    ku(&m, "series", 7);
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);

    mb_init(&m);
    map_(&m, 2);
    ks(&m, "type", "begin");
    ku(&m, "series", 7);
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);
}

static void test_header_implicit_start(void **state)
{
    (void)state;
    mb m;
    swmrbus_header h;
    swmrbus_reason r;

    mb_init(&m);
    frame_msg(&m, 4);
    ks(&m, "dtype", "float32");
    kshape(&m, 3, 2, 3, 4);
    ks(&m, "encoding", "bslz4");
    ks(&m, "name", "det");
    assert_int_equal(dec(&m, &h, &r), SWMRBUS_OK);
    assert_int_equal(h.type, SWMRBUS_MSG_FRAME);
    assert_true(h.has_format);
    assert_int_equal(h.format.dtype, SWMRBUS_DTYPE_FLOAT32);
    assert_int_equal(h.format.encoding, SWMRBUS_ENC_BSLZ4);
    assert_int_equal(h.format.ndim, 3);
    assert_int_equal(h.format.shape[2], 4);
    assert_int_equal(swmrbus_format_raw_bytes(&h.format), 96);
    mb_done(&m);

    /* only some of dtype / shape / encoding */
    mb_init(&m);
    frame_msg(&m, 2);
    ks(&m, "dtype", "float32");
    kshape(&m, 1, 2, 0, 0);
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);

    mb_init(&m);
    frame_msg(&m, 1);
    ks(&m, "encoding", "raw");
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);
}

static void test_header_unknown_keys(void **state)
{
    (void)state;
    mb m;
    swmrbus_header h;
    swmrbus_reason r;
    mb_init(&m);
    frame_msg(&m, 4);
    ks(&m, "x-future", "whatever");
    s_(&m, "x-nested");
    map_(&m, 1);
    s_(&m, "a");
    arr_(&m, 2);
    msgpack_pack_nil(&m.pk);
    msgpack_pack_double(&m.pk, 2.5);
    s_(&m, "x-bin");
    msgpack_pack_bin_with_body(&m.pk, "\x00\x01", 2);
    s_(&m, "Type"); /* keys are case-sensitive: unknown */
    msgpack_pack_nil(&m.pk);
    assert_int_equal(dec(&m, &h, &r), SWMRBUS_OK);
    assert_int_equal(h.frame, 3);
    mb_done(&m);
}

/* "times" (README "Per-frame times"): a bool in a start, [start, stop,
 * real] numbers or nil in a frame; anything else is a bad header. */
static void test_header_times(void **state)
{
    (void)state;
    mb m;
    swmrbus_header h;
    swmrbus_reason r;
    mb_init(&m);
    start_msg(&m, 1);
    s_(&m, "times");
    msgpack_pack_true(&m.pk);
    assert_int_equal(dec(&m, &h, &r), SWMRBUS_OK);
    assert_true(h.times);
    assert_false(h.has_frame_times);
    mb_done(&m);

    mb_init(&m);
    frame_msg(&m, 1);
    s_(&m, "times");
    arr_(&m, 3);
    msgpack_pack_double(&m.pk, 0.25);
    msgpack_pack_nil(&m.pk);
    u_(&m, 2);
    assert_int_equal(dec(&m, &h, &r), SWMRBUS_OK);
    assert_true(h.has_frame_times);
    assert_true(h.frame_times[0] == 0.25);
    assert_true(isnan(h.frame_times[1]));
    assert_true(h.frame_times[2] == 2.0);
    mb_done(&m);

    mb_init(&m); /* an array in a start */
    start_msg(&m, 1);
    s_(&m, "times");
    arr_(&m, 3);
    for (int i = 0; i < 3; i++) u_(&m, 1);
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);

    mb_init(&m); /* a bool in a frame */
    frame_msg(&m, 1);
    s_(&m, "times");
    msgpack_pack_true(&m.pk);
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);

    mb_init(&m); /* two values, then a string value */
    frame_msg(&m, 1);
    s_(&m, "times");
    arr_(&m, 2);
    u_(&m, 1);
    u_(&m, 2);
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);

    mb_init(&m);
    frame_msg(&m, 1);
    s_(&m, "times");
    arr_(&m, 3);
    u_(&m, 1);
    s_(&m, "x");
    u_(&m, 1);
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);
}

static void test_header_wrong_types(void **state)
{
    (void)state;
    /* each case: a valid frame or start plus one known key with a bad value */
    for (int c = 0; c < 16; c++) {
        mb m;
        mb_init(&m);
        if (c < 8) frame_msg(&m, 1);
        else start_msg(&m, 1);
        switch (c) {
        case 0: ks(&m, "ts", "now"); break;
        case 1: s_(&m, "ts"); msgpack_pack_double(&m.pk, 1.0); break;
        case 2: s_(&m, "ts"); msgpack_pack_int64(&m.pk, -1); break;
        case 3: s_(&m, "ts"); msgpack_pack_nil(&m.pk); break;
        case 4: s_(&m, "name"); u_(&m, 5); break;
        case 5: s_(&m, "name"); msgpack_pack_bin_with_body(&m.pk, "abc", 3); break;
        case 6: s_(&m, "frames"); msgpack_pack_true(&m.pk); break;
        case 7: s_(&m, "meta"); arr_(&m, 0); break;
        case 8: s_(&m, "origin"); s_(&m, "sink"); break;
        case 9: s_(&m, "origin"); map_(&m, 1); ks(&m, "series", "1"); break;
        case 10: s_(&m, "origin"); map_(&m, 1); ku(&m, "sink", 1); break;
        case 11: s_(&m, "frames"); msgpack_pack_int64(&m.pk, -5); break;
        case 12: ku(&m, "series", 8); break; /* duplicate key */
        case 13: s_(&m, "name"); map_(&m, 0); break;
        case 14: u_(&m, 1); u_(&m, 2); break; /* non-string key */
        case 15: s_(&m, "meta"); msgpack_pack_nil(&m.pk); break;
        }
        swmrbus_header h;
        swmrbus_reason r;
        swmrbus_err e = dec(&m, &h, &r);
        if (e != SWMRBUS_EINVAL || r != SWMRBUS_R_BAD_HEADER)
            fprintf(stderr, "case %d: err %d reason %d (%s)\n", c, e, r, why);
        assert_int_equal(e, SWMRBUS_EINVAL);
        assert_int_equal(r, SWMRBUS_R_BAD_HEADER);
        mb_done(&m);
    }
    /* type, series and dtype as the wrong msgpack types */
    mb m;
    mb_init(&m);
    map_(&m, 3);
    s_(&m, "type"); u_(&m, 1);
    ku(&m, "series", 1);
    ku(&m, "frame", 1);
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);
    mb_init(&m);
    map_(&m, 3);
    ks(&m, "type", "frame");
    ks(&m, "series", "1");
    ku(&m, "frame", 1);
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);
    mb_init(&m);
    map_(&m, 3);
    ks(&m, "type", "frame");
    s_(&m, "series"); msgpack_pack_double(&m.pk, 1.0);
    ku(&m, "frame", 1);
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);
    mb_init(&m);
    map_(&m, 5);
    ks(&m, "type", "start");
    ku(&m, "series", 7);
    s_(&m, "dtype"); msgpack_pack_bin_with_body(&m.pk, "uint8", 5);
    kshape(&m, 1, 4, 0, 0);
    ks(&m, "encoding", "raw");
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);
}

static void test_header_dtype_encoding_shape(void **state)
{
    (void)state;
    static const char *const bad_dtypes[] = {"float128", "float16", "complex64", "UINT8",
                                             "uint8 ", ""};
    for (size_t k = 0; k < sizeof bad_dtypes / sizeof bad_dtypes[0]; k++) {
        mb m;
        mb_init(&m);
        map_(&m, 5);
        ks(&m, "type", "start");
        ku(&m, "series", 1);
        ks(&m, "dtype", bad_dtypes[k]);
        kshape(&m, 1, 4, 0, 0);
        ks(&m, "encoding", "raw");
        expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
        mb_done(&m);
    }
    static const char *const dtypes[] = {"uint8", "uint16", "uint32", "uint64", "int8",
                                         "int16", "int32", "int64", "float32", "float64"};
    for (size_t k = 0; k < 10; k++) {
        mb m;
        mb_init(&m);
        map_(&m, 5);
        ks(&m, "type", "start");
        ku(&m, "series", 1);
        ks(&m, "dtype", dtypes[k]);
        kshape(&m, 1, 4, 0, 0);
        ks(&m, "encoding", "lz4");
        swmrbus_header h;
        swmrbus_reason r;
        assert_int_equal(dec(&m, &h, &r), SWMRBUS_OK);
        assert_string_equal(swmrbus_dtype_name(h.format.dtype), dtypes[k]);
        assert_int_equal(h.format.encoding, SWMRBUS_ENC_LZ4);
        mb_done(&m);
    }
    /* wire bytes quoted in why stay one printable line */
    {
        mb m;
        mb_init(&m);
        map_(&m, 5);
        ks(&m, "type", "start");
        ku(&m, "series", 1);
        ks(&m, "dtype", "u\n\xff\x01");
        kshape(&m, 1, 4, 0, 0);
        ks(&m, "encoding", "raw");
        expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
        assert_non_null(strstr(why, "u???"));
        for (const char *c = why; *c; c++) assert_true(*c >= 0x20 && *c <= 0x7e);
        mb_done(&m);
    }
    /* unknown encoding */
    mb m;
    mb_init(&m);
    map_(&m, 5);
    ks(&m, "type", "start");
    ku(&m, "series", 1);
    ks(&m, "dtype", "uint8");
    kshape(&m, 1, 4, 0, 0);
    ks(&m, "encoding", "zstd");
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);

    /* shapes: [], 4 dims, a 0 dim, a negative dim, a float dim */
    for (int c = 0; c < 5; c++) {
        mb_init(&m);
        map_(&m, 5);
        ks(&m, "type", "start");
        ku(&m, "series", 1);
        ks(&m, "dtype", "uint8");
        if (c == 0) kshape(&m, 0, 0, 0, 0);
        if (c == 1) kshape(&m, 4, 2, 2, 2);
        if (c == 2) kshape(&m, 2, 4, 0, 0);
        if (c == 3) {
            s_(&m, "shape"); arr_(&m, 1); msgpack_pack_int64(&m.pk, -4);
        }
        if (c == 4) {
            s_(&m, "shape"); arr_(&m, 1); msgpack_pack_double(&m.pk, 4.0);
        }
        ks(&m, "encoding", "raw");
        expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
        mb_done(&m);
    }
}

static void test_header_limits(void **state)
{
    (void)state;
    mb m;
    swmrbus_header h;
    swmrbus_reason r;
    swmrbus_limits lim;
    swmrbus_limits_default(&lim);

    /* 8192 x 4096 uint16 = 64 MiB: at the limit; one row more is over */
    mb_init(&m);
    map_(&m, 5);
    ks(&m, "type", "start");
    ku(&m, "series", 1);
    ks(&m, "dtype", "uint16");
    kshape(&m, 2, 8192, 4096, 0);
    ks(&m, "encoding", "raw");
    assert_int_equal(dec(&m, &h, &r), SWMRBUS_OK);
    mb_done(&m);
    mb_init(&m);
    map_(&m, 5);
    ks(&m, "type", "start");
    ku(&m, "series", 1);
    ks(&m, "dtype", "uint16");
    kshape(&m, 2, 8193, 4096, 0);
    ks(&m, "encoding", "raw");
    expect_reject(&m, SWMRBUS_ELIMIT, SWMRBUS_R_LIMIT);
    mb_done(&m);
    /* a shape whose product overflows 64 bits */
    mb_init(&m);
    frame_msg(&m, 3);
    ks(&m, "dtype", "uint64");
    kshape(&m, 3, (uint64_t)1 << 40, (uint64_t)1 << 40, 16);
    ks(&m, "encoding", "raw");
    expect_reject(&m, SWMRBUS_ELIMIT, SWMRBUS_R_LIMIT);
    mb_done(&m);

    /* frame index: max_frames - 1 ok, max_frames, 2^63 and UINT64_MAX limit */
    uint64_t idx[] = {lim.max_frames - 1, lim.max_frames, (uint64_t)1 << 63, UINT64_MAX};
    for (int k = 0; k < 4; k++) {
        mb_init(&m);
        map_(&m, 3);
        ks(&m, "type", "frame");
        ku(&m, "series", 1);
        ku(&m, "frame", idx[k]);
        if (k == 0) {
            assert_int_equal(dec(&m, &h, &r), SWMRBUS_OK);
            assert_int_equal(h.frame, lim.max_frames - 1);
        } else {
            expect_reject(&m, SWMRBUS_ELIMIT, SWMRBUS_R_LIMIT);
        }
        mb_done(&m);
    }
    /* negative index: bad_header; the series is still reported */
    mb_init(&m);
    map_(&m, 3);
    ks(&m, "type", "frame");
    ku(&m, "series", 42);
    s_(&m, "frame");
    msgpack_pack_int64(&m.pk, -1);
    assert_int_equal(dec(&m, &h, &r), SWMRBUS_EINVAL);
    assert_int_equal(r, SWMRBUS_R_BAD_HEADER);
    assert_int_equal(h.series, 42);
    mb_done(&m);

    /* header bigger than max_header_bytes */
    mb_init(&m);
    frame_msg(&m, 1);
    s_(&m, "pad");
    char *pad = malloc(70000);
    assert_non_null(pad);
    memset(pad, 'p', 70000);
    msgpack_pack_str_with_body(&m.pk, pad, 70000);
    free(pad);
    expect_reject(&m, SWMRBUS_ELIMIT, SWMRBUS_R_LIMIT);
    lim.max_header_bytes = 100000;
    assert_int_equal(dec_lim(m.sb.data, m.sb.size, &lim, &h, &r), SWMRBUS_OK);
    lim.max_header_bytes = 20;
    assert_int_equal(dec_lim(m.sb.data, 21, &lim, &h, &r), SWMRBUS_ELIMIT);
    assert_int_equal(r, SWMRBUS_R_LIMIT);
    mb_done(&m);

    /* a custom max_frames */
    swmrbus_limits_default(&lim);
    lim.max_frames = 3;
    mb_init(&m);
    frame_msg(&m, 0); /* frame 3 */
    assert_int_equal(dec_lim(m.sb.data, m.sb.size, &lim, &h, &r), SWMRBUS_ELIMIT);
    lim.max_frames = 4;
    assert_int_equal(dec_lim(m.sb.data, m.sb.size, &lim, &h, &r), SWMRBUS_OK);
    mb_done(&m);
}

static void test_header_bad_msgpack(void **state)
{
    (void)state;
    swmrbus_header h;
    swmrbus_reason r;
    static const uint8_t arr[] = {0x92, 0x01, 0x02};
    static const uint8_t str[] = {0xa5, 's', 't', 'a', 'r', 't'};
    static const uint8_t garbage[] = {0xc1, 0xde, 0xad, 0xbe, 0xef};
    static const uint8_t text[] = "{\"type\": \"frame\"}";
    assert_int_equal(dec_lim(arr, sizeof arr, NULL, &h, &r), SWMRBUS_EINVAL);
    assert_int_equal(r, SWMRBUS_R_BAD_MSGPACK);
    assert_int_equal(dec_lim(str, sizeof str, NULL, &h, &r), SWMRBUS_EINVAL);
    assert_int_equal(r, SWMRBUS_R_BAD_MSGPACK);
    assert_int_equal(dec_lim(garbage, sizeof garbage, NULL, &h, &r), SWMRBUS_EINVAL);
    assert_int_equal(r, SWMRBUS_R_BAD_MSGPACK);
    assert_int_equal(dec_lim(text, sizeof text - 1, NULL, &h, &r), SWMRBUS_EINVAL);
    assert_int_equal(r, SWMRBUS_R_BAD_MSGPACK);
    assert_int_equal(dec_lim(NULL, 0, NULL, &h, &r), SWMRBUS_EINVAL);
    assert_int_equal(r, SWMRBUS_R_BAD_MSGPACK);

    /* every truncation of a valid header, and a trailing byte */
    mb m;
    mb_init(&m);
    start_msg(&m, 1);
    ks(&m, "name", "abc");
    for (size_t n = 0; n < m.sb.size; n++) {
        assert_int_equal(dec_lim(m.sb.data, n, NULL, &h, &r), SWMRBUS_EINVAL);
        assert_int_equal(r, SWMRBUS_R_BAD_MSGPACK);
    }
    assert_int_equal(dec_lim(m.sb.data, m.sb.size, NULL, &h, &r), SWMRBUS_OK);
    msgpack_pack_nil(&m.pk);
    assert_int_equal(dec_lim(m.sb.data, m.sb.size, NULL, &h, &r), SWMRBUS_EINVAL);
    assert_int_equal(r, SWMRBUS_R_BAD_MSGPACK);
    mb_done(&m);
}

static void test_header_names(void **state)
{
    (void)state;
    char long_name[SWMRBUS_NAME_MAX + 2];
    memset(long_name, 'n', sizeof long_name);
    for (int c = 0; c < 5; c++) {
        mb m;
        mb_init(&m);
        start_msg(&m, 1);
        s_(&m, "name");
        switch (c) {
        case 0: msgpack_pack_str_with_body(&m.pk, "a\0b", 3); break;
        case 1: msgpack_pack_str_with_body(&m.pk, long_name, SWMRBUS_NAME_MAX + 1); break;
        case 2: msgpack_pack_str_with_body(&m.pk, "", 0); break;
        case 3: msgpack_pack_str_with_body(&m.pk, long_name, SWMRBUS_NAME_MAX); break;
        case 4: msgpack_pack_str_with_body(&m.pk, "../../etc/passwd", 16); break;
        }
        swmrbus_header h;
        swmrbus_reason r;
        swmrbus_err e = dec(&m, &h, &r);
        if (c < 3) {
            assert_int_equal(e, SWMRBUS_EINVAL);
            assert_int_equal(r, SWMRBUS_R_BAD_NAME);
        } else { /* accepted raw: sanitising is the sink's job */
            assert_int_equal(e, SWMRBUS_OK);
            assert_int_equal(h.name.len, c == 3 ? SWMRBUS_NAME_MAX : 16);
        }
        mb_done(&m);
    }
}

/* ---- meta ------------------------------------------------------------- */

typedef struct seen_item {
    char key[32];
    swmrbus_meta_kind kind;
    bool is_array;
    size_t count;
    int64_t i[8];
    uint64_t u[8];
    double f[8];
    char s[32];
} seen_item;

typedef struct seen {
    seen_item item[16];
    size_t n;
    size_t stop_after;
} seen;

static int collect(const swmrbus_meta_item *it, void *user)
{
    seen *sn = user;
    assert_true(sn->n < 16);
    seen_item *d = &sn->item[sn->n++];
    memset(d, 0, sizeof *d);
    assert_true(it->key.len < sizeof d->key);
    memcpy(d->key, it->key.ptr, it->key.len);
    d->kind = it->kind;
    d->is_array = it->is_array;
    d->count = it->count;
    for (size_t k = 0; k < it->count && k < 8; k++) {
        switch (it->kind) {
        case SWMRBUS_META_INT:
        case SWMRBUS_META_BOOL: assert_non_null(it->i); d->i[k] = it->i[k]; break;
        case SWMRBUS_META_UINT: assert_non_null(it->u); d->u[k] = it->u[k]; break;
        case SWMRBUS_META_FLOAT: assert_non_null(it->f); d->f[k] = it->f[k]; break;
        case SWMRBUS_META_STR:
            assert_true(it->s.len < sizeof d->s);
            memcpy(d->s, it->s.ptr, it->s.len);
            break;
        }
    }
    return sn->stop_after && sn->n >= sn->stop_after;
}

static int collect_none(const swmrbus_meta_item *it, void *user)
{
    (void)it;
    (void)user;
    return 0;
}

static void test_meta_decode(void **state)
{
    (void)state;
    mb m;
    swmrbus_header h;
    swmrbus_reason r;
    mb_init(&m);
    start_msg(&m, 1);
    s_(&m, "meta");
    map_(&m, 8);
    ku(&m, "exposure", 5);
    s_(&m, "offset"); msgpack_pack_int64(&m.pk, -3);
    s_(&m, "gain"); msgpack_pack_float(&m.pk, 0.25f);
    s_(&m, "on"); msgpack_pack_true(&m.pk);
    ks(&m, "sample", "lysozyme");
    s_(&m, "mixed"); arr_(&m, 3); u_(&m, 1); msgpack_pack_int64(&m.pk, -2);
    msgpack_pack_double(&m.pk, 0.5);
    s_(&m, "neg"); arr_(&m, 2); u_(&m, 1); msgpack_pack_int64(&m.pk, -2);
    s_(&m, "big"); arr_(&m, 2); u_(&m, 1); u_(&m, UINT64_MAX);
    assert_int_equal(dec(&m, &h, &r), SWMRBUS_OK);
    assert_true(h.meta.len > 0);
    assert_int_equal((uint8_t)h.meta.ptr[0], 0x88); /* the raw map */

    seen sn;
    memset(&sn, 0, sizeof sn);
    assert_int_equal(swmrbus_meta_foreach(h.meta, collect, &sn), SWMRBUS_OK);
    assert_int_equal(sn.n, 8);
    assert_string_equal(sn.item[0].key, "exposure");
    assert_int_equal(sn.item[0].kind, SWMRBUS_META_UINT);
    assert_false(sn.item[0].is_array);
    assert_int_equal(sn.item[0].count, 1);
    assert_int_equal(sn.item[0].u[0], 5);
    assert_int_equal(sn.item[1].kind, SWMRBUS_META_INT);
    assert_true(sn.item[1].i[0] == -3);
    assert_int_equal(sn.item[2].kind, SWMRBUS_META_FLOAT);
    assert_true(sn.item[2].f[0] == 0.25);
    assert_int_equal(sn.item[3].kind, SWMRBUS_META_BOOL);
    assert_int_equal(sn.item[3].i[0], 1);
    assert_int_equal(sn.item[4].kind, SWMRBUS_META_STR);
    assert_string_equal(sn.item[4].s, "lysozyme");
    assert_int_equal(sn.item[5].kind, SWMRBUS_META_FLOAT);
    assert_true(sn.item[5].is_array);
    assert_int_equal(sn.item[5].count, 3);
    assert_true(sn.item[5].f[0] == 1.0 && sn.item[5].f[1] == -2.0 && sn.item[5].f[2] == 0.5);
    assert_int_equal(sn.item[6].kind, SWMRBUS_META_INT);
    assert_true(sn.item[6].i[0] == 1 && sn.item[6].i[1] == -2);
    assert_int_equal(sn.item[7].kind, SWMRBUS_META_UINT);
    assert_true(sn.item[7].u[1] == UINT64_MAX);

    /* the callback stops the walk */
    memset(&sn, 0, sizeof sn);
    sn.stop_after = 2;
    assert_int_equal(swmrbus_meta_foreach(h.meta, collect, &sn), SWMRBUS_OK);
    assert_int_equal(sn.n, 2);
    mb_done(&m);

    /* no meta: nothing to walk; garbage meta: EINVAL */
    swmrbus_str none = {NULL, 0};
    assert_int_equal(swmrbus_meta_foreach(none, collect, &sn), SWMRBUS_OK);
    swmrbus_str junk = {"\x92\x01", 2};
    assert_int_equal(swmrbus_meta_foreach(junk, collect, &sn), SWMRBUS_EINVAL);
    swmrbus_str notmap = {"\x91\x01", 2};
    assert_int_equal(swmrbus_meta_foreach(notmap, collect, &sn), SWMRBUS_EINVAL);
}

static void test_meta_rejects(void **state)
{
    (void)state;
    for (int c = 0; c < 11; c++) {
        mb m;
        mb_init(&m);
        start_msg(&m, 1);
        s_(&m, "meta");
        map_(&m, 1);
        switch (c) {
        case 0: s_(&m, "nested"); map_(&m, 1); ku(&m, "a", 1); break;
        case 1: s_(&m, "nil"); msgpack_pack_nil(&m.pk); break;
        case 2: s_(&m, "arr2d"); arr_(&m, 1); arr_(&m, 1); u_(&m, 1); break;
        case 3: s_(&m, "strs"); arr_(&m, 2); s_(&m, "a"); s_(&m, "b"); break;
        case 4: s_(&m, "bin"); msgpack_pack_bin_with_body(&m.pk, "ab", 2); break;
        case 5: s_(&m, "mixbool"); arr_(&m, 2); msgpack_pack_true(&m.pk); u_(&m, 1); break;
        case 6: s_(&m, "huge"); arr_(&m, 4097); for (int k = 0; k < 4097; k++) u_(&m, 1);
            break;
        case 7: u_(&m, 1); u_(&m, 2); break; /* non-string key */
        case 8: s_(&m, ""); u_(&m, 2); break; /* empty key */
        case 9: s_(&m, "negbig"); arr_(&m, 2); msgpack_pack_int64(&m.pk, -1);
            u_(&m, UINT64_MAX);
            break;
        case 10: s_(&m, "ext"); msgpack_pack_ext_with_body(&m.pk, "abcd", 4, 1); break;
        }
        swmrbus_header h;
        swmrbus_reason r;
        swmrbus_err e = dec(&m, &h, &r);
        if (e != SWMRBUS_EINVAL || r != SWMRBUS_R_BAD_HEADER)
            fprintf(stderr, "meta case %d: err %d reason %d (%s)\n", c, e, r, why);
        assert_int_equal(e, SWMRBUS_EINVAL);
        assert_int_equal(r, SWMRBUS_R_BAD_HEADER);
        assert_non_null(strstr(why, "meta"));
        mb_done(&m);
    }
    /* 4096 numbers is fine */
    mb m;
    mb_init(&m);
    start_msg(&m, 1);
    s_(&m, "meta");
    map_(&m, 1);
    s_(&m, "many");
    arr_(&m, 4096);
    for (int k = 0; k < 4096; k++) msgpack_pack_double(&m.pk, k * 0.5);
    swmrbus_header h;
    swmrbus_reason r;
    assert_int_equal(dec(&m, &h, &r), SWMRBUS_OK);
    mb_done(&m);
}

/* ---- payload ---------------------------------------------------------- */

static swmrbus_format fmt(swmrbus_dtype t, swmrbus_encoding e, uint64_t a, uint64_t b)
{
    swmrbus_format f;
    memset(&f, 0, sizeof f);
    f.dtype = t;
    f.encoding = e;
    f.ndim = 2;
    f.shape[0] = a;
    f.shape[1] = b;
    return f;
}

static void chunk_header(uint8_t *p, uint64_t raw, uint32_t block)
{
    for (int k = 0; k < 8; k++) p[k] = (uint8_t)(raw >> (56 - 8 * k));
    for (int k = 0; k < 4; k++) p[8 + k] = (uint8_t)(block >> (24 - 8 * k));
}

static void test_payload_raw(void **state)
{
    (void)state;
    uint8_t buf[64] = {0};
    swmrbus_format f = fmt(SWMRBUS_DTYPE_UINT16, SWMRBUS_ENC_RAW, 4, 5); /* 40 bytes */
    assert_int_equal(swmrbus_payload_check(&f, buf, 40, why, sizeof why), SWMRBUS_OK);
    assert_int_equal(swmrbus_payload_check(&f, buf, 39, why, sizeof why), SWMRBUS_EINVAL);
    assert_non_null(strstr(why, "39"));
    assert_int_equal(swmrbus_payload_check(&f, buf, 41, why, sizeof why), SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_payload_check(&f, NULL, 0, why, sizeof why), SWMRBUS_EINVAL);
    swmrbus_format bad = fmt(SWMRBUS_DTYPE_NONE, SWMRBUS_ENC_RAW, 4, 5);
    assert_int_equal(swmrbus_payload_check(&bad, buf, 40, why, sizeof why), SWMRBUS_EINVAL);
    bad = fmt(SWMRBUS_DTYPE_UINT8, SWMRBUS_ENC_NONE, 4, 5);
    assert_int_equal(swmrbus_payload_check(&bad, buf, 20, why, sizeof why), SWMRBUS_EINVAL);
}

static void test_payload_compressed(void **state)
{
    (void)state;
    /* 64 x 64 uint32 = 16384 bytes; bitshuffle's default block: 8192 B */
    swmrbus_format f = fmt(SWMRBUS_DTYPE_UINT32, SWMRBUS_ENC_BSLZ4, 64, 64);
    static uint8_t buf[40000];
    chunk_header(buf, 16384, 8192);
    assert_int_equal(swmrbus_payload_check(&f, buf, 12 + 100, why, sizeof why), SWMRBUS_OK);
    /* the bound: 2 blocks * (4 + 8192 + 32 + 16) + 32 = 16520 */
    assert_int_equal(swmrbus_payload_check(&f, buf, 12 + 16520, why, sizeof why), SWMRBUS_OK);
    assert_int_equal(swmrbus_payload_check(&f, buf, 12 + 16521, why, sizeof why),
                     SWMRBUS_EINVAL);
    assert_non_null(strstr(why, "bound"));
    /* header only, or shorter: no body */
    assert_int_equal(swmrbus_payload_check(&f, buf, 12, why, sizeof why), SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_payload_check(&f, buf, 5, why, sizeof why), SWMRBUS_EINVAL);
    /* wrong uncompressed size */
    chunk_header(buf, 16380, 8192);
    assert_int_equal(swmrbus_payload_check(&f, buf, 112, why, sizeof why), SWMRBUS_EINVAL);
    chunk_header(buf, 16384 + ((uint64_t)1 << 32), 8192);
    assert_int_equal(swmrbus_payload_check(&f, buf, 112, why, sizeof why), SWMRBUS_EINVAL);
    /* block size 0, and not a multiple of itemsize * 8 = 32 */
    chunk_header(buf, 16384, 0);
    assert_int_equal(swmrbus_payload_check(&f, buf, 112, why, sizeof why), SWMRBUS_EINVAL);
    chunk_header(buf, 16384, 8200);
    assert_int_equal(swmrbus_payload_check(&f, buf, 112, why, sizeof why), SWMRBUS_EINVAL);
    assert_non_null(strstr(why, "multiple"));
    chunk_header(buf, 16384, 16);
    assert_int_equal(swmrbus_payload_check(&f, buf, 112, why, sizeof why), SWMRBUS_EINVAL);
    chunk_header(buf, 16384, 32);
    assert_int_equal(swmrbus_payload_check(&f, buf, 112, why, sizeof why), SWMRBUS_OK);
    /* a huge block size: the bound uses min(B, S), so it stays near S */
    chunk_header(buf, 16384, 0xffffffe0u);
    assert_int_equal(swmrbus_payload_check(&f, buf, 12 + 16384, why, sizeof why), SWMRBUS_OK);
    assert_int_equal(swmrbus_payload_check(&f, buf, 12 + 20000, why, sizeof why),
                     SWMRBUS_EINVAL);

    /* lz4 (filter 32004): any nonzero block size, 1 GiB is its default */
    swmrbus_format l = fmt(SWMRBUS_DTYPE_UINT16, SWMRBUS_ENC_LZ4, 10, 10); /* 200 B */
    chunk_header(buf, 200, 1u << 30);
    assert_int_equal(swmrbus_payload_check(&l, buf, 12 + 4 + 60, why, sizeof why), SWMRBUS_OK);
    chunk_header(buf, 200, 7); /* not a multiple of anything: fine for lz4 */
    assert_int_equal(swmrbus_payload_check(&l, buf, 12 + 4 + 60, why, sizeof why), SWMRBUS_OK);
    chunk_header(buf, 200, 0);
    assert_int_equal(swmrbus_payload_check(&l, buf, 76, why, sizeof why), SWMRBUS_EINVAL);
    chunk_header(buf, 201, 1u << 30);
    assert_int_equal(swmrbus_payload_check(&l, buf, 76, why, sizeof why), SWMRBUS_EINVAL);
    chunk_header(buf, 200, 1u << 30); /* bound: 4 + 200 + 0 + 16 + 16 = 236 */
    assert_int_equal(swmrbus_payload_check(&l, buf, 12 + 236, why, sizeof why), SWMRBUS_OK);
    assert_int_equal(swmrbus_payload_check(&l, buf, 12 + 237, why, sizeof why),
                     SWMRBUS_EINVAL);
}

/* ---- encoders --------------------------------------------------------- */

static void test_header_roundtrip(void **state)
{
    (void)state;
    static const int64_t i_neg[] = {-5}, i_pos[] = {7}, i_arr[] = {-1, 0, 3};
    static const int64_t b_one[] = {1}, b_arr[] = {1, 0, 1};
    static const uint64_t u_one[] = {UINT64_MAX}, u_arr[] = {1, 2, (uint64_t)1 << 63};
    static const double f_one[] = {1.5}, f_arr[] = {0.5, -2.0};
    swmrbus_meta_item items[11];
    memset(items, 0, sizeof items);
#define ITEM(n, k, arr, cnt, field, val)                           \
    items[n].key.ptr = k;                                          \
    items[n].key.len = strlen(k);                                  \
    items[n].kind = SWMRBUS_META_##arr;                            \
    items[n].count = cnt;                                          \
    items[n].field = val
    ITEM(0, "int_neg", INT, 1, i, i_neg);
    ITEM(1, "int_pos", INT, 1, i, i_pos);
    ITEM(2, "uint", UINT, 1, u, u_one);
    ITEM(3, "float", FLOAT, 1, f, f_one);
    ITEM(4, "bool", BOOL, 1, i, b_one);
    ITEM(5, "str", STR, 1, s.ptr, "hello");
    items[5].s.len = 5;
    ITEM(6, "int_arr", INT, 3, i, i_arr);
    ITEM(7, "uint_arr", UINT, 3, u, u_arr);
    ITEM(8, "float_arr", FLOAT, 2, f, f_arr);
    ITEM(9, "bool_arr", BOOL, 3, i, b_arr);
    ITEM(10, "empty", UINT, 0, u, NULL);
#undef ITEM
    for (int k = 6; k < 11; k++) items[k].is_array = true;

    swmrbus_header in;
    memset(&in, 0, sizeof in);
    in.type = SWMRBUS_MSG_START;
    in.series = 1234567890123ull;
    in.format = fmt(SWMRBUS_DTYPE_INT32, SWMRBUS_ENC_BSLZ4, 512, 1024);
    in.has_frames = true;
    in.frames = 5000;
    in.name.ptr = "scan_7";
    in.name.len = 6;
    in.has_origin = true;
    in.origin_sink.ptr = "writer-a";
    in.origin_sink.len = 8;
    in.has_origin_series = true;
    in.origin_series = 3;
    in.origin_file.ptr = "/data/run42/scan_7_3.h5";
    in.origin_file.len = strlen(in.origin_file.ptr);

    swmrbus_buf out = {0};
    assert_int_equal(swmrbus_header_encode(&in, items, 11, &out), SWMRBUS_OK);
    assert_true(out.len > 0 && out.cap >= out.len);

    swmrbus_header h;
    swmrbus_reason r;
    assert_int_equal(dec_lim(out.data, out.len, NULL, &h, &r), SWMRBUS_OK);
    assert_int_equal(h.type, SWMRBUS_MSG_START);
    assert_true(h.series == in.series);
    assert_true(h.has_format);
    assert_true(swmrbus_format_equal(&h.format, &in.format));
    assert_true(h.has_frames);
    assert_int_equal(h.frames, 5000);
    assert_int_equal(h.name.len, 6);
    assert_memory_equal(h.name.ptr, "scan_7", 6);
    assert_true(h.has_origin);
    assert_int_equal(h.origin_sink.len, 8);
    assert_memory_equal(h.origin_sink.ptr, "writer-a", 8);
    assert_true(h.has_origin_series);
    assert_int_equal(h.origin_series, 3);
    assert_int_equal(h.origin_file.len, in.origin_file.len);
    assert_memory_equal(h.origin_file.ptr, in.origin_file.ptr, in.origin_file.len);

    seen sn;
    memset(&sn, 0, sizeof sn);
    assert_int_equal(swmrbus_meta_foreach(h.meta, collect, &sn), SWMRBUS_OK);
    assert_int_equal(sn.n, 11);
    for (size_t k = 0; k < 11; k++) {
        assert_string_equal(sn.item[k].key, items[k].key.ptr);
        assert_int_equal(sn.item[k].kind, items[k].kind);
        assert_int_equal(sn.item[k].is_array, items[k].is_array);
        assert_int_equal(sn.item[k].count, items[k].count);
    }
    assert_true(sn.item[0].i[0] == -5);
    assert_true(sn.item[1].i[0] == 7);
    assert_true(sn.item[2].u[0] == UINT64_MAX);
    assert_true(sn.item[3].f[0] == 1.5);
    assert_int_equal(sn.item[4].i[0], 1);
    assert_string_equal(sn.item[5].s, "hello");
    assert_memory_equal(sn.item[6].i, i_arr, sizeof i_arr);
    assert_memory_equal(sn.item[7].u, u_arr, sizeof u_arr);
    assert_memory_equal(sn.item[8].f, f_arr, sizeof f_arr);
    assert_memory_equal(sn.item[9].i, b_arr, sizeof b_arr);

    /* a frame (reusing the buffer): frame, ts; no start-only keys */
    memset(&in, 0, sizeof in);
    in.type = SWMRBUS_MSG_FRAME;
    in.series = 9;
    in.frame = 77;
    in.has_ts = true;
    in.ts = 1700000000000000001ull;
    in.name.ptr = "ignored";
    in.name.len = 7;
    assert_int_equal(swmrbus_header_encode(&in, NULL, 0, &out), SWMRBUS_OK);
    assert_int_equal(dec_lim(out.data, out.len, NULL, &h, &r), SWMRBUS_OK);
    assert_int_equal(h.type, SWMRBUS_MSG_FRAME);
    assert_int_equal(h.series, 9);
    assert_int_equal(h.frame, 77);
    assert_true(h.has_ts && h.ts == in.ts);
    assert_false(h.has_format);
    assert_int_equal(h.name.len, 0);
    swmrbus__mp mp;
    size_t pairs;
    swmrbus__mp_init(&mp, out.data, out.len);
    assert_int_equal(swmrbus__mp_map(&mp, &pairs), SWMRBUS_OK);
    assert_int_equal(pairs, 4); /* type, series, frame, ts */

    /* a frame that is an implicit start carries its format and name */
    in.has_format = true;
    in.format = fmt(SWMRBUS_DTYPE_UINT8, SWMRBUS_ENC_RAW, 3, 3);
    assert_int_equal(swmrbus_header_encode(&in, NULL, 0, &out), SWMRBUS_OK);
    assert_int_equal(dec_lim(out.data, out.len, NULL, &h, &r), SWMRBUS_OK);
    assert_true(h.has_format);
    assert_true(swmrbus_format_equal(&h.format, &in.format));
    assert_int_equal(h.name.len, 7);

    /* an end */
    memset(&in, 0, sizeof in);
    in.type = SWMRBUS_MSG_END;
    in.series = 9;
    in.frames = 78;
    assert_int_equal(swmrbus_header_encode(&in, NULL, 0, &out), SWMRBUS_OK);
    assert_int_equal(dec_lim(out.data, out.len, NULL, &h, &r), SWMRBUS_OK);
    assert_int_equal(h.type, SWMRBUS_MSG_END);
    assert_int_equal(h.frames, 78);

    /* invalid input: EINVAL and an empty buffer */
    in.type = SWMRBUS_MSG_NONE;
    assert_int_equal(swmrbus_header_encode(&in, NULL, 0, &out), SWMRBUS_EINVAL);
    assert_int_equal(out.len, 0);
    in.type = SWMRBUS_MSG_START; /* no format */
    assert_int_equal(swmrbus_header_encode(&in, NULL, 0, &out), SWMRBUS_EINVAL);
    in.format = fmt(SWMRBUS_DTYPE_UINT8, SWMRBUS_ENC_RAW, 3, 3);
    assert_int_equal(swmrbus_header_encode(&in, NULL, 0, &out), SWMRBUS_OK);
    in.name.ptr = "a\0b";
    in.name.len = 3;
    assert_int_equal(swmrbus_header_encode(&in, NULL, 0, &out), SWMRBUS_EINVAL);
    in.name.len = 0; /* empty name: absent */
    assert_int_equal(swmrbus_header_encode(&in, NULL, 0, &out), SWMRBUS_OK);
    items[5].is_array = true; /* string arrays are not supported */
    assert_int_equal(swmrbus_header_encode(&in, items, 11, &out), SWMRBUS_EINVAL);
    items[5].is_array = false;
    items[6].count = 4097;
    assert_int_equal(swmrbus_header_encode(&in, items, 11, &out), SWMRBUS_EINVAL);
    items[6].count = 3;
    assert_int_equal(swmrbus_header_encode(&in, items, 11, &out), SWMRBUS_OK);
    assert_int_equal(swmrbus_header_encode(&in, NULL, 2, &out), SWMRBUS_EINVAL);
    swmrbus_buf_free(&out);
    assert_null(out.data);
    assert_int_equal(out.cap, 0);
}

static void test_header_encode_grows(void **state)
{
    (void)state;
    /* a start with 2000 float meta values: many doublings from empty */
    static double vals[4096];
    for (int k = 0; k < 4096; k++) vals[k] = k;
    swmrbus_meta_item it;
    memset(&it, 0, sizeof it);
    it.key.ptr = "vals";
    it.key.len = 4;
    it.kind = SWMRBUS_META_FLOAT;
    it.is_array = true;
    it.count = 4096;
    it.f = vals;
    swmrbus_header in;
    memset(&in, 0, sizeof in);
    in.type = SWMRBUS_MSG_START;
    in.format = fmt(SWMRBUS_DTYPE_FLOAT64, SWMRBUS_ENC_RAW, 2, 2);
    swmrbus_buf out = {0};
    assert_int_equal(swmrbus_header_encode(&in, &it, 1, &out), SWMRBUS_OK);
    assert_true(out.len > 4096 * 9);
    swmrbus_header h;
    swmrbus_reason r;
    assert_int_equal(dec_lim(out.data, out.len, NULL, &h, &r), SWMRBUS_OK);
    seen sn;
    memset(&sn, 0, sizeof sn);
    assert_int_equal(swmrbus_meta_foreach(h.meta, collect, &sn), SWMRBUS_OK);
    assert_int_equal(sn.item[0].count, 4096);
    assert_true(sn.item[0].f[7] == 7.0);
    swmrbus_buf_free(&out);
}

/* What a source sends on for a second sink (issue 11): start.times and
 * start.arrays, and a frame's times (NaN as nil), decoded back the same. */
static void test_header_encode_times_arrays(void **state)
{
    (void)state;
    swmrbus_header in, h;
    swmrbus_reason r;
    swmrbus_buf out = {0}, arr = {0};
    msgpack_packer pk;
    msgpack_packer_init(&pk, &arr, swmrbus_buf_write);
    msgpack_pack_array(&pk, 2);
    for (int k = 0; k < 2; k++) {
        msgpack_pack_map(&pk, 4);
        msgpack_pack_str_with_body(&pk, "name", 4);
        msgpack_pack_str_with_body(&pk, k ? "a_channel/threshold_energy" : "pixel_mask",
                                   k ? 26 : 10);
        msgpack_pack_str_with_body(&pk, "dtype", 5);
        msgpack_pack_str_with_body(&pk, k ? "float64" : "uint32", k ? 7 : 6);
        msgpack_pack_str_with_body(&pk, "shape", 5);
        msgpack_pack_array(&pk, k ? 0 : 2);
        if (!k) {
            msgpack_pack_uint64(&pk, 4);
            msgpack_pack_uint64(&pk, 5);
        }
        msgpack_pack_str_with_body(&pk, "encoding", 8);
        msgpack_pack_str_with_body(&pk, "raw", 3);
    }
    memset(&in, 0, sizeof in);
    in.type = SWMRBUS_MSG_START;
    in.series = 3;
    in.has_format = true;
    in.format = fmt(SWMRBUS_DTYPE_UINT16, SWMRBUS_ENC_RAW, 4, 5);
    in.times = true;
    in.arrays = (swmrbus_str){(const char *)arr.data, arr.len};
    in.n_arrays = 2;
    assert_int_equal(swmrbus_header_encode(&in, NULL, 0, &out), SWMRBUS_OK);
    assert_int_equal(dec_lim(out.data, out.len, NULL, &h, &r), SWMRBUS_OK);
    assert_true(h.times);
    assert_int_equal(h.n_arrays, 2);
    assert_int_equal(h.arrays.len, arr.len);
    assert_memory_equal(h.arrays.ptr, arr.data, arr.len);
    in.n_arrays = 3; /* says 3, holds 2: the list is checked as datasets are */
    in.arrays.len = 3;
    assert_int_equal(swmrbus_header_encode(&in, NULL, 0, &out), SWMRBUS_EINVAL);

    memset(&in, 0, sizeof in);
    in.type = SWMRBUS_MSG_FRAME;
    in.series = 3;
    in.frame = 8;
    in.has_frame_times = true;
    in.frame_times[0] = 0.5;
    in.frame_times[1] = NAN;
    in.frame_times[2] = 0.25;
    assert_int_equal(swmrbus_header_encode(&in, NULL, 0, &out), SWMRBUS_OK);
    assert_int_equal(dec_lim(out.data, out.len, NULL, &h, &r), SWMRBUS_OK);
    assert_true(h.has_frame_times);
    assert_true(h.frame_times[0] == 0.5);
    assert_true(isnan(h.frame_times[1]));
    assert_true(h.frame_times[2] == 0.25);
    swmrbus_buf_free(&out);
    swmrbus_buf_free(&arr);
}

static void test_notice_roundtrip(void **state)
{
    (void)state;
    swmrbus_notice n;
    memset(&n, 0, sizeof n);
    n.topic = SWMRBUS_NOTICE_ERROR;
    n.has_series = true; n.series = 5;
    n.file.ptr = "/data/run42/det_5.h5"; n.file.len = strlen(n.file.ptr);
    n.dataset.ptr = SWMRBUS_DATASET_PATH; n.dataset.len = strlen(SWMRBUS_DATASET_PATH);
    n.has_frames = true; n.frames = 100;
    n.has_written = true; n.written = 98;
    n.has_complete = true; n.complete = 90;
    n.has_seq = true; n.seq = 0;
    n.has_t = true; n.t = 1700000000999999999ull;
    n.sink.ptr = "writer"; n.sink.len = 6;
    n.via.ptr = "reader"; n.via.len = 6;
    n.error.ptr = "frame index out of range"; n.error.len = strlen(n.error.ptr);
    n.has_reason = true; n.reason = SWMRBUS_R_CLOSED_SERIES;
    n.has_count = true; n.count = 3;

    swmrbus_buf out = {0};
    assert_int_equal(swmrbus_notice_encode(&n, &out), SWMRBUS_OK);
    const char *topic = swmrbus_topic_name(n.topic);
    swmrbus_notice d;
    assert_int_equal(swmrbus_notice_decode(topic, strlen(topic), out.data, out.len, 65536, &d,
                                           why, sizeof why),
                     SWMRBUS_OK);
    assert_int_equal(d.topic, SWMRBUS_NOTICE_ERROR);
    assert_true(d.has_series && d.series == 5);
    assert_true(d.has_frames && d.frames == 100);
    assert_true(d.has_written && d.written == 98);
    assert_true(d.has_complete && d.complete == 90);
    assert_true(d.has_seq && d.seq == 0);
    assert_true(d.has_t && d.t == n.t);
    assert_true(d.has_count && d.count == 3);
    assert_true(d.has_reason && d.reason == SWMRBUS_R_CLOSED_SERIES);
    assert_int_equal(d.file.len, n.file.len);
    assert_memory_equal(d.file.ptr, n.file.ptr, n.file.len);
    assert_memory_equal(d.dataset.ptr, SWMRBUS_DATASET_PATH, d.dataset.len);
    assert_memory_equal(d.sink.ptr, "writer", 6);
    assert_memory_equal(d.via.ptr, "reader", 6);
    assert_memory_equal(d.error.ptr, n.error.ptr, n.error.len);

    /* only what is set is encoded: a flushed with series, frames, seq */
    memset(&n, 0, sizeof n);
    n.topic = SWMRBUS_NOTICE_FLUSHED;
    n.has_series = true; n.series = 1;
    n.has_frames = true; n.frames = 0;
    n.has_seq = true; n.seq = 12;
    n.sink.ptr = ""; /* an empty string that is present */
    assert_int_equal(swmrbus_notice_encode(&n, &out), SWMRBUS_OK);
    swmrbus__mp mp;
    size_t pairs;
    swmrbus__mp_init(&mp, out.data, out.len);
    assert_int_equal(swmrbus__mp_map(&mp, &pairs), SWMRBUS_OK);
    assert_int_equal(pairs, 4);
    assert_int_equal(swmrbus_notice_decode("swmrbus.flushed", 15, out.data, out.len, 65536, &d,
                                           why, sizeof why),
                     SWMRBUS_OK);
    assert_int_equal(d.topic, SWMRBUS_NOTICE_FLUSHED);
    assert_true(d.has_frames && d.frames == 0);
    assert_false(d.has_written || d.has_complete || d.has_t || d.has_count || d.has_reason);
    assert_null(d.file.ptr);
    assert_null(d.via.ptr);
    assert_non_null(d.sink.ptr);
    assert_int_equal(d.sink.len, 0);

    /* an empty notice is an empty map */
    memset(&n, 0, sizeof n);
    assert_int_equal(swmrbus_notice_encode(&n, &out), SWMRBUS_OK);
    assert_int_equal(out.len, 1);
    assert_int_equal(out.data[0], 0x80);
    n.has_reason = true;
    n.reason = SWMRBUS_R_COUNT;
    assert_int_equal(swmrbus_notice_encode(&n, &out), SWMRBUS_EINVAL);
    swmrbus_buf_free(&out);
}

static void test_notice_decode_rejects(void **state)
{
    (void)state;
    swmrbus_notice d;
    mb m;
    mb_init(&m);
    map_(&m, 2);
    ku(&m, "series", 1);
    ks(&m, "x-new", "ignored");
    /* topic */
    assert_int_equal(swmrbus_notice_decode("swmrbus.opened", 14, m.sb.data, m.sb.size, 100, &d,
                                           why, sizeof why),
                     SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_notice_decode(NULL, 0, m.sb.data, m.sb.size, 100, &d, why,
                                           sizeof why),
                     SWMRBUS_EINVAL);
    assert_int_equal(swmrbus_notice_decode("swmrbus.open", 12, m.sb.data, m.sb.size, 100, &d,
                                           why, sizeof why),
                     SWMRBUS_OK);
    assert_true(d.has_series);
    /* over max_bytes */
    assert_int_equal(swmrbus_notice_decode("swmrbus.open", 12, m.sb.data, m.sb.size, 5, &d,
                                           why, sizeof why),
                     SWMRBUS_ELIMIT);
    mb_done(&m);

    for (int c = 0; c < 7; c++) {
        mb_init(&m);
        map_(&m, 1);
        switch (c) {
        case 0: ks(&m, "series", "1"); break;
        case 1: s_(&m, "frames"); msgpack_pack_int64(&m.pk, -1); break;
        case 2: ku(&m, "file", 3); break;
        case 3: s_(&m, "t"); msgpack_pack_nil(&m.pk); break;
        case 4: s_(&m, "sink"); msgpack_pack_bin_with_body(&m.pk, "w", 1); break;
        case 5: ku(&m, "reason", 1); break;
        case 6: s_(&m, "count"); msgpack_pack_double(&m.pk, 1.0); break;
        }
        swmrbus_err e = swmrbus_notice_decode("swmrbus.error", 13, m.sb.data, m.sb.size, 100,
                                              &d, why, sizeof why);
        assert_int_equal(e, SWMRBUS_EINVAL);
        assert_true(strlen(why) > 0);
        mb_done(&m);
    }
    /* an unknown (newer) reason code is left absent, not an error */
    mb_init(&m);
    map_(&m, 2);
    ks(&m, "reason", "disk_on_fire");
    ks(&m, "error", "boom");
    assert_int_equal(swmrbus_notice_decode("swmrbus.error", 13, m.sb.data, m.sb.size, 100, &d,
                                           why, sizeof why),
                     SWMRBUS_OK);
    assert_false(d.has_reason);
    assert_int_equal(d.error.len, 4);
    mb_done(&m);
    /* not a map, garbage */
    static const uint8_t arr[] = {0x90};
    assert_int_equal(swmrbus_notice_decode("swmrbus.open", 12, arr, 1, 100, &d, why, sizeof why),
                     SWMRBUS_EINVAL);
    static const uint8_t big[] = {0xdf, 0xff, 0xff, 0xff, 0xff};
    assert_int_equal(swmrbus_notice_decode("swmrbus.open", 12, big, 5, 100, &d, why, sizeof why),
                     SWMRBUS_EINVAL);
}

/* ---- requests --------------------------------------------------------- */

static void test_request(void **state)
{
    (void)state;
    swmrbus_request q;
    mb m;

    mb_init(&m);
    map_(&m, 1);
    ks(&m, "cmd", "status");
    assert_int_equal(swmrbus_request_decode(m.sb.data, m.sb.size, 4096, &q, why, sizeof why),
                     SWMRBUS_OK);
    assert_int_equal(q.cmd, SWMRBUS_CMD_STATUS);
    assert_false(q.has_series);
    mb_done(&m);

    mb_init(&m);
    map_(&m, 3);
    ku(&m, "series", 4);
    ks(&m, "cmd", "flush");
    ks(&m, "x-client", "cli"); /* unknown keys are ignored */
    assert_int_equal(swmrbus_request_decode(m.sb.data, m.sb.size, 4096, &q, why, sizeof why),
                     SWMRBUS_OK);
    assert_int_equal(q.cmd, SWMRBUS_CMD_FLUSH);
    assert_true(q.has_series);
    assert_int_equal(q.series, 4);
    mb_done(&m);

    mb_init(&m);
    map_(&m, 1);
    ks(&m, "cmd", "close");
    assert_int_equal(swmrbus_request_decode(m.sb.data, m.sb.size, 4096, &q, why, sizeof why),
                     SWMRBUS_OK);
    assert_int_equal(q.cmd, SWMRBUS_CMD_CLOSE);
    mb_done(&m);

    /* unknown cmd, missing cmd, mistyped cmd/series, not a map, too big */
    for (int c = 0; c < 7; c++) {
        mb_init(&m);
        switch (c) {
        case 0: map_(&m, 1); ks(&m, "cmd", "reboot"); break;
        case 1: map_(&m, 1); ku(&m, "series", 1); break;
        case 2: map_(&m, 1); ku(&m, "cmd", 1); break;
        case 3: map_(&m, 2); ks(&m, "cmd", "flush"); ks(&m, "series", "1"); break;
        case 4: map_(&m, 2); ks(&m, "cmd", "flush"); s_(&m, "series");
            msgpack_pack_int64(&m.pk, -1);
            break;
        case 5: arr_(&m, 1); s_(&m, "status"); break;
        case 6: map_(&m, 0); break;
        }
        assert_int_equal(swmrbus_request_decode(m.sb.data, m.sb.size, 4096, &q, why, sizeof why),
                         SWMRBUS_EINVAL);
        assert_true(strlen(why) > 0);
        assert_int_equal(q.cmd, SWMRBUS_CMD_NONE);
        mb_done(&m);
    }
    if (strstr(why, "cmd") == NULL) fail_msg("missing cmd: %s", why);
    mb_init(&m);
    map_(&m, 1);
    ks(&m, "cmd", "status");
    assert_int_equal(swmrbus_request_decode(m.sb.data, m.sb.size, 3, &q, why, sizeof why),
                     SWMRBUS_EINVAL);
    static const uint8_t garbage[] = {0xc1};
    assert_int_equal(swmrbus_request_decode(garbage, 1, 4096, &q, why, sizeof why),
                     SWMRBUS_EINVAL);
    /* a NUL inside a quoted wire string does not cut the quote short (found
     * fuzzing: "status\0x" read as unknown cmd "status") */
    static const uint8_t nul_cmd[] = "\x81\xa3" "cmd\xa8" "status\0x";
    assert_int_equal(swmrbus_request_decode(nul_cmd, sizeof nul_cmd - 1, 4096, &q, why,
                                            sizeof why), SWMRBUS_EINVAL);
    assert_string_equal(why, "unknown cmd \"status?x\"");
    static const uint8_t nul_dtype[] = "\x82\xa4" "type\xa5" "start\xa5" "dtype\xa6" "uint8\0";
    swmrbus_header h;
    swmrbus_reason reason;
    assert_int_equal(swmrbus_header_decode(nul_dtype, sizeof nul_dtype - 1, NULL, &h, &reason,
                                           why, sizeof why), SWMRBUS_EINVAL);
    assert_string_equal(why, "dtype: unknown \"uint8?\"");
    mb_done(&m);
}

/* ---- interop: the seed corpus, written by Python's msgpack ------------ */

static bool starts(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* ---- named datasets and static (start.datasets, start.static) -------- */

static void ds_(mb *m, const char *name, const char *dtype, size_t ndim, uint64_t dim)
{
    map_(m, 4);
    ks(m, "name", name);
    ks(m, "dtype", dtype);
    s_(m, "shape");
    arr_(m, ndim);
    for (size_t k = 0; k < ndim; k++) u_(m, dim);
    ks(m, "encoding", "raw");
}

static int ds_collect(const swmrbus_dataset *d, size_t index, void *user)
{
    swmrbus_dataset *out = user;
    out[index] = *d;
    return 0;
}

static int st_count(const swmrbus_static_item *it, void *user)
{
    int *n = user;
    if (swmrbus__str_is(it->path, "M/list")) {
        assert_int_equal(it->kind, SWMRBUS_META_STR);
        assert_int_equal(it->count, 2);
        assert_true(swmrbus__str_is(it->ss[1], "yz"));
    } else if (swmrbus__str_is(it->path, "M/v")) {
        assert_int_equal(it->kind, SWMRBUS_META_STR);
        assert_true(swmrbus__str_is(it->s, "1.0"));
    }
    (*n)++;
    return 0;
}

static void test_datasets(void **state)
{
    (void)state;
    const char *good[] = {"a", "INDEX/trainId", "INSTRUMENT/SPB/DET:out/data/adc", "a.b/c",
                          "entryx/y", "x/entry"};
    const char *bad[] = {"", "/a", "a/", "a//b", ".", "a/./b", "..", "a/../b", "entry",
                         "entry/data/data", "a\nb", "a\x7f"};
    for (size_t k = 0; k < sizeof good / sizeof good[0]; k++)
        assert_true(swmrbus_path_ok((swmrbus_str){good[k], strlen(good[k])}));
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++)
        assert_false(swmrbus_path_ok((swmrbus_str){bad[k], strlen(bad[k])}));

    mb m;
    swmrbus_header h;
    swmrbus_reason r;
    mb_init(&m);
    map_(&m, 4);
    ks(&m, "type", "start");
    ku(&m, "series", 2);
    s_(&m, "datasets");
    arr_(&m, 3);
    ds_(&m, "INDEX/trainId", "uint64", 0, 1);
    ds_(&m, "I/adc", "uint16", 8, 2);
    ds_(&m, "I/gain", "uint8", 4, 3);
    s_(&m, "static");
    map_(&m, 2);
    ks(&m, "M/v", "1.0");
    s_(&m, "M/list");
    arr_(&m, 2);
    s_(&m, "x");
    s_(&m, "yz");
    assert_int_equal(dec(&m, &h, &r), SWMRBUS_OK);
    assert_false(h.has_format);
    assert_int_equal(h.n_datasets, 3);
    swmrbus_dataset d[3];
    assert_int_equal(swmrbus_datasets_foreach(h.datasets, ds_collect, d), SWMRBUS_OK);
    assert_true(swmrbus__str_is(d[1].name, "I/adc"));
    assert_int_equal(d[0].format.ndim, 0);
    assert_int_equal(swmrbus_format_raw_bytes(&d[0].format), 8);
    assert_int_equal(d[1].format.ndim, 8);
    assert_int_equal(swmrbus_format_raw_bytes(&d[1].format), 2 * 256);
    assert_int_equal(swmrbus_format_raw_bytes(&d[2].format), 81);
    int n = 0;
    assert_int_equal(swmrbus_static_foreach(h.statics, st_count, &n), SWMRBUS_OK);
    assert_int_equal(n, 2);

    /* encode -> decode keeps datasets and static byte for byte */
    swmrbus_buf out = {0};
    swmrbus_header h2;
    assert_int_equal(swmrbus_header_encode(&h, NULL, 0, &out), SWMRBUS_OK);
    assert_int_equal(dec_lim(out.data, out.len, NULL, &h2, &r), SWMRBUS_OK);
    assert_int_equal(h2.n_datasets, 3);
    assert_int_equal(h2.datasets.len, h.datasets.len);
    assert_memory_equal(h2.datasets.ptr, h.datasets.ptr, h.datasets.len);
    assert_int_equal(h2.statics.len, h.statics.len);
    swmrbus_buf_free(&out);
    mb_done(&m);

    /* a row over max_frame_bytes is a limit; 9 dims, a clash: bad header */
    mb_init(&m);
    map_(&m, 3);
    ks(&m, "type", "start");
    ku(&m, "series", 2);
    s_(&m, "datasets");
    arr_(&m, 1);
    ds_(&m, "big", "uint64", 8, 64);
    expect_reject(&m, SWMRBUS_ELIMIT, SWMRBUS_R_LIMIT);
    mb_done(&m);
    mb_init(&m);
    map_(&m, 3);
    ks(&m, "type", "start");
    ku(&m, "series", 2);
    s_(&m, "datasets");
    arr_(&m, 1);
    ds_(&m, "nine", "uint8", 9, 1);
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);
    mb_init(&m);
    map_(&m, 3);
    ks(&m, "type", "start");
    ku(&m, "series", 2);
    s_(&m, "datasets");
    arr_(&m, 2);
    ds_(&m, "a/b", "uint8", 1, 1);
    ds_(&m, "a", "uint8", 1, 1);
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);
    /* a legacy start: shape still 1..3 */
    mb_init(&m);
    map_(&m, 5);
    ks(&m, "type", "start");
    ku(&m, "series", 7);
    ks(&m, "dtype", "uint16");
    kshape(&m, 4, 1, 1, 1);
    ks(&m, "encoding", "raw");
    expect_reject(&m, SWMRBUS_EINVAL, SWMRBUS_R_BAD_HEADER);
    mb_done(&m);
}

static void test_python_seeds(void **state)
{
    (void)state;
    const char *src = getenv("SWMRBUS_SOURCE_DIR");
    if (!src) skip();
    char dir[4096];
    snprintf(dir, sizeof dir, "%s/tests/fuzz/corpus/fuzz_header", src);
    DIR *d = opendir(dir);
    assert_non_null(d);
    struct dirent *e;
    int checked = 0;
    static uint8_t buf[1 << 17];
    while ((e = readdir(d)) != NULL) {
        const char *n = e->d_name;
        if (!starts(n, "ok_") && !starts(n, "bad_")) continue;
        char path[8192];
        snprintf(path, sizeof path, "%s/%s", dir, n);
        FILE *f = fopen(path, "rb");
        assert_non_null(f);
        size_t len = fread(buf, 1, sizeof buf, f);
        fclose(f);
        swmrbus__mp mp;
        swmrbus__mp_init(&mp, buf, len);
        size_t hlen = len;
        if (swmrbus__mp_skip(&mp) == SWMRBUS_OK) hlen = len - swmrbus__mp_left(&mp);
        bool ok = starts(n, "ok_");
        swmrbus_err got;
        if (strstr(n, "_notice_")) {
            swmrbus_notice no;
            got = swmrbus_notice_decode("swmrbus.flushed", 15, buf, hlen, 65536, &no, why,
                                        sizeof why);
        } else if (strstr(n, "_request_")) {
            swmrbus_request q;
            got = swmrbus_request_decode(buf, hlen, 4096, &q, why, sizeof why);
        } else {
            swmrbus_header h;
            swmrbus_reason r;
            got = swmrbus_header_decode(buf, hlen, NULL, &h, &r, why, sizeof why);
            if (got == SWMRBUS_OK && h.has_format && hlen < len)
                got = swmrbus_payload_check(&h.format, buf + hlen, len - hlen, why, sizeof why);
            if (got == SWMRBUS_OK)
                got = swmrbus_meta_foreach(h.meta, collect_none, NULL);
        }
        if ((got == SWMRBUS_OK) != ok) fail_msg("seed %s: err %d (%s)", n, got, why);
        checked++;
    }
    closedir(d);
    assert_true(checked >= 30);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_scan_basic),
        cmocka_unit_test(test_scan_huge_counts),
        cmocka_unit_test(test_scan_depth),
        cmocka_unit_test(test_mpread),
        cmocka_unit_test(test_header_start_frame_end),
        cmocka_unit_test(test_header_implicit_start),
        cmocka_unit_test(test_header_unknown_keys),
        cmocka_unit_test(test_header_times),
        cmocka_unit_test(test_header_wrong_types),
        cmocka_unit_test(test_header_dtype_encoding_shape),
        cmocka_unit_test(test_header_limits),
        cmocka_unit_test(test_header_bad_msgpack),
        cmocka_unit_test(test_header_names),
        cmocka_unit_test(test_meta_decode),
        cmocka_unit_test(test_meta_rejects),
        cmocka_unit_test(test_payload_raw),
        cmocka_unit_test(test_payload_compressed),
        cmocka_unit_test(test_header_roundtrip),
        cmocka_unit_test(test_header_encode_grows),
        cmocka_unit_test(test_header_encode_times_arrays),
        cmocka_unit_test(test_notice_roundtrip),
        cmocka_unit_test(test_notice_decode_rejects),
        cmocka_unit_test(test_request),
        cmocka_unit_test(test_datasets),
        cmocka_unit_test(test_python_seeds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
