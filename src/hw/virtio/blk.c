/* virtio-blk (device type 2): reads, writes, flush, GET_ID, discard and
 * write-zeroes on a block/block.h disk, one request queue.  Each request's
 * header, status byte and sector range are checked; a bad request is
 * answered with IOERR or UNSUPP, never followed. */
#include "hw/virtio/blk.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "block/block.h"
#include "hw/virtio/virtio_pci.h"
#include "lib/err.h"
#include "lib/ratelimit.h"
#include "lib/state.h"
#include "machine/timer.h"

#define SECTOR 512ULL

#define VIRTIO_BLK_F_SIZE_MAX     1
#define VIRTIO_BLK_F_SEG_MAX      2
#define VIRTIO_BLK_F_RO           5
#define VIRTIO_BLK_F_BLK_SIZE     6
#define VIRTIO_BLK_F_FLUSH        9
#define VIRTIO_BLK_F_DISCARD      13
#define VIRTIO_BLK_F_WRITE_ZEROES 14

#define VIRTIO_BLK_T_IN           0
#define VIRTIO_BLK_T_OUT          1
#define VIRTIO_BLK_T_FLUSH        4
#define VIRTIO_BLK_T_GET_ID       8
#define VIRTIO_BLK_T_DISCARD      11
#define VIRTIO_BLK_T_WRITE_ZEROES 13

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define QUEUE_SIZE      256
#define SEG_MAX         (QUEUE_SIZE - 2)     /* header and status take two */
#define SIZE_MAX_BYTES  (1u << 20)
#define MAX_RANGE_SECTORS 0x400000u          /* 2 GiB per discard/zeroes segment */
#define MAX_RANGES      16
#define ID_BYTES        20
#define CONFIG_SIZE     60

struct virtio_blk {
    struct virtio_pci *vp;
    struct blockdev *bd;
    uint64_t capacity;            /* in 512-byte sectors */
    bool readonly;
    char serial[ID_BYTES];
    struct rate_limiter limit;    /* under vd->lock */
    struct iovec data[VIRTQ_MAX_SIZE];
};

struct blk_header {
    uint32_t type;
    uint32_t reserved;
    uint64_t sector;
};

struct blk_range {
    uint64_t sector;
    uint32_t num_sectors;
    uint32_t flags;               /* bit 0: unmap */
};

static uint64_t blk_features(struct virtio_dev *vd)
{
    struct virtio_blk *b = vd->opaque;
    uint64_t f = 1ULL << VIRTIO_BLK_F_SIZE_MAX | 1ULL << VIRTIO_BLK_F_SEG_MAX |
                 1ULL << VIRTIO_BLK_F_BLK_SIZE | 1ULL << VIRTIO_BLK_F_FLUSH;
    if (b->readonly)
        f |= 1ULL << VIRTIO_BLK_F_RO;
    else
        f |= 1ULL << VIRTIO_BLK_F_DISCARD | 1ULL << VIRTIO_BLK_F_WRITE_ZEROES;
    return f;
}

static void put32(uint8_t *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

/* struct virtio_blk_config up to write_zeroes_may_unmap (spec 5.2.4). */
static void blk_config_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
    struct virtio_blk *b = vd->opaque;
    uint8_t cfg[CONFIG_SIZE] = {0};
    memcpy(cfg + 0, &b->capacity, 8);
    put32(cfg + 8, SIZE_MAX_BYTES);
    put32(cfg + 12, SEG_MAX);
    put32(cfg + 20, SECTOR);                    /* blk_size */
    put32(cfg + 36, MAX_RANGE_SECTORS);         /* max_discard_sectors */
    put32(cfg + 40, MAX_RANGES);                /* max_discard_seg */
    put32(cfg + 44, 1);                         /* discard_sector_alignment */
    put32(cfg + 48, MAX_RANGE_SECTORS);         /* max_write_zeroes_sectors */
    put32(cfg + 52, MAX_RANGES);                /* max_write_zeroes_seg */
    memcpy(buf, cfg + off, len);
}

static bool in_range(const struct virtio_blk *b, uint64_t sector, uint64_t sectors)
{
    return sector <= b->capacity && sectors <= b->capacity - sector;
}

/* Discard and write-zeroes: an array of ranges after the header. */
static uint8_t do_ranges(struct virtio_blk *b, const struct virtq_chain *c, uint32_t type)
{
    uint64_t payload = c->out_len - sizeof(struct blk_header);
    if (b->readonly)
        return VIRTIO_BLK_S_IOERR;
    if (payload == 0 || payload % sizeof(struct blk_range) ||
        payload / sizeof(struct blk_range) > MAX_RANGES)
        return VIRTIO_BLK_S_UNSUPP;
    struct blk_range ranges[MAX_RANGES];
    unsigned n = (unsigned)(payload / sizeof(struct blk_range));
    iov_to_buf(c->iov, c->nout, sizeof(struct blk_header), ranges, n * sizeof(ranges[0]));
    for (unsigned i = 0; i < n; i++) {
        struct blk_range r = ranges[i];
        /* Discard must not unmap-flag (spec); unknown flag bits are refused. */
        if ((r.flags & ~1u) || (type == VIRTIO_BLK_T_DISCARD && (r.flags & 1)))
            return VIRTIO_BLK_S_UNSUPP;
        if (r.num_sectors > MAX_RANGE_SECTORS || !in_range(b, r.sector, r.num_sectors))
            return VIRTIO_BLK_S_IOERR;
        int e = type == VIRTIO_BLK_T_DISCARD
                    ? block_discard(b->bd, r.sector * SECTOR, r.num_sectors * SECTOR)
                    : block_write_zeroes(b->bd, r.sector * SECTOR, r.num_sectors * SECTOR);
        if (e < 0)
            return VIRTIO_BLK_S_IOERR;
    }
    return VIRTIO_BLK_S_OK;
}

/* Handles one request; *written gets the bytes put in its writable part
 * (data before the status byte). */
static uint8_t handle(struct virtio_blk *b, const struct virtq_chain *c, uint32_t *written)
{
    struct blk_header h;
    *written = 0;
    if (c->out_len < sizeof(h))
        return VIRTIO_BLK_S_IOERR;
    iov_to_buf(c->iov, c->nout, 0, &h, sizeof(h));
    const struct iovec *in = c->iov + c->nout;
    uint64_t in_data = c->in_len - 1;          /* bytes before the status byte */

    switch (h.type) {
    case VIRTIO_BLK_T_IN: {
        if (in_data % SECTOR || !in_range(b, h.sector, in_data / SECTOR))
            return VIRTIO_BLK_S_IOERR;
        unsigned n = virtq_iov_slice(in, c->nin, 0, in_data, b->data, VIRTQ_MAX_SIZE);
        if (in_data && block_preadv(b->bd, h.sector * SECTOR, b->data, (int)n) < 0)
            return VIRTIO_BLK_S_IOERR;
        *written = (uint32_t)in_data;
        return VIRTIO_BLK_S_OK;
    }
    case VIRTIO_BLK_T_OUT: {
        uint64_t len = c->out_len - sizeof(h);
        if (b->readonly)
            return VIRTIO_BLK_S_IOERR;
        if (len % SECTOR || !in_range(b, h.sector, len / SECTOR))
            return VIRTIO_BLK_S_IOERR;
        unsigned n = virtq_iov_slice(c->iov, c->nout, sizeof(h), len, b->data, VIRTQ_MAX_SIZE);
        if (len && block_pwritev(b->bd, h.sector * SECTOR, b->data, (int)n) < 0)
            return VIRTIO_BLK_S_IOERR;
        return VIRTIO_BLK_S_OK;
    }
    case VIRTIO_BLK_T_FLUSH:
        return block_flush(b->bd) < 0 ? VIRTIO_BLK_S_IOERR : VIRTIO_BLK_S_OK;
    case VIRTIO_BLK_T_GET_ID: {
        size_t n = in_data < ID_BYTES ? (size_t)in_data : ID_BYTES;
        *written = (uint32_t)iov_from_buf(in, c->nin, 0, b->serial, n);
        return VIRTIO_BLK_S_OK;
    }
    case VIRTIO_BLK_T_DISCARD:
    case VIRTIO_BLK_T_WRITE_ZEROES:
        return do_ranges(b, c, h.type);
    default:
        return VIRTIO_BLK_S_UNSUPP;
    }
}

static void blk_notify(struct virtio_dev *vd, unsigned q)
{
    struct virtio_blk *b = vd->opaque;
    struct virtq_chain *c = vd->chain;
    for (;;) {
        if (rate_limiter_active(&b->limit)) {
            uint64_t wait = rate_limiter_wait_ns(&b->limit, timer_now_ns());
            if (wait) {
                virtio_queue_retry(vd, q, wait);   /* the rest stay in the ring */
                break;
            }
        }
        if (virtio_pop(vd, q, c) <= 0)
            break;
        /* Charged by its data: what follows the header, what precedes the
         * status byte. */
        rate_limiter_charge(&b->limit,
                            (c->out_len > sizeof(struct blk_header)
                                 ? c->out_len - sizeof(struct blk_header) : 0) +
                            (c->in_len > 1 ? c->in_len - 1 : 0));
        if (c->in_len == 0) {
            /* No room for a status byte: nothing we can answer with. */
            virtq_push(&vd->vq[q], c->head, 0);
            continue;
        }
        uint32_t written;
        uint8_t status = handle(b, c, &written);
        iov_from_buf(c->iov + c->nout, c->nin, c->in_len - 1, &status, 1);
        virtq_push(&vd->vq[q], c->head, written + 1);
    }
    virtio_queue_done(vd, q);
}

static const struct virtio_device_ops blk_ops = {
    .name = "virtio-blk",
    .device_id = VIRTIO_ID_BLOCK,
    .pci_class = 0x018000,        /* mass storage, other */
    .num_queues = 1,
    .queue_max = QUEUE_SIZE,
    .config_size = CONFIG_SIZE,
    .features = blk_features,
    .config_read = blk_config_read,
    .queue_notify = blk_notify,
};

int virtio_blk_create(struct guest_mem *mem, struct pci_bus *bus, struct blockdev *bd, const char *serial,
                      struct virtio_blk **out)
{
    struct virtio_blk *b = calloc(1, sizeof(*b));
    if (!b)
        return -ENOMEM;
    b->bd = bd;
    b->capacity = block_size(bd) / SECTOR;
    b->readonly = block_readonly(bd);
    if (serial) {
        size_t n = strlen(serial);
        memcpy(b->serial, serial, n < sizeof(b->serial) ? n : sizeof(b->serial));
    }
    int r = virtio_pci_create(mem, bus, &blk_ops, b, &b->vp);
    if (r < 0) {
        free(b);
        return r;
    }
    *out = b;
    return 0;
}

void virtio_blk_set_limits(struct virtio_blk *b, const struct rate_limits *lim)
{
    struct virtio_dev *vd = virtio_pci_dev(b->vp);
    pthread_mutex_lock(&vd->lock);
    rate_limiter_init(&b->limit, lim, timer_now_ns());
    pthread_mutex_unlock(&vd->lock);
}

int virtio_blk_slot(const struct virtio_blk *b)
{
    return virtio_pci_slot(b->vp);
}

void virtio_blk_destroy(struct virtio_blk *b)
{
    if (!b)
        return;
    virtio_pci_destroy(b->vp);
    free(b);
}

/* ---- snapshots and pausing ------------------------------------------------ */

int virtio_blk_save(struct virtio_blk *b, struct state_out *o)
{
    int r = virtio_pci_save(b->vp, o);
    st_put_u64(o, b->capacity);
    return r < 0 || !state_out_ok(o) ? -ENOMEM : 0;
}

int virtio_blk_load(struct virtio_blk *b, struct state_in *in, struct err *e)
{
    struct virtio_pci_loaded *l;
    char name[64];
    int r = virtio_pci_load_check(b->vp, in, e, &l);
    if (r < 0)
        return r;
    uint64_t capacity = st_get_u64(in);
    if (in->bad || capacity != b->capacity) {
        virtio_pci_name(b->vp, name, sizeof(name));
        virtio_pci_load_abandon(l);
        if (in->bad)
            return err_set(e, -EINVAL, "%s: the saved state is cut short", name);
        return err_set(e, -EINVAL, "%s: the saved disk had %llu sectors, this one has %llu",
                       name, (unsigned long long)capacity, (unsigned long long)b->capacity);
    }
    virtio_pci_load_commit(b->vp, l, NULL, NULL);
    return 0;
}

void virtio_blk_pause(struct virtio_blk *b)
{
    virtio_pci_pause(b->vp);
}

void virtio_blk_resume(struct virtio_blk *b)
{
    virtio_pci_resume(b->vp);
}

struct blockdev *virtio_blk_swap_image(struct virtio_blk *b, struct blockdev *bd)
{
    struct blockdev *old = b->bd;
    b->bd = bd;
    return old;
}
