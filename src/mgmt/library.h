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

#define MACHINE_NAME_MAX 63
#define MACHINE_MAX_FORWARDS 16

/* The file in the machine folder where the running VMM records the ports
 * its forwards really listen on (a JSON list; see docs/machines.md). */
#define MACHINE_FORWARDS_FILE "forwards.json"

struct machine_config {
    char name[MACHINE_NAME_MAX + 1];
    char *kernel, *initrd, *cmdline;   /* absolute paths / text, malloc'd */
    char *appliance;                   /* absolute folder of the appliance, or NULL */
    char *disk;                        /* file in the machine folder (qcow2), or NULL */
    char *engine;                      /* auto, kvm, emu */
    char *net;                         /* a --net MODE, or NULL: the appliance's or none */
    int nforwards;                     /* --forward specs, as given ("tcp:0:22") */
    char *forwards[MACHINE_MAX_FORWARDS];
    int cpus;
    uint64_t memory;
    long long created;                 /* unix time */
};

enum machine_state { MACHINE_STOPPED, MACHINE_RUNNING, MACHINE_PAUSED, MACHINE_CRASHED,
                     MACHINE_STARTING };
const char *machine_state_name(enum machine_state s);

/* $HOSTEL_HOME, else $XDG_DATA_HOME/hostel, else ~/.local/share/hostel. */
int library_home(char *buf, size_t len);
/* 0 if the name is acceptable, else -EINVAL with the reason in why. */
int machine_name_check(const char *name, char *why, size_t len);
/* Path of a file in the machine's folder ("" for the folder itself). */
int machine_path(const char *name, const char *file, char *buf, size_t len);

int machine_config_load(const char *name, struct machine_config *cfg, char *err, size_t errlen);
/* Writes config.json atomically (temp file, fsync, rename). */
int machine_config_save(const struct machine_config *cfg, char *err, size_t errlen);
void machine_config_free(struct machine_config *cfg);
/* Creates the machine's folder and config; -EEXIST when the name is taken. */
int machine_create(const struct machine_config *cfg, char *err, size_t errlen);
int machine_remove(const char *name, char *err, size_t errlen);
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
