/* source/sfile_meta.c — a series' meta, read back from the datasets of
 * /entry/instrument/detector (every one but timestamp) for the `start` a
 * source sends. The reverse of the sink's mapping:
 *   fixed- or variable-length string (scalar) -> str
 *   integer (scalar or 1-D)                    -> int (signed) / uint
 *   float                                      -> float
 *   enum over a 1-byte integer {FALSE, TRUE}   -> bool (h5py's booleans)
 * Other datasets (other types, rank > 1, arrays over 4096 elements) are
 * skipped and counted; the per-frame times and the countrate table are not
 * meta (they go out with frames / as start arrays). In an NXmx file the
 * fields sink/writer_nxmx.c moved (/entry/definition, /entry/start_time as
 * arm_date, /entry@user_data, beam/incident_*) come back as meta. Sizes come from the file, so each is checked against
 * the bounds before anything is allocated. */
#include <stdlib.h>
#include <string.h>

#include "h5share.h"
#include "sfile_priv.h"

#define META_MAX_ITEMS 256
#define META_ARRAY_MAX 4096
#define DETECTOR "/entry/instrument/detector"

typedef struct meta_ctx {
    swmrbus__meta_list *ml;
    size_t max_bytes;
    swmrbus_err rc;
    char *err;
    size_t errlen;
} meta_ctx;

/* A new item whose block holds need value bytes and then the key. */
static swmrbus_meta_item *add_item(meta_ctx *c, const char *key, size_t need, void **vals)
{
    swmrbus__meta_list *ml = c->ml;
    size_t klen = strlen(key);
    if (ml->n >= META_MAX_ITEMS || need + klen > c->max_bytes - ml->bytes) return NULL;
    if (ml->n == ml->cap) {
        size_t cap = ml->cap ? ml->cap * 2 : 16;
        swmrbus_meta_item *it = realloc(ml->items, cap * sizeof *it);
        if (!it) return NULL;
        ml->items = it;
        void **bl = realloc(ml->blocks, cap * sizeof *bl);
        if (!bl) return NULL;
        ml->blocks = bl;
        ml->cap = cap;
    }
    size_t vbytes = (need + 7) & ~(size_t)7;
    char *block = malloc(vbytes + klen + 1);
    if (!block) return NULL;
    memcpy(block + vbytes, key, klen + 1);
    swmrbus_meta_item *it = &ml->items[ml->n];
    memset(it, 0, sizeof *it);
    it->key.ptr = block + vbytes;
    it->key.len = klen;
    ml->blocks[ml->n] = block;
    ml->n++;
    ml->bytes += need + klen;
    *vals = block;
    return it;
}

/* Drops the last item (a read failed after it was added). */
static void drop_last(swmrbus__meta_list *ml)
{
    ml->n--;
    ml->bytes -= ml->items[ml->n].key.len;
    free(ml->blocks[ml->n]);
}

static bool is_bool_enum(hid_t t)
{
    if (H5Tget_class(t) != H5T_ENUM || H5Tget_size(t) != 1 || H5Tget_nmembers(t) != 2)
        return false;
    int8_t v0 = -1, v1 = -1;
    char n0[8] = "", n1[8] = "";
    if (H5Tget_member_value(t, 0, &v0) < 0 || H5Tget_member_value(t, 1, &v1) < 0 ||
        H5Tenum_nameof(t, &v0, n0, sizeof n0) < 0 || H5Tenum_nameof(t, &v1, n1, sizeof n1) < 0)
        return false;
    return ((v0 == 0 && v1 == 1 && !strcmp(n0, "FALSE") && !strcmp(n1, "TRUE")) ||
            (v0 == 1 && v1 == 0 && !strcmp(n0, "TRUE") && !strcmp(n1, "FALSE")));
}

/* Reads a string dataset (scalar). 1: added, 0: skipped, -1: failed. */
static int read_string(meta_ctx *c, const char *key, hid_t d, hid_t t)
{
    int r = 0;
    hid_t mt = H5I_INVALID_HID;
    char *vs = NULL;
    void *vals;
    swmrbus_meta_item *it;
    if (H5Tis_variable_str(t) > 0) {
        if ((mt = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(mt, H5T_VARIABLE) < 0 ||
            H5Tset_cset(mt, H5Tget_cset(t)) < 0 ||
            H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, &vs) < 0)
            goto out;
        size_t n = vs ? strlen(vs) : 0;
        if (!(it = add_item(c, key, n + 1, &vals))) goto out;
        memcpy(vals, vs ? vs : "", n + 1);
        it->kind = SWMRBUS_META_STR;
        it->count = 1;
        it->s.ptr = vals;
        it->s.len = n;
        r = 1;
        goto out;
    }
    size_t n = H5Tget_size(t);
    if (n == 0 || n >= c->max_bytes) goto out;
    if (!(it = add_item(c, key, n + 1, &vals))) goto out;
    if ((mt = H5Tcopy(t)) < 0 || H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, vals) < 0) {
        drop_last(c->ml);
        goto out;
    }
    /* The sink stores NUL-padded strings: the value ends at the padding. */
    while (n > 0 && ((char *)vals)[n - 1] == '\0') n--;
    ((char *)vals)[n] = '\0';
    it->kind = SWMRBUS_META_STR;
    it->count = 1;
    it->s.ptr = vals;
    it->s.len = n;
    r = 1;
out:
    if (vs) H5free_memory(vs);
    if (mt >= 0) H5Tclose(mt);
    return r;
}

/* Dataset name of g as the meta item key (skipped and counted when it
 * cannot be carried). */
static void read_item(meta_ctx *c, hid_t g, const char *name, const char *key)
{
    hid_t d = H5I_INVALID_HID, t = H5I_INVALID_HID, s = H5I_INVALID_HID;
    hid_t mt = H5I_INVALID_HID;
    int8_t *raw8 = NULL;
    bool added = false;
    if (strlen(key) > SWMRBUS_NAME_MAX) goto skip;
    if ((d = swmrbus__h5share_open(g, name)) < 0) goto skip; /* a group, a broken link */
    if ((t = H5Dget_type(d)) < 0 || (s = H5Dget_space(d)) < 0) goto skip;
    int rank = H5Sget_simple_extent_ndims(s);
    hsize_t n = 1;
    if (rank == 1) {
        if (H5Sget_simple_extent_dims(s, &n, NULL) < 0 || n > META_ARRAY_MAX) goto skip;
    } else if (rank != 0) {
        goto skip;
    }
    H5T_class_t cls = H5Tget_class(t);
    if (cls == H5T_STRING) {
        if (rank != 0) goto skip;
        int r = read_string(c, key, d, t);
        if (r <= 0) goto skip;
        added = true;
        goto done;
    }
    swmrbus_meta_kind kind;
    hid_t mem;
    size_t esize = 8;
    if (cls == H5T_INTEGER) {
        bool sgn = H5Tget_sign(t) == H5T_SGN_2;
        kind = sgn ? SWMRBUS_META_INT : SWMRBUS_META_UINT;
        mem = sgn ? H5T_NATIVE_INT64 : H5T_NATIVE_UINT64;
    } else if (cls == H5T_FLOAT) {
        kind = SWMRBUS_META_FLOAT;
        mem = H5T_NATIVE_DOUBLE;
    } else if (is_bool_enum(t)) {
        kind = SWMRBUS_META_BOOL;
        mem = H5I_INVALID_HID; /* read with the enum's own type, then widened */
    } else {
        goto skip;
    }
    void *vals;
    swmrbus_meta_item *it = add_item(c, key, (size_t)n * esize, &vals);
    if (!it) goto skip;
    added = true;
    it->kind = kind;
    it->is_array = rank == 1;
    it->count = (size_t)n;
    if (n > 0) {
        herr_t rr;
        if (kind == SWMRBUS_META_BOOL) {
            if (!(raw8 = malloc((size_t)n)) || (mt = H5Tget_native_type(t, H5T_DIR_DEFAULT)) < 0) {
                rr = -1;
            } else {
                rr = H5Dread(d, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw8);
                for (hsize_t k = 0; rr >= 0 && k < n; k++) ((int64_t *)vals)[k] = raw8[k] != 0;
            }
        } else {
            rr = H5Dread(d, mem, H5S_ALL, H5S_ALL, H5P_DEFAULT, vals);
        }
        if (rr < 0) {
            drop_last(c->ml);
            added = false;
            goto skip;
        }
    }
    if (kind == SWMRBUS_META_UINT) it->u = vals;
    else if (kind == SWMRBUS_META_FLOAT) it->f = vals;
    else it->i = vals;
    goto done;
skip:
    H5Eclear2(H5E_DEFAULT);
    if (!added) c->ml->skipped++;
done:
    free(raw8);
    if (mt >= 0) H5Tclose(mt);
    if (s >= 0) H5Sclose(s);
    if (t >= 0) H5Tclose(t);
    swmrbus__h5share_close(d);
}

static herr_t on_link(hid_t g, const char *name, const H5L_info_t *info, void *user)
{
    /* per row, not meta: timestamp and the per-frame times (sent with each
     * frame); the countrate table goes out as a start array (sfile_nx.c) */
    static const char *const not_meta[] = {"timestamp", "start_time", "stop_time", "real_time",
                                           "countrate_correction_lookup_table"};
    (void)info;
    for (size_t i = 0; i < sizeof not_meta / sizeof not_meta[0]; i++)
        if (!strcmp(name, not_meta[i])) return 0;
    /* a group (<channel>_channel, detectorSpecific) holds start arrays */
    H5O_info_t oi;
    if (H5Oget_info_by_name2(g, name, &oi, H5O_INFO_BASIC, H5P_DEFAULT) >= 0 &&
        oi.type == H5O_TYPE_GROUP)
        return 0;
    H5Eclear2(H5E_DEFAULT);
    read_item(user, g, name, name);
    return 0;
}

/* A string attribute name of obj as the meta item key (an NXmx file's
 * /entry@user_data). */
static void read_str_attr(meta_ctx *c, hid_t obj, const char *name, const char *key)
{
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID;
    void *vals;
    swmrbus_meta_item *it;
    if (H5Aexists(obj, name) <= 0 || (a = H5Aopen(obj, name, H5P_DEFAULT)) < 0 ||
        (t = H5Aget_type(a)) < 0 || H5Tget_class(t) != H5T_STRING ||
        H5Tis_variable_str(t) != 0)
        goto out;
    size_t n = H5Tget_size(t);
    if (n == 0 || n >= c->max_bytes || !(it = add_item(c, key, n + 1, &vals))) goto out;
    if (H5Aread(a, t, vals) < 0) {
        drop_last(c->ml);
        goto out;
    }
    while (n > 0 && ((char *)vals)[n - 1] == '\0') n--;
    ((char *)vals)[n] = '\0';
    it->kind = SWMRBUS_META_STR;
    it->count = 1;
    it->s.ptr = vals;
    it->s.len = n;
out:
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    H5Eclear2(H5E_DEFAULT);
}

/* An NXmx file (/entry/definition, sink/writer_nxmx.c): the fields that
 * writer moved out of the detector group go back under their meta names,
 * so that a sink taking the start writes the same NXmx file. */
static void read_nxmx(meta_ctx *c, hid_t file)
{
    hid_t entry = H5Gopen2(file, "/entry", H5P_DEFAULT);
    if (entry < 0 || H5Lexists(entry, "definition", H5P_DEFAULT) <= 0) goto out;
    read_item(c, entry, "definition", "definition");
    if (H5Lexists(entry, "start_time", H5P_DEFAULT) > 0)
        read_item(c, entry, "start_time", "arm_date");
    read_str_attr(c, entry, "user_data", "user_data");
    if (H5Lexists(file, "/entry/instrument/beam", H5P_DEFAULT) > 0) {
        hid_t beam = H5Gopen2(file, "/entry/instrument/beam", H5P_DEFAULT);
        for (int k = 0; k < 2 && beam >= 0; k++) {
            const char *n = k ? "incident_energy" : "incident_wavelength";
            if (H5Lexists(beam, n, H5P_DEFAULT) > 0) read_item(c, beam, n, n);
        }
        if (beam >= 0) H5Gclose(beam);
    }
out:
    if (entry >= 0) H5Gclose(entry);
    H5Eclear2(H5E_DEFAULT);
}

swmrbus_err swmrbus__sfile_meta_read(hid_t file, size_t max_bytes, swmrbus__meta_list *ml,
                                     char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_OK;
    hid_t g = H5I_INVALID_HID;
    memset(ml, 0, sizeof *ml);
    if (H5Lexists(file, "/entry", H5P_DEFAULT) <= 0 ||
        H5Lexists(file, "/entry/instrument", H5P_DEFAULT) <= 0 ||
        H5Lexists(file, DETECTOR, H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return SWMRBUS_OK;
    }
    if ((g = H5Gopen2(file, DETECTOR, H5P_DEFAULT)) < 0) {
        swmrbus__h5_err(err, errlen, "open " DETECTOR);
        return SWMRBUS_EIO;
    }
    meta_ctx c = {ml, max_bytes, SWMRBUS_OK, err, errlen};
    hsize_t idx = 0;
    if (H5Literate(g, H5_INDEX_NAME, H5_ITER_INC, &idx, on_link, &c) < 0) {
        swmrbus__h5_err(err, errlen, "list " DETECTOR);
        rc = SWMRBUS_EIO;
    }
    if (rc == SWMRBUS_OK) read_nxmx(&c, file);
    H5Gclose(g);
    if (rc != SWMRBUS_OK) swmrbus__meta_list_free(ml);
    return rc;
}

void swmrbus__meta_list_free(swmrbus__meta_list *ml)
{
    for (size_t i = 0; i < ml->n; i++) free(ml->blocks[i]);
    free(ml->blocks);
    free(ml->items);
    memset(ml, 0, sizeof *ml);
}

/* ---- the named datasets' list -------------------------------------------- */

void swmrbus__sfile_names_free(char **names, size_t n)
{
    for (size_t k = 0; names && k < n; k++) free(names[k]);
    free(names);
}

/* Reads what (an attribute of obj when is_attr, else the dataset obj): a 1-D
 * list of 1 to max variable-length strings, each accepted by ok, into
 * *names (strdup'ed, *n of them; free with swmrbus__sfile_names_free). */
static swmrbus_err read_str_list(hid_t obj, bool is_attr, const char *what, hssize_t max,
                                 bool (*ok)(const char *s), const char *bad,
                                 char ***names, size_t *n, char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EINVAL;
    hid_t t = H5I_INVALID_HID, sp = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    char **raw = NULL, **out = NULL;
    hssize_t count = 0;
    if ((t = is_attr ? H5Aget_type(obj) : H5Dget_type(obj)) < 0 ||
        H5Tget_class(t) != H5T_STRING || H5Tis_variable_str(t) <= 0 ||
        (sp = is_attr ? H5Aget_space(obj) : H5Dget_space(obj)) < 0 ||
        H5Sget_simple_extent_ndims(sp) != 1 ||
        (count = H5Sget_simple_extent_npoints(sp)) < 1 || count > max) {
        swmrbus__errf(err, errlen, "%s: not a list of 1 to %lld strings", what, (long long)max);
        goto out;
    }
    raw = calloc((size_t)count, sizeof *raw);
    out = calloc((size_t)count, sizeof *out);
    if (!raw || !out || (mt = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(mt, H5T_VARIABLE) < 0 ||
        H5Tset_cset(mt, H5Tget_cset(t)) < 0 ||
        (is_attr ? H5Aread(obj, mt, raw) : H5Dread(obj, mt, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw)) <
            0) {
        swmrbus__errf(err, errlen, "%s: cannot be read", what);
        goto out;
    }
    for (hssize_t k = 0; k < count; k++) {
        if (!raw[k] || !ok(raw[k]) || !(out[k] = strdup(raw[k]))) {
            swmrbus__errf(err, errlen, "%s[%lld]: %s", what, (long long)k, bad);
            goto out;
        }
    }
    *names = out;
    *n = (size_t)count;
    out = NULL;
    rc = SWMRBUS_OK;
out:
    if (raw && mt >= 0 && sp >= 0) (void)H5Dvlen_reclaim(mt, sp, H5P_DEFAULT, raw);
    free(raw);
    swmrbus__sfile_names_free(out, (size_t)(count > 0 ? count : 0));
    H5Eclear2(H5E_DEFAULT);
    if (mt >= 0) H5Tclose(mt);
    if (sp >= 0) H5Sclose(sp);
    if (t >= 0) H5Tclose(t);
    return rc;
}

static bool usable_path(const char *s)
{
    swmrbus_str p = {s, strlen(s)};
    return swmrbus_path_ok(p);
}

swmrbus_err swmrbus__sfile_names_read(hid_t file, char ***names, size_t *n, char *err,
                                      size_t errlen)
{
    *names = NULL;
    *n = 0;
    if (H5Aexists_by_name(file, "/entry/data", "datasets", H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return SWMRBUS_OK;
    }
    hid_t a = H5Aopen_by_name(file, "/entry/data", "datasets", H5P_DEFAULT, H5P_DEFAULT);
    swmrbus_err rc = a < 0 ? (swmrbus__errf(err, errlen, "/entry/data@datasets: not a list of "
                                            "1 to %d strings", SWMRBUS_MAX_DATASETS),
                              SWMRBUS_EINVAL)
                           : read_str_list(a, true, "/entry/data@datasets",
                                           SWMRBUS_MAX_DATASETS, usable_path,
                                           "not a usable path", names, n, err, errlen);
    if (a >= 0) H5Aclose(a);
    H5Eclear2(H5E_DEFAULT);
    return rc;
}

/* ---- a multi-channel series' channel names (README "Channels") ------------ */

static bool channel_name(const char *s)
{
    size_t len = strlen(s);
    return len > 0 && len <= SWMRBUS_CHANNEL_NAME_MAX && !strchr(s, '/');
}

swmrbus_err swmrbus__sfile_channels_read(hid_t file, char ***names, size_t *n, char *err,
                                         size_t errlen)
{
    *names = NULL;
    *n = 0;
    if (H5Lexists(file, "/entry/data/channel", H5P_DEFAULT) <= 0) {
        H5Eclear2(H5E_DEFAULT);
        return SWMRBUS_OK;
    }
    hid_t d = swmrbus__h5share_open(file, "/entry/data/channel");
    swmrbus_err rc = d < 0 ? (swmrbus__errf(err, errlen, "/entry/data/channel: not a list of "
                                            "1 to %d strings", SWMRBUS_MAX_CHANNELS),
                              SWMRBUS_EINVAL)
                           : read_str_list(d, false, "/entry/data/channel",
                                           SWMRBUS_MAX_CHANNELS, channel_name,
                                           "not a channel name", names, n, err, errlen);
    swmrbus__h5share_close(d);
    H5Eclear2(H5E_DEFAULT);
    return rc;
}
