/* qcow2 consistency check: recounts every reference (header, L1/L2 tables,
 * data and compressed clusters, refcount structures, snapshots) and compares
 * with the stored refcounts; leaks and errors are counted like qemu-img check.
 * Repair rewrites the stored refcounts to the recount and clears the dirty bit. */
#include <errno.h>
#include <stdlib.h>
#include <unistd.h>

#include "block/qcow2_priv.h"

struct recount {
    struct qcow2 *s;
    uint32_t *n;                /* references per host cluster */
    uint64_t clusters;
    uint64_t errors;
    uint8_t *tab;
};

static void ref(struct recount *rc, uint64_t off, uint64_t len)
{
    if (!len)
        return;
    uint64_t first = off >> rc->s->cluster_bits, last = (off + len - 1) >> rc->s->cluster_bits;
    for (uint64_t c = first; c <= last; c++) {
        if (c >= rc->clusters) {
            rc->errors++;       /* a reference past the end of the file */
            return;
        }
        if (rc->n[c] < UINT32_MAX)
            rc->n[c]++;
    }
}

static bool aligned(const struct qcow2 *s, uint64_t off)
{
    return !(off & (s->cluster_size - 1));
}

/* Counts an L1 table, its L2 tables and their data clusters. */
static int ref_l1(struct recount *rc, uint64_t l1_off, uint64_t l1_size)
{
    struct qcow2 *s = rc->s;
    if (l1_size * 8 > QCOW2_MAX_L1_BYTES || !aligned(s, l1_off)) {
        rc->errors++;
        return 0;
    }
    ref(rc, l1_off, l1_size * 8);
    uint64_t *l1 = malloc(l1_size * 8 + 8);
    if (!l1)
        return -ENOMEM;
    int r = bdev_pread_full(s->bd.fd, l1, l1_size * 8, l1_off);
    for (uint64_t i = 0; r == 0 && i < l1_size; i++) {
        uint64_t l2 = be64toh(l1[i]) & QOFFSET_MASK;
        if (!l2)
            continue;
        if (!aligned(s, l2) || (l2 >> s->cluster_bits) >= rc->clusters) {
            rc->errors++;
            continue;
        }
        ref(rc, l2, s->cluster_size);
        r = bdev_pread_full(s->bd.fd, rc->tab, s->cluster_size, l2);
        for (uint64_t j = 0; r == 0 && j < (1ULL << s->l2_bits); j++) {
            uint64_t e = get_be64(rc->tab + j * 8);
            if (e & QCOMPRESSED) {
                uint64_t coff, clen;
                qcow2_compressed_extent(s, e, &coff, &clen);
                ref(rc, coff, clen);
                continue;
            }
            uint64_t d = e & QOFFSET_MASK;
            if (!d)
                continue;
            if (!aligned(s, d)) {
                rc->errors++;
                continue;
            }
            ref(rc, d, s->cluster_size);
        }
    }
    free(l1);
    return r;
}

static int ref_snapshots(struct recount *rc)
{
    struct qcow2 *s = rc->s;
    uint64_t off = s->snapshots_offset;
    if (!s->nb_snapshots)
        return 0;
    if (!aligned(s, off) || s->nb_snapshots > 65536) {
        rc->errors++;
        return 0;
    }
    uint64_t start = off;
    for (uint32_t i = 0; i < s->nb_snapshots; i++) {
        uint8_t h[40];
        int r = bdev_pread_full(s->bd.fd, h, sizeof(h), off);
        if (r < 0)
            return r;
        uint64_t l1_off = get_be64(h);
        uint32_t l1_size = get_be32(h + 8);
        uint64_t len = 40 + (uint64_t)get_be32(h + 36) + get_be16(h + 12) + get_be16(h + 14);
        r = ref_l1(rc, l1_off, l1_size);
        if (r < 0)
            return r;
        off += (len + 7) & ~7ULL;
        if (off - start > (64u << 20)) {
            rc->errors++;
            return 0;
        }
    }
    ref(rc, start, off - start);
    return 0;
}

static int recount(struct qcow2 *s, struct recount *rc)
{
    memset(rc, 0, sizeof(*rc));
    rc->s = s;
    rc->clusters = s->file_end >> s->cluster_bits;
    rc->n = calloc(rc->clusters + 1, sizeof(uint32_t));
    rc->tab = malloc(s->cluster_size);
    if (!rc->n || !rc->tab)
        return -ENOMEM;
    ref(rc, 0, s->cluster_size);
    int r = ref_l1(rc, s->l1_offset, s->l1_size);
    if (r < 0)
        return r;
    ref(rc, s->rt_offset, (uint64_t)s->rt_clusters << s->cluster_bits);
    for (uint64_t i = 0; i < s->rt_entries; i++) {
        uint64_t b = s->rt[i] & QOFFSET_MASK;
        if (!b)
            continue;
        if (!aligned(s, b))
            rc->errors++;
        else
            ref(rc, b, s->cluster_size);
    }
    return ref_snapshots(rc);
}

static int compare(struct qcow2 *s, struct recount *rc, bool repair, struct block_check_report *rep)
{
    uint64_t limit = s->rt_entries << s->rb_bits;
    for (uint64_t c = 0; c < limit; c++) {
        if (c >= rc->clusters) {
            /* Past the end of the file: refcounts taken just before a crash
             * for clusters never written waste nothing, and qemu-img does
             * not count them either.  Repair clears them, a block at a time. */
            if (!repair)
                break;
            uint64_t ri = c >> s->rb_bits;
            uint64_t boff = s->rt[ri] & QOFFSET_MASK;
            uint64_t first = c & ((1ULL << s->rb_bits) - 1);
            c = ((ri + 1) << s->rb_bits) - 1;
            if (!boff || !qcow2_meta_ok(s, boff))
                continue;
            unsigned w = (1u << s->refcount_order) / 8;
            uint64_t len = ((1ULL << s->rb_bits) - first) * w;
            int r = bdev_pwrite_full(s->bd.fd, rc->tab, len, boff + first * w);   /* tab: zeroed below */
            if (r < 0)
                return r;
            qcache_drop(&s->rbcache, boff);
            continue;
        }
        uint64_t stored;
        int r = qcow2_refcount_get(s, c, &stored);
        if (r < 0) {
            rep->errors++;
            c = (((c >> s->rb_bits) + 1) << s->rb_bits) - 1;
            continue;
        }
        uint64_t want = c < rc->clusters ? rc->n[c] : 0;
        if (want)
            rep->allocated_clusters++;
        if (stored == want)
            continue;
        if (stored > want)
            rep->leaks++;
        else
            rep->errors++;
        if (repair) {
            r = qcow2_refcount_set(s, c, want > s->refcount_max ? s->refcount_max : want);
            if (r < 0)
                return r;
            if (stored > want)
                rep->leaks_fixed++;
            else
                rep->errors_fixed++;
        }
    }
    /* References past the refcount table's reach have no refcount at all. */
    for (uint64_t c = limit; c < rc->clusters; c++) {
        if (!rc->n[c])
            continue;
        rep->allocated_clusters++;
        rep->errors++;
        if (repair) {
            int r = qcow2_refcount_set(s, c, rc->n[c]);
            if (r < 0)
                return r;
            rep->errors_fixed++;
        }
    }
    return 0;
}

int qcow2_check(struct blockdev *bd, bool repair, struct block_check_report *rep,
                struct err *e)
{
    struct qcow2 *s = (struct qcow2 *)bd;
    struct recount rc;
    rep->supported = true;
    int r = recount(s, &rc);
    if (r == 0) {
        rep->errors += rc.errors;
        rep->total_clusters = rc.clusters;
        memset(rc.tab, 0, s->cluster_size);
        r = compare(s, &rc, repair, rep);
    }
    free(rc.n);
    free(rc.tab);
    if (r == 0 && repair) {
        /* Repairing may itself have allocated refcount blocks: count once more. */
        struct block_check_report again = { .supported = true };
        r = recount(s, &rc);
        if (r == 0)
            r = compare(s, &rc, false, &again);
        free(rc.n);
        free(rc.tab);
        if (r == 0) {
            rep->leaks = again.leaks;
            rep->errors = again.errors + rc.errors;
            rep->allocated_clusters = again.allocated_clusters;
            rep->total_clusters = rc.clusters;
            s->free_hint = 0;
            if (!rep->errors && (s->incompat & QINCOMPAT_DIRTY)) {
                s->incompat &= ~QINCOMPAT_DIRTY;
                r = qcow2_write_header_field64(s, QH_INCOMPAT, s->incompat);
            }
            if (r == 0 && fdatasync(bd->fd) < 0)
                r = -errno;
        }
    }
    if (r < 0)
        err_set(e, r, "cannot check %s: %s", bd->path, strerror(-r));
    return r;
}
