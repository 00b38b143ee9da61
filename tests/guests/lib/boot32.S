/* Entry for guests that stay in 32-bit protected mode (as Multiboot leaves
 * the CPU): clear the BSS, take our own stack, call guest_main(magic, mbi). */
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
    mov $stack32_top, %esp
    push %ebp
    push %esi
    call serial_init
    call guest_main
    push $0
    call guest_exit

    .section .bss
    .align 16
    .skip 16384
stack32_top:
