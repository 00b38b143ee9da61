/* The split virtqueue parser: takes chains from the available ring and
 * returns them on the used ring, treating every guest value as hostile.
 * vCPUs (the driver) run on other threads, so index reads and writes are
 * ordered with fences as the spec's memory model asks. */
#include "hw/virtio/virtqueue.h"

#include <errno.h>
#include <stdatomic.h>
#include <string.h>

/* x86-64 hosts only (the whole VMM is), so rings are little-endian like us;
 * accesses go through __atomic so the compiler neither tears nor caches them. */
static inline uint16_t load16(const uint8_t *p)
{
    return __atomic_load_n((const uint16_t *)p, __ATOMIC_RELAXED);
}
static inline void store16(uint8_t *p, uint16_t v)
{
    __atomic_store_n((uint16_t *)p, v, __ATOMIC_RELAXED);
}
static inline void store32(uint8_t *p, uint32_t v)
{
    __atomic_store_n((uint32_t *)p, v, __ATOMIC_RELAXED);
}

void virtq_reset(struct virtq *vq, const struct guest_mem *mem)
{
    memset(vq, 0, sizeof(*vq));
    vq->mem = mem;
}

int virtq_enable(struct virtq *vq)
{
    uint64_t n = vq->size;
    vq->ready = false;
    if (n == 0 || n > VIRTQ_MAX_SIZE || (n & (n - 1)))
        return -EINVAL;
    /* Alignment from the spec's table (2.7): desc 16, avail 2, used 4. */
    if ((vq->desc_addr & 15) || (vq->avail_addr & 1) || (vq->used_addr & 3))
        return -EINVAL;
    vq->desc = mem_ptr(vq->mem, vq->desc_addr, 16 * n);
    vq->avail = mem_ptr(vq->mem, vq->avail_addr, 6 + 2 * n);
    vq->used = mem_ptr(vq->mem, vq->used_addr, 6 + 8 * n);
    if (!vq->desc || !vq->avail || !vq->used)
        return -EINVAL;
    vq->ready = true;
    vq->broken = false;
    return 0;
}

static int broken(struct virtq *vq)
{
    vq->broken = true;
    return -EINVAL;
}

/* Reads descriptor i of a table once: the guest may change it under us, so
 * every check below is made on this private copy. */
static struct virtq_desc read_desc(const uint8_t *table, unsigned i)
{
    struct virtq_desc d;
    memcpy(&d, table + 16 * (size_t)i, sizeof(d));
    return d;
}

/* Adds one buffer to the chain; rejects buffers outside RAM and readable
 * buffers that follow writable ones. */
static int add_segment(struct virtq *vq, struct virtq_chain *c, const struct virtq_desc *d)
{
    unsigned total = c->nout + c->nin;
    if (total >= VIRTQ_MAX_SIZE)
        return -EINVAL;
    void *p = mem_ptr(vq->mem, d->addr, d->len);
    if (!p)
        return -EINVAL;
    bool writable = d->flags & VIRTQ_DESC_F_WRITE;
    if (!writable && c->nin)
        return -EINVAL;
    c->iov[total].iov_base = p;
    c->iov[total].iov_len = d->len;
    if (writable) {
        c->nin++;
        c->in_len += d->len;
    } else {
        c->nout++;
        c->out_len += d->len;
    }
    return 0;
}

/* Follows an indirect table: its entries chain through `next` inside the
 * table, may not be indirect themselves, and number at most the table size. */
static int walk_indirect(struct virtq *vq, struct virtq_chain *c, const struct virtq_desc *ind)
{
    if (!vq->indirect || ind->len == 0 || ind->len % 16 || ind->len / 16 > VIRTQ_MAX_SIZE)
        return -EINVAL;
    unsigned n = ind->len / 16;
    const uint8_t *table = mem_ptr(vq->mem, ind->addr, ind->len);
    if (!table)
        return -EINVAL;
    unsigned i = 0;
    for (unsigned count = 0;; count++) {
        if (count >= n)
            return -EINVAL;              /* a loop inside the table */
        struct virtq_desc d = read_desc(table, i);
        if (d.flags & VIRTQ_DESC_F_INDIRECT)
            return -EINVAL;
        int r = add_segment(vq, c, &d);
        if (r < 0)
            return r;
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return 0;
        if (d.next >= n)
            return -EINVAL;
        i = d.next;
    }
}

int virtq_pop(struct virtq *vq, struct virtq_chain *c)
{
    if (!vq->ready || vq->broken)
        return vq->broken ? -EINVAL : 0;
    uint16_t size = vq->size;
    uint16_t avail_idx = load16(vq->avail + 2);
    if (avail_idx == vq->last_avail) {
        if (!vq->event_idx)
            return 0;
        /* Ask to be notified for the next entry, then look again: the driver
         * may have added one before it could see our avail_event. */
        store16(vq->used + 4 + 8 * (size_t)size, vq->last_avail);
        mem_mark_dirty_ptr(vq->mem, vq->used + 4 + 8 * (size_t)size, 2);
        atomic_thread_fence(memory_order_seq_cst);
        avail_idx = load16(vq->avail + 2);
        if (avail_idx == vq->last_avail)
            return 0;
    }
    /* More entries than the ring holds: the index is garbage. */
    if ((uint16_t)(avail_idx - vq->last_avail) > size)
        return broken(vq);
    /* The ring entry and the descriptors were written before idx. */
    atomic_thread_fence(memory_order_acquire);

    uint16_t head = load16(vq->avail + 4 + 2 * (size_t)(vq->last_avail % size));
    if (head >= size)
        return broken(vq);
    c->head = head;
    c->nout = c->nin = 0;
    c->out_len = c->in_len = 0;

    unsigned i = head;
    for (unsigned count = 0;; count++) {
        if (count >= size)
            return broken(vq);           /* a loop, or a chain longer than the queue */
        struct virtq_desc d = read_desc(vq->desc, i);
        int r;
        if (d.flags & VIRTQ_DESC_F_INDIRECT) {
            if (d.flags & VIRTQ_DESC_F_NEXT)
                return broken(vq);
            r = walk_indirect(vq, c, &d);
            if (r < 0)
                return broken(vq);
            break;
        }
        r = add_segment(vq, c, &d);
        if (r < 0)
            return broken(vq);
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            break;
        if (d.next >= size)
            return broken(vq);
        i = d.next;
    }
    vq->last_avail++;
    return 1;
}

/* The device wrote into a chain: found again from its head (the guest does
 * not touch a chain it handed over; if it does, only its own copy of RAM
 * suffers).  Live migration marks the pages of the first `written` bytes
 * dirty; the CPU engine hears of every device-writable buffer in full (a
 * device may write past what it reports), so that code a DMA replaced is
 * not run stale (mem_dma_written: it costs nothing unless the buffer
 * shares a page with code a CPU keeps decoded). */
static void note_written(struct virtq *vq, uint16_t head, uint32_t written)
{
    bool dirty = __atomic_load_n(&vq->mem->dirty, __ATOMIC_RELAXED) != NULL;
    uint16_t size = vq->size;
    unsigned i = head;
    const uint8_t *table = vq->desc;
    unsigned n = size;
    bool in_indirect = false;
    for (unsigned count = 0; count < 2u * VIRTQ_MAX_SIZE && i < n; count++) {
        struct virtq_desc d = read_desc(table, i);
        if ((d.flags & VIRTQ_DESC_F_INDIRECT) && !in_indirect) {
            if (d.len % 16 || d.len / 16 > VIRTQ_MAX_SIZE || !d.len ||
                !(table = mem_ptr(vq->mem, d.addr, d.len)))
                break;
            n = d.len / 16;
            i = 0;
            in_indirect = true;
            continue;
        }
        if (d.flags & VIRTQ_DESC_F_WRITE) {
            mem_dma_written(vq->mem, d.addr, d.len);
            uint32_t len = d.len < written ? d.len : written;
            void *p = dirty && len ? mem_ptr(vq->mem, d.addr, len) : NULL;
            if (p)
                mem_mark_dirty_ptr(vq->mem, p, len);
            written -= len;
        }
        if (!(d.flags & VIRTQ_DESC_F_NEXT))
            return;
        i = d.next;
    }
    /* A chain we could not walk again: say that all of RAM may have changed. */
    if (vq->mem->dma_written)
        vq->mem->dma_written(vq->mem->dma_opaque, 0, vq->mem->size);
}

void virtq_push_many(struct virtq *vq, const uint16_t *heads, const uint32_t *written,
                     unsigned n)
{
    if (!vq->ready || !n)
        return;
    for (unsigned i = 0; i < n; i++) {
        /* The guest may run code the device just wrote (a disk read into a
         * code page): the CPUs must know before the used index tells it. */
        if (written[i] && heads[i] < vq->size &&
            (vq->mem->dma_written || __atomic_load_n(&vq->mem->dirty, __ATOMIC_RELAXED)))
            note_written(vq, heads[i], written[i]);
        uint8_t *elem = vq->used + 4 + 8 * (size_t)((uint16_t)(vq->used_idx + i) % vq->size);
        store32(elem, heads[i]);
        store32(elem + 4, written[i]);
        mem_mark_dirty_ptr(vq->mem, elem, 8);
    }
    /* The elements must be visible before the index that publishes them,
     * and that index moves once: a driver reading it between two of these
     * would take a part of the set for the whole. */
    atomic_thread_fence(memory_order_release);
    vq->used_idx = (uint16_t)(vq->used_idx + n);
    store16(vq->used + 2, vq->used_idx);
    mem_mark_dirty_ptr(vq->mem, vq->used, 4);
    vq->pushed = true;
}

void virtq_push(struct virtq *vq, uint16_t head, uint32_t written)
{
    virtq_push_many(vq, &head, &written, 1);
}

bool virtq_should_signal(struct virtq *vq)
{
    if (!vq->ready || !vq->pushed)
        return false;
    vq->pushed = false;
    /* Our used->idx store must be visible before we read the driver's
     * suppression state (store-load ordering needs a full fence). */
    atomic_thread_fence(memory_order_seq_cst);
    if (!vq->event_idx)
        return !(load16(vq->avail) & VIRTQ_AVAIL_F_NO_INTERRUPT);
    uint16_t event = load16(vq->avail + 4 + 2 * (size_t)vq->size);
    uint16_t new_idx = vq->used_idx, old = vq->signalled_used;
    bool valid = vq->signalled_valid;
    vq->signalled_used = new_idx;
    vq->signalled_valid = true;
    if (!valid)
        return true;
    /* Signal when event lies in [old, new): the spec's vring_need_event. */
    return (uint16_t)(new_idx - event - 1) < (uint16_t)(new_idx - old);
}

unsigned virtq_iov_slice(const struct iovec *src, unsigned n, size_t skip, size_t len,
                   struct iovec *dst, unsigned max)
{
    unsigned out = 0;
    for (unsigned i = 0; i < n && len && out < max; i++) {
        if (skip >= src[i].iov_len) {
            skip -= src[i].iov_len;
            continue;
        }
        size_t take = src[i].iov_len - skip;
        if (take > len)
            take = len;
        dst[out].iov_base = (uint8_t *)src[i].iov_base + skip;
        dst[out].iov_len = take;
        out++;
        len -= take;
        skip = 0;
    }
    return out;
}
