/* Unit tests for PCI configuration mechanism #1, the host bridge, BAR
 * sizing and placement, capabilities and shared INTx lines. */
#include <errno.h>

#include "check.h"
#include "dev_harness.h"
#include "hw/pci.h"
#include "board/layout.h"

static struct dev_harness dh;
static struct pci_bus *pbus;

/* A bus whose wiring says RAM is [0, 64 MiB) (fixed ranges), as the board's does. */
static void setup_ram(bool with_ram)
{
    dev_harness_init(&dh);
    struct pci_host_wiring w = {
        .pio = &dh.pio, .mmio = &dh.mmio, .config_port = PORT_PCI_CONFIG_ADDR,
        .intx = { dev_harness_line(&dh, PCI_IRQ_A), dev_harness_line(&dh, PCI_IRQ_B) },
        .msi = dev_harness_msi(&dh), .reset = dev_harness_stop(&dh),
        .fixed = { { 0, 64 << 20, "guest RAM" } }, .nfixed = with_ram,
    };
    CHECK_EQ(pci_bus_create(&w, &pbus), 0);
}

static void setup(void)
{
    setup_ram(false);
}

static void teardown(void)
{
    pci_bus_destroy(pbus);
    dev_harness_destroy(&dh);
}

static uint32_t cfg_addr(unsigned slot, unsigned reg)
{
    return 0x80000000u | slot << 11 | (reg & 0xfc);
}

static uint32_t cfg_read(unsigned slot, unsigned reg, unsigned size)
{
    pio_out(&dh, PORT_PCI_CONFIG_ADDR, 4, cfg_addr(slot, reg));
    return (uint32_t)pio_in(&dh, PORT_PCI_CONFIG_DATA + (reg & 3), size);
}

static void cfg_write(unsigned slot, unsigned reg, unsigned size, uint32_t v)
{
    pio_out(&dh, PORT_PCI_CONFIG_ADDR, 4, cfg_addr(slot, reg));
    pio_out(&dh, PORT_PCI_CONFIG_DATA + (reg & 3), size, v);
}

static void pci_host_bridge_ids(void)
{
    setup();
    CHECK_EQ(cfg_read(0, 0x00, 4), 0x12378086);
    CHECK_EQ(cfg_read(0, 0x08, 4) >> 8, 0x060000);
    CHECK_EQ(cfg_read(0, 0x0e, 1), 0x00);
    /* The address register reads back; Linux's probe byte-writes 0xcfb. */
    pio_out(&dh, PORT_PCI_CONFIG_ADDR, 4, 0x80000000);
    pio_out(&dh, PORT_PCI_CONFIG_ADDR + 3, 1, 0x01);
    CHECK_EQ(pio_in(&dh, PORT_PCI_CONFIG_ADDR, 4), 0x80000000);
    teardown();
}

static void pci_absent_devices_read_ones(void)
{
    setup();
    CHECK_EQ(cfg_read(5, 0x00, 4), 0xffffffff);
    CHECK_EQ(cfg_read(31, 0x00, 2), 0xffff);
    pio_out(&dh, PORT_PCI_CONFIG_ADDR, 4, 0x80010000);     /* bus 1 */
    CHECK_EQ(pio_in(&dh, PORT_PCI_CONFIG_DATA, 4), 0xffffffff);
    pio_out(&dh, PORT_PCI_CONFIG_ADDR, 4, 0x80000100);     /* function 1 */
    CHECK_EQ(pio_in(&dh, PORT_PCI_CONFIG_DATA, 4), 0xffffffff);
    pio_out(&dh, PORT_PCI_CONFIG_ADDR, 4, 0x00000000);     /* enable bit clear */
    CHECK_EQ(pio_in(&dh, PORT_PCI_CONFIG_DATA, 4), 0xffffffff);
    teardown();
}

static void pci_byte_and_word_access(void)
{
    setup();
    CHECK_EQ(cfg_read(0, 0x00, 1), 0x86);
    CHECK_EQ(cfg_read(0, 0x01, 1), 0x80);
    CHECK_EQ(cfg_read(0, 0x02, 2), 0x1237);
    CHECK_EQ(cfg_read(0, 0x03, 1), 0x12);
    cfg_write(0, 0x0d, 1, 0x40);                          /* latency timer */
    CHECK_EQ(cfg_read(0, 0x0c, 4) & 0xff00, 0x4000);
    cfg_write(0, 0x00, 2, 0xdead);                        /* read-only */
    CHECK_EQ(cfg_read(0, 0x00, 2), 0x8086);
    teardown();
}

/* A test device: reads return the offset within the BAR, plus a tag. */
static uint64_t tdev_read(void *opaque, uint64_t offset, unsigned size)
{
    (void)size;
    return (uintptr_t)opaque + offset;
}
static void tdev_write(void *opaque, uint64_t offset, unsigned size, uint64_t v)
{
    (void)opaque; (void)offset; (void)size; (void)v;
}
static const struct bus_ops tdev_ops = { .read = tdev_read, .write = tdev_write };
static int moves;
static uint64_t last_move;
static void tdev_bar_moved(struct pci_device *d, int bar, bool enabled, uint64_t addr)
{
    (void)d; (void)bar;
    moves++;
    last_move = enabled ? addr : 0;
}
static const struct pci_device_ops tdev_dops = { .bar_moved = tdev_bar_moved };

static void make_test_device(struct pci_device *d, int slot)
{
    pci_device_init(d, "test", 0x1af4, 0x1234, 0xff0000, 1);
    d->ops = &tdev_dops;
    CHECK_EQ(pci_device_set_bar(d, 0, PCI_BAR_MEM32, false, 4000, &tdev_ops, (void *)0x1000), 0);
    CHECK_EQ(pci_device_set_bar(d, 1, PCI_BAR_IO, false, 32, &tdev_ops, (void *)0x2000), 0);
    CHECK_EQ(pci_device_set_bar(d, 2, PCI_BAR_MEM64, true, 1 << 20, &tdev_ops, (void *)0x3000), 0);
    pci_device_set_intx_pin(d, 1);
    CHECK_EQ(pci_bus_add_device(pbus, d, slot), 0);
}

static void pci_bar_sizing(void)
{
    struct pci_device d;
    setup();
    make_test_device(&d, 3);
    CHECK_EQ(cfg_read(3, 0x00, 4), 0x12341af4);
    cfg_write(3, 0x10, 4, 0xffffffff);
    CHECK_EQ(cfg_read(3, 0x10, 4), 0xfffff000);           /* 4000 rounds to 4 KiB */
    cfg_write(3, 0x14, 4, 0xffffffff);
    CHECK_EQ(cfg_read(3, 0x14, 4), 0xffffffe1);           /* 32 bytes of I/O */
    cfg_write(3, 0x18, 4, 0xffffffff);
    cfg_write(3, 0x1c, 4, 0xffffffff);
    CHECK_EQ(cfg_read(3, 0x18, 4), 0xfff0000c);           /* 1 MiB, 64-bit, prefetchable */
    CHECK_EQ(cfg_read(3, 0x1c, 4), 0xffffffff);
    CHECK_EQ(cfg_read(3, 0x20, 4), 0);                     /* unused BAR */
    CHECK_EQ(cfg_read(3, 0x30, 4), 0);                     /* no expansion ROM */
    teardown();
}

static void pci_bar_placement_moves_ranges(void)
{
    struct pci_device d;
    uint64_t v;
    setup();
    make_test_device(&d, 3);
    moves = 0;
    cfg_write(3, 0x10, 4, 0xc0001000);
    cfg_write(3, 0x14, 4, 0xc000);
    cfg_write(3, 0x18, 4, 0x00000000);
    cfg_write(3, 0x1c, 4, 0x00000001);                    /* 4 GiB */
    CHECK_EQ(bus_read(&dh.mmio, 0xc0001010, 4, &v), -ENOENT);   /* decoding off */
    CHECK_EQ(moves, 0);
    cfg_write(3, 0x04, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_IO);
    CHECK_EQ(bus_read(&dh.mmio, 0xc0001010, 4, &v), 0);
    CHECK_EQ(v, 0x1010);
    CHECK_EQ(bus_read(&dh.pio, 0xc004, 1, &v), 0);
    CHECK_EQ(v, 0x2004);
    CHECK_EQ(bus_read(&dh.mmio, 0x100000020ULL, 4, &v), 0);
    CHECK_EQ(v, 0x3020);
    CHECK_EQ(moves, 3);
    cfg_write(3, 0x10, 4, 0xc0100000);                    /* move BAR 0 */
    CHECK_EQ(bus_read(&dh.mmio, 0xc0001010, 4, &v), -ENOENT);
    CHECK_EQ(bus_read(&dh.mmio, 0xc0100008, 4, &v), 0);
    CHECK_EQ(v, 0x1008);
    CHECK_EQ(last_move, 0xc0100000);
    CHECK_EQ(pci_device_bar_address(&d, 2), 0x100000000ULL);
    cfg_write(3, 0x04, 2, 0);
    CHECK_EQ(bus_read(&dh.mmio, 0xc0100008, 4, &v), -ENOENT);
    CHECK_EQ(bus_read(&dh.pio, 0xc004, 1, &v), -ENOENT);
    cfg_write(3, 0x04, 2, PCI_COMMAND_MEMORY);
    pci_bus_remove_device(pbus, &d);
    CHECK_EQ(bus_read(&dh.mmio, 0xc0100008, 4, &v), -ENOENT);
    CHECK_EQ(cfg_read(3, 0x00, 4), 0xffffffff);
    teardown();
}

/* A BAR the guest places over RAM stays off the bus (RAM wins, as on a
 * real chipset) and comes back when moved away; the log says so once. */
static void pci_bar_over_ram_stays_unmapped(void)
{
    struct pci_device d;
    uint64_t v;
    setup_ram(true);
    make_test_device(&d, 3);
    cfg_write(3, 0x04, 2, PCI_COMMAND_MEMORY);
    cfg_write(3, 0x10, 4, 0x00800000);                    /* 8 MiB: RAM */
    CHECK_EQ(bus_read(&dh.mmio, 0x00800010, 4, &v), -ENOENT);
    CHECK_EQ(last_move, 0);
    CHECK(d.bars[0].warned);
    cfg_write(3, 0x10, 4, 0x03fff000);                    /* its last page still overlaps */
    CHECK_EQ(bus_read(&dh.mmio, 0x03fff010, 4, &v), -ENOENT);
    cfg_write(3, 0x10, 4, 0x04000000);                    /* just past RAM: decodes */
    CHECK_EQ(bus_read(&dh.mmio, 0x04000010, 4, &v), 0);
    CHECK_EQ(v, 0x1010);
    CHECK_EQ(last_move, 0x04000000);
    cfg_write(3, 0x10, 4, 0x00800000);                    /* and over RAM again: off */
    CHECK_EQ(bus_read(&dh.mmio, 0x04000010, 4, &v), -ENOENT);
    CHECK_EQ(bus_read(&dh.mmio, 0x00800010, 4, &v), -ENOENT);
    cfg_write(3, 0x10, 4, 0xc0000000);
    CHECK_EQ(bus_read(&dh.mmio, 0xc0000010, 4, &v), 0);
    teardown();
}

/* A BAR placed over another device's stays off the bus (the first keeps
 * the range) and decodes once the other moves away, as on real hardware. */
static void pci_bar_over_another_waits_for_it(void)
{
    struct pci_device a, b;
    uint64_t v;
    setup();
    make_test_device(&a, 3);
    pci_device_init(&b, "second", 0x1af4, 0x1235, 0xff0000, 1);
    CHECK_EQ(pci_device_set_bar(&b, 0, PCI_BAR_MEM32, false, 4096, &tdev_ops, (void *)0x9000), 0);
    CHECK_EQ(pci_bus_add_device(pbus, &b, 4), 0);
    cfg_write(3, 0x10, 4, 0xc0001000);
    cfg_write(3, 0x04, 2, PCI_COMMAND_MEMORY);
    cfg_write(4, 0x10, 4, 0xc0001000);                    /* over a's BAR 0 */
    cfg_write(4, 0x04, 2, PCI_COMMAND_MEMORY);
    CHECK_EQ(bus_read(&dh.mmio, 0xc0001010, 4, &v), 0);
    CHECK_EQ(v, 0x1010);                                   /* a keeps it */
    CHECK(b.bars[0].warned);
    cfg_write(3, 0x10, 4, 0xc0100000);                    /* a moves away */
    CHECK_EQ(bus_read(&dh.mmio, 0xc0001010, 4, &v), 0);
    CHECK_EQ(v, 0x9010);                                   /* b decodes now */
    CHECK_EQ(bus_read(&dh.mmio, 0xc0100010, 4, &v), 0);
    CHECK_EQ(v, 0x1010);
    pci_bus_remove_device(pbus, &b);
    pci_bus_remove_device(pbus, &a);
    CHECK_EQ(bus_read(&dh.mmio, 0xc0001010, 4, &v), -ENOENT);
    teardown();
}

static void pci_capabilities(void)
{
    struct pci_device d;
    setup();
    pci_device_init(&d, "caps", 0x1af4, 0x1000, 0x020000, 0);
    int a = pci_device_add_capability(&d, 0x09, 16);
    int b = pci_device_add_capability(&d, 0x11, 12);
    CHECK_EQ(a, 0x40);
    CHECK_EQ(b, 0x50);
    CHECK_EQ(pci_bus_add_device(pbus, &d, -1), 0);
    CHECK_EQ(d.slot, 1);
    CHECK(cfg_read(1, 0x06, 2) & PCI_STATUS_CAP_LIST);
    CHECK_EQ(cfg_read(1, 0x34, 1), 0x40);
    CHECK_EQ(cfg_read(1, 0x40, 2), 0x5009);
    CHECK_EQ(cfg_read(1, 0x50, 2), 0x0011);
    for (int i = 0; i < 40; i++)
        pci_device_add_capability(&d, 0x09, 16);
    CHECK_EQ(pci_device_add_capability(&d, 0x09, 16), -ENOSPC);
    teardown();
}

static void pci_intx_shared_lines(void)
{
    struct pci_device d1, d2;
    setup();
    make_test_device(&d1, 2);                 /* slot 2, INTA: GSI 10 */
    make_test_device(&d2, 4);                 /* slot 4, INTA: GSI 10 too */
    CHECK_EQ(pci_intx_gsi(1, 1), 11);
    CHECK_EQ(pci_intx_gsi(2, 1), 10);
    CHECK_EQ(pci_intx_gsi(2, 2), 11);
    CHECK_EQ(pci_intx_gsi(3, 1), 11);
    CHECK_EQ(cfg_read(2, 0x3c, 2), 0x010a);   /* line 10, pin A */
    pci_device_set_irq(&d1, 1);
    CHECK_EQ(fake_irq_level[10], 1);
    CHECK(cfg_read(2, 0x06, 2) & PCI_STATUS_INTERRUPT);
    pci_device_set_irq(&d2, 1);
    pci_device_set_irq(&d1, 0);
    CHECK_EQ(fake_irq_level[10], 1);          /* d2 still holds it */
    cfg_write(4, 0x04, 2, PCI_COMMAND_INTX_DISABLE);
    CHECK_EQ(fake_irq_level[10], 0);
    cfg_write(4, 0x04, 2, 0);
    CHECK_EQ(fake_irq_level[10], 1);
    pci_device_set_irq(&d2, 0);
    CHECK_EQ(fake_irq_level[10], 0);
    teardown();
}

/* Each of the two shared lines reaches the irq_line the board gave for it. */
static void pci_intx_lines_reach_their_wiring(void)
{
    struct pci_device d3, d2;
    setup();
    make_test_device(&d3, 3);                 /* slot 3, INTA: GSI 11 */
    make_test_device(&d2, 2);                 /* slot 2, INTA: GSI 10 */
    CHECK_EQ(cfg_read(3, 0x3c, 1), PCI_IRQ_B);
    pci_device_set_irq(&d3, 1);
    CHECK_EQ(fake_irq_level[PCI_IRQ_B], 1);
    CHECK_EQ(fake_irq_level[PCI_IRQ_A], 0);
    pci_device_set_irq(&d2, 1);
    CHECK_EQ(fake_irq_level[PCI_IRQ_A], 1);
    pci_device_set_irq(&d3, 0);
    CHECK_EQ(fake_irq_level[PCI_IRQ_B], 0);
    CHECK_EQ(fake_irq_level[PCI_IRQ_A], 1);
    int calls = fake_irq_calls;
    pci_device_set_irq(&d2, 1);               /* no change: the line is not set again */
    CHECK_EQ(fake_irq_calls, calls);
    pci_device_set_irq(&d2, 0);
    CHECK_EQ(fake_irq_level[PCI_IRQ_A], 0);
    CHECK(pci_bus_msi(pbus)->send == dev_harness_msi_send);   /* where devices' MSIs go */
    teardown();
}

static bool hook_read(struct pci_device *d, unsigned off, unsigned size, uint32_t *v)
{
    (void)d;
    if (off < 0x80 || off >= 0x84)
        return false;
    *v = 0xdeadbeefu >> (8 * (off - 0x80));
    if (size < 4)
        *v &= (1u << (8 * size)) - 1;
    return true;
}
static unsigned hook_writes;
static void hook_write(struct pci_device *d, unsigned off, unsigned size, uint32_t v)
{
    (void)d; (void)size; (void)v;
    if (off == 0x80)
        hook_writes++;
}
static const struct pci_device_ops hook_ops = { .config_read = hook_read, .config_write = hook_write };

static void pci_config_hooks(void)
{
    struct pci_device d;
    setup();
    pci_device_init(&d, "hooks", 0x1af4, 0x1001, 0x010000, 0);
    d.ops = &hook_ops;
    CHECK_EQ(pci_bus_add_device(pbus, &d, 7), 0);
    CHECK_EQ(cfg_read(7, 0x80, 4), 0xdeadbeef);
    CHECK_EQ(cfg_read(7, 0x82, 2), 0xdead);
    CHECK_EQ(cfg_read(7, 0x84, 4), 0);                     /* not hooked: stored, 0 */
    cfg_write(7, 0x80, 4, 1);
    CHECK_EQ(hook_writes, 1);
    CHECK_EQ(cfg_read(7, 0x3c, 1), 0xff);                  /* no pin: no line */
    cfg_write(7, 0x3c, 1, 0x0b);                           /* the OS may write it */
    CHECK_EQ(cfg_read(7, 0x3c, 1), 0x0b);
    CHECK_EQ(pci_bus_add_device(pbus, &d, 7), -EEXIST);
    CHECK_EQ(pci_bus_add_device(pbus, &d, 32), -EINVAL);
    teardown();
}

static void pci_reset_control_register(void)
{
    setup();
    pio_out(&dh, 0xcf9, 1, 0x02);
    CHECK(!dev_harness_stopped(&dh));
    pio_out(&dh, 0xcf9, 1, 0x06);
    CHECK_EQ(atomic_load(&dh.stop_why), VM_STOP_RESET);
    teardown();
}

int main(void)
{
    RUN_TEST(pci_host_bridge_ids);
    RUN_TEST(pci_absent_devices_read_ones);
    RUN_TEST(pci_byte_and_word_access);
    RUN_TEST(pci_bar_sizing);
    RUN_TEST(pci_bar_placement_moves_ranges);
    RUN_TEST(pci_bar_over_ram_stays_unmapped);
    RUN_TEST(pci_bar_over_another_waits_for_it);
    RUN_TEST(pci_capabilities);
    RUN_TEST(pci_intx_shared_lines);
    RUN_TEST(pci_intx_lines_reach_their_wiring);
    RUN_TEST(pci_config_hooks);
    RUN_TEST(pci_reset_control_register);
    return CHECK_DONE();
}
