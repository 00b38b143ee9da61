/* virtio-net (device type 1): queue 0 receives (frames for the guest, from
 * the backend's thread), queue 1 transmits (the guest's frames, on the
 * transport's worker thread, handed to the backend without blocking).
 * Every buffer carries the 12-byte virtio_net_hdr first.  We offer no
 * transmit offloads, so the guest sends plain frames; towards the guest, a
 * backend whose frames are made in this process (user mode) gets the link
 * a large MTU (F_MTU) and marks its frames' checksums as checked
 * (GUEST_CSUM, DATA_VALID): both cut the guest's work per byte. */
#include "hw/virtio/net.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hw/virtio/virtio_pci.h"
#include "lib/err.h"
#include "lib/log.h"
#include "lib/ratelimit.h"
#include "lib/state.h"
#include "machine/timer.h"
#include "net/net.h"
#include "net/trace.h"

#define RX_QUEUE 0
#define TX_QUEUE 1
#define CONFIG_SIZE 12            /* mac[6], status, max_virtqueue_pairs, mtu */
#define PENDING_FRAMES 256        /* frames waiting for receive buffers */
#define MAX_MERGE 64              /* receive buffers one frame may span */
#define HDR_F_NEEDS_CSUM 1
#define HDR_F_DATA_VALID 2
#define HDR_GSO_NONE 0

struct pending_frame {
    uint8_t *data;
    size_t len;
};

struct virtio_net {
    struct virtio_pci *vp;
    struct virtio_dev *vd;
    struct net_backend *nb;
    uint8_t mac[6];
    uint16_t mtu;                             /* the backend's, unless 1500 (0: none) */
    bool csum_valid;                          /* the backend's frames: checksums correct */
    /* Under vd->lock: */
    struct pending_frame pending[PENDING_FRAMES];
    unsigned pend_head, pend_count;
    bool rx_paused;                           /* virtio_net_pause: frames dropped */
    struct virtq_chain *rx_first, *rx_more;   /* receive scratch (backend thread) */
    _Atomic uint64_t dropped;
    /* Rate limits each way (under vd->lock): frames for the guest over the
     * limit wait with the pending ones; the guest's frames wait in the
     * transmit ring. */
    struct rate_limiter rx_limit, tx_limit;
    uint8_t txbuf[NET_MAX_FRAME];             /* the worker's */
};

static uint64_t net_features(struct virtio_dev *vd)
{
    struct virtio_net *n = vd->opaque;
    uint64_t f = (1ULL << VIRTIO_NET_F_MAC) | (1ULL << VIRTIO_NET_F_STATUS) |
                 (1ULL << VIRTIO_NET_F_MRG_RXBUF);
    if (n->mtu)
        f |= 1ULL << VIRTIO_NET_F_MTU;   /* not Ethernet's: the guest sets its MTU to it */
    if (n->csum_valid)
        f |= 1ULL << VIRTIO_NET_F_GUEST_CSUM;   /* for DATA_VALID (deliver) */
    return f;
}

static void net_config_read(struct virtio_dev *vd, unsigned off, void *buf, unsigned len)
{
    struct virtio_net *n = vd->opaque;
    uint8_t cfg[CONFIG_SIZE];
    memcpy(cfg, n->mac, 6);
    cfg[6] = VIRTIO_NET_S_LINK_UP;
    cfg[7] = 0;
    cfg[8] = 1;                  /* one queue pair (read only with F_MQ) */
    cfg[9] = 0;
    cfg[10] = (uint8_t)(n->mtu ? n->mtu : 1500);   /* read only with F_MTU */
    cfg[11] = (uint8_t)((n->mtu ? n->mtu : 1500) >> 8);
    memcpy(buf, cfg + off, len);
}

static bool rx_live(struct virtio_dev *vd)
{
    return (vd->status & VIRTIO_STATUS_DRIVER_OK) &&
           !(vd->status & VIRTIO_STATUS_NEEDS_RESET) && vd->vq[RX_QUEUE].ready &&
           !vd->vq[RX_QUEUE].broken;
}

/* Copies bytes [off, off + len) of the stream header || frame into segments. */
static void copy_stream(const struct iovec *iov, unsigned n, const uint8_t *hdr,
                        const uint8_t *frame, size_t off, size_t len)
{
    size_t at = 0;
    if (off < VIRTIO_NET_HDR_LEN) {
        size_t h = VIRTIO_NET_HDR_LEN - off;
        if (h > len)
            h = len;
        at = iov_from_buf(iov, n, 0, hdr + off, h);
        off += h;
        len -= h;
    }
    if (len)
        iov_from_buf(iov, n, at, frame + (off - VIRTIO_NET_HDR_LEN), len);
}

/* Puts one frame in the guest's receive buffers (vd->lock held).  Returns 1
 * when delivered, 0 when there are not enough buffers yet (nothing taken),
 * -1 when it can never be delivered (dropped). */
static int deliver(struct virtio_net *n, const uint8_t *frame, size_t len)
{
    struct virtio_dev *vd = n->vd;
    struct virtq *vq = &vd->vq[RX_QUEUE];
    bool mrg = virtio_has_feature(vd, VIRTIO_NET_F_MRG_RXBUF);
    size_t total = VIRTIO_NET_HDR_LEN + len, done = 0;
    uint16_t heads[MAX_MERGE];
    uint32_t lens[MAX_MERGE];
    unsigned nbufs = 0;
    uint8_t hdr[VIRTIO_NET_HDR_LEN] = {0};
    /* Checksums our own backend made need no second look by the guest:
     * that pass over every byte is a large part of its cost per byte. */
    if (n->csum_valid && virtio_has_feature(vd, VIRTIO_NET_F_GUEST_CSUM))
        hdr[0] = HDR_F_DATA_VALID;

    while (done < total) {
        if (nbufs == MAX_MERGE)
            goto give_back_drop;
        struct virtq_chain *c = nbufs ? n->rx_more : n->rx_first;
        int r = virtio_pop(vd, RX_QUEUE, c);
        if (r < 0 || vq->broken)
            return -1;               /* the queue is broken: it needs a reset */
        if (r == 0)
            goto give_back_wait;
        /* A buffer that cannot hold the header (or anything at all) is
         * useless: return it empty, which drivers count as an rx error. */
        if (c->in_len < (nbufs ? 1 : VIRTIO_NET_HDR_LEN)) {
            virtq_push(vq, c->head, 0);
            if (!nbufs)
                continue;
            /* In the middle of a frame: it is lost, and so are the buffers
             * it had taken (they can no longer go back in order). */
            for (unsigned i = 0; i < nbufs; i++)
                virtq_push(vq, heads[i], 0);
            virtio_queue_done(vd, RX_QUEUE);
            return -1;
        }
        if (!mrg && c->in_len < total) {
            /* Without merging, every buffer must hold a whole frame. */
            vq->last_avail--;
            goto give_back_drop;
        }
        size_t take = c->in_len < total - done ? c->in_len : total - done;
        copy_stream(c->iov + c->nout, c->nin, hdr, frame, done, take);
        heads[nbufs] = c->head;
        lens[nbufs] = (uint32_t)take;
        nbufs++;
        done += take;
    }
    /* num_buffers, now that it is known (1 without merging). */
    hdr[10] = (uint8_t)nbufs;
    hdr[11] = (uint8_t)(nbufs >> 8);
    iov_from_buf(n->rx_first->iov + n->rx_first->nout, n->rx_first->nin, 0, hdr,
                 VIRTIO_NET_HDR_LEN);
    /* All at once: a driver polling the used ring while we push (NAPI on
     * another vCPU, or the one that is still busy with the last frames)
     * must not see the first buffer, whose header counts the others,
     * before the others are there: Linux drops such a frame as "buffers
     * missing", and the TCP sender behind it (libslirp) may wait a whole
     * retransmission timeout, a second or more, to send it again. */
    virtq_push_many(vq, heads, lens, nbufs);
    virtio_queue_done(vd, RX_QUEUE);
    return 1;

    /* The chains we took go back on the available ring, untouched as far as
     * the guest can tell: they were popped in order and only last_avail
     * moved (the data we copied is overwritten by the next frame). */
give_back_wait:
    vq->last_avail -= nbufs;
    virtio_queue_done(vd, RX_QUEUE);
    return 0;
give_back_drop:
    vq->last_avail -= nbufs;
    virtio_queue_done(vd, RX_QUEUE);
    return -1;
}

static void pending_drop_all(struct virtio_net *n)
{
    while (n->pend_count) {
        free(n->pending[n->pend_head].data);
        n->pend_head = (n->pend_head + 1) % PENDING_FRAMES;
        n->pend_count--;
    }
}

/* The receive limit says wait: the worker flushes again when it allows. */
static bool rx_must_wait(struct virtio_net *n)
{
    if (!rate_limiter_active(&n->rx_limit))
        return false;
    uint64_t wait = rate_limiter_wait_ns(&n->rx_limit, timer_now_ns());
    if (wait)
        virtio_queue_retry(n->vd, RX_QUEUE, wait);
    return wait != 0;
}

/* Delivers waiting frames in order while buffers (and the receive limit)
 * last (vd->lock held). */
static void flush_pending(struct virtio_net *n)
{
    while (n->pend_count) {
        if (!rx_live(n->vd)) {
            n->dropped += n->pend_count;
            pending_drop_all(n);
            return;
        }
        if (rx_must_wait(n))
            return;
        struct pending_frame *p = &n->pending[n->pend_head];
        int r = deliver(n, p->data, p->len);
        if (r == 0)
            return;
        if (r < 0)
            n->dropped++;
        else
            rate_limiter_charge(&n->rx_limit, p->len);
        free(p->data);
        n->pend_head = (n->pend_head + 1) % PENDING_FRAMES;
        n->pend_count--;
    }
}

/* The backend's thread: a frame for the guest. */
static void net_receive(void *opaque, const uint8_t *frame, size_t len)
{
    struct virtio_net *n = opaque;
    struct virtio_dev *vd = n->vd;
    if (len < NET_MIN_FRAME || len > NET_MAX_FRAME)
        return;
    pthread_mutex_lock(&vd->lock);
    struct net_trace *trace = n->nb ? n->nb->trace : NULL;
    if (!rx_live(vd) || n->rx_paused) {
        n->dropped++;                /* no driver yet, or paused: the wire is dead */
        net_trace_note(trace, "nic: dropped (no driver, or paused)");
    } else {
        flush_pending(n);
        int r = n->pend_count || rx_must_wait(n) ? 0 : deliver(n, frame, len);
        if (r < 0) {
            n->dropped++;
            net_trace_note(trace, "nic: dropped (the receive buffers cannot take it)");
        } else if (r > 0) {
            rate_limiter_charge(&n->rx_limit, len);
        } else {
            uint8_t *copy = n->pend_count < PENDING_FRAMES ? malloc(len) : NULL;
            if (!copy) {
                n->dropped++;        /* the guest is not keeping up: like a full NIC ring */
                net_trace_note(trace, "nic: dropped (too many frames wait for buffers)");
            } else {
                memcpy(copy, frame, len);
                unsigned i = (n->pend_head + n->pend_count) % PENDING_FRAMES;
                n->pending[i].data = copy;
                n->pending[i].len = len;
                n->pend_count++;
                net_trace_note(trace, "nic: the frame waits for receive buffers");
            }
        }
    }
    pthread_mutex_unlock(&vd->lock);
}

/* The guest's frames: each chain is header then frame, device-readable. */
static void transmit(struct virtio_net *n)
{
    struct virtio_dev *vd = n->vd;
    struct virtq_chain *c = vd->chain;
    for (;;) {
        if (rate_limiter_active(&n->tx_limit)) {
            uint64_t wait = rate_limiter_wait_ns(&n->tx_limit, timer_now_ns());
            if (wait) {
                virtio_queue_retry(vd, TX_QUEUE, wait);   /* the rest stay in the ring */
                break;
            }
        }
        if (virtio_pop(vd, TX_QUEUE, c) <= 0)
            break;
        rate_limiter_charge(&n->tx_limit,
                            c->out_len > VIRTIO_NET_HDR_LEN ? c->out_len - VIRTIO_NET_HDR_LEN : 0);
        uint8_t hdr[VIRTIO_NET_HDR_LEN];
        uint64_t len = c->out_len >= VIRTIO_NET_HDR_LEN ? c->out_len - VIRTIO_NET_HDR_LEN : 0;
        bool ok = c->out_len >= VIRTIO_NET_HDR_LEN && len >= NET_MIN_FRAME &&
                  len <= NET_MAX_FRAME;
        if (ok) {
            iov_to_buf(c->iov, c->nout, 0, hdr, sizeof(hdr));
            /* We offered no offloads: a header asking for one is malformed. */
            ok = !(hdr[0] & HDR_F_NEEDS_CSUM) && hdr[1] == HDR_GSO_NONE;
        }
        if (ok) {
            iov_to_buf(c->iov, c->nout, VIRTIO_NET_HDR_LEN, n->txbuf, (size_t)len);
            if (n->nb)
                net_send(n->nb, n->txbuf, (size_t)len);
        } else {
            n->dropped++;
        }
        virtq_push(&vd->vq[TX_QUEUE], c->head, 0);
    }
    virtio_queue_done(vd, TX_QUEUE);
}

static void net_notify(struct virtio_dev *vd, unsigned q)
{
    struct virtio_net *n = vd->opaque;
    if (q == RX_QUEUE)
        flush_pending(n);            /* new buffers: frames that waited can go */
    else if (q == TX_QUEUE)
        transmit(n);
}

static void net_reset(struct virtio_dev *vd)
{
    struct virtio_net *n = vd->opaque;
    pending_drop_all(n);
}

static const struct virtio_device_ops net_ops = {
    .name = "virtio-net",
    .device_id = VIRTIO_ID_NET,
    .pci_class = 0x020000,        /* network controller, Ethernet */
    .num_queues = 2,
    .queue_max = 256,
    .config_size = CONFIG_SIZE,
    .features = net_features,
    /* Offered since the larger user-mode link: an older state loads. */
    .newer_features = (1ULL << VIRTIO_NET_F_MTU) | (1ULL << VIRTIO_NET_F_GUEST_CSUM),
    .config_read = net_config_read,
    .queue_notify = net_notify,
    .reset = net_reset,
};

int virtio_net_create(struct guest_mem *mem, struct pci_bus *bus, const struct net_options *o,
                      const uint8_t mac[6], struct virtio_net **out, struct err *e)
{
    struct virtio_net *n = calloc(1, sizeof(*n));
    *out = NULL;
    if (!n)
        return err_set(e, -ENOMEM, "virtio-net: out of memory");
    memcpy(n->mac, mac, 6);
    /* The features are fixed when the PCI device is made: the backend's
     * link MTU is known from the options alone.  A frame of it (header and
     * VLAN tag too) fits what the device moves either way. */
    unsigned mtu = net_link_mtu(o);
    if (mtu != 1500 && mtu + 18 <= NET_MAX_FRAME)
        n->mtu = (uint16_t)mtu;
    n->csum_valid = net_link_checksummed(o);
    n->rx_first = malloc(sizeof(*n->rx_first));
    n->rx_more = malloc(sizeof(*n->rx_more));
    int r;
    if (!n->rx_first || !n->rx_more) {
        r = err_set(e, -ENOMEM, "virtio-net: out of memory");
        goto fail;
    }
    r = virtio_pci_create(mem, bus, &net_ops, n, &n->vp);
    if (r < 0) {
        err_set(e, r, "virtio-net: cannot create its PCI device: %s", strerror(-r));
        goto fail;
    }
    n->vd = virtio_pci_dev(n->vp);
    struct net_options with_mac = *o;   /* the backend may announce the NIC's address */
    memcpy(with_mac.mac, mac, 6);
    with_mac.mac_set = true;
    r = net_backend_open(&with_mac, net_receive, n, &n->nb, e);
    if (r < 0)
        goto fail;
    *out = n;
    return 0;
fail:
    virtio_net_destroy(n);
    return r;
}

void virtio_net_set_limits(struct virtio_net *n, const struct rate_limits *lim)
{
    pthread_mutex_lock(&n->vd->lock);
    rate_limiter_init(&n->rx_limit, lim, timer_now_ns());
    rate_limiter_init(&n->tx_limit, lim, timer_now_ns());
    pthread_mutex_unlock(&n->vd->lock);
}

int virtio_net_slot(const struct virtio_net *n)
{
    return virtio_pci_slot(n->vp);
}

void virtio_net_destroy(struct virtio_net *n)
{
    if (!n)
        return;
    /* The backend first: its thread calls into us until it is joined.  The
     * worker reads n->nb under vd->lock, so it is taken away under it (and
     * closed outside it, since the backend's thread takes that lock too). */
    struct net_backend *nb = n->nb;
    if (n->vd) {
        pthread_mutex_lock(&n->vd->lock);
        n->nb = NULL;
        pthread_mutex_unlock(&n->vd->lock);
    }
    n->nb = NULL;
    net_backend_close(nb);
    if (n->vp)
        virtio_pci_destroy(n->vp);
    pending_drop_all(n);
    free(n->rx_first);
    free(n->rx_more);
    free(n);
}

struct net_backend *virtio_net_backend(struct virtio_net *n)
{
    return n->nb;
}

struct net_backend *virtio_net_take_backend(struct virtio_net *n)
{
    pthread_mutex_lock(&n->vd->lock);
    struct net_backend *nb = n->nb;
    n->nb = NULL;
    pthread_mutex_unlock(&n->vd->lock);
    return nb;
}

uint64_t virtio_net_dropped(struct virtio_net *n)
{
    return n->dropped;
}

/* ---- snapshots and pausing ------------------------------------------------ */

int virtio_net_save(struct virtio_net *n, struct state_out *o)
{
    int r = virtio_pci_save(n->vp, o);
    pthread_mutex_lock(&n->vd->lock);
    st_put_u16(o, (uint16_t)n->pend_count);
    for (unsigned i = 0; i < n->pend_count; i++) {
        const struct pending_frame *p = &n->pending[(n->pend_head + i) % PENDING_FRAMES];
        st_put_u32(o, (uint32_t)p->len);
        st_put_bytes(o, p->data, p->len);
    }
    pthread_mutex_unlock(&n->vd->lock);
    return r < 0 || !state_out_ok(o) ? -ENOMEM : 0;
}

struct loaded_frames {
    struct pending_frame f[PENDING_FRAMES];
    unsigned count;
};

static void loaded_frames_free(struct loaded_frames *lf)
{
    for (unsigned i = 0; i < lf->count; i++)
        free(lf->f[i].data);
    lf->count = 0;
}

/* Under vd->lock, from virtio_pci_load_commit: the frames replace any. */
static void install_frames(struct virtio_dev *vd, void *arg)
{
    struct virtio_net *n = vd->opaque;
    struct loaded_frames *lf = arg;
    pending_drop_all(n);
    memcpy(n->pending, lf->f, lf->count * sizeof(lf->f[0]));
    n->pend_head = 0;
    n->pend_count = lf->count;
    lf->count = 0;
}

int virtio_net_load(struct virtio_net *n, struct state_in *in, struct err *e)
{
    struct virtio_pci_loaded *l;
    char name[64];
    int r = virtio_pci_load_check(n->vp, in, e, &l);
    if (r < 0)
        return r;
    virtio_pci_name(n->vp, name, sizeof(name));
    struct loaded_frames *lf = calloc(1, sizeof(*lf));
    if (!lf) {
        r = err_set(e, -ENOMEM, "%s: out of memory loading its state", name);
        goto fail;
    }
    unsigned count = st_get_u16(in);
    r = -EINVAL;
    if (in->bad) {
        err_set(e, r, "%s: the saved state is cut short", name);
        goto fail;
    }
    if (count > PENDING_FRAMES) {
        err_set(e, r, "%s: %u frames wait for receive buffers, more than the %u it keeps",
                name, count, PENDING_FRAMES);
        goto fail;
    }
    for (unsigned i = 0; i < count; i++) {
        uint32_t len = st_get_u32(in);
        if (in->bad) {
            err_set(e, r, "%s: the saved state is cut short in waiting frame %u", name, i);
            goto fail;
        }
        if (len < NET_MIN_FRAME || len > NET_MAX_FRAME) {
            err_set(e, r, "%s: waiting frame %u has %u bytes; a frame has %u to %u", name, i,
                    len, NET_MIN_FRAME, NET_MAX_FRAME);
            goto fail;
        }
        if (len > in->len - in->off) {
            err_set(e, r, "%s: the saved state is cut short in waiting frame %u", name, i);
            goto fail;
        }
        uint8_t *data = malloc(len);
        if (!data) {
            r = err_set(e, -ENOMEM, "%s: out of memory loading its state", name);
            goto fail;
        }
        st_get_bytes(in, data, len);
        lf->f[lf->count].data = data;
        lf->f[lf->count].len = len;
        lf->count++;
    }
    virtio_pci_load_commit(n->vp, l, install_frames, lf);
    free(lf);
    return 0;
fail:
    if (lf) {
        loaded_frames_free(lf);
        free(lf);
    }
    virtio_pci_load_abandon(l);
    return r;
}

void virtio_net_pause(struct virtio_net *n)
{
    pthread_mutex_lock(&n->vd->lock);
    n->rx_paused = true;
    pthread_mutex_unlock(&n->vd->lock);
    virtio_pci_pause(n->vp);
}

void virtio_net_resume(struct virtio_net *n)
{
    virtio_pci_resume(n->vp);
    pthread_mutex_lock(&n->vd->lock);
    n->rx_paused = false;
    pthread_mutex_unlock(&n->vd->lock);
}
