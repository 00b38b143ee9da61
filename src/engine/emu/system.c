/* The software CPU's system state: reset, mode tracking, conversion to and
 * from struct cpu_state, control and debug registers, and the privileged
 * one-byte instructions (CLI/STI/HLT/PUSHF/POPF/INT n).  Segments live in
 * sys_seg.c, MSRs and SYSCALL in sys_msr.c, port I/O in sys_io.c. */
#include <string.h>

#include "engine/emu/lapic.h"
#include "engine/emu/system.h"

void emu_sys_grp7_mem(struct emu_cpu *c, const struct emu_insn *i);
void emu_sys_msw_reg(struct emu_cpu *c, const struct emu_insn *i);
void emu_sys_grp7_reg_msr(struct emu_cpu *c, const struct emu_insn *i);

/* The decoder ends a block after every system instruction and the code
 * cache is keyed by code size, so a mode change only needs the current block
 * to stop (for changes made outside a handler it is a no-op). */
void sys_mode_changed(struct emu_cpu *c)
{
    c->mmu.blk_stop = 1;
}

void emu_update_mode(struct emu_cpu *c)
{
    enum emu_mode old = c->mode;
    if (!(c->cr0 & CR0_PE)) {
        c->mode = MODE_REAL;
        c->cpl = 0;
    } else if (c->efer & EFER_LMA) {
        c->mode = c->seg[S_CS].l ? MODE_LONG64 : MODE_COMPAT;
    } else {
        c->mode = c->seg[S_CS].db ? MODE_PROT32 : MODE_PROT16;
    }
    if (c->mode != old)
        sys_mode_changed(c);
}

/* ---- reset and state ---------------------------------------------------- */

static void reset_seg(struct seg_state *s, uint16_t sel, uint64_t base, uint8_t type)
{
    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->base = base;
    s->limit = 0xffff;
    s->type = type;
    s->s = 1;
    s->present = 1;
}

void emu_cpu_reset(struct emu_cpu *c)
{
    uint32_t id[4] = { 0, 0, 0, 0 };

    memset(c->gpr, 0, sizeof(c->gpr));
    c->rip = c->next_rip = 0xfff0;
    memset(&c->lazy, 0, sizeof(c->lazy));
    c->lazy.op = CC_OP_EFLAGS;
    c->rflags = RFLAGS_FIXED;
    for (int s = 0; s < 6; s++)
        reset_seg(&c->seg[s], 0, 0, 0x3);
    reset_seg(&c->seg[S_CS], 0xf000, 0xffff0000ULL, 0xb);
    reset_seg(&c->ldtr, 0, 0, DESC_LDT);
    c->ldtr.s = 0;
    reset_seg(&c->tr, 0, 0, DESC_TSS_BUSY);
    c->tr.s = 0;
    c->gdtr.base = c->idtr.base = 0;
    c->gdtr.limit = c->idtr.limit = 0xffff;
    c->cr0 = CR0_ET | CR0_NW | CR0_CD;
    c->cr2 = c->cr3 = c->cr4 = c->cr8 = 0;
    c->efer = 0;
    memset(c->dr, 0, sizeof(c->dr));
    c->dr[6] = 0xffff0ff0;
    c->dr[7] = 0x400;

    c->msr_star = c->msr_lstar = c->msr_cstar = c->msr_sfmask = c->msr_kernel_gs_base = 0;
    c->msr_tsc_aux = 0;
    c->msr_pat = 0x0007040600070406ULL;
    c->msr_apic_base = 0xfee00000ULL | (1u << 11) | (c->id == 0 ? 1u << 8 : 0);
    c->msr_misc_enable = 1;   /* fast strings */
    c->msr_sysenter_cs = c->msr_sysenter_esp = c->msr_sysenter_eip = 0;
    c->msr_tsc_deadline = 0;

    memset(c->xmm, 0, sizeof(c->xmm));
    memset(c->ymm_hi, 0, sizeof(c->ymm_hi));
    c->xcr0 = 1;
    c->mxcsr = 0x1f80;
    memset(&c->x87, 0, sizeof(c->x87));
    c->x87.fcw = 0x37f;
    c->x87.ftw = 0xffff;

    c->mode = MODE_REAL;
    c->cpl = 0;
    c->exc.vector = -1;
    c->exc.errcode = EMU_NO_ERRCODE;
    c->exc_nesting = 0;
    c->irq_shadow = false;
    c->nmi_blocked = false;
    c->state = EMU_RUNNING;

    emu_cpuid(c, 1, 0, id);
    c->gpr[R_RDX] = id[0] ? id[0] : 0x600;
    if (c->lapic)
        lapic_reset(c->lapic);
    if (c->mmu.ram)
        emu_tlb_flush(c, true);
    emu_post_events(c, EMU_EV_FLUSH);
}

void emu_cpu_get_state(const struct emu_cpu *c, struct cpu_state *s)
{
    memset(s, 0, sizeof(*s));
    memcpy(s->gpr, c->gpr, sizeof(s->gpr));
    s->rip = c->rip;
    /* Computing lazy flags does not change the architectural state. */
    s->rflags = emu_get_rflags((struct emu_cpu *)c);
    memcpy(s->seg, c->seg, sizeof(s->seg));
    s->tr = c->tr;
    s->ldt = c->ldtr;
    s->gdt = c->gdtr;
    s->idt = c->idtr;
    s->cr0 = c->cr0;
    s->cr2 = c->cr2;
    s->cr3 = c->cr3;
    s->cr4 = c->cr4;
    s->cr8 = c->lapic ? lapic_get_tpr(c->lapic) : c->cr8;
    s->efer = c->efer;
    s->apic_base = c->msr_apic_base;
}

void emu_cpu_set_state(struct emu_cpu *c, const struct cpu_state *s)
{
    memcpy(c->gpr, s->gpr, sizeof(c->gpr));
    c->rip = c->next_rip = s->rip;
    emu_set_rflags(c, s->rflags | RFLAGS_FIXED);
    memcpy(c->seg, s->seg, sizeof(c->seg));
    c->tr = s->tr;
    c->ldtr = s->ldt;
    c->gdtr = s->gdt;
    c->idtr = s->idt;
    c->cr0 = s->cr0;
    c->cr2 = s->cr2;
    c->cr3 = s->cr3;
    c->cr4 = s->cr4;
    c->cr8 = s->cr8 & 0xf;
    if (c->lapic)
        lapic_set_tpr(c->lapic, (uint8_t)c->cr8);
    c->efer = s->efer;
    /* LMA follows from LME and paging when the state comes from elsewhere. */
    if ((c->efer & EFER_LME) && (c->cr0 & CR0_PG))
        c->efer |= EFER_LMA;
    if (s->apic_base)
        c->msr_apic_base = s->apic_base;
    c->mode = (enum emu_mode)-1;
    emu_update_mode(c);
    /* CPL is SS.DPL in protected mode (what KVM does too). */
    c->cpl = c->mode == MODE_REAL ? 0 : c->seg[S_SS].dpl;
    c->irq_shadow = false;
    c->nmi_blocked = false;
    c->exc.vector = -1;
    c->exc_nesting = 0;
    emu_tlb_flush(c, true);
    emu_post_events(c, EMU_EV_FLUSH);
}

/* ---- control registers -------------------------------------------------- */

static uint32_t cpuid_reg(struct emu_cpu *c, uint32_t leaf, int reg)
{
    uint32_t r[4] = { 0, 0, 0, 0 };
    emu_cpuid(c, leaf, 0, r);
    return r[reg];
}

/* CR4 bits this CPU accepts: the base set plus what CPUID advertises. */
static uint64_t cr4_valid(struct emu_cpu *c)
{
    uint64_t v = (1u << 2) /* TSD */ | (1u << 3) /* DE */ | CR4_PSE | CR4_PAE |
                 (1u << 6) /* MCE */ | CR4_PGE | (1u << 8) /* PCE */ | CR4_OSFXSR |
                 CR4_OSXMMEXCPT;
    uint32_t ecx1 = cpuid_reg(c, 1, 2), ebx7 = cpuid_reg(c, 7, 1);
    if (ebx7 & 1)
        v |= CR4_FSGSBASE;
    if (ecx1 & (1u << 17))
        v |= CR4_PCIDE;
    if (ecx1 & (1u << 26))
        v |= CR4_OSXSAVE;
    if (ebx7 & (1u << 7))
        v |= CR4_SMEP;
    if (ebx7 & (1u << 20))
        v |= CR4_SMAP;
    if (cpuid_reg(c, 7, 2) & (1u << 2))
        v |= CR4_UMIP;
    return v;
}

static void write_cr0(struct emu_cpu *c, uint64_t v)
{
    uint64_t old = c->cr0;
    if (v >> 32)
        emu_raise(c, EXC_GP, 0);
    v |= CR0_ET;
    if ((v & CR0_PG) && !(v & CR0_PE))
        emu_raise(c, EXC_GP, 0);
    if ((v & CR0_NW) && !(v & CR0_CD))
        emu_raise(c, EXC_GP, 0);
    bool pg_on = (v & CR0_PG) && !(old & CR0_PG);
    bool pg_off = !(v & CR0_PG) && (old & CR0_PG);
    if (pg_on && (c->efer & EFER_LME)) {
        if (!(c->cr4 & CR4_PAE) || c->seg[S_CS].l)
            emu_raise(c, EXC_GP, 0);
        c->efer |= EFER_LMA;
    }
    if (pg_off && (c->efer & EFER_LMA)) {
        if (c->mode == MODE_LONG64)
            emu_raise(c, EXC_GP, 0);
        c->efer &= ~EFER_LMA;
    }
    c->cr0 = v;
    if ((old ^ v) & (CR0_PG | CR0_WP | CR0_PE))
        emu_tlb_flush(c, true);
    emu_flat_update(c);   /* paging on: translated reads stop going straight to RAM */
    emu_update_mode(c);
}

static void write_cr3(struct emu_cpu *c, uint64_t v)
{
    /* With PCIDE, bit 63 asks to keep the new PCID's TLB entries. */
    bool keep = false;
    if (c->cr4 & CR4_PCIDE) {
        keep = v >> 63;
        v &= ~(1ULL << 63);
    }
    if ((c->efer & EFER_LMA) && (v >> 52))
        emu_raise(c, EXC_GP, 0);
    c->cr3 = v;
    emu_mmu_load_cr3(c, keep);
}

static void write_cr4(struct emu_cpu *c, uint64_t v)
{
    uint64_t old = c->cr4;
    if (v & ~cr4_valid(c))
        emu_raise(c, EXC_GP, 0);
    if ((c->efer & EFER_LMA) && !(v & CR4_PAE))
        emu_raise(c, EXC_GP, 0);
    if ((v & CR4_PCIDE) && !(old & CR4_PCIDE) && ((c->cr3 & 0xfff) || !(c->efer & EFER_LMA)))
        emu_raise(c, EXC_GP, 0);
    c->cr4 = v;
    if ((old ^ v) & (CR4_PSE | CR4_PAE | CR4_PGE | CR4_PCIDE | CR4_SMEP | CR4_SMAP))
        emu_tlb_flush(c, true);
}

static void write_cr8(struct emu_cpu *c, uint64_t v)
{
    if (v >> 4)
        emu_raise(c, EXC_GP, 0);
    c->cr8 = v;
    if (c->lapic)
        lapic_set_tpr(c->lapic, (uint8_t)v);
    emu_post_events(c, EMU_EV_IRQ);   /* a lower TPR may unmask one */
}

static uint64_t read_cr8(struct emu_cpu *c)
{
    return c->lapic ? (lapic_get_tpr(c->lapic) & 0xf) : c->cr8;
}

/* 0F 20 / 0F 22: the ModRM mod field is ignored; rm is always a register. */
static void op_mov_cr(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned cr = i->reg;
    unsigned rm = (unsigned)(i->modrm & 7) | ((i->rex & 1) ? 8 : 0);
    unsigned size = c->mode == MODE_LONG64 ? 8 : 4;
    bool to_cr = i->op == 0x22;

    if (cr != 0 && cr != 2 && cr != 3 && cr != 4 && cr != 8)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    sys_require_cpl0(c);
    if (to_cr) {
        uint64_t v = c->gpr[rm] & emu_size_mask(size);
        switch (cr) {
        case 0: write_cr0(c, v); break;
        case 2: c->cr2 = v; break;
        case 3: write_cr3(c, v); break;
        case 4: write_cr4(c, v); break;
        case 8: write_cr8(c, v); break;
        }
    } else {
        uint64_t v = 0;
        switch (cr) {
        case 0: v = c->cr0; break;
        case 2: v = c->cr2; break;
        case 3: v = c->cr3; break;
        case 4: v = c->cr4; break;
        case 8: v = read_cr8(c); break;
        }
        sys_set_reg(c, (int)rm, size, v);
    }
}

/* 0F 21 / 0F 23: debug registers are kept but breakpoints do not fire. */
static void op_mov_dr(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned dr = i->reg;
    unsigned rm = (unsigned)(i->modrm & 7) | ((i->rex & 1) ? 8 : 0);
    unsigned size = c->mode == MODE_LONG64 ? 8 : 4;

    if (dr > 7)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    if (dr == 4 || dr == 5) {
        if (c->cr4 & (1u << 3))
            emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
        dr += 2;
    }
    sys_require_cpl0(c);
    if (i->op == 0x23) {
        uint64_t v = c->gpr[rm] & emu_size_mask(size);
        if (dr >= 6 && (v >> 32))
            emu_raise(c, EXC_GP, 0);
        if (dr == 6)
            v = (v & 0x1e00f) | 0xffff0ff0;
        else if (dr == 7)
            v = (v & ~0xd800ULL) | 0x400;
        c->dr[dr] = v;
    } else {
        sys_set_reg(c, (int)rm, size, c->dr[dr]);
    }
}

static void op_clts(struct emu_cpu *c, const struct emu_insn *i)
{
    (void)i;
    sys_require_cpl0(c);
    c->cr0 &= ~CR0_TS;
}

static void op_wbinvd(struct emu_cpu *c, const struct emu_insn *i)
{
    (void)i;
    sys_require_cpl0(c);
}

/* ---- one-byte privileged instructions ----------------------------------- */

/* CLI/STI: IOPL-sensitive in protected mode (no VME/PVI). */
static void op_cli(struct emu_cpu *c, const struct emu_insn *i)
{
    (void)i;
    if (c->mode != MODE_REAL && c->cpl > sys_iopl(c))
        emu_raise(c, EXC_GP, 0);
    emu_set_rflags(c, emu_get_rflags(c) & ~RFLAGS_IF);
}

static void op_sti(struct emu_cpu *c, const struct emu_insn *i)
{
    (void)i;
    if (c->mode != MODE_REAL && c->cpl > sys_iopl(c))
        emu_raise(c, EXC_GP, 0);
    uint64_t fl = emu_get_rflags(c);
    if (!(fl & RFLAGS_IF)) {
        emu_set_rflags(c, fl | RFLAGS_IF);
        /* Interrupts wait one more instruction (STI; HLT idles safely). */
        c->irq_shadow = true;
        emu_post_events(c, EMU_EV_IRQ);
    }
}

static void op_hlt(struct emu_cpu *c, const struct emu_insn *i)
{
    (void)i;
    sys_require_cpl0(c);
    c->state = EMU_HALTED;
}

static unsigned stack_opsize(struct emu_cpu *c, const struct emu_insn *i)
{
    if (c->mode == MODE_LONG64)   /* REX.W wins over 66 */
        return (i->prefix & PFX_OPSIZE) && !(i->rex & 0x08) ? 2 : 8;
    return i->opsize;
}

static void op_pushf(struct emu_cpu *c, const struct emu_insn *i)
{
    sys_push(c, stack_opsize(c, i), emu_get_rflags(c) & ~(RFLAGS_VM | RFLAGS_RF));
}

static void op_popf(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned size = stack_opsize(c, i);
    uint64_t v = sys_peek(c, 0, size);
    sys_set_sp(c, sys_sp(c) + size);
    sys_write_flags(c, v, size, false);
}

static void op_int3(struct emu_cpu *c, const struct emu_insn *i)
{
    (void)i;
    emu_soft_interrupt(c, EXC_BP);
}

static void op_int(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_soft_interrupt(c, (int)(i->imm & 0xff));
}

static void op_into(struct emu_cpu *c, const struct emu_insn *i)
{
    (void)i;
    if (c->mode == MODE_LONG64)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    if (emu_get_rflags(c) & RFLAGS_OF)
        emu_soft_interrupt(c, EXC_OF);
}

/* 0F 01: memory forms in sys_seg.c, register forms decoded here. */
static void op_grp7(struct emu_cpu *c, const struct emu_insn *i)
{
    if (i->mod != 3) {
        emu_sys_grp7_mem(c, i);
        return;
    }
    unsigned op = i->reg & 7, rm = i->modrm & 7;
    switch (op) {
    case 2:
        if (rm == 0 || rm == 1) {   /* XGETBV / XSETBV (xsave.c) */
            if (i->prefix & (PFX_OPSIZE | PFX_REP | PFX_REPNE))
                break;
            if (rm == 0)
                emu_xgetbv(c);
            else
                emu_xsetbv(c);
            return;
        }
        break;
    case 1:
        if (rm == 2 || rm == 3) {   /* CLAC / STAC, only with SMAP */
            if (!(cpuid_reg(c, 7, 1) & (1u << 20)) || c->cpl != 0)
                break;   /* #UD, not #GP, above CPL 0 */
            uint64_t fl = emu_get_rflags(c);
            emu_set_rflags(c, rm == 2 ? fl & ~RFLAGS_AC : fl | RFLAGS_AC);
            return;
        }
        if (rm == 0 || rm == 1) {   /* MONITOR / MWAIT, only when advertised */
            if (!(cpuid_reg(c, 1, 2) & (1u << 3)))
                break;
            sys_require_cpl0(c);
            return;
        }
        break;
    case 4:
    case 6:
        emu_sys_msw_reg(c, i);
        return;
    case 7:
        if (rm == 0 || rm == 1) {   /* SWAPGS, RDTSCP */
            emu_sys_grp7_reg_msr(c, i);
            return;
        }
        break;
    default:
        break;
    }
    emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
}

void emu_system_register(void)
{
    emu_ops[MAP_1][0x9c] = op_pushf;
    emu_ops[MAP_1][0x9d] = op_popf;
    emu_ops[MAP_1][0xcc] = op_int3;
    emu_ops[MAP_1][0xcd] = op_int;
    emu_ops[MAP_1][0xce] = op_into;
    emu_ops[MAP_1][0xf4] = op_hlt;
    emu_ops[MAP_1][0xfa] = op_cli;
    emu_ops[MAP_1][0xfb] = op_sti;
    emu_ops[MAP_0F][0x01] = op_grp7;
    emu_ops[MAP_0F][0x06] = op_clts;
    emu_ops[MAP_0F][0x08] = op_wbinvd;   /* INVD: no caches to drop either */
    emu_ops[MAP_0F][0x09] = op_wbinvd;
    emu_ops[MAP_0F][0x20] = op_mov_cr;
    emu_ops[MAP_0F][0x22] = op_mov_cr;
    emu_ops[MAP_0F][0x21] = op_mov_dr;
    emu_ops[MAP_0F][0x23] = op_mov_dr;
    emu_sys_seg_register();
    emu_sys_msr_register();
    emu_sys_io_register();
}
