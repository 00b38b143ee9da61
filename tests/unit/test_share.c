/* The shared-folder server (src/share/server.c) driven by hand-made FUSE
 * requests, as a hostile guest would send them: names that try to leave the
 * share, symlinks to the outside, device nodes, whiteouts, read-only
 * shares, exhausted handle and inode tables, lying lengths; and the normal
 * work (create, write, read, rename over, readdir, ids, modes, times). */
#include <errno.h>
#include <fcntl.h>
#include <linux/fuse.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "lib/err.h"
#include "share/server.h"

static char base[64], shared[96], outside[96];

static void sh(const char *cmd)
{
    if (system(cmd) != 0)
        printf("  command failed: %s\n", cmd);
}

/* A fresh tree: base/shared (the share, with a.txt, sub/, out -> outside,
 * root -> /) and base/outside/secret. */
static void make_tree(void)
{
    char cmd[2048];
    snprintf(base, sizeof(base), "/tmp/hostel-share-XXXXXX");
    if (!mkdtemp(base))
        abort();
    snprintf(shared, sizeof(shared), "%s/shared", base);
    snprintf(outside, sizeof(outside), "%s/outside", base);
    snprintf(cmd, sizeof(cmd),
             "mkdir -p %s/sub %s && echo secret > %s/secret && echo hello > %s/a.txt && "
             "ln -s %s %s/out && ln -s / %s/root && ln -s ../outside %s/rel",
             shared, outside, outside, shared, outside, shared, shared, shared);
    sh(cmd);
}

static void remove_tree(void)
{
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", base);
    sh(cmd);
}

static bool outside_untouched(void)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof(p), "%s/secret", outside);
    FILE *f = fopen(p, "r");
    char buf[32] = "";
    if (!f)
        return false;
    if (!fgets(buf, sizeof(buf), f))
        buf[0] = 0;
    fclose(f);
    /* Only "secret" in it, still "secret\n", mode as made. */
    snprintf(p, sizeof(p), "ls -A %s | grep -qvx secret", outside);
    return !strcmp(buf, "secret\n") && stat(outside, &st) == 0 && system(p) != 0;
}

static struct share_server *open_share(bool ro, unsigned max_inodes, unsigned max_handles,
                                       uint32_t uid)
{
    struct share_options o = { .dir = shared, .readonly = ro, .guest_uid = uid, .guest_gid = uid,
                               .max_inodes = max_inodes, .max_handles = max_handles };
    struct share_server *s = NULL;
    struct err e = ERR_INIT;
    if (share_server_open(&o, &s, &e) < 0) {
        printf("  share_server_open: %s\n", e.msg);
        abort();
    }
    return s;
}

static uint8_t out[(1 << 20) + 4096];
static uint64_t unique;

/* Sends opcode on nodeid with args (split over two segments to exercise the
 * slicing); returns the reply's error (0 or -errno), or 1 when there was no
 * reply.  The reply's payload is at out + 16. */
static int req_full(struct share_server *s, uint32_t op, uint64_t nodeid, const void *args,
                    size_t len, size_t outlen, int32_t len_delta)
{
    static uint8_t in[1 << 16];
    struct fuse_in_header h = { .len = (uint32_t)(sizeof(h) + len + (size_t)(int64_t)len_delta),
                                .opcode = op, .unique = ++unique, .nodeid = nodeid };
    memcpy(in, &h, sizeof(h));
    memcpy(in + sizeof(h), args, len);
    size_t total = sizeof(h) + len, cut = total / 2;
    struct iovec iv[2] = { { in, cut }, { in + cut, total - cut } };
    struct iovec ov = { out, outlen };
    memset(out, 0xee, 64);
    size_t n = share_server_handle(s, iv, 2, &ov, 1);
    if (n == 0)
        return 1;
    struct fuse_out_header oh;
    memcpy(&oh, out, sizeof(oh));
    if (oh.unique != h.unique || oh.len != n)
        return -9999;
    return oh.error;
}

static int req(struct share_server *s, uint32_t op, uint64_t nodeid, const void *args, size_t len)
{
    return req_full(s, op, nodeid, args, len, sizeof(out), 0);
}

static int init(struct share_server *s)
{
    struct fuse_init_in in = { .major = 7, .minor = 38, .max_readahead = 65536,
                               .flags = FUSE_ASYNC_READ | FUSE_BIG_WRITES | FUSE_MAX_PAGES };
    return req(s, FUSE_INIT, 0, &in, sizeof(in));
}

static int lookup(struct share_server *s, uint64_t dir, const char *name, uint64_t *id,
                  struct fuse_attr *a)
{
    int r = req(s, FUSE_LOOKUP, dir, name, strlen(name) + 1);
    if (r == 0) {
        struct fuse_entry_out eo;
        memcpy(&eo, out + 16, sizeof(eo));
        if (id)
            *id = eo.nodeid;
        if (a)
            *a = eo.attr;
    }
    return r;
}

/* Builds "struct + name\0 [+ name2\0]" args. */
static size_t args2(uint8_t *buf, const void *st, size_t stlen, const char *n1, const char *n2)
{
    size_t off = stlen;
    memcpy(buf, st, stlen);
    memcpy(buf + off, n1, strlen(n1) + 1);
    off += strlen(n1) + 1;
    if (n2) {
        memcpy(buf + off, n2, strlen(n2) + 1);
        off += strlen(n2) + 1;
    }
    return off;
}

static int create(struct share_server *s, uint64_t dir, const char *name, uint32_t flags,
                  uint32_t mode, uint64_t *id, uint64_t *fh)
{
    uint8_t a[512];
    struct fuse_create_in ci = { .flags = flags, .mode = S_IFREG | mode };
    int r = req(s, FUSE_CREATE, dir, a, args2(a, &ci, sizeof(ci), name, NULL));
    if (r == 0) {
        struct fuse_entry_out eo;
        struct fuse_open_out oo;
        memcpy(&eo, out + 16, sizeof(eo));
        memcpy(&oo, out + 16 + sizeof(eo), sizeof(oo));
        if (id)
            *id = eo.nodeid;
        if (fh)
            *fh = oo.fh;
    }
    return r;
}

static int open_node(struct share_server *s, uint64_t id, uint32_t flags, uint64_t *fh, bool dir)
{
    struct fuse_open_in oi = { .flags = flags };
    int r = req(s, dir ? FUSE_OPENDIR : FUSE_OPEN, id, &oi, sizeof(oi));
    if (r == 0 && fh) {
        struct fuse_open_out oo;
        memcpy(&oo, out + 16, sizeof(oo));
        *fh = oo.fh;
    }
    return r;
}

static int host_exists(const char *rel)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof(p), "%s/%s", base, rel);
    return lstat(p, &st) == 0;
}

/* ---- tests ------------------------------------------------------------------ */

static void share_basic_io(void)
{
    make_tree();
    struct share_server *s = open_share(false, 0, 0, 0);
    uint64_t fh, id, a;
    CHECK_EQ(req(s, FUSE_GETATTR, FUSE_ROOT_ID, &(struct fuse_getattr_in){0}, sizeof(struct fuse_getattr_in)), -EIO);  /* before INIT */
    CHECK_EQ(init(s), 0);
    struct fuse_init_out io;
    memcpy(&io, out + 16, sizeof(io));
    CHECK_EQ(io.major, 7);
    CHECK_EQ(io.max_write, 1 << 20);
    CHECK_EQ(lookup(s, FUSE_ROOT_ID, "a.txt", &a, NULL), 0);
    CHECK_EQ(open_node(s, a, O_RDONLY, &fh, false), 0);
    struct fuse_read_in ri = { .fh = fh, .offset = 0, .size = 100 };
    CHECK_EQ(req(s, FUSE_READ, a, &ri, sizeof(ri)), 0);
    CHECK(!memcmp(out + 16, "hello\n", 6));
    struct fuse_out_header oh;
    memcpy(&oh, out, sizeof(oh));
    CHECK_EQ(oh.len, 16 + 6);
    /* A read of 4 GiB is cut to the room the driver gave. */
    ri.size = 0xffffffff;
    CHECK_EQ(req_full(s, FUSE_READ, a, &ri, sizeof(ri), 16 + 3, 0), 0);
    CHECK(!memcmp(out + 16, "hel", 3));
    struct fuse_release_in rl = { .fh = fh };
    CHECK_EQ(req(s, FUSE_RELEASE, a, &rl, sizeof(rl)), 0);
    CHECK_EQ(req(s, FUSE_RELEASE, a, &rl, sizeof(rl)), -EBADF);      /* twice */
    CHECK_EQ(req(s, FUSE_READ, a, &ri, sizeof(ri)), -EBADF);         /* closed */

    /* Create, write, rename over, read back. */
    CHECK_EQ(create(s, FUSE_ROOT_ID, "new", O_WRONLY | O_EXCL, 0640, &id, &fh), 0);
    uint8_t w[sizeof(struct fuse_write_in) + 5];
    struct fuse_write_in wi = { .fh = fh, .offset = 0, .size = 5 };
    memcpy(w, &wi, sizeof(wi));
    memcpy(w + sizeof(wi), "abcde", 5);
    CHECK_EQ(req(s, FUSE_WRITE, id, w, sizeof(w)), 0);
    struct fuse_write_out wo;
    memcpy(&wo, out + 16, sizeof(wo));
    CHECK_EQ(wo.size, 5);
    /* A WRITE claiming more data than it carries is refused. */
    wi.size = 500;
    memcpy(w, &wi, sizeof(wi));
    CHECK_EQ(req(s, FUSE_WRITE, id, w, sizeof(w)), -EINVAL);
    uint8_t rn[600];
    struct fuse_rename_in rni = { .newdir = FUSE_ROOT_ID };
    CHECK_EQ(req(s, FUSE_RENAME, FUSE_ROOT_ID, rn, args2(rn, &rni, sizeof(rni), "new", "a.txt")), 0);
    char p[256], buf[16] = "";
    snprintf(p, sizeof(p), "%s/a.txt", shared);
    FILE *f = fopen(p, "r");
    if (f) {
        if (!fgets(buf, sizeof(buf), f))
            buf[0] = 0;
        fclose(f);
    }
    CHECK(!strcmp(buf, "abcde"));
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 07777) == 0640);
    CHECK(!host_exists("shared/new"));

    /* Times and modes as asked (set-id bits never reach the host). */
    struct fuse_setattr_in sa = { .valid = FATTR_MTIME | FATTR_ATIME | FATTR_MODE,
                                  .mtime = 1234567890, .mtimensec = 5, .atime = 1000000000,
                                  .mode = 04755 };
    CHECK_EQ(req(s, FUSE_SETATTR, id, &sa, sizeof(sa)), 0);
    CHECK(stat(p, &st) == 0 && st.st_mtim.tv_sec == 1234567890 && st.st_mtim.tv_nsec == 5 &&
          (st.st_mode & 07777) == 0755);
    sa = (struct fuse_setattr_in){ .valid = FATTR_SIZE, .size = 2 };
    CHECK_EQ(req(s, FUSE_SETATTR, id, &sa, sizeof(sa)), 0);
    CHECK(stat(p, &st) == 0 && st.st_size == 2);

    /* READDIR in small pieces sees every entry once. */
    CHECK_EQ(open_node(s, FUSE_ROOT_ID, O_RDONLY, &fh, true), 0);
    uint64_t off = 0;
    int seen = 0, rounds = 0;
    for (;;) {
        struct fuse_read_in rd = { .fh = fh, .offset = off, .size = 40 };
        if (req(s, FUSE_READDIR, FUSE_ROOT_ID, &rd, sizeof(rd)) != 0 || ++rounds > 100)
            break;
        memcpy(&oh, out, sizeof(oh));
        if (oh.len == 16)
            break;
        struct fuse_dirent d;
        memcpy(&d, out + 16, sizeof(d));
        off = d.off;
        seen++;
    }
    CHECK_EQ(seen, 7);     /* . .. a.txt sub out root rel */
    /* READDIRPLUS: every entry but . and .. comes looked up (a reference
     * the guest forgets later), one that does not fit is not looked up. */
    unsigned before_n, after_n, nh;
    share_server_counts(s, &before_n, &nh);
    struct fuse_read_in rp = { .fh = fh, .offset = 0, .size = 4096 };
    CHECK_EQ(req(s, FUSE_READDIRPLUS, FUSE_ROOT_ID, &rp, sizeof(rp)), 0);
    memcpy(&oh, out, sizeof(oh));
    int named = 0, total = 0;
    for (size_t at = 16; at < oh.len;) {
        struct fuse_direntplus dp;
        memcpy(&dp, out + at, sizeof(dp));
        total++;
        if (dp.entry_out.nodeid) {
            named++;
            struct fuse_forget_in fg = { .nlookup = 1 };
            CHECK_EQ(req(s, FUSE_FORGET, dp.entry_out.nodeid, &fg, sizeof(fg)), 1);
        }
        at += FUSE_DIRENT_ALIGN(FUSE_NAME_OFFSET_DIRENTPLUS + dp.dirent.namelen);
    }
    CHECK_EQ(total, 7);
    CHECK_EQ(named, 5);
    share_server_counts(s, &after_n, &nh);
    CHECK_EQ(after_n, before_n);
    rp.size = 200;             /* room for one entry (each is over 150 bytes) */
    CHECK_EQ(req(s, FUSE_READDIRPLUS, FUSE_ROOT_ID, &rp, sizeof(rp)), 0);
    memcpy(&oh, out, sizeof(oh));
    share_server_counts(s, &after_n, &nh);
    CHECK(oh.len > 16 && oh.len < 16 + 200 && after_n <= before_n + 1);
    struct fuse_release_in rd = { .fh = fh };
    CHECK_EQ(req(s, FUSE_RELEASEDIR, FUSE_ROOT_ID, &rd, sizeof(rd)), 0);
    share_server_close(s);
    remove_tree();
}

static void share_escapes_refused(void)
{
    make_tree();
    struct share_server *s = open_share(false, 0, 0, 0);
    CHECK_EQ(init(s), 0);
    uint64_t id, sub, out_id;
    struct fuse_attr a;
    /* Names that are not one component. */
    CHECK_EQ(lookup(s, FUSE_ROOT_ID, "..", &id, NULL), -EINVAL);
    CHECK_EQ(lookup(s, FUSE_ROOT_ID, ".", &id, NULL), -EINVAL);
    CHECK_EQ(lookup(s, FUSE_ROOT_ID, "../outside", &id, NULL), -EINVAL);
    CHECK_EQ(lookup(s, FUSE_ROOT_ID, "sub/../../outside", &id, NULL), -EINVAL);
    CHECK_EQ(lookup(s, FUSE_ROOT_ID, "/etc", &id, NULL), -EINVAL);
    CHECK_EQ(lookup(s, FUSE_ROOT_ID, "", &id, NULL), -EINVAL);
    char longname[300];
    memset(longname, 'x', sizeof(longname) - 1);
    longname[sizeof(longname) - 1] = 0;
    CHECK_EQ(lookup(s, FUSE_ROOT_ID, longname, &id, NULL), -ENAMETOOLONG);
    CHECK_EQ(req(s, FUSE_LOOKUP, FUSE_ROOT_ID, "a.txt", 5), -EINVAL);   /* no NUL */
    /* A symlink is a symlink: never followed on the host. */
    CHECK_EQ(lookup(s, FUSE_ROOT_ID, "out", &out_id, &a), 0);
    CHECK(S_ISLNK(a.mode));
    CHECK_EQ(lookup(s, out_id, "secret", &id, NULL), -ENOTDIR);
    CHECK_EQ(open_node(s, out_id, O_RDONLY, NULL, false), -EACCES);
    CHECK_EQ(open_node(s, out_id, O_RDONLY, NULL, true), -ENOTDIR);
    CHECK_EQ(create(s, out_id, "x", O_WRONLY, 0644, NULL, NULL), -ENOTDIR);
    uint8_t buf[600];
    struct fuse_mkdir_in mi = { .mode = 0755 };
    CHECK_EQ(req(s, FUSE_MKDIR, out_id, buf, args2(buf, &mi, sizeof(mi), "x", NULL)), -ENOTDIR);
    struct fuse_setattr_in sa = { .valid = FATTR_MODE, .mode = 0777 };
    CHECK_EQ(req(s, FUSE_SETATTR, out_id, &sa, sizeof(sa)), -EOPNOTSUPP);
    sa = (struct fuse_setattr_in){ .valid = FATTR_SIZE, .size = 0 };
    CHECK_EQ(req(s, FUSE_SETATTR, out_id, &sa, sizeof(sa)), -EINVAL);
    CHECK_EQ(req(s, FUSE_READLINK, out_id, "", 0), 0);
    CHECK(!memcmp(out + 16, outside, strlen(outside)));
    /* A symlink swapped in for a directory the guest holds does not move
     * that directory's node: it still names the directory it was. */
    CHECK_EQ(lookup(s, FUSE_ROOT_ID, "sub", &sub, NULL), 0);
    char from[256], to[256];
    snprintf(from, sizeof(from), "%s/sub", shared);
    snprintf(to, sizeof(to), "%s/sub.old", shared);
    CHECK(rename(from, to) == 0 && symlink(outside, from) == 0);
    CHECK_EQ(create(s, sub, "made", O_WRONLY, 0644, NULL, NULL), 0);
    CHECK(host_exists("shared/sub.old/made") && !host_exists("outside/made"));
    CHECK_EQ(lookup(s, FUSE_ROOT_ID, "sub", &id, &a), 0);       /* now the symlink */
    CHECK(S_ISLNK(a.mode));
    CHECK_EQ(create(s, id, "made2", O_WRONLY, 0644, NULL, NULL), -ENOTDIR);
    /* Creating over a symlink does not write through it. */
    CHECK_EQ(create(s, FUSE_ROOT_ID, "out", O_WRONLY | O_TRUNC, 0644, NULL, NULL), -ELOOP);
    /* A FIFO the host made: CREATE over it neither blocks nor opens it. */
    snprintf(from, sizeof(from), "%s/hostfifo", shared);
    CHECK(mkfifo(from, 0644) == 0);
    CHECK_EQ(create(s, FUSE_ROOT_ID, "hostfifo", O_WRONLY, 0644, NULL, NULL), -EACCES);
    CHECK_EQ(create(s, FUSE_ROOT_ID, "sub.old", O_WRONLY, 0644, NULL, NULL), -EISDIR);
    CHECK_EQ(create(s, FUSE_ROOT_ID, "a.txt", O_WRONLY | O_EXCL, 0644, NULL, NULL), -EEXIST);
    /* Device nodes, whiteouts. */
    struct fuse_mknod_in mk = { .mode = S_IFCHR | 0666, .rdev = (1 << 8) | 3 };
    CHECK_EQ(req(s, FUSE_MKNOD, FUSE_ROOT_ID, buf, args2(buf, &mk, sizeof(mk), "null", NULL)), -EPERM);
    mk.mode = S_IFBLK | 0666;
    CHECK_EQ(req(s, FUSE_MKNOD, FUSE_ROOT_ID, buf, args2(buf, &mk, sizeof(mk), "blk", NULL)), -EPERM);
    CHECK(!host_exists("shared/null") && !host_exists("shared/blk"));
    mk.mode = S_IFIFO | 0644;
    CHECK_EQ(req(s, FUSE_MKNOD, FUSE_ROOT_ID, buf, args2(buf, &mk, sizeof(mk), "fifo", NULL)), 0);
    struct fuse_rename2_in r2 = { .newdir = FUSE_ROOT_ID, .flags = 1 << 2 /* WHITEOUT */ };
    CHECK_EQ(req(s, FUSE_RENAME2, FUSE_ROOT_ID, buf, args2(buf, &r2, sizeof(r2), "a.txt", "b")), -EINVAL);
    r2.flags = 1;   /* NOREPLACE */
    CHECK_EQ(req(s, FUSE_RENAME2, FUSE_ROOT_ID, buf, args2(buf, &r2, sizeof(r2), "a.txt", "fifo")), -EEXIST);
    struct fuse_rename_in rn = { .newdir = FUSE_ROOT_ID };
    CHECK_EQ(req(s, FUSE_RENAME, FUSE_ROOT_ID, buf, args2(buf, &rn, sizeof(rn), "a.txt", "../x")), -EINVAL);
    CHECK_EQ(req(s, FUSE_RENAME, FUSE_ROOT_ID, buf, args2(buf, &rn, sizeof(rn), "..", "x")), -EINVAL);
    /* Set-id bits never reach the host. */
    uint64_t fid;
    CHECK_EQ(create(s, FUSE_ROOT_ID, "suid", O_WRONLY, 06755, &fid, NULL), 0);
    struct stat st;
    snprintf(from, sizeof(from), "%s/suid", shared);
    CHECK(stat(from, &st) == 0 && (st.st_mode & 07777) == 0755);
    /* Links: only of nodes the guest holds, only into the share. */
    struct fuse_link_in li = { .oldnodeid = 0xdead00000001ULL };
    CHECK_EQ(req(s, FUSE_LINK, FUSE_ROOT_ID, buf, args2(buf, &li, sizeof(li), "l", NULL)), -ENOENT);
    li.oldnodeid = out_id;      /* the symlink itself, not what it points at */
    CHECK_EQ(req(s, FUSE_LINK, FUSE_ROOT_ID, buf, args2(buf, &li, sizeof(li), "l", NULL)), 0);
    snprintf(from, sizeof(from), "%s/l", shared);
    CHECK(lstat(from, &st) == 0 && S_ISLNK(st.st_mode));
    CHECK(outside_untouched());
    share_server_close(s);
    remove_tree();
}

static void share_readonly(void)
{
    make_tree();
    struct share_server *s = open_share(true, 0, 0, 0);
    CHECK_EQ(init(s), 0);
    uint64_t a, fh;
    uint8_t buf[600];
    CHECK_EQ(lookup(s, FUSE_ROOT_ID, "a.txt", &a, NULL), 0);
    CHECK_EQ(open_node(s, a, O_RDONLY, &fh, false), 0);
    CHECK_EQ(open_node(s, a, O_WRONLY, NULL, false), -EROFS);
    CHECK_EQ(open_node(s, a, O_RDWR, NULL, false), -EROFS);
    CHECK_EQ(open_node(s, a, O_RDONLY | O_TRUNC, NULL, false), -EROFS);
    CHECK_EQ(create(s, FUSE_ROOT_ID, "n", O_WRONLY, 0644, NULL, NULL), -EROFS);
    struct fuse_mkdir_in mi = { .mode = 0755 };
    CHECK_EQ(req(s, FUSE_MKDIR, FUSE_ROOT_ID, buf, args2(buf, &mi, sizeof(mi), "d", NULL)), -EROFS);
    struct fuse_mknod_in mk = { .mode = S_IFREG | 0644 };
    CHECK_EQ(req(s, FUSE_MKNOD, FUSE_ROOT_ID, buf, args2(buf, &mk, sizeof(mk), "m", NULL)), -EROFS);
    CHECK_EQ(req(s, FUSE_UNLINK, FUSE_ROOT_ID, "a.txt", 6), -EROFS);
    CHECK_EQ(req(s, FUSE_RMDIR, FUSE_ROOT_ID, "sub", 4), -EROFS);
    struct fuse_rename_in rn = { .newdir = FUSE_ROOT_ID };
    CHECK_EQ(req(s, FUSE_RENAME, FUSE_ROOT_ID, buf, args2(buf, &rn, sizeof(rn), "a.txt", "b")), -EROFS);
    struct fuse_link_in li = { .oldnodeid = a };
    CHECK_EQ(req(s, FUSE_LINK, FUSE_ROOT_ID, buf, args2(buf, &li, sizeof(li), "l", NULL)), -EROFS);
    CHECK_EQ(req(s, FUSE_SYMLINK, FUSE_ROOT_ID, "s\0/etc", 7), -EROFS);
    struct fuse_setattr_in sa = { .valid = FATTR_MODE, .mode = 0777 };
    CHECK_EQ(req(s, FUSE_SETATTR, a, &sa, sizeof(sa)), -EROFS);
    uint8_t w[sizeof(struct fuse_write_in) + 1];
    struct fuse_write_in wi = { .fh = fh, .size = 1 };
    memcpy(w, &wi, sizeof(wi));
    CHECK_EQ(req(s, FUSE_WRITE, a, w, sizeof(w)), -EROFS);
    struct fuse_fallocate_in fa = { .fh = fh, .length = 10 };
    CHECK_EQ(req(s, FUSE_FALLOCATE, a, &fa, sizeof(fa)), -EROFS);
    struct fuse_access_in ac = { .mask = W_OK };
    CHECK_EQ(req(s, FUSE_ACCESS, a, &ac, sizeof(ac)), -EROFS);
    char cmd[512];
    snprintf(cmd, sizeof(cmd), "test \"$(ls -A %s | tr '\\n' ' ')\" = 'a.txt out rel root sub '", shared);
    CHECK(system(cmd) == 0);
    share_server_close(s);
    remove_tree();
}

static void share_bounds(void)
{
    make_tree();
    char cmd[256];
    snprintf(cmd, sizeof(cmd), "cd %s && for i in 0 1 2 3 4 5 6 7 8 9; do echo $i > f$i; done", shared);
    sh(cmd);
    struct share_server *s = open_share(false, 6, 3, 0);
    CHECK_EQ(init(s), 0);
    uint64_t ids[10], fh[4];
    int ok = 0;
    for (int i = 0; i < 10; i++) {
        char n[16];
        snprintf(n, sizeof(n), "f%u", (unsigned)i % 10);
        int r = lookup(s, FUSE_ROOT_ID, n, &ids[i], NULL);
        if (r == 0)
            ok++;
        else
            CHECK_EQ(r, -ENFILE);
    }
    CHECK_EQ(ok, 5);            /* the root takes one slot of six */
    /* A second lookup of a known file takes no slot. */
    uint64_t again;
    CHECK_EQ(lookup(s, FUSE_ROOT_ID, "f0", &again, NULL), 0);
    CHECK_EQ(again, ids[0]);
    for (int i = 0; i < 3; i++)
        CHECK_EQ(open_node(s, ids[0], O_RDONLY, &fh[i], false), 0);
    CHECK_EQ(open_node(s, ids[0], O_RDONLY, &fh[3], false), -ENFILE);
    struct fuse_release_in rl = { .fh = fh[1] };
    CHECK_EQ(req(s, FUSE_RELEASE, ids[0], &rl, sizeof(rl)), 0);
    CHECK_EQ(open_node(s, ids[0], O_RDONLY, &fh[3], false), 0);
    CHECK(fh[3] != fh[1]);      /* a stale handle does not name the new file */
    rl.fh = fh[1];
    CHECK_EQ(req(s, FUSE_RELEASE, ids[0], &rl, sizeof(rl)), -EBADF);
    /* FORGET frees a slot (two lookups of f0: forget both), and the old id
     * no longer names anything. */
    struct fuse_forget_in fg = { .nlookup = 2 };
    CHECK_EQ(req(s, FUSE_FORGET, ids[0], &fg, sizeof(fg)), 1);
    CHECK_EQ(req(s, FUSE_GETATTR, ids[0], &(struct fuse_getattr_in){0}, sizeof(struct fuse_getattr_in)), -ENOENT);
    CHECK_EQ(lookup(s, FUSE_ROOT_ID, "f9", &ids[9], NULL), 0);
    CHECK(ids[9] != ids[0]);
    /* BATCH_FORGET whose count lies about its entries. */
    uint8_t bf[sizeof(struct fuse_batch_forget_in) + sizeof(struct fuse_forget_one)];
    struct fuse_batch_forget_in bi = { .count = 0xffffffff };
    struct fuse_forget_one one = { .nodeid = ids[9], .nlookup = 1 };
    memcpy(bf, &bi, sizeof(bi));
    memcpy(bf + sizeof(bi), &one, sizeof(one));
    CHECK_EQ(req(s, FUSE_BATCH_FORGET, 0, bf, sizeof(bf)), 1);
    unsigned ni, nh;
    share_server_counts(s, &ni, &nh);
    CHECK_EQ(ni, 5);
    CHECK_EQ(nh, 3);
    share_server_reset(s);      /* device reset: everything closed */
    share_server_counts(s, &ni, &nh);
    CHECK_EQ(ni, 1);
    CHECK_EQ(nh, 0);
    share_server_close(s);
    remove_tree();
}

static void share_hostile_requests(void)
{
    make_tree();
    struct share_server *s = open_share(false, 0, 0, 0);
    CHECK_EQ(init(s), 0);
    struct fuse_getattr_in gi = {0};
    /* Header lengths that lie. */
    CHECK_EQ(req_full(s, FUSE_GETATTR, FUSE_ROOT_ID, &gi, sizeof(gi), sizeof(out), 100), -EINVAL);
    CHECK_EQ(req_full(s, FUSE_GETATTR, FUSE_ROOT_ID, &gi, sizeof(gi), sizeof(out), -30), -EINVAL);
    /* Arguments too short for their struct. */
    CHECK_EQ(req(s, FUSE_SETATTR, FUSE_ROOT_ID, &gi, 8), -EINVAL);
    CHECK_EQ(req(s, FUSE_READ, FUSE_ROOT_ID, &gi, 8), -EINVAL);
    CHECK_EQ(req(s, FUSE_RENAME2, FUSE_ROOT_ID, &gi, 8), -EINVAL);
    /* No room for a reply: nothing is written. */
    CHECK_EQ(req_full(s, FUSE_GETATTR, FUSE_ROOT_ID, &gi, sizeof(gi), 8, 0), 1);
    /* Room for the header but not the reply. */
    CHECK_EQ(req_full(s, FUSE_GETATTR, FUSE_ROOT_ID, &gi, sizeof(gi), 20, 0), -EIO);
    /* Unknown and unsupported opcodes; stale and made-up node ids. */
    CHECK_EQ(req(s, 9999, FUSE_ROOT_ID, &gi, sizeof(gi)), -ENOSYS);
    CHECK_EQ(req(s, FUSE_SETXATTR, FUSE_ROOT_ID, &gi, sizeof(gi)), -ENOSYS);
    CHECK_EQ(req(s, FUSE_GETATTR, 0, &gi, sizeof(gi)), -ENOENT);
    CHECK_EQ(req(s, FUSE_GETATTR, 0xffffffffffffffffULL, &gi, sizeof(gi)), -ENOENT);
    CHECK_EQ(req(s, FUSE_GETATTR, (7ULL << 32) | 1, &gi, sizeof(gi)), -ENOENT);
    struct fuse_read_in ri = { .fh = 0x123456789ULL, .size = 10 };
    CHECK_EQ(req(s, FUSE_READ, FUSE_ROOT_ID, &ri, sizeof(ri)), -EBADF);
    /* A directory handle is not a file handle, and the other way round. */
    uint64_t dfh, a, ffh;
    CHECK_EQ(open_node(s, FUSE_ROOT_ID, O_RDONLY, &dfh, true), 0);
    ri.fh = dfh;
    CHECK_EQ(req(s, FUSE_READ, FUSE_ROOT_ID, &ri, sizeof(ri)), -EBADF);
    CHECK_EQ(lookup(s, FUSE_ROOT_ID, "a.txt", &a, NULL), 0);
    CHECK_EQ(open_node(s, a, O_RDONLY, &ffh, false), 0);
    ri.fh = ffh;
    CHECK_EQ(req(s, FUSE_READDIR, a, &ri, sizeof(ri)), -EBADF);
    /* Offsets past what the host takes. */
    ri.offset = 1ULL << 63;
    CHECK_EQ(req(s, FUSE_READ, a, &ri, sizeof(ri)), -EINVAL);
    /* The odd requests: no reply for INTERRUPT, a protocol from the future. */
    CHECK_EQ(req(s, FUSE_INTERRUPT, 0, &gi, 8), 1);
    struct fuse_init_in in = { .major = 6, .minor = 0 };
    CHECK_EQ(req(s, FUSE_INIT, 0, &in, sizeof(in)), -EPROTO);
    in.major = 8;
    CHECK_EQ(req(s, FUSE_INIT, 0, &in, sizeof(in)), 0);
    /* A request with less than a header: no reply, no crash. */
    struct iovec iv = { &gi, 10 }, ov = { out, sizeof(out) };
    CHECK_EQ(share_server_handle(s, &iv, 1, &ov, 1), 0);
    CHECK_EQ(share_server_handle(s, NULL, 0, &ov, 1), 0);
    share_server_close(s);
    remove_tree();
}

static void share_ids(void)
{
    make_tree();
    struct share_server *s = open_share(false, 0, 0, 1000);
    CHECK_EQ(init(s), 0);
    uint64_t a;
    struct fuse_attr at;
    CHECK_EQ(lookup(s, FUSE_ROOT_ID, "a.txt", &a, &at), 0);
    CHECK_EQ(at.uid, 1000);      /* the hostel user's file, shown as the guest's user */
    CHECK_EQ(at.gid, 1000);
    struct fuse_setattr_in sa = { .valid = FATTR_UID | FATTR_GID, .uid = 1000, .gid = 1000 };
    CHECK_EQ(req(s, FUSE_SETATTR, a, &sa, sizeof(sa)), 0);
    sa.uid = 5;
    CHECK_EQ(req(s, FUSE_SETATTR, a, &sa, sizeof(sa)), -EPERM);
    share_server_close(s);
    remove_tree();
}

int main(void)
{
    RUN_TEST(share_basic_io);
    RUN_TEST(share_escapes_refused);
    RUN_TEST(share_readonly);
    RUN_TEST(share_bounds);
    RUN_TEST(share_hostile_requests);
    RUN_TEST(share_ids);
    return CHECK_DONE();
}
