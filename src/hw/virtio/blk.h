/* virtio-blk: a disk image (block/block.h) as a virtio block device. */
#ifndef HOSTEL_VIRTIO_BLK_H
#define HOSTEL_VIRTIO_BLK_H

struct guest_mem;
struct pci_bus;
struct blockdev;
struct virtio_blk;

/* The device uses bd (it does not close it); serial is what GET_ID returns
 * (at most 20 bytes are used). */
int virtio_blk_create(struct guest_mem *mem, struct pci_bus *bus, struct blockdev *bd, const char *serial,
                      struct virtio_blk **out);
void virtio_blk_destroy(struct virtio_blk *blk);

#endif
