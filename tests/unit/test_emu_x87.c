/* Differential tests of emu's x87 FPU against the host: every D8..DF
 * encoding (register forms and [rsi] memory forms) from random states with
 * random TOP, tags, precision and rounding control and edge values, with a
 * fixed seed.  Encodings the host rejects must be #UD on emu too. */
#include "check.h"
#include <math.h>

#include "emu_simd_diff.h"
#include "emu_simd_specs.h"

/* A short program the way compiled code uses the FPU: x*y+z to memory,
 * then FNSTSW AX / SAHF style compare. */
static void x87_sequence(void)
{
    static struct emu_cpu c;
    static const uint8_t fninit[] = { 0xdb, 0xe3 }, fld_m64[] = { 0xdd, 0x06 },
        fmul_m64[] = { 0xdc, 0x0e }, faddp[] = { 0xde, 0xc1 }, fstp_m64[] = { 0xdd, 0x1e },
        fld1[] = { 0xd9, 0xe8 }, fldz[] = { 0xd9, 0xee }, fcomip[] = { 0xdf, 0xf1 },
        fnstsw[] = { 0xdf, 0xe0 };
    double x = 3.0, y = 4.5, out;
    memset(&c, 0, sizeof(c));
    c.mode = MODE_LONG64;
    c.gpr[R_RSI] = 0x100;
    CHECK_EQ(emu_run_bytes(&c, fninit, 2), -1);
    CHECK_EQ(c.x87.fcw, 0x37f);
    CHECK_EQ(emu_run_bytes(&c, fld1, 2), -1);            /* st0 = 1 */
    memcpy(test_ram + 0x100, &x, 8);
    CHECK_EQ(emu_run_bytes(&c, fld_m64, 2), -1);         /* st0 = 3, st1 = 1 */
    memcpy(test_ram + 0x100, &y, 8);
    CHECK_EQ(emu_run_bytes(&c, fmul_m64, 2), -1);        /* st0 = 13.5 */
    CHECK_EQ(emu_run_bytes(&c, faddp, 2), -1);           /* st0 = 14.5 */
    CHECK_EQ(emu_run_bytes(&c, fstp_m64, 2), -1);
    memcpy(&out, test_ram + 0x100, 8);
    CHECK(out == 14.5);
    CHECK_EQ(c.x87.ftw, 0xffff);
    CHECK_EQ(emu_run_bytes(&c, fldz, 2), -1);
    CHECK_EQ(emu_run_bytes(&c, fld1, 2), -1);            /* st0 = 1, st1 = 0 */
    CHECK_EQ(emu_run_bytes(&c, fcomip, 2), -1);          /* 1 > 0: ZF=PF=CF=0 */
    CHECK_EQ(c.rflags & (RFLAGS_ZF | RFLAGS_PF | RFLAGS_CF), 0);
    CHECK_EQ(emu_run_bytes(&c, fnstsw, 2), -1);
    CHECK_EQ((c.gpr[R_RAX] >> 11) & 7, 7);               /* one value left: TOP = 7 */
}

/* Stack overflow with IE masked: the indefinite QNaN is pushed, IE|SF|C1. */
static void x87_stack_overflow(void)
{
    static struct emu_cpu c;
    static const uint8_t fninit[] = { 0xdb, 0xe3 }, fld1[] = { 0xd9, 0xe8 };
    memset(&c, 0, sizeof(c));
    c.mode = MODE_LONG64;
    CHECK_EQ(emu_run_bytes(&c, fninit, 2), -1);
    for (int k = 0; k < 9; k++)
        CHECK_EQ(emu_run_bytes(&c, fld1, 2), -1);
    CHECK_EQ(c.x87.fsw & 0x241, 0x241);
    CHECK(isnan((double)c.x87.st[c.x87.top]));
}

/* An unmasked exception is pending (ES) until the next waiting instruction,
 * which raises #MF with CR0.NE; FNCLEX clears it without faulting. */
static void x87_unmasked_exception_is_deferred(void)
{
    static struct emu_cpu c;
    static const uint8_t fninit[] = { 0xdb, 0xe3 }, fld1[] = { 0xd9, 0xe8 }, fldz[] = { 0xd9, 0xee },
        fdivp[] = { 0xde, 0xf9 }, fldcw[] = { 0xd9, 0x2e }, fnclex[] = { 0xdb, 0xe2 };
    uint16_t cw = 0x37b;   /* ZE unmasked */
    memset(&c, 0, sizeof(c));
    c.mode = MODE_LONG64;
    c.cr0 = CR0_NE;
    c.gpr[R_RSI] = 0x100;
    memcpy(test_ram + 0x100, &cw, 2);
    CHECK_EQ(emu_run_bytes(&c, fninit, 2), -1);
    CHECK_EQ(emu_run_bytes(&c, fldcw, 2), -1);
    CHECK_EQ(emu_run_bytes(&c, fld1, 2), -1);
    CHECK_EQ(emu_run_bytes(&c, fldz, 2), -1);
    CHECK_EQ(emu_run_bytes(&c, fdivp, 2), -1);   /* 1 / 0 */
    CHECK_EQ(c.x87.fsw & 0x8084, 0x8084);        /* B, ES, ZE */
    CHECK_EQ(emu_run_bytes(&c, fld1, 2), EXC_MF);
    {
        struct emu_insn i;
        memset(&i, 0, sizeof(i));
        i.len = 1;
        i.map = MAP_1;
        i.op = 0x9b;
        CHECK_EQ(emu_run_insn(&c, &i), EXC_MF);
    }
    CHECK_EQ(emu_run_bytes(&c, fnclex, 2), -1);
    CHECK_EQ(c.x87.fsw & 0x80bf, 0);
    CHECK_EQ(emu_run_bytes(&c, fld1, 2), -1);
}

int main(void)
{
    emu_sse_register();
    emu_x87_register();
    if (getenv("EMU_X87_CASES"))
        x87_cases = (unsigned)atoi(getenv("EMU_X87_CASES"));
    RUN_TEST(x87_register_forms_match_host);
    RUN_TEST(x87_memory_forms_match_host);
    RUN_TEST(x87_sequence);
    RUN_TEST(x87_stack_overflow);
    RUN_TEST(x87_unmasked_exception_is_deferred);
    return CHECK_DONE();
}
