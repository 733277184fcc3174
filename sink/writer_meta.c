/* sink/writer_meta.c — what a series' file says about itself besides its
 * frames: fixed-length string attributes (NeXus classes, default, signal,
 * name) and one dataset per key of start.meta in /entry/instrument/detector.
 *
 * Meta mapping (all written before SWMR starts, never changed after):
 *   string      -> scalar fixed-length string (NUL padded, UTF-8 when not
 *                  plain ASCII; SWMR readers cannot use variable-length ones)
 *   int / uint  -> scalar int64 / uint64 (little-endian)
 *   float       -> scalar float64
 *   bool        -> scalar h5py-style enum over int8 {FALSE = 0, TRUE = 1}
 *   array       -> 1-D dataset of the same element types (count elements)
 * Keys are sanitised by swmrbus__meta_name(); a name already taken gets
 * "_1", "_2", ... appended. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "writer_priv.h"

#define META_NAME_MAX 200 /* bytes of a sanitised key, before any suffix */

static bool is_ascii(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if ((unsigned char)s[i] >= 0x80) return false;
    return true;
}

/* A fixed-length string type of len bytes (at least 1). */
static hid_t str_type(const char *s, size_t len)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    if (t < 0) return t;
    if (H5Tset_size(t, len ? len : 1) < 0 || H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 ||
        H5Tset_cset(t, is_ascii(s, len) ? H5T_CSET_ASCII : H5T_CSET_UTF8) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

swmrbus_err swmrbus__h5_attr_str(hid_t obj, const char *name, const char *s, size_t len,
                                 char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t t = H5I_INVALID_HID, sp = H5I_INVALID_HID, a = H5I_INVALID_HID;
    const char *buf = len ? s : "";
    if ((t = str_type(buf, len)) < 0 || (sp = H5Screate(H5S_SCALAR)) < 0 ||
        (a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Awrite(a, t, buf) < 0) {
        swmrbus__h5_err(err, errlen, "attribute %s", name);
        goto out;
    }
    rc = SWMRBUS_OK;
out:
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return rc;
}

swmrbus_err swmrbus__h5_attr_u64(hid_t obj, const char *name, uint64_t v, char *err,
                                 size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t sp = H5I_INVALID_HID, a = H5I_INVALID_HID;
    if ((sp = H5Screate(H5S_SCALAR)) < 0 ||
        (a = H5Acreate2(obj, name, H5T_STD_U64LE, sp, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Awrite(a, H5T_NATIVE_UINT64, &v) < 0) {
        swmrbus__h5_err(err, errlen, "attribute %s", name);
        goto out;
    }
    rc = SWMRBUS_OK;
out:
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    return rc;
}

void swmrbus__meta_name(const char *key, size_t len, char *out, size_t cap)
{
    static const char reserved[] = "timestamp";
    size_t n = 0;
    bool dots = true;
    if (cap == 0) return;
    for (size_t i = 0; i < len && n + 1 < cap; i++) {
        unsigned char c = (unsigned char)key[i];
        bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                  c == '_' || c == '.' || c == '-';
        out[n++] = ok ? (char)c : '_';
        if (c != '.') dots = false;
    }
    out[n] = '\0';
    if (n == 0 || dots) {
        /* "" would be no name, "." and ".." are paths in HDF5 */
        if (n == 0 && cap > 1) out[n++] = '_';
        out[0] = '_';
        out[n] = '\0';
    }
    if (strcmp(out, reserved) == 0 && n + 1 < cap) {
        out[n++] = '_';
        out[n] = '\0';
    }
}

typedef struct meta_ctx {
    hid_t g;
    swmrbus_err rc;
    char *err;
    size_t errlen;
} meta_ctx;

/* A free link name for key in g: the sanitised key, else with "_k". */
static swmrbus_err free_name(hid_t g, swmrbus_str key, char *name, size_t cap, char *err,
                             size_t errlen)
{
    char base[META_NAME_MAX + 1];
    swmrbus__meta_name(key.ptr, key.len, base, sizeof base);
    snprintf(name, cap, "%s", base);
    for (unsigned k = 1; k < 1000; k++) {
        htri_t ex = H5Lexists(g, name, H5P_DEFAULT);
        if (ex < 0) {
            swmrbus__h5_err(err, errlen, "meta key %s", base);
            return SWMRBUS_EIO;
        }
        if (ex == 0) return SWMRBUS_OK;
        snprintf(name, cap, "%s_%u", base, k);
    }
    swmrbus__errf(err, errlen, "meta key %s: too many keys of that name", base);
    return SWMRBUS_EINVAL;
}

static hid_t bool_type(void)
{
    hid_t t = H5Tenum_create(H5T_STD_I8LE);
    int8_t f = 0, v = 1;
    if (t < 0) return t;
    if (H5Tenum_insert(t, "FALSE", &f) < 0 || H5Tenum_insert(t, "TRUE", &v) < 0) {
        H5Tclose(t);
        return H5I_INVALID_HID;
    }
    return t;
}

static int meta_item(const swmrbus_meta_item *it, void *user)
{
    meta_ctx *c = user;
    char name[META_NAME_MAX + 8];
    hid_t ftype = H5I_INVALID_HID, mtype = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    hid_t d = H5I_INVALID_HID;
    int8_t *bools = NULL;
    const void *buf = NULL;
    bool own_types = false;

    if ((c->rc = free_name(c->g, it->key, name, sizeof name, c->err, c->errlen))) goto out;
    c->rc = SWMRBUS_EIO;
    switch (it->kind) {
    case SWMRBUS_META_STR:
        ftype = mtype = str_type(it->s.len ? it->s.ptr : "", it->s.len);
        own_types = true;
        buf = it->s.len ? it->s.ptr : "";
        break;
    case SWMRBUS_META_INT:
        ftype = H5T_STD_I64LE;
        mtype = H5T_NATIVE_INT64;
        buf = it->i;
        break;
    case SWMRBUS_META_UINT:
        ftype = H5T_STD_U64LE;
        mtype = H5T_NATIVE_UINT64;
        buf = it->u;
        break;
    case SWMRBUS_META_FLOAT:
        ftype = H5T_IEEE_F64LE;
        mtype = H5T_NATIVE_DOUBLE;
        buf = it->f;
        break;
    case SWMRBUS_META_BOOL:
        ftype = mtype = bool_type();
        own_types = true;
        if (it->count > 0) {
            if (!(bools = malloc(it->count))) {
                swmrbus__errf(c->err, c->errlen, "meta %s: out of memory", name);
                c->rc = SWMRBUS_ENOMEM;
                goto out;
            }
            for (size_t i = 0; i < it->count; i++) bools[i] = it->i && it->i[i] ? 1 : 0;
        }
        buf = bools;
        break;
    default:
        swmrbus__errf(c->err, c->errlen, "meta %s: unknown kind", name);
        c->rc = SWMRBUS_EINVAL;
        goto out;
    }
    if (ftype < 0) {
        swmrbus__h5_err(c->err, c->errlen, "meta %s: type", name);
        goto out;
    }
    if (it->is_array && it->kind != SWMRBUS_META_STR) {
        hsize_t n = it->count;
        sp = H5Screate_simple(1, &n, NULL);
    } else {
        sp = H5Screate(H5S_SCALAR);
    }
    if (sp < 0 || (d = H5Dcreate2(c->g, name, ftype, sp, H5P_DEFAULT, H5P_DEFAULT,
                                  H5P_DEFAULT)) < 0) {
        swmrbus__h5_err(c->err, c->errlen, "meta %s: create", name);
        goto out;
    }
    bool empty = it->is_array && it->kind != SWMRBUS_META_STR && it->count == 0;
    if (!empty && (!buf || H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0)) {
        swmrbus__h5_err(c->err, c->errlen, "meta %s: write", name);
        goto out;
    }
    c->rc = SWMRBUS_OK;
out:
    if (d >= 0) H5Dclose(d);
    if (sp >= 0) H5Sclose(sp);
    if (own_types && ftype >= 0) H5Tclose(ftype);
    free(bools);
    return c->rc != SWMRBUS_OK;
}

swmrbus_err swmrbus__writer_meta(hid_t g, swmrbus_str meta, char *err, size_t errlen)
{
    if (!meta.ptr || meta.len == 0) return SWMRBUS_OK;
    meta_ctx c = {g, SWMRBUS_OK, err, errlen};
    swmrbus_err rc = swmrbus_meta_foreach(meta, meta_item, &c);
    if (c.rc != SWMRBUS_OK) return c.rc;
    if (rc != SWMRBUS_OK) swmrbus__errf(err, errlen, "meta: malformed map");
    return rc;
}
