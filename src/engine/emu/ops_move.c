/* Data movement and miscellany: MOV forms, MOVZX/MOVSX/MOVSXD, LEA, XCHG,
 * CMPXCHG/CMPXCHG8B/16B, XADD, PUSH/POP forms, PUSHA/POPA, ENTER/LEAVE,
 * sign extension of rAX, XLAT, NOPs and hints, UD2, CPUID, RDTSC, RDRAND. */
#include <sys/random.h>
#include <time.h>

#include "engine/emu/ops.h"
#include "machine/vm.h"

#define GRP(i) (((i)->modrm >> 3) & 7)

static HANDLER(op_mov)
{
    unsigned size = op_size_w(i);
    switch (i->op) {
    case 0x88: case 0x89:
        rm_set(c, i, size, reg_get(c, i->reg, size, i->prefix));
        return;
    case 0x8a: case 0x8b:
        reg_set(c, i->reg, size, i->prefix, rm_get(c, i, size));
        return;
    case 0xc6: case 0xc7:
        if (GRP(i) != 0)
            emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
        rm_set(c, i, size, i->imm);
        return;
    case 0xa0: case 0xa1:
        reg_set(c, R_RAX, size, PFX_REX, lin_read(c, ea(c, i, size, false), size));
        return;
    case 0xa2: case 0xa3:
        lin_write(c, ea(c, i, size, true), size, reg_get(c, R_RAX, size, PFX_REX));
        return;
    }
}

/* Specialized forms of the most frequent MOVs (chosen at decode time). */
static HANDLER(op_mov_st_r64) { c->gpr[i->rm] = c->gpr[i->reg]; }
static HANDLER(op_mov_ld_r64) { c->gpr[i->reg] = c->gpr[i->rm]; }
static HANDLER(op_mov_st_r32) { c->gpr[i->rm] = (uint32_t)c->gpr[i->reg]; }
static HANDLER(op_mov_ld_r32) { c->gpr[i->reg] = (uint32_t)c->gpr[i->rm]; }
static HANDLER(op_mov_ld_m64) { c->gpr[i->reg] = lin_read(c, ea(c, i, 8, false), 8); }
static HANDLER(op_mov_ld_m32) { c->gpr[i->reg] = lin_read(c, ea(c, i, 4, false), 4); }
static HANDLER(op_mov_st_m64) { lin_write(c, ea(c, i, 8, true), 8, c->gpr[i->reg]); }
static HANDLER(op_mov_st_m32) { lin_write(c, ea(c, i, 4, true), 4, c->gpr[i->reg]); }

emu_handler emu_specialize(const struct emu_insn *i)
{
    emu_handler fast = emu_fast_handler(i);
    if (fast)
        return fast;
    if (i->kind == EK_MOV && (i->op == 0x89 || i->op == 0x8b) && (i->opsize == 8 || i->opsize == 4)) {
        bool q = i->opsize == 8, st = i->op == 0x89;
        if (i->mod == 3)
            return st ? (q ? op_mov_st_r64 : op_mov_st_r32) : (q ? op_mov_ld_r64 : op_mov_ld_r32);
        return st ? (q ? op_mov_st_m64 : op_mov_st_m32) : (q ? op_mov_ld_m64 : op_mov_ld_m32);
    }
    return i->fn;
}

static HANDLER(op_mov_imm)
{
    if (i->op < 0xb8)
        reg_set(c, i->rm, 1, i->prefix, i->imm);
    else
        reg_set(c, i->rm, i->opsize, PFX_REX, i->imm);
}

static HANDLER(op_movx)   /* 0F B6 B7 BE BF */
{
    unsigned ss = (i->op & 1) ? 2 : 1;
    uint64_t v = rm_get(c, i, ss);
    if (i->op >= 0xbe)
        v = sext(v, ss);
    reg_set(c, i->reg, i->opsize, i->prefix, v);
}

/* ARPL r/m16, r16 (63 outside 64-bit mode; #UD in real mode). */
static void arpl(struct emu_cpu *c, const struct emu_insn *i)
{
    if (c->mode == MODE_REAL)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    uint64_t dst = rm_get(c, i, 2), src = reg_get(c, i->reg, 2, i->prefix);
    if ((dst & 3) < (src & 3)) {
        rm_set(c, i, 2, (dst & ~3ULL) | (src & 3));
        flags_update(c, RFLAGS_ZF, RFLAGS_ZF);
    } else {
        flags_update(c, RFLAGS_ZF, 0);
    }
}

/* BOUND r, m16&16 / m32&32 (62, outside 64-bit mode): #BR when out of range. */
static HANDLER(op_bound)
{
    if (i->mod == 3)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    unsigned size = i->opsize;
    uint64_t la = ea(c, i, size * 2, false);
    int64_t lo = (int64_t)sext(lin_read(c, la, size), size);
    int64_t hi = (int64_t)sext(lin_read(c, la + size, size), size);
    int64_t idx = (int64_t)sext(reg_get(c, i->reg, size, i->prefix), size);
    if (idx < lo || idx > hi)
        emu_raise(c, EXC_BR, EMU_NO_ERRCODE);
}

static HANDLER(op_movsxd)   /* 63 in 64-bit mode; ARPL elsewhere */
{
    if (c->mode != MODE_LONG64) {
        arpl(c, i);
        return;
    }
    if (i->opsize == 8)
        reg_set(c, i->reg, 8, i->prefix, sext(rm_get(c, i, 4), 4));
    else
        reg_set(c, i->reg, i->opsize, i->prefix, rm_get(c, i, i->opsize));
}

static HANDLER(op_lea)
{
    if (i->mod == 3)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    uint64_t a = ea_off(c, i);
    reg_set(c, i->reg, i->opsize, i->prefix, a);
}

static uint64_t xchg_atomic(void *p, unsigned size, uint64_t v)
{
    switch (size) {
    case 1: return __atomic_exchange_n((uint8_t *)p, (uint8_t)v, __ATOMIC_SEQ_CST);
    case 2: return __atomic_exchange_n((uint16_t *)p, (uint16_t)v, __ATOMIC_SEQ_CST);
    case 4: return __atomic_exchange_n((uint32_t *)p, (uint32_t)v, __ATOMIC_SEQ_CST);
    default: return __atomic_exchange_n((uint64_t *)p, v, __ATOMIC_SEQ_CST);
    }
}

static HANDLER(op_xchg)
{
    if (i->op >= 0x90) {   /* 90+r: xchg rAX, r (90 without REX.B is NOP/PAUSE) */
        if (i->rm == 0)
            return;
        if (i->op == 0x90 && (i->prefix & PFX_REP))
            return;        /* F3 REX.B 90 is PAUSE too on Intel CPUs: no exchange */
        unsigned size = i->opsize;
        uint64_t a = reg_get(c, R_RAX, size, PFX_REX), b = reg_get(c, i->rm, size, PFX_REX);
        reg_set(c, R_RAX, size, PFX_REX, b);
        reg_set(c, i->rm, size, PFX_REX, a);
        return;
    }
    unsigned size = op_size_w(i);
    uint64_t r = reg_get(c, i->reg, size, i->prefix);
    if (i->mod == 3) {
        uint64_t m = reg_get(c, i->rm, size, i->prefix);
        reg_set(c, i->rm, size, i->prefix, r);
        reg_set(c, i->reg, size, i->prefix, m);
        return;
    }
    uint64_t la = ea(c, i, size, true), old;
    void *p = emu_rmw_ptr(c, la, size);   /* XCHG with memory is always locked */
    if (p) {
        old = xchg_atomic(p, size, r);
    } else {
        old = lin_read(c, la, size);
        lin_write(c, la, size, r);
    }
    reg_set(c, i->reg, size, i->prefix, old);
}

static bool cas_sz(void *p, unsigned size, uint64_t *old, uint64_t nv)
{
    switch (size) {
    case 1: { uint8_t o = (uint8_t)*old; bool r = __atomic_compare_exchange_n((uint8_t *)p, &o, (uint8_t)nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); *old = o; return r; }
    case 2: { uint16_t o = (uint16_t)*old; bool r = __atomic_compare_exchange_n((uint16_t *)p, &o, (uint16_t)nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); *old = o; return r; }
    case 4: { uint32_t o = (uint32_t)*old; bool r = __atomic_compare_exchange_n((uint32_t *)p, &o, (uint32_t)nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); *old = o; return r; }
    default: return __atomic_compare_exchange_n((uint64_t *)p, old, nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    }
}

static HANDLER(op_cmpxchg)   /* 0F B0 B1 */
{
    unsigned size = op_size_w(i);
    uint64_t mask = emu_size_mask(size);
    uint64_t acc = reg_get(c, R_RAX, size, PFX_REX);
    uint64_t src = reg_get(c, i->reg, size, i->prefix);
    uint64_t dst;
    bool eq;
    if (i->mod == 3) {
        dst = reg_get(c, i->rm, size, i->prefix);
        eq = dst == acc;
        if (eq)
            reg_set(c, i->rm, size, i->prefix, src);
    } else {
        uint64_t la = ea(c, i, size, true);
        void *p = (i->prefix & PFX_LOCK) ? emu_rmw_ptr(c, la, size) : NULL;
        if (p) {
            dst = acc;
            eq = cas_sz(p, size, &dst, src);
        } else {
            dst = lin_read(c, la, size);
            eq = dst == acc;
            lin_write(c, la, size, eq ? src : dst);
        }
    }
    if (!eq)
        reg_set(c, R_RAX, size, PFX_REX, dst);
    cc_set(c, CC_OP_SUB, size, (acc - dst) & mask, acc, dst);
}

static HANDLER(op_xadd)   /* 0F C0 C1 */
{
    unsigned size = op_size_w(i);
    uint64_t mask = emu_size_mask(size);
    uint64_t src = reg_get(c, i->reg, size, i->prefix), dst, r;
    if (i->mod == 3) {
        dst = reg_get(c, i->rm, size, i->prefix);
        r = (dst + src) & mask;
        reg_set(c, i->reg, size, i->prefix, dst);
        reg_set(c, i->rm, size, i->prefix, r);
    } else {
        uint64_t la = ea(c, i, size, true);
        void *p = (i->prefix & PFX_LOCK) ? emu_rmw_ptr(c, la, size) : NULL;
        if (p) {
            switch (size) {
            case 1: dst = __atomic_fetch_add((uint8_t *)p, (uint8_t)src, __ATOMIC_SEQ_CST); break;
            case 2: dst = __atomic_fetch_add((uint16_t *)p, (uint16_t)src, __ATOMIC_SEQ_CST); break;
            case 4: dst = __atomic_fetch_add((uint32_t *)p, (uint32_t)src, __ATOMIC_SEQ_CST); break;
            default: dst = __atomic_fetch_add((uint64_t *)p, src, __ATOMIC_SEQ_CST); break;
            }
            r = (dst + src) & mask;
        } else {
            dst = lin_read(c, la, size);
            r = (dst + src) & mask;
            lin_write(c, la, size, r);
        }
        reg_set(c, i->reg, size, i->prefix, dst);
    }
    cc_set(c, CC_OP_ADD, size, r, dst, src);
}

static bool cas16(void *p, uint64_t *lo, uint64_t *hi, uint64_t nlo, uint64_t nhi)
{
    bool ok;
    __asm__ volatile("lock cmpxchg16b %1"
                     : "=@ccz"(ok), "+m"(*(volatile __int128 *)p), "+a"(*lo), "+d"(*hi)
                     : "b"(nlo), "c"(nhi)
                     : "memory");
    return ok;
}

static HANDLER(op_grp9)   /* 0F C7: /1 CMPXCHG8B/16B, /4 XSAVEC, /6 RDRAND (RDSEED is not advertised: #UD) */
{
    unsigned g = GRP(i);
    if (g == 1 && i->mod != 3) {   /* F2/F3 are ignored (XACQUIRE/XRELEASE hints with LOCK) */
        uint64_t la = ea(c, i, i->opsize == 8 ? 16u : 8u, true);
        bool wide = i->opsize == 8;
        bool eq;
        if (wide) {
            if (la & 15)
                emu_raise(c, EXC_GP, 0);
            uint64_t lo = c->gpr[R_RAX], hi = c->gpr[R_RDX];
            void *p = emu_rmw_ptr(c, la, 16);
            if (p) {
                eq = cas16(p, &lo, &hi, c->gpr[R_RBX], c->gpr[R_RCX]);
            } else {
                uint64_t m[2];
                emu_read_buf(c, la, m, 16);
                eq = m[0] == lo && m[1] == hi;
                if (eq) {
                    m[0] = c->gpr[R_RBX];
                    m[1] = c->gpr[R_RCX];
                }
                emu_write_buf(c, la, m, 16);
                lo = eq ? lo : m[0];
                hi = eq ? hi : m[1];
            }
            if (!eq) {
                c->gpr[R_RAX] = lo;
                c->gpr[R_RDX] = hi;
            }
        } else {
            uint64_t expect = (c->gpr[R_RAX] & 0xffffffff) | (c->gpr[R_RDX] << 32);
            uint64_t nv = (c->gpr[R_RBX] & 0xffffffff) | (c->gpr[R_RCX] << 32);
            uint64_t cur = expect;
            void *p = emu_rmw_ptr(c, la, 8);
            if (p) {
                eq = __atomic_compare_exchange_n((uint64_t *)p, &cur, nv, false, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
            } else {
                cur = lin_read(c, la, 8);
                eq = cur == expect;
                lin_write(c, la, 8, eq ? nv : cur);
            }
            if (!eq) {
                c->gpr[R_RAX] = (uint32_t)cur;
                c->gpr[R_RDX] = cur >> 32;
            }
        }
        flags_update(c, RFLAGS_ZF, eq ? RFLAGS_ZF : 0);
        return;
    }
    if (g == 4 && i->mod != 3 && !(i->prefix & (PFX_OPSIZE | PFX_REP | PFX_REPNE))) {
        emu_xsavec(c, i);   /* xsave.c */
        return;
    }
    if (g == 6 && i->mod == 3 && !(i->prefix & (PFX_REP | PFX_REPNE))) {
        uint64_t v = 0;
        if (getrandom(&v, sizeof(v), 0) != (ssize_t)sizeof(v)) {
            /* No entropy now: architecturally CF = 0 and a zero result. */
            reg_set(c, i->rm, i->opsize, i->prefix, 0);
            flags_update(c, FLAGS_ARITH, 0);
            return;
        }
        reg_set(c, i->rm, i->opsize, i->prefix, v);
        flags_update(c, FLAGS_ARITH, RFLAGS_CF);
        return;
    }
    emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
}

/* ---- stack --------------------------------------------------------------- */

static HANDLER(op_push_reg)
{
    push(c, i->opsize, reg_get(c, i->rm, i->opsize, PFX_REX));
}

static HANDLER(op_pop_reg)
{
    uint64_t v = stack_peek(c, i->opsize, 0);
    stack_adjust(c, i->opsize);
    reg_set(c, i->rm, i->opsize, PFX_REX, v);
}

static HANDLER(op_push_imm)
{
    push(c, i->opsize, i->imm);
}

static HANDLER(op_pop_rm)   /* 8F /0 */
{
    if (GRP(i) != 0)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    unsigned size = i->opsize;
    uint64_t v = stack_peek(c, size, 0);
    if (i->mod == 3) {
        stack_adjust(c, size);
        reg_set(c, i->rm, size, i->prefix, v);
        return;
    }
    /* The address is computed with the incremented stack pointer. */
    struct emu_insn t = *i;
    if (t.base == R_RSP)
        t.disp += size;
    uint64_t la = ea(c, &t, size, true);
    lin_probe_write(c, la, size);
    lin_write(c, la, size, v);
    stack_adjust(c, size);
}

static HANDLER(op_pusha)
{
    unsigned size = i->opsize;
    uint64_t sp = c->gpr[R_RSP];
    for (int r = R_RAX; r <= R_RDI; r++)
        push(c, size, r == R_RSP ? sp : c->gpr[r]);
}

static HANDLER(op_popa)
{
    unsigned size = i->opsize;
    uint64_t v[8];
    for (int k = 0; k < 8; k++)
        v[k] = stack_peek(c, size, (uint64_t)k * size);
    for (int k = 0; k < 8; k++)
        if (R_RDI - k != R_RSP)
            reg_set(c, R_RDI - k, size, PFX_REX, v[k]);
    stack_adjust(c, 8 * size);
}

static HANDLER(op_enter)
{
    unsigned size = i->opsize, as = stack_asize(c);
    uint64_t amask = emu_size_mask(as);
    unsigned level = (unsigned)(i->imm2 & 31);
    uint64_t sp = c->gpr[R_RSP], bp = c->gpr[R_RBP];
    sp = (sp - size) & amask;
    lin_write(c, stack_la(c, sp, size, true), size, bp);
    uint64_t frame = sp;
    for (unsigned k = 1; k < level; k++) {
        bp = (bp - size) & amask;
        uint64_t v = lin_read(c, stack_la(c, bp, size, false), size);
        sp = (sp - size) & amask;
        lin_write(c, stack_la(c, sp, size, true), size, v);
    }
    if (level > 0) {
        sp = (sp - size) & amask;
        lin_write(c, stack_la(c, sp, size, true), size, frame);
    }
    sp = (sp - (i->imm & 0xffff)) & amask;
    stack_la(c, sp, 1, true);   /* the new stack top must be addressable */
    reg_set(c, R_RBP, size, PFX_REX, frame);
    reg_set(c, R_RSP, as, PFX_REX, sp);
}

static HANDLER(op_leave)
{
    unsigned size = i->opsize, as = stack_asize(c);
    uint64_t bp = c->gpr[R_RBP] & emu_size_mask(as);
    uint64_t v = lin_read(c, stack_la(c, bp, size, false), size);
    reg_set(c, R_RSP, as, PFX_REX, bp + size);
    reg_set(c, R_RBP, size, PFX_REX, v);
}

/* ---- miscellany ---------------------------------------------------------- */

static HANDLER(op_cbw)   /* 98: CBW/CWDE/CDQE */
{
    unsigned size = i->opsize;
    reg_set(c, R_RAX, size, PFX_REX, sext(c->gpr[R_RAX], size / 2));
}

static HANDLER(op_cwd)   /* 99: CWD/CDQ/CQO */
{
    unsigned size = i->opsize;
    uint64_t a = reg_get(c, R_RAX, size, PFX_REX);
    reg_set(c, R_RDX, size, PFX_REX, (a >> (size * 8 - 1)) ? ~0ULL : 0);
}

static HANDLER(op_xlat)
{
    uint64_t off = (c->gpr[R_RBX] + (c->gpr[R_RAX] & 0xff)) & emu_size_mask(i->adsize);
    reg_set(c, R_RAX, 1, PFX_REX, lin_read(c, emu_linear(c, i->seg, off, 1, false), 1));
}

static HANDLER(op_nop)
{
    (void)c;
    (void)i;
}

static HANDLER(op_wait)
{
    (void)i;
    if ((c->cr0 & (CR0_MP | CR0_TS)) == (CR0_MP | CR0_TS))
        emu_raise(c, EXC_NM, EMU_NO_ERRCODE);
}

static HANDLER(op_cpuid)
{
    (void)i;
    uint32_t out[4];
    emu_epoch_serialize(&c->mmu, EMU_EPOCH_CPUID);   /* cross-modified code becomes visible */
    emu_cpuid(c, (uint32_t)c->gpr[R_RAX], (uint32_t)c->gpr[R_RCX], out);
    c->gpr[R_RAX] = out[0];
    c->gpr[R_RBX] = out[1];
    c->gpr[R_RCX] = out[2];
    c->gpr[R_RDX] = out[3];
}

uint64_t emu_rdtsc(struct emu_cpu *c)
{
    /* Guest time: the TSC stands still while the machine is paused. */
    uint64_t ns = guest_clock_now(c->vm ? &c->vm->clock : NULL);
    /* EMU_TSC_HZ is 2 GHz: two ticks a nanosecond. */
    return ns * (EMU_TSC_HZ / 1000000000ULL) + (uint64_t)c->tsc_offset;
}

static HANDLER(op_rdtsc)
{
    (void)i;
    if ((c->cr4 & (1ULL << 2)) && c->cpl != 0)   /* CR4.TSD */
        emu_raise(c, EXC_GP, 0);
    uint64_t t = emu_rdtsc(c);
    c->gpr[R_RAX] = (uint32_t)t;
    c->gpr[R_RDX] = t >> 32;
}

static HANDLER(op_ud2)
{
    (void)i;
    emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
}

void emu_move_register(void)
{
    for (int op = 0x88; op <= 0x8b; op++)
        emu_ops[MAP_1][op] = op_mov;
    emu_ops[MAP_1][0xc6] = op_mov;
    emu_ops[MAP_1][0xc7] = op_mov;
    for (int op = 0xa0; op <= 0xa3; op++)
        emu_ops[MAP_1][op] = op_mov;
    for (int op = 0xb0; op <= 0xbf; op++)
        emu_ops[MAP_1][op] = op_mov_imm;
    emu_ops[MAP_0F][0xb6] = op_movx;
    emu_ops[MAP_0F][0xb7] = op_movx;
    emu_ops[MAP_0F][0xbe] = op_movx;
    emu_ops[MAP_0F][0xbf] = op_movx;
    emu_ops[MAP_1][0x63] = op_movsxd;
    emu_ops[MAP_1][0x62] = op_bound;
    emu_ops[MAP_1][0x8d] = op_lea;
    emu_ops[MAP_1][0x86] = op_xchg;
    emu_ops[MAP_1][0x87] = op_xchg;
    for (int op = 0x90; op <= 0x97; op++)
        emu_ops[MAP_1][op] = op_xchg;
    emu_ops[MAP_0F][0xb0] = op_cmpxchg;
    emu_ops[MAP_0F][0xb1] = op_cmpxchg;
    emu_ops[MAP_0F][0xc0] = op_xadd;
    emu_ops[MAP_0F][0xc1] = op_xadd;
    emu_ops[MAP_0F][0xc7] = op_grp9;
    for (int op = 0x50; op <= 0x57; op++)
        emu_ops[MAP_1][op] = op_push_reg;
    for (int op = 0x58; op <= 0x5f; op++)
        emu_ops[MAP_1][op] = op_pop_reg;
    emu_ops[MAP_1][0x68] = op_push_imm;
    emu_ops[MAP_1][0x6a] = op_push_imm;
    emu_ops[MAP_1][0x8f] = op_pop_rm;
    emu_ops[MAP_1][0x60] = op_pusha;
    emu_ops[MAP_1][0x61] = op_popa;
    emu_ops[MAP_1][0xc8] = op_enter;
    emu_ops[MAP_1][0xc9] = op_leave;
    emu_ops[MAP_1][0x98] = op_cbw;
    emu_ops[MAP_1][0x99] = op_cwd;
    emu_ops[MAP_1][0xd7] = op_xlat;
    if (!emu_ops[MAP_1][0x9b])   /* x87.c owns FWAIT when it checks pending exceptions */
        emu_ops[MAP_1][0x9b] = op_wait;
    /* 0F 0D: PREFETCH/PREFETCHW hints, which Intel CPUs (emu is one) run as
     * NOPs even with a register operand; AMD's raise #UD for that form. */
    emu_ops[MAP_0F][0x0d] = op_nop;
    for (int op = 0x18; op <= 0x1f; op++)
        emu_ops[MAP_0F][op] = op_nop;
    emu_ops[MAP_0F][0x0b] = op_ud2;
    emu_ops[MAP_0F][0xa2] = op_cpuid;
    emu_ops[MAP_0F][0x31] = op_rdtsc;
}
