/* swmrbus/err.h — error codes shared by every swmrbus API.
 *
 * Every fallible function returns a swmrbus_err; results travel through
 * out-parameters. The numeric values are stable across releases (they are part
 * of the plugin ABI): new codes are only ever appended. */
#ifndef SWMRBUS_ERR_H
#define SWMRBUS_ERR_H

#include "swmrbus/export.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum swmrbus_err {
    SWMRBUS_OK = 0,
    SWMRBUS_EINVAL = 1,    /* bad argument or malformed input */
    SWMRBUS_ENOMEM = 2,    /* allocation failed */
    SWMRBUS_EIO = 3,       /* file system or HDF5 failure */
    SWMRBUS_EZMQ = 4,      /* ZeroMQ failure */
    SWMRBUS_ECONFIG = 5,   /* configuration invalid */
    SWMRBUS_ELIMIT = 6,    /* a configured limit was exceeded */
    SWMRBUS_ENOTFOUND = 7, /* no such thing (kind, series, key, file) */
    SWMRBUS_EABI = 8,      /* plugin ABI version mismatch */
    SWMRBUS_ESTATE = 9,    /* operation not valid in the object's state */
    SWMRBUS_ETIMEDOUT = 10,/* a wait ran out */
    SWMRBUS_ESTOPPED = 11, /* the object was asked to stop */
    SWMRBUS_EAGAIN = 12,   /* nothing to take now (a non-blocking receive) */
} swmrbus_err;

/* Returns a static, human-readable text for err (never NULL; unknown values
 * give "unknown error"). Thread-safe. */
SWMRBUS_API const char *swmrbus_strerror(swmrbus_err err);

#ifdef __cplusplus
}
#endif
#endif
