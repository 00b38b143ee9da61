/* Unit tests of emu's XSAVE feature set at the system level, where cpu_diff
 * (which runs at CPL 3 against the host) cannot go: XSETBV at CPL 0 and its
 * #GP/#UD rules, CPUID.1:ECX.OSXSAVE following CR4, CPUID leaf 0xD, MOV to
 * CR4, and XCR0 with the YMM upper halves through the vCPU state format. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "state_fixture.h"
#include "engine/emu/cpu.h"
#include "engine/emu/emu.h"
#include "engine/engine.h"
#include "engine/vcpu_snap.h"
#include "machine/vm.h"

#define RAM_SIZE (1u << 20)
#define XCODE    0x10000

static uint8_t *ram;
static struct emu_cpu *xc;

/* Runs one instruction at CPL cpl; returns the exception vector or -1. */
static int run1(const uint8_t *bytes, unsigned len, int cpl, uint64_t cr4)
{
    memset(ram, 0, RAM_SIZE);
    emu_cpu_init_flat(xc, ram, RAM_SIZE, cpl);
    xc->cr4 = cr4;
    xc->exc_to_caller = true;
    memcpy(ram + XCODE, bytes, len);
    xc->rip = XCODE;
    xc->exc.vector = -1;
    emu_execute(xc, 1);
    return xc->exc.vector;
}

static const uint8_t xsetbv[] = { 0x0f, 0x01, 0xd1 }, xgetbv[] = { 0x0f, 0x01, 0xd0 };
#define CR4_BASE (CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT)

static void xsetbv_rules(void)
{
    uint64_t sup = emu_xcr0_supported(xc);
    CHECK_EQ(sup & 3, 3);
    /* CPL 0 with OSXSAVE: each legal value sticks, XGETBV reads it back. */
    for (uint64_t v = 1; v <= 7; v++) {
        bool legal = (v & 1) && !((v & 4) && !(v & 2)) && !(v & ~sup);
        memset(ram, 0, RAM_SIZE);
        emu_cpu_init_flat(xc, ram, RAM_SIZE, 0);
        xc->cr4 = CR4_BASE | CR4_OSXSAVE;
        xc->exc_to_caller = true;
        memcpy(ram + XCODE, xsetbv, 3);
        xc->rip = XCODE;
        xc->exc.vector = -1;
        xc->gpr[R_RAX] = v;
        xc->gpr[R_RDX] = 0;
        xc->gpr[R_RCX] = 0;
        emu_execute(xc, 1);
        CHECK_EQ(xc->exc.vector, legal ? -1 : EXC_GP);
        if (legal)
            CHECK_EQ(xc->xcr0, v);
    }
    /* ECX != 0 is #GP; so is anything above the supported bits. */
    emu_cpu_init_flat(xc, ram, RAM_SIZE, 0);
    xc->exc_to_caller = true;
    memcpy(ram + XCODE, xsetbv, 3);
    xc->rip = XCODE;
    xc->exc.vector = -1;
    xc->gpr[R_RAX] = 3;
    xc->gpr[R_RCX] = 1;
    emu_execute(xc, 1);
    CHECK_EQ(xc->exc.vector, EXC_GP);
    /* Without CR4.OSXSAVE both are #UD; XSETBV at CPL 3 is #GP. */
    CHECK_EQ(run1(xsetbv, 3, 0, CR4_BASE), EXC_UD);
    CHECK_EQ(run1(xgetbv, 3, 3, CR4_BASE), EXC_UD);
    CHECK_EQ(run1(xsetbv, 3, 3, CR4_BASE | CR4_OSXSAVE), EXC_GP);
    CHECK_EQ(run1(xgetbv, 3, 3, CR4_BASE | CR4_OSXSAVE), -1);
    CHECK_EQ(xc->gpr[R_RAX], emu_xcr0_supported(xc));   /* init_flat: as Linux sets it */
    /* XSAVE itself is #UD without OSXSAVE and #NM with CR0.TS. */
    static const uint8_t xsave_rdi[] = { 0x0f, 0xae, 0x27 };
    CHECK_EQ(run1(xsave_rdi, 3, 0, CR4_BASE), EXC_UD);
    emu_cpu_init_flat(xc, ram, RAM_SIZE, 0);
    xc->cr0 |= CR0_TS;
    xc->exc_to_caller = true;
    memcpy(ram + XCODE, xsave_rdi, 3);
    xc->rip = XCODE;
    xc->gpr[R_RDI] = 0x4000;
    xc->exc.vector = -1;
    emu_execute(xc, 1);
    CHECK_EQ(xc->exc.vector, EXC_NM);
}

static void cpuid_leaves(void)
{
    uint32_t r[4];
    emu_cpu_init_flat(xc, ram, RAM_SIZE, 0);
    xc->cr4 = CR4_BASE;
    emu_cpuid(xc, 1, 0, r);
    CHECK(r[2] & (1u << 26));             /* XSAVE */
    CHECK(!(r[2] & (1u << 27)));          /* OSXSAVE follows CR4 */
    xc->cr4 |= CR4_OSXSAVE;
    emu_cpuid(xc, 1, 0, r);
    CHECK(r[2] & (1u << 27));
    emu_cpuid(xc, 0xd, 0, r);
    CHECK_EQ(r[0] & 3, 3);
    CHECK_EQ(r[1], 576 + ((xc->xcr0 & 4) ? 256 : 0));
    CHECK(r[2] >= r[1]);
    emu_cpuid(xc, 0xd, 1, r);
    CHECK_EQ(r[0] & 0xf, 3);              /* XSAVEOPT, XSAVEC; no XGETBV1, no XSAVES */
}

/* XCR0 and the YMM upper halves go through the vCPU format; an XCR0 with
 * components emu lacks is refused by name. */
static void snapshot_xcr0(void)
{
    struct vm *a = NULL, *b = NULL;
    struct err e = ERR_INIT;
    CHECK_EQ(vm_create(1, 16ULL << 20, &engine_emu, &a, &e), 0);
    CHECK_EQ(vm_create_vcpus(a, &e), 0);
    CHECK_EQ(vm_create(1, 16ULL << 20, &engine_emu, &b, &e), 0);
    CHECK_EQ(vm_create_vcpus(b, &e), 0);
    if (!a || !b)
        return;
    make_rich(a, false);
    struct emu_cpu *c = cpu0(a);
    c->cr4 |= CR4_OSXSAVE;
    c->xcr0 = 3;
    struct state_out o;
    state_out_init(&o);
    CHECK_EQ(engine_emu.save_vcpu(&a->vcpus[0], &o, NULL), 0);
    struct state_in in;
    state_in_init(&in, o.data, o.len);
    struct vcpu_snap s;
    CHECK_EQ(vcpu_snap_decode(&in, &s, &e), 0);
    CHECK_EQ(s.xcr0, 3);
    CHECK(!s.has_ymm);
    state_in_init(&in, o.data, o.len);
    CHECK_EQ(engine_emu.load_vcpu(&b->vcpus[0], &in, &e), 0);
    CHECK_EQ(cpu0(b)->xcr0, 3);
    CHECK(cpu0(b)->cr4 & CR4_OSXSAVE);

    /* AVX state in XCR0 with upper halves: emu takes it only when it offers
     * AVX (CPUID 0xD.0). */
    s.xcr0 = 7;
    s.has_ymm = true;
    memset(s.ymm_hi, 0x5a, sizeof(s.ymm_hi));
    struct state_out o2;
    state_out_init(&o2);
    vcpu_snap_encode(&s, &o2);
    struct err e2 = ERR_INIT;
    state_in_init(&in, o2.data, o2.len);
    int r = engine_emu.load_vcpu(&b->vcpus[0], &in, &e2);
    if (emu_xcr0_supported(cpu0(b)) & 4) {
        CHECK_EQ(r, 0);
        CHECK_EQ(cpu0(b)->ymm_hi[3].b[7], 0x5a);
    } else {
        CHECK_EQ(r, -EINVAL);
        CHECK(strstr(e2.msg, "XCR0") != NULL);
    }
    state_out_free(&o);
    state_out_free(&o2);
    vm_destroy(a);
    vm_destroy(b);
}

int main(void)
{
    ram = aligned_alloc(4096, RAM_SIZE);
    xc = calloc(1, sizeof(*xc));
    if (!ram || !xc)
        return 1;
    RUN_TEST(xsetbv_rules);
    RUN_TEST(cpuid_leaves);
    RUN_TEST(snapshot_xcr0);
    return CHECK_DONE();
}
