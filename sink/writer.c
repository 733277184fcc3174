/* sink/writer.c — one series' HDF5 file in SWMR mode: the layout, frames by
 * index (direct chunk write, or the filter pipeline for raw input that is to
 * be compressed), per-row timestamps, durable flushes, the room check, the
 * failure rule (the first failed write or flush is final), and recovery of
 * a crashed writer's file. Attributes and meta datasets: writer_meta.c. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <hdf5.h>

#include "swmrbus/clock.h"
#include "swmrbus/sink.h"
#include "writer.h"
#include "writer_priv.h"

#define FILTER_BSLZ4 32008
#define FILTER_LZ4 32004
#define TS_CHUNK 1024
#define ROOM_SLACK (64u * 1024u) /* HDF5 bookkeeping kept free besides a chunk */
#define ROOM_RECHECK_NS 20000000ull /* re-read limits and free space after 20 ms */

/* One per-row dataset: the series' unnamed /entry/data/data, or one of its
 * named datasets (start.datasets), all extended together, one row a frame. */
typedef struct wds {
    hid_t d;
    hid_t ftype;              /* element type (little-endian) */
    hid_t memspace;           /* one row, for H5Dwrite (not direct) */
    swmrbus_format fmt;
    swmrbus_encoding stored;  /* encoding of the stored chunks */
    bool direct;              /* payload bytes are the stored chunk */
    uint64_t raw_bytes;       /* one row, decoded */
    hsize_t chunk_rows;       /* rows per chunk: 1, or more for small rows */
    uint32_t n_chan, chan;    /* README "Channels": n_chan datasets share one HDF5
                               * dataset (N, n_chan, fmt...), this one channel chan;
                               * n_chan 0: none */
} wds;

#define SMALL_ROW 65536u      /* rows below this share chunks (named datasets) */

struct swmrbus__writer {
    hid_t file, ts;
    wds *ds;                  /* n_ds datasets; ds[0] is the unnamed one */
    size_t n_ds;
    bool named;               /* start.datasets */
    int dirfd;                /* the file's directory, for fstatvfs */
    int lockfd;               /* holds the "live writer" lock (-1: none) */

    uint64_t extent;          /* rows of the data dataset */
    uint64_t ts_extent;       /* rows of the timestamp dataset */
    uint8_t *rows;            /* bitmap of filled rows */
    size_t rows_cap;          /* bytes */
    uint64_t written, complete, bytes, unflushed;

    swmrbus__times *times;    /* start.times (writer_times.c), or NULL */
    swmrbus__ids *ids;        /* /entry/data/image_id (writer_axes.c), or NULL */
    hsize_t *p_idx;           /* pending timestamps (rows and values) */
    uint64_t *p_ts;
    size_t p_n, p_cap;

    /* The last room reading (syscalls are costly in VMs): frames may use
     * half of the headroom it found, for at most ROOM_RECHECK_NS. */
    uint64_t room_size;       /* file size at the reading */
    uint64_t room_headroom;   /* bytes the file could grow by then, past the slack */
    uint64_t room_ns;         /* monotonic time of the reading; 0 = none */

    swmrbus__flush_info durable;
    bool failed;              /* writes refused (ELIMIT, EIO) */
    bool broken;              /* an HDF5 write or flush failed: close shrinks */
};

/* ---- small helpers ---------------------------------------------------- */

hid_t swmrbus__writer_le_type(swmrbus_dtype t)
{
    switch (t) {
    case SWMRBUS_DTYPE_UINT8: return H5T_STD_U8LE;
    case SWMRBUS_DTYPE_UINT16: return H5T_STD_U16LE;
    case SWMRBUS_DTYPE_UINT32: return H5T_STD_U32LE;
    case SWMRBUS_DTYPE_UINT64: return H5T_STD_U64LE;
    case SWMRBUS_DTYPE_INT8: return H5T_STD_I8LE;
    case SWMRBUS_DTYPE_INT16: return H5T_STD_I16LE;
    case SWMRBUS_DTYPE_INT32: return H5T_STD_I32LE;
    case SWMRBUS_DTYPE_INT64: return H5T_STD_I64LE;
    case SWMRBUS_DTYPE_FLOAT32: return H5T_IEEE_F32LE;
    case SWMRBUS_DTYPE_FLOAT64: return H5T_IEEE_F64LE;
    case SWMRBUS_DTYPE_NONE: break;
    }
    return H5I_INVALID_HID;
}

static bool row_is_set(const swmrbus__writer *w, uint64_t i)
{
    return (i >> 3) < w->rows_cap && (w->rows[i >> 3] >> (i & 7)) & 1u;
}

/* Makes the bitmap hold row i (zeroed growth, doubling). */
static swmrbus_err rows_reserve(swmrbus__writer *w, uint64_t i, char *err, size_t errlen)
{
    uint64_t need = (i >> 3) + 1;
    if (need <= w->rows_cap) return SWMRBUS_OK;
    if (need > SIZE_MAX / 2) goto nomem;
    size_t cap = w->rows_cap ? w->rows_cap : 64;
    while (cap < need) cap *= 2;
    uint8_t *p = realloc(w->rows, cap);
    if (!p) goto nomem;
    memset(p + w->rows_cap, 0, cap - w->rows_cap);
    w->rows = p;
    w->rows_cap = cap;
    return SWMRBUS_OK;
nomem:
    swmrbus__errf(err, errlen, "row bitmap for frame %llu: out of memory",
                   (unsigned long long)i);
    return SWMRBUS_ENOMEM;
}

/* Room for n more pending timestamps. */
static swmrbus_err pending_reserve(swmrbus__writer *w, size_t n, char *err, size_t errlen)
{
    if (n <= w->p_cap - w->p_n) return SWMRBUS_OK;
    size_t cap = w->p_cap ? w->p_cap : 256;
    while (cap - w->p_n < n) {
        if (cap > SIZE_MAX / 2 / sizeof(uint64_t)) goto nomem;
        cap *= 2;
    }
    hsize_t *pi = realloc(w->p_idx, cap * sizeof *pi);
    if (!pi) goto nomem;
    w->p_idx = pi;
    uint64_t *pt = realloc(w->p_ts, cap * sizeof *pt);
    if (!pt) goto nomem;
    w->p_ts = pt;
    w->p_cap = cap;
    return SWMRBUS_OK;
nomem:
    swmrbus__errf(err, errlen, "pending timestamps: out of memory");
    return SWMRBUS_ENOMEM;
}

/* Bytes one stored chunk may take: the payload itself when written as is,
 * else the worst case of the filter: per block (bitshuffle's are 8 KiB,
 * here counted as 4 KiB to be safe) a 4-byte size and LZ4_COMPRESSBOUND
 * (B + B/255 + 16), plus the 12-byte header and 8 * itemsize. */
static uint64_t chunk_need(const wds *w, size_t len)
{
    if (w->direct) return len;
    return w->raw_bytes + w->raw_bytes / 255 + 20 * (w->raw_bytes / 4096 + 1) + 12 + 64;
}

/* ELIMIT when the file may not grow by need + ROOM_SLACK bytes: the smaller
 * of RLIMIT_FSIZE minus the file's size and the free space of its file
 * system. Checked before anything is written, so the file stays sound.
 * The file size is compared on every frame; RLIMIT_FSIZE and fstatvfs are
 * re-read when the growth since the last reading reaches half the headroom
 * it found, or after ROOM_RECHECK_NS (others may fill the disk too). */
static swmrbus_err room_check(swmrbus__writer *w, uint64_t need, char *err, size_t errlen)
{
    hsize_t size = 0;
    if (H5Fget_filesize(w->file, &size) < 0) {
        swmrbus__h5_err(err, errlen, "file size");
        return SWMRBUS_EIO;
    }
    uint64_t now = swmrbus_mono_ns();
    uint64_t grown = size > w->room_size ? size - w->room_size : 0;
    if (w->room_ns && now - w->room_ns < ROOM_RECHECK_NS &&
        grown + need <= w->room_headroom / 2)
        return SWMRBUS_OK;
    uint64_t room = UINT64_MAX;
    const char *by = "";
    struct rlimit rl;
    if (getrlimit(RLIMIT_FSIZE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY) {
        room = (uint64_t)rl.rlim_cur > size ? (uint64_t)rl.rlim_cur - size : 0;
        by = "RLIMIT_FSIZE";
    }
    struct statvfs sv;
    if (fstatvfs(w->dirfd, &sv) != 0) {
        swmrbus__errf(err, errlen, "fstatvfs: %s", strerror(errno));
        return SWMRBUS_EIO;
    }
    uint64_t frsize = sv.f_frsize ? sv.f_frsize : sv.f_bsize;
    uint64_t avail = (uint64_t)sv.f_bavail;
    uint64_t free_b = frsize && avail > UINT64_MAX / frsize ? UINT64_MAX : avail * frsize;
    if (free_b < room) {
        room = free_b;
        by = "free space";
    }
    if (room < need || room - need < ROOM_SLACK) {
        swmrbus__errf(err, errlen,
                       "no room for a chunk of %llu bytes + %u: file is %llu bytes, %s "
                       "leaves %llu",
                       (unsigned long long)need, ROOM_SLACK, (unsigned long long)size, by,
                       (unsigned long long)room);
        w->room_ns = 0;
        return SWMRBUS_ELIMIT;
    }
    w->room_size = size;
    w->room_headroom = room - ROOM_SLACK;
    w->room_ns = now;
    return SWMRBUS_OK;
}

/* The dataset's dims at rows rows: (rows, [n_chan,] fmt...); its rank. */
static int disk_dims(const wds *w, hsize_t rows, hsize_t *dims)
{
    int r = 0;
    dims[r++] = rows;
    if (w->n_chan) dims[r++] = w->n_chan;
    for (uint32_t i = 0; i < w->fmt.ndim; i++) dims[r++] = w->fmt.shape[i];
    return r;
}

static swmrbus_err set_extent(const wds *w, uint64_t rows)
{
    hsize_t dims[SWMRBUS_MAX_DATASET_DIMS + 2];
    (void)disk_dims(w, rows, dims);
    return H5Dset_extent(w->d, dims) < 0 ? SWMRBUS_EIO : SWMRBUS_OK;
}

/* ---- the live-writer lock ---------------------------------------------- */

/* HDF5 drops its own file lock in H5Fstart_swmr_write (so that readers can
 * open the file), which would let a recover (or h5clear) rewrite the
 * superblock under a live writer. So the writer holds an open-file-
 * description read lock on the file (fcntl, independent of HDF5's flock on
 * local file systems) until it closes; the kernel drops it if the process
 * dies. Best effort: a file system without OFD locks just has no guard. */
static int live_lock(const char *path)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) return -1;
    struct flock fl = {.l_type = F_RDLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    if (fcntl(fd, F_OFD_SETLK, &fl) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

/* True when a live writer holds the lock above. */
static bool live_writer(const char *path)
{
    int fd = open(path, O_RDWR | O_CLOEXEC);
    if (fd < 0) return false;
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    bool live = fcntl(fd, F_OFD_GETLK, &fl) == 0 && fl.l_type != F_UNLCK;
    close(fd);
    return live;
}

/* ---- create ------------------------------------------------------------ */

/* Gives the file just created its mode (o->mode, default 0644) whatever the
 * process umask: through the descriptor HDF5 created it with (O_EXCL: never
 * a symlink), so no path is resolved again. Before SWMR starts and before
 * `open` is published. */
static swmrbus_err set_mode(swmrbus__writer *w, const swmrbus__writer_opts *o, char *err,
                            size_t errlen)
{
    void *h = NULL;
    struct stat st;
    mode_t mode = (mode_t)(o->mode ? o->mode : 0644);
    if (H5Fget_vfd_handle(w->file, H5P_DEFAULT, &h) < 0 || !h) {
        swmrbus__h5_err(err, errlen, "file descriptor of %s", o->path);
        return SWMRBUS_EIO;
    }
    int fd = *(int *)h;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || fchmod(fd, mode) != 0) {
        swmrbus__errf(err, errlen, "set mode %04o on %s: %s", (unsigned)mode, o->path,
                      strerror(errno));
        return SWMRBUS_EIO;
    }
    return SWMRBUS_OK;
}

static hid_t make_group(hid_t parent, const char *name, const char *nx_class, char *err,
                        size_t errlen)
{
    hid_t g = H5Gcreate2(parent, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (g < 0) {
        swmrbus__h5_err(err, errlen, "create group %s", name);
        return H5I_INVALID_HID;
    }
    if (swmrbus__h5_attr_str(g, "NX_class", nx_class, strlen(nx_class), err, errlen)) {
        H5Gclose(g);
        return H5I_INVALID_HID;
    }
    return g;
}

/* Creates dataset name (a path, intermediate groups made) below g. */
static swmrbus_err create_data(wds *w, hid_t g, const char *name, char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID, dapl = H5I_INVALID_HID;
    hid_t lcpl = H5I_INVALID_HID;
    hsize_t dims[SWMRBUS_MAX_DATASET_DIMS + 2], maxd[SWMRBUS_MAX_DATASET_DIMS + 2];
    hsize_t chunk[SWMRBUS_MAX_DATASET_DIMS + 2];
    int rank = disk_dims(w, 0, dims);
    (void)disk_dims(w, H5S_UNLIMITED, maxd);
    (void)disk_dims(w, w->chunk_rows, chunk);
    if (w->n_chan) chunk[1] = 1; /* a chunk per channel (README "Channels") */

    if ((space = H5Screate_simple(rank, dims, maxd)) < 0) goto h5fail;
    if ((dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0) goto h5fail;
    if (H5Pset_chunk(dcpl, rank, chunk) < 0) goto h5fail;
    /* As h5py requests them (H5Z_FLAG_OPTIONAL); the plugins' set_local
     * expands the values, e.g. bslz4 (0, 2) -> (0, 3, 2, 0, 2). */
    if (w->stored == SWMRBUS_ENC_BSLZ4) {
        const unsigned cd[2] = {0, 2};
        if (H5Pset_filter(dcpl, FILTER_BSLZ4, H5Z_FLAG_OPTIONAL, 2, cd) < 0) goto h5fail;
    } else if (w->stored == SWMRBUS_ENC_LZ4) {
        const unsigned cd[1] = {0};
        if (H5Pset_filter(dcpl, FILTER_LZ4, H5Z_FLAG_OPTIONAL, 1, cd) < 0) goto h5fail;
    }
    /* No chunk cache: a row is written once, and a cached dirty chunk would
     * hide bytes from the room check until it is evicted. */
    /* (Rows sharing a chunk keep the default cache: a chunk fills over
     * several frames.) */
    if ((dapl = H5Pcreate(H5P_DATASET_ACCESS)) < 0) goto h5fail;
    if (w->chunk_rows == 1 &&
        H5Pset_chunk_cache(dapl, H5D_CHUNK_CACHE_NSLOTS_DEFAULT, 0, 1.0) < 0)
        goto h5fail;
    if ((lcpl = H5Pcreate(H5P_LINK_CREATE)) < 0 ||
        H5Pset_create_intermediate_group(lcpl, 1) < 0)
        goto h5fail;
    /* channels after the first: the same dataset, opened again (one handle
     * with more references fails H5Fstart_swmr_write, which re-registers the
     * open objects' ids); HDF5 shares the object under the handles, and the
     * writer never refreshes, so they see one chunk index */
    w->d = w->n_chan && w->chan ? H5Dopen2(g, name, dapl)
                                : H5Dcreate2(g, name, w->ftype, space, lcpl, dcpl, dapl);
    if (w->d < 0) goto h5fail;
    if (!w->direct) {
        hsize_t one = 1;
        int skip = w->n_chan ? 2 : 1; /* the row (and channel) axes */
        if ((w->memspace = rank > skip ? H5Screate_simple(rank - skip, dims + skip, NULL)
                                       : H5Screate_simple(1, &one, NULL)) < 0)
            goto h5fail;
    }
    rc = SWMRBUS_OK;
    goto out;
h5fail:
    swmrbus__h5_err(err, errlen, "create dataset %s", name);
out:
    if (lcpl >= 0) H5Pclose(lcpl);
    if (dapl >= 0) H5Pclose(dapl);
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    return rc;
}

static swmrbus_err create_ts(swmrbus__writer *w, hid_t g, char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t space = H5I_INVALID_HID, dcpl = H5I_INVALID_HID;
    hsize_t dims[1] = {0}, maxd[1] = {H5S_UNLIMITED}, chunk[1] = {TS_CHUNK};
    if ((space = H5Screate_simple(1, dims, maxd)) < 0) goto h5fail;
    if ((dcpl = H5Pcreate(H5P_DATASET_CREATE)) < 0) goto h5fail;
    if (H5Pset_chunk(dcpl, 1, chunk) < 0) goto h5fail;
    w->ts = H5Dcreate2(g, "timestamp", H5T_STD_U64LE, space, H5P_DEFAULT, dcpl, H5P_DEFAULT);
    if (w->ts < 0) goto h5fail;
    rc = SWMRBUS_OK;
    goto out;
h5fail:
    swmrbus__h5_err(err, errlen, "create /entry/instrument/detector/timestamp");
out:
    if (dcpl >= 0) H5Pclose(dcpl);
    if (space >= 0) H5Sclose(space);
    return rc;
}

/* The NeXus layout below the (new, empty) file. */
static swmrbus_err create_layout(swmrbus__writer *w, const swmrbus__writer_opts *o, char *err,
                                 size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t root = H5I_INVALID_HID, entry = H5I_INVALID_HID, data = H5I_INVALID_HID;
    hid_t inst = H5I_INVALID_HID, det = H5I_INVALID_HID;

    if ((root = H5Gopen2(w->file, "/", H5P_DEFAULT)) < 0) {
        swmrbus__h5_err(err, errlen, "open /");
        goto out;
    }
    if ((rc = swmrbus__h5_attr_str(root, "default", "entry", 5, err, errlen))) goto out;
    rc = SWMRBUS_EIO;
    if ((entry = make_group(w->file, "/entry", "NXentry", err, errlen)) < 0) goto out;
    if ((rc = swmrbus__h5_attr_str(entry, "default", "data", 4, err, errlen))) goto out;
    rc = SWMRBUS_EIO;
    if ((data = make_group(entry, "data", "NXdata", err, errlen)) < 0) goto out;
    if ((rc = swmrbus__h5_attr_str(data, "signal", "data", 4, err, errlen))) goto out;
    if (w->named && (rc = swmrbus__writer_named(w->file, data, o->datasets, o->statics, err,
                                                errlen)))
        goto out;
    if (o->name.len > 0 &&
        (rc = swmrbus__h5_attr_str(data, "name", o->name.ptr, o->name.len, err, errlen)))
        goto out;
    if (o->frames_expected > 0 &&
        (rc = swmrbus__h5_attr_u64(data, "frames_expected", o->frames_expected, err, errlen)))
        goto out;
    for (size_t k = 0; k < w->n_ds && !w->named; k++) /* one, or one a channel */
        if ((rc = create_data(&w->ds[k], data, "data", err, errlen))) goto out;
    if (w->ds[0].n_chan &&
        (rc = swmrbus__writer_channels(data, o->channels, o->n_channels, o->format.ndim, err,
                                       errlen)))
        goto out;
    for (size_t k = 0; k < w->n_ds && w->named; k++) {
        char path[SWMRBUS_PATH_MAX + 2];
        if ((rc = swmrbus__writer_ds_name(o->datasets, k, path, sizeof path, err, errlen)) ||
            (rc = create_data(&w->ds[k], w->file, path, err, errlen)))
            goto out;
    }
    /* NeXus readers find the first image-like dataset as /entry/data/data. */
    if (w->named && (rc = swmrbus__writer_default_link(w->file, o->datasets, err, errlen)))
        goto out;
    rc = SWMRBUS_EIO;
    if ((inst = make_group(entry, "instrument", "NXinstrument", err, errlen)) < 0) goto out;
    if ((det = make_group(inst, "detector", "NXdetector", err, errlen)) < 0) goto out;
    if ((rc = create_ts(w, det, err, errlen))) goto out;
    if (o->times && (rc = swmrbus__times_create(det, &w->times, err, errlen))) goto out;
    if ((rc = swmrbus__writer_arrays(det, o->arrays, o->array_parts, o->n_arrays, err, errlen)))
        goto out;
    rc = swmrbus__writer_meta(det, o->meta, err, errlen);
    if (rc == SWMRBUS_OK) rc = swmrbus__writer_nxmx(entry, inst, det, o->meta, err, errlen);
    /* Dectris's NXdata axes: image_id (a start with first_image_id), channel */
    uint64_t first_id = 0;
    bool ids = !w->named && swmrbus__ids_wanted(o->meta, &first_id);
    if (rc == SWMRBUS_OK && ids) rc = swmrbus__ids_create(data, first_id, &w->ids, err, errlen);
    if (rc == SWMRBUS_OK && !w->named)
        rc = swmrbus__writer_axes(data, ids, w->ds[0].n_chan != 0, ids && o->times,
                                  o->format.ndim + 1 + (w->ds[0].n_chan != 0), err, errlen);
out:
    if (det >= 0) H5Gclose(det);
    if (inst >= 0) H5Gclose(inst);
    if (data >= 0) H5Gclose(data);
    if (entry >= 0) H5Gclose(entry);
    if (root >= 0) H5Gclose(root);
    return rc;
}

static swmrbus_err check_opts(const swmrbus__writer_opts *o, char *err, size_t errlen)
{
    if (!o->path || o->path[0] != '/') {
        swmrbus__errf(err, errlen, "writer: path must be absolute");
        return SWMRBUS_EINVAL;
    }
    if (o->n_datasets > 0) return SWMRBUS_OK; /* checked per dataset in writer_create */
    if (swmrbus_format_raw_bytes(&o->format) == 0 ||
        swmrbus_format_raw_bytes(&o->format) > UINT32_MAX) {
        swmrbus__errf(err, errlen, "writer: bad frame format");
        return SWMRBUS_EINVAL;
    }
    switch (o->format.encoding) {
    case SWMRBUS_ENC_RAW:
        if (o->compression != SWMRBUS_ENC_NONE && o->compression != SWMRBUS_ENC_RAW &&
            o->compression != SWMRBUS_ENC_BSLZ4 && o->compression != SWMRBUS_ENC_LZ4) {
            swmrbus__errf(err, errlen, "writer: bad compression");
            return SWMRBUS_EINVAL;
        }
        return SWMRBUS_OK;
    case SWMRBUS_ENC_BSLZ4:
    case SWMRBUS_ENC_LZ4: return SWMRBUS_OK;
    case SWMRBUS_ENC_NONE: break;
    }
    swmrbus__errf(err, errlen, "writer: bad encoding");
    return SWMRBUS_EINVAL;
}

static swmrbus_err open_dir(const char *path, int *fd, char *err, size_t errlen)
{
    const char *slash = strrchr(path, '/');
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 2);
    if (!dir) {
        swmrbus__errf(err, errlen, "out of memory");
        return SWMRBUS_ENOMEM;
    }
    if (n == 0) n = 1; /* "/x.h5" */
    memcpy(dir, path, n);
    dir[n] = '\0';
    *fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    swmrbus_err rc = SWMRBUS_OK;
    if (*fd < 0) {
        swmrbus__errf(err, errlen, "open directory %s: %s", dir, strerror(errno));
        rc = SWMRBUS_EIO;
    }
    free(dir);
    return rc;
}

/* ---- create under a hidden name ---------------------------------------- */

/* A file appears under its own name only once SWMR writing has started:
 * until then its layout is half made and no reader or recover could use
 * it. So the sink creates `.NAME.PID.part` beside it and gives it its name
 * afterwards, never replacing a file that took the name meanwhile. A sink
 * killed in between leaves only the hidden part file (no frame was ever in
 * it); README "Crashes". */
static bool part_path(const char *path, char *out, size_t outlen)
{
    const char *slash = strrchr(path, '/');
    const char *base = slash ? slash + 1 : path;
    int n = snprintf(out, outlen, "%.*s.%s.%ld.part", (int)(base - path), path, base,
                     (long)getpid());
    return n > 0 && (size_t)n < outlen;
}

static swmrbus_err name_file(int dirfd, const char *part, const char *path, char *err,
                             size_t errlen)
{
    const char *pb = strrchr(part, '/'), *fb = strrchr(path, '/');
    pb = pb ? pb + 1 : part;
    fb = fb ? fb + 1 : path;
    if (renameat2(dirfd, pb, dirfd, fb, RENAME_NOREPLACE) == 0) return SWMRBUS_OK;
    /* A file system without RENAME_NOREPLACE: a hard link never replaces
     * either. */
    if ((errno == EINVAL || errno == ENOSYS) && linkat(dirfd, pb, dirfd, fb, 0) == 0) {
        (void)unlinkat(dirfd, pb, 0);
        return SWMRBUS_OK;
    }
    swmrbus__errf(err, errlen, "name %s: %s", path, strerror(errno));
    return SWMRBUS_EIO;
}

swmrbus_err swmrbus__writer_create(const swmrbus__writer_opts *o, swmrbus__writer **out,
                                   char *err, size_t errlen)
{
    swmrbus_err rc;
    hid_t fapl = H5I_INVALID_HID;
    bool created = false;
    char part[PATH_MAX];
    swmrbus__writer *w = NULL;

    swmrbus__h5_init();
    if (!o || !out) {
        swmrbus__errf(err, errlen, "writer: missing argument");
        return SWMRBUS_EINVAL;
    }
    *out = NULL;
    if ((rc = check_opts(o, err, errlen))) return rc;
    if (!(w = calloc(1, sizeof *w))) {
        swmrbus__errf(err, errlen, "out of memory");
        return SWMRBUS_ENOMEM;
    }
    w->file = w->ts = H5I_INVALID_HID;
    w->dirfd = w->lockfd = -1;
    w->named = o->n_datasets > 0;
    w->n_ds = w->named ? o->n_datasets : o->n_channels > 1 ? o->n_channels : 1;
    if (!(w->ds = calloc(w->n_ds, sizeof *w->ds))) {
        free(w);
        swmrbus__errf(err, errlen, "out of memory");
        return SWMRBUS_ENOMEM;
    }
    for (size_t k = 0; k < w->n_ds; k++) w->ds[k].d = w->ds[k].memspace = H5I_INVALID_HID;
    if (w->named) {
        if ((rc = swmrbus__writer_ds_formats(o->datasets, w->n_ds, &w->ds[0].fmt, sizeof(wds),
                                             err, errlen)))
            goto out;
    } else {
        for (size_t k = 0; k < w->n_ds; k++) {
            w->ds[k].fmt = o->format;
            w->ds[k].n_chan = w->n_ds > 1 ? (uint32_t)w->n_ds : 0;
            w->ds[k].chan = (uint32_t)k;
        }
    }
    for (size_t k = 0; k < w->n_ds; k++) {
        wds *d = &w->ds[k];
        d->raw_bytes = swmrbus_format_raw_bytes(&d->fmt);
        d->ftype = swmrbus__writer_le_type(d->fmt.dtype);
        d->chunk_rows = 1;
        if (d->raw_bytes == 0 || d->raw_bytes > UINT32_MAX || d->ftype < 0) {
            swmrbus__errf(err, errlen, "writer: bad format of dataset %zu", k);
            rc = SWMRBUS_EINVAL;
            goto out;
        }
        /* Small raw rows of named datasets share chunks (a chunk a row of
         * a scalar would cost more bookkeeping than data), written through
         * H5Dwrite, uncompressed. */
        if (w->named && d->fmt.encoding == SWMRBUS_ENC_RAW && d->raw_bytes < SMALL_ROW) {
            d->chunk_rows = SMALL_ROW / d->raw_bytes;
            if (d->chunk_rows > 1024) d->chunk_rows = 1024;
        }
        if (d->fmt.encoding == SWMRBUS_ENC_RAW) {
            d->stored = d->chunk_rows == 1 && (o->compression == SWMRBUS_ENC_BSLZ4 ||
                                               o->compression == SWMRBUS_ENC_LZ4)
                            ? o->compression
                            : SWMRBUS_ENC_RAW;
            d->direct = d->stored == SWMRBUS_ENC_RAW && d->chunk_rows == 1;
        } else {
            d->stored = d->fmt.encoding;
            d->direct = true;
        }
        if (d->stored != SWMRBUS_ENC_RAW) {
            H5Z_filter_t id = d->stored == SWMRBUS_ENC_BSLZ4 ? FILTER_BSLZ4 : FILTER_LZ4;
            htri_t avail = H5Zfilter_avail(id);
            if (avail <= 0) {
                if (avail < 0)
                    swmrbus__h5_err(err, errlen, "HDF5 filter %d", (int)id);
                else
                    swmrbus__errf(err, errlen,
                                  "HDF5 filter %d (%s) is not available: install its plugin",
                                  (int)id, id == FILTER_BSLZ4 ? "bitshuffle" : "lz4");
                rc = SWMRBUS_EIO;
                goto out;
            }
        }
    }
    if ((rc = open_dir(o->path, &w->dirfd, err, errlen))) goto out;

    rc = SWMRBUS_EIO;
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
        H5Pset_libver_bounds(fapl, H5F_LIBVER_LATEST, H5F_LIBVER_LATEST) < 0) {
        swmrbus__h5_err(err, errlen, "file access properties");
        goto out;
    }
    if (!part_path(o->path, part, sizeof part)) {
        swmrbus__errf(err, errlen, "path too long: %s", o->path);
        goto out;
    }
    /* H5F_ACC_EXCL: O_CREAT|O_EXCL, so an existing file is never touched. */
    if ((w->file = H5Fcreate(part, H5F_ACC_EXCL, H5P_DEFAULT, fapl)) < 0) {
        swmrbus__h5_err(err, errlen, "create %s", part);
        goto out;
    }
    created = true;
    if ((rc = set_mode(w, o, err, errlen))) goto out;
    if ((rc = create_layout(w, o, err, errlen))) goto out;
    if (H5Fstart_swmr_write(w->file) < 0) {
        swmrbus__h5_err(err, errlen, "start SWMR write on %s", part);
        rc = SWMRBUS_EIO;
        goto out;
    }
    if ((rc = name_file(w->dirfd, part, o->path, err, errlen))) goto out;
    created = false; /* it has its name now: a failure below keeps it */
    w->lockfd = live_lock(o->path);
    rc = SWMRBUS_OK;
out:
    if (fapl >= 0) H5Pclose(fapl);
    if (rc != SWMRBUS_OK && w) {
        for (size_t k = 0; k < w->n_ds; k++) {
            if (w->ds[k].memspace >= 0) H5Sclose(w->ds[k].memspace);
            if (w->ds[k].d >= 0) H5Dclose(w->ds[k].d);
        }
        if (w->ts >= 0) H5Dclose(w->ts);
        swmrbus__times_close(&w->times, NULL, 0);
        swmrbus__ids_close(&w->ids, NULL, 0);
        if (w->file >= 0) H5Fclose(w->file);
        /* A half-made file of ours is removed; a file we did not create
         * (H5Fcreate failed) is left alone. */
        if (created) unlink(part);
        if (w->dirfd >= 0) close(w->dirfd);
        free(w->ds);
        free(w);
        w = NULL;
    }
    *out = w;
    return rc;
}

/* ---- write --------------------------------------------------------------- */

static swmrbus_err write_filtered(wds *w, uint64_t index, const void *payload, char *err,
                                  size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t fs = H5I_INVALID_HID;
    hsize_t start[SWMRBUS_MAX_DATASET_DIMS + 2] = {0}, count[SWMRBUS_MAX_DATASET_DIMS + 2];
    (void)disk_dims(w, 1, count);
    start[0] = index;
    if (w->n_chan) {
        start[1] = w->chan;
        count[1] = 1;
    }
    if ((fs = H5Dget_space(w->d)) < 0 ||
        H5Sselect_hyperslab(fs, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
        H5Dwrite(w->d, w->ftype, w->memspace, fs, H5P_DEFAULT, payload) < 0) {
        swmrbus__h5_err(err, errlen, "write frame %llu", (unsigned long long)index);
        goto out;
    }
    rc = SWMRBUS_OK;
out:
    if (fs >= 0) H5Sclose(fs);
    return rc;
}

swmrbus_err swmrbus__writer_write(swmrbus__writer *w, uint64_t index, const void *payload,
                                  size_t len, uint64_t ts, bool *duplicate, char *err,
                                  size_t errlen)
{
    const swmrbus__part part = {payload, len};
    if (!payload && len > 0) {
        swmrbus__errf(err, errlen, "writer: missing argument");
        return SWMRBUS_EINVAL;
    }
    return swmrbus__writer_write_row(w, index, &part, 1, ts, duplicate, err, errlen);
}

/* The checks of one row that need no HDF5: each payload fits its dataset,
 * the index is in range. Sums what the room check needs and the bytes. */
static swmrbus_err row_check(const swmrbus__writer *w, uint64_t index,
                             const swmrbus__part *parts, uint64_t *need, uint64_t *len,
                             char *err, size_t errlen)
{
    for (size_t k = 0; k < w->n_ds; k++) {
        const wds *d = &w->ds[k];
        size_t pl = parts[k].len;
        if ((!parts[k].p && pl > 0) ||
            (d->fmt.encoding == SWMRBUS_ENC_RAW ? pl != d->raw_bytes
                                                : pl == 0 || pl > UINT32_MAX)) {
            swmrbus__errf(err, errlen,
                          "frame %llu: payload %zu of %zu bytes does not fit the format",
                          (unsigned long long)index, k, pl);
            return SWMRBUS_EINVAL;
        }
        *need += chunk_need(d, pl);
        *len += pl;
    }
    if (index >= (uint64_t)H5S_UNLIMITED - 1) {
        swmrbus__errf(err, errlen, "frame index %llu out of range", (unsigned long long)index);
        return SWMRBUS_EINVAL;
    }
    return SWMRBUS_OK;
}

/* Every dataset has the same extent: a row in all, or in none. Extends
 * them to rows when that is more; on failure the writer is broken. */
static swmrbus_err extend_to(swmrbus__writer *w, uint64_t rows, char *err, size_t errlen)
{
    if (rows <= w->extent) return SWMRBUS_OK;
    for (size_t k = 0; k < w->n_ds; k++) {
        if (set_extent(&w->ds[k], rows)) {
            swmrbus__h5_err(err, errlen, "extend dataset %zu to %llu rows", k,
                            (unsigned long long)rows);
            w->failed = true;
            w->broken = true;
            return SWMRBUS_EIO;
        }
    }
    w->extent = rows;
    return SWMRBUS_OK;
}

/* Writes row index (below the extent) of every dataset and notes it; on
 * failure the writer is broken. */
static swmrbus_err put_row(swmrbus__writer *w, uint64_t index, const swmrbus__part *parts,
                           uint64_t len, uint64_t ts, char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_OK;
    for (size_t k = 0; k < w->n_ds; k++) {
        wds *d = &w->ds[k];
        if (d->direct) {
            hsize_t off[SWMRBUS_MAX_DATASET_DIMS + 2] = {0};
            off[0] = index;
            if (d->n_chan) off[1] = d->chan; /* (row, channel, 0, 0) */
            if (H5Dwrite_chunk(d->d, H5P_DEFAULT, 0, off, parts[k].len, parts[k].p) < 0) {
                swmrbus__h5_err(err, errlen, "write frame %llu", (unsigned long long)index);
                rc = SWMRBUS_EIO;
                goto fail;
            }
        } else if ((rc = write_filtered(d, index, parts[k].p, err, errlen))) {
            goto fail;
        }
    }
    w->rows[index >> 3] = (uint8_t)(w->rows[index >> 3] | (1u << (index & 7)));
    w->written++;
    w->unflushed++;
    w->bytes += len;
    if (ts != 0) {
        w->p_idx[w->p_n] = index;
        w->p_ts[w->p_n] = ts;
        w->p_n++;
    }
    return SWMRBUS_OK;
fail:
    w->failed = true;
    w->broken = true;
    return rc;
}

static void advance_complete(swmrbus__writer *w)
{
    while (w->complete < w->extent && row_is_set(w, w->complete)) w->complete++;
}

swmrbus_err swmrbus__writer_write_row(swmrbus__writer *w, uint64_t index,
                                      const swmrbus__part *parts, size_t n_parts, uint64_t ts,
                                      bool *duplicate, char *err, size_t errlen)
{
    swmrbus_err rc;
    bool dup_dummy;
    if (!duplicate) duplicate = &dup_dummy;
    *duplicate = false;
    if (!w || !parts || n_parts != w->n_ds) {
        swmrbus__errf(err, errlen, "writer: missing argument or %zu parts for %zu datasets",
                      n_parts, w ? w->n_ds : 0);
        return SWMRBUS_EINVAL;
    }
    if (w->failed) {
        swmrbus__errf(err, errlen, "writer failed earlier: no more frames");
        return SWMRBUS_ESTATE;
    }
    swmrbus__h5_init();
    if (index < w->extent && row_is_set(w, index)) {
        *duplicate = true;
        return SWMRBUS_OK;
    }
    uint64_t need = 0, len = 0;
    if ((rc = row_check(w, index, parts, &need, &len, err, errlen))) return rc;
    /* Memory first: ENOMEM leaves the file and the writer as they were. */
    if ((rc = rows_reserve(w, index, err, errlen))) return rc;
    if (ts != 0 && (rc = pending_reserve(w, 1, err, errlen))) return rc;

    if ((rc = room_check(w, need, err, errlen))) {
        w->failed = true;
        if (rc == SWMRBUS_EIO) w->broken = true;
        return rc;
    }
    if ((rc = extend_to(w, index + 1, err, errlen))) return rc;
    if ((rc = put_row(w, index, parts, len, ts, err, errlen))) return rc;
    advance_complete(w);
    return SWMRBUS_OK;
}

swmrbus_err swmrbus__writer_write_rows(swmrbus__writer *w, swmrbus__row *rows, size_t n,
                                       size_t *done, char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_OK;
    uint64_t need = 0, top = 0;
    size_t i = 0, n_ts = 0;
    *done = 0;
    if (!w || (n && !rows)) {
        swmrbus__errf(err, errlen, "writer: missing argument");
        return SWMRBUS_EINVAL;
    }
    if (w->failed || n <= 1) goto one_by_one;
    swmrbus__h5_init();
    for (i = 0; i < n; i++) {
        uint64_t len = 0;
        rows[i].dup = false;
        if (!rows[i].parts ||
            row_check(w, rows[i].index, rows[i].parts, &need, &len, err, errlen) != SWMRBUS_OK)
            goto one_by_one; /* reports the bad row at its place */
        if (rows[i].index + 1 > top) top = rows[i].index + 1;
        n_ts += rows[i].ts != 0;
    }
    /* Memory first, then room for the lot (duplicates counted too: a
     * refusal only sends the lot the exact way). */
    if ((rc = rows_reserve(w, top - 1, err, errlen))) return rc;
    if ((rc = pending_reserve(w, n_ts, err, errlen))) return rc;
    rc = room_check(w, need, err, errlen);
    if (rc == SWMRBUS_ELIMIT) goto one_by_one;
    if (rc != SWMRBUS_OK) {
        w->failed = true;
        w->broken = true;
        return rc;
    }
    if ((rc = extend_to(w, top, err, errlen))) return rc;
    for (i = 0; i < n; i++) {
        swmrbus__row *r = &rows[i];
        if (row_is_set(w, r->index)) {
            r->dup = true;
        } else {
            uint64_t len = 0;
            for (size_t k = 0; k < w->n_ds; k++) len += r->parts[k].len;
            if ((rc = put_row(w, r->index, r->parts, len, r->ts, err, errlen))) break;
        }
        (*done)++;
    }
    advance_complete(w);
    return rc;
one_by_one:
    for (i = 0; i < n; i++) {
        rc = swmrbus__writer_write_row(w, rows[i].index, rows[i].parts, w->n_ds, rows[i].ts,
                                       &rows[i].dup, err, errlen);
        if (rc != SWMRBUS_OK) break;
        (*done)++;
    }
    return rc;
}

swmrbus_err swmrbus__writer_times_reserve(swmrbus__writer *w, size_t n, char *err,
                                          size_t errlen)
{
    if (!w->times || n == 0) return SWMRBUS_OK;
    swmrbus_err rc = swmrbus__times_reserve(w->times, n, err, errlen);
    if (rc != SWMRBUS_OK) w->failed = true;
    return rc;
}

swmrbus_err swmrbus__writer_times(swmrbus__writer *w, uint64_t index, const double t[3],
                                  char *err, size_t errlen)
{
    if (!w->times) return SWMRBUS_OK;
    swmrbus_err rc = swmrbus__times_add(w->times, index, t, err, errlen);
    if (rc != SWMRBUS_OK) w->failed = true;
    return rc;
}

/* ---- flush ------------------------------------------------------------- */

static swmrbus_err write_pending_ts(swmrbus__writer *w, char *err, size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t fs = H5I_INVALID_HID, ms = H5I_INVALID_HID;
    if (w->ts_extent != w->extent) {
        hsize_t dims[1] = {w->extent};
        if (H5Dset_extent(w->ts, dims) < 0) {
            swmrbus__h5_err(err, errlen, "extend timestamp to %llu rows",
                            (unsigned long long)w->extent);
            goto out;
        }
        w->ts_extent = w->extent;
    }
    if (w->p_n == 0) {
        rc = SWMRBUS_OK;
        goto out;
    }
    hsize_t n = w->p_n;
    bool run = true;
    for (size_t i = 1; i < w->p_n && run; i++) run = w->p_idx[i] == w->p_idx[0] + i;
    if ((fs = H5Dget_space(w->ts)) < 0 || (ms = H5Screate_simple(1, &n, NULL)) < 0) goto h5fail;
    if (run) {
        if (H5Sselect_hyperslab(fs, H5S_SELECT_SET, &w->p_idx[0], NULL, &n, NULL) < 0)
            goto h5fail;
    } else if (H5Sselect_elements(fs, H5S_SELECT_SET, w->p_n, w->p_idx) < 0) {
        goto h5fail;
    }
    if (H5Dwrite(w->ts, H5T_NATIVE_UINT64, ms, fs, H5P_DEFAULT, w->p_ts) < 0) goto h5fail;
    w->p_n = 0;
    rc = SWMRBUS_OK;
    goto out;
h5fail:
    swmrbus__h5_err(err, errlen, "write %zu timestamps", w->p_n);
out:
    if (ms >= 0) H5Sclose(ms);
    if (fs >= 0) H5Sclose(fs);
    return rc;
}

static swmrbus_err do_flush(swmrbus__writer *w, char *err, size_t errlen)
{
    swmrbus_err rc;
    if (w->unflushed == 0 && w->p_n == 0 && w->ts_extent == w->extent) return SWMRBUS_OK;
    if ((rc = write_pending_ts(w, err, errlen))) goto fail;
    if (w->times && (rc = swmrbus__times_flush(w->times, w->extent, err, errlen))) goto fail;
    if (w->ids && (rc = swmrbus__ids_flush(w->ids, w->extent, err, errlen))) goto fail;
    if (H5Fflush(w->file, H5F_SCOPE_GLOBAL) < 0) {
        swmrbus__h5_err(err, errlen, "flush");
        rc = SWMRBUS_EIO;
        goto fail;
    }
    w->durable.frames = w->extent;
    w->durable.written = w->written;
    w->durable.complete = w->complete;
    w->unflushed = 0;
    return SWMRBUS_OK;
fail:
    w->failed = true;
    w->broken = true;
    return rc;
}

swmrbus_err swmrbus__writer_flush(swmrbus__writer *w, swmrbus__flush_info *info, char *err,
                                  size_t errlen)
{
    swmrbus_err rc;
    if (!w) {
        swmrbus__errf(err, errlen, "writer: missing argument");
        return SWMRBUS_EINVAL;
    }
    if (w->failed) {
        swmrbus__errf(err, errlen, "writer failed earlier: no flush");
        rc = SWMRBUS_ESTATE;
    } else {
        swmrbus__h5_init();
        rc = do_flush(w, err, errlen);
    }
    if (info) *info = w->durable;
    return rc;
}

/* ---- accessors ----------------------------------------------------------- */

swmrbus__flush_info swmrbus__writer_durable(const swmrbus__writer *w)
{
    swmrbus__flush_info z = {0, 0, 0};
    return w ? w->durable : z;
}

uint64_t swmrbus__writer_complete(const swmrbus__writer *w)
{
    return w ? w->complete : 0;
}

uint64_t swmrbus__writer_unflushed(const swmrbus__writer *w)
{
    return w ? w->unflushed : 0;
}

bool swmrbus__writer_failed(const swmrbus__writer *w)
{
    return w ? w->failed : false;
}

uint64_t swmrbus__writer_bytes(const swmrbus__writer *w)
{
    return w ? w->bytes : 0;
}

/* ---- close --------------------------------------------------------------- */

swmrbus_err swmrbus__writer_close(swmrbus__writer **pw, swmrbus__flush_info *info, char *err,
                                  size_t errlen)
{
    swmrbus_err rc = SWMRBUS_OK;
    swmrbus__writer *w = pw ? *pw : NULL;
    if (!w) {
        if (info) *info = (swmrbus__flush_info){0, 0, 0};
        return SWMRBUS_OK;
    }
    swmrbus__h5_init();
    /* A writer stopped by the room check wrote nothing bad: its last rows
     * are flushed as usual (the room check kept 64 KiB for this). */
    if (!w->broken) rc = do_flush(w, err, errlen);
    if (w->broken) {
        /* The first failure was final: take the extents back to what the
         * last good flush published (errors ignored), close once. */
        for (size_t k = 0; k < w->n_ds && w->extent > w->durable.frames; k++)
            (void)set_extent(&w->ds[k], w->durable.frames);
        if (w->ts_extent > w->durable.frames) {
            hsize_t dims[1] = {w->durable.frames};
            (void)H5Dset_extent(w->ts, dims);
        }
        if (w->times) swmrbus__times_shrink(w->times, w->durable.frames);
        if (w->ids) swmrbus__ids_shrink(w->ids, w->durable.frames);
    }
    if (swmrbus__ids_close(&w->ids, err, errlen) != SWMRBUS_OK && !w->broken &&
        rc == SWMRBUS_OK)
        rc = SWMRBUS_EIO;
    if (swmrbus__times_close(&w->times, err, errlen) != SWMRBUS_OK && !w->broken &&
        rc == SWMRBUS_OK)
        rc = SWMRBUS_EIO;
    if (H5Dclose(w->ts) < 0 && rc == SWMRBUS_OK && !w->broken) {
        swmrbus__h5_err(err, errlen, "close timestamp");
        rc = SWMRBUS_EIO;
    }
    for (size_t k = 0; k < w->n_ds; k++) {
        if (w->ds[k].memspace >= 0) H5Sclose(w->ds[k].memspace);
        if (H5Dclose(w->ds[k].d) < 0 && rc == SWMRBUS_OK && !w->broken) {
            swmrbus__h5_err(err, errlen, "close dataset %zu", k);
            rc = SWMRBUS_EIO;
        }
    }
    /* Once, whatever it returns: after EFBIG it fails and the id must not
     * be touched again (H5dont_atexit keeps HDF5's atexit off it too). */
    if (H5Fclose(w->file) < 0 && rc == SWMRBUS_OK) {
        swmrbus__h5_err(err, errlen, "close file");
        rc = SWMRBUS_EIO;
    }
    if (info) *info = w->durable;
    if (w->lockfd >= 0) close(w->lockfd);
    close(w->dirfd);
    free(w->rows);
    free(w->ds);
    free(w->p_idx);
    free(w->p_ts);
    free(w);
    *pw = NULL;
    return rc;
}

/* ---- recover -------------------------------------------------------------- */

/* Private file-access properties of HDF5 1.10 (H5Fprivate.h), as h5clear
 * sets them: -s sets the first, --increment the other two. */
#define H5F_CLEAR_STATUS_FLAGS "clear_status_flags"
#define H5F_SKIP_EOF_CHECK "skip_eof_check"
#define H5F_NULL_FSM_ADDR "null_fsm_addr"

swmrbus_err swmrbus__writer_recover(const char *path, uint64_t *frames, char *err,
                                    size_t errlen)
{
    swmrbus_err rc = SWMRBUS_EIO;
    hid_t fapl = H5I_INVALID_HID, file = H5I_INVALID_HID, d = H5I_INVALID_HID;
    hid_t space = H5I_INVALID_HID;
    hbool_t on = true;

    swmrbus__h5_init();
    if (frames) *frames = 0;
    if (!path) {
        swmrbus__errf(err, errlen, "recover: missing path");
        return SWMRBUS_EINVAL;
    }
    if (access(path, F_OK) != 0) {
        swmrbus__errf(err, errlen, "recover %s: %s", path, strerror(errno));
        return errno == ENOENT ? SWMRBUS_ENOTFOUND : SWMRBUS_EIO;
    }
    if (live_writer(path)) {
        swmrbus__errf(err, errlen, "recover %s: a live writer has the file open", path);
        return SWMRBUS_ESTATE;
    }
    if ((fapl = H5Pcreate(H5P_FILE_ACCESS)) < 0 ||
        H5Pset(fapl, H5F_CLEAR_STATUS_FLAGS, &on) < 0 ||
        H5Pset(fapl, H5F_SKIP_EOF_CHECK, &on) < 0 || H5Pset(fapl, H5F_NULL_FSM_ADDR, &on) < 0) {
        swmrbus__h5_err(err, errlen, "recover %s: file access properties", path);
        goto out;
    }
    if ((file = H5Fopen(path, H5F_ACC_RDWR, fapl)) < 0) {
        swmrbus__h5_err(err, errlen, "recover %s: open", path);
        goto out;
    }
    /* EOA = max(EOA, EOF) + 0: chunks written after the last superblock
     * update stay inside the allocated space. */
    if (H5Fincrement_filesize(file, 0) < 0) {
        swmrbus__h5_err(err, errlen, "recover %s: raise EOA to EOF", path);
        goto out;
    }
    if ((d = H5Dopen2(file, SWMRBUS_DATASET_PATH, H5P_DEFAULT)) < 0) {
        swmrbus__h5_err(err, errlen, "recover %s: open %s", path, SWMRBUS_DATASET_PATH);
        goto out;
    }
    hsize_t dims[SWMRBUS_MAX_DATASET_DIMS + 1] = {0};
    int rank;
    if ((space = H5Dget_space(d)) < 0 || (rank = H5Sget_simple_extent_ndims(space)) < 1 ||
        rank > SWMRBUS_MAX_DATASET_DIMS + 1 || H5Sget_simple_extent_dims(space, dims, NULL) < 0) {
        swmrbus__h5_err(err, errlen, "recover %s: read the extent", path);
        goto out;
    }
    if (frames) *frames = dims[0];
    rc = SWMRBUS_OK;
out:
    if (space >= 0) H5Sclose(space);
    if (d >= 0) H5Dclose(d);
    if (file >= 0 && H5Fclose(file) < 0 && rc == SWMRBUS_OK) {
        swmrbus__h5_err(err, errlen, "recover %s: close", path);
        rc = SWMRBUS_EIO;
    }
    if (fapl >= 0) H5Pclose(fapl);
    return rc;
}

swmrbus_err swmrbus_sink_recover(const char *path, uint64_t *frames, char *err, size_t errlen)
{
    return swmrbus__writer_recover(path, frames, err, errlen);
}
