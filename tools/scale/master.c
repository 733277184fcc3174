/* master.c — the coordinator's master file: a virtual dataset over the
 * shard files (README "Scale-out"). Everything that touches HDF5 for the
 * coordinator is here. */
#include <errno.h>
#include <hdf5.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "h5util.h"
#include "scale.h"
#include "swmrbus/wire.h"

#define DATASET "/entry/data/data"
#define TS_DATASET "/entry/instrument/detector/timestamp"
#define MAX_RANK 4 /* frames + SWMRBUS_MAX_DIMS */

/* mkdir -p dir (0755 for new directories); errors show at the realpath after. */
static void make_dirs(const char *dir)
{
    char p[PATH_MAX];
    size_t n = strlen(dir);
    if (n == 0 || n >= sizeof p) return;
    memcpy(p, dir, n + 1);
    for (char *c = p + 1; *c; c++) {
        if (*c != '/') continue;
        *c = '\0';
        mkdir(p, 0755);
        *c = '/';
    }
    mkdir(p, 0755);
}

/* Splits the absolute path p (modified) into its components. */
static size_t components(char *p, char **out, size_t max)
{
    size_t n = 0;
    char *save = NULL;
    for (char *c = strtok_r(p, "/", &save); c && n < max; c = strtok_r(NULL, "/", &save))
        out[n++] = c;
    return n;
}

swmrbus_err swmrbus__scale_relpath(const char *dir, const char *file, char *rel, size_t cap,
                                   char *err, size_t errlen)
{
    char d[PATH_MAX], fdir[PATH_MAX], f[PATH_MAX];
    char *dc[PATH_MAX / 2], *fc[PATH_MAX / 2];
    const char *slash = strrchr(file, '/');
    if (!slash || file[0] != '/' || slash[1] == '\0') {
        swmrbus__errf(err, errlen, "shard file %s: not an absolute file path", file);
        return SWMRBUS_EINVAL;
    }
    snprintf(f, sizeof f, "%.*s", (int)(slash - file), file);
    if (!realpath(dir, d) || !realpath(f[0] ? f : "/", fdir)) {
        swmrbus__errf(err, errlen, "cannot resolve %s or %s: %s", dir, f[0] ? f : "/",
                      strerror(errno));
        return SWMRBUS_EINVAL;
    }
    size_t nd = components(d, dc, sizeof dc / sizeof dc[0]);
    size_t nf = components(fdir, fc, sizeof fc / sizeof fc[0]);
    size_t common = 0;
    while (common < nd && common < nf && strcmp(dc[common], fc[common]) == 0) common++;
    size_t len = 0;
    rel[0] = '\0';
    for (size_t i = common; i < nd; i++)
        len += (size_t)snprintf(rel + len, len < cap ? cap - len : 0, "../");
    for (size_t i = common; i < nf; i++)
        len += (size_t)snprintf(rel + len, len < cap ? cap - len : 0, "%s/", fc[i]);
    len += (size_t)snprintf(rel + len, len < cap ? cap - len : 0, "%s", slash + 1);
    if (len >= cap) {
        swmrbus__errf(err, errlen, "relative path of %s too long", file);
        return SWMRBUS_EINVAL;
    }
    return SWMRBUS_OK;
}

/* A fixed-length string attribute (as the sink writes them). */
static int attr_str(hid_t obj, const char *name, const char *s)
{
    int bad = -1;
    hid_t t = H5Tcopy(H5T_C_S1), sp = H5I_INVALID_HID, a = H5I_INVALID_HID;
    if (t < 0 || H5Tset_size(t, strlen(s) ? strlen(s) : 1) < 0 ||
        H5Tset_strpad(t, H5T_STR_NULLPAD) < 0 || H5Tset_cset(t, H5T_CSET_ASCII) < 0)
        goto out;
    if ((sp = H5Screate(H5S_SCALAR)) < 0) goto out;
    if ((a = H5Acreate2(obj, name, t, sp, H5P_DEFAULT, H5P_DEFAULT)) < 0) goto out;
    if (H5Awrite(a, t, strlen(s) ? s : "") < 0) goto out;
    bad = 0;
out:
    if (a >= 0) H5Aclose(a);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return bad;
}

static hid_t group(hid_t parent, const char *name, const char *nx_class)
{
    hid_t g = H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g >= 0 && attr_str(g, "NX_class", nx_class) < 0) {
        H5Gclose(g);
        g = H5I_INVALID_HID;
    }
    return g;
}

/* /entry/data@name of a shard file (a fixed-length string, as the sink
 * writes it) into name ("" when absent or of another kind). */
static void read_name(hid_t f, char *name, size_t cap)
{
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID;
    name[0] = '\0';
    if (H5Aexists_by_name(f, "/entry/data", "name", H5P_DEFAULT) <= 0) goto out;
    if ((a = H5Aopen_by_name(f, "/entry/data", "name", H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (t = H5Aget_type(a)) < 0 || H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) != 0)
        goto out;
    size_t n = H5Tget_size(t);
    if (n == 0 || n >= cap || H5Aread(a, t, name) < 0) {
        name[0] = '\0';
        goto out;
    }
    name[n] = '\0';
out:
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    H5Eclear2(H5E_DEFAULT);
}

/* The type and frame shape of one shard's dataset (opened as a SWMR reader);
 * its series name when name is not NULL. */
static swmrbus_err probe(const char *file, hid_t *type, int *rank, hsize_t *dims, char *name,
                         size_t namecap, char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t f = H5I_INVALID_HID, d = H5I_INVALID_HID, sp = H5I_INVALID_HID;
    if ((f = H5Fopen(file, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, H5P_DEFAULT)) < 0 ||
        (d = H5Dopen2(f, DATASET, H5P_DEFAULT)) < 0 || (sp = H5Dget_space(d)) < 0) {
        swmrbus__h5_err(err, errlen, "shard file %s", file);
        goto out;
    }
    *rank = H5Sget_simple_extent_ndims(sp);
    if (*rank < 2 || *rank > MAX_RANK || H5Sget_simple_extent_dims(sp, dims, NULL) < 0 ||
        (*type = H5Dget_type(d)) < 0) {
        swmrbus__h5_err(err, errlen, "shard file %s: %s", file, DATASET);
        goto out;
    }
    if (name) read_name(f, name, namecap);
    rc = SWMRBUS_OK;
out:
    if (sp >= 0) H5Sclose(sp);
    if (d >= 0) H5Dclose(d);
    if (f >= 0) H5Fclose(f);
    return rc;
}

/* The virtual dataset's creation properties: one strided unlimited mapping
 * per shard, fill value 0. */
static hid_t vds_dcpl(hid_t type, int rank, const hsize_t *dims, char (*rel)[PATH_MAX],
                      size_t shards, const char *src)
{
    hid_t dcpl = H5Pcreate(H5P_DATASET_CREATE), vs = H5I_INVALID_HID, ss = H5I_INVALID_HID;
    hsize_t cur[MAX_RANK], max[MAX_RANK], start[MAX_RANK], stride[MAX_RANK], count[MAX_RANK],
        block[MAX_RANK];
    uint8_t zero[32] = {0};
    bool ok = dcpl >= 0 && H5Tget_size(type) <= sizeof zero &&
              H5Pset_fill_value(dcpl, type, zero) >= 0;
    for (int i = 0; i < rank; i++) {
        cur[i] = i ? dims[i] : 0;
        max[i] = i ? dims[i] : H5S_UNLIMITED;
        start[i] = 0;
        stride[i] = 1;
        count[i] = i ? 1 : H5S_UNLIMITED;
        block[i] = i ? dims[i] : 1;
    }
    for (size_t k = 0; ok && k < shards; k++) {
        ok = (vs = H5Screate_simple(rank, cur, max)) >= 0 &&
             (ss = H5Screate_simple(rank, cur, max)) >= 0;
        start[0] = k;
        stride[0] = shards;
        ok = ok && H5Sselect_hyperslab(vs, H5S_SELECT_SET, start, stride, count, block) >= 0;
        start[0] = 0;
        stride[0] = 1;
        ok = ok && H5Sselect_hyperslab(ss, H5S_SELECT_SET, start, stride, count, block) >= 0;
        ok = ok && H5Pset_virtual(dcpl, vs, rel[k], src, ss) >= 0;
        if (vs >= 0) H5Sclose(vs);
        if (ss >= 0) H5Sclose(ss);
        vs = ss = H5I_INVALID_HID;
    }
    if (!ok && dcpl >= 0) {
        H5Pclose(dcpl);
        dcpl = H5I_INVALID_HID;
    }
    return dcpl;
}

/* Creates parent/name: a virtual dataset of rank (rows unlimited, the rest
 * dims[1..]) mapping row f to row f / shards of src in shard f % shards. */
static int virtual_ds(hid_t parent, const char *name, const char *src, hid_t type, int rank,
                      const hsize_t *dims, char (*rel)[PATH_MAX], size_t shards)
{
    hsize_t cur[MAX_RANK], max[MAX_RANK];
    for (int i = 0; i < rank; i++) {
        cur[i] = i ? dims[i] : 0;
        max[i] = i ? dims[i] : H5S_UNLIMITED;
    }
    hid_t dcpl = vds_dcpl(type, rank, dims, rel, shards, src), space = H5I_INVALID_HID;
    hid_t ds = H5I_INVALID_HID;
    if (dcpl >= 0 && (space = H5Screate_simple(rank, cur, max)) >= 0)
        ds = H5Dcreate2(parent, name, type, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (space >= 0) H5Sclose(space);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (ds < 0) return -1;
    H5Dclose(ds);
    return 0;
}

swmrbus_err swmrbus__scale_master_create(const char *dir, const char *stem, uint64_t series,
                                         const char *const *files, size_t shards,
                                         char *path, size_t pathlen, char *err,
                                         size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EINVAL;
    char (*rel)[PATH_MAX] = NULL;
    hid_t type = H5I_INVALID_HID, fapl = H5I_INVALID_HID, f = H5I_INVALID_HID;
    hid_t root = H5I_INVALID_HID, entry = H5I_INVALID_HID, data = H5I_INVALID_HID;
    hid_t inst = H5I_INVALID_HID, det = H5I_INVALID_HID;
    int rank = 0;
    hsize_t dims[MAX_RANK] = {0};
    char absdir[PATH_MAX];
    char name[SWMRBUS_NAME_MAX + 1] = ""; /* shard 0's /entry/data@name */

    swmrbus__h5_init();
    make_dirs(dir); /* as a sink does with its dir */
    if (shards == 0 || shards > SWMRBUS_MAX_SHARDS || !realpath(dir, absdir)) {
        swmrbus__errf(err, errlen, "dir %s: %s", dir, shards ? strerror(errno) : "no shards");
        goto out;
    }
    if (!(rel = calloc(shards, sizeof *rel))) {
        swmrbus__errf(err, errlen, "out of memory");
        rc = SWMRBUS_ENOMEM;
        goto out;
    }
    for (size_t k = 0; k < shards; k++) {
        hid_t t = H5I_INVALID_HID;
        int r = 0;
        hsize_t d[MAX_RANK] = {0};
        if ((rc = swmrbus__scale_relpath(absdir, files[k], rel[k], sizeof rel[k], err, errlen)))
            goto out;
        if ((rc = probe(files[k], &t, &r, d, k == 0 ? name : NULL, sizeof name, err, errlen)))
            goto out;
        bool same = k == 0 || (r == rank && H5Tequal(t, type) > 0 &&
                               memcmp(d + 1, dims + 1, (size_t)(r - 1) * sizeof d[0]) == 0);
        if (k == 0) {
            type = t;
            rank = r;
            memcpy(dims, d, sizeof d);
        } else {
            H5Tclose(t);
        }
        if (!same) {
            swmrbus__errf(err, errlen, "shard file %s: dtype or frame shape differs from %s",
                          files[k], files[0]);
            rc = SWMRBUS_EINVAL;
            goto out;
        }
    }
    rc = SWMRBUS_EIO;
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) < 0) {
        swmrbus__h5_err(err, errlen, "file access properties");
        goto out;
    }
    for (unsigned n = 0; n < 1000 && f < 0; n++) {
        if (n == 0) snprintf(path, pathlen, "%s/%s_%" PRIu64 ".h5", absdir, stem, series);
        else snprintf(path, pathlen, "%s/%s_%" PRIu64 "_%u.h5", absdir, stem, series, n);
        f = H5Fcreate(path, H5F_ACC_EXCL, H5P_DEFAULT, fapl); /* never an existing file */
        if (f < 0) H5Eclear2(H5E_DEFAULT);
    }
    if (f < 0) {
        swmrbus__errf(err, errlen, "cannot create a master file %s/%s_%" PRIu64 ".h5 (or _1 .. _999)",
                      absdir, stem, series);
        goto out;
    }
    dims[0] = 0;
    if ((root = H5Gopen2(f, "/", H5P_DEFAULT)) < 0 || attr_str(root, "default", "entry") < 0 ||
        (entry = group(f, "/entry", "NXentry")) < 0 || attr_str(entry, "default", "data") < 0 ||
        (data = group(entry, "data", "NXdata")) < 0 || attr_str(data, "signal", "data") < 0 ||
        (name[0] && attr_str(data, "name", name) < 0)) {
        swmrbus__h5_err(err, errlen, "%s: NeXus groups", path);
        goto out;
    }
    if (virtual_ds(data, "data", DATASET, type, rank, dims, rel, shards) < 0) {
        swmrbus__h5_err(err, errlen, "%s: virtual dataset " DATASET, path);
        goto out;
    }
    /* the per-row timestamps, mapped the same way (0 = absent, as in a shard) */
    hsize_t ts_dims[1] = {0};
    if ((inst = group(entry, "instrument", "NXinstrument")) < 0 ||
        (det = group(inst, "detector", "NXdetector")) < 0 ||
        virtual_ds(det, "timestamp", TS_DATASET, H5T_STD_U64LE, 1, ts_dims, rel, shards) < 0) {
        swmrbus__h5_err(err, errlen, "%s: virtual dataset " TS_DATASET, path);
        goto out;
    }
    rc = SWMRBUS_OK;
out:
    if (det >= 0) H5Gclose(det);
    if (inst >= 0) H5Gclose(inst);
    if (data >= 0) H5Gclose(data);
    if (entry >= 0) H5Gclose(entry);
    if (root >= 0) H5Gclose(root);
    if (f >= 0 && H5Fclose(f) < 0 && rc == SWMRBUS_OK) {
        swmrbus__h5_err(err, errlen, "close %s", path);
        rc = SWMRBUS_EIO;
    }
    if (f >= 0 && rc != SWMRBUS_OK) remove(path);
    if (fapl >= 0) H5Pclose(fapl);
    if (type >= 0) H5Tclose(type);
    free(rel);
    return rc;
}
