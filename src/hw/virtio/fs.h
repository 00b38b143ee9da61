/* virtio-fs (device type 26): a host directory the guest mounts by its tag
 * (mount -t virtiofs TAG DIR), its FUSE requests answered by hostel's own
 * server (share/server.h) on the device's worker thread. */
#ifndef HOSTEL_VIRTIO_FS_H
#define HOSTEL_VIRTIO_FS_H

struct guest_mem;
struct pci_bus;
struct share_server;
struct virtio_fs;

#define VIRTIO_FS_TAG_MAX 36     /* the config space's tag field, in bytes */

/* One device for one share; srv stays the caller's (close it after
 * virtio_fs_destroy).  tag: 1 to VIRTIO_FS_TAG_MAX bytes. */
int virtio_fs_create(struct guest_mem *mem, struct pci_bus *bus, struct share_server *srv,
                     const char *tag, struct virtio_fs **out);
void virtio_fs_destroy(struct virtio_fs *fs);

/* The worker finishes the request it is on and takes no more until resume
 * (virtio_pci_pause): no host file is touched while the machine is
 * paused.  A share's state (the guest's inodes and open files, which are
 * host descriptors) is not saved: the board refuses snapshots of machines
 * with shares (docs/shares.md). */
void virtio_fs_pause(struct virtio_fs *fs);
void virtio_fs_resume(struct virtio_fs *fs);

#endif
