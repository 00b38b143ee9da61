/* The machine library on disk: $HOSTEL_HOME/machines/NAME/ holds a machine's
 * config.json, its console log, its control socket and its lock.  Names are
 * validated here, configs are written atomically, and whether a machine runs
 * is read from its lock, never from a file that a dead process left behind. */
#ifndef HOSTEL_LIBRARY_H
#define HOSTEL_LIBRARY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "board/spec.h"
#include "lib/err.h"

#define MACHINE_NAME_MAX 63

/* The file in the machine folder where the running VMM records the ports
 * its forwards really listen on (a JSON list; see docs/machines.md). */
#define MACHINE_FORWARDS_FILE "forwards.json"
/* Where a running machine's display listens ("vnc ADDR:PORT\n"), while it does. */
#define MACHINE_DISPLAY_FILE "display"

/* A machine's folder holds config.json: {"version": 2, "name", "created",
 * "spec": the machine spec (board/spec.h) complete, as create resolved it
 * from the appliance and the flags}.  Disk paths without a '/' name files in
 * the machine's folder (its own disks).  Version 1 (before the spec) is
 * still read, and rewritten as version 2 at the next save. */
#define MACHINE_CONFIG_VERSION 2
struct machine_config {
    char name[MACHINE_NAME_MAX + 1];
    long long created;                 /* unix time */
    /* The machine's identity, 32 hex digits: new for every machine and every
     * clone, handed to the guest as hostel.id= on its kernel command line so
     * an appliance can make its own host keys when it finds itself cloned. */
    char id[33];
    struct machine_spec spec;
};

/* A fresh random identity (32 hex digits). */
void machine_new_id(char id[33]);

enum machine_state { MACHINE_STOPPED, MACHINE_RUNNING, MACHINE_PAUSED, MACHINE_CRASHED,
                     MACHINE_STARTING,
                     MACHINE_INCOMING,    /* a receiver waits for, or receives, a migration */
                     MACHINE_MIGRATED };  /* it moved away (live migration): stopped here */
const char *machine_state_name(enum machine_state s);

/* $HOSTEL_HOME, else $XDG_DATA_HOME/hostel, else ~/.local/share/hostel. */
int library_home(char *buf, size_t len);
/* 0 if the name is acceptable, else -EINVAL with the reason in e. */
int machine_name_check(const char *name, struct err *e);
/* Path of a file in the machine's folder ("" for the folder itself). */
int machine_path(const char *name, const char *file, char *buf, size_t len);

int machine_config_load(const char *name, struct machine_config *cfg, struct err *e);
/* Writes config.json atomically (temp file, fsync, rename). */
int machine_config_save(const struct machine_config *cfg, struct err *e);
void machine_config_free(struct machine_config *cfg);
/* Creates the machine's folder and config; -EEXIST when the name is taken. */
int machine_create(const struct machine_config *cfg, struct err *e);
/* Makes the spec's folder-relative disk paths absolute, for running it. */
int machine_spec_resolve(const char *name, struct machine_spec *s, struct err *e);
int machine_remove(const char *name, struct err *e);
/* Names of all machines, sorted; free each and the array. */
int machine_list(char ***names, int *count);

/* The VMM process holds an exclusive flock on NAME/lock for its whole life:
 * a second start fails with -EBUSY, and a lock nobody holds means nobody
 * runs the machine, whatever the files say. */
int machine_lock_acquire(const char *name, int *fd_out);
bool machine_lock_held(const char *name);

/* What state a machine is in, without disturbing it.  *why gets a reason
 * for MACHINE_CRASHED (the last words of its VMM). */
enum machine_state machine_state_get(const char *name, char *why, size_t len);

#endif
