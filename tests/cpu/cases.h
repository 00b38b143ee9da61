/* Shared between the case tables (cases_*.S) and the differential runner:
 * how each case's undefined flags are computed, and the fixed memory layout
 * both the native run and the emu run use. */
#ifndef HOSTEL_CPU_CASES_H
#define HOSTEL_CPU_CASES_H

/* Guest (and native) addresses.  The native child maps exactly
 * [CT_BASE, CT_END); emu's RAM covers [0, CT_END), so accesses past CT_END
 * fault on both sides.  Snippets must not touch memory below CT_BASE. */
#define CT_BASE     0x10000000
#define CT_CODE     CT_BASE              /* one 512-byte slot per form */
#define CT_CODE_SZ  0x400000
#define CT_SLOT     0x200
#define CT_DATA     (CT_BASE + CT_CODE_SZ)
#define CT_DATA_SZ  0x2000
#define CT_STACK    (CT_DATA + CT_DATA_SZ)
#define CT_STACK_SZ 0x1000
#define CT_END      (CT_STACK + CT_STACK_SZ)

/* Undefined-flag rules (kind & 0xff); operand width in bits is kind >> 8. */
#define R_NONE    0
#define R_LOGIC   1   /* AF undefined */
#define R_MUL     2   /* SF ZF AF PF undefined */
#define R_DIV     3   /* all arithmetic flags undefined */
#define R_SHIFT   4   /* SHL/SHR/SAR: depends on the masked count */
#define R_ROT     5   /* ROL/ROR/RCL/RCR: OF undefined unless count == 1 */
#define R_SHD     6   /* SHLD/SHRD: like shifts; count > width: result undefined */
#define R_BT      7   /* OF SF AF PF undefined */
#define R_BSF     8   /* all but ZF undefined */
#define R_LZCNT   9   /* OF SF AF PF undefined */
#define R_ALL     10  /* all arithmetic flags undefined */
#define R_BMI     11  /* AF PF undefined (ANDN/BLSx/BZHI) */
#define R_BEXTR   12  /* AF SF PF undefined (BEXTR) */

#define W8   (8 << 8)
#define W16  (16 << 8)
#define W32  (32 << 8)
#define W64  (64 << 8)

/* Flags in the case's kind (bits 16+). */
#define K_SSE     (1 << 16)   /* initialise XMM registers with case values */
#define K_X87     (1 << 17)
#define K_NOSKIP  (1 << 18)   /* informational */
#define K_BMI1    (1 << 19)   /* needs BMI1 advertised by emu's CPUID */
#define K_FUZZ    (1 << 20)   /* a random instruction (small RCX) */
#define K_SMC     (1 << 21)   /* modifies its own code: restored before every run */
#define K_VENDOR  (1 << 22)   /* Intel and AMD differ (emu is Intel): compared on Intel hosts */
/* CPUID features a form needs (host and emu), see case_features[] in cpu_diff.c. */
#define K_BMI2    (1 << 23)
#define K_LZCNT   (1 << 24)
#define K_MOVBE   (1 << 25)
#define K_AVX     (1 << 26)   /* VEX-encoded: also needs the OS to save YMM (XCR0) */
#define K_AVX2    (1 << 27)
#define K_FMA     (1 << 28)
#define K_F16C    (1 << 29)
#define K_FEATURES (K_BMI2 | K_LZCNT | K_MOVBE | K_AVX | K_AVX2 | K_FMA | K_F16C)
/* VEX forms emu implements before it advertises them (cases_vexsse.S):
 * compared whenever the host runs AVX with its state enabled. */
#define K_HOSTAVX (1 << 30)

/* For R_SHIFT/R_ROT/R_SHD: the count comes from CL when arg is CNT_CL. */
#define CNT_CL    (-1)

#endif
