/* Unit tests for the software CPU's local APIC, on a fake machine of three
 * emu_cpus whose glue (emu_cpu_of, emu_vcpu_wake, emu_rdtsc) is defined here,
 * with our real PIC/IOAPIC delivering through lapic_deliver. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "engine/emu/cpu.h"
#include "engine/emu/emu.h"
#include "engine/emu/lapic.h"
#include "hw/irqchip.h"
#include "board/layout.h"
#include "machine/timer.h"
#include "machine/vm.h"

/* ---- the glue emu.c provides in the real engine ---- */

static _Atomic int wakes;

struct emu_cpu *emu_cpu_of(struct vcpu *v)
{
    return v->engine_data;
}

void emu_vcpu_wake(struct emu_cpu *c, uint32_t events)
{
    emu_post_events(c, events);
    atomic_fetch_add(&wakes, 1);
}

static _Atomic int sipi_vec[3] = { -1, -1, -1 };

void emu_vcpu_sipi(struct emu_cpu *c, uint8_t vector)
{
    atomic_store(&sipi_vec[c->id], vector);
    emu_vcpu_wake(c, EMU_EV_SIPI);
}

static int take_sipi(int c)
{
    return atomic_exchange(&sipi_vec[c], -1);
}

uint64_t emu_rdtsc(struct emu_cpu *c)
{
    return timer_now_ns() * (EMU_TSC_HZ / 1000000000ULL) + (uint64_t)c->tsc_offset;
}

/* ---- the machine: three emu_cpus, our PIC/IOAPIC wired as the board does ---- */

#define NCPU 3
static struct vm vm;
static struct emu_cpu *cpu[NCPU];
static struct irqchip *ic;

/* The IOAPIC's and MSIs' messages go to the LAPICs (board.c's apic_bus). */
static void deliver_to_lapics(void *opaque, const struct apic_msg *msg)
{
    lapic_deliver(opaque, msg);
}

static void setup(void)
{
    memset(&vm, 0, sizeof(vm));
    bus_init(&vm.pio, "pio");
    bus_init(&vm.mmio, "mmio");
    vm.ncpus = NCPU;
    for (int i = 0; i < NCPU; i++) {
        cpu[i] = aligned_alloc(64, (sizeof(struct emu_cpu) + 63) & ~(size_t)63);
        memset(cpu[i], 0, sizeof(struct emu_cpu));
        cpu[i]->id = i;
        cpu[i]->vm = &vm;
        cpu[i]->vcpu = &vm.vcpus[i];
        vm.vcpus[i].vm = &vm;
        vm.vcpus[i].id = i;
        vm.vcpus[i].engine_data = cpu[i];
        CHECK_EQ(lapic_create(cpu[i], &cpu[i]->lapic), 0);
    }
    struct irqchip_wiring w = {
        .pio = &vm.pio, .mmio = &vm.mmio, .pic_master = PORT_PIC_MASTER,
        .pic_slave = PORT_PIC_SLAVE, .elcr = PORT_ELCR, .ioapic_base = LAYOUT_IOAPIC,
        .apic = { .deliver = deliver_to_lapics, .opaque = &vm },
    };
    CHECK_EQ(irqchip_create(&w, &ic), 0);
    vm.ext_intr = irqchip_ext_intr(ic);          /* LINT0: the 8259's side */
    atomic_store(&wakes, 0);
}

static void teardown(void)
{
    memset(&vm.ext_intr, 0, sizeof(vm.ext_intr));
    irqchip_destroy(ic);
    for (int i = 0; i < NCPU; i++) {
        lapic_destroy(cpu[i]->lapic);
        free(cpu[i]);
    }
    bus_destroy(&vm.pio);
    bus_destroy(&vm.mmio);
}

static uint32_t rd(int c, uint32_t reg) { return (uint32_t)lapic_mmio_read(cpu[c]->lapic, reg, 4); }
static void wr(int c, uint32_t reg, uint32_t v) { lapic_mmio_write(cpu[c]->lapic, reg, 4, v); }
static uint32_t take_events(int c) { return atomic_exchange(&cpu[c]->events, 0); }

static void fixed(int dest, uint8_t vector)
{
    struct apic_msg m = { .dest = (uint32_t)dest, .delivery = APIC_DM_FIXED, .vector = vector,
                          .assert = true };
    lapic_deliver(&vm, &m);
}

static bool irr_has(int c, int v) { return rd(c, 0x200 + (v >> 5) * 0x10) & (1u << (v & 31)); }
static bool isr_has(int c, int v) { return rd(c, 0x100 + (v >> 5) * 0x10) & (1u << (v & 31)); }

static void registers_after_reset(void)
{
    setup();
    CHECK_EQ(rd(0, 0x20), 0);
    CHECK_EQ(rd(2, 0x20), 2u << 24);
    CHECK_EQ(rd(0, 0x30), 0x50014);
    CHECK_EQ(rd(0, 0xf0), 0xff);
    CHECK_EQ(rd(0, 0xe0), 0xffffffff);
    for (uint32_t r = 0x320; r <= 0x370; r += 0x10)
        CHECK_EQ(rd(0, r), 0x10000);
    CHECK(cpu[0]->msr_apic_base == (LAYOUT_LAPIC | 0x900));
    CHECK(cpu[1]->msr_apic_base == (LAYOUT_LAPIC | 0x800));
    /* Software disabled: LVT writes keep the mask. */
    wr(0, 0x350, 0x700);
    CHECK_EQ(rd(0, 0x350), 0x10700);
    wr(0, 0xf0, 0x1ff);
    wr(0, 0x350, 0x700);
    CHECK_EQ(rd(0, 0x350), 0x700);
    wr(0, 0xf0, 0x0ff);                          /* disabling masks every LVT */
    CHECK_EQ(rd(0, 0x350), 0x10700);
    wr(0, 0xe0, 0x0);
    CHECK_EQ(rd(0, 0xe0), 0x0fffffff);
    wr(0, 0xd0, 0x12345678);
    CHECK_EQ(rd(0, 0xd0), 0x12000000);
    CHECK_EQ(lapic_mmio_read(cpu[0]->lapic, 0x32, 1), 0x05);   /* byte of version */
    CHECK_EQ(lapic_mmio_read(cpu[0]->lapic, 0x30, 8), 0x50014);
    CHECK_EQ(lapic_mmio_read(cpu[0]->lapic, 0x38, 8), 0);       /* hostile offsets */
    CHECK_EQ(lapic_mmio_read(cpu[0]->lapic, 0x33, 2), 0);
    CHECK_EQ(lapic_mmio_read(cpu[0]->lapic, 0xffff38, 4), 0);
    lapic_mmio_write(cpu[0]->lapic, 0x84, 4, 0xff);             /* unaligned: dropped */
    lapic_mmio_write(cpu[0]->lapic, 0x80, 2, 0xff);             /* narrow: dropped */
    CHECK_EQ(rd(0, 0x80), 0);
    teardown();
}

static void priority_order_and_eoi(void)
{
    setup();
    struct emu_lapic *l = cpu[0]->lapic;
    wr(0, 0xf0, 0x1ff);
    fixed(0, 0x31);
    fixed(0, 0x52);
    fixed(0, 0x45);
    CHECK(take_events(0) & EMU_EV_IRQ);
    CHECK(irr_has(0, 0x31) && irr_has(0, 0x45) && irr_has(0, 0x52));
    CHECK_EQ(lapic_pending(l), 0x52);
    CHECK_EQ(lapic_ack(l), 0x52);
    CHECK(isr_has(0, 0x52));
    CHECK(!irr_has(0, 0x52));
    CHECK_EQ(rd(0, 0xa0), 0x50);                 /* PPR from ISR */
    CHECK_EQ(lapic_pending(l), -1);              /* 0x45 is below class 5 */
    fixed(0, 0x61);
    CHECK_EQ(lapic_pending(l), 0x61);            /* a higher class nests */
    CHECK_EQ(lapic_ack(l), 0x61);
    wr(0, 0xb0, 0);                              /* EOI: the highest ISR, 0x61 */
    CHECK(!isr_has(0, 0x61));
    CHECK(isr_has(0, 0x52));
    wr(0, 0xb0, 0);
    CHECK_EQ(rd(0, 0xa0), 0);
    CHECK_EQ(lapic_pending(l), 0x45);
    wr(0, 0x80, 0x50);                           /* TPR blocks class <= 5 */
    CHECK_EQ(rd(0, 0xa0), 0x50);
    CHECK_EQ(lapic_pending(l), -1);
    CHECK_EQ(lapic_get_tpr(l), 5);
    lapic_set_tpr(l, 3);
    CHECK_EQ(rd(0, 0x80), 0x30);
    CHECK_EQ(lapic_pending(l), 0x45);
    lapic_set_tpr(l, 0);
    CHECK_EQ(lapic_ack(l), 0x45);
    CHECK_EQ(lapic_ack(l), -1);                  /* 0x31 waits behind 0x45 in service */
    wr(0, 0xb0, 0);
    CHECK_EQ(lapic_ack(l), 0x31);
    wr(0, 0xb0, 0);
    CHECK_EQ(lapic_pending(l), -1);
    /* Illegal vectors are refused and recorded in ESR after a write. */
    fixed(0, 0x05);
    CHECK_EQ(lapic_pending(l), -1);
    wr(0, 0x280, 0);
    CHECK_EQ(rd(0, 0x280), 0x40);
    /* Software-disabled: IRR holds, nothing is delivered. */
    fixed(0, 0x70);
    wr(0, 0xf0, 0xff);
    CHECK_EQ(lapic_pending(l), -1);
    wr(0, 0xf0, 0x1ff);
    CHECK_EQ(lapic_pending(l), 0x70);
    teardown();
}

static void level_eoi_reaches_ioapic(void)
{
    setup();
    wr(0, 0xf0, 0x1ff);
    struct emu_lapic *l = cpu[0]->lapic;
    /* IOAPIC pin 11: level, vector 0x3b, physical APIC 0. */
    bus_write(&vm.mmio, LAYOUT_IOAPIC, 4, 0x10 + 2 * 11);
    bus_write(&vm.mmio, LAYOUT_IOAPIC + 0x10, 4, 0x803b);
    irqchip_set_irq(ic, 11, 1);
    CHECK_EQ(lapic_pending(l), 0x3b);
    CHECK(rd(0, 0x180 + 0x10) & (1u << (0x3b - 32)));   /* TMR */
    CHECK_EQ(lapic_ack(l), 0x3b);
    wr(0, 0xb0, 0);                              /* EOI: remote IRR cleared, still asserted */
    CHECK_EQ(lapic_pending(l), 0x3b);            /* so the IOAPIC sent it again */
    CHECK_EQ(lapic_ack(l), 0x3b);
    irqchip_set_irq(ic, 11, 0);
    wr(0, 0xb0, 0);
    CHECK_EQ(lapic_pending(l), -1);
    /* ISA IRQ0 through pin 2 to APIC 1, edge. */
    wr(1, 0xf0, 0x1ff);
    bus_write(&vm.mmio, LAYOUT_IOAPIC, 4, 0x10 + 2 * 2);
    bus_write(&vm.mmio, LAYOUT_IOAPIC + 0x10, 4, 0x30);
    bus_write(&vm.mmio, LAYOUT_IOAPIC, 4, 0x11 + 2 * 2);
    bus_write(&vm.mmio, LAYOUT_IOAPIC + 0x10, 4, 0x01000000);
    irqchip_set_irq(ic, 0, 1);
    irqchip_set_irq(ic, 0, 0);
    CHECK_EQ(lapic_pending(cpu[1]->lapic), 0x30);
    CHECK_EQ(lapic_pending(l), -1);
    teardown();
}

static void pic_through_extint(void)
{
    setup();
    struct emu_lapic *bsp = cpu[0]->lapic, *ap = cpu[1]->lapic;
    {
        uint8_t seq[][2] = { { 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 }, { 0x21, 0x01 },
                             { 0xa0, 0x11 }, { 0xa1, 0x28 }, { 0xa1, 0x02 }, { 0xa1, 0x01 },
                             { 0x21, 0x00 }, { 0xa1, 0x00 } };
        for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
            bus_write(&vm.pio, seq[i][0], 1, seq[i][1]);
    }
    take_events(0);
    irqchip_set_irq(ic, 4, 1);
    irqchip_set_irq(ic, 4, 0);
    CHECK(take_events(0) & EMU_EV_IRQ);          /* the wire woke the BSP */
    /* APIC software-disabled (reset state): virtual wire to the BSP only. */
    CHECK_EQ(lapic_pending(bsp), LAPIC_VECTOR_EXTINT);
    CHECK_EQ(lapic_pending(ap), -1);
    CHECK_EQ(lapic_ack(bsp), 0x24);
    bus_write(&vm.pio, 0x20, 1, 0x20);
    /* Enabled with LINT0 masked: the PIC does not reach the CPU. */
    wr(0, 0xf0, 0x1ff);
    irqchip_set_irq(ic, 1, 1);
    irqchip_set_irq(ic, 1, 0);
    CHECK_EQ(lapic_pending(bsp), -1);
    wr(0, 0x350, 0x700);                         /* LINT0: ExtINT */
    CHECK_EQ(lapic_pending(bsp), LAPIC_VECTOR_EXTINT);
    CHECK_EQ(lapic_ack(bsp), 0x21);
    /* Globally disabled (IA32_APIC_BASE bit 11 clear) also passes the PIC. */
    bus_write(&vm.pio, 0x20, 1, 0x20);
    wr(0, 0x350, 0x10700);
    cpu[0]->msr_apic_base &= ~0x800ULL;
    irqchip_set_irq(ic, 3, 1);
    irqchip_set_irq(ic, 3, 0);
    CHECK_EQ(lapic_pending(bsp), LAPIC_VECTOR_EXTINT);
    CHECK_EQ(lapic_ack(bsp), 0x23);
    teardown();
}

static bool wait_pending(struct emu_lapic *l, int vector, int max_ms)
{
    for (int i = 0; i < max_ms; i++) {
        if (lapic_pending(l) == vector)
            return true;
        usleep(1000);
    }
    return lapic_pending(l) == vector;
}

static void timer_oneshot_periodic_deadline(void)
{
    setup();
    struct emu_lapic *l = cpu[0]->lapic;
    wr(0, 0xf0, 0x1ff);
    const uint32_t per_ms = (uint32_t)(EMU_LAPIC_TIMER_HZ / 1000);
    const uint64_t tick = 1000000000ULL / EMU_LAPIC_TIMER_HZ;   /* ns, divide by 1 */
    wr(0, 0x3e0, 0xb);                           /* divide by 1 */
    wr(0, 0x320, 0x40);                          /* one-shot, vector 0x40 */
    wr(0, 0x380, 50 * per_ms);                   /* 50 ms: room for a busy host */
    uint32_t cc = rd(0, 0x390);
    CHECK(cc > 0 && cc <= 50 * per_ms);
    CHECK_EQ(lapic_pending(l), -1);
    CHECK(wait_pending(l, 0x40, 5000));
    CHECK(take_events(0) & EMU_EV_IRQ);
    CHECK_EQ(rd(0, 0x390), 0);
    CHECK_EQ(lapic_ack(l), 0x40);
    wr(0, 0xb0, 0);
    usleep(10000);
    CHECK_EQ(lapic_pending(l), -1);              /* one-shot: once */

    /* Divide configuration: 0x3 is divide by 16. */
    wr(0, 0x3e0, 0x3);
    CHECK_EQ(rd(0, 0x3e0), 0x3);
    uint64_t t0 = timer_now_ns();
    wr(0, 0x380, 0xffffffff);
    usleep(2000);
    cc = rd(0, 0x390);
    uint64_t t1 = timer_now_ns();
    uint64_t ticks = 0xffffffffULL - cc;
    CHECK(ticks * 16 * tick <= t1 - t0 + 16 * tick);     /* never faster */
    CHECK(ticks * 16 * tick + 16 * tick >= 2000000);    /* and it did count */
    wr(0, 0x380, 0);                             /* a zero count stops it */
    CHECK_EQ(rd(0, 0x390), 0);

    /* Periodic: fires again after each EOI. */
    wr(0, 0x3e0, 0xb);
    wr(0, 0x320, 0x20041);
    wr(0, 0x380, per_ms);                        /* 1 ms */
    for (int k = 0; k < 3; k++) {
        CHECK(wait_pending(l, 0x41, 5000));
        CHECK_EQ(lapic_ack(l), 0x41);
        wr(0, 0xb0, 0);
    }
    uint32_t c1 = rd(0, 0x390);
    CHECK(c1 > 0 && c1 <= 1000000);
    /* Masked: counting goes on, no interrupts (and no host timer). */
    wr(0, 0x320, 0x30041);
    usleep(5000);
    lapic_ack(l);
    wr(0, 0xb0, 0);
    usleep(5000);
    CHECK_EQ(lapic_pending(l), -1);
    CHECK(rd(0, 0x390) > 0);

    /* TSC-deadline: a mode switch stops the count; WRMSR arms it. */
    wr(0, 0x320, 0x40042);
    CHECK_EQ(rd(0, 0x380), 0);
    wr(0, 0x380, 1234);                          /* ignored in this mode */
    CHECK_EQ(rd(0, 0x380), 0);
    uint64_t dl = emu_rdtsc(cpu[0]) + EMU_TSC_HZ / 500;   /* 2 ms */
    lapic_set_tsc_deadline(l, dl);
    CHECK(lapic_get_tsc_deadline(l) == dl);
    CHECK(wait_pending(l, 0x42, 5000));
    CHECK(emu_rdtsc(cpu[0]) >= dl);              /* never early */
    CHECK(lapic_get_tsc_deadline(l) == 0);       /* cleared when it fires */
    CHECK_EQ(lapic_ack(l), 0x42);
    wr(0, 0xb0, 0);
    lapic_set_tsc_deadline(l, emu_rdtsc(cpu[0]) + EMU_TSC_HZ);   /* 1 s, then cancelled */
    lapic_set_tsc_deadline(l, 0);
    usleep(5000);
    CHECK_EQ(lapic_pending(l), -1);
    lapic_set_tsc_deadline(l, 1);                /* in the past: at once */
    CHECK(wait_pending(l, 0x42, 5000));
    teardown();
}

static void ipi(int from, uint32_t hi, uint32_t lo)
{
    wr(from, 0x310, hi);
    wr(from, 0x300, lo);
}

static void ipi_routing(void)
{
    setup();
    for (int i = 0; i < NCPU; i++) {
        wr(i, 0xf0, 0x1ff);
        wr(i, 0xd0, (1u << i) << 24);            /* flat logical: one bit each */
    }
    ipi(0, 2u << 24, 0x4050);                    /* physical to APIC 2 */
    CHECK_EQ(lapic_pending(cpu[2]->lapic), 0x50);
    CHECK_EQ(lapic_pending(cpu[1]->lapic), -1);
    CHECK_EQ(rd(0, 0x300) & (1u << 12), 0);      /* delivery status idle */
    CHECK_EQ(rd(0, 0x310), 2u << 24);
    lapic_ack(cpu[2]->lapic); wr(2, 0xb0, 0);

    ipi(0, 0x06u << 24, 0x4851);                 /* logical 0b110: APICs 1 and 2 */
    CHECK_EQ(lapic_pending(cpu[0]->lapic), -1);
    CHECK_EQ(lapic_pending(cpu[1]->lapic), 0x51);
    CHECK_EQ(lapic_pending(cpu[2]->lapic), 0x51);
    for (int i = 1; i < 3; i++) { lapic_ack(cpu[i]->lapic); wr(i, 0xb0, 0); }

    ipi(0, 0x06u << 24, 0x4952);                 /* lowest priority: one of them */
    int got = (lapic_pending(cpu[1]->lapic) == 0x52) + (lapic_pending(cpu[2]->lapic) == 0x52);
    CHECK_EQ(got, 1);
    for (int i = 1; i < 3; i++) { lapic_ack(cpu[i]->lapic); wr(i, 0xb0, 0); }

    ipi(1, 0, 0x44053);                          /* self */
    CHECK_EQ(lapic_pending(cpu[1]->lapic), 0x53);
    CHECK_EQ(lapic_pending(cpu[0]->lapic), -1);
    lapic_ack(cpu[1]->lapic); wr(1, 0xb0, 0);

    ipi(0, 0, 0xc4054);                          /* all but self */
    CHECK_EQ(lapic_pending(cpu[0]->lapic), -1);
    CHECK_EQ(lapic_pending(cpu[1]->lapic), 0x54);
    CHECK_EQ(lapic_pending(cpu[2]->lapic), 0x54);
    for (int i = 1; i < 3; i++) { lapic_ack(cpu[i]->lapic); wr(i, 0xb0, 0); }

    ipi(0, 0, 0x84055);                          /* all including self */
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(lapic_pending(cpu[i]->lapic), 0x55);
        lapic_ack(cpu[i]->lapic); wr(i, 0xb0, 0);
    }

    /* Cluster model: cluster 1, member bits. */
    for (int i = 0; i < NCPU; i++) {
        wr(i, 0xe0, 0x0fffffff);
        wr(i, 0xd0, (0x10u | (1u << i)) << 24);
    }
    ipi(0, 0x14u << 24, 0x4856);                 /* cluster 1, member bit 2 */
    CHECK_EQ(lapic_pending(cpu[2]->lapic), 0x56);
    CHECK_EQ(lapic_pending(cpu[1]->lapic), -1);
    ipi(0, 0x24u << 24, 0x4857);                 /* cluster 2: nobody */
    CHECK_EQ(lapic_pending(cpu[2]->lapic), 0x56);

    /* A fixed IPI with vector < 16 is a send error. */
    ipi(0, 1u << 24, 0x4005);
    wr(0, 0x280, 0);
    CHECK_EQ(rd(0, 0x280), 0x20);
    /* A hardware-disabled APIC accepts nothing. */
    cpu[1]->msr_apic_base &= ~0x800ULL;
    ipi(0, 1u << 24, 0x4058);
    cpu[1]->msr_apic_base |= 0x800ULL;
    CHECK_EQ(lapic_pending(cpu[1]->lapic), -1);
    teardown();
}

static void init_sipi_nmi(void)
{
    setup();
    take_events(1);
    ipi(0, 1u << 24, 0xc500);                    /* INIT, level assert */
    CHECK_EQ(take_events(1), EMU_EV_INIT);
    ipi(0, 1u << 24, 0x8500);                    /* INIT level de-assert: nothing */
    CHECK_EQ(take_events(1), 0);
    CHECK_EQ(take_sipi(1), -1);
    ipi(0, 1u << 24, 0x469a);                    /* STARTUP, vector 0x9a */
    CHECK_EQ(take_events(1), EMU_EV_SIPI);
    CHECK_EQ(take_sipi(1), 0x9a);
    CHECK_EQ(take_sipi(1), -1);
    ipi(0, 0, 0xc4400);                          /* NMI to all but self */
    CHECK_EQ(take_events(1), EMU_EV_NMI);
    CHECK_EQ(take_events(2), EMU_EV_NMI);
    CHECK_EQ(take_events(0), 0);
    /* INIT resets the APIC but keeps its ID. */
    wr(1, 0xf0, 0x1ff);
    wr(1, 0x80, 0x20);
    lapic_reset(cpu[1]->lapic);
    CHECK_EQ(rd(1, 0xf0), 0xff);
    CHECK_EQ(rd(1, 0x80), 0);
    CHECK_EQ(rd(1, 0x20), 1u << 24);
    /* MSI straight to APIC 2. */
    wr(2, 0xf0, 0x1ff);
    irqchip_msi(ic, 0xfee02000, 0x61);
    CHECK_EQ(lapic_pending(cpu[2]->lapic), 0x61);
    /* A stopping machine drops messages (its vCPUs are going away). */
    wr(1, 0xf0, 0x1ff);
    fixed(1, 0x63);
    CHECK_EQ(lapic_pending(cpu[1]->lapic), 0x63);
    lapic_ack(cpu[1]->lapic);
    wr(1, 0xb0, 0);
    atomic_store(&vm.stop, VM_STOP_POWEROFF);
    fixed(1, 0x62);
    CHECK_EQ(lapic_pending(cpu[1]->lapic), -1);
    teardown();
}

int main(void)
{
    RUN_TEST(registers_after_reset);
    RUN_TEST(priority_order_and_eoi);
    RUN_TEST(level_eoi_reaches_ioapic);
    RUN_TEST(pic_through_extint);
    RUN_TEST(timer_oneshot_periodic_deadline);
    RUN_TEST(ipi_routing);
    RUN_TEST(init_sipi_nmi);
    return CHECK_DONE();
}
