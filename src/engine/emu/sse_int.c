/* Packed-integer SIMD of emu: MMX, SSE2, SSSE3 and SSE4.1 integer forms
 * (arithmetic, compares, shifts, packs, shuffles, blends, ptest).  Every
 * operation is written once over a width of 8 (mm) or 16 (xmm) bytes. */
#include "engine/emu/sse.h"

typedef void (*int_fn)(emu_xmm *d, const emu_xmm *s, unsigned n);

enum { XMM_ONLY = 0, MMX_TOO = 1 };

/* 66: xmm, xmm/m128 (aligned); no prefix: mm, mm/m64 where MMX has the form.
 * Inlined into every handler so each body is compiled for n = 16 and n = 8. */
static inline __attribute__((always_inline)) void int_op(struct emu_cpu *c, const struct emu_insn *i, int_fn f, int mmx)
{
    emu_xmm d, s;
    int mp = sse_mp(i);
    if (mp == MP_66) {
        sse_check(c);
        sse_src128(c, i, &s, true);
        d = c->xmm[i->reg];
        f(&d, &s, 16);
        c->xmm[i->reg] = d;
    } else if (mp == MP_NONE && mmx) {
        mmx_check(c);
        s.q[0] = mmx_src64(c, i);
        s.q[1] = 0;
        d.q[0] = mmx_get(c, i->reg);
        d.q[1] = 0;
        mmx_enter(c);
        f(&d, &s, 8);
        mmx_set(c, i->reg, d.q[0]);
    } else {
        emu_sse_ud(c, i);
    }
}

#define LANES(field, T, expr)                                                    \
    for (unsigned k = 0; k < n / sizeof(T); k++) {                               \
        T a = d->field[k], b = s->field[k];                                      \
        (void)a; (void)b;                                                        \
        d->field[k] = (expr);                                                    \
    }

#define INT_OP(name, mmx, ...)                                                  \
    static inline __attribute__((always_inline)) void f_##name(emu_xmm *d, const emu_xmm *s, unsigned n)               \
    {                                                                            \
        (void)n;                                                                 \
        __VA_ARGS__                                                                     \
    }                                                                            \
    static void h_##name(struct emu_cpu *c, const struct emu_insn *i)            \
    {                                                                            \
        int_op(c, i, f_##name, mmx);                                             \
    }                                                                            \
    /* On local copies (no aliasing) and at O3, so the lane vectorizes. */    \
    static __attribute__((unused, optimize("O3"))) void l_##name(emu_xmm *d, const emu_xmm *s, \
                                                                 unsigned lanes) \
    {                                                                            \
        for (unsigned k = 0; k < lanes; k++) {                                   \
            emu_xmm x = d[k], y = s[k];                                          \
            f_##name(&x, &y, 16);                                                \
            d[k] = x;                                                            \
        }                                                                        \
    }

static inline int8_t sat8s(int v) { return v > 127 ? 127 : v < -128 ? -128 : v; }
static inline uint8_t sat8u(int v) { return v > 255 ? 255 : v < 0 ? 0 : v; }
static inline int16_t sat16s(int v) { return v > 32767 ? 32767 : v < -32768 ? -32768 : v; }
static inline uint16_t sat16u(int v) { return v > 65535 ? 65535 : v < 0 ? 0 : v; }

/* ---- add, subtract, compare, logic, min/max, average ---- */
INT_OP(paddb, MMX_TOO, LANES(b, uint8_t, a + b))
INT_OP(paddw, MMX_TOO, LANES(w, uint16_t, a + b))
INT_OP(paddd, MMX_TOO, LANES(d, uint32_t, a + b))
INT_OP(paddq, MMX_TOO, LANES(q, uint64_t, a + b))
INT_OP(psubb, MMX_TOO, LANES(b, uint8_t, a - b))
INT_OP(psubw, MMX_TOO, LANES(w, uint16_t, a - b))
INT_OP(psubd, MMX_TOO, LANES(d, uint32_t, a - b))
INT_OP(psubq, MMX_TOO, LANES(q, uint64_t, a - b))
INT_OP(paddsb, MMX_TOO, LANES(sb, int8_t, sat8s(a + b)))
INT_OP(paddsw, MMX_TOO, LANES(sw, int16_t, sat16s(a + b)))
INT_OP(paddusb, MMX_TOO, LANES(b, uint8_t, sat8u(a + b)))
INT_OP(paddusw, MMX_TOO, LANES(w, uint16_t, sat16u(a + b)))
INT_OP(psubsb, MMX_TOO, LANES(sb, int8_t, sat8s(a - b)))
INT_OP(psubsw, MMX_TOO, LANES(sw, int16_t, sat16s(a - b)))
INT_OP(psubusb, MMX_TOO, LANES(b, uint8_t, sat8u(a - b)))
INT_OP(psubusw, MMX_TOO, LANES(w, uint16_t, sat16u(a - b)))
INT_OP(pcmpeqb, MMX_TOO, LANES(b, uint8_t, a == b ? 0xff : 0))
INT_OP(pcmpeqw, MMX_TOO, LANES(w, uint16_t, a == b ? 0xffff : 0))
INT_OP(pcmpeqd, MMX_TOO, LANES(d, uint32_t, a == b ? ~0u : 0))
INT_OP(pcmpeqq, XMM_ONLY, LANES(q, uint64_t, a == b ? ~0ull : 0))
INT_OP(pcmpgtb, MMX_TOO, LANES(sb, int8_t, a > b ? -1 : 0))
INT_OP(pcmpgtw, MMX_TOO, LANES(sw, int16_t, a > b ? -1 : 0))
INT_OP(pcmpgtd, MMX_TOO, LANES(sd, int32_t, a > b ? -1 : 0))
INT_OP(pcmpgtq, XMM_ONLY, LANES(sq, int64_t, a > b ? -1 : 0))
INT_OP(pand, MMX_TOO, LANES(q, uint64_t, a & b))
INT_OP(pandn, MMX_TOO, LANES(q, uint64_t, ~a & b))
INT_OP(por, MMX_TOO, LANES(q, uint64_t, a | b))
INT_OP(pxor, MMX_TOO, LANES(q, uint64_t, a ^ b))
INT_OP(pminub, MMX_TOO, LANES(b, uint8_t, a < b ? a : b))
INT_OP(pmaxub, MMX_TOO, LANES(b, uint8_t, a > b ? a : b))
INT_OP(pminsw, MMX_TOO, LANES(sw, int16_t, a < b ? a : b))
INT_OP(pmaxsw, MMX_TOO, LANES(sw, int16_t, a > b ? a : b))
INT_OP(pminsb, XMM_ONLY, LANES(sb, int8_t, a < b ? a : b))
INT_OP(pmaxsb, XMM_ONLY, LANES(sb, int8_t, a > b ? a : b))
INT_OP(pminuw, XMM_ONLY, LANES(w, uint16_t, a < b ? a : b))
INT_OP(pmaxuw, XMM_ONLY, LANES(w, uint16_t, a > b ? a : b))
INT_OP(pminsd, XMM_ONLY, LANES(sd, int32_t, a < b ? a : b))
INT_OP(pmaxsd, XMM_ONLY, LANES(sd, int32_t, a > b ? a : b))
INT_OP(pminud, XMM_ONLY, LANES(d, uint32_t, a < b ? a : b))
INT_OP(pmaxud, XMM_ONLY, LANES(d, uint32_t, a > b ? a : b))
INT_OP(pavgb, MMX_TOO, LANES(b, uint8_t, (a + b + 1) >> 1))
INT_OP(pavgw, MMX_TOO, LANES(w, uint16_t, (a + b + 1) >> 1))

/* ---- multiplies ---- */
INT_OP(pmullw, MMX_TOO, LANES(w, uint16_t, (uint16_t)((uint32_t)a * b)))
INT_OP(pmulhw, MMX_TOO, LANES(sw, int16_t, (int16_t)(((int32_t)a * b) >> 16)))
INT_OP(pmulhuw, MMX_TOO, LANES(w, uint16_t, (uint16_t)(((uint32_t)a * b) >> 16)))
INT_OP(pmulld, XMM_ONLY, LANES(d, uint32_t, (uint32_t)((uint64_t)a * b)))
INT_OP(pmulhrsw, MMX_TOO, LANES(sw, int16_t, (int16_t)((((int32_t)a * b >> 14) + 1) >> 1)))
INT_OP(pmuludq, MMX_TOO,
       for (unsigned k = 0; k < n / 8; k++) d->q[k] = (uint64_t)d->d[2 * k] * s->d[2 * k];)
INT_OP(pmuldq, XMM_ONLY,
       for (unsigned k = 0; k < 2; k++) d->sq[k] = (int64_t)d->sd[2 * k] * s->sd[2 * k];)
INT_OP(pmaddwd, MMX_TOO,
       for (unsigned k = 0; k < n / 4; k++) d->d[k] =
           (uint32_t)((int32_t)d->sw[2 * k] * s->sw[2 * k]) +
           (uint32_t)((int32_t)d->sw[2 * k + 1] * s->sw[2 * k + 1]);)
INT_OP(pmaddubsw, MMX_TOO,
       for (unsigned k = 0; k < n / 2; k++) d->sw[k] =
           sat16s(d->b[2 * k] * s->sb[2 * k] + d->b[2 * k + 1] * s->sb[2 * k + 1]);)
INT_OP(psadbw, MMX_TOO,
       for (unsigned g = 0; g < n / 8; g++) {
           unsigned sum = 0;
           for (unsigned k = 0; k < 8; k++) {
               int v = d->b[8 * g + k] - s->b[8 * g + k];
               sum += v < 0 ? -v : v;
           }
           d->q[g] = sum;
       })

/* ---- SSSE3 sign, absolute value, horizontal add/subtract ---- */
INT_OP(psignb, MMX_TOO, LANES(sb, int8_t, b < 0 ? (int8_t)-a : b == 0 ? 0 : a))
INT_OP(psignw, MMX_TOO, LANES(sw, int16_t, b < 0 ? (int16_t)-a : b == 0 ? 0 : a))
INT_OP(psignd, MMX_TOO, LANES(sd, int32_t, b < 0 ? (int32_t)(0u - (uint32_t)a) : b == 0 ? 0 : a))
INT_OP(pabsb, MMX_TOO, LANES(b, uint8_t, (int8_t)b < 0 ? (uint8_t)-b : b))
INT_OP(pabsw, MMX_TOO, LANES(w, uint16_t, (int16_t)b < 0 ? (uint16_t)-b : b))
INT_OP(pabsd, MMX_TOO, LANES(d, uint32_t, (int32_t)b < 0 ? 0u - b : b))

#define HORIZ(name, field, T, expr)                                              \
    INT_OP(name, MMX_TOO,                                                        \
           emu_xmm r; unsigned m = n / sizeof(T) / 2;                            \
           for (unsigned k = 0; k < m; k++) {                                    \
               T a = d->field[2 * k], b = d->field[2 * k + 1];                   \
               r.field[k] = (expr);                                              \
               a = s->field[2 * k]; b = s->field[2 * k + 1];                     \
               r.field[m + k] = (expr);                                          \
           }                                                                     \
           memcpy(d, &r, n);)
HORIZ(phaddw, w, uint16_t, a + b)
HORIZ(phaddd, d, uint32_t, a + b)
HORIZ(phaddsw, sw, int16_t, sat16s(a + b))
HORIZ(phsubw, w, uint16_t, a - b)
HORIZ(phsubd, d, uint32_t, a - b)
HORIZ(phsubsw, sw, int16_t, sat16s(a - b))

INT_OP(pshufb, MMX_TOO,
       emu_xmm r;
       for (unsigned k = 0; k < n; k++)
           r.b[k] = (s->b[k] & 0x80) ? 0 : d->b[s->b[k] & (n - 1)];
       memcpy(d, &r, n);)

/* ---- unpack and pack ---- */
#define UNPACK(name, field, T, hi, mmx)                                          \
    INT_OP(name, mmx,                                                            \
           emu_xmm r; unsigned m = n / sizeof(T) / 2;                            \
           for (unsigned k = 0; k < m; k++) {                                    \
               r.field[2 * k] = d->field[(hi) * m + k];                          \
               r.field[2 * k + 1] = s->field[(hi) * m + k];                      \
           }                                                                     \
           memcpy(d, &r, n);)
UNPACK(punpcklbw, b, uint8_t, 0, MMX_TOO)
UNPACK(punpcklwd, w, uint16_t, 0, MMX_TOO)
UNPACK(punpckldq, d, uint32_t, 0, MMX_TOO)
UNPACK(punpcklqdq, q, uint64_t, 0, XMM_ONLY)
UNPACK(punpckhbw, b, uint8_t, 1, MMX_TOO)
UNPACK(punpckhwd, w, uint16_t, 1, MMX_TOO)
UNPACK(punpckhdq, d, uint32_t, 1, MMX_TOO)
UNPACK(punpckhqdq, q, uint64_t, 1, XMM_ONLY)

#define PACK(name, sf, df, sat, mmx)                                             \
    INT_OP(name, mmx,                                                            \
           emu_xmm r; unsigned m = n / sizeof(d->sf[0]);                         \
           for (unsigned k = 0; k < m; k++) {                                    \
               r.df[k] = sat(d->sf[k]);                                          \
               r.df[m + k] = sat(s->sf[k]);                                      \
           }                                                                     \
           memcpy(d, &r, n);)
static inline uint16_t sat32to16u(int32_t v) { return v > 65535 ? 65535 : v < 0 ? 0 : v; }
static inline int16_t sat32to16s(int32_t v) { return v > 32767 ? 32767 : v < -32768 ? -32768 : v; }
PACK(packsswb, sw, sb, sat8s, MMX_TOO)
PACK(packuswb, sw, b, sat8u, MMX_TOO)
PACK(packssdw, sd, sw, sat32to16s, MMX_TOO)
PACK(packusdw, sd, w, sat32to16u, XMM_ONLY)

/* ---- shifts by a register count ---- */
#define SHIFT(name, field, T, bits, op, arith)                                   \
    INT_OP(name, MMX_TOO,                                                        \
           uint64_t cnt = s->q[0];                                               \
           for (unsigned k = 0; k < n / sizeof(T); k++) {                        \
               if (cnt >= bits)                                                  \
                   d->field[k] = (arith) ? (T)(d->field[k] >> (bits - 1)) : 0;   \
               else                                                              \
                   d->field[k] = (T)(d->field[k] op cnt);                        \
           })
SHIFT(psrlw, w, uint16_t, 16, >>, 0)
SHIFT(psrld, d, uint32_t, 32, >>, 0)
SHIFT(psrlq, q, uint64_t, 64, >>, 0)
SHIFT(psraw, sw, int16_t, 16, >>, 1)
SHIFT(psrad, sd, int32_t, 32, >>, 1)
SHIFT(psllw, w, uint16_t, 16, <<, 0)
SHIFT(pslld, d, uint32_t, 32, <<, 0)
SHIFT(psllq, q, uint64_t, 64, <<, 0)

/* 0F 71/72/73: shift by immediate, the group's reg field picks the shift. */
static void shift_imm(struct emu_cpu *c, const struct emu_insn *i, const int_fn fns[8])
{
    int mp = sse_mp(i);
    unsigned sel = i->reg & 7;
    emu_xmm d, s;
    if (i->mod != 3 || !fns[sel] || (mp != MP_66 && mp != MP_NONE))
        emu_sse_ud(c, i);
    memset(&s, 0, sizeof(s));
    s.q[0] = (uint8_t)i->imm;
    if (mp == MP_66) {
        sse_check(c);
        d = c->xmm[i->rm];
        fns[sel](&d, &s, 16);
        c->xmm[i->rm] = d;
    } else {
        if (sel == 3 || sel == 7)   /* psrldq/pslldq have no MMX form */
            emu_sse_ud(c, i);
        mmx_enter(c);
        d.q[0] = mmx_get(c, i->rm);
        d.q[1] = 0;
        fns[sel](&d, &s, 8);
        mmx_set(c, i->rm, d.q[0]);
    }
}

static void f_psrldq(emu_xmm *d, const emu_xmm *s, unsigned n)
{
    unsigned cnt = s->q[0] > 16 ? 16 : s->q[0];
    emu_xmm r;
    memset(&r, 0, sizeof(r));
    memcpy(r.b, d->b + cnt, n - cnt);
    *d = r;
}

static void f_pslldq(emu_xmm *d, const emu_xmm *s, unsigned n)
{
    unsigned cnt = s->q[0] > 16 ? 16 : s->q[0];
    emu_xmm r;
    memset(&r, 0, sizeof(r));
    memcpy(r.b + cnt, d->b, n - cnt);
    *d = r;
}

static void h_grp12(struct emu_cpu *c, const struct emu_insn *i)
{
    static const int_fn f[8] = { [2] = f_psrlw, [4] = f_psraw, [6] = f_psllw };
    shift_imm(c, i, f);
}

static void h_grp13(struct emu_cpu *c, const struct emu_insn *i)
{
    static const int_fn f[8] = { [2] = f_psrld, [4] = f_psrad, [6] = f_pslld };
    shift_imm(c, i, f);
}

static void h_grp14(struct emu_cpu *c, const struct emu_insn *i)
{
    static const int_fn f[8] = { [2] = f_psrlq, [3] = f_psrldq, [6] = f_psllq, [7] = f_pslldq };
    shift_imm(c, i, f);
}

/* ---- shuffles ---- */
static void h_pshuf(struct emu_cpu *c, const struct emu_insn *i)   /* 0F 70 */
{
    unsigned imm = (uint8_t)i->imm;
    emu_xmm s, r;
    switch (sse_mp(i)) {
    case MP_NONE: {                       /* pshufw mm, mm/m64, imm8 */
        mmx_check(c);
        s.q[0] = mmx_src64(c, i);
        mmx_enter(c);
        for (unsigned k = 0; k < 4; k++)
            r.w[k] = s.w[(imm >> (2 * k)) & 3];
        mmx_set(c, i->reg, r.q[0]);
        return;
    }
    case MP_66:                           /* pshufd */
        sse_check(c);
        sse_src128(c, i, &s, true);
        for (unsigned k = 0; k < 4; k++)
            r.d[k] = s.d[(imm >> (2 * k)) & 3];
        break;
    case MP_F3:                           /* pshufhw */
        sse_check(c);
        sse_src128(c, i, &s, true);
        r.q[0] = s.q[0];
        for (unsigned k = 0; k < 4; k++)
            r.w[4 + k] = s.w[4 + ((imm >> (2 * k)) & 3)];
        break;
    default:                              /* pshuflw */
        sse_check(c);
        sse_src128(c, i, &s, true);
        r.q[1] = s.q[1];
        for (unsigned k = 0; k < 4; k++)
            r.w[k] = s.w[(imm >> (2 * k)) & 3];
        break;
    }
    c->xmm[i->reg] = r;
}

/* palignr: (dst:src) >> imm*8, MMX and XMM forms. */
static void h_palignr(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned imm = (uint8_t)i->imm, n;
    uint8_t cat[64];
    emu_xmm d, s;
    int mp = sse_mp(i);
    memset(cat, 0, sizeof(cat));
    if (mp == MP_66) {
        sse_check(c);
        sse_src128(c, i, &s, true);
        d = c->xmm[i->reg];
        n = 16;
    } else if (mp == MP_NONE) {
        mmx_check(c);
        s.q[0] = mmx_src64(c, i);
        mmx_enter(c);
        d.q[0] = mmx_get(c, i->reg);
        n = 8;
    } else {
        emu_sse_ud(c, i);
    }
    memcpy(cat, s.b, n);
    memcpy(cat + n, d.b, n);
    memset(&d, 0, sizeof(d));
    if (imm < 2 * n)
        memcpy(d.b, cat + imm, n);
    if (n == 16)
        c->xmm[i->reg] = d;
    else
        mmx_set(c, i->reg, d.q[0]);
}

/* ---- SSE4.1 ---- */
static void xmm_src_66(struct emu_cpu *c, const struct emu_insn *i, emu_xmm *s)
{
    if (sse_mp(i) != MP_66)
        emu_sse_ud(c, i);
    sse_check(c);
    sse_src128(c, i, s, true);
}

static void h_pblendvb(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_xmm s, d;
    xmm_src_66(c, i, &s);
    d = c->xmm[i->reg];
    for (unsigned k = 0; k < 16; k++)
        if (c->xmm[0].b[k] & 0x80)
            d.b[k] = s.b[k];
    c->xmm[i->reg] = d;
}

static void h_blendvps(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_xmm s, d;
    xmm_src_66(c, i, &s);
    d = c->xmm[i->reg];
    for (unsigned k = 0; k < 4; k++)
        if (c->xmm[0].d[k] & 0x80000000u)
            d.d[k] = s.d[k];
    c->xmm[i->reg] = d;
}

static void h_blendvpd(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_xmm s, d;
    xmm_src_66(c, i, &s);
    d = c->xmm[i->reg];
    for (unsigned k = 0; k < 2; k++)
        if (c->xmm[0].q[k] >> 63)
            d.q[k] = s.q[k];
    c->xmm[i->reg] = d;
}

static void h_blendps(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_xmm s, d;
    xmm_src_66(c, i, &s);
    d = c->xmm[i->reg];
    for (unsigned k = 0; k < 4; k++)
        if (i->imm & (1u << k))
            d.d[k] = s.d[k];
    c->xmm[i->reg] = d;
}

static void h_blendpd(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_xmm s, d;
    xmm_src_66(c, i, &s);
    d = c->xmm[i->reg];
    for (unsigned k = 0; k < 2; k++)
        if (i->imm & (1u << k))
            d.q[k] = s.q[k];
    c->xmm[i->reg] = d;
}

static void h_pblendw(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_xmm s, d;
    xmm_src_66(c, i, &s);
    d = c->xmm[i->reg];
    for (unsigned k = 0; k < 8; k++)
        if (i->imm & (1u << k))
            d.w[k] = s.w[k];
    c->xmm[i->reg] = d;
}

static void h_ptest(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_xmm s;
    const emu_xmm *d = &c->xmm[i->reg];
    uint64_t fl;
    xmm_src_66(c, i, &s);
    fl = emu_get_rflags(c) & ~(RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF);
    if (!((d->q[0] & s.q[0]) | (d->q[1] & s.q[1])))
        fl |= RFLAGS_ZF;
    if (!((~d->q[0] & s.q[0]) | (~d->q[1] & s.q[1])))
        fl |= RFLAGS_CF;
    emu_set_rflags(c, fl);
}

static void h_phminposuw(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_xmm s, r;
    unsigned best = 0;
    xmm_src_66(c, i, &s);
    for (unsigned k = 1; k < 8; k++)
        if (s.w[k] < s.w[best])
            best = k;
    memset(&r, 0, sizeof(r));
    r.w[0] = s.w[best];
    r.w[1] = best;
    c->xmm[i->reg] = r;
}

/* pmovsx/pmovzx: the memory operand is only as wide as the elements read. */
static void pmov_ext(struct emu_cpu *c, const struct emu_insn *i, unsigned from, unsigned to, bool sign)
{
    unsigned cnt = 16 / to, bytes = cnt * from;
    emu_xmm s, r;
    if (sse_mp(i) != MP_66)
        emu_sse_ud(c, i);
    sse_check(c);
    if (i->mod == 3)
        s = c->xmm[i->rm];
    else
        sse_read_buf(c, emu_ea(c, i), &s, bytes);
    for (unsigned k = 0; k < cnt; k++) {
        uint64_t v = 0;
        memcpy(&v, s.b + k * from, from);
        if (sign && (v >> (from * 8 - 1)))
            v |= ~0ull << (from * 8);
        memcpy(r.b + k * to, &v, to);
    }
    c->xmm[i->reg] = r;
}

#define PMOV(name, from, to, sign)                                              \
    static void h_##name(struct emu_cpu *c, const struct emu_insn *i) { pmov_ext(c, i, from, to, sign); }
PMOV(pmovsxbw, 1, 2, true)
PMOV(pmovsxbd, 1, 4, true)
PMOV(pmovsxbq, 1, 8, true)
PMOV(pmovsxwd, 2, 4, true)
PMOV(pmovsxwq, 2, 8, true)
PMOV(pmovsxdq, 4, 8, true)
PMOV(pmovzxbw, 1, 2, false)
PMOV(pmovzxbd, 1, 4, false)
PMOV(pmovzxbq, 1, 8, false)
PMOV(pmovzxwd, 2, 4, false)
PMOV(pmovzxwq, 2, 8, false)
PMOV(pmovzxdq, 4, 8, false)

/* mpsadbw: eight sums of absolute differences over sliding 4-byte blocks. */
static void h_mpsadbw(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_xmm s, r;
    const emu_xmm *d = &c->xmm[i->reg];
    unsigned doff = ((i->imm >> 2) & 1) * 4, soff = (i->imm & 3) * 4;
    xmm_src_66(c, i, &s);
    for (unsigned k = 0; k < 8; k++) {
        unsigned sum = 0;
        for (unsigned j = 0; j < 4; j++) {
            int v = d->b[doff + k + j] - s.b[soff + j];
            sum += v < 0 ? -v : v;
        }
        r.w[k] = sum;
    }
    c->xmm[i->reg] = r;
}

sse_lane_fn sse_int_lane[4][256];

/* The element code of the two-operand xmm forms, one 128-bit lane a call,
 * for the VEX forms (avx.c) to run without the legacy handler. */
static void lane_register(void)
{
    sse_lane_fn *m = sse_int_lane[MAP_0F], *m38 = sse_int_lane[MAP_0F38];
    m[0x60] = l_punpcklbw; m[0x61] = l_punpcklwd; m[0x62] = l_punpckldq; m[0x63] = l_packsswb;
    m[0x64] = l_pcmpgtb; m[0x65] = l_pcmpgtw; m[0x66] = l_pcmpgtd; m[0x67] = l_packuswb;
    m[0x68] = l_punpckhbw; m[0x69] = l_punpckhwd; m[0x6a] = l_punpckhdq; m[0x6b] = l_packssdw;
    m[0x6c] = l_punpcklqdq; m[0x6d] = l_punpckhqdq;
    m[0x74] = l_pcmpeqb; m[0x75] = l_pcmpeqw; m[0x76] = l_pcmpeqd;
    m[0xd4] = l_paddq; m[0xd5] = l_pmullw;
    m[0xd8] = l_psubusb; m[0xd9] = l_psubusw; m[0xda] = l_pminub; m[0xdb] = l_pand;
    m[0xdc] = l_paddusb; m[0xdd] = l_paddusw; m[0xde] = l_pmaxub; m[0xdf] = l_pandn;
    m[0xe0] = l_pavgb; m[0xe3] = l_pavgw; m[0xe4] = l_pmulhuw; m[0xe5] = l_pmulhw;
    m[0xe8] = l_psubsb; m[0xe9] = l_psubsw; m[0xea] = l_pminsw; m[0xeb] = l_por;
    m[0xec] = l_paddsb; m[0xed] = l_paddsw; m[0xee] = l_pmaxsw; m[0xef] = l_pxor;
    m[0xf4] = l_pmuludq; m[0xf5] = l_pmaddwd; m[0xf6] = l_psadbw;
    m[0xf8] = l_psubb; m[0xf9] = l_psubw; m[0xfa] = l_psubd; m[0xfb] = l_psubq;
    m[0xfc] = l_paddb; m[0xfd] = l_paddw; m[0xfe] = l_paddd;

    m38[0x00] = l_pshufb; m38[0x01] = l_phaddw; m38[0x02] = l_phaddd; m38[0x03] = l_phaddsw;
    m38[0x04] = l_pmaddubsw; m38[0x05] = l_phsubw; m38[0x06] = l_phsubd; m38[0x07] = l_phsubsw;
    m38[0x08] = l_psignb; m38[0x09] = l_psignw; m38[0x0a] = l_psignd; m38[0x0b] = l_pmulhrsw;
    m38[0x1c] = l_pabsb; m38[0x1d] = l_pabsw; m38[0x1e] = l_pabsd;
    m38[0x28] = l_pmuldq; m38[0x29] = l_pcmpeqq; m38[0x2b] = l_packusdw; m38[0x37] = l_pcmpgtq;
    m38[0x38] = l_pminsb; m38[0x39] = l_pminsd; m38[0x3a] = l_pminuw; m38[0x3b] = l_pminud;
    m38[0x3c] = l_pmaxsb; m38[0x3d] = l_pmaxsd; m38[0x3e] = l_pmaxuw; m38[0x3f] = l_pmaxud;
    m38[0x40] = l_pmulld;
}

void emu_sse_int_register(void)
{
    lane_register();
    emu_handler *m = emu_ops[MAP_0F], *m38 = emu_ops[MAP_0F38], *m3a = emu_ops[MAP_0F3A];
    m[0x60] = h_punpcklbw; m[0x61] = h_punpcklwd; m[0x62] = h_punpckldq; m[0x63] = h_packsswb;
    m[0x64] = h_pcmpgtb; m[0x65] = h_pcmpgtw; m[0x66] = h_pcmpgtd; m[0x67] = h_packuswb;
    m[0x68] = h_punpckhbw; m[0x69] = h_punpckhwd; m[0x6a] = h_punpckhdq; m[0x6b] = h_packssdw;
    m[0x6c] = h_punpcklqdq; m[0x6d] = h_punpckhqdq;
    m[0x70] = h_pshuf; m[0x71] = h_grp12; m[0x72] = h_grp13; m[0x73] = h_grp14;
    m[0x74] = h_pcmpeqb; m[0x75] = h_pcmpeqw; m[0x76] = h_pcmpeqd;
    m[0xd1] = h_psrlw; m[0xd2] = h_psrld; m[0xd3] = h_psrlq; m[0xd4] = h_paddq; m[0xd5] = h_pmullw;
    m[0xd8] = h_psubusb; m[0xd9] = h_psubusw; m[0xda] = h_pminub; m[0xdb] = h_pand;
    m[0xdc] = h_paddusb; m[0xdd] = h_paddusw; m[0xde] = h_pmaxub; m[0xdf] = h_pandn;
    m[0xe0] = h_pavgb; m[0xe1] = h_psraw; m[0xe2] = h_psrad; m[0xe3] = h_pavgw;
    m[0xe4] = h_pmulhuw; m[0xe5] = h_pmulhw;
    m[0xe8] = h_psubsb; m[0xe9] = h_psubsw; m[0xea] = h_pminsw; m[0xeb] = h_por;
    m[0xec] = h_paddsb; m[0xed] = h_paddsw; m[0xee] = h_pmaxsw; m[0xef] = h_pxor;
    m[0xf1] = h_psllw; m[0xf2] = h_pslld; m[0xf3] = h_psllq; m[0xf4] = h_pmuludq;
    m[0xf5] = h_pmaddwd; m[0xf6] = h_psadbw;
    m[0xf8] = h_psubb; m[0xf9] = h_psubw; m[0xfa] = h_psubd; m[0xfb] = h_psubq;
    m[0xfc] = h_paddb; m[0xfd] = h_paddw; m[0xfe] = h_paddd;

    m38[0x00] = h_pshufb; m38[0x01] = h_phaddw; m38[0x02] = h_phaddd; m38[0x03] = h_phaddsw;
    m38[0x04] = h_pmaddubsw; m38[0x05] = h_phsubw; m38[0x06] = h_phsubd; m38[0x07] = h_phsubsw;
    m38[0x08] = h_psignb; m38[0x09] = h_psignw; m38[0x0a] = h_psignd; m38[0x0b] = h_pmulhrsw;
    m38[0x10] = h_pblendvb; m38[0x14] = h_blendvps; m38[0x15] = h_blendvpd; m38[0x17] = h_ptest;
    m38[0x1c] = h_pabsb; m38[0x1d] = h_pabsw; m38[0x1e] = h_pabsd;
    m38[0x20] = h_pmovsxbw; m38[0x21] = h_pmovsxbd; m38[0x22] = h_pmovsxbq;
    m38[0x23] = h_pmovsxwd; m38[0x24] = h_pmovsxwq; m38[0x25] = h_pmovsxdq;
    m38[0x28] = h_pmuldq; m38[0x29] = h_pcmpeqq; m38[0x2b] = h_packusdw;
    m38[0x30] = h_pmovzxbw; m38[0x31] = h_pmovzxbd; m38[0x32] = h_pmovzxbq;
    m38[0x33] = h_pmovzxwd; m38[0x34] = h_pmovzxwq; m38[0x35] = h_pmovzxdq;
    m38[0x37] = h_pcmpgtq;
    m38[0x38] = h_pminsb; m38[0x39] = h_pminsd; m38[0x3a] = h_pminuw; m38[0x3b] = h_pminud;
    m38[0x3c] = h_pmaxsb; m38[0x3d] = h_pmaxsd; m38[0x3e] = h_pmaxuw; m38[0x3f] = h_pmaxud;
    m38[0x40] = h_pmulld; m38[0x41] = h_phminposuw;

    m3a[0x0c] = h_blendps; m3a[0x0d] = h_blendpd; m3a[0x0e] = h_pblendw; m3a[0x0f] = h_palignr;
    m3a[0x42] = h_mpsadbw;
}
