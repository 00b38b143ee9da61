/* FMA3 of emu: VFMADD/VFMSUB/VFNMADD/VFNMSUB/VFMADDSUB/VFMSUBADD in their
 * 132/213/231 forms, packed (128/256) and scalar, single rounding.  The
 * product-sum is the C library's fma()/fmaf(), run under the guest's
 * rounding, DAZ and FZ with every exception masked (sse_host_enter), so its
 * flags are the host's; NaN operands are handled here, as Intel CPUs do:
 * the first NaN of the two multiplicands and then the addend (in the
 * form's order: 132 is src1*src3+src2), quieted and never negated. */
#include <math.h>

#include "engine/emu/avx.h"

static bool is_nan(const uint8_t *p, bool dbl, bool *snan)
{
    if (dbl) {
        uint64_t u;
        memcpy(&u, p, 8);
        bool n = ((u >> 52) & 0x7ff) == 0x7ff && (u << 12);
        *snan |= n && !((u >> 51) & 1);
        return n;
    }
    uint32_t u;
    memcpy(&u, p, 4);
    bool n = ((u >> 23) & 0xff) == 0xff && (u << 9);
    *snan |= n && !((u >> 22) & 1);
    return n;
}

/* One element: x*y+z with the operation's signs, into out. */
static void fma_elem(const uint8_t *s1, const uint8_t *s2, const uint8_t *s3, unsigned order,
                     bool neg_prod, bool neg_add, bool dbl, uint8_t *out, uint32_t *flags)
{
    bool snan = false;
    /* Multiplicands and addend by form: 132 s1*s3+s2, 213 s2*s1+s3, 231 s2*s3+s1. */
    const uint8_t *a = order == 0 ? s1 : s2, *b = order == 1 ? s1 : s3;
    const uint8_t *c = order == 0 ? s2 : order == 1 ? s3 : s1;
    const uint8_t *src[3] = { a, b, c };
    int first = -1;
    for (int k = 0; k < 3; k++)
        if (is_nan(src[k], dbl, &snan) && first < 0)
            first = k;
    if (first >= 0) {
        memcpy(out, src[first], dbl ? 8 : 4);
        out[dbl ? 6 : 2] |= dbl ? 0x08 : 0x40;   /* quiet bit */
        if (snan)
            *flags |= 1;
        return;
    }
    if (dbl) {
        double x, y, z;
        memcpy(&x, a, 8); memcpy(&y, b, 8); memcpy(&z, c, 8);
        volatile double r = fma(neg_prod ? -x : x, y, neg_add ? -z : z);
        double rr = r;
        memcpy(out, &rr, 8);
    } else {
        float x, y, z;
        memcpy(&x, a, 4); memcpy(&y, b, 4); memcpy(&z, c, 4);
        volatile float r = fmaf(neg_prod ? -x : x, y, neg_add ? -z : z);
        float rr = r;
        memcpy(out, &rr, 4);
    }
}

/* 66 0F38 96-9F, A6-AF, B6-BF. */
static void h_fma(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned lo = i->op & 0xf, order = (i->op >> 4) - 9;   /* 0: 132, 1: 213, 2: 231 */
    if (sse_mp(i) != MP_66 || lo < 6)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    avx_check(c);
    bool dbl = VEX_W(i), scalar = lo >= 8 && (lo & 1);
    unsigned esz = dbl ? 8 : 4, len = scalar ? esz : VEX_L(i) ? 32 : 16;
    uint8_t s1[32], s2[32], s3[32] = { 0 }, r[32];
    memcpy(s1, &c->xmm[i->reg], 16);
    memcpy(s1 + 16, &c->ymm_hi[i->reg], 16);
    memcpy(s2, &c->xmm[VEX_VVVV(i)], 16);
    memcpy(s2 + 16, &c->ymm_hi[VEX_VVVV(i)], 16);
    avx_src(c, i, s3, i->mod == 3 ? 32 : len, 0);
    memcpy(r, s1, 32);
    uint32_t flags = 0, host = sse_host_enter(c);
    for (unsigned e = 0; e < len; e += esz) {
        bool neg_prod = lo >= 0xc, neg_add;
        if (lo == 6)                       /* fmaddsub: even elements subtract */
            neg_add = (e / esz) % 2 == 0;
        else if (lo == 7)                  /* fmsubadd: odd elements subtract */
            neg_add = (e / esz) % 2 == 1;
        else
            neg_add = lo == 0xa || lo == 0xb || lo == 0xe || lo == 0xf;
        fma_elem(s1 + e, s2 + e, s3 + e, order, neg_prod, neg_add, dbl, r + e, &flags);
    }
    flags |= sse_host_leave(host);
    sse_fp_flags(c, flags);               /* an unmasked one raises: nothing written */
    avx_set(c, i->reg, (const emu_xmm *)(const void *)r,
            !scalar && VEX_L(i) ? (const emu_xmm *)(const void *)(r + 16) : NULL);
}

void emu_avx_fma_register(void)
{
    for (unsigned base = 0x90; base <= 0xb0; base += 0x10)
        for (unsigned op = base + 6; op <= base + 0xf; op++)
            emu_vex_ops[MAP_0F38][op] = h_fma;
}
