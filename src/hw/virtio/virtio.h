/* What a virtio device model is: a small table of callbacks plus the state
 * every device shares (features, queues), kvmtool-style.  A device never
 * knows its transport; virtio_pci.c is the one we have. */
#ifndef HOSTEL_VIRTIO_H
#define HOSTEL_VIRTIO_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "hw/virtio/virtqueue.h"
#include "lib/log.h"

/* Device status bits (spec 2.1). */
#define VIRTIO_STATUS_ACKNOWLEDGE   1
#define VIRTIO_STATUS_DRIVER        2
#define VIRTIO_STATUS_DRIVER_OK     4
#define VIRTIO_STATUS_FEATURES_OK   8
#define VIRTIO_STATUS_NEEDS_RESET   64
#define VIRTIO_STATUS_FAILED        128

/* Transport-level feature bits (spec 6). */
#define VIRTIO_F_RING_INDIRECT_DESC 28
#define VIRTIO_F_RING_EVENT_IDX     29
#define VIRTIO_F_VERSION_1          32

#define VIRTIO_ID_BLOCK    2
#define VIRTIO_ID_CONSOLE  3
#define VIRTIO_ID_RNG      4

#define VIRTIO_MAX_QUEUES  8

struct virtio_dev;

struct virtio_device_ops {
    const char *name;             /* for messages: "virtio-blk" */
    uint16_t device_id;           /* VIRTIO_ID_* */
    uint32_t pci_class;           /* 0xCCSSPP */
    unsigned num_queues;
    uint16_t queue_max;           /* the size we offer, a power of two */
    size_t config_size;
    /* Device-specific feature bits (the transport adds its own). */
    uint64_t (*features)(struct virtio_dev *vd);
    /* Feature bits a later build began to offer: a saved state whose offer
     * lacks only these loads, and the device keeps offering what it did
     * then (the guest negotiated against that), instead of being refused. */
    uint64_t newer_features;
    /* The device config space; len bytes at off, both inside config_size. */
    void (*config_read)(struct virtio_dev *vd, unsigned off, void *buf, unsigned len);
    void (*config_write)(struct virtio_dev *vd, unsigned off, const void *buf, unsigned len);
    /* The driver made buffers available on queue q (called on the device's
     * worker thread with vd->lock held).  Use virtio_queue_done() after
     * pushing used entries. */
    void (*queue_notify)(struct virtio_dev *vd, unsigned q);
    /* Optional: after a round of notifications, without vd->lock (for work
     * that takes other subsystems' locks, such as chardev_input_ready). */
    void (*after_notify)(struct virtio_dev *vd);
    /* Optional: the driver reset the device (vd->lock held). */
    void (*reset)(struct virtio_dev *vd);
    /* Its requests open, make and remove files by name (virtio-fs): its
     * worker keeps the process's seccomp list, not the device workers'
     * narrower one (docs/security.md). */
    bool worker_names_files;
};

/* Hooks the transport fills in. */
struct virtio_transport_ops {
    void (*signal_queue)(struct virtio_dev *vd, unsigned q);
    void (*signal_config)(struct virtio_dev *vd);
    /* Notify queue q again in ns nanoseconds (a rate limit's wait). */
    void (*retry_after)(struct virtio_dev *vd, unsigned q, uint64_t ns);
};

struct virtio_dev {
    const struct virtio_device_ops *ops;
    void *opaque;                 /* the device model */
    const struct virtio_transport_ops *transport;
    void *transport_data;
    struct guest_mem *mem;        /* guest RAM, for the queues' DMA */
    pthread_mutex_t lock;         /* registers, queues, device state */
    uint64_t host_features, guest_features;
    uint8_t status;
    uint8_t config_generation;
    struct virtq vq[VIRTIO_MAX_QUEUES];
    struct virtq_chain *chain;    /* scratch for the worker (large) */
    /* A pause is waiting for the worker: device loops take no further
     * request (virtio_pop says the queue is empty), so the pause waits for
     * one request, not a whole queue; the transport notifies the queue
     * again on resume. */
    _Atomic bool quiescing;
    unsigned breakages;           /* times the guest broke it (for the log's bound) */
};

static inline bool virtio_has_feature(const struct virtio_dev *vd, unsigned bit)
{
    return (vd->guest_features >> bit) & 1;
}

/* After pushing used entries on queue q: interrupts the driver if it asked. */
static inline void virtio_queue_done(struct virtio_dev *vd, unsigned q)
{
    if (virtq_should_signal(&vd->vq[q]))
        vd->transport->signal_queue(vd, q);
}

/* The device leaves queue q's requests in the ring for now (its rate limit
 * says wait): the worker notifies it again in ns nanoseconds, or at once on
 * the driver's next notification. */
static inline void virtio_queue_retry(struct virtio_dev *vd, unsigned q, uint64_t ns)
{
    vd->transport->retry_after(vd, q, ns);
}

/* A queue the guest broke: the device needs a reset (spec 2.1.2); tells the
 * driver through a config change interrupt.  vd->lock held. */
static inline void virtio_set_needs_reset(struct virtio_dev *vd)
{
    if (vd->status & VIRTIO_STATUS_NEEDS_RESET)
        return;
    vd->status |= VIRTIO_STATUS_NEEDS_RESET;
    if (vd->status & VIRTIO_STATUS_DRIVER_OK)
        vd->transport->signal_config(vd);
}

/* The log names a device the guest broke this many times, then says it
 * stops: a guest that breaks and resets its device in a loop must not fill
 * the host's disk with vmm.log. */
#define VIRTIO_BREAKAGES_LOGGED 10

/* Counts a breakage; true when the log should say so (vd->lock held). */
static inline bool virtio_log_breakage(struct virtio_dev *vd)
{
    unsigned n = ++vd->breakages;
    if (n == VIRTIO_BREAKAGES_LOGGED + 1)
        log_warn("%s: the guest broke the device %u times; further breakages are not logged",
                 vd->ops->name, n);
    return n <= VIRTIO_BREAKAGES_LOGGED;
}

/* Pops the next chain of queue q; on a broken queue sets NEEDS_RESET and
 * returns 0, so device loops just stop (as they do while quiescing).  The
 * first time, the log says which device the guest broke (up to
 * VIRTIO_BREAKAGES_LOGGED breakages). */
static inline int virtio_pop(struct virtio_dev *vd, unsigned q, struct virtq_chain *c)
{
    if (atomic_load_explicit(&vd->quiescing, memory_order_relaxed))
        return 0;
    int r = virtq_pop(&vd->vq[q], c);
    if (r < 0) {
        if (!(vd->status & VIRTIO_STATUS_NEEDS_RESET) && virtio_log_breakage(vd))
            log_warn("%s: queue %u: the guest gave a malformed descriptor chain (a loop, longer "
                     "than the queue, or a buffer outside its RAM); the device is marked "
                     "broken (NEEDS_RESET) until the guest resets it", vd->ops->name, q);
        virtio_set_needs_reset(vd);
        return 0;
    }
    return r;
}

#endif
