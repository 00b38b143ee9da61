/* The switch without machines: test ports speak its wire protocol over its
 * socket and check forwarding, MAC learning, the service host (ARP, ping,
 * DHCP with fixed addresses and a pool, DNS names and reverse lookups), each
 * fault (partition, loss, duplication, delay, jitter, rate) with its
 * counters, hostile frames, and the VMM's side of a port (net_switch_open). */
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "lib/file.h"
#include "net/switch.h"

static char home[256], sock_path[512];
static const uint8_t MAC_A[6] = { 0x52, 0x54, 0, 0, 0, 0xa };
static const uint8_t MAC_B[6] = { 0x52, 0x54, 0, 0, 0, 0xb };
static const uint8_t MAC_C[6] = { 0x52, 0x54, 0, 0, 0, 0xc };
static const uint8_t BCAST[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
static const uint8_t SVC_MAC[6] = { 0x52, 0x55, 10, 20, 0, 1 };
#define SVC_IP 0x0a140001u        /* 10.20.0.1 */

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct net_switch *make_switch(void)
{
    struct switch_config *c = calloc(1, sizeof(*c));
    snprintf(c->name, sizeof(c->name), "t");
    switch_parse_cidr("10.20.0.0/24", &c->network, &c->prefix);
    c->service_ip = SVC_IP;
    c->pool_first = 0x0a1400c8;   /* .200 */
    c->pool_last = 0x0a1400c9;    /* .201: a pool of two */
    c->nhosts = 2;
    snprintf(c->hosts[0].name, sizeof(c->hosts[0].name), "a");
    memcpy(c->hosts[0].mac, MAC_A, 6);
    c->hosts[0].ip = 0x0a14000b;
    snprintf(c->hosts[1].name, sizeof(c->hosts[1].name), "b");
    memcpy(c->hosts[1].mac, MAC_B, 6);
    c->hosts[1].ip = 0x0a14000c;
    c->lease_s = 3600;
    struct net_switch *sw = NULL;
    struct err e = ERR_INIT;
    if (switch_create(c, sock_path, &sw, &e) < 0)
        printf("  switch_create: %s\n", e.msg);
    free(c);
    return sw;
}

/* A test port: connected, hello said; the welcome's status and text. */
static int port_join(const uint8_t *mac, const char *label, int *status, char *msg)
{
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    strcpy(sa.sun_path, sock_path);
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        close(fd);
        return -1;
    }
    struct switch_hello h;
    memset(&h, 0, sizeof(h));
    memcpy(h.magic, SWITCH_MAGIC, 4);
    memcpy(h.mac, mac, 6);
    snprintf(h.label, sizeof(h.label), "%s", label);
    send(fd, &h, sizeof(h), 0);
    struct switch_welcome w;
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, 2000) <= 0 || recv(fd, &w, sizeof(w), 0) != sizeof(w)) {
        close(fd);
        return -1;
    }
    if (status)
        *status = w.status;
    if (msg)
        snprintf(msg, 256, "%s", w.msg);
    return fd;
}

/* The next frame for the port within ms, or -1. */
static int port_recv(int fd, uint8_t *buf, size_t len, int ms)
{
    struct pollfd p = { fd, POLLIN, 0 };
    if (poll(&p, 1, ms) <= 0)
        return -1;
    ssize_t n = recv(fd, buf, len, 0);
    return n > 0 ? (int)n : -1;
}

static void drain(int fd)
{
    uint8_t b[2048];
    while (port_recv(fd, b, sizeof(b), 50) > 0) {
    }
}

static size_t eth(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, src, 6);
    f[12] = (uint8_t)(type >> 8);
    f[13] = (uint8_t)type;
    return 14;
}

static uint16_t csum(const uint8_t *p, size_t n, uint32_t sum)
{
    for (size_t i = 0; i + 1 < n; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (n & 1)
        sum += (uint32_t)p[n - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Ethernet + IPv4 + UDP with payload; returns the frame's length. */
static size_t udp_frame(uint8_t *f, const uint8_t *dmac, const uint8_t *smac, uint32_t sip,
                        uint32_t dip, uint16_t sport, uint16_t dport, const uint8_t *pl,
                        size_t plen)
{
    size_t o = eth(f, dmac, smac, 0x0800);
    uint8_t *ip = f + o, *u = ip + 20;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    ip[2] = (uint8_t)((20 + 8 + plen) >> 8);
    ip[3] = (uint8_t)(20 + 8 + plen);
    ip[8] = 64;
    ip[9] = 17;
    uint32_t s = htonl(sip), d = htonl(dip);
    memcpy(ip + 12, &s, 4);
    memcpy(ip + 16, &d, 4);
    uint16_t c = csum(ip, 20, 0);
    ip[10] = (uint8_t)(c >> 8);
    ip[11] = (uint8_t)c;
    u[0] = (uint8_t)(sport >> 8);
    u[1] = (uint8_t)sport;
    u[2] = (uint8_t)(dport >> 8);
    u[3] = (uint8_t)dport;
    u[4] = (uint8_t)((8 + plen) >> 8);
    u[5] = (uint8_t)(8 + plen);
    u[6] = u[7] = 0;
    memcpy(u + 8, pl, plen);
    return o + 28 + plen;
}

/* A frame from one test port to another MAC: a marker byte after the header. */
static size_t data_frame(uint8_t *f, const uint8_t *dst, const uint8_t *src, uint8_t mark,
                         size_t len)
{
    memset(f, 0, len);
    eth(f, dst, src, 0x88b5);        /* local experimental ethertype */
    f[14] = mark;
    return len;
}

static struct net_switch *sw;
static int pa, pb;

static void joins_and_refusals(void)
{
    int st;
    char msg[256];
    pa = port_join(MAC_A, "a", &st, msg);
    CHECK(pa >= 0);
    CHECK_EQ(st, 0);
    CHECK(!strcmp(msg, "a"));
    pb = port_join(MAC_B, "", &st, msg);   /* known by its MAC alone */
    CHECK(pb >= 0 && st == 0 && !strcmp(msg, "b"));
    /* Another MAC under a cluster machine's name: refused, naming it. */
    int x = port_join(MAC_C, "a", &st, msg);
    CHECK_EQ(st, -EEXIST);
    CHECK(strstr(msg, "'a' is a machine of cluster 't' with MAC 52:54:00:00:00:0a") != NULL);
    close(x);
    x = port_join(BCAST, "", &st, msg);
    CHECK_EQ(st, -EINVAL);
    close(x);
    /* A port that speaks another protocol is refused and closed. */
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    strcpy(sa.sun_path, sock_path);
    CHECK(connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0);
    send(fd, "hello?", 6, 0);
    struct switch_welcome w;
    CHECK(port_recv(fd, (uint8_t *)&w, sizeof(w), 2000) == (int)sizeof(w) && w.status == -EPROTO);
    close(fd);
    /* A second switch on the same socket is refused. */
    struct switch_config c;
    memset(&c, 0, sizeof(c));
    snprintf(c.name, sizeof(c.name), "t");
    switch_parse_cidr("10.20.0.0/24", &c.network, &c.prefix);
    c.service_ip = SVC_IP;
    struct net_switch *two = NULL;
    struct err e = ERR_INIT;
    CHECK_EQ(switch_create(&c, sock_path, &two, &e), -EADDRINUSE);
    CHECK(strstr(e.msg, "another switch already listens") != NULL);
}

static void forwards_and_learns(void)
{
    uint8_t f[1600], r[2048];
    drain(pa);
    drain(pb);
    /* Broadcast reaches the other port, not the sender. */
    send(pa, f, data_frame(f, BCAST, MAC_A, 1, 60), 0);
    CHECK(port_recv(pb, r, sizeof(r), 1000) == 60 && r[14] == 1);
    CHECK(port_recv(pa, r, sizeof(r), 100) < 0);
    /* Unicast to a known MAC. */
    send(pb, f, data_frame(f, MAC_A, MAC_B, 2, 100), 0);
    CHECK(port_recv(pa, r, sizeof(r), 1000) == 100 && r[14] == 2);
    /* A guest posing as the switch's own MAC is ignored. */
    send(pb, f, data_frame(f, MAC_A, SVC_MAC, 3, 60), 0);
    CHECK(port_recv(pa, r, sizeof(r), 200) < 0);
    /* A third port (ad hoc) gets its name from its label; unknown unicast floods. */
    int st;
    char msg[256];
    int pc = port_join(MAC_C, "visitor", &st, msg);
    CHECK(pc >= 0 && st == 0 && !strcmp(msg, "visitor"));
    uint8_t other[6] = { 0x52, 0x54, 0, 0, 0, 0x77 };
    send(pa, f, data_frame(f, other, MAC_A, 4, 60), 0);
    CHECK(port_recv(pb, r, sizeof(r), 1000) == 60 && r[14] == 4);
    CHECK(port_recv(pc, r, sizeof(r), 1000) == 60 && r[14] == 4);
    close(pc);
    json_t *s = switch_status_json(sw, NULL);
    json_t *n = json_array_get(json_object_get(s, "nodes"), 2);
    CHECK(!strcmp(json_string_value(json_object_get(n, "name")), "visitor"));
    CHECK(!json_is_true(json_object_get(n, "fixed")));
    json_decref(s);
}

static void service_arp_and_ping(void)
{
    uint8_t f[128], r[2048];
    drain(pa);
    size_t o = eth(f, BCAST, MAC_A, 0x0806);
    uint8_t *a = f + o;
    memset(a, 0, 28);
    a[1] = 1; a[2] = 8; a[4] = 6; a[5] = 4; a[7] = 1;
    memcpy(a + 8, MAC_A, 6);
    uint32_t me = htonl(0x0a14000b), svc = htonl(SVC_IP);
    memcpy(a + 14, &me, 4);
    memcpy(a + 24, &svc, 4);
    send(pa, f, o + 28, 0);
    int n = port_recv(pa, r, sizeof(r), 1000);
    CHECK(n >= 42 && !memcmp(r, MAC_A, 6) && !memcmp(r + 6, SVC_MAC, 6) && r[21] == 2 &&
          !memcmp(r + 22, SVC_MAC, 6) && !memcmp(r + 28, &svc, 4));
    /* ping 10.20.0.1 */
    o = eth(f, SVC_MAC, MAC_A, 0x0800);
    uint8_t *ip = f + o;
    memset(ip, 0, 28 + 8);
    ip[0] = 0x45; ip[3] = 36; ip[8] = 64; ip[9] = 1;
    memcpy(ip + 12, &me, 4);
    memcpy(ip + 16, &svc, 4);
    uint16_t c = csum(ip, 20, 0);
    ip[10] = (uint8_t)(c >> 8); ip[11] = (uint8_t)c;
    ip[20] = 8; ip[24] = 0x12; ip[25] = 0x34; memcpy(ip + 28, "pingpong", 8);
    send(pa, f, o + 36, 0);
    n = port_recv(pa, r, sizeof(r), 1000);
    CHECK(n == (int)(o + 36) && r[14 + 9] == 1 && r[34] == 0 && !memcmp(r + 42, "pingpong", 8) &&
          csum(r + 34, 16, 0) == 0 && csum(r + 14, 20, 0) == 0);
}

/* DHCP: a DISCOVER or REQUEST from mac; the reply's yiaddr, type and the
 * options we look at. */
struct dhcp_reply {
    int type;
    uint32_t yiaddr, server, mask, dns;
    char domain[64], host[64];
};

static int dhcp(int fd, const uint8_t *mac, int type, uint32_t want, const char *hostname,
                struct dhcp_reply *out)
{
    uint8_t bp[300], f[600], r[2048];
    memset(bp, 0, sizeof(bp));
    bp[0] = 1; bp[1] = 1; bp[2] = 6;
    bp[4] = 0xde; bp[5] = 0xad; bp[6] = 0xbe; bp[7] = 0xef;
    memcpy(bp + 28, mac, 6);
    bp[236] = 99; bp[237] = 130; bp[238] = 83; bp[239] = 99;
    size_t o = 240;
    bp[o++] = 53; bp[o++] = 1; bp[o++] = (uint8_t)type;
    if (want) {
        uint32_t w = htonl(want);
        bp[o++] = 50; bp[o++] = 4;
        memcpy(bp + o, &w, 4);
        o += 4;
    }
    if (hostname) {
        bp[o++] = 12; bp[o++] = (uint8_t)strlen(hostname);
        memcpy(bp + o, hostname, strlen(hostname));
        o += strlen(hostname);
    }
    bp[o++] = 255;
    send(fd, f, udp_frame(f, BCAST, mac, 0, 0xffffffffu, 68, 67, bp, 300), 0);
    int n;
    while ((n = port_recv(fd, r, sizeof(r), 1000)) > 0) {
        if (n < 42 + 240 || r[23] != 17 || r[36] != 0 || r[37] != 68)
            continue;
        const uint8_t *b = r + 42;
        memset(out, 0, sizeof(*out));
        CHECK(!memcmp(r, mac, 6) && b[0] == 2 && !memcmp(b + 4, "\xde\xad\xbe\xef", 4));
        out->yiaddr = ntohl(*(uint32_t *)(b + 16));
        for (size_t i = 240; i + 1 < (size_t)n - 42 && b[i] != 255; i += 2 + b[i + 1]) {
            const uint8_t *v = b + i + 2;
            switch (b[i]) {
            case 53: out->type = v[0]; break;
            case 54: out->server = ntohl(*(uint32_t *)v); break;
            case 1: out->mask = ntohl(*(uint32_t *)v); break;
            case 6: out->dns = ntohl(*(uint32_t *)v); break;
            case 15: memcpy(out->domain, v, b[i + 1]); break;
            case 12: memcpy(out->host, v, b[i + 1]); break;
            }
        }
        return 0;
    }
    return -1;
}

static void service_dhcp(void)
{
    struct dhcp_reply d;
    drain(pa);
    CHECK_EQ(dhcp(pa, MAC_A, 1, 0, NULL, &d), 0);
    CHECK_EQ(d.type, 2);
    CHECK_EQ(d.yiaddr, 0x0a14000b);            /* a's fixed address */
    CHECK_EQ(d.server, SVC_IP);
    CHECK_EQ(d.mask, 0xffffff00);
    CHECK_EQ(d.dns, SVC_IP);
    CHECK(!strcmp(d.domain, "t") && !strcmp(d.host, "a"));
    CHECK_EQ(dhcp(pa, MAC_A, 3, 0x0a14000b, NULL, &d), 0);
    CHECK_EQ(d.type, 5);                       /* ACK */
    CHECK_EQ(dhcp(pa, MAC_A, 3, 0x0a140063, NULL, &d), 0);
    CHECK_EQ(d.type, 6);                       /* NAK: not its address */
    json_t *s = switch_status_json(sw, "a");
    CHECK(json_is_true(json_object_get(json_array_get(json_object_get(s, "nodes"), 0), "lease")));
    json_decref(s);
    /* Ad-hoc machines: from the pool, named by their DHCP host name; the
     * pool runs out. */
    uint8_t m1[6] = { 0x52, 0x54, 0, 1, 1, 1 }, m2[6] = { 0x52, 0x54, 0, 1, 1, 2 },
            m3[6] = { 0x52, 0x54, 0, 1, 1, 3 };
    int f1 = port_join(m1, "", NULL, NULL), f2 = port_join(m2, "", NULL, NULL),
        f3 = port_join(m3, "", NULL, NULL);
    CHECK_EQ(dhcp(f1, m1, 1, 0, "web", &d), 0);
    CHECK_EQ(d.yiaddr, 0x0a1400c8);
    CHECK(!strcmp(d.host, "web"));
    CHECK_EQ(dhcp(f2, m2, 1, 0, "web", &d), 0); /* the name is taken: keeps its own */
    CHECK_EQ(d.yiaddr, 0x0a1400c9);
    CHECK(strcmp(d.host, "web") != 0);
    CHECK(dhcp(f3, m3, 1, 0, NULL, &d) < 0);   /* no address left: no offer */
    close(f1);
    close(f2);
    close(f3);
}

/* A DNS query for name (type qtype); the reply's rcode and first A or PTR. */
static int dns(const char *name, int qtype, int *rcode, uint32_t *a, char *ptr)
{
    uint8_t q[300], f[600], r[2048];
    size_t o = 12;
    memset(q, 0, sizeof(q));
    q[0] = 0x12; q[1] = 0x34; q[2] = 1; q[5] = 1;
    for (const char *p = name; *p; ) {
        size_t l = strcspn(p, ".");
        q[o++] = (uint8_t)l;
        memcpy(q + o, p, l);
        o += l;
        p += l;
        if (*p)
            p++;
    }
    q[o++] = 0;
    q[o++] = 0; q[o++] = (uint8_t)qtype; q[o++] = 0; q[o++] = 1;
    drain(pb);
    send(pb, f, udp_frame(f, SVC_MAC, MAC_B, 0x0a14000c, SVC_IP, 5353, 53, q, o), 0);
    int n = port_recv(pb, r, sizeof(r), 1000);
    if (n < 42 + 12)
        return -1;
    const uint8_t *m = r + 42;
    CHECK(m[0] == 0x12 && m[1] == 0x34 && (m[2] & 0x80) && r[36] == 0x14 && r[37] == 0xe9);
    *rcode = m[3] & 0xf;
    int an = m[6] << 8 | m[7];
    if (an && n >= (int)(42 + o + 12)) {
        const uint8_t *rr = m + o;
        int type = rr[3], rdl = rr[10] << 8 | rr[11];
        if (type == 1 && rdl == 4)
            *a = ntohl(*(uint32_t *)(rr + 12));
        if (type == 12 && ptr) {
            size_t k = 0;
            for (const uint8_t *p = rr + 12; *p && k < 100; p += *p + 1) {
                if (k)
                    ptr[k++] = '.';
                memcpy(ptr + k, p + 1, *p);
                k += *p;
            }
            ptr[k] = 0;
        }
    }
    return an;
}

static void service_dns(void)
{
    int rc;
    uint32_t a = 0;
    char ptr[128] = "";
    CHECK_EQ(dns("a", 1, &rc, &a, NULL), 1);
    CHECK_EQ(rc, 0);
    CHECK_EQ(a, 0x0a14000b);
    a = 0;
    CHECK_EQ(dns("B.t", 1, &rc, &a, NULL), 1);       /* NAME.CLUSTER, any case */
    CHECK_EQ(a, 0x0a14000c);
    a = 0;
    CHECK_EQ(dns("gateway", 1, &rc, &a, NULL), 1);
    CHECK_EQ(a, SVC_IP);
    CHECK_EQ(dns("a", 28, &rc, &a, NULL), 0);        /* AAAA: the name is there, no answer */
    CHECK_EQ(rc, 0);
    CHECK_EQ(dns("nosuch", 1, &rc, &a, NULL), 0);
    CHECK_EQ(rc, 3);                                 /* NXDOMAIN */
    CHECK_EQ(dns("a.other", 1, &rc, &a, NULL), 0);
    CHECK_EQ(rc, 3);
    CHECK_EQ(dns("12.0.20.10.in-addr.arpa", 12, &rc, &a, ptr), 1);
    CHECK(!strcmp(ptr, "b.t"));
}

static json_t *link_of(const char *from, const char *to)
{
    json_t *s = switch_status_json(sw, NULL), *l, *found = NULL;
    size_t i;
    json_array_foreach(json_object_get(s, "links"), i, l)
        if (!strcmp(json_string_value(json_object_get(l, "from")), from) &&
            !strcmp(json_string_value(json_object_get(l, "to")), to))
            found = json_incref(l);
    json_decref(s);
    return found ? found : json_object();
}

static long long counter(const char *from, const char *to, const char *key)
{
    json_t *l = link_of(from, to);
    long long v = json_integer_value(json_object_get(l, key));
    json_decref(l);
    return v;
}

/* Sends n frames a -> b and counts those that arrive within ms. */
static int a_to_b(int n, size_t len, int ms)
{
    uint8_t f[1600], r[2048];
    drain(pb);
    for (int i = 0; i < n; i++)
        send(pa, f, data_frame(f, MAC_B, MAC_A, (uint8_t)i, len), 0);
    int got = 0;
    while (port_recv(pb, r, sizeof(r), ms) > 0)
        got++;
    return got;
}

static void faults_partition_and_heal(void)
{
    struct err e = ERR_INIT;
    const char *peers[] = { "b" };
    CHECK_EQ(a_to_b(5, 60, 300), 5);
    long long before = counter("a", "b", "dropped_partition");
    CHECK_EQ(switch_partition(sw, "a", peers, 1, &e), 0);
    CHECK_EQ(a_to_b(5, 60, 300), 0);
    uint8_t f[100], r[2048];
    send(pb, f, data_frame(f, MAC_A, MAC_B, 9, 60), 0);   /* and back */
    CHECK(port_recv(pa, r, sizeof(r), 300) < 0);
    CHECK_EQ(counter("a", "b", "dropped_partition") - before, 5);
    CHECK_EQ(counter("b", "a", "dropped_partition") >= 1, 1);
    json_t *s = switch_status_json(sw, NULL);
    json_t *flt = json_array_get(json_object_get(s, "faults"), 0);
    CHECK(!strcmp(json_string_value(json_object_get(flt, "type")), "partition"));
    CHECK(!strcmp(json_string_value(json_array_get(json_object_get(flt, "peers"), 0)), "b"));
    json_decref(s);
    CHECK_EQ(switch_heal(sw, "b", &e), 0);      /* healing either side heals the link */
    CHECK_EQ(a_to_b(5, 60, 300), 5);
    CHECK_EQ(switch_partition(sw, "nosuch", NULL, 0, &e), -ENOENT);
    CHECK(strstr(e.msg, "no machine named 'nosuch'") != NULL);
    CHECK_EQ(switch_partition(sw, "gateway", NULL, 0, &e), -EINVAL);
    const char *self[] = { "a" };
    CHECK_EQ(switch_partition(sw, "a", self, 1, &e), -EINVAL);
    /* Every other machine (no peers): ad-hoc ones that join later too. */
    CHECK_EQ(switch_partition(sw, "b", NULL, 0, &e), 0);
    CHECK_EQ(a_to_b(3, 60, 300), 0);
    CHECK_EQ(switch_heal(sw, NULL, &e), 0);
    CHECK_EQ(a_to_b(3, 60, 300), 3);
}

static void faults_loss_and_duplicate(void)
{
    struct err e = ERR_INIT;
    struct switch_rule r = { .loss = 1.0 };
    CHECK_EQ(switch_degrade(sw, "a", NULL, 0, &r, &e), 0);
    CHECK_EQ(a_to_b(20, 60, 300), 0);
    r.loss = 0.5;
    CHECK_EQ(switch_degrade(sw, "a", NULL, 0, &r, &e), 0);   /* replaces the first */
    long long lost0 = counter("a", "b", "dropped_loss");
    int got = 0;
    for (int k = 0; k < 10; k++)
        got += a_to_b(200, 60, 200);
    long long lost = counter("a", "b", "dropped_loss") - lost0;
    CHECK(got > 850 && got < 1150);             /* 2000 frames at 50 %: 1000 +- 5 sd */
    CHECK_EQ(lost + got, 2000);
    json_t *s = switch_status_json(sw, NULL);
    CHECK_EQ(json_array_size(json_object_get(s, "faults")), 1);
    json_decref(s);
    memset(&r, 0, sizeof(r));
    r.duplicate = 1.0;
    CHECK_EQ(switch_degrade(sw, "a", NULL, 0, &r, &e), 0);
    CHECK_EQ(a_to_b(10, 60, 300), 20);
    CHECK(counter("a", "b", "duplicated") >= 10);
    r.loss = 1.5;
    CHECK_EQ(switch_degrade(sw, "a", NULL, 0, &r, &e), -EINVAL);
    CHECK_EQ(switch_heal(sw, NULL, &e), 0);
}

static void faults_delay_jitter_rate(void)
{
    struct err e = ERR_INIT;
    uint8_t f[1600], rb[2048];
    struct switch_rule r = { .delay_ns = 50000000 };
    CHECK_EQ(switch_degrade(sw, "a", NULL, 0, &r, &e), 0);
    drain(pb);
    double t = now();
    send(pa, f, data_frame(f, MAC_B, MAC_A, 1, 60), 0);
    CHECK(port_recv(pb, rb, sizeof(rb), 1000) == 60);
    double d = now() - t;
    CHECK(d >= 0.049 && d < 0.2);
    /* The other way is not delayed: a degrade is on what a sends. */
    t = now();
    send(pb, f, data_frame(f, MAC_A, MAC_B, 1, 60), 0);
    CHECK(port_recv(pa, rb, sizeof(rb), 1000) == 60);
    CHECK(now() - t < 0.04);
    CHECK(counter("a", "b", "delayed") >= 1);
    /* Jitter: each frame waits 50 +- 30 ms. */
    r.jitter_ns = 30000000;
    CHECK_EQ(switch_degrade(sw, "a", NULL, 0, &r, &e), 0);
    double lo = 1, hi = 0;
    for (int i = 0; i < 20; i++) {
        t = now();
        send(pa, f, data_frame(f, MAC_B, MAC_A, 1, 60), 0);
        CHECK(port_recv(pb, rb, sizeof(rb), 1000) == 60);
        d = now() - t;
        lo = d < lo ? d : lo;
        hi = d > hi ? d : hi;
    }
    CHECK(lo >= 0.019 && hi < 0.2 && hi - lo > 0.01);
    /* Rate 8 mbit: 100 frames of 1000 bytes are 0.8 Mbit, 100 ms on the wire. */
    memset(&r, 0, sizeof(r));
    r.rate_bps = 8000000;
    CHECK_EQ(switch_degrade(sw, "a", NULL, 0, &r, &e), 0);
    drain(pb);
    t = now();
    for (int i = 0; i < 100; i++)
        send(pa, f, data_frame(f, MAC_B, MAC_A, (uint8_t)i, 1000), 0);
    int got = 0;
    double last = t;
    while (port_recv(pb, rb, sizeof(rb), 500) > 0) {
        got++;
        last = now();
    }
    CHECK_EQ(got, 100);
    CHECK(last - t > 0.085 && last - t < 0.3);
    /* Beyond the link's limit (1000 frames) frames are dropped and counted. */
    r.rate_bps = 8000;                           /* a frame of 1000 bytes a second */
    CHECK_EQ(switch_degrade(sw, "a", NULL, 0, &r, &e), 0);
    long long q0 = counter("a", "b", "dropped_queue");
    for (int i = 0; i < 1100; i++)
        send(pa, f, data_frame(f, MAC_B, MAC_A, 1, 1000), 0);
    usleep(300000);
    CHECK(counter("a", "b", "dropped_queue") - q0 >= 90);
    CHECK_EQ(switch_heal(sw, NULL, &e), 0);
    close(pb);                                   /* b leaves: its waiting frames are dropped */
    int st;
    pb = port_join(MAC_B, "", &st, NULL);        /* and comes back as b */
    CHECK_EQ(st, 0);
    CHECK_EQ(a_to_b(3, 60, 300), 3);
}

static void hostile_frames(void)
{
    uint8_t f[2048];
    unsigned seed = 12345;
    for (int i = 0; i < 5000; i++) {
        size_t len = 14 + (size_t)(rand_r(&seed) % 700);
        for (size_t k = 0; k < len; k++)
            f[k] = (uint8_t)rand_r(&seed);
        memcpy(f, i & 1 ? BCAST : SVC_MAC, 6);
        memcpy(f + 6, MAC_A, 6);
        int kind = i % 5;
        if (kind == 0) {                         /* IPv4 UDP to 67 or 53, fields random */
            f[12] = 8; f[13] = 0; f[14] = 0x45; f[23] = 17;
            f[36] = 0; f[37] = i & 2 ? 67 : 53;
        } else if (kind == 1) {
            f[12] = 8; f[13] = 6;                /* ARP */
        } else if (kind == 2) {
            f[12] = 8; f[13] = 0; f[23] = 1;     /* ICMP, any IHL */
        }
        send(pa, f, len, MSG_DONTWAIT);
    }
    usleep(200000);
    drain(pa);
    drain(pb);
    /* Still answering. */
    int rc;
    uint32_t a = 0;
    CHECK_EQ(dns("a", 1, &rc, &a, NULL), 1);
    CHECK_EQ(a, 0x0a14000b);
    int n = a_to_b(3, 60, 300);
    CHECK_EQ(n, 3);
    if (n != 3) {
        json_t *l = link_of("a", "b");
        char *t = json_dumps(l, 0);
        printf("  a->b: %s\n", t);
        free(t);
        json_decref(l);
    }
}

static void rx(void *opaque, const uint8_t *frame, size_t len)
{
    (void)frame;
    *(int *)opaque = (int)len;
}

static void vmm_port_backend(void)
{
    /* The VMM's side: net_switch_open finds the switch by name under
     * $HOSTEL_HOME, announces the NIC's MAC and label, carries frames. */
    static int got;
    struct net_options o;
    memset(&o, 0, sizeof(o));
    o.mode = NET_MODE_SWITCH;
    o.switch_spec = "t,name=vm";
    uint8_t mac[6] = { 0x52, 0x54, 0, 2, 2, 2 };
    memcpy(o.mac, mac, 6);
    struct net_backend *nb = NULL;
    struct err e = ERR_INIT;
    CHECK_EQ(net_backend_open(&o, rx, &got, &nb, &e), 0);
    if (!nb) {
        printf("  %s\n", e.msg);
        return;
    }
    uint8_t f[100], r[2048];
    drain(pa);
    CHECK_EQ(net_send(nb, f, data_frame(f, MAC_A, mac, 7, 80)), 0);
    CHECK(port_recv(pa, r, sizeof(r), 1000) == 80 && r[14] == 7);
    send(pa, f, data_frame(f, mac, MAC_A, 8, 70), 0);
    for (int i = 0; i < 100 && !got; i++)
        usleep(10000);
    CHECK_EQ(got, 70);
    json_t *s = switch_status_json(sw, "vm");
    CHECK(json_is_true(json_object_get(json_array_get(json_object_get(s, "nodes"), 0),
                                       "connected")));
    json_decref(s);
    net_backend_close(nb);
    /* No such switch: a clear message. */
    o.switch_spec = "nosuch";
    CHECK(net_backend_open(&o, rx, &got, &nb, &e) < 0);
    CHECK(strstr(e.msg, "switch 'nosuch' is not running") != NULL);
}

static void parsers(void)
{
    double p;
    uint64_t v;
    CHECK(switch_parse_percent("20%", &p) == 0 && p == 0.2);
    CHECK(switch_parse_percent("100", &p) == 0 && p == 1.0);
    CHECK(switch_parse_percent("101%", &p) < 0 && switch_parse_percent("x", &p) < 0);
    CHECK(switch_parse_duration("100ms", &v) == 0 && v == 100000000);
    CHECK(switch_parse_duration("1.5s", &v) == 0 && v == 1500000000);
    CHECK(switch_parse_duration("250us", &v) == 0 && v == 250000);
    CHECK(switch_parse_duration("20", &v) == 0 && v == 20000000);
    CHECK(switch_parse_duration("-1ms", &v) < 0 && switch_parse_duration("5m", &v) < 0);
    CHECK(switch_parse_rate("1mbit", &v) == 0 && v == 1000000);
    CHECK(switch_parse_rate("100kbit", &v) == 0 && v == 100000);
    CHECK(switch_parse_rate("2gbit", &v) == 0 && v == 2000000000);
    CHECK(switch_parse_rate("100bit", &v) < 0 && switch_parse_rate("1mb", &v) < 0);
    char b[32];
    switch_format_rate(1000000, b, sizeof(b));
    CHECK(!strcmp(b, "1mbit"));
    switch_format_duration(100000000, b, sizeof(b));
    CHECK(!strcmp(b, "100ms"));
    uint32_t net;
    int prefix;
    CHECK(switch_parse_cidr("10.10.0.0/24", &net, &prefix) == 0 && net == 0x0a0a0000 &&
          prefix == 24);
    CHECK(switch_parse_cidr("10.10.0.1/24", &net, &prefix) < 0);
    CHECK(switch_parse_cidr("10.10.0.0", &net, &prefix) < 0);
    CHECK(switch_parse_cidr("10.0.0.0/31", &net, &prefix) < 0);
    struct err e = ERR_INIT;
    char name[64], label[64];
    CHECK(net_switch_parse("db,name=web", name, sizeof(name), label, sizeof(label), &e) == 0 &&
          !strcmp(name, "db") && !strcmp(label, "web"));
    CHECK(net_switch_parse("../x", name, sizeof(name), NULL, 0, &e) < 0);
    uint8_t m1[6], m2[6];
    switch_machine_mac("db", "n1", m1);
    switch_machine_mac("db", "n2", m2);
    CHECK(m1[0] == 0x52 && memcmp(m1, m2, 6) != 0);
}

int main(void)
{
    snprintf(home, sizeof(home), "/tmp/hostel-switch-test-%d", (int)getpid());
    snprintf(sock_path, sizeof(sock_path), "%s/clusters/t/%s", home, SWITCH_SOCKET_FILE);
    char dir[600];
    snprintf(dir, sizeof(dir), "mkdir -p %s/clusters/t", home);
    if (system(dir) != 0)
        return 1;
    setenv("HOSTEL_HOME", home, 1);
    RUN_TEST(parsers);
    sw = make_switch();
    if (!sw) {
        printf("FAIL: switch_create\n");
        return 1;
    }
    RUN_TEST(joins_and_refusals);
    RUN_TEST(forwards_and_learns);
    RUN_TEST(service_arp_and_ping);
    RUN_TEST(service_dhcp);
    RUN_TEST(service_dns);
    RUN_TEST(faults_partition_and_heal);
    RUN_TEST(faults_loss_and_duplicate);
    RUN_TEST(faults_delay_jitter_rate);
    RUN_TEST(hostile_frames);
    RUN_TEST(vmm_port_backend);
    close(pa);
    close(pb);
    switch_destroy(sw);
    file_remove_tree(home);
    return CHECK_DONE();
}
