/* The named-machine commands.  Everything that touches a running machine
 * goes through its control socket; the library files are only read. */
#include "cli/machines.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <jansson.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "cli/client.h"
#include "cli/spawn.h"
#include "cli/cluster_cmd.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/size.h"
#include "net/net.h"
#include "mgmt/daemon.h"
#include "mgmt/appliance.h"
#include "mgmt/library.h"
#include "mgmt/snapshots.h"
#include "cli/spec_flags.h"

void machines_usage(void *stdio_file)
{
    fprintf(stdio_file,
            "machines:\n"
            "  create NAME (--appliance NAME|PATH | --kernel PATH) [--disk-size SIZE]\n"
            "              [every 'hostel run' option: --cpus, --memory, --disk, --net, ...]\n"
            "                           the machine's disk is a qcow2 overlay on the\n"
            "                           appliance's (--disk-size: its size); 'hostel create\n"
            "                           --help' lists the options\n"
            "  start NAME [--console] [--force]\n"
            "                           start detached (returns once it runs; --force: even\n"
            "                           a machine that was migrated away)\n"
            "  ls [--json]              list machines with their state\n"
            "  console NAME             attach the serial console (Ctrl-A d detaches)\n"
            "  console NAME --vnc       print where its screen listens (vnc ADDR:PORT)\n"
            "  stop NAME [--force] [--timeout SECONDS]\n"
            "                           ACPI power button, wait for power-off\n"
            "  pause NAME, resume NAME, restart NAME\n"
            "  info NAME [--json]       config and live state\n"
            "  logs NAME                console output kept on disk\n"
            "  set NAME [any 'hostel run' option] [--no-forwards]\n"
            "                           applies at the next start; a --forward replaces\n"
            "                           the stored one for the same guest port, a --disk\n"
            "                           adds one\n"
            "  ssh NAME [--user U] [-i KEY] [--wait SECONDS] [-- COMMAND...]\n"
            "                           ssh into the guest through its forward to port 22\n"
            "                           (the appliance's \"ssh\" user and key by default)\n"
            "  rm NAME [--force]        delete (refuses while running unless --force)\n");
}

static int need_name(int argc, char **argv, const char *cmd, const char **name)
{
    if (optind >= argc) {
        log_error("'hostel %s' needs a machine name", cmd);
        return -1;
    }
    if (optind + 1 < argc) {
        log_error("unexpected argument '%s' after the machine name", argv[optind + 1]);
        return -1;
    }
    struct err e = ERR_INIT;
    if (machine_name_check(argv[optind], &e) < 0) {
        log_error("%s", e.msg);
        return -1;
    }
    *name = argv[optind];
    return 0;
}

static bool is_live(enum machine_state s)
{
    return s == MACHINE_RUNNING || s == MACHINE_PAUSED || s == MACHINE_STARTING ||
           s == MACHINE_INCOMING;
}

static char *absolute(const char *path)
{
    char buf[PATH_MAX];
    if (!path)
        return NULL;
    if (!realpath(path, buf))
        return NULL;
    return strdup(buf);
}

/* create and set: the machine options every command shares (spec_flags)
 * plus their own. */
struct create_set_opts {
    const char *cmd;
    const char *appliance;       /* create */
    const char *image;           /* create: a disk image the machine's own disk overlays */
    uint64_t disk_size;          /* create: the size of the machine's own disk */
    bool no_forwards;            /* set */
};

static int create_set_flag(void *ctx, int val, const char *arg, struct err *e)
{
    struct create_set_opts *o = ctx;
    switch (val) {
    case 'A':
        if (strcmp(o->cmd, "create"))
            return err_set(e, -EINVAL, "--appliance is chosen at 'hostel create'"), -1;
        o->appliance = arg;
        return 0;
    case 'I':
        if (strcmp(o->cmd, "create"))
            return err_set(e, -EINVAL, "--image is chosen at 'hostel create'"), -1;
        o->image = arg;
        return 0;
    case 'S':
        if (strcmp(o->cmd, "create"))
            return err_set(e, -EINVAL, "--disk-size is chosen at 'hostel create'"), -1;
        if (parse_size(arg, &o->disk_size) < 0 || o->disk_size < (1ULL << 20))
            return err_set(e, -EINVAL, "--disk-size '%s': give a size such as 8G (at least 1M)",
                           arg), -1;
        return 0;
    case 'X':
        o->no_forwards = true;
        return 0;
    case 'h':
        if (!strcmp(o->cmd, "create"))
            printf("usage: hostel create NAME (--appliance NAME|PATH | --image IMG | --kernel PATH\n"
                   "                           | --disk ... | --cdrom ISO) [options]\n"
                   "\n"
                   "Makes a named machine from an appliance or a disk image (its own disk is a\n"
                   "qcow2 overlay on the appliance's first disk or on the image, which stays\n"
                   "untouched), from a kernel, or from disks and an ISO the firmware boots.\n"
                   "Every 'hostel run' option works here and is kept in the machine's folder.\n"
                   "\n"
                   "      --appliance A     a built appliance's name, folder or packed file\n"
                   "      --image IMG       a disk image (raw or qcow2, such as a stock cloud\n"
                   "                        image) booted through the firmware\n"
                   "      --disk-size SIZE  the size of the machine's own disk (the overlay)\n");
        else
            printf("usage: hostel set NAME [options]\n"
                   "\n"
                   "Changes a named machine's stored options; they apply at its next start.\n"
                   "Every 'hostel run' option works here.  --forward replaces the stored\n"
                   "one for the same protocol and guest port; --disk adds a disk.\n"
                   "\n"
                   "      --no-forwards     drop the stored forwards (before any --forward)\n");
        printf("\nmachine options (as for 'hostel run'):\n");
        spec_flags_usage(stdout);
        return 1;
    }
    return err_set(e, -EINVAL, "unknown option"), -1;
}

/* Options, then the machine's name.  0: go on, 1: help was shown, -1: an
 * error was reported. */
static int parse_create_set(int argc, char **argv, struct create_set_opts *o,
                            struct machine_spec *layer, const char **name)
{
    static const struct option own[] = {
        { "appliance", required_argument, NULL, 'A' },
        { "image", required_argument, NULL, 'I' },
        { "disk-size", required_argument, NULL, 'S' },
        { "no-forwards", no_argument, NULL, 'X' },
        { "help", no_argument, NULL, 'h' },
        { 0 }
    };
    const struct cmd_flags flags = { own, "h", create_set_flag, o };
    struct err e = ERR_INIT;
    int r = spec_flags_parse(argc, argv, &flags, layer, &e);
    if (r < 0) {
        log_error("%s (see 'hostel %s --help')", e.msg, o->cmd);
        return -1;
    }
    if (r > 0)
        return 1;
    return need_name(argc, argv, o->cmd, name) < 0 ? -1 : 0;
}

/* What a layer from the command line names on the host becomes absolute:
 * the machine runs from another working directory.  Blank disks become
 * files in the machine's folder: disk.qcow2, then diskN.qcow2 (N: the
 * disk's index).  used[] marks folder names already taken. */
static int absolute_paths(struct machine_spec *l, int first_index, struct err *e)
{
    char **paths[] = { &l->kernel, &l->initrd, &l->cdrom, &l->cloud_init, &l->ssh_key, &l->tftp };
    static const char *const what[] = { "kernel", "initrd", "--cdrom", "--cloud-init", "--ssh-key",
                                        "--net tftp=" };
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        if (!*paths[i])
            continue;
        char *a = absolute(*paths[i]);
        if (!a)
            return err_set(e, -errno, "%s %s: %s", what[i], *paths[i], strerror(errno));
        free(*paths[i]);
        *paths[i] = a;
    }
    for (int i = 0; i < l->ndisks; i++) {
        struct spec_disk *d = &l->disks[i];
        if (d->path) {
            char *a = absolute(d->path);
            if (!a)
                return err_set(e, -errno, "--disk %s: %s", d->path, strerror(errno));
            free(d->path);
            d->path = a;
        } else {
            int n = first_index + i;
            char file[32];
            if (n == 0)
                snprintf(file, sizeof(file), "disk.qcow2");
            else
                snprintf(file, sizeof(file), "disk%d.qcow2", n);
            d->path = strdup(file);
            d->format = BLOCK_FORMAT_QCOW2;   /* d->size stays: made by make_disks */
        }
    }
    return 0;
}

/* Creates the files of a spec's new folder disks: blank qcow2 files for
 * disks with a size, and (index own, when >= 0) the overlay on backing. */
static int make_disks(const char *name, struct machine_spec *s, int own, const char *backing,
                      uint64_t own_size, struct err *e)
{
    for (int i = 0; i < s->ndisks; i++) {
        struct spec_disk *d = &s->disks[i];
        bool blank = d->size && d->path && !strchr(d->path, '/');
        if (i != own && !blank)
            continue;
        char path[4096];
        machine_path(name, d->path, path, sizeof(path));
        struct block_create_opts bo = {
            .format = BLOCK_FORMAT_QCOW2,
            .size = i == own ? own_size : d->size,
            .backing = i == own ? backing : NULL,
        };
        int r = block_create(path, &bo, e);
        if (r < 0)
            return r;
        d->size = 0;   /* made: from now on it is a file */
    }
    return 0;
}

/* A named machine's NIC address: stable and its own (two machines from one
 * appliance on one tap network must not share one). */
static void machine_mac(const char *name, struct machine_spec *s)
{
    if (s->set & SPEC_MAC)
        return;
    net_default_mac("hostel machine", name, s->mac);
    s->set |= SPEC_MAC;
}

static int cmd_create(int argc, char **argv)
{
    struct create_set_opts o = { .cmd = "create" };
    struct machine_spec layer, app_layer;
    struct machine_config mc;
    struct appliance app;
    bool have_app = false, made = false;
    struct err e = ERR_INIT;
    const char *name;
    int own = -1, r;
    char *image = NULL;

    spec_init(&layer);
    spec_init(&app_layer);
    memset(&mc, 0, sizeof(mc));
    spec_defaults(&mc.spec);
    r = parse_create_set(argc, argv, &o, &layer, &name);
    if (r)
        goto out;
    if (!(layer.set & SPEC_KERNEL) && !o.appliance && !o.image && !layer.ndisks && !layer.cdrom) {
        r = err_set(&e, -EINVAL, "'hostel create' needs --appliance NAME, --image IMG, "
                    "--kernel PATH, or a --disk or --cdrom for the firmware to boot");
        goto fail;
    }
    if (!!(layer.set & SPEC_KERNEL) + !!o.appliance + !!o.image > 1) {
        r = err_set(&e, -EINVAL, "give one of --appliance, --image and --kernel");
        goto fail;
    }
    if (o.image && !(image = absolute(o.image))) {
        r = err_set(&e, -errno, "--image %s: %s", o.image, strerror(errno));
        goto fail;
    }
    if (image) {
        /* The machine's own disk overlays the image, which stays as it is
         * (a stock cloud image serves many machines). */
        own = 0;
        mc.spec.disks[0] = (struct spec_disk){ .path = strdup("disk.qcow2"),
                                               .format = BLOCK_FORMAT_QCOW2 };
        mc.spec.ndisks = 1;
    }
    snprintf(mc.name, sizeof(mc.name), "%s", name);
    mc.created = time(NULL);
    machine_new_id(mc.id);
    if (o.appliance) {
        if ((r = appliance_open(o.appliance, &app, &e)) < 0)
            goto fail;
        have_app = true;
        if ((r = appliance_spec(&app, &app_layer, &e)) < 0 ||
            (r = spec_apply(&mc.spec, &app_layer, &e)) < 0)
            goto fail;
        if (mc.spec.ndisks) {
            /* The machine's own disk: a qcow2 overlay on the appliance's
             * first disk (instant, and the base stays shared). */
            own = 0;
            free(mc.spec.disks[0].path);
            mc.spec.disks[0] = (struct spec_disk){ .path = strdup("disk.qcow2"),
                                                   .format = BLOCK_FORMAT_QCOW2 };
        }
    }
    if (o.disk_size && own < 0) {
        r = err_set(&e, -EINVAL, "--disk-size sizes the disk a machine gets from its appliance; "
                    "give a blank disk with --disk size=SIZE");
        goto fail;
    }
    if ((r = absolute_paths(&layer, mc.spec.ndisks, &e)) < 0 ||
        (r = spec_apply(&mc.spec, &layer, &e)) < 0)
        goto fail;
    machine_mac(name, &mc.spec);
    /* A cloud image given a key is reached over SSH: unless the network was
     * chosen, it gets user networking with guest port 22 forwarded (to a
     * free host port, shown by `hostel start` and used by `hostel ssh`). */
    if ((image || mc.spec.ssh_key) && !have_app && mc.spec.net_mode == NET_MODE_DEFAULT &&
        !mc.spec.nforwards && net_user_available()) {
        struct net_forward f;
        if ((r = net_parse_forward("tcp:0:22", &f, &e)) < 0)
            goto fail;
        mc.spec.net_mode = NET_MODE_USER;
        mc.spec.forwards[mc.spec.nforwards++] = f;
        mc.spec.set |= SPEC_NET;
    }
    if ((r = spec_check(&mc.spec, &e)) < 0)
        goto fail;
    if ((r = machine_create(&mc, &e)) < 0)
        goto fail;
    made = true;
    if ((r = make_disks(name, &mc.spec, own, image ? image : own >= 0 ? app.disks[0].path : NULL,
                        o.disk_size, &e)) < 0 || (r = machine_config_save(&mc, &e)) < 0)
        goto fail;
    printf("created %s\n", name);
    goto out;
fail:
    if (made)
        machine_remove(name, NULL);   /* best effort; e says what went wrong */
    log_error("%s", e.msg);
    r = -1;
out:
    free(image);
    if (have_app)
        appliance_free(&app);
    spec_free(&app_layer);
    spec_free(&layer);
    spec_free(&mc.spec);
    return r < 0 ? 1 : 0;
}

/* The forwards a running machine's VMM recorded: a list of {"proto",
 * "host_addr", "host_port", "guest_port"}, or NULL when it has none. */
static json_t *live_forwards(const char *name)
{
    char path[4096];
    if (machine_path(name, MACHINE_FORWARDS_FILE, path, sizeof(path)) < 0)
        return NULL;
    json_t *list = json_load_file(path, 0, NULL);
    if (list && !json_is_array(list)) {
        json_decref(list);
        return NULL;
    }
    return list;
}

static void print_forward_line(FILE *f, json_t *fw)
{
    fprintf(f, "%s %s:%lld -> guest port %lld\n",
            json_string_value(json_object_get(fw, "proto")) ?: "?",
            json_string_value(json_object_get(fw, "host_addr")) ?: "?",
            (long long)json_integer_value(json_object_get(fw, "host_port")),
            (long long)json_integer_value(json_object_get(fw, "guest_port")));
}

static int console_attach(const char *name);

/* The VMM of hostel start, in the detached process cli_spawn_daemon makes. */
struct vmm_start {
    const char *name, *restore;
};

static int run_vmm(void *opaque, int ready_fd)
{
    const struct vmm_start *vs = opaque;
    return machine_daemon_run(vs->name, ready_fd, vs->restore);
}

int machine_start(const char *name, const char *restore)
{
    char why[256];
    enum machine_state st = machine_state_get(name, why, sizeof(why));
    struct machine_config mc;
    struct err e = ERR_INIT;
    if (machine_config_load(name, &mc, &e) < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    machine_config_free(&mc);
    if (is_live(st)) {
        log_error("machine '%s' is already %s", name, machine_state_name(st));
        return 1;
    }
    char log_path[4096];
    machine_path(name, "vmm.log", log_path, sizeof(log_path));
    struct vmm_start vs = { .name = name, .restore = restore };
    char buf[1024];
    ssize_t have = cli_spawn_daemon(log_path, -1, run_vmm, &vs, buf, sizeof(buf));
    if (have < 0)
        return 1;
    if (strcmp(buf, "ok")) {
        log_error("machine '%s' did not start: %s", name,
                  cli_daemon_why(buf, have, "its VMM died (see vmm.log)"));
        return 1;
    }
    /* Where its forwards listen (host port 0 is chosen at start). */
    json_t *fws = live_forwards(name), *fw;
    size_t i;
    json_array_foreach(fws, i, fw) {
        fprintf(stderr, "hostel: forward ");
        print_forward_line(stderr, fw);
    }
    json_decref(fws);
    return 0;
}

static int cmd_start(int argc, char **argv)
{
    static const struct option opts[] = { { "console", no_argument, NULL, 'c' },
                                          { "force", no_argument, NULL, 'f' },
                                          { "help", no_argument, NULL, 'h' }, { 0 } };
    bool console = false, force = false;
    int c;
    const char *name;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ch", opts, NULL)) != -1) {
        if (c == 'c')
            console = true;
        else if (c == 'f')
            force = true;
        else if (c == 'h') {
            machines_usage(stdout);
            return 0;
        } else
            return 1;
    }
    if (need_name(argc, argv, "start", &name) < 0)
        return 1;
    char why[256];
    if (!force && machine_state_get(name, why, sizeof(why)) == MACHINE_MIGRATED) {
        /* Its guest runs elsewhere, maybe on these very disks (shared). */
        log_error("machine '%s' was migrated %s: it runs there, and its disks here are as they were "
                  "then (or are that machine's own, when shared).  'hostel start --force %s' "
                  "boots it here anyway", name, why[0] ? why : "away", name);
        return 1;
    }
    int r = machine_start(name, NULL);
    if (r)
        return r;
    printf("started %s\n", name);
    fflush(stdout);
    return console ? console_attach(name) : 0;
}

static void format_uptime(long long s, char *buf, size_t len)
{
    if (s < 60)
        snprintf(buf, len, "%llds", s);
    else if (s < 3600)
        snprintf(buf, len, "%lldm%02llds", s / 60, s % 60);
    else
        snprintf(buf, len, "%lldh%02lldm", s / 3600, (s % 3600) / 60);
}

/* Live details from the VMM when it runs; the config otherwise. */
static json_t *machine_json(const char *name)
{
    struct machine_config mc;
    char why[256];
    if (machine_config_load(name, &mc, NULL) < 0) {
        /* A receiver waiting for its machine has no config yet. */
        if (machine_state_get(name, why, sizeof(why)) != MACHINE_INCOMING)
            return NULL;
        json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:I}", "name", name, "state", "incoming",
                              "engine", "-", "cpus", 0, "memory", (json_int_t)0);
        if (why[0])
            json_object_set_new(o, "reason", json_string(why));
        return o;
    }
    const struct machine_spec *sp = &mc.spec;
    enum machine_state st = machine_state_get(name, why, sizeof(why));
    json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:I}", "name", name, "state",
                          machine_state_name(st), "engine", sp->engine ? sp->engine : "auto",
                          "cpus", sp->cpus, "memory", (json_int_t)sp->memory);
    if (sp->kernel && *sp->kernel)
        json_object_set_new(o, "kernel", json_string(sp->kernel));
    if (sp->initrd)
        json_object_set_new(o, "initrd", json_string(sp->initrd));
    if (sp->appliance)
        json_object_set_new(o, "appliance", json_string(sp->appliance));
    if (sp->cmdline)
        json_object_set_new(o, "cmdline", json_string(sp->cmdline));
    if (sp->ndisks) {
        json_t *disks = json_array();
        for (int i = 0; i < sp->ndisks; i++) {
            char d[4200];
            spec_format_disk(&sp->disks[i], d, sizeof(d));
            json_array_append_new(disks, json_string(d));
        }
        json_object_set_new(o, "disks", disks);
    }
    if (sp->net_mode != NET_MODE_DEFAULT) {
        char n[64];
        spec_format_net(sp, n, sizeof(n));
        json_object_set_new(o, "net", json_string(n));
    }
    json_t *spec = spec_to_json(sp);
    if (json_object_get(spec, "forwards"))
        json_object_set(o, "forward_specs", json_object_get(spec, "forwards"));
    /* The whole spec as the folder keeps it (docs/machines.md). */
    json_object_set_new(o, "spec", spec);
    if (why[0])
        json_object_set_new(o, "reason", json_string(why));
    if (is_live(st)) {
        json_t *live = client_request(name, "status", NULL);   /* not running: config only */
        if (live && json_is_true(json_object_get(live, "ok"))) {
            json_object_set(o, "state", json_object_get(live, "state"));
            json_object_set(o, "uptime", json_object_get(live, "uptime"));
            json_object_set(o, "pid", json_object_get(live, "pid"));
            /* The engine running it; the config only says what it asked for. */
            if (json_is_string(json_object_get(live, "engine"))) {
                json_object_set(o, "engine", json_object_get(live, "engine"));
                json_object_set_new(o, "engine_requested",
                                    json_string(sp->engine ? sp->engine : "auto"));
            }
            if (json_is_string(json_object_get(live, "engine_why")))
                json_object_set(o, "engine_why", json_object_get(live, "engine_why"));
            if (json_is_object(json_object_get(live, "isolation")))
                json_object_set(o, "isolation", json_object_get(live, "isolation"));
            /* A migration, this side's view (docs/migration.md). */
            json_t *mig = json_object_get(live, "migration");
            if (json_is_object(mig)) {
                json_object_set(o, "migration", mig);
                const char *ph = json_string_value(json_object_get(mig, "phase"));
                const char *side = json_string_value(json_object_get(mig, "side"));
                if (ph && side && !strcmp(side, "sender") && strcmp(ph, "completed") &&
                    strcmp(ph, "failed"))
                    json_object_set_new(o, "state", json_string("migrating"));
            }
        }
        json_decref(live);
        json_t *fw = live_forwards(name);
        if (fw)
            json_object_set_new(o, "forwards", fw);
    }
    cluster_info_json(name, sp, o);   /* its cluster, address and link counters */
    machine_config_free(&mc);
    return o;
}

static int cmd_ls(int argc, char **argv)
{
    bool as_json = argc > 1 && !strcmp(argv[1], "--json");
    char **names;
    int n;
    if (argc > 1 && !as_json) {
        log_error("'hostel ls' takes only --json");
        return 1;
    }
    int r = machine_list(&names, &n);
    if (r < 0) {
        log_error("cannot list machines: %s", strerror(-r));
        return 1;
    }
    json_t *all = json_array();
    for (int i = 0; i < n; i++) {
        json_t *o = machine_json(names[i]);
        if (o)
            json_array_append_new(all, o);
        free(names[i]);
    }
    free(names);
    if (as_json) {
        char *t = json_dumps(all, JSON_INDENT(2));
        printf("%s\n", t);
        free(t);
    } else {
        printf("%-20s %-9s %-6s %4s %8s %8s\n", "NAME", "STATE", "ENGINE", "CPUS", "MEMORY",
               "UPTIME");
        size_t i;
        json_t *o;
        json_array_foreach(all, i, o) {
            char mem[32], up[32] = "-";
            format_size((uint64_t)json_integer_value(json_object_get(o, "memory")), mem,
                        sizeof(mem));
            if (json_object_get(o, "uptime"))
                format_uptime(json_integer_value(json_object_get(o, "uptime")), up, sizeof(up));
            printf("%-20s %-9s %-6s %4d %8s %8s\n",
                   json_string_value(json_object_get(o, "name")),
                   json_string_value(json_object_get(o, "state")),
                   json_string_value(json_object_get(o, "engine")),
                   (int)json_integer_value(json_object_get(o, "cpus")), mem, up);
        }
    }
    json_decref(all);
    return 0;
}

/* The sandbox and the limits: as the running VMM reports them (enforced or
 * why not), else as the spec asks (docs/security.md). */
static void print_isolation(json_t *o)
{
    json_t *spec = json_object_get(o, "spec"), *live = json_object_get(o, "isolation");
    const char *sandbox = json_string_value(json_object_get(live, "sandbox"));
    const char *cpu = json_string_value(json_object_get(live, "cpu_limit"));
    const char *mem = json_string_value(json_object_get(live, "memory_limit"));
    json_t *want_sandbox = json_object_get(spec, "sandbox");
    const char *want_cpu = json_string_value(json_object_get(spec, "cpu_limit"));
    const char *want_mem = json_string_value(json_object_get(spec, "memory_limit"));
    const char *net = json_string_value(json_object_get(spec, "net_limit"));
    if (sandbox)
        printf("%-8s %s\n", "sandbox", sandbox);
    else
        printf("%-8s %s (when it runs)\n", "sandbox",
               want_sandbox && json_is_false(want_sandbox) ? "off (--no-sandbox)" : "on");
    const char *jail = json_string_value(json_object_get(live, "jail"));
    const char *jail_user = json_string_value(json_object_get(spec, "jail_user"));
    if (jail)
        printf("%-8s %s\n", "jail", jail);
    else if (jail_user && !strcmp(jail_user, "off"))
        printf("%-8s off (--jail-user off; when it runs as root)\n", "jail");
    else if (jail_user)
        printf("%-8s user %s (when it runs as root)\n", "jail", jail_user);
    if (cpu)
        printf("%-8s %s\n", "cpu-limit", cpu);
    else if (want_cpu && strcmp(want_cpu, "none"))
        printf("%-8s %s (when it runs)\n", "cpu-limit", want_cpu);
    if (mem)
        printf("%-8s %s\n", "mem-limit", mem);
    else if (want_mem && strcmp(want_mem, "none"))
        printf("%-8s %s (when it runs)\n", "mem-limit", want_mem);
    if (net && strcmp(net, "none"))
        printf("%-8s %s each way\n", "net-limit", net);
}

static int cmd_info(int argc, char **argv)
{
    bool as_json = false;
    const char *name;
    optind = 1;
    if (argc > 1 && !strcmp(argv[1], "--json")) {
        as_json = true;
        optind = 2;
    } else if (argc > 2 && !strcmp(argv[2], "--json")) {
        as_json = true;
        argc = 2;
    }
    if (need_name(argc, argv, "info", &name) < 0)
        return 1;
    json_t *o = machine_json(name);
    if (!o) {
        log_error("no machine named '%s' (see 'hostel ls')", name);
        return 1;
    }
    if (as_json) {
        char *t = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
        printf("%s\n", t);
        free(t);
    } else {
        const char *key;
        json_t *v;
        json_object_foreach(o, key, v) {
            if (!strcmp(key, "engine_requested") || !strcmp(key, "engine_why"))
                continue;   /* folded into the engine line */
            if (!strcmp(key, "engine") && json_object_get(o, "engine_why"))
                printf("%-8s %s (asked for %s: %s)\n", key, json_string_value(v),
                       json_string_value(json_object_get(o, "engine_requested")),
                       json_string_value(json_object_get(o, "engine_why")));
            else if (json_is_string(v))
                printf("%-8s %s\n", key, json_string_value(v));
            else if (!strcmp(key, "memory")) {
                char mem[32];
                format_size((uint64_t)json_integer_value(v), mem, sizeof(mem));
                printf("%-8s %s\n", key, mem);
            } else if (json_is_integer(v))
                printf("%-8s %lld\n", key, (long long)json_integer_value(v));
        }
        if (!json_object_get(o, "cpu")) {   /* the CPU model (docs/cpuid.md) */
            const char *model = json_string_value(json_object_get(json_object_get(o, "spec"), "cpu"));
            printf("%-8s %s\n", "cpu", model ? model : "host");
        }
        size_t i;
        json_t *fw, *disk;
        json_array_foreach(json_object_get(o, "disks"), i, disk)
            printf("%-8s %s\n", "disk", json_string_value(disk));
        json_t *share;
        json_array_foreach(json_object_get(json_object_get(o, "spec"), "shares"), i, share) {
            const char *tag = json_string_value(json_object_get(share, "tag"));
            printf("%-8s %s:%s%s\n", "share", json_string_value(json_object_get(share, "dir")),
                   tag ? tag : "", json_is_true(json_object_get(share, "readonly")) ? ",ro" : "");
        }
        print_isolation(o);
        json_array_foreach(json_object_get(o, "forwards"), i, fw) {
            printf("%-8s ", "forward");
            print_forward_line(stdout, fw);
        }
        if (!json_object_get(o, "forwards"))
            json_array_foreach(json_object_get(o, "forward_specs"), i, fw)
                printf("%-8s %s (when it runs)\n", "forward", json_string_value(fw));
    }
    json_decref(o);
    return 0;
}

static int simple_op(const char *name, const char *op)
{
    struct machine_config mc;
    struct err le = ERR_INIT;
    if (machine_config_load(name, &mc, &le) < 0) {
        log_error("%s", le.msg);
        return 1;
    }
    machine_config_free(&mc);
    json_t *reply = client_request(name, op, &le);
    if (!reply) {
        log_error("%s", le.msg);
        return 1;
    }
    int ok = json_is_true(json_object_get(reply, "ok"));
    if (!ok)
        log_error("%s: %s", name, json_string_value(json_object_get(reply, "error")));
    json_decref(reply);
    return ok ? 0 : 1;
}

static int cmd_simple(int argc, char **argv, const char *op, const char *done)
{
    const char *name;
    optind = 1;
    if (need_name(argc, argv, argv[0], &name) < 0)
        return 1;
    int r = simple_op(name, op);
    if (!r && done)
        printf("%s %s\n", done, name);
    return r;
}

/* Waits until nobody holds the machine's lock. */
static bool wait_stopped(const char *name, int timeout_s)
{
    for (int i = 0; i < timeout_s * 20; i++) {
        if (!machine_lock_held(name))
            return true;
        usleep(50000);
    }
    return !machine_lock_held(name);
}

int machine_kill_wait(const char *name, int timeout_s)
{
    if (!machine_lock_held(name))
        return 0;
    struct err e = ERR_INIT;
    json_t *reply = client_request(name, "kill", &e);
    json_decref(reply);
    return wait_stopped(name, timeout_s) ? 0 : -ETIMEDOUT;
}

static int stop_machine(const char *name, bool force, int timeout)
{
    char why[256];
    enum machine_state st = machine_state_get(name, why, sizeof(why));
    if (!is_live(st)) {
        log_error("machine '%s' is not running (%s)", name, machine_state_name(st));
        return 1;
    }
    if (simple_op(name, "stop") == 0 && wait_stopped(name, timeout))
        return 0;
    if (!force) {
        log_error("machine '%s' did not power off within %d s (use --force to kill it)", name,
                  timeout);
        return 1;
    }
    log_warn("machine '%s' did not power off: stopping it by force", name);
    simple_op(name, "kill");
    if (wait_stopped(name, 10))
        return 0;
    log_error("machine '%s' could not be stopped", name);
    return 1;
}

static int cmd_stop(int argc, char **argv)
{
    static const struct option opts[] = { { "force", no_argument, NULL, 'f' },
                                          { "timeout", required_argument, NULL, 't' },
                                          { 0 } };
    bool force = false;
    int timeout = 60, c;
    const char *name;
    optind = 1;
    while ((c = getopt_long(argc, argv, "ft:", opts, NULL)) != -1) {
        if (c == 'f')
            force = true;
        else if (c == 't')
            timeout = atoi(optarg) > 0 ? atoi(optarg) : 60;
        else
            return 1;
    }
    if (need_name(argc, argv, "stop", &name) < 0)
        return 1;
    int r = stop_machine(name, force, timeout);
    if (!r)
        printf("stopped %s\n", name);
    return r;
}

static int cmd_restart(int argc, char **argv)
{
    const char *name;
    optind = 1;
    if (need_name(argc, argv, "restart", &name) < 0)
        return 1;
    char why[256];
    if (is_live(machine_state_get(name, why, sizeof(why))) && stop_machine(name, true, 60))
        return 1;
    int r = machine_start(name, NULL);
    if (!r)
        printf("restarted %s\n", name);
    return r;
}

static int cmd_logs(int argc, char **argv)
{
    const char *name;
    optind = 1;
    if (need_name(argc, argv, "logs", &name) < 0)
        return 1;
    char path[4096];
    struct file_buf b;
    struct machine_config mc;

    struct err le = ERR_INIT;
    if (machine_config_load(name, &mc, &le) < 0) {
        log_error("%s", le.msg);
        return 1;
    }
    machine_config_free(&mc);
    const char *files[] = { "console.log.1", "console.log" };
    for (int i = 0; i < 2; i++) {
        machine_path(name, files[i], path, sizeof(path));
        if (file_read_all(path, &b) == 0) {
            fwrite(b.data, 1, b.len, stdout);
            file_buf_free(&b);
        }
    }
    return 0;
}

static int cmd_set(int argc, char **argv)
{
    struct create_set_opts o = { .cmd = "set" };
    struct machine_spec layer;
    struct machine_config mc;
    struct err e = ERR_INIT;
    const char *name;
    bool loaded = false;
    spec_init(&layer);
    int r = parse_create_set(argc, argv, &o, &layer, &name);
    if (r)
        goto out;
    if ((r = machine_config_load(name, &mc, &e)) < 0)
        goto fail;
    loaded = true;
    if (o.no_forwards)
        mc.spec.nforwards = 0;
    if ((r = absolute_paths(&layer, mc.spec.ndisks, &e)) < 0 ||
        (r = spec_apply(&mc.spec, &layer, &e)) < 0)
        goto fail;
    if (mc.spec.nforwards && (mc.spec.net_mode == NET_MODE_NONE ||
                              mc.spec.net_mode == NET_MODE_TAP)) {
        char n[64];
        spec_format_net(&mc.spec, n, sizeof(n));
        r = err_set(&e, -EINVAL, "--forward needs user networking: give --net user too (the "
                    "machine's network is '%s'), or drop the forwards with --no-forwards", n);
        goto fail;
    }
    if ((r = spec_check(&mc.spec, &e)) < 0 || (r = make_disks(name, &mc.spec, -1, NULL, 0, &e)) < 0 ||
        (r = machine_config_save(&mc, &e)) < 0)
        goto fail;
    char why[256];
    if (is_live(machine_state_get(name, why, sizeof(why))))
        printf("updated %s (applies at the next start)\n", name);
    else
        printf("updated %s\n", name);
    goto out;
fail:
    log_error("%s", e.msg);
    r = -1;
out:
    if (loaded)
        machine_config_free(&mc);
    spec_free(&layer);
    return r < 0 ? 1 : 0;
}

static int cmd_rm(int argc, char **argv)
{
    bool force = false;
    const char *name;
    optind = 1;
    if (argc > 1 && (!strcmp(argv[1], "--force") || !strcmp(argv[1], "-f"))) {
        force = true;
        optind = 2;
    }
    if (need_name(argc, argv, "rm", &name) < 0)
        return 1;
    char why[256];
    struct machine_config mc;
    struct err le = ERR_INIT;
    if (machine_config_load(name, &mc, &le) < 0) {
        /* What an interrupted migration left has no config. */
        char sp[4096];
        machine_path(name, "state", sp, sizeof(sp));
        if (access(sp, F_OK) == 0 && machine_lock_held(name) && force &&
            machine_state_get(name, why, sizeof(why)) == MACHINE_INCOMING) {
            /* A receiver still waiting for its machine: it goes first. */
            struct file_buf b;
            int pid = 0;
            if (file_read_all(sp, &b) == 0) {
                sscanf((const char *)b.data, "incoming %d", &pid);
                file_buf_free(&b);
            }
            if (pid > 1)
                kill(pid, SIGTERM);
            for (int i = 0; i < 50 && machine_lock_held(name); i++)
                usleep(100000);
            if (pid > 1 && machine_lock_held(name))
                kill(pid, SIGKILL);
            for (int i = 0; i < 20 && machine_lock_held(name); i++)
                usleep(100000);
        }
        if (access(sp, F_OK) == 0 && !machine_lock_held(name) && machine_remove(name, NULL) == 0) {
            printf("removed %s\n", name);
            return 0;
        }
        log_error("%s", le.msg);
        return 1;
    }
    machine_config_free(&mc);
    if (!force && machine_state_get(name, why, sizeof(why)) == MACHINE_MIGRATED) {
        log_error("machine '%s' was migrated %s: when its disks were shared, the machine that "
                  "runs there uses the disks in this folder.  'hostel rm --force %s' removes "
                  "them anyway", name, why[0] ? why : "away", name);
        return 1;
    }
    char clones[1024];
    if (snapshot_dependants(name, clones, sizeof(clones)) > 0) {
        log_error("machine '%s' has linked clones that use its disk layers: %s (remove them "
                  "first)", name, clones);
        return 1;
    }
    if (is_live(machine_state_get(name, why, sizeof(why)))) {
        if (!force) {
            log_error("machine '%s' is running: stop it first, or use 'hostel rm --force'", name);
            return 1;
        }
        simple_op(name, "kill");
        if (!wait_stopped(name, 10)) {
            log_error("machine '%s' could not be stopped", name);
            return 1;
        }
    }
    if (machine_remove(name, &le) < 0) {
        log_error("%s", le.msg);
        return 1;
    }
    printf("removed %s\n", name);
    return 0;
}

/* ---- console attach ---- */

static struct termios saved_tio;
static bool tio_saved;

static void restore_tty(void)
{
    if (tio_saved)
        tcsetattr(0, TCSANOW, &saved_tio);
}

static int console_attach(const char *name)
{
    int fd;
    struct err e = ERR_INIT;
    if (client_connect(name, &fd) < 0) {
        log_error("machine '%s' is not running", name);
        return 1;
    }
    const char *req = "{\"op\":\"console\"}\n";
    if (write(fd, req, strlen(req)) < 0) {
        log_error("cannot talk to the VMM: %s", strerror(errno));
        close(fd);
        return 1;
    }
    json_t *reply = client_read_reply(fd, &e);
    if (!reply || !json_is_true(json_object_get(reply, "ok"))) {
        log_error("cannot attach to '%s': %s", name,
                  reply ? json_string_value(json_object_get(reply, "error")) : e.msg);
        json_decref(reply);
        close(fd);
        return 1;
    }
    json_decref(reply);
    bool tty = isatty(0);
    if (tty) {
        struct termios t;
        tcgetattr(0, &saved_tio);
        tio_saved = true;
        atexit(restore_tty);
        t = saved_tio;
        cfmakeraw(&t);
        t.c_oflag |= OPOST;
        tcsetattr(0, TCSANOW, &t);
        fprintf(stderr, "attached to %s: Ctrl-A d detaches\r\n", name);
    }
    bool escape = false, stdin_open = true;
    for (;;) {
        /* A closed stdin leaves the set: poll reports POLLHUP on it whatever
         * events asks for, which would spin. */
        struct pollfd p[2] = { { fd, POLLIN, 0 }, { stdin_open ? 0 : -1, POLLIN, 0 } };
        if (poll(p, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break;
        }
        uint8_t buf[1024];
        if (p[0].revents) {
            ssize_t n = read(fd, buf, sizeof(buf));
            if (n <= 0)
                break;   /* the machine stopped */
            if (write(1, buf, (size_t)n) < 0)
                break;
        }
        if (p[1].revents) {
            ssize_t n = read(0, buf, sizeof(buf));
            if (n <= 0) {
                stdin_open = false;
                if (!tty)
                    continue;
                break;
            }
            uint8_t out[2048];
            size_t o = 0;
            for (ssize_t i = 0; i < n; i++) {
                if (escape) {
                    escape = false;
                    if (buf[i] == 'd' || buf[i] == 'D') {
                        restore_tty();
                        fprintf(stderr, "\r\ndetached from %s (it keeps running)\n", name);
                        close(fd);
                        return 0;
                    }
                    if (buf[i] != 0x01)
                        out[o++] = 0x01;
                    out[o++] = buf[i];
                } else if (buf[i] == 0x01) {   /* from a pipe too: scripts detach */
                    escape = true;
                } else {
                    out[o++] = buf[i];
                }
            }
            if (o && write(fd, out, o) < 0)
                break;
        }
    }
    restore_tty();
    close(fd);
    return 0;
}

/* `console --vnc`: where the machine's screen listens, from its daemon. */
static int print_display(const char *name)
{
    char path[4096], why[256];
    enum machine_state st = machine_state_get(name, why, sizeof(why));
    if (!is_live(st)) {
        log_error("machine '%s' is not running: its display listens only while it runs "
                  "('hostel start %s')", name, name);
        return 1;
    }
    struct file_buf b;
    if (machine_path(name, MACHINE_DISPLAY_FILE, path, sizeof(path)) < 0 ||
        file_read_all(path, &b) < 0) {
        log_error("machine '%s' has no display: give it one with 'hostel set %s --display vnc' "
                  "and restart it", name, name);
        return 1;
    }
    fwrite(b.data, 1, b.len, stdout);
    file_buf_free(&b);
    return 0;
}

static int cmd_console(int argc, char **argv)
{
    static const struct option opts[] = { { "vnc", no_argument, NULL, 'V' },
                                          { "help", no_argument, NULL, 'h' }, { 0 } };
    bool vnc = false;
    int c;
    const char *name;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (c == 'V')
            vnc = true;
        else if (c == 'h') {
            machines_usage(stdout);
            return 0;
        } else
            return 1;
    }
    if (need_name(argc, argv, "console", &name) < 0)
        return 1;
    return vnc ? print_display(name) : console_attach(name);
}

/* ---- ssh ---- */

/* ssh refuses a private key that others may read, and appliance files are
 * usually 0644 (a tar extracts them so): such a key is copied into the
 * machine folder with mode 0600, and the copy is used. */
static int private_key_path(const char *name, const char *key, char *out, size_t len)
{
    struct stat st;
    if (stat(key, &st) < 0) {
        log_error("ssh key %s: %s", key, strerror(errno));
        return -1;
    }
    if (S_ISREG(st.st_mode) && !(st.st_mode & 077) && st.st_uid == geteuid()) {
        snprintf(out, len, "%s", key);
        return 0;
    }
    struct file_buf b;
    char tmp[4200];
    int r = file_read_all(key, &b);
    if (r < 0) {
        log_error("ssh key %s: %s", key, strerror(-r));
        return -1;
    }
    machine_path(name, "ssh_key", out, len);
    snprintf(tmp, sizeof(tmp), "%s.tmp%d", out, (int)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    bool ok = fd >= 0 && fchmod(fd, 0600) == 0 && write(fd, b.data, b.len) == (ssize_t)b.len &&
              fsync(fd) == 0;
    int e = errno;
    if (fd >= 0)
        close(fd);
    file_buf_free(&b);
    if (!ok || rename(tmp, out) < 0) {
        e = ok ? errno : e;
        unlink(tmp);
        log_error("cannot copy the ssh key %s to %s (ssh wants it private, mode 0600): %s", key,
                  out, strerror(e));
        return -1;
    }
    return 0;
}

enum probe { PROBE_SSH, PROBE_CLOSED, PROBE_SILENT, PROBE_REFUSED };

/* Connects through the forward and waits up to ms for the server's first
 * words: an SSH server speaks first ("SSH-2.0-..."), so silence or a closed
 * connection tell us, better than ssh would, that nothing serves there. */
static enum probe probe_ssh(const char *addr, int port, int ms)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = { .sin_family = AF_INET, .sin_port = htons((uint16_t)port) };
    inet_pton(AF_INET, addr, &sa.sin_addr);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        if (fd >= 0)
            close(fd);
        return PROBE_REFUSED;
    }
    struct pollfd p = { fd, POLLIN, 0 };
    enum probe res = PROBE_SILENT;
    if (poll(&p, 1, ms) > 0) {
        char buf[256];
        ssize_t n = read(fd, buf, sizeof(buf));
        res = n > 0 ? PROBE_SSH : PROBE_CLOSED;
    }
    close(fd);
    return res;
}

static void ssh_usage(FILE *f)
{
    fprintf(f,
            "usage: hostel ssh NAME [--user USER] [-i KEY] [--wait SECONDS] [-- COMMAND...]\n"
            "\n"
            "Runs ssh into a running machine, through its forward to the guest's SSH port\n"
            "(22, or the appliance's \"ssh\".\"port\"): create the machine with\n"
            "--forward tcp:0:22 unless its appliance forwards the port already.  The user\n"
            "and key are the appliance's \"ssh\" ones (root and no key without them).\n"
            "Host keys are not checked: each machine makes its own.\n"
            "\n"
            "  -l, --user USER       log in as USER\n"
            "  -i, --identity KEY    use this private key\n"
            "  -w, --wait SECONDS    keep trying up to SECONDS for the guest's SSH server to\n"
            "                        answer (it may still be booting); default: one try\n"
            "                        that waits up to 10 s\n"
            "  -h, --help            this text\n"
            "\n"
            "$HOSTEL_SSH names the ssh program (default ssh).\n");
}

static int cmd_ssh(int argc, char **argv)
{
    static const struct option opts[] = {
        { "user", required_argument, NULL, 'l' }, { "identity", required_argument, NULL, 'i' },
        { "wait", required_argument, NULL, 'w' }, { "help", no_argument, NULL, 'h' }, { 0 }
    };
    int nopts = argc;      /* ssh's command starts after "--" */
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--")) {
            nopts = i;
            break;
        }
    }
    const char *user = NULL, *key = NULL, *name;
    int wait_s = 0, c;
    optind = 1;
    while ((c = getopt_long(nopts, argv, "l:i:w:h", opts, NULL)) != -1) {
        switch (c) {
        case 'l': user = optarg; break;
        case 'i': key = optarg; break;
        case 'w': {
            char *end;
            long v = strtol(optarg, &end, 10);
            if (*end || end == optarg || v < 0 || v > 86400) {
                log_error("--wait '%s': give seconds", optarg);
                return 1;
            }
            wait_s = (int)v;
            break;
        }
        case 'h': ssh_usage(stdout); return 0;
        default: ssh_usage(stderr); return 1;
        }
    }
    if (optind + 1 < nopts) {
        log_error("unexpected argument '%s': put the command after '--' (hostel ssh NAME -- "
                  "COMMAND...)", argv[optind + 1]);
        return 1;
    }
    if (need_name(nopts, argv, "ssh", &name) < 0)
        return 1;
    char **command = nopts < argc ? argv + nopts + 1 : NULL;
    int ncommand = nopts < argc ? argc - nopts - 1 : 0;

    struct machine_config mc;
    char why[256];
    struct err le = ERR_INIT;
    if (machine_config_load(name, &mc, &le) < 0) {
        log_error("%s", le.msg);
        return 1;
    }
    enum machine_state st = machine_state_get(name, why, sizeof(why));
    if (!is_live(st)) {
        log_error("machine '%s' is not running (%s): start it with 'hostel start %s'", name,
                  machine_state_name(st), name);
        machine_config_free(&mc);
        return 1;
    }
    /* The appliance says how to log in. */
    int guest_port = 22;
    char app_user[64] = "", app_key[4096] = "";
    if (mc.spec.appliance) {
        struct appliance app;
        if (appliance_open(mc.spec.appliance, &app, &le) < 0) {
            log_warn("the machine's appliance: %s (going on without its ssh settings)", le.msg);
        } else {
            if (app.has_ssh) {
                guest_port = app.ssh_port;
                snprintf(app_user, sizeof(app_user), "%s", app.ssh_user);
                if (app.ssh_key)
                    snprintf(app_key, sizeof(app_key), "%s", app.ssh_key);
            }
            appliance_free(&app);
        }
    }
    machine_config_free(&mc);

    json_t *fws = live_forwards(name), *fw;
    size_t i;
    int port = 0;
    char addr[64] = "127.0.0.1";
    json_array_foreach(fws, i, fw) {
        const char *proto = json_string_value(json_object_get(fw, "proto"));
        const char *a = json_string_value(json_object_get(fw, "host_addr"));
        if (proto && !strcmp(proto, "tcp") &&
            json_integer_value(json_object_get(fw, "guest_port")) == guest_port) {
            port = (int)json_integer_value(json_object_get(fw, "host_port"));
            if (a && strcmp(a, "0.0.0.0"))
                snprintf(addr, sizeof(addr), "%s", a);
            break;
        }
    }
    json_decref(fws);
    if (port <= 0 || port > 65535) {
        log_error("machine '%s' has no forward to its guest port %d: create it with --forward "
                  "tcp:0:%d (or 'hostel set %s --forward tcp:0:%d', then restart it)", name,
                  guest_port, guest_port, name, guest_port);
        return 1;
    }

    /* Is an SSH server there?  Without --wait: one try of up to 10 s. */
    int budget = wait_s ? wait_s : 10;
    time_t deadline = time(NULL) + budget;
    for (;;) {
        int left_ms = (int)(deadline - time(NULL)) * 1000;
        enum probe pr = probe_ssh(addr, port, left_ms < 500 ? 500 : left_ms);
        if (pr == PROBE_SSH)
            break;
        if (wait_s && time(NULL) < deadline) {
            sleep(1);
            continue;
        }
        if (pr == PROBE_REFUSED)
            log_error("cannot connect to %s:%d, the forward to port %d of '%s': is the machine "
                      "still running?", addr, port, guest_port, name);
        else if (pr == PROBE_CLOSED)
            log_error("nothing listens on port %d of '%s' (%s:%d is forwarded there, and the "
                      "guest closed the connection): is an SSH server running in the guest? "
                      "If it is still booting, add --wait SECONDS", guest_port, name, addr, port);
        else
            log_error("no SSH server answered on port %d of '%s' (through %s:%d) within %d s: "
                      "the guest may have no network yet, or no SSH server; --wait SECONDS "
                      "waits longer", guest_port, name, addr, port, budget);
        return 1;
    }

    char key_path[4096] = "";
    if (key)
        snprintf(key_path, sizeof(key_path), "%s", key);
    else if (app_key[0] && private_key_path(name, app_key, key_path, sizeof(key_path)) < 0)
        return 1;
    if (!user)
        user = app_user[0] ? app_user : "root";
    char port_s[16], dest[256];
    snprintf(port_s, sizeof(port_s), "%d", port);
    snprintf(dest, sizeof(dest), "%s@%s", user, addr);
    const char *prog = getenv("HOSTEL_SSH") && *getenv("HOSTEL_SSH") ? getenv("HOSTEL_SSH")
                                                                      : "ssh";
    const char **args = calloc((size_t)ncommand + 24, sizeof(*args));
    int n = 0;
    args[n++] = prog;
    args[n++] = "-p";
    args[n++] = port_s;
    if (key_path[0]) {
        args[n++] = "-i";
        args[n++] = key_path;
        args[n++] = "-o";
        args[n++] = "IdentitiesOnly=yes";
    }
    args[n++] = "-o";
    args[n++] = "StrictHostKeyChecking=no";
    args[n++] = "-o";
    args[n++] = "UserKnownHostsFile=/dev/null";
    args[n++] = "-o";
    args[n++] = "LogLevel=ERROR";
    args[n++] = dest;
    if (ncommand) {
        args[n++] = "--";
        for (int k = 0; k < ncommand; k++)
            args[n++] = command[k];
    }
    args[n] = NULL;
    fflush(stdout);
    execvp(prog, (char *const *)args);
    log_error("cannot run %s: %s%s", prog, strerror(errno),
              errno == ENOENT ? " (install openssh-client)" : "");
    free(args);
    return 1;
}

static int cmd_vmm(int argc, char **argv)
{
    /* Internal: run NAME's VMM in the foreground (what `start` detaches). */
    const char *name;
    optind = 1;
    if (need_name(argc, argv, "vmm", &name) < 0)
        return 1;
    return machine_daemon_run(name, -1, NULL);
}

/* `hostel info --help` and the like: the machine commands' usage, for the
 * commands that do not print their own. */
static bool asks_for_help(int argc, char **argv)
{
    if (!strcmp(argv[0], "ssh") || !strcmp(argv[0], "create") || !strcmp(argv[0], "start"))
        return false;
    for (int i = 1; i < argc && strcmp(argv[i], "--"); i++)
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    return false;
}

bool machines_dispatch(int argc, char **argv, int *status)
{
    static const struct {
        const char *name;
        int (*fn)(int, char **);
    } cmds[] = {
        { "create", cmd_create }, { "start", cmd_start }, { "ls", cmd_ls },
        { "list", cmd_ls }, { "info", cmd_info }, { "stop", cmd_stop },
        { "restart", cmd_restart }, { "logs", cmd_logs }, { "set", cmd_set },
        { "rm", cmd_rm }, { "console", cmd_console }, { "vmm", cmd_vmm },
        { "ssh", cmd_ssh },
    };
    bool known = !strcmp(argv[0], "pause") || !strcmp(argv[0], "resume");
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++)
        known |= !strcmp(argv[0], cmds[i].name);
    if (known && asks_for_help(argc, argv)) {
        machines_usage(stdout);
        *status = 0;
        return true;
    }
    for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
        if (!strcmp(argv[0], cmds[i].name)) {
            *status = cmds[i].fn(argc, argv);
            return true;
        }
    }
    if (!strcmp(argv[0], "pause")) {
        *status = cmd_simple(argc, argv, "pause", "paused");
        return true;
    }
    if (!strcmp(argv[0], "resume")) {
        *status = cmd_simple(argc, argv, "resume", "resumed");
        return true;
    }
    return false;
}
