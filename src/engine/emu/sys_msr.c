/* Model-specific registers of the software CPU and the fast system call
 * instructions that use them (SYSCALL/SYSRET, SYSENTER/SYSEXIT, SWAPGS,
 * RDTSCP).  The list of MSRs is in docs/emu.md; any other raises #GP. */
#include <string.h>

#include "engine/emu/lapic.h"
#include "engine/emu/state.h"
#include "engine/emu/system.h"

enum {
    MSR_TSC = 0x10,
    MSR_APIC_BASE = 0x1b,
    MSR_FEATURE_CONTROL = 0x3a,
    MSR_BIOS_SIGN_ID = 0x8b,
    MSR_PLATFORM_INFO = 0xce,
    MSR_MTRRCAP = 0xfe,
    MSR_SYSENTER_CS = 0x174,
    MSR_SYSENTER_ESP = 0x175,
    MSR_SYSENTER_EIP = 0x176,
    MSR_MCG_CAP = 0x179,
    MSR_MCG_STATUS = 0x17a,
    MSR_MISC_ENABLE = 0x1a0,
    MSR_DEBUGCTL = 0x1d9,
    MSR_MTRR_PHYS_FIRST = 0x200,
    MSR_MTRR_PHYS_LAST = 0x20f,
    MSR_MTRR_FIX64K = 0x250,
    MSR_MTRR_FIX16K_80000 = 0x258,
    MSR_MTRR_FIX16K_A0000 = 0x259,
    MSR_MTRR_FIX4K_FIRST = 0x268,
    MSR_MTRR_FIX4K_LAST = 0x26f,
    MSR_PAT = 0x277,
    MSR_MTRR_DEF_TYPE = 0x2ff,
    MSR_TSC_DEADLINE = 0x6e0,
    MSR_EFER = 0xc0000080,
    MSR_STAR = 0xc0000081,
    MSR_LSTAR = 0xc0000082,
    MSR_CSTAR = 0xc0000083,
    MSR_SFMASK = 0xc0000084,
    MSR_FS_BASE = 0xc0000100,
    MSR_GS_BASE = 0xc0000101,
    MSR_KERNEL_GS_BASE = 0xc0000102,
    MSR_TSC_AUX = 0xc0000103,
};

static uint32_t cpuid_reg(struct emu_cpu *c, uint32_t leaf, int reg)
{
    uint32_t r[4] = { 0, 0, 0, 0 };
    emu_cpuid(c, leaf, 0, r);
    return r[reg];
}

static bool pat_valid(uint64_t v)
{
    for (int k = 0; k < 8; k++) {
        unsigned t = (v >> (8 * k)) & 0xff;
        if (t == 2 || t == 3 || t > 7)
            return false;
    }
    return true;
}

/* MTRRs hold what the guest writes (memory types mean nothing to emu, but a
 * guest reads its settings back, and a snapshot carries them); power-on is
 * what firmware leaves: enabled, default write-back (emu/state.c). */
static int mtrr_fixed_slot(uint32_t msr)
{
    if (msr == MSR_MTRR_FIX64K)
        return 0;
    if (msr == MSR_MTRR_FIX16K_80000 || msr == MSR_MTRR_FIX16K_A0000)
        return 1 + (int)(msr - MSR_MTRR_FIX16K_80000);
    if (msr >= MSR_MTRR_FIX4K_FIRST && msr <= MSR_MTRR_FIX4K_LAST)
        return 3 + (int)(msr - MSR_MTRR_FIX4K_FIRST);
    return -1;
}

static bool mtrr_type_ok(unsigned t)
{
    return t == 0 || t == 1 || t == 4 || t == 5 || t == 6;
}

/* Reserved bits and memory types, with the physical address width of CPUID
 * leaf 0x80000008. */
static bool mtrr_valid(struct emu_cpu *c, uint32_t msr, uint64_t v)
{
    uint64_t above = ~((1ULL << (cpuid_reg(c, 0x80000008, 0) & 0xff)) - 1);
    if (msr == MSR_MTRR_DEF_TYPE)
        return !(v & ~0xcffULL) && mtrr_type_ok(v & 0xff);
    if (msr >= MSR_MTRR_PHYS_FIRST && msr <= MSR_MTRR_PHYS_LAST) {
        if (msr & 1)
            return !(v & (0x7ffULL | above));
        return !(v & (0xf00ULL | above)) && mtrr_type_ok(v & 0xff);
    }
    for (int k = 0; k < 8; k++)
        if (!mtrr_type_ok((v >> (8 * k)) & 0xff))
            return false;
    return true;
}

int emu_rdmsr(struct emu_cpu *c, uint32_t msr, uint64_t *val)
{
    if (!c->mtrr_set)
        emu_mtrr_power_on(c);
    switch (msr) {
    case MSR_TSC: *val = emu_rdtsc(c); return 0;
    case MSR_APIC_BASE: *val = c->msr_apic_base; return 0;
    case MSR_FEATURE_CONTROL: *val = 1; return 0;   /* locked, no VMX */
    case MSR_BIOS_SIGN_ID: *val = 0; return 0;
    case MSR_PLATFORM_INFO: *val = (EMU_TSC_HZ / 100000000ULL) << 8; return 0;
    case MSR_MTRRCAP: *val = 0x508; return 0;      /* 8 variable, fixed, WC */
    case MSR_SYSENTER_CS: *val = c->msr_sysenter_cs; return 0;
    case MSR_SYSENTER_ESP: *val = c->msr_sysenter_esp; return 0;
    case MSR_SYSENTER_EIP: *val = c->msr_sysenter_eip; return 0;
    case MSR_MCG_CAP: case MSR_MCG_STATUS: *val = 0; return 0;
    case MSR_MISC_ENABLE: *val = c->msr_misc_enable; return 0;
    case MSR_DEBUGCTL: *val = 0; return 0;
    case MSR_PAT: *val = c->msr_pat; return 0;
    case MSR_MTRR_DEF_TYPE: *val = c->msr_mtrr_def_type; return 0;
    case MSR_TSC_DEADLINE:
        *val = c->lapic ? lapic_get_tsc_deadline(c->lapic) : c->msr_tsc_deadline;
        return 0;
    case MSR_EFER: *val = c->efer; return 0;
    case MSR_STAR: *val = c->msr_star; return 0;
    case MSR_LSTAR: *val = c->msr_lstar; return 0;
    case MSR_CSTAR: *val = c->msr_cstar; return 0;
    case MSR_SFMASK: *val = c->msr_sfmask; return 0;
    case MSR_FS_BASE: *val = c->seg[S_FS].base; return 0;
    case MSR_GS_BASE: *val = c->seg[S_GS].base; return 0;
    case MSR_KERNEL_GS_BASE: *val = c->msr_kernel_gs_base; return 0;
    case MSR_TSC_AUX: *val = c->msr_tsc_aux; return 0;
    default: break;
    }
    if (mtrr_fixed_slot(msr) >= 0) {
        *val = c->msr_mtrr_fixed[mtrr_fixed_slot(msr)];
        return 0;
    }
    if (msr >= MSR_MTRR_PHYS_FIRST && msr <= MSR_MTRR_PHYS_LAST) {
        *val = c->msr_mtrr_var[msr - MSR_MTRR_PHYS_FIRST];
        return 0;
    }
    return -1;
}

static bool is_mtrr(uint32_t msr)
{
    return msr == MSR_MTRR_DEF_TYPE || msr == MSR_MTRR_FIX64K ||
           msr == MSR_MTRR_FIX16K_80000 || msr == MSR_MTRR_FIX16K_A0000 ||
           (msr >= MSR_MTRR_FIX4K_FIRST && msr <= MSR_MTRR_FIX4K_LAST) ||
           (msr >= MSR_MTRR_PHYS_FIRST && msr <= MSR_MTRR_PHYS_LAST);
}

static int write_efer(struct emu_cpu *c, uint64_t v)
{
    uint64_t valid = EFER_SCE | EFER_LME | EFER_LMA;
    if (cpuid_reg(c, 0x80000001, 3) & (1u << 20))
        valid |= EFER_NXE;
    if (v & ~valid)
        return -1;
    /* LME cannot change while paging is on; LMA is read-only. */
    if ((c->cr0 & CR0_PG) && ((v ^ c->efer) & EFER_LME))
        return -1;
    uint64_t nv = (v & ~EFER_LMA) | (c->efer & EFER_LMA);
    if ((nv ^ c->efer) & EFER_NXE)
        emu_tlb_flush(c, true);
    c->efer = nv;
    return 0;
}

int emu_wrmsr(struct emu_cpu *c, uint32_t msr, uint64_t v)
{
    switch (msr) {
    case MSR_TSC:
        c->tsc_offset += (int64_t)(v - emu_rdtsc(c));
        return 0;
    case MSR_APIC_BASE:
        /* Bits 0-7, 9 and above the physical address width are reserved. */
        if (v & (0x2ffULL | ~((1ULL << 40) - 1)))
            return -1;
        c->msr_apic_base = (v & ~(1ULL << 8)) | (c->msr_apic_base & (1ULL << 8));
        return 0;
    case MSR_BIOS_SIGN_ID: return 0;
    case MSR_SYSENTER_CS: c->msr_sysenter_cs = v & 0xffff; return 0;
    case MSR_SYSENTER_ESP:
    case MSR_SYSENTER_EIP:
        if (!SYS_CANONICAL(v))
            return -1;
        if (msr == MSR_SYSENTER_ESP)
            c->msr_sysenter_esp = v;
        else
            c->msr_sysenter_eip = v;
        return 0;
    case MSR_MCG_STATUS: return v ? -1 : 0;
    case MSR_MISC_ENABLE: c->msr_misc_enable = v; return 0;
    case MSR_DEBUGCTL: return (v & ~3ULL) ? -1 : 0;   /* LBR/BTF accepted, not modelled */
    case MSR_PAT:
        if (!pat_valid(v))
            return -1;
        c->msr_pat = v;
        return 0;
    case MSR_TSC_DEADLINE:
        c->msr_tsc_deadline = v;
        if (c->lapic)
            lapic_set_tsc_deadline(c->lapic, v);
        return 0;
    case MSR_EFER: return write_efer(c, v);
    case MSR_STAR: c->msr_star = v; return 0;
    case MSR_LSTAR:
    case MSR_CSTAR:
    case MSR_FS_BASE:
    case MSR_GS_BASE:
    case MSR_KERNEL_GS_BASE:
        if (!SYS_CANONICAL(v))
            return -1;
        if (msr == MSR_LSTAR)
            c->msr_lstar = v;
        else if (msr == MSR_CSTAR)
            c->msr_cstar = v;
        else if (msr == MSR_FS_BASE)
            c->seg[S_FS].base = v;
        else if (msr == MSR_GS_BASE)
            c->seg[S_GS].base = v;
        else
            c->msr_kernel_gs_base = v;
        return 0;
    case MSR_SFMASK: c->msr_sfmask = (uint32_t)v; return 0;
    case MSR_TSC_AUX:
        if (v >> 32)
            return -1;
        c->msr_tsc_aux = v;
        return 0;
    default:
        break;
    }
    if (is_mtrr(msr)) {
        if (!c->mtrr_set)
            emu_mtrr_power_on(c);
        if (!mtrr_valid(c, msr, v))
            return -1;
        if (msr == MSR_MTRR_DEF_TYPE)
            c->msr_mtrr_def_type = v;
        else if (mtrr_fixed_slot(msr) >= 0)
            c->msr_mtrr_fixed[mtrr_fixed_slot(msr)] = v;
        else
            c->msr_mtrr_var[msr - MSR_MTRR_PHYS_FIRST] = v;
        return 0;
    }
    return -1;
}

static void op_rdmsr(struct emu_cpu *c, const struct emu_insn *i)
{
    (void)i;
    uint64_t v;
    sys_require_cpl0(c);
    if (emu_rdmsr(c, (uint32_t)c->gpr[R_RCX], &v) < 0)
        emu_raise(c, EXC_GP, 0);
    c->gpr[R_RAX] = (uint32_t)v;
    c->gpr[R_RDX] = v >> 32;
}

static void op_wrmsr(struct emu_cpu *c, const struct emu_insn *i)
{
    (void)i;
    sys_require_cpl0(c);
    uint64_t v = (c->gpr[R_RDX] << 32) | (uint32_t)c->gpr[R_RAX];
    if (emu_wrmsr(c, (uint32_t)c->gpr[R_RCX], v) < 0)
        emu_raise(c, EXC_GP, 0);
}

/* Flat segments that SYSCALL/SYSRET/SYSENTER/SYSEXIT load without reading
 * the GDT. */
static void flat_seg(struct seg_state *s, uint16_t sel, bool code, bool long64, unsigned dpl)
{
    memset(s, 0, sizeof(*s));
    s->selector = sel;
    s->limit = 0xffffffff;
    s->type = code ? 0xb : 0x3;
    s->s = 1;
    s->dpl = (uint8_t)dpl;
    s->present = 1;
    s->g = 1;
    s->l = code && long64;
    s->db = !(code && long64);
}

/* Intel CPUs know SYSCALL and SYSRET only in 64-bit mode (#UD in
 * compatibility and legacy modes, SDM vol. 2B); AMD's also run them there,
 * SYSCALL from compatibility mode entering at CSTAR.  Which one we are
 * follows the vendor CPUID leaf 0 presents. */
static bool syscall_vendor_intel(struct emu_cpu *c)
{
    return cpuid_reg(c, 0, 1) == 0x756e6547;   /* "Genu" */
}

static void op_syscall(struct emu_cpu *c, const struct emu_insn *i)
{
    (void)i;
    if (!(c->efer & EFER_SCE))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    uint64_t next = c->next_rip;   /* (exec.c runs c->syscall_hook before this) */
    if (c->mode == MODE_REAL || (c->mode != MODE_LONG64 && syscall_vendor_intel(c)))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    uint16_t sel = (uint16_t)(c->msr_star >> 32) & 0xfffc;
    uint64_t fl = emu_get_rflags(c);
    if (c->efer & EFER_LMA) {
        c->gpr[R_RCX] = next;
        c->gpr[R_R11] = fl & ~RFLAGS_RF;
        fl &= ~(c->msr_sfmask | RFLAGS_RF);
        c->next_rip = c->mode == MODE_LONG64 ? c->msr_lstar : c->msr_cstar;
        flat_seg(&c->seg[S_CS], sel, true, true, 0);
    } else {
        c->gpr[R_RCX] = (uint32_t)next;
        fl &= ~(RFLAGS_VM | RFLAGS_IF | RFLAGS_RF);
        c->next_rip = (uint32_t)c->msr_star;
        flat_seg(&c->seg[S_CS], sel, true, false, 0);
    }
    flat_seg(&c->seg[S_SS], (uint16_t)(sel + 8), false, false, 0);
    emu_set_rflags(c, fl | RFLAGS_FIXED);
    c->cpl = 0;
    emu_update_mode(c);
}

static void op_sysret(struct emu_cpu *c, const struct emu_insn *i)
{
    (void)i;
    if (!(c->efer & EFER_SCE) || (c->mode != MODE_LONG64 && syscall_vendor_intel(c)))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    if (c->mode == MODE_REAL || c->cpl != 0)
        emu_raise(c, EXC_GP, 0);
    uint16_t base = (uint16_t)(c->msr_star >> 48);
    bool stepping = (c->rflags & RFLAGS_TF) != 0;
    bool to64 = (i->rex & 8) != 0 && c->mode == MODE_LONG64;
    if (to64 && !SYS_CANONICAL(c->gpr[R_RCX]))
        emu_raise(c, EXC_GP, 0);
    if (c->efer & EFER_LMA) {
        emu_set_rflags(c, (c->gpr[R_R11] & 0x3c7fd7ULL) | RFLAGS_FIXED);
        if (to64) {
            flat_seg(&c->seg[S_CS], (uint16_t)((base + 16) | 3), true, true, 3);
            c->next_rip = c->gpr[R_RCX];
        } else {
            flat_seg(&c->seg[S_CS], (uint16_t)(base | 3), true, false, 3);
            c->next_rip = (uint32_t)c->gpr[R_RCX];
        }
    } else {
        emu_set_rflags(c, emu_get_rflags(c) | RFLAGS_IF);
        flat_seg(&c->seg[S_CS], (uint16_t)(base | 3), true, false, 3);
        c->next_rip = (uint32_t)c->gpr[R_RCX];
    }
    /* SS keeps a flat writable descriptor with DPL 3 (the selector's RPL). */
    flat_seg(&c->seg[S_SS], (uint16_t)((base + 8) | 3), false, false, 3);
    c->cpl = 3;
    emu_update_mode(c);
    emu_post_events(c, EMU_EV_IRQ);
    /* Unlike IRET and POPF, a SYSRET that sets TF traps at once, before the
     * first user instruction (Linux avoids SYSRET with TF for this reason).
     * With TF already set, the loop's single step (exec.c) delivers it. */
    if ((c->rflags & RFLAGS_TF) && !stepping) {
        c->dr[6] |= 1ULL << 14;   /* BS */
        c->rip = c->next_rip;     /* a trap: the frame holds the user RIP */
        if (c->exc_to_caller)
            emu_raise(c, EXC_DB, EMU_NO_ERRCODE);
        emu_deliver_exception(c, EXC_DB, EMU_NO_ERRCODE, false, c->next_rip);
    }
}

static bool sep_advertised(struct emu_cpu *c)
{
    return (cpuid_reg(c, 1, 3) & (1u << 11)) != 0;
}

static void op_sysenter(struct emu_cpu *c, const struct emu_insn *i)
{
    (void)i;
    if (!sep_advertised(c))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    uint16_t sel = (uint16_t)c->msr_sysenter_cs & 0xfffc;
    if (c->mode == MODE_REAL || sel == 0)
        emu_raise(c, EXC_GP, 0);
    bool lma = (c->efer & EFER_LMA) != 0;
    emu_set_rflags(c, emu_get_rflags(c) & ~(RFLAGS_VM | RFLAGS_IF | RFLAGS_RF));
    flat_seg(&c->seg[S_CS], sel, true, lma, 0);
    flat_seg(&c->seg[S_SS], (uint16_t)(sel + 8), false, false, 0);
    c->next_rip = lma ? c->msr_sysenter_eip : (uint32_t)c->msr_sysenter_eip;
    c->gpr[R_RSP] = lma ? c->msr_sysenter_esp : (uint32_t)c->msr_sysenter_esp;
    c->cpl = 0;
    emu_update_mode(c);
}

static void op_sysexit(struct emu_cpu *c, const struct emu_insn *i)
{
    if (!sep_advertised(c))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    uint16_t base = (uint16_t)c->msr_sysenter_cs & 0xfffc;
    if (c->mode == MODE_REAL || c->cpl != 0 || base == 0)
        emu_raise(c, EXC_GP, 0);
    bool to64 = (i->rex & 8) != 0;
    if (to64 && (!SYS_CANONICAL(c->gpr[R_RDX]) || !SYS_CANONICAL(c->gpr[R_RCX])))
        emu_raise(c, EXC_GP, 0);
    if (to64) {
        flat_seg(&c->seg[S_CS], (uint16_t)((base + 32) | 3), true, true, 3);
        flat_seg(&c->seg[S_SS], (uint16_t)((base + 40) | 3), false, false, 3);
        c->next_rip = c->gpr[R_RDX];
        c->gpr[R_RSP] = c->gpr[R_RCX];
    } else {
        flat_seg(&c->seg[S_CS], (uint16_t)((base + 16) | 3), true, false, 3);
        flat_seg(&c->seg[S_SS], (uint16_t)((base + 24) | 3), false, false, 3);
        c->next_rip = (uint32_t)c->gpr[R_RDX];
        c->gpr[R_RSP] = (uint32_t)c->gpr[R_RCX];
    }
    c->cpl = 3;
    emu_update_mode(c);
}

/* SWAPGS (0F 01 F8) and RDTSCP (0F 01 F9). */
void emu_sys_grp7_reg_msr(struct emu_cpu *c, const struct emu_insn *i);
void emu_sys_grp7_reg_msr(struct emu_cpu *c, const struct emu_insn *i)
{
    if ((i->modrm & 7) == 0) {
        if (c->mode != MODE_LONG64)
            emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
        sys_require_cpl0(c);
        uint64_t t = c->seg[S_GS].base;
        c->seg[S_GS].base = c->msr_kernel_gs_base;
        c->msr_kernel_gs_base = t;
    } else {
        if (!(cpuid_reg(c, 0x80000001, 3) & (1u << 27)))
            emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
        if ((c->cr4 & (1u << 2)) && c->cpl != 0)
            emu_raise(c, EXC_GP, 0);
        uint64_t t = emu_rdtsc(c);
        c->gpr[R_RAX] = (uint32_t)t;
        c->gpr[R_RDX] = t >> 32;
        c->gpr[R_RCX] = (uint32_t)c->msr_tsc_aux;
    }
}

void emu_sys_msr_register(void)
{
    emu_ops[MAP_0F][0x05] = op_syscall;
    emu_ops[MAP_0F][0x07] = op_sysret;
    emu_ops[MAP_0F][0x30] = op_wrmsr;
    emu_ops[MAP_0F][0x32] = op_rdmsr;
    emu_ops[MAP_0F][0x34] = op_sysenter;
    emu_ops[MAP_0F][0x35] = op_sysexit;
}
