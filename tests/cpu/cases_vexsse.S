/* AVX/AVX2 forms of emu's VEX lane driver (src/engine/emu/avx.c) and its
 * special forms (avx_move.c), for the differential test: 128-bit forms
 * (which zero bits 255:128), 256-bit forms, memory forms (unaligned), and
 * the #UD/#GP rules.  The larger AVX suites are cases_avx*.S. */
#include "case_macros.h"

        .text

.macro V3 op
CASE v_\op\()_x, K_SSE|K_HOSTAVX          ; \op %xmm1, %xmm0, %xmm2 ; ENDC
CASE v_\op\()_y, K_SSE|K_HOSTAVX          ; \op %ymm1, %ymm0, %ymm2 ; ENDC
CASE v_\op\()_ym, K_SSE|K_HOSTAVX         ; \op 1(%rsi), %ymm0, %ymm9 ; ENDC
CASE v_\op\()_xm, K_SSE|K_HOSTAVX         ; \op 3(%rsi), %xmm13, %xmm0 ; ENDC
.endm
.macro V3X op
CASE v_\op\()_x, K_SSE|K_HOSTAVX          ; \op %xmm1, %xmm0, %xmm2 ; ENDC
CASE v_\op\()_xm, K_SSE|K_HOSTAVX         ; \op 3(%rsi), %xmm13, %xmm0 ; ENDC
.endm
.macro V3I op, imm
CASE v_\op\()_x_\imm, K_SSE|K_HOSTAVX     ; \op $\imm, %xmm1, %xmm0, %xmm2 ; ENDC
CASE v_\op\()_y_\imm, K_SSE|K_HOSTAVX     ; \op $\imm, %ymm1, %ymm0, %ymm2 ; ENDC
CASE v_\op\()_ym_\imm, K_SSE|K_HOSTAVX    ; \op $\imm, 5(%rsi), %ymm0, %ymm11 ; ENDC
.endm
.macro V2 op
CASE v_\op\()_x, K_SSE|K_HOSTAVX          ; \op %xmm1, %xmm2 ; ENDC
CASE v_\op\()_y, K_SSE|K_HOSTAVX          ; \op %ymm1, %ymm2 ; ENDC
CASE v_\op\()_ym, K_SSE|K_HOSTAVX         ; \op 1(%rsi), %ymm12 ; ENDC
.endm
/* A scalar form with VEX.L = 1 (ignored): vaddss/vaddsd %xmm1, %xmm0, %xmm0. */
.macro VS name, pp
CASE v_\name, K_SSE|K_HOSTAVX              ; .byte 0xc5, 0xfc | (\pp), 0x58, 0xc1 ; ENDC
.endm

/* ---- float (AVX) ---- */
.irp op, vaddps, vaddpd, vsubps, vmulpd, vdivps, vminps, vmaxpd, vandps, vandnpd, vorps, vxorpd
V3 \op
.endr
.irp op, vunpcklps, vunpckhpd, vhaddps, vhsubpd, vaddsubps, vaddsubpd
V3 \op
.endr
.irp op, vaddss, vmulsd, vsubss, vdivsd, vminss, vmaxsd, vsqrtss, vsqrtsd
V3X \op
.endr
VS vaddss_lig, 2
VS vaddsd_lig, 3
.irp op, vsqrtps, vsqrtpd, vrcpps, vrsqrtps, vcvtdq2ps, vcvtps2dq, vcvttps2dq
V2 \op
.endr
V3I vshufps, 0x1b
V3I vshufpd, 0x5
V3I vblendps, 0xa5
V3I vblendpd, 0x6
V3I vdpps, 0xf1
CASE v_vroundps_y, K_SSE|K_HOSTAVX        ; vroundps $1, %ymm1, %ymm2 ; ENDC
CASE v_vroundsd_x, K_SSE|K_HOSTAVX        ; vroundsd $2, %xmm1, %xmm0, %xmm2 ; ENDC
CASE v_vucomiss, K_SSE|K_HOSTAVX          ; vucomiss %xmm1, %xmm0 ; ENDC
CASE v_vcomisd_m, K_SSE|K_HOSTAVX         ; vcomisd 16(%rsi), %xmm0 ; ENDC
CASE v_vucomisd_reg, K_SSE|K_HOSTAVX      ; vucomisd %xmm1, %xmm2 ; ENDC
CASE v_vcomiss_reg_m, K_SSE|K_HOSTAVX     ; vcomiss 16(%rsi), %xmm5 ; ENDC
CASE v_vcomisd_same, K_SSE|K_HOSTAVX      ; vcomisd %xmm3, %xmm3 ; ENDC
CASE v_vcvtss2sd, K_SSE|K_HOSTAVX         ; vcvtss2sd %xmm1, %xmm0, %xmm2 ; ENDC
CASE v_vcvtsd2ss, K_SSE|K_HOSTAVX         ; vcvtsd2ss %xmm1, %xmm0, %xmm2 ; ENDC

/* ---- integer (AVX2 at 256 bits) ---- */
.irp op, vpaddb, vpaddw, vpaddd, vpaddq, vpsubb, vpsubq, vpaddsb, vpsubusw
V3 \op
.endr
.irp op, vpcmpeqb, vpcmpeqw, vpcmpeqd, vpcmpeqq, vpcmpgtb, vpcmpgtq
V3 \op
.endr
.irp op, vpminub, vpmaxub, vpminsd, vpmaxsd, vpminuw, vpmaxsw, vpand, vpandn, vpor, vpxor
V3 \op
.endr
.irp op, vpunpcklbw, vpunpckhwd, vpunpckldq, vpunpckhqdq, vpacksswb, vpackuswb, vpackssdw, vpackusdw
V3 \op
.endr
.irp op, vpshufb, vpmaddubsw, vpmaddwd, vpmullw, vpmulhuw, vpmulld, vpmuludq, vpmuldq, vpsadbw, vpavgb
V3 \op
.endr
.irp op, vphaddd, vphsubw, vpsignb, vpmulhrsw
V3 \op
.endr
.irp op, vpsllw, vpslld, vpsllq, vpsrlw, vpsrld, vpsrlq, vpsraw, vpsrad
CASE v_\op\()_cnt_x, K_SSE|K_HOSTAVX      ; \op %xmm3, %xmm0, %xmm2 ; ENDC
CASE v_\op\()_cnt_y, K_SSE|K_HOSTAVX      ; \op %xmm3, %ymm0, %ymm2 ; ENDC
CASE v_\op\()_cnt_small, K_SSE|K_HOSTAVX  ; vmovq %rcx, %xmm3 ; vpand 0(%rsi), %xmm3, %xmm4 ; \op %xmm8, %ymm0, %ymm2 ; ENDC
.endr
.irp op, vpsllw, vpslld, vpsllq, vpsrlw, vpsrld, vpsrlq, vpsraw, vpsrad, vpslldq, vpsrldq
CASE v_\op\()_imm_x, K_SSE|K_HOSTAVX      ; \op $3, %xmm1, %xmm2 ; ENDC
CASE v_\op\()_imm_y, K_SSE|K_HOSTAVX      ; \op $9, %ymm1, %ymm2 ; ENDC
.endr
V3I vpalignr, 5
V3I vpblendw, 0x5a
V3I vpblendd, 0x96
CASE v_vpshufd_y, K_SSE|K_HOSTAVX         ; vpshufd $0x1b, %ymm1, %ymm2 ; ENDC
CASE v_vpshufhw_y, K_SSE|K_HOSTAVX        ; vpshufhw $0x4e, %ymm1, %ymm2 ; ENDC
CASE v_vpshuflw_x, K_SSE|K_HOSTAVX        ; vpshuflw $0x4e, %xmm1, %xmm2 ; ENDC
CASE v_vpabsb_y, K_SSE|K_HOSTAVX          ; vpabsb %ymm1, %ymm2 ; ENDC
CASE v_vpabsd_x, K_SSE|K_HOSTAVX          ; vpabsd 2(%rsi), %xmm2 ; ENDC
CASE v_vpmovzxbw, K_SSE|K_HOSTAVX         ; vpmovzxbw %xmm1, %xmm2 ; ENDC
CASE v_vpmovsxdq_m, K_SSE|K_HOSTAVX       ; vpmovsxdq 4(%rsi), %xmm2 ; ENDC
CASE v_vpmovzxbq_m, K_SSE|K_HOSTAVX       ; vpmovzxbq 6(%rsi), %xmm2 ; ENDC

/* ---- moves ---- */
CASE v_vmovdqu_load_y, K_SSE|K_HOSTAVX    ; vmovdqu 1(%rsi), %ymm3 ; ENDC
CASE v_vmovdqu_load_x, K_SSE|K_HOSTAVX    ; vmovdqu 1(%rsi), %xmm3 ; ENDC
CASE v_vmovdqu_store_y, K_SSE|K_HOSTAVX   ; vmovdqu %ymm1, 3(%rdi) ; ENDC
CASE v_vmovdqu_rr_x, K_SSE|K_HOSTAVX      ; vmovdqu %xmm1, %xmm2 ; ENDC
CASE v_vmovdqa_load_y, K_SSE|K_HOSTAVX    ; vmovdqa (%rdi), %ymm3 ; ENDC
CASE v_vmovdqa_store_y, K_SSE|K_HOSTAVX   ; vmovdqa %ymm1, 32(%rdi) ; ENDC
CASE v_vmovdqa_gp, K_SSE|K_HOSTAVX        ; vmovdqa 16(%rdi), %ymm3 ; ENDC
CASE v_vmovdqa_store_gp, K_SSE|K_HOSTAVX  ; vmovdqa %xmm1, 8(%rdi) ; ENDC
CASE v_vmovups_y, K_SSE|K_HOSTAVX         ; vmovups 7(%rsi), %ymm5 ; ENDC
CASE v_vmovaps_x, K_SSE|K_HOSTAVX         ; vmovaps 16(%rsi), %xmm5 ; ENDC
CASE v_vmovapd_store, K_SSE|K_HOSTAVX     ; vmovapd %ymm1, (%rdi) ; ENDC
CASE v_vmovupd_rr_y, K_SSE|K_HOSTAVX      ; vmovupd %ymm1, %ymm14 ; ENDC
CASE v_vmovss_load, K_SSE|K_HOSTAVX       ; vmovss 4(%rsi), %xmm2 ; ENDC
CASE v_vmovsd_store, K_SSE|K_HOSTAVX      ; vmovsd %xmm1, 4(%rdi) ; ENDC
CASE v_vmovss_merge, K_SSE|K_HOSTAVX      ; vmovss %xmm1, %xmm0, %xmm2 ; ENDC
CASE v_vmovsd_merge11, K_SSE|K_HOSTAVX    ; .byte 0xc5, 0xfb, 0x11, 0xca ; ENDC
CASE v_vmovd_in, K_SSE|K_HOSTAVX          ; vmovd %eax, %xmm2 ; ENDC
CASE v_vmovq_in, K_SSE|K_HOSTAVX          ; vmovq %rbx, %xmm12 ; ENDC
CASE v_vmovd_out, K_SSE|K_HOSTAVX         ; vmovd %xmm1, %eax ; ENDC
CASE v_vmovq_out_m, K_SSE|K_HOSTAVX       ; vmovq %xmm1, 8(%rdi) ; ENDC
CASE v_vmovq_xx, K_SSE|K_HOSTAVX          ; vmovq %xmm1, %xmm2 ; ENDC
CASE v_vmovq_load, K_SSE|K_HOSTAVX        ; vmovq 4(%rsi), %xmm2 ; ENDC
CASE v_vlddqu_y, K_SSE|K_HOSTAVX          ; vlddqu 9(%rsi), %ymm2 ; ENDC
CASE v_vmovntdq_y, K_SSE|K_HOSTAVX        ; vmovntdq %ymm1, (%rdi) ; ENDC
CASE v_vmovntdqa_x, K_SSE|K_HOSTAVX       ; vmovntdqa (%rdi), %xmm4 ; ENDC
CASE v_vzeroupper, K_SSE|K_HOSTAVX        ; vzeroupper ; ENDC
CASE v_vzeroall, K_SSE|K_HOSTAVX          ; vzeroall ; ENDC

/* ---- masks, tests ---- */
CASE v_vpmovmskb_y, K_SSE|K_HOSTAVX       ; vpmovmskb %ymm1, %eax ; ENDC
CASE v_vpmovmskb_x, K_SSE|K_HOSTAVX       ; vpmovmskb %xmm1, %rax ; ENDC
CASE v_vmovmskps_y, K_SSE|K_HOSTAVX       ; vmovmskps %ymm1, %eax ; ENDC
CASE v_vmovmskpd_y, K_SSE|K_HOSTAVX       ; vmovmskpd %ymm1, %eax ; ENDC
CASE v_vptest_y, K_SSE|K_HOSTAVX          ; vptest %ymm1, %ymm0 ; ENDC
CASE v_vptest_x, K_SSE|K_HOSTAVX          ; vptest %xmm1, %xmm0 ; ENDC
CASE v_vptest_same, K_SSE|K_HOSTAVX       ; vptest %ymm1, %ymm1 ; ENDC
CASE v_vptest_m, K_SSE|K_HOSTAVX          ; vptest 2(%rsi), %ymm0 ; ENDC
CASE v_vtestps_y, K_SSE|K_HOSTAVX         ; vtestps %ymm1, %ymm0 ; ENDC
CASE v_vtestpd_x, K_SSE|K_HOSTAVX         ; vtestpd %xmm1, %xmm0 ; ENDC

/* ---- broadcasts, lanes, permutes ---- */
CASE v_vpbroadcastb_y, K_SSE|K_HOSTAVX    ; vpbroadcastb %xmm1, %ymm2 ; ENDC
CASE v_vpbroadcastw_x, K_SSE|K_HOSTAVX    ; vpbroadcastw 3(%rsi), %xmm2 ; ENDC
CASE v_vpbroadcastd_y, K_SSE|K_HOSTAVX    ; vpbroadcastd 5(%rsi), %ymm2 ; ENDC
CASE v_vpbroadcastq_y, K_SSE|K_HOSTAVX    ; vpbroadcastq %xmm1, %ymm2 ; ENDC
CASE v_vbroadcastss_y, K_SSE|K_HOSTAVX    ; vbroadcastss 4(%rsi), %ymm2 ; ENDC
CASE v_vbroadcastss_r, K_SSE|K_HOSTAVX    ; vbroadcastss %xmm1, %xmm2 ; ENDC
CASE v_vbroadcastsd_y, K_SSE|K_HOSTAVX    ; vbroadcastsd 8(%rsi), %ymm2 ; ENDC
CASE v_vbroadcastf128, K_SSE|K_HOSTAVX    ; vbroadcastf128 16(%rsi), %ymm2 ; ENDC
CASE v_vbroadcasti128, K_SSE|K_HOSTAVX    ; vbroadcasti128 1(%rsi), %ymm2 ; ENDC
CASE v_vinserti128_1, K_SSE|K_HOSTAVX     ; vinserti128 $1, %xmm1, %ymm0, %ymm2 ; ENDC
CASE v_vinsertf128_0m, K_SSE|K_HOSTAVX    ; vinsertf128 $0, 3(%rsi), %ymm0, %ymm2 ; ENDC
CASE v_vextracti128_1, K_SSE|K_HOSTAVX    ; vextracti128 $1, %ymm1, %xmm2 ; ENDC
CASE v_vextractf128_m, K_SSE|K_HOSTAVX    ; vextractf128 $1, %ymm1, 5(%rdi) ; ENDC
.irp imm, 0x20, 0x31, 0x03, 0x12, 0x88, 0x8a
CASE v_vperm2i128_\imm, K_SSE|K_HOSTAVX   ; vperm2i128 $\imm, %ymm1, %ymm0, %ymm2 ; ENDC
.endr
CASE v_vperm2f128_m, K_SSE|K_HOSTAVX      ; vperm2f128 $0x13, 1(%rsi), %ymm0, %ymm2 ; ENDC
CASE v_vpermq, K_SSE|K_HOSTAVX            ; vpermq $0x1b, %ymm1, %ymm2 ; ENDC
CASE v_vpermpd_m, K_SSE|K_HOSTAVX         ; vpermpd $0xd8, 1(%rsi), %ymm2 ; ENDC
CASE v_vpermd, K_SSE|K_HOSTAVX            ; vpermd %ymm1, %ymm0, %ymm2 ; ENDC
CASE v_vpermps, K_SSE|K_HOSTAVX           ; vpermps 2(%rsi), %ymm0, %ymm2 ; ENDC
.irp op, vpsllvd, vpsllvq, vpsrlvd, vpsrlvq, vpsravd
CASE v_\op\()_y, K_SSE|K_HOSTAVX          ; \op %ymm1, %ymm0, %ymm2 ; ENDC
CASE v_\op\()_small, K_SSE|K_HOSTAVX      ; vpbroadcastq %xmm1, %ymm4 ; vpsrlq $58, %ymm4, %ymm4 ; \op %ymm4, %ymm0, %ymm2 ; ENDC
CASE v_\op\()_x, K_SSE|K_HOSTAVX          ; \op %xmm1, %xmm0, %xmm2 ; ENDC
.endr

/* ---- #UD forms ---- */
CASE v_vperm2i128_l0_ud, K_SSE|K_HOSTAVX  ; .byte 0xc4, 0xe3, 0x79, 0x46, 0xd1, 0x20 ; ENDC
CASE v_vmovdqu_vvvv_ud, K_SSE|K_HOSTAVX   ; .byte 0xc5, 0xf2, 0x6f, 0xd1 ; ENDC
CASE v_vpmovmskb_mem_ud, K_SSE|K_HOSTAVX  ; .byte 0xc5, 0xfd, 0xd7, 0x06 ; ENDC
CASE v_vdppd_l1_ud, K_SSE|K_HOSTAVX       ; .byte 0xc4, 0xe3, 0x7d, 0x41, 0xd1, 0x31 ; ENDC

/* ---- more element moves ---- */
CASE v_own_vstmxcsr, K_SSE|K_HOSTAVX      ; vstmxcsr 4(%rdi) ; ENDC
CASE v_own_vldmxcsr, K_SSE|K_HOSTAVX      ; movl $0x7f80, 4(%rdi) ; vldmxcsr 4(%rdi) ; vaddps %ymm1, %ymm0, %ymm2 ; ENDC
CASE v_own_vldmxcsr_gp, K_SSE|K_HOSTAVX   ; movl $0x10000, 4(%rdi) ; vldmxcsr 4(%rdi) ; ENDC
CASE v_own_vdivpd_unmasked, K_SSE|K_HOSTAVX ; movl $0x1d00, 4(%rdi) ; vldmxcsr 4(%rdi) ; vdivpd %ymm1, %ymm0, %ymm3 ; ENDC
CASE v_own_vmovddup_x, K_SSE|K_HOSTAVX    ; vmovddup %xmm1, %xmm2 ; ENDC
CASE v_own_vmovddup_ym, K_SSE|K_HOSTAVX   ; vmovddup 3(%rsi), %ymm2 ; ENDC
CASE v_own_vmovddup_xm, K_SSE|K_HOSTAVX   ; vmovddup 3(%rsi), %xmm2 ; ENDC
CASE v_own_vmovsldup_y, K_SSE|K_HOSTAVX   ; vmovsldup %ymm1, %ymm2 ; ENDC
CASE v_own_vmovshdup_ym, K_SSE|K_HOSTAVX  ; vmovshdup 1(%rsi), %ymm2 ; ENDC
.irp imm, 0x1b, 0xb1, 0x4e
CASE v_own_vpermilps_\imm, K_SSE|K_HOSTAVX ; vpermilps $\imm, %ymm1, %ymm2 ; ENDC
.endr
.irp imm, 0x5, 0xa, 0x6, 0xf
CASE v_own_vpermilpd_\imm, K_SSE|K_HOSTAVX ; vpermilpd $\imm, %ymm1, %ymm2 ; ENDC
.endr
CASE v_own_vpermilpd_x, K_SSE|K_HOSTAVX   ; vpermilpd $1, 3(%rsi), %xmm2 ; ENDC
CASE v_own_vpermilps_v, K_SSE|K_HOSTAVX   ; vpermilps %ymm1, %ymm0, %ymm2 ; ENDC
CASE v_own_vpermilpd_v, K_SSE|K_HOSTAVX   ; vpermilpd 1(%rsi), %ymm0, %ymm2 ; ENDC
.irp op, vpmovsxbw, vpmovsxbd, vpmovsxbq, vpmovsxwd, vpmovsxwq, vpmovsxdq, vpmovzxbw, vpmovzxbd, vpmovzxbq, vpmovzxwd, vpmovzxwq, vpmovzxdq
CASE v_own_\op\()_y, K_SSE|K_HOSTAVX     ; \op %xmm1, %ymm2 ; ENDC
CASE v_own_\op\()_ym, K_SSE|K_HOSTAVX    ; \op 1(%rsi), %ymm2 ; ENDC
.endr
CASE v_own_vblendvps_y, K_SSE|K_HOSTAVX   ; vblendvps %ymm3, %ymm1, %ymm0, %ymm2 ; ENDC
CASE v_own_vblendvpd_x, K_SSE|K_HOSTAVX   ; vblendvpd %xmm0, 1(%rsi), %xmm1, %xmm2 ; ENDC
CASE v_own_vpblendvb_y, K_SSE|K_HOSTAVX   ; vpblendvb %ymm1, %ymm3, %ymm0, %ymm12 ; ENDC
.irp imm, 0x00, 0x1c, 0x4d, 0xf0, 0x3f
CASE v_own_vinsertps_\imm, K_SSE|K_HOSTAVX ; vinsertps $\imm, %xmm1, %xmm0, %xmm2 ; ENDC
CASE v_own_vinsertps_m_\imm, K_SSE|K_HOSTAVX ; vinsertps $\imm, 4(%rsi), %xmm0, %xmm2 ; ENDC
.endr
CASE v_own_vextractps_r, K_SSE|K_HOSTAVX  ; vextractps $2, %xmm1, %eax ; ENDC
CASE v_own_vextractps_m, K_SSE|K_HOSTAVX  ; vextractps $3, %xmm1, 2(%rdi) ; ENDC
CASE v_own_vpextrb, K_SSE|K_HOSTAVX       ; vpextrb $13, %xmm1, %eax ; ENDC
CASE v_own_vpextrw, K_SSE|K_HOSTAVX       ; vpextrw $5, %xmm1, %ecx ; ENDC
CASE v_own_vpextrw_m, K_SSE|K_HOSTAVX     ; vpextrw $7, %xmm1, 3(%rdi) ; ENDC
CASE v_own_vpextrd, K_SSE|K_HOSTAVX       ; vpextrd $3, %xmm1, %eax ; ENDC
CASE v_own_vpextrq, K_SSE|K_HOSTAVX       ; vpextrq $1, %xmm1, %rax ; ENDC
CASE v_own_vpinsrb, K_SSE|K_HOSTAVX       ; vpinsrb $9, %eax, %xmm0, %xmm2 ; ENDC
CASE v_own_vpinsrw, K_SSE|K_HOSTAVX       ; vpinsrw $3, %ebx, %xmm0, %xmm2 ; ENDC
CASE v_own_vpinsrd_m, K_SSE|K_HOSTAVX     ; vpinsrd $2, 1(%rsi), %xmm0, %xmm2 ; ENDC
CASE v_own_vpinsrq, K_SSE|K_HOSTAVX       ; vpinsrq $1, %rbx, %xmm0, %xmm2 ; ENDC

        .section .note.GNU-stack,"",@progbits
