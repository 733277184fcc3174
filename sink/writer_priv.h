/* sink/writer_priv.h — helpers shared by writer.c (the file's life cycle)
 * and writer_meta.c (attributes and meta datasets). Internal to the writer. */
#ifndef SWMRBUS_SINK_WRITER_PRIV_H
#define SWMRBUS_SINK_WRITER_PRIV_H

#include <hdf5.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "h5util.h"
#include "swmrbus/err.h"
#include "swmrbus/wire.h"

/* A scalar attribute holding len bytes of s as a fixed-length string (NUL
 * padded, at least 1 byte; UTF-8 charset when s is not plain ASCII). */
swmrbus_err swmrbus__h5_attr_str(hid_t obj, const char *name, const char *s, size_t len,
                                 char *err, size_t errlen);

/* A scalar uint64 attribute. */
swmrbus_err swmrbus__h5_attr_u64(hid_t obj, const char *name, uint64_t v, char *err,
                                 size_t errlen);

/* One dataset per key of the raw msgpack meta map, in group g (see
 * writer_meta.c for the mapping). An empty meta slice is a no-op. */
swmrbus_err swmrbus__writer_meta(hid_t g, swmrbus_str meta, char *err, size_t errlen);

/* Turns a meta key into a link name: bytes outside [A-Za-z0-9_.-] become
 * '_', an empty key or one of only dots gets '_', "timestamp" (reserved)
 * becomes "timestamp_"; at most cap-1 bytes, NUL-terminated. */
void swmrbus__meta_name(const char *key, size_t len, char *out, size_t cap);

/* The little-endian HDF5 file type of a dtype (H5I_INVALID_HID for NONE). */
hid_t swmrbus__writer_le_type(swmrbus_dtype t);

/* NXmx (writer_nxmx.c, issue 11): when meta holds definition: "NXmx",
 * moves the meta datasets NXmx places outside the detector group (entry's
 * definition and start_time, instrument/beam) and adds their units. A no-op
 * for other series. Before SWMR starts only. */
swmrbus_err swmrbus__writer_nxmx(hid_t entry, hid_t inst, hid_t det, swmrbus_str meta,
                                 char *err, size_t errlen);

/* ---- named datasets (writer_named.c) ---- */

/* The formats of the n datasets of an accepted start.datasets, written at
 * first, first + stride bytes, ... */
swmrbus_err swmrbus__writer_ds_formats(swmrbus_str datasets, size_t n, swmrbus_format *first,
                                       size_t stride, char *err, size_t errlen);
/* The name (a path) of dataset k, NUL-terminated into out. */
swmrbus_err swmrbus__writer_ds_name(swmrbus_str datasets, size_t k, char *out, size_t cap,
                                    char *err, size_t errlen);
/* /entry/data/data as a soft link to the first dataset of >= 2 dims (else
 * the first dataset). */
swmrbus_err swmrbus__writer_default_link(hid_t file, swmrbus_str datasets, char *err,
                                         size_t errlen);
/* /entry/data@datasets (the names in order, variable-length strings) and
 * the static datasets (start.static), before SWMR starts. */
swmrbus_err swmrbus__writer_named(hid_t file, hid_t data, swmrbus_str datasets,
                                  swmrbus_str statics, char *err, size_t errlen);

/* A multi-channel series' NXdata (README "Channels"): /entry/data/channel
 * (the n names of the accepted start.channels); its @axes are
 * swmrbus__writer_axes'. */
swmrbus_err swmrbus__writer_channels(hid_t data, swmrbus_str channels, uint32_t n,
                                     uint32_t frame_ndim, char *err, size_t errlen);

/* n strings v as a 1-D variable-length UTF-8 string attribute (attr) or
 * dataset (groups made as needed) name of loc. */
swmrbus_err swmrbus__h5_strs(hid_t loc, const char *name, const swmrbus_str *v, size_t n,
                             bool attr, char *err, size_t errlen);

/* ---- start arrays (writer_arrays.c) ---- */

struct swmrbus__part;
/* Each of the n arrays of an accepted start.arrays as a dataset under det
 * (groups made as needed), from parts[k] (raw, exactly its size: EINVAL
 * otherwise). Before SWMR starts. */
swmrbus_err swmrbus__writer_arrays(hid_t det, swmrbus_str arrays,
                                   const struct swmrbus__part *parts, size_t n, char *err,
                                   size_t errlen);

/* ---- per-frame times (writer_times.c) ---- */

#define SWMRBUS__TIMES_N 3 /* start_time, stop_time, real_time */
typedef struct swmrbus__times swmrbus__times;
/* The three float64 datasets (shape (0,), unlimited, NaN fill, @units "s")
 * in det, before SWMR starts. */
swmrbus_err swmrbus__times_create(hid_t det, swmrbus__times **out, char *err, size_t errlen);
/* Makes room for more values to be kept without allocating. ENOMEM. */
swmrbus_err swmrbus__times_reserve(swmrbus__times *t, size_t more, char *err, size_t errlen);
/* Keeps row's values until the next flush. ENOMEM. */
swmrbus_err swmrbus__times_add(swmrbus__times *t, uint64_t row, const double v[3], char *err,
                               size_t errlen);
/* Extends the datasets to extent rows and writes the pending values. */
swmrbus_err swmrbus__times_flush(swmrbus__times *t, uint64_t extent, char *err, size_t errlen);
/* Takes the extent back to rows (a broken writer's close; errors ignored). */
void swmrbus__times_shrink(swmrbus__times *t, uint64_t rows);
/* Closes the datasets, frees *t, sets it NULL; err may be NULL. */
swmrbus_err swmrbus__times_close(swmrbus__times **t, char *err, size_t errlen);

/* ---- NXdata axes and image_id (writer_axes.c) ---- */

typedef struct swmrbus__ids swmrbus__ids;
/* True (and *first set) when meta has first_image_id, an unsigned integer:
 * the series gets /entry/data/image_id. */
bool swmrbus__ids_wanted(swmrbus_str meta, uint64_t *first);
/* /entry/data/image_id (uint64, shape (0,), unlimited), before SWMR starts. */
swmrbus_err swmrbus__ids_create(hid_t data, uint64_t first, swmrbus__ids **out, char *err,
                                size_t errlen);
/* Extends image_id to extent rows, the new ones holding first + row. */
swmrbus_err swmrbus__ids_flush(swmrbus__ids *t, uint64_t extent, char *err, size_t errlen);
/* Takes the extent back to rows (a broken writer's close; errors ignored). */
void swmrbus__ids_shrink(swmrbus__ids *t, uint64_t rows);
/* Closes the dataset, frees *t, sets it NULL; err may be NULL. */
swmrbus_err swmrbus__ids_close(swmrbus__ids **t, char *err, size_t errlen);
/* @axes of /entry/data for data of data_ndim dims: "image_id" at 0 (with
 * @image_id_indices = 0; and, with start_time, the soft link start_time to
 * the detector's per-frame start_time and @start_time_indices = 0),
 * "channel" at 1 (@channel_indices = 1), "." elsewhere. Nothing when
 * neither image_id nor channel. Before SWMR starts. */
swmrbus_err swmrbus__writer_axes(hid_t data, bool image_id, bool channel, bool start_time,
                                 uint32_t data_ndim, char *err, size_t errlen);

#endif
