/* Unit tests for the 8259 pair and the IOAPIC, driven through the buses,
 * with an apic_bus that records the messages they send to local APICs. */
#include <errno.h>
#include <string.h>

#include "check.h"
#include "dev_harness.h"
#include "hw/irqchip.h"
#include "board/layout.h"

static struct apic_msg sent[64];
static int nsent;

static void record_deliver(void *opaque, const struct apic_msg *m)
{
    (void)opaque;
    if (nsent < 64)
        sent[nsent] = *m;
    nsent++;
}

static struct dev_harness dh;
static struct irqchip *ic;

/* Where the board puts the chips (board/layout.h). */
static struct irqchip_wiring wiring(void)
{
    return (struct irqchip_wiring){
        .pio = &dh.pio, .mmio = &dh.mmio, .pic_master = PORT_PIC_MASTER,
        .pic_slave = PORT_PIC_SLAVE, .elcr = PORT_ELCR, .ioapic_base = LAYOUT_IOAPIC,
        .apic = { .deliver = record_deliver, .opaque = &dh },
    };
}

static void setup(void)
{
    dev_harness_init(&dh);
    nsent = 0;
    struct irqchip_wiring w = wiring();
    int r = irqchip_create(&w, &ic);
    CHECK_EQ(r, 0);
}

static void teardown(void)
{
    irqchip_destroy(ic);
    dev_harness_destroy(&dh);
}

static void outb(uint16_t port, uint8_t v) { bus_write(&dh.pio, port, 1, v); }
static uint8_t inb(uint16_t port)
{
    uint64_t v;
    bus_read(&dh.pio, port, 1, &v);
    return (uint8_t)v;
}

static void pulse(unsigned irq)
{
    irqchip_set_irq(ic, irq, 1);
    irqchip_set_irq(ic, irq, 0);
}

/* The sequence Linux's init_8259A uses: master at 0x20, slave at 0x28. */
static void pic_init_linux(uint8_t icw4)
{
    outb(0x20, 0x11); outb(0x21, 0x20); outb(0x21, 0x04); outb(0x21, icw4);
    outb(0xa0, 0x11); outb(0xa1, 0x28); outb(0xa1, 0x02); outb(0xa1, icw4);
    outb(0x21, 0x00); outb(0xa1, 0x00);
}

static int extint_msgs(void)
{
    int n = 0;
    for (int i = 0; i < nsent && i < 64; i++)
        n += sent[i].delivery == APIC_DM_EXTINT;
    return n;
}

static void pic_priority_and_eoi(void)
{
    setup();
    pic_init_linux(0x01);
    CHECK(!irqchip_pic_pending(ic));
    pulse(3);
    CHECK(irqchip_pic_pending(ic));
    CHECK(extint_msgs() >= 1);             /* the BSP was woken */
    pulse(1);
    CHECK_EQ(irqchip_pic_ack(ic), 0x21);   /* IRQ1 outranks IRQ3 */
    CHECK(!irqchip_pic_pending(ic));       /* IRQ3 waits behind IRQ1 in service */
    pulse(0);
    CHECK(irqchip_pic_pending(ic));        /* IRQ0 outranks IRQ1 */
    CHECK_EQ(irqchip_pic_ack(ic), 0x20);
    outb(0x20, 0x0b);                      /* OCW3: read ISR */
    CHECK_EQ(inb(0x20), 0x03);
    outb(0x20, 0x20);                      /* non-specific EOI: IRQ0 */
    CHECK_EQ(inb(0x20), 0x02);
    CHECK(!irqchip_pic_pending(ic));
    outb(0x20, 0x61);                      /* specific EOI: IRQ1 */
    CHECK(irqchip_pic_pending(ic));
    CHECK_EQ(irqchip_pic_ack(ic), 0x23);
    outb(0x20, 0x63);
    CHECK_EQ(inb(0x20), 0x00);
    teardown();
}

static void pic_mask_and_irr(void)
{
    setup();
    pic_init_linux(0x01);
    outb(0x21, 0x10);                      /* OCW1: mask IRQ4 */
    CHECK_EQ(inb(0x21), 0x10);
    pulse(4);
    CHECK(!irqchip_pic_pending(ic));
    outb(0x20, 0x0a);                      /* OCW3: read IRR */
    CHECK_EQ(inb(0x20), 0x10);
    outb(0x21, 0x00);
    CHECK(irqchip_pic_pending(ic));
    CHECK_EQ(irqchip_pic_ack(ic), 0x24);
    CHECK_EQ(inb(0x20), 0x00);             /* edge request cleared by INTA */
    outb(0x20, 0x20);
    /* A masked cascade hides the whole slave. */
    outb(0x21, 0x04);
    pulse(8);
    CHECK(!irqchip_pic_pending(ic));
    outb(0x21, 0x00);
    CHECK(irqchip_pic_pending(ic));
    teardown();
}

static void pic_cascade_and_spurious(void)
{
    setup();
    pic_init_linux(0x01);
    pulse(8);
    CHECK(irqchip_pic_pending(ic));
    CHECK_EQ(irqchip_pic_ack(ic), 0x28);
    outb(0xa0, 0x0b);
    CHECK_EQ(inb(0xa0), 0x01);
    outb(0x20, 0x0b);
    CHECK_EQ(inb(0x20), 0x04);             /* the cascade is in service */
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    CHECK_EQ(inb(0x20), 0x00);
    /* INTA with nothing requested: the 8259 answers IR7. */
    CHECK_EQ(irqchip_pic_ack(ic), 0x27);
    outb(0x20, 0x0b);
    CHECK_EQ(inb(0x20), 0x00);             /* a spurious IRQ7 sets no ISR bit */
    teardown();
}

static void pic_level_via_elcr(void)
{
    setup();
    pic_init_linux(0x01);
    bus_write(&dh.pio, 0x4d0, 1, 0xff);
    CHECK_EQ(inb(0x4d0), 0xf8);            /* IRQ0-2 cannot be level */
    outb(0x4d1, 0x08);                     /* IRQ11 level */
    CHECK_EQ(inb(0x4d1), 0x08);
    irqchip_set_irq(ic, 11, 1);
    CHECK(irqchip_pic_pending(ic));
    CHECK_EQ(irqchip_pic_ack(ic), 0x2b);
    outb(0xa0, 0x20);
    outb(0x20, 0x20);
    CHECK(irqchip_pic_pending(ic));        /* still asserted: requested again */
    irqchip_set_irq(ic, 11, 0);
    CHECK(!irqchip_pic_pending(ic));
    teardown();
}

static void pic_auto_eoi_and_poll(void)
{
    setup();
    pic_init_linux(0x03);                  /* ICW4: 8086 mode, auto-EOI */
    pulse(5);
    CHECK_EQ(irqchip_pic_ack(ic), 0x25);
    outb(0x20, 0x0b);
    CHECK_EQ(inb(0x20), 0x00);             /* no ISR bit with auto-EOI */
    pulse(6);
    outb(0x20, 0x0c);                      /* OCW3: poll */
    CHECK_EQ(inb(0x20), 0x86);
    CHECK(!irqchip_pic_pending(ic));
    outb(0x20, 0x0c);
    CHECK_EQ(inb(0x20), 0x00);
    teardown();
}

static void pic_rotation_and_special_mask(void)
{
    setup();
    pic_init_linux(0x01);
    pulse(1);
    pulse(3);
    CHECK_EQ(irqchip_pic_ack(ic), 0x21);
    outb(0x20, 0xa0);                      /* rotate on non-specific EOI: IR1 lowest */
    pulse(1);
    CHECK_EQ(irqchip_pic_ack(ic), 0x23);   /* IR3 now outranks IR1 */
    outb(0x20, 0x20);
    CHECK_EQ(irqchip_pic_ack(ic), 0x21);
    outb(0x20, 0x20);
    outb(0x20, 0xc4);                      /* set priority: IR4 lowest, IR5 highest */
    pulse(4);
    pulse(6);
    pulse(5);
    CHECK_EQ(irqchip_pic_ack(ic), 0x25);
    CHECK_EQ(irqchip_pic_ack(ic), 0x27);   /* the rest rank below IR5: spurious IR7 */
    outb(0x20, 0x20);
    CHECK_EQ(irqchip_pic_ack(ic), 0x26);
    outb(0x20, 0x20);
    CHECK_EQ(irqchip_pic_ack(ic), 0x24);
    outb(0x20, 0x20);
    outb(0x20, 0xc7);                      /* back to IR0 highest */
    /* Special mask mode: a masked in-service IR no longer blocks lower ones. */
    pulse(3);
    CHECK_EQ(irqchip_pic_ack(ic), 0x23);
    pulse(5);
    CHECK(!irqchip_pic_pending(ic));
    outb(0x21, 0x08);                      /* mask IR3 */
    outb(0x20, 0x68);                      /* OCW3: set special mask */
    CHECK(irqchip_pic_pending(ic));
    CHECK_EQ(irqchip_pic_ack(ic), 0x25);
    outb(0x20, 0x65);                      /* specific EOI IR5 */
    outb(0x20, 0x48);                      /* clear special mask */
    outb(0x20, 0x63);
    outb(0x20, 0x0b);
    CHECK_EQ(inb(0x20), 0x00);
    teardown();
}

static void ioapic_wr(int reg, uint32_t v)
{
    bus_write(&dh.mmio, LAYOUT_IOAPIC, 4, reg);
    bus_write(&dh.mmio, LAYOUT_IOAPIC + 0x10, 4, v);
}

static uint32_t ioapic_rd(int reg)
{
    uint64_t v;
    bus_write(&dh.mmio, LAYOUT_IOAPIC, 4, reg);
    bus_read(&dh.mmio, LAYOUT_IOAPIC + 0x10, 4, &v);
    return (uint32_t)v;
}

static void ioapic_registers(void)
{
    setup();
    CHECK_EQ(ioapic_rd(0x01), 0x00170011);
    ioapic_wr(0x00, 0x02000000);
    CHECK_EQ(ioapic_rd(0x00), 0x02000000);
    CHECK_EQ(ioapic_rd(0x10), 0x00010000);          /* masked at reset */
    ioapic_wr(0x10 + 2 * 5, 0x0000f045);            /* try to set status + remote IRR */
    CHECK_EQ(ioapic_rd(0x10 + 2 * 5), 0x0000a045);
    ioapic_wr(0x11 + 2 * 5, 0xff000000);
    CHECK_EQ(ioapic_rd(0x11 + 2 * 5), 0xff000000);
    teardown();
}

static void ioapic_edge_and_mask(void)
{
    setup();
    ioapic_wr(0x10 + 2 * 4, 0x34);                  /* pin 4: vector 0x34, fixed, edge */
    ioapic_wr(0x11 + 2 * 4, 0x01000000);            /* APIC ID 1 */
    irqchip_set_irq(ic, 4, 1);
    int n = nsent;
    CHECK_EQ(n >= 1, 1);
    const struct apic_msg *m = &sent[n - 1];
    CHECK_EQ(m->vector, 0x34);
    CHECK_EQ(m->dest, 1);
    CHECK(!m->dest_logical);
    CHECK_EQ(m->delivery, APIC_DM_FIXED);
    CHECK(!m->level_triggered);
    irqchip_set_irq(ic, 4, 1);                      /* no edge: nothing new */
    int ioapic_before = nsent - extint_msgs();
    irqchip_set_irq(ic, 4, 0);
    irqchip_set_irq(ic, 4, 1);
    CHECK_EQ(nsent - extint_msgs(), ioapic_before + 1);
    irqchip_set_irq(ic, 4, 0);
    ioapic_wr(0x10 + 2 * 4, 0x10034);               /* masked */
    int before = nsent - extint_msgs();
    pulse(4);
    CHECK_EQ(nsent - extint_msgs(), before);
    /* ISA IRQ0 reaches pin 2. */
    ioapic_wr(0x10 + 2 * 2, 0x830);                 /* logical, vector 0x30 */
    ioapic_wr(0x11 + 2 * 2, 0x03000000);
    nsent = 0;
    pulse(0);
    CHECK_EQ(nsent, 1);                             /* PIC uninitialized: no EXTINT wake */
    CHECK_EQ(sent[0].vector, 0x30);
    CHECK(sent[0].dest_logical);
    CHECK_EQ(sent[0].dest, 3);
    teardown();
}

static void ioapic_level_remote_irr(void)
{
    setup();
    ioapic_wr(0x10 + 2 * 10, 0x803a);               /* level, vector 0x3a */
    irqchip_set_irq(ic, 10, 1);
    CHECK_EQ(nsent, 1);
    CHECK(sent[0].level_triggered);
    CHECK(ioapic_rd(0x10 + 2 * 10) & (1u << 14));   /* remote IRR */
    irqchip_set_irq(ic, 10, 1);
    CHECK_EQ(nsent, 1);                             /* waits for the EOI */
    irqchip_eoi(ic, 0x3a);
    CHECK_EQ(nsent, 2);                             /* still asserted: again */
    irqchip_set_irq(ic, 10, 0);
    irqchip_eoi(ic, 0x3a);
    CHECK_EQ(nsent, 2);
    CHECK(!(ioapic_rd(0x10 + 2 * 10) & (1u << 14)));
    /* Masked while asserted, delivered on unmask. */
    ioapic_wr(0x10 + 2 * 10, 0x1803a);
    irqchip_set_irq(ic, 10, 1);
    CHECK_EQ(nsent, 2);
    ioapic_wr(0x10 + 2 * 10, 0x803a);
    CHECK_EQ(nsent, 3);
    irqchip_eoi(ic, 0x99);                          /* another vector: no effect */
    CHECK(ioapic_rd(0x10 + 2 * 10) & (1u << 14));
    /* GSI 16-23 reach only the IOAPIC. */
    ioapic_wr(0x10 + 2 * 20, 0xa050);               /* level, active low, vector 0x50 */
    irqchip_set_irq(ic, 20, 1);
    CHECK_EQ(nsent, 4);
    CHECK_EQ(sent[3].vector, 0x50);
    irqchip_set_irq(ic, 24, 1);                     /* out of range: ignored */
    CHECK_EQ(nsent, 4);
    teardown();
}

static void msi_decodes(void)
{
    struct apic_msg m;
    CHECK_EQ(irqchip_msi_decode(0xfee01000, 0x0041, &m), 0);
    CHECK_EQ(m.dest, 1);
    CHECK(!m.dest_logical);
    CHECK_EQ(m.vector, 0x41);
    CHECK_EQ(m.delivery, APIC_DM_FIXED);
    CHECK(!m.level_triggered);
    CHECK(m.assert);
    CHECK_EQ(irqchip_msi_decode(0xfeeff004, 0xc142, &m), 0);
    CHECK_EQ(m.dest, 0xff);
    CHECK(m.dest_logical);
    CHECK_EQ(m.delivery, APIC_DM_LOWEST);
    CHECK(m.level_triggered);
    CHECK(m.assert);
    CHECK_EQ(irqchip_msi_decode(0xfee00000, 0x0400, &m), 0);
    CHECK_EQ(m.delivery, APIC_DM_NMI);
    CHECK_EQ(irqchip_msi_decode(0xfed00000, 0x41, &m), -EINVAL);
    setup();
    irqchip_msi(ic, 0xfee02000, 0x0051);
    CHECK_EQ(nsent, 1);
    CHECK_EQ(sent[0].dest, 2);
    CHECK_EQ(sent[0].vector, 0x51);
    irqchip_msi(ic, 0x12345000, 0x0051);            /* outside the window: dropped */
    CHECK_EQ(nsent, 1);
    teardown();
}

/* The board's connectors do what the direct calls do: a GSI as an
 * irq_line, the MSI sink, and the 8259 side of LINT0 for the emu LAPICs. */
static void board_connectors(void)
{
    setup();
    pic_init_linux(0x01);
    struct irq_line l4 = irqchip_line(ic, 4);
    CHECK_EQ(l4.n, 4);
    struct ext_intr x = irqchip_ext_intr(ic);
    CHECK(x.pending && x.ack && x.eoi);
    CHECK(!x.pending(x.opaque));
    irq_pulse(&l4);
    CHECK(x.pending(x.opaque));
    CHECK_EQ(x.ack(x.opaque), 0x24);
    CHECK(!x.pending(x.opaque));
    outb(0x20, 0x20);
    /* Through the IOAPIC (the 8259s masked, so only it sends): a level pin
     * waits for the EOI that ext_intr carries. */
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    ioapic_wr(0x10 + 2 * 10, 0x803a);
    struct irq_line l10 = irqchip_line(ic, 10);
    int n = nsent;
    irq_set(&l10, 1);
    CHECK_EQ(nsent, n + 1);
    CHECK_EQ(sent[n].vector, 0x3a);
    CHECK(ioapic_rd(0x10 + 2 * 10) & (1u << 14));
    irq_set(&l10, 0);
    x.eoi(x.opaque, 0x3a);
    CHECK(!(ioapic_rd(0x10 + 2 * 10) & (1u << 14)));
    /* MSIs go out as APIC messages; outside the window they are dropped. */
    struct msi_sink sink = irqchip_msi_sink(ic);
    n = nsent;
    msi_send(&sink, 0xfee03000, 0x0062);
    CHECK_EQ(nsent, n + 1);
    CHECK_EQ(sent[n].dest, 3);
    CHECK_EQ(sent[n].vector, 0x62);
    msi_send(&sink, 0x12345000, 0x0062);
    CHECK_EQ(nsent, n + 1);
    teardown();
}

/* The chips sit wherever the wiring puts them. */
static void wiring_places_the_chips(void)
{
    dev_harness_init(&dh);
    nsent = 0;
    struct irqchip_wiring w = wiring();
    w.pic_master = 0x120;
    w.pic_slave = 0x1a0;
    w.elcr = 0x5d0;
    w.ioapic_base = 0xfe000000;
    struct irqchip *x = NULL;
    CHECK_EQ(irqchip_create(&w, &x), 0);
    uint64_t v = 0;
    CHECK_EQ(bus_read(&dh.pio, 0x20, 1, &v), -ENOENT);
    CHECK_EQ(bus_read(&dh.mmio, LAYOUT_IOAPIC, 4, &v), -ENOENT);
    bus_write(&dh.pio, 0x121, 1, 0x5a);                  /* OCW1 on the moved master */
    CHECK_EQ(bus_read(&dh.pio, 0x121, 1, &v), 0);
    CHECK_EQ(v, 0x5a);
    CHECK_EQ(bus_read(&dh.pio, 0x5d0, 1, &v), 0);       /* ELCR */
    CHECK_EQ(bus_read(&dh.pio, 0x1a1, 1, &v), 0);       /* slave */
    bus_write(&dh.mmio, 0xfe000000, 4, 0x01);
    CHECK_EQ(bus_read(&dh.mmio, 0xfe000010, 4, &v), 0);
    CHECK_EQ(v, 0x00170011);                             /* IOAPIC version */
    irqchip_destroy(x);
    CHECK_EQ(dh.pio.count, 0);
    CHECK_EQ(dh.mmio.count, 0);
    dev_harness_destroy(&dh);
}

static void ranges_conflict_is_reported(void)
{
    dev_harness_init(&dh);
    static const struct bus_ops none = { 0 };
    CHECK_EQ(bus_register(&dh.mmio, LAYOUT_IOAPIC, 16, &none, NULL, "squatter"), 0);
    struct irqchip *x = NULL;
    struct irqchip_wiring w = wiring();
    CHECK_EQ(irqchip_create(&w, &x), -EEXIST);
    CHECK_EQ(dh.pio.count, 0);                      /* cleaned up its own ranges */
    CHECK_EQ(dh.mmio.count, 1);                     /* and left the other alone */
    dev_harness_destroy(&dh);
}

int main(void)
{
    RUN_TEST(pic_priority_and_eoi);
    RUN_TEST(pic_mask_and_irr);
    RUN_TEST(pic_cascade_and_spurious);
    RUN_TEST(pic_level_via_elcr);
    RUN_TEST(pic_auto_eoi_and_poll);
    RUN_TEST(pic_rotation_and_special_mask);
    RUN_TEST(ioapic_registers);
    RUN_TEST(ioapic_edge_and_mask);
    RUN_TEST(ioapic_level_remote_irr);
    RUN_TEST(msi_decodes);
    RUN_TEST(board_connectors);
    RUN_TEST(wiring_places_the_chips);
    RUN_TEST(ranges_conflict_is_reported);
    return CHECK_DONE();
}
