/* F16C of emu: VCVTPH2PS and VCVTPS2PH, half precision to and from single,
 * written from the IEEE 754 binary16 format: exact widening (a signalling
 * NaN is quieted, with invalid), and narrowing in the rounding mode of
 * imm8[1:0] or, with imm8[2], MXCSR.RC, raising invalid, denormal (of a
 * single input without DAZ), overflow, underflow and precision. */
#include "engine/emu/avx.h"

static uint32_t half_to_single(uint16_t h, uint32_t *flags)
{
    uint32_t s = (uint32_t)(h >> 15) << 31, e = (h >> 10) & 0x1f, m = h & 0x3ff;
    if (e == 0x1f) {
        if (m && !(m & 0x200))
            *flags |= 1;                                  /* SNaN: invalid, quieted */
        return s | 0x7f800000u | (m << 13) | (m ? 0x400000u : 0);
    }
    if (e == 0) {
        if (!m)
            return s;
        int k = 0;                                       /* normalize the denormal */
        while (!(m & 0x400)) {
            m <<= 1;
            k++;
        }
        return s | (uint32_t)(127 - 15 - k + 1) << 23 | (m & 0x3ff) << 13;
    }
    return s | (e - 15 + 127) << 23 | m << 13;
}

static uint16_t single_to_half(uint32_t f, unsigned rc, bool daz, uint32_t *flags)
{
    uint16_t s = (uint16_t)((f >> 31) << 15);
    uint32_t e = (f >> 23) & 0xff, m = f & 0x7fffff;
    if (e == 0xff) {
        if (m && !(m & 0x400000))
            *flags |= 1;
        return (uint16_t)(s | 0x7c00 | (m ? 0x200 | (m >> 13) : 0));
    }
    if (e == 0 && m) {
        if (daz)
            return s;
        *flags |= 2;                                     /* denormal operand */
    }
    if (e == 0 && !m)
        return s;
    uint64_t mant = e ? (m | 0x800000u) : m;             /* value = mant * 2^(e' - 150) */
    int ex = e ? (int)e : 1;
    int eh = ex - 127 + 15;                              /* the half's biased exponent */
    int shift = eh >= 1 ? 13 : 13 + (1 - eh);            /* bits dropped from mant */
    uint64_t q, rem, half;
    if (shift >= 40) {
        q = 0;
        rem = mant ? 1 : 0;
        half = ~0ULL;                                    /* below half an ulp, not zero */
    } else {
        q = mant >> shift;
        rem = mant & ((1ULL << shift) - 1);
        half = 1ULL << (shift - 1);
    }
    bool up;
    switch (rc) {
    case 0: up = rem > half || (rem == half && (q & 1)); break;   /* nearest even */
    case 1: up = rem && s; break;                                  /* down */
    case 2: up = rem && !s; break;                                 /* up */
    default: up = false; break;                                    /* toward zero */
    }
    bool tiny = eh < 1;
    q += up;
    uint32_t h = eh >= 1 ? (uint32_t)(eh << 10) + (uint32_t)(q - 0x400) : (uint32_t)q;
    if (rem)
        *flags |= 0x20;                                  /* precision */
    if (tiny && rem)
        *flags |= 0x10;                                  /* underflow */
    if (h >= 0x7c00) {                                   /* overflow */
        *flags |= 0x08 | 0x20;
        bool to_inf = rc == 0 || (rc == 1 && s) || (rc == 2 && !s);
        h = to_inf ? 0x7c00 : 0x7bff;
    }
    return (uint16_t)(s | h);
}

/* VCVTPH2PS (66 0F38 13, W0): halves from xmm/m64 (m128) to singles. */
static void h_cvtph2ps(struct emu_cpu *c, const struct emu_insn *i)
{
    if (sse_mp(i) != MP_66 || VEX_VVVV(i) || (c->mode == MODE_LONG64 && VEX_W(i)))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    avx_check(c);
    unsigned n = VEX_L(i) ? 8 : 4;
    uint16_t h[8] = { 0 };
    avx_src(c, i, h, i->mod == 3 ? 16 : n * 2, 0);
    uint32_t r[8] = { 0 }, flags = 0;
    for (unsigned k = 0; k < n; k++)
        r[k] = half_to_single(h[k], &flags);
    sse_fp_flags(c, flags);
    avx_set(c, i->reg, (const emu_xmm *)(const void *)r,
            VEX_L(i) ? (const emu_xmm *)(const void *)(r + 4) : NULL);
}

/* VCVTPS2PH (66 0F3A 1D, W0): singles from xmm/ymm to halves in xmm/m64 (m128). */
static void h_cvtps2ph(struct emu_cpu *c, const struct emu_insn *i)
{
    if (sse_mp(i) != MP_66 || VEX_VVVV(i) || (c->mode == MODE_LONG64 && VEX_W(i)))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    avx_check(c);
    unsigned n = VEX_L(i) ? 8 : 4;
    unsigned rc = (i->imm & 4) ? (c->mxcsr >> MXCSR_RC_SHIFT) & 3 : (unsigned)i->imm & 3;
    uint32_t f[8];
    memcpy(f, &c->xmm[i->reg], 16);
    memcpy(f + 4, &c->ymm_hi[i->reg], 16);
    uint16_t h[8] = { 0 };
    uint32_t flags = 0;
    for (unsigned k = 0; k < n; k++)
        h[k] = single_to_half(f[k], rc, c->mxcsr & MXCSR_DAZ, &flags);
    if (i->mod != 3)
        (void)emu_ea(c, i);                              /* faults before the flags */
    sse_fp_flags(c, flags);
    if (i->mod == 3) {
        emu_xmm v = { .q = { 0, 0 } };
        memcpy(&v, h, n * 2);
        avx_set(c, i->rm, &v, NULL);
    } else {
        sse_write_buf(c, emu_ea(c, i), h, n * 2);
    }
}

void emu_avx_f16c_register(void)
{
    emu_vex_ops[MAP_0F38][0x13] = h_cvtph2ps;
    emu_vex_ops[MAP_0F3A][0x1d] = h_cvtps2ph;
}
