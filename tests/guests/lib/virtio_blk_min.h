/* The test guests' virtio-blk, on the minimal driver (virtio_min.h): BAR 4
 * at VBLK_BAR, queue 0 only. */
#ifndef GUEST_VIRTIO_BLK_MIN_H
#define GUEST_VIRTIO_BLK_MIN_H

#include "virtio_min.h"

#define VBLK_BAR   0xc0000000u     /* where BAR 4 goes (the board's PCI window) */
#define VBLK_QSIZE VQ_SIZE

struct vblk {
    struct vdev dev;
    uint16_t next_used;            /* queue 0's used.idx once all came back */
};

/* Resets the device and sets it up afresh on vr (fail()s when it cannot). */
void vblk_setup(struct vblk *b, struct vring *vr);
/* Offers descriptor head as the next available chain and notifies. */
void vblk_submit(struct vblk *b, uint16_t head);
/* The device status register (NEEDS_RESET shows here). */
uint8_t vblk_status(struct vblk *b);

#endif
