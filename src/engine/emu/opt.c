/* The optimisation passes over a decoded block, by semantic kind (ops.h):
 * how each instruction uses the arithmetic flags, which flags are live
 * after each instruction, dead flags (a flag-free handler where nothing can
 * see the flags an instruction writes) and compare-and-branch fusion.  The
 * block builder (cache.c) runs them for the interpreter; the translator
 * (jit.c) uses the same liveness to store only the flags someone can see. */
#include "engine/emu/alu.h"
#include "engine/emu/cache.h"

/* The groups of arithmetic flags a condition reads (Jcc/SETcc/CMOVcc). */
static const uint8_t cc_groups[8] = {
    FG_O, FG_C, FG_S, FG_C | FG_S, FG_S, FG_S, FG_S | FG_O, FG_S | FG_O,
};

void emu_flag_use(const struct emu_insn *i, struct emu_flag_use *u)
{
    bool reg = i->mod == 3;   /* also the forms without ModRM (04, A8, B8+r, ...) */
    *u = (struct emu_flag_use){ 0, 0, 0, 0, !reg };
    if (i->prefix & PFX_LOCK)
        goto handler;
    switch (i->kind) {
    case EK_ALU:
        u->must = u->may = FG_ALL;
        if (emu_alu_op(i) == ALU_ADC || emu_alu_op(i) == ALU_SBB)
            u->reads = FG_C;
        return;
    case EK_TEST: case EK_NEG: case EK_MUL: case EK_IMUL:
        u->must = u->may = FG_ALL;
        return;
    case EK_INC: case EK_DEC:
        /* CF is kept: the lazy record carries the one before. */
        u->must = u->may = FG_S | FG_O;
        u->rec_reads = FG_C;
        return;
    case EK_SHIFT: {
        int g = GRP_OF(i);
        bool byimm = i->op == 0xc0 || i->op == 0xc1, bycl = i->op == 0xd2 || i->op == 0xd3;
        unsigned cnt = byimm ? (unsigned)i->imm & (op_size_w(i) == 8 ? 63 : 31) : 1;
        if (byimm && cnt == 0)
            return;                       /* no flag changes */
        uint8_t w = g < SH_SHL ? FG_C | FG_O : FG_ALL;
        u->may = w;
        u->must = bycl ? 0 : w;           /* a count of 0 in CL changes nothing */
        if (g < SH_SHL)
            u->rec_reads = FG_S;          /* rotates keep SF ZF PF AF */
        if (g == SH_RCL || g == SH_RCR)
            u->reads = FG_C;
        return;
    }
    case EK_NOT: case EK_MOV: case EK_XCHG: case EK_MOVZX: case EK_MOVSX: case EK_MOVSXD:
        return;
    case EK_BT:
        /* CF only; the other flags stay (the record takes them from before).
         * A register bit offset into memory is a bit string: any address. */
        u->must = u->may = FG_C;
        u->rec_reads = FG_O | FG_S;
        return;
    case EK_BITSCAN:
        /* ZF only (part of the SF ZF PF AF group): the rest stay. */
        u->may = FG_S;
        u->rec_reads = FG_ALL;
        return;
    case EK_LEA:
        u->barrier = reg;                 /* LEA with a register is #UD */
        return;
    case EK_MOV_IMM: case EK_CBW: case EK_CWD: case EK_BSWAP: case EK_NOP:
        u->barrier = false;
        return;
    case EK_SETCC: case EK_CMOV:
        u->reads = cc_groups[emu_cc(i) >> 1];
        return;
    case EK_JCC:
        u->reads = cc_groups[emu_cc(i) >> 1];
        u->barrier = true;                /* taken, it leaves the block */
        return;
    default:
        break;
    }
handler:
    /* Only its handler knows: it may read or write any flag, or fault. */
    u->reads = u->may = FG_ALL;
    u->barrier = true;
}

uint8_t emu_flags_live(const struct emu_insn *insn, unsigned n, uint8_t *live_after)
{
    uint8_t live = FG_ALL;   /* after the block, anything may read them */
    for (unsigned k = n; k-- > 0;) {
        struct emu_flag_use u;
        emu_flag_use(&insn[k], &u);
        live_after[k] = live;
        bool kept = (live & u.may) != 0;
        live = (uint8_t)((live & ~u.must) | u.reads | (kept ? u.rec_reads : 0));
        if (u.barrier)
            live = FG_ALL;
    }
    return live;
}

/* The flag-free variant of a register-only flag-setting instruction. */
static emu_handler dead_flags_variant(const struct emu_insn *i)
{
    if (i->kind == EK_INVALID || (i->prefix & PFX_LOCK))
        return NULL;
    emu_handler h = emu_fast_nf(i);
    return h ? h : emu_arith_nf(i);
}

unsigned emu_block_optimize(struct emu_insn *insn, unsigned n)
{
    /* Dead flags: an instruction whose flags nothing can see before a
     * later one overwrites them (emu_flags_live) need not compute them.
     * (Blocks only ever run whole, or up to a taken branch: exec.c runs
     * partial runs instruction by instruction.) */
    bool dead[EMU_BLOCK_MAX_INSNS] = { false };
    uint8_t live[EMU_BLOCK_MAX_INSNS];
    emu_flags_live(insn, n, live);
    for (unsigned k = 0; k < n; k++) {
        struct emu_flag_use u;
        emu_flag_use(&insn[k], &u);
        if (!u.may || (live[k] & u.may) || u.barrier)
            continue;
        emu_handler nf = dead_flags_variant(&insn[k]);
        if (nf) {
            insn[k].fn = nf;
            dead[k] = true;
        }
    }

    /* Compare and branch pairs become one entry (ops_fast.c): the entry's
     * length covers both, imm2 holds the branch displacement. */
    unsigned m = 0;
    for (unsigned k = 0; k < n; k++, m++) {
        insn[m] = insn[k];
        emu_handler f = k + 1 < n && !dead[k] ? emu_fuse(&insn[k], &insn[k + 1]) : NULL;
        if (f) {
            insn[m].fn = f;
            insn[m].len = (uint8_t)(insn[k].len + insn[k + 1].len);
            insn[m].imm2 = insn[k + 1].imm;
            k++;
        }
    }
    return m;
}
