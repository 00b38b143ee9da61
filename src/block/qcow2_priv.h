/* qcow2 internals shared by the opener (qcow2.c), the data path
 * (qcow2_rw.c), the refcount allocator (qcow2_alloc.c) and the checker
 * (qcow2_check.c).  Format facts: QEMU's docs/interop/qcow2.rst. */
#ifndef HOSTEL_QCOW2_PRIV_H
#define HOSTEL_QCOW2_PRIV_H

#include <endian.h>
#include <string.h>

#include "block/block_priv.h"

#define QCOW2_MAGIC 0x514649fbu

/* Header field offsets (big-endian on disk). */
#define QH_VERSION          4
#define QH_BACKING_OFFSET   8
#define QH_BACKING_SIZE     16
#define QH_CLUSTER_BITS     20
#define QH_SIZE             24
#define QH_CRYPT            32
#define QH_L1_SIZE          36
#define QH_L1_OFFSET        40
#define QH_RT_OFFSET        48
#define QH_RT_CLUSTERS      56
#define QH_NB_SNAPSHOTS     60
#define QH_SNAPSHOTS_OFFSET 64
#define QH_INCOMPAT         72
#define QH_COMPAT           80
#define QH_AUTOCLEAR        88
#define QH_REFCOUNT_ORDER   96
#define QH_HEADER_LENGTH    100
#define QH_COMPRESSION_TYPE 104
#define QH_V2_LENGTH        72
#define QH_V3_LENGTH        112

#define QINCOMPAT_DIRTY       (1ULL << 0)
#define QINCOMPAT_CORRUPT     (1ULL << 1)
#define QINCOMPAT_DATA_FILE   (1ULL << 2)
#define QINCOMPAT_COMPRESSION (1ULL << 3)
#define QINCOMPAT_EXTL2       (1ULL << 4)
#define QINCOMPAT_SUPPORTED   (QINCOMPAT_DIRTY | QINCOMPAT_CORRUPT | QINCOMPAT_COMPRESSION)

#define QEXT_END             0x00000000u
#define QEXT_BACKING_FORMAT  0xe2792acau
#define QEXT_FEATURE_TABLE   0x6803f857u

#define QOFFSET_MASK   0x00fffffffffffe00ULL  /* bits 9-55: host offsets in L1/L2/refcount table */
#define QCOPIED        (1ULL << 63)
#define QCOMPRESSED    (1ULL << 62)
#define QZERO          1ULL

#define QCOW2_MAX_L1_BYTES  (32u << 20)
#define QCOW2_MAX_RT_BYTES  (8u << 20)
#define QCOW2_MAX_CHAIN     64    /* images in a backing chain: 63 snapshots in a row */
#define QCOW2_CACHE_SLOTS   16

struct qcache_slot {
    uint64_t off;               /* host offset of the cached cluster; 0 = empty */
    uint64_t used;              /* LRU tick */
    uint8_t *data;
};

struct qcache {
    struct qcache_slot slot[QCOW2_CACHE_SLOTS];
    uint64_t tick;
};

struct qcow2 {
    struct blockdev bd;         /* first: block.c sees only this */
    int version;
    unsigned cluster_bits;
    uint32_t cluster_size;
    unsigned l2_bits;           /* log2 of entries per L2 table */
    uint64_t l1_offset;
    uint32_t l1_size;
    uint64_t *l1;               /* host byte order, as on disk otherwise */
    uint64_t rt_offset;
    uint32_t rt_clusters;
    uint64_t rt_entries;
    uint64_t *rt;
    unsigned refcount_order;    /* refcount width = 1 << order bits */
    unsigned rb_bits;           /* log2 of refcount entries per refcount block */
    uint64_t refcount_max;
    uint64_t incompat, compat, autoclear;
    uint32_t header_length;
    int compression;            /* 0 zlib (deflate), 1 zstd */
    uint32_t nb_snapshots;
    uint64_t snapshots_offset;
    char *backing_name;
    char backing_fmt[32];
    struct blockdev *backing;
    uint64_t file_end;          /* cluster-aligned end of everything allocated */
    uint64_t free_hint;         /* no free cluster below this index */
    struct qcache l2cache, rbcache;
    uint8_t *buf, *zbuf;        /* cluster-sized scratch: data and decompression input */
    size_t zbuf_len;
};

static inline uint64_t get_be64(const void *p) { uint64_t v; memcpy(&v, p, 8); return be64toh(v); }
static inline uint32_t get_be32(const void *p) { uint32_t v; memcpy(&v, p, 4); return be32toh(v); }
static inline uint16_t get_be16(const void *p) { uint16_t v; memcpy(&v, p, 2); return be16toh(v); }
static inline void put_be64(void *p, uint64_t v) { v = htobe64(v); memcpy(p, &v, 8); }
static inline void put_be32(void *p, uint32_t v) { v = htobe32(v); memcpy(p, &v, 4); }
static inline void put_be16(void *p, uint16_t v) { v = htobe16(v); memcpy(p, &v, 2); }

/* qcow2_alloc.c: metadata cache, refcounts, cluster allocation. */
int qcache_get(struct qcow2 *s, struct qcache *c, uint64_t off, uint8_t **data);
void qcache_drop(struct qcache *c, uint64_t off);
void qcache_free(struct qcache *c);
bool qcow2_meta_ok(const struct qcow2 *s, uint64_t off);
int qcow2_refcount_get(struct qcow2 *s, uint64_t cluster, uint64_t *val);
int qcow2_refcount_set(struct qcow2 *s, uint64_t cluster, uint64_t val);
int qcow2_alloc_cluster(struct qcow2 *s, uint64_t *host_off);
int qcow2_free_clusters(struct qcow2 *s, uint64_t host_off, uint64_t len);
uint64_t qcow2_refcount_read_entry(const struct qcow2 *s, const uint8_t *block, uint64_t i);
void qcow2_refcount_write_entry(const struct qcow2 *s, uint8_t *block, uint64_t i, uint64_t v);

/* qcow2_rw.c: the data path. */
int qcow2_preadv(struct blockdev *bd, uint64_t off, const struct iovec *iov, int iovcnt);
int qcow2_pwritev(struct blockdev *bd, uint64_t off, const struct iovec *iov, int iovcnt);
int qcow2_discard(struct blockdev *bd, uint64_t off, uint64_t len);
int qcow2_write_zeroes(struct blockdev *bd, uint64_t off, uint64_t len);
int qcow2_alloc_status(struct blockdev *bd, uint64_t off, uint64_t max, uint64_t *run);
/* Host extent of a compressed L2 entry. */
void qcow2_compressed_extent(const struct qcow2 *s, uint64_t entry, uint64_t *off, uint64_t *len);

/* qcow2_check.c */
int qcow2_check(struct blockdev *bd, bool repair, struct block_check_report *r,
                struct err *e);
int qcow2_write_header_field64(struct qcow2 *s, unsigned field, uint64_t v);

#endif
