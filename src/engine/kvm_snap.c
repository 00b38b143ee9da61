/* The kvm engine's snapshots: a vCPU (KVM_GET/SET_REGS, SREGS, XSAVE or FPU,
 * XCRS, DEBUGREGS, LAPIC, MSRS, VCPU_EVENTS, MP_STATE) and the in-kernel
 * PIC pair, IOAPIC, PIT and kvmclock, converted to and from the engine-neutral
 * formats our own models write (engine/vcpu_snap.h, machine/irqstate.h,
 * docs/snapshot-cpu.md), so a machine moves between kvm and emu. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>

#include "engine/kvm_priv.h"
#include "engine/kvm_state.h"
#include "engine/vcpu_snap.h"
#include "machine/irqstate.h"
#include "machine/timer.h"
#include "machine/vm.h"

#define MSR_TSC        0x10
#define MSR_APIC_BASE  0x1b
#define MSR_TSC_DEADLINE 0x6e0
/* The APIC timer's clock under KVM: one bus cycle a nanosecond (KVM's
 * APIC_BUS_CYCLE_NS, unless a VMM changes it; we do not). */
#define KVM_APIC_BUS_NS 1

/* ---- small helpers ----------------------------------------------------------------- */

static const struct kvm_cpuid_entry2 *cpuid_entry(const struct kvm_vm *k, uint32_t fn,
                                                  uint32_t idx)
{
    for (uint32_t i = 0; i < k->cpuid->nent; i++) {
        const struct kvm_cpuid_entry2 *e = &k->cpuid->entries[i];
        if (e->function == fn && (e->index == idx || !(e->flags & KVM_CPUID_FLAG_SIGNIFCANT_INDEX)))
            return e;
    }
    return NULL;
}

static uint32_t cpuid_reg(const struct kvm_vm *k, uint32_t fn, uint32_t idx, int reg)
{
    const struct kvm_cpuid_entry2 *e = cpuid_entry(k, fn, idx);
    if (!e)
        return 0;
    return reg == 0 ? e->eax : reg == 1 ? e->ebx : reg == 2 ? e->ecx : e->edx;
}

static bool has_msr_index(const struct kvm_vm *k, uint32_t idx)
{
    for (uint32_t i = 0; i < k->nmsr_index; i++)
        if (k->msr_index[i] == idx)
            return true;
    return false;
}

int kvm_read_msr_index(struct kvm_vm *k)
{
    for (uint32_t n = 256; n <= 16384; n *= 2) {
        struct kvm_msr_list *l = calloc(1, sizeof(*l) + n * sizeof(uint32_t));
        if (!l)
            return -ENOMEM;
        l->nmsrs = n;
        if (ioctl(k->sys_fd, KVM_GET_MSR_INDEX_LIST, l) == 0) {
            k->msr_index = malloc(l->nmsrs * sizeof(uint32_t) + 1);
            if (!k->msr_index) {
                free(l);
                return -ENOMEM;
            }
            memcpy(k->msr_index, l->indices, l->nmsrs * sizeof(uint32_t));
            k->nmsr_index = l->nmsrs;
            free(l);
            return 0;
        }
        int en = errno;
        free(l);
        if (en != E2BIG)
            return -en;
    }
    return -E2BIG;
}

struct msr_buf {
    struct kvm_msrs h;
    struct kvm_msr_entry e[VCPU_MAX_MSRS];
};

/* One MSR through KVM_GET_MSRS or KVM_SET_MSRS (req); 0 or -errno. */
static int one_msr(struct kvm_vcpu *kv, unsigned long req, uint32_t index, uint64_t *value)
{
    struct { struct kvm_msrs h; struct kvm_msr_entry e; } m;
    memset(&m, 0, sizeof(m));
    m.h.nmsrs = 1;
    m.e.index = index;
    m.e.data = *value;
    if (ioctl(kv->fd, req, &m) != 1)
        return errno ? -errno : -EIO;
    *value = m.e.data;
    return 0;
}

int kvm_vcpu_get_tsc(struct kvm_vcpu *kv, uint64_t *tsc)
{
    return one_msr(kv, KVM_GET_MSRS, MSR_TSC, tsc);
}

static int set_one_msr(struct kvm_vcpu *kv, uint32_t index, uint64_t value)
{
    return one_msr(kv, KVM_SET_MSRS, index, &value);
}

/* A TSC read back just after it was written: within a few seconds of a
 * fast TSC either way (the ioctls between, on a busy host; KVM matching a
 * vCPU's TSC to another's written a moment before). */
bool kvm_tsc_took(uint64_t wanted, uint64_t got)
{
    return got - wanted + 10000000000ULL < 20000000000ULL;
}

/* Some hosts' KVM (the nested "PVM" backend, docs/kvm-hosts.md: tsc-write)
 * drop a TSC written with KVM_SET_MSRS (got: what it reads back): then the
 * vCPU's TSC offset (KVM_VCPU_TSC_OFFSET, Linux 5.16) is moved by what is
 * missing. */
static int tsc_by_offset(struct kvm_vcpu *kv, uint64_t tsc, uint64_t got)
{
    uint64_t off = 0;
    struct kvm_device_attr a = { .group = KVM_VCPU_TSC_CTRL, .attr = KVM_VCPU_TSC_OFFSET,
                                 .addr = (uint64_t)(uintptr_t)&off };
    if (ioctl(kv->fd, KVM_HAS_DEVICE_ATTR, &a) < 0 || ioctl(kv->fd, KVM_GET_DEVICE_ATTR, &a) < 0)
        return -ENOTSUP;
    off += tsc - got;
    if (ioctl(kv->fd, KVM_SET_DEVICE_ATTR, &a) < 0)
        return -errno;
    int r = kvm_vcpu_get_tsc(kv, &got);
    if (r < 0)
        return r;
    return kvm_tsc_took(tsc, got) ? 0 : -ENOTSUP;
}

/* KVM arms a TSC deadline against the TSC it sees when the deadline is
 * written: a deadline is written again after the TSC, so it stays where
 * the guest put it on the guest's TSC (deadline 0: none armed).  -ENOTSUP
 * when this host's KVM takes the TSC neither way. */
int kvm_vcpu_put_tsc(struct kvm_vcpu *kv, uint64_t tsc, uint64_t deadline)
{
    int r = set_one_msr(kv, MSR_TSC, tsc);
    if (r < 0)
        return r;
    uint64_t got = 0;
    r = kvm_vcpu_get_tsc(kv, &got);
    if (r == 0 && !kvm_tsc_took(tsc, got))
        r = tsc_by_offset(kv, tsc, got);
    if (deadline) {
        int d = set_one_msr(kv, MSR_TSC_DEADLINE, deadline);
        if (r == 0)
            r = d;
    }
    return r;
}

int kvm_vcpu_set_tsc(struct kvm_vcpu *kv, uint64_t tsc)
{
    uint64_t deadline = 0;
    if (one_msr(kv, KVM_GET_MSRS, MSR_TSC_DEADLINE, &deadline) < 0)
        deadline = 0;
    return kvm_vcpu_put_tsc(kv, tsc, deadline);
}

/* Host CLOCK_MONOTONIC: KVM's ktime for the in-kernel PIT. */
static int64_t ktime_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

#define FAIL(what) err_set(e, errno ? -errno : -EIO, "vCPU %d: %s failed: %s", v->id, what, \
                           strerror(errno ? errno : EIO))

/* ---- vCPU: save ---------------------------------------------------------------------- */

static uint32_t ymm_offset(const struct kvm_vm *k)
{
    uint32_t off = cpuid_reg(k, 0xd, 2, 1);
    return off >= 576 && off + 256 <= 4096 ? off : 576;
}

/* The XSAVE image (standard format) to the format's FXSAVE area and YMM.
 * Components in their initial state are written as that state. */
int kvm_fx_from_xsave(const struct kvm_vm *k, const uint8_t *xs, struct vcpu_snap *s,
                      struct err *e, int id)
{
    uint64_t bv = snap_get64(xs + 512);
    /* Components beyond AVX (AVX-512's, PKRU, ...) whose bytes are all zero
     * hold their initial state even with their XSTATE_BV bit set, as some
     * hosts' KVM reports PKRU 0: the format has room for none of them. */
    for (unsigned i = 3; i < 64; i++) {
        if (!(bv & (1ULL << i)))
            continue;
        uint32_t size = cpuid_reg(k, 0xd, i, 0), off = cpuid_reg(k, 0xd, i, 1);
        bool zero = size && off >= 576 && off + size <= 4096;
        for (uint32_t b = 0; zero && b < size; b++)
            zero = xs[off + b] == 0;
        if (!zero)
            return err_set(e, -ENOTSUP, "vCPU %d uses XSAVE state beyond x87, SSE and AVX "
                           "(component %u of XSTATE_BV %#llx: %s), which the format cannot "
                           "hold yet", id, i, (unsigned long long)bv,
                           i == 9 ? "PKRU" : i >= 5 && i <= 7 ? "AVX-512" : "see CPUID leaf 0xd");
    }
    memcpy(s->fxsave, xs, 512);
    uint8_t *f = s->fxsave;
    if (!(bv & 1)) {
        memset(f, 0, FXS_MXCSR);
        snap_put16(f + FXS_FCW, 0x37f);
        memset(f + FXS_ST, 0, 128);
    }
    if (!(bv & 2))
        memset(f + FXS_XMM, 0, 256);
    snap_put32(f + FXS_MXCSR_MASK, 0);
    f[5] = 0;
    for (int i = 0; i < 8; i++)
        memset(f + FXS_ST + 16 * i + 10, 0, 6);
    memset(f + FXS_END, 0, 512 - FXS_END);
    if (bv & 4) {
        s->has_ymm = true;
        memcpy(s->ymm_hi, xs + ymm_offset(k), 256);
    }
    return 0;
}

static void fx_from_fpu(const struct kvm_fpu *fpu, struct vcpu_snap *s)
{
    uint8_t *f = s->fxsave;
    memset(f, 0, 512);
    snap_put16(f + FXS_FCW, fpu->fcw);
    snap_put16(f + FXS_FSW, fpu->fsw);
    f[FXS_FTW] = fpu->ftwx;
    snap_put16(f + FXS_FOP, fpu->last_opcode & 0x7ff);
    snap_put64(f + FXS_FIP, fpu->last_ip);
    snap_put64(f + FXS_FDP, fpu->last_dp);
    snap_put32(f + FXS_MXCSR, fpu->mxcsr);
    for (int i = 0; i < 8; i++)
        memcpy(f + FXS_ST + 16 * i, fpu->fpr[i], 10);
    memcpy(f + FXS_XMM, fpu->xmm, 256);
}

/* KVM's register page to the format's: the registers the format keeps,
 * with the bits it keeps (ICR's delivery status is dropped), and the
 * current count as guest time left. */
static void lapic_from_kvm(const struct kvm_lapic_state *ls, bool x2apic, struct vcpu_snap *s)
{
    const uint8_t *regs = (const uint8_t *)ls->regs;
    memset(s->lapic, 0, sizeof(s->lapic));
    for (unsigned i = 0; i < apic_page_reg_count; i++) {
        const struct apic_reg_desc *r = &apic_page_regs[i];
        uint32_t valid = r->valid;
        if (x2apic && (r->offset == APIC_REG_ID || r->offset == APIC_REG_LDR ||
                       r->offset == APIC_REG_ICR_HI))
            valid = ~0u;
        if (x2apic && r->offset == APIC_REG_DFR)
            valid = 0;
        apic_page_set(s->lapic, r->offset, apic_page_get(regs, r->offset) & valid);
    }
    uint32_t lvtt = apic_page_get(regs, APIC_REG_LVT_TIMER);
    uint32_t tmict = apic_page_get(regs, APIC_REG_TMICT);
    unsigned mode = (lvtt >> 17) & 3;
    s->lapic_timer_ns = 0;
    if (tmict && mode < 2) {
        uint64_t tmcct = apic_page_get(regs, APIC_REG_TMCCT);
        s->lapic_timer_ns = tmcct * apic_tdcr_divisor(apic_page_get(regs, APIC_REG_TDCR)) *
                            KVM_APIC_BUS_NS;
    }
    s->lapic_esr_pending = 0;
    s->cr8 = apic_page_get(s->lapic, APIC_REG_TPR) >> 4;
}

int kvm_save_vcpu(struct vcpu *v, struct state_out *o, struct err *e)
{
    struct kvm_vm *k = v->vm->engine_data;
    struct kvm_vcpu *kv = v->engine_data;
    struct vcpu_snap *s = calloc(1, sizeof(*s));
    struct kvm_xsave *xs = calloc(1, sizeof(*xs));
    struct kvm_lapic_state *ls = calloc(1, sizeof(*ls));
    struct msr_buf *mb = calloc(1, sizeof(*mb));
    int r = 0;
    if (!s || !xs || !ls || !mb) {
        r = err_set(e, -ENOMEM, "out of memory saving vCPU %d", v->id);
        goto out;
    }
    errno = 0;

    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (ioctl(kv->fd, KVM_GET_REGS, &regs) < 0) { r = FAIL("KVM_GET_REGS"); goto out; }
    if (ioctl(kv->fd, KVM_GET_SREGS, &sregs) < 0) { r = FAIL("KVM_GET_SREGS"); goto out; }
    struct cpu_state cs;
    kvm_state_from_kvm(&cs, &regs, &sregs);
    memcpy(s->gpr, cs.gpr, sizeof(s->gpr));
    s->rip = cs.rip;
    s->rflags = cs.rflags;
    for (int i = 0; i < 6; i++) {
        vcpu_seg_from(&s->seg[i], &cs.seg[i]);
        if (!(s->seg[i].attr & VSEG_UNUSABLE) && (s->seg[i].attr & VSEG_S))
            s->seg[i].attr |= 1;                 /* loaded: its descriptor is accessed */
    }
    vcpu_seg_from(&s->ldtr, &cs.ldt);
    vcpu_seg_from(&s->tr, &cs.tr);
    s->gdtr = cs.gdt;
    s->idtr = cs.idt;
    s->cr0 = cs.cr0;
    s->cr2 = cs.cr2;
    s->cr3 = cs.cr3;
    s->cr4 = cs.cr4;
    s->efer = cs.efer;

    s->xcr0 = 1;
    if (k->has_xcrs) {
        struct kvm_xcrs xc;
        memset(&xc, 0, sizeof(xc));
        if (ioctl(kv->fd, KVM_GET_XCRS, &xc) < 0) { r = FAIL("KVM_GET_XCRS"); goto out; }
        for (uint32_t i = 0; i < xc.nr_xcrs && i < KVM_MAX_XCRS; i++)
            if (xc.xcrs[i].xcr == 0)
                s->xcr0 = xc.xcrs[i].value;
    }
    if (k->has_debugregs) {
        struct kvm_debugregs dr;
        if (ioctl(kv->fd, KVM_GET_DEBUGREGS, &dr) < 0) { r = FAIL("KVM_GET_DEBUGREGS"); goto out; }
        memcpy(s->dr, dr.db, sizeof(s->dr));
        s->dr6 = dr.dr6;
        s->dr7 = dr.dr7;
    } else {
        s->dr6 = 0xffff0ff0;
        s->dr7 = 0x400;
    }
    if (k->has_xsave) {
        if (ioctl(kv->fd, KVM_GET_XSAVE, xs) < 0) { r = FAIL("KVM_GET_XSAVE"); goto out; }
        r = kvm_fx_from_xsave(k, (const uint8_t *)xs->region, s, e, v->id);
        if (r < 0)
            goto out;
    } else {
        struct kvm_fpu fpu;
        if (ioctl(kv->fd, KVM_GET_FPU, &fpu) < 0) { r = FAIL("KVM_GET_FPU"); goto out; }
        fx_from_fpu(&fpu, s);
    }

    /* MSRs: every one the format always carries, and the optional ones KVM
     * has, kept only when they are not at their reset value. */
    uint32_t n = 0;
    for (unsigned i = 0; i < vcpu_arch_msr_count; i++)
        mb->e[n++].index = vcpu_arch_msrs[i];
    unsigned narch = n;
    for (unsigned i = 0; i < vcpu_extra_msr_count; i++)
        if (has_msr_index(k, vcpu_extra_msrs[i].index))
            mb->e[n++].index = vcpu_extra_msrs[i].index;
    mb->h.nmsrs = n;
    int got = ioctl(kv->fd, KVM_GET_MSRS, mb);
    if (got < 0) { r = FAIL("KVM_GET_MSRS"); goto out; }
    if ((uint32_t)got < n) {
        r = err_set(e, -ENOTSUP, "vCPU %d: KVM cannot read MSR %#x", v->id, mb->e[got].index);
        goto out;
    }
    for (uint32_t i = 0; i < n; i++) {
        uint64_t val = mb->e[i].data;
        if (i >= narch && val == vcpu_extra_msr(mb->e[i].index)->reset)
            continue;
        if (mb->e[i].index == MSR_TSC && kv->tsc_frozen)
            val = kv->tsc_frozen_value;
        vcpu_snap_set_msr(s, mb->e[i].index, val);
    }

    if (ioctl(kv->fd, KVM_GET_LAPIC, ls) < 0) { r = FAIL("KVM_GET_LAPIC"); goto out; }
    uint64_t apic_base = 0;
    vcpu_snap_msr(s, MSR_APIC_BASE, &apic_base);
    lapic_from_kvm(ls, apic_base & (1ULL << 10), s);

    if (k->has_events) {
        struct kvm_vcpu_events ev;
        memset(&ev, 0, sizeof(ev));
        if (ioctl(kv->fd, KVM_GET_VCPU_EVENTS, &ev) < 0) {
            r = FAIL("KVM_GET_VCPU_EVENTS");
            goto out;
        }
        /* A software interrupt or INT3/INTO being delivered is left out: RIP
         * is still at the instruction, which raises it again. */
        if (ev.exception.injected && ev.exception.nr != 3 && ev.exception.nr != 4) {
            s->exc_valid = true;
            s->exc_vector = ev.exception.nr;
            s->exc_has_error = ev.exception.has_error_code;
            s->exc_error = ev.exception.has_error_code ? ev.exception.error_code : 0;
        }
        if (ev.interrupt.injected && !ev.interrupt.soft) {
            s->irq_valid = true;
            s->irq_vector = ev.interrupt.nr;
        }
        s->nmi_injected = ev.nmi.injected;
        s->nmi_pending = ev.nmi.pending;
        s->nmi_masked = ev.nmi.masked;
        if (ev.flags & KVM_VCPUEVENT_VALID_SHADOW)
            s->int_shadow = ev.interrupt.shadow != 0;
        if (ev.flags & KVM_VCPUEVENT_VALID_SMM) {
            s->smm = ev.smi.smm;
            s->smi_pending = ev.smi.pending;
        }
    }
    struct kvm_mp_state mp;
    if (ioctl(kv->fd, KVM_GET_MP_STATE, &mp) < 0) { r = FAIL("KVM_GET_MP_STATE"); goto out; }
    switch (mp.mp_state) {
    case KVM_MP_STATE_RUNNABLE: s->mp_state = VCPU_MP_RUNNING; break;
    case KVM_MP_STATE_HALTED: s->mp_state = VCPU_MP_HALTED; break;
    case KVM_MP_STATE_UNINITIALIZED:
    case KVM_MP_STATE_INIT_RECEIVED: s->mp_state = VCPU_MP_WAIT_SIPI; break;
    default:
        r = err_set(e, -EAGAIN, "vCPU %d: KVM reports multiprocessing state %u (a startup IPI "
                    "in flight?), which the format has no place for; save again", v->id,
                    mp.mp_state);
        goto out;
    }
    if (s->mp_state != VCPU_MP_RUNNING)
        s->int_shadow = false;
    vcpu_snap_encode(s, o);
    if (!state_out_ok(o))
        r = err_set(e, -ENOMEM, "out of memory saving vCPU %d", v->id);
out:
    free(s);
    free(xs);
    free(ls);
    free(mb);
    return r;
}

/* ---- vCPU: load ---------------------------------------------------------------------- */

#define REFUSE(...) return err_set(e, -EINVAL, "vCPU state: " __VA_ARGS__)

/* What this host's KVM, with the CPUID hostel gives the guest, cannot take. */
static int kvm_check(const struct kvm_vm *k, int id, const struct vcpu_snap *s, struct err *e)
{
    uint32_t edx1 = cpuid_reg(k, 1, 0, 3), ecx1 = cpuid_reg(k, 1, 0, 2);
    uint32_t ebx7 = cpuid_reg(k, 7, 0, 1), ecx7 = cpuid_reg(k, 7, 0, 2);
    uint32_t edx_ext = cpuid_reg(k, 0x80000001, 0, 3);
    static const struct { uint64_t cr4; int reg; uint32_t leaf, bit; } cr4_needs[] = {
        { 1u << 0, 3, 1, 1 }, { 1u << 1, 3, 1, 1 }, { 1u << 2, 3, 1, 4 }, { 1u << 3, 3, 1, 2 },
        { CR4_PSE, 3, 1, 3 }, { CR4_PAE, 3, 1, 6 }, { 1u << 6, 3, 1, 7 }, { CR4_PGE, 3, 1, 13 },
        { CR4_OSFXSR, 3, 1, 24 }, { CR4_OSXMMEXCPT, 3, 1, 25 }, { 1u << 11, 2, 7, 2 },
        { 1u << 12, 2, 7, 16 }, { CR4_FSGSBASE, 1, 7, 0 }, { CR4_PCIDE, 2, 1, 17 },
        { CR4_OSXSAVE, 2, 1, 26 }, { CR4_SMEP, 1, 7, 7 }, { CR4_SMAP, 1, 7, 20 },
        { 1u << 22, 2, 7, 3 },
    };
    for (size_t i = 0; i < sizeof(cr4_needs) / sizeof(cr4_needs[0]); i++) {
        if (!(s->cr4 & cr4_needs[i].cr4))
            continue;
        uint32_t r = cr4_needs[i].leaf == 1 ? (cr4_needs[i].reg == 3 ? edx1 : ecx1)
                                            : (cr4_needs[i].reg == 1 ? ebx7 : ecx7);
        if (!(r & (1u << cr4_needs[i].bit)))
            REFUSE("CR4 %#llx: bit %#llx needs a CPU feature this host's KVM does not offer",
                   (unsigned long long)s->cr4, (unsigned long long)cr4_needs[i].cr4);
    }
    if ((s->efer & EFER_NXE) && !(edx_ext & (1u << 20)))
        REFUSE("EFER.NXE without NX on this host's KVM");
    if ((s->efer & EFER_LME) && !(edx_ext & (1u << 29)))
        REFUSE("EFER.LME without long mode on this host's KVM");
    uint64_t xcr0_ok = cpuid_reg(k, 0xd, 0, 0) | (uint64_t)cpuid_reg(k, 0xd, 0, 3) << 32;
    if (s->xcr0 != 1 && (!k->has_xcrs || (s->xcr0 & ~xcr0_ok)))
        REFUSE("XCR0 %#llx: this host's KVM offers %#llx", (unsigned long long)s->xcr0,
               (unsigned long long)(k->has_xcrs ? xcr0_ok : 1));
    if (s->has_ymm && !k->has_xsave)
        REFUSE("YMM state, but this host's KVM has no XSAVE interface");
    /* Physical addresses fit the guest's width (CPUID 0x80000008). */
    unsigned phys = cpuid_reg(k, 0x80000008, 0, 0) & 0xff;
    if (phys < 32 || phys > 52)
        phys = 36;
    uint64_t above = ~((1ULL << phys) - 1);
    if ((s->efer & EFER_LMA) && (s->cr3 & above))
        REFUSE("CR3 %#llx is above the guest's %u-bit physical addresses",
               (unsigned long long)s->cr3, phys);
    uint32_t lvtt = apic_page_get(s->lapic, APIC_REG_LVT_TIMER);
    if (((lvtt >> 17) & 3) == 2 && !(ecx1 & (1u << 24)))
        REFUSE("the APIC timer is in TSC-deadline mode, which this host's KVM does not offer");
    for (uint32_t i = 0; i < s->nmsrs; i++) {
        uint32_t idx = s->msrs[i].index;
        uint64_t val = s->msrs[i].value;
        const struct vcpu_extra_msr *x = vcpu_extra_msr(idx);
        if (x && val != x->reset && !has_msr_index(k, idx))
            REFUSE("MSR %#x (%s) is %#llx, but this host's KVM does not have it", idx, x->what,
                   (unsigned long long)val);
        if ((idx >= 0x200 && idx <= 0x20f) && (val & above))
            REFUSE("MTRR %s %u: %#llx is above the guest's %u-bit physical addresses",
                   (idx & 1) ? "PHYSMASK" : "PHYSBASE", (idx - 0x200) / 2,
                   (unsigned long long)val, phys);
        if (idx == MSR_APIC_BASE) {
            if (val & above)
                REFUSE("IA32_APIC_BASE %#llx is above the guest's %u-bit physical addresses",
                       (unsigned long long)val, phys);
            if ((val & (1ULL << 10)) && !(ecx1 & (1u << 21)))
                REFUSE("IA32_APIC_BASE %#llx: x2APIC mode, which this host's KVM does not offer",
                       (unsigned long long)val);
            if (!!(val & (1ULL << 8)) != (id == 0))
                REFUSE("IA32_APIC_BASE %#llx: the BSP flag does not match vCPU %d",
                       (unsigned long long)val, id);
        }
    }
    return 0;
}

static void xsave_from_fx(const struct kvm_vm *k, const struct vcpu_snap *s, uint8_t *xs)
{
    memset(xs, 0, 4096);
    memcpy(xs, s->fxsave, 512);
    uint64_t bv = 3;
    if (s->has_ymm) {
        memcpy(xs + ymm_offset(k), s->ymm_hi, 256);
        bv |= 4;
    }
    snap_put64(xs + 512, bv);
}

static void fpu_from_fx(const struct vcpu_snap *s, struct kvm_fpu *fpu)
{
    const uint8_t *f = s->fxsave;
    memset(fpu, 0, sizeof(*fpu));
    fpu->fcw = snap_get16(f + FXS_FCW);
    fpu->fsw = snap_get16(f + FXS_FSW);
    fpu->ftwx = f[FXS_FTW];
    fpu->last_opcode = snap_get16(f + FXS_FOP);
    fpu->last_ip = snap_get64(f + FXS_FIP);
    fpu->last_dp = snap_get64(f + FXS_FDP);
    fpu->mxcsr = snap_get32(f + FXS_MXCSR);
    for (int i = 0; i < 8; i++)
        memcpy(fpu->fpr[i], f + FXS_ST + 16 * i, 10);
    memcpy(fpu->xmm, f + FXS_XMM, 256);
}

int kvm_load_vcpu(struct vcpu *v, struct state_in *in, struct err *e)
{
    struct kvm_vm *k = v->vm->engine_data;
    struct kvm_vcpu *kv = v->engine_data;
    struct vcpu_snap *s = calloc(1, sizeof(*s));
    struct kvm_xsave *xs = calloc(1, sizeof(*xs));
    struct kvm_lapic_state *ls = calloc(1, sizeof(*ls));
    struct msr_buf *mb = calloc(1, sizeof(*mb));
    int r = 0;
    if (!s || !xs || !ls || !mb) {
        r = err_set(e, -ENOMEM, "out of memory loading vCPU %d", v->id);
        goto out;
    }
    r = vcpu_snap_decode(in, s, e);
    if (r == 0)
        r = kvm_check(k, v->id, s, e);
    if (r < 0) {
        err_wrap(e, "vCPU %d", v->id);
        goto out;
    }
    errno = 0;

    /* Registers, control registers and IA32_APIC_BASE first: the APIC page
     * and the MSRs are taken in their light. */
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
    vcpu_snap_msr(s, MSR_APIC_BASE, &cs.apic_base);
    struct kvm_regs regs;
    struct kvm_sregs sregs;
    if (ioctl(kv->fd, KVM_GET_SREGS, &sregs) < 0) { r = FAIL("KVM_GET_SREGS"); goto out; }
    kvm_state_to_kvm(&cs, &regs, &sregs);
    sregs.apic_base = cs.apic_base;
    memset(sregs.interrupt_bitmap, 0, sizeof(sregs.interrupt_bitmap));
    if (ioctl(kv->fd, KVM_SET_SREGS, &sregs) < 0) { r = FAIL("KVM_SET_SREGS"); goto out; }
    if (ioctl(kv->fd, KVM_SET_REGS, &regs) < 0) { r = FAIL("KVM_SET_REGS"); goto out; }

    if (k->has_xsave) {
        xsave_from_fx(k, s, (uint8_t *)xs->region);
        if (ioctl(kv->fd, KVM_SET_XSAVE, xs) < 0) { r = FAIL("KVM_SET_XSAVE"); goto out; }
    } else {
        struct kvm_fpu fpu;
        fpu_from_fx(s, &fpu);
        if (ioctl(kv->fd, KVM_SET_FPU, &fpu) < 0) { r = FAIL("KVM_SET_FPU"); goto out; }
    }
    if (k->has_xcrs) {
        struct kvm_xcrs xc;
        memset(&xc, 0, sizeof(xc));
        xc.nr_xcrs = 1;
        xc.xcrs[0].xcr = 0;
        xc.xcrs[0].value = s->xcr0;
        if (ioctl(kv->fd, KVM_SET_XCRS, &xc) < 0) { r = FAIL("KVM_SET_XCRS"); goto out; }
    }
    if (k->has_debugregs) {
        struct kvm_debugregs dr;
        memset(&dr, 0, sizeof(dr));
        memcpy(dr.db, s->dr, sizeof(dr.db));
        dr.dr6 = s->dr6;
        dr.dr7 = s->dr7;
        if (ioctl(kv->fd, KVM_SET_DEBUGREGS, &dr) < 0) { r = FAIL("KVM_SET_DEBUGREGS"); goto out; }
    }

    /* The APIC page over KVM's own (its version register stays), with the
     * time left as a current count KVM restarts the timer from. */
    if (ioctl(kv->fd, KVM_GET_LAPIC, ls) < 0) { r = FAIL("KVM_GET_LAPIC"); goto out; }
    uint8_t *regs_page = (uint8_t *)ls->regs;
    for (unsigned i = 0; i < apic_page_reg_count; i++)
        apic_page_set(regs_page, apic_page_regs[i].offset,
                      apic_page_get(s->lapic, apic_page_regs[i].offset));
    uint32_t tmict = apic_page_get(s->lapic, APIC_REG_TMICT);
    uint64_t tick = (uint64_t)apic_tdcr_divisor(apic_page_get(s->lapic, APIC_REG_TDCR)) *
                    KVM_APIC_BUS_NS;
    uint64_t tmcct = (s->lapic_timer_ns + tick - 1) / tick;
    if (tmcct > tmict)
        tmcct = tmict;
    apic_page_set(regs_page, APIC_REG_TMCCT, (uint32_t)tmcct);
    /* The 8259 reaches a BSP whose APIC is software-disabled directly on
     * emu (engine/emu/lapic.c, virtual wire); KVM passes it only through
     * an unmasked ExtINT LINT0, which its own reset gives the BSP.  A guest
     * that never enabled its APIC (one whose CPUID shows none, such as
     * --cpu portable's) would otherwise never see a PIC interrupt again. */
    if ((cs.apic_base & (1ULL << 8)) && !(apic_page_get(s->lapic, APIC_REG_SVR) & 0x100))
        apic_page_set(regs_page, APIC_REG_LVT_LINT0, 0x700);
    if (ioctl(kv->fd, KVM_SET_LAPIC, ls) < 0) { r = FAIL("KVM_SET_LAPIC"); goto out; }

    /* MSRs but the TSC and its deadline, which go in after (the deadline
     * relative to the TSC: kvm_vcpu_put_tsc).  IA32_APIC_BASE went in with
     * the registers. */
    uint32_t n = 0;
    uint64_t tsc = 0, deadline = 0;
    for (uint32_t i = 0; i < s->nmsrs; i++) {
        if (s->msrs[i].index == MSR_APIC_BASE)
            continue;
        if (s->msrs[i].index == MSR_TSC) {
            tsc = s->msrs[i].value;
            continue;
        }
        if (s->msrs[i].index == MSR_TSC_DEADLINE) {
            deadline = s->msrs[i].value;
            continue;
        }
        mb->e[n].index = s->msrs[i].index;
        mb->e[n].data = s->msrs[i].value;
        n++;
    }
    mb->h.nmsrs = n;
    int set = ioctl(kv->fd, KVM_SET_MSRS, mb);
    if (set < 0) { r = FAIL("KVM_SET_MSRS"); goto out; }
    if ((uint32_t)set < n) {
        r = err_set(e, -EINVAL, "vCPU %d: KVM refused MSR %#x = %#llx", v->id, mb->e[set].index,
                    (unsigned long long)mb->e[set].data);
        goto out;
    }
    /* -ENOTSUP (a host that takes no TSC): said once when the vCPU starts,
     * which puts the loaded TSC in again (kvm.c, tsc_back). */
    int t = kvm_vcpu_put_tsc(kv, tsc, deadline);
    if (t < 0 && t != -ENOTSUP) {
        r = err_set(e, t, "vCPU %d: cannot set the TSC or its deadline: %s", v->id, strerror(-t));
        goto out;
    }

    if (k->has_events) {
        struct kvm_vcpu_events ev;
        memset(&ev, 0, sizeof(ev));
        ev.exception.injected = s->exc_valid;
        ev.exception.nr = s->exc_vector;
        ev.exception.has_error_code = s->exc_has_error;
        ev.exception.error_code = s->exc_error;
        ev.interrupt.injected = s->irq_valid;
        ev.interrupt.nr = s->irq_vector;
        /* VMX allows STI blocking only with IF set: MOV SS blocking otherwise. */
        if (s->int_shadow)
            ev.interrupt.shadow = (s->rflags & RFLAGS_IF) ? KVM_X86_SHADOW_INT_STI
                                                          : KVM_X86_SHADOW_INT_MOV_SS;
        ev.nmi.injected = s->nmi_injected;
        ev.nmi.pending = s->nmi_pending;
        ev.nmi.masked = s->nmi_masked;
        ev.flags = KVM_VCPUEVENT_VALID_NMI_PENDING | KVM_VCPUEVENT_VALID_SHADOW;
        if (s->smm || s->smi_pending) {
            ev.flags |= KVM_VCPUEVENT_VALID_SMM;
            ev.smi.smm = s->smm;
            ev.smi.pending = s->smi_pending;
        }
        if (ioctl(kv->fd, KVM_SET_VCPU_EVENTS, &ev) < 0) {
            r = FAIL("KVM_SET_VCPU_EVENTS");
            goto out;
        }
    } else if (s->exc_valid || s->irq_valid || s->nmi_injected || s->nmi_pending || s->int_shadow) {
        r = err_set(e, -ENOTSUP, "vCPU %d: events in delivery, but this host's KVM cannot take "
                    "them (no KVM_CAP_VCPU_EVENTS)", v->id);
        goto out;
    }
    struct kvm_mp_state mp = {
        .mp_state = s->mp_state == VCPU_MP_HALTED ? KVM_MP_STATE_HALTED
                  : s->mp_state == VCPU_MP_WAIT_SIPI ? KVM_MP_STATE_INIT_RECEIVED
                  : KVM_MP_STATE_RUNNABLE,
    };
    if (ioctl(kv->fd, KVM_SET_MP_STATE, &mp) < 0) { r = FAIL("KVM_SET_MP_STATE"); goto out; }
    /* Until it runs (or the machine resumes) the TSC stays the loaded one. */
    kv->tsc_frozen = true;
    kv->tsc_frozen_value = tsc;
out:
    free(s);
    free(xs);
    free(ls);
    free(mb);
    return r;
}

/* ---- the PIC pair, the IOAPIC, the PIT, kvmclock ----------------------------------------- */

#undef FAIL
#define FAIL(what) err_set(e, errno ? -errno : -EIO, "%s failed: %s", what, \
                           strerror(errno ? errno : EIO))

static void pic_from_kvm(const struct kvm_pic_state *p, struct pic_snap *d)
{
    d->irr = p->irr;
    d->isr = p->isr;
    d->imr = p->imr;
    d->elcr = p->elcr & p->elcr_mask;
    d->lines = p->last_irr;
    d->base = p->irq_base & 0xf8;
    d->prio_add = p->priority_add & 7;
    d->init_step = p->init_state <= 3 ? p->init_state : 0;
    /* KVM's 8259 has no "initialized": one that took an ICW2 has a base. */
    d->initialized = p->init_state >= 2 || (p->init_state == 0 && p->irq_base != 0);
    d->init4 = p->init4;
    d->single = false;
    d->read_isr = p->read_reg_select;
    d->poll = p->poll;
    d->auto_eoi = p->auto_eoi;
    d->rotate_aeoi = p->rotate_on_auto_eoi;
    d->special_mask = p->special_mask;
    d->sfnm = p->special_fully_nested_mode;
}

static void pic_to_kvm(const struct pic_snap *d, uint8_t elcr_mask, struct kvm_pic_state *p)
{
    memset(p, 0, sizeof(*p));
    p->last_irr = d->lines;
    p->irr = d->irr;
    p->imr = d->imr;
    p->isr = d->isr;
    p->priority_add = d->prio_add;
    p->irq_base = d->base;
    p->read_reg_select = d->read_isr;
    p->poll = d->poll;
    p->special_mask = d->special_mask;
    p->init_state = d->init_step;
    p->auto_eoi = d->auto_eoi;
    p->rotate_on_auto_eoi = d->rotate_aeoi;
    p->special_fully_nested_mode = d->sfnm;
    p->init4 = d->init4;
    p->elcr = d->elcr;
    p->elcr_mask = elcr_mask;
}

static int save_chips(struct kvm_vm *k, struct state_out *o, struct err *e)
{
    struct irqchip_snap sn;
    memset(&sn, 0, sizeof(sn));
    struct kvm_irqchip chip;
    for (int i = 0; i < 3; i++) {
        memset(&chip, 0, sizeof(chip));
        chip.chip_id = (uint32_t)i;
        errno = 0;
        if (ioctl(k->vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
            return FAIL("KVM_GET_IRQCHIP");
        if (i < 2) {
            pic_from_kvm(&chip.chip.pic, &sn.pic[i]);
        } else {
            const struct kvm_ioapic_state *io = &chip.chip.ioapic;
            sn.io.id = io->id & 0xf;
            sn.io.sel = (uint8_t)io->ioregsel;
            sn.io.lines = io->irr & ((1u << IRQSTATE_IOAPIC_PINS) - 1);
            for (int p = 0; p < IRQSTATE_IOAPIC_PINS; p++) {
                uint64_t v = io->redirtbl[p].bits & ~(IOAPIC_RTE_RESERVED | IOAPIC_RTE_STATUS);
                if (!(v & IOAPIC_RTE_LEVEL))
                    v &= ~IOAPIC_RTE_REMOTE_IRR;
                sn.io.redir[p] = v;
            }
        }
    }
    irqchip_snap_encode(&sn, o);
    return state_out_ok(o) ? 0 : err_set(e, -ENOMEM, "out of memory saving the irqchip");
}

static int load_chips(struct kvm_vm *k, struct state_in *in, struct err *e)
{
    struct irqchip_snap sn;
    int r = irqchip_snap_decode(in, &sn, e);
    if (r < 0)
        return r;
    for (int i = 0; i < 2; i++)
        if (sn.pic[i].single)
            return err_set(e, -EINVAL, "irqchip state: %s 8259 in single mode, which KVM's "
                           "8259 does not have", i ? "slave" : "master");
    struct kvm_irqchip chip;
    for (int i = 0; i < 3; i++) {
        memset(&chip, 0, sizeof(chip));
        chip.chip_id = (uint32_t)i;
        errno = 0;
        if (ioctl(k->vm_fd, KVM_GET_IRQCHIP, &chip) < 0)
            return FAIL("KVM_GET_IRQCHIP");
        if (i < 2) {
            pic_to_kvm(&sn.pic[i], i ? PIC_ELCR_MASK_SLAVE : PIC_ELCR_MASK_MASTER, &chip.chip.pic);
        } else {
            struct kvm_ioapic_state *io = &chip.chip.ioapic;
            io->id = sn.io.id;
            io->ioregsel = sn.io.sel;
            io->irr = sn.io.lines;
            for (int p = 0; p < IRQSTATE_IOAPIC_PINS; p++)
                io->redirtbl[p].bits = sn.io.redir[p];
        }
        if (ioctl(k->vm_fd, KVM_SET_IRQCHIP, &chip) < 0)
            return FAIL("KVM_SET_IRQCHIP");
    }
    return 0;
}

enum { KVM_RW_LSB = 1, KVM_RW_MSB = 2, KVM_RW_WORD0 = 3, KVM_RW_WORD1 = 4 };

static int save_pit(struct kvm_vm *k, struct state_out *o, struct err *e)
{
    struct kvm_pit_state2 ps;
    memset(&ps, 0, sizeof(ps));
    errno = 0;
    if (ioctl(k->vm_fd, KVM_GET_PIT2, &ps) < 0)
        return FAIL("KVM_GET_PIT2");
    int64_t now = ktime_now();
    struct pit_snap sn;
    memset(&sn, 0, sizeof(sn));
    for (int i = 0; i < 3; i++) {
        const struct kvm_pit_channel_state *c = &ps.channels[i];
        struct pit_channel_snap *d = &sn.ch[i];
        d->gate = i < 2 ? true : c->gate != 0;
        d->count = c->count >= 1 && c->count <= 65536 ? c->count : 65536;
        if (c->mode > 5 || c->rw_mode < 1 || c->rw_mode > 3)
            continue;                            /* no control word yet */
        d->mode = c->mode;
        d->rw = c->rw_mode;
        d->bcd = c->bcd;
        /* KVM counts from the count's write, whatever the gate.  Channel 0
         * runs on a host timer whose phase KVM does not report (its
         * count_load_time stays as it was set): saved as a count just
         * loaded, so a restored channel 0 starts a fresh period. */
        d->loaded = true;
        d->counting = true;
        int64_t el = now - c->count_load_time;
        d->elapsed_ns = i > 0 && el > 0 ? (uint64_t)el : 0;
        if (c->count_latched >= KVM_RW_LSB && c->count_latched <= KVM_RW_WORD0) {
            d->latch_state = c->count_latched;
            d->latch = c->latched_count;
        }
        d->status_latched = c->status_latched;
        d->status = c->status_latched ? c->status : 0;
        d->write_msb_next = d->rw == 3 && c->write_state == KVM_RW_WORD1;
        d->write_lsb = d->write_msb_next ? c->write_latch : 0;
        d->read_msb_next = d->rw == 3 && c->read_state == KVM_RW_WORD1;
    }
    sn.port61 = (sn.ch[2].gate ? 1 : 0) | ((ps.flags & KVM_PIT_FLAGS_SPEAKER_DATA_ON) ? 2 : 0);
    pit_snap_encode(&sn, o);
    return state_out_ok(o) ? 0 : err_set(e, -ENOMEM, "out of memory saving the PIT");
}

static int load_pit(struct kvm_vm *k, struct state_in *in, struct err *e)
{
    struct pit_snap sn;
    int r = pit_snap_decode(in, &sn, e);
    if (r < 0)
        return r;
    struct kvm_pit_state2 ps;
    memset(&ps, 0, sizeof(ps));
    int64_t now = ktime_now();
    for (int i = 0; i < 3; i++) {
        const struct pit_channel_snap *d = &sn.ch[i];
        struct kvm_pit_channel_state *c = &ps.channels[i];
        c->count = d->count;
        c->gate = d->gate;
        c->count_load_time = now;
        if (d->rw == 0) {
            c->mode = 0xff;                      /* KVM's "not programmed" */
            continue;
        }
        c->mode = d->mode;
        c->rw_mode = d->rw;
        c->bcd = d->bcd;
        c->read_state = d->rw == 3 ? (d->read_msb_next ? KVM_RW_WORD1 : KVM_RW_WORD0) : d->rw;
        c->write_state = d->rw == 3 ? (d->write_msb_next ? KVM_RW_WORD1 : KVM_RW_WORD0) : d->rw;
        c->write_latch = d->write_lsb;
        c->count_latched = d->latch_state;
        c->latched_count = d->latch;
        c->status_latched = d->status_latched;
        c->status = d->status;
        uint64_t el = d->paused ? d->paused_ticks * 1000000000ULL / 1193182ULL : d->elapsed_ns;
        if (el > (uint64_t)now)
            el = (uint64_t)now;
        c->count_load_time = now - (int64_t)el;
    }
    if (sn.port61 & 2)
        ps.flags |= KVM_PIT_FLAGS_SPEAKER_DATA_ON;
    errno = 0;
    if (ioctl(k->vm_fd, KVM_SET_PIT2, &ps) < 0)
        return FAIL("KVM_SET_PIT2");
    return 0;
}

/* The 8259s and IOAPIC, then the PIT: the "irqchip" section our own models
 * write too (machine/irqstate.h). */
int kvm_save_irqchip(struct vm *vm, struct state_out *o, struct err *e)
{
    struct kvm_vm *k = vm->engine_data;
    int r = save_chips(k, o, e);
    if (r == 0)
        r = save_pit(k, o, e);
    return r;
}

/* kvmclock follows the machine's guest clock, which the snapshot carried
 * and the board loaded first: set now, and again at the resume when the
 * guest clock is held until then. */
int kvm_load_irqchip(struct vm *vm, struct state_in *in, struct err *e)
{
    struct kvm_vm *k = vm->engine_data;
    int r = load_chips(k, in, e);
    if (r == 0)
        r = load_pit(k, in, e);
    if (r < 0)
        return r;
    struct kvm_clock_data d;
    memset(&d, 0, sizeof(d));
    d.clock = guest_clock_now(&vm->clock);
    errno = 0;
    if (ioctl(k->vm_fd, KVM_SET_CLOCK, &d) < 0)
        return FAIL("KVM_SET_CLOCK");
    k->paused_clock = d;
    k->clock_saved = guest_clock_paused(&vm->clock);
    return 0;
}
