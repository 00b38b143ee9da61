/* Specialized handlers for the most frequent integer forms (32- and 64-bit
 * ALU, TEST, INC/DEC, SHL/SHR/SAR, IMUL, MOV, MOVZX, MOVSXD, LEA, Jcc,
 * CMOVcc, SETcc, PUSH/POP, CALL/RET), chosen once at decode time so that the hot path has no
 * switch on operation, operand size or operand form.  Each one computes
 * exactly what the generic handler in ops_*.c computes for that form;
 * anything unusual (LOCK, 8/16-bit operands, byte registers) keeps the
 * generic handler. */
#include "engine/emu/ops.h"

#define GRP(i) (((i)->modrm >> 3) & 7)

enum { F_ADD, F_OR, F_ADC, F_SBB, F_AND, F_SUB, F_XOR, F_CMP };

/* ---- ALU ----------------------------------------------------------------- */

static inline __attribute__((always_inline)) uint64_t
alu(struct emu_cpu *c, int op, unsigned size, uint64_t a, uint64_t b, bool flags)
{
    if (size == 4) {
        a = (uint32_t)a;
        b = (uint32_t)b;
    }
    uint64_t r, cin = 0;
    int cc;
    switch (op) {
    case F_ADD: r = a + b; cc = CC_OP_ADD; break;
    case F_OR:  r = a | b; cc = CC_OP_LOGIC; break;
    case F_ADC: cin = emu_get_cf(c); r = a + b + cin; cc = CC_OP_ADC; break;
    case F_SBB: cin = emu_get_cf(c); r = a - b - cin; cc = CC_OP_SBB; break;
    case F_AND: r = a & b; cc = CC_OP_LOGIC; break;
    case F_XOR: r = a ^ b; cc = CC_OP_LOGIC; break;
    default:    r = a - b; cc = CC_OP_SUB; break;
    }
    if (size == 4)
        r = (uint32_t)r;
    if (flags) {
        cc_set(c, cc, size, r, a, b);
        c->lazy.aux = cin;
    }
    return r;
}

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
    if (unlikely((uint64_t)((int64_t)(a << 16) >> 16) != a))
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
        if (OP != F_CMP) c->gpr[i->rm] = r;                                            \
    }                                                                                  \
    static HANDLER(NAME##_r_rm)                                                        \
    {                                                                                  \
        uint64_t r = alu(c, OP, SZ, c->gpr[i->reg], c->gpr[i->rm], true);              \
        if (OP != F_CMP) c->gpr[i->reg] = r;                                           \
    }                                                                                  \
    static HANDLER(NAME##_r_i)                                                         \
    {                                                                                  \
        unsigned d = i->map == MAP_1 && i->op < 0x40 ? R_RAX : i->rm;                  \
        uint64_t r = alu(c, OP, SZ, c->gpr[d], i->imm, true);                          \
        if (OP != F_CMP) c->gpr[d] = r;                                                \
    }                                                                                  \
    static HANDLER(NAME##_rm_r_nf)                                                     \
    {                                                                                  \
        uint64_t r = alu(c, OP, SZ, c->gpr[i->rm], c->gpr[i->reg], false);             \
        if (OP != F_CMP) c->gpr[i->rm] = r;                                            \
    }                                                                                  \
    static HANDLER(NAME##_r_rm_nf)                                                     \
    {                                                                                  \
        uint64_t r = alu(c, OP, SZ, c->gpr[i->reg], c->gpr[i->rm], false);             \
        if (OP != F_CMP) c->gpr[i->reg] = r;                                           \
    }                                                                                  \
    static HANDLER(NAME##_r_i_nf)                                                      \
    {                                                                                  \
        unsigned d = i->map == MAP_1 && i->op < 0x40 ? R_RAX : i->rm;                  \
        uint64_t r = alu(c, OP, SZ, c->gpr[d], i->imm, false);                         \
        if (OP != F_CMP) c->gpr[d] = r;                                                \
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
        if (OP != F_CMP) c->gpr[i->reg] = r;                                           \
    }                                                                                  \
    static HANDLER(NAME##_m_r_##AM)                                                    \
    {                                                                                  \
        uint64_t la = mem_la(c, i, AM, SZ, OP != F_CMP);                               \
        uint64_t a = OP != F_CMP ? lin_read_rmw(c, la, SZ) : lin_read(c, la, SZ);      \
        uint64_t r = alu(c, OP, SZ, a, c->gpr[i->reg], OP == F_CMP);                   \
        if (OP != F_CMP) {                                                             \
            lin_write(c, la, SZ, r);                                                   \
            alu(c, OP, SZ, a, c->gpr[i->reg], true);                                   \
        }                                                                              \
    }                                                                                  \
    static HANDLER(NAME##_m_i_##AM)                                                    \
    {                                                                                  \
        uint64_t la = mem_la(c, i, AM, SZ, OP != F_CMP);                               \
        uint64_t a = OP != F_CMP ? lin_read_rmw(c, la, SZ) : lin_read(c, la, SZ);      \
        uint64_t r = alu(c, OP, SZ, a, i->imm, OP == F_CMP);                           \
        if (OP != F_CMP) {                                                             \
            lin_write(c, la, SZ, r);                                                   \
            alu(c, OP, SZ, a, i->imm, true);                                           \
        }                                                                              \
    }

#define ALU_SIZE(NAME, OP, SZ)                                                         \
    ALU_SET(NAME, OP, SZ)                                                              \
    ALU_MEM(NAME, OP, SZ, 0) ALU_MEM(NAME, OP, SZ, 1)                                  \
    ALU_MEM(NAME, OP, SZ, 2) ALU_MEM(NAME, OP, SZ, 3)
#define ALU_SIZES(NAME, OP) ALU_SIZE(NAME##32, OP, 4) ALU_SIZE(NAME##64, OP, 8)
ALU_SIZES(add, F_ADD)
ALU_SIZES(or, F_OR)
ALU_SIZES(adc, F_ADC)
ALU_SIZES(sbb, F_SBB)
ALU_SIZES(and, F_AND)
ALU_SIZES(sub, F_SUB)
ALU_SIZES(xor, F_XOR)
ALU_SIZES(cmp, F_CMP)

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

#define INCDEC(NAME, SZ, DELTA, CCOP)                                        \
    static HANDLER(NAME)                                                     \
    {                                                                        \
        bool cf = emu_get_cf(c);                                             \
        uint64_t a = c->gpr[i->rm] & emu_size_mask(SZ);                      \
        uint64_t r = (a + (DELTA)) & emu_size_mask(SZ);                      \
        c->gpr[i->rm] = r;                                                   \
        cc_set(c, CCOP, SZ, r, a, 1);                                        \
        c->lazy.aux = cf;                                                    \
    }                                                                        \
    static HANDLER(NAME##_nf)                                                \
    {                                                                        \
        c->gpr[i->rm] = (c->gpr[i->rm] + (DELTA)) & emu_size_mask(SZ);      \
    }
INCDEC(inc32, 4, 1, CC_OP_INC)
INCDEC(inc64, 8, 1, CC_OP_INC)
INCDEC(dec32, 4, ~0ULL, CC_OP_DEC)
INCDEC(dec64, 8, ~0ULL, CC_OP_DEC)

/* SHL/SHR/SAR r, imm8 (C1 /4 /5 /7) with a non-zero count. */
#define SHIFT(NAME, SZ, EXPR, CCOP)                                          \
    static HANDLER(NAME)                                                     \
    {                                                                        \
        unsigned n = (unsigned)i->imm & (SZ == 8 ? 63 : 31);                 \
        uint64_t v = c->gpr[i->rm] & emu_size_mask(SZ);                      \
        uint64_t r = (EXPR) & emu_size_mask(SZ);                             \
        c->gpr[i->rm] = r;                                                   \
        cc_set(c, CCOP, SZ, r, v, n);                                        \
    }                                                                        \
    static HANDLER(NAME##_nf)                                                \
    {                                                                        \
        unsigned n = (unsigned)i->imm & (SZ == 8 ? 63 : 31);                 \
        uint64_t v = c->gpr[i->rm] & emu_size_mask(SZ);                      \
        c->gpr[i->rm] = (EXPR) & emu_size_mask(SZ);                          \
    }
SHIFT(shl32, 4, v << n, CC_OP_SHL)
SHIFT(shl64, 8, v << n, CC_OP_SHL)
SHIFT(shr32, 4, v >> n, CC_OP_SHR)
SHIFT(shr64, 8, v >> n, CC_OP_SHR)
SHIFT(sar32, 4, (uint64_t)((int64_t)(int32_t)v >> n), CC_OP_SAR)
SHIFT(sar64, 8, (uint64_t)((int64_t)v >> n), CC_OP_SAR)

/* SHL/SHR/SAR r, 1 (D1 /4 /5 /7). */
#define SHIFT1(NAME, SZ, EXPR, CCOP)                                         \
    static HANDLER(NAME)                                                     \
    {                                                                        \
        const unsigned n = 1;                                                \
        uint64_t v = c->gpr[i->rm] & emu_size_mask(SZ);                      \
        uint64_t r = (EXPR) & emu_size_mask(SZ);                             \
        c->gpr[i->rm] = r;                                                   \
        cc_set(c, CCOP, SZ, r, v, n);                                        \
    }                                                                        \
    static HANDLER(NAME##_nf)                                                \
    {                                                                        \
        const unsigned n = 1;                                                \
        uint64_t v = c->gpr[i->rm] & emu_size_mask(SZ);                      \
        c->gpr[i->rm] = (EXPR) & emu_size_mask(SZ);                          \
    }
SHIFT1(shl1_32, 4, v << n, CC_OP_SHL)
SHIFT1(shl1_64, 8, v << n, CC_OP_SHL)
SHIFT1(shr1_32, 4, v >> n, CC_OP_SHR)
SHIFT1(shr1_64, 8, v >> n, CC_OP_SHR)
SHIFT1(sar1_32, 4, (uint64_t)((int64_t)(int32_t)v >> n), CC_OP_SAR)
SHIFT1(sar1_64, 8, (uint64_t)((int64_t)v >> n), CC_OP_SAR)

/* ROL/ROR r, imm8 (C1 /0 /1) with a count that is not zero after masking:
 * CF and OF change, the other flags stay. */
#define ROT(NAME, SZ, LEFT)                                                             \
    static inline uint64_t NAME##_calc(uint64_t v, unsigned n)                          \
    {                                                                                   \
        const unsigned bits = SZ * 8;                                                   \
        v &= emu_size_mask(SZ);                                                         \
        return (LEFT ? (v << n) | (v >> (bits - n)) : (v >> n) | (v << (bits - n))) &   \
               emu_size_mask(SZ);                                                       \
    }                                                                                   \
    static HANDLER(NAME)                                                                \
    {                                                                                   \
        const unsigned bits = SZ * 8;                                                   \
        uint64_t r = NAME##_calc(c->gpr[i->rm], (unsigned)i->imm & (bits - 1));         \
        bool msb = (r >> (bits - 1)) & 1, cf, of;                                       \
        if (LEFT) {                                                                     \
            cf = r & 1;                                                                 \
            of = msb != cf;                                                             \
        } else {                                                                        \
            cf = msb;                                                                   \
            of = msb != ((r >> (bits - 2)) & 1);                                        \
        }                                                                               \
        c->gpr[i->rm] = r;                                                              \
        flags_update(c, RFLAGS_CF | RFLAGS_OF, (cf ? RFLAGS_CF : 0) | (of ? RFLAGS_OF : 0)); \
    }                                                                                   \
    static HANDLER(NAME##_nf)                                                           \
    {                                                                                   \
        c->gpr[i->rm] = NAME##_calc(c->gpr[i->rm], (unsigned)i->imm & (SZ * 8 - 1));    \
    }
ROT(rol32, 4, 1)
ROT(rol64, 8, 1)
ROT(ror32, 4, 0)
ROT(ror64, 8, 0)

/* SHL/SHR/SAR r, CL (D3 /4 /5 /7): a zero count changes no flag. */
#define SHIFT_CL(NAME, SZ, EXPR, CCOP)                                       \
    static HANDLER(NAME)                                                     \
    {                                                                        \
        unsigned n = (unsigned)c->gpr[R_RCX] & (SZ == 8 ? 63 : 31);          \
        uint64_t v = c->gpr[i->rm] & emu_size_mask(SZ);                      \
        if (!n) {                                                            \
            c->gpr[i->rm] = v;   /* a 32-bit destination is still written */ \
            return;                                                          \
        }                                                                    \
        uint64_t r = (EXPR) & emu_size_mask(SZ);                             \
        c->gpr[i->rm] = r;                                                   \
        cc_set(c, CCOP, SZ, r, v, n);                                        \
    }                                                                        \
    static HANDLER(NAME##_nf)                                                \
    {                                                                        \
        unsigned n = (unsigned)c->gpr[R_RCX] & (SZ == 8 ? 63 : 31);          \
        uint64_t v = c->gpr[i->rm] & emu_size_mask(SZ);                      \
        c->gpr[i->rm] = (EXPR) & emu_size_mask(SZ);                          \
    }
SHIFT_CL(shlcl32, 4, v << n, CC_OP_SHL)
SHIFT_CL(shlcl64, 8, v << n, CC_OP_SHL)
SHIFT_CL(shrcl32, 4, v >> n, CC_OP_SHR)
SHIFT_CL(shrcl64, 8, v >> n, CC_OP_SHR)
SHIFT_CL(sarcl32, 4, (uint64_t)((int64_t)(int32_t)v >> n), CC_OP_SAR)
SHIFT_CL(sarcl64, 8, (uint64_t)((int64_t)v >> n), CC_OP_SAR)

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
    lin_write(c, stack_la(c, sp, 8, true), 8, c->next_rip);
    c->gpr[R_RSP] = sp;
    c->next_rip += i->imm;
}
static HANDLER(ret64)
{
    (void)i;
    uint64_t sp = c->gpr[R_RSP];
    uint64_t target = lin_read(c, stack_la(c, sp, 8, false), 8);
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
        return ((l->res & emu_size_mask(l->size)) == 0) ^ (cc & 1);
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
static const struct {
    emu_handler first;
    emu_handler fused[16];
} fuse_tab[] = {
    { add32_rm_r, FUSED_ROW(add32_rm_r) },
    { add32_r_rm, FUSED_ROW(add32_r_rm) },
    { add32_r_i, FUSED_ROW(add32_r_i) },
    { add64_rm_r, FUSED_ROW(add64_rm_r) },
    { add64_r_rm, FUSED_ROW(add64_r_rm) },
    { add64_r_i, FUSED_ROW(add64_r_i) },
    { or32_rm_r, FUSED_ROW(or32_rm_r) },
    { or32_r_rm, FUSED_ROW(or32_r_rm) },
    { or32_r_i, FUSED_ROW(or32_r_i) },
    { or64_rm_r, FUSED_ROW(or64_rm_r) },
    { or64_r_rm, FUSED_ROW(or64_r_rm) },
    { or64_r_i, FUSED_ROW(or64_r_i) },
    { and32_rm_r, FUSED_ROW(and32_rm_r) },
    { and32_r_rm, FUSED_ROW(and32_r_rm) },
    { and32_r_i, FUSED_ROW(and32_r_i) },
    { and64_rm_r, FUSED_ROW(and64_rm_r) },
    { and64_r_rm, FUSED_ROW(and64_r_rm) },
    { and64_r_i, FUSED_ROW(and64_r_i) },
    { sub32_rm_r, FUSED_ROW(sub32_rm_r) },
    { sub32_r_rm, FUSED_ROW(sub32_r_rm) },
    { sub32_r_i, FUSED_ROW(sub32_r_i) },
    { sub64_rm_r, FUSED_ROW(sub64_rm_r) },
    { sub64_r_rm, FUSED_ROW(sub64_r_rm) },
    { sub64_r_i, FUSED_ROW(sub64_r_i) },
    { xor32_rm_r, FUSED_ROW(xor32_rm_r) },
    { xor32_r_rm, FUSED_ROW(xor32_r_rm) },
    { xor32_r_i, FUSED_ROW(xor32_r_i) },
    { xor64_rm_r, FUSED_ROW(xor64_rm_r) },
    { xor64_r_rm, FUSED_ROW(xor64_r_rm) },
    { xor64_r_i, FUSED_ROW(xor64_r_i) },
    { cmp32_rm_r, FUSED_ROW(cmp32_rm_r) },
    { cmp32_r_rm, FUSED_ROW(cmp32_r_rm) },
    { cmp32_r_i, FUSED_ROW(cmp32_r_i) },
    { cmp64_rm_r, FUSED_ROW(cmp64_rm_r) },
    { cmp64_r_rm, FUSED_ROW(cmp64_r_rm) },
    { cmp64_r_i, FUSED_ROW(cmp64_r_i) },
    { test32_rr, FUSED_ROW(test32_rr) },
    { test64_rr, FUSED_ROW(test64_rr) },
    { inc32, FUSED_ROW(inc32) },
    { inc64, FUSED_ROW(inc64) },
    { dec32, FUSED_ROW(dec32) },
    { dec64, FUSED_ROW(dec64) },
};

emu_handler emu_fuse(const struct emu_insn *a, const struct emu_insn *j)
{
    unsigned cc = j->op & 15;
    bool jcc = (j->map == MAP_1 && j->op >= 0x70 && j->op <= 0x7f) ||
               (j->map == MAP_0F && j->op >= 0x80 && j->op <= 0x8f);
    if (!jcc || j->fn != jcc_tab[cc] || j->opsize != 8)
        return NULL;
    for (unsigned k = 0; k < sizeof(fuse_tab) / sizeof(fuse_tab[0]); k++)
        if (a->fn == fuse_tab[k].first)
            return fuse_tab[k].fused[cc];
    return NULL;
}

/* ---- selection ------------------------------------------------------------- */

/* Is i still the generic handler of its opcode (not #UD or special)? */
static bool generic(const struct emu_insn *i)
{
    return i->fn == emu_ops[i->map][i->op];
}

emu_handler emu_fast_handler(const struct emu_insn *i)
{
    if (!generic(i) || (i->prefix & PFX_LOCK))
        return NULL;
    bool reg = i->mod == 3, wide = i->opsize == 8;
    bool sz = i->opsize == 8 || i->opsize == 4;
    int am = addressing(i);
    uint8_t op = i->op;
    if (i->map == MAP_1) {
        if (op < 0x40 && (op & 7) < 6 && sz) {
            int a = (op >> 3) & 7;
            switch (op & 7) {
            case 1: return reg ? alu_tab[a][wide][FM_RM_R] : alu_mem_tab[a][wide][1][am];
            case 3: return reg ? alu_tab[a][wide][FM_R_RM] : alu_mem_tab[a][wide][0][am];
            case 5: return alu_tab[a][wide][FM_R_I];
            default: return NULL;
            }
        }
        if ((op == 0x81 || op == 0x83) && sz)
            return reg ? alu_tab[GRP(i)][wide][FM_R_I] : alu_mem_tab[GRP(i)][wide][2][am];
        if ((op == 0x89 || op == 0x8b) && sz) {
            if (reg)
                return op == 0x89 ? (wide ? mov_rr64 : mov_rr32) : NULL;
            return (op == 0x89 ? st_tab : ld_tab)[wide][am];
        }
        if (op == 0x89 && !reg && i->opsize == 2)
            return st16_tab[am];
        if (op == 0xc7 && !reg && GRP(i) == 0 && i->opsize == 2)
            return sti16_tab[am];
        if (op == 0x85 && reg && sz)
            return wide ? test64_rr : test32_rr;
        if (op == 0xff && reg && sz && GRP(i) <= 1)
            return GRP(i) ? (wide ? dec64 : dec32) : (wide ? inc64 : inc32);
        if (op == 0xd1 && reg && sz) {
            switch (GRP(i)) {
            case 4: case 6: return wide ? shl1_64 : shl1_32;
            case 5: return wide ? shr1_64 : shr1_32;
            case 7: return wide ? sar1_64 : sar1_32;
            default: return NULL;
            }
        }
        if (op == 0x88 && !reg && ((i->prefix & PFX_REX) || i->reg < 4))
            return st8_tab[am];
        if (op == 0x8a && !reg && ((i->prefix & PFX_REX) || i->reg < 4))
            return ld8_tab[am];
        if (op == 0xc6 && !reg && GRP(i) == 0)
            return sti8_tab[am];
        if (op == 0xc1 && reg && sz && ((unsigned)i->imm & (wide ? 63 : 31))) {
            switch (GRP(i)) {
            case 0: return wide ? rol64 : rol32;
            case 1: return wide ? ror64 : ror32;
            case 4: case 6: return wide ? shl64 : shl32;
            case 5: return wide ? shr64 : shr32;
            case 7: return wide ? sar64 : sar32;
            default: return NULL;
            }
        }
        if (op == 0xd3 && reg && sz) {
            switch (GRP(i)) {
            case 4: case 6: return wide ? shlcl64 : shlcl32;
            case 5: return wide ? shrcl64 : shrcl32;
            case 7: return wide ? sarcl64 : sarcl32;
            default: return NULL;
            }
        }
        if (op >= 0x70 && op <= 0x7f)
            return jcc_tab[op & 15];
        if (op == 0xe8 && wide)
            return call64;
        if (op == 0xc3 && wide)
            return ret64;
        if (op == 0x63 && wide)   /* MOVSXD: REX.W only exists in 64-bit mode */
            return reg ? movsxd_r : movsxd_tab[am];
        if (op == 0xc7 && GRP(i) == 0 && sz)
            return reg ? (wide ? mov_ri64 : mov_ri32) : sti_tab[wide][am];
        if (op >= 0xb8 && op <= 0xbf && sz)
            return wide ? mov_ri64 : mov_ri32;
        if (op == 0x8d && !reg && sz)
            return wide ? lea64 : lea32;
        if (op >= 0x50 && op <= 0x57 && wide)
            return push64;
        if (op >= 0x58 && op <= 0x5f && wide)
            return pop64;
        return NULL;
    }
    if (i->map == MAP_0F) {
        if (op >= 0x80 && op <= 0x8f)
            return jcc_tab[op & 15];
        if (op == 0xaf && sz)
            return reg ? (wide ? imul64_rr : imul32_rr) : imul_m_tab[wide][am];
        if ((op == 0xb6 || op == 0xb7) && sz) {
            if (op == 0xb7)
                return reg ? movzw_r : movzw_tab[am];
            if (!reg)
                return movzb_tab[am];
            return (i->prefix & PFX_REX) || i->rm < 4 ? movzb_r : NULL;
        }
        if (op >= 0x40 && op <= 0x4f && reg && sz)
            return (wide ? cmov64_tab : cmov32_tab)[op & 15];
        if (op >= 0x90 && op <= 0x9f && reg && ((i->prefix & PFX_REX) || i->rm < 4))
            return setcc_tab[op & 15];
    }
    return NULL;
}

/* The flag-free form of a specialized register handler, or NULL. */
emu_handler emu_fast_nf(const struct emu_insn *i)
{
    for (int a = 0; a < 8; a++)
        for (int w = 0; w < 2; w++) {
            const emu_handler *t = alu_tab[a][w];
            if (i->fn == t[FM_RM_R]) return t[FM_RM_R_NF];
            if (i->fn == t[FM_R_RM]) return t[FM_R_RM_NF];
            if (i->fn == t[FM_R_I]) return t[FM_R_I_NF];
        }
    if (i->fn == imul32_rr) return imul32_rr_nf;
    if (i->fn == imul64_rr) return imul64_rr_nf;
    if (i->fn == inc32) return inc32_nf;
    if (i->fn == inc64) return inc64_nf;
    if (i->fn == dec32) return dec32_nf;
    if (i->fn == dec64) return dec64_nf;
    if (i->fn == shl32) return shl32_nf;
    if (i->fn == shl64) return shl64_nf;
    if (i->fn == shr32) return shr32_nf;
    if (i->fn == shr64) return shr64_nf;
    if (i->fn == sar32) return sar32_nf;
    if (i->fn == sar64) return sar64_nf;
    if (i->fn == shl1_32) return shl1_32_nf;
    if (i->fn == shl1_64) return shl1_64_nf;
    if (i->fn == shr1_32) return shr1_32_nf;
    if (i->fn == shr1_64) return shr1_64_nf;
    if (i->fn == sar1_32) return sar1_32_nf;
    if (i->fn == sar1_64) return sar1_64_nf;
    if (i->fn == rol32) return rol32_nf;
    if (i->fn == rol64) return rol64_nf;
    if (i->fn == ror32) return ror32_nf;
    if (i->fn == ror64) return ror64_nf;
    if (i->fn == shlcl32) return shlcl32_nf;
    if (i->fn == shlcl64) return shlcl64_nf;
    if (i->fn == shrcl32) return shrcl32_nf;
    if (i->fn == shrcl64) return shrcl64_nf;
    if (i->fn == sarcl32) return sarcl32_nf;
    if (i->fn == sarcl64) return sarcl64_nf;
    return NULL;
}
