/* The virtio-pci modern transport (virtio 1.x, section 4.1): a virtio device
 * on the PCI bus, non-transitional (device ID 0x1040 + type), with its
 * registers in 64-bit memory BAR 4, MSI-X, and INTx when MSI-X is off.
 * Queue notifications wake a per-device worker thread, so the vCPU that
 * wrote the notify register never waits for the I/O. */
#ifndef HOSTEL_VIRTIO_PCI_H
#define HOSTEL_VIRTIO_PCI_H

#include "hw/virtio/virtio.h"

struct guest_mem;
struct pci_bus;
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

#endif
