/* The one CPUID table hostel's software CPU advertises (docs/cpuid.md).
 * Every bit set here is implemented by some part of emu; a feature that is
 * not implemented is not advertised, so guests never take a path we lack. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "engine/cpuid_model.h"
#include "engine/emu/cpu.h"
#include "engine/emu/emu.h"
#include "machine/vm.h"

#define MAX_BASIC    0x16u
#define MAX_EXT      0x80000008u
#define HV_BASE      0x40000000u

/* CPUID.1:EDX */
#define D1_FPU   (1u << 0)
#define D1_PSE   (1u << 3)
#define D1_TSC   (1u << 4)
#define D1_MSR   (1u << 5)
#define D1_PAE   (1u << 6)
#define D1_CX8   (1u << 8)
#define D1_APIC  (1u << 9)
#define D1_MTRR  (1u << 12)
#define D1_PGE   (1u << 13)
#define D1_CMOV  (1u << 15)
#define D1_PAT   (1u << 16)
#define D1_PSE36 (1u << 17)
#define D1_CLFSH (1u << 19)
#define D1_MMX   (1u << 23)
#define D1_FXSR  (1u << 24)
#define D1_SSE   (1u << 25)
#define D1_SSE2  (1u << 26)
/* CPUID.1:ECX */
#define C1_SSE3   (1u << 0)
#define C1_SSSE3  (1u << 9)
#define C1_FMA    (1u << 12)
#define C1_CX16   (1u << 13)
#define C1_PCID   (1u << 17)   /* TLB entries tagged by PCID: mmu.c */
#define C1_SSE41  (1u << 19)
#define C1_SSE42  (1u << 20)
#define C1_MOVBE  (1u << 22)
#define C1_POPCNT (1u << 23)
#define C1_XSAVE   (1u << 26)
#define C1_OSXSAVE (1u << 27)
#define C1_AVX     (1u << 28)
#define C1_F16C    (1u << 29)
#define C1_RDRAND (1u << 30)
#define C1_HV     (1u << 31)
/* CPUID.7.0:EBX */
#define B7_BMI1   (1u << 3)
#define B7_AVX2   (1u << 5)
#define B7_BMI2   (1u << 8)
/* CPUID.80000001 */
/* XCR0 components emu implements (xsave.c): x87, SSE and AVX. */
#define XCR0_EMU 0x7u

#define E1C_LAHF  (1u << 0)
#define E1C_ABM   (1u << 5)
#define E1D_SYSCALL (1u << 11)
#define E1D_NX      (1u << 20)
#define E1D_1G      (1u << 26)
#define E1D_RDTSCP  (1u << 27)
#define E1D_LM      (1u << 29)

static void str_regs(const char *s, uint32_t *a, uint32_t *b, uint32_t *c)
{
    memcpy(a, s, 4);
    memcpy(b, s + 4, 4);
    memcpy(c, s + 8, 4);
}

static int cpu_count(const struct emu_cpu *c)
{
    return c->vm && c->vm->ncpus > 0 ? c->vm->ncpus : 1;
}

/* A model another engine showed the guest (a migrated machine keeps it):
 * in vm->engine_data, set before the vCPUs run. */
struct emu_vm_cpuid {
    struct cpuid_model model;
};

static bool model_cpuid(struct emu_cpu *c, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    const struct emu_vm_cpuid *v = c->vm ? c->vm->engine_data : NULL;
    if (!v)
        return false;
    const struct cpuid_model *m = &v->model;
    const struct cpuid_leaf *max_basic = cpuid_model_find(m, 0, 0);
    uint32_t maxb = max_basic ? max_basic->eax : 0;
    if (leaf > maxb && leaf < HV_BASE)
        leaf = maxb;   /* as Intel CPUs do */
    const struct cpuid_leaf *l = cpuid_model_find(m, leaf, sub);
    out[0] = l ? l->eax : 0;
    out[1] = l ? l->ebx : 0;
    out[2] = l ? l->ecx : 0;
    out[3] = l ? l->edx : 0;
    /* What each vCPU, or the guest's own settings, decide. */
    if (leaf == 1) {
        out[1] = (out[1] & 0x00ffffffu) | ((uint32_t)c->id << 24);
        /* APIC follows IA32_APIC_BASE here too (the model was enumerated
         * without a local APIC, so it never has the bit). */
        out[3] &= ~D1_APIC;
        if (c->lapic && (c->msr_apic_base & (1ULL << 11)))
            out[3] |= D1_APIC;
        out[2] &= ~C1_OSXSAVE;   /* mirrors CR4.OSXSAVE */
        if ((out[2] & C1_XSAVE) && (c->cr4 & CR4_OSXSAVE))
            out[2] |= C1_OSXSAVE;
    } else if (leaf == 0xd && sub <= 1 && out[0]) {
        out[1] = 576 + ((c->xcr0 & 4) ? 256 : 0);   /* size for the XCR0 now set */
    } else if (leaf == 0xb || leaf == 0x1f) {
        out[3] = (uint32_t)c->id;
    }
    return true;
}

void emu_cpuid(struct emu_cpu *c, uint32_t leaf, uint32_t sub, uint32_t out[4])
{
    uint32_t a = 0, b = 0, cx = 0, d = 0;

    if (model_cpuid(c, leaf, sub, out))
        return;

    if (leaf >= HV_BASE && leaf < HV_BASE + 0x100) {
        if (leaf == HV_BASE) {
            a = HV_BASE + 1;
            str_regs("HostelHostel", &b, &cx, &d);
        }
        goto done;
    }
    if (leaf > MAX_BASIC && leaf < HV_BASE)
        leaf = MAX_BASIC;   /* as Intel CPUs do for out-of-range basic leaves */
    if (leaf > MAX_EXT)
        leaf = MAX_BASIC;

    switch (leaf) {
    case 0:
        a = MAX_BASIC;
        str_regs("GenuineIntel", &b, &d, &cx);
        break;
    case 1:
        a = 0x000606a6;   /* family 6, model 0x6a (Ice Lake server), stepping 6: no RETBleed */
        b = (8u << 8) | ((uint32_t)c->id << 24);   /* CLFLUSH line 64 bytes, APIC ID */
        cx = C1_SSE3 | C1_SSSE3 | C1_FMA | C1_CX16 | C1_PCID | C1_SSE41 | C1_SSE42 | C1_MOVBE | C1_POPCNT |
             C1_XSAVE | C1_AVX | C1_F16C | C1_RDRAND | C1_HV;
        if (c->cr4 & CR4_OSXSAVE)
            cx |= C1_OSXSAVE;
        d = D1_FPU | D1_PSE | D1_TSC | D1_MSR | D1_PAE | D1_CX8 | D1_MTRR | D1_PGE | D1_CMOV |
            D1_PAT | D1_PSE36 | D1_CLFSH | D1_MMX | D1_FXSR | D1_SSE | D1_SSE2;
        if (c->lapic && (c->msr_apic_base & (1ULL << 11)))
            d |= D1_APIC;
        break;
    case 2:
        a = 0x00feff01;   /* "use leaf 4" */
        break;
    case 4: {
        /* L1d 32K 8-way, L1i 32K 8-way, L2 1M 16-way, L3 8M 16-way; 64-byte lines. */
        static const uint32_t type[4] = { 1, 2, 3, 3 }, level[4] = { 1, 1, 2, 3 };
        static const uint32_t ways[4] = { 8, 8, 16, 16 }, sets[4] = { 64, 64, 1024, 8192 };
        if (sub < 4) {
            a = type[sub] | (level[sub] << 5) | (1u << 8);
            if (sub == 3)
                a |= (uint32_t)(cpu_count(c) - 1) << 14;
            b = ((ways[sub] - 1) << 22) | 63;
            cx = sets[sub] - 1;
        }
        break;
    }
    case 6:
        a = 1u << 2;   /* ARAT: the emulated APIC timer never stops */
        break;
    case 7:
        if (sub == 0) {
            b = B7_BMI1 | B7_AVX2 | B7_BMI2;   /* ops_bmi.c, avx.c, avx_move.c */
            b |= (1u << 7) | (1u << 20);        /* SMEP, SMAP: mmu.c, system.c */
            cx = 1u << 2;                       /* UMIP: sys_seg.c */
        }
        break;
    case 0xb: {
        int n = cpu_count(c), shift = 0;
        while ((1 << shift) < n)
            shift++;
        if (sub == 0) {
            a = 0;
            b = 1;
            cx = (1u << 8);
        } else if (sub == 1) {
            a = (uint32_t)shift;
            b = (uint32_t)n;
            cx = 1 | (2u << 8);
        } else {
            cx = sub & 0xff;
        }
        d = (uint32_t)c->id;
        break;
    }
    case 0xd:
        /* XSAVE: sub-leaf 0 the XCR0 bits and area sizes (standard format),
         * 1 XSAVEOPT and XSAVEC (no XSAVES, no XGETBV with ECX = 1), 2 the
         * AVX component when offered. */
        if (sub == 0) {
            a = XCR0_EMU;
            b = 576 + ((c->xcr0 & XCR0_EMU & 4) ? 256 : 0);
            cx = 576 + ((XCR0_EMU & 4) ? 256 : 0);
        } else if (sub == 1) {
            a = 1u << 0 | 1u << 1;
            b = 576 + ((c->xcr0 & XCR0_EMU & 4) ? 256 : 0);
        } else if (sub == 2 && (XCR0_EMU & 4)) {
            a = 256;
            b = 576;
        }
        break;
    case 0x15:
        a = 1;
        b = (uint32_t)(EMU_TSC_HZ / 25000000ULL);
        cx = 25000000;
        break;
    case 0x16:
        a = (uint32_t)(EMU_TSC_HZ / 1000000ULL);
        b = a;
        cx = 100;
        break;
    case 0x80000000:
        a = MAX_EXT;
        break;
    case 0x80000001:
        cx = E1C_LAHF | E1C_ABM;
        d = E1D_SYSCALL | E1D_NX | E1D_1G | E1D_RDTSCP | E1D_LM;
        break;
    case 0x80000002: case 0x80000003: case 0x80000004: {
        static const char brand[48] = "Hostel emulated x86-64 CPU";
        uint32_t r[4];
        memcpy(r, brand + (leaf - 0x80000002) * 16, 16);
        a = r[0]; b = r[1]; cx = r[2]; d = r[3];
        break;
    }
    case 0x80000006:
        cx = 64 | (6u << 12) | (1024u << 16);   /* L2: 1 MiB, 8-way+, 64-byte lines */
        break;
    case 0x80000007:
        d = 1u << 8;   /* invariant TSC */
        break;
    case 0x80000008:
        a = 40 | (48u << 8);   /* physical and linear address bits */
        break;
    default:
        break;
    }
done:
    out[0] = a;
    out[1] = b;
    out[2] = cx;
    out[3] = d;
}

/* ---- the model as data (engine_ops.cpuid_get / cpuid_set) ----------------- */

static void add_leaf(struct cpuid_model *m, struct emu_cpu *c, uint32_t leaf, uint32_t sub,
                     bool indexed, uint32_t r[4])
{
    emu_cpuid(c, leaf, sub, r);
    struct cpuid_leaf l = { leaf, indexed ? sub : 0, indexed ? CPUID_F_INDEXED : 0,
                            r[0], r[1], r[2], r[3] };
    cpuid_model_add(m, &l);
}

/* Every leaf a guest can read, as emu_cpuid answers them for vCPU 0. */
static void enumerate(struct vm *vm, struct cpuid_model *m)
{
    struct emu_cpu *c = calloc(1, sizeof(*c));
    uint32_t r[4];
    memset(m, 0, sizeof(*m));
    if (!c)
        return;
    c->vm = vm;
    c->id = 0;
    emu_cpuid(c, 0, 0, r);
    uint32_t maxb = r[0] > 0x40 ? 0x40 : r[0];
    for (uint32_t leaf = 0; leaf <= maxb; leaf++) {
        switch (leaf) {
        case 4:
            for (uint32_t sub = 0; sub < 16; sub++) {
                add_leaf(m, c, leaf, sub, true, r);
                if (!(r[0] & 0x1f))
                    break;
            }
            break;
        case 7: {
            add_leaf(m, c, leaf, 0, true, r);
            uint32_t n = r[0] > 8 ? 8 : r[0];
            for (uint32_t sub = 1; sub <= n; sub++)
                add_leaf(m, c, leaf, sub, true, r);
            break;
        }
        case 0xb:
        case 0x1f:
            for (uint32_t sub = 0; sub < 8; sub++) {
                add_leaf(m, c, leaf, sub, true, r);
                if (!(r[2] & 0xff00))
                    break;
            }
            break;
        case 0xd:
            for (uint32_t sub = 0; sub < 3; sub++)
                add_leaf(m, c, leaf, sub, true, r);
            break;
        default:
            add_leaf(m, c, leaf, 0, false, r);
            break;
        }
    }
    emu_cpuid(c, HV_BASE, 0, r);
    uint32_t maxh = r[0] >= HV_BASE && r[0] < HV_BASE + 0x10 ? r[0] : HV_BASE;
    for (uint32_t leaf = HV_BASE; leaf <= maxh; leaf++)
        add_leaf(m, c, leaf, 0, false, r);
    emu_cpuid(c, 0x80000000u, 0, r);
    uint32_t maxe = r[0] >= 0x80000000u && r[0] < 0x80000040u ? r[0] : 0x80000000u;
    for (uint32_t leaf = 0x80000000u; leaf <= maxe; leaf++)
        add_leaf(m, c, leaf, 0, false, r);
    free(c);
}

int emu_cpuid_get(struct vm *vm, struct cpuid_model *out)
{
    enumerate(vm, out);
    return out->n ? 0 : -ENOMEM;
}

int emu_cpuid_set(struct vm *vm, const struct cpuid_model *m, struct err *e)
{
    struct cpuid_model *own = malloc(sizeof(*own));
    if (!own)
        return err_set(e, -ENOMEM, "out of memory");
    void *prev = vm->engine_data;
    vm->engine_data = NULL;            /* our own table, not an earlier model */
    enumerate(vm, own);
    vm->engine_data = prev;
    int r = 0;
    char missing[512];
    if (cpuid_model_equal(m, own)) {
        emu_cpuid_model_free(vm);      /* the guest saw our own table */
    } else if (cpuid_model_missing(m, own, missing, sizeof(missing)) > 0) {
        r = err_set(e, -ENOTSUP, "the guest's CPU has features the software CPU (emu) lacks: "
                    "%s", missing);
    } else {
        struct emu_vm_cpuid *v = vm->engine_data ? vm->engine_data : malloc(sizeof(*v));
        if (!v) {
            r = err_set(e, -ENOMEM, "out of memory");
        } else {
            v->model = *m;
            vm->engine_data = v;
        }
    }
    free(own);
    return r;
}

void emu_cpuid_model_free(struct vm *vm)
{
    free(vm->engine_data);
    vm->engine_data = NULL;
}

int engine_named_cpuid(int ncpus, const char *name, struct cpuid_model *out)
{
    struct vm *vm = calloc(1, sizeof(*vm));   /* only its CPU count is read */
    if (!vm)
        return -ENOMEM;
    vm->ncpus = ncpus;
    enumerate(vm, out);
    free(vm);
    if (!out->n)
        return -ENOMEM;
    return cpuid_model_level(out, name);
}

int engine_portable_cpuid(int ncpus, struct cpuid_model *out)
{
    return engine_named_cpuid(ncpus, "portable", out);
}
