/* idle: a long-running guest for the named-machine tests.  It prints a tick
 * every ~200 ms of ACPI PM timer time (so a paused machine prints none),
 * with the guest's own clocks ("tick N pm=P tsc=T": PM timer ticks since
 * boot at 3.579545 MHz, and the TSC), echoes console input back as "echo: <line>", and
 * powers off through the ACPI PM1 control register when the power button
 * is pressed. */
#include "lib/guest.h"

#define PM1_STS   0x600
#define PM1_CNT   0x604
#define PM_TMR    0x608
#define PWRBTN    (1u << 8)
#define PM_HZ     3579545u

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic;
    (void)mbi;
    char line[80];
    unsigned len = 0, ticks = 0;
    uint32_t last = inl(PM_TMR) & 0xffffff;
    uint32_t elapsed = 0;
    uint64_t pm_total = 0;              /* PM timer ticks since boot, unwrapped */
    gprintf("idle: ready\n");
    for (;;) {
        if (inw(PM1_STS) & PWRBTN) {
            outw(PM1_STS, PWRBTN);          /* write 1 to clear */
            gprintf("idle: power button, powering off\n");
            outw(PM1_CNT, (5u << 10) | (1u << 13));
            fail(3, "still running after S5");
        }
        if (inb(PORT_COM1 + 5) & 1) {
            char c = (char)inb(PORT_COM1);
            if (c == '\r' || c == '\n') {
                line[len] = 0;
                gprintf("echo: %s\n", line);
                len = 0;
            } else if (len < sizeof(line) - 1) {
                line[len++] = c;
            }
        }
        uint32_t now = inl(PM_TMR) & 0xffffff;
        elapsed += (now - last) & 0xffffff;
        pm_total += (now - last) & 0xffffff;
        last = now;
        if (elapsed >= PM_HZ / 5) {
            elapsed = 0;
            /* Raw counts: a 32-bit guest has no 64-bit division. */
            gprintf("tick %u pm=%llu tsc=%llu\n", ++ticks, (unsigned long long)pm_total,
                    (unsigned long long)rdtsc());
        }
        for (int i = 0; i < 200; i++)
            cpu_pause();
    }
}
