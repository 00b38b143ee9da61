/* The SSE unit of emu: registration of every SSE/MMX opcode, MXCSR exception
 * handling, and the 0F AE group (FXSAVE/FXRSTOR, LDMXCSR/STMXCSR, fences,
 * CLFLUSH, FS/GS base access) plus MOVNTI. */
#include "engine/emu/sse.h"

_Noreturn void emu_sse_ud(struct emu_cpu *c, const struct emu_insn *i)
{
    (void)i;
    emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
}

void sse_fp_flags(struct emu_cpu *c, uint32_t flags)
{
    uint32_t masks = c->mxcsr >> 7, pre = flags & 0x7;   /* IE, DE, ZE */
    uint32_t unmasked;
    /* An unmasked invalid/denormal/zero-divide operand stops the instruction
     * before it computes: no element reports OE, UE or PE. */
    if (pre & ~masks)
        flags = pre;
    /* Known gap: on an unmasked overflow/underflow fault hardware reports PE
     * for the bias-adjusted result, here it comes from the masked run (they
     * differ when the adjusted result is exact). */
    unmasked = flags & ~masks & MXCSR_FLAGS;
    c->mxcsr |= flags;
    if (unmasked)
        emu_raise(c, (c->cr4 & CR4_OSXMMEXCPT) ? EXC_XM : EXC_UD, EMU_NO_ERRCODE);
}

/* ---- FXSAVE / FXRSTOR (the 512-byte legacy area, shared with XSAVE) ---- */

unsigned sse_xmm_count(const struct emu_cpu *c)
{
    return c->mode == MODE_LONG64 ? 16 : 8;
}

/* The x87 part of the legacy area: bytes 0-23 (MXCSR excluded) and 32-159.
 * wide: REX.W, the 64-bit FIP/FDP form. */
void sse_legacy_put_x87(const struct emu_cpu *c, uint8_t *img, bool wide)
{
    uint16_t w;
    uint32_t d;
    memset(img, 0, 24);
    memset(img + 32, 0, 128);
    w = c->x87.fcw;
    memcpy(img + 0, &w, 2);
    w = emu_x87_fsw(c);
    memcpy(img + 2, &w, 2);
    img[4] = emu_x87_abridged_tags(c);
    memcpy(img + 6, &c->x87.fop, 2);
    if (wide) {
        memcpy(img + 8, &c->x87.fip, 8);
        memcpy(img + 16, &c->x87.fdp, 8);
    } else {
        d = (uint32_t)c->x87.fip;
        memcpy(img + 8, &d, 4);
        d = (uint32_t)c->x87.fdp;
        memcpy(img + 16, &d, 4);
    }
    for (unsigned k = 0; k < 8; k++)
        memcpy(img + 32 + 16 * k, &c->x87.st[(c->x87.top + k) & 7], 10);
}

/* MXCSR and MXCSR_MASK (bytes 24-31). */
void sse_legacy_put_mxcsr(const struct emu_cpu *c, uint8_t *img)
{
    uint32_t d = MXCSR_VALID;
    memcpy(img + 24, &c->mxcsr, 4);
    memcpy(img + 28, &d, 4);
}

void sse_legacy_put_xmm(const struct emu_cpu *c, uint8_t *img)
{
    for (unsigned k = 0; k < sse_xmm_count(c); k++)
        memcpy(img + 160 + 16 * k, &c->xmm[k], 16);
}

void sse_legacy_get_x87(struct emu_cpu *c, const uint8_t *img, bool wide)
{
    uint16_t w;
    memcpy(&w, img + 0, 2);
    c->x87.fcw = emu_x87_fcw_norm(w);
    memcpy(&w, img + 2, 2);
    emu_x87_set_fsw(c, w);
    memcpy(&c->x87.fop, img + 6, 2);
    c->x87.fop &= 0x7ff;
    if (wide) {
        memcpy(&c->x87.fip, img + 8, 8);
        memcpy(&c->x87.fdp, img + 16, 8);
    } else {
        uint32_t d;
        memcpy(&d, img + 8, 4);
        c->x87.fip = d;
        memcpy(&d, img + 16, 4);
        c->x87.fdp = d;
    }
    for (unsigned k = 0; k < 8; k++) {
        long double *r = &c->x87.st[(c->x87.top + k) & 7];
        memset(r, 0, sizeof(*r));
        memcpy(r, img + 32 + 16 * k, 10);
    }
    emu_x87_set_abridged_tags(c, img[4]);
}

void sse_legacy_get_xmm(struct emu_cpu *c, const uint8_t *img)
{
    for (unsigned k = 0; k < sse_xmm_count(c); k++)
        memcpy(&c->xmm[k], img + 160 + 16 * k, 16);
}

static void fxsave(struct emu_cpu *c, const struct emu_insn *i)
{
    uint8_t img[416];
    uint64_t la;

    sse_check(c);
    la = sse_ea_aligned(c, i, 16);
    memset(img, 0, sizeof(img));
    sse_legacy_put_x87(c, img, i->rex & 8);
    sse_legacy_put_mxcsr(c, img);
    sse_legacy_put_xmm(c, img);
    sse_write_buf(c, la, img, 160 + 16 * sse_xmm_count(c));
}

static void fxrstor(struct emu_cpu *c, const struct emu_insn *i)
{
    uint8_t img[416];
    uint64_t la;
    uint32_t mx;

    sse_check(c);
    la = sse_ea_aligned(c, i, 16);
    sse_read_buf(c, la, img, 160 + 16 * sse_xmm_count(c));
    memcpy(&mx, img + 24, 4);
    if (mx & ~MXCSR_VALID)
        emu_raise(c, EXC_GP, 0);
    c->mxcsr = mx;
    sse_legacy_get_x87(c, img, i->rex & 8);
    sse_legacy_get_xmm(c, img);
}

static void ldmxcsr(struct emu_cpu *c, const struct emu_insn *i)
{
    uint32_t v;
    sse_check(c);
    v = (uint32_t)lin_read(c, emu_ea(c, i), 4);
    if (v & ~MXCSR_VALID)
        emu_raise(c, EXC_GP, 0);
    c->mxcsr = v;
}

static void stmxcsr(struct emu_cpu *c, const struct emu_insn *i)
{
    sse_check(c);
    lin_write(c, emu_ea(c, i), 4, c->mxcsr);
}

/* F3 0F AE /0../3 (mod 3): RDFSBASE, RDGSBASE, WRFSBASE, WRGSBASE */
static void fsgsbase(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned op = i->reg & 7, seg = (op & 1) ? S_GS : S_FS;
    unsigned size = (i->rex & 8) ? 8 : 4;
    if (c->mode != MODE_LONG64 || !(c->cr4 & CR4_FSGSBASE))
        emu_sse_ud(c, i);
    if (op < 2) {
        sse_set_gpr(c, i->rm, size, c->seg[seg].base);
    } else {
        uint64_t v = c->gpr[i->rm] & emu_size_mask(size);
        /* A non-canonical base is #GP. */
        if (!emu_canonical(v))
            emu_raise(c, EXC_GP, 0);
        c->seg[seg].base = v;
    }
}

static void h_0fae(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned op = i->reg & 7;
    int mp = sse_mp(i);
    if (i->mod == 3) {
        if (mp == MP_F3 && op < 4) {
            fsgsbase(c, i);
            return;
        }
        if (mp != MP_NONE)
            emu_sse_ud(c, i);
        switch (op) {
        case 5: __asm__ volatile("lfence" ::: "memory"); return;
        case 6: __asm__ volatile("mfence" ::: "memory"); return;
        case 7: __asm__ volatile("sfence" ::: "memory"); return;
        default: emu_sse_ud(c, i);
        }
    }
    if (mp != MP_NONE && !(mp == MP_66 && op == 7))
        emu_sse_ud(c, i);
    switch (op) {
    case 0: fxsave(c, i); return;
    case 1: fxrstor(c, i); return;
    case 2: ldmxcsr(c, i); return;
    case 3: stmxcsr(c, i); return;
    case 7:                  /* clflush / clflushopt: caches are coherent here */
        (void)emu_translate(c, emu_ea(c, i), 0);
        return;
    default:                 /* 4 XSAVE, 5 XRSTOR, 6 XSAVEOPT */
        emu_xsave_0fae(c, i);
    }
}

/* 0F C3: movnti m32/m64, r32/r64 */
static void h_movnti(struct emu_cpu *c, const struct emu_insn *i)
{
    unsigned size = (i->rex & 8) ? 8 : 4;
    if (i->mod == 3 || sse_mp(i) != MP_NONE)
        emu_sse_ud(c, i);
    lin_write(c, emu_ea(c, i), size, c->gpr[i->reg] & emu_size_mask(size));
}

void emu_sse_register(void)
{
    emu_sse_move_register();
    emu_sse_int_register();
    emu_sse_float_register();
    emu_sse_str_register();
    emu_ops[MAP_0F][0xae] = h_0fae;
    emu_ops[MAP_0F][0xc3] = h_movnti;
}
