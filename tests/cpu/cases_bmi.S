/* BMI1/BMI2 (VEX-encoded general-purpose forms) for the differential test
 * (tests/cpu/cpu_diff.c): register and memory forms at 32 and 64 bits, the
 * operand orders (vvvv, r/m, reg), and the VEX #UD rules (VEX.L = 1, a
 * legacy prefix or REX before VEX).  TZCNT/LZCNT/POPCNT/MOVBE are in
 * cases_int.S.  rcx carries the shift counts and bit indexes (0..255),
 * rdx the BEXTR controls (0, ~0, 16-bit random, random). */
#include "case_macros.h"

        .text

.macro BMI3 name, rule, op, q, l, dst
CASE \name\()_r64, \rule|K_BMI1|K_BMI2        ; \op %rbx, %r\q, %r\dst ; ENDC
CASE \name\()_r32, \rule|K_BMI1|K_BMI2        ; \op %ebx, %e\q, %e\dst ; ENDC
CASE \name\()_m64, \rule|K_BMI1|K_BMI2        ; \op (%rsi), %r\q, %r\dst ; ENDC
CASE \name\()_m32, \rule|K_BMI1|K_BMI2        ; \op 8(%rsi), %e\q, %e\dst ; ENDC
CASE \name\()_hi, \rule|K_BMI1|K_BMI2         ; \op %r\l, %r14, %r9 ; ENDC
.endm

BMI3 andn, R_BMI, andn, ax, 12, cx
BMI3 pdep, R_NONE, pdep, ax, 12, cx
BMI3 pext, R_NONE, pext, ax, 12, cx
BMI3 mulx, R_NONE, mulx, cx, 12, ax
CASE mulx_same_dst, R_NONE|K_BMI1|K_BMI2      ; mulx %rbx, %rax, %rax ; ENDC
CASE mulx_same_dst32, R_NONE|K_BMI1|K_BMI2    ; mulx %ebx, %eax, %eax ; ENDC
CASE mulx_rdx_src, R_NONE|K_BMI1|K_BMI2       ; mulx %rdx, %rcx, %rax ; ENDC

/* count/index/control in vvvv: AT&T puts it first. */
.irp op, bzhi, shlx, shrx, sarx
CASE \op\()_r64, R_BMI|K_BMI1|K_BMI2          ; \op %rcx, %rbx, %rax ; ENDC
CASE \op\()_r32, R_BMI|K_BMI1|K_BMI2          ; \op %ecx, %ebx, %eax ; ENDC
CASE \op\()_m64, R_BMI|K_BMI1|K_BMI2          ; \op %rcx, (%rsi), %rax ; ENDC
CASE \op\()_m32, R_BMI|K_BMI1|K_BMI2          ; \op %ecx, 8(%rsi), %eax ; ENDC
CASE \op\()_hi, R_BMI|K_BMI1|K_BMI2           ; \op %r8, %r13, %r11 ; ENDC
.endr
CASE bzhi_rax_index, R_BMI|K_BMI1|K_BMI2      ; bzhi %rax, %rbx, %rcx ; ENDC
CASE bzhi_rax_index32, R_BMI|K_BMI1|K_BMI2    ; bzhi %eax, %ebx, %ecx ; ENDC
.irp op, bextr
CASE \op\()_r64, R_BEXTR|K_BMI1|K_BMI2        ; \op %rdx, %rbx, %rax ; ENDC
CASE \op\()_r32, R_BEXTR|K_BMI1|K_BMI2        ; \op %edx, %ebx, %eax ; ENDC
CASE \op\()_m64, R_BEXTR|K_BMI1|K_BMI2        ; \op %rdx, (%rsi), %rax ; ENDC
CASE \op\()_m32, R_BEXTR|K_BMI1|K_BMI2        ; \op %edx, 8(%rsi), %eax ; ENDC
CASE \op\()_cx, R_BEXTR|K_BMI1|K_BMI2         ; \op %rcx, %rbx, %rax ; ENDC
CASE \op\()_ax32, R_BEXTR|K_BMI1|K_BMI2       ; \op %eax, %ebx, %ecx ; ENDC
.endr

.irp op, blsr, blsmsk, blsi
CASE \op\()_r64, R_BMI|K_BMI1|K_BMI2          ; \op %rbx, %rax ; ENDC
CASE \op\()_r32, R_BMI|K_BMI1|K_BMI2          ; \op %ebx, %eax ; ENDC
CASE \op\()_m64, R_BMI|K_BMI1|K_BMI2          ; \op (%rsi), %rax ; ENDC
CASE \op\()_m32, R_BMI|K_BMI1|K_BMI2          ; \op 8(%rsi), %eax ; ENDC
CASE \op\()_hi, R_BMI|K_BMI1|K_BMI2           ; \op %r13, %r10 ; ENDC
CASE \op\()_rax, R_BMI|K_BMI1|K_BMI2          ; \op %rax, %rcx ; ENDC
.endr

.irp n, 0, 1, 7, 31, 32, 63, 64, 200
CASE rorx64_\n, R_NONE|K_BMI1|K_BMI2          ; rorx $\n, %rbx, %rax ; ENDC
CASE rorx32_\n, R_NONE|K_BMI1|K_BMI2          ; rorx $\n, %ebx, %eax ; ENDC
.endr
CASE rorx_m64, R_NONE|K_BMI1|K_BMI2           ; rorx $13, (%rsi), %r10 ; ENDC
CASE rorx_m32, R_NONE|K_BMI1|K_BMI2           ; rorx $13, 8(%rsi), %r10d ; ENDC

/* #UD: VEX.L = 1 (andn, bzhi, rorx), 66/F3/REX before VEX, BLSx /0, /4. */
CASE andn_vexl_ud, R_NONE|K_BMI1|K_BMI2       ; .byte 0xc4, 0xe2, 0x7c, 0xf2, 0xc3 ; ENDC
CASE bzhi_vexl_ud, R_NONE|K_BMI1|K_BMI2       ; .byte 0xc4, 0xe2, 0x74, 0xf5, 0xc3 ; ENDC
CASE rorx_vexl_ud, R_NONE|K_BMI1|K_BMI2       ; .byte 0xc4, 0xe3, 0x7f, 0xf0, 0xc3, 0x05 ; ENDC
CASE andn_66_ud, R_NONE|K_BMI1|K_BMI2         ; .byte 0x66, 0xc4, 0xe2, 0x78, 0xf2, 0xc3 ; ENDC
CASE andn_f3_ud, R_NONE|K_BMI1|K_BMI2         ; .byte 0xf3, 0xc4, 0xe2, 0x78, 0xf2, 0xc3 ; ENDC
CASE andn_rex_ud, R_NONE|K_BMI1|K_BMI2        ; .byte 0x48, 0xc4, 0xe2, 0x78, 0xf2, 0xc3 ; ENDC
CASE andn_pp66_ud, R_NONE|K_BMI1|K_BMI2       ; .byte 0xc4, 0xe2, 0x79, 0xf2, 0xc3 ; ENDC
CASE grp17_0_ud, R_NONE|K_BMI1|K_BMI2         ; .byte 0xc4, 0xe2, 0x78, 0xf3, 0xc3 ; ENDC
CASE grp17_4_ud, R_NONE|K_BMI1|K_BMI2         ; .byte 0xc4, 0xe2, 0x78, 0xf3, 0xe3 ; ENDC
CASE vex_map0_ud, R_NONE|K_BMI1|K_BMI2        ; .byte 0xc4, 0xe0, 0x78, 0xf2, 0xc3 ; ENDC
CASE vex_map4_ud, R_NONE|K_BMI1|K_BMI2        ; .byte 0xc4, 0xe4, 0x78, 0xf2, 0xc3 ; ENDC
CASE mulx_pp0_ud, R_NONE|K_BMI1|K_BMI2        ; .byte 0xc4, 0xe2, 0x78, 0xf6, 0xc3 ; ENDC

        .section .note.GNU-stack,"",@progbits
