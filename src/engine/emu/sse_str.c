/* SSE4.2 string compares of emu: PCMPESTRI, PCMPESTRM, PCMPISTRI and
 * PCMPISTRM (glibc's strlen/strchr/strcmp family), with every aggregation
 * mode, polarity, element format and output selection of the immediate. */
#include "engine/emu/sse.h"

/* The elements of an operand as integers (signed formats sign-extended). */
static void elements(const emu_xmm *x, unsigned fmt, int32_t *out)
{
    switch (fmt & 3) {
    case 0: for (unsigned k = 0; k < 16; k++) out[k] = x->b[k]; break;
    case 1: for (unsigned k = 0; k < 8; k++) out[k] = x->w[k]; break;
    case 2: for (unsigned k = 0; k < 16; k++) out[k] = x->sb[k]; break;
    default: for (unsigned k = 0; k < 8; k++) out[k] = x->sw[k]; break;
    }
}

/* Explicit lengths: |EAX| / |EDX| (RAX/RDX with REX.W), saturated to n. */
static unsigned explicit_len(uint64_t v, bool wide, unsigned n)
{
    uint64_t a;
    if (wide)
        a = (int64_t)v < 0 ? 0 - v : v;
    else
        a = (int32_t)v < 0 ? (uint64_t)(0 - (int64_t)(int32_t)v) : (uint32_t)v;
    return a > n ? n : (unsigned)a;
}

static unsigned implicit_len(const int32_t *e, unsigned n)
{
    for (unsigned k = 0; k < n; k++)
        if (e[k] == 0)
            return k;
    return n;
}

/* Computes IntRes2 for set/needle a (xmm1, length la) and string b
 * (xmm2/m128, length lb). */
static unsigned pcmpstr_core(const int32_t *a, unsigned la, const int32_t *b, unsigned lb,
                             unsigned imm, unsigned n)
{
    unsigned agg = (imm >> 2) & 3, pol = (imm >> 4) & 3;
    unsigned res = 0, all = (1u << n) - 1;

    switch (agg) {
    case 0:   /* equal any: b[j] is one of the a[i] */
        for (unsigned j = 0; j < lb; j++)
            for (unsigned i = 0; i < la; i++)
                if (a[i] == b[j]) {
                    res |= 1u << j;
                    break;
                }
        break;
    case 1:   /* ranges: a holds pairs [lo, hi] */
        for (unsigned j = 0; j < lb; j++)
            for (unsigned i = 0; i + 1 < la; i += 2)
                if (b[j] >= a[i] && b[j] <= a[i + 1]) {
                    res |= 1u << j;
                    break;
                }
        break;
    case 2:   /* equal each: invalid against invalid is a match */
        for (unsigned j = 0; j < n; j++) {
            bool va = j < la, vb = j < lb;
            if ((!va && !vb) || (va && vb && a[j] == b[j]))
                res |= 1u << j;
        }
        break;
    default:  /* equal ordered: the needle a occurs at b[j] (may run past the end) */
        for (unsigned j = 0; j < n; j++) {
            bool match = true;
            /* needle ended: forced true; string ended first: false */
            for (unsigned i = 0; i < n - j && i < la && match; i++)
                if (j + i >= lb || a[i] != b[j + i])
                    match = false;
            if (match)
                res |= 1u << j;
        }
        break;
    }
    switch (pol) {
    case 1: res = ~res & all; break;
    case 3: res ^= (1u << lb) - 1; break;
    default: break;
    }
    return res & all;
}

static void pcmpstr(struct emu_cpu *c, const struct emu_insn *i, bool explicit, bool mask)
{
    unsigned imm = (uint8_t)i->imm, n = (imm & 1) ? 8 : 16, la, lb, res;
    emu_xmm b;
    int32_t ea[16], eb[16];
    uint64_t fl;
    if (sse_mp(i) != MP_66)
        emu_sse_ud(c, i);
    sse_check(c);
    sse_src128(c, i, &b, false);
    elements(&c->xmm[i->reg], imm, ea);
    elements(&b, imm, eb);
    if (explicit) {
        bool wide = i->rex & 8;
        la = explicit_len(c->gpr[R_RAX], wide, n);
        lb = explicit_len(c->gpr[R_RDX], wide, n);
    } else {
        la = implicit_len(ea, n);
        lb = implicit_len(eb, n);
    }
    res = pcmpstr_core(ea, la, eb, lb, imm, n);

    fl = emu_get_rflags(c) & ~(RFLAGS_CF | RFLAGS_PF | RFLAGS_AF | RFLAGS_ZF | RFLAGS_SF | RFLAGS_OF);
    if (res)
        fl |= RFLAGS_CF;
    if (lb < n)
        fl |= RFLAGS_ZF;
    if (la < n)
        fl |= RFLAGS_SF;
    if (res & 1)
        fl |= RFLAGS_OF;

    if (mask) {
        emu_xmm m;
        memset(&m, 0, sizeof(m));
        if (!(imm & 0x40))
            m.w[0] = res;
        else
            for (unsigned k = 0; k < n; k++)
                if (res & (1u << k)) {
                    if (n == 16)
                        m.b[k] = 0xff;
                    else
                        m.w[k] = 0xffff;
                }
        c->xmm[0] = m;
    } else {
        unsigned idx = n;
        if (res)
            idx = (imm & 0x40) ? 31 - __builtin_clz(res) : __builtin_ctz(res);
        c->gpr[R_RCX] = idx;
    }
    emu_set_rflags(c, fl);
}

static void h_pcmpestrm(struct emu_cpu *c, const struct emu_insn *i) { pcmpstr(c, i, true, true); }
static void h_pcmpestri(struct emu_cpu *c, const struct emu_insn *i) { pcmpstr(c, i, true, false); }
static void h_pcmpistrm(struct emu_cpu *c, const struct emu_insn *i) { pcmpstr(c, i, false, true); }
static void h_pcmpistri(struct emu_cpu *c, const struct emu_insn *i) { pcmpstr(c, i, false, false); }

void emu_sse_str_register(void)
{
    emu_handler *m3a = emu_ops[MAP_0F3A];
    m3a[0x60] = h_pcmpestrm;
    m3a[0x61] = h_pcmpestri;
    m3a[0x62] = h_pcmpistrm;
    m3a[0x63] = h_pcmpistri;
}
