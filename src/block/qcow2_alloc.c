/* qcow2 metadata cache and cluster allocation with exact refcounts.
 * Crash ordering: a cluster's refcount is written before anything points at
 * it, and pointers are removed before refcounts drop, so a process killed at
 * any point leaves at worst leaked clusters, never a shared or dangling one. */
#include <errno.h>
#include <fcntl.h>
#include <linux/falloc.h>
#include <stdlib.h>

#include "block/qcow2_priv.h"

/* A metadata cluster pointer must be aligned and lie inside what is allocated. */
bool qcow2_meta_ok(const struct qcow2 *s, uint64_t off)
{
    return off && !(off & (s->cluster_size - 1)) && off <= s->file_end - s->cluster_size;
}

int qcache_get(struct qcow2 *s, struct qcache *c, uint64_t off, uint8_t **data)
{
    struct qcache_slot *victim = &c->slot[0];
    for (int i = 0; i < QCOW2_CACHE_SLOTS; i++) {
        struct qcache_slot *sl = &c->slot[i];
        if (sl->off == off && sl->data) {
            sl->used = ++c->tick;
            *data = sl->data;
            return 0;
        }
        if (!sl->data || sl->off == 0) {
            victim = sl;
            victim->used = 0;
        } else if (victim->data && victim->off && sl->used < victim->used) {
            victim = sl;
        }
    }
    if (!victim->data) {
        victim->data = malloc(s->cluster_size);
        if (!victim->data)
            return -ENOMEM;
    }
    victim->off = 0;
    int r = bdev_pread_full(s->bd.fd, victim->data, s->cluster_size, off);
    if (r < 0)
        return r;
    victim->off = off;
    victim->used = ++c->tick;
    *data = victim->data;
    return 0;
}

void qcache_drop(struct qcache *c, uint64_t off)
{
    for (int i = 0; i < QCOW2_CACHE_SLOTS; i++)
        if (c->slot[i].off == off)
            c->slot[i].off = 0;
}

void qcache_free(struct qcache *c)
{
    for (int i = 0; i < QCOW2_CACHE_SLOTS; i++)
        free(c->slot[i].data);
    memset(c, 0, sizeof(*c));
}

uint64_t qcow2_refcount_read_entry(const struct qcow2 *s, const uint8_t *block, uint64_t i)
{
    switch (s->refcount_order) {
    case 3: return block[i];
    case 4: return get_be16(block + i * 2);
    case 5: return get_be32(block + i * 4);
    case 6: return get_be64(block + i * 8);
    }
    return 0;
}

void qcow2_refcount_write_entry(const struct qcow2 *s, uint8_t *block, uint64_t i, uint64_t v)
{
    switch (s->refcount_order) {
    case 3: block[i] = (uint8_t)v; break;
    case 4: put_be16(block + i * 2, (uint16_t)v); break;
    case 5: put_be32(block + i * 4, (uint32_t)v); break;
    case 6: put_be64(block + i * 8, v); break;
    }
}

int qcow2_refcount_get(struct qcow2 *s, uint64_t cluster, uint64_t *val)
{
    uint64_t ri = cluster >> s->rb_bits;
    *val = 0;
    if (ri >= s->rt_entries)
        return 0;
    uint64_t boff = s->rt[ri] & QOFFSET_MASK;
    if (!boff)
        return 0;
    if (!qcow2_meta_ok(s, boff))
        return -EIO;
    uint8_t *blk;
    int r = qcache_get(s, &s->rbcache, boff, &blk);
    if (r < 0)
        return r;
    *val = qcow2_refcount_read_entry(s, blk, cluster & ((1ULL << s->rb_bits) - 1));
    return 0;
}

static int write_rt_entry(struct qcow2 *s, uint64_t ri)
{
    uint8_t e[8];
    put_be64(e, s->rt[ri]);
    return bdev_pwrite_full(s->bd.fd, e, 8, s->rt_offset + ri * 8);
}

/* Makes refcount blocks exist for cluster `need` (and for everything this
 * allocates), growing the refcount table when it is too short.  New
 * metadata goes at the end of the file; it is written completely before
 * the table (or the header, for a new table) points at it. */
static int refcount_extend(struct qcow2 *s, uint64_t need)
{
    const unsigned cb = s->cluster_bits;
    const uint64_t per_block = 1ULL << s->rb_bits;
    uint64_t start = s->file_end >> cb;
    uint64_t T = 0, B = 0, new_entries = s->rt_entries;
    uint64_t list[16];
    unsigned nlist = 0;

    for (int iter = 0;; iter++) {
        if (iter > 8)
            return -EIO;
        uint64_t end = start + T + B;
        nlist = 0;
        uint64_t cand[18];
        unsigned nc = 0;
        cand[nc++] = need >> s->rb_bits;
        for (uint64_t ri = start >> s->rb_bits; end > start && ri <= (end - 1) >> s->rb_bits && nc < 18; ri++)
            cand[nc++] = ri;
        uint64_t max_ri = 0;
        for (unsigned i = 0; i < nc; i++) {
            uint64_t ri = cand[i];
            if (ri < s->rt_entries && (s->rt[ri] & QOFFSET_MASK))
                continue;
            bool dup = false;
            for (unsigned j = 0; j < nlist; j++)
                dup |= list[j] == ri;
            if (dup)
                continue;
            if (nlist == 16)
                return -EIO;
            list[nlist++] = ri;
            if (ri > max_ri)
                max_ri = ri;
        }
        uint64_t nT = 0;
        new_entries = s->rt_entries;
        if (nlist && max_ri >= s->rt_entries) {
            new_entries = s->rt_entries * 2;
            if (new_entries < max_ri + 1)
                new_entries = max_ri + 1;
            nT = (new_entries * 8 + s->cluster_size - 1) >> cb;
            new_entries = nT << (cb - 3);
            if (nT * s->cluster_size > QCOW2_MAX_RT_BYTES)
                return -EFBIG;
        }
        if (nT == T && nlist == B)
            break;
        T = nT;
        B = nlist;
    }
    if (!B)
        return 0;

    int r = 0;
    uint8_t *blocks = calloc(B, s->cluster_size);
    uint64_t *nrt = NULL;
    if (!blocks)
        return -ENOMEM;
    if (T) {
        nrt = calloc(new_entries, 8);
        if (!nrt) {
            free(blocks);
            return -ENOMEM;
        }
        memcpy(nrt, s->rt, s->rt_entries * 8);
    }
    uint64_t *table = T ? nrt : s->rt;
    for (unsigned k = 0; k < B; k++)
        table[list[k]] = (start + T + k) << cb;
    /* The new clusters' own refcounts: in a new block or an existing one. */
    s->file_end = (start + T + B) << cb;
    for (uint64_t c = start; c < start + T + B; c++) {
        uint64_t ri = c >> s->rb_bits;
        bool inlist = false;
        for (unsigned k = 0; k < B; k++) {
            if (list[k] == ri) {
                qcow2_refcount_write_entry(s, blocks + (uint64_t)k * s->cluster_size,
                                           c & (per_block - 1), 1);
                inlist = true;
            }
        }
        if (!inlist) {
            r = qcow2_refcount_set(s, c, 1);
            if (r < 0)
                goto out;
        }
    }
    r = bdev_pwrite_full(s->bd.fd, blocks, B * s->cluster_size, (start + T) << cb);
    if (r < 0)
        goto out;
    if (T) {
        uint8_t *raw = calloc(T, s->cluster_size);
        if (!raw) {
            r = -ENOMEM;
            goto out;
        }
        for (uint64_t i = 0; i < new_entries; i++)
            put_be64(raw + i * 8, nrt[i]);
        r = bdev_pwrite_full(s->bd.fd, raw, T * s->cluster_size, start << cb);
        free(raw);
        if (r < 0)
            goto out;
        /* Switch the header to the new table: offset and size are adjacent. */
        uint8_t h[12];
        put_be64(h, start << cb);
        put_be32(h + 8, (uint32_t)T);
        r = bdev_pwrite_full(s->bd.fd, h, 12, QH_RT_OFFSET);
        if (r < 0)
            goto out;
        uint64_t old_off = s->rt_offset, old_clusters = s->rt_clusters;
        free(s->rt);
        s->rt = nrt;
        nrt = NULL;
        s->rt_entries = new_entries;
        s->rt_offset = start << cb;
        s->rt_clusters = (uint32_t)T;
        r = qcow2_free_clusters(s, old_off, old_clusters << cb);
    } else {
        for (unsigned k = 0; k < B && r == 0; k++)
            r = write_rt_entry(s, list[k]);
    }
out:
    free(blocks);
    free(nrt);
    return r;
}

int qcow2_refcount_set(struct qcow2 *s, uint64_t cluster, uint64_t val)
{
    if (val > s->refcount_max)
        return -ERANGE;
    uint64_t ri = cluster >> s->rb_bits;
    if (ri >= s->rt_entries || !(s->rt[ri] & QOFFSET_MASK)) {
        if (!val)
            return 0;
        int r = refcount_extend(s, cluster);
        if (r < 0)
            return r;
    }
    uint64_t boff = s->rt[ri] & QOFFSET_MASK;
    if (!qcow2_meta_ok(s, boff))
        return -EIO;
    uint8_t *blk;
    int r = qcache_get(s, &s->rbcache, boff, &blk);
    if (r < 0)
        return r;
    uint64_t i = cluster & ((1ULL << s->rb_bits) - 1);
    qcow2_refcount_write_entry(s, blk, i, val);
    unsigned w = (1u << s->refcount_order) / 8;
    return bdev_pwrite_full(s->bd.fd, blk + i * w, w, boff + i * w);
}

int qcow2_alloc_cluster(struct qcow2 *s, uint64_t *host_off)
{
    uint64_t endc = s->file_end >> s->cluster_bits;
    uint64_t c = s->free_hint;
    for (; c < endc; c++) {
        uint64_t v;
        int r = qcow2_refcount_get(s, c, &v);
        if (r < 0)
            return r;
        if (!v)
            break;
    }
    if (c >= endc) {
        c = endc;
        s->file_end = (c + 1) << s->cluster_bits;
    }
    int r = qcow2_refcount_set(s, c, 1);
    if (r < 0)
        return r;
    s->free_hint = c + 1;
    *host_off = c << s->cluster_bits;
    return 0;
}

/* Drops one reference from every cluster in [host_off, host_off+len). */
int qcow2_free_clusters(struct qcow2 *s, uint64_t host_off, uint64_t len)
{
    if (!len)
        return 0;
    uint64_t first = host_off >> s->cluster_bits;
    uint64_t last = (host_off + len - 1) >> s->cluster_bits;
    for (uint64_t c = first; c <= last; c++) {
        uint64_t v;
        if (c == 0)
            continue;           /* the header: only a hostile table points here */
        int r = qcow2_refcount_get(s, c, &v);
        if (r < 0)
            return r;
        if (!v)
            continue;           /* already free: a corrupt image, leave it to check */
        r = qcow2_refcount_set(s, c, v - 1);
        if (r < 0)
            return r;
        if (v == 1) {
            if (c < s->free_hint)
                s->free_hint = c;
            qcache_drop(&s->l2cache, c << s->cluster_bits);
            qcache_drop(&s->rbcache, c << s->cluster_bits);
            /* Give the space back to the host; the contents no longer matter.
             * Clusters smaller than a file system block cannot be punched. */
            if (s->cluster_size >= 4096)
                (void)fallocate(s->bd.fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE,
                            (off_t)(c << s->cluster_bits), (off_t)s->cluster_size);
        }
    }
    return 0;
}
