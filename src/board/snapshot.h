/* A whole machine as data: save a paused machine's vCPUs, interrupt
 * controllers, timers, devices and guest RAM (state.bin + ram.bin), and
 * load them into a freshly built machine of the same spec (board/run.c does
 * that when asked to restore).  docs/snapshots.md has the format. */
#ifndef HOSTEL_SNAPSHOT_H
#define HOSTEL_SNAPSHOT_H

#include <stdint.h>

#include "board/snapfile.h"
#include "board/spec.h"
#include "lib/err.h"

struct vm;

/* What a save wrote. */
struct snapshot_sizes {
    uint64_t state_bytes;      /* state.bin */
    uint64_t ram_bytes;        /* RAM pages actually stored (not holes) */
};

/* Saves a machine that is paused (vm_pause: vCPUs parked, devices
 * quiesced) whose spec is spec (stored in the state file: a restore checks
 * it).  The RAM image is written first, then the state file, each
 * atomically; -errno with e set, and nothing half-written left behind. */
int machine_snapshot_save(struct vm *vm, const struct machine_spec *spec, const char *state_path,
                          const char *ram_path, struct snapshot_sizes *sizes, struct err *e);

/* The state file's bytes of a paused machine, without its RAM (live
 * migration sends them): w is begun here; the caller ends it
 * (snap_write_end) and frees it. */
int machine_snapshot_state(struct vm *vm, const struct machine_spec *spec,
                           struct snap_writer *w, struct err *e);
/* Checks a state file's machine section against the machine it goes into
 * (CPUs, memory); what: the file's name for messages. */
int machine_snapshot_check(const struct snapshot_file *s, const struct machine_spec *spec,
                           const char *what, struct err *e);

/* Reads and checks a state file and its RAM image against the spec a
 * machine will be built from (same CPUs, memory, devices).  On success the
 * caller owns *out (snap_free). */
int machine_snapshot_open(const char *state_path, const char *ram_path,
                          const struct machine_spec *spec, struct snapshot_file *out,
                          struct err *e);

/* The spec a state file was saved with (for `hostel run --restore`). */
int machine_snapshot_spec(const char *state_path, struct machine_spec *out, struct err *e);

/* Loads everything but RAM (which vm_create maps from ram.bin) into a
 * machine built from the same spec, before its vCPUs start (live: see
 * machine_snapshot_restore_live). */
int machine_snapshot_load(struct vm *vm, const struct snapshot_file *s, bool live, struct err *e);

/* Restores a running machine in place, while it is paused: its RAM becomes
 * the saved image (mapped copy-on-write over the old), then every vCPU,
 * controller and device is loaded; the user network backend keeps its host
 * sockets.  The snapshot must have been checked (machine_snapshot_open).  A
 * failure leaves the machine unusable: the caller stops it. */
int machine_snapshot_restore_live(struct vm *vm, const struct snapshot_file *s, int ram_fd,
                                  struct err *e);

#endif
