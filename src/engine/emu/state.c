/* struct emu_cpu and its local APIC to and from the engine-neutral vCPU
 * state (engine/vcpu_snap.h, docs/snapshot-cpu.md), and the checks that are
 * emu's own: what its CPUID offers and which MSRs it models. */
#include "engine/emu/state.h"

#include <errno.h>
#include <string.h>

#include "engine/emu/lapic.h"
#include "engine/emu/sse.h"
#include "engine/emu/system.h"

#define APIC_BASE_BSP    (1ULL << 8)
#define APIC_BASE_X2APIC (1ULL << 10)

void emu_mtrr_power_on(struct emu_cpu *c)
{
    c->mtrr_set = true;
    c->msr_mtrr_def_type = 0xc06;   /* enabled, fixed ranges enabled, default WB */
    for (int i = 0; i < 11; i++)
        c->msr_mtrr_fixed[i] = 0x0606060606060606ULL;
    memset(c->msr_mtrr_var, 0, sizeof(c->msr_mtrr_var));
}

/* ---- save ------------------------------------------------------------------ */

static void fxsave_from(struct emu_cpu *c, uint8_t *f)
{
    memset(f, 0, 512);
    snap_put16(f + FXS_FCW, c->x87.fcw);
    snap_put16(f + FXS_FSW, emu_x87_fsw(c));
    f[FXS_FTW] = emu_x87_abridged_tags(c);
    snap_put16(f + FXS_FOP, c->x87.fop & 0x7ff);
    snap_put64(f + FXS_FIP, c->x87.fip);
    snap_put64(f + FXS_FDP, c->x87.fdp);
    snap_put32(f + FXS_MXCSR, c->mxcsr);
    for (unsigned k = 0; k < 8; k++)
        memcpy(f + FXS_ST + 16 * k, &c->x87.st[(c->x87.top + k) & 7], 10);
    for (unsigned k = 0; k < 16; k++)
        memcpy(f + FXS_XMM + 16 * k, &c->xmm[k], 16);
}

void emu_state_save(struct emu_cpu *c, struct vcpu_snap *s)
{
    memset(s, 0, sizeof(*s));
    memcpy(s->gpr, c->gpr, sizeof(s->gpr));
    s->rip = c->rip;
    s->rflags = emu_get_rflags(c);
    bool prot = (c->cr0 & CR0_PE) && !(s->rflags & RFLAGS_VM);
    for (int i = 0; i < 6; i++) {
        vcpu_seg_from(&s->seg[i], &c->seg[i]);
        /* A loaded code or data segment's descriptor is marked accessed. */
        if (!(s->seg[i].attr & VSEG_UNUSABLE) && (s->seg[i].attr & VSEG_S))
            s->seg[i].attr |= 1;
    }
    /* The CPL is SS.DPL, as VMX and the format have it. */
    if (prot)
        s->seg[S_SS].attr = (s->seg[S_SS].attr & ~(3u << 5)) | (uint32_t)(c->cpl & 3) << 5;
    vcpu_seg_from(&s->ldtr, &c->ldtr);
    vcpu_seg_from(&s->tr, &c->tr);
    s->gdtr = c->gdtr;
    s->idtr = c->idtr;
    s->cr0 = c->cr0;
    s->cr2 = c->cr2;
    s->cr3 = c->cr3;
    s->cr4 = c->cr4;
    s->cr8 = c->lapic ? lapic_get_tpr(c->lapic) : c->cr8;
    s->efer = c->efer;
    s->xcr0 = c->xcr0;
    s->has_ymm = (c->xcr0 & 4) != 0;             /* AVX enabled: upper halves follow */
    if (s->has_ymm)
        memcpy(s->ymm_hi, c->ymm_hi, sizeof(s->ymm_hi));
    for (int i = 0; i < 4; i++)
        s->dr[i] = c->dr[i];
    s->dr6 = c->dr[6];
    s->dr7 = c->dr[7];
    fxsave_from(c, s->fxsave);
    for (unsigned i = 0; i < vcpu_arch_msr_count; i++) {
        uint64_t v = 0;
        emu_rdmsr(c, vcpu_arch_msrs[i], &v);
        vcpu_snap_set_msr(s, vcpu_arch_msrs[i], v);
    }
    s->mp_state = c->state == EMU_HALTED ? VCPU_MP_HALTED
                : c->state == EMU_WAIT_SIPI ? VCPU_MP_WAIT_SIPI : VCPU_MP_RUNNING;
    s->nmi_pending = atomic_load(&c->events) & EMU_EV_NMI;
    s->nmi_masked = c->nmi_blocked;
    s->int_shadow = c->irq_shadow && c->state == EMU_RUNNING;
    if (c->lapic) {
        lapic_save(c->lapic, s->lapic, &s->lapic_timer_ns, &s->lapic_esr_pending);
    } else {
        /* No local APIC model: the page of one at reset, software-disabled. */
        apic_page_set(s->lapic, APIC_REG_ID, (uint32_t)c->id << 24);
        apic_page_set(s->lapic, APIC_REG_DFR, 0xffffffff);
        apic_page_set(s->lapic, APIC_REG_SVR, 0xff);
        for (unsigned r = APIC_REG_LVT_TIMER; r <= APIC_REG_LVT_ERROR; r += 16)
            apic_page_set(s->lapic, r, 1u << 16);
        apic_page_set(s->lapic, APIC_REG_LVT_CMCI, 1u << 16);
        apic_page_set(s->lapic, APIC_REG_TPR, (uint32_t)(c->cr8 & 0xf) << 4);
    }
}

/* ---- check -------------------------------------------------------------------- */

#define REFUSE(...) return err_set(e, -EINVAL, "vCPU state: " __VA_ARGS__)

static uint32_t cpuid_reg(struct emu_cpu *c, uint32_t leaf, int reg)
{
    uint32_t r[4] = { 0, 0, 0, 0 };
    emu_cpuid(c, leaf, 0, r);
    return r[reg];
}

/* The CR4 bits MOV to CR4 accepts on this CPU (system.c's rule). */
static uint64_t cr4_valid(struct emu_cpu *c)
{
    uint64_t v = (1u << 2) | (1u << 3) | CR4_PSE | CR4_PAE | (1u << 6) | CR4_PGE | (1u << 8) |
                 CR4_OSFXSR | CR4_OSXMMEXCPT;
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

int emu_state_check(struct emu_cpu *c, const struct vcpu_snap *s, struct err *e)
{
    /* XCR0 = 1 (x87 only) is the reset value on every CPU, with or without
     * XSAVE: a CPU model without leaf 0xD (one a kvm host showed) still has it. */
    uint64_t xcr0_ok = emu_xcr0_supported(c) | 1;
    if (s->xcr0 & ~xcr0_ok)
        REFUSE("XCR0 %#llx has state components emu's CPU does not offer (it takes %#llx)",
               (unsigned long long)s->xcr0, (unsigned long long)xcr0_ok);
    if (s->cr4 & ~cr4_valid(c))
        REFUSE("CR4 %#llx has bits emu's CPU does not offer (it takes %#llx)",
               (unsigned long long)s->cr4, (unsigned long long)cr4_valid(c));
    if ((s->efer & EFER_NXE) && !(cpuid_reg(c, 0x80000001, 3) & (1u << 20)))
        REFUSE("EFER.NXE without NX in emu's CPUID");
    if (s->rflags & RFLAGS_VM)
        REFUSE("RFLAGS.VM: emu has no virtual-8086 mode");
    if (s->smm || s->smi_pending)
        REFUSE("system management mode (SMM %u, SMI pending %u): emu has none", s->smm,
               s->smi_pending);
    unsigned phys = cpuid_reg(c, 0x80000008, 0) & 0xff;
    for (uint32_t i = 0; i < s->nmsrs; i++) {
        uint32_t idx = s->msrs[i].index;
        uint64_t v = s->msrs[i].value;
        const struct vcpu_extra_msr *x = vcpu_extra_msr(idx);
        if (x && v != x->reset)
            REFUSE("MSR %#x (%s) is %#llx, which emu does not model (only %#llx)", idx, x->what,
                   (unsigned long long)v, (unsigned long long)x->reset);
        if (idx == 0x1b) {
            if (v & APIC_BASE_X2APIC)
                REFUSE("IA32_APIC_BASE %#llx: x2APIC mode, which emu does not offer",
                       (unsigned long long)v);
            if (v >> phys)
                REFUSE("IA32_APIC_BASE %#llx is above emu's %u-bit physical addresses",
                       (unsigned long long)v, phys);
            if (!!(v & APIC_BASE_BSP) != (c->id == 0))
                REFUSE("IA32_APIC_BASE %#llx: the BSP flag does not match vCPU %d",
                       (unsigned long long)v, c->id);
        }
        if (idx == 0x174 && v > 0xffff)
            REFUSE("IA32_SYSENTER_CS %#llx is wider than emu's 16 bits", (unsigned long long)v);
    }
    return 0;
}

/* ---- load ----------------------------------------------------------------------- */

static void fxsave_to(struct emu_cpu *c, const uint8_t *f)
{
    c->x87.fcw = emu_x87_fcw_norm(snap_get16(f + FXS_FCW));
    emu_x87_set_fsw(c, snap_get16(f + FXS_FSW));
    c->x87.fop = snap_get16(f + FXS_FOP) & 0x7ff;
    c->x87.fip = snap_get64(f + FXS_FIP);
    c->x87.fdp = snap_get64(f + FXS_FDP);
    c->mxcsr = snap_get32(f + FXS_MXCSR);
    for (unsigned k = 0; k < 8; k++) {
        long double *r = &c->x87.st[(c->x87.top + k) & 7];
        memset(r, 0, sizeof(*r));
        memcpy(r, f + FXS_ST + 16 * k, 10);
    }
    emu_x87_set_abridged_tags(c, f[FXS_FTW]);
    for (unsigned k = 0; k < 16; k++)
        memcpy(&c->xmm[k], f + FXS_XMM + 16 * k, 16);
}

static void load_msr(struct emu_cpu *c, uint32_t idx, uint64_t v)
{
    c->mtrr_set = true;
    if (idx >= 0x200 && idx <= 0x20f) {
        c->msr_mtrr_var[idx - 0x200] = v;
        return;
    }
    switch (idx) {
    case 0x10: c->tsc_offset = 0; c->tsc_offset = (int64_t)(v - emu_rdtsc(c)); return;
    case 0x174: c->msr_sysenter_cs = v; return;
    case 0x175: c->msr_sysenter_esp = v; return;
    case 0x176: c->msr_sysenter_eip = v; return;
    case 0x1a0: c->msr_misc_enable = v; return;
    case 0x250: c->msr_mtrr_fixed[0] = v; return;
    case 0x258: case 0x259: c->msr_mtrr_fixed[1 + idx - 0x258] = v; return;
    case 0x277: c->msr_pat = v; return;
    case 0x2ff: c->msr_mtrr_def_type = v; return;
    case 0x6e0:
        c->msr_tsc_deadline = v;
        if (c->lapic)
            lapic_set_tsc_deadline(c->lapic, v);
        return;
    case 0xc0000081: c->msr_star = v; return;
    case 0xc0000082: c->msr_lstar = v; return;
    case 0xc0000083: c->msr_cstar = v; return;
    case 0xc0000084: c->msr_sfmask = v; return;
    case 0xc0000102: c->msr_kernel_gs_base = v; return;
    case 0xc0000103: c->msr_tsc_aux = v; return;
    default:
        break;
    }
    if (idx >= 0x268 && idx <= 0x26f)
        c->msr_mtrr_fixed[3 + idx - 0x268] = v;
    /* IA32_APIC_BASE went in with the registers; extras are at reset values. */
}

void emu_state_load(struct emu_cpu *c, const struct vcpu_snap *s)
{
    struct cpu_state cs;
    memset(&cs, 0, sizeof(cs));
    memcpy(cs.gpr, s->gpr, sizeof(cs.gpr));
    cs.rip = s->rip;
    cs.rflags = s->rflags;
    for (int i = 0; i < 6; i++)
        vcpu_seg_to(&cs.seg[i], &s->seg[i]);
    vcpu_seg_to(&cs.ldt, &s->ldtr);
    vcpu_seg_to(&cs.tr, &s->tr);
    cs.gdt = s->gdtr;
    cs.idt = s->idtr;
    cs.cr0 = s->cr0;
    cs.cr2 = s->cr2;
    cs.cr3 = s->cr3;
    cs.cr4 = s->cr4;
    cs.cr8 = s->cr8;
    cs.efer = s->efer;
    vcpu_snap_msr(s, 0x1b, &cs.apic_base);
    emu_cpu_set_state(c, &cs);
    c->msr_apic_base = cs.apic_base;     /* also with the APIC off (0 would be kept out) */
    for (int i = 0; i < 4; i++)
        c->dr[i] = s->dr[i];
    c->dr[6] = s->dr6;
    c->dr[7] = s->dr7;
    fxsave_to(c, s->fxsave);
    c->xcr0 = s->xcr0 | 1;   /* bit 0 (x87) is always set; a state written before XSAVE has 0 */
    if (s->has_ymm)
        memcpy(c->ymm_hi, s->ymm_hi, sizeof(c->ymm_hi));
    else
        memset(c->ymm_hi, 0, sizeof(c->ymm_hi));
    if (c->lapic)
        lapic_load(c->lapic, s->lapic, s->lapic_timer_ns, s->lapic_esr_pending);
    else
        c->cr8 = s->cr8;
    for (uint32_t i = 0; i < s->nmsrs; i++)
        load_msr(c, s->msrs[i].index, s->msrs[i].value);
    c->state = s->mp_state == VCPU_MP_HALTED ? EMU_HALTED
             : s->mp_state == VCPU_MP_WAIT_SIPI ? EMU_WAIT_SIPI : EMU_RUNNING;
    if (s->nmi_pending)
        emu_post_events(c, EMU_EV_NMI);
    else
        atomic_fetch_and(&c->events, ~EMU_EV_NMI);
    c->nmi_blocked = s->nmi_masked;
    c->irq_shadow = s->int_shadow;
    emu_post_events(c, EMU_EV_IRQ | EMU_EV_FLUSH);
}
