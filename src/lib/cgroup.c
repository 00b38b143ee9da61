/* CPU and memory limits through cgroup v2 or v1 (lib/cgroup.h). */
#include "lib/cgroup.h"

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define CPU_PERIOD_US 100000u

/* snprintf for paths and reports: truncation is harmless here (a path that
 * long fails to open, a report is cut short). */
static __attribute__((format(printf, 3, 4))) int fmt(char *buf, size_t len, const char *f, ...)
{
    va_list ap;
    va_start(ap, f);
    int n = vsnprintf(buf, len, f, ap);
    va_end(ap);
    return n;
}

static int write_text(const char *dir, const char *file, const char *text)
{
    char path[640];
    fmt(path, sizeof(path), "%s/%s", dir, file);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int r = n < 0 ? -errno : (size_t)n == strlen(text) ? 0 : -EIO;
    close(fd);
    return r;
}

static bool read_has_word(const char *dir, const char *file, const char *word)
{
    char path[640], buf[1024];
    fmt(path, sizeof(path), "%s/%s", dir, file);
    FILE *f = fopen(path, "re");
    if (!f)
        return false;
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = 0;
    for (char *save = NULL, *t = strtok_r(buf, " \n", &save); t; t = strtok_r(NULL, " \n", &save))
        if (!strcmp(t, word))
            return true;
    return false;
}

/* The mount point of a cgroup hierarchy: v2 (want NULL), or the v1 one
 * whose options hold controller want. */
static bool find_mount(const char *want, char *out, size_t len)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[1024];
    bool found = false;
    if (!f)
        return false;
    while (!found && fgets(line, sizeof(line), f)) {
        /* ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [TAGS...] - FSTYPE SOURCE SUPEROPTS */
        char root[512], mnt[512], fstype[32], super[512];
        char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %511s %511s", root, mnt) != 2 ||
            sscanf(dash + 3, "%31s %*s %511s", fstype, super) != 2)
            continue;
        if (strcmp(root, "/"))
            continue;        /* a bind of a subtree: paths would not line up */
        if (!want) {
            found = !strcmp(fstype, "cgroup2");
        } else if (!strcmp(fstype, "cgroup")) {
            char *save = NULL;
            for (char *t = strtok_r(super, ",", &save); t && !found; t = strtok_r(NULL, ",", &save))
                found = !strcmp(t, want);
        }
        if (found)
            fmt(out, len, "%s", mnt);
    }
    fclose(f);
    return found;
}

/* This process's cgroup path: v2 ("0::/path", want NULL) or the v1 line
 * whose controllers hold want. */
static bool own_path(const char *want, char *out, size_t len)
{
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[1024];
    bool found = false;
    if (!f)
        return false;
    while (!found && fgets(line, sizeof(line), f)) {
        line[strcspn(line, "\n")] = 0;
        char *c1 = strchr(line, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2)
            continue;
        *c1 = *c2 = 0;
        if (!want) {
            found = !strcmp(line, "0") && c1 + 1 == c2;
        } else {
            char *save = NULL;
            for (char *t = strtok_r(c1 + 1, ",", &save); t && !found; t = strtok_r(NULL, ",", &save))
                found = !strcmp(t, want);
        }
        if (found)
            fmt(out, len, "%s", c2 + 1);
    }
    fclose(f);
    return found;
}

static int join(const char *dir)
{
    char pid[32];
    fmt(pid, sizeof(pid), "%d\n", (int)getpid());
    return write_text(dir, "cgroup.procs", pid);
}

static int make_dir(const char *dir)
{
    return mkdir(dir, 0755) < 0 && errno != EEXIST ? -errno : 0;
}

int cgroup_sweep(const char *parent)
{
    DIR *d = opendir(parent);
    if (!d)
        return 0;
    int removed = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (strncmp(de->d_name, "hostel-", 7))
            continue;
        const char *dash = strrchr(de->d_name, '-');
        char *end;
        long pid = strtol(dash + 1, &end, 10);
        if (dash < de->d_name + 7 || end == dash + 1 || *end || pid <= 0 || pid == getpid())
            continue;
        if (kill((pid_t)pid, 0) == 0 || errno != ESRCH)
            continue;    /* its VMM still runs (or its pid was reused): kept */
        char dir[800];
        fmt(dir, sizeof(dir), "%s/%s", parent, de->d_name);
        if (rmdir(dir) == 0)    /* a cgroup with processes in it refuses (EBUSY) */
            removed++;
    }
    closedir(d);
    return removed;
}

/* v2: a child of our cgroup; we move into it first, so the parent may be
 * empty and can hand the controllers down ("no internal processes"). */
static int try_v2(const char *leaf, const struct cgroup_limits *lim, struct cgroup_place *p,
                  char *why, size_t len)
{
    char mnt[256], own[256], parent[520], dir[560];
    if (!find_mount(NULL, mnt, sizeof(mnt)) || !own_path(NULL, own, sizeof(own)))
        return fmt(why, len, "no cgroup v2 hierarchy for this process"), -ENOENT;
    fmt(parent, sizeof(parent), "%s%s", mnt, strcmp(own, "/") ? own : "");
    const char *need[2] = { lim->cpu_milli ? "cpu" : NULL, lim->memory_max ? "memory" : NULL };
    bool lacks[2] = { need[0] && !read_has_word(parent, "cgroup.controllers", "cpu"),
                      need[1] && !read_has_word(parent, "cgroup.controllers", "memory") };
    if (lacks[0] || lacks[1])
        return fmt(why, len, "cgroup v2 at %s does not offer %s to this process (not "
                   "delegated to it)", parent,
                   lacks[0] && lacks[1] ? "cpu and memory" : lacks[0] ? "cpu" : "memory"),
               -ENOTSUP;
    fmt(dir, sizeof(dir), "%s/%s", parent, leaf);
    cgroup_sweep(parent);
    int r = make_dir(dir);
    if (r < 0)
        return fmt(why, len, "cannot make cgroup %s: %s", dir, strerror(-r)), r;
    if ((r = join(dir)) < 0) {
        rmdir(dir);
        return fmt(why, len, "cannot move into cgroup %s: %s", dir, strerror(-r)), r;
    }
    char ctl[32];
    bool had[2] = { need[0] && read_has_word(parent, "cgroup.subtree_control", "cpu"),
                    need[1] && read_has_word(parent, "cgroup.subtree_control", "memory") };
    fmt(ctl, sizeof(ctl), "%s%s%s", need[0] ? "+cpu" : "", need[0] && need[1] ? " " : "",
        need[1] ? "+memory" : "");
    r = write_text(parent, "cgroup.subtree_control", ctl);
    if (r < 0) {
        join(parent);
        rmdir(dir);
        return fmt(why, len, "cgroup v2 at %s cannot hand %s to a child: %s%s", parent, ctl,
                   strerror(-r), r == -EBUSY ? " (other processes share this cgroup)" : ""), r;
    }
    p->version = 2;
    /* What leaving must hand back: the parent takes processes again only
     * once the controllers we enabled for its children are off. */
    fmt(p->handed_down, sizeof(p->handed_down), "%s%s%s",
        need[0] && !had[0] ? "-cpu" : "", need[0] && !had[0] && need[1] && !had[1] ? " " : "",
        need[1] && !had[1] ? "-memory" : "");
    fmt(p->dir[0], sizeof(p->dir[0]), "%s", dir);
    fmt(p->parent[0], sizeof(p->parent[0]), "%s", parent);
    return 0;
}

int cgroup_confine(const char *name, const struct cgroup_limits *lim, struct cgroup_place *p,
                   char *cpu_report, char *mem_report, size_t len)
{
    char leaf[128], why[600] = "", text[64];
    memset(p, 0, sizeof(*p));
    cpu_report[0] = mem_report[0] = 0;
    if (!lim->cpu_milli && !lim->memory_max)
        return 0;
    fmt(leaf, sizeof(leaf), "hostel-%s-%d", name ? name : "run", (int)getpid());
    int failed = 0;
    if (try_v2(leaf, lim, p, why, sizeof(why)) == 0) {
        if (lim->cpu_milli) {
            fmt(text, sizeof(text), "%llu %u",
                (unsigned long long)lim->cpu_milli * CPU_PERIOD_US / 1000, CPU_PERIOD_US);
            int r = write_text(p->dir[0], "cpu.max", text);
            if (r < 0)
                failed++, fmt(cpu_report, len, "not enforced: cannot write %s/cpu.max: %s",
                              p->dir[0], strerror(-r));
            else
                fmt(cpu_report, len, "enforced (cgroup v2 %s, cpu.max %s)", p->dir[0], text);
        }
        if (lim->memory_max) {
            fmt(text, sizeof(text), "%llu", (unsigned long long)lim->memory_max);
            int r = write_text(p->dir[0], "memory.max", text);
            if (r == 0)
                write_text(p->dir[0], "memory.swap.max", "0");   /* a cap, not a push to swap */
            if (r < 0)
                failed++, fmt(mem_report, len, "not enforced: cannot write "
                              "%s/memory.max: %s", p->dir[0], strerror(-r));
            else
                fmt(mem_report, len, "enforced (cgroup v2 %s, memory.max %s)", p->dir[0],
                    text);
        }
        return failed ? -ENOTSUP : 0;
    }
    /* v1: one hierarchy per controller. */
    static const char *ctl[2] = { "cpu", "memory" };
    for (int i = 0; i < 2; i++) {
        char *report = i ? mem_report : cpu_report;
        if (i == 0 ? !lim->cpu_milli : !lim->memory_max)
            continue;
        char mnt[256], own[256], parent[520], dir[560];
        if (!find_mount(ctl[i], mnt, sizeof(mnt)) || !own_path(ctl[i], own, sizeof(own))) {
            failed++;
            fmt(report, len, "not enforced: %s; no cgroup v1 %s hierarchy either", why,
                ctl[i]);
            continue;
        }
        fmt(parent, sizeof(parent), "%s%s", mnt, strcmp(own, "/") ? own : "");
        fmt(dir, sizeof(dir), "%s/%s", parent, leaf);
        cgroup_sweep(parent);
        int r = make_dir(dir);
        if (r < 0) {
            failed++;
            fmt(report, len, "not enforced: %s; cannot make cgroup v1 %s: %s%s", why, dir,
                strerror(-r), r == -EACCES || r == -EROFS || r == -EPERM
                ? " (cgroups are not writable for this user)" : "");
            continue;
        }
        if (i == 0) {
            fmt(text, sizeof(text), "%llu",
                (unsigned long long)lim->cpu_milli * CPU_PERIOD_US / 1000);
            r = write_text(dir, "cpu.cfs_period_us", "100000");
            if (r == 0)
                r = write_text(dir, "cpu.cfs_quota_us", text);
        } else {
            fmt(text, sizeof(text), "%llu", (unsigned long long)lim->memory_max);
            r = write_text(dir, "memory.limit_in_bytes", text);
            if (r == 0)    /* with swap accounting: no swap beyond the cap */
                write_text(dir, "memory.memsw.limit_in_bytes", text);
        }
        if (r == 0)
            r = join(dir);
        if (r < 0) {
            failed++;
            rmdir(dir);
            fmt(report, len, "not enforced: %s; cgroup v1 %s: %s", why, dir, strerror(-r));
            continue;
        }
        p->version = 1;
        fmt(p->dir[i], sizeof(p->dir[i]), "%s", dir);
        fmt(p->parent[i], sizeof(p->parent[i]), "%s", parent);
        if (i == 0)
            fmt(report, len, "enforced (cgroup v1 %s, cfs_quota_us %s per %u)", dir, text,
                CPU_PERIOD_US);
        else
            fmt(report, len, "enforced (cgroup v1 %s, limit_in_bytes %s)", dir, text);
    }
    return failed ? -ENOTSUP : 0;
}

void cgroup_leave(struct cgroup_place *p)
{
    if (p->version == 2 && p->handed_down[0])
        write_text(p->parent[0], "cgroup.subtree_control", p->handed_down);
    for (int i = 0; i < 2; i++) {
        if (!p->dir[i][0])
            continue;
        join(p->parent[i]);
        rmdir(p->dir[i]);
        p->dir[i][0] = 0;
    }
    p->version = 0;
}
