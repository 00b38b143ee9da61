/* The hostel command: argument parsing, subcommands and their help. */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "board/run.h"
#include "board/spec.h"
#include "cli/appliance_cmd.h"
#include "cli/cluster_cmd.h"
#include "cli/engines_cmd.h"
#include "cli/image.h"
#include "cli/machines.h"
#include "cli/migrate_cmd.h"
#include "cli/run_control.h"
#include "cli/snapshot_cmd.h"
#include "cli/spec_flags.h"
#include "cli/web_cmd.h"
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
            "  snapshot  take, list and remove snapshots of a named machine\n"
            "  restore   bring a named machine back to a snapshot\n"
            "  clone     a linked clone of a named machine\n"
            "  backup    one self-contained file of a named machine (restore-backup)\n"
            "  cluster   machines on a private switch, with faults on demand (up, down,\n"
            "            status, partition, degrade, heal)\n"
            "  migrate   move a running machine to another host, HOSTEL_HOME or engine\n"
            "  receive   wait for a machine migrating here\n"
            "  web       the machines in a web page: state, screens, start/stop\n"
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
            "Ctrl-A x quits, Ctrl-A h lists the other console keys.  The same options\n"
            "make a named machine with 'hostel create'.\n"
            "\n");
    spec_flags_usage(f);
    fprintf(f,
            "      --control SOCKET  a control socket for this machine (docs/api.md): status,\n"
            "                        pause, resume, stop, and save {\"path\": DIR}\n"
            "      --restore DIR     start the machine a \"save\" wrote into DIR, running as it\n"
            "                        was (its disks must be as they were then)\n"
            "  -v, --verbose         say what hostel does (engine choice, exits); -vv for more\n"
            "  -h, --help            this text\n"
            "\n"
            "exit status: 0 when the guest powers off; (v << 1) | 1 when it writes v to\n"
            "the debug-exit port 0xf4; 2 on a triple fault; 1 on other errors.\n");
}

/* For an appliance one logs in to over SSH: once it runs, how to. */
struct ssh_hint {
    const struct appliance *app;
    const struct machine_spec *spec;
    const struct net_forward *bound;
};

static void print_ssh_hint(void *opaque, struct vm *vm)
{
    (void)vm;
    const struct ssh_hint *h = opaque;
    for (int i = 0; i < h->spec->nforwards && i < NET_MAX_FORWARDS; i++) {
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

struct run_opts {
    const char *control, *restore;
};

static int run_flag(void *ctx, int val, const char *arg, struct err *e)
{
    struct run_opts *o = ctx;
    switch (val) {
    case 'C':
        o->control = arg;
        return 0;
    case 'S':
        o->restore = arg;
        return 0;
    case 'v':
        log_verbosity++;
        return 0;
    case 'h':
        usage_run(stdout);
        return 1;
    }
    return err_set(e, -EINVAL, "unknown option"), -1;
}

static int cmd_run(int argc, char **argv)
{
    static const struct option own[] = {
        { "verbose", no_argument, NULL, 'v' },
        { "help", no_argument, NULL, 'h' },
        { "control", required_argument, NULL, 'C' },
        { "restore", required_argument, NULL, 'S' },
        { 0 }
    };
    struct run_opts ro = { 0 };
    const struct cmd_flags flags = { own, "vh", run_flag, &ro };
    struct run_control *control = NULL;
    char restore_state[4200], restore_ram[4200];
    struct machine_spec flags_layer, spec, app_layer;
    struct err e = ERR_INIT;
    struct appliance app;
    bool have_app = false;
    int status = 1;

    spec_init(&flags_layer);
    spec_defaults(&spec);
    spec_init(&app_layer);
    int r = spec_flags_parse(argc, argv, &flags, &flags_layer, &e);
    if (r) {
        if (r < 0)
            log_error("%s (see 'hostel run --help')", e.msg);
        goto out;
    }
    if (optind + 1 < argc) {
        log_error("unexpected argument '%s' (see 'hostel run --help')", argv[optind + 1]);
        r = -1;
        goto out;
    }
    if (ro.restore) {
        if (optind < argc) {
            log_error("--restore starts the saved machine: give no appliance");
            r = -1;
            goto out;
        }
        spec_free(&spec);
        r = run_restore_spec(ro.restore, &flags_layer, &spec, restore_state, restore_ram,
                             sizeof(restore_state), &e);
        if (r < 0) {
            log_error("%s", e.msg);
            goto out;
        }
        goto ready;
    }
    if (optind < argc) {
        if (flags_layer.set & SPEC_KERNEL) {
            log_error("give either an appliance or --kernel, not both");
            r = -1;
            goto out;
        }
        if (appliance_open(argv[optind], &app, &e) < 0) {
            log_error("%s", e.msg);
            r = -1;
            goto out;
        }
        have_app = true;
        if (appliance_spec(&app, &app_layer, &e) < 0 || spec_apply(&spec, &app_layer, &e) < 0) {
            log_error("%s", e.msg);
            r = -1;
            goto out;
        }
        log_info("appliance %s %s from %s", app.name, app.version, app.dir);
    }
    if (spec_apply(&spec, &flags_layer, &e) < 0) {
        log_error("%s", e.msg);
        r = -1;
        goto out;
    }
ready:;
    struct net_forward bound[NET_MAX_FORWARDS];
    memset(bound, 0, sizeof(bound));
    struct ssh_hint hint = { have_app ? &app : NULL, &spec, bound };
    const struct run_hooks hooks = { .opaque = &hint, .booted = print_ssh_hint };
    struct run_host host = { .bound = bound };
    if (have_app && app.has_ssh)
        host.hooks = &hooks;
    struct run_hooks control_hooks = { 0 };
    if (ro.control) {
        if (spec_check(&spec, &e) < 0 ||
            run_control_start(ro.control, &spec, &control_hooks, &control, &e) < 0) {
            log_error("%s", e.msg);
            r = -1;
            goto out;
        }
        host.hooks = &control_hooks;   /* the ssh hint is for appliances run without one */
        /* Its thread starts once the VMM is confined; in the root jail
         * "save" writes beneath the socket's folder. */
        host.save_folder = run_control_save_folder(control);
    }
    if (ro.restore) {
        host.restore_state = restore_state;
        host.restore_ram = restore_ram;
    }
    r = machine_run(&spec, &host, &status, &e);
    if (r < 0)
        log_error("%s", e.msg);
    run_control_stop(control);
out:
    if (have_app)
        appliance_free(&app);
    spec_free(&app_layer);
    spec_free(&flags_layer);
    spec_free(&spec);
    if (r > 0)
        return 0;      /* --help */
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
    if (!strcmp(cmd, "snapshot"))
        return cmd_snapshot(argc - 1, argv + 1);
    if (!strcmp(cmd, "restore"))
        return cmd_restore(argc - 1, argv + 1);
    if (!strcmp(cmd, "clone"))
        return cmd_clone(argc - 1, argv + 1);
    if (!strcmp(cmd, "backup"))
        return cmd_backup(argc - 1, argv + 1);
    if (!strcmp(cmd, "cluster"))
        return cmd_cluster(argc - 1, argv + 1);
    if (!strcmp(cmd, "restore-backup"))
        return cmd_restore_backup(argc - 1, argv + 1);
    if (!strcmp(cmd, "migrate"))
        return cmd_migrate(argc - 1, argv + 1);
    if (!strcmp(cmd, "receive"))
        return cmd_receive(argc - 1, argv + 1);
    if (!strcmp(cmd, "web"))
        return cmd_web(argc - 1, argv + 1);
    int status;
    if (machines_dispatch(argc - 1, argv + 1, &status))
        return status;
    log_error("unknown command '%s' (see 'hostel --help')", cmd);
    return 1;
}
