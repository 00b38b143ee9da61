/* `hostel snapshot`, `restore`: a named machine's state at an instant, and
 * going back to it (docs/snapshots.md). */
#include "cli/snapshot_cmd.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "board/snapshot.h"
#include "cli/client.h"
#include "cli/machines.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/size.h"
#include "mgmt/library.h"
#include "mgmt/snapshots.h"

void snapshot_usage(FILE *f)
{
    fprintf(f,
            "usage: hostel snapshot NAME SNAP          take a snapshot of machine NAME\n"
            "       hostel snapshot ls NAME [--json]   its snapshots: name, time, size, parent\n"
            "       hostel snapshot rm NAME SNAP       delete one\n"
            "       hostel restore NAME SNAP           go back to it\n"
            "\n"
            "A snapshot of a running machine holds its CPUs, devices, RAM and disks at one\n"
            "instant; restoring it brings the machine back running as it was then.  A\n"
            "snapshot of a stopped machine holds its disks; restoring it puts them back.\n"
            "Disks are qcow2 layers in the machine's folder: a snapshot freezes the\n"
            "current one and the machine goes on writing a new overlay (docs/snapshots.md).\n");
}

static bool live(const char *name)
{
    char why[256];
    enum machine_state st = machine_state_get(name, why, sizeof(why));
    return st == MACHINE_RUNNING || st == MACHINE_PAUSED || st == MACHINE_STARTING;
}

static int need_machine(const char *name, struct machine_config *mc)
{
    struct err e = ERR_INIT;
    if (machine_name_check(name, &e) < 0 || machine_config_load(name, mc, &e) < 0) {
        log_error("%s", e.msg);
        return -1;
    }
    return 0;
}

/* A disk-only snapshot of a stopped machine, under its lock so it cannot
 * start meanwhile. */
static int snapshot_offline(const char *name, const struct machine_config *mc, const char *snap)
{
    struct err e = ERR_INIT;
    int lock = -1;
    if (machine_lock_acquire(name, &lock) < 0) {
        log_error("machine '%s' is starting: try again", name);
        return 1;
    }
    struct snapshot_info info;
    memset(&info, 0, sizeof(info));
    snprintf(info.name, sizeof(info.name), "%s", snap);
    snapshot_read_head(name, info.parent, sizeof(info.parent));
    info.created = (long long)time(NULL);
    snprintf(info.id, sizeof(info.id), "%llx%04x", (unsigned long long)info.created,
             (unsigned)getpid() & 0xffff);
    char dir[4096], path[4096];
    snapshot_path(name, NULL, NULL, dir, sizeof(dir));
    mkdir(dir, 0755);
    snapshot_path(name, snap, NULL, dir, sizeof(dir));
    int r = 0;
    if (mkdir(dir, 0755) < 0) {
        r = err_set(&e, -errno, errno == EEXIST ? "machine '%s' already has a snapshot named "
                    "'%s'" : "cannot create the snapshot's folder for '%s' %s", name, snap);
        goto out;
    }
    r = snapshot_freeze_disks(name, &mc->spec, &info, &e);
    if (r == 0) {
        json_t *sj = spec_to_json(&mc->spec);
        snapshot_path(name, snap, "spec.json", path, sizeof(path));
        r = json_dump_file(sj, path, JSON_INDENT(2) | JSON_SORT_KEYS) < 0
                ? err_set(&e, -EIO, "cannot write %s", path) : 0;
        json_decref(sj);
    }
    if (r == 0)
        r = snapshot_info_save(name, &info, &e);
    if (r < 0) {
        snapshot_unfreeze_disks(name, &mc->spec, &info);
        file_remove_tree(dir);
        goto out;
    }
    snapshot_write_head(name, snap);
out:
    close(lock);
    if (r < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    printf("took snapshot %s of %s (disks only: the machine is stopped)\n", snap, name);
    return 0;
}

static int take(const char *name, const char *snap)
{
    struct machine_config mc;
    struct err e = ERR_INIT;
    if (need_machine(name, &mc) < 0)
        return 1;
    if (snapshot_name_check(snap, &e) < 0) {
        log_error("%s", e.msg);
        machine_config_free(&mc);
        return 1;
    }
    if (!live(name)) {
        int r = snapshot_offline(name, &mc, snap);
        machine_config_free(&mc);
        return r;
    }
    machine_config_free(&mc);
    json_t *reply = client_call(name, json_pack("{s:s, s:s}", "op", "snapshot", "name", snap), &e);
    if (!reply) {
        log_error("%s", e.msg);
        return 1;
    }
    if (!json_is_true(json_object_get(reply, "ok"))) {
        log_error("%s", json_string_value(json_object_get(reply, "error")) ?: "snapshot failed");
        json_decref(reply);
        return 1;
    }
    char ram[32], st[32];
    format_size((uint64_t)json_integer_value(json_object_get(reply, "ram_bytes")), ram, sizeof(ram));
    format_size((uint64_t)json_integer_value(json_object_get(reply, "state_bytes")), st, sizeof(st));
    printf("took snapshot %s of %s (RAM %s stored, state %s)\n", snap, name, ram, st);
    json_decref(reply);
    return 0;
}

static int list(const char *name, bool as_json)
{
    struct machine_config mc;
    struct err e = ERR_INIT;
    if (need_machine(name, &mc) < 0)
        return 1;
    machine_config_free(&mc);
    struct snapshot_info *snaps;
    int n;
    if (snapshot_list(name, &snaps, &n, &e) < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    char head[SNAPSHOT_NAME_MAX + 1];
    snapshot_read_head(name, head, sizeof(head));
    json_t *all = json_array();
    for (int i = 0; i < n; i++) {
        const struct snapshot_info *s = &snaps[i];
        json_array_append_new(all, json_pack("{s:s, s:I, s:s, s:b, s:I, s:I, s:I, s:I, s:b}",
                                             "name", s->name, "created", (json_int_t)s->created,
                                             "parent", s->parent, "has_state", s->has_state,
                                             "size", (json_int_t)(s->state_bytes + s->ram_bytes +
                                                                  s->layer_bytes),
                                             "state_bytes", (json_int_t)s->state_bytes,
                                             "ram_bytes", (json_int_t)s->ram_bytes,
                                             "disk_bytes", (json_int_t)s->layer_bytes,
                                             "current", !strcmp(s->name, head)));
    }
    if (as_json) {
        char *t = json_dumps(all, JSON_INDENT(2));
        printf("%s\n", t);
        free(t);
    } else {
        printf("%-20s %-19s %9s %-6s %s\n", "NAME", "TAKEN", "SIZE", "STATE", "PARENT");
        for (int i = 0; i < n; i++) {
            const struct snapshot_info *s = &snaps[i];
            char when[32], size[32];
            time_t t = (time_t)s->created;
            struct tm tm;
            strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S", localtime_r(&t, &tm));
            format_size(s->state_bytes + s->ram_bytes + s->layer_bytes, size, sizeof(size));
            printf("%-20s %-19s %9s %-6s %s%s\n", s->name, when, size,
                   s->has_state ? "ram" : "disks", s->parent[0] ? s->parent : "-",
                   !strcmp(s->name, head) ? "  (current)" : "");
        }
    }
    json_decref(all);
    free(snaps);
    return 0;
}

static int rm(const char *name, const char *snap)
{
    struct machine_config mc;
    struct err e = ERR_INIT;
    if (need_machine(name, &mc) < 0)
        return 1;
    machine_config_free(&mc);
    if (snapshot_remove(name, snap, &e) < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    char head[SNAPSHOT_NAME_MAX + 1];
    snapshot_read_head(name, head, sizeof(head));
    if (!strcmp(head, snap))
        snapshot_write_head(name, "");
    printf("removed snapshot %s of %s\n", snap, name);
    return 0;
}

int cmd_snapshot(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        snapshot_usage(stdout);
        return 0;
    }
    if (argc >= 3 && !strcmp(argv[1], "ls")) {
        bool as_json = argc == 4 && !strcmp(argv[3], "--json");
        if (argc > 4 || (argc == 4 && !as_json)) {
            log_error("usage: hostel snapshot ls NAME [--json]");
            return 1;
        }
        return list(argv[2], as_json);
    }
    if (argc == 4 && !strcmp(argv[1], "rm"))
        return rm(argv[2], argv[3]);
    if (argc == 3 && strcmp(argv[1], "ls") && strcmp(argv[1], "rm"))
        return take(argv[1], argv[2]);
    snapshot_usage(stderr);
    return 1;
}

int cmd_restore(int argc, char **argv)
{
    if (argc >= 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        snapshot_usage(stdout);
        return 0;
    }
    if (argc != 3) {
        snapshot_usage(stderr);
        return 1;
    }
    const char *name = argv[1], *snap = argv[2];
    struct machine_config mc;
    struct err e = ERR_INIT;
    struct snapshot_info info;
    char path[4200], state[4200], ram[4200];
    if (need_machine(name, &mc) < 0)
        return 1;
    int r = snapshot_info_load(name, snap, &info, &e);
    /* The settings the machine had then come back with it. */
    struct machine_spec then;
    spec_init(&then);
    if (r == 0) {
        snapshot_path(name, snap, "spec.json", path, sizeof(path));
        json_error_t je;
        json_t *sj = json_load_file(path, 0, &je);
        if (!sj)
            r = err_set(&e, -EINVAL, "%s: %s", path, je.text);
        else
            r = spec_from_json(sj, &then, &e);
        json_decref(sj);
    }
    /* Everything is checked before the running machine is touched. */
    if (r == 0 && info.has_state) {
        struct machine_spec resolved;
        struct snapshot_file sf;
        spec_copy(&resolved, &then);
        machine_spec_resolve(name, &resolved, NULL);
        snapshot_path(name, snap, "state.bin", state, sizeof(state));
        snapshot_path(name, snap, "ram.bin", ram, sizeof(ram));
        r = machine_snapshot_open(state, ram, &resolved, &sf, &e);
        if (r == 0)
            snap_free(&sf);
        spec_free(&resolved);
        if (r < 0)
            err_wrap(&e, "snapshot '%s' cannot be restored", snap);
    }
    if (r < 0) {
        log_error("%s", e.msg);
        spec_free(&then);
        machine_config_free(&mc);
        return 1;
    }
    bool was_live = live(name);
    if (was_live && machine_kill_wait(name, 30) < 0) {
        log_error("machine '%s' did not stop: cannot restore", name);
        spec_free(&then);
        machine_config_free(&mc);
        return 1;
    }
    int lock = -1;
    if (machine_lock_acquire(name, &lock) < 0) {
        log_error("machine '%s' started meanwhile: cannot restore", name);
        spec_free(&then);
        machine_config_free(&mc);
        return 1;
    }
    r = snapshot_restore_disks(name, &then, &info, &e);
    if (r == 0) {
        spec_free(&mc.spec);
        mc.spec = then;
        spec_init(&then);
        r = machine_config_save(&mc, &e);
    }
    if (r == 0) {
        snapshot_write_head(name, snap);
        snapshot_collect_layers(name, NULL);
    }
    close(lock);
    spec_free(&then);
    machine_config_free(&mc);
    if (r < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    if (info.has_state) {
        if (machine_start(name, snap))
            return 1;
        printf("restored %s to snapshot %s (running as it was)\n", name, snap);
    } else if (was_live) {
        if (machine_start(name, NULL))
            return 1;
        printf("restored %s's disks to snapshot %s and started it\n", name, snap);
    } else {
        printf("restored %s's disks to snapshot %s\n", name, snap);
    }
    return 0;
}
