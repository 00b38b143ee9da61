/* VEX-encoded integer forms for the differential test (tests/cpu/cpu_diff.c):
 * the 128-bit forms are AVX (K_AVX), the 256-bit ones and the new
 * instructions (variable shifts, permutes across lanes, broadcasts from a
 * register, gathers) AVX2 (K_AVX2).  Inputs as in cases_avx.S. */
#include "case_macros.h"

        .text

#define KA K_SSE|K_AVX
#define K2 K_SSE|K_AVX2

/* dest = xmm0 op xmm1: VEX.128 (AVX) and VEX.256 (AVX2). */
.macro VI op
CASE avx2_\op\()_x, KA        ; \op %xmm1, %xmm0, %xmm3 ; ENDC
CASE avx2_\op\()_xm, KA       ; \op 16(%rsi), %xmm0, %xmm3 ; ENDC
CASE avx2_\op\()_y, K2        ; \op %ymm1, %ymm0, %ymm3 ; ENDC
CASE avx2_\op\()_ym, K2       ; \op 16(%rsi), %ymm0, %ymm3 ; ENDC
CASE avx2_\op\()_yrex, K2     ; \op %ymm9, %ymm14, %ymm11 ; ENDC
.endm
.macro VI2 op
CASE avx2_\op\()_x, KA        ; \op %xmm1, %xmm3 ; ENDC
CASE avx2_\op\()_y, K2        ; \op %ymm1, %ymm3 ; ENDC
CASE avx2_\op\()_ym, K2       ; \op 16(%rsi), %ymm3 ; ENDC
.endm
.macro VII op, imm
CASE avx2_\op\()_\imm\()_x, KA  ; \op $\imm, %xmm1, %xmm0, %xmm3 ; ENDC
CASE avx2_\op\()_\imm\()_y, K2  ; \op $\imm, %ymm1, %ymm0, %ymm3 ; ENDC
.endm
.macro VI2I op, imm
CASE avx2_\op\()_\imm\()_x, KA  ; \op $\imm, %xmm1, %xmm3 ; ENDC
CASE avx2_\op\()_\imm\()_y, K2  ; \op $\imm, %ymm1, %ymm3 ; ENDC
.endm

/* ---- what glibc's AVX2 string functions use first ---- */
.irp op, vpcmpeqb, vpcmpeqw, vpcmpeqd, vpcmpeqq, vpcmpgtb, vpcmpgtw, vpcmpgtd, vpcmpgtq
VI \op
.endr
.irp op, vpminub, vpmaxub, vpminsw, vpmaxsw, vpminsb, vpmaxsb, vpminuw, vpmaxuw, vpminsd, vpmaxsd, vpminud, vpmaxud
VI \op
.endr
.irp op, vpand, vpandn, vpor, vpxor, vpshufb, vpsubb, vpaddb, vpavgb, vpsadbw
VI \op
.endr
CASE avx2_vpmovmskb_y, K2     ; vpmovmskb %ymm0, %eax ; ENDC
CASE avx2_vpmovmskb_yrex, K2  ; vpmovmskb %ymm9, %r10d ; ENDC
.irp imm, 0, 1, 4, 7, 8, 15, 16, 20, 31, 32
VII vpalignr, \imm
.endr
/* What strlen/memchr's AVX2 loops look like: compare, min, mask, test. */
CASE avx2_strlen_step, K2|K_BMI1|R_LZCNT ; vpxor %xmm5, %xmm5, %xmm5 ; vpcmpeqb (%rsi), %ymm5, %ymm6 ; vpmovmskb %ymm6, %eax ; tzcnt %eax, %eax ; ENDC
CASE avx2_memchr_step, K2     ; vpbroadcastb %xmm1, %ymm5 ; vpcmpeqb 1(%rsi), %ymm5, %ymm6 ; vpminub %ymm6, %ymm0, %ymm7 ; vptest %ymm7, %ymm7 ; setz %al ; ENDC

/* ---- arithmetic, saturation ---- */
.irp op, vpaddw, vpaddd, vpaddq, vpsubw, vpsubd, vpsubq, vpaddusb, vpaddusw, vpaddsb, vpaddsw, vpsubusb, vpsubusw, vpsubsb, vpsubsw
VI \op
.endr
.irp op, vpmullw, vpmulhw, vpmulhuw, vpmuludq, vpmaddwd, vpavgw, vpmulld, vpmuldq, vpmaddubsw, vpmulhrsw
VI \op
.endr
.irp op, vpsignb, vpsignw, vpsignd, vphaddw, vphaddd, vphaddsw, vphsubw, vphsubd, vphsubsw
VI \op
.endr
.irp op, vpabsb, vpabsw, vpabsd
VI2 \op
.endr
.irp op, vpunpcklbw, vpunpcklwd, vpunpckldq, vpunpcklqdq, vpunpckhbw, vpunpckhwd, vpunpckhdq, vpunpckhqdq
VI \op
.endr
.irp op, vpacksswb, vpackuswb, vpackssdw, vpackusdw
VI \op
.endr

/* ---- shifts: by xmm count (>= width gives 0 or all signs), immediate,
 * and per-element variable counts (AVX2) ---- */
.irp op, vpsllw, vpslld, vpsllq, vpsrlw, vpsrld, vpsrlq, vpsraw, vpsrad
CASE avx2_\op\()_x, KA        ; \op %xmm1, %xmm0, %xmm3 ; ENDC
CASE avx2_\op\()_y, K2        ; \op %xmm1, %ymm0, %ymm3 ; ENDC
CASE avx2_\op\()_ym, K2       ; \op 16(%rsi), %ymm0, %ymm3 ; ENDC
CASE avx2_\op\()_small_y, K2  ; vmovq %rcx, %xmm2 ; \op %xmm2, %ymm0, %ymm3 ; ENDC
CASE avx2_\op\()_imm1_y, K2   ; \op $1, %ymm0, %ymm3 ; ENDC
CASE avx2_\op\()_imm15_x, KA  ; \op $15, %xmm0, %xmm3 ; ENDC
CASE avx2_\op\()_imm33_y, K2  ; \op $33, %ymm0, %ymm3 ; ENDC
CASE avx2_\op\()_imm64_y, K2  ; \op $64, %ymm0, %ymm3 ; ENDC
.endr
.irp op, vpsllvd, vpsllvq, vpsrlvd, vpsrlvq, vpsravd
CASE avx2_\op\()_x, K2        ; \op %xmm1, %xmm0, %xmm3 ; ENDC
CASE avx2_\op\()_y, K2        ; \op %ymm1, %ymm0, %ymm3 ; ENDC
CASE avx2_\op\()_ym, K2       ; \op 16(%rsi), %ymm0, %ymm3 ; ENDC
/* Counts 0..127 (some in range, some >= width). */
CASE avx2_\op\()_small_y, K2  ; vpabsb %ymm1, %ymm2 ; vpsrlw $9, %ymm2, %ymm2 ; \op %ymm2, %ymm0, %ymm3 ; ENDC
.endr
.irp imm, 0, 1, 7, 8, 15, 16
CASE avx2_vpslldq_\imm\()_y, K2 ; vpslldq $\imm, %ymm0, %ymm3 ; ENDC
CASE avx2_vpsrldq_\imm\()_y, K2 ; vpsrldq $\imm, %ymm0, %ymm3 ; ENDC
CASE avx2_vpsrldq_\imm\()_x, KA ; vpsrldq $\imm, %xmm0, %xmm3 ; ENDC
.endr

/* ---- shuffles, blends, permutes, broadcasts ---- */
.irp imm, 0x00, 0x1b, 0x4e, 0xb1, 0xff
VI2I vpshufd, \imm
VI2I vpshuflw, \imm
VI2I vpshufhw, \imm
.endr
.irp imm, 0x00, 0x5a, 0xa5, 0xff
VII vpblendw, \imm
.endr
CASE avx2_vpblendd_0x5a_x, K2 ; vpblendd $0x5a, %xmm1, %xmm0, %xmm3 ; ENDC
CASE avx2_vpblendd_0x96_y, K2 ; vpblendd $0x96, %ymm1, %ymm0, %ymm3 ; ENDC
CASE avx2_vpblendvb_y, K2     ; vpblendvb %ymm0, %ymm1, %ymm2, %ymm3 ; ENDC
CASE avx2_vpblendvb_ym, K2    ; vpblendvb %ymm1, 16(%rsi), %ymm0, %ymm3 ; ENDC
.irp imm, 0x00, 0x1b, 0x4e, 0xb1, 0xe4, 0xff
CASE avx2_vpermq_\imm, K2     ; vpermq $\imm, %ymm1, %ymm3 ; ENDC
CASE avx2_vpermpd_\imm, K2    ; vpermpd $\imm, %ymm0, %ymm3 ; ENDC
.endr
CASE avx2_vpermq_m, K2        ; vpermq $0x39, 16(%rsi), %ymm3 ; ENDC
CASE avx2_vpermd, K2          ; vpermd %ymm1, %ymm0, %ymm3 ; ENDC
CASE avx2_vpermps, K2         ; vpermps %ymm1, %ymm0, %ymm3 ; ENDC
CASE avx2_vpermd_m, K2        ; vpermd 16(%rsi), %ymm0, %ymm3 ; ENDC
.irp imm, 0x00, 0x01, 0x10, 0x20, 0x31, 0x13, 0x08, 0x80
CASE avx2_vperm2i128_\imm, K2 ; vperm2i128 $\imm, %ymm1, %ymm0, %ymm3 ; ENDC
.endr
CASE avx2_vinserti128_1, K2   ; vinserti128 $1, %xmm1, %ymm0, %ymm3 ; ENDC
CASE avx2_vinserti128_m, K2   ; vinserti128 $0, 16(%rsi), %ymm0, %ymm3 ; ENDC
CASE avx2_vextracti128_1, K2  ; vextracti128 $1, %ymm0, %xmm3 ; ENDC
CASE avx2_vextracti128_m, K2  ; vextracti128 $1, %ymm1, 4(%rsi) ; ENDC
CASE avx2_vbroadcasti128, K2  ; vbroadcasti128 16(%rsi), %ymm3 ; ENDC
.irp op, vpbroadcastb, vpbroadcastw, vpbroadcastd, vpbroadcastq
CASE avx2_\op\()_x, K2        ; \op %xmm1, %xmm3 ; ENDC
CASE avx2_\op\()_y, K2        ; \op %xmm1, %ymm3 ; ENDC
CASE avx2_\op\()_ym, K2       ; \op 17(%rsi), %ymm3 ; ENDC
.endr
CASE avx2_vbroadcastss_reg_y, K2 ; vbroadcastss %xmm1, %ymm3 ; ENDC
CASE avx2_vbroadcastsd_reg_y, K2 ; vbroadcastsd %xmm0, %ymm3 ; ENDC
.irp op, vpmovzxbw, vpmovzxbd, vpmovzxbq, vpmovzxwd, vpmovzxwq, vpmovzxdq, vpmovsxbw, vpmovsxbd, vpmovsxbq, vpmovsxwd, vpmovsxwq, vpmovsxdq
CASE avx2_\op\()_x, KA        ; \op %xmm1, %xmm3 ; ENDC
CASE avx2_\op\()_y, K2        ; \op %xmm1, %ymm3 ; ENDC
CASE avx2_\op\()_ym, K2       ; \op 16(%rsi), %ymm3 ; ENDC
.endr
VII vmpsadbw, 0
VII vmpsadbw, 0x2d
CASE avx2_vphminposuw, KA     ; vphminposuw %xmm1, %xmm3 ; ENDC

/* ---- element moves through GPRs (VEX.128 only) ---- */
CASE avx2_vpextrb, KA         ; vpextrb $5, %xmm0, %eax ; ENDC
CASE avx2_vpextrw, KA         ; vpextrw $7, %xmm1, %eax ; ENDC
CASE avx2_vpextrd_m, KA       ; vpextrd $1, %xmm0, 4(%rsi) ; ENDC
CASE avx2_vpextrq, KA         ; vpextrq $1, %xmm0, %rbx ; ENDC
CASE avx2_vpinsrb, KA         ; vpinsrb $9, %eax, %xmm0, %xmm3 ; ENDC
CASE avx2_vpinsrw, KA         ; vpinsrw $3, %ebx, %xmm1, %xmm3 ; ENDC
CASE avx2_vpinsrd_m, KA       ; vpinsrd $2, 4(%rsi), %xmm0, %xmm3 ; ENDC
CASE avx2_vpinsrq, KA         ; vpinsrq $1, %rax, %xmm1, %xmm3 ; ENDC

/* ---- SSE4.2 string compares, VEX.128 only ---- */
.irp imm, 0x00, 0x0c, 0x18, 0x1a, 0x3a, 0x44, 0x4c, 0x70
CASE avx2_vpcmpistri_\imm, KA ; vpcmpistri $\imm, %xmm1, %xmm0 ; ENDC
CASE avx2_vpcmpistrm_\imm, KA ; vpcmpistrm $\imm, %xmm1, %xmm0 ; ENDC
CASE avx2_vpcmpestri_\imm, KA ; and $31, %eax ; and $31, %edx ; vpcmpestri $\imm, %xmm1, %xmm0 ; ENDC
CASE avx2_vpcmpestrm_\imm, KA ; and $15, %eax ; and $31, %edx ; vpcmpestrm $\imm, %xmm1, %xmm0 ; ENDC
.endr
CASE avx2_vpcmpistri_m, KA    ; vpcmpistri $0x1a, 16(%rsi), %xmm0 ; ENDC
CASE avx2_ud_vpcmpistri_l1, KA ; .byte 0xc4, 0xe3, 0x7d, 0x63, 0xc1, 0x0c ; ENDC

/* ---- non-temporal and whole-register loads ---- */
CASE avx2_vmovntdqa_x, KA     ; vmovntdqa 16(%rsi), %xmm3 ; ENDC
CASE avx2_vmovntdqa_y, K2     ; vmovntdqa 64(%rsi), %ymm3 ; ENDC
CASE avx2_vmovntdqa_y_gp, K2  ; vmovntdqa 16(%rsi), %ymm3 ; ENDC
CASE avx2_vlddqu_x, KA        ; vlddqu 3(%rsi), %xmm3 ; ENDC
CASE avx2_vpslldq_3_x, KA     ; vpslldq $3, %xmm0, %xmm3 ; ENDC
CASE avx2_vmovmskpd_x, KA     ; vmovmskpd %xmm1, %eax ; ENDC
CASE avx2_vcvttss2si_r32, KA  ; vcvttss2si %xmm0, %eax ; ENDC
CASE avx2_vcvtsd2ss_m, KA     ; vcvtsd2ss 16(%rsi), %xmm0, %xmm3 ; ENDC

/* ---- masked integer moves ---- */
CASE avx2_vpmaskmovd_ld_y, K2 ; vpmaskmovd 16(%rsi), %ymm1, %ymm3 ; ENDC
CASE avx2_vpmaskmovq_ld_x, K2 ; vpmaskmovq 8(%rsi), %xmm0, %xmm3 ; ENDC
CASE avx2_vpmaskmovd_st_y, K2 ; vpmaskmovd %ymm1, %ymm0, 4(%rsi) ; ENDC
CASE avx2_vpmaskmovq_st_y, K2 ; vpmaskmovq %ymm0, %ymm1, 4(%rsi) ; ENDC

/* ---- gathers: indices 0..15 from xmm1/ymm1, mask from xmm0/ymm0's sign
 * bits; the mask register is cleared, lanes with the mask bit clear keep
 * the destination ---- */
.macro GATHER name, insn, isz
CASE avx2_\name, K2
        mov $15, %eax
        vmovd %eax, %xmm2
        vpbroadcast\isz %xmm2, %ymm2
        vpand %ymm1, %ymm2, %ymm2
        vmovdqa %ymm0, %ymm4
        \insn
ENDC
.endm
GATHER vpgatherdd_x, "vpgatherdd %xmm4, (%rsi,%xmm2,4), %xmm3", d
GATHER vpgatherdd_y, "vpgatherdd %ymm4, (%rsi,%ymm2,4), %ymm3", d
GATHER vpgatherdq_y, "vpgatherdq %ymm4, 8(%rsi,%xmm2,8), %ymm3", d
GATHER vpgatherqd_y, "vpgatherqd %xmm4, (%rsi,%ymm2,4), %xmm3", q
GATHER vpgatherqq_y, "vpgatherqq %ymm4, -8(%rsi,%ymm2,8), %ymm3", q
GATHER vgatherdps_y, "vgatherdps %ymm4, (%rsi,%ymm2,4), %ymm3", d
GATHER vgatherdpd_x, "vgatherdpd %xmm4, (%rsi,%xmm2,2), %xmm3", d
GATHER vgatherqps_x, "vgatherqps %xmm4, 4(%rsi,%xmm2,1), %xmm3", q
GATHER vgatherqpd_y, "vgatherqpd %ymm4, (%rsi,%ymm2,8), %ymm3", q
/* An index past the end of memory under the highest set mask bit (lanes
 * 0-3 on, 4-7 off): #PF, the elements to its right gathered and their mask
 * bits cleared (the SDM leaves those to its left open: none here). */
CASE avx2_vpgatherdd_pf, K2
        vpcmpeqd %xmm4, %xmm4, %xmm4
        vpxor %xmm2, %xmm2, %xmm2
        mov $0x7ffffff, %eax
        vpinsrd $3, %eax, %xmm2, %xmm2
        vpgatherdd %ymm4, (%rsi,%ymm2,4), %ymm3
ENDC
/* #UD: the mask, index and destination must be three different registers. */
CASE avx2_ud_vpgatherdd_same, K2 ; .byte 0xc4, 0xe2, 0x61, 0x90, 0x1c, 0x9e ; ENDC

        .section .note.GNU-stack,"",@progbits
