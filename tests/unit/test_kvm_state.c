/* Unit tests for the kvm engine's register conversions and its probe,
 * which must explain itself where /dev/kvm is absent. */
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "engine/engine.h"
#include "engine/kvm_state.h"

static void kvm_state_round_trips(void)
{
    struct cpu_state a, b;
    struct kvm_regs r;
    struct kvm_sregs sr;
    memset(&a, 0, sizeof(a));
    memset(&sr, 0, sizeof(sr));
    for (int i = 0; i < 16; i++)
        a.gpr[i] = 0x1111111111111111ULL * (uint64_t)(i + 1);
    a.rip = 0x100200;
    a.rflags = 0x246;
    cpu_state_flat_seg(&a.seg[S_CS], 0x10, true, true);
    for (int i = 0; i < 6; i++)
        if (i != S_CS)
            cpu_state_flat_seg(&a.seg[i], 0x18, false, false);
    a.tr.type = 11;
    a.tr.present = 1;
    a.tr.limit = 0x67;
    a.gdt.base = 0x500;
    a.gdt.limit = 31;
    a.cr0 = CR0_PE | CR0_PG | CR0_ET;
    a.cr3 = 0x1000;
    a.cr4 = CR4_PAE;
    a.efer = EFER_LME | EFER_LMA;
    kvm_state_to_kvm(&a, &r, &sr);
    CHECK_EQ(r.rsi, a.gpr[R_RSI]);
    CHECK_EQ(sr.cs.l, 1);
    CHECK_EQ(sr.cs.selector, 0x10);
    CHECK_EQ(sr.efer, EFER_LME | EFER_LMA);
    kvm_state_from_kvm(&b, &r, &sr);
    CHECK(!memcmp(b.gpr, a.gpr, sizeof(a.gpr)));
    CHECK_EQ(b.rip, a.rip);
    CHECK_EQ(b.seg[S_CS].l, 1);
    CHECK_EQ(b.seg[S_DS].db, 1);
    CHECK_EQ(b.tr.type, 11);
    CHECK_EQ(b.cr3, 0x1000);
}

static void kvm_probe_explains_absence(void)
{
    struct err why = ERR_INIT;
    int r = engine_kvm.probe(&why);
    if (access("/dev/kvm", F_OK) != 0) {
        CHECK(r < 0);
        CHECK(strstr(why.msg, "/dev/kvm") != NULL);
    } else {
        CHECK(r == 0 || why.msg[0] != 0);
    }
}

int main(void)
{
    RUN_TEST(kvm_state_round_trips);
    RUN_TEST(kvm_probe_explains_absence);
    return CHECK_DONE();
}
