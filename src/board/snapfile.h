/* The snapshot state file (state.bin): a header with the machine spec it
 * belongs to, then one section per vCPU, controller and device, each with
 * its name, its own state version, its length and a CRC-32, and a CRC-32 of
 * the whole file at the end.  Guest RAM is a separate sparse file
 * (machine/mem.h).  docs/snapshots.md describes the layout byte by byte. */
#ifndef HOSTEL_SNAPFILE_H
#define HOSTEL_SNAPFILE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "lib/state.h"

#define SNAP_MAGIC        "HOSTELSS"
#define SNAP_VERSION      1
#define SNAP_NAME_MAX     47
#define SNAP_MAX_SECTIONS 256
#define SNAP_MAX_SPEC     (1u << 20)
#define SNAP_MAX_SECTION  (64u << 20)

struct snap_writer {
    struct state_out out;
    uint32_t nsections;
    size_t count_at;         /* where the section count goes */
};

/* Starts a file for a machine described by spec_json (its spec) whose RAM
 * (ram_size bytes) is saved beside it. */
void snap_write_begin(struct snap_writer *w, const char *spec_json, uint64_t ram_size,
                      uint64_t created);
/* Appends a section: name (at most SNAP_NAME_MAX bytes), the model's own
 * state version, the bytes. */
void snap_write_section(struct snap_writer *w, const char *name, uint32_t version,
                        const struct state_out *payload);
/* Finishes the bytes in w->out (section count, CRC) without writing them
 * anywhere (live migration sends them).  -errno with e. */
int snap_write_end(struct snap_writer *w, struct err *e);
/* Finishes and writes the file (path.tmp, fsync, rename).  -errno with e. */
int snap_write_finish(struct snap_writer *w, const char *path, struct err *e);
void snap_writer_free(struct snap_writer *w);

struct snap_section {
    char name[SNAP_NAME_MAX + 1];
    uint32_t version;
    const uint8_t *data;
    size_t len;
};

struct snapshot_file {
    uint8_t *buf;            /* the whole file */
    size_t len;
    uint64_t created, ram_size;
    char *spec_json;
    uint32_t nsections;
    struct snap_section *sections;
};

/* Reads and checks a state file: magic, version, every length against the
 * file, every CRC, section names (printable, unique), counts.  Anything
 * wrong is -EINVAL with e naming the file and what is wrong. */
int snap_read(const char *path, struct snapshot_file *out, struct err *e);
int snap_parse(const uint8_t *buf, size_t len, const char *what, struct snapshot_file *out,
               struct err *e);   /* the same over bytes (takes a copy) */
const struct snap_section *snap_find(const struct snapshot_file *s, const char *name);
void snap_free(struct snapshot_file *s);

#endif
