/* Unit tests of what the network backends share: --forward and --mac
 * parsing, the stable default MAC, and the device-to-backend frame queue. */
#include <arpa/inet.h>
#include <errno.h>
#include <linux/if_packet.h>
#include <net/ethernet.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "net/net.h"
#include "net/trace.h"

static void net_parses_forwards(void)
{
    struct net_forward f;
    struct err err = ERR_INIT;
    CHECK_EQ(net_parse_forward("tcp:8080:80", &f, &err), 0);
    CHECK(!f.udp);
    CHECK_EQ(f.host_addr, htonl(INADDR_LOOPBACK));
    CHECK_EQ(f.host_port, 8080);
    CHECK_EQ(f.guest_port, 80);
    CHECK_EQ(net_parse_forward("udp:0.0.0.0:5353:53", &f, &err), 0);
    CHECK(f.udp);
    CHECK_EQ(f.host_addr, 0);
    CHECK_EQ(f.host_port, 5353);
    CHECK_EQ(f.guest_port, 53);
    const char *bad[] = { "", "tcp", "tcp:80", "sctp:1:2", "tcp:80:0", "tcp:65536:80",
                          "tcp:80:x", "tcp:1.2.3:80:80", "tcp:a:b:c:d:e", "tcp::80",
                          "tcp:8080:80:" };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&err);
        CHECK_EQ(net_parse_forward(bad[i], &f, &err), -EINVAL);
        CHECK(err.msg[0] != 0);
    }
}

/* The link each backend gives a NIC: user mode's own network gets the
 * larger MTU and checked sums; a cluster's gateway, tap and the switch
 * keep Ethernet's 1500 and unchecked frames. */
static void net_link_properties_by_mode(void)
{
    struct net_options user = { .mode = NET_MODE_USER };
    struct net_options fwd = { .mode = NET_MODE_DEFAULT, .nforwards = 1 };
    struct net_options gateway = { .mode = NET_MODE_USER };
    gateway.user_net.network = htonl(0x0a000100);
    struct net_options tap = { .mode = NET_MODE_TAP, .tap_name = "tap0" };
    struct net_options sw = { .mode = NET_MODE_SWITCH, .switch_spec = "lab" };
    struct net_options none = { .mode = NET_MODE_NONE };
    CHECK_EQ(net_link_mtu(&user), NET_USER_MTU);
    CHECK(NET_USER_MTU > 1500 && NET_USER_MTU + 18 <= NET_MAX_FRAME);
    CHECK_EQ(net_link_mtu(&fwd), NET_USER_MTU);
    CHECK_EQ(net_link_mtu(&gateway), 1500);
    CHECK_EQ(net_link_mtu(&tap), 1500);
    CHECK_EQ(net_link_mtu(&sw), 1500);
    struct net_options small = { .mode = NET_MODE_USER, .user_mtu = 1280 };
    CHECK_EQ(net_link_mtu(&small), 1280);
    gateway.user_mtu = 9000;                 /* a gateway keeps its switch's 1500 */
    CHECK_EQ(net_link_mtu(&gateway), 1500);
    CHECK(net_link_checksummed(&user));
    CHECK(net_link_checksummed(&gateway));
    CHECK(!net_link_checksummed(&tap));
    CHECK(!net_link_checksummed(&sw));
    CHECK(!net_link_checksummed(&none));
}

static void net_parses_macs(void)
{
    uint8_t mac[6];
    CHECK_EQ(net_parse_mac("52:54:00:12:ab:CD", mac), 0);
    CHECK(mac[0] == 0x52 && mac[4] == 0xab && mac[5] == 0xcd);
    CHECK_EQ(net_parse_mac("01:00:5e:00:00:01", mac), -EINVAL);   /* multicast */
    CHECK_EQ(net_parse_mac("52:54:00:12:34", mac), -EINVAL);
    CHECK_EQ(net_parse_mac("52:54:00:12:34:56:78", mac), -EINVAL);
    CHECK_EQ(net_parse_mac("52-54-00-12-34-56", mac), -EINVAL);
    CHECK_EQ(net_parse_mac("52:54:00:12:34:5g", mac), -EINVAL);
}

/* HOSTEL_NET_TRACE: off without the variable; with it, a line per frame
 * with the TCP fields a tcpdump would show, and notes. */
static void net_trace_writes_frames(void)
{
    unsetenv("HOSTEL_NET_TRACE");
    CHECK(net_trace_open("test") == NULL);
    net_trace_frame(NULL, true, (const uint8_t *)"", 0);     /* no log: nothing */
    char path[] = "/tmp/hostel-trace-XXXXXX";
    int fd = mkstemp(path);
    CHECK(fd >= 0);
    close(fd);
    setenv("HOSTEL_NET_TRACE", path, 1);
    struct net_trace *t = net_trace_open("test");
    unsetenv("HOSTEL_NET_TRACE");
    CHECK(t != NULL);
    /* Ethernet, IPv4 (20 bytes, 60 in all), TCP 80 -> 1234, ACK|PSH,
     * seq 1000, ack 2000, window 512, 20 bytes of payload. */
    uint8_t f[74] = { 0 };
    f[12] = 0x08;
    uint8_t *ip = f + 14, *tcp = ip + 20;
    ip[0] = 0x45;
    ip[3] = 60;
    ip[9] = 6;
    tcp[1] = 80;
    tcp[2] = 0x04, tcp[3] = 0xd2;
    tcp[6] = 0x03, tcp[7] = 0xe8;
    tcp[10] = 0x07, tcp[11] = 0xd0;
    tcp[12] = 0x50;
    tcp[13] = 0x18;
    tcp[14] = 0x02;
    net_trace_frame(t, true, f, sizeof(f));
    net_trace_frame(t, false, f, 20);                 /* too short for IP: length only */
    net_trace_note(t, "timer");
    net_trace_close(t);
    char text[1024] = "";
    FILE *in = fopen(path, "r");
    CHECK(in != NULL);
    if (in) {
        size_t n = fread(text, 1, sizeof(text) - 1, in);
        text[n] = 0;
        fclose(in);
    }
    unlink(path);
    if (!strstr(text, " in 74 tcp 80>1234 PA 1000 2000 512 20\n") || !strstr(text, " out 20\n") ||
        !strstr(text, " note timer\n") || strncmp(text, "# hostel frame log (test)", 25)) {
        printf("# the log:\n%s", text);
        CHECK(0);
    }
}

static void net_default_mac_is_stable(void)
{
    uint8_t a[6], b[6], c[6];
    net_default_mac("/boot/vmlinuz", "console=ttyS0", a);
    net_default_mac("/boot/vmlinuz", "console=ttyS0", b);
    net_default_mac("/boot/vmlinuz", "console=ttyS0 quiet", c);
    CHECK(memcmp(a, b, 6) == 0);
    CHECK(memcmp(a, c, 6) != 0);
    CHECK(a[0] == 0x52 && a[1] == 0x54 && a[2] == 0x00);
    /* The seeds do not run together: ("ab", "c") differs from ("a", "bc"). */
    net_default_mac("ab", "c", a);
    net_default_mac("a", "bc", b);
    CHECK(memcmp(a, b, 6) != 0);
    net_default_mac(NULL, NULL, a);     /* no kernel path or command line: still an address */
    CHECK(a[0] == 0x52);
}

static void net_frame_queue_bounds_and_order(void)
{
    struct net_frame_queue *q;
    static uint8_t buf[NET_MAX_FRAME], big[NET_MAX_FRAME + 1];
    CHECK_EQ(net_frame_queue_create(4, &q), 0);
    struct pollfd pfd = { .fd = net_frame_queue_fd(q), .events = POLLIN };
    CHECK_EQ(poll(&pfd, 1, 0), 0);
    for (int i = 0; i < 4; i++) {
        memset(buf, 'a' + i, 60);
        CHECK_EQ(net_frame_queue_put(q, buf, 60 + (size_t)i), 0);
    }
    CHECK_EQ(net_frame_queue_put(q, buf, 60), -EAGAIN);          /* full: dropped */
    CHECK_EQ(net_frame_queue_put(q, buf, 3), -EMSGSIZE);         /* runt */
    CHECK_EQ(net_frame_queue_put(q, big, sizeof(big)), -EMSGSIZE);
    CHECK_EQ(poll(&pfd, 1, 0), 1);
    for (int i = 0; i < 4; i++) {
        CHECK_EQ(net_frame_queue_get(q, buf), 60 + (size_t)i);
        CHECK_EQ(buf[0], 'a' + i);
    }
    CHECK_EQ(net_frame_queue_get(q, buf), 0);
    CHECK_EQ(poll(&pfd, 1, 0), 0);                                /* cleared once empty */
    CHECK_EQ(net_frame_queue_put(q, big, NET_MAX_FRAME), 0);
    net_frame_queue_destroy(q);                                   /* frees what is left */
}

static void net_tap_errors_are_clear(void)
{
    struct net_backend *nb;
    struct err err = ERR_INIT;
    CHECK_EQ(net_tap_open("", NULL, NULL, &nb, &err), -EINVAL);
    CHECK_EQ(net_tap_open("a-name-that-is-too-long", NULL, NULL, &nb, &err), -EINVAL);
    /* Without CAP_NET_ADMIN or /dev/net/tun the message says what to do;
     * with them the tap appears and goes away again on close. */
    err_clear(&err);
    int r = net_tap_open("hosteltst0", NULL, NULL, &nb, &err);
    if (r == 0) {
        CHECK(nb != NULL);
        net_backend_close(nb);
    } else {
        CHECK(strstr(err.msg, "hosteltst0") != NULL);
        CHECK(strstr(err.msg, "--net user") != NULL || strstr(err.msg, "tap device") != NULL);
    }
}

static pthread_mutex_t tap_lock = PTHREAD_MUTEX_INITIALIZER;
static int tap_got;

static void tap_receive(void *opaque, const uint8_t *f, size_t len)
{
    (void)opaque;
    /* Only our experimental ethertype: the host sends its own chatter too. */
    if (len >= 20 && f[12] == 0x88 && f[13] == 0xb5 && !memcmp(f + 14, "to-gst", 6)) {
        pthread_mutex_lock(&tap_lock);
        tap_got++;
        pthread_mutex_unlock(&tap_lock);
    }
}

/* Frames both ways through a real tap, seen from the host by a packet
 * socket on the interface.  Needs CAP_NET_ADMIN and /dev/net/tun. */
static void net_tap_carries_frames(void)
{
    struct net_backend *nb;
    struct err err = ERR_INIT;
    const char *name = "hosteltst1";
    if (net_tap_open(name, tap_receive, NULL, &nb, &err) < 0) {
        printf("  %s\n", err.msg);
        CHECK(0);
        return;
    }
    int ctl = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    struct ifreq ifr = {0};
    snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", name);
    CHECK(ctl >= 0 && ioctl(ctl, SIOCGIFFLAGS, &ifr) == 0);
    ifr.ifr_flags |= IFF_UP;
    CHECK(ioctl(ctl, SIOCSIFFLAGS, &ifr) == 0);
    int ps = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, htons(0x88b5));
    struct sockaddr_ll ll = { .sll_family = AF_PACKET, .sll_protocol = htons(0x88b5),
                              .sll_ifindex = (int)if_nametoindex(name), .sll_halen = 6 };
    CHECK(ps >= 0 && bind(ps, (struct sockaddr *)&ll, sizeof(ll)) == 0);
    uint8_t f[64] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x52, 0x54, 0, 1, 2, 3, 0x88, 0xb5 };
    /* Guest to host. */
    memcpy(f + 14, "to-hst", 6);
    CHECK_EQ(net_send(nb, f, sizeof(f)), 0);
    uint8_t buf[2048];
    bool seen = false;
    for (int i = 0; i < 20 && !seen; i++) {
        struct pollfd p = { .fd = ps, .events = POLLIN };
        if (poll(&p, 1, 100) != 1)
            continue;
        ssize_t n = recv(ps, buf, sizeof(buf), 0);
        seen = n >= 20 && !memcmp(buf + 14, "to-hst", 6);
    }
    CHECK(seen);
    /* Host to guest. */
    memcpy(f + 14, "to-gst", 6);
    memset(ll.sll_addr, 0xff, 6);
    CHECK_EQ(sendto(ps, f, sizeof(f), 0, (struct sockaddr *)&ll, sizeof(ll)), (ssize_t)sizeof(f));
    int got = 0;
    for (int i = 0; i < 200 && !got; i++) {
        nanosleep(&(struct timespec){0, 10000000}, NULL);
        pthread_mutex_lock(&tap_lock);
        got = tap_got;
        pthread_mutex_unlock(&tap_lock);
    }
    CHECK(got >= 1);
    CHECK_EQ(net_send(nb, f, 3), -EMSGSIZE);          /* runt: refused */
    close(ps);
    close(ctl);
    net_backend_close(nb);
}

int main(void)
{
    RUN_TEST(net_parses_forwards);
    RUN_TEST(net_parses_macs);
    RUN_TEST(net_link_properties_by_mode);
    RUN_TEST(net_default_mac_is_stable);
    RUN_TEST(net_trace_writes_frames);
    RUN_TEST(net_frame_queue_bounds_and_order);
    RUN_TEST(net_tap_errors_are_clear);
    /* A tap needs CAP_NET_ADMIN and /dev/net/tun: skipped (not passed) without. */
    struct net_backend *nb;
    struct err err = ERR_INIT;
    if (net_tap_open("hosteltst2", NULL, NULL, &nb, &err) < 0) {
        printf("SKIP: net_tap_carries_frames (%s)\n", err.msg);
    } else {
        net_backend_close(nb);
        RUN_TEST(net_tap_carries_frames);
    }
    return CHECK_DONE();
}
