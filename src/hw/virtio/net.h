/* virtio-net: an Ethernet NIC for the guest (eth0 in Linux), joined to a
 * network backend (net/net.h): user-mode NAT or a host tap device. */
#ifndef HOSTEL_VIRTIO_NET_H
#define HOSTEL_VIRTIO_NET_H

#include <stddef.h>
#include <stdint.h>

struct err;
struct guest_mem;
struct pci_bus;
struct net_options;
struct net_backend;
struct state_in;
struct state_out;
struct virtio_net;
struct err;

#define VIRTIO_ID_NET 1

/* Feature bits (virtio 1.x, 5.1.3); no transmit offloads (net.c). */
#define VIRTIO_NET_F_GUEST_CSUM 1
#define VIRTIO_NET_F_MTU       3
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
/* Rate limits (bytes/s and packets/s; NULL or zeros: none), each way
 * alike: the guest's frames over the limit wait in its transmit ring, and
 * frames for it wait with those that wait for buffers (dropped, like a full
 * NIC ring's, when too many wait). */
struct rate_limits;
void virtio_net_set_limits(struct virtio_net *n, const struct rate_limits *lim);
/* Its PCI slot (the firmware's boot order names it). */
int virtio_net_slot(const struct virtio_net *n);

/* The backend (counters, tests). */
struct net_backend *virtio_net_backend(struct virtio_net *n);
/* Takes the backend away from the NIC, which then drops what the guest
 * sends; the caller closes it (live migration's sender keeps it). */
struct net_backend *virtio_net_take_backend(struct virtio_net *n);

/* Frames dropped by the device: malformed by the guest, no room, or
 * arriving while paused. */
uint64_t virtio_net_dropped(struct virtio_net *n);

/* Snapshots: the transport's state (virtio_pci_save), then the frames that
 * arrived for the guest and wait for receive buffers, oldest first (field
 * order in docs/snapshot-state.md).  The MAC address is wiring, not state:
 * a clone may be given a new one.  The backend's own state (user
 * networking's DHCP leases) is net_backend_save's.  Save fails only with
 * -ENOMEM; load goes into a fresh NIC, refuses what it could not hold
 * (-EINVAL, e says which) and then changes nothing. */
#define VIRTIO_NET_STATE_VERSION 1
int virtio_net_save(struct virtio_net *n, struct state_out *o);
int virtio_net_load(struct virtio_net *n, struct state_in *in, struct err *e);

/* While paused, frames from the backend are dropped and counted in
 * virtio_net_dropped (a wire loses them; the guest's TCP resends), and the
 * worker sends nothing (virtio_pci_pause). */
void virtio_net_pause(struct virtio_net *n);
void virtio_net_resume(struct virtio_net *n);

#endif
