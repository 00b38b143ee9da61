/* The control socket of a running machine: newline-delimited JSON, one
 * request and one response per line (docs/api.md).  The CLI and any other
 * tool drive machines only through it. */
#ifndef HOSTEL_CONTROL_H
#define HOSTEL_CONTROL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "board/run.h"
#include "lib/err.h"

struct vm;
struct control;
struct console_hub;

struct control_info {
    const char *name;
    const char *engine;             /* the engine running it: kvm or emu */
    const char *engine_requested;   /* what the machine asks for: auto, kvm or emu */
    const char *engine_why;         /* why this engine (engine_select's reason) */
    int cpus;
    unsigned long long memory;
    struct console_hub *hub;   /* for "console" requests */
    /* How the machine is confined (filled in by machine_run): "status"
     * shows it as "isolation".  NULL: not shown. */
    const struct run_isolation *isolation;
    /* "snapshot" and "save" (docs/api.md): done by the machine's owner (the
     * daemon, or hostel run) on the machine; returns the reply object.  The
     * control lock is not held.  NULL: the ops are not offered. */
    json_t *(*snapshot)(void *opaque, struct vm *vm, const char *op, json_t *req);
    /* "migrate" and "migrate_cancel" (docs/api.md): the same way; NULL: not
     * offered.  migration_status: what "status" shows as "migration" (a
     * new reference or NULL). */
    json_t *(*migrate)(void *opaque, struct vm *vm, const char *op, json_t *req);
    json_t *(*migration_status)(void *opaque);
    void *opaque;
    /* Its threads take the file capabilities a root jail kept permitted
     * (lib/jail.h): `hostel run --control`'s saves, beneath a folder that
     * is not the jail user's. */
    bool file_caps;
};

int control_start(const char *socket_path, const struct control_info *info,
                  struct control **out, struct err *e);
/* control_start in two steps: the socket listens (connections wait), then
 * the thread that answers starts; between them the VMM may enter its root
 * jail, which needs the process to have one thread.  control_stop works
 * after either. */
int control_open(const char *socket_path, const struct control_info *info,
                 struct control **out, struct err *e);
int control_serve(struct control *c, struct err *e);
/* The machine the requests act on (NULL between boots). */
void control_set_vm(struct control *c, struct vm *vm);
/* The machine's port forwards as a JSON list (see docs/api.md), shown by
 * "status" as "forwards"; NULL clears them. */
void control_set_forwards(struct control *c, const char *json_list);
/* Broadcasts {"event":"state","state":S} to subscribers. */
void control_event_state(struct control *c, const char *state);
/* Broadcasts an event object (taking it) to subscribers. */
void control_event(struct control *c, json_t *event);
/* What "status" says before a machine runs ("starting" by default; a
 * receiver waiting for a migration says "incoming"). */
void control_set_phase(struct control *c, const char *phase);
/* While set, requests that would change the machine (pause, resume, stop,
 * snapshot, save, restore) are refused with this reason; NULL clears it. */
void control_set_busy_reason(struct control *c, const char *why);
void control_stop(struct control *c);

#endif
