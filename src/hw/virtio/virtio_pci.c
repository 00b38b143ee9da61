/* The virtio-pci modern transport: PCI identity and capabilities, the common
 * configuration registers, ISR, device config, notify, MSI-X (table and PBA
 * in BAR 4) with INTx as the fallback, and the worker thread that runs the
 * device's queues.  Locks: vd.lock guards registers, queues and MSI-X state;
 * the PCI bus lock may be held when taking it, never the other way round. */
#include "hw/virtio/virtio_pci.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "hw/pci.h"
#include "lib/err.h"
#include "lib/jail.h"
#include "lib/log.h"
#include "lib/sandbox.h"
#include "lib/state.h"

#define VIRTIO_PCI_VENDOR   0x1af4
#define VIRTIO_PCI_DEVICE_BASE 0x1040
#define PCI_CAP_ID_VNDR     0x09
#define PCI_CAP_ID_MSIX     0x11
#define MSIX_ENABLE         0x8000
#define MSIX_FUNCTION_MASK  0x4000
#define MSIX_ENTRY_MASKED   1
#define ISR_QUEUE           1
#define ISR_CONFIG          2

struct msix_entry {
    uint32_t addr_lo, addr_hi, data, ctrl;
};

struct virtio_pci {
    struct virtio_dev vd;
    struct pci_device pci;
    struct pci_bus *bus;
    struct guest_mem *mem;
    bool on_bus;

    uint32_t device_feature_select, driver_feature_select;
    uint16_t queue_select;
    uint16_t config_vector;
    uint16_t queue_vector[VIRTIO_MAX_QUEUES];
    uint8_t isr;

    unsigned nvec;                 /* one per queue plus config */
    struct msix_entry msix[VIRTIO_MAX_QUEUES + 1];
    uint64_t pba;
    int msix_cap;
    int pci_cfg_cap;               /* VIRTIO_PCI_CAP_PCI_CFG: a window into BAR 4 */
    bool msix_enabled, msix_masked;

    pthread_t worker;
    bool worker_started;
    pthread_mutex_t wake_lock;
    pthread_cond_t wake;
    _Atomic uint32_t pending;      /* queues notified since the worker last looked */
    /* Queues a device asked to look at again later (a rate limit's wait),
     * and when: they join pending at retry_at.  Under wake_lock. */
    _Atomic uint32_t retry;
    uint64_t retry_at;
    bool stopping;                 /* under wake_lock */
    bool paused;                   /* under wake_lock: take no new round */
    bool busy;                     /* under wake_lock: a round is running */
    pthread_cond_t idle;           /* busy went false */
};

struct virtio_dev *virtio_pci_dev(struct virtio_pci *vp)
{
    return &vp->vd;
}

int virtio_pci_slot(const struct virtio_pci *vp)
{
    return vp->pci.slot;
}

/* ---- interrupts (vd.lock held) ------------------------------------------ */

static void msix_deliver(struct virtio_pci *vp, unsigned vec)
{
    struct msix_entry *e = &vp->msix[vec];
    msi_send(pci_bus_msi(vp->bus), (uint64_t)e->addr_hi << 32 | e->addr_lo, e->data);
}

static void signal_vector(struct virtio_pci *vp, uint16_t vec, uint8_t isr_bit)
{
    if (vp->msix_enabled) {
        if (vec == VIRTIO_MSI_NO_VECTOR || vec >= vp->nvec)
            return;
        if (vp->msix_masked || (vp->msix[vec].ctrl & MSIX_ENTRY_MASKED))
            vp->pba |= 1ULL << vec;
        else
            msix_deliver(vp, vec);
        return;
    }
    vp->isr |= isr_bit;
    pci_device_set_irq(&vp->pci, 1);
}

/* Sends what was held back while masked, once the mask is gone. */
static void msix_flush_pending(struct virtio_pci *vp)
{
    if (!vp->msix_enabled || vp->msix_masked)
        return;
    for (unsigned v = 0; v < vp->nvec; v++) {
        if ((vp->pba >> v & 1) && !(vp->msix[v].ctrl & MSIX_ENTRY_MASKED)) {
            vp->pba &= ~(1ULL << v);
            msix_deliver(vp, v);
        }
    }
}

static void transport_signal_queue(struct virtio_dev *vd, unsigned q)
{
    struct virtio_pci *vp = vd->transport_data;
    signal_vector(vp, vp->queue_vector[q], ISR_QUEUE);
}

static void transport_signal_config(struct virtio_dev *vd)
{
    struct virtio_pci *vp = vd->transport_data;
    signal_vector(vp, vp->config_vector, ISR_CONFIG);
}

static uint64_t monotonic_ns(void)
{
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000000ull + (uint64_t)t.tv_nsec;
}

/* A device that must wait (its rate limit) leaves the queue's requests in
 * the ring and has the worker notify it again after ns; the earliest asked
 * for wins.  The lock on the device's state may be held (the order is
 * vd->lock, then wake_lock). */
static void transport_retry_after(struct virtio_dev *vd, unsigned q, uint64_t ns)
{
    struct virtio_pci *vp = vd->transport_data;
    uint64_t at = monotonic_ns() + ns;
    pthread_mutex_lock(&vp->wake_lock);
    if (!atomic_load(&vp->retry) || at < vp->retry_at)
        vp->retry_at = at;
    atomic_fetch_or(&vp->retry, 1u << q);
    pthread_cond_signal(&vp->wake);
    pthread_mutex_unlock(&vp->wake_lock);
}

static const struct virtio_transport_ops pci_transport = {
    .signal_queue = transport_signal_queue,
    .signal_config = transport_signal_config,
    .retry_after = transport_retry_after,
};

/* ---- reset and the worker ----------------------------------------------- */

static void device_reset(struct virtio_pci *vp)
{
    struct virtio_dev *vd = &vp->vd;
    vd->status = 0;
    vd->guest_features = 0;
    vp->device_feature_select = vp->driver_feature_select = 0;
    vp->queue_select = 0;
    vp->config_vector = VIRTIO_MSI_NO_VECTOR;
    for (unsigned q = 0; q < VIRTIO_MAX_QUEUES; q++) {
        vp->queue_vector[q] = VIRTIO_MSI_NO_VECTOR;
        virtq_reset(&vd->vq[q], vp->mem);
        if (q < vd->ops->num_queues)
            vd->vq[q].size = vd->ops->queue_max;
    }
    vp->isr = 0;
    pci_device_set_irq(&vp->pci, 0);
    atomic_store(&vp->pending, 0);
    atomic_store(&vp->retry, 0);
    if (vd->ops->reset)
        vd->ops->reset(vd);
}

static void kick(struct virtio_pci *vp, uint32_t queues)
{
    atomic_fetch_or(&vp->pending, queues);
    pthread_mutex_lock(&vp->wake_lock);
    pthread_cond_signal(&vp->wake);
    pthread_mutex_unlock(&vp->wake_lock);
}

static void *worker_main(void *arg)
{
    struct virtio_pci *vp = arg;
    struct virtio_dev *vd = &vp->vd;
    /* A share's server makes and opens the files the guest names: in a
     * root jail, this thread alone takes the file capabilities kept for it
     * (lib/jail.h). */
    int cr = vd->ops->worker_names_files ? jail_raise_file_caps() : 0;
    if (cr < 0)
        log_warn("%s: cannot take its file capabilities: %s", vd->ops->name, strerror(-cr));
    for (;;) {
        uint32_t queues = 0;
        pthread_mutex_lock(&vp->wake_lock);
        /* While paused, notifications stay in pending, untaken. */
        for (;;) {
            if (vp->stopping)
                break;
            if (atomic_load(&vp->retry) && monotonic_ns() >= vp->retry_at)
                atomic_fetch_or(&vp->pending, atomic_exchange(&vp->retry, 0));
            if (!vp->paused && (queues = atomic_exchange(&vp->pending, 0)))
                break;
            if (atomic_load(&vp->retry)) {
                struct timespec until = { .tv_sec = (time_t)(vp->retry_at / 1000000000ull),
                                          .tv_nsec = (long)(vp->retry_at % 1000000000ull) };
                pthread_cond_timedwait(&vp->wake, &vp->wake_lock, &until);
            } else {
                pthread_cond_wait(&vp->wake, &vp->wake_lock);
            }
        }
        bool stop = vp->stopping;
        vp->busy = !stop;
        pthread_mutex_unlock(&vp->wake_lock);
        if (stop)
            break;
        /* The guest's requests are read here: this thread's own, narrower
         * seccomp list goes in before the first once the VMM is confined. */
        if (!vd->ops->worker_names_files)
            sandbox_worker_thread_check();
        pthread_mutex_lock(&vd->lock);
        /* Buffers are the device's only between DRIVER_OK and a reset. */
        if ((vd->status & VIRTIO_STATUS_DRIVER_OK) && !(vd->status & VIRTIO_STATUS_NEEDS_RESET)) {
            for (unsigned q = 0; q < vd->ops->num_queues; q++)
                if (queues >> q & 1)
                    vd->ops->queue_notify(vd, q);
        }
        pthread_mutex_unlock(&vd->lock);
        if (vd->ops->after_notify)
            vd->ops->after_notify(vd);
        pthread_mutex_lock(&vp->wake_lock);
        /* A pause cut the round short: its queues may hold requests not
         * taken, so they count as notified again (a spurious notification
         * costs one look at an empty ring). */
        if (atomic_load(&vd->quiescing))
            atomic_fetch_or(&vp->pending, queues);
        vp->busy = false;
        pthread_cond_broadcast(&vp->idle);
        pthread_mutex_unlock(&vp->wake_lock);
    }
    return NULL;
}

void virtio_pci_pause(struct virtio_pci *vp)
{
    pthread_mutex_lock(&vp->wake_lock);
    vp->paused = true;
    atomic_store(&vp->vd.quiescing, true);
    while (vp->busy)
        pthread_cond_wait(&vp->idle, &vp->wake_lock);
    pthread_mutex_unlock(&vp->wake_lock);
}

void virtio_pci_resume(struct virtio_pci *vp)
{
    pthread_mutex_lock(&vp->wake_lock);
    vp->paused = false;
    atomic_store(&vp->vd.quiescing, false);
    pthread_cond_signal(&vp->wake);
    pthread_mutex_unlock(&vp->wake_lock);
}

/* ---- common configuration ------------------------------------------------ */

struct field {
    uint8_t off, len;
};

static const struct field common_fields[] = {
    {0x00, 4}, {0x04, 4}, {0x08, 4}, {0x0c, 4}, {0x10, 2}, {0x12, 2}, {0x14, 1}, {0x15, 1},
    {0x16, 2}, {0x18, 2}, {0x1a, 2}, {0x1c, 2}, {0x1e, 2}, {0x20, 8}, {0x28, 8}, {0x30, 8},
};

static struct virtq *selected_queue(struct virtio_pci *vp)
{
    return vp->queue_select < vp->vd.ops->num_queues ? &vp->vd.vq[vp->queue_select] : NULL;
}

static uint64_t common_get(struct virtio_pci *vp, unsigned off)
{
    struct virtio_dev *vd = &vp->vd;
    struct virtq *vq = selected_queue(vp);
    switch (off) {
    case 0x00: return vp->device_feature_select;
    case 0x04: return vp->device_feature_select < 2 ?
                      (uint32_t)(vd->host_features >> (32 * vp->device_feature_select)) : 0;
    case 0x08: return vp->driver_feature_select;
    case 0x0c: return vp->driver_feature_select < 2 ?
                      (uint32_t)(vd->guest_features >> (32 * vp->driver_feature_select)) : 0;
    case 0x10: return vp->config_vector;
    case 0x12: return vd->ops->num_queues;
    case 0x14: return vd->status;
    case 0x15: return vd->config_generation;
    case 0x16: return vp->queue_select;
    case 0x18: return vq ? vq->size : 0;
    case 0x1a: return vq ? vp->queue_vector[vp->queue_select] : VIRTIO_MSI_NO_VECTOR;
    case 0x1c: return vq ? vq->ready : 0;
    case 0x1e: return vq ? vp->queue_select : 0;    /* notify offset = queue index */
    case 0x20: return vq ? vq->desc_addr : 0;
    case 0x28: return vq ? vq->avail_addr : 0;
    case 0x30: return vq ? vq->used_addr : 0;
    }
    return 0;
}

static uint16_t valid_vector(struct virtio_pci *vp, uint64_t v)
{
    return v < vp->nvec ? (uint16_t)v : VIRTIO_MSI_NO_VECTOR;
}

static void write_status(struct virtio_pci *vp, uint8_t value)
{
    struct virtio_dev *vd = &vp->vd;
    if (value == 0) {
        device_reset(vp);
        return;
    }
    uint8_t old = vd->status;
    uint8_t s = value & ~VIRTIO_STATUS_NEEDS_RESET;
    if ((s & VIRTIO_STATUS_FEATURES_OK) && !(old & VIRTIO_STATUS_FEATURES_OK)) {
        /* Only what we offered, and never the legacy interface. */
        if ((vd->guest_features & ~vd->host_features) ||
            !virtio_has_feature(vd, VIRTIO_F_VERSION_1))
            s &= ~VIRTIO_STATUS_FEATURES_OK;
    }
    vd->status = s | (old & VIRTIO_STATUS_NEEDS_RESET);
    if ((s & VIRTIO_STATUS_DRIVER_OK) && !(old & VIRTIO_STATUS_DRIVER_OK))
        kick(vp, (1u << vd->ops->num_queues) - 1);   /* buffers queued before DRIVER_OK */
}

static void common_set(struct virtio_pci *vp, unsigned off, uint64_t v)
{
    struct virtio_dev *vd = &vp->vd;
    struct virtq *vq = selected_queue(vp);
    switch (off) {
    case 0x00: vp->device_feature_select = (uint32_t)v; break;
    case 0x08: vp->driver_feature_select = (uint32_t)v; break;
    case 0x0c:
        if (vp->driver_feature_select < 2 && !(vd->status & VIRTIO_STATUS_FEATURES_OK)) {
            unsigned shift = 32 * vp->driver_feature_select;
            vd->guest_features &= ~(0xffffffffULL << shift);
            vd->guest_features |= (uint64_t)(uint32_t)v << shift;
        }
        break;
    case 0x10: vp->config_vector = valid_vector(vp, v); break;
    case 0x14: write_status(vp, (uint8_t)v); break;
    case 0x16: vp->queue_select = (uint16_t)v; break;
    case 0x18:
        if (vq && !vq->ready)
            vq->size = (uint16_t)v;   /* checked when the queue is enabled */
        break;
    case 0x1a:
        if (vq)
            vp->queue_vector[vp->queue_select] = valid_vector(vp, v);
        break;
    case 0x1c:
        /* Writing 0 is not the driver's to do (reset is); ignore it. */
        if (vq && v == 1 && !vq->ready) {
            vq->event_idx = virtio_has_feature(vd, VIRTIO_F_RING_EVENT_IDX);
            vq->indirect = virtio_has_feature(vd, VIRTIO_F_RING_INDIRECT_DESC);
            if (vq->size > vd->ops->queue_max || virtq_enable(vq) < 0) {
                if (!(vd->status & VIRTIO_STATUS_NEEDS_RESET) && virtio_log_breakage(vd))
                    log_warn("%s: the guest enabled queue %u with a bad size (%u) or rings "
                             "outside RAM; the device needs a reset", vd->ops->name,
                             vp->queue_select, vq->size);
                vq->ready = false;
                virtio_set_needs_reset(vd);
            }
        }
        break;
    case 0x20: if (vq && !vq->ready) vq->desc_addr = v; break;
    case 0x28: if (vq && !vq->ready) vq->avail_addr = v; break;
    case 0x30: if (vq && !vq->ready) vq->used_addr = v; break;
    }
}

static uint64_t common_read(struct virtio_pci *vp, unsigned off, unsigned size)
{
    uint8_t image[VIRTIO_PCI_COMMON_LEN] = {0};
    for (size_t i = 0; i < sizeof(common_fields) / sizeof(common_fields[0]); i++) {
        uint64_t v = common_get(vp, common_fields[i].off);
        memcpy(image + common_fields[i].off, &v, common_fields[i].len);
    }
    uint64_t r = 0;
    if (off + size <= sizeof(image))
        memcpy(&r, image + off, size);
    return r;
}

/* Merges the written bytes into every field they touch (the driver may write
 * 64-bit addresses as two halves). */
static void common_write(struct virtio_pci *vp, unsigned off, unsigned size, uint64_t value)
{
    if (off + size > VIRTIO_PCI_COMMON_LEN)
        return;
    for (size_t i = 0; i < sizeof(common_fields) / sizeof(common_fields[0]); i++) {
        unsigned fo = common_fields[i].off, fl = common_fields[i].len;
        if (off >= fo + fl || off + size <= fo)
            continue;
        uint64_t v = common_get(vp, fo);
        for (unsigned b = 0; b < fl; b++) {
            unsigned at = fo + b;
            if (at >= off && at < off + size) {
                uint64_t byte = (value >> (8 * (at - off))) & 0xff;
                v = (v & ~(0xffULL << (8 * b))) | byte << (8 * b);
            }
        }
        common_set(vp, fo, v);
    }
}

/* ---- MSI-X table ---------------------------------------------------------- */

static uint64_t msix_read(struct virtio_pci *vp, unsigned off, unsigned size)
{
    uint8_t table[sizeof(vp->msix)];
    memcpy(table, vp->msix, sizeof(table));
    uint64_t r = 0;
    if (off + size <= vp->nvec * 16u)
        memcpy(&r, table + off, size);
    return r;
}

static void msix_write(struct virtio_pci *vp, unsigned off, unsigned size, uint64_t value)
{
    if (off + size > vp->nvec * 16u || (size != 4 && size != 8) || (off & (size - 1)))
        return;
    memcpy((uint8_t *)vp->msix + off, &value, size);
    msix_flush_pending(vp);
}

/* ---- BAR 4 ---------------------------------------------------------------- */

static uint64_t bar_read(void *opaque, uint64_t offset, unsigned size)
{
    struct virtio_pci *vp = opaque;
    struct virtio_dev *vd = &vp->vd;
    uint64_t r = 0;
    pthread_mutex_lock(&vd->lock);
    if (offset < VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_LEN) {
        r = common_read(vp, (unsigned)offset, size);
    } else if (offset == VIRTIO_PCI_ISR_OFF) {
        /* Reading ISR acknowledges it and lowers INTx. */
        r = vp->isr;
        vp->isr = 0;
        pci_device_set_irq(&vp->pci, 0);
    } else if (offset >= VIRTIO_PCI_DEVICE_OFF &&
               offset < VIRTIO_PCI_DEVICE_OFF + VIRTIO_PCI_DEVICE_LEN) {
        unsigned off = (unsigned)(offset - VIRTIO_PCI_DEVICE_OFF);
        if (off + size <= vd->ops->config_size && vd->ops->config_read)
            vd->ops->config_read(vd, off, &r, size);
    } else if (offset >= VIRTIO_PCI_MSIX_OFF && offset < VIRTIO_PCI_PBA_OFF) {
        r = msix_read(vp, (unsigned)(offset - VIRTIO_PCI_MSIX_OFF), size);
    } else if (offset == VIRTIO_PCI_PBA_OFF) {
        r = vp->pba;
    }
    pthread_mutex_unlock(&vd->lock);
    return r;
}

static void bar_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct virtio_pci *vp = opaque;
    struct virtio_dev *vd = &vp->vd;
    if (offset >= VIRTIO_PCI_NOTIFY_OFF &&
        offset < VIRTIO_PCI_NOTIFY_OFF + VIRTIO_PCI_NOTIFY_MULT * vd->ops->num_queues) {
        /* The fast path: no device lock, the worker does the rest. */
        unsigned q = (unsigned)(offset - VIRTIO_PCI_NOTIFY_OFF) / VIRTIO_PCI_NOTIFY_MULT;
        kick(vp, 1u << q);
        return;
    }
    pthread_mutex_lock(&vd->lock);
    if (offset < VIRTIO_PCI_COMMON_OFF + VIRTIO_PCI_COMMON_LEN) {
        common_write(vp, (unsigned)offset, size, value);
    } else if (offset >= VIRTIO_PCI_DEVICE_OFF &&
               offset < VIRTIO_PCI_DEVICE_OFF + VIRTIO_PCI_DEVICE_LEN) {
        unsigned off = (unsigned)(offset - VIRTIO_PCI_DEVICE_OFF);
        if (off + size <= vd->ops->config_size && vd->ops->config_write)
            vd->ops->config_write(vd, off, &value, size);
    } else if (offset >= VIRTIO_PCI_MSIX_OFF && offset < VIRTIO_PCI_PBA_OFF) {
        msix_write(vp, (unsigned)(offset - VIRTIO_PCI_MSIX_OFF), size, value);
    }
    pthread_mutex_unlock(&vd->lock);
}

static const struct bus_ops bar_ops = { .read = bar_read, .write = bar_write };

/* The PCI_CFG capability's window: the driver sets bar, offset and length
 * in the capability, then reads or writes pci_cfg_data to reach BAR 4
 * without mapping it.  Lengths other than 1, 2 and 4, a BAR other than 4 or
 * a misaligned offset reach nothing. */
static bool pci_cfg_window(struct virtio_pci *vp, uint64_t *off, unsigned *len)
{
    const struct pci_device *d = &vp->pci;
    unsigned c = (unsigned)vp->pci_cfg_cap;
    uint32_t o = pci_config_get32(d, c + 8), l = pci_config_get32(d, c + 12);
    if (d->config[c + 4] != VIRTIO_PCI_BAR || (l != 1 && l != 2 && l != 4) || (o & (l - 1)) ||
        o >= VIRTIO_PCI_BAR_SIZE)
        return false;
    *off = o;
    *len = l;
    return true;
}

static bool touches_cfg_data(struct virtio_pci *vp, unsigned off, unsigned size)
{
    unsigned data = (unsigned)vp->pci_cfg_cap + 16;
    return off < data + 4 && off + size > data;
}

static bool pci_config_read_hook(struct pci_device *d, unsigned off, unsigned size, uint32_t *value)
{
    struct virtio_pci *vp = d->opaque;
    uint64_t bar_off;
    unsigned len;
    if (!touches_cfg_data(vp, off, size))
        return false;
    *value = 0;
    if (off == (unsigned)vp->pci_cfg_cap + 16 && pci_cfg_window(vp, &bar_off, &len))
        *value = (uint32_t)bar_read(vp, bar_off, len);
    return true;
}

/* The MSI-X message control word changed: enable and function mask.  Or the
 * driver wrote through the PCI_CFG window. */
static void pci_config_written(struct pci_device *d, unsigned off, unsigned size, uint32_t value)
{
    struct virtio_pci *vp = d->opaque;
    if (touches_cfg_data(vp, off, size)) {
        uint64_t bar_off;
        unsigned len;
        if (off == (unsigned)vp->pci_cfg_cap + 16 && pci_cfg_window(vp, &bar_off, &len))
            bar_write(vp, bar_off, len, value & (len == 4 ? 0xffffffffu : (1u << (8 * len)) - 1));
        return;
    }
    unsigned ctl = (unsigned)vp->msix_cap + 2;
    if (off >= ctl + 2 || off + size <= ctl)
        return;
    uint16_t c = pci_config_get16(d, ctl);
    pthread_mutex_lock(&vp->vd.lock);
    bool was = vp->msix_enabled;
    vp->msix_enabled = c & MSIX_ENABLE;
    vp->msix_masked = c & MSIX_FUNCTION_MASK;
    if (vp->msix_enabled && !was) {
        /* Interrupts move to MSI-X: INTx goes quiet. */
        vp->isr = 0;
        pci_device_set_irq(&vp->pci, 0);
    }
    msix_flush_pending(vp);
    pthread_mutex_unlock(&vp->vd.lock);
}

static const struct pci_device_ops pci_ops = {
    .config_read = pci_config_read_hook,
    .config_write = pci_config_written,
};

/* ---- creation ------------------------------------------------------------- */

static int add_virtio_cap(struct pci_device *d, uint8_t type, uint32_t offset, uint32_t length,
                          unsigned extra)
{
    int at = pci_device_add_capability(d, PCI_CAP_ID_VNDR, 16 + extra);
    if (at < 0)
        return at;
    d->config[at + 2] = (uint8_t)(16 + extra);
    d->config[at + 3] = type;
    d->config[at + 4] = VIRTIO_PCI_BAR;
    d->config[at + 5] = 0;
    pci_config_set32(d, (unsigned)at + 8, offset);
    pci_config_set32(d, (unsigned)at + 12, length);
    return at;
}

static int setup_pci(struct virtio_pci *vp)
{
    const struct virtio_device_ops *ops = vp->vd.ops;
    struct pci_device *d = &vp->pci;
    int r, at;

    pci_device_init(d, ops->name, VIRTIO_PCI_VENDOR,
                    (uint16_t)(VIRTIO_PCI_DEVICE_BASE + ops->device_id), ops->pci_class, 1);
    pci_config_set16(d, PCI_SUBSYSTEM_VENDOR_ID, VIRTIO_PCI_VENDOR);
    pci_config_set16(d, PCI_SUBSYSTEM_ID, 0x1100);
    d->ops = &pci_ops;
    d->opaque = vp;
    pci_device_set_intx_pin(d, 1);
    r = pci_device_set_bar(d, VIRTIO_PCI_BAR, PCI_BAR_MEM64, false, VIRTIO_PCI_BAR_SIZE,
                           &bar_ops, vp);
    if (r < 0)
        return r;
    if ((r = add_virtio_cap(d, VIRTIO_PCI_CAP_COMMON_CFG, VIRTIO_PCI_COMMON_OFF,
                            VIRTIO_PCI_COMMON_LEN, 0)) < 0)
        return r;
    if ((at = add_virtio_cap(d, VIRTIO_PCI_CAP_NOTIFY_CFG, VIRTIO_PCI_NOTIFY_OFF,
                             VIRTIO_PCI_NOTIFY_MULT * ops->num_queues, 4)) < 0)
        return at;
    pci_config_set32(d, (unsigned)at + 16, VIRTIO_PCI_NOTIFY_MULT);
    if ((r = add_virtio_cap(d, VIRTIO_PCI_CAP_ISR_CFG, VIRTIO_PCI_ISR_OFF, 1, 0)) < 0)
        return r;
    if (ops->config_size &&
        (r = add_virtio_cap(d, VIRTIO_PCI_CAP_DEVICE_CFG, VIRTIO_PCI_DEVICE_OFF,
                            (uint32_t)ops->config_size, 0)) < 0)
        return r;

    /* PCI_CFG: bar, offset and length are the driver's to set. */
    if ((at = add_virtio_cap(d, VIRTIO_PCI_CAP_PCI_CFG, 0, 0, 4)) < 0)
        return at;
    vp->pci_cfg_cap = at;
    d->config[at + 4] = 0;
    d->wmask[at + 4] = 0xff;
    for (int i = 8; i < 20; i++)
        d->wmask[at + i] = 0xff;

    at = pci_device_add_capability(d, PCI_CAP_ID_MSIX, 12);
    if (at < 0)
        return at;
    vp->msix_cap = at;
    pci_config_set16(d, (unsigned)at + 2, (uint16_t)(vp->nvec - 1));
    d->wmask[at + 3] = (MSIX_ENABLE | MSIX_FUNCTION_MASK) >> 8;
    pci_config_set32(d, (unsigned)at + 4, VIRTIO_PCI_MSIX_OFF | VIRTIO_PCI_BAR);
    pci_config_set32(d, (unsigned)at + 8, VIRTIO_PCI_PBA_OFF | VIRTIO_PCI_BAR);
    return 0;
}

int virtio_pci_create(struct guest_mem *mem, struct pci_bus *bus, const struct virtio_device_ops *ops,
                      void *opaque, struct virtio_pci **out)
{
    if (ops->num_queues == 0 || ops->num_queues > VIRTIO_MAX_QUEUES || ops->queue_max == 0 ||
        ops->queue_max > VIRTQ_MAX_SIZE || (ops->queue_max & (ops->queue_max - 1)) ||
        ops->config_size > VIRTIO_PCI_DEVICE_LEN)
        return -EINVAL;
    struct virtio_pci *vp = calloc(1, sizeof(*vp));
    if (!vp)
        return -ENOMEM;
    struct virtio_dev *vd = &vp->vd;
    vd->chain = malloc(sizeof(*vd->chain));
    if (!vd->chain) {
        free(vp);
        return -ENOMEM;
    }
    vp->mem = mem;
    vp->bus = bus;
    vp->nvec = ops->num_queues + 1;
    vd->ops = ops;
    vd->opaque = opaque;
    vd->mem = mem;
    vd->transport = &pci_transport;
    vd->transport_data = vp;
    vd->host_features = (1ULL << VIRTIO_F_VERSION_1) | (1ULL << VIRTIO_F_RING_INDIRECT_DESC) |
                        (1ULL << VIRTIO_F_RING_EVENT_IDX);
    if (ops->features)
        vd->host_features |= ops->features(vd);
    pthread_mutex_init(&vd->lock, NULL);
    pthread_mutex_init(&vp->wake_lock, NULL);
    pthread_condattr_t ca;      /* retry_at is on the monotonic clock */
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&vp->wake, &ca);
    pthread_condattr_destroy(&ca);
    pthread_cond_init(&vp->idle, NULL);
    for (unsigned v = 0; v < vp->nvec; v++)
        vp->msix[v].ctrl = MSIX_ENTRY_MASKED;

    int r = setup_pci(vp);
    if (r < 0)
        goto fail;
    device_reset(vp);
    r = pthread_create(&vp->worker, NULL, worker_main, vp);
    if (r) {
        r = -r;
        goto fail;
    }
    vp->worker_started = true;
    r = pci_bus_add_device(bus, &vp->pci, -1);
    if (r < 0)
        goto fail;
    vp->on_bus = true;
    *out = vp;
    return 0;
fail:
    virtio_pci_destroy(vp);
    return r;
}

void virtio_pci_destroy(struct virtio_pci *vp)
{
    if (!vp)
        return;
    if (vp->on_bus)
        pci_bus_remove_device(vp->bus, &vp->pci);
    if (vp->worker_started) {
        pthread_mutex_lock(&vp->wake_lock);
        vp->stopping = true;
        pthread_cond_signal(&vp->wake);
        pthread_mutex_unlock(&vp->wake_lock);
        pthread_join(vp->worker, NULL);
    }
    pthread_mutex_destroy(&vp->vd.lock);
    pthread_mutex_destroy(&vp->wake_lock);
    pthread_cond_destroy(&vp->wake);
    pthread_cond_destroy(&vp->idle);
    free(vp->vd.chain);
    free(vp);
}

/* ---- snapshots ------------------------------------------------------------ */

const char *virtio_pci_name(struct virtio_pci *vp, char *buf, size_t len)
{
    snprintf(buf, len, "%s 00:%02x.0", vp->vd.ops->name, vp->pci.slot);
    return buf;
}

/* One queue as saved: what struct virtq holds apart from its host views. */
struct saved_queue {
    uint16_t vector, size;
    bool ready, broken, event_idx, indirect;
    uint64_t desc, avail, used;
    uint16_t last_avail, used_idx, signalled_used;
    bool signalled_valid, pushed;
};

struct virtio_pci_loaded {
    uint8_t config[PCI_CONFIG_SIZE];
    uint64_t host_features, guest_features;
    uint32_t device_feature_select, driver_feature_select;
    uint8_t status, config_generation;
    uint16_t queue_select, config_vector;
    uint8_t isr;
    struct msix_entry msix[VIRTIO_MAX_QUEUES + 1];
    uint64_t pba;
    uint32_t pending;
    bool msix_enabled, msix_masked;
    struct virtq vq[VIRTIO_MAX_QUEUES];    /* checked, host views resolved */
    uint16_t queue_vector[VIRTIO_MAX_QUEUES];
};

int virtio_pci_save(struct virtio_pci *vp, struct state_out *o)
{
    struct virtio_dev *vd = &vp->vd;
    uint8_t cfg[PCI_CONFIG_SIZE];
    pci_device_save_config(&vp->pci, cfg);
    st_put_bytes(o, cfg, sizeof(cfg));
    pthread_mutex_lock(&vd->lock);
    st_put_u64(o, vd->host_features);
    st_put_u64(o, vd->guest_features);
    st_put_u32(o, vp->device_feature_select);
    st_put_u32(o, vp->driver_feature_select);
    st_put_u8(o, vd->status);
    st_put_u8(o, vd->config_generation);
    st_put_u16(o, vp->queue_select);
    st_put_u16(o, vp->config_vector);
    st_put_u8(o, vp->isr);
    st_put_u8(o, (uint8_t)vd->ops->num_queues);
    for (unsigned v = 0; v < vp->nvec; v++) {
        st_put_u32(o, vp->msix[v].addr_lo);
        st_put_u32(o, vp->msix[v].addr_hi);
        st_put_u32(o, vp->msix[v].data);
        st_put_u32(o, vp->msix[v].ctrl);
    }
    st_put_u64(o, vp->pba);
    /* A queue waiting out a rate limit has requests the device has not
     * taken: as notified, so the restored device looks at them. */
    st_put_u32(o, atomic_load(&vp->pending) | atomic_load(&vp->retry));
    for (unsigned q = 0; q < vd->ops->num_queues; q++) {
        const struct virtq *vq = &vd->vq[q];
        st_put_u16(o, vp->queue_vector[q]);
        st_put_u16(o, vq->size);
        st_put_bool(o, vq->ready);
        st_put_bool(o, vq->broken);
        st_put_bool(o, vq->event_idx);
        st_put_bool(o, vq->indirect);
        st_put_u64(o, vq->desc_addr);
        st_put_u64(o, vq->avail_addr);
        st_put_u64(o, vq->used_addr);
        st_put_u16(o, vq->last_avail);
        st_put_u16(o, vq->used_idx);
        st_put_u16(o, vq->signalled_used);
        st_put_bool(o, vq->signalled_valid);
        st_put_bool(o, vq->pushed);
    }
    pthread_mutex_unlock(&vd->lock);
    return state_out_ok(o) ? 0 : -ENOMEM;
}

static bool vector_ok(const struct virtio_pci *vp, uint16_t v)
{
    return v == VIRTIO_MSI_NO_VECTOR || v < vp->nvec;
}

/* Checks one saved queue and resolves its rings into *vq. */
static int check_queue(struct virtio_pci *vp, const char *name, unsigned q,
                       const struct saved_queue *sq, struct virtq *vq, struct err *e)
{
    const struct virtio_device_ops *ops = vp->vd.ops;
    if (!vector_ok(vp, sq->vector))
        return err_set(e, -EINVAL, "%s: queue %u: MSI-X vector %u is not one of its %u", name,
                       q, sq->vector, vp->nvec);
    virtq_reset(vq, vp->mem);
    vq->size = sq->size;
    vq->desc_addr = sq->desc;
    vq->avail_addr = sq->avail;
    vq->used_addr = sq->used;
    vq->event_idx = sq->event_idx;
    vq->indirect = sq->indirect;
    if (!sq->ready) {
        /* Indices move only once a queue is enabled, and reset clears them. */
        if (sq->broken || sq->last_avail || sq->used_idx || sq->signalled_used ||
            sq->signalled_valid || sq->pushed)
            return err_set(e, -EINVAL, "%s: queue %u: not enabled, yet it has ring indices or "
                           "is marked broken", name, q);
        return 0;
    }
    if (sq->size == 0 || (sq->size & (sq->size - 1)))
        return err_set(e, -EINVAL, "%s: queue %u: size %u is not a power of two", name, q,
                       sq->size);
    if (sq->size > ops->queue_max)
        return err_set(e, -EINVAL, "%s: queue %u: size %u is larger than the %u it offers",
                       name, q, sq->size, ops->queue_max);
    if (virtq_enable(vq) < 0)
        return err_set(e, -EINVAL, "%s: queue %u: its rings (descriptors at 0x%llx, driver "
                       "area at 0x%llx, device area at 0x%llx, %u entries) are misaligned or "
                       "not in guest RAM", name, q, (unsigned long long)sq->desc,
                       (unsigned long long)sq->avail, (unsigned long long)sq->used, sq->size);
    if ((uint16_t)(sq->last_avail - sq->used_idx) > sq->size)
        return err_set(e, -EINVAL, "%s: queue %u: %u requests taken (available index %u, used "
                       "index %u) but only %u fit", name, q,
                       (uint16_t)(sq->last_avail - sq->used_idx), sq->last_avail, sq->used_idx,
                       sq->size);
    vq->broken = sq->broken;
    vq->last_avail = sq->last_avail;
    vq->used_idx = sq->used_idx;
    vq->signalled_used = sq->signalled_used;
    vq->signalled_valid = sq->signalled_valid;
    vq->pushed = sq->pushed;
    return 0;
}

int virtio_pci_load_check(struct virtio_pci *vp, struct state_in *in, struct err *e,
                          struct virtio_pci_loaded **out)
{
    struct virtio_dev *vd = &vp->vd;
    char name[64];
    int r = -EINVAL;
    virtio_pci_name(vp, name, sizeof(name));
    *out = NULL;
    struct virtio_pci_loaded *l = calloc(1, sizeof(*l));
    if (!l)
        return err_set(e, -ENOMEM, "%s: out of memory loading its state", name);

    st_get_bytes(in, l->config, sizeof(l->config));
    uint64_t host_features = st_get_u64(in);
    l->guest_features = st_get_u64(in);
    l->device_feature_select = st_get_u32(in);
    l->driver_feature_select = st_get_u32(in);
    l->status = st_get_u8(in);
    l->config_generation = st_get_u8(in);
    l->queue_select = st_get_u16(in);
    l->config_vector = st_get_u16(in);
    l->isr = st_get_u8(in);
    unsigned nq = st_get_u8(in);
    if (in->bad) {
        err_set(e, -EINVAL, "%s: the saved state is cut short", name);
        goto fail;
    }
    if ((r = pci_device_check_config(&vp->pci, l->config, e)) < 0)
        goto fail;
    r = -EINVAL;
    if (nq != vd->ops->num_queues) {
        err_set(e, -EINVAL, "%s: the saved device has %u queues, this one %u", name, nq,
                vd->ops->num_queues);
        goto fail;
    }
    /* The saved offer may lack only bits a later build began to offer
     * (newer_features): the device then keeps that older offer
     * (virtio_pci_load_commit); nothing else may differ. */
    uint64_t lacking = vd->host_features & ~host_features;
    if ((host_features & ~vd->host_features) || (lacking & ~vd->ops->newer_features)) {
        err_set(e, -EINVAL, "%s: the saved device offered features 0x%llx, this one offers "
                "0x%llx (is its backend set up the same, read-only or not?)", name,
                (unsigned long long)host_features, (unsigned long long)vd->host_features);
        goto fail;
    }
    l->host_features = host_features;
    if ((l->status & VIRTIO_STATUS_FEATURES_OK) &&
        ((l->guest_features & ~l->host_features) ||
         !(l->guest_features >> VIRTIO_F_VERSION_1 & 1))) {
        err_set(e, -EINVAL, "%s: FEATURES_OK with driver features 0x%llx, which this device "
                "would have refused", name, (unsigned long long)l->guest_features);
        goto fail;
    }
    if (!vector_ok(vp, l->config_vector)) {
        err_set(e, -EINVAL, "%s: config MSI-X vector %u is not one of its %u", name,
                l->config_vector, vp->nvec);
        goto fail;
    }
    uint16_t ctl = (uint16_t)(l->config[vp->msix_cap + 2] | l->config[vp->msix_cap + 3] << 8);
    l->msix_enabled = ctl & MSIX_ENABLE;
    l->msix_masked = ctl & MSIX_FUNCTION_MASK;
    if (l->isr & ~(ISR_QUEUE | ISR_CONFIG)) {
        err_set(e, -EINVAL, "%s: ISR 0x%02x has bits the device does not have", name, l->isr);
        goto fail;
    }
    if (l->isr && l->msix_enabled) {
        err_set(e, -EINVAL, "%s: ISR 0x%02x pending while MSI-X is on, which never happens",
                name, l->isr);
        goto fail;
    }
    for (unsigned v = 0; v < vp->nvec; v++) {
        l->msix[v].addr_lo = st_get_u32(in);
        l->msix[v].addr_hi = st_get_u32(in);
        l->msix[v].data = st_get_u32(in);
        l->msix[v].ctrl = st_get_u32(in);
    }
    l->pba = st_get_u64(in);
    l->pending = st_get_u32(in);
    if (in->bad) {
        err_set(e, -EINVAL, "%s: the saved state is cut short", name);
        goto fail;
    }
    if (l->pba >> vp->nvec) {
        err_set(e, -EINVAL, "%s: MSI-X pending bits 0x%llx go past its %u vectors", name,
                (unsigned long long)l->pba, vp->nvec);
        goto fail;
    }
    if (l->pending >> nq) {
        err_set(e, -EINVAL, "%s: notifications 0x%x waiting for queues it does not have", name,
                l->pending);
        goto fail;
    }
    for (unsigned q = 0; q < nq; q++) {
        struct saved_queue sq;
        sq.vector = st_get_u16(in);
        sq.size = st_get_u16(in);
        sq.ready = st_get_bool(in);
        sq.broken = st_get_bool(in);
        sq.event_idx = st_get_bool(in);
        sq.indirect = st_get_bool(in);
        sq.desc = st_get_u64(in);
        sq.avail = st_get_u64(in);
        sq.used = st_get_u64(in);
        sq.last_avail = st_get_u16(in);
        sq.used_idx = st_get_u16(in);
        sq.signalled_used = st_get_u16(in);
        sq.signalled_valid = st_get_bool(in);
        sq.pushed = st_get_bool(in);
        if (in->bad) {
            err_set(e, -EINVAL, "%s: queue %u: the saved state is cut short or holds a bool "
                    "that is neither 0 nor 1", name, q);
            goto fail;
        }
        if ((r = check_queue(vp, name, q, &sq, &l->vq[q], e)) < 0)
            goto fail;
        r = -EINVAL;
        l->queue_vector[q] = sq.vector;
    }
    *out = l;
    return 0;
fail:
    free(l);
    return r;
}

void virtio_pci_load_abandon(struct virtio_pci_loaded *l)
{
    free(l);
}

void virtio_pci_load_commit(struct virtio_pci *vp, struct virtio_pci_loaded *l,
                            void (*apply)(struct virtio_dev *vd, void *arg), void *arg)
{
    struct virtio_dev *vd = &vp->vd;
    /* The bus lock comes before ours: config (and the BARs) first. */
    pci_device_load_config(&vp->pci, l->config);
    pthread_mutex_lock(&vd->lock);
    vd->host_features = l->host_features;
    vd->guest_features = l->guest_features;
    vd->status = l->status;
    vd->config_generation = l->config_generation;
    vp->device_feature_select = l->device_feature_select;
    vp->driver_feature_select = l->driver_feature_select;
    vp->queue_select = l->queue_select;
    vp->config_vector = l->config_vector;
    vp->isr = l->isr;
    memcpy(vp->msix, l->msix, sizeof(vp->msix));
    vp->pba = l->pba;
    vp->msix_enabled = l->msix_enabled;
    vp->msix_masked = l->msix_masked;
    for (unsigned q = 0; q < vd->ops->num_queues; q++) {
        vd->vq[q] = l->vq[q];
        vp->queue_vector[q] = l->queue_vector[q];
    }
    /* INTx asks for what ISR holds (reading ISR is what lowers it). */
    pci_device_set_irq(&vp->pci, vp->isr != 0);
    if (apply)
        apply(vd, arg);
    pthread_mutex_unlock(&vd->lock);
    if (l->pending)
        kick(vp, l->pending);
    free(l);
}

int virtio_pci_load(struct virtio_pci *vp, struct state_in *in, struct err *e)
{
    struct virtio_pci_loaded *l;
    int r = virtio_pci_load_check(vp, in, e, &l);
    if (r < 0)
        return r;
    virtio_pci_load_commit(vp, l, NULL, NULL);
    return 0;
}
