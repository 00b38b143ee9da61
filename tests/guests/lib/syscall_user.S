/* The syscall guest's assembly: syscall_entry is the LSTAR target, and
 * system call 0 ends enter_user() (lib/user_asm.S) with the value user code
 * passed in RDI; user_prog is the CPL 3 program (it lives in the 2 MiB page
 * the guest marks user-accessible). */
    .text
    .code64

/* SYSCALL leaves RSP alone: we run on the user stack at CPL 0. */
    .globl syscall_entry
syscall_entry:
    test %rax, %rax
    jz 1f
    push %rcx
    push %r11
    mov %r11, %rcx              /* syscall_c(nr, arg, user rip, user rflags) */
    mov 8(%rsp), %rdx
    mov %rdi, %rsi
    mov %rax, %rdi
    call syscall_c
    pop %r11
    pop %rcx
    sysretq
1:  mov %rdi, %rax
    jmp user_return

/* The CPL 3 program.  Each failed check ends with system call 0 and a
 * nonzero code; success is code 0. */
    .globl user_prog, user_after_syscall
user_prog:
    mov $1, %edi
    mov %cs, %eax
    and $3, %eax
    cmp $3, %eax
    jne 9f

    /* Echo call with DF set: the kernel sees DF cleared by SFMASK, and
     * SYSRET restores it from R11. */
    mov %rsp, %r12
    std
    mov $1, %eax
    mov $41, %edi
    syscall
user_after_syscall:
    pushfq
    pop %rbx
    cld
    mov $2, %edi
    cmp $42, %rax
    jne 9f
    mov $3, %edi
    cmp %rsp, %r12
    jne 9f
    mov $4, %edi
    test $0x400, %ebx
    jz 9f

    /* A privileged instruction at CPL 3: #GP(0), resumed at 1f. */
    lea 1f(%rip), %rax
    mov %rax, fault_recover(%rip)
    hlt
1:  mov $2, %eax
    mov $0x0d00, %edi           /* expect vector 13, error 0 */
    syscall
    mov $5, %edi
    test %rax, %rax
    jz 9f

    /* A user read of a supervisor page: #PF error P|U = 5. */
    lea 1f(%rip), %rax
    mov %rax, fault_recover(%rip)
    mov supervisor_va(%rip), %rbx
    mov (%rbx), %rax
1:  mov $2, %eax
    mov $0x0e05, %edi
    syscall
    mov $6, %edi
    test %rax, %rax
    jz 9f

    xor %edi, %edi
9:  xor %eax, %eax
    syscall
    ud2
