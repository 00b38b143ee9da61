/* Lazy arithmetic flags: handlers record the operation and operands
 * (cc_set in ops.h); CF PF AF ZF SF OF are computed here only when read.
 *
 * Meaning of struct emu_lazy_flags per op (res/src values masked to size):
 *   ADD/ADC  res = src1 + src2 (+ aux carry-in)
 *   SUB/SBB  res = src1 - src2 (- aux borrow-in); CMP uses SUB
 *            (ADD and SUB: res may be stale, translated code does not
 *            store it: read it with lazy_res, which computes it)
 *   LOGIC    res only (CF = OF = AF = 0)
 *   INC/DEC  res = src1 +/- 1, aux = CF before (INC/DEC keep CF)
 *   NEG      res = -src2
 *   MUL/IMUL res = low half of the product, aux = CF = OF (the high half
 *            is significant)
 *   SHL/SHR/SAR  res = result, src1 = operand before, src2 = count (1..63)
 * AF is 0 after multiplies and shifts (undefined there; what we always did).
 * Rotates materialize their flags directly (they keep SF ZF PF). */
#include "engine/emu/ops.h"

static uint64_t lazy_compute(const struct emu_lazy_flags *l)
{
    unsigned bits = l->size * 8u;
    uint64_t mask = emu_size_mask(l->size);
    uint64_t sign = 1ULL << (bits - 1);
    uint64_t res = lazy_res(l) & mask, s1 = l->src1 & mask, s2 = l->src2 & mask;
    uint64_t f = flags_szp(res, l->size);
    bool cf = false, of = false, af = false;

    switch (l->op) {
    case CC_OP_ADD:
        cf = res < s1;
        af = (s1 ^ s2 ^ res) & 0x10;
        of = ((s1 ^ res) & (s2 ^ res) & sign) != 0;
        break;
    case CC_OP_ADC:
        cf = l->aux ? res <= s1 : res < s1;
        af = (s1 ^ s2 ^ res) & 0x10;
        of = ((s1 ^ res) & (s2 ^ res) & sign) != 0;
        break;
    case CC_OP_SUB:
        cf = s1 < s2;
        af = (s1 ^ s2 ^ res) & 0x10;
        of = ((s1 ^ s2) & (s1 ^ res) & sign) != 0;
        break;
    case CC_OP_SBB:
        cf = l->aux ? s1 <= s2 : s1 < s2;
        af = (s1 ^ s2 ^ res) & 0x10;
        of = ((s1 ^ s2) & (s1 ^ res) & sign) != 0;
        break;
    case CC_OP_LOGIC:
        break;
    case CC_OP_INC:
        cf = l->aux;
        af = (res & 0xf) == 0;
        of = res == sign;
        break;
    case CC_OP_DEC:
        cf = l->aux;
        af = (res & 0xf) == 0xf;
        of = res == sign - 1;
        break;
    case CC_OP_NEG:
        cf = s2 != 0;
        af = (s2 ^ res) & 0x10;
        of = res == sign && s2 == sign;
        break;
    case CC_OP_MUL: case CC_OP_IMUL:
        cf = of = l->aux;
        break;
    case CC_OP_SHL: {
        uint64_t cnt = l->src2;
        cf = cnt <= bits ? (s1 >> (bits - cnt)) & 1 : 0;
        of = ((res & sign) != 0) != cf;
        break;
    }
    case CC_OP_SHR: {
        uint64_t cnt = l->src2;
        cf = cnt <= bits ? (s1 >> (cnt - 1)) & 1 : 0;
        of = s1 & sign;
        break;
    }
    case CC_OP_SAR: {
        uint64_t cnt = l->src2;
        int64_t sv = (int64_t)sext(s1, l->size);
        cf = (sv >> (cnt - 1 < 63 ? cnt - 1 : 63)) & 1;
        break;
    }
    default:
        break;
    }
    if (cf) f |= RFLAGS_CF;
    if (af) f |= RFLAGS_AF;
    if (of) f |= RFLAGS_OF;
    return f;
}

uint64_t emu_get_rflags(struct emu_cpu *c)
{
    if (c->lazy.op == CC_OP_EFLAGS)
        return c->rflags | RFLAGS_FIXED;
    return (c->rflags & ~FLAGS_ARITH) | lazy_compute(&c->lazy) | RFLAGS_FIXED;
}

void emu_set_rflags(struct emu_cpu *c, uint64_t rflags)
{
    if (unlikely(c->mmu.smap_n) && !(rflags & RFLAGS_AC))
        emu_tlb_drop_smap(c);
    c->rflags = rflags | RFLAGS_FIXED;
    c->lazy.op = CC_OP_EFLAGS;
}

bool emu_get_cf(struct emu_cpu *c)
{
    const struct emu_lazy_flags *l = &c->lazy;
    uint64_t mask = emu_size_mask(l->size);
    switch (l->op) {
    case CC_OP_EFLAGS: return c->rflags & RFLAGS_CF;
    case CC_OP_ADD: return (lazy_res(l) & mask) < (l->src1 & mask);
    case CC_OP_SUB: return (l->src1 & mask) < (l->src2 & mask);
    case CC_OP_LOGIC: return false;
    case CC_OP_INC: case CC_OP_DEC: case CC_OP_MUL: case CC_OP_IMUL: return l->aux;
    default: return lazy_compute(l) & RFLAGS_CF;
    }
}

bool emu_cond(struct emu_cpu *c, unsigned cc)
{
    const struct emu_lazy_flags *l = &c->lazy;
    bool r;

    /* Compares and tests dominate: answer them from the operands. */
    if (l->op == CC_OP_SUB && (cc & 0xe) != 0x0 && (cc & 0xe) != 0xa) {
        uint64_t mask = emu_size_mask(l->size);
        uint64_t a = l->src1 & mask, b = l->src2 & mask;
        int64_t sa = (int64_t)sext(a, l->size), sb = (int64_t)sext(b, l->size);
        switch (cc >> 1) {
        case 1: r = a < b; break;             /* B */
        case 2: r = a == b; break;            /* E */
        case 3: r = a <= b; break;            /* BE */
        case 4: r = ((a - b) & mask) >> (l->size * 8 - 1); break;  /* S */
        case 6: r = sa < sb; break;           /* L */
        default: r = sa <= sb; break;         /* LE */
        }
        return r ^ (cc & 1);
    }
    if (l->op == CC_OP_LOGIC) {
        uint64_t res = l->res & emu_size_mask(l->size);
        int64_t s = (int64_t)sext(res, l->size);
        switch (cc >> 1) {
        case 0: r = false; break;             /* O */
        case 1: r = false; break;             /* B */
        case 2: r = res == 0; break;          /* E */
        case 3: r = res == 0; break;          /* BE */
        case 4: r = s < 0; break;             /* S */
        case 5: r = !__builtin_parity((unsigned)(res & 0xff)); break;
        case 6: r = s < 0; break;             /* L: SF != OF, OF = 0 */
        default: r = s <= 0; break;           /* LE */
        }
        return r ^ (cc & 1);
    }

    /* ZF and SF come straight from the result for every lazy op. */
    if (l->op != CC_OP_EFLAGS && ((cc >> 1) == 2 || (cc >> 1) == 4)) {
        uint64_t res = lazy_res(l) & emu_size_mask(l->size);
        r = (cc >> 1) == 2 ? res == 0 : (res >> (l->size * 8 - 1)) & 1;
        return r ^ (cc & 1);
    }

    uint64_t f = emu_get_rflags(c);
    bool sf = f & RFLAGS_SF, of = f & RFLAGS_OF, zf = f & RFLAGS_ZF, cf = f & RFLAGS_CF;
    switch (cc >> 1) {
    case 0: r = of; break;
    case 1: r = cf; break;
    case 2: r = zf; break;
    case 3: r = cf || zf; break;
    case 4: r = sf; break;
    case 5: r = f & RFLAGS_PF; break;
    case 6: r = sf != of; break;
    default: r = zf || (sf != of); break;
    }
    return r ^ (cc & 1);
}
