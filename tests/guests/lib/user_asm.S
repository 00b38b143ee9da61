/* CPL 3 entries (user.h): sysret_to() enters by SYSRET, enter_user() by
 * IRETQ; both keep the callee-saved registers and the kernel stack, and
 * user_return (where user.c's INT 0x80 handler, or a guest's own system
 * call, resumes) returns from them with RAX. */
    .text
    .code64

/* Saves the callee-saved registers and the kernel RSP for user_return. */
.macro KERNEL_SAVE
    push %rbx
    push %rbp
    push %r12
    push %r13
    push %r14
    push %r15
    mov %rsp, user_kernel_rsp(%rip)
.endm

    .globl sysret_to, enter_user, user_return, user_kernel_rsp
sysret_to:
    KERNEL_SAVE
    mov %ecx, %r8d              /* compat */
    mov %rdi, %rcx
    mov %rsi, %r11
    mov %rdx, %rsp
    test %r8d, %r8d
    jnz 1f
    sysretq
1:  sysretl

/* uint64_t enter_user(uint64_t rip, uint64_t rsp): 64-bit CPL 3, IF clear. */
enter_user:
    KERNEL_SAVE
    pushq $0x2b                 /* SS: user data, RPL 3 */
    pushq %rsi                  /* RSP */
    pushq $0x2                  /* RFLAGS: IF clear */
    pushq $0x33                 /* CS: user 64-bit code, RPL 3 */
    pushq %rdi                  /* RIP */
    iretq

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
