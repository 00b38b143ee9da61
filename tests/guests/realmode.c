/* realmode: from the 32-bit Multiboot entry down to real mode and back
 * (lib/realmode.S): a software interrupt through the IVT at 0 (pushed CS
 * checked), segment:offset aliasing, 32-bit operands in real mode, UART
 * output from 16-bit code, then protected mode again.  What a BIOS and
 * installer media will need from the software CPU.  The blob runs at
 * RM_BASE (0x10000, free once the guest runs; see docs/test-guests.md). */
#include "lib/guest.h"

#define RM_BASE 0x10000u

extern char rm_blob_start[], rm_blob_end[];
extern char rm_int_count[], rm_int_cs[], rm_alias_ok[], rm_math[];
void rm_run(void);

static uint32_t rm_word(const char *label, int size)
{
    const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)(RM_BASE + (uint32_t)(label - rm_blob_start));
    return size == 2 ? (uint32_t)(p[0] | p[1] << 8)
                     : (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("realmode: start\n");
    size_t len = (size_t)(rm_blob_end - rm_blob_start);
    if (len > 0xe000)
        fail(1, "real-mode blob is %u bytes, too big for its segment", (unsigned)len);
    memcpy((void *)(uintptr_t)RM_BASE, rm_blob_start, len);
    rm_run();
    gprintf("back in protected mode\n");
    uint32_t count = rm_word(rm_int_count, 2), cs = rm_word(rm_int_cs, 2);
    uint32_t alias = rm_word(rm_alias_ok, 2), math = rm_word(rm_math, 4);
    gprintf("int 0x30: %u calls, pushed cs %x; alias %u; eax %x\n", count, cs, alias, math);
    if (count != 1)
        fail(2, "INT 0x30 in real mode ran its handler %u times, expected 1", count);
    if (cs != 0x1000)
        fail(3, "INT 0x30 pushed CS %x, expected 1000", cs);
    if (alias != 1)
        fail(4, "segment 0x1010:x did not alias 0x1000:x+0x100");
    if (math != 0x23456789u)
        fail(5, "32-bit add in real mode gave %x, expected 23456789", math);
    gprintf("realmode: ok\n");
}
