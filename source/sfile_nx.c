/* source/sfile_nx.c — what a second sink needs to write the same NXmx file
 * as the first (issue 11), read back from a series' file:
 *
 *   per-frame times   /entry/instrument/detector/{start,stop,real}_time
 *                     (float64 s per row, README "Per-frame times"): read in
 *                     blocks of 1024 rows, never at or beyond the rows
 *                     notified, sent as each frame's `times`;
 *   start arrays      the detector's pixel_mask / flatfield (one channel) or
 *                     <channel>_channel/{pixel_mask, flatfield,
 *                     threshold_energy}, countrate_correction_lookup_table,
 *                     detectorSpecific/countrate_correction_table: sent as
 *                     start.arrays with a raw part each (README "Start
 *                     arrays"), each at most limits.max_frame_bytes, all at
 *                     most limits.max_start_bytes (others skipped, counted).
 *
 * The image ids need nothing here: first_image_id is a detector dataset,
 * sent as meta. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>
#include <msgpack.h>

#include "h5share.h"
#include "sfile_priv.h"

#define DETECTOR "/entry/instrument/detector"
#define TIMES_BLOCK 1024

static const char *const time_names[3] = {"start_time", "stop_time", "real_time"};

struct swmrbus__stimes {
    bool absent;             /* the file has no per-frame times */
    hid_t d[3];
    uint64_t rows;           /* rows all three show (last open/refresh) */
    uint64_t lo, n;          /* cached block: rows [lo, lo + n) */
    double buf[3][TIMES_BLOCK];
};

void swmrbus__stimes_free(swmrbus__stimes **pt)
{
    swmrbus__stimes *t = pt ? *pt : NULL;
    if (!t) return;
    for (int k = 0; k < 3; k++)
        swmrbus__h5share_close(t->d[k]);
    H5Eclear2(H5E_DEFAULT);
    free(t);
    *pt = NULL;
}

static uint64_t extent0(hid_t d)
{
    hsize_t dims[1] = {0};
    hid_t sp = H5Dget_space(d);
    if (sp < 0) return 0;
    if (H5Sget_simple_extent_ndims(sp) != 1 || H5Sget_simple_extent_dims(sp, dims, NULL) < 0)
        dims[0] = 0;
    H5Sclose(sp);
    return dims[0];
}

/* The times of f, opened on first use (NULL: out of memory). */
static swmrbus__stimes *times_of(swmrbus__sfile *f)
{
    swmrbus__stimes **slot = swmrbus__sfile_nx(f);
    if (*slot) return *slot;
    swmrbus__stimes *t = calloc(1, sizeof *t);
    if (!t) return NULL;
    hid_t file = swmrbus__sfile_h5file(f);
    for (int k = 0; k < 3; k++) t->d[k] = H5I_INVALID_HID;
    for (int k = 0; k < 3 && !t->absent; k++) {
        char path[64];
        snprintf(path, sizeof path, DETECTOR "/%s", time_names[k]);
        if (H5Lexists(file, DETECTOR, H5P_DEFAULT) <= 0 ||
            H5Lexists(file, path, H5P_DEFAULT) <= 0 ||
            (t->d[k] = swmrbus__h5share_open(file, path)) < 0)
            t->absent = true;
    }
    H5Eclear2(H5E_DEFAULT);
    *slot = t;
    return t;
}

bool swmrbus__sfile_has_times(swmrbus__sfile *f)
{
    swmrbus__stimes *t = times_of(f);
    return t && !t->absent;
}

swmrbus_err swmrbus__sfile_times(swmrbus__sfile *f, uint64_t row, uint64_t limit, double v[3],
                                 char *err, size_t errlen)
{
    swmrbus__stimes *t = times_of(f);
    hid_t fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    swmrbus_err rc = SWMRBUS_EIO;
    int k = 0;
    for (int i = 0; i < 3; i++) v[i] = NAN;
    if (!t || t->absent) return SWMRBUS_OK;
    if (row >= t->lo && row - t->lo < t->n) {
        for (int i = 0; i < 3; i++) v[i] = t->buf[i][row - t->lo];
        return SWMRBUS_OK;
    }
    if (row >= t->rows) { /* written at each flush with the data: look again */
        uint64_t rows = UINT64_MAX;
        for (int i = 0; i < 3; i++) {
            if (!swmrbus__sfile_own_writer(f) && swmrbus__h5share_refresh(t->d[i]) < 0) {
                H5Eclear2(H5E_DEFAULT);
                if (H5Iis_valid(t->d[i]) <= 0) { /* retired (h5share.h): open anew */
                    char path[64];
                    snprintf(path, sizeof path, DETECTOR "/%s", time_names[i]);
                    swmrbus__h5share_close(t->d[i]);
                    t->d[i] = swmrbus__h5share_open(swmrbus__sfile_h5file(f), path);
                    H5Eclear2(H5E_DEFAULT);
                    if (t->d[i] < 0) t->absent = true;
                }
                return SWMRBUS_OK; /* not known this time: NaN */
            }
            uint64_t r = extent0(t->d[i]);
            if (r < rows) rows = r;
        }
        t->rows = rows;
    }
    uint64_t end = limit < t->rows ? limit : t->rows;
    if (row >= end) return SWMRBUS_OK;
    hsize_t start = row, n = end - row < TIMES_BLOCK ? end - row : TIMES_BLOCK;
    if ((ms = H5Screate_simple(1, &n, NULL)) < 0) goto h5fail;
    for (k = 0; k < 3; k++) {
        if ((fs = H5Dget_space(t->d[k])) < 0 ||
            H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &n, NULL) < 0 ||
            H5Dread(t->d[k], H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, t->buf[k]) < 0)
            goto h5fail;
        H5Sclose(fs);
        fs = H5I_INVALID_HID;
    }
    t->lo = row;
    t->n = n;
    for (int i = 0; i < 3; i++) v[i] = t->buf[i][0];
    rc = SWMRBUS_OK;
    goto out;
h5fail:
    swmrbus__h5_err(err, errlen, "read %s from row %llu", time_names[k < 3 ? k : 0],
                    (unsigned long long)row);
    t->n = 0;
out:
    if (fs >= 0) H5Sclose(fs);
    if (ms >= 0) H5Sclose(ms);
    return rc;
}

/* ---- start arrays -------------------------------------------------------- */

typedef struct arr_out {
    msgpack_packer pk;
    swmrbus_buf items;       /* the packed maps, without the array header */
    zmq_msg_t parts[SWMRBUS_MAX_START_ARRAYS];
    size_t n;
    uint64_t total, max_each, max_total;
    size_t skipped;
} arr_out;

/* The dataset DETECTOR/name, when there, as one more start array. */
static swmrbus_err add_array(arr_out *a, hid_t det, const char *name, char *err,
                             size_t errlen)
{
    swmrbus_err rc = SWMRBUS_OK;
    hid_t d = H5I_INVALID_HID, t = H5I_INVALID_HID, sp = H5I_INVALID_HID, le;
    hsize_t dims[2] = {1, 1};
    bool init = false;
    if (H5Lexists(det, name, H5P_DEFAULT) <= 0) goto out; /* and "x_channel" absent */
    if ((d = swmrbus__h5share_open(det, name)) < 0 || (t = H5Dget_type(d)) < 0 ||
        (sp = H5Dget_space(d)) < 0)
        goto skip;
    swmrbus_dtype dt = swmrbus__sfile_dtype_of(t, &le);
    int rank = H5Sget_simple_extent_ndims(sp);
    if (dt == SWMRBUS_DTYPE_NONE || rank < 0 || rank > 2 || a->n >= SWMRBUS_MAX_START_ARRAYS ||
        H5Sget_simple_extent_dims(sp, dims, NULL) < 0)
        goto skip;
    uint64_t bytes = swmrbus_dtype_size(dt);
    for (int i = 0; i < rank; i++) {
        if (dims[i] == 0 || dims[i] > a->max_each / bytes) goto skip;
        bytes *= dims[i];
    }
    if (bytes > a->max_each || bytes > a->max_total - a->total) goto skip;
    if (zmq_msg_init_size(&a->parts[a->n], (size_t)bytes) != 0) {
        swmrbus__errf(err, errlen, "start array %s: out of memory", name);
        rc = SWMRBUS_ENOMEM;
        goto out;
    }
    init = true;
    if (H5Dread(d, le, H5S_ALL, H5S_ALL, H5P_DEFAULT, zmq_msg_data(&a->parts[a->n])) < 0)
        goto skip;
    const char *dn = swmrbus_dtype_name(dt);
    int e = msgpack_pack_map(&a->pk, 4);
    e |= msgpack_pack_str_with_body(&a->pk, "name", 4);
    e |= msgpack_pack_str_with_body(&a->pk, name, strlen(name));
    e |= msgpack_pack_str_with_body(&a->pk, "dtype", 5);
    e |= msgpack_pack_str_with_body(&a->pk, dn, strlen(dn));
    e |= msgpack_pack_str_with_body(&a->pk, "shape", 5);
    e |= msgpack_pack_array(&a->pk, (size_t)rank);
    for (int i = 0; i < rank; i++) e |= msgpack_pack_uint64(&a->pk, dims[i]);
    e |= msgpack_pack_str_with_body(&a->pk, "encoding", 8);
    e |= msgpack_pack_str_with_body(&a->pk, "raw", 3);
    if (e) {
        swmrbus__errf(err, errlen, "start array %s: out of memory", name);
        rc = SWMRBUS_ENOMEM;
        goto out;
    }
    a->n++;
    a->total += bytes;
    init = false;
    goto out;
skip:
    a->skipped++;
out:
    if (init) zmq_msg_close(&a->parts[a->n]);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    swmrbus__h5share_close(d);
    H5Eclear2(H5E_DEFAULT);
    return rc;
}

swmrbus_err swmrbus__sfile_arrays(swmrbus__sfile *f, uint64_t max_each, uint64_t max_total,
                                  swmrbus__start_arrays *out, char *err, size_t errlen)
{
    static const char *const det_wide[] = {"countrate_correction_lookup_table",
                                           "detectorSpecific/countrate_correction_table"};
    static const char *const per_channel[] = {"pixel_mask", "flatfield", "threshold_energy"};
    const swmrbus__sfile_info *in = swmrbus__sfile_get_info(f);
    hid_t file = swmrbus__sfile_h5file(f), det = H5I_INVALID_HID;
    swmrbus_err rc = SWMRBUS_OK;
    arr_out *a = calloc(1, sizeof *a);
    memset(out, 0, sizeof *out);
    if (!a) {
        swmrbus__errf(err, errlen, "start arrays: out of memory");
        return SWMRBUS_ENOMEM;
    }
    a->max_each = max_each;
    a->max_total = max_total;
    msgpack_packer_init(&a->pk, &a->items, swmrbus_buf_write);
    if (H5Lexists(file, "/entry/instrument", H5P_DEFAULT) <= 0 ||
        H5Lexists(file, DETECTOR, H5P_DEFAULT) <= 0 ||
        (det = H5Gopen2(file, DETECTOR, H5P_DEFAULT)) < 0)
        goto done; /* no detector group: no arrays */
    if (in->n_channels < 2) { /* one channel: its arrays are the detector's */
        for (size_t i = 0; i < 2 && rc == SWMRBUS_OK; i++)
            rc = add_array(a, det, per_channel[i], err, errlen);
    }
    for (size_t c = 0; c < in->n_channels && in->n_channels > 1 && rc == SWMRBUS_OK; c++)
        for (size_t i = 0; i < 3 && rc == SWMRBUS_OK; i++) {
            char name[SWMRBUS_CHANNEL_NAME_MAX + 48];
            snprintf(name, sizeof name, "%s_channel/%s", in->channel[c], per_channel[i]);
            rc = add_array(a, det, name, err, errlen);
        }
    for (size_t i = 0; i < 2 && rc == SWMRBUS_OK; i++)
        rc = add_array(a, det, det_wide[i], err, errlen);
done:
    if (det >= 0) H5Gclose(det);
    H5Eclear2(H5E_DEFAULT);
    if (rc == SWMRBUS_OK && a->n) { /* the array header, then the items */
        msgpack_packer pk;
        msgpack_packer_init(&pk, &out->arrays, swmrbus_buf_write);
        if (msgpack_pack_array(&pk, a->n) ||
            swmrbus_buf_write(&out->arrays, (const char *)a->items.data, a->items.len)) {
            swmrbus__errf(err, errlen, "start arrays: out of memory");
            rc = SWMRBUS_ENOMEM;
        }
    }
    if (rc == SWMRBUS_OK) {
        for (size_t k = 0; k < a->n; k++) {
            zmq_msg_init(&out->parts[k]);
            zmq_msg_move(&out->parts[k], &a->parts[k]);
        }
        out->n = a->n;
        out->skipped = a->skipped;
    } else {
        swmrbus_buf_free(&out->arrays);
    }
    for (size_t k = 0; k < a->n; k++) zmq_msg_close(&a->parts[k]);
    swmrbus_buf_free(&a->items);
    free(a);
    return rc;
}

void swmrbus__start_arrays_free(swmrbus__start_arrays *sa)
{
    for (size_t k = 0; k < sa->n; k++) zmq_msg_close(&sa->parts[k]);
    swmrbus_buf_free(&sa->arrays);
    memset(sa, 0, sizeof *sa);
}
