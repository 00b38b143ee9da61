/* The 8254 PIT (ports 0x40-0x43) and the system control port 0x61, for
 * engines without in-kernel ones.  Counters are computed from the machine's
 * guest clock (which stops while it is paused) at 1.193182 MHz, never
 * stepped; channel 0's OUT edges raise IRQ 0 from the machine's timer
 * service, and nothing runs while no edge is due. */
#include "hw/pit.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "hw/irqchip.h"
#include "lib/log.h"
#include "machine/timer.h"
#include "machine/irq.h"

#define PIT_HZ          1193182ULL
#define NS_PER_S        1000000000ULL
/* A guest may ask for 1.19 MHz interrupts; the host gives at most 10 kHz. */
#define PIT_MIN_IRQ_NS  100000ULL
/* The DRAM refresh request toggles port 0x61 bit 4 every 15.085 us. */
#define REFRESH_NS      15085ULL

enum { RW_LATCH = 0, RW_LSB = 1, RW_MSB = 2, RW_WORD = 3 };

struct pit_channel {
    uint8_t mode;            /* 0..5 */
    uint8_t rw;              /* RW_LSB, RW_MSB, RW_WORD */
    bool bcd;
    bool gate;
    uint32_t count;          /* reload value, 1..65536 */
    bool loaded;             /* a count was written since the mode */
    bool counting;           /* started (modes 1/5: by a gate trigger) */
    uint64_t start_ns;       /* when the current count started */
    bool paused;             /* modes 0/4 with the gate low */
    uint64_t paused_ticks;
    /* the byte flip-flops of the data port */
    bool write_msb_next, read_msb_next;
    uint8_t write_lsb;
    uint8_t latch_state;     /* a latched count to read: 0 none, else the byte(s) left,
                              * RW_LSB, RW_MSB or RW_WORD (LSB, then RW_MSB) */
    uint16_t latch;
    bool status_latched;
    uint8_t status;
};

struct pit {
    struct bus *pio;
    uint16_t port, sysctl_port;
    struct irq_line irq0;
    struct irqchip *ic;      /* ours, to park channel 0 while IRQ 0 is masked; or NULL */
    pthread_mutex_t lock;
    struct pit_channel ch[3];
    uint8_t sysctl;          /* port 0x61 bits 0-3 */
    struct timer_service *ts;
    struct timer *irq_timer;
    uint64_t next_edge_ns;   /* channel 0: the rising edge the timer waits for */
    uint64_t edges;          /* channel 0 edges seen since programming */
    bool parked;             /* channel 0 runs unseen: IRQ 0 is masked everywhere */
    bool pio_registered, sysctl_registered;
};

static uint64_t ns_to_ticks(uint64_t ns)
{
    return (uint64_t)((unsigned __int128)ns * PIT_HZ / NS_PER_S);
}

/* The first nanosecond at which `ticks` have elapsed. */
static uint64_t ticks_to_ns(uint64_t ticks)
{
    return (uint64_t)(((unsigned __int128)ticks * NS_PER_S + PIT_HZ - 1) / PIT_HZ);
}

static uint64_t elapsed_ticks(const struct pit_channel *c, uint64_t now)
{
    if (c->paused)
        return c->paused_ticks;
    return now > c->start_ns ? ns_to_ticks(now - c->start_ns) : 0;
}

static bool is_periodic(const struct pit_channel *c)
{
    return c->mode == 2 || c->mode == 3;
}

static bool running(const struct pit_channel *c)
{
    if (!c->loaded || !c->counting)
        return false;
    /* Modes 2 and 3 stop while the gate is low. */
    return c->gate || !is_periodic(c);
}

static uint16_t counter_value(const struct pit_channel *c, uint64_t now)
{
    if (!running(c))
        return (uint16_t)c->count;
    uint64_t t = elapsed_ticks(c, now), n = c->count;
    switch (c->mode) {
    case 2:
        return (uint16_t)(n - t % n);
    case 3: {
        uint64_t half = (n + 1) / 2, phase = t % n;
        uint64_t v = n - 2 * (phase < half ? phase : phase - half);
        return (uint16_t)(v & ~1ULL);
    }
    default:                             /* 0, 1, 4, 5: count down, then wrap */
        return (uint16_t)(n - t);
    }
}

static bool out_level(const struct pit_channel *c, uint64_t now)
{
    if (!c->loaded)
        return c->mode != 0;             /* after a mode write: mode 0 low, others high */
    if (!running(c))
        return c->mode != 0 && c->mode != 1 ? true : !c->counting;
    uint64_t t = elapsed_ticks(c, now), n = c->count;
    switch (c->mode) {
    case 0: case 1:
        return t >= n;
    case 2:
        return t % n != n - 1;
    case 3:
        return t % n < (n + 1) / 2;
    default:                             /* 4, 5: low for one tick at terminal count */
        return t != n;
    }
}

static uint16_t to_bcd(uint16_t v)
{
    v %= 10000;
    return (uint16_t)((v / 1000) << 12 | (v / 100 % 10) << 8 | (v / 10 % 10) << 4 | v % 10);
}

static uint32_t from_bcd(uint16_t v)
{
    return (v >> 12 & 0xf) % 10 * 1000 + (v >> 8 & 0xf) % 10 * 100 + (v >> 4 & 0xf) % 10 * 10 +
           (v & 0xf) % 10;
}

/* Channel 0: when is OUT's next rising edge after `after` (0 = none)? */
static uint64_t next_rising_edge(const struct pit_channel *c, uint64_t after)
{
    if (!running(c) || c->paused)
        return 0;
    uint64_t n = c->count;
    uint64_t edge_tick;
    switch (c->mode) {
    case 2: case 3: {
        /* Edges at k * n, k >= 1; the first one strictly after `after`. */
        uint64_t t = after > c->start_ns ? ns_to_ticks(after - c->start_ns) : 0;
        uint64_t k = t / n + 1;
        edge_tick = k * n;
        uint64_t period_ns = ticks_to_ns(n);
        uint64_t at = c->start_ns + ticks_to_ns(edge_tick);
        if (period_ns < PIT_MIN_IRQ_NS && at < after + PIT_MIN_IRQ_NS)
            at = after + PIT_MIN_IRQ_NS;
        return at;
    }
    default: {                           /* one-shot: the terminal count, once */
        uint64_t at = c->start_ns + ticks_to_ns(n);
        return at > after ? at : 0;
    }
    }
}

static void pit_irq_pulse(struct pit *p)
{
    irq_pulse(&p->irq0);
}

/* Re-plans channel 0's timer after anything about it changed. */
static void ch0_replan(struct pit *p, uint64_t now)
{
    if (!p->irq_timer)
        return;
    struct pit_channel *c = &p->ch[0];
    p->parked = false;
    uint64_t at = next_rising_edge(c, now);
    /* A one-shot that already fired is not fired again. */
    if (at && !is_periodic(c) && p->edges)
        at = 0;
    p->next_edge_ns = at;
    if (at)
        timer_arm(p->irq_timer, at);
    else
        timer_cancel(p->irq_timer);
}

static void ch0_timer_fired(void *opaque)
{
    struct pit *p = opaque;
    pthread_mutex_lock(&p->lock);
    uint64_t now = timer_service_now(p->ts);
    if (!p->next_edge_ns) {                  /* cancelled while we were on our way */
        pthread_mutex_unlock(&p->lock);
        return;
    }
    if (now < p->next_edge_ns) {             /* early or re-planned: wait on */
        timer_arm(p->irq_timer, p->next_edge_ns);
        pthread_mutex_unlock(&p->lock);
        return;
    }
    p->edges++;
    /* The edge is raised even when masked: the 8259 latches it in IRR. */
    pit_irq_pulse(p);
    if (is_periodic(&p->ch[0]) && p->ic && irqchip_gsi_masked(p->ic, p->irq0.n)) {
        /* Nobody sees the next ones: stop until a controller unmasks IRQ 0. */
        p->parked = true;
        p->next_edge_ns = 0;
        pthread_mutex_unlock(&p->lock);
        return;
    }
    /* Late by several periods: one interrupt, and the next on schedule. */
    ch0_replan(p, now);
    pthread_mutex_unlock(&p->lock);
}

static void irq0_unmasked(void *opaque)
{
    struct pit *p = opaque;
    pthread_mutex_lock(&p->lock);
    if (p->parked)
        ch0_replan(p, timer_service_now(p->ts));
    pthread_mutex_unlock(&p->lock);
}

static void load_count(struct pit *p, int idx, uint16_t raw, uint64_t now)
{
    struct pit_channel *c = &p->ch[idx];
    uint32_t n = c->bcd ? from_bcd(raw) : raw;
    if (n == 0)
        n = c->bcd ? 10000 : 65536;
    c->count = n;
    c->loaded = true;
    c->paused = false;
    c->start_ns = now;
    /* Modes 1 and 5 wait for a rising gate edge; the others count now. */
    c->counting = !(c->mode == 1 || c->mode == 5);
    if ((c->mode == 0 || c->mode == 4) && !c->gate) {
        c->paused = true;
        c->paused_ticks = 0;
    }
    if (idx == 0) {
        p->edges = 0;
        ch0_replan(p, now);
    }
}

static void set_gate(struct pit *p, int idx, bool gate, uint64_t now)
{
    struct pit_channel *c = &p->ch[idx];
    if (c->gate == gate)
        return;
    if (c->mode == 0 || c->mode == 4) {
        if (!gate && c->counting && !c->paused) {
            c->paused_ticks = elapsed_ticks(c, now);
            c->paused = true;
        } else if (gate && c->paused) {
            c->start_ns = now - ticks_to_ns(c->paused_ticks);
            c->paused = false;
        }
    } else if (gate) {                       /* rising edge: (re)trigger */
        c->start_ns = now;
        if (c->mode == 1 || c->mode == 5)
            c->counting = true;
    }
    c->gate = gate;
    if (idx == 0)
        ch0_replan(p, now);
}

static void write_control(struct pit *p, uint8_t v, uint64_t now)
{
    int sel = v >> 6;
    if (sel == 3) {                          /* read-back */
        for (int i = 0; i < 3; i++) {
            if (!(v & (2u << i)))
                continue;
            struct pit_channel *c = &p->ch[i];
            if (!(v & 0x20) && !c->latch_state) {
                c->latch = counter_value(c, now);
                c->latch_state = c->rw;
            }
            if (!(v & 0x10) && !c->status_latched) {
                c->status = (uint8_t)(out_level(c, now) << 7 | (!c->loaded) << 6 |
                                      c->rw << 4 | c->mode << 1 | c->bcd);
                c->status_latched = true;
            }
        }
        return;
    }
    struct pit_channel *c = &p->ch[sel];
    int rw = (v >> 4) & 3;
    if (rw == RW_LATCH) {
        /* Before any mode word there is nothing to latch in. */
        if (!c->latch_state && c->rw) {
            c->latch = counter_value(c, now);
            c->latch_state = c->rw;
        }
        return;
    }
    int mode = (v >> 1) & 7;
    if (mode > 5)
        mode -= 4;                           /* 6, 7 are aliases of 2, 3 */
    c->mode = (uint8_t)mode;
    c->rw = (uint8_t)rw;
    c->bcd = v & 1;
    c->loaded = false;
    c->counting = false;
    c->paused = false;
    c->latch_state = 0;
    c->latch = 0;
    c->status_latched = false;
    c->write_msb_next = c->read_msb_next = false;
    if (sel == 0) {
        p->edges = 0;
        ch0_replan(p, now);                  /* a stopped channel disarms */
    }
}

static void write_data(struct pit *p, int idx, uint8_t v, uint64_t now)
{
    struct pit_channel *c = &p->ch[idx];
    switch (c->rw) {
    case RW_LSB:
        load_count(p, idx, v, now);
        break;
    case RW_MSB:
        load_count(p, idx, (uint16_t)(v << 8), now);
        break;
    case RW_WORD:
        if (!c->write_msb_next) {
            c->write_lsb = v;
            c->write_msb_next = true;
        } else {
            c->write_msb_next = false;
            load_count(p, idx, (uint16_t)(c->write_lsb | v << 8), now);
        }
        break;
    default:                                 /* no mode written yet */
        break;
    }
}

static uint8_t read_data(struct pit *p, int idx, uint64_t now)
{
    struct pit_channel *c = &p->ch[idx];
    if (c->status_latched) {
        c->status_latched = false;
        return c->status;
    }
    uint16_t v;
    bool msb;
    if (c->latch_state) {
        v = c->latch;
        msb = c->latch_state == RW_MSB;
        c->latch_state = c->latch_state == RW_WORD ? RW_MSB : 0;
    } else {
        v = counter_value(c, now);
        if (c->rw == RW_WORD) {
            msb = c->read_msb_next;
            c->read_msb_next = !c->read_msb_next;
        } else {
            msb = c->rw == RW_MSB;
        }
    }
    if (c->bcd)
        v = to_bcd(v);
    return msb ? (uint8_t)(v >> 8) : (uint8_t)v;
}

static uint64_t pit_read(void *opaque, uint64_t off, unsigned size)
{
    struct pit *p = opaque;
    (void)size;
    if (off >= 3)
        return 0xff;                         /* the control word is write-only */
    pthread_mutex_lock(&p->lock);
    uint8_t v = read_data(p, (int)off, timer_service_now(p->ts));
    pthread_mutex_unlock(&p->lock);
    return v;
}

static void pit_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct pit *p = opaque;
    (void)size;
    pthread_mutex_lock(&p->lock);
    uint64_t now = timer_service_now(p->ts);
    if (off == 3)
        write_control(p, (uint8_t)val, now);
    else
        write_data(p, (int)off, (uint8_t)val, now);
    pthread_mutex_unlock(&p->lock);
}

static uint64_t sysctl_read(void *opaque, uint64_t off, unsigned size)
{
    struct pit *p = opaque;
    (void)off; (void)size;
    pthread_mutex_lock(&p->lock);
    uint64_t now = timer_service_now(p->ts);
    uint8_t v = p->sysctl & 0x0f;
    if ((now / REFRESH_NS) & 1)
        v |= 0x10;
    if (out_level(&p->ch[2], now))
        v |= 0x20;
    pthread_mutex_unlock(&p->lock);
    return v;
}

static void sysctl_write(void *opaque, uint64_t off, unsigned size, uint64_t val)
{
    struct pit *p = opaque;
    (void)off; (void)size;
    pthread_mutex_lock(&p->lock);
    p->sysctl = (uint8_t)val & 0x0f;
    set_gate(p, 2, val & 1, timer_service_now(p->ts));
    pthread_mutex_unlock(&p->lock);
}

static const struct bus_ops pit_ops = { pit_read, pit_write };
static const struct bus_ops sysctl_ops = { sysctl_read, sysctl_write };

/* ---- state ------------------------------------------------------------------ */

int pit_save(struct pit *p, struct state_out *o)
{
    struct pit_snap sn;
    memset(&sn, 0, sizeof(sn));
    pthread_mutex_lock(&p->lock);
    uint64_t now = timer_service_now(p->ts);
    for (int i = 0; i < 3; i++) {
        const struct pit_channel *c = &p->ch[i];
        struct pit_channel_snap *d = &sn.ch[i];
        d->mode = c->mode;
        d->rw = c->rw;
        d->bcd = c->bcd;
        d->gate = c->gate;
        d->count = c->count;
        d->loaded = c->loaded;
        d->counting = c->counting;
        if (c->loaded && !c->paused && (int64_t)(now - c->start_ns) > 0)
            d->elapsed_ns = now - c->start_ns;
        d->paused = c->paused;
        d->paused_ticks = c->paused ? c->paused_ticks : 0;
        d->latch_state = c->latch_state;
        d->latch = c->latch_state ? c->latch : 0;
        d->status_latched = c->status_latched;
        d->status = c->status_latched ? c->status : 0;
        d->write_msb_next = c->write_msb_next;
        d->write_lsb = c->write_msb_next ? c->write_lsb : 0;
        d->read_msb_next = c->read_msb_next;
    }
    sn.port61 = p->sysctl & 0x0f;
    pthread_mutex_unlock(&p->lock);
    pit_snap_encode(&sn, o);
    return state_out_ok(o) ? 0 : -ENOMEM;
}

int pit_load(struct pit *p, struct state_in *in, struct err *e)
{
    struct pit_snap sn;
    int r = pit_snap_decode(in, &sn, e);
    if (r < 0)
        return r;
    pthread_mutex_lock(&p->lock);
    uint64_t now = timer_service_now(p->ts);
    for (int i = 0; i < 3; i++) {
        struct pit_channel *c = &p->ch[i];
        const struct pit_channel_snap *d = &sn.ch[i];
        c->mode = d->mode;
        c->rw = d->rw;
        c->bcd = d->bcd;
        c->gate = d->gate;
        c->count = d->count;
        c->loaded = d->loaded;
        c->counting = d->counting;
        c->start_ns = now - d->elapsed_ns;
        c->paused = d->paused;
        c->paused_ticks = d->paused_ticks;
        c->latch_state = d->latch_state;
        c->latch = d->latch;
        c->status_latched = d->status_latched;
        c->status = d->status;
        c->write_msb_next = d->write_msb_next;
        c->write_lsb = d->write_lsb;
        c->read_msb_next = d->read_msb_next;
    }
    p->sysctl = sn.port61;
    p->edges = 0;
    ch0_replan(p, now);
    pthread_mutex_unlock(&p->lock);
    return 0;
}

int pit_create(struct bus *pio, uint16_t port, uint16_t sysctl_port, struct guest_clock *clock,
               struct irq_line irq0, struct irqchip *ic, struct pit **out)
{
    struct pit *p = calloc(1, sizeof(*p));
    int r;
    if (!p)
        return -ENOMEM;
    p->pio = pio;
    p->port = port;
    p->sysctl_port = sysctl_port;
    p->irq0 = irq0;
    p->ic = ic;
    pthread_mutex_init(&p->lock, NULL);
    p->ch[0].gate = p->ch[1].gate = true;    /* only channel 2's gate is wired */
    for (int i = 0; i < 3; i++)
        p->ch[i].count = 65536;
    r = timer_service_get_clock(clock, &p->ts);
    if (r < 0)
        goto fail;
    r = timer_new(p->ts, ch0_timer_fired, p, &p->irq_timer);
    if (r < 0)
        goto fail;
    r = bus_register(pio, port, 4, &pit_ops, p, "pit");
    if (r < 0)
        goto fail;
    p->pio_registered = true;
    r = bus_register(pio, sysctl_port, 1, &sysctl_ops, p, "sysctl");
    if (r < 0)
        goto fail;
    p->sysctl_registered = true;
    /* Our own irqchip (engine emu) tells us when IRQ 0 becomes visible again. */
    if (ic)
        irqchip_on_unmask(ic, irq0.n, irq0_unmasked, p);
    *out = p;
    return 0;
fail:
    pit_destroy(p);
    return r;
}

void pit_destroy(struct pit *p)
{
    if (!p)
        return;
    if (p->ic)
        irqchip_on_unmask(p->ic, p->irq0.n, NULL, NULL);
    if (p->pio_registered)
        bus_unregister(p->pio, p->port);
    if (p->sysctl_registered)
        bus_unregister(p->pio, p->sysctl_port);
    /* timer_free waits for a running callback, which takes p->lock: not held here. */
    if (p->irq_timer)
        timer_free(p->irq_timer);
    timer_service_put(p->ts);
    pthread_mutex_destroy(&p->lock);
    free(p);
}
