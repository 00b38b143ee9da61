/* virtio-rng: entropy for the guest from the host's getrandom(). */
#ifndef HOSTEL_VIRTIO_RNG_H
#define HOSTEL_VIRTIO_RNG_H

struct guest_mem;
struct pci_bus;
struct virtio_rng;

int virtio_rng_create(struct guest_mem *mem, struct pci_bus *bus, struct virtio_rng **out);
void virtio_rng_destroy(struct virtio_rng *rng);

#endif
