/* swmrbus/codec.h — foreign streams as codecs (DESIGN "Protocols are codecs").
 *
 * A decoder turns the messages of a foreign stream (Karabo bridge, Dectris
 * stream v1/v2, ...) into frame-stream messages of wire protocol v1, the
 * sink's own model: start, frame (its payload parts), end. The sink picks the
 * decoder by `in.protocol`; what the decoder emits goes through the same
 * validation, limits and writer as any swmrbus message, so the writer never
 * learns where a frame came from. An encoder does the reverse for a source's
 * `out.protocol`.
 *
 * Decoders run on the sink's receive thread: they must not block, must not
 * call HDF5, and must bound everything they allocate by the limits they were
 * created with (never by a length read off the wire). One decoder state per
 * component; not thread-safe across states sharing nothing. */
#ifndef SWMRBUS_CODEC_H
#define SWMRBUS_CODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <zmq.h>

#include "swmrbus/config.h"
#include "swmrbus/err.h"
#include "swmrbus/export.h"
#include "swmrbus/wire.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SWMRBUS_PROTOCOL_NATIVE "swmrbus"
#define SWMRBUS_CODEC_MAX_PARTS 1024 /* parts of one foreign message taken */

/* Where a decoder's output goes (the sink's hand-off). */
typedef struct swmrbus_decode_sink {
    /* One frame-stream message: header holds its msgpack header (encode it
     * with swmrbus_header_encode or msgpack-c), payloads its other parts (a
     * frame: one per dataset). The callee takes every part over (the decoder
     * must not touch them after the call). */
    void (*emit)(void *user, zmq_msg_t *header, zmq_msg_t *payloads, size_t n_payloads);
    /* One rejected foreign message (or part of one): counted and reported
     * like a bad swmrbus message; the stream goes on. why: one line. */
    void (*reject)(void *user, swmrbus_reason reason, bool has_series, uint64_t series,
                   const char *why);
    void *user;
    /* Optional (NULL: not counted): n more of a named counter the
     * component shows in its status, e.g. "late_keys" (Karabo bridge). */
    void (*count)(void *user, const char *counter, uint64_t n);
} swmrbus_decode_sink;

typedef struct swmrbus_decoder_vtable {
    const char *protocol; /* as `in.protocol` names it: "dectris-stream2", ... */
    /* Builds a state for component cfg (limits, options of the protocol).
     * ECONFIG with err naming the key path on a bad setting. */
    swmrbus_err (*create)(const swmrbus_component_cfg *cfg, void **state, char *err,
                          size_t errlen);
    /* Takes one whole foreign message: parts[0 .. n) (n may exceed the parts
     * given when the message had more than SWMRBUS_CODEC_MAX_PARTS: reject
     * it). The parts stay the caller's: keep what a payload needs with
     * swmrbus_msg_slice (zero-copy). Emits zero or more messages or rejects. */
    void (*feed)(void *state, zmq_msg_t *parts, int n, const swmrbus_decode_sink *out);
    /* A request a REQ input sends before each receive (Karabo's "next"),
     * or NULL: none. */
    const char *request;
    void (*destroy)(void **state);
} swmrbus_decoder_vtable;

/* An encoder: frame-stream messages of a series back into a foreign stream,
 * for a source's `out.protocol` (Karabo bridge, Dectris stream v2). One state
 * per output. */
typedef struct swmrbus_encoder_vtable {
    const char *protocol; /* as `out.protocol` names it */
    swmrbus_err (*create)(const swmrbus_component_cfg *cfg, void **state, char *err,
                          size_t errlen);
    /* Takes one message of the series: a start (its header, meta as the raw
     * msgpack map in h->meta), a frame (payloads: one part per dataset,
     * which stay the caller's) or an end. On OK, *out holds *n_out parts of
     * one foreign message to send (0: nothing), owned by the state until
     * the next call: the caller sends (moves) or closes each. EINVAL /
     * ENOMEM with why set: the message cannot be sent. */
    swmrbus_err (*encode)(void *state, const swmrbus_header *h, zmq_msg_t *payloads, size_t n,
                          zmq_msg_t **out, size_t *n_out, char *why, size_t whylen);
    void (*destroy)(void **state);
} swmrbus_encoder_vtable;

/* The encoder for protocol, NULL when none is built in (the native
 * protocol has none). Thread-safe. */
SWMRBUS_API const swmrbus_encoder_vtable *swmrbus_encoder_find(const char *protocol);

/* The names of the built-in encoders, comma-separated, the native first. */
SWMRBUS_API const char *swmrbus_encoder_names(void);

/* The decoder for protocol, NULL when none is built in (the native protocol
 * has no decoder: the sink takes it as is). Thread-safe. */
SWMRBUS_API const swmrbus_decoder_vtable *swmrbus_decoder_find(const char *protocol);

/* The names of the built-in decoders, comma-separated (for error texts). */
SWMRBUS_API const char *swmrbus_decoder_names(void);

/* Makes out a message whose data are len bytes at data, which lie inside
 * src's data, without copying: out holds a reference to src's content (a
 * zmq_msg_copy), released when out is freed. src stays the caller's. EINVAL
 * when [data, data+len) is not inside src, ENOMEM. */
SWMRBUS_API swmrbus_err swmrbus_msg_slice(zmq_msg_t *out, zmq_msg_t *src, const void *data,
                                          size_t len);

#ifdef __cplusplus
}
#endif
#endif
