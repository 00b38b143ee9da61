/* virtio-blk: a disk image (block/block.h) as a virtio block device. */
#ifndef HOSTEL_VIRTIO_BLK_H
#define HOSTEL_VIRTIO_BLK_H

struct err;
struct guest_mem;
struct pci_bus;
struct blockdev;
struct state_in;
struct state_out;
struct virtio_blk;
struct rate_limits;

/* The device uses bd (it does not close it); serial is what GET_ID returns
 * (at most 20 bytes are used). */
int virtio_blk_create(struct guest_mem *mem, struct pci_bus *bus, struct blockdev *bd, const char *serial,
                      struct virtio_blk **out);
void virtio_blk_destroy(struct virtio_blk *blk);
/* Rate limits (bytes/s and requests/s; NULL or zeros: none): a request
 * over the limit waits in the ring until its tokens are there, and the
 * guest sees a slower disk, never an error. */
void virtio_blk_set_limits(struct virtio_blk *blk, const struct rate_limits *lim);
/* Its PCI slot (the firmware's boot order names it). */
int virtio_blk_slot(const struct virtio_blk *blk);

/* Snapshots: the transport's state (virtio_pci_save), then the capacity in
 * sectors, which a load checks against this disk; a request is never half
 * done in a snapshot taken while paused, so the disk image needs no more
 * than its own snapshot.  Field order in docs/snapshot-state.md.  Save fails
 * only with -ENOMEM; load goes into a fresh device on the same kind of disk,
 * refuses what it could not hold (-EINVAL, e says which) and then changes
 * nothing. */
#define VIRTIO_BLK_STATE_VERSION 1
int virtio_blk_save(struct virtio_blk *blk, struct state_out *o);
int virtio_blk_load(struct virtio_blk *blk, struct state_in *in, struct err *e);

/* The worker finishes the requests it has taken and takes no more until
 * resume (virtio_pci_pause). */
void virtio_blk_pause(struct virtio_blk *blk);
void virtio_blk_resume(struct virtio_blk *blk);

/* Puts another image behind the disk, of the same size, while the device is
 * paused (virtio_blk_pause): a live snapshot moves a running machine onto a
 * new overlay this way.  Returns the old image for the caller to close. */
struct blockdev *virtio_blk_swap_image(struct virtio_blk *blk, struct blockdev *bd);

#endif
