/* The test guests' virtio-blk (virtio_blk_min.h). */
#include "virtio_blk_min.h"

void vblk_setup(struct vblk *b, struct vring *vr)
{
    vdev_setup(&b->dev, VIRTIO_PCI_BLK, VBLK_BAR, &vr, 1);
    b->next_used = 0;
}

void vblk_submit(struct vblk *b, uint16_t head)
{
    vdev_submit(&b->dev, 0, head);
    b->next_used = b->dev.next_used[0];
}

uint8_t vblk_status(struct vblk *b)
{
    return vdev_status(&b->dev);
}
