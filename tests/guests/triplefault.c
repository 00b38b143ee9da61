/* triplefault: loads an empty IDT and executes UD2.  #UD cannot be
 * delivered, nor the #DF that follows, so the CPU shuts down: hostel must
 * stop the machine with exit status 2 and print the vCPU state. */
#include "lib/cpu64.h"

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("triplefault: loading an empty IDT and raising #UD\n");
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) empty = { 0, 0 };
    __asm__ volatile("lidt %0\n\t"
                     "ud2" :: "m"(empty) : "memory");
    fail(1, "still running after #UD with an empty IDT");
}
