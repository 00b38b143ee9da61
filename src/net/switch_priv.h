/* The switch's insides, shared by its forwarding core (switch.c) and its
 * service host (switch_service.c: ARP, DHCP, DNS, ping).  Everything here is
 * used on the switch's thread under sw->lock. */
#ifndef HOSTEL_SWITCH_PRIV_H
#define HOSTEL_SWITCH_PRIV_H

#include <pthread.h>
#include <stdatomic.h>

#include "net/switch.h"

#define SW_MAX_PORTS   SWITCH_MAX_NODES
#define SW_MAC_TABLE   1024
#define SW_OUTQ        512             /* frames waiting for a slow port */
#define SW_LINK_LIMIT  1000            /* frames a shaped link holds, as netem's limit */
#define SW_MAX_FAULTS  256

/* A machine on the switch: one from the cluster file, one that joined
 * ad hoc, or node 0, the switch's own service host.  Nodes outlive their
 * ports, so a machine that restarts keeps its address, faults and counters. */
struct sw_node {
    bool used;
    char name[SWITCH_NAME_MAX + 1];
    uint8_t mac[6];
    uint32_t ip;                    /* host order; 0 until it has one */
    bool fixed;                     /* declared in the cluster file */
    bool leased;                    /* got a DHCP ACK */
    int port;                       /* its connected port, or -1 */
    unsigned connects;
    char label[64];
};

/* One direction between two nodes: the rule in force and what happened. */
struct sw_link {
    bool partitioned;
    struct switch_rule rule;
    bool retime;                    /* the rule changed: what waits leaves now */
    int64_t next_free_ns;           /* rate limit: when the wire is free again */
    unsigned queued;                /* frames in the delay queue */
    uint64_t sent, bytes, dropped, delayed, duplicated;
    uint64_t dropped_partition, dropped_loss, dropped_queue;
};

struct sw_frame {
    uint8_t *data;
    size_t len;
};

struct sw_port {
    int fd;                         /* -1: free */
    bool hello;                     /* the hello has been read */
    int node;
    uint32_t gen;                   /* bumped on every new connection in this slot */
    unsigned oq_head, oq_count;
    struct sw_frame oq[SW_OUTQ];
};

/* A frame held back by a delay or a rate limit. */
struct sw_delayed {
    int64_t when_ns;
    uint64_t seq;                   /* equal times leave in order */
    int port;
    uint32_t gen;
    int src, dst;                   /* nodes: the link it counts on */
    uint8_t *data;
    size_t len;
};

/* A fault as it was asked for (status shows these; links are derived). */
struct sw_fault {
    bool partition;
    int node;
    bool all_peers;
    int npeers;
    int peers[SWITCH_MAX_NODES];
    struct switch_rule rule;
};

struct sw_mac {
    uint8_t mac[6];
    int port;
};

struct net_switch {
    struct switch_config cfg;
    uint8_t service_mac[6];
    uint32_t netmask;
    pthread_mutex_t lock;
    pthread_t thread;
    bool thread_started;
    _Atomic bool stop;
    int listen_fd, wake_fd;
    char *socket_path;
    struct sw_node nodes[SWITCH_MAX_NODES];
    struct sw_port ports[SW_MAX_PORTS];
    struct sw_link *links;          /* SWITCH_MAX_NODES x SWITCH_MAX_NODES, [src][dst] */
    struct sw_mac macs[SW_MAC_TABLE];
    int nmacs;
    struct sw_delayed *heap;
    unsigned heap_len, heap_cap;
    uint64_t seq;
    int nfaults;
    struct sw_fault faults[SW_MAX_FAULTS];
    uint64_t rng[2];
    /* The gateway (libslirp): frames from it arrive through gw_queue. */
    struct net_backend *gw;
    struct net_frame_queue *gw_queue;
    struct net_forward gw_bound[NET_MAX_FORWARDS];
    /* DNS questions relayed to the host's resolver (nat only). */
    int dns_fd;
    uint32_t dns_upstream;          /* network order */
    struct { uint16_t id, client_id, client_port; uint32_t client_ip; uint8_t client_mac[6];
             int64_t at_ns; bool used; } dns_pending[64];
    uint16_t dns_next_id;
    uint8_t buf[NET_MAX_FRAME];
};

static inline struct sw_link *sw_link(struct net_switch *sw, int src, int dst)
{
    return &sw->links[(size_t)src * SWITCH_MAX_NODES + (size_t)dst];
}

int64_t sw_now_ns(void);
/* Sends a frame the service made to node dst (no faults apply). */
void sw_service_send(struct net_switch *sw, int dst, const uint8_t *frame, size_t len);
/* Finds a node by name (case-insensitive), -1 when none. */
int sw_node_by_name(struct net_switch *sw, const char *name);

/* The service host: 1 when it took the frame (for it alone), 0 when the
 * frame goes on (broadcasts it also read go on to everyone). */
int sw_service_input(struct net_switch *sw, int src, const uint8_t *frame, size_t len);
/* Answers from the host's resolver (the nat DNS relay). */
void sw_service_dns_upstream(struct net_switch *sw);
uint16_t sw_ip_checksum(const void *data, size_t len, uint32_t seed);

#endif
