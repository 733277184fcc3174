/* tools/scale/scale.h — scale-out (issue 12, README "Scale-out"): the
 * splitter (kind "shard") that spreads one frame stream over S sinks, and the
 * coordinator (kind "coordinator") that follows S sharded sinks, writes the
 * master file (a virtual dataset over their files) and says how far the
 * whole series is on disk. Internal to the CLI's host; the two components
 * are built on the public SDK (swmrbus/loop.h, socket.h, stream.h,
 * notify.h). */
#ifndef SWMRBUS_SCALE_H
#define SWMRBUS_SCALE_H

#include <stddef.h>
#include <stdint.h>

#include "swmrbus/err.h"
#include "swmrbus/plugin.h"

/* The splitter's component table (kind "shard"); static storage. */
const swmrbus_component_vtable *swmrbus_shard_component(void);

/* The coordinator's component table (kind "coordinator"); static storage. */
const swmrbus_component_vtable *swmrbus_coord_component(void);

/* G of a series sharded over shards sinks, from each shard's `complete`
 * (complete[k]: shard k has rows 0 .. complete[k)-1 on disk, row r holding
 * global frame r * shards + k): the largest G such that every global frame
 * below G is on disk, i.e. min over k of (complete[k] * shards + k).
 * 0 when shards is 0. Saturates at UINT64_MAX instead of wrapping. Pure. */
uint64_t swmrbus__scale_g(const uint64_t *complete, size_t shards);

/* Writes into rel (cap bytes) the path of file relative to the directory
 * dir (both absolute and existing: symlinks are resolved with realpath), as
 * HDF5 resolves a virtual dataset's source file relative to its master
 * file's directory: "x.h5" in the same directory, "../s0/x.h5" beside it.
 * Returns OK, or EINVAL (err says why). */
swmrbus_err swmrbus__scale_relpath(const char *dir, const char *file, char *rel, size_t cap,
                                   char *err, size_t errlen);

/* Creates the master file of a series (and dir, when missing): a new file (never an existing one:
 * "<stem>_<series>.h5", else _1, _2, ... before .h5) in dir, with the
 * sinks' NeXus layout (root @default, /entry NXentry, /entry/data NXdata
 * @signal, /entry/data/data) whose /entry/data/data is a virtual dataset of
 * shape (0.., *frame_shape), unlimited, mapping row f to row f / shards of
 * files[f % shards] (strided unlimited hyperslabs, sources by relative path,
 * fill value 0), and /entry/instrument/detector/timestamp (NXinstrument,
 * NXdetector) mapped the same way over the shards' timestamps; dtype and
 * frame shape are read from the shard files (which must agree), opened as
 * SWMR readers. The file is closed on return: it
 * holds metadata only, and readers open it with swmr=True and refresh() to
 * see the extent grow (README "Scale-out"). path receives its absolute
 * path. HDF5 calls: from one thread at a time per file, as HDF5 requires.
 * Returns OK, EIO (err names the step) or EINVAL. */
swmrbus_err swmrbus__scale_master_create(const char *dir, const char *stem, uint64_t series,
                                         const char *const *files, size_t shards,
                                         char *path, size_t pathlen, char *err,
                                         size_t errlen);

#endif
