/* The pm32 guest's #PF handler (a 32-bit interrupt gate): records CR2, the
 * error code and EIP, and resumes at pf_recover. */
    .text
    .code32
    .globl pf_stub32
pf_stub32:
    pusha
    mov %cr2, %eax
    mov %eax, pf_cr2
    mov 32(%esp), %eax          /* error code, above the 8 saved registers */
    mov %eax, pf_err
    mov 36(%esp), %eax
    mov %eax, pf_eip
    mov pf_recover, %eax
    mov %eax, 36(%esp)
    incl pf_count
    popa
    add $4, %esp
    iret
