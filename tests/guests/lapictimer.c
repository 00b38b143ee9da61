/* lapictimer: the local APIC timer's modes beyond the interrupts guest's
 * one-shot and periodic counts.  A masked LVT counts down without an
 * interrupt; initial count 0 stops the timer; in periodic mode the current
 * count reloads from the initial count; switching periodic to one-shot
 * mid-count ends with at most one more interrupt and a count of 0.  Time is
 * measured with the TSC only to wait; no check depends on its rate (the
 * divide ratio, tried, depended on host scheduling: not checked). */
#include "lib/cpu64.h"

#define VEC_TIMER 0x40
#define LVT_MASKED (1u << 16)
#define LVT_PERIODIC (1u << 17)

static volatile int ticks;

static void on_timer(struct frame *f)
{
    (void)f;
    ticks++;
    lapic_write(LAPIC_EOI, 0);
}

static void on_spurious(struct frame *f)
{
    (void)f;
}

static void spin(uint64_t cycles, int irqs_on)
{
    if (irqs_on)
        sti();
    for (uint64_t t = rdtsc(); rdtsc() - t < cycles;)
        cpu_pause();
    cli();
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("lapictimer: start\n");
    idt_init();
    pic_init();
    idt_set_handler(VEC_TIMER, on_timer);
    idt_set_handler(0xff, on_spurious);
    lapic_enable();

    /* Masked: the count runs, no interrupt. */
    lapic_write(LAPIC_TIMER_DIV, 0xb);                 /* divide by 1 */
    lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | LVT_MASKED);
    lapic_write(LAPIC_TIMER_INIT, 1000);
    spin(20000000, 1);
    uint32_t cur = lapic_read(LAPIC_TIMER_CUR);
    if (ticks != 0 || cur != 0)
        fail(1, "masked one-shot of 1000: %d interrupts, current count %u; expected 0 and 0",
             ticks, cur);
    gprintf("masked LVT: counted to 0, no interrupt ok\n");

    /* Initial count 0 stops it. */
    lapic_write(LAPIC_LVT_TIMER, VEC_TIMER);
    lapic_write(LAPIC_TIMER_INIT, 0xffffffffu);
    spin(200000, 0);
    lapic_write(LAPIC_TIMER_INIT, 0);
    uint32_t c1 = lapic_read(LAPIC_TIMER_CUR);
    spin(2000000, 1);
    if (c1 != 0 || lapic_read(LAPIC_TIMER_CUR) != 0 || ticks != 0)
        fail(2, "initial count 0: current count %u then %u, %d interrupts; expected 0, 0, 0",
             c1, lapic_read(LAPIC_TIMER_CUR), ticks);
    gprintf("initial count 0 stops the timer ok\n");

    /* Periodic: the count reloads; then one-shot mid-count fires once more. */
    lapic_write(LAPIC_TIMER_DIV, 0xb);
    lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | LVT_PERIODIC);
    lapic_write(LAPIC_TIMER_INIT, 200000);
    int seen_reload = 0;
    uint32_t prev = lapic_read(LAPIC_TIMER_CUR);
    sti();
    for (uint64_t t = rdtsc(); rdtsc() - t < 400000000ull && (ticks < 3 || !seen_reload);) {
        uint32_t c = lapic_read(LAPIC_TIMER_CUR);
        if (c > prev)
            seen_reload = 1;
        if (c > 200000)
            fail(4, "periodic: current count %u above the initial count 200000", c);
        prev = c;
    }
    cli();
    if (ticks < 3 || !seen_reload)
        fail(4, "periodic timer of 200000: %d interrupts, reload %s", ticks,
             seen_reload ? "seen" : "never seen");
    gprintf("periodic: %s interrupts, the count reloads ok\n", ticks >= 3 ? "3 or more" : "few");

    lapic_write(LAPIC_LVT_TIMER, VEC_TIMER);           /* one-shot from here on */
    int before = ticks;
    spin(100000000ull, 1);
    int after = ticks;
    cur = lapic_read(LAPIC_TIMER_CUR);
    lapic_write(LAPIC_TIMER_INIT, 0);
    if (after - before > 1 || cur != 0)
        fail(5, "periodic switched to one-shot: %d more interrupts, count %u; expected at most "
             "1 and 0", after - before, cur);
    gprintf("periodic switched to one-shot: counts out once ok\n");
    gprintf("lapictimer: ok\n");
}
