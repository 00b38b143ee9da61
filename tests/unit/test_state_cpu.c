/* Unit tests for the vCPU, interrupt-controller, PIT and guest-clock state
 * formats (docs/snapshot-cpu.md) on our own models: a state saved, loaded
 * into fresh ones and saved again gives the same bytes, and the loaded
 * models answer (and run on) as the saved ones; every truncation and
 * thousands of random mutations are refused or loaded safely.  (The guest
 * clock travels in board/snapshot.c's machine section.)  The kvm side
 * and the cross-engine checks are tests/kvm/run_kvm_state.sh. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "state_fixture.h"
#include "board/layout.h"
#include "engine/emu/cpu.h"
#include "engine/emu/emu.h"
#include "engine/emu/lapic.h"
#include "engine/emu/sse.h"
#include "engine/emu/system.h"
#include "engine/engine.h"
#include "engine/vcpu_snap.h"
#include "hw/irqchip.h"
#include "hw/pit.h"
#include "machine/vm.h"

#define MEM (16ULL << 20)

static struct vm *machine(void)
{
    struct vm *vm = NULL;
    struct err e = ERR_INIT;
    int r = vm_create(1, MEM, &engine_emu, &vm, &e);
    if (r == 0)
        r = vm_create_vcpus(vm, &e);
    CHECK_EQ(r, 0);
    if (r < 0) {
        printf("  machine: %s\n", e.msg);
        return NULL;
    }
    guest_clock_pause(&vm->clock);        /* saves are taken paused */
    return vm;
}

/* A machine to load into: its clock is the saved one's (a snapshot's
 * machine section carries guest time, and is loaded first). */
static struct vm *machine_like(struct vm *from)
{
    struct vm *vm = machine();
    if (!vm)
        return NULL;
    guest_clock_set(&vm->clock, guest_clock_now(&from->clock));
    CHECK_EQ(guest_clock_now(&vm->clock), guest_clock_now(&from->clock));
    memcpy(vm->mem.host, from->mem.host, vm->mem.low_size);
    return vm;
}

static bool same(const struct state_out *a, const struct state_out *b)
{
    return a->len == b->len && memcmp(a->data, b->data, a->len) == 0;
}

/* Where two saves differ, for a failing check's report. */
static void show_diff(const struct state_out *a, const struct state_out *b)
{
    if (a->len != b->len) {
        printf("  lengths differ: %zu and %zu\n", a->len, b->len);
        return;
    }
    int shown = 0;
    for (size_t i = 0; i < a->len && shown < 8; i++) {
        if (a->data[i] != b->data[i]) {
            printf("  byte %zu: %02x vs %02x\n", i, a->data[i], b->data[i]);
            shown++;
        }
    }
}

static int save_vcpu(struct vm *vm, struct state_out *o)
{
    state_out_init(o);
    struct err e = ERR_INIT;
    int r = vm->engine->save_vcpu(&vm->vcpus[0], o, &e);
    if (r < 0)
        printf("  save_vcpu: %s\n", e.msg);
    return r;
}

static int load_vcpu(struct vm *vm, const void *p, size_t len, struct err *e)
{
    struct state_in in;
    state_in_init(&in, p, len);
    int r = vm->engine->load_vcpu(&vm->vcpus[0], &in, e);
    if (r == 0 && !state_in_done(&in))
        r = err_set(e, -EINVAL, "%zu bytes left over", in.len - in.off);
    return r;
}

/* Everything a guest can read of the CPU and its APIC, compared. */
static void same_answers(struct vm *a, struct vm *b)
{
    struct emu_cpu *ca = cpu0(a), *cb = cpu0(b);
    struct cpu_state sa, sb;
    CHECK_EQ(engine_emu.get_state(&a->vcpus[0], &sa), 0);
    CHECK_EQ(engine_emu.get_state(&b->vcpus[0], &sb), 0);
    CHECK(memcmp(&sa, &sb, sizeof(sa)) == 0);
    for (unsigned i = 0; i < vcpu_arch_msr_count; i++) {
        uint64_t va = 1, vb = 2;
        CHECK_EQ(emu_rdmsr(ca, vcpu_arch_msrs[i], &va), 0);
        CHECK_EQ(emu_rdmsr(cb, vcpu_arch_msrs[i], &vb), 0);
        if (va != vb)
            printf("  MSR %#x: %#llx vs %#llx\n", vcpu_arch_msrs[i], (unsigned long long)va,
                   (unsigned long long)vb);
        CHECK(va == vb);
    }
    for (unsigned reg = 0x20; reg <= 0x3f0; reg += 0x10)
        if (lapic_r(ca, reg) != lapic_r(cb, reg)) {
            printf("  APIC register %#x: %#x vs %#x\n", reg, lapic_r(ca, reg), lapic_r(cb, reg));
            CHECK(0);
        }
    CHECK_EQ(lapic_pending(ca->lapic), lapic_pending(cb->lapic));
    CHECK(memcmp(ca->xmm, cb->xmm, sizeof(ca->xmm)) == 0);
    CHECK_EQ(ca->mxcsr, cb->mxcsr);
    CHECK_EQ(ca->x87.fcw, cb->x87.fcw);
    CHECK(ca->x87.st[6] == cb->x87.st[6] && ca->x87.st[7] == cb->x87.st[7]);
    CHECK_EQ(ca->state, cb->state);
    CHECK_EQ(ca->nmi_blocked, cb->nmi_blocked);
    CHECK_EQ(atomic_load(&ca->events) & EMU_EV_NMI, atomic_load(&cb->events) & EMU_EV_NMI);
}

static void vcpu_roundtrip(void)
{
    struct vm *a = machine();
    if (!a)
        return;
    make_rich(a, false);
    struct state_out s1, s2;
    CHECK_EQ(save_vcpu(a, &s1), 0);
    struct vm *b = machine_like(a);
    struct err e = ERR_INIT;
    int r = load_vcpu(b, s1.data, s1.len, &e);
    if (r < 0)
        printf("  load: %s\n", e.msg);
    CHECK_EQ(r, 0);
    CHECK_EQ(save_vcpu(b, &s2), 0);
    if (!same(&s1, &s2))
        show_diff(&s1, &s2);
    CHECK(same(&s1, &s2));
    same_answers(a, b);
    /* The timer went on from where it was: the same current count. */
    CHECK(lapic_r(cpu0(b), 0x390) != 0 && lapic_r(cpu0(b), 0x390) <= 1000000);

    /* Both run on alike: end the interrupt in service, take the waiting one
     * (the handler halts), run the rest. */
    struct vm *m[2] = { a, b };
    for (int k = 0; k < 2; k++) {
        struct emu_cpu *c = cpu0(m[k]);
        lapic_w(c, 0xb0, 0);
        CHECK(emu_check_interrupts(c));
        emu_execute(c, 100);
        CHECK_EQ(c->state, EMU_HALTED);
        CHECK_EQ(c->rip, HANDLER + 4);
        CHECK_EQ(c->gpr[R_RDX], 0x3333333333333334ULL);
    }
    struct state_out t1, t2;
    CHECK_EQ(save_vcpu(a, &t1), 0);
    CHECK_EQ(save_vcpu(b, &t2), 0);
    if (!same(&t1, &t2))
        show_diff(&t1, &t2);
    CHECK(same(&t1, &t2));
    state_out_free(&t1);
    state_out_free(&t2);
    state_out_free(&s1);
    state_out_free(&s2);
    vm_destroy(a);
    vm_destroy(b);
}

/* Events another engine may have been delivering, and the interrupt shadow,
 * survive a load and a save; the exception is delivered on the next run. */
static void vcpu_events_roundtrip(void)
{
    struct vm *a = machine();
    if (!a)
        return;
    make_rich(a, false);
    struct state_out s1;
    CHECK_EQ(save_vcpu(a, &s1), 0);
    struct vcpu_snap *sn = malloc(sizeof(*sn));
    struct state_in in;
    state_in_init(&in, s1.data, s1.len);
    struct err e = ERR_INIT;
    CHECK_EQ(vcpu_snap_decode(&in, sn, &e), 0);
    sn->exc_valid = true;
    sn->exc_vector = 13;
    sn->exc_has_error = true;
    sn->exc_error = 0x18;
    sn->int_shadow = true;
    struct state_out s2, s3;
    state_out_init(&s2);
    vcpu_snap_encode(sn, &s2);
    struct vm *b = machine_like(a);
    CHECK_EQ(load_vcpu(b, s2.data, s2.len, &e), 0);
    CHECK_EQ(save_vcpu(b, &s3), 0);
    CHECK(same(&s2, &s3));
    /* An exception with the wrong error code is refused, naming it. */
    sn->exc_has_error = false;
    sn->exc_error = 0;
    state_out_free(&s3);
    state_out_init(&s3);
    vcpu_snap_encode(sn, &s3);
    err_clear(&e);
    CHECK(load_vcpu(b, s3.data, s3.len, &e) == -EINVAL);
    CHECK(strstr(e.msg, "exception 13") != NULL);
    free(sn);
    state_out_free(&s1);
    state_out_free(&s2);
    state_out_free(&s3);
    vm_destroy(a);
    vm_destroy(b);
}

/* An application processor waiting for its startup IPI moves as such, and
 * only into an application processor's place. */
static void ap_roundtrip(void)
{
    struct vm *a = NULL, *b = NULL;
    struct err e = ERR_INIT;
    CHECK_EQ(vm_create(2, MEM, &engine_emu, &a, &e), 0);
    CHECK_EQ(vm_create(2, MEM, &engine_emu, &b, &e), 0);
    if (!a || !b)
        return;
    CHECK_EQ(vm_create_vcpus(a, &e), 0);
    CHECK_EQ(vm_create_vcpus(b, &e), 0);
    guest_clock_pause(&a->clock);
    guest_clock_pause(&b->clock);
    guest_clock_set(&b->clock, guest_clock_now(&a->clock));
    struct state_out s1, s2, s0;
    state_out_init(&s1);
    state_out_init(&s2);
    state_out_init(&s0);
    CHECK_EQ(a->engine->save_vcpu(&a->vcpus[1], &s1, NULL), 0);
    CHECK_EQ(a->engine->save_vcpu(&a->vcpus[0], &s0, NULL), 0);
    struct state_in in;
    state_in_init(&in, s1.data, s1.len);
    CHECK_EQ(b->engine->load_vcpu(&b->vcpus[1], &in, &e), 0);
    CHECK_EQ(b->engine->save_vcpu(&b->vcpus[1], &s2, NULL), 0);
    CHECK(same(&s1, &s2));
    CHECK_EQ(emu_cpu_of(&b->vcpus[1])->state, EMU_WAIT_SIPI);
    /* The boot processor's state does not go into an AP. */
    state_in_init(&in, s0.data, s0.len);
    err_clear(&e);
    CHECK(b->engine->load_vcpu(&b->vcpus[1], &in, &e) == -EINVAL);
    CHECK(strstr(e.msg, "BSP") != NULL);
    state_out_free(&s0);
    state_out_free(&s1);
    state_out_free(&s2);
    vm_destroy(a);
    vm_destroy(b);
}

/* ---- the 8259 pair and the IOAPIC ------------------------------------------------ */

static int nsent;
static void record_deliver(void *opaque, const struct apic_msg *m)
{
    (void)opaque;
    (void)m;
    nsent++;
}

static struct irqchip *chip(struct vm *vm)
{
    struct irqchip_wiring w = {
        .pio = &vm->pio, .mmio = &vm->mmio, .pic_master = PORT_PIC_MASTER,
        .pic_slave = PORT_PIC_SLAVE, .elcr = PORT_ELCR, .ioapic_base = LAYOUT_IOAPIC,
        .apic = { .deliver = record_deliver, .opaque = vm },
    };
    struct irqchip *ic = NULL;
    CHECK_EQ(irqchip_create(&w, &ic), 0);
    return ic;
}

static void out8(struct vm *vm, uint16_t port, uint8_t v) { bus_write(&vm->pio, port, 1, v); }
static uint8_t in8(struct vm *vm, uint16_t port)
{
    uint64_t v = 0;
    bus_read(&vm->pio, port, 1, &v);
    return (uint8_t)v;
}
static void io_w(struct vm *vm, uint32_t reg, uint32_t v)
{
    bus_write(&vm->mmio, LAYOUT_IOAPIC, 4, reg);
    bus_write(&vm->mmio, LAYOUT_IOAPIC + 0x10, 4, v);
}
static uint32_t io_r(struct vm *vm, uint32_t reg)
{
    uint64_t v = 0;
    bus_write(&vm->mmio, LAYOUT_IOAPIC, 4, reg);
    bus_read(&vm->mmio, LAYOUT_IOAPIC + 0x10, 4, &v);
    return (uint32_t)v;
}

static void irqchip_roundtrip(void)
{
    struct vm *a = machine(), *b = machine();
    if (!a || !b)
        return;
    struct irqchip *ia = chip(a), *ib = chip(b);
    static const uint8_t seq[][2] = { { 0x20, 0x11 }, { 0x21, 0x30 }, { 0x21, 0x04 },
                                      { 0x21, 0x03 }, { 0xa0, 0x11 }, { 0xa1, 0x38 },
                                      { 0xa1, 0x02 }, { 0xa1, 0x01 }, { 0x21, 0x10 },
                                      { 0xa1, 0xef }, { 0x20, 0xc4 }, { 0xa0, 0x0b } };
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
        out8(a, seq[i][0], seq[i][1]);
    bus_write(&a->pio, PORT_ELCR, 2, 0x0a00);           /* IRQ 9 and 11 level */
    irqchip_set_irq(ia, 1, 1);                           /* the keyboard: edge, pending */
    irqchip_set_irq(ia, 1, 0);
    irqchip_set_irq(ia, 9, 1);                           /* level, held */
    irqchip_set_irq(ia, 3, 1);
    irqchip_set_irq(ia, 3, 0);
    CHECK(irqchip_pic_ack(ia) >= 0);                     /* one in service */
    io_w(a, 0x00, 0x05000000);
    io_w(a, 0x10 + 2 * 2, 0x30);                         /* pin 2: vector 0x30, edge */
    io_w(a, 0x10 + 2 * 11, 0x0000a059);                  /* pin 11: level, fixed, 0x59 */
    io_w(a, 0x11 + 2 * 11, 0x01000000);
    io_w(a, 0x10 + 2 * 20, 0x00018061);                  /* pin 20: level, masked */
    irqchip_set_irq(ia, 11, 1);                          /* delivered: remote IRR */
    irqchip_set_irq(ia, 20, 1);                          /* masked: waits */
    bus_write(&a->mmio, LAYOUT_IOAPIC, 4, 0x21);         /* IOREGSEL left somewhere */

    struct state_out s1, s2;
    state_out_init(&s1);
    state_out_init(&s2);
    CHECK_EQ(irqchip_save(ia, &s1), 0);
    struct state_in in;
    state_in_init(&in, s1.data, s1.len);
    struct err e = ERR_INIT;
    int r = irqchip_load(ib, &in, &e);
    if (r < 0)
        printf("  load: %s\n", e.msg);
    CHECK_EQ(r, 0);
    CHECK(state_in_done(&in));
    CHECK_EQ(irqchip_save(ib, &s2), 0);
    CHECK(same(&s1, &s2));
    /* Both answer alike: IRR, ISR (OCW3 read select), IMR, ELCR, IOAPIC. */
    CHECK_EQ(in8(a, 0x21), in8(b, 0x21));
    CHECK_EQ(in8(a, 0xa1), in8(b, 0xa1));
    CHECK_EQ(in8(a, 0x20), in8(b, 0x20));
    CHECK_EQ(in8(a, 0xa0), in8(b, 0xa0));
    CHECK_EQ(in8(a, PORT_ELCR + 1), in8(b, PORT_ELCR + 1));
    uint64_t sa = 0, sb = 0;
    bus_read(&a->mmio, LAYOUT_IOAPIC, 4, &sa);
    bus_read(&b->mmio, LAYOUT_IOAPIC, 4, &sb);
    CHECK_EQ(sa, sb);
    for (uint32_t reg = 0; reg < 0x40; reg++)
        CHECK_EQ(io_r(a, reg), io_r(b, reg));
    CHECK_EQ(irqchip_pic_pending(ia), irqchip_pic_pending(ib));
    CHECK_EQ(irqchip_pic_ack(ia), irqchip_pic_ack(ib));
    state_out_free(&s1);
    state_out_free(&s2);
    irqchip_destroy(ia);
    irqchip_destroy(ib);
    vm_destroy(a);
    vm_destroy(b);
}

/* ---- the PIT ------------------------------------------------------------------------ */

static void pit_roundtrip(void)
{
    struct vm *a = machine();
    if (!a)
        return;
    struct irqchip *ia = chip(a);
    struct pit *pa = NULL, *pb = NULL;
    CHECK_EQ(pit_create(&a->pio, PORT_PIT, PORT_SYSCTL, &a->clock, irqchip_line(ia, 0), ia, &pa), 0);
    out8(a, 0x43, 0x34);                                 /* ch0 mode 2, LSB then MSB */
    out8(a, 0x40, 0x9c);
    out8(a, 0x40, 0x2e);                                 /* 11932: 10 ms */
    out8(a, PORT_SYSCTL, 0x01);                          /* gate 2 high */
    out8(a, 0x43, 0xb0);                                 /* ch2 mode 0 */
    out8(a, 0x42, 0xff);
    out8(a, 0x42, 0xff);
    out8(a, 0x43, 0x76);                                 /* ch1 mode 3, a count half written */
    out8(a, 0x41, 0x12);
    out8(a, 0x43, 0x80);                                 /* ch2 latched */
    (void)in8(a, 0x42);                                  /* its LSB read */
    out8(a, 0x43, 0xe2);                                 /* read-back: ch0 status only */
    /* Guest time goes on a little before the save. */
    guest_clock_resume(&a->clock);
    struct timespec ts = { 0, 3000000 };
    nanosleep(&ts, NULL);
    guest_clock_pause(&a->clock);

    struct state_out s1, s2;
    state_out_init(&s1);
    state_out_init(&s2);
    CHECK_EQ(pit_save(pa, &s1), 0);
    struct vm *b = machine_like(a);
    struct irqchip *ib = chip(b);
    CHECK_EQ(pit_create(&b->pio, PORT_PIT, PORT_SYSCTL, &b->clock, irqchip_line(ib, 0), ib, &pb), 0);
    struct state_in in;
    state_in_init(&in, s1.data, s1.len);
    struct err e = ERR_INIT;
    int r = pit_load(pb, &in, &e);
    if (r < 0)
        printf("  load: %s\n", e.msg);
    CHECK_EQ(r, 0);
    CHECK(state_in_done(&in));
    CHECK_EQ(pit_save(pb, &s2), 0);
    if (!same(&s1, &s2))
        show_diff(&s1, &s2);
    CHECK(same(&s1, &s2));
    /* The same reads in the same order: status, latch, live counts, port 0x61. */
    for (int k = 0; k < 3; k++) {
        CHECK_EQ(in8(a, 0x40), in8(b, 0x40));
        CHECK_EQ(in8(a, 0x42), in8(b, 0x42));
    }
    out8(a, 0x41, 0x34);
    out8(b, 0x41, 0x34);
    CHECK_EQ(in8(a, 0x41), in8(b, 0x41));
    CHECK_EQ(in8(a, PORT_SYSCTL) & 0x2f, in8(b, PORT_SYSCTL) & 0x2f);
    state_out_free(&s1);
    state_out_free(&s2);
    pit_destroy(pa);
    pit_destroy(pb);
    irqchip_destroy(ia);
    irqchip_destroy(ib);
    vm_destroy(a);
    vm_destroy(b);
}

/* ---- hostile input ---------------------------------------------------------------- */

enum kind { K_VCPU, K_IRQCHIP, K_PIT };

struct target {
    struct vm *vm;
    struct irqchip *ic;
    struct pit *pit;
};

static int load_kind(struct target *t, enum kind k, const uint8_t *p, size_t len, struct err *e)
{
    struct state_in in;
    state_in_init(&in, p, len);
    int r;
    switch (k) {
    case K_VCPU: r = t->vm->engine->load_vcpu(&t->vm->vcpus[0], &in, e); break;
    case K_IRQCHIP: r = irqchip_load(t->ic, &in, e); break;
    default: r = pit_load(t->pit, &in, e); break;
    }
    if (r == 0 && !state_in_done(&in))
        r = -EINVAL;   /* what a caller does with bytes left over */
    return r;
}

static int save_kind(struct target *t, enum kind k, struct state_out *o)
{
    state_out_init(o);
    switch (k) {
    case K_VCPU: return t->vm->engine->save_vcpu(&t->vm->vcpus[0], o, NULL);
    case K_IRQCHIP: return irqchip_save(t->ic, o);
    default: return pit_save(t->pit, o);
    }
}

static uint64_t rng = 0x9e3779b97f4a7c15ULL;
static uint64_t next_rand(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static void hostile(enum kind k, int mutations)
{
    struct vm *a = machine();
    if (!a)
        return;
    make_rich(a, false);
    struct target src = { a, chip(a), NULL };
    CHECK_EQ(pit_create(&a->pio, PORT_PIT, PORT_SYSCTL, &a->clock, irqchip_line(src.ic, 0), src.ic,
                        &src.pit), 0);
    out8(a, 0x20, 0x11); out8(a, 0x21, 0x20); out8(a, 0x21, 0x04); out8(a, 0x21, 0x01);
    out8(a, 0x43, 0x34); out8(a, 0x40, 0x00); out8(a, 0x40, 0x10);
    struct state_out good;
    CHECK_EQ(save_kind(&src, k, &good), 0);

    struct vm *b = machine();
    struct target dst = { b, chip(b), NULL };
    CHECK_EQ(pit_create(&b->pio, PORT_PIT, PORT_SYSCTL, &b->clock, irqchip_line(dst.ic, 0), dst.ic,
                        &dst.pit), 0);
    struct err e = ERR_INIT;
    int refused = 0, loaded = 0;
    for (size_t len = 0; len < good.len; len++) {
        err_clear(&e);
        if (load_kind(&dst, k, good.data, len, &e) < 0)
            refused++;
    }
    CHECK_EQ(refused, (int)good.len);
    uint8_t *buf = malloc(good.len);
    for (int i = 0; i < mutations; i++) {
        memcpy(buf, good.data, good.len);
        int flips = 1 + (int)(next_rand() % 4);
        for (int f = 0; f < flips; f++) {
            /* Half the time among the registers, MSRs and events: most of
             * a vCPU's bytes are its APIC page, mostly zeros. */
            size_t span = (next_rand() & 1) && good.len > 1460 ? 1460 : good.len;
            size_t at = next_rand() % span;
            if (next_rand() & 1)
                buf[at] ^= (uint8_t)(1u << (next_rand() % 8));
            else
                buf[at] = (uint8_t)next_rand();
        }
        err_clear(&e);
        int r = load_kind(&dst, k, buf, good.len, &e);
        if (r < 0) {
            CHECK(e.msg[0] || k == K_VCPU || r == -EINVAL);
            continue;
        }
        loaded++;
        /* Loaded: the model saves again, and what it saves loads. */
        struct state_out again;
        CHECK_EQ(save_kind(&dst, k, &again), 0);
        err_clear(&e);
        r = load_kind(&dst, k, again.data, again.len, &e);
        if (r < 0)
            printf("  mutation %d loaded, but its re-save did not: %s\n", i, e.msg);
        CHECK_EQ(r, 0);
        state_out_free(&again);
    }
    printf("  %zu truncations refused; of %d mutations %d loaded, %d refused\n", good.len,
           mutations, loaded, mutations - loaded);
    free(buf);
    state_out_free(&good);
    struct target *ts[2] = { &src, &dst };
    for (int i = 0; i < 2; i++) {
        pit_destroy(ts[i]->pit);
        irqchip_destroy(ts[i]->ic);
        vm_destroy(ts[i]->vm);
    }
}

static void hostile_vcpu(void) { hostile(K_VCPU, 3000); }
static void hostile_irqchip(void) { hostile(K_IRQCHIP, 3000); }
static void hostile_pit(void) { hostile(K_PIT, 3000); }

/* The guest clock goes on from the loaded time, paused or not. */
static void clock_continues(void)
{
    struct guest_clock gc;
    memset(&gc, 0, sizeof(gc));
    guest_clock_set(&gc, 5000000000ULL);
    uint64_t t = guest_clock_now(&gc);
    CHECK(t >= 5000000000ULL && t < 6000000000ULL);
    guest_clock_pause(&gc);
    guest_clock_set(&gc, 42);
    CHECK_EQ(guest_clock_now(&gc), 42);
    guest_clock_resume(&gc);
    CHECK(guest_clock_now(&gc) >= 42 && guest_clock_now(&gc) < 1000000000ULL);
}

int main(void)
{
    RUN_TEST(vcpu_roundtrip);
    RUN_TEST(vcpu_events_roundtrip);
    RUN_TEST(ap_roundtrip);
    RUN_TEST(irqchip_roundtrip);
    RUN_TEST(pit_roundtrip);
    RUN_TEST(clock_continues);
    RUN_TEST(hostile_vcpu);
    RUN_TEST(hostile_irqchip);
    RUN_TEST(hostile_pit);
    return CHECK_DONE();
}
