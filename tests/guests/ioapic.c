/* ioapic: interrupts the way an ACPI-era OS (Linux) takes them, with the
 * 8259s masked: the PIT through I/O APIC pin 2 (ISA IRQ 0's usual override)
 * and the RTC's periodic interrupt through pin 8, both to the BSP's local
 * APIC; 20 ticks each with STI/HLT.  Also checks the I/O APIC's version
 * register and that a redirection entry reads back. */
#include "lib/cpu64.h"
#include "lib/ioapic.h"

#define VEC_PIT 0x30
#define VEC_RTC 0x38
#define PIN_PIT 2
#define PIN_RTC 8
#define TICKS_WANTED 20

static volatile int pit_ticks, rtc_ticks, rtc_bad_flags;

static void on_pit(struct frame *f)
{
    (void)f;
    pit_ticks++;
    lapic_write(LAPIC_EOI, 0);
}

static void on_rtc(struct frame *f)
{
    (void)f;
    /* Reading C acknowledges the RTC; without it no further interrupt. */
    uint8_t c = cmos_read(0x0c);
    if ((c & 0xc0) != 0xc0)
        rtc_bad_flags++;
    rtc_ticks++;
    lapic_write(LAPIC_EOI, 0);
}

static void on_spurious(struct frame *f)
{
    (void)f;
}

static int wait_ticks(volatile int *counter, int want)
{
    for (long i = 0; i < 200000 && *counter < want; i++)
        sti_hlt();
    cli();
    return *counter;
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("ioapic: start\n");
    idt_init();
    idt_set_handler(VEC_PIT, on_pit);
    idt_set_handler(VEC_RTC, on_rtc);
    idt_set_handler(0xff, on_spurious);
    pic_init();                         /* remapped and fully masked */
    lapic_enable();
    uint32_t bsp = lapic_read(LAPIC_ID) >> 24;

    uint32_t ver = ioapic_read(0x01);
    unsigned pins = ((ver >> 16) & 0xff) + 1;
    gprintf("ioapic id %x version %x, %u pins\n", ioapic_read(0x00) >> 24, ver & 0xff, pins);
    if ((ver & 0xff) < 0x11 || pins < 24)
        fail(1, "I/O APIC version register %x: expected version >= 0x11 and 24 pins", ver);

    ioapic_route(PIN_PIT, VEC_PIT, bsp, 1);
    uint32_t lo = ioapic_read(0x10 + 2 * PIN_PIT), hi = ioapic_read(0x11 + 2 * PIN_PIT);
    if ((lo & 0x1ffff) != (VEC_PIT | 1u << 16) || hi >> 24 != bsp)
        fail(2, "redirection entry %d reads %x:%x, expected vector %x masked, dest %u",
             PIN_PIT, hi, lo, VEC_PIT, bsp);

    outb(0x43, 0x34);                   /* PIT channel 0, mode 2, ~1 kHz */
    outb(0x40, 1193 & 0xff);
    outb(0x40, 1193 >> 8);
    ioapic_route(PIN_PIT, VEC_PIT, bsp, 0);
    int n = wait_ticks(&pit_ticks, TICKS_WANTED);
    ioapic_route(PIN_PIT, VEC_PIT, bsp, 1);
    gprintf("pit ticks via ioapic pin %d: %d\n", PIN_PIT, n);
    if (n < TICKS_WANTED)
        fail(3, "the PIT gave %d ticks through I/O APIC pin %d, expected %d", n, PIN_PIT,
             TICKS_WANTED);

    /* RTC periodic interrupt at 1024 Hz (rate 6, 32.768 kHz time base). */
    uint8_t a = cmos_read(0x0a), b = cmos_read(0x0b);
    cmos_write(0x0a, (uint8_t)((a & 0xf0) | 0x06));
    (void)cmos_read(0x0c);
    ioapic_route(PIN_RTC, VEC_RTC, bsp, 0);
    cmos_write(0x0b, (uint8_t)(b | 0x40));          /* PIE */
    n = wait_ticks(&rtc_ticks, TICKS_WANTED);
    cmos_write(0x0b, b);
    ioapic_route(PIN_RTC, VEC_RTC, bsp, 1);
    (void)cmos_read(0x0c);
    gprintf("rtc ticks via ioapic pin %d: %d\n", PIN_RTC, n);
    if (n < TICKS_WANTED)
        fail(4, "the RTC periodic interrupt gave %d ticks through I/O APIC pin %d, expected %d",
             n, PIN_RTC, TICKS_WANTED);
    if (rtc_bad_flags)
        fail(5, "%d RTC interrupts without IRQF and PF set in register C", rtc_bad_flags);
    gprintf("ioapic: ok\n");
}
