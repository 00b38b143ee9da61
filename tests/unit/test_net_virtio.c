/* virtio-net driven as a guest driver would, on user networking: a DHCP
 * DISCOVER gets an OFFER of 10.0.2.15, ARP for 10.0.2.2 is answered, a TCP
 * SYN to 10.0.2.2 reaches a listener on the host's 127.0.0.1 (and does not
 * with restrict=on), a host connect() through --forward becomes a SYN on the
 * receive queue, and malformed buffers are dropped without harm. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include "check.h"
#include "hw/virtio/net.h"
#include "lib/ratelimit.h"
#include "net/net.h"
#include "virtio_test_driver.h"

#define F_VERSION_1 (1ULL << 32)
#define F_MAC       (1ULL << VIRTIO_NET_F_MAC)
#define F_STATUS    (1ULL << VIRTIO_NET_F_STATUS)
#define F_MRG       (1ULL << VIRTIO_NET_F_MRG_RXBUF)
#define F_GUEST_CSUM (1ULL << VIRTIO_NET_F_GUEST_CSUM)
#define F_MTU       (1ULL << VIRTIO_NET_F_MTU)
#define QSIZE   64
#define RXBUF   0x100000ULL      /* QSIZE receive buffers of rx_buf_size */
#define TXBUF   0x300000ULL      /* QSIZE transmit slots of TX_SLOT */
#define TX_SLOT 0x20000
#define HDR     VIRTIO_NET_HDR_LEN

static const uint8_t guest_mac[6] = { 0x52, 0x54, 0x00, 0x12, 0x34, 0x56 };
static const uint8_t bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };

static struct vt t;
static struct virtio_net *nic;
static uint32_t rx_buf_size;
static uint16_t rx_seen, tx_next;
static bool mrg;
static uint64_t extra_features;   /* negotiated besides the usual (setup_opts) */
static uint8_t rx_flags;          /* the header flags every received frame must carry */

/* ---- the driver ---- */

static void post_rx(uint16_t id)
{
    tq_desc(&t.q[0], id, RXBUF + (uint64_t)id * 2048, rx_buf_size, VIRTQ_DESC_F_WRITE, 0);
    tq_submit(&t.q[0], id);
}

static int setup_opts(const struct net_options *o, bool want_mrg, uint32_t bufsize, unsigned nbufs)
{
    struct err err = ERR_INIT;
    vt_init(&t);
    rx_seen = tx_next = 0;
    rx_buf_size = bufsize;
    mrg = want_mrg;
    int r = virtio_net_create(&t.dh.mem, t.bus, o, guest_mac, &nic, &err);
    if (r < 0) {
        printf("# virtio_net_create: %s\n", err.msg);
        vt_destroy(&t);
        return r;
    }
    CHECK_EQ(vt_probe(&t, 0x1041), 0);
    uint64_t df = vt_device_features(&t);
    CHECK(df & F_MAC);
    CHECK(df & F_STATUS);
    CHECK(df & F_MRG);
    CHECK(!(df & 1));                     /* no CSUM offload */
    CHECK_EQ(vt_rd(&t, t.common + VT_NUMQ, 2), 2);
    CHECK_EQ(vt_negotiate(&t, F_VERSION_1 | F_MAC | F_STATUS | (want_mrg ? F_MRG : 0) |
                                  (extra_features & df)), 0x0b);
    rx_flags = (extra_features & df & F_GUEST_CSUM) ? 2 : 0;   /* DATA_VALID */
    uint8_t mac[6];
    for (int i = 0; i < 6; i++)
        mac[i] = (uint8_t)vt_rd(&t, t.device + (unsigned)i, 1);
    CHECK(memcmp(mac, guest_mac, 6) == 0);
    CHECK_EQ(vt_rd(&t, t.device + 6, 2), VIRTIO_NET_S_LINK_UP);
    vt_msix_enable(&t, 3);
    CHECK_EQ(vt_setup_queue(&t, 0, QSIZE, 0x10000, 1), 0);
    CHECK_EQ(vt_setup_queue(&t, 1, QSIZE, 0x30000, 2), 0);
    for (uint16_t i = 0; i < nbufs; i++)
        post_rx(i);
    vt_driver_ok(&t);
    vt_notify(&t, 0);
    return 0;
}

static int setup(bool want_mrg, uint32_t bufsize)
{
    struct net_options o = { .mode = NET_MODE_USER };
    return setup_opts(&o, want_mrg, bufsize, QSIZE);
}

static void teardown(void)
{
    virtio_net_destroy(nic);
    nic = NULL;
    vt_destroy(&t);
}

/* Sends hdr || frame as one chain of two descriptors; waits until used. */
static void tx_raw(const uint8_t *hdr, uint32_t hdr_len, const uint8_t *frame, uint32_t len)
{
    uint16_t slot = tx_next % (QSIZE / 2);
    uint64_t a = TXBUF + (uint64_t)slot * TX_SLOT;
    mem_write(&t.dh.mem, a, hdr, hdr_len);
    if (len)
        mem_write(&t.dh.mem, a + hdr_len, frame, len);
    tq_desc(&t.q[1], 2 * slot, a, hdr_len, len ? VIRTQ_DESC_F_NEXT : 0, 2 * slot + 1);
    tq_desc(&t.q[1], 2 * slot + 1, a + hdr_len, len, 0, 0);
    tq_submit(&t.q[1], 2 * slot);
    tx_next++;
    vt_notify(&t, 1);
    CHECK(vt_wait_used(&t, 1, tx_next));
}

static void tx(const uint8_t *frame, uint32_t len)
{
    static const uint8_t hdr[HDR];
    tx_raw(hdr, HDR, frame, len);
}

/* The next frame on the receive queue (without its header), merged across
 * buffers when MRG_RXBUF is on; the buffers are posted again.  0 when
 * nothing came within ms. */
static size_t rx(uint8_t *out, size_t max, int ms)
{
    for (int waited = 0; waited < ms; waited++) {
        if (tq_used_idx(&t.q[0]) == rx_seen) {
            nanosleep(&(struct timespec){0, 1000000}, NULL);
            continue;
        }
        uint32_t id, len;
        tq_used_elem(&t.q[0], rx_seen, &id, &len);
        if (id >= QSIZE || len < HDR || len > rx_buf_size) {
            rx_seen++;
            if (id < QSIZE)
                post_rx((uint16_t)id);
            vt_notify(&t, 0);
            continue;                     /* an empty (refused) buffer */
        }
        uint8_t hdr[HDR];
        mem_read(&t.dh.mem, RXBUF + id * 2048ULL, hdr, HDR);
        unsigned nbuf = hdr[10] | hdr[11] << 8;
        CHECK(nbuf >= 1);
        CHECK(mrg || nbuf == 1);
        CHECK_EQ(hdr[0], rx_flags);
        CHECK_EQ(hdr[1], 0);
        while ((uint16_t)(tq_used_idx(&t.q[0]) - rx_seen) < nbuf && waited++ < ms)
            nanosleep(&(struct timespec){0, 1000000}, NULL);
        size_t got = 0;
        for (unsigned i = 0; i < nbuf; i++) {
            tq_used_elem(&t.q[0], rx_seen, &id, &len);
            rx_seen++;
            uint32_t skip = i ? 0 : HDR;
            if (id < QSIZE && len >= skip && len <= rx_buf_size && got + len - skip <= max) {
                mem_read(&t.dh.mem, RXBUF + id * 2048ULL + skip, out + got, len - skip);
                got += len - skip;
            }
            if (id < QSIZE)
                post_rx((uint16_t)id);
        }
        vt_notify(&t, 0);
        return got;
    }
    return 0;
}

/* ---- frames ---- */

static uint16_t csum(const uint8_t *p, size_t n, uint32_t sum)
{
    for (; n > 1; p += 2, n -= 2)
        sum += (uint32_t)(p[0] << 8 | p[1]);
    if (n)
        sum += (uint32_t)(p[0] << 8);
    while (sum >> 16)
        sum = (sum & 0xffff) + (sum >> 16);
    return (uint16_t)~sum;
}

static void put16(uint8_t *p, uint16_t v) { p[0] = (uint8_t)(v >> 8); p[1] = (uint8_t)v; }
static uint16_t get16(const uint8_t *p) { return (uint16_t)(p[0] << 8 | p[1]); }

static size_t eth(uint8_t *f, const uint8_t *dst, uint16_t type)
{
    memcpy(f, dst, 6);
    memcpy(f + 6, guest_mac, 6);
    put16(f + 12, type);
    return 14;
}

/* An IPv4 header at p for payload_len bytes of proto. */
static void ipv4(uint8_t *p, uint8_t proto, const char *src, const char *dst, size_t payload_len)
{
    memset(p, 0, 20);
    p[0] = 0x45;
    put16(p + 2, (uint16_t)(20 + payload_len));
    put16(p + 4, 0x1234);
    p[8] = 64;
    p[9] = proto;
    inet_pton(AF_INET, src, p + 12);
    inet_pton(AF_INET, dst, p + 16);
    put16(p + 10, csum(p, 20, 0));
}

static size_t dhcp_discover(uint8_t *f)
{
    size_t n = eth(f, bcast, 0x0800);
    uint8_t *ip = f + n, *udp = ip + 20, *bootp = udp + 8;
    memset(bootp, 0, 300);
    bootp[0] = 1;                         /* BOOTREQUEST */
    bootp[1] = 1;                         /* Ethernet */
    bootp[2] = 6;
    bootp[4] = 0xde; bootp[5] = 0xad; bootp[6] = 0xbe; bootp[7] = 0xef;   /* xid */
    memcpy(bootp + 28, guest_mac, 6);
    static const uint8_t opts[] = { 99, 130, 83, 99, 53, 1, 1, 255 };
    memcpy(bootp + 236, opts, sizeof(opts));
    put16(udp, 68);
    put16(udp + 2, 67);
    put16(udp + 4, 8 + 300);
    put16(udp + 6, 0);                    /* no UDP checksum */
    ipv4(ip, 17, "0.0.0.0", "255.255.255.255", 8 + 300);
    return n + 20 + 8 + 300;
}

static size_t arp_request(uint8_t *f, const char *target)
{
    size_t n = eth(f, bcast, 0x0806);
    uint8_t *a = f + n;
    memset(a, 0, 46);                     /* padded to the 60-byte minimum */
    put16(a, 1);
    put16(a + 2, 0x0800);
    a[4] = 6;
    a[5] = 4;
    put16(a + 6, 1);
    memcpy(a + 8, guest_mac, 6);
    inet_pton(AF_INET, NET_USER_GUEST, a + 14);
    inet_pton(AF_INET, target, a + 24);
    return n + 46;
}

static size_t tcp_syn(uint8_t *f, const uint8_t *dst_mac, const char *dst, uint16_t port)
{
    size_t n = eth(f, dst_mac, 0x0800);
    uint8_t *ip = f + n, *tcp = ip + 20;
    memset(tcp, 0, 20);
    put16(tcp, 40000);
    put16(tcp + 2, port);
    tcp[7] = 100;                         /* seq 100 */
    tcp[12] = 5 << 4;
    tcp[13] = 0x02;                       /* SYN */
    put16(tcp + 14, 65535);
    ipv4(ip, 6, NET_USER_GUEST, dst, 20);
    uint8_t pseudo[12];
    memcpy(pseudo, ip + 12, 8);
    pseudo[8] = 0;
    pseudo[9] = 6;
    put16(pseudo + 10, 20);
    uint16_t s = csum(pseudo, 12, 0);
    put16(tcp + 16, csum(tcp, 20, (uint16_t)~s));
    return n + 40;
}

/* Answers slirp's ARP requests for the guest's address, so its queued
 * packets can go. True when f was one. */
static bool answer_arp(const uint8_t *f, size_t len)
{
    uint8_t ip[4];
    inet_pton(AF_INET, NET_USER_GUEST, ip);
    if (len < 42 || get16(f + 12) != 0x0806 || get16(f + 20) != 1 || memcmp(f + 38, ip, 4))
        return false;
    uint8_t r[60] = {0};
    eth(r, f + 6, 0x0806);
    put16(r + 14, 1);
    put16(r + 16, 0x0800);
    r[18] = 6;
    r[19] = 4;
    put16(r + 20, 2);
    memcpy(r + 22, guest_mac, 6);
    memcpy(r + 28, ip, 4);
    memcpy(r + 32, f + 22, 10);
    tx(r, sizeof(r));
    return true;
}

static bool is_dhcp_offer(const uint8_t *f, size_t len)
{
    if (len < 14 + 20 + 8 + 240 || get16(f + 12) != 0x0800 || f[23] != 17)
        return false;
    const uint8_t *udp = f + 14 + (f[14] & 15) * 4, *bootp = udp + 8;
    uint8_t want[4];
    inet_pton(AF_INET, NET_USER_GUEST, want);
    return get16(udp + 2) == 68 && bootp[0] == 2 && !memcmp(bootp + 16, want, 4);
}

/* Waits for a frame that pred accepts, answering ARP on the way. */
static bool rx_until(bool (*pred)(const uint8_t *, size_t, void *), void *arg, int ms)
{
    static uint8_t f[NET_MAX_FRAME];
    for (int tries = 0; tries < 64; tries++) {
        size_t len = rx(f, sizeof(f), ms);
        if (!len)
            return false;
        if (pred(f, len, arg))
            return true;
        answer_arp(f, len);
    }
    return false;
}

static bool pred_offer(const uint8_t *f, size_t len, void *arg)
{
    (void)arg;
    return is_dhcp_offer(f, len);
}

static bool pred_arp_reply_host(const uint8_t *f, size_t len, void *arg)
{
    (void)arg;
    uint8_t host[4];
    inet_pton(AF_INET, NET_USER_HOST, host);
    return len >= 42 && get16(f + 12) == 0x0806 && get16(f + 20) == 2 &&
           !memcmp(f + 28, host, 4) && !memcmp(f, guest_mac, 6);
}

struct syn_want { uint16_t dport; uint8_t flags; };

static bool pred_tcp(const uint8_t *f, size_t len, void *arg)
{
    const struct syn_want *w = arg;
    if (len < 54 || get16(f + 12) != 0x0800 || f[23] != 6)
        return false;
    const uint8_t *tcp = f + 14 + (f[14] & 15) * 4;
    return get16(tcp + 2) == w->dport && (tcp[13] & 0x3f) == w->flags;
}

static int listen_local(uint16_t *port)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t al = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(fd, 4) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &al) < 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    *port = ntohs(a.sin_port);
    return fd;
}

/* A free port on 127.0.0.1 for a forward (bound, then released). */
static uint16_t free_port(void)
{
    uint16_t port = 0;
    int fd = listen_local(&port);
    if (fd >= 0)
        close(fd);
    return port;
}

#define NEED_SLIRP()                                                   \
    do {                                                               \
        if (!net_user_available()) {                                   \
            printf("SKIP: %s (built without libslirp)\n", __func__);  \
            return;                                                    \
        }                                                              \
    } while (0)

/* ---- tests ---- */

static void virtio_net_dhcp_offer(void)
{
    NEED_SLIRP();
    if (setup(false, 2048) < 0) { CHECK(0); return; }
    uint8_t f[600];
    tx(f, (uint32_t)dhcp_discover(f));
    CHECK(rx_until(pred_offer, NULL, 3000));
    CHECK(vt_wait_msi(1));
    CHECK(virtio_net_backend(nic)->tx_frames >= 1);
    teardown();
}

static void virtio_net_dhcp_offer_merged_buffers(void)
{
    NEED_SLIRP();
    /* 128-byte buffers: the ~350-byte OFFER spans several (num_buffers). */
    if (setup(true, 128) < 0) { CHECK(0); return; }
    uint8_t f[600];
    tx(f, (uint32_t)dhcp_discover(f));
    CHECK(rx_until(pred_offer, NULL, 3000));
    teardown();
}

static void virtio_net_arp_for_host(void)
{
    NEED_SLIRP();
    if (setup(false, 2048) < 0) { CHECK(0); return; }
    uint8_t f[64];
    tx(f, (uint32_t)arp_request(f, NET_USER_HOST));
    CHECK(rx_until(pred_arp_reply_host, NULL, 3000));
    teardown();
}

static void virtio_net_tcp_to_host(void)
{
    NEED_SLIRP();
    uint16_t port;
    int lfd = listen_local(&port);
    CHECK(lfd >= 0);
    if (lfd < 0 || setup(true, 2048) < 0) { CHECK(0); return; }
    uint8_t f[128], host_mac[6];
    tx(f, (uint32_t)arp_request(f, NET_USER_HOST));
    CHECK(rx_until(pred_arp_reply_host, NULL, 3000));
    /* slirp's own MAC is the sender of its reply; any works for it, though. */
    memcpy(host_mac, bcast, 6);
    tx(f, (uint32_t)tcp_syn(f, host_mac, NET_USER_HOST, port));
    struct pollfd p = { .fd = lfd, .events = POLLIN };
    CHECK_EQ(poll(&p, 1, 3000), 1);
    int c = accept(lfd, NULL, NULL);
    CHECK(c >= 0);
    struct syn_want w = { 40000, 0x12 };  /* SYN+ACK back to the guest */
    CHECK(rx_until(pred_tcp, &w, 3000));
    if (c >= 0)
        close(c);
    close(lfd);
    teardown();
}

static void virtio_net_restricted_blocks_outbound(void)
{
    NEED_SLIRP();
    uint16_t port;
    int lfd = listen_local(&port);
    struct net_options o = { .mode = NET_MODE_USER, .restrict_outbound = true };
    if (lfd < 0 || setup_opts(&o, false, 2048, QSIZE) < 0) { CHECK(0); return; }
    uint8_t f[128];
    tx(f, (uint32_t)arp_request(f, NET_USER_HOST));
    CHECK(rx_until(pred_arp_reply_host, NULL, 3000));   /* the virtual network itself works */
    tx(f, (uint32_t)tcp_syn(f, bcast, NET_USER_HOST, port));
    struct pollfd p = { .fd = lfd, .events = POLLIN };
    CHECK_EQ(poll(&p, 1, 500), 0);                      /* no connection reached the host */
    close(lfd);
    teardown();
}

static void virtio_net_forward_reaches_guest(void)
{
    NEED_SLIRP();
    uint16_t port = free_port();
    struct net_options o = { .mode = NET_MODE_USER, .nforwards = 1 };
    o.forwards[0] = (struct net_forward){ .host_addr = htonl(INADDR_LOOPBACK),
                                          .host_port = port, .guest_port = 80 };
    if (port == 0 || setup_opts(&o, false, 2048, QSIZE) < 0) { CHECK(0); return; }
    /* Let slirp learn our MAC, as a DHCP'd guest's traffic would. */
    uint8_t f[64];
    tx(f, (uint32_t)arp_request(f, NET_USER_HOST));
    CHECK(rx_until(pred_arp_reply_host, NULL, 3000));
    int s = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = { .sin_family = AF_INET, .sin_port = htons(port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int r = connect(s, (struct sockaddr *)&a, sizeof(a));
    CHECK(r == 0 || errno == EINPROGRESS);
    struct syn_want w = { 80, 0x02 };
    CHECK(rx_until(pred_tcp, &w, 3000));
    close(s);
    teardown();
}

static void virtio_net_forward_port_in_use(void)
{
    NEED_SLIRP();
    uint16_t port;
    int lfd = listen_local(&port);
    struct net_options o = { .mode = NET_MODE_USER, .nforwards = 1 };
    o.forwards[0] = (struct net_forward){ .host_addr = htonl(INADDR_LOOPBACK),
                                          .host_port = port, .guest_port = 80 };
    struct err err = ERR_INIT;
    vt_init(&t);
    CHECK(virtio_net_create(&t.dh.mem, t.bus, &o, guest_mac, &nic, &err) < 0);
    CHECK(strstr(err.msg, "--forward") != NULL);
    vt_destroy(&t);
    close(lfd);
}

static void virtio_net_hostile_transmits(void)
{
    NEED_SLIRP();
    if (setup(false, 2048) < 0) { CHECK(0); return; }
    static uint8_t big[70000];
    uint8_t hdr[HDR] = {0}, f[64];
    uint64_t d0 = virtio_net_dropped(nic);
    tx_raw(hdr, 5, NULL, 0);                       /* shorter than the header */
    tx_raw(hdr, HDR, NULL, 0);                     /* header, no frame */
    tx_raw(hdr, HDR, f, 6);                        /* a runt */
    memset(big, 0xee, sizeof(big));
    tx_raw(hdr, HDR, big, sizeof(big));            /* larger than any frame */
    hdr[0] = 1;                                    /* NEEDS_CSUM, never offered */
    tx_raw(hdr, HDR, f, (uint32_t)arp_request(f, NET_USER_HOST));
    hdr[0] = 0;
    hdr[1] = 1;                                    /* GSO TCPv4, never offered */
    tx_raw(hdr, HDR, f, (uint32_t)arp_request(f, NET_USER_HOST));
    CHECK_EQ(virtio_net_dropped(nic) - d0, 6);
    CHECK_EQ(virtio_net_backend(nic)->tx_frames, 0);
    /* A chain with a zero-length descriptor in the middle is fine. */
    uint64_t a = TXBUF;
    memset(hdr, 0, sizeof(hdr));
    mem_write(&t.dh.mem, a, hdr, HDR);
    size_t n = arp_request(f, NET_USER_HOST);
    mem_write(&t.dh.mem, a + 0x100, f, n);
    tq_desc(&t.q[1], 0, a, HDR, VIRTQ_DESC_F_NEXT, 1);
    tq_desc(&t.q[1], 1, a + 0x80, 0, VIRTQ_DESC_F_NEXT, 2);
    tq_desc(&t.q[1], 2, a + 0x100, (uint32_t)n, 0, 0);
    tq_submit(&t.q[1], 0);
    tx_next++;
    vt_notify(&t, 1);
    CHECK(vt_wait_used(&t, 1, tx_next));
    CHECK(rx_until(pred_arp_reply_host, NULL, 3000));   /* the device still works */
    teardown();
}

static void virtio_net_hostile_receive_buffers(void)
{
    NEED_SLIRP();
    struct net_options o = { .mode = NET_MODE_USER };
    /* No buffers posted yet: we post bad ones first. */
    if (setup_opts(&o, false, 2048, 0) < 0) { CHECK(0); return; }
    /* 0: zero length; 1: 4 bytes (cannot hold the header); 2: read-only;
     * 3: a proper buffer. */
    tq_desc(&t.q[0], 0, RXBUF, 0, VIRTQ_DESC_F_WRITE, 0);
    tq_desc(&t.q[0], 1, RXBUF + 2048, 4, VIRTQ_DESC_F_WRITE, 0);
    tq_desc(&t.q[0], 2, RXBUF + 4096, 2048, 0, 0);
    for (uint16_t i = 0; i < 3; i++)
        tq_submit(&t.q[0], i);
    post_rx(3);
    vt_notify(&t, 0);
    uint8_t f[64];
    tx(f, (uint32_t)arp_request(f, NET_USER_HOST));
    CHECK(rx_until(pred_arp_reply_host, NULL, 3000));
    uint32_t id, len;
    for (uint16_t i = 0; i < 3; i++) {
        tq_used_elem(&t.q[0], i, &id, &len);
        CHECK_EQ(id, i);
        CHECK_EQ(len, 0);                 /* returned empty */
    }
    CHECK(!(vt_rd(&t, t.common + VT_STATUS, 1) & VIRTIO_STATUS_NEEDS_RESET));
    teardown();
}

/* A frame merged across receive buffers appears on the used ring all at
 * once: a driver that looks at the used index while the device is still
 * delivering must never find the first buffer (whose header counts the
 * others) without the rest.  Linux does not wait for them: it drops the
 * frame ("buffers missing"), and a TCP download then stalls for the
 * sender's retransmission timeout.  Frames come from another thread while
 * this one polls, as a guest's NAPI loop does on its vCPU. */
#define MERGE_FRAMES 300
#define MERGE_FRAME_LEN 6000

static _Atomic int merge_consumed;

/* Two frames ahead of the driver at most: the buffers always have room,
 * so each frame is written here, on this thread, while the driver polls. */
static void *inject_frames(void *arg)
{
    struct net_backend *nb = arg;
    static uint8_t f[MERGE_FRAME_LEN];
    memcpy(f, guest_mac, 6);
    memcpy(f + 6, bcast, 6);
    f[12] = 0x88;                       /* a local experimental EtherType */
    f[13] = 0xb5;
    for (int i = 0; i < MERGE_FRAMES; i++) {
        struct timespec t0, t1;
        clock_gettime(CLOCK_MONOTONIC, &t0);
        while (atomic_load(&merge_consumed) < i - 1) {
            clock_gettime(CLOCK_MONOTONIC, &t1);
            if (t1.tv_sec - t0.tv_sec > 5)
                return NULL;            /* the driver gave up */
        }
        memset(f + 14, i & 0xff, sizeof(f) - 14);
        net_backend_inject(nb, f, sizeof(f));
    }
    return NULL;
}

static void virtio_net_merged_frame_published_whole(void)
{
    NEED_SLIRP();
    if (setup(true, 512) < 0) { CHECK(0); return; }
    pthread_t th;
    atomic_store(&merge_consumed, 0);
    CHECK_EQ(pthread_create(&th, NULL, inject_frames, virtio_net_backend(nic)), 0);
    int frames = 0, partial = 0, bad = 0;
    struct timespec start, now;
    clock_gettime(CLOCK_MONOTONIC, &start);
    while (frames < MERGE_FRAMES) {
        clock_gettime(CLOCK_MONOTONIC, &now);
        if (now.tv_sec - start.tv_sec > 20)
            break;
        uint16_t idx = tq_used_idx(&t.q[0]);     /* one look, as a driver takes it */
        if (idx == rx_seen)
            continue;
        uint32_t id, len;
        tq_used_elem(&t.q[0], rx_seen, &id, &len);
        if (id >= QSIZE) { bad++; break; }
        uint8_t hdr[HDR];
        mem_read(&t.dh.mem, RXBUF + id * 2048ULL, hdr, HDR);
        unsigned nbuf = hdr[10] | hdr[11] << 8;
        if (nbuf != (MERGE_FRAME_LEN + HDR + 511) / 512) { bad++; break; }
        if ((uint16_t)(idx - rx_seen) < nbuf)
            partial++;
        while ((uint16_t)(tq_used_idx(&t.q[0]) - rx_seen) < nbuf)
            ;                                    /* a test driver can wait; Linux does not */
        size_t got = 0;
        for (unsigned i = 0; i < nbuf; i++) {
            tq_used_elem(&t.q[0], rx_seen, &id, &len);
            rx_seen++;
            if (id >= QSIZE)
                bad++;
            else
                post_rx((uint16_t)id);
            got += len;
        }
        if (got != MERGE_FRAME_LEN + HDR)
            bad++;
        vt_notify(&t, 0);
        frames++;
        atomic_store(&merge_consumed, frames);
    }
    pthread_join(th, NULL);
    printf("  %d frames of %d buffers; %d seen in part\n", frames,
           (MERGE_FRAME_LEN + HDR + 511) / 512, partial);
    CHECK_EQ(frames, MERGE_FRAMES);
    CHECK_EQ(bad, 0);
    CHECK_EQ(partial, 0);
    CHECK_EQ(virtio_net_dropped(nic), 0);
    teardown();
}

static void virtio_net_small_buffers_without_merging(void)
{
    NEED_SLIRP();
    struct net_options o = { .mode = NET_MODE_USER };
    /* 200-byte buffers cannot hold the OFFER and merging is off: it is
     * dropped, the buffers stay with the device, and a small ARP reply
     * still arrives in them. */
    if (setup_opts(&o, false, 200, QSIZE) < 0) { CHECK(0); return; }
    uint8_t f[600];
    uint64_t d0 = virtio_net_dropped(nic);
    tx(f, (uint32_t)dhcp_discover(f));
    for (int i = 0; i < 300 && virtio_net_dropped(nic) == d0; i++)
        nanosleep(&(struct timespec){0, 10000000}, NULL);
    CHECK(virtio_net_dropped(nic) > d0);
    tx(f, (uint32_t)arp_request(f, NET_USER_HOST));
    CHECK(rx_until(pred_arp_reply_host, NULL, 3000));
    teardown();
}

/* User networking's link: the device offers F_MTU with a larger MTU in its
 * config and GUEST_CSUM; a driver that takes GUEST_CSUM gets every frame
 * marked DATA_VALID (rx checks the flag), one that does not gets plain
 * frames (the other tests). */
static void virtio_net_user_link_mtu_and_checked_sums(void)
{
    NEED_SLIRP();
    extra_features = F_GUEST_CSUM | F_MTU;
    int r = setup(true, 2048);
    extra_features = 0;
    if (r < 0) { CHECK(0); return; }
    uint64_t df = vt_device_features(&t);
    CHECK(df & F_MTU);
    CHECK(df & F_GUEST_CSUM);
    CHECK_EQ(rx_flags, 2);
    CHECK_EQ(vt_rd(&t, t.device + 10, 2), NET_USER_MTU);
    uint8_t f[600];
    tx(f, (uint32_t)dhcp_discover(f));
    CHECK(rx_until(pred_offer, NULL, 3000));
    tx(f, (uint32_t)arp_request(f, NET_USER_HOST));
    CHECK(rx_until(pred_arp_reply_host, NULL, 3000));
    teardown();
}

/* user,mtu=N: the guest reads N in the config (F_MTU), and the link
 * carries a frame of that size to libslirp and back (an ICMP echo of N
 * bytes to the gateway would need ping sockets: a DHCP offer and ARP show
 * the link works).  mtu=1500 offers no F_MTU at all, as before the larger
 * link. */
static void virtio_net_user_link_mtu_option(void)
{
    NEED_SLIRP();
    struct net_options o = { .mode = NET_MODE_USER, .user_mtu = 9000 };
    extra_features = F_MTU;
    int r = setup_opts(&o, true, 2048, QSIZE);
    extra_features = 0;
    if (r < 0) { CHECK(0); return; }
    CHECK(vt_device_features(&t) & F_MTU);
    CHECK_EQ(vt_rd(&t, t.device + 10, 2), 9000);
    uint8_t f[600];
    tx(f, (uint32_t)dhcp_discover(f));
    CHECK(rx_until(pred_offer, NULL, 3000));
    teardown();

    o.user_mtu = 1500;
    if (setup_opts(&o, true, 2048, QSIZE) < 0) { CHECK(0); return; }
    CHECK(!(vt_device_features(&t) & F_MTU));
    tx(f, (uint32_t)arp_request(f, NET_USER_HOST));
    CHECK(rx_until(pred_arp_reply_host, NULL, 3000));
    teardown();
}

/* --net-limit: the guest's frames over the limit wait in the transmit ring
 * and all go, at the rate; without the limit they go at once. */
static void virtio_net_transmit_rate_limited(void)
{
    if (setup(false, 2048) < 0)
        return;
    uint8_t hdr[HDR] = { 0 }, frame[60] = { 0 };
    memcpy(frame, bcast, 6);
    memcpy(frame + 6, guest_mac, 6);
    frame[12] = 0x88;                  /* a local experimental EtherType: slirp ignores it */
    frame[13] = 0xb5;
    struct rate_limits lim = { .ops_per_s = 50 };
    virtio_net_set_limits(nic, &lim);
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 20; i++)      /* 20 at 50/s with a burst of 5: about 0.28 s */
        tx_raw(hdr, HDR, frame, sizeof(frame));
    clock_gettime(CLOCK_MONOTONIC, &b);
    double took = (double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9;
    printf("  20 frames at pps=50: %.2f s\n", took);
    CHECK(took >= 0.2 && took <= 1.0);
    virtio_net_set_limits(nic, NULL);
    clock_gettime(CLOCK_MONOTONIC, &a);
    for (int i = 0; i < 20; i++)
        tx_raw(hdr, HDR, frame, sizeof(frame));
    clock_gettime(CLOCK_MONOTONIC, &b);
    CHECK((double)(b.tv_sec - a.tv_sec) + (b.tv_nsec - a.tv_nsec) / 1e9 < 0.15);
    teardown();
}

int main(void)
{
    if (!net_user_available()) {
        printf("SKIP: virtio_net (built without libslirp: install libslirp-dev)\n");
        return 0;
    }
    RUN_TEST(virtio_net_dhcp_offer);
    RUN_TEST(virtio_net_dhcp_offer_merged_buffers);
    RUN_TEST(virtio_net_arp_for_host);
    RUN_TEST(virtio_net_tcp_to_host);
    RUN_TEST(virtio_net_restricted_blocks_outbound);
    RUN_TEST(virtio_net_forward_reaches_guest);
    RUN_TEST(virtio_net_forward_port_in_use);
    RUN_TEST(virtio_net_hostile_transmits);
    RUN_TEST(virtio_net_hostile_receive_buffers);
    RUN_TEST(virtio_net_small_buffers_without_merging);
    RUN_TEST(virtio_net_merged_frame_published_whole);
    RUN_TEST(virtio_net_transmit_rate_limited);
    RUN_TEST(virtio_net_user_link_mtu_and_checked_sums);
    RUN_TEST(virtio_net_user_link_mtu_option);
    return CHECK_DONE();
}
