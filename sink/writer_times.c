/* sink/writer_times.c — per-frame times of a series whose start said
 * "times": true (README "Per-frame times"): start_time, stop_time and
 * real_time (float64 s, NaN where a frame did not say) in the detector
 * group, extended with the data and written at each flush beside
 * timestamp. Internal to the writer. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "writer_priv.h"

#define TIMES_CHUNK 1024

static const char *const names[SWMRBUS__TIMES_N] = {"start_time", "stop_time", "real_time"};

struct swmrbus__times {
    hid_t d[SWMRBUS__TIMES_N];
    uint64_t extent;
    hsize_t *idx;                 /* pending rows */
    double *v[SWMRBUS__TIMES_N];  /* pending values */
    size_t n, cap;
};

swmrbus_err swmrbus__times_create(hid_t det, swmrbus__times **out, char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    hsize_t dims[1] = {0}, maxd[1] = {H5S_UNLIMITED}, chunk[1] = {TIMES_CHUNK};
    double fill = NAN;
    swmrbus__times *t = calloc(1, sizeof *t);
    *out = NULL;
    if (!t) {
        swmrbus__errf(err, errlen, "per-frame times: out of memory");
        return SWMRBUS_ENOMEM;
    }
    for (int k = 0; k < SWMRBUS__TIMES_N; k++) t->d[k] = H5I_INVALID_HID;
    if ((space = H5Screate_simple(1, dims, maxd)) < 0 ||
        (dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0 || H5Pset_chunk(dcpl, 1, chunk) < 0 ||
        H5Pset_fill_value(dcpl, H5T_NATIVE_DOUBLE, &fill) < 0) {
        swmrbus__h5_err(err, errlen, "per-frame times: properties");
        goto out;
    }
    for (int k = 0; k < SWMRBUS__TIMES_N; k++) {
        if ((t->d[k] = H5Dcreate2(det, names[k], H5T_IEEE_F64LE, space, H5P_DEFAULT, dcpl,
                                  H5P_DEFAULT)) < 0) {
            swmrbus__h5_err(err, errlen, "create /entry/instrument/detector/%s", names[k]);
            goto out;
        }
        if ((rc = swmrbus__h5_attr_str(t->d[k], "units", "s", 1, err, errlen))) goto out;
        rc = SWMRBUS_EIO;
    }
    rc = SWMRBUS_OK;
out:
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    if (rc != SWMRBUS_OK) swmrbus__times_close(&t, NULL, 0);
    *out = t;
    return rc;
}

swmrbus_err swmrbus__times_reserve(swmrbus__times *t, size_t more, char *err, size_t errlen)
{
    if (more <= t->cap - t->n) return SWMRBUS_OK;
    size_t cap = t->cap ? t->cap : 256;
    while (cap - t->n < more) {
        if (cap > SIZE_MAX / 2 / sizeof(double)) goto nomem;
        cap *= 2;
    }
    hsize_t *idx = realloc(t->idx, cap * sizeof *idx);
    if (!idx) goto nomem;
    t->idx = idx;
    for (int k = 0; k < SWMRBUS__TIMES_N; k++) {
        double *p = realloc(t->v[k], cap * sizeof *p);
        if (!p) goto nomem; /* the ones grown stay grown: cap is the least */
        t->v[k] = p;
    }
    t->cap = cap;
    return SWMRBUS_OK;
nomem:
    swmrbus__errf(err, errlen, "pending per-frame times: out of memory");
    return SWMRBUS_ENOMEM;
}

swmrbus_err swmrbus__times_add(swmrbus__times *t, uint64_t row, const double v[3], char *err,
                               size_t errlen)
{
    if (t->n == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 256;
        hsize_t *idx = realloc(t->idx, cap * sizeof *idx);
        if (!idx) goto nomem;
        t->idx = idx;
        for (int k = 0; k < SWMRBUS__TIMES_N; k++) {
            double *p = realloc(t->v[k], cap * sizeof *p);
            if (!p) goto nomem;
            t->v[k] = p;
        }
        t->cap = cap;
    }
    t->idx[t->n] = row;
    for (int k = 0; k < SWMRBUS__TIMES_N; k++) t->v[k][t->n] = v[k];
    t->n++;
    return SWMRBUS_OK;
nomem:
    swmrbus__errf(err, errlen, "pending per-frame times: out of memory");
    return SWMRBUS_ENOMEM;
}

swmrbus_err swmrbus__times_flush(swmrbus__times *t, uint64_t extent, char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    int k = 0;
    if (t->extent != extent) {
        hsize_t dims[1] = {extent};
        for (k = 0; k < SWMRBUS__TIMES_N; k++)
            if (H5Dset_extent(t->d[k], dims) < 0) goto h5fail;
        t->extent = extent;
    }
    if (t->n == 0) return SWMRBUS_OK;
    hsize_t n = t->n;
    bool run = true;
    for (size_t i = 1; i < t->n && run; i++) run = t->idx[i] == t->idx[0] + i;
    if ((ms = H5Screate_simple(1, &n, NULL)) < 0) goto h5fail;
    for (k = 0; k < SWMRBUS__TIMES_N; k++) {
        if ((fs = H5Dget_space(t->d[k])) < 0) goto h5fail;
        if (run ? H5Sselect_hyperslab(fs, H5S_SELECT_SET, &t->idx[0], NULL, &n, NULL) < 0
                : H5Sselect_elements(fs, H5S_SELECT_SET, t->n, t->idx) < 0)
            goto h5fail;
        if (H5Dwrite(t->d[k], H5T_NATIVE_DOUBLE, ms, fs, H5P_DEFAULT, t->v[k]) < 0) goto h5fail;
        H5Sclose(fs);
        fs = H5I_INVALID_HID;
    }
    t->n = 0;
    rc = SWMRBUS_OK;
    goto out;
h5fail:
    swmrbus__h5_err(err, errlen, "write %s", names[k < SWMRBUS__TIMES_N ? k : 0]);
out:
    if (fs >= 0) H5Sclose(fs);
    if (ms >= 0) H5Sclose(ms);
    return rc;
}

void swmrbus__times_shrink(swmrbus__times *t, uint64_t rows)
{
    if (t->extent <= rows) return;
    hsize_t dims[1] = {rows};
    for (int k = 0; k < SWMRBUS__TIMES_N; k++) (void)H5Dset_extent(t->d[k], dims);
}

swmrbus_err swmrbus__times_close(swmrbus__times **pt, char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_OK;
    swmrbus__times *t = pt ? *pt : NULL;
    if (!t) return SWMRBUS_OK;
    for (int k = 0; k < SWMRBUS__TIMES_N; k++) {
        if (t->d[k] >= 0 && H5Dclose(t->d[k]) < 0 && rc == SWMRBUS_OK) {
            if (err) swmrbus__h5_err(err, errlen, "close %s", names[k]);
            rc = SWMRBUS_EIO;
        }
        free(t->v[k]);
    }
    free(t->idx);
    free(t);
    *pt = NULL;
    return rc;
}
