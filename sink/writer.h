/* sink/writer.h — one series' HDF5 file, written in SWMR mode (internal).
 *
 * A writer owns one file: it creates the NeXus layout, writes meta and
 * attributes, switches to SWMR write, then takes frames by index (direct
 * chunk write), keeps per-row timestamps and makes rows durable on flush.
 * Not thread-safe: one thread owns a writer. HDF5 errors never print; their
 * text goes to the err buffer. */
#ifndef SWMRBUS_SINK_WRITER_H
#define SWMRBUS_SINK_WRITER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swmrbus/err.h"
#include "swmrbus/wire.h"

typedef struct swmrbus__writer swmrbus__writer;

typedef struct swmrbus__writer_opts {
    const char *path;            /* absolute path, already sanitised; must not exist */
    swmrbus_format format;       /* the series' frames as they arrive */
    swmrbus_encoding compression;/* for raw input: NONE (store raw) | BSLZ4 | LZ4 */
    swmrbus_str name;            /* start.name, for the NXdata "name" attribute (may be empty) */
    uint64_t frames_expected;    /* 0 = unknown */
    swmrbus_str meta;            /* raw msgpack meta map from start (may be empty) */
    swmrbus_str datasets;        /* start.datasets (raw, accepted by the decoder) or empty */
    uint32_t n_datasets;         /* 0: one unnamed dataset of format at /entry/data/data */
    swmrbus_str statics;         /* start.static (raw) or empty: written at create */
    bool times;                  /* start.times: per-frame start/stop/real_time datasets */
    swmrbus_str arrays;          /* start.arrays (raw) or empty: written at create into
                                  * /entry/instrument/detector, from array_parts */
    const struct swmrbus__part *array_parts;
    uint32_t n_arrays;
    swmrbus_str channels;        /* start.channels (raw) when n_channels >= 2: data of
                                  * (N, n_channels, format...), chunk (1, 1, format...),
                                  * a row's parts one per channel */
    uint32_t n_channels;
    unsigned mode;               /* permission bits of the new file, 0: 0644 (umask
                                  * ignored; set before SWMR starts) */
} swmrbus__writer_opts;

/* Flush result: N = the data extent made durable, written = rows filled,
 * complete = length of the gap-free prefix. */
typedef struct swmrbus__flush_info {
    uint64_t frames;
    uint64_t written;
    uint64_t complete;
} swmrbus__flush_info;

/* Creates the file (never truncating an existing one: EIO if it exists),
 * the layout (/entry, /entry/data, /entry/data/data, /entry/instrument/
 * detector/timestamp and one dataset per meta key), then H5Fstart_swmr_write.
 * On success a SWMR reader may open the file. */
swmrbus_err swmrbus__writer_create(const swmrbus__writer_opts *o, swmrbus__writer **out,
                                   char *err, size_t errlen);

/* Writes frame index (< the configured max_frames, checked by the caller)
 * with its payload (already checked against the format) and ts (0 = none).
 * Extends the data extent to index+1 when needed. A row already written is
 * not rewritten: *duplicate is set and OK returned. ELIMIT when the file
 * system has no room for this chunk plus 64 KiB (checked before writing);
 * EIO when HDF5 fails. After ELIMIT or EIO the writer is failed: every later
 * call returns ESTATE, and the caller must close it. */
swmrbus_err swmrbus__writer_write(swmrbus__writer *w, uint64_t index,
                                  const void *payload, size_t len, uint64_t ts,
                                  bool *duplicate, char *err, size_t errlen);

/* One payload of a row (one per dataset, in start.datasets order). */
typedef struct swmrbus__part {
    const void *p;
    size_t len;
} swmrbus__part;

/* Writes row index of every dataset at once: n_parts must equal the
 * series' datasets (1 without start.datasets), each payload checked against
 * its dataset's format. Otherwise as swmrbus__writer_write (which is this
 * with one part). */
swmrbus_err swmrbus__writer_write_row(swmrbus__writer *w, uint64_t index,
                                      const swmrbus__part *parts, size_t n_parts, uint64_t ts,
                                      bool *duplicate, char *err, size_t errlen);

/* One row of a batch for swmrbus__writer_write_rows: its index, its parts
 * (one per dataset) and ts (0 = none); dup is set on return. */
typedef struct swmrbus__row {
    uint64_t index;
    const swmrbus__part *parts;
    uint64_t ts;
    bool dup;
} swmrbus__row;

/* Writes n rows as n calls of swmrbus__writer_write_row in order would,
 * with one room check and at most one extension of every dataset (to the
 * highest new row) for the lot: the rows have all arrived, so the extent
 * still never runs ahead of the frames. Falls back to row by row when a
 * row is malformed or the room check refuses the lot (so a limit stops at
 * the exact row). *done = rows handled (written or duplicate) before the
 * first error; on OK, n. Errors as for swmrbus__writer_write_row. */
swmrbus_err swmrbus__writer_write_rows(swmrbus__writer *w, swmrbus__row *rows, size_t n,
                                       size_t *done, char *err, size_t errlen);

/* Makes room for the per-frame times of n rows, so that n calls of
 * swmrbus__writer_times cannot fail: call before the rows are written (a
 * row written and then failed for its times would be in the file but
 * counted rejected). A no-op without times. ENOMEM (the writer is then
 * failed). */
swmrbus_err swmrbus__writer_times_reserve(swmrbus__writer *w, size_t n, char *err,
                                          size_t errlen);

/* Keeps the per-frame times of row index (written with the row: call after
 * swmrbus__writer_write_row) for the next flush. A no-op when the series'
 * start did not ask for times. ENOMEM (the writer is then failed). */
swmrbus_err swmrbus__writer_times(swmrbus__writer *w, uint64_t index, const double t[3],
                                  char *err, size_t errlen);

/* Writes the pending timestamps, extends the timestamp dataset to the data
 * extent, and H5Fflush-es the file. On OK, info holds the new durable
 * figures. On failure the writer is failed (as for write). */
swmrbus_err swmrbus__writer_flush(swmrbus__writer *w, swmrbus__flush_info *info,
                                  char *err, size_t errlen);

/* Figures as of the last successful flush (zeros before the first). */
swmrbus__flush_info swmrbus__writer_durable(const swmrbus__writer *w);

/* Length of the gap-free prefix written so far (durable or not). */
uint64_t swmrbus__writer_complete(const swmrbus__writer *w);

/* Rows written since the last flush (what the flush policy counts). */
uint64_t swmrbus__writer_unflushed(const swmrbus__writer *w);

bool swmrbus__writer_failed(const swmrbus__writer *w);

/* Bytes of payload written so far. */
uint64_t swmrbus__writer_bytes(const swmrbus__writer *w);

/* Flushes (when not failed) and closes the file, frees *w, sets it NULL. A
 * failed writer is closed once with its extent shrunk to the durable N, and
 * its file id never touched again. Returns the first error met. */
swmrbus_err swmrbus__writer_close(swmrbus__writer **w, swmrbus__flush_info *info,
                                  char *err, size_t errlen);

/* Implements swmrbus_sink_recover() (see swmrbus/sink.h). */
swmrbus_err swmrbus__writer_recover(const char *path, uint64_t *frames,
                                    char *err, size_t errlen);

#endif
