/* dmacode: a virtio-blk read (device DMA) overwrites code the CPU has run
 * often enough for emu to translate it.  The disk (made by run_guests.sh)
 * holds in sector k the routine "mov $(0x5a000000 + k), %eax; ret".  A
 * minimal modern virtio-pci driver (no interrupts: it polls the used ring)
 * reads sectors into the page that holds the routine, again and again, and
 * each call after a read must run the code the device wrote. */
#include "lib/cpu64.h"

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc
#define BAR_ADDR 0xc0000000u          /* where BAR 4 goes (the board's PCI window) */
#define QSIZE 8

static uint32_t cfg_addr(int dev, int off)
{
    return 0x80000000u | (uint32_t)dev << 11 | (uint32_t)(off & 0xfc);
}
static uint32_t cfg_read32(int dev, int off)
{
    outl(PCI_ADDR, cfg_addr(dev, off));
    return inl(PCI_DATA);
}
static uint8_t cfg_read8(int dev, int off)
{
    outl(PCI_ADDR, cfg_addr(dev, off));
    return inb((uint16_t)(PCI_DATA + (off & 3)));
}
static void cfg_write32(int dev, int off, uint32_t v)
{
    outl(PCI_ADDR, cfg_addr(dev, off));
    outl(PCI_DATA, v);
}

struct vdesc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct vring {
    struct vdesc desc[QSIZE];
    struct { uint16_t flags, idx, ring[QSIZE], event; } avail;
    uint8_t pad[2048];
    struct { uint16_t flags, idx; struct { uint32_t id, len; } ring[QSIZE]; uint16_t event; } used;
} __attribute__((aligned(4096)));
static struct vring vr;
static struct { uint32_t type, reserved; uint64_t sector; } req;
static volatile uint8_t status;

/* The routine the CPU runs and the device overwrites, in a page of its own. */
static uint8_t code_page[4096] __attribute__((aligned(4096)));

static volatile uint8_t *common, *notify_at;

static void w16(volatile uint8_t *p, unsigned off, uint16_t v) { *(volatile uint16_t *)(p + off) = v; }
static void w32(volatile uint8_t *p, unsigned off, uint32_t v) { *(volatile uint32_t *)(p + off) = v; }
static uint16_t r16(volatile uint8_t *p, unsigned off) { return *(volatile uint16_t *)(p + off); }
static uint32_t r32(volatile uint8_t *p, unsigned off) { return *(volatile uint32_t *)(p + off); }
static void w64(volatile uint8_t *p, unsigned off, uint64_t v)
{
    w32(p, off, (uint32_t)v);
    w32(p, off + 4, (uint32_t)(v >> 32));
}

static void virtio_setup(void)
{
    int dev = -1;
    for (int d = 0; d < 32 && dev < 0; d++)
        if (cfg_read32(d, 0) == (0x1042u << 16 | 0x1af4u))
            dev = d;
    if (dev < 0)
        fail(1, "no virtio-blk (1af4:1042) on PCI bus 0: run with a --disk");
    cfg_write32(dev, 0x20, BAR_ADDR);        /* BAR 4, 64-bit, below 4 GiB */
    cfg_write32(dev, 0x24, 0);
    cfg_write32(dev, 0x04, cfg_read32(dev, 0x04) | 0x6);   /* memory space, bus master */
    uint32_t common_off = 0, notify_off = 0, mult = 0;
    int found = 0;
    for (int cap = cfg_read8(dev, 0x34); cap; cap = cfg_read8(dev, cap + 1)) {
        if (cfg_read8(dev, cap) != 0x09 || cfg_read8(dev, cap + 4) != 4)
            continue;
        uint8_t type = cfg_read8(dev, cap + 3);
        if (type == 1) {
            common_off = cfg_read32(dev, cap + 8);
            found |= 1;
        }
        if (type == 2) {
            notify_off = cfg_read32(dev, cap + 8);
            mult = cfg_read32(dev, cap + 16);
            found |= 2;
        }
    }
    if (found != 3)
        fail(2, "virtio-blk: no common or notify capability in BAR 4");
    volatile uint8_t *bar = (volatile uint8_t *)(uintptr_t)BAR_ADDR;
    common = bar + common_off;
    common[0x14] = 0;                        /* reset */
    common[0x14] = 1 | 2;                    /* ACKNOWLEDGE, DRIVER */
    w32(common, 0x00, 1);
    if (!(r32(common, 0x04) & 1))
        fail(3, "virtio-blk does not offer VIRTIO_F_VERSION_1");
    w32(common, 0x08, 0);
    w32(common, 0x0c, 0);
    w32(common, 0x08, 1);
    w32(common, 0x0c, 1);                    /* VERSION_1 only */
    common[0x14] = 1 | 2 | 8;                /* FEATURES_OK */
    if (!(common[0x14] & 8))
        fail(4, "virtio-blk refused the features");
    w16(common, 0x16, 0);                    /* queue 0 */
    if (r16(common, 0x18) < QSIZE)
        fail(5, "virtio-blk queue 0 holds %u entries", r16(common, 0x18));
    w16(common, 0x18, QSIZE);
    w64(common, 0x20, (uint64_t)(uintptr_t)vr.desc);
    w64(common, 0x28, (uint64_t)(uintptr_t)&vr.avail);
    w64(common, 0x30, (uint64_t)(uintptr_t)&vr.used);
    w16(common, 0x1a, 0xffff);               /* no MSI-X vector: we poll */
    w16(common, 0x1c, 1);
    notify_at = bar + notify_off + r16(common, 0x1e) * mult;
    common[0x14] = 1 | 2 | 8 | 4;            /* DRIVER_OK */
}

typedef uint32_t (*fn)(void);
static const fn routine = (fn)(uintptr_t)code_page;

/* Reads one sector into code_page through the device and waits for it,
 * running the routine meanwhile: it must return what was there before or
 * what the device writes (once the device is done, only that). */
static void read_sector(uint64_t sector, uint32_t before)
{
    static uint16_t next_used;
    req.type = 0;                            /* VIRTIO_BLK_T_IN */
    req.sector = sector;
    status = 0xff;
    vr.desc[0] = (struct vdesc){ (uint64_t)(uintptr_t)&req, 16, 1, 1 };
    vr.desc[1] = (struct vdesc){ (uint64_t)(uintptr_t)code_page, 512, 2 | 1, 2 };
    vr.desc[2] = (struct vdesc){ (uint64_t)(uintptr_t)&status, 1, 2, 0 };
    vr.avail.ring[vr.avail.idx % QSIZE] = 0;
    __asm__ volatile("" ::: "memory");
    vr.avail.idx++;
    __asm__ volatile("mfence" ::: "memory");
    *(volatile uint16_t *)notify_at = 0;
    next_used++;
    for (unsigned long spin = 0; *(volatile uint16_t *)&vr.used.idx != next_used; spin++) {
        uint32_t r = routine();
        if (r != before && r != 0x5a000000u + sector)
            fail(10, "while sector %lu is read over it, the routine returned %x", sector, r);
        if (spin > 200000000ul)
            fail(6, "virtio-blk: no answer to the read of sector %lu", sector);
    }
    if (status != 0)
        fail(7, "virtio-blk: read of sector %lu failed with status %u", sector, status);
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("dmacode: start\n");
    virtio_setup();

    /* First the CPU writes the routine itself. */
    static const uint8_t own[] = { 0xb8, 0x11, 0x11, 0x11, 0x11, 0xc3 };
    memcpy(code_page, own, sizeof(own));
    for (int k = 0; k < 200; k++)
        if (routine() != 0x11111111u)
            fail(8, "the routine the CPU wrote returned %x", routine());

    /* Then the device overwrites it, sector after sector; each version is
     * run enough times to be translated before the next read. */
    uint32_t before = 0x11111111u;
    for (unsigned round = 0; round < 300; round++) {
        uint64_t sector = round % 7;
        read_sector(sector, before);
        before = 0x5a000000u + (uint32_t)sector;
        for (int k = 0; k < 100; k++) {
            uint32_t r = routine();
            if (r != 0x5a000000u + sector)
                fail(9, "round %u, call %d after reading sector %lu: the routine returned %x, "
                     "the disk holds %x", round, k, sector, r, 0x5a000000u + (uint32_t)sector);
        }
    }
    gprintf("dma into code: 300 reads ok\n");
    gprintf("dmacode: ok\n");
}
