/* virtio-scsi with one CD-ROM drive (target 0, LUN 0; hw/scsi_cd.h): the
 * CD-ROM hostel's firmware boots from (SeaBIOS's virtio-scsi driver) and
 * Linux finds with virtio_scsi and sr_mod. */
#ifndef HOSTEL_VIRTIO_SCSI_H
#define HOSTEL_VIRTIO_SCSI_H

struct blockdev;
struct err;
struct guest_mem;
struct pci_bus;
struct state_in;
struct state_out;
struct virtio_scsi;

/* The drive reads bd (an ISO image, checked by scsi_cd_check_image; not
 * closed by the device). */
int virtio_scsi_create(struct guest_mem *mem, struct pci_bus *bus, struct blockdev *bd,
                       struct virtio_scsi **out);
void virtio_scsi_destroy(struct virtio_scsi *s);
/* Its PCI slot (the firmware's boot order names it). */
int virtio_scsi_slot(const struct virtio_scsi *s);

/* Snapshots: the transport's state, then the drive's pending sense data and
 * media-event flag.  Load as virtio_blk_load does. */
#define VIRTIO_SCSI_STATE_VERSION 1
int virtio_scsi_save(struct virtio_scsi *s, struct state_out *o);
int virtio_scsi_load(struct virtio_scsi *s, struct state_in *in, struct err *e);
void virtio_scsi_pause(struct virtio_scsi *s);
void virtio_scsi_resume(struct virtio_scsi *s);

#endif
