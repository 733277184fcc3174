/* fuzz_notice.c — libFuzzer target for swmrbus_notice_decode.
 *
 * Input: byte 0 = the topic's length T (mod 32), then T bytes of topic, then
 * the msgpack map part (a short input gives a short topic and an empty map).
 * Checks besides "no crash, no UB, no leak": the error text is one line; a
 * failed decode leaves nothing but the topic; a decoded notice's strings lie
 * inside the map part; the same bytes decode the same with any larger
 * max_bytes and fail (ELIMIT) with a smaller one; decode -> encode -> decode
 * gives the same notice, and encoding that gives the same bytes again; no
 * strict prefix of a decoded map decodes (msgpack is prefix-free). */
#include <stdint.h>

#include "fuzz_check.h"
#include "swmrbus/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool inside(swmrbus_str s, const uint8_t *buf, size_t len)
{
    if (!s.ptr) return s.len == 0;
    const uint8_t *p = (const uint8_t *)s.ptr;
    return p >= buf && p + s.len <= buf + len;
}

static bool str_eq(swmrbus_str a, swmrbus_str b)
{
    if (!a.ptr || !b.ptr) return !a.ptr && !b.ptr;
    return a.len == b.len && (a.len == 0 || memcmp(a.ptr, b.ptr, a.len) == 0);
}

static void check_same(const swmrbus_notice *a, const swmrbus_notice *b)
{
    CHECK(a->topic == b->topic);
    CHECK(a->has_series == b->has_series && a->series == b->series);
    CHECK(a->has_frames == b->has_frames && a->frames == b->frames);
    CHECK(a->has_written == b->has_written && a->written == b->written);
    CHECK(a->has_complete == b->has_complete && a->complete == b->complete);
    CHECK(a->has_seq == b->has_seq && a->seq == b->seq);
    CHECK(a->has_t == b->has_t && a->t == b->t);
    CHECK(a->has_count == b->has_count && a->count == b->count);
    CHECK(a->has_reason == b->has_reason && a->reason == b->reason);
    /* scale-out (issue 12) */
    CHECK(a->has_shard == b->has_shard && a->shard == b->shard);
    CHECK(a->has_shards == b->has_shards && a->shards == b->shards);
    CHECK(a->has_shard_frames == b->has_shard_frames);
    if (a->has_shard_frames)
        CHECK(a->shards <= SWMRBUS_MAX_SHARDS &&
              memcmp(a->shard_frames, b->shard_frames, a->shards * sizeof a->shard_frames[0]) == 0);
    CHECK(str_eq(a->file, b->file) && str_eq(a->dataset, b->dataset));
    CHECK(str_eq(a->sink, b->sink) && str_eq(a->via, b->via) && str_eq(a->error, b->error));
}

static bool all_zero_but_topic(const swmrbus_notice *n)
{
    swmrbus_notice z;
    memset(&z, 0, sizeof z);
    z.topic = n->topic;
    return memcmp(&z, n, sizeof z) == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    size_t tlen = size > 0 ? data[0] % 32u : 0;
    if (tlen > (size > 0 ? size - 1 : 0)) tlen = size > 0 ? size - 1 : 0;
    const char *topic = size > 0 ? (const char *)data + 1 : "";
    const uint8_t *map = size > 0 ? data + 1 + tlen : data;
    size_t mlen = size > 0 ? size - 1 - tlen : 0;
    const size_t max = 65536;

    swmrbus_notice n, n2, n3;
    char why[128];
    memset(why, 'X', sizeof why);
    swmrbus_err e = swmrbus_notice_decode(topic, tlen, map, mlen, max, &n, why, sizeof why);
    CHECK(one_line(why, sizeof why));
    CHECK(e == SWMRBUS_OK || e == SWMRBUS_EINVAL || e == SWMRBUS_ELIMIT);
    CHECK(n.topic == swmrbus_topic_parse(topic, tlen));
    CHECK((e == SWMRBUS_OK) == (why[0] == '\0'));

    /* a larger bound changes nothing; a bound below the size is ELIMIT
     * (once the topic is known: it is checked first) */
    {
        swmrbus_err e2 = swmrbus_notice_decode(topic, tlen, map, mlen, SIZE_MAX, &n2, why,
                                               sizeof why);
        CHECK(mlen > max ? e2 != SWMRBUS_ELIMIT : e2 == e);
        if (e == SWMRBUS_OK) check_same(&n, &n2);
        if (mlen > 0 && n.topic != SWMRBUS_TOPIC_NONE)
            CHECK(swmrbus_notice_decode(topic, tlen, map, mlen, mlen - 1, &n3, why,
                                        sizeof why) == SWMRBUS_ELIMIT);
    }
    if (e != SWMRBUS_OK) {
        CHECK(all_zero_but_topic(&n));
        return 0;
    }
    CHECK(n.topic != SWMRBUS_TOPIC_NONE);
    CHECK(mlen <= max);
    CHECK(inside(n.file, map, mlen) && inside(n.dataset, map, mlen) &&
          inside(n.sink, map, mlen) && inside(n.via, map, mlen) && inside(n.error, map, mlen));
    CHECK(n.has_reason ? n.reason < SWMRBUS_R_COUNT : n.reason == 0);
    /* msgpack is prefix-free: no strict prefix of the map decodes */
    CHECK(mlen > 0);
    CHECK(swmrbus_notice_decode(topic, tlen, map, mlen - 1, max, &n3, why, sizeof why) !=
          SWMRBUS_OK);

    /* decode -> encode -> decode -> encode: same notice, same bytes */
    swmrbus_buf out = {0}, out2 = {0};
    CHECK(swmrbus_notice_encode(&n, &out) == SWMRBUS_OK);
    const char *tn = swmrbus_topic_name(n.topic);
    CHECK(swmrbus_topic_parse(tn, strlen(tn)) == n.topic);
    CHECK(swmrbus_notice_decode(tn, strlen(tn), out.data, out.len, out.len, &n2, why,
                                sizeof why) == SWMRBUS_OK);
    check_same(&n, &n2);
    CHECK(swmrbus_notice_encode(&n2, &out2) == SWMRBUS_OK);
    CHECK(out2.len == out.len && memcmp(out2.data, out.data, out.len) == 0);
    swmrbus_buf_free(&out);
    swmrbus_buf_free(&out2);
    return 0;
}
