/* VEX-encoded host instructions for the translator's jit_vex.c: AVX/AVX2
 * vector forms on XMM/YMM registers and the BMI general-register forms,
 * always with the three-byte prefix (C4).  Encodings follow the Intel SDM
 * volume 2, section 2.3; register and memory operands as in x86emit.h. */
#ifndef HOSTEL_EMU_X86EMIT_VEX_H
#define HOSTEL_EMU_X86EMIT_VEX_H

#include "engine/emu/x86emit.h"

enum { VM_0F = 1, VM_0F38 = 2, VM_0F3A = 3 };   /* VEX.mmmmm */
enum { VP_NONE, VP_66, VP_F3, VP_F2 };           /* VEX.pp: the implied prefix */

struct xvex {
    uint8_t map, pp;
    bool w, l;            /* VEX.W; VEX.L (256 bits) */
};

static inline struct xvex xv(unsigned map, unsigned pp, bool w, bool l)
{
    struct xvex v = { (uint8_t)map, (uint8_t)pp, w, l };
    return v;
}

/* C4, R X B mmmmm (inverted high register bits), W vvvv L pp (vvvv
 * inverted: a form without a VEX.vvvv operand passes 0). */
static inline uint8_t *e_vex_prefix(uint8_t *q, struct xvex v, int reg, int vvvv, int index, int base)
{
    q[0] = 0xc4;
    q[1] = (uint8_t)(((reg & 8) ? 0 : 0x80) | ((index >= 0 && (index & 8)) ? 0 : 0x40) |
                     ((base >= 0 && (base & 8)) ? 0 : 0x20) | v.map);
    q[2] = (uint8_t)((v.w ? 0x80 : 0) | ((~vvvv & 15) << 3) | (v.l ? 4 : 0) | v.pp);
    return q + 3;
}

/* op reg, vvvv, rm with a register rm; imm < 0: no imm8. */
static inline void x_vex_rr(struct xbuf *b, struct xvex v, uint8_t op, int reg, int vvvv, int rm, int imm)
{
    uint8_t *q = e_vex_prefix(x_room(b), v, reg, vvvv, XNONE, rm);
    *q++ = op;
    *q++ = (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7));
    if (imm >= 0)
        *q++ = (uint8_t)imm;
    b->p = q;
}

/* op reg, vvvv, [m]. */
static inline void x_vex_rm(struct xbuf *b, struct xvex v, uint8_t op, int reg, int vvvv, struct xmem m, int imm)
{
    uint8_t *q = e_vex_prefix(x_room(b), v, reg, vvvv, m.index, m.base == XRIP ? XNONE : m.base);
    *q++ = op;
    q = e_modrm_mem(b, q, reg, m, imm >= 0 ? 1 : 0);
    if (imm >= 0)
        *q++ = (uint8_t)imm;
    b->p = q;
}

/* vmovdqu xmm, m128 / m128, xmm (bits 255:128 of the host register: 0) */
static inline void x_vmovdqu_load(struct xbuf *b, int x, struct xmem m)
{
    x_vex_rm(b, xv(VM_0F, VP_F3, false, false), 0x6f, x, 0, m, -1);
}

static inline void x_vmovdqu_store(struct xbuf *b, struct xmem m, int x)
{
    x_vex_rm(b, xv(VM_0F, VP_F3, false, false), 0x7f, x, 0, m, -1);
}

/* vinserti128 ymm, ymm, m128, 1: bits 255:128 from memory */
static inline void x_vinserti128_hi(struct xbuf *b, int y, struct xmem m)
{
    x_vex_rm(b, xv(VM_0F3A, VP_66, false, true), 0x38, y, y, m, 1);
}

/* vextracti128 m128, ymm, 1 */
static inline void x_vextracti128_hi(struct xbuf *b, struct xmem m, int y)
{
    x_vex_rm(b, xv(VM_0F3A, VP_66, false, true), 0x39, y, 0, m, 1);
}

/* vzeroupper: after host code that used bits 255:128, so the C code the
 * translation calls pays no SSE/AVX transition. */
static inline void x_vzeroupper(struct xbuf *b)
{
    uint8_t *q = x_room(b);
    q[0] = 0xc5;
    q[1] = 0xf8;
    q[2] = 0x77;
    b->p = q + 3;
}

#endif
