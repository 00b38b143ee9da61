/* hostel's FUSE server for one shared directory (share/server.h): the
 * requests the guest's virtiofs driver sends, answered on host files that
 * are all reached one checked name at a time beneath the share.
 *
 * Inodes the guest holds are O_PATH descriptors in a bounded table, found
 * by node id (slot and generation) and by host (dev, ino); open files are
 * descriptors in a second bounded table.  A request is copied out of guest
 * memory once (header and arguments; WRITE's data stays in the segments and
 * goes straight to pwritev, READ's goes straight from preadv), checked, and
 * answered: a malformed or refused request gets an error reply. */
#include "share/server.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/fuse.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/sysmacros.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "lib/err.h"
#include "lib/iov.h"

#define ROOT_SLOT 0
#define REQ_MAX 8192                     /* header + arguments; SYMLINK's are the largest */
#define REP_MAX (64 * 1024)              /* READDIR's largest reply */
#define IO_MAX (1u << 20)                /* READ and WRITE, as INIT's max_write says */
#define IOV_SLICE 1026
#define MIN_MINOR 12                     /* the struct sizes we answer with */
#define DEFAULT_MAX_INODES 65536
#define DEFAULT_MAX_HANDLES 4096

#ifndef RENAME_NOREPLACE
#define RENAME_NOREPLACE (1 << 0)
#define RENAME_EXCHANGE (1 << 1)
#endif

struct inode {
    int fd;                  /* O_PATH | O_NOFOLLOW; -1 when the slot is free */
    uint32_t gen;            /* bumped when the slot is freed: stale ids miss */
    uint64_t nlookup;        /* the guest's references (LOOKUP +1, FORGET -n) */
    dev_t dev;
    ino_t ino;
    mode_t type;             /* S_IFMT bits; an inode never changes type */
    int32_t hnext;           /* (dev, ino) hash chain, or the free list */
};

struct handle {
    int fd;                  /* -1 when free */
    uint32_t gen;
    bool dir;
    int32_t next_free;
};

struct share_server {
    char *dir;
    bool ro;
    uint32_t guest_uid, guest_gid;
    uid_t host_uid;
    gid_t host_gid;
    uint64_t cache_s;
    int proc_fd;             /* /proc/self/fd: reopening an O_PATH inode */
    bool have_openat2;
    bool initialized;
    uint32_t minor;
    struct inode *inodes;
    unsigned max_inodes, ninodes;
    int32_t free_inode;
    int32_t *buckets;
    unsigned bucket_mask;
    struct handle *handles;
    unsigned max_handles, nhandles;
    int32_t free_handle;
    _Alignas(8) uint8_t req[REQ_MAX];
    _Alignas(8) uint8_t rep[REP_MAX];
    _Alignas(8) uint8_t dents[REP_MAX];
    struct iovec slice[IOV_SLICE];
};

/* One request as the handlers see it. */
struct req {
    struct fuse_in_header h;
    const uint8_t *arg;      /* the arguments after the header (in s->req) */
    size_t arglen;
    const struct iovec *in, *out;
    unsigned nin, nout;
    size_t inlen, outlen;
    bool direct;             /* the payload is already in out after the header */
};

/* ---- small helpers --------------------------------------------------------- */

static size_t iov_total(const struct iovec *v, unsigned n)
{
    size_t t = 0;
    for (unsigned i = 0; i < n; i++)
        t += v[i].iov_len;
    return t;
}

/* The segments covering [skip, skip + len) of v, in s->slice. */
static unsigned slice(struct share_server *s, const struct iovec *v, unsigned n, size_t skip,
                      size_t len)
{
    unsigned k = 0;
    for (unsigned i = 0; i < n && len && k < IOV_SLICE; i++) {
        if (skip >= v[i].iov_len) {
            skip -= v[i].iov_len;
            continue;
        }
        size_t take = v[i].iov_len - skip;
        if (take > len)
            take = len;
        s->slice[k].iov_base = (uint8_t *)v[i].iov_base + skip;
        s->slice[k].iov_len = take;
        k++;
        len -= take;
        skip = 0;
    }
    return k;
}

static void proc_name(int fd, char *buf, size_t len)
{
    snprintf(buf, len, "%d", fd);
}

/* Opens name (one checked component) beneath dirfd, never following a
 * symlink or a magic link; openat with O_NOFOLLOW where openat2 is missing
 * (a single component with no '/' and no '..' cannot leave dirfd either). */
static int open_beneath(struct share_server *s, int dirfd, const char *name, int flags, mode_t mode)
{
    flags |= O_CLOEXEC | O_NOFOLLOW;
    if (s->have_openat2) {
        struct open_how how = {
            .flags = (uint64_t)flags,
            .mode = (flags & O_CREAT) ? (mode & 07777) : 0,
            .resolve = RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS | RESOLVE_NO_SYMLINKS,
        };
        long fd = syscall(SYS_openat2, dirfd, name, &how, sizeof(how));
        if (fd >= 0)
            return (int)fd;
        if (errno != ENOSYS)
            return -errno;
        s->have_openat2 = false;
    }
    int fd = openat(dirfd, name, flags, mode & 07777);
    return fd < 0 ? -errno : fd;
}

/* A regular file or directory inode opened for I/O, through our own O_PATH
 * descriptor (never a path the guest gave). */
static int reopen(struct share_server *s, const struct inode *in, int flags)
{
    char p[16];
    if (!S_ISREG(in->type) && !S_ISDIR(in->type))
        return -EACCES;
    proc_name(in->fd, p, sizeof(p));
    int fd = openat(s->proc_fd, p, (flags & ~O_CREAT) | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    struct stat st;
    if (fstat(fd, &st) < 0 || st.st_dev != in->dev || st.st_ino != in->ino) {
        close(fd);
        return -EIO;
    }
    return fd;
}

static int stat_fd(int fd, struct stat *st)
{
    return fstatat(fd, "", st, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0;
}

/* A name the guest sent: NUL-terminated inside the arguments, one
 * component, not "." or "..".  *off moves past it. */
static int get_name(const struct req *r, size_t *off, const char **name)
{
    if (*off >= r->arglen)
        return -EINVAL;
    const char *p = (const char *)r->arg + *off;
    const char *nul = memchr(p, 0, r->arglen - *off);
    if (!nul)
        return -EINVAL;
    size_t len = (size_t)(nul - p);
    if (len == 0 || memchr(p, '/', len) || !strcmp(p, ".") || !strcmp(p, ".."))
        return -EINVAL;
    if (len > NAME_MAX)
        return -ENAMETOOLONG;
    *off += len + 1;
    *name = p;
    return 0;
}

/* ---- the inode table ------------------------------------------------------- */

static uint64_t node_id(const struct share_server *s, unsigned slot)
{
    return ((uint64_t)s->inodes[slot].gen << 32) | (slot + 1);
}

static struct inode *get_inode(struct share_server *s, uint64_t nodeid, unsigned *slot_out)
{
    uint32_t low = (uint32_t)nodeid;
    if (low == 0 || low > s->max_inodes)
        return NULL;
    struct inode *in = &s->inodes[low - 1];
    if (in->fd < 0 || in->gen != (uint32_t)(nodeid >> 32))
        return NULL;
    if (slot_out)
        *slot_out = low - 1;
    return in;
}

static unsigned bucket(const struct share_server *s, dev_t dev, ino_t ino)
{
    uint64_t h = ((uint64_t)ino * 0x9E3779B97F4A7C15ULL) ^ ((uint64_t)dev * 0xC2B2AE3D27D4EB4FULL);
    return (unsigned)(h >> 32) & s->bucket_mask;
}

static void hash_insert(struct share_server *s, unsigned slot)
{
    unsigned b = bucket(s, s->inodes[slot].dev, s->inodes[slot].ino);
    s->inodes[slot].hnext = s->buckets[b];
    s->buckets[b] = (int32_t)slot;
}

static void hash_remove(struct share_server *s, unsigned slot)
{
    unsigned b = bucket(s, s->inodes[slot].dev, s->inodes[slot].ino);
    for (int32_t *p = &s->buckets[b]; *p >= 0; p = &s->inodes[*p].hnext) {
        if (*p == (int32_t)slot) {
            *p = s->inodes[slot].hnext;
            return;
        }
    }
}

static void free_slot(struct share_server *s, unsigned slot)
{
    struct inode *in = &s->inodes[slot];
    hash_remove(s, slot);
    close(in->fd);
    in->fd = -1;
    in->gen++;
    in->nlookup = 0;
    in->hnext = s->free_inode;
    s->free_inode = (int32_t)slot;
    s->ninodes--;
}

/* Takes fd (an O_PATH descriptor of what st describes) into the table, or
 * counts one more reference to the inode already there; returns the slot
 * or -ENFILE when the table is full (fd is closed either way but the
 * first). */
static int add_inode(struct share_server *s, int fd, const struct stat *st)
{
    for (int32_t i = s->buckets[bucket(s, st->st_dev, st->st_ino)]; i >= 0; i = s->inodes[i].hnext) {
        struct inode *in = &s->inodes[i];
        if (in->dev == st->st_dev && in->ino == st->st_ino) {
            close(fd);
            if (i != ROOT_SLOT)
                in->nlookup++;
            return i;
        }
    }
    if (s->free_inode < 0) {
        close(fd);
        return -ENFILE;
    }
    unsigned slot = (unsigned)s->free_inode;
    struct inode *in = &s->inodes[slot];
    s->free_inode = in->hnext;
    in->fd = fd;
    in->nlookup = 1;
    in->dev = st->st_dev;
    in->ino = st->st_ino;
    in->type = st->st_mode & S_IFMT;
    hash_insert(s, slot);
    s->ninodes++;
    return (int)slot;
}

static void forget(struct share_server *s, uint64_t nodeid, uint64_t n)
{
    unsigned slot;
    struct inode *in = get_inode(s, nodeid, &slot);
    if (!in || slot == ROOT_SLOT)
        return;
    if (n >= in->nlookup)
        free_slot(s, slot);
    else
        in->nlookup -= n;
}

/* ---- open files ------------------------------------------------------------ */

static int add_handle(struct share_server *s, int fd, bool dir, uint64_t *fh)
{
    if (s->free_handle < 0) {
        close(fd);
        return -ENFILE;
    }
    unsigned slot = (unsigned)s->free_handle;
    struct handle *h = &s->handles[slot];
    s->free_handle = h->next_free;
    h->fd = fd;
    h->dir = dir;
    s->nhandles++;
    *fh = ((uint64_t)h->gen << 32) | (slot + 1);
    return 0;
}

static struct handle *get_handle(struct share_server *s, uint64_t fh, bool dir)
{
    uint32_t low = (uint32_t)fh;
    if (low == 0 || low > s->max_handles)
        return NULL;
    struct handle *h = &s->handles[low - 1];
    if (h->fd < 0 || h->gen != (uint32_t)(fh >> 32) || h->dir != dir)
        return NULL;
    return h;
}

static void close_handle(struct share_server *s, struct handle *h)
{
    close(h->fd);
    h->fd = -1;
    h->gen++;
    h->next_free = s->free_handle;
    s->free_handle = (int32_t)(h - s->handles);
    s->nhandles--;
}

/* ---- replies --------------------------------------------------------------- */

static uint32_t map_uid(const struct share_server *s, uid_t u)
{
    return u == s->host_uid ? s->guest_uid : (uint32_t)u;
}

static uint32_t map_gid(const struct share_server *s, gid_t g)
{
    return g == s->host_gid ? s->guest_gid : (uint32_t)g;
}

static void fill_attr(const struct share_server *s, const struct stat *st, struct fuse_attr *a)
{
    memset(a, 0, sizeof(*a));
    a->ino = st->st_ino;
    a->size = (uint64_t)st->st_size;
    a->blocks = (uint64_t)st->st_blocks;
    a->atime = (uint64_t)st->st_atim.tv_sec;
    a->mtime = (uint64_t)st->st_mtim.tv_sec;
    a->ctime = (uint64_t)st->st_ctim.tv_sec;
    a->atimensec = (uint32_t)st->st_atim.tv_nsec;
    a->mtimensec = (uint32_t)st->st_mtim.tv_nsec;
    a->ctimensec = (uint32_t)st->st_ctim.tv_nsec;
    a->mode = st->st_mode;
    a->nlink = (uint32_t)st->st_nlink;
    a->uid = map_uid(s, st->st_uid);
    a->gid = map_gid(s, st->st_gid);
    /* The kernel's 32-bit device number encoding (new_encode_dev). */
    unsigned maj = major(st->st_rdev), min = minor(st->st_rdev);
    a->rdev = (min & 0xff) | (maj << 8) | ((min & ~0xffu) << 12);
    a->blksize = (uint32_t)st->st_blksize;
}

static int reply_entry(struct share_server *s, unsigned slot, const struct stat *st, size_t at)
{
    struct fuse_entry_out eo;
    memset(&eo, 0, sizeof(eo));
    eo.nodeid = node_id(s, slot);
    eo.entry_valid = eo.attr_valid = s->cache_s;
    fill_attr(s, st, &eo.attr);
    memcpy(s->rep + at, &eo, sizeof(eo));
    return (int)(at + sizeof(eo));
}

/* Looks name up beneath dir and takes it into the inode table. */
static int lookup_name(struct share_server *s, struct inode *dir, const char *name,
                       struct stat *st)
{
    int fd = open_beneath(s, dir->fd, name, O_PATH, 0);
    if (fd < 0)
        return fd;
    int r = stat_fd(fd, st);
    if (r < 0) {
        close(fd);
        return r;
    }
    return add_inode(s, fd, st);
}

/* ---- the requests ------------------------------------------------------------ */

#define NEED(type)                              \
    do {                                        \
        if (r->arglen < sizeof(type))           \
            return -EINVAL;                     \
    } while (0)

static int op_init(struct share_server *s, struct req *r)
{
    struct fuse_init_in in;
    struct fuse_init_out o;
    /* The oldest fuse_init_in is 16 bytes; later ones add flags2 and more. */
    if (r->arglen < 16)
        return -EINVAL;
    memset(&in, 0, sizeof(in));
    memcpy(&in, r->arg, r->arglen < sizeof(in) ? r->arglen : sizeof(in));
    memset(&o, 0, sizeof(o));
    o.major = FUSE_KERNEL_VERSION;
    if (in.major < 7)
        return -EPROTO;
    if (in.major > 7) {
        /* The kernel asks again with our major (the protocol's rule). */
        memcpy(s->rep, &o, 8);
        return 8;
    }
    if (in.minor < MIN_MINOR)
        return -EPROTO;
    share_server_reset(s);
    s->minor = in.minor < FUSE_KERNEL_MINOR_VERSION ? in.minor : FUSE_KERNEL_MINOR_VERSION;
    o.minor = s->minor;
    o.max_readahead = in.max_readahead;
    uint32_t want = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_ATOMIC_O_TRUNC | FUSE_MAX_PAGES |
                    FUSE_PARALLEL_DIROPS | FUSE_DO_READDIRPLUS | FUSE_READDIRPLUS_AUTO;
    o.flags = in.flags & want;
    o.max_background = 64;
    o.congestion_threshold = 48;
    o.max_write = IO_MAX;
    o.time_gran = 1;
    o.max_pages = IO_MAX / 4096;
    s->initialized = true;
    size_t len = s->minor < 23 ? 24 : sizeof(o);    /* FUSE_COMPAT_22_INIT_OUT_SIZE */
    memcpy(s->rep, &o, len);
    return (int)len;
}

static int op_lookup(struct share_server *s, struct req *r, struct inode *dir)
{
    size_t off = 0;
    const char *name;
    int e = get_name(r, &off, &name);
    if (e < 0)
        return e;
    if (!S_ISDIR(dir->type))
        return -ENOTDIR;
    struct stat st;
    int slot = lookup_name(s, dir, name, &st);
    if (slot < 0)
        return slot;
    return reply_entry(s, (unsigned)slot, &st, 0);
}

static int op_getattr(struct share_server *s, struct inode *in)
{
    struct stat st;
    int e = stat_fd(in->fd, &st);
    if (e < 0)
        return e;
    struct fuse_attr_out ao;
    memset(&ao, 0, sizeof(ao));
    ao.attr_valid = s->cache_s;
    fill_attr(s, &st, &ao.attr);
    memcpy(s->rep, &ao, sizeof(ao));
    return sizeof(ao);
}

/* A guest id for chown: the guest id we show the hostel user as is that
 * user; the file's own current id stays; anything else is refused (the
 * server never makes files owned by other host users). */
static int chown_id(uint32_t want, uint32_t guest_self, uint32_t host_self, uint32_t current_host,
                    uint32_t current_shown, uint32_t *host)
{
    if (want == current_shown) {
        *host = current_host;
        return 0;
    }
    if (want == guest_self) {
        *host = host_self;
        return 0;
    }
    return -EPERM;
}

static int op_setattr(struct share_server *s, struct req *r, struct inode *in)
{
    struct fuse_setattr_in a;
    char p[16];
    NEED(a);
    memcpy(&a, r->arg, sizeof(a));
    if (s->ro)
        return -EROFS;
    struct stat st;
    int e = stat_fd(in->fd, &st);
    if (e < 0)
        return e;
    proc_name(in->fd, p, sizeof(p));
    if (a.valid & FATTR_MODE) {
        if (S_ISLNK(in->type))
            return -EOPNOTSUPP;
        mode_t m = a.mode & 07777;
        if (!S_ISDIR(in->type))
            m &= ~(mode_t)(S_ISUID | S_ISGID);    /* no set-id programs on the host */
        else
            m &= ~(mode_t)S_ISUID;
        if (fchmodat(s->proc_fd, p, m, 0) < 0)
            return -errno;
    }
    if (a.valid & (FATTR_UID | FATTR_GID)) {
        uint32_t uid = (uint32_t)-1, gid = (uint32_t)-1;
        if ((a.valid & FATTR_UID) &&
            (e = chown_id(a.uid, s->guest_uid, s->host_uid, st.st_uid, map_uid(s, st.st_uid), &uid)) < 0)
            return e;
        if ((a.valid & FATTR_GID) &&
            (e = chown_id(a.gid, s->guest_gid, s->host_gid, st.st_gid, map_gid(s, st.st_gid), &gid)) < 0)
            return e;
        if (fchownat(in->fd, "", uid, gid, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
            return -errno;
    }
    if (a.valid & FATTR_SIZE) {
        if (S_ISDIR(in->type))
            return -EISDIR;
        if (!S_ISREG(in->type))
            return -EINVAL;
        struct handle *h = (a.valid & FATTR_FH) ? get_handle(s, a.fh, false) : NULL;
        if (h) {
            if (ftruncate(h->fd, (off_t)a.size) < 0)
                return -errno;
        } else {
            int fd = reopen(s, in, O_WRONLY);
            if (fd < 0)
                return fd;
            e = ftruncate(fd, (off_t)a.size) < 0 ? -errno : 0;
            close(fd);
            if (e < 0)
                return e;
        }
    }
    if (a.valid & (FATTR_ATIME | FATTR_MTIME)) {
        struct timespec ts[2] = { { 0, UTIME_OMIT }, { 0, UTIME_OMIT } };
        if (a.valid & FATTR_ATIME_NOW)
            ts[0].tv_nsec = UTIME_NOW;
        else if (a.valid & FATTR_ATIME)
            ts[0] = (struct timespec){ (time_t)a.atime, a.atimensec % 1000000000u };
        if (a.valid & FATTR_MTIME_NOW)
            ts[1].tv_nsec = UTIME_NOW;
        else if (a.valid & FATTR_MTIME)
            ts[1] = (struct timespec){ (time_t)a.mtime, a.mtimensec % 1000000000u };
        if (utimensat(in->fd, "", ts, AT_EMPTY_PATH | AT_SYMLINK_NOFOLLOW) < 0)
            return -errno;
    }
    return op_getattr(s, in);
}

static int op_readlink(struct share_server *s, struct inode *in)
{
    if (!S_ISLNK(in->type))
        return -EINVAL;
    ssize_t n = readlinkat(in->fd, "", (char *)s->rep, PATH_MAX);
    return n < 0 ? -errno : (int)n;
}

/* After making name in dir: its entry, or the error. */
/* In a root jail this thread makes files as the jail user: what the guest
 * makes goes to the user hostel runs as (the one outside the jail), as
 * without it (docs/shares.md).  name "" means dirfd itself.  An id the
 * directory gave (set-group-ID) stays. */
static void own(const struct share_server *s, int dirfd, const char *name)
{
    uid_t me = geteuid();
    gid_t my = getegid();
    if (s->host_uid == me && s->host_gid == my)
        return;
    int at = AT_SYMLINK_NOFOLLOW | (name[0] ? 0 : AT_EMPTY_PATH);
    struct stat st;
    if (fstatat(dirfd, name, &st, at) < 0)
        return;
    uid_t u = st.st_uid == me ? s->host_uid : (uid_t)-1;
    gid_t g = st.st_gid == my ? s->host_gid : (gid_t)-1;
    /* CAP_CHOWN is this thread's (lib/jail.h): this does not fail. */
    if ((u != (uid_t)-1 || g != (gid_t)-1) && fchownat(dirfd, name, u, g, at) < 0)
        return;
}

static int made(struct share_server *s, struct inode *dir, const char *name)
{
    own(s, dir->fd, name);
    struct stat st;
    int slot = lookup_name(s, dir, name, &st);
    if (slot < 0)
        return slot;
    return reply_entry(s, (unsigned)slot, &st, 0);
}

static mode_t safe_mode(mode_t m, bool dir)
{
    m &= 07777;
    return dir ? m & ~(mode_t)S_ISUID : m & ~(mode_t)(S_ISUID | S_ISGID);
}

/* The start of a request that makes or removes a name in dir: its fixed
 * arguments (arglen bytes, copied to arg), then the name.  Refused on a
 * read-only share, or when dir is not a directory. */
static int name_in_dir(struct share_server *s, struct req *r, struct inode *dir, void *arg,
                       size_t arglen, const char **name)
{
    if (r->arglen < arglen)
        return -EINVAL;
    if (arglen)
        memcpy(arg, r->arg, arglen);
    size_t off = arglen;
    int e = get_name(r, &off, name);
    if (e < 0)
        return e;
    if (s->ro)
        return -EROFS;
    return S_ISDIR(dir->type) ? 0 : -ENOTDIR;
}

static int op_mknod(struct share_server *s, struct req *r, struct inode *dir)
{
    struct fuse_mknod_in a;
    const char *name;
    int e = name_in_dir(s, r, dir, &a, sizeof(a), &name);
    if (e < 0)
        return e;
    mode_t type = a.mode & S_IFMT;
    /* Device nodes never: a guest must not reach host devices. */
    if (type != S_IFREG && type != S_IFIFO && type != S_IFSOCK)
        return -EPERM;
    if (mknodat(dir->fd, name, type | safe_mode(a.mode, false), 0) < 0)
        return -errno;
    return made(s, dir, name);
}

static int op_mkdir(struct share_server *s, struct req *r, struct inode *dir)
{
    struct fuse_mkdir_in a;
    const char *name;
    int e = name_in_dir(s, r, dir, &a, sizeof(a), &name);
    if (e < 0)
        return e;
    if (mkdirat(dir->fd, name, safe_mode(a.mode, true)) < 0)
        return -errno;
    return made(s, dir, name);
}

static int op_symlink(struct share_server *s, struct req *r, struct inode *dir)
{
    const char *name;
    size_t off = 0;
    int e = get_name(r, &off, &name);
    if (e < 0)
        return e;
    /* The target is any text (it is the guest's to follow, never ours). */
    const char *target = (const char *)r->arg + off;
    if (off >= r->arglen || !memchr(target, 0, r->arglen - off))
        return -EINVAL;
    if (strlen(target) == 0)
        return -ENOENT;
    if (strlen(target) >= PATH_MAX)
        return -ENAMETOOLONG;
    if (s->ro)
        return -EROFS;
    if (!S_ISDIR(dir->type))
        return -ENOTDIR;
    if (symlinkat(target, dir->fd, name) < 0)
        return -errno;
    return made(s, dir, name);
}

static int op_unlink(struct share_server *s, struct req *r, struct inode *dir, bool rmdir)
{
    const char *name;
    int e = name_in_dir(s, r, dir, NULL, 0, &name);
    if (e < 0)
        return e;
    return unlinkat(dir->fd, name, rmdir ? AT_REMOVEDIR : 0) < 0 ? -errno : 0;
}

static int op_rename(struct share_server *s, struct req *r, struct inode *dir, bool two)
{
    uint64_t newdir;
    uint32_t flags = 0;
    size_t off;
    if (two) {
        struct fuse_rename2_in a;
        NEED(a);
        memcpy(&a, r->arg, sizeof(a));
        newdir = a.newdir;
        flags = a.flags;
        off = sizeof(a);
    } else {
        struct fuse_rename_in a;
        NEED(a);
        memcpy(&a, r->arg, sizeof(a));
        newdir = a.newdir;
        off = sizeof(a);
    }
    const char *oldname, *newname;
    int e = get_name(r, &off, &oldname);
    if (e < 0 || (e = get_name(r, &off, &newname)) < 0)
        return e;
    /* RENAME_WHITEOUT would leave a character device behind. */
    if (flags & ~(uint32_t)(RENAME_NOREPLACE | RENAME_EXCHANGE))
        return -EINVAL;
    if (s->ro)
        return -EROFS;
    struct inode *nd = get_inode(s, newdir, NULL);
    if (!nd)
        return -ENOENT;
    if (!S_ISDIR(dir->type) || !S_ISDIR(nd->type))
        return -ENOTDIR;
    long rc = flags ? syscall(SYS_renameat2, dir->fd, oldname, nd->fd, newname, flags)
                    : renameat(dir->fd, oldname, nd->fd, newname);
    return rc < 0 ? -errno : 0;
}

static int op_link(struct share_server *s, struct req *r, struct inode *dir)
{
    struct fuse_link_in a;
    const char *name;
    size_t off = sizeof(a);
    char p[16];
    NEED(a);
    memcpy(&a, r->arg, sizeof(a));
    int e = get_name(r, &off, &name);
    if (e < 0)
        return e;
    if (s->ro)
        return -EROFS;
    struct inode *old = get_inode(s, a.oldnodeid, NULL);
    if (!old)
        return -ENOENT;
    if (S_ISDIR(old->type))
        return -EPERM;
    if (!S_ISDIR(dir->type))
        return -ENOTDIR;
    /* Through our descriptor: the inode the guest holds, which is inside
     * the share (AT_EMPTY_PATH would need CAP_DAC_READ_SEARCH). */
    proc_name(old->fd, p, sizeof(p));
    if (linkat(s->proc_fd, p, dir->fd, name, AT_SYMLINK_FOLLOW) < 0)
        return -errno;
    return made(s, dir, name);
}

/* The open flags the host sees: access mode and a few that matter; never
 * O_CREAT here, O_NOFOLLOW is added where names are opened. */
static int host_open_flags(uint32_t f)
{
    return (int)(f & (O_ACCMODE | O_APPEND | O_TRUNC | O_SYNC | O_DSYNC));
}

static bool writes(uint32_t f)
{
    return (f & O_ACCMODE) != O_RDONLY || (f & O_TRUNC);
}

static int op_open(struct share_server *s, struct req *r, struct inode *in, bool dir)
{
    struct fuse_open_in a;
    NEED(a);
    memcpy(&a, r->arg, sizeof(a));
    int flags;
    if (dir) {
        if (!S_ISDIR(in->type))
            return -ENOTDIR;
        flags = O_RDONLY | O_DIRECTORY;
    } else {
        if (S_ISDIR(in->type))
            return -EISDIR;
        if (!S_ISREG(in->type))
            return -EACCES;
        if ((a.flags & O_ACCMODE) == O_ACCMODE)
            return -EINVAL;
        if (s->ro && writes(a.flags))
            return -EROFS;
        flags = host_open_flags(a.flags);
    }
    if (s->free_handle < 0)
        return -ENFILE;
    int fd = reopen(s, in, flags);
    if (fd < 0)
        return fd;
    struct fuse_open_out o;
    memset(&o, 0, sizeof(o));
    int e = add_handle(s, fd, dir, &o.fh);
    if (e < 0)
        return e;
    memcpy(s->rep, &o, sizeof(o));
    return sizeof(o);
}

static int op_create(struct share_server *s, struct req *r, struct inode *dir)
{
    struct fuse_create_in a;
    const char *name;
    char p[16];
    int e = name_in_dir(s, r, dir, &a, sizeof(a), &name);
    if (e < 0)
        return e;
    if ((a.flags & O_ACCMODE) == O_ACCMODE)
        return -EINVAL;
    if (s->free_handle < 0 || s->free_inode < 0)
        return -ENFILE;
    /* An existing name must be a regular file: opening a FIFO would block
     * the device, a host device node would be the host's device.  Requests
     * are answered one at a time, so the guest cannot swap the name between
     * this look and the open; O_NONBLOCK and the check after are for the
     * host doing so. */
    int pfd = open_beneath(s, dir->fd, name, O_PATH, 0);
    if (pfd >= 0) {
        struct stat st;
        e = stat_fd(pfd, &st);
        close(pfd);
        if (e < 0)
            return e;
        if (a.flags & O_EXCL)
            return -EEXIST;
        if (S_ISLNK(st.st_mode))
            return -ELOOP;
        if (S_ISDIR(st.st_mode))
            return -EISDIR;
        if (!S_ISREG(st.st_mode))
            return -EACCES;
    } else if (pfd != -ENOENT) {
        return pfd;
    }
    int flags = host_open_flags(a.flags) | O_CREAT | O_NONBLOCK | (int)(a.flags & O_EXCL);
    int fd = open_beneath(s, dir->fd, name, flags, safe_mode(a.mode, false));
    if (fd < 0)
        return fd;
    if (pfd == -ENOENT)
        own(s, fd, "");
    struct stat fst;
    if (fstat(fd, &fst) < 0 || !S_ISREG(fst.st_mode)) {
        close(fd);
        return -EACCES;
    }
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    /* The inode is the file we opened, not whatever the name is by now. */
    proc_name(fd, p, sizeof(p));
    pfd = openat(s->proc_fd, p, O_PATH | O_CLOEXEC);
    struct stat st;
    if (pfd < 0 || (e = stat_fd(pfd, &st)) < 0) {
        e = pfd < 0 ? -errno : e;
        if (pfd >= 0)
            close(pfd);
        close(fd);
        return e;
    }
    int slot = add_inode(s, pfd, &st);
    if (slot < 0) {
        close(fd);
        return slot;
    }
    int len = reply_entry(s, (unsigned)slot, &st, 0);
    struct fuse_open_out o;
    memset(&o, 0, sizeof(o));
    if ((e = add_handle(s, fd, false, &o.fh)) < 0) {
        forget(s, node_id(s, (unsigned)slot), 1);
        return e;
    }
    memcpy(s->rep + len, &o, sizeof(o));
    return len + (int)sizeof(o);
}

static int op_read(struct share_server *s, struct req *r)
{
    struct fuse_read_in a;
    NEED(a);
    memcpy(&a, r->arg, sizeof(a));
    struct handle *h = get_handle(s, a.fh, false);
    if (!h)
        return -EBADF;
    if (a.offset > (uint64_t)INT64_MAX)
        return -EINVAL;
    size_t want = a.size;
    if (want > IO_MAX)
        want = IO_MAX;
    if (want > r->outlen - sizeof(struct fuse_out_header))
        want = r->outlen - sizeof(struct fuse_out_header);
    unsigned n = slice(s, r->out, r->nout, sizeof(struct fuse_out_header), want);
    ssize_t got = n ? preadv(h->fd, s->slice, (int)n, (off_t)a.offset) : 0;
    if (got < 0)
        return -errno;
    r->direct = true;
    return (int)got;
}

static int op_write(struct share_server *s, struct req *r, size_t data_off)
{
    struct fuse_write_in a;
    NEED(a);
    memcpy(&a, r->arg, sizeof(a));
    if (s->ro)
        return -EROFS;
    struct handle *h = get_handle(s, a.fh, false);
    if (!h)
        return -EBADF;
    if (a.size > IO_MAX || a.size > r->inlen - data_off || a.offset > (uint64_t)INT64_MAX)
        return -EINVAL;
    unsigned n = slice(s, r->in, r->nin, data_off, a.size);
    ssize_t put = n ? pwritev(h->fd, s->slice, (int)n, (off_t)a.offset) : 0;
    if (put < 0)
        return -errno;
    struct fuse_write_out o = { .size = (uint32_t)put };
    memcpy(s->rep, &o, sizeof(o));
    return sizeof(o);
}

static int op_statfs(struct share_server *s, struct inode *in)
{
    struct statfs sf;
    if (fstatfs(in->fd, &sf) < 0)
        return -errno;
    struct fuse_statfs_out o;
    memset(&o, 0, sizeof(o));
    o.st.blocks = sf.f_blocks;
    o.st.bfree = sf.f_bfree;
    o.st.bavail = sf.f_bavail;
    o.st.files = sf.f_files;
    o.st.ffree = sf.f_ffree;
    o.st.bsize = (uint32_t)sf.f_bsize;
    o.st.namelen = (uint32_t)sf.f_namelen;
    o.st.frsize = (uint32_t)(sf.f_frsize ? sf.f_frsize : sf.f_bsize);
    memcpy(s->rep, &o, sizeof(o));
    return sizeof(o);
}

static int op_release(struct share_server *s, struct req *r, bool dir)
{
    struct fuse_release_in a;
    NEED(a);
    memcpy(&a, r->arg, sizeof(a));
    struct handle *h = get_handle(s, a.fh, dir);
    if (!h)
        return -EBADF;
    close_handle(s, h);
    return 0;
}

static int op_fsync(struct share_server *s, struct req *r, bool dir)
{
    struct fuse_fsync_in a;
    NEED(a);
    memcpy(&a, r->arg, sizeof(a));
    struct handle *h = get_handle(s, a.fh, dir);
    if (!h)
        return -EBADF;
    int rc = (a.fsync_flags & 1) ? fdatasync(h->fd) : fsync(h->fd);
    return rc < 0 ? -errno : 0;
}

static int op_flush(struct share_server *s, struct req *r)
{
    struct fuse_flush_in a;
    NEED(a);
    memcpy(&a, r->arg, sizeof(a));
    return get_handle(s, a.fh, false) ? 0 : -EBADF;
}

struct host_dirent64 {
    uint64_t d_ino;
    int64_t d_off;
    uint16_t d_reclen;
    uint8_t d_type;
    char d_name[];
};

/* READDIR, and READDIRPLUS (each entry also looked up, as LOOKUP would:
 * the guest then needs no LOOKUP per entry for ls -l or find). */
static int op_readdir(struct share_server *s, struct req *r, bool plus)
{
    struct fuse_read_in a;
    NEED(a);
    memcpy(&a, r->arg, sizeof(a));
    struct handle *h = get_handle(s, a.fh, true);
    if (!h)
        return -EBADF;
    size_t room = a.size;
    if (room > REP_MAX)
        room = REP_MAX;
    if (room > r->outlen - sizeof(struct fuse_out_header))
        room = r->outlen - sizeof(struct fuse_out_header);
    if (a.offset > (uint64_t)INT64_MAX || lseek(h->fd, (off_t)a.offset, SEEK_SET) < 0)
        return -EINVAL;
    /* Host entries are smaller than ours: a buffer of our room's size never
     * holds more than fit, and the next READDIR starts at the first one that
     * did not. */
    long got = syscall(SYS_getdents64, h->fd, s->dents, room < sizeof(s->dents) ? room : sizeof(s->dents));
    if (got < 0)
        return -errno;
    size_t used = 0;
    for (long pos = 0; pos < got;) {
        const struct host_dirent64 *d = (const struct host_dirent64 *)(s->dents + pos);
        if (d->d_reclen == 0)
            break;
        size_t namelen = strnlen(d->d_name, (size_t)d->d_reclen - offsetof(struct host_dirent64, d_name));
        size_t head = plus ? FUSE_NAME_OFFSET_DIRENTPLUS : FUSE_NAME_OFFSET;
        size_t ent = FUSE_DIRENT_ALIGN(head + namelen);
        if (used + ent > room)
            break;
        uint8_t *p = s->rep + used;
        memset(p, 0, ent);
        if (plus) {
            /* "." and "..", and a name that is gone or past our bounds, go
             * without an entry (node id 0): the guest looks it up if it
             * needs it. */
            bool dots = (namelen == 1 && d->d_name[0] == '.') ||
                        (namelen == 2 && d->d_name[0] == '.' && d->d_name[1] == '.');
            struct stat st;
            int slot = dots ? -1 : lookup_name(s, &(struct inode){ .fd = h->fd }, d->d_name, &st);
            if (slot >= 0) {
                struct fuse_entry_out eo;
                memset(&eo, 0, sizeof(eo));
                eo.nodeid = node_id(s, (unsigned)slot);
                eo.entry_valid = eo.attr_valid = s->cache_s;
                fill_attr(s, &st, &eo.attr);
                memcpy(p, &eo, sizeof(eo));
            }
            p += offsetof(struct fuse_direntplus, dirent);
        }
        struct fuse_dirent fd;
        fd.ino = d->d_ino;
        fd.off = (uint64_t)d->d_off;
        fd.namelen = (uint32_t)namelen;
        fd.type = d->d_type;
        memcpy(p, &fd, FUSE_NAME_OFFSET);
        memcpy(p + FUSE_NAME_OFFSET, d->d_name, namelen);
        used += ent;
        pos += d->d_reclen;
    }
    return (int)used;
}

static int op_access(struct share_server *s, struct req *r)
{
    struct fuse_access_in a;
    NEED(a);
    memcpy(&a, r->arg, sizeof(a));
    return s->ro && (a.mask & W_OK) ? -EROFS : 0;
}

static int op_fallocate(struct share_server *s, struct req *r)
{
    struct fuse_fallocate_in a;
    NEED(a);
    memcpy(&a, r->arg, sizeof(a));
    if (s->ro)
        return -EROFS;
    struct handle *h = get_handle(s, a.fh, false);
    if (!h)
        return -EBADF;
    /* KEEP_SIZE, PUNCH_HOLE, ZERO_RANGE. */
    if (a.mode & ~(uint32_t)(0x01 | 0x02 | 0x10))
        return -EOPNOTSUPP;
    if (a.offset > (uint64_t)INT64_MAX || a.length > (uint64_t)INT64_MAX)
        return -EINVAL;
    return fallocate(h->fd, (int)a.mode, (off_t)a.offset, (off_t)a.length) < 0 ? -errno : 0;
}

static int op_lseek(struct share_server *s, struct req *r)
{
    struct fuse_lseek_in a;
    NEED(a);
    memcpy(&a, r->arg, sizeof(a));
    struct handle *h = get_handle(s, a.fh, false);
    if (!h)
        return -EBADF;
    if ((a.whence != SEEK_DATA && a.whence != SEEK_HOLE) || a.offset > (uint64_t)INT64_MAX)
        return -EINVAL;
    off_t o = lseek(h->fd, (off_t)a.offset, (int)a.whence);
    if (o < 0)
        return -errno;
    struct fuse_lseek_out lo = { .offset = (uint64_t)o };
    memcpy(s->rep, &lo, sizeof(lo));
    return sizeof(lo);
}

static int op_batch_forget(struct share_server *s, struct req *r)
{
    struct fuse_batch_forget_in a;
    if (r->arglen < sizeof(a))
        return 0;
    memcpy(&a, r->arg, sizeof(a));
    size_t have = (r->arglen - sizeof(a)) / sizeof(struct fuse_forget_one);
    size_t n = a.count < have ? a.count : have;
    for (size_t i = 0; i < n; i++) {
        struct fuse_forget_one f;
        memcpy(&f, r->arg + sizeof(a) + i * sizeof(f), sizeof(f));
        forget(s, f.nodeid, f.nlookup);
    }
    return 0;
}

/* Requests that get no reply at all. */
static bool no_reply(uint32_t op)
{
    return op == FUSE_FORGET || op == FUSE_BATCH_FORGET || op == FUSE_INTERRUPT;
}

/* Runs a request; the payload length in s->rep (or in out, r->direct), or
 * -errno for an error reply. */
static int dispatch(struct share_server *s, struct req *r, size_t write_data_off)
{
    uint32_t op = r->h.opcode;
    if (op == FUSE_INIT)
        return op_init(s, r);
    if (!s->initialized)
        return -EIO;
    switch (op) {
    case FUSE_FORGET: {
        struct fuse_forget_in a;
        if (r->arglen >= sizeof(a)) {
            memcpy(&a, r->arg, sizeof(a));
            forget(s, r->h.nodeid, a.nlookup);
        }
        return 0;
    }
    case FUSE_BATCH_FORGET:
        return op_batch_forget(s, r);
    case FUSE_INTERRUPT:
        return 0;       /* requests are answered in order: nothing is left to stop */
    case FUSE_DESTROY:
        share_server_reset(s);
        return 0;
    case FUSE_READ:
        return op_read(s, r);
    case FUSE_WRITE:
        return op_write(s, r, write_data_off);
    case FUSE_RELEASE:
        return op_release(s, r, false);
    case FUSE_RELEASEDIR:
        return op_release(s, r, true);
    case FUSE_FSYNC:
        return op_fsync(s, r, false);
    case FUSE_FSYNCDIR:
        return op_fsync(s, r, true);
    case FUSE_FLUSH:
        return op_flush(s, r);
    case FUSE_READDIR:
        return op_readdir(s, r, false);
    case FUSE_READDIRPLUS:
        return op_readdir(s, r, true);
    case FUSE_FALLOCATE:
        return op_fallocate(s, r);
    case FUSE_LSEEK:
        return op_lseek(s, r);
    case FUSE_ACCESS:
        return op_access(s, r);
    default:
        break;
    }
    /* The rest act on the node the header names. */
    struct inode *in;
    switch (op) {
    case FUSE_LOOKUP: case FUSE_GETATTR: case FUSE_SETATTR: case FUSE_READLINK:
    case FUSE_SYMLINK: case FUSE_MKNOD: case FUSE_MKDIR: case FUSE_UNLINK: case FUSE_RMDIR:
    case FUSE_RENAME: case FUSE_RENAME2: case FUSE_LINK: case FUSE_OPEN: case FUSE_OPENDIR:
    case FUSE_CREATE: case FUSE_STATFS:
        in = get_inode(s, r->h.nodeid, NULL);
        if (!in)
            return -ENOENT;
        break;
    default:
        /* xattrs (host security labels and capabilities stay the host's),
         * locks (the guest's kernel keeps them), DAX mappings, ioctl, poll,
         * copy_file_range, tmpfile, syncfs, and whatever comes
         * later: ENOSYS, which the kernel remembers. */
        return -ENOSYS;
    }
    switch (op) {
    case FUSE_LOOKUP: return op_lookup(s, r, in);
    case FUSE_GETATTR: return op_getattr(s, in);
    case FUSE_SETATTR: return op_setattr(s, r, in);
    case FUSE_READLINK: return op_readlink(s, in);
    case FUSE_SYMLINK: return op_symlink(s, r, in);
    case FUSE_MKNOD: return op_mknod(s, r, in);
    case FUSE_MKDIR: return op_mkdir(s, r, in);
    case FUSE_UNLINK: return op_unlink(s, r, in, false);
    case FUSE_RMDIR: return op_unlink(s, r, in, true);
    case FUSE_RENAME: return op_rename(s, r, in, false);
    case FUSE_RENAME2: return op_rename(s, r, in, true);
    case FUSE_LINK: return op_link(s, r, in);
    case FUSE_OPEN: return op_open(s, r, in, false);
    case FUSE_OPENDIR: return op_open(s, r, in, true);
    case FUSE_CREATE: return op_create(s, r, in);
    case FUSE_STATFS: return op_statfs(s, in);
    }
    return -ENOSYS;
}

size_t share_server_handle(struct share_server *s, const struct iovec *in, unsigned nin,
                           const struct iovec *out, unsigned nout)
{
    struct req r;
    memset(&r, 0, sizeof(r));
    r.in = in;
    r.nin = nin;
    r.out = out;
    r.nout = nout;
    r.inlen = iov_total(in, nin);
    r.outlen = iov_total(out, nout);
    if (r.inlen < sizeof(r.h))
        return 0;                       /* not even a header: nothing to answer */
    iov_to_buf(in, nin, 0, &r.h, sizeof(r.h));
    struct fuse_out_header oh = { .unique = r.h.unique };
    int res;
    size_t write_data_off = 0;
    if (r.h.len < sizeof(r.h) || r.h.len > r.inlen) {
        res = -EINVAL;
    } else {
        /* Arguments into our buffer: all of them, or for WRITE just its
         * fixed part (the data is read from the segments). */
        size_t arglen = r.h.len - sizeof(r.h);
        if (r.h.opcode == FUSE_WRITE) {
            write_data_off = sizeof(r.h) + sizeof(struct fuse_write_in);
            if (arglen > sizeof(struct fuse_write_in))
                arglen = sizeof(struct fuse_write_in);
            r.inlen = r.h.len;
        }
        if (arglen > REQ_MAX - sizeof(r.h)) {
            res = r.h.opcode == FUSE_SETXATTR ? -ENOSYS : -E2BIG;
        } else {
            iov_to_buf(in, nin, sizeof(r.h), s->req + sizeof(r.h), arglen);
            r.arg = s->req + sizeof(r.h);
            r.arglen = arglen;
            if (r.outlen < sizeof(oh) && !no_reply(r.h.opcode))
                return 0;               /* nowhere to answer: do nothing */
            res = dispatch(s, &r, write_data_off);
        }
    }
    if (no_reply(r.h.opcode))
        return 0;
    if (r.outlen < sizeof(oh))
        return 0;
    if (res >= 0 && !r.direct && sizeof(oh) + (size_t)res > r.outlen)
        res = -EIO;                     /* the driver gave too little room */
    if (res < 0) {
        oh.error = res;
        oh.len = sizeof(oh);
    } else {
        oh.len = (uint32_t)(sizeof(oh) + (size_t)res);
        if (!r.direct)
            iov_from_buf(out, nout, sizeof(oh), s->rep, (size_t)res);
    }
    iov_from_buf(out, nout, 0, &oh, sizeof(oh));
    return oh.len;
}

/* ---- life ------------------------------------------------------------------- */

void share_server_reset(struct share_server *s)
{
    for (unsigned i = 0; i < s->max_inodes; i++)
        if (i != ROOT_SLOT && s->inodes[i].fd >= 0)
            free_slot(s, i);
    for (unsigned i = 0; i < s->max_handles; i++)
        if (s->handles[i].fd >= 0)
            close_handle(s, &s->handles[i]);
    s->initialized = false;
}

void share_server_counts(const struct share_server *s, unsigned *inodes, unsigned *handles)
{
    *inodes = s->ninodes;
    *handles = s->nhandles;
}

/* How many descriptors we may hold: the soft limit raised to the hard one
 * (a share holds one per inode the guest knows). */
static rlim_t fd_budget(void)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0)
        return 1024;
    if (rl.rlim_cur < rl.rlim_max) {
        rl.rlim_cur = rl.rlim_max;
        if (setrlimit(RLIMIT_NOFILE, &rl) < 0)
            getrlimit(RLIMIT_NOFILE, &rl);
    }
    return rl.rlim_cur;
}

int share_server_open(const struct share_options *o, struct share_server **out, struct err *e)
{
    struct share_server *s = calloc(1, sizeof(*s));
    if (!s)
        return err_set(e, -ENOMEM, "out of memory for the share of %s", o->dir);
    s->proc_fd = o->jailed ? o->proc_fd : -1;
    s->dir = strdup(o->dir);
    s->ro = o->readonly;
    s->guest_uid = o->guest_uid;
    s->guest_gid = o->guest_gid;
    s->host_uid = o->jailed ? o->owner_uid : geteuid();
    s->host_gid = o->jailed ? o->owner_gid : getegid();
    s->cache_s = o->cache_s < 0 ? 0 : o->cache_s == 0 ? 1 : (uint64_t)o->cache_s;
    s->have_openat2 = true;
    rlim_t budget = fd_budget();
    rlim_t spare = budget > 512 ? budget - 512 : 64;
    s->max_inodes = o->max_inodes ? o->max_inodes
                    : (unsigned)(spare * 3 / 4 < DEFAULT_MAX_INODES ? spare * 3 / 4 : DEFAULT_MAX_INODES);
    s->max_handles = o->max_handles ? o->max_handles
                     : (unsigned)(spare / 4 < DEFAULT_MAX_HANDLES ? spare / 4 : DEFAULT_MAX_HANDLES);
    if (s->max_inodes < 2)
        s->max_inodes = 2;
    if (s->max_handles < 1)
        s->max_handles = 1;
    unsigned nb = 1;
    while (nb < s->max_inodes * 2)
        nb <<= 1;
    s->bucket_mask = nb - 1;
    s->inodes = calloc(s->max_inodes, sizeof(*s->inodes));
    s->buckets = malloc(nb * sizeof(*s->buckets));
    s->handles = calloc(s->max_handles, sizeof(*s->handles));
    if (!s->dir || !s->inodes || !s->buckets || !s->handles) {
        share_server_close(s);
        return err_set(e, -ENOMEM, "out of memory for the share of %s", o->dir);
    }
    for (unsigned i = 0; i < nb; i++)
        s->buckets[i] = -1;
    s->inodes[ROOT_SLOT].fd = -1;
    s->free_inode = -1;
    for (unsigned i = s->max_inodes; i-- > 1;) {
        s->inodes[i].fd = -1;
        s->inodes[i].hnext = s->free_inode;
        s->free_inode = (int32_t)i;
    }
    s->free_handle = -1;
    for (unsigned i = s->max_handles; i-- > 0;) {
        s->handles[i].fd = -1;
        s->handles[i].next_free = s->free_handle;
        s->free_handle = (int32_t)i;
    }
    int r;
    int fd = open(o->dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        r = -errno;
        share_server_close(s);
        return err_set(e, r, "cannot share %s: %s", o->dir, strerror(-r));
    }
    struct stat st;
    fstat(fd, &st);
    s->inodes[ROOT_SLOT].fd = fd;
    s->inodes[ROOT_SLOT].dev = st.st_dev;
    s->inodes[ROOT_SLOT].ino = st.st_ino;
    s->inodes[ROOT_SLOT].type = S_IFDIR;
    s->inodes[ROOT_SLOT].nlookup = 1;
    hash_insert(s, ROOT_SLOT);
    s->ninodes = 1;
    /* In a root jail (no /proc there): the one kept before it. */
    if (!o->jailed)
        s->proc_fd = open("/proc/self/fd", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (s->proc_fd < 0) {
        r = -errno;
        share_server_close(s);
        return err_set(e, r, "cannot share %s: /proc/self/fd: %s (shares need /proc)", o->dir,
                       strerror(-r));
    }
    *out = s;
    return 0;
}

void share_server_close(struct share_server *s)
{
    if (!s)
        return;
    if (s->inodes && s->handles && s->buckets)
        share_server_reset(s);
    if (s->inodes && s->inodes[ROOT_SLOT].fd >= 0)
        close(s->inodes[ROOT_SLOT].fd);
    if (s->proc_fd >= 0)
        close(s->proc_fd);
    free(s->inodes);
    free(s->buckets);
    free(s->handles);
    free(s->dir);
    free(s);
}
