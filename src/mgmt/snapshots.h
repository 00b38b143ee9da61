/* A named machine's snapshots on disk, and the disk layers they stand on.
 *
 * A machine's own disks live in its folder as a chain of qcow2 layers in one
 * directory, so every backing name is a plain file name:
 *   disk.qcow2                  the active layer the machine writes
 *   disk.L<id>.qcow2            a frozen layer (read-only from then on)
 * A snapshot freezes the active layer of each own disk (rename) and puts a
 * new empty overlay on top; restoring puts a new overlay on the snapshot's
 * frozen layers.  Layers no snapshot and no active disk (of this machine or
 * of a linked clone) needs any more are deleted.  The snapshot itself is
 *   snapshots/NAME/info.json    name, time, parent, the layers, sizes
 *   snapshots/NAME/state.bin    vCPUs, controllers, devices (board/snapfile.h)
 *   snapshots/NAME/ram.bin      guest RAM, sparse
 * (the last two only for a snapshot of a running machine).  docs/snapshots.md. */
#ifndef HOSTEL_SNAPSHOTS_H
#define HOSTEL_SNAPSHOTS_H

#include <stdbool.h>
#include <stdint.h>

#include "board/spec.h"
#include "lib/err.h"

struct blockdev;

#define SNAPSHOT_NAME_MAX 63
#define SNAPSHOT_LAYER_MAX 80

struct snapshot_info {
    char name[SNAPSHOT_NAME_MAX + 1];
    char id[24];                        /* unique in the machine: names its layers */
    long long created;                  /* unix time */
    char parent[SNAPSHOT_NAME_MAX + 1]; /* the snapshot the machine stood on, or "" */
    bool has_state;                     /* RAM, CPUs and devices saved (it was running) */
    uint64_t state_bytes, ram_bytes, layer_bytes;
    int ndisks;                         /* entries in layers: one per spec disk */
    /* For each disk of the spec: the frozen layer file in the machine's
     * folder, or "" for a disk that is not the machine's own. */
    char layers[SPEC_MAX_DISKS][SNAPSHOT_LAYER_MAX];
};

/* Letters, digits, '-', '_', '.'; not starting with '.'; at most 63. */
int snapshot_name_check(const char *name, struct err *e);
/* machines/MACHINE/snapshots/SNAP[/FILE] */
int snapshot_path(const char *machine, const char *snap, const char *file, char *buf,
                  size_t len);

int snapshot_info_load(const char *machine, const char *snap, struct snapshot_info *out,
                       struct err *e);
int snapshot_info_save(const char *machine, const struct snapshot_info *info, struct err *e);
/* Every snapshot of the machine, oldest first; free(*out). */
int snapshot_list(const char *machine, struct snapshot_info **out, int *count, struct err *e);

/* Which disks of a spec are the machine's own (a file in its folder). */
bool snapshot_disk_is_own(const struct spec_disk *d);

/* Freezes the machine's own disks for a new snapshot: each active layer is
 * renamed to a layer file named after info->id, and a new empty overlay on
 * it takes the active name.  Fills info->layers.  The machine must not be
 * writing (stopped, or paused with its disks flushed).  On failure what was
 * renamed is put back. */
int snapshot_freeze_disks(const char *machine, const struct machine_spec *spec,
                          struct snapshot_info *info, struct err *e);
/* Undoes snapshot_freeze_disks (when the machine could not move onto the
 * new overlays): the frozen layers become the active disks again. */
void snapshot_unfreeze_disks(const char *machine, const struct machine_spec *spec,
                             struct snapshot_info *info);
/* The snapshot the machine stands on (last taken or restored), "" when none. */
void snapshot_read_head(const char *machine, char *buf, size_t len);
void snapshot_write_head(const char *machine, const char *snap);

/* Puts new empty overlays on a snapshot's frozen layers as the machine's
 * active disks (discarding what the active layers held). */
int snapshot_restore_disks(const char *machine, const struct machine_spec *spec,
                           const struct snapshot_info *info, struct err *e);
/* Deletes the layer files in the machine's folder that nothing needs any
 * more: no snapshot of it, no active disk of any machine in the library
 * (linked clones reach into their source's folder). */
int snapshot_collect_layers(const char *machine, struct err *e);

/* Removes a snapshot (its state, RAM and record); layers it alone needed go. */
int snapshot_remove(const char *machine, const char *snap, struct err *e);

/* Taking and removing snapshots (a backup does both) leaves layers that
 * nothing needs but the image right above them; merging each into that
 * image keeps backing chains from growing with every snapshot ever taken.
 * snapshot_find_merge: a layer of the machine's folder that tops no chain
 * (no snapshot names it, no machine writes it) and sits under one and the
 * same image of the folder in every chain that has it: 1, with m filled
 * (disk: the machine's disk when that image is its active disk, else -1:
 * a frozen layer); 0 when there is none; <0 when the disks cannot all be
 * read. */
struct snapshot_merge {
    char layer[SNAPSHOT_LAYER_MAX];
    char into[256];
    int disk;
};
int snapshot_find_merge(const char *machine, const struct machine_spec *spec,
                        struct snapshot_merge *m, struct err *e);
/* With the disk not being written (machine stopped, or paused and
 * flushed): checks that top (disk i's active image; NULL opens it here)
 * still stands on layer and no snapshot names it, copies top's clusters
 * into layer and renames layer to the active name (top's file goes).  At
 * every step the disk reads the same.  *merged, when asked for, gets the
 * layer opened read-write for a running machine to move onto. */
int snapshot_merge_layer(const char *machine, const struct machine_spec *spec, int i,
                         struct blockdev *top, const char *layer, struct blockdev **merged,
                         struct err *e);
/* The same with a frozen layer (upper) above it; it may be in use (running
 * machines read it): they read the same throughout, from the files they
 * have open. */
int snapshot_merge_frozen(const char *machine, const char *upper, const char *layer,
                          struct err *e);

/* Machines whose disk chains reach into this machine's folder (its linked
 * clones), as a comma-separated list in buf; 0 when none. */
int snapshot_dependants(const char *machine, char *buf, size_t len);

#endif
