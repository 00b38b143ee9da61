/* `hostel snapshot`, `restore`: a named machine's state at an instant, and
 * going back to it (docs/snapshots.md). */
#include "cli/snapshot_cmd.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "board/snapshot.h"
#include "cli/client.h"
#include "cli/machines.h"
#include "lib/file.h"
#include "lib/log.h"
#include "lib/size.h"
#include "mgmt/library.h"
#include "mgmt/appliance.h"
#include "mgmt/pack.h"
#include "mgmt/snapshots.h"
#include "net/net.h"

void snapshot_usage(FILE *f)
{
    fprintf(f,
            "usage: hostel snapshot NAME SNAP          take a snapshot of machine NAME\n"
            "       hostel snapshot ls NAME [--json]   its snapshots: name, time, size, parent\n"
            "       hostel snapshot rm NAME SNAP       delete one\n"
            "       hostel restore NAME SNAP           go back to it\n"
            "       hostel snapshot restore NAME SNAP  the same\n"
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
    format_size_human((uint64_t)json_integer_value(json_object_get(reply, "ram_bytes")), ram,
                      sizeof(ram));
    format_size_human((uint64_t)json_integer_value(json_object_get(reply, "state_bytes")), st,
                      sizeof(st));
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
            format_size_human(s->state_bytes + s->ram_bytes + s->layer_bytes, size, sizeof(size));
            printf("%-20s %-19s %9s %-6s %s%s\n", s->name, when, size,
                   s->has_state ? "ram" : "disks", s->parent[0] ? s->parent : "-",
                   !strcmp(s->name, head) ? "  (current)" : "");
        }
    }
    json_decref(all);
    free(snaps);
    return 0;
}

/* After a snapshot is removed: a disk layer it alone needed stays under
 * the image above it (the machine's active disk, or a later snapshot's
 * layer); merge it into that image, so backing chains do not grow by one
 * with every snapshot taken and removed (every backup).  Into a running
 * machine's active disk through its VMM (paused meanwhile); otherwise
 * here, a stopped machine under its lock.  Failing leaves the chain as it
 * was, and says so. */
static void merge_unneeded_layers(const char *name)
{
    struct machine_config mc;
    struct err e = ERR_INIT;
    if (machine_config_load(name, &mc, &e) < 0)
        return;
    char lockpath[4096];
    snapshot_path(name, NULL, ".merge-lock", lockpath, sizeof(lockpath));
    int mlock = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (mlock < 0 || flock(mlock, LOCK_EX) < 0) {
        log_warn("%s: cannot lock %s: %s; disk layers are not merged", name, lockpath,
                 strerror(errno));
        if (mlock >= 0)
            close(mlock);
        machine_config_free(&mc);
        return;
    }
    for (int round = 0; round < 256; round++) {     /* each merge removes a layer */
        struct snapshot_merge m;
        e = (struct err)ERR_INIT;
        int r = snapshot_find_merge(name, &mc.spec, &m, &e);
        if (r <= 0) {
            if (r < 0)
                log_warn("%s: disk layers not merged: %s", name, e.msg);
            break;
        }
        if (m.disk < 0) {
            r = snapshot_merge_frozen(name, m.into, m.layer, &e);
        } else if (live(name)) {
            json_t *reply = client_call(name, json_pack("{s:s, s:i, s:s}", "op", "compact",
                                                        "disk", m.disk, "layer", m.layer), &e);
            if (!reply)
                r = -EIO;
            else if (!json_is_true(json_object_get(reply, "ok")))
                r = err_set(&e, -EIO, "%s",
                            json_string_value(json_object_get(reply, "error")) ?: "refused");
            json_decref(reply);
        } else {
            int lock = -1;
            if (machine_lock_acquire(name, &lock) < 0)
                break;          /* starting meanwhile: it stays for another time */
            r = snapshot_merge_layer(name, &mc.spec, m.disk, NULL, m.layer, NULL, &e);
            close(lock);
        }
        if (r < 0) {
            log_warn("%s: %s stays under %s: %s", name, m.layer, m.into, e.msg);
            break;
        }
    }
    close(mlock);
    machine_config_free(&mc);
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
    merge_unneeded_layers(name);
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
    if (argc == 4 && !strcmp(argv[1], "restore"))      /* as 'hostel restore NAME SNAP' */
        return cmd_restore(argc - 1, argv + 1);
    if (argc == 3 && strcmp(argv[1], "ls") && strcmp(argv[1], "rm") &&
        strcmp(argv[1], "restore"))
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
    if (was_live && info.has_state) {
        /* In place, by the running VMM: fast, and connections through its
         * forwards stay open.  It says "cold" when it cannot. */
        json_t *reply = client_call(name, json_pack("{s:s, s:s}", "op", "restore", "name", snap),
                                    &e);
        if (reply && json_is_true(json_object_get(reply, "ok"))) {
            json_decref(reply);
            /* Its settings as they were then (for its next start). */
            spec_free(&mc.spec);
            mc.spec = then;
            if (machine_config_save(&mc, &e) < 0)
                log_warn("%s", e.msg);
            machine_config_free(&mc);
            /* The layers the discarded overlay stood on alone: here, where
             * every machine of the library is seen (a jailed VMM sees only
             * its own folder, not the linked clones that may need them). */
            snapshot_collect_layers(name, NULL);
            printf("restored %s to snapshot %s (running as it was)\n", name, snap);
            return 0;
        }
        if (reply && !json_is_true(json_object_get(reply, "cold"))) {
            log_error("%s", json_string_value(json_object_get(reply, "error")) ?: "restore failed");
            json_decref(reply);
            spec_free(&then);
            machine_config_free(&mc);
            return 1;
        }
        json_decref(reply);
    }
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

/* ---- clone -------------------------------------------------------------------- */

static void clone_usage(FILE *f)
{
    fprintf(f,
            "usage: hostel clone SOURCE NEW [--snapshot SNAP]\n"
            "\n"
            "A linked clone: a new machine whose disks are overlays on SOURCE's disks as\n"
            "they were at SNAP (without --snapshot: a snapshot of SOURCE now, named\n"
            "clone-NEW, which stays while NEW needs it).  Instant, whatever the disk\n"
            "size; the layers are shared, not copied.  NEW gets its own MAC address and\n"
            "identity (hostel.id=, from which appliances make new host keys) and starts\n"
            "stopped: it boots afresh from those disks.  'hostel rm SOURCE' refuses while\n"
            "clones need its layers.\n");
}

int cmd_clone(int argc, char **argv)
{
    const char *src = NULL, *dst = NULL, *snap = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            clone_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--snapshot") && i + 1 < argc) {
            snap = argv[++i];
        } else if (!strncmp(argv[i], "--snapshot=", 11)) {
            snap = argv[i] + 11;
        } else if (argv[i][0] == '-' || (src && dst)) {
            log_error("clone: unexpected argument '%s' (see 'hostel clone --help')", argv[i]);
            return 1;
        } else if (!src) {
            src = argv[i];
        } else {
            dst = argv[i];
        }
    }
    if (!src || !dst) {
        clone_usage(stderr);
        return 1;
    }
    struct err e = ERR_INIT;
    struct machine_config from, mc;
    char auto_snap[SNAPSHOT_NAME_MAX + 1];
    if (need_machine(src, &from) < 0)
        return 1;
    machine_config_free(&from);
    if (machine_name_check(dst, &e) < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    struct machine_config probe;
    if (machine_config_load(dst, &probe, NULL) == 0) {
        machine_config_free(&probe);
        log_error("a machine named '%s' already exists", dst);
        return 1;
    }
    if (!snap) {
        snprintf(auto_snap, sizeof(auto_snap), "clone-%s", dst);
        if (take(src, auto_snap))
            return 1;
        snap = auto_snap;
    }
    struct snapshot_info info;
    char path[4200];
    if (snapshot_info_load(src, snap, &info, &e) < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    memset(&mc, 0, sizeof(mc));
    snapshot_path(src, snap, "spec.json", path, sizeof(path));
    json_error_t je;
    json_t *sj = json_load_file(path, 0, &je);
    int r = sj ? spec_from_json(sj, &mc.spec, &e) : err_set(&e, -EINVAL, "%s: %s", path, je.text);
    json_decref(sj);
    if (r < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    snprintf(mc.name, sizeof(mc.name), "%s", dst);
    mc.created = (long long)time(NULL);
    machine_new_id(mc.id);
    /* Its own NIC address, from its own name. */
    net_default_mac("hostel machine", dst, mc.spec.mac);
    mc.spec.set |= SPEC_MAC;
    bool made = false;
    if ((r = machine_create(&mc, &e)) < 0)
        goto fail;
    made = true;
    for (int i = 0; i < mc.spec.ndisks && i < info.ndisks; i++) {
        if (!info.layers[i][0])
            continue;
        char layer[4096], real[4096], active[4096];
        machine_path(src, info.layers[i], layer, sizeof(layer));
        if (!realpath(layer, real)) {
            r = err_set(&e, -errno, "%s: %s", layer, strerror(errno));
            goto fail;
        }
        machine_path(dst, mc.spec.disks[i].path, active, sizeof(active));
        struct block_create_opts o = { .format = BLOCK_FORMAT_QCOW2, .backing = real };
        if ((r = block_create(active, &o, &e)) < 0)
            goto fail;
    }
    printf("cloned %s into %s (from snapshot %s)\n", src, dst, snap);
    spec_free(&mc.spec);
    return 0;
fail:
    if (made)
        machine_remove(dst, NULL);
    log_error("%s", e.msg);
    spec_free(&mc.spec);
    return 1;
}

/* ---- backups ------------------------------------------------------------------ */

#define BACKUP_FORMAT 1

static void backup_usage(FILE *f)
{
    fprintf(f,
            "usage: hostel backup NAME FILE              one self-contained file of machine NAME\n"
            "       hostel restore-backup FILE --name NEW [--no-start]\n"
            "\n"
            "A backup holds the machine's settings, its disks flattened into standalone\n"
            "qcow2 images and, when it runs, its CPUs, devices and RAM, all taken at one\n"
            "instant (a snapshot, removed afterwards), in a zstd-compressed tar.  The\n"
            "machine keeps running meanwhile.  restore-backup makes machine NEW from it,\n"
            "with the same MAC and identity, and starts it as it was (a backup of a\n"
            "stopped machine is restored stopped).\n");
}

int cmd_backup(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        backup_usage(stdout);
        return 0;
    }
    if (argc != 3) {
        backup_usage(stderr);
        return 1;
    }
    const char *name = argv[1], *out = argv[2];
    struct err e = ERR_INIT;
    struct machine_config mc;
    if (pack_filter_for(out, NULL, &e) < 0) {
        log_error("backup: %s (use NAME.hostel-backup)", e.msg);
        return 1;
    }
    if (access(out, F_OK) == 0) {
        log_error("backup: %s exists already", out);
        return 1;
    }
    if (need_machine(name, &mc) < 0)
        return 1;
    char snap[SNAPSHOT_NAME_MAX + 1];
    snprintf(snap, sizeof(snap), "backup-%lld", (long long)time(NULL));
    if (take(name, snap)) {
        machine_config_free(&mc);
        return 1;
    }
    struct snapshot_info info;
    char stage[4200], path[4600], src[4300];
    int r = snapshot_info_load(name, snap, &info, &e);
    snprintf(stage, sizeof(stage), "%s.staging", out);
    file_remove_tree(stage);
    if (r == 0 && mkdir(stage, 0700) < 0)
        r = err_set(&e, -errno, "cannot create %s: %s", stage, strerror(errno));
    const char *files[4 + SPEC_MAX_DISKS];
    char disk_names[SPEC_MAX_DISKS][32];
    int nfiles = 0;
    files[nfiles++] = "backup.json";
    json_t *disks = json_array();
    /* The snapshot's spec, and its disks flattened into standalone images. */
    json_t *spec_json = NULL;
    if (r == 0) {
        snapshot_path(name, snap, "spec.json", path, sizeof(path));
        json_error_t je;
        spec_json = json_load_file(path, 0, &je);
        if (!spec_json)
            r = err_set(&e, -EINVAL, "%s: %s", path, je.text);
    }
    for (int i = 0; r == 0 && i < info.ndisks; i++) {
        if (!info.layers[i][0]) {
            json_array_append_new(disks, json_null());
            continue;
        }
        snprintf(disk_names[i], sizeof(disk_names[i]), "disk%d.qcow2", i);
        machine_path(name, info.layers[i], src, sizeof(src));
        snprintf(path, sizeof(path), "%s/%s", stage, disk_names[i]);
        r = block_copy_image(src, path, BLOCK_FORMAT_QCOW2, &e);
        files[nfiles++] = disk_names[i];
        json_array_append_new(disks, json_string(disk_names[i]));
    }
    if (r == 0 && info.has_state) {
        static const char *const parts[] = { "state.bin", "ram.bin" };
        for (int k = 0; r == 0 && k < 2; k++) {
            snapshot_path(name, snap, parts[k], src, sizeof(src));
            snprintf(path, sizeof(path), "%s/%s", stage, parts[k]);
            if (link(src, path) < 0 && symlink(src, path) < 0)
                r = err_set(&e, -errno, "cannot stage %s: %s", src, strerror(errno));
            files[nfiles++] = parts[k];
        }
    }
    if (r == 0) {
        json_t *b = json_pack("{s:i, s:s, s:s, s:I, s:I, s:b, s:O, s:o}", "format", BACKUP_FORMAT,
                              "machine", name, "id", mc.id, "machine_created",
                              (json_int_t)mc.created, "taken", (json_int_t)info.created,
                              "has_state", info.has_state, "spec", spec_json, "disks", disks);
        disks = NULL;
        snprintf(path, sizeof(path), "%s/backup.json", stage);
        if (!b || json_dump_file(b, path, JSON_INDENT(2) | JSON_SORT_KEYS) < 0)
            r = err_set(&e, -EIO, "cannot write %s", path);
        json_decref(b);
    }
    if (r == 0)
        r = pack_files(out, stage, files, nfiles, &e);
    json_decref(disks);
    json_decref(spec_json);
    file_remove_tree(stage);
    struct err e2 = ERR_INIT;
    snapshot_remove(name, snap, &e2);   /* the instant is in the file now */
    char head[SNAPSHOT_NAME_MAX + 1];
    snapshot_read_head(name, head, sizeof(head));
    if (!strcmp(head, snap))
        snapshot_write_head(name, info.parent);
    merge_unneeded_layers(name);
    machine_config_free(&mc);
    if (r < 0) {
        log_error("backup of %s: %s", name, e.msg);
        return 1;
    }
    struct stat st;
    char size[32] = "?";
    if (stat(out, &st) == 0)
        format_size_human((uint64_t)st.st_size, size, sizeof(size));
    printf("backed up %s into %s (%s%s)\n", name, out, size,
           info.has_state ? ", running state included" : ", disks only");
    return 0;
}

int cmd_restore_backup(int argc, char **argv)
{
    const char *file = NULL, *name = NULL;
    bool start = true;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            backup_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
            name = argv[++i];
        } else if (!strncmp(argv[i], "--name=", 7)) {
            name = argv[i] + 7;
        } else if (!strcmp(argv[i], "--no-start")) {
            start = false;
        } else if (argv[i][0] == '-' || file) {
            log_error("restore-backup: unexpected argument '%s'", argv[i]);
            return 1;
        } else {
            file = argv[i];
        }
    }
    if (!file || !name) {
        backup_usage(stderr);
        return 1;
    }
    struct err e = ERR_INIT;
    struct machine_config mc;
    memset(&mc, 0, sizeof(mc));
    if (machine_name_check(name, &e) < 0) {
        log_error("%s", e.msg);
        return 1;
    }
    if (machine_config_load(name, &mc, NULL) == 0) {
        machine_config_free(&mc);
        log_error("a machine named '%s' already exists", name);
        return 1;
    }
    memset(&mc, 0, sizeof(mc));
    /* Unpacked beside the library, checked, then put in place in one rename. */
    char final[4096], stage[4200], path[4300];
    machine_path(name, "", final, sizeof(final));
    snprintf(stage, sizeof(stage), "%s.restoring", final);
    file_remove_tree(stage);
    char *slash = strrchr(final, '/');
    *slash = 0;
    mkdir(final, 0755);
    *slash = '/';
    int r = mkdir(stage, 0755) < 0 ? err_set(&e, -errno, "cannot create %s: %s", stage,
                                              strerror(errno)) : 0;
    if (r == 0)
        r = appliance_unpack(file, stage, true, &e);
    json_t *b = NULL;
    if (r == 0) {
        json_error_t je;
        snprintf(path, sizeof(path), "%s/backup.json", stage);
        b = json_load_file(path, 0, &je);
        if (!b || json_integer_value(json_object_get(b, "format")) != BACKUP_FORMAT)
            r = err_set(&e, -EINVAL, "%s: not a hostel backup (no backup.json of format %d)",
                        file, BACKUP_FORMAT);
    }
    if (r == 0)
        r = spec_from_json(json_object_get(b, "spec"), &mc.spec, &e);
    const char *id = b ? json_string_value(json_object_get(b, "id")) : NULL;
    json_t *disks = b ? json_object_get(b, "disks") : NULL;
    bool has_state = b && json_is_true(json_object_get(b, "has_state"));
    struct snapshot_info info;
    memset(&info, 0, sizeof(info));
    snprintf(info.name, sizeof(info.name), "backup");
    snprintf(info.id, sizeof(info.id), "b%llx", (unsigned long long)time(NULL));
    info.created = (long long)json_integer_value(json_object_get(b, "taken"));
    info.has_state = has_state;
    if (r == 0 && (!json_is_array(disks) || (int)json_array_size(disks) != mc.spec.ndisks))
        r = err_set(&e, -EINVAL, "%s: its disk list does not match its machine's", file);
    info.ndisks = mc.spec.ndisks;
    /* Each standalone disk becomes the frozen layer the machine's disk
     * stands on, as if a snapshot "backup" had just been taken. */
    for (int i = 0; r == 0 && i < mc.spec.ndisks; i++) {
        json_t *d = json_array_get(disks, (size_t)i);
        if (json_is_null(d))
            continue;
        const char *dn = json_string_value(d);
        if (!dn || strchr(dn, '/') || !snapshot_disk_is_own(&mc.spec.disks[i])) {
            r = err_set(&e, -EINVAL, "%s: disk %d is malformed", file, i);
            break;
        }
        char from[4300], lname[SNAPSHOT_LAYER_MAX];
        const char *active = mc.spec.disks[i].path;
        const char *dot = strrchr(active, '.');
        snprintf(lname, sizeof(lname), "%.*s.L%s%s", dot ? (int)(dot - active) : (int)strlen(active),
                 active, info.id, dot ? dot : "");
        snprintf(from, sizeof(from), "%s/%s", stage, dn);
        snprintf(path, sizeof(path), "%s/%s", stage, lname);
        if (rename(from, path) < 0)
            r = err_set(&e, -errno, "%s: %s", from, strerror(errno));
        chmod(path, 0444);
        snprintf(info.layers[i], sizeof(info.layers[i]), "%s", lname);
    }
    if (r == 0) {
        snapshot_path(name, NULL, NULL, path, sizeof(path));
        /* The machine's files are made in the staging folder under the
         * final names' layout, then the folder is renamed into place. */
    }
    json_decref(b);
    if (r == 0) {
        if (rename(stage, final) < 0)
            r = err_set(&e, -errno, "cannot put the machine in place (%s): %s", final,
                        strerror(errno));
    }
    if (r < 0) {
        file_remove_tree(stage);
        spec_free(&mc.spec);
        log_error("restore-backup: %s", e.msg);
        return 1;
    }
    /* Now in its folder: the record, the state, the active overlays. */
    snprintf(mc.name, sizeof(mc.name), "%s", name);
    mc.created = (long long)time(NULL);
    if (id && strlen(id) == 32)
        snprintf(mc.id, sizeof(mc.id), "%s", id);
    else
        machine_new_id(mc.id);
    char dir[4300];
    snapshot_path(name, NULL, NULL, dir, sizeof(dir));
    mkdir(dir, 0755);
    snapshot_path(name, "backup", NULL, dir, sizeof(dir));
    mkdir(dir, 0755);
    static const char *const parts[] = { "state.bin", "ram.bin" };
    for (int k = 0; r == 0 && has_state && k < 2; k++) {
        char from[4300], to[4300];
        machine_path(name, parts[k], from, sizeof(from));
        snapshot_path(name, "backup", parts[k], to, sizeof(to));
        if (rename(from, to) < 0)
            r = err_set(&e, -errno, "%s: %s", from, strerror(errno));
    }
    machine_path(name, "backup.json", path, sizeof(path));
    unlink(path);
    if (r == 0) {
        json_t *sj = spec_to_json(&mc.spec);
        snapshot_path(name, "backup", "spec.json", path, sizeof(path));
        if (json_dump_file(sj, path, JSON_INDENT(2) | JSON_SORT_KEYS) < 0)
            r = err_set(&e, -EIO, "cannot write %s", path);
        json_decref(sj);
    }
    if (r == 0)
        r = snapshot_info_save(name, &info, &e);
    if (r == 0)
        r = snapshot_restore_disks(name, &mc.spec, &info, &e);
    if (r == 0)
        r = machine_config_save(&mc, &e);
    if (r == 0)
        snapshot_write_head(name, "backup");
    if (r < 0) {
        machine_remove(name, NULL);
        spec_free(&mc.spec);
        log_error("restore-backup: %s", e.msg);
        return 1;
    }
    spec_free(&mc.spec);
    if (start && has_state) {
        if (machine_start(name, "backup"))
            return 1;
        printf("restored %s from %s, running as it was\n", name, file);
    } else {
        printf("restored %s from %s%s\n", name, file, has_state ? " (not started)" : "");
    }
    return 0;
}
