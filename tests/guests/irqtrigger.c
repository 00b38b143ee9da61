/* irqtrigger: the I/O APIC's trigger modes, with the RTC's periodic
 * interrupt holding IRQ 8 asserted (register C unread) and a handler that
 * neither reads C nor EOIs.  Edge-triggered pin 8: one interrupt, and none
 * after an EOI (no new edge).  Level-triggered: remote IRR is set with the
 * first interrupt and blocks the pin; the EOI, which the local APIC
 * broadcasts to the I/O APIC, clears it and the still-asserted line
 * delivers again; once C is read (line low) an EOI clears remote IRR and
 * nothing more comes. */
#include "lib/cpu64.h"
#include "lib/ioapic.h"

#define VEC_RTC 0x38
#define PIN_RTC 8

static volatile int held_ticks;

static void on_rtc_held(struct frame *f)
{
    (void)f;
    held_ticks++;
}

static void on_spurious(struct frame *f)
{
    (void)f;
}

/* Interrupts on until held_ticks reaches want or about ms milliseconds
 * pass (TSC at 2 GHz or so): waits for what must come end early, so only
 * the checks that nothing more comes depend on the window's length. */
static void open_window(unsigned ms, int want)
{
    sti();
    for (uint64_t t = rdtsc(); rdtsc() - t < ms * 2000000ull && held_ticks < want;)
        cpu_pause();
    cli();
}

static int remote_irr(int pin)
{
    return (ioapic_read(0x10 + 2 * (uint32_t)pin) >> 14) & 1;
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("irqtrigger: start\n");
    idt_init();
    idt_set_handler(VEC_RTC, on_rtc_held);
    idt_set_handler(0xff, on_spurious);
    pic_init();
    lapic_enable();
    uint32_t bsp = lapic_read(LAPIC_ID) >> 24;
    uint8_t a = cmos_read(0x0a), b = cmos_read(0x0b);
    cmos_write(0x0a, (uint8_t)((a & 0xf0) | 0x06));   /* 1024 Hz */

    /* Edge: one interrupt per rising edge, EOI or not. */
    (void)cmos_read(0x0c);
    ioapic_route(PIN_RTC, VEC_RTC, bsp, 0);
    cmos_write(0x0b, (uint8_t)(b | 0x40));            /* PIE */
    open_window(2000, 1);
    lapic_write(LAPIC_EOI, 0);
    open_window(5, 2);
    int edge = held_ticks;
    cmos_write(0x0b, b);
    ioapic_route(PIN_RTC, VEC_RTC, bsp, 1);
    (void)cmos_read(0x0c);
    lapic_write(LAPIC_EOI, 0);
    gprintf("edge pin 8, IRQ 8 held: %d interrupt(s)\n", edge);
    if (edge != 1)
        fail(1, "edge-triggered pin 8 with IRQ 8 held: %d interrupts, expected 1", edge);

    /* Level: remote IRR blocks the pin until the EOI. */
    held_ticks = 0;
    ioapic_write(0x11 + 2 * PIN_RTC, bsp << 24);
    ioapic_write(0x10 + 2 * PIN_RTC, VEC_RTC | 1u << 15);
    cmos_write(0x0b, (uint8_t)(b | 0x40));
    open_window(2000, 1);
    open_window(5, 2);                  /* remote IRR must hold the pin */
    int first = held_ticks, irr1 = remote_irr(PIN_RTC);
    lapic_write(LAPIC_EOI, 0);          /* broadcast: clears remote IRR, the line is still up */
    open_window(2000, 2);
    open_window(5, 3);
    int second = held_ticks, irr2 = remote_irr(PIN_RTC);
    cmos_write(0x0b, b);                /* no new periodic flags */
    (void)cmos_read(0x0c);              /* deasserts IRQ 8 */
    lapic_write(LAPIC_EOI, 0);
    open_window(5, 3);
    int third = held_ticks, irr3 = remote_irr(PIN_RTC);
    ioapic_route(PIN_RTC, VEC_RTC, bsp, 1);
    gprintf("level pin 8: %d interrupt(s) remote IRR %d; after EOI %d remote IRR %d; "
            "line low, after EOI %d remote IRR %d\n", first, irr1, second, irr2, third, irr3);
    if (first != 1 || irr1 != 1 || second != 2 || irr2 != 1 || third != 2 || irr3 != 0)
        fail(2, "level-triggered pin 8: expected 1 interrupt with remote IRR set, 2 after the "
             "EOI (remote IRR set again), still 2 with the line low and remote IRR clear");
    gprintf("irqtrigger: ok\n");
}
