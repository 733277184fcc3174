/* plugin/h5/h5util.h — HDF5 process/thread set-up and error text, shared by
 * the components that use HDF5 (sink, source). Internal: not part of
 * libswmrbus, which knows nothing of HDF5 (target swmrbus_h5). */
#ifndef SWMRBUS_H5UTIL_H
#define SWMRBUS_H5UTIL_H

#include <stddef.h>

/* Once per process: H5dont_atexit() (before HDF5's first use, so that the
 * library's atexit handler never touches a file id that failed with EFBIG;
 * when another component called it first, it fails, harmless). Once per
 * thread: H5Eset_auto2 off for the thread's default error stack. Call before
 * any other HDF5 call of the thread. Thread-safe. */
void swmrbus__h5_init(void);

/* Writes "<what>: <HDF5 detail>" to err, the detail taken from the innermost
 * entry of the calling thread's HDF5 error stack (major, minor, function and
 * description), on one line (control characters become spaces); the stack
 * is cleared. err may be NULL (the stack is still cleared). */
void swmrbus__h5_err(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Plain formatted error text (no HDF5 detail). err may be NULL. */
void swmrbus__errf(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

#endif
