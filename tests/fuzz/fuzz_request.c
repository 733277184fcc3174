/* fuzz_request.c — libFuzzer target for swmrbus_request_decode (a control
 * socket's request).
 *
 * Input: the request bytes. Checks besides "no crash, no UB, no leak": the
 * error text is one line; a failed decode leaves a zeroed request; the
 * result does not depend on max_bytes above the size and is an error below
 * it; a strict prefix (msgpack is prefix-free) and the input with one byte
 * appended never decode; decode -> encode (msgpack-c's packer) -> decode
 * gives the same request, and encoding that gives the same bytes again. */
#include <stdint.h>

#include <msgpack.h>

#include "fuzz_check.h"
#include "swmrbus/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char *cmd_name(swmrbus_cmd c)
{
    switch (c) {
    case SWMRBUS_CMD_STATUS: return "status";
    case SWMRBUS_CMD_FLUSH: return "flush";
    case SWMRBUS_CMD_CLOSE: return "close";
    case SWMRBUS_CMD_NONE: break;
    }
    return NULL;
}

/* {cmd: name, series?: n}, written by msgpack-c. */
static void encode(const swmrbus_request *q, msgpack_sbuffer *sb)
{
    msgpack_packer pk;
    const char *name = cmd_name(q->cmd);
    CHECK(name != NULL);
    msgpack_sbuffer_init(sb);
    msgpack_packer_init(&pk, sb, msgpack_sbuffer_write);
    CHECK(msgpack_pack_map(&pk, q->has_series ? 2 : 1) == 0);
    CHECK(msgpack_pack_str_with_body(&pk, "cmd", 3) == 0);
    CHECK(msgpack_pack_str_with_body(&pk, name, strlen(name)) == 0);
    if (q->has_series) {
        CHECK(msgpack_pack_str_with_body(&pk, "series", 6) == 0);
        CHECK(msgpack_pack_uint64(&pk, q->series) == 0);
    }
}

static bool same(const swmrbus_request *a, const swmrbus_request *b)
{
    return a->cmd == b->cmd && a->has_series == b->has_series && a->series == b->series;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const size_t max = 4096; /* what sink and source pass */
    swmrbus_request q, q2;
    char why[128];
    memset(why, 'X', sizeof why);

    swmrbus_err e = swmrbus_request_decode(data, size, max, &q, why, sizeof why);
    CHECK(one_line(why, sizeof why));
    CHECK(e == SWMRBUS_OK || e == SWMRBUS_EINVAL);
    CHECK((e == SWMRBUS_OK) == (why[0] == '\0'));
    swmrbus_err e2 = swmrbus_request_decode(data, size, SIZE_MAX, &q2, why, sizeof why);
    if (size <= max) CHECK(e2 == e && (e != SWMRBUS_OK || same(&q, &q2)));
    if (size > 0)
        CHECK(swmrbus_request_decode(data, size, size - 1, &q2, why, sizeof why) != SWMRBUS_OK);

    if (e != SWMRBUS_OK) {
        swmrbus_request z;
        memset(&z, 0, sizeof z);
        CHECK(memcmp(&q, &z, sizeof z) == 0);
        return 0;
    }
    CHECK(q.cmd != SWMRBUS_CMD_NONE);
    CHECK(q.has_series || q.series == 0);

    /* prefix-free: no strict prefix decodes; a trailing byte is refused */
    CHECK(swmrbus_request_decode(data, size - 1, max, &q2, why, sizeof why) != SWMRBUS_OK);
    uint8_t *longer = malloc(size + 1);
    CHECK(longer != NULL);
    memcpy(longer, data, size);
    longer[size] = 0xc0; /* nil */
    CHECK(swmrbus_request_decode(longer, size + 1, max, &q2, why, sizeof why) != SWMRBUS_OK);
    free(longer);

    /* decode -> encode -> decode -> encode: same request, same bytes */
    msgpack_sbuffer a, b;
    encode(&q, &a);
    CHECK(swmrbus_request_decode(a.data, a.size, max, &q2, why, sizeof why) == SWMRBUS_OK);
    CHECK(same(&q, &q2));
    encode(&q2, &b);
    CHECK(a.size == b.size && memcmp(a.data, b.data, a.size) == 0);
    msgpack_sbuffer_destroy(&a);
    msgpack_sbuffer_destroy(&b);
    return 0;
}
