/* Entry states shared by the kernel loaders: the boot GDT, identity page
 * tables for 64-bit entry, flat 32-bit protected mode, and the e820 map. */
#include <errno.h>
#include <string.h>

#include "boot/boot_layout.h"
#include "boot/loader.h"
#include "boot/loader_priv.h"

/* GDT entries (8 bytes each): base 0, limit 0xfffff pages. */
#define GDT_CODE32 0x00cf9b000000ffffULL   /* present, DPL0, exec/read, accessed, D=1, G=1 */
#define GDT_CODE64 0x00af9b000000ffffULL   /* same with L=1, D=0 */
#define GDT_DATA   0x00cf93000000ffffULL   /* present, DPL0, read/write, accessed, B=1, G=1 */

/* Writes null, 0x08 code32, 0x10 code64, 0x18 data, 0x20 busy TSS (16 bytes,
 * the upper half only matters in long mode) and a zeroed TSS after it. */
static int write_boot_gdt(struct guest_mem *m)
{
    uint64_t gdt[BOOT_GDT_ENTRIES];
    uint64_t tss = BOOT_TSS_ADDR;

    memset(gdt, 0, sizeof(gdt));
    gdt[1] = GDT_CODE32;
    gdt[2] = GDT_CODE64;
    gdt[3] = GDT_DATA;
    /* System descriptor: limit 0x67, type 0xb (busy TSS), present. */
    gdt[4] = 0x67ULL | ((tss & 0xffffff) << 16) | (0x8bULL << 40) | (((tss >> 24) & 0xff) << 56);
    gdt[5] = tss >> 32;
    if (mem_write(m, LAYOUT_BOOT_GDT, gdt, sizeof(gdt)) < 0)
        return -EFAULT;
    uint8_t *t = mem_ptr(m, BOOT_TSS_ADDR, 0x68);
    if (!t)
        return -EFAULT;
    memset(t, 0, 0x68);
    /* I/O map base beyond the limit: no I/O permission bitmap. */
    t[0x66] = 0x68;
    return 0;
}

/* The hidden parts every engine needs besides CS/DS: TR, LDTR, GDTR, IDTR. */
static void set_system_regs(struct cpu_state *s)
{
    memset(&s->tr, 0, sizeof(s->tr));
    s->tr.selector = BOOT_SEL_TSS;
    s->tr.base = BOOT_TSS_ADDR;
    s->tr.limit = 0x67;
    s->tr.type = 11;        /* busy TSS (64-bit in long mode, 32-bit otherwise) */
    s->tr.present = 1;
    memset(&s->ldt, 0, sizeof(s->ldt));
    s->ldt.limit = 0xffff;
    s->ldt.type = 2;        /* LDT */
    s->ldt.present = 1;
    s->gdt.base = LAYOUT_BOOT_GDT;
    s->gdt.limit = BOOT_GDT_ENTRIES * 8 - 1;
    s->idt.base = 0;
    s->idt.limit = 0;
    s->apic_base = 0xfee00000ULL | (1ULL << 11) | (1ULL << 8);   /* the default base, enabled, BSP */
    s->rflags = RFLAGS_FIXED;
}

int boot_setup_long_mode(struct guest_mem *m, struct cpu_state *s)
{
    int r = write_boot_gdt(m);
    if (r < 0)
        return r;

    /* PML4[0] -> PDPT, PDPT[0..3] -> 4 PDs of 2 MiB pages: the first 4 GiB 1:1. */
    uint64_t *pml4 = mem_ptr(m, LAYOUT_PML4, 4096);
    uint64_t *pdpt = mem_ptr(m, LAYOUT_PDPT, 4096);
    uint64_t *pd = mem_ptr(m, LAYOUT_PD, 4 * 4096);
    if (!pml4 || !pdpt || !pd)
        return -EFAULT;
    memset(pml4, 0, 4096);
    memset(pdpt, 0, 4096);
    pml4[0] = LAYOUT_PDPT | 0x3;                        /* present, writable */
    for (uint64_t i = 0; i < 4; i++)
        pdpt[i] = (LAYOUT_PD + i * 4096) | 0x3;
    for (uint64_t i = 0; i < 4 * 512; i++)
        pd[i] = (i << 21) | 0x83;                       /* present, writable, 2 MiB page */

    memset(s, 0, sizeof(*s));
    cpu_state_flat_seg(&s->seg[S_CS], BOOT_SEL_CODE64, true, true);
    for (int i = 0; i < 6; i++)
        if (i != S_CS)
            cpu_state_flat_seg(&s->seg[i], BOOT_SEL_DATA, false, false);
    set_system_regs(s);
    s->cr0 = CR0_PE | CR0_ET | CR0_NE | CR0_PG;
    s->cr3 = LAYOUT_PML4;
    s->cr4 = CR4_PAE;
    s->efer = EFER_LME | EFER_LMA;
    return 0;
}

int boot_setup_protected_mode(struct guest_mem *m, struct cpu_state *s)
{
    int r = write_boot_gdt(m);
    if (r < 0)
        return r;
    memset(s, 0, sizeof(*s));
    cpu_state_flat_seg(&s->seg[S_CS], BOOT_SEL_CODE32, true, false);
    for (int i = 0; i < 6; i++)
        if (i != S_CS)
            cpu_state_flat_seg(&s->seg[i], BOOT_SEL_DATA, false, false);
    set_system_regs(s);
    s->cr0 = CR0_PE | CR0_ET | CR0_NE;
    return 0;
}

