/* Bit instructions: BT/BTS/BTR/BTC (register and immediate forms, memory
 * bit strings), BSF/BSR, LZCNT, POPCNT, BSWAP, MOVBE and CRC32. */
#include "engine/emu/ops.h"

#define GRP(i) (((i)->modrm >> 3) & 7)

/* op: 0 BT, 1 BTS, 2 BTR, 3 BTC */
static void bit_op(struct emu_cpu *c, const struct emu_insn *i, int op, uint64_t off, bool reg_off)
{
    unsigned size = i->opsize, bits = size * 8;
    bool cf;
    if (i->mod == 3) {
        uint64_t v = reg_get(c, i->rm, size, i->prefix);
        uint64_t m = 1ULL << (off & (bits - 1));
        cf = v & m;
        if (op == 1) v |= m;
        else if (op == 2) v &= ~m;
        else if (op == 3) v ^= m;
        if (op)
            reg_set(c, i->rm, size, i->prefix, v);
    } else {
        uint64_t la;
        if (reg_off) {
            /* The register offset is signed and may reach outside the
             * operand: its byte displacement is part of the effective
             * address, so it wraps with the address size and the segment
             * checks see it (#SS for an RBP/RSP base in 64-bit mode). */
            int64_t soff = (int64_t)sext(off, size);
            int64_t word = soff >> (bits == 64 ? 6 : bits == 32 ? 5 : 4);
            uint64_t a = ea_off(c, i) + (uint64_t)(word * (int64_t)size);
            if (i->adsize != 8)
                a &= emu_size_mask(i->adsize);
            la = emu_linear(c, i->seg, a, size, op != 0);
        } else {
            la = ea(c, i, size, op != 0);
        }
        uint64_t m = 1ULL << (off & (bits - 1));
        void *p;
        if (op && (i->prefix & PFX_LOCK) && (p = emu_rmw_ptr(c, la, size))) {
            uint64_t old;
            switch (size) {
            case 2: old = op == 1 ? __atomic_fetch_or((uint16_t *)p, (uint16_t)m, __ATOMIC_SEQ_CST)
                        : op == 2 ? __atomic_fetch_and((uint16_t *)p, (uint16_t)~m, __ATOMIC_SEQ_CST)
                                  : __atomic_fetch_xor((uint16_t *)p, (uint16_t)m, __ATOMIC_SEQ_CST); break;
            case 4: old = op == 1 ? __atomic_fetch_or((uint32_t *)p, (uint32_t)m, __ATOMIC_SEQ_CST)
                        : op == 2 ? __atomic_fetch_and((uint32_t *)p, (uint32_t)~m, __ATOMIC_SEQ_CST)
                                  : __atomic_fetch_xor((uint32_t *)p, (uint32_t)m, __ATOMIC_SEQ_CST); break;
            default: old = op == 1 ? __atomic_fetch_or((uint64_t *)p, m, __ATOMIC_SEQ_CST)
                         : op == 2 ? __atomic_fetch_and((uint64_t *)p, ~m, __ATOMIC_SEQ_CST)
                                   : __atomic_fetch_xor((uint64_t *)p, m, __ATOMIC_SEQ_CST); break;
            }
            cf = old & m;
        } else {
            uint64_t v = op ? lin_read_rmw(c, la, size) : lin_read(c, la, size);
            cf = v & m;
            if (op) {
                if (op == 1) v |= m;
                else if (op == 2) v &= ~m;
                else v ^= m;
                lin_write(c, la, size, v);
            }
        }
    }
    flags_update(c, RFLAGS_CF, cf ? RFLAGS_CF : 0);
}

static HANDLER(op_bt_reg)   /* 0F A3 AB B3 BB */
{
    static const int ops[4] = { 0, 1, 2, 3 };
    int op = ops[(i->op >> 3) & 3];
    bit_op(c, i, op, reg_get(c, i->reg, i->opsize, i->prefix), true);
}

static HANDLER(op_grp8)   /* 0F BA /4../7 */
{
    unsigned g = GRP(i);
    if (g < 4)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    bit_op(c, i, (int)g - 4, i->imm & 0xff, false);
}

static HANDLER(op_bsf_bsr)   /* 0F BC BD; F3 0F BD is LZCNT */
{
    unsigned size = i->opsize, bits = size * 8;
    uint64_t v = rm_get(c, i, size);
    if ((i->prefix & PFX_REP) && i->op == 0xbd) {
        uint64_t r = v ? (uint64_t)(__builtin_clzll(v) - (64 - bits)) : bits;
        reg_set(c, i->reg, size, i->prefix, r);
        /* OF SF AF PF are undefined: cleared, as Intel CPUs do. */
        flags_update(c, FLAGS_ARITH, (v ? 0 : RFLAGS_CF) | (r ? 0 : RFLAGS_ZF));
        return;
    }
    /* F3 0F BC (TZCNT) is ops_bmi.c. */
    if (!v) {
        flags_update(c, RFLAGS_ZF, RFLAGS_ZF);
        return;
    }
    uint64_t r = i->op == 0xbc ? (uint64_t)__builtin_ctzll(v) : (uint64_t)(63 - __builtin_clzll(v));
    reg_set(c, i->reg, size, i->prefix, r);
    flags_update(c, RFLAGS_ZF, 0);
}

static HANDLER(op_popcnt)   /* F3 0F B8 */
{
    if (!(i->prefix & PFX_REP))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    uint64_t v = rm_get(c, i, i->opsize);
    reg_set(c, i->reg, i->opsize, i->prefix, (uint64_t)__builtin_popcountll(v));
    flags_update(c, FLAGS_ARITH, v ? 0 : RFLAGS_ZF);
}

static HANDLER(op_bswap)   /* 0F C8+r */
{
    if (i->opsize == 8)
        c->gpr[i->rm] = __builtin_bswap64(c->gpr[i->rm]);
    else if (i->opsize == 4)
        c->gpr[i->rm] = __builtin_bswap32((uint32_t)c->gpr[i->rm]);
    else
        reg_set(c, i->rm, 2, PFX_REX, 0);   /* undefined; zero as x86 CPUs do */
}

static uint64_t bswap_sz(uint64_t v, unsigned size)
{
    return size == 8 ? __builtin_bswap64(v) : size == 4 ? __builtin_bswap32((uint32_t)v)
                                                        : __builtin_bswap16((uint16_t)v);
}

static uint32_t crc32c(uint32_t crc, uint64_t v, unsigned bytes)
{
    for (unsigned k = 0; k < bytes; k++) {
        crc ^= (uint8_t)(v >> (8 * k));
        for (int b = 0; b < 8; b++)
            crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
    }
    return crc;
}

static HANDLER(op_0f38_f0_f1)   /* MOVBE, or CRC32 with F2 */
{
    if (i->prefix & PFX_REPNE) {
        unsigned ss = i->op == 0xf0 ? 1 : (i->rex & 8) ? 8 : (i->prefix & PFX_OPSIZE) ? 2 : 4;   /* REX.W wins over 66 */
        uint64_t v = rm_get(c, i, ss);
        uint32_t crc = crc32c((uint32_t)c->gpr[i->reg], v, ss);
        c->gpr[i->reg] = crc;   /* 32- and 64-bit destinations both zero-extend */
        return;
    }
    if (i->mod == 3 || (i->prefix & PFX_REP))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    unsigned size = i->opsize;
    uint64_t la = ea(c, i, size, i->op == 0xf1);
    if (i->op == 0xf0)
        reg_set(c, i->reg, size, i->prefix, bswap_sz(lin_read(c, la, size), size));
    else
        lin_write(c, la, size, bswap_sz(reg_get(c, i->reg, size, i->prefix), size));
}

void emu_bits_register(void)
{
    emu_ops[MAP_0F][0xa3] = op_bt_reg;
    emu_ops[MAP_0F][0xab] = op_bt_reg;
    emu_ops[MAP_0F][0xb3] = op_bt_reg;
    emu_ops[MAP_0F][0xbb] = op_bt_reg;
    emu_ops[MAP_0F][0xba] = op_grp8;
    emu_ops[MAP_0F][0xbc] = op_bsf_bsr;
    emu_ops[MAP_0F][0xbd] = op_bsf_bsr;
    emu_ops[MAP_0F][0xb8] = op_popcnt;
    for (int op = 0xc8; op <= 0xcf; op++)
        emu_ops[MAP_0F][op] = op_bswap;
    emu_ops[MAP_0F38][0xf0] = op_0f38_f0_f1;
    emu_ops[MAP_0F38][0xf1] = op_0f38_f0_f1;
}
