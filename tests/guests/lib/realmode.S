/* The realmode guest's assembly.  rm_run() (32-bit, called from C) loads
 * its own GDT, drops through 16-bit protected mode to real mode in a blob
 * the C code copied to RM_BASE, runs checks there (software interrupt
 * through the IVT, segment aliasing, 32-bit operands, UART output, and the
 * intercepted instructions CPUID, RDMSR, IN/OUT and MOV from CR0, also in
 * 16-bit protected mode) and comes back to 32-bit protected mode.  Results
 * are words inside the copy. */
#define RM_BASE 0x10000
#define RM_SEG  0x1000
#define OFF(x)  ((x) - rm_blob_start)

    .section .data
    .align 8
rm_gdt:
    .quad 0
    .quad 0x00cf9a000000ffff    /* 0x08 code, 32-bit flat */
    .quad 0x00cf92000000ffff    /* 0x10 data, flat */
    .quad 0x00009a010000ffff    /* 0x18 code, 16-bit, base 0x10000, 64 KiB */
    .quad 0x000092010000ffff    /* 0x20 data, 16-bit, base 0x10000, 64 KiB */
rm_gdt_end:
rm_gdtr:
    .word rm_gdt_end - rm_gdt - 1
    .long rm_gdt
saved_esp:
    .long 0

    .text
    .code32
    .globl rm_run
rm_run:
    push %ebx
    push %esi
    push %edi
    push %ebp
    mov %esp, saved_esp
    lgdt rm_gdtr
    ljmp $0x08, $1f             /* our own selectors from here on */
1:  mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %ss
    ljmp $0x18, $OFF(rm_pm16)

rm_back32:
    mov $0x10, %eax
    mov %eax, %ds
    mov %eax, %es
    mov %eax, %fs
    mov %eax, %gs
    mov %eax, %ss
    mov saved_esp, %esp
    pop %ebp
    pop %edi
    pop %esi
    pop %ebx
    ret

/* Copied to RM_BASE; runs at CS base RM_BASE, so addresses are OFF(). */
    .section .data
    .globl rm_blob_start, rm_blob_end, rm_int_count, rm_int_cs, rm_alias_ok, rm_math
    .globl rm_exits16, rm_exits_real
rm_blob_start:
    .code16
rm_pm16:
    mov $0x20, %ax              /* 16-bit data segments: real-mode limits */
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov %ax, %fs
    mov %ax, %gs
    mov $OFF(rm_exits16), %di
    call exits16
    mov %cr0, %eax
    and $~1, %eax
    mov %eax, %cr0
    ljmp $RM_SEG, $OFF(rm_real)

rm_real:
    mov $RM_SEG, %ax
    mov %ax, %ds
    mov %ax, %es
    mov %ax, %ss
    mov $0xf000, %sp
    /* Real mode uses IDTR too: the loader may have left limit 0 there
     * (hostel does; SeaBIOS leaves the IVT's 0/0x3ff). */
    lidtl OFF(rm_ivt_desc)
    mov $OFF(rm_exits_real), %di
    call exits16

    /* IVT entry 0x30 -> RM_SEG:rm_isr, then INT 0x30. */
    xor %ax, %ax
    mov %ax, %fs
    movw $OFF(rm_isr), %fs:0xc0
    movw $RM_SEG, %fs:0xc2
    int $0x30

    /* Segment arithmetic: RM_SEG+0x10 : x aliases RM_SEG : x+0x100. */
    movw $0x5a5a, 0x8100        /* linear RM_BASE + 0x8100, scratch */
    mov $RM_SEG + 0x10, %ax
    mov %ax, %es
    cmpw $0x5a5a, %es:0x8000
    jne 1f
    movw $1, OFF(rm_alias_ok)
1:
    /* 32-bit operands and addressing in real mode. */
    mov $0x12345678, %eax
    mov $0x11111111, %ebx
    add %ebx, %eax
    mov $OFF(rm_math), %esi
    mov %eax, (%esi)

    /* Say so over the UART, polling LSR bit 5. */
    mov $OFF(rm_msg), %si
2:  lodsb
    test %al, %al
    jz 4f
    mov %al, %bl
    mov $0x3fd, %dx
3:  inb %dx, %al
    test $0x20, %al
    jz 3b
    mov $0x3f8, %dx
    mov %bl, %al
    outb %al, %dx
    jmp 2b
4:
    /* Back to 32-bit protected mode (no IDT needed: interrupts stay off). */
    cli
    lgdtl OFF(rm_gdtr_copy)
    mov %cr0, %eax
    or $1, %eax
    mov %eax, %cr0
    ljmpl $0x08, $rm_back32

/* The intercepted instructions from 16-bit code, results at DS:DI:
 * CPUID 0 and 1 (8 longs), RDMSR IA32_APIC_BASE (2), CMOS register A by
 * OUT/IN (1), CR0 (1); then INVLPG, which must simply go on (1 = done). */
exits16:
    xor %eax, %eax
    xor %ecx, %ecx
    cpuid
    mov %eax, 0(%di)
    mov %ebx, 4(%di)
    mov %ecx, 8(%di)
    mov %edx, 12(%di)
    mov $1, %eax
    xor %ecx, %ecx
    cpuid
    mov %eax, 16(%di)
    mov %ebx, 20(%di)
    mov %ecx, 24(%di)
    mov %edx, 28(%di)
    mov $0x1b, %ecx
    rdmsr
    mov %eax, 32(%di)
    mov %edx, 36(%di)
    mov $0x0a, %al
    out %al, $0x70
    in $0x71, %al
    movzbl %al, %eax
    mov %eax, 40(%di)
    mov %cr0, %eax
    mov %eax, 44(%di)
    invlpg (%di)
    movl $1, 48(%di)
    ret

rm_isr:
    push %bp
    mov %sp, %bp
    mov 4(%bp), %ax             /* pushed CS (IP at 2, FLAGS at 6) */
    mov %ax, %cs:OFF(rm_int_cs)
    incw %cs:OFF(rm_int_count)
    pop %bp
    iret

    .align 4
rm_gdtr_copy:
    .word rm_gdt_end - rm_gdt - 1
    .long rm_gdt
rm_ivt_desc:
    .word 0x3ff
    .long 0
rm_int_count: .word 0
rm_int_cs:    .word 0
rm_alias_ok:  .word 0
    .align 4
rm_math:      .long 0
rm_exits16:   .fill 13, 4, 0
rm_exits_real: .fill 13, 4, 0
rm_msg:       .asciz "real mode: hello from 16-bit code\r\n"
rm_blob_end:
