/* swmrbus/wire.h — wire protocol v1: the frame stream, notifications and
 * control messages (see README "Wire protocol").
 *
 * Decoders take untrusted bytes. They first walk the message with a bounded
 * scanner (every count <= the bytes left, depth <= 8, total <= the header
 * limit) and then parse in place: they never allocate, and every pointer they
 * return points into the caller's buffer, valid as long as that buffer is.
 * All functions here are pure (no global state) and thread-safe. */
#ifndef SWMRBUS_WIRE_H
#define SWMRBUS_WIRE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "swmrbus/err.h"
#include "swmrbus/export.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SWMRBUS_WIRE_VERSION 1
#define SWMRBUS_MAX_DIMS 3         /* a series' one unnamed dataset: 1..3 dims */
#define SWMRBUS_MAX_DATASET_DIMS 8 /* a named dataset (start.datasets): 0..8 dims */
#define SWMRBUS_MAX_DATASETS 1024  /* named datasets of one series */
#define SWMRBUS_MAX_CHANNELS 64      /* start.channels (README "Channels") */
#define SWMRBUS_CHANNEL_NAME_MAX 64
#define SWMRBUS_MAX_START_ARRAYS 64 /* start.arrays (README "Start arrays") */
#define SWMRBUS_PATH_MAX 1024      /* longest dataset / static path in a file */
#define SWMRBUS_STATIC_MAX 4096    /* elements of one start.static array */
#define SWMRBUS_MAX_SHARDS 64 /* scale-out (issue 12): sinks writing one series */
#define SWMRBUS_MAX_DEPTH 8
#define SWMRBUS_NAME_MAX 255      /* longest name / file / sink string kept */
#define SWMRBUS_DATASET_PATH "/entry/data/data"

/* ---- element types and encodings ------------------------------------- */

typedef enum swmrbus_dtype {
    SWMRBUS_DTYPE_NONE = 0,
    SWMRBUS_DTYPE_UINT8, SWMRBUS_DTYPE_UINT16, SWMRBUS_DTYPE_UINT32, SWMRBUS_DTYPE_UINT64,
    SWMRBUS_DTYPE_INT8, SWMRBUS_DTYPE_INT16, SWMRBUS_DTYPE_INT32, SWMRBUS_DTYPE_INT64,
    SWMRBUS_DTYPE_FLOAT32, SWMRBUS_DTYPE_FLOAT64,
} swmrbus_dtype;

typedef enum swmrbus_encoding {
    SWMRBUS_ENC_NONE = 0,
    SWMRBUS_ENC_RAW,   /* prod(shape) * itemsize little-endian bytes */
    SWMRBUS_ENC_BSLZ4, /* a chunk as HDF5 filter 32008 (bitshuffle+LZ4) stores it */
    SWMRBUS_ENC_LZ4,   /* a chunk as HDF5 filter 32004 (LZ4) stores it */
} swmrbus_encoding;

/* numpy names ("uint16"), "raw"/"bslz4"/"lz4"; NULL for NONE/unknown. */
SWMRBUS_API const char *swmrbus_dtype_name(swmrbus_dtype t);
SWMRBUS_API size_t swmrbus_dtype_size(swmrbus_dtype t); /* 0 for NONE */
SWMRBUS_API bool swmrbus_dtype_is_float(swmrbus_dtype t);
SWMRBUS_API bool swmrbus_dtype_is_signed(swmrbus_dtype t);
/* Parses len bytes (not NUL-terminated); NONE when not a known name. */
SWMRBUS_API swmrbus_dtype swmrbus_dtype_parse(const char *s, size_t len);
SWMRBUS_API const char *swmrbus_encoding_name(swmrbus_encoding e);
SWMRBUS_API swmrbus_encoding swmrbus_encoding_parse(const char *s, size_t len);

/* ---- rejection reasons (stable codes, in status and error notices) ---- */

typedef enum swmrbus_reason {
    SWMRBUS_R_BAD_MSGPACK = 0, /* not decodable msgpack, or not a map      */
    SWMRBUS_R_BAD_HEADER,      /* missing / mistyped / invalid header keys */
    SWMRBUS_R_BAD_PAYLOAD,     /* wrong part count or payload size/format  */
    SWMRBUS_R_BAD_NAME,        /* a name that is empty or leaves the dir   */
    SWMRBUS_R_LIMIT,           /* a configured limit was exceeded          */
    SWMRBUS_R_CLOSED_SERIES,   /* frame for a closed series id             */
    SWMRBUS_R_MISMATCH,        /* parameters disagree with the open series */
    SWMRBUS_R_IO,              /* the file could not be written           */
    SWMRBUS_R_COUNT
} swmrbus_reason;

/* "bad_msgpack", ... ; NULL for out-of-range values. */
SWMRBUS_API const char *swmrbus_reason_name(swmrbus_reason r);

/* ---- limits the decoder enforces ------------------------------------- */

typedef struct swmrbus_limits {
    uint64_t max_header_bytes; /* 65536 */
    uint64_t max_frame_bytes;  /* 67108864: raw size of one frame */
    uint64_t max_frames;       /* 10000000: frame index must be < this */
    uint64_t max_open_series;  /* 16 */
    uint64_t max_queue_bytes;  /* 268435456 */
} swmrbus_limits;

/* Fills l with the defaults above. */
SWMRBUS_API void swmrbus_limits_default(swmrbus_limits *l);

/* ---- frame-stream headers -------------------------------------------- */

typedef enum swmrbus_msg_type {
    SWMRBUS_MSG_NONE = 0,
    SWMRBUS_MSG_START,
    SWMRBUS_MSG_FRAME,
    SWMRBUS_MSG_END,
} swmrbus_msg_type;

/* A frame's format: what a start (or an implicit-start frame) declares. */
typedef struct swmrbus_format {
    swmrbus_dtype dtype;
    swmrbus_encoding encoding;
    uint32_t ndim;                       /* 1..3; a named dataset 0..8 (0: a scalar per row) */
    uint64_t shape[SWMRBUS_MAX_DATASET_DIMS]; /* each >= 1 */
} swmrbus_format;

/* A string slice into the decoded buffer (not NUL-terminated). */
typedef struct swmrbus_str {
    const char *ptr;
    size_t len;
} swmrbus_str;

/* The kind of a meta or static value. */
typedef enum swmrbus_meta_kind {
    SWMRBUS_META_INT, SWMRBUS_META_UINT, SWMRBUS_META_FLOAT,
    SWMRBUS_META_BOOL, SWMRBUS_META_STR,
} swmrbus_meta_kind;

/* A decoded header. Fields not present in the message are zero and their
 * has_* flag is false. Slices point into the buffer given to the decoder. */
typedef struct swmrbus_header {
    swmrbus_msg_type type;
    uint64_t series;
    uint64_t frame;          /* frame: 0-based index (< limits.max_frames) */
    uint64_t ts;             /* frame: ns since the epoch */
    bool has_ts;
    uint64_t frames;         /* start: expected count; end: count sent */
    bool has_frames;
    bool has_format;         /* dtype, shape and encoding all present */
    swmrbus_format format;
    swmrbus_str name;        /* start/frame "name" (raw, NOT yet sanitised) */
    swmrbus_str meta;        /* start: raw msgpack bytes of the "meta" map   */
    bool has_origin;         /* start: "origin" map set by a source */
    swmrbus_str origin_sink;
    uint64_t origin_series;
    bool has_origin_series;
    swmrbus_str origin_file;
    /* start: "datasets", the raw msgpack array of the series' named per-row
     * datasets (swmrbus_datasets_foreach walks it); n_datasets 0 = absent:
     * one unnamed dataset described by format. */
    swmrbus_str datasets;
    uint32_t n_datasets;
    /* start: "static", the raw msgpack map {path: value} of datasets written
     * once when the file opens (swmrbus_static_foreach walks it). */
    swmrbus_str statics;
    /* Per-frame times (README "Per-frame times"). start: "times": true, the
     * file gets start_time / stop_time / real_time datasets. frame:
     * "times" [start, stop, real] in seconds (NaN: not known). */
    bool times;
    bool has_frame_times;
    double frame_times[3];
    /* start: "arrays", the raw msgpack array of the arrays written once when
     * the file opens, under /entry/instrument/detector (README "Start
     * arrays"; items as in datasets, walked by swmrbus_datasets_foreach);
     * the start then has one payload part per array. */
    swmrbus_str arrays;
    uint32_t n_arrays;
    /* start: "channels", the raw msgpack array of the channel names of a
     * multi-channel series (README "Channels"): its frames hold one payload
     * part per channel, each of the start's format; n_channels 0: absent. */
    swmrbus_str channels;
    uint32_t n_channels;
} swmrbus_header;

/* One named per-row dataset of a series (an element of start.datasets). */
typedef struct swmrbus_dataset {
    swmrbus_str name;      /* a path inside the file, checked by swmrbus_path_ok */
    swmrbus_format format; /* ndim 0..SWMRBUS_MAX_DATASET_DIMS */
} swmrbus_dataset;

/* True when p may name a dataset or a static inside a file: 1 to
 * SWMRBUS_PATH_MAX bytes, '/'-separated segments none of which is empty,
 * "." or "..", no NUL or control character (< 0x20, 0x7f), and a first
 * segment other than "entry" (the NeXus default and timestamps live there). */
SWMRBUS_API bool swmrbus_path_ok(swmrbus_str p);

/* Name k (from 0) of a channels array that swmrbus_header_decode accepted
 * (header.channels), a slice into it. EINVAL when k is out of range or the
 * bytes are not such an array. Thread-safe. */
SWMRBUS_API swmrbus_err swmrbus_channel_name(swmrbus_str channels, size_t k, swmrbus_str *name);

/* Calls fn for each dataset of a datasets array that swmrbus_header_decode
 * accepted (header.datasets), in order, index from 0; fn returns non-zero to
 * stop. EINVAL when ds is malformed (never for a decoded header's). */
typedef int (*swmrbus_dataset_fn)(const swmrbus_dataset *d, size_t index, void *user);
SWMRBUS_API swmrbus_err swmrbus_datasets_foreach(swmrbus_str ds, swmrbus_dataset_fn fn,
                                                 void *user);

/* One value of start.static: a scalar (count 1, is_array false) or a 1-D
 * array of count elements, all of one kind. Strings come as slices (s for a
 * scalar, ss for an array); numbers as in swmrbus_meta_item. */
typedef struct swmrbus_static_item {
    swmrbus_str path;
    swmrbus_meta_kind kind;
    bool is_array;
    size_t count;
    const int64_t *i;
    const uint64_t *u;
    const double *f;
    swmrbus_str s;
    const swmrbus_str *ss;
} swmrbus_static_item;

/* Walks a static map that swmrbus_header_decode accepted (header.statics)
 * and calls fn per path in wire order (arrays point into scratch storage
 * valid during the call; return non-zero to stop). EINVAL if malformed. */
typedef int (*swmrbus_static_fn)(const swmrbus_static_item *item, void *user);
SWMRBUS_API swmrbus_err swmrbus_static_foreach(swmrbus_str st, swmrbus_static_fn fn,
                                               void *user);

/* Decodes one header part. Unknown keys are ignored; known keys with a wrong
 * type, a missing required key, an unknown dtype/encoding, a shape that is not
 * 1..3 dims of >= 1 or whose raw size exceeds lim->max_frame_bytes, a frame
 * index >= lim->max_frames, a header over lim->max_header_bytes: all errors.
 * A frame carrying only some of dtype/shape/encoding is an error.
 * On error returns SWMRBUS_EINVAL or SWMRBUS_ELIMIT, sets *reason and writes a
 * one-line explanation to why (always NUL-terminated when whylen > 0).
 * meta is checked to be a map with string keys (1..255 bytes, no NUL) whose
 * values are scalars (bool, int, float, str) or arrays of at most 4096
 * numbers (or of bools only). A known key given twice is bad_header.
 * On error, out->series still holds the series when the message had a
 * valid one (else 0), so a rejection can be tied to its series. */
SWMRBUS_API swmrbus_err swmrbus_header_decode(const void *buf, size_t len,
                                              const swmrbus_limits *lim,
                                              swmrbus_header *out,
                                              swmrbus_reason *reason,
                                              char *why, size_t whylen);

/* Raw byte size of one frame: prod(shape) * itemsize; 0 on overflow. */
SWMRBUS_API uint64_t swmrbus_format_raw_bytes(const swmrbus_format *f);

/* True when a and b have the same dtype, encoding and shape. */
SWMRBUS_API bool swmrbus_format_equal(const swmrbus_format *a, const swmrbus_format *b);

/* Checks a payload against its format without decoding it. raw: exactly the
 * raw size. bslz4/lz4: the 12-byte chunk header (big-endian u64 raw size ==
 * the frame's raw size, big-endian u32 block size != 0, for bslz4 a multiple
 * of itemsize*8) and a non-empty body no larger than
 * ceil(S/B')*(4+LZ4_COMPRESSBOUND(B')) + 8*itemsize with B' = min(B, S) (no
 * block holds more than S bytes, so a huge B cannot widen the bound).
 * Errors as for swmrbus_header_decode (reason bad_payload). */
SWMRBUS_API swmrbus_err swmrbus_payload_check(const swmrbus_format *f,
                                              const void *payload, size_t len,
                                              char *why, size_t whylen);

/* ---- a growable output buffer for encoders --------------------------- */

typedef struct swmrbus_buf {
    uint8_t *data;
    size_t len;
    size_t cap;
} swmrbus_buf;

/* Frees b's storage and zeroes it. Safe on a zeroed buffer. */
SWMRBUS_API void swmrbus_buf_free(swmrbus_buf *b);

/* Appends len bytes at p to the swmrbus_buf that buf points to, growing its
 * storage by doubling (first 256 bytes). The signature of msgpack-c's
 * msgpack_packer_write, so `msgpack_packer_init(&pk, &b, swmrbus_buf_write)`
 * packs into b. Returns 0, or -1 when memory runs out or the length would
 * overflow (b is then unchanged). Not thread-safe on one buffer. */
SWMRBUS_API int swmrbus_buf_write(void *buf, const char *p, size_t len);

/* One meta item for the encoder (what a source read back from a file). */

typedef struct swmrbus_meta_item {
    swmrbus_str key;
    swmrbus_meta_kind kind;
    bool is_array;          /* value is an array of count numbers */
    size_t count;           /* 1 for a scalar; string: 1 */
    const int64_t *i;       /* INT / BOOL values (count)   */
    const uint64_t *u;      /* UINT values (count)         */
    const double *f;        /* FLOAT values (count)        */
    swmrbus_str s;          /* STR value                   */
} swmrbus_meta_item;

/* Callback for swmrbus_meta_foreach; return non-zero to stop. The arrays in
 * item point into scratch storage valid only during the call. */
typedef int (*swmrbus_meta_fn)(const swmrbus_meta_item *item, void *user);

/* Walks a meta map that swmrbus_header_decode accepted (header.meta) and
 * calls fn once per key, in wire order. Arrays are converted to the widest
 * kind among their elements (any float: FLOAT; any negative: INT; else UINT).
 * Returns EINVAL if meta is malformed (never for a decoded header's meta). */
SWMRBUS_API swmrbus_err swmrbus_meta_foreach(swmrbus_str meta, swmrbus_meta_fn fn,
                                             void *user);

/* Encodes a frame-stream header into out (replacing its content). For START:
 * series, format, and when set frames, name, meta (items, n_meta), origin,
 * datasets, channels, static, arrays (n_arrays > 0: the payload parts are
 * the caller's) and times (true). FRAME: series, frame, ts when has_ts,
 * times when has_frame_times (NaN as nil). END: series, frames. The header's
 * meta slice is ignored; pass items instead. Returns ENOMEM or EINVAL. */
SWMRBUS_API swmrbus_err swmrbus_header_encode(const swmrbus_header *h,
                                              const swmrbus_meta_item *meta,
                                              size_t n_meta, swmrbus_buf *out);

/* ---- notifications ---------------------------------------------------- */

#define SWMRBUS_TOPIC_OPEN "swmrbus.open"
#define SWMRBUS_TOPIC_FLUSHED "swmrbus.flushed"
#define SWMRBUS_TOPIC_CLOSED "swmrbus.closed"
#define SWMRBUS_TOPIC_ERROR "swmrbus.error"

typedef enum swmrbus_topic {
    SWMRBUS_TOPIC_NONE = 0,
    SWMRBUS_NOTICE_OPEN,
    SWMRBUS_NOTICE_FLUSHED,
    SWMRBUS_NOTICE_CLOSED,
    SWMRBUS_NOTICE_ERROR,
} swmrbus_topic;

SWMRBUS_API const char *swmrbus_topic_name(swmrbus_topic t);
SWMRBUS_API swmrbus_topic swmrbus_topic_parse(const void *s, size_t len);

/* A notification map. Absent keys have has_* false (and are not encoded). */
typedef struct swmrbus_notice {
    swmrbus_topic topic;
    uint64_t series;  bool has_series;
    swmrbus_str file;
    swmrbus_str dataset;
    uint64_t frames;  bool has_frames;
    uint64_t written; bool has_written;
    uint64_t complete; bool has_complete;
    uint64_t seq;     bool has_seq;
    uint64_t t;       bool has_t;
    swmrbus_str sink;
    swmrbus_str via;
    swmrbus_str error;
    bool has_reason;  swmrbus_reason reason;
    uint64_t count;   bool has_count;
    /* scale-out (issue 12), all optional: a sharded sink's `shard` (its
     * index) and `shards` (the count, a uint); a coordinator's `shards` (an
     * array of each shard's N: shards = its length, shard_frames its items,
     * has_shard_frames true). Absent when not sharded. */
    uint64_t shard;   bool has_shard;
    uint64_t shards;  bool has_shards;
    uint64_t shard_frames[SWMRBUS_MAX_SHARDS]; bool has_shard_frames;
} swmrbus_notice;

/* Encodes the map part of n (the topic part is swmrbus_topic_name()). */
SWMRBUS_API swmrbus_err swmrbus_notice_encode(const swmrbus_notice *n, swmrbus_buf *out);

/* Decodes a notification: topic part and map part. Unknown keys ignored;
 * mistyped known keys are EINVAL. Same bounded-scan rules as headers. */
SWMRBUS_API swmrbus_err swmrbus_notice_decode(const void *topic, size_t topic_len,
                                              const void *map, size_t map_len,
                                              size_t max_bytes, swmrbus_notice *out,
                                              char *why, size_t whylen);

/* ---- control requests ------------------------------------------------- */

typedef enum swmrbus_cmd {
    SWMRBUS_CMD_NONE = 0,
    SWMRBUS_CMD_STATUS,
    SWMRBUS_CMD_FLUSH,
    SWMRBUS_CMD_CLOSE,
} swmrbus_cmd;

typedef struct swmrbus_request {
    swmrbus_cmd cmd;
    uint64_t series;
    bool has_series;
} swmrbus_request;

/* Decodes a control request {cmd: "status"|"flush"|"close", series?: uint}.
 * EINVAL with a reason in why for anything else (including unknown cmd). */
SWMRBUS_API swmrbus_err swmrbus_request_decode(const void *buf, size_t len,
                                               size_t max_bytes,
                                               swmrbus_request *out,
                                               char *why, size_t whylen);

/* ---- the bounded scanner (exposed for tests and fuzzing) ------------- */

/* Checks that buf holds exactly one msgpack object, no trailing bytes, every
 * array/map/str/bin/ext count <= the bytes left, nesting <= max_depth, len <=
 * max_bytes. O(len) time, O(1) memory. Returns SWMRBUS_OK or EINVAL/ELIMIT. */
SWMRBUS_API swmrbus_err swmrbus_msgpack_scan(const void *buf, size_t len,
                                             size_t max_bytes, unsigned max_depth,
                                             char *why, size_t whylen);

#ifdef __cplusplus
}
#endif
#endif
