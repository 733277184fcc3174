/* err.c — texts for swmrbus_err. */
#include "swmrbus/err.h"

const char *swmrbus_strerror(swmrbus_err err)
{
    switch (err) {
    case SWMRBUS_OK: return "success";
    case SWMRBUS_EINVAL: return "invalid argument or input";
    case SWMRBUS_ENOMEM: return "out of memory";
    case SWMRBUS_EIO: return "I/O error";
    case SWMRBUS_EZMQ: return "ZeroMQ error";
    case SWMRBUS_ECONFIG: return "invalid configuration";
    case SWMRBUS_ELIMIT: return "limit exceeded";
    case SWMRBUS_ENOTFOUND: return "not found";
    case SWMRBUS_EABI: return "plugin ABI mismatch";
    case SWMRBUS_ESTATE: return "invalid state";
    case SWMRBUS_ETIMEDOUT: return "timed out";
    case SWMRBUS_ESTOPPED: return "stopped";
    case SWMRBUS_EAGAIN: return "nothing to take now";
    }
    return "unknown error";
}
