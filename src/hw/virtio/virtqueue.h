/* The split virtqueue (virtio 1.x, section 2.7) as the device sees it: the
 * guest's descriptor table, available ring and used ring, parsed with
 * suspicion.  Every address goes through mem_ptr; a malformed queue is
 * reported as broken, never followed outside guest RAM. */
#ifndef HOSTEL_VIRTQUEUE_H
#define HOSTEL_VIRTQUEUE_H

#include "lib/iov.h"
#include <stdbool.h>
#include <stdint.h>
#include <sys/uio.h>

#include "machine/mem.h"

#define VIRTQ_MAX_SIZE 1024          /* largest queue we offer; bounds every chain */

#define VIRTQ_DESC_F_NEXT      1
#define VIRTQ_DESC_F_WRITE     2
#define VIRTQ_DESC_F_INDIRECT  4
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTQ_USED_F_NO_NOTIFY     1

struct virtq_desc {
    uint64_t addr;
    uint32_t len;
    uint16_t flags;
    uint16_t next;
};

struct virtq {
    const struct guest_mem *mem;
    uint16_t size;               /* entries, a power of two; 0 until set up */
    uint64_t desc_addr, avail_addr, used_addr;
    bool ready;                  /* enabled by the driver and validated */
    bool broken;                 /* the guest broke the queue: no more processing */
    bool event_idx;              /* VIRTIO_F_RING_EVENT_IDX negotiated */
    bool indirect;               /* VIRTIO_F_RING_INDIRECT_DESC negotiated */
    uint16_t last_avail;         /* next available entry to take */
    uint16_t used_idx;           /* our copy of used->idx */
    uint16_t signalled_used;     /* used_idx at the last interrupt (event index) */
    bool signalled_valid;
    bool pushed;                 /* used entries added since virtq_should_signal */
    /* Host views of the rings, resolved once the queue is enabled. */
    uint8_t *desc;               /* size * 16 bytes */
    uint8_t *avail;              /* flags, idx, ring[size], used_event (le16 each) */
    uint8_t *used;               /* flags, idx (le16), ring[size] {le32 id, len}, avail_event */
};

/* One request taken from the queue: device-readable segments first (out),
 * then device-writable ones (in), as the spec requires of drivers. */
struct virtq_chain {
    uint16_t head;
    unsigned nout, nin;
    uint64_t out_len, in_len;    /* total bytes each way */
    struct iovec iov[VIRTQ_MAX_SIZE];  /* [0, nout) readable, [nout, nout + nin) writable */
};

/* Forgets everything (device reset); keeps the memory. */
void virtq_reset(struct virtq *vq, const struct guest_mem *mem);

/* Validates the ring addresses for vq->size and makes the queue ready;
 * -EINVAL when they are misaligned or not wholly in guest RAM. */
int virtq_enable(struct virtq *vq);

/* Takes the next available chain.  Returns 1 with *c filled, 0 when the
 * queue is empty, -EINVAL when the guest broke the queue (bad index, bad
 * descriptor, loop, chain too long, bad indirect table, readable after
 * writable); the queue is then marked broken and stays so until reset. */
int virtq_pop(struct virtq *vq, struct virtq_chain *c);

/* Returns a chain to the driver with the number of bytes written into its
 * device-writable part. */
void virtq_push(struct virtq *vq, uint16_t head, uint32_t written);
/* Returns n chains in order with one update of the used index, so that
 * the driver sees all of them or none: virtio-net's merged receive
 * buffers, whose first header counts the rest (a driver that found fewer
 * would drop the frame). */
void virtq_push_many(struct virtq *vq, const uint16_t *heads, const uint32_t *written,
                     unsigned n);

/* True when the driver wants an interrupt for what was pushed since the
 * last time this said true (interrupt suppression or event index). */
bool virtq_should_signal(struct virtq *vq);

/* Copies between a chain's segments and a flat buffer, starting `skip` bytes
 * in; returns the bytes copied. */
/* Builds in dst the segments covering [skip, skip + len) of src; returns the
 * count (at most max). */
unsigned virtq_iov_slice(const struct iovec *src, unsigned n, size_t skip, size_t len,
                   struct iovec *dst, unsigned max);

#endif
