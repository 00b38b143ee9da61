/* String instructions MOVS CMPS STOS LODS SCAS with REP/REPE/REPNE.
 * Registers are updated after every iteration, so a fault leaves a
 * restartable state; a long REP runs in slices (the instruction re-executes
 * itself) so events are seen between slices. */
#include <string.h>

#include "engine/emu/ops.h"

#define REP_SLICE 4096

static inline uint64_t sreg(struct emu_cpu *c, int r, unsigned as)
{
    return c->gpr[r] & emu_size_mask(as);
}

/* REP MOVS/STOS, forward, in RAM: whole runs up to the next page boundary
 * of source and destination are done with host memory operations.
 * Returns false when the slow path must do (the rest of) the work. */
static bool rep_fast(struct emu_cpu *c, const struct emu_insn *i, unsigned size, unsigned as)
{
    bool movs = (i->op & 0xfe) == 0xa4;
    uint64_t amask = emu_size_mask(as);
    for (unsigned rounds = 0; rounds < 64; rounds++) {
        uint64_t n = c->gpr[R_RCX] & amask;
        if (!n)
            return true;
        uint64_t di = c->gpr[R_RDI] & amask, si = c->gpr[R_RSI] & amask;
        /* Elements that fit before a page end (and before the offsets wrap). */
        uint64_t room = (4096 - (di & 0xfff)) / size;
        if (movs) {
            uint64_t sroom = (4096 - (si & 0xfff)) / size;
            if (sroom < room)
                room = sroom;
        }
        if (room > n)
            room = n;
        if (room == 0 || di + room * size - 1 > amask || si + room * size - 1 > amask)
            return false;
        unsigned len = (unsigned)(room * size);
        uint64_t dla = emu_linear(c, S_ES, di, len, true);
        if ((dla & 0xfff) + len > 4096)
            return false;   /* a segment base that is not page aligned */
        uint8_t *dst = emu_rmw_ptr(c, dla, len);
        if (!dst)
            return false;
        if (movs) {
            uint64_t sla = emu_linear(c, i->seg, si, len, false);
            if ((sla & 0xfff) + len > 4096)
                return false;
            uint64_t spa = emu_translate(c, sla, 0);
            const uint8_t *src = emu_ram_ptr(c, spa, len);
            if (!src || (dst > src && dst < src + len) || (src > dst && src < dst + len))
                return false;   /* MMIO, or an overlap with x86's element order */
            memcpy(dst, src, len);
            reg_set(c, R_RSI, as, PFX_REX, si + len);
        } else {
            uint64_t v = c->gpr[R_RAX] & emu_size_mask(size);
            if (size == 1 || v == 0) {
                memset(dst, (int)(v & 0xff), len);   /* clear_page, memset(0) */
            } else if (size == 8) {
                for (unsigned k = 0; k < len; k += 8)
                    memcpy(dst + k, &v, 8);
            } else if (size == 4) {
                uint32_t v4 = (uint32_t)v;
                for (unsigned k = 0; k < len; k += 4)
                    memcpy(dst + k, &v4, 4);
            } else {
                uint16_t v2 = (uint16_t)v;
                for (unsigned k = 0; k < len; k += 2)
                    memcpy(dst + k, &v2, 2);
            }
        }
        reg_set(c, R_RDI, as, PFX_REX, di + len);
        reg_set(c, R_RCX, as, PFX_REX, n - room);
    }
    if (c->gpr[R_RCX] & amask)
        c->next_rip = c->rip;   /* more in a later slice */
    return true;
}

static HANDLER(op_string)
{
    unsigned size = op_size_w(i), as = i->adsize;
    int64_t step = (c->rflags & RFLAGS_DF) ? -(int64_t)size : (int64_t)size;
    bool rep = i->prefix & (PFX_REP | PFX_REPNE);
    unsigned kind = (i->op & 0xfe);   /* a4 movs, a6 cmps, aa stos, ac lods, ae scas */
    bool cmp = kind == 0xa6 || kind == 0xae;
    if (rep && (kind == 0xa4 || kind == 0xaa) && step > 0 && rep_fast(c, i, size, as))
        return;
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
