/* sink/writer_arrays.c — a start's arrays (README "Start arrays"): each
 * payload part of the start written once, before SWMR starts, as a dataset
 * of its declared dtype and shape under /entry/instrument/detector (a
 * Dectris pixel_mask or flatfield). Internal to the writer. */
#include <stdio.h>
#include <string.h>

#include <hdf5.h>

#include "writer.h"
#include "writer_priv.h"

typedef struct arr_ctx {
    hid_t det;
    const swmrbus__part *parts;
    size_t n;
    swmrbus_err rc;
    char *err;
    size_t errlen;
} arr_ctx;

static int write_array(const swmrbus_dataset *a, size_t k, void *user)
{
    arr_ctx *c = user;
    char name[SWMRBUS_PATH_MAX + 1];
    hid_t sp = H5I_INVALID_HID, lcpl = H5I_INVALID_HID, d = H5I_INVALID_HID;
    hsize_t dims[SWMRBUS_MAX_DATASET_DIMS];
    snprintf(name, sizeof name, "%.*s", (int)a->name.len, a->name.ptr);
    c->rc = SWMRBUS_EINVAL;
    if (k >= c->n) {
        swmrbus__errf(c->err, c->errlen, "start array %s: no payload part", name);
        return 1;
    }
    uint64_t raw = swmrbus_format_raw_bytes(&a->format);
    if (a->format.encoding != SWMRBUS_ENC_RAW || raw != c->parts[k].len) {
        swmrbus__errf(c->err, c->errlen, "start array %s: %zu bytes of %s, the array needs "
                      "%llu raw", name, c->parts[k].len,
                      swmrbus_encoding_name(a->format.encoding), (unsigned long long)raw);
        return 1;
    }
    for (uint32_t i = 0; i < a->format.ndim; i++) dims[i] = a->format.shape[i];
    c->rc = SWMRBUS_EIO;
    hid_t type = swmrbus__writer_le_type(a->format.dtype);
    if ((sp = a->format.ndim ? H5Screate_simple((int)a->format.ndim, dims, NULL)
                             : H5Screate(H5S_SCALAR)) < 0 ||
        (lcpl = H5Pcreate(H5P_LINK_CREATE)) < 0 ||
        H5Pset_create_intermediate_group(lcpl, 1) < 0 ||
        (d = H5Dcreate2(c->det, name, type, sp, lcpl, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, c->parts[k].p) < 0)
        swmrbus__h5_err(c->err, c->errlen, "write start array %s", name);
    else
        c->rc = SWMRBUS_OK;
    /* a channel's threshold_energy (Dectris, NXmx 2024.02) is in eV */
    const char *last = strrchr(name, '/');
    if (c->rc == SWMRBUS_OK && strcmp(last ? last + 1 : name, "threshold_energy") == 0)
        c->rc = swmrbus__h5_attr_str(d, "units", "eV", 2, c->err, c->errlen);
    if (d >= 0) H5Dclose(d);
    if (lcpl >= 0) H5Pclose(lcpl);
    if (sp >= 0) H5Sclose(sp);
    return c->rc != SWMRBUS_OK;
}

swmrbus_err swmrbus__writer_arrays(hid_t det, swmrbus_str arrays, const swmrbus__part *parts,
                                   size_t n, char *err, size_t errlen)
{
    arr_ctx c = {det, parts, n, SWMRBUS_OK, err, errlen};
    if (n == 0) return SWMRBUS_OK;
    if (swmrbus_datasets_foreach(arrays, write_array, &c) != SWMRBUS_OK && c.rc == SWMRBUS_OK) {
        swmrbus__errf(err, errlen, "writer: malformed start arrays");
        return SWMRBUS_EINVAL;
    }
    return c.rc;
}
