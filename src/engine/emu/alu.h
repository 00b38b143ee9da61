/* The one integer ALU core of emu: the eight ALU operations, INC/DEC and
 * the shift/rotate results, with the lazy flags they record.  The generic
 * handlers (ops_arith.c), the specialized ones (ops_fast.c) and the
 * translator's helpers (jit.c) all compute through these, so an operation
 * is written once; with a constant size the compiler folds the masks. */
#ifndef HOSTEL_EMU_ALU_H
#define HOSTEL_EMU_ALU_H

#include "engine/emu/ops.h"

/* ALU operation numbers, as in the opcode (00-3F: bits 5:3) and in
 * group 1 (80-83: ModRM.reg). */
enum { ALU_ADD, ALU_OR, ALU_ADC, ALU_SBB, ALU_AND, ALU_SUB, ALU_XOR, ALU_CMP };

static inline __attribute__((always_inline)) uint64_t
alu_calc(int op, unsigned size, uint64_t a, uint64_t b, unsigned cin)
{
    uint64_t r;
    switch (op) {
    case ALU_ADD: r = a + b; break;
    case ALU_OR:  r = a | b; break;
    case ALU_ADC: r = a + b + cin; break;
    case ALU_SBB: r = a - b - cin; break;
    case ALU_AND: r = a & b; break;
    case ALU_XOR: r = a ^ b; break;
    default:      r = a - b; break;   /* SUB, CMP */
    }
    return r & emu_size_mask(size);
}

/* The lazy-flag operation each ALU operation records. */
static inline __attribute__((always_inline)) int alu_cc_op(int op)
{
    switch (op) {
    case ALU_ADD: return CC_OP_ADD;
    case ALU_ADC: return CC_OP_ADC;
    case ALU_SBB: return CC_OP_SBB;
    case ALU_SUB: case ALU_CMP: return CC_OP_SUB;
    default: return CC_OP_LOGIC;
    }
}

static inline __attribute__((always_inline)) void
alu_flags(struct emu_cpu *c, int op, unsigned size, uint64_t r, uint64_t a, uint64_t b, unsigned cin)
{
    cc_set(c, alu_cc_op(op), size, r, a, b);
    c->lazy.aux = cin;
}

/* The carry-in of op: CF for ADC and SBB, else 0. */
static inline __attribute__((always_inline)) unsigned alu_cin(struct emu_cpu *c, int op)
{
    return (op == ALU_ADC || op == ALU_SBB) ? emu_get_cf(c) : 0;
}

/* a op b on size-byte operands: the result (masked), and with flags set
 * the lazy flags.  CMP's result is what SUB gives; the caller does not
 * store it. */
static inline __attribute__((always_inline)) uint64_t
alu_exec(struct emu_cpu *c, int op, unsigned size, uint64_t a, uint64_t b, bool flags)
{
    uint64_t m = emu_size_mask(size);
    a &= m;
    b &= m;
    unsigned cin = alu_cin(c, op);
    uint64_t r = alu_calc(op, size, a, b, cin);
    if (flags)
        alu_flags(c, op, size, r, a, b, cin);
    return r;
}

/* INC (dec = false) or DEC of a size-byte value; CF is kept. */
static inline __attribute__((always_inline)) uint64_t
incdec_exec(struct emu_cpu *c, unsigned size, uint64_t a, bool dec, bool flags)
{
    uint64_t m = emu_size_mask(size);
    a &= m;
    uint64_t r = (a + (dec ? ~0ULL : 1)) & m;
    if (flags) {
        bool cf = emu_get_cf(c);
        cc_set(c, dec ? CC_OP_DEC : CC_OP_INC, size, r, a, 1);
        c->lazy.aux = cf;
    }
    return r;
}

/* Shift and rotate groups (C0 C1 D0-D3: ModRM.reg). */
enum { SH_ROL, SH_ROR, SH_RCL, SH_RCR, SH_SHL, SH_SHR, SH_SAL, SH_SAR };

/* The result of ROL ROR SHL SHR SAL SAR of a size-byte value by cnt, the
 * count already masked to 5 or 6 bits and not 0 (RCL/RCR need CF: see
 * ops_arith.c). */
static inline __attribute__((always_inline)) uint64_t
shift_result(int g, unsigned size, uint64_t v, unsigned cnt)
{
    unsigned bits = size * 8;
    uint64_t m = emu_size_mask(size);
    v &= m;
    switch (g) {
    case SH_ROL: { unsigned k = cnt % bits; return k ? ((v << k) | (v >> (bits - k))) & m : v; }
    case SH_ROR: { unsigned k = cnt % bits; return k ? ((v >> k) | (v << (bits - k))) & m : v; }
    case SH_SHL: case SH_SAL: return cnt < bits ? (v << cnt) & m : 0;
    case SH_SHR: return cnt < bits ? v >> cnt : 0;
    default: return (uint64_t)((int64_t)sext(v, size) >> (cnt < bits ? cnt : bits - 1)) & m;
    }
}

/* CF and OF after a rotate by a non-zero count, from its result. */
static inline __attribute__((always_inline)) uint64_t
rotate_flags(int g, unsigned size, uint64_t r)
{
    unsigned bits = size * 8;
    bool msb = (r >> (bits - 1)) & 1, cf, of;
    if (g == SH_ROL) {
        cf = r & 1;
        of = msb != cf;
    } else {
        cf = msb;
        of = msb != ((r >> (bits - 2)) & 1);
    }
    return (cf ? RFLAGS_CF : 0) | (of ? RFLAGS_OF : 0);
}

/* ROL ROR SHL SHR SAL SAR with a non-zero (masked) count: the result and
 * the flags (rotates change only CF and OF). */
static inline __attribute__((always_inline)) uint64_t
shift_exec(struct emu_cpu *c, int g, unsigned size, uint64_t v, unsigned cnt, bool flags)
{
    v &= emu_size_mask(size);
    uint64_t r = shift_result(g, size, v, cnt);
    if (flags) {
        if (g == SH_ROL || g == SH_ROR)
            flags_update(c, RFLAGS_CF | RFLAGS_OF, rotate_flags(g, size, r));
        else
            cc_set(c, g == SH_SHR ? CC_OP_SHR : g == SH_SAR ? CC_OP_SAR : CC_OP_SHL, size, r, v, cnt);
    }
    return r;
}

#endif
