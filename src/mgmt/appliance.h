/* Appliances: a ready-made machine in a folder or a single tar file, with a
 * small JSON manifest (appliance.json) naming its kernel, initrd, disks,
 * command line and defaults.  The format is documented in docs/appliances.md. */
#ifndef HOSTEL_APPLIANCE_H
#define HOSTEL_APPLIANCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

#define APPLIANCE_MAX_DISKS 8
#define APPLIANCE_MAX_FORWARDS 16

struct appliance {
    char *dir;              /* folder holding the files (extracted for a tar) */
    char *name, *version;
    char *kernel, *initrd;  /* absolute paths */
    char *cmdline;
    int cpus;
    uint64_t memory;
    int ndisks;
    struct {
        char *path;         /* absolute */
        char *format;       /* "raw", "qcow2" or NULL (detect) */
        bool readonly;
    } disks[APPLIANCE_MAX_DISKS];
    int nforwards;
    char *forwards[APPLIANCE_MAX_FORWARDS];   /* "tcp:2222:22" */
    bool net_user;          /* "net": "user" — user-mode networking by default */
    /* "ssh": {"user", "key", "port"}: how `hostel ssh` logs in (optional). */
    bool has_ssh;
    char *ssh_user;         /* default "root" */
    char *ssh_key;          /* absolute path of a private key in the appliance, or NULL */
    int ssh_port;           /* the guest's SSH port, default 22 */
    /* "ready": console text that shows the machine is up (its prompt), for
     * `hostel cluster up`, which waits for it; NULL when the manifest says none. */
    char *ready;
};

/* Resolves what the user typed: a folder with appliance.json, a .tar file
 * (extracted once into $HOSTEL_HOME/appliances/.cache/), or a bare name found
 * in $HOSTEL_HOME/appliances/NAME or build/appliances/NAME.
 * On failure e says what was wrong with the appliance. */
int appliance_open(const char *what, struct appliance *out, struct err *e);
void appliance_free(struct appliance *a);
/* The appliance as a machine spec layer: kernel, initrd, command line, CPUs,
 * memory, disks, and user networking with its forwards when it asks for
 * them.  Flags laid over it (spec_apply) win; their disks come after the
 * appliance's.  -EINVAL with e set for a malformed forward. */
struct machine_spec;
int appliance_spec(const struct appliance *a, struct machine_spec *layer, struct err *e);

/* Unpacks a tar appliance into the existing folder dir, refusing members
 * that would land outside it and anything but regular files and folders
 * (the checks `hostel run` makes).  Files keep their permission bits
 * (owner read/write always; so an SSH key stays 0600) and their full size.
 * With import a damaged archive is an error; without, unpacking stops at
 * the damage.  On
 * failure e says why; what was unpacked stays for the caller to remove. */
int appliance_unpack(const char *tar, const char *dir, bool import, struct err *e);

/* Whether a path looks like an appliance rather than a kernel image. */
bool appliance_is(const char *what);

#endif
