/* Unit tests for the 8254 PIT and port 0x61, with an IRQ 0 line that records
 * its edges.  Timing checks only say "never early" and wait a bounded time
 * for events; they do not depend on host speed. */
#include <stdatomic.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "dev_harness.h"
#include "hw/irqchip.h"
#include "hw/pit.h"
#include "board/layout.h"
#include "machine/timer.h"

#define MAX_EDGES 64
static _Atomic int edges;
static uint64_t edge_ns[MAX_EDGES];
static _Atomic int other_irqs;

/* The PIT's IRQ 0 line: rising edges are timed; a line other than 0 would
 * mean the PIT raised a line it was not given. */
static void record_irq(void *opaque, unsigned n, int level)
{
    (void)opaque;
    if (n != IRQ_PIT) {
        atomic_fetch_add(&other_irqs, 1);
        return;
    }
    if (level) {
        int e = atomic_load(&edges);
        if (e < MAX_EDGES)
            edge_ns[e] = timer_now_ns();
        atomic_store(&edges, e + 1);
    }
}

static const struct irq_line irq0_line = { .set = record_irq, .n = IRQ_PIT };
static struct dev_harness dh;
static struct pit *pit;

static void setup(void)
{
    dev_harness_init(&dh);
    atomic_store(&edges, 0);
    atomic_store(&other_irqs, 0);
    CHECK_EQ(pit_create(&dh.pio, PORT_PIT, PORT_SYSCTL, &dh.clock, irq0_line, NULL, &pit), 0);
}

static void teardown(void)
{
    pit_destroy(pit);
    dev_harness_destroy(&dh);
}

static void outb(uint16_t port, uint8_t v) { bus_write(&dh.pio, port, 1, v); }
static uint8_t inb(uint16_t port)
{
    uint64_t v;
    bus_read(&dh.pio, port, 1, &v);
    return (uint8_t)v;
}

static bool wait_edges(int n, int max_ms)
{
    for (int i = 0; i < max_ms; i++) {
        if (atomic_load(&edges) >= n)
            return true;
        usleep(1000);
    }
    return atomic_load(&edges) >= n;
}

static void mode2_periodic_irq0(void)
{
    setup();
    const unsigned count = 5966;                 /* 5 ms */
    const uint64_t period = 5000000;
    uint64_t t0 = timer_now_ns();
    outb(0x43, 0x34);                            /* ch0, lobyte/hibyte, mode 2 */
    outb(0x40, count & 0xff);
    outb(0x40, count >> 8);
    CHECK(wait_edges(6, 5000));
    int n = atomic_load(&edges);
    CHECK(n >= 6);
    if (n >= 6) {
        /* Never early: edge k comes no sooner than k periods after programming. */
        for (int k = 0; k < 6; k++)
            CHECK(edge_ns[k] + 100000 >= t0 + (uint64_t)(k + 1) * period);
        /* The counter agrees: mid-period it is between 1 and the count. */
        outb(0x43, 0x00);
        uint8_t lo = inb(0x40);
        uint16_t v = (uint16_t)(lo | inb(0x40) << 8);
        CHECK(v >= 1 && v <= count);
    }
    CHECK_EQ(atomic_load(&other_irqs), 0);
    /* A new mode word stops the channel and disarms the timer. */
    outb(0x43, 0x34);
    usleep(2000);
    int stopped = atomic_load(&edges);
    usleep(30000);
    CHECK_EQ(atomic_load(&edges), stopped);
    teardown();
}

static void mode0_oneshot_fires_once(void)
{
    setup();
    outb(0x43, 0x30);                            /* ch0, mode 0 */
    outb(0x40, 0xa9);
    outb(0x40, 0x04);                            /* 1193: 1 ms */
    CHECK(wait_edges(1, 5000));
    usleep(20000);
    CHECK_EQ(atomic_load(&edges), 1);
    /* Mode 4 (Linux's one-shot clockevent) too. */
    outb(0x43, 0x38);
    outb(0x40, 0xa9);
    outb(0x40, 0x04);
    CHECK(wait_edges(2, 5000));
    usleep(20000);
    CHECK_EQ(atomic_load(&edges), 2);
    teardown();
}

static uint16_t latch_read(int ch)
{
    outb(0x43, (uint8_t)(ch << 6));              /* latch command */
    uint8_t lo = inb(0x40 + ch);
    uint8_t hi = inb(0x40 + ch);
    return (uint16_t)(lo | hi << 8);
}

static void counter_counts_down_and_latches(void)
{
    setup();
    outb(0x43, 0xb0);                            /* ch2 mode 0, gate low: paused */
    outb(0x42, 0xff);
    outb(0x42, 0xff);
    uint16_t a = latch_read(2);
    usleep(3000);
    CHECK_EQ(latch_read(2), a);                  /* the gate holds it */
    outb(0x61, 0x01);                            /* gate 2 high */
    usleep(3000);
    uint16_t b = latch_read(2);
    CHECK(b < a);
    CHECK(a - b >= 3000 * 1193 / 1000 - 50);     /* at least 3 ms of ticks */
    /* A latched value stays put until both bytes are read. */
    outb(0x43, 0x80);
    uint8_t lo = inb(0x42);
    usleep(2000);
    uint8_t hi = inb(0x42);
    uint16_t c = (uint16_t)(lo | hi << 8);
    CHECK(c <= b);
    CHECK(latch_read(2) != c);                   /* it moved on meanwhile */
    /* read-back: status of channel 2 (mode 0, word access, OUT low). */
    outb(0x43, 0xe8);
    uint8_t st = inb(0x42);
    CHECK_EQ(st & 0x3f, 0x30);
    CHECK_EQ(st & 0x80, 0);
    CHECK_EQ(st & 0x40, 0);                      /* count loaded */
    teardown();
}

static void channel2_oneshot_out_via_port61(void)
{
    setup();
    outb(0x61, (inb(0x61) & ~0x02) | 0x01);      /* gate high, speaker off */
    CHECK_EQ(inb(0x61) & 0x03, 0x01);
    const unsigned count = 5966;                 /* 5 ms, as pit_calibrate_tsc does */
    outb(0x43, 0xb0);
    outb(0x42, count & 0xff);
    uint64_t t0 = timer_now_ns();
    outb(0x42, count >> 8);
    CHECK_EQ(inb(0x61) & 0x20, 0);
    uint64_t t1 = t0;
    int polls = 0;
    while (!(inb(0x61) & 0x20) && polls < 2000) {
        usleep(500);
        polls++;
    }
    t1 = timer_now_ns();
    CHECK(inb(0x61) & 0x20);
    CHECK(t1 - t0 + 1000 >= 5000000ULL);         /* OUT2 never rises early */
    CHECK_EQ(atomic_load(&edges), 0);            /* channel 2 has no IRQ */
    /* The refresh bit toggles. */
    bool seen0 = false, seen1 = false;
    for (int i = 0; i < 1000 && !(seen0 && seen1); i++) {
        if (inb(0x61) & 0x10) seen1 = true; else seen0 = true;
        if (i % 10 == 9)
            usleep(7);
    }
    CHECK(seen0 && seen1);
    teardown();
}

static void mode1_waits_for_gate_trigger(void)
{
    setup();
    outb(0x61, 0x00);
    outb(0x43, 0xb2);                            /* ch2 mode 1 */
    outb(0x42, 0xa9);
    outb(0x42, 0x04);
    usleep(3000);
    CHECK(inb(0x61) & 0x20);                     /* not triggered: OUT high */
    outb(0x61, 0x01);                            /* trigger */
    CHECK_EQ(inb(0x61) & 0x20, 0);
    int polls = 0;
    while (!(inb(0x61) & 0x20) && polls++ < 2000)
        usleep(500);
    CHECK(inb(0x61) & 0x20);
    teardown();
}

/* With our own irqchip: IRQ 0 reaches IOAPIC pin 2 and the 8259's IR0. */
static _Atomic int msgs_fixed30, msgs_extint;

static void count_deliver(void *opaque, const struct apic_msg *m)
{
    (void)opaque;
    if (m->delivery == APIC_DM_EXTINT)
        atomic_fetch_add(&msgs_extint, 1);
    else if (m->vector == 0x30)
        atomic_fetch_add(&msgs_fixed30, 1);
}

static struct irqchip_wiring chip_wiring(void)
{
    return (struct irqchip_wiring){
        .pio = &dh.pio, .mmio = &dh.mmio, .pic_master = PORT_PIC_MASTER,
        .pic_slave = PORT_PIC_SLAVE, .elcr = PORT_ELCR, .ioapic_base = LAYOUT_IOAPIC,
        .apic = { .deliver = count_deliver },
    };
}

static bool wait_count(_Atomic int *v, int n)
{
    for (int i = 0; i < 5000 && atomic_load(v) < n; i++)
        usleep(1000);
    return atomic_load(v) >= n;
}

static void pit_through_our_irqchip(void)
{
    struct irqchip *ic;
    dev_harness_init(&dh);
    struct irqchip_wiring w = chip_wiring();
    CHECK_EQ(irqchip_create(&w, &ic), 0);
    CHECK_EQ(pit_create(&dh.pio, PORT_PIT, PORT_SYSCTL, &dh.clock, irqchip_line(ic, IRQ_PIT), ic,
                        &pit), 0);
    /* 8259: vectors 0x20/0x28, everything but IR0 masked. */
    uint8_t seq[][2] = { { 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 }, { 0x21, 0x01 },
                         { 0xa0, 0x11 }, { 0xa1, 0x28 }, { 0xa1, 0x02 }, { 0xa1, 0x01 },
                         { 0x21, 0xfe }, { 0xa1, 0xff } };
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
        outb(seq[i][0], seq[i][1]);
    /* IOAPIC pin 2: vector 0x30, edge, to APIC 0. */
    bus_write(&dh.mmio, LAYOUT_IOAPIC, 4, 0x14);
    bus_write(&dh.mmio, LAYOUT_IOAPIC + 0x10, 4, 0x30);
    outb(0x43, 0x34);
    outb(0x40, 0x9c);
    outb(0x40, 0x2e);                            /* 11932: 10 ms, Linux at HZ=100 */
    CHECK(wait_count(&msgs_fixed30, 2));
    CHECK(wait_count(&msgs_extint, 1));
    CHECK(irqchip_pic_pending(ic));
    CHECK_EQ(irqchip_pic_ack(ic), 0x20);
    outb(0x20, 0x20);
    int e = atomic_load(&msgs_extint);
    CHECK(wait_count(&msgs_extint, e + 1));      /* the next tick raises INT again */
    outb(0x43, 0x30);                            /* stop before tearing down */
    pit_destroy(pit);
    irqchip_destroy(ic);
    dev_harness_destroy(&dh);
}

/* While IRQ 0 is masked in both controllers the channel runs unseen, with
 * no host timer; unmasking brings the interrupts back. */
static void masked_irq0_parks_the_timer(void)
{
    setup();
    struct irqchip *ic;
    struct irqchip_wiring w = chip_wiring();
    CHECK_EQ(irqchip_create(&w, &ic), 0);        /* masks are read from it; */
    pit_destroy(pit);                            /* pulses still go to record_irq */
    CHECK_EQ(pit_create(&dh.pio, PORT_PIT, PORT_SYSCTL, &dh.clock, irq0_line, ic, &pit), 0);
    outb(0x43, 0x34);
    outb(0x40, 0x4e);
    outb(0x40, 0x17);                            /* 5966: 5 ms */
    CHECK(wait_edges(1, 5000));
    usleep(40000);
    CHECK_EQ(atomic_load(&edges), 1);            /* one edge (the 8259 may latch it), then parked */
    bus_write(&dh.mmio, LAYOUT_IOAPIC, 4, 0x14); /* unmask IOAPIC pin 2 */
    bus_write(&dh.mmio, LAYOUT_IOAPIC + 0x10, 4, 0x30);
    CHECK(wait_edges(4, 5000));
    bus_write(&dh.mmio, LAYOUT_IOAPIC + 0x10, 4, 0x10030);
    /* Parked once 30 ms (six periods) pass without an edge. */
    int n = -1;
    bool parked = false;
    for (int i = 0; i < 20 && !parked; i++) {
        n = atomic_load(&edges);
        usleep(30000);
        parked = atomic_load(&edges) == n;
    }
    CHECK(parked);
    /* The 8259 counts too: initializing it with IR0 open resumes the ticks. */
    uint8_t seq[][2] = { { 0x20, 0x11 }, { 0x21, 0x20 }, { 0x21, 0x04 }, { 0x21, 0x01 },
                         { 0x21, 0xfe } };
    for (size_t i = 0; i < sizeof(seq) / sizeof(seq[0]); i++)
        outb(seq[i][0], seq[i][1]);
    CHECK(wait_edges(n + 2, 5000));
    outb(0x43, 0x30);
    pit_destroy(pit);
    pit = NULL;
    irqchip_destroy(ic);
    dev_harness_destroy(&dh);
}

int main(void)
{
    RUN_TEST(mode2_periodic_irq0);
    RUN_TEST(mode0_oneshot_fires_once);
    RUN_TEST(counter_counts_down_and_latches);
    RUN_TEST(channel2_oneshot_out_via_port61);
    RUN_TEST(mode1_waits_for_gate_trigger);
    RUN_TEST(pit_through_our_irqchip);
    RUN_TEST(masked_irq0_parks_the_timer);
    return CHECK_DONE();
}
