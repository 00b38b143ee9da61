/* Helpers shared by emu's AVX/AVX2 files (avx.c: VEX forms of the SSE
 * instructions, lane by lane; avx_move.c: moves, broadcasts, permutes,
 * masks).  A YMM register is xmm[r] (bits 127:0) and ymm_hi[r] (255:128). */
#ifndef HOSTEL_EMU_AVX_H
#define HOSTEL_EMU_AVX_H

#include "engine/emu/sse.h"

/* Inline: every VEX instruction runs these, most of them from the hot
 * string loops of glibc's AVX2 functions. */

/* #UD without CR4.OSXSAVE or XCR0 SSE|AVX, or in real mode; #NM with CR0.TS.
 * VEX needs the OS to manage SSE and AVX state: CR4.OSXSAVE and XCR0 with
 * both bits; CR0.TS is #NM as for SSE. */
static inline void avx_check(struct emu_cpu *c)
{
    if (c->mode == MODE_REAL || !(c->cr4 & CR4_OSXSAVE) || (c->xcr0 & 6) != 6)
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    if (c->cr0 & CR0_TS)
        emu_raise(c, EXC_NM, EMU_NO_ERRCODE);
}

/* The r/m operand: len bytes (16 or 32 from a register; any from memory,
 * which must be aligned to align when align is not 0). */
static inline void avx_src(struct emu_cpu *c, const struct emu_insn *i, void *out, unsigned len, unsigned align)
{
    if (i->mod == 3) {
        memcpy(out, &c->xmm[i->rm], len < 16 ? len : 16);
        if (len > 16)
            memcpy((uint8_t *)out + 16, &c->ymm_hi[i->rm], 16);
        return;
    }
    uint64_t la = emu_ea(c, i);
    if (align && (la & (align - 1)))
        emu_raise(c, EXC_GP, 0);
    sse_read_buf(c, la, out, len);
}

/* Writes a YMM register: hi NULL zeroes bits 255:128 (VEX.128 forms). */
static inline void avx_set(struct emu_cpu *c, unsigned r, const emu_xmm *lo, const emu_xmm *hi)
{
    c->xmm[r] = *lo;
    if (hi)
        c->ymm_hi[r] = *hi;
    else
        memset(&c->ymm_hi[r], 0, sizeof(emu_xmm));
}

void emu_avx_register(void);       /* avx.c, after the SSE handlers exist */
void emu_avx_move_register(void);  /* avx_move.c */
void emu_avx_fma_register(void);   /* avx_fma.c */
void emu_avx_f16c_register(void);  /* avx_f16c.c */

#endif
