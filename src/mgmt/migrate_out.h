/* A named machine's VMM sending its machine away (hostel migrate): the
 * control socket's "migrate" and "migrate_cancel", the migration's thread,
 * its progress as events and in "status", and the drain of the old
 * connections once the guest runs on the receiver (docs/migration.md). */
#ifndef HOSTEL_MIGRATE_OUT_H
#define HOSTEL_MIGRATE_OUT_H

#include <jansson.h>
#include <stdbool.h>

#include "board/migrate.h"

struct vm;
struct control;
struct migrate_out;

/* What the VMM lends the migration. */
struct migrate_out_host {
    const char *name;
    struct control **control;          /* the VMM's (it may start later) */
    const struct machine_spec *spec;   /* what runs */
    char *config_json;                 /* the machine's config.json (taken) */
    char *folder;                      /* its folder's real path (taken) */
    struct net_forward *bound;         /* its forwards' real host ports */
    int nbound;
    void *opaque;
    /* At the commit / when it must run here again after all (board/migrate.h). */
    void (*release)(void *opaque, struct vm *vm, bool same_folder);
    int (*reclaim)(void *opaque, struct vm *vm, bool same_folder);
    /* The guest runs on the receiver (to: where); on the migration's thread. */
    void (*moved)(void *opaque, bool same_folder, const char *to);
};

struct migrate_out *migrate_out_create(const struct migrate_out_host *h);
/* The control ops "migrate" {"to", "max_downtime_ms", "bandwidth", "disks",
 * "auto_converge"} and "migrate_cancel"; returns the reply. */
json_t *migrate_out_request(struct migrate_out *m, struct vm *vm, const char *op, json_t *req);
/* What "status" shows as "migration" (NULL when none ran). */
json_t *migrate_out_status(struct migrate_out *m);
/* The machine is being torn down: a migration not yet committed is
 * cancelled; returns once the migration no longer uses the machine. */
void migrate_out_vm_gone(struct migrate_out *m);
/* Whether the guest moved away; waits for the drain to end, then frees. */
bool migrate_out_finish(struct migrate_out *m, bool *same_folder);

/* One progress report as an event object ({"event": "migration", ...}). */
json_t *migrate_progress_json(const struct mig_progress *p, const char *side);

#endif
