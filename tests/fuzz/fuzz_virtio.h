/* What the virtio device fuzz targets share: a device on a PCI bus in
 * guest RAM (the unit tests' driver, virtio_test_driver.h, finds it,
 * negotiates and sets up its queues through the real transport), and a
 * decoder that turns the fuzzer's input into requests on a queue the way a
 * guest driver would place them: readable segments filled from the input,
 * writable ones of the sizes it asks, now and then an address straight
 * from the input (outside RAM, at the rings, overlapping).  The device's
 * queue handler then runs on the fuzzer's thread (as the worker would run
 * it, under vd->lock), so every input is handled before the next, and the
 * used ring is checked: no entry for a head never offered, no length above
 * what the chain could take.  Each input starts from a device reset. */
#ifndef HOSTEL_FUZZ_VIRTIO_H
#define HOSTEL_FUZZ_VIRTIO_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hw/virtio/virtio_pci.h"
#include "virtio_test_driver.h"

#define FZ_QUEUE_SIZE 16
#define FZ_RING_BASE  0x10000ULL       /* queue n's rings at FZ_RING_BASE + n * 0x2000 */
#define FZ_DATA_BASE  0x100000ULL      /* segments from here up */
#define FZ_DATA_END   (VT_RAM - 0x10000)

/* Segment record flags (first byte of each record). */
#define FZ_SEG_WRITE  0x01             /* device-writable */
#define FZ_SEG_LAST   0x02             /* ends the chain */
#define FZ_SEG_RAW    0x04             /* the next 8 bytes are its guest address */
#define FZ_SEG_SHARE  0x08             /* same address as the segment before (overlap) */
#define FZ_SEG_INDIR  0x10             /* an indirect table: its bytes are the entries */

struct fz_virtio {
    struct vt t;
    struct virtio_dev *vd;
    uint16_t device_id;
    uint64_t features;
    unsigned nqueues;
    uint32_t offered;                  /* bit per head made available */
    bool rings_exposed;                /* a writable segment covers the rings: no checks */
    /* Optional: bytes from the host side (a frame for the guest, console
     * input), handed to the device as its backend would. */
    void (*host_in)(struct fz_virtio *f, const uint8_t *p, size_t n);
};

/* The device is on t's bus already (the target created it): find it, keep
 * its virtio_dev for the synchronous notify. */
static inline void fz_virtio_attach(struct fz_virtio *f, struct virtio_pci *vp, uint16_t pci_id,
                                    uint64_t features, unsigned nqueues)
{
    f->vd = virtio_pci_dev(vp);
    f->device_id = pci_id;
    f->features = features;
    f->nqueues = nqueues;
    if (vt_probe(&f->t, pci_id) != 0)
        abort();
    vt_msix_enable(&f->t, 4);
}

/* Reset, negotiate (the device's offer masked by what the input asks),
 * queues at their places, DRIVER_OK. */
static inline bool fz_virtio_start(struct fz_virtio *f, uint64_t want)
{
    uint64_t offer = vt_device_features(&f->t);
    uint64_t use = offer & (f->features | (1ULL << VIRTIO_F_VERSION_1)) & want;
    use |= 1ULL << VIRTIO_F_VERSION_1;
    f->offered = 0;
    f->rings_exposed = false;
    if (!(vt_negotiate(&f->t, use) & VIRTIO_STATUS_FEATURES_OK))
        return false;
    for (unsigned q = 0; q < f->nqueues; q++)
        if (vt_setup_queue(&f->t, q, FZ_QUEUE_SIZE, FZ_RING_BASE + q * 0x2000ULL, (uint16_t)(q % 4)) != 0)
            return false;
    vt_driver_ok(&f->t);
    return true;
}

/* What the worker does on a notification of queue q, here and now. */
static inline void fz_virtio_notify(struct fz_virtio *f, unsigned q)
{
    struct virtio_dev *vd = f->vd;
    pthread_mutex_lock(&vd->lock);
    if ((vd->status & VIRTIO_STATUS_DRIVER_OK) && !(vd->status & VIRTIO_STATUS_NEEDS_RESET))
        vd->ops->queue_notify(vd, q);
    pthread_mutex_unlock(&vd->lock);
    if (vd->ops->after_notify)
        vd->ops->after_notify(vd);
}

/* The writable bytes of the chain at head as the descriptor table holds it
 * now (the device read it within this run: nothing rewrote it since);
 * UINT64_MAX where the harness does not follow it (an indirect table, a
 * link out of the table, a loop: the device refuses or bounds those). */
static inline uint64_t fz_virtio_chain_in_len(struct tq *tq, uint16_t head)
{
    uint64_t in_len = 0;
    uint16_t i = head;
    for (unsigned n = 0; n < tq->size; n++) {
        const uint8_t *d = mem_ptr(tq->mem, tq->desc + 16u * i, 16);
        uint32_t len;
        uint16_t flags, next;
        memcpy(&len, d + 8, 4);
        memcpy(&flags, d + 12, 2);
        memcpy(&next, d + 14, 2);
        if (flags & VIRTQ_DESC_F_INDIRECT)
            return UINT64_MAX;
        if (flags & VIRTQ_DESC_F_WRITE)
            in_len += len;
        if (!(flags & VIRTQ_DESC_F_NEXT))
            return in_len;
        if (next >= tq->size)
            return UINT64_MAX;
        i = next;
    }
    return UINT64_MAX;
}

/* Every used entry the device added on queue q names a head offered since
 * the reset and a length the chain could take.  A guest may rewrite a
 * descriptor while its head still waits on the ring (the harness reuses
 * them from run to run), so the chain is measured as it is now. */
static inline void fz_virtio_check_used(struct fz_virtio *f, unsigned q)
{
    struct tq *tq = &f->t.q[q];
    uint16_t idx = tq_used_idx(tq);
    /* The device may have written its data over the used ring itself. */
    for (uint16_t i = tq->used_seen; i != idx && !f->rings_exposed; i++) {
        uint8_t *e = mem_ptr(tq->mem, tq->used + 4 + 8u * (i % tq->size), 8);
        uint32_t id, len;
        memcpy(&id, e, 4);
        memcpy(&len, e + 4, 4);
        if (id >= FZ_QUEUE_SIZE || !(f->offered >> id & 1) ||
            len > fz_virtio_chain_in_len(tq, (uint16_t)id))
            abort();
    }
    tq->used_seen = idx;
}

/* Decodes requests for queue q from *data (consuming it) and makes them
 * available; returns how many.  Record: [flags][len lo][len hi], then 8
 * address bytes with FZ_SEG_RAW, then for a readable segment its bytes. */
static inline unsigned fz_virtio_requests(struct fz_virtio *f, unsigned q, const uint8_t **data,
                                          size_t *size)
{
    struct tq *tq = &f->t.q[q];
    struct guest_mem *mem = &f->t.dh.mem;
    const uint8_t *p = *data;
    size_t left = *size;
    uint64_t at = FZ_DATA_BASE, prev = FZ_DATA_BASE;
    unsigned nd = 0, nreq = 0;
    while (left >= 3 && nd < FZ_QUEUE_SIZE) {
        uint16_t head = (uint16_t)nd;
        for (;;) {
            uint8_t fl = p[0];
            uint32_t len = (uint32_t)p[1] | (uint32_t)p[2] << 8;
            p += 3;
            left -= 3;
            uint64_t addr;
            if ((fl & FZ_SEG_RAW) && left >= 8) {
                memcpy(&addr, p, 8);
                p += 8;
                left -= 8;
            } else if (fl & FZ_SEG_SHARE) {
                addr = prev;
            } else {
                if (at + len > FZ_DATA_END)
                    at = FZ_DATA_BASE;
                addr = at;
                at = (at + len + 15) & ~15ULL;
            }
            if (!(fl & FZ_SEG_WRITE)) {
                /* Contents only in the data area: a raw address may be the
                 * rings, and the checks rely on the descriptors we wrote. */
                size_t n = len < left ? len : left;
                if (!(fl & FZ_SEG_RAW) && addr + n <= FZ_DATA_END)
                    mem_write(mem, addr, p, n);
                p += n;
                left -= n;
            } else {
                uint64_t rings_end = FZ_RING_BASE + f->nqueues * 0x2000ULL;
                if (addr < rings_end && addr + len > FZ_RING_BASE)
                    f->rings_exposed = true;
            }
            /* An indirect table's entries may point anywhere, the rings too. */
            if (fl & FZ_SEG_INDIR)
                f->rings_exposed = true;
            prev = addr;
            bool last = (fl & FZ_SEG_LAST) || left < 3 || nd + 1 == FZ_QUEUE_SIZE;
            tq_desc(tq, nd, addr, len, (uint16_t)((last ? 0 : VIRTQ_DESC_F_NEXT) |
                                                 ((fl & FZ_SEG_WRITE) ? VIRTQ_DESC_F_WRITE : 0) |
                                                 ((fl & FZ_SEG_INDIR) ? VIRTQ_DESC_F_INDIRECT : 0)),
                    (uint16_t)(nd + 1));
            nd++;
            if (last)
                break;
        }
        f->offered |= 1u << head;
        tq_submit(tq, head);
        nreq++;
    }
    *data = p;
    *size = left;
    return nreq;
}

/* One input: byte 0 picks the features (bit i keeps the device's feature
 * i of those the target lists), then runs of [queue byte][requests...] up
 * to a 0xff separator; each run is made available and notified.  A queue
 * byte with bit 7 set (on a device with host_in) makes the run host input
 * instead, delivered into the buffers the guest offered before. */
static inline void fz_virtio_input(struct fz_virtio *f, const uint8_t *data, size_t size)
{
    if (size < 2)
        return;
    uint64_t want = 0;
    for (unsigned i = 0, b = 0; i < 64 && b < 8; i++)
        if (f->features >> i & 1) {
            if (data[0] >> b & 1)
                want |= 1ULL << i;
            b++;
        }
    if (!fz_virtio_start(f, want))
        return;
    data++;
    size--;
    for (int round = 0; round < 8 && size >= 4; round++) {
        bool host = (data[0] & 0x80) && f->host_in;
        unsigned q = data[0] % f->nqueues;
        data++;
        size--;
        const uint8_t *sep = memchr(data, 0xff, size);
        size_t part = sep ? (size_t)(sep - data) : size;
        const uint8_t *p = data;
        size_t left = part;
        struct tq *tq = &f->t.q[q];
        tq->used_seen = tq_used_idx(tq);
        if (host) {
            f->host_in(f, p, left);
            for (unsigned i = 0; i < f->nqueues; i++)
                fz_virtio_check_used(f, i);
        } else {
            if (fz_virtio_requests(f, q, &p, &left))
                fz_virtio_notify(f, q);
            fz_virtio_check_used(f, q);
        }
        data += part + (sep ? 1 : 0);
        size -= part + (sep ? 1 : 0);
    }
}

#endif
