/* Unit tests for the machine spec (board/spec.h): every option and each of
 * its error messages, the layering rules of spec_apply, spec_check, and the
 * strict JSON form. */
#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "block/block.h"
#include "board/spec.h"
#include "net/net.h"

/* The message in e is exactly text. */
#define CHECK_MSG(e, text)                                                               \
    do {                                                                                 \
        if (strcmp((e)->msg, (text))) {                                                  \
            printf("  %s:%d: message \"%s\",\n    expected \"%s\"\n", __FILE__, __LINE__,  \
                   (e)->msg, (text));                                                    \
            check_failed_now = 1;                                                        \
        }                                                                                \
    } while (0)

/* The message in e holds part. */
#define CHECK_MSG_HAS(e, part)                                                           \
    do {                                                                                 \
        if (!strstr((e)->msg, (part))) {                                                 \
            printf("  %s:%d: message \"%s\" does not say \"%s\"\n", __FILE__, __LINE__,    \
                   (e)->msg, (part));                                                    \
            check_failed_now = 1;                                                        \
        }                                                                                \
    } while (0)

/* spec_set_option(name, arg) on an empty layer fails with -EINVAL and
 * exactly text, and leaves the layer empty. */
#define OPTION_FAILS(name, arg, text)                                                    \
    do {                                                                                 \
        struct machine_spec s_;                                                          \
        struct err e_ = ERR_INIT;                                                        \
        spec_init(&s_);                                                                  \
        CHECK_EQ(spec_set_option(&s_, (name), (arg), &e_), -EINVAL);                     \
        CHECK_EQ(e_.code, -EINVAL);                                                      \
        CHECK_MSG(&e_, (text));                                                          \
        CHECK_EQ(s_.set, 0);                                                             \
        CHECK_EQ(s_.ndisks, 0);                                                          \
        CHECK_EQ(s_.nforwards, 0);                                                       \
        spec_free(&s_);                                                                  \
    } while (0)

static int set(struct machine_spec *s, const char *name, const char *arg)
{
    struct err e = ERR_INIT;
    int r = spec_set_option(s, name, arg, &e);
    if (r < 0)
        printf("  --%s %s: %s\n", name, arg ? arg : "", e.msg);
    return r;
}

static bool str_eq(const char *a, const char *b)
{
    return a == b || (a && b && !strcmp(a, b));
}

/* ---- defaults, copies ---------------------------------------------------- */

static void defaults_are_hostel_runs(void)
{
    struct machine_spec s;
    spec_defaults(&s);
    CHECK_EQ(s.set, SPEC_CPUS | SPEC_MEMORY | SPEC_ENGINE | SPEC_SERIAL | SPEC_CONSOLE |
                    SPEC_RNG | SPEC_NO_REBOOT | SPEC_WATCHDOG | SPEC_NET | SPEC_SANDBOX |
                    SPEC_HPET);
    CHECK(s.sandbox);
    CHECK(s.hpet);
    CHECK_EQ(s.cpus, 1);
    CHECK_EQ(s.memory, 512ULL << 20);
    CHECK(str_eq(s.engine, "auto"));
    CHECK(str_eq(s.serial, "stdio"));
    CHECK(!s.virtio_console);
    CHECK(s.rng);
    CHECK(!s.no_reboot);
    CHECK_EQ(s.watchdog_s, 120);
    CHECK_EQ(s.net_mode, NET_MODE_DEFAULT);
    CHECK(s.kernel == NULL && s.initrd == NULL && s.cmdline == NULL && s.appliance == NULL);
    CHECK_EQ(s.ndisks, 0);
    CHECK_EQ(s.nforwards, 0);
    spec_free(&s);
    CHECK_EQ(s.set, 0);                          /* free leaves an empty layer */
    CHECK(s.engine == NULL);
    struct machine_spec empty;
    spec_init(&empty);
    CHECK_EQ(empty.set, 0);
    CHECK(empty.engine == NULL);
    spec_free(&empty);
}

static void copy_is_deep(void)
{
    struct machine_spec s, c;
    spec_defaults(&s);
    CHECK_EQ(set(&s, "kernel", "/k"), 0);
    CHECK_EQ(set(&s, "disk", "/a.img,format=raw"), 0);
    CHECK_EQ(set(&s, "net", "tap=hostel0"), 0);
    CHECK_EQ(spec_copy(&c, &s), 0);
    CHECK(c.kernel != s.kernel && str_eq(c.kernel, "/k"));
    CHECK(c.disks[0].path != s.disks[0].path);
    CHECK(c.tap != s.tap && str_eq(c.tap, "hostel0"));
    spec_free(&s);                               /* the copy outlives the original */
    CHECK(str_eq(c.kernel, "/k"));
    CHECK(str_eq(c.engine, "auto"));
    CHECK(str_eq(c.disks[0].path, "/a.img"));
    CHECK_EQ(c.disks[0].format, BLOCK_FORMAT_RAW);
    CHECK(str_eq(c.tap, "hostel0"));
    spec_free(&c);
}

/* ---- spec_set_option ----------------------------------------------------- */

static void option_strings(void)
{
    struct machine_spec s;
    spec_init(&s);
    CHECK_EQ(set(&s, "kernel", "/boot/a"), 0);
    CHECK_EQ(set(&s, "kernel", "/boot/b"), 0);   /* the last one given wins */
    CHECK(str_eq(s.kernel, "/boot/b"));
    CHECK_EQ(set(&s, "initrd", "/boot/i"), 0);
    CHECK(str_eq(s.initrd, "/boot/i"));
    CHECK_EQ(set(&s, "cmdline", "console=ttyS0"), 0);
    CHECK(str_eq(s.cmdline, "console=ttyS0"));
    CHECK_EQ(s.set, SPEC_KERNEL | SPEC_INITRD | SPEC_CMDLINE);
    CHECK_EQ(set(&s, "append", "quiet"), 0);     /* --append is --cmdline */
    CHECK(str_eq(s.cmdline, "quiet"));
    CHECK_EQ(s.set, SPEC_KERNEL | SPEC_INITRD | SPEC_CMDLINE);
    spec_free(&s);
}

static void option_cpus_and_memory(void)
{
    struct machine_spec s;
    spec_init(&s);
    CHECK_EQ(set(&s, "cpus", "4"), 0);
    CHECK_EQ(s.cpus, 4);
    CHECK_EQ(set(&s, "cpus", "64"), 0);
    CHECK_EQ(s.cpus, 64);
    CHECK_EQ(s.set, SPEC_CPUS);
    CHECK_EQ(set(&s, "memory", "2G"), 0);
    CHECK_EQ(s.memory, 2ULL << 30);
    CHECK_EQ(set(&s, "memory", "16M"), 0);
    CHECK_EQ(s.memory, 16ULL << 20);
    CHECK_EQ(set(&s, "memory", "1T"), 0);
    CHECK_EQ(s.memory, 1ULL << 40);
    CHECK_EQ(s.set, SPEC_CPUS | SPEC_MEMORY);
    spec_free(&s);
    OPTION_FAILS("cpus", "0", "--cpus '0': give a number from 1 to 64");
    OPTION_FAILS("cpus", "65", "--cpus '65': give a number from 1 to 64");
    OPTION_FAILS("cpus", "two", "--cpus 'two': give a number from 1 to 64");
    OPTION_FAILS("cpus", "2x", "--cpus '2x': give a number from 1 to 64");
    OPTION_FAILS("cpus", "", "--cpus '': give a number from 1 to 64");
    OPTION_FAILS("memory", "lots", "--memory 'lots': give a size such as 512M or 2G");
    OPTION_FAILS("memory", "15M", "--memory '15M': give between 16M and 1T");
    OPTION_FAILS("memory", "2T", "--memory '2T': give between 16M and 1T");
}

static void option_engine_serial_console(void)
{
    struct machine_spec s;
    spec_init(&s);
    const char *engines[] = { "auto", "kvm", "emu" };
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(set(&s, "engine", engines[i]), 0);
        CHECK(str_eq(s.engine, engines[i]));
    }
    const char *serials[] = { "stdio", "none", "file:/tmp/console.log" };
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(set(&s, "serial", serials[i]), 0);
        CHECK(str_eq(s.serial, serials[i]));
    }
    CHECK_EQ(set(&s, "console", "virtio"), 0);
    CHECK(s.virtio_console);
    CHECK_EQ(set(&s, "console", "serial"), 0);
    CHECK(!s.virtio_console);
    CHECK_EQ(s.set, SPEC_ENGINE | SPEC_SERIAL | SPEC_CONSOLE);
    spec_free(&s);
    OPTION_FAILS("engine", "qemu", "--engine 'qemu': choose auto, kvm or emu");
    OPTION_FAILS("engine", "", "--engine '': choose auto, kvm or emu");
    OPTION_FAILS("serial", "tcp:4444", "--serial 'tcp:4444': choose stdio, file:PATH or none");
    OPTION_FAILS("serial", "file:", "--serial 'file:': choose stdio, file:PATH or none");
    OPTION_FAILS("console", "vga", "--console 'vga': choose serial or virtio");
}

static void option_display(void)
{
    struct machine_spec s;
    spec_init(&s);
    CHECK(!spec_has_display(&s));
    CHECK_EQ(set(&s, "display", "vnc"), 0);
    CHECK(spec_has_display(&s));
    CHECK_EQ(s.set, SPEC_DISPLAY);
    struct spec_display d;
    struct err e = ERR_INIT;
    CHECK_EQ(spec_parse_display("vnc", &d, &e), 0);
    CHECK(str_eq(d.addr, "127.0.0.1"));
    CHECK_EQ(d.port, 0);
    CHECK_EQ(spec_parse_display("vnc=10.1.2.3:5905,password-file=/tmp/pw", &d, &e), 0);
    CHECK(str_eq(d.addr, "10.1.2.3"));
    CHECK_EQ(d.port, 5905);
    CHECK(str_eq(d.password_file, "/tmp/pw"));
    CHECK_EQ(spec_parse_display("vnc=:5901", &d, &e), 0);
    CHECK(str_eq(d.addr, "127.0.0.1"));
    CHECK_EQ(d.port, 5901);
    /* JSON keeps it; "none" turns it off. */
    CHECK_EQ(set(&s, "display", "vnc=127.0.0.1:5901"), 0);
    json_t *j = spec_to_json(&s);
    CHECK(str_eq(json_string_value(json_object_get(j, "display")), "vnc=127.0.0.1:5901"));
    struct machine_spec back;
    CHECK_EQ(spec_from_json(j, &back, &e), 0);
    CHECK(str_eq(back.display, "vnc=127.0.0.1:5901"));
    json_decref(j);
    spec_free(&back);
    CHECK_EQ(set(&s, "display", "none"), 0);
    CHECK(!spec_has_display(&s));
    spec_free(&s);
    OPTION_FAILS("display", "sdl", "--display 'sdl': give none, vnc or vnc=ADDR:PORT");
    OPTION_FAILS("display", "vnc=127.0.0.1", "--display 'vnc=127.0.0.1': give vnc=ADDR:PORT, "
                 "such as vnc=127.0.0.1:5901 (port 0: the first free one from 5900)");
    OPTION_FAILS("display", "vnc=host:5900", "--display 'vnc=host:5900': 'host' is not an IPv4 "
                 "address");
    OPTION_FAILS("display", "vnc=:70000", "--display 'vnc=:70000': give vnc=ADDR:PORT, such as "
                 "vnc=127.0.0.1:5901 (port 0: the first free one from 5900)");
    OPTION_FAILS("display", "vnc=:1,password=x", "--display 'vnc=:1,password=x': after the "
                 "address only password-file=FILE may follow");
}

static void option_switches(void)
{
    struct machine_spec s;
    spec_init(&s);
    CHECK_EQ(set(&s, "no-reboot", NULL), 0);     /* a bare flag means on */
    CHECK(s.no_reboot);
    CHECK_EQ(set(&s, "no-reboot", "off"), 0);
    CHECK(!s.no_reboot);
    CHECK_EQ(set(&s, "no-reboot", "on"), 0);
    CHECK(s.no_reboot);
    CHECK_EQ(set(&s, "rng", "off"), 0);
    CHECK(!s.rng);
    CHECK_EQ(set(&s, "rng", "on"), 0);
    CHECK(s.rng);
    CHECK_EQ(set(&s, "hpet", "off"), 0);
    CHECK(!s.hpet && (s.set & SPEC_HPET));
    CHECK_EQ(set(&s, "hpet", "on"), 0);
    CHECK(s.hpet);
    CHECK_EQ(set(&s, "watchdog", "0"), 0);
    CHECK_EQ(s.watchdog_s, 0);
    CHECK_EQ(set(&s, "watchdog", "30"), 0);
    CHECK_EQ(s.watchdog_s, 30);
    CHECK_EQ(s.set, SPEC_NO_REBOOT | SPEC_RNG | SPEC_WATCHDOG | SPEC_HPET);
    spec_free(&s);
    OPTION_FAILS("no-reboot", "maybe", "--no-reboot 'maybe': choose on or off");
    OPTION_FAILS("rng", "yes", "--rng 'yes': choose on or off");
    OPTION_FAILS("hpet", "maybe", "--hpet 'maybe': choose on or off");
    OPTION_FAILS("watchdog", "-1", "--watchdog '-1': give seconds, or 0 to turn it off");
    OPTION_FAILS("watchdog", "soon", "--watchdog 'soon': give seconds, or 0 to turn it off");
}

static void option_disk(void)
{
    struct machine_spec s;
    spec_init(&s);
    CHECK_EQ(set(&s, "disk", "/images/a.qcow2,format=qcow2,readonly=on"), 0);
    CHECK_EQ(set(&s, "disk", "/images/b.img,format=raw,readonly=off"), 0);
    CHECK_EQ(set(&s, "disk", "/images/c.img"), 0);
    CHECK_EQ(set(&s, "disk", "size=8G"), 0);
    CHECK_EQ(set(&s, "disk", "2G"), 0);          /* a bare size: a blank disk */
    CHECK_EQ(set(&s, "disk", "size=1M,format=raw"), 0);
    CHECK_EQ(s.ndisks, 6);
    CHECK(str_eq(s.disks[0].path, "/images/a.qcow2"));
    CHECK_EQ(s.disks[0].format, BLOCK_FORMAT_QCOW2);
    CHECK(s.disks[0].readonly);
    CHECK(str_eq(s.disks[1].path, "/images/b.img"));
    CHECK_EQ(s.disks[1].format, BLOCK_FORMAT_RAW);
    CHECK(!s.disks[1].readonly);
    CHECK(str_eq(s.disks[2].path, "/images/c.img"));
    CHECK_EQ(s.disks[2].format, BLOCK_FORMAT_AUTO);
    CHECK(s.disks[3].path == NULL);
    CHECK_EQ(s.disks[3].size, 8ULL << 30);
    CHECK(s.disks[4].path == NULL);
    CHECK_EQ(s.disks[4].size, 2ULL << 30);
    CHECK_EQ(s.disks[5].size, 1ULL << 20);
    CHECK_EQ(s.disks[5].format, BLOCK_FORMAT_RAW);
    char buf[256];
    spec_format_disk(&s.disks[0], buf, sizeof(buf));
    CHECK(!strcmp(buf, "/images/a.qcow2,format=qcow2,readonly=on"));
    spec_format_disk(&s.disks[2], buf, sizeof(buf));
    CHECK(!strcmp(buf, "/images/c.img"));
    spec_format_disk(&s.disks[3], buf, sizeof(buf));
    CHECK(!strcmp(buf, "size=8G"));
    spec_format_disk(&s.disks[5], buf, sizeof(buf));
    CHECK(!strcmp(buf, "size=1M,format=raw"));
    CHECK_EQ(set(&s, "disk", "/images/d.img"), 0);
    CHECK_EQ(set(&s, "disk", "/images/e.img"), 0);
    CHECK_EQ(s.ndisks, SPEC_MAX_DISKS);
    struct err e = ERR_INIT;
    CHECK_EQ(spec_set_option(&s, "disk", "/images/f.img", &e), -EINVAL);
    CHECK_MSG(&e, "--disk: at most 8 disks");
    CHECK_EQ(s.ndisks, SPEC_MAX_DISKS);
    spec_free(&s);

    OPTION_FAILS("disk", "/a.img,format=vmdk", "--disk: format 'vmdk': choose raw or qcow2");
    OPTION_FAILS("disk", "/a.img,readonly=yes", "--disk: readonly 'yes': choose on or off");
    OPTION_FAILS("disk", "size=big", "--disk: size 'big': give a size such as 8G");
    OPTION_FAILS("disk", "size=100", "--disk: size '100': give a size such as 8G");
    OPTION_FAILS("disk", "/a.img,cache=none",
                 "--disk: cannot understand 'cache=none' (PATH, format=, readonly=, size=, bps=, "
                 "iops=)");
    OPTION_FAILS("disk", "/a.img,/b.img",
                 "--disk: cannot understand '/b.img' (PATH, format=, readonly=, size=, bps=, "
                 "iops=)");
    OPTION_FAILS("disk", "/a.img,size=8G", "--disk: give either a PATH or size=, not both");
    OPTION_FAILS("disk", "format=raw", "--disk: give an image PATH or size=SIZE");
    OPTION_FAILS("disk", "", "--disk: give an image PATH or size=SIZE");
    char longpath[5000];
    memset(longpath, 'x', sizeof(longpath) - 1);
    longpath[0] = '/';
    longpath[sizeof(longpath) - 1] = 0;
    char toolong[128];
    snprintf(toolong, sizeof(toolong), "--disk: '%.40s...' is too long", longpath);
    OPTION_FAILS("disk", longpath, toolong);
}

static void option_net_forward_mac(void)
{
    struct machine_spec s;
    spec_init(&s);
    char buf[64];
    if (net_user_available()) {
        CHECK_EQ(set(&s, "net", "user"), 0);
        CHECK_EQ(s.net_mode, NET_MODE_USER);
        CHECK(!s.net_restrict);
        CHECK_EQ(set(&s, "net", "user,restrict=on"), 0);
        CHECK(s.net_restrict);
        spec_format_net(&s, buf, sizeof(buf));
        CHECK(!strcmp(buf, "user,restrict=on"));
        /* The link's MTU: kept, written back as given, and turned into
         * the NIC's options; a new --net without it is the default again. */
        CHECK_EQ(set(&s, "net", "user,mtu=9000,restrict=on"), 0);
        CHECK_EQ(s.net_mtu, 9000);
        spec_format_net(&s, buf, sizeof(buf));
        CHECK(!strcmp(buf, "user,restrict=on,mtu=9000"));
        struct net_options no;
        spec_net_options(&s, &no);
        CHECK_EQ(net_link_mtu(&no), 9000);
        CHECK_EQ(set(&s, "net", "user"), 0);
        CHECK_EQ(s.net_mtu, 0);
        CHECK_EQ(set(&s, "net", "user,restrict=on"), 0);
    } else {
        struct err e = ERR_INIT;
        CHECK_EQ(spec_set_option(&s, "net", "user", &e), -ENOTSUP);
        CHECK_MSG(&e, "--net user: this hostel was built without libslirp: install "
                      "libslirp-dev (scripts/deps.sh) and rebuild, or use --net tap=NAME");
    }
    CHECK_EQ(set(&s, "net", "tap=hostel0"), 0);
    CHECK_EQ(s.net_mode, NET_MODE_TAP);
    CHECK(!s.net_restrict);
    CHECK(str_eq(s.tap, "hostel0"));
    spec_format_net(&s, buf, sizeof(buf));
    CHECK(!strcmp(buf, "tap=hostel0"));
    CHECK_EQ(set(&s, "net", "none"), 0);
    CHECK_EQ(s.net_mode, NET_MODE_NONE);
    CHECK(s.tap == NULL);                        /* a new mode forgets the tap */
    spec_format_net(&s, buf, sizeof(buf));
    CHECK(!strcmp(buf, "none"));
    CHECK_EQ(s.set, SPEC_NET);
    spec_free(&s);
    spec_init(&s);
    spec_format_net(&s, buf, sizeof(buf));
    CHECK(!strcmp(buf, "default"));
    spec_free(&s);
    OPTION_FAILS("net", "bridge", "--net 'bridge': choose user, user,restrict=on, tap=NAME, "
                                  "switch=NAME or none");
    /* A switch port: the name (and an optional label) kept as given. */
    spec_init(&s);
    CHECK_EQ(set(&s, "forward", "tcp:2222:22"), 0);
    CHECK_EQ(set(&s, "net", "switch=db,name=web1"), 0);
    CHECK_EQ(s.net_mode, NET_MODE_SWITCH);
    CHECK(str_eq(s.net_switch, "db,name=web1"));
    spec_format_net(&s, buf, sizeof(buf));
    CHECK(!strcmp(buf, "switch=db,name=web1"));
    struct machine_spec both;
    struct err ae = ERR_INIT;
    spec_init(&both);
    CHECK_EQ(set(&both, "forward", "tcp:2222:22"), 0);
    CHECK_EQ(spec_apply(&both, &s, &ae), 0);
    CHECK_EQ(both.nforwards, 1);                 /* a layer's own forwards stay ... */
    struct machine_spec sw_layer;
    spec_init(&sw_layer);
    CHECK_EQ(set(&sw_layer, "net", "switch=db"), 0);
    CHECK_EQ(spec_apply(&both, &sw_layer, &ae), 0);
    CHECK_EQ(both.nforwards, 0);                 /* ... a switch drops earlier ones */
    CHECK(str_eq(both.net_switch, "db"));
    spec_free(&sw_layer);
    spec_free(&both);
    spec_free(&s);
    OPTION_FAILS("net", "switch=", "--net switch=NAME: the switch: give a name (the switch of "
                                   "cluster NAME: docs/clusters.md)");
    OPTION_FAILS("net", "switch=a/b", "--net switch=NAME: the switch 'a/b': use letters, "
                                      "digits, '-', '_' and '.' only (the switch of cluster "
                                      "NAME: docs/clusters.md)");
    OPTION_FAILS("net", "switch=db,speed=1", "--net switch=db,speed=1: cannot understand "
                                             "'speed=1' (name=LABEL)");
    OPTION_FAILS("net", "tap=", "--net 'tap=': tap=NAME takes an interface name of 1 to 15 "
                                "characters");
    OPTION_FAILS("net", "user,fast=on", "--net 'user,fast=on': cannot understand 'fast=on' "
                                            "(restrict=on|off, mtu=N, tftp=DIR, bootfile=FILE)");
    OPTION_FAILS("net", "user,mtu=70000", "--net 'user,mtu=70000': mtu '70000' is not a number "
                 "from 68 to 65521 (the largest IP packet on the link, in bytes; 1500 is "
                 "Ethernet's, the default 16384)");

    /* Forwards: added, or replacing the one for the same protocol and guest port. */
    spec_init(&s);
    CHECK_EQ(set(&s, "forward", "tcp:2222:22"), 0);
    CHECK_EQ(set(&s, "forward", "udp:0.0.0.0:5353:53"), 0);
    CHECK_EQ(set(&s, "forward", "tcp:0:80"), 0);
    CHECK_EQ(s.nforwards, 3);
    CHECK(!s.forwards[0].udp);
    CHECK_EQ(s.forwards[0].host_addr, htonl(INADDR_LOOPBACK));
    CHECK_EQ(s.forwards[0].host_port, 2222);
    CHECK_EQ(s.forwards[0].guest_port, 22);
    CHECK(s.forwards[1].udp);
    CHECK_EQ(s.forwards[1].host_addr, htonl(INADDR_ANY));
    CHECK_EQ(s.forwards[2].host_port, 0);
    CHECK_EQ(set(&s, "forward", "tcp:3333:22"), 0);
    CHECK_EQ(s.nforwards, 3);
    CHECK_EQ(s.forwards[0].host_port, 3333);
    CHECK_EQ(set(&s, "forward", "udp:22:22"), 0);   /* another protocol: a new one */
    CHECK_EQ(s.nforwards, 4);
    CHECK_EQ(s.set, 0);                              /* forwards are a list, not a field */
    for (int p = 1; s.nforwards < NET_MAX_FORWARDS; p++) {
        char f[32];
        snprintf(f, sizeof(f), "tcp:0:%d", 1000 + p);
        CHECK_EQ(set(&s, "forward", f), 0);
    }
    struct err e = ERR_INIT;
    CHECK_EQ(spec_set_option(&s, "forward", "tcp:0:9999", &e), -EINVAL);
    CHECK_MSG(&e, "--forward: at most 16 forwards");
    CHECK_EQ(set(&s, "forward", "tcp:4444:22"), 0);  /* a replacement still fits */
    CHECK_EQ(s.forwards[0].host_port, 4444);
    spec_free(&s);
    OPTION_FAILS("forward", "tcp:22", "--forward 'tcp:22': write tcp:HOSTPORT:GUESTPORT or "
                 "udp:..., optionally with the host address first (tcp:0.0.0.0:8080:80)");
    OPTION_FAILS("forward", "sctp:1:2", "--forward 'sctp:1:2': write tcp:HOSTPORT:GUESTPORT or "
                 "udp:..., optionally with the host address first (tcp:0.0.0.0:8080:80)");
    OPTION_FAILS("forward", "tcp:2222:0", "--forward 'tcp:2222:0': ports are numbers from 1 to "
                 "65535 (host port 0: any free port)");
    OPTION_FAILS("forward", "tcp:host:1:2", "--forward 'tcp:host:1:2': 'host' is not an IPv4 "
                 "address");

    spec_init(&s);
    CHECK_EQ(set(&s, "mac", "52:54:00:ab:cd:ef"), 0);
    CHECK_EQ(s.set, SPEC_MAC);
    CHECK_EQ(s.mac[0], 0x52);
    CHECK_EQ(s.mac[5], 0xef);
    spec_free(&s);
    OPTION_FAILS("mac", "01:00:5e:00:00:01", "--mac '01:00:5e:00:00:01': give six hex bytes such "
                 "as 52:54:00:12:34:56 (the first byte even: not a multicast address)");
    OPTION_FAILS("mac", "52:54:00:12:34", "--mac '52:54:00:12:34': give six hex bytes such "
                 "as 52:54:00:12:34:56 (the first byte even: not a multicast address)");
}

static void option_limits_and_sandbox(void)
{
    struct machine_spec s;
    char buf[256];
    spec_init(&s);
    CHECK_EQ(set(&s, "disk", "/d.img,bps=10M,iops=500"), 0);
    CHECK_EQ(s.disks[0].bps, 10 << 20);
    CHECK_EQ(s.disks[0].iops, 500);
    spec_format_disk(&s.disks[0], buf, sizeof(buf));
    CHECK(!strcmp(buf, "/d.img,bps=10M,iops=500"));
    CHECK_EQ(set(&s, "net-limit", "bps=1M,pps=2000"), 0);
    CHECK_EQ(s.net_bps, 1 << 20);
    CHECK_EQ(s.net_pps, 2000);
    spec_format_net_limit(&s, buf, sizeof(buf));
    CHECK(!strcmp(buf, "bps=1M,pps=2000"));
    CHECK_EQ(set(&s, "cpu-limit", "0.5"), 0);
    CHECK_EQ(s.cpu_limit_milli, 500);
    spec_format_cpu_limit(s.cpu_limit_milli, buf, sizeof(buf));
    CHECK(!strcmp(buf, "0.5"));
    CHECK_EQ(set(&s, "memory-limit", "1G"), 0);
    CHECK_EQ(s.memory_limit, 1 << 30);
    CHECK_EQ(set(&s, "no-sandbox", NULL), 0);
    CHECK(!s.sandbox);
    CHECK(s.set & SPEC_SANDBOX);
    CHECK_EQ(s.set, SPEC_NET_LIMIT | SPEC_CPU_LIMIT | SPEC_MEMORY_LIMIT | SPEC_SANDBOX);
    /* The JSON form keeps them all. */
    json_t *j = spec_to_json(&s);
    struct machine_spec back;
    struct err e = ERR_INIT;
    CHECK_EQ(spec_from_json(j, &back, &e), 0);
    CHECK_EQ(back.disks[0].bps, 10 << 20);
    CHECK_EQ(back.disks[0].iops, 500);
    CHECK_EQ(back.net_bps, 1 << 20);
    CHECK_EQ(back.net_pps, 2000);
    CHECK_EQ(back.cpu_limit_milli, 500);
    CHECK_EQ(back.memory_limit, 1 << 30);
    CHECK(!back.sandbox && (back.set & SPEC_SANDBOX));
    json_decref(j);
    spec_free(&back);
    /* none drops a limit in a later layer. */
    struct machine_spec l;
    spec_init(&l);
    CHECK_EQ(set(&l, "net-limit", "none"), 0);
    CHECK_EQ(set(&l, "cpu-limit", "none"), 0);
    CHECK_EQ(set(&l, "memory-limit", "none"), 0);
    CHECK_EQ(set(&l, "sandbox", "on"), 0);
    CHECK_EQ(spec_apply(&s, &l, &e), 0);
    CHECK_EQ(s.net_bps, 0);
    CHECK_EQ(s.net_pps, 0);
    CHECK_EQ(s.cpu_limit_milli, 0);
    CHECK_EQ(s.memory_limit, 0);
    CHECK(s.sandbox);
    spec_free(&l);
    spec_free(&s);
    /* The sandbox is on unless asked otherwise. */
    spec_defaults(&s);
    CHECK(s.sandbox);
    /* A cap below the guest's RAM (plus the VMM's) is refused. */
    CHECK_EQ(set(&s, "kernel", "/k"), 0);
    CHECK_EQ(set(&s, "memory", "512M"), 0);
    CHECK_EQ(set(&s, "memory-limit", "520M"), 0);
    CHECK_EQ(spec_check(&s, &e), -EINVAL);
    CHECK_MSG_HAS(&e, "give at least 576M (--memory plus 64M)");
    spec_free(&s);
    OPTION_FAILS("disk", "/d.img,bps=0", "--disk: bps '0': give bytes per second such as 10M");
    OPTION_FAILS("disk", "/d.img,iops=many",
                 "--disk: iops 'many': give requests per second such as 500");
    OPTION_FAILS("net-limit", "bps=fast", "--net-limit 'bps=fast': cannot understand 'bps=fast' "
                 "(bps=SIZE for bytes per second such as 10M, pps=N for packets per second, or "
                 "none)");
    OPTION_FAILS("cpu-limit", "0", "--cpu-limit '0': give host cores from 0.01 to 1024 (0.5 is "
                 "half a core), or none");
    OPTION_FAILS("cpu-limit", "half", "--cpu-limit 'half': give host cores from 0.01 to 1024 "
                 "(0.5 is half a core), or none");
    OPTION_FAILS("memory-limit", "lots", "--memory-limit 'lots': give a size such as 1G (the "
                 "guest's RAM and the VMM together), or none");
    OPTION_FAILS("sandbox", "maybe", "--sandbox 'maybe': choose on or off");

    /* --disk-limit N: a later layer's limits for a disk from below. */
    struct machine_spec base, lay;
    spec_init(&base);
    spec_init(&lay);
    CHECK_EQ(set(&base, "disk", "/a.img"), 0);
    CHECK_EQ(set(&base, "disk", "/b.img,iops=7"), 0);
    CHECK_EQ(set(&lay, "disk-limit", "0,bps=2M"), 0);
    CHECK_EQ(set(&lay, "disk-limit", "1,none"), 0);
    CHECK_EQ(spec_apply(&base, &lay, &e), 0);
    CHECK_EQ(base.disks[0].bps, 2 << 20);
    CHECK_EQ(base.disks[0].iops, 0);
    CHECK_EQ(base.disks[1].iops, 0);
    spec_free(&lay);
    CHECK_EQ(set(&lay, "disk-limit", "2,iops=5"), 0);
    CHECK_EQ(spec_apply(&base, &lay, &e), -EINVAL);
    CHECK_MSG(&e, "--disk-limit 2: the machine has 2 disks (numbered from 0, as 'hostel info' "
              "lists them)");
    CHECK_EQ(base.disks[1].iops, 0);           /* refused: nothing changed */
    spec_free(&lay);
    spec_free(&base);
    OPTION_FAILS("disk-limit", "bps=1M", "--disk-limit 'bps=1M': give the disk's number (from 0, "
                 "as 'hostel info' lists them) and bps=SIZE, iops=N or none, such as 0,bps=10M");
    OPTION_FAILS("disk-limit", "0,readonly=on", "--disk-limit '0,readonly=on': after the disk's "
                 "number give only bps=SIZE and iops=N, or none");
}

static void unknown_option_is_enoent(void)
{
    struct machine_spec s;
    struct err e = ERR_INIT;
    spec_init(&s);
    CHECK_EQ(spec_set_option(&s, "verbose", "on", &e), -ENOENT);
    CHECK(!err_is_set(&e));                      /* the caller's to say: not a spec option */
    CHECK_EQ(spec_set_option(&s, "appliance", "/a", &e), -ENOENT);
    CHECK_EQ(s.set, 0);
    spec_free(&s);
}

/* ---- spec_apply ---------------------------------------------------------- */

static void apply_scalars_override_only_what_is_set(void)
{
    struct machine_spec s, l;
    struct err e = ERR_INIT;
    spec_defaults(&s);
    CHECK_EQ(set(&s, "kernel", "/boot/k"), 0);
    CHECK_EQ(set(&s, "cmdline", "console=ttyS0"), 0);
    spec_init(&l);
    CHECK_EQ(set(&l, "cpus", "4"), 0);
    CHECK_EQ(set(&l, "engine", "emu"), 0);
    CHECK_EQ(set(&l, "rng", "off"), 0);
    CHECK_EQ(set(&l, "watchdog", "0"), 0);
    CHECK_EQ(set(&l, "mac", "52:54:00:00:00:01"), 0);
    CHECK_EQ(spec_apply(&s, &l, &e), 0);
    spec_free(&l);                               /* s owns copies */
    CHECK_EQ(s.cpus, 4);
    CHECK(str_eq(s.engine, "emu"));
    CHECK(!s.rng);                               /* false overrides true when set */
    CHECK_EQ(s.watchdog_s, 0);
    CHECK_EQ(s.mac[5], 1);
    CHECK(s.set & SPEC_MAC);
    CHECK_EQ(s.memory, 512ULL << 20);            /* not in the layer: kept */
    CHECK(str_eq(s.kernel, "/boot/k"));
    CHECK(str_eq(s.cmdline, "console=ttyS0"));
    CHECK(str_eq(s.serial, "stdio"));
    /* An empty layer changes nothing; one that sets a string replaces it. */
    spec_init(&l);
    CHECK_EQ(spec_apply(&s, &l, &e), 0);
    CHECK_EQ(s.cpus, 4);
    CHECK(str_eq(s.kernel, "/boot/k"));
    CHECK_EQ(set(&l, "kernel", "/boot/other"), 0);
    CHECK_EQ(set(&l, "serial", "none"), 0);
    CHECK_EQ(set(&l, "console", "virtio"), 0);
    CHECK_EQ(set(&l, "no-reboot", NULL), 0);
    CHECK_EQ(set(&l, "memory", "1G"), 0);
    CHECK_EQ(set(&l, "initrd", "/boot/i"), 0);
    l.appliance = strdup("/apps/tiny");
    l.set |= SPEC_APPLIANCE;
    CHECK_EQ(spec_apply(&s, &l, &e), 0);
    spec_free(&l);
    CHECK(str_eq(s.kernel, "/boot/other"));
    CHECK(str_eq(s.serial, "none"));
    CHECK(s.virtio_console);
    CHECK(s.no_reboot);
    CHECK_EQ(s.memory, 1ULL << 30);
    CHECK(str_eq(s.initrd, "/boot/i"));
    CHECK(str_eq(s.appliance, "/apps/tiny"));
    CHECK(s.set & SPEC_KERNEL && s.set & SPEC_INITRD && s.set & SPEC_APPLIANCE);
    CHECK(!err_is_set(&e));
    spec_free(&s);
}

static void apply_disks_append(void)
{
    struct machine_spec s, l;
    struct err e = ERR_INIT;
    spec_init(&s);
    CHECK_EQ(set(&s, "disk", "/app/root.img,readonly=on"), 0);
    spec_init(&l);
    CHECK_EQ(set(&l, "disk", "/data/a.img"), 0);
    CHECK_EQ(set(&l, "disk", "size=4G"), 0);
    CHECK_EQ(spec_apply(&s, &l, &e), 0);
    spec_free(&l);
    CHECK_EQ(s.ndisks, 3);
    CHECK(str_eq(s.disks[0].path, "/app/root.img"));
    CHECK(s.disks[0].readonly);
    CHECK(str_eq(s.disks[1].path, "/data/a.img"));
    CHECK(s.disks[2].path == NULL);
    CHECK_EQ(s.disks[2].size, 4ULL << 30);
    /* Too many in all: refused, and s is left as it was. */
    spec_init(&l);
    for (int i = 0; i < 6; i++)
        CHECK_EQ(set(&l, "disk", "/data/more.img"), 0);
    CHECK_EQ(spec_apply(&s, &l, &e), -EINVAL);
    CHECK_MSG(&e, "--disk: at most 8 disks (6 given and 3 from before)");
    CHECK_EQ(s.ndisks, 3);
    spec_free(&l);
    spec_free(&s);
}

static void apply_forwards_replace_same_guest_port(void)
{
    struct machine_spec s, l;
    struct err e = ERR_INIT;
    spec_init(&s);
    CHECK_EQ(set(&s, "forward", "tcp:0:22"), 0);
    CHECK_EQ(set(&s, "forward", "tcp:0:80"), 0);
    spec_init(&l);
    CHECK_EQ(set(&l, "forward", "tcp:2222:22"), 0);  /* same protocol and guest port */
    CHECK_EQ(set(&l, "forward", "udp:5353:53"), 0);  /* new */
    CHECK_EQ(set(&l, "forward", "udp:8080:80"), 0);  /* guest port 80, but udp: new */
    CHECK_EQ(spec_apply(&s, &l, &e), 0);
    spec_free(&l);
    CHECK_EQ(s.nforwards, 4);
    CHECK_EQ(s.forwards[0].host_port, 2222);         /* replaced in place */
    CHECK_EQ(s.forwards[0].guest_port, 22);
    CHECK_EQ(s.forwards[1].guest_port, 80);
    CHECK(!s.forwards[1].udp);
    CHECK(s.forwards[2].udp);
    CHECK_EQ(s.forwards[2].guest_port, 53);
    CHECK(s.forwards[3].udp);
    CHECK_EQ(s.forwards[3].guest_port, 80);
    /* More than NET_MAX_FORWARDS in all: an error naming the flag. */
    spec_init(&l);
    for (int p = 1; p <= NET_MAX_FORWARDS - 3; p++) {
        char f[32];
        snprintf(f, sizeof(f), "tcp:0:%d", 2000 + p);
        CHECK_EQ(set(&l, "forward", f), 0);
    }
    CHECK_EQ(spec_apply(&s, &l, &e), -EINVAL);
    CHECK_MSG(&e, "--forward: at most 16 forwards");
    spec_free(&l);
    spec_free(&s);
}

static void apply_net_none_or_tap_drops_forwards(void)
{
    struct machine_spec s, l;
    struct err e = ERR_INIT;
    const char *modes[] = { "none", "tap=hostel0" };
    for (int i = 0; i < 2; i++) {
        spec_defaults(&s);
        s.net_mode = NET_MODE_USER;
        s.net_restrict = true;
        CHECK_EQ(set(&s, "forward", "tcp:2222:22"), 0);
        CHECK_EQ(set(&s, "forward", "tcp:0:80"), 0);
        spec_init(&l);
        CHECK_EQ(set(&l, "net", modes[i]), 0);
        CHECK_EQ(spec_apply(&s, &l, &e), 0);
        spec_free(&l);
        CHECK_EQ(s.nforwards, 0);
        CHECK(!s.net_restrict);                      /* the new mode's options */
        CHECK_EQ(s.net_mode, i == 0 ? NET_MODE_NONE : NET_MODE_TAP);
        CHECK(i == 0 ? s.tap == NULL : str_eq(s.tap, "hostel0"));
        spec_free(&s);
    }
    /* User networking keeps them; a layer without SPEC_NET keeps the mode. */
    spec_defaults(&s);
    CHECK_EQ(set(&s, "net", "tap=hostel0"), 0);
    spec_init(&l);
    l.net_mode = NET_MODE_USER;                      /* (--net user; parsing needs libslirp) */
    l.set |= SPEC_NET;
    CHECK_EQ(set(&l, "forward", "tcp:2222:22"), 0);
    CHECK_EQ(spec_apply(&s, &l, &e), 0);
    spec_free(&l);
    CHECK_EQ(s.net_mode, NET_MODE_USER);
    CHECK(s.tap == NULL);
    CHECK_EQ(s.nforwards, 1);
    spec_init(&l);
    CHECK_EQ(set(&l, "forward", "tcp:0:80"), 0);
    CHECK_EQ(spec_apply(&s, &l, &e), 0);
    spec_free(&l);
    CHECK_EQ(s.net_mode, NET_MODE_USER);
    CHECK_EQ(s.nforwards, 2);
    /* A layer that says none and forwards at once: the old ones go, its own
     * stay, and spec_check says what is wrong. */
    spec_init(&l);
    CHECK_EQ(set(&l, "net", "none"), 0);
    CHECK_EQ(set(&l, "forward", "tcp:0:443"), 0);
    CHECK_EQ(spec_apply(&s, &l, &e), 0);
    spec_free(&l);
    CHECK_EQ(s.nforwards, 1);
    CHECK_EQ(s.forwards[0].guest_port, 443);
    CHECK_EQ(set(&s, "kernel", "/k"), 0);
    CHECK_EQ(spec_check(&s, &e), -EINVAL);
    CHECK_MSG(&e, "--forward needs user networking (--net user)");
    spec_free(&s);
}

/* ---- spec_check ---------------------------------------------------------- */

static void check_names_what_to_change(void)
{
    struct machine_spec s;
    struct err e = ERR_INIT;
    spec_defaults(&s);
    CHECK_EQ(spec_check(&s, &e), -EINVAL);
    CHECK_MSG(&e, "nothing to boot: give --kernel PATH, a --disk or --cdrom image for the "
              "firmware to boot, --net user,tftp=DIR,bootfile=FILE for a network boot, or name "
              "an appliance");
    CHECK_EQ(set(&s, "kernel", ""), 0);
    err_clear(&e);
    CHECK_EQ(spec_check(&s, &e), -EINVAL);
    CHECK_MSG(&e, "nothing to boot: give --kernel PATH, a --disk or --cdrom image for the "
              "firmware to boot, --net user,tftp=DIR,bootfile=FILE for a network boot, or name "
              "an appliance");
    CHECK_EQ(set(&s, "firmware", "none"), 0);
    err_clear(&e);
    CHECK_EQ(spec_check(&s, &e), -EINVAL);
    CHECK_MSG(&e, "no kernel given: name an appliance or use --kernel PATH (or boot a --disk or "
              "--cdrom image through the firmware: leave out --firmware none)");
    CHECK_EQ(set(&s, "firmware", "bios"), 0);
    CHECK_EQ(set(&s, "disk", "/dev/null"), 0);
    err_clear(&e);
    CHECK_EQ(spec_check(&s, &e), 0);
    CHECK_EQ(set(&s, "kernel", "/boot/vmlinuz"), 0);
    err_clear(&e);
    CHECK_EQ(spec_check(&s, &e), -EINVAL);
    CHECK_MSG(&e, "--kernel boots without firmware: leave out --firmware bios, or boot a disk or "
              "--cdrom image instead of a kernel");
    CHECK_EQ(set(&s, "firmware", "auto"), 0);
    s.ndisks--;
    free(s.disks[s.ndisks].path);
    s.disks[s.ndisks].path = NULL;
    CHECK_EQ(set(&s, "kernel", "/boot/vmlinuz"), 0);
    err_clear(&e);
    CHECK_EQ(spec_check(&s, &e), 0);
    CHECK(!err_is_set(&e));
    s.cpus = 0;
    CHECK_EQ(spec_check(&s, &e), -EINVAL);
    CHECK_MSG(&e, "--cpus 0: give a number from 1 to 64");
    s.cpus = 65;
    CHECK_EQ(spec_check(&s, &e), -EINVAL);
    CHECK_MSG(&e, "--cpus 65: give a number from 1 to 64");
    s.cpus = 2;
    s.memory = 1 << 20;
    CHECK_EQ(spec_check(&s, &e), -EINVAL);
    CHECK_MSG(&e, "--memory 1048576 bytes: give between 16M and 1T");
    s.memory = (1ULL << 40) + 1;
    CHECK_EQ(spec_check(&s, &e), -EINVAL);
    CHECK_MSG(&e, "--memory 1099511627777 bytes: give between 16M and 1T");
    s.memory = 256ULL << 20;
    CHECK_EQ(set(&s, "net", "tap=hostel0"), 0);
    CHECK_EQ(set(&s, "forward", "tcp:0:22"), 0);
    CHECK_EQ(spec_check(&s, &e), -EINVAL);
    CHECK_MSG(&e, "--forward needs user networking (--net user)");
    CHECK_EQ(set(&s, "net", "none"), 0);
    CHECK_EQ(spec_check(&s, &e), -EINVAL);
    CHECK_MSG(&e, "--forward needs user networking (--net user)");
    /* Forwards with no mode given imply user networking. */
    s.net_mode = NET_MODE_DEFAULT;
    err_clear(&e);
    if (net_user_available()) {
        CHECK_EQ(spec_check(&s, &e), 0);
    } else {
        CHECK_EQ(spec_check(&s, &e), -ENOTSUP);
        CHECK_MSG(&e, "user networking needs libslirp, which this hostel was built without: "
                      "install libslirp-dev (scripts/deps.sh) and rebuild, or use --net tap=NAME");
    }
    spec_free(&s);
}

static void net_options_follow_the_spec(void)
{
    struct machine_spec s;
    struct net_options o;
    spec_defaults(&s);
    spec_net_options(&s, &o);
    CHECK_EQ(o.mode, NET_MODE_DEFAULT);
    CHECK_EQ(net_effective_mode(&o), NET_MODE_NONE);
    CHECK(!o.mac_set);
    CHECK_EQ(set(&s, "forward", "tcp:2222:22"), 0);
    CHECK_EQ(set(&s, "mac", "52:54:00:12:34:56"), 0);
    spec_net_options(&s, &o);
    CHECK_EQ(net_effective_mode(&o), NET_MODE_USER);
    CHECK_EQ(o.nforwards, 1);
    CHECK_EQ(o.forwards[0].host_port, 2222);
    CHECK(o.mac_set);
    CHECK_EQ(o.mac[5], 0x56);
    CHECK_EQ(set(&s, "net", "tap=hostel1"), 0);
    spec_net_options(&s, &o);
    CHECK_EQ(o.mode, NET_MODE_TAP);
    CHECK(str_eq(o.tap_name, "hostel1"));
    CHECK(o.bound == NULL);
    spec_free(&s);
}

/* ---- JSON ---------------------------------------------------------------- */

static json_t *parse(const char *text)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    if (!o)
        printf("  bad test JSON: %s: %s\n", text, je.text);
    return o;
}

/* spec_from_json(text) fails with -EINVAL, a message holding part, and an
 * empty spec. */
#define JSON_FAILS(text, part)                                                           \
    do {                                                                                 \
        json_t *o_ = parse(text);                                                        \
        struct machine_spec s_;                                                          \
        struct err e_ = ERR_INIT;                                                        \
        memset(&s_, 0xa5, sizeof(s_));                                                   \
        CHECK_EQ(spec_from_json(o_, &s_, &e_), -EINVAL);                                 \
        CHECK_MSG_HAS(&e_, (part));                                                      \
        CHECK_EQ(s_.set, 0);                                                             \
        CHECK(s_.kernel == NULL);                                                        \
        CHECK_EQ(s_.ndisks, 0);                                                          \
        json_decref(o_);                                                                 \
    } while (0)

static void json_holds_only_what_the_layer_sets(void)
{
    struct machine_spec s;
    spec_init(&s);
    CHECK_EQ(set(&s, "cpus", "2"), 0);
    json_t *o = spec_to_json(&s);
    CHECK_EQ(json_object_size(o), 1);
    CHECK_EQ(json_integer_value(json_object_get(o, "cpus")), 2);
    json_decref(o);
    spec_free(&s);
    spec_init(&s);
    o = spec_to_json(&s);
    CHECK_EQ(json_object_size(o), 0);
    json_decref(o);
    /* Sizes read as sizes where they are whole units, in bytes otherwise. */
    CHECK_EQ(set(&s, "memory", "768M"), 0);
    o = spec_to_json(&s);
    CHECK(str_eq(json_string_value(json_object_get(o, "memory")), "768M"));
    json_decref(o);
    s.memory = (768ULL << 20) + 512;
    o = spec_to_json(&s);
    CHECK(str_eq(json_string_value(json_object_get(o, "memory")), "805306880"));
    struct machine_spec back;
    struct err e = ERR_INIT;
    CHECK_EQ(spec_from_json(o, &back, &e), 0);
    CHECK_EQ(back.memory, (768ULL << 20) + 512);
    spec_free(&back);
    json_decref(o);
    spec_free(&s);
}

static void json_reads_what_it_writes(void)
{
    json_t *o = parse("{\"kernel\":\"/k\",\"initrd\":\"/i\",\"cmdline\":\"a \\\"b\\\" c\","
                      "\"cpus\":3,\"memory\":\"1G\",\"engine\":\"kvm\",\"serial\":\"none\","
                      "\"console\":\"virtio\",\"rng\":false,\"no_reboot\":true,\"watchdog\":5,"
                      "\"disks\":[{\"path\":\"/a.img\",\"format\":\"qcow2\",\"readonly\":true},"
                      "{\"size\":\"2G\"},\"/b.img,format=raw\",{\"size\":1048576,"
                      "\"format\":\"raw\"}],"
                      "\"net\":\"tap=hostel2\",\"mac\":\"52:54:00:00:00:02\","
                      "\"appliance\":\"/apps/x\"}");
    struct machine_spec s;
    struct err e = ERR_INIT;
    CHECK_EQ(spec_from_json(o, &s, &e), 0);
    if (err_is_set(&e))
        printf("  %s\n", e.msg);
    json_decref(o);
    CHECK_EQ(s.set, SPEC_KERNEL | SPEC_INITRD | SPEC_CMDLINE | SPEC_CPUS | SPEC_MEMORY |
                    SPEC_ENGINE | SPEC_SERIAL | SPEC_CONSOLE | SPEC_RNG | SPEC_NO_REBOOT |
                    SPEC_WATCHDOG | SPEC_NET | SPEC_MAC | SPEC_APPLIANCE);
    CHECK(str_eq(s.cmdline, "a \"b\" c"));
    CHECK_EQ(s.cpus, 3);
    CHECK_EQ(s.memory, 1ULL << 30);
    CHECK(str_eq(s.engine, "kvm"));
    CHECK(s.virtio_console);
    CHECK(!s.rng);
    CHECK(s.no_reboot);
    CHECK_EQ(s.watchdog_s, 5);
    CHECK_EQ(s.ndisks, 4);
    CHECK(str_eq(s.disks[0].path, "/a.img"));
    CHECK_EQ(s.disks[0].format, BLOCK_FORMAT_QCOW2);
    CHECK(s.disks[0].readonly);
    CHECK(s.disks[1].path == NULL);
    CHECK_EQ(s.disks[1].size, 2ULL << 30);
    CHECK(str_eq(s.disks[2].path, "/b.img"));
    CHECK_EQ(s.disks[2].format, BLOCK_FORMAT_RAW);
    CHECK_EQ(s.disks[3].size, 1ULL << 20);
    CHECK_EQ(s.disks[3].format, BLOCK_FORMAT_RAW);
    CHECK_EQ(s.net_mode, NET_MODE_TAP);
    CHECK(str_eq(s.tap, "hostel2"));
    CHECK_EQ(s.mac[5], 2);
    CHECK(str_eq(s.appliance, "/apps/x"));
    /* And back: the same JSON object. */
    json_t *again = spec_to_json(&s);
    struct machine_spec s2;
    CHECK_EQ(spec_from_json(again, &s2, &e), 0);
    json_t *third = spec_to_json(&s2);
    CHECK(json_equal(again, third));
    json_decref(again);
    json_decref(third);
    spec_free(&s2);
    spec_free(&s);
}

static void json_is_strict(void)
{
    JSON_FAILS("[1, 2]", "a machine spec is a JSON object");
    /* "cpu" is a key now (--cpu host|portable): a typo of "cpus" elsewhere. */
    JSON_FAILS("{\"kernel\":\"/k\",\"cpuss\":2}", "unknown key \"cpuss\" in a machine spec");
    JSON_FAILS("{\"kernel\":\"/k\",\"cpu\":2}", "\"cpu\": give a string");
    JSON_FAILS("{\"kernel\":\"/k\",\"cpu\":\"fast\"}", "--cpu 'fast': unknown CPU model; choose host, v3, v2 or portable");
    JSON_FAILS("{\"cpus\":[2]}", "\"cpus\": give a whole number");
    JSON_FAILS("{\"memory\":{\"size\":1}}", "\"memory\": give a string or a number");
    JSON_FAILS("{\"cpus\":2.5}", "\"cpus\": give a whole number");
    JSON_FAILS("{\"kernel\":null}", "\"kernel\": give a string");
    JSON_FAILS("{\"cpus\":0}", "--cpus '0': give a number from 1 to 64");
    JSON_FAILS("{\"cpus\":\"many\"}", "\"cpus\": give a whole number");
    JSON_FAILS("{\"cpus\":0}", "\"cpus\": --cpus '0'");
    JSON_FAILS("{\"kernel\":5}", "\"kernel\": give a string");
    JSON_FAILS("{\"cmdline\":true}", "\"cmdline\": give a string");
    JSON_FAILS("{\"rng\":3}", "\"rng\": give true, false, \"on\" or \"off\"");
    JSON_FAILS("{\"hpet\":3}", "\"hpet\": give true, false, \"on\" or \"off\"");
    JSON_FAILS("{\"memory\":\"lots\"}", "--memory 'lots'");
    JSON_FAILS("{\"memory\":1024}", "--memory '1024': give between 16M and 1T");
    JSON_FAILS("{\"engine\":\"qemu\"}", "--engine 'qemu'");
    JSON_FAILS("{\"serial\":\"tcp:1\"}", "--serial 'tcp:1'");
    JSON_FAILS("{\"console\":\"vga\"}", "--console 'vga'");
    JSON_FAILS("{\"rng\":\"yes\"}", "--rng 'yes'");
    JSON_FAILS("{\"no_reboot\":\"maybe\"}", "'maybe': choose on or off");
    JSON_FAILS("{\"watchdog\":-5}", "--watchdog '-5'");
    JSON_FAILS("{\"net\":\"bridge\"}", "--net 'bridge'");
    JSON_FAILS("{\"mac\":\"ff:ff:ff:ff:ff:ff\"}", "--mac 'ff:ff:ff:ff:ff:ff'");
    JSON_FAILS("{\"appliance\":7}", "\"appliance\": give the appliance's folder");
    JSON_FAILS("{\"disks\":\"/a.img\"}", "\"disks\": give a list");
    JSON_FAILS("{\"forwards\":\"tcp:0:22\"}", "\"forwards\": give a list");
    JSON_FAILS("{\"forwards\":[22]}", "\"forwards\": each forward is a string such as "
                                      "\"tcp:2222:22\"");
    JSON_FAILS("{\"forwards\":[\"tcp:22\"]}", "--forward 'tcp:22'");
    JSON_FAILS("{\"disks\":[7]}", "\"disks\": each disk is an object");
    JSON_FAILS("{\"disks\":[{\"path\":\"/a.img\",\"cache\":\"none\"}]}",
               "\"disks\": unknown key \"cache\" (path, size, format, readonly, bps, iops)");
    JSON_FAILS("{\"disks\":[{\"path\":\"/a.img\",\"readonly\":\"yes\"}]}",
               "\"disks\": path and format are strings, readonly is true or false");
    JSON_FAILS("{\"disks\":[{\"path\":5}]}",
               "\"disks\": path and format are strings, readonly is true or false");
    JSON_FAILS("{\"disks\":[{\"path\":\"/a,b.img\"}]}", "the path \"/a,b.img\" has a comma");
    JSON_FAILS("{\"disks\":[{\"path\":\"/a.img\",\"format\":\"vmdk\"}]}",
               "--disk: format 'vmdk': choose raw or qcow2");
    JSON_FAILS("{\"disks\":[{\"size\":\"big\"}]}", "--disk: size 'big'");
    JSON_FAILS("{\"disks\":[{\"size\":[1]}]}", "\"size\": give a string or a number");
    JSON_FAILS("{\"disks\":[{\"path\":\"/a.img\",\"size\":\"1G\"}]}",
               "--disk: give either a PATH or size=, not both");
    JSON_FAILS("{\"disks\":[{}]}", "--disk: give an image PATH or size=SIZE");
    JSON_FAILS("{\"disks\":[\"/1\",\"/2\",\"/3\",\"/4\",\"/5\",\"/6\",\"/7\",\"/8\",\"/9\"]}",
               "\"disks\": at most 8 disks");
    /* The failure frees what the good keys before it had set. */
    JSON_FAILS("{\"kernel\":\"/k\",\"disks\":[\"/a.img\"],\"zzz\":1}", "unknown key \"zzz\"");
}

/* --share: syntax, the tag after the last ':', options, by-tag layering,
 * none, the check and the JSON form. */
static void option_share(void)
{
    struct machine_spec s, l, base;
    struct err e = ERR_INIT;
    spec_init(&s);
    CHECK_EQ(spec_set_option(&s, "share", "/tmp:t1", &e), 0);
    CHECK_EQ(spec_set_option(&s, "share", "/tmp/a:b:c,ro,uid=1000,gid=100", &e), 0);
    CHECK_EQ(s.nshares, 2);
    CHECK(!strcmp(s.shares[1].dir, "/tmp/a:b") && !strcmp(s.shares[1].tag, "c"));
    CHECK(s.shares[1].readonly && s.shares[1].uid == 1000 && s.shares[1].gid == 100);
    CHECK_EQ(spec_set_option(&s, "share", "/var:t1", &e), 0);    /* same tag: replaced */
    CHECK_EQ(s.nshares, 2);
    CHECK(!strcmp(s.shares[0].dir, "/var"));
    CHECK_EQ(spec_set_option(&s, "share", "/tmp", &e), -EINVAL);
    CHECK_MSG_HAS(&e, "give HOSTDIR:TAG");
    CHECK_EQ(spec_set_option(&s, "share", "/tmp:a/b", &e), -EINVAL);
    CHECK_MSG_HAS(&e, "may hold only");
    CHECK_EQ(spec_set_option(&s, "share", "/tmp:0123456789012345678901234567890123456", &e), -EINVAL);
    CHECK_MSG_HAS(&e, "1 to 36");
    CHECK_EQ(spec_set_option(&s, "share", "/tmp:t,rx", &e), -EINVAL);
    CHECK_MSG_HAS(&e, "cannot understand 'rx'");
    CHECK_EQ(spec_set_option(&s, "share", "/tmp:t,uid=-1", &e), -EINVAL);
    /* A relative directory is made absolute. */
    CHECK_EQ(spec_set_option(&s, "share", "no-such-dir-here:rel", &e), 0);
    CHECK(s.shares[2].dir[0] == '/');
    spec_defaults(&base);
    base.kernel = strdup("/k");
    CHECK_EQ(spec_apply(&base, &s, &e), 0);
    CHECK_EQ(spec_check(&base, &e), -ENOENT);
    CHECK_MSG_HAS(&e, "--share");
    CHECK_MSG_HAS(&e, "No such file or directory");
    /* none drops what was below, then its own shares apply. */
    spec_init(&l);
    CHECK_EQ(spec_set_option(&l, "share", "none", &e), 0);
    CHECK_EQ(spec_set_option(&l, "share", "/tmp:only", &e), 0);
    CHECK_EQ(spec_apply(&base, &l, &e), 0);
    CHECK_EQ(base.nshares, 1);
    CHECK(!strcmp(base.shares[0].tag, "only"));
    CHECK_EQ(spec_check(&base, &e), 0);
    /* JSON: written as objects, read back; strings accepted; strict. */
    json_t *j = spec_to_json(&s);
    struct machine_spec back;
    CHECK_EQ(spec_from_json(j, &back, &e), 0);
    CHECK_EQ(back.nshares, 3);
    CHECK(!strcmp(back.shares[1].tag, "c") && back.shares[1].readonly && back.shares[1].uid == 1000);
    json_decref(j);
    spec_free(&back);
    j = json_loads("{\"shares\": [\"/tmp:s\", {\"dir\": \"/tmp\", \"tag\": \"o\", \"readonly\": true}]}", 0, NULL);
    CHECK_EQ(spec_from_json(j, &back, &e), 0);
    CHECK_EQ(back.nshares, 2);
    spec_free(&back);
    json_decref(j);
    j = json_loads("{\"shares\": [{\"dir\": \"/tmp\", \"tag\": \"o\", \"mode\": 1}]}", 0, NULL);
    CHECK_EQ(spec_from_json(j, &back, &e), -EINVAL);
    CHECK_MSG_HAS(&e, "unknown key \"mode\"");
    json_decref(j);
    /* At most 8. */
    spec_free(&l);
    for (int i = 0; i < SPEC_MAX_SHARES; i++) {
        char a[32];
        snprintf(a, sizeof(a), "/tmp:t%d", i);
        CHECK_EQ(spec_set_option(&l, "share", a, &e), 0);
    }
    CHECK_EQ(spec_set_option(&l, "share", "/tmp:t9", &e), -EINVAL);
    CHECK_MSG_HAS(&e, "at most 8");
    spec_free(&l);
    spec_free(&s);
    spec_free(&base);
}

int main(void)
{
    RUN_TEST(defaults_are_hostel_runs);
    RUN_TEST(copy_is_deep);
    RUN_TEST(option_strings);
    RUN_TEST(option_cpus_and_memory);
    RUN_TEST(option_engine_serial_console);
    RUN_TEST(option_display);
    RUN_TEST(option_switches);
    RUN_TEST(option_disk);
    RUN_TEST(option_net_forward_mac);
    RUN_TEST(option_share);
    RUN_TEST(option_limits_and_sandbox);
    RUN_TEST(unknown_option_is_enoent);
    RUN_TEST(apply_scalars_override_only_what_is_set);
    RUN_TEST(apply_disks_append);
    RUN_TEST(apply_forwards_replace_same_guest_port);
    RUN_TEST(apply_net_none_or_tap_drops_forwards);
    RUN_TEST(check_names_what_to_change);
    RUN_TEST(net_options_follow_the_spec);
    RUN_TEST(json_holds_only_what_the_layer_sets);
    RUN_TEST(json_reads_what_it_writes);
    RUN_TEST(json_is_strict);
    return CHECK_DONE();
}
