/* The machine options as command-line flags (cli/spec_flags.h). */
#include "cli/spec_flags.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#define SPEC_FLAG_BASE 0x100

static const struct {
    const char *name;
    int has_arg;
    char short_name;
} spec_flags[] = {
    { "kernel", required_argument, 'k' },
    { "initrd", required_argument, 'i' },
    { "cmdline", required_argument, 'a' },
    { "append", required_argument, 0 },
    { "cpus", required_argument, 'c' },
    { "memory", required_argument, 'm' },
    { "engine", required_argument, 'e' },
    { "cpu", required_argument, 0 },
    { "serial", required_argument, 's' },
    { "no-reboot", no_argument, 0 },
    { "watchdog", required_argument, 0 },
    { "disk", required_argument, 0 },
    { "console", required_argument, 0 },
    { "rng", required_argument, 0 },
    { "hpet", required_argument, 0 },
    { "net", required_argument, 0 },
    { "forward", required_argument, 0 },
    { "mac", required_argument, 0 },
    { "share", required_argument, 0 },
    { "firmware", required_argument, 0 },
    { "boot", required_argument, 0 },
    { "cdrom", required_argument, 0 },
    { "cloud-init", required_argument, 0 },
    { "ssh-key", required_argument, 0 },
    { "display", required_argument, 0 },
    { "net-limit", required_argument, 0 },
    { "disk-limit", required_argument, 0 },
    { "cpu-limit", required_argument, 0 },
    { "memory-limit", required_argument, 0 },
    { "sandbox", required_argument, 0 },
    { "no-sandbox", no_argument, 0 },
    { "jail-user", required_argument, 0 },
};
#define NSPEC (sizeof(spec_flags) / sizeof(spec_flags[0]))

void spec_flags_usage(FILE *f)
{
    fprintf(f,
            "  -k, --kernel PATH     Linux bzImage, ELF64 kernel or Multiboot image\n"
            "  -i, --initrd PATH     initial ramdisk (Linux) or first module (Multiboot)\n"
            "  -a, --cmdline TEXT    kernel command line\n"
            "  -c, --cpus N          virtual CPUs (default 1)\n"
            "  -m, --memory SIZE     guest memory, e.g. 512M, 2G (default 512M)\n"
            "  -e, --engine NAME     auto, kvm or emu (default auto: kvm where it is fast;\n"
            "                        'hostel engines' shows what auto picks and why)\n"
            "      --cpu MODEL       host (default: the engine's own CPU; on emu an\n"
            "                        x86-64-v3 CPU), v3 or v2 (that x86-64 level),\n"
            "                        or portable (a baseline x86-64 CPU every engine\n"
            "                        shows, so the machine can migrate between kvm and\n"
            "                        emu: docs/migration.md; docs/cpuid.md)\n"
            "  -s, --serial WHERE    stdio, file:PATH or none (default stdio; for a named\n"
            "                        machine stdio is its console: console.log and\n"
            "                        'hostel console')\n"
            "      --disk SPEC       a virtio-blk disk (repeatable): PATH[,format=raw|qcow2]\n"
            "                        [,readonly=on][,bps=SIZE][,iops=N] (rate limits: bytes\n"
            "                        and requests per second), or size=SIZE (or just\n"
            "                        SIZE) for a blank one: with run a deleted temporary\n"
            "                        raw file (gone at exit), with create a qcow2 file in\n"
            "                        the machine's folder\n"
            "      --console KIND    serial (default) or virtio: the console also becomes\n"
            "                        virtio-console hvc0 (console=hvc0), which takes input\n"
            "      --rng on|off      virtio-rng, entropy from the host (default on)\n"
            "      --hpet on|off     the HPET timer and its ACPI table (default on)\n"
            "      --net MODE        virtio-net eth0: user (NAT through libslirp; guest\n"
            "                        10.0.2.15 by DHCP, host 10.0.2.2, DNS 10.0.2.3),\n"
            "                        user,restrict=on (no outbound traffic, only forwards),\n"
            "                        user,mtu=N (the link's MTU, 68 to 65521; default\n"
            "                        16384, 1500 is Ethernet's),\n"
            "                        user,tftp=DIR,bootfile=FILE (PXE: TFTP from DIR),\n"
            "                        tap=NAME (a host tap device), switch=NAME[,name=LABEL]\n"
            "                        (a port on cluster NAME's switch: docs/clusters.md)\n"
            "                        or none (the default)\n"
            "      --forward SPEC    forward a host port to the guest (repeatable; implies\n"
            "                        --net user): tcp:HOSTPORT:GUESTPORT, udp:..., or\n"
            "                        tcp:ADDR:HOSTPORT:GUESTPORT; the host side listens on\n"
            "                        127.0.0.1 unless ADDR is given (0.0.0.0: everywhere);\n"
            "                        host port 0 takes any free port (printed at start)\n"
            "      --mac ADDR        the NIC's address (default: 52:54:00 plus a hash of the\n"
            "                        kernel path and command line, stable across boots; a\n"
            "                        named machine gets its own at create)\n"
            "      --share DIR:TAG[,ro][,uid=N][,gid=N]\n"
            "                        share a host directory (repeatable, one per tag): the\n"
            "                        guest mounts it with 'mount -t virtiofs TAG /mnt/TAG'\n"
            "                        (tiny and debian do so themselves); ro refuses writes;\n"
            "                        the hostel user's files appear as uid/gid N (default\n"
            "                        0); --share none drops the shares (docs/shares.md)\n"
            "      --firmware KIND   bios (SeaBIOS, the default when no --kernel is given),\n"
            "                        none (boot --kernel directly) or auto (docs/boot.md)\n"
            "      --cdrom ISO       an ISO image in a CD-ROM drive (virtio-scsi) the\n"
            "                        firmware boots from and installers find ('hostel set\n"
            "                        NAME --cdrom none' ejects it)\n"
            "      --boot ORDER      boot devices in order: disk, cdrom, network, or several\n"
            "                        (cdrom,disk); default disk,cdrom,network\n"
            "      --cloud-init FILE user-data for a cloud-init NoCloud seed hostel makes (a\n"
            "                        small 'cidata' CD): stock cloud images configure\n"
            "                        themselves from it\n"
            "      --ssh-key FILE    a public key for the seed's default user (and root)\n"
            "      --display WHERE   none (the default) or vnc[=ADDR:PORT][,password-file=F]:\n"
            "                        a VGA screen with PS/2 keyboard and mouse, shown over\n"
            "                        VNC (default 127.0.0.1, the first free port from 5900,\n"
            "                        printed at start; beyond loopback only with a\n"
            "                        password; docs/display.md)\n"
            "      --disk-limit N,LIMITS  rate limits for disk N (from 0, as 'hostel info'\n"
            "                        lists them: an appliance's disks too): bps=SIZE,iops=N,\n"
            "                        or none\n"
            "      --net-limit LIMITS  the NIC's rate, each way: bps=SIZE (bytes per second,\n"
            "                        10M is 10 MiB/s) and/or pps=N (packets per second); none\n"
            "                        drops it (docs/security.md)\n"
            "      --cpu-limit CORES host CPU the machine may use: 0.5 is half a core, 2 two\n"
            "                        cores (cgroups; none drops it)\n"
            "      --memory-limit SIZE  a hard cap on the VMM's memory, guest RAM included\n"
            "                        (at least --memory plus 64M; cgroups; none drops it)\n"
            "      --no-sandbox      run the VMM without its seccomp confinement (for\n"
            "                        debugging; also --sandbox on|off); on by default\n"
            "      --jail-user USER  as root, the user the VMM becomes: a name, UID[:GID],\n"
            "                        or off (default: $HOSTEL_JAIL_USER, else hostel/64434)\n"
            "      --no-reboot       exit when the guest reboots instead of restarting it\n"
            "      --watchdog SECS   say where the guest stands when it prints nothing for\n"
            "                        SECS seconds and is not at a prompt (default 120, 0 off)\n");
}

int spec_flags_parse(int argc, char **argv, const struct cmd_flags *cmd,
                     struct machine_spec *layer, struct err *e)
{
    size_t nextra = 0;
    while (cmd && cmd->options && cmd->options[nextra].name)
        nextra++;
    struct option *opts = calloc(NSPEC + nextra + 1, sizeof(*opts));
    char shortopts[64] = "";
    if (!opts)
        return err_set(e, -ENOMEM, "out of memory"), -1;
    for (size_t i = 0; i < NSPEC; i++) {
        opts[i] = (struct option){ spec_flags[i].name, spec_flags[i].has_arg, NULL,
                                   SPEC_FLAG_BASE + (int)i };
        if (spec_flags[i].short_name) {
            size_t n = strlen(shortopts);
            shortopts[n] = spec_flags[i].short_name;
            shortopts[n + 1] = spec_flags[i].has_arg ? ':' : 0;
        }
    }
    for (size_t i = 0; i < nextra; i++)
        opts[NSPEC + i] = cmd->options[i];
    if (cmd && cmd->shortopts)
        strncat(shortopts, cmd->shortopts, sizeof(shortopts) - strlen(shortopts) - 1);

    int c, ret = 0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
        int idx = -1;
        if (c >= SPEC_FLAG_BASE)
            idx = c - SPEC_FLAG_BASE;
        for (size_t i = 0; idx < 0 && i < NSPEC; i++)
            if (spec_flags[i].short_name && spec_flags[i].short_name == c)
                idx = (int)i;
        if (idx >= 0) {
            if (spec_set_option(layer, spec_flags[idx].name, optarg, e) < 0) {
                ret = -1;
                break;
            }
            continue;
        }
        if (c == '?') {
            /* optopt: the option whose value is missing, or an unknown
             * short option; 0 for an unknown long option. */
            const char *bad = argv[optind - 1];
            bool known = optopt >= SPEC_FLAG_BASE;
            for (size_t i = 0; !known && optopt && i < nextra; i++)
                known = cmd->options[i].val == optopt;
            for (size_t i = 0; !known && optopt && i < NSPEC; i++)
                known = spec_flags[i].short_name == optopt;
            if (known)
                err_set(e, -EINVAL, "option '%s' needs a value", bad);
            else if (optopt)
                err_set(e, -EINVAL, "unknown option '-%c'", optopt);
            else
                err_set(e, -EINVAL, "unknown option '%s'", bad);
            ret = -1;
            break;
        }
        if (!cmd || !cmd->handle) {
            err_set(e, -EINVAL, "unknown option '%s'", argv[optind - 1]);
            ret = -1;
            break;
        }
        ret = cmd->handle(cmd->ctx, c, optarg, e);
        if (ret)
            break;
    }
    free(opts);
    opterr = 1;
    return ret;
}
