/* A minimal modern virtio-pci driver for the test guests: finds the first
 * virtio-blk, puts BAR 4 at VBLK_BAR, negotiates VERSION_1 only and sets
 * up queue 0 (VBLK_QSIZE entries, no interrupts: the guest polls).  The
 * guest lays its own descriptors, hostile ones included. */
#ifndef GUEST_VIRTIO_BLK_MIN_H
#define GUEST_VIRTIO_BLK_MIN_H

#include "guest.h"

#define VBLK_BAR   0xc0000000u     /* where BAR 4 goes (the board's PCI window) */
#define VBLK_QSIZE 8
#define VIRTIO_STATUS_NEEDS_RESET 0x40

struct vdesc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct vring {
    struct vdesc desc[VBLK_QSIZE];
    struct { uint16_t flags, idx, ring[VBLK_QSIZE], event; } avail;
    uint8_t pad[2048];
    struct { uint16_t flags, idx; struct { uint32_t id, len; } ring[VBLK_QSIZE]; uint16_t event; } used;
} __attribute__((aligned(4096)));

struct vblk {
    struct vring *vr;
    volatile uint8_t *common, *notify_at;
    uint16_t next_used;
};

/* Resets the device and sets it up afresh on vr (fail()s when it cannot). */
void vblk_setup(struct vblk *b, struct vring *vr);
/* Offers descriptor head as the next available chain and notifies. */
void vblk_submit(struct vblk *b, uint16_t head);
/* The device status register (NEEDS_RESET shows here). */
uint8_t vblk_status(struct vblk *b);

#endif
