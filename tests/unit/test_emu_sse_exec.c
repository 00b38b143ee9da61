/* The SSE/MMX/x87 differential tests again, through the whole software CPU
 * (emu's decoder, block cache, executor and MMU) instead of calling the
 * handlers directly: this catches decoding mistakes (ModRM, immediates,
 * prefixes) in the forms the handlers own. */
#define EMU_SIMD_REAL 1
#include <math.h>
#include <time.h>

#include "check.h"
#include "emu_simd_diff.h"
#include "emu_simd_specs.h"

/* RIP-relative operands with an immediate after the displacement, and a
 * strlen loop in the style of glibc's SSE2 one, timed. */
static void sse_exec_rip_relative_and_strlen(void)
{
    static struct emu_cpu c;
    /* 0x3000: pshufd xmm1, [rip+0x0ff8], 0x1b   (operand at 0x4000)
     *         pxor xmm0, xmm0
     *  loop:  movdqu xmm2, [rdi]
     *         pcmpeqb xmm2, xmm0
     *         pmovmskb eax, xmm2
     *         add rdi, 16
     *         test eax, eax
     *         jz loop
     *         bsf eax, eax
     *         lea rax, [rdi + rax - 16]
     *         ud2          (the end: #UD comes back to the test) */
    static const uint8_t prog[] = {
        0x66, 0x0f, 0x70, 0x0d, 0xf7, 0x0f, 0x00, 0x00, 0x1b,
        0x66, 0x0f, 0xef, 0xc0,
        0xf3, 0x0f, 0x6f, 0x17,
        0x66, 0x0f, 0x74, 0xd0,
        0x66, 0x0f, 0xd7, 0xc2,
        0x48, 0x83, 0xc7, 0x10,
        0x85, 0xc0,
        0x74, 0xec,
        0x0f, 0xbc, 0xc0,
        0x48, 0x8d, 0x44, 0x07, 0xf0,
        0x0f, 0x0b,
    };
    const unsigned len = 40000;
    uint8_t *ram;
    struct timespec t0, t1;
    uint64_t n;
    double secs;
    if (!real_ram) {
        real_ram = aligned_alloc(4096, REAL_RAM_SIZE);
        if (!real_ram)
            exit(1);
    }
    ram = real_ram;
    memset(ram, 0, REAL_RAM_SIZE);
    memcpy(ram + 0x3000, prog, sizeof(prog));
    for (unsigned k = 0; k < 4; k++)
        memcpy(ram + 0x4000 + 4 * k, &k, 4);
    memset(ram + 0x5000, 'a', len);
    emu_cpu_init_flat(&c, ram, REAL_RAM_SIZE, 0);
    c.exc_to_caller = true;
    c.rip = 0x3000;
    c.gpr[R_RDI] = 0x5001;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    n = emu_execute(&c, 100000);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    CHECK_EQ(c.exc.vector, EXC_UD);
    CHECK_EQ(c.rip, 0x3000 + sizeof(prog) - 2);
    CHECK_EQ(c.xmm[1].d[0], 3);
    CHECK_EQ(c.xmm[1].d[3], 0);
    CHECK_EQ(c.gpr[R_RAX], 0x5000 + len);
    secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    printf("  strlen of %u bytes: %llu instructions in %.3f ms (%.0f M instructions/s)\n", len - 1,
           (unsigned long long)n, secs * 1e3, secs > 0 ? (double)n / secs / 1e6 : 0.0);
}

int main(void)
{
    cases_per_form = 40;
    x87_cases = 12;
    if (getenv("EMU_SSE_CASES"))
        cases_per_form = x87_cases = (unsigned)atoi(getenv("EMU_SSE_CASES"));
    RUN_TEST(sse_exec_rip_relative_and_strlen);
    RUN_TEST(sse_moves_and_integer_match_host);
    RUN_TEST(sse_float_matches_host);
    RUN_TEST(sse_string_compares_match_host);
    RUN_TEST(x87_register_forms_match_host);
    RUN_TEST(x87_memory_forms_match_host);
    return CHECK_DONE();
}
