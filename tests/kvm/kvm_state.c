/* The kvm side of the state formats (docs/snapshot-cpu.md), on this host's
 * /dev/kvm:
 *   - a rich emu vCPU loaded into a fresh kvm vCPU saves the same bytes
 *     (emu -> kvm);
 *   - a small guest run on kvm and paused mid-run: its vCPU, 8259s, IOAPIC,
 *     PIT and clock loaded into a fresh kvm machine save the same bytes
 *     (the PIT's running counts move on with host time under KVM and are
 *     compared within a bound), and loaded into an emu machine with our own
 *     models they save the same bytes (kvm -> emu);
 *   - both copies run on from where the guest was.
 * Run by tests/kvm/run_kvm_state.sh, which skips it where kvm is unavailable. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/check.h"
#include "../unit/state_fixture.h"
#include "board/layout.h"
#include "engine/vcpu_snap.h"
#include "hw/irqchip.h"
#include "hw/pit.h"
#include "machine/irqstate.h"

extern const uint8_t kvm_state_guest_start[], kvm_state_guest_end[];

#define MEM (16ULL << 20)
enum { PD_HIGH = 0x16000 };

static void sleep_ms(long ms)
{
    struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };
    nanosleep(&ts, NULL);
}

static struct vm *machine(const struct engine_ops *eng)
{
    struct vm *vm = NULL;
    struct err e = ERR_INIT;
    int r = vm_create(1, MEM, eng, &vm, &e);
    if (r == 0)
        r = vm_create_vcpus(vm, &e);
    if (r < 0) {
        printf("  %s machine: %s\n", eng->name, e.msg);
        CHECK(0);
        return NULL;
    }
    return vm;
}

static bool same(const struct state_out *a, const struct state_out *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* a and b decoded as vCPU states into x and y (false: not both are). */
static bool decode_two(const struct state_out *a, const struct state_out *b,
                       struct vcpu_snap *x, struct vcpu_snap *y)
{
    struct state_in ia, ib;
    state_in_init(&ia, a->data, a->len);
    state_in_init(&ib, b->data, b->len);
    return x && y && vcpu_snap_decode(&ia, x, NULL) == 0 && vcpu_snap_decode(&ib, y, NULL) == 0;
}

/* When both are vCPU states: the MSRs that differ, by index. */
static void show_msr_diff(const struct state_out *a, const struct state_out *b)
{
    struct vcpu_snap *x = malloc(sizeof(*x)), *y = malloc(sizeof(*y));
    if (decode_two(a, b, x, y)) {
        for (uint32_t i = 0; i < x->nmsrs; i++) {
            uint64_t v = 0;
            bool has = vcpu_snap_msr(y, x->msrs[i].index, &v);
            if (!has || v != x->msrs[i].value)
                printf("  MSR %#x: %#llx / %s%#llx\n", x->msrs[i].index,
                       (unsigned long long)x->msrs[i].value, has ? "" : "absent ",
                       (unsigned long long)v);
        }
    }
    free(x);
    free(y);
}

/* HOSTEL_KVM_QUIRK_TSC_WRITE (run_kvm_state.sh, from kvm_quirks): this host's
 * KVM takes no TSC or TSC deadline from outside (docs/kvm-hosts.md: tsc-write). */
static const char *tsc_quirk(void)
{
    const char *q = getenv("HOSTEL_KVM_QUIRK_TSC_WRITE");
    return q && *q ? q : NULL;
}

static void zero_deadline(struct vcpu_snap *v)
{
    for (uint32_t i = 0; i < v->nmsrs; i++)
        if (v->msrs[i].index == 0x6e0)
            v->msrs[i].value = 0;
}

/* a and b, vCPU states, the same but for the TSC deadline (MSR 0x6e0). */
static bool same_but_deadline(const struct state_out *a, const struct state_out *b)
{
    struct vcpu_snap *x = malloc(sizeof(*x)), *y = malloc(sizeof(*y));
    bool ok = false;
    if (decode_two(a, b, x, y)) {
        zero_deadline(x);
        zero_deadline(y);
        struct state_out ox, oy;
        state_out_init(&ox);
        state_out_init(&oy);
        vcpu_snap_encode(x, &ox);
        vcpu_snap_encode(y, &oy);
        ok = state_out_ok(&ox) && state_out_ok(&oy) && same(&ox, &oy);
        state_out_free(&ox);
        state_out_free(&oy);
    }
    free(x);
    free(y);
    return ok;
}

static void show_diff(const char *what, const struct state_out *a, const struct state_out *b)
{
    show_msr_diff(a, b);
    printf("  %s differs (%zu and %zu bytes):", what, a->len, b->len);
    int shown = 0;
    for (size_t i = 0; i < a->len && i < b->len && shown < 12; i++)
        if (a->data[i] != b->data[i]) {
            printf(" @%zu %02x/%02x", i, a->data[i], b->data[i]);
            shown++;
        }
    printf("\n");
}

static int save_vcpu(struct vm *vm, struct state_out *o)
{
    state_out_init(o);
    struct err e = ERR_INIT;
    int r = vm->engine->save_vcpu(&vm->vcpus[0], o, &e);
    if (r < 0)
        printf("  %s save_vcpu: %s\n", vm->engine->name, e.msg);
    return r;
}

static int load_vcpu(struct vm *vm, const struct state_out *s)
{
    struct err e = ERR_INIT;
    struct state_in in;
    state_in_init(&in, s->data, s->len);
    int r = vm->engine->load_vcpu(&vm->vcpus[0], &in, &e);
    if (r < 0)
        printf("  %s load_vcpu: %s\n", vm->engine->name, e.msg);
    else if (!state_in_done(&in))
        r = -EINVAL;
    return r;
}

/* ---- emu -> kvm ------------------------------------------------------------------ */

static void cross_emu_to_kvm(void)
{
    struct vm *a = machine(&engine_emu);
    struct vm *b = machine(&engine_kvm);
    if (!a || !b)
        goto out;
    guest_clock_pause(&a->clock);
    make_rich(a, true);
    struct state_out s1, s2, s3;
    CHECK_EQ(save_vcpu(a, &s1), 0);
    CHECK_EQ(load_vcpu(b, &s1), 0);
    CHECK_EQ(save_vcpu(b, &s2), 0);
    if (!same(&s1, &s2))
        show_diff("emu -> kvm vCPU", &s1, &s2);
    if (tsc_quirk() && !same(&s1, &s2)) {
        /* Everything else still exactly; the deadline is the host's. */
        CHECK(same_but_deadline(&s1, &s2));
        printf("SKIP: kvm/state-cross_emu_to_kvm-tsc-deadline (host quirk tsc-write: %s)\n",
               tsc_quirk());
    } else {
        CHECK(same(&s1, &s2));
    }
    /* And back into a fresh emu vCPU. */
    struct vm *c = machine(&engine_emu);
    if (c) {
        guest_clock_pause(&c->clock);
        guest_clock_set(&c->clock, guest_clock_now(&a->clock));
        CHECK_EQ(load_vcpu(c, &s2), 0);
        CHECK_EQ(save_vcpu(c, &s3), 0);
        CHECK(same(&s2, &s3));
        state_out_free(&s3);
        vm_destroy(c);
    }
    state_out_free(&s1);
    state_out_free(&s2);
out:
    if (a)
        vm_destroy(a);
    if (b)
        vm_destroy(b);
}

/* A BSP whose APIC was never enabled (a guest whose CPUID shows no APIC,
 * such as --cpu portable's, runs on the 8259 alone): emu hands it the PIC
 * directly, KVM only through an unmasked ExtINT LINT0.  Loaded into KVM,
 * LINT0 says so, or the guest would never see a timer tick again; loaded
 * back into emu, the PIC still reaches it. */
static void pic_reaches_bsp_on_kvm(void)
{
    struct vm *a = machine(&engine_emu);
    struct vm *b = machine(&engine_kvm);
    if (!a || !b)
        goto out;
    guest_clock_pause(&a->clock);
    struct state_out s1, s2;
    CHECK_EQ(save_vcpu(a, &s1), 0);
    struct vcpu_snap *v = calloc(1, sizeof(*v));
    struct state_in in;
    struct err e = ERR_INIT;
    state_in_init(&in, s1.data, s1.len);
    CHECK(v && vcpu_snap_decode(&in, v, &e) == 0);
    if (v) {
        /* emu's reset state: software-disabled, LINT0 masked */
        CHECK(!(apic_page_get(v->lapic, APIC_REG_SVR) & 0x100));
        CHECK(apic_page_get(v->lapic, APIC_REG_LVT_LINT0) & 0x10000);
    }
    CHECK_EQ(load_vcpu(b, &s1), 0);
    CHECK_EQ(save_vcpu(b, &s2), 0);
    state_in_init(&in, s2.data, s2.len);
    CHECK(v && vcpu_snap_decode(&in, v, &e) == 0);
    if (v) {
        uint32_t lint0 = apic_page_get(v->lapic, APIC_REG_LVT_LINT0);
        if (lint0 != 0x700)
            printf("  LINT0 on kvm: %#x\n", lint0);
        CHECK_EQ(lint0, 0x700);
    }
    free(v);
    state_out_free(&s1);
    state_out_free(&s2);
out:
    if (a)
        vm_destroy(a);
    if (b)
        vm_destroy(b);
}

/* An application processor waiting for SIPI (KVM: UNINITIALIZED) moves
 * between kvm machines and to emu as the same bytes. */
static void ap_moves(void)
{
    struct vm *m[3] = { NULL, NULL, NULL };
    const struct engine_ops *eng[3] = { &engine_kvm, &engine_kvm, &engine_emu };
    struct err e = ERR_INIT;
    struct state_out s[3];
    for (int i = 0; i < 3; i++) {
        state_out_init(&s[i]);
        if (vm_create(2, MEM, eng[i], &m[i], &e) < 0 || vm_create_vcpus(m[i], &e) < 0) {
            printf("  machine: %s\n", e.msg);
            CHECK(0);
            goto out;
        }
        guest_clock_pause(&m[i]->clock);
    }
    CHECK_EQ(m[0]->engine->save_vcpu(&m[0]->vcpus[1], &s[0], &e), 0);
    for (int i = 1; i < 3; i++) {
        struct state_in in;
        state_in_init(&in, s[0].data, s[0].len);
        err_clear(&e);
        int r = m[i]->engine->load_vcpu(&m[i]->vcpus[1], &in, &e);
        if (r < 0)
            printf("  %s load: %s\n", eng[i]->name, e.msg);
        CHECK_EQ(r, 0);
        CHECK_EQ(m[i]->engine->save_vcpu(&m[i]->vcpus[1], &s[i], &e), 0);
        if (!same(&s[0], &s[i]))
            show_diff(eng[i]->name, &s[0], &s[i]);
        CHECK(same(&s[0], &s[i]));
    }
out:
    for (int i = 0; i < 3; i++) {
        state_out_free(&s[i]);
        if (m[i])
            vm_destroy(m[i]);
    }
}

/* ---- a guest run on kvm, paused and moved ----------------------------------------- */


static void boot_guest(struct vm *vm)
{
    write_guest(vm);
    memcpy(vm->mem.host + CODE, kvm_state_guest_start,
           (size_t)(kvm_state_guest_end - kvm_state_guest_start));
    /* 3-4 GiB: the IOAPIC's and the local APIC's pages, uncached. */
    put64(vm, PDPT + 3 * 8, PD_HIGH | 3);
    put64(vm, PD_HIGH + 8 * ((LAYOUT_IOAPIC - 0xc0000000ULL) >> 21),
          (LAYOUT_IOAPIC & ~0x1fffffULL) | 0x93);
    put64(vm, PD_HIGH + 8 * ((0xfee00000ULL - 0xc0000000ULL) >> 21), 0xfee00000ULL | 0x93);
    struct cpu_state s;
    memset(&s, 0, sizeof(s));
    s.gpr[R_RSP] = STACK;
    s.rip = CODE;
    s.rflags = RFLAGS_FIXED;
    cpu_state_flat_seg(&s.seg[S_CS], 0x08, true, true);
    for (int i = 0; i < 6; i++)
        if (i != S_CS)
            cpu_state_flat_seg(&s.seg[i], 0x10, false, true);
    s.tr = (struct seg_state){ .base = TSS, .limit = 0x67, .selector = 0x18, .type = 0xb,
                               .present = 1 };
    s.ldt = (struct seg_state){ .unusable = 1 };
    s.gdt = (struct dtable_state){ GDT, 0x27 };
    s.idt = (struct dtable_state){ IDT, 0xfff };
    s.cr0 = CR0_PE | CR0_MP | CR0_ET | CR0_NE | CR0_WP | CR0_PG;
    s.cr3 = PML4;
    s.cr4 = CR4_PAE | CR4_OSFXSR | CR4_OSXMMEXCPT;
    s.efer = EFER_SCE | EFER_LME | EFER_LMA;
    CHECK_EQ(vm->engine->set_state(&vm->vcpus[0], &s), 0);
}

/* What a snapshot holds of a machine's CPUs and interrupt state: guest time
 * (board/snapshot.c's machine section), the "irqchip" section (8259s and
 * IOAPIC, then the PIT) and the vCPU. */
struct sections {
    struct state_out clock, chips, vcpu;
};

static void sections_free(struct sections *s)
{
    state_out_free(&s->clock);
    state_out_free(&s->chips);
    state_out_free(&s->vcpu);
}

/* Our own models on an emu machine's buses, wired as the board does. */
struct models {
    struct irqchip *ic;
    struct pit *pit;
};

static void to_lapics(void *opaque, const struct apic_msg *m)
{
    lapic_deliver(opaque, m);
}

static void models_create(struct vm *vm, struct models *m)
{
    struct irqchip_wiring w = {
        .pio = &vm->pio, .mmio = &vm->mmio, .pic_master = PORT_PIC_MASTER,
        .pic_slave = PORT_PIC_SLAVE, .elcr = PORT_ELCR, .ioapic_base = LAYOUT_IOAPIC,
        .apic = { .deliver = to_lapics, .opaque = vm },
    };
    CHECK_EQ(irqchip_create(&w, &m->ic), 0);
    CHECK_EQ(pit_create(&vm->pio, PORT_PIT, PORT_SYSCTL, &vm->clock, irqchip_line(m->ic, 0),
                        m->ic, &m->pit), 0);
    vm->ext_intr = irqchip_ext_intr(m->ic);
}

static int save_all(struct vm *vm, struct models *m, struct sections *s)
{
    state_out_init(&s->clock);
    state_out_init(&s->chips);
    st_put_u64(&s->clock, guest_clock_now(&vm->clock));
    int r;
    if (vm->engine->irqchip_in_engine) {
        struct err e = ERR_INIT;
        r = vm->engine->save_irqchip(vm, &s->chips, &e);
        if (r < 0)
            printf("  %s save_irqchip: %s\n", vm->engine->name, e.msg);
    } else {
        r = irqchip_save(m->ic, &s->chips);
        if (r == 0)
            r = pit_save(m->pit, &s->chips);
    }
    if (r < 0)
        printf("  %s irqchip save: %s\n", vm->engine->name, strerror(-r));
    if (r == 0)
        r = save_vcpu(vm, &s->vcpu);
    return r;
}

/* The clock first (board/snapshot.c's order): the rest is relative to it. */
static int load_all(struct vm *vm, struct models *m, struct sections *s)
{
    struct err e = ERR_INIT;
    struct state_in in;
    state_in_init(&in, s->clock.data, s->clock.len);
    guest_clock_set(&vm->clock, st_get_u64(&in));
    int r = load_vcpu(vm, &s->vcpu);
    if (r < 0)
        return r;
    state_in_init(&in, s->chips.data, s->chips.len);
    if (vm->engine->irqchip_in_engine) {
        r = vm->engine->load_irqchip(vm, &in, &e);
    } else {
        r = irqchip_load(m->ic, &in, &e);
        if (r == 0)
            r = pit_load(m->pit, &in, &e);
    }
    if (r < 0)
        printf("  %s irqchip load: %s\n", vm->engine->name, e.msg);
    if (r == 0 && !state_in_done(&in))
        r = -EINVAL;
    return r;
}

static uint64_t rcx_of(struct vm *vm)
{
    struct cpu_state s;
    if (vm->engine->get_state(&vm->vcpus[0], &s) < 0)
        return 0;
    return s.gpr[R_RCX];
}

static void stop(struct vm *vm)
{
    vm_request_stop(vm, VM_STOP_POWEROFF, 0);
    vm_wait(vm, NULL, NULL);
}

static void guest_moves(void)
{
    struct err e = ERR_INIT;
    struct vm *a = machine(&engine_kvm);
    if (!a)
        return;
    boot_guest(a);
    CHECK_EQ(vm_start(a, &e), 0);
    sleep_ms(400);
    CHECK_EQ(vm_pause(a), 0);
    struct sections sa, sb, sc;
    memset(&sb, 0, sizeof(sb));
    memset(&sc, 0, sizeof(sc));
    if (save_all(a, NULL, &sa) < 0) {
        CHECK(0);
        stop(a);
        vm_destroy(a);
        return;
    }
    uint64_t rcx = rcx_of(a);
    printf("  paused on kvm after %llu loop rounds; vCPU %zu bytes, irqchip + PIT %zu\n",
           (unsigned long long)rcx, sa.vcpu.len, sa.chips.len);
    CHECK(rcx > 0);
    {
        /* What the guest set up is in the saved state. */
        struct vcpu_snap *v = malloc(sizeof(*v));
        struct state_in in;
        state_in_init(&in, sa.vcpu.data, sa.vcpu.len);
        CHECK_EQ(vcpu_snap_decode(&in, v, &e), 0);
        uint64_t lstar = 0;
        CHECK(vcpu_snap_msr(v, 0xc0000082, &lstar) && lstar == 0xffffffff81e00000ULL);
        CHECK_EQ(apic_page_get(v->lapic, APIC_REG_SVR), 0x1ff);
        CHECK(apic_page_get(v->lapic, APIC_REG_IRR + 0x10) & (1u << 16));   /* 0x30 pending */
        free(v);
    }

    /* kvm -> kvm */
    struct vm *b = machine(&engine_kvm);
    if (b) {
        guest_clock_pause(&b->clock);
        memcpy(b->mem.host, a->mem.host, b->mem.low_size);
        CHECK_EQ(load_all(b, NULL, &sa), 0);
        CHECK_EQ(save_all(b, NULL, &sb), 0);
        if (!same(&sa.vcpu, &sb.vcpu))
            show_diff("kvm -> kvm vCPU", &sa.vcpu, &sb.vcpu);
        CHECK(same(&sa.vcpu, &sb.vcpu));
        /* Channel 0's phase is not visible through KVM (saved as 0), and
         * channels 1 and 2 are not programmed: the PIT compares exactly. */
        if (!same(&sa.chips, &sb.chips))
            show_diff("kvm -> kvm irqchip", &sa.chips, &sb.chips);
        CHECK(same(&sa.chips, &sb.chips));
        CHECK(same(&sa.clock, &sb.clock));
    }

    /* kvm -> emu, our own interrupt controllers and PIT */
    struct vm *c = machine(&engine_emu);
    struct models mc = { NULL, NULL };
    if (c) {
        models_create(c, &mc);
        guest_clock_pause(&c->clock);
        memcpy(c->mem.host, a->mem.host, c->mem.low_size);
        CHECK_EQ(load_all(c, &mc, &sa), 0);
        CHECK_EQ(save_all(c, &mc, &sc), 0);
        const char *what[3] = { "clock", "irqchip", "vCPU" };
        const struct state_out *x[3] = { &sa.clock, &sa.chips, &sa.vcpu };
        const struct state_out *y[3] = { &sc.clock, &sc.chips, &sc.vcpu };
        for (int i = 0; i < 3; i++) {
            if (!same(x[i], y[i]))
                show_diff(what[i], x[i], y[i]);
            CHECK(same(x[i], y[i]));
        }
    }

    /* Both copies go on counting from where the guest was. */
    stop(a);
    struct vm *run[2] = { b, c };
    for (int i = 0; i < 2; i++) {
        if (!run[i])
            continue;
        CHECK_EQ(vm_resume(run[i]), 0);
        CHECK_EQ(vm_start(run[i], &e), 0);
        sleep_ms(300);
        CHECK_EQ(vm_pause(run[i]), 0);
        uint64_t now = rcx_of(run[i]);
        printf("  %s copy: RCX %llu -> %llu\n", run[i]->engine->name, (unsigned long long)rcx,
               (unsigned long long)now);
        CHECK(now > rcx);
        CHECK_EQ(atomic_load(&run[i]->stop), VM_RUNNING);
        stop(run[i]);
    }
    sections_free(&sa);
    sections_free(&sb);
    sections_free(&sc);
    if (c) {
        pit_destroy(mc.pit);
        irqchip_destroy(mc.ic);
        vm_destroy(c);
    }
    if (b)
        vm_destroy(b);
    vm_destroy(a);
}

/* ---- hostile input into KVM ---------------------------------------------------------- */

static uint64_t rng = 0x2545f4914f6cdd1dULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* Whatever passes the format's checks and the kvm engine's is taken by
 * KVM: no KVM_SET_* ioctl refuses a load that was not refused before. */
static void hostile_into_kvm(void)
{
    struct vm *a = machine(&engine_emu);
    struct vm *b = machine(&engine_kvm);
    if (!a || !b)
        goto out;
    guest_clock_pause(&a->clock);
    make_rich(a, true);
    struct state_out good;
    CHECK_EQ(save_vcpu(a, &good), 0);
    struct err e = ERR_INIT;
    uint8_t *buf = malloc(good.len);
    int loaded = 0, refused = 0, kvm_refused = 0;
    for (size_t len = 0; len < good.len; len += 7) {
        struct state_in in;
        state_in_init(&in, good.data, len);
        CHECK(b->engine->load_vcpu(&b->vcpus[0], &in, &e) < 0);
    }
    for (int i = 0; i < 2000; i++) {
        memcpy(buf, good.data, good.len);
        int flips = 1 + (int)(next_rand() % 3);
        for (int f = 0; f < flips; f++) {
            size_t span = (next_rand() & 3) ? 1460 : good.len;
            size_t at = next_rand() % span;
            if (next_rand() & 1)
                buf[at] ^= (uint8_t)(1u << (next_rand() % 8));
            else
                buf[at] = (uint8_t)next_rand();
        }
        struct state_in in;
        state_in_init(&in, buf, good.len);
        err_clear(&e);
        int r = b->engine->load_vcpu(&b->vcpus[0], &in, &e);
        if (r == 0) {
            loaded++;
        } else if (strstr(e.msg, "vCPU state:") || strstr(e.msg, "does not offer") ||
                   strstr(e.msg, "does not have")) {
            refused++;
        } else {
            if (kvm_refused++ < 5)
                printf("  KVM refused a load the checks let through: %s\n", e.msg);
        }
    }
    printf("  2000 mutations: %d loaded into kvm, %d refused by the checks, %d by KVM\n", loaded,
           refused, kvm_refused);
    CHECK_EQ(kvm_refused, 0);
    /* The same for the 8259s/IOAPIC and the PIT as KVM saves them. */
    struct state_out chips;
    state_out_init(&chips);
    CHECK_EQ(b->engine->save_irqchip(b, &chips, NULL), 0);
    int ok = 0, no = 0, bad = 0;
    for (int i = 0; i < 2000 && chips.len; i++) {
        uint8_t m[512];
        memcpy(m, chips.data, chips.len);
        m[next_rand() % chips.len] ^= (uint8_t)next_rand();
        struct state_in in;
        state_in_init(&in, m, chips.len);
        err_clear(&e);
        if (b->engine->load_irqchip(b, &in, &e) == 0)
            ok++;
        else if (strstr(e.msg, " state: "))
            no++;
        else if (bad++ < 3)
            printf("  KVM refused an irqchip/PIT load the checks let through: %s\n", e.msg);
    }
    printf("  irqchip + PIT: 2000 mutations, %d loaded, %d refused by the checks, %d by KVM\n",
           ok, no, bad);
    CHECK_EQ(bad, 0);
    state_out_free(&chips);
    free(buf);
    state_out_free(&good);
out:
    if (a)
        vm_destroy(a);
    if (b)
        vm_destroy(b);
}

int main(void)
{
    struct err e = ERR_INIT;
    if (engine_kvm.probe(&e) < 0) {
        printf("SKIP: kvm/state (kvm is unavailable: %s)\n", e.msg);
        return 0;
    }
    RUN_TEST(cross_emu_to_kvm);
    RUN_TEST(pic_reaches_bsp_on_kvm);
    RUN_TEST(ap_moves);
    RUN_TEST(guest_moves);
    RUN_TEST(hostile_into_kvm);
    return CHECK_DONE();
}
