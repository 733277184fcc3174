/* scan.c — the bounded msgpack scanner every decoder runs first.
 *
 * msgpack-c allocates what an array or map header claims before it checks that
 * the bytes exist; this walk checks the whole message first, in O(len) time
 * and O(1) memory: one pass, no recursion, a fixed stack of remaining-item
 * counters (one per open container, at most SWMRBUS_MAX_DEPTH). */
#include <string.h>

#include "mpread.h"
#include "swmrbus/wire.h"

/* What one format byte announces. */
typedef struct head {
    int lenbytes; /* str/bin/ext: size of the big-endian length field, else 0 */
    size_t extra; /* bytes after the length field not counted in it (ext type) */
    size_t fixed; /* fixed data bytes (fixstr, fixext) */
    int container;/* 0, 1 = array, 2 = map */
    int cntbytes; /* array/map 16/32: size of the count field, 0 for fix */
    size_t fixn;  /* fixarray / fixmap count */
} head;

/* Fills h for format byte b; 0 for the never-used byte 0xc1. */
static int classify(uint8_t b, head *h)
{
    memset(h, 0, sizeof *h);
    if (b <= 0x7f || b >= 0xe0) return 1;
    if (b <= 0x8f) { h->container = 2; h->fixn = b & 0x0fu; return 1; }
    if (b <= 0x9f) { h->container = 1; h->fixn = b & 0x0fu; return 1; }
    if (b <= 0xbf) { h->fixed = b & 0x1fu; return 1; }
    switch (b) {
    case 0xc0: case 0xc2: case 0xc3: return 1;
    case 0xc4: case 0xd9: h->lenbytes = 1; return 1;
    case 0xc5: case 0xda: h->lenbytes = 2; return 1;
    case 0xc6: case 0xdb: h->lenbytes = 4; return 1;
    case 0xc7: h->lenbytes = 1; h->extra = 1; return 1;
    case 0xc8: h->lenbytes = 2; h->extra = 1; return 1;
    case 0xc9: h->lenbytes = 4; h->extra = 1; return 1;
    case 0xca: h->fixed = 4; return 1;
    case 0xcb: h->fixed = 8; return 1;
    case 0xcc: case 0xd0: h->fixed = 1; return 1;
    case 0xcd: case 0xd1: h->fixed = 2; return 1;
    case 0xce: case 0xd2: h->fixed = 4; return 1;
    case 0xcf: case 0xd3: h->fixed = 8; return 1;
    case 0xd4: h->fixed = 2; return 1;
    case 0xd5: h->fixed = 3; return 1;
    case 0xd6: h->fixed = 5; return 1;
    case 0xd7: h->fixed = 9; return 1;
    case 0xd8: h->fixed = 17; return 1;
    case 0xdc: h->container = 1; h->cntbytes = 2; return 1;
    case 0xdd: h->container = 1; h->cntbytes = 4; return 1;
    case 0xde: h->container = 2; h->cntbytes = 2; return 1;
    case 0xdf: h->container = 2; h->cntbytes = 4; return 1;
    default: return 0;
    }
}

static uint64_t be(const uint8_t *p, int n)
{
    uint64_t v = 0;
    for (int k = 0; k < n; k++) v = (v << 8) | p[k];
    return v;
}

swmrbus_err swmrbus_msgpack_scan(const void *buf, size_t len, size_t max_bytes,
                                 unsigned max_depth, char *why, size_t whylen)
{
    const uint8_t *p = buf;
    size_t stack[SWMRBUS_MAX_DEPTH]; /* items left in each open container */
    unsigned depth = 0, maxd = max_depth < SWMRBUS_MAX_DEPTH ? max_depth : SWMRBUS_MAX_DEPTH;
    size_t pos = 0;
    head h;

    if (len > max_bytes) {
        swmrbus__wire_why(why, whylen, "message of %zu bytes exceeds the limit of %zu",
                          len, max_bytes);
        return SWMRBUS_ELIMIT;
    }
    if (len == 0 || !p) {
        swmrbus__wire_why(why, whylen, "empty message");
        return SWMRBUS_EINVAL;
    }
    for (;;) {
        if (pos >= len) goto truncated;
        uint8_t b = p[pos];
        size_t at = pos++;
        if (!classify(b, &h)) {
            swmrbus__wire_why(why, whylen, "invalid msgpack byte 0x%02x at offset %zu", b, at);
            return SWMRBUS_EINVAL;
        }
        uint64_t items = 0;
        if (h.container) {
            uint64_t n = h.fixn;
            if (h.cntbytes) {
                if (len - pos < (size_t)h.cntbytes) goto truncated;
                n = be(p + pos, h.cntbytes);
                pos += (size_t)h.cntbytes;
            }
            items = h.container == 2 ? 2 * n : n;
            /* every item takes at least one byte */
            if (items > len - pos) {
                swmrbus__wire_why(why, whylen,
                                  "%s at offset %zu claims %llu items with %zu bytes left",
                                  h.container == 2 ? "map" : "array", at,
                                  (unsigned long long)items, len - pos);
                return SWMRBUS_EINVAL;
            }
            if (depth + 1 > maxd) {
                swmrbus__wire_why(why, whylen, "nesting deeper than %u at offset %zu",
                                  maxd, at);
                return SWMRBUS_EINVAL;
            }
        } else {
            uint64_t data = h.fixed;
            if (h.lenbytes) {
                if (len - pos < (size_t)h.lenbytes) goto truncated;
                data = be(p + pos, h.lenbytes) + h.extra;
                pos += (size_t)h.lenbytes;
            }
            if (data > len - pos) {
                if (h.lenbytes) {
                    swmrbus__wire_why(why, whylen,
                                      "length %llu at offset %zu exceeds the %zu bytes left",
                                      (unsigned long long)(data - h.extra), at, len - pos);
                    return SWMRBUS_EINVAL;
                }
                goto truncated;
            }
            pos += (size_t)data;
        }
        /* this value is one item of its parent (or the one top-level object) */
        if (depth > 0) stack[depth - 1]--;
        if (items > 0) stack[depth++] = (size_t)items;
        while (depth > 0 && stack[depth - 1] == 0) depth--;
        if (depth == 0) break;
    }
    if (pos != len) {
        swmrbus__wire_why(why, whylen, "%zu trailing bytes after the object", len - pos);
        return SWMRBUS_EINVAL;
    }
    return SWMRBUS_OK;

truncated:
    swmrbus__wire_why(why, whylen, "truncated msgpack at offset %zu of %zu", pos, len);
    return SWMRBUS_EINVAL;
}
