/* Data movement of emu's SSE/MMX unit: loads and stores of whole and partial
 * registers, movd/movq, bitwise logic, shuffles/unpacks of floats, masks,
 * element insert/extract and the non-temporal moves. */
#include "engine/emu/sse.h"

#define REX_W(i) ((i)->rex & 8)

static void need_mem(struct emu_cpu *c, const struct emu_insn *i)
{
    if (i->mod == 3)
        emu_sse_ud(c, i);
}

static void need_reg(struct emu_cpu *c, const struct emu_insn *i)
{
    if (i->mod != 3)
        emu_sse_ud(c, i);
}

/* 0F 10: movups, movupd, movss, movsd (loads) */
static void h_mov_load(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_xmm v;
    int mp = sse_mp(i);
    sse_check(c);
    if (mp == MP_NONE || mp == MP_66) {
        sse_src128(c, i, &v, false);
        c->xmm[i->reg] = v;
    } else if (mp == MP_F3) {
        if (i->mod == 3) {
            c->xmm[i->reg].d[0] = c->xmm[i->rm].d[0];
        } else {
            uint32_t x = (uint32_t)lin_read(c, emu_ea(c, i), 4);
            memset(&c->xmm[i->reg], 0, 16);
            c->xmm[i->reg].d[0] = x;
        }
    } else {
        if (i->mod == 3) {
            c->xmm[i->reg].q[0] = c->xmm[i->rm].q[0];
        } else {
            uint64_t x = lin_read(c, emu_ea(c, i), 8);
            c->xmm[i->reg].q[0] = x;
            c->xmm[i->reg].q[1] = 0;
        }
    }
}

/* 0F 11: the store forms */
static void h_mov_store(struct emu_cpu *c, const struct emu_insn *i)
{
    int mp = sse_mp(i);
    sse_check(c);
    if (mp == MP_NONE || mp == MP_66) {
        emu_xmm v = c->xmm[i->reg];
        sse_dst128(c, i, &v, false);
    } else if (mp == MP_F3) {
        if (i->mod == 3)
            c->xmm[i->rm].d[0] = c->xmm[i->reg].d[0];
        else
            lin_write(c, emu_ea(c, i), 4, c->xmm[i->reg].d[0]);
    } else {
        if (i->mod == 3)
            c->xmm[i->rm].q[0] = c->xmm[i->reg].q[0];
        else
            lin_write(c, emu_ea(c, i), 8, c->xmm[i->reg].q[0]);
    }
}

/* 0F 12 / 0F 16: movlps/movhlps/movlpd/movddup/movsldup and the high twins. */
static void h_mov_lo_hi(struct emu_cpu *c, const struct emu_insn *i, bool high)
{
    emu_xmm *d = &c->xmm[i->reg], s;
    int mp = sse_mp(i);
    sse_check(c);
    switch (mp) {
    case MP_NONE:
    case MP_66:
        if (i->mod == 3) {
            if (mp == MP_66)
                emu_sse_ud(c, i);
            /* movhlps / movlhps */
            if (high)
                d->q[1] = c->xmm[i->rm].q[0];
            else
                d->q[0] = c->xmm[i->rm].q[1];
        } else {
            uint64_t v = lin_read(c, emu_ea(c, i), 8);
            d->q[high] = v;
        }
        return;
    case MP_F2:
        if (high)
            emu_sse_ud(c, i);
        s.q[0] = sse_src64(c, i);
        d->q[0] = d->q[1] = s.q[0];
        return;
    default:                     /* movsldup / movshdup */
        sse_src128(c, i, &s, true);
        d->d[0] = d->d[1] = s.d[high];
        d->d[2] = d->d[3] = s.d[2 + high];
        return;
    }
}

static void h_0f12(struct emu_cpu *c, const struct emu_insn *i) { h_mov_lo_hi(c, i, false); }
static void h_0f16(struct emu_cpu *c, const struct emu_insn *i) { h_mov_lo_hi(c, i, true); }

/* 0F 13 / 0F 17: movlps/movlpd m64, xmm and movhps/movhpd m64, xmm */
static void h_store_half(struct emu_cpu *c, const struct emu_insn *i, unsigned half)
{
    int mp = sse_mp(i);
    if (mp != MP_NONE && mp != MP_66)
        emu_sse_ud(c, i);
    need_mem(c, i);
    sse_check(c);
    lin_write(c, emu_ea(c, i), 8, c->xmm[i->reg].q[half]);
}

static void h_0f13(struct emu_cpu *c, const struct emu_insn *i) { h_store_half(c, i, 0); }
static void h_0f17(struct emu_cpu *c, const struct emu_insn *i) { h_store_half(c, i, 1); }

static void ps_pd_only(struct emu_cpu *c, const struct emu_insn *i)
{
    int mp = sse_mp(i);
    if (mp != MP_NONE && mp != MP_66)
        emu_sse_ud(c, i);
    sse_check(c);
}

/* 0F 14 / 15: unpcklps/pd, unpckhps/pd */
static void h_unpck(struct emu_cpu *c, const struct emu_insn *i, unsigned hi)
{
    emu_xmm s, r, *d = &c->xmm[i->reg];
    ps_pd_only(c, i);
    sse_src128(c, i, &s, true);
    if (sse_mp(i) == MP_NONE) {
        r.d[0] = d->d[2 * hi];
        r.d[1] = s.d[2 * hi];
        r.d[2] = d->d[2 * hi + 1];
        r.d[3] = s.d[2 * hi + 1];
    } else {
        r.q[0] = d->q[hi];
        r.q[1] = s.q[hi];
    }
    *d = r;
}

static void h_0f14(struct emu_cpu *c, const struct emu_insn *i) { h_unpck(c, i, 0); }
static void h_0f15(struct emu_cpu *c, const struct emu_insn *i) { h_unpck(c, i, 1); }

/* 0F 28 / 29 / 2B: movaps/movapd, stores, movntps/movntpd */
static void h_movap_load(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_xmm v;
    ps_pd_only(c, i);
    sse_src128(c, i, &v, true);
    c->xmm[i->reg] = v;
}

static void h_movap_store(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_xmm v = c->xmm[i->reg];
    ps_pd_only(c, i);
    sse_dst128(c, i, &v, true);
}

static void h_movnt_p(struct emu_cpu *c, const struct emu_insn *i)
{
    need_mem(c, i);
    h_movap_store(c, i);
}

/* 0F 50: movmskps/movmskpd r32, xmm */
static void h_movmskp(struct emu_cpu *c, const struct emu_insn *i)
{
    const emu_xmm *s = &c->xmm[i->rm];
    unsigned m = 0;
    ps_pd_only(c, i);
    need_reg(c, i);
    if (sse_mp(i) == MP_NONE)
        for (unsigned k = 0; k < 4; k++)
            m |= (s->d[k] >> 31) << k;
    else
        m = (unsigned)(s->q[0] >> 63) | (unsigned)(s->q[1] >> 63) << 1;
    c->gpr[i->reg] = m;
}

/* 0F 54..57: andps/andnps/orps/xorps and the pd forms (bitwise, no FP flags) */
static void logic(struct emu_cpu *c, const struct emu_insn *i, int op)
{
    emu_xmm s, *d = &c->xmm[i->reg];
    ps_pd_only(c, i);
    sse_src128(c, i, &s, true);
    for (unsigned k = 0; k < 2; k++) {
        uint64_t a = d->q[k], b = s.q[k];
        d->q[k] = op == 0 ? (a & b) : op == 1 ? (~a & b) : op == 2 ? (a | b) : (a ^ b);
    }
}

static void h_andp(struct emu_cpu *c, const struct emu_insn *i) { logic(c, i, 0); }
static void h_andnp(struct emu_cpu *c, const struct emu_insn *i) { logic(c, i, 1); }
static void h_orp(struct emu_cpu *c, const struct emu_insn *i) { logic(c, i, 2); }
static void h_xorp(struct emu_cpu *c, const struct emu_insn *i) { logic(c, i, 3); }

/* 0F C6: shufps/shufpd */
static void h_shufp(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_xmm s, r, *d = &c->xmm[i->reg];
    unsigned imm = (uint8_t)i->imm;
    ps_pd_only(c, i);
    sse_src128(c, i, &s, true);
    if (sse_mp(i) == MP_NONE) {
        r.d[0] = d->d[imm & 3];
        r.d[1] = d->d[(imm >> 2) & 3];
        r.d[2] = s.d[(imm >> 4) & 3];
        r.d[3] = s.d[(imm >> 6) & 3];
    } else {
        r.q[0] = d->q[imm & 1];
        r.q[1] = s.q[(imm >> 1) & 1];
    }
    *d = r;
}

/* 0F 6E: movd/movq mm|xmm, r/m32|64 */
static void h_movd_in(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned size = REX_W(i) ? 8 : 4;
    int mp = sse_mp(i);
    uint64_t v;
    if (mp == MP_66) {
        sse_check(c);
        v = sse_gpr_src(c, i, size);
        memset(&c->xmm[i->reg], 0, 16);
        c->xmm[i->reg].q[0] = v;
    } else if (mp == MP_NONE) {
        mmx_check(c);
        v = sse_gpr_src(c, i, size);
        mmx_enter(c);
        mmx_set(c, i->reg, v);
    } else {
        emu_sse_ud(c, i);
    }
}

/* 0F 7E: movd/movq r/m32|64, mm|xmm; F3: movq xmm, xmm/m64 */
static void h_movd_out(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned size = REX_W(i) ? 8 : 4;
    int mp = sse_mp(i);
    uint64_t v;
    if (mp == MP_F3) {
        sse_check(c);
        v = sse_src64(c, i);
        c->xmm[i->reg].q[0] = v;
        c->xmm[i->reg].q[1] = 0;
        return;
    }
    if (mp == MP_66) {
        sse_check(c);
        v = c->xmm[i->reg].q[0];
    } else if (mp == MP_NONE) {
        mmx_check(c);
        v = mmx_get(c, i->reg);
    } else {
        emu_sse_ud(c, i);
    }
    v &= emu_size_mask(size);
    if (i->mod == 3) {
        if (mp == MP_NONE)
            mmx_enter(c);
        sse_set_gpr(c, i->rm, size, v);
    } else {
        lin_write(c, emu_ea(c, i), size, v);
        if (mp == MP_NONE)
            mmx_enter(c);
    }
}

/* 0F 6F: movq mm, mm/m64; movdqa; movdqu */
static void h_movdq_load(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_xmm v;
    int mp = sse_mp(i);
    if (mp == MP_NONE) {
        uint64_t x;
        mmx_check(c);
        x = mmx_src64(c, i);
        mmx_enter(c);
        mmx_set(c, i->reg, x);
        return;
    }
    if (mp == MP_F2)
        emu_sse_ud(c, i);
    sse_check(c);
    sse_src128(c, i, &v, mp == MP_66);
    c->xmm[i->reg] = v;
}

/* 0F 7F: the store forms */
static void h_movdq_store(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_xmm v;
    int mp = sse_mp(i);
    if (mp == MP_NONE) {
        uint64_t x;
        mmx_check(c);
        x = mmx_get(c, i->reg);
        if (i->mod == 3) {
            mmx_enter(c);
            mmx_set(c, i->rm, x);
        } else {
            lin_write(c, emu_ea(c, i), 8, x);
            mmx_enter(c);
        }
        return;
    }
    if (mp == MP_F2)
        emu_sse_ud(c, i);
    sse_check(c);
    v = c->xmm[i->reg];
    sse_dst128(c, i, &v, mp == MP_66);
}

/* 0F D6: movq xmm/m64, xmm; movq2dq; movdq2q */
static void h_0fd6(struct emu_cpu *c, const struct emu_insn *i)
{
    switch (sse_mp(i)) {
    case MP_66:
        sse_check(c);
        if (i->mod == 3) {
            c->xmm[i->rm].q[0] = c->xmm[i->reg].q[0];
            c->xmm[i->rm].q[1] = 0;
        } else {
            lin_write(c, emu_ea(c, i), 8, c->xmm[i->reg].q[0]);
        }
        return;
    case MP_F3:                  /* movq2dq xmm, mm */
        need_reg(c, i);
        sse_check(c);
        mmx_enter(c);
        c->xmm[i->reg].q[0] = mmx_get(c, i->rm);
        c->xmm[i->reg].q[1] = 0;
        return;
    case MP_F2:                  /* movdq2q mm, xmm */
        need_reg(c, i);
        sse_check(c);
        mmx_enter(c);
        mmx_set(c, i->reg, c->xmm[i->rm].q[0]);
        return;
    default:
        emu_sse_ud(c, i);
    }
}

/* 0F D7: pmovmskb r32, mm|xmm */
static void h_pmovmskb(struct emu_cpu *c, const struct emu_insn *i)
{
    int mp = sse_mp(i);
    unsigned m = 0;
    need_reg(c, i);
    if (mp == MP_66) {
        sse_check(c);
        m = sse_byte_signs(&c->xmm[i->rm]);
    } else if (mp == MP_NONE) {
        uint64_t v;
        mmx_enter(c);
        v = mmx_get(c, i->rm);
        m = sse_byte_signs64(v);
    } else {
        emu_sse_ud(c, i);
    }
    c->gpr[i->reg] = m;
}

/* 0F E7: movntq m64, mm; movntdq m128, xmm */
static void h_movnt_dq(struct emu_cpu *c, const struct emu_insn *i)
{
    need_mem(c, i);
    if (sse_mp(i) == MP_NONE) {
        mmx_check(c);
        lin_write(c, emu_ea(c, i), 8, mmx_get(c, i->reg));
        mmx_enter(c);
    } else if (sse_mp(i) == MP_66) {
        emu_xmm v = c->xmm[i->reg];
        sse_check(c);
        sse_dst128(c, i, &v, true);
    } else {
        emu_sse_ud(c, i);
    }
}

/* 0F F0: lddqu (F2, memory only, unaligned) */
static void h_lddqu(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_xmm v;
    if (sse_mp(i) != MP_F2)
        emu_sse_ud(c, i);
    need_mem(c, i);
    sse_check(c);
    sse_src128(c, i, &v, false);
    c->xmm[i->reg] = v;
}

/* 0F38 2A: movntdqa (66, memory, aligned) */
static void h_movntdqa(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_xmm v;
    if (sse_mp(i) != MP_66)
        emu_sse_ud(c, i);
    need_mem(c, i);
    sse_check(c);
    sse_src128(c, i, &v, true);
    c->xmm[i->reg] = v;
}

/* 0F F7: maskmovq/maskmovdqu: byte-masked store to DS:rDI */
static void h_maskmov(struct emu_cpu *c, const struct emu_insn *i)
{
    int mp = sse_mp(i);
    unsigned n = mp == MP_66 ? 16 : 8;
    emu_xmm d, m;
    uint64_t off = c->gpr[7] & emu_size_mask(i->adsize);
    uint8_t seg = (i->prefix & PFX_SEG) ? i->seg : S_DS;
    need_reg(c, i);
    if (mp == MP_66) {
        sse_check(c);
        d = c->xmm[i->reg];
        m = c->xmm[i->rm];
    } else if (mp == MP_NONE) {
        mmx_enter(c);
        d.q[0] = mmx_get(c, i->reg);
        m.q[0] = mmx_get(c, i->rm);
    } else {
        emu_sse_ud(c, i);
    }
    for (unsigned k = 0; k < n; k++)
        if (m.b[k] & 0x80)
            lin_write(c, emu_linear(c, seg, (off + k) & emu_size_mask(i->adsize), 1, true), 1, d.b[k]);
}

/* 0F C4: pinsrw mm|xmm, r32/m16, imm8 */
static void h_pinsrw(struct emu_cpu *c, const struct emu_insn *i)
{
    int mp = sse_mp(i);
    uint16_t v;
    if (mp == MP_66) {
        sse_check(c);
        v = (uint16_t)sse_gpr_src(c, i, 2);
        c->xmm[i->reg].w[i->imm & 7] = v;
    } else if (mp == MP_NONE) {
        emu_xmm t;
        mmx_check(c);
        v = (uint16_t)sse_gpr_src(c, i, 2);
        mmx_enter(c);
        t.q[0] = mmx_get(c, i->reg);
        t.w[i->imm & 3] = v;
        mmx_set(c, i->reg, t.q[0]);
    } else {
        emu_sse_ud(c, i);
    }
}

/* 0F C5: pextrw r32, mm|xmm, imm8 */
static void h_pextrw(struct emu_cpu *c, const struct emu_insn *i)
{
    int mp = sse_mp(i);
    need_reg(c, i);
    if (mp == MP_66) {
        sse_check(c);
        c->gpr[i->reg] = c->xmm[i->rm].w[i->imm & 7];
    } else if (mp == MP_NONE) {
        emu_xmm t;
        mmx_enter(c);
        t.q[0] = mmx_get(c, i->rm);
        c->gpr[i->reg] = t.w[i->imm & 3];
    } else {
        emu_sse_ud(c, i);
    }
}

/* 0F 77: emms */
static void h_emms(struct emu_cpu *c, const struct emu_insn *i)
{
    if (sse_mp(i) != MP_NONE)
        emu_sse_ud(c, i);
    mmx_check(c);
    c->x87.ftw = 0xffff;
}

/* 0F3A 14..17: pextrb/pextrw/pextrd/pextrq/extractps to r/m */
static void extract(struct emu_cpu *c, const struct emu_insn *i, unsigned size, uint64_t v)
{
    if (i->mod == 3)
        c->gpr[i->rm] = size == 8 ? v : (uint32_t)v;
    else
        lin_write(c, emu_ea(c, i), size, v);
}

static void need_66(struct emu_cpu *c, const struct emu_insn *i)
{
    if (sse_mp(i) != MP_66)
        emu_sse_ud(c, i);
    sse_check(c);
}

static void h_pextrb(struct emu_cpu *c, const struct emu_insn *i)
{
    need_66(c, i);
    extract(c, i, 1, c->xmm[i->reg].b[i->imm & 15]);
}

static void h_pextrw_rm(struct emu_cpu *c, const struct emu_insn *i)
{
    need_66(c, i);
    extract(c, i, 2, c->xmm[i->reg].w[i->imm & 7]);
}

static void h_pextrdq(struct emu_cpu *c, const struct emu_insn *i)
{
    need_66(c, i);
    if (REX_W(i))
        extract(c, i, 8, c->xmm[i->reg].q[i->imm & 1]);
    else
        extract(c, i, 4, c->xmm[i->reg].d[i->imm & 3]);
}

static void h_extractps(struct emu_cpu *c, const struct emu_insn *i)
{
    need_66(c, i);
    extract(c, i, 4, c->xmm[i->reg].d[i->imm & 3]);
}

/* 0F3A 20 / 22: pinsrb / pinsrd / pinsrq */
static void h_pinsrb(struct emu_cpu *c, const struct emu_insn *i)
{
    uint8_t v;
    need_66(c, i);
    v = (uint8_t)sse_gpr_src(c, i, 1);
    c->xmm[i->reg].b[i->imm & 15] = v;
}

static void h_pinsrdq(struct emu_cpu *c, const struct emu_insn *i)
{
    need_66(c, i);
    if (REX_W(i)) {
        uint64_t v = sse_gpr_src(c, i, 8);
        c->xmm[i->reg].q[i->imm & 1] = v;
    } else {
        uint32_t v = (uint32_t)sse_gpr_src(c, i, 4);
        c->xmm[i->reg].d[i->imm & 3] = v;
    }
}

/* 0F3A 21: insertps xmm, xmm/m32, imm8 */
static void h_insertps(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned imm = (uint8_t)i->imm;
    uint32_t v;
    emu_xmm *d = &c->xmm[i->reg];
    need_66(c, i);
    if (i->mod == 3)
        v = c->xmm[i->rm].d[(imm >> 6) & 3];
    else
        v = (uint32_t)lin_read(c, emu_ea(c, i), 4);
    d->d[(imm >> 4) & 3] = v;
    for (unsigned k = 0; k < 4; k++)
        if (imm & (1u << k))
            d->d[k] = 0;
}

void emu_sse_move_register(void)
{
    emu_handler *m = emu_ops[MAP_0F], *m38 = emu_ops[MAP_0F38], *m3a = emu_ops[MAP_0F3A];
    m[0x10] = h_mov_load; m[0x11] = h_mov_store; m[0x12] = h_0f12; m[0x13] = h_0f13;
    m[0x14] = h_0f14; m[0x15] = h_0f15; m[0x16] = h_0f16; m[0x17] = h_0f17;
    m[0x28] = h_movap_load; m[0x29] = h_movap_store; m[0x2b] = h_movnt_p;
    m[0x50] = h_movmskp;
    m[0x54] = h_andp; m[0x55] = h_andnp; m[0x56] = h_orp; m[0x57] = h_xorp;
    m[0x6e] = h_movd_in; m[0x6f] = h_movdq_load; m[0x77] = h_emms;
    m[0x7e] = h_movd_out; m[0x7f] = h_movdq_store;
    m[0xc4] = h_pinsrw; m[0xc5] = h_pextrw; m[0xc6] = h_shufp;
    m[0xd6] = h_0fd6; m[0xd7] = h_pmovmskb; m[0xe7] = h_movnt_dq; m[0xf0] = h_lddqu;
    m[0xf7] = h_maskmov;
    m38[0x2a] = h_movntdqa;
    m3a[0x14] = h_pextrb; m3a[0x15] = h_pextrw_rm; m3a[0x16] = h_pextrdq; m3a[0x17] = h_extractps;
    m3a[0x20] = h_pinsrb; m3a[0x21] = h_insertps; m3a[0x22] = h_pinsrdq;
}
