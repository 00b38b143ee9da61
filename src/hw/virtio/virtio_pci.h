/* The virtio-pci modern transport (virtio 1.x, section 4.1): a virtio device
 * on the PCI bus, non-transitional (device ID 0x1040 + type), with its
 * registers in 64-bit memory BAR 4, MSI-X, and INTx when MSI-X is off.
 * Queue notifications wake a per-device worker thread, so the vCPU that
 * wrote the notify register never waits for the I/O. */
#ifndef HOSTEL_VIRTIO_PCI_H
#define HOSTEL_VIRTIO_PCI_H

#include "hw/virtio/virtio.h"

#include <stddef.h>

struct err;
struct guest_mem;
struct pci_bus;
struct state_in;
struct state_out;
struct virtio_pci;

/* BAR 4 layout (offsets inside the BAR). */
#define VIRTIO_PCI_BAR          4
#define VIRTIO_PCI_COMMON_OFF   0x0000
#define VIRTIO_PCI_COMMON_LEN   0x0038
#define VIRTIO_PCI_ISR_OFF      0x1000
#define VIRTIO_PCI_DEVICE_OFF   0x2000
#define VIRTIO_PCI_DEVICE_LEN   0x1000
#define VIRTIO_PCI_NOTIFY_OFF   0x3000
#define VIRTIO_PCI_NOTIFY_MULT  4
#define VIRTIO_PCI_MSIX_OFF     0x4000   /* table */
#define VIRTIO_PCI_PBA_OFF      0x5000
#define VIRTIO_PCI_BAR_SIZE     0x8000

/* Capability config types (struct virtio_pci_cap.cfg_type). */
#define VIRTIO_PCI_CAP_COMMON_CFG 1
#define VIRTIO_PCI_CAP_NOTIFY_CFG 2
#define VIRTIO_PCI_CAP_ISR_CFG    3
#define VIRTIO_PCI_CAP_DEVICE_CFG 4
#define VIRTIO_PCI_CAP_PCI_CFG    5

#define VIRTIO_MSI_NO_VECTOR 0xffff

/* Creates the transport for a device model (ops and opaque) and places it
 * on the bus (first free slot).  The worker thread starts here. */
int virtio_pci_create(struct guest_mem *mem, struct pci_bus *bus, const struct virtio_device_ops *ops,
                      void *opaque, struct virtio_pci **out);
void virtio_pci_destroy(struct virtio_pci *vp);
struct virtio_dev *virtio_pci_dev(struct virtio_pci *vp);
/* The PCI slot it sits in (for the firmware's boot order). */
int virtio_pci_slot(const struct virtio_pci *vp);

/* "virtio-blk 00:03.0": how messages name the device. */
const char *virtio_pci_name(struct virtio_pci *vp, char *buf, size_t len);

/* Snapshots of the transport: the function's PCI config space, features,
 * the common configuration registers, ISR, the MSI-X table and pending
 * bits, notifications not yet taken, and every queue's size, addresses and
 * ring indices (field order in docs/snapshot-state.md).  Each device model
 * puts this first in its own state.  Taken while paused (virtio_pci_pause),
 * no request is half done, so a loaded device goes on from the saved
 * indices.  Save fails only with -ENOMEM. */
#define VIRTIO_PCI_STATE_VERSION 1
int virtio_pci_save(struct virtio_pci *vp, struct state_out *o);

/* Loading in two steps, so a device model can read and check its own state
 * after the transport's before anything changes: check reads and checks
 * every value (queue rings against guest RAM, vectors against the table,
 * features against what this device offers) into *out, or returns -EINVAL
 * (-ENOMEM) with e naming the device and the field, changing nothing.
 * commit installs it in a freshly created device: BARs placed as the config
 * says, queues resumed from the saved indices, INTx driven as it was, then
 * apply(vd, arg) (when given) under vd->lock, and last the notifications
 * that were waiting handed to the worker.  abandon frees what check made. */
struct virtio_pci_loaded;
int virtio_pci_load_check(struct virtio_pci *vp, struct state_in *in, struct err *e,
                          struct virtio_pci_loaded **out);
void virtio_pci_load_commit(struct virtio_pci *vp, struct virtio_pci_loaded *l,
                            void (*apply)(struct virtio_dev *vd, void *arg), void *arg);
void virtio_pci_load_abandon(struct virtio_pci_loaded *l);
/* Both steps, for a device with no state of its own. */
int virtio_pci_load(struct virtio_pci *vp, struct state_in *in, struct err *e);

/* Quiescing the worker: pause lets the round of requests in progress
 * finish, takes no new one, and returns once the worker is idle; from then
 * on it touches no guest memory and sends no interrupt.  Notifications that
 * arrive meanwhile wait (and are part of a snapshot); resume hands them to
 * the worker.  Devices that take input on other threads (net, console)
 * stop that themselves before calling pause. */
void virtio_pci_pause(struct virtio_pci *vp);
void virtio_pci_resume(struct virtio_pci *vp);

#endif
