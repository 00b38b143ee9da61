/* The guest of tests/kvm/kvm_state.c: 64-bit code at CPL 0 with interrupts
 * off that programs the 8259 pair, the PIT, the local APIC, the IOAPIC and a
 * few MSRs, then counts in RCX forever, so the machine can be paused and
 * saved mid-run with a PIT tick pending in the 8259 and the LAPIC.  Only
 * instructions KVM's own emulator handles (a slow nested /dev/kvm emulates
 * every supervisor instruction). */
    .text
    .code64
    .globl kvm_state_guest_start, kvm_state_guest_end
kvm_state_guest_start:
    mov $0x11, %al
    out %al, $0x20
    mov $0x20, %al
    out %al, $0x21
    mov $0x04, %al
    out %al, $0x21
    mov $0x01, %al
    out %al, $0x21
    mov $0x11, %al
    out %al, $0xa0
    mov $0x28, %al
    out %al, $0xa1
    mov $0x02, %al
    out %al, $0xa1
    mov $0x01, %al
    out %al, $0xa1
    mov $0xfe, %al              /* only IRQ 0 */
    out %al, $0x21
    mov $0xff, %al
    out %al, $0xa1
    mov $0x34, %al              /* PIT channel 0: mode 2, 11932 (10 ms) */
    out %al, $0x43
    mov $0x9c, %al
    out %al, $0x40
    mov $0x2e, %al
    out %al, $0x40
    mov $0xfee00000, %ebx       /* local APIC */
    movl $0x1ff, 0xf0(%rbx)
    movl $0x20, 0x80(%rbx)
    movl $0x400, 0x360(%rbx)
    movl $0x01000000, 0xd0(%rbx)
    mov $0xfec00000, %edx       /* IOAPIC pin 2 (the PIT): vector 0x30, edge, CPU 0 */
    movl $0x14, (%rdx)
    movl $0x30, 0x10(%rdx)
    movl $0x15, (%rdx)
    movl $0, 0x10(%rdx)
    mov $0xc0000081, %ecx       /* STAR */
    xor %eax, %eax
    mov $0x00230010, %edx
    wrmsr
    mov $0xc0000082, %ecx       /* LSTAR */
    mov $0x81e00000, %eax
    mov $0xffffffff, %edx
    wrmsr
    mov $0xc0000084, %ecx       /* FMASK */
    mov $0x47700, %eax
    xor %edx, %edx
    wrmsr
    mov $0xc0000102, %ecx       /* KERNEL_GS_BASE */
    mov $0x7fc00000, %eax
    mov $0xffff8880, %edx
    wrmsr
    mov $0x174, %ecx            /* SYSENTER_CS */
    mov $0x10, %eax
    xor %edx, %edx
    wrmsr
    mov $0x5a5a5a5a, %esi
    mov $0x1234567890, %rdi
    xor %ecx, %ecx
1:  inc %rcx
    pause
    jmp 1b
kvm_state_guest_end:
    .section .note.GNU-stack,"",@progbits
