/* pack.c — msgpack helpers for status and reply maps (swmrbus/pack.h). */
#include <string.h>

#include "swmrbus/pack.h"

int swmrbus_pack_cstr(msgpack_packer *pk, const char *s)
{
    size_t n = s ? strlen(s) : 0;
    if (msgpack_pack_str(pk, n) != 0) return -1;
    return msgpack_pack_str_body(pk, s ? s : "", n);
}

int swmrbus_pack_kv_u64(msgpack_packer *pk, const char *key, uint64_t v)
{
    return swmrbus_pack_cstr(pk, key) != 0 ? -1 : msgpack_pack_uint64(pk, v);
}

int swmrbus_pack_kv_str(msgpack_packer *pk, const char *key, const char *v)
{
    return swmrbus_pack_cstr(pk, key) != 0 ? -1 : swmrbus_pack_cstr(pk, v);
}

int swmrbus_pack_rejected(msgpack_packer *pk, const uint64_t *r)
{
    size_t n = 0;
    for (int i = 0; i < SWMRBUS_R_COUNT; i++) n += r[i] != 0;
    int rc = msgpack_pack_map(pk, n);
    for (int i = 0; i < SWMRBUS_R_COUNT && rc == 0; i++)
        if (r[i]) rc = swmrbus_pack_kv_u64(pk, swmrbus_reason_name((swmrbus_reason)i), r[i]);
    return rc;
}

int swmrbus_pack_status_head(msgpack_packer *pk, const char *name, const char *kind,
                             uint64_t uptime_ns, size_t n_more)
{
    if (msgpack_pack_map(pk, 4 + n_more) != 0 || swmrbus_pack_cstr(pk, "ok") != 0 ||
        msgpack_pack_true(pk) != 0 || swmrbus_pack_kv_str(pk, "name", name) != 0 ||
        swmrbus_pack_kv_str(pk, "kind", kind) != 0 || swmrbus_pack_cstr(pk, "uptime_s") != 0)
        return -1;
    return msgpack_pack_double(pk, (double)uptime_ns / 1e9);
}

int swmrbus_pack_reply(swmrbus_buf *out, const char *text)
{
    msgpack_packer pk;
    out->len = 0;
    msgpack_packer_init(&pk, out, swmrbus_buf_write);
    if (msgpack_pack_map(&pk, text ? 2 : 1) != 0 || swmrbus_pack_cstr(&pk, "ok") != 0 ||
        (text ? msgpack_pack_false(&pk) : msgpack_pack_true(&pk)) != 0)
        return -1;
    if (!text) return 0;
    size_t n = strnlen(text, 1000);
    if (swmrbus_pack_cstr(&pk, "error") != 0 || msgpack_pack_str(&pk, n) != 0) return -1;
    return msgpack_pack_str_body(&pk, text, n);
}
