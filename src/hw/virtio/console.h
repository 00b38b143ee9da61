/* virtio-console: one console port (hvc0 in Linux) on a chardev. */
#ifndef HOSTEL_VIRTIO_CONSOLE_H
#define HOSTEL_VIRTIO_CONSOLE_H

struct err;
struct guest_mem;
struct pci_bus;
struct chardev;
struct state_in;
struct state_out;
struct virtio_console;

/* Takes cd's input (chardev_set_receiver) and writes the guest's output to it. */
int virtio_console_create(struct guest_mem *mem, struct pci_bus *bus, struct chardev *cd,
                          struct virtio_console **out);
void virtio_console_destroy(struct virtio_console *con);

/* Snapshots: the transport's state only (virtio_pci_save): received bytes
 * are in guest RAM once taken, and input not taken stays with the chardev.
 * Load as virtio_pci_load; afterwards the chardev may offer its input. */
#define VIRTIO_CONSOLE_STATE_VERSION 1
int virtio_console_save(struct virtio_console *con, struct state_out *o);
int virtio_console_load(struct virtio_console *con, struct state_in *in, struct err *e);

/* While paused the console refuses input (the chardev keeps it and offers
 * it again after resume) and the worker takes no request
 * (virtio_pci_pause). */
void virtio_console_pause(struct virtio_console *con);
void virtio_console_resume(struct virtio_console *con);

#endif
