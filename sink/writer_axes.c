/* sink/writer_axes.c — the NXdata axes of /entry/data as Dectris's file
 * writer has them (NXmx 2024.02, its filewriter/README.md):
 *
 *   /entry/data  @signal = "data"
 *                @axes = ["image_id", ("channel",) ".", ...]
 *                @image_id_indices = 0, (@channel_indices = 1,)
 *                (@start_time_indices = 0)
 *   /entry/data/image_id   uint64 (N,): the detector's id of each row,
 *                          first_image_id + row, written at each flush
 *   /entry/data/start_time a soft link to /entry/instrument/detector/start_time
 *                          (a series with per-frame times)
 *
 * image_id exists when the start's meta has first_image_id (an unsigned
 * integer: what the Dectris decoders put there, and what a source sends on
 * from such a file); other series get no image_id and the axes of before.
 * Internal to the writer. */
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "writer_priv.h"

#define IDS_CHUNK 1024

struct swmrbus__ids {
    hid_t d;
    uint64_t first;
    uint64_t extent; /* rows holding their id */
};

static int find_first(const swmrbus_meta_item *it, void *user)
{
    uint64_t *v = user;
    if (it->key.len != 14 || memcmp(it->key.ptr, "first_image_id", 14) != 0 || it->is_array ||
        it->count != 1)
        return 0;
    if (it->kind == SWMRBUS_META_UINT) v[0] = it->u[0], v[1] = 1;
    else if (it->kind == SWMRBUS_META_INT && it->i[0] >= 0) v[0] = (uint64_t)it->i[0], v[1] = 1;
    return 1;
}

bool swmrbus__ids_wanted(swmrbus_str meta, uint64_t *first)
{
    uint64_t v[2] = {0, 0};
    if (!meta.ptr || meta.len == 0) return false;
    if (swmrbus_meta_foreach(meta, find_first, v) != SWMRBUS_OK || !v[1]) return false;
    *first = v[0];
    return true;
}

swmrbus_err swmrbus__ids_create(hid_t data, uint64_t first, swmrbus__ids **out, char *err,
                                size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    hsize_t dims[1] = {0}, maxd[1] = {H5S_UNLIMITED}, chunk[1] = {IDS_CHUNK};
    swmrbus__ids *t = calloc(1, sizeof *t);
    *out = NULL;
    if (!t) {
        swmrbus__errf(err, errlen, "image_id: out of memory");
        return SWMRBUS_ENOMEM;
    }
    t->first = first;
    if ((space = H5Screate_simple(1, dims, maxd)) < 0 ||
        (dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0 || H5Pset_chunk(dcpl, 1, chunk) < 0 ||
        (t->d = H5Dcreate2(data, "image_id", H5T_STD_U64LE, space, H5P_DEFAULT, dcpl,
                           H5P_DEFAULT)) < 0) {
        swmrbus__h5_err(err, errlen, "create /entry/data/image_id");
        t->d = H5I_INVALID_HID;
        goto out;
    }
    rc = SWMRBUS_OK;
out:
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    if (rc != SWMRBUS_OK) swmrbus__ids_close(&t, NULL, 0);
    *out = t;
    return rc;
}

swmrbus_err swmrbus__ids_flush(swmrbus__ids *t, uint64_t extent, char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    uint64_t *v = NULL;
    if (extent <= t->extent) return SWMRBUS_OK;
    hsize_t dims[1] = {extent}, start[1] = {t->extent}, n[1] = {extent - t->extent};
    if (!(v = malloc((size_t)n[0] * sizeof *v))) {
        swmrbus__errf(err, errlen, "image_id: out of memory");
        return SWMRBUS_ENOMEM;
    }
    for (hsize_t k = 0; k < n[0]; k++) v[k] = t->first + t->extent + k;
    if (H5Dset_extent(t->d, dims) < 0 || (fs = H5Dget_space(t->d)) < 0 ||
        (ms = H5Screate_simple(1, n, NULL)) < 0 ||
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, n, NULL) < 0 ||
        H5Dwrite(t->d, H5T_NATIVE_UINT64, ms, fs, H5P_DEFAULT, v) < 0) {
        swmrbus__h5_err(err, errlen, "write image_id rows %llu..%llu",
                        (unsigned long long)t->extent, (unsigned long long)extent - 1);
        goto out;
    }
    t->extent = extent;
    rc = SWMRBUS_OK;
out:
    free(v);
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    return rc;
}

void swmrbus__ids_shrink(swmrbus__ids *t, uint64_t rows)
{
    if (t->extent <= rows) return;
    hsize_t dims[1] = {rows};
    (void)H5Dset_extent(t->d, dims);
}

swmrbus_err swmrbus__ids_close(swmrbus__ids **pt, char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_OK;
    swmrbus__ids *t = pt ? *pt : NULL;
    if (!t) return SWMRBUS_OK;
    if (t->d >= 0 && H5Dclose(t->d) < 0) {
        if (err) swmrbus__h5_err(err, errlen, "close image_id");
        rc = SWMRBUS_EIO;
    }
    free(t);
    *pt = NULL;
    return rc;
}

swmrbus_err swmrbus__writer_axes(hid_t data, bool image_id, bool channel, bool start_time,
                                 uint32_t data_ndim, char *err, size_t errlen)
{
    swmrbus_str axes[SWMRBUS_MAX_DATASET_DIMS + 2];
    swmrbus_err rc = SWMRBUS_OK;
    if (!image_id && !channel) return SWMRBUS_OK;
    if (data_ndim < (channel ? 2u : 1u) || data_ndim > SWMRBUS_MAX_DATASET_DIMS + 2) {
        swmrbus__errf(err, errlen, "writer: axes of %u dims", data_ndim);
        return SWMRBUS_EINVAL;
    }
    for (uint32_t i = 0; i < data_ndim; i++) axes[i] = (swmrbus_str){".", 1};
    if (image_id) axes[0] = (swmrbus_str){"image_id", 8};
    if (channel) axes[1] = (swmrbus_str){"channel", 7};
    if ((rc = swmrbus__h5_strs(data, "axes", axes, data_ndim, true, err, errlen))) return rc;
    if (channel && (rc = swmrbus__h5_attr_u64(data, "channel_indices", 1, err, errlen)))
        return rc;
    if (!image_id) return SWMRBUS_OK;
    if ((rc = swmrbus__h5_attr_u64(data, "image_id_indices", 0, err, errlen))) return rc;
    if (!start_time) return SWMRBUS_OK;
    /* Dectris's NXdata also has start_time (relative to /entry/start_time) as
     * an axis of dimension 0: the detector's dataset, linked */
    if (H5Lcreate_soft("/entry/instrument/detector/start_time", data, "start_time",
                       H5P_DEFAULT, H5P_DEFAULT) < 0) {
        swmrbus__h5_err(err, errlen, "link /entry/data/start_time");
        return SWMRBUS_EIO;
    }
    return swmrbus__h5_attr_u64(data, "start_time_indices", 0, err, errlen);
}
