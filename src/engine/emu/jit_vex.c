/* The translator's generators for VEX and BMI forms: the AVX/AVX2 vector
 * forms glibc's string functions and qsort run (moves, compares, logic,
 * min/max, byte masks, broadcasts, shuffles), float arithmetic and FMA3
 * (under jit.c's run-time MXCSR check), the BMI1/BMI2
 * general-register forms, and TZCNT, LZCNT, POPCNT and MOVBE, each run as
 * the same host instruction on copies of the guest's operands.  YMM state
 * stays in struct emu_cpu (xmm[] for bits 127:0, ymm_hi[] for 255:128),
 * stored by every form that writes it; host YMM registers keep copies
 * from form to form (y_load, y_store).  A form the host lacks, or
 * any encoding not listed here, runs its interpreter handler (jit.c).
 * docs/emu-jit.md ("VEX and BMI forms") has the rules. */
#include <cpuid.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "engine/emu/alu.h"
#include "engine/emu/jit_internal.h"
#include "engine/emu/x86emit_vex.h"

#define OFF_X(n)  ((int32_t)(offsetof(struct emu_cpu, xmm) + 16 * (n)))
#define OFF_H(n)  ((int32_t)(offsetof(struct emu_cpu, ymm_hi) + 16 * (n)))
#define RC JIT_RCPU

/* ---- what the host runs ------------------------------------------------------------- */

enum { H_AVX2 = 1, H_BMI1 = 2, H_BMI2 = 4, H_LZCNT = 8, H_POPCNT = 16, H_MOVBE = 32, H_FMA = 64 };

static unsigned host_probe(void)
{
    unsigned a, b, c, d, f = 0;
    if (__get_cpuid(1, &a, &b, &c, &d)) {
        if (c & (1u << 22))
            f |= H_MOVBE;
        if (c & (1u << 23))
            f |= H_POPCNT;
        bool avx_os = false, fma = c & (1u << 12);
        if ((c & (1u << 27)) && (c & (1u << 28))) {   /* OSXSAVE, AVX: the OS keeps YMM state? */
            uint32_t lo, hi;
            __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
            avx_os = (lo & 6) == 6;
        }
        if (avx_os && fma)
            f |= H_FMA;
        if (__get_cpuid_max(0, NULL) >= 7) {
            __cpuid_count(7, 0, a, b, c, d);
            if (avx_os && (b & (1u << 5)))
                f |= H_AVX2;
            if (b & (1u << 3))
                f |= H_BMI1;
            if (b & (1u << 8))
                f |= H_BMI2;
        }
    }
    if (__get_cpuid(0x80000001, &a, &b, &c, &d) && (c & (1u << 5)))
        f |= H_LZCNT;
    /* HOSTEL_EMU_JIT_VEX=0: every form here runs its handler (differential
     * debugging, and the tests of the fallback). */
    if (jit_env_off("HOSTEL_EMU_JIT_VEX"))
        f = 0;
    return f;
}

static unsigned host_has(void)
{
    static int cached = -1;   /* vCPU threads may race here: they store the same value */
    int f = __atomic_load_n(&cached, __ATOMIC_RELAXED);
    if (f < 0) {
        f = (int)host_probe();
        __atomic_store_n(&cached, f, __ATOMIC_RELAXED);
    }
    return (unsigned)f;
}

/* ---- helpers -------------------------------------------------------------------------- */

static unsigned vex_pp(const struct emu_insn *i)
{
    return (i->prefix & PFX_REPNE) ? VP_F2 : (i->prefix & PFX_REP) ? VP_F3
         : (i->prefix & PFX_OPSIZE) ? VP_66 : VP_NONE;
}

/* Host vector registers keep guest YMM registers across forms, so that
 * the next form reads them from there instead of from struct emu_cpu,
 * which still always holds them (every write goes through y_store):
 *   - host YMM0 after a form that wrote guest register g from it: all
 *     256 bits of g (a VEX.128 host form zeroes bits 255:128, as the
 *     guest's does) (jit_y0: the register, or -1);
 *   - host YMM 3 + g for guest registers 0-12 (jit_yv: a bit each): the
 *     copy y_store makes of every register it writes, and y_load of every
 *     256-bit register it loads.
 * Host YMM1 and YMM2 are the forms' scratch.  jit.c forgets them all
 * before anything but a VEX or a general-register form, at C and at a
 * loop head, and loads them again in a stub that resumes after C
 * (jit_vec_reload); the forms that write guest registers or host YMM0
 * some other way forget them first (vec_keeps). */
#define VC_CACHED 13
static int vc_reg(unsigned g)
{
    return 3 + (int)g;
}

static bool vc_has(struct jctx *t, unsigned g)
{
    return g < VC_CACHED && (*jit_yv(t) >> g & 1);
}

/* vmovdqa d, s: VEX.128 (xmm: bits 255:128 of d zeroed) or VEX.256. */
static void y_move(struct xbuf *b, int d, int s, bool l)
{
    x_vex_rr(b, xv(VM_0F, VP_66, false, l), 0x6f, d, 0, s, -1);
}

/* y_load: guest YMM register g into host register y (bits 255:128 only
 * when l; else zero: a form that stores y whole, as a VEX.128 one, relies
 * on it). */
static void y_load(struct jctx *t, int y, unsigned g, bool l)
{
    struct xbuf *b = jit_buf(t);
    int8_t *y0 = jit_y0(t);
    if (*y0 == (int8_t)g) {
        if (y != 0) {
            y_move(b, y, 0, l);
        } else if (!l) {   /* bits 255:128 zeroed, as a 128-bit load leaves them */
            y_move(b, 0, 0, false);
            *y0 = -1;
        }
        return;
    }
    if (vc_has(t, g)) {
        y_move(b, y, vc_reg(g), l);
    } else {
        x_vmovdqu_load(b, y, xm(RC, OFF_X(g)));
        if (l)
            x_vinserti128_hi(b, y, xm(RC, OFF_H(g)));
        if (l && g < VC_CACHED) {
            y_move(b, vc_reg(g), y, true);
            *jit_yv(t) |= (uint16_t)(1u << g);
        }
    }
    if (y == 0)
        *y0 = (int8_t)(l ? (int)g : -1);
}

/* The host register a form reads guest register g from: where it is
 * kept, else y loaded with it. */
static int y_src(struct jctx *t, int y, unsigned g, bool l)
{
    if (*jit_y0(t) == (int8_t)g)
        return 0;
    if (vc_has(t, g))
        return vc_reg(g);
    y_load(t, y, g, l);
    return y;
}

static void hi_zero(struct xbuf *b, unsigned g)
{
    x_store_imm(b, 8, xm(RC, OFF_H(g)), 0);
    x_store_imm(b, 8, xm(RC, OFF_H(g) + 8), 0);
}

/* Host register y into guest YMM register g: a 128-bit form zeroes
 * bits 255:128 (VEX.128 writes them).  From YMM0, written whole by the
 * form's VEX host instruction: g stays there (y_load); and in host
 * YMM 3 + g. */
static void y_store(struct jctx *t, unsigned g, int y, bool l)
{
    struct xbuf *b = jit_buf(t);
    x_vmovdqu_store(b, xm(RC, OFF_X(g)), y);
    if (l)
        x_vextracti128_hi(b, xm(RC, OFF_H(g)), y);
    else
        hi_zero(b, g);
    int8_t *y0 = jit_y0(t);
    if (y == 0)
        *y0 = (int8_t)g;
    else if (*y0 == (int8_t)g)
        *y0 = -1;
    if (g < VC_CACHED) {
        y_move(b, vc_reg(g), y, l);
        *jit_yv(t) |= (uint16_t)(1u << g);
    }
}

void jit_vec_reload(struct xbuf *b, int8_t y0, uint16_t yv, bool dirty)
{
    for (int g = -1; g < VC_CACHED; g++) {
        int y = g < 0 ? 0 : vc_reg((unsigned)g);
        int r = g < 0 ? y0 : (yv >> g & 1) ? g : -1;
        if (r < 0)
            continue;
        x_vmovdqu_load(b, y, xm(RC, OFF_X(r)));
        if (dirty)
            x_vinserti128_hi(b, y, xm(RC, OFF_H(r)));
    }
}

/* RAX = the host's arithmetic flags in mask (what the form defines on
 * both host and guest), stored as the guest's when someone reads them. */
static void flags_from_host(struct jctx *t, uint64_t mask)
{
    if (!jit_flags_live(t))
        return;
    struct xbuf *b = jit_buf(t);
    x8(b, 0x9c);                                   /* pushfq */
    x8(b, 0x58);                                   /* pop rax */
    x_alu_ri(b, 4, ALU_AND, XAX, (int64_t)mask);
    jit_flags_store(t);
}

/* The AVX rules of avx_check (#UD without CR4.OSXSAVE or XCR0 SSE|AVX;
 * #NM with CR0.TS), and CR0.EM / CR4.OSFXSR, which send some forms
 * through the legacy handlers: checked once a translation, before its
 * first vector form, as one bit emu_jit_run works out before each entry
 * (c->jit_fp_ok: these change only through instructions that end a
 * translation).  A failed check runs that instruction's handler (which
 * raises, or does what the interpreter does) and leaves; the next run of
 * the block does the same, so every vector form then runs in the
 * interpreter. */
static void avx_guard(struct jctx *t)
{
    bool *done = jit_vex_checked(t);
    if (*done)
        return;
    struct xbuf *b = jit_buf(t);
    x_rm(b, 1, 0xf6, 0, xm(RC, OFF_JIT_FP_OK), 1);  /* test byte [jit_fp_ok], AVX */
    x8(b, JIT_FP_AVX);
    jit_leave_if(t, 4);                            /* je: the handler, out of line */
    *done = true;
}

/* ---- vector forms --------------------------------------------------------------------- */

enum vclass {
    VC_NONE,
    VC_BIN,        /* reg = vvvv op r/m (16 << L bytes), lane-wise or not: the host's own form */
    VC_LOAD,       /* reg = r/m: VMOVDQU/DQA, VMOVUPS/UPD/APS/APD */
    VC_STORE,      /* r/m = reg */
    VC_MOVMSK,     /* r32 = sign bits of a register (VPMOVMSKB, VMOVMSKPS/PD) */
    VC_ZERO,       /* VZEROUPPER, VZEROALL */
    VC_MOVD_TO,    /* VMOVD/VMOVQ xmm, r/m32|64 */
    VC_MOVD_FROM,  /* VMOVD/VMOVQ r/m32|64, xmm */
    VC_MOVQ_LOAD,  /* VMOVQ xmm, xmm/m64 (F3 0F 7E) */
    VC_MOVQ_STORE, /* VMOVQ xmm/m64, xmm (66 0F D6) */
    VC_BCAST,      /* VPBROADCASTB/W/D/Q, VBROADCASTSS/SD */
    VC_MOVS,       /* VMOVSS/VMOVSD: scalar loads and stores, the register merge */
    VC_PTEST,      /* VPTEST: flags only */
    VC_FP,         /* MXCSR-dependent float arithmetic: as VC_BIN, under the MXCSR check */
    VC_SHIFTI,     /* VPSRLW/D/Q, VPSRAW/D, VPSLLW/D/Q, VPSRLDQ, VPSLLDQ by imm8: VEX.vvvv = rm shifted */
};

struct vform {
    uint8_t cls;
    bool aligned;      /* a memory operand must be aligned to its size (#GP) */
    bool mem_only, reg_only;
    bool imm;          /* an imm8 follows */
    uint8_t esize;     /* VC_BCAST: element bytes; VC_FP: a scalar form's memory operand (0: packed) */
    bool unary;        /* VC_FP: one source (VEX.vvvv must be 1111b) */
    bool fma;          /* VC_FP: the destination is a source too (FMA3) */
};

/* The float forms (VC_FP): 0F 51 58-5F C2 (packed by pp none/66, scalar
 * by F3/F2), 2A and 5A scalar, 5B, 7C/7D; 0F38 FMA3.  False: not one. */
static bool fp_classify(const struct emu_insn *i, unsigned pp, struct vform *f)
{
    uint8_t op = i->op;
    bool scalar = pp == VP_F3 || pp == VP_F2;
    uint8_t ssize = pp == VP_F3 ? 4 : 8;
    if (i->map == MAP_0F38) {
        unsigned lo = op & 15, hi = op >> 4;
        if (pp != VP_66 || (hi != 9 && hi != 0xa && hi != 0xb) || lo < 6 || (host_has() & H_FMA) == 0)
            return false;
        bool s = lo >= 9 && (lo & 1);              /* 99 9B 9D 9F: SS/SD */
        f->cls = VC_FP;
        f->fma = true;
        f->esize = s ? (uint8_t)(VEX_W(i) ? 8 : 4) : 0;
        return true;
    }
    if (i->map != MAP_0F)
        return false;
    if ((op >= 0x58 && op <= 0x5f && op != 0x5a && op != 0x5b) || op == 0x51 || op == 0xc2) {
        f->cls = VC_FP;
        f->esize = scalar ? ssize : 0;
        f->unary = op == 0x51 && !scalar;          /* VSQRTPS/PD */
        f->imm = op == 0xc2;
        return true;
    }
    if (op == 0x2a && scalar) {                    /* VCVTSI2SS/SD xmm, xmm, r/m32|64 (VEX.W) */
        f->cls = VC_FP;
        f->esize = (uint8_t)(VEX_W(i) ? 8 : 4);
        return true;
    }
    if (op == 0x5a && scalar) {                    /* VCVTSS2SD, VCVTSD2SS */
        f->cls = VC_FP;
        f->esize = ssize;
        return true;
    }
    if (op == 0x5b && pp != VP_F2) {               /* VCVTDQ2PS, VCVTPS2DQ, VCVTTPS2DQ */
        f->cls = VC_FP;
        f->unary = true;
        return true;
    }
    if ((op == 0x7c || op == 0x7d) && (pp == VP_66 || pp == VP_F2)) {   /* VHADD/VHSUB PS/PD */
        f->cls = VC_FP;
        return true;
    }
    return false;
}

static struct vform vclassify(const struct emu_insn *i, unsigned pp)
{
    struct vform f = { VC_NONE, false, false, false, false, 0, false, false };
    uint8_t op = i->op;
    if (fp_classify(i, pp, &f))
        return f;
    if (i->map == MAP_0F) {
        if (pp == VP_66 && ((op >= 0x60 && op <= 0x6d) || (op >= 0x74 && op <= 0x76) ||
                            op == 0xd4 || op == 0xd5 || (op >= 0xd8 && op <= 0xe0) ||
                            (op >= 0xe3 && op <= 0xe5) || (op >= 0xe8 && op <= 0xef) ||
                            (op >= 0xf4 && op <= 0xf6) || (op >= 0xf8 && op <= 0xfe)))
            f.cls = VC_BIN;
        else if ((pp == VP_NONE || pp == VP_66) && op >= 0x54 && op <= 0x57)
            f.cls = VC_BIN;                          /* and/andn/or/xor ps/pd: no exceptions */
        else if ((op == 0x6f && (pp == VP_F3 || pp == VP_66)) || ((op == 0x10 || op == 0x28) && pp <= VP_66))
            f = (struct vform){ VC_LOAD, (op == 0x6f && pp == VP_66) || op == 0x28, false, false, false, 0, false, false };
        else if ((op == 0x7f && (pp == VP_F3 || pp == VP_66)) || ((op == 0x11 || op == 0x29) && pp <= VP_66))
            f = (struct vform){ VC_STORE, (op == 0x7f && pp == VP_66) || op == 0x29, false, false, false, 0, false, false };
        else if ((op == 0xe7 && pp == VP_66) || (op == 0x2b && pp <= VP_66))
            f = (struct vform){ VC_STORE, true, true, false, false, 0, false, false };   /* VMOVNTDQ/PS/PD */
        else if ((op == 0xd7 && pp == VP_66) || (op == 0x50 && pp <= VP_66))
            f = (struct vform){ VC_MOVMSK, false, false, true, false, 0, false, false };
        else if (op == 0x77 && pp == VP_NONE)
            f.cls = VC_ZERO;
        else if (op == 0x6e && pp == VP_66)
            f.cls = VC_MOVD_TO;
        else if (op == 0x7e && pp == VP_66)
            f.cls = VC_MOVD_FROM;
        else if (op == 0x7e && pp == VP_F3)
            f.cls = VC_MOVQ_LOAD;
        else if (op == 0xd6 && pp == VP_66)
            f.cls = VC_MOVQ_STORE;
        else if ((op == 0x10 || op == 0x11) && (pp == VP_F3 || pp == VP_F2))
            f = (struct vform){ VC_MOVS, false, false, false, false, (uint8_t)(pp == VP_F3 ? 4 : 8), false, false };
        else if (op >= 0x71 && op <= 0x73 && pp == VP_66)
            f = (struct vform){ VC_SHIFTI, false, false, true, true, 0, false, false };
        return f;
    }
    if (pp != VP_66)
        return f;
    if (i->map == MAP_0F38) {
        if (op <= 0x0b || op == 0x28 || op == 0x29 || op == 0x2b || (op >= 0x37 && op <= 0x40))
            f.cls = VC_BIN;
        else if (op == 0x78 || op == 0x79 || op == 0x58 || op == 0x59 || op == 0x18 || op == 0x19)
            f = (struct vform){ VC_BCAST, false, false, false, false,
                                (uint8_t)(op == 0x78 ? 1 : op == 0x79 ? 2 : op == 0x58 || op == 0x18 ? 4 : 8), false, false };
        else if (op == 0x17)
            f.cls = VC_PTEST;
        return f;
    }
    if (i->map == MAP_0F3A && (op == 0x0f || op == 0x0e || op == 0x0c || op == 0x0d || op == 0x02))
        f = (struct vform){ VC_BIN, false, false, false, true, 0, false, false };
    return f;
}

/* Which encodings the generator takes (the rest, #UD ones included, run
 * their handlers). */
static bool vform_ok(const struct emu_insn *i, const struct vform *f)
{
    bool l = VEX_L(i), mem = i->mod != 3;
    unsigned v = VEX_VVVV(i);
    if ((f->mem_only && !mem) || (f->reg_only && mem))
        return false;
    switch (f->cls) {
    case VC_BIN:
        return !(i->map == MAP_0F3A && i->op == 0x02 && VEX_W(i));   /* VPBLENDD is W0 */
    case VC_ZERO:
        return v == 0;
    case VC_MOVD_TO: case VC_MOVD_FROM: case VC_MOVQ_LOAD: case VC_MOVQ_STORE:
        return v == 0 && !l;
    case VC_BCAST:                   /* VBROADCASTSD is 256-bit only */
        return v == 0 && !VEX_W(i) && (i->op != 0x19 || l);
    case VC_MOVS:                    /* VEX.L ignored; the memory forms have no vvvv */
        return !mem || v == 0;
    case VC_LOAD: case VC_STORE: case VC_MOVMSK: case VC_PTEST:
        return v == 0;
    case VC_FP:                      /* scalar forms ignore VEX.L: L=1 runs the handler */
        return (!f->unary || v == 0) && !(f->esize && l);
    case VC_SHIFTI: {                /* 71, 72: /2 /4 /6 (73 has no /4: VPSRAQ is AVX-512); 73: /2 /3 /6 /7 */
        unsigned g = (i->modrm >> 3) & 7;
        return i->op == 0x73 ? (g == 2 || g == 3 || g == 6 || g == 7)
                             : (g == 2 || g == 4 || g == 6);
    }
    default:
        return false;
    }
}

/* The memory operand of a vector form: RCX = host address of size bytes. */
static void vmem(struct jctx *t, const struct emu_insn *i, unsigned size, bool write, bool aligned)
{
    struct xbuf *b = jit_buf(t);
    jit_mem_addr(t, i);
    if (aligned) {
        x_test_ri(b, 1, XCX, size - 1);
        jit_slow_if(t, 5);                         /* jne: the handler raises #GP */
    }
    jit_mem_lookup(t, size, write);
}

/* A float form's operand: the MXCSR check comes between the address and
 * the lookup (the lookup's stub resumes after the check; no register is
 * allocated after the address). */
static void vmem_fp(struct jctx *t, const struct emu_insn *i, unsigned size)
{
    jit_mem_addr(t, i);
    jit_mxcsr_enter(t);
    jit_mem_lookup(t, size, false);
}

/* The classes that touch host vector registers and guest vector
 * registers only through y_load, y_src, y_store and their own VEX host
 * instruction into YMM0 (before y_store), or read guest registers from
 * struct emu_cpu: what host registers keep (jit_y0, jit_yv) holds
 * across them.  The others forget it first. */
static bool vcls_keeps(unsigned cls)
{
    return cls == VC_BIN || cls == VC_FP || cls == VC_MOVMSK || cls == VC_PTEST || cls == VC_MOVS ||
           cls == VC_BCAST || cls == VC_MOVD_TO || cls == VC_MOVD_FROM || cls == VC_LOAD || cls == VC_STORE ||
           cls == VC_SHIFTI;
}

/* VPXOR, VXORPS/PD, VPSUBB/W/D/Q and VPCMPGTB/W/D of a register with
 * itself: zero, whatever it holds. */
static bool zero_idiom(const struct emu_insn *i, unsigned pp)
{
    if (i->map != MAP_0F || i->mod != 3 || VEX_VVVV(i) != i->rm)
        return false;
    uint8_t op = i->op;
    if (op == 0x57)
        return pp == VP_NONE || pp == VP_66;
    return pp == VP_66 && (op == 0xef || (op >= 0xf8 && op <= 0xfb) || (op >= 0x64 && op <= 0x66));
}

static bool emit_vector(struct jctx *t, const struct emu_insn *i)
{
    if (!(host_has() & H_AVX2))
        return false;
    unsigned pp = vex_pp(i);
    struct vform f = vclassify(i, pp);
    if (f.cls == VC_NONE || !vform_ok(i, &f))
        return false;
    struct xbuf *b = jit_buf(t);
    bool l = VEX_L(i), mem = i->mod != 3, w = VEX_W(i);
    unsigned v = VEX_VVVV(i), n = l ? 32 : 16;
    bool wrote_flags = false;
    avx_guard(t);
    if (!vcls_keeps(f.cls)) {
        *jit_y0(t) = -1;
        *jit_yv(t) = 0;
    }
    switch (f.cls) {
    case VC_BIN: {
        int imm = f.imm ? (int)(i->imm & 0xff) : -1;
        struct xvex hv = xv(i->map == MAP_0F ? VM_0F : i->map == MAP_0F38 ? VM_0F38 : VM_0F3A, pp, false, l);
        if (zero_idiom(i, pp)) {
            x_vex_rr(b, xv(VM_0F, VP_66, false, false), 0xef, 0, 0, 0, -1);   /* vpxor xmm0, xmm0, xmm0 */
            y_store(t, i->reg, 0, l);
            break;
        }
        if (mem)
            vmem(t, i, n, false, false);
        int hs1 = y_src(t, 1, v, l);
        if (mem) {
            x_vex_rm(b, hv, i->op, 0, hs1, xm(XCX, 0), imm);
        } else if (!l && !vc_has(t, i->rm) && *jit_y0(t) != (int8_t)i->rm) {
            x_vex_rm(b, hv, i->op, 0, hs1, xm(RC, OFF_X(i->rm)), imm);
        } else {
            x_vex_rr(b, hv, i->op, 0, hs1, y_src(t, 2, i->rm, l), imm);
        }
        y_store(t, i->reg, 0, l);
        break;
    }
    case VC_FP: {
        /* As VC_BIN, with the destination loaded into YMM0 for FMA3 and
         * the memory operand's own size (a scalar form reads 4 or 8). */
        int imm = f.imm ? (int)(i->imm & 0xff) : -1;
        bool fma = i->map == MAP_0F38, gsrc = !fma && i->op == 0x2a;   /* VCVTSI2SS/SD */
        struct xvex hv = xv(fma ? VM_0F38 : VM_0F, pp, (fma || gsrc) && w, l);
        int hvv = f.unary ? 0 : 1;
        int hs = gsrc && !mem ? jit_gpr(t, i->rm, true) : XNONE;
        if (mem)
            vmem_fp(t, i, f.esize ? f.esize : n);
        else
            jit_mxcsr_enter(t);
        if (f.fma)
            y_load(t, 0, i->reg, l);
        if (!f.unary)
            hvv = y_src(t, 1, v, l);
        if (mem) {
            x_vex_rm(b, hv, i->op, 0, hvv, xm(XCX, 0), imm);
        } else if (gsrc) {
            x_vex_rr(b, hv, i->op, 0, hvv, hs, imm);
        } else if (!l && !vc_has(t, i->rm) && *jit_y0(t) != (int8_t)i->rm) {
            x_vex_rm(b, hv, i->op, 0, hvv, xm(RC, OFF_X(i->rm)), imm);
        } else {
            x_vex_rr(b, hv, i->op, 0, hvv, y_src(t, 2, i->rm, l), imm);
        }
        y_store(t, i->reg, 0, l);
        break;
    }
    case VC_SHIFTI:    /* the same host form into YMM0: ModRM.reg is the operation */
        x_vex_rr(b, xv(VM_0F, VP_66, false, l), i->op, (i->modrm >> 3) & 7, 0, y_src(t, 1, i->rm, l),
                 (int)(i->imm & 0xff));
        y_store(t, v, 0, l);
        break;
    case VC_LOAD:      /* one host vmovdqu (ymm0 or xmm0, which zeroes 255:128) */
        if (mem) {
            vmem(t, i, n, false, f.aligned);
            x_vex_rm(b, xv(VM_0F, VP_F3, false, l), 0x6f, 0, 0, xm(XCX, 0), -1);
        } else {
            y_load(t, 0, i->rm, l);
        }
        y_store(t, i->reg, 0, l);
        break;
    case VC_STORE:
        if (!mem) {
            y_load(t, 0, i->reg, l);
            y_store(t, i->rm, 0, l);
            break;
        }
        vmem(t, i, n, true, f.aligned);
        x_vex_rm(b, xv(VM_0F, VP_F3, false, l), 0x7f, y_src(t, 0, i->reg, l), 0, xm(XCX, 0), -1);
        break;
    case VC_MOVMSK: {
        int hd = jit_gpr(t, i->reg, false);
        x_vex_rr(b, xv(VM_0F, pp, false, l), i->op, hd, 0, y_src(t, 0, i->rm, l), -1);
        jit_gpr_written(t, i->reg);
        break;
    }
    case VC_ZERO:
        /* vpxor xmm0, xmm0, xmm0 (all of YMM0), then 32 bytes a store:
         * ymm_hi[] (and xmm[] for VZEROALL) are 256 bytes each. */
        x_vex_rr(b, xv(VM_0F, VP_66, false, false), 0xef, 0, 0, 0, -1);
        for (unsigned g = 0; g < 16; g += 2) {
            x_vex_rm(b, xv(VM_0F, VP_F3, false, true), 0x7f, 0, 0, xm(RC, OFF_H(g)), -1);
            if (l)
                x_vex_rm(b, xv(VM_0F, VP_F3, false, true), 0x7f, 0, 0, xm(RC, OFF_X(g)), -1);
        }
        break;
    case VC_MOVD_TO: {
        struct xvex hv = xv(VM_0F, VP_66, w, false);
        if (mem) {
            vmem(t, i, w ? 8 : 4, false, false);
            x_vex_rm(b, hv, 0x6e, 0, 0, xm(XCX, 0), -1);
        } else {
            int hs = jit_gpr(t, i->rm, true);
            x_vex_rr(b, hv, 0x6e, 0, 0, hs, -1);
        }
        y_store(t, i->reg, 0, false);
        break;
    }
    case VC_MOVD_FROM: {
        unsigned size = w ? 8 : 4;
        if (mem) {
            vmem(t, i, size, true, false);
            x_load(b, size, XAX, xm(RC, OFF_X(i->reg)));
            x_store(b, size, xm(XCX, 0), XAX);
        } else {
            int hd = jit_gpr(t, i->rm, false);
            x_load(b, size, hd, xm(RC, OFF_X(i->reg)));   /* a 32-bit load zero-extends */
            jit_gpr_written(t, i->rm);
        }
        break;
    }
    case VC_MOVQ_LOAD:
        if (mem) {
            vmem(t, i, 8, false, false);
            x_load(b, 8, XAX, xm(XCX, 0));
        } else {
            x_load(b, 8, XAX, xm(RC, OFF_X(i->rm)));
        }
        x_store(b, 8, xm(RC, OFF_X(i->reg)), XAX);
        x_store_imm(b, 8, xm(RC, OFF_X(i->reg) + 8), 0);
        hi_zero(b, i->reg);
        break;
    case VC_MOVQ_STORE:
        if (mem) {
            vmem(t, i, 8, true, false);
            x_load(b, 8, XAX, xm(RC, OFF_X(i->reg)));
            x_store(b, 8, xm(XCX, 0), XAX);
        } else {
            x_load(b, 8, XAX, xm(RC, OFF_X(i->reg)));
            x_store(b, 8, xm(RC, OFF_X(i->rm)), XAX);
            x_store_imm(b, 8, xm(RC, OFF_X(i->rm) + 8), 0);
            hi_zero(b, i->rm);
        }
        break;
    case VC_BCAST: {
        struct xmem src = xm(RC, OFF_X(i->rm));   /* the low element of a register */
        if (mem) {
            vmem(t, i, f.esize, false, false);
            src = xm(XCX, 0);
        }
        if (!mem && (vc_has(t, i->rm) || *jit_y0(t) == (int8_t)i->rm))
            x_vex_rr(b, xv(VM_0F38, VP_66, false, l), i->op, 0, 0, y_src(t, 1, i->rm, false), -1);
        else
            x_vex_rm(b, xv(VM_0F38, VP_66, false, l), i->op, 0, 0, src, -1);
        y_store(t, i->reg, 0, l);
        break;
    }
    case VC_MOVS:
        if (mem && i->op == 0x10) {            /* the rest of the register zeroed */
            vmem(t, i, f.esize, false, false);
            x_vex_rm(b, xv(VM_0F, pp, false, false), 0x10, 0, 0, xm(XCX, 0), -1);
            y_store(t, i->reg, 0, false);
        } else if (mem) {
            vmem(t, i, f.esize, true, false);
            x_load(b, f.esize, XAX, xm(RC, OFF_X(i->reg)));
            x_store(b, f.esize, xm(XCX, 0), XAX);
        } else {                               /* dst = vvvv with the low element of src */
            unsigned dst = i->op == 0x10 ? i->reg : i->rm, src = i->op == 0x10 ? i->rm : i->reg;
            int hv = y_src(t, 1, v, false);
            x_vex_rr(b, xv(VM_0F, pp, false, false), 0x10, 0, hv, y_src(t, 2, src, false), -1);
            y_store(t, dst, 0, false);
        }
        break;
    case VC_PTEST:
        if (mem)
            vmem(t, i, n, false, false);
        int hr = y_src(t, 0, i->reg, l);
        if (mem)
            x_vex_rm(b, xv(VM_0F38, VP_66, false, l), 0x17, hr, 0, xm(XCX, 0), -1);
        else
            x_vex_rr(b, xv(VM_0F38, VP_66, false, l), 0x17, hr, 0, y_src(t, 1, i->rm, l), -1);
        flags_from_host(t, RFLAGS_ZF | RFLAGS_CF);   /* the others: cleared on both */
        wrote_flags = true;
        break;
    default:
        return false;   /* not reached: vform_ok took only the classes above */
    }
    if (l)
        jit_ymm_used(t);
    jit_insn_end(t, wrote_flags);
    return true;
}

/* ---- BMI1/BMI2 (VEX general-register forms) ------------------------------------------- */

/* Operand roles by ModRM.reg, VEX.vvvv and ModRM.r/m. */
enum { R_NO, R_SRC, R_DST };
struct gform {
    uint8_t need;          /* H_* */
    uint8_t reg, vvvv, rm; /* R_*; rm is always a source */
    bool group;            /* ModRM.reg is an opcode extension (BLSR/BLSMSK/BLSI) */
    bool rdx;              /* MULX: RDX is a source */
    bool imm;
    uint64_t flags;        /* the flags host and guest both define: the rest are 0 on both */
};

static bool gclassify(const struct emu_insn *i, unsigned pp, struct gform *f)
{
    const uint64_t szco = RFLAGS_SF | RFLAGS_ZF | RFLAGS_CF | RFLAGS_OF;
    memset(f, 0, sizeof(*f));
    f->rm = R_SRC;
    if (i->map == MAP_0F3A) {
        if (i->op != 0xf0 || pp != VP_F2 || VEX_VVVV(i))
            return false;                     /* RORX: VEX.vvvv must be 1111b */
        *f = (struct gform){ H_BMI2, R_DST, R_NO, R_SRC, false, false, true, 0 };
        return true;
    }
    if (i->map != MAP_0F38)
        return false;
    switch (i->op) {
    case 0xf2:                                /* ANDN */
        if (pp != VP_NONE)
            return false;
        *f = (struct gform){ H_BMI1, R_DST, R_SRC, R_SRC, false, false, false, szco };
        return true;
    case 0xf3: {                              /* BLSR /1, BLSMSK /2, BLSI /3 */
        unsigned g = GRP_OF(i);
        if (pp != VP_NONE || g < 1 || g > 3)
            return false;
        *f = (struct gform){ H_BMI1, R_NO, R_DST, R_SRC, true, false, false, szco };
        return true;
    }
    case 0xf5:                                /* BZHI; PEXT (F3), PDEP (F2) */
        if (pp == VP_66)
            return false;
        *f = (struct gform){ H_BMI2, R_DST, R_SRC, R_SRC, false, false, false, pp == VP_NONE ? szco : 0 };
        return true;
    case 0xf6:                                /* MULX */
        if (pp != VP_F2)
            return false;
        *f = (struct gform){ H_BMI2, R_DST, R_DST, R_SRC, false, true, false, 0 };
        return true;
    case 0xf7:                                /* BEXTR; SHLX (66), SARX (F3), SHRX (F2) */
        *f = (struct gform){ pp == VP_NONE ? H_BMI1 : H_BMI2, R_DST, R_SRC, R_SRC, false, false, false,
                             pp == VP_NONE ? (uint64_t)(RFLAGS_ZF | RFLAGS_CF | RFLAGS_OF) : 0 };
        return true;
    default:
        return false;
    }
}

static bool emit_bmi(struct jctx *t, const struct emu_insn *i)
{
    struct gform f;
    unsigned size = VEX_W(i) ? 8 : 4;
    if (VEX_L(i) || i->opsize != size || !gclassify(i, vex_pp(i), &f) || !(host_has() & f.need))
        return false;
    struct xbuf *b = jit_buf(t);
    bool mem = i->mod != 3;
    unsigned v = VEX_VVVV(i);
    /* Sources first (loaded), then destinations (the same guest register
     * keeps its host register), all before the memory lookup. */
    int hv = f.vvvv == R_SRC ? jit_gpr(t, v, true) : 0;
    int hs = mem ? XNONE : jit_gpr(t, i->rm, true);
    int hrdx = f.rdx ? jit_gpr(t, R_RDX, true) : XNONE;
    int hr = f.group ? (int)GRP_OF(i) : f.reg == R_DST ? jit_gpr(t, i->reg, false) : 0;
    if (f.vvvv == R_DST)
        hv = jit_gpr(t, v, false);
    if (mem) {
        jit_mem_addr(t, i);
        jit_mem_lookup(t, size, false);
    }
    if (f.rdx)
        x_mov_rr(b, 8, XDX, hrdx);
    struct xvex hx = xv(i->map == MAP_0F38 ? VM_0F38 : VM_0F3A, vex_pp(i), size == 8, false);
    int imm = f.imm ? (int)(i->imm & 0xff) : -1;
    if (mem)
        x_vex_rm(b, hx, i->op, hr, hv, xm(XCX, 0), imm);
    else
        x_vex_rr(b, hx, i->op, hr, hv, hs, imm);
    if (f.flags)
        flags_from_host(t, f.flags);
    if (f.vvvv == R_DST)
        jit_gpr_written(t, v);
    if (f.reg == R_DST)
        jit_gpr_written(t, i->reg);
    jit_insn_end(t, f.flags != 0);
    return true;
}

/* ---- TZCNT LZCNT POPCNT (F3 0F BC BD B8), MOVBE (0F 38 F0 F1) ------------------------- */

static bool emit_count(struct jctx *t, const struct emu_insn *i)
{
    unsigned need = i->op == 0xb8 ? H_POPCNT : i->op == 0xbc ? H_BMI1 : H_LZCNT;
    unsigned size = i->opsize;
    if ((i->prefix & (PFX_REP | PFX_REPNE | PFX_LOCK)) != PFX_REP || size < 2 || !(host_has() & need))
        return false;
    struct xbuf *b = jit_buf(t);
    bool mem = i->mod != 3;
    int hs = mem ? XNONE : jit_gpr(t, i->rm, true);
    int hd = jit_gpr(t, i->reg, size == 2);        /* a 16-bit result keeps bits 63:16 */
    if (mem) {
        jit_mem_addr(t, i);
        jit_mem_lookup(t, size, false);
    }
    uint32_t op = 0x0f | (uint32_t)i->op << 8;
    x8(b, 0xf3);
    if (mem)
        x_rm(b, size, op, hd, xm(XCX, 0), 0);
    else
        x_rr(b, size, op, hd, hs);
    /* TZCNT/LZCNT define CF and ZF (the interpreter clears the others);
     * POPCNT defines them all. */
    flags_from_host(t, i->op == 0xb8 ? FLAGS_ARITH : RFLAGS_CF | RFLAGS_ZF);
    jit_gpr_written(t, i->reg);
    jit_insn_end(t, true);
    return true;
}

static bool emit_movbe(struct jctx *t, const struct emu_insn *i)
{
    unsigned size = i->opsize;
    if ((i->prefix & (PFX_REP | PFX_REPNE | PFX_LOCK)) || i->mod == 3 || size < 2 || !(host_has() & H_MOVBE))
        return false;
    struct xbuf *b = jit_buf(t);
    bool load = i->op == 0xf0;
    int h = jit_gpr(t, i->reg, !load || size == 2);
    jit_mem_addr(t, i);
    jit_mem_lookup(t, size, !load);
    x_rm(b, size, 0x380f | (uint32_t)i->op << 16, h, xm(XCX, 0), 0);
    if (load)
        jit_gpr_written(t, i->reg);
    jit_insn_end(t, false);
    return true;
}

bool jit_vex_emit(struct jctx *t, const struct emu_insn *i)
{
    if (i->prefix & PFX_VEX) {
        if (i->map == MAP_0F3A && i->op == 0xf0)
            return emit_bmi(t, i);
        if (i->map == MAP_0F38 && i->op >= 0xf2 && i->op <= 0xf7)
            return emit_bmi(t, i);
        return emit_vector(t, i);
    }
    if (i->map == MAP_0F && (i->op == 0xbc || i->op == 0xbd || i->op == 0xb8))
        return emit_count(t, i);
    if (i->map == MAP_0F38 && (i->op == 0xf0 || i->op == 0xf1))
        return emit_movbe(t, i);
    return false;
}
