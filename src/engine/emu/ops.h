/* Inline helpers shared by emu's integer handlers: register and ModRM
 * operand access, lazy-flag setters, the TLB fast paths of memory access,
 * the stack, and the handler-registration list of each ops_*.c file.
 *
 * Handler conventions (all of emu, see cpu.h): a handler runs with c->rip at
 * its instruction and c->next_rip = rip + len; it performs every access that
 * can fault before it changes state; it transfers control by writing
 * c->next_rip.  emu_raise() never returns. */
#ifndef HOSTEL_EMU_OPS_H
#define HOSTEL_EMU_OPS_H

#include <string.h>

#include "engine/emu/cpu.h"
#include "engine/emu/mmu.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

#define FLAGS_ARITH (RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF)

#define HANDLER(name) void name(struct emu_cpu *c, const struct emu_insn *i)

/* ---- semantic kinds -------------------------------------------------------
 * The decoder classifies every instruction by what it does (struct
 * emu_insn.kind); the operand form stays in the other fields (mod, op, the
 * size).  The block passes (opt.c), the choice of specialized handlers
 * (ops_fast.c) and the translator (jit.c) work from the kind, never from
 * handler addresses.  EK_OTHER is everything only its handler knows:
 * system, string, SSE and x87 instructions and the rarer integer ones. */
enum emu_kind {
    EK_OTHER = 0,
    EK_INVALID,     /* #UD or longer than 15 bytes: the handler raises */
    EK_ALU,         /* ADD OR ADC SBB AND SUB XOR CMP: 00-3D, 80-83 (emu_alu_op) */
    EK_TEST,        /* 84 85 A8 A9, F6/F7 /0 /1 */
    EK_INC,         /* 40-47 (not 64-bit), FE/FF /0 */
    EK_DEC,         /* 48-4F (not 64-bit), FE/FF /1 */
    EK_NOT,         /* F6/F7 /2 */
    EK_NEG,         /* F6/F7 /3 */
    EK_MUL,         /* F6/F7 /4 /5: MUL, one-operand IMUL */
    EK_DIV,         /* F6/F7 /6 /7: DIV, IDIV */
    EK_IMUL,        /* 0F AF, 69, 6B */
    EK_SHIFT,       /* C0 C1 D0-D3: ROL ROR RCL RCR SHL SHR SAL SAR (emu_grp) */
    EK_MOV,         /* 88-8B, C6/C7 /0 */
    EK_MOV_IMM,     /* B0-BF: immediate to a register from the opcode */
    EK_MOV_MOFFS,   /* A0-A3 */
    EK_MOVZX,       /* 0F B6 B7 */
    EK_MOVSX,       /* 0F BE BF */
    EK_MOVSXD,      /* 63 in 64-bit mode */
    EK_LEA,         /* 8D */
    EK_XCHG,        /* 86 87, 90-97 (90 without REX.B: NOP, F3 90: PAUSE) */
    EK_CBW,         /* 98: CBW CWDE CDQE */
    EK_CWD,         /* 99: CWD CDQ CQO */
    EK_NOP,         /* 0F 0D, 0F 18-1F: hints and long NOPs */
    EK_PUSH,        /* 50-57, 68, 6A, FF /6 */
    EK_POP,         /* 58-5F, 8F /0 */
    EK_LEAVE,       /* C9 */
    EK_JCC,         /* 70-7F, 0F 80-8F (emu_cc) */
    EK_JMP,         /* E9 EB */
    EK_CALL,        /* E8 */
    EK_RET,         /* C3, C2 */
    EK_JMP_IND,     /* FF /4 */
    EK_CALL_IND,    /* FF /2 */
    EK_CMOV,        /* 0F 40-4F */
    EK_SETCC,       /* 0F 90-9F */
    EK_BSWAP,       /* 0F C8-CF */
    EK_BT,          /* BT BTS BTR BTC: 0F A3 AB B3 BB, 0F BA /4-/7 (CF only) */
    EK_BITSCAN,     /* BSF BSR: 0F BC BD, F3 0F BC (TZCNT runs as BSF) (ZF only) */
    EK_COUNT
};

#define GRP_OF(i) (((i)->modrm >> 3) & 7)

/* The ALU operation (ALU_ADD.. in alu.h) of an EK_ALU instruction. */
static inline int emu_alu_op(const struct emu_insn *i)
{
    return i->map == MAP_1 && i->op >= 0x80 ? GRP_OF(i) : (i->op >> 3) & 7;
}

/* The condition (0-15) of EK_JCC, EK_CMOV, EK_SETCC. */
static inline unsigned emu_cc(const struct emu_insn *i)
{
    return i->op & 15;
}

/* ---- registers ----------------------------------------------------------- */

static inline uint64_t reg_get(const struct emu_cpu *c, unsigned r, unsigned size, unsigned pfx)
{
    switch (size) {
    case 1:
        if (!(pfx & PFX_REX) && r >= 4 && r < 8)
            return (c->gpr[r - 4] >> 8) & 0xff;
        return c->gpr[r] & 0xff;
    case 2: return c->gpr[r] & 0xffff;
    case 4: return c->gpr[r] & 0xffffffff;
    default: return c->gpr[r];
    }
}

static inline void reg_set(struct emu_cpu *c, unsigned r, unsigned size, unsigned pfx, uint64_t v)
{
    switch (size) {
    case 1:
        if (!(pfx & PFX_REX) && r >= 4 && r < 8)
            c->gpr[r - 4] = (c->gpr[r - 4] & ~0xff00ULL) | ((v & 0xff) << 8);
        else
            c->gpr[r] = (c->gpr[r] & ~0xffULL) | (v & 0xff);
        break;
    case 2: c->gpr[r] = (c->gpr[r] & ~0xffffULL) | (v & 0xffff); break;
    case 4: c->gpr[r] = (uint32_t)v; break;
    default: c->gpr[r] = v; break;
    }
}

/* Operand size of a form whose opcode bit 0 selects byte (0) or full size. */
static inline unsigned op_size_w(const struct emu_insn *i)
{
    return (i->op & 1) ? i->opsize : 1;
}

static inline uint64_t sext(uint64_t v, unsigned size)
{
    switch (size) {
    case 1: return (uint64_t)(int64_t)(int8_t)v;
    case 2: return (uint64_t)(int64_t)(int16_t)v;
    case 4: return (uint64_t)(int64_t)(int32_t)v;
    default: return v;
    }
}

/* ---- memory fast paths ----------------------------------------------------- */

static inline struct emu_tlb_entry *tlb_entry(struct emu_cpu *c, uint64_t la)
{
    return &c->mmu.tlb[c->cpl == 3][(la >> 12) & (EMU_TLB_SIZE - 1)];
}

/* The TLB tag an access of size bytes at la must match: the page of its
 * last byte.  An access that crosses into the next page never matches the
 * entry of its first page (the next page has another index), so one
 * compare checks both the hit and that the access stays in the page. */
static inline uint64_t tlb_tag(const struct emu_cpu *c, uint64_t la, unsigned size)
{
    return ((la + size - 1) & ~0xfffULL) | EMU_TLB_VALID | c->mmu.tlb_slot;
}

/* The tag of the page at page-aligned linear address page. */
static inline uint64_t tlb_page_tag(const struct emu_cpu *c, uint64_t page)
{
    return page | EMU_TLB_VALID | c->mmu.tlb_slot;
}

/* A guest access of 1, 2, 4 or 8 bytes at its host address (after a TLB hit). */
static inline uint64_t host_load(const uint8_t *p, unsigned size)
{
    switch (size) {
    case 1: return *p;
    case 2: { uint16_t v; memcpy(&v, p, 2); return v; }
    case 4: { uint32_t v; memcpy(&v, p, 4); return v; }
    default: { uint64_t v; memcpy(&v, p, 8); return v; }
    }
}

static inline uint64_t lin_read(struct emu_cpu *c, uint64_t la, unsigned size)
{
    struct emu_tlb_entry *e = tlb_entry(c, la);
    if (likely(e->vpn_read == tlb_tag(c, la, size))) {
        return host_load((const uint8_t *)(uintptr_t)(la + e->addend), size);
    }
    return emu_read(c, la, size);
}

static inline void lin_write(struct emu_cpu *c, uint64_t la, unsigned size, uint64_t val)
{
    struct emu_tlb_entry *e = tlb_entry(c, la);
    if (likely(e->vpn_write == tlb_tag(c, la, size))) {
        uint8_t *p = (uint8_t *)(uintptr_t)(la + e->addend);
        switch (size) {
        case 1: *p = (uint8_t)val; return;
        case 2: { uint16_t v = (uint16_t)val; memcpy(p, &v, 2); return; }
        case 4: { uint32_t v = (uint32_t)val; memcpy(p, &v, 4); return; }
        default: memcpy(p, &val, 8); return;
        }
    }
    emu_write(c, la, size, val);
}

/* Checks that a later write to [la, la+size) will not fault (so a handler
 * can fault before it changes registers). */
static inline void lin_probe_write(struct emu_cpu *c, uint64_t la, unsigned size)
{
    struct emu_tlb_entry *e = tlb_entry(c, la);
    if (likely(e->vpn_write == tlb_tag(c, la, size)))
        return;
    emu_translate(c, la, 1);
    if ((la & 0xfff) > 4096 - size)
        emu_translate(c, (la | 0xfff) + 1, 1);
}

/* The read of a read-modify-write: it faults as the write would (so a #PF
 * carries the W bit, as on hardware), then reads. */
static inline uint64_t lin_read_rmw(struct emu_cpu *c, uint64_t la, unsigned size)
{
    struct emu_tlb_entry *e = tlb_entry(c, la);
    if (likely(e->vpn_write == tlb_tag(c, la, size))) {   /* writable: one lookup */
        return host_load((const uint8_t *)(uintptr_t)(la + e->addend), size);
    }
    lin_probe_write(c, la, size);
    return emu_read(c, la, size);
}

/* ---- ModRM operands ------------------------------------------------------ */

/* Offset part of the memory operand (what LEA computes). */
static inline uint64_t ea_off(const struct emu_cpu *c, const struct emu_insn *i)
{
    uint64_t a = (uint64_t)i->disp;
    if (i->base < 16)
        a += c->gpr[i->base];
    else if (i->base == 0xfe)
        a += c->rip + i->len;
    if (i->index < 16)
        a += c->gpr[i->index] << i->scale;
    if (i->adsize != 8)
        a &= emu_size_mask(i->adsize);
    return a;
}

/* Linear address of a size-byte memory operand; outside 64-bit mode the
 * segment limit and (for write) writability are checked for all of it. */
static inline uint64_t ea(struct emu_cpu *c, const struct emu_insn *i, unsigned size, bool write)
{
    uint64_t a = ea_off(c, i);
    if (unlikely(c->mode != MODE_LONG64))
        return emu_linear(c, i->seg, a, size, write);
    if (i->seg >= S_FS)
        a += c->seg[i->seg].base;
    if (unlikely(!emu_canonical(a)))
        emu_raise(c, i->seg == S_SS ? EXC_SS : EXC_GP, 0);
    return a;
}

static inline uint64_t rm_get(struct emu_cpu *c, const struct emu_insn *i, unsigned size)
{
    if (i->mod == 3)
        return reg_get(c, i->rm, size, i->prefix);
    return lin_read(c, ea(c, i, size, false), size);
}

static inline void rm_set(struct emu_cpu *c, const struct emu_insn *i, unsigned size, uint64_t v)
{
    if (i->mod == 3)
        reg_set(c, i->rm, size, i->prefix, v);
    else
        lin_write(c, ea(c, i, size, true), size, v);
}

/* ---- lazy flags ---------------------------------------------------------- */

static inline void cc_set(struct emu_cpu *c, int op, unsigned size, uint64_t res,
                          uint64_t s1, uint64_t s2)
{
    c->lazy.op = (uint8_t)op;
    c->lazy.size = (uint8_t)size;
    c->lazy.res = res;
    c->lazy.src1 = s1;
    c->lazy.src2 = s2;
}

/* The result of lazy record l (unmasked): ADD and SUB records need not
 * keep it (translated code stores only their operands), the others do. */
static inline uint64_t lazy_res(const struct emu_lazy_flags *l)
{
    if (l->op == CC_OP_ADD)
        return l->src1 + l->src2;
    if (l->op == CC_OP_SUB)
        return l->src1 - l->src2;
    return l->res;
}

/* Current CF without materializing the other flags. */
bool emu_get_cf(struct emu_cpu *c);

/* Replaces the arithmetic flags given in mask with bits (other arithmetic
 * flags keep their current values). */
static inline void flags_update(struct emu_cpu *c, uint64_t mask, uint64_t bits)
{
    uint64_t f = c->lazy.op == CC_OP_EFLAGS ? c->rflags : emu_get_rflags(c);
    c->rflags = (f & ~mask) | (bits & mask);
    c->lazy.op = CC_OP_EFLAGS;
}

static inline uint64_t flags_szp(uint64_t res, unsigned size)
{
    uint64_t m = emu_size_mask(size);
    uint64_t f = 0;
    res &= m;
    if (!res) f |= RFLAGS_ZF;
    if (res >> (size * 8 - 1)) f |= RFLAGS_SF;
    if (!__builtin_parity((unsigned)(res & 0xff))) f |= RFLAGS_PF;
    return f;
}

/* ---- stack --------------------------------------------------------------- */

/* Stack address size in bytes: 8 in 64-bit mode, else SS.B. */
static inline unsigned stack_asize(const struct emu_cpu *c)
{
    if (c->mode == MODE_LONG64) return 8;
    return c->seg[S_SS].db ? 4 : 2;
}

static inline uint64_t stack_la(struct emu_cpu *c, uint64_t sp, unsigned size, bool write)
{
    if (c->mode == MODE_LONG64) {
        if (unlikely(!emu_canonical(sp)))
            emu_raise(c, EXC_SS, 0);
        return sp;
    }
    return emu_linear(c, S_SS, sp, size, write);
}

static inline void push(struct emu_cpu *c, unsigned size, uint64_t v)
{
    unsigned as = stack_asize(c);
    uint64_t sp = (c->gpr[R_RSP] - size) & emu_size_mask(as);
    lin_write(c, stack_la(c, sp, size, true), size, v);
    reg_set(c, R_RSP, as, PFX_REX, sp);
}

/* Reads the value at the top of the stack plus off, without popping. */
static inline uint64_t stack_peek(struct emu_cpu *c, unsigned size, uint64_t off)
{
    unsigned as = stack_asize(c);
    uint64_t sp = (c->gpr[R_RSP] + off) & emu_size_mask(as);
    return lin_read(c, stack_la(c, sp, size, false), size);
}

static inline void stack_adjust(struct emu_cpu *c, int64_t delta)
{
    unsigned as = stack_asize(c);
    reg_set(c, R_RSP, as, PFX_REX, c->gpr[R_RSP] + (uint64_t)delta);
}

/* A near branch's target: it wraps to the operand size outside 64-bit
 * mode; in it (operand size 8), a non-canonical target is #GP(0) at the
 * branch, as on x86, so callers take it before they push or pop. */
static inline uint64_t branch_target(struct emu_cpu *c, const struct emu_insn *i, uint64_t target)
{
    if (i->opsize != 8)
        target &= emu_size_mask(i->opsize);
    else if (unlikely(!emu_canonical(target)))
        emu_raise(c, EXC_GP, 0);
    return target;
}

static inline void jump_to(struct emu_cpu *c, const struct emu_insn *i, uint64_t target)
{
    c->next_rip = branch_target(c, i, target);
}

/* ---- registration -------------------------------------------------------- */

void emu_arith_register(void);   /* ops_arith.c */
void emu_bits_register(void);    /* ops_bits.c */
void emu_move_register(void);    /* ops_move.c */
void emu_branch_register(void);  /* ops_branch.c */
void emu_string_register(void);  /* ops_string.c */

/* exec.c */
HANDLER(emu_op_ud);

/* opt.c: the passes over a decoded block (n <= EMU_BLOCK_MAX_INSNS), which
 * may replace handlers and fuse entries; returns the new entry count. */
unsigned emu_block_optimize(struct emu_insn *insn, unsigned n);
/* opt.c: how an instruction uses the arithmetic flags, by group, and which
 * groups are live (may be read later) after each instruction of a block
 * (n <= EMU_BLOCK_MAX_INSNS; anything may read them after the block);
 * emu_flags_live returns the groups live before the first instruction. */
enum { FG_C = 1, FG_O = 2, FG_S = 4, FG_ALL = 7 };   /* CF; OF; SF ZF PF AF */
struct emu_flag_use {
    uint8_t reads;      /* groups it reads in any case (Jcc, ADC, ...) */
    uint8_t rec_reads;  /* groups its lazy record takes from before it, when kept */
    uint8_t must;       /* groups it always writes */
    uint8_t may;        /* groups it may write */
    bool barrier;       /* may fault or leave the block: all flags are visible there */
};
void emu_flag_use(const struct emu_insn *i, struct emu_flag_use *u);
uint8_t emu_flags_live(const struct emu_insn *insn, unsigned n, uint8_t *live_after);
/* ops_arith.c: the flag-free variant of a generic register-only handler. */
emu_handler emu_arith_nf(const struct emu_insn *i);
/* ops_move.c: a faster equivalent handler for a decoded instruction. */
emu_handler emu_specialize(const struct emu_insn *i);
/* ops_fast.c: the specialized handler of a frequent form (NULL: none), and
 * its flag-free variant (NULL: none). */
emu_handler emu_fast_handler(const struct emu_insn *i);
emu_handler emu_fast_nf(const struct emu_insn *i);
/* ops_fast.c: the handler running a flag-setting register operation a and
 * the branch j after it as one block entry (64-bit mode), or NULL. */
emu_handler emu_fuse(const struct emu_insn *a, const struct emu_insn *j);

#endif
