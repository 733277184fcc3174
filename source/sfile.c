/* source/sfile.c — one series' file through a SWMR reader: open, layout,
 * refresh (and reopen after a failed refresh), rows as stored chunks or
 * decoded, timestamps in blocks, and the series' attributes. Meta read-back
 * is in sfile_meta.c. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <hdf5.h>

#include "sfile.h"
#include "h5share.h"
#include "sfile_priv.h"

#define FILTER_BSLZ4 32008
#define FILTER_LZ4 32004
/* SWMR metadata read attempts. Measured on 1.10.8: between attempts HDF5
 * sleeps 1 ns, 2 ns, 4 ns, ... (doubling), so N attempts wait ~2^(N-1) ns
 * in all before a read fails: 30 give a torn read ~0.5 s of retries per
 * metadata object (a tear lasts microseconds), while HDF5's SWMR default of
 * 100 would block for centuries on a file that is really damaged. */
#define READ_ATTEMPTS 30
#define TS_BLOCK 1024        /* timestamps read at once (the sink's ts chunk) */
#define TS_PATH "/entry/instrument/detector/timestamp"

struct swmrbus__sfile {
    char dspath[SWMRBUS_PATH_MAX + 2]; /* the dataset it reads ("/entry/data/data") */
    bool named;              /* one of the series' named datasets: rank 1..9 */
    uint32_t n_chan;         /* README "Channels": the n_chan channels of a
                              * (N, n_chan, y, x) dataset, each a part of the row,
                              * read through this one handle (a second handle on
                              * the same dataset would see a stale chunk index
                              * after the other's H5Drefresh: h5share.h); 0: none */
    /* Opened by swmrbus__sfile_open_all on a file with named datasets: the
     * others (kids[k] is dataset k + 1), read along with this one, row by
     * row; part_sizes: each dataset's bytes of the row last sized. */
    struct swmrbus__sfile **kids;
    size_t n_kids;
    size_t *part_sizes;
    hid_t file, data, ts;
    /* The file is the writer's own (a sink in this process: HDF5 hands a
     * second H5Fopen the writer's file, DESIGN "One process, two
     * components"): its objects are always current, and H5Drefresh on them
     * evicts metadata the writer's (and other readers') handles still use —
     * seen as another channel's chunk read back under load. Never refreshed. */
    bool own_writer;
    hid_t memtype;           /* decoded rows: the dtype, little-endian */
    int rank;                /* 2..4 */
    bool gap_check;          /* a row's first chunk tells whether it is stored */
    swmrbus__sfile_info info;
    uint64_t rows;           /* data extent at the last open/refresh */
    uint64_t ts_rows;        /* timestamp extent at the last open/refresh */
    uint64_t ts_lo, ts_n;    /* cached block: rows [ts_lo, ts_lo + ts_n) */
    uint64_t ts_buf[TS_BLOCK];
    uint8_t *scratch;        /* direct reads land here first (max_chunk bytes) */
    swmrbus__stimes *nx;     /* per-frame times (sfile_nx.c), opened on first use */
};

/* ---- the layout ---------------------------------------------------------- */

swmrbus_dtype swmrbus__sfile_dtype_of(hid_t t, hid_t *le)
{
    H5T_class_t cls = H5Tget_class(t);
    size_t size = H5Tget_size(t);
    *le = H5I_INVALID_HID;
    if (cls == H5T_INTEGER) {
        bool sgn = H5Tget_sign(t) == H5T_SGN_2;
        switch (size) {
        case 1: *le = sgn ? H5T_STD_I8LE : H5T_STD_U8LE;
            return sgn ? SWMRBUS_DTYPE_INT8 : SWMRBUS_DTYPE_UINT8;
        case 2: *le = sgn ? H5T_STD_I16LE : H5T_STD_U16LE;
            return sgn ? SWMRBUS_DTYPE_INT16 : SWMRBUS_DTYPE_UINT16;
        case 4: *le = sgn ? H5T_STD_I32LE : H5T_STD_U32LE;
            return sgn ? SWMRBUS_DTYPE_INT32 : SWMRBUS_DTYPE_UINT32;
        case 8: *le = sgn ? H5T_STD_I64LE : H5T_STD_U64LE;
            return sgn ? SWMRBUS_DTYPE_INT64 : SWMRBUS_DTYPE_UINT64;
        default: break;
        }
    } else if (cls == H5T_FLOAT) {
        if (size == 4 && H5Tequal(t, H5T_IEEE_F32LE) > 0) {
            *le = H5T_IEEE_F32LE;
            return SWMRBUS_DTYPE_FLOAT32;
        }
        if (size == 8 && H5Tequal(t, H5T_IEEE_F64LE) > 0) {
            *le = H5T_IEEE_F64LE;
            return SWMRBUS_DTYPE_FLOAT64;
        }
        if (size == 4 && H5Tequal(t, H5T_IEEE_F32BE) > 0) {
            *le = H5T_IEEE_F32LE;
            return SWMRBUS_DTYPE_FLOAT32;
        }
        if (size == 8 && H5Tequal(t, H5T_IEEE_F64BE) > 0) {
            *le = H5T_IEEE_F64LE;
            return SWMRBUS_DTYPE_FLOAT64;
        }
    }
    return SWMRBUS_DTYPE_NONE;
}

/* Largest chunk a filter may store for a frame of S raw bytes: the design's
 * bound with the smallest block (itemsize * 8 bytes), plus the 12-byte
 * header. The exact check is swmrbus_payload_check, before sending. */
static uint64_t chunk_bound(uint64_t s, size_t item)
{
    uint64_t b = item * 8;
    uint64_t blocks = s / b + 1;
    return blocks * (4 + b + b / 255 + 16) + 8 * item + 12;
}

/* Reads the layout of the data dataset into f. EINVAL when it cannot be
 * served. */
static swmrbus_err read_layout(swmrbus__sfile *f, const swmrbus_limits *lim, char *err,
                               size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EINVAL;
    hid_t space = H5I_INVALID_HID, type = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    hsize_t dims[SWMRBUS_MAX_DATASET_DIMS + 1], cdims[SWMRBUS_MAX_DATASET_DIMS + 1];
    int rank;

    if ((space = H5Dget_space(f->data)) < 0 || (type = H5Dget_type(f->data)) < 0 ||
        (dcpl = H5Dget_create_plist(f->data)) < 0) {
        swmrbus__h5_err(err, errlen, "read the layout of " SWMRBUS_DATASET_PATH);
        rc = SWMRBUS_EIO;
        goto out;
    }
    rank = H5Sget_simple_extent_ndims(space);
    int max_rank = f->named ? SWMRBUS_MAX_DATASET_DIMS + 1 : SWMRBUS_MAX_DIMS + 1;
    int ax = f->n_chan ? 2 : 1; /* the first frame axis (after row and channel) */
    if (f->n_chan && rank != 4) {
        swmrbus__errf(err, errlen, "%s of %u channels has rank %d (4 needed)", f->dspath,
                      f->n_chan, rank);
        goto out;
    }
    if (rank < (f->named ? 1 : 2) || rank > max_rank) {
        swmrbus__errf(err, errlen, "%s has rank %d (frames need %d..%d)", f->dspath, rank,
                      f->named ? 1 : 2, max_rank);
        goto out;
    }
    if (H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        swmrbus__h5_err(err, errlen, "extent of " SWMRBUS_DATASET_PATH);
        rc = SWMRBUS_EIO;
        goto out;
    }
    f->rank = rank;
    f->rows = dims[0];
    if (f->n_chan && dims[1] != f->n_chan) {
        swmrbus__errf(err, errlen, "%s has %llu channels, /entry/data/channel names %u",
                      f->dspath, (unsigned long long)dims[1], f->n_chan);
        goto out;
    }
    swmrbus_format *fmt = &f->info.fmt;
    fmt->ndim = (uint32_t)(rank - ax);
    for (int i = ax; i < rank; i++) {
        if (dims[i] == 0) {
            swmrbus__errf(err, errlen, SWMRBUS_DATASET_PATH " has an empty frame dimension");
            goto out;
        }
        fmt->shape[i - ax] = dims[i];
    }
    fmt->dtype = swmrbus__sfile_dtype_of(type, &f->memtype);
    if (fmt->dtype == SWMRBUS_DTYPE_NONE) {
        swmrbus__errf(err, errlen, SWMRBUS_DATASET_PATH " has an element type frames "
                         "cannot carry");
        goto out;
    }
    fmt->encoding = SWMRBUS_ENC_RAW;
    f->info.raw_bytes = swmrbus_format_raw_bytes(fmt);
    if (f->info.raw_bytes == 0 || f->info.raw_bytes > lim->max_frame_bytes ||
        f->info.raw_bytes > UINT32_MAX) {
        swmrbus__errf(err, errlen, "a frame of %s is %llu bytes (limits.max_frame_bytes "
                         "%llu)", SWMRBUS_DATASET_PATH, (unsigned long long)f->info.raw_bytes,
                         (unsigned long long)lim->max_frame_bytes);
        goto out;
    }

    /* Direct when a chunk is exactly one frame and the stored bytes mean
     * the same downstream: raw little-endian, or one bslz4 / lz4 filter. */
    bool one_frame = false;
    if (H5Pget_layout(dcpl) == H5D_CHUNKED && H5Pget_chunk(dcpl, rank, cdims) == rank) {
        one_frame = cdims[0] == 1 && (!f->n_chan || cdims[1] == 1);
        f->gap_check = one_frame;
        for (int i = ax; i < rank; i++) one_frame = one_frame && cdims[i] == dims[i];
    }
    int nf = H5Pget_nfilters(dcpl);
    bool little = H5Tget_order(type) == H5T_ORDER_LE || H5Tget_size(type) == 1;
    size_t item = swmrbus_dtype_size(fmt->dtype);
    if (one_frame && nf == 0 && little) {
        f->info.direct = true;
        f->info.max_chunk = f->info.raw_bytes;
    } else if (one_frame && nf == 1) {
        unsigned flags = 0, cd[8];
        size_t ncd = 8;
        char fname[64];
        H5Z_filter_t id = H5Pget_filter2(dcpl, 0, &flags, &ncd, cd, sizeof fname, fname, NULL);
        if (id == FILTER_BSLZ4 || id == FILTER_LZ4) {
            f->info.direct = true;
            fmt->encoding = id == FILTER_BSLZ4 ? SWMRBUS_ENC_BSLZ4 : SWMRBUS_ENC_LZ4;
            f->info.max_chunk = chunk_bound(f->info.raw_bytes, item);
        }
    }
    if (!f->info.direct) f->info.max_chunk = f->info.raw_bytes; /* decoded rows */
    rc = SWMRBUS_OK;
out:
    if (dcpl >= 0) H5Pclose(dcpl);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    return rc;
}

/* /entry/data@name (fixed or variable-length string) into out. */
static void read_name_attr(hid_t file, char *out, size_t cap)
{
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID, mt = H5I_INVALID_HID;
    out[0] = '\0';
    if (H5Aexists_by_name(file, "/entry/data", "name", H5P_DEFAULT) <= 0) goto out;
    if ((a = H5Aopen_by_name(file, "/entry/data", "name", H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (t = H5Aget_type(a)) < 0 || H5Tget_class(t) != H5T_STRING)
        goto out;
    if (H5Tis_variable_str(t) > 0) {
        char *s = NULL;
        /* the character set must match, or HDF5 refuses the conversion */
        if ((mt = H5Tcopy(H5T_C_S1)) < 0 || H5Tset_size(mt, H5T_VARIABLE) < 0 ||
            H5Tset_cset(mt, H5Tget_cset(t)) < 0 || H5Aread(a, mt, &s) < 0)
            goto out;
        if (s) {
            snprintf(out, cap, "%s", s);
            H5free_memory(s);
        }
    } else {
        size_t n = H5Tget_size(t);
        char buf[SWMRBUS_NAME_MAX + 1];
        if (n == 0 || n > SWMRBUS_NAME_MAX) goto out; /* longer than any name */
        if ((mt = H5Tcopy(t)) < 0 || H5Aread(a, mt, buf) < 0) goto out;
        buf[n] = '\0';
        snprintf(out, cap, "%s", buf); /* stops at the NUL padding */
    }
out:
    H5Eclear2(H5E_DEFAULT);
    if (mt >= 0) H5Tclose(mt);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
}

static uint64_t read_u64_attr(hid_t file, const char *obj, const char *name)
{
    uint64_t v = 0;
    hid_t a = H5I_INVALID_HID, t = H5I_INVALID_HID;
    if (H5Aexists_by_name(file, obj, name, H5P_DEFAULT) <= 0) goto out;
    if ((a = H5Aopen_by_name(file, obj, name, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        (t = H5Aget_type(a)) < 0 || H5Tget_class(t) != H5T_INTEGER ||
        H5Aread(a, H5T_NATIVE_UINT64, &v) < 0)
        v = 0;
out:
    H5Eclear2(H5E_DEFAULT);
    if (t >= 0) H5Tclose(t);
    if (a >= 0) H5Aclose(a);
    return v;
}

static uint64_t extent0(hid_t d)
{
    hsize_t dims[SWMRBUS_MAX_DATASET_DIMS + 1] = {0};
    hid_t s = H5Dget_space(d);
    if (s < 0) return 0;
    int rank = H5Sget_simple_extent_ndims(s);
    uint64_t r = 0;
    if (rank >= 1 && rank <= SWMRBUS_MAX_DATASET_DIMS + 1 && H5Sget_simple_extent_dims(s, dims, NULL) >= 0)
        r = dims[0];
    H5Sclose(s);
    return r;
}

static hid_t open_ts(hid_t file)
{
    hid_t d = H5I_INVALID_HID, t = H5I_INVALID_HID, s = H5I_INVALID_HID;
    if (H5Lexists(file, "/entry", H5P_DEFAULT) <= 0 ||
        H5Lexists(file, "/entry/instrument", H5P_DEFAULT) <= 0 ||
        H5Lexists(file, "/entry/instrument/detector", H5P_DEFAULT) <= 0 ||
        H5Lexists(file, TS_PATH, H5P_DEFAULT) <= 0)
        goto fail;
    if ((d = swmrbus__h5share_open(file, TS_PATH)) < 0 || (t = H5Dget_type(d)) < 0 ||
        H5Tget_class(t) != H5T_INTEGER || (s = H5Dget_space(d)) < 0 ||
        H5Sget_simple_extent_ndims(s) != 1)
        goto fail;
    H5Sclose(s);
    H5Tclose(t);
    return d;
fail:
    H5Eclear2(H5E_DEFAULT);
    if (s >= 0) H5Sclose(s);
    if (t >= 0) H5Tclose(t);
    swmrbus__h5share_close(d);
    return H5I_INVALID_HID;
}

/* Reads of the file stop updating its access time (O_NOATIME on the sec2
 * driver's descriptor, HDF5's own; in the writer's process the writer's).
 * Under relatime a read after a write updates it, and the writer writes
 * between any two reads of the source: profiled at 16 KiB frames, a tenth
 * of the source's time went to dirtying the inode from pread. Best effort:
 * not the file's owner (EPERM), another driver: nothing changes. */
static void no_atime(hid_t file)
{
    hid_t ap = H5Fget_access_plist(file);
    void *h = NULL;
    if (ap >= 0 && H5Pget_driver(ap) == H5FD_SEC2 &&
        H5Fget_vfd_handle(file, H5P_DEFAULT, &h) >= 0 && h) {
        int fd = *(int *)h, fl = fcntl(fd, F_GETFL);
        if (fl >= 0 && !(fl & O_NOATIME)) (void)fcntl(fd, F_SETFL, fl | O_NOATIME);
    }
    if (ap >= 0) H5Pclose(ap);
    H5Eclear2(H5E_DEFAULT);
}

/* Opens dataset dspath (named: one of a series' named datasets) of path. */
static swmrbus_err open_ds(const char *path, const char *dspath, bool named,
                           uint32_t n_chan, const swmrbus_limits *lim, swmrbus__sfile **out,
                           char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t fapl = H5I_INVALID_HID;
    swmrbus__sfile *f = NULL;

    swmrbus__h5_init();
    *out = NULL;
    if (!(f = calloc(1, sizeof *f))) {
        swmrbus__errf(err, errlen, "out of memory");
        return SWMRBUS_ENOMEM;
    }
    f->file = f->data = f->ts = H5I_INVALID_HID;
    snprintf(f->dspath, sizeof f->dspath, "%s", dspath);
    f->named = named;
    f->n_chan = n_chan;
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
        H5Pset_metadata_read_attempts(fapl, READ_ATTEMPTS) < 0) {
        swmrbus__h5_err(err, errlen, "file access properties");
        goto out;
    }
    /* Fails while the writer has not reached SWMR mode (the file is then
     * marked open for writing, or locked): the caller retries. */
    if ((f->file = H5Fopen(path, H5F_ACC_RDONLY | H5F_ACC_SWMR_READ, fapl)) < 0) {
        swmrbus__h5_err(err, errlen, "open %s (SWMR read)", path);
        goto out;
    }
    unsigned intent = 0;
    f->own_writer = H5Fget_intent(f->file, &intent) >= 0 && (intent & H5F_ACC_RDWR);
    if ((f->data = swmrbus__h5share_open(f->file, f->dspath)) < 0) {
        swmrbus__h5_err(err, errlen, "open %s in %s", f->dspath, path);
        goto out;
    }
    if ((rc = read_layout(f, lim, err, errlen))) goto out;
    no_atime(f->file);
    f->ts = open_ts(f->file);
    if (f->ts >= 0) f->ts_rows = extent0(f->ts);
    read_name_attr(f->file, f->info.name, sizeof f->info.name);
    f->info.frames_expected = read_u64_attr(f->file, "/entry/data", "frames_expected");
    rc = SWMRBUS_OK;
out:
    if (fapl >= 0) H5Pclose(fapl);
    if (rc != SWMRBUS_OK) swmrbus__sfile_close(&f);
    *out = f;
    return rc;
}

swmrbus_err swmrbus__sfile_open(const char *path, const swmrbus_limits *lim,
                                swmrbus__sfile **out, char *err, size_t errlen)
{
    return open_ds(path, SWMRBUS_DATASET_PATH, false, 0, lim, out, err, errlen);
}

/* A multi-channel series (README "Channels"): *out (open as named) is
 * replaced by channel 0 of /entry/data/data, its kids the other channels,
 * each read as a part of the row; info says the channels' names. */
static swmrbus_err open_channels(const char *path, char **names, size_t n,
                                 const swmrbus_limits *lim, swmrbus__sfile **out, char *err,
                                 size_t errlen)
{
    swmrbus_err rc;
    swmrbus__sfile_close(out);
    if ((rc = open_ds(path, SWMRBUS_DATASET_PATH, false, (uint32_t)n, lim, out, err, errlen)))
        return rc;
    swmrbus__sfile *f = *out;
    f->info.n_datasets = n;
    f->info.n_channels = n;
    for (size_t k = 0; k < n; k++)
        snprintf(f->info.channel[k], sizeof f->info.channel[k], "%s", names[k]);
    if (!(f->part_sizes = calloc(n, sizeof *f->part_sizes))) return SWMRBUS_ENOMEM;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus__sfile_open_all(const char *path, const swmrbus_limits *lim,
                                    swmrbus__sfile **out, char *err, size_t errlen)
{
    char **names = NULL;
    size_t n = 0;
    /* /entry/data/data may link to a named dataset of any rank: opened as
     * named first, held to the one-dataset rules when the file has no list. */
    swmrbus_err rc = open_ds(path, SWMRBUS_DATASET_PATH, true, 0, lim, out, err, errlen);
    if (rc != SWMRBUS_OK) return rc;
    rc = swmrbus__sfile_names_read((*out)->file, &names, &n, err, errlen);
    if (rc != SWMRBUS_OK) goto out;
    if (n == 0) { /* one unnamed dataset, of one or several channels */
        if ((rc = swmrbus__sfile_channels_read((*out)->file, &names, &n, err, errlen)))
            goto out;
        if (n >= 2) { /* README "Channels": a part a channel */
            rc = open_channels(path, names, n, lim, out, err, errlen);
            goto out;
        }
        (*out)->named = false;
        if ((*out)->rank < 2 || (*out)->rank > SWMRBUS_MAX_DIMS + 1) {
            swmrbus__errf(err, errlen, "%s has rank %d (frames need 2..%d)",
                          SWMRBUS_DATASET_PATH, (*out)->rank, SWMRBUS_MAX_DIMS + 1);
            rc = SWMRBUS_EINVAL;
        }
        goto out;
    }
    /* Named datasets: this sfile reads the first, its kids the others. */
    swmrbus__sfile_close(out);
    char p[SWMRBUS_PATH_MAX + 2];
    snprintf(p, sizeof p, "/%s", names[0]);
    if ((rc = open_ds(path, p, true, 0, lim, out, err, errlen))) goto out;
    swmrbus__sfile *f = *out;
    f->info.n_datasets = n;
    if (!(f->kids = calloc(n, sizeof *f->kids)) ||
        !(f->part_sizes = calloc(n, sizeof *f->part_sizes))) {
        rc = SWMRBUS_ENOMEM;
        goto out;
    }
    for (size_t k = 1; k < n; k++) {
        snprintf(p, sizeof p, "/%s", names[k]);
        if ((rc = open_ds(path, p, true, 0, lim, &f->kids[k - 1], err, errlen))) goto out;
        f->n_kids = k;
    }
out:
    if (rc != SWMRBUS_OK) swmrbus__sfile_close(out);
    swmrbus__sfile_names_free(names, n);
    return rc;
}

const swmrbus__sfile *swmrbus__sfile_part(const swmrbus__sfile *f, size_t k)
{
    if (k == 0 || (f->n_chan && k < f->n_chan)) return f; /* channels: one format */
    return k - 1 < f->n_kids ? f->kids[k - 1] : NULL;
}

const size_t *swmrbus__sfile_part_sizes(const swmrbus__sfile *f)
{
    return f->part_sizes;
}

const char *swmrbus__sfile_dspath(const swmrbus__sfile *f) { return f->dspath; }
swmrbus__stimes **swmrbus__sfile_nx(swmrbus__sfile *f) { return &f->nx; }
hid_t swmrbus__sfile_h5file(const swmrbus__sfile *f) { return f->file; }
bool swmrbus__sfile_own_writer(const swmrbus__sfile *f) { return f->own_writer; }

const swmrbus__sfile_info *swmrbus__sfile_get_info(const swmrbus__sfile *f)
{
    return &f->info;
}

uint64_t swmrbus__sfile_rows(const swmrbus__sfile *f) { return f ? f->rows : 0; }

/* After a failed refresh: an id HDF5 released is dropped and the dataset
 * opened again; a valid one is kept (h5share.h: no second id beside it). */
static hid_t reopen(hid_t file, hid_t old, const char *path)
{
    H5Eclear2(H5E_DEFAULT);
    if (old >= 0 && H5Iis_valid(old) > 0) return old;
    swmrbus__h5share_close(old);
    return swmrbus__h5share_open(file, path);
}

swmrbus_err swmrbus__sfile_refresh(swmrbus__sfile *f, uint64_t *rows, char *err,
                                   size_t errlen)
{
    swmrbus_err rc = SWMRBUS_OK;
    swmrbus__h5_init();
    if (f->data < 0 || (!f->own_writer && swmrbus__h5share_refresh(f->data) < 0)) {
        char first[512];
        swmrbus__h5_err(first, sizeof first, "refresh");
        f->data = reopen(f->file, f->data, f->dspath);
        if (f->data < 0) {
            swmrbus__h5_err(err, errlen, "%s; reopening %s failed too", first, f->dspath);
            rc = SWMRBUS_EIO;
            goto out;
        }
    }
    f->rows = extent0(f->data);
    if (f->ts >= 0 && !f->own_writer && swmrbus__h5share_refresh(f->ts) < 0) {
        f->ts = reopen(f->file, f->ts, TS_PATH);
        H5Eclear2(H5E_DEFAULT);
    }
    f->ts_rows = f->ts >= 0 ? extent0(f->ts) : 0;
    /* Named datasets grow together: the rows all of them show. */
    for (size_t k = 0; k < f->n_kids && rc == SWMRBUS_OK; k++) {
        uint64_t r = 0;
        rc = swmrbus__sfile_refresh(f->kids[k], &r, err, errlen);
        if (r < f->rows) f->rows = r;
    }
out:
    if (rows) *rows = f->rows;
    return rc;
}

static swmrbus_err one_row_size(swmrbus__sfile *f, uint64_t row, uint32_t chan, size_t *size,
                                bool *gap, char *err, size_t errlen)
{
    hsize_t off[SWMRBUS_MAX_DATASET_DIMS + 1] = {0};
    hsize_t n = 0;
    *gap = false;
    *size = 0;
    if (f->data < 0) {
        swmrbus__errf(err, errlen, "dataset not open");
        return SWMRBUS_EIO;
    }
    off[0] = row;
    if (f->n_chan) off[1] = chan;
    if (f->gap_check) {
        /* On 1.10.8 this fails ("chunk storage is not allocated") for a row
         * with no stored chunk: a gap, not an error. */
        if (H5Dget_chunk_storage_size(f->data, off, &n) < 0 || n == 0) {
            H5Eclear2(H5E_DEFAULT);
            *gap = true;
            return SWMRBUS_OK;
        }
    }
    if (!f->info.direct) {
        *size = (size_t)f->info.raw_bytes;
        return SWMRBUS_OK;
    }
    if (n > f->info.max_chunk) {
        swmrbus__errf(err, errlen, "row %llu: stored chunk of %llu bytes, more than a frame "
                         "may take (%llu)", (unsigned long long)row, (unsigned long long)n,
                         (unsigned long long)f->info.max_chunk);
        return SWMRBUS_EINVAL;
    }
    if (f->info.fmt.encoding == SWMRBUS_ENC_RAW && n != f->info.raw_bytes) {
        swmrbus__errf(err, errlen, "row %llu: raw chunk of %llu bytes, a frame has %llu",
                         (unsigned long long)row, (unsigned long long)n,
                         (unsigned long long)f->info.raw_bytes);
        return SWMRBUS_EINVAL;
    }
    *size = (size_t)n;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus__sfile_row_size(swmrbus__sfile *f, uint64_t row, size_t *size, bool *gap,
                                    char *err, size_t errlen)
{
    swmrbus_err rc = one_row_size(f, row, 0, size, gap, err, errlen);
    if (rc != SWMRBUS_OK || *gap || !f->part_sizes) return rc;
    /* Channels: the row is every channel's chunk, one after another. */
    f->part_sizes[0] = *size;
    for (uint32_t c = 1; c < f->n_chan; c++) {
        size_t n = 0;
        rc = one_row_size(f, row, c, &n, gap, err, errlen);
        if (rc != SWMRBUS_OK || *gap) return rc;
        if (n > SIZE_MAX - *size) return SWMRBUS_ELIMIT;
        f->part_sizes[c] = n;
        *size += n;
    }
    if (f->n_chan) return SWMRBUS_OK;
    /* Named datasets: the row is every dataset's part, one after another;
     * a gap in any (a row is written in all or none) is a gap. */
    f->part_sizes[0] = *size;
    for (size_t k = 0; k < f->n_kids; k++) {
        size_t n = 0;
        rc = one_row_size(f->kids[k], row, 0, &n, gap, err, errlen);
        if (rc != SWMRBUS_OK || *gap) return rc;
        if (n > SIZE_MAX - *size) return SWMRBUS_ELIMIT;
        f->part_sizes[k + 1] = n;
        *size += n;
    }
    return SWMRBUS_OK;
}

static swmrbus_err read_rows_chan(swmrbus__sfile *f, uint64_t first, uint64_t count,
                                  uint32_t chan, void *buf, size_t buflen, char *err,
                                  size_t errlen);

swmrbus_err swmrbus__sfile_read_rows(swmrbus__sfile *f, uint64_t first, uint64_t count,
                                     void *buf, size_t buflen, char *err, size_t errlen)
{
    return read_rows_chan(f, first, count, 0, buf, buflen, err, errlen);
}

static swmrbus_err read_rows_chan(swmrbus__sfile *f, uint64_t first, uint64_t count,
                                  uint32_t chan, void *buf, size_t buflen, char *err,
                                  size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    hsize_t start[SWMRBUS_MAX_DATASET_DIMS + 1] = {0}, cnt[SWMRBUS_MAX_DATASET_DIMS + 1];
    swmrbus__h5_init();
    if (count == 0) return SWMRBUS_OK;
    if (count > SIZE_MAX / f->info.raw_bytes || buflen < count * f->info.raw_bytes) {
        swmrbus__errf(err, errlen, "buffer of %zu bytes too small for %llu rows", buflen,
                         (unsigned long long)count);
        return SWMRBUS_EINVAL;
    }
    if (first >= f->rows || count > f->rows - first) {
        swmrbus__errf(err, errlen, "rows [%llu, %llu) beyond the %llu visible",
                         (unsigned long long)first, (unsigned long long)(first + count),
                         (unsigned long long)f->rows);
        return SWMRBUS_ELIMIT;
    }
    start[0] = first;
    cnt[0] = count;
    int ax = 1;
    if (f->n_chan) { /* one channel of the rows */
        start[1] = chan;
        cnt[1] = 1;
        ax = 2;
    }
    for (int i = ax; i < f->rank; i++) cnt[i] = f->info.fmt.shape[i - ax];
    if ((fs = H5Dget_space(f->data)) < 0 ||
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, cnt, NULL) < 0 ||
        (ms = H5Screate_simple(f->rank, cnt, NULL)) < 0 ||
        H5Dread(f->data, f->memtype, ms, fs, H5P_DEFAULT, buf) < 0) {
        swmrbus__h5_err(err, errlen, "read rows [%llu, %llu)", (unsigned long long)first,
                            (unsigned long long)(first + count));
        goto out;
    }
    rc = SWMRBUS_OK;
out:
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    return rc;
}

/* Reads the chunk at off (row's) into buf, whose room was checked against
 * the chunk's size asked right before: then asks the size again (a chunk
 * rewritten meanwhile is read again, EIO) and refuses a chunk stored with
 * its filter skipped (EINVAL). */
static swmrbus_err read_chunk_checked(swmrbus__sfile *f, const hsize_t *off, uint64_t row,
                                      void *buf, size_t size, char *err, size_t errlen)
{
    uint32_t mask = 0;
    hsize_t n = 0;
    if (H5Dread_chunk(f->data, H5P_DEFAULT, off, &mask, buf) < 0) {
        swmrbus__h5_err(err, errlen, "read chunk of row %llu", (unsigned long long)row);
        return SWMRBUS_EIO;
    }
    if (H5Dget_chunk_storage_size(f->data, off, &n) < 0 || n != size) {
        H5Eclear2(H5E_DEFAULT);
        swmrbus__errf(err, errlen, "row %llu: stored chunk is now %llu bytes, %zu when its "
                      "size was read (rewritten meanwhile); read again",
                      (unsigned long long)row, (unsigned long long)n, size);
        return SWMRBUS_EIO;
    }
    if (mask != 0) {
        swmrbus__errf(err, errlen, "row %llu: chunk stored with its filter skipped "
                         "(mask 0x%x)", (unsigned long long)row, mask);
        return SWMRBUS_EINVAL;
    }
    return SWMRBUS_OK;
}

static swmrbus_err one_read_row(swmrbus__sfile *f, uint64_t row, uint32_t chan, void *buf,
                                size_t size, char *err, size_t errlen);

swmrbus_err swmrbus__sfile_read_row(swmrbus__sfile *f, uint64_t row, void *buf, size_t size,
                                    char *err, size_t errlen)
{
    if (!f->part_sizes) return one_read_row(f, row, 0, buf, size, err, errlen);
    /* Named datasets (or channels): the parts as swmrbus__sfile_row_size
     * sized them. */
    size_t off = 0;
    size_t parts = f->n_chan ? f->n_chan : f->n_kids + 1;
    for (size_t k = 0; k < parts; k++) {
        size_t n = f->part_sizes[k];
        if (n > size - off) {
            swmrbus__errf(err, errlen, "row %llu: %zu bytes asked, the parts take more",
                          (unsigned long long)row, size);
            return SWMRBUS_EINVAL;
        }
        swmrbus_err rc = f->n_chan ? one_read_row(f, row, (uint32_t)k, (char *)buf + off, n, err,
                                                  errlen)
                                   : one_read_row(k ? f->kids[k - 1] : f, row, 0,
                                                  (char *)buf + off, n, err, errlen);
        if (rc != SWMRBUS_OK) return rc;
        off += n;
    }
    return SWMRBUS_OK;
}

static swmrbus_err one_read_row(swmrbus__sfile *f, uint64_t row, uint32_t chan, void *buf,
                                size_t size, char *err, size_t errlen)
{
    if (!f->info.direct) return read_rows_chan(f, row, 1, chan, buf, size, err, errlen);
    hsize_t off[SWMRBUS_MAX_DATASET_DIMS + 1] = {0};
    hsize_t n = 0;
    off[0] = row;
    if (f->n_chan) off[1] = chan;
    /* H5Dread_chunk copies as many bytes as the chunk index says at the
     * read, with no buffer size: a chunk rewritten bigger since
     * swmrbus__sfile_row_size (by another writer of the file) would
     * overflow buf. So it reads into a scratch buffer of max_chunk bytes,
     * the most the series' filter can store for a frame, asks the size
     * again, and copies out only when the chunk is still size bytes. */
    if (size == 0 || size > f->info.max_chunk) {
        swmrbus__errf(err, errlen, "row %llu: %zu bytes asked, a stored chunk takes 1 to %llu",
                      (unsigned long long)row, size, (unsigned long long)f->info.max_chunk);
        return SWMRBUS_EINVAL;
    }
    if (!f->scratch && !(f->scratch = malloc((size_t)f->info.max_chunk))) {
        swmrbus__errf(err, errlen, "out of memory for a %llu-byte chunk buffer",
                      (unsigned long long)f->info.max_chunk);
        return SWMRBUS_ENOMEM;
    }
    /* Asked again right before the read: the window in which a writer of
     * this process could store a chunk over max_chunk is two back-to-back
     * HDF5 calls (a writer in another process is only seen after a
     * refresh, which this thread does). */
    if (H5Dget_chunk_storage_size(f->data, off, &n) < 0 || n == 0 || n > f->info.max_chunk) {
        H5Eclear2(H5E_DEFAULT);
        swmrbus__errf(err, errlen, "row %llu: stored chunk is now %llu bytes (at most %llu); "
                      "read again", (unsigned long long)row, (unsigned long long)n,
                      (unsigned long long)f->info.max_chunk);
        return SWMRBUS_EIO;
    }
    swmrbus_err rc = read_chunk_checked(f, off, row, f->scratch, size, err, errlen);
    if (rc == SWMRBUS_OK) memcpy(buf, f->scratch, size);
    return rc;
}

bool swmrbus__sfile_can_read_direct(const swmrbus__sfile *f)
{
    return f->info.direct && !f->part_sizes && !f->n_chan && f->n_kids == 0;
}

swmrbus_err swmrbus__sfile_read_direct(swmrbus__sfile *f, uint64_t row, void *buf, size_t cap,
                                       size_t *size, bool *gap, char *err, size_t errlen)
{
    hsize_t off[SWMRBUS_MAX_DATASET_DIMS + 1] = {0};
    *size = 0;
    *gap = false;
    if (!swmrbus__sfile_can_read_direct(f) || cap < f->info.max_chunk) {
        swmrbus__errf(err, errlen, "row %llu: not a direct read (buffer of %zu bytes, a chunk "
                      "takes up to %llu)", (unsigned long long)row, cap,
                      (unsigned long long)f->info.max_chunk);
        return SWMRBUS_EINVAL;
    }
    /* The size asked right before the read: bounds what H5Dread_chunk
     * writes (it takes no buffer size) by max_chunk <= cap. */
    size_t want = 0;
    swmrbus_err rc = one_row_size(f, row, 0, &want, gap, err, errlen);
    if (rc != SWMRBUS_OK || *gap) return rc;
    off[0] = row;
    if ((rc = read_chunk_checked(f, off, row, buf, want, err, errlen)) == SWMRBUS_OK)
        *size = want;
    return rc;
}

swmrbus_err swmrbus__sfile_ts(swmrbus__sfile *f, uint64_t row, uint64_t limit, uint64_t *ts,
                              char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    *ts = 0;
    if (f->ts < 0) return SWMRBUS_OK;
    if (row >= f->ts_lo && row - f->ts_lo < f->ts_n) {
        *ts = f->ts_buf[row - f->ts_lo];
        return SWMRBUS_OK;
    }
    uint64_t end = limit < f->ts_rows ? limit : f->ts_rows;
    if (row >= end) return SWMRBUS_OK; /* not written yet: absent */
    hsize_t start = row, n = end - row < TS_BLOCK ? end - row : TS_BLOCK;
    if ((fs = H5Dget_space(f->ts)) < 0 ||
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, &start, NULL, &n, NULL) < 0 ||
        (ms = H5Screate_simple(1, &n, NULL)) < 0 ||
        H5Dread(f->ts, H5T_NATIVE_UINT64, ms, fs, H5P_DEFAULT, f->ts_buf) < 0) {
        swmrbus__h5_err(err, errlen, "read timestamps from row %llu",
                            (unsigned long long)row);
        f->ts_n = 0;
        goto out;
    }
    f->ts_lo = row;
    f->ts_n = n;
    *ts = f->ts_buf[0];
    rc = SWMRBUS_OK;
out:
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    return rc;
}

swmrbus_err swmrbus__sfile_meta(swmrbus__sfile *f, size_t max_bytes, swmrbus__meta_list *ml,
                                char *err, size_t errlen)
{
    return swmrbus__sfile_meta_read(f->file, max_bytes, ml, err, errlen);
}

void swmrbus__sfile_close(swmrbus__sfile **pf)
{
    swmrbus__sfile *f = pf ? *pf : NULL;
    if (!f) return;
    swmrbus__h5_init();
    swmrbus__stimes_free(&f->nx);
    swmrbus__h5share_close(f->ts);
    swmrbus__h5share_close(f->data);
    if (f->file >= 0) H5Fclose(f->file);
    H5Eclear2(H5E_DEFAULT);
    for (size_t k = 0; k < f->n_kids; k++) swmrbus__sfile_close(&f->kids[k]);
    free(f->kids);
    free(f->part_sizes);
    free(f->scratch);
    free(f);
    *pf = NULL;
}
