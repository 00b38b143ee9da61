/* A named machine's VMM receiving it (hostel receive, and the other half of
 * hostel migrate --engine): the machine's folder and config from what the
 * sender says, its disks (new images to fill, or the sender's shared by
 * path), the kernel and initrd it lacks; the commit's renames; and the
 * cleanup when the migration does not happen (docs/migration.md). */
#ifndef HOSTEL_RECEIVE_H
#define HOSTEL_RECEIVE_H

#include <stdbool.h>

#include "board/migrate.h"
#include "mgmt/library.h"

struct receive_opts {
    const char *name;
    const char *listen;          /* "tcp:ADDR:PORT", "ADDR:PORT" or "unix:PATH" */
    struct mig_allow allow;
    const char *engine;          /* NULL: the machine's own (its config) */
    bool same_folder;            /* the sender is this folder's VMM (an engine switch) */
    int timeout_s;               /* for a sender to come; 0: forever */
    bool log_in_folder;          /* stderr to the folder's vmm.log once it exists */
};

/* What the receiver made, to finish at the commit or undo. */
struct receive_stage {
    bool created_folder;         /* the machine is new here */
    bool had_config;             /* a config.json was there ("migrated" machine) */
    char old_state[512];         /* its state file's line, to put back */
    int nstaged;
    char staged[SPEC_MAX_DISKS][4096], final[SPEC_MAX_DISKS][4096];
    char fetched[2][4096];       /* a kernel or initrd the sender sent */
    /* The machines folder (O_PATH), when created_folder: a receiver in
     * its root jail, where that folder is not shown, removes the one it
     * made through it (receive_undo). */
    bool have_parent;
    int parent_fd;
};

/* Claims the folder for an incoming machine (not for same_folder): the
 * name is new here, or a machine that moved away; -errno with e. */
int receive_claim(const struct receive_opts *o, struct receive_stage *st, struct err *e);
/* From the sender's HELLO: the machine's config (mc, to keep) and the
 * images and files it needs; then ACCEPT (with the files).  On failure the
 * caller refuses the sender and calls receive_undo. */
int receive_prepare(const struct receive_opts *o, struct mig_incoming *in,
                    struct machine_config *mc, struct receive_stage *st, struct err *e);
/* The resolved spec the VMM runs opens the staged images until the commit. */
void receive_run_paths(const struct receive_stage *st, struct machine_spec *run_spec);
/* At the commit: staged disks take their names, the config is saved;
 * run_spec's disk paths follow the renames. */
int receive_commit(const struct receive_opts *o, const struct machine_config *mc,
                   struct machine_spec *run_spec, struct receive_stage *st, struct err *e);
/* The migration did not happen: the folder goes back to what it was. */
void receive_undo(const struct receive_opts *o, struct receive_stage *st);

#endif
