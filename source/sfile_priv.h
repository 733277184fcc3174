/* source/sfile_priv.h — helpers shared by sfile.c (the file, its rows) and
 * sfile_meta.c (meta read-back). Internal to the source's file reader. */
#ifndef SWMRBUS_SOURCE_SFILE_PRIV_H
#define SWMRBUS_SOURCE_SFILE_PRIV_H

#include <hdf5.h>
#include <stddef.h>

#include "sfile.h"

/* Plain formatted error text. err may be NULL. */
void swmrbus__src_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* "<what>: <HDF5 detail>" from the innermost entry of the thread's HDF5
 * error stack, which is then cleared. err may be NULL. */
void swmrbus__src_h5_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Reads /entry/instrument/detector's meta datasets of file into ml (see
 * swmrbus__sfile_meta). A file without that group has no meta (OK). */
swmrbus_err swmrbus__sfile_meta_read(hid_t file, size_t max_bytes, swmrbus__meta_list *ml,
                                     char *err, size_t errlen);

#endif
