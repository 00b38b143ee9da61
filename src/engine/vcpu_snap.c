/* The engine-neutral vCPU state format (engine/vcpu_snap.h): its MSR and
 * APIC register tables, the encoder, and the decoder that refuses anything
 * an engine could not load as it is (docs/snapshot-cpu.md). */
#include "engine/vcpu_snap.h"

#include <errno.h>
#include <string.h>

#define FLAG_YMM 1u

const uint32_t vcpu_arch_msrs[] = {
    0x10,                                   /* IA32_TSC */
    0x1b,                                   /* IA32_APIC_BASE */
    0x174, 0x175, 0x176,                    /* IA32_SYSENTER_CS/ESP/EIP */
    0x1a0,                                  /* IA32_MISC_ENABLE */
    0x200, 0x201, 0x202, 0x203, 0x204, 0x205, 0x206, 0x207,   /* MTRR PHYSBASE/MASK 0-7 */
    0x208, 0x209, 0x20a, 0x20b, 0x20c, 0x20d, 0x20e, 0x20f,
    0x250, 0x258, 0x259,                    /* fixed-range MTRRs */
    0x268, 0x269, 0x26a, 0x26b, 0x26c, 0x26d, 0x26e, 0x26f,
    0x277,                                  /* IA32_PAT */
    0x2ff,                                  /* IA32_MTRR_DEF_TYPE */
    0x6e0,                                  /* IA32_TSC_DEADLINE */
    0xc0000081, 0xc0000082, 0xc0000083, 0xc0000084,   /* STAR, LSTAR, CSTAR, FMASK */
    0xc0000102,                             /* KERNEL_GS_BASE */
    0xc0000103,                             /* TSC_AUX */
};
const unsigned vcpu_arch_msr_count = sizeof(vcpu_arch_msrs) / sizeof(vcpu_arch_msrs[0]);

const struct vcpu_extra_msr vcpu_extra_msrs[] = {
    { 0x11, 0, "kvm wall clock (old)" },
    { 0x12, 0, "kvmclock (old)" },
    { 0x3b, 0, "IA32_TSC_ADJUST" },
    { 0x48, 0, "IA32_SPEC_CTRL" },
    { 0x1d9, 0, "IA32_DEBUGCTL" },
    { 0x4b564d00, 0, "kvm wall clock" },
    { 0x4b564d01, 0, "kvmclock" },
    { 0x4b564d02, 0, "kvm async page faults" },
    { 0x4b564d03, 0, "kvm steal time" },
    { 0x4b564d04, 0, "kvm paravirtual EOI" },
    { 0x4b564d05, 1, "kvm halt polling control" },
    { 0x4b564d06, 0, "kvm async page fault vector" },
};
const unsigned vcpu_extra_msr_count = sizeof(vcpu_extra_msrs) / sizeof(vcpu_extra_msrs[0]);

const struct vcpu_extra_msr *vcpu_extra_msr(uint32_t index)
{
    for (unsigned i = 0; i < vcpu_extra_msr_count; i++)
        if (vcpu_extra_msrs[i].index == index)
            return &vcpu_extra_msrs[i];
    return NULL;
}

const struct apic_reg_desc apic_page_regs[] = {
    { APIC_REG_ID, 0xff000000, "ID" },
    { APIC_REG_TPR, 0xff, "TPR" },
    { APIC_REG_LDR, 0xff000000, "LDR" },
    { APIC_REG_DFR, 0xffffffff, "DFR" },
    { APIC_REG_SVR, 0x13ff, "SVR" },
    { APIC_REG_ISR + 0x00, 0xffff0000, "ISR0" }, { APIC_REG_ISR + 0x10, ~0u, "ISR1" },
    { APIC_REG_ISR + 0x20, ~0u, "ISR2" }, { APIC_REG_ISR + 0x30, ~0u, "ISR3" },
    { APIC_REG_ISR + 0x40, ~0u, "ISR4" }, { APIC_REG_ISR + 0x50, ~0u, "ISR5" },
    { APIC_REG_ISR + 0x60, ~0u, "ISR6" }, { APIC_REG_ISR + 0x70, ~0u, "ISR7" },
    { APIC_REG_TMR + 0x00, 0xffff0000, "TMR0" }, { APIC_REG_TMR + 0x10, ~0u, "TMR1" },
    { APIC_REG_TMR + 0x20, ~0u, "TMR2" }, { APIC_REG_TMR + 0x30, ~0u, "TMR3" },
    { APIC_REG_TMR + 0x40, ~0u, "TMR4" }, { APIC_REG_TMR + 0x50, ~0u, "TMR5" },
    { APIC_REG_TMR + 0x60, ~0u, "TMR6" }, { APIC_REG_TMR + 0x70, ~0u, "TMR7" },
    { APIC_REG_IRR + 0x00, 0xffff0000, "IRR0" }, { APIC_REG_IRR + 0x10, ~0u, "IRR1" },
    { APIC_REG_IRR + 0x20, ~0u, "IRR2" }, { APIC_REG_IRR + 0x30, ~0u, "IRR3" },
    { APIC_REG_IRR + 0x40, ~0u, "IRR4" }, { APIC_REG_IRR + 0x50, ~0u, "IRR5" },
    { APIC_REG_IRR + 0x60, ~0u, "IRR6" }, { APIC_REG_IRR + 0x70, ~0u, "IRR7" },
    { APIC_REG_ESR, 0xff, "ESR" },
    { APIC_REG_LVT_CMCI, 0x107ff, "LVT CMCI" },
    { APIC_REG_ICR_LO, APIC_ICR_LO_VALID, "ICR low" },
    { APIC_REG_ICR_HI, 0xff000000, "ICR high" },
    { APIC_REG_LVT_TIMER, 0x700ff, "LVT timer" },
    { APIC_REG_LVT_THERMAL, 0x107ff, "LVT thermal" },
    { APIC_REG_LVT_PERF, 0x107ff, "LVT performance counter" },
    { APIC_REG_LVT_LINT0, 0x1e7ff, "LVT LINT0" },
    { APIC_REG_LVT_LINT1, 0x1e7ff, "LVT LINT1" },
    { APIC_REG_LVT_ERROR, 0x100ff, "LVT error" },
    { APIC_REG_TMICT, 0xffffffff, "timer initial count" },
    { APIC_REG_TDCR, 0xb, "timer divide configuration" },
};
const unsigned apic_page_reg_count = sizeof(apic_page_regs) / sizeof(apic_page_regs[0]);

static const char *seg_names[8] = { "ES", "CS", "SS", "DS", "FS", "GS", "LDTR", "TR" };

/* ---- segments ------------------------------------------------------------- */

void vcpu_seg_from(struct vcpu_seg *d, const struct seg_state *s)
{
    d->base = s->base;
    d->limit = s->limit;
    d->selector = s->selector;
    d->attr = (s->type & 0xfu) | (s->s ? VSEG_S : 0) | (uint32_t)(s->dpl & 3) << 5 |
              (s->present ? VSEG_P : 0) | (s->avl ? VSEG_AVL : 0) | (s->l ? VSEG_L : 0) |
              (s->db ? VSEG_DB : 0) | (s->g ? VSEG_G : 0);
    if (s->unusable || !s->present)
        d->attr = (d->attr & ~VSEG_P) | VSEG_UNUSABLE;
}

void vcpu_seg_to(struct seg_state *d, const struct vcpu_seg *s)
{
    memset(d, 0, sizeof(*d));
    d->base = s->base;
    d->limit = s->limit;
    d->selector = s->selector;
    d->type = s->attr & VSEG_TYPE;
    d->s = !!(s->attr & VSEG_S);
    d->dpl = (uint8_t)VSEG_DPL(s->attr);
    d->present = !!(s->attr & VSEG_P);
    d->avl = !!(s->attr & VSEG_AVL);
    d->l = !!(s->attr & VSEG_L);
    d->db = !!(s->attr & VSEG_DB);
    d->g = !!(s->attr & VSEG_G);
    d->unusable = !!(s->attr & VSEG_UNUSABLE);
}

/* ---- MSR list --------------------------------------------------------------- */

bool vcpu_snap_msr(const struct vcpu_snap *s, uint32_t index, uint64_t *value)
{
    for (uint32_t i = 0; i < s->nmsrs && i < VCPU_MAX_MSRS; i++) {
        if (s->msrs[i].index == index) {
            if (value)
                *value = s->msrs[i].value;
            return true;
        }
    }
    return false;
}

bool vcpu_snap_set_msr(struct vcpu_snap *s, uint32_t index, uint64_t value)
{
    uint32_t i = 0;
    while (i < s->nmsrs && s->msrs[i].index < index)
        i++;
    if (i < s->nmsrs && s->msrs[i].index == index) {
        s->msrs[i].value = value;
        return true;
    }
    if (s->nmsrs >= VCPU_MAX_MSRS)
        return false;
    memmove(&s->msrs[i + 1], &s->msrs[i], (s->nmsrs - i) * sizeof(s->msrs[0]));
    s->msrs[i] = (struct vcpu_msr){ index, value };
    s->nmsrs++;
    return true;
}

/* ---- encoding --------------------------------------------------------------- */

static void put_seg(struct state_out *o, const struct vcpu_seg *s)
{
    st_put_u16(o, s->selector);
    st_put_u64(o, s->base);
    st_put_u32(o, s->limit);
    st_put_u32(o, s->attr);
}

void vcpu_snap_encode(const struct vcpu_snap *s, struct state_out *o)
{
    st_put_u32(o, s->has_ymm ? FLAG_YMM : 0);
    for (int i = 0; i < 16; i++)
        st_put_u64(o, s->gpr[i]);
    st_put_u64(o, s->rip);
    st_put_u64(o, s->rflags);
    for (int i = 0; i < 6; i++)
        put_seg(o, &s->seg[i]);
    put_seg(o, &s->ldtr);
    put_seg(o, &s->tr);
    st_put_u64(o, s->gdtr.base);
    st_put_u16(o, s->gdtr.limit);
    st_put_u64(o, s->idtr.base);
    st_put_u16(o, s->idtr.limit);
    st_put_u64(o, s->cr0);
    st_put_u64(o, s->cr2);
    st_put_u64(o, s->cr3);
    st_put_u64(o, s->cr4);
    st_put_u64(o, s->cr8);
    st_put_u64(o, s->efer);
    st_put_u64(o, s->xcr0);
    for (int i = 0; i < 4; i++)
        st_put_u64(o, s->dr[i]);
    st_put_u64(o, s->dr6);
    st_put_u64(o, s->dr7);
    st_put_bytes(o, s->fxsave, sizeof(s->fxsave));
    st_put_u32(o, s->nmsrs);
    for (uint32_t i = 0; i < s->nmsrs && i < VCPU_MAX_MSRS; i++) {
        st_put_u32(o, s->msrs[i].index);
        st_put_u64(o, s->msrs[i].value);
    }
    st_put_u8(o, s->mp_state);
    st_put_bool(o, s->exc_valid);
    st_put_u8(o, s->exc_vector);
    st_put_bool(o, s->exc_has_error);
    st_put_u32(o, s->exc_error);
    st_put_bool(o, s->irq_valid);
    st_put_u8(o, s->irq_vector);
    st_put_bool(o, s->nmi_injected);
    st_put_bool(o, s->nmi_pending);
    st_put_bool(o, s->nmi_masked);
    st_put_bool(o, s->int_shadow);
    st_put_bool(o, s->smm);
    st_put_bool(o, s->smi_pending);
    st_put_bytes(o, s->lapic, sizeof(s->lapic));
    st_put_u64(o, s->lapic_timer_ns);
    st_put_u32(o, s->lapic_esr_pending);
    if (s->has_ymm)
        st_put_bytes(o, s->ymm_hi, sizeof(s->ymm_hi));
}

/* ---- checks ------------------------------------------------------------------ */

#define REFUSE(...) return err_set(e, -EINVAL, "vCPU state: " __VA_ARGS__)

static bool mtrr_type_ok(unsigned t)
{
    return t == 0 || t == 1 || t == 4 || t == 5 || t == 6;
}

static int check_msr(uint32_t idx, uint64_t v, struct err *e)
{
    switch (idx) {
    case 0x1b:
        if (v & (0x2ffULL | ~((1ULL << 52) - 1)))
            REFUSE("IA32_APIC_BASE %#llx has reserved bits set", (unsigned long long)v);
        if ((v & (1ULL << 10)) && !(v & (1ULL << 11)))
            REFUSE("IA32_APIC_BASE %#llx: x2APIC mode with the APIC disabled",
                   (unsigned long long)v);
        return 0;
    case 0x174:
        if (v >> 32)
            REFUSE("IA32_SYSENTER_CS %#llx is wider than 32 bits", (unsigned long long)v);
        return 0;
    case 0x175: case 0x176: case 0xc0000082: case 0xc0000083: case 0xc0000102:
        if (!VCPU_CANONICAL(v))
            REFUSE("MSR %#x: %#llx is not a canonical address", idx, (unsigned long long)v);
        return 0;
    case 0x277:
        for (int k = 0; k < 8; k++) {
            unsigned t = (v >> (8 * k)) & 0xff;
            if (t == 2 || t == 3 || t > 7)
                REFUSE("IA32_PAT %#llx: entry %d has memory type %u", (unsigned long long)v, k, t);
        }
        return 0;
    case 0x2ff:
        if ((v & ~0xcffULL) || !mtrr_type_ok(v & 0xff))
            REFUSE("IA32_MTRR_DEF_TYPE %#llx is not a valid setting", (unsigned long long)v);
        return 0;
    case 0xc0000084: case 0xc0000103:
        if (v >> 32)
            REFUSE("MSR %#x: %#llx is wider than 32 bits", idx, (unsigned long long)v);
        return 0;
    default:
        break;
    }
    if (idx >= 0x200 && idx <= 0x20f) {
        bool mask = idx & 1;
        uint64_t reserved = (mask ? 0x7ffULL : 0xf00ULL) | ~((1ULL << 52) - 1);
        if ((v & reserved) || (!mask && !mtrr_type_ok(v & 0xff)))
            REFUSE("MTRR %s %u: %#llx is not a valid setting", mask ? "PHYSMASK" : "PHYSBASE",
                   (idx - 0x200) / 2, (unsigned long long)v);
        return 0;
    }
    if (idx == 0x250 || idx == 0x258 || idx == 0x259 || (idx >= 0x268 && idx <= 0x26f)) {
        for (int k = 0; k < 8; k++)
            if (!mtrr_type_ok((v >> (8 * k)) & 0xff))
                REFUSE("fixed-range MTRR %#x: %#llx has an invalid memory type", idx,
                       (unsigned long long)v);
        return 0;
    }
    return 0;   /* TSC, MISC_ENABLE, TSC_DEADLINE, STAR, extras: any value */
}

static int check_msrs(const struct vcpu_snap *s, struct err *e)
{
    unsigned next_arch = 0;
    for (uint32_t i = 0; i < s->nmsrs; i++) {
        uint32_t idx = s->msrs[i].index;
        if (i > 0 && idx <= s->msrs[i - 1].index)
            REFUSE("MSR %#x is out of order or listed twice", idx);
        bool arch = next_arch < vcpu_arch_msr_count && vcpu_arch_msrs[next_arch] == idx;
        if (arch) {
            next_arch++;
        } else {
            if (next_arch < vcpu_arch_msr_count && idx > vcpu_arch_msrs[next_arch])
                REFUSE("MSR %#x is missing", vcpu_arch_msrs[next_arch]);
            if (!vcpu_extra_msr(idx))
                REFUSE("MSR %#x is not one the format knows", idx);
        }
        int r = check_msr(idx, s->msrs[i].value, e);
        if (r < 0)
            return r;
    }
    if (next_arch < vcpu_arch_msr_count)
        REFUSE("MSR %#x is missing", vcpu_arch_msrs[next_arch]);
    return 0;
}

static bool usable(const struct vcpu_seg *s)
{
    return !(s->attr & VSEG_UNUSABLE);
}

static int check_segments(const struct vcpu_snap *s, struct err *e)
{
    const struct vcpu_seg *all[8] = { &s->seg[0], &s->seg[1], &s->seg[2], &s->seg[3],
                                      &s->seg[4], &s->seg[5], &s->ldtr, &s->tr };
    bool lma = s->efer & EFER_LMA;
    for (int i = 0; i < 8; i++) {
        const struct vcpu_seg *g = all[i];
        if (g->attr & ~VSEG_VALID)
            REFUSE("%s attributes %#x have reserved bits set", seg_names[i], g->attr);
        if (!(g->attr & VSEG_P) && !(g->attr & VSEG_UNUSABLE))
            REFUSE("%s is not present but not marked unusable", seg_names[i]);
        if ((g->attr & VSEG_P) && (g->attr & VSEG_UNUSABLE))
            REFUSE("%s is both present and unusable", seg_names[i]);
        if ((i == S_FS || i == S_GS || i >= 6) && !VCPU_CANONICAL(g->base))
            REFUSE("%s base %#llx is not canonical", seg_names[i], (unsigned long long)g->base);
    }
    if (!VCPU_CANONICAL(s->gdtr.base))
        REFUSE("GDTR base %#llx is not canonical", (unsigned long long)s->gdtr.base);
    if (!VCPU_CANONICAL(s->idtr.base))
        REFUSE("IDTR base %#llx is not canonical", (unsigned long long)s->idtr.base);

    const struct vcpu_seg *cs = &s->seg[S_CS], *ss = &s->seg[S_SS];
    if (lma && (cs->attr & VSEG_L) && (cs->attr & VSEG_DB))
        REFUSE("CS has both L and D/B set in long mode");
    if (!lma && (cs->attr & VSEG_L))
        REFUSE("CS.L is set outside long mode");
    /* The rest is what protected mode requires of loaded segments (real and
     * virtual-8086 mode take any hidden parts). */
    if (!(s->cr0 & CR0_PE) || (s->rflags & (1ULL << 17)))
        return 0;
    for (int i = 0; i < 8; i++) {
        const struct vcpu_seg *g = all[i];
        if (!usable(g))
            continue;
        if ((g->limit & 0xfff) != 0xfff && (g->attr & VSEG_G))
            REFUSE("%s limit %#x does not fit its granularity (G=1)", seg_names[i], g->limit);
        if ((g->limit >> 20) && !(g->attr & VSEG_G))
            REFUSE("%s limit %#x does not fit its granularity (G=0)", seg_names[i], g->limit);
        if (i < 6 && i != S_FS && i != S_GS && (g->base >> 32))
            REFUSE("%s base %#llx is wider than 32 bits", seg_names[i],
                   (unsigned long long)g->base);
    }
    unsigned ct = cs->attr & VSEG_TYPE;
    if (!usable(cs) || !(cs->attr & VSEG_S) || !(ct & 8) || !(ct & 1))
        REFUSE("CS (attributes %#x) is not an accessed code segment", cs->attr);
    if ((ct & 4) ? VSEG_DPL(cs->attr) > VSEG_DPL(ss->attr)
                 : VSEG_DPL(cs->attr) != VSEG_DPL(ss->attr))
        REFUSE("CS.DPL %u does not match the CPL, SS.DPL %u", VSEG_DPL(cs->attr),
               VSEG_DPL(ss->attr));
    if (usable(ss)) {
        unsigned t = ss->attr & VSEG_TYPE;
        if (!(ss->attr & VSEG_S) || (t != 3 && t != 7))
            REFUSE("SS (attributes %#x) is not a writable data segment", ss->attr);
    } else if (!lma) {
        REFUSE("SS is unusable outside long mode");
    }
    for (int i = 0; i < 6; i++) {
        if (i == S_CS || i == S_SS || !usable(&s->seg[i]))
            continue;
        unsigned a = s->seg[i].attr, t = a & VSEG_TYPE;
        if (!(a & VSEG_S) || !(t & 1) || ((t & 8) && !(t & 2)))
            REFUSE("%s (attributes %#x) is not an accessed data or readable code segment",
                   seg_names[i], a);
    }
    unsigned tt = s->tr.attr & VSEG_TYPE;
    if (!usable(&s->tr) || (s->tr.attr & VSEG_S) || (tt != 11 && !(tt == 3 && !lma)) ||
        (s->tr.selector & 4))
        REFUSE("TR (selector %#x, attributes %#x) is not a busy TSS in the GDT",
               s->tr.selector, s->tr.attr);
    if (usable(&s->ldtr) &&
        ((s->ldtr.attr & VSEG_S) || (s->ldtr.attr & VSEG_TYPE) != 2 || (s->ldtr.selector & 4)))
        REFUSE("LDTR (selector %#x, attributes %#x) is not an LDT in the GDT",
               s->ldtr.selector, s->ldtr.attr);
    return 0;
}

static int check_control(const struct vcpu_snap *s, struct err *e)
{
    const uint64_t cr0_valid = CR0_PE | CR0_MP | CR0_EM | CR0_TS | CR0_ET | CR0_NE | CR0_WP |
                               CR0_AM | CR0_NW | CR0_CD | CR0_PG;
    if (s->cr0 & ~cr0_valid)
        REFUSE("CR0 %#llx has reserved bits set", (unsigned long long)s->cr0);
    if (!(s->cr0 & CR0_ET))
        REFUSE("CR0 %#llx lacks ET, which every x86-64 CPU holds at 1", (unsigned long long)s->cr0);
    if ((s->cr0 & CR0_PG) && !(s->cr0 & CR0_PE))
        REFUSE("CR0 %#llx has paging without protected mode", (unsigned long long)s->cr0);
    if ((s->cr0 & CR0_NW) && !(s->cr0 & CR0_CD))
        REFUSE("CR0 %#llx has NW without CD", (unsigned long long)s->cr0);
    /* VMXE and SMXE would need state the format does not carry. */
    const uint64_t cr4_valid = 0x1fffULL | CR4_FSGSBASE | CR4_PCIDE | CR4_OSXSAVE | CR4_SMEP |
                               CR4_SMAP | (1ULL << 22);
    if (s->cr4 & ~cr4_valid)
        REFUSE("CR4 %#llx has bits the format does not support", (unsigned long long)s->cr4);
    if (s->cr3 >> 52)
        REFUSE("CR3 %#llx has reserved bits set", (unsigned long long)s->cr3);
    if (s->cr8 > 15)
        REFUSE("CR8 %#llx is above 15", (unsigned long long)s->cr8);
    const uint64_t efer_valid = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
    if (s->efer & ~efer_valid)
        REFUSE("EFER %#llx has reserved bits set", (unsigned long long)s->efer);
    bool lma_expected = (s->efer & EFER_LME) && (s->cr0 & CR0_PG);
    if (!!(s->efer & EFER_LMA) != lma_expected)
        REFUSE("EFER.LMA (%#llx) does not follow from LME and CR0.PG (%#llx)",
               (unsigned long long)s->efer, (unsigned long long)s->cr0);
    if (lma_expected && !(s->cr4 & CR4_PAE))
        REFUSE("long mode without CR4.PAE (CR4 %#llx)", (unsigned long long)s->cr4);
    if ((s->cr4 & CR4_PCIDE) && !(s->efer & EFER_LMA))
        REFUSE("CR4.PCIDE outside long mode");
    if (!(s->efer & EFER_LMA) && (s->cr3 >> 32))
        REFUSE("CR3 %#llx is wider than 32 bits outside long mode", (unsigned long long)s->cr3);
    /* x87, SSE, AVX, AVX-512 (all three or none), PKRU. */
    const uint64_t xcr0_valid = 0x7 | 0xe0 | 0x200;
    if (!(s->xcr0 & 1) || (s->xcr0 & ~xcr0_valid) || ((s->xcr0 & 4) && !(s->xcr0 & 2)) ||
        ((s->xcr0 & 0xe0) && (s->xcr0 & 0xe0) != 0xe0) || ((s->xcr0 & 0xe0) && !(s->xcr0 & 4)))
        REFUSE("XCR0 %#llx is not a valid setting", (unsigned long long)s->xcr0);
    if (s->has_ymm && !(s->xcr0 & 4))
        REFUSE("YMM state without AVX enabled in XCR0 %#llx", (unsigned long long)s->xcr0);
    if (s->dr6 >> 32 || s->dr7 >> 32)
        REFUSE("DR6 %#llx or DR7 %#llx is wider than 32 bits", (unsigned long long)s->dr6,
               (unsigned long long)s->dr7);
    const uint64_t rflags_valid = 0x3f7fd5 | RFLAGS_FIXED;
    if ((s->rflags & ~rflags_valid) || !(s->rflags & RFLAGS_FIXED))
        REFUSE("RFLAGS %#llx has reserved bits wrong", (unsigned long long)s->rflags);
    bool lma = s->efer & EFER_LMA;
    if (lma && (s->rflags & (1ULL << 17)))
        REFUSE("RFLAGS.VM in long mode");
    if (lma && (s->seg[S_CS].attr & VSEG_L)) {
        if (!VCPU_CANONICAL(s->rip))
            REFUSE("RIP %#llx is not canonical", (unsigned long long)s->rip);
    } else if (s->rip >> 32) {
        REFUSE("RIP %#llx is wider than 32 bits outside 64-bit mode", (unsigned long long)s->rip);
    }
    return 0;
}

static int check_fxsave(const struct vcpu_snap *s, struct err *e)
{
    const uint8_t *f = s->fxsave;
    uint32_t mxcsr = snap_get32(f + FXS_MXCSR);
    if (mxcsr & ~0xffffu)
        REFUSE("MXCSR %#x has reserved bits set", mxcsr);
    if (snap_get32(f + FXS_MXCSR_MASK))
        REFUSE("the FXSAVE area's MXCSR_MASK is not 0 (the format leaves it out)");
    if (snap_get16(f + FXS_FOP) > 0x7ff)
        REFUSE("the x87 opcode %#x is wider than 11 bits", snap_get16(f + FXS_FOP));
    if (f[5])
        REFUSE("the FXSAVE area's byte 5 is not 0");
    for (int k = 0; k < 8; k++)
        for (int b = 10; b < 16; b++)
            if (f[FXS_ST + 16 * k + b])
                REFUSE("ST%d has bytes past its 80 bits", k);
    for (int b = FXS_END; b < 512; b++)
        if (f[b])
            REFUSE("the FXSAVE area's reserved byte %d is not 0", b);
    return 0;
}

static int check_events(const struct vcpu_snap *s, struct err *e)
{
    if (s->mp_state > VCPU_MP_WAIT_SIPI)
        REFUSE("multiprocessing state %u is not running (0), halted (1) or waiting for SIPI (2)",
               s->mp_state);
    if (s->exc_valid) {
        /* Vectors an exception can have; #BP and #OF come from INT3/INTO,
         * which re-execute, and an NMI has its own fields. */
        static const uint32_t ok = 1u << 0 | 1u << 1 | 1u << 5 | 1u << 6 | 1u << 7 | 1u << 8 |
                                   1u << 10 | 1u << 11 | 1u << 12 | 1u << 13 | 1u << 14 |
                                   1u << 16 | 1u << 17 | 1u << 18 | 1u << 19 | 1u << 20 |
                                   1u << 21 | 1u << 29 | 1u << 30;
        static const uint32_t with_error = 1u << 8 | 1u << 10 | 1u << 11 | 1u << 12 | 1u << 13 |
                                           1u << 14 | 1u << 17 | 1u << 21 | 1u << 29 | 1u << 30;
        if (s->exc_vector >= 32 || !(ok & (1u << s->exc_vector)))
            REFUSE("exception vector %u cannot be in delivery", s->exc_vector);
        bool want = (s->cr0 & CR0_PE) && (with_error & (1u << s->exc_vector));
        if (s->exc_has_error != want)
            REFUSE("exception %u %s an error code, which it %s", s->exc_vector,
                   s->exc_has_error ? "has" : "lacks", want ? "needs" : "cannot have here");
        if (!s->exc_has_error && s->exc_error)
            REFUSE("exception %u has an error code value but no error code", s->exc_vector);
    } else if (s->exc_vector || s->exc_has_error || s->exc_error) {
        REFUSE("no exception in delivery, but its vector or error code is set");
    }
    if (!s->irq_valid && s->irq_vector)
        REFUSE("no interrupt in delivery, but its vector is set");
    if ((int)s->exc_valid + (int)s->irq_valid + (int)s->nmi_injected > 1)
        REFUSE("more than one event in delivery");
    if ((s->exc_valid || s->irq_valid || s->nmi_injected) && s->mp_state != VCPU_MP_RUNNING)
        REFUSE("an event in delivery on a vCPU that is not running");
    if (s->int_shadow && s->mp_state != VCPU_MP_RUNNING)
        REFUSE("an interrupt shadow on a vCPU that is not running");
    return 0;
}

static int check_lapic(const struct vcpu_snap *s, struct err *e)
{
    uint64_t apic_base = 0;
    vcpu_snap_msr(s, 0x1b, &apic_base);
    bool x2apic = apic_base & (1ULL << 10);
    uint8_t seen[APIC_PAGE_SIZE / 16];
    memset(seen, 0, sizeof(seen));
    for (unsigned i = 0; i < apic_page_reg_count; i++) {
        const struct apic_reg_desc *r = &apic_page_regs[i];
        uint32_t v = apic_page_get(s->lapic, r->offset);
        uint32_t valid = r->valid;
        if (x2apic && (r->offset == APIC_REG_ID || r->offset == APIC_REG_LDR ||
                       r->offset == APIC_REG_ICR_HI))
            valid = ~0u;
        if (v & ~valid)
            REFUSE("local APIC %s %#x has reserved bits set", r->name, v);
        seen[r->offset / 16] = 1;
    }
    for (unsigned off = 0; off < APIC_PAGE_SIZE; off += 4) {
        bool reg_word = seen[off / 16] && (off & 0xf) == 0;
        if (!reg_word && snap_get32(s->lapic + off))
            REFUSE("local APIC page offset %#x is not 0 (not a register the format keeps)", off);
    }
    uint32_t dfr = apic_page_get(s->lapic, APIC_REG_DFR);
    if (!x2apic && ((dfr & 0x0fffffff) != 0x0fffffff || ((dfr >> 28) != 0 && (dfr >> 28) != 0xf)))
        REFUSE("local APIC DFR %#x is neither flat nor cluster", dfr);
    if (x2apic && dfr)
        REFUSE("local APIC DFR %#x in x2APIC mode", dfr);
    uint32_t lvtt = apic_page_get(s->lapic, APIC_REG_LVT_TIMER);
    unsigned mode = (lvtt >> 17) & 3;
    if (mode == 3)
        REFUSE("local APIC timer mode 3 is reserved");
    uint32_t tmict = apic_page_get(s->lapic, APIC_REG_TMICT);
    if ((mode == 2 || tmict == 0) && s->lapic_timer_ns)
        REFUSE("local APIC timer has time left (%llu ns) but no count running",
               (unsigned long long)s->lapic_timer_ns);
    if (s->lapic_timer_ns > (1ULL << 46))
        REFUSE("local APIC timer time left %llu ns is out of range",
               (unsigned long long)s->lapic_timer_ns);
    if (s->lapic_esr_pending & ~0xffu)
        REFUSE("local APIC pending errors %#x have reserved bits set", s->lapic_esr_pending);
    uint32_t tpr = apic_page_get(s->lapic, APIC_REG_TPR);
    if (s->cr8 != (tpr >> 4))
        REFUSE("CR8 %llu is not the APIC's TPR %#x >> 4", (unsigned long long)s->cr8, tpr);
    return 0;
}

/* ---- decoding ------------------------------------------------------------------ */

static void get_seg(struct state_in *in, struct vcpu_seg *s)
{
    s->selector = st_get_u16(in);
    s->base = st_get_u64(in);
    s->limit = st_get_u32(in);
    s->attr = st_get_u32(in);
}

int vcpu_snap_decode(struct state_in *in, struct vcpu_snap *s, struct err *e)
{
    memset(s, 0, sizeof(*s));
    uint32_t flags = st_get_u32(in);
    for (int i = 0; i < 16; i++)
        s->gpr[i] = st_get_u64(in);
    s->rip = st_get_u64(in);
    s->rflags = st_get_u64(in);
    for (int i = 0; i < 6; i++)
        get_seg(in, &s->seg[i]);
    get_seg(in, &s->ldtr);
    get_seg(in, &s->tr);
    s->gdtr.base = st_get_u64(in);
    s->gdtr.limit = st_get_u16(in);
    s->idtr.base = st_get_u64(in);
    s->idtr.limit = st_get_u16(in);
    s->cr0 = st_get_u64(in);
    s->cr2 = st_get_u64(in);
    s->cr3 = st_get_u64(in);
    s->cr4 = st_get_u64(in);
    s->cr8 = st_get_u64(in);
    s->efer = st_get_u64(in);
    s->xcr0 = st_get_u64(in);
    for (int i = 0; i < 4; i++)
        s->dr[i] = st_get_u64(in);
    s->dr6 = st_get_u64(in);
    s->dr7 = st_get_u64(in);
    st_get_bytes(in, s->fxsave, sizeof(s->fxsave));
    uint32_t n = st_get_u32(in);
    if (in->bad)
        return err_set(e, -EINVAL, "vCPU state: cut short");
    if (n > VCPU_MAX_MSRS)
        REFUSE("%u MSRs, more than the %d the format allows", n, VCPU_MAX_MSRS);
    s->nmsrs = n;
    for (uint32_t i = 0; i < n; i++) {
        s->msrs[i].index = st_get_u32(in);
        s->msrs[i].value = st_get_u64(in);
    }
    s->mp_state = st_get_u8(in);
    s->exc_valid = st_get_bool(in);
    s->exc_vector = st_get_u8(in);
    s->exc_has_error = st_get_bool(in);
    s->exc_error = st_get_u32(in);
    s->irq_valid = st_get_bool(in);
    s->irq_vector = st_get_u8(in);
    s->nmi_injected = st_get_bool(in);
    s->nmi_pending = st_get_bool(in);
    s->nmi_masked = st_get_bool(in);
    s->int_shadow = st_get_bool(in);
    s->smm = st_get_bool(in);
    s->smi_pending = st_get_bool(in);
    st_get_bytes(in, s->lapic, sizeof(s->lapic));
    s->lapic_timer_ns = st_get_u64(in);
    s->lapic_esr_pending = st_get_u32(in);
    if (flags & ~FLAG_YMM)
        REFUSE("flags %#x has unknown bits", flags);
    s->has_ymm = flags & FLAG_YMM;
    if (s->has_ymm)
        st_get_bytes(in, s->ymm_hi, sizeof(s->ymm_hi));
    if (in->bad)
        return err_set(e, -EINVAL, "vCPU state: cut short or a flag byte is not 0 or 1");
    int r;
    if ((r = check_control(s, e)) < 0 || (r = check_segments(s, e)) < 0 ||
        (r = check_fxsave(s, e)) < 0 || (r = check_msrs(s, e)) < 0 ||
        (r = check_events(s, e)) < 0 || (r = check_lapic(s, e)) < 0)
        return r;
    return 0;
}
