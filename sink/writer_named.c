/* sink/writer_named.c — the parts of a file that only a series with named
 * datasets (start.datasets) has: the list of its datasets, the NeXus default
 * as a soft link to the first image-like one, and the static datasets
 * (start.static) written once before SWMR starts. Internal to the writer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "writer_priv.h"

typedef struct fmt_ctx {
    swmrbus_format *first;
    size_t stride, n;
} fmt_ctx;

static int put_format(const swmrbus_dataset *d, size_t index, void *user)
{
    fmt_ctx *c = user;
    if (index >= c->n) return 1;
    memcpy((char *)c->first + index * c->stride, &d->format, sizeof d->format);
    return 0;
}

swmrbus_err swmrbus__writer_ds_formats(swmrbus_str datasets, size_t n, swmrbus_format *first,
                                       size_t stride, char *err, size_t errlen)
{
    fmt_ctx c = {first, stride, n};
    if (swmrbus_datasets_foreach(datasets, put_format, &c) != SWMRBUS_OK) {
        swmrbus__errf(err, errlen, "writer: malformed datasets");
        return SWMRBUS_EINVAL;
    }
    return SWMRBUS_OK;
}

typedef struct name_ctx {
    size_t want;
    char *out;
    size_t cap;
    bool found;
    bool image;    /* default_link: look for the first dataset of >= 2 dims */
} name_ctx;

static int find_name(const swmrbus_dataset *d, size_t index, void *user)
{
    name_ctx *c = user;
    if (c->image ? d->format.ndim < 2 : index != c->want) return 0;
    if (d->name.len + 1 > c->cap) return 1;
    memcpy(c->out, d->name.ptr, d->name.len);
    c->out[d->name.len] = '\0';
    c->found = true;
    return 1;
}

swmrbus_err swmrbus__writer_ds_name(swmrbus_str datasets, size_t k, char *out, size_t cap,
                                    char *err, size_t errlen)
{
    name_ctx c = {k, out, cap, false, false};
    if (swmrbus_datasets_foreach(datasets, find_name, &c) != SWMRBUS_OK || !c.found) {
        swmrbus__errf(err, errlen, "writer: no name for dataset %zu", k);
        return SWMRBUS_EINVAL;
    }
    return SWMRBUS_OK;
}

swmrbus_err swmrbus__writer_default_link(hid_t file, swmrbus_str datasets, char *err,
                                         size_t errlen)
{
    char target[SWMRBUS_PATH_MAX + 2];
    target[0] = '/';
    name_ctx c = {0, target + 1, sizeof target - 1, false, true};
    (void)swmrbus_datasets_foreach(datasets, find_name, &c);
    if (!c.found) {
        c.image = false;
        (void)swmrbus_datasets_foreach(datasets, find_name, &c);
    }
    if (!c.found) {
        swmrbus__errf(err, errlen, "writer: no dataset for the NeXus default");
        return SWMRBUS_EINVAL;
    }
    if (H5Lcreate_soft(target, file, "/entry/data/data", H5P_DEFAULT, H5P_DEFAULT) < 0) {
        swmrbus__h5_err(err, errlen, "link /entry/data/data to %s", target);
        return SWMRBUS_EIO;
    }
    return SWMRBUS_OK;
}

/* A 1-D dataset (or attribute when attr) of n variable-length strings. */
swmrbus_err swmrbus__h5_strs(hid_t loc, const char *name, const swmrbus_str *v, size_t n,
                             bool attr, char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t t = H5I_INVALID_HID, sp = H5I_INVALID_HID, obj = H5I_INVALID_HID;
    hid_t lcpl = H5I_INVALID_HID;
    char **ptrs = calloc(n ? n : 1, sizeof *ptrs);
    if (!ptrs) {
        swmrbus__errf(err, errlen, "out of memory");
        return SWMRBUS_ENOMEM;
    }
    for (size_t k = 0; k < n; k++) {
        if (!(ptrs[k] = malloc(v[k].len + 1))) {
            swmrbus__errf(err, errlen, "out of memory");
            rc = SWMRBUS_ENOMEM;
            goto out;
        }
        memcpy(ptrs[k], v[k].ptr, v[k].len);
        ptrs[k][v[k].len] = '\0';
    }
    hsize_t dims[1] = {n};
    if ((t = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(t, H5T_VARIABLE) < 0 ||
        H5Tset_cset(t, H5T_CSET_UTF8) < 0 || (sp = H5Screate_simple(1, dims, NULL)) < 0)
        goto h5fail;
    if (attr) {
        if ((obj = H5Acreate2(loc, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
            H5Awrite(obj, t, ptrs) < 0)
            goto h5fail;
    } else {
        if ((lcpl = H5Pcreate(H5P_LINK_CREATE)) < 0 ||
            H5Pset_create_intermediate_group(lcpl, 1) < 0 ||
            (obj = H5Dcreate2(loc, name, t, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
            H5Dwrite(obj, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, ptrs) < 0)
            goto h5fail;
    }
    rc = SWMRBUS_OK;
    goto out;
h5fail:
    swmrbus__h5_err(err, errlen, "write strings %s", name);
out:
    if (obj >= 0) attr ? H5Aclose(obj) : H5Dclose(obj);
    if (lcpl >= 0) H5Pclose(lcpl);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    for (size_t k = 0; k < n; k++) free(ptrs[k]);
    free(ptrs);
    return rc;
}

typedef struct list_ctx {
    swmrbus_str *names;
    size_t n;
} list_ctx;

static int collect(const swmrbus_dataset *d, size_t index, void *user)
{
    list_ctx *c = user;
    c->names[index] = d->name;
    c->n = index + 1;
    return 0;
}

typedef struct static_ctx {
    hid_t file;
    char *err;
    size_t errlen;
    swmrbus_err rc;
} static_ctx;

static int write_static(const swmrbus_static_item *it, void *user)
{
    static_ctx *c = user;
    char path[SWMRBUS_PATH_MAX + 1];
    snprintf(path, sizeof path, "%.*s", (int)it->path.len, it->path.ptr);
    if (it->kind == SWMRBUS_META_STR) {
        c->rc = swmrbus__h5_strs(c->file, path, it->is_array ? it->ss : &it->s, it->count,
                                 false, c->err, c->errlen);
        return c->rc != SWMRBUS_OK;
    }
    hid_t t = it->kind == SWMRBUS_META_FLOAT  ? H5T_IEEE_F64LE
              : it->kind == SWMRBUS_META_UINT ? H5T_STD_U64LE
              : it->kind == SWMRBUS_META_BOOL ? H5T_STD_U8LE
                                              : H5T_STD_I64LE;
    hid_t mt = it->kind == SWMRBUS_META_FLOAT  ? H5T_NATIVE_DOUBLE
               : it->kind == SWMRBUS_META_UINT ? H5T_NATIVE_UINT64
                                               : H5T_NATIVE_INT64;
    const void *buf = it->kind == SWMRBUS_META_FLOAT  ? (const void *)it->f
                      : it->kind == SWMRBUS_META_UINT ? (const void *)it->u
                                                      : (const void *)it->i;
    hsize_t dims[1] = {it->count};
    hid_t sp = H5Screate_simple(1, dims, NULL), lcpl = H5Pcreate(H5P_LINK_CREATE), d = -1;
    c->rc = SWMRBUS_EIO;
    if (sp >= 0 && lcpl >= 0 && H5Pset_create_intermediate_group(lcpl, 1) >= 0 &&
        (d = H5Dcreate2(c->file, path, t, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
        H5Dwrite(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) >= 0)
        c->rc = SWMRBUS_OK;
    else
        swmrbus__h5_err(c->err, c->errlen, "write static %s", path);
    if (d >= 0) H5Dclose(d);
    if (lcpl >= 0) H5Pclose(lcpl);
    if (sp >= 0) H5Sclose(sp);
    return c->rc != SWMRBUS_OK;
}

swmrbus_err swmrbus__writer_named(hid_t file, hid_t data, swmrbus_str datasets,
                                  swmrbus_str statics, char *err, size_t errlen)
{
    swmrbus_err rc;
    list_ctx lc = {calloc(SWMRBUS_MAX_DATASETS, sizeof(swmrbus_str)), 0};
    if (!lc.names) {
        swmrbus__errf(err, errlen, "out of memory");
        return SWMRBUS_ENOMEM;
    }
    /* /entry/data@datasets: the per-row datasets in their wire order, so a
     * reader (a source) finds them all and sends them in that order. */
    (void)swmrbus_datasets_foreach(datasets, collect, &lc);
    rc = swmrbus__h5_strs(data, "datasets", lc.names, lc.n, true, err, errlen);
    free(lc.names);
    if (rc != SWMRBUS_OK || statics.len == 0) return rc;
    static_ctx sc = {file, err, errlen, SWMRBUS_OK};
    if (swmrbus_static_foreach(statics, write_static, &sc) != SWMRBUS_OK &&
        sc.rc == SWMRBUS_OK) {
        swmrbus__errf(err, errlen, "writer: malformed static");
        return SWMRBUS_EINVAL;
    }
    return sc.rc;
}

/* ---- channels (README "Channels") ---------------------------------------- */

swmrbus_err swmrbus__writer_channels(hid_t data, swmrbus_str channels, uint32_t n,
                                     uint32_t frame_ndim, char *err, size_t errlen)
{
    swmrbus_str names[SWMRBUS_MAX_CHANNELS];
    if (n > SWMRBUS_MAX_CHANNELS || frame_ndim > SWMRBUS_MAX_DATASET_DIMS) {
        swmrbus__errf(err, errlen, "writer: %u channels", n);
        return SWMRBUS_EINVAL;
    }
    for (uint32_t k = 0; k < n; k++)
        if (swmrbus_channel_name(channels, k, &names[k]) != SWMRBUS_OK) {
            swmrbus__errf(err, errlen, "writer: malformed channels");
            return SWMRBUS_EINVAL;
        }
    /* NXdata as Dectris's file writer (NXmx 2024.02) has it: the channel
     * axis of /entry/data/data is dimension 1, named by /entry/data/channel */
    /* (@axes and @channel_indices: writer_axes.c) */
    return swmrbus__h5_strs(data, "channel", names, n, false, err, errlen);
}
