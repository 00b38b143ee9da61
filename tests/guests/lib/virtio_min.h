/* A minimal modern virtio-pci driver for the test guests, for any device
 * type: finds the device by its PCI ID, puts BAR 4 where the guest says,
 * negotiates VERSION_1 only and sets up its first queues (VQ_SIZE entries
 * each, no interrupts: the guest polls).  The guest lays its own
 * descriptors, hostile ones included. */
#ifndef GUEST_VIRTIO_MIN_H
#define GUEST_VIRTIO_MIN_H

#include "guest.h"

#define VQ_SIZE    8
#define VQ_MAX     2               /* queues one driver sets up */
#define VIRTIO_STATUS_NEEDS_RESET 0x40
#define VIRTIO_ISR_CONFIG 0x2

/* PCI device IDs of the modern virtio devices (0x1040 + type). */
#define VIRTIO_PCI_NET     0x1041
#define VIRTIO_PCI_BLK     0x1042
#define VIRTIO_PCI_CONSOLE 0x1043
#define VIRTIO_PCI_RNG     0x1044

#define VDESC_NEXT  1
#define VDESC_WRITE 2

struct vdesc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct vring {
    struct vdesc desc[VQ_SIZE];
    struct { uint16_t flags, idx, ring[VQ_SIZE], event; } avail;
    uint8_t pad[2048];
    struct { uint16_t flags, idx; struct { uint32_t id, len; } ring[VQ_SIZE]; uint16_t event; } used;
} __attribute__((aligned(4096)));

struct vdev {
    int pci;                       /* device number on bus 0 */
    uint32_t bar;                  /* where BAR 4 is */
    uint32_t common_off, notify_off, isr_off, mult;
    volatile uint8_t *common, *isr;
    struct vring *vr[VQ_MAX];
    volatile uint16_t *notify[VQ_MAX];  /* each queue's doorbell */
    unsigned nq;
    uint16_t next_used[VQ_MAX];    /* used.idx once every submitted chain is back */
};

/* PCI configuration mechanism #1 on bus 0. */
uint32_t pci_cfg_read32(int dev, int off);
uint8_t pci_cfg_read8(int dev, int off);
void pci_cfg_write32(int dev, int off, uint32_t v);
/* The device number on bus 0 of the first 1af4:id, or -1. */
int pci_find(uint16_t id);

/* Resets the device with PCI ID id and sets it up afresh with BAR 4 at bar
 * and queues 0..nq-1 on rings[] (fail()s when it cannot). */
void vdev_setup(struct vdev *d, uint16_t id, uint32_t bar, struct vring **rings, unsigned nq);
/* Offers descriptor head as the next available chain of queue q and notifies. */
void vdev_submit(struct vdev *d, unsigned q, uint16_t head);
/* The device status register (NEEDS_RESET shows here). */
uint8_t vdev_status(struct vdev *d);
/* The ISR status (reading clears it): VIRTIO_ISR_CONFIG after a config change. */
uint8_t vdev_isr(struct vdev *d);
/* Waits for queue q: 1 when the device marked itself broken, 0 when every
 * submitted chain came back; fail()s when neither happens. */
int vdev_wait(struct vdev *d, unsigned q);

#endif
