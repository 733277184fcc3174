/* notice.c — decodes notifications (topic part + msgpack map part). The
 * encoder is in wire_encode.c. */
#include <string.h>

#include "mpread.h"
#include "swmrbus/wire.h"

enum {
    N_SERIES, N_FILE, N_DATASET, N_FRAMES, N_WRITTEN, N_COMPLETE, N_SEQ, N_T,
    N_SINK, N_VIA, N_ERROR, N_REASON, N_COUNT_KEY, N_SHARD, N_SHARDS, N_KEYS
};
static const char *const notice_keys[N_KEYS] = {
    "series", "file", "dataset", "frames", "written", "complete", "seq", "t",
    "sink", "via", "error", "reason", "count", "shard", "shards",
};

static int notice_key(swmrbus_str key)
{
    for (int k = 0; k < N_KEYS; k++)
        if (swmrbus__str_is(key, notice_keys[k])) return k;
    return -1;
}

/* Where key id's uint goes, or NULL when the key is not a uint. */
static uint64_t *uint_slot(swmrbus_notice *n, int id, bool **has)
{
    switch (id) {
    case N_SERIES: *has = &n->has_series; return &n->series;
    case N_FRAMES: *has = &n->has_frames; return &n->frames;
    case N_WRITTEN: *has = &n->has_written; return &n->written;
    case N_COMPLETE: *has = &n->has_complete; return &n->complete;
    case N_SEQ: *has = &n->has_seq; return &n->seq;
    case N_T: *has = &n->has_t; return &n->t;
    case N_COUNT_KEY: *has = &n->has_count; return &n->count;
    case N_SHARD: *has = &n->has_shard; return &n->shard;
    default: return NULL;
    }
}

static swmrbus_str *str_slot(swmrbus_notice *n, int id)
{
    switch (id) {
    case N_FILE: return &n->file;
    case N_DATASET: return &n->dataset;
    case N_SINK: return &n->sink;
    case N_VIA: return &n->via;
    case N_ERROR: return &n->error;
    default: return NULL;
    }
}

/* `shards`: a uint (a sharded sink's count) or an array of at most
 * SWMRBUS_MAX_SHARDS uints (a coordinator's per-shard N). */
static swmrbus_err decode_shards(swmrbus__mp *mp, swmrbus_notice *n)
{
    swmrbus__mp probe = *mp;
    swmrbus__mp_val v;
    if (swmrbus__mp_next(&probe, &v) != SWMRBUS_OK) return SWMRBUS_EINVAL;
    if (v.type == SWMRBUS__MP_UINT) {
        *mp = probe;
        n->shards = v.u;
        n->has_shards = true;
        return SWMRBUS_OK;
    }
    size_t count;
    if (swmrbus__mp_array(mp, &count) != SWMRBUS_OK || count > SWMRBUS_MAX_SHARDS)
        return SWMRBUS_EINVAL;
    for (size_t i = 0; i < count; i++)
        if (swmrbus__mp_uint(mp, &n->shard_frames[i]) != SWMRBUS_OK) return SWMRBUS_EINVAL;
    n->shards = count;
    n->has_shards = true;
    n->has_shard_frames = true;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus_notice_decode(const void *topic, size_t topic_len, const void *map,
                                  size_t map_len, size_t max_bytes, swmrbus_notice *out,
                                  char *why, size_t whylen)
{
    swmrbus_err err = SWMRBUS_OK;
    swmrbus__mp mp;
    size_t pairs;
    unsigned seen = 0;

    if (why && whylen) why[0] = '\0';
    if (!out) {
        err = SWMRBUS_EINVAL;
        swmrbus__wire_why(why, whylen, "no output notice");
        goto out;
    }
    memset(out, 0, sizeof *out);
    if (!topic && topic_len > 0) topic_len = 0; /* parses as unknown */
    out->topic = swmrbus_topic_parse(topic ? topic : "", topic_len);
    if (out->topic == SWMRBUS_TOPIC_NONE) {
        err = SWMRBUS_EINVAL;
        swmrbus__wire_why(why, whylen, "unknown notification topic");
        goto out;
    }
    err = swmrbus_msgpack_scan(map, map_len, max_bytes, SWMRBUS_MAX_DEPTH, why, whylen);
    if (err != SWMRBUS_OK) goto out; /* EINVAL, or ELIMIT when over max_bytes */
    swmrbus__mp_init(&mp, map, map_len);
    err = SWMRBUS_EINVAL; /* until the walk completes */
    if (swmrbus__mp_map(&mp, &pairs) != SWMRBUS_OK) {
        swmrbus__wire_why(why, whylen, "notification is not a msgpack map");
        goto out;
    }
    for (size_t k = 0; k < pairs; k++) {
        swmrbus_str key;
        if (swmrbus__mp_str(&mp, &key) != SWMRBUS_OK) {
            swmrbus__wire_why(why, whylen, "notification key %zu is not a string", k);
            goto out;
        }
        int id = notice_key(key);
        if (id < 0) { /* unknown keys are ignored */
            if (swmrbus__mp_skip(&mp) != SWMRBUS_OK) {
                swmrbus__wire_why(why, whylen, "truncated value");
                goto out;
            }
            continue;
        }
        const char *kn = notice_keys[id];
        if (seen & (1u << id)) {
            swmrbus__wire_why(why, whylen, "duplicate key \"%s\"", kn);
            goto out;
        }
        seen |= 1u << id;
        bool *has = NULL;
        uint64_t *u = uint_slot(out, id, &has);
        swmrbus_str *s = str_slot(out, id);
        if (id == N_SHARDS) { /* scale-out: a count (sink) or each shard's N (coordinator) */
            if (decode_shards(&mp, out) != SWMRBUS_OK) {
                swmrbus__wire_why(why, whylen,
                                  "shards: must be an unsigned integer or an array of at most "
                                  "%d of them", SWMRBUS_MAX_SHARDS);
                goto out;
            }
        } else if (u) {
            if (swmrbus__mp_uint(&mp, u) != SWMRBUS_OK) {
                swmrbus__wire_why(why, whylen, "%s: must be an unsigned integer", kn);
                goto out;
            }
            *has = true;
        } else if (s) {
            if (swmrbus__mp_str(&mp, s) != SWMRBUS_OK) {
                swmrbus__wire_why(why, whylen, "%s: must be a string", kn);
                goto out;
            }
        } else { /* N_REASON: a known code; an unknown (newer) one stays absent */
            swmrbus_str r;
            if (swmrbus__mp_str(&mp, &r) != SWMRBUS_OK) {
                swmrbus__wire_why(why, whylen, "reason: must be a string");
                goto out;
            }
            for (int c = 0; c < SWMRBUS_R_COUNT; c++) {
                if (swmrbus__str_is(r, swmrbus_reason_name((swmrbus_reason)c))) {
                    out->reason = (swmrbus_reason)c;
                    out->has_reason = true;
                }
            }
        }
    }
    err = SWMRBUS_OK;
out:
    if (err != SWMRBUS_OK && out) {
        swmrbus_topic t = out->topic;
        memset(out, 0, sizeof *out);
        out->topic = t;
    }
    return err;
}
