/* Network backends: where a virtual NIC's Ethernet frames go.  A backend
 * (user-mode NAT through libslirp, or a host tap device) runs its own
 * thread; the NIC hands it frames with net_send, which never blocks, and it
 * hands frames to the NIC through the receive callback on that thread. */
#ifndef HOSTEL_NET_H
#define HOSTEL_NET_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "lib/err.h"

/* Largest Ethernet frame either way (no offloads: MTU 1500 plus header and
 * a VLAN tag, with room for jumbo frames on tap). */
#define NET_MAX_FRAME  65550
#define NET_MIN_FRAME  14          /* an Ethernet header */

enum net_mode {
    NET_MODE_DEFAULT = 0,          /* none, or user when --forward asks (net_effective_mode) */
    NET_MODE_NONE,
    NET_MODE_USER,
    NET_MODE_TAP,
    NET_MODE_SWITCH,               /* a port on hostel's own switch (net/switch_port.c) */
};

#define NET_MAX_FORWARDS 16

/* A host port forwarded to the guest (user mode only). */
struct net_forward {
    bool udp;
    uint32_t host_addr;            /* network byte order; 127.0.0.1 by default */
    uint16_t host_port;            /* 0: a free port, chosen when the network opens */
    uint16_t guest_port;
    uint32_t guest_addr;           /* network byte order; 0: the user network's guest */
};

struct net_options {
    enum net_mode mode;
    bool restrict_outbound;        /* user mode: the guest reaches nothing but forwards */
    unsigned user_mtu;             /* user mode: the link's MTU (mtu=N; 0: NET_USER_MTU) */
    const char *tap_name;          /* tap mode */
    const char *switch_spec;       /* switch mode: "NAME[,name=LABEL]" */
    /* User mode: libslirp's TFTP server serves this folder ("" for none) and
     * its DHCP answers name bootfile as the boot file (PXE). */
    char tftp_root[1024];
    char bootfile[256];
    struct net_forward forwards[NET_MAX_FORWARDS];
    int nforwards;
    bool mac_set;
    uint8_t mac[6];
    /* When set (NET_MAX_FORWARDS entries), the user backend writes here the
     * forwards it set up, entry i for forwards[i], with the host port it
     * really listens on; an entry that already holds a port for the same
     * forward (from the boot before a reboot) is tried first, so a chosen
     * port stays put across guest reboots. */
    struct net_forward *bound;
    /* User mode on another network than QEMU's 10.0.2.0/24, as a cluster's
     * gateway on its switch (net/switch.c) runs it: addresses in network
     * byte order (network 0: the defaults above), and libslirp's own DHCP
     * and DNS off (the switch answers those). */
    struct {
        uint32_t network, netmask, host;
        bool no_dhcp_dns;
    } user_net;
    /* Live migration's receiver: open without listening on the forwards'
     * host ports, which the sender still holds (net_backend_add_forwards
     * later, with bound holding the ports to take over). */
    bool defer_forwards;
};

/* User-mode network addresses (the same as QEMU's, which guests expect). */
#define NET_USER_NETWORK  "10.0.2.0"
#define NET_USER_NETMASK  "255.255.255.0"
#define NET_USER_HOST     "10.0.2.2"
#define NET_USER_DNS      "10.0.2.3"
#define NET_USER_GUEST    "10.0.2.15"
/* User mode's link MTU, told to the guest by its NIC: libslirp ends every
 * connection in this process, so no wire limits the packets, and 11 times
 * fewer, larger ones cost the guest's stack (on emu, the guest's CPU is
 * the limit) less per byte.  Not passt's 65520: libslirp's send buffer
 * then holds only a few segments, and transfers stalled for seconds.  A
 * cluster's gateway stays at 1500 (its switch's).  --net user,mtu=N sets
 * another, from NET_USER_MTU_MIN (the least Linux and libslirp take) to
 * NET_USER_MTU_MAX (the most libslirp takes); 1500 is plain Ethernet's. */
#define NET_USER_MTU      16384
#define NET_USER_MTU_MIN  68
#define NET_USER_MTU_MAX  65521

/* Called on the backend's thread with one frame for the guest. */
typedef void (*net_receive_fn)(void *opaque, const uint8_t *frame, size_t len);

struct net_backend;
struct err;
struct state_in;
struct state_out;

struct net_backend_ops {
    const char *name;
    /* Takes a copy of the frame; drops it (returns -EAGAIN) when full. */
    int (*send)(struct net_backend *nb, const uint8_t *frame, size_t len);
    void (*close)(struct net_backend *nb);
    enum net_mode mode;            /* NET_MODE_USER or NET_MODE_TAP: what a snapshot records */
    /* Optional (a backend without state has none): the backend's own part
     * of net_backend_save and net_backend_load, after the kind. */
    int (*save)(struct net_backend *nb, struct state_out *o);
    int (*load)(struct net_backend *nb, struct state_in *in, struct err *e);
    /* Optional, for live migration (below). */
    void (*set_receive)(struct net_backend *nb, net_receive_fn fn, void *opaque);
    int (*add_forwards)(struct net_backend *nb, const struct net_options *o, struct err *e);
    void (*release_forwards)(struct net_backend *nb);
    int (*connections)(struct net_backend *nb);
};

/* Live migration's look at a backend's frames (net/split.c): from_guest
 * may take a frame the guest sends (true: the backend never sees it);
 * to_guest sees each frame the backend hands the guest. */
struct net_hook {
    bool (*from_guest)(void *opaque, const uint8_t *frame, size_t len);
    void (*to_guest)(void *opaque, const uint8_t *frame, size_t len);
    void *opaque;
};

struct net_backend {
    const struct net_backend_ops *ops;
    net_receive_fn receive;
    void *receive_opaque;
    /* Counters for messages and tests (relaxed atomics). */
    _Atomic uint64_t tx_frames, tx_dropped, rx_frames;
    /* Set once, kept until the backend closes. */
    const struct net_hook *_Atomic hook;
    /* The backend's frame log (net/trace.h; NULL: none): its NIC notes
     * there what happens to frames on the backend's thread. */
    struct net_trace *trace;
};

/* The largest IP packet the backend o opens takes and sends: for user mode
 * on its own network o->user_mtu, or NET_USER_MTU when none was given; else
 * Ethernet's 1500.  A NIC that can tell its guest (virtio-net's F_MTU)
 * does. */
unsigned net_link_mtu(const struct net_options *o);

/* Every frame the backend o opens hands the guest carries correct IP, TCP
 * and UDP checksums, made in this process (user mode: libslirp builds every
 * packet itself), so a NIC may tell the guest they need no checking
 * (virtio-net's DATA_VALID).  Not so for frames from a wire or other guests. */
bool net_link_checksummed(const struct net_options *o);

/* Parses "tcp:HOSTPORT:GUESTPORT", "udp:ADDR:HOSTPORT:GUESTPORT", ... into
 * *f; 0 or -EINVAL with a message in e. */
int net_parse_forward(const char *spec, struct net_forward *f, struct err *e);

/* "tcp:127.0.0.1:2222:22", the form net_parse_forward reads back. */
void net_format_forward(const struct net_forward *f, char *buf, size_t len);

/* The same protocol and guest port: one replaces the other. */
bool net_forward_same_guest(const struct net_forward *a, const struct net_forward *b);

/* Adds f to o's forwards unless one for the same protocol and guest port is
 * there already (a --forward on the command line replaces an appliance's).
 * 1: added, 0: replaced by the existing one, -ENOSPC: no room left. */
int net_add_default_forward(struct net_options *o, const struct net_forward *f);

/* A free port on the host address (network byte order) for udp or tcp:
 * binds port 0, reads the port the kernel chose, and lets it go.  Someone
 * else may take it before we bind it again; callers retry. */
int net_pick_free_port(bool udp, uint32_t host_addr, uint16_t *port);

/* Parses a --net MODE: "user[,restrict=on|off][,mtu=N][,tftp=DIR][,bootfile=FILE]",
 * "tap=NAME", "switch=NAME[,name=LABEL]" or "none".  tap_name and
 * switch_spec point into spec, which must outlive o. */
int net_parse_mode(const char *spec, struct net_options *o, struct err *e);

/* Parses "52:54:00:12:34:56"; rejects multicast addresses. */
int net_parse_mac(const char *s, uint8_t mac[6]);

/* A stable locally administered MAC 52:54:00:xx:xx:xx from a hash of the
 * seed strings (kernel path and command line), so a machine keeps its
 * address (and DHCP lease) from one boot to the next. */
void net_default_mac(const char *seed1, const char *seed2, uint8_t mac[6]);

/* True when this build has user-mode networking (libslirp). */
bool net_user_available(void);

/* What the options come to: NET_MODE_DEFAULT is no NIC, unless forwards are
 * given (they imply user networking).  The default is none so that a machine
 * gets the devices it was asked for; flip it here to give every machine
 * user networking. */
enum net_mode net_effective_mode(const struct net_options *o);

/* Opens the backend the options ask for; frames for the guest go to
 * receive(opaque, ...) once it runs.  On failure e says what failed and
 * what to do. */
int net_backend_open(const struct net_options *o, net_receive_fn receive, void *opaque,
                     struct net_backend **out, struct err *e);

/* Snapshots of a backend (docs/snapshot-state.md): its kind (none, user,
 * tap), then what that kind keeps.  User networking keeps libslirp's state
 * (slirp_state_save: the DHCP leases and the IP ID counter; libslirp saves
 * host connections only for guest forwards, which hostel does not make, so
 * a guest's TCP connections through the NAT do not survive a restore: the
 * guest sees them reset).  A tap keeps nothing.  nb may be NULL (no
 * network: kind none).  Save fails only with -ENOMEM; load goes into a
 * freshly opened backend of the same kind, and refuses a stream of another
 * kind, or one libslirp could not read, with -EINVAL and a message in e.
 * Both briefly stop the backend's thread (libslirp is not thread-safe). */
#define NET_BACKEND_STATE_VERSION 1
int net_backend_save(struct net_backend *nb, struct state_out *o);
int net_backend_load(struct net_backend *nb, struct state_in *in, struct err *e);

static inline int net_send(struct net_backend *nb, const uint8_t *frame, size_t len)
{
    const struct net_hook *h = atomic_load_explicit(&nb->hook, memory_order_acquire);
    if (h && h->from_guest && h->from_guest(h->opaque, frame, len))
        return 0;
    return nb->ops->send(nb, frame, len);
}

/* ---- live migration (docs/migration.md) ---- */

/* Installs the hook (it must outlive the backend). */
void net_backend_set_hook(struct net_backend *nb, const struct net_hook *h);
/* Hands the guest a frame as if the backend had received it; any thread. */
void net_backend_inject(struct net_backend *nb, const uint8_t *frame, size_t len);
/* The sender after switch-over: the backend outlives its NIC and hands its
 * frames to fn (user networking only; -ENOTSUP otherwise). */
int net_backend_set_receive(struct net_backend *nb, net_receive_fn fn, void *opaque);
/* Stops listening on the forwards' host ports (the sender, so that the
 * receiver on the same host can take them); connections already made stay. */
void net_backend_release_forwards(struct net_backend *nb);
/* Listens on o's forwards now (a backend opened with defer_forwards), with
 * o->bound as for net_backend_open. */
int net_backend_add_forwards(struct net_backend *nb, const struct net_options *o,
                             struct err *e);
/* TCP connections the backend still carries, not counting listeners:
 * the sender's drain ends at 0.  -ENOTSUP when the backend cannot tell. */
int net_backend_connections(struct net_backend *nb);

static inline void net_backend_close(struct net_backend *nb)
{
    if (nb)
        nb->ops->close(nb);
}

/* The backends (net_backend_open picks). */
int net_slirp_open(const struct net_options *o, net_receive_fn receive, void *opaque,
                   struct net_backend **out, struct err *e);
int net_tap_open(const char *name, net_receive_fn receive, void *opaque,
                 struct net_backend **out, struct err *e);
/* A port on the switch o->switch_spec names, announced with o->mac. */
int net_switch_open(const struct net_options *o, net_receive_fn receive, void *opaque,
                    struct net_backend **out, struct err *e);

/* "user", "tap", "switch" or "none": for messages. */
const char *net_mode_name(enum net_mode m);

/* A bounded queue of frames from a device thread to a backend thread,
 * with an eventfd the backend polls. */
struct net_frame_queue;
int net_frame_queue_create(unsigned capacity, struct net_frame_queue **out);
void net_frame_queue_destroy(struct net_frame_queue *q);
int net_frame_queue_fd(const struct net_frame_queue *q);
/* -EAGAIN when full (the frame is dropped), -EMSGSIZE when too big. */
int net_frame_queue_put(struct net_frame_queue *q, const uint8_t *frame, size_t len);
/* Takes the oldest frame into buf (NET_MAX_FRAME bytes); returns its length,
 * or 0 when empty.  Clears the eventfd when it empties. */
size_t net_frame_queue_get(struct net_frame_queue *q, uint8_t *buf);

#endif
