/* The state byte streams (lib/state.h). */
#include "lib/state.h"

#include <stdlib.h>
#include <string.h>

void state_out_init(struct state_out *o)
{
    memset(o, 0, sizeof(*o));
}

void state_out_free(struct state_out *o)
{
    free(o->data);
    memset(o, 0, sizeof(*o));
}

bool state_out_ok(const struct state_out *o)
{
    return !o->failed;
}

void st_put_bytes(struct state_out *o, const void *p, size_t n)
{
    if (o->failed || n == 0)
        return;
    if (o->len + n > o->cap) {
        size_t cap = o->cap ? o->cap : 256;
        while (cap < o->len + n)
            cap *= 2;
        uint8_t *d = realloc(o->data, cap);
        if (!d) {
            o->failed = true;
            return;
        }
        o->data = d;
        o->cap = cap;
    }
    memcpy(o->data + o->len, p, n);
    o->len += n;
}

void st_put_u8(struct state_out *o, uint8_t v)
{
    st_put_bytes(o, &v, 1);
}

void st_put_u16(struct state_out *o, uint16_t v)
{
    uint8_t b[2] = { (uint8_t)v, (uint8_t)(v >> 8) };
    st_put_bytes(o, b, 2);
}

void st_put_u32(struct state_out *o, uint32_t v)
{
    uint8_t b[4];
    for (int i = 0; i < 4; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    st_put_bytes(o, b, 4);
}

void st_put_u64(struct state_out *o, uint64_t v)
{
    uint8_t b[8];
    for (int i = 0; i < 8; i++)
        b[i] = (uint8_t)(v >> (8 * i));
    st_put_bytes(o, b, 8);
}

void state_in_init(struct state_in *in, const void *p, size_t len)
{
    in->p = p;
    in->len = len;
    in->off = 0;
    in->bad = false;
}

void st_get_bytes(struct state_in *in, void *dst, size_t n)
{
    if (in->bad || n > in->len - in->off) {
        in->bad = true;
        memset(dst, 0, n);
        return;
    }
    memcpy(dst, in->p + in->off, n);
    in->off += n;
}

uint8_t st_get_u8(struct state_in *in)
{
    uint8_t v;
    st_get_bytes(in, &v, 1);
    return v;
}

uint16_t st_get_u16(struct state_in *in)
{
    uint8_t b[2];
    st_get_bytes(in, b, 2);
    return (uint16_t)(b[0] | b[1] << 8);
}

uint32_t st_get_u32(struct state_in *in)
{
    uint8_t b[4];
    st_get_bytes(in, b, 4);
    return (uint32_t)b[0] | (uint32_t)b[1] << 8 | (uint32_t)b[2] << 16 | (uint32_t)b[3] << 24;
}

uint64_t st_get_u64(struct state_in *in)
{
    uint64_t lo = st_get_u32(in);
    return lo | (uint64_t)st_get_u32(in) << 32;
}

bool st_get_bool(struct state_in *in)
{
    uint8_t v = st_get_u8(in);
    if (v > 1)
        in->bad = true;
    return v == 1;
}
