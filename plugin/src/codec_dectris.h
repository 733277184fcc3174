/* codec_dectris.h — what the Dectris decoders (stream v2: codec_dectris2.c,
 * stream v1: codec_dectris1.c) share: one swmrbus series per detector
 * series, its start held back until the first image (neither stream says the
 * element type before it), rows counted from the series' first image id, and
 * the NXmx fields of the start as start.meta (with definition "NXmx", which
 * sink/writer_nxmx.c places). Internal to libswmrbus. */
#ifndef SWMRBUS_CODEC_DECTRIS_H
#define SWMRBUS_CODEC_DECTRIS_H

#include <msgpack.h>
#include <stdbool.h>
#include <stdint.h>

#include "swmrbus/codec.h"

#define SWMRBUS__DX_NAME_MAX 255    /* series_unique_id bytes kept (a file name stem) */
#define SWMRBUS__DX_CHANNEL_MAX 64  /* bytes of a channel name kept */

#define SWMRBUS__DX_CHANNELS_MAX 16 /* channels (thresholds) of a series */
#define SWMRBUS__DX_ARRAYS_MAX 49   /* 3 per channel (mask, flatfield, threshold_energy)
                                     * and the countrate table: kept per series */

/* One array of a start (a pixel mask or flatfield): written once with the
 * swmrbus start as a start array (README "Start arrays"). */
typedef struct swmrbus__dx_array {
    char channel[SWMRBUS__DX_CHANNEL_MAX + 1]; /* "": the detector's, not a channel's */
    char what[48];                           /* "pixel_mask", "flatfield", "threshold_energy",
                                              * a countrate table's path */
    swmrbus_format f;                        /* raw, 2-D [y, x] (0-D: a scalar; a countrate
                                              * table: 1-D or 2-D) */
    zmq_msg_t *msg;                          /* its bytes (a slice), owned */
} swmrbus__dx_array;

typedef struct swmrbus__dx_series {
    bool used;
    bool started;              /* the swmrbus start went out (first image seen) */
    uint64_t id;               /* the detector's series id (= the swmrbus series) */
    uint64_t last_use;         /* for evicting a series whose end never came */
    uint64_t size_x, size_y;   /* 0: unknown until the first image (v1 basic/none) */
    bool has_frames;
    uint64_t frames;           /* images expected */
    char name[SWMRBUS__DX_NAME_MAX + 1];
    size_t n_channels;         /* 0: the stream did not say (one) */
    char channel[SWMRBUS__DX_CHANNELS_MAX][SWMRBUS__DX_CHANNEL_MAX + 1]; /* their names */
    uint8_t *meta;             /* msgpack map entries of the NXmx fields */
    size_t meta_len;
    uint32_t meta_n;           /* their count */
    swmrbus_format format;     /* from the first image */
    uint64_t first_id;         /* image id of row 0 */
    uint64_t rows;             /* highest row + 1 */
    uint64_t epoch_ns;         /* v1: data_collection_date (0: unknown), base of the
                                * images' start_time */
    size_t n_arrays;           /* the start's pixel masks / flatfields, until the
                                * swmrbus start goes out */
    swmrbus__dx_array arrays[SWMRBUS__DX_ARRAYS_MAX];
} swmrbus__dx_series;

typedef struct swmrbus__dx {
    const char *proto;         /* "dectris-stream2", for error texts */
    swmrbus_limits lim;
    uint64_t max_start_bytes;
    size_t n_slots;
    swmrbus__dx_series *slots;
    uint64_t clock;
    swmrbus_buf hdr;           /* scratch: an emitted header */
    swmrbus_buf meta;          /* scratch: meta entries of a start */
} swmrbus__dx;

/* Meta entries being packed for a start (into dx->meta). */
typedef struct swmrbus__dx_meta {
    msgpack_packer pk;
    uint32_t n;
    int e;                     /* non-zero: out of memory */
} swmrbus__dx_meta;

swmrbus_err swmrbus__dx_init(swmrbus__dx *d, const swmrbus_component_cfg *cfg,
                             const char *proto, char *err, size_t errlen);
void swmrbus__dx_fini(swmrbus__dx *d);
swmrbus__dx_series *swmrbus__dx_find(swmrbus__dx *d, uint64_t id);

/* Starts the meta entries (the first: definition = "NXmx"). */
void swmrbus__dx_meta_begin(swmrbus__dx *d, swmrbus__dx_meta *m);
void swmrbus__dx_meta_key(swmrbus__dx_meta *m, const char *key);
void swmrbus__dx_meta_f64(swmrbus__dx_meta *m, const char *key, double v);
void swmrbus__dx_meta_str(swmrbus__dx_meta *m, const char *key, const void *s, size_t n);
void swmrbus__dx_meta_bool(swmrbus__dx_meta *m, const char *key, bool v);

/* Keeps len bytes at data inside part (a zero-copy slice) as the array
 * "<what>" of channel (single channel: named what, else
 * "<channel>_channel/<what>", Dectris's NXmx 2024.02 layout) of dtype t
 * and shape [y, x]. Skipped (false) when the bytes are not y * x elements,
 * the array exceeds limits.max_frame_bytes, or SWMRBUS__DX_ARRAYS_MAX are
 * kept. */
bool swmrbus__dx_array_add(swmrbus__dx *d, swmrbus__dx_series *se, const char *what,
                           const char *channel, swmrbus_dtype t, uint64_t y, uint64_t x,
                           zmq_msg_t *part, const void *data, size_t len);
/* Keeps len bytes at data inside part (a zero-copy slice) as the detector's
 * array path (below /entry/instrument/detector, whatever the channels: a
 * countrate correction table) of dtype t and shape[0 .. ndim) (1 or 2
 * dims). Skipped (false) as for swmrbus__dx_array_add. */
bool swmrbus__dx_array_det(swmrbus__dx *d, swmrbus__dx_series *se, const char *path,
                           swmrbus_dtype t, uint32_t ndim, const uint64_t *shape,
                           zmq_msg_t *part, const void *data, size_t len);
/* Keeps a float64 scalar v as the array "<channel>_channel/<what>" (a
 * channel's threshold_energy); false as for swmrbus__dx_array_add. */
bool swmrbus__dx_array_f64(swmrbus__dx_series *se, const char *what, const char *channel,
                           double v);
/* Frees the arrays se holds. */
void swmrbus__dx_arrays_free(swmrbus__dx_series *se);

/* Opens series se (id, sizes, frames, channels set; name from unique when
 * 1..255 bytes without NUL, else series_<id>) with the meta of m. Rejects
 * (through out) a start for an open series, metadata over the header
 * limit, more than one channel; takes the least recently used slot when
 * none is free. */
void swmrbus__dx_open(swmrbus__dx *d, swmrbus__dx_series *se, swmrbus__dx_meta *m,
                      const void *unique, size_t unique_len, const swmrbus_decode_sink *out);

/* One image of series se in format f (shape y x filled here when the start
 * gave none) with id image_id: emits the start first when it is the
 * series' first image, then the frame whose payloads are payloads[0 .. n)
 * (one per channel, each of format f; taken over: closed on every path). */
void swmrbus__dx_image(swmrbus__dx *d, swmrbus__dx_series *se, swmrbus_format f,
                       uint64_t image_id, zmq_msg_t *payload, const swmrbus_decode_sink *out);

/* The same with the frame's ts (ns since the epoch) when ts != 0, and its
 * times [start_time, stop_time, real_time] in s (NaN: not said) when times
 * is not NULL (the frame's "times", README "Per-frame times"), and n
 * payloads (n = the series' channels, at most SWMRBUS__DX_CHANNELS_MAX). */
void swmrbus__dx_image_ts(swmrbus__dx *d, swmrbus__dx_series *se, swmrbus_format f,
                          uint64_t image_id, uint64_t ts, const double *times,
                          zmq_msg_t *payloads, size_t n, const swmrbus_decode_sink *out);

/* An RFC 3339 date-time ("2026-11-29T22:00:00.123Z", "...+01:00"; no zone:
 * UTC) of n bytes as ns since the epoch; false when it is not one or lies
 * before 1970 or after 2262. */
bool swmrbus__dx_rfc3339(const char *s, size_t n, uint64_t *ns);

/* base_ns + num / den seconds, in ns; 0 when den is 0 or it overflows. */
uint64_t swmrbus__dx_add_rational(uint64_t base_ns, uint64_t num, uint64_t den);

/* The end of series id: emits end (frames = highest row + 1) when its start
 * went out, and frees the slot; rejects an end for no series. */
void swmrbus__dx_end(swmrbus__dx *d, uint64_t id, const swmrbus_decode_sink *out);

#define SWMRBUS__DX_USER_DATA_MAX 16384 /* bytes of user_data / appendix kept (JSON) */

/* Adds user_data (a JSON text of n bytes, already valid JSON) to the meta
 * when it is at most SWMRBUS__DX_USER_DATA_MAX bytes (sink/writer_nxmx.c
 * makes it the attribute /entry@user_data). */
void swmrbus__dx_meta_user_data(swmrbus__dx_meta *m, const char *json, size_t n);

/* A wire string for an error text: printable ASCII only, at most cap-1. */
const char *swmrbus__dx_printable(char *out, size_t cap, const void *p, size_t n);

#endif
