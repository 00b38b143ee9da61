/* Appliance manifests and archives. */
#include "mgmt/appliance.h"

#include <archive.h>
#include <archive_entry.h>
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
#include "lib/size.h"
#include "net/net.h"
#include "mgmt/library.h"
#include "board/spec.h"

/* Paths here join parts that are each bounded by PATH_MAX into PATH_MAX
 * buffers; no real path comes near that, so truncation is not handled. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define MANIFEST "appliance.json"

static bool is_dir(const char *p)
{
    struct stat st;
    return stat(p, &st) == 0 && S_ISDIR(st.st_mode);
}

static bool has_manifest(const char *dir)
{
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, MANIFEST);
    return access(p, R_OK) == 0;
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

bool appliance_is(const char *what)
{
    if (is_dir(what))
        return has_manifest(what);
    if (ends_with(what, ".tar") || ends_with(what, ".hostel"))
        return access(what, R_OK) == 0;
    if (!strchr(what, '/') && access(what, F_OK) != 0)
        return true;   /* a bare name: looked up in the appliance folders */
    return false;
}

/* A file named in the manifest: relative, inside the appliance folder. */
static char *member_path(const char *dir, const char *file, const char *field, struct err *e)
{
    if (!file || !*file || file[0] == '/' || strstr(file, "..")) {
        err_set(e, -EINVAL, "%s/%s: \"%s\" must name a file inside the appliance", dir,
                MANIFEST, field);
        return NULL;
    }
    char p[PATH_MAX];
    snprintf(p, sizeof(p), "%s/%s", dir, file);
    if (access(p, R_OK) != 0) {
        err_set(e, -EINVAL, "%s/%s: \"%s\" names %s, which is missing", dir, MANIFEST, field,
                file);
        return NULL;
    }
    return strdup(p);
}

/* "ssh": {"user": "root", "key": "ssh/id_ed25519", "port": 22}, every
 * field optional.  The user name goes on ssh's command line, so it is held
 * to what a login name may be. */
static int load_ssh(const char *dir, const char *manifest, json_t *ssh, struct appliance *a,
                    struct err *e)
{
    if (!ssh)
        return 0;
    if (!json_is_object(ssh)) {
        err_set(e, -EINVAL, "%s: \"ssh\" must be an object like {\"user\": \"root\", "
                "\"key\": \"ssh/id_ed25519\", \"port\": 22}", manifest);
        return -EINVAL;
    }
    json_t *user = json_object_get(ssh, "user"), *key = json_object_get(ssh, "key"),
           *port = json_object_get(ssh, "port");
    const char *u = user ? json_string_value(user) : "root";
    bool user_ok = u && *u && strlen(u) <= 32 && u[0] != '-';
    for (const char *c = u; user_ok && *c; c++)
        user_ok = (*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') ||
                  (*c >= '0' && *c <= '9') || *c == '_' || *c == '-' || *c == '.';
    if (!user_ok) {
        err_set(e, -EINVAL, "%s: \"ssh\".\"user\" must be a login name (letters, digits, "
                "'_', '-', '.')", manifest);
        return -EINVAL;
    }
    if (port && (!json_is_integer(port) || json_integer_value(port) < 1 ||
                 json_integer_value(port) > 65535)) {
        err_set(e, -EINVAL, "%s: \"ssh\".\"port\" must be a port number (1-65535)", manifest);
        return -EINVAL;
    }
    if (key && !json_is_string(key)) {
        err_set(e, -EINVAL, "%s: \"ssh\".\"key\" must name a file in the appliance", manifest);
        return -EINVAL;
    }
    if (key && !(a->ssh_key = member_path(dir, json_string_value(key), "ssh.key", e)))
        return -EINVAL;
    a->ssh_user = strdup(u);
    a->ssh_port = port ? (int)json_integer_value(port) : 22;
    a->has_ssh = true;
    return 0;
}

static int load_manifest(const char *dir, struct appliance *a, struct err *e)
{
    char p[PATH_MAX];
    json_error_t je;
    snprintf(p, sizeof(p), "%s/%s", dir, MANIFEST);
    json_t *m = json_load_file(p, 0, &je);
    if (!m) {
        err_set(e, -EINVAL, "%s: line %d: %s", p, je.line, je.text);
        return -EINVAL;
    }
    int r = -EINVAL;
    if (!json_is_object(m) || json_integer_value(json_object_get(m, "format")) != 1) {
        err_set(e, -EINVAL, "%s: not an appliance manifest of format 1", p);
        goto out;
    }
    const char *name = json_string_value(json_object_get(m, "name"));
    if (!name) {
        err_set(e, -EINVAL, "%s: the manifest has no \"name\"", p);
        goto out;
    }
    a->dir = strdup(dir);
    a->name = strdup(name);
    const char *v = json_string_value(json_object_get(m, "version"));
    a->version = strdup(v ? v : "0");
    a->kernel = member_path(dir, json_string_value(json_object_get(m, "kernel")), "kernel", e);
    if (!a->kernel)
        goto out;
    const char *initrd = json_string_value(json_object_get(m, "initrd"));
    if (initrd && !(a->initrd = member_path(dir, initrd, "initrd", e)))
        goto out;
    const char *cmdline = json_string_value(json_object_get(m, "cmdline"));
    a->cmdline = cmdline ? strdup(cmdline) : NULL;
    json_t *cpus = json_object_get(m, "cpus");
    a->cpus = cpus ? (int)json_integer_value(cpus) : 1;
    if (a->cpus < 1 || a->cpus > 64) {
        err_set(e, -EINVAL, "%s: \"cpus\" must be 1 to 64", p);
        goto out;
    }
    const char *mem = json_string_value(json_object_get(m, "memory"));
    a->memory = 512ULL << 20;
    if (mem && (parse_size(mem, &a->memory) < 0 || a->memory < (16ULL << 20))) {
        err_set(e, -EINVAL, "%s: \"memory\" must be a size such as \"256M\"", p);
        goto out;
    }
    json_t *disks = json_object_get(m, "disks");
    size_t i;
    json_t *d;
    if (disks && (!json_is_array(disks) || json_array_size(disks) > APPLIANCE_MAX_DISKS)) {
        err_set(e, -EINVAL, "%s: \"disks\" must be a list of at most %d disks", p,
                APPLIANCE_MAX_DISKS);
        goto out;
    }
    json_array_foreach(disks, i, d) {
        a->disks[i].path = member_path(dir, json_string_value(json_object_get(d, "file")),
                                       "disks[].file", e);
        if (!a->disks[i].path)
            goto out;
        const char *fmt = json_string_value(json_object_get(d, "format"));
        if (fmt && strcmp(fmt, "raw") && strcmp(fmt, "qcow2")) {
            err_set(e, -EINVAL, "%s: disk format \"%s\": use raw or qcow2", p, fmt);
            goto out;
        }
        a->disks[i].format = fmt ? strdup(fmt) : NULL;
        a->disks[i].readonly = json_is_true(json_object_get(d, "readonly"));
        a->ndisks++;
    }
    const char *net = json_string_value(json_object_get(m, "net"));
    if (net && strcmp(net, "user") && strcmp(net, "none")) {
        err_set(e, -EINVAL, "%s: \"net\" must be \"user\" or \"none\"", p);
        goto out;
    }
    a->net_user = net && !strcmp(net, "user");
    json_t *fw = json_object_get(m, "forwards");
    if (fw && (!json_is_array(fw) || json_array_size(fw) > APPLIANCE_MAX_FORWARDS)) {
        err_set(e, -EINVAL, "%s: \"forwards\" must be a list of strings like \"tcp:2222:22\"",
                p);
        goto out;
    }
    json_array_foreach(fw, i, d) {
        if (!json_is_string(d)) {
            err_set(e, -EINVAL, "%s: \"forwards\" must be a list of strings", p);
            goto out;
        }
        a->forwards[a->nforwards++] = strdup(json_string_value(d));
    }
    if (load_ssh(dir, p, json_object_get(m, "ssh"), a, e) < 0)
        goto out;
    json_t *ready = json_object_get(m, "ready");
    if (ready && (!json_is_string(ready) || !*json_string_value(ready))) {
        err_set(e, -EINVAL, "%s: \"ready\" must be the console text that shows the machine "
                "is up, such as \"login:\"", p);
        goto out;
    }
    a->ready = ready ? strdup(json_string_value(ready)) : NULL;
    r = 0;
out:
    json_decref(m);
    return r;
}

static int mkdirs(const char *path)
{
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s", path);
    for (char *s = tmp + 1; *s; s++) {
        if (*s == '/') {
            *s = 0;
            if (mkdir(tmp, 0755) < 0 && errno != EEXIST)
                return -errno;
            *s = '/';
        }
    }
    return mkdir(tmp, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

int appliance_unpack(const char *tar, const char *dir, bool import, struct err *e)
{
    struct archive *ar = archive_read_new();
    archive_read_support_format_tar(ar);
    archive_read_support_format_gnutar(ar);
    archive_read_support_filter_all(ar);
    if (archive_read_open_filename(ar, tar, 65536) != ARCHIVE_OK) {
        err_set(e, -EINVAL, "%s: not a readable tar archive: %s", tar, archive_error_string(ar));
        archive_read_free(ar);
        return -EINVAL;
    }
    struct archive_entry *ent;
    int r = 0, h;
    /* A warning (an unknown pax keyword, say) stops the run cache's reader
     * as it always has; an import reads on past it. */
    while ((h = archive_read_next_header(ar, &ent)) == ARCHIVE_OK ||
           (import && h == ARCHIVE_WARN)) {
        const char *name = archive_entry_pathname(ent);
        while (name && name[0] == '.' && name[1] == '/')
            name += 2;
        if (!name || !*name || !strcmp(name, "."))
            continue;
        if (name[0] == '/' || strstr(name, "..")) {
            r = err_set(e, -EINVAL, "%s: refusing the member '%s' (outside the appliance)", tar,
                        name);
            break;
        }
        char out[PATH_MAX];
        snprintf(out, sizeof(out), "%s/%s", dir, name);
        mode_t type = archive_entry_filetype(ent);
        if (type == AE_IFDIR) {
            mkdirs(out);
            continue;
        }
        if (type != AE_IFREG) {
            r = err_set(e, -EINVAL, "%s: refusing the member '%s' (only files and folders)", tar,
                        name);
            break;
        }
        char *slash = strrchr(out, '/');
        *slash = 0;
        mkdirs(out);
        *slash = '/';
        /* Only permission bits travel (an SSH key stays 0600): no set-id bits
         * from an archive. */
        mode_t mode = (archive_entry_perm(ent) & 0777) | 0600;
        int fd = open(out, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
        if (fd < 0 || archive_read_data_into_fd(ar, fd) != ARCHIVE_OK) {
            r = err_set(e, -EIO, "%s: cannot extract '%s': %s", tar, name,
                        fd < 0 ? strerror(errno) : archive_error_string(ar));
            if (fd >= 0)
                close(fd);
            break;
        }
        /* A sparse member ending in a hole leaves the file short. */
        if (ftruncate(fd, archive_entry_size(ent)) < 0) {
            r = err_set(e, -EIO, "%s: cannot extract '%s': %s", tar, name, strerror(errno));
            close(fd);
            break;
        }
        close(fd);
    }
    if (r == 0 && h != ARCHIVE_EOF && import)
        r = err_set(e, -EINVAL, "%s: damaged archive: %s", tar, archive_error_string(ar));
    archive_read_free(ar);
    return r;
}

/* Extracts a tar appliance into the cache, keyed by its size and mtime, so a
 * changed file is extracted afresh.  Paths are checked: nothing lands
 * outside the cache folder, and only regular files and folders are made. */
static int extract_tar(const char *tar, char *dir, size_t dirlen, struct err *e)
{
    char home[PATH_MAX / 2];
    struct stat st;
    if (stat(tar, &st) < 0)
        return err_set(e, -errno, "%s: %s", tar, strerror(errno));
    int r = library_home(home, sizeof(home));
    if (r < 0)
        return err_set(e, r, "cannot place the extracted appliance under hostel's home folder: "
                       "%s", strerror(-r));
    const char *base = strrchr(tar, '/') ? strrchr(tar, '/') + 1 : tar;
    snprintf(dir, dirlen, "%s/appliances/.cache/%s-%llx-%llx", home, base,
             (unsigned long long)st.st_size, (unsigned long long)st.st_mtime);
    if (has_manifest(dir))
        return 0;
    char tmp[PATH_MAX];
    snprintf(tmp, sizeof(tmp), "%s.tmp%d", dir, (int)getpid());
    if ((r = mkdirs(tmp)) < 0)
        return err_set(e, r, "cannot create %s: %s", tmp, strerror(-r));
    r = appliance_unpack(tar, tmp, false, e);
    if (r == 0 && !has_manifest(tmp))
        r = err_set(e, -EINVAL, "%s: no %s at the top of the archive", tar, MANIFEST);
    if (r == 0 && rename(tmp, dir) < 0 && !has_manifest(dir))
        r = err_set(e, -errno, "cannot move the extracted appliance to %s: %s", dir,
                    strerror(errno));
    if (r < 0) {
        char cmd[PATH_MAX + 16];
        snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
        if (system(cmd)) { }
    }
    return r;
}

int appliance_open(const char *what, struct appliance *out, struct err *e)
{
    char dir[PATH_MAX], home[PATH_MAX / 2];
    memset(out, 0, sizeof(*out));
    int r;
    if (is_dir(what)) {
        if (!realpath(what, dir))
            return err_set(e, -errno, "%s: %s", what, strerror(errno));
        if (!has_manifest(dir))
            return err_set(e, -EINVAL, "%s: a folder without %s is not an appliance", what,
                           MANIFEST);
    } else if (access(what, R_OK) == 0) {
        char abs[PATH_MAX];
        if (!realpath(what, abs))
            return err_set(e, -errno, "%s: %s", what, strerror(errno));
        r = extract_tar(abs, dir, sizeof(dir), e);
        if (r < 0)
            return r;
    } else {
        if (strchr(what, '/') || machine_name_check(what, NULL) < 0)
            return err_set(e, -ENOENT, "%s: no such appliance file or folder", what);
        bool found = false;
        if (library_home(home, sizeof(home)) == 0) {
            snprintf(dir, sizeof(dir), "%s/appliances/%s", home, what);
            found = has_manifest(dir);
        }
        if (!found) {
            snprintf(dir, sizeof(dir), "build/appliances/%s", what);
            found = has_manifest(dir);
        }
        if (!found)
            return err_set(e, -ENOENT, "no appliance named '%s' (build one with 'make "
                           "appliance-%s', or give a folder or .tar file)", what, what);
        char abs[PATH_MAX];
        if (!realpath(dir, abs))
            return err_set(e, -errno, "%s: %s", dir, strerror(errno));
        snprintf(dir, sizeof(dir), "%s", abs);
    }
    r = load_manifest(dir, out, e);
    if (r < 0)
        appliance_free(out);
    return r;
}

void appliance_free(struct appliance *a)
{
    free(a->dir);
    free(a->name);
    free(a->version);
    free(a->kernel);
    free(a->initrd);
    free(a->cmdline);
    free(a->ready);
    for (int i = 0; i < APPLIANCE_MAX_DISKS; i++) {
        free(a->disks[i].path);
        free(a->disks[i].format);
    }
    for (int i = 0; i < a->nforwards; i++)
        free(a->forwards[i]);
    free(a->ssh_user);
    free(a->ssh_key);
    memset(a, 0, sizeof(*a));
}

int appliance_spec(const struct appliance *a, struct machine_spec *l, struct err *e)
{
    spec_init(l);
    l->appliance = strdup(a->dir);
    l->kernel = strdup(a->kernel);
    l->set = SPEC_APPLIANCE | SPEC_KERNEL | SPEC_CPUS | SPEC_MEMORY;
    if (a->initrd) {
        l->initrd = strdup(a->initrd);
        l->set |= SPEC_INITRD;
    }
    if (a->cmdline) {
        l->cmdline = strdup(a->cmdline);
        l->set |= SPEC_CMDLINE;
    }
    l->cpus = a->cpus;
    l->memory = a->memory;
    for (int i = 0; i < a->ndisks && i < SPEC_MAX_DISKS; i++) {
        struct spec_disk *d = &l->disks[l->ndisks++];
        d->path = strdup(a->disks[i].path);
        d->format = !a->disks[i].format ? BLOCK_FORMAT_AUTO
                    : !strcmp(a->disks[i].format, "qcow2") ? BLOCK_FORMAT_QCOW2
                                                           : BLOCK_FORMAT_RAW;
        d->readonly = a->disks[i].readonly;
    }
    if (a->net_user || a->nforwards) {
        l->net_mode = NET_MODE_USER;
        l->set |= SPEC_NET;
    }
    for (int i = 0; i < a->nforwards; i++) {
        struct net_forward f;
        int r = net_parse_forward(a->forwards[i], &f, e);
        if (r < 0) {
            spec_free(l);
            err_wrap(e, "%s: forward \"%s\"", a->dir, a->forwards[i]);
            return r;
        }
        if (l->nforwards == NET_MAX_FORWARDS) {
            spec_free(l);
            return err_set(e, -EINVAL, "%s: forward \"%s\": more than %d forwards in all",
                           a->dir, a->forwards[i], NET_MAX_FORWARDS);
        }
        l->forwards[l->nforwards++] = f;
    }
    return 0;
}
