/* SSE..SSE4.2 and x87 forms for the differential test (tests/cpu/cpu_diff.c).
 * xmm0/xmm1 hold every pair of edge lanes (zeros, signs, NaNs, infinities,
 * denormals, byte patterns); 16(%rsi) holds a copy of xmm1, 32(%rsi) of xmm0. */
#include "case_macros.h"

        .text

.macro XOP op
CASE \op, K_SSE            ; \op %xmm1, %xmm0 ; ENDC
CASE \op\()_m, K_SSE       ; \op 16(%rsi), %xmm0 ; ENDC
CASE \op\()_rex, K_SSE     ; \op %xmm9, %xmm14 ; ENDC
.endm
.macro XOPI op, imm
CASE \op\()_\imm, K_SSE    ; \op $\imm, %xmm1, %xmm0 ; ENDC
.endm
.macro XOPIM op, imm
CASE \op\()_m_\imm, K_SSE  ; \op $\imm, 16(%rsi), %xmm0 ; ENDC
.endm

/* ---- what glibc's string functions use first ---- */
.irp op, pcmpeqb, pcmpeqw, pcmpeqd, pcmpeqq, pcmpgtb, pcmpgtw, pcmpgtd, pcmpgtq
XOP \op
.endr
.irp op, pminub, pmaxub, pminsw, pmaxsw, pminsb, pmaxsb, pminuw, pmaxuw, pminsd, pmaxsd, pminud, pmaxud
XOP \op
.endr
.irp op, pand, pandn, por, pxor, pshufb, psubb, paddb, pavgb, psadbw
XOP \op
.endr
CASE pmovmskb, K_SSE         ; pmovmskb %xmm0, %eax ; ENDC
CASE pmovmskb_rex, K_SSE     ; pmovmskb %xmm9, %r10d ; ENDC
CASE ptest, K_SSE            ; ptest %xmm1, %xmm0 ; ENDC
CASE ptest_m, K_SSE          ; ptest 16(%rsi), %xmm0 ; ENDC
CASE ptest_self, K_SSE       ; ptest %xmm0, %xmm0 ; ENDC
CASE movdqu_load, K_SSE      ; movdqu 3(%rsi), %xmm0 ; ENDC
CASE movdqu_store, K_SSE     ; movdqu %xmm1, 5(%rsi) ; ENDC
CASE movdqa_load, K_SSE      ; movdqa 16(%rsi), %xmm2 ; ENDC
CASE movdqa_store, K_SSE     ; movdqa %xmm0, 48(%rsi) ; ENDC
CASE movdqa_reg, K_SSE       ; movdqa %xmm1, %xmm12 ; ENDC
CASE movdqa_misaligned_gp, K_SSE ; movdqa 8(%rsi), %xmm0 ; ENDC
CASE movdqu_pf, K_SSE        ; lea CT_END-8, %rax ; movdqu (%rax), %xmm0 ; ENDC
CASE movups_load, K_SSE      ; movups 1(%rsi), %xmm3 ; ENDC
CASE movups_store, K_SSE     ; movups %xmm0, 7(%rsi) ; ENDC
CASE movaps_reg, K_SSE       ; movaps %xmm0, %xmm1 ; ENDC
CASE movaps_store, K_SSE     ; movaps %xmm1, 64(%rsi) ; ENDC
CASE movapd_load, K_SSE      ; movapd 16(%rsi), %xmm8 ; ENDC
CASE movupd_store, K_SSE     ; movupd %xmm8, 9(%rsi) ; ENDC
CASE lddqu, K_SSE            ; lddqu 11(%rsi), %xmm5 ; ENDC
CASE movntdq, K_SSE          ; movntdq %xmm0, 80(%rsi) ; ENDC
CASE movnti, W64             ; movnti %rax, 8(%rsi) ; ENDC
CASE movd_to_xmm, K_SSE      ; movd %eax, %xmm0 ; ENDC
CASE movd_from_xmm, K_SSE    ; movd %xmm0, %eax ; ENDC
CASE movq_to_xmm, K_SSE      ; movq %rax, %xmm0 ; ENDC
CASE movq_from_xmm, K_SSE    ; movq %xmm0, %rbx ; ENDC
CASE movd_m32_load, K_SSE    ; movd 4(%rsi), %xmm0 ; ENDC
CASE movd_m32_store, K_SSE   ; movd %xmm1, 4(%rsi) ; ENDC
CASE movq_m64_load, K_SSE    ; movq 8(%rsi), %xmm0 ; ENDC
CASE movq_m64_store, K_SSE   ; movq %xmm1, 8(%rsi) ; ENDC
CASE movq_xmm_xmm, K_SSE     ; movq %xmm1, %xmm0 ; ENDC
CASE movss_reg, K_SSE        ; movss %xmm1, %xmm0 ; ENDC
CASE movss_load, K_SSE       ; movss 16(%rsi), %xmm0 ; ENDC
CASE movss_store, K_SSE      ; movss %xmm0, 4(%rsi) ; ENDC
CASE movsd_reg, K_SSE        ; movsd %xmm1, %xmm0 ; ENDC
CASE movsd_load, K_SSE       ; movsd 16(%rsi), %xmm0 ; ENDC
CASE movsd_store, K_SSE      ; movsd %xmm0, 4(%rsi) ; ENDC
CASE movhps_load, K_SSE      ; movhps 16(%rsi), %xmm0 ; ENDC
CASE movhps_store, K_SSE     ; movhps %xmm0, 4(%rsi) ; ENDC
CASE movlps_load, K_SSE      ; movlps 16(%rsi), %xmm0 ; ENDC
CASE movhpd_load, K_SSE      ; movhpd 16(%rsi), %xmm0 ; ENDC
CASE movlpd_store, K_SSE     ; movlpd %xmm0, 4(%rsi) ; ENDC
CASE movlpd_load_hi_regs, K_SSE ; movlpd 8(%rsi), %xmm9 ; movhpd 24(%rsi), %xmm2 ; ENDC
CASE movlps_store_rex, K_SSE  ; movlps %xmm9, (%rsi) ; movhps %xmm1, 12(%rsi) ; ENDC
CASE movlhpd_pair, K_SSE      ; movlpd (%rsi), %xmm1 ; movhpd 8(%rsi), %xmm1 ; movhpd %xmm1, 32(%rsi) ; ENDC
CASE movhlps, K_SSE          ; movhlps %xmm1, %xmm0 ; ENDC
CASE movlhps, K_SSE          ; movlhps %xmm1, %xmm0 ; ENDC
CASE movmskps, K_SSE         ; movmskps %xmm0, %eax ; ENDC
CASE movmskpd, K_SSE         ; movmskpd %xmm0, %eax ; ENDC
CASE movddup, K_SSE          ; movddup %xmm1, %xmm0 ; ENDC
CASE movshdup, K_SSE         ; movshdup %xmm1, %xmm0 ; ENDC
CASE movsldup, K_SSE         ; movsldup %xmm1, %xmm0 ; ENDC
.irp imm, 0, 1, 4, 7, 8, 15, 16, 20, 31, 32
XOPI palignr, \imm
.endr
XOPIM palignr, 3
.irp imm, 0x00, 0x08, 0x0c, 0x18, 0x1a, 0x3a, 0x40, 0x44, 0x04, 0x14, 0x70, 0x4c, 0x01, 0x09, 0x0d, 0x6c
XOPI pcmpistri, \imm
XOPI pcmpistrm, \imm
XOPI pcmpestri, \imm
XOPI pcmpestrm, \imm
.endr
XOPIM pcmpistri, 0x1a
XOPIM pcmpestri, 0x0c
/* Lengths for the explicit-length forms in rax/rdx, small or saturating. */
CASE pcmpestri_len, K_SSE    ; and $31, %eax ; and $31, %edx ; sub $8, %rax ; pcmpestri $0x0c, %xmm1, %xmm0 ; ENDC
CASE pcmpestrm_len, K_SSE    ; and $15, %eax ; and $31, %edx ; pcmpestrm $0x44, %xmm1, %xmm0 ; ENDC
CASE pcmpistri_rexw, K_SSE   ; .byte 0x66, 0x48, 0x0f, 0x3a, 0x63, 0xc1, 0x0c ; ENDC

/* ---- SSE2 integer ---- */
.irp op, paddw, paddd, paddq, psubw, psubd, psubq, paddusb, paddusw, paddsb, paddsw, psubusb, psubusw, psubsb, psubsw
XOP \op
.endr
.irp op, pmullw, pmulhw, pmulhuw, pmuludq, pmaddwd, pavgw, pmulld, pmuldq
XOP \op
.endr
.irp op, punpcklbw, punpcklwd, punpckldq, punpcklqdq, punpckhbw, punpckhwd, punpckhdq, punpckhqdq
XOP \op
.endr
.irp op, packsswb, packuswb, packssdw, packusdw
XOP \op
.endr
.irp op, psllw, pslld, psllq, psrlw, psrld, psrlq, psraw, psrad
XOP \op
CASE \op\()_imm1, K_SSE      ; \op $1, %xmm0 ; ENDC
CASE \op\()_imm15, K_SSE     ; \op $15, %xmm0 ; ENDC
CASE \op\()_imm33, K_SSE     ; \op $33, %xmm0 ; ENDC
CASE \op\()_small, K_SSE     ; movq %rcx, %xmm2 ; \op %xmm2, %xmm0 ; ENDC
.endr
.irp imm, 0, 1, 7, 8, 15, 16
CASE pslldq_\imm, K_SSE      ; pslldq $\imm, %xmm0 ; ENDC
CASE psrldq_\imm, K_SSE      ; psrldq $\imm, %xmm0 ; ENDC
.endr
.irp imm, 0x00, 0x1b, 0x4e, 0xb1, 0xff
XOPI pshufd, \imm
XOPI pshuflw, \imm
XOPI pshufhw, \imm
XOPI shufps, \imm
.endr
XOPIM pshufd, 0x39
XOPI shufpd, 0
XOPI shufpd, 1
XOPI shufpd, 2
XOPI shufpd, 3

/* ---- SSSE3 ---- */
.irp op, pabsb, pabsw, pabsd, psignb, psignw, psignd, phaddw, phaddd, phaddsw, phsubw, phsubd, phsubsw, pmaddubsw, pmulhrsw
XOP \op
.endr

/* ---- SSE4.1 ---- */
CASE pblendvb, K_SSE         ; pblendvb %xmm0, %xmm2, %xmm1 ; ENDC
CASE blendvps, K_SSE         ; blendvps %xmm0, %xmm2, %xmm1 ; ENDC
CASE blendvpd, K_SSE         ; blendvpd %xmm0, %xmm2, %xmm1 ; ENDC
.irp imm, 0x00, 0x5a, 0xff
XOPI pblendw, \imm
.endr
XOPI blendps, 5
XOPI blendpd, 2
.irp imm, 0, 5, 15
CASE pextrb_\imm, K_SSE      ; pextrb $\imm, %xmm0, %eax ; ENDC
CASE pinsrb_\imm, K_SSE      ; pinsrb $\imm, %ebx, %xmm0 ; ENDC
.endr
CASE pextrb_m8, K_SSE        ; pextrb $3, %xmm0, 1(%rsi) ; ENDC
CASE pextrw, K_SSE           ; pextrw $5, %xmm0, %eax ; ENDC
CASE pextrw_m16, K_SSE       ; pextrw $7, %xmm0, 2(%rsi) ; ENDC
CASE pinsrw, K_SSE           ; pinsrw $3, %ebx, %xmm0 ; ENDC
CASE pinsrw_m16, K_SSE       ; pinsrw $6, 2(%rsi), %xmm0 ; ENDC
CASE pextrd, K_SSE           ; pextrd $2, %xmm0, %eax ; ENDC
CASE pextrq, K_SSE           ; pextrq $1, %xmm0, %rax ; ENDC
CASE pinsrd, K_SSE           ; pinsrd $1, %ebx, %xmm0 ; ENDC
CASE pinsrq, K_SSE           ; pinsrq $1, %rbx, %xmm0 ; ENDC
CASE pinsrq_m64, K_SSE       ; pinsrq $0, 8(%rsi), %xmm0 ; ENDC
CASE extractps, K_SSE        ; extractps $3, %xmm0, %eax ; ENDC
.irp imm, 0x00, 0x1c, 0x4d, 0xf0
XOPI insertps, \imm
.endr
.irp op, pmovzxbw, pmovzxbd, pmovzxbq, pmovzxwd, pmovzxwq, pmovzxdq, pmovsxbw, pmovsxbd, pmovsxbq, pmovsxwd, pmovsxwq, pmovsxdq
XOP \op
.endr
XOP phminposuw
XOPI mpsadbw, 0
XOPI mpsadbw, 5
.irp imm, 0x00, 0x01, 0x02, 0x03, 0x04, 0x09
XOPI roundps, \imm
XOPI roundpd, \imm
XOPI roundss, \imm
XOPI roundsd, \imm
.endr
XOPI dpps, 0xff
XOPI dpps, 0x31
XOPI dppd, 0x33
CASE movntdqa, K_SSE         ; movntdqa 16(%rsi), %xmm3 ; ENDC

/* ---- SSE4.2 besides strings ---- */
CASE crc32b, W32             ; crc32b %bl, %eax ; ENDC
CASE crc32w, W32             ; crc32w %bx, %eax ; ENDC
CASE crc32l, W32             ; crc32l %ebx, %eax ; ENDC
CASE crc32q, W64             ; crc32q %rbx, %rax ; ENDC
/* 66 REX.W crc32q %rbx, %rax: REX.W wins over 66 (a 64-bit source) */
CASE crc32q_66, W64          ; .byte 0x66, 0xf2, 0x48, 0x0f, 0x38, 0xf1, 0xc3 ; ENDC
CASE crc32l_m, W32           ; crc32l 4(%rsi), %eax ; ENDC

/* ---- floating point ---- */
.irp op, addps, addpd, addss, addsd, subps, subpd, subss, subsd, mulps, mulpd, mulss, mulsd, divps, divpd, divss, divsd
XOP \op
.endr
.irp op, minps, minpd, minss, minsd, maxps, maxpd, maxss, maxsd, sqrtps, sqrtpd, sqrtss, sqrtsd
XOP \op
.endr
.irp op, andps, andpd, andnps, andnpd, orps, orpd, xorps, xorpd, unpcklps, unpcklpd, unpckhps, unpckhpd
XOP \op
.endr
.irp op, haddps, haddpd, hsubps, hsubpd, addsubps, addsubpd
XOP \op
.endr
.irp op, rcpps, rcpss, rsqrtps, rsqrtss
XOP \op
.endr
.irp imm, 0, 1, 2, 3, 4, 5, 6, 7
XOPI cmpps, \imm
XOPI cmppd, \imm
XOPI cmpss, \imm
XOPI cmpsd, \imm
.endr
.irp op, comiss, comisd, ucomiss, ucomisd
XOP \op
.endr
.irp op, cvtdq2ps, cvtps2dq, cvttps2dq, cvtdq2pd, cvtpd2dq, cvttpd2dq, cvtps2pd, cvtpd2ps, cvtss2sd, cvtsd2ss
XOP \op
.endr
CASE cvtsi2sd_r32, K_SSE     ; cvtsi2sd %eax, %xmm0 ; ENDC
CASE cvtsi2sd_r64, K_SSE     ; cvtsi2sd %rax, %xmm0 ; ENDC
CASE cvtsi2ss_r32, K_SSE     ; cvtsi2ss %ebx, %xmm0 ; ENDC
CASE cvtsi2ss_r64, K_SSE     ; cvtsi2ss %rbx, %xmm0 ; ENDC
CASE cvtsi2sdl_m32, K_SSE    ; cvtsi2sdl 4(%rsi), %xmm0 ; ENDC
CASE cvttsd2si_r32, K_SSE    ; cvttsd2si %xmm0, %eax ; ENDC
CASE cvttsd2si_r64, K_SSE    ; cvttsd2si %xmm0, %rax ; ENDC
CASE cvtsd2si_r32, K_SSE     ; cvtsd2si %xmm0, %eax ; ENDC
CASE cvtsd2si_r64, K_SSE     ; cvtsd2si %xmm1, %rax ; ENDC
CASE cvttss2si_r32, K_SSE    ; cvttss2si %xmm0, %eax ; ENDC
CASE cvttss2si_r64, K_SSE    ; cvttss2si %xmm0, %rax ; ENDC
CASE cvtss2si_r64, K_SSE     ; cvtss2si %xmm1, %rax ; ENDC
CASE cvtsd2si_m64, K_SSE     ; cvtsd2si 16(%rsi), %rax ; ENDC
CASE cvttss2si_m32_r12, K_SSE ; cvttss2si 4(%rsi), %r12d ; ENDC
CASE cvttsd2si_m64_r9, K_SSE ; cvttsd2si 16(%rsi), %r9 ; ENDC
CASE cvtss2si_r32_r14, K_SSE ; cvtss2si %xmm1, %r14d ; ENDC
CASE cvt2si_flags_kept, K_SSE ; cvttsd2si %xmm0, %rax ; cvtsd2si %xmm1, %ebx ; stmxcsr 4(%rsi) ; ENDC
/* Rounding modes, flush-to-zero and denormals-are-zero. */
.irp mx, 0x3f80, 0x5f80, 0x7f80, 0x9fc0, 0x1fbf
CASE mxcsr_\mx\()_addsd, K_SSE ; pushq $\mx ; ldmxcsr (%rsp) ; addsd %xmm1, %xmm0 ; stmxcsr (%rsp) ; popq %rax ; ENDC
CASE mxcsr_\mx\()_mulps, K_SSE ; pushq $\mx ; ldmxcsr (%rsp) ; mulps %xmm1, %xmm0 ; ENDC
CASE mxcsr_\mx\()_divss, K_SSE ; pushq $\mx ; ldmxcsr (%rsp) ; divss %xmm1, %xmm0 ; ENDC
CASE mxcsr_\mx\()_cvtsd2si, K_SSE ; pushq $\mx ; ldmxcsr (%rsp) ; cvtsd2si %xmm0, %rax ; cvtps2dq %xmm1, %xmm2 ; ENDC
CASE mxcsr_\mx\()_sqrtsd, K_SSE ; pushq $\mx ; ldmxcsr (%rsp) ; sqrtsd %xmm1, %xmm0 ; ENDC
.endr
CASE ldmxcsr_reserved_gp, K_SSE ; pushq $0x11f80 ; ldmxcsr (%rsp) ; ENDC
CASE stmxcsr, K_SSE          ; stmxcsr 4(%rsi) ; ENDC
CASE mxcsr_flags_cleared, K_SSE ; pushq $0x1f80 ; ldmxcsr (%rsp) ; divsd %xmm1, %xmm0 ; ldmxcsr (%rsp) ; xorpd %xmm2, %xmm2 ; addsd %xmm2, %xmm2 ; ucomisd %xmm2, %xmm2 ; stmxcsr (%rsp) ; popq %rax ; ENDC
CASE chain_ucomisd_jcc, K_SSE ; ucomisd %xmm1, %xmm0 ; jp 1f ; jb 1f ; cvtsi2sd %rbx, %xmm3 ; mulsd %xmm3, %xmm0 ; 1: setbe %r8b ; setnp %r9b ; ENDC
CASE divsd_unmasked_xm, K_SSE ; pushq $0x1d00 ; ldmxcsr (%rsp) ; divsd %xmm1, %xmm0 ; ENDC
CASE mulss_tiny_exact_um_xm, K_SSE ; pushq $0x1780 ; ldmxcsr (%rsp) ; mov $0x00800000, %eax ; movd %eax, %xmm0 ; mov $0x3f000000, %eax ; movd %eax, %xmm1 ; mulss %xmm1, %xmm0 ; ENDC
CASE divss_zero_zm_flags, K_SSE ; pushq $0x1d80 ; ldmxcsr (%rsp) ; mov $0x3f800000, %eax ; movd %eax, %xmm0 ; xorps %xmm1, %xmm1 ; divss %xmm1, %xmm0 ; ENDC
CASE addps_unmasked_xm, K_SSE ; pushq $0x1e80 ; ldmxcsr (%rsp) ; addps %xmm1, %xmm0 ; ENDC

/* ---- x87 basics: operands from 16(%rsi), results stored to memory ---- */
.irp op, fadd, fsub, fsubr, fmul, fdiv, fdivr
CASE \op\()_m64, K_SSE|K_X87 ; fldl 16(%rsi) ; \op\()l 24(%rsi) ; fstpl 48(%rsi) ; fnstsw %ax ; ENDC
CASE \op\()_m32, K_SSE|K_X87 ; flds 20(%rsi) ; \op\()s 32(%rsi) ; fstps 48(%rsi) ; fnstsw %ax ; ENDC
CASE \op\()p_st, K_SSE|K_X87 ; fldl 16(%rsi) ; fldl 24(%rsi) ; \op\()p ; fstpt 48(%rsi) ; fnstsw %ax ; ENDC
.endr
CASE fsqrt, K_SSE|K_X87      ; fldl 16(%rsi) ; fsqrt ; fstpt 48(%rsi) ; fnstsw %ax ; ENDC
CASE fabs_fchs, K_SSE|K_X87  ; fldl 16(%rsi) ; fabs ; fstl 48(%rsi) ; fchs ; fstpl 56(%rsi) ; ENDC
CASE frndint, K_SSE|K_X87    ; fldl 16(%rsi) ; frndint ; fstpl 48(%rsi) ; fnstsw %ax ; ENDC
CASE fild_fistp, K_SSE|K_X87 ; fildq (%rsi) ; fistpl 48(%rsi) ; fildl 8(%rsi) ; fistpq 56(%rsi) ; fnstsw %ax ; ENDC
CASE fisttp, K_SSE|K_X87     ; fldl 16(%rsi) ; fisttpq 48(%rsi) ; fldl 24(%rsi) ; fisttpl 56(%rsi) ; fnstsw %ax ; ENDC
CASE fistp_m16, K_SSE|K_X87  ; fldl 16(%rsi) ; fistps 48(%rsi) ; fnstsw %ax ; ENDC
CASE fld_consts, K_SSE|K_X87 ; fld1 ; fstpt 48(%rsi) ; fldz ; fstpt 64(%rsi) ; fldpi ; fstpt 80(%rsi) ; fldl2e ; fstpt 96(%rsi) ; fldln2 ; fstpt 112(%rsi) ; ENDC
CASE fld_fstp_m80, K_SSE|K_X87 ; fldt 16(%rsi) ; fstpt 48(%rsi) ; fnstsw %ax ; ENDC
CASE fld_m32_fstp_m64, K_SSE|K_X87 ; flds 16(%rsi) ; fstpl 48(%rsi) ; flds 20(%rsi) ; fstps 56(%rsi) ; fnstsw %ax ; ENDC
CASE fxch, K_SSE|K_X87       ; fldl 16(%rsi) ; fldl 24(%rsi) ; fxch ; fstpl 48(%rsi) ; fstpl 56(%rsi) ; ENDC
CASE fcomi, K_SSE|K_X87      ; fldl 16(%rsi) ; fldl 24(%rsi) ; fcomip %st(1), %st ; fstp %st(0) ; fnstsw %ax ; ENDC
CASE fucomi, K_SSE|K_X87     ; fldl 16(%rsi) ; fldl 24(%rsi) ; fucomip %st(1), %st ; fstp %st(0) ; fnstsw %ax ; ENDC
CASE fcom_fnstsw, K_SSE|K_X87 ; fldl 16(%rsi) ; fcoml 24(%rsi) ; fnstsw %ax ; fstp %st(0) ; ENDC
CASE fucompp, K_SSE|K_X87    ; fldl 16(%rsi) ; fldl 24(%rsi) ; fucompp ; fnstsw %ax ; ENDC
CASE ftst_fxam, K_SSE|K_X87  ; fldl 16(%rsi) ; ftst ; fnstsw %ax ; mov %eax, %ebx ; fxam ; fnstsw %ax ; fstp %st(0) ; ENDC
CASE fldcw_round, K_SSE|K_X87 ; movw $0x0f7f, 48(%rsi) ; fldcw 48(%rsi) ; fldl 16(%rsi) ; frndint ; fistpq 56(%rsi) ; fnstcw 64(%rsi) ; ENDC
CASE fnstcw_m16, K_X87 ; fnstcw 6(%rsi) ; fnstcw 64(%rsi) ; ENDC
CASE fldcw_single, K_SSE|K_X87 ; movw $0x007f, 48(%rsi) ; fldcw 48(%rsi) ; fldl 16(%rsi) ; fdivl 24(%rsi) ; fstpt 56(%rsi) ; ENDC
CASE fprem, K_SSE|K_X87      ; fldl 24(%rsi) ; fldl 16(%rsi) ; fprem ; fnstsw %ax ; fstpl 48(%rsi) ; fstp %st(0) ; ENDC
CASE fscale, K_SSE|K_X87     ; filds 4(%rsi) ; fldl 16(%rsi) ; fscale ; fstpt 48(%rsi) ; fstp %st(0) ; fnstsw %ax ; ENDC
CASE fxtract, K_SSE|K_X87    ; fldl 16(%rsi) ; fxtract ; fstpt 48(%rsi) ; fstpt 64(%rsi) ; fnstsw %ax ; ENDC
CASE fcmov, K_SSE|K_X87      ; fldl 16(%rsi) ; fldl 24(%rsi) ; fcmovb %st(1), %st ; fstpl 48(%rsi) ; fcmovne %st(0), %st ; fstpl 56(%rsi) ; ENDC
CASE fnstenv, K_SSE|K_X87    ; fldl 16(%rsi) ; fnstenv 48(%rsi) ; movl $0, 60(%rsi) ; movl $0, 64(%rsi) ; movl $0, 68(%rsi) ; movl $0, 72(%rsi) ; ENDC
CASE fstack_overflow, K_SSE|K_X87 ; .rept 9 ; fld1 ; .endr ; fnstsw %ax ; fstpt 48(%rsi) ; ENDC
/* Transcendentals on small operands (|x| < 2: 16(%rsi) scaled by FSCALE -3). */
.irp op, fsin, fcos, f2xm1, fsqrt, frndint, fabs
CASE x87_\op\()_small, K_SSE|K_X87 ; fldl 16(%rsi) ; fld1 ; fchs ; fld1 ; faddp ; fld1 ; faddp ; fld1 ; faddp ; fchs ; fxch ; fscale ; fstp %st(1) ; \op ; fstpt 48(%rsi) ; fnstsw %ax ; ENDC
.endr
CASE x87_fsincos_small, K_SSE|K_X87 ; fldl 16(%rsi) ; fsincos ; fstpt 48(%rsi) ; fstpt 64(%rsi) ; fnstsw %ax ; ENDC
CASE x87_fptan, K_SSE|K_X87  ; fldl 16(%rsi) ; fptan ; fstpt 48(%rsi) ; fstpt 64(%rsi) ; fnstsw %ax ; ENDC
CASE x87_fpatan, K_SSE|K_X87 ; fldl 16(%rsi) ; fldl 24(%rsi) ; fpatan ; fstpt 48(%rsi) ; fnstsw %ax ; ENDC
CASE x87_fyl2x, K_SSE|K_X87  ; fldl 24(%rsi) ; fldl 16(%rsi) ; fabs ; fyl2x ; fstpt 48(%rsi) ; fnstsw %ax ; ENDC
CASE x87_fyl2xp1, K_SSE|K_X87 ; fldl 24(%rsi) ; fldz ; fyl2xp1 ; fstpt 48(%rsi) ; fnstsw %ax ; ENDC
CASE x87_fprem1, K_SSE|K_X87 ; fldl 24(%rsi) ; fldl 16(%rsi) ; fprem1 ; fnstsw %ax ; fstpt 48(%rsi) ; fstp %st(0) ; ENDC
CASE x87_fbstp_fbld, K_SSE|K_X87 ; fildl 4(%rsi) ; fbstp 48(%rsi) ; fbld 48(%rsi) ; fistpq 64(%rsi) ; fnstsw %ax ; ENDC
.macro x87_alias name, op, modrm
CASE x87_alias_\name, K_SSE|K_X87|K_VENDOR ; fldl 16(%rsi) ; fldl 24(%rsi) ; .byte \op, \modrm ; fnstsw %ax ; mov %eax, %ebx ; fstpt 48(%rsi) ; fstpt 64(%rsi) ; fnstsw %ax ; ENDC
CASE x87_alias_\name\()_empty, K_SSE|K_X87|K_VENDOR ; .byte \op, \modrm ; fnstsw %ax ; mov %eax, %ebx ; fstpt 48(%rsi) ; fnstsw %ax ; ENDC
.endm
/* Undocumented x87 aliases (FSTP1 D9 D8+i, FCOM2 DC D0+i, FCOMP3 DC D8+i,
 * FXCH4 DD C8+i, FCOMP5 DE D0+i, FXCH7 DF C8+i, FSTP8 DF D0+i, FSTP9 DF D8+i):
 * on two loaded values and on an empty stack. */
x87_alias fstp1, 0xd9, 0xd9
x87_alias fcom2, 0xdc, 0xd1
x87_alias fcomp3, 0xdc, 0xd9
x87_alias fxch4, 0xdd, 0xc9
x87_alias fcomp5, 0xde, 0xd1
x87_alias fxch7, 0xdf, 0xc9
x87_alias fstp8, 0xdf, 0xd1
x87_alias fstp9, 0xdf, 0xd9
CASE phsubw_mm_wrap_top_pf, K_SSE ; mov $-1, %rdx ; phsubw (%rdx), %mm4 ; ENDC
CASE movdqu_wrap_top_pf, K_SSE ; mov $-8, %rdx ; movdqu (%rdx), %xmm4 ; ENDC
CASE fxsave_mxcsr, K_SSE     ; fxsave 64(%rsi) ; movl 24+64(%rsi), %eax ; movl $0, 64(%rsi) ; movl $0, 28+64(%rsi) ; ENDC

        .section .note.GNU-stack,"",@progbits
