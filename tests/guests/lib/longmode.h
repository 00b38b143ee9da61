/* Shared by the BSP boot stub and the SMP application-processor entry:
 * the steps from flat 32-bit protected mode to 64-bit mode on boot_pml4. */
#ifndef GUEST_LONGMODE_H
#define GUEST_LONGMODE_H

#define SEL_CODE64  0x08
#define SEL_DATA    0x10
#define SEL_CODE32  0x18
#define GDT_SIZE    0x48        /* 7 descriptors and a 16-byte TSS slot */

/* Clobbers EAX, ECX, EDX.  Paging is switched on last: with EFER.LME set,
 * that is the moment the CPU enters IA-32e mode (still in compatibility
 * mode until the far jump). */
.macro ENABLE_LONG_MODE
    mov %cr4, %eax
    or $0x20, %eax              /* CR4.PAE */
    mov %eax, %cr4
    mov $boot_pml4, %eax
    mov %eax, %cr3
    mov $0xc0000080, %ecx       /* IA32_EFER */
    rdmsr
    or $0x100, %eax             /* LME */
    wrmsr
    mov %cr0, %eax
    or $0x80000001, %eax        /* PG | PE */
    mov %eax, %cr0
.endm

#endif
