/* source/h5share.h — one HDF5 dataset id per dataset per process, shared by
 * every reader of it.
 *
 * HDF5 1.10.8 gives two ids of one dataset in one process (two H5Dopen, even
 * through two H5Fopen of the file) one shared state; H5Drefresh on one of
 * them rebuilds that state for itself only, and the other id then finds the
 * first chunk for every chunk it asks for (tests/unit/test_h5share.c shows
 * it). Two sources of one process following the same sink, or a source and
 * a swmrbus_reader, would send one frame's bytes as every frame. So readers
 * open their datasets here: the first open of (file, path) opens it, later
 * ones get the same id, and a refresh by any of them refreshes it for all.
 * Thread-safe (HDF5 itself is built thread-safe on Debian). */
#ifndef SWMRBUS_SOURCE_H5SHARE_H
#define SWMRBUS_SOURCE_H5SHARE_H

#include <hdf5.h>

/* The process's id of the dataset at path (absolute, or relative to loc, a
 * file or group; links followed), opening it on first use; the same
 * dataset reached by another name or another H5Fopen of its file gets the
 * same id. H5I_INVALID_HID with the HDF5 error stack set when there is no
 * such dataset. Give it back with swmrbus__h5share_close. */
hid_t swmrbus__h5share_open(hid_t loc, const char *path);

/* Gives back one use of d; the dataset closes with its last use. */
void swmrbus__h5share_close(hid_t d);

/* H5Drefresh(d), for every user of d. On failure (< 0) with d no longer a
 * valid id (HDF5 released it), d is retired: no new open gets it, and each
 * user should close it and open the dataset again; with d still valid
 * nothing changes (try again later: a second id would bring the bug back). */
herr_t swmrbus__h5share_refresh(hid_t d);

#endif
