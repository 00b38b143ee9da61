/* hostel's own Ethernet switch: the network of a cluster.  Machines join it
 * through a port (net/switch_port.c) over a Unix seqpacket socket; the
 * switch learns MAC addresses, forwards frames, answers DHCP (a fixed
 * address per machine) and DNS (machine names) from a service host of its
 * own, optionally hands the rest to a libslirp gateway (NAT, host port
 * forwards), and applies faults per link: partitions, loss, duplication,
 * delay with jitter, rate limits.  docs/clusters.md describes the model. */
#ifndef HOSTEL_SWITCH_H
#define HOSTEL_SWITCH_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"
#include "net/net.h"

#define SWITCH_NAME_MAX   63
#define SWITCH_MAX_NODES  128          /* machines, ad-hoc joiners and the service */
#define SWITCH_SERVICE    "gateway"    /* the name of the switch's own host (node 0) */

/* --net switch=NAME[,name=LABEL]: checks it and copies out the parts (name
 * or label may be NULL).  0 or -EINVAL with e set. */
int net_switch_parse(const char *spec, char *name, size_t nlen, char *label, size_t llen,
                     struct err *e);
/* Names of switches, clusters and ports: letters, digits, '-', '_', '.'
 * (no leading '.' or '-'), 1 to 63 characters.  what names the thing in e. */
int net_switch_name_check(const char *name, const char *what, struct err *e);
/* $HOSTEL_HOME/clusters/NAME[/FILE]. */
int net_switch_path(const char *name, const char *file, char *buf, size_t len);
#define SWITCH_SOCKET_FILE "switch.sock"

/* ---- the wire between a port and the switch (SOCK_SEQPACKET) ----------- */

/* The port speaks first with a hello; the switch answers with a welcome
 * (status 0, or a negative errno and why); then every message either way is
 * one Ethernet frame. */
#define SWITCH_MAGIC "HSW1"
struct switch_hello {
    char magic[4];
    uint8_t mac[6];
    uint8_t pad[2];
    uint32_t pid;
    char label[64];                 /* the machine's name, or "" */
};
struct switch_welcome {
    char magic[4];
    int32_t status;
    char msg[256];
};

/* ---- the switch ------------------------------------------------------- */

/* A machine the cluster file declares: its name, MAC and fixed address. */
struct switch_host {
    char name[SWITCH_NAME_MAX + 1];
    uint8_t mac[6];
    uint32_t ip;                    /* host byte order */
};

/* A host port forwarded to a machine through the gateway. */
struct switch_forward {
    struct net_forward f;           /* f.guest_addr: the machine's address */
    char machine[SWITCH_NAME_MAX + 1];
};

struct switch_config {
    char name[SWITCH_NAME_MAX + 1];  /* the cluster's: also the DNS domain */
    uint32_t network;                /* host byte order */
    int prefix;                      /* 8..30 */
    uint32_t service_ip;             /* the switch's host: DHCP server, DNS, router */
    uint32_t pool_first, pool_last;  /* addresses for machines not in the file */
    int nhosts;
    struct switch_host hosts[SWITCH_MAX_NODES - 1];
    /* A libslirp gateway at service_ip: NAT to the host's networks (nat)
     * and forwards from host ports to machines. */
    bool nat;
    int nforwards;
    struct switch_forward forwards[NET_MAX_FORWARDS];
    uint32_t lease_s;                /* DHCP lease time */
    /* Called once the switch's socket listens and its gateway is open,
     * before its thread starts (a root jail needs one thread); an error
     * stops the switch.  Optional. */
    int (*confine)(void *opaque, struct err *e);
    void *confine_opaque;
};

/* What a fault does to the frames on a link (from one machine to another).
 * Only frames the source sends are affected: degrading n2 is like netem on
 * n2's interface, so a round trip through n2 pays the delay once. */
struct switch_rule {
    double loss;                     /* 0..1: drop probability */
    double duplicate;                /* 0..1: probability of a second copy */
    uint64_t delay_ns, jitter_ns;    /* each frame waits delay +- jitter (uniform) */
    uint64_t rate_bps;               /* 0: unlimited */
};

struct net_switch;

/* Opens the switch: listens on socket_path (replacing a stale socket),
 * opens the gateway when the config asks for one, calls confine, starts
 * its thread.  The
 * forwards' host ports are chosen here (port 0: any free one); see
 * switch_status_json.  On failure e says what failed. */
int switch_create(const struct switch_config *c, const char *socket_path,
                  struct net_switch **out, struct err *e);
void switch_destroy(struct net_switch *sw);

/* Faults.  machine and peers are node names; peers NULL (or npeers 0):
 * every other machine, including ones that join later.  Partition cuts
 * both directions; degrade sets the rule for frames machine sends to each
 * peer (replacing an earlier one there).  Heal removes every fault of
 * machine, or all faults when machine is NULL.  -ENOENT (e names it) for a
 * name the switch does not know. */
int switch_partition(struct net_switch *sw, const char *machine, const char *const *peers,
                     int npeers, struct err *e);
int switch_degrade(struct net_switch *sw, const char *machine, const char *const *peers,
                   int npeers, const struct switch_rule *rule, struct err *e);
int switch_heal(struct net_switch *sw, const char *machine, struct err *e);

/* Everything the switch knows, for status and info: {"name", "network",
 * "service", "nodes": [{"name", "mac", "address", "fixed", "connected",
 * "lease", "label", "ports"}], "faults": [...], "links": [{"from", "to",
 * "sent", "bytes", "dropped", "delayed", "duplicated", "dropped_partition",
 * "dropped_loss", "dropped_queue"}], "forwards": [...]}.  Links without
 * traffic are left out; with machine set only its nodes' links and faults. */
json_t *switch_status_json(struct net_switch *sw, const char *machine);

/* Parsers for the fault options, shared by the CLI and the control API:
 * "20%" (or "20"), "100ms" ("1s", "500us", "0"), "1mbit" ("100kbit",
 * "1gbit", "8000bit" or a bare number of bits per second). */
int switch_parse_percent(const char *s, double *out);
int switch_parse_duration(const char *s, uint64_t *ns);
int switch_parse_rate(const char *s, uint64_t *bps);
/* "1mbit", "100ms", "20%": the forms the parsers read. */
void switch_format_rate(uint64_t bps, char *buf, size_t len);
void switch_format_duration(uint64_t ns, char *buf, size_t len);

/* IPv4 helpers (host byte order). */
int switch_parse_cidr(const char *s, uint32_t *network, int *prefix);
int switch_parse_ip(const char *s, uint32_t *ip);
void switch_format_ip(uint32_t ip, char *buf, size_t len);
/* The MAC a cluster gives its machine: 52:54:00 and a hash of both names. */
void switch_machine_mac(const char *cluster, const char *machine, uint8_t mac[6]);

#endif
