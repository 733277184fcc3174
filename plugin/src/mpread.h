/* mpread.h — internal: a tiny in-place msgpack cursor reader for the wire
 * decoders. It never allocates: strings, bins and exts come back as slices of
 * the caller's buffer, containers as a count with the cursor left on their
 * first element. Callers run swmrbus_msgpack_scan() first; the reader is
 * bounds-checked anyway (a short buffer gives EINVAL, never a read past end).
 * Not part of the public API. */
#ifndef SWMRBUS_MPREAD_H
#define SWMRBUS_MPREAD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swmrbus/err.h"
#include "swmrbus/wire.h"

typedef enum swmrbus__mp_type {
    SWMRBUS__MP_NIL = 0,
    SWMRBUS__MP_BOOL,
    SWMRBUS__MP_UINT,  /* any integer >= 0, whatever its encoding */
    SWMRBUS__MP_INT,   /* any integer < 0 */
    SWMRBUS__MP_FLOAT, /* float32 or float64 */
    SWMRBUS__MP_STR,
    SWMRBUS__MP_BIN,
    SWMRBUS__MP_EXT,
    SWMRBUS__MP_ARRAY,
    SWMRBUS__MP_MAP,
} swmrbus__mp_type;

/* One value as read by swmrbus__mp_next(). Only the fields of its type are
 * set. */
typedef struct swmrbus__mp_val {
    swmrbus__mp_type type;
    bool b;               /* BOOL */
    bool signed_fmt;      /* UINT/INT: written with a signed format (0xd0..0xd3
                           * or a negative fixint), e.g. msgpack_pack_fix_int64 */
    uint64_t u;           /* UINT */
    int64_t i;            /* INT, and UINT values <= INT64_MAX */
    double f;             /* FLOAT */
    const char *ptr;      /* STR / BIN / EXT data */
    size_t len;
    int8_t ext_type;      /* EXT */
    size_t n;             /* ARRAY: elements; MAP: key/value pairs */
} swmrbus__mp_val;

/* A cursor over [p, end). */
typedef struct swmrbus__mp {
    const uint8_t *p;
    const uint8_t *end;
} swmrbus__mp;

void swmrbus__mp_init(swmrbus__mp *mp, const void *buf, size_t len);

/* Bytes not yet read. */
size_t swmrbus__mp_left(const swmrbus__mp *mp);

/* Reads one value. For ARRAY and MAP only the header is read (the cursor is
 * then on the first element). EINVAL on a truncated value or the never-used
 * byte 0xc1; the cursor is then unspecified. */
swmrbus_err swmrbus__mp_next(swmrbus__mp *mp, swmrbus__mp_val *v);

/* Skips one whole value, containers included, in O(bytes) time and O(1)
 * memory (one counter, no recursion). */
swmrbus_err swmrbus__mp_skip(swmrbus__mp *mp);

/* Typed reads: EINVAL when the next value has another type (it is read all
 * the same: a scalar whole, a container's header only). */
swmrbus_err swmrbus__mp_map(swmrbus__mp *mp, size_t *pairs);
swmrbus_err swmrbus__mp_array(swmrbus__mp *mp, size_t *n);
swmrbus_err swmrbus__mp_str(swmrbus__mp *mp, swmrbus_str *s);   /* str only, not bin */
swmrbus_err swmrbus__mp_uint(swmrbus__mp *mp, uint64_t *u);     /* integer >= 0 */
swmrbus_err swmrbus__mp_int(swmrbus__mp *mp, int64_t *i);       /* integer in int64 range */
swmrbus_err swmrbus__mp_float(swmrbus__mp *mp, double *f);      /* float32/64 only */
swmrbus_err swmrbus__mp_bool(swmrbus__mp *mp, bool *b);

/* True when s equals the NUL-terminated lit. */
bool swmrbus__str_is(swmrbus_str s, const char *lit);

/* snprintf into why (when why && whylen), always NUL-terminated, bytes
 * outside printable ASCII replaced by '?' (one line, valid UTF-8). Shared by
 * the wire decoders for their one-line explanations. */
#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
void swmrbus__wire_why(char *why, size_t whylen, const char *fmt, ...);

/* A wire string quoted in a why text: its first 32 bytes, each NUL shown as
 * '?' (so that "status\0x" does not read as "status"), "..." when longer.
 * Writes into q (at least SWMRBUS__QUOTE_CAP bytes) and returns it. */
#define SWMRBUS__QUOTE_CAP 40
const char *swmrbus__wire_quote(swmrbus_str s, char *q);

#endif
