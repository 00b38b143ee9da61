/* Snapshots of named machines on disk: records, frozen disk layers, and
 * collecting the layers nothing needs (mgmt/snapshots.h). */
#include "mgmt/snapshots.h"

#include <dirent.h>
#include <errno.h>
#include <jansson.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "block/block_info.h"
#include "lib/file.h"
#include "mgmt/library.h"

int snapshot_name_check(const char *name, struct err *e)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0)
        return err_set(e, -EINVAL, "a snapshot needs a name");
    if (n > SNAPSHOT_NAME_MAX)
        return err_set(e, -EINVAL, "snapshot name '%.20s...' is longer than %d characters",
                       name, SNAPSHOT_NAME_MAX);
    if (name[0] == '.' || name[0] == '-')
        return err_set(e, -EINVAL, "snapshot name '%s' must start with a letter or digit", name);
    for (size_t i = 0; i < n; i++) {
        char c = name[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '-' || c == '_' || c == '.'))
            return err_set(e, -EINVAL, "snapshot name '%s': use letters, digits, '-', '_' and "
                           "'.'", name);
    }
    return 0;
}

int snapshot_path(const char *machine, const char *snap, const char *file, char *buf,
                  size_t len)
{
    char rel[256];
    snprintf(rel, sizeof(rel), "snapshots%s%s%s%s", snap ? "/" : "", snap ? snap : "",
             file && *file ? "/" : "", file ? file : "");
    return machine_path(machine, rel, buf, len);
}

bool snapshot_disk_is_own(const struct spec_disk *d)
{
    return d->path && !strchr(d->path, '/');
}

/* ---- records ---------------------------------------------------------------- */

int snapshot_info_save(const char *machine, const struct snapshot_info *in, struct err *e)
{
    char path[4096];
    snapshot_path(machine, in->name, "info.json", path, sizeof(path));
    json_t *layers = json_array();
    for (int i = 0; i < in->ndisks; i++)
        json_array_append_new(layers, in->layers[i][0] ? json_string(in->layers[i]) : json_null());
    json_t *o = json_pack("{s:i, s:s, s:s, s:I, s:s, s:b, s:I, s:I, s:I, s:o}", "version", 1,
                          "name", in->name, "id", in->id, "created", (json_int_t)in->created,
                          "parent", in->parent, "has_state", in->has_state,
                          "state_bytes", (json_int_t)in->state_bytes,
                          "ram_bytes", (json_int_t)in->ram_bytes,
                          "layer_bytes", (json_int_t)in->layer_bytes, "layers", layers);
    char *text = o ? json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS) : NULL, *line = NULL;
    json_decref(o);
    if (!text || asprintf(&line, "%s\n", text) < 0) {
        free(text);
        return err_set(e, -ENOMEM, "out of memory");
    }
    free(text);
    int r = file_write_atomic(path, line, strlen(line));
    free(line);
    if (r < 0)
        return err_set(e, r, "cannot write %s: %s", path, strerror(-r));
    return 0;
}

static bool layer_name_ok(const char *s)
{
    return s[0] && s[0] != '.' && !strchr(s, '/') && strlen(s) < SNAPSHOT_LAYER_MAX;
}

int snapshot_info_load(const char *machine, const char *snap, struct snapshot_info *out,
                       struct err *e)
{
    char path[4096];
    json_error_t je;
    memset(out, 0, sizeof(*out));
    int r = snapshot_name_check(snap, e);
    if (r < 0)
        return r;
    snapshot_path(machine, snap, "info.json", path, sizeof(path));
    if (access(path, F_OK) < 0)
        return err_set(e, -ENOENT, "machine '%s' has no snapshot named '%s' (see 'hostel "
                       "snapshot ls %s')", machine, snap, machine);
    json_t *o = json_load_file(path, 0, &je);
    if (!o)
        return err_set(e, -EINVAL, "%s: line %d: %s", path, je.line, je.text);
    const char *name = json_string_value(json_object_get(o, "name"));
    const char *id = json_string_value(json_object_get(o, "id"));
    const char *parent = json_string_value(json_object_get(o, "parent"));
    json_t *layers = json_object_get(o, "layers");
    r = 0;
    if (json_integer_value(json_object_get(o, "version")) != 1 || !name || strcmp(name, snap) ||
        !id || strlen(id) >= sizeof(out->id) || !json_is_array(layers) ||
        json_array_size(layers) > SPEC_MAX_DISKS || (parent && strlen(parent) > SNAPSHOT_NAME_MAX)) {
        r = err_set(e, -EINVAL, "%s: not a hostel snapshot record (version 1 with name, id "
                    "and layers)", path);
        goto out;
    }
    snprintf(out->name, sizeof(out->name), "%s", name);
    snprintf(out->id, sizeof(out->id), "%s", id);
    snprintf(out->parent, sizeof(out->parent), "%s", parent ? parent : "");
    out->created = json_integer_value(json_object_get(o, "created"));
    out->has_state = json_is_true(json_object_get(o, "has_state"));
    out->state_bytes = (uint64_t)json_integer_value(json_object_get(o, "state_bytes"));
    out->ram_bytes = (uint64_t)json_integer_value(json_object_get(o, "ram_bytes"));
    out->layer_bytes = (uint64_t)json_integer_value(json_object_get(o, "layer_bytes"));
    size_t i;
    json_t *l;
    json_array_foreach(layers, i, l) {
        if (json_is_null(l))
            continue;
        if (!json_is_string(l) || !layer_name_ok(json_string_value(l))) {
            r = err_set(e, -EINVAL, "%s: layer %zu is not a file name in the machine's folder",
                        path, i);
            goto out;
        }
        snprintf(out->layers[i], sizeof(out->layers[i]), "%s", json_string_value(l));
    }
    out->ndisks = (int)json_array_size(layers);
out:
    json_decref(o);
    return r;
}

static int cmp_created(const void *a, const void *b)
{
    const struct snapshot_info *x = a, *y = b;
    if (x->created != y->created)
        return x->created < y->created ? -1 : 1;
    return strcmp(x->id, y->id);
}

int snapshot_list(const char *machine, struct snapshot_info **out, int *count, struct err *e)
{
    char dir[4096];
    *out = NULL;
    *count = 0;
    snapshot_path(machine, NULL, NULL, dir, sizeof(dir));
    DIR *d = opendir(dir);
    if (!d)
        return errno == ENOENT ? 0 : err_set(e, -errno, "cannot read %s: %s", dir,
                                             strerror(errno));
    struct dirent *de;
    int n = 0, cap = 0;
    struct snapshot_info *list = NULL;
    while ((de = readdir(d))) {
        if (de->d_name[0] == '.')
            continue;
        struct snapshot_info info;
        if (snapshot_info_load(machine, de->d_name, &info, NULL) < 0)
            continue;   /* half made or damaged: not a snapshot */
        if (n == cap) {
            cap = cap ? cap * 2 : 8;
            struct snapshot_info *nl = realloc(list, (size_t)cap * sizeof(*nl));
            if (!nl) {
                closedir(d);
                free(list);
                return err_set(e, -ENOMEM, "out of memory");
            }
            list = nl;
        }
        list[n++] = info;
    }
    closedir(d);
    if (n)
        qsort(list, (size_t)n, sizeof(*list), cmp_created);
    *out = list;
    *count = n;
    return 0;
}

/* ---- layers --------------------------------------------------------------- */

/* "disk.qcow2" + id -> "disk.L<id>.qcow2" */
static void layer_name(const char *active, const char *id, char *buf, size_t len)
{
    const char *dot = strrchr(active, '.');
    size_t stem = dot ? (size_t)(dot - active) : strlen(active);
    snprintf(buf, len, "%.*s.L%s%s", (int)stem, active, id, dot ? dot : "");
}

static uint64_t file_bytes(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (uint64_t)st.st_blocks * 512 : 0;
}

int snapshot_freeze_disks(const char *machine, const struct machine_spec *spec,
                          struct snapshot_info *info, struct err *e)
{
    int done = 0, r = 0;
    info->ndisks = spec->ndisks;
    for (int i = 0; i < spec->ndisks; i++)
        info->layers[i][0] = 0;
    for (int i = 0; i < spec->ndisks; i++) {
        const struct spec_disk *d = &spec->disks[i];
        if (!snapshot_disk_is_own(d)) {
            if (!d->readonly)
                return err_set(e, -EINVAL, "disk %d (%s) is not the machine's own and is "
                               "writable: a snapshot cannot freeze it (give it with "
                               "readonly=on, or as a disk of the machine: --disk size=)", i,
                               d->path ? d->path : "blank");
        }
    }
    for (int i = 0; i < spec->ndisks; i++, done = i) {
        const struct spec_disk *d = &spec->disks[i];
        if (!snapshot_disk_is_own(d))
            continue;
        char active[4096], frozen[4096], lname[SNAPSHOT_LAYER_MAX];
        layer_name(d->path, info->id, lname, sizeof(lname));
        machine_path(machine, d->path, active, sizeof(active));
        machine_path(machine, lname, frozen, sizeof(frozen));
        if (access(frozen, F_OK) == 0) {
            r = err_set(e, -EEXIST, "%s exists already", frozen);
            break;
        }
        if (rename(active, frozen) < 0) {
            r = err_set(e, -errno, "cannot freeze %s: %s", active, strerror(errno));
            break;
        }
        chmod(frozen, 0444);   /* a frozen layer is never written again */
        struct block_create_opts o = { .format = BLOCK_FORMAT_QCOW2, .backing = lname };
        r = block_create(active, &o, e);
        if (r < 0) {
            rename(frozen, active);
            chmod(active, 0644);
            break;
        }
        snprintf(info->layers[i], sizeof(info->layers[i]), "%s", lname);
        info->layer_bytes += file_bytes(frozen);
    }
    if (r < 0) {
        (void)done;
        snapshot_unfreeze_disks(machine, spec, info);
    }
    return r;
}

void snapshot_unfreeze_disks(const char *machine, const struct machine_spec *spec,
                             struct snapshot_info *info)
{
    for (int i = 0; i < spec->ndisks && i < info->ndisks; i++) {
        if (!info->layers[i][0])
            continue;
        char active[4096], frozen[4096];
        machine_path(machine, spec->disks[i].path, active, sizeof(active));
        machine_path(machine, info->layers[i], frozen, sizeof(frozen));
        unlink(active);
        chmod(frozen, 0644);
        rename(frozen, active);
        info->layers[i][0] = 0;
    }
}

void snapshot_read_head(const char *machine, char *buf, size_t len)
{
    char path[4096];
    buf[0] = 0;
    snapshot_path(machine, NULL, ".head", path, sizeof(path));
    FILE *f = fopen(path, "re");
    if (!f)
        return;
    if (fgets(buf, (int)len, f))
        buf[strcspn(buf, "\n")] = 0;
    fclose(f);
    if (snapshot_name_check(buf, NULL) < 0)
        buf[0] = 0;
}

void snapshot_write_head(const char *machine, const char *snap)
{
    char path[4096], line[128];
    snapshot_path(machine, NULL, ".head", path, sizeof(path));
    snprintf(line, sizeof(line), "%s\n", snap ? snap : "");
    file_write_atomic(path, line, strlen(line));
}

int snapshot_restore_disks(const char *machine, const struct machine_spec *spec,
                           const struct snapshot_info *info, struct err *e)
{
    if (info->ndisks != spec->ndisks)
        return err_set(e, -EINVAL, "snapshot '%s' has %d disks, the machine now %d: its disks "
                       "changed since (hostel set --disk)", info->name, info->ndisks,
                       spec->ndisks);
    for (int i = 0; i < spec->ndisks; i++) {
        bool own = snapshot_disk_is_own(&spec->disks[i]);
        if (own != (info->layers[i][0] != 0))
            return err_set(e, -EINVAL, "snapshot '%s': disk %d changed since it was taken",
                           info->name, i);
        if (own) {
            char frozen[4096];
            machine_path(machine, info->layers[i], frozen, sizeof(frozen));
            if (access(frozen, R_OK) < 0)
                return err_set(e, -ENOENT, "snapshot '%s': its disk layer %s is missing",
                               info->name, frozen);
        }
    }
    for (int i = 0; i < spec->ndisks; i++) {
        if (!info->layers[i][0])
            continue;
        char active[4096], tmp[4200];
        machine_path(machine, spec->disks[i].path, active, sizeof(active));
        snprintf(tmp, sizeof(tmp), "%s.new", active);
        unlink(tmp);
        struct block_create_opts o = { .format = BLOCK_FORMAT_QCOW2, .backing = info->layers[i] };
        int r = block_create(tmp, &o, e);
        if (r < 0)
            return r;
        if (rename(tmp, active) < 0) {
            r = -errno;
            unlink(tmp);
            return err_set(e, r, "cannot replace %s: %s", active, strerror(-r));
        }
    }
    return 0;
}

/* ---- what still needs a layer ----------------------------------------------- */

/* Adds every file of an image's backing chain (real paths) to the set. */
struct path_set {
    char **v;
    int n, cap;
};

static int set_add(struct path_set *s, const char *p)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], p))
            return 0;
    if (s->n == s->cap) {
        int cap = s->cap ? s->cap * 2 : 16;
        char **nv = realloc(s->v, (size_t)cap * sizeof(*nv));
        if (!nv)
            return -ENOMEM;
        s->v = nv;
        s->cap = cap;
    }
    char *d = strdup(p);
    if (!d)
        return -ENOMEM;
    s->v[s->n++] = d;
    return 0;
}

static bool set_has(const struct path_set *s, const char *p)
{
    for (int i = 0; i < s->n; i++)
        if (!strcmp(s->v[i], p))
            return true;
    return false;
}

static void set_free(struct path_set *s)
{
    for (int i = 0; i < s->n; i++)
        free(s->v[i]);
    free(s->v);
    memset(s, 0, sizeof(*s));
}

/* Every disk chain that can need a layer of this machine: each machine's
 * active disks and this machine's snapshots, as lists of real paths from
 * the top image down.  Fails when any cannot be read whole. */
struct chain {
    char **v;
    int n;
};

static void chains_free(struct chain *c, int n)
{
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < c[i].n; k++)
            free(c[i].v[k]);
        free(c[i].v);
    }
    free(c);
}

static int chain_add(struct chain **cs, int *n, int *cap, const char *image, int format)
{
    if (*n == *cap) {
        int nc = *cap ? *cap * 2 : 16;
        struct chain *g = realloc(*cs, (size_t)nc * sizeof(*g));
        if (!g)
            return -ENOMEM;
        *cs = g;
        *cap = nc;
    }
    struct chain *c = &(*cs)[*n];
    memset(c, 0, sizeof(*c));
    struct blockdev *bd;
    struct block_open_opts o = { .format = (enum block_format)format, .readonly = true };
    if (block_open(image, &o, &bd, NULL) < 0)
        return -EIO;
    int r = 0;
    for (struct blockdev *b = bd; b && r == 0; b = block_backing(b)) {
        char real[PATH_MAX], **nv = realloc(c->v, (size_t)(c->n + 1) * sizeof(*nv));
        if (!nv) {
            r = -ENOMEM;
            break;
        }
        c->v = nv;
        if (!realpath(block_path(b), real) || !(c->v[c->n] = strdup(real)))
            r = -EIO;
        else
            c->n++;
    }
    block_close(bd);
    (*n)++;             /* counted even when cut short: freed with the rest */
    return r;
}

/* The chains of machine name's disks, added to cs: 0; -ENOENT when it has
 * no configuration yet (being made: no disks); -EIO when they cannot be
 * read (what was read stays in cs). */
static int machine_chains(const char *name, struct chain **cs, int *n, int *cap)
{
    struct machine_config mc;
    if (machine_config_load(name, &mc, NULL) < 0) {
        char cfg[4096];
        machine_path(name, "config.json", cfg, sizeof(cfg));
        return access(cfg, F_OK) < 0 && errno == ENOENT ? -ENOENT : -EIO;
    }
    machine_spec_resolve(name, &mc.spec, NULL);
    int r = 0;
    for (int i = 0; r == 0 && i < mc.spec.ndisks; i++)
        if (mc.spec.disks[i].path)
            r = chain_add(cs, n, cap, mc.spec.disks[i].path, mc.spec.disks[i].format);
    machine_config_free(&mc);
    return r < 0 ? -EIO : 0;
}

static int all_chains(const char *machine, struct chain **out, int *count)
{
    struct chain *cs = NULL;
    int n = 0, cap = 0, r = 0, nm;
    char **names;
    *out = NULL;
    *count = 0;
    if (machine_list(&names, &nm) < 0)
        return -EIO;
    for (int m = 0; m < nm; m++) {
        if (r == 0 && (r = machine_chains(names[m], &cs, &n, &cap)) == -ENOENT)
            r = 0;
        free(names[m]);
    }
    free(names);
    struct snapshot_info *snaps = NULL;
    int ns = 0;
    if (r == 0 && snapshot_list(machine, &snaps, &ns, NULL) < 0)
        r = -EIO;
    for (int i = 0; r == 0 && i < ns; i++) {
        for (int k = 0; r == 0 && k < snaps[i].ndisks; k++) {
            if (!snaps[i].layers[k][0])
                continue;
            char p[4096];
            machine_path(machine, snaps[i].layers[k], p, sizeof(p));
            r = chain_add(&cs, &n, &cap, p, BLOCK_FORMAT_QCOW2);
        }
    }
    free(snaps);
    if (r < 0) {
        chains_free(cs, n);
        return r;
    }
    *out = cs;
    *count = n;
    return 0;
}

/* Everything some machine's active disks or this machine's snapshots need.
 * Fails when any of it cannot be read: then nothing may be taken for
 * unneeded (a layer it could not see may be one a disk stands on). */
static int needed_layers(const char *machine, struct path_set *need)
{
    struct chain *cs;
    int n, r = all_chains(machine, &cs, &n);
    if (r < 0)
        return r;
    for (int c = 0; r == 0 && c < n; c++)
        for (int k = 0; r == 0 && k < cs[c].n; k++)
            r = set_add(need, cs[c].v[k]);
    chains_free(cs, n);
    return r;
}

int snapshot_dependants(const char *machine, char *buf, size_t len)
{
    char **names, mydir[4096], mydir_real[PATH_MAX];
    int n;
    buf[0] = 0;
    machine_path(machine, "", mydir, sizeof(mydir));
    if (!realpath(mydir, mydir_real) || machine_list(&names, &n) < 0)
        return -EIO;
    size_t dl = strlen(mydir_real);
    for (int m = 0; m < n; m++) {
        const char *why = NULL;
        bool reaches = false;
        if (strcmp(names[m], machine)) {
            struct chain *cs = NULL;
            int nc = 0, cap = 0;
            if (machine_chains(names[m], &cs, &nc, &cap) == -EIO)
                why = " (its disks cannot be read: it may use them)";
            for (int c = 0; c < nc; c++)
                for (int k = 0; k < cs[c].n; k++)
                    if (!strncmp(cs[c].v[k], mydir_real, dl) && cs[c].v[k][dl] == '/')
                        reaches = true;
            chains_free(cs, nc);
        }
        if (reaches || why) {
            size_t used = strlen(buf);
            snprintf(buf + used, len - used, "%s%s%s", used ? ", " : "", names[m], why ? why : "");
        }
        free(names[m]);
    }
    free(names);
    return buf[0] ? 1 : 0;
}

int snapshot_collect_layers(const char *machine, struct err *e)
{
    struct path_set need = { 0 };
    if (needed_layers(machine, &need) < 0) {
        set_free(&need);
        return err_set(e, -EIO, "cannot read every machine's disks and snapshots to see which "
                       "disk layers are in use: none removed");
    }
    char dir[4096];
    machine_path(machine, "", dir, sizeof(dir));
    DIR *d = opendir(dir);
    if (!d) {
        set_free(&need);
        return err_set(e, -errno, "cannot read %s: %s", dir, strerror(errno));
    }
    struct dirent *de;
    while ((de = readdir(d))) {
        if (!strstr(de->d_name, ".L") || !strstr(de->d_name, ".qcow2"))
            continue;
        char p[4352], real[PATH_MAX];
        snprintf(p, sizeof(p), "%s/%s", dir, de->d_name);
        if (realpath(p, real) && !set_has(&need, real))
            unlink(p);
    }
    closedir(d);
    set_free(&need);
    return 0;
}

/* ---- merging a layer nothing needs back into the disk ------------------------ */

static bool layer_file_name(const char *name)
{
    size_t n = strlen(name);
    return n > 6 && !strchr(name, '/') && name[0] != '.' && strstr(name, ".L") &&
           !strcmp(name + n - 6, ".qcow2");
}

int snapshot_find_merge(const char *machine, const struct machine_spec *spec,
                        struct snapshot_merge *m, struct err *e)
{
    memset(m, 0, sizeof(*m));
    m->disk = -1;
    char dir[4096], dir_real[PATH_MAX];
    machine_path(machine, "", dir, sizeof(dir));
    if (!realpath(dir, dir_real))
        return err_set(e, -errno, "cannot resolve %s: %s", dir, strerror(errno));
    size_t dl = strlen(dir_real);
    struct chain *cs;
    int n, r = all_chains(machine, &cs, &n);
    if (r < 0)
        return err_set(e, r, "cannot read every machine's disks and snapshots to see which "
                       "disk layers are still needed");
    /* A layer of the folder that tops no chain (no snapshot names it, no
     * machine writes it) and sits under one and the same image in the
     * folder in every chain that has it. */
    int found = 0;
    for (int c = 0; c < n && !found; c++) {
        for (int k = 1; k < cs[c].n && !found; k++) {
            const char *l = cs[c].v[k], *above = cs[c].v[k - 1];
            if (strncmp(l, dir_real, dl) || l[dl] != '/' || !layer_file_name(l + dl + 1) ||
                strncmp(above, dir_real, dl) || above[dl] != '/' || strchr(above + dl + 1, '/'))
                continue;
            bool ok = true;
            for (int c2 = 0; c2 < n && ok; c2++)
                for (int k2 = 0; k2 < cs[c2].n && ok; k2++)
                    if (!strcmp(cs[c2].v[k2], l))
                        ok = k2 > 0 && !strcmp(cs[c2].v[k2 - 1], above);
            /* Into an active disk of this machine, or another frozen layer
             * (an image of the folder that is neither is left alone). */
            const char *up = above + dl + 1;
            m->disk = -1;
            for (int i = 0; i < spec->ndisks; i++)
                if (snapshot_disk_is_own(&spec->disks[i]) && !strcmp(spec->disks[i].path, up))
                    m->disk = i;
            if (!ok || (m->disk < 0 && !layer_file_name(up)))
                continue;
            snprintf(m->layer, sizeof(m->layer), "%s", l + dl + 1);
            snprintf(m->into, sizeof(m->into), "%s", up);
            found = 1;
        }
    }
    chains_free(cs, n);
    if (!found)
        m->disk = -1;
    return found;
}

/* Merges the image at `active` (top: it opened, or NULL) into layer under
 * it and renames layer to its name; frozen: the result stays read-only. */
static int merge_into(const char *machine, const char *active, struct blockdev *top,
                      const char *layer, bool frozen, struct blockdev **merged, struct err *e)
{
    char lpath[4096], lreal[PATH_MAX], breal[PATH_MAX];
    machine_path(machine, layer, lpath, sizeof(lpath));
    struct blockdev *own = NULL, *base = NULL;
    int r = 0;
    if (!top) {
        struct block_open_opts o = { .format = BLOCK_FORMAT_AUTO, .readonly = true };
        if ((r = block_open(active, &o, &own, e)) < 0)
            return r;
        top = own;
    }
    /* Still what it was when found unneeded: the image's backing (a
     * snapshot taken meanwhile would have put its own layer there), and no
     * snapshot of the machine names it. */
    struct blockdev *under = block_backing(top);
    if (!under || !realpath(lpath, lreal) || !realpath(block_path(under), breal) ||
        strcmp(lreal, breal))
        r = err_set(e, -ESTALE, "%s no longer stands on %s (but on %s)", active, lpath,
                    under ? block_path(under) : "nothing");
    struct snapshot_info *snaps = NULL;
    int ns = 0;
    if (r == 0 && (r = snapshot_list(machine, &snaps, &ns, e)) == 0) {
        for (int k = 0; r == 0 && k < ns; k++)
            for (int j = 0; j < snaps[k].ndisks; j++)
                if (!strcmp(snaps[k].layers[j], layer))
                    r = err_set(e, -EBUSY, "snapshot '%s' needs %s", snaps[k].name, layer);
    }
    free(snaps);
    if (r == 0) {
        chmod(lpath, 0644);
        struct block_open_opts rw = { .format = BLOCK_FORMAT_QCOW2 };
        if ((r = block_open(lpath, &rw, &base, e)) == 0)
            r = block_commit(top, base, e);
        /* Either way the disk reads the same: top over a layer that now
         * holds top's clusters too. */
        if (r == 0 && frozen) {
            block_close(base);
            base = NULL;
            chmod(lpath, 0444);
        }
        if (r == 0 && rename(lpath, active) < 0)
            r = err_set(e, -errno, "cannot rename %s to %s: %s", lpath, active, strerror(errno));
        if (r < 0) {
            chmod(lpath, 0444);
            block_close(base);
            base = NULL;
        }
    }
    if (own)
        block_close(own);
    if (r < 0)
        return r;
    if (merged && base) {
        /* Under the active name from now on (and the old path if that fails). */
        struct blockdev *again;
        struct block_open_opts rw = { .format = BLOCK_FORMAT_QCOW2 };
        if (block_open(active, &rw, &again, NULL) == 0) {
            block_close(base);
            base = again;
        }
        *merged = base;
    } else if (base) {
        block_close(base);
    }
    return 0;
}

int snapshot_merge_layer(const char *machine, const struct machine_spec *spec, int i,
                         struct blockdev *top, const char *layer, struct blockdev **merged,
                         struct err *e)
{
    if (merged)
        *merged = NULL;
    if (i < 0 || i >= spec->ndisks || !snapshot_disk_is_own(&spec->disks[i]) ||
        !layer_file_name(layer))
        return err_set(e, -EINVAL, "disk %d cannot merge into '%s'", i, layer);
    char active[4096];
    machine_path(machine, spec->disks[i].path, active, sizeof(active));
    return merge_into(machine, active, top, layer, false, merged, e);
}

int snapshot_merge_frozen(const char *machine, const char *upper, const char *layer,
                          struct err *e)
{
    if (!layer_file_name(upper) || !layer_file_name(layer))
        return err_set(e, -EINVAL, "cannot merge '%s' into '%s'", upper, layer);
    char path[4096];
    machine_path(machine, upper, path, sizeof(path));
    return merge_into(machine, path, NULL, layer, true, NULL, e);
}


int snapshot_remove(const char *machine, const char *snap, struct err *e)
{
    struct snapshot_info info;
    int r = snapshot_info_load(machine, snap, &info, e);
    if (r < 0)
        return r;
    char dir[4096];
    snapshot_path(machine, snap, NULL, dir, sizeof(dir));
    r = file_remove_tree(dir);
    if (r < 0)
        return err_set(e, r, "cannot remove %s: %s", dir, strerror(-r));
    return snapshot_collect_layers(machine, e);
}
