/* A virtio-pci driver for unit tests: finds a device through PCI config
 * cycles, reads its capabilities, places BAR 4, negotiates features and sets
 * up queues in guest RAM, then submits requests like a guest would.  The
 * harness (dev_harness.h) records INTx levels and MSI messages. */
#ifndef HOSTEL_VIRTIO_TEST_DRIVER_H
#define HOSTEL_VIRTIO_TEST_DRIVER_H

#include <time.h>

#include "dev_harness.h"
#include "hw/pci.h"
#include "hw/virtio/virtio_pci.h"
#include "virtq_driver.h"
#include "board/layout.h"

#define VT_BAR_ADDR 0xe0000000ULL
#define VT_RAM      (8ULL << 20)

struct vt {
    struct dev_harness dh;
    struct pci_bus *bus;
    unsigned slot;
    unsigned common, notify, isr, device;   /* offsets in BAR 4 */
    unsigned notify_mult;
    int msix_cap;
    struct tq q[4];
};

/* The bus as the board wires it: INTx on lines PCI_IRQ_A and PCI_IRQ_B
 * (fake_irq_level), MSIs to the harness's sink (fake_msi_*). */
static inline void vt_init(struct vt *t)
{
    dev_harness_init(&t->dh);
    dev_harness_mem(&t->dh, VT_RAM);
    struct pci_host_wiring w = {
        .pio = &t->dh.pio, .mmio = &t->dh.mmio, .config_port = PORT_PCI_CONFIG_ADDR,
        .intx = { dev_harness_line(&t->dh, PCI_IRQ_A), dev_harness_line(&t->dh, PCI_IRQ_B) },
        .msi = dev_harness_msi(&t->dh), .reset = dev_harness_stop(&t->dh),
    };
    pci_bus_create(&w, &t->bus);
}

static inline void vt_destroy(struct vt *t)
{
    pci_bus_destroy(t->bus);
    dev_harness_destroy(&t->dh);
}

static inline uint32_t vt_cfg_read(struct vt *t, unsigned reg, unsigned size)
{
    pio_out(&t->dh, PORT_PCI_CONFIG_ADDR, 4, 0x80000000u | t->slot << 11 | (reg & 0xfc));
    return (uint32_t)pio_in(&t->dh, PORT_PCI_CONFIG_DATA + (reg & 3), size);
}

static inline void vt_cfg_write(struct vt *t, unsigned reg, unsigned size, uint32_t v)
{
    pio_out(&t->dh, PORT_PCI_CONFIG_ADDR, 4, 0x80000000u | t->slot << 11 | (reg & 0xfc));
    pio_out(&t->dh, PORT_PCI_CONFIG_DATA + (reg & 3), size, v);
}

static inline uint64_t vt_rd(struct vt *t, unsigned off, unsigned size)
{
    uint64_t v = 0;
    bus_read(&t->dh.mmio, VT_BAR_ADDR + off, size, &v);
    return v;
}

static inline void vt_wr(struct vt *t, unsigned off, unsigned size, uint64_t v)
{
    bus_write(&t->dh.mmio, VT_BAR_ADDR + off, size, v);
}

/* Finds the first virtio device with the given PCI device ID, walks its
 * capability list and maps BAR 4.  0 on success. */
static inline int vt_probe(struct vt *t, uint16_t device_id)
{
    for (t->slot = 0; t->slot < 32; t->slot++)
        if (vt_cfg_read(t, 0, 4) == ((uint32_t)device_id << 16 | 0x1af4))
            break;
    if (t->slot == 32)
        return -1;
    if (!(vt_cfg_read(t, PCI_STATUS, 2) & PCI_STATUS_CAP_LIST))
        return -2;
    t->common = t->notify = t->isr = t->device = ~0u;
    t->msix_cap = -1;
    unsigned p = vt_cfg_read(t, PCI_CAPABILITY_LIST, 1);
    for (int guard = 0; p && guard < 48; guard++) {
        unsigned id = vt_cfg_read(t, p, 1);
        if (id == 0x11) {
            t->msix_cap = (int)p;
        } else if (id == 0x09) {
            unsigned type = vt_cfg_read(t, p + 3, 1), bar = vt_cfg_read(t, p + 4, 1);
            unsigned off = vt_cfg_read(t, p + 8, 4);
            if (type != 5 && bar != 4)     /* PCI_CFG's bar is the driver's to set */
                return -3;
            if (type == 1) t->common = off;
            if (type == 2) { t->notify = off; t->notify_mult = vt_cfg_read(t, p + 16, 4); }
            if (type == 3) t->isr = off;
            if (type == 4) t->device = off;
        }
        p = vt_cfg_read(t, p + 1, 1);
    }
    if (t->common == ~0u || t->notify == ~0u || t->isr == ~0u)
        return -4;
    /* Size BAR 4 as a BIOS would, then place it. */
    vt_cfg_write(t, PCI_BAR0 + 16, 4, 0xffffffff);
    if ((vt_cfg_read(t, PCI_BAR0 + 16, 4) & 0x6) != 0x4)
        return -5;                                   /* not a 64-bit memory BAR */
    vt_cfg_write(t, PCI_BAR0 + 16, 4, (uint32_t)VT_BAR_ADDR);
    vt_cfg_write(t, PCI_BAR0 + 20, 4, 0);
    vt_cfg_write(t, PCI_COMMAND, 2, PCI_COMMAND_MEMORY | PCI_COMMAND_MASTER);
    return 0;
}

/* Common config register offsets. */
#define VT_DFSELECT 0x00
#define VT_DF       0x04
#define VT_GFSELECT 0x08
#define VT_GF       0x0c
#define VT_CONFIG_MSIX 0x10
#define VT_NUMQ     0x12
#define VT_STATUS   0x14
#define VT_GEN      0x15
#define VT_QSELECT  0x16
#define VT_QSIZE    0x18
#define VT_QMSIX    0x1a
#define VT_QENABLE  0x1c
#define VT_QNOTIFY  0x1e
#define VT_QDESC    0x20
#define VT_QDRIVER  0x28
#define VT_QDEVICE  0x30

static inline uint64_t vt_device_features(struct vt *t)
{
    vt_wr(t, t->common + VT_DFSELECT, 4, 0);
    uint64_t lo = vt_rd(t, t->common + VT_DF, 4);
    vt_wr(t, t->common + VT_DFSELECT, 4, 1);
    uint64_t hi = vt_rd(t, t->common + VT_DF, 4);
    return hi << 32 | lo;
}

/* Reset, ACKNOWLEDGE, DRIVER, features (returns the status read back after
 * FEATURES_OK). */
static inline uint8_t vt_negotiate(struct vt *t, uint64_t features)
{
    vt_wr(t, t->common + VT_STATUS, 1, 0);
    vt_wr(t, t->common + VT_STATUS, 1, 1);
    vt_wr(t, t->common + VT_STATUS, 1, 3);
    vt_wr(t, t->common + VT_GFSELECT, 4, 0);
    vt_wr(t, t->common + VT_GF, 4, (uint32_t)features);
    vt_wr(t, t->common + VT_GFSELECT, 4, 1);
    vt_wr(t, t->common + VT_GF, 4, (uint32_t)(features >> 32));
    vt_wr(t, t->common + VT_STATUS, 1, 3 | 8);
    return (uint8_t)vt_rd(t, t->common + VT_STATUS, 1);
}

/* Sets up queue n (size entries) at base in guest RAM, with an MSI-X vector. */
static inline int vt_setup_queue(struct vt *t, unsigned n, uint16_t size, uint64_t base,
                                 uint16_t vector)
{
    vt_wr(t, t->common + VT_QSELECT, 2, n);
    if (vt_rd(t, t->common + VT_QSIZE, 2) < size)
        return -1;
    tq_init(&t->q[n], &t->dh.mem, size, base);
    vt_wr(t, t->common + VT_QSIZE, 2, size);
    /* 64-bit registers written as two halves, as Linux does. */
    vt_wr(t, t->common + VT_QDESC, 4, (uint32_t)t->q[n].desc);
    vt_wr(t, t->common + VT_QDESC + 4, 4, t->q[n].desc >> 32);
    vt_wr(t, t->common + VT_QDRIVER, 8, t->q[n].avail);
    vt_wr(t, t->common + VT_QDEVICE, 8, t->q[n].used);
    vt_wr(t, t->common + VT_QMSIX, 2, vector);
    vt_wr(t, t->common + VT_QENABLE, 2, 1);
    return vt_rd(t, t->common + VT_QENABLE, 2) == 1 ? 0 : -2;
}

static inline void vt_driver_ok(struct vt *t)
{
    vt_wr(t, t->common + VT_STATUS, 1, 1 | 2 | 4 | 8);
}

static inline void vt_notify(struct vt *t, unsigned n)
{
    vt_wr(t, t->notify + n * t->notify_mult, 2, n);
}

/* Waits (up to a second) for the used ring of queue n to reach idx. */
static inline bool vt_wait_used(struct vt *t, unsigned n, uint16_t idx)
{
    for (int i = 0; i < 1000; i++) {
        if (tq_used_idx(&t->q[n]) == idx)
            return true;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return false;
}

/* Waits for a condition on an atomic counter to change. */
static inline bool vt_wait_msi(int count)
{
    for (int i = 0; i < 1000; i++) {
        if (fake_msi_count >= count)
            return true;
        nanosleep(&(struct timespec){0, 1000000}, NULL);
    }
    return false;
}

/* MSI-X: enable in the capability and program table entry v. */
static inline void vt_msix_enable(struct vt *t, unsigned nvec)
{
    uint32_t table = vt_cfg_read(t, (unsigned)t->msix_cap + 4, 4) & ~7u;
    for (unsigned v = 0; v < nvec; v++) {
        vt_wr(t, table + 16 * v, 4, 0xfee00000);
        vt_wr(t, table + 16 * v + 4, 4, 0);
        vt_wr(t, table + 16 * v + 8, 4, 0x40 + v);
        vt_wr(t, table + 16 * v + 12, 4, 0);          /* unmask */
    }
    vt_cfg_write(t, (unsigned)t->msix_cap + 2, 2, 0x8000);
}

#endif
