/* Application-processor start-up for the smp guest.  ap_tramp_start ..
 * ap_tramp_end is copied below 1 MiB (the SIPI page) and runs in real mode
 * at CS:IP = page:0: it loads the image's GDT and jumps to 32-bit code in
 * the image, which enters long mode on the BSP's page tables, takes one of
 * AP_MAX stacks and calls ap_main(). */
#include "longmode.h"

#define AP_MAX 16
#define AP_STACK 16384

    .section .rodata
    .code16
    .globl ap_tramp_start, ap_tramp_end
ap_tramp_start:
    cli
    cld
    mov %cs, %ax
    mov %ax, %ds
    lgdtl ap_tramp_gdtr - ap_tramp_start
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $SEL_CODE32, $ap_entry32
    .align 8
ap_tramp_gdtr:
    .word GDT_SIZE - 1
    .long gdt
ap_tramp_end:

    .text
    .code32
ap_entry32:
    mov $SEL_DATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    ENABLE_LONG_MODE
    ljmp $SEL_CODE64, $ap_entry64

    .code64
ap_entry64:
    mov $SEL_DATA, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    xor %eax, %eax
    mov %eax, %fs
    mov %eax, %gs
    mov $1, %eax
    lock xaddl %eax, ap_stack_next(%rip)
    cmp $AP_MAX, %eax
    jae 2f
    inc %eax
    shl $14, %eax
    lea ap_stacks(%rip), %rsp
    add %rax, %rsp
    mov %eax, %edi
    shr $14, %edi
    dec %edi                    /* ap_main(slot) */
    call ap_main
2:  cli
    hlt
    jmp 2b

    .section .bss
    .align 16
ap_stack_next:
    .long 0
    .align 4096
ap_stacks:
    .skip AP_MAX * AP_STACK
