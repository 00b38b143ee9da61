/* pm32: legacy 32-bit paging (no PAE) from the Multiboot state: a page
 * directory with a 4 KiB page table for the first 4 MiB and 4 MiB PSE pages
 * elsewhere; a PSE alias of low memory, accessed/dirty bits, #PF through a
 * 32-bit interrupt gate (error code, CR2, EIP) for a not-present page and a
 * CR0.WP write to a read-only page.  The other guests run 64-bit paging. */
#include "lib/guest.h"

#define PG_P  1u
#define PG_W  2u
#define PG_A  0x20u
#define PG_D  0x40u
#define PG_PS 0x80u

static uint32_t pd[1024] __attribute__((aligned(4096)));
static uint32_t pt0[1024] __attribute__((aligned(4096)));
static uint8_t ro_page[4096] __attribute__((aligned(4096)));
static uint64_t idt[32] __attribute__((aligned(8)));

void pf_stub32(void);
volatile uint32_t pf_cr2, pf_err, pf_eip, pf_recover, pf_count;

#define READ_CR(n) ({ uint32_t v_; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v_)); v_; })
#define WRITE_CR(n, v) __asm__ volatile("mov %0, %%cr" #n :: "r"((uint32_t)(v)) : "memory")

static int try_write(uint32_t va, uint32_t v)
{
    pf_count = 0;
    __asm__ volatile("movl $1f, pf_recover\n\t"
                     "movl %1, (%0)\n\t"
                     "1:" :: "r"(va), "r"(v) : "memory");
    return (int)pf_count;
}

static int try_read(uint32_t va)
{
    pf_count = 0;
    uint32_t v;
    __asm__ volatile("movl $1f, pf_recover\n\t"
                     "movl (%1), %0\n\t"
                     "1:" : "=&r"(v) : "r"(va) : "memory");
    (void)v;
    return (int)pf_count;
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("pm32: start\n");
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));

    /* IDT with only #PF: a 32-bit interrupt gate on the loader's CS. */
    uint32_t h = (uint32_t)(uintptr_t)pf_stub32;
    idt[14] = (h & 0xffff) | (uint64_t)cs << 16 | (uint64_t)0x8e00 << 32 |
              (uint64_t)(h >> 16) << 48;
    struct { uint16_t limit; uint32_t base; } __attribute__((packed)) idtr = {
        sizeof(idt) - 1, (uint32_t)(uintptr_t)idt };
    __asm__ volatile("lidt %0" :: "m"(idtr));

    for (uint32_t i = 0; i < 1024; i++)
        pt0[i] = i << 12 | PG_P | PG_W;                 /* first 4 MiB, 4 KiB pages */
    pt0[0x3ff] = (uint32_t)(uintptr_t)ro_page | PG_P;   /* VA 0x3ff000: read-only */
    pd[0] = (uint32_t)(uintptr_t)pt0 | PG_P | PG_W;
    pd[1] = 0x400000 | PG_P | PG_W | PG_PS;             /* 4-8 MiB identity */
    pd[2] = 0x000000 | PG_P | PG_W | PG_PS;             /* 8 MiB: alias of 0-4 MiB */
    /* pd[3] stays empty: 12-16 MiB is not present. */

    WRITE_CR(4, READ_CR(4) | 0x10);                     /* PSE */
    WRITE_CR(3, (uint32_t)(uintptr_t)pd);
    WRITE_CR(0, READ_CR(0) | 0x80010000u);              /* PG, WP */
    gprintf("paging on: cr0 %x cr3 %x cr4 %x\n", READ_CR(0), READ_CR(3), READ_CR(4));

    static volatile uint32_t cell;
    cell = 0x600df00d;                  /* a write through the 4 KiB mapping */
    volatile uint32_t *alias = (volatile uint32_t *)((uintptr_t)&cell + 0x800000);
    if (*alias != 0x600df00d)
        fail(1, "4 MiB PSE alias at %p reads %x", (void *)alias, *alias);
    *alias = 0xfeedface;
    if (cell != 0xfeedface)
        fail(2, "write through the PSE alias not seen at %p", (void *)&cell);
    if (!(pd[2] & PG_A) || !(pd[2] & PG_D))
        fail(3, "PSE entry %x lacks accessed/dirty after a read and a write", pd[2]);
    gprintf("pse alias ok\n");

    uint32_t idx = ((uint32_t)(uintptr_t)&cell >> 12) & 1023;
    if (!(pt0[idx] & PG_A) || !(pt0[idx] & PG_D))
        fail(4, "PTE %x of a written page lacks accessed/dirty", pt0[idx]);

    if (try_read(0xc00123) != 1 || pf_cr2 != 0xc00123 || pf_err != 0)
        fail(5, "read of not-present 0xc00123: %u faults, cr2 %x, error %x (expected 1, c00123, 0)",
             pf_count, pf_cr2, pf_err);
    gprintf("#PF not present: error %x cr2 %x eip %x ok\n", pf_err, pf_cr2, pf_eip);

    ro_page[8] = 0x11;
    if (try_read(0x3ff008) != 0)
        fail(6, "read of the read-only page faulted (error %x)", pf_err);
    if (try_write(0x3ff008, 0x22) != 1 || pf_err != 3 || pf_cr2 != 0x3ff008)
        fail(7, "write to a read-only page with CR0.WP: %u faults, error %x, cr2 %x (expected 1, 3, 3ff008)",
             pf_count, pf_err, pf_cr2);
    if (ro_page[8] != 0x11)
        fail(8, "the faulting write changed the page");
    gprintf("#PF read-only: error %x ok\n", pf_err);

    WRITE_CR(0, READ_CR(0) & ~0x80000000u);             /* paging off again */
    gprintf("pm32: ok\n");
}
