/* String instructions MOVS CMPS STOS LODS SCAS with REP/REPE/REPNE.
 * Registers are updated after every iteration, so a fault leaves a
 * restartable state; a long REP runs in slices (the instruction re-executes
 * itself) so events are seen between slices. */
#include "engine/emu/ops.h"

#define REP_SLICE 4096

static inline uint64_t sreg(struct emu_cpu *c, int r, unsigned as)
{
    return c->gpr[r] & emu_size_mask(as);
}

static HANDLER(op_string)
{
    unsigned size = op_size_w(i), as = i->adsize;
    int64_t step = (c->rflags & RFLAGS_DF) ? -(int64_t)size : (int64_t)size;
    bool rep = i->prefix & (PFX_REP | PFX_REPNE);
    unsigned kind = (i->op & 0xfe);   /* a4 movs, a6 cmps, aa stos, ac lods, ae scas */
    bool cmp = kind == 0xa6 || kind == 0xae;
    uint64_t n = rep ? sreg(c, R_RCX, as) : 1;
    unsigned slice = 0;

    while (n) {
        uint64_t si = sreg(c, R_RSI, as), di = sreg(c, R_RDI, as);
        uint64_t a = 0, b = 0;
        switch (kind) {
        case 0xa4:
            a = lin_read(c, emu_linear(c, i->seg, si, size, false), size);
            lin_write(c, emu_linear(c, S_ES, di, size, true), size, a);
            reg_set(c, R_RSI, as, PFX_REX, si + (uint64_t)step);
            reg_set(c, R_RDI, as, PFX_REX, di + (uint64_t)step);
            break;
        case 0xa6:
            a = lin_read(c, emu_linear(c, i->seg, si, size, false), size);
            b = lin_read(c, emu_linear(c, S_ES, di, size, false), size);
            reg_set(c, R_RSI, as, PFX_REX, si + (uint64_t)step);
            reg_set(c, R_RDI, as, PFX_REX, di + (uint64_t)step);
            break;
        case 0xaa:
            lin_write(c, emu_linear(c, S_ES, di, size, true), size, reg_get(c, R_RAX, size, PFX_REX));
            reg_set(c, R_RDI, as, PFX_REX, di + (uint64_t)step);
            break;
        case 0xac:
            a = lin_read(c, emu_linear(c, i->seg, si, size, false), size);
            reg_set(c, R_RAX, size, PFX_REX, a);
            reg_set(c, R_RSI, as, PFX_REX, si + (uint64_t)step);
            break;
        default:
            a = reg_get(c, R_RAX, size, PFX_REX);
            b = lin_read(c, emu_linear(c, S_ES, di, size, false), size);
            reg_set(c, R_RDI, as, PFX_REX, di + (uint64_t)step);
            break;
        }
        if (cmp)
            cc_set(c, CC_OP_SUB, size, (a - b) & emu_size_mask(size), a, b);
        if (!rep)
            return;
        n--;
        reg_set(c, R_RCX, as, PFX_REX, n);
        if (cmp) {
            bool zf = a == b;
            if ((i->prefix & PFX_REP) ? !zf : zf)
                return;
        }
        if (n && ++slice >= REP_SLICE) {
            c->next_rip = c->rip;   /* continue in a later slice */
            return;
        }
    }
}

void emu_string_register(void)
{
    for (int op = 0xa4; op <= 0xa7; op++)
        emu_ops[MAP_1][op] = op_string;
    for (int op = 0xaa; op <= 0xaf; op++)
        emu_ops[MAP_1][op] = op_string;
}
