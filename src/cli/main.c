/* The hostel command: argument parsing, subcommands and their help. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "cli/appliance_cmd.h"
#include "cli/engines_cmd.h"
#include "cli/image.h"
#include "cli/machines.h"
#include "mgmt/appliance.h"
#include "lib/log.h"
#include "lib/size.h"
#include "net/net.h"
#include "machine/vm.h"

#ifndef HOSTEL_VERSION
#define HOSTEL_VERSION "0.1.0"
#endif

static void usage_main(FILE *f)
{
    fprintf(f,
            "usage: hostel [--version] [--help] COMMAND [ARGS]\n"
            "\n"
            "hostel runs guest operating systems on this Linux host, on hardware\n"
            "virtualization (kvm) or on its own x86-64 CPU in software (emu).\n"
            "\n"
            "commands:\n"
            "  run       boot a kernel in a new machine, console on this terminal\n"
            "  image     create, inspect, check and convert disk images\n"
            "  appliance list, pack and import appliances\n"
            "  engines   which engines can run here, and what --engine auto picks\n"
            "\n");
    machines_usage(f);
    fprintf(f, "\n"
            "'hostel COMMAND --help' tells more about a command.\n");
}

static void usage_run(FILE *f)
{
    fprintf(f,
            "usage: hostel run APPLIANCE [options]\n"
            "       hostel run --kernel PATH [options]\n"
            "\n"
            "Boots an appliance (a folder or .tar with appliance.json, or the name of a\n"
            "built one such as 'tiny') or a kernel in a new machine, with its serial\n"
            "console on this terminal.  Options override the appliance's defaults.\n"
            "Ctrl-A x quits, Ctrl-A h lists the other console keys.\n"
            "\n"
            "  -k, --kernel PATH     Linux bzImage, ELF64 kernel or Multiboot image\n"
            "  -i, --initrd PATH     initial ramdisk (Linux) or first module (Multiboot)\n"
            "  -a, --cmdline TEXT    kernel command line\n"
            "  -c, --cpus N          virtual CPUs (default 1)\n"
            "  -m, --memory SIZE     guest memory, e.g. 512M, 2G (default 512M)\n"
            "  -e, --engine NAME     auto, kvm or emu (default auto: kvm where it is fast)\n"
            "  -s, --serial WHERE    stdio, file:PATH or none (default stdio)\n"
            "      --disk SPEC       a virtio-blk disk (repeatable): PATH[,format=raw|qcow2]\n"
            "                        [,readonly=on], or size=SIZE for a blank raw disk that\n"
            "                        lives in a deleted temporary file (gone at exit)\n"
            "      --console KIND    serial (default) or virtio: the console also becomes\n"
            "                        virtio-console hvc0 (console=hvc0), which takes input\n"
            "      --rng on|off      virtio-rng, entropy from the host (default on)\n"
            "      --net MODE        virtio-net eth0: user (NAT through libslirp; guest\n"
            "                        10.0.2.15 by DHCP, host 10.0.2.2, DNS 10.0.2.3),\n"
            "                        user,restrict=on (no outbound traffic, only forwards),\n"
            "                        tap=NAME (a host tap device) or none (the default)\n"
            "      --forward SPEC    forward a host port to the guest (repeatable; implies\n"
            "                        --net user): tcp:HOSTPORT:GUESTPORT, udp:..., or\n"
            "                        tcp:ADDR:HOSTPORT:GUESTPORT; the host side listens on\n"
            "                        127.0.0.1 unless ADDR is given (0.0.0.0: everywhere);\n"
            "                        host port 0 takes any free port (printed at start)\n"
            "      --mac ADDR        the NIC's address (default: 52:54:00 plus a hash of the\n"
            "                        kernel path and command line, stable across boots)\n"
            "      --no-reboot       exit when the guest reboots instead of restarting it\n"
            "      --watchdog SECS   say where the guest stands when it prints nothing for\n"
            "                        SECS seconds and is not at a prompt (default 120, 0 off)\n"
            "  -v, --verbose         say what hostel does (engine choice, exits); -vv for more\n"
            "  -h, --help            this text\n"
            "\n"
            "exit status: 0 when the guest powers off; (v << 1) | 1 when it writes v to\n"
            "the debug-exit port 0xf4; 2 on a triple fault; 1 on other errors.\n");
}

static int parse_int(const char *s, int *out)
{
    char *end;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end || v < -2147483647L || v > 2147483647L)
        return -EINVAL;
    *out = (int)v;
    return 0;
}

/* --disk size=SIZE: a sparse raw file that is unlinked at once and reached
 * through /proc/self/fd, so nothing is left behind however hostel ends. */
static int make_scratch_disk(uint64_t size, char *path, size_t len)
{
    const char *dir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    char tmpl[4096];
    snprintf(tmpl, sizeof(tmpl), "%s/hostel-disk-XXXXXX", dir);
    int fd = mkstemp(tmpl);
    if (fd < 0) {
        log_error("--disk size=: cannot create a temporary file in %s: %s (set TMPDIR)", dir,
                  strerror(errno));
        return -1;
    }
    unlink(tmpl);
    if (ftruncate(fd, (off_t)size) < 0) {
        log_error("--disk size=: cannot make a %llu-byte file in %s: %s",
                  (unsigned long long)size, dir, strerror(errno));
        close(fd);
        return -1;
    }
    snprintf(path, len, "/proc/self/fd/%d", fd);   /* fd stays open until exit */
    return 0;
}

/* PATH[,format=raw|qcow2][,readonly=on|off] or size=SIZE[,...]. */
static int parse_disk(char *spec, struct vm_disk *d, char *scratch_path, size_t len)
{
    memset(d, 0, sizeof(*d));
    d->format = BLOCK_FORMAT_AUTO;
    uint64_t size = 0;
    char *save = NULL;
    for (char *item = strtok_r(spec, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
        if (!strncmp(item, "format=", 7)) {
            if (!strcmp(item + 7, "raw"))
                d->format = BLOCK_FORMAT_RAW;
            else if (!strcmp(item + 7, "qcow2"))
                d->format = BLOCK_FORMAT_QCOW2;
            else {
                log_error("--disk: format '%s': choose raw or qcow2", item + 7);
                return -1;
            }
        } else if (!strncmp(item, "readonly=", 9)) {
            if (strcmp(item + 9, "on") && strcmp(item + 9, "off")) {
                log_error("--disk: readonly '%s': choose on or off", item + 9);
                return -1;
            }
            d->readonly = !strcmp(item + 9, "on");
        } else if (!strncmp(item, "size=", 5)) {
            if (parse_size(item + 5, &size) < 0 || size < 512) {
                log_error("--disk: size '%s': give a size such as 8G", item + 5);
                return -1;
            }
        } else if (!d->path && !strchr(item, '=')) {
            d->path = item;
        } else {
            log_error("--disk: cannot understand '%s' (PATH, format=, readonly=, size=)", item);
            return -1;
        }
    }
    if (d->path && size) {
        log_error("--disk: give either a PATH or size=, not both");
        return -1;
    }
    if (size) {
        if (d->format == BLOCK_FORMAT_QCOW2) {
            log_error("--disk size=: blank disks are raw; leave out format=qcow2");
            return -1;
        }
        if (make_scratch_disk(size, scratch_path, len) < 0)
            return -1;
        d->path = scratch_path;
        d->format = BLOCK_FORMAT_RAW;
    }
    if (!d->path) {
        log_error("--disk: give an image PATH or size=SIZE");
        return -1;
    }
    return 0;
}

/* user[,restrict=on|off], tap=NAME or none. */
static int parse_net(char *spec, struct net_options *o)
{
    if (!strcmp(spec, "none")) {
        o->mode = NET_MODE_NONE;
        return 0;
    }
    if (!strncmp(spec, "tap=", 4)) {
        if (!spec[4] || strlen(spec + 4) > 15 || strchr(spec + 4, ',')) {
            log_error("--net '%s': tap=NAME takes an interface name of 1 to 15 characters", spec);
            return -1;
        }
        o->mode = NET_MODE_TAP;
        o->tap_name = spec + 4;
        return 0;
    }
    char *save = NULL;
    char *item = strtok_r(spec, ",", &save);
    if (!item || strcmp(item, "user")) {
        log_error("--net '%s': choose user, user,restrict=on, tap=NAME or none", spec);
        return -1;
    }
    o->mode = NET_MODE_USER;
    while ((item = strtok_r(NULL, ",", &save))) {
        if (!strcmp(item, "restrict=on") || !strcmp(item, "restrict=off")) {
            o->restrict_outbound = !strcmp(item, "restrict=on");
        } else {
            log_error("--net user: cannot understand '%s' (restrict=on|off)", item);
            return -1;
        }
    }
    if (!net_user_available()) {
        log_error("--net user: this hostel was built without libslirp: install libslirp-dev "
                  "(scripts/deps.sh) and rebuild, or use --net tap=NAME");
        return -1;
    }
    return 0;
}

/* For an appliance one logs in to over SSH: once it runs, how to. */
struct ssh_hint {
    const struct appliance *app;
    const struct net_forward *bound;
    int nbound;
};

static void print_ssh_hint(void *opaque, struct vm *vm)
{
    (void)vm;
    const struct ssh_hint *h = opaque;
    for (int i = 0; i < h->nbound && i < NET_MAX_FORWARDS; i++) {
        const struct net_forward *f = &h->bound[i];
        if (f->udp || f->guest_port != h->app->ssh_port || !f->host_port)
            continue;
        char a[INET_ADDRSTRLEN];
        struct in_addr in = { f->host_addr ? f->host_addr : htonl(INADDR_LOOPBACK) };
        inet_ntop(AF_INET, &in, a, sizeof(a));
        fprintf(stderr, "hostel: ssh: ssh -p %u%s%s %s@%s\n", f->host_port,
                h->app->ssh_key ? " -i " : "", h->app->ssh_key ? h->app->ssh_key : "",
                h->app->ssh_user ? h->app->ssh_user : "root", a);
        return;
    }
}

static int cmd_run(int argc, char **argv)
{
    static char scratch_paths[VM_MAX_DISKS][64];
    static const struct option opts[] = {
        { "kernel", required_argument, NULL, 'k' },
        { "initrd", required_argument, NULL, 'i' },
        { "cmdline", required_argument, NULL, 'a' },
        { "append", required_argument, NULL, 'a' },
        { "cpus", required_argument, NULL, 'c' },
        { "memory", required_argument, NULL, 'm' },
        { "engine", required_argument, NULL, 'e' },
        { "serial", required_argument, NULL, 's' },
        { "no-reboot", no_argument, NULL, 'R' },
        { "watchdog", required_argument, NULL, 'W' },
        { "disk", required_argument, NULL, 'D' },
        { "console", required_argument, NULL, 'C' },
        { "rng", required_argument, NULL, 'G' },
        { "net", required_argument, NULL, 'N' },
        { "forward", required_argument, NULL, 'F' },
        { "mac", required_argument, NULL, 'M' },
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { 0 }
    };
    struct vm_config cfg = {
        .cpus = 1,
        .memory = 512ULL << 20,
        .engine = "auto",
        .serial = "stdio",
        .watchdog_s = 120,
    };
    static struct net_options net;
    memset(&net, 0, sizeof(net));
    cfg.net = &net;
    int c;
    bool cpus_set = false, memory_set = false;

    optind = 1;
    while ((c = getopt_long(argc, argv, "k:i:a:c:m:e:s:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'k': cfg.kernel = optarg; break;
        case 'i': cfg.initrd = optarg; break;
        case 'a': cfg.cmdline = optarg; break;
        case 'c':
            cpus_set = true;
            if (parse_int(optarg, &cfg.cpus) < 0 || cfg.cpus < 1 || cfg.cpus > VM_MAX_CPUS) {
                log_error("--cpus '%s': give a number from 1 to %d", optarg, VM_MAX_CPUS);
                return 1;
            }
            break;
        case 'm':
            memory_set = true;
            if (parse_size(optarg, &cfg.memory) < 0) {
                log_error("--memory '%s': give a size such as 512M or 2G", optarg);
                return 1;
            }
            if (cfg.memory < (16ULL << 20) || cfg.memory > (1ULL << 40)) {
                log_error("--memory '%s': give between 16M and 1T", optarg);
                return 1;
            }
            break;
        case 'e':
            if (strcmp(optarg, "auto") && strcmp(optarg, "kvm") && strcmp(optarg, "emu")) {
                log_error("--engine '%s': choose auto, kvm or emu", optarg);
                return 1;
            }
            cfg.engine = optarg;
            break;
        case 's':
            if (strcmp(optarg, "stdio") && strcmp(optarg, "none") &&
                strncmp(optarg, "file:", 5)) {
                log_error("--serial '%s': choose stdio, file:PATH or none", optarg);
                return 1;
            }
            cfg.serial = optarg;
            break;
        case 'R': cfg.no_reboot = true; break;
        case 'W':
            if (parse_int(optarg, &cfg.watchdog_s) < 0 || cfg.watchdog_s < 0) {
                log_error("--watchdog '%s': give seconds, or 0 to turn it off", optarg);
                return 1;
            }
            break;
        case 'D':
            if (cfg.ndisks == VM_MAX_DISKS) {
                log_error("--disk: at most %d disks", VM_MAX_DISKS);
                return 1;
            }
            if (parse_disk(optarg, &cfg.disks[cfg.ndisks], scratch_paths[cfg.ndisks],
                           sizeof(scratch_paths[0])) < 0)
                return 1;
            cfg.ndisks++;
            break;
        case 'C':
            if (strcmp(optarg, "serial") && strcmp(optarg, "virtio")) {
                log_error("--console '%s': choose serial or virtio", optarg);
                return 1;
            }
            cfg.virtio_console = !strcmp(optarg, "virtio");
            break;
        case 'G':
            if (strcmp(optarg, "on") && strcmp(optarg, "off")) {
                log_error("--rng '%s': choose on or off", optarg);
                return 1;
            }
            cfg.no_rng = !strcmp(optarg, "off");
            break;
        case 'N':
            if (parse_net(optarg, &net) < 0)
                return 1;
            break;
        case 'F': {
            char err[256];
            if (net.nforwards == NET_MAX_FORWARDS) {
                log_error("--forward: at most %d forwards", NET_MAX_FORWARDS);
                return 1;
            }
            if (net_parse_forward(optarg, &net.forwards[net.nforwards], err, sizeof(err)) < 0) {
                log_error("%s", err);
                return 1;
            }
            net.nforwards++;
            break;
        }
        case 'M':
            if (net_parse_mac(optarg, net.mac) < 0) {
                log_error("--mac '%s': give six hex bytes such as 52:54:00:12:34:56 (the first "
                          "byte even: not a multicast address)", optarg);
                return 1;
            }
            net.mac_set = true;
            break;
        case 'v': log_verbosity++; break;
        case 'h': usage_run(stdout); return 0;
        default:
            usage_run(stderr);
            return 1;
        }
    }
    if (optind + 1 < argc) {
        log_error("unexpected argument '%s' (see 'hostel run --help')", argv[optind + 1]);
        return 1;
    }
    struct appliance app;
    bool have_app = false;
    if (optind < argc) {
        char err[1024];
        if (cfg.kernel) {
            log_error("give either an appliance or --kernel, not both");
            return 1;
        }
        if (appliance_open(argv[optind], &app, err, sizeof(err)) < 0) {
            log_error("%s", err);
            return 1;
        }
        have_app = true;
        appliance_apply(&app, &cfg, cpus_set, memory_set);
        if (appliance_apply_net(&app, &net, err, sizeof(err)) < 0) {
            log_error("%s", err);
            appliance_free(&app);
            return 1;
        }
        log_info("appliance %s %s from %s", app.name, app.version, app.dir);
    }
    if (!cfg.kernel) {
        log_error("no kernel given: name an appliance or use --kernel PATH "
                  "(see 'hostel run --help')");
        return 1;
    }
    if (net.nforwards && net_effective_mode(&net) != NET_MODE_USER) {
        log_error("--forward needs user networking (--net user)");
        return 1;
    }
    if (net_effective_mode(&net) == NET_MODE_USER && !net_user_available()) {
        log_error("--forward: user networking needs libslirp, which this hostel was built "
                  "without: install libslirp-dev (scripts/deps.sh) and rebuild");
        return 1;
    }
    struct net_forward bound[NET_MAX_FORWARDS] = { 0 };
    net.bound = bound;
    struct ssh_hint hint = { have_app ? &app : NULL, bound, net.nforwards };
    const struct vm_hooks hooks = { .opaque = &hint, .booted = print_ssh_hint };
    if (have_app && app.has_ssh)
        cfg.hooks = &hooks;
    int status;
    int r = vm_run(&cfg, &status);
    if (have_app)
        appliance_free(&app);
    return r < 0 ? 1 : status;
}

int main(int argc, char **argv)
{
    vm_stats_mark_start();
    if (argc < 2) {
        usage_main(stderr);
        return 1;
    }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) {
        usage_main(stdout);
        return 0;
    }
    if (!strcmp(cmd, "--version") || !strcmp(cmd, "version")) {
        printf("hostel %s\n", HOSTEL_VERSION);
        return 0;
    }
    if (!strcmp(cmd, "run"))
        return cmd_run(argc - 1, argv + 1);
    if (!strcmp(cmd, "image"))
        return cmd_image(argc - 1, argv + 1);
    if (!strcmp(cmd, "appliance"))
        return cmd_appliance(argc - 1, argv + 1);
    if (!strcmp(cmd, "engines"))
        return cmd_engines(argc - 1, argv + 1);
    int status;
    if (machines_dispatch(argc - 1, argv + 1, &status))
        return status;
    log_error("unknown command '%s' (see 'hostel --help')", cmd);
    return 1;
}
