/* Integer instruction forms for the differential test (tests/cpu/cpu_diff.c):
 * one snippet per form, run natively and on emu with many operand sets. */
#include "case_macros.h"

        .text

/* ---- two-operand ALU: add or adc sbb and sub xor cmp (and test) ---- */
.macro ALU op, r
CASE \op\()_rm8_r8, \r|W8       ; \op %bl, %al ; ENDC
CASE \op\()_r8_rm8, \r|W8       ; {load} \op %bl, %al ; ENDC
CASE \op\()_rm8_r8_hi, \r|W8    ; \op %bh, %ah ; ENDC
CASE \op\()_rm8_r8_rex, \r|W8   ; \op %sil, %r9b ; ENDC
CASE \op\()_rm16_r16, \r|W16    ; \op %bx, %ax ; ENDC
CASE \op\()_rm32_r32, \r|W32    ; \op %ebx, %eax ; ENDC
CASE \op\()_r32_rm32, \r|W32    ; {load} \op %ebx, %eax ; ENDC
CASE \op\()_rm64_r64, \r|W64    ; \op %rbx, %rax ; ENDC
CASE \op\()_r64_rm64_ext, \r|W64 ; {load} \op %r13, %r12 ; ENDC
CASE \op\()_m8_r8, \r|W8        ; \op %al, (%rsi) ; ENDC
CASE \op\()_r8_m8, \r|W8        ; \op (%rsi), %al ; ENDC
CASE \op\()_m16_r16, \r|W16     ; \op %ax, 2(%rsi) ; ENDC
CASE \op\()_m32_r32, \r|W32     ; \op %eax, (%rsi) ; ENDC
CASE \op\()_r32_m32, \r|W32     ; \op 4(%rsi), %eax ; ENDC
CASE \op\()_m64_r64, \r|W64     ; \op %rax, (%rsi) ; ENDC
CASE \op\()_r64_m64, \r|W64     ; \op (%rsi), %rax ; ENDC
CASE \op\()_r64_m64_sib, \r|W64 ; \op -8(%rsi,%r8,8), %rax ; ENDC
CASE \op\()_al_imm8, \r|W8      ; \op $0x81, %al ; ENDC
CASE \op\()_ax_imm16, \r|W16    ; \op $0x8001, %ax ; ENDC
CASE \op\()_eax_imm32, \r|W32   ; \op $0x80000001, %eax ; ENDC
CASE \op\()_rax_imm32, \r|W64   ; \op $-0x7ffffff0, %rax ; ENDC
CASE \op\()_rm8_imm8, \r|W8     ; \op $0x7f, %bl ; ENDC
CASE \op\()_rm16_imm8, \r|W16   ; \op $-1, %bx ; ENDC
CASE \op\()_rm32_imm8, \r|W32   ; \op $-128, %ebx ; ENDC
CASE \op\()_rm32_imm32, \r|W32  ; \op $0x12345678, %ebx ; ENDC
CASE \op\()_rm64_imm8, \r|W64   ; \op $127, %rbx ; ENDC
CASE \op\()_rm64_imm32, \r|W64  ; \op $-0x12345678, %rbx ; ENDC
CASE \op\()_m8_imm8, \r|W8      ; \op\()b $0x80, 1(%rsi) ; ENDC
CASE \op\()_m32_imm8, \r|W32    ; \op\()l $1, (%rsi) ; ENDC
CASE \op\()_m64_imm32, \r|W64   ; \op\()q $0x7fffffff, (%rsi) ; ENDC
.endm
.irp op, add, adc, sbb, sub, cmp
ALU \op, R_NONE
.endr
.irp op, and, or, xor
ALU \op, R_LOGIC
.endr

.macro LOCKED op
CASE lock_\op\()_m32_r32, W32   ; lock \op %eax, (%rsi) ; ENDC
CASE lock_\op\()_m64_r64, W64   ; lock \op %rax, 8(%rsi) ; ENDC
CASE lock_\op\()_m8_imm8, W8    ; lock \op\()b $0x33, 3(%rsi) ; ENDC
.endm
.irp op, add, adc, sbb, sub, and, or, xor
LOCKED \op
.endr
CASE lock_on_register_ud        ; .byte 0xf0, 0x01, 0xd8 ; ENDC
/* Flags written again before anyone reads them: the translated host LOCK forms. */
CASE lock_add_m32_imm_dead, 0   ; lock addl $0x7f, (%rsi) ; add %rbx, %rcx ; ENDC
CASE lock_or_m8_imm_dead, 0     ; lock orb $0x81, 3(%rsi) ; cmp %rax, %rbx ; ENDC
CASE lock_xor_m64_r64_dead, 0   ; lock xor %rax, 8(%rsi) ; test %rcx, %rcx ; ENDC
CASE lock_sub_m16_imm_dead, 0   ; lock subw $0x1234, 2(%rsi) ; xor %edx, %edx ; ENDC
CASE lock_and_m32_r32_dead, 0   ; lock and %ecx, 4(%rsi) ; sub $1, %r8 ; ENDC
CASE lock_add_m64_imm32_dead, 0 ; lock addq $-0x12345, 16(%rsi) ; inc %r9 ; add %r10, %r9 ; ENDC
CASE lock_add_stack_barrier, 0  ; lea CT_END+64, %rsp ; mov %rax, -8(%rsp) ; lock addl $0, -4(%rsp) ; add %rbx, %rcx ; mov -8(%rsp), %rdx ; ENDC
CASE lock_add_m8_r8_dead, 0     ; lock add %sil, 5(%rsi) ; add %rbx, %rcx ; ENDC

CASE test_rm8_r8, R_LOGIC|W8    ; test %bl, %al ; ENDC
CASE test_rm16_r16, R_LOGIC|W16 ; test %bx, %ax ; ENDC
CASE test_rm32_r32, R_LOGIC|W32 ; test %ebx, %eax ; ENDC
CASE test_rm64_r64, R_LOGIC|W64 ; test %rbx, %rax ; ENDC
CASE test_m64_r64, R_LOGIC|W64  ; test %rax, (%rsi) ; ENDC
CASE test_al_imm8, R_LOGIC|W8   ; test $0x80, %al ; ENDC
CASE test_eax_imm32, R_LOGIC|W32 ; test $0x80000000, %eax ; ENDC
CASE test_rax_imm32, R_LOGIC|W64 ; test $-1, %rax ; ENDC
CASE test_rm8_imm8, R_LOGIC|W8  ; test $0x01, %bl ; ENDC
CASE test_rm32_imm32, R_LOGIC|W32 ; test $0x00ff00ff, %ebx ; ENDC
CASE test_m16_imm16, R_LOGIC|W16 ; testw $0x8000, (%rsi) ; ENDC
CASE test_r8hi_imm8, R_LOGIC|W8 ; test $0x82, %ah ; ENDC
CASE test_rm8_r8_hi, R_LOGIC|W8 ; test %bh, %ah ; ENDC
CASE test_r8hi_r8, R_LOGIC|W8   ; test %ah, %bl ; ENDC
CASE test_r8hi_self, R_LOGIC|W8 ; test %dh, %dh ; ENDC
CASE test_r8hi_flags, 0         ; test $0x2, %ah ; setnz %cl ; setp %dl ; sets %bl ; cmovs %rsi, %r8 ; ENDC

/* ---- unary ---- */
.irp op, inc, dec, neg, not
CASE \op\()_r8, W8      ; \op %al ; ENDC
CASE \op\()_r8_hi, W8   ; \op %bh ; ENDC
CASE \op\()_r16, W16    ; \op %ax ; ENDC
CASE \op\()_r32, W32    ; \op %eax ; ENDC
CASE \op\()_r64, W64    ; \op %rax ; ENDC
CASE \op\()_r64_ext, W64 ; \op %r11 ; ENDC
CASE \op\()_m8, W8      ; \op\()b (%rsi) ; ENDC
CASE \op\()_m16, W16    ; \op\()w (%rsi) ; ENDC
CASE \op\()_m32, W32    ; \op\()l (%rsi) ; ENDC
CASE \op\()_m64, W64    ; \op\()q (%rsi) ; ENDC
CASE lock_\op\()_m32, W32 ; lock \op\()l 4(%rsi) ; ENDC
.endr

/* ---- multiply / divide ---- */
.irp op, mul, imul
CASE \op\()_r8, R_MUL|W8     ; \op %bl ; ENDC
CASE \op\()_r16, R_MUL|W16   ; \op %bx ; ENDC
CASE \op\()_r32, R_MUL|W32   ; \op %ebx ; ENDC
CASE \op\()_r64, R_MUL|W64   ; \op %rbx ; ENDC
CASE \op\()_m8, R_MUL|W8     ; \op\()b (%rsi) ; ENDC
CASE \op\()_m32, R_MUL|W32   ; \op\()l (%rsi) ; ENDC
CASE \op\()_m64, R_MUL|W64   ; \op\()q (%rsi) ; ENDC
.endr
CASE imul_r16_rm16, R_MUL|W16       ; imul %bx, %ax ; ENDC
CASE imul_r32_rm32, R_MUL|W32       ; imul %ebx, %eax ; ENDC
CASE imul_r64_rm64, R_MUL|W64       ; imul %rbx, %rax ; ENDC
CASE imul_r64_m64, R_MUL|W64        ; imul (%rsi), %rax ; ENDC
CASE imul_r16_rm16_imm8, R_MUL|W16  ; imul $-3, %bx, %ax ; ENDC
CASE imul_r32_rm32_imm8, R_MUL|W32  ; imul $127, %ebx, %eax ; ENDC
CASE imul_r64_rm64_imm8, R_MUL|W64  ; imul $-128, %rbx, %rax ; ENDC
CASE imul_r16_rm16_imm16, R_MUL|W16 ; imul $0x1234, %bx, %ax ; ENDC
CASE imul_r32_rm32_imm32, R_MUL|W32 ; imul $0x12345678, %ebx, %eax ; ENDC
CASE imul_r64_rm64_imm32, R_MUL|W64 ; imul $-0x12345678, %rbx, %rax ; ENDC
CASE imul_r64_m64_imm32, R_MUL|W64  ; imul $0x10001, 8(%rsi), %r10 ; ENDC
.irp op, div, idiv
CASE \op\()_r8, R_DIV|W8     ; \op %bl ; ENDC
CASE \op\()_r16, R_DIV|W16   ; \op %bx ; ENDC
CASE \op\()_r32, R_DIV|W32   ; \op %ebx ; ENDC
CASE \op\()_r64, R_DIV|W64   ; \op %rbx ; ENDC
CASE \op\()_m8, R_DIV|W8     ; \op\()b (%rsi) ; ENDC
CASE \op\()_m16, R_DIV|W16   ; \op\()w (%rsi) ; ENDC
CASE \op\()_m32, R_DIV|W32   ; \op\()l (%rsi) ; ENDC
CASE \op\()_m64, R_DIV|W64   ; \op\()q (%rsi) ; ENDC
.endr
/* Divisions that mostly succeed: the dividend's high half is extended. */
CASE div_r32_zext, R_DIV|W32   ; xor %edx, %edx ; div %ebx ; ENDC
CASE div_r64_zext, R_DIV|W64   ; xor %edx, %edx ; div %rbx ; ENDC
CASE idiv_r16_cwd, R_DIV|W16   ; cwd ; idiv %bx ; ENDC
CASE idiv_r32_cdq, R_DIV|W32   ; cdq ; idiv %ebx ; ENDC
CASE idiv_r64_cqo, R_DIV|W64   ; cqo ; idiv %rbx ; ENDC
CASE idiv_r8_cbw, R_DIV|W8     ; cbw ; idiv %bl ; ENDC
CASE div_r8_zext, R_DIV|W8     ; movzbl %al, %eax ; div %bl ; ENDC
CASE div_m32_zext, R_DIV|W32   ; xor %edx, %edx ; divl 4(%rsi) ; ENDC
CASE div_m64_zext, R_DIV|W64   ; xor %edx, %edx ; divq (%rsi) ; ENDC
CASE idiv_m32_cdq, R_DIV|W32   ; cdq ; idivl (%rsi) ; ENDC
CASE idiv_m64_cqo, R_DIV|W64   ; cqo ; idivq 8(%rsi) ; ENDC
CASE div_r64_self, R_DIV|W64   ; or $1, %rax ; xor %edx, %edx ; div %rax ; ENDC
CASE div_r64_rdx, R_DIV|W64    ; mov %rbx, %rdx ; shr $1, %rdx ; div %rdx ; ENDC
CASE div_r64_wide, R_DIV|W64   ; mov %rbx, %rdx ; shr $2, %rdx ; or $1, %rbx ; or %rbx, %rdx ; shl $1, %rbx ; div %rbx ; ENDC
CASE idiv_r64_m1, R_DIV|W64    ; cqo ; mov $-1, %rcx ; idiv %rcx ; ENDC
CASE idiv_r32_m1, R_DIV|W32    ; cdq ; mov $-1, %ecx ; idiv %ecx ; ENDC
CASE idiv_r64_self, R_DIV|W64  ; or $1, %rax ; cqo ; idiv %rax ; ENDC
CASE idiv_r32_wide, R_DIV|W32  ; mov %ebx, %edx ; sar $31, %edx ; shl $1, %ebx ; or $3, %ebx ; not %edx ; and $1, %edx ; idiv %ebx ; ENDC
CASE div_r32_keeps_upper, R_DIV|W32 ; mov %rbx, %rcx ; xor %edx, %edx ; or $1, %ecx ; div %ecx ; ENDC

/* ---- shifts and rotates ---- */
.macro SHIFTS op, r
CASE \op\()_r8_1, \r|W8, 1       ; \op %al ; ENDC
CASE \op\()_r8_cl, \r|W8, CNT_CL ; \op %cl, %al ; ENDC
CASE \op\()_r8_imm, \r|W8, 3     ; \op $3, %al ; ENDC
CASE \op\()_r8hi_imm, \r|W8, 7   ; \op $7, %ah ; ENDC
CASE \op\()_r16_1, \r|W16, 1     ; \op %ax ; ENDC
CASE \op\()_r16_cl, \r|W16, CNT_CL ; \op %cl, %ax ; ENDC
CASE \op\()_r16_imm, \r|W16, 17  ; \op $17, %ax ; ENDC
CASE \op\()_r32_1, \r|W32, 1     ; \op %eax ; ENDC
CASE \op\()_r32_cl, \r|W32, CNT_CL ; \op %cl, %eax ; ENDC
CASE \op\()_r32_imm, \r|W32, 31  ; \op $31, %eax ; ENDC
CASE \op\()_r32_imm0, \r|W32, 0  ; \op $0, %eax ; ENDC
CASE \op\()_r64_1, \r|W64, 1     ; \op %rax ; ENDC
CASE \op\()_r64_cl, \r|W64, CNT_CL ; \op %cl, %rax ; ENDC
CASE \op\()_r64_imm, \r|W64, 33  ; \op $33, %rax ; ENDC
CASE \op\()_r64_imm63, \r|W64, 63 ; \op $63, %r9 ; ENDC
CASE \op\()_m8_cl, \r|W8, CNT_CL ; \op\()b %cl, (%rsi) ; ENDC
CASE \op\()_m32_1, \r|W32, 1     ; \op\()l (%rsi) ; ENDC
CASE \op\()_m64_cl, \r|W64, CNT_CL ; \op\()q %cl, (%rsi) ; ENDC
CASE \op\()_m16_imm, \r|W16, 5   ; \op\()w $5, 2(%rsi) ; ENDC
.endm
.irp op, shl, shr, sar
SHIFTS \op, R_SHIFT
.endr
.irp op, rol, ror, rcl, rcr
SHIFTS \op, R_ROT
.endr
CASE sal_alias_d3_6, R_SHIFT|W32, CNT_CL ; .byte 0xd3, 0xf0 ; ENDC
.irp op, shld, shrd
CASE \op\()_r16_imm, R_SHD|W16, 4      ; \op $4, %bx, %ax ; ENDC
CASE \op\()_r16_cl, R_SHD|W16, CNT_CL  ; \op %cl, %bx, %ax ; ENDC
CASE \op\()_r32_imm, R_SHD|W32, 1      ; \op $1, %ebx, %eax ; ENDC
CASE \op\()_r32_cl, R_SHD|W32, CNT_CL  ; \op %cl, %ebx, %eax ; ENDC
CASE \op\()_r64_imm, R_SHD|W64, 40     ; \op $40, %rbx, %rax ; ENDC
CASE \op\()_r64_cl, R_SHD|W64, CNT_CL  ; \op %cl, %rbx, %rax ; ENDC
CASE \op\()_m32_cl, R_SHD|W32, CNT_CL  ; \op %cl, %ebx, (%rsi) ; ENDC
CASE \op\()_m64_imm, R_SHD|W64, 7      ; \op $7, %rbx, 8(%rsi) ; ENDC
.endr

/* ---- bit operations ---- */
.irp op, bt, bts, btr, btc
CASE \op\()_r16_r16, R_BT|W16      ; \op %bx, %ax ; ENDC
CASE \op\()_r32_r32, R_BT|W32      ; \op %ebx, %eax ; ENDC
CASE \op\()_r64_r64, R_BT|W64      ; \op %rbx, %rax ; ENDC
CASE \op\()_r32_imm, R_BT|W32      ; \op $35, %eax ; ENDC
CASE \op\()_r64_imm, R_BT|W64      ; \op $63, %rax ; ENDC
CASE \op\()_m16_imm, R_BT|W16      ; \op\()w $9, (%rsi) ; ENDC
CASE \op\()_m64_imm, R_BT|W64      ; \op\()q $62, (%rsi) ; ENDC
/* Register bit offsets address memory around rsi (signed, -0x800..0x7ff bits). */
CASE \op\()_m32_r32, R_BT|W32      ; movsbl %bl, %ecx ; shl $4, %ecx ; \op %ecx, (%rsi) ; ENDC
CASE \op\()_m64_r64, R_BT|W64      ; movsbq %bl, %rcx ; shl $3, %rcx ; \op %rcx, (%rsi) ; ENDC
CASE \op\()_m16_r16, R_BT|W16      ; movsbw %bl, %cx ; \op %cx, 2(%rsi) ; ENDC
.endr
/* BT after a record of each kind: CF goes into it where the block leaves
 * (compares, adds, logic of 32/64 bits replayed on the host; the rest by
 * the helper); ZF must stay the record's. */
CASE bt_after_cmp64, R_BT|W64     ; cmp %rbx, %rax ; bt $3, %rcx ; ENDC
CASE bt_after_cmp32, R_BT|W32     ; cmp %ebx, %eax ; bt $3, %ecx ; ENDC
CASE bt_after_add64, R_BT|W64     ; add %rbx, %rax ; bt %rdx, %rcx ; ENDC
CASE bt_after_add32, R_BT|W32     ; add %ebx, %eax ; bt $5, %ecx ; ENDC
CASE bt_after_test64, R_BT|W64    ; test %rbx, %rax ; bt $3, %rcx ; ENDC
CASE bt_after_and32, R_BT|W32     ; and %ebx, %eax ; bt $3, %ecx ; ENDC
CASE bt_after_cmp8, R_BT|W8       ; cmp %bl, %al ; bt $3, %ecx ; ENDC
CASE bt_after_inc, R_BT|W32       ; inc %eax ; bt $3, %ecx ; ENDC
CASE bt_after_cmp64_jcc, R_BT|W64 ; cmp %rbx, %rax ; btl $3, (%rsi) ; jc 1f ; inc %rdi ; 1: ; ENDC
.irp op, bts, btr, btc
CASE lock_\op\()_m64_r64, R_BT|W64 ; movsbq %bl, %rcx ; lock \op %rcx, (%rsi) ; ENDC
.endr
.irp op, bsf, bsr
CASE \op\()_r16, R_BSF|W16   ; \op %bx, %ax ; ENDC
CASE \op\()_r32, R_BSF|W32   ; \op %ebx, %eax ; ENDC
CASE \op\()_r64, R_BSF|W64   ; \op %rbx, %rax ; ENDC
CASE \op\()_m64, R_BSF|W64   ; \op (%rsi), %rax ; ENDC
CASE \op\()_r32_zero, R_BSF|W32 ; \op %edx, %eax ; ENDC
.endr
CASE popcnt_r16, W16         ; popcnt %bx, %ax ; ENDC
CASE popcnt_r32, W32         ; popcnt %ebx, %eax ; ENDC
CASE popcnt_r64, W64         ; popcnt %rbx, %rax ; ENDC
CASE popcnt_m64, W64         ; popcnt 8(%rsi), %rax ; ENDC
CASE tzcnt_r16, K_BMI1|R_LZCNT|W16  ; tzcnt %bx, %ax ; ENDC
CASE tzcnt_r32, K_BMI1|R_LZCNT|W32  ; tzcnt %ebx, %eax ; ENDC
CASE tzcnt_r64, K_BMI1|R_LZCNT|W64  ; tzcnt %rbx, %rax ; ENDC
CASE bswap_r32, W32          ; bswap %eax ; ENDC
CASE bswap_r64, W64          ; bswap %rax ; ENDC
CASE bswap_r64_ext, W64      ; bswap %r14 ; ENDC

/* ---- data movement ---- */
CASE mov_r8_r8, W8           ; mov %bl, %al ; ENDC
CASE mov_r8_hi, W8           ; mov %bh, %ah ; ENDC
CASE mov_r8_rex, W8          ; mov %dil, %sil ; ENDC
CASE mov_r16_r16, W16        ; mov %bx, %ax ; ENDC
CASE mov_r32_r32, W32        ; mov %ebx, %eax ; ENDC
CASE mov_r64_r64, W64        ; mov %rbx, %rax ; ENDC
CASE mov_r32_r32_load, W32   ; {load} mov %ebx, %eax ; ENDC
CASE mov_r8_imm, W8          ; mov $0x99, %cl ; ENDC
CASE mov_r16_imm, W16        ; mov $0x9999, %cx ; ENDC
CASE mov_r32_imm, W32        ; mov $0x99999999, %ecx ; ENDC
CASE mov_r64_imm32, W64      ; movq $-2, %rcx ; ENDC
CASE mov_r64_imm64, W64      ; movabs $0x8765432112345678, %r15 ; ENDC
CASE mov_m8_imm, W8          ; movb $0x12, 5(%rsi) ; ENDC
CASE mov_m16_imm, W16        ; movw $0x1234, 6(%rsi) ; ENDC
CASE mov_m32_imm, W32        ; movl $0x87654321, 7(%rsi) ; ENDC
CASE mov_m64_imm, W64        ; movq $-0x789, 9(%rsi) ; ENDC
CASE mov_m64_r64, W64        ; mov %rax, 3(%rsi) ; ENDC
CASE mov_r64_m64, W64        ; mov 13(%rsi), %rax ; ENDC
CASE mov_r32_m32, W32        ; mov 1(%rsi), %eax ; ENDC
CASE mov_r16_m16, W16        ; mov 1(%rsi), %ax ; ENDC
CASE mov_r8_m8, W8           ; mov 1(%rsi), %ah ; ENDC
CASE mov_m8_r8_hi, W8        ; mov %ah, 2(%rsi) ; ENDC
CASE mov_rip_relative, W64   ; mov 1f(%rip), %rax ; jmp 2f ; 1: .quad 0x1122334455667788 ; 2: ; ENDC
CASE lea_rip_relative, W64   ; lea 1f(%rip), %rax ; 1: ; ENDC
CASE mov_moffs_load, W64     ; movabs CT_DATA+0x800, %rax ; ENDC
CASE mov_moffs_store, W32    ; movabs %eax, CT_DATA+0x810 ; ENDC
CASE mov_sib_scale, W64      ; and $0xff, %ebx ; mov -0x100(%rsi,%rbx,4), %rax ; ENDC
CASE mov_sib_noindex, W64    ; .byte 0x48, 0x8b, 0x04, 0x26 ; ENDC
CASE mov_rbp_base, W64       ; mov 8(%rbp), %rax ; ENDC
CASE mov_r13_base, W64       ; lea 0x10(%rsi), %r13 ; mov (%r13), %rax ; ENDC
CASE mov_r12_base, W64       ; lea 0x10(%rsi), %r12 ; mov -16(%r12), %rax ; ENDC
CASE mov_abs_disp32, W64     ; mov CT_DATA+0x808, %rax ; ENDC
CASE movzx_r16_rm8, W16      ; movzbw %bl, %ax ; ENDC
CASE movzx_r32_rm8, W32      ; movzbl %bh, %eax ; ENDC
CASE movzx_r32_ah_self, W32  ; movzbl %ah, %eax ; ENDC
CASE movsx_r32_rm8_hi, W32   ; movsbl %ch, %eax ; ENDC
CASE mov_r8hi_imm, W64       ; mov $0x5a, %ah ; mov $0x81, %dh ; ENDC
CASE mov_r8_from_hi, W64     ; mov %ah, %cl ; mov %dl, %bh ; mov %ch, %ch ; ENDC
CASE alu_r8_hi_lo_mix, 0     ; add %al, %ah ; sub %bh, %cl ; cmp %ah, %bl ; setc %dl ; xor %ch, %ch ; ENDC
CASE movzx_r64_rm8, W64      ; movzbq (%rsi), %rax ; ENDC
CASE movzx_r32_rm16, W32     ; movzwl %bx, %eax ; ENDC
CASE movzx_r64_rm16, W64     ; movzwq 1(%rsi), %rax ; ENDC
CASE movsx_r16_rm8, W16      ; movsbw %bl, %ax ; ENDC
CASE movsx_r32_rm8, W32      ; movsbl %bl, %eax ; ENDC
CASE movsx_r64_rm8, W64      ; movsbq (%rsi), %rax ; ENDC
CASE movsx_r32_rm16, W32     ; movswl %bx, %eax ; ENDC
CASE movsx_r64_rm16, W64     ; movswq %bx, %rax ; ENDC
CASE movsxd_r64_rm32, W64    ; movslq %ebx, %rax ; ENDC
CASE movsxd_r64_m32, W64     ; movslq 4(%rsi), %rax ; ENDC
/* A destination that is also the address's base or index register: the
 * address uses the old value (the translator must load it first). */
CASE mov_dst_is_base, W64     ; mov %rsi, %rcx ; mov 8(%rcx), %rcx ; ENDC
CASE mov32_dst_is_index, W32  ; xor %ecx, %ecx ; mov (%rsi,%rcx,4), %ecx ; ENDC
CASE movsxd_dst_is_index, W64 ; mov $1, %eax ; movslq (%rsi,%rax,4), %rax ; ENDC
CASE movzx_dst_is_base, W32   ; mov %rsi, %rdx ; movzbl 3(%rdx), %edx ; ENDC
CASE movsx_dst_is_base, W32   ; mov %rsi, %rdx ; movswq 2(%rdx), %rdx ; ENDC
CASE imul3_dst_is_base, R_MUL|W64 ; mov %rsi, %rcx ; imul $7, 8(%rcx), %rcx ; ENDC
CASE cmovz_dst_is_base, W64   ; mov %rsi, %rcx ; test %eax, %eax ; cmovz 8(%rcx), %rcx ; ENDC
CASE lea_dst_is_index, W64    ; lea 8(%rax,%rax,2), %rax ; ENDC
CASE pop_dst_is_rsp, W64      ; push %rbx ; pop %rsp ; mov %rsp, %rax ; lea 0(%rbp), %rsp ; ENDC
CASE movbe_r32_m32, W32      ; movbe (%rsi), %eax ; ENDC
CASE movbe_m64_r64, W64      ; movbe %rax, (%rsi) ; ENDC
CASE lea_r64, W64            ; lea 0x12(%rax,%rbx,8), %rcx ; ENDC
CASE lea_r32, W32            ; lea -1(%rax,%rbx,2), %ecx ; ENDC
CASE lea_r16, W16            ; lea 0x7fff(%rax,%rbx), %cx ; ENDC
CASE lea_adsize32, W32       ; lea 0x80(%eax,%ebx,4), %rcx ; ENDC
CASE lea_adsize32_r32, W32   ; lea -4(%esi), %ecx ; ENDC
CASE lea_noindex_disp32, W64 ; lea 0x12345678(,%rbx,2), %rdx ; ENDC
CASE xchg_r8, W8             ; xchg %al, %bl ; ENDC
CASE xchg_r16, W16           ; xchg %ax, %bx ; ENDC
CASE xchg_r32, W32           ; xchg %ebx, %ecx ; ENDC
CASE xchg_eax_r32_90, W32    ; xchg %eax, %ebx ; ENDC
CASE xchg_eax_eax_87, W32    ; .byte 0x87, 0xc0 ; ENDC
CASE nop_90, W32             ; nop ; ENDC
CASE xchg_r64, W64           ; xchg %rax, %r9 ; ENDC
CASE xchg_m64, W64           ; xchg %rax, (%rsi) ; ENDC
CASE xchg_m8, W8             ; xchg %bl, 1(%rsi) ; ENDC
CASE xadd_r32, W32           ; xadd %eax, %ebx ; ENDC
CASE xadd_r8, W8             ; xadd %al, %bl ; ENDC
CASE xadd_m64, W64           ; lock xadd %rax, (%rsi) ; ENDC
CASE xadd_m16, W16           ; xadd %ax, 2(%rsi) ; ENDC
CASE xadd_m32, W32           ; xadd %ecx, 4(%rsi) ; ENDC
CASE lock_xadd_m32, W32      ; lock xadd %ebx, (%rsi) ; ENDC
CASE lock_xadd_m64_flags, 0  ; lock xadd %rax, 8(%rsi) ; setz %cl ; sets %dl ; seto %bl ; setc %bh ; setp %r8b ; ENDC
CASE xadd_m64_same_reg, 0    ; lea 16(%rsi), %rdx ; xadd %rdx, (%rdx) ; ENDC
CASE cmpxchg_r32, W32        ; cmpxchg %ecx, %ebx ; ENDC
CASE cmpxchg_r32_eq, W32     ; mov %ebx, %eax ; cmpxchg %ecx, %ebx ; ENDC
CASE cmpxchg_r8, W8          ; cmpxchg %cl, %bl ; ENDC
CASE cmpxchg_r16, W16        ; cmpxchg %cx, %bx ; ENDC
CASE cmpxchg_r64, W64        ; cmpxchg %rcx, %rbx ; ENDC
CASE cmpxchg_m64, W64        ; lock cmpxchg %rcx, (%rsi) ; ENDC
CASE cmpxchg_m64_eq, W64     ; mov (%rsi), %rax ; lock cmpxchg %rcx, (%rsi) ; ENDC
CASE cmpxchg_m32, W32        ; cmpxchg %ecx, (%rsi) ; ENDC
CASE cmpxchg_m32_lock_eq, W32 ; mov 4(%rsi), %eax ; lock cmpxchg %ecx, 4(%rsi) ; ENDC
CASE cmpxchg_m32_eq_upper, W64 ; mov 4(%rsi), %edx ; movabs $0x1234567800000000, %rax ; or %rdx, %rax ; lock cmpxchg %ecx, 4(%rsi) ; ENDC
CASE cmpxchg_m32_ne_upper, W64 ; movabs $0x1234567800000000, %rax ; not %ecx ; mov %ecx, (%rsi) ; lock cmpxchg %ebx, (%rsi) ; ENDC
CASE cmpxchg_m64_ne_jcc, W64 ; lock cmpxchg %rcx, 8(%rsi) ; jne 1f ; inc %rdi ; 1: setb %dl ; ENDC
CASE cmpxchg_m64_eq_jcc, W64 ; mov 8(%rsi), %rax ; lock cmpxchg %rcx, 8(%rsi) ; jne 1f ; inc %rdi ; 1: sets %dl ; ENDC
CASE cmpxchg_m64_rax_src, W64 ; mov (%rsi), %rax ; lock cmpxchg %rax, (%rsi) ; ENDC
CASE xchg_m32, W32           ; xchg %ecx, 4(%rsi) ; ENDC
CASE xchg_m32_upper, W64     ; movabs $0x1234567800000000, %rcx ; xchg %ecx, 4(%rsi) ; ENDC
CASE xchg_m64_lock, W64      ; lock xchg %rbx, 8(%rsi) ; ENDC
CASE xchg_m64_keeps_flags, W64 ; cmp %rbx, %rax ; xchg %rcx, (%rsi) ; setb %dl ; seto %dh ; ENDC
CASE cmpxchg8b, W64          ; cmpxchg8b (%rsi) ; ENDC
CASE cmpxchg8b_eq, W64       ; mov (%rsi), %eax ; mov 4(%rsi), %edx ; lock cmpxchg8b (%rsi) ; ENDC
CASE cmpxchg16b, W64         ; cmpxchg16b (%rsi) ; ENDC
CASE cmpxchg16b_eq, W64      ; mov (%rsi), %rax ; mov 8(%rsi), %rdx ; lock cmpxchg16b (%rsi) ; ENDC
CASE cmpxchg16b_misaligned_gp, W64 ; cmpxchg16b 8(%rsi) ; ENDC
CASE cmpxchg16b_keeps_flags, 0 ; cmp %rbx, %rcx ; lock cmpxchg16b (%rsi) ; setc %r8b ; setz %r9b ; sets %r10b ; seto %r11b ; ENDC
CASE cmpxchg16b_eq_keeps_flags, 0 ; mov (%rsi), %rax ; mov 8(%rsi), %rdx ; sub %r12, %r13 ; lock cmpxchg16b (%rsi) ; setz %r8b ; setb %r9b ; setp %r10b ; ENDC
CASE cmpxchg16b_flags_dead, 0 ; mov 16(%rsi), %rax ; mov 24(%rsi), %rdx ; lock cmpxchg16b 16(%rsi) ; add %rbx, %r10 ; ENDC
CASE cmpxchg16b_regs_kept, 0  ; add %rax, %r8 ; lea 1(%rbx), %r9 ; cmpxchg16b (%rsi) ; lea (%r8,%r9), %r11 ; mov %rax, %r12 ; ENDC
CASE cbw, W16                ; cbw ; ENDC
CASE cwde, W32               ; cwde ; ENDC
CASE cdqe, W64               ; cdqe ; ENDC
CASE cwd, W16                ; cwd ; ENDC
CASE cdq, W32                ; cdq ; ENDC
CASE cqo, W64                ; cqo ; ENDC
CASE xlat, W8                ; mov %rsi, %rbx ; xlat ; ENDC
CASE lahf, W8                ; lahf ; ENDC
CASE sahf, W8                ; sahf ; ENDC
CASE clc_stc_cmc, 0          ; clc ; setc %al ; stc ; setc %bl ; cmc ; ENDC
CASE std_cld, 0              ; std ; pushf ; pop %rax ; cld ; ENDC

/* ---- conditions ---- */
.irp cc, o, no, b, ae, e, ne, be, a, s, ns, p, np, l, ge, le, g
CASE set\cc, W8              ; set\cc %al ; ENDC
CASE set\cc\()_m8, W8        ; set\cc 3(%rsi) ; ENDC
CASE cmov\cc\()_r32, W32     ; cmov\cc %ebx, %eax ; ENDC
CASE cmov\cc\()_r64, W64     ; cmov\cc %rbx, %rax ; ENDC
CASE cmov\cc\()_r16, W16     ; cmov\cc %bx, %ax ; ENDC
CASE cmov\cc\()_m64, W64     ; cmov\cc (%rsi), %rax ; ENDC
CASE j\cc\()_short, 0        ; j\cc 1f ; inc %rcx ; 1: ; ENDC
CASE j\cc\()_near, 0         ; .byte 0x0f, 0x80 + 0 ; .long 0 ; j\cc 1f ; .fill 130, 1, 0x90 ; inc %rcx ; 1: ; ENDC
.endr
CASE jcc_near_all_encodings, 0 ; .irp n, 0,1,2,3,4,5,6,7,8,9,10,11,12,13,14,15 ; .byte 0x0f, 0x80 + \n ; .long 2 ; inc %ecx ; .endr ; ENDC
CASE jcc_short_back, 0       ; and $7, %ecx ; 1: dec %ecx ; jns 1b ; ENDC
CASE loop, 0                 ; and $7, %ecx ; inc %ecx ; 1: inc %eax ; loop 1b ; ENDC
CASE loope, 0                ; and $7, %ecx ; inc %ecx ; 1: inc %eax ; cmp $3, %eax ; loope 1b ; ENDC
CASE loopne, 0               ; and $7, %ecx ; inc %ecx ; 1: inc %eax ; cmp $3, %eax ; loopne 1b ; ENDC
CASE jrcxz, 0                ; and $1, %ecx ; jrcxz 1f ; inc %eax ; 1: ; ENDC
CASE jecxz, 0                ; and $1, %ecx ; jecxz 1f ; inc %eax ; 1: ; ENDC
CASE loop_adsize32, 0        ; and $3, %rcx ; inc %ecx ; 1: addr32 loop 1b ; ENDC

/* ---- stack and control transfer ---- */
CASE push_pop_r64, W64       ; push %rax ; push %r12 ; pop %rbx ; pop %r13 ; ENDC
CASE push_imm8, W64          ; push $-5 ; ENDC
CASE push_imm32, W64         ; push $0x12345678 ; pop %rax ; ENDC
CASE push_m64, W64           ; push (%rsi) ; ENDC
CASE push_m64_rsp_based, 0   ; lea CT_END+64, %rsp ; mov %rax, 8(%rsp) ; push 8(%rsp) ; pop %rbx ; push -8(%rsp) ; pop %rcx ; ENDC
CASE push_m64_index, 0       ; and $7, %rcx ; push 8(%rsi,%rcx,8) ; pop %rdx ; ENDC
CASE push_m64_stack_pf, 0    ; lea CT_END+8, %rsp ; add %rbx, %rdx ; push (%rsi) ; ENDC
CASE pop_m64, W64            ; push %rbx ; pop 8(%rsi) ; ENDC
CASE push_r16, W16           ; push %ax ; pop %bx ; ENDC
CASE push_rsp, W64           ; push %rsp ; pop %rax ; ENDC
CASE pop_rsp, W64            ; push %rbx ; pop %rsp ; ENDC
CASE pushf_popf, 0           ; pushf ; pop %rax ; and $0xcd5, %ebx ; push %rbx ; popf ; ENDC
CASE pushf_popf_df, 0        ; and $0xcd5, %ebx ; push %rbx ; popf ; pushfq ; pop %rcx ; cld ; ENDC
CASE call_ret, W64           ; call 1f ; jmp 2f ; 1: mov (%rsp), %rax ; ret ; 2: ; ENDC
CASE call_indirect_reg, W64  ; lea 1f(%rip), %rax ; call *%rax ; jmp 2f ; 1: ret ; 2: ; ENDC
CASE call_indirect_mem, W64  ; lea 1f(%rip), %rax ; mov %rax, (%rsi) ; call *(%rsi) ; jmp 2f ; 1: ret $16 ; 2: ; ENDC
CASE call_mem_rsp, W64       ; lea 1f(%rip), %rax ; push %rax ; call *(%rsp) ; pop %rbx ; jmp 2f ; 1: mov (%rsp), %rcx ; ret ; 2: ; ENDC
CASE call_mem_index, W64     ; lea 1f(%rip), %rax ; and $3, %ecx ; mov %rax, 8(%rsi,%rcx,8) ; call *8(%rsi,%rcx,8) ; jmp 2f ; 1: inc %rdx ; ret ; 2: ; ENDC
CASE call_mem_flags, W64     ; lea 1f(%rip), %rax ; mov %rax, (%rsi) ; cmp %rbx, %rdx ; call *(%rsi) ; jmp 2f ; 1: setb %cl ; ret ; 2: ; ENDC
CASE jmp_indirect, W64       ; lea 1f(%rip), %rax ; jmp *%rax ; ud2 ; 1: ; ENDC
CASE jmp_rel32, W64          ; jmp 1f ; .fill 200, 1, 0xcc ; 1: ; ENDC
CASE enter_leave, W64        ; enter $0x20, $0 ; mov %rsp, %rax ; leave ; ENDC
CASE enter_nested, W64       ; mov %rsp, %rbp ; enter $0x10, $3 ; mov %rsp, %rax ; mov %rbp, %rbx ; leave ; ENDC
CASE leave, W64              ; mov %rsp, %rbp ; push %rbx ; sub $32, %rsp ; leave ; ENDC

/* ---- strings ---- */
.irp s, b, w, l, q
CASE movs\s, 0               ; movs\s ; ENDC
CASE rep_movs\s, 0           ; and $0x3f, %ecx ; rep movs\s ; ENDC
CASE rep_movs\s\()_down, 0   ; and $0x3f, %ecx ; std ; rep movs\s ; cld ; ENDC
CASE stos\s, 0               ; stos\s ; ENDC
CASE rep_stos\s, 0           ; and $0x3f, %ecx ; rep stos\s ; ENDC
CASE rep_stos\s\()_down, 0   ; and $0x3f, %ecx ; std ; rep stos\s ; cld ; ENDC
CASE lods\s, 0               ; lods\s ; ENDC
CASE rep_lods\s, 0           ; and $0x7, %ecx ; rep lods\s ; ENDC
CASE cmps\s, 0               ; cmps\s ; ENDC
CASE repe_cmps\s, 0          ; and $0x3f, %ecx ; mov $0x40, %edx ; xchg %rsi, %rdi ; rep movsb ; sub $0x40, %rsi ; sub $0x40, %rdi ; xchg %rsi, %rdi ; movb $1, 0x20(%rdi) ; mov %edx, %ecx ; repe cmps\s ; ENDC
CASE repne_cmps\s, 0         ; and $0x3f, %ecx ; repne cmps\s ; ENDC
CASE scas\s, 0               ; scas\s ; ENDC
CASE repne_scas\s, 0         ; and $0x3f, %ecx ; movb %al, 0x13(%rdi) ; repne scas\s ; ENDC
CASE repe_scas\s, 0          ; and $0x3f, %ecx ; repe scas\s ; ENDC
.endr
CASE rep_movsb_zero_count, 0 ; xor %ecx, %ecx ; rep movsb ; ENDC
CASE rep_stosq_zero_count, 0 ; xor %ecx, %ecx ; rep stosq ; ENDC
CASE rep_movsb_overlap_up, 0 ; and $0x3f, %ecx ; lea 3(%rsi), %rdi ; rep movsb ; ENDC
CASE rep_movsq_overlap_down, 0 ; and $0x1f, %ecx ; lea 8(%rsi), %rdi ; xchg %rsi, %rdi ; rep movsq ; ENDC
CASE rep_movsb_fault_pf_src, 0 ; mov $0x100, %ecx ; lea CT_END-0x80, %rsi ; rep movsb ; ENDC
CASE rep_movsb_adsize32, 0   ; and $0x3f, %ecx ; addr32 rep movsb ; ENDC
CASE rep_stosb_fault_pf, 0   ; mov $0x100, %ecx ; lea CT_END-0x80, %rdi ; rep stosb ; ENDC
CASE movsb_fault_pf_src, 0   ; lea CT_END, %rsi ; movsb ; ENDC

/* ---- misc ---- */
CASE nop_long, 0             ; nopw 0x0(%rax,%rax,1) ; nopl 0x0(%rax) ; .byte 0x66,0x2e,0x0f,0x1f,0x84,0,0,0,0,0 ; ENDC
CASE endbr64, 0              ; endbr64 ; ENDC
CASE pause, 0                ; pause ; ENDC
CASE prefetch, 0             ; prefetcht0 (%rsi) ; prefetchnta 64(%rsi) ; prefetchw (%rsi) ; ENDC
CASE fences, 0               ; lfence ; sfence ; mfence ; ENDC
CASE clflush, 0              ; clflush (%rsi) ; ENDC
CASE redundant_prefixes, W32 ; .byte 0x2e, 0x3e, 0x26, 0x64 ; add %ebx, %eax ; ENDC
CASE rex_w_ignored_by_66, W64 ; .byte 0x66, 0x48, 0x01, 0xd8 ; ENDC
CASE rex_before_66_ignored, W16 ; .byte 0x48, 0x66, 0x01, 0xd8 ; ENDC

/* ---- flag chains: which instruction's flags a later one reads (emu's block
 *      mode skips computing flags that are overwritten before use) ---- */
CASE chain_add_adc_sbb, 0      ; add %rbx, %rax ; adc %rcx, %rdx ; sbb %rax, %rbx ; setc %cl ; cmp %rbx, %rax ; cmovl %rdx, %r9 ; ENDC
CASE chain_bt_jc, 0            ; cmp %rbx, %rax ; bt $3, %rcx ; jc 1f ; inc %rdx ; 1: setc %r8b ; seto %r9b ; sete %r10b ; ENDC
CASE chain_bt_m_jc, 0          ; sub %rbx, %rax ; btl $5, (%rsi) ; setc %r8b ; adc $0, %rdx ; jz 1f ; inc %r9 ; 1: ENDC
CASE chain_mul_flags, R_MUL    ; mul %rbx ; setc %r8b ; jo 1f ; inc %r9 ; 1: imul %ecx ; seto %r10b ; ENDC
CASE chain_cmp_m_jcc, 0        ; cmp (%rsi), %rax ; jbe 1f ; inc %rdx ; 1: testb $4, 3(%rsi) ; setnz %r8b ; orl %ecx, (%rsi) ; sets %r9b ; ENDC
CASE chain_inc_keeps_cf, 0     ; add %rbx, %rax ; inc %rdx ; adc $0, %rcx ; dec %r9 ; sbb %r10, %r10 ; ENDC
CASE chain_sub_dec_jc, 0       ; sub %rbx, %rax ; dec %rcx ; jc 1f ; inc %rdx ; 1: setbe %r8b ; seto %r9b ; ENDC
CASE chain_shift_zero_count, R_ALL ; cmp %rbx, %rax ; and $0x1f, %ecx ; shl %cl, %rdx ; setc %r9b ; setz %r10b ; sets %r11b ; ENDC
CASE chain_shift_cl0_keeps, 0  ; xor %ecx, %ecx ; cmp %rbx, %rax ; shl %cl, %rdx ; pushf ; pop %r11 ; ENDC
CASE chain_imul_setc, 0        ; imul %rbx, %rax ; setc %cl ; seto %dl ; add %rax, %rax ; adc %rdx, %rdx ; ENDC
CASE chain_lea_keeps, 0        ; test %rax, %rax ; lea 1(%rax), %rax ; mov $5, %ecx ; jz 1f ; not %rbx ; 1: setnz %dl ; ENDC
CASE chain_bt_rcl_adc, 0       ; bt $5, %rbx ; rcl %rax ; adc %rdx, %rcx ; setc %r8b ; ENDC
CASE chain_neg_sbb, 0          ; neg %rax ; sbb %rdx, %rdx ; neg %ebx ; sbb %ecx, %ecx ; ENDC
CASE chain_cmp_lahf, 0         ; cmp %bl, %al ; lahf ; add %ah, %dl ; sahf ; adc $1, %r9 ; ENDC
CASE chain_loop_flags, 0       ; and $15, %ecx ; inc %ecx ; 1: add %rbx, %rax ; adc $0, %rdx ; dec %ecx ; jnz 1b ; setc %r8b ; ENDC
CASE chain_untaken_branches, 0 ; cmp %rbx, %rax ; jne 1f ; mov %rax, (%rsi) ; 1: ja 2f ; add %rbx, 8(%rsi) ; 2: jl 3f ; sub $1, %rax ; 3: sbb %rcx, %rcx ; ENDC
CASE chain_cmov_chain, 0       ; cmp %rbx, %rax ; cmova %rbx, %rcx ; cmovb %rax, %rdx ; sub %rcx, %rdx ; cmovs %rax, %r9 ; cmovo %rbx, %r10 ; ENDC
CASE chain_xor_then_adc, 0     ; add %rbx, %rax ; xor %ecx, %ecx ; adc %rdx, %rdx ; ENDC
CASE chain_mem_rmw_flags, 0    ; add %rax, (%rsi) ; adc %rbx, 8(%rsi) ; sbb %rcx, 16(%rsi) ; setc 24(%rsi) ; ENDC
CASE chain_popcnt_flags, 0     ; add %rbx, %rax ; popcnt %rdx, %rcx ; setz %r8b ; setc %r9b ; ENDC
CASE chain_string_flags, 0     ; cmp %rbx, %rax ; lodsb ; stosb ; setc %r8b ; scasb ; seta %r9b ; ENDC

/* ---- self-modifying code (restored before every run) ---- */
CASE smc_patch_ahead, K_SMC    ; lea 1f(%rip), %rax ; movl $0x90909090, (%rax) ; 1: .byte 0x48, 0xff, 0xc1, 0x90 ; inc %rdx ; ENDC
CASE smc_patch_imm, K_SMC      ; lea 1f+1(%rip), %rax ; mov %ebx, (%rax) ; 1: mov $0x11223344, %ecx ; ENDC
CASE smc_patch_in_loop, K_SMC  ; lea 1f+2(%rip), %r8 ; mov $3, %r9d ; 2: 1: add $0x01, %rdx ; incb (%r8) ; dec %r9d ; jnz 2b ; ENDC
CASE smc_patch_next_insn, K_SMC ; lea 1f(%rip), %rax ; movb $0x90, (%rax) ; movb $0x90, 1(%rax) ; movb $0x90, 2(%rax) ; 1: .byte 0x48, 0xff, 0xc1 ; ENDC

/* ---- exceptions ---- */
CASE ud2_ud, 0               ; ud2 ; ENDC
CASE hlt_gp, 0               ; hlt ; ENDC
CASE cli_gp, 0               ; cli ; ENDC
CASE in_gp, 0                ; in $0x80, %al ; ENDC
CASE out_dx_gp, 0            ; out %al, (%dx) ; ENDC
CASE int_81_gp, 0            ; int $0x81 ; ENDC
CASE mov_cr0_gp, 0           ; mov %cr0, %rax ; ENDC
CASE wrmsr_gp, 0             ; wrmsr ; ENDC
CASE rdmsr_gp, 0             ; rdmsr ; ENDC
CASE lgdt_gp, 0              ; lgdt (%rsi) ; ENDC
CASE invlpg_gp, 0            ; invlpg (%rsi) ; ENDC
CASE noncanonical_gp, 0      ; movabs $0x8000000000000000, %rax ; mov (%rax), %rbx ; ENDC
CASE noncanonical_rsp_ss, 0  ; movabs $0x8000000000000000, %rsp ; push %rax ; ENDC
CASE unmapped_read_pf, 0     ; lea CT_END+0x10, %rax ; mov (%rax), %rbx ; ENDC
CASE unmapped_write_pf, 0    ; lea CT_END+0x123, %rax ; mov %ebx, (%rax) ; ENDC
CASE crossing_write_pf, 0    ; lea CT_END-4, %rax ; mov %rbx, (%rax) ; ENDC
CASE crossing_read_pf, 0     ; lea CT_END-2, %rax ; add (%rax), %ebx ; ENDC
CASE rmw_add_pf, 0           ; lea CT_END+0x40, %rax ; add %ebx, (%rax) ; ENDC
CASE rmw_inc_pf, 0           ; lea CT_END+0x40, %rax ; incq (%rax) ; ENDC
CASE rmw_btr_pf, 0           ; lea CT_END+0x40, %rax ; btrl $3, (%rax) ; ENDC
CASE rmw_xchg_pf, 0          ; lea CT_END+0x40, %rax ; xchg %ebx, (%rax) ; ENDC
CASE rmw_cmpxchg_pf, 0       ; lea CT_END+0x40, %rdx ; cmp %rbx, %rcx ; lock cmpxchg %rbx, (%rdx) ; ENDC
CASE rmw_xchg64_pf, 0        ; lea CT_END+0x40, %rdx ; add %rbx, %rcx ; xchg %rbx, (%rdx) ; ENDC
CASE rmw_lock_add_pf, 0      ; lea CT_END+0x40, %rax ; lock add %ebx, (%rax) ; ENDC
CASE rmw_shl_pf, 0           ; lea CT_END+0x40, %rax ; shll $1, (%rax) ; ENDC
CASE rmw_setcc_pf, 0         ; lea CT_END+0x40, %rax ; setc (%rax) ; ENDC
CASE setcc_m8_after_cmp, 0   ; cmp %rbx, %rax ; setne 3(%rsi) ; setl 4(%rsi) ; setbe 5(%rsi) ; seto 6(%rsi) ; ENDC
CASE setcc_m8_after_logic, 0 ; and %ecx, %edx ; setp 1(%rsi) ; sets (%rsi) ; setz 2(%rsi) ; ENDC
CASE pushf_66_rexw, 0         ; .byte 0x66, 0x48, 0x9c ; pop %rax ; ENDC
CASE popf_66_rexw, 0          ; and $0xcd5, %ebx ; push %rbx ; .byte 0x66, 0x48, 0x9d ; ENDC
CASE cmpxchg8b_rep_prefixes, W64 ; .byte 0xf3, 0xf2, 0x0f, 0xc7, 0x0e ; ENDC
CASE btc_rbp_noncanonical_ss, R_BT|W64 ; movabs $0x4000000000000000, %rcx ; btc %rcx, (%rbp) ; ENDC
CASE bt_rsi_noncanonical_gp, R_BT|W64 ; movabs $0x4000000000000000, %rcx ; bt %rcx, (%rsi) ; ENDC
CASE btr_rsp_noncanonical_ss, R_BT|W64 ; movabs $0x4000000000000000, %rcx ; btr %rcx, (%rsp) ; ENDC
CASE lock_bts_rbp_noncanonical_ss, R_BT|W64 ; movabs $0x4000000000000000, %rcx ; lock bts %rcx, 8(%rbp) ; ENDC
CASE bts_rbp_neg_offset, R_BT|W64 ; mov $-0x1001, %rcx ; bts %rcx, 0x400(%rbp) ; ENDC
CASE mov_rbp_noncanonical_ss, W64 ; movabs $0x4000000000000000, %rcx ; mov (%rbp,%rcx), %rax ; ENDC
CASE mov_rsp_index_noncanonical_ss, W64 ; movabs $0x4000000000000000, %rcx ; mov (%rsp,%rcx), %rax ; ENDC
CASE add_rbp_noncanonical_ss, W64 ; movabs $0x4000000000000000, %rcx ; add %rax, 8(%rbp,%rcx) ; ENDC
/* 64-bit mode ignores ES/CS/SS/DS overrides: the base register picks #SS or #GP. */
CASE mov_es_rbp_noncanonical_ss, W64 ; movabs $0x4000000000000000, %rcx ; .byte 0x26 ; mov (%rbp,%rcx), %rax ; ENDC
CASE mov_ss_rsi_noncanonical_gp, W64 ; movabs $0x4000000000000000, %rcx ; .byte 0x36 ; mov (%rsi,%rcx), %rax ; ENDC
CASE bt_cs_rbp_noncanonical_ss, R_BT|W64 ; movabs $0x4000000000000000, %rcx ; .byte 0x2e ; bt %rcx, (%rbp) ; ENDC
CASE btc_ss_rip_noncanonical_gp, R_BT|W64 ; movabs $0x4000000000000000, %rcx ; .byte 0x36 ; btc %rcx, 0x40(%rip) ; ENDC
CASE mov_ds_rsp_ok, W64      ; .byte 0x3e ; mov 8(%rsp), %rax ; .byte 0x26 ; mov 16(%rsp), %rbx ; ENDC
CASE bt_adsize32_wrap, R_BT|W64 ; movabs $0x800000000, %rcx ; addr32 bt %rcx, (%edi) ; ENDC
CASE bts_adsize32_wrap, R_BT|W64 ; movabs $0x800000008, %rcx ; addr32 bts %rcx, 4(%edi) ; ENDC
CASE prefetch_reg, K_VENDOR  ; .byte 0x0f, 0x0d, 0xc0 ; .byte 0x0f, 0x0d, 0xc9 ; .byte 0x48, 0x0f, 0x0d, 0xd7 ; ENDC
CASE pause_rex_b, K_VENDOR   ; .byte 0xf3, 0x41, 0x90 ; .byte 0xf3, 0x49, 0x90 ; .byte 0xf3, 0x47, 0x90 ; ENDC
CASE xchg_r9_f3, W64         ; .byte 0xf3, 0x41, 0x91 ; .byte 0xf3, 0x49, 0x92 ; ENDC
CASE xchg_r8_rex_b, W64      ; .byte 0x41, 0x90 ; .byte 0x49, 0x90 ; ENDC
CASE or_sib_noindex_scale2, R_LOGIC|W64 ; .byte 0x48, 0x09, 0x14, 0x67 ; ENDC
CASE mov_wrap_top_pf, W64    ; mov $-1, %rdx ; mov (%rdx), %rax ; ENDC
CASE push_pf, 0              ; lea CT_END+8, %rsp ; push %rax ; ENDC
CASE call_mem_target_pf, 0   ; lea CT_END+0x40, %rax ; cmp %rbx, %rdx ; call *(%rax) ; ENDC
CASE call_mem_push_pf, 0     ; lea 1f(%rip), %rax ; mov %rax, (%rsi) ; lea CT_END+8, %rsp ; add %rbx, %rdx ; call *(%rsi) ; 1: ; ENDC
CASE jmp_to_unmapped_pf, 0   ; lea CT_END+0x40, %rax ; jmp *%rax ; ENDC
CASE length_16_gp, 0         ; .fill 15, 1, 0x66 ; nop ; ENDC
CASE length_15_ok, 0         ; .fill 14, 1, 0x66 ; nop ; ENDC
CASE int3_bp, 0              ; int3 ; ENDC
CASE int_3_bp, 0             ; .byte 0xcd, 0x03 ; ENDC
CASE int_4_of, 0             ; .byte 0xcd, 0x04 ; ENDC
CASE int_0e_gp, 0            ; .byte 0xcd, 0x0e ; ENDC
CASE into_ud, 0              ; .byte 0xce ; ENDC
CASE aaa_ud, 0               ; .byte 0x37 ; ENDC
CASE push_es_ud, 0           ; .byte 0x06 ; ENDC
CASE les_ud, 0               ; .byte 0xc4, 0x06 ; ENDC
CASE bound_ud, 0             ; .byte 0x62, 0x06 ; ENDC
CASE salc_ud, 0              ; .byte 0xd6 ; ENDC
CASE ud0_ud, 0               ; .byte 0x0f, 0xff, 0xc0 ; ENDC
CASE op82_ud, 0               ; .byte 0x82, 0xc0, 0x11 ; ENDC
CASE ud1_ud, 0               ; .byte 0x0f, 0xb9, 0xc0 ; ENDC
CASE lea_reg_ud, 0           ; .byte 0x8d, 0xc0 ; ENDC
CASE mov_seg_cs_ud, 0        ; .byte 0x8e, 0xc8 ; ENDC
CASE cmpxchg8b_reg_ud, 0     ; .byte 0x0f, 0xc7, 0xc8 ; ENDC
CASE div_zero_de, R_DIV|W32  ; xor %ecx, %ecx ; div %ecx ; ENDC
CASE idiv_overflow_de, R_DIV|W64 ; movabs $0x8000000000000000, %rax ; cqo ; mov $-1, %rcx ; idiv %rcx ; ENDC
CASE idiv_overflow32_de, R_DIV|W32 ; mov $0x80000000, %eax ; cdq ; mov $-1, %ecx ; idiv %ecx ; ENDC
CASE div_m64_zero_de, R_DIV|W64 ; movq $0, (%rsi) ; xor %edx, %edx ; divq (%rsi) ; ENDC
CASE div_r64_overflow_de, R_DIV|W64 ; mov $1, %ecx ; mov $2, %edx ; div %rcx ; ENDC
CASE div_m32_pf, R_DIV|W32     ; lea CT_END+0x40, %rcx ; xor %edx, %edx ; divl (%rcx) ; ENDC

        .section .note.GNU-stack,"",@progbits
