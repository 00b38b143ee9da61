/* The detached VMM of a named machine. */
#include "mgmt/daemon.h"

#include <arpa/inet.h>
#include <errno.h>
#include <jansson.h>
#include <stdbool.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "block/block_info.h"
#include "lib/file.h"
#include "lib/log.h"
#include "net/net.h"
#include "mgmt/appliance.h"
#include "host/console_hub.h"
#include "mgmt/control.h"
#include "mgmt/library.h"
#include "board/board.h"
#include "board/jail_setup.h"
#include "board/run.h"
#include "board/snapshot.h"
#include "mgmt/snapshots.h"
#include "mgmt/migrate_out.h"
#include "mgmt/receive.h"
#include "machine/vm.h"

struct daemon {
    bool booted;
    const char *name;
    int ready_fd;
    struct control *control;
    struct machine_spec *spec;                    /* resolved: what runs */
    const struct machine_spec *folder_spec;       /* as config.json keeps it */
    struct net_forward bound[NET_MAX_FORWARDS];   /* what user networking listens on */
    int lock_fd;
    /* Live migration, sending (mgmt/migrate_out.h) */
    struct migrate_out *out;
    bool moved;
    /* ... and receiving (mgmt/receive.h) */
    const struct receive_opts *recv;
    struct receive_stage stage;
    struct mig_incoming *in;
    struct machine_config *mc;
    struct control_info cinfo;                    /* started at the commit, same folder */
    char sock[4096];
    struct run_isolation isolation;               /* filled in by machine_run */
};

/* The forwards' real host ports, for `hostel info`, `hostel ssh` and the
 * control socket: [{"proto","host_addr","host_port","guest_port"}, ...]
 * in forwards.json (written atomically) and in "status". */
static void record_forwards(struct daemon *d)
{
    char path[4096];
    if (machine_path(d->name, MACHINE_FORWARDS_FILE, path, sizeof(path)) < 0)
        return;
    struct net_options net;
    if (d->spec)
        spec_net_options(d->spec, &net);
    if (!d->spec || net_effective_mode(&net) != NET_MODE_USER || !net.nforwards) {
        unlink(path);
        control_set_forwards(d->control, NULL);
        return;
    }
    json_t *list = json_array();
    for (int i = 0; i < net.nforwards && i < NET_MAX_FORWARDS; i++) {
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

/* ---- snapshots of the running machine --------------------------------------- */

static json_t *fail_reply(struct err *e)
{
    return json_pack("{s:b, s:s}", "ok", 0, "error", e->msg);
}

/* Writes the spec as config.json keeps it beside a snapshot, so a restore
 * gives the machine back the settings it had. */
static int save_folder_spec(const char *path, const struct machine_spec *s, struct err *e)
{
    json_t *o = spec_to_json(s);
    char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL, *line = NULL;
    json_decref(o);
    if (!text || asprintf(&line, "%s\n", text) < 0) {
        free(text);
        return err_set(e, -ENOMEM, "out of memory");
    }
    free(text);
    int r = file_write_atomic(path, line, strlen(line));
    free(line);
    return r < 0 ? err_set(e, r, "cannot write %s: %s", path, strerror(-r)) : 0;
}

/* "snapshot" {"name"}: pause, flush, freeze the machine's own disks onto new
 * overlays (the VMM moves onto them), save CPUs, devices and RAM, resume. */
static json_t *take_snapshot(struct daemon *d, struct vm *vm, const char *snap)
{
    struct err e = ERR_INIT;
    struct snapshot_info info;
    char dir[4096], path[4096];
    memset(&info, 0, sizeof(info));
    if (snapshot_name_check(snap, &e) < 0)
        return fail_reply(&e);
    snprintf(info.name, sizeof(info.name), "%s", snap);
    snapshot_read_head(d->name, info.parent, sizeof(info.parent));
    info.created = (long long)time(NULL);
    snprintf(info.id, sizeof(info.id), "%llx%04x", (unsigned long long)info.created,
             (unsigned)(getpid() ^ (unsigned)clock()) & 0xffff);
    snapshot_path(d->name, NULL, NULL, dir, sizeof(dir));
    mkdir(dir, 0755);
    snapshot_path(d->name, snap, NULL, dir, sizeof(dir));
    if (mkdir(dir, 0755) < 0) {
        err_set(&e, -errno, errno == EEXIST ? "machine '%s' already has a snapshot named '%s'"
                : "cannot create the snapshot's folder", d->name, snap);
        return fail_reply(&e);
    }
    bool was_paused = vm_paused(vm);
    int r = vm_pause(vm);
    if (r < 0) {
        err_set(&e, r, "the machine is stopping");
        goto fail;
    }
    if ((r = board_flush_disks(vm, &e)) < 0 ||
        (r = snapshot_freeze_disks(d->name, d->folder_spec, &info, &e)) < 0)
        goto fail_resume;
    for (int i = 0; i < d->spec->ndisks; i++) {
        if (!info.layers[i][0])
            continue;
        r = board_swap_disk(vm, i, d->spec->disks[i].path, BLOCK_FORMAT_QCOW2, &e);
        if (r < 0) {
            /* The VMM is still on the frozen file: nothing can be frozen. */
            snapshot_unfreeze_disks(d->name, d->folder_spec, &info);
            goto fail_resume;
        }
    }
    struct snapshot_sizes sizes = { 0 };
    char state[4200], ram[4200];
    snapshot_path(d->name, snap, "state.bin", state, sizeof(state));
    snapshot_path(d->name, snap, "ram.bin", ram, sizeof(ram));
    r = machine_snapshot_save(vm, d->spec, state, ram, &sizes, &e);
    if (r == 0) {
        info.has_state = true;
        info.state_bytes = sizes.state_bytes;
        info.ram_bytes = sizes.ram_bytes;
        snapshot_path(d->name, snap, "spec.json", path, sizeof(path));
        r = save_folder_spec(path, d->folder_spec, &e);
    }
    if (r == 0)
        r = snapshot_info_save(d->name, &info, &e);
    if (!was_paused)
        vm_resume(vm);
    if (r < 0) {
        /* The disks stay frozen (the machine runs on the new overlays); a
         * record without state would lie, so none is left.  Its layer is
         * collected by the next snapshot rm or restore, in the CLI (a
         * jailed VMM sees no other machine that might need a layer). */
        file_remove_tree(dir);
        return fail_reply(&e);
    }
    snapshot_write_head(d->name, snap);
    log_info("snapshot %s: %llu bytes of state, %llu of RAM", snap,
             (unsigned long long)info.state_bytes, (unsigned long long)info.ram_bytes);
    return json_pack("{s:b, s:s, s:I, s:I}", "ok", 1, "name", snap,
                     "state_bytes", (json_int_t)info.state_bytes,
                     "ram_bytes", (json_int_t)info.ram_bytes);
fail_resume:
    if (!was_paused)
        vm_resume(vm);
fail:
    file_remove_tree(dir);
    return fail_reply(&e);
}

/* Whether a snapshot's spec is the machine this VMM runs: then it can be
 * restored in place.  (Another shape needs a new VMM: the CLI does that.) */
static bool same_machine(const struct machine_spec *a, const struct machine_spec *b)
{
    if (a->cpus != b->cpus || a->memory != b->memory || a->ndisks != b->ndisks ||
        a->rng != b->rng || a->virtio_console != b->virtio_console ||
        a->net_mode != b->net_mode || a->net_restrict != b->net_restrict ||
        a->net_mtu != b->net_mtu ||
        a->nforwards != b->nforwards || memcmp(a->mac, b->mac, 6) || a->nshares != b->nshares)
        return false;
    for (int i = 0; i < a->ndisks; i++)
        if (!a->disks[i].path != !b->disks[i].path ||
            (a->disks[i].path && strcmp(a->disks[i].path, b->disks[i].path)))
            return false;
    for (int i = 0; i < a->nforwards; i++)
        if (memcmp(&a->forwards[i], &b->forwards[i], sizeof(a->forwards[i])))
            return false;
    return true;
}

/* "restore" {"name"}: back to a snapshot in this VMM, without a restart:
 * checked, paused, disks onto new overlays on the snapshot's layers, RAM
 * and every model loaded, resumed.  Connections through user networking
 * forwards stay open.  {"ok": false, "cold": true} when the snapshot needs
 * another VMM (its machine has another shape); nothing changed then. */
static json_t *restore_live(struct daemon *d, struct vm *vm, const char *snap)
{
    struct err e = ERR_INIT;
    struct snapshot_info info;
    struct machine_spec then;
    struct snapshot_file sf;
    char path[4200], state[4200], ram[4200];
    spec_init(&then);
    if (snapshot_info_load(d->name, snap, &info, &e) < 0)
        return fail_reply(&e);
    snapshot_path(d->name, snap, "spec.json", path, sizeof(path));
    json_error_t je;
    json_t *sj = json_load_file(path, 0, &je);
    int r = sj ? spec_from_json(sj, &then, &e) : err_set(&e, -EINVAL, "%s: %s", path, je.text);
    json_decref(sj);
    if (r < 0)
        return fail_reply(&e);
    if (!info.has_state || !same_machine(&then, d->folder_spec)) {
        spec_free(&then);
        return json_pack("{s:b, s:b, s:s}", "ok", 0, "cold", 1, "error",
                         info.has_state ? "the machine's settings changed since the snapshot"
                                        : "the snapshot holds no running state");
    }
    spec_free(&then);
    snapshot_path(d->name, snap, "state.bin", state, sizeof(state));
    snapshot_path(d->name, snap, "ram.bin", ram, sizeof(ram));
    if ((r = machine_snapshot_open(state, ram, d->spec, &sf, &e)) < 0)
        return fail_reply(&e);
    int fd = open(ram, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        err_set(&e, -errno, "cannot open %s: %s", ram, strerror(errno));
        snap_free(&sf);
        return fail_reply(&e);
    }
    bool was_paused = vm_paused(vm);
    if ((r = vm_pause(vm)) < 0) {
        err_set(&e, r, "the machine is stopping");
        goto out;
    }
    /* From here a failure leaves a machine half restored: it is stopped. */
    if ((r = board_flush_disks(vm, &e)) < 0 ||
        (r = snapshot_restore_disks(d->name, d->folder_spec, &info, &e)) < 0) {
        if (!was_paused)
            vm_resume(vm);
        goto out;   /* nothing of the machine changed yet */
    }
    for (int i = 0; r == 0 && i < d->spec->ndisks; i++)
        if (info.layers[i][0])
            r = board_swap_disk(vm, i, d->spec->disks[i].path, BLOCK_FORMAT_QCOW2, &e);
    if (r == 0)
        r = machine_snapshot_restore_live(vm, &sf, fd, &e);
    if (r < 0) {
        log_error("restore of %s failed half way: %s; stopping the machine", snap, e.msg);
        vm_request_stop(vm, VM_STOP_ERROR, r);
        err_wrap(&e, "the restore failed half way and the machine was stopped");
        goto out;
    }
    snapshot_write_head(d->name, snap);
    if (!was_paused)
        vm_resume(vm);
    log_info("restored snapshot %s in place", snap);
out:
    close(fd);
    snap_free(&sf);
    if (r < 0)
        return fail_reply(&e);
    return json_pack("{s:b, s:s}", "ok", 1, "name", snap);
}

/* "compact" {"disk", "layer"}: the client found disk's active overlay
 * standing on a layer nothing else needs (its snapshot removed): paused,
 * the overlay merges into that layer, which takes its place.  Checked
 * again here, paused: a snapshot taken meanwhile refuses it. */
static json_t *compact_disk(struct daemon *d, struct vm *vm, json_t *req)
{
    struct err e = ERR_INIT;
    json_t *jd = json_object_get(req, "disk");
    const char *layer = json_string_value(json_object_get(req, "layer"));
    int i = json_is_integer(jd) ? (int)json_integer_value(jd) : -1;
    if (i < 0 || i >= d->spec->ndisks || !layer || !board_disk(vm, i))
        return json_pack("{s:b, s:s}", "ok", 0, "error", "compact needs a \"disk\" of the "
                         "machine and a \"layer\"");
    bool was_paused = vm_paused(vm);
    int r = vm_pause(vm);
    if (r < 0) {
        err_set(&e, r, "the machine is stopping");
        return fail_reply(&e);
    }
    struct blockdev *merged = NULL;
    if ((r = board_flush_disks(vm, &e)) == 0 &&
        (r = snapshot_merge_layer(d->name, d->folder_spec, i, board_disk(vm, i), layer, &merged,
                                  &e)) == 0)
        board_replace_disk(vm, i, merged);
    if (!was_paused)
        vm_resume(vm);
    if (r < 0)
        return fail_reply(&e);
    log_info("disk %d merged into %s, which took its place", i, layer);
    return json_pack("{s:b}", "ok", 1);
}

static json_t *on_snapshot(void *opaque, struct vm *vm, const char *op, json_t *req)
{
    struct daemon *d = opaque;
    const char *name = json_string_value(json_object_get(req, "name"));
    if (!strcmp(op, "compact"))
        return compact_disk(d, vm, req);
    if (!strcmp(op, "restore")) {
        if (!name)
            return json_pack("{s:b, s:s}", "ok", 0, "error", "restore needs a \"name\"");
        return restore_live(d, vm, name);
    }
    if (!strcmp(op, "snapshot")) {
        if (!name)
            return json_pack("{s:b, s:s}", "ok", 0, "error", "snapshot needs a \"name\"");
        return take_snapshot(d, vm, name);
    }
    return json_pack("{s:b, s:s}", "ok", 0, "error",
                     "\"save\" is for machines run with hostel run; a named machine takes "
                     "\"snapshot\"");
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

static void stop_forwards_record(struct daemon *d)
{
    char path[4096];
    if (machine_path(d->name, MACHINE_FORWARDS_FILE, path, sizeof(path)) == 0)
        unlink(path);
    control_set_forwards(d->control, NULL);
}

/* ---- live migration, sending ------------------------------------------------------- */

static json_t *on_migrate(void *opaque, struct vm *vm, const char *op, json_t *req)
{
    struct daemon *d = opaque;
    return migrate_out_request(d->out, vm, op, req);
}

static json_t *on_migration_status(void *opaque)
{
    struct daemon *d = opaque;
    if (d->in && d->in->prog.phase) {
        json_t *o = migrate_progress_json(&d->in->prog, "receiver");
        json_object_del(o, "event");
        return o;
    }
    return migrate_out_status(d->out);
}

/* At the commit: the forwards' ports go (the receiver on this host takes
 * them), and the machine's lock when the receiver is this folder's VMM. */
static void on_release(void *opaque, struct vm *vm, bool same_folder)
{
    struct daemon *d = opaque;
    net_backend_release_forwards(board_net_backend(vm));
    stop_forwards_record(d);
    if (same_folder && d->lock_fd >= 0) {
        close(d->lock_fd);
        d->lock_fd = -1;
    }
}

static int on_reclaim(void *opaque, struct vm *vm, bool same_folder)
{
    struct daemon *d = opaque;
    if (same_folder && d->lock_fd < 0 && machine_lock_acquire(d->name, &d->lock_fd) < 0) {
        d->lock_fd = -1;
        return -EBUSY;   /* the receiver holds the machine */
    }
    struct net_options no;
    struct err e = ERR_INIT;
    spec_net_options(d->spec, &no);
    no.bound = d->bound;
    if (net_backend_add_forwards(board_net_backend(vm), &no, &e) < 0)
        log_warn("after the failed migration: %s", e.msg);
    record_forwards(d);
    write_state(d->name, "running %d", (int)getpid());
    return 0;
}

static void on_moved(void *opaque, bool same_folder, const char *to)
{
    struct daemon *d = opaque;
    d->moved = true;
    if (!same_folder) {
        char when[64];
        time_t t = time(NULL);
        struct tm tm;
        strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
        write_state(d->name, "migrated to %s at %s", to, when);
        control_event_state(d->control, "migrated");
    }
    /* Nothing of the machine runs here any more. */
    if (d->lock_fd >= 0) {
        close(d->lock_fd);
        d->lock_fd = -1;
    }
}

/* config.json as the receiver should keep it. */
static char *config_text(const struct machine_config *mc, const struct machine_spec *folder_spec)
{
    json_t *o = json_pack("{s:i, s:s, s:I, s:s, s:o}", "version", MACHINE_CONFIG_VERSION,
                          "name", mc->name, "created", (json_int_t)mc->created, "id", mc->id,
                          "spec", spec_to_json(folder_spec));
    char *t = o ? json_dumps(o, JSON_COMPACT | JSON_SORT_KEYS) : NULL;
    json_decref(o);
    return t;
}

/* ---- live migration, receiving ---------------------------------------------------------- */

static void on_receive_progress(void *opaque, const struct mig_progress *p)
{
    struct daemon *d = opaque;
    if (d->control)
        control_event(d->control, migrate_progress_json(p, "receiver"));
}

/* `hostel migrate --engine`: the sender, in its root jail, runs as the
 * owner of the machine's folder, and connecting to a socket needs write
 * permission on it. */
static void give_socket_to_folder_owner(const char *name, const char *listen)
{
    char folder[4096];
    struct stat st;
    if (geteuid() != 0 || strncmp(listen, "unix:", 5))
        return;
    machine_path(name, "", folder, sizeof(folder));
    if (stat(folder, &st) == 0 && st.st_uid != 0 && chown(listen + 5, st.st_uid, st.st_gid) < 0)
        log_warn("cannot give %s to uid %u: %s", listen + 5, (unsigned)st.st_uid, strerror(errno));
}

/* GO: this VMM takes the machine on. */
static int on_commit(void *opaque, struct vm *vm, struct err *e)
{
    struct daemon *d = opaque;
    int r;
    if (d->recv->same_folder) {
        /* The sender let go of the lock just before GO. */
        for (int i = 0; i < 100; i++) {
            r = machine_lock_acquire(d->name, &d->lock_fd);
            if (r != -EBUSY)
                break;
            usleep(50000);
        }
        if (r < 0) {
            d->lock_fd = -1;
            return err_set(e, r, "cannot take the machine's lock: %s",
                           r == -EBUSY ? "another VMM holds it" : strerror(-r));
        }
        if ((r = control_start(d->sock, &d->cinfo, &d->control, e)) < 0)
            return r;
        struct err ce = ERR_INIT;
        if (machine_config_save(d->mc, &ce) < 0)
            log_warn("%s", ce.msg);
    } else if ((r = receive_commit(d->recv, d->mc, d->spec, &d->stage, e)) < 0) {
        return r;
    }
    struct net_options no;
    struct err fe = ERR_INIT;
    spec_net_options(d->spec, &no);
    no.bound = d->bound;
    if (net_backend_add_forwards(board_net_backend(vm), &no, &fe) < 0)
        log_warn("the machine's forwards: %s", fe.msg);
    return 0;
}

static void on_booted_incoming(void *opaque, struct vm *vm)
{
    struct daemon *d = opaque;
    on_booted(opaque, vm);
    if (d->in)
        migrate_started(d->in, vm);
}

/* --display: where `hostel console NAME --vnc` finds the screen. */
static void on_display(void *opaque, const char *where)
{
    struct daemon *d = opaque;
    char path[4096], text[128];
    if (machine_path(d->name, MACHINE_DISPLAY_FILE, path, sizeof(path)) < 0)
        return;
    if (!where) {
        unlink(path);
        return;
    }
    int n = snprintf(text, sizeof(text), "vnc %s\n", where);
    int r = file_write_atomic(path, text, (size_t)n);
    if (r < 0)
        log_warn("cannot write %s: %s", path, strerror(-r));
}

static void on_stopping_any(void *opaque, struct vm *vm)
{
    struct daemon *d = opaque;
    migrate_out_vm_gone(d->out);
    if (d->in)
        migrate_incoming_stop(d->in);
    on_stopping(opaque, vm);
}

/* The sender's forwards' ports, in the order of this spec's forwards: the
 * receiver listens on the same ones. */
static void bound_from_sender(struct daemon *d, const struct mig_incoming *in)
{
    for (int i = 0; i < d->spec->nforwards && i < NET_MAX_FORWARDS; i++) {
        const struct net_forward *f = &d->spec->forwards[i];
        for (int k = 0; k < in->nbound; k++)
            if (in->bound[k].udp == f->udp && in->bound[k].guest_port == f->guest_port &&
                in->bound[k].host_addr == f->host_addr)
                d->bound[i] = in->bound[k];
    }
}

static int daemon_main(const char *name, int ready_fd, const char *restore,
                       const struct receive_opts *recv)
{
    struct daemon d = { .name = name, .ready_fd = ready_fd, .lock_fd = -1, .recv = recv };
    struct machine_config mc;
    struct err e = ERR_INIT;
    char path[4096], msg[4200];
    int listen_fd = -1;
    int r;

    struct machine_spec folder_spec;
    spec_init(&folder_spec);
    memset(&mc, 0, sizeof(mc));
    signal(SIGPIPE, SIG_IGN);
    d.mc = &mc;
    if (recv) {
        /* A receiver: claim the folder (a new machine, or one that moved
         * away), listen, wait for the sender and read what it sends. */
        struct mig_addr addr, bound;
        if (!recv->same_folder) {
            r = receive_claim(recv, &d.stage, &e);
            if (r == 0 && recv->log_in_folder) {
                char lp[4096];
                machine_path(name, "vmm.log", lp, sizeof(lp));
                int lfd = open(lp, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
                if (lfd >= 0) {
                    dup2(lfd, 2);
                    close(lfd);
                }
            }
            if (r < 0 ||
                (r = machine_lock_acquire(name, &d.lock_fd)) < 0) {
                snprintf(msg, sizeof(msg), "error: %s", r == -EBUSY ? "the machine is busy"
                         : e.msg[0] ? e.msg : "cannot lock the machine");
                tell_ready(&d, msg);
                return 1;
            }
        }
        if ((r = mig_parse_addr(recv->listen, &addr, &e)) < 0 ||
            (r = mig_listen(&addr, &listen_fd, &bound, &e)) < 0) {
            snprintf(msg, sizeof(msg), "error: %s", e.msg);
            tell_ready(&d, msg);
            receive_undo(recv, &d.stage);
            return 1;
        }
        if (!recv->same_folder)
            write_state(name, "incoming %d %s", (int)getpid(), bound.text);
        else
            give_socket_to_folder_owner(name, recv->listen);
        snprintf(msg, sizeof(msg), "ok %s", bound.text);
        tell_ready(&d, msg);
        log_info("waiting for machine %s on %s", name, bound.text);
        r = migrate_accept(listen_fd, &recv->allow, recv->timeout_s ? recv->timeout_s * 1000 : -1,
                           &d.in, &e);
        if (r == 0) {
            log_info("receiving machine %s from %s (engine %s)", name, d.in->sender_host,
                     d.in->sender_engine);
            d.in->opaque = &d;
            d.in->commit = on_commit;
            d.in->progress = on_receive_progress;
            r = receive_prepare(recv, d.in, &mc, &d.stage, &e);
            if (r < 0) {
                migrate_refuse(d.in, e.msg);
                d.in = NULL;
            }
        }
        if (r < 0) {
            log_error("no machine received: %s", e.msg);
            receive_undo(recv, &d.stage);
            if (mc.name[0])
                machine_config_free(&mc);
            close(listen_fd);
            return 1;
        }
    } else {
        r = machine_config_load(name, &mc, &e);
    }
    if (r == 0)
        spec_copy(&folder_spec, &mc.spec);
    if (r == 0)
        r = machine_spec_resolve(name, &mc.spec, &e);
    if (r == 0)
        r = spec_check(&mc.spec, &e);
    if (r < 0) {
        snprintf(msg, sizeof(msg), "error: %s", e.msg);
        tell_ready(&d, msg);
        if (d.in) {
            migrate_refuse(d.in, e.msg);
            d.in = NULL;
            receive_undo(recv, &d.stage);
        }
        if (mc.name[0])
            machine_config_free(&mc);
        return 1;
    }
    if (recv)
        receive_run_paths(&d.stage, &mc.spec);
    d.spec = &mc.spec;
    d.folder_spec = &folder_spec;
    /* The guest learns who it is (an appliance makes new host keys when it
     * finds it has been cloned): hostel.id= on its command line. */
    if (mc.spec.kernel) {
        if (!(mc.spec.set & SPEC_MAC)) {
            /* Older machines have no stored MAC: keep the one they had. */
            net_default_mac(mc.spec.kernel, mc.spec.cmdline, mc.spec.mac);
            mc.spec.set |= SPEC_MAC;
        }
        char *cmd = NULL;
        if (asprintf(&cmd, "%s%shostel.id=%s", mc.spec.cmdline ? mc.spec.cmdline : "",
                     mc.spec.cmdline && *mc.spec.cmdline ? " " : "", mc.id) > 0) {
            free(mc.spec.cmdline);
            mc.spec.cmdline = cmd;
            mc.spec.set |= SPEC_CMDLINE;
        }
    }
    /* On a switch the machine is known by its name (DNS, faults, counters). */
    if (mc.spec.net_mode == NET_MODE_SWITCH && mc.spec.net_switch &&
        !strstr(mc.spec.net_switch, ",name=")) {
        char *sw = NULL;
        if (asprintf(&sw, "%s,name=%s", mc.spec.net_switch, name) > 0) {
            free(mc.spec.net_switch);
            mc.spec.net_switch = sw;
        }
    }
    if (d.in)
        memcpy(mc.spec.mac, d.in->sent_spec.mac, 6);   /* the NIC the guest knows */
    if (!recv) {
        r = machine_lock_acquire(name, &d.lock_fd);
        if (r < 0) {
            tell_ready(&d, r == -EBUSY ? "error: the machine is already running"
                                       : "error: cannot lock the machine");
            machine_config_free(&mc);
            return 1;
        }
        write_state(name, "starting %d", (int)getpid());
    }

    struct console_hub *hub = NULL;
    const struct engine_ops *engine = NULL;
    char engine_why[700];
    char *requested = strdup(mc.spec.engine ? mc.spec.engine : "auto");
    char folder[4096], real[PATH_MAX];
    machine_path(name, "", folder, sizeof(folder));
    size_t fl = strlen(folder);
    if (fl > 1 && folder[fl - 1] == '/')
        folder[fl - 1] = 0;
    /* As root: into the jail before the first thread (the console hub's)
     * is made; a receiver too, now that the machine's folder and files are
     * known (receive_prepare).  One that made the folder keeps the file
     * capabilities, to remove it if the migration fails (receive_undo). */
    struct jail_extra jx = { .file_caps = recv && d.stage.created_folder };
    char *rf = realpath(folder, real);
    r = machine_jail(&mc.spec, rf ? rf : folder, &jx, d.isolation.jail, sizeof(d.isolation.jail),
                     &e);
    if (r < 0)
        goto fail_early;
    machine_path(name, "console.log", path, sizeof(path));
    r = console_hub_create(path, &hub);
    if (r < 0) {
        err_set(&e, r, "cannot open %s: %s", path, strerror(-r));
        goto fail_early;
    }
    /* The engine is chosen here, not inside machine_run, so the control
     * socket can say which one runs the machine ("auto" is a request). */
    r = engine_select(requested, &engine, engine_why, sizeof(engine_why), &e);
    if (r < 0)
        goto fail_early;
    log_info("engine %s: %s", engine->name, engine_why);
    free(mc.spec.engine);
    mc.spec.engine = strdup(engine->name);
    machine_path(name, "control.sock", d.sock, sizeof(d.sock));
    d.cinfo = (struct control_info){ .name = name, .engine = engine->name,
                                     .engine_requested = requested, .engine_why = engine_why,
                                     .cpus = mc.spec.cpus, .memory = mc.spec.memory, .hub = hub,
                                     .isolation = &d.isolation,
                                     .snapshot = on_snapshot, .migrate = on_migrate,
                                     .migration_status = on_migration_status, .opaque = &d };
    if (!(recv && recv->same_folder)) {
        r = control_start(d.sock, &d.cinfo, &d.control, &e);
        if (r < 0)
            goto fail_early;
        if (recv)
            control_set_phase(d.control, "incoming");
    }
    struct migrate_out_host oh = {
        .name = name, .control = &d.control, .spec = &mc.spec,
        .config_json = config_text(&mc, &folder_spec),
        .folder = strdup(realpath(folder, real) ? real : folder),
        .bound = d.bound, .nbound = mc.spec.nforwards, .opaque = &d,
        .release = on_release, .reclaim = on_reclaim, .moved = on_moved,
    };
    d.out = migrate_out_create(&oh);

    struct run_hooks hooks = { .opaque = &d, .booted = on_booted_incoming,
                               .stopping = on_stopping_any, .display = on_display };
    struct run_host host = { .hooks = &hooks, .hub = hub, .bound = d.bound, .name = name,
                             .id = mc.id, .isolation = &d.isolation, .folder = oh.folder };
    char restore_state[4200], restore_ram[4200];
    if (restore) {
        snapshot_path(name, restore, "state.bin", restore_state, sizeof(restore_state));
        snapshot_path(name, restore, "ram.bin", restore_ram, sizeof(restore_ram));
        host.restore_state = restore_state;
        host.restore_ram = restore_ram;
    }
    if (d.in) {
        bound_from_sender(&d, d.in);
        host.incoming = migrate_incoming_run;
        host.incoming_opaque = d.in;
    }
    int status = 1;
    on_display(&d, NULL);   /* a killed VMM's stale address goes */
    r = machine_run(&mc.spec, &host, &status, &e);
    if (r < 0)
        log_error("%s", e.msg);
    if (d.ready_fd >= 0) {
        /* Never booted: pass on why (also in vmm.log, our stderr). */
        snprintf(msg, sizeof(msg), "error: %s",
                 r < 0 ? e.msg : log_last_error()[0] ? log_last_error()
                                                     : "the machine did not start (see vmm.log)");
        tell_ready(&d, msg);
    }
    bool same_folder = false;
    bool moved = migrate_out_finish(d.out, &same_folder);
    if (d.in && !d.booted && r < 0 && e.msg[0])
        mig_refuse_linger(&d.in->conn, e.msg, 2000);   /* why, if it listens */
    if (d.in && !d.booted) {
        /* The migration did not happen: the sender keeps the guest. */
        log_error("the migration did not complete: the machine runs on the sender");
        receive_undo(recv, &d.stage);
    }
    if (d.control) {
        if (!moved)
            control_event_state(d.control, "stopped");
        control_stop(d.control);
    }
    if (!(moved && same_folder) && machine_path(name, MACHINE_FORWARDS_FILE, path,
                                                sizeof(path)) == 0)
        unlink(path);   /* nothing listens any more */
    if (moved)
        ;   /* the state says where it went (or, in this folder, the receiver's) */
    else if (d.in && !d.booted)
        ;   /* receive_undo put the folder back */
    else if (recv && recv->same_folder && !d.booted)
        ;   /* the sender's state stands */
    else if (d.booted && (r < 0 || status == 2))
        write_state(name, "crashed %s", status == 2 ? "triple fault" : "VMM error (see vmm.log)");
    else
        write_state(name, "stopped");
    migrate_incoming_free(d.in);
    if (listen_fd >= 0)
        close(listen_fd);
    console_hub_destroy(hub);
    free(requested);
    spec_free(&folder_spec);
    machine_config_free(&mc);
    if (d.lock_fd >= 0)
        close(d.lock_fd);
    return moved ? 0 : status;

fail_early:
    snprintf(msg, sizeof(msg), "error: %s", e.msg);
    tell_ready(&d, msg);
    if (d.in) {
        migrate_refuse(d.in, e.msg);
        d.in = NULL;
        receive_undo(recv, &d.stage);
    } else if (!recv) {
        write_state(name, "stopped");
    }
    if (listen_fd >= 0)
        close(listen_fd);
    console_hub_destroy(hub);
    free(requested);
    spec_free(&folder_spec);
    machine_config_free(&mc);
    if (d.lock_fd >= 0)
        close(d.lock_fd);
    return 1;
}

int machine_daemon_run(const char *name, int ready_fd, const char *restore)
{
    return daemon_main(name, ready_fd, restore, NULL);
}

int machine_daemon_receive(const struct receive_opts *o, int ready_fd)
{
    return daemon_main(o->name, ready_fd, NULL, o);
}
