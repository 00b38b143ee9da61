/* What every network backend shares: option parsing (forwards, MAC
 * addresses), the stable default MAC, the device-to-backend frame queue, and
 * the choice of backend. */
#include "net/net.h"

#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/state.h"
#include "net/switch.h"

static int parse_port(const char *s, uint16_t *port, long min)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < min || v > 65535)
        return -EINVAL;
    *port = (uint16_t)v;
    return 0;
}

int net_parse_forward(const char *spec, struct net_forward *f, struct err *e)
{
    char buf[128];
    char *parts[4];
    int n = 0;
    memset(f, 0, sizeof(*f));
    if (strlen(spec) >= sizeof(buf))
        return err_set(e, -EINVAL, "--forward '%.40s...': too long", spec);
    strcpy(buf, spec);
    char *rest = buf, *p;
    while ((p = strsep(&rest, ":"))) {
        if (n == 4 || !*p) {
            n = 5;                       /* too many fields, or an empty one */
            break;
        }
        parts[n++] = p;
    }
    if (n != 3 && n != 4)
        goto bad;
    if (!strcmp(parts[0], "udp"))
        f->udp = true;
    else if (strcmp(parts[0], "tcp"))
        goto bad;
    struct in_addr a = { htonl(INADDR_LOOPBACK) };
    if (n == 4 && inet_pton(AF_INET, parts[1], &a) != 1)
        return err_set(e, -EINVAL, "--forward '%s': '%s' is not an IPv4 address", spec, parts[1]);
    f->host_addr = a.s_addr;
    if (parse_port(parts[n - 2], &f->host_port, 0) < 0 || parse_port(parts[n - 1], &f->guest_port, 1) < 0)
        return err_set(e, -EINVAL, "--forward '%s': ports are numbers from 1 to 65535 (host "
                       "port 0: any free port)", spec);
    return 0;
bad:
    return err_set(e, -EINVAL,
                   "--forward '%s': write tcp:HOSTPORT:GUESTPORT or udp:..., optionally with the "
                   "host address first (tcp:0.0.0.0:8080:80)", spec);
}

void net_format_forward(const struct net_forward *f, char *buf, size_t len)
{
    char a[INET_ADDRSTRLEN];
    struct in_addr in = { f->host_addr };
    inet_ntop(AF_INET, &in, a, sizeof(a));
    snprintf(buf, len, "%s:%s:%u:%u", f->udp ? "udp" : "tcp", a, f->host_port, f->guest_port);
}

bool net_forward_same_guest(const struct net_forward *a, const struct net_forward *b)
{
    return a->udp == b->udp && a->guest_port == b->guest_port;
}

int net_add_default_forward(struct net_options *o, const struct net_forward *f)
{
    for (int i = 0; i < o->nforwards; i++)
        if (net_forward_same_guest(&o->forwards[i], f))
            return 0;
    if (o->nforwards >= NET_MAX_FORWARDS)
        return -ENOSPC;
    o->forwards[o->nforwards++] = *f;
    return 1;
}

int net_pick_free_port(bool udp, uint32_t host_addr, uint16_t *port)
{
    int fd = socket(AF_INET, (udp ? SOCK_DGRAM : SOCK_STREAM) | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -errno;
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = host_addr };
    socklen_t len = sizeof(sa);
    int r = 0;
    if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        getsockname(fd, (struct sockaddr *)&sa, &len) < 0)
        r = -errno;
    else
        *port = ntohs(sa.sin_port);
    close(fd);
    return r;
}

unsigned net_link_mtu(const struct net_options *o)
{
    if (net_effective_mode(o) != NET_MODE_USER || o->user_net.network)
        return 1500;
    return o->user_mtu ? o->user_mtu : NET_USER_MTU;
}

/* "mtu=N" of --net user: N in NET_USER_MTU_MIN..NET_USER_MTU_MAX. */
static int parse_mtu(const char *spec, const char *p, size_t n, unsigned *mtu, struct err *e)
{
    char buf[16];
    size_t k = n - 4;                        /* after "mtu=" */
    unsigned long v = 0;
    bool ok = k > 0 && k < sizeof(buf);
    if (ok) {
        memcpy(buf, p + 4, k);
        buf[k] = 0;
        char *end;
        errno = 0;
        v = strtoul(buf, &end, 10);
        ok = buf[0] >= '0' && buf[0] <= '9' && !*end && !errno && v >= NET_USER_MTU_MIN &&
             v <= NET_USER_MTU_MAX;
    }
    if (!ok)
        return err_set(e, -EINVAL, "--net '%s': mtu '%.*s' is not a number from %d to %d (the "
                       "largest IP packet on the link, in bytes; 1500 is Ethernet's, the "
                       "default %d)", spec, (int)k, p + 4, NET_USER_MTU_MIN, NET_USER_MTU_MAX,
                       NET_USER_MTU);
    *mtu = (unsigned)v;
    return 0;
}

bool net_link_checksummed(const struct net_options *o)
{
    return net_effective_mode(o) == NET_MODE_USER;
}

int net_parse_mode(const char *spec, struct net_options *o, struct err *e)
{
    if (!strcmp(spec, "none")) {
        o->mode = NET_MODE_NONE;
        return 0;
    }
    if (!strncmp(spec, "switch=", 7)) {
        int r = net_switch_parse(spec + 7, NULL, 0, NULL, 0, e);
        if (r < 0)
            return r;
        o->mode = NET_MODE_SWITCH;
        o->switch_spec = spec + 7;
        return 0;
    }
    if (!strncmp(spec, "tap=", 4)) {
        if (!spec[4] || strlen(spec + 4) > 15 || strchr(spec + 4, ','))
            return err_set(e, -EINVAL, "--net '%s': tap=NAME takes an interface name of 1 to "
                           "15 characters", spec);
        o->mode = NET_MODE_TAP;
        o->tap_name = spec + 4;
        return 0;
    }
    const char *p = spec;
    if (strncmp(p, "user", 4) || (p[4] && p[4] != ','))
        return err_set(e, -EINVAL, "--net '%s': choose user, user,restrict=on, tap=NAME, switch=NAME or "
                           "none",
                       spec);
    bool restrict_outbound = false;
    unsigned mtu = 0;
    for (p += 4; *p; ) {
        p++;                                  /* the comma */
        size_t n = strcspn(p, ",");
        if (n == strlen("restrict=on") && !strncmp(p, "restrict=on", n)) {
            restrict_outbound = true;
        } else if (n == strlen("restrict=off") && !strncmp(p, "restrict=off", n)) {
            restrict_outbound = false;
        } else if (n >= 4 && !strncmp(p, "mtu=", 4)) {
            int r = parse_mtu(spec, p, n, &mtu, e);
            if (r < 0)
                return r;
        } else if (!strncmp(p, "tftp=", 5) || !strncmp(p, "bootfile=", 9)) {
            bool tftp = p[0] == 't';
            size_t k = tftp ? 5 : 9;
            char *dst = tftp ? o->tftp_root : o->bootfile;
            size_t cap = tftp ? sizeof(o->tftp_root) : sizeof(o->bootfile);
            if (n == k || n - k >= cap)
                return err_set(e, -EINVAL, "--net '%s': %.*s takes a %s of 1 to %zu characters",
                               spec, (int)k - 1, p, tftp ? "folder" : "file name", cap - 1);
            memcpy(dst, p + k, n - k);
            dst[n - k] = 0;
        } else {
            return err_set(e, -EINVAL, "--net '%s': cannot understand '%.*s' (restrict=on|off, "
                           "mtu=N, tftp=DIR, bootfile=FILE)", spec, (int)n, p);
        }
        p += n;
    }
    o->mode = NET_MODE_USER;
    o->restrict_outbound = restrict_outbound;
    o->user_mtu = mtu;
    return 0;
}

int net_parse_mac(const char *s, uint8_t mac[6])
{
    unsigned v[6];
    char tail;
    if (sscanf(s, "%2x:%2x:%2x:%2x:%2x:%2x%c", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5],
               &tail) != 6 || strlen(s) != 17)
        return -EINVAL;
    if (v[0] & 1)
        return -EINVAL;                  /* multicast: no NIC can own it */
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)v[i];
    return 0;
}

/* FNV-1a: small and stable across builds and hosts, which is all we need. */
static uint32_t fnv1a(uint32_t h, const char *s)
{
    for (; s && *s; s++) {
        h ^= (uint8_t)*s;
        h *= 16777619u;
    }
    return h;
}

void net_default_mac(const char *seed1, const char *seed2, uint8_t mac[6])
{
    uint32_t h = fnv1a(2166136261u, seed1);
    h = fnv1a(h ^ 0xff, seed2);
    mac[0] = 0x52;
    mac[1] = 0x54;
    mac[2] = 0x00;
    mac[3] = (uint8_t)(h >> 16);
    mac[4] = (uint8_t)(h >> 8);
    mac[5] = (uint8_t)h;
}

enum net_mode net_effective_mode(const struct net_options *o)
{
    if (!o)
        return NET_MODE_NONE;
    if (o->mode == NET_MODE_DEFAULT)
        return o->nforwards ? NET_MODE_USER : NET_MODE_NONE;
    return o->mode;
}

int net_backend_open(const struct net_options *o, net_receive_fn receive, void *opaque,
                     struct net_backend **out, struct err *e)
{
    *out = NULL;
    switch (net_effective_mode(o)) {
    case NET_MODE_NONE:
    case NET_MODE_DEFAULT:
        return 0;
    case NET_MODE_USER:
        return net_slirp_open(o, receive, opaque, out, e);
    case NET_MODE_TAP:
        if (o->nforwards)
            return err_set(e, -EINVAL, "--forward works with --net user only (a tap device is "
                           "reached directly from the host)");
        return net_tap_open(o->tap_name, receive, opaque, out, e);
    case NET_MODE_SWITCH:
        if (o->nforwards)
            return err_set(e, -EINVAL, "--forward works with --net user only (on a switch, "
                           "forwards belong to the cluster file: docs/clusters.md)");
        return net_switch_open(o, receive, opaque, out, e);
    }
    return err_set(e, -EINVAL, "unknown network mode %d", (int)o->mode);
}

const char *net_mode_name(enum net_mode m)
{
    switch (m) {
    case NET_MODE_USER: return "user";
    case NET_MODE_TAP: return "tap";
    case NET_MODE_SWITCH: return "switch";
    default: return "none";
    }
}

/* ---- the frame queue ---- */

struct net_frame_queue {
    pthread_mutex_t lock;
    int efd;
    unsigned cap, head, count;
    struct { uint8_t *data; size_t len; } *slot;
};

int net_frame_queue_create(unsigned capacity, struct net_frame_queue **out)
{
    struct net_frame_queue *q = calloc(1, sizeof(*q));
    if (!q)
        return -ENOMEM;
    q->slot = calloc(capacity, sizeof(*q->slot));
    q->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (!q->slot || q->efd < 0) {
        int r = q->efd < 0 ? -errno : -ENOMEM;
        if (q->efd >= 0)
            close(q->efd);
        free(q->slot);
        free(q);
        return r;
    }
    q->cap = capacity;
    pthread_mutex_init(&q->lock, NULL);
    *out = q;
    return 0;
}

void net_frame_queue_destroy(struct net_frame_queue *q)
{
    if (!q)
        return;
    for (unsigned i = 0; i < q->count; i++)
        free(q->slot[(q->head + i) % q->cap].data);
    close(q->efd);
    pthread_mutex_destroy(&q->lock);
    free(q->slot);
    free(q);
}

int net_frame_queue_fd(const struct net_frame_queue *q)
{
    return q->efd;
}

int net_frame_queue_put(struct net_frame_queue *q, const uint8_t *frame, size_t len)
{
    if (len < NET_MIN_FRAME || len > NET_MAX_FRAME)
        return -EMSGSIZE;
    uint8_t *copy = malloc(len);
    if (!copy)
        return -ENOMEM;
    memcpy(copy, frame, len);
    pthread_mutex_lock(&q->lock);
    if (q->count == q->cap) {
        pthread_mutex_unlock(&q->lock);
        free(copy);
        return -EAGAIN;
    }
    unsigned i = (q->head + q->count) % q->cap;
    q->slot[i].data = copy;
    q->slot[i].len = len;
    q->count++;
    pthread_mutex_unlock(&q->lock);
    uint64_t one = 1;
    /* Cannot block (EFD_NONBLOCK) and cannot overflow in practice. */
    if (write(q->efd, &one, sizeof(one)) < 0) {
        /* The counter is saturated: the reader is already woken. */
    }
    return 0;
}

size_t net_frame_queue_get(struct net_frame_queue *q, uint8_t *buf)
{
    size_t len = 0;
    pthread_mutex_lock(&q->lock);
    if (q->count == 0) {
        uint64_t v;
        /* Clear under the lock, so a put after this rewakes the reader. */
        if (read(q->efd, &v, sizeof(v)) < 0) {
            /* EAGAIN: already clear */
        }
        pthread_mutex_unlock(&q->lock);
        return 0;
    }
    uint8_t *data = q->slot[q->head].data;
    len = q->slot[q->head].len;
    q->head = (q->head + 1) % q->cap;
    q->count--;
    pthread_mutex_unlock(&q->lock);
    memcpy(buf, data, len);
    free(data);
    return len;
}

/* ---- snapshots ---- */

/* The kind as a snapshot stores it: numbers of the format, not of the enum. */
enum { STATE_KIND_NONE = 0, STATE_KIND_USER = 1, STATE_KIND_TAP = 2, STATE_KIND_SWITCH = 3 };

static uint8_t state_kind(const struct net_backend *nb)
{
    if (!nb)
        return STATE_KIND_NONE;
    if (nb->ops->mode == NET_MODE_SWITCH)
        return STATE_KIND_SWITCH;
    return nb->ops->mode == NET_MODE_TAP ? STATE_KIND_TAP : STATE_KIND_USER;
}

static const char *kind_name(unsigned kind)
{
    switch (kind) {
    case STATE_KIND_NONE: return "no network (--net none)";
    case STATE_KIND_USER: return "user networking (--net user)";
    case STATE_KIND_TAP: return "a tap device (--net tap=NAME)";
    case STATE_KIND_SWITCH: return "a switch port (--net switch=NAME)";
    }
    return "an unknown kind";
}

int net_backend_save(struct net_backend *nb, struct state_out *o)
{
    st_put_u8(o, state_kind(nb));
    if (nb && nb->ops->save) {
        int r = nb->ops->save(nb, o);
        if (r < 0)
            return r;
    }
    return state_out_ok(o) ? 0 : -ENOMEM;
}

int net_backend_load(struct net_backend *nb, struct state_in *in, struct err *e)
{
    unsigned kind = st_get_u8(in), here = state_kind(nb);
    if (in->bad)
        return err_set(e, -EINVAL, "network: the saved state is cut short");
    if (kind > STATE_KIND_SWITCH)
        return err_set(e, -EINVAL, "network: the saved state is of kind %u, which this hostel "
                       "does not know", kind);
    if (kind != here)
        return err_set(e, -EINVAL, "network: the saved machine had %s, this one has %s; give "
                       "it the same network to restore it", kind_name(kind), kind_name(here));
    if (nb && nb->ops->load)
        return nb->ops->load(nb, in, e);
    return 0;
}

/* ---- live migration ---------------------------------------------------------- */

void net_backend_set_hook(struct net_backend *nb, const struct net_hook *h)
{
    atomic_store_explicit(&nb->hook, h, memory_order_release);
}

void net_backend_inject(struct net_backend *nb, const uint8_t *frame, size_t len)
{
    if (len >= NET_MIN_FRAME && len <= NET_MAX_FRAME && nb->receive)
        nb->receive(nb->receive_opaque, frame, len);
}

int net_backend_set_receive(struct net_backend *nb, net_receive_fn fn, void *opaque)
{
    if (!nb->ops->set_receive)
        return -ENOTSUP;
    nb->ops->set_receive(nb, fn, opaque);
    return 0;
}

void net_backend_release_forwards(struct net_backend *nb)
{
    if (nb && nb->ops->release_forwards)
        nb->ops->release_forwards(nb);
}

int net_backend_add_forwards(struct net_backend *nb, const struct net_options *o,
                             struct err *e)
{
    if (!nb || !o->nforwards)
        return 0;
    if (!nb->ops->add_forwards)
        return err_set(e, -ENOTSUP, "the %s network has no forwards", nb->ops->name);
    return nb->ops->add_forwards(nb, o, e);
}

int net_backend_connections(struct net_backend *nb)
{
    if (!nb || !nb->ops->connections)
        return -ENOTSUP;
    return nb->ops->connections(nb);
}
