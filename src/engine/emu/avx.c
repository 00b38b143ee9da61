/* AVX/AVX2 of emu, part one: the VEX forms of the SSE instructions emu
 * already has.  One ALU core per operation: a VEX form runs the legacy SSE
 * handler once per 128-bit lane, with the first source (VEX.vvvv) placed in
 * the destination register and the second (r/m, read once, unaligned unless
 * the form says otherwise) in a borrowed register, so a 256-bit form is two
 * lanes of the same code.  Then bits 255:128 get the high lane's result, or
 * zero for a 128-bit form.  Two shortcuts keep the integer forms cheap:
 * the two-operand packed-integer ones run sse_int.c's element code on
 * copies (vex_int: no borrowing, no legacy handler), and forms that cannot
 * raise an SIMD exception (V_NOFP) skip the fault catch.  The special forms
 * (moves, broadcasts, lane permutes, masks) are avx_move.c.
 * docs/emu-simd.md lists what is here. */
#include <setjmp.h>

#include "engine/emu/avx.h"

/* Per form (map, opcode, VEX.pp). */
enum {
    V_256   = 1 << 0,    /* VEX.L = 1 allowed (two lanes) */
    V_LIG   = 1 << 1,    /* scalar: VEX.L ignored, one lane */
    V_UNARY = 1 << 2,    /* no first source: VEX.vvvv must be 1111b */
    V_NODST = 1 << 3,    /* writes only flags (COMIS) */
    V_COUNT = 1 << 4,    /* shift count from the low 64 bits, both lanes */
    V_IMMS2 = 1 << 5,    /* the high lane takes imm8 >> 2 (shufpd, blendpd) */
    V_IMMS4 = 1 << 6,    /* the high lane takes imm8 >> 4 (blendps) */
    V_GRP   = 1 << 7,    /* 0F 71-73 shifts by imm8: r/m in, VEX.vvvv out */
    V_PD2D  = 1 << 8,    /* VPERMILPD imm: two bits a lane, run as PSHUFD */
    V_INSPS = 1 << 9,    /* VINSERTPS: a memory source is element 0 (imm[7:6] unused) */
    V_KEEPM = 1 << 10,   /* the handler reads a memory operand itself (VMOVLPS/HPS, VCVTSI2SS) */
    V_GPR   = 1 << 11,   /* r/m is a general register (VCVTSI2SS/SD): passed on as is */
    V_DIRECT = 1 << 12,  /* the legacy handler does it all (stores, to-GPR conversions) */
    V_WIDEN = 1 << 13,   /* 256-bit: the source's high half feeds the high lane (VCVTPS2PD) */
    V_NARROW = 1 << 14,  /* each lane yields 64 bits, packed into bits 127:0 (VCVTPD2PS) */
    V_IMMS3 = 1 << 15,   /* the high lane takes imm8 >> 3 (VMPSADBW) */
    V_XMM0  = 1 << 16,   /* V_DIRECT that writes XMM0 (VPCMPxSTRM): bits 255:128 zeroed */
    V_NOFP  = 1 << 17,   /* cannot raise an SIMD exception: lanes run without the catch */
};
struct vex_form {
    emu_handler legacy;
    sse_lane_fn lane;    /* two-operand integer forms: sse_int.c's element code, no legacy handler */
    uint32_t flags;
    uint8_t msize;       /* memory operand bytes a lane (16, or a scalar's 2/4/8) */
};
static struct vex_form forms[4][256][4];

/* One lane through the legacy handler; returns the destination's value. */
static emu_xmm run_lane(struct emu_cpu *c, const struct emu_insn *i, const struct vex_form *f,
                        const emu_xmm *s1, const emu_xmm *s2, unsigned borrow, uint64_t imm)
{
    struct emu_insn li = *i;
    if (!(f->flags & V_GPR) && (i->mod == 3 || !(f->flags & V_KEEPM))) {
        li.mod = 3;
        li.rm = (uint8_t)borrow;
    }
    li.imm = imm;
    li.prefix &= (uint8_t)~PFX_VEX;
    c->xmm[borrow] = *s2;
    if (f->flags & V_GRP) {            /* the legacy form shifts r/m in place */
        f->legacy(c, &li);
        return c->xmm[borrow];
    }
    c->xmm[i->reg] = *s1;
    f->legacy(c, &li);
    return c->xmm[i->reg];
}

/* VPERMILPD's two selector bits of a lane as the PSHUFD immediate that
 * moves the same quadwords. */
static uint64_t lane_imm(const struct vex_form *f, uint64_t imm)
{
    if (!(f->flags & V_PD2D))
        return imm;
    unsigned s0 = (unsigned)imm & 1, s1 = (unsigned)(imm >> 1) & 1;
    return (2 * s0) | (2 * s0 + 1) << 2 | (2 * s1) << 4 | (2 * s1 + 1) << 6;
}

/* A two-operand integer form: both lanes through sse_int.c's element code
 * on copies, then one write of the destination. */
static inline void vex_int(struct emu_cpu *c, const struct emu_insn *i, const struct vex_form *f, bool wide)
{
    emu_xmm s[2], d[2];
    unsigned v = VEX_VVVV(i);
    if (i->mod == 3) {
        s[0] = c->xmm[i->rm];
        s[1] = c->ymm_hi[i->rm];
    } else if (wide) {             /* constant lengths: whole-register copies */
        sse_read_buf(c, emu_ea(c, i), s, 32);
    } else {
        sse_read_buf(c, emu_ea(c, i), s, 16);
    }
    d[0] = c->xmm[v];
    d[1] = c->ymm_hi[v];
    f->lane(d, s, wide ? 2 : 1);
    avx_set(c, i->reg, &d[0], wide ? &d[1] : NULL);
}

static void vex_lanes(struct emu_cpu *c, const struct emu_insn *i);

/* The handler of opcodes whose 66 form has lane code: the checks of
 * vex_lanes for that form, inline, then vex_int; other prefixes (and a
 * machine the legacy handlers would #UD) go to vex_lanes. */
static void vex_int_op(struct emu_cpu *c, const struct emu_insn *i)
{
    const struct vex_form *f = &forms[i->map][i->op][1];
    if (unlikely(sse_mp(i) != MP_66 || !f->lane || (c->cr0 & CR0_EM) ||
                 ((c->cr0 & CR0_PE) && !(c->cr4 & CR4_OSFXSR)))) {
        vex_lanes(c, i);
        return;
    }
    bool wide = VEX_L(i);
    if ((wide && !(f->flags & V_256)) || ((f->flags & V_UNARY) && VEX_VVVV(i)))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    avx_check(c);
    vex_int(c, i, f, wide);
}

static void vex_lanes(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned pp = sse_mp(i) == MP_66 ? 1 : sse_mp(i) == MP_F3 ? 2 : sse_mp(i) == MP_F2 ? 3 : 0;
    const struct vex_form *f = &forms[i->map][i->op][pp];
    if (!f->legacy)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    bool wide = VEX_L(i) && !(f->flags & V_LIG);
    if ((wide && !(f->flags & V_256)) || ((f->flags & V_UNARY) && VEX_VVVV(i)) ||
        ((f->flags & V_GRP) && i->mod != 3))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    avx_check(c);
    if (f->flags & V_DIRECT) {
        struct emu_insn li = *i;
        li.prefix &= (uint8_t)~PFX_VEX;
        f->legacy(c, &li);
        if (f->flags & V_XMM0)
            memset(&c->ymm_hi[0], 0, 16);
        return;
    }

    /* Legacy handlers #UD on CR0.EM or a missing CR4.OSFXSR: the direct
     * paths below leave such a machine to them, to raise what they raise. */
    bool plain = !(c->cr0 & CR0_EM) && (!(c->cr0 & CR0_PE) || (c->cr4 & CR4_OSFXSR));
    if (f->lane && plain) {
        vex_int(c, i, f, wide);
        return;
    }

    uint8_t src2[32];
    memset(src2, 0, sizeof(src2));
    unsigned len = f->msize;
    if (wide && !(f->flags & V_COUNT))
        len = f->flags & V_WIDEN ? 16 : 32;
    if (!(f->flags & V_GPR) && (i->mod == 3 || !(f->flags & V_KEEPM)))
        avx_src(c, i, src2, i->mod == 3 ? (wide ? 32 : 16) : len, 0);
    if (f->flags & V_COUNT)
        memcpy(src2 + 16, src2, 16);
    if (f->flags & V_WIDEN)
        memcpy(src2 + 16, src2 + 8, 8);   /* elements 2-3 (or the second 8 bytes) widen in lane 1 */
    unsigned reg = f->flags & V_GRP ? VEX_VVVV(i) : i->reg, borrow = (reg + 1) & 15;
    /* The first source: VEX.vvvv, or for VCOMIS (flags only) ModRM.reg. */
    unsigned src1 = f->flags & V_NODST ? i->reg : VEX_VVVV(i);
    emu_xmm s1[2] = { c->xmm[src1], c->ymm_hi[src1] }, s2[2];
    memcpy(s2, src2, 32);

    /* A fault in a lane (an unmasked SIMD exception) leaves the registers as
     * they were: catch it, put them back, raise it again. */
    const emu_xmm keep_reg = c->xmm[reg], keep_borrow = c->xmm[borrow];
    const uint32_t keep_mx = c->mxcsr;
    const uint64_t imm_hi = f->flags & (V_IMMS2 | V_PD2D) ? i->imm >> 2
                          : f->flags & V_IMMS3 ? i->imm >> 3
                          : f->flags & V_IMMS4 ? i->imm >> 4 : i->imm;
    uint64_t imm0 = i->imm;
    if ((f->flags & V_INSPS) && i->mod != 3)
        imm0 &= 0x3f;
    if ((f->flags & V_NOFP) && plain) {
        /* Nothing in the lanes can fault: no catch, no jmp_buf copies. */
        emu_xmm lo = run_lane(c, i, f, &s1[0], &s2[0], borrow, lane_imm(f, imm0)), hi;
        if (wide)
            hi = run_lane(c, i, f, &s1[1], &s2[1], borrow, lane_imm(f, imm_hi));
        c->xmm[borrow] = keep_borrow;
        avx_set(c, reg, &lo, wide ? &hi : NULL);
        return;
    }
    volatile unsigned lane = 0;
    jmp_buf outer;
    memcpy(outer, c->jmp, sizeof(jmp_buf));
    if (setjmp(c->jmp)) {
        if (wide && lane == 0) {
            /* The low lane faulted: hardware checks every element first, so
             * the high lane's flags count too (found with all masked). */
            uint32_t mx = c->mxcsr;
            c->mxcsr = (keep_mx & ~MXCSR_FLAGS) | MXCSR_MASKS;
            run_lane(c, i, f, &s1[1], &s2[1], borrow, lane_imm(f, imm_hi));
            mx |= c->mxcsr & MXCSR_FLAGS;
            c->mxcsr = mx;
        }
        c->xmm[reg] = keep_reg;
        c->xmm[borrow] = keep_borrow;
        /* An unmasked invalid, denormal or zero-divide operand stops the
         * whole instruction before it computes: overflow/underflow/precision
         * flags of the other elements are not reported either. */
        if (c->mxcsr & ~(c->mxcsr >> 7) & 0x7)
            c->mxcsr = (c->mxcsr & ~0x38u) | (keep_mx & 0x38u);
        memcpy(c->jmp, outer, sizeof(jmp_buf));
        longjmp(c->jmp, 1);
    }
    emu_xmm lo = run_lane(c, i, f, &s1[0], &s2[0], borrow, lane_imm(f, imm0)), hi;
    if (wide) {
        lane = 1;
        hi = run_lane(c, i, f, &s1[1], &s2[1], borrow, lane_imm(f, imm_hi));
    }
    memcpy(c->jmp, outer, sizeof(jmp_buf));
    c->xmm[borrow] = keep_borrow;
    if (f->flags & V_NODST) {
        c->xmm[reg] = keep_reg;
    } else if (f->flags & V_NARROW) {
        lo.q[1] = wide ? hi.q[0] : 0;
        avx_set(c, reg, &lo, NULL);
    } else {
        avx_set(c, reg, &lo, wide ? &hi : NULL);
    }
}

static struct vex_form *form(unsigned map, unsigned op, unsigned pp, uint32_t flags, uint8_t msize)
{
    struct vex_form *f = &forms[map][op][pp];
    f->legacy = emu_ops[map][op];
    f->flags = flags;
    f->lane = pp == 1 && !(flags & (V_COUNT | V_GRP)) ? sse_int_lane[map][op] : NULL;
    f->msize = msize;
    emu_vex_ops[map][op] = f->lane || emu_vex_ops[map][op] == vex_int_op ? vex_int_op : vex_lanes;
    return f;
}

/* Forms whose lanes cannot raise an SIMD exception (integer, logic, moves,
 * shuffles): set here, where the tables are built. */
static struct vex_form *int_form(unsigned map, unsigned op, unsigned pp, uint32_t flags, uint8_t msize)
{
    return form(map, op, pp, flags | V_NOFP, msize);
}

/* Packed (none/66: 128 or 256) and scalar (F3 ss / F2 sd) float forms. */
static void float_forms(unsigned op, uint8_t extra)
{
    form(MAP_0F, op, 0, V_256 | extra, 16);
    form(MAP_0F, op, 1, V_256 | extra, 16);
    form(MAP_0F, op, 2, V_LIG, 4);
    form(MAP_0F, op, 3, V_LIG, 8);
}

void emu_avx_register(void)
{
    /* ---- floating point (AVX) ---- */
    static const uint8_t arith[] = { 0x58, 0x59, 0x5c, 0x5d, 0x5e, 0x5f };
    for (unsigned k = 0; k < sizeof(arith); k++)
        float_forms(arith[k], 0);
    float_forms(0x51, 0);                                  /* sqrt */
    forms[MAP_0F][0x51][0].flags |= V_UNARY;
    forms[MAP_0F][0x51][1].flags |= V_UNARY;
    form(MAP_0F, 0x52, 0, V_256 | V_UNARY, 16);            /* rsqrtps */
    form(MAP_0F, 0x52, 2, V_LIG, 4);
    form(MAP_0F, 0x53, 0, V_256 | V_UNARY, 16);            /* rcpps */
    form(MAP_0F, 0x53, 2, V_LIG, 4);
    for (unsigned op = 0x54; op <= 0x57; op++) {           /* and, andn, or, xor */
        int_form(MAP_0F, op, 0, V_256, 16);
        int_form(MAP_0F, op, 1, V_256, 16);
    }
    for (unsigned op = 0x14; op <= 0x15; op++) {           /* unpck[lh]p[sd] */
        int_form(MAP_0F, op, 0, V_256, 16);
        int_form(MAP_0F, op, 1, V_256, 16);
    }
    int_form(MAP_0F, 0xc6, 0, V_256, 16);                  /* shufps */
    int_form(MAP_0F, 0xc6, 1, V_256 | V_IMMS2, 16);        /* shufpd */
    form(MAP_0F, 0x5a, 0, V_256 | V_UNARY | V_WIDEN, 8);   /* cvtps2pd */
    form(MAP_0F, 0xe6, 2, V_256 | V_UNARY | V_WIDEN, 8);   /* cvtdq2pd */
    form(MAP_0F, 0x5a, 1, V_256 | V_UNARY | V_NARROW, 16); /* cvtpd2ps */
    form(MAP_0F, 0xe6, 1, V_256 | V_UNARY | V_NARROW, 16); /* cvttpd2dq */
    form(MAP_0F, 0xe6, 3, V_256 | V_UNARY | V_NARROW, 16); /* cvtpd2dq */
    form(MAP_0F, 0x2a, 2, V_LIG | V_GPR, 4);               /* cvtsi2ss */
    form(MAP_0F, 0x2a, 3, V_LIG | V_GPR, 4);               /* cvtsi2sd */
    for (unsigned op = 0x2c; op <= 0x2d; op++) {           /* cvt(t)ss2si, cvt(t)sd2si */
        form(MAP_0F, op, 2, V_LIG | V_UNARY | V_DIRECT, 4);
        form(MAP_0F, op, 3, V_LIG | V_UNARY | V_DIRECT, 8);
    }
    for (unsigned op = 0x12; op <= 0x16; op += 4) {        /* movlps/hps/lpd/hpd, movhlps/lhps */
        form(MAP_0F, op, 0, V_KEEPM, 8);
        form(MAP_0F, op, 1, V_KEEPM, 8);
    }
    for (unsigned op = 0x13; op <= 0x17; op += 4) {        /* their stores */
        form(MAP_0F, op, 0, V_UNARY | V_DIRECT, 8);
        form(MAP_0F, op, 1, V_UNARY | V_DIRECT, 8);
    }
    form(MAP_0F, 0x5a, 2, V_LIG, 4);                       /* cvtss2sd */
    form(MAP_0F, 0x5a, 3, V_LIG, 8);                       /* cvtsd2ss */
    form(MAP_0F, 0x5b, 0, V_256 | V_UNARY, 16);            /* cvtdq2ps */
    form(MAP_0F, 0x5b, 1, V_256 | V_UNARY, 16);            /* cvtps2dq */
    form(MAP_0F, 0x5b, 2, V_256 | V_UNARY, 16);            /* cvttps2dq */
    form(MAP_0F, 0x2e, 0, V_LIG | V_UNARY | V_NODST, 4);   /* ucomiss */
    form(MAP_0F, 0x2e, 1, V_LIG | V_UNARY | V_NODST, 8);   /* ucomisd */
    form(MAP_0F, 0x2f, 0, V_LIG | V_UNARY | V_NODST, 4);   /* comiss */
    form(MAP_0F, 0x2f, 1, V_LIG | V_UNARY | V_NODST, 8);   /* comisd */
    for (unsigned op = 0x7c; op <= 0x7d; op++) {           /* hadd, hsub */
        form(MAP_0F, op, 1, V_256, 16);
        form(MAP_0F, op, 3, V_256, 16);
    }
    form(MAP_0F, 0xd0, 1, V_256, 16);                      /* addsubpd */
    form(MAP_0F, 0xd0, 3, V_256, 16);                      /* addsubps */
    form(MAP_0F3A, 0x08, 1, V_256 | V_UNARY, 16);          /* roundps */
    form(MAP_0F3A, 0x09, 1, V_256 | V_UNARY, 16);          /* roundpd */
    form(MAP_0F3A, 0x0a, 1, V_LIG, 4);                     /* roundss */
    form(MAP_0F3A, 0x0b, 1, V_LIG, 8);                     /* roundsd */
    int_form(MAP_0F3A, 0x0c, 1, V_256 | V_IMMS4, 16);      /* blendps */
    int_form(MAP_0F3A, 0x0d, 1, V_256 | V_IMMS2, 16);      /* blendpd */
    form(MAP_0F3A, 0x40, 1, V_256, 16);                    /* dpps */
    form(MAP_0F3A, 0x41, 1, 0, 16);                        /* dppd */

    /* ---- integer (AVX at 128 bits, AVX2 at 256) ---- */
    static const uint8_t int0f[] = {
        0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x6c, 0x6d,
        0x74, 0x75, 0x76, 0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
        0xe0, 0xe3, 0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
        0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
    };
    for (unsigned k = 0; k < sizeof(int0f); k++)
        int_form(MAP_0F, int0f[k], 1, V_256, 16);
    static const uint8_t count0f[] = { 0xd1, 0xd2, 0xd3, 0xe1, 0xe2, 0xf1, 0xf2, 0xf3 };
    for (unsigned k = 0; k < sizeof(count0f); k++)
        int_form(MAP_0F, count0f[k], 1, V_256 | V_COUNT, 16);
    for (unsigned op = 0x71; op <= 0x73; op++)            /* psrl/psra/psll/psrldq/pslldq imm */
        int_form(MAP_0F, op, 1, V_256 | V_GRP, 16);
    int_form(MAP_0F, 0x70, 1, V_256 | V_UNARY, 16);            /* pshufd */
    int_form(MAP_0F, 0x70, 2, V_256 | V_UNARY, 16);            /* pshufhw */
    int_form(MAP_0F, 0x70, 3, V_256 | V_UNARY, 16);            /* pshuflw */
    static const uint8_t int38[] = {
        0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b,
        0x28, 0x29, 0x2b, 0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40,
    };
    for (unsigned k = 0; k < sizeof(int38); k++)
        int_form(MAP_0F38, int38[k], 1, V_256, 16);
    for (unsigned op = 0x1c; op <= 0x1e; op++)             /* pabs */
        int_form(MAP_0F38, op, 1, V_256 | V_UNARY, 16);
    /* pmovsx/zx: 128-bit forms (their 256-bit ones cross lanes). */
    static const uint8_t ext_size[6] = { 8, 4, 2, 8, 4, 8 };
    for (unsigned k = 0; k < 6; k++) {
        int_form(MAP_0F38, 0x20 + k, 1, V_UNARY, ext_size[k]);
        int_form(MAP_0F38, 0x30 + k, 1, V_UNARY, ext_size[k]);
    }
    int_form(MAP_0F38, 0x41, 1, V_UNARY, 16);                  /* phminposuw */
    int_form(MAP_0F3A, 0x0e, 1, V_256, 16);                    /* pblendw */
    int_form(MAP_0F3A, 0x0f, 1, V_256, 16);                    /* palignr */
    int_form(MAP_0F3A, 0x42, 1, V_256 | V_IMMS3, 16);          /* mpsadbw */
    for (unsigned op = 0x60; op <= 0x63; op++)             /* pcmpestrm/i, pcmpistrm/i */
        int_form(MAP_0F3A, op, 1, V_UNARY | V_DIRECT | (op & 1 ? 0 : V_XMM0), 16);
    int_form(MAP_0F, 0xf7, 1, V_UNARY | V_DIRECT, 16);         /* maskmovdqu */

    int_form(MAP_0F, 0x12, 2, V_256 | V_UNARY, 16);            /* movsldup */
    int_form(MAP_0F, 0x16, 2, V_256 | V_UNARY, 16);            /* movshdup */
    int_form(MAP_0F, 0x12, 3, V_256 | V_UNARY, 8);             /* movddup (m64; m256 at 256) */
    /* VPERMILPS/PD with imm8: PSHUFD within each lane. */
    int_form(MAP_0F3A, 0x04, 1, V_256 | V_UNARY, 16)->legacy = emu_ops[MAP_0F][0x70];
    int_form(MAP_0F3A, 0x05, 1, V_256 | V_UNARY | V_PD2D, 16)->legacy = emu_ops[MAP_0F][0x70];
    int_form(MAP_0F3A, 0x21, 1, V_INSPS, 4);                   /* insertps */

    emu_avx_move_register();
    emu_avx_fma_register();
    emu_avx_f16c_register();
}
