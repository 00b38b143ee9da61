/* hello: the smallest guest and the default of `make run`.  Stays in the
 * 32-bit protected mode Multiboot hands over, prints a greeting and the
 * command line it was given, checks the boot magic, exits 0. */
#include "lib/guest.h"

void guest_main(uint32_t magic, uint32_t mbi)
{
    gprintf("Hello from hostel guest\n");
    if (magic != MB_BOOT_MAGIC)
        fail(1, "EAX is %x at entry, expected the Multiboot magic %x", magic, MB_BOOT_MAGIC);
    if (mbi == 0 || mbi > 0xffffffffu - sizeof(struct mb_info))
        fail(2, "EBX (Multiboot info) is %x", mbi);
    const struct mb_info *info = (const struct mb_info *)(uintptr_t)mbi;
    gprintf("cmdline: %s\n", mb_cmdline(magic, mbi));
    if (info->flags & MB_INFO_MEM)
        gprintf("memory: %u KiB low, %u KiB high\n", info->mem_lower, info->mem_upper);
    gprintf("hello: ok\n");
}
