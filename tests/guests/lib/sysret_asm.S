/* The sysret guest's assembly: a SYSCALL probe at CPL 0 (probe_entry
 * records what SYSCALL loaded and returns through RCX), a CPL 0 visit to
 * compatibility mode, and the user programs (64-bit and compatibility
 * mode) that lib/user.c's sysret_to() enters; they come back with INT 0x80. */
    .text
    .code64

/* void k_syscall(uint64_t rflags): SYSCALL at CPL 0 with RFLAGS loaded
 * from the argument (the probe returns through RCX with SS re-loaded). */
    .globl k_syscall, k_syscall_next
k_syscall:
    pushfq
    push %rdi
    popfq
    syscall
k_syscall_next:
    popfq
    ret

/* void k_syscall_rf(void): IRETQ at CPL 0 with RF set in the frame, onto
 * a SYSCALL; RF is still set when the SYSCALL runs. */
    .globl k_syscall_rf, k_syscall_rf_next
k_syscall_rf:
    mov %rsp, %rax
    pushq $0x10
    pushq %rax
    pushq $0x10002              /* RF */
    pushq $0x08
    lea 1f(%rip), %rax
    push %rax
    iretq
1:  syscall
k_syscall_rf_next:
    ret

/* The LSTAR target while probing: RCX, R11, RFLAGS, CS and SS into probe. */
    .globl probe_entry, probe
probe_entry:
    mov %rcx, probe(%rip)
    mov %r11, probe+8(%rip)
    pushfq
    popq probe+16(%rip)
    mov %cs, probe+24(%rip)
    mov %ss, probe+26(%rip)
    mov $0x10, %eax
    mov %eax, %ss
    jmp *%rcx

/* void k_compat_try(int which): far jump to 32-bit code at CPL 0
 * (selector 0x18), run SYSCALL (which 0) or SYSRET (which 1) there with
 * fault_recover set, and come back to 64-bit mode; the caller reads
 * last_fault.  (Only for Intel's model, where both are #UD there.) */
    .globl k_compat_try
k_compat_try:
    push %rbx
    mov %edi, %ebx
    lea 1f(%rip), %rax
    pushq $0x18
    push %rax
    lretq
    .code32
1:  movl $2f, fault_recover
    movl $0, fault_recover+4
    test %ebx, %ebx
    jnz 3f
    syscall
    jmp 2f
3:  mov $4f, %ecx               /* a SYSRET that went on would land here */
    sysret
4:  ud2
2:  ljmp $0x08, $5f
    .code64
5:  pop %rbx
    ret

/* 64-bit user program: CS, SS and RFLAGS as SYSRETQ left them. */
    .globl user64, user_seen
user64:
    mov %cs, user_seen(%rip)
    mov %ss, user_seen+2(%rip)
    pushfq
    popq user_seen+8(%rip)
    push $0x2                   /* clear DF, TF, AC... before going on */
    popfq
    mov $64, %eax
    int $0x80
    ud2

/* 64-bit user program entered with TF set: the trap comes before the
 * first instruction here runs. */
    .globl user_tf
user_tf:
    nop
    mov $65, %eax
    int $0x80
    ud2

/* Compatibility-mode user program (SYSRETL): CS, SS and EFLAGS.  DS and
 * ES are loaded first: the IRETQ to CPL 3 after the #DB above nulled them
 * (their DPL 0 is below CPL 3), and a null DS faults outside 64-bit mode. */
    .code32
    .globl user32
user32:
    mov $0x2b, %eax
    mov %eax, %ds
    mov %eax, %es
    movw %cs, user_seen
    movw %ss, user_seen+2
    pushfl
    popl user_seen+8
    movl $0, user_seen+12
    push $0x2
    popfl
    mov $32, %eax
    int $0x80
    ud2
    .code64

    .data
    .align 8
probe:
    .quad 0, 0, 0, 0
user_seen:
    .quad 0, 0, 0
