/* virtio-net: an Ethernet NIC for the guest (eth0 in Linux), joined to a
 * network backend (net/net.h): user-mode NAT or a host tap device. */
#ifndef HOSTEL_VIRTIO_NET_H
#define HOSTEL_VIRTIO_NET_H

#include <stddef.h>
#include <stdint.h>

struct guest_mem;
struct pci_bus;
struct net_options;
struct net_backend;
struct virtio_net;
struct err;

#define VIRTIO_ID_NET 1

/* Feature bits (virtio 1.x, 5.1.3); we offer no offloads. */
#define VIRTIO_NET_F_MAC       5
#define VIRTIO_NET_F_MRG_RXBUF 15
#define VIRTIO_NET_F_STATUS    16
#define VIRTIO_NET_S_LINK_UP   1
#define VIRTIO_NET_HDR_LEN     12      /* with VERSION_1, always the num_buffers form */

/* Creates the NIC with address mac and opens the backend o asks for; on
 * failure e says why (the backend's own message when it could not open). */
int virtio_net_create(struct guest_mem *mem, struct pci_bus *bus, const struct net_options *o,
                      const uint8_t mac[6], struct virtio_net **out, struct err *e);
void virtio_net_destroy(struct virtio_net *n);

/* The backend (counters, tests). */
struct net_backend *virtio_net_backend(struct virtio_net *n);

/* Frames dropped by the device: malformed by the guest, or no room. */
uint64_t virtio_net_dropped(struct virtio_net *n);

#endif
