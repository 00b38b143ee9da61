/* The switch's forwarding core: ports on a Unix seqpacket socket, MAC
 * learning, flooding, faults per link (partition, loss, duplication, delay
 * with jitter, rate) and their counters, and the gateway (libslirp) for
 * NAT and host port forwards.  One thread moves every frame; the control
 * side (faults, status) takes the same lock between its batches. */
#include "net/switch_priv.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "lib/home.h"
#include "lib/log.h"

#define SW_SOCKBUF (2 << 20)          /* per port: bursts of a TCP window pass */

/* ---- names, paths and option values ------------------------------------ */

int net_switch_name_check(const char *name, const char *what, struct err *e)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0)
        return err_set(e, -EINVAL, "%s: give a name", what);
    if (n > SWITCH_NAME_MAX)
        return err_set(e, -EINVAL, "%s '%.20s...' is longer than %d characters", what, name,
                       SWITCH_NAME_MAX);
    if (name[0] == '.' || name[0] == '-')
        return err_set(e, -EINVAL, "%s '%s': start it with a letter or digit", what, name);
    for (const char *p = name; *p; p++)
        if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' && *p != '.')
            return err_set(e, -EINVAL, "%s '%s': use letters, digits, '-', '_' and '.' only",
                           what, name);
    if (strstr(name, ".."))
        return err_set(e, -EINVAL, "%s '%s': no '..'", what, name);
    return 0;
}

int net_switch_parse(const char *spec, char *name, size_t nlen, char *label, size_t llen,
                     struct err *e)
{
    char buf[256];
    if (snprintf(buf, sizeof(buf), "%s", spec) >= (int)sizeof(buf))
        return err_set(e, -EINVAL, "--net switch=%.30s...: too long", spec);
    char *opts = strchr(buf, ',');
    if (opts)
        *opts++ = 0;
    struct err ne = ERR_INIT;
    if (net_switch_name_check(buf, "--net switch=NAME: the switch", &ne) < 0)
        return err_set(e, -EINVAL, "%s (the switch of cluster NAME: docs/clusters.md)", ne.msg);
    const char *lab = "";
    while (opts && *opts) {
        char *next = strchr(opts, ',');
        if (next)
            *next++ = 0;
        if (!strncmp(opts, "name=", 5)) {
            lab = opts + 5;
            if (net_switch_name_check(lab, "--net switch=NAME,name=LABEL: the label", e) < 0)
                return -EINVAL;
        } else {
            return err_set(e, -EINVAL, "--net switch=%s: cannot understand '%s' (name=LABEL)",
                           spec, opts);
        }
        opts = next;
    }
    if (name)
        snprintf(name, nlen, "%s", buf);
    if (label)
        snprintf(label, llen, "%s", lab);
    return 0;
}

int net_switch_path(const char *name, const char *file, char *buf, size_t len)
{
    char home[4096];
    int r = hostel_home(home, sizeof(home));
    if (r < 0)
        return r;
    if (net_switch_name_check(name, "switch", NULL) < 0)
        return -EINVAL;
    int n = snprintf(buf, len, "%s/clusters/%s%s%s", home, name, file && *file ? "/" : "",
                     file ? file : "");
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

int switch_parse_percent(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || (*end && strcmp(end, "%")) || !(v >= 0 && v <= 100))
        return -EINVAL;
    *out = v / 100.0;
    return 0;
}

int switch_parse_duration(const char *s, uint64_t *ns)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0))
        return -EINVAL;
    double mult;
    if (!*end || !strcmp(end, "ms"))
        mult = 1e6;                   /* a bare number is milliseconds, as ping prints */
    else if (!strcmp(end, "s"))
        mult = 1e9;
    else if (!strcmp(end, "us"))
        mult = 1e3;
    else if (!strcmp(end, "ns"))
        mult = 1;
    else
        return -EINVAL;
    if (v * mult > 3600e9)
        return -ERANGE;
    *ns = (uint64_t)llround(v * mult);
    return 0;
}

int switch_parse_rate(const char *s, uint64_t *bps)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || !(v >= 0))
        return -EINVAL;
    double mult;
    if (!*end || !strcasecmp(end, "bit") || !strcasecmp(end, "bps"))
        mult = 1;
    else if (!strcasecmp(end, "kbit"))
        mult = 1e3;
    else if (!strcasecmp(end, "mbit"))
        mult = 1e6;
    else if (!strcasecmp(end, "gbit"))
        mult = 1e9;
    else
        return -EINVAL;
    if (v * mult > 1e12 || (v > 0 && v * mult < 8000))
        return -ERANGE;              /* below a frame a second, nothing would pass */
    *bps = (uint64_t)llround(v * mult);
    return 0;
}

void switch_format_rate(uint64_t bps, char *buf, size_t len)
{
    if (bps >= 1000000000 && bps % 1000000000 == 0)
        snprintf(buf, len, "%llugbit", (unsigned long long)(bps / 1000000000));
    else if (bps >= 1000000 && bps % 1000000 == 0)
        snprintf(buf, len, "%llumbit", (unsigned long long)(bps / 1000000));
    else if (bps >= 1000 && bps % 1000 == 0)
        snprintf(buf, len, "%llukbit", (unsigned long long)(bps / 1000));
    else
        snprintf(buf, len, "%llubit", (unsigned long long)bps);
}

void switch_format_duration(uint64_t ns, char *buf, size_t len)
{
    if (ns % 1000000 == 0)
        snprintf(buf, len, "%llums", (unsigned long long)(ns / 1000000));
    else if (ns % 1000 == 0)
        snprintf(buf, len, "%lluus", (unsigned long long)(ns / 1000));
    else
        snprintf(buf, len, "%lluns", (unsigned long long)ns);
}

int switch_parse_ip(const char *s, uint32_t *ip)
{
    struct in_addr a;
    if (inet_pton(AF_INET, s, &a) != 1)
        return -EINVAL;
    *ip = ntohl(a.s_addr);
    return 0;
}

int switch_parse_cidr(const char *s, uint32_t *network, int *prefix)
{
    char buf[64];
    if (snprintf(buf, sizeof(buf), "%s", s) >= (int)sizeof(buf))
        return -EINVAL;
    char *slash = strchr(buf, '/');
    if (!slash)
        return -EINVAL;
    *slash++ = 0;
    char *end;
    long p = strtol(slash, &end, 10);
    uint32_t ip;
    if (end == slash || *end || p < 8 || p > 30 || switch_parse_ip(buf, &ip) < 0)
        return -EINVAL;
    uint32_t mask = 0xffffffffu << (32 - p);
    if (ip & ~mask)
        return -EINVAL;              /* host bits set: not a network */
    *network = ip;
    *prefix = (int)p;
    return 0;
}

void switch_format_ip(uint32_t ip, char *buf, size_t len)
{
    snprintf(buf, len, "%u.%u.%u.%u", ip >> 24, (ip >> 16) & 255, (ip >> 8) & 255, ip & 255);
}

static uint32_t fnv(uint32_t h, const char *s)
{
    for (; *s; s++) {
        h ^= (uint8_t)*s;
        h *= 16777619u;
    }
    return h;
}

void switch_machine_mac(const char *cluster, const char *machine, uint8_t mac[6])
{
    uint32_t h = fnv(fnv(2166136261u, "hostel cluster"), cluster);
    h = fnv(h ^ 0xff, machine);
    mac[0] = 0x52;
    mac[1] = 0x54;
    mac[2] = 0x00;
    mac[3] = (uint8_t)(h >> 16);
    mac[4] = (uint8_t)(h >> 8);
    mac[5] = (uint8_t)h;
}

/* ---- small helpers ------------------------------------------------------ */

int64_t sw_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/* xorshift128+: fast, and good enough to drop frames at random. */
static double sw_random(struct net_switch *sw)
{
    uint64_t s1 = sw->rng[0];
    const uint64_t s0 = sw->rng[1];
    sw->rng[0] = s0;
    s1 ^= s1 << 23;
    sw->rng[1] = s1 ^ s0 ^ (s1 >> 17) ^ (s0 >> 26);
    return (double)((sw->rng[1] + s0) >> 11) * (1.0 / 9007199254740992.0);
}

static void wake(struct net_switch *sw)
{
    uint64_t one = 1;
    if (write(sw->wake_fd, &one, sizeof(one)) < 0) {
        /* saturated: already awake */
    }
}

static bool mac_eq(const uint8_t *a, const uint8_t *b)
{
    return !memcmp(a, b, 6);
}

static void format_mac(const uint8_t *m, char *buf, size_t len)
{
    snprintf(buf, len, "%02x:%02x:%02x:%02x:%02x:%02x", m[0], m[1], m[2], m[3], m[4], m[5]);
}

int sw_node_by_name(struct net_switch *sw, const char *name)
{
    for (int i = 0; i < SWITCH_MAX_NODES; i++)
        if (sw->nodes[i].used && !strcasecmp(sw->nodes[i].name, name))
            return i;
    return -1;
}

static int node_by_mac(struct net_switch *sw, const uint8_t *mac)
{
    for (int i = 1; i < SWITCH_MAX_NODES; i++)
        if (sw->nodes[i].used && mac_eq(sw->nodes[i].mac, mac))
            return i;
    return -1;
}

/* ---- the delay queue: a binary heap by release time --------------------- */

static bool heap_before(const struct sw_delayed *a, const struct sw_delayed *b)
{
    return a->when_ns < b->when_ns || (a->when_ns == b->when_ns && a->seq < b->seq);
}

static int heap_push(struct net_switch *sw, const struct sw_delayed *d)
{
    if (sw->heap_len == sw->heap_cap) {
        unsigned cap = sw->heap_cap ? sw->heap_cap * 2 : 256;
        struct sw_delayed *h = realloc(sw->heap, cap * sizeof(*h));
        if (!h)
            return -ENOMEM;
        sw->heap = h;
        sw->heap_cap = cap;
    }
    unsigned i = sw->heap_len++;
    sw->heap[i] = *d;
    while (i > 0) {
        unsigned p = (i - 1) / 2;
        if (!heap_before(&sw->heap[i], &sw->heap[p]))
            break;
        struct sw_delayed t = sw->heap[i];
        sw->heap[i] = sw->heap[p];
        sw->heap[p] = t;
        i = p;
    }
    return 0;
}

static void heap_down(struct net_switch *sw, unsigned i)
{
    for (;;) {
        unsigned l = 2 * i + 1, r = l + 1, m = i;
        if (l < sw->heap_len && heap_before(&sw->heap[l], &sw->heap[m]))
            m = l;
        if (r < sw->heap_len && heap_before(&sw->heap[r], &sw->heap[m]))
            m = r;
        if (m == i)
            break;
        struct sw_delayed t = sw->heap[i];
        sw->heap[i] = sw->heap[m];
        sw->heap[m] = t;
        i = m;
    }
}

static void heap_pop(struct net_switch *sw, struct sw_delayed *out)
{
    *out = sw->heap[0];
    sw->heap[0] = sw->heap[--sw->heap_len];
    heap_down(sw, 0);
}

/* ---- ports --------------------------------------------------------------- */

static void mac_forget_port(struct net_switch *sw, int port)
{
    for (int i = 0; i < sw->nmacs; )
        if (sw->macs[i].port == port)
            sw->macs[i] = sw->macs[--sw->nmacs];
        else
            i++;
}

static void port_close(struct net_switch *sw, int i)
{
    struct sw_port *p = &sw->ports[i];
    if (p->fd < 0)
        return;
    close(p->fd);
    p->fd = -1;
    for (unsigned k = 0; k < p->oq_count; k++)
        free(p->oq[(p->oq_head + k) % SW_OUTQ].data);
    p->oq_head = p->oq_count = 0;
    if (p->hello && p->node >= 0 && sw->nodes[p->node].port == i) {
        sw->nodes[p->node].port = -1;
        sw->nodes[p->node].leased = false;   /* it asks again when it is back */
        log_info("switch %s: %s left", sw->cfg.name, sw->nodes[p->node].name);
    }
    p->hello = false;
    p->node = -1;
    mac_forget_port(sw, i);
}

/* Sends now, or queues behind what is waiting; -1 when the port's queue
 * is full (the frame is dropped, as a congested switch port would). */
static int port_send(struct net_switch *sw, int i, const uint8_t *frame, size_t len)
{
    struct sw_port *p = &sw->ports[i];
    if (p->fd < 0)
        return -1;
    if (!p->oq_count) {
        ssize_t n = send(p->fd, frame, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n >= 0)
            return 0;
        if (errno != EAGAIN && errno != EWOULDBLOCK && errno != ENOBUFS)
            return -1;               /* gone: the poll loop sees the hang-up */
    }
    if (p->oq_count == SW_OUTQ)
        return -1;
    uint8_t *copy = malloc(len);
    if (!copy)
        return -1;
    memcpy(copy, frame, len);
    p->oq[(p->oq_head + p->oq_count) % SW_OUTQ] = (struct sw_frame){ copy, len };
    p->oq_count++;
    return 0;
}

static void port_flush(struct net_switch *sw, int i)
{
    struct sw_port *p = &sw->ports[i];
    while (p->oq_count && p->fd >= 0) {
        struct sw_frame *f = &p->oq[p->oq_head];
        ssize_t n = send(p->fd, f->data, f->len, MSG_DONTWAIT | MSG_NOSIGNAL);
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOBUFS))
            return;
        free(f->data);
        p->oq_head = (p->oq_head + 1) % SW_OUTQ;
        p->oq_count--;
    }
}

void sw_service_send(struct net_switch *sw, int dst, const uint8_t *frame, size_t len)
{
    if (dst <= 0 || dst >= SWITCH_MAX_NODES || sw->nodes[dst].port < 0)
        return;
    struct sw_link *l = sw_link(sw, 0, dst);
    if (port_send(sw, sw->nodes[dst].port, frame, len) < 0) {
        l->dropped++;
        l->dropped_queue++;
    } else {
        l->sent++;
        l->bytes += len;
    }
}

/* ---- faults ------------------------------------------------------------- */

static bool fault_has_peer(const struct sw_fault *f, int node)
{
    for (int i = 0; i < f->npeers; i++)
        if (f->peers[i] == node)
            return true;
    return false;
}

/* The links as the faults, in the order given, make them.  Frames held
 * back under a rule that changed leave at once (as when a netem qdisc is
 * replaced): a heal never leaves a backlog behind. */
static void recompute_links(struct net_switch *sw)
{
    static struct switch_rule old[SWITCH_MAX_NODES][SWITCH_MAX_NODES];   /* switch thread + lock */
    for (int s = 0; s < SWITCH_MAX_NODES; s++)
        for (int d = 0; d < SWITCH_MAX_NODES; d++) {
            struct sw_link *l = sw_link(sw, s, d);
            old[s][d] = l->rule;
            l->partitioned = false;
            memset(&l->rule, 0, sizeof(l->rule));
        }
    for (int i = 0; i < sw->nfaults; i++) {
        const struct sw_fault *f = &sw->faults[i];
        for (int p = 1; p < SWITCH_MAX_NODES; p++) {
            if (!sw->nodes[p].used || p == f->node)
                continue;
            if (!f->all_peers && !fault_has_peer(f, p))
                continue;
            if (f->partition) {
                sw_link(sw, f->node, p)->partitioned = true;
                sw_link(sw, p, f->node)->partitioned = true;
            } else {
                sw_link(sw, f->node, p)->rule = f->rule;
            }
        }
    }
    bool any = false;
    for (int s = 0; s < SWITCH_MAX_NODES; s++)
        for (int d = 0; d < SWITCH_MAX_NODES; d++) {
            struct sw_link *l = sw_link(sw, s, d);
            l->retime = memcmp(&old[s][d], &l->rule, sizeof(l->rule)) != 0;
            if (l->retime) {
                l->next_free_ns = 0;
                any |= l->queued > 0;
            }
        }
    if (!any)
        return;
    int64_t now = sw_now_ns();
    for (unsigned i = 0; i < sw->heap_len; i++)
        if (sw_link(sw, sw->heap[i].src, sw->heap[i].dst)->retime)
            sw->heap[i].when_ns = now;
    for (unsigned i = sw->heap_len / 2; i-- > 0; )
        heap_down(sw, i);
}

/* ---- forwarding ----------------------------------------------------------- */

static void deliver_now(struct net_switch *sw, struct sw_link *l, int port, const uint8_t *frame,
                        size_t len)
{
    if (port_send(sw, port, frame, len) < 0) {
        l->dropped++;
        l->dropped_queue++;
    } else {
        l->sent++;
        l->bytes += len;
    }
}

/* One frame from node src to the node on port: the link's faults decide. */
static void deliver(struct net_switch *sw, int src, int port, const uint8_t *frame, size_t len)
{
    int dst = sw->ports[port].node;
    struct sw_link *l = sw_link(sw, src, dst);
    if (l->partitioned) {
        l->dropped++;
        l->dropped_partition++;
        return;
    }
    const struct switch_rule *r = &l->rule;
    if (r->loss > 0 && sw_random(sw) < r->loss) {
        l->dropped++;
        l->dropped_loss++;
        return;
    }
    int copies = 1;
    if (r->duplicate > 0 && sw_random(sw) < r->duplicate) {
        copies = 2;
        l->duplicated++;
    }
    for (int c = 0; c < copies; c++) {
        if (!r->delay_ns && !r->jitter_ns && !r->rate_bps && !l->queued) {
            deliver_now(sw, l, port, frame, len);
            continue;
        }
        if (l->queued >= SW_LINK_LIMIT) {
            l->dropped++;
            l->dropped_queue++;
            continue;
        }
        int64_t now = sw_now_ns(), t = now;
        if (r->rate_bps) {
            int64_t start = l->next_free_ns > now ? l->next_free_ns : now;
            t = start + (int64_t)((double)len * 8.0 * 1e9 / (double)r->rate_bps);
            l->next_free_ns = t;
        }
        int64_t d = (int64_t)r->delay_ns;
        if (r->jitter_ns)
            d += (int64_t)((sw_random(sw) * 2.0 - 1.0) * (double)r->jitter_ns);
        if (d > 0)
            t += d;
        struct sw_delayed q = { .when_ns = t, .seq = sw->seq++, .port = port,
                                .gen = sw->ports[port].gen, .src = src, .dst = dst,
                                .data = malloc(len), .len = len };
        if (!q.data || heap_push(sw, &q) < 0) {
            free(q.data);
            l->dropped++;
            l->dropped_queue++;
            continue;
        }
        memcpy(q.data, frame, len);
        l->queued++;
        if (r->delay_ns || r->jitter_ns)
            l->delayed++;
    }
}

static void release_due(struct net_switch *sw)
{
    int64_t now = sw_now_ns();
    while (sw->heap_len && sw->heap[0].when_ns <= now) {
        struct sw_delayed d;
        heap_pop(sw, &d);
        struct sw_link *l = sw_link(sw, d.src, d.dst);
        if (l->queued)
            l->queued--;
        struct sw_port *p = &sw->ports[d.port];
        if (p->fd >= 0 && p->gen == d.gen && p->hello)
            deliver_now(sw, l, d.port, d.data, d.len);
        else {
            l->dropped++;            /* its machine left while the frame waited */
            l->dropped_queue++;
        }
        free(d.data);
    }
}

static int mac_lookup(struct net_switch *sw, const uint8_t *mac)
{
    for (int i = 0; i < sw->nmacs; i++)
        if (mac_eq(sw->macs[i].mac, mac))
            return sw->macs[i].port;
    return -1;
}

static void mac_learn(struct net_switch *sw, const uint8_t *mac, int port)
{
    if (mac[0] & 1)
        return;
    for (int i = 0; i < sw->nmacs; i++) {
        if (mac_eq(sw->macs[i].mac, mac)) {
            sw->macs[i].port = port;  /* it moved */
            return;
        }
    }
    if (sw->nmacs == SW_MAC_TABLE)
        sw->nmacs--;                  /* full (a guest making MACs up): the newest wins */
    memcpy(sw->macs[sw->nmacs].mac, mac, 6);
    sw->macs[sw->nmacs++].port = port;
}

static void to_gateway(struct net_switch *sw, const uint8_t *frame, size_t len)
{
    if (sw->gw)
        net_send(sw->gw, frame, len);
}

/* A frame from node src (port src_port, or -1 for the gateway). */
static void switch_input(struct net_switch *sw, int src, int src_port, const uint8_t *frame,
                         size_t len)
{
    const uint8_t *dst = frame, *smac = frame + 6;
    if (src_port >= 0) {
        if (mac_eq(smac, sw->service_mac))
            return;                   /* a guest pretending to be the switch */
        mac_learn(sw, smac, src_port);
    }
    bool bcast = dst[0] & 1;
    if (src_port >= 0 && (bcast || mac_eq(dst, sw->service_mac))) {
        if (sw_service_input(sw, src, frame, len))
            return;
        if (!bcast) {
            to_gateway(sw, frame, len);
            return;
        }
        to_gateway(sw, frame, len);
    }
    int out = bcast ? -1 : mac_lookup(sw, dst);
    if (out >= 0) {
        if (out != src_port && sw->ports[out].hello)
            deliver(sw, src, out, frame, len);
        return;
    }
    for (int i = 0; i < SW_MAX_PORTS; i++)
        if (i != src_port && sw->ports[i].fd >= 0 && sw->ports[i].hello)
            deliver(sw, src, i, frame, len);
}

/* ---- joining ---------------------------------------------------------------- */

static void welcome(struct net_switch *sw, int port, int status, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));
static void welcome(struct net_switch *sw, int port, int status, const char *fmt, ...)
{
    struct switch_welcome w;
    memset(&w, 0, sizeof(w));
    memcpy(w.magic, SWITCH_MAGIC, 4);
    w.status = status;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(w.msg, sizeof(w.msg), fmt, ap);
    va_end(ap);
    if (send(sw->ports[port].fd, &w, sizeof(w), MSG_DONTWAIT | MSG_NOSIGNAL) < 0) {
        /* it left already: its hang-up is seen next */
    }
}

static int new_node(struct net_switch *sw)
{
    for (int i = 1; i < SWITCH_MAX_NODES; i++)
        if (!sw->nodes[i].used) {
            memset(&sw->nodes[i], 0, sizeof(sw->nodes[i]));
            sw->nodes[i].used = true;
            sw->nodes[i].port = -1;
            /* a reused slot starts with clean links */
            for (int k = 0; k < SWITCH_MAX_NODES; k++) {
                memset(sw_link(sw, i, k), 0, sizeof(struct sw_link));
                memset(sw_link(sw, k, i), 0, sizeof(struct sw_link));
            }
            return i;
        }
    return -1;
}

static void port_hello(struct net_switch *sw, int port, const uint8_t *msg, size_t len)
{
    struct switch_hello h;
    if (len != sizeof(h) || memcmp(msg, SWITCH_MAGIC, 4)) {
        welcome(sw, port, -EPROTO, "this is hostel switch '%s': the port spoke another "
                "protocol", sw->cfg.name);
        port_close(sw, port);
        return;
    }
    memcpy(&h, msg, sizeof(h));
    h.label[sizeof(h.label) - 1] = 0;
    char macs[32];
    format_mac(h.mac, macs, sizeof(macs));
    if ((h.mac[0] & 1) || mac_eq(h.mac, sw->service_mac)) {
        welcome(sw, port, -EINVAL, "MAC %s cannot join switch '%s' (multicast, or the "
                "switch's own)", macs, sw->cfg.name);
        port_close(sw, port);
        return;
    }
    if (h.label[0] && net_switch_name_check(h.label, "label", NULL) < 0)
        h.label[0] = 0;
    int n = node_by_mac(sw, h.mac);
    int by_label = h.label[0] ? sw_node_by_name(sw, h.label) : -1;
    if (n < 0 && by_label == 0) {
        welcome(sw, port, -EEXIST, "the name '%s' is the switch's own", h.label);
        port_close(sw, port);
        return;
    }
    if (n < 0 && by_label > 0 && sw->nodes[by_label].fixed) {
        char want[32];
        format_mac(sw->nodes[by_label].mac, want, sizeof(want));
        welcome(sw, port, -EEXIST, "'%s' is a machine of cluster '%s' with MAC %s, not %s",
                h.label, sw->cfg.name, want, macs);
        port_close(sw, port);
        return;
    }
    bool fresh = false;
    if (n < 0) {
        n = new_node(sw);
        if (n < 0) {
            welcome(sw, port, -ENOSPC, "switch '%s' is full (%d machines)", sw->cfg.name,
                    SWITCH_MAX_NODES - 1);
            port_close(sw, port);
            return;
        }
        fresh = true;
        memcpy(sw->nodes[n].mac, h.mac, 6);
        char name[SWITCH_NAME_MAX + 1];
        if (h.label[0] && by_label < 0)
            snprintf(name, sizeof(name), "%s", h.label);
        else
            snprintf(name, sizeof(name), "%.*s-%02x%02x%02x", SWITCH_NAME_MAX - 7,
                     h.label[0] ? h.label : "mac", h.mac[3], h.mac[4], h.mac[5]);
        snprintf(sw->nodes[n].name, sizeof(sw->nodes[n].name), "%s", name);
    }
    struct sw_node *nd = &sw->nodes[n];
    if (nd->port >= 0 && nd->port != port) {
        /* The same machine again (a guest reboot rebuilds its NIC before
         * we saw the old port go): the new connection takes over. */
        port_close(sw, nd->port);
    }
    snprintf(nd->label, sizeof(nd->label), "%s", h.label);
    nd->port = port;
    nd->connects++;
    sw->ports[port].hello = true;
    sw->ports[port].node = n;
    mac_learn(sw, h.mac, port);
    if (fresh)
        recompute_links(sw);         /* faults on "every other machine" cover it too */
    welcome(sw, port, 0, "%s", nd->name);
    log_info("switch %s: %s joined (MAC %s, pid %u)", sw->cfg.name, nd->name, macs, h.pid);
}

/* ---- the thread ------------------------------------------------------------- */

static void accept_ports(struct net_switch *sw)
{
    for (;;) {
        int fd = accept4(sw->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        int slot = -1;
        for (int i = 0; i < SW_MAX_PORTS; i++)
            if (sw->ports[i].fd < 0) {
                slot = i;
                break;
            }
        if (slot < 0) {
            close(fd);               /* full: the port sees the hang-up and says so */
            continue;
        }
        int sz = SW_SOCKBUF;
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
        struct sw_port *p = &sw->ports[slot];
        p->fd = fd;
        p->hello = false;
        p->node = -1;
        p->gen++;
    }
}

static void read_port(struct net_switch *sw, int i)
{
    for (int k = 0; k < 64 && sw->ports[i].fd >= 0; k++) {
        ssize_t n = recv(sw->ports[i].fd, sw->buf, sizeof(sw->buf), MSG_DONTWAIT);
        if (n < 0) {
            if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
                return;
            port_close(sw, i);
            return;
        }
        if (n == 0) {
            port_close(sw, i);       /* seqpacket: the other end closed */
            return;
        }
        if (!sw->ports[i].hello) {
            port_hello(sw, i, sw->buf, (size_t)n);
            continue;
        }
        if (n < NET_MIN_FRAME)
            continue;
        switch_input(sw, sw->ports[i].node, i, sw->buf, (size_t)n);
    }
}

static void *switch_thread(void *opaque)
{
    struct net_switch *sw = opaque;
    struct pollfd pfd[4 + SW_MAX_PORTS];
    int who[4 + SW_MAX_PORTS];
    enum { W_LISTEN = -1, W_WAKE = -2, W_GW = -3, W_DNS = -4 };
    while (!atomic_load(&sw->stop)) {
        int n = 0;
        pfd[n] = (struct pollfd){ .fd = sw->listen_fd, .events = POLLIN };
        who[n++] = W_LISTEN;
        pfd[n] = (struct pollfd){ .fd = sw->wake_fd, .events = POLLIN };
        who[n++] = W_WAKE;
        if (sw->gw_queue) {
            pfd[n] = (struct pollfd){ .fd = net_frame_queue_fd(sw->gw_queue), .events = POLLIN };
            who[n++] = W_GW;
        }
        if (sw->dns_fd >= 0) {
            pfd[n] = (struct pollfd){ .fd = sw->dns_fd, .events = POLLIN };
            who[n++] = W_DNS;
        }
        pthread_mutex_lock(&sw->lock);
        for (int i = 0; i < SW_MAX_PORTS; i++) {
            if (sw->ports[i].fd < 0)
                continue;
            pfd[n] = (struct pollfd){ .fd = sw->ports[i].fd,
                                      .events = POLLIN | (sw->ports[i].oq_count ? POLLOUT : 0) };
            who[n++] = i;
        }
        struct timespec ts, *tsp = NULL;
        if (sw->heap_len) {
            int64_t d = sw->heap[0].when_ns - sw_now_ns();
            if (d < 0)
                d = 0;
            ts.tv_sec = d / 1000000000;
            ts.tv_nsec = d % 1000000000;
            tsp = &ts;
        }
        pthread_mutex_unlock(&sw->lock);
        int r = ppoll(pfd, (nfds_t)n, tsp, NULL);
        if (r < 0 && errno != EINTR) {
            log_error("switch %s: poll failed: %s; the switch stops", sw->cfg.name,
                      strerror(errno));
            break;
        }
        pthread_mutex_lock(&sw->lock);
        for (int k = 0; r > 0 && k < n; k++) {
            if (!pfd[k].revents)
                continue;
            switch (who[k]) {
            case W_LISTEN:
                accept_ports(sw);
                break;
            case W_WAKE: {
                uint64_t v;
                if (read(sw->wake_fd, &v, sizeof(v)) < 0) {
                    /* EAGAIN: someone else read it */
                }
                break;
            }
            case W_GW: {
                size_t len;
                for (int m = 0; m < 64 && (len = net_frame_queue_get(sw->gw_queue, sw->buf)); m++)
                    switch_input(sw, 0, -1, sw->buf, len);
                break;
            }
            case W_DNS:
                sw_service_dns_upstream(sw);
                break;
            default: {
                int i = who[k];
                if (sw->ports[i].fd != pfd[k].fd)
                    break;           /* closed and reused during this round */
                if (pfd[k].revents & POLLOUT)
                    port_flush(sw, i);
                if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
                    read_port(sw, i);
                if (sw->ports[i].fd == pfd[k].fd && (pfd[k].revents & (POLLHUP | POLLERR | POLLNVAL)) &&
                    !(pfd[k].revents & POLLIN))
                    port_close(sw, i);
                break;
            }
            }
        }
        release_due(sw);
        pthread_mutex_unlock(&sw->lock);
    }
    return NULL;
}

/* ---- the gateway ------------------------------------------------------------ */

/* On libslirp's thread: hand the frame to the switch's thread. */
static void gw_receive(void *opaque, const uint8_t *frame, size_t len)
{
    struct net_switch *sw = opaque;
    net_frame_queue_put(sw->gw_queue, frame, len);
}

static int open_gateway(struct net_switch *sw, struct err *e)
{
    struct net_options o;
    memset(&o, 0, sizeof(o));
    o.mode = NET_MODE_USER;
    o.restrict_outbound = !sw->cfg.nat;
    o.user_net.network = htonl(sw->cfg.network);
    o.user_net.netmask = htonl(sw->netmask);
    o.user_net.host = htonl(sw->cfg.service_ip);
    o.user_net.no_dhcp_dns = true;
    o.nforwards = sw->cfg.nforwards;
    for (int i = 0; i < sw->cfg.nforwards; i++)
        o.forwards[i] = sw->cfg.forwards[i].f;
    o.bound = sw->gw_bound;
    int r = net_frame_queue_create(1024, &sw->gw_queue);
    if (r < 0)
        return err_set(e, r, "switch %s: cannot create the gateway's queue: %s", sw->cfg.name,
                       strerror(-r));
    r = net_slirp_open(&o, gw_receive, sw, &sw->gw, e);
    if (r < 0)
        return err_wrap(e, "switch %s: the gateway (user networking)", sw->cfg.name);
    return 0;
}

/* The host's first nameserver, for names that are not the cluster's. */
static uint32_t host_resolver(void)
{
    FILE *f = fopen("/etc/resolv.conf", "r");
    char line[256], addr[64];
    uint32_t ip = htonl(INADDR_LOOPBACK);
    if (!f)
        return ip;
    while (fgets(line, sizeof(line), f)) {
        struct in_addr a;
        if (sscanf(line, " nameserver %63s", addr) == 1 && inet_pton(AF_INET, addr, &a) == 1) {
            ip = a.s_addr;
            break;
        }
    }
    fclose(f);
    return ip;
}

/* ---- life ------------------------------------------------------------------- */

static int listen_on(struct net_switch *sw, const char *path, struct err *e)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    if (strlen(path) >= sizeof(sa.sun_path))
        return err_set(e, -ENAMETOOLONG, "switch socket path %s is too long for a Unix socket "
                       "(set HOSTEL_HOME to a shorter folder)", path);
    strcpy(sa.sun_path, path);
    int probe = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (probe >= 0) {
        int c = connect(probe, (struct sockaddr *)&sa, sizeof(sa));
        close(probe);
        if (c == 0)
            return err_set(e, -EADDRINUSE, "switch %s: another switch already listens on %s",
                           sw->cfg.name, path);
    }
    unlink(path);                    /* a socket a dead switch left */
    sw->listen_fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (sw->listen_fd < 0)
        return err_set(e, -errno, "switch %s: socket: %s", sw->cfg.name, strerror(errno));
    if (bind(sw->listen_fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        listen(sw->listen_fd, 64) < 0)
        return err_set(e, -errno, "switch %s: cannot listen on %s: %s", sw->cfg.name, path,
                       strerror(errno));
    /* Machines in a root jail connect as the jail user (connect needs write
     * permission on the socket): who may join is decided by who can reach
     * the folder ($HOSTEL_HOME's), as for the machines' own sockets. */
    if (chmod(path, 0666) < 0)
        return err_set(e, -errno, "switch %s: cannot open %s to jailed machines: %s",
                       sw->cfg.name, path, strerror(errno));
    return 0;
}

int switch_create(const struct switch_config *c, const char *socket_path,
                  struct net_switch **out, struct err *e)
{
    *out = NULL;
    struct net_switch *sw = calloc(1, sizeof(*sw));
    if (!sw)
        return err_set(e, -ENOMEM, "switch: out of memory");
    sw->cfg = *c;
    sw->listen_fd = sw->wake_fd = sw->dns_fd = -1;
    pthread_mutex_init(&sw->lock, NULL);
    for (int i = 0; i < SW_MAX_PORTS; i++) {
        sw->ports[i].fd = -1;
        sw->ports[i].node = -1;
    }
    int r;
    sw->links = calloc((size_t)SWITCH_MAX_NODES * SWITCH_MAX_NODES, sizeof(*sw->links));
    if (!sw->links) {
        r = err_set(e, -ENOMEM, "switch: out of memory");
        goto fail;
    }
    if (c->nhosts > SWITCH_MAX_NODES - 1) {
        r = err_set(e, -EINVAL, "switch %s: at most %d machines", c->name, SWITCH_MAX_NODES - 1);
        goto fail;
    }
    sw->netmask = 0xffffffffu << (32 - c->prefix);
    /* The service's MAC is the one libslirp gives its host at that address
     * (52:55 and the address), so the gateway and the service are one host. */
    sw->service_mac[0] = 0x52;
    sw->service_mac[1] = 0x55;
    sw->service_mac[2] = (uint8_t)(c->service_ip >> 24);
    sw->service_mac[3] = (uint8_t)(c->service_ip >> 16);
    sw->service_mac[4] = (uint8_t)(c->service_ip >> 8);
    sw->service_mac[5] = (uint8_t)c->service_ip;
    struct sw_node *svc = &sw->nodes[0];
    svc->used = svc->fixed = true;
    snprintf(svc->name, sizeof(svc->name), "%s", SWITCH_SERVICE);
    memcpy(svc->mac, sw->service_mac, 6);
    svc->ip = c->service_ip;
    svc->port = -1;
    for (int i = 0; i < c->nhosts; i++) {
        struct sw_node *n = &sw->nodes[i + 1];
        n->used = n->fixed = true;
        snprintf(n->name, sizeof(n->name), "%s", c->hosts[i].name);
        memcpy(n->mac, c->hosts[i].mac, 6);
        n->ip = c->hosts[i].ip;
        n->port = -1;
    }
    uint64_t seed = (uint64_t)sw_now_ns() ^ ((uint64_t)getpid() << 32);
    sw->rng[0] = seed | 1;
    sw->rng[1] = seed * 0x9e3779b97f4a7c15ull + 7;
    sw->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (sw->wake_fd < 0) {
        r = err_set(e, -errno, "switch %s: eventfd: %s", c->name, strerror(errno));
        goto fail;
    }
    if ((r = listen_on(sw, socket_path, e)) < 0)
        goto fail;
    sw->socket_path = strdup(socket_path);
    if ((c->nat || c->nforwards) && (r = open_gateway(sw, e)) < 0)
        goto fail;
    if (c->nat) {
        sw->dns_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
        sw->dns_upstream = host_resolver();
    }
    if (c->confine && (r = c->confine(c->confine_opaque, e)) < 0)
        goto fail;
    r = -pthread_create(&sw->thread, NULL, switch_thread, sw);
    if (r < 0) {
        err_set(e, r, "switch %s: cannot start its thread: %s", c->name, strerror(-r));
        goto fail;
    }
    sw->thread_started = true;
    *out = sw;
    return 0;
fail:
    switch_destroy(sw);
    return r;
}

void switch_destroy(struct net_switch *sw)
{
    if (!sw)
        return;
    if (sw->thread_started) {
        atomic_store(&sw->stop, true);
        wake(sw);
        pthread_join(sw->thread, NULL);
    }
    net_backend_close(sw->gw);
    net_frame_queue_destroy(sw->gw_queue);
    for (int i = 0; i < SW_MAX_PORTS; i++)
        port_close(sw, i);
    for (unsigned i = 0; i < sw->heap_len; i++)
        free(sw->heap[i].data);
    free(sw->heap);
    if (sw->listen_fd >= 0) {
        close(sw->listen_fd);
        if (sw->socket_path)
            unlink(sw->socket_path);
    }
    if (sw->wake_fd >= 0)
        close(sw->wake_fd);
    if (sw->dns_fd >= 0)
        close(sw->dns_fd);
    free(sw->socket_path);
    free(sw->links);
    pthread_mutex_destroy(&sw->lock);
    free(sw);
}

/* ---- the control side ------------------------------------------------------- */

/* The node named, which must be a machine (not the service). */
static int machine_node(struct net_switch *sw, const char *name, struct err *e)
{
    int n = name ? sw_node_by_name(sw, name) : -1;
    if (n == 0)
        return err_set(e, -EINVAL, "'%s' is the switch's own host: faults are between "
                       "machines", name);
    if (n < 0)
        return err_set(e, -ENOENT, "switch %s has no machine named '%s'", sw->cfg.name,
                       name ? name : "");
    return n;
}

static int add_fault(struct net_switch *sw, bool partition, const char *machine,
                     const char *const *peers, int npeers, const struct switch_rule *rule,
                     struct err *e)
{
    pthread_mutex_lock(&sw->lock);
    struct sw_fault f;
    memset(&f, 0, sizeof(f));
    f.partition = partition;
    int r = machine_node(sw, machine, e);
    if (r < 0)
        goto out;
    f.node = r;
    f.all_peers = !peers || npeers == 0;
    for (int i = 0; !f.all_peers && i < npeers; i++) {
        if ((r = machine_node(sw, peers[i], e)) < 0)
            goto out;
        if (r == f.node) {
            r = err_set(e, -EINVAL, "'%s' cannot be cut from itself", peers[i]);
            goto out;
        }
        if (!fault_has_peer(&f, r))
            f.peers[f.npeers++] = r;
    }
    if (rule)
        f.rule = *rule;
    /* A new degrade replaces the old one on the same links: take those
     * peers out of earlier degrades of this machine (dropping emptied ones). */
    for (int i = 0; !partition && i < sw->nfaults; ) {
        struct sw_fault *o = &sw->faults[i];
        if (o->partition || o->node != f.node) {
            i++;
            continue;
        }
        if (f.all_peers) {
            o->npeers = 0;
            o->all_peers = false;
        } else if (!o->all_peers) {
            for (int k = 0; k < o->npeers; )
                if (fault_has_peer(&f, o->peers[k]))
                    o->peers[k] = o->peers[--o->npeers];
                else
                    k++;
        }
        if (!o->all_peers && o->npeers == 0) {
            memmove(o, o + 1, sizeof(*o) * (size_t)(sw->nfaults - i - 1));
            sw->nfaults--;
        } else {
            i++;
        }
    }
    if (sw->nfaults == SW_MAX_FAULTS) {
        r = err_set(e, -ENOSPC, "switch %s: at most %d faults at once: heal some first",
                    sw->cfg.name, SW_MAX_FAULTS);
        goto out;
    }
    bool zero = !partition && !f.rule.loss && !f.rule.duplicate && !f.rule.delay_ns &&
                !f.rule.jitter_ns && !f.rule.rate_bps;
    if (!zero)
        sw->faults[sw->nfaults++] = f;
    recompute_links(sw);
    r = 0;
out:
    pthread_mutex_unlock(&sw->lock);
    wake(sw);
    return r < 0 ? r : 0;
}

int switch_partition(struct net_switch *sw, const char *machine, const char *const *peers,
                     int npeers, struct err *e)
{
    return add_fault(sw, true, machine, peers, npeers, NULL, e);
}

int switch_degrade(struct net_switch *sw, const char *machine, const char *const *peers,
                   int npeers, const struct switch_rule *rule, struct err *e)
{
    if (rule->loss < 0 || rule->loss > 1 || rule->duplicate < 0 || rule->duplicate > 1)
        return err_set(e, -EINVAL, "loss and duplicate are between 0%% and 100%%");
    return add_fault(sw, false, machine, peers, npeers, rule, e);
}

int switch_heal(struct net_switch *sw, const char *machine, struct err *e)
{
    pthread_mutex_lock(&sw->lock);
    int r = 0;
    if (!machine) {
        sw->nfaults = 0;
    } else if ((r = machine_node(sw, machine, e)) >= 0) {
        int n = r;
        r = 0;
        for (int i = 0; i < sw->nfaults; ) {
            struct sw_fault *o = &sw->faults[i];
            for (int k = 0; k < o->npeers; )
                if (o->peers[k] == n)
                    o->peers[k] = o->peers[--o->npeers];
                else
                    k++;
            if (o->node == n || (!o->all_peers && o->npeers == 0)) {
                memmove(o, o + 1, sizeof(*o) * (size_t)(sw->nfaults - i - 1));
                sw->nfaults--;
            } else {
                i++;
            }
        }
    }
    if (r == 0)
        recompute_links(sw);
    pthread_mutex_unlock(&sw->lock);
    wake(sw);
    return r;
}

static json_t *rule_json(const struct sw_fault *f)
{
    json_t *o = json_object();
    char b[64];
    if (f->rule.loss)
        json_object_set_new(o, "loss", json_real(f->rule.loss));
    if (f->rule.duplicate)
        json_object_set_new(o, "duplicate", json_real(f->rule.duplicate));
    if (f->rule.delay_ns) {
        switch_format_duration(f->rule.delay_ns, b, sizeof(b));
        json_object_set_new(o, "delay", json_string(b));
        json_object_set_new(o, "delay_ms", json_real((double)f->rule.delay_ns / 1e6));
    }
    if (f->rule.jitter_ns) {
        switch_format_duration(f->rule.jitter_ns, b, sizeof(b));
        json_object_set_new(o, "jitter", json_string(b));
        json_object_set_new(o, "jitter_ms", json_real((double)f->rule.jitter_ns / 1e6));
    }
    if (f->rule.rate_bps) {
        switch_format_rate(f->rule.rate_bps, b, sizeof(b));
        json_object_set_new(o, "rate", json_string(b));
        json_object_set_new(o, "rate_bps", json_integer((json_int_t)f->rule.rate_bps));
    }
    return o;
}

json_t *switch_status_json(struct net_switch *sw, const char *machine)
{
    char b[64];
    pthread_mutex_lock(&sw->lock);
    int only = machine ? sw_node_by_name(sw, machine) : -1;
    json_t *o = json_object();
    json_object_set_new(o, "name", json_string(sw->cfg.name));
    switch_format_ip(sw->cfg.network, b, sizeof(b));
    size_t bl = strlen(b);
    snprintf(b + bl, sizeof(b) - bl, "/%d", sw->cfg.prefix);
    json_object_set_new(o, "network", json_string(b));
    switch_format_ip(sw->cfg.service_ip, b, sizeof(b));
    json_object_set_new(o, "service", json_string(b));
    json_object_set_new(o, "nat", json_boolean(sw->cfg.nat));
    json_t *nodes = json_array();
    for (int i = 1; i < SWITCH_MAX_NODES; i++) {
        const struct sw_node *n = &sw->nodes[i];
        if (!n->used || (machine && i != only))
            continue;
        json_t *jn = json_object();
        json_object_set_new(jn, "name", json_string(n->name));
        format_mac(n->mac, b, sizeof(b));
        json_object_set_new(jn, "mac", json_string(b));
        if (n->ip) {
            switch_format_ip(n->ip, b, sizeof(b));
            json_object_set_new(jn, "address", json_string(b));
        }
        json_object_set_new(jn, "fixed", json_boolean(n->fixed));
        json_object_set_new(jn, "connected", json_boolean(n->port >= 0));
        json_object_set_new(jn, "lease", json_boolean(n->leased));
        json_object_set_new(jn, "joins", json_integer(n->connects));
        json_array_append_new(nodes, jn);
    }
    json_object_set_new(o, "nodes", nodes);
    json_t *faults = json_array();
    for (int i = 0; i < sw->nfaults; i++) {
        const struct sw_fault *f = &sw->faults[i];
        if (machine && f->node != only && !f->all_peers && !fault_has_peer(f, only))
            continue;
        json_t *jf = f->partition ? json_object() : rule_json(f);
        json_object_set_new(jf, "type", json_string(f->partition ? "partition" : "degrade"));
        json_object_set_new(jf, "machine", json_string(sw->nodes[f->node].name));
        if (f->all_peers) {
            json_object_set_new(jf, "peers", json_string("all"));
        } else {
            json_t *p = json_array();
            for (int k = 0; k < f->npeers; k++)
                json_array_append_new(p, json_string(sw->nodes[f->peers[k]].name));
            json_object_set_new(jf, "peers", p);
        }
        json_array_append_new(faults, jf);
    }
    json_object_set_new(o, "faults", faults);
    json_t *links = json_array();
    for (int s = 0; s < SWITCH_MAX_NODES; s++) {
        for (int d = 0; d < SWITCH_MAX_NODES; d++) {
            const struct sw_link *l = sw_link(sw, s, d);
            if (!sw->nodes[s].used || !sw->nodes[d].used || s == d)
                continue;
            if (machine && s != only && d != only)
                continue;
            if (!l->sent && !l->dropped && !l->delayed && !l->duplicated && !l->partitioned &&
                !l->rule.loss && !l->rule.delay_ns && !l->rule.rate_bps && !l->rule.jitter_ns &&
                !l->rule.duplicate)
                continue;
            json_t *jl = json_pack("{s:s, s:s, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:b}",
                                   "from", sw->nodes[s].name, "to", sw->nodes[d].name,
                                   "sent", (json_int_t)l->sent, "bytes", (json_int_t)l->bytes,
                                   "dropped", (json_int_t)l->dropped,
                                   "delayed", (json_int_t)l->delayed,
                                   "duplicated", (json_int_t)l->duplicated,
                                   "dropped_partition", (json_int_t)l->dropped_partition,
                                   "dropped_loss", (json_int_t)l->dropped_loss,
                                   "dropped_queue", (json_int_t)l->dropped_queue,
                                   "partitioned", l->partitioned);
            json_array_append_new(links, jl);
        }
    }
    json_object_set_new(o, "links", links);
    json_t *fw = json_array();
    for (int i = 0; i < sw->cfg.nforwards; i++) {
        const struct switch_forward *f = &sw->cfg.forwards[i];
        if (machine && strcasecmp(f->machine, machine))
            continue;
        struct in_addr ha = { sw->gw_bound[i].host_addr ? sw->gw_bound[i].host_addr
                                                         : f->f.host_addr };
        char a[INET_ADDRSTRLEN];
        inet_ntop(AF_INET, &ha, a, sizeof(a));
        json_array_append_new(fw, json_pack("{s:s, s:s, s:s, s:i, s:i}", "machine", f->machine,
                                            "proto", f->f.udp ? "udp" : "tcp", "host_addr", a,
                                            "host_port", sw->gw_bound[i].host_port,
                                            "guest_port", f->f.guest_port));
    }
    json_object_set_new(o, "forwards", fw);
    pthread_mutex_unlock(&sw->lock);
    return o;
}
