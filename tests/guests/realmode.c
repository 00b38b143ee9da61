/* realmode: from the 32-bit Multiboot entry down to real mode and back
 * (lib/realmode.S): a software interrupt through the IVT at 0 (pushed CS
 * checked), segment:offset aliasing, 32-bit operands in real mode, UART
 * output from 16-bit code, then protected mode again.  CPUID, RDMSR, IN/OUT,
 * MOV from CR0 and INVLPG in 16-bit protected mode and in real mode must
 * agree with 32-bit protected mode.  What a BIOS and installer media will
 * need from the software CPU.  The blob runs at
 * RM_BASE (0x10000, free once the guest runs; see docs/test-guests.md). */
#include "lib/guest.h"

#define RM_BASE 0x10000u

extern char rm_blob_start[], rm_blob_end[];
extern char rm_int_count[], rm_int_cs[], rm_alias_ok[], rm_math[], rm_exits16[], rm_exits_real[];
void rm_run(void);

static uint32_t rm_word(const char *label, int size)
{
    const volatile uint8_t *p = (const volatile uint8_t *)(uintptr_t)(RM_BASE + (uint32_t)(label - rm_blob_start));
    return size == 2 ? (uint32_t)(p[0] | p[1] << 8)
                     : (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The 13 words exits16 (lib/realmode.S) stored, against 32-bit values. */
static void check_exits(const char *mode, const char *label, const uint32_t want[13],
                        uint32_t cr0_want)
{
    static const char *const what[13] = { "CPUID 0 EAX", "CPUID 0 EBX", "CPUID 0 ECX",
        "CPUID 0 EDX", "CPUID 1 EAX", "CPUID 1 EBX", "CPUID 1 ECX", "CPUID 1 EDX",
        "RDMSR APIC_BASE low", "RDMSR APIC_BASE high", "CMOS register A", "CR0", "INVLPG" };
    for (int k = 0; k < 13; k++) {
        uint32_t got = rm_word(label + 4 * k, 4), w = k == 11 ? cr0_want : want[k];
        if (k == 10) {                  /* UIP (bit 7) may change between reads */
            got &= 0x7f;
            w &= 0x7f;
        }
        if (got != w)
            fail(6, "%s in %s: %x, expected %x as in 32-bit protected mode", what[k], mode, got, w);
    }
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

    uint32_t want[13], cr0;
    for (uint32_t leaf = 0; leaf < 2; leaf++)
        __asm__ volatile("cpuid" : "=a"(want[4 * leaf]), "=b"(want[4 * leaf + 1]),
                         "=c"(want[4 * leaf + 2]), "=d"(want[4 * leaf + 3]) : "a"(leaf), "c"(0));
    __asm__ volatile("rdmsr" : "=a"(want[8]), "=d"(want[9]) : "c"(0x1b));
    outb(0x70, 0x0a);
    want[10] = inb(0x71);
    __asm__ volatile("mov %%cr0, %0" : "=r"(cr0));
    want[12] = 1;
    check_exits("16-bit protected mode", rm_exits16, want, cr0);
    check_exits("real mode", rm_exits_real, want, cr0 & ~1u);
    gprintf("CPUID, RDMSR, IN/OUT, MOV from CR0, INVLPG agree in pm16, real mode and pm32\n");
    gprintf("realmode: ok\n");
}
