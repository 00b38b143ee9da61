/* The test guests' minimal virtio-pci driver (virtio_min.h). */
#include "virtio_min.h"

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc

static uint32_t cfg_addr(int dev, int off)
{
    return 0x80000000u | (uint32_t)dev << 11 | (uint32_t)(off & 0xfc);
}
uint32_t pci_cfg_read32(int dev, int off)
{
    outl(PCI_ADDR, cfg_addr(dev, off));
    return inl(PCI_DATA);
}
uint8_t pci_cfg_read8(int dev, int off)
{
    outl(PCI_ADDR, cfg_addr(dev, off));
    return inb((uint16_t)(PCI_DATA + (off & 3)));
}
void pci_cfg_write32(int dev, int off, uint32_t v)
{
    outl(PCI_ADDR, cfg_addr(dev, off));
    outl(PCI_DATA, v);
}

int pci_find(uint16_t id)
{
    for (int d = 0; d < 32; d++)
        if (pci_cfg_read32(d, 0) == ((uint32_t)id << 16 | 0x1af4u))
            return d;
    return -1;
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

/* The offsets of the common, notify and ISR structures in BAR 4. */
static void find_caps(struct vdev *d)
{
    int found = 0;
    for (int cap = pci_cfg_read8(d->pci, 0x34); cap; cap = pci_cfg_read8(d->pci, cap + 1)) {
        if (pci_cfg_read8(d->pci, cap) != 0x09 || pci_cfg_read8(d->pci, cap + 4) != 4)
            continue;
        uint8_t type = pci_cfg_read8(d->pci, cap + 3);
        if (type == 1) {
            d->common_off = pci_cfg_read32(d->pci, cap + 8);
            found |= 1;
        } else if (type == 2) {
            d->notify_off = pci_cfg_read32(d->pci, cap + 8);
            d->mult = pci_cfg_read32(d->pci, cap + 16);
            found |= 2;
        } else if (type == 3) {
            d->isr_off = pci_cfg_read32(d->pci, cap + 8);
            found |= 4;
        }
    }
    if (found != 7)
        fail(2, "virtio %02x: no common, notify or ISR capability in BAR 4", d->pci);
}

void vdev_setup(struct vdev *d, uint16_t id, uint32_t bar, struct vring **rings, unsigned nq)
{
    d->pci = pci_find(id);
    if (d->pci < 0)
        fail(1, "no virtio device 1af4:%04x on PCI bus 0 (is the device on the command line?)", id);
    if (nq > VQ_MAX)
        fail(6, "vdev_setup: %u queues, at most %u", nq, VQ_MAX);
    d->bar = bar;
    pci_cfg_write32(d->pci, 0x20, bar);      /* BAR 4, 64-bit, below 4 GiB */
    pci_cfg_write32(d->pci, 0x24, 0);
    pci_cfg_write32(d->pci, 0x04, pci_cfg_read32(d->pci, 0x04) | 0x6);   /* memory, bus master */
    find_caps(d);
    volatile uint8_t *base = (volatile uint8_t *)(uintptr_t)bar;
    volatile uint8_t *common = base + d->common_off;
    d->common = common;
    d->isr = base + d->isr_off;
    d->nq = nq;
    common[0x14] = 0;                        /* reset */
    common[0x14] = 1 | 2;                    /* ACKNOWLEDGE, DRIVER */
    w32(common, 0x00, 1);
    if (!(r32(common, 0x04) & 1))
        fail(3, "virtio %04x does not offer VIRTIO_F_VERSION_1", id);
    w32(common, 0x08, 0);
    w32(common, 0x0c, 0);
    w32(common, 0x08, 1);
    w32(common, 0x0c, 1);                    /* VERSION_1 only */
    common[0x14] = 1 | 2 | 8;                /* FEATURES_OK */
    if (!(common[0x14] & 8))
        fail(4, "virtio %04x refused the features", id);
    for (unsigned q = 0; q < nq; q++) {
        struct vring *vr = rings[q];
        memset(vr, 0, sizeof(*vr));
        d->vr[q] = vr;
        d->next_used[q] = 0;
        w16(common, 0x16, (uint16_t)q);
        if (r16(common, 0x18) < VQ_SIZE)
            fail(5, "virtio %04x queue %u holds %u entries", id, q, r16(common, 0x18));
        w16(common, 0x18, VQ_SIZE);
        w64(common, 0x20, (uint64_t)(uintptr_t)vr->desc);
        w64(common, 0x28, (uint64_t)(uintptr_t)&vr->avail);
        w64(common, 0x30, (uint64_t)(uintptr_t)&vr->used);
        w16(common, 0x1a, 0xffff);           /* no MSI-X vector: we poll */
        w16(common, 0x1c, 1);
        d->notify[q] = (volatile uint16_t *)(base + d->notify_off + r16(common, 0x1e) * d->mult);
    }
    w16(common, 0x10, 0xffff);               /* nor for config changes */
    common[0x14] = 1 | 2 | 8 | 4;            /* DRIVER_OK */
}

void vdev_submit(struct vdev *d, unsigned q, uint16_t head)
{
    struct vring *vr = d->vr[q];
    vr->avail.ring[vr->avail.idx % VQ_SIZE] = head;
    __asm__ volatile("" ::: "memory");
    vr->avail.idx++;
    __asm__ volatile("mfence" ::: "memory");
    *d->notify[q] = (uint16_t)q;
    d->next_used[q]++;
}

uint8_t vdev_status(struct vdev *d)
{
    return d->common[0x14];
}

uint8_t vdev_isr(struct vdev *d)
{
    return *d->isr;
}

int vdev_wait(struct vdev *d, unsigned q)
{
    for (unsigned long spin = 0; spin < 400000000ul; spin++) {
        if (vdev_status(d) & VIRTIO_STATUS_NEEDS_RESET)
            return 1;
        if (*(volatile uint16_t *)&d->vr[q]->used.idx == d->next_used[q])
            return 0;
    }
    fail(20, "virtio %02x queue %u: the device neither answered nor asked for a reset", d->pci, q);
}
