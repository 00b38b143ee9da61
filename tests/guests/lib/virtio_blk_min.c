/* The test guests' minimal virtio-blk driver (virtio_blk_min.h). */
#include "virtio_blk_min.h"

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc

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

static void w16(volatile uint8_t *p, unsigned off, uint16_t v) { *(volatile uint16_t *)(p + off) = v; }
static void w32(volatile uint8_t *p, unsigned off, uint32_t v) { *(volatile uint32_t *)(p + off) = v; }
static uint16_t r16(volatile uint8_t *p, unsigned off) { return *(volatile uint16_t *)(p + off); }
static uint32_t r32(volatile uint8_t *p, unsigned off) { return *(volatile uint32_t *)(p + off); }
static void w64(volatile uint8_t *p, unsigned off, uint64_t v)
{
    w32(p, off, (uint32_t)v);
    w32(p, off + 4, (uint32_t)(v >> 32));
}

void vblk_setup(struct vblk *b, struct vring *vr)
{
    int dev = -1;
    for (int d = 0; d < 32 && dev < 0; d++)
        if (cfg_read32(d, 0) == (0x1042u << 16 | 0x1af4u))
            dev = d;
    if (dev < 0)
        fail(1, "no virtio-blk (1af4:1042) on PCI bus 0: run with a --disk");
    cfg_write32(dev, 0x20, VBLK_BAR);        /* BAR 4, 64-bit, below 4 GiB */
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
    volatile uint8_t *bar = (volatile uint8_t *)(uintptr_t)VBLK_BAR;
    volatile uint8_t *common = bar + common_off;
    memset(vr, 0, sizeof(*vr));
    b->vr = vr;
    b->common = common;
    b->next_used = 0;
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
    if (r16(common, 0x18) < VBLK_QSIZE)
        fail(5, "virtio-blk queue 0 holds %u entries", r16(common, 0x18));
    w16(common, 0x18, VBLK_QSIZE);
    w64(common, 0x20, (uint64_t)(uintptr_t)vr->desc);
    w64(common, 0x28, (uint64_t)(uintptr_t)&vr->avail);
    w64(common, 0x30, (uint64_t)(uintptr_t)&vr->used);
    w16(common, 0x1a, 0xffff);               /* no MSI-X vector: we poll */
    w16(common, 0x1c, 1);
    b->notify_at = bar + notify_off + r16(common, 0x1e) * mult;
    common[0x14] = 1 | 2 | 8 | 4;            /* DRIVER_OK */
}

void vblk_submit(struct vblk *b, uint16_t head)
{
    struct vring *vr = b->vr;
    vr->avail.ring[vr->avail.idx % VBLK_QSIZE] = head;
    __asm__ volatile("" ::: "memory");
    vr->avail.idx++;
    __asm__ volatile("mfence" ::: "memory");
    *(volatile uint16_t *)b->notify_at = 0;
    b->next_used++;
}

uint8_t vblk_status(struct vblk *b)
{
    return b->common[0x14];
}
