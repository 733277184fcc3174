/* mpread.c — in-place msgpack cursor reader (see mpread.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "mpread.h"

void swmrbus__mp_init(swmrbus__mp *mp, const void *buf, size_t len)
{
    mp->p = buf;
    mp->end = mp->p ? mp->p + len : NULL;
}

size_t swmrbus__mp_left(const swmrbus__mp *mp)
{
    return (size_t)(mp->end - mp->p);
}

static uint64_t be(const uint8_t *p, size_t n)
{
    uint64_t v = 0;
    for (size_t k = 0; k < n; k++) v = (v << 8) | p[k];
    return v;
}

/* Takes n bytes from the cursor into *at; EINVAL when fewer are left. */
static swmrbus_err take(swmrbus__mp *mp, size_t n, const uint8_t **at)
{
    if (swmrbus__mp_left(mp) < n) return SWMRBUS_EINVAL;
    *at = mp->p;
    mp->p += n;
    return SWMRBUS_OK;
}

static swmrbus_err read_be(swmrbus__mp *mp, size_t n, uint64_t *v)
{
    const uint8_t *at;
    if (take(mp, n, &at) != SWMRBUS_OK) return SWMRBUS_EINVAL;
    *v = be(at, n);
    return SWMRBUS_OK;
}

static swmrbus_err read_data(swmrbus__mp *mp, size_t lenbytes, swmrbus__mp_type t,
                             swmrbus__mp_val *v)
{
    uint64_t len;
    const uint8_t *at;
    if (read_be(mp, lenbytes, &len) != SWMRBUS_OK) return SWMRBUS_EINVAL;
    if (t == SWMRBUS__MP_EXT) {
        if (take(mp, 1, &at) != SWMRBUS_OK) return SWMRBUS_EINVAL;
        v->ext_type = (int8_t)at[0];
    }
    if (len > swmrbus__mp_left(mp) || take(mp, (size_t)len, &at) != SWMRBUS_OK)
        return SWMRBUS_EINVAL;
    v->type = t;
    v->ptr = (const char *)at;
    v->len = (size_t)len;
    return SWMRBUS_OK;
}

static void set_uint(swmrbus__mp_val *v, uint64_t u, bool signed_fmt)
{
    v->type = SWMRBUS__MP_UINT;
    v->u = u;
    v->i = u <= (uint64_t)INT64_MAX ? (int64_t)u : 0;
    v->signed_fmt = signed_fmt;
}

static void set_signed(swmrbus__mp_val *v, int64_t i)
{
    if (i >= 0) {
        set_uint(v, (uint64_t)i, true);
        return;
    }
    v->type = SWMRBUS__MP_INT;
    v->i = i;
    v->signed_fmt = true;
}

/* Sign-extends the n-byte two's complement value u. */
static int64_t sext(uint64_t u, size_t n)
{
    if (n < 8 && (u >> (8 * n - 1)) & 1u) u |= ~(uint64_t)0 << (8 * n);
    int64_t i;
    memcpy(&i, &u, sizeof i);
    return i;
}

swmrbus_err swmrbus__mp_next(swmrbus__mp *mp, swmrbus__mp_val *v)
{
    const uint8_t *at;
    uint64_t x;
    memset(v, 0, sizeof *v);
    if (take(mp, 1, &at) != SWMRBUS_OK) return SWMRBUS_EINVAL;
    uint8_t b = at[0];

    if (b <= 0x7f) { set_uint(v, b, false); return SWMRBUS_OK; }
    if (b >= 0xe0) { set_signed(v, (int8_t)b); return SWMRBUS_OK; }
    if (b <= 0x8f) { v->type = SWMRBUS__MP_MAP; v->n = b & 0x0fu; return SWMRBUS_OK; }
    if (b <= 0x9f) { v->type = SWMRBUS__MP_ARRAY; v->n = b & 0x0fu; return SWMRBUS_OK; }
    if (b <= 0xbf) {
        size_t len = b & 0x1fu;
        if (take(mp, len, &at) != SWMRBUS_OK) return SWMRBUS_EINVAL;
        v->type = SWMRBUS__MP_STR;
        v->ptr = (const char *)at;
        v->len = len;
        return SWMRBUS_OK;
    }
    switch (b) {
    case 0xc0: v->type = SWMRBUS__MP_NIL; return SWMRBUS_OK;
    case 0xc2: case 0xc3: v->type = SWMRBUS__MP_BOOL; v->b = b == 0xc3; return SWMRBUS_OK;
    case 0xc4: return read_data(mp, 1, SWMRBUS__MP_BIN, v);
    case 0xc5: return read_data(mp, 2, SWMRBUS__MP_BIN, v);
    case 0xc6: return read_data(mp, 4, SWMRBUS__MP_BIN, v);
    case 0xc7: return read_data(mp, 1, SWMRBUS__MP_EXT, v);
    case 0xc8: return read_data(mp, 2, SWMRBUS__MP_EXT, v);
    case 0xc9: return read_data(mp, 4, SWMRBUS__MP_EXT, v);
    case 0xca: {
        if (read_be(mp, 4, &x) != SWMRBUS_OK) return SWMRBUS_EINVAL;
        uint32_t w = (uint32_t)x;
        float fl;
        memcpy(&fl, &w, sizeof fl);
        v->type = SWMRBUS__MP_FLOAT;
        v->f = fl;
        return SWMRBUS_OK;
    }
    case 0xcb:
        if (read_be(mp, 8, &x) != SWMRBUS_OK) return SWMRBUS_EINVAL;
        memcpy(&v->f, &x, sizeof v->f);
        v->type = SWMRBUS__MP_FLOAT;
        return SWMRBUS_OK;
    case 0xcc: case 0xcd: case 0xce: case 0xcf: {
        size_t n = (size_t)1 << (b - 0xcc);
        if (read_be(mp, n, &x) != SWMRBUS_OK) return SWMRBUS_EINVAL;
        set_uint(v, x, false);
        return SWMRBUS_OK;
    }
    case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
        size_t n = (size_t)1 << (b - 0xd0);
        if (read_be(mp, n, &x) != SWMRBUS_OK) return SWMRBUS_EINVAL;
        set_signed(v, sext(x, n));
        return SWMRBUS_OK;
    }
    case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8: {
        size_t n = (size_t)1 << (b - 0xd4);
        if (take(mp, 1 + n, &at) != SWMRBUS_OK) return SWMRBUS_EINVAL;
        v->type = SWMRBUS__MP_EXT;
        v->ext_type = (int8_t)at[0];
        v->ptr = (const char *)at + 1;
        v->len = n;
        return SWMRBUS_OK;
    }
    case 0xd9: return read_data(mp, 1, SWMRBUS__MP_STR, v);
    case 0xda: return read_data(mp, 2, SWMRBUS__MP_STR, v);
    case 0xdb: return read_data(mp, 4, SWMRBUS__MP_STR, v);
    case 0xdc: case 0xdd:
        if (read_be(mp, b == 0xdc ? 2 : 4, &x) != SWMRBUS_OK) return SWMRBUS_EINVAL;
        v->type = SWMRBUS__MP_ARRAY;
        v->n = (size_t)x;
        return SWMRBUS_OK;
    case 0xde: case 0xdf:
        if (read_be(mp, b == 0xde ? 2 : 4, &x) != SWMRBUS_OK) return SWMRBUS_EINVAL;
        v->type = SWMRBUS__MP_MAP;
        v->n = (size_t)x;
        return SWMRBUS_OK;
    default: /* 0xc1: never used */
        return SWMRBUS_EINVAL;
    }
}

swmrbus_err swmrbus__mp_skip(swmrbus__mp *mp)
{
    /* Values still to read. Each one read costs >= 1 byte, and a container
     * adds at most 2 * 2^32 - 1, so this neither overflows nor loops beyond
     * the buffer: a count larger than the bytes left fails on truncation. */
    uint64_t pending = 1;
    swmrbus__mp_val v;
    while (pending > 0) {
        if (swmrbus__mp_next(mp, &v) != SWMRBUS_OK) return SWMRBUS_EINVAL;
        pending--;
        if (v.type == SWMRBUS__MP_ARRAY || v.type == SWMRBUS__MP_MAP) {
            uint64_t add = v.type == SWMRBUS__MP_MAP ? 2 * (uint64_t)v.n : (uint64_t)v.n;
            if (add > swmrbus__mp_left(mp)) return SWMRBUS_EINVAL;
            pending += add;
        }
    }
    return SWMRBUS_OK;
}

swmrbus_err swmrbus__mp_map(swmrbus__mp *mp, size_t *pairs)
{
    swmrbus__mp_val v;
    if (swmrbus__mp_next(mp, &v) != SWMRBUS_OK || v.type != SWMRBUS__MP_MAP)
        return SWMRBUS_EINVAL;
    *pairs = v.n;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus__mp_array(swmrbus__mp *mp, size_t *n)
{
    swmrbus__mp_val v;
    if (swmrbus__mp_next(mp, &v) != SWMRBUS_OK || v.type != SWMRBUS__MP_ARRAY)
        return SWMRBUS_EINVAL;
    *n = v.n;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus__mp_str(swmrbus__mp *mp, swmrbus_str *s)
{
    swmrbus__mp_val v;
    if (swmrbus__mp_next(mp, &v) != SWMRBUS_OK || v.type != SWMRBUS__MP_STR)
        return SWMRBUS_EINVAL;
    s->ptr = v.ptr;
    s->len = v.len;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus__mp_uint(swmrbus__mp *mp, uint64_t *u)
{
    swmrbus__mp_val v;
    if (swmrbus__mp_next(mp, &v) != SWMRBUS_OK || v.type != SWMRBUS__MP_UINT)
        return SWMRBUS_EINVAL;
    *u = v.u;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus__mp_int(swmrbus__mp *mp, int64_t *i)
{
    swmrbus__mp_val v;
    if (swmrbus__mp_next(mp, &v) != SWMRBUS_OK) return SWMRBUS_EINVAL;
    if (v.type == SWMRBUS__MP_INT || (v.type == SWMRBUS__MP_UINT && v.u <= (uint64_t)INT64_MAX)) {
        *i = v.i;
        return SWMRBUS_OK;
    }
    return SWMRBUS_EINVAL;
}

swmrbus_err swmrbus__mp_float(swmrbus__mp *mp, double *f)
{
    swmrbus__mp_val v;
    if (swmrbus__mp_next(mp, &v) != SWMRBUS_OK || v.type != SWMRBUS__MP_FLOAT)
        return SWMRBUS_EINVAL;
    *f = v.f;
    return SWMRBUS_OK;
}

swmrbus_err swmrbus__mp_bool(swmrbus__mp *mp, bool *b)
{
    swmrbus__mp_val v;
    if (swmrbus__mp_next(mp, &v) != SWMRBUS_OK || v.type != SWMRBUS__MP_BOOL)
        return SWMRBUS_EINVAL;
    *b = v.b;
    return SWMRBUS_OK;
}

bool swmrbus__str_is(swmrbus_str s, const char *lit)
{
    size_t n = strlen(lit);
    return s.len == n && (n == 0 || memcmp(s.ptr, lit, n) == 0);
}

void swmrbus__wire_why(char *why, size_t whylen, const char *fmt, ...)
{
    if (!why || whylen == 0) return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(why, whylen, fmt, ap);
    va_end(ap);
    if (n < 0) why[0] = '\0';
    /* wire bytes quoted in the text must not break the line (logs) or the
     * UTF-8 of an error notification: printable ASCII only */
    for (char *c = why; *c; c++)
        if ((unsigned char)*c < 0x20 || (unsigned char)*c > 0x7e) *c = '?';
}

const char *swmrbus__wire_quote(swmrbus_str s, char *q)
{
    size_t n = s.len > 32 ? 32 : s.len;
    for (size_t i = 0; i < n; i++) q[i] = s.ptr[i] == '\0' ? '?' : s.ptr[i];
    if (s.len > n) {
        memcpy(q + n, "...", 3);
        n += 3;
    }
    q[n] = '\0';
    return q;
}
