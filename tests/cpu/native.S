/* Runs one test snippet on the host CPU: loads every GPR, RFLAGS, XMM and
 * MXCSR from ct_nat_in, jumps to the snippet, and (reached through the jump
 * the runner appends to the snippet) stores the state into ct_nat_out. */
        .set GPR, 0
        .set RIP, 128
        .set RFL, 136
        .set MXCSR, 144
        .set XMM, 160
        .set YMMHI, 432

        .bss
        .balign 16
        .globl ct_nat_in, ct_nat_out
ct_nat_in:  .skip 704
ct_nat_out: .skip 704
        .globl ct_nat_avx, ct_nat_ymm_load
ct_nat_avx: .skip 1
ct_nat_ymm_load: .skip 1
host_rsp:   .skip 8
scratch:    .skip 8

        .text
        .globl ct_native_run, ct_native_exit
        .type ct_native_run, @function
ct_native_run:
        push %rbx
        push %rbp
        push %r12
        push %r13
        push %r14
        push %r15
        mov %rsp, host_rsp(%rip)
        /* FNINIT keeps the data registers: zero them so MMX reads are defined. */
        fninit
        .rept 8
        fldz
        .endr
        fninit
        ldmxcsr ct_nat_in+MXCSR(%rip)
        .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        movdqu ct_nat_in+XMM+16*\n(%rip), %xmm\n
        .endr
        /* YMM upper halves (AVX hosts): loaded, or with all of them zero
         * VZEROUPPER, which also puts AVX state in its initial configuration. */
        cmpb $0, ct_nat_avx(%rip)
        je 1f
        vzeroupper
        cmpb $0, ct_nat_ymm_load(%rip)
        je 1f
        .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        vinsertf128 $1, ct_nat_in+YMMHI+16*\n(%rip), %ymm\n, %ymm\n
        .endr
1:
        pushq ct_nat_in+RFL(%rip)
        popfq
        mov ct_nat_in+GPR+0*8(%rip), %rax
        mov ct_nat_in+GPR+1*8(%rip), %rcx
        mov ct_nat_in+GPR+2*8(%rip), %rdx
        mov ct_nat_in+GPR+3*8(%rip), %rbx
        mov ct_nat_in+GPR+5*8(%rip), %rbp
        mov ct_nat_in+GPR+6*8(%rip), %rsi
        mov ct_nat_in+GPR+7*8(%rip), %rdi
        mov ct_nat_in+GPR+8*8(%rip), %r8
        mov ct_nat_in+GPR+9*8(%rip), %r9
        mov ct_nat_in+GPR+10*8(%rip), %r10
        mov ct_nat_in+GPR+11*8(%rip), %r11
        mov ct_nat_in+GPR+12*8(%rip), %r12
        mov ct_nat_in+GPR+13*8(%rip), %r13
        mov ct_nat_in+GPR+14*8(%rip), %r14
        mov ct_nat_in+GPR+15*8(%rip), %r15
        mov ct_nat_in+GPR+4*8(%rip), %rsp
        jmp *ct_nat_in+RIP(%rip)

ct_native_exit:
        mov %rax, ct_nat_out+GPR+0*8(%rip)
        mov %rcx, ct_nat_out+GPR+1*8(%rip)
        mov %rdx, ct_nat_out+GPR+2*8(%rip)
        mov %rbx, ct_nat_out+GPR+3*8(%rip)
        mov %rsp, ct_nat_out+GPR+4*8(%rip)
        mov %rbp, ct_nat_out+GPR+5*8(%rip)
        mov %rsi, ct_nat_out+GPR+6*8(%rip)
        mov %rdi, ct_nat_out+GPR+7*8(%rip)
        mov %r8, ct_nat_out+GPR+8*8(%rip)
        mov %r9, ct_nat_out+GPR+9*8(%rip)
        mov %r10, ct_nat_out+GPR+10*8(%rip)
        mov %r11, ct_nat_out+GPR+11*8(%rip)
        mov %r12, ct_nat_out+GPR+12*8(%rip)
        mov %r13, ct_nat_out+GPR+13*8(%rip)
        mov %r14, ct_nat_out+GPR+14*8(%rip)
        mov %r15, ct_nat_out+GPR+15*8(%rip)
        mov host_rsp(%rip), %rsp
        pushfq
        popq ct_nat_out+RFL(%rip)
        stmxcsr ct_nat_out+MXCSR(%rip)
        .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        movdqu %xmm\n, ct_nat_out+XMM+16*\n(%rip)
        .endr
        cmpb $0, ct_nat_avx(%rip)
        je 1f
        .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15
        vextractf128 $1, %ymm\n, ct_nat_out+YMMHI+16*\n(%rip)
        .endr
        vzeroupper
1:
        /* Back to the C ABI's expectations: clean flags (a snippet's POPF
         * may have set AC or TF, which would fault in the harness's code). */
        pushq $0x202
        popfq
        movl $0x1f80, scratch(%rip)
        ldmxcsr scratch(%rip)
        fninit
        pop %r15
        pop %r14
        pop %r13
        pop %r12
        pop %rbp
        pop %rbx
        ret
        .size ct_native_run, .-ct_native_run

        .section .note.GNU-stack,"",@progbits
