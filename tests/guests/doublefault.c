/* doublefault: a #PF whose delivery itself page-faults (RSP points at an
 * unmapped page) must become a #DF, delivered on the IST1 stack named in
 * the TSS, with error code 0.  The handler checks it runs on that stack and
 * exits from there: after a #DF there is nothing to return to. */
#include "lib/cpu64.h"

#define UNMAPPED 0x100000000ull     /* above the 4 GiB identity map */

static uint8_t df_stack[8192] __attribute__((aligned(16)));
static uint8_t kernel_stack[8192] __attribute__((aligned(16)));

static void on_double_fault(struct frame *f)
{
    uint64_t here = (uint64_t)(uintptr_t)&f;
    uint64_t lo = (uint64_t)(uintptr_t)df_stack, hi = lo + sizeof(df_stack);
    uint64_t cr2 = READ_CR(2);
    gprintf("#DF error %lx, frame at %p, cr2 %lx\n", f->error, (void *)f, cr2);
    if (f->vector != 8 || f->error != 0)
        fail(1, "#DF: vector %lu error %lx, expected 8 and 0", f->vector, f->error);
    if (here < lo || here >= hi || (uint64_t)(uintptr_t)f < lo || (uint64_t)(uintptr_t)f >= hi)
        fail(2, "#DF handler runs at %lx, outside its IST stack %lx-%lx", here, lo, hi);
    /* The second #PF was the push onto the bad stack, just below it. */
    if (cr2 >= UNMAPPED + 0x1000 || cr2 < UNMAPPED + 0x1000 - 64)
        fail(3, "CR2 is %lx, expected the frame push just below %llx", cr2, UNMAPPED + 0x1000);
    gprintf("#DF on IST stack ok\n");
    gprintf("doublefault: ok\n");
    guest_exit(0);
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("doublefault: start\n");
    idt_init();
    tss_install((uint64_t)(uintptr_t)(kernel_stack + sizeof(kernel_stack)),
                (uint64_t)(uintptr_t)(df_stack + sizeof(df_stack)));
    idt_set_gate_opts(8, 1, 0, 1);
    idt_set_handler(8, on_double_fault);
    __asm__ volatile("movq %0, %%rsp\n\t"
                     "movq (%1), %%rax" :: "r"(UNMAPPED + 0x1000), "r"(UNMAPPED + 0x800000)
                     : "rax", "memory");
    fail(4, "still running after a #PF with an unmapped stack");
}
