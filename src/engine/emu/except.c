/* Exception and interrupt delivery of the software CPU: the real-mode IVT,
 * protected-mode and long-mode gates, stack switches (TSS, IST), error
 * codes, #DF when delivery itself faults, and the triple fault that stops
 * the machine.  Also the check for a deliverable external interrupt. */
#include <string.h>

#include "engine/emu/lapic.h"
#include "engine/emu/system.h"
#include "machine/vm.h"

static bool contributory(int v)
{
    return v == EXC_DE || v == EXC_TS || v == EXC_NP || v == EXC_SS || v == EXC_GP;
}

/* Writes vals (first = highest address) below sp on a stack at base; the
 * caller commits the returned stack pointer only after every write worked.
 * spw is the width of the stack pointer, size the width of each slot. */
static uint64_t push_frame(struct emu_cpu *c, uint64_t base, uint64_t sp, unsigned spw,
                           unsigned size, const uint64_t *vals, int n, bool sup, bool long64)
{
    uint64_t mask = emu_size_mask(spw);
    for (int k = 0; k < n; k++) {
        sp = (sp - size) & mask;
        uint64_t la = base + sp;
        if (!long64)
            la = (uint32_t)la;
        else if (!SYS_CANONICAL(la))
            emu_raise(c, EXC_SS, 0);
        if (sup)
            sys_write_sup(c, la, size, vals[k]);
        else
            emu_write(c, la, size, vals[k]);
    }
    return sp;
}

static void clear_flags_on_entry(struct emu_cpu *c, uint64_t fl, bool clear_if)
{
    fl &= ~(RFLAGS_TF | RFLAGS_NT | RFLAGS_RF | RFLAGS_VM);
    if (clear_if)
        fl &= ~RFLAGS_IF;
    emu_set_rflags(c, fl | RFLAGS_FIXED);
}

static void deliver_real(struct emu_cpu *c, int vec, uint64_t ret)
{
    uint64_t off = (uint64_t)vec * 4;
    if (off + 3 > c->idtr.limit)
        emu_raise(c, EXC_GP, vec * 8 + 2);
    uint64_t ent = emu_read(c, (uint32_t)(c->idtr.base + off), 4);
    uint64_t fl = emu_get_rflags(c);
    uint64_t vals[3] = { fl & 0xffff, c->seg[S_CS].selector, ret & 0xffff };
    uint64_t sp = push_frame(c, c->seg[S_SS].base, sys_sp(c), sys_stack_size(c), 2, vals, 3,
                             false, false);
    sys_set_sp(c, sp);
    emu_set_rflags(c, fl & ~(RFLAGS_IF | RFLAGS_TF | RFLAGS_AC | RFLAGS_RF));
    sys_real_seg(c, S_CS, (uint16_t)(ent >> 16));
    c->rip = ent & 0xffff;
}

/* The target code segment of a gate: returns the descriptor and the new CPL. */
static uint64_t gate_target(struct emu_cpu *c, uint16_t sel, int *new_cpl, struct seg_state *cs)
{
    if ((sel & ~3u) == 0)
        emu_raise(c, EXC_GP, 0);
    uint64_t d = sys_read_desc(c, sel, EXC_GP);
    sys_desc_to_seg(d, sel, cs);
    if (!cs->s || !(cs->type & 8) || cs->dpl > c->cpl)
        emu_raise(c, EXC_GP, sel_err(sel));
    if (!cs->present)
        emu_raise(c, EXC_NP, sel_err(sel));
    *new_cpl = (cs->type & 4) ? c->cpl : cs->dpl;
    return d;
}

/* The IDT gate of vec (protected or long mode), checked as every delivery
 * begins: inside the IDT, an interrupt or trap gate (16- or 32-bit outside
 * long mode; task gates are not supported), DPL >= CPL for a software
 * interrupt, present.  hi gets the upper 8 bytes of a long-mode gate. */
static uint64_t idt_gate(struct emu_cpu *c, int vec, bool soft, uint64_t *hi)
{
    bool lm = c->efer & EFER_LMA;
    uint64_t off = (uint64_t)vec * (lm ? 16 : 8);
    int idt_err = vec * 8 + 2 + (soft ? 0 : 1);
    if (off + (lm ? 15 : 7) > c->idtr.limit)
        emu_raise(c, EXC_GP, idt_err);
    uint64_t g, la = c->idtr.base + off;
    if (lm) {
        g = sys_read_sup(c, la, 8);
        *hi = sys_read_sup(c, la + 8, 8);
    } else {
        g = sys_read_sup(c, (uint32_t)la, 8);
        *hi = 0;
    }
    unsigned type = (g >> 40) & 0x1f;   /* s bit included: must be 0 */
    unsigned dpl = (g >> 45) & 3;
    bool gate = type == DESC_INT_GATE || type == DESC_TRAP_GATE ||
                (!lm && (type == 0x6 || type == 0x7));
    if (!gate)
        emu_raise(c, EXC_GP, idt_err);
    if (soft && dpl < c->cpl)
        emu_raise(c, EXC_GP, idt_err);
    if (!((g >> 47) & 1))
        emu_raise(c, EXC_NP, idt_err);
    return g;
}

static void deliver_prot(struct emu_cpu *c, int vec, int err, bool soft, uint64_t ret)
{
    uint64_t hi;
    uint64_t g = idt_gate(c, vec, soft, &hi);
    unsigned type = (g >> 40) & 0x1f;
    unsigned gsize = (type & 8) ? 4 : 2;
    uint16_t sel = (uint16_t)(g >> 16);
    uint64_t target = (g & 0xffff) | (gsize == 4 ? ((g >> 32) & 0xffff0000) : 0);

    int new_cpl;
    struct seg_state cs;
    uint64_t d = gate_target(c, sel, &new_cpl, &cs);
    if (target > cs.limit)
        emu_raise(c, EXC_GP, 0);
    uint64_t fl = emu_get_rflags(c);
    bool has_err = err >= 0;
    uint64_t vals[6];
    int n = 0;

    if (new_cpl < c->cpl) {
        uint16_t nss;
        uint32_t nesp;
        struct seg_state ss;
        sys_tss32_stack(c, new_cpl, &nss, &nesp);
        if ((nss & ~3u) == 0 || (nss & 3) != (unsigned)new_cpl)
            emu_raise(c, EXC_TS, sel_err(nss));
        uint64_t ssd = sys_read_desc(c, nss, EXC_TS);
        sys_desc_to_seg(ssd, nss, &ss);
        if (!ss.s || (ss.type & 8) || !(ss.type & 2) || ss.dpl != new_cpl)
            emu_raise(c, EXC_TS, sel_err(nss));
        if (!ss.present)
            emu_raise(c, EXC_SS, sel_err(nss));
        vals[n++] = c->seg[S_SS].selector;
        vals[n++] = c->gpr[R_RSP] & emu_size_mask(gsize);
        vals[n++] = fl;
        vals[n++] = c->seg[S_CS].selector;
        vals[n++] = ret;
        if (has_err)
            vals[n++] = (uint32_t)err;
        uint64_t sp = push_frame(c, ss.base, nesp, ss.db ? 4 : 2, gsize, vals, n, true, false);
        sys_set_accessed(c, nss, ssd);
        ss.type |= 1;
        c->seg[S_SS] = ss;
        if (ss.db)
            c->gpr[R_RSP] = (uint32_t)sp;
        else
            c->gpr[R_RSP] = (c->gpr[R_RSP] & ~0xffffULL) | (sp & 0xffff);
        sys_load_cs(c, sel, d, new_cpl);
        sys_null_inaccessible(c);
    } else {
        vals[n++] = fl;
        vals[n++] = c->seg[S_CS].selector;
        vals[n++] = ret;
        if (has_err)
            vals[n++] = (uint32_t)err;
        uint64_t sp = push_frame(c, c->seg[S_SS].base, sys_sp(c), sys_stack_size(c), gsize, vals,
                                 n, c->cpl == 0, false);
        sys_set_sp(c, sp);
        sys_load_cs(c, sel, d, c->cpl);
    }
    clear_flags_on_entry(c, fl, !(type & 1));
    c->rip = gsize == 2 ? (target & 0xffff) : target;
}

static void deliver_long(struct emu_cpu *c, int vec, int err, bool soft, uint64_t ret)
{
    uint64_t hi;
    uint64_t lo = idt_gate(c, vec, soft, &hi);
    unsigned type = (lo >> 40) & 0x1f;
    uint16_t sel = (uint16_t)(lo >> 16);
    uint64_t target = (lo & 0xffff) | ((lo >> 32) & 0xffff0000) | (hi << 32);
    unsigned ist = (lo >> 32) & 7;

    int new_cpl;
    struct seg_state cs;
    uint64_t d = gate_target(c, sel, &new_cpl, &cs);
    if (!cs.l || cs.db)
        emu_raise(c, EXC_GP, sel_err(sel));
    if (!SYS_CANONICAL(target))
        emu_raise(c, EXC_GP, 0);

    uint64_t rsp = c->gpr[R_RSP];
    if (c->mode != MODE_LONG64)
        rsp = (uint32_t)rsp;
    if (ist)
        rsp = sys_tss_ist(c, (int)ist);
    else if (new_cpl < c->cpl)
        rsp = sys_tss_rsp(c, new_cpl);
    if (!SYS_CANONICAL(rsp))
        emu_raise(c, EXC_SS, 0);   /* from the TSS too: #SS, not #TS (EXT added above) */
    rsp &= ~0xfULL;

    uint64_t fl = emu_get_rflags(c);
    uint64_t vals[6] = { c->seg[S_SS].selector, c->gpr[R_RSP], fl, c->seg[S_CS].selector, ret,
                         (uint32_t)err };
    if (c->mode != MODE_LONG64)
        vals[1] = (uint32_t)vals[1];
    int n = err >= 0 ? 6 : 5;
    uint64_t sp = push_frame(c, 0, rsp, 8, 8, vals, n, new_cpl == 0, true);

    bool inner = new_cpl < c->cpl;
    sys_load_cs(c, sel, d, new_cpl);
    if (inner) {
        /* Long mode loads a null SS with RPL = new CPL. */
        struct seg_state *ss = &c->seg[S_SS];
        memset(ss, 0, sizeof(*ss));
        ss->selector = (uint16_t)new_cpl;
        ss->limit = 0xffffffff;
        ss->type = 3;
        ss->s = 1;
        ss->present = 1;
        ss->dpl = (uint8_t)new_cpl;
        ss->db = 1;
        ss->g = 1;
        sys_null_inaccessible(c);
    }
    c->gpr[R_RSP] = sp;
    clear_flags_on_entry(c, fl, type == DESC_INT_GATE);
    c->rip = target;
}

static void deliver_once(struct emu_cpu *c, int vec, int err, bool soft, uint64_t next_rip)
{
    uint64_t ret = soft ? next_rip : c->rip;
    if (vec == EXC_PF && !soft)
        c->cr2 = c->exc.cr2;
    if (c->mode == MODE_REAL)
        deliver_real(c, vec, ret);
    else if (c->efer & EFER_LMA)
        deliver_long(c, vec, err, soft, ret);
    else
        deliver_prot(c, vec, err, soft, ret);
}

void sys_triple_fault(struct emu_cpu *c)
{
    /* The CPU shuts down: nothing but INIT or a reset brings it back. */
    emu_set_rflags(c, emu_get_rflags(c) & ~RFLAGS_IF);
    c->state = EMU_HALTED;
    c->exc.vector = EMU_EXC_TRIPLE;
    c->exc.errcode = EMU_NO_ERRCODE;
    if (c->vm)
        vm_request_stop(c->vm, VM_STOP_TRIPLE_FAULT, c->id);
}

void emu_deliver_exception(struct emu_cpu *c, int vector, int errcode, bool is_soft_int,
                           uint64_t next_rip)
{
    jmp_buf saved;
    volatile int vec = vector, err = errcode;
    volatile bool soft = is_soft_int;
    volatile bool triple = false;
    uint8_t cpl = c->cpl;

    /* Error codes belong to exceptions only; a software INT n never pushes one. */
    if (soft || vec >= 32)
        err = EMU_NO_ERRCODE;
    memcpy(saved, c->jmp, sizeof(saved));
    for (;;) {
        if (setjmp(c->jmp) == 0) {
            deliver_once(c, vec, err, soft, next_rip);
            break;
        }
        /* Delivery faulted.  The frame was not committed, but an implicit
         * supervisor access may have been cut short. */
        c->cpl = cpl;
        int nv = c->exc.vector, ne = c->exc.errcode;
        if (nv == EXC_PF)
            c->cr2 = c->exc.cr2;   /* CR2 names the failed access even when #DF results */
        /* A fault while delivering an event from outside the program (an
         * exception or interrupt, not INT n/INT3/INTO) sets EXT in its
         * selector-format error code (SDM vol. 3A §6.13). */
        if (!soft && ne >= 0 && (nv == EXC_TS || nv == EXC_NP || nv == EXC_SS || nv == EXC_GP))
            ne |= 1;
        bool first_exc = !soft && vec < 32;
        if (first_exc && vec == EXC_DF) {
            triple = true;
            break;
        }
        if (first_exc && ((contributory(vec) && contributory(nv)) ||
                          (vec == EXC_PF && (nv == EXC_PF || contributory(nv))))) {
            vec = EXC_DF;
            err = 0;
        } else {
            vec = nv;
            err = ne;
        }
        soft = false;
    }
    memcpy(c->jmp, saved, sizeof(saved));
    /* Inside a handler (INT n), the block must stop and the loop take RIP
     * from next_rip (exec.c). */
    c->mmu.blk_stop = 1;
    if (triple) {
        sys_triple_fault(c);
        c->next_rip = c->rip;
        return;
    }
    c->next_rip = c->rip;
    c->exc.vector = -1;
    c->exc_nesting = 0;
    if (c->state == EMU_HALTED)
        c->state = EMU_RUNNING;
}

/* INT n, INT3 and INTO (a trap: the return address is the next instruction).
 * With exc_to_caller the caller takes the interrupt the way it takes every
 * exception, after the checks the instruction itself makes (the gate's DPL
 * against CPL: #GP(vec * 8 + 2)); it gets exc.vector = vec, no error code,
 * and RIP at the next instruction, where a handler's frame would point. */
void emu_soft_interrupt(struct emu_cpu *c, int vec)
{
    if (c->exc_to_caller) {
        uint64_t hi;
        if (c->mode != MODE_REAL)
            idt_gate(c, vec, true, &hi);
        else if ((uint64_t)vec * 4 + 3 > c->idtr.limit)
            emu_raise(c, EXC_GP, vec * 8 + 2);
        c->rip = c->next_rip;
        emu_raise(c, vec, EMU_NO_ERRCODE);
    }
    emu_deliver_exception(c, vec, EMU_NO_ERRCODE, true, c->next_rip);
    c->next_rip = c->rip;
}

bool emu_check_interrupts(struct emu_cpu *c)
{
    if (c->state == EMU_WAIT_SIPI)
        return false;
    /* An NMI waits while the handler of the previous one runs (until IRET). */
    if ((atomic_load(&c->events) & EMU_EV_NMI) && !c->nmi_blocked && !c->irq_shadow) {
        atomic_fetch_and(&c->events, ~EMU_EV_NMI);
        c->nmi_blocked = true;
        emu_deliver_exception(c, EXC_NMI, EMU_NO_ERRCODE, false, c->rip);
        return true;
    }
    if (c->irq_shadow || !(emu_get_rflags(c) & RFLAGS_IF))
        return false;
    int v = -1;
    if (c->lapic) {
        if (lapic_pending(c->lapic) >= 0)
            v = lapic_ack(c->lapic);
    } else if (c->vm && c->vm->ext_intr.pending && c->id == 0) {
        const struct ext_intr *x = &c->vm->ext_intr;
        if (x->pending(x->opaque))
            v = x->ack(x->opaque);
    }
    if (v < 0)
        return false;
    emu_deliver_exception(c, v & 0xff, EMU_NO_ERRCODE, false, c->rip);
    return true;
}
