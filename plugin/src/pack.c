/* pack.c — msgpack helpers for the components' status replies. */
#include <string.h>

#include "pack.h"
#include "swmrbus/wire.h"

void swmrbus__pack_str(msgpack_packer *pk, const char *s)
{
    size_t n = strlen(s);
    msgpack_pack_str(pk, n);
    msgpack_pack_str_body(pk, s, n);
}

void swmrbus__pack_rejected(msgpack_packer *pk, const uint64_t *r)
{
    size_t n = 0;
    for (int i = 0; i < SWMRBUS_R_COUNT; i++) n += r[i] != 0;
    msgpack_pack_map(pk, n);
    for (int i = 0; i < SWMRBUS_R_COUNT; i++) {
        if (!r[i]) continue;
        swmrbus__pack_str(pk, swmrbus_reason_name((swmrbus_reason)i));
        msgpack_pack_uint64(pk, r[i]);
    }
}
