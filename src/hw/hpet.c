/* The HPET: the main counter is computed from the machine's guest clock
 * (10 ns a tick), never stepped; each enabled comparator arms a timer of
 * the machine's timer service for the guest time its match is due, and
 * nothing runs while none is.  Registers are 64-bit and take 32-bit
 * halves; the layout and semantics follow IA-PC HPET 1.0a, and periodic
 * comparators the accumulator rule Linux relies on: a comparator write
 * with VAL_SET sets the comparator and the period, one without it sets only
 * the period. */
#include "hw/hpet.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "lib/err.h"
#include "lib/state.h"

#define NS_PER_TICK     (HPET_PERIOD_FS / 1000000u)

/* Register offsets. */
#define R_CAP           0x000
#define R_CONF          0x010
#define R_ISR           0x020
#define R_COUNTER       0x0f0
#define R_TIMER0        0x100
#define TIMER_STRIDE    0x20
#define T_CONF          0x00
#define T_CMP           0x08
#define T_FSB           0x10

/* General configuration. */
#define CONF_ENABLE     (1ull << 0)
#define CONF_LEGACY     (1ull << 1)

/* Timer configuration and capabilities. */
#define TN_LEVEL        (1ull << 1)
#define TN_INT_ENB      (1ull << 2)
#define TN_PERIODIC     (1ull << 3)
#define TN_PER_CAP      (1ull << 4)
#define TN_SIZE_CAP     (1ull << 5)
#define TN_VAL_SET      (1ull << 6)
#define TN_32BIT        (1ull << 8)
#define TN_ROUTE_SHIFT  9
#define TN_ROUTE_MASK   (0x1full << TN_ROUTE_SHIFT)
#define TN_WRITABLE     (TN_LEVEL | TN_INT_ENB | TN_PERIODIC | TN_VAL_SET | TN_32BIT | \
                         TN_ROUTE_MASK)
#define TN_RO_CAPS      (TN_PER_CAP | TN_SIZE_CAP | ((uint64_t)HPET_ROUTE_CAP << 32))

struct hpet;

struct hpet_timer {
    struct hpet *h;
    int index;
    uint64_t config;       /* the writable bits only */
    uint64_t cmp;          /* the comparator (the accumulator in periodic mode) */
    uint64_t period;
    struct timer *timer;
    bool armed;
    uint64_t target;       /* main counter value of the armed match */
    int held_gsi;          /* the GSI a level interrupt holds up; -1 none */
};

struct hpet {
    pthread_mutex_t lock;
    struct bus *mmio;
    uint64_t base;
    bool registered;
    struct timer_service *ts;
    hpet_route_fn route;
    void *route_opaque;
    uint64_t conf;
    uint64_t isr;
    uint64_t cnt_base;     /* the counter at ns_base (while running), or its value */
    uint64_t ns_base;
    struct hpet_timer t[HPET_TIMERS];
};

static uint64_t capabilities(void)
{
    return 1u                                    /* REV_ID */
           | (uint64_t)(HPET_TIMERS - 1) << 8    /* NUM_TIM_CAP: the last timer's index */
           | 1ull << 13                          /* COUNT_SIZE_CAP: 64-bit */
           | 1ull << 15                          /* LEG_RT_CAP */
           | (uint64_t)HPET_VENDOR_ID << 16
           | (uint64_t)HPET_PERIOD_FS << 32;
}

static uint64_t counter_at(const struct hpet *h, uint64_t now)
{
    if (!(h->conf & CONF_ENABLE))
        return h->cnt_base;
    return h->cnt_base + (now > h->ns_base ? (now - h->ns_base) / NS_PER_TICK : 0);
}

static uint64_t width_mask(const struct hpet_timer *t)
{
    return (t->config & TN_32BIT) ? 0xffffffffull : ~0ull;
}

/* The GSI timer t interrupts on: legacy replacement wins for timers 0 and 1. */
static unsigned timer_gsi(const struct hpet_timer *t)
{
    if (t->h->conf & CONF_LEGACY) {
        if (t->index == 0)
            return 0;        /* IRQ 0: the 8259's input 0 and IOAPIC input 2 */
        if (t->index == 1)
            return 8;
    }
    unsigned pin = (unsigned)((t->config & TN_ROUTE_MASK) >> TN_ROUTE_SHIFT);
    return pin == 2 ? 0 : pin;
}

static bool timer_live(const struct hpet_timer *t)
{
    return (t->h->conf & CONF_ENABLE) && (t->config & TN_INT_ENB);
}

/* Drives a level timer's line to what status and configuration say. */
static void update_level(struct hpet_timer *t)
{
    struct hpet *h = t->h;
    int want = -1;
    if ((t->config & TN_LEVEL) && (h->isr & (1u << t->index)) && timer_live(t))
        want = (int)timer_gsi(t);
    if (want == t->held_gsi)
        return;
    if (t->held_gsi >= 0) {
        struct irq_line l = h->route(h->route_opaque, (unsigned)t->held_gsi);
        irq_set(&l, 0);
    }
    if (want >= 0) {
        struct irq_line l = h->route(h->route_opaque, (unsigned)want);
        irq_set(&l, 1);
    }
    t->held_gsi = want;
}

static void fire(struct hpet_timer *t)
{
    struct hpet *h = t->h;
    if (t->config & TN_LEVEL) {
        h->isr |= 1u << t->index;
        update_level(t);
    } else {
        struct irq_line l = h->route(h->route_opaque, timer_gsi(t));
        irq_pulse(&l);
    }
}

/* Arms t for its next match (or, 32-bit one-shot, the counter's 32-bit wrap). */
static void replan(struct hpet_timer *t, uint64_t now)
{
    struct hpet *h = t->h;
    t->armed = false;
    if (!timer_live(t)) {
        timer_cancel(t->timer);
        return;
    }
    uint64_t c = counter_at(h, now), mask = width_mask(t);
    uint64_t diff = (t->cmp - c) & mask;
    if (diff == 0)
        diff = mask;         /* just matched: the next match is a full turn away */
    if ((t->config & TN_32BIT) && !(t->config & TN_PERIODIC)) {
        uint64_t wrap = 0x100000000ull - (c & 0xffffffffull);
        if (wrap < diff)
            diff = wrap;
    }
    if (diff > (~0ull - now) / NS_PER_TICK / 2) {
        timer_cancel(t->timer);   /* centuries away */
        return;
    }
    t->target = c + diff;
    t->armed = true;
    timer_arm(t->timer, h->ns_base + (t->target - h->cnt_base) * NS_PER_TICK);
}

static void replan_all(struct hpet *h, uint64_t now)
{
    for (int i = 0; i < HPET_TIMERS; i++) {
        replan(&h->t[i], now);
        update_level(&h->t[i]);
    }
}

/* Timer t's match, when the counter has reached it (h->lock held): its
 * interrupt, and the next match planned.  Returns whether it was due. */
static bool service(struct hpet_timer *t, uint64_t now)
{
    struct hpet *h = t->h;
    if (!t->armed || !timer_live(t))
        return false;
    uint64_t c = counter_at(h, now);
    if (c < t->target)
        return false;
    uint64_t mask = width_mask(t);
    bool matched = ((t->target ^ t->cmp) & mask) == 0;
    if ((t->config & TN_PERIODIC) && matched && t->period) {
        /* Late by several periods: one interrupt, the next on schedule. */
        uint64_t p = t->period & mask;
        uint64_t n = p ? (c - t->target) / p + 1 : 1;
        t->cmp = (t->cmp + n * p) & mask;
    }
    fire(t);
    replan(t, now);
    return true;
}

static void timer_fired(void *opaque)
{
    struct hpet_timer *t = opaque;
    struct hpet *h = t->h;
    pthread_mutex_lock(&h->lock);
    uint64_t now = timer_service_now(h->ts);
    if (t->armed && timer_live(t) && !service(t, now))   /* early: wait on */
        timer_arm(t->timer, h->ns_base + (t->target - h->cnt_base) * NS_PER_TICK);
    pthread_mutex_unlock(&h->lock);
}

/* A guest that reads the HPET sees every match the counter has passed,
 * as on hardware, even when the timer thread has not run yet (a loaded
 * host): the status bit of a level timer reads 1 from its match on. */
static void catch_up(struct hpet *h, uint64_t now)
{
    for (int i = 0; i < HPET_TIMERS; i++)
        service(&h->t[i], now);
}

static uint64_t read_reg(struct hpet *h, uint64_t reg, uint64_t now)
{
    switch (reg) {
    case R_CAP: return capabilities();
    case R_CONF: return h->conf;
    case R_ISR: return h->isr;
    case R_COUNTER: return counter_at(h, now);
    }
    if (reg >= R_TIMER0 && reg < R_TIMER0 + HPET_TIMERS * TIMER_STRIDE) {
        struct hpet_timer *t = &h->t[(reg - R_TIMER0) / TIMER_STRIDE];
        switch ((reg - R_TIMER0) % TIMER_STRIDE) {
        case T_CONF: return t->config | TN_RO_CAPS;
        case T_CMP: return t->cmp & width_mask(t);
        case T_FSB: return 0;
        }
    }
    return 0;
}

/* value: the register's new contents where written (bits in mask), its old ones elsewhere. */
static void write_reg(struct hpet *h, uint64_t reg, uint64_t value, uint64_t mask, uint64_t now)
{
    switch (reg) {
    case R_CONF: {
        uint64_t c = counter_at(h, now);
        h->conf = value & (CONF_ENABLE | CONF_LEGACY);
        h->cnt_base = c;     /* running or halted, the count goes on from here */
        h->ns_base = now;
        replan_all(h, now);
        return;
    }
    case R_ISR:
        h->isr &= ~(value & mask);           /* write 1 to clear */
        for (int i = 0; i < HPET_TIMERS; i++)
            update_level(&h->t[i]);
        return;
    case R_COUNTER:
        h->cnt_base = value;
        h->ns_base = now;
        replan_all(h, now);
        return;
    }
    if (reg < R_TIMER0 || reg >= R_TIMER0 + HPET_TIMERS * TIMER_STRIDE)
        return;
    struct hpet_timer *t = &h->t[(reg - R_TIMER0) / TIMER_STRIDE];
    switch ((reg - R_TIMER0) % TIMER_STRIDE) {
    case T_CONF: {
        uint64_t old = t->config, v = value & TN_WRITABLE;
        unsigned pin = (unsigned)((v & TN_ROUTE_MASK) >> TN_ROUTE_SHIFT);
        if (!(HPET_ROUTE_CAP & (1u << pin)))   /* an input it cannot reach: kept */
            v = (v & ~TN_ROUTE_MASK) | (old & TN_ROUTE_MASK);
        t->config = v;
        if (v & TN_32BIT) {
            t->cmp &= 0xffffffffull;
            t->period &= 0xffffffffull;
        }
        break;
    }
    case T_CMP: {
        uint64_t m = width_mask(t);
        uint64_t merged_cmp = ((t->cmp & ~mask) | (value & mask)) & m;
        uint64_t merged_per = ((t->period & ~mask) | (value & mask)) & m;
        if (!(t->config & TN_PERIODIC) || (t->config & TN_VAL_SET))
            t->cmp = merged_cmp;
        t->period = merged_per;
        t->config &= ~TN_VAL_SET;
        break;
    }
    default:
        return;                              /* FSB: not supported */
    }
    replan(t, now);
    update_level(t);
}

static uint64_t hpet_read(void *opaque, uint64_t offset, unsigned size)
{
    struct hpet *h = opaque;
    if ((size != 4 && size != 8) || (offset & (size - 1)))
        return ~0ull;
    pthread_mutex_lock(&h->lock);
    uint64_t now = timer_service_now(h->ts);
    catch_up(h, now);
    uint64_t v = read_reg(h, offset & ~7ull, now);
    pthread_mutex_unlock(&h->lock);
    if (size == 4)
        v = (uint32_t)(v >> ((offset & 4) * 8));
    return v;
}

static void hpet_write(void *opaque, uint64_t offset, unsigned size, uint64_t value)
{
    struct hpet *h = opaque;
    if ((size != 4 && size != 8) || (offset & (size - 1)))
        return;
    uint64_t reg = offset & ~7ull, mask = ~0ull;
    pthread_mutex_lock(&h->lock);
    uint64_t now = timer_service_now(h->ts);
    if (size == 4) {
        unsigned shift = (unsigned)(offset & 4) * 8;
        mask = 0xffffffffull << shift;
        uint64_t old = read_reg(h, reg, now);
        value = (old & ~mask) | ((value & 0xffffffffull) << shift);
    }
    write_reg(h, reg, value, mask, now);
    pthread_mutex_unlock(&h->lock);
}

static const struct bus_ops hpet_ops = { .read = hpet_read, .write = hpet_write };

int hpet_create(struct bus *mmio, uint64_t base, struct guest_clock *clock, hpet_route_fn route,
                void *route_opaque, struct hpet **out)
{
    struct hpet *h = calloc(1, sizeof(*h));
    int r;
    if (!h)
        return -ENOMEM;
    pthread_mutex_init(&h->lock, NULL);
    h->mmio = mmio;
    h->base = base;
    h->route = route;
    h->route_opaque = route_opaque;
    r = timer_service_get_clock(clock, &h->ts);
    if (r < 0) {
        h->ts = NULL;
        goto fail;
    }
    for (int i = 0; i < HPET_TIMERS; i++) {
        struct hpet_timer *t = &h->t[i];
        t->h = h;
        t->index = i;
        t->held_gsi = -1;
        t->cmp = t->period = ~0ull;          /* reset: all ones */
        r = timer_new(h->ts, timer_fired, t, &t->timer);
        if (r < 0)
            goto fail;
    }
    h->ns_base = timer_service_now(h->ts);
    r = bus_register(mmio, base, HPET_MMIO_SIZE, &hpet_ops, h, "hpet");
    if (r < 0)
        goto fail;
    h->registered = true;
    *out = h;
    return 0;
fail:
    hpet_destroy(h);
    return r;
}

void hpet_destroy(struct hpet *h)
{
    if (!h)
        return;
    if (h->registered)
        bus_unregister(h->mmio, h->base);
    /* timer_free waits for a running callback, which takes h->lock: not held here. */
    for (int i = 0; i < HPET_TIMERS; i++)
        if (h->t[i].timer)
            timer_free(h->t[i].timer);
    for (int i = 0; i < HPET_TIMERS; i++)
        if (h->t[i].held_gsi >= 0) {
            struct irq_line l = h->route(h->route_opaque, (unsigned)h->t[i].held_gsi);
            irq_set(&l, 0);
        }
    if (h->ts)
        timer_service_put(h->ts);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

/* ---- snapshots ------------------------------------------------------------ */

int hpet_save(struct hpet *h, struct state_out *o)
{
    pthread_mutex_lock(&h->lock);
    st_put_u64(o, h->conf);
    st_put_u64(o, counter_at(h, timer_service_now(h->ts)));
    st_put_u8(o, (uint8_t)h->isr);
    for (int i = 0; i < HPET_TIMERS; i++) {
        st_put_u64(o, h->t[i].config);
        st_put_u64(o, h->t[i].cmp);
        st_put_u64(o, h->t[i].period);
    }
    pthread_mutex_unlock(&h->lock);
    return state_out_ok(o) ? 0 : -ENOMEM;
}

int hpet_load(struct hpet *h, struct state_in *in, struct err *e)
{
    uint64_t conf = st_get_u64(in), counter = st_get_u64(in);
    uint8_t isr = st_get_u8(in);
    uint64_t config[HPET_TIMERS], cmp[HPET_TIMERS], period[HPET_TIMERS];
    for (int i = 0; i < HPET_TIMERS; i++) {
        config[i] = st_get_u64(in);
        cmp[i] = st_get_u64(in);
        period[i] = st_get_u64(in);
    }
    if (in->bad)
        return err_set(e, -EINVAL, "hpet: the saved state is cut short");
    if (conf & ~(CONF_ENABLE | CONF_LEGACY))
        return err_set(e, -EINVAL, "hpet: configuration %#llx has bits the HPET does not have",
                       (unsigned long long)conf);
    if (isr >> HPET_TIMERS)
        return err_set(e, -EINVAL, "hpet: interrupt status %#x names timers past %d", isr,
                       HPET_TIMERS - 1);
    for (int i = 0; i < HPET_TIMERS; i++) {
        unsigned pin = (unsigned)((config[i] & TN_ROUTE_MASK) >> TN_ROUTE_SHIFT);
        if (config[i] & ~TN_WRITABLE)
            return err_set(e, -EINVAL, "hpet: timer %d configuration %#llx has bits that "
                           "are not settable", i, (unsigned long long)config[i]);
        if (pin && !(HPET_ROUTE_CAP & (1u << pin)))
            return err_set(e, -EINVAL, "hpet: timer %d is routed to IOAPIC input %u, which "
                           "it cannot reach", i, pin);
        if ((config[i] & TN_32BIT) && ((cmp[i] | period[i]) >> 32))
            return err_set(e, -EINVAL, "hpet: timer %d is in 32-bit mode but its comparator "
                           "or period has upper bits", i);
    }
    pthread_mutex_lock(&h->lock);
    uint64_t now = timer_service_now(h->ts);
    h->conf = conf;
    h->cnt_base = counter;
    h->ns_base = now;
    h->isr = isr;
    for (int i = 0; i < HPET_TIMERS; i++) {
        h->t[i].config = config[i];
        h->t[i].cmp = cmp[i];
        h->t[i].period = period[i];
        /* Driven even when it looks unchanged: the controller is fresh too. */
        h->t[i].held_gsi = -1;
    }
    replan_all(h, now);
    pthread_mutex_unlock(&h->lock);
    return 0;
}
