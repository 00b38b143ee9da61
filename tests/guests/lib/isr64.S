/* 256 interrupt entry stubs, 16 bytes apart, that push a uniform frame
 * (vector, error code or 0, the general registers) and call
 * isr_dispatch(frame); whatever the handler leaves in the frame is restored
 * and IRETQ returns to it. */
    .text
    .code64
    .globl isr_stubs
    .align 16
isr_stubs:
    .set vec, 0
    .rept 256
    .align 16
    /* Vectors where the CPU pushes an error code itself. */
    .if (vec == 8) || ((vec >= 10) && (vec <= 14)) || (vec == 17) || (vec == 21) || (vec == 29) || (vec == 30)
    .else
    pushq $0
    .endif
    pushq $vec
    jmp isr_common
    .set vec, vec + 1
    .endr

isr_common:
    push %rax
    push %rcx
    push %rdx
    push %rbx
    push %rbp
    push %rsi
    push %rdi
    push %r8
    push %r9
    push %r10
    push %r11
    push %r12
    push %r13
    push %r14
    push %r15
    cld
    mov %rsp, %rdi
    /* The frame is 176 bytes on a 16-byte aligned stack, so RSP is aligned
     * here; realign anyway so a CPU model that gets the alignment wrong
     * shows up as a wrong frame, not as misaligned C code. */
    mov %rsp, %rbx
    and $-16, %rsp
    call isr_dispatch
    mov %rbx, %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %r11
    pop %r10
    pop %r9
    pop %r8
    pop %rdi
    pop %rsi
    pop %rbp
    pop %rbx
    pop %rdx
    pop %rcx
    pop %rax
    add $16, %rsp
    iretq
