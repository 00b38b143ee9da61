/* The optimisation passes over a decoded block, by semantic kind (ops.h):
 * how each instruction touches the arithmetic flags, dead flags (a
 * flag-free handler where a later instruction overwrites the flags before
 * anything can see them) and compare-and-branch fusion.  The block builder
 * (cache.c) runs them for the interpreter; the translator (jit.c) asks the
 * same flag question of each instruction it compiles. */
#include "engine/emu/alu.h"
#include "engine/emu/cache.h"

/* How i touches the arithmetic flags: EMU_FLAGS_KILL writes all six
 * without reading any and cannot fault; EMU_FLAGS_NONE neither reads nor
 * writes them and cannot fault; everything else (EMU_FLAGS_OTHER) may read
 * them, or fault, which shows them to an exception handler. */
int emu_flag_effect(const struct emu_insn *i)
{
    if (i->prefix & PFX_LOCK)
        return EMU_FLAGS_OTHER;
    bool reg = i->mod == 3;   /* also the forms without ModRM (04, A8, B8+r, ...) */
    switch (i->kind) {
    case EK_ALU: {
        int op = emu_alu_op(i);
        return reg && op != ALU_ADC && op != ALU_SBB ? EMU_FLAGS_KILL : EMU_FLAGS_OTHER;
    }
    case EK_TEST: case EK_IMUL: case EK_NEG: case EK_MUL:
        return reg ? EMU_FLAGS_KILL : EMU_FLAGS_OTHER;
    case EK_SHIFT: {
        /* Shifts by a non-zero count write all six (AF is kept at 0);
         * rotates only CF and OF, and a zero count writes none. */
        if (!reg || GRP_OF(i) < SH_SHL)
            return EMU_FLAGS_OTHER;
        if (i->op == 0xd0 || i->op == 0xd1)
            return EMU_FLAGS_KILL;
        if (i->op == 0xc0 || i->op == 0xc1)
            return (i->imm & (op_size_w(i) == 8 ? 63 : 31)) ? EMU_FLAGS_KILL : EMU_FLAGS_OTHER;
        return EMU_FLAGS_OTHER;
    }
    case EK_NOT: case EK_MOV: case EK_XCHG: case EK_MOVZX: case EK_MOVSX:
        return reg ? EMU_FLAGS_NONE : EMU_FLAGS_OTHER;
    case EK_LEA:
        return reg ? EMU_FLAGS_OTHER : EMU_FLAGS_NONE;   /* LEA with a register is #UD */
    case EK_MOV_IMM: case EK_CBW: case EK_CWD: case EK_BSWAP: case EK_NOP:
        return EMU_FLAGS_NONE;
    default:
        return EMU_FLAGS_OTHER;   /* INC/DEC keep CF: they read it */
    }
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
    /* Dead flags: an instruction whose flags are overwritten by a later
     * one, with only flag-neutral, non-faulting instructions between,
     * need not compute them.  (Blocks only ever run whole, or up to a
     * taken branch: exec.c runs partial runs instruction by instruction.) */
    bool dead[EMU_BLOCK_MAX_INSNS] = { false };
    for (unsigned k = 0; k + 1 < n && k < EMU_BLOCK_MAX_INSNS; k++) {
        emu_handler nf = dead_flags_variant(&insn[k]);
        if (!nf)
            continue;
        for (unsigned j = k + 1; j < n; j++) {
            int e = emu_flag_effect(&insn[j]);
            if (e == EMU_FLAGS_KILL) {
                insn[k].fn = nf;
                dead[k] = true;
                break;
            }
            if (e != EMU_FLAGS_NONE)
                break;
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
