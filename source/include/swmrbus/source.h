/* swmrbus/source.h — the source component, and a small reader API for
 * downstream programs that share the file system with a sink.
 *
 * The source (kind "source") subscribes to one or more sinks' notifications,
 * keeps a SWMR reader on every file they name, and on each "flushed at N"
 * sends the rows that became readable, in order, in the frame protocol a
 * sink takes in (start, frame..., end); it relays every notification, with
 * `via` set to its name and its own `seq`, once the frames it covers are
 * sent. See source/README.md.
 *
 * swmrbus_reader is the same idea for a program of one's own: subscribe to a
 * notify endpoint (a sink's or a source's), wait until a series has N rows,
 * read them decoded through HDF5 (SWMR read). */
#ifndef SWMRBUS_SOURCE_H
#define SWMRBUS_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swmrbus/err.h"
#include "swmrbus/export.h"
#include "swmrbus/plugin.h"
#include "swmrbus/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The source's component table (kind "source"); static storage, valid for
 * the life of the process. Register it with swmrbus_host_register(). Never
 * fails; thread-safe. */
SWMRBUS_API const swmrbus_component_vtable *swmrbus_source_component(void);

/* ---- swmrbus_reader ------------------------------------------------------ */

typedef struct swmrbus_reader swmrbus_reader;

#define SWMRBUS_READER_PATH_MAX 4096

/* One notification as the reader saw it, with the figures it keeps for the
 * series (N and complete only ever grow). */
typedef struct swmrbus_reader_event {
    swmrbus_topic topic;                 /* open, flushed, closed or error */
    bool has_series;
    uint64_t series;                     /* the sink's series id */
    char file[SWMRBUS_READER_PATH_MAX];  /* absolute path ("" for an error without one) */
    char sink[SWMRBUS_NAME_MAX + 1];     /* the sink's name ("" when absent) */
    uint64_t frames;                     /* N: rows readable from now on */
    uint64_t complete;                   /* the prefix with no gap */
    bool closed;                         /* the series' file is final */
    uint64_t missed;                     /* notifications lost before this one
                                          * (gaps in the publisher's seq) */
} swmrbus_reader_event;

/* Creates a reader subscribed (SUB, connect) to endpoint, a notify PUB of a
 * sink or a source. zmq_ctx may be NULL: the reader then owns a context of
 * its own; a given one must outlive the reader. On success *out owns the
 * reader (free with swmrbus_reader_destroy). Errors: EINVAL (NULL
 * argument), ENOMEM, EZMQ (socket or connect failed), with a line in err.
 * A reader is not thread-safe: use it from one thread at a time. */
SWMRBUS_API swmrbus_err swmrbus_reader_create(void *zmq_ctx, const char *endpoint,
                                              swmrbus_reader **out, char *err,
                                              size_t errlen);

/* Restricts the files the reader opens to those below dir (call it once per
 * directory, up to 16). Without any, the reader opens whatever file a
 * notification names, as it always did; with some, swmrbus_reader_format and
 * swmrbus_reader_read resolve the file (symlinks and `..`) first and refuse
 * one outside every dir with EINVAL ("... outside the reader's dirs") without
 * opening it, and open the resolved path. Use it whenever the notify
 * endpoint is reachable by others. dir is resolved now (as far as it
 * exists). Errors: EINVAL (NULL, unresolvable dir), ELIMIT (more than 16),
 * ENOMEM. */
SWMRBUS_API swmrbus_err swmrbus_reader_allow_dir(swmrbus_reader *r, const char *dir, char *err,
                                                 size_t errlen);

/* Waits up to timeout_ms (-1: forever, 0: poll) for the next notification
 * and fills *ev. Malformed notifications are skipped and counted (see
 * swmrbus_reader_rejected). Returns OK, ETIMEDOUT, or EZMQ. A `closed`
 * notification releases the reader's handle on that file. */
SWMRBUS_API swmrbus_err swmrbus_reader_next(swmrbus_reader *r, int timeout_ms,
                                            swmrbus_reader_event *ev);

/* Waits until the series of file (NULL: the first series heard of from now
 * on, or already known) has N >= n, or its file is closed, whichever comes
 * first; *ev (may be NULL) receives that series' figures. Returns OK,
 * ETIMEDOUT after timeout_ms (-1: forever) or EZMQ. Notifications of other
 * series met meanwhile are taken into account, not lost. */
SWMRBUS_API swmrbus_err swmrbus_reader_wait(swmrbus_reader *r, const char *file, uint64_t n,
                                            int timeout_ms, swmrbus_reader_event *ev);

/* The format of file's frames as swmrbus_reader_read returns them
 * (encoding raw, little-endian) and the bytes of one row. Opens the file
 * (SWMR read) on first use. EIO when it cannot be opened, EINVAL when its
 * layout is not a swmrbus one. */
SWMRBUS_API swmrbus_err swmrbus_reader_format(swmrbus_reader *r, const char *file,
                                              swmrbus_format *fmt, size_t *row_bytes,
                                              char *err, size_t errlen);

/* Reads count rows of file from row first, decoded (HDF5 applies the
 * filters; gaps read as zeros), into buf (buflen >= count * row_bytes).
 * Refreshes the dataset first. Only rows a notification declared readable
 * are served (first + count <= that series' N), or, for a file the reader
 * heard nothing of, rows below the extent it sees. Errors: EINVAL (buffer
 * too small, NULL argument), ELIMIT (rows not readable yet), EIO, with a
 * line in err. Opens at most 8 files at once, closing the least recently
 * used. */
SWMRBUS_API swmrbus_err swmrbus_reader_read(swmrbus_reader *r, const char *file,
                                            uint64_t first, uint64_t count, void *buf,
                                            size_t buflen, char *err, size_t errlen);

/* Notifications the reader dropped as malformed so far. */
SWMRBUS_API uint64_t swmrbus_reader_rejected(const swmrbus_reader *r);

/* Closes the files and the socket (and the reader's own context), frees *r
 * and sets it NULL. Safe with NULL or *r == NULL. */
SWMRBUS_API void swmrbus_reader_destroy(swmrbus_reader **r);

#ifdef __cplusplus
}
#endif
#endif
