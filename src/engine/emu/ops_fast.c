/* Specialized handlers for the most frequent integer forms (32- and 64-bit
 * ALU, TEST, INC/DEC, SHL/SHR/SAR, IMUL, MOV, MOVZX, MOVSXD, LEA, Jcc,
 * CMOVcc, SETcc, PUSH/POP, CALL/RET), chosen once at decode time so that the hot path has no
 * switch on operation, operand size or operand form.  Each one computes
 * exactly what the generic handler in ops_*.c computes for that form;
 * anything unusual (LOCK, 8/16-bit operands, byte registers) keeps the
 * generic handler. */
#include "engine/emu/alu.h"

#define GRP(i) GRP_OF(i)

/* ---- ALU (the core is alu.h) ----------------------------------------------- */

#define alu(c, op, size, a, b, flags) alu_exec(c, op, size, a, b, flags)

/* Addressing forms of a memory operand, told apart at decode time.  The
 * three special ones only occur with a 64-bit address size, that is in
 * 64-bit mode, and without an FS/GS override: no segment base, no limit. */
enum { AM_ANY, AM_BD, AM_BISD, AM_RIP, AM_N };

static inline __attribute__((always_inline)) uint64_t
mem_la(struct emu_cpu *c, const struct emu_insn *i, int am, unsigned size, bool write)
{
    uint64_t a;
    switch (am) {
    case AM_BD: a = c->gpr[i->base] + (uint64_t)i->disp; break;
    case AM_BISD: a = c->gpr[i->base] + (c->gpr[i->index] << i->scale) + (uint64_t)i->disp; break;
    case AM_RIP: a = c->rip + i->len + (uint64_t)i->disp; break;
    default: return ea(c, i, size, write);
    }
    if (unlikely(!emu_canonical(a)))
        emu_raise(c, i->seg == S_SS ? EXC_SS : EXC_GP, 0);
    return a;
}

static int addressing(const struct emu_insn *i)
{
    if (i->mod == 3 || i->adsize != 8 || i->seg >= S_FS)
        return AM_ANY;
    if (i->base == 0xfe && i->index == 0xff)
        return AM_RIP;
    if (i->base >= 16)
        return AM_ANY;
    if (i->index == 0xff)
        return AM_BD;
    return i->index < 16 ? AM_BISD : AM_ANY;
}

/* Register forms of one operation and size:
 *   rm_r  ALU r/m, r with a register r/m (01, 09, ...)
 *   r_rm  ALU r, r/m with a register r/m (03, 0B, ...)
 *   r_i   ALU r/m, imm with a register (81, 83) and rAX, imm (05, 0D, ...)
 * and their flag-free (nf) versions. */
#define ALU_SET(NAME, OP, SZ)                                                          \
    static HANDLER(NAME##_rm_r)                                                        \
    {                                                                                  \
        uint64_t r = alu(c, OP, SZ, c->gpr[i->rm], c->gpr[i->reg], true);              \
        if (OP != ALU_CMP) c->gpr[i->rm] = r;                                            \
    }                                                                                  \
    static HANDLER(NAME##_r_rm)                                                        \
    {                                                                                  \
        uint64_t r = alu(c, OP, SZ, c->gpr[i->reg], c->gpr[i->rm], true);              \
        if (OP != ALU_CMP) c->gpr[i->reg] = r;                                           \
    }                                                                                  \
    static HANDLER(NAME##_r_i)                                                         \
    {                                                                                  \
        unsigned d = i->map == MAP_1 && i->op < 0x40 ? R_RAX : i->rm;                  \
        uint64_t r = alu(c, OP, SZ, c->gpr[d], i->imm, true);                          \
        if (OP != ALU_CMP) c->gpr[d] = r;                                                \
    }                                                                                  \
    static HANDLER(NAME##_rm_r_nf)                                                     \
    {                                                                                  \
        uint64_t r = alu(c, OP, SZ, c->gpr[i->rm], c->gpr[i->reg], false);             \
        if (OP != ALU_CMP) c->gpr[i->rm] = r;                                            \
    }                                                                                  \
    static HANDLER(NAME##_r_rm_nf)                                                     \
    {                                                                                  \
        uint64_t r = alu(c, OP, SZ, c->gpr[i->reg], c->gpr[i->rm], false);             \
        if (OP != ALU_CMP) c->gpr[i->reg] = r;                                           \
    }                                                                                  \
    static HANDLER(NAME##_r_i_nf)                                                      \
    {                                                                                  \
        unsigned d = i->map == MAP_1 && i->op < 0x40 ? R_RAX : i->rm;                  \
        uint64_t r = alu(c, OP, SZ, c->gpr[d], i->imm, false);                         \
        if (OP != ALU_CMP) c->gpr[d] = r;                                                \
    }

/* Memory forms, per addressing form AM (flags are set after the store, so
 * that a faulting store leaves them as they were):
 *   r_m  ALU r, m      (03, 0B, ...)
 *   m_r  ALU m, r      (01, 09, ...), not LOCKed
 *   m_i  ALU m, imm    (81, 83), not LOCKed */
#define ALU_MEM(NAME, OP, SZ, AM)                                                      \
    static HANDLER(NAME##_r_m_##AM)                                                    \
    {                                                                                  \
        uint64_t b = lin_read(c, mem_la(c, i, AM, SZ, false), SZ);                     \
        uint64_t r = alu(c, OP, SZ, c->gpr[i->reg], b, true);                          \
        if (OP != ALU_CMP) c->gpr[i->reg] = r;                                           \
    }                                                                                  \
    static HANDLER(NAME##_m_r_##AM)                                                    \
    {                                                                                  \
        uint64_t la = mem_la(c, i, AM, SZ, OP != ALU_CMP);                               \
        uint64_t a = OP != ALU_CMP ? lin_read_rmw(c, la, SZ) : lin_read(c, la, SZ);      \
        uint64_t r = alu(c, OP, SZ, a, c->gpr[i->reg], OP == ALU_CMP);                   \
        if (OP != ALU_CMP) {                                                             \
            lin_write(c, la, SZ, r);                                                   \
            alu(c, OP, SZ, a, c->gpr[i->reg], true);                                   \
        }                                                                              \
    }                                                                                  \
    static HANDLER(NAME##_m_i_##AM)                                                    \
    {                                                                                  \
        uint64_t la = mem_la(c, i, AM, SZ, OP != ALU_CMP);                               \
        uint64_t a = OP != ALU_CMP ? lin_read_rmw(c, la, SZ) : lin_read(c, la, SZ);      \
        uint64_t r = alu(c, OP, SZ, a, i->imm, OP == ALU_CMP);                           \
        if (OP != ALU_CMP) {                                                             \
            lin_write(c, la, SZ, r);                                                   \
            alu(c, OP, SZ, a, i->imm, true);                                           \
        }                                                                              \
    }

#define ALU_SIZE(NAME, OP, SZ)                                                         \
    ALU_SET(NAME, OP, SZ)                                                              \
    ALU_MEM(NAME, OP, SZ, 0) ALU_MEM(NAME, OP, SZ, 1)                                  \
    ALU_MEM(NAME, OP, SZ, 2) ALU_MEM(NAME, OP, SZ, 3)
#define ALU_SIZES(NAME, OP) ALU_SIZE(NAME##32, OP, 4) ALU_SIZE(NAME##64, OP, 8)
ALU_SIZES(add, ALU_ADD)
ALU_SIZES(or, ALU_OR)
ALU_SIZES(adc, ALU_ADC)
ALU_SIZES(sbb, ALU_SBB)
ALU_SIZES(and, ALU_AND)
ALU_SIZES(sub, ALU_SUB)
ALU_SIZES(xor, ALU_XOR)
ALU_SIZES(cmp, ALU_CMP)

/* [op][size 0: 32, 1: 64][form] */
enum { FM_RM_R, FM_R_RM, FM_R_I, FM_RM_R_NF, FM_R_RM_NF, FM_R_I_NF, FM_N };
#define ALU_ROW(NAME)                                                                  \
    { NAME##_rm_r, NAME##_r_rm, NAME##_r_i, NAME##_rm_r_nf, NAME##_r_rm_nf, NAME##_r_i_nf }
static const emu_handler alu_tab[8][2][FM_N] = {
    { ALU_ROW(add32), ALU_ROW(add64) }, { ALU_ROW(or32), ALU_ROW(or64) },
    { ALU_ROW(adc32), ALU_ROW(adc64) }, { ALU_ROW(sbb32), ALU_ROW(sbb64) },
    { ALU_ROW(and32), ALU_ROW(and64) }, { ALU_ROW(sub32), ALU_ROW(sub64) },
    { ALU_ROW(xor32), ALU_ROW(xor64) }, { ALU_ROW(cmp32), ALU_ROW(cmp64) },
};
/* [op][size][form: r_m, m_r, m_i][addressing] */
#define AM_ROW(NAME, F) { NAME##_##F##_0, NAME##_##F##_1, NAME##_##F##_2, NAME##_##F##_3 }
#define MEM_ROW(NAME) { AM_ROW(NAME, r_m), AM_ROW(NAME, m_r), AM_ROW(NAME, m_i) }
static const emu_handler alu_mem_tab[8][2][3][AM_N] = {
    { MEM_ROW(add32), MEM_ROW(add64) }, { MEM_ROW(or32), MEM_ROW(or64) },
    { MEM_ROW(adc32), MEM_ROW(adc64) }, { MEM_ROW(sbb32), MEM_ROW(sbb64) },
    { MEM_ROW(and32), MEM_ROW(and64) }, { MEM_ROW(sub32), MEM_ROW(sub64) },
    { MEM_ROW(xor32), MEM_ROW(xor64) }, { MEM_ROW(cmp32), MEM_ROW(cmp64) },
};

/* ---- TEST, INC/DEC, shifts, IMUL ------------------------------------------ */

static HANDLER(test32_rr) { cc_set(c, CC_OP_LOGIC, 4, (uint32_t)(c->gpr[i->rm] & c->gpr[i->reg]), 0, 0); }
static HANDLER(test64_rr) { cc_set(c, CC_OP_LOGIC, 8, c->gpr[i->rm] & c->gpr[i->reg], 0, 0); }

#define INCDEC(NAME, SZ, DEC)                                                \
    static HANDLER(NAME) { c->gpr[i->rm] = incdec_exec(c, SZ, c->gpr[i->rm], DEC, true); }  \
    static HANDLER(NAME##_nf) { c->gpr[i->rm] = incdec_exec(c, SZ, c->gpr[i->rm], DEC, false); }
INCDEC(inc32, 4, false)
INCDEC(inc64, 8, false)
INCDEC(dec32, 4, true)
INCDEC(dec64, 8, true)

/* Shifts and rotates of a register by an immediate (C1), by 1 (D1) and by
 * CL (D3), per group G (SH_* in alu.h).  An immediate count is checked at
 * decode time to be non-zero after masking; by CL a zero count changes no
 * flag, but a 32-bit destination is still written. */
#define SHIFT_IMM(NAME, SZ, G)                                                          \
    static HANDLER(NAME)                                                                \
    {                                                                                   \
        unsigned n = (unsigned)i->imm & (SZ == 8 ? 63 : 31);                            \
        c->gpr[i->rm] = shift_exec(c, G, SZ, c->gpr[i->rm], n, true);                   \
    }                                                                                   \
    static HANDLER(NAME##_nf)                                                           \
    {                                                                                   \
        unsigned n = (unsigned)i->imm & (SZ == 8 ? 63 : 31);                            \
        c->gpr[i->rm] = shift_result(G, SZ, c->gpr[i->rm], n);                         \
    }
#define SHIFT_ONE(NAME, SZ, G)                                                          \
    static HANDLER(NAME) { c->gpr[i->rm] = shift_exec(c, G, SZ, c->gpr[i->rm], 1, true); } \
    static HANDLER(NAME##_nf) { c->gpr[i->rm] = shift_result(G, SZ, c->gpr[i->rm], 1); }
#define SHIFT_CL(NAME, SZ, G)                                                           \
    static HANDLER(NAME)                                                                \
    {                                                                                   \
        unsigned n = (unsigned)c->gpr[R_RCX] & (SZ == 8 ? 63 : 31);                     \
        uint64_t v = c->gpr[i->rm] & emu_size_mask(SZ);                                 \
        c->gpr[i->rm] = n ? shift_exec(c, G, SZ, v, n, true) : v;                       \
    }                                                                                   \
    static HANDLER(NAME##_nf)                                                           \
    {                                                                                   \
        unsigned n = (unsigned)c->gpr[R_RCX] & (SZ == 8 ? 63 : 31);                     \
        uint64_t v = c->gpr[i->rm] & emu_size_mask(SZ);                                 \
        c->gpr[i->rm] = n ? shift_result(G, SZ, v, n) : v;                              \
    }
SHIFT_IMM(shl32, 4, SH_SHL) SHIFT_IMM(shl64, 8, SH_SHL)
SHIFT_IMM(shr32, 4, SH_SHR) SHIFT_IMM(shr64, 8, SH_SHR)
SHIFT_IMM(sar32, 4, SH_SAR) SHIFT_IMM(sar64, 8, SH_SAR)
SHIFT_IMM(rol32, 4, SH_ROL) SHIFT_IMM(rol64, 8, SH_ROL)
SHIFT_IMM(ror32, 4, SH_ROR) SHIFT_IMM(ror64, 8, SH_ROR)
SHIFT_ONE(shl1_32, 4, SH_SHL) SHIFT_ONE(shl1_64, 8, SH_SHL)
SHIFT_ONE(shr1_32, 4, SH_SHR) SHIFT_ONE(shr1_64, 8, SH_SHR)
SHIFT_ONE(sar1_32, 4, SH_SAR) SHIFT_ONE(sar1_64, 8, SH_SAR)
SHIFT_CL(shlcl32, 4, SH_SHL) SHIFT_CL(shlcl64, 8, SH_SHL)
SHIFT_CL(shrcl32, 4, SH_SHR) SHIFT_CL(shrcl64, 8, SH_SHR)
SHIFT_CL(sarcl32, 4, SH_SAR) SHIFT_CL(sarcl64, 8, SH_SAR)

/* IMUL r, r/m (0F AF) with a register or memory operand. */
static inline __attribute__((always_inline)) void imul2(struct emu_cpu *c, const struct emu_insn *i,
                                                        unsigned size, uint64_t a)
{
    uint64_t b = c->gpr[i->reg], lo;
    bool ovf;
    if (size == 8) {
        __int128 p = (__int128)(int64_t)a * (int64_t)b;
        lo = (uint64_t)p;
        ovf = p != (__int128)(int64_t)lo;
    } else {
        int64_t p = (int64_t)(int32_t)a * (int64_t)(int32_t)b;
        lo = (uint32_t)p;
        ovf = p != (int64_t)(int32_t)lo;
    }
    c->gpr[i->reg] = lo;
    cc_set(c, CC_OP_IMUL, size, lo, 0, 0);
    c->lazy.aux = ovf;
}
static HANDLER(imul32_rr) { imul2(c, i, 4, c->gpr[i->rm]); }
static HANDLER(imul64_rr) { imul2(c, i, 8, c->gpr[i->rm]); }
static HANDLER(imul32_rr_nf) { c->gpr[i->reg] = (uint32_t)(c->gpr[i->reg] * c->gpr[i->rm]); }
static HANDLER(imul64_rr_nf) { c->gpr[i->reg] = c->gpr[i->reg] * c->gpr[i->rm]; }

/* ---- moves ---------------------------------------------------------------- */

static HANDLER(mov_rr32) { c->gpr[i->rm] = (uint32_t)c->gpr[i->reg]; }   /* 89 */
static HANDLER(mov_rr64) { c->gpr[i->rm] = c->gpr[i->reg]; }
static HANDLER(movzb_r) { c->gpr[i->reg] = (uint8_t)c->gpr[i->rm]; }   /* REX or rm < 4 */
static HANDLER(movzw_r) { c->gpr[i->reg] = (uint16_t)c->gpr[i->rm]; }
static HANDLER(movsxd_r) { c->gpr[i->reg] = (uint64_t)(int64_t)(int32_t)c->gpr[i->rm]; }
static HANDLER(mov_ri32) { c->gpr[i->rm] = (uint32_t)i->imm; }   /* C7 /0 and B8+r */
static HANDLER(mov_ri64) { c->gpr[i->rm] = i->imm; }
static HANDLER(lea64) { c->gpr[i->reg] = ea_off(c, i); }
static HANDLER(lea32) { c->gpr[i->reg] = (uint32_t)ea_off(c, i); }

/* Memory moves per addressing form: loads (8B, 0F B6/B7, 63, 0F AF) and
 * stores (89, C7). */
#define MOV_MEM(AM)                                                                             \
    static HANDLER(ld32_##AM) { c->gpr[i->reg] = lin_read(c, mem_la(c, i, AM, 4, false), 4); } \
    static HANDLER(ld64_##AM) { c->gpr[i->reg] = lin_read(c, mem_la(c, i, AM, 8, false), 8); } \
    static HANDLER(st32_##AM) { lin_write(c, mem_la(c, i, AM, 4, true), 4, c->gpr[i->reg]); }  \
    static HANDLER(st64_##AM) { lin_write(c, mem_la(c, i, AM, 8, true), 8, c->gpr[i->reg]); }  \
    static HANDLER(sti32_##AM) { lin_write(c, mem_la(c, i, AM, 4, true), 4, i->imm); }          \
    static HANDLER(sti64_##AM) { lin_write(c, mem_la(c, i, AM, 8, true), 8, i->imm); }          \
    static HANDLER(movzb_##AM) { c->gpr[i->reg] = lin_read(c, mem_la(c, i, AM, 1, false), 1); } \
    static HANDLER(movzw_##AM) { c->gpr[i->reg] = lin_read(c, mem_la(c, i, AM, 2, false), 2); } \
    static HANDLER(movsxd_##AM)                                                                 \
    {                                                                                           \
        c->gpr[i->reg] = (uint64_t)(int64_t)(int32_t)lin_read(c, mem_la(c, i, AM, 4, false), 4);\
    }                                                                                           \
    static HANDLER(imul32_m_##AM) { imul2(c, i, 4, lin_read(c, mem_la(c, i, AM, 4, false), 4)); } \
    static HANDLER(imul64_m_##AM) { imul2(c, i, 8, lin_read(c, mem_la(c, i, AM, 8, false), 8)); }
MOV_MEM(0) MOV_MEM(1) MOV_MEM(2) MOV_MEM(3)

/* Byte moves with a memory operand and a low-byte register (REX, or AL..BL):
 * 88 (store), 8A (load, the rest of the register kept), C6 /0 (imm8). */
#define MOV_MEM8(AM)                                                                            \
    static HANDLER(st8_##AM) { lin_write(c, mem_la(c, i, AM, 1, true), 1, c->gpr[i->reg]); }   \
    static HANDLER(sti8_##AM) { lin_write(c, mem_la(c, i, AM, 1, true), 1, i->imm); }           \
    static HANDLER(ld8_##AM)                                                                    \
    {                                                                                           \
        uint64_t v = lin_read(c, mem_la(c, i, AM, 1, false), 1);                                \
        c->gpr[i->reg] = (c->gpr[i->reg] & ~0xffULL) | v;                                       \
    }
MOV_MEM8(0) MOV_MEM8(1) MOV_MEM8(2) MOV_MEM8(3)

/* Word stores (66 89, 66 C7 /0): the low 16 bits of the register or the
 * immediate, as the generic MOV writes them. */
#define MOV_MEM16(AM)                                                                           \
    static HANDLER(st16_##AM) { lin_write(c, mem_la(c, i, AM, 2, true), 2, c->gpr[i->reg]); }  \
    static HANDLER(sti16_##AM) { lin_write(c, mem_la(c, i, AM, 2, true), 2, i->imm); }
MOV_MEM16(0) MOV_MEM16(1) MOV_MEM16(2) MOV_MEM16(3)
#define AMS(NAME) { NAME##_0, NAME##_1, NAME##_2, NAME##_3 }
static const emu_handler ld_tab[2][AM_N] = { AMS(ld32), AMS(ld64) };
static const emu_handler st_tab[2][AM_N] = { AMS(st32), AMS(st64) };
static const emu_handler sti_tab[2][AM_N] = { AMS(sti32), AMS(sti64) };
static const emu_handler imul_m_tab[2][AM_N] = { AMS(imul32_m), AMS(imul64_m) };
static const emu_handler movzb_tab[AM_N] = AMS(movzb);
static const emu_handler movzw_tab[AM_N] = AMS(movzw);
static const emu_handler movsxd_tab[AM_N] = AMS(movsxd);
static const emu_handler st8_tab[AM_N] = AMS(st8);
static const emu_handler sti8_tab[AM_N] = AMS(sti8);
static const emu_handler ld8_tab[AM_N] = AMS(ld8);
static const emu_handler st16_tab[AM_N] = AMS(st16);
static const emu_handler sti16_tab[AM_N] = AMS(sti16);

/* PUSH/POP r64 (50+r, 58+r): the 64-bit operand size means 64-bit mode. */
static HANDLER(push64)
{
    uint64_t v = c->gpr[i->rm], sp = c->gpr[R_RSP] - 8;
    lin_write(c, stack_la(c, sp, 8, true), 8, v);
    c->gpr[R_RSP] = sp;
}
static HANDLER(pop64)
{
    uint64_t sp = c->gpr[R_RSP];
    uint64_t v = lin_read(c, stack_la(c, sp, 8, false), 8);
    c->gpr[R_RSP] = sp + 8;
    c->gpr[i->rm] = v;   /* POP RSP loads the popped value */
}

/* CALL rel32 and RET with 64-bit operand size (64-bit mode). */
static HANDLER(call64)
{
    uint64_t sp = c->gpr[R_RSP] - 8;
    uint64_t target = branch_target(c, i, c->next_rip + i->imm);
    lin_write(c, stack_la(c, sp, 8, true), 8, c->next_rip);
    c->gpr[R_RSP] = sp;
    c->next_rip = target;
}
static HANDLER(ret64)
{
    uint64_t sp = c->gpr[R_RSP];
    uint64_t target = branch_target(c, i, lin_read(c, stack_la(c, sp, 8, false), 8));
    c->gpr[R_RSP] = sp + 8;
    c->next_rip = target;
}

/* ---- conditions ------------------------------------------------------------ */

/* emu_cond with the common cases inline: after SUB/CMP and after logic ops
 * the condition follows from the recorded operands. */
static inline __attribute__((always_inline)) bool cond(struct emu_cpu *c, unsigned cc)
{
    const struct emu_lazy_flags *l = &c->lazy;
    if (likely(l->op == CC_OP_SUB)) {
        uint64_t a = l->src1, b = l->src2;
        if (l->size == 4) {
            a = (uint32_t)a;
            b = (uint32_t)b;
        } else if (l->size != 8) {
            return emu_cond(c, cc);
        }
        unsigned sh = 64 - l->size * 8;
        int64_t sa = (int64_t)(a << sh), sb = (int64_t)(b << sh);
        bool r;
        switch (cc >> 1) {
        case 1: r = a < b; break;
        case 2: r = a == b; break;
        case 3: r = a <= b; break;
        case 6: r = sa < sb; break;
        case 7: r = sa <= sb; break;
        default: return emu_cond(c, cc);
        }
        return r ^ (cc & 1);
    }
    if ((cc >> 1) == 2 && l->op != CC_OP_EFLAGS)   /* ZF from the result */
        return ((lazy_res(l) & emu_size_mask(l->size)) == 0) ^ (cc & 1);
    return emu_cond(c, cc);
}

#define CC_HANDLERS(CC)                                                              \
    static HANDLER(jcc_##CC)                                                         \
    {                                                                                \
        if (cond(c, CC))                                                             \
            jump_to(c, i, c->next_rip + i->imm);                                     \
    }                                                                                \
    static HANDLER(cmov32_##CC)                                                      \
    {                                                                                \
        uint64_t v = c->gpr[i->rm];                                                  \
        c->gpr[i->reg] = (uint32_t)(cond(c, CC) ? v : c->gpr[i->reg]);               \
    }                                                                                \
    static HANDLER(cmov64_##CC)                                                      \
    {                                                                                \
        if (cond(c, CC))                                                             \
            c->gpr[i->reg] = c->gpr[i->rm];                                          \
    }                                                                                \
    static HANDLER(setcc_##CC)                                                       \
    {                                                                                \
        c->gpr[i->rm] = (c->gpr[i->rm] & ~0xffULL) | cond(c, CC);                    \
    }
CC_HANDLERS(0) CC_HANDLERS(1) CC_HANDLERS(2) CC_HANDLERS(3)
CC_HANDLERS(4) CC_HANDLERS(5) CC_HANDLERS(6) CC_HANDLERS(7)
CC_HANDLERS(8) CC_HANDLERS(9) CC_HANDLERS(10) CC_HANDLERS(11)
CC_HANDLERS(12) CC_HANDLERS(13) CC_HANDLERS(14) CC_HANDLERS(15)

#define CC_ROW(KIND) { KIND##_0, KIND##_1, KIND##_2, KIND##_3, KIND##_4, KIND##_5, KIND##_6, \
                       KIND##_7, KIND##_8, KIND##_9, KIND##_10, KIND##_11, KIND##_12,        \
                       KIND##_13, KIND##_14, KIND##_15 }
static const emu_handler jcc_tab[16] = CC_ROW(jcc);
static const emu_handler cmov32_tab[16] = CC_ROW(cmov32);
static const emu_handler cmov64_tab[16] = CC_ROW(cmov64);
static const emu_handler setcc_tab[16] = CC_ROW(setcc);

/* ---- compare and branch ------------------------------------------------------
 * An ALU operation (ADD OR AND SUB XOR CMP), TEST, INC or DEC of registers
 * (or a register and an immediate) followed by a Jcc in 64-bit mode run as
 * one entry of a block (cache.c fuses them): the
 * entry's length covers both, imm2 holds the branch displacement.  The
 * second instruction is counted here.  Neither part can fault. */
#define FUSED(FIRST, CC)                                                            \
    static HANDLER(FIRST##_j##CC)                                                   \
    {                                                                               \
        FIRST(c, i);                                                                \
        c->insn_count++;                                                            \
        if (cond(c, CC))                                                            \
            c->next_rip += i->imm2;                                                 \
    }
#define FUSED_ALL(FIRST)                                                            \
    FUSED(FIRST, 0) FUSED(FIRST, 1) FUSED(FIRST, 2) FUSED(FIRST, 3)                 \
    FUSED(FIRST, 4) FUSED(FIRST, 5) FUSED(FIRST, 6) FUSED(FIRST, 7)                 \
    FUSED(FIRST, 8) FUSED(FIRST, 9) FUSED(FIRST, 10) FUSED(FIRST, 11)               \
    FUSED(FIRST, 12) FUSED(FIRST, 13) FUSED(FIRST, 14) FUSED(FIRST, 15)
FUSED_ALL(add32_rm_r) FUSED_ALL(add32_r_rm) FUSED_ALL(add32_r_i) FUSED_ALL(add64_rm_r)
FUSED_ALL(add64_r_rm) FUSED_ALL(add64_r_i) FUSED_ALL(or32_rm_r) FUSED_ALL(or32_r_rm)
FUSED_ALL(or32_r_i) FUSED_ALL(or64_rm_r) FUSED_ALL(or64_r_rm) FUSED_ALL(or64_r_i)
FUSED_ALL(and32_rm_r) FUSED_ALL(and32_r_rm) FUSED_ALL(and32_r_i) FUSED_ALL(and64_rm_r)
FUSED_ALL(and64_r_rm) FUSED_ALL(and64_r_i) FUSED_ALL(sub32_rm_r) FUSED_ALL(sub32_r_rm)
FUSED_ALL(sub32_r_i) FUSED_ALL(sub64_rm_r) FUSED_ALL(sub64_r_rm) FUSED_ALL(sub64_r_i)
FUSED_ALL(xor32_rm_r) FUSED_ALL(xor32_r_rm) FUSED_ALL(xor32_r_i) FUSED_ALL(xor64_rm_r)
FUSED_ALL(xor64_r_rm) FUSED_ALL(xor64_r_i) FUSED_ALL(cmp32_rm_r) FUSED_ALL(cmp32_r_rm)
FUSED_ALL(cmp32_r_i) FUSED_ALL(cmp64_rm_r) FUSED_ALL(cmp64_r_rm) FUSED_ALL(cmp64_r_i)
FUSED_ALL(test32_rr) FUSED_ALL(test64_rr) FUSED_ALL(inc32) FUSED_ALL(inc64)
FUSED_ALL(dec32) FUSED_ALL(dec64)

#define FUSED_ROW(FIRST)                                                            \
    { FIRST##_j0, FIRST##_j1, FIRST##_j2, FIRST##_j3, FIRST##_j4, FIRST##_j5,       \
      FIRST##_j6, FIRST##_j7, FIRST##_j8, FIRST##_j9, FIRST##_j10, FIRST##_j11,     \
      FIRST##_j12, FIRST##_j13, FIRST##_j14, FIRST##_j15 }
#define FUSED_ALU(NAME)                                                             \
    FUSED_ROW(NAME##32_rm_r), FUSED_ROW(NAME##32_r_rm), FUSED_ROW(NAME##32_r_i),    \
    FUSED_ROW(NAME##64_rm_r), FUSED_ROW(NAME##64_r_rm), FUSED_ROW(NAME##64_r_i)
/* Rows by fuse_row(): the ALU operations without carry-in, each 32- then
 * 64-bit in the forms rm_r, r_rm, r_i; then TEST, INC, DEC, 32 then 64. */
enum { FUSE_TEST = 36, FUSE_INC = 38, FUSE_DEC = 40, FUSE_ROWS = 42 };
static const emu_handler fuse_tab[FUSE_ROWS][16] = {
    FUSED_ALU(add), FUSED_ALU(or), FUSED_ALU(and), FUSED_ALU(sub), FUSED_ALU(xor), FUSED_ALU(cmp),
    FUSED_ROW(test32_rr), FUSED_ROW(test64_rr), FUSED_ROW(inc32), FUSED_ROW(inc64),
    FUSED_ROW(dec32), FUSED_ROW(dec64),
};

/* ---- selection ------------------------------------------------------------- */

/* Forms of the fast paths: 32/64-bit operands, no LOCK, a valid decode. */
static bool fast_ok(const struct emu_insn *i)
{
    return i->kind != EK_INVALID && !(i->prefix & PFX_LOCK) &&
           (i->opsize == 8 || i->opsize == 4);
}

/* The register form of an EK_ALU instruction (FM_RM_R, FM_R_RM, FM_R_I),
 * -1 for a memory form; *mem gets the row of alu_mem_tab for those. */
static int alu_form(const struct emu_insn *i, int *mem)
{
    bool reg = i->mod == 3;
    if (i->op >= 0x80) {   /* 81 83: ALU r/m, imm (80 and 82 are byte forms) */
        *mem = 2;
        return reg ? FM_R_I : -1;
    }
    switch (i->op & 7) {
    case 1: *mem = 1; return reg ? FM_RM_R : -1;
    case 3: *mem = 0; return reg ? FM_R_RM : -1;
    case 5: *mem = -1; return FM_R_I;
    default: *mem = -1; return -2;   /* byte forms */
    }
}

/* The row of fuse_tab for a flag-setting register form, or -1. */
static int fuse_row(const struct emu_insn *i)
{
    static const int8_t alu_row[8] = { 0, 1, -1, -1, 2, 3, 4, 5 };   /* no ADC, SBB */
    if (!fast_ok(i))
        return -1;
    bool wide = i->opsize == 8;
    int mem;
    switch (i->kind) {
    case EK_ALU: {
        int f = alu_form(i, &mem), r = alu_row[emu_alu_op(i)];
        if (f < 0 || r < 0 || (i->op >= 0x80 && i->op != 0x81 && i->op != 0x83))
            return -1;
        return r * 6 + wide * 3 + f;
    }
    case EK_TEST:
        return i->op == 0x85 && i->mod == 3 ? FUSE_TEST + wide : -1;
    case EK_INC: case EK_DEC:
        if (i->op != 0xff || i->mod != 3)
            return -1;
        return (i->kind == EK_INC ? FUSE_INC : FUSE_DEC) + wide;
    default:
        return -1;
    }
}

emu_handler emu_fuse(const struct emu_insn *a, const struct emu_insn *j)
{
    if (j->kind != EK_JCC || j->opsize != 8)
        return NULL;
    int r = fuse_row(a);
    return r < 0 ? NULL : fuse_tab[r][emu_cc(j)];
}

/* The specialized handler of i, or its flag-free variant (nf), or NULL. */
static emu_handler fast_select(const struct emu_insn *i, bool nf)
{
    bool reg = i->mod == 3, wide = i->opsize == 8;
    bool sz = fast_ok(i);
    int am = addressing(i);
    uint8_t op = i->op;
    if (i->kind == EK_INVALID || (i->prefix & PFX_LOCK))
        return NULL;
    switch (i->kind) {
    case EK_ALU: {
        int mem, f = alu_form(i, &mem);
        if (!sz || f == -2 || (op >= 0x80 && op != 0x81 && op != 0x83))
            return NULL;
        if (f >= 0)
            return alu_tab[emu_alu_op(i)][wide][nf ? f + FM_RM_R_NF : f];
        return nf ? NULL : alu_mem_tab[emu_alu_op(i)][wide][mem][am];
    }
    case EK_TEST:
        if (op == 0x85 && reg && sz && !nf)
            return wide ? test64_rr : test32_rr;
        return NULL;
    case EK_INC: case EK_DEC:
        if (op != 0xff || !reg || !sz)
            return NULL;
        if (i->kind == EK_DEC)
            return nf ? (wide ? dec64_nf : dec32_nf) : (wide ? dec64 : dec32);
        return nf ? (wide ? inc64_nf : inc32_nf) : (wide ? inc64 : inc32);
    case EK_SHIFT: {
        if (!reg || !sz)
            return NULL;
        static const emu_handler imm[8][2][2] = {
            [SH_ROL] = { { rol32, rol32_nf }, { rol64, rol64_nf } },
            [SH_ROR] = { { ror32, ror32_nf }, { ror64, ror64_nf } },
            [SH_SHL] = { { shl32, shl32_nf }, { shl64, shl64_nf } },
            [SH_SAL] = { { shl32, shl32_nf }, { shl64, shl64_nf } },
            [SH_SHR] = { { shr32, shr32_nf }, { shr64, shr64_nf } },
            [SH_SAR] = { { sar32, sar32_nf }, { sar64, sar64_nf } },
        };
        static const emu_handler one[8][2][2] = {
            [SH_SHL] = { { shl1_32, shl1_32_nf }, { shl1_64, shl1_64_nf } },
            [SH_SAL] = { { shl1_32, shl1_32_nf }, { shl1_64, shl1_64_nf } },
            [SH_SHR] = { { shr1_32, shr1_32_nf }, { shr1_64, shr1_64_nf } },
            [SH_SAR] = { { sar1_32, sar1_32_nf }, { sar1_64, sar1_64_nf } },
        };
        static const emu_handler cl[8][2][2] = {
            [SH_SHL] = { { shlcl32, shlcl32_nf }, { shlcl64, shlcl64_nf } },
            [SH_SAL] = { { shlcl32, shlcl32_nf }, { shlcl64, shlcl64_nf } },
            [SH_SHR] = { { shrcl32, shrcl32_nf }, { shrcl64, shrcl64_nf } },
            [SH_SAR] = { { sarcl32, sarcl32_nf }, { sarcl64, sarcl64_nf } },
        };
        int g = GRP(i);
        if (op == 0xc1 && ((unsigned)i->imm & (wide ? 63 : 31)))
            return imm[g][wide][nf];
        if (op == 0xd1)
            return one[g][wide][nf];
        if (op == 0xd3)
            return cl[g][wide][nf];
        return NULL;
    }
    case EK_IMUL:
        if (i->map != MAP_0F || !sz)
            return NULL;
        if (reg)
            return nf ? (wide ? imul64_rr_nf : imul32_rr_nf) : (wide ? imul64_rr : imul32_rr);
        return nf ? NULL : imul_m_tab[wide][am];
    default:
        break;
    }
    if (nf)
        return NULL;
    switch (i->kind) {
    case EK_MOV:
        if ((op == 0x89 || op == 0x8b) && sz) {
            if (reg)
                return op == 0x89 ? (wide ? mov_rr64 : mov_rr32) : NULL;
            return (op == 0x89 ? st_tab : ld_tab)[wide][am];
        }
        if (op == 0x89 && !reg && i->opsize == 2)
            return st16_tab[am];
        if (op == 0xc7 && !reg && i->opsize == 2)
            return sti16_tab[am];
        if (op == 0x88 && !reg && ((i->prefix & PFX_REX) || i->reg < 4))
            return st8_tab[am];
        if (op == 0x8a && !reg && ((i->prefix & PFX_REX) || i->reg < 4))
            return ld8_tab[am];
        if (op == 0xc6 && !reg)
            return sti8_tab[am];
        if (op == 0xc7 && sz)
            return reg ? (wide ? mov_ri64 : mov_ri32) : sti_tab[wide][am];
        return NULL;
    case EK_MOV_IMM:
        return op >= 0xb8 && sz ? (wide ? mov_ri64 : mov_ri32) : NULL;
    case EK_JCC:
        return jcc_tab[emu_cc(i)];
    case EK_CALL:
        return wide ? call64 : NULL;
    case EK_RET:
        return op == 0xc3 && wide ? ret64 : NULL;
    case EK_MOVSXD:   /* REX.W only exists in 64-bit mode */
        return wide ? (reg ? movsxd_r : movsxd_tab[am]) : NULL;
    case EK_LEA:
        return !reg && sz ? (wide ? lea64 : lea32) : NULL;
    case EK_PUSH:
        return op >= 0x50 && op <= 0x57 && wide ? push64 : NULL;
    case EK_POP:
        return op >= 0x58 && op <= 0x5f && wide ? pop64 : NULL;
    case EK_MOVZX:
        if (!sz)
            return NULL;
        if (op == 0xb7)
            return reg ? movzw_r : movzw_tab[am];
        if (!reg)
            return movzb_tab[am];
        return (i->prefix & PFX_REX) || i->rm < 4 ? movzb_r : NULL;
    case EK_CMOV:
        return reg && sz ? (wide ? cmov64_tab : cmov32_tab)[emu_cc(i)] : NULL;
    case EK_SETCC:
        return reg && ((i->prefix & PFX_REX) || i->rm < 4) ? setcc_tab[emu_cc(i)] : NULL;
    default:
        return NULL;
    }
}

emu_handler emu_fast_handler(const struct emu_insn *i)
{
    return fast_select(i, false);
}

emu_handler emu_fast_nf(const struct emu_insn *i)
{
    return fast_select(i, true);
}
