/* sysret_to() (user.h): SYSRET into CPL 3 with the callee-saved registers
 * and the kernel stack kept; user_return is where the INT 0x80 handler
 * (user.c) resumes, returning the user's RAX. */
    .text
    .code64
    .globl sysret_to, user_return, user_kernel_rsp
sysret_to:
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, user_kernel_rsp(%rip)
    mov %ecx, %r8d              /* compat */
    mov %rdi, %rcx
    mov %rsi, %r11
    mov %rdx, %rsp
    test %r8d, %r8d
    jnz 1f
    sysretq
1:  sysretl
user_return:
    mov user_kernel_rsp(%rip), %rsp
    pop %r15
    pop %r14
    pop %r13
    pop %r12
    pop %rbp
    pop %rbx
    ret

    .data
    .align 8
user_kernel_rsp:
    .quad 0
