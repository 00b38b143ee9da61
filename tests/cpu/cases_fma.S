/* FMA3 and F16C forms for the differential test (tests/cpu/cpu_diff.c):
 * every operand order (132, 213, 231) of every fused operation, packed in
 * 128 and 256 bits and scalar, register and memory; one rounding for the
 * fused result (checked against the host under every MXCSR rounding mode,
 * FTZ/DAZ and the NaN/denormal/infinity lanes of the inputs).  Inputs as in
 * cases_avx.S: xmm0/xmm1 edge lanes; xmm3 is random. */
#include "case_macros.h"

        .text

#define KF K_SSE|K_FMA
#define KH K_SSE|K_F16C

.macro FMAP op
CASE fma_\op\()_x, KF        ; \op %xmm1, %xmm0, %xmm3 ; ENDC
CASE fma_\op\()_y, KF        ; \op %ymm1, %ymm0, %ymm3 ; ENDC
CASE fma_\op\()_ym, KF       ; \op 16(%rsi), %ymm0, %ymm3 ; ENDC
CASE fma_\op\()_yrex, KF     ; \op %ymm9, %ymm14, %ymm11 ; ENDC
CASE fma_\op\()_yalias, KF   ; \op %ymm0, %ymm1, %ymm0 ; ENDC
.endm
.macro FMAS op
CASE fma_\op, KF             ; \op %xmm1, %xmm0, %xmm3 ; ENDC
CASE fma_\op\()_m, KF        ; \op 16(%rsi), %xmm0, %xmm3 ; ENDC
.endm

.irp op, vfmadd132ps, vfmadd132pd, vfmadd213ps, vfmadd213pd, vfmadd231ps, vfmadd231pd
FMAP \op
.endr
.irp op, vfmsub132ps, vfmsub132pd, vfmsub213ps, vfmsub213pd, vfmsub231ps, vfmsub231pd
FMAP \op
.endr
.irp op, vfnmadd132ps, vfnmadd132pd, vfnmadd213ps, vfnmadd213pd, vfnmadd231ps, vfnmadd231pd
FMAP \op
.endr
.irp op, vfnmsub132ps, vfnmsub132pd, vfnmsub213ps, vfnmsub213pd, vfnmsub231ps, vfnmsub231pd
FMAP \op
.endr
.irp op, vfmaddsub132ps, vfmaddsub132pd, vfmaddsub213ps, vfmaddsub213pd, vfmaddsub231ps, vfmaddsub231pd
FMAP \op
.endr
.irp op, vfmsubadd132ps, vfmsubadd132pd, vfmsubadd213ps, vfmsubadd213pd, vfmsubadd231ps, vfmsubadd231pd
FMAP \op
.endr
.irp op, vfmadd132ss, vfmadd132sd, vfmadd213ss, vfmadd213sd, vfmadd231ss, vfmadd231sd
FMAS \op
.endr
.irp op, vfmsub132ss, vfmsub132sd, vfmsub213ss, vfmsub213sd, vfmsub231ss, vfmsub231sd
FMAS \op
.endr
.irp op, vfnmadd132ss, vfnmadd132sd, vfnmadd213ss, vfnmadd213sd, vfnmadd231ss, vfnmadd231sd
FMAS \op
.endr
.irp op, vfnmsub132ss, vfnmsub132sd, vfnmsub213ss, vfnmsub213sd, vfnmsub231ss, vfnmsub231sd
FMAS \op
.endr
/* A fused multiply-add is rounded once: a*b+c with a*b exact only to 2x the
 * precision (1+2^-23)*(1-2^-23) - 1 = -2^-46, which an unfused sequence
 * rounds to 0. */
CASE fma_vfmadd_single_rounding, KF
        mov $0x3f800001, %eax ; vmovd %eax, %xmm3
        mov $0x3f7ffffe, %eax ; vmovd %eax, %xmm4
        mov $0xbf800000, %eax ; vmovd %eax, %xmm5
        vfmadd231ss %xmm4, %xmm3, %xmm5
        vmovd %xmm5, %eax
ENDC
.irp mx, 0x3f80, 0x5f80, 0x7f80, 0x9fc0, 0x1d00
CASE fma_mxcsr_\mx\()_vfmadd231pd, KF ; pushq $\mx ; vldmxcsr (%rsp) ; vfmadd231pd %ymm1, %ymm0, %ymm3 ; vstmxcsr (%rsp) ; popq %rax ; ENDC
CASE fma_mxcsr_\mx\()_vfnmsub132ss, KF ; pushq $\mx ; vldmxcsr (%rsp) ; vfnmsub132ss %xmm1, %xmm0, %xmm3 ; ENDC
.endr
CASE fma_vfmadd213ps_pf, KF  ; lea CT_END-16, %rax ; vfmadd213ps (%rax), %ymm0, %ymm3 ; ENDC

/* ---- F16C: half precision (denormals, NaNs, every rounding immediate,
 * and imm bit 2: MXCSR's mode) ---- */
CASE fma_vcvtph2ps_x, KH     ; vcvtph2ps %xmm1, %xmm3 ; ENDC
CASE fma_vcvtph2ps_y, KH     ; vcvtph2ps %xmm0, %ymm3 ; ENDC
CASE fma_vcvtph2ps_m, KH     ; vcvtph2ps 16(%rsi), %ymm3 ; ENDC
CASE fma_vcvtph2ps_rand, KH  ; vmovq %rax, %xmm2 ; vpinsrq $1, %rbx, %xmm2, %xmm2 ; vcvtph2ps %xmm2, %ymm3 ; ENDC
.irp imm, 0, 1, 2, 3, 4
CASE fma_vcvtps2ph_\imm\()_x, KH ; vcvtps2ph $\imm, %xmm1, %xmm3 ; ENDC
CASE fma_vcvtps2ph_\imm\()_y, KH ; vcvtps2ph $\imm, %ymm0, %xmm3 ; ENDC
.endr
CASE fma_vcvtps2ph_m, KH     ; vcvtps2ph $0, %ymm1, 4(%rsi) ; ENDC
CASE fma_vcvtps2ph_round_trip, KH ; vcvtps2ph $4, %ymm0, %xmm3 ; vcvtph2ps %xmm3, %ymm4 ; ENDC

/* Translated FMA3 (jit_vex.c): a memory operand crossing the end of memory
 * (#PF, the destination untouched); round toward zero and an unmasked
 * exception set in the block run the handlers. */
CASE fma_vfmadd231ps_m_pf, KF ; lea CT_END-8, %rax ; vfmadd231ps (%rax), %ymm0, %ymm3 ; ENDC
CASE fma_vfmadd213sd_m_pf, KF ; lea CT_END-4, %rax ; vfmadd213sd (%rax), %xmm0, %xmm3 ; ENDC
CASE fma_round_mid_block, KF ; vfmadd231pd %ymm1, %ymm0, %ymm3 ; pushq $0x7f80 ; vldmxcsr (%rsp) ; vfnmsub132ps %ymm1, %ymm0, %ymm4 ; popq %rax ; ENDC
CASE fma_unmasked_mid_block, KF ; vfmsub213ss %xmm1, %xmm0, %xmm3 ; pushq $0x1f00 ; vldmxcsr (%rsp) ; vfmadd132pd %ymm1, %ymm0, %ymm4 ; popq %rax ; ENDC

        .section .note.GNU-stack,"",@progbits
