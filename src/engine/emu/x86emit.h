/* A small x86-64 instruction encoder for the translator (jit.c): the host
 * instructions it emits, into a byte buffer.  Only what jit.c needs:
 * register and [base + index*scale + disp32] / [rip + disp32] operands,
 * 8/16/32/64-bit forms, immediates, rel32 branches.  Encodings follow the
 * Intel SDM volume 2; an overflowing buffer is noticed, never overrun.
 *
 * Each host instruction checks for room once (x_room: 16 bytes, more than
 * the longest instruction) and writes its bytes through a local pointer,
 * the e_* encoders, which return where the next byte goes.  Once the
 * buffer is full, instructions go to the xbuf's own sink (overwritten by
 * each) and `full` tells the caller to discard the output.  (A check per
 * byte, through b->p in memory, cost 6% of a compiler's start under
 * emu: translating is most of a short program's time.) */
#ifndef HOSTEL_EMU_X86EMIT_H
#define HOSTEL_EMU_X86EMIT_H

#include <stdbool.h>
#include <stdint.h>
#include <string.h>

enum { XAX, XCX, XDX, XBX, XSP, XBP, XSI, XDI, X8, X9, X10, X11, X12, X13, X14, X15, XNONE = -1,
       XRIP = -2 };

struct xbuf {
    uint8_t *p, *end;     /* write position and end, in the writable view (end NULL once full) */
    intptr_t rx_delta;    /* executable address = writable address + rx_delta */
    bool full;            /* ran out of room: the caller discards the output */
    uint8_t sink[16];     /* where instructions go once full (x_room) */
};

#define X_ROOM 16         /* bytes x_room guarantees: any one instruction */

/* A memory operand: [base + index << scale + disp]; base XRIP is
 * RIP-relative to the absolute executable address `abs`. */
struct xmem {
    int8_t base, index;
    uint8_t scale;
    int32_t disp;
    uint64_t abs;
};

static inline struct xmem xm(int base, int32_t disp)
{
    struct xmem m = { (int8_t)base, XNONE, 0, disp, 0 };
    return m;
}

static inline struct xmem xmi(int base, int index, unsigned scale, int32_t disp)
{
    struct xmem m = { (int8_t)base, (int8_t)index, (uint8_t)scale, disp, 0 };
    return m;
}

static inline struct xmem xmrip(const void *abs)
{
    struct xmem m = { XRIP, XNONE, 0, 0, (uint64_t)(uintptr_t)abs };
    return m;
}

static inline uint64_t x_rx(const struct xbuf *b)
{
    return (uint64_t)((intptr_t)b->p + b->rx_delta);
}

static __attribute__((cold, unused)) uint8_t *x_overflow(struct xbuf *b)
{
    b->full = true;
    b->end = NULL;   /* every later x_room comes here too, also after a caller moves p back */
    b->p = b->sink;
    return b->sink;
}

/* Where the next instruction's bytes go: X_ROOM bytes of room. */
static inline uint8_t *x_room(struct xbuf *b)
{
    if (__builtin_expect((uintptr_t)b->p + X_ROOM > (uintptr_t)b->end, 0))
        return x_overflow(b);
    return b->p;
}

static inline uint8_t *e32(uint8_t *q, uint32_t v)
{
    memcpy(q, &v, 4);
    return q + 4;
}

static inline void x8(struct xbuf *b, uint8_t v)
{
    uint8_t *q = x_room(b);
    *q = v;
    b->p = q + 1;
}

static inline void x32(struct xbuf *b, uint32_t v)
{
    b->p = e32(x_room(b), v);
}

static inline void x64(struct xbuf *b, uint64_t v)
{
    uint8_t *q = x_room(b);
    memcpy(q, &v, 8);
    b->p = q + 8;
}

static inline bool x_fits32(int64_t v)
{
    return v == (int64_t)(int32_t)v;
}

/* Prefixes and REX: size 2 gives 66, size 8 REX.W; a byte operation on
 * registers 4-7 needs a REX so that they mean SPL..DIL, not AH..BH. */
static inline uint8_t *e_prefix(uint8_t *q, unsigned size, int reg, int index, int base, bool byteregs)
{
    if (size == 2)
        *q++ = 0x66;
    uint8_t rex = 0x40;
    if (size == 8) rex |= 8;
    if (reg >= 8) rex |= 4;
    if (index >= 8) rex |= 2;
    if (base >= 8) rex |= 1;
    bool force = byteregs && size == 1 && ((reg >= 4 && reg < 8) || (base >= 4 && base < 8));
    if (rex != 0x40 || force)
        *q++ = rex;
    return q;
}

static inline void x_prefix(struct xbuf *b, unsigned size, int reg, int index, int base, bool byteregs)
{
    b->p = e_prefix(x_room(b), size, reg, index, base, byteregs);
}

static inline uint8_t *e_ops(uint8_t *q, uint32_t op)
{
    /* op: 1 to 3 opcode bytes, the first in the lowest byte (0F xx as 0x..0f). */
    *q++ = (uint8_t)op;
    if ((op & 0xff) == 0x0f) {
        *q++ = (uint8_t)(op >> 8);
        if (((op >> 8) & 0xff) == 0x38 || ((op >> 8) & 0xff) == 0x3a)
            *q++ = (uint8_t)(op >> 16);
    }
    return q;
}

static inline void x_ops(struct xbuf *b, uint32_t op)
{
    b->p = e_ops(x_room(b), op);
}

/* ModRM (and SIB, displacement) for reg and the memory operand m; imm_len
 * bytes of immediate follow (RIP-relative displacements count them). */
static inline uint8_t *e_modrm_mem(struct xbuf *b, uint8_t *q, int reg, struct xmem m, unsigned imm_len)
{
    reg &= 7;
    if (m.base == XRIP) {
        *q++ = (uint8_t)((reg << 3) | 5);
        int64_t d = (int64_t)m.abs - ((intptr_t)q + b->rx_delta + 4 + (int64_t)imm_len);
        if (!x_fits32(d))
            b->full = true;   /* cannot happen: code and data are one reservation */
        return e32(q, (uint32_t)d);
    }
    int base = m.base, index = m.index;
    if (base == XNONE) {   /* [index*scale + disp32] or [disp32] */
        *q++ = (uint8_t)((reg << 3) | 4);
        *q++ = (uint8_t)((m.scale << 6) | ((index == XNONE ? 4 : index & 7) << 3) | 5);
        return e32(q, (uint32_t)m.disp);
    }
    unsigned mod = m.disp == 0 && (base & 7) != 5 ? 0 : (m.disp >= -128 && m.disp <= 127) ? 1 : 2;
    if (index == XNONE && (base & 7) != 4) {
        *q++ = (uint8_t)((mod << 6) | (reg << 3) | (base & 7));
    } else {
        *q++ = (uint8_t)((mod << 6) | (reg << 3) | 4);
        *q++ = (uint8_t)((m.scale << 6) | ((index == XNONE ? 4 : index & 7) << 3) | (base & 7));
    }
    if (mod == 1)
        *q++ = (uint8_t)(int8_t)m.disp;
    else if (mod == 2)
        q = e32(q, (uint32_t)m.disp);
    return q;
}

static inline void x_modrm_mem(struct xbuf *b, int reg, struct xmem m, unsigned imm_len)
{
    b->p = e_modrm_mem(b, x_room(b), reg, m, imm_len);
}

/* op reg, r/m (or r/m, reg): the generic shapes every instruction uses. */
static inline uint8_t *e_rr(uint8_t *q, unsigned size, uint32_t op, int reg, int rm)
{
    q = e_prefix(q, size, reg, XNONE, rm, true);
    q = e_ops(q, op);
    *q++ = (uint8_t)(0xc0 | ((reg & 7) << 3) | (rm & 7));
    return q;
}

static inline void x_rr(struct xbuf *b, unsigned size, uint32_t op, int reg, int rm)
{
    b->p = e_rr(x_room(b), size, op, reg, rm);
}

static inline uint8_t *e_rm(struct xbuf *b, uint8_t *q, unsigned size, uint32_t op, int reg, struct xmem m,
                            unsigned imm_len)
{
    q = e_prefix(q, size, reg, m.index, m.base == XRIP ? XNONE : m.base, true);
    q = e_ops(q, op);
    return e_modrm_mem(b, q, reg, m, imm_len);
}

static inline void x_rm(struct xbuf *b, unsigned size, uint32_t op, int reg, struct xmem m, unsigned imm_len)
{
    b->p = e_rm(b, x_room(b), size, op, reg, m, imm_len);
}

static inline uint8_t *e_imm(uint8_t *q, unsigned len, uint64_t v)
{
    if (len == 1) {
        *q++ = (uint8_t)v;
    } else if (len == 2) {
        *q++ = (uint8_t)v;
        *q++ = (uint8_t)(v >> 8);
    } else {
        q = e32(q, (uint32_t)v);
    }
    return q;
}

static inline void x_imm(struct xbuf *b, unsigned len, uint64_t v)
{
    b->p = e_imm(x_room(b), len, v);
}

/* ---- moves ---------------------------------------------------------------- */

static inline void x_mov_rr(struct xbuf *b, unsigned size, int dst, int src)
{
    x_rr(b, size, size == 1 ? 0x88 : 0x89, src, dst);
}

/* Loads: size 1 and 2 zero-extend (MOVZX), 4 zero-extends, 8. */
static inline void x_load(struct xbuf *b, unsigned size, int dst, struct xmem m)
{
    switch (size) {
    case 1: x_rm(b, 4, 0xb60f, dst, m, 0); break;
    case 2: x_rm(b, 4, 0xb70f, dst, m, 0); break;
    default: x_rm(b, size, 0x8b, dst, m, 0); break;
    }
}

/* A sign-extending load to 64 bits (MOVSX, MOVSXD). */
static inline void x_load_sx(struct xbuf *b, unsigned size, unsigned dsize, int dst, struct xmem m)
{
    switch (size) {
    case 1: x_rm(b, dsize, 0xbe0f, dst, m, 0); break;
    case 2: x_rm(b, dsize, 0xbf0f, dst, m, 0); break;
    case 4: x_rm(b, 8, 0x63, dst, m, 0); break;
    default: x_rm(b, 8, 0x8b, dst, m, 0); break;
    }
}

static inline void x_store(struct xbuf *b, unsigned size, struct xmem m, int src)
{
    x_rm(b, size, size == 1 ? 0x88 : 0x89, src, m, 0);
}

/* MOV size-byte m, imm (sign-extended imm32 for 8). */
static inline void x_store_imm(struct xbuf *b, unsigned size, struct xmem m, uint64_t imm)
{
    unsigned il = size == 8 ? 4 : size;
    uint8_t *q = e_rm(b, x_room(b), size, size == 1 ? 0xc6 : 0xc7, 0, m, il);
    b->p = e_imm(q, il, imm);
}

/* dst = imm (64-bit register; shortest encoding). */
static inline void x_mov_ri(struct xbuf *b, int dst, uint64_t imm)
{
    uint8_t *q = x_room(b);
    if (imm <= 0xffffffffULL) {
        q = e_prefix(q, 4, XNONE, XNONE, dst, false);
        *q++ = (uint8_t)(0xb8 + (dst & 7));
        q = e32(q, (uint32_t)imm);
    } else if (x_fits32((int64_t)imm)) {
        q = e_prefix(q, 8, XNONE, XNONE, dst, false);
        *q++ = 0xc7;
        *q++ = (uint8_t)(0xc0 | (dst & 7));
        q = e32(q, (uint32_t)imm);
    } else {
        q = e_prefix(q, 8, XNONE, XNONE, dst, false);
        *q++ = (uint8_t)(0xb8 + (dst & 7));
        memcpy(q, &imm, 8);
        q += 8;
    }
    b->p = q;
}

static inline void x_lea(struct xbuf *b, unsigned size, int dst, struct xmem m)
{
    x_rm(b, size, 0x8d, dst, m, 0);
}

/* ---- arithmetic ------------------------------------------------------------- */

/* ALU operations by number (ADD OR ADC SBB AND SUB XOR CMP), as the guest's. */
static inline void x_alu_rr(struct xbuf *b, unsigned size, int op, int dst, int src)
{
    x_rr(b, size, (uint32_t)((op << 3) | (size == 1 ? 0 : 1)), src, dst);
}

static inline void x_alu_rm(struct xbuf *b, unsigned size, int op, int dst, struct xmem m)
{
    x_rm(b, size, (uint32_t)((op << 3) | (size == 1 ? 2 : 3)), dst, m, 0);
}

static inline void x_alu_mr(struct xbuf *b, unsigned size, int op, struct xmem m, int src)
{
    x_rm(b, size, (uint32_t)((op << 3) | (size == 1 ? 0 : 1)), src, m, 0);
}

static inline void x_alu_ri(struct xbuf *b, unsigned size, int op, int dst, int64_t imm)
{
    uint8_t *q = x_room(b);
    if (size != 1 && imm >= -128 && imm <= 127) {
        q = e_rr(q, size, 0x83, op, dst);
        *q++ = (uint8_t)imm;
    } else {
        q = e_rr(q, size, size == 1 ? 0x80 : 0x81, op, dst);
        q = e_imm(q, size == 8 ? 4 : size, (uint64_t)imm);
    }
    b->p = q;
}

static inline void x_alu_mi(struct xbuf *b, unsigned size, int op, struct xmem m, int64_t imm)
{
    uint8_t *q = x_room(b);
    if (size != 1 && imm >= -128 && imm <= 127) {
        q = e_rm(b, q, size, 0x83, op, m, 1);
        *q++ = (uint8_t)imm;
    } else {
        unsigned il = size == 8 ? 4 : size;
        q = e_rm(b, q, size, size == 1 ? 0x80 : 0x81, op, m, il);
        q = e_imm(q, il, (uint64_t)imm);
    }
    b->p = q;
}

static inline void x_test_rr(struct xbuf *b, unsigned size, int a, int c)
{
    x_rr(b, size, size == 1 ? 0x84 : 0x85, c, a);
}

static inline void x_test_ri(struct xbuf *b, unsigned size, int a, uint64_t imm)
{
    uint8_t *q = e_rr(x_room(b), size, size == 1 ? 0xf6 : 0xf7, 0, a);
    b->p = e_imm(q, size == 8 ? 4 : size, imm);
}

/* F7 group: /2 NOT, /3 NEG. */
static inline void x_grp3(struct xbuf *b, unsigned size, int g, int r)
{
    x_rr(b, size, size == 1 ? 0xf6 : 0xf7, g, r);
}

/* FF group: /0 INC, /1 DEC. */
static inline void x_incdec(struct xbuf *b, unsigned size, bool dec, int r)
{
    x_rr(b, size, size == 1 ? 0xfe : 0xff, dec ? 1 : 0, r);
}

/* Shift group g by an immediate or by CL. */
static inline void x_shift_ri(struct xbuf *b, unsigned size, int g, int r, unsigned cnt)
{
    uint8_t *q = e_rr(x_room(b), size, size == 1 ? 0xc0 : 0xc1, g, r);
    *q = (uint8_t)cnt;
    b->p = q + 1;
}

static inline void x_shift_cl(struct xbuf *b, unsigned size, int g, int r)
{
    x_rr(b, size, size == 1 ? 0xd2 : 0xd3, g, r);
}

static inline void x_imul_rr(struct xbuf *b, unsigned size, int dst, int src)
{
    x_rr(b, size, 0xaf0f, dst, src);
}

static inline void x_imul_rri(struct xbuf *b, unsigned size, int dst, int src, int32_t imm)
{
    uint8_t *q = x_room(b);
    if (imm >= -128 && imm <= 127) {
        q = e_rr(q, size, 0x6b, dst, src);
        *q++ = (uint8_t)imm;
    } else {
        q = e_rr(q, size, 0x69, dst, src);
        q = e_imm(q, size == 2 ? 2 : 4, (uint64_t)(int64_t)imm);
    }
    b->p = q;
}

/* MOVZX/MOVSX/MOVSXD register forms; a byte source in 4-7 needs a REX so
 * that it means SPL..DIL. */
static inline void x_ext_rr(struct xbuf *b, unsigned dsize, uint32_t op, bool bytesrc, int dst, int src)
{
    uint8_t *q = x_room(b);
    if (dsize == 2)
        *q++ = 0x66;
    uint8_t rex = 0x40 | (dsize == 8 ? 8 : 0) | (dst >= 8 ? 4 : 0) | (src >= 8 ? 1 : 0);
    if (rex != 0x40 || (bytesrc && src >= 4 && src < 8))
        *q++ = rex;
    q = e_ops(q, op);
    *q++ = (uint8_t)(0xc0 | ((dst & 7) << 3) | (src & 7));
    b->p = q;
}

static inline void x_movzx_rr(struct xbuf *b, unsigned ssize, int dst, int src)
{
    x_ext_rr(b, 4, ssize == 1 ? 0xb60f : 0xb70f, ssize == 1, dst, src);
}

static inline void x_movsx_rr(struct xbuf *b, unsigned ssize, unsigned dsize, int dst, int src)
{
    if (ssize == 4)
        x_ext_rr(b, 8, 0x63, false, dst, src);
    else
        x_ext_rr(b, dsize, ssize == 1 ? 0xbe0f : 0xbf0f, ssize == 1, dst, src);
}

static inline void x_setcc(struct xbuf *b, unsigned cc, int r)
{
    uint8_t *q = e_prefix(x_room(b), 1, XNONE, XNONE, r, true);
    *q++ = 0x0f;
    *q++ = (uint8_t)(0x90 | cc);
    *q++ = (uint8_t)(0xc0 | (r & 7));
    b->p = q;
}

static inline void x_cmov(struct xbuf *b, unsigned size, unsigned cc, int dst, int src)
{
    x_rr(b, size, (uint32_t)(0x400f | (cc << 8)), dst, src);
}

static inline void x_bswap(struct xbuf *b, unsigned size, int r)
{
    uint8_t *q = e_prefix(x_room(b), size, XNONE, XNONE, r, false);
    *q++ = 0x0f;
    *q++ = (uint8_t)(0xc8 + (r & 7));
    b->p = q;
}

/* ---- control ---------------------------------------------------------------- */

/* A rel32 jump or Jcc; returns the position of its displacement for
 * x_patch32 (targets later in the code). */
static inline uint8_t *x_jmp32(struct xbuf *b)
{
    uint8_t *q = x_room(b);
    *q = 0xe9;
    b->p = e32(q + 1, 0);
    return q + 1;
}

static inline uint8_t *x_jcc32(struct xbuf *b, unsigned cc)
{
    uint8_t *q = x_room(b);
    q[0] = 0x0f;
    q[1] = (uint8_t)(0x80 | cc);
    b->p = e32(q + 2, 0);
    return q + 2;
}

/* Points the rel32 at `at` (written by x_jmp32/x_jcc32 into this buffer)
 * to the executable address target. */
static inline void x_patch32(struct xbuf *b, uint8_t *at, uint64_t target)
{
    if (!at || b->full || at + 4 > b->end)
        return;
    int64_t d = (int64_t)target - (int64_t)((uint64_t)((intptr_t)at + b->rx_delta) + 4);
    uint32_t v = (uint32_t)(int32_t)d;
    memcpy(at, &v, 4);
}

/* jmp/call to an absolute executable address within +-2 GiB. */
static inline void x_jmp_abs(struct xbuf *b, uint64_t target)
{
    uint8_t *at = x_jmp32(b);
    x_patch32(b, at, target);
}

static inline void x_jmp_mem(struct xbuf *b, struct xmem m)
{
    x_rm(b, 4, 0xff, 4, m, 0);
}

/* Calls a C function anywhere in the address space (through RAX). */
static inline void x_call_abs(struct xbuf *b, const void *fn)
{
    x_mov_ri(b, XAX, (uint64_t)(uintptr_t)fn);
    uint8_t *q = x_room(b);
    q[0] = 0xff;
    q[1] = 0xd0;
    b->p = q + 2;
}

#endif
