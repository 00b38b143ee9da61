/* Helpers shared by emu's AVX/AVX2 files (avx.c: VEX forms of the SSE
 * instructions, lane by lane; avx_move.c: moves, broadcasts, permutes,
 * masks).  A YMM register is xmm[r] (bits 127:0) and ymm_hi[r] (255:128). */
#ifndef HOSTEL_EMU_AVX_H
#define HOSTEL_EMU_AVX_H

#include "engine/emu/sse.h"

/* #UD without CR4.OSXSAVE or XCR0 SSE|AVX, or in real mode; #NM with CR0.TS. */
void avx_check(struct emu_cpu *c);
/* The r/m operand: len bytes (16 or 32 from a register; any from memory,
 * which must be aligned to align when align is not 0). */
void avx_src(struct emu_cpu *c, const struct emu_insn *i, void *out, unsigned len, unsigned align);
/* Writes a YMM register: hi NULL zeroes bits 255:128 (VEX.128 forms). */
void avx_set(struct emu_cpu *c, unsigned r, const emu_xmm *lo, const emu_xmm *hi);

void emu_avx_register(void);       /* avx.c, after the SSE handlers exist */
void emu_avx_move_register(void);  /* avx_move.c */
void emu_avx_fma_register(void);   /* avx_fma.c */
void emu_avx_f16c_register(void);  /* avx_f16c.c */

#endif
