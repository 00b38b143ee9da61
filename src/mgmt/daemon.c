/* The detached VMM of a named machine. */
#include "mgmt/daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "block/block.h"
#include "lib/file.h"
#include "lib/log.h"
#include "net/net.h"
#include "mgmt/appliance.h"
#include "host/console_hub.h"
#include "mgmt/control.h"
#include "mgmt/library.h"
#include "machine/vm.h"

struct daemon {
    bool booted;
    const char *name;
    int ready_fd;
    struct control *control;
    struct net_options *net;
    struct net_forward bound[NET_MAX_FORWARDS];   /* what user networking listens on */
};

/* The forwards' real host ports, for `hostel info`, `hostel ssh` and the
 * control socket: [{"proto","host_addr","host_port","guest_port"}, ...]
 * in forwards.json (written atomically) and in "status". */
static void record_forwards(struct daemon *d)
{
    char path[4096];
    if (machine_path(d->name, MACHINE_FORWARDS_FILE, path, sizeof(path)) < 0)
        return;
    if (!d->net || net_effective_mode(d->net) != NET_MODE_USER || !d->net->nforwards) {
        unlink(path);
        control_set_forwards(d->control, NULL);
        return;
    }
    json_t *list = json_array();
    for (int i = 0; i < d->net->nforwards && i < NET_MAX_FORWARDS; i++) {
        const struct net_forward *f = &d->bound[i];
        char a[INET_ADDRSTRLEN];
        struct in_addr in = { f->host_addr };
        if (!f->host_port)
            continue;   /* not set up (cannot happen once booted) */
        inet_ntop(AF_INET, &in, a, sizeof(a));
        json_array_append_new(list, json_pack("{s:s, s:s, s:i, s:i}", "proto",
                                              f->udp ? "udp" : "tcp", "host_addr", a,
                                              "host_port", f->host_port, "guest_port",
                                              f->guest_port));
    }
    char *text = json_dumps(list, JSON_INDENT(2));
    json_decref(list);
    if (!text)
        return;
    size_t len = strlen(text);
    char *withnl = realloc(text, len + 2);
    if (withnl) {
        text = withnl;
        strcpy(text + len, "\n");
        int r = file_write_atomic(path, text, len + 1);
        if (r < 0)
            log_warn("cannot write %s: %s", path, strerror(-r));
    }
    control_set_forwards(d->control, text);
    free(text);
}

/* The machine's network: its --net and --forwards from config.json, then
 * the appliance's (a configured forward replaces the appliance's for the
 * same protocol and guest port). */
static int machine_net(const struct machine_config *mc, const struct appliance *app,
                       struct net_options *net, char *err, size_t errlen)
{
    if (mc->net && net_parse_mode(mc->net, net, err, errlen) < 0)
        return -EINVAL;
    for (int i = 0; i < mc->nforwards; i++) {
        struct net_forward f;
        if (net_parse_forward(mc->forwards[i], &f, err, errlen) < 0)
            return -EINVAL;
        if (net_add_default_forward(net, &f) == -ENOSPC) {
            snprintf(err, errlen, "at most %d forwards", NET_MAX_FORWARDS);
            return -EINVAL;
        }
    }
    if (app && appliance_apply_net(app, net, err, errlen) < 0)
        return -EINVAL;
    if (net->nforwards && net_effective_mode(net) != NET_MODE_USER) {
        snprintf(err, errlen, "forwards need user networking: 'hostel set %s --net user', or "
                 "drop them with --no-forwards", mc->name);
        return -EINVAL;
    }
    return 0;
}

static void write_state(const char *name, const char *fmt, ...)
{
    char path[4096], text[512];
    va_list ap;
    if (machine_path(name, "state", path, sizeof(path)) < 0)
        return;
    va_start(ap, fmt);
    vsnprintf(text, sizeof(text) - 1, fmt, ap);
    va_end(ap);
    strcat(text, "\n");
    file_write_atomic(path, text, strlen(text));
}

static void tell_ready(struct daemon *d, const char *msg)
{
    if (d->ready_fd < 0)
        return;
    if (write(d->ready_fd, msg, strlen(msg)) < 0 || write(d->ready_fd, "\n", 1) < 0) { }
    close(d->ready_fd);
    d->ready_fd = -1;
}

/* A start that fails once the control socket is up: say why to `hostel
 * start`, close what was opened, and leave the machine stopped. */
static int give_up_start(struct daemon *d, struct console_hub *hub, const char *name,
                         const char *what, const char *why)
{
    char msg[8300];
    snprintf(msg, sizeof(msg), "error: %s: %s", what, why);
    tell_ready(d, msg);
    control_stop(d->control);
    console_hub_destroy(hub);
    write_state(name, "stopped");
    return 1;
}

static void on_booted(void *opaque, struct vm *vm)
{
    struct daemon *d = opaque;
    d->booted = true;
    control_set_vm(d->control, vm);
    record_forwards(d);
    write_state(d->name, "running %d", (int)getpid());
    control_event_state(d->control, "running");
    tell_ready(d, "ok");
}

static void on_stopping(void *opaque, struct vm *vm)
{
    struct daemon *d = opaque;
    (void)vm;
    control_set_vm(d->control, NULL);
}

int machine_daemon_run(const char *name, int ready_fd)
{
    struct daemon d = { .name = name, .ready_fd = ready_fd };
    struct machine_config mc;
    char err[8192], path[4096], sock[4096];
    int lock_fd = -1;
    int r;

    signal(SIGPIPE, SIG_IGN);
    r = machine_config_load(name, &mc, err, sizeof(err));
    if (r < 0) {
        char msg[8300];
        snprintf(msg, sizeof(msg), "error: %s", err);
        tell_ready(&d, msg);
        return 1;
    }
    r = machine_lock_acquire(name, &lock_fd);
    if (r < 0) {
        tell_ready(&d, r == -EBUSY ? "error: the machine is already running"
                                   : "error: cannot lock the machine");
        machine_config_free(&mc);
        return 1;
    }
    write_state(name, "starting %d", (int)getpid());

    struct console_hub *hub = NULL;
    machine_path(name, "console.log", path, sizeof(path));
    r = console_hub_create(path, &hub);
    if (r < 0) {
        snprintf(err, sizeof(err), "error: cannot open %s: %s", path, strerror(-r));
        tell_ready(&d, err);
        write_state(name, "stopped");
        return 1;
    }
    /* The engine is chosen here, not inside vm_run, so the control socket can
     * say which one runs the machine ("auto" is a request, not an engine). */
    const struct engine_ops *engine;
    char engine_why[700];
    r = engine_select(mc.engine, &engine, engine_why, sizeof(engine_why));
    if (r < 0) {
        char msg[800];
        snprintf(msg, sizeof(msg), "error: %s", engine_why);
        tell_ready(&d, msg);
        console_hub_destroy(hub);
        write_state(name, "stopped");
        machine_config_free(&mc);
        return 1;
    }
    log_info("engine %s: %s", engine->name, engine_why);
    machine_path(name, "control.sock", sock, sizeof(sock));
    struct control_info info = { .name = name, .engine = engine->name,
                                 .engine_requested = mc.engine, .engine_why = engine_why,
                                 .cpus = mc.cpus, .memory = mc.memory, .hub = hub };
    r = control_start(sock, &info, &d.control, err, sizeof(err));
    if (r < 0) {
        char msg[8300];
        snprintf(msg, sizeof(msg), "error: %s", err);
        tell_ready(&d, msg);
        console_hub_destroy(hub);
        write_state(name, "stopped");
        return 1;
    }

    struct vm_hooks hooks = { .opaque = &d, .booted = on_booted, .stopping = on_stopping };
    struct vm_config cfg = {
        .hooks = &hooks,
        .kernel = mc.kernel,
        .initrd = mc.initrd,
        .cmdline = mc.cmdline,
        .cpus = mc.cpus,
        .memory = mc.memory,
        .engine = engine->name,
        .serial = "hub",
        .console_hub = hub,
    };
    struct appliance app;
    bool have_app = false;
    char disk_path[4096];
    if (mc.appliance) {
        if (appliance_open(mc.appliance, &app, err, sizeof(err)) < 0) {
            machine_config_free(&mc);
            return give_up_start(&d, hub, name, "appliance", err);
        }
        have_app = true;
        appliance_apply(&app, &cfg, true, true);
        if (mc.kernel && *mc.kernel)
            cfg.kernel = mc.kernel;
    }
    static struct net_options net;
    memset(&net, 0, sizeof(net));
    net.bound = d.bound;
    d.net = &net;
    cfg.net = &net;
    if (machine_net(&mc, have_app ? &app : NULL, &net, err, sizeof(err)) < 0) {
        if (have_app)
            appliance_free(&app);
        machine_config_free(&mc);
        return give_up_start(&d, hub, name, "network", err);
    }
    if (mc.disk) {
        /* The machine's own disk replaces the appliance's first one. */
        machine_path(name, mc.disk, disk_path, sizeof(disk_path));
        if (cfg.ndisks == 0)
            cfg.ndisks = 1;
        cfg.disks[0] = (struct vm_disk){ .path = disk_path, .format = BLOCK_FORMAT_QCOW2 };
    }
    int status = 1;
    r = vm_run(&cfg, &status);
    if (d.ready_fd >= 0) {
        /* Never booted: pass on why (also in vmm.log, our stderr). */
        char msg[1100];
        snprintf(msg, sizeof(msg), "error: %s",
                 log_last_error()[0] ? log_last_error() : "the machine did not start (see vmm.log)");
        tell_ready(&d, msg);
    }
    control_event_state(d.control, "stopped");
    control_stop(d.control);
    if (machine_path(name, MACHINE_FORWARDS_FILE, path, sizeof(path)) == 0)
        unlink(path);   /* nothing listens any more */
    if (d.booted && (r < 0 || status == 2))
        write_state(name, "crashed %s", status == 2 ? "triple fault" : "VMM error (see vmm.log)");
    else
        write_state(name, "stopped");
    console_hub_destroy(hub);
    if (have_app)
        appliance_free(&app);
    machine_config_free(&mc);
    close(lock_fd);
    return status;
}
