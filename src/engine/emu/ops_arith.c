/* Integer arithmetic and logic: the eight ALU operations, TEST, INC/DEC,
 * NEG/NOT, MUL/IMUL/DIV/IDIV, shifts and rotates, SHLD/SHRD, decimal
 * adjust, and the flag instructions.  LOCK forms use host atomics on the
 * guest RAM (emu_rmw_ptr) so SMP guests see real atomicity. */
#include "engine/emu/alu.h"

#define GRP(i) GRP_OF(i)

/* Host compare-and-swap of size bytes; on failure *old is refreshed. */
static bool cas(void *p, unsigned size, uint64_t *old, uint64_t nv)
{
    switch (size) {
    case 1: { uint8_t o = (uint8_t)*old; bool r = __atomic_compare_exchange_n((uint8_t *)p, &o, (uint8_t)nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); *old = o; return r; }
    case 2: { uint16_t o = (uint16_t)*old; bool r = __atomic_compare_exchange_n((uint16_t *)p, &o, (uint16_t)nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); *old = o; return r; }
    case 4: { uint32_t o = (uint32_t)*old; bool r = __atomic_compare_exchange_n((uint32_t *)p, &o, (uint32_t)nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); *old = o; return r; }
    default: return __atomic_compare_exchange_n((uint64_t *)p, old, nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    }
}

static uint64_t atomic_load_sz(void *p, unsigned size)
{
    switch (size) {
    case 1: return __atomic_load_n((uint8_t *)p, __ATOMIC_SEQ_CST);
    case 2: return __atomic_load_n((uint16_t *)p, __ATOMIC_SEQ_CST);
    case 4: return __atomic_load_n((uint32_t *)p, __ATOMIC_SEQ_CST);
    default: return __atomic_load_n((uint64_t *)p, __ATOMIC_SEQ_CST);
    }
}

/* dst (ModRM r/m) op= src, memory forms atomic under LOCK. */
static void alu_rm(struct emu_cpu *c, const struct emu_insn *i, int op, unsigned size, uint64_t b)
{
    uint64_t mask = emu_size_mask(size);
    b &= mask;
    unsigned cin = alu_cin(c, op);
    uint64_t a, r;
    if (i->mod == 3) {
        a = reg_get(c, i->rm, size, i->prefix);
        r = alu_calc(op, size, a, b, cin);
        if (op != ALU_CMP)
            reg_set(c, i->rm, size, i->prefix, r);
    } else {
        uint64_t la = ea(c, i, size, op != ALU_CMP);
        void *p;
        if ((i->prefix & PFX_LOCK) && (p = emu_rmw_ptr(c, la, size))) {
            a = atomic_load_sz(p, size);
            do
                r = alu_calc(op, size, a, b, cin);
            while (!cas(p, size, &a, r));
        } else {
            a = op != ALU_CMP ? lin_read_rmw(c, la, size) : lin_read(c, la, size);
            r = alu_calc(op, size, a, b, cin);
            if (op != ALU_CMP)
                lin_write(c, la, size, r);
        }
    }
    alu_flags(c, op, size, r, a, b, cin);
}

static HANDLER(op_alu)
{
    int op = (i->op >> 3) & 7;
    unsigned size = op_size_w(i);
    switch (i->op & 7) {
    case 0: case 1:
        alu_rm(c, i, op, size, reg_get(c, i->reg, size, i->prefix));
        return;
    case 2: case 3: {
        uint64_t b = rm_get(c, i, size);
        uint64_t r = alu_exec(c, op, size, reg_get(c, i->reg, size, i->prefix), b, true);
        if (op != ALU_CMP)
            reg_set(c, i->reg, size, i->prefix, r);
        return;
    }
    default: {
        uint64_t r = alu_exec(c, op, size, reg_get(c, R_RAX, size, PFX_REX), i->imm, true);
        if (op != ALU_CMP)
            reg_set(c, R_RAX, size, PFX_REX, r);
        return;
    }
    }
}

static HANDLER(op_grp1)
{
    unsigned size = i->op == 0x81 || i->op == 0x83 ? i->opsize : 1;
    alu_rm(c, i, GRP(i), size, i->imm);
}

static HANDLER(op_test)
{
    unsigned size = op_size_w(i);
    uint64_t a, b;
    if (i->op == 0xa8 || i->op == 0xa9) {
        a = reg_get(c, R_RAX, size, PFX_REX);
        b = i->imm;
    } else {
        a = rm_get(c, i, size);
        b = reg_get(c, i->reg, size, i->prefix);
    }
    cc_set(c, CC_OP_LOGIC, size, (a & b) & emu_size_mask(size), 0, 0);
}

/* ---- INC/DEC ------------------------------------------------------------- */

static void incdec_rm(struct emu_cpu *c, const struct emu_insn *i, unsigned size, bool dec)
{
    bool cf = emu_get_cf(c);
    uint64_t mask = emu_size_mask(size), a, r;
    if (i->mod == 3) {
        a = reg_get(c, i->rm, size, i->prefix);
        r = (dec ? a - 1 : a + 1) & mask;
        reg_set(c, i->rm, size, i->prefix, r);
    } else {
        uint64_t la = ea(c, i, size, true);
        void *p;
        if ((i->prefix & PFX_LOCK) && (p = emu_rmw_ptr(c, la, size))) {
            a = atomic_load_sz(p, size);
            do
                r = (dec ? a - 1 : a + 1) & mask;
            while (!cas(p, size, &a, r));
        } else {
            a = lin_read_rmw(c, la, size);
            r = (dec ? a - 1 : a + 1) & mask;
            lin_write(c, la, size, r);
        }
    }
    cc_set(c, dec ? CC_OP_DEC : CC_OP_INC, size, r, a, 1);
    c->lazy.aux = cf;
}

static HANDLER(op_incdec_reg)   /* 40-4F outside 64-bit mode */
{
    unsigned r = i->op & 7, size = i->opsize;
    bool cf = emu_get_cf(c), dec = i->op & 8;
    uint64_t a = reg_get(c, r, size, PFX_REX);
    uint64_t res = (dec ? a - 1 : a + 1) & emu_size_mask(size);
    reg_set(c, r, size, PFX_REX, res);
    cc_set(c, dec ? CC_OP_DEC : CC_OP_INC, size, res, a, 1);
    c->lazy.aux = cf;
}

static HANDLER(op_grp4)   /* FE */
{
    unsigned g = GRP(i);
    if (g > 1)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    incdec_rm(c, i, 1, g == 1);
}

/* FF /0 /1 (the rest of group 5 is in ops_branch.c). */
void emu_op_ff_incdec(struct emu_cpu *c, const struct emu_insn *i);
void emu_op_ff_incdec(struct emu_cpu *c, const struct emu_insn *i)
{
    incdec_rm(c, i, i->opsize, GRP(i) == 1);
}

/* ---- group 3: TEST NOT NEG MUL IMUL DIV IDIV ------------------------------ */

static void mul_flags(struct emu_cpu *c, uint64_t lo, unsigned size, bool ovf)
{
    cc_set(c, CC_OP_MUL, size, lo & emu_size_mask(size), 0, 0);
    c->lazy.aux = ovf;
}

static void do_mul(struct emu_cpu *c, unsigned size, uint64_t src, bool sign)
{
    uint64_t mask = emu_size_mask(size);
    uint64_t a = c->gpr[R_RAX] & mask;
    if (size == 8) {
        uint64_t lo, hi;
        bool ovf;
        if (sign) {
            __int128 p = (__int128)(int64_t)a * (int64_t)src;
            lo = (uint64_t)p;
            hi = (uint64_t)(p >> 64);
            ovf = p != (__int128)(int64_t)lo;
        } else {
            unsigned __int128 p = (unsigned __int128)a * src;
            lo = (uint64_t)p;
            hi = (uint64_t)(p >> 64);
            ovf = hi != 0;
        }
        c->gpr[R_RAX] = lo;
        c->gpr[R_RDX] = hi;
        mul_flags(c, lo, 8, ovf);
        return;
    }
    unsigned bits = size * 8;
    uint64_t lo, hi;
    bool ovf;
    if (sign) {
        int64_t p = (int64_t)sext(a, size) * (int64_t)sext(src & mask, size);
        lo = (uint64_t)p & mask;
        hi = ((uint64_t)p >> bits) & mask;
        ovf = p != (int64_t)sext(lo, size);
    } else {
        uint64_t p = a * (src & mask);
        lo = p & mask;
        hi = (p >> bits) & mask;
        ovf = hi != 0;
    }
    if (size == 1) {
        reg_set(c, R_RAX, 2, PFX_REX, lo | (hi << 8));
    } else {
        reg_set(c, R_RAX, size, PFX_REX, lo);
        reg_set(c, R_RDX, size, PFX_REX, hi);
    }
    mul_flags(c, lo, size, ovf);
}

static void do_div(struct emu_cpu *c, unsigned size, uint64_t src, bool sign)
{
    uint64_t mask = emu_size_mask(size);
    src &= mask;
    if (src == 0)
        emu_raise(c, EXC_DE, EMU_NO_ERRCODE);
    if (size == 8) {
        unsigned __int128 n = ((unsigned __int128)c->gpr[R_RDX] << 64) | c->gpr[R_RAX];
        uint64_t q, r;
        if (sign) {
            __int128 sn = (__int128)n, sd = (int64_t)src;
            if (sn == (__int128)((unsigned __int128)1 << 127) && sd == -1)
                emu_raise(c, EXC_DE, EMU_NO_ERRCODE);
            __int128 sq = sn / sd, sr = sn % sd;
            if (sq > INT64_MAX || sq < INT64_MIN)
                emu_raise(c, EXC_DE, EMU_NO_ERRCODE);
            q = (uint64_t)sq;
            r = (uint64_t)sr;
        } else {
            unsigned __int128 uq = n / src;
            if (uq >> 64)
                emu_raise(c, EXC_DE, EMU_NO_ERRCODE);
            q = (uint64_t)uq;
            r = (uint64_t)(n % src);
        }
        c->gpr[R_RAX] = q;
        c->gpr[R_RDX] = r;
        return;
    }
    unsigned bits = size * 8;
    uint64_t n = size == 1 ? c->gpr[R_RAX] & 0xffff
                           : ((c->gpr[R_RDX] & mask) << bits) | (c->gpr[R_RAX] & mask);
    uint64_t q, r;
    if (sign) {
        int64_t sn = (int64_t)sext(n, size * 2), sd = (int64_t)sext(src, size);
        int64_t sq = sn / sd, sr = sn % sd;
        int64_t lim = (int64_t)1 << (bits - 1);
        if (sq >= lim || sq < -lim)
            emu_raise(c, EXC_DE, EMU_NO_ERRCODE);
        q = (uint64_t)sq & mask;
        r = (uint64_t)sr & mask;
    } else {
        q = n / src;
        r = n % src;
        if (q > mask)
            emu_raise(c, EXC_DE, EMU_NO_ERRCODE);
    }
    if (size == 1) {
        reg_set(c, R_RAX, 2, PFX_REX, q | (r << 8));
    } else {
        reg_set(c, R_RAX, size, PFX_REX, q);
        reg_set(c, R_RDX, size, PFX_REX, r);
    }
}

static HANDLER(op_grp3)
{
    unsigned size = op_size_w(i);
    uint64_t mask = emu_size_mask(size);
    switch (GRP(i)) {
    case 0: case 1:
        cc_set(c, CC_OP_LOGIC, size, rm_get(c, i, size) & i->imm & mask, 0, 0);
        return;
    case 2:   /* NOT */
        if (i->mod != 3) {
            uint64_t la = ea(c, i, size, true);
            void *p;
            if ((i->prefix & PFX_LOCK) && (p = emu_rmw_ptr(c, la, size))) {
                switch (size) {
                case 1: __atomic_fetch_xor((uint8_t *)p, 0xff, __ATOMIC_SEQ_CST); break;
                case 2: __atomic_fetch_xor((uint16_t *)p, 0xffff, __ATOMIC_SEQ_CST); break;
                case 4: __atomic_fetch_xor((uint32_t *)p, 0xffffffffu, __ATOMIC_SEQ_CST); break;
                default: __atomic_fetch_xor((uint64_t *)p, ~0ULL, __ATOMIC_SEQ_CST); break;
                }
                return;
            }
            lin_write(c, la, size, ~lin_read_rmw(c, la, size) & mask);
            return;
        }
        reg_set(c, i->rm, size, i->prefix, ~reg_get(c, i->rm, size, i->prefix) & mask);
        return;
    case 3: { /* NEG */
        uint64_t a, r;
        if (i->mod != 3) {
            uint64_t la = ea(c, i, size, true);
            void *p;
            if ((i->prefix & PFX_LOCK) && (p = emu_rmw_ptr(c, la, size))) {
                a = atomic_load_sz(p, size);
                do
                    r = (0 - a) & mask;
                while (!cas(p, size, &a, r));
            } else {
                a = lin_read_rmw(c, la, size);
                r = (0 - a) & mask;
                lin_write(c, la, size, r);
            }
        } else {
            a = reg_get(c, i->rm, size, i->prefix);
            r = (0 - a) & mask;
            reg_set(c, i->rm, size, i->prefix, r);
        }
        cc_set(c, CC_OP_NEG, size, r, 0, a);
        return;
    }
    case 4: do_mul(c, size, rm_get(c, i, size), false); return;
    case 5: do_mul(c, size, rm_get(c, i, size), true); return;
    case 6: do_div(c, size, rm_get(c, i, size), false); return;
    default: do_div(c, size, rm_get(c, i, size), true); return;
    }
}

/* IMUL r, r/m (0F AF), r, r/m, imm (69, 6B). */
static HANDLER(op_imul_rm)
{
    unsigned size = i->opsize;
    uint64_t a = rm_get(c, i, size);
    uint64_t b = i->map == MAP_0F ? reg_get(c, i->reg, size, i->prefix) : i->imm;
    uint64_t lo;
    bool ovf;
    if (size == 8) {
        __int128 p = (__int128)(int64_t)a * (int64_t)b;
        lo = (uint64_t)p;
        ovf = p != (__int128)(int64_t)lo;
    } else {
        int64_t p = (int64_t)sext(a, size) * (int64_t)sext(b, size);
        lo = (uint64_t)p & emu_size_mask(size);
        ovf = p != (int64_t)sext(lo, size);
    }
    reg_set(c, i->reg, size, i->prefix, lo);
    mul_flags(c, lo, size, ovf);
}

/* ---- shifts and rotates ------------------------------------------------- */

static uint64_t shift_rotate(struct emu_cpu *c, unsigned g, unsigned size, uint64_t v, unsigned cnt)
{
    if (g != SH_RCL && g != SH_RCR)
        return shift_exec(c, (int)g, size, v, cnt, true);
    unsigned bits = size * 8;
    uint64_t mask = emu_size_mask(size), sign = 1ULL << (bits - 1);
    v &= mask;
    unsigned k = cnt % (bits + 1);
    bool cin = emu_get_cf(c);
    if (k == 0)
        return v;
    unsigned __int128 x = ((unsigned __int128)cin << bits) | v;
    unsigned __int128 wmask = (((unsigned __int128)1) << (bits + 1)) - 1;
    if (g == SH_RCL)
        x = ((x << k) | (x >> (bits + 1 - k))) & wmask;
    else
        x = ((x >> k) | (x << (bits + 1 - k))) & wmask;
    uint64_t r = (uint64_t)x & mask;
    bool cf = (x >> bits) & 1, of;
    if (g == SH_RCL)
        of = ((r & sign) != 0) != cf;
    else
        of = ((v & sign) != 0) != cin;
    flags_update(c, RFLAGS_CF | RFLAGS_OF, (cf ? RFLAGS_CF : 0) | (of ? RFLAGS_OF : 0));
    return r;
}

static HANDLER(op_grp2)
{
    unsigned size = op_size_w(i);
    unsigned cnt;
    if (i->op <= 0xc1)
        cnt = (unsigned)i->imm;
    else if (i->op <= 0xd1)
        cnt = 1;
    else
        cnt = c->gpr[R_RCX] & 0xff;
    cnt &= size == 8 ? 63 : 31;
    unsigned g = GRP(i);
    if (i->mod == 3) {
        if (!cnt) {
            if (size == 4)   /* the 32-bit destination is still written */
                c->gpr[i->rm] &= 0xffffffffULL;
            return;
        }
        uint64_t v = reg_get(c, i->rm, size, i->prefix);
        reg_set(c, i->rm, size, i->prefix, shift_rotate(c, g, size, v, cnt));
        return;
    }
    uint64_t la = ea(c, i, size, true);
    uint64_t v = cnt ? lin_read_rmw(c, la, size) : lin_read(c, la, size);
    if (!cnt)
        return;
    lin_probe_write(c, la, size);
    uint64_t r = shift_rotate(c, g, size, v, cnt);
    lin_write(c, la, size, r);
}

/* SHLD (0F A4/A5) and SHRD (0F AC/AD). */
static HANDLER(op_shld_shrd)
{
    unsigned size = i->opsize, bits = size * 8;
    unsigned cnt = (i->op & 1) ? (unsigned)(c->gpr[R_RCX] & 0xff) : (unsigned)(i->imm & 0xff);
    cnt &= size == 8 ? 63 : 31;
    uint64_t la = 0, dst;
    if (i->mod == 3) {
        dst = reg_get(c, i->rm, size, i->prefix);
    } else {
        la = ea(c, i, size, true);
        dst = cnt ? lin_read_rmw(c, la, size) : lin_read(c, la, size);
    }
    if (!cnt) {
        if (i->mod == 3 && size == 4)
            c->gpr[i->rm] &= 0xffffffffULL;
        return;
    }
    uint64_t src = reg_get(c, i->reg, size, i->prefix);
    uint64_t mask = emu_size_mask(size), sign = 1ULL << (bits - 1);
    uint64_t r;
    bool cf;
    if (i->op < 0xa8) {
        unsigned __int128 x = ((unsigned __int128)dst << bits) | src;
        /* 16-bit counts over 16 are undefined; x86 CPUs shift the 32-bit pattern on. */
        r = (uint64_t)((x << cnt) >> bits) & mask;
        cf = (uint64_t)(x >> (2 * bits - cnt)) & 1;
    } else {
        unsigned __int128 x = ((unsigned __int128)src << bits) | dst;
        r = (uint64_t)(x >> cnt) & mask;
        cf = (uint64_t)(x >> (cnt - 1)) & 1;
    }
    bool of = ((r ^ dst) & sign) != 0;
    if (i->mod == 3)
        reg_set(c, i->rm, size, i->prefix, r);
    else
        lin_write(c, la, size, r);
    flags_update(c, FLAGS_ARITH, flags_szp(r, size) | (cf ? RFLAGS_CF : 0) | (of ? RFLAGS_OF : 0));
}

/* ---- decimal adjust (outside 64-bit mode) --------------------------------- */

static HANDLER(op_bcd)
{
    uint64_t f = emu_get_rflags(c);
    uint8_t al = (uint8_t)c->gpr[R_RAX], ah = (uint8_t)(c->gpr[R_RAX] >> 8);
    bool cf = f & RFLAGS_CF, af = f & RFLAGS_AF;
    switch (i->op) {
    case 0x27: case 0x2f: { /* DAA, DAS */
        uint8_t old = al;
        bool ncf = false;
        bool das = i->op == 0x2f;
        if ((al & 0xf) > 9 || af) {
            ncf = cf || (das ? al < 6 : al > 0xf9);
            al = das ? al - 6 : al + 6;
            af = true;
        } else {
            af = false;
        }
        if (old > 0x99 || cf) {
            al = das ? al - 0x60 : al + 0x60;
            ncf = true;
        }
        cf = ncf;
        reg_set(c, R_RAX, 1, PFX_REX, al);
        flags_update(c, FLAGS_ARITH, flags_szp(al, 1) | (cf ? RFLAGS_CF : 0) | (af ? RFLAGS_AF : 0));
        return;
    }
    case 0x37: case 0x3f: { /* AAA, AAS */
        uint16_t ax = (uint16_t)c->gpr[R_RAX];
        if ((al & 0xf) > 9 || af) {
            if (i->op == 0x37)
                ax = (uint16_t)(ax + 0x106);
            else
                ax = (uint16_t)(((ax - 6) & 0xff) | ((uint16_t)((ah - 1) & 0xff) << 8));
            af = cf = true;
        } else {
            af = cf = false;
        }
        ax &= 0xff0f;
        reg_set(c, R_RAX, 2, PFX_REX, ax);
        flags_update(c, FLAGS_ARITH, flags_szp(ax & 0xff, 1) | (cf ? RFLAGS_CF : 0) | (af ? RFLAGS_AF : 0));
        return;
    }
    case 0xd4: { /* AAM */
        uint8_t base = (uint8_t)i->imm;
        if (!base)
            emu_raise(c, EXC_DE, EMU_NO_ERRCODE);
        ah = al / base;
        al = al % base;
        reg_set(c, R_RAX, 2, PFX_REX, al | ((uint16_t)ah << 8));
        flags_update(c, FLAGS_ARITH, flags_szp(al, 1));
        return;
    }
    default: { /* AAD */
        al = (uint8_t)(al + ah * (uint8_t)i->imm);
        reg_set(c, R_RAX, 2, PFX_REX, al);
        flags_update(c, FLAGS_ARITH, flags_szp(al, 1));
        return;
    }
    }
}

/* ---- flag instructions --------------------------------------------------- */

static HANDLER(op_flagop)
{
    switch (i->op) {
    case 0xf5: flags_update(c, RFLAGS_CF, emu_get_cf(c) ? 0 : RFLAGS_CF); break;
    case 0xf8: flags_update(c, RFLAGS_CF, 0); break;
    case 0xf9: flags_update(c, RFLAGS_CF, RFLAGS_CF); break;
    case 0xfc: c->rflags &= ~RFLAGS_DF; break;
    case 0xfd: c->rflags |= RFLAGS_DF; break;
    case 0x9e: /* SAHF */
        flags_update(c, RFLAGS_SF | RFLAGS_ZF | RFLAGS_AF | RFLAGS_PF | RFLAGS_CF,
                     (c->gpr[R_RAX] >> 8) & 0xff);
        break;
    case 0x9f: /* LAHF */
        reg_set(c, 4, 1, 0, (emu_get_rflags(c) & 0xd5) | RFLAGS_FIXED);
        break;
    }
}

void emu_arith_register(void)
{
    for (int b = 0; b < 0x40; b += 8)
        for (int k = 0; k < 6; k++)
            emu_ops[MAP_1][b + k] = op_alu;
    emu_ops[MAP_1][0x27] = op_bcd;
    emu_ops[MAP_1][0x2f] = op_bcd;
    emu_ops[MAP_1][0x37] = op_bcd;
    emu_ops[MAP_1][0x3f] = op_bcd;
    emu_ops[MAP_1][0xd4] = op_bcd;
    emu_ops[MAP_1][0xd5] = op_bcd;
    for (int op = 0x40; op <= 0x4f; op++)
        emu_ops[MAP_1][op] = op_incdec_reg;
    for (int op = 0x80; op <= 0x83; op++)
        emu_ops[MAP_1][op] = op_grp1;
    emu_ops[MAP_1][0x84] = op_test;
    emu_ops[MAP_1][0x85] = op_test;
    emu_ops[MAP_1][0xa8] = op_test;
    emu_ops[MAP_1][0xa9] = op_test;
    emu_ops[MAP_1][0x69] = op_imul_rm;
    emu_ops[MAP_1][0x6b] = op_imul_rm;
    emu_ops[MAP_0F][0xaf] = op_imul_rm;
    emu_ops[MAP_1][0xc0] = op_grp2;
    emu_ops[MAP_1][0xc1] = op_grp2;
    for (int op = 0xd0; op <= 0xd3; op++)
        emu_ops[MAP_1][op] = op_grp2;
    emu_ops[MAP_0F][0xa4] = op_shld_shrd;
    emu_ops[MAP_0F][0xa5] = op_shld_shrd;
    emu_ops[MAP_0F][0xac] = op_shld_shrd;
    emu_ops[MAP_0F][0xad] = op_shld_shrd;
    emu_ops[MAP_1][0xf6] = op_grp3;
    emu_ops[MAP_1][0xf7] = op_grp3;
    emu_ops[MAP_1][0xfe] = op_grp4;
    emu_ops[MAP_1][0xf5] = op_flagop;
    emu_ops[MAP_1][0xf8] = op_flagop;
    emu_ops[MAP_1][0xf9] = op_flagop;
    emu_ops[MAP_1][0xfc] = op_flagop;
    emu_ops[MAP_1][0xfd] = op_flagop;
    emu_ops[MAP_1][0x9e] = op_flagop;
    emu_ops[MAP_1][0x9f] = op_flagop;
}

/* ---- flag-free variants ---------------------------------------------------
 * When a block shows that the arithmetic flags an instruction writes are
 * overwritten before anything can observe them (cache.c, using
 * emu_flag_effect), its handler is replaced by one of these, which compute
 * only the result.  Candidates are register-only, so they never fault. */

static HANDLER(op_alu_nf)
{
    int op = emu_alu_op(i);
    if (op == ALU_CMP)
        return;
    unsigned size = op_size_w(i);
    switch (i->op & 7) {
    case 0: case 1:
        reg_set(c, i->rm, size, i->prefix,
                alu_exec(c, op, size, reg_get(c, i->rm, size, i->prefix), reg_get(c, i->reg, size, i->prefix), false));
        return;
    case 2: case 3:
        reg_set(c, i->reg, size, i->prefix,
                alu_exec(c, op, size, reg_get(c, i->reg, size, i->prefix), reg_get(c, i->rm, size, i->prefix), false));
        return;
    default:
        reg_set(c, R_RAX, size, PFX_REX, alu_exec(c, op, size, reg_get(c, R_RAX, size, PFX_REX), i->imm, false));
        return;
    }
}

static HANDLER(op_grp1_nf)
{
    int op = emu_alu_op(i);
    if (op == ALU_CMP)
        return;
    unsigned size = i->op == 0x81 || i->op == 0x83 ? i->opsize : 1;
    reg_set(c, i->rm, size, i->prefix, alu_exec(c, op, size, reg_get(c, i->rm, size, i->prefix), i->imm, false));
}

static HANDLER(op_flags_only_nf)   /* TEST and CMP whose flags are dead */
{
    (void)c;
    (void)i;
}

static HANDLER(op_grp2_nf)
{
    unsigned size = op_size_w(i);
    unsigned cnt = i->op <= 0xc1 ? (unsigned)i->imm : i->op <= 0xd1 ? 1 : (unsigned)(c->gpr[R_RCX] & 0xff);
    cnt &= size == 8 ? 63 : 31;
    uint64_t v = reg_get(c, i->rm, size, i->prefix), r;
    if (!cnt) {
        if (size == 4)
            c->gpr[i->rm] &= 0xffffffffULL;
        return;
    }
    int g = GRP(i);
    if (g == SH_RCL || g == SH_RCR)
        r = shift_rotate(c, (unsigned)g, size, v, cnt);   /* needs CF in anyway */
    else
        r = shift_result(g, size, v, cnt);
    reg_set(c, i->rm, size, i->prefix, r);
}

static HANDLER(op_incdec_nf)   /* 40-4F, FE/FF /0 /1 with a register */
{
    bool dec = i->kind == EK_DEC;
    if (i->op >= 0x40 && i->op <= 0x4f) {
        unsigned r = i->op & 7;
        reg_set(c, r, i->opsize, PFX_REX, incdec_exec(c, i->opsize, c->gpr[r], dec, false));
        return;
    }
    unsigned size = i->op == 0xfe ? 1 : i->opsize;
    reg_set(c, i->rm, size, i->prefix, incdec_exec(c, size, reg_get(c, i->rm, size, i->prefix), dec, false));
}

static HANDLER(op_imul_nf)   /* IMUL r, r (0F AF), r, r, imm (69, 6B) */
{
    unsigned size = i->opsize;
    uint64_t a = c->gpr[i->rm];
    uint64_t b = i->map == MAP_0F ? c->gpr[i->reg] : i->imm;
    /* The low half of a product does not depend on signedness. */
    reg_set(c, i->reg, size, PFX_REX, a * b);
}

/* The flag-free variant of a generic register-only handler (opt.c uses it
 * when a later instruction of the block overwrites the flags), or NULL. */
emu_handler emu_arith_nf(const struct emu_insn *i)
{
    if ((i->prefix & PFX_LOCK) || i->mod != 3)
        return NULL;
    switch (i->kind) {
    case EK_ALU: return i->op < 0x40 ? op_alu_nf : op_grp1_nf;
    case EK_TEST: return i->op == 0xf6 || i->op == 0xf7 ? NULL : op_flags_only_nf;
    case EK_SHIFT: return op_grp2_nf;
    case EK_INC: case EK_DEC: return op_incdec_nf;
    case EK_IMUL: return op_imul_nf;
    default: return NULL;
    }
}
