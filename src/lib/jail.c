/* The VMM's root jail (lib/jail.h): a mount namespace, a dropped user, no
 * capabilities. */
#include "lib/jail.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pwd.h>
#include <grp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>
#include <linux/capability.h>

/* Where the jail's tmpfs is mounted (in the VMM's own namespace only; on
 * the host it stays an empty folder every VMM shares). */
#define JAIL_MOUNTPOINT "/run/hostel-jail"

static bool active;
static bool file_caps_kept;
static uid_t outside_uid;
static gid_t outside_gid;

bool jail_active(void)
{
    return active;
}

void jail_outside_ids(uid_t *uid, gid_t *gid)
{
    *uid = active ? outside_uid : geteuid();
    *gid = active ? outside_gid : getegid();
}

/* Acting as the user outside on the files a share or a save names: reading
 * and writing them, changing their modes and times, giving what it makes
 * to that user, keeping a folder's set-group-ID bit (the share server
 * strips set-id bits on files itself). */
#define FILE_CAPS ((1u << CAP_DAC_OVERRIDE) | (1u << CAP_FOWNER) | (1u << CAP_CHOWN) | \
                   (1u << CAP_FSETID))

static int parse_user(const char *v, const char *what, uid_t *uid, gid_t *gid, struct err *e)
{
    if (v && !strcmp(v, "off"))
        return 1;
    if (!v || !*v) {
        struct passwd *pw = getpwnam("hostel");
        *uid = pw ? pw->pw_uid : JAIL_DEFAULT_ID;
        *gid = pw ? pw->pw_gid : JAIL_DEFAULT_ID;
        return 0;
    }
    char *end;
    errno = 0;
    unsigned long u = strtoul(v, &end, 10);
    if (end != v && (!*end || *end == ':')) {
        unsigned long g = u;
        if (*end == ':') {
            const char *gs = end + 1;
            g = strtoul(gs, &end, 10);
            if (end == gs || *end)
                return err_set(e, -EINVAL, "%s '%s': the group after ':' must be "
                               "a number", what, v);
        }
        if (errno || u == 0 || g == 0 || u > 0xfffffffeUL || g > 0xfffffffeUL)
            return err_set(e, -EINVAL, "%s '%s': choose an unprivileged uid and "
                           "gid (not 0), or 'off'", what, v);
        *uid = (uid_t)u;
        *gid = (gid_t)g;
        return 0;
    }
    struct passwd *pw = getpwnam(v);
    if (!pw)
        return err_set(e, -EINVAL, "%s '%s': no such user (give a user name, "
                       "UID[:GID], or 'off')", what, v);
    if (pw->pw_uid == 0 || pw->pw_gid == 0)
        return err_set(e, -EINVAL, "%s '%s' is root: the jail needs an "
                       "unprivileged user", what, v);
    *uid = pw->pw_uid;
    *gid = pw->pw_gid;
    return 0;
}

int jail_user(uid_t *uid, gid_t *gid, struct err *e)
{
    return parse_user(getenv("HOSTEL_JAIL_USER"), "HOSTEL_JAIL_USER", uid, gid, e);
}

int jail_user_for(const char *setting, uid_t *uid, gid_t *gid, struct err *e)
{
    if (!setting)
        return jail_user(uid, gid, e);
    return parse_user(setting, "--jail-user", uid, gid, e);
}

static int add(struct jail_config *c, const char *path, bool writable, bool foreign)
{
    struct stat st;
    if (!path || path[0] != '/' || stat(path, &st) < 0)
        return 0;
    for (int i = 0; i < c->npaths; i++)
        if (!strcmp(c->paths[i], path)) {
            c->writable[i] |= writable;
            c->foreign[i] |= foreign;
            return 0;
        }
    if (c->npaths == JAIL_MAX_PATHS)
        return -E2BIG;
    if (!(c->paths[c->npaths] = strdup(path)))
        return -ENOMEM;
    c->foreign[c->npaths] = foreign;
    c->writable[c->npaths++] = writable;
    return 0;
}

int jail_add(struct jail_config *c, const char *path, bool writable)
{
    return add(c, path, writable, false);
}

int jail_add_foreign(struct jail_config *c, const char *path, bool writable)
{
    return add(c, path, writable, true);
}

void jail_config_free(struct jail_config *c)
{
    for (int i = 0; i < c->npaths; i++)
        free(c->paths[i]);
    c->npaths = 0;
}

/* ---- fds kept for what is opened again after confinement --------------- */

#define KEPT_MAX 64
static struct kept {
    char *path;
    int fd;
    int acc;    /* O_RDONLY, O_WRONLY or O_RDWR */
} kept[KEPT_MAX];
static int nkept;

int jail_keep(const char *path, int flags)
{
    int acc = flags & O_ACCMODE;
    for (int i = 0; i < nkept; i++)
        if (!strcmp(kept[i].path, path) && (kept[i].acc == acc || kept[i].acc == O_RDWR))
            return 0;
    if (nkept == KEPT_MAX)
        return -E2BIG;
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    char *p = strdup(path);
    if (!p) {
        close(fd);
        return -ENOMEM;
    }
    kept[nkept++] = (struct kept){ .path = p, .fd = fd, .acc = acc };
    return 0;
}

/* A copy of fd n: it shares the file offset and status flags (hostel's
 * users of these use pread/pwrite and ioctls, never the offset). */
static int copy_fd(int n, int flags)
{
    int fd = fcntl(n, F_DUPFD_CLOEXEC, 3);
    if (fd >= 0 && (flags & O_NONBLOCK))
        fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    return fd;
}

int jail_open(const char *path, int flags)
{
    int acc = flags & O_ACCMODE;
    for (int i = 0; i < nkept; i++) {
        if (strcmp(kept[i].path, path) || (kept[i].acc != acc && kept[i].acc != O_RDWR))
            continue;
        return copy_fd(kept[i].fd, flags);
    }
    /* /proc is not in the jail: a file hostel made and named by its fd
     * (a scratch disk, the cloud-init seed) is reached through that fd. */
    int n, end = 0;
    if (jail_active() && sscanf(path, "/proc/self/fd/%d%n", &n, &end) == 1 && !path[end])
        return copy_fd(n, flags);
    return open(path, flags | O_CLOEXEC);
}

/* ---- entering ---------------------------------------------------------- */

static uid_t chown_uid;
static gid_t chown_gid;

static int chown_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)flag;
    (void)ftw;
    /* A socket made before the jail stays its maker's: who may connect to
     * it does not change (a cluster's control socket stays root's, though
     * the jail user's machines are shown its folder). */
    if (S_ISSOCK(st->st_mode))
        return 0;
    if (lchown(path, chown_uid, chown_gid) < 0 && errno != ENOENT)
        return -errno;
    return 0;
}

/* Makes DIR and the folders above it inside the new root. */
static int mkdirs(char *p)
{
    for (char *s = p + 1; *s; s++) {
        if (*s != '/')
            continue;
        *s = 0;
        int r = mkdir(p, 0755);
        *s = '/';
        if (r < 0 && errno != EEXIST)
            return -errno;
    }
    return 0;
}

/* Binds the host's PATH (an O_PATH fd, taken before the tmpfs hid
 * anything) at the same name under ROOT. */
static int bind_one(const char *root, const char *path, int fd, bool writable, struct err *e)
{
    char target[4200], src[64];
    struct stat st;
    if (fstat(fd, &st) < 0)
        return err_set(e, -errno, "jail: %s: %s", path, strerror(errno));
    snprintf(target, sizeof(target), "%s%s", root, path);
    int r = mkdirs(target);
    if (r == 0 && S_ISDIR(st.st_mode) && mkdir(target, 0755) < 0 && errno != EEXIST)
        r = -errno;
    if (r == 0 && !S_ISDIR(st.st_mode)) {
        int t = open(target, O_CREAT | O_WRONLY | O_CLOEXEC, 0600);
        if (t < 0 && errno != EEXIST)
            r = -errno;
        if (t >= 0)
            close(t);
    }
    if (r < 0)
        return err_set(e, r, "jail: cannot make %s: %s", target, strerror(-r));
    snprintf(src, sizeof(src), "/proc/self/fd/%d", fd);
    if (mount(src, target, NULL, MS_BIND | MS_REC, NULL) < 0)
        return err_set(e, -errno, "jail: cannot bind %s: %s", path, strerror(errno));
    unsigned long ro = writable ? 0 : MS_RDONLY;
    if (mount(NULL, target, NULL, MS_REMOUNT | MS_BIND | MS_NOSUID | ro, NULL) < 0)
        return err_set(e, -errno, "jail: cannot remount %s: %s", path, strerror(errno));
    return 0;
}

/* Every capability out of every set, the bounding and ambient sets too,
 * but those in keep (a mask of the first 32). */
static int drop_capabilities(uint32_t keep, struct err *e)
{
    for (int cap = 0; cap <= 63; cap++)
        if (!(cap < 32 && (keep & (1u << cap))) &&
            prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno != EINVAL)
            return err_set(e, -errno, "jail: cannot drop capability %d from the bounding set: "
                           "%s", cap, strerror(errno));
    if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 && errno != EINVAL)
        return err_set(e, -errno, "jail: cannot clear the ambient capabilities: %s",
                       strerror(errno));
    return 0;
}

/* Permitted: keep; effective: the part of it this thread uses. */
static int set_capabilities(uint32_t permitted, uint32_t effective)
{
    struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct d[2];
    memset(d, 0, sizeof(d));
    d[0].permitted = permitted;
    d[0].effective = effective;
    return syscall(SYS_capset, &h, d) < 0 ? -errno : 0;
}

int jail_raise_file_caps(void)
{
    if (!active || !file_caps_kept)
        return 0;
    struct __user_cap_header_struct h = { .version = _LINUX_CAPABILITY_VERSION_3, .pid = 0 };
    struct __user_cap_data_struct d[2];
    if (syscall(SYS_capget, &h, d) < 0)
        return -errno;
    return set_capabilities(d[0].permitted, d[0].effective | FILE_CAPS);
}

int jail_enter(const struct jail_config *c, struct err *e)
{
    if (active)
        return 0;
    if (geteuid() != 0)
        return err_set(e, -EPERM, "jail: only root can enter it (it runs unprivileged already)");
    int fds[JAIL_MAX_PATHS];
    int n = 0, r = 0;
    uid_t ou = geteuid();
    gid_t og = getegid();
    /* The user's files the VMM writes (its machine folder) become the
     * jail user's, as Firecracker's jailer gives its chroot to its user. */
    chown_uid = c->uid;
    chown_gid = c->gid;
    for (int i = 0; i < c->npaths; i++)
        if (c->writable[i] && !c->foreign[i] && nftw(c->paths[i], chown_one, 16, FTW_PHYS) != 0)
            return err_set(e, -EPERM, "jail: cannot give %s to uid %u: %s", c->paths[i],
                           (unsigned)c->uid, strerror(errno));
    if (mkdir(JAIL_MOUNTPOINT, 0700) < 0 && errno != EEXIST) {
        r = err_set(e, -errno, "jail: cannot make %s: %s", JAIL_MOUNTPOINT, strerror(errno));
        goto out;
    }
    if (unshare(CLONE_NEWNS) < 0) {
        r = err_set(e, -errno, "jail: cannot make a mount namespace: %s", strerror(errno));
        goto out;
    }
    /* Nothing done here reaches the host's mounts. */
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        r = err_set(e, -errno, "jail: cannot make the mounts private: %s", strerror(errno));
        goto out;
    }
    /* The paths, opened in the new namespace (a bind's source must be
     * there) and before the tmpfs can hide any of them. */
    for (; n < c->npaths; n++) {
        fds[n] = open(c->paths[n], O_PATH | O_CLOEXEC);
        if (fds[n] < 0) {
            r = err_set(e, -errno, "jail: cannot open %s: %s", c->paths[n], strerror(errno));
            goto out;
        }
    }
    if (mount("hostel-jail", JAIL_MOUNTPOINT, "tmpfs", MS_NOSUID | MS_NODEV | MS_NOEXEC,
              "size=64k,nr_inodes=256,mode=0755") < 0) {
        r = err_set(e, -errno, "jail: cannot mount its tmpfs: %s", strerror(errno));
        goto out;
    }
    for (int i = 0; i < n && r == 0; i++)
        r = bind_one(JAIL_MOUNTPOINT, c->paths[i], fds[i], c->writable[i], e);
    if (r < 0)
        goto out;
    /* The jail's own folders read-only from now on. */
    if (mount(NULL, JAIL_MOUNTPOINT, NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID |
              MS_NODEV | MS_NOEXEC, NULL) < 0) {
        r = err_set(e, -errno, "jail: cannot make its root read-only: %s", strerror(errno));
        goto out;
    }
    /* pivot_root(".", "."): the old root stacks under the new one and is
     * then detached, so no path leads back to the host's files. */
    if (chdir(JAIL_MOUNTPOINT) < 0 || syscall(SYS_pivot_root, ".", ".") < 0 ||
        umount2(".", MNT_DETACH) < 0 || chdir("/") < 0) {
        r = err_set(e, -errno, "jail: cannot move into it (pivot_root): %s", strerror(errno));
        goto out;
    }
    uint32_t keep = (c->keep_net_admin ? 1u << CAP_NET_ADMIN : 0) |
                    (c->keep_file_caps ? FILE_CAPS : 0);
    r = drop_capabilities(keep, e);
    /* Keeping a capability across the change of user needs KEEPCAPS. */
    if (r == 0 && keep && prctl(PR_SET_KEEPCAPS, 1, 0, 0, 0) < 0)
        r = err_set(e, -errno, "jail: PR_SET_KEEPCAPS: %s", strerror(errno));
    if (r == 0 && setgroups(0, NULL) < 0)
        r = err_set(e, -errno, "jail: cannot drop the supplementary groups: %s", strerror(errno));
    if (r == 0 && setresgid(c->gid, c->gid, c->gid) < 0)
        r = err_set(e, -errno, "jail: cannot become gid %u: %s", (unsigned)c->gid,
                    strerror(errno));
    if (r == 0 && setresuid(c->uid, c->uid, c->uid) < 0)
        r = err_set(e, -errno, "jail: cannot become uid %u: %s", (unsigned)c->uid,
                    strerror(errno));
    /* The file capabilities stay permitted, not effective: only the
     * threads that need them raise them, for themselves. */
    if (r == 0 && (r = set_capabilities(keep, keep & ~FILE_CAPS)) < 0)
        err_set(e, r, "jail: cannot clear the capabilities: %s", strerror(-r));
    if (r == 0 && keep)
        prctl(PR_SET_KEEPCAPS, 0, 0, 0, 0);
    if (r == 0 && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        r = err_set(e, -errno, "jail: PR_SET_NO_NEW_PRIVS: %s", strerror(errno));
    if (r == 0) {
        active = true;
        file_caps_kept = c->keep_file_caps;
        outside_uid = ou;
        outside_gid = og;
    }
out:
    for (int i = 0; i < n; i++)
        close(fds[i]);
    return r;
}
