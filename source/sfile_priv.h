/* source/sfile_priv.h — helpers shared by sfile.c (the file, its rows) and
 * sfile_meta.c (meta read-back). Internal to the source's file reader. */
#ifndef SWMRBUS_SOURCE_SFILE_PRIV_H
#define SWMRBUS_SOURCE_SFILE_PRIV_H

#include <hdf5.h>
#include <stddef.h>

#include "h5util.h"
#include "sfile.h"

/* Reads /entry/instrument/detector's meta datasets of file into ml (see
 * swmrbus__sfile_meta). A file without that group has no meta (OK). */
/* The names of the named datasets, /entry/data@datasets (variable-length
 * strings), into *names (n of them, each a path swmrbus_path_ok accepts, at
 * most SWMRBUS_MAX_DATASETS; free with swmrbus__sfile_names_free). No such
 * attribute: n = 0 and OK. EINVAL for a list that cannot be served. */
swmrbus_err swmrbus__sfile_names_read(hid_t file, char ***names, size_t *n, char *err,
                                      size_t errlen);
void swmrbus__sfile_names_free(char **names, size_t n);
/* /entry/data/channel of a multi-channel series (README "Channels"): 1 to
 * SWMRBUS_MAX_CHANNELS names (free with swmrbus__sfile_names_free); none
 * (*n = 0, OK) when absent. EINVAL when it is not such a list. */
swmrbus_err swmrbus__sfile_channels_read(hid_t file, char ***names, size_t *n, char *err,
                                         size_t errlen);

/* sfile_nx.c's per-frame times reader, kept with (and freed by) the sfile. */
typedef struct swmrbus__stimes swmrbus__stimes;
swmrbus__stimes **swmrbus__sfile_nx(swmrbus__sfile *f);
void swmrbus__stimes_free(swmrbus__stimes **t);
hid_t swmrbus__sfile_h5file(const swmrbus__sfile *f);
/* The file is the writer's own (never refreshed: see sfile.c). */
bool swmrbus__sfile_own_writer(const swmrbus__sfile *f);

swmrbus_err swmrbus__sfile_meta_read(hid_t file, size_t max_bytes, swmrbus__meta_list *ml,
                                     char *err, size_t errlen);

/* The dtype of an HDF5 type (integers of 1-8 bytes, IEEE floats of 4 or 8,
 * either byte order), and in *le the little-endian type its values decode
 * to; SWMRBUS_DTYPE_NONE (and *le invalid) for any other type. */
swmrbus_dtype swmrbus__sfile_dtype_of(hid_t t, hid_t *le);

#endif
