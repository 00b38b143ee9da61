/* The machine library: folders, names, configs, locks and states. */
#include "mgmt/library.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "block/block.h"
#include "lib/file.h"
#include "lib/home.h"
#include "mgmt/appliance.h"

const char *machine_state_name(enum machine_state s)
{
    switch (s) {
    case MACHINE_STOPPED: return "stopped";
    case MACHINE_RUNNING: return "running";
    case MACHINE_PAUSED: return "paused";
    case MACHINE_CRASHED: return "crashed";
    case MACHINE_STARTING: return "starting";
    case MACHINE_INCOMING: return "incoming";
    case MACHINE_MIGRATED: return "migrated";
    }
    return "unknown";
}

int library_home(char *buf, size_t len)
{
    return hostel_home(buf, len);
}

int machine_name_check(const char *name, struct err *e)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0)
        return err_set(e, -EINVAL, "a machine needs a name");
    if (n > MACHINE_NAME_MAX)
        return err_set(e, -EINVAL, "machine name '%.20s...' is longer than %d characters", name,
                       MACHINE_NAME_MAX);
    if (!isalnum((unsigned char)name[0]))
        return err_set(e, -EINVAL, "machine name '%s' must start with a letter or a digit", name);
    for (size_t i = 0; i < n; i++) {
        unsigned char c = (unsigned char)name[i];
        if (!isalnum(c) && c != '-' && c != '_' && c != '.')
            return err_set(e, -EINVAL, "machine name '%s' may hold only letters, digits, '-', "
                           "'_' and '.'", name);
    }
    if (strstr(name, ".."))
        return err_set(e, -EINVAL, "machine name '%s' must not contain '..'", name);
    return 0;
}

int machine_path(const char *name, const char *file, char *buf, size_t len)
{
    char home[3072];
    int r = library_home(home, sizeof(home));
    if (r < 0)
        return r;
    if (machine_name_check(name, NULL) < 0)
        return -EINVAL;
    int n = snprintf(buf, len, "%s/machines/%s%s%s", home, name, file && *file ? "/" : "",
                     file ? file : "");
    return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void machine_config_free(struct machine_config *cfg)
{
    spec_free(&cfg->spec);
}

/* Version 1 folders (before the machine spec): the appliance, if any, laid
 * under the fields the machine stored, its own disk in place of the
 * appliance's first. */
static int load_v1(json_t *root, const char *path, struct machine_spec *s, struct err *e)
{
    const char *kernel = json_string_value(json_object_get(root, "kernel"));
    const char *appliance = json_string_value(json_object_get(root, "appliance"));
    const char *disk = json_string_value(json_object_get(root, "disk"));
    json_t *cpus = json_object_get(root, "cpus"), *mem = json_object_get(root, "memory");
    if ((!kernel && !appliance) || !json_is_integer(cpus) || !json_is_integer(mem))
        return err_set(e, -EINVAL, "%s: not a hostel machine config of version 1 "
                       "(needs version, kernel, cpus, memory)", path);
    if (disk && (strchr(disk, '/') || disk[0] == '.'))
        return err_set(e, -EINVAL, "%s: \"disk\" must be a file name in the machine folder",
                       path);
    struct machine_spec l;
    int r;
    spec_defaults(s);
    if (appliance) {
        struct appliance app;
        if (appliance_open(appliance, &app, e) < 0) {
            err_wrap(e, "%s: its appliance", path);
            return -ENOENT;
        }
        r = appliance_spec(&app, &l, e);
        appliance_free(&app);
        if (r == 0)
            r = spec_apply(s, &l, e);
        spec_free(&l);
        if (r < 0)
            return r;
    }
    if (disk) {
        if (s->ndisks == 0)
            s->ndisks = 1;
        free(s->disks[0].path);
        s->disks[0] = (struct spec_disk){ .path = strdup(disk), .format = BLOCK_FORMAT_QCOW2 };
    }
    spec_init(&l);
    static const char *const keys[] = { "kernel", "initrd", "cmdline", "engine", "net" };
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
        const char *v = json_string_value(json_object_get(root, keys[i]));
        if (v && *v && (r = spec_set_option(&l, keys[i], v, e)) < 0)
            goto fail;
    }
    char num[32];
    snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(cpus));
    if ((r = spec_set_option(&l, "cpus", num, e)) < 0)
        goto fail;
    snprintf(num, sizeof(num), "%lld", (long long)json_integer_value(mem));
    if ((r = spec_set_option(&l, "memory", num, e)) < 0)
        goto fail;
    size_t i;
    json_t *f;
    json_array_foreach(json_object_get(root, "forwards"), i, f) {
        if (!json_is_string(f) || (r = spec_set_option(&l, "forward", json_string_value(f), e)) < 0) {
            r = err_set(e, -EINVAL, "%s: \"forwards\" must hold strings such as \"tcp:0:22\"", path);
            goto fail;
        }
    }
    r = spec_apply(s, &l, e);
fail:
    spec_free(&l);
    if (r < 0 && !strstr(e ? e->msg : "", path))
        err_wrap(e, "%s", path);
    return r;
}

/* Machines from before identities: a stable one from the name. */
static void id_from_name(const char *name, char id[33])
{
    uint64_t h1 = 1469598103934665603ULL, h2 = 0x9e3779b97f4a7c15ULL;
    for (const char *p = name; *p; p++) {
        h1 = (h1 ^ (uint8_t)*p) * 1099511628211ULL;
        h2 = (h2 ^ (uint8_t)*p) * 0xff51afd7ed558ccdULL;
    }
    snprintf(id, 33, "%016llx%016llx", (unsigned long long)h1, (unsigned long long)h2);
}

static bool id_ok(const char *s)
{
    if (!s || strlen(s) != 32)
        return false;
    for (int i = 0; i < 32; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
            return false;
    return true;
}

int machine_config_load(const char *name, struct machine_config *cfg, struct err *e)
{
    char path[4096];
    json_error_t je;
    memset(cfg, 0, sizeof(*cfg));
    int r = machine_path(name, "config.json", path, sizeof(path));
    if (r < 0)
        return err_set(e, r, "bad machine name '%s'", name);
    if (access(path, F_OK) < 0)
        return err_set(e, -ENOENT, "no machine named '%s' (see 'hostel ls')", name);
    json_t *root = json_load_file(path, 0, &je);
    if (!root)
        return err_set(e, -EINVAL, "%s: line %d: %s", path, je.line, je.text);
    snprintf(cfg->name, sizeof(cfg->name), "%s", name);
    cfg->created = json_integer_value(json_object_get(root, "created"));
    const char *id = json_string_value(json_object_get(root, "id"));
    if (id_ok(id))
        snprintf(cfg->id, sizeof(cfg->id), "%s", id);
    else
        id_from_name(name, cfg->id);
    int version = (int)json_integer_value(json_object_get(root, "version"));
    if (version == 1) {
        r = load_v1(root, path, &cfg->spec, e);
    } else if (version == MACHINE_CONFIG_VERSION) {
        r = spec_from_json(json_object_get(root, "spec"), &cfg->spec, e);
        if (r < 0)
            err_wrap(e, "%s", path);
    } else {
        r = err_set(e, -EINVAL, "%s: not a hostel machine config (\"version\" %d; this hostel "
                    "reads 1 and %d)", path, version, MACHINE_CONFIG_VERSION);
    }
    json_decref(root);
    if (r == 0 && !(cfg->spec.set & SPEC_KERNEL) &&
        (cfg->spec.firmware == SPEC_FW_NONE || (!cfg->spec.ndisks && !cfg->spec.cdrom &&
                                                !cfg->spec.bootfile)))
        r = err_set(e, -EINVAL, "%s: the machine has no kernel (nor a disk or CD-ROM for the "
                    "firmware to boot)", path);
    if (r < 0)
        machine_config_free(cfg);
    return r;
}

void machine_new_id(char id[33])
{
    uint8_t b[16] = { 0 };
    int fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
    if (fd < 0 || read(fd, b, sizeof(b)) != (ssize_t)sizeof(b)) {
        struct timespec t;
        clock_gettime(CLOCK_REALTIME, &t);
        uint64_t x = (uint64_t)t.tv_nsec ^ ((uint64_t)t.tv_sec << 20) ^ (uint64_t)getpid() << 40;
        for (int i = 0; i < 16; i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
            b[i] = (uint8_t)(x >> 56);
    }
    if (fd >= 0)
        close(fd);
    for (int i = 0; i < 16; i++)
        snprintf(id + 2 * i, 3, "%02x", b[i]);
}

int machine_config_save(const struct machine_config *cfg, struct err *e)
{
    char path[4096];
    int r = machine_path(cfg->name, "config.json", path, sizeof(path));
    if (r < 0)
        return err_set(e, r, "bad machine name '%s'", cfg->name);
    json_t *root = json_object();
    json_object_set_new(root, "version", json_integer(MACHINE_CONFIG_VERSION));
    json_object_set_new(root, "name", json_string(cfg->name));
    json_object_set_new(root, "created", json_integer(cfg->created));
    if (id_ok(cfg->id))
        json_object_set_new(root, "id", json_string(cfg->id));
    json_object_set_new(root, "spec", spec_to_json(&cfg->spec));
    char *text = json_dumps(root, JSON_INDENT(2) | JSON_SORT_KEYS), *line = NULL;
    json_decref(root);
    if (!text || asprintf(&line, "%s\n", text) < 0) {
        free(text);
        return err_set(e, -ENOMEM, "cannot format the config of '%s'", cfg->name);
    }
    free(text);
    r = file_write_atomic(path, line, strlen(line));
    free(line);
    if (r < 0)
        return err_set(e, r, "cannot write %s: %s", path, strerror(-r));
    return 0;
}

int machine_spec_resolve(const char *name, struct machine_spec *s, struct err *e)
{
    for (int i = 0; i < s->ndisks; i++) {
        char *p = s->disks[i].path;
        if (!p || p[0] == '/')
            continue;
        char full[4096];
        int r = machine_path(name, p, full, sizeof(full));
        if (r < 0)
            return err_set(e, r, "machine '%s': disk path %s is too long", name, p);
        free(p);
        s->disks[i].path = strdup(full);
    }
    return 0;
}

int machine_create(const struct machine_config *cfg, struct err *e)
{
    char dir[4096];
    int r = machine_name_check(cfg->name, e);
    if (r < 0)
        return r;
    r = machine_path(cfg->name, "", dir, sizeof(dir));
    if (r < 0)
        return err_set(e, r, "machine folder path too long");
    /* The parent exists first; mkdir of the machine folder itself is the
     * atomic claim on the name. */
    char *slash = strrchr(dir, '/');
    *slash = 0;
    r = file_mkdir_p(dir);
    *slash = '/';
    if (r < 0)
        return err_set(e, r, "cannot create the library folder %s: %s", dir, strerror(-r));
    if (mkdir(dir, 0755) < 0) {
        r = -errno;
        if (r == -EEXIST)
            return err_set(e, r, "a machine named '%s' already exists", cfg->name);
        return err_set(e, r, "cannot create %s: %s", dir, strerror(errno));
    }
    r = machine_config_save(cfg, e);
    if (r < 0)
        rmdir(dir);
    return r;
}

int machine_remove(const char *name, struct err *e)
{
    char dir[4096];
    int r = machine_path(name, "", dir, sizeof(dir));
    if (r < 0)
        return err_set(e, r, "bad machine name '%s'", name);
    DIR *d = opendir(dir);
    if (!d) {
        r = -errno;
        return err_set(e, r, r == -ENOENT ? "no machine named '%s'" : "cannot open '%s'", name);
    }
    closedir(d);
    /* Its snapshots and frozen disk layers go with it. */
    r = file_remove_tree(dir);
    if (r < 0)
        return err_set(e, r, "cannot remove %s: %s", dir, strerror(-r));
    return 0;
}

/* A machine's folder has its config, or is a receiver waiting for its
 * machine (live migration). */
static bool is_machine(const char *name, void *opaque)
{
    (void)opaque;
    char cfgp[4096];
    if (machine_name_check(name, NULL) < 0)
        return false;
    if (machine_path(name, "config.json", cfgp, sizeof(cfgp)) == 0 && access(cfgp, F_OK) == 0)
        return true;
    return machine_state_get(name, NULL, 0) == MACHINE_INCOMING;
}

int machine_list(char ***names, int *count)
{
    return hostel_home_list("machines", is_machine, NULL, names, count);
}

int machine_lock_acquire(const char *name, int *fd_out)
{
    char path[4096];
    int r = machine_path(name, "lock", path, sizeof(path));
    if (r < 0)
        return r;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0)
        return -errno;
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        r = errno == EWOULDBLOCK ? -EBUSY : -errno;
        close(fd);
        return r;
    }
    *fd_out = fd;
    return 0;
}

bool machine_lock_held(const char *name)
{
    char path[4096];
    if (machine_path(name, "lock", path, sizeof(path)) < 0)
        return false;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool held = flock(fd, LOCK_SH | LOCK_NB) < 0 && errno == EWOULDBLOCK;
    close(fd);
    return held;
}

enum machine_state machine_state_get(const char *name, char *why, size_t len)
{
    char path[4096];
    struct file_buf b;
    if (why && len)
        why[0] = 0;
    bool held = machine_lock_held(name);
    if (machine_path(name, "state", path, sizeof(path)) < 0 || file_read_all(path, &b) < 0)
        return held ? MACHINE_RUNNING : MACHINE_STOPPED;
    char word[32] = "";
    sscanf((char *)b.data, "%31s", word);
    const char *rest = strchr((char *)b.data, ' ');
    enum machine_state s;
    if (!strcmp(word, "running"))
        s = MACHINE_RUNNING;
    else if (!strcmp(word, "paused"))
        s = MACHINE_PAUSED;
    else if (!strcmp(word, "starting"))
        s = MACHINE_STARTING;
    else if (!strcmp(word, "crashed"))
        s = MACHINE_CRASHED;
    else if (!strcmp(word, "incoming"))
        s = MACHINE_INCOMING;
    else if (!strcmp(word, "migrated"))
        s = MACHINE_MIGRATED;
    else
        s = MACHINE_STOPPED;
    if (!held && s == MACHINE_INCOMING) {
        /* A receiver that died mid-way: nothing runs, nothing is kept. */
        s = MACHINE_CRASHED;
        if (why)
            snprintf(why, len, "an interrupted migration left this: 'hostel rm %s', or receive "
                     "it again", name);
    } else if (!held && (s == MACHINE_RUNNING || s == MACHINE_PAUSED || s == MACHINE_STARTING)) {
        /* The state file says alive, but nobody holds the lock: the VMM died. */
        s = MACHINE_CRASHED;
        if (why)
            snprintf(why, len, "its VMM process died without stopping the machine");
    } else if ((s == MACHINE_CRASHED || s == MACHINE_MIGRATED || s == MACHINE_INCOMING) && why &&
               rest) {
        snprintf(why, len, "%s", rest + 1);
        why[strcspn(why, "\n")] = 0;
    }
    file_buf_free(&b);
    return s;
}
