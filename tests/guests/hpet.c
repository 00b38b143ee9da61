/* hpet: the HPET the ACPI table points at (0xfed00000).  Reads the
 * capabilities; checks the main counter runs at the advertised period
 * against the ACPI PM timer (3.579545 MHz) and, loosely, the TSC; a
 * one-shot comparator interrupts once through the IOAPIC input it picked
 * from INT_ROUTE_CAP; a periodic comparator set the way Linux sets it
 * (VAL_SET, then the period) delivers N interrupts and steps by the
 * period; a level-triggered comparator sets its status bit and holds it
 * (and the line) until written 1 to clear; a 32-bit comparator wraps at
 * 2^32 while the 64-bit main counter goes on; legacy replacement sends
 * timer 0 to IRQ 0's input (IOAPIC pin 2) whatever its route says. */
#include "lib/cpu64.h"
#include "lib/ioapic.h"

#define HPET_BASE   0xfed00000ull
#define R_CAP       0x000
#define R_CONF      0x010
#define R_ISR       0x020
#define R_COUNTER   0x0f0
#define T_CONF(n)   (0x100 + 0x20 * (n))
#define T_CMP(n)    (0x108 + 0x20 * (n))

#define CONF_ENABLE 1ull
#define CONF_LEGACY 2ull
#define TN_LEVEL    (1ull << 1)
#define TN_INT_ENB  (1ull << 2)
#define TN_PERIODIC (1ull << 3)
#define TN_PER_CAP  (1ull << 4)
#define TN_SIZE_CAP (1ull << 5)
#define TN_VAL_SET  (1ull << 6)
#define TN_32BIT    (1ull << 8)
#define TN_ROUTE(p) ((uint64_t)(p) << 9)

#define PM_TMR_PORT 0x608
#define PM_TMR_HZ   3579545ull

#define VEC_ONESHOT 0x40
#define VEC_PERIOD  0x41
#define VEC_LEVEL   0x42
#define VEC_LEGACY  0x43
#define VEC_STRAY   0x44

static inline uint64_t rd(uint32_t r) { return *(volatile uint64_t *)(uintptr_t)(HPET_BASE + r); }
static inline void wr(uint32_t r, uint64_t v) { *(volatile uint64_t *)(uintptr_t)(HPET_BASE + r) = v; }
static inline uint32_t rd32(uint32_t r) { return *(volatile uint32_t *)(uintptr_t)(HPET_BASE + r); }
static inline void wr32(uint32_t r, uint32_t v) { *(volatile uint32_t *)(uintptr_t)(HPET_BASE + r) = v; }

static volatile int hits[256];
static volatile uint64_t hit_counter[256];
static volatile uint64_t hit_cmp;
static uint64_t ticks_per_ms;

static void on_irq(struct frame *f)
{
    int v = (int)f->vector;
    hits[v]++;
    hit_counter[v] = rd(R_COUNTER);
    if (v == VEC_PERIOD && hits[v] == 1)
        hit_cmp = rd(T_CMP(0));
    lapic_write(LAPIC_EOI, 0);
}

static void on_level(struct frame *f)
{
    hits[f->vector]++;
    wr(R_ISR, 1ull << 1);        /* the line drops; then the EOI ends it */
    lapic_write(LAPIC_EOI, 0);
}

/* Interrupts on until hits[vec] reaches want or ms milliseconds of HPET
 * time pass (and, should the counter stall, about 10 s of TSC). */
static void wait_hits(int vec, int want, unsigned ms)
{
    uint64_t c0 = rd(R_COUNTER), t0 = rdtsc();
    sti();
    while (hits[vec] < want && rd(R_COUNTER) - c0 < ms * ticks_per_ms &&
           rdtsc() - t0 < 30000000000ull)
        cpu_pause();
    cli();
}

static void spin_ms(unsigned ms)
{
    uint64_t c0 = rd(R_COUNTER), t0 = rdtsc();
    while (rd(R_COUNTER) - c0 < ms * ticks_per_ms && rdtsc() - t0 < 30000000000ull)
        cpu_pause();
}

static int remote_irr(int pin)
{
    return (ioapic_read(0x10 + 2 * (uint32_t)pin) >> 14) & 1;
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("hpet: start\n");
    idt_init();
    for (int v = VEC_ONESHOT; v <= VEC_STRAY; v++)
        idt_set_handler(v, on_irq);
    idt_set_handler(VEC_LEVEL, on_level);
    pic_init();
    lapic_enable();
    uint32_t bsp = lapic_read(LAPIC_ID) >> 24;

    /* Capabilities. */
    uint64_t cap = rd(R_CAP);
    unsigned rev = cap & 0xff, ntimers = ((cap >> 8) & 0x1f) + 1;
    uint32_t period_fs = (uint32_t)(cap >> 32);
    gprintf("capabilities: rev %u, %u timers, %s counter, legacy %s, vendor %x, period %u fs\n",
            rev, ntimers, (cap >> 13) & 1 ? "64-bit" : "32-bit", (cap >> 15) & 1 ? "yes" : "no",
            (unsigned)(cap >> 16) & 0xffff, period_fs);
    if (rev == 0 || ntimers < 3 || !((cap >> 13) & 1) || !((cap >> 15) & 1) ||
        period_fs == 0 || period_fs > 100000000u)
        fail(1, "capabilities %lx: want a revision, 3 timers, a 64-bit counter, legacy "
             "replacement and a period of at most 100 ns", cap);
    if ((uint32_t)(cap >> 32) != rd32(R_CAP + 4) || (uint32_t)cap != rd32(R_CAP))
        fail(2, "32-bit reads of the capabilities disagree with the 64-bit read");
    ticks_per_ms = 1000000000000ull / period_fs;

    /* Halted: the counter holds what was written; then it runs. */
    wr(R_CONF, 0);
    wr(R_COUNTER, 0);
    wr32(R_COUNTER, 0x1234);
    wr32(R_COUNTER + 4, 0x5);
    uint64_t held = rd(R_COUNTER);
    for (int i = 0; i < 1000; i++)
        cpu_pause();
    if (held != 0x500001234ull || rd(R_COUNTER) != held)
        fail(3, "halted counter: wrote 500001234 in halves, read %lx then %lx", held,
             rd(R_COUNTER));
    wr(R_COUNTER, 0);
    wr(R_CONF, CONF_ENABLE);
    uint32_t p0 = inl(PM_TMR_PORT) & 0xffffff;
    uint64_t c0 = rd(R_COUNTER), t0 = rdtsc();
    uint32_t pm;
    do {
        pm = ((inl(PM_TMR_PORT) & 0xffffff) - p0) & 0xffffff;
    } while (pm < PM_TMR_HZ / 20);                     /* 50 ms of PM timer */
    uint64_t c1 = rd(R_COUNTER), t1 = rdtsc();
    uint64_t hpet_ns = (c1 - c0) * period_fs / 1000000, pm_ns = pm * 1000000000ull / PM_TMR_HZ;
    gprintf("counter: %lu ns of HPET in %lu ns of PM timer, %lu TSC ticks\n", hpet_ns, pm_ns,
            t1 - t0);
    if (hpet_ns * 10 < pm_ns * 8 || hpet_ns * 10 > pm_ns * 12)
        fail(4, "the counter ran %lu ns while the PM timer ran %lu ns (want within 20%%)",
             hpet_ns, pm_ns);
    /* Loosely: a TSC between 100 MHz and 20 GHz. */
    if ((t1 - t0) < hpet_ns / 10 || (t1 - t0) > hpet_ns * 20)
        fail(5, "the TSC ran %lu ticks in %lu ns of HPET time", t1 - t0, hpet_ns);
    gprintf("counter runs at the advertised period ok\n");

    /* One-shot on timer 2, to the first IOAPIC input it may use. */
    uint64_t t2 = rd(T_CONF(2));
    uint32_t route_cap = (uint32_t)(t2 >> 32);
    int pin = -1;
    for (int p = 3; p < 24 && pin < 0; p++)
        if (route_cap & (1u << p) && p != 8)
            pin = p;
    if (pin < 0)
        fail(6, "timer 2 can reach no IOAPIC input from 3 to 23 (INT_ROUTE_CAP %x)", route_cap);
    ioapic_route(pin, VEC_ONESHOT, bsp, 0);
    wr(T_CONF(2), TN_ROUTE(pin));
    if (((rd(T_CONF(2)) >> 9) & 0x1f) != (uint64_t)pin)
        fail(7, "timer 2 did not take route %d", pin);
    uint64_t cmp = rd(R_COUNTER) + 2 * ticks_per_ms;
    wr(T_CMP(2), cmp);
    wr(T_CONF(2), TN_ROUTE(pin) | TN_INT_ENB);
    wait_hits(VEC_ONESHOT, 1, 2000);
    wait_hits(VEC_ONESHOT, 2, 5);
    gprintf("one-shot: timer 2 via IOAPIC pin %d: %d interrupt(s)\n", pin, hits[VEC_ONESHOT]);
    if (hits[VEC_ONESHOT] != 1 || hit_counter[VEC_ONESHOT] < cmp)
        fail(8, "one-shot: %d interrupts, counter %lx at the first, comparator %lx",
             hits[VEC_ONESHOT], hit_counter[VEC_ONESHOT], cmp);
    wr(T_CONF(2), TN_ROUTE(pin));
    ioapic_route(pin, VEC_ONESHOT, bsp, 1);

    /* Periodic on timer 0, Linux's way: VAL_SET with the first deadline,
     * then the period. */
    if (!(rd(T_CONF(0)) & TN_PER_CAP))
        fail(9, "timer 0 has no periodic mode");
    int ppin = pin + 1 < 24 && (route_cap & (1u << (pin + 1))) ? pin + 1 : pin;
    ioapic_route(ppin, VEC_PERIOD, bsp, 0);
    uint64_t period = ticks_per_ms;
    wr(T_CONF(0), TN_ROUTE(ppin) | TN_INT_ENB | TN_PERIODIC | TN_VAL_SET);
    wr(T_CMP(0), rd(R_COUNTER) + period);
    wr(T_CMP(0), period);
    wait_hits(VEC_PERIOD, 5, 5000);
    wr(T_CONF(0), TN_ROUTE(ppin));
    int n = hits[VEC_PERIOD];
    uint64_t cmp_now = rd(T_CMP(0));
    gprintf("periodic: %d interrupts, comparator %lx after %lx\n", n, cmp_now, hit_cmp);
    if (n < 5 || cmp_now <= hit_cmp || (cmp_now - hit_cmp) % period)
        fail(10, "periodic: %d interrupts (want 5), comparator %lx then %lx (want steps of %lx)",
             n, hit_cmp, cmp_now, period);
    gprintf("periodic: 5 interrupts, the comparator steps by the period ok\n");
    ioapic_route(ppin, VEC_PERIOD, bsp, 1);

    /* Level on timer 1: the status bit and the line hold until cleared. */
    ioapic_write(0x11 + 2 * (uint32_t)pin, bsp << 24);
    ioapic_write(0x10 + 2 * (uint32_t)pin, VEC_LEVEL | 1u << 15);
    wr(R_ISR, 7);
    wr(T_CMP(1), rd(R_COUNTER) + ticks_per_ms);
    wr(T_CONF(1), TN_ROUTE(pin) | TN_INT_ENB | TN_LEVEL);
    spin_ms(3);
    uint64_t isr1 = rd(R_ISR);
    spin_ms(3);
    uint64_t isr2 = rd(R_ISR);
    int irr = remote_irr(pin);
    wait_hits(VEC_LEVEL, 1, 2000);        /* the handler clears the bit, then EOIs */
    wait_hits(VEC_LEVEL, 2, 5);
    uint64_t isr3 = rd(R_ISR);
    int irr_after = remote_irr(pin);
    gprintf("level: status %lx, still %lx, remote IRR %d; %d interrupt(s), then status %lx "
            "remote IRR %d\n", isr1, isr2, irr, hits[VEC_LEVEL], isr3, irr_after);
    if (isr1 != 2 || isr2 != 2 || irr != 1 || hits[VEC_LEVEL] != 1 || isr3 != 0 || irr_after)
        fail(11, "level: want the status bit set and held, remote IRR set, 1 interrupt, "
             "then both clear");
    gprintf("level: status bit held until cleared, 1 interrupt ok\n");
    wr(T_CONF(1), TN_ROUTE(pin));
    ioapic_route(pin, VEC_LEVEL, bsp, 1);

    /* 32-bit mode on timer 1: the comparator keeps 32 bits and wraps. */
    wr(R_CONF, 0);
    wr(R_COUNTER, 0xfffff000ull);
    wr(T_CONF(1), TN_ROUTE(pin) | TN_32BIT | TN_PERIODIC | TN_VAL_SET | TN_INT_ENB);
    wr(T_CMP(1), 0xabcd0000fffff800ull);   /* upper half dropped */
    wr(T_CMP(1), 0x100000);                /* the period: 2^20 ticks */
    uint64_t cmp32 = rd(T_CMP(1));
    wr(R_CONF, CONF_ENABLE);
    spin_ms(2);
    uint64_t cmp_wrapped = rd(T_CMP(1)), cnt = rd(R_COUNTER);
    wr(T_CONF(1), TN_ROUTE(pin));
    wr(R_ISR, 7);
    gprintf("32-bit: comparator %lx, after the match %lx, counter %lx\n", cmp32, cmp_wrapped,
            cnt);
    if (cmp32 != 0xfffff800ull || cmp_wrapped != 0xfffff800ull + 0x100000 - 0x100000000ull ||
        cnt <= 0xffffffffull)
        fail(12, "32-bit mode: want comparator fffff800, then 000ff800 (wrapped), and the "
             "64-bit counter past 2^32");
    gprintf("32-bit mode: the comparator wraps, the counter goes on ok\n");

    /* Legacy replacement: timer 0 to IRQ 0's input whatever its route. */
    int lpin = ppin;
    ioapic_route(2, VEC_LEGACY, bsp, 0);
    ioapic_route(lpin, VEC_STRAY, bsp, 0);
    wr(R_CONF, CONF_ENABLE | CONF_LEGACY);
    wr(T_CMP(0), rd(R_COUNTER) + ticks_per_ms);
    wr(T_CONF(0), TN_ROUTE(lpin) | TN_INT_ENB);
    wait_hits(VEC_LEGACY, 1, 2000);
    wait_hits(VEC_LEGACY, 2, 5);
    wr(T_CONF(0), 0);
    wr(R_CONF, CONF_ENABLE);
    ioapic_route(2, VEC_LEGACY, bsp, 1);
    ioapic_route(lpin, VEC_STRAY, bsp, 1);
    gprintf("legacy: timer 0 on IOAPIC pin 2: %d interrupt(s), on its own route: %d\n",
            hits[VEC_LEGACY], hits[VEC_STRAY]);
    if (hits[VEC_LEGACY] != 1 || hits[VEC_STRAY] != 0)
        fail(13, "legacy replacement: want 1 interrupt on pin 2 and none on pin %d", lpin);
    gprintf("hpet: ok\n");
}
