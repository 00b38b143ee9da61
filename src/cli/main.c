/* The hostel command: argument parsing, subcommands and their help. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/image.h"
#include "cli/machines.h"
#include "lib/log.h"
#include "lib/size.h"
#include "vmm/vm.h"

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
            "\n");
    machines_usage(f);
    fprintf(f, "\n"
            "'hostel COMMAND --help' tells more about a command.\n");
}

static void usage_run(FILE *f)
{
    fprintf(f,
            "usage: hostel run --kernel PATH [options]\n"
            "\n"
            "Boots a kernel in a new machine with its serial console on this terminal.\n"
            "Ctrl-A x quits, Ctrl-A h lists the other console keys.\n"
            "\n"
            "  -k, --kernel PATH     Linux bzImage, ELF64 kernel or Multiboot image\n"
            "  -i, --initrd PATH     initial ramdisk (Linux) or first module (Multiboot)\n"
            "  -a, --cmdline TEXT    kernel command line\n"
            "  -c, --cpus N          virtual CPUs (default 1)\n"
            "  -m, --memory SIZE     guest memory, e.g. 512M, 2G (default 512M)\n"
            "  -e, --engine NAME     auto, kvm or emu (default auto: kvm where it is fast)\n"
            "  -s, --serial WHERE    stdio, file:PATH or none (default stdio)\n"
            "      --no-reboot       exit when the guest reboots instead of restarting it\n"
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

static int cmd_run(int argc, char **argv)
{
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
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { 0 }
    };
    struct vm_config cfg = {
        .cpus = 1,
        .memory = 512ULL << 20,
        .engine = "auto",
        .serial = "stdio",
    };
    int c;

    optind = 1;
    while ((c = getopt_long(argc, argv, "k:i:a:c:m:e:s:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'k': cfg.kernel = optarg; break;
        case 'i': cfg.initrd = optarg; break;
        case 'a': cfg.cmdline = optarg; break;
        case 'c':
            if (parse_int(optarg, &cfg.cpus) < 0 || cfg.cpus < 1 || cfg.cpus > VM_MAX_CPUS) {
                log_error("--cpus '%s': give a number from 1 to %d", optarg, VM_MAX_CPUS);
                return 1;
            }
            break;
        case 'm':
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
        case 'v': log_verbosity++; break;
        case 'h': usage_run(stdout); return 0;
        default:
            usage_run(stderr);
            return 1;
        }
    }
    if (optind < argc) {
        log_error("unexpected argument '%s' (see 'hostel run --help')", argv[optind]);
        return 1;
    }
    if (!cfg.kernel) {
        log_error("no kernel given: use --kernel PATH (see 'hostel run --help')");
        return 1;
    }
    int status;
    if (vm_run(&cfg, &status) < 0)
        return 1;
    return status;
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
    int status;
    if (machines_dispatch(argc - 1, argv + 1, &status))
        return status;
    log_error("unknown command '%s' (see 'hostel --help')", cmd);
    return 1;
}
