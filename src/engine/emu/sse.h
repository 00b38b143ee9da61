/* Helpers shared by the SSE/MMX/x87 handlers of emu (sse_*.c, x87.c): operand
 * fetch and store, the MMX view of the x87 registers, MXCSR and the host-SSE
 * bridge used to compute floating-point results bit-exactly. */
#ifndef HOSTEL_EMU_SSE_H
#define HOSTEL_EMU_SSE_H

#include <string.h>

#include "engine/emu/cpu.h"
#include "engine/emu/ops.h"

/* The mandatory prefix that selects an SSE form: F2/F3 win over 66, and
 * between F2 and F3 the decoder keeps only the one that came last. */
enum { MP_NONE = 0, MP_66 = 1, MP_F3 = 2, MP_F2 = 3 };

static inline int sse_mp(const struct emu_insn *i)
{
    if (i->prefix & PFX_REPNE)
        return MP_F2;
    if (i->prefix & PFX_REP)
        return MP_F3;
    if (i->prefix & PFX_OPSIZE)
        return MP_66;
    return MP_NONE;
}

#define MXCSR_FLAGS    0x003fu
#define MXCSR_DAZ      0x0040u
#define MXCSR_MASKS    0x1f80u
#define MXCSR_RC_SHIFT 13
#define MXCSR_FZ       0x8000u
/* Every defined MXCSR bit (DAZ included): what FXSAVE reports as MXCSR_MASK. */
#define MXCSR_VALID    0xffffu

typedef float sse_v4sf __attribute__((vector_size(16)));

_Noreturn void emu_sse_ud(struct emu_cpu *c, const struct emu_insn *i);

/* #UD / #NM conditions shared by every SSE instruction. */
static inline void sse_check(struct emu_cpu *c)
{
    if (c->cr0 & CR0_EM)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    if (c->cr0 & CR0_TS)
        emu_raise(c, EXC_NM, EMU_NO_ERRCODE);
    /* Flat test mode runs with CR0 = CR4 = 0: only a real machine needs OSFXSR. */
    if ((c->cr0 & CR0_PE) && !(c->cr4 & CR4_OSFXSR))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
}

/* MMX instructions fault like x87 ones: CR0.EM is #UD, CR0.TS is #NM. */
static inline void mmx_check(struct emu_cpu *c)
{
    if (c->cr0 & CR0_EM)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    if (c->cr0 & CR0_TS)
        emu_raise(c, EXC_NM, EMU_NO_ERRCODE);
}

/* Whole-operand memory access with the TLB fast path of ops.h (a hit on
 * vpn_write also means the page holds no cached code). */
static inline void sse_read_buf(struct emu_cpu *c, uint64_t la, void *out, unsigned len)
{
    struct emu_tlb_entry *e = tlb_entry(c, la);
    if (likely(e->vpn_read == tlb_page_tag(c, la & ~0xfffULL) && (la & 0xfff) <= 4096 - len)) {
        memcpy(out, (const void *)(uintptr_t)(la + e->addend), len);
        return;
    }
    emu_read_buf(c, la, out, len);
}

static inline void sse_write_buf(struct emu_cpu *c, uint64_t la, const void *in, unsigned len)
{
    struct emu_tlb_entry *e = tlb_entry(c, la);
    if (likely(e->vpn_write == tlb_page_tag(c, la & ~0xfffULL) && (la & 0xfff) <= 4096 - len)) {
        memcpy((void *)(uintptr_t)(la + e->addend), in, len);
        return;
    }
    emu_write_buf(c, la, in, len);
}

/* PMOVMSKB's element code: the top bit of each of the 8 bytes of q, byte k
 * to bit k (the multiply gathers the masked bits, no two partial products
 * share a bit position). */
static inline unsigned sse_byte_signs64(uint64_t q)
{
    return (unsigned)(((q & 0x8080808080808080ULL) >> 7) * 0x0102040810204080ULL >> 56);
}

/* The same for a 128-bit lane: 16 mask bits. */
static inline unsigned sse_byte_signs(const emu_xmm *x)
{
    return sse_byte_signs64(x->q[0]) | sse_byte_signs64(x->q[1]) << 8;
}

/* Memory operand address; 16-byte operands of legacy SSE must be aligned. */
static inline uint64_t sse_ea_aligned(struct emu_cpu *c, const struct emu_insn *i, unsigned align)
{
    uint64_t la = emu_ea(c, i);
    if (align && (la & (align - 1)))
        emu_raise(c, EXC_GP, 0);
    return la;
}

/* xmm/m128 source. */
static inline void sse_src128(struct emu_cpu *c, const struct emu_insn *i, emu_xmm *out, bool aligned)
{
    if (i->mod == 3)
        *out = c->xmm[i->rm];
    else
        sse_read_buf(c, sse_ea_aligned(c, i, aligned ? 16 : 0), out, 16);
}

/* xmm/m64 and xmm/m32 sources: the low part of a register, or memory. */
static inline uint64_t sse_src64(struct emu_cpu *c, const struct emu_insn *i)
{
    if (i->mod == 3)
        return c->xmm[i->rm].q[0];
    return lin_read(c, emu_ea(c, i), 8);
}

static inline uint32_t sse_src32(struct emu_cpu *c, const struct emu_insn *i)
{
    if (i->mod == 3)
        return c->xmm[i->rm].d[0];
    return (uint32_t)lin_read(c, emu_ea(c, i), 4);
}

static inline void sse_dst128(struct emu_cpu *c, const struct emu_insn *i, const emu_xmm *v, bool aligned)
{
    if (i->mod == 3)
        c->xmm[i->rm] = *v;
    else
        sse_write_buf(c, sse_ea_aligned(c, i, aligned ? 16 : 0), v, 16);
}

/* General-purpose register or memory operand of the given size (1..8). */
static inline uint64_t sse_gpr_src(struct emu_cpu *c, const struct emu_insn *i, unsigned size)
{
    if (i->mod == 3)
        return c->gpr[i->rm] & emu_size_mask(size);
    return lin_read(c, emu_ea(c, i), size);
}

/* 32-bit writes to a GPR zero the upper half, as in 64-bit mode. */
static inline void sse_set_gpr(struct emu_cpu *c, unsigned r, unsigned size, uint64_t v)
{
    c->gpr[r] = size == 8 ? v : (uint32_t)v;
}

/* ---- MMX: mm0-7 are the significands of the physical x87 registers ---- */

static inline uint64_t mmx_get(struct emu_cpu *c, unsigned r)
{
    uint64_t v;
    memcpy(&v, &c->x87.st[r & 7], 8);
    return v;
}

/* Entering MMX state: TOP = 0 and every register tagged valid. */
static inline void mmx_enter(struct emu_cpu *c)
{
    mmx_check(c);
    c->x87.top = 0;
    c->x87.fsw &= ~0x3800;
    c->x87.ftw = 0;
}

static inline void mmx_set(struct emu_cpu *c, unsigned r, uint64_t v)
{
    uint16_t ones = 0xffff;
    memcpy(&c->x87.st[r & 7], &v, 8);
    memcpy((uint8_t *)&c->x87.st[r & 7] + 8, &ones, 2);
}

static inline uint64_t mmx_src64(struct emu_cpu *c, const struct emu_insn *i)
{
    if (i->mod == 3)
        return mmx_get(c, i->rm);
    return lin_read(c, emu_ea(c, i), 8);
}

/* ---- the host-SSE bridge --------------------------------------------------
 * Floating-point results come from the host executing the same operation
 * under the guest's rounding mode, DAZ and FZ with every exception masked;
 * the flags it raises are then merged into the guest MXCSR.  Guest memory
 * must be read before sse_host_enter (a fault longjmps out). */
static inline uint32_t sse_host_enter(const struct emu_cpu *c)
{
    uint32_t host, g = (c->mxcsr & (MXCSR_DAZ | MXCSR_FZ | (3u << MXCSR_RC_SHIFT))) | MXCSR_MASKS;
    __asm__ volatile("stmxcsr %0" : "=m"(host));
    /* LDMXCSR is the expensive part: skip it when the host already runs
     * the guest's controls with no flags set (the usual 0x1f80 case). */
    if (host != g)
        __asm__ volatile("ldmxcsr %0" : : "m"(g));
    return host;
}

/* Like sse_host_enter with flush-to-zero forced: an unmasked underflow
 * faults on any tiny result, exact or not, but the masked host reports UE
 * only for inexact ones; with FZ the host flags every tiny result. */
static inline uint32_t sse_host_enter_fz(const struct emu_cpu *c)
{
    uint32_t host, g = (c->mxcsr & (MXCSR_DAZ | (3u << MXCSR_RC_SHIFT))) | MXCSR_FZ | MXCSR_MASKS;
    __asm__ volatile("stmxcsr %0" : "=m"(host));
    __asm__ volatile("ldmxcsr %0" : : "m"(g));
    return host;
}

#define MXCSR_UE 0x0010u
#define MXCSR_UM 0x0800u

/* Does the guest want to know about exact tiny results (UE unmasked,
 * FZ clear) that a masked run did not flag? */
static inline bool sse_need_tiny_check(const struct emu_cpu *c, uint32_t flags)
{
    return !(c->mxcsr & (MXCSR_UM | MXCSR_FZ)) && !(flags & MXCSR_UE);
}

/* Returns the exception flags the operation raised. */
static inline uint32_t sse_host_leave(uint32_t host)
{
    uint32_t g;
    __asm__ volatile("stmxcsr %0" : "=m"(g));
    if (g != host)
        __asm__ volatile("ldmxcsr %0" : : "m"(host));
    return g & MXCSR_FLAGS;
}

/* Merges raised flags; an unmasked one faults (#XM, or #UD without
 * CR4.OSXMMEXCPT) before the caller writes its destination. */
void sse_fp_flags(struct emu_cpu *c, uint32_t flags);

static inline sse_v4sf sse_v(const emu_xmm *x)
{
    sse_v4sf v;
    memcpy(&v, x, 16);
    return v;
}

static inline emu_xmm sse_x(sse_v4sf v)
{
    emu_xmm x;
    memcpy(&x, &v, 16);
    return x;
}

/* Repeats X(k) for every immediate 0..255 (host instructions take the
 * immediate as a constant). */
#define SSE_IMM16(b, X) X(b+0) X(b+1) X(b+2) X(b+3) X(b+4) X(b+5) X(b+6) X(b+7) \
    X(b+8) X(b+9) X(b+10) X(b+11) X(b+12) X(b+13) X(b+14) X(b+15)
#define SSE_IMM256(X) SSE_IMM16(0, X) SSE_IMM16(16, X) SSE_IMM16(32, X) SSE_IMM16(48, X) \
    SSE_IMM16(64, X) SSE_IMM16(80, X) SSE_IMM16(96, X) SSE_IMM16(112, X) \
    SSE_IMM16(128, X) SSE_IMM16(144, X) SSE_IMM16(160, X) SSE_IMM16(176, X) \
    SSE_IMM16(192, X) SSE_IMM16(208, X) SSE_IMM16(224, X) SSE_IMM16(240, X)

/* Registration, one file a group. */
/* The FXSAVE legacy area (sse.c), also the first 512 bytes of an XSAVE area. */
unsigned sse_xmm_count(const struct emu_cpu *c);   /* 16 in 64-bit mode, else 8 */
void sse_legacy_put_x87(const struct emu_cpu *c, uint8_t *img, bool wide);
void sse_legacy_put_mxcsr(const struct emu_cpu *c, uint8_t *img);
void sse_legacy_put_xmm(const struct emu_cpu *c, uint8_t *img);
void sse_legacy_get_x87(struct emu_cpu *c, const uint8_t *img, bool wide);
void sse_legacy_get_xmm(struct emu_cpu *c, const uint8_t *img);

void emu_sse_move_register(void);
void emu_sse_int_register(void);
/* A two-operand packed-integer operation (d[k] op= s[k]) on 1 or 2 128-bit
 * lanes, by (map, opcode) of its 66-prefixed form; NULL where the form has
 * an immediate, a shift count or no such shape (sse_int.c, used by avx.c). */
typedef void (*sse_lane_fn)(emu_xmm *d, const emu_xmm *s, unsigned lanes);
extern sse_lane_fn sse_int_lane[4][256];
void emu_sse_float_register(void);
void emu_sse_str_register(void);

/* x87 state helpers FXSAVE/FXRSTOR share with x87.c. */
uint8_t emu_x87_abridged_tags(const struct emu_cpu *c);
void emu_x87_set_abridged_tags(struct emu_cpu *c, uint8_t tags);
uint16_t emu_x87_fsw(const struct emu_cpu *c);
uint16_t emu_x87_fcw_norm(uint16_t fcw);
void emu_x87_set_fsw(struct emu_cpu *c, uint16_t fsw);
void emu_x87_init(struct emu_cpu *c);

#endif
