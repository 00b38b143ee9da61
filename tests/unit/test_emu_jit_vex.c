/* Unit tests of the translator's VEX and BMI forms (jit_vex.c) in the
 * flat test setup: a block of AVX2, BMI1/BMI2, TZCNT/LZCNT/POPCNT and
 * MOVBE forms leaves the interpreter's registers, YMM state, flags and
 * memory, with memory accesses inline and on their slow paths, also
 * where guest vector registers stay in host ones from form to form; a
 * translated vector form still raises #NM with CR0.TS and #UD without
 * CR4.OSXSAVE or XCR0's AVX bit, set after it was translated.  cpu_diff
 * compares every form with the host CPU. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "jit_fp_case.h"
#include "engine/emu/cpu.h"
#include "engine/emu/emu.h"
#include "engine/emu/jit.h"

#define RAM_SIZE (4u << 20)
#define CODE 0x1000
#define STACK 0x80000
#define DATA 0x90000

static struct emu_cpu *cpu;
static uint8_t *ram;

static void setup(const uint8_t *code, size_t len, bool jit, unsigned seed)
{
    if (!cpu)
        cpu = calloc(1, sizeof(*cpu));
    if (!ram)
        ram = calloc(1, RAM_SIZE);
    memset(ram, 0, RAM_SIZE);
    memcpy(ram + CODE, code, len);
    /* Data: the second 32 bytes equal the first in some places, so the
     * byte compare finds matches. */
    srand(seed);
    for (unsigned k = 0; k < 256; k++)
        ram[DATA + k] = (uint8_t)rand();
    for (unsigned k = 0; k < 32; k++)
        if (rand() & 1)
            ram[DATA + 32 + k] = ram[DATA + k];
    emu_cpu_init_flat(cpu, ram, RAM_SIZE, 0);
    cpu->exc_to_caller = true;
    cpu->rip = CODE;
    cpu->gpr[R_RSP] = STACK;
    for (unsigned r = 0; r < 16; r++) {
        if (r != R_RSP)
            cpu->gpr[r] = 0x0123456789abcdefULL * (r + 1) + seed;
        cpu->xmm[r].q[0] = 0x1111111111111111ULL * r + seed;
        cpu->xmm[r].q[1] = ~cpu->xmm[r].q[0];
        cpu->ymm_hi[r].q[0] = cpu->xmm[r].q[0] ^ 0x5555;
        cpu->ymm_hi[r].q[1] = seed;
    }
    cpu->gpr[R_RCX] = 5 + seed;   /* shift and index counts below */
    cpu->insn_count = 0;
    emu_jit_configure(jit, 0);   /* translated at first run */
}

/* One block of the forms jit_vex.c generates, ending in UD2. */
static const uint8_t forms[] = {
    0xbe, 0x00, 0x00, 0x09, 0x00,        /* mov esi, 0x90000 */
    0xc5, 0xfe, 0x6f, 0x0e,              /* vmovdqu ymm1, [rsi] */
    0xc5, 0xf5, 0x74, 0x56, 0x20,        /* vpcmpeqb ymm2, ymm1, [rsi+32] */
    0xc5, 0xfd, 0xd7, 0xc2,              /* vpmovmskb eax, ymm2 */
    0xf3, 0x0f, 0xbc, 0xc8,              /* tzcnt ecx, eax */
    0xc4, 0xe2, 0x68, 0xf3, 0xc8,        /* blsr edx, eax */
    0xc4, 0x62, 0x78, 0xf2, 0xc1,        /* andn r8d, eax, ecx */
    0xc4, 0x62, 0xf1, 0xf7, 0xc8,        /* shlx r9, rax, rcx */
    0xc4, 0xe2, 0x7d, 0x78, 0xd9,        /* vpbroadcastb ymm3, xmm1 */
    0xc5, 0xe5, 0xda, 0xe1,              /* vpminub ymm4, ymm3, ymm1 */
    0xc5, 0xfe, 0x7f, 0x66, 0x40,        /* vmovdqu [rsi+64], ymm4 */
    0xc5, 0xf9, 0x6e, 0xe8,              /* vmovd xmm5, eax */
    0xc5, 0xd1, 0xeb, 0xf1,              /* vpor xmm6, xmm5, xmm1 */
    0xc4, 0xe2, 0x7d, 0x17, 0xc9,        /* vptest ymm1, ymm1 */
    0x41, 0x0f, 0x94, 0xc2,              /* sete r10b */
    0xf3, 0x4d, 0x0f, 0xb8, 0xd9,        /* popcnt r11, r9 */
    0xf3, 0x4d, 0x0f, 0xbd, 0xe3,        /* lzcnt r12, r11 */
    0x4c, 0x0f, 0x38, 0xf0, 0x2e,        /* movbe r13, [rsi] */
    0x4c, 0x0f, 0x38, 0xf1, 0x6e, 0x60,  /* movbe [rsi+96], r13 */
    0xc4, 0x62, 0x83, 0xf6, 0xf1,        /* mulx r14, r15, rcx */
    0xc4, 0xe3, 0xfb, 0xf0, 0xda, 0x0d,  /* rorx rbx, rdx, 13 */
    0xc4, 0xc2, 0xf0, 0xf5, 0xe9,        /* bzhi rbp, r9, rcx */
    0xc4, 0xe3, 0x75, 0x0f, 0xfc, 0x03,  /* vpalignr ymm7, ymm1, ymm4, 3 */
    0xc5, 0x79, 0x6f, 0x86, 0x80, 0, 0, 0,   /* vmovdqa xmm8, [rsi+128] */
    0xc5, 0x3d, 0xef, 0xca,              /* vpxor ymm9, ymm8, ymm2 */
    0xc4, 0x61, 0xf9, 0x7e, 0xcf,        /* vmovq rdi, xmm9 */
    0xc4, 0x62, 0x7d, 0x18, 0x56, 0x08,  /* vbroadcastss ymm10, [rsi+8] */
    0xc5, 0x7b, 0x10, 0x5e, 0x10,        /* vmovsd xmm11, [rsi+16] */
    0xc5, 0x7a, 0x11, 0x56, 0x64,        /* vmovss [rsi+100], xmm10 */
    0xc5, 0x2a, 0x10, 0xe1,              /* vmovss xmm12, xmm10, xmm1 */
    0xc5, 0x2c, 0x58, 0x6e, 0x20,        /* vaddps ymm13, ymm10, [rsi+32] */
    0xc4, 0x62, 0x2d, 0xb8, 0xf1,        /* vfmadd231ps ymm14, ymm10, ymm1 */
    0xc5, 0x23, 0x51, 0x7e, 0x10,        /* vsqrtsd xmm15, xmm11, [rsi+16] */
    0xc4, 0xc1, 0x0c, 0xc2, 0xc5, 0x11,  /* vcmpps ymm0, ymm14, ymm13, lt_oq */
    0xc4, 0xc1, 0x7d, 0x5b, 0xdd,        /* vcvtps2dq ymm3, ymm13 */
    0xc4, 0xe2, 0x78, 0xf2, 0xc0,        /* andn eax, eax, eax: 0 */
    0xf3, 0x0f, 0xbc, 0xc0,              /* tzcnt eax, eax: 32, CF set; flags read after the block */
    0x0f, 0x0b,                          /* ud2 */
};

/* Guest vector registers kept in host ones from form to form (jit_vex.c:
 * y_load, y_store, jit_vec_reload): between them general-register forms,
 * one whose memory stub resumes after C and ones that call C for their
 * flags (ROR, INC after it); a VEX form run by its handler (VPSHUFD)
 * writing a kept register, with bits 255:128 clean and dirty; zero and
 * all-ones idioms; registers 13-15, which are not kept. */
static const uint8_t kept[] = {
    0xbe, 0x00, 0x00, 0x09, 0x00,        /* mov esi, 0x90000 */
    0xc5, 0xfa, 0x6f, 0x0e,              /* vmovdqu xmm1, [rsi] */
    0xc5, 0xf9, 0x70, 0xca, 0x1b,        /* vpshufd xmm1, xmm2, 0x1b (its handler) */
    0xc5, 0xf1, 0xeb, 0xd9,              /* vpor xmm3, xmm1, xmm1 */
    0x48, 0x03, 0x46, 0x08,              /* add rax, [rsi+8] */
    0xc5, 0xfe, 0x6f, 0x66, 0x20,        /* vmovdqu ymm4, [rsi+32] */
    0xc5, 0xf9, 0x6f, 0xd4,              /* vmovdqa xmm2, xmm4: bits 255:128 of ymm2 zeroed */
    0xc5, 0x6d, 0xeb, 0xca,              /* vpor ymm9, ymm2, ymm2 */
    0x48, 0xc1, 0xca, 0x03,              /* ror rdx, 3 */
    0xc5, 0xdd, 0xfc, 0xe9,              /* vpaddb ymm5, ymm4, ymm1 */
    0xff, 0xc1,                          /* inc ecx */
    0xc5, 0xcd, 0xef, 0xf6,              /* vpxor ymm6, ymm6, ymm6 */
    0xc5, 0xdd, 0x74, 0x7e, 0x20,        /* vpcmpeqb ymm7, ymm4, [rsi+32] */
    0xc5, 0xfd, 0xd7, 0xc7,              /* vpmovmskb eax, ymm7 */
    0xf3, 0x0f, 0xbc, 0xd0,              /* tzcnt edx, eax */
    0xc5, 0x7e, 0x6f, 0x76, 0x40,        /* vmovdqu ymm14, [rsi+64] */
    0xc5, 0x0d, 0xeb, 0xfc,              /* vpor ymm15, ymm14, ymm4 */
    0x48, 0x89, 0x96, 0xc8, 0, 0, 0,     /* mov [rsi+200], rdx */
    0xc5, 0x05, 0xf8, 0xed,              /* vpsubb ymm13, ymm15, ymm5 */
    0xc4, 0x41, 0x1d, 0x76, 0xe4,        /* vpcmpeqd ymm12, ymm12, ymm12 */
    0xc5, 0x7e, 0x7f, 0x6e, 0x60,        /* vmovdqu [rsi+96], ymm13 */
    0xc5, 0xf9, 0x70, 0xec, 0x4e,        /* vpshufd xmm5, xmm4, 0x4e (its handler) */
    0xc5, 0x55, 0xdb, 0xc4,              /* vpand ymm8, ymm5, ymm4 */
    0x0f, 0x0b,                          /* ud2 */
};

/* A block with the JIT off, on, and on with every memory access on its
 * slow path: registers, YMM state, flags, MXCSR and memory must be equal. */
static void same_as_interpreter(const uint8_t *code, size_t len)
{
    static uint8_t mem_ref[256];
    for (unsigned seed = 0; seed < 4; seed++) {
        struct emu_cpu *ref = malloc(sizeof(*ref));
        setup(code, len, false, seed);
        emu_execute(cpu, 1000);
        *ref = *cpu;
        uint64_t flags_ref = emu_get_rflags(cpu);
        memcpy(mem_ref, ram + DATA, sizeof(mem_ref));
        CHECK_EQ(ref->exc.vector, EXC_UD);
        for (int slow = 0; slow < 2; slow++) {
            emu_jit_test_slow_paths(slow);
            setup(code, len, true, seed);
            emu_execute(cpu, 1000);
            struct emu_jit_stats st;
            emu_jit_get_stats(cpu, &st);
            CHECK(st.blocks >= 1);
            CHECK_EQ(cpu->exc.vector, EXC_UD);
            CHECK_EQ(cpu->rip, ref->rip);
            CHECK_EQ(cpu->insn_count, ref->insn_count);
            for (int r = 0; r < 16; r++) {
                CHECK_EQ(cpu->gpr[r], ref->gpr[r]);
                CHECK(!memcmp(&cpu->xmm[r], &ref->xmm[r], 16));
                CHECK(!memcmp(&cpu->ymm_hi[r], &ref->ymm_hi[r], 16));
            }
            CHECK_EQ(emu_get_rflags(cpu), flags_ref);
            CHECK_EQ(cpu->mxcsr, ref->mxcsr);   /* the float forms' flags */
            CHECK(!memcmp(ram + DATA, mem_ref, sizeof(mem_ref)));
        }
        emu_jit_test_slow_paths(false);
        free(ref);
    }
}

static void test_forms_same_as_interpreter(void)
{
    same_as_interpreter(forms, sizeof(forms));
}

static void test_vector_registers_kept(void)
{
    same_as_interpreter(kept, sizeof(kept));
}

/* mov eax, 5; vpxor ymm0, ymm0, ymm0; inc eax; ud2 -- translated while AVX
 * is usable, then run with CR0.TS set, with CR4.OSXSAVE clear and with
 * XCR0 without AVX: the vector form faults as the interpreter's would,
 * RIP at it, the instruction before it retired. */
static void test_avx_state_checked(void)
{
    static const uint8_t code[] = { 0xb8, 5, 0, 0, 0, 0xc5, 0xfd, 0xef, 0xc0, 0xff, 0xc0, 0x0f, 0x0b };
    setup(code, sizeof(code), true, 0);
    uint64_t entries = fp_first_run(cpu);
    uint64_t cr0 = cpu->cr0, cr4 = cpu->cr4, xcr0 = cpu->xcr0;
    static const struct { int what, vector; } cases[] = { { 0, EXC_NM }, { 1, EXC_UD }, { 2, EXC_UD }, { 3, -1 } };
    for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        cpu->cr0 = cr0 | (cases[k].what == 0 ? CR0_TS : 0);
        cpu->cr4 = cases[k].what == 1 ? cr4 & ~CR4_OSXSAVE : cr4;
        cpu->xcr0 = cases[k].what == 2 ? xcr0 & ~4ULL : xcr0;
        fp_case(cpu, CODE, cases[k].vector, CODE + 11);
    }
    fp_ran_again(cpu, entries);
}

int main(void)
{
    RUN_TEST(test_forms_same_as_interpreter);
    RUN_TEST(test_vector_registers_kept);
    RUN_TEST(test_avx_state_checked);
    return CHECK_DONE();
}
