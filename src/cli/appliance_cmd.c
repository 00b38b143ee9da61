/* `hostel appliance ls|pack|import`: lists the appliances hostel can find,
 * packs one into a single tar file and unpacks such a file into the library. */
#include "cli/appliance_cmd.h"
#include "mgmt/pack.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <jansson.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/size.h"
#include "mgmt/appliance.h"
#include "mgmt/library.h"

/* Paths join parts each bounded by PATH_MAX; no real path comes near it. */
#pragma GCC diagnostic ignored "-Wformat-truncation"

#define MANIFEST "appliance.json"

static void usage(FILE *f)
{
    fprintf(f,
            "usage: hostel appliance ls [--json]\n"
            "       hostel appliance pack NAME|DIR OUT [--force]\n"
            "       hostel appliance import FILE [--name NAME] [--force]\n"
            "\n"
            "  ls      every appliance hostel finds: folders in $HOSTEL_HOME/appliances\n"
            "          and build/appliances, and tar files in $HOSTEL_HOME/appliances,\n"
            "          with name, version, size on disk and where; a broken one is\n"
            "          listed with what is wrong\n"
            "  pack    write the appliance as one file OUT: a tar with appliance.json\n"
            "          first, then the files the manifest names (nothing else);\n"
            "          OUT ending in .tar is plain, .tar.gz gzip, .tar.zst or .hostel\n"
            "          zstd.  Sparse disks stay sparse in the tar.  --force replaces\n"
            "          an existing OUT\n"
            "  import  check a packed appliance and unpack it into\n"
            "          $HOSTEL_HOME/appliances/NAME (NAME from its manifest unless\n"
            "          --name says); --force replaces an appliance of that name\n"
            "\n"
            "'hostel run NAME' then boots it; 'hostel run FILE' boots a packed one as is.\n");
}

static bool ends_with(const char *s, const char *suffix)
{
    size_t a = strlen(s), b = strlen(suffix);
    return a >= b && !strcmp(s + a - b, suffix);
}

static bool is_tar_name(const char *s)
{
    return ends_with(s, ".tar") || ends_with(s, ".tar.gz") || ends_with(s, ".tgz") ||
           ends_with(s, ".tar.zst") || ends_with(s, ".hostel");
}

static uint64_t tree_bytes;
static int add_usage(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)p, (void)flag, (void)ftw;
    tree_bytes += (uint64_t)st->st_blocks * 512;
    return 0;
}

/* Bytes a folder takes on disk (holes in sparse files not counted). */
static uint64_t disk_usage(const char *path)
{
    tree_bytes = 0;
    nftw(path, add_usage, 16, FTW_PHYS);
    return tree_bytes;
}

static int remove_one(const char *p, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)ftw;
    if (flag == FTW_DP ? rmdir(p) : unlink(p))
        return -1;
    return 0;
}

static void remove_tree(const char *path)
{
    nftw(path, remove_one, 16, FTW_DEPTH | FTW_PHYS);
}

/* The manifest's name and version from a tar, read without unpacking it. */
static int peek_tar(const char *tar, char **name, char **version, struct err *e)
{
    struct archive *ar = archive_read_new();
    archive_read_support_format_tar(ar);
    archive_read_support_format_gnutar(ar);
    archive_read_support_filter_all(ar);
    int r = -EINVAL;
    if (archive_read_open_filename(ar, tar, 65536) != ARCHIVE_OK) {
        err_set(e, r, "not a readable tar archive: %s", archive_error_string(ar));
        goto out;
    }
    struct archive_entry *ent;
    while (archive_read_next_header(ar, &ent) == ARCHIVE_OK) {
        const char *n = archive_entry_pathname(ent);
        while (n && n[0] == '.' && n[1] == '/')
            n += 2;
        if (!n || strcmp(n, MANIFEST))
            continue;
        int64_t size = archive_entry_size(ent);
        if (size <= 0 || size > (1 << 20)) {
            err_set(e, r, "%s is empty or over 1 MiB", MANIFEST);
            goto out;
        }
        char *buf = malloc((size_t)size);
        ssize_t got = buf ? archive_read_data(ar, buf, (size_t)size) : -1;
        json_error_t je;
        json_t *m = got == size ? json_loadb(buf, (size_t)size, 0, &je) : NULL;
        free(buf);
        if (!m) {
            err_set(e, r, "%s: %s", MANIFEST,
                    got == size ? je.text : "cannot read it from the archive");
            goto out;
        }
        const char *nm = json_string_value(json_object_get(m, "name"));
        const char *v = json_string_value(json_object_get(m, "version"));
        if (!json_is_object(m) || json_integer_value(json_object_get(m, "format")) != 1 || !nm) {
            err_set(e, r, "%s: not an appliance manifest of format 1 with a name", MANIFEST);
        } else {
            *name = strdup(nm);
            *version = strdup(v ? v : "0");
            r = 0;
        }
        json_decref(m);
        goto out;
    }
    err_set(e, r, "no %s in the archive", MANIFEST);
out:
    archive_read_free(ar);
    return r;
}

/* One row of `ls`, printed or added to the JSON list. */
static void list_row(json_t *list, const char *name, const char *manifest_name,
                     const char *version, const char *kind, const char *path, uint64_t size,
                     const char *error)
{
    if (list) {
        json_t *o = json_pack("{s:s, s:s, s:s, s:I}", "name", name, "kind", kind, "path", path,
                              "size", (json_int_t)size);
        if (manifest_name)
            json_object_set_new(o, "manifest_name", json_string(manifest_name));
        if (version)
            json_object_set_new(o, "version", json_string(version));
        if (error)
            json_object_set_new(o, "error", json_string(error));
        json_array_append_new(list, o);
        return;
    }
    char sz[32], shown[300];
    format_size(size, sz, sizeof(sz));
    if (manifest_name && strcmp(manifest_name, name))
        snprintf(shown, sizeof(shown), "%s (%s)", name, manifest_name);
    else
        snprintf(shown, sizeof(shown), "%s", name);
    printf("%-20s %-10s %9s  %s\n", shown, error ? "-" : version, sz, path);
    if (error)
        printf("  broken: %s\n", error);
}

static int list_place(const char *place, bool tars, json_t *list)
{
    struct dirent **names;
    int n = scandir(place, &names, NULL, alphasort);
    if (n < 0)
        return 0;   /* a place that does not exist holds nothing */
    int count = 0;
    for (int i = 0; i < n; i++) {
        const char *d = names[i]->d_name;
        char path[PATH_MAX];
        struct err e = ERR_INIT;
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", place, d);
        if (d[0] == '.' || stat(path, &st) < 0) {
            free(names[i]);
            continue;
        }
        if (S_ISDIR(st.st_mode)) {
            struct appliance a;
            char abs[PATH_MAX];
            const char *where = realpath(path, abs) ? abs : path;
            if (appliance_open(path, &a, &e) == 0) {
                list_row(list, d, a.name, a.version, "folder", where, disk_usage(path), NULL);
                appliance_free(&a);
            } else {
                list_row(list, d, NULL, NULL, "folder", where, disk_usage(path), e.msg);
            }
            count++;
        } else if (tars && S_ISREG(st.st_mode) && is_tar_name(d)) {
            char *name = NULL, *version = NULL;
            if (peek_tar(path, &name, &version, &e) == 0)
                list_row(list, name, name, version, "file", path,
                         (uint64_t)st.st_blocks * 512, NULL);
            else
                list_row(list, d, NULL, NULL, "file", path, (uint64_t)st.st_blocks * 512, e.msg);
            free(name);
            free(version);
            count++;
        }
        free(names[i]);
    }
    free(names);
    return count;
}

static int cmd_ls(int argc, char **argv)
{
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            as_json = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else {
            log_error("appliance ls: unexpected argument '%s' (see 'hostel appliance --help')",
                      argv[i]);
            return 1;
        }
    }
    json_t *list = as_json ? json_array() : NULL;
    char home[PATH_MAX / 2], place[PATH_MAX];
    int count = 0;
    if (!as_json)
        printf("%-20s %-10s %9s  %s\n", "NAME", "VERSION", "SIZE", "WHERE");
    if (library_home(home, sizeof(home)) == 0) {
        snprintf(place, sizeof(place), "%s/appliances", home);
        count += list_place(place, true, list);
    }
    count += list_place("build/appliances", false, list);
    if (as_json) {
        char *s = json_dumps(list, JSON_INDENT(2));
        printf("%s\n", s);
        free(s);
        json_decref(list);
    } else if (!count) {
        printf("(none: build one with 'make appliance-tiny', or 'hostel appliance import "
               "FILE')\n");
    }
    return 0;
}

static int cmd_pack(int argc, char **argv)
{
    const char *pos[2] = { NULL, NULL };
    int npos = 0;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f")) {
            force = true;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || npos == 2) {
            log_error("appliance pack: unexpected argument '%s' (usage: hostel appliance pack "
                      "NAME|DIR OUT [--force])", argv[i]);
            return 1;
        } else {
            pos[npos++] = argv[i];
        }
    }
    if (npos != 2) {
        log_error("appliance pack: give an appliance and an output file (usage: hostel "
                  "appliance pack NAME|DIR OUT [--force])");
        return 1;
    }
    const char *out = pos[1];
    struct err fe = ERR_INIT;
    if (pack_filter_for(out, NULL, &fe) < 0) {
        log_error("appliance pack: %s", fe.msg);
        return 1;
    }
    if (!force && access(out, F_OK) == 0) {
        log_error("appliance pack: %s exists: give --force to replace it", out);
        return 1;
    }
    struct appliance a;
    struct err e = ERR_INIT;
    if (appliance_open(pos[0], &a, &e) < 0) {
        log_error("appliance pack: %s", e.msg);
        return 1;
    }
    /* The manifest first, so a reader finds it without scanning, then only
     * the files it names, each once. */
    const char *files[4 + APPLIANCE_MAX_DISKS];
    int nfiles = 0;
    const char *named[3 + APPLIANCE_MAX_DISKS] = { a.kernel, a.initrd, a.ssh_key };
    for (int i = 0; i < a.ndisks; i++)
        named[3 + i] = a.disks[i].path;
    files[nfiles++] = MANIFEST;
    size_t dl = strlen(a.dir);
    for (int i = 0; i < 3 + a.ndisks; i++) {
        if (!named[i] || strncmp(named[i], a.dir, dl) || named[i][dl] != '/')
            continue;
        const char *rel = named[i] + dl + 1;
        bool seen = false;
        for (int j = 0; j < nfiles; j++)
            seen |= !strcmp(files[j], rel);
        if (!seen)
            files[nfiles++] = rel;
    }
    int r = pack_files(out, a.dir, files, nfiles, &e);
    if (r < 0)
        log_error("appliance pack: %s", e.msg);
    if (r == 0) {
        struct stat st;
        double mib = stat(out, &st) == 0 ? (double)st.st_size / (1 << 20) : 0;
        printf("packed %s %s (%d files) into %s, %.1f MiB\n", a.name, a.version, nfiles, out,
               mib);
    }
    appliance_free(&a);
    return r < 0 ? 1 : 0;
}

static int cmd_import(int argc, char **argv)
{
    const char *file = NULL, *name = NULL;
    bool force = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--force") || !strcmp(argv[i], "-f")) {
            force = true;
        } else if (!strcmp(argv[i], "--name") && i + 1 < argc) {
            name = argv[++i];
        } else if (!strncmp(argv[i], "--name=", 7)) {
            name = argv[i] + 7;
        } else if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
            usage(stdout);
            return 0;
        } else if (argv[i][0] == '-' || file) {
            log_error("appliance import: unexpected argument '%s' (usage: hostel appliance "
                      "import FILE [--name NAME] [--force])", argv[i]);
            return 1;
        } else {
            file = argv[i];
        }
    }
    if (!file) {
        log_error("appliance import: give the packed appliance to import (usage: hostel "
                  "appliance import FILE [--name NAME] [--force])");
        return 1;
    }
    struct stat st;
    if (stat(file, &st) < 0) {
        log_error("appliance import: %s: %s", file, strerror(errno));
        return 1;
    }
    if (!S_ISREG(st.st_mode)) {
        log_error("appliance import: %s: not a file (give a packed appliance; a folder is "
                  "used in place by 'hostel run DIR')", file);
        return 1;
    }
    char home[PATH_MAX / 2], place[PATH_MAX], target[PATH_MAX], tmp[PATH_MAX];
    struct err e = ERR_INIT;
    if (name && machine_name_check(name, &e) < 0) {
        log_error("appliance import: --name '%s': %s", name, e.msg);
        return 1;
    }
    if (library_home(home, sizeof(home)) < 0) {
        log_error("appliance import: no hostel home folder (set HOSTEL_HOME)");
        return 1;
    }
    snprintf(place, sizeof(place), "%s/appliances", home);
    if (mkdir(home, 0755) < 0 && errno != EEXIST) { }
    if (mkdir(place, 0755) < 0 && errno != EEXIST) {
        log_error("appliance import: cannot create %s: %s", place, strerror(errno));
        return 1;
    }
    if (name) {
        snprintf(target, sizeof(target), "%s/%s", place, name);
        if (!force && access(target, F_OK) == 0) {
            log_error("appliance import: %s exists: give --force to replace it, or --name "
                      "to import under another name", target);
            return 1;
        }
    }
    /* Unpacked beside its final place, so the last step is one rename. */
    snprintf(tmp, sizeof(tmp), "%s/.import-XXXXXX", place);
    if (!mkdtemp(tmp)) {
        log_error("appliance import: cannot create a folder in %s: %s", place, strerror(errno));
        return 1;
    }
    chmod(tmp, 0755);
    struct appliance a = { 0 };
    int r = appliance_unpack(file, tmp, true, &e);
    if (r == 0 && (r = appliance_open(tmp, &a, &e)) < 0) {
        /* Name the file the user gave, not our temporary folder. */
        const char *inner = strstr(e.msg, MANIFEST);
        char msg[sizeof(e.msg)];
        snprintf(msg, sizeof(msg), "%s", inner ? inner : e.msg);
        err_set(&e, r, "%s: %s", file, msg);
    }
    if (r < 0) {
        log_error("appliance import: %s", e.msg);
        remove_tree(tmp);
        return 1;
    }
    if (!name) {
        if (machine_name_check(a.name, &e) < 0) {
            log_error("appliance import: %s: the manifest's name '%s' cannot name a folder "
                      "(%s): give --name NAME", file, a.name, e.msg);
            goto fail;
        }
        name = a.name;
        snprintf(target, sizeof(target), "%s/%s", place, name);
    }
    char old[PATH_MAX] = "";
    if (access(target, F_OK) == 0) {
        if (!force) {
            log_error("appliance import: %s exists: give --force to replace it, or --name to "
                      "import under another name", target);
            goto fail;
        }
        snprintf(old, sizeof(old), "%s/.old-%s-%d", place, name, (int)getpid());
        if (rename(target, old) < 0) {
            log_error("appliance import: cannot move %s aside: %s", target, strerror(errno));
            goto fail;
        }
    }
    if (rename(tmp, target) < 0) {
        log_error("appliance import: cannot move the unpacked appliance to %s: %s", target,
                  strerror(errno));
        if (*old && rename(old, target) < 0) { }
        goto fail;
    }
    if (*old)
        remove_tree(old);
    char sz[32];
    format_size(disk_usage(target), sz, sizeof(sz));
    printf("imported %s %s into %s (%s): 'hostel run %s' boots it\n", a.name, a.version, target,
           sz, name);
    appliance_free(&a);
    return 0;
fail:
    appliance_free(&a);
    remove_tree(tmp);
    return 1;
}

int cmd_appliance(int argc, char **argv)
{
    if (argc < 2 || !strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") ||
        !strcmp(argv[1], "help")) {
        usage(argc < 2 ? stderr : stdout);
        return argc < 2 ? 1 : 0;
    }
    const char *sub = argv[1];
    if (!strcmp(sub, "ls") || !strcmp(sub, "list"))
        return cmd_ls(argc - 1, argv + 1);
    if (!strcmp(sub, "pack"))
        return cmd_pack(argc - 1, argv + 1);
    if (!strcmp(sub, "import"))
        return cmd_import(argc - 1, argv + 1);
    log_error("appliance: unknown subcommand '%s' (ls, pack or import; see 'hostel appliance "
              "--help')", sub);
    return 1;
}
