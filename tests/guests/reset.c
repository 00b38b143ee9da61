/* reset: pulses the CPU reset line through the i8042 controller (command
 * 0xfe to port 0x64), as Linux's reboot=k does.  With --no-reboot hostel
 * (and QEMU) must exit with status 0; a reset that never comes is a failure. */
#include "lib/guest.h"

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("reset: start\n");
    /* Wait for the controller's input buffer to drain (status bit 1). */
    for (int i = 0; i < 100000 && (inb(0x64) & 2); i++)
        ;
    gprintf("reset: pulsing the reset line via the i8042\n");
    outb(0x64, 0xfe);
    pit_delay_us(200000);
    fail(1, "still running 200 ms after the i8042 reset command");
}
