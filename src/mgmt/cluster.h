/* Clusters: machines declared in one file (YAML, or JSON, which is YAML's
 * flow style) on a switch of their own, with faults injected on demand.
 * The file is read here (every error names its line and key), kept as a
 * normalized definition in $HOSTEL_HOME/clusters/NAME/cluster.json, and run
 * by a cluster daemon that holds the switch and serves the cluster's
 * control socket (docs/clusters.md, docs/api.md). */
#ifndef HOSTEL_CLUSTER_H
#define HOSTEL_CLUSTER_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#include "lib/err.h"
#include "mgmt/library.h"
#include "net/switch.h"

#define CLUSTER_MAX_MACHINES (SWITCH_MAX_NODES - 1 - 16)   /* room for ad-hoc joiners */
#define CLUSTER_DEF_FILE     "cluster.json"
#define CLUSTER_CONTROL_FILE "control.sock"
#define CLUSTER_FIRST_HOST   11        /* machines get .11, .12, ... unless "address" says */

struct cluster_machine {
    char name[MACHINE_NAME_MAX + 1];
    char *appliance;                 /* as written: a name, folder or .tar */
    uint64_t memory;                 /* 0: the appliance's */
    int cpus;                        /* 0: the appliance's */
    char *engine;                    /* NULL: auto */
    uint64_t disk_size;              /* 0: the appliance's disk size */
    uint32_t ip;                     /* host order */
    uint8_t mac[6];
    char *ready;                     /* console text meaning "up"; NULL: the appliance's */
};

struct cluster_def {
    char name[SWITCH_NAME_MAX + 1];
    uint32_t network;
    int prefix;
    bool nat;
    int nmachines;
    struct cluster_machine machines[CLUSTER_MAX_MACHINES];
    int nforwards;
    struct switch_forward forwards[NET_MAX_FORWARDS];
    char *source;                    /* the file it came from (absolute), or NULL */
};

/* Reads a cluster file.  Errors say "FILE:LINE: KEY: what is wrong". */
int cluster_def_load_file(const char *path, struct cluster_def *d, struct err *e);
/* The same from text (name is what messages call it). */
int cluster_def_parse(const char *text, size_t len, const char *name, struct cluster_def *d,
                      struct err *e);
void cluster_def_free(struct cluster_def *d);

/* The normalized form (every address and MAC resolved), as cluster.json
 * keeps it and the daemon reads it. */
json_t *cluster_def_to_json(const struct cluster_def *d);
int cluster_def_from_json(json_t *o, struct cluster_def *d, struct err *e);
/* clusters/NAME/cluster.json. */
int cluster_def_save(const struct cluster_def *d, struct err *e);
int cluster_def_load(const char *name, struct cluster_def *d, struct err *e);
/* The switch's configuration for the definition. */
void cluster_switch_config(const struct cluster_def *d, struct switch_config *c);

/* $HOSTEL_HOME/clusters/NAME[/FILE]; clusters' names, sorted. */
int cluster_path(const char *name, const char *file, char *buf, size_t len);
int cluster_list(char ***names, int *count);
/* Whether the cluster's daemon runs (it holds clusters/NAME/lock). */
bool cluster_up(const char *name);
/* The machine's index in d, -1 when it is not one of d's. */
int cluster_find_machine(const struct cluster_def *d, const char *machine);
/* The cluster a machine's spec joins (its --net switch=NAME), into name;
 * false when it is on no switch. */
bool cluster_of_spec(const struct machine_spec *s, char *name, size_t len);

/* One request on a JSON-lines Unix socket and its reply (the machines' and
 * the clusters' control sockets).  Takes req.  NULL with e set on failure. */
json_t *cluster_socket_call(const char *path, json_t *req, int timeout_ms, struct err *e);
/* A request to the cluster's daemon. */
json_t *cluster_call(const char *name, json_t *req, struct err *e);

/* Stops the cluster's machines: the ACPI power button on each running
 * one, then, after timeout_s (0: at once), a kill, then SIGKILL for a VMM
 * that still holds its lock.  Machines already stopped or dead are left as
 * they are.  Returns how many had to be killed. */
int cluster_stop_machines(const struct cluster_def *d, int timeout_s);
/* Removes the cluster's machines (stopped) and its folder. */
int cluster_remove(const struct cluster_def *d, struct err *e);

/* The cluster daemon: holds the lock and the switch, serves the control
 * socket until "down" or SIGTERM.  Writes "ok" or "error: ..." to ready_fd
 * once listening.  Returns the exit status. */
int cluster_daemon_run(const char *name, int ready_fd);

#endif
