/* AVX (VEX-encoded) floating-point, move and state forms for the differential
 * test (tests/cpu/cpu_diff.c), 128 and 256 bits.  Inputs as in cases_sse.S:
 * xmm0/xmm1 hold pairs of edge lanes (their upper halves too, swapped, once
 * emu keeps YMM state); 16(%rsi) holds a copy of xmm1, 32(%rsi) of xmm0.
 * Every form is flagged K_AVX: cpu_diff compares it when the host has AVX
 * and emu advertises it, and SKIPs it by name otherwise.  Not here: #UD when
 * CR4.OSXSAVE or XCR0 do not enable AVX — the native side runs in a Linux
 * process, which cannot clear them (see docs/cpu-tests.md). */
#include "case_macros.h"

        .text

#define KA K_SSE|K_AVX

/* Three operands: dest = xmm0 op xmm1, both widths, memory, REX-range
 * registers (VEX.R/B and vvvv >= 8), and the destination aliasing a source. */
.macro V3 op, k=KA
CASE avx_\op\()_x, \k        ; \op %xmm1, %xmm0, %xmm3 ; ENDC
CASE avx_\op\()_y, \k        ; \op %ymm1, %ymm0, %ymm3 ; ENDC
CASE avx_\op\()_xm, \k       ; \op 16(%rsi), %xmm0, %xmm3 ; ENDC
CASE avx_\op\()_ym, \k       ; \op 16(%rsi), %ymm0, %ymm3 ; ENDC
CASE avx_\op\()_yrex, \k     ; \op %ymm9, %ymm14, %ymm11 ; ENDC
CASE avx_\op\()_yalias, \k   ; \op %ymm1, %ymm0, %ymm0 ; ENDC
.endm
/* Scalar three operands: low lane computed, bits 127:lane from src1,
 * bits 255:128 zeroed. */
.macro V3S op, k=KA
CASE avx_\op, \k             ; \op %xmm1, %xmm0, %xmm3 ; ENDC
CASE avx_\op\()_m, \k        ; \op 16(%rsi), %xmm0, %xmm3 ; ENDC
CASE avx_\op\()_rex, \k      ; \op %xmm9, %xmm14, %xmm11 ; ENDC
.endm
/* Two operands (no vvvv). */
.macro V2 op, k=KA
CASE avx_\op\()_x, \k        ; \op %xmm1, %xmm3 ; ENDC
CASE avx_\op\()_y, \k        ; \op %ymm1, %ymm3 ; ENDC
CASE avx_\op\()_xm, \k       ; \op 16(%rsi), %xmm3 ; ENDC
CASE avx_\op\()_ym, \k       ; \op 16(%rsi), %ymm3 ; ENDC
.endm
/* Three operands and an immediate. */
.macro V3I op, imm, k=KA
CASE avx_\op\()_\imm\()_x, \k  ; \op $\imm, %xmm1, %xmm0, %xmm3 ; ENDC
CASE avx_\op\()_\imm\()_y, \k  ; \op $\imm, %ymm1, %ymm0, %ymm3 ; ENDC
.endm
.macro V3IM op, imm, k=KA
CASE avx_\op\()_\imm\()_ym, \k ; \op $\imm, 16(%rsi), %ymm0, %ymm3 ; ENDC
.endm
.macro V3SI op, imm, k=KA
CASE avx_\op\()_\imm, \k     ; \op $\imm, %xmm1, %xmm0, %xmm3 ; ENDC
.endm
.macro V2I op, imm, k=KA
CASE avx_\op\()_\imm\()_x, \k  ; \op $\imm, %xmm1, %xmm3 ; ENDC
CASE avx_\op\()_\imm\()_y, \k  ; \op $\imm, %ymm1, %ymm3 ; ENDC
.endm

/* ---- arithmetic, logic, horizontal ---- */
.irp op, vaddps, vaddpd, vsubps, vsubpd, vmulps, vmulpd, vdivps, vdivpd, vminps, vminpd, vmaxps, vmaxpd
V3 \op
.endr
.irp op, vandps, vandpd, vandnps, vandnpd, vorps, vorpd, vxorps, vxorpd
V3 \op
.endr
.irp op, vunpcklps, vunpcklpd, vunpckhps, vunpckhpd, vaddsubps, vaddsubpd, vhaddps, vhaddpd, vhsubps, vhsubpd
V3 \op
.endr
.irp op, vaddss, vaddsd, vsubss, vsubsd, vmulss, vmulsd, vdivss, vdivsd, vminss, vminsd, vmaxss, vmaxsd, vsqrtss, vsqrtsd, vrcpss, vrsqrtss
V3S \op
.endr
.irp op, vsqrtps, vsqrtpd, vrcpps, vrsqrtps
V2 \op
.endr

/* ---- compares (all 32 predicates exist only in VEX form) ---- */
.irp imm, 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0xa, 0xb, 0xc, 0xd, 0xe, 0xf, 0x10, 0x11, 0x13, 0x14, 0x18, 0x1b, 0x1d, 0x1f
V3I vcmpps, \imm
V3I vcmppd, \imm
V3SI vcmpss, \imm
V3SI vcmpsd, \imm
.endr
V3IM vcmpps, 0x1e
V3IM vcmppd, 0x0d
.irp op, vcomiss, vcomisd, vucomiss, vucomisd
CASE avx_\op, KA             ; \op %xmm1, %xmm0 ; ENDC
CASE avx_\op\()_m, KA        ; \op 16(%rsi), %xmm0 ; ENDC
.endr
.irp op, vtestps, vtestpd, vptest
CASE avx_\op\()_x, KA        ; \op %xmm1, %xmm0 ; ENDC
CASE avx_\op\()_y, KA        ; \op %ymm1, %ymm0 ; ENDC
CASE avx_\op\()_ym, KA       ; \op 16(%rsi), %ymm0 ; ENDC
CASE avx_\op\()_yself, KA    ; \op %ymm0, %ymm0 ; ENDC
.endr
CASE avx_vmovmskps_x, KA     ; vmovmskps %xmm0, %eax ; ENDC
CASE avx_vmovmskps_y, KA     ; vmovmskps %ymm0, %eax ; ENDC
CASE avx_vmovmskpd_y, KA     ; vmovmskpd %ymm1, %r9d ; ENDC
CASE avx_vpmovmskb_x, KA     ; vpmovmskb %xmm0, %eax ; ENDC

/* ---- conversions ---- */
V2 vcvtdq2ps
V2 vcvtps2dq
V2 vcvttps2dq
CASE avx_vcvtdq2pd_x, KA     ; vcvtdq2pd %xmm1, %xmm3 ; ENDC
CASE avx_vcvtdq2pd_y, KA     ; vcvtdq2pd %xmm1, %ymm3 ; ENDC
CASE avx_vcvtps2pd_y, KA     ; vcvtps2pd %xmm1, %ymm3 ; ENDC
CASE avx_vcvtps2pd_ym, KA    ; vcvtps2pd 16(%rsi), %ymm3 ; ENDC
CASE avx_vcvtpd2ps_x, KA     ; vcvtpd2ps %xmm1, %xmm3 ; ENDC
CASE avx_vcvtpd2ps_y, KA     ; vcvtpd2ps %ymm1, %xmm3 ; ENDC
CASE avx_vcvtpd2dq_y, KA     ; vcvtpd2dq %ymm1, %xmm3 ; ENDC
CASE avx_vcvttpd2dq_y, KA    ; vcvttpd2dq %ymm1, %xmm3 ; ENDC
CASE avx_vcvtpd2dqy_m, KA    ; vcvtpd2dqy 16(%rsi), %xmm3 ; ENDC
V3S vcvtss2sd
V3S vcvtsd2ss
CASE avx_vcvtsi2ss_r32, KA   ; vcvtsi2ss %ebx, %xmm0, %xmm3 ; ENDC
CASE avx_vcvtsi2sd_r64, KA   ; vcvtsi2sd %rax, %xmm0, %xmm3 ; ENDC
CASE avx_vcvtsi2sdl_m32, KA  ; vcvtsi2sdl 4(%rsi), %xmm1, %xmm3 ; ENDC
CASE avx_vcvtss2si_r64, KA   ; vcvtss2si %xmm1, %rax ; ENDC
CASE avx_vcvttsd2si_r32, KA  ; vcvttsd2si %xmm0, %eax ; ENDC
CASE avx_vcvtsd2si_m64, KA   ; vcvtsd2si 16(%rsi), %rax ; ENDC
.irp imm, 0, 1, 2, 3, 4, 8, 0xc
V2I vroundps, \imm
V2I vroundpd, \imm
V3SI vroundss, \imm
V3SI vroundsd, \imm
.endr

/* ---- moves: the VEX.128 forms zero bits 255:128 of the destination ---- */
.irp op, vmovaps, vmovapd, vmovdqa
CASE avx_\op\()_x, KA        ; \op %xmm1, %xmm3 ; ENDC
CASE avx_\op\()_y, KA        ; \op %ymm1, %ymm3 ; ENDC
CASE avx_\op\()_ld_y, KA     ; \op 64(%rbp), %ymm3 ; ENDC
CASE avx_\op\()_st_y, KA     ; \op %ymm1, 64(%rsi) ; ENDC
CASE avx_\op\()_st_x, KA     ; \op %xmm1, 32(%rsi) ; ENDC
CASE avx_\op\()_gp_y, KA     ; \op 16(%rsi), %ymm3 ; ENDC
.endr
.irp op, vmovups, vmovupd, vmovdqu
CASE avx_\op\()_x, KA        ; \op %xmm1, %xmm3 ; ENDC
CASE avx_\op\()_y, KA        ; \op %ymm1, %ymm13 ; ENDC
CASE avx_\op\()_ld_x, KA     ; \op 3(%rsi), %xmm3 ; ENDC
CASE avx_\op\()_ld_y, KA     ; \op 5(%rsi), %ymm3 ; ENDC
CASE avx_\op\()_st_x, KA     ; \op %xmm1, 7(%rsi) ; ENDC
CASE avx_\op\()_st_y, KA     ; \op %ymm0, 9(%rsi) ; ENDC
.endr
CASE avx_vlddqu_y, KA        ; vlddqu 11(%rsi), %ymm5 ; ENDC
CASE avx_vmovntdq_y, KA      ; vmovntdq %ymm0, 64(%rsi) ; ENDC
CASE avx_vmovntps_y, KA      ; vmovntps %ymm1, 64(%rsi) ; ENDC
CASE avx_vmovd_to, KA        ; vmovd %eax, %xmm3 ; ENDC
CASE avx_vmovq_to, KA        ; vmovq %rbx, %xmm3 ; ENDC
CASE avx_vmovd_from, KA      ; vmovd %xmm0, %eax ; ENDC
CASE avx_vmovq_from, KA      ; vmovq %xmm1, %rbx ; ENDC
CASE avx_vmovq_xx, KA        ; vmovq %xmm1, %xmm3 ; ENDC
CASE avx_vmovq_ld, KA        ; vmovq 8(%rsi), %xmm3 ; ENDC
CASE avx_vmovd_st, KA        ; vmovd %xmm1, 4(%rsi) ; ENDC
CASE avx_vmovss_rr, KA       ; vmovss %xmm1, %xmm0, %xmm3 ; ENDC
CASE avx_vmovsd_rr, KA       ; vmovsd %xmm1, %xmm0, %xmm3 ; ENDC
CASE avx_vmovss_ld, KA       ; vmovss 16(%rsi), %xmm3 ; ENDC
CASE avx_vmovsd_ld, KA       ; vmovsd 16(%rsi), %xmm3 ; ENDC
CASE avx_vmovss_st, KA       ; vmovss %xmm0, 4(%rsi) ; ENDC
CASE avx_vmovsd_st, KA       ; vmovsd %xmm0, 4(%rsi) ; ENDC
CASE avx_vmovhps_ld, KA      ; vmovhps 16(%rsi), %xmm0, %xmm3 ; ENDC
CASE avx_vmovlps_ld, KA      ; vmovlps 16(%rsi), %xmm0, %xmm3 ; ENDC
CASE avx_vmovhpd_st, KA      ; vmovhpd %xmm0, 4(%rsi) ; ENDC
CASE avx_vmovhlps, KA        ; vmovhlps %xmm1, %xmm0, %xmm3 ; ENDC
CASE avx_vmovlhps, KA        ; vmovlhps %xmm1, %xmm0, %xmm3 ; ENDC
V2 vmovddup
V2 vmovshdup
V2 vmovsldup
/* Legacy SSE after VEX: keeps bits 255:128 (no zeroing without VEX). */
CASE avx_legacy_keeps_upper, KA ; vaddps %ymm1, %ymm0, %ymm3 ; addps %xmm1, %xmm3 ; movaps %xmm0, %xmm1 ; ENDC
CASE avx_vex128_zeroes_upper, KA ; vaddps %ymm1, %ymm0, %ymm3 ; vaddps %xmm1, %xmm3, %xmm3 ; vmovaps %xmm0, %xmm1 ; ENDC
CASE avx_vzeroupper, KA      ; vaddps %ymm1, %ymm0, %ymm3 ; vzeroupper ; ENDC
CASE avx_vzeroall, KA        ; vaddps %ymm1, %ymm0, %ymm3 ; vzeroall ; ENDC
CASE avx_vzeroupper_rex, KA  ; vmovaps %ymm1, %ymm12 ; vzeroupper ; vmovaps %ymm12, %ymm13 ; ENDC

/* ---- shuffles, blends, lanes ---- */
.irp imm, 0x00, 0x1b, 0x4e, 0xb1, 0xff
V3I vshufps, \imm
V2I vpermilps, \imm
.endr
.irp imm, 0, 5, 0xa, 0xf
V3I vshufpd, \imm
V2I vpermilpd, \imm
.endr
V3 vpermilps
V3 vpermilpd
.irp imm, 0x00, 0x5a, 0xa5, 0xff
V3I vblendps, \imm
.endr
.irp imm, 0x0, 0x5, 0xa, 0xf
V3I vblendpd, \imm
.endr
CASE avx_vblendvps_x, KA     ; vblendvps %xmm0, %xmm1, %xmm2, %xmm3 ; ENDC
CASE avx_vblendvps_y, KA     ; vblendvps %ymm0, %ymm1, %ymm2, %ymm3 ; ENDC
CASE avx_vblendvpd_y, KA     ; vblendvpd %ymm1, 16(%rsi), %ymm0, %ymm3 ; ENDC
CASE avx_vpblendvb_x, KA     ; vpblendvb %xmm0, %xmm1, %xmm2, %xmm3 ; ENDC
.irp imm, 0xff, 0x31, 0xf1
V3I vdpps, \imm
.endr
V3SI vdppd, 0x33
.irp imm, 0x00, 0x01, 0x10, 0x20, 0x31, 0x13, 0x08, 0x80, 0x88
CASE avx_vperm2f128_\imm, KA ; vperm2f128 $\imm, %ymm1, %ymm0, %ymm3 ; ENDC
.endr
CASE avx_vperm2f128_m, KA    ; vperm2f128 $0x21, 16(%rsi), %ymm0, %ymm3 ; ENDC
CASE avx_vinsertf128_0, KA   ; vinsertf128 $0, %xmm1, %ymm0, %ymm3 ; ENDC
CASE avx_vinsertf128_1, KA   ; vinsertf128 $1, %xmm1, %ymm0, %ymm3 ; ENDC
CASE avx_vinsertf128_m, KA   ; vinsertf128 $1, 16(%rsi), %ymm0, %ymm3 ; ENDC
CASE avx_vextractf128_0, KA  ; vextractf128 $0, %ymm0, %xmm3 ; ENDC
CASE avx_vextractf128_1, KA  ; vextractf128 $1, %ymm0, %xmm3 ; ENDC
CASE avx_vextractf128_m, KA  ; vextractf128 $1, %ymm1, 4(%rsi) ; ENDC
CASE avx_vbroadcastss_x, KA  ; vbroadcastss 16(%rsi), %xmm3 ; ENDC
CASE avx_vbroadcastss_y, KA  ; vbroadcastss 20(%rsi), %ymm3 ; ENDC
CASE avx_vbroadcastsd_y, KA  ; vbroadcastsd 24(%rsi), %ymm3 ; ENDC
CASE avx_vbroadcastf128, KA  ; vbroadcastf128 16(%rsi), %ymm3 ; ENDC
.irp imm, 0x00, 0x1c, 0x4d, 0xf0
V3SI vinsertps, \imm
.endr
CASE avx_vextractps_r, KA    ; vextractps $2, %xmm0, %eax ; ENDC
CASE avx_vextractps_m, KA    ; vextractps $3, %xmm1, 4(%rsi) ; ENDC

/* ---- masked moves: masked-off lanes are neither read nor written ---- */
CASE avx_vmaskmovps_ld_x, KA ; vmaskmovps 16(%rsi), %xmm0, %xmm3 ; ENDC
CASE avx_vmaskmovps_ld_y, KA ; vmaskmovps 16(%rsi), %ymm1, %ymm3 ; ENDC
CASE avx_vmaskmovpd_ld_y, KA ; vmaskmovpd 8(%rsi), %ymm0, %ymm3 ; ENDC
CASE avx_vmaskmovps_st_y, KA ; vmaskmovps %ymm1, %ymm0, 4(%rsi) ; ENDC
CASE avx_vmaskmovpd_st_x, KA ; vmaskmovpd %xmm0, %xmm1, 4(%rsi) ; ENDC
/* Lanes 0-3 on, 4-7 off: the off lanes lie past the end of memory. */
CASE avx_vmaskmovps_ld_edge, KA ; vpcmpeqd %xmm5, %xmm5, %xmm5 ; lea CT_END-16, %rax ; vmaskmovps (%rax), %ymm5, %ymm3 ; ENDC
CASE avx_vmaskmovps_st_edge, KA ; vpcmpeqd %xmm5, %xmm5, %xmm5 ; lea CT_END-16, %rax ; vmaskmovps %ymm1, %ymm5, (%rax) ; ENDC

/* ---- MXCSR through VEX; rounding modes, FTZ/DAZ ---- */
CASE avx_vstmxcsr, KA        ; vstmxcsr 4(%rsi) ; ENDC
CASE avx_vldmxcsr_reserved_gp, KA ; pushq $0x11f80 ; vldmxcsr (%rsp) ; ENDC
.irp mx, 0x3f80, 0x5f80, 0x7f80, 0x9fc0, 0x1fbf
CASE avx_mxcsr_\mx\()_vaddpd, KA ; pushq $\mx ; vldmxcsr (%rsp) ; vaddpd %ymm1, %ymm0, %ymm3 ; vstmxcsr (%rsp) ; popq %rax ; ENDC
CASE avx_mxcsr_\mx\()_vdivps, KA ; pushq $\mx ; vldmxcsr (%rsp) ; vdivps %ymm1, %ymm0, %ymm3 ; ENDC
CASE avx_mxcsr_\mx\()_vcvtps2dq, KA ; pushq $\mx ; vldmxcsr (%rsp) ; vcvtps2dq %ymm1, %ymm3 ; vcvtpd2ps %ymm0, %xmm4 ; ENDC
CASE avx_mxcsr_\mx\()_vsqrtps, KA ; pushq $\mx ; vldmxcsr (%rsp) ; vsqrtps %ymm1, %ymm3 ; ENDC
.endr
/* Unmasked exceptions: #XM, nothing written (the upper lanes too). */
CASE avx_vdivpd_unmasked_xm, KA ; pushq $0x1d00 ; vldmxcsr (%rsp) ; vdivpd %ymm1, %ymm0, %ymm3 ; ENDC
CASE avx_vaddps_unmasked_inv_xm, KA ; pushq $0x1f00 ; vldmxcsr (%rsp) ; vaddps %ymm1, %ymm0, %ymm0 ; ENDC

/* ---- faults ---- */
/* A 32-byte access crossing the end of memory: #PF at CT_END, the
 * destination (or the memory before the end) untouched. */
CASE avx_vmovdqu_ld_pf, KA   ; lea CT_END-16, %rax ; vmovdqu (%rax), %ymm0 ; ENDC
CASE avx_vmovups_st_pf, KA   ; lea CT_END-16, %rax ; vmovups %ymm1, (%rax) ; ENDC
CASE avx_vaddps_m_pf, KA     ; lea CT_END-8, %rax ; vaddps (%rax), %ymm0, %ymm0 ; ENDC
CASE avx_vbroadcastsd_pf, KA ; lea CT_END-4, %rax ; vbroadcastsd (%rax), %ymm0 ; ENDC
/* VEX relaxes alignment except for the aligned moves: 16-aligned is not
 * 32-aligned. */
CASE avx_vaddps_unaligned, KA ; vaddps 1(%rsi), %ymm0, %ymm3 ; ENDC
CASE avx_vmovaps_y_gp, KA    ; vmovaps 16(%rbp), %ymm3 ; ENDC
CASE avx_vmovaps_x_gp, KA    ; vmovaps 8(%rbp), %xmm3 ; ENDC
CASE avx_vmovntdq_gp, KA     ; vmovntdq %ymm0, 16(%rsi) ; ENDC
/* Encodings that must raise #UD: a legacy prefix (66, F2, F3, LOCK) or REX
 * before VEX, VEX.L=1 where only 128 bits exist, vvvv != 1111 where it is
 * unused. */
CASE avx_ud_66_vex, KA       ; .byte 0x66, 0xc5, 0xf8, 0x58, 0xc1 ; ENDC
CASE avx_ud_f3_vex, KA       ; .byte 0xf3, 0xc5, 0xf8, 0x58, 0xc1 ; ENDC
CASE avx_ud_lock_vex, KA     ; .byte 0xf0, 0xc5, 0xf8, 0x58, 0x06 ; ENDC
CASE avx_ud_rex_vex, KA      ; .byte 0x48, 0xc5, 0xf8, 0x58, 0xc1 ; ENDC
CASE avx_ud_vmovd_l1, KA     ; .byte 0xc5, 0xfd, 0x6e, 0xc0 ; ENDC
CASE avx_ud_vmovaps_vvvv, KA ; .byte 0xc5, 0xb8, 0x28, 0xc1 ; ENDC
CASE avx_vzeroupper_wig, KA  ; vaddps %ymm1, %ymm0, %ymm3 ; .byte 0xc4, 0xe1, 0xf8, 0x77 ; ENDC
CASE avx_ud_map0, KA         ; .byte 0xc4, 0xe0, 0x78, 0x58, 0xc1 ; ENDC
/* VEX.W is ignored where the SDM says WIG. */
CASE avx_vaddps_wig, KA      ; .byte 0xc4, 0xe1, 0xfc, 0x58, 0xc1 ; ENDC
/* Three-byte VEX with the two-byte form's meaning, R/X/B inverted. */
CASE avx_vaddps_vex3_rex, KA ; .byte 0xc4, 0x41, 0x04, 0x58, 0xd9 ; ENDC

/* Translated float forms (jit_vex.c): flags raised by several forms in one
 * block accumulate in MXCSR; scalar memory operands crossing the end of
 * memory fault; a scalar form with VEX.L=1 (LIG) runs its handler; a
 * rounding mode or an unmasked exception set inside the block sends the
 * next forms to their handlers. */
CASE avx_fp_flags_chain, KA  ; vmulps %ymm0, %ymm0, %ymm3 ; vaddps %ymm1, %ymm3, %ymm4 ; vsqrtpd %ymm1, %ymm5 ; vdivsd %xmm1, %xmm0, %xmm6 ; vcmpps $0x11, %ymm1, %ymm0, %ymm7 ; ENDC
CASE avx_vaddsd_m_pf, KA     ; lea CT_END-4, %rax ; vaddsd (%rax), %xmm0, %xmm0 ; ENDC
CASE avx_vcvtss2sd_m_pf, KA  ; lea CT_END-2, %rax ; vcvtss2sd (%rax), %xmm0, %xmm3 ; ENDC
CASE avx_vcvtss2sd_m, KA     ; vcvtss2sd 16(%rsi), %xmm0, %xmm3 ; vcvtsd2ss 16(%rsi), %xmm1, %xmm4 ; ENDC
CASE avx_vcvtsi2ss_r64, KA   ; vcvtsi2ss %rcx, %xmm0, %xmm3 ; vcvtsi2sd %r9d, %xmm1, %xmm12 ; ENDC
CASE avx_vcvtsi2ssq_m64, KA  ; vcvtsi2ssq 8(%rsi), %xmm1, %xmm3 ; vcvtsi2sdq 8(%rsi), %xmm0, %xmm4 ; ENDC
CASE avx_vcvtsi2sdq_m_pf, KA ; lea CT_END-4, %rax ; vcvtsi2sdq (%rax), %xmm0, %xmm3 ; ENDC
CASE avx_vaddss_l1_lig, KA   ; .byte 0xc5, 0xfe, 0x58, 0xd9 ; ENDC
CASE avx_fp_round_mid_block, KA ; vaddps %ymm1, %ymm0, %ymm3 ; pushq $0x7f80 ; vldmxcsr (%rsp) ; vmulpd %ymm1, %ymm0, %ymm4 ; vcvtps2dq %ymm0, %ymm5 ; vhaddps %ymm1, %ymm0, %ymm6 ; popq %rax ; ENDC
/* The guest clears the flags a translated form raised (the host's MXCSR
 * still has them): the next form reports only its own. */
CASE avx_fp_flags_cleared_mid_block, KA ; vmulps %ymm0, %ymm1, %ymm3 ; pushq $0x1f80 ; vldmxcsr (%rsp) ; vmaxps %ymm1, %ymm1, %ymm4 ; popq %rax ; ENDC
CASE avx_sse_flags_cleared_mid_block, KA ; mulss %xmm0, %xmm1 ; vdivpd %ymm1, %ymm0, %ymm5 ; pushq $0x1f80 ; ldmxcsr (%rsp) ; maxsd %xmm0, %xmm0 ; popq %rax ; ENDC
CASE avx_fp_unmasked_mid_block, KA ; vaddpd %ymm1, %ymm0, %ymm3 ; pushq $0x1f00 ; vldmxcsr (%rsp) ; vcmpps $0x11, %ymm1, %ymm0, %ymm4 ; popq %rax ; ENDC

        .section .note.GNU-stack,"",@progbits
