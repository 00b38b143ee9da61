/* BMI1 and BMI2 (the VEX-encoded general-purpose instructions of map 0F38
 * and RORX in 0F3A) and TZCNT (F3 0F BC).  Flags as the SDM gives them; the
 * ones it calls undefined are set as Intel CPUs set them where cpu_diff
 * compares them, else cleared. */
#include "engine/emu/ops.h"

/* Every VEX form here: #UD in real mode (emu has no virtual-8086 mode) and
 * with VEX.L. */
static unsigned bmi_size(struct emu_cpu *c, const struct emu_insn *i)
{
    if (c->mode == MODE_REAL || VEX_L(i))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    return i->opsize;
}

static uint64_t vreg(const struct emu_cpu *c, const struct emu_insn *i, unsigned size)
{
    return c->gpr[VEX_VVVV(i)] & emu_size_mask(size);
}

/* Sets ZF and SF from the result, CF as given, OF = 0 (AF and PF cleared). */
static void bmi_flags(struct emu_cpu *c, uint64_t res, unsigned size, bool cf)
{
    uint64_t f = flags_szp(res, size) & (RFLAGS_ZF | RFLAGS_SF);
    flags_update(c, FLAGS_ARITH, f | (cf ? RFLAGS_CF : 0));
}

static void set_dst(struct emu_cpu *c, unsigned r, unsigned size, uint64_t v)
{
    c->gpr[r] = v & emu_size_mask(size);   /* 32-bit results zero-extend */
}

static HANDLER(op_andn)      /* VEX.0F38 F2, pp none */
{
    if (i->prefix & (PFX_OPSIZE | PFX_REP | PFX_REPNE))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    unsigned size = bmi_size(c, i);
    uint64_t r = ~vreg(c, i, size) & rm_get(c, i, size) & emu_size_mask(size);
    set_dst(c, i->reg, size, r);
    bmi_flags(c, r, size, false);
}

static HANDLER(op_grp17)     /* VEX.0F38 F3 /1 BLSR, /2 BLSMSK, /3 BLSI */
{
    unsigned g = GRP_OF(i);
    if ((i->prefix & (PFX_OPSIZE | PFX_REP | PFX_REPNE)) || g < 1 || g > 3)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    unsigned size = bmi_size(c, i);
    uint64_t m = emu_size_mask(size), s = rm_get(c, i, size), r;
    if (g == 1)
        r = s & (s - 1);
    else if (g == 2)
        r = s ^ (s - 1);
    else
        r = s & (0 - s);
    r &= m;
    set_dst(c, VEX_VVVV(i), size, r);
    if (g == 2)   /* BLSMSK: ZF always clear */
        flags_update(c, FLAGS_ARITH, (flags_szp(r, size) & RFLAGS_SF) | (s ? 0 : RFLAGS_CF));
    else          /* BLSR: CF = source 0; BLSI: CF = source not 0 */
        bmi_flags(c, r, size, g == 1 ? s == 0 : s != 0);
}

static HANDLER(op_f5)        /* VEX.0F38 F5: BZHI (none), PEXT (F3), PDEP (F2) */
{
    if (i->prefix & PFX_OPSIZE)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    unsigned size = bmi_size(c, i), bits = size * 8;
    uint64_t src = rm_get(c, i, size), v = vreg(c, i, size), r = 0;
    if (i->prefix & (PFX_REP | PFX_REPNE)) {
        bool ext = i->prefix & PFX_REP;
        /* PEXT gathers the bits of the source (vvvv) the mask (r/m) selects
         * into the low bits; PDEP scatters the low bits to the mask's. */
        uint64_t mask = src;
        unsigned k = 0;
        for (unsigned b = 0; b < bits; b++) {
            if (!((mask >> b) & 1))
                continue;
            if (ext)
                r |= ((v >> b) & 1) << k;
            else
                r |= ((v >> k) & 1) << b;
            k++;
        }
        set_dst(c, i->reg, size, r);
        return;
    }
    /* BZHI: zero the bits from index n (vvvv[7:0]) up; CF when n is past the end. */
    unsigned n = (unsigned)(v & 0xff);
    r = n < bits ? src & ((1ULL << n) - 1) : src;
    set_dst(c, i->reg, size, r);
    bmi_flags(c, r, size, n > bits - 1);
}

static HANDLER(op_mulx)      /* VEX.F2.0F38 F6: rdx * r/m -> reg:vvvv (hi:lo), no flags */
{
    if ((i->prefix & (PFX_OPSIZE | PFX_REP)) || !(i->prefix & PFX_REPNE))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    unsigned size = bmi_size(c, i);
    uint64_t s = rm_get(c, i, size), lo, hi;
    if (size == 8) {
        unsigned __int128 p = (unsigned __int128)c->gpr[R_RDX] * s;
        lo = (uint64_t)p;
        hi = (uint64_t)(p >> 64);
    } else {
        uint64_t p = (uint64_t)(uint32_t)c->gpr[R_RDX] * (uint32_t)s;
        lo = (uint32_t)p;
        hi = p >> 32;
    }
    /* Low half first: with the same register for both, the high half wins. */
    set_dst(c, VEX_VVVV(i), size, lo);
    set_dst(c, i->reg, size, hi);
}

static HANDLER(op_f7)        /* VEX.0F38 F7: BEXTR (none), SHLX (66), SARX (F3), SHRX (F2) */
{
    unsigned size = bmi_size(c, i), bits = size * 8;
    uint64_t src = rm_get(c, i, size), v = vreg(c, i, size), r;
    if (i->prefix & (PFX_OPSIZE | PFX_REP | PFX_REPNE)) {
        unsigned cnt = (unsigned)(v & (bits - 1));
        if (i->prefix & PFX_OPSIZE)
            r = src << cnt;
        else if (i->prefix & PFX_REPNE)
            r = src >> cnt;
        else
            r = (uint64_t)((int64_t)sext(src, size) >> cnt);
        set_dst(c, i->reg, size, r);
        return;
    }
    /* BEXTR: start v[7:0], length v[15:8]. */
    unsigned start = (unsigned)(v & 0xff), len = (unsigned)((v >> 8) & 0xff);
    r = start < bits ? src >> start : 0;
    if (len < 64)
        r &= (1ULL << len) - 1;
    r &= emu_size_mask(size);
    set_dst(c, i->reg, size, r);
    flags_update(c, FLAGS_ARITH, r ? 0 : RFLAGS_ZF);
}

static HANDLER(op_rorx)      /* VEX.F2.0F3A F0 ib: rotate right, no flags */
{
    if ((i->prefix & (PFX_OPSIZE | PFX_REP)) || !(i->prefix & PFX_REPNE))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    unsigned size = bmi_size(c, i), bits = size * 8;
    uint64_t s = rm_get(c, i, size);
    unsigned cnt = (unsigned)(i->imm & (bits - 1));
    uint64_t r = cnt ? (s >> cnt) | (s << (bits - cnt)) : s;
    set_dst(c, i->reg, size, r);
}

/* F3 0F BC: TZCNT (BMI1); without F3 it is BSF (ops_bits.c). */
static emu_handler bsf_bsr;
static HANDLER(op_tzcnt)
{
    if (!(i->prefix & PFX_REP)) {
        bsf_bsr(c, i);
        return;
    }
    unsigned size = i->opsize, bits = size * 8;
    uint64_t v = rm_get(c, i, size);
    uint64_t r = v ? (uint64_t)__builtin_ctzll(v) : bits;
    reg_set(c, i->reg, size, i->prefix, r);
    /* OF SF AF PF are undefined: cleared, as Intel CPUs do. */
    flags_update(c, FLAGS_ARITH, (v ? 0 : RFLAGS_CF) | (r ? 0 : RFLAGS_ZF));
}

void emu_bmi_register(void)
{
    emu_vex_ops[MAP_0F38][0xf2] = op_andn;
    emu_vex_ops[MAP_0F38][0xf3] = op_grp17;
    emu_vex_ops[MAP_0F38][0xf5] = op_f5;
    emu_vex_ops[MAP_0F38][0xf6] = op_mulx;
    emu_vex_ops[MAP_0F38][0xf7] = op_f7;
    emu_vex_ops[MAP_0F3A][0xf0] = op_rorx;
    bsf_bsr = emu_ops[MAP_0F][0xbc];
    emu_ops[MAP_0F][0xbc] = op_tzcnt;
}
