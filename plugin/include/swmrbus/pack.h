/* swmrbus/pack.h — msgpack helpers for components: status and reply maps.
 *
 * Components write msgpack with msgpack-c's packer (never byte by byte); these
 * helpers pack the pieces every component's status and control replies
 * share, into a swmrbus_buf (msgpack_packer_init(&pk, &buf, swmrbus_buf_write)).
 * They return msgpack-c's result: 0, or -1 when the buffer ran out of memory
 * (the buffer's content is then incomplete: send an error reply instead).
 * Pure functions; thread-safe on distinct packers. */
#ifndef SWMRBUS_PACK_H
#define SWMRBUS_PACK_H

#include <msgpack.h>
#include <stddef.h>
#include <stdint.h>

#include "swmrbus/export.h"
#include "swmrbus/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Packs the NUL-terminated s as a msgpack str ("" when s is NULL). */
SWMRBUS_API int swmrbus_pack_cstr(msgpack_packer *pk, const char *s);

/* Packs key (a str) then v: one pair of a map. */
SWMRBUS_API int swmrbus_pack_kv_u64(msgpack_packer *pk, const char *key, uint64_t v);
SWMRBUS_API int swmrbus_pack_kv_str(msgpack_packer *pk, const char *key, const char *v);

/* Packs the rejection counters r[0 .. SWMRBUS_R_COUNT) as a map from
 * swmrbus_reason_name() to count, leaving out the zero ones. */
SWMRBUS_API int swmrbus_pack_rejected(msgpack_packer *pk, const uint64_t *r);

/* Starts a status reply: a map of 4 + n_more pairs whose first four are
 * ok: true, name, kind and uptime_s (seconds, float, from uptime_ns). The
 * caller packs n_more pairs after it (the README's status keys: series,
 * rejected, ...). */
SWMRBUS_API int swmrbus_pack_status_head(msgpack_packer *pk, const char *name,
                                         const char *kind, uint64_t uptime_ns,
                                         size_t n_more);

/* Replaces out's content with the reply {ok: false, error: text} (text is
 * cut at 1000 bytes) or, with text NULL, {ok: true}. Returns 0 or -1. */
SWMRBUS_API int swmrbus_pack_reply(swmrbus_buf *out, const char *text);

#ifdef __cplusplus
}
#endif
#endif
