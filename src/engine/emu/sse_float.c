/* Floating-point SSE..SSE4.1 of emu: arithmetic, compares, conversions,
 * rounding and dot products.  The host executes the same instruction under
 * the guest's MXCSR (see sse.h), so results, NaN propagation, DAZ/FTZ and
 * exception flags are those of real hardware. */
#include "engine/emu/sse.h"

typedef sse_v4sf (*host_fn)(sse_v4sf d, sse_v4sf s);

#define HOST2(name, insn)                                                       \
    static sse_v4sf host_##name(sse_v4sf d, sse_v4sf s)                         \
    {                                                                           \
        __asm__ volatile(insn " %1, %0" : "+x"(d) : "x"(s));                    \
        return d;                                                               \
    }
#define HOST4(op) HOST2(op##ps, #op "ps") HOST2(op##pd, #op "pd") HOST2(op##ss, #op "ss") HOST2(op##sd, #op "sd")

HOST4(add) HOST4(sub) HOST4(mul) HOST4(div) HOST4(min) HOST4(max) HOST4(sqrt)
HOST2(rsqrtps, "rsqrtps") HOST2(rsqrtss, "rsqrtss") HOST2(rcpps, "rcpps") HOST2(rcpss, "rcpss")
HOST2(cvtps2pd, "cvtps2pd") HOST2(cvtpd2ps, "cvtpd2ps") HOST2(cvtss2sd, "cvtss2sd") HOST2(cvtsd2ss, "cvtsd2ss")
HOST2(cvtdq2ps, "cvtdq2ps") HOST2(cvtps2dq, "cvtps2dq") HOST2(cvttps2dq, "cvttps2dq")
HOST2(cvttpd2dq, "cvttpd2dq") HOST2(cvtdq2pd, "cvtdq2pd") HOST2(cvtpd2dq, "cvtpd2dq")
HOST2(haddps, "haddps") HOST2(haddpd, "haddpd") HOST2(hsubps, "hsubps") HOST2(hsubpd, "hsubpd")
HOST2(addsubps, "addsubps") HOST2(addsubpd, "addsubpd")

/* One row per opcode: the host operation and source width for each mandatory
 * prefix (none, 66, F3, F2); width 16 means an aligned m128, 0 no such form. */
struct fp_form {
    host_fn fn;
    uint8_t src;
};

static void fp_exec(struct emu_cpu *c, const struct emu_insn *i, const struct fp_form f[4])
{
    const struct fp_form *form = &f[sse_mp(i)];
    emu_xmm s;
    sse_v4sf r;
    uint32_t host, flags;
    if (!form->fn)
        emu_sse_ud(c, i);
    sse_check(c);
    if (i->mod == 3) {
        s = c->xmm[i->rm];
    } else if (form->src == 16) {
        sse_src128(c, i, &s, true);
    } else {
        memset(&s, 0, sizeof(s));
        sse_read_buf(c, emu_ea(c, i), &s, form->src);
    }
    host = sse_host_enter(c);
    r = form->fn(sse_v(&c->xmm[i->reg]), sse_v(&s));
    flags = sse_host_leave(host);
    if (sse_need_tiny_check(c, flags)) {
        host = sse_host_enter_fz(c);
        (void)form->fn(sse_v(&c->xmm[i->reg]), sse_v(&s));
        flags |= sse_host_leave(host) & MXCSR_UE;
    }
    sse_fp_flags(c, flags);
    c->xmm[i->reg] = sse_x(r);
}

#define FP_OP(name, ps, pd, ss, sd)                                              \
    static void h_##name(struct emu_cpu *c, const struct emu_insn *i)           \
    {                                                                           \
        static const struct fp_form f[4] = { ps, pd, ss, sd };                  \
        fp_exec(c, i, f);                                                       \
    }
#define F(fn, w) { host_##fn, w }
#define NONE { 0, 0 }
#define ARITH(op) FP_OP(op, F(op##ps, 16), F(op##pd, 16), F(op##ss, 4), F(op##sd, 8))
ARITH(add) ARITH(sub) ARITH(mul) ARITH(div) ARITH(min) ARITH(max) ARITH(sqrt)
FP_OP(rsqrt, F(rsqrtps, 16), NONE, F(rsqrtss, 4), NONE)
FP_OP(rcp, F(rcpps, 16), NONE, F(rcpss, 4), NONE)
FP_OP(cvt5a, F(cvtps2pd, 8), F(cvtpd2ps, 16), F(cvtss2sd, 4), F(cvtsd2ss, 8))
FP_OP(cvt5b, F(cvtdq2ps, 16), F(cvtps2dq, 16), F(cvttps2dq, 16), NONE)
FP_OP(cvte6, NONE, F(cvttpd2dq, 16), F(cvtdq2pd, 8), F(cvtpd2dq, 16))
FP_OP(hadd, NONE, F(haddpd, 16), NONE, F(haddps, 16))
FP_OP(hsub, NONE, F(hsubpd, 16), NONE, F(hsubps, 16))
FP_OP(addsub, NONE, F(addsubpd, 16), NONE, F(addsubps, 16))

/* ---- compares ---- */

#define CMP_CASE(insn, k) case k: __asm__ volatile(insn " %2, %1, %0" : "+x"(d) : "x"(s), "i"(k)); break;
#define CMP_FN(sfx)                                                              \
    static sse_v4sf host_cmp##sfx(sse_v4sf d, sse_v4sf s, unsigned imm)         \
    {                                                                           \
        switch (imm & 7) {                                                      \
        CMP_CASE("cmp" #sfx, 0) CMP_CASE("cmp" #sfx, 1) CMP_CASE("cmp" #sfx, 2)  \
        CMP_CASE("cmp" #sfx, 3) CMP_CASE("cmp" #sfx, 4) CMP_CASE("cmp" #sfx, 5)  \
        CMP_CASE("cmp" #sfx, 6) CMP_CASE("cmp" #sfx, 7)                          \
        }                                                                       \
        return d;                                                               \
    }
CMP_FN(ps) CMP_FN(pd) CMP_FN(ss) CMP_FN(sd)

typedef sse_v4sf (*host_imm_fn)(sse_v4sf d, sse_v4sf s, unsigned imm);

/* Like fp_exec for operations that take the immediate. */
static void fp_exec_imm(struct emu_cpu *c, const struct emu_insn *i, host_imm_fn fn, unsigned src)
{
    emu_xmm s;
    sse_v4sf r;
    uint32_t host, flags;
    sse_check(c);
    if (i->mod == 3) {
        s = c->xmm[i->rm];
    } else if (src == 16) {
        sse_src128(c, i, &s, true);
    } else {
        memset(&s, 0, sizeof(s));
        sse_read_buf(c, emu_ea(c, i), &s, src);
    }
    host = sse_host_enter(c);
    r = fn(sse_v(&c->xmm[i->reg]), sse_v(&s), (uint8_t)i->imm);
    flags = sse_host_leave(host);
    if (sse_need_tiny_check(c, flags)) {
        host = sse_host_enter_fz(c);
        (void)fn(sse_v(&c->xmm[i->reg]), sse_v(&s), (uint8_t)i->imm);
        flags |= sse_host_leave(host) & MXCSR_UE;
    }
    sse_fp_flags(c, flags);
    c->xmm[i->reg] = sse_x(r);
}

static void h_cmp(struct emu_cpu *c, const struct emu_insn *i)
{
    static const host_imm_fn fn[4] = { host_cmpps, host_cmppd, host_cmpss, host_cmpsd };
    static const uint8_t src[4] = { 16, 16, 4, 8 };
    int mp = sse_mp(i);
    fp_exec_imm(c, i, fn[mp], src[mp]);
}

/* 0F 2E / 2F: ucomiss/ucomisd/comiss/comisd set ZF PF CF, clear OF SF AF. */
static void comis(struct emu_cpu *c, const struct emu_insn *i, bool ordered)
{
    int mp = sse_mp(i);
    emu_xmm s;
    sse_v4sf a, b;
    uint64_t fl;
    uint32_t host, flags;
    const uint64_t mask = RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF;
    if (mp != MP_NONE && mp != MP_66)
        emu_sse_ud(c, i);
    sse_check(c);
    memset(&s, 0, sizeof(s));
    if (mp == MP_NONE)
        s.d[0] = sse_src32(c, i);
    else
        s.q[0] = sse_src64(c, i);
    a = sse_v(&c->xmm[i->reg]);
    b = sse_v(&s);
    host = sse_host_enter(c);
    if (mp == MP_NONE && ordered)
        __asm__ volatile("comiss %2, %1; pushfq; popq %0" : "=r"(fl) : "x"(a), "x"(b) : "cc");
    else if (mp == MP_NONE)
        __asm__ volatile("ucomiss %2, %1; pushfq; popq %0" : "=r"(fl) : "x"(a), "x"(b) : "cc");
    else if (ordered)
        __asm__ volatile("comisd %2, %1; pushfq; popq %0" : "=r"(fl) : "x"(a), "x"(b) : "cc");
    else
        __asm__ volatile("ucomisd %2, %1; pushfq; popq %0" : "=r"(fl) : "x"(a), "x"(b) : "cc");
    flags = sse_host_leave(host);
    sse_fp_flags(c, flags);
    emu_set_rflags(c, (emu_get_rflags(c) & ~mask) | (fl & (RFLAGS_CF | RFLAGS_PF | RFLAGS_ZF)));
}

static void h_ucomis(struct emu_cpu *c, const struct emu_insn *i) { comis(c, i, false); }
static void h_comis(struct emu_cpu *c, const struct emu_insn *i) { comis(c, i, true); }

/* ---- conversions with general-purpose or MMX operands ---- */

/* 0F 2A: cvtpi2ps, cvtpi2pd, cvtsi2ss, cvtsi2sd */
static void h_cvt2a(struct emu_cpu *c, const struct emu_insn *i)
{
    int mp = sse_mp(i);
    bool w = i->rex & 8;
    sse_v4sf d = sse_v(&c->xmm[i->reg]), t;
    emu_xmm s;
    uint64_t v;
    uint32_t host, flags;
    sse_check(c);
    if (mp == MP_NONE || mp == MP_66) {
        memset(&s, 0, sizeof(s));
        s.q[0] = mmx_src64(c, i);
        if (i->mod == 3)
            mmx_enter(c);
        t = sse_v(&s);
        host = sse_host_enter(c);
        if (mp == MP_NONE) {
            __asm__ volatile("cvtdq2ps %1, %0" : "=x"(t) : "x"(t));
        } else {
            __asm__ volatile("cvtdq2pd %1, %0" : "=x"(t) : "x"(t));
        }
        flags = sse_host_leave(host);
        sse_fp_flags(c, flags);
        s = sse_x(t);
        if (mp == MP_NONE)
            c->xmm[i->reg].q[0] = s.q[0];
        else
            c->xmm[i->reg] = s;
        return;
    }
    v = sse_gpr_src(c, i, w ? 8 : 4);
    host = sse_host_enter(c);
    if (mp == MP_F3 && w)
        __asm__ volatile("cvtsi2ssq %1, %0" : "+x"(d) : "r"(v));
    else if (mp == MP_F3)
        __asm__ volatile("cvtsi2ssl %k1, %0" : "+x"(d) : "r"(v));
    else if (w)
        __asm__ volatile("cvtsi2sdq %1, %0" : "+x"(d) : "r"(v));
    else
        __asm__ volatile("cvtsi2sdl %k1, %0" : "+x"(d) : "r"(v));
    flags = sse_host_leave(host);
    sse_fp_flags(c, flags);
    c->xmm[i->reg] = sse_x(d);
}

/* 0F 2C / 2D: cvt(t)ps2pi, cvt(t)pd2pi, cvt(t)ss2si, cvt(t)sd2si */
static void cvt_to_int(struct emu_cpu *c, const struct emu_insn *i, bool trunc)
{
    int mp = sse_mp(i);
    bool w = i->rex & 8;
    emu_xmm s;
    sse_v4sf t;
    uint64_t r = 0;
    uint32_t host, flags;
    sse_check(c);
    memset(&s, 0, sizeof(s));
    switch (mp) {
    case MP_NONE: s.q[0] = sse_src64(c, i); break;
    case MP_66: sse_src128(c, i, &s, true); break;
    case MP_F3: s.d[0] = sse_src32(c, i); break;
    default: s.q[0] = sse_src64(c, i); break;
    }
    t = sse_v(&s);
    host = sse_host_enter(c);
    switch (mp * 4 + trunc * 2 + w) {
    case MP_NONE * 4 + 0: case MP_NONE * 4 + 1:
        __asm__ volatile("cvtps2dq %1, %0" : "=x"(t) : "x"(t)); break;
    case MP_NONE * 4 + 2: case MP_NONE * 4 + 3:
        __asm__ volatile("cvttps2dq %1, %0" : "=x"(t) : "x"(t)); break;
    case MP_66 * 4 + 0: case MP_66 * 4 + 1:
        __asm__ volatile("cvtpd2dq %1, %0" : "=x"(t) : "x"(t)); break;
    case MP_66 * 4 + 2: case MP_66 * 4 + 3:
        __asm__ volatile("cvttpd2dq %1, %0" : "=x"(t) : "x"(t)); break;
    case MP_F3 * 4 + 0: __asm__ volatile("cvtss2si %1, %k0" : "=r"(r) : "x"(t)); break;
    case MP_F3 * 4 + 1: __asm__ volatile("cvtss2si %1, %q0" : "=r"(r) : "x"(t)); break;
    case MP_F3 * 4 + 2: __asm__ volatile("cvttss2si %1, %k0" : "=r"(r) : "x"(t)); break;
    case MP_F3 * 4 + 3: __asm__ volatile("cvttss2si %1, %q0" : "=r"(r) : "x"(t)); break;
    case MP_F2 * 4 + 0: __asm__ volatile("cvtsd2si %1, %k0" : "=r"(r) : "x"(t)); break;
    case MP_F2 * 4 + 1: __asm__ volatile("cvtsd2si %1, %q0" : "=r"(r) : "x"(t)); break;
    case MP_F2 * 4 + 2: __asm__ volatile("cvttsd2si %1, %k0" : "=r"(r) : "x"(t)); break;
    default: __asm__ volatile("cvttsd2si %1, %q0" : "=r"(r) : "x"(t)); break;
    }
    flags = sse_host_leave(host);
    sse_fp_flags(c, flags);
    if (mp == MP_NONE || mp == MP_66) {
        s = sse_x(t);
        mmx_enter(c);
        mmx_set(c, i->reg, s.q[0]);
    } else {
        sse_set_gpr(c, i->reg, w ? 8 : 4, r);
    }
}

static void h_cvtt2si(struct emu_cpu *c, const struct emu_insn *i) { cvt_to_int(c, i, true); }
static void h_cvt2si(struct emu_cpu *c, const struct emu_insn *i) { cvt_to_int(c, i, false); }

/* ---- SSE4.1: round, dot product ---- */

#define ROUND_CASE(insn, k) case k: __asm__ volatile(insn " %2, %1, %0" : "+x"(d) : "x"(s), "i"(k)); break;
#define ROUND_FN(sfx)                                                            \
    static sse_v4sf host_round##sfx(sse_v4sf d, sse_v4sf s, unsigned imm)       \
    {                                                                           \
        switch (imm & 15) {                                                     \
        SSE_IMM16(0, RC_##sfx)                                                  \
        }                                                                       \
        return d;                                                               \
    }
#define RC_ps(k) ROUND_CASE("roundps", k)
#define RC_pd(k) ROUND_CASE("roundpd", k)
#define RC_ss(k) ROUND_CASE("roundss", k)
#define RC_sd(k) ROUND_CASE("roundsd", k)
ROUND_FN(ps) ROUND_FN(pd) ROUND_FN(ss) ROUND_FN(sd)

#define DPPS_CASE(k) ROUND_CASE("dpps", k)
#define DPPD_CASE(k) ROUND_CASE("dppd", k)
static sse_v4sf host_dpps(sse_v4sf d, sse_v4sf s, unsigned imm)
{
    switch (imm & 255) {
    SSE_IMM256(DPPS_CASE)
    }
    return d;
}

static sse_v4sf host_dppd(sse_v4sf d, sse_v4sf s, unsigned imm)
{
    switch (imm & 255) {
    SSE_IMM256(DPPD_CASE)
    }
    return d;
}

#define IMM_OP(name, fn, src)                                                    \
    static void h_##name(struct emu_cpu *c, const struct emu_insn *i)           \
    {                                                                           \
        if (sse_mp(i) != MP_66)                                                 \
            emu_sse_ud(c, i);                                                   \
        fp_exec_imm(c, i, fn, src);                                             \
    }
IMM_OP(roundps, host_roundps, 16)
IMM_OP(roundpd, host_roundpd, 16)
IMM_OP(roundss, host_roundss, 4)
IMM_OP(roundsd, host_roundsd, 8)
IMM_OP(dpps, host_dpps, 16)
IMM_OP(dppd, host_dppd, 16)

void emu_sse_float_register(void)
{
    emu_handler *m = emu_ops[MAP_0F], *m3a = emu_ops[MAP_0F3A];
    m[0x2a] = h_cvt2a; m[0x2c] = h_cvtt2si; m[0x2d] = h_cvt2si;
    m[0x2e] = h_ucomis; m[0x2f] = h_comis;
    m[0x51] = h_sqrt; m[0x52] = h_rsqrt; m[0x53] = h_rcp;
    m[0x58] = h_add; m[0x59] = h_mul; m[0x5a] = h_cvt5a; m[0x5b] = h_cvt5b;
    m[0x5c] = h_sub; m[0x5d] = h_min; m[0x5e] = h_div; m[0x5f] = h_max;
    m[0x7c] = h_hadd; m[0x7d] = h_hsub; m[0xc2] = h_cmp; m[0xd0] = h_addsub; m[0xe6] = h_cvte6;
    m3a[0x08] = h_roundps; m3a[0x09] = h_roundpd; m3a[0x0a] = h_roundss; m3a[0x0b] = h_roundsd;
    m3a[0x40] = h_dpps; m3a[0x41] = h_dppd;
}
