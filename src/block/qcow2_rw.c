/* qcow2 data path: guest offsets through L1/L2 to host clusters, backing
 * files, zero and compressed clusters, copy-on-write of partial clusters. */
#include <errno.h>
#include <stdlib.h>
#include <zlib.h>
#include <zstd.h>

#include "block/qcow2_priv.h"

static const uint8_t zero_cluster[2u << 20];    /* the largest cluster size */

void qcow2_compressed_extent(const struct qcow2 *s, uint64_t entry, uint64_t *off, uint64_t *len)
{
    unsigned x = 62 - (s->cluster_bits - 8);
    uint64_t host = entry & ((1ULL << x) - 1);
    uint64_t nsec = (entry >> x) & ((1ULL << (62 - x)) - 1);
    *off = host;
    *len = (nsec + 1) * 512 - (host & 511);
}

static bool overlaps_tables(const struct qcow2 *s, uint64_t h);

/* Finds the L2 entry for guest cluster gc.  With alloc, creates a missing L2
 * table; otherwise *l2off is 0 when there is none (entry reads as 0). */
static int l2_lookup(struct qcow2 *s, uint64_t gc, bool alloc, uint64_t *entry, uint64_t *l2off)
{
    uint64_t l1i = gc >> s->l2_bits;
    *entry = 0;
    *l2off = 0;
    if (l1i >= s->l1_size)
        return -EIO;
    uint64_t l2 = s->l1[l1i] & QOFFSET_MASK;
    if (!l2) {
        if (!alloc)
            return 0;
        int r = qcow2_alloc_cluster(s, &l2);
        if (r < 0)
            return r;
        r = bdev_pwrite_full(s->bd.fd, zero_cluster, s->cluster_size, l2);
        if (r < 0)
            return r;
        uint8_t e[8];
        put_be64(e, l2 | QCOPIED);
        r = bdev_pwrite_full(s->bd.fd, e, 8, s->l1_offset + l1i * 8);
        if (r < 0)
            return r;
        s->l1[l1i] = l2 | QCOPIED;
        qcache_drop(&s->l2cache, l2);
    }
    if (!qcow2_meta_ok(s, l2) || overlaps_tables(s, l2))
        return -EIO;
    uint8_t *tab;
    int r = qcache_get(s, &s->l2cache, l2, &tab);
    if (r < 0)
        return r;
    *entry = get_be64(tab + (gc & ((1ULL << s->l2_bits) - 1)) * 8);
    *l2off = l2;
    return 0;
}

static int l2_set(struct qcow2 *s, uint64_t gc, uint64_t l2off, uint64_t entry)
{
    uint8_t *tab;
    int r = qcache_get(s, &s->l2cache, l2off, &tab);
    if (r < 0)
        return r;
    uint64_t i = gc & ((1ULL << s->l2_bits) - 1);
    put_be64(tab + i * 8, entry);
    return bdev_pwrite_full(s->bd.fd, tab + i * 8, 8, l2off + i * 8);
}

static int decompress(struct qcow2 *s, uint64_t entry, uint8_t *out)
{
    uint64_t off, len;
    qcow2_compressed_extent(s, entry, &off, &len);
    if (len > s->zbuf_len || off + len < off)
        return -EIO;
    if (!s->zbuf && !(s->zbuf = malloc(s->zbuf_len)))
        return -ENOMEM;
    int r = bdev_pread_full(s->bd.fd, s->zbuf, len, off);
    if (r < 0)
        return r;
    if (s->compression == 1) {
        ZSTD_DCtx *dc = ZSTD_createDCtx();
        if (!dc)
            return -ENOMEM;
        ZSTD_inBuffer in = { s->zbuf, len, 0 };
        ZSTD_outBuffer o = { out, s->cluster_size, 0 };
        while (o.pos < o.size) {
            size_t z = ZSTD_decompressStream(dc, &o, &in);
            /* An error, the frame's end, or input used up short of a cluster. */
            if (ZSTD_isError(z) || z == 0 || in.pos == in.size)
                break;
        }
        ZSTD_freeDCtx(dc);
        return o.pos == o.size ? 0 : -EIO;
    }
    z_stream zs;
    memset(&zs, 0, sizeof(zs));
    if (inflateInit2(&zs, -15) != Z_OK)
        return -ENOMEM;
    zs.next_in = s->zbuf;
    zs.avail_in = (uInt)len;
    zs.next_out = out;
    zs.avail_out = s->cluster_size;
    int z = inflate(&zs, Z_FINISH);
    bool ok = (z == Z_STREAM_END || z == Z_BUF_ERROR) && zs.avail_out == 0;
    inflateEnd(&zs);
    return ok ? 0 : -EIO;
}

/* A hostile table could point data or an L2 table at the header, the L1
 * table or the refcount table; writing there would wreck the image. */
static bool overlaps_tables(const struct qcow2 *s, uint64_t h)
{
    uint64_t end = h + s->cluster_size;
    uint64_t l1_end = s->l1_offset + (uint64_t)s->l1_size * 8;
    uint64_t rt_end = s->rt_offset + ((uint64_t)s->rt_clusters << s->cluster_bits);
    return h < s->cluster_size || (h < l1_end && end > s->l1_offset) ||
           (h < rt_end && end > s->rt_offset);
}

/* Host offset of a standard cluster, checked. */
static int data_offset(struct qcow2 *s, uint64_t entry, uint64_t *host)
{
    uint64_t h = entry & QOFFSET_MASK;
    if (h & (s->cluster_size - 1) || !qcow2_meta_ok(s, h) || overlaps_tables(s, h))
        return -EIO;
    *host = h;
    return 0;
}

static bool entry_is_zero(const struct qcow2 *s, uint64_t entry)
{
    return s->version >= 3 && !(entry & QCOMPRESSED) && (entry & QZERO);
}

/* Reads len bytes at offset o of guest cluster gc into out. */
static int read_piece(struct qcow2 *s, uint64_t gc, uint32_t o, uint32_t len, uint8_t *out)
{
    uint64_t entry, l2off;
    int r = l2_lookup(s, gc, false, &entry, &l2off);
    if (r < 0)
        return r;
    if (entry & QCOMPRESSED) {
        r = decompress(s, entry, s->buf);
        if (r < 0)
            return r;
        memcpy(out, s->buf + o, len);
        return 0;
    }
    if (entry_is_zero(s, entry)) {
        memset(out, 0, len);
        return 0;
    }
    if (!(entry & QOFFSET_MASK)) {
        uint64_t goff = (gc << s->cluster_bits) + o;
        memset(out, 0, len);
        if (!s->backing)
            return 0;
        uint64_t bsize = block_size(s->backing);
        if (goff >= bsize)
            return 0;
        uint64_t n = len;
        if (n > bsize - goff)
            n = bsize - goff;
        struct iovec v = { out, (size_t)n };
        return block_preadv(s->backing, goff, &v, 1);
    }
    uint64_t host;
    r = data_offset(s, entry, &host);
    if (r < 0)
        return r;
    return bdev_pread_full(s->bd.fd, out, len, host + o);
}

int qcow2_preadv(struct blockdev *bd, uint64_t off, const struct iovec *iov, int iovcnt)
{
    struct qcow2 *s = (struct qcow2 *)bd;
    size_t total = bdev_iov_total(iov, iovcnt), done = 0;
    uint8_t *tmp = malloc(s->cluster_size);
    if (!tmp)
        return -ENOMEM;
    int r = 0;
    while (done < total) {
        uint64_t g = off + done;
        uint64_t gc = g >> s->cluster_bits;
        uint32_t o = (uint32_t)(g & (s->cluster_size - 1));
        uint32_t n = s->cluster_size - o;
        if (n > total - done)
            n = (uint32_t)(total - done);
        r = read_piece(s, gc, o, n, tmp);
        if (r < 0)
            break;
        iov_from_buf(iov, iovcnt, done, tmp, n);
        done += n;
    }
    free(tmp);
    return r;
}

/* Writes data (len bytes at offset o of guest cluster gc); data NULL writes zeros. */
static int write_piece(struct qcow2 *s, uint64_t gc, uint32_t o, uint32_t len, const uint8_t *data)
{
    uint64_t entry, l2off;
    int r = l2_lookup(s, gc, true, &entry, &l2off);
    if (r < 0)
        return r;
    if (!data)
        data = zero_cluster;
    bool normal = !(entry & QCOMPRESSED) && (entry & QOFFSET_MASK) && !entry_is_zero(s, entry);
    if (normal) {
        uint64_t host;
        r = data_offset(s, entry, &host);
        if (r < 0)
            return r;
        return bdev_pwrite_full(s->bd.fd, data, len, host + o);
    }
    /* Copy-on-write into a new cluster: old contents around the new bytes. */
    const uint8_t *src = data;
    if (len != s->cluster_size) {
        uint8_t *full = s->buf;
        if (entry & QCOMPRESSED) {
            r = decompress(s, entry, full);
        } else if (entry_is_zero(s, entry) || !s->backing) {
            memset(full, 0, s->cluster_size);
        } else {
            r = read_piece(s, gc, 0, s->cluster_size, full);
        }
        if (r < 0)
            return r;
        memcpy(full + o, data, len);
        src = full;
    }
    uint64_t host;
    r = qcow2_alloc_cluster(s, &host);
    if (r < 0)
        return r;
    r = bdev_pwrite_full(s->bd.fd, src, s->cluster_size, host);
    if (r < 0)
        return r;
    r = l2_set(s, gc, l2off, host | QCOPIED);
    if (r < 0)
        return r;
    if (entry & QCOMPRESSED) {
        uint64_t coff, clen;
        qcow2_compressed_extent(s, entry, &coff, &clen);
        return qcow2_free_clusters(s, coff, clen);
    }
    if (entry & QOFFSET_MASK)           /* a preallocated zero cluster */
        return qcow2_free_clusters(s, entry & QOFFSET_MASK, s->cluster_size);
    return 0;
}

static int free_old(struct qcow2 *s, uint64_t entry)
{
    if (entry & QCOMPRESSED) {
        uint64_t coff, clen;
        qcow2_compressed_extent(s, entry, &coff, &clen);
        return qcow2_free_clusters(s, coff, clen);
    }
    if (entry & QOFFSET_MASK)
        return qcow2_free_clusters(s, entry & QOFFSET_MASK, s->cluster_size);
    return 0;
}

#define RUN_MAX_BYTES (1u << 20)

/* Whole clusters from guest cluster gc on (at most max): runs that are
 * contiguous on the host go out in one write, and their new L2 entries in
 * another.  Returns how many clusters were written, or -errno. */
static int write_full_run(struct qcow2 *s, uint64_t gc, uint64_t max, const struct iovec *iov,
                          int iovcnt, size_t skip, uint8_t *run)
{
    const uint64_t cs = s->cluster_size, mask = (1ULL << s->l2_bits) - 1;
    uint64_t limit = RUN_MAX_BYTES / cs;
    if (limit < 1)
        limit = 1;
    if (max > limit)
        max = limit;
    if (max > (mask + 1) - (gc & mask))          /* stay inside one L2 table */
        max = (mask + 1) - (gc & mask);
    uint64_t entry, l2off;
    int r = l2_lookup(s, gc, true, &entry, &l2off);
    if (r < 0)
        return r;
    uint8_t *tab;
    r = qcache_get(s, &s->l2cache, l2off, &tab);
    if (r < 0)
        return r;
    bool normal = !(entry & QCOMPRESSED) && (entry & QOFFSET_MASK) && !entry_is_zero(s, entry);
    uint64_t h0, n = 1;
    if (normal) {
        r = data_offset(s, entry, &h0);
        if (r < 0)
            return r;
        while (n < max) {
            uint64_t e = get_be64(tab + ((gc + n) & mask) * 8), h;
            if ((e & QCOMPRESSED) || entry_is_zero(s, e) || !(e & QOFFSET_MASK) ||
                data_offset(s, e, &h) < 0 || h != h0 + n * cs)
                break;
            n++;
        }
        iov_to_buf(iov, iovcnt, skip, run, n * cs);
        r = bdev_pwrite_full(s->bd.fd, run, n * cs, h0);
        return r < 0 ? r : (int)n;
    }
    /* New clusters: refcounts first, then the data, then the L2 entries. */
    uint64_t old[RUN_MAX_BYTES / 512];
    old[0] = entry;
    r = qcow2_alloc_cluster(s, &h0);
    if (r < 0)
        return r;
    while (n < max) {
        uint64_t e = get_be64(tab + ((gc + n) & mask) * 8);
        if (!(e & QCOMPRESSED) && (e & QOFFSET_MASK) && !entry_is_zero(s, e))
            break;              /* already allocated: the next run writes in place */
        uint64_t next = (h0 >> s->cluster_bits) + n, rc = 0;
        if (s->free_hint != next)
            break;              /* the next free cluster is not adjacent */
        if (next < s->file_end >> s->cluster_bits && (qcow2_refcount_get(s, next, &rc) < 0 || rc))
            break;
        uint64_t h;
        r = qcow2_alloc_cluster(s, &h);
        if (r < 0)
            return r;
        if (h != h0 + n * cs) { /* cannot happen with the hint check; stay safe */
            (void)qcow2_free_clusters(s, h, cs);
            break;
        }
        old[n++] = e;
    }
    iov_to_buf(iov, iovcnt, skip, run, n * cs);
    r = bdev_pwrite_full(s->bd.fd, run, n * cs, h0);
    if (r < 0)
        return r;
    r = qcache_get(s, &s->l2cache, l2off, &tab);
    if (r < 0)
        return r;
    uint64_t i0 = gc & mask;
    for (uint64_t i = 0; i < n; i++)
        put_be64(tab + (i0 + i) * 8, (h0 + i * cs) | QCOPIED);
    r = bdev_pwrite_full(s->bd.fd, tab + i0 * 8, n * 8, l2off + i0 * 8);
    for (uint64_t i = 0; r == 0 && i < n; i++)
        r = free_old(s, old[i]);
    return r < 0 ? r : (int)n;
}

int qcow2_pwritev(struct blockdev *bd, uint64_t off, const struct iovec *iov, int iovcnt)
{
    struct qcow2 *s = (struct qcow2 *)bd;
    size_t total = bdev_iov_total(iov, iovcnt), done = 0;
    size_t runlen = s->cluster_size > RUN_MAX_BYTES ? s->cluster_size : RUN_MAX_BYTES;
    uint8_t *tmp = malloc(runlen);
    if (!tmp)
        return -ENOMEM;
    int r = 0;
    while (done < total) {
        uint64_t g = off + done;
        uint64_t gc = g >> s->cluster_bits;
        uint32_t o = (uint32_t)(g & (s->cluster_size - 1));
        uint32_t n = s->cluster_size - o;
        if (n > total - done)
            n = (uint32_t)(total - done);
        if (n == s->cluster_size) {
            r = write_full_run(s, gc, (total - done) >> s->cluster_bits, iov, iovcnt, done, tmp);
            if (r < 0)
                break;
            done += (size_t)r << s->cluster_bits;
            r = 0;
            continue;
        }
        iov_to_buf(iov, iovcnt, done, tmp, n);
        r = write_piece(s, gc, o, n, tmp);
        if (r < 0)
            break;
        done += n;
    }
    free(tmp);
    return r;
}

/* Makes a whole guest cluster read as zeros without data: unallocated when
 * nothing shows through from a backing file, else the v3 zero flag. */
static int zero_whole_cluster(struct qcow2 *s, uint64_t gc)
{
    uint64_t entry, l2off;
    int r = l2_lookup(s, gc, false, &entry, &l2off);
    if (r < 0)
        return r;
    uint64_t want;
    if (!s->backing)
        want = 0;
    else if (s->version >= 3)
        want = QZERO;
    else
        return write_piece(s, gc, 0, s->cluster_size, NULL);
    if (entry == want || (!s->backing && entry_is_zero(s, entry) && !(entry & QOFFSET_MASK)))
        return 0;
    if (!l2off) {
        if (!want)
            return 0;           /* no L2 table and no backing: already zeros */
        r = l2_lookup(s, gc, true, &entry, &l2off);
        if (r < 0)
            return r;
    }
    r = l2_set(s, gc, l2off, want);
    if (r < 0)
        return r;
    if (entry & QCOMPRESSED) {
        uint64_t coff, clen;
        qcow2_compressed_extent(s, entry, &coff, &clen);
        return qcow2_free_clusters(s, coff, clen);
    }
    if (entry & QOFFSET_MASK)
        return qcow2_free_clusters(s, entry & QOFFSET_MASK, s->cluster_size);
    return 0;
}

/* Partial clusters get real zeros only where the cluster does not read as zeros already. */
static int zero_partial(struct qcow2 *s, uint64_t gc, uint32_t o, uint32_t n)
{
    uint64_t entry, l2off;
    int r = l2_lookup(s, gc, false, &entry, &l2off);
    if (r < 0)
        return r;
    if (entry_is_zero(s, entry) || (!(entry & (QOFFSET_MASK | QCOMPRESSED)) && !s->backing))
        return 0;
    return write_piece(s, gc, o, n, NULL);
}

int qcow2_write_zeroes(struct blockdev *bd, uint64_t off, uint64_t len)
{
    struct qcow2 *s = (struct qcow2 *)bd;
    while (len) {
        uint64_t gc = off >> s->cluster_bits;
        uint32_t o = (uint32_t)(off & (s->cluster_size - 1));
        uint64_t n = s->cluster_size - o;
        if (n > len)
            n = len;
        int r;
        if (n == s->cluster_size)
            r = zero_whole_cluster(s, gc);
        else
            r = zero_partial(s, gc, o, (uint32_t)n);
        if (r < 0)
            return r;
        off += n;
        len -= n;
    }
    return 0;
}

/* The kind of each guest cluster from off on, while it stays the same. */
int qcow2_alloc_status(struct blockdev *bd, uint64_t off, uint64_t max, uint64_t *run)
{
    struct qcow2 *s = (struct qcow2 *)bd;
    int kind = -1;
    uint64_t done = 0;
    while (done < max) {
        uint64_t g = off + done, entry, l2off;
        int r = l2_lookup(s, g >> s->cluster_bits, false, &entry, &l2off);
        if (r < 0)
            return r;
        int k = entry_is_zero(s, entry) ? BLOCK_ALLOC_ZERO
                : entry & (QOFFSET_MASK | QCOMPRESSED) ? BLOCK_ALLOC_DATA : BLOCK_ALLOC_NONE;
        if (kind >= 0 && k != kind)
            break;
        kind = k;
        uint64_t n = s->cluster_size - (g & (s->cluster_size - 1));
        done += n < max - done ? n : max - done;
    }
    *run = done;
    return kind < 0 ? BLOCK_ALLOC_NONE : kind;
}

/* Discarded sectors read back as zeros, like a raw image's punched holes. */
int qcow2_discard(struct blockdev *bd, uint64_t off, uint64_t len)
{
    return qcow2_write_zeroes(bd, off, len);
}
