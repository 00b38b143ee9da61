/* Unit tests of the block layer: raw and qcow2 through block.h, refcounts
 * checked by our own checker, and hostile headers refused with clear errors. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "block/block.h"
#include "block/block_info.h"
#include "block/qcow2_priv.h"
#include "check.h"

static char dir[64];
static struct err err;

static const char *p(const char *name)
{
    static char buf[4][256];
    static int i;
    i = (i + 1) & 3;
    snprintf(buf[i], sizeof(buf[i]), "%s/%s", dir, name);
    return buf[i];
}

static int mk(const char *name, enum block_format f, uint64_t size, const char *backing, uint32_t cs)
{
    struct block_create_opts o = { .format = f, .size = size, .backing = backing, .cluster_size = cs };
    int r = block_create(p(name), &o, &err);
    if (r < 0)
        printf("  create %s: %s\n", name, err.msg);
    return r;
}

static struct blockdev *op(const char *name, bool ro)
{
    struct block_open_opts o = { .format = BLOCK_FORMAT_AUTO, .readonly = ro };
    struct blockdev *bd = NULL;
    if (block_open(p(name), &o, &bd, &err) < 0) {
        printf("  open %s: %s\n", name, err.msg);
        return NULL;
    }
    return bd;
}

static int wr(struct blockdev *bd, uint64_t off, const void *buf, size_t len)
{
    struct iovec v = { (void *)buf, len };
    return block_pwritev(bd, off, &v, 1);
}

static int rd(struct blockdev *bd, uint64_t off, void *buf, size_t len)
{
    struct iovec v = { buf, len };
    return block_preadv(bd, off, &v, 1);
}

static void fill(uint8_t *b, size_t n, unsigned seed)
{
    for (size_t i = 0; i < n; i++)
        b[i] = (uint8_t)(seed * 31 + i * 7 + (i >> 9));
}

static bool is_zero(const uint8_t *b, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

static void expect_clean(struct blockdev *bd)
{
    struct block_check_report r;
    CHECK_EQ(block_check(bd, false, &r, &err), 0);
    CHECK_EQ(r.leaks, 0);
    CHECK_EQ(r.errors, 0);
}

static void test_raw(void)
{
    CHECK_EQ(mk("r.raw", BLOCK_FORMAT_RAW, 4 << 20, NULL, 0), 0);
    struct blockdev *bd = op("r.raw", false);
    CHECK(bd);
    if (!bd)
        return;
    CHECK(!strcmp(block_format_name(bd), "raw"));
    CHECK_EQ(block_size(bd), 4 << 20);
    uint8_t a[8192], b[8192];
    fill(a, sizeof(a), 1);
    CHECK_EQ(wr(bd, 65536, a, sizeof(a)), 0);
    CHECK_EQ(rd(bd, 65536, b, sizeof(b)), 0);
    CHECK(!memcmp(a, b, sizeof(a)));
    CHECK_EQ(block_discard(bd, 65536, 4096), 0);
    CHECK_EQ(block_write_zeroes(bd, 65536 + 4096, 4096), 0);
    CHECK_EQ(rd(bd, 65536, b, sizeof(b)), 0);
    CHECK(is_zero(b, sizeof(b)));
    CHECK_EQ(wr(bd, 100, a, 512), -EINVAL);                 /* unaligned */
    CHECK_EQ(wr(bd, 4 << 20, a, 512), -EINVAL);             /* past the end */
    CHECK_EQ(block_flush(bd), 0);
    block_close(bd);
    bd = op("r.raw", true);
    CHECK(bd && block_readonly(bd));
    if (bd) {
        CHECK_EQ(wr(bd, 0, a, 512), -EROFS);
        block_close(bd);
    }
}

static void test_alloc_rewrite(void)
{
    CHECK_EQ(mk("a.qcow2", BLOCK_FORMAT_QCOW2, 16 << 20, NULL, 0), 0);
    struct blockdev *bd = op("a.qcow2", false);
    CHECK(bd);
    if (!bd)
        return;
    CHECK(!strcmp(block_format_name(bd), "qcow2"));
    static uint8_t a[200000], b[200000];
    CHECK_EQ(rd(bd, 0, b, sizeof(b) & ~511u), 0);
    CHECK(is_zero(b, sizeof(b) & ~511u));
    fill(a, sizeof(a), 2);
    size_t n = sizeof(a) & ~511u;
    CHECK_EQ(wr(bd, 3 * 65536 - 1024, a, n), 0);            /* spans 4 clusters */
    CHECK_EQ(rd(bd, 3 * 65536 - 1024, b, n), 0);
    CHECK(!memcmp(a, b, n));
    fill(a, n, 3);
    CHECK_EQ(wr(bd, 3 * 65536 - 1024, a, n), 0);            /* rewrite in place */
    CHECK_EQ(rd(bd, 3 * 65536 - 1024, b, n), 0);
    CHECK(!memcmp(a, b, n));
    expect_clean(bd);
    block_close(bd);
    bd = op("a.qcow2", true);                               /* survives a reopen */
    if (bd) {
        CHECK_EQ(rd(bd, 3 * 65536 - 1024, b, n), 0);
        CHECK(!memcmp(a, b, n));
        block_close(bd);
    }
}

static void test_partial_cow(void)
{
    CHECK_EQ(mk("base.raw", BLOCK_FORMAT_RAW, 1 << 20, NULL, 0), 0);
    struct blockdev *base = op("base.raw", false);
    static uint8_t pat[1 << 20], b[65536];
    fill(pat, sizeof(pat), 4);
    CHECK(base && wr(base, 0, pat, sizeof(pat)) == 0);
    if (base)
        block_close(base);
    CHECK_EQ(mk("cow.qcow2", BLOCK_FORMAT_QCOW2, 0, "base.raw", 0), 0);
    struct blockdev *bd = op("cow.qcow2", false);
    CHECK(bd);
    if (!bd)
        return;
    CHECK_EQ(block_size(bd), 1 << 20);
    uint8_t x[1024];
    memset(x, 0xab, sizeof(x));
    CHECK_EQ(wr(bd, 65536 + 4096, x, sizeof(x)), 0);
    CHECK_EQ(rd(bd, 65536, b, sizeof(b)), 0);
    CHECK(!memcmp(b, pat + 65536, 4096));
    CHECK(!memcmp(b + 4096, x, sizeof(x)));
    CHECK(!memcmp(b + 4096 + 1024, pat + 65536 + 4096 + 1024, 65536 - 4096 - 1024));
    CHECK_EQ(rd(bd, 0, b, sizeof(b)), 0);                   /* untouched: the backing file */
    CHECK(!memcmp(b, pat, sizeof(b)));
    expect_clean(bd);
    block_close(bd);
    base = op("base.raw", true);                            /* the backing file is unchanged */
    if (base) {
        CHECK_EQ(rd(base, 65536 + 4096, b, 1024), 0);
        CHECK(!memcmp(b, pat + 65536 + 4096, 1024));
        block_close(base);
    }
}

static void test_backing_chain(void)
{
    mkdir(p("sub"), 0755);
    CHECK_EQ(mk("c0.qcow2", BLOCK_FORMAT_QCOW2, 1 << 20, NULL, 0), 0);
    CHECK_EQ(mk("c1.qcow2", BLOCK_FORMAT_QCOW2, 0, "c0.qcow2", 0), 0);
    CHECK_EQ(mk("sub/c2.qcow2", BLOCK_FORMAT_QCOW2, 0, "../c1.qcow2", 0), 0);
    uint8_t v[512], b[512];
    const char *names[] = { "c0.qcow2", "c1.qcow2", "sub/c2.qcow2" };
    for (int i = 0; i < 3; i++) {
        struct blockdev *bd = op(names[i], false);
        CHECK(bd);
        if (!bd)
            return;
        memset(v, 0x10 + i, sizeof(v));
        CHECK_EQ(wr(bd, (uint64_t)i * 65536, v, sizeof(v)), 0);
        block_close(bd);
    }
    struct blockdev *bd = op("sub/c2.qcow2", true);
    CHECK(bd);
    if (!bd)
        return;
    for (int i = 0; i < 3; i++) {
        CHECK_EQ(rd(bd, (uint64_t)i * 65536, b, sizeof(b)), 0);
        CHECK_EQ(b[0], 0x10 + i);
        CHECK_EQ(b[511], 0x10 + i);
    }
    int depth = 0;
    for (struct blockdev *x = bd; x; x = block_backing(x))
        depth++;
    CHECK_EQ(depth, 3);
    block_close(bd);
}

static void test_zero_clusters(void)
{
    CHECK_EQ(mk("zb.qcow2", BLOCK_FORMAT_QCOW2, 1 << 20, NULL, 0), 0);
    struct blockdev *bd = op("zb.qcow2", false);
    static uint8_t a[131072], b[131072];
    fill(a, sizeof(a), 5);
    CHECK(bd && wr(bd, 0, a, sizeof(a)) == 0);
    if (bd)
        block_close(bd);
    CHECK_EQ(mk("z.qcow2", BLOCK_FORMAT_QCOW2, 0, "zb.qcow2", 0), 0);
    bd = op("z.qcow2", false);
    CHECK(bd);
    if (!bd)
        return;
    struct stat st0, st1;
    fstat(((struct blockdev *)bd)->fd, &st0);
    CHECK_EQ(block_write_zeroes(bd, 0, 65536), 0);          /* whole cluster: the zero flag */
    CHECK_EQ(block_discard(bd, 65536 + 512, 1024), 0);      /* partial: real zeros */
    CHECK_EQ(rd(bd, 0, b, sizeof(b)), 0);
    CHECK(is_zero(b, 65536));
    CHECK(!memcmp(b + 65536, a + 65536, 512));
    CHECK(is_zero(b + 65536 + 512, 1024));
    CHECK(!memcmp(b + 65536 + 1536, a + 65536 + 1536, 65536 - 1536));
    fstat(((struct blockdev *)bd)->fd, &st1);
    /* One L2 table and one data cluster (the partial zeros), no cluster for the zero flag. */
    CHECK_EQ(st1.st_size - st0.st_size, 2 * 65536);
    struct qcow2 *s = (struct qcow2 *)bd;
    uint8_t *tab;
    CHECK_EQ(qcache_get(s, &s->l2cache, s->l1[0] & QOFFSET_MASK, &tab), 0);
    CHECK_EQ(get_be64(tab), QZERO);
    expect_clean(bd);
    /* Writing into a zero cluster allocates it, zeros around the data. */
    CHECK_EQ(wr(bd, 4096, a, 512), 0);
    CHECK_EQ(rd(bd, 0, b, 65536), 0);
    CHECK(is_zero(b, 4096) && !memcmp(b + 4096, a, 512) && is_zero(b + 4608, 65536 - 4608));
    expect_clean(bd);
    block_close(bd);
}

/* Many random writes, zeroes and discards against an in-memory shadow. */
static void test_random_refcounts(void)
{
    const uint64_t size = 4 << 20;
    CHECK_EQ(mk("rnd.qcow2", BLOCK_FORMAT_QCOW2, size, NULL, 1024), 0);
    struct blockdev *bd = op("rnd.qcow2", false);
    CHECK(bd);
    if (!bd)
        return;
    uint8_t *shadow = calloc(1, size), *buf = malloc(65536), *got = malloc(size);
    uint64_t seed = 12345;
    for (int i = 0; i < 1500; i++) {
        seed = seed * 6364136223846793005ULL + 1442695040888963407ULL;
        uint64_t sec = (seed >> 20) % (size / 512);
        uint64_t len = 1 + (seed >> 50) % 128;
        if (sec + len > size / 512)
            len = size / 512 - sec;
        int kind = (int)((seed >> 8) % 8);
        if (kind == 0) {
            CHECK_EQ(block_write_zeroes(bd, sec * 512, len * 512), 0);
            memset(shadow + sec * 512, 0, len * 512);
        } else if (kind == 1) {
            CHECK_EQ(block_discard(bd, sec * 512, len * 512), 0);
            memset(shadow + sec * 512, 0, len * 512);
        } else {
            fill(buf, len * 512, (unsigned)i);
            CHECK_EQ(wr(bd, sec * 512, buf, len * 512), 0);
            memcpy(shadow + sec * 512, buf, len * 512);
        }
    }
    CHECK_EQ(rd(bd, 0, got, size), 0);
    CHECK(!memcmp(got, shadow, size));
    expect_clean(bd);
    block_close(bd);
    free(shadow);
    free(buf);
    free(got);
}

/* 512-byte clusters: filling 16 MiB needs many refcount blocks and a
 * refcount table several times its first size. */
static void test_refcount_table_growth(void)
{
    CHECK_EQ(mk("g.qcow2", BLOCK_FORMAT_QCOW2, 16 << 20, NULL, 512), 0);
    struct blockdev *bd = op("g.qcow2", false);
    CHECK(bd);
    if (!bd)
        return;
    static uint8_t a[1 << 20], b[1 << 20];
    for (int i = 0; i < 16; i++) {
        fill(a, sizeof(a), (unsigned)i);
        CHECK_EQ(wr(bd, (uint64_t)i << 20, a, sizeof(a)), 0);
    }
    struct qcow2 *s = (struct qcow2 *)bd;
    CHECK(s->rt_clusters > 2);
    for (int i = 0; i < 16; i++) {
        fill(a, sizeof(a), (unsigned)i);
        CHECK_EQ(rd(bd, (uint64_t)i << 20, b, sizeof(b)), 0);
        CHECK(!memcmp(a, b, sizeof(a)));
    }
    expect_clean(bd);
    block_close(bd);
}

struct thr { struct blockdev *bd; int id; int bad; };

static void *writer(void *arg)
{
    struct thr *t = arg;
    uint8_t a[4096], b[4096];
    for (int i = 0; i < 100; i++) {
        uint64_t off = ((uint64_t)(i * 4 + t->id) * 12288) % (8 << 20);
        fill(a, sizeof(a), (unsigned)(t->id * 1000 + i));
        if (wr(t->bd, off, a, sizeof(a)) || rd(t->bd, off, b, sizeof(b)) || memcmp(a, b, sizeof(a)))
            t->bad++;
    }
    return NULL;
}

static void test_threads(void)
{
    CHECK_EQ(mk("t.qcow2", BLOCK_FORMAT_QCOW2, 8 << 20, NULL, 4096), 0);
    struct blockdev *bd = op("t.qcow2", false);
    CHECK(bd);
    if (!bd)
        return;
    pthread_t th[4];
    struct thr t[4];
    for (int i = 0; i < 4; i++) {
        t[i] = (struct thr){ bd, i, 0 };
        pthread_create(&th[i], NULL, writer, &t[i]);
    }
    for (int i = 0; i < 4; i++) {
        pthread_join(th[i], NULL);
        CHECK_EQ(t[i].bad, 0);
    }
    expect_clean(bd);
    block_close(bd);
}

/* Patches bytes of a fresh image's header and expects open to fail naming `want`. */
static void expect_refused(const char *what, unsigned off, const void *bytes, size_t n, bool ro,
                           const char *want)
{
    mk("h.qcow2", BLOCK_FORMAT_QCOW2, 1 << 20, NULL, 0);
    int fd = open(p("h.qcow2"), O_RDWR);
    CHECK(pwrite(fd, bytes, n, off) == (ssize_t)n);
    close(fd);
    struct block_open_opts o = { .format = BLOCK_FORMAT_QCOW2, .readonly = ro };
    struct blockdev *bd = NULL;
    err_clear(&err);
    int r = block_open(p("h.qcow2"), &o, &bd, &err);
    if (r == 0 || !strstr(err.msg, want)) {
        printf("  %s: r=%d err='%s', expected '%s'\n", what, r, err.msg, want);
        check_failed_now = 1;
    }
    if (bd)
        block_close(bd);
}

static void test_corrupt_headers(void)
{
    uint8_t b8[8];
    expect_refused("bad magic", 0, "QFI\0", 4, true, "bad magic");
    put_be32(b8, 4);
    expect_refused("version 4", QH_VERSION, b8, 4, true, "version 4");
    put_be32(b8, 40);
    expect_refused("cluster bits", QH_CLUSTER_BITS, b8, 4, true, "cluster_bits");
    put_be32(b8, 0x10000000);
    expect_refused("huge L1", QH_L1_SIZE, b8, 4, true, "L1 table");
    put_be64(b8, 3 * 65536 + 8);
    expect_refused("unaligned L1", QH_L1_OFFSET, b8, 8, true, "unaligned");
    put_be64(b8, 1ULL << 50);
    expect_refused("L1 outside", QH_L1_OFFSET, b8, 8, true, "outside the file");
    put_be64(b8, 65536 + 512);
    expect_refused("unaligned refcount table", QH_RT_OFFSET, b8, 8, true, "refcount table");
    put_be64(b8, (1ULL << 5) | (1ULL << 9));
    expect_refused("unknown incompatible bits", QH_INCOMPAT, b8, 8, true, "bit 5, bit 9");
    put_be64(b8, QINCOMPAT_CORRUPT);
    expect_refused("corrupt bit, read-write", QH_INCOMPAT, b8, 8, false, "marked corrupt");
    put_be64(b8, QINCOMPAT_DIRTY);
    expect_refused("dirty bit, read-write", QH_INCOMPAT, b8, 8, false, "check --repair");
    put_be32(b8, 2);
    expect_refused("refcount order 2", QH_REFCOUNT_ORDER, b8, 4, true, "refcount width");
    put_be32(b8, 1);
    expect_refused("encryption", QH_CRYPT, b8, 4, true, "encrypted");
    put_be32(b8, 0x12345678);                               /* unknown, too long */
    put_be32(b8 + 4, 0xfff0);
    expect_refused("header extension length", QH_V3_LENGTH, b8, 8, true, "extension");
    /* A backing name pointing outside the first cluster. */
    put_be64(b8, 70000);
    expect_refused("backing name", QH_BACKING_OFFSET, b8, 8, true, "backing file name");
}

/* Hostile tables: an L1 entry pointing past the file, an L2 entry unaligned. */
static void test_hostile_tables(void)
{
    mk("x.qcow2", BLOCK_FORMAT_QCOW2, 1 << 20, NULL, 0);
    struct blockdev *bd = op("x.qcow2", false);
    uint8_t a[512] = { 1 };
    CHECK(bd && wr(bd, 0, a, 512) == 0);
    struct qcow2 *s = (struct qcow2 *)bd;
    uint64_t l1off = s->l1_offset, l2 = s->l1[0] & QOFFSET_MASK;
    block_close(bd);
    int fd = open(p("x.qcow2"), O_RDWR);
    uint8_t e[8];
    put_be64(e, (5ULL << 40) | QCOPIED);                    /* L2 table far past the end */
    CHECK(pwrite(fd, e, 8, l1off) == 8);
    close(fd);
    bd = op("x.qcow2", false);
    CHECK(bd);
    if (bd) {
        CHECK_EQ(rd(bd, 0, a, 512), -EIO);
        CHECK_EQ(wr(bd, 0, a, 512), -EIO);
        struct stat st;
        fstat(bd->fd, &st);
        CHECK(st.st_size < (1 << 24));                       /* nothing written out there */
        block_close(bd);
    }
    fd = open(p("x.qcow2"), O_RDWR);
    put_be64(e, l2 | QCOPIED);
    CHECK(pwrite(fd, e, 8, l1off) == 8);
    put_be64(e, (l2 + 512) | QCOPIED);                      /* unaligned data cluster */
    CHECK(pwrite(fd, e, 8, l2) == 8);
    close(fd);
    bd = op("x.qcow2", false);
    CHECK(bd);
    if (bd) {
        CHECK_EQ(rd(bd, 0, a, 512), -EIO);
        CHECK_EQ(wr(bd, 0, a, 512), -EIO);
        struct block_check_report r;
        CHECK_EQ(block_check(bd, false, &r, &err), 0);
        CHECK(r.errors > 0);
        block_close(bd);
    }
    fd = open(p("x.qcow2"), O_RDWR);
    put_be64(e, 65536 | QCOPIED);                           /* data onto the refcount table */
    CHECK(pwrite(fd, e, 8, l2) == 8);
    close(fd);
    bd = op("x.qcow2", false);
    CHECK(bd);
    if (bd) {
        memset(a, 0xff, sizeof(a));
        CHECK_EQ(wr(bd, 0, a, 512), -EIO);
        static uint8_t big[65536 * 2];
        CHECK_EQ(wr(bd, 0, big, sizeof(big)), -EIO);        /* the whole-cluster path too */
        block_close(bd);
    }
}

/* A leaked cluster is reported as a leak, and repair reclaims it. */
static void test_check_leak(void)
{
    mk("l.qcow2", BLOCK_FORMAT_QCOW2, 1 << 20, NULL, 0);
    struct blockdev *bd = op("l.qcow2", false);
    CHECK(bd);
    if (!bd)
        return;
    uint64_t off;
    CHECK_EQ(qcow2_alloc_cluster((struct qcow2 *)bd, &off), 0);   /* referenced by nothing */
    struct block_check_report r;
    CHECK_EQ(block_check(bd, false, &r, &err), 0);
    CHECK_EQ(r.leaks, 1);
    CHECK_EQ(r.errors, 0);
    CHECK_EQ(qcow2_refcount_set((struct qcow2 *)bd, 0, 0), 0);    /* header cluster unaccounted */
    CHECK_EQ(block_check(bd, false, &r, &err), 0);
    CHECK_EQ(r.errors, 1);
    CHECK_EQ(block_check(bd, true, &r, &err), 0);
    CHECK_EQ(r.leaks_fixed, 1);
    CHECK_EQ(r.errors_fixed, 1);
    expect_clean(bd);
    block_close(bd);
}

static void test_detect(void)
{
    mk("d.raw", BLOCK_FORMAT_RAW, 65536, NULL, 0);
    mk("d.qcow2", BLOCK_FORMAT_QCOW2, 65536, NULL, 0);
    struct blockdev *a = op("d.raw", true), *b = op("d.qcow2", true);
    CHECK(a && b);
    if (a && b) {
        CHECK(!strcmp(block_format_name(a), "raw"));
        CHECK(!strcmp(block_format_name(b), "qcow2"));
        CHECK_EQ(block_size(b), 65536);
    }
    block_close(a);
    block_close(b);
    struct block_open_opts o = { .format = BLOCK_FORMAT_QCOW2, .readonly = true };
    struct blockdev *c;
    CHECK(block_open(p("d.raw"), &o, &c, &err) < 0);
    CHECK(block_open(p("missing.img"), &o, &c, &err) == -ENOENT);
    CHECK(strstr(err.msg, "missing.img") != NULL);
    struct block_create_opts own = { .format = BLOCK_FORMAT_QCOW2, .backing = "d.qcow2" };
    CHECK(block_create(p("d.qcow2"), &own, &err) == -EINVAL);   /* own backing */
    CHECK(strstr(err.msg, "its own backing file") != NULL);
    b = op("d.qcow2", true);                                /* still intact */
    CHECK(b != NULL);
    block_close(b);
}

/* block_alloc_status and block_commit: an overlay merged into the layer
 * under it (snapshot layers given back) reads the same, over it or alone. */
static void test_commit(void)
{
    enum { SIZE = 2 << 20, CL = 65536 };
    static uint8_t want[SIZE], got[SIZE], buf[3 * CL];
    CHECK_EQ(mk("m0.qcow2", BLOCK_FORMAT_QCOW2, SIZE, NULL, 0), 0);
    CHECK_EQ(mk("m1.qcow2", BLOCK_FORMAT_QCOW2, 0, "m0.qcow2", 0), 0);
    CHECK_EQ(mk("m2.qcow2", BLOCK_FORMAT_QCOW2, 0, "m1.qcow2", 0), 0);
    struct blockdev *b0 = op("m0.qcow2", false);
    CHECK(b0);
    if (!b0)
        return;
    fill(buf, 3 * CL, 1);
    for (int c = 0; c < SIZE / CL; c += 3)
        CHECK_EQ(wr(b0, (uint64_t)c * CL, buf, CL), 0);
    block_close(b0);
    struct blockdev *b1 = op("m1.qcow2", false);
    CHECK(b1);
    if (!b1)
        return;
    fill(buf, 3 * CL, 2);
    for (int c = 1; c < SIZE / CL; c += 4)
        CHECK_EQ(wr(b1, (uint64_t)c * CL + 4096, buf, 8192), 0);
    block_close(b1);
    /* The top: whole and partial clusters, a run, a zeroed cluster over
     * data below, a discard, and clusters it never touches. */
    struct blockdev *top = op("m2.qcow2", false);
    CHECK(top);
    if (!top)
        return;
    uint64_t run = 0;
    CHECK_EQ(block_alloc_status(top, 0, SIZE, &run), BLOCK_ALLOC_NONE);
    CHECK_EQ(run, SIZE);
    fill(buf, 3 * CL, 3);
    CHECK_EQ(wr(top, 2 * CL, buf, 3 * CL), 0);                 /* clusters 2-4 */
    CHECK_EQ(wr(top, 9 * CL + 512, buf, 1024), 0);             /* part of 9 */
    CHECK_EQ(block_write_zeroes(top, 12 * CL, CL), 0);         /* 12 over base data */
    CHECK_EQ(block_discard(top, 13 * CL, 2 * CL), 0);          /* 13, 14 over m1's */
    CHECK_EQ(block_alloc_status(top, 0, SIZE, &run), BLOCK_ALLOC_NONE);
    CHECK_EQ(run, 2 * CL);
    CHECK_EQ(block_alloc_status(top, 2 * CL, SIZE, &run), BLOCK_ALLOC_DATA);
    CHECK_EQ(run, 3 * CL);
    CHECK_EQ(block_alloc_status(top, 2 * CL + 512, CL, &run), BLOCK_ALLOC_DATA);
    CHECK_EQ(run, CL);                                         /* cut at max */
    CHECK_EQ(block_alloc_status(top, 12 * CL, SIZE, &run), BLOCK_ALLOC_ZERO);
    CHECK_EQ(run, 3 * CL);
    CHECK_EQ(block_alloc_status(top, SIZE - CL, 4 * CL, &run), BLOCK_ALLOC_NONE);
    CHECK_EQ(run, CL);                                         /* cut at the disk's end */
    CHECK(block_alloc_status(top, SIZE, CL, &run) < 0);
    CHECK_EQ(rd(top, 0, want, SIZE), 0);
    CHECK(is_zero(want + 12 * CL, 3 * CL));
    block_close(top);

    top = op("m2.qcow2", true);
    struct blockdev *base = op("m1.qcow2", false);
    CHECK(top && base);
    if (!top || !base)
        return;
    CHECK_EQ(block_commit(top, base, &err), 0);
    CHECK_EQ(rd(top, 0, got, SIZE), 0);
    CHECK(!memcmp(got, want, SIZE));                           /* top over base: unchanged */
    CHECK_EQ(rd(base, 0, got, SIZE), 0);
    CHECK(!memcmp(got, want, SIZE));                           /* base alone: as top read */
    expect_clean(base);
    block_close(top);
    block_close(base);
    /* Disks of other sizes are refused, naming both. */
    CHECK_EQ(mk("m3.qcow2", BLOCK_FORMAT_QCOW2, SIZE / 2, NULL, 0), 0);
    top = op("m2.qcow2", true);
    base = op("m3.qcow2", false);
    CHECK(top && base);
    if (top && base) {
        CHECK_EQ(block_commit(top, base, &err), -EINVAL);
        CHECK(strstr(err.msg, "m3.qcow2") != NULL);
    }
    if (top)
        block_close(top);
    if (base)
        block_close(base);
    /* A raw image is data everywhere. */
    CHECK_EQ(mk("m4.raw", BLOCK_FORMAT_RAW, SIZE, NULL, 0), 0);
    struct blockdev *raw = op("m4.raw", true);
    CHECK(raw);
    if (raw) {
        CHECK_EQ(block_alloc_status(raw, CL, SIZE, &run), BLOCK_ALLOC_DATA);
        CHECK_EQ(run, SIZE - CL);
        block_close(raw);
    }
}

int main(void)
{
    snprintf(dir, sizeof(dir), "/tmp/hostel-qcow2.XXXXXX");
    if (!mkdtemp(dir)) {
        printf("FAIL: tmpdir\n");
        return 1;
    }
    RUN_TEST(test_raw);
    RUN_TEST(test_detect);
    RUN_TEST(test_alloc_rewrite);
    RUN_TEST(test_partial_cow);
    RUN_TEST(test_backing_chain);
    RUN_TEST(test_zero_clusters);
    RUN_TEST(test_random_refcounts);
    RUN_TEST(test_threads);
    RUN_TEST(test_refcount_table_growth);
    RUN_TEST(test_corrupt_headers);
    RUN_TEST(test_hostile_tables);
    RUN_TEST(test_check_leak);
    RUN_TEST(test_commit);
    char cmd[128];
    snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
    if (system(cmd) != 0)
        printf("  could not remove %s\n", dir);
    return CHECK_DONE();
}
