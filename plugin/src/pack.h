/* pack.h — internal: msgpack helpers for the components' status replies
 * (sink, source), packing through msgpack-c into a swmrbus_buf (see
 * swmrbus_buf_write). Not part of the public API. */
#ifndef SWMRBUS_PACK_H
#define SWMRBUS_PACK_H

#include <msgpack.h>
#include <stdint.h>

/* Packs the NUL-terminated s as a msgpack str. */
void swmrbus__pack_str(msgpack_packer *pk, const char *s);

/* Packs the rejection counters r[0 .. SWMRBUS_R_COUNT) as a map from
 * swmrbus_reason_name() to count, leaving out the zero ones. */
void swmrbus__pack_rejected(msgpack_packer *pk, const uint64_t *r);

#endif
