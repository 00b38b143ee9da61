/* BMI1, BMI2, LZCNT and MOVBE forms for the differential test
 * (tests/cpu/cpu_diff.c): 32- and 64-bit, register and memory, with the edge
 * values of cases_int.S in rax/rbx and shift/bit counts 0..255 in rcx.  Each
 * form needs its CPUID bit in emu (else SKIP); TZCNT is in cases_int.S, and
 * v3cpu's own BMI cases are in cases_bmi.S.  Names start with gpr3_. */
#include "case_macros.h"

        .text

/* Flags: ANDN/BLSx/BZHI R_BMI (AF PF undefined), BEXTR R_BEXTR (AF SF PF),
 * the BMI2 shifts/rotates, MULX, PDEP and PEXT none (flags kept). */
.macro B3 op, k, r
CASE gpr3_\op\()_r32, \k|\r|W32     ; \op %ebx, %eax, %edx ; ENDC
CASE gpr3_\op\()_r64, \k|\r|W64     ; \op %rbx, %rax, %rdx ; ENDC
CASE gpr3_\op\()_m64, \k|\r|W64     ; \op (%rsi), %rax, %rdx ; ENDC
CASE gpr3_\op\()_rex, \k|\r|W64     ; \op %r9, %r12, %r14 ; ENDC
.endm
/* Count/control operand in vvvv: rcx (counts 0..255 in cl), or rbx. */
.macro B3C op, k, r
CASE gpr3_\op\()_r32, \k|\r|W32     ; \op %ecx, %eax, %edx ; ENDC
CASE gpr3_\op\()_r64, \k|\r|W64     ; \op %rcx, %rax, %rdx ; ENDC
CASE gpr3_\op\()_m32, \k|\r|W32     ; \op %ecx, 4(%rsi), %edx ; ENDC
CASE gpr3_\op\()_m64, \k|\r|W64     ; \op %rcx, (%rsi), %rdx ; ENDC
CASE gpr3_\op\()_rbx64, \k|\r|W64   ; \op %rbx, %rax, %rdx ; ENDC
CASE gpr3_\op\()_same, \k|\r|W64    ; \op %rax, %rax, %rax ; ENDC
.endm
.macro B2 op, k, r
CASE gpr3_\op\()_r32, \k|\r|W32     ; \op %ebx, %eax ; ENDC
CASE gpr3_\op\()_r64, \k|\r|W64     ; \op %rbx, %rax ; ENDC
CASE gpr3_\op\()_m64, \k|\r|W64     ; \op 8(%rsi), %r11 ; ENDC
.endm

/* ---- BMI1 ---- */
B3 andn, K_BMI1, R_BMI
B3C bextr, K_BMI1, R_BEXTR
CASE gpr3_bextr_fields, K_BMI1|R_BEXTR|W64 ; movzbl %cl, %ecx ; mov %ecx, %edx ; shl $8, %edx ; or %ebx, %edx ; and $0x7f7f, %edx ; bextr %rdx, %rax, %r9 ; ENDC
.irp op, blsi, blsmsk, blsr
B2 \op, K_BMI1, R_BMI
.endr

/* ---- BMI2 ---- */
B3C bzhi, K_BMI2, R_BMI
B3C sarx, K_BMI2, R_NONE
B3C shlx, K_BMI2, R_NONE
B3C shrx, K_BMI2, R_NONE
B3 pdep, K_BMI2, R_NONE
B3 pext, K_BMI2, R_NONE
CASE gpr3_mulx_r32, K_BMI2|W32      ; mulx %ebx, %eax, %ecx ; ENDC
CASE gpr3_mulx_r64, K_BMI2|W64      ; mulx %rbx, %rax, %rcx ; ENDC
CASE gpr3_mulx_m64, K_BMI2|W64      ; mulx (%rsi), %r8, %r9 ; ENDC
/* Both destinations the same register: the high half wins. */
CASE gpr3_mulx_same_dest, K_BMI2|W64 ; mulx %rbx, %rax, %rax ; ENDC
.irp imm, 0, 1, 7, 31, 32, 33, 63
CASE gpr3_rorx_\imm\()_r64, K_BMI2|W64 ; rorx $\imm, %rbx, %rax ; ENDC
CASE gpr3_rorx_\imm\()_r32, K_BMI2|W32 ; rorx $\imm, %ebx, %eax ; ENDC
.endr
CASE gpr3_rorx_m64, K_BMI2|W64      ; rorx $13, 8(%rsi), %r10 ; ENDC
/* #UD: VEX.L=1 on a BMI form. */
CASE gpr3_ud_andn_l1, K_BMI1        ; .byte 0xc4, 0xe2, 0x64, 0xf2, 0xc3 ; ENDC
CASE gpr3_ud_shlx_l1, K_BMI2        ; .byte 0xc4, 0xe2, 0xe5, 0xf7, 0xc0 ; ENDC

/* ---- LZCNT ---- */
CASE gpr3_lzcnt_r16, K_LZCNT|R_LZCNT|W16 ; lzcnt %bx, %ax ; ENDC
CASE gpr3_lzcnt_r32, K_LZCNT|R_LZCNT|W32 ; lzcnt %ebx, %eax ; ENDC
CASE gpr3_lzcnt_r64, K_LZCNT|R_LZCNT|W64 ; lzcnt %rbx, %rax ; ENDC
CASE gpr3_lzcnt_m64, K_LZCNT|R_LZCNT|W64 ; lzcnt 8(%rsi), %r13 ; ENDC
CASE gpr3_lzcnt_shr, K_LZCNT|R_LZCNT|W64 ; shr %cl, %rbx ; lzcnt %rbx, %rax ; ENDC

/* ---- MOVBE ---- */
CASE gpr3_movbe_v_r16_m16, K_MOVBE|W16 ; movbe 2(%rsi), %ax ; ENDC
CASE gpr3_movbe_v_m16_r16, K_MOVBE|W16 ; movbe %bx, 2(%rsi) ; ENDC
CASE gpr3_movbe_v_m32_r32, K_MOVBE|W32 ; movbe %ebx, 4(%rsi) ; ENDC
CASE gpr3_movbe_v_r64_m64, K_MOVBE|W64 ; movbe 1(%rsi), %r12 ; ENDC
CASE gpr3_movbe_v_pf, K_MOVBE|W64      ; lea CT_END-4, %rax ; movbe %rbx, (%rax) ; ENDC
CASE gpr3_movbe_v_ud_reg, K_MOVBE      ; .byte 0x0f, 0x38, 0xf0, 0xc3 ; ENDC

        .section .note.GNU-stack,"",@progbits
