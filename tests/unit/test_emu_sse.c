/* Differential tests of emu's SSE..SSE4.2 and MMX handlers against the host
 * CPU: every form runs from random states full of edge values (zeros,
 * denormals, infinities, NaNs, integer limits, rounding boundaries) with a
 * fixed seed, and must match bit for bit.  Also the faults (#GP on
 * misalignment, #UD, LDMXCSR reserved bits, unmasked exceptions). */
#include "check.h"
#include "emu_simd_diff.h"
#include "emu_simd_specs.h"

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

/* MASKMOVDQU/MASKMOVQ store the bytes whose mask bit 7 is set to [rdi]
 * (the host stub cannot run them: rdi is its state pointer). */
static void sse_maskmov_stores_selected_bytes(void)
{
    static const uint8_t maskmovdqu[] = { 0x66, 0x0f, 0xf7, 0xc1 }, maskmovq[] = { 0x0f, 0xf7, 0xc1 };
    static struct emu_cpu c;
    memset(&c, 0, sizeof(c));
    c.mode = MODE_LONG64;
    c.gpr[R_RDI] = 0x300;
    memset(test_ram + 0x300, 0xee, 32);
    for (unsigned k = 0; k < 16; k++) {
        c.xmm[0].b[k] = (uint8_t)(0x10 + k);
        c.xmm[1].b[k] = (k % 3 == 0) ? 0x80 : 0x7f;
    }
    CHECK_EQ(emu_run_bytes(&c, maskmovdqu, 4), -1);
    for (unsigned k = 0; k < 16; k++)
        CHECK_EQ(test_ram[0x300 + k], k % 3 == 0 ? 0x10 + k : 0xee);
    CHECK_EQ(test_ram[0x310], 0xee);
    mmx_set(&c, 0, 0x1122334455667788ull);
    mmx_set(&c, 1, 0x8000800000008080ull);
    c.gpr[R_RDI] = 0x320;
    memset(test_ram + 0x320, 0, 8);
    CHECK_EQ(emu_run_bytes(&c, maskmovq, 3), -1);
    CHECK_EQ(test_ram[0x320], 0x88);
    CHECK_EQ(test_ram[0x321], 0x77);
    CHECK_EQ(test_ram[0x322], 0);
    CHECK_EQ(test_ram[0x325], 0x33);
    CHECK_EQ(test_ram[0x327], 0x11);
    CHECK_EQ(test_ram[0x326], 0);
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
    RUN_TEST(sse_maskmov_stores_selected_bytes);
    RUN_TEST(sse_pcmpistri_finds_string_end);
    return CHECK_DONE();
}
