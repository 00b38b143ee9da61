/* `hostel run --control SOCKET`: the same control socket a named machine
 * has (status, pause, resume, stop, kill), plus "save", which writes the
 * machine's whole state into a folder that `hostel run --restore` starts
 * from. */
#include "cli/run_control.h"

#include <errno.h>
#include <limits.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "board/board.h"
#include "board/snapshot.h"
#include "lib/jail.h"
#include "lib/log.h"
#include "machine/vm.h"
#include "mgmt/control.h"

struct run_control {
    struct control *control;
    const struct machine_spec *spec;
    char engine_why[700];
    /* The socket's folder, where saves may go in a root jail; "" when it
     * is shared with other users (world-writable, as /tmp): then none. */
    char save_folder[PATH_MAX];
};

/* A path the user gave must not be a file of theirs: only a socket nobody
 * listens on may be replaced. */
static int socket_path_free(const char *path, struct err *e)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : err_set(e, -errno, "--control %s: %s", path,
                                             strerror(errno));
    if (!S_ISSOCK(st.st_mode))
        return err_set(e, -EEXIST, "--control %s: the file exists and is not a socket", path);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    bool in_use = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
    if (fd >= 0)
        close(fd);
    if (in_use)
        return err_set(e, -EBUSY, "--control %s: another machine listens there", path);
    return 0;
}

/* The folder holding the socket, unless other users may write in it: a
 * jailed VMM shows it, writable through its control threads' file
 * capabilities, and a shared one (/tmp) would show everybody's files. */
static void pick_save_folder(const char *sock, char out[PATH_MAX])
{
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", sock);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof(dir), ".");
    else if (slash == dir)
        dir[1] = 0;
    else
        *slash = 0;
    struct stat st;
    out[0] = 0;
    if (!realpath(dir, out) || stat(out, &st) < 0 || (st.st_mode & S_IWOTH) || !strcmp(out, "/"))
        out[0] = 0;
}

static json_t *fail(struct err *e)
{
    return json_pack("{s:b, s:s}", "ok", 0, "error", e->msg);
}

/* "save" {"path": DIR}: the machine paused, its disks flushed, DIR gets
 * state.bin and ram.bin; the disks themselves are not copied (they must be
 * unchanged when the state is restored: docs/snapshots.md). */
static json_t *on_save(void *opaque, struct vm *vm, const char *op, json_t *req)
{
    struct run_control *rc = opaque;
    struct err e = ERR_INIT;
    if (strcmp(op, "save")) {
        err_set(&e, -ENOTSUP, "\"snapshot\" is for named machines; a hostel run machine "
                "takes \"save\" with a \"path\"");
        return fail(&e);
    }
    const char *dir = json_string_value(json_object_get(req, "path"));
    if (!dir || !*dir) {
        err_set(&e, -EINVAL, "save needs a \"path\": the folder to save into");
        return fail(&e);
    }
    if (mkdir(dir, 0755) < 0 && errno != EEXIST) {
        int en = errno;
        if (jail_active())
            err_set(&e, -en, "cannot create %s: %s (the VMM is in its root jail, where only "
                    "%s%s can take saves: docs/security.md)", dir, strerror(en),
                    rc->save_folder[0] ? "the folder of its control socket, " : "no folder",
                    rc->save_folder[0] ? rc->save_folder : " (its control socket's folder is "
                    "shared with other users: give the socket a folder of its own)");
        else
            err_set(&e, -en, "cannot create %s: %s", dir, strerror(en));
        return fail(&e);
    }
    char state[4200], ram[4200];
    snprintf(state, sizeof(state), "%s/state.bin", dir);
    snprintf(ram, sizeof(ram), "%s/ram.bin", dir);
    bool was_paused = vm_paused(vm);
    int r = vm_pause(vm);
    struct snapshot_sizes sizes = { 0 };
    if (r < 0)
        err_set(&e, r, "the machine is stopping");
    if (r == 0)
        r = board_flush_disks(vm, &e);
    if (r == 0)
        r = machine_snapshot_save(vm, rc->spec, state, ram, &sizes, &e);
    if (!was_paused)
        vm_resume(vm);
    if (r < 0)
        return fail(&e);
    log_info("saved the machine into %s", dir);
    return json_pack("{s:b, s:s, s:I, s:I}", "ok", 1, "path", dir,
                     "state_bytes", (json_int_t)sizes.state_bytes,
                     "ram_bytes", (json_int_t)sizes.ram_bytes);
}

static void on_booted(void *opaque, struct vm *vm)
{
    struct run_control *rc = opaque;
    control_set_vm(rc->control, vm);
    control_event_state(rc->control, "running");
}

/* In the root jail (or not entering one): the socket, listening since the
 * start, is answered from now on. */
static int on_confined(void *opaque, struct err *e)
{
    struct run_control *rc = opaque;
    return control_serve(rc->control, e);
}

static void on_stopping(void *opaque, struct vm *vm)
{
    struct run_control *rc = opaque;
    (void)vm;
    control_set_vm(rc->control, NULL);
}

int run_control_start(const char *path, const struct machine_spec *spec,
                      struct run_hooks *hooks, struct run_control **out, struct err *e)
{
    int r = socket_path_free(path, e);
    if (r < 0)
        return r;
    struct run_control *rc = calloc(1, sizeof(*rc));
    if (!rc)
        return err_set(e, -ENOMEM, "out of memory");
    rc->spec = spec;
    const struct engine_ops *engine;
    struct err ee = ERR_INIT;
    const char *name = "auto";
    if (engine_select(spec->engine, &engine, rc->engine_why, sizeof(rc->engine_why), &ee) == 0)
        name = engine->name;
    struct control_info info = {
        .name = "run", .engine = name, .engine_requested = spec->engine,
        .engine_why = rc->engine_why, .cpus = spec->cpus, .memory = spec->memory,
        .snapshot = on_save, .opaque = rc, .file_caps = true,
    };
    pick_save_folder(path, rc->save_folder);
    r = control_open(path, &info, &rc->control, e);
    if (r < 0) {
        free(rc);
        return r;
    }
    hooks->opaque = rc;
    hooks->booted = on_booted;
    hooks->stopping = on_stopping;
    hooks->confined = on_confined;
    *out = rc;
    return 0;
}

const char *run_control_save_folder(const struct run_control *rc)
{
    return rc && rc->save_folder[0] ? rc->save_folder : NULL;
}

void run_control_stop(struct run_control *rc)
{
    if (!rc)
        return;
    jail_raise_file_caps();     /* in the jail: removing the socket from a folder not ours */
    control_event_state(rc->control, "stopped");
    control_stop(rc->control);
    free(rc);
}

int run_restore_spec(const char *dir, const struct machine_spec *flags, struct machine_spec *out,
                     char *state, char *ram, size_t len, struct err *e)
{
    snprintf(state, len, "%s/state.bin", dir);
    snprintf(ram, len, "%s/ram.bin", dir);
    /* Only what is the host's, not the guest's, may change across a restore. */
    const uint32_t host_side = SPEC_SERIAL | SPEC_WATCHDOG | SPEC_ENGINE;
    if (flags->set & ~host_side || flags->ndisks || flags->nforwards || flags->nshares ||
        flags->shares_clear)
        return err_set(e, -EINVAL, "--restore brings the machine back as it was saved: only "
                       "--serial, --watchdog and --engine may be given with it");
    struct machine_spec saved;
    int r = machine_snapshot_spec(state, &saved, e);
    if (r < 0)
        return r;
    spec_defaults(out);
    r = spec_apply(out, &saved, e);
    if (r == 0)
        r = spec_apply(out, flags, e);
    spec_free(&saved);
    return r;
}
