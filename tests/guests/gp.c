/* gp: general-protection and invalid-opcode faults the software CPU must
 * raise with the right error code: non-canonical reads and writes, loading
 * a selector beyond the GDT limit, a code selector into SS, UD2.  (QEMU 7.2
 * TCG does not fault on reserved CR4 bits, so that check is left out.) */
#include "lib/cpu64.h"

#define NONCANON 0x8000000000001000ull

static void expect(int n, uint64_t vec, uint64_t err, const char *what)
{
    if (last_fault.count != 1 || last_fault.vector != vec || last_fault.error != err)
        fail((uint8_t)n, "%s: %d faults, vector %lu error %lx; expected vector %lu error %lx",
             what, last_fault.count, last_fault.vector, last_fault.error, vec, err);
    gprintf("%s: vector %lu error %lx ok\n", what, vec, err);
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("gp: start\n");
    idt_init();
    uint64_t v = 0;

    fault_reset();
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, fault_recover(%%rip)\n\t"
                     "movq (%1), %0\n\t"
                     "1:" : "+r"(v) : "r"(NONCANON) : "rax", "memory");
    expect(1, 13, 0, "non-canonical read");

    fault_reset();
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, fault_recover(%%rip)\n\t"
                     "movq %0, (%1)\n\t"
                     "1:" :: "r"(v), "r"(NONCANON + 0x100) : "rax", "memory");
    expect(2, 13, 0, "non-canonical write");

    /* Selector 0x1238: index 0x247, far beyond the GDT limit.  The error
     * code is the selector with its RPL bits replaced by EXT/IDT (0). */
    fault_reset();
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, fault_recover(%%rip)\n\t"
                     "movl $0x123b, %%ecx\n\t"
                     "movl %%ecx, %%ds\n\t"
                     "1:" ::: "rax", "rcx", "memory");
    expect(3, 13, 0x1238, "selector beyond the GDT limit");
    uint16_t ds;
    __asm__ volatile("mov %%ds, %0" : "=r"(ds));
    if (ds != SEL_KDATA)
        fail(4, "DS changed to %x by a faulting load", ds);

    /* SS must be a writable data segment: a code selector gives #GP(sel). */
    fault_reset();
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, fault_recover(%%rip)\n\t"
                     "movl $0x08, %%ecx\n\t"
                     "movl %%ecx, %%ss\n\t"
                     "1:" ::: "rax", "rcx", "memory");
    expect(5, 13, 0x08, "code selector into SS");
    uint16_t ss;
    __asm__ volatile("mov %%ss, %0" : "=r"(ss));
    if (ss != SEL_KDATA)
        fail(6, "SS changed to %x by a faulting load", ss);

    fault_reset();
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, fault_recover(%%rip)\n\t"
                     "ud2\n\t"
                     "1:" ::: "rax", "memory");
    expect(7, 6, 0, "ud2");
    gprintf("gp: ok\n");
}
