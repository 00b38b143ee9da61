/* The XSAVE feature set of emu: XSAVE, XSAVEOPT, XSAVEC, XRSTOR (standard
 * and compacted forms), XGETBV and XSETBV over three state components:
 * x87 (0), SSE (1) and AVX (2, the upper halves of YMM0-15).  Layouts and
 * rules from the SDM, vol. 1 chapter 13; docs/emu-simd.md says what emu
 * tracks as "in use". */
#include "engine/emu/sse.h"

#define XF_X87 1ull
#define XF_SSE 2ull
#define XF_AVX 4ull

enum {
    XS_HEADER = 512,      /* XSTATE_BV, XCOMP_BV, 48 reserved bytes */
    XS_AVX = 576,         /* component 2 in both formats (nothing comes before it) */
    XS_AVX_SIZE = 256,
    XS_MAX = XS_AVX + XS_AVX_SIZE,
};
#define XCOMP_COMPACT (1ull << 63)

uint64_t emu_xcr0_supported(struct emu_cpu *c)
{
    uint32_t r[4];
    emu_cpuid(c, 0xd, 0, r);
    return (uint64_t)r[0] | (uint64_t)r[3] << 32;
}

/* XINUSE: a component is reported in use exactly when it differs from its
 * initial configuration (the SDM allows a CPU to report more).  For SSE
 * that is the XMM registers; XSAVEC also saves SSE for an MXCSR other than
 * 1F80H (compact), as Intel CPUs do. */
static uint64_t xinuse(const struct emu_cpu *c, bool compact)
{
    static const emu_xmm zero;
    uint64_t u = 0;
    const struct emu_x87 *x = &c->x87;
    bool x87 = x->fcw != 0x37f || emu_x87_fsw(c) != 0 || x->ftw != 0xffff || x->fop || x->fip ||
               x->fdp;
    for (unsigned k = 0; k < 8 && !x87; k++) {
        uint8_t img[10];
        memcpy(img, &x->st[k], 10);
        for (unsigned b = 0; b < 10; b++)
            x87 |= img[b] != 0;
    }
    if (x87)
        u |= XF_X87;
    bool sse = compact && c->mxcsr != 0x1f80, avx = false;
    for (unsigned k = 0; k < sse_xmm_count(c); k++) {
        sse |= memcmp(&c->xmm[k], &zero, 16) != 0;
        avx |= memcmp(&c->ymm_hi[k], &zero, 16) != 0;
    }
    if (sse)
        u |= XF_SSE;
    if (avx)
        u |= XF_AVX;
    return u;
}

/* What every instruction of the family checks first. */
static uint64_t xsave_prologue(struct emu_cpu *c, const struct emu_insn *i)
{
    if (!(c->cr4 & CR4_OSXSAVE) || i->mod == 3)
        emu_sse_ud(c, i);
    if (c->cr0 & CR0_TS)
        emu_raise(c, EXC_NM, EMU_NO_ERRCODE);
    uint64_t la = emu_ea(c, i);
    if (la & 63)
        emu_raise(c, EXC_GP, 0);
    return la;
}

static uint64_t rfbm(const struct emu_cpu *c)
{
    return c->xcr0 & (((uint64_t)(uint32_t)c->gpr[R_RDX] << 32) | (uint32_t)c->gpr[R_RAX]);
}

static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static uint64_t get64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static void put_avx(const struct emu_cpu *c, uint8_t *p)
{
    memset(p, 0, XS_AVX_SIZE);
    for (unsigned k = 0; k < sse_xmm_count(c); k++)
        memcpy(p + 16 * k, &c->ymm_hi[k], 16);
}

enum xsave_kind { XSAVE_STD, XSAVE_OPT, XSAVE_COMPACT };

/* XSAVE writes every requested component; XSAVEOPT and XSAVEC leave out
 * those in their initial configuration (the init optimization; emu has no
 * modified optimization).  Only the bytes a component owns are written. */
static void xsave(struct emu_cpu *c, const struct emu_insn *i, enum xsave_kind kind)
{
    uint64_t la = xsave_prologue(c, i);
    uint64_t rf = rfbm(c), inuse = xinuse(c, kind == XSAVE_COMPACT);
    uint64_t save = kind == XSAVE_STD ? rf : rf & inuse;
    bool wide = i->rex & 8;
    uint8_t img[XS_MAX], hdr[16];

    /* Faults first: the header is read (XSTATE_BV keeps bits outside RFBM)
     * before anything is written. */
    uint64_t bv = 0;
    if (kind != XSAVE_COMPACT) {
        sse_read_buf(c, la + XS_HEADER, hdr, 8);
        bv = get64(hdr);
    }
    bv = (bv & ~rf) | (rf & inuse);
    if (kind == XSAVE_COMPACT)
        bv &= rf;

    memset(img, 0, sizeof(img));
    if (save & XF_X87) {
        sse_legacy_put_x87(c, img, wide);
        sse_write_buf(c, la, img, 24);
        sse_write_buf(c, la + 32, img + 32, 128);
    }
    /* MXCSR belongs to SSE; XSAVE and XSAVEOPT also save it for AVX alone. */
    bool mx = kind == XSAVE_COMPACT ? (save & XF_SSE) != 0 : (rf & (XF_SSE | XF_AVX)) != 0;
    if (mx) {
        sse_legacy_put_mxcsr(c, img);
        sse_write_buf(c, la + 24, img + 24, 8);
    }
    if (save & XF_SSE) {
        sse_legacy_put_xmm(c, img);
        sse_write_buf(c, la + 160, img + 160, 16 * sse_xmm_count(c));
    }
    if (save & XF_AVX) {
        put_avx(c, img + XS_AVX);
        sse_write_buf(c, la + XS_AVX, img + XS_AVX, 16 * sse_xmm_count(c));
    }
    put64(hdr, bv);
    if (kind == XSAVE_COMPACT) {
        put64(hdr + 8, XCOMP_COMPACT | rf);
        sse_write_buf(c, la + XS_HEADER, hdr, 16);
    } else {
        sse_write_buf(c, la + XS_HEADER, hdr, 8);
    }
}

static void init_x87(struct emu_cpu *c)
{
    memset(&c->x87, 0, sizeof(c->x87));
    c->x87.fcw = 0x37f;
    c->x87.ftw = 0xffff;
}

/* XRSTOR: the standard form (XCOMP_BV = 0) or, with XCOMP_BV[63], the
 * compacted one.  Everything is read and checked before any register
 * changes. */
static void xrstor(struct emu_cpu *c, const struct emu_insn *i)
{
    uint64_t la = xsave_prologue(c, i);
    uint64_t rf = rfbm(c);
    bool wide = i->rex & 8;
    uint8_t img[XS_MAX];

    sse_read_buf(c, la + XS_HEADER, img + XS_HEADER, 64);
    uint64_t bv = get64(img + XS_HEADER), comp = get64(img + XS_HEADER + 8);
    bool compact = comp & XCOMP_COMPACT;
    if (compact) {
        /* Bytes 16-63 of the header must be 0 and XSTATE_BV within XCOMP_BV. */
        for (unsigned b = 16; b < 64; b++)
            if (img[XS_HEADER + b])
                emu_raise(c, EXC_GP, 0);
        if ((comp & ~XCOMP_COMPACT & ~c->xcr0) || (bv & ~comp))
            emu_raise(c, EXC_GP, 0);
    } else {
        for (unsigned b = 8; b < 24; b++)
            if (img[XS_HEADER + b])
                emu_raise(c, EXC_GP, 0);
        if (bv & ~c->xcr0)
            emu_raise(c, EXC_GP, 0);
    }
    sse_read_buf(c, la, img, 160 + 16 * sse_xmm_count(c));
    /* Component 2 sits at 576 in both forms (the compacted form places it
     * first, and only when XCOMP_BV has it). */
    bool load_avx = (rf & bv & XF_AVX) != 0;
    if (load_avx)
        sse_read_buf(c, la + XS_AVX, img + XS_AVX, 16 * sse_xmm_count(c));

    /* MXCSR: the standard form loads it for SSE or AVX whatever XSTATE_BV
     * says; the compacted form only with SSE's data, else 1F80H. */
    bool mx_load = compact ? (rf & bv & XF_SSE) != 0 : (rf & (XF_SSE | XF_AVX)) != 0;
    uint32_t mx = 0x1f80;
    if (mx_load) {
        memcpy(&mx, img + 24, 4);
        if (mx & ~MXCSR_VALID)
            emu_raise(c, EXC_GP, 0);
    }

    if (rf & XF_X87) {
        if (bv & XF_X87)
            sse_legacy_get_x87(c, img, wide);
        else
            init_x87(c);
    }
    if (rf & XF_SSE) {
        if (bv & XF_SSE)
            sse_legacy_get_xmm(c, img);
        else
            memset(c->xmm, 0, 16 * sse_xmm_count(c));
    }
    if (mx_load || (compact && (rf & XF_SSE)))
        c->mxcsr = mx;
    if (rf & XF_AVX) {
        if (load_avx) {
            for (unsigned k = 0; k < sse_xmm_count(c); k++)
                memcpy(&c->ymm_hi[k], img + XS_AVX + 16 * k, 16);
        } else {
            memset(c->ymm_hi, 0, 16 * sse_xmm_count(c));
        }
    }
}

void emu_xsave_0fae(struct emu_cpu *c, const struct emu_insn *i)
{
    switch (i->reg & 7) {
    case 4: xsave(c, i, XSAVE_STD); return;
    case 5: xrstor(c, i); return;
    case 6: xsave(c, i, XSAVE_OPT); return;
    default: emu_sse_ud(c, i);
    }
}

void emu_xsavec(struct emu_cpu *c, const struct emu_insn *i)
{
    xsave(c, i, XSAVE_COMPACT);
}

/* 0F 01 D0: XGETBV.  ECX = 1 (XINUSE) is not advertised: #GP. */
void emu_xgetbv(struct emu_cpu *c)
{
    if (!(c->cr4 & CR4_OSXSAVE))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    if ((uint32_t)c->gpr[R_RCX] != 0)
        emu_raise(c, EXC_GP, 0);
    c->gpr[R_RAX] = (uint32_t)c->xcr0;
    c->gpr[R_RDX] = c->xcr0 >> 32;
}

/* 0F 01 D1: XSETBV, CPL 0.  x87 must stay on, AVX needs SSE, and only what
 * CPUID 0xD.0 offers. */
void emu_xsetbv(struct emu_cpu *c)
{
    if (!(c->cr4 & CR4_OSXSAVE))
        emu_raise(c, EXC_UD, EMU_NO_ERRCODE);
    if (c->cpl != 0 || (uint32_t)c->gpr[R_RCX] != 0)
        emu_raise(c, EXC_GP, 0);
    uint64_t v = ((uint64_t)(uint32_t)c->gpr[R_RDX] << 32) | (uint32_t)c->gpr[R_RAX];
    if (!(v & XF_X87) || ((v & XF_AVX) && !(v & XF_SSE)) || (v & ~emu_xcr0_supported(c)))
        emu_raise(c, EXC_GP, 0);
    c->xcr0 = v;
}
