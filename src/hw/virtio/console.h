/* virtio-console: one console port (hvc0 in Linux) on a chardev. */
#ifndef HOSTEL_VIRTIO_CONSOLE_H
#define HOSTEL_VIRTIO_CONSOLE_H

struct guest_mem;
struct pci_bus;
struct chardev;
struct virtio_console;

/* Takes cd's input (chardev_set_receiver) and writes the guest's output to it. */
int virtio_console_create(struct guest_mem *mem, struct pci_bus *bus, struct chardev *cd,
                          struct virtio_console **out);
void virtio_console_destroy(struct virtio_console *con);

#endif
