/* longmode: checks what the boot stub (lib/boot64.S) did from the 32-bit
 * Multiboot entry (4-level tables, PAE, EFER.LME, paging, far jump to a
 * 64-bit segment), then maps a page at a high virtual address aliasing a
 * physical page and checks reads and writes through both, the accessed and
 * dirty bits, and that INVLPG drops a stale translation. */
#include "lib/cpu64.h"

#define HIGH_VA 0xffffff8000200000ull   /* PML4 slot 511: nothing else there */

static uint8_t page_a[4096] __attribute__((aligned(4096)));
static uint8_t page_b[4096] __attribute__((aligned(4096)));

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("longmode: start\n");
    uint64_t efer = rdmsr(MSR_EFER), cr0 = READ_CR(0), cr4 = READ_CR(4), cr3 = READ_CR(3);
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    gprintf("efer %lx cr0 %lx cr3 %lx cr4 %lx cs %x\n", efer, cr0, cr3, cr4, cs);
    if (!(efer & (1 << 8)) || !(efer & (1 << 10)))
        fail(1, "EFER.LME and EFER.LMA should be set (efer %lx)", efer);
    if (!(cr0 & (1u << 31)) || !(cr0 & 1))
        fail(2, "CR0.PG and CR0.PE should be set (cr0 %lx)", cr0);
    if (!(cr4 & (1 << 5)))
        fail(3, "CR4.PAE should be set (cr4 %lx)", cr4);
    if ((cr3 & PTE_ADDR) != (uint64_t)(uintptr_t)boot_pml4)
        fail(4, "CR3 %lx does not point at the boot PML4 %p", cr3, (void *)boot_pml4);
    if (cs != SEL_KCODE)
        fail(5, "CS is %x, expected %x", cs, SEL_KCODE);

    /* 64-bit arithmetic: a 32-bit CPU would lose the high half. */
    volatile uint64_t big = 0x123456789ull;
    if ((big << 8) >> 36 != 0x12)
        fail(6, "64-bit shift gave %lx", (uint64_t)((big << 8) >> 36));

    uint64_t *pte = map_page(HIGH_VA, (uint64_t)(uintptr_t)page_a, PTE_P | PTE_W);
    volatile uint64_t *hi = (volatile uint64_t *)HIGH_VA;
    volatile uint64_t *lo_a = (volatile uint64_t *)page_a, *lo_b = (volatile uint64_t *)page_b;

    lo_a[7] = 0x1122334455667788ull;
    if (hi[7] != 0x1122334455667788ull)
        fail(7, "read through %llx gave %lx, expected what was written at %p", HIGH_VA,
             hi[7], (void *)page_a);
    if (!(*pte & PTE_A))
        fail(8, "accessed bit not set after a read (pte %lx)", *pte);
    if (*pte & PTE_D)
        fail(9, "dirty bit set before any write (pte %lx)", *pte);
    hi[100] = 0xcafef00dd00dfeedull;
    if (lo_a[100] != 0xcafef00dd00dfeedull)
        fail(10, "write through %llx not seen at %p (%lx)", HIGH_VA, (void *)page_a, lo_a[100]);
    if (!(*pte & PTE_D))
        fail(11, "dirty bit not set after a write (pte %lx)", *pte);

    /* Remap to page_b: after INVLPG the old translation must be gone. */
    lo_b[7] = 0xbbbbbbbbbbbbbbbbull;
    *pte = (uint64_t)(uintptr_t)page_b | PTE_P | PTE_W;
    invlpg(HIGH_VA);
    if (hi[7] != 0xbbbbbbbbbbbbbbbbull)
        fail(12, "after remapping and INVLPG, %llx still reads %lx", HIGH_VA, hi[7]);
    /* And a CR3 reload flushes too. */
    *pte = (uint64_t)(uintptr_t)page_a | PTE_P | PTE_W;
    WRITE_CR(3, cr3);
    if (hi[7] != 0x1122334455667788ull)
        fail(13, "after remapping and a CR3 reload, %llx reads %lx", HIGH_VA, hi[7]);
    gprintf("high alias %llx ok\n", HIGH_VA);
    gprintf("longmode: ok\n");
}
