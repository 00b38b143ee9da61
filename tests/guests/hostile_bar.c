/* hostile_bar: a guest that places a PCI BAR where it must not decode
 * (issue 20): over its own RAM, over the local APIC, over the IOAPIC, and
 * over another device's BAR.  RAM stays RAM (a pattern written before reads
 * back after, and writes there land in RAM, not in the device), the
 * interrupt controllers stay themselves, the device whose BAR was there
 * first keeps it; then the guest moves the BAR back and the device works
 * (tests/machines/run_hostile.sh checks hostel's one log line per BAR). */
#include "lib/cpu64.h"
#include "lib/virtio_min.h"

#define RNG_BAR     0xc0300000u
#define CONSOLE_BAR 0xc0200000u
#define RAM_PAGE    0x800000u            /* 8 MiB: RAM the guest does not otherwise use */
#define LAPIC       0xfee00000u
#define IOAPIC      0xfec00000u

static struct vring rings[VQ_MAX];
static struct vdev rng, con;
static uint8_t buf[64];

static volatile uint32_t *at(uint32_t addr)
{
    return (volatile uint32_t *)(uintptr_t)addr;
}

static void rng_setup(void)
{
    struct vring *r[1] = { &rings[0] };
    vdev_setup(&rng, VIRTIO_PCI_RNG, RNG_BAR, r, 1);
}

/* One 64-byte request; fail()s unless the device fills it. */
static void rng_works(const char *when)
{
    memset(buf, 0, sizeof(buf));
    rng.vr[0]->desc[0] = (struct vdesc){ (uint64_t)(uintptr_t)buf, sizeof(buf), VDESC_WRITE, 0 };
    vdev_submit(&rng, 0, 0);
    if (vdev_wait(&rng, 0))
        fail(30, "rng %s: the device asked for a reset", when);
    unsigned nonzero = 0;
    for (unsigned i = 0; i < sizeof(buf); i++)
        nonzero += buf[i] != 0;
    if (nonzero < 32)
        fail(31, "rng %s: %u of 64 bytes not zero", when, nonzero);
    gprintf("hostile-bar: rng works %s\n", when);
}

/* BAR 4 (64-bit) of the rng at addr, memory decoding left on. */
static void move_rng_bar(uint32_t addr)
{
    pci_cfg_write32(rng.pci, 0x20, addr);
    pci_cfg_write32(rng.pci, 0x24, 0);
}

static uint32_t pattern(unsigned i, uint32_t seed)
{
    return (i + seed) * 0x9e3779b1u;
}

static void over_ram(void)
{
    for (unsigned i = 0; i < 1024; i++)
        at(RAM_PAGE)[i] = pattern(i, 1);
    move_rng_bar(RAM_PAGE);
    for (unsigned i = 0; i < 1024; i++)
        if (at(RAM_PAGE)[i] != pattern(i, 1))
            fail(32, "RAM under a BAR: word %u reads 0x%x, not 0x%x", i, at(RAM_PAGE)[i],
                 pattern(i, 1));
    /* Writes there, the device's status register among them (a reset if
     * the BAR decoded), land in RAM. */
    for (unsigned i = 0; i < 1024; i++)
        at(RAM_PAGE)[i] = pattern(i, 2);
    for (unsigned i = 0; i < 1024; i++)
        if (at(RAM_PAGE)[i] != pattern(i, 2))
            fail(33, "RAM under a BAR: word %u did not keep what was written", i);
    gprintf("hostile-bar: over-ram: RAM stays RAM\n");
}

static void over_lapic(void)
{
    uint32_t version = at(LAPIC + 0x30)[0], id = at(LAPIC + 0x20)[0];
    move_rng_bar(LAPIC);
    if (at(LAPIC + 0x30)[0] != version || at(LAPIC + 0x20)[0] != id)
        fail(34, "a BAR over the LAPIC: version 0x%x -> 0x%x, id 0x%x -> 0x%x", version,
             at(LAPIC + 0x30)[0], id, at(LAPIC + 0x20)[0]);
    gprintf("hostile-bar: over-lapic: the LAPIC stays (version 0x%x)\n", version);
}

static uint32_t ioapic_read(unsigned reg)
{
    at(IOAPIC)[0] = reg;
    return at(IOAPIC + 0x10)[0];
}

static void over_ioapic(void)
{
    uint32_t version = ioapic_read(1);
    move_rng_bar(IOAPIC);
    if (ioapic_read(1) != version)
        fail(35, "a BAR over the IOAPIC: version 0x%x -> 0x%x", version, ioapic_read(1));
    gprintf("hostile-bar: over-ioapic: the IOAPIC stays (version 0x%x)\n", version);
}

/* The rng's BAR over the console's: the console, there first, keeps it
 * (its common config says 2 queues; the rng's would say 1). */
static void over_another(void)
{
    struct vring *r[2] = { &rings[0], &rings[1] };
    vdev_setup(&con, VIRTIO_PCI_CONSOLE, CONSOLE_BAR, r, 2);
    volatile uint16_t *num_queues = (volatile uint16_t *)(uintptr_t)(CONSOLE_BAR + con.common_off + 0x12);
    if (*num_queues != 2)
        fail(36, "the console's BAR says %u queues before anything moved", *num_queues);
    move_rng_bar(CONSOLE_BAR);
    if (*num_queues != 2)
        fail(37, "the rng's BAR over the console's took it: %u queues", *num_queues);
    static const char hello[] = "hostile-bar: console works beside an overlapping BAR\n";
    con.vr[1]->desc[0] = (struct vdesc){ (uint64_t)(uintptr_t)hello, sizeof(hello) - 1, 0, 0 };
    vdev_submit(&con, 1, 0);
    if (vdev_wait(&con, 1))
        fail(38, "the console asked for a reset after a BAR landed on its own");
    gprintf("hostile-bar: over-another: the first device keeps its BAR\n");
    /* The console moves away: the rng's BAR, still there, decodes now (its
     * common config says 1 queue). */
    pci_cfg_write32(con.pci, 0x20, CONSOLE_BAR + 0x200000);
    if (*num_queues != 1)
        fail(39, "the console's BAR moved away, yet the rng's does not decode there (%u queues)",
             *num_queues);
    gprintf("hostile-bar: over-another: the second decodes once the first moves away\n");
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("hostile-bar: start\n");
    rng_setup();
    rng_works("before");
    over_ram();
    rng_setup();                             /* moved back: it works */
    rng_works("after over-ram");
    over_lapic();
    rng_setup();
    rng_works("after over-lapic");
    over_ioapic();
    rng_setup();
    rng_works("after over-ioapic");
    over_another();
    rng_setup();
    rng_works("after over-another");
    gprintf("hostile-bar: ok\n");
}
