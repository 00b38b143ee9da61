/* The switch's own host at the network's service address: it answers ARP
 * and ping for itself, DHCP with each machine's fixed address (and a pool
 * for machines that join ad hoc), and DNS for the machines' names (NAME and
 * NAME.CLUSTER, and their reverse lookups).  With NAT on, other names are
 * relayed to the host's resolver.  Every field read from a frame is checked
 * against the frame's length first: the guests are not trusted. */
#include "net/switch_priv.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib/log.h"

#define ETH_HLEN   14
#define ETH_P_IP   0x0800
#define ETH_P_ARP  0x0806
#define DHCP_MAGIC 0x63825363u
#define DNS_TTL    60

static uint16_t rd16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p)
{
    return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

static void wr16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

static void wr32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)(v >> 24);
    p[1] = (uint8_t)(v >> 16);
    p[2] = (uint8_t)(v >> 8);
    p[3] = (uint8_t)v;
}

uint16_t sw_ip_checksum(const void *data, size_t len, uint32_t seed)
{
    const uint8_t *p = data;
    uint32_t sum = seed;
    for (size_t i = 0; i + 1 < len; i += 2)
        sum += (uint32_t)(p[i] << 8 | p[i + 1]);
    if (len & 1)
        sum += (uint32_t)p[len - 1] << 8;
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

/* Ethernet + IPv4 + UDP around payload (already at frame + 42), sent to
 * node dst. */
static void send_udp(struct net_switch *sw, int dst, const uint8_t *dst_mac, uint32_t dst_ip,
                     uint16_t sport, uint16_t dport, uint8_t *frame, size_t payload)
{
    uint8_t *eth = frame, *ip = frame + ETH_HLEN, *udp = ip + 20;
    memcpy(eth, dst_mac, 6);
    memcpy(eth + 6, sw->service_mac, 6);
    wr16(eth + 12, ETH_P_IP);
    size_t ulen = 8 + payload;
    memset(ip, 0, 20);
    ip[0] = 0x45;
    wr16(ip + 2, (uint16_t)(20 + ulen));
    ip[8] = 64;
    ip[9] = 17;
    wr32(ip + 12, sw->cfg.service_ip);
    wr32(ip + 16, dst_ip);
    wr16(ip + 10, sw_ip_checksum(ip, 20, 0));
    wr16(udp, sport);
    wr16(udp + 2, dport);
    wr16(udp + 4, (uint16_t)ulen);
    wr16(udp + 6, 0);
    uint32_t pseudo = (sw->cfg.service_ip >> 16) + (sw->cfg.service_ip & 0xffff) +
                      (dst_ip >> 16) + (dst_ip & 0xffff) + 17 + (uint32_t)ulen;
    uint16_t c = sw_ip_checksum(udp, ulen, pseudo);
    wr16(udp + 6, c ? c : 0xffff);
    sw_service_send(sw, dst, frame, ETH_HLEN + 20 + ulen);
}

/* ---- ARP and ping ------------------------------------------------------- */

static int arp_input(struct net_switch *sw, int src, const uint8_t *f, size_t len)
{
    if (len < ETH_HLEN + 28)
        return 0;
    const uint8_t *a = f + ETH_HLEN;
    if (rd16(a) != 1 || rd16(a + 2) != ETH_P_IP || a[4] != 6 || a[5] != 4 || rd16(a + 6) != 1)
        return 0;
    if (rd32(a + 24) != sw->cfg.service_ip)
        return 0;
    if (sw->gw)
        return 0;                    /* libslirp answers for the same host, and learns the MAC */
    uint8_t r[ETH_HLEN + 28];
    memcpy(r, a + 8, 6);
    memcpy(r + 6, sw->service_mac, 6);
    wr16(r + 12, ETH_P_ARP);
    uint8_t *ra = r + ETH_HLEN;
    wr16(ra, 1);
    wr16(ra + 2, ETH_P_IP);
    ra[4] = 6;
    ra[5] = 4;
    wr16(ra + 6, 2);
    memcpy(ra + 8, sw->service_mac, 6);
    wr32(ra + 14, sw->cfg.service_ip);
    memcpy(ra + 18, a + 8, 10);      /* their MAC and address */
    sw_service_send(sw, src, r, sizeof(r));
    return 1;
}

static int icmp_input(struct net_switch *sw, int src, const uint8_t *f, size_t len,
                      size_t ihl, size_t iplen)
{
    const uint8_t *ip = f + ETH_HLEN, *ic = ip + ihl;
    size_t iclen = iplen - ihl;
    if (iclen < 8 || ic[0] != 8 || iplen > 1500)
        return 1;                    /* only echo requests get an answer */
    uint8_t r[ETH_HLEN + 1500];
    memcpy(r, f + 6, 6);
    memcpy(r + 6, sw->service_mac, 6);
    wr16(r + 12, ETH_P_IP);
    uint8_t *rip = r + ETH_HLEN;
    memcpy(rip, ip, ihl);
    memcpy(rip + 12, ip + 16, 4);
    memcpy(rip + 16, ip + 12, 4);
    rip[8] = 64;
    wr16(rip + 10, 0);
    wr16(rip + 10, sw_ip_checksum(rip, ihl, 0));
    uint8_t *ric = rip + ihl;
    memcpy(ric, ic, iclen);
    ric[0] = 0;
    wr16(ric + 2, 0);
    wr16(ric + 2, sw_ip_checksum(ric, iclen, 0));
    (void)len;
    sw_service_send(sw, src, r, ETH_HLEN + iplen);
    return 1;
}

/* ---- DHCP ----------------------------------------------------------------- */

static bool ip_taken(struct net_switch *sw, uint32_t ip)
{
    for (int i = 0; i < SWITCH_MAX_NODES; i++)
        if (sw->nodes[i].used && sw->nodes[i].ip == ip)
            return true;
    return false;
}

/* The node's address: fixed, or the first free one of the pool. */
static uint32_t node_address(struct net_switch *sw, int n)
{
    if (sw->nodes[n].ip)
        return sw->nodes[n].ip;
    for (uint32_t ip = sw->cfg.pool_first; ip && ip <= sw->cfg.pool_last; ip++)
        if (!ip_taken(sw, ip)) {
            sw->nodes[n].ip = ip;
            return ip;
        }
    return 0;
}

static const uint8_t *dhcp_option(const uint8_t *opt, size_t len, uint8_t code, uint8_t *olen)
{
    size_t i = 0;
    while (i < len) {
        uint8_t c = opt[i];
        if (c == 255)
            break;
        if (c == 0) {
            i++;
            continue;
        }
        if (i + 1 >= len || i + 2 + opt[i + 1] > len)
            break;
        if (c == code) {
            *olen = opt[i + 1];
            return opt + i + 2;
        }
        i += 2 + opt[i + 1];
    }
    return NULL;
}

/* An ad-hoc machine without a label takes the host name its DHCP client
 * gives, when no other machine has it. */
static void adopt_hostname(struct net_switch *sw, int n, const uint8_t *h, uint8_t hl)
{
    struct sw_node *nd = &sw->nodes[n];
    if (nd->fixed || nd->label[0] || !h || !hl || hl > SWITCH_NAME_MAX)
        return;
    char name[SWITCH_NAME_MAX + 1];
    memcpy(name, h, hl);
    name[hl] = 0;
    if (net_switch_name_check(name, "name", NULL) < 0 || sw_node_by_name(sw, name) >= 0)
        return;
    snprintf(nd->name, sizeof(nd->name), "%s", name);
}

static int dhcp_input(struct net_switch *sw, int src, const uint8_t *bp, size_t blen)
{
    if (blen < 240 || bp[0] != 1 || bp[1] != 1 || bp[2] != 6 || rd32(bp + 236) != DHCP_MAGIC)
        return 1;
    const uint8_t *opts = bp + 240;
    size_t olen = blen - 240;
    uint8_t l = 0;
    const uint8_t *t = dhcp_option(opts, olen, 53, &l);
    if (!t || l != 1)
        return 1;
    uint8_t type = t[0], reply;
    if (src <= 0)
        return 1;
    struct sw_node *nd = &sw->nodes[src];
    const uint8_t *sid = dhcp_option(opts, olen, 54, &l);
    if (sid && l == 4 && rd32(sid) != sw->cfg.service_ip)
        return 1;                    /* for another server */
    uint8_t hl = 0;
    const uint8_t *host = dhcp_option(opts, olen, 12, &hl);
    uint32_t ip = node_address(sw, src);
    switch (type) {
    case 1:                          /* DISCOVER */
        if (!ip)
            return 1;                /* the pool is empty: no offer */
        adopt_hostname(sw, src, host, hl);
        reply = 2;
        break;
    case 3: {                        /* REQUEST */
        const uint8_t *req = dhcp_option(opts, olen, 50, &l);
        uint32_t want = req && l == 4 ? rd32(req) : rd32(bp + 12);
        adopt_hostname(sw, src, host, hl);
        reply = ip && want == ip ? 5 : 6;
        break;
    }
    case 8:                          /* INFORM */
        reply = 5;
        ip = 0;
        break;
    case 4:                          /* DECLINE */
    case 7:                          /* RELEASE */
        nd->leased = false;
        return 1;
    default:
        return 1;
    }
    uint8_t frame[ETH_HLEN + 20 + 8 + 548];
    uint8_t *r = frame + ETH_HLEN + 28;
    memset(r, 0, 548);
    r[0] = 2;
    r[1] = 1;
    r[2] = 6;
    memcpy(r + 4, bp + 4, 4);        /* xid */
    memcpy(r + 10, bp + 10, 2);      /* flags */
    if (type == 8)
        memcpy(r + 12, bp + 12, 4);  /* ciaddr */
    if (reply == 5 || reply == 2)
        wr32(r + 16, ip);
    wr32(r + 20, sw->cfg.service_ip);
    memcpy(r + 28, bp + 28, 16);     /* chaddr */
    wr32(r + 236, DHCP_MAGIC);
    uint8_t *o = r + 240;
    *o++ = 53; *o++ = 1; *o++ = reply;
    *o++ = 54; *o++ = 4; wr32(o, sw->cfg.service_ip); o += 4;
    if (reply != 6) {
        uint32_t lease = sw->cfg.lease_s ? sw->cfg.lease_s : 86400;
        if (type != 8) {
            *o++ = 51; *o++ = 4; wr32(o, lease); o += 4;
            *o++ = 58; *o++ = 4; wr32(o, lease / 2); o += 4;
            *o++ = 59; *o++ = 4; wr32(o, lease / 8 * 7); o += 4;
        }
        *o++ = 1; *o++ = 4; wr32(o, sw->netmask); o += 4;
        *o++ = 28; *o++ = 4; wr32(o, sw->cfg.network | ~sw->netmask); o += 4;
        *o++ = 6; *o++ = 4; wr32(o, sw->cfg.service_ip); o += 4;
        if (sw->cfg.nat) {
            *o++ = 3; *o++ = 4; wr32(o, sw->cfg.service_ip); o += 4;
        }
        size_t dl = strlen(sw->cfg.name);
        *o++ = 15; *o++ = (uint8_t)dl; memcpy(o, sw->cfg.name, dl); o += dl;
        size_t nl = strlen(nd->name);
        *o++ = 12; *o++ = (uint8_t)nl; memcpy(o, nd->name, nl); o += nl;
    }
    *o++ = 255;
    size_t plen = (size_t)(o - r);
    if (plen < 300)
        plen = 300;                  /* BOOTP's minimum, which some clients expect */
    uint8_t dmac[6];
    memcpy(dmac, bp + 28, 6);
    send_udp(sw, src, dmac, 0xffffffffu, 67, 68, frame, plen);
    if (reply == 5 && type != 8 && !nd->leased) {
        nd->leased = true;
        char a[32];
        switch_format_ip(ip, a, sizeof(a));
        log_info("switch %s: %s has %s", sw->cfg.name, nd->name, a);
    }
    return 1;
}

/* ---- DNS ------------------------------------------------------------------ */

/* The question's name, lower case, dotted, into name; the offset after its
 * type and class into *end.  -1 when malformed (or compressed: a question
 * has no reason to be). */
static int dns_qname(const uint8_t *m, size_t len, char *name, size_t nlen, size_t *end)
{
    size_t i = 12, o = 0;
    for (;;) {
        if (i >= len)
            return -1;
        uint8_t l = m[i++];
        if (!l)
            break;
        if (l & 0xc0 || i + l > len || o + l + 2 > nlen)
            return -1;
        if (o)
            name[o++] = '.';
        for (uint8_t k = 0; k < l; k++)
            name[o++] = (char)tolower(m[i + k]);
        i += l;
    }
    name[o] = 0;
    if (i + 4 > len)
        return -1;
    *end = i + 4;
    return 0;
}

/* The node a name means: NAME, NAME.CLUSTER (with or without a final dot). */
static int dns_lookup(struct net_switch *sw, const char *qname)
{
    char n[256];
    snprintf(n, sizeof(n), "%s", qname);
    size_t l = strlen(n);
    if (l && n[l - 1] == '.')
        n[--l] = 0;
    int i = sw_node_by_name(sw, n);
    if (i >= 0 && sw->nodes[i].ip)
        return i;
    size_t cl = strlen(sw->cfg.name);
    if (l > cl + 1 && n[l - cl - 1] == '.' && !strcasecmp(n + l - cl, sw->cfg.name)) {
        n[l - cl - 1] = 0;
        i = sw_node_by_name(sw, n);
        if (i >= 0 && sw->nodes[i].ip)
            return i;
    }
    return -1;
}

/* "4.3.2.1.in-addr.arpa" -> 1.2.3.4. */
static int dns_reverse(const char *q, uint32_t *ip)
{
    unsigned a, b, c, d;
    char tail[32];
    if (sscanf(q, "%u.%u.%u.%u.%31s", &d, &c, &b, &a, tail) != 5 ||
        (strcmp(tail, "in-addr.arpa") && strcmp(tail, "in-addr.arpa.")) ||
        a > 255 || b > 255 || c > 255 || d > 255)
        return -1;
    *ip = a << 24 | b << 16 | c << 8 | d;
    return 0;
}

static void dns_relay(struct net_switch *sw, int src, const uint8_t *f, const uint8_t *m,
                      size_t len, uint16_t sport)
{
    if (sw->dns_fd < 0)
        return;
    unsigned slot = sw->dns_next_id % 64;
    uint16_t id = (uint16_t)(0x4000 + sw->dns_next_id++);
    sw->dns_pending[slot].used = true;
    sw->dns_pending[slot].id = id;
    sw->dns_pending[slot].client_id = rd16(m);
    sw->dns_pending[slot].client_port = sport;
    sw->dns_pending[slot].client_ip = rd32(f + ETH_HLEN + 12);
    memcpy(sw->dns_pending[slot].client_mac, f + 6, 6);
    sw->dns_pending[slot].at_ns = sw_now_ns();
    (void)src;
    uint8_t q[512];
    if (len > sizeof(q))
        return;
    memcpy(q, m, len);
    wr16(q, id);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(53),
                              .sin_addr.s_addr = sw->dns_upstream };
    if (sendto(sw->dns_fd, q, len, MSG_DONTWAIT, (struct sockaddr *)&sa, sizeof(sa)) < 0)
        sw->dns_pending[slot].used = false;
}

void sw_service_dns_upstream(struct net_switch *sw)
{
    uint8_t frame[ETH_HLEN + 28 + 1472];
    for (int k = 0; k < 16; k++) {
        uint8_t *m = frame + ETH_HLEN + 28;
        ssize_t n = recv(sw->dns_fd, m, 1472, MSG_DONTWAIT);
        if (n < 12)
            return;
        uint16_t id = rd16(m);
        for (int i = 0; i < 64; i++) {
            if (!sw->dns_pending[i].used || sw->dns_pending[i].id != id)
                continue;
            sw->dns_pending[i].used = false;
            if (sw_now_ns() - sw->dns_pending[i].at_ns > 10000000000LL)
                break;
            wr16(m, sw->dns_pending[i].client_id);
            int port = -1;
            for (int j = 1; j < SWITCH_MAX_NODES; j++)
                if (sw->nodes[j].used && !memcmp(sw->nodes[j].mac, sw->dns_pending[i].client_mac, 6))
                    port = j;
            if (port > 0)
                send_udp(sw, port, sw->dns_pending[i].client_mac, sw->dns_pending[i].client_ip,
                         53, sw->dns_pending[i].client_port, frame, (size_t)n);
            break;
        }
    }
}

static int dns_input(struct net_switch *sw, int src, const uint8_t *f, const uint8_t *m,
                     size_t len, uint16_t sport)
{
    if (len < 12 || len > 512 || (m[2] & 0x80) || ((m[2] >> 3) & 0xf) != 0 || rd16(m + 4) != 1)
        return 1;                    /* not a standard query of one question */
    char q[256];
    size_t qend;
    if (dns_qname(m, len, q, sizeof(q), &qend) < 0)
        return 1;
    uint16_t qtype = rd16(m + qend - 4), qclass = rd16(m + qend - 2);
    uint8_t frame[ETH_HLEN + 28 + 512];
    uint8_t *r = frame + ETH_HLEN + 28;
    memcpy(r, m, qend);
    r[2] = (uint8_t)(0x84 | (m[2] & 0x01));   /* answer, authoritative, RD copied */
    r[3] = 0x80;                              /* RA */
    wr16(r + 6, 0);
    wr16(r + 8, 0);
    wr16(r + 10, 0);
    size_t o = qend;
    int n = -1;
    uint32_t rev;
    if (dns_reverse(q, &rev) == 0) {
        for (int i = 0; i < SWITCH_MAX_NODES; i++)
            if (sw->nodes[i].used && sw->nodes[i].ip == rev)
                n = i;
        if (n < 0 && ((rev & sw->netmask) != sw->cfg.network) && sw->cfg.nat) {
            dns_relay(sw, src, f, m, len, sport);
            return 1;
        }
        if (n >= 0 && (qtype == 12 || qtype == 255) && qclass == 1) {
            char fq[160];
            snprintf(fq, sizeof(fq), "%s.%s", sw->nodes[n].name, sw->cfg.name);
            uint8_t enc[160];
            size_t el = 0;
            for (char *lab = fq; *lab; ) {
                size_t ll = strcspn(lab, ".");
                enc[el++] = (uint8_t)ll;
                memcpy(enc + el, lab, ll);
                el += ll;
                lab += ll;
                if (*lab)
                    lab++;
            }
            enc[el++] = 0;
            wr16(r + o, 0xc00c); o += 2;
            wr16(r + o, 12); o += 2;
            wr16(r + o, 1); o += 2;
            wr32(r + o, DNS_TTL); o += 4;
            wr16(r + o, (uint16_t)el); o += 2;
            memcpy(r + o, enc, el); o += el;
            wr16(r + 6, 1);
        }
    } else {
        n = dns_lookup(sw, q);
        if (n < 0 && sw->cfg.nat && strchr(q, '.')) {
            dns_relay(sw, src, f, m, len, sport);
            return 1;
        }
        if (n >= 0 && (qtype == 1 || qtype == 255) && qclass == 1) {
            wr16(r + o, 0xc00c); o += 2;
            wr16(r + o, 1); o += 2;
            wr16(r + o, 1); o += 2;
            wr32(r + o, DNS_TTL); o += 4;
            wr16(r + o, 4); o += 2;
            wr32(r + o, sw->nodes[n].ip); o += 4;
            wr16(r + 6, 1);
        }
    }
    if (n < 0)
        r[3] |= 3;                   /* NXDOMAIN: no such machine (and no internet side) */
    send_udp(sw, src, f + 6, rd32(f + ETH_HLEN + 12), 53, sport, frame, o);
    return 1;
}

/* ---- the way in ------------------------------------------------------------- */

int sw_service_input(struct net_switch *sw, int src, const uint8_t *f, size_t len)
{
    if (len < ETH_HLEN)
        return 0;
    uint16_t type = rd16(f + 12);
    if (type == ETH_P_ARP)
        return arp_input(sw, src, f, len);
    if (type != ETH_P_IP || len < ETH_HLEN + 20)
        return 0;
    const uint8_t *ip = f + ETH_HLEN;
    size_t ihl = (size_t)(ip[0] & 0xf) * 4, iplen = rd16(ip + 2);
    if ((ip[0] >> 4) != 4 || ihl < 20 || iplen < ihl || ETH_HLEN + iplen > len)
        return 0;
    if (rd16(ip + 6) & 0x3fff)
        return 0;                    /* fragments are not for us */
    uint32_t dst = rd32(ip + 16);
    bool to_us = dst == sw->cfg.service_ip;
    bool bcast = dst == 0xffffffffu || dst == (sw->cfg.network | ~sw->netmask);
    if (ip[9] == 1 && to_us)
        return icmp_input(sw, src, f, len, ihl, iplen);
    if (ip[9] != 17 || iplen < ihl + 8 || !(to_us || bcast))
        return 0;
    const uint8_t *udp = ip + ihl;
    uint16_t sport = rd16(udp), dport = rd16(udp + 2), ulen = rd16(udp + 4);
    if (ulen < 8 || ulen > iplen - ihl)
        return 0;
    if (dport == 67)
        return dhcp_input(sw, src, udp + 8, ulen - 8);
    if (dport == 53 && to_us)
        return dns_input(sw, src, f, udp + 8, ulen - 8, sport);
    return 0;
}
