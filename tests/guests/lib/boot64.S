/* Entry for 64-bit guests: from the 32-bit Multiboot state, identity-map
 * the first 4 GiB with 2 MiB pages, enter long mode and call
 * guest_main(magic, mbi) on our own stack.  The GDT also carries the user
 * segments the syscall guest needs and a slot for a TSS. */
#include "longmode.h"

    .section .text.boot, "ax"
    .code32
    .globl _start
_start:
    cli
    cld
    mov %eax, %esi
    mov %ebx, %ebp
    /* The loader should have zeroed the BSS already; do not trust it. */
    mov $_bss_start, %edi
    mov $_bss_end, %ecx
    sub %edi, %ecx
    xor %eax, %eax
    rep stosb
    mov $stack64_top, %esp

    mov $boot_pdpt + 3, %eax            /* present, writable */
    mov %eax, boot_pml4
    mov $boot_pd + 3, %eax
    mov $boot_pdpt, %edi
    mov $4, %ecx
1:  mov %eax, (%edi)
    add $0x1000, %eax
    add $8, %edi
    dec %ecx
    jnz 1b
    mov $0x83, %eax                     /* present, writable, 2 MiB page */
    mov $boot_pd, %edi
    mov $2048, %ecx
2:  mov %eax, (%edi)
    add $0x200000, %eax
    add $8, %edi
    dec %ecx
    jnz 2b

    lgdt gdt_desc
    ENABLE_LONG_MODE
    ljmp $SEL_CODE64, $start64

    .code64
start64:
    mov $SEL_DATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    mov $stack64_top, %rsp
    mov %esi, %r12d
    mov %ebp, %r13d
    call serial_init
    mov %r12d, %edi
    mov %r13d, %esi
    call guest_main
    xor %edi, %edi
    call guest_exit

    .section .data
    .align 16
    .globl gdt, gdt_tss
gdt:
    .quad 0
    .quad 0x00af9a000000ffff    /* 0x08 kernel code, 64-bit */
    .quad 0x00cf92000000ffff    /* 0x10 kernel data */
    .quad 0x00cf9a000000ffff    /* 0x18 kernel code, 32-bit (SMP trampoline) */
    .quad 0x00cffa000000ffff    /* 0x20 user code, 32-bit (SYSRET's STAR base) */
    .quad 0x00cff2000000ffff    /* 0x28 user data */
    .quad 0x00affa000000ffff    /* 0x30 user code, 64-bit */
gdt_tss:
    .quad 0, 0                  /* 0x38 TSS, filled in by tss_install() */
    .globl gdt_end
gdt_end:
    .if gdt_end - gdt - GDT_SIZE
    .error "GDT_SIZE in longmode.h does not match the GDT"
    .endif
    .globl gdt_desc
gdt_desc:
    .word gdt_end - gdt - 1
    .quad gdt

    .section .bss
    .align 4096
    .globl boot_pml4, boot_pdpt, boot_pd
boot_pml4: .skip 4096
boot_pdpt: .skip 4096
boot_pd:   .skip 4 * 4096
    .align 16
    .skip 16384
stack64_top:
