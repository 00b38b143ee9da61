/* AVX/AVX2 of emu, part two: the forms that are not two lanes of an SSE
 * operation.  Moves (VMOVDQU/A, VMOVUPS/APS/UPD/APD, VMOVSS/SD, VMOVD/Q,
 * VLDDQU, non-temporal), VZEROUPPER/VZEROALL, VPMOVMSKB/VMOVMSKPS/PD,
 * VPTEST/VTESTPS/PD, broadcasts, 128-bit lane inserts/extracts/permutes,
 * VPERMD/Q/PS/PD, VPBLENDD and the per-element shifts VPSLLV/VPSRLV/VPSRAV. */
#include "engine/emu/avx.h"

static int pp_of(const struct emu_insn *i)
{
    return sse_mp(i);   /* MP_NONE, MP_66, MP_F3, MP_F2 from VEX.pp */
}

static _Noreturn void ud(struct emu_cpu *c)
{
    emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
}

/* Common entry: form checks first (#UD), then the state checks. */
static void enter(struct emu_cpu *c, const struct emu_insn *i, bool no_vvvv, int need_l, int need_w)
{
    if ((no_vvvv && VEX_VVVV(i)) || (need_l >= 0 && VEX_L(i) != (unsigned)need_l) ||
        (need_w >= 0 && c->mode == MODE_LONG64 && VEX_W(i) != need_w))
        ud(c);
    avx_check(c);
}

static void ymm_get(const struct emu_cpu *c, unsigned r, emu_xmm v[2])
{
    v[0] = c->xmm[r];
    v[1] = c->ymm_hi[r];
}

/* A YMM register's 32 bytes, as an array of any element type. */
static void ymm_bytes(const struct emu_cpu *c, unsigned r, void *out)
{
    memcpy(out, &c->xmm[r], 16);
    memcpy((uint8_t *)out + 16, &c->ymm_hi[r], 16);
}

static uint64_t mem_ea(struct emu_cpu *c, const struct emu_insn *i, unsigned align)
{
    uint64_t la = emu_ea(c, i);
    if (align && (la & (align - 1)))
        emu_raise(c, EXC_GP, 0);
    return la;
}

/* ---- full-register moves ---- */

/* 0F 10/11 (none, 66), 28/29, 6F/7F (66 aligned, F3), E7, 2B, F2 0F F0, 66 0F38 2A. */
static void mov_full(struct emu_cpu *c, const struct emu_insn *i, bool store, bool aligned,
                     bool mem_only)
{
    enter(c, i, true, -1, -1);
    if (mem_only && i->mod == 3)
        ud(c);
    emu_xmm v[2] = { { .q = { 0, 0 } }, { .q = { 0, 0 } } };
    /* Constant lengths in each branch: the copies become whole-register
     * moves (a variable one is a byte loop that stalls the reload). */
    if (!store) {
        if (VEX_L(i)) {
            avx_src(c, i, v, 32, aligned ? 32 : 0);
            avx_set(c, i->reg, &v[0], &v[1]);
        } else {
            avx_src(c, i, v, 16, aligned ? 16 : 0);
            avx_set(c, i->reg, &v[0], NULL);
        }
        return;
    }
    ymm_get(c, i->reg, v);
    if (i->mod == 3)
        avx_set(c, i->rm, &v[0], VEX_L(i) ? &v[1] : NULL);
    else if (VEX_L(i))
        sse_write_buf(c, mem_ea(c, i, aligned ? 32 : 0), v, 32);
    else
        sse_write_buf(c, mem_ea(c, i, aligned ? 16 : 0), v, 16);
}

/* VMOVSS/VMOVSD (F3/F2 0F 10/11): memory loads zero the rest; the register
 * form merges the scalar into the first source's upper elements. */
static void mov_scalar(struct emu_cpu *c, const struct emu_insn *i, bool store)
{
    unsigned size = pp_of(i) == MP_F3 ? 4 : 8;
    if (i->mod == 3) {
        enter(c, i, false, -1, -1);
        unsigned dst = store ? i->rm : i->reg, src = store ? i->reg : i->rm;
        emu_xmm v = c->xmm[VEX_VVVV(i)];
        memcpy(&v, &c->xmm[src], size);
        avx_set(c, dst, &v, NULL);
        return;
    }
    enter(c, i, true, -1, -1);
    if (store) {
        sse_write_buf(c, emu_ea(c, i), &c->xmm[i->reg], size);
        return;
    }
    emu_xmm v = { .q = { 0, 0 } };
    sse_read_buf(c, emu_ea(c, i), &v, size);
    avx_set(c, i->reg, &v, NULL);
}

static void h_10_11(struct emu_cpu *c, const struct emu_insn *i)
{
    int mp = pp_of(i);
    if (mp == MP_F3 || mp == MP_F2)
        mov_scalar(c, i, i->op == 0x11);
    else
        mov_full(c, i, i->op == 0x11, false, false);
}

static void h_28_29(struct emu_cpu *c, const struct emu_insn *i)
{
    if (pp_of(i) != MP_NONE && pp_of(i) != MP_66)
        ud(c);
    mov_full(c, i, i->op == 0x29, true, false);
}

static void h_6f_7f(struct emu_cpu *c, const struct emu_insn *i)
{
    if (pp_of(i) != MP_66 && pp_of(i) != MP_F3)
        ud(c);
    mov_full(c, i, i->op == 0x7f, pp_of(i) == MP_66, false);
}

static void h_movnt(struct emu_cpu *c, const struct emu_insn *i)   /* 0F 2B (none/66), 66 0F E7 */
{
    int mp = pp_of(i);
    if (i->op == 0xe7 ? mp != MP_66 : (mp != MP_NONE && mp != MP_66))
        ud(c);
    mov_full(c, i, true, true, true);
}

static void h_lddqu(struct emu_cpu *c, const struct emu_insn *i)   /* F2 0F F0 */
{
    if (pp_of(i) != MP_F2)
        ud(c);
    mov_full(c, i, false, false, true);
}

static void h_movntdqa(struct emu_cpu *c, const struct emu_insn *i)   /* 66 0F38 2A */
{
    if (pp_of(i) != MP_66)
        ud(c);
    mov_full(c, i, false, true, true);
}

/* ---- VMOVD / VMOVQ ---- */

static void h_movd_in(struct emu_cpu *c, const struct emu_insn *i)   /* 66 0F 6E */
{
    if (pp_of(i) != MP_66)
        ud(c);
    enter(c, i, true, 0, -1);
    unsigned size = VEX_W(i) && c->mode == MODE_LONG64 ? 8 : 4;
    emu_xmm v = { .q = { sse_gpr_src(c, i, size), 0 } };
    avx_set(c, i->reg, &v, NULL);
}

static void h_movd_out(struct emu_cpu *c, const struct emu_insn *i)   /* 66 0F 7E, F3 0F 7E */
{
    enter(c, i, true, 0, -1);
    if (pp_of(i) == MP_F3) {                    /* vmovq xmm, xmm/m64 */
        emu_xmm v = { .q = { 0, 0 } };
        avx_src(c, i, &v, 8, 0);
        v.q[1] = 0;
        avx_set(c, i->reg, &v, NULL);
        return;
    }
    if (pp_of(i) != MP_66)
        ud(c);
    unsigned size = VEX_W(i) && c->mode == MODE_LONG64 ? 8 : 4;
    uint64_t v = c->xmm[i->reg].q[0] & emu_size_mask(size);
    if (i->mod == 3)
        sse_set_gpr(c, i->rm, size, v);
    else
        lin_write(c, emu_ea(c, i), size, v);
}

static void h_movq_d6(struct emu_cpu *c, const struct emu_insn *i)   /* 66 0F D6: xmm/m64 <- xmm */
{
    if (pp_of(i) != MP_66)
        ud(c);
    enter(c, i, true, 0, -1);
    emu_xmm v = { .q = { c->xmm[i->reg].q[0], 0 } };
    if (i->mod == 3)
        avx_set(c, i->rm, &v, NULL);
    else
        lin_write(c, emu_ea(c, i), 8, v.q[0]);
}

/* ---- VZEROUPPER / VZEROALL ---- */

static void h_zero(struct emu_cpu *c, const struct emu_insn *i)   /* 0F 77 */
{
    if (pp_of(i) != MP_NONE)
        ud(c);
    enter(c, i, true, -1, -1);
    unsigned n = sse_xmm_count(c);
    memset(c->ymm_hi, 0, n * sizeof(emu_xmm));
    if (VEX_L(i))
        memset(c->xmm, 0, n * sizeof(emu_xmm));
}

/* ---- masks and tests ---- */

static void h_pmovmskb(struct emu_cpu *c, const struct emu_insn *i)   /* 66 0F D7 */
{
    if (pp_of(i) != MP_66 || i->mod != 3)
        ud(c);
    enter(c, i, true, -1, -1);
    uint32_t m = sse_byte_signs(&c->xmm[i->rm]);
    if (VEX_L(i))
        m |= (uint32_t)sse_byte_signs(&c->ymm_hi[i->rm]) << 16;
    sse_set_gpr(c, i->reg, 8, m);
}

static void h_movmskp(struct emu_cpu *c, const struct emu_insn *i)   /* 0F 50 (ps), 66 0F 50 (pd) */
{
    int mp = pp_of(i);
    if ((mp != MP_NONE && mp != MP_66) || i->mod != 3)
        ud(c);
    enter(c, i, true, -1, -1);
    emu_xmm v[2];
    ymm_get(c, i->rm, v);
    uint32_t m = 0;
    unsigned esz = mp == MP_66 ? 8 : 4, n = (VEX_L(i) ? 32 : 16) / esz;
    for (unsigned k = 0; k < n; k++) {
        const uint8_t *e = &v[k * esz / 16].b[(k * esz) % 16];
        m |= (uint32_t)(e[esz - 1] >> 7) << k;
    }
    sse_set_gpr(c, i->reg, 8, m);
}

/* VPTEST (66 0F38 17, all bits) and VTESTPS/PD (66 0F38 0E/0F, sign bits). */
static void h_test(struct emu_cpu *c, const struct emu_insn *i)
{
    if (pp_of(i) != MP_66 || (i->op != 0x17 && c->mode == MODE_LONG64 && VEX_W(i)))
        ud(c);
    enter(c, i, true, -1, -1);
    unsigned len = VEX_L(i) ? 32 : 16;
    uint64_t s[4] = { 0, 0, 0, 0 }, d[4];
    avx_src(c, i, s, len, 0);
    ymm_bytes(c, i->reg, d);
    uint64_t mask = i->op == 0x17 ? ~0ULL : i->op == 0x0e ? 0x8000000080000000ULL : 1ULL << 63;
    uint64_t zf = 0, cf = 0;
    for (unsigned k = 0; k < len / 8; k++) {
        zf |= d[k] & s[k] & mask;
        cf |= ~d[k] & s[k] & mask;
    }
    flags_update(c, FLAGS_ARITH, (zf ? 0 : RFLAGS_ZF) | (cf ? 0 : RFLAGS_CF));
}

/* ---- broadcasts ---- */

static void broadcast(struct emu_cpu *c, const struct emu_insn *i, unsigned esz, bool reg_ok)
{
    if (i->mod == 3 && !reg_ok)
        ud(c);
    uint64_t e[2] = { 0, 0 };
    avx_src(c, i, e, i->mod == 3 ? 16 : esz, 0);
    /* The element repeated over a quadword, then four quadwords. */
    static const uint64_t rep[9] = { [1] = 0x0101010101010101ULL, [2] = 0x0001000100010001ULL,
                                     [4] = 0x0000000100000001ULL, [8] = 1 };
    uint64_t q = (esz == 8 ? e[0] : e[0] & ((1ULL << (8 * esz)) - 1)) * rep[esz];
    emu_xmm v[2] = { { .q = { q, q } }, { .q = { q, q } } };
    avx_set(c, i->reg, &v[0], VEX_L(i) ? &v[1] : NULL);
}

static void h_bcast(struct emu_cpu *c, const struct emu_insn *i)   /* 66 0F38 18 19 1A 58 59 5A 78 79 */
{
    if (pp_of(i) != MP_66)
        ud(c);
    switch (i->op) {
    case 0x18: enter(c, i, true, -1, 0); broadcast(c, i, 4, true); return;    /* vbroadcastss */
    case 0x19: enter(c, i, true, 1, 0); broadcast(c, i, 8, true); return;     /* vbroadcastsd */
    case 0x1a: case 0x5a: {                                                   /* f128 / i128 */
        enter(c, i, true, 1, 0);
        if (i->mod == 3)
            ud(c);
        emu_xmm v;
        avx_src(c, i, &v, 16, 0);
        avx_set(c, i->reg, &v, &v);
        return;
    }
    case 0x58: enter(c, i, true, -1, 0); broadcast(c, i, 4, true); return;    /* vpbroadcastd */
    case 0x59: enter(c, i, true, -1, 0); broadcast(c, i, 8, true); return;    /* vpbroadcastq */
    case 0x78: enter(c, i, true, -1, 0); broadcast(c, i, 1, true); return;    /* vpbroadcastb */
    case 0x79: enter(c, i, true, -1, 0); broadcast(c, i, 2, true); return;    /* vpbroadcastw */
    default: ud(c);
    }
}

/* ---- 128-bit lanes ---- */

static void h_insert128(struct emu_cpu *c, const struct emu_insn *i)   /* 66 0F3A 18 / 38 */
{
    if (pp_of(i) != MP_66)
        ud(c);
    enter(c, i, false, 1, 0);
    emu_xmm v[2], s;
    ymm_get(c, VEX_VVVV(i), v);
    avx_src(c, i, &s, 16, 0);
    v[i->imm & 1] = s;
    avx_set(c, i->reg, &v[0], &v[1]);
}

static void h_extract128(struct emu_cpu *c, const struct emu_insn *i)   /* 66 0F3A 19 / 39 */
{
    if (pp_of(i) != MP_66)
        ud(c);
    enter(c, i, true, 1, 0);
    emu_xmm v[2];
    ymm_get(c, i->reg, v);
    if (i->mod == 3)
        avx_set(c, i->rm, &v[i->imm & 1], NULL);
    else
        sse_write_buf(c, emu_ea(c, i), &v[i->imm & 1], 16);
}

static void h_perm2x128(struct emu_cpu *c, const struct emu_insn *i)   /* 66 0F3A 06 / 46 */
{
    if (pp_of(i) != MP_66)
        ud(c);
    enter(c, i, false, 1, 0);
    emu_xmm src[4], r[2];
    ymm_get(c, VEX_VVVV(i), src);
    avx_src(c, i, src + 2, 32, 0);
    for (unsigned k = 0; k < 2; k++) {
        unsigned sel = (unsigned)(i->imm >> (4 * k)) & 0xf;
        if (sel & 8)
            memset(&r[k], 0, 16);
        else
            r[k] = src[sel & 3];
    }
    avx_set(c, i->reg, &r[0], &r[1]);
}

/* VPERMQ/VPERMPD (66 0F3A 00/01, W1, imm) and VPERMD/VPERMPS (66 0F38 36/16,
 * W0, indexes in vvvv): whole-register element permutes. */
static void h_permq(struct emu_cpu *c, const struct emu_insn *i)
{
    if (pp_of(i) != MP_66)
        ud(c);
    enter(c, i, true, 1, 1);
    uint64_t s[4], r[4];
    avx_src(c, i, s, 32, 0);
    for (unsigned k = 0; k < 4; k++)
        r[k] = s[(i->imm >> (2 * k)) & 3];
    avx_set(c, i->reg, (const emu_xmm *)(const void *)r, (const emu_xmm *)(const void *)(r + 2));
}

static void h_permd(struct emu_cpu *c, const struct emu_insn *i)
{
    if (pp_of(i) != MP_66)
        ud(c);
    enter(c, i, false, 1, 0);
    uint32_t s[8], idx[8], r[8];
    avx_src(c, i, s, 32, 0);
    ymm_bytes(c, VEX_VVVV(i), idx);
    for (unsigned k = 0; k < 8; k++)
        r[k] = s[idx[k] & 7];
    emu_xmm v[2];
    memcpy(v, r, 32);
    avx_set(c, i->reg, &v[0], &v[1]);
}

static void h_pblendd(struct emu_cpu *c, const struct emu_insn *i)   /* 66 0F3A 02, W0 */
{
    if (pp_of(i) != MP_66)
        ud(c);
    enter(c, i, false, -1, 0);
    unsigned n = VEX_L(i) ? 8 : 4;
    uint32_t a[8], b[8] = { 0 };
    ymm_bytes(c, VEX_VVVV(i), a);
    avx_src(c, i, b, n * 4, 0);
    for (unsigned k = 0; k < n; k++)
        if ((i->imm >> k) & 1)
            a[k] = b[k];
    emu_xmm v[2];
    memcpy(v, a, 32);
    avx_set(c, i->reg, &v[0], VEX_L(i) ? &v[1] : NULL);
}

/* VPSRLVD/Q (45), VPSRAVD (46, W0), VPSLLVD/Q (47): per-element counts. */
static void h_shiftv(struct emu_cpu *c, const struct emu_insn *i)
{
    bool q = VEX_W(i) && c->mode == MODE_LONG64;
    if (pp_of(i) != MP_66 || (i->op == 0x46 && q))
        ud(c);
    enter(c, i, false, -1, -1);
    unsigned len = VEX_L(i) ? 32 : 16;
    uint64_t a[4], s[4] = { 0, 0, 0, 0 }, r[4] = { 0, 0, 0, 0 };
    ymm_bytes(c, VEX_VVVV(i), a);
    avx_src(c, i, s, len, 0);
    if (q) {
        for (unsigned k = 0; k < len / 8; k++) {
            uint64_t n = s[k];
            r[k] = n > 63 ? 0 : i->op == 0x47 ? a[k] << n : a[k] >> n;
        }
    } else {
        const uint32_t *a32 = (const uint32_t *)(const void *)a, *s32 = (const uint32_t *)(const void *)s;
        uint32_t *r32 = (uint32_t *)(void *)r;
        for (unsigned k = 0; k < len / 4; k++) {
            uint32_t n = s32[k], v = a32[k];
            if (i->op == 0x46)
                r32[k] = (uint32_t)((int32_t)v >> (n > 31 ? 31 : n));
            else
                r32[k] = n > 31 ? 0 : i->op == 0x47 ? v << n : v >> n;
        }
    }
    emu_xmm v[2];
    memcpy(v, r, 32);
    avx_set(c, i->reg, &v[0], VEX_L(i) ? &v[1] : NULL);
}

/* ---- VLDMXCSR / VSTMXCSR (0F AE /2 /3) ---- */

static void h_mxcsr(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned g = i->reg & 7;
    if (pp_of(i) != MP_NONE || i->mod == 3 || (g != 2 && g != 3))
        ud(c);
    enter(c, i, true, 0, -1);
    uint64_t la = emu_ea(c, i);
    if (g == 3) {
        lin_write(c, la, 4, c->mxcsr);
        return;
    }
    uint32_t v = (uint32_t)lin_read(c, la, 4);
    if (v & ~MXCSR_VALID)
        emu_raise(c, EXC_GP, 0);
    c->mxcsr = v;
}

/* ---- element moves across lanes and into/out of general registers ---- */

/* VPMOVSX/ZX (66 0F38 20-25, 30-35): the source's low elements widened. */
static void h_pmovx(struct emu_cpu *c, const struct emu_insn *i)
{
    static const uint8_t ssz[6] = { 1, 1, 1, 2, 2, 4 }, dsz[6] = { 2, 4, 8, 4, 8, 8 };
    unsigned k = i->op & 7;
    if (pp_of(i) != MP_66 || k > 5)
        ud(c);
    enter(c, i, true, -1, -1);
    bool sx = i->op < 0x30;
    unsigned len = VEX_L(i) ? 32 : 16, n = len / dsz[k];
    uint8_t src[16] = { 0 }, out[32];
    avx_src(c, i, src, i->mod == 3 ? 16 : n * ssz[k], 0);
    for (unsigned e = 0; e < n; e++) {
        uint64_t v = 0;
        memcpy(&v, src + e * ssz[k], ssz[k]);
        if (sx)
            v = (uint64_t)((int64_t)(v << (64 - 8 * ssz[k])) >> (64 - 8 * ssz[k]));
        memcpy(out + e * dsz[k], &v, dsz[k]);
    }
    avx_set(c, i->reg, (const emu_xmm *)(const void *)out,
            VEX_L(i) ? (const emu_xmm *)(const void *)(out + 16) : NULL);
}

/* VPERMILPS/PD with a control vector (66 0F38 0C/0D, W0): within lanes. */
static void h_permilv(struct emu_cpu *c, const struct emu_insn *i)
{
    if (pp_of(i) != MP_66)
        ud(c);
    enter(c, i, false, -1, 0);
    unsigned len = VEX_L(i) ? 32 : 16;
    uint32_t a[8], ctl[8] = { 0 }, r[8];
    ymm_bytes(c, VEX_VVVV(i), a);
    avx_src(c, i, ctl, len, 0);
    if (i->op == 0x0c) {
        for (unsigned e = 0; e < len / 4; e++)
            r[e] = a[(e & ~3u) + (ctl[e] & 3)];
    } else {
        const uint64_t *a64 = (const uint64_t *)(const void *)a, *c64 = (const uint64_t *)(const void *)ctl;
        uint64_t *r64 = (uint64_t *)(void *)r;
        for (unsigned e = 0; e < len / 8; e++)
            r64[e] = a64[(e & ~1u) + ((c64[e] >> 1) & 1)];
    }
    avx_set(c, i->reg, (const emu_xmm *)(const void *)r,
            VEX_L(i) ? (const emu_xmm *)(const void *)(r + 4) : NULL);
}

/* VBLENDVPS/PD, VPBLENDVB (66 0F3A 4A/4B/4C, W0): by the sign bits of the
 * register in imm8[7:4]. */
static void h_blendv(struct emu_cpu *c, const struct emu_insn *i)
{
    if (pp_of(i) != MP_66)
        ud(c);
    enter(c, i, false, -1, 0);
    unsigned len = VEX_L(i) ? 32 : 16, esz = i->op == 0x4a ? 4 : i->op == 0x4b ? 8 : 1;
    unsigned mreg = (unsigned)(i->imm >> 4) & (c->mode == MODE_LONG64 ? 15 : 7);
    uint8_t a[32], b[32] = { 0 }, m[32];
    ymm_bytes(c, VEX_VVVV(i), a);
    ymm_bytes(c, mreg, m);
    avx_src(c, i, b, len, 0);
    for (unsigned e = 0; e < len; e += esz)
        if (m[e + esz - 1] & 0x80)
            memcpy(a + e, b + e, esz);
    avx_set(c, i->reg, (const emu_xmm *)(const void *)a,
            VEX_L(i) ? (const emu_xmm *)(const void *)(a + 16) : NULL);
}

/* VPEXTRB/W/D/Q (66 0F3A 14/15/16, 66 0F C5) and VEXTRACTPS (66 0F3A 17):
 * an element to a general register (zero-extended) or memory. */
static void h_extr(struct emu_cpu *c, const struct emu_insn *i)
{
    bool c5 = i->map == MAP_0F;
    if (pp_of(i) != MP_66 || (c5 && i->mod != 3))
        ud(c);
    enter(c, i, true, 0, -1);
    unsigned esz = c5 || i->op == 0x15 ? 2 : i->op == 0x14 ? 1 : i->op == 0x17 ? 4
                 : (VEX_W(i) && c->mode == MODE_LONG64) ? 8 : 4;
    unsigned n = 16 / esz, e = (unsigned)i->imm & (n - 1);
    uint64_t v = 0;
    memcpy(&v, &c->xmm[c5 ? i->rm : i->reg].b[e * esz], esz);
    if (c5) {
        sse_set_gpr(c, i->reg, 8, v);
        return;
    }
    if (i->mod == 3)
        sse_set_gpr(c, i->rm, esz == 8 ? 8 : 4, v);
    else
        lin_write(c, emu_ea(c, i), esz, v);
}

/* VPINSRB/W/D/Q (66 0F3A 20/22, 66 0F C4): the first source with one
 * element from a general register or memory. */
static void h_insr(struct emu_cpu *c, const struct emu_insn *i)
{
    if (pp_of(i) != MP_66)
        ud(c);
    enter(c, i, false, 0, -1);
    unsigned esz = i->map == MAP_0F ? 2 : i->op == 0x20 ? 1
                 : (VEX_W(i) && c->mode == MODE_LONG64) ? 8 : 4;
    unsigned n = 16 / esz, e = (unsigned)i->imm & (n - 1);
    uint64_t v = sse_gpr_src(c, i, esz);
    emu_xmm r = c->xmm[VEX_VVVV(i)];
    memcpy(&r.b[e * esz], &v, esz);
    avx_set(c, i->reg, &r, NULL);
}

/* ---- VCMPPS/PD/SS/SD (0F C2): the 32 predicates ---- */

enum { R_LT = 1, R_EQ = 2, R_GT = 4, R_UN = 8 };

/* Which relations make predicate p (0-15; 16-31 are the same sets with
 * signalling flipped) true. */
static const uint8_t cmp_true[16] = {
    R_EQ, R_LT, R_LT | R_EQ, R_UN, R_LT | R_GT | R_UN, R_EQ | R_GT | R_UN, R_GT | R_UN,
    R_LT | R_EQ | R_GT, R_EQ | R_UN, R_LT | R_UN, R_LT | R_EQ | R_UN, 0, R_LT | R_GT,
    R_EQ | R_GT, R_GT, R_LT | R_EQ | R_GT | R_UN,
};
/* Predicates that raise invalid for a QNaN operand too (0-15 as the SDM
 * lists them; 16-31 flip it). */
static const uint16_t cmp_signalling = 0x6666;

/* One element: its relation and the flags it raises (IE, DE). */
static unsigned cmp_elem(const struct emu_cpu *c, const uint8_t *a, const uint8_t *b, bool dbl,
                         bool sig, uint32_t *flags)
{
    double x, y;
    bool nan_a, nan_b, snan = false, den = false;
    if (dbl) {
        uint64_t u, v;
        memcpy(&u, a, 8);
        memcpy(&v, b, 8);
        uint64_t ea = (u >> 52) & 0x7ff, eb = (v >> 52) & 0x7ff, ma = u << 12, mb = v << 12;
        nan_a = ea == 0x7ff && ma;
        nan_b = eb == 0x7ff && mb;
        snan = (nan_a && !((u >> 51) & 1)) || (nan_b && !((v >> 51) & 1));
        if (ea == 0 && ma) { den = true; if (c->mxcsr & MXCSR_DAZ) u &= 1ULL << 63; }
        if (eb == 0 && mb) { den = true; if (c->mxcsr & MXCSR_DAZ) v &= 1ULL << 63; }
        memcpy(&x, &u, 8);
        memcpy(&y, &v, 8);
    } else {
        uint32_t u, v;
        memcpy(&u, a, 4);
        memcpy(&v, b, 4);
        uint32_t ea = (u >> 23) & 0xff, eb = (v >> 23) & 0xff, ma = u << 9, mb = v << 9;
        nan_a = ea == 0xff && ma;
        nan_b = eb == 0xff && mb;
        snan = (nan_a && !((u >> 22) & 1)) || (nan_b && !((v >> 22) & 1));
        if (ea == 0 && ma) { den = true; if (c->mxcsr & MXCSR_DAZ) u &= 1u << 31; }
        if (eb == 0 && mb) { den = true; if (c->mxcsr & MXCSR_DAZ) v &= 1u << 31; }
        float fx, fy;
        memcpy(&fx, &u, 4);
        memcpy(&fy, &v, 4);
        x = fx;
        y = fy;
    }
    if (nan_a || nan_b) {
        if (snan || sig)
            *flags |= 1;                     /* IE */
        return R_UN;
    }
    if (den && !(c->mxcsr & MXCSR_DAZ))
        *flags |= 2;                         /* DE */
    return x < y ? R_LT : x > y ? R_GT : R_EQ;
}

static void h_vcmp(struct emu_cpu *c, const struct emu_insn *i)
{
    int mp = pp_of(i);
    bool scalar = mp == MP_F3 || mp == MP_F2, dbl = mp == MP_66 || mp == MP_F2;
    enter(c, i, false, -1, -1);
    unsigned p = (unsigned)i->imm & 31, esz = dbl ? 8 : 4;
    bool sig = ((cmp_signalling >> (p & 15)) & 1) ^ (p >= 16);
    unsigned len = scalar ? esz : VEX_L(i) ? 32 : 16;
    uint8_t a[32], b[32] = { 0 }, r[32];
    ymm_bytes(c, VEX_VVVV(i), a);
    avx_src(c, i, b, i->mod == 3 ? 32 : len, 0);
    memcpy(r, a, 32);
    uint32_t flags = 0;
    for (unsigned e = 0; e < len; e += esz) {
        unsigned rel = cmp_elem(c, a + e, b + e, dbl, sig, &flags);
        memset(r + e, (cmp_true[p & 15] & rel) ? 0xff : 0, esz);
    }
    sse_fp_flags(c, flags);   /* raises #XM/#UD for an unmasked one: nothing written */
    avx_set(c, i->reg, (const emu_xmm *)(const void *)r,
            !scalar && VEX_L(i) ? (const emu_xmm *)(const void *)(r + 16) : NULL);
}

/* ---- masked loads and stores ---- */

/* VMASKMOVPS/PD (66 0F38 2C/2D load, 2E/2F store, W0) and VPMASKMOVD/Q
 * (66 0F38 8C load, 8E store; W picks Q): only the elements whose mask
 * (VEX.vvvv) sign bit is set are accessed, so only they can fault; a store
 * checks every such element before it writes one. */
static void h_maskmov(struct emu_cpu *c, const struct emu_insn *i)
{
    bool pm = i->op >= 0x8c, store = pm ? i->op == 0x8e : i->op >= 0x2e;
    bool q = pm ? (VEX_W(i) && c->mode == MODE_LONG64) : (i->op & 1);
    if (pp_of(i) != MP_66 || i->mod == 3)
        ud(c);
    enter(c, i, false, -1, pm ? -1 : 0);
    unsigned esz = q ? 8 : 4, len = VEX_L(i) ? 32 : 16;
    uint8_t m[32], v[32];
    ymm_bytes(c, VEX_VVVV(i), m);
    uint64_t la = emu_ea(c, i);
    if (store) {
        ymm_bytes(c, i->reg, v);
        for (unsigned e = 0; e < len; e += esz)
            if (m[e + esz - 1] & 0x80)
                lin_probe_write(c, la + e, esz);
        for (unsigned e = 0; e < len; e += esz)
            if (m[e + esz - 1] & 0x80)
                lin_write(c, la + e, esz, host_load(v + e, esz));
        return;
    }
    memset(v, 0, sizeof(v));
    for (unsigned e = 0; e < len; e += esz)
        if (m[e + esz - 1] & 0x80) {
            uint64_t x = lin_read(c, la + e, esz);
            memcpy(v + e, &x, esz);
        }
    avx_set(c, i->reg, (const emu_xmm *)(const void *)v,
            VEX_L(i) ? (const emu_xmm *)(const void *)(v + 16) : NULL);
}

/* ---- gathers (AVX2) ---- */

/* VPGATHERDD/DQ (66 0F38 90), QD/QQ (91), VGATHERDPS/DPD (92), QPS/QPD (93):
 * VSIB addressing (a vector index register), VEX.vvvv the mask, W the data
 * size.  Elements load in order, each clearing its mask element, so a
 * fault leaves the ones before it done, as on hardware; at the end the
 * mask is zero and the destination's unused upper part too. */
static void h_gather(struct emu_cpu *c, const struct emu_insn *i)
{
    bool qidx = i->op & 1, qdata = VEX_W(i) && c->mode == MODE_LONG64;
    unsigned idx = i->index == 0xff ? 4 : i->index, mask = VEX_VVVV(i), dst = i->reg;
    if (pp_of(i) != MP_66 || i->mod == 3 || (i->modrm & 7) != 4 || dst == idx || dst == mask ||
        idx == mask)
        ud(c);
    enter(c, i, false, -1, -1);
    unsigned isz = qidx ? 8 : 4, dsz = qdata ? 8 : 4, len = VEX_L(i) ? 32 : 16;
    unsigned n = len / (isz > dsz ? isz : dsz);
    uint8_t ix[32], m[32], d[32];
    ymm_bytes(c, idx, ix);
    ymm_bytes(c, mask, m);
    ymm_bytes(c, dst, d);
    uint64_t base = (i->base < 16 ? c->gpr[i->base] : 0) + (uint64_t)i->disp;
    for (unsigned e = 0; e < n; e++) {
        if (!(m[e * dsz + dsz - 1] & 0x80))
            continue;
        int64_t off;
        if (qidx) {
            memcpy(&off, ix + e * 8, 8);
        } else {
            int32_t o32;
            memcpy(&o32, ix + e * 4, 4);
            off = o32;
        }
        uint64_t ea = (base + ((uint64_t)off << i->scale)) & emu_size_mask(i->adsize);
        uint64_t v = lin_read(c, emu_linear(c, i->seg, ea, dsz, false), dsz);
        memcpy(d + e * dsz, &v, dsz);
        memset(m + e * dsz, 0, dsz);
        /* Progress is architectural: a later fault keeps it. */
        memcpy(&c->xmm[dst], d, 16);
        memcpy(&c->ymm_hi[dst], d + 16, 16);
        memcpy(&c->xmm[mask], m, 16);
        memcpy(&c->ymm_hi[mask], m + 16, 16);
    }
    unsigned used = n * dsz;
    memset(d + used, 0, 32 - used);
    memset(m, 0, 32);
    avx_set(c, dst, (const emu_xmm *)(const void *)d, (const emu_xmm *)(const void *)(d + 16));
    avx_set(c, mask, (const emu_xmm *)(const void *)m, NULL);
}

void emu_avx_move_register(void)
{
    emu_handler *m = emu_vex_ops[MAP_0F], *m38 = emu_vex_ops[MAP_0F38], *m3a = emu_vex_ops[MAP_0F3A];
    m[0x10] = h_10_11; m[0x11] = h_10_11; m[0x28] = h_28_29; m[0x29] = h_28_29;
    m[0x6f] = h_6f_7f; m[0x7f] = h_6f_7f; m[0x2b] = h_movnt; m[0xe7] = h_movnt;
    m[0xf0] = h_lddqu; m38[0x2a] = h_movntdqa;
    m[0x6e] = h_movd_in; m[0x7e] = h_movd_out; m[0xd6] = h_movq_d6;
    m[0x77] = h_zero;
    m[0xd7] = h_pmovmskb; m[0x50] = h_movmskp;
    m38[0x17] = h_test; m38[0x0e] = h_test; m38[0x0f] = h_test;
    m38[0x18] = h_bcast; m38[0x19] = h_bcast; m38[0x1a] = h_bcast; m38[0x5a] = h_bcast;
    m38[0x58] = h_bcast; m38[0x59] = h_bcast; m38[0x78] = h_bcast; m38[0x79] = h_bcast;
    m3a[0x18] = h_insert128; m3a[0x38] = h_insert128;
    m3a[0x19] = h_extract128; m3a[0x39] = h_extract128;
    m3a[0x06] = h_perm2x128; m3a[0x46] = h_perm2x128;
    m3a[0x00] = h_permq; m3a[0x01] = h_permq;
    m38[0x36] = h_permd; m38[0x16] = h_permd;
    m3a[0x02] = h_pblendd;
    m38[0x45] = h_shiftv; m38[0x46] = h_shiftv; m38[0x47] = h_shiftv;
    m[0xae] = h_mxcsr;
    for (unsigned k = 0; k < 6; k++)
        m38[0x20 + k] = m38[0x30 + k] = h_pmovx;
    m38[0x0c] = h_permilv; m38[0x0d] = h_permilv;
    m3a[0x4a] = h_blendv; m3a[0x4b] = h_blendv; m3a[0x4c] = h_blendv;
    m3a[0x14] = h_extr; m3a[0x15] = h_extr; m3a[0x16] = h_extr; m3a[0x17] = h_extr; m[0xc5] = h_extr;
    m3a[0x20] = h_insr; m3a[0x22] = h_insr; m[0xc4] = h_insr;
    m[0xc2] = h_vcmp;
    m38[0x2c] = m38[0x2d] = m38[0x2e] = m38[0x2f] = h_maskmov;
    m38[0x8c] = m38[0x8e] = h_maskmov;
    for (unsigned op = 0x90; op <= 0x93; op++)
        m38[op] = h_gather;
}
