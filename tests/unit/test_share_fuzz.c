/* Replays the shared-folder fuzz target (tests/fuzz/fuzz_share.c) over a
 * deterministic corpus of request runs made here: every opcode (and some
 * that do not exist), node ids and handles that are real, stale or made up,
 * names that try to leave the share, argument structs of random bytes cut
 * short or padded, header lengths that lie, and writable parts from none
 * to large.  `--seeds DIR N` writes N such inputs instead (the corpus's
 * seeds, tests/fuzz/make_seeds.sh). */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "../fuzz/fuzz_share.c"

#define ITERATIONS 4000

static uint64_t rng = 0x9e3779b97f4a7c15ULL;

static uint64_t next(void)
{
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

static const char *const names[] = { "f", "d", "g", "up", "root", "new", "n2", "..", ".",
                                     "d/g", "/etc", "", "fifo", "sentinel", "../sentinel",
                                     "f", "d", "new", "up" };

static size_t put_name(uint8_t *p, size_t room)
{
    size_t n;
    if (next() % 16 == 0) {                 /* a long one */
        n = 200 + next() % 200;
        if (n + 1 > room)
            n = room - 1;
        memset(p, 'a', n);
    } else {
        const char *s = names[next() % (sizeof(names) / sizeof(names[0]))];
        n = strlen(s);
        memcpy(p, s, n);
    }
    if (next() % 8)                         /* mostly terminated */
        p[n++] = 0;
    return n;
}

static uint64_t some_id(void)
{
    switch (next() % 6) {
    case 0: return next();
    case 1: case 5: return FUSE_ROOT_ID;
    case 2: return (next() % 3) << 32 | (1 + next() % 40);
    default: return 1 + next() % 12;
    }
}

/* The argument struct each opcode takes (0: names only), so most
 * generated requests reach their handler rather than the length check. */
static size_t struct_size(uint32_t op)
{
    switch (op) {
    case FUSE_LOOKUP: case FUSE_UNLINK: case FUSE_RMDIR: case FUSE_SYMLINK: case FUSE_READLINK:
    case FUSE_STATFS: case FUSE_DESTROY:
        return 0;
    case FUSE_FORGET: case FUSE_MKDIR: case FUSE_RENAME: case FUSE_LINK: case FUSE_OPEN:
    case FUSE_OPENDIR: case FUSE_ACCESS: case FUSE_BATCH_FORGET:
        return 8;
    case FUSE_GETATTR: case FUSE_MKNOD: case FUSE_RENAME2: case FUSE_CREATE: case FUSE_FSYNC:
    case FUSE_FSYNCDIR:
        return 16;
    case FUSE_RELEASE: case FUSE_RELEASEDIR: case FUSE_FLUSH: case FUSE_LSEEK:
        return 24;
    case FUSE_FALLOCATE:
        return 32;
    case FUSE_READ: case FUSE_WRITE: case FUSE_READDIR: case FUSE_READDIRPLUS:
        return 40;
    case FUSE_INIT:
        return 64;
    case FUSE_SETATTR:
        return 88;
    default:
        return next() % 64;
    }
}

/* One request into r: a header, the opcode's argument struct (random
 * bytes with plausible ids, flags, modes and sizes where they matter;
 * sometimes too short or too long), maybe names, WRITE's data. */
static size_t make_request(uint8_t *r, size_t room)
{
    static const uint32_t ops[] = {
        FUSE_LOOKUP, FUSE_LOOKUP, FUSE_LOOKUP, FUSE_FORGET, FUSE_GETATTR, FUSE_SETATTR,
        FUSE_READLINK, FUSE_SYMLINK, FUSE_MKNOD, FUSE_MKDIR, FUSE_UNLINK, FUSE_RMDIR, FUSE_RENAME,
        FUSE_LINK, FUSE_OPEN, FUSE_OPEN, FUSE_READ, FUSE_WRITE, FUSE_STATFS, FUSE_RELEASE,
        FUSE_FSYNC, FUSE_SETXATTR, FUSE_GETXATTR, FUSE_FLUSH, FUSE_INIT, FUSE_OPENDIR,
        FUSE_READDIR, FUSE_RELEASEDIR, FUSE_FSYNCDIR, FUSE_ACCESS, FUSE_CREATE, FUSE_CREATE,
        FUSE_INTERRUPT, FUSE_DESTROY, FUSE_BATCH_FORGET, FUSE_FALLOCATE, FUSE_READDIRPLUS,
        FUSE_RENAME2, FUSE_LSEEK, FUSE_COPY_FILE_RANGE, FUSE_SETUPMAPPING, 0, 77, 4096, 0xffffffff,
    };
    struct fuse_in_header h = {
        .opcode = ops[next() % (sizeof(ops) / sizeof(ops[0]))],
        .unique = next(), .nodeid = some_id(), .uid = (uint32_t)next(), .gid = (uint32_t)next(),
    };
    size_t len = sizeof(h);
    size_t st = struct_size(h.opcode);
    if (next() % 12 == 0)
        st = next() % 96;                               /* the wrong size */
    uint8_t *a = r + len;
    for (size_t i = 0; i < st && len < room; i++)
        r[len++] = (uint8_t)next();
    if (st >= 8 && next() % 4) {                        /* fh, newdir, oldnodeid, nlookup... */
        uint64_t id = some_id();
        memcpy(a, &id, 8);
    }
    if (st >= 4) {
        uint32_t w = (uint32_t)next();
        switch (h.opcode) {
        case FUSE_OPEN: case FUSE_CREATE: {             /* flags, then a mode */
            static const uint32_t fl[] = { O_RDONLY, O_WRONLY, O_RDWR, O_WRONLY | O_TRUNC,
                                           O_RDWR | O_EXCL, O_WRONLY | O_APPEND };
            w = next() % 4 ? fl[next() % 6] : w;
            memcpy(a, &w, 4);
            if (st >= 8) {
                uint32_t m = S_IFREG | (uint32_t)(next() % 07777);
                memcpy(a + 4, &m, 4);
            }
            break;
        }
        case FUSE_MKNOD: case FUSE_MKDIR: {
            static const uint32_t ty[] = { S_IFREG, S_IFIFO, S_IFSOCK, S_IFCHR, S_IFBLK, S_IFDIR, 0 };
            w = ty[next() % 7] | (uint32_t)(next() % 07777);
            memcpy(a, &w, 4);
            break;
        }
        case FUSE_SETATTR:
            w &= 0x3ff;
            memcpy(a, &w, 4);
            break;
        case FUSE_RENAME2:
            if (st >= 12) {
                w = (uint32_t)(next() % 8);
                memcpy(a + 8, &w, 4);
            }
            break;
        case FUSE_BATCH_FORGET:
            w = (uint32_t)(next() % 4 ? next() % 4 : next());
            memcpy(a, &w, 4);
            for (unsigned k = 0; k < 3 && room - len > 16; k++) {
                uint64_t f[2] = { some_id(), next() % 3 };
                memcpy(r + len, f, 16);
                len += 16;
            }
            break;
        case FUSE_READ: case FUSE_WRITE: case FUSE_READDIR: case FUSE_READDIRPLUS:
            if (st >= 24) {                             /* offset, size */
                uint64_t off = next() % 4 ? next() % 8192 : next();
                uint32_t sz = next() % 3 ? (uint32_t)(next() % 9000) : (uint32_t)next();
                memcpy(a + 8, &off, 8);
                memcpy(a + 16, &sz, 4);
            }
            break;
        case FUSE_INIT:
            w = 7;
            memcpy(a, &w, 4);
            break;
        default:
            break;
        }
    }
    unsigned nnames = (unsigned)(next() % 3);
    if (h.opcode == FUSE_LOOKUP || h.opcode == FUSE_UNLINK || h.opcode == FUSE_RMDIR ||
        h.opcode == FUSE_MKDIR || h.opcode == FUSE_MKNOD || h.opcode == FUSE_CREATE ||
        h.opcode == FUSE_LINK)
        nnames = 1 + (next() % 5 == 0);
    if (h.opcode == FUSE_RENAME || h.opcode == FUSE_RENAME2 || h.opcode == FUSE_SYMLINK)
        nnames = 2;
    for (unsigned i = 0; i < nnames && room - len > 600; i++)
        len += put_name(r + len, room - len);
    if (h.opcode == FUSE_WRITE && st >= 24) {
        uint32_t sz;
        memcpy(&sz, a + 16, 4);
        size_t data = next() % 4 ? sz % 600 : next() % 300;
        if (next() % 4)
            memcpy(a + 16, &(uint32_t){ (uint32_t)data }, 4);
        for (; data && len < room; data--)
            r[len++] = (uint8_t)next();
    }
    h.len = (uint32_t)len;
    if (next() % 12 == 0)
        h.len = (uint32_t)(next() % 4 ? len + next() % 64 - 32 : next());
    memcpy(r, &h, sizeof(h));
    return len;
}

/* One input: the share to use, then a run of requests. */
static size_t make_input(uint8_t *in, size_t room)
{
    size_t n = 0;
    in[n++] = (uint8_t)(next() % 3 == 0);          /* a third read-only */
    unsigned reqs = 1 + (unsigned)(next() % 12);
    for (unsigned k = 0; k < reqs && room - n > 1200; k++) {
        size_t len = make_request(in + n + 4, 1100);
        if (next() % 20 == 0)
            len = next() % (len + 1);               /* cut short */
        in[n] = (uint8_t)len;
        in[n + 1] = (uint8_t)(len >> 8);
        in[n + 2] = (uint8_t)next();
        in[n + 3] = (uint8_t)(next() % 8 ? 6 + next() % 2 : next() % 6);
        n += 4 + len;
    }
    return n;
}

static void share_fuzz_replay(void)
{
    static uint8_t in[1 << 15];
    for (int it = 0; it < ITERATIONS; it++)
        LLVMFuzzerTestOneInput(in, make_input(in, sizeof(in)));
    CHECK(1);   /* reaching here without a crash, an abort or an escape is the test */
}

/* Writes n inputs of the replay's kind into dir (tests/fuzz/make_seeds.sh
 * seeds the corpus with them, so the fuzzer starts from requests that reach
 * the handlers). */
static int share_write_seeds(const char *dir, int n)
{
    static uint8_t in[1 << 15];
    for (int i = 0; i < n; i++) {
        char f[512];
        snprintf(f, sizeof(f), "%s/gen-%02d", dir, i);
        FILE *fp = fopen(f, "wb");
        if (!fp || fwrite(in, 1, make_input(in, 4096), fp) == 0 || fclose(fp) != 0) {
            fprintf(stderr, "test_share_fuzz: cannot write %s\n", f);
            return 1;
        }
    }
    return 0;
}

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--seeds"))
        return share_write_seeds(argv[2], atoi(argv[3]));
    RUN_TEST(share_fuzz_replay);
    if (fuzz_scr.base[0]) {
        char cmd[256];
        snprintf(cmd, sizeof(cmd), "chmod -R u+rwX %s 2>/dev/null; rm -rf %s", fuzz_scr.base, fuzz_scr.base);
        if (system(cmd) != 0)
            printf("  could not remove %s\n", fuzz_scr.base);
    }
    return CHECK_DONE();
}
