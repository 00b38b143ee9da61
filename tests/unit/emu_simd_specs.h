/* The instruction forms the SIMD/x87 differential tests generate, and the
 * test bodies shared by the handler-level tests (test_emu_sse.c,
 * test_emu_x87.c) and the whole-CPU ones (test_emu_sse_exec.c). */
#ifndef EMU_SIMD_SPECS_H
#define EMU_SIMD_SPECS_H

/* Each test program uses the bodies it needs. */
#pragma GCC diagnostic ignored "-Wunused-function"

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
    printf("  moves/integer: %u runs (%u misaligned-operand #GP, all matched), %d mismatches\n", runs,
           simd_align_faults_matched, bad);
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
    printf("  float: %u runs (%u unmasked-exception traps, all matched), %d mismatches\n", runs,
           simd_traps_matched, bad);
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

static unsigned x87_cases = 40;

static int run_encoding(const uint8_t *b, unsigned len, unsigned *runs)
{
    int fails = 0;
    for (unsigned r = 0; r < x87_cases && fails < 2; r++) {
        fails += diff_one(b, len);
        (*runs)++;
    }
    return fails;
}

/* Undocumented aliases (FSTP1, FXCH4, FCOM2, ...) behave differently
 * between vendors; emu implements Intel's and they are not compared. */
static bool is_alias(unsigned op, unsigned m)
{
    return (op == 0xd9 && m >= 0xd8 && m <= 0xdf) || (op == 0xdd && m >= 0xc8 && m <= 0xcf) ||
           (op == 0xdf && m >= 0xc8 && m <= 0xdf) || (op == 0xdc && m >= 0xd0 && m <= 0xdf) ||
           (op == 0xde && m >= 0xd0 && m <= 0xd7);
}

static void x87_register_forms_match_host(void)
{
    unsigned runs = 0;
    int bad = 0;
    for (unsigned op = 0xd8; op <= 0xdf; op++)
        for (unsigned m = 0xc0; m <= 0xff; m++) {
            uint8_t b[2] = { (uint8_t)op, (uint8_t)m };
            if (is_alias(op, m))
                continue;
            bad += run_encoding(b, 2, &runs);
        }
    printf("  register forms: %u runs, %d mismatches\n", runs, bad);
    CHECK_EQ(bad, 0);
}

static void x87_memory_forms_match_host(void)
{
    unsigned runs = 0;
    int bad = 0;
    for (unsigned op = 0xd8; op <= 0xdf; op++)
        for (unsigned r = 0; r < 8; r++) {
            uint8_t b[2] = { (uint8_t)op, (uint8_t)(0x06 | r << 3) };
            memset(mem_ignore, 0, sizeof(mem_ignore));
            if ((op == 0xd9 && r == 6) || (op == 0xdd && r == 6))
                memset(mem_ignore + 12, 1, 16);   /* FIP, FCS/FOP, FDP, FDS */
            bad += run_encoding(b, 2, &runs);
        }
    /* the 14-byte (16-bit operand size) environment layouts */
    for (unsigned k = 0; k < 4; k++) {
        uint8_t b[3] = { 0x66, k < 2 ? 0xd9 : 0xdd, (uint8_t)(0x06 | ((k & 1) ? 6 : 4) << 3) };
        memset(mem_ignore, 0, sizeof(mem_ignore));
        if (k & 1)
            memset(mem_ignore + 6, 1, 8);          /* IP, CS, DP, DS */
        bad += run_encoding(b, 3, &runs);
    }
    memset(mem_ignore, 0, sizeof(mem_ignore));
    printf("  memory forms: %u runs, %d mismatches\n", runs, bad);
    CHECK_EQ(bad, 0);
}

#endif
