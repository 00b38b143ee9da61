/* virtio-rng: entropy for the guest from the host's getrandom(). */
#ifndef HOSTEL_VIRTIO_RNG_H
#define HOSTEL_VIRTIO_RNG_H

struct err;
struct guest_mem;
struct pci_bus;
struct state_in;
struct state_out;
struct virtio_rng;

int virtio_rng_create(struct guest_mem *mem, struct pci_bus *bus, struct virtio_rng **out);
void virtio_rng_destroy(struct virtio_rng *rng);

/* Snapshots: the transport's state only (virtio_pci_save); the device keeps
 * nothing of its own.  Load as virtio_pci_load. */
#define VIRTIO_RNG_STATE_VERSION 1
int virtio_rng_save(struct virtio_rng *rng, struct state_out *o);
int virtio_rng_load(struct virtio_rng *rng, struct state_in *in, struct err *e);

/* The worker finishes the requests it has taken and takes no more until
 * resume (virtio_pci_pause). */
void virtio_rng_pause(struct virtio_rng *rng);
void virtio_rng_resume(struct virtio_rng *rng);

#endif
