/* Turning a machine spec into a running machine: the one function every
 * front end uses (`hostel run`, a named machine's VMM, later snapshots):
 * choose the engine, read the kernel, make blank disks, open the console,
 * build RAM, board and vCPUs, run until the guest stops, restart it on a
 * guest reboot. */
#ifndef HOSTEL_RUN_H
#define HOSTEL_RUN_H

#include "board/spec.h"
#include "lib/err.h"

struct vm;
struct console_hub;
struct net_forward;

/* Optional observers of a machine's life (the control socket uses them). */
struct run_hooks {
    void *opaque;
    void (*booted)(void *opaque, struct vm *vm);       /* vCPUs started */
    void (*stopping)(void *opaque, struct vm *vm);     /* before the vm is torn down */
    /* --display: where its VNC server listens ("ADDR:PORT"), once it does;
     * NULL when it stops.  Optional. */
    void (*display)(void *opaque, const char *where);
    /* The VMM is in its root jail, or will not enter one: threads may
     * start (`hostel run --control` starts its socket's).  Optional; an
     * error stops the start. */
    int (*confined)(void *opaque, struct err *e);
};

/* How the machine is confined, as it runs (docs/security.md): each is ""
 * when not asked for, else what happened ("enforced (...)", "not enforced:
 * WHY", "on (...)", "off (...)"); `hostel info` shows them. */
struct run_isolation {
    char sandbox[200];
    char jail[200];
    char cpu_limit[800];
    char memory_limit[800];
};

/* Where the machine meets the host beyond what its spec says. */
struct run_host {
    const struct run_hooks *hooks;
    /* A detached machine's console (mgmt's daemon): spec->serial "stdio"
     * means this hub (console.log and `hostel console`). */
    struct console_hub *hub;
    /* Where the user network records the host ports it really listens on
     * (NET_MAX_FORWARDS entries; NULL: not needed). */
    struct net_forward *bound;
    /* A restore: the first boot loads this state file and maps this RAM
     * image instead of loading the kernel (a guest reboot later boots it
     * afresh).  Both NULL: a normal boot. */
    const char *restore_state, *restore_ram;
    /* A named machine's name and identity: the cloud-init seed's hostname
     * and instance id (NULL for `hostel run`: "hostel", and an id made from
     * the seed's content). */
    const char *name, *id;
    /* A named machine's folder: writable in the root jail (NULL for
     * `hostel run`; board/jail_setup.h). */
    const char *folder;
    /* `hostel run --control`: the folder its saves may go beneath, shown
     * writable in the root jail (NULL: none; jail_setup.h). */
    const char *save_folder;
    /* Live migration's receiver (board/migrate.h): the first boot builds
     * the machine without its forwards listening and calls incoming, which
     * fills it from the sender and returns 0 when it is to start. */
    int (*incoming)(void *opaque, struct vm *vm, struct err *e);
    void *incoming_opaque;
    /* Filled in as the machine is confined (NULL: not needed). */
    struct run_isolation *isolation;
};

/* Runs the machine until it stops for good and returns 0, with *status the
 * exit status hostel should return (docs/run.md); or -errno with e set when
 * it could not be built or started. */
int machine_run(const struct machine_spec *spec, const struct run_host *host, int *status,
                struct err *e);

#endif
