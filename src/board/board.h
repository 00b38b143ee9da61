/* The PC board: the explicit list of devices a machine gets, created in one
 * readable function, torn down in reverse, and the wiring of their
 * interrupt lines to the controllers (ours, or KVM's in-kernel ones). */
#ifndef HOSTEL_BOARD_H
#define HOSTEL_BOARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "board/spec.h"
#include "lib/err.h"

struct vm;
struct chardev;
struct display;
struct net_forward;

/* The host side a board is plugged into: the console chardev (COM1, and
 * virtio-console when asked), and where the user network records the host
 * ports its forwards really listen on (NET_MAX_FORWARDS entries, kept across
 * reboots; may be NULL). */
struct board_host {
    struct chardev *console;
    struct net_forward *bound;
    /* The firmware image to boot from (board/firmware.h), or NULL for a
     * kernel the loaders start directly. */
    const uint8_t *bios;
    size_t bios_len;
    /* RAM already holds the guest (a restore): the BIOS's RAM copy at
     * 0xE0000 and everything the firmware built there are left as saved. */
    bool ram_restored;
    /* Live migration's receiver: the forwards listen later (net/net.h). */
    bool defer_forwards;
    /* The screen a display device draws on and whose keys and pointer go
     * to the PS/2 keyboard and mouse (host/display.h); NULL: no display
     * device (spec->display none). */
    struct display *display;
};

/* Creates every device on vm's buses for spec (disks already resolved to
 * paths: board/run.c makes the blank ones).  When the engine has no
 * in-kernel irqchip it also creates our PIC, IOAPIC and PIT.  -errno with e
 * set. */
int board_create(struct vm *vm, const struct machine_spec *spec, const struct board_host *host,
                 struct err *e);
void board_destroy(struct vm *vm);

/* The devices' state as snapshot sections (one per device, named by its
 * wiring: "uart@3f8", "virtio-blk0", ...), and back into a freshly created
 * board of the same spec.  Both while the machine is paused (its devices
 * quiesced).  A missing, extra-version or left-over section is refused
 * with e naming the device. */
struct snap_writer;
struct snapshot_file;
/* The "irqchip" section of a machine whose engine has no in-kernel irqchip:
 * our 8259s/IOAPIC then our PIT, the same bytes engine_ops.save_irqchip
 * writes on kvm (machine/irqstate.h).  Load after the guest clock. */
int board_irqchip_save(struct vm *vm, struct state_out *o);
int board_irqchip_load(struct vm *vm, struct state_in *in, struct err *e);
int board_save(struct vm *vm, struct snap_writer *w, struct err *e);
/* 0 when board_save can save this machine's devices; else why not (a
 * shared folder): what snapshots and migrations check before they start. */
int board_savable(struct vm *vm, struct err *e);
/* live: into the board a running (paused) machine already has, whose user
 * network backend keeps its own state (its host sockets: a connection
 * through a forward survives a restore when nothing crossed it since). */
int board_load(struct vm *vm, const struct snapshot_file *s, bool live, struct err *e);
/* Live disk work while the machine is paused: flush every disk's image to
 * its file, and move disk index onto another image of the same size (a new
 * overlay on top of the one it had, for snapshots). */
int board_flush_disks(struct vm *vm, struct err *e);
int board_swap_disk(struct vm *vm, int index, const char *path, int format, struct err *e);
struct blockdev;
struct net_backend;
/* The same with an image already open (the board owns it now; the old one
 * is closed): a snapshot layer merged back, taking the active disk's place. */
void board_replace_disk(struct vm *vm, int index, struct blockdev *bd);
/* Live migration and merges: disk index's image, and the NIC's network
 * backend (taken: the board no longer closes it; the sender keeps its old
 * connections). */
struct blockdev *board_disk(struct vm *vm, int index);
struct net_backend *board_net_backend(struct vm *vm);
struct net_backend *board_take_net_backend(struct vm *vm);
/* Whether a section belongs to one of the board's devices. */
bool board_owns_section(struct vm *vm, const char *name);

#endif
