/* The receiver's split between its own network and the sender's old
 * connections after a live migration (net/split.h). */
#include "net/split.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "net/net.h"

#define FLOWS 4096               /* connections this side opened (a power of two) */
#define TCP_SYN 0x02
#define TCP_ACK 0x10

/* A TCP connection as the guest sees it: its port, the peer's address and port. */
struct flow {
    uint32_t peer;
    uint16_t port, peer_port;
    uint64_t seen;               /* 0: free */
};

struct net_split {
    struct net_backend *nb;
    void (*to_old)(void *opaque, const uint8_t *frame, size_t len);
    void *opaque;
    struct net_hook hook;
    _Atomic bool ended;
    _Atomic uint64_t old_frames;
    pthread_mutex_t lock;
    uint64_t clock;
    struct flow flows[FLOWS];
};

struct tcp_info {
    uint32_t src, dst;
    uint16_t sport, dport;
    uint8_t flags;
};

/* An IPv4 TCP segment's addresses, ports and flags; false for anything else. */
static bool parse_tcp(const uint8_t *f, size_t len, struct tcp_info *t)
{
    if (len < 14 + 20 || f[12] != 0x08 || f[13] != 0x00)
        return false;
    const uint8_t *ip = f + 14;
    unsigned ihl = (ip[0] & 0x0f) * 4u;
    if ((ip[0] >> 4) != 4 || ihl < 20 || len < 14 + ihl + 20 || ip[9] != 6)
        return false;
    if ((ip[6] & 0x1f) || ip[7])
        return false;   /* a fragment after the first: no ports here */
    const uint8_t *tcp = ip + ihl;
    memcpy(&t->src, ip + 12, 4);
    memcpy(&t->dst, ip + 16, 4);
    t->sport = (uint16_t)(tcp[0] << 8 | tcp[1]);
    t->dport = (uint16_t)(tcp[2] << 8 | tcp[3]);
    t->flags = tcp[13];
    return true;
}

static unsigned slot_of(uint32_t peer, uint16_t port, uint16_t peer_port)
{
    uint32_t h = peer * 2654435761u ^ ((uint32_t)port << 16 | peer_port) * 40503u;
    return (h ^ (h >> 15)) & (FLOWS - 1);
}

/* Under lock. */
static struct flow *find(struct net_split *s, uint32_t peer, uint16_t port, uint16_t peer_port)
{
    unsigned i = slot_of(peer, port, peer_port);
    for (unsigned k = 0; k < 8; k++) {
        struct flow *f = &s->flows[(i + k) & (FLOWS - 1)];
        if (f->seen && f->peer == peer && f->port == port && f->peer_port == peer_port)
            return f;
    }
    return NULL;
}

static void remember(struct net_split *s, uint32_t peer, uint16_t port, uint16_t peer_port)
{
    struct flow *f = find(s, peer, port, peer_port);
    if (!f) {
        unsigned i = slot_of(peer, port, peer_port);
        struct flow *oldest = NULL;
        for (unsigned k = 0; k < 8; k++) {
            struct flow *c = &s->flows[(i + k) & (FLOWS - 1)];
            if (!c->seen) {
                oldest = c;
                break;
            }
            if (!oldest || c->seen < oldest->seen)
                oldest = c;
        }
        f = oldest;
        f->peer = peer;
        f->port = port;
        f->peer_port = peer_port;
    }
    f->seen = ++s->clock;
}

int net_split_classify_from_guest(struct net_split *s, const uint8_t *frame, size_t len)
{
    if (atomic_load(&s->ended))
        return 0;
    if (len >= 14 && frame[12] == 0x08 && frame[13] == 0x06)
        return 2;   /* ARP: the old side may need the guest's answers too */
    struct tcp_info t;
    if (!parse_tcp(frame, len, &t))
        return 0;
    pthread_mutex_lock(&s->lock);
    int r;
    if ((t.flags & (TCP_SYN | TCP_ACK)) == TCP_SYN) {
        remember(s, t.dst, t.sport, t.dport);   /* the guest opens a connection here */
        r = 0;
    } else {
        struct flow *f = find(s, t.dst, t.sport, t.dport);
        if (f)
            f->seen = ++s->clock;
        r = f ? 0 : 1;
    }
    pthread_mutex_unlock(&s->lock);
    return r;
}

static bool from_guest(void *opaque, const uint8_t *frame, size_t len)
{
    struct net_split *s = opaque;
    int c = net_split_classify_from_guest(s, frame, len);
    if (c == 0)
        return false;
    atomic_fetch_add(&s->old_frames, 1);
    s->to_old(s->opaque, frame, len);
    return c == 1;
}

/* This side's frames for the guest: a SYN from here opens a connection of
 * this side's (a forward's new client). */
static void to_guest(void *opaque, const uint8_t *frame, size_t len)
{
    struct net_split *s = opaque;
    struct tcp_info t;
    if (atomic_load(&s->ended) || !parse_tcp(frame, len, &t) || !(t.flags & TCP_SYN))
        return;
    pthread_mutex_lock(&s->lock);
    remember(s, t.src, t.dport, t.sport);
    pthread_mutex_unlock(&s->lock);
}

int net_split_create(struct net_backend *nb,
                     void (*to_old)(void *opaque, const uint8_t *frame, size_t len),
                     void *opaque, struct net_split **out)
{
    struct net_split *s = calloc(1, sizeof(*s));
    if (!s)
        return -ENOMEM;
    s->nb = nb;
    s->to_old = to_old;
    s->opaque = opaque;
    pthread_mutex_init(&s->lock, NULL);
    s->hook = (struct net_hook){ .from_guest = from_guest, .to_guest = to_guest, .opaque = s };
    if (nb)
        net_backend_set_hook(nb, &s->hook);
    *out = s;
    return 0;
}

void net_split_inject(struct net_split *s, const uint8_t *frame, size_t len)
{
    if (s->nb && !atomic_load(&s->ended))
        net_backend_inject(s->nb, frame, len);
}

void net_split_end(struct net_split *s)
{
    atomic_store(&s->ended, true);
}

uint64_t net_split_old_frames(const struct net_split *s)
{
    return atomic_load(&s->old_frames);
}

void net_split_destroy(struct net_split *s)
{
    if (!s)
        return;
    pthread_mutex_destroy(&s->lock);
    free(s);
}
