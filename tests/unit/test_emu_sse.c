/* Differential tests of emu's SSE..SSE4.2 and MMX handlers against the host
 * CPU: every form runs from random states full of edge values (zeros,
 * denormals, infinities, NaNs, integer limits, rounding boundaries) with a
 * fixed seed, and must match bit for bit.  Also the faults (#GP on
 * misalignment, #UD, LDMXCSR reserved bits, unmasked exceptions). */
#include "check.h"
#include "emu_simd_diff.h"

enum {
    F_IMM = 1 << 0,      /* imm8 follows */
    F_NOMEM = 1 << 1,    /* register form only */
    F_NOREG = 1 << 2,    /* memory form only */
    F_GPR_RM = 1 << 3,   /* r/m is a general register */
    F_GPR_REG = 1 << 4,  /* reg is a general register */
    F_W = 1 << 5,        /* also with REX.W */
    F_MMX = 1 << 6,      /* both operands mm */
    F_MM_RM = 1 << 7,    /* r/m is mm, reg xmm */
    F_MM_REG = 1 << 8,   /* reg is mm, r/m xmm */
    F_GRP = 1 << 9,      /* reg field is the group selector grp */
    F_NOMODRM = 1 << 10,
};

struct spec {
    uint8_t pfx, map, op;
    uint8_t grp;
    uint16_t flags;
};

#define NP 0
#define M0F MAP_0F
#define M38 MAP_0F38
#define M3A MAP_0F3A

/* Moves, logic and packed integers: what glibc's string functions use. */
static const struct spec int_specs[] = {
    { NP, M0F, 0x10, 0, 0 }, { 0x66, M0F, 0x10, 0, 0 }, { 0xf3, M0F, 0x10, 0, 0 }, { 0xf2, M0F, 0x10, 0, 0 },
    { NP, M0F, 0x11, 0, 0 }, { 0x66, M0F, 0x11, 0, 0 }, { 0xf3, M0F, 0x11, 0, 0 }, { 0xf2, M0F, 0x11, 0, 0 },
    { NP, M0F, 0x12, 0, 0 }, { 0x66, M0F, 0x12, 0, F_NOREG }, { 0xf2, M0F, 0x12, 0, 0 }, { 0xf3, M0F, 0x12, 0, 0 },
    { NP, M0F, 0x13, 0, F_NOREG }, { 0x66, M0F, 0x13, 0, F_NOREG },
    { NP, M0F, 0x14, 0, 0 }, { 0x66, M0F, 0x14, 0, 0 }, { NP, M0F, 0x15, 0, 0 }, { 0x66, M0F, 0x15, 0, 0 },
    { NP, M0F, 0x16, 0, 0 }, { 0x66, M0F, 0x16, 0, F_NOREG }, { 0xf3, M0F, 0x16, 0, 0 },
    { NP, M0F, 0x17, 0, F_NOREG }, { 0x66, M0F, 0x17, 0, F_NOREG },
    { NP, M0F, 0x28, 0, 0 }, { 0x66, M0F, 0x28, 0, 0 }, { NP, M0F, 0x29, 0, 0 }, { 0x66, M0F, 0x29, 0, 0 },
    { NP, M0F, 0x2b, 0, F_NOREG }, { 0x66, M0F, 0x2b, 0, F_NOREG },
    { NP, M0F, 0x50, 0, F_NOMEM | F_GPR_REG }, { 0x66, M0F, 0x50, 0, F_NOMEM | F_GPR_REG },
    { NP, M0F, 0x54, 0, 0 }, { 0x66, M0F, 0x54, 0, 0 }, { NP, M0F, 0x55, 0, 0 }, { 0x66, M0F, 0x55, 0, 0 },
    { NP, M0F, 0x56, 0, 0 }, { 0x66, M0F, 0x56, 0, 0 }, { NP, M0F, 0x57, 0, 0 }, { 0x66, M0F, 0x57, 0, 0 },
    { NP, M0F, 0x6e, 0, F_MMX | F_GPR_RM | F_W }, { 0x66, M0F, 0x6e, 0, F_GPR_RM | F_W },
    { NP, M0F, 0x6f, 0, F_MMX }, { 0x66, M0F, 0x6f, 0, 0 }, { 0xf3, M0F, 0x6f, 0, 0 },
    { NP, M0F, 0x70, 0, F_MMX | F_IMM }, { 0x66, M0F, 0x70, 0, F_IMM }, { 0xf3, M0F, 0x70, 0, F_IMM },
    { 0xf2, M0F, 0x70, 0, F_IMM },
    { NP, M0F, 0x71, 2, F_MMX | F_GRP | F_IMM | F_NOMEM }, { NP, M0F, 0x71, 4, F_MMX | F_GRP | F_IMM | F_NOMEM },
    { NP, M0F, 0x71, 6, F_MMX | F_GRP | F_IMM | F_NOMEM }, { 0x66, M0F, 0x71, 2, F_GRP | F_IMM | F_NOMEM },
    { 0x66, M0F, 0x71, 4, F_GRP | F_IMM | F_NOMEM }, { 0x66, M0F, 0x71, 6, F_GRP | F_IMM | F_NOMEM },
    { NP, M0F, 0x72, 2, F_MMX | F_GRP | F_IMM | F_NOMEM }, { NP, M0F, 0x72, 4, F_MMX | F_GRP | F_IMM | F_NOMEM },
    { NP, M0F, 0x72, 6, F_MMX | F_GRP | F_IMM | F_NOMEM }, { 0x66, M0F, 0x72, 2, F_GRP | F_IMM | F_NOMEM },
    { 0x66, M0F, 0x72, 4, F_GRP | F_IMM | F_NOMEM }, { 0x66, M0F, 0x72, 6, F_GRP | F_IMM | F_NOMEM },
    { NP, M0F, 0x73, 2, F_MMX | F_GRP | F_IMM | F_NOMEM }, { NP, M0F, 0x73, 6, F_MMX | F_GRP | F_IMM | F_NOMEM },
    { 0x66, M0F, 0x73, 2, F_GRP | F_IMM | F_NOMEM }, { 0x66, M0F, 0x73, 3, F_GRP | F_IMM | F_NOMEM },
    { 0x66, M0F, 0x73, 6, F_GRP | F_IMM | F_NOMEM }, { 0x66, M0F, 0x73, 7, F_GRP | F_IMM | F_NOMEM },
    { NP, M0F, 0x7e, 0, F_MMX | F_GPR_RM | F_W }, { 0x66, M0F, 0x7e, 0, F_GPR_RM | F_W }, { 0xf3, M0F, 0x7e, 0, 0 },
    { NP, M0F, 0x7f, 0, F_MMX }, { 0x66, M0F, 0x7f, 0, 0 }, { 0xf3, M0F, 0x7f, 0, 0 },
    { NP, M0F, 0xc3, 0, F_NOREG | F_GPR_REG | F_W },
    { NP, M0F, 0xc4, 0, F_MMX | F_GPR_RM | F_IMM }, { 0x66, M0F, 0xc4, 0, F_GPR_RM | F_IMM },
    { NP, M0F, 0xc5, 0, F_MMX | F_GPR_REG | F_IMM | F_NOMEM }, { 0x66, M0F, 0xc5, 0, F_GPR_REG | F_IMM | F_NOMEM },
    { NP, M0F, 0xc6, 0, F_IMM }, { 0x66, M0F, 0xc6, 0, F_IMM },
    { 0x66, M0F, 0xd6, 0, 0 }, { 0xf3, M0F, 0xd6, 0, F_MM_RM | F_NOMEM }, { 0xf2, M0F, 0xd6, 0, F_MM_REG | F_NOMEM },
    { NP, M0F, 0xd7, 0, F_MMX | F_GPR_REG | F_NOMEM }, { 0x66, M0F, 0xd7, 0, F_GPR_REG | F_NOMEM },
    { NP, M0F, 0xe7, 0, F_MMX | F_NOREG }, { 0x66, M0F, 0xe7, 0, F_NOREG },
    { 0xf2, M0F, 0xf0, 0, F_NOREG },
    { NP, M0F, 0xae, 3, F_GRP | F_NOREG },                 /* stmxcsr */
    { 0x66, M38, 0x2a, 0, F_NOREG },
    { 0x66, M3A, 0x14, 0, F_GPR_RM | F_IMM }, { 0x66, M3A, 0x15, 0, F_GPR_RM | F_IMM },
    { 0x66, M3A, 0x16, 0, F_GPR_RM | F_IMM | F_W }, { 0x66, M3A, 0x17, 0, F_GPR_RM | F_IMM },
    { 0x66, M3A, 0x20, 0, F_GPR_RM | F_IMM }, { 0x66, M3A, 0x21, 0, F_IMM },
    { 0x66, M3A, 0x22, 0, F_GPR_RM | F_IMM | F_W },
    { 0x66, M3A, 0x0c, 0, F_IMM }, { 0x66, M3A, 0x0d, 0, F_IMM }, { 0x66, M3A, 0x0e, 0, F_IMM },
    { NP, M3A, 0x0f, 0, F_MMX | F_IMM }, { 0x66, M3A, 0x0f, 0, F_IMM }, { 0x66, M3A, 0x42, 0, F_IMM },
    { 0x66, M38, 0x10, 0, 0 }, { 0x66, M38, 0x14, 0, 0 }, { 0x66, M38, 0x15, 0, 0 }, { 0x66, M38, 0x17, 0, 0 },
};

/* The plain "op mm|xmm, mm|xmm/m" packed-integer opcodes, MMX and 66 forms. */
static const uint8_t int_ops_0f_mmx[] = {
    0x60, 0x61, 0x62, 0x63, 0x64, 0x65, 0x66, 0x67, 0x68, 0x69, 0x6a, 0x6b, 0x74, 0x75, 0x76,
    0xd1, 0xd2, 0xd3, 0xd4, 0xd5, 0xd8, 0xd9, 0xda, 0xdb, 0xdc, 0xdd, 0xde, 0xdf,
    0xe0, 0xe1, 0xe2, 0xe3, 0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xef,
    0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe,
};
static const uint8_t int_ops_0f_xmm[] = { 0x6c, 0x6d };
static const uint8_t int_ops_38_mmx[] = {
    0x00, 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08, 0x09, 0x0a, 0x0b, 0x1c, 0x1d, 0x1e,
};
static const uint8_t int_ops_38_xmm[] = {
    0x20, 0x21, 0x22, 0x23, 0x24, 0x25, 0x28, 0x29, 0x2b, 0x30, 0x31, 0x32, 0x33, 0x34, 0x35,
    0x37, 0x38, 0x39, 0x3a, 0x3b, 0x3c, 0x3d, 0x3e, 0x3f, 0x40, 0x41,
};

/* Floating point. */
static const struct spec float_specs[] = {
    { NP, M0F, 0x2a, 0, F_MM_RM }, { 0x66, M0F, 0x2a, 0, F_MM_RM },
    { 0xf3, M0F, 0x2a, 0, F_GPR_RM | F_W }, { 0xf2, M0F, 0x2a, 0, F_GPR_RM | F_W },
    { NP, M0F, 0x2c, 0, F_MM_REG }, { 0x66, M0F, 0x2c, 0, F_MM_REG },
    { 0xf3, M0F, 0x2c, 0, F_GPR_REG | F_W }, { 0xf2, M0F, 0x2c, 0, F_GPR_REG | F_W },
    { NP, M0F, 0x2d, 0, F_MM_REG }, { 0x66, M0F, 0x2d, 0, F_MM_REG },
    { 0xf3, M0F, 0x2d, 0, F_GPR_REG | F_W }, { 0xf2, M0F, 0x2d, 0, F_GPR_REG | F_W },
    { NP, M0F, 0x2e, 0, 0 }, { 0x66, M0F, 0x2e, 0, 0 }, { NP, M0F, 0x2f, 0, 0 }, { 0x66, M0F, 0x2f, 0, 0 },
    { NP, M0F, 0x52, 0, 0 }, { 0xf3, M0F, 0x52, 0, 0 }, { NP, M0F, 0x53, 0, 0 }, { 0xf3, M0F, 0x53, 0, 0 },
    { NP, M0F, 0x5b, 0, 0 }, { 0x66, M0F, 0x5b, 0, 0 }, { 0xf3, M0F, 0x5b, 0, 0 },
    { 0x66, M0F, 0x7c, 0, 0 }, { 0xf2, M0F, 0x7c, 0, 0 }, { 0x66, M0F, 0x7d, 0, 0 }, { 0xf2, M0F, 0x7d, 0, 0 },
    { NP, M0F, 0xc2, 0, F_IMM }, { 0x66, M0F, 0xc2, 0, F_IMM }, { 0xf3, M0F, 0xc2, 0, F_IMM },
    { 0xf2, M0F, 0xc2, 0, F_IMM },
    { 0x66, M0F, 0xd0, 0, 0 }, { 0xf2, M0F, 0xd0, 0, 0 },
    { 0x66, M0F, 0xe6, 0, 0 }, { 0xf3, M0F, 0xe6, 0, 0 }, { 0xf2, M0F, 0xe6, 0, 0 },
    { 0x66, M3A, 0x08, 0, F_IMM }, { 0x66, M3A, 0x09, 0, F_IMM }, { 0x66, M3A, 0x0a, 0, F_IMM },
    { 0x66, M3A, 0x0b, 0, F_IMM }, { 0x66, M3A, 0x40, 0, F_IMM }, { 0x66, M3A, 0x41, 0, F_IMM },
};
/* add, mul, sub, min, div, max, sqrt and the 5A conversions in all four forms */
static const uint8_t float_ops4[] = { 0x51, 0x58, 0x59, 0x5a, 0x5c, 0x5d, 0x5e, 0x5f };

static const struct spec str_specs[] = {
    { 0x66, M3A, 0x60, 0, F_IMM | F_W }, { 0x66, M3A, 0x61, 0, F_IMM | F_W },
    { 0x66, M3A, 0x62, 0, F_IMM }, { 0x66, M3A, 0x63, 0, F_IMM },
};

static unsigned pick_gpr(void)
{
    return test_gprs[rnd() % (sizeof(test_gprs) / sizeof(test_gprs[0]))];
}

/* Encodes a random instance of the form. */
static unsigned encode(const struct spec *sp, uint8_t *b)
{
    unsigned n = 0, reg, rm = 6, mod;
    uint8_t rex = 0;
    bool mem;
    if (sp->flags & F_NOMEM)
        mem = false;
    else if (sp->flags & F_NOREG)
        mem = true;
    else
        mem = rnd() % 2;
    if (sp->flags & F_GPR_REG)
        reg = pick_gpr();
    else if (sp->flags & (F_MMX | F_MM_REG))
        reg = rnd() % 8;
    else
        reg = rnd() % 16;
    if (sp->flags & F_GRP)
        reg = sp->grp;
    if (!mem) {
        if (sp->flags & F_GPR_RM)
            rm = pick_gpr();
        else if (sp->flags & (F_MMX | F_MM_RM))
            rm = rnd() % 8;
        else
            rm = rnd() % 16;
    }
    mod = mem ? 0 : 3;
    if ((sp->flags & F_W) && rnd() % 2)
        rex |= 0x48;
    if (reg >= 8)
        rex |= 0x44;
    if (!mem && rm >= 8)
        rex |= 0x41;
    if (sp->pfx)
        b[n++] = sp->pfx;
    if (rex)
        b[n++] = rex;
    if (sp->map != MAP_1)
        b[n++] = 0x0f;
    if (sp->map == MAP_0F38)
        b[n++] = 0x38;
    if (sp->map == MAP_0F3A)
        b[n++] = 0x3a;
    b[n++] = sp->op;
    if (sp->flags & F_NOMODRM)
        return n;
    b[n++] = (uint8_t)(mod << 6 | (reg & 7) << 3 | (rm & 7));
    if (sp->flags & F_IMM) {
        uint8_t imm = (uint8_t)rnd();
        /* small shift counts and byte offsets are the interesting ones */
        if (sp->flags & F_GRP && rnd() % 2)
            imm %= 20;
        b[n++] = imm;
    }
    return n;
}

static unsigned cases_per_form = 150;

static int run_specs(const struct spec *sp, unsigned count, unsigned *runs)
{
    int bad = 0;
    for (unsigned k = 0; k < count; k++) {
        int fails = 0;
        for (unsigned r = 0; r < cases_per_form && fails < 2; r++) {
            uint8_t b[16];
            unsigned n = encode(&sp[k], b);
            fails += diff_one(b, n);
            (*runs)++;
        }
        bad += fails;
    }
    return bad;
}

static int run_ops(uint8_t map, const uint8_t *ops, unsigned count, bool mmx, unsigned *runs)
{
    int bad = 0;
    for (unsigned k = 0; k < count; k++) {
        struct spec s66 = { 0x66, map, ops[k], 0, 0 }, smm = { NP, map, ops[k], 0, F_MMX };
        bad += run_specs(&s66, 1, runs);
        if (mmx)
            bad += run_specs(&smm, 1, runs);
    }
    return bad;
}

#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

static void sse_moves_and_integer_match_host(void)
{
    unsigned runs = 0;
    int bad = run_specs(int_specs, COUNT(int_specs), &runs);
    bad += run_ops(M0F, int_ops_0f_mmx, COUNT(int_ops_0f_mmx), true, &runs);
    bad += run_ops(M0F, int_ops_0f_xmm, COUNT(int_ops_0f_xmm), false, &runs);
    bad += run_ops(M38, int_ops_38_mmx, COUNT(int_ops_38_mmx), true, &runs);
    bad += run_ops(M38, int_ops_38_xmm, COUNT(int_ops_38_xmm), false, &runs);
    printf("  moves/integer: %u runs, %d mismatches\n", runs, bad);
    CHECK_EQ(bad, 0);
}

static void sse_float_matches_host(void)
{
    unsigned runs = 0;
    int bad = run_specs(float_specs, COUNT(float_specs), &runs);
    for (unsigned k = 0; k < COUNT(float_ops4); k++) {
        static const uint8_t pf[4] = { NP, 0x66, 0xf3, 0xf2 };
        for (unsigned p = 0; p < 4; p++) {
            struct spec s = { pf[p], M0F, float_ops4[k], 0, 0 };
            bad += run_specs(&s, 1, &runs);
        }
    }
    printf("  float: %u runs, %d mismatches\n", runs, bad);
    CHECK_EQ(bad, 0);
}

static void sse_string_compares_match_host(void)
{
    unsigned runs = 0, saved = cases_per_form;
    int bad;
    cases_per_form = 2000;
    bad = run_specs(str_specs, COUNT(str_specs), &runs);
    cases_per_form = saved;
    printf("  pcmpXstrX: %u runs, %d mismatches\n", runs, bad);
    CHECK_EQ(bad, 0);
}

/* ---- faults ---- */

static int emu_fault_of(const uint8_t *b, unsigned len, uint64_t rsi, uint32_t mxcsr, uint64_t cr4)
{
    static struct emu_cpu c;
    struct emu_insn i;
    memset(&c, 0, sizeof(c));
    c.mode = MODE_LONG64;
    c.mxcsr = mxcsr;
    c.cr4 = cr4;
    c.gpr[R_RSI] = rsi;
    if (mini_decode(b, len, &i))
        return -2;
    return emu_run_insn(&c, &i);
}

static void sse_faults(void)
{
    static const uint8_t movdqa[] = { 0x66, 0x0f, 0x6f, 0x06 }, movdqu[] = { 0xf3, 0x0f, 0x6f, 0x06 };
    static const uint8_t paddb[] = { 0x66, 0x0f, 0xfc, 0x06 }, ldmxcsr[] = { 0x0f, 0xae, 0x16 };
    static const uint8_t pcmpistri[] = { 0x66, 0x0f, 0x3a, 0x63, 0x06, 0x0c };
    static const uint8_t divps[] = { 0x0f, 0x5e, 0xc1 }, bad66[] = { 0x66, 0x0f, 0x38, 0x17, 0xc1 };
    static const uint8_t f3ptest[] = { 0xf3, 0x0f, 0x38, 0x17, 0xc1 };
    uint32_t v;

    CHECK_EQ(emu_fault_of(movdqa, 4, 0x108, 0x1f80, 0), EXC_GP);
    CHECK_EQ(emu_fault_of(movdqa, 4, 0x110, 0x1f80, 0), -1);
    CHECK_EQ(emu_fault_of(movdqu, 4, 0x108, 0x1f80, 0), -1);
    CHECK_EQ(emu_fault_of(paddb, 4, 0x101, 0x1f80, 0), EXC_GP);
    CHECK_EQ(emu_fault_of(pcmpistri, 6, 0x101, 0x1f80, 0), -1);   /* no alignment needed */
    CHECK_EQ(emu_fault_of(bad66, 5, 0, 0x1f80, 0), -1);
    CHECK_EQ(emu_fault_of(f3ptest, 5, 0, 0x1f80, 0), EXC_UD);

    v = 0x10000;   /* reserved MXCSR bit */
    memcpy(test_ram + 0x100, &v, 4);
    CHECK_EQ(emu_fault_of(ldmxcsr, 3, 0x100, 0x1f80, 0), EXC_GP);
    v = 0x9fc0;
    memcpy(test_ram + 0x100, &v, 4);
    CHECK_EQ(emu_fault_of(ldmxcsr, 3, 0x100, 0x1f80, 0), -1);

    /* 1/0 with ZE unmasked: #XM with CR4.OSXMMEXCPT, #UD without */
    {
        static struct emu_cpu c;
        struct emu_insn i;
        memset(&c, 0, sizeof(c));
        c.mode = MODE_LONG64;
        c.mxcsr = 0x1f80 & ~0x200;
        c.cr4 = CR4_OSXMMEXCPT;
        c.xmm[0].f[0] = 1.0f;
        c.xmm[1].f[0] = 0.0f;
        mini_decode(divps, 3, &i);
        CHECK_EQ(emu_run_insn(&c, &i), EXC_XM);
        CHECK(c.mxcsr & 4);
        CHECK(c.xmm[0].f[0] == 1.0f);   /* destination untouched */
        c.cr4 = 0;
        CHECK_EQ(emu_run_insn(&c, &i), EXC_UD);
        c.mxcsr = 0x1f80;
        CHECK_EQ(emu_run_insn(&c, &i), -1);
        CHECK(c.xmm[0].d[0] == 0x7f800000u);
    }
    /* CR0.TS: #NM; CR0.EM: #UD; protected mode without OSFXSR: #UD */
    {
        static struct emu_cpu c;
        struct emu_insn i;
        memset(&c, 0, sizeof(c));
        c.mode = MODE_LONG64;
        mini_decode(divps, 3, &i);
        c.cr0 = CR0_TS;
        CHECK_EQ(emu_run_insn(&c, &i), EXC_NM);
        c.cr0 = CR0_EM;
        CHECK_EQ(emu_run_insn(&c, &i), EXC_UD);
        c.cr0 = CR0_PE;
        CHECK_EQ(emu_run_insn(&c, &i), EXC_UD);
        c.cr4 = CR4_OSFXSR;
        c.mxcsr = 0x1f80;
        CHECK_EQ(emu_run_insn(&c, &i), -1);
    }
}

/* EMMS empties the tag word (Intel leaves TOP alone; AMD hosts differ, so
 * this is not a host comparison). */
static void sse_emms_empties_x87(void)
{
    static const uint8_t emms[] = { 0x0f, 0x77 }, movq[] = { 0x0f, 0x6f, 0xc1 };
    static struct emu_cpu c;
    memset(&c, 0, sizeof(c));
    c.mode = MODE_LONG64;
    c.x87.top = 5;
    c.x87.ftw = 0xffff;
    CHECK_EQ(emu_run_bytes(&c, movq, 3), -1);
    CHECK_EQ(c.x87.top, 0);
    CHECK_EQ(c.x87.ftw, 0);
    CHECK_EQ(emu_run_bytes(&c, emms, 2), -1);
    CHECK_EQ(c.x87.ftw, 0xffff);
}

/* strlen the way glibc's SSE4.2 code does it, through emu's handlers. */
static void sse_pcmpistri_finds_string_end(void)
{
    static const uint8_t pxor[] = { 0x66, 0x0f, 0xef, 0xc0 };             /* pxor xmm0, xmm0 */
    static const uint8_t istri[] = { 0x66, 0x0f, 0x3a, 0x63, 0x06, 0x08 }; /* pcmpistri xmm0,[rsi],8 */
    static struct emu_cpu c;
    const char *s = "hello, world";
    memset(&c, 0, sizeof(c));
    c.mode = MODE_LONG64;
    c.mxcsr = 0x1f80;
    memset(test_ram + 0x100, 0, 16);
    memcpy(test_ram + 0x100, s, strlen(s));
    test_ram[0x100 + strlen(s) + 1] = 'x';
    c.gpr[R_RSI] = 0x100;
    CHECK_EQ(emu_run_bytes(&c, pxor, 4), -1);
    CHECK_EQ(emu_run_bytes(&c, istri, 6), -1);
    CHECK_EQ(c.gpr[R_RCX], strlen(s));
    CHECK(c.rflags & RFLAGS_ZF);
}

int main(void)
{
    emu_sse_register();
    emu_x87_register();
    if (getenv("EMU_SSE_CASES"))
        cases_per_form = (unsigned)atoi(getenv("EMU_SSE_CASES"));
    RUN_TEST(sse_moves_and_integer_match_host);
    RUN_TEST(sse_float_matches_host);
    RUN_TEST(sse_string_compares_match_host);
    RUN_TEST(sse_faults);
    RUN_TEST(sse_emms_empties_x87);
    RUN_TEST(sse_pcmpistri_finds_string_end);
    return CHECK_DONE();
}
