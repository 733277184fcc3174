/* source/sfile.h — one series' file, read through a SWMR reader (internal).
 *
 * An sfile opens a sink's file read-only with SWMR read (30 metadata read
 * attempts with HDF5's doubling back-off, ~0.5 s: a reader racing the
 * writer retries torn metadata, a damaged file fails in bounded time), works out
 * how frames go out (the format, and whether stored chunks can be sent as
 * they are), refreshes the datasets on demand and reads one row at a time:
 * the stored chunk (H5Dread_chunk, no decode) or, for layouts a chunk cannot
 * stand for, the decoded row. It also reads back the series' meta, name and
 * expected frame count, and the per-row timestamps.
 *
 * Not thread-safe: one thread owns an sfile (HDF5 itself is thread-safe).
 * HDF5 errors never print; their text goes to the err buffer. Every HDF5
 * handle is closed on every path. Sizes read from the file are checked
 * against the configured limits before anything is allocated. */
#ifndef SWMRBUS_SOURCE_SFILE_H
#define SWMRBUS_SOURCE_SFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <zmq.h>

#include "swmrbus/err.h"
#include "swmrbus/wire.h"

typedef struct swmrbus__sfile swmrbus__sfile;

/* What the file says about its series. */
typedef struct swmrbus__sfile_info {
    swmrbus_format fmt;      /* as frames go out: bslz4/lz4 when direct, else raw */
    bool direct;             /* rows go out as stored chunks (H5Dread_chunk) */
    uint64_t raw_bytes;      /* one decoded frame */
    uint64_t max_chunk;      /* largest stored chunk accepted (direct) */
    char name[SWMRBUS_NAME_MAX + 1]; /* /entry/data@name ("" when absent) */
    uint64_t frames_expected;        /* /entry/data@frames_expected, 0 = unknown */
    size_t n_datasets;               /* sfile_open_all: named datasets (0: one unnamed),
                                      * or channels (a part each) */
    size_t n_channels;               /* README "Channels": 2.. channels (fmt is one
                                      * channel's), 0: none */
    char channel[SWMRBUS_MAX_CHANNELS][SWMRBUS_CHANNEL_NAME_MAX + 1];
} swmrbus__sfile_info;

/* Opens path read-only with SWMR read and its /entry/data/data (and, when
 * present, /entry/instrument/detector/timestamp). EIO when the file cannot
 * be opened yet (not there, writer not in SWMR mode: worth a retry); EINVAL
 * when its layout cannot be served (final: wrong rank, unknown type, a frame
 * over lim->max_frame_bytes). */
swmrbus_err swmrbus__sfile_open(const char *path, const swmrbus_limits *lim,
                                swmrbus__sfile **out, char *err, size_t errlen);

/* As swmrbus__sfile_open, and when the file lists named datasets
 * (/entry/data@datasets, start.datasets), opens each of them: a row is then
 * every dataset's part one after another (row_size sums them, read_row reads
 * them all; swmrbus__sfile_part_sizes tells where each ends), info is the
 * first dataset's with n_datasets set, the rows are those all of them show. */
swmrbus_err swmrbus__sfile_open_all(const char *path, const swmrbus_limits *lim,
                                    swmrbus__sfile **out, char *err, size_t errlen);

/* Dataset k (0 .. n_datasets-1) of an sfile_open_all sfile (its info and
 * dspath), NULL beyond. */
const swmrbus__sfile *swmrbus__sfile_part(const swmrbus__sfile *f, size_t k);
/* Each dataset's bytes of the row last sized (n_datasets of them), NULL
 * without named datasets. */
const size_t *swmrbus__sfile_part_sizes(const swmrbus__sfile *f);
/* The path of the dataset it reads, from the root ("/entry/data/data"). */
const char *swmrbus__sfile_dspath(const swmrbus__sfile *f);

const swmrbus__sfile_info *swmrbus__sfile_get_info(const swmrbus__sfile *f);

/* H5Drefresh on the data (and timestamp) dataset; *rows receives the data
 * extent. A refresh that fails invalidates the handle: it is dropped and
 * the dataset reopened (EIO only when that fails too; the sfile then stays
 * usable for another try). */
swmrbus_err swmrbus__sfile_refresh(swmrbus__sfile *f, uint64_t *rows, char *err,
                                   size_t errlen);

/* Rows of the data dataset as of the last open or refresh. */
uint64_t swmrbus__sfile_rows(const swmrbus__sfile *f);

/* The bytes row takes when sent: the stored chunk's size (direct) or
 * raw_bytes. *gap is set (and OK returned) when the row has no stored chunk
 * (on HDF5 1.10.8 H5Dget_chunk_storage_size fails for it). EINVAL when the
 * stored size is 0 or over max_chunk. */
swmrbus_err swmrbus__sfile_row_size(swmrbus__sfile *f, uint64_t row, size_t *size,
                                    bool *gap, char *err, size_t errlen);

/* Reads row into buf (size bytes, from swmrbus__sfile_row_size): the stored
 * chunk as is, or the decoded frame (little-endian). Never writes more than
 * size bytes into buf: a stored chunk is read into the sfile's own buffer of
 * max_chunk bytes and copied out only when its size is still size (else EIO,
 * to be read again: rewritten since the size was read). EINVAL when a chunk
 * was stored with its filter skipped (it cannot go out as the series'
 * encoding). */
swmrbus_err swmrbus__sfile_read_row(swmrbus__sfile *f, uint64_t row, void *buf, size_t size,
                                    char *err, size_t errlen);

/* Whether swmrbus__sfile_read_direct serves f's rows: one dataset (no named
 * datasets, no channels) whose chunks go out as stored (info.direct). */
bool swmrbus__sfile_can_read_direct(const swmrbus__sfile *f);

/* Reads row's stored chunk straight into buf, a buffer of cap >= max_chunk
 * bytes (so a chunk the index shows bigger than the size asked cannot
 * overflow it): what row_size then read_row do, without the copy through
 * the sfile's own buffer, and the stored size asked twice rather than three
 * times. Before the read, the stored size: no chunk is a gap (*gap, OK), 0
 * or over max_chunk (or a raw chunk not a frame's size) EINVAL, as
 * row_size. After it, the size again: changed (rewritten meanwhile) EIO, to
 * be read again. *size receives the chunk's bytes. EINVAL for a chunk
 * stored with its filter skipped, or for an sfile it does not serve. */
swmrbus_err swmrbus__sfile_read_direct(swmrbus__sfile *f, uint64_t row, void *buf, size_t cap,
                                       size_t *size, bool *gap, char *err, size_t errlen);

/* Reads count decoded rows from first into buf (count * raw_bytes bytes,
 * little-endian), through HDF5's filters; a row with no stored chunk reads
 * as the fill value. Rows must be below the extent. On HDF5 1.10.8, reading
 * a row with no stored chunk makes later swmrbus__sfile_row_size calls on
 * this handle see a full chunk there: where gaps matter, ask row_size first
 * (the series loop does; the reader API never asks it). */
swmrbus_err swmrbus__sfile_read_rows(swmrbus__sfile *f, uint64_t first, uint64_t count,
                                     void *buf, size_t buflen, char *err, size_t errlen);

/* The timestamp of row (0 when absent). Reads blocks of up to 1024 rows,
 * never at or beyond limit (the rows notified), and caches one block. */
swmrbus_err swmrbus__sfile_ts(swmrbus__sfile *f, uint64_t row, uint64_t limit, uint64_t *ts,
                              char *err, size_t errlen);

/* The meta read back from /entry/instrument/detector: one item per scalar
 * or 1-D dataset other than timestamp (strings, integers, floats, h5py
 * booleans; arrays of at most 4096 numbers), in name order. Items point into
 * storage owned by the list. */
typedef struct swmrbus__meta_list {
    swmrbus_meta_item *items;
    void **blocks;        /* one block per item (key and values) */
    size_t n, cap;
    size_t bytes;         /* keys and values held */
    size_t skipped;       /* datasets that could not be carried */
} swmrbus__meta_list;

/* Fills ml (at most 256 items, at most max_bytes of values in all). */
swmrbus_err swmrbus__sfile_meta(swmrbus__sfile *f, size_t max_bytes, swmrbus__meta_list *ml,
                                char *err, size_t errlen);
void swmrbus__meta_list_free(swmrbus__meta_list *ml);

/* ---- what a second sink needs for the same NXmx file (sfile_nx.c) ---- */

/* True when the file has per-frame times (README "Per-frame times"):
 * /entry/instrument/detector/start_time, stop_time and real_time. */
bool swmrbus__sfile_has_times(swmrbus__sfile *f);

/* The times [start, stop, real] (s) of row, NaN where not known (no times,
 * a row not written yet). Reads blocks of up to 1024 rows, never at or
 * beyond limit (the rows notified), and caches one block; refreshes the
 * datasets when row is past what they showed. EIO when a read fails. */
swmrbus_err swmrbus__sfile_times(swmrbus__sfile *f, uint64_t row, uint64_t limit, double v[3],
                                 char *err, size_t errlen);

/* A start's arrays (README "Start arrays") read back from the file. */
typedef struct swmrbus__start_arrays {
    swmrbus_buf arrays;                        /* start.arrays (msgpack), empty: none */
    zmq_msg_t parts[SWMRBUS_MAX_START_ARRAYS]; /* one raw part each */
    size_t n;
    size_t skipped;                            /* over the limits, unknown type */
} swmrbus__start_arrays;

/* The detector's pixel_mask and flatfield (one channel) or each channel's
 * <channel>_channel/{pixel_mask, flatfield, threshold_energy}, and
 * countrate_correction_lookup_table, detectorSpecific/
 * countrate_correction_table, when present: each of at most max_each bytes,
 * all together at most max_total (others skipped). ENOMEM; out is then
 * empty. Free with swmrbus__start_arrays_free. */
swmrbus_err swmrbus__sfile_arrays(swmrbus__sfile *f, uint64_t max_each, uint64_t max_total,
                                  swmrbus__start_arrays *out, char *err, size_t errlen);
void swmrbus__start_arrays_free(swmrbus__start_arrays *sa);

/* Closes every handle, frees *f and sets it NULL. Safe with NULL. */
void swmrbus__sfile_close(swmrbus__sfile **f);

#endif
