/* A vCPU of the emu engine driven into a rich state for the state-format
 * tests (tests/unit/test_state_cpu.c, tests/kvm/kvm_state.c): long mode with
 * paging, MSRs, x87 and SSE values, a local APIC with a vector in service,
 * one waiting behind it, a timer armed and an NMI held; and the guest memory
 * that state runs on (identity-mapped page tables, GDT, IDT, TSS, code). */
#ifndef HOSTEL_STATE_FIXTURE_H
#define HOSTEL_STATE_FIXTURE_H

#include <string.h>

#include "check.h"

#include "engine/emu/cpu.h"
#include "engine/emu/emu.h"
#include "engine/emu/lapic.h"
#include "engine/emu/sse.h"
#include "engine/emu/system.h"
#include "engine/engine.h"
#include "machine/vm.h"

static inline struct emu_cpu *cpu0(struct vm *vm)
{
    return emu_cpu_of(&vm->vcpus[0]);
}

/* Guest memory: page tables (identity, 2 MiB pages), GDT, IDT, TSS, code. */
enum { PML4 = 0x10000, PDPT = 0x11000, PD = 0x12000, IDT = 0x13000, TSS = 0x14000,
       GDT = 0x15000, CODE = 0x20000, HANDLER = 0x21000, STACK = 0x30000 };

static inline void put64(struct vm *vm, uint64_t gpa, uint64_t v) { memcpy(vm->mem.host + gpa, &v, 8); }

static void write_guest(struct vm *vm)
{
    put64(vm, PML4, PDPT | 3);
    put64(vm, PDPT, PD | 3);
    for (int i = 0; i < 8; i++)
        put64(vm, PD + 8 * i, ((uint64_t)i << 21) | 0x83);
    put64(vm, GDT + 8, 0x00209a0000000000ULL);           /* 0x08: 64-bit code */
    put64(vm, GDT + 16, 0x0000920000000000ULL);          /* 0x10: data */
    put64(vm, GDT + 24, 0x00008b0000000067ULL | ((uint64_t)(TSS & 0xffffff) << 16));
    /* IDT vector 0x41: a 64-bit interrupt gate to HANDLER. */
    uint64_t lo = (HANDLER & 0xffff) | (0x08ULL << 16) | (0x8eULL << 40) |
                  ((uint64_t)((HANDLER >> 16) & 0xffff) << 48);
    put64(vm, IDT + 0x41 * 16, lo);
    put64(vm, IDT + 0x41 * 16 + 8, 0);
    static const uint8_t code[] = { 0x48, 0x01, 0xd8,    /* add %rbx,%rax */
                                    0x48, 0xff, 0xc1,    /* inc %rcx */
                                    0xf4 };              /* hlt */
    memcpy(vm->mem.host + CODE, code, sizeof(code));
    static const uint8_t handler[] = { 0x48, 0xff, 0xc2, /* inc %rdx */
                                       0xf4 };           /* hlt */
    memcpy(vm->mem.host + HANDLER, handler, sizeof(handler));
}

static void seg(struct seg_state *s, uint16_t sel, uint8_t type, bool code)
{
    cpu_state_flat_seg(s, sel, code, true);
    s->type = type;
}

static inline void lapic_w(struct emu_cpu *c, unsigned reg, uint32_t v) { lapic_mmio_write(c->lapic, reg, 4, v); }
static inline uint32_t lapic_r(struct emu_cpu *c, unsigned reg) { return (uint32_t)lapic_mmio_read(c->lapic, reg, 4); }

static void fixed_irq(struct vm *vm, uint8_t vector)
{
    struct apic_msg m = { .dest = 0, .delivery = APIC_DM_FIXED, .vector = vector, .assert = true };
    lapic_deliver(vm, &m);
}

/* cross: the variant both engines hold exactly (docs/snapshot-cpu.md): the
 * APIC timer in TSC-deadline mode rather than counting at emu's rate, and
 * the APIC error made visible in ESR rather than pending. */
static void make_rich(struct vm *vm, bool cross)
{
    struct emu_cpu *c = cpu0(vm);
    write_guest(vm);
    struct cpu_state s;
    memset(&s, 0, sizeof(s));
    for (int i = 0; i < 16; i++)
        s.gpr[i] = 0x1111111111111111ULL * (uint64_t)(i + 1);
    s.gpr[R_RSP] = STACK;
    s.rip = CODE;
    s.rflags = RFLAGS_FIXED | RFLAGS_IF | RFLAGS_ZF | RFLAGS_CF;
    seg(&s.seg[S_CS], 0x08, 0xb, true);
    for (int i = 0; i < 6; i++)
        if (i != S_CS)
            seg(&s.seg[i], 0x10, 0x3, false);
    s.seg[S_FS].base = 0x7f0000001000ULL;
    s.seg[S_GS].base = 0xffff888000002000ULL;
    s.tr = (struct seg_state){ .base = TSS, .limit = 0x67, .selector = 0x18, .type = 0xb,
                               .present = 1 };
    s.ldt = (struct seg_state){ .unusable = 1 };
    s.gdt = (struct dtable_state){ GDT, 0x27 };
    s.idt = (struct dtable_state){ IDT, 0xfff };
    s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_AM | CR0_PG;
    s.cr2 = 0xdead000;
    s.cr3 = PML4;
    s.cr4 = CR4_PAE | CR4_PGE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    s.efer = EFER_SCE | EFER_LME | EFER_LMA | EFER_NXE;
    CHECK_EQ(engine_emu.set_state(&vm->vcpus[0], &s), 0);

    static const struct { uint32_t msr; uint64_t v; } msrs[] = {
        { 0x10, 123456789012ULL }, { 0x174, 0x10 }, { 0x175, 0xffff888000010000ULL },
        { 0x176, 0xffffffff81000000ULL }, { 0x1a0, 0x850089 }, { 0x200, 0x80000006 },
        { 0x201, 0xff80000800ULL }, { 0x26f, 0x0505050506060606ULL }, { 0x277, 0x0007010600070106ULL },
        { 0xc0000081, 0x0023001000000000ULL }, { 0xc0000082, 0xffffffff81e00000ULL },
        { 0xc0000083, 0xffffffff81e01000ULL }, { 0xc0000084, 0x47700 },
        { 0xc0000102, 0xffff88807fc00000ULL }, { 0xc0000103, 3 },
    };
    for (size_t i = 0; i < sizeof(msrs) / sizeof(msrs[0]); i++)
        CHECK_EQ(emu_wrmsr(c, msrs[i].msr, msrs[i].v), 0);
    c->dr[0] = 0x401000;
    c->dr[3] = 0xffffffff81000000ULL;
    c->dr[7] = 0x400 | 0x3;

    /* x87: two values on the stack; SSE: some registers and flags. */
    c->x87.fcw = 0x27f;
    c->x87.ftw = 0xffff & ~(3u << 12) & ~(3u << 14);
    c->x87.st[6] = 1.5L;
    c->x87.st[7] = -2.25L;
    emu_x87_set_fsw(c, 6u << 11 | 0x20);
    c->x87.fop = 0x1d9;
    c->x87.fip = 0xffffffff81234567ULL;
    c->x87.fdp = 0x7ffe0000ULL;
    c->xmm[0].q[0] = 0x0123456789abcdefULL;
    c->xmm[15].q[1] = 0xfedcba9876543210ULL;
    c->mxcsr = 0x9fa0;

    /* LAPIC: enabled, TPR 0x20, periodic timer, LINT0 ExtINT, one vector in
     * service and one waiting behind it, an error pending. */
    lapic_w(c, 0xf0, 0x1ff);
    lapic_w(c, 0x80, 0x20);
    lapic_w(c, 0x350, 0x700);
    lapic_w(c, 0x360, 0x400);
    lapic_w(c, 0xe0, 0x0fffffff);
    lapic_w(c, 0xd0, 0x01000000);
    lapic_w(c, 0x3e0, 0x3);
    if (cross) {
        lapic_w(c, 0x320, 2u << 17 | 0xec);
        CHECK_EQ(emu_wrmsr(c, 0x6e0, emu_rdtsc(c) + 1000000000000ULL), 0);
    } else {
        lapic_w(c, 0x320, 1u << 17 | 0xec);
        lapic_w(c, 0x380, 1000000);
    }
    fixed_irq(vm, 0x51);
    CHECK_EQ(lapic_ack(c->lapic), 0x51);
    fixed_irq(vm, 0x41);
    lapic_w(c, 0x300, 0x0004000f);    /* an illegal vector to self: a send error, pending */
    if (cross)
        lapic_w(c, 0x280, 0);          /* ... now visible */
    c->nmi_blocked = true;
    emu_vcpu_wake(c, EMU_EV_NMI);
}

#endif
