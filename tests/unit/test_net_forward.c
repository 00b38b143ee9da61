/* Unit tests of port forwards: host port 0 (a free port picked at open,
 * reported back and kept across a reopen), --net MODE parsing, and a
 * command-line forward replacing an appliance's for the same guest port. */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "board/spec.h"
#include "net/net.h"
#include "mgmt/appliance.h"

static void forward_parses_port_zero(void)
{
    struct net_forward f;
    struct err err = ERR_INIT;
    CHECK_EQ(net_parse_forward("tcp:127.0.0.1:0:22", &f, &err), 0);
    CHECK_EQ(f.host_port, 0);
    CHECK_EQ(f.guest_port, 22);
    CHECK_EQ(net_parse_forward("tcp:0:22", &f, &err), 0);
    CHECK_EQ(f.host_addr, htonl(INADDR_LOOPBACK));
    CHECK_EQ(net_parse_forward("tcp:2222:0", &f, &err), -EINVAL);
    char buf[64];
    CHECK_EQ(net_parse_forward("udp:0.0.0.0:5353:53", &f, &err), 0);
    net_format_forward(&f, buf, sizeof(buf));
    CHECK(!strcmp(buf, "udp:0.0.0.0:5353:53"));
}

/* The port picked is free: we can bind it ourselves right after. */
static void pick_free_port_gives_a_bindable_port(void)
{
    for (int udp = 0; udp < 2; udp++) {
        uint16_t port = 0;
        CHECK_EQ(net_pick_free_port(udp, htonl(INADDR_LOOPBACK), &port), 0);
        CHECK(port != 0);
        int fd = socket(AF_INET, udp ? SOCK_DGRAM : SOCK_STREAM, 0);
        struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                                  .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
        CHECK_EQ(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
        close(fd);
    }
    /* An address that is not this host's cannot be bound. */
    uint16_t port;
    struct in_addr a;
    inet_pton(AF_INET, "192.0.2.1", &a);
    CHECK(net_pick_free_port(false, a.s_addr, &port) < 0);
}

static void mode_parses(void)
{
    struct net_options o;
    struct err err = ERR_INIT;
    memset(&o, 0, sizeof(o));
    CHECK_EQ(net_parse_mode("user", &o, &err), 0);
    CHECK_EQ(o.mode, NET_MODE_USER);
    CHECK(!o.restrict_outbound);
    CHECK_EQ(net_parse_mode("user,restrict=on", &o, &err), 0);
    CHECK(o.restrict_outbound);
    CHECK_EQ(net_parse_mode("tap=hostel0", &o, &err), 0);
    CHECK_EQ(o.mode, NET_MODE_TAP);
    CHECK(!strcmp(o.tap_name, "hostel0"));
    CHECK_EQ(net_parse_mode("none", &o, &err), 0);
    CHECK_EQ(o.mode, NET_MODE_NONE);
    const char *bad[] = { "", "users", "user,restrict=maybe", "user,", "tap=", "tap=a,b",
                          "tap=waytoolonginterfacename", "bridge" };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&err);
        CHECK_EQ(net_parse_mode(bad[i], &o, &err), -EINVAL);
        CHECK(err.msg[0] != 0);
    }
}

/* user,mtu=N: the link's MTU within what Linux and libslirp take; a bad
 * value is refused with a message naming it and the range. */
static void mode_parses_mtu(void)
{
    struct net_options o;
    struct err err = ERR_INIT;
    memset(&o, 0, sizeof(o));
    CHECK_EQ(net_parse_mode("user", &o, &err), 0);
    CHECK_EQ(o.user_mtu, 0);
    CHECK_EQ(net_link_mtu(&o), NET_USER_MTU);
    CHECK_EQ(net_parse_mode("user,mtu=9000", &o, &err), 0);
    CHECK_EQ(o.user_mtu, 9000);
    CHECK_EQ(net_link_mtu(&o), 9000);
    CHECK_EQ(net_parse_mode("user,restrict=on,mtu=1500,tftp=/srv", &o, &err), 0);
    CHECK_EQ(o.user_mtu, 1500);
    CHECK(o.restrict_outbound);
    CHECK_EQ(net_link_mtu(&o), 1500);
    CHECK_EQ(net_parse_mode("user,mtu=68", &o, &err), 0);
    CHECK_EQ(net_parse_mode("user,mtu=65521", &o, &err), 0);
    CHECK_EQ(net_parse_mode("user", &o, &err), 0);
    CHECK_EQ(o.user_mtu, 0);                   /* a new --net starts from the default */
    const char *bad[] = { "user,mtu=", "user,mtu=67", "user,mtu=65522", "user,mtu=9k",
                          "user,mtu=-1500", "user,mtu=+1500", "user,mtu= 1500",
                          "user,mtu=99999999999999999999", "user,mtu" };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&err);
        memset(&o, 0, sizeof(o));
        CHECK_EQ(net_parse_mode(bad[i], &o, &err), -EINVAL);
        CHECK_EQ(o.user_mtu, 0);
        const char *v = strchr(bad[i], '=') ? strchr(bad[i], '=') + 1 : "mtu";
        if (!strstr(err.msg, bad[i]) || !strstr(err.msg, v) ||
            (strchr(bad[i], '=') && !strstr(err.msg, "68 to 65521"))) {
            printf("# %s: %s\n", bad[i], err.msg);
            CHECK(0);
        }
    }
}

static void default_forward_yields_to_same_guest_port(void)
{
    struct net_options o;
    struct net_forward f;
    struct err err = ERR_INIT;
    memset(&o, 0, sizeof(o));
    net_parse_forward("tcp:2222:22", &o.forwards[0], &err);
    o.nforwards = 1;
    net_parse_forward("tcp:0:22", &f, &err);
    CHECK_EQ(net_add_default_forward(&o, &f), 0);        /* the pinned one stays */
    CHECK_EQ(o.nforwards, 1);
    CHECK_EQ(o.forwards[0].host_port, 2222);
    net_parse_forward("udp:0:22", &f, &err);  /* another protocol */
    CHECK_EQ(net_add_default_forward(&o, &f), 1);
    net_parse_forward("tcp:8080:80", &f, &err);
    CHECK_EQ(net_add_default_forward(&o, &f), 1);
    CHECK_EQ(o.nforwards, 3);
    o.nforwards = NET_MAX_FORWARDS;
    net_parse_forward("tcp:9:9", &f, &err);
    CHECK_EQ(net_add_default_forward(&o, &f), -ENOSPC);
}

/* An appliance with forwards for 22 and 80: a command-line forward for 22
 * replaces its 22 and keeps its 80; --net none drops them. */
static void appliance_forwards_merge(void)
{
    char dir[] = "/tmp/hostel-fwd-XXXXXX", p[512];
    struct err err = ERR_INIT;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(p, sizeof(p), "%s/vmlinuz", dir);
    FILE *f = fopen(p, "w");
    fputs("kernel", f);
    fclose(f);
    snprintf(p, sizeof(p), "%s/appliance.json", dir);
    f = fopen(p, "w");
    fputs("{\"format\":1,\"name\":\"t\",\"kernel\":\"vmlinuz\","
          "\"forwards\":[\"tcp:127.0.0.1:0:22\",\"tcp:0:80\"]}", f);
    fclose(f);
    struct appliance a;
    CHECK_EQ(appliance_open(dir, &a, &err), 0);
    /* As `hostel run` lays them: defaults, the appliance, the flags. */
    struct machine_spec app, flags, s;
    struct net_options o;
    struct err e = ERR_INIT;
    CHECK_EQ(appliance_spec(&a, &app, &e), 0);
    spec_defaults(&s);
    spec_init(&flags);
    CHECK_EQ(spec_set_option(&flags, "forward", "tcp:2200:22", &e), 0);
    CHECK_EQ(spec_apply(&s, &app, &e), 0);
    CHECK_EQ(spec_apply(&s, &flags, &e), 0);
    spec_net_options(&s, &o);
    CHECK_EQ(o.mode, NET_MODE_USER);
    CHECK_EQ(o.nforwards, 2);
    CHECK_EQ(o.forwards[0].host_port, 2200);
    CHECK_EQ(o.forwards[0].guest_port, 22);
    CHECK_EQ(o.forwards[1].host_port, 0);
    CHECK_EQ(o.forwards[1].guest_port, 80);
    spec_free(&s);
    spec_free(&flags);
    /* --net user keeps the appliance's forwards; --net none drops them. */
    spec_defaults(&s);
    spec_init(&flags);
    flags.net_mode = NET_MODE_USER;          /* (--net user; parsing it needs libslirp) */
    flags.set |= SPEC_NET;
    CHECK_EQ(spec_apply(&s, &app, &e), 0);
    CHECK_EQ(spec_apply(&s, &flags, &e), 0);
    spec_net_options(&s, &o);
    CHECK_EQ(o.nforwards, 2);
    spec_free(&s);
    spec_free(&flags);
    spec_defaults(&s);
    spec_init(&flags);
    CHECK_EQ(spec_set_option(&flags, "net", "none", &e), 0);
    CHECK_EQ(spec_apply(&s, &app, &e), 0);
    CHECK_EQ(spec_apply(&s, &flags, &e), 0);
    spec_net_options(&s, &o);
    CHECK_EQ(o.nforwards, 0);
    CHECK_EQ(net_effective_mode(&o), NET_MODE_NONE);
    spec_free(&s);
    spec_free(&flags);
    spec_free(&app);
    appliance_free(&a);
    snprintf(p, sizeof(p), "rm -rf '%s'", dir);
    CHECK_EQ(system(p), 0);
}

/* Writes an appliance with the given "ssh" value (NULL: none) into dir and
 * opens it; returns appliance_open's result. */
static int open_with_ssh(const char *dir, const char *ssh, struct appliance *a, struct err *e)
{
    char p[512];
    snprintf(p, sizeof(p), "%s/appliance.json", dir);
    FILE *f = fopen(p, "w");
    fprintf(f, "{\"format\":1,\"name\":\"t\",\"kernel\":\"vmlinuz\"%s%s}",
            ssh ? ",\"ssh\":" : "", ssh ? ssh : "");
    fclose(f);
    return appliance_open(dir, a, e);
}

/* The manifest's "ssh" object: optional, defaults root and port 22, the key
 * must lie inside the appliance, the user must be a plain login name. */
static void appliance_ssh_object(void)
{
    char dir[] = "/tmp/hostel-ssh-XXXXXX", p[512];
    struct err err = ERR_INIT;
    CHECK(mkdtemp(dir) != NULL);
    snprintf(p, sizeof(p), "mkdir -p '%s/ssh' && echo k > '%s/vmlinuz' && echo key > "
             "'%s/ssh/id_ed25519'", dir, dir, dir);
    CHECK_EQ(system(p), 0);
    struct appliance a;
    CHECK_EQ(open_with_ssh(dir, NULL, &a, &err), 0);
    CHECK(!a.has_ssh);
    appliance_free(&a);
    CHECK_EQ(open_with_ssh(dir, "{}", &a, &err), 0);
    CHECK(a.has_ssh);
    CHECK(a.ssh_user && !strcmp(a.ssh_user, "root"));
    CHECK_EQ(a.ssh_port, 22);
    CHECK(a.ssh_key == NULL);
    appliance_free(&a);
    CHECK_EQ(open_with_ssh(dir, "{\"user\":\"debian\",\"key\":\"ssh/id_ed25519\",\"port\":2222}",
                           &a, &err), 0);
    CHECK(a.ssh_user && !strcmp(a.ssh_user, "debian"));
    CHECK_EQ(a.ssh_port, 2222);
    snprintf(p, sizeof(p), "%s/ssh/id_ed25519", dir);
    CHECK(a.ssh_key && !strcmp(a.ssh_key, p));
    appliance_free(&a);
    const char *bad[] = { "\"root\"", "{\"user\":\"-oProxyCommand=x\"}", "{\"user\":\"a b\"}",
                          "{\"user\":\"\"}", "{\"key\":\"../id\"}", "{\"key\":\"/etc/passwd\"}",
                          "{\"key\":\"ssh/missing\"}", "{\"key\":7}", "{\"port\":0}",
                          "{\"port\":\"22\"}", "{\"port\":70000}" };
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        err_clear(&err);
        CHECK(open_with_ssh(dir, bad[i], &a, &err) < 0);
        CHECK(strstr(err.msg, "ssh") != NULL);
    }
    snprintf(p, sizeof(p), "rm -rf '%s'", dir);
    CHECK_EQ(system(p), 0);
}

static int tcp_connects(uint16_t port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons(port),
                              .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    int r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
    close(fd);
    return r;
}

/* User networking opened with host port 0: the port it listens on is
 * reported in bound, accepts connections, and is chosen again on a reopen
 * (a guest reboot) while it is free. */
static void slirp_binds_port_zero_and_reports_it(void)
{
    struct net_options o;
    struct net_forward bound[NET_MAX_FORWARDS];
    struct err err = ERR_INIT;
    memset(&o, 0, sizeof(o));
    memset(bound, 0, sizeof(bound));
    o.mode = NET_MODE_USER;
    o.bound = bound;
    net_parse_forward("tcp:0:22", &o.forwards[o.nforwards++], &err);
    net_parse_forward("udp:0:53", &o.forwards[o.nforwards++], &err);
    struct net_backend *nb;
    int r = net_backend_open(&o, NULL, NULL, &nb, &err);
    CHECK_EQ(r, 0);
    if (r < 0) {
        printf("  %s\n", err.msg);
        return;
    }
    CHECK(bound[0].host_port != 0);
    CHECK(bound[1].host_port != 0);
    CHECK_EQ(bound[0].guest_port, 22);
    CHECK(!bound[0].udp && bound[1].udp);
    CHECK_EQ(tcp_connects(bound[0].host_port), 0);
    uint16_t first = bound[0].host_port;
    net_backend_close(nb);
    CHECK(tcp_connects(first) < 0);                     /* closed with the backend */
    CHECK_EQ(net_backend_open(&o, NULL, NULL, &nb, &err), 0);
    CHECK_EQ(bound[0].host_port, first);
    net_backend_close(nb);

    /* A fixed port that is taken fails with a message naming the forward. */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
    socklen_t len = sizeof(sa);
    bind(fd, (struct sockaddr *)&sa, sizeof(sa));
    listen(fd, 1);
    getsockname(fd, (struct sockaddr *)&sa, &len);
    memset(&o, 0, sizeof(o));
    o.mode = NET_MODE_USER;
    char spec[64];
    snprintf(spec, sizeof(spec), "tcp:%u:22", ntohs(sa.sin_port));
    net_parse_forward(spec, &o.forwards[o.nforwards++], &err);
    err_clear(&err);
    CHECK(net_backend_open(&o, NULL, NULL, &nb, &err) < 0);
    CHECK(strstr(err.msg, "cannot listen") != NULL);
    /* ...and the same taken port as the one to reuse is passed over. */
    memset(&o, 0, sizeof(o));
    memset(bound, 0, sizeof(bound));
    o.mode = NET_MODE_USER;
    o.bound = bound;
    net_parse_forward("tcp:0:22", &o.forwards[o.nforwards++], &err);
    bound[0] = o.forwards[0];
    bound[0].host_port = ntohs(sa.sin_port);
    CHECK_EQ(net_backend_open(&o, NULL, NULL, &nb, &err), 0);
    CHECK(bound[0].host_port != ntohs(sa.sin_port) && bound[0].host_port != 0);
    net_backend_close(nb);
    close(fd);
}

int main(void)
{
    RUN_TEST(forward_parses_port_zero);
    RUN_TEST(pick_free_port_gives_a_bindable_port);
    RUN_TEST(mode_parses);
    RUN_TEST(mode_parses_mtu);
    RUN_TEST(default_forward_yields_to_same_guest_port);
    RUN_TEST(appliance_forwards_merge);
    RUN_TEST(appliance_ssh_object);
    if (net_user_available())
        RUN_TEST(slirp_binds_port_zero_and_reports_it);
    else
        printf("SKIP: slirp_binds_port_zero_and_reports_it (built without libslirp)\n");
    return CHECK_DONE();
}
