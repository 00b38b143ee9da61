/* A named machine's VMM receiving it (mgmt/receive.h). */
#include "mgmt/receive.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "lib/file.h"
#include "lib/jail.h"
#include "lib/log.h"
#include "net/switch.h"

/* In a folder a receiver made, until the commit (a leftover with it goes). */
#define NEW_MARKER "incoming.new"

static int folder_of(const char *name, char *buf, size_t len)
{
    char p[4096];
    machine_path(name, "", p, sizeof(p));
    size_t n = strlen(p);
    if (n > 1 && p[n - 1] == '/')
        p[n - 1] = 0;
    if (!realpath(p, buf))
        snprintf(buf, len, "%s", p);
    return 0;
}

int receive_claim(const struct receive_opts *o, struct receive_stage *st, struct err *e)
{
    memset(st, 0, sizeof(*st));
    int r = machine_name_check(o->name, e);
    if (r < 0)
        return r;
    char dir[4096], cfg[4096], why[256];
    machine_path(o->name, "", dir, sizeof(dir));
    machine_path(o->name, "config.json", cfg, sizeof(cfg));
    struct stat sb;
    if (stat(dir, &sb) == 0) {
        enum machine_state s = machine_state_get(o->name, why, sizeof(why));
        if (machine_lock_held(o->name))
            return err_set(e, -EBUSY, "machine '%s' is %s here", o->name,
                           machine_state_name(s));
        char sp0[4096];
        struct file_buf b0;
        machine_path(o->name, "state", sp0, sizeof(sp0));
        bool leftover = file_read_all(sp0, &b0) == 0 && b0.len >= 8 &&
                        !memcmp(b0.data, "incoming", 8);
        if (leftover)
            file_buf_free(&b0);
        st->had_config = access(cfg, F_OK) == 0;
        char marker[4096];
        machine_path(o->name, NEW_MARKER, marker, sizeof(marker));
        if (leftover && (!st->had_config || access(marker, F_OK) == 0)) {
            /* What a receiver that died mid-way left: nothing to keep. */
            machine_remove(o->name, NULL);
            return receive_claim(o, st, e);
        }
        if (st->had_config && s != MACHINE_MIGRATED && !leftover)
            return err_set(e, -EEXIST, "a machine named '%s' exists here (%s): remove it, or "
                           "receive the machine under another name", o->name,
                           machine_state_name(s));
        char sp[4096];
        struct file_buf b;
        machine_path(o->name, "state", sp, sizeof(sp));
        if (file_read_all(sp, &b) == 0) {
            snprintf(st->old_state, sizeof(st->old_state), "%.*s",
                     (int)(b.len < sizeof(st->old_state) - 1 ? b.len : sizeof(st->old_state) - 1),
                     (const char *)b.data);
            file_buf_free(&b);
        }
        return 0;
    }
    /* A new machine here: its folder, made like machine_create's. */
    char parent[4096];
    snprintf(parent, sizeof(parent), "%s", dir);
    size_t n = strlen(parent);
    if (n > 1 && parent[n - 1] == '/')
        parent[--n] = 0;
    char *slash = strrchr(parent, '/');
    if (slash) {
        *slash = 0;
        char *q = parent + 1;
        while ((q = strchr(q, '/'))) {
            *q = 0;
            mkdir(parent, 0755);
            *q++ = '/';
        }
        mkdir(parent, 0755);
    }
    if (mkdir(dir, 0755) < 0)
        return err_set(e, -errno, "cannot create %s: %s", dir, strerror(errno));
    st->created_folder = true;
    st->parent_fd = open(slash ? parent : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    st->have_parent = st->parent_fd >= 0;
    /* Until the commit: what is here came with this migration only. */
    char marker[4096];
    machine_path(o->name, NEW_MARKER, marker, sizeof(marker));
    file_write_atomic(marker, "", 0);
    return 0;
}

static int same_file(const char *path, uint64_t size, uint32_t crc)
{
    uint64_t s;
    uint32_t c;
    return path && path[0] == '/' && mig_file_summary(path, &s, &c) == 0 && s == size && c == crc;
}

int receive_prepare(const struct receive_opts *o, struct mig_incoming *in,
                    struct machine_config *mc, struct receive_stage *st, struct err *e)
{
    char folder[4096], host[512];
    folder_of(o->name, folder, sizeof(folder));
    migrate_host_id(host, sizeof(host));
    memset(mc, 0, sizeof(*mc));
    int r;
    if (o->same_folder) {
        /* An engine switch: the machine is ours already, disks and all. */
        if ((r = machine_config_load(o->name, mc, e)) < 0)
            return r;
        if (in->copy_disks)
            in->copy_disks = false;
    } else {
        json_error_t je;
        json_t *root = json_loads(in->config_json ? in->config_json : "", 0, &je);
        const char *id = json_string_value(json_object_get(root, "id"));
        r = root && json_is_object(json_object_get(root, "spec"))
                ? spec_from_json(json_object_get(root, "spec"), &mc->spec, e)
                : err_set(e, -EPROTO, "the sender's machine config is malformed");
        snprintf(mc->name, sizeof(mc->name), "%s", o->name);
        mc->created = json_integer_value(json_object_get(root, "created"));
        if (id && strlen(id) == 32 && strspn(id, "0123456789abcdef") == 32)
            snprintf(mc->id, sizeof(mc->id), "%s", id);
        else
            machine_new_id(mc->id);
        json_decref(root);
        if (r < 0)
            return err_wrap(e, "the sender's machine");
        if (mc->spec.ndisks != in->ndisks)
            return err_set(e, -EPROTO, "the sender's config has %d disks, its machine %d",
                           mc->spec.ndisks, in->ndisks);
        /* Its MAC as it runs there: the guest knows it. */
        memcpy(mc->spec.mac, in->sent_spec.mac, 6);
        mc->spec.set |= SPEC_MAC;
        for (int i = 0; i < in->ndisks; i++) {
            struct mig_disk_desc *d = &in->disks[i];
            struct spec_disk *sd = &mc->spec.disks[i];
            if (in->copy_disks && !d->readonly) {
                char name[64];
                if (sd->path && !strchr(sd->path, '/') && strlen(sd->path) < 48)
                    snprintf(name, sizeof(name), "%s", sd->path);
                else
                    snprintf(name, sizeof(name), "disk%d.qcow2", i);
                int k = st->nstaged;
                machine_path(o->name, name, st->final[k], sizeof(st->final[k]));
                char fin[4096];
                snprintf(fin, sizeof(fin), "%s", st->final[k]);
                snprintf(st->staged[k], sizeof(st->staged[k]), "%.4000s%s", fin,
                         st->created_folder ? "" : ".incoming");
                unlink(st->staged[k]);
                struct block_create_opts co = { .format = BLOCK_FORMAT_QCOW2, .size = d->size };
                if ((r = block_create(st->staged[k], &co, e)) < 0)
                    return r;
                st->nstaged++;
                free(sd->path);
                sd->path = strdup(name);
                sd->format = BLOCK_FORMAT_QCOW2;
                sd->size = 0;
            } else {
                /* Shared: the very image the sender has, by the same path. */
                struct block_open_opts bo = { .format = (enum block_format)in->sent_spec.disks[i].format,
                                              .readonly = true };
                struct blockdev *bd;
                struct err be = ERR_INIT;
                if (block_open(d->path, &bo, &bd, &be) < 0)
                    return err_set(e, -ENOENT, "disk %d: %s is not here (%s): shared disks need "
                                   "the same path on both sides; or migrate with --disks copy",
                                   i, d->path, be.msg);
                uint64_t size = block_size(bd);
                block_close(bd);
                if (size != d->size)
                    return err_set(e, -EINVAL, "disk %d: %s here has %llu bytes, the sender's "
                                   "%llu: not the same disk", i, d->path,
                                   (unsigned long long)size, (unsigned long long)d->size);
                free(sd->path);
                sd->path = strdup(d->path);
                sd->format = in->sent_spec.disks[i].format;
            }
        }
        /* The kernel, initrd and CD image by the same path when they are
         * the same bytes here; else sent into the machine's folder. */
        struct mig_file_desc *files[MIG_NFILES] = { &in->kernel, &in->initrd, &in->cdrom };
        char **paths[MIG_NFILES] = { &mc->spec.kernel, &mc->spec.initrd, &mc->spec.cdrom };
        static const char *const names[MIG_NFILES] = { "kernel", "initrd", "cdrom.iso" };
        for (int k = 0; k < MIG_NFILES; k++) {
            struct mig_file_desc *f = files[k];
            if (!f->path)
                continue;
            if (same_file(f->path, f->size, f->crc)) {
                free(*paths[k]);
                *paths[k] = strdup(f->path);
                continue;
            }
            if (f->size > (k == 2 ? MIG_MAX_CDROM : MIG_MAX_FILE))
                return err_set(e, -EFBIG, "the %s %s is not here and is too large to send "
                               "(%llu MiB): put the same file at the same path here",
                               k == 2 ? "CD image" : names[k], f->path,
                               (unsigned long long)(f->size >> 20));
            f->need = true;
            machine_path(o->name, names[k], st->fetched[k], sizeof(st->fetched[k]));
            f->dest = strdup(st->fetched[k]);
            free(*paths[k]);
            *paths[k] = strdup(st->fetched[k]);
        }
        if (!mc->spec.kernel && spec_firmware(&mc->spec) == SPEC_FW_NONE)
            return err_set(e, -EPROTO, "the sender's machine has neither a kernel nor "
                           "firmware to boot");
        /* A switch is a cluster's, reached through this HOSTEL_HOME: the
         * guest's network (its address, its neighbours) is there only. */
        if (mc->spec.net_mode == NET_MODE_SWITCH && mc->spec.net_switch) {
            char sw[128], sock[4096];
            snprintf(sw, sizeof(sw), "%.*s", (int)strcspn(mc->spec.net_switch, ","),
                     mc->spec.net_switch);
            if (net_switch_path(sw, SWITCH_SOCKET_FILE, sock, sizeof(sock)) < 0 ||
                access(sock, F_OK) < 0)
                return err_set(e, -EOPNOTSUPP, "the machine is on the switch of cluster '%s' "
                               "(--net switch=%s), which does not run here: a machine on a "
                               "cluster's switch moves only where that switch runs (within its "
                               "HOSTEL_HOME, e.g. hostel migrate NAME --engine kvm|emu)", sw, sw);
        }
    }
    if (o->engine) {
        free(mc->spec.engine);
        mc->spec.engine = strdup(o->engine);
        mc->spec.set |= SPEC_ENGINE;
    }
    if (!o->same_folder && st->created_folder && (r = machine_config_save(mc, e)) < 0)
        return r;
    in->same_folder = o->same_folder;
    return migrate_accept_reply(in, host, folder, e);
}

void receive_run_paths(const struct receive_stage *st, struct machine_spec *run_spec)
{
    for (int k = 0; k < st->nstaged; k++)
        for (int i = 0; i < run_spec->ndisks; i++)
            if (run_spec->disks[i].path && !strcmp(run_spec->disks[i].path, st->final[k])) {
                free(run_spec->disks[i].path);
                run_spec->disks[i].path = strdup(st->staged[k]);
            }
}

int receive_commit(const struct receive_opts *o, const struct machine_config *mc,
                   struct machine_spec *run_spec, struct receive_stage *st, struct err *e)
{
    for (int k = 0; k < st->nstaged; k++) {
        if (!strcmp(st->staged[k], st->final[k]))
            continue;
        if (rename(st->staged[k], st->final[k]) < 0)
            return err_set(e, -errno, "cannot rename %s: %s", st->staged[k], strerror(errno));
        for (int i = 0; i < run_spec->ndisks; i++) {
            if (run_spec->disks[i].path && !strcmp(run_spec->disks[i].path, st->staged[k])) {
                free(run_spec->disks[i].path);
                run_spec->disks[i].path = strdup(st->final[k]);
            }
        }
    }
    st->nstaged = 0;
    st->fetched[0][0] = st->fetched[1][0] = 0;
    char marker[4096];
    machine_path(o->name, NEW_MARKER, marker, sizeof(marker));
    unlink(marker);
    return machine_config_save(mc, e);
}

void receive_undo(const struct receive_opts *o, struct receive_stage *st)
{
    if (o->same_folder)
        return;
    if (st->created_folder) {
        /* In the root jail: what is in the folder is the jail user's; the
         * folder itself goes from root's machines folder, through the fd
         * kept from before the jail and the file capabilities kept for
         * this (mgmt/daemon.c). */
        jail_raise_file_caps();
        machine_remove(o->name, NULL);
        if (st->have_parent && unlinkat(st->parent_fd, o->name, AT_REMOVEDIR) < 0 &&
            errno != ENOENT)
            log_warn("cannot remove the folder of machine '%s': %s", o->name, strerror(errno));
        return;
    }
    for (int k = 0; k < st->nstaged; k++)
        if (strcmp(st->staged[k], st->final[k]))
            unlink(st->staged[k]);
    char sp[4096];
    machine_path(o->name, "state", sp, sizeof(sp));
    if (st->old_state[0])
        file_write_atomic(sp, st->old_state, strlen(st->old_state));
    else
        unlink(sp);
}
