/* tests/unit/test_writer.c — sink/writer.c: the file layout, frames by
 * index (in order, gaps, duplicates), timestamps, direct chunk writes of
 * bslz4/lz4 payloads, raw input through the filter pipeline, the room check
 * under RLIMIT_FSIZE, SWMR readers in another process, and recovery of a
 * killed writer's file. Files go to $SWMRBUS_TEST_TMP.
 *
 * The binary doubles as the outside SWMR reader: "test_writer --swmr-read
 * PATH N" (exec'd, so its HDF5 is not the writer's) checks N rows. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <hdf5.h>

#include "swmrbus/sink.h"
#include "writer.h"
#include "writer_priv.h"

#define H 64
#define W 128
#define NPIX (H * W)
#define FRAME_BYTES (NPIX * 2)

static char g_tmp[PATH_MAX];

/* ---- helpers ----------------------------------------------------------- */

static void path_for(char *out, size_t cap, const char *name)
{
    int n = snprintf(out, cap, "%s/writer_%d_%s.h5", g_tmp, (int)getpid(), name);
    if (n < 0 || (size_t)n >= cap) fail_msg("path too long");
    unlink(out);
}

static uint16_t pix(uint64_t frame, size_t j)
{
    return (uint16_t)(frame * 1000u + j * 7u + (j / W) * 3u);
}

static void fill(uint16_t *buf, uint64_t frame)
{
    for (size_t j = 0; j < NPIX; j++) buf[j] = pix(frame, j);
}

static bool check_frame(const uint16_t *buf, uint64_t frame)
{
    for (size_t j = 0; j < NPIX; j++)
        if (buf[j] != pix(frame, j)) return false;
    return true;
}

static swmrbus__writer_opts opts_u16(const char *path, swmrbus_encoding enc)
{
    swmrbus__writer_opts o;
    memset(&o, 0, sizeof o);
    o.path = path;
    o.format.dtype = SWMRBUS_DTYPE_UINT16;
    o.format.encoding = enc;
    o.format.ndim = 2;
    o.format.shape[0] = H;
    o.format.shape[1] = W;
    o.compression = SWMRBUS_ENC_NONE;
    return o;
}

static swmrbus__writer *must_create(const swmrbus__writer_opts *o)
{
    char err[512] = "";
    swmrbus__writer *w = NULL;
    swmrbus_err rc = swmrbus__writer_create(o, &w, err, sizeof err);
    if (rc != SWMRBUS_OK) fail_msg("create %s: %s (%s)", o->path, swmrbus_strerror(rc), err);
    assert_non_null(w);
    return w;
}

static void must_write(swmrbus__writer *w, uint64_t i, const void *p, size_t len, uint64_t ts,
                       bool expect_dup)
{
    char err[512] = "";
    bool dup = !expect_dup;
    swmrbus_err rc = swmrbus__writer_write(w, i, p, len, ts, &dup, err, sizeof err);
    if (rc != SWMRBUS_OK) fail_msg("write %llu: %s (%s)", (unsigned long long)i,
                                   swmrbus_strerror(rc), err);
    assert_int_equal(dup, expect_dup);
}

static void write_frame(swmrbus__writer *w, uint64_t i, uint64_t content, uint64_t ts,
                        bool expect_dup)
{
    static uint16_t buf[NPIX];
    fill(buf, content);
    must_write(w, i, buf, FRAME_BYTES, ts, expect_dup);
}

static swmrbus__flush_info must_flush(swmrbus__writer *w)
{
    char err[512] = "";
    swmrbus__flush_info fi = {0, 0, 0};
    swmrbus_err rc = swmrbus__writer_flush(w, &fi, err, sizeof err);
    if (rc != SWMRBUS_OK) fail_msg("flush: %s (%s)", swmrbus_strerror(rc), err);
    return fi;
}

static swmrbus__flush_info must_close(swmrbus__writer **w)
{
    char err[512] = "";
    swmrbus__flush_info fi = {0, 0, 0};
    swmrbus_err rc = swmrbus__writer_close(w, &fi, err, sizeof err);
    if (rc != SWMRBUS_OK) fail_msg("close: %s (%s)", swmrbus_strerror(rc), err);
    assert_null(*w);
    return fi;
}

static void assert_info(swmrbus__flush_info fi, uint64_t n, uint64_t written, uint64_t complete)
{
    assert_int_equal(fi.frames, n);
    assert_int_equal(fi.written, written);
    assert_int_equal(fi.complete, complete);
}

static hsize_t rows_of(hid_t d)
{
    hsize_t dims[4] = {0};
    hid_t s = H5Dget_space(d);
    assert_true(s >= 0);
    assert_true(H5Sget_simple_extent_dims(s, dims, NULL) >= 0);
    H5Sclose(s);
    return dims[0];
}

static int read_row(hid_t d, hsize_t i, uint16_t *buf)
{
    hsize_t start[3] = {i, 0, 0}, count[3] = {1, H, W}, mdims[2] = {H, W};
    hid_t fs = H5Dget_space(d), ms = H5Screate_simple(2, mdims, NULL);
    int rc = -1;
    if (fs >= 0 && ms >= 0 &&
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) >= 0 &&
        H5Dread(d, H5T_NATIVE_UINT16, ms, fs, H5P_DEFAULT, buf) >= 0)
        rc = 0;
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    return rc;
}

static int read_ts(hid_t f, uint64_t *buf, hsize_t cap, hsize_t *n)
{
    hid_t d = H5Dopen2(f, "/entry/instrument/detector/timestamp", H5P_DEFAULT);
    if (d < 0) return -1;
    *n = rows_of(d);
    int rc = -1;
    if (*n <= cap && (*n == 0 || H5Dread(d, H5T_NATIVE_UINT64, H5S_ALL, H5S_ALL,
                                         H5P_DEFAULT, buf) >= 0))
        rc = 0;
    H5Dclose(d);
    return rc;
}

/* An outside SWMR reader: a fresh process (fork + exec of this binary). */
static int run_reader(const char *path, uint64_t n)
{
    char exe[PATH_MAX], nbuf[32];
    ssize_t len = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (len <= 0) return -1;
    exe[len] = '\0';
    snprintf(nbuf, sizeof nbuf, "%llu", (unsigned long long)n);
    fflush(NULL);
    pid_t pid = fork();
    if (pid == 0) {
        execl(exe, exe, "--swmr-read", path, nbuf, (char *)NULL);
        _exit(127);
    }
    int st = 0;
    if (pid < 0 || waitpid(pid, &st, 0) != pid) return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* The reader's main: N rows in data and timestamp, row i = frame i with
 * ts 1000 + i. Exit 0 when all holds. */
static int swmr_reader_main(const char *path, const char *nstr)
{
    uint64_t n = strtoull(nstr, NULL, 10);
    static uint16_t buf[NPIX];
    uint64_t ts[4096];
    hsize_t nts = 0;
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT);
    if (f < 0) return 10;
    hid_t d = H5Dopen2(f, "/entry/data/data", H5P_DEFAULT);
    if (d < 0) return 11;
    if (rows_of(d) != n) return 12;
    for (uint64_t i = 0; i < n; i++)
        if (read_row(d, i, buf) != 0 || !check_frame(buf, i)) return 13;
    if (read_ts(f, ts, 4096, &nts) != 0 || nts != n) return 14;
    for (uint64_t i = 0; i < n; i++)
        if (ts[i] != 1000 + i) return 15;
    H5Dclose(d);
    H5Fclose(f);
    return 0;
}

static char *read_attr_str(hid_t obj, const char *name)
{
    hid_t a = H5Aopen(obj, name, H5P_DEFAULT);
    if (a < 0) return NULL;
    hid_t t = H5Aget_type(a);
    char *s = NULL;
    if (H5Tget_class(t) == H5T_STRING && H5Tis_variable_str(t) == 0) {
        size_t n = H5Tget_size(t);
        s = calloc(1, n + 1);
        if (s && H5Aread(a, t, s) < 0) {
            free(s);
            s = NULL;
        }
    }
    H5Tclose(t);
    H5Aclose(a);
    return s;
}

static void assert_attr(hid_t f, const char *obj, const char *name, const char *want)
{
    hid_t o = H5Oopen(f, obj, H5P_DEFAULT);
    assert_true(o >= 0);
    char *s = read_attr_str(o, name);
    if (!s) fail_msg("%s@%s: missing or not a fixed-length string", obj, name);
    if (strcmp(s, want) != 0) fail_msg("%s@%s = '%s', want '%s'", obj, name, s, want);
    free(s);
    H5Oclose(o);
}

static hid_t open_normal(const char *path)
{
    return H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
}

static int python_ok(void)
{
    return access("/usr/bin/python3", X_OK) == 0;
}

/* ---- tests ----------------------------------------------------------------- */

static void test_in_order_and_swmr_reader(void **state)
{
    (void)state;
    char path[PATH_MAX];
    path_for(path, sizeof path, "inorder");
    swmrbus__writer_opts o = opts_u16(path, SWMRBUS_ENC_RAW);
    swmrbus__writer *w = must_create(&o);

    /* open and empty: a SWMR reader may open it already */
    assert_int_equal(run_reader(path, 0), 0);
    for (uint64_t i = 0; i < 10; i++) write_frame(w, i, i, 1000 + i, false);
    assert_int_equal(swmrbus__writer_unflushed(w), 10);
    assert_int_equal(swmrbus__writer_bytes(w), 10 * FRAME_BYTES);
    assert_info(swmrbus__writer_durable(w), 0, 0, 0);
    assert_info(must_flush(w), 10, 10, 10);
    assert_int_equal(swmrbus__writer_unflushed(w), 0);
    assert_int_equal(run_reader(path, 10), 0);

    for (uint64_t i = 10; i < 25; i++) write_frame(w, i, i, 1000 + i, false);
    assert_info(swmrbus__writer_durable(w), 10, 10, 10);
    assert_info(must_flush(w), 25, 25, 25);
    assert_int_equal(run_reader(path, 25), 0);
    /* a flush with nothing new is a no-op */
    assert_info(must_flush(w), 25, 25, 25);
    assert_false(swmrbus__writer_failed(w));
    assert_info(must_close(&w), 25, 25, 25);

    /* closed: a normal HDF5 file */
    hid_t f = open_normal(path);
    assert_true(f >= 0);
    hid_t d = H5Dopen2(f, "/entry/data/data", H5P_DEFAULT);
    assert_true(d >= 0);
    assert_int_equal(rows_of(d), 25);
    static uint16_t buf[NPIX];
    for (uint64_t i = 0; i < 25; i++) {
        assert_int_equal(read_row(d, i, buf), 0);
        assert_true(check_frame(buf, i));
    }
    H5Dclose(d);
    H5Fclose(f);
    assert_int_equal(run_reader(path, 25), 0);
    unlink(path);
}

static void test_gaps_and_duplicates(void **state)
{
    (void)state;
    char path[PATH_MAX];
    path_for(path, sizeof path, "gaps");
    swmrbus__writer_opts o = opts_u16(path, SWMRBUS_ENC_RAW);
    swmrbus__writer *w = must_create(&o);

    write_frame(w, 0, 0, 1000, false);
    write_frame(w, 1, 1, 1001, false);
    write_frame(w, 3, 3, 1003, false);
    write_frame(w, 5, 5, 0, false);       /* no ts: stays 0 */
    write_frame(w, 3, 777, 9999, true);   /* duplicate: first copy stays */
    assert_int_equal(swmrbus__writer_unflushed(w), 4);
    assert_info(must_flush(w), 6, 4, 2);
    write_frame(w, 2, 2, 1002, false);
    write_frame(w, 2, 778, 9998, true);
    assert_info(must_flush(w), 6, 5, 4);
    write_frame(w, 9, 9, 1009, false);    /* jumps ahead: rows 6..8 gaps */
    assert_info(must_flush(w), 10, 6, 4);
    write_frame(w, 4, 4, 1004, false);    /* fills the hole: prefix to 6 */
    assert_info(must_flush(w), 10, 7, 6);
    assert_int_equal(swmrbus__writer_bytes(w), 7 * FRAME_BYTES);
    assert_info(must_close(&w), 10, 7, 6);

    hid_t f = open_normal(path);
    assert_true(f >= 0);
    hid_t d = H5Dopen2(f, "/entry/data/data", H5P_DEFAULT);
    assert_int_equal(rows_of(d), 10);
    static uint16_t buf[NPIX];
    const bool filled[10] = {1, 1, 1, 1, 1, 1, 0, 0, 0, 1};
    /* chunk storage first: on 1.10.8, after H5Dread of a gap row the chunk
     * cache holds a fill-value chunk and H5Dget_chunk_storage_size reports
     * its size instead of failing */
    for (uint64_t i = 0; i < 10; i++) {
        hsize_t off[3] = {i, 0, 0}, sz = 0;
        herr_t have;
        H5E_BEGIN_TRY { have = H5Dget_chunk_storage_size(d, off, &sz); }
        H5E_END_TRY;
        if (filled[i]) {
            assert_true(have >= 0);
            assert_int_equal(sz, FRAME_BYTES);
        } else if (have >= 0 && sz != 0) {
            fail_msg("row %llu: a chunk of %llu bytes", (unsigned long long)i,
                     (unsigned long long)sz);
        }
    }
    for (uint64_t i = 0; i < 10; i++) {
        assert_int_equal(read_row(d, i, buf), 0);
        if (filled[i]) {
            assert_true(check_frame(buf, i));
        } else {
            for (size_t j = 0; j < NPIX; j++) assert_int_equal(buf[j], 0);
        }
    }
    uint64_t ts[16];
    hsize_t nts = 0;
    assert_int_equal(read_ts(f, ts, 16, &nts), 0);
    assert_int_equal(nts, 10);
    const uint64_t want[10] = {1000, 1001, 1002, 1003, 1004, 0, 0, 0, 0, 1009};
    for (int i = 0; i < 10; i++) assert_int_equal(ts[i], want[i]);
    H5Dclose(d);
    H5Fclose(f);
    unlink(path);
}

/* swmrbus__writer_write_rows: a batch lands as frame by frame writes would
 * (out of order, a duplicate inside the batch and one of an earlier row,
 * one extension to the highest row); a malformed row stops the batch at
 * itself, the rows before it written. */
static void test_write_rows(void **state)
{
    (void)state;
    char path[PATH_MAX], err[512] = "";
    path_for(path, sizeof path, "rows");
    swmrbus__writer_opts o = opts_u16(path, SWMRBUS_ENC_RAW);
    swmrbus__writer *w = must_create(&o);
    static uint16_t buf[8][NPIX];
    swmrbus__part parts[8];
    for (int k = 0; k < 8; k++) {
        fill(buf[k], (uint64_t)k);
        parts[k] = (swmrbus__part){buf[k], FRAME_BYTES};
    }
    write_frame(w, 1, 1, 1001, false);
    swmrbus__row rows[5] = {
        {.index = 2, .parts = &parts[2], .ts = 1002},
        {.index = 0, .parts = &parts[0], .ts = 1000},
        {.index = 1, .parts = &parts[7], .ts = 9}, /* written before: duplicate */
        {.index = 5, .parts = &parts[5], .ts = 0},
        {.index = 2, .parts = &parts[6], .ts = 8}, /* twice in the batch */
    };
    size_t done = 99;
    swmrbus_err rc = swmrbus__writer_write_rows(w, rows, 5, &done, err, sizeof err);
    if (rc != SWMRBUS_OK) fail_msg("write_rows: %s (%s)", swmrbus_strerror(rc), err);
    assert_int_equal(done, 5);
    const bool dup[5] = {false, false, true, false, true};
    for (int i = 0; i < 5; i++) assert_int_equal(rows[i].dup, dup[i]);
    assert_int_equal(swmrbus__writer_unflushed(w), 4);
    assert_info(must_flush(w), 6, 4, 3);
    /* a malformed row (short payload): the rows before it are written */
    swmrbus__part bad = {buf[4], FRAME_BYTES - 2};
    swmrbus__row more[3] = {
        {.index = 3, .parts = &parts[3], .ts = 1003},
        {.index = 4, .parts = &bad, .ts = 1004},
        {.index = 7, .parts = &parts[7], .ts = 1007},
    };
    rc = swmrbus__writer_write_rows(w, more, 3, &done, err, sizeof err);
    assert_int_equal(rc, SWMRBUS_EINVAL);
    assert_int_equal(done, 1);
    assert_false(swmrbus__writer_failed(w));
    assert_info(must_flush(w), 6, 5, 4);
    assert_info(must_close(&w), 6, 5, 4);

    hid_t f = open_normal(path);
    assert_true(f >= 0);
    hid_t d = H5Dopen2(f, "/entry/data/data", H5P_DEFAULT);
    assert_int_equal(rows_of(d), 6);
    static uint16_t got[NPIX];
    const bool filled[6] = {1, 1, 1, 1, 0, 1};
    for (uint64_t i = 0; i < 6; i++) {
        assert_int_equal(read_row(d, i, got), 0);
        if (filled[i]) {
            assert_true(check_frame(got, i));
        } else {
            for (size_t j = 0; j < NPIX; j++) assert_int_equal(got[j], 0);
        }
    }
    uint64_t ts[16];
    hsize_t nts = 0;
    assert_int_equal(read_ts(f, ts, 16, &nts), 0);
    assert_int_equal(nts, 6);
    const uint64_t want[6] = {1000, 1001, 1002, 1003, 0, 0};
    for (int i = 0; i < 6; i++) assert_int_equal(ts[i], want[i]);
    H5Dclose(d);
    H5Fclose(f);
    unlink(path);
}

static void test_existing_path_refused(void **state)
{
    (void)state;
    char path[PATH_MAX], err[512] = "";
    path_for(path, sizeof path, "exists");
    swmrbus__writer_opts o = opts_u16(path, SWMRBUS_ENC_RAW);
    swmrbus__writer *w = must_create(&o);
    write_frame(w, 0, 0, 1000, false);
    must_close(&w);

    swmrbus__writer *w2 = (swmrbus__writer *)&w2; /* must be set NULL */
    assert_int_equal(swmrbus__writer_create(&o, &w2, err, sizeof err), SWMRBUS_EIO);
    assert_null(w2);
    assert_true(strlen(err) > 0);
    hid_t f = open_normal(path); /* untouched */
    assert_true(f >= 0);
    hid_t d = H5Dopen2(f, "/entry/data/data", H5P_DEFAULT);
    assert_int_equal(rows_of(d), 1);
    H5Dclose(d);
    H5Fclose(f);
    unlink(path);

    /* a file that is not HDF5 is not truncated either */
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("precious", fp);
    fclose(fp);
    assert_int_equal(swmrbus__writer_create(&o, &w2, err, sizeof err), SWMRBUS_EIO);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_int_equal(st.st_size, 8);
    unlink(path);

    /* a missing directory */
    char bad[PATH_MAX];
    int bn = snprintf(bad, sizeof bad, "%s/no-such-dir-%d/x.h5", g_tmp, (int)getpid());
    assert_true(bn > 0 && (size_t)bn < sizeof bad);
    o.path = bad;
    assert_int_equal(swmrbus__writer_create(&o, &w2, err, sizeof err), SWMRBUS_EIO);
    o.path = "relative.h5";
    assert_int_equal(swmrbus__writer_create(&o, &w2, err, sizeof err), SWMRBUS_EINVAL);
}

static void test_layout(void **state)
{
    (void)state;
    char path[PATH_MAX];
    path_for(path, sizeof path, "layout");
    swmrbus__writer_opts o = opts_u16(path, SWMRBUS_ENC_RAW);
    o.name.ptr = "run \xc3\xa9 42"; /* UTF-8 */
    o.name.len = strlen(o.name.ptr);
    o.frames_expected = 1234;
    swmrbus__writer *w = must_create(&o);
    write_frame(w, 0, 0, 1000, false);
    must_close(&w);

    hid_t f = open_normal(path);
    assert_true(f >= 0);
    assert_attr(f, "/", "default", "entry");
    assert_attr(f, "/entry", "NX_class", "NXentry");
    assert_attr(f, "/entry", "default", "data");
    assert_attr(f, "/entry/data", "NX_class", "NXdata");
    assert_attr(f, "/entry/data", "signal", "data");
    assert_attr(f, "/entry/data", "name", "run \xc3\xa9 42");
    assert_attr(f, "/entry/instrument", "NX_class", "NXinstrument");
    assert_attr(f, "/entry/instrument/detector", "NX_class", "NXdetector");

    hid_t g = H5Oopen(f, "/entry/data", H5P_DEFAULT);
    hid_t a = H5Aopen(g, "frames_expected", H5P_DEFAULT);
    assert_true(a >= 0);
    uint64_t fe = 0;
    assert_true(H5Aread(a, H5T_NATIVE_UINT64, &fe) >= 0);
    assert_int_equal(fe, 1234);
    H5Aclose(a);
    H5Oclose(g);

    hid_t d = H5Dopen2(f, "/entry/data/data", H5P_DEFAULT);
    hid_t s = H5Dget_space(d), t = H5Dget_type(d), p = H5Dget_create_plist(d);
    hsize_t dims[3], maxd[3], chunk[3];
    assert_int_equal(H5Sget_simple_extent_ndims(s), 3);
    H5Sget_simple_extent_dims(s, dims, maxd);
    assert_int_equal(dims[0], 1);
    assert_int_equal(dims[1], H);
    assert_int_equal(dims[2], W);
    assert_true(maxd[0] == H5S_UNLIMITED);
    assert_int_equal(maxd[1], H);
    assert_int_equal(H5Pget_chunk(p, 3, chunk), 3);
    assert_int_equal(chunk[0], 1);
    assert_int_equal(chunk[1], H);
    assert_int_equal(chunk[2], W);
    assert_true(H5Tequal(t, H5T_STD_U16LE) > 0);
    assert_int_equal(H5Pget_nfilters(p), 0);
    H5Pclose(p);
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);

    d = H5Dopen2(f, "/entry/instrument/detector/timestamp", H5P_DEFAULT);
    assert_true(d >= 0);
    s = H5Dget_space(d);
    t = H5Dget_type(d);
    p = H5Dget_create_plist(d);
    H5Sget_simple_extent_dims(s, dims, maxd);
    assert_int_equal(dims[0], 1);
    assert_true(maxd[0] == H5S_UNLIMITED);
    assert_int_equal(H5Pget_chunk(p, 1, chunk), 1);
    assert_int_equal(chunk[0], 1024);
    assert_true(H5Tequal(t, H5T_STD_U64LE) > 0);
    H5Pclose(p);
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
    H5Fclose(f);
    unlink(path);

    /* no name, no count: no attributes for them */
    path_for(path, sizeof path, "layout2");
    o = opts_u16(path, SWMRBUS_ENC_RAW);
    w = must_create(&o);
    must_close(&w);
    f = open_normal(path);
    g = H5Oopen(f, "/entry/data", H5P_DEFAULT);
    assert_int_equal(H5Aexists(g, "name"), 0);
    assert_int_equal(H5Aexists(g, "frames_expected"), 0);
    H5Oclose(g);
    d = H5Dopen2(f, "/entry/data/data", H5P_DEFAULT);
    assert_int_equal(rows_of(d), 0);
    H5Dclose(d);
    H5Fclose(f);
    unlink(path);
}

/* Direct chunk write of pre-compressed chunks: decoded by the filter
 * pipeline (H5Dread) and stored byte for byte (H5Dread_chunk). */
static void check_precompressed(const char *path, const uint8_t *chunk, size_t len,
                                unsigned filter, size_t want_cd)
{
    hid_t f = open_normal(path);
    assert_true(f >= 0);
    hid_t d = H5Dopen2(f, "/entry/data/data", H5P_DEFAULT);
    assert_int_equal(rows_of(d), 3);
    hid_t p = H5Dget_create_plist(d);
    unsigned flags = 0, cd[8] = {0};
    size_t ncd = 8;
    assert_true(H5Pget_filter_by_id2(p, filter, &flags, &ncd, cd, 0, NULL, NULL) >= 0);
    assert_int_equal(ncd, want_cd);
    assert_int_equal(flags & H5Z_FLAG_OPTIONAL, H5Z_FLAG_OPTIONAL);
    H5Pclose(p);
    static uint16_t buf[NPIX];
    static uint8_t raw[2 * FRAME_BYTES];
    for (hsize_t i = 0; i < 3; i += 2) {
        assert_int_equal(read_row(d, i, buf), 0);
        assert_true(check_frame(buf, 0));
        hsize_t off[3] = {i, 0, 0}, sz = 0;
        uint32_t mask = 99;
        assert_true(H5Dget_chunk_storage_size(d, off, &sz) >= 0);
        assert_int_equal(sz, len);
        assert_true(H5Dread_chunk(d, H5P_DEFAULT, off, &mask, raw) >= 0);
        assert_int_equal(mask, 0);
        assert_memory_equal(raw, chunk, len);
    }
    assert_int_equal(read_row(d, 1, buf), 0); /* the gap reads as zeros */
    for (size_t j = 0; j < NPIX; j++) assert_int_equal(buf[j], 0);
    H5Dclose(d);
    H5Fclose(f);
}

static void test_bslz4_direct(void **state)
{
    (void)state;
    if (!python_ok()) skip();
    char src[PATH_MAX], path[PATH_MAX], cmd[3 * PATH_MAX];
    path_for(src, sizeof src, "bslz4_src");
    path_for(path, sizeof path, "bslz4");
    /* h5py + Debian's bitshuffle plugin make a reference chunk of frame 0 */
    snprintf(cmd, sizeof cmd,
             "/usr/bin/python3 -c \"\n"
             "import h5py, numpy as np\n"
             "j = np.arange(%d, dtype=np.uint64)\n"
             "a = ((0 * 1000 + j * 7 + (j // %d) * 3) %% 65536).astype('<u2').reshape(%d, %d)\n"
             "with h5py.File('%s', 'w') as f:\n"
             "    f.create_dataset('d', data=a[None], chunks=(1, %d, %d),"
             " compression=32008, compression_opts=(0, 2))\n"
             "\" 2>/dev/null",
             NPIX, W, H, W, src, H, W);
    if (system(cmd) != 0) skip();

    static uint8_t chunk[2 * FRAME_BYTES];
    hsize_t len = 0, off[3] = {0, 0, 0};
    uint32_t mask = 0;
    hid_t f = open_normal(src);
    assert_true(f >= 0);
    hid_t d = H5Dopen2(f, "d", H5P_DEFAULT);
    assert_true(H5Dget_chunk_storage_size(d, off, &len) >= 0);
    assert_true(len > 12 && len < sizeof chunk);
    assert_true(H5Dread_chunk(d, H5P_DEFAULT, off, &mask, chunk) >= 0);
    H5Dclose(d);
    H5Fclose(f);
    unlink(src);

    swmrbus__writer_opts o = opts_u16(path, SWMRBUS_ENC_BSLZ4);
    swmrbus__writer *w = must_create(&o);
    must_write(w, 0, chunk, (size_t)len, 0, false);
    must_write(w, 2, chunk, (size_t)len, 0, false);
    assert_int_equal(swmrbus__writer_bytes(w), 2 * len);
    assert_info(must_close(&w), 3, 2, 1);
    /* bslz4 (0, 2) expanded by the plugin to (0, 3, 2, 0, 2) */
    check_precompressed(path, chunk, (size_t)len, 32008, 5);
    unlink(path);
}

static void test_lz4_direct(void **state)
{
    (void)state;
    char path[PATH_MAX];
    path_for(path, sizeof path, "lz4");
    /* filter 32004's format: BE u64 raw size, BE u32 block size, then per
     * block BE u32 stored size + bytes; stored size == block size means the
     * block is not compressed. Two blocks of half a frame each. */
    static uint8_t chunk[12 + 2 * (4 + FRAME_BYTES / 2)];
    static uint16_t frame[NPIX];
    fill(frame, 0);
    const uint64_t total = FRAME_BYTES;
    const uint32_t block = FRAME_BYTES / 2;
    size_t k = 0;
    for (int i = 7; i >= 0; i--) chunk[k++] = (uint8_t)(total >> (8 * i));
    for (int i = 3; i >= 0; i--) chunk[k++] = (uint8_t)(block >> (8 * i));
    for (int b = 0; b < 2; b++) {
        for (int i = 3; i >= 0; i--) chunk[k++] = (uint8_t)(block >> (8 * i));
        memcpy(chunk + k, (const uint8_t *)frame + (size_t)b * block, block);
        k += block;
    }
    assert_int_equal(k, sizeof chunk);

    swmrbus__writer_opts o = opts_u16(path, SWMRBUS_ENC_LZ4);
    swmrbus__writer *w = must_create(&o);
    must_write(w, 2, chunk, sizeof chunk, 0, false);
    must_write(w, 0, chunk, sizeof chunk, 0, false);
    assert_info(must_close(&w), 3, 2, 1);
    check_precompressed(path, chunk, sizeof chunk, 32004, 1);
    unlink(path);
}

static void raw_compressed(swmrbus_encoding comp, unsigned filter, const char *name)
{
    char path[PATH_MAX];
    path_for(path, sizeof path, name);
    swmrbus__writer_opts o = opts_u16(path, SWMRBUS_ENC_RAW);
    o.compression = comp;
    swmrbus__writer *w = must_create(&o);
    for (uint64_t i = 0; i < 5; i++) write_frame(w, i, i, 1000 + i, false);
    assert_info(must_flush(w), 5, 5, 5);
    assert_int_equal(run_reader(path, 5), 0);
    write_frame(w, 6, 6, 1006, false);
    assert_info(must_close(&w), 7, 6, 5);

    hid_t f = open_normal(path);
    hid_t d = H5Dopen2(f, "/entry/data/data", H5P_DEFAULT);
    hid_t p = H5Dget_create_plist(d);
    unsigned flags = 0, cd[8];
    size_t ncd = 8;
    assert_true(H5Pget_filter_by_id2(p, filter, &flags, &ncd, cd, 0, NULL, NULL) >= 0);
    H5Pclose(p);
    static uint16_t buf[NPIX];
    for (uint64_t i = 0; i < 7; i++) {
        if (i == 5) continue;
        assert_int_equal(read_row(d, i, buf), 0);
        assert_true(check_frame(buf, i));
    }
    /* stored through the filter (mask 0); bslz4 compresses this pattern,
     * lz4 alone cannot and stores a little more than the raw frame */
    static uint8_t raw[2 * FRAME_BYTES];
    hsize_t off[3] = {0, 0, 0}, sz = 0;
    uint32_t mask = 99;
    assert_true(H5Dget_chunk_storage_size(d, off, &sz) >= 0);
    assert_true(H5Dread_chunk(d, H5P_DEFAULT, off, &mask, raw) >= 0);
    assert_int_equal(mask, 0);
    if (filter == 32008) assert_true(sz < FRAME_BYTES / 2);
    else assert_true(sz > FRAME_BYTES && sz < FRAME_BYTES + 64);
    H5Dclose(d);
    H5Fclose(f);
    unlink(path);
}

static void test_raw_with_compression(void **state)
{
    (void)state;
    raw_compressed(SWMRBUS_ENC_BSLZ4, 32008, "raw_bslz4");
    raw_compressed(SWMRBUS_ENC_LZ4, 32004, "raw_lz4");
}

static void test_bad_arguments(void **state)
{
    (void)state;
    char path[PATH_MAX], err[256];
    path_for(path, sizeof path, "badargs");
    swmrbus__writer_opts o = opts_u16(path, SWMRBUS_ENC_RAW);
    swmrbus__writer *w = must_create(&o);
    static uint16_t buf[NPIX];
    bool dup = true;
    /* a raw payload of the wrong size: refused, the writer goes on */
    assert_int_equal(swmrbus__writer_write(w, 0, buf, FRAME_BYTES - 2, 0, &dup, err, sizeof err),
                     SWMRBUS_EINVAL);
    assert_false(dup);
    assert_false(swmrbus__writer_failed(w));
    write_frame(w, 0, 0, 1000, false);
    assert_info(must_close(&w), 1, 1, 1);
    swmrbus__writer *none = NULL;
    assert_int_equal(swmrbus__writer_close(&none, NULL, err, sizeof err), SWMRBUS_OK);
    unlink(path);

    o.format.shape[0] = 0; /* bad shape */
    assert_int_equal(swmrbus__writer_create(&o, &w, err, sizeof err), SWMRBUS_EINVAL);
    assert_null(w);
}

/* batched: rows go through swmrbus__writer_write_rows, 10 at a time (one
 * room check for the lot; a refusal falls back to the exact row). */
static void room_check_case(bool batched)
{
    char path[PATH_MAX];
    path_for(path, sizeof path, batched ? "room_rows" : "room");
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* child: 2 MiB file size limit, SIGXFSZ ignored (as the sink does) */
        struct rlimit rl = {2u << 20, 2u << 20};
        signal(SIGXFSZ, SIG_IGN);
        if (setrlimit(RLIMIT_FSIZE, &rl) != 0) _exit(2);
        char err[512] = "";
        swmrbus__writer_opts o = opts_u16(path, SWMRBUS_ENC_RAW);
        swmrbus__writer *w = NULL;
        if (swmrbus__writer_create(&o, &w, err, sizeof err)) _exit(3);
        static uint16_t buf[NPIX];
        swmrbus_err rc = SWMRBUS_OK;
        uint64_t i;
        swmrbus__flush_info fi;
        for (i = 0; i < 1000 && rc == SWMRBUS_OK && !batched; i++) {
            fill(buf, i);
            bool dup;
            rc = swmrbus__writer_write(w, i, buf, FRAME_BYTES, 1000 + i, &dup, err, sizeof err);
            if (rc == SWMRBUS_OK && i % 10 == 9) {
                if (swmrbus__writer_flush(w, &fi, err, sizeof err)) _exit(4);
            }
        }
        static uint16_t bufs[10][NPIX];
        swmrbus__part parts[10];
        swmrbus__row rows[10];
        for (i = batched ? 0 : i; i < 1000 && rc == SWMRBUS_OK && batched;) {
            for (int k = 0; k < 10; k++) {
                fill(bufs[k], i + (uint64_t)k);
                parts[k] = (swmrbus__part){bufs[k], FRAME_BYTES};
                rows[k] = (swmrbus__row){.index = i + (uint64_t)k, .parts = &parts[k],
                                         .ts = 1000 + i + (uint64_t)k};
            }
            size_t done = 0;
            rc = swmrbus__writer_write_rows(w, rows, 10, &done, err, sizeof err);
            i += done + (rc != SWMRBUS_OK); /* as the loop above: one past the refused */
            if (rc == SWMRBUS_OK && swmrbus__writer_flush(w, &fi, err, sizeof err)) _exit(4);
        }
        if (rc != SWMRBUS_ELIMIT) _exit(5);
        if (!swmrbus__writer_failed(w)) _exit(6);
        bool dup;
        if (swmrbus__writer_write(w, i, buf, FRAME_BYTES, 0, &dup, err, sizeof err) !=
            SWMRBUS_ESTATE)
            _exit(7);
        if (swmrbus__writer_flush(w, &fi, err, sizeof err) != SWMRBUS_ESTATE) _exit(8);
        swmrbus_err crc = swmrbus__writer_close(&w, &fi, err, sizeof err);
        uint64_t out[3] = {fi.frames, i - 1, (uint64_t)crc};
        if (write(fds[1], out, sizeof out) != (ssize_t)sizeof out) _exit(9);
        _exit(0);
    }
    close(fds[1]);
    uint64_t got[3] = {0, 0, 99};
    ssize_t n = read(fds[0], got, sizeof got);
    close(fds[0]);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(n, (ssize_t)sizeof got);
    assert_int_equal(got[2], SWMRBUS_OK);
    /* the frames written before the refusal are all durable after close */
    assert_int_equal(got[0], got[1]);
    assert_true(got[0] > 90 && got[0] < 128);

    hid_t f = open_normal(path);
    assert_true(f >= 0);
    hid_t d = H5Dopen2(f, "/entry/data/data", H5P_DEFAULT);
    assert_int_equal(rows_of(d), got[0]);
    static uint16_t buf[NPIX];
    for (uint64_t i = 0; i < got[0]; i++) {
        assert_int_equal(read_row(d, i, buf), 0);
        assert_true(check_frame(buf, i));
    }
    uint64_t ts[256];
    hsize_t nts = 0;
    assert_int_equal(read_ts(f, ts, 256, &nts), 0);
    assert_int_equal(nts, got[0]);
    H5Dclose(d);
    H5Fclose(f);
    struct stat sb;
    assert_int_equal(stat(path, &sb), 0);
    assert_true(sb.st_size <= (2 << 20));
    unlink(path);
}

static void test_room_check(void **state)
{
    (void)state;
    room_check_case(false);
}

static void test_room_check_rows(void **state)
{
    (void)state;
    room_check_case(true);
}

/* The fd this process has open on path (-1 if none). */
static int fd_of(const char *path)
{
    for (int fd = 3; fd < 1024; fd++) {
        char link[64], target[PATH_MAX];
        snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
        ssize_t n = readlink(link, target, sizeof target - 1);
        if (n <= 0) continue;
        target[n] = '\0';
        if (strcmp(target, path) == 0) return fd;
    }
    return -1;
}

/* A write that fails inside HDF5 (the file's fd swapped for /dev/full, so
 * every write gets ENOSPC as a full disk would): EIO, the writer is failed
 * for good, close does not crash, and the notified prefix survives. */
static void test_failed_write_is_final(void **state)
{
    (void)state;
    char path[PATH_MAX], err[512] = "";
    path_for(path, sizeof path, "fault");
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        swmrbus__writer_opts o = opts_u16(path, SWMRBUS_ENC_RAW);
        swmrbus__writer *w = NULL;
        swmrbus__flush_info fi;
        bool dup;
        static uint16_t buf[NPIX];
        if (swmrbus__writer_create(&o, &w, err, sizeof err)) _exit(3);
        for (uint64_t i = 0; i < 35; i++) {
            fill(buf, i);
            if (swmrbus__writer_write(w, i, buf, FRAME_BYTES, 1000 + i, &dup, err, sizeof err))
                _exit(4);
            if (i == 29 && swmrbus__writer_flush(w, &fi, err, sizeof err)) _exit(5);
        }
        int fd = fd_of(path), full = open("/dev/full", O_WRONLY);
        if (fd < 0 || full < 0 || dup2(full, fd) < 0) _exit(6);
        swmrbus_err rc = SWMRBUS_OK;
        uint64_t i;
        for (i = 35; i < 100 && rc == SWMRBUS_OK; i++) {
            fill(buf, i);
            rc = swmrbus__writer_write(w, i, buf, FRAME_BYTES, 1000 + i, &dup, err, sizeof err);
            if (rc == SWMRBUS_OK) rc = swmrbus__writer_flush(w, &fi, err, sizeof err);
        }
        if (rc != SWMRBUS_EIO || !swmrbus__writer_failed(w) || strlen(err) == 0) _exit(7);
        if (swmrbus__writer_write(w, i, buf, FRAME_BYTES, 0, &dup, err, sizeof err) !=
            SWMRBUS_ESTATE)
            _exit(8);
        if (swmrbus__writer_flush(w, &fi, err, sizeof err) != SWMRBUS_ESTATE) _exit(9);
        (void)swmrbus__writer_close(&w, &fi, err, sizeof err); /* once, no crash */
        if (w != NULL) _exit(10);
        uint64_t out[1] = {fi.frames};
        if (write(fds[1], out, sizeof out) != (ssize_t)sizeof out) _exit(11);
        exit(0); /* a normal exit: HDF5's atexit handler must not run */
    }
    close(fds[1]);
    uint64_t got[1] = {0};
    ssize_t n = read(fds[0], got, sizeof got);
    close(fds[0]);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    if (!WIFEXITED(st)) fail_msg("child killed by signal %d", WTERMSIG(st));
    assert_int_equal(WEXITSTATUS(st), 0);
    assert_int_equal(n, (ssize_t)sizeof got);
    assert_int_equal(got[0], 30);

    uint64_t frames = 0;
    swmrbus_err rc = swmrbus_sink_recover(path, &frames, err, sizeof err);
    if (rc != SWMRBUS_OK) fail_msg("recover: %s (%s)", swmrbus_strerror(rc), err);
    assert_true(frames >= 30);
    hid_t f = open_normal(path);
    assert_true(f >= 0);
    hid_t d = H5Dopen2(f, "/entry/data/data", H5P_DEFAULT);
    static uint16_t buf[NPIX];
    for (uint64_t i = 0; i < 30; i++) {
        assert_int_equal(read_row(d, i, buf), 0);
        assert_true(check_frame(buf, i));
    }
    uint64_t ts[256];
    hsize_t nts = 0;
    assert_int_equal(read_ts(f, ts, 256, &nts), 0);
    assert_true(nts >= 30);
    for (uint64_t i = 0; i < 30; i++) assert_int_equal(ts[i], 1000 + i);
    H5Dclose(d);
    H5Fclose(f);
    unlink(path);
}

static void test_recover_killed_writer(void **state)
{
    (void)state;
    char path[PATH_MAX], err[512] = "";
    path_for(path, sizeof path, "recover");
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        swmrbus__writer_opts o = opts_u16(path, SWMRBUS_ENC_RAW);
        swmrbus__writer *w = NULL;
        swmrbus__flush_info fi;
        bool dup;
        static uint16_t buf[NPIX];
        if (swmrbus__writer_create(&o, &w, err, sizeof err)) _exit(3);
        for (uint64_t i = 0; i < 60; i++) {
            fill(buf, i);
            if (swmrbus__writer_write(w, i, buf, FRAME_BYTES, 1000 + i, &dup, err, sizeof err))
                _exit(4);
            if (i == 49 && swmrbus__writer_flush(w, &fi, err, sizeof err)) _exit(5);
        }
        _exit(0); /* no close, no atexit: as if killed */
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);

    hid_t f = open_normal(path); /* still marked as being written */
    assert_true(f < 0);
    uint64_t frames = 0;
    swmrbus_err rc = swmrbus_sink_recover(path, &frames, err, sizeof err);
    if (rc != SWMRBUS_OK) fail_msg("recover: %s (%s)", swmrbus_strerror(rc), err);
    assert_true(frames >= 50 && frames <= 60);

    f = open_normal(path);
    assert_true(f >= 0);
    hid_t d = H5Dopen2(f, "/entry/data/data", H5P_DEFAULT);
    assert_int_equal(rows_of(d), frames);
    static uint16_t buf[NPIX];
    for (uint64_t i = 0; i < 50; i++) {
        assert_int_equal(read_row(d, i, buf), 0);
        assert_true(check_frame(buf, i));
    }
    H5Dclose(d);
    H5Fclose(f);

    /* a clean file: recovering is a no-op */
    uint64_t again = 0;
    assert_int_equal(swmrbus__writer_recover(path, &again, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(again, frames);
    unlink(path);
    assert_int_equal(swmrbus__writer_recover(path, &again, err, sizeof err), SWMRBUS_ENOTFOUND);

    /* HDF5 drops its file lock once SWMR writing starts: the writer's own
     * lock keeps recover off a live file */
    swmrbus__writer_opts o = opts_u16(path, SWMRBUS_ENC_RAW);
    swmrbus__writer *w = must_create(&o);
    write_frame(w, 0, 0, 1000, false);
    must_flush(w);
    assert_int_equal(swmrbus__writer_recover(path, &again, err, sizeof err), SWMRBUS_ESTATE);
    assert_non_null(strstr(err, "live writer"));
    write_frame(w, 1, 1, 1001, false);
    assert_info(must_close(&w), 2, 2, 2);
    assert_int_equal(swmrbus__writer_recover(path, &again, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(again, 2);
    unlink(path);
}

static void test_meta_names(void **state)
{
    (void)state;
    char out[64];
    swmrbus__meta_name("exposure_time", 13, out, sizeof out);
    assert_string_equal(out, "exposure_time");
    swmrbus__meta_name("a b/c\xc3\xa9", 7, out, sizeof out);
    assert_string_equal(out, "a_b_c__");
    swmrbus__meta_name("", 0, out, sizeof out);
    assert_string_equal(out, "_");
    swmrbus__meta_name(".", 1, out, sizeof out);
    assert_string_equal(out, "_");
    swmrbus__meta_name("..", 2, out, sizeof out);
    assert_string_equal(out, "_.");
    swmrbus__meta_name("timestamp", 9, out, sizeof out);
    assert_string_equal(out, "timestamp_");
    swmrbus__meta_name("v1.2-x", 6, out, sizeof out);
    assert_string_equal(out, "v1.2-x");
    swmrbus__meta_name("abcdefgh", 8, out, 5);
    assert_string_equal(out, "abcd");
}

/* A msgpack meta map, hand-encoded. */
static size_t mp_str(uint8_t *p, const char *s)
{
    size_t n = strlen(s);
    p[0] = (uint8_t)(0xa0 | n);
    memcpy(p + 1, s, n);
    return 1 + n;
}

static size_t mp_f64(uint8_t *p, double v)
{
    uint64_t u;
    memcpy(&u, &v, 8);
    p[0] = 0xcb;
    for (int i = 0; i < 8; i++) p[1 + i] = (uint8_t)(u >> (56 - 8 * i));
    return 9;
}

static void *read_ds(hid_t g, const char *name, hid_t mtype, size_t cap, hsize_t *n,
                     H5T_class_t *cls)
{
    hid_t d = H5Dopen2(g, name, H5P_DEFAULT);
    if (d < 0) fail_msg("meta dataset %s missing", name);
    hid_t s = H5Dget_space(d), t = H5Dget_type(d);
    *n = (hsize_t)H5Sget_simple_extent_npoints(s);
    *cls = H5Tget_class(t);
    void *buf = calloc(1, cap);
    assert_non_null(buf);
    if (mtype >= 0) assert_true(H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    else {
        assert_false(H5Tis_variable_str(t));
        assert_true(H5Tget_size(t) < cap);
        assert_true(H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0);
    }
    H5Tclose(t);
    H5Sclose(s);
    H5Dclose(d);
    return buf;
}

static void test_meta(void **state)
{
    (void)state;
    uint8_t m[256];
    size_t k = 0;
    m[k++] = 0x89; /* fixmap, 9 pairs */
    k += mp_str(m + k, "exposure");
    k += mp_f64(m + k, 0.25);
    k += mp_str(m + k, "gain");
    m[k++] = 0x03;
    k += mp_str(m + k, "offset");
    m[k++] = 0xfe; /* -2 */
    k += mp_str(m + k, "ok");
    m[k++] = 0xc3;
    k += mp_str(m + k, "sample name");
    k += mp_str(m + k, "lysozyme");
    k += mp_str(m + k, "timestamp");
    m[k++] = 0x07;
    k += mp_str(m + k, "roi");
    m[k++] = 0x94;
    m[k++] = 1, m[k++] = 2, m[k++] = 3, m[k++] = 0xcc, m[k++] = 200;
    k += mp_str(m + k, "sample_name");
    k += mp_str(m + k, "");
    k += mp_str(m + k, "mixed");
    m[k++] = 0x92;
    m[k++] = 0xff; /* -1 */
    k += mp_f64(m + k, 2.5);

    char path[PATH_MAX];
    path_for(path, sizeof path, "meta");
    swmrbus__writer_opts o = opts_u16(path, SWMRBUS_ENC_RAW);
    o.meta.ptr = (const char *)m;
    o.meta.len = k;
    swmrbus__writer *w = must_create(&o);
    write_frame(w, 0, 0, 1000, false);
    must_close(&w);

    hid_t f = open_normal(path);
    hid_t g = H5Gopen2(f, "/entry/instrument/detector", H5P_DEFAULT);
    assert_true(g >= 0);
    hsize_t n;
    H5T_class_t cls;
    double *dv = read_ds(g, "exposure", H5T_NATIVE_DOUBLE, 64, &n, &cls);
    assert_int_equal(cls, H5T_FLOAT);
    assert_true(dv[0] == 0.25);
    free(dv);
    uint64_t *uv = read_ds(g, "gain", H5T_NATIVE_UINT64, 64, &n, &cls);
    assert_int_equal(uv[0], 3);
    free(uv);
    int64_t *iv = read_ds(g, "offset", H5T_NATIVE_INT64, 64, &n, &cls);
    assert_int_equal(iv[0], -2);
    free(iv);
    int8_t *bv = read_ds(g, "ok", H5T_NATIVE_INT8, 64, &n, &cls);
    assert_int_equal(cls, H5T_ENUM);
    assert_int_equal(bv[0], 1);
    free(bv);
    char *sv = read_ds(g, "sample_name", -1, 64, &n, &cls);
    assert_int_equal(cls, H5T_STRING);
    assert_string_equal(sv, "lysozyme");
    free(sv);
    sv = read_ds(g, "sample_name_1", -1, 64, &n, &cls); /* name taken: suffix */
    assert_string_equal(sv, "");
    free(sv);
    uv = read_ds(g, "timestamp_", H5T_NATIVE_UINT64, 64, &n, &cls);
    assert_int_equal(uv[0], 7);
    free(uv);
    uv = read_ds(g, "roi", H5T_NATIVE_UINT64, 64, &n, &cls);
    assert_int_equal(n, 4);
    assert_int_equal(uv[3], 200);
    free(uv);
    dv = read_ds(g, "mixed", H5T_NATIVE_DOUBLE, 64, &n, &cls);
    assert_int_equal(cls, H5T_FLOAT);
    assert_int_equal(n, 2);
    assert_true(dv[0] == -1.0 && dv[1] == 2.5);
    free(dv);
    /* the reserved name still holds the frames' timestamps */
    hid_t d = H5Dopen2(g, "timestamp", H5P_DEFAULT);
    assert_int_equal(rows_of(d), 1);
    H5Dclose(d);
    H5Gclose(g);
    H5Fclose(f);
    unlink(path);

    /* a malformed map is refused and leaves no file */
    m[0] = 0x8a; /* claims one pair more than there is */
    path_for(path, sizeof path, "meta_bad");
    o.path = path;
    char err[256];
    assert_int_not_equal(swmrbus__writer_create(&o, &w, err, sizeof err), SWMRBUS_OK);
    assert_int_equal(access(path, F_OK), -1);
}

static int setup_tmp(void)
{
    const char *t = getenv("SWMRBUS_TEST_TMP");
    snprintf(g_tmp, sizeof g_tmp, "%s", t && *t ? t : "/tmp/swmrbus-test");
    char p[PATH_MAX];
    snprintf(p, sizeof p, "%s", g_tmp);
    for (char *s = p + 1; *s; s++) {
        if (*s != '/') continue;
        *s = '\0';
        if (mkdir(p, 0777) != 0 && errno != EEXIST) return -1;
        *s = '/';
    }
    if (mkdir(p, 0777) != 0 && errno != EEXIST) return -1;
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && strcmp(argv[1], "--swmr-read") == 0) return swmr_reader_main(argv[2], argv[3]);
    if (setup_tmp() != 0) {
        fprintf(stderr, "cannot make the test directory %s\n", g_tmp);
        return 1;
    }
    swmrbus__h5_init(); /* H5dont_atexit first, quiet error stack */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_in_order_and_swmr_reader),
        cmocka_unit_test(test_gaps_and_duplicates),
        cmocka_unit_test(test_write_rows),
        cmocka_unit_test(test_existing_path_refused),
        cmocka_unit_test(test_layout),
        cmocka_unit_test(test_bslz4_direct),
        cmocka_unit_test(test_lz4_direct),
        cmocka_unit_test(test_raw_with_compression),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_room_check),
        cmocka_unit_test(test_room_check_rows),
        cmocka_unit_test(test_failed_write_is_final),
        cmocka_unit_test(test_recover_killed_writer),
        cmocka_unit_test(test_meta_names),
        cmocka_unit_test(test_meta),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
