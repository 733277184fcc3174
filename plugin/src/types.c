/* types.c — names and sizes of dtypes, encodings, reasons and topics;
 * limits defaults; format helpers. */
#include <stdlib.h>
#include <string.h>

#include "swmrbus/wire.h"

static const struct {
    const char *name;
    size_t size;
} dtypes[] = {
    [SWMRBUS_DTYPE_NONE] = {NULL, 0},     [SWMRBUS_DTYPE_UINT8] = {"uint8", 1},
    [SWMRBUS_DTYPE_UINT16] = {"uint16", 2}, [SWMRBUS_DTYPE_UINT32] = {"uint32", 4},
    [SWMRBUS_DTYPE_UINT64] = {"uint64", 8}, [SWMRBUS_DTYPE_INT8] = {"int8", 1},
    [SWMRBUS_DTYPE_INT16] = {"int16", 2},   [SWMRBUS_DTYPE_INT32] = {"int32", 4},
    [SWMRBUS_DTYPE_INT64] = {"int64", 8},   [SWMRBUS_DTYPE_FLOAT32] = {"float32", 4},
    [SWMRBUS_DTYPE_FLOAT64] = {"float64", 8},
};
#define N_DTYPES (sizeof dtypes / sizeof dtypes[0])

static const char *const encodings[] = {NULL, "raw", "bslz4", "lz4"};
static const char *const reasons[SWMRBUS_R_COUNT] = {
    "bad_msgpack", "bad_header", "bad_payload", "bad_name",
    "limit",       "closed_series", "mismatch", "io",
};
static const char *const topics[] = {NULL, SWMRBUS_TOPIC_OPEN, SWMRBUS_TOPIC_FLUSHED,
                                     SWMRBUS_TOPIC_CLOSED, SWMRBUS_TOPIC_ERROR};

static int slice_is(const char *s, size_t len, const char *name)
{
    return name && strlen(name) == len && memcmp(s, name, len) == 0;
}

const char *swmrbus_dtype_name(swmrbus_dtype t)
{
    return (unsigned)t < N_DTYPES ? dtypes[t].name : NULL;
}

size_t swmrbus_dtype_size(swmrbus_dtype t)
{
    return (unsigned)t < N_DTYPES ? dtypes[t].size : 0;
}

bool swmrbus_dtype_is_float(swmrbus_dtype t)
{
    return t == SWMRBUS_DTYPE_FLOAT32 || t == SWMRBUS_DTYPE_FLOAT64;
}

bool swmrbus_dtype_is_signed(swmrbus_dtype t)
{
    return t >= SWMRBUS_DTYPE_INT8 && t <= SWMRBUS_DTYPE_INT64;
}

swmrbus_dtype swmrbus_dtype_parse(const char *s, size_t len)
{
    for (unsigned i = 1; i < N_DTYPES; i++)
        if (slice_is(s, len, dtypes[i].name)) return (swmrbus_dtype)i;
    return SWMRBUS_DTYPE_NONE;
}

const char *swmrbus_encoding_name(swmrbus_encoding e)
{
    return (unsigned)e < 4 ? encodings[e] : NULL;
}

swmrbus_encoding swmrbus_encoding_parse(const char *s, size_t len)
{
    for (unsigned i = 1; i < 4; i++)
        if (slice_is(s, len, encodings[i])) return (swmrbus_encoding)i;
    return SWMRBUS_ENC_NONE;
}

const char *swmrbus_reason_name(swmrbus_reason r)
{
    return (unsigned)r < SWMRBUS_R_COUNT ? reasons[r] : NULL;
}

const char *swmrbus_topic_name(swmrbus_topic t)
{
    return (unsigned)t < 5 ? topics[t] : NULL;
}

swmrbus_topic swmrbus_topic_parse(const void *s, size_t len)
{
    for (unsigned i = 1; i < 5; i++)
        if (slice_is(s, len, topics[i])) return (swmrbus_topic)i;
    return SWMRBUS_TOPIC_NONE;
}

void swmrbus_limits_default(swmrbus_limits *l)
{
    l->max_header_bytes = 65536;
    l->max_frame_bytes = 67108864;
    l->max_frames = 10000000;
    l->max_open_series = 16;
    l->max_queue_bytes = 268435456;
}

uint64_t swmrbus_format_raw_bytes(const swmrbus_format *f)
{
    uint64_t n = swmrbus_dtype_size(f->dtype);
    if (n == 0 || f->ndim > SWMRBUS_MAX_DATASET_DIMS) return 0; /* ndim 0: a scalar */
    for (uint32_t i = 0; i < f->ndim; i++) {
        if (f->shape[i] == 0 || n > UINT64_MAX / f->shape[i]) return 0;
        n *= f->shape[i];
    }
    return n;
}

bool swmrbus_format_equal(const swmrbus_format *a, const swmrbus_format *b)
{
    if (a->dtype != b->dtype || a->encoding != b->encoding || a->ndim != b->ndim) return false;
    for (uint32_t i = 0; i < a->ndim && i < SWMRBUS_MAX_DATASET_DIMS; i++)
        if (a->shape[i] != b->shape[i]) return false;
    return true;
}

void swmrbus_buf_free(swmrbus_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int swmrbus_buf_write(void *buf, const char *p, size_t len)
{
    swmrbus_buf *b = buf;
    if (len == 0) return 0;
    if (len > SIZE_MAX - b->len) return -1;
    size_t need = b->len + len;
    if (need > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < need) cap = cap > SIZE_MAX / 2 ? need : cap * 2;
        uint8_t *d = realloc(b->data, cap);
        if (!d) return -1;
        b->data = d;
        b->cap = cap;
    }
    memcpy(b->data + b->len, p, len);
    b->len += len;
    return 0;
}
