/* The XSAVE feature set for the differential test (tests/cpu/cpu_diff.c):
 * XSAVE, XSAVEOPT, XSAVEC, XRSTOR (standard and compacted), XGETBV, XSETBV
 * over the x87, SSE and AVX components, with the YMM upper halves compared.
 * %rdi and %rsi are 64-byte aligned areas; the runner gives emu the host's
 * XCR0 limited to x87|SSE|AVX, so only masks within 7 are used (AVX-512 and
 * PKRU state would differ).  FOP/FIP/FDP (model differences, see
 * docs/emu-simd.md) and MXCSR_MASK are cleared after each save. */
#include "case_macros.h"

        .text

/* Clears the fields not compared in a save at \off. */
.macro XCLEAN base, off=0
        movw $0, 6+\off(\base) ; movq $0, 8+\off(\base) ; movq $0, 16+\off(\base) ; movl $0, 28+\off(\base)
.endm
/* Zeroes the XSAVE header after XSTATE_BV (XSAVE and XSAVEC leave it),
 * and XSTATE_BV's bits beyond AVX (XSAVE keeps them from memory). */
.macro HDR0 base
        andq $7, 512(\base) ; movq $0, 520(\base) ; movq $0, 528(\base) ; movq $0, 536(\base) ; movq $0, 544(\base)
        movq $0, 552(\base) ; movq $0, 560(\base) ; movq $0, 568(\base)
.endm
/* The same after XSAVEC (XCOMP_BV kept). */
.macro HDRC0 base
        movq $0, 528(\base) ; movq $0, 536(\base) ; movq $0, 544(\base)
        movq $0, 552(\base) ; movq $0, 560(\base) ; movq $0, 568(\base)
.endm
/* XSTATE_BV's SSE bit after SSE was put in its initial configuration:
 * whether the host still tracks it as in use after a context switch is the
 * kernel's and the CPU's business (the SDM allows either), so it is not
 * compared there. */
.macro SSEBV base
        andq $~2, 512(\base)
.endm
/* x87 to its initial configuration on both sides (XINUSE[0] = 0): XRSTOR
 * of x87 alone from a header with XSTATE_BV = 0, at \base. */
.macro X87INIT base
        movq $0, 512(\base) ; HDR0 \base
        mov $1, %eax ; xor %edx, %edx ; xrstor (\base)
.endm

/* ---- XSAVE (standard format, every requested component) ---- */
.irp m, 0, 1, 2, 3, 4, 5, 6, 7
CASE xsave_mask\m, K_SSE      ; fld1 ; mov $\m, %eax ; xor %edx, %edx ; xsave (%rdi) ; XCLEAN %rdi ; ENDC
.endr
CASE xsave64, K_SSE           ; fld1 ; fldpi ; mov $7, %eax ; mov $-1, %edx ; xsave64 (%rdi) ; XCLEAN %rdi ; ENDC
CASE xsave_x87_init, K_SSE    ; X87INIT %rsi ; mov $7, %eax ; xor %edx, %edx ; xsave (%rdi) ; XCLEAN %rdi ; ENDC
CASE xsave_misaligned, K_SSE  ; mov $7, %eax ; xor %edx, %edx ; xsave 32(%rdi) ; ENDC
CASE xsave_reg_ud, K_SSE      ; .byte 0x0f, 0xae, 0xe0 ; ENDC

/* ---- XSAVEOPT (init optimization) ---- */
.irp m, 1, 2, 3, 4, 7
CASE xsaveopt_mask\m, K_SSE   ; fld1 ; mov $\m, %eax ; xor %edx, %edx ; xsaveopt (%rdi) ; XCLEAN %rdi ; ENDC
CASE xsaveopt_init_mask\m, K_SSE ; X87INIT %rsi ; mov $\m, %eax ; xor %edx, %edx ; xsaveopt (%rdi) ; XCLEAN %rdi ; ENDC
.endr

/* ---- XSAVEC (compacted, init optimization) ---- */
.irp m, 1, 2, 3, 4, 5, 6, 7
CASE xsavec_mask\m, K_SSE     ; fld1 ; mov $\m, %eax ; xor %edx, %edx ; xsavec (%rdi) ; XCLEAN %rdi ; ENDC
CASE xsavec_init_mask\m, K_SSE ; X87INIT %rsi ; mov $\m, %eax ; xor %edx, %edx ; xsavec (%rdi) ; XCLEAN %rdi ; ENDC
.endr
CASE xsavec64, K_SSE          ; fld1 ; mov $7, %eax ; xor %edx, %edx ; xsavec64 (%rdi) ; XCLEAN %rdi ; ENDC
CASE xsavec_misaligned, K_SSE ; mov $7, %eax ; xor %edx, %edx ; xsavec 16(%rdi) ; ENDC

/* ---- XRSTOR, standard form ---- */
/* Save, clobber, restore, save again elsewhere: the registers and both
 * images are compared. */
.irp m, 1, 2, 3, 4, 6, 7
CASE xrstor_roundtrip\m, K_SSE
        fld1 ; fldl2t ; mov $7, %eax ; xor %edx, %edx ; xsave (%rdi) ; HDR0 %rdi
        pcmpeqb %xmm0, %xmm0 ; pxor %xmm5, %xmm5 ; movaps %xmm0, %xmm15 ; fstp %st(0)
        mov $\m, %eax ; xrstor (%rdi)
        mov $7, %eax ; xsave (%rsi) ; XCLEAN %rdi ; XCLEAN %rsi
ENDC
.endr
/* XSTATE_BV = 0: every requested component to its initial configuration;
 * the standard form still loads MXCSR from memory. */
.irp m, 1, 2, 4, 7
CASE xrstor_init\m, K_SSE
        fld1 ; movq $0, 512(%rdi) ; HDR0 %rdi ; movl $0x3f80, 24(%rdi)
        mov $\m, %eax ; xor %edx, %edx ; xrstor (%rdi)
        mov $7, %eax ; xsave (%rsi) ; SSEBV %rsi ; XCLEAN %rsi
ENDC
.endr
/* SSE at its initial values but MXCSR not: XSAVE reports SSE unused,
 * XSAVEC saves it anyway. */
CASE xsave_after_sse_init, K_SSE
        fld1 ; movq $0, 512(%rdi) ; HDR0 %rdi ; movl $0x3f80, 24(%rdi)
        mov $2, %eax ; xor %edx, %edx ; xrstor (%rdi)
        mov $7, %eax ; xsave (%rsi) ; SSEBV %rsi ; XCLEAN %rsi
ENDC
CASE xsavec_after_sse_init, K_SSE
        fld1 ; movq $0, 512(%rdi) ; HDR0 %rdi ; movl $0x3f80, 24(%rdi)
        mov $2, %eax ; xor %edx, %edx ; xrstor (%rdi)
        mov $7, %eax ; xsavec (%rsi) ; XCLEAN %rsi
ENDC
CASE xrstor_bv_sse_only, K_SSE
        fld1 ; mov $7, %eax ; xor %edx, %edx ; xsave (%rdi) ; HDR0 %rdi ; movq $2, 512(%rdi)
        pcmpeqb %xmm3, %xmm3 ; xrstor (%rdi) ; xsave (%rsi) ; SSEBV %rsi ; XCLEAN %rdi ; XCLEAN %rsi
ENDC
CASE xrstor_bad_mxcsr, K_SSE
        fld1 ; mov $7, %eax ; xor %edx, %edx ; xsave (%rdi) ; HDR0 %rdi ; movl $0x10000, 24(%rdi) ; XCLEAN %rdi ; xrstor (%rdi)
ENDC
CASE xrstor_bad_mxcsr_x87only, K_SSE
        fld1 ; mov $7, %eax ; xor %edx, %edx ; xsave (%rdi) ; HDR0 %rdi ; movl $0x10000, 24(%rdi)
        mov $1, %eax ; xrstor (%rdi) ; xsave (%rsi) ; XCLEAN %rsi ; XCLEAN %rdi
ENDC
CASE xrstor_bad_xcomp, K_SSE
        fld1 ; mov $7, %eax ; xor %edx, %edx ; xsave (%rdi) ; HDR0 %rdi ; movq $1, 520(%rdi) ; XCLEAN %rdi ; xrstor (%rdi)
ENDC
CASE xrstor_bad_hdr16, K_SSE
        fld1 ; mov $7, %eax ; xor %edx, %edx ; xsave (%rdi) ; HDR0 %rdi ; movq $1, 528(%rdi) ; XCLEAN %rdi ; xrstor (%rdi)
ENDC
CASE xrstor_hdr24_ignored, K_SSE
        fld1 ; mov $7, %eax ; xor %edx, %edx ; xsave (%rdi) ; HDR0 %rdi
        movq $-1, 536(%rdi) ; xrstor (%rdi) ; xsave (%rsi) ; XCLEAN %rsi ; XCLEAN %rdi
ENDC
CASE xrstor_bv_not_in_xcr0, K_SSE
        fld1 ; mov $7, %eax ; xor %edx, %edx ; xsave (%rdi) ; HDR0 %rdi
        movq $0xf, 512(%rdi) ; XCLEAN %rdi ; xrstor (%rdi)
ENDC
CASE xrstor_misaligned, K_SSE ; mov $7, %eax ; xor %edx, %edx ; xrstor 8(%rdi) ; ENDC

/* ---- XRSTOR, compacted form (XCOMP_BV[63] set by XSAVEC) ---- */
.irp m, 1, 2, 3, 4, 5, 6, 7
CASE xrstor_compact\m, K_SSE
        fld1 ; fldln2 ; mov $\m, %eax ; xor %edx, %edx ; xsavec (%rdi) ; HDRC0 %rdi
        pcmpeqb %xmm1, %xmm1 ; pxor %xmm9, %xmm9 ; movaps %xmm1, %xmm12 ; fstp %st(0)
        mov $7, %eax ; xrstor (%rdi)
        xsave (%rsi) ; SSEBV %rsi ; XCLEAN %rdi ; XCLEAN %rsi
ENDC
.endr
CASE xrstor_compact_bad_bv, K_SSE
        fld1 ; mov $3, %eax ; xor %edx, %edx ; xsavec (%rdi) ; HDRC0 %rdi ; orq $4, 512(%rdi) ; XCLEAN %rdi ; xrstor (%rdi)
ENDC
CASE xrstor_compact_bad_hdr, K_SSE
        fld1 ; mov $3, %eax ; xor %edx, %edx ; xsavec (%rdi) ; HDRC0 %rdi ; movq $1, 560(%rdi) ; XCLEAN %rdi ; xrstor (%rdi)
ENDC
CASE xrstor_compact_bad_xcomp, K_SSE
        fld1 ; mov $3, %eax ; xor %edx, %edx ; xsavec (%rdi) ; HDRC0 %rdi
        btsq $3, 520(%rdi) ; XCLEAN %rdi ; xrstor (%rdi)
ENDC

/* ---- XGETBV / XSETBV ---- */
CASE xgetbv0, K_SSE           ; xor %ecx, %ecx ; xgetbv ; and $7, %eax ; ENDC
CASE xgetbv2_gp, K_SSE        ; mov $2, %ecx ; xgetbv ; ENDC
CASE xsetbv_cpl3_gp, K_SSE    ; xor %ecx, %ecx ; mov $3, %eax ; xor %edx, %edx ; xsetbv ; ENDC

        .section .note.GNU-stack,"",@progbits
