/* tests/unit/test_source_reader.c — source/sfile.c (the SWMR file reader of
 * the source: layout, rows as stored chunks, gaps, timestamps, meta read
 * back) on files the sink's writer makes in this same process (so the
 * "one process, two components, one file" case), and the public
 * swmrbus_reader API driven by notifications published here. Files go to
 * $SWMRBUS_TEST_TMP. */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>
#include <msgpack.h>
#include <zmq.h>

#include "sfile.h"
#include "swmrbus/source.h"
#include "writer.h"

#define ROWS 4
#define COLS 8
#define NPIX (ROWS * COLS)

static char g_tmp[PATH_MAX];

/* Under LeakSanitizer: HDF5 1.10.8 itself leaks ~1.2 KB (3 blocks malloc'ed
 * inside libhdf5) when H5Drefresh fails and the dataset cannot be reopened,
 * which test_sfile_refresh_failure_is_survived provokes on purpose. Only
 * leaks whose allocation is inside libhdf5 are suppressed. */
const char *__lsan_default_suppressions(void);
const char *__lsan_default_suppressions(void) { return "leak:libhdf5_serial.so\n"; }

static void path_for(char *out, size_t cap, const char *name)
{
    int n = snprintf(out, cap, "%s/source_%d_%s.h5", g_tmp, (int)getpid(), name);
    if (n < 0 || (size_t)n >= cap) fail_msg("path too long");
    unlink(out);
}

static void fill(uint16_t *buf, uint64_t frame)
{
    for (size_t j = 0; j < NPIX; j++) buf[j] = (uint16_t)(frame * 100u + j);
}

static swmrbus__writer *make_writer(const char *path, swmrbus_encoding compression,
                                    swmrbus_str meta)
{
    swmrbus__writer_opts o;
    memset(&o, 0, sizeof o);
    o.path = path;
    o.format.dtype = SWMRBUS_DTYPE_UINT16;
    o.format.encoding = SWMRBUS_ENC_RAW;
    o.format.ndim = 2;
    o.format.shape[0] = ROWS;
    o.format.shape[1] = COLS;
    o.compression = compression;
    o.name = (swmrbus_str){"scan", 4};
    o.frames_expected = 10;
    o.meta = meta;
    char err[512] = "";
    swmrbus__writer *w = NULL;
    swmrbus_err rc = swmrbus__writer_create(&o, &w, err, sizeof err);
    if (rc != SWMRBUS_OK) fail_msg("create %s: %s", path, err);
    return w;
}

static void write_row(swmrbus__writer *w, uint64_t i, uint64_t ts)
{
    uint16_t buf[NPIX];
    char err[512] = "";
    bool dup = false;
    fill(buf, i);
    if (swmrbus__writer_write(w, i, buf, sizeof buf, ts, &dup, err, sizeof err) != SWMRBUS_OK)
        fail_msg("write %llu: %s", (unsigned long long)i, err);
}

static void flush_writer(swmrbus__writer *w)
{
    char err[512] = "";
    swmrbus__flush_info fi;
    if (swmrbus__writer_flush(w, &fi, err, sizeof err) != SWMRBUS_OK) fail_msg("flush: %s", err);
}

static void close_writer(swmrbus__writer **w)
{
    char err[512] = "";
    swmrbus__flush_info fi;
    if (swmrbus__writer_close(w, &fi, err, sizeof err) != SWMRBUS_OK) fail_msg("close: %s", err);
}

/* {gain: 3, offset: -5, exposure: 0.5, mode: "fast", cooled: true, roi: [1, 2, 300]} */
static void make_meta(msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    msgpack_pack_str_with_body(&pk, "gain", 4);
    msgpack_pack_uint64(&pk, 3);
    msgpack_pack_str_with_body(&pk, "offset", 6);
    msgpack_pack_int64(&pk, -5);
    msgpack_pack_str_with_body(&pk, "exposure", 8);
    msgpack_pack_double(&pk, 0.5);
    msgpack_pack_str_with_body(&pk, "mode", 4);
    msgpack_pack_str_with_body(&pk, "fast", 4);
    msgpack_pack_str_with_body(&pk, "cooled", 6);
    msgpack_pack_true(&pk);
    msgpack_pack_str_with_body(&pk, "roi", 3);
    msgpack_pack_array(&pk, 3);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_uint64(&pk, 2);
    msgpack_pack_uint64(&pk, 300);
}

static const swmrbus_meta_item *find_item(const swmrbus__meta_list *ml, const char *key)
{
    for (size_t i = 0; i < ml->n; i++)
        if (ml->items[i].key.len == strlen(key) && !memcmp(ml->items[i].key.ptr, key, strlen(key)))
            return &ml->items[i];
    return NULL;
}

/* ---- sfile ------------------------------------------------------------------ */

static void test_sfile_raw_rows_gaps_ts_meta(void **state)
{
    (void)state;
    char path[PATH_MAX], err[512] = "";
    path_for(path, sizeof path, "raw");
    msgpack_sbuffer sb;
    make_meta(&sb);
    swmrbus__writer *w = make_writer(path, SWMRBUS_ENC_NONE, (swmrbus_str){sb.data, sb.size});
    msgpack_sbuffer_destroy(&sb);
    write_row(w, 0, 1000);
    write_row(w, 1, 0);
    write_row(w, 3, 3000); /* row 2: a gap */
    flush_writer(w);

    swmrbus_limits lim;
    swmrbus_limits_default(&lim);
    swmrbus__sfile *f = NULL;
    if (swmrbus__sfile_open(path, &lim, &f, err, sizeof err) != SWMRBUS_OK)
        fail_msg("open: %s", err);
    const swmrbus__sfile_info *in = swmrbus__sfile_get_info(f);
    assert_int_equal(in->fmt.dtype, SWMRBUS_DTYPE_UINT16);
    assert_int_equal(in->fmt.encoding, SWMRBUS_ENC_RAW);
    assert_int_equal(in->fmt.ndim, 2);
    assert_int_equal(in->fmt.shape[0], ROWS);
    assert_int_equal(in->fmt.shape[1], COLS);
    assert_true(in->direct);
    assert_string_equal(in->name, "scan");
    assert_int_equal(in->frames_expected, 10);

    uint64_t rows = 0;
    assert_int_equal(swmrbus__sfile_refresh(f, &rows, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(rows, 4);
    uint16_t want[NPIX], got[NPIX];
    for (uint64_t r = 0; r < 4; r++) {
        size_t size = 0;
        bool gap = true;
        assert_int_equal(swmrbus__sfile_row_size(f, r, &size, &gap, err, sizeof err), SWMRBUS_OK);
        if (r == 2) {
            assert_true(gap);
            continue;
        }
        assert_false(gap);
        assert_int_equal(size, sizeof got);
        assert_int_equal(swmrbus__sfile_read_row(f, r, got, size, err, sizeof err), SWMRBUS_OK);
        fill(want, r);
        assert_memory_equal(got, want, sizeof got);
    }
    uint64_t ts = 1;
    assert_int_equal(swmrbus__sfile_ts(f, 0, 4, &ts, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(ts, 1000);
    assert_int_equal(swmrbus__sfile_ts(f, 1, 4, &ts, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(ts, 0);
    assert_int_equal(swmrbus__sfile_ts(f, 3, 4, &ts, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(ts, 3000);
    /* never at or beyond the limit (rows not notified) */
    assert_int_equal(swmrbus__sfile_ts(f, 3, 3, &ts, err, sizeof err), SWMRBUS_OK);

    /* decoded rows, several at once (the gap reads as the fill value 0) */
    uint16_t two[2 * NPIX];
    assert_int_equal(swmrbus__sfile_read_rows(f, 1, 2, two, sizeof two, err, sizeof err),
                     SWMRBUS_OK);
    fill(want, 1);
    assert_memory_equal(two, want, sizeof want);
    for (size_t j = 0; j < NPIX; j++) assert_int_equal(two[NPIX + j], 0);
    assert_int_equal(swmrbus__sfile_read_rows(f, 3, 2, two, sizeof two, err, sizeof err),
                     SWMRBUS_ELIMIT);

    swmrbus__meta_list ml;
    assert_int_equal(swmrbus__sfile_meta(f, 65536, &ml, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(ml.n, 6);
    assert_int_equal(ml.skipped, 0);
    const swmrbus_meta_item *it;
    assert_non_null(it = find_item(&ml, "gain"));
    assert_int_equal(it->kind, SWMRBUS_META_UINT);
    assert_int_equal(it->u[0], 3);
    assert_non_null(it = find_item(&ml, "offset"));
    assert_int_equal(it->kind, SWMRBUS_META_INT);
    assert_int_equal(it->i[0], -5);
    assert_non_null(it = find_item(&ml, "exposure"));
    assert_int_equal(it->kind, SWMRBUS_META_FLOAT);
    assert_true(it->f[0] == 0.5);
    assert_non_null(it = find_item(&ml, "mode"));
    assert_int_equal(it->kind, SWMRBUS_META_STR);
    assert_int_equal(it->s.len, 4);
    assert_memory_equal(it->s.ptr, "fast", 4);
    assert_non_null(it = find_item(&ml, "cooled"));
    assert_int_equal(it->kind, SWMRBUS_META_BOOL);
    assert_int_equal(it->i[0], 1);
    assert_non_null(it = find_item(&ml, "roi"));
    assert_true(it->is_array);
    assert_int_equal(it->count, 3);
    assert_int_equal(it->u[2], 300);
    /* a start with them encodes */
    swmrbus_header h;
    memset(&h, 0, sizeof h);
    h.type = SWMRBUS_MSG_START;
    h.format = in->fmt;
    swmrbus_buf b = {0};
    assert_int_equal(swmrbus_header_encode(&h, ml.items, ml.n, &b), SWMRBUS_OK);
    swmrbus_buf_free(&b);
    swmrbus__meta_list_free(&ml);
    /* a tight budget keeps what fits */
    assert_int_equal(swmrbus__sfile_meta(f, 20, &ml, err, sizeof err), SWMRBUS_OK);
    assert_true(ml.n < 6);
    assert_true(ml.bytes <= 20);
    swmrbus__meta_list_free(&ml);

    /* more rows appear on refresh */
    write_row(w, 2, 0);
    write_row(w, 4, 0);
    flush_writer(w);
    assert_int_equal(swmrbus__sfile_refresh(f, &rows, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(rows, 5);
    size_t size;
    bool gap = true;
    assert_int_equal(swmrbus__sfile_row_size(f, 2, &size, &gap, err, sizeof err), SWMRBUS_OK);
    assert_false(gap);

    swmrbus__sfile_close(&f);
    assert_null(f);
    close_writer(&w);
    unlink(path);
}

static void test_sfile_bslz4_goes_as_stored(void **state)
{
    (void)state;
    char path[PATH_MAX], err[512] = "";
    path_for(path, sizeof path, "bslz4");
    swmrbus__writer *w = make_writer(path, SWMRBUS_ENC_BSLZ4, (swmrbus_str){NULL, 0});
    for (uint64_t i = 0; i < 3; i++) write_row(w, i, 0);
    close_writer(&w);

    swmrbus_limits lim;
    swmrbus_limits_default(&lim);
    swmrbus__sfile *f = NULL;
    if (swmrbus__sfile_open(path, &lim, &f, err, sizeof err) != SWMRBUS_OK)
        fail_msg("open: %s", err);
    const swmrbus__sfile_info *in = swmrbus__sfile_get_info(f);
    assert_true(in->direct);
    assert_int_equal(in->fmt.encoding, SWMRBUS_ENC_BSLZ4);
    uint16_t want[NPIX], got[NPIX];
    for (uint64_t r = 0; r < 3; r++) {
        size_t size = 0;
        bool gap = true;
        assert_int_equal(swmrbus__sfile_row_size(f, r, &size, &gap, err, sizeof err), SWMRBUS_OK);
        assert_false(gap);
        uint8_t *chunk = malloc(size);
        assert_non_null(chunk);
        assert_int_equal(swmrbus__sfile_read_row(f, r, chunk, size, err, sizeof err), SWMRBUS_OK);
        /* the filter's chunk format, valid for the wire */
        assert_int_equal(swmrbus_payload_check(&in->fmt, chunk, size, err, sizeof err),
                         SWMRBUS_OK);
        free(chunk);
        /* and it decodes through HDF5 to the frame */
        assert_int_equal(swmrbus__sfile_read_rows(f, r, 1, got, sizeof got, err, sizeof err),
                         SWMRBUS_OK);
        fill(want, r);
        assert_memory_equal(got, want, sizeof got);
    }
    swmrbus__sfile_close(&f);
    unlink(path);
}

/* A chunk HDF5 stored with its filter skipped (filter mask != 0) holds raw
 * bytes: it must not go out labelled bslz4. */
static void test_sfile_unfiltered_chunk_refused(void **state)
{
    (void)state;
    char path[PATH_MAX], err[512] = "";
    path_for(path, sizeof path, "mask");
    swmrbus__writer *w = make_writer(path, SWMRBUS_ENC_BSLZ4, (swmrbus_str){NULL, 0});
    for (uint64_t i = 0; i < 3; i++) write_row(w, i, 0);
    close_writer(&w);

    /* row 3: the raw frame, written as a chunk whose filter was skipped */
    hid_t file = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    assert_true(file >= 0);
    hid_t d = H5Dopen2(file, "/entry/data/data", H5P_DEFAULT);
    assert_true(d >= 0);
    hsize_t ext[3] = {4, ROWS, COLS}, off[3] = {3, 0, 0};
    assert_true(H5Dset_extent(d, ext) >= 0);
    uint16_t raw[NPIX];
    fill(raw, 3);
    assert_true(H5Dwrite_chunk(d, H5P_DEFAULT, 1, off, sizeof raw, raw) >= 0);
    H5Dclose(d);
    H5Fclose(file);

    swmrbus_limits lim;
    swmrbus_limits_default(&lim);
    swmrbus__sfile *f = NULL;
    if (swmrbus__sfile_open(path, &lim, &f, err, sizeof err) != SWMRBUS_OK)
        fail_msg("open: %s", err);
    assert_true(swmrbus__sfile_get_info(f)->direct);
    size_t size = 0;
    bool gap = true;
    assert_int_equal(swmrbus__sfile_row_size(f, 2, &size, &gap, err, sizeof err), SWMRBUS_OK);
    assert_false(gap);
    uint8_t *chunk = malloc(sizeof raw);
    assert_non_null(chunk);
    assert_true(size <= sizeof raw);
    assert_int_equal(swmrbus__sfile_read_row(f, 2, chunk, size, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(swmrbus__sfile_row_size(f, 3, &size, &gap, err, sizeof err), SWMRBUS_OK);
    assert_false(gap);
    assert_int_equal(size, sizeof raw);
    err[0] = '\0';
    assert_int_equal(swmrbus__sfile_read_row(f, 3, chunk, size, err, sizeof err),
                     SWMRBUS_EINVAL);
    assert_non_null(strstr(err, "filter skipped"));
    free(chunk);
    swmrbus__sfile_close(&f);
    unlink(path);
}

/* A writer that rewrites a stored chunk bigger between the reader's size
 * query and its read must not make the read overflow the buffer sized from
 * the query: the read writes at most that size and says the chunk changed
 * (EIO: read again), and a fresh size query then reads the new chunk; a
 * chunk over the filter's bound is refused before it is read. The
 * file is written here with plain HDF5 (in SWMR write mode, kept open, so
 * the reader shares it and sees the rewrite at once). The bytes after the
 * buffer are a canary: H5Dread_chunk alone would write over them. */
static void test_sfile_chunk_rewritten_bigger(void **state)
{
    (void)state;
    char path[PATH_MAX], err[512] = "";
    path_for(path, sizeof path, "rewrite");
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS);
    assert_true(fapl >= 0);
    assert_true(H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) >= 0);
    hid_t file = H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, fapl);
    assert_true(file >= 0);
    hsize_t dims[3] = {3, ROWS, COLS}, maxd[3] = {H5S_UNLIMITED, ROWS, COLS};
    hsize_t cdims[3] = {1, ROWS, COLS};
    hid_t sp = H5Screate_simple(3, dims, maxd), dcpl = H5Pcreate(H5P_DATASET_CREATE);
    assert_true(sp >= 0 && dcpl >= 0);
    unsigned cd[2] = {0, 2};
    assert_true(H5Pset_chunk(dcpl, 3, cdims) >= 0);
    assert_true(H5Pset_filter(dcpl, 32008, H5Z_FLAG_OPTIONAL, 2, cd) >= 0);
    hid_t lcpl = H5Pcreate(H5P_LINK_CREATE);
    assert_true(H5Pset_create_intermediate_group(lcpl, 1) >= 0);
    hid_t d = H5Dcreate2(file, "/entry/data/data", H5T_STD_U16LE, sp, lcpl, dcpl, H5P_DEFAULT);
    assert_true(d >= 0);
    H5Pclose(lcpl);
    H5Pclose(dcpl);
    H5Sclose(sp);
    H5Pclose(fapl);
    uint8_t small[20], big[200]; /* a frame here is 64 raw bytes */
    memset(small, 0x11, sizeof small);
    memset(big, 0x22, sizeof big);
    for (hsize_t r = 0; r < 3; r++) {
        hsize_t off[3] = {r, 0, 0};
        assert_true(H5Dwrite_chunk(d, H5P_DEFAULT, 0, off, sizeof small, small) >= 0);
    }
    assert_true(H5Fstart_swmr_write(file) >= 0);
    assert_true(H5Fflush(file, H5F_SCOPE_GLOBAL) >= 0);

    swmrbus_limits lim;
    swmrbus_limits_default(&lim);
    swmrbus__sfile *f = NULL;
    if (swmrbus__sfile_open(path, &lim, &f, err, sizeof err) != SWMRBUS_OK)
        fail_msg("open: %s", err);
    assert_true(swmrbus__sfile_get_info(f)->direct);
    assert_true(sizeof big <= swmrbus__sfile_get_info(f)->max_chunk);
    size_t size = 0;
    bool gap = true;
    assert_int_equal(swmrbus__sfile_row_size(f, 1, &size, &gap, err, sizeof err), SWMRBUS_OK);
    assert_false(gap);
    assert_int_equal(size, sizeof small);

    /* the outside writer stores row 1 again, bigger */
    hsize_t off1[3] = {1, 0, 0};
    assert_true(H5Dwrite_chunk(d, H5P_DEFAULT, 0, off1, sizeof big, big) >= 0);
    assert_true(H5Fflush(file, H5F_SCOPE_GLOBAL) >= 0);

    enum { CANARY = 4096 };
    uint8_t *buf = malloc(size + CANARY);
    assert_non_null(buf);
    memset(buf, 0xa5, size + CANARY);
    err[0] = '\0';
    swmrbus_err rc = swmrbus__sfile_read_row(f, 1, buf, size, err, sizeof err);
    for (size_t i = size; i < size + CANARY; i++)
        if (buf[i] != 0xa5) fail_msg("byte %zu past the %zu-byte buffer was written", i, size);
    assert_int_equal(rc, SWMRBUS_EIO);
    assert_non_null(strstr(err, "read again"));
    free(buf);

    /* asked again, the new chunk reads whole */
    assert_int_equal(swmrbus__sfile_row_size(f, 1, &size, &gap, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(size, sizeof big);
    buf = malloc(size);
    assert_non_null(buf);
    assert_int_equal(swmrbus__sfile_read_row(f, 1, buf, size, err, sizeof err), SWMRBUS_OK);
    assert_memory_equal(buf, big, sizeof big);
    free(buf);
    /* the rows around it are untouched */
    assert_int_equal(swmrbus__sfile_row_size(f, 2, &size, &gap, err, sizeof err), SWMRBUS_OK);
    uint8_t two[sizeof small];
    assert_int_equal(size, sizeof two);
    assert_int_equal(swmrbus__sfile_read_row(f, 2, two, size, err, sizeof err), SWMRBUS_OK);
    assert_memory_equal(two, small, sizeof small);

    /* rewritten over the most the filter can store: refused before the read */
    uint8_t huge[300];
    memset(huge, 0x33, sizeof huge);
    assert_true(sizeof huge > swmrbus__sfile_get_info(f)->max_chunk);
    hsize_t off2[3] = {2, 0, 0};
    assert_true(H5Dwrite_chunk(d, H5P_DEFAULT, 0, off2, sizeof huge, huge) >= 0);
    memset(two, 0xa5, sizeof two);
    assert_int_equal(swmrbus__sfile_read_row(f, 2, two, size, err, sizeof err), SWMRBUS_EIO);
    assert_non_null(strstr(err, "read again"));
    assert_int_equal(swmrbus__sfile_row_size(f, 2, &size, &gap, err, sizeof err), SWMRBUS_EINVAL);

    swmrbus__sfile_close(&f);
    H5Dclose(d);
    H5Fclose(file);
    unlink(path);
}

static void test_sfile_open_errors(void **state)
{
    (void)state;
    char path[PATH_MAX], err[512] = "";
    swmrbus_limits lim;
    swmrbus_limits_default(&lim);
    swmrbus__sfile *f = (swmrbus__sfile *)&lim;
    path_for(path, sizeof path, "missing");
    assert_int_equal(swmrbus__sfile_open(path, &lim, &f, err, sizeof err), SWMRBUS_EIO);
    assert_null(f);
    assert_true(strlen(err) > 0);
    /* not HDF5 at all */
    path_for(path, sizeof path, "text");
    FILE *t = fopen(path, "w");
    assert_non_null(t);
    fputs("not hdf5\n", t);
    fclose(t);
    assert_int_equal(swmrbus__sfile_open(path, &lim, &f, err, sizeof err), SWMRBUS_EIO);
    assert_null(f);
    unlink(path);
    /* frames larger than the limit: refused for good */
    path_for(path, sizeof path, "big");
    swmrbus__writer *w = make_writer(path, SWMRBUS_ENC_NONE, (swmrbus_str){NULL, 0});
    close_writer(&w);
    lim.max_frame_bytes = 16;
    assert_int_equal(swmrbus__sfile_open(path, &lim, &f, err, sizeof err), SWMRBUS_EINVAL);
    assert_null(f);
    unlink(path);
}

/* A refresh that fails (the file's metadata gone under the reader) drops
 * the dataset handle and tries to reopen it: an error, never a crash, and
 * the sfile stays safe to use and to close. */
static void test_sfile_refresh_failure_is_survived(void **state)
{
    (void)state;
    char path[PATH_MAX], err[512] = "";
    path_for(path, sizeof path, "torn");
    swmrbus__writer *w = make_writer(path, SWMRBUS_ENC_NONE, (swmrbus_str){NULL, 0});
    for (uint64_t i = 0; i < 50; i++) write_row(w, i, i + 1);
    close_writer(&w);
    swmrbus_limits lim;
    swmrbus_limits_default(&lim);
    swmrbus__sfile *f = NULL;
    if (swmrbus__sfile_open(path, &lim, &f, err, sizeof err) != SWMRBUS_OK)
        fail_msg("open: %s", err);
    assert_int_equal(truncate(path, 800), 0);
    uint64_t rows = 0;
    swmrbus_err rc = swmrbus__sfile_refresh(f, &rows, err, sizeof err);
    if (rc == SWMRBUS_OK) {
        /* HDF5 may still hold what it needs; then reads fail instead */
        size_t size = 0;
        bool gap = false;
        (void)swmrbus__sfile_row_size(f, 40, &size, &gap, err, sizeof err);
    } else {
        assert_int_equal(rc, SWMRBUS_EIO);
        assert_true(strlen(err) > 0);
        /* again: the handle is gone, no crash */
        assert_int_not_equal(swmrbus__sfile_refresh(f, &rows, err, sizeof err), SWMRBUS_OK);
        size_t size = 0;
        bool gap = false;
        assert_int_not_equal(swmrbus__sfile_row_size(f, 0, &size, &gap, err, sizeof err) ==
                                 SWMRBUS_OK && !gap, 1);
    }
    uint64_t ts;
    (void)swmrbus__sfile_ts(f, 45, 50, &ts, err, sizeof err);
    swmrbus__sfile_close(&f);
    assert_null(f);
    unlink(path);
}

/* ---- swmrbus_reader ----------------------------------------------------------- */

static void publish(void *pub, const char *topic, const char *file, uint64_t seq,
                    uint64_t frames, uint64_t complete)
{
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 6);
    msgpack_pack_str_with_body(&pk, "series", 6);
    msgpack_pack_uint64(&pk, 1);
    msgpack_pack_str_with_body(&pk, "file", 4);
    msgpack_pack_str_with_body(&pk, file, strlen(file));
    msgpack_pack_str_with_body(&pk, "frames", 6);
    msgpack_pack_uint64(&pk, frames);
    msgpack_pack_str_with_body(&pk, "complete", 8);
    msgpack_pack_uint64(&pk, complete);
    msgpack_pack_str_with_body(&pk, "seq", 3);
    msgpack_pack_uint64(&pk, seq);
    msgpack_pack_str_with_body(&pk, "sink", 4);
    msgpack_pack_str_with_body(&pk, "unit", 4);
    zmq_send(pub, topic, strlen(topic), ZMQ_SNDMORE);
    zmq_send(pub, sb.data, sb.size, 0);
    msgpack_sbuffer_destroy(&sb);
}

static void test_reader_api(void **state)
{
    (void)state;
    char path[PATH_MAX], err[512] = "";
    path_for(path, sizeof path, "reader");
    swmrbus__writer *w = make_writer(path, SWMRBUS_ENC_NONE, (swmrbus_str){NULL, 0});
    for (uint64_t i = 0; i < 6; i++) write_row(w, i, 0);
    flush_writer(w);

    void *ctx = zmq_ctx_new();
    void *pub = zmq_socket(ctx, ZMQ_PUB);
    int zero = 0;
    zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(pub, "inproc://unit-notify"), 0);
    swmrbus_reader *r = NULL;
    assert_int_equal(swmrbus_reader_create(ctx, "inproc://unit-notify", &r, err, sizeof err),
                     SWMRBUS_OK);
    swmrbus_reader_event *ev = calloc(1, sizeof *ev);
    assert_non_null(ev);
    /* The subscription reaches the PUB after a moment: publish until heard. */
    swmrbus_err rc = SWMRBUS_ETIMEDOUT;
    uint64_t seq = 0;
    for (int k = 0; k < 200 && rc == SWMRBUS_ETIMEDOUT; k++) {
        publish(pub, "swmrbus.open", path, seq++, 0, 0);
        rc = swmrbus_reader_next(r, 50, ev);
    }
    assert_int_equal(rc, SWMRBUS_OK);
    assert_int_equal(ev->topic, SWMRBUS_NOTICE_OPEN);
    assert_string_equal(ev->file, path);
    assert_string_equal(ev->sink, "unit");

    /* N = 4 of the 6 rows written: only 4 are readable */
    publish(pub, "swmrbus.flushed", path, seq + 3, 4, 4);
    assert_int_equal(swmrbus_reader_wait(r, path, 4, 10000, ev), SWMRBUS_OK);
    assert_int_equal(ev->frames, 4);
    assert_int_equal(swmrbus_reader_wait(r, path, 5, 100, ev), SWMRBUS_ETIMEDOUT);

    swmrbus_format fmt;
    size_t row_bytes = 0;
    assert_int_equal(swmrbus_reader_format(r, path, &fmt, &row_bytes, err, sizeof err),
                     SWMRBUS_OK);
    assert_int_equal(row_bytes, NPIX * 2);
    assert_int_equal(fmt.encoding, SWMRBUS_ENC_RAW);
    uint16_t buf[4 * NPIX], want[NPIX];
    assert_int_equal(swmrbus_reader_read(r, path, 0, 4, buf, sizeof buf, err, sizeof err),
                     SWMRBUS_OK);
    for (uint64_t i = 0; i < 4; i++) {
        fill(want, i);
        assert_memory_equal(buf + i * NPIX, want, sizeof want);
    }
    assert_int_equal(swmrbus_reader_read(r, path, 3, 2, buf, sizeof buf, err, sizeof err),
                     SWMRBUS_ELIMIT);
    assert_int_equal(swmrbus_reader_read(r, path, 0, 4, buf, 10, err, sizeof err),
                     SWMRBUS_EINVAL);

    close_writer(&w);
    publish(pub, "swmrbus.closed", path, seq + 4, 6, 6);
    assert_int_equal(swmrbus_reader_wait(r, NULL, 6, 10000, ev), SWMRBUS_OK);
    assert_true(ev->closed);
    assert_int_equal(ev->frames, 6);
    assert_int_equal(swmrbus_reader_read(r, path, 4, 2, buf, sizeof buf, err, sizeof err),
                     SWMRBUS_OK);
    fill(want, 5);
    assert_memory_equal(buf + NPIX, want, sizeof want);

    /* garbage is skipped and counted */
    zmq_send(pub, "swmrbus.flushed", 15, ZMQ_SNDMORE);
    zmq_send(pub, "\xc1", 1, 0);
    assert_int_equal(swmrbus_reader_next(r, 200, ev), SWMRBUS_ETIMEDOUT);
    assert_int_equal(swmrbus_reader_rejected(r), 1);

    swmrbus_reader_destroy(&r);
    assert_null(r);
    swmrbus_reader_destroy(&r); /* NULL is fine */
    free(ev);
    zmq_close(pub);
    zmq_ctx_term(ctx);
    unlink(path);
}

/* swmrbus_reader_allow_dir: a file inside opens; one outside, or a symlink
 * inside that leads outside, is refused without being opened. */
static void test_reader_dirs(void **state)
{
    (void)state;
    char path[PATH_MAX], inner[PATH_MAX + 32], link[PATH_MAX + 48], err[PATH_MAX + 128] = "";
    path_for(path, sizeof path, "dirs");
    swmrbus__writer *w = make_writer(path, SWMRBUS_ENC_NONE, (swmrbus_str){NULL, 0});
    write_row(w, 0, 0);
    flush_writer(w);
    snprintf(inner, sizeof inner, "%s/reader_dirs_%d", g_tmp, (int)getpid());
    assert_int_equal(mkdir(inner, 0700), 0);
    snprintf(link, sizeof link, "%s/escape.h5", inner);
    assert_int_equal(symlink(path, link), 0);

    void *ctx = zmq_ctx_new();
    swmrbus_reader *r = NULL;
    assert_int_equal(swmrbus_reader_create(ctx, "inproc://unit-dirs", &r, err, sizeof err),
                     SWMRBUS_OK);
    swmrbus_format fmt;
    size_t row_bytes = 0;
    /* no dirs: any file (as before) */
    assert_int_equal(swmrbus_reader_format(r, path, &fmt, &row_bytes, err, sizeof err),
                     SWMRBUS_OK);
    swmrbus_reader_destroy(&r);

    assert_int_equal(swmrbus_reader_create(ctx, "inproc://unit-dirs", &r, err, sizeof err),
                     SWMRBUS_OK);
    assert_int_equal(swmrbus_reader_allow_dir(r, inner, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(swmrbus_reader_format(r, path, &fmt, &row_bytes, err, sizeof err),
                     SWMRBUS_EINVAL);
    assert_non_null(strstr(err, "outside the reader's dirs"));
    assert_int_equal(swmrbus_reader_format(r, link, &fmt, &row_bytes, err, sizeof err),
                     SWMRBUS_EINVAL);
    assert_non_null(strstr(err, path)); /* says where it leads */
    uint16_t buf[NPIX];
    assert_int_equal(swmrbus_reader_read(r, link, 0, 1, buf, sizeof buf, err, sizeof err),
                     SWMRBUS_EINVAL);
    /* the file's own directory allowed too: both names open */
    assert_int_equal(swmrbus_reader_allow_dir(r, g_tmp, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(swmrbus_reader_read(r, link, 0, 1, buf, sizeof buf, err, sizeof err),
                     SWMRBUS_OK);
    uint16_t want[NPIX];
    fill(want, 0);
    assert_memory_equal(buf, want, sizeof want);
    assert_int_equal(swmrbus_reader_allow_dir(r, NULL, err, sizeof err), SWMRBUS_EINVAL);
    for (int k = 2; k < 16; k++)
        assert_int_equal(swmrbus_reader_allow_dir(r, g_tmp, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(swmrbus_reader_allow_dir(r, g_tmp, err, sizeof err), SWMRBUS_ELIMIT);
    swmrbus_reader_destroy(&r);
    zmq_ctx_term(ctx);
    close_writer(&w);
    unlink(link);
    rmdir(inner);
    unlink(path);
}

/* Two readers of one file in one process (two sources following the same
 * sink, a source and a swmrbus_reader): HDF5 1.10.8 shares one dataset's
 * state between its ids, and an H5Drefresh on one id left every id finding
 * the first chunk for every row (source/h5share.h). Each reader refreshes in
 * turn and reads every row through both. */
static void test_two_readers_one_file(void **state)
{
    (void)state;
    char path[PATH_MAX], err[512] = "";
    path_for(path, sizeof path, "tworeaders");
    swmrbus__writer *w = make_writer(path, SWMRBUS_ENC_NONE, (swmrbus_str){NULL, 0});
    for (uint64_t i = 0; i < 8; i++) write_row(w, i, 0);
    close_writer(&w); /* as when both open the file after the sink closed it */
    swmrbus_limits lim;
    swmrbus_limits_default(&lim);
    swmrbus__sfile *f[2] = {NULL, NULL};
    for (int k = 0; k < 2; k++)
        if (swmrbus__sfile_open(path, &lim, &f[k], err, sizeof err) != SWMRBUS_OK)
            fail_msg("open %d: %s", k, err);
    for (int round = 0; round < 3; round++) {
        uint64_t rows = 0;
        assert_int_equal(swmrbus__sfile_refresh(f[round % 2], &rows, err, sizeof err),
                         SWMRBUS_OK);
        assert_int_equal(rows, 8);
        for (int k = 0; k < 2; k++) {
            for (uint64_t r = 0; r < 8; r++) {
                uint16_t got[NPIX], want[NPIX];
                size_t size = 0;
                bool gap = true;
                assert_int_equal(swmrbus__sfile_row_size(f[k], r, &size, &gap, err, sizeof err),
                                 SWMRBUS_OK);
                assert_false(gap);
                assert_int_equal(size, sizeof got);
                assert_int_equal(swmrbus__sfile_read_row(f[k], r, got, size, err, sizeof err),
                                 SWMRBUS_OK);
                fill(want, r);
                if (memcmp(got, want, sizeof got))
                    fail_msg("round %d, reader %d, row %llu: another row's bytes", round, k,
                             (unsigned long long)r);
            }
        }
    }
    swmrbus__sfile_close(&f[0]);
    swmrbus__sfile_close(&f[1]);
    unlink(path);
}

static void test_reader_misses_counted(void **state)
{
    (void)state;
    char err[256];
    void *ctx = zmq_ctx_new();
    void *pub = zmq_socket(ctx, ZMQ_PUB);
    int zero = 0;
    zmq_setsockopt(pub, ZMQ_LINGER, &zero, sizeof zero);
    assert_int_equal(zmq_bind(pub, "inproc://unit-seq"), 0);
    swmrbus_reader *r = NULL;
    assert_int_equal(swmrbus_reader_create(ctx, "inproc://unit-seq", &r, err, sizeof err),
                     SWMRBUS_OK);
    swmrbus_reader_event ev;
    swmrbus_err rc = SWMRBUS_ETIMEDOUT;
    uint64_t seq = 0;
    for (int k = 0; k < 200 && rc == SWMRBUS_ETIMEDOUT; k++) {
        publish(pub, "swmrbus.flushed", "/nowhere/x.h5", seq++, 1, 1);
        rc = swmrbus_reader_next(r, 50, &ev);
    }
    assert_int_equal(rc, SWMRBUS_OK);
    while (swmrbus_reader_next(r, 100, &ev) == SWMRBUS_OK) {}
    publish(pub, "swmrbus.flushed", "/nowhere/x.h5", seq + 5, 2, 2);
    assert_int_equal(swmrbus_reader_next(r, 10000, &ev), SWMRBUS_OK);
    assert_int_equal(ev.missed, 5);
    assert_int_equal(swmrbus_reader_format(r, "/nowhere/x.h5", NULL, NULL, err, sizeof err),
                     SWMRBUS_EIO);
    swmrbus_reader_destroy(&r);
    zmq_close(pub);
    zmq_ctx_term(ctx);
}

int main(void)
{
    const char *tmp = getenv("SWMRBUS_TEST_TMP");
    snprintf(g_tmp, sizeof g_tmp, "%s", tmp && *tmp ? tmp : "/tmp");
    mkdir(g_tmp, 0775);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sfile_raw_rows_gaps_ts_meta),
        cmocka_unit_test(test_sfile_bslz4_goes_as_stored),
        cmocka_unit_test(test_sfile_unfiltered_chunk_refused),
        cmocka_unit_test(test_sfile_chunk_rewritten_bigger),
        cmocka_unit_test(test_sfile_open_errors),
        cmocka_unit_test(test_sfile_refresh_failure_is_survived),
        cmocka_unit_test(test_reader_api),
        cmocka_unit_test(test_reader_dirs),
        cmocka_unit_test(test_two_readers_one_file),
        cmocka_unit_test(test_reader_misses_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
