/* The PC board: the explicit list of devices a machine gets, created in one
 * readable function, torn down in reverse, and the wiring of their
 * interrupt lines to the controllers (ours, or KVM's in-kernel ones). */
#ifndef HOSTEL_BOARD_H
#define HOSTEL_BOARD_H

#include "board/spec.h"
#include "lib/err.h"

struct vm;
struct chardev;
struct net_forward;

/* The host side a board is plugged into: the console chardev (COM1, and
 * virtio-console when asked), and where the user network records the host
 * ports its forwards really listen on (NET_MAX_FORWARDS entries, kept across
 * reboots; may be NULL). */
struct board_host {
    struct chardev *console;
    struct net_forward *bound;
};

/* Creates every device on vm's buses for spec (disks already resolved to
 * paths: board/run.c makes the blank ones).  When the engine has no
 * in-kernel irqchip it also creates our PIC, IOAPIC and PIT.  -errno with e
 * set. */
int board_create(struct vm *vm, const struct machine_spec *spec, const struct board_host *host,
                 struct err *e);
void board_destroy(struct vm *vm);

#endif
