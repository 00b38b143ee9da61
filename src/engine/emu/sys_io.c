/* Port I/O of the software CPU: IN/OUT and INS/OUTS (with REP), the IOPL
 * and TSS I/O-bitmap checks, dispatched to the machine's port bus. */
#include "engine/emu/system.h"
#include "machine/vm.h"

/* Protected mode with CPL > IOPL: every port bit in the TSS bitmap must be 0. */
static void check_io(struct emu_cpu *c, uint16_t port, unsigned size)
{
    if (c->mode == MODE_REAL || c->cpl <= sys_iopl(c))
        return;
    const struct seg_state *tr = &c->tr;
    if (tr->unusable || !tr->present || (tr->type & 0xd) != DESC_TSS_AVAIL || tr->limit < 0x67)
        emu_raise(c, EXC_GP, 0);
    uint64_t la = tr->base + 0x66;
    if (!(c->efer & EFER_LMA))
        la = (uint32_t)la;
    uint32_t map = (uint32_t)sys_read_sup(c, la, 2);
    uint32_t off = map + port / 8u;
    if ((uint64_t)off + 1 > tr->limit)
        emu_raise(c, EXC_GP, 0);
    la = tr->base + off;
    if (!(c->efer & EFER_LMA))
        la = (uint32_t)la;
    uint32_t bits = (uint32_t)sys_read_sup(c, la, 2);
    uint32_t want = ((1u << size) - 1) << (port & 7);
    if (bits & want)
        emu_raise(c, EXC_GP, 0);
}

static uint64_t port_in(struct emu_cpu *c, uint16_t port, unsigned size)
{
    uint64_t v = emu_size_mask(size);
    if (c->vm)
        bus_read(&c->vm->pio, port, size, &v);
    return v & emu_size_mask(size);
}

static void port_out(struct emu_cpu *c, uint16_t port, unsigned size, uint64_t v)
{
    if (c->vm)
        bus_write(&c->vm->pio, port, size, v & emu_size_mask(size));
}

static unsigned io_size(const struct emu_insn *i)
{
    if (!(i->op & 1))
        return 1;
    return i->opsize == 2 ? 2 : 4;
}

/* E4 E5 EC ED: IN; E6 E7 EE EF: OUT.  E4-E7 take an imm8 port. */
static void op_io(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned size = io_size(i);
    uint16_t port = (i->op & 8) ? (uint16_t)c->gpr[R_RDX] : (uint16_t)(i->imm & 0xff);
    bool out = (i->op & 2) != 0;
    check_io(c, port, size);
    if (out) {
        port_out(c, port, size, c->gpr[R_RAX]);
    } else {
        uint64_t v = port_in(c, port, size);
        sys_set_reg(c, R_RAX, size, v);
    }
}

/* Iterations of REP INS/OUTS done in one go before the loop gets to look at
 * interrupts; the instruction restarts with the updated registers. */
#define STRING_IO_CHUNK 4096

/* 6C 6D: INS to ES:rDI; 6E 6F: OUTS from seg:rSI. */
static void op_string_io(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned size = io_size(i);
    uint16_t port = (uint16_t)c->gpr[R_RDX];
    bool out = (i->op & 2) != 0;
    bool rep = (i->prefix & (PFX_REP | PFX_REPNE)) != 0;
    unsigned as = i->adsize;
    uint64_t amask = emu_size_mask(as);
    int ptr = out ? R_RSI : R_RDI;
    int seg = out ? i->seg : S_ES;
    int64_t step = (emu_get_rflags(c) & RFLAGS_DF) ? -(int64_t)size : (int64_t)size;

    check_io(c, port, size);
    for (unsigned n = 0;; n++) {
        if (rep && (c->gpr[R_RCX] & amask) == 0)
            break;
        if (n == STRING_IO_CHUNK) {
            c->next_rip = c->rip;   /* the rest runs when it is executed again */
            return;
        }
        uint64_t off = c->gpr[ptr] & amask;
        uint64_t la = emu_linear(c, seg, off, size, !out);
        if (out) {
            port_out(c, port, size, emu_read(c, la, size));
        } else {
            /* Read the port only after the write target is known to be
             * writable, so a faulting INS does not lose a byte. */
            emu_translate(c, la, 1);
            emu_write(c, la, size, port_in(c, port, size));
        }
        sys_set_reg(c, ptr, as, off + (uint64_t)step);
        if (!rep)
            break;
        sys_set_reg(c, R_RCX, as, (c->gpr[R_RCX] & amask) - 1);
    }
}

void emu_sys_io_register(void)
{
    for (unsigned op = 0xe4; op <= 0xe7; op++)
        emu_ops[MAP_1][op] = op_io;
    for (unsigned op = 0xec; op <= 0xef; op++)
        emu_ops[MAP_1][op] = op_io;
    for (unsigned op = 0x6c; op <= 0x6f; op++)
        emu_ops[MAP_1][op] = op_string_io;
}
