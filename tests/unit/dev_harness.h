/* What a device's unit test plugs the device into, with no machine and no
 * engine: the two buses, a guest clock, guest RAM for DMA, interrupt lines
 * whose levels are recorded by line number, an MSI sink that records the
 * messages, and a stop_request that records why the device asked to stop. */
#ifndef HOSTEL_DEV_HARNESS_H
#define HOSTEL_DEV_HARNESS_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include "machine/bus.h"
#include "machine/irq.h"
#include "machine/mem.h"
#include "machine/stop.h"
#include "machine/timer.h"

#define FAKE_IRQ_LINES 64

/* Written from device threads too (timers, virtio workers). */
static _Atomic int fake_irq_level[FAKE_IRQ_LINES];   /* by irq_line.n */
static _Atomic int fake_irq_calls;
static _Atomic int fake_msi_count;
static _Atomic uint64_t fake_msi_last_addr;
static _Atomic uint32_t fake_msi_last_data;

struct dev_harness {
    struct bus pio, mmio;
    struct guest_clock clock;   /* all zero: never paused, reads the host clock */
    struct guest_mem mem;       /* RAM only after dev_harness_mem */
    bool has_mem;
    /* The first stop request wins, as vm_request_stop does; later ones are
     * only counted. */
    _Atomic int stop_why;       /* enum vm_stop; VM_RUNNING while none came */
    _Atomic int stop_status;
    _Atomic int stop_calls;
};

static inline void dev_harness_init(struct dev_harness *h)
{
    memset(h, 0, sizeof(*h));
    for (int i = 0; i < FAKE_IRQ_LINES; i++)
        atomic_store(&fake_irq_level[i], 0);
    atomic_store(&fake_irq_calls, 0);
    atomic_store(&fake_msi_count, 0);
    atomic_store(&fake_msi_last_addr, 0);
    atomic_store(&fake_msi_last_data, 0);
    atomic_init(&h->stop_why, VM_RUNNING);
    bus_init(&h->pio, "port I/O");
    bus_init(&h->mmio, "MMIO");
    h->mem.fd = -1;
}

/* Guest RAM of size bytes, for devices that DMA; 0 or -errno. */
static inline int dev_harness_mem(struct dev_harness *h, uint64_t size)
{
    int r = mem_init(&h->mem, size);
    h->has_mem = r == 0;
    return r;
}

static inline void dev_harness_destroy(struct dev_harness *h)
{
    if (h->has_mem)
        mem_destroy(&h->mem);
    h->has_mem = false;
    bus_destroy(&h->pio);
    bus_destroy(&h->mmio);
}

static inline void dev_harness_line_set(void *opaque, unsigned n, int level)
{
    (void)opaque;
    if (n < FAKE_IRQ_LINES)
        atomic_store(&fake_irq_level[n], level);
    atomic_fetch_add(&fake_irq_calls, 1);
}

/* Line n: its level shows in fake_irq_level[n]. */
static inline struct irq_line dev_harness_line(struct dev_harness *h, unsigned n)
{
    return (struct irq_line){ .set = dev_harness_line_set, .opaque = h, .n = n };
}

static inline void dev_harness_msi_send(void *opaque, uint64_t addr, uint32_t data)
{
    (void)opaque;
    atomic_store(&fake_msi_last_addr, addr);
    atomic_store(&fake_msi_last_data, data);
    atomic_fetch_add(&fake_msi_count, 1);    /* last: a reader that saw it sees the rest */
}

static inline struct msi_sink dev_harness_msi(struct dev_harness *h)
{
    return (struct msi_sink){ .send = dev_harness_msi_send, .opaque = h };
}

static inline void dev_harness_stop_fn(void *opaque, enum vm_stop why, int status)
{
    struct dev_harness *h = opaque;
    int expected = VM_RUNNING;
    if (atomic_compare_exchange_strong(&h->stop_why, &expected, (int)why))
        atomic_store(&h->stop_status, status);
    atomic_fetch_add(&h->stop_calls, 1);
}

static inline struct stop_request dev_harness_stop(struct dev_harness *h)
{
    return (struct stop_request){ .stop = dev_harness_stop_fn, .opaque = h };
}

/* True once a device asked the machine to stop (vm_stopping's counterpart). */
static inline bool dev_harness_stopped(struct dev_harness *h)
{
    return atomic_load(&h->stop_why) != VM_RUNNING;
}

static inline uint64_t pio_in(struct dev_harness *h, uint64_t port, unsigned size)
{
    uint64_t v = 0;
    bus_read(&h->pio, port, size, &v);
    return v;
}

static inline void pio_out(struct dev_harness *h, uint64_t port, unsigned size, uint64_t v)
{
    bus_write(&h->pio, port, size, v);
}

#endif
