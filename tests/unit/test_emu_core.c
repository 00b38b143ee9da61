/* Unit tests of emu's core: decoder lengths, small flat-mode programs
 * (loops, calls, strings, self-modifying code, #DE/#UD/#PF/#GP through
 * exc_to_caller), and ALU flags checked against the host CPU running the
 * very same bytes. */
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>

#include "check.h"
#include "engine/emu/cache.h"
#include "engine/emu/cpu.h"
#include "engine/emu/emu.h"

#define RAM_SIZE (1u << 20)
#define CODE 0x1000
#define STACK 0x80000

static struct emu_cpu *cpu;
static uint8_t *ram;

static void setup(const void *code, size_t len)
{
    if (!cpu)
        cpu = calloc(1, sizeof(*cpu));
    if (!ram)
        ram = calloc(1, RAM_SIZE);
    memset(ram, 0, RAM_SIZE);
    memcpy(ram + CODE, code, len);
    emu_cpu_init_flat(cpu, ram, RAM_SIZE, 0);
    cpu->exc_to_caller = true;
    cpu->rip = CODE;
    cpu->gpr[4] = STACK;
}

/* Runs until an exception (programs end in UD2). */
static int run(void)
{
    emu_execute(cpu, 10000000);
    return cpu->exc.vector;
}

#define B(...) ((const uint8_t[]){ __VA_ARGS__ })
#define SETUP(...) do { static const uint8_t p_[] = { __VA_ARGS__ }; setup(p_, sizeof(p_)); } while (0)

static void test_decode_lengths(void)
{
    static const struct { uint8_t b[16]; int len; } cases[] = {
        { { 0x90 }, 1 },
        { { 0x48, 0x89, 0xd8 }, 3 },                          /* mov rax, rbx */
        { { 0x48, 0x8b, 0x44, 0x24, 0x08 }, 5 },              /* mov rax, [rsp+8] */
        { { 0x48, 0x8b, 0x05, 1, 2, 3, 4 }, 7 },              /* mov rax, [rip+x] */
        { { 0x8b, 0x04, 0x25, 1, 2, 3, 4 }, 7 },              /* mov eax, [abs32] (SIB no base) */
        { { 0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8 }, 10 },       /* mov rax, imm64 */
        { { 0x66, 0xb8, 1, 2 }, 4 },                          /* mov ax, imm16 */
        { { 0x48, 0xc7, 0xc0, 1, 2, 3, 4 }, 7 },              /* mov rax, simm32 */
        { { 0x66, 0x81, 0x84, 0x88, 1, 2, 3, 4, 5, 6 }, 10 }, /* add word [rax+rcx*4+d32], imm16 */
        { { 0xf6, 0xc1, 0x12 }, 3 },                          /* test cl, imm8 */
        { { 0xf7, 0xd1 }, 2 },                                /* not ecx */
        { { 0xf7, 0xc1, 1, 2, 3, 4 }, 6 },                    /* test ecx, imm32 */
        { { 0xc8, 0x10, 0x00, 0x01 }, 4 },                    /* enter 16, 1 */
        { { 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0 }, 8 },           /* nopw-style long nop */
        { { 0x66, 0x2e, 0x0f, 0x1f, 0x84, 0, 0, 0, 0, 0 }, 10 },
        { { 0x0f, 0x84, 1, 2, 3, 4 }, 6 },                    /* jz rel32 */
        { { 0x66, 0x0f, 0x3a, 0x0f, 0xc1, 0x08 }, 6 },        /* palignr xmm0, xmm1, 8 */
        { { 0xf2, 0x0f, 0x38, 0xf1, 0xc1 }, 5 },              /* crc32 eax, ecx */
        { { 0xa1, 1, 2, 3, 4, 5, 6, 7, 8 }, 9 },              /* mov eax, moffs64 */
        { { 0x67, 0xa1, 1, 2, 3, 4 }, 6 },                    /* mov eax, moffs32 */
        { { 0xf0, 0x48, 0x0f, 0xb1, 0x0f }, 5 },              /* lock cmpxchg [rdi], rcx */
        { { 0x0f, 0xba, 0xe0, 0x05 }, 4 },                    /* bt eax, 5 */
        { { 0x41, 0xff, 0xd3 }, 3 },                          /* call r11 */
        { { 0xc2, 0x08, 0x00 }, 3 },                          /* ret 8 */
    };
    emu_ops_init();
    for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        struct emu_insn d;
        int len = emu_decode_bytes(cases[k].b, 15, 8, &d);
        if (len != cases[k].len)
            printf("  case %u: length %d, expected %d\n", k, len, cases[k].len);
        CHECK_EQ(len, cases[k].len);
    }
    /* 16-bit addressing: mov ax, [bp+si+0x1234] = 8b 82 34 12 */
    struct emu_insn d;
    CHECK_EQ(emu_decode_bytes(B(0x8b, 0x82, 0x34, 0x12), 15, 2, &d), 4);
    CHECK_EQ(d.base, 5);
    CHECK_EQ(d.index, 6);
    CHECK_EQ(d.seg, 2);   /* BP-based: SS */
    CHECK_EQ(d.disp, 0x1234);
    /* 32-bit mode: 40 is INC eax, not REX */
    CHECK_EQ(emu_decode_bytes(B(0x40), 15, 4, &d), 1);
    CHECK_EQ(d.op, 0x40);
    /* REX then a legacy prefix: the REX is dropped */
    CHECK_EQ(emu_decode_bytes(B(0x48, 0x66, 0x89, 0xc8), 15, 8, &d), 4);
    CHECK_EQ(d.opsize, 2);
    /* 15-byte limit */
    uint8_t lng[16];
    memset(lng, 0x66, sizeof(lng));
    lng[14] = 0x90;
    CHECK_EQ(emu_decode_bytes(lng, 16, 8, &d), 15);
    lng[14] = 0x66;
    lng[15] = 0x90;
    CHECK_EQ(emu_decode_bytes(lng, 16, 8, &d), EMU_DECODE_TOO_LONG);
    CHECK_EQ(emu_decode_bytes(B(0x48, 0x8b), 2, 8, &d), EMU_DECODE_MORE);
}

static void test_loop_sum(void)
{
    /* mov ecx, 1000; xor eax, eax; l: add eax, ecx; loop l; ud2 */
    SETUP(0xb9, 0xe8, 0x03, 0, 0, 0x31, 0xc0, 0x01, 0xc8, 0xe2, 0xfc, 0x0f, 0x0b);
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 500500);
    CHECK_EQ(cpu->rip, CODE + 11);
}

static void test_call_ret_stack(void)
{
    /* call f; ud2; f: push rbx; mov ebx, 42; mov rax, rbx; pop rbx; ret */
    SETUP(0xe8, 0x02, 0, 0, 0, 0x0f, 0x0b, 0x53, 0xbb, 42, 0, 0, 0, 0x48, 0x89, 0xd8, 0x5b, 0xc3);
    cpu->gpr[3] = 7;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 42);
    CHECK_EQ(cpu->gpr[3], 7);
    CHECK_EQ(cpu->gpr[4], STACK);
    CHECK_EQ(cpu->rip, CODE + 5);
}

static void test_div_by_zero(void)
{
    /* mov eax, 1; xor ecx, ecx; div ecx */
    SETUP(0xb8, 1, 0, 0, 0, 0x31, 0xc9, 0xf7, 0xf1, 0x0f, 0x0b);
    CHECK_EQ(run(), 0);
    CHECK_EQ(cpu->rip, CODE + 7);
    /* idiv overflow: mov eax, 0x80000000; cdq; mov ecx, -1; idiv ecx */
    SETUP(0xb8, 0, 0, 0, 0x80, 0x99, 0xb9, 0xff, 0xff, 0xff, 0xff, 0xf7, 0xf9, 0x0f, 0x0b);
    CHECK_EQ(run(), 0);
    CHECK_EQ(cpu->rip, CODE + 11);
    /* 64-bit divide: rdx:rax = 2^64 + 5 by 3 */
    SETUP(0xba, 1, 0, 0, 0, 0xb8, 5, 0, 0, 0, 0xb9, 3, 0, 0, 0, 0x48, 0xf7, 0xf1, 0x0f, 0x0b);
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 0x5555555555555557ULL);
    CHECK_EQ(cpu->gpr[2], 0);
}

static void test_page_fault(void)
{
    /* mov rax, [0x200000] (outside the 1 MiB of RAM) */
    SETUP(0x48, 0x8b, 0x04, 0x25, 0, 0, 0x20, 0, 0x0f, 0x0b);
    CHECK_EQ(run(), 14);
    CHECK_EQ(cpu->exc.cr2, 0x200000);
    CHECK_EQ(cpu->exc.errcode & 3, 0);
    CHECK_EQ(cpu->rip, CODE);
    /* write: mov [0x200000], eax */
    SETUP(0x89, 0x04, 0x25, 0, 0, 0x20, 0, 0x0f, 0x0b);
    CHECK_EQ(run(), 14);
    CHECK_EQ(cpu->exc.errcode & 2, 2);
    /* non-canonical: mov rax, [rbx] with rbx = 1 << 63 */
    SETUP(0x48, 0x8b, 0x03, 0x0f, 0x0b);
    cpu->gpr[3] = 1ULL << 63;
    CHECK_EQ(run(), 13);
}

static void test_undefined(void)
{
    SETUP(0x90, 0x0f, 0xff);            /* 0F FF: undefined */
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->rip, CODE + 1);
    SETUP(0xf0, 0x01, 0xc0);            /* lock add eax, eax: register form */
    CHECK_EQ(run(), 6);
    SETUP(0x06);                        /* push es: invalid in 64-bit mode */
    CHECK_EQ(run(), 6);
    static uint8_t lng[16];
    memset(lng, 0x66, 15);
    lng[15] = 0x90;
    setup(lng, 16);
    CHECK_EQ(run(), 13);
}

static void test_strings(void)
{
    /* lea rsi,[0x3000]; lea rdi,[0x4000]; mov ecx,100; rep movsb;
     * mov al,0x5a; mov ecx,50; lea rdi,[0x5000]; rep stosb;
     * lea rdi,[0x4000]; mov al,0x77; mov ecx,100; repne scasb; ud2 */
    SETUP(0xbe, 0x00, 0x30, 0, 0, 0xbf, 0x00, 0x40, 0, 0, 0xb9, 100, 0, 0, 0, 0xf3, 0xa4,
          0xb0, 0x5a, 0xb9, 50, 0, 0, 0, 0xbf, 0x00, 0x50, 0, 0, 0xf3, 0xaa,
          0xbf, 0x00, 0x40, 0, 0, 0xb0, 0x77, 0xb9, 100, 0, 0, 0, 0xf2, 0xae, 0x0f, 0x0b);
    for (int k = 0; k < 100; k++)
        ram[0x3000 + k] = (uint8_t)(k + 1);
    ram[0x3000 + 40] = 0x77;
    CHECK_EQ(run(), 6);
    CHECK(memcmp(ram + 0x3000, ram + 0x4000, 100) == 0);
    CHECK_EQ(ram[0x5000], 0x5a);
    CHECK_EQ(ram[0x5000 + 49], 0x5a);
    CHECK_EQ(ram[0x5000 + 50], 0);
    CHECK_EQ(cpu->gpr[7], 0x4000 + 41);   /* stopped after the match */
    CHECK_EQ(cpu->gpr[1], 100 - 41);
}

static void test_rep_large(void)
{
    /* rep movsq of 3000 qwords 0x10008 -> 0x30010 (page-crossing both);
     * rep stosd 1000 x 0xdeadbeef at 0x50002; overlapping rep movsb
     * 0x60000 -> 0x60001 (x86 replicates the first byte); ud2 */
    SETUP(0xbe, 0x08, 0x00, 0x01, 0x00, 0xbf, 0x10, 0x00, 0x03, 0x00, 0xb9, 0xb8, 0x0b, 0, 0,
          0xf3, 0x48, 0xa5,
          0xbf, 0x02, 0x00, 0x05, 0x00, 0xb8, 0xef, 0xbe, 0xad, 0xde, 0xb9, 0xe8, 0x03, 0, 0,
          0xf3, 0xab,
          0xbe, 0x00, 0x00, 0x06, 0x00, 0xbf, 0x01, 0x00, 0x06, 0x00, 0xb9, 0x00, 0x20, 0, 0,
          0xf3, 0xa4, 0x0f, 0x0b);
    for (int k = 0; k < 3000 * 8; k++)
        ram[0x10008 + k] = (uint8_t)(k * 7 + 3);
    ram[0x60000] = 0xab;
    CHECK_EQ(run(), 6);
    CHECK(memcmp(ram + 0x10008, ram + 0x30010, 3000 * 8) == 0);
    CHECK_EQ(cpu->gpr[6], 0x60000 + 0x2000);
    uint32_t v;
    memcpy(&v, ram + 0x50002 + 999 * 4, 4);
    CHECK_EQ(v, 0xdeadbeef);
    CHECK_EQ(ram[0x50002 + 4000], 0);
    CHECK_EQ(ram[0x60000 + 0x2000], 0xab);
    CHECK_EQ(ram[0x60000 + 0x1234], 0xab);
    CHECK_EQ(cpu->gpr[1], 0);
}

static void test_self_modifying(void)
{
    /* mov byte [rip+1], 0x07 modifies the immediate of the next
     * instruction (mov al, 0x05) inside the same block. */
    SETUP(0xc6, 0x05, 0x01, 0, 0, 0, 0x07,   /* mov byte [rip+1], 7 -> next insn's imm */
          0xb0, 0x05,                       /* mov al, 5 */
          0x0f, 0x0b);
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0] & 0xff, 7);
    /* A loop patching an immediate of a later block on every pass. */
    SETUP(0xb9, 0x0a, 0, 0, 0, 0x31, 0xdb, 0x31, 0xc0, 0x88, 0x0d, 0x03, 0, 0, 0,
          0xeb, 0x00, 0xb0, 0x00, 0x01, 0xc3, 0xe2, 0xf2, 0x0f, 0x0b);
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[3], 55);
    /* The same code run twice with a change in between (cache revalidation). */
    SETUP(0xb0, 0x05, 0x0f, 0x0b);
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0] & 0xff, 5);
    ram[CODE + 1] = 9;   /* like DMA: not through the CPU */
    cpu->rip = CODE;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0] & 0xff, 9);
}

static void test_page_crossing_insn(void)
{
    /* mov eax, 0x12345678 split over a page boundary */
    static const uint8_t code[] = { 0xb8, 0x78, 0x56, 0x34, 0x12, 0x0f, 0x0b };
    memset(ram, 0, RAM_SIZE);
    setup(code, 0);
    memcpy(ram + 0x1ffe, code, sizeof(code));
    cpu->rip = 0x1ffe;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 0x12345678);
    CHECK_EQ(cpu->rip, 0x2003);
}

static void test_misc(void)
{
    /* cpuid leaf 0 */
    SETUP(0x31, 0xc0, 0x0f, 0xa2, 0x0f, 0x0b);
    CHECK_EQ(run(), 6);
    CHECK(memcmp(&cpu->gpr[3], "Genu", 4) == 0);
    /* bswap, movzx, movsx, lea, cmov, setcc, xchg, bt, bsr, popcnt */
    SETUP(0xb8, 0x11, 0x22, 0x33, 0x44,       /* mov eax, 0x44332211 */
          0x0f, 0xc8,                         /* bswap eax */
          0x0f, 0xbe, 0xd8,                   /* movsx ebx, al */
          0x48, 0x8d, 0x4c, 0x58, 0x10,       /* lea rcx, [rax+rbx*2+16] */
          0x39, 0xc0,                         /* cmp eax, eax */
          0x0f, 0x94, 0xc2,                   /* sete dl */
          0x0f, 0xbd, 0xf0,                   /* bsr esi, eax */
          0xf3, 0x0f, 0xb8, 0xf8,             /* popcnt edi, eax */
          0x0f, 0x0b);
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 0x11223344);
    CHECK_EQ(cpu->gpr[3], 0x44);
    CHECK_EQ(cpu->gpr[1], 0x11223344 + 0x88 + 16);
    CHECK_EQ(cpu->gpr[2] & 0xff, 1);
    CHECK_EQ(cpu->gpr[6], 28);
    CHECK_EQ(cpu->gpr[7], 10);
    /* push/pop imm and enter/leave: push 0x1234; pop rax; enter 16,0; leave */
    SETUP(0x68, 0x34, 0x12, 0, 0, 0x58, 0xc8, 0x10, 0x00, 0x00, 0xc9, 0x0f, 0x0b);
    cpu->gpr[5] = 0x777;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 0x1234);
    CHECK_EQ(cpu->gpr[5], 0x777);
    CHECK_EQ(cpu->gpr[4], STACK);
}

/* 32-bit protected mode with flat segments. */
static void enter_prot32(void)
{
    cpu->mode = MODE_PROT32;
    cpu->efer = 0;
    cpu->cr4 = 0;
    for (int k = 0; k < 6; k++) {
        cpu->seg[k].l = 0;
        cpu->seg[k].db = 1;
        cpu->seg[k].base = 0;
        cpu->seg[k].limit = 0xffffffff;
    }
}

static void test_prot32(void)
{
    /* inc eax (40); dec ebx (4b); pusha; mov eax, 0; popa; mov cx, [bx+si+2] (67 8b 48 02);
     * push 5 (6a 05); pop edx; daa after add al (04 38); ud2 */
    SETUP(0x40, 0x4b, 0x60, 0xb8, 0, 0, 0, 0, 0x61, 0x66, 0x67, 0x8b, 0x48, 0x02,
          0x6a, 0x05, 0x5a, 0x0f, 0x0b);
    enter_prot32();
    cpu->gpr[0] = 0x41;
    cpu->gpr[3] = 0x100;
    cpu->gpr[6] = 0x1;
    ram[0x100 - 1 + 1 + 2] = 0x34;   /* bx(0xff) + si(1) + 2 = 0x102 */
    ram[0x103] = 0x12;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 0x42);
    CHECK_EQ(cpu->gpr[3], 0xff);
    CHECK_EQ(cpu->gpr[1] & 0xffff, 0x1234);
    CHECK_EQ(cpu->gpr[2], 5);
    CHECK_EQ(cpu->gpr[4], STACK);
    /* 0x48 in 32-bit mode is DEC eax, and 0F 05-free: AAA/DAS are valid */
    SETUP(0x48, 0xb0, 0x19, 0x04, 0x28, 0x27, 0x0f, 0x0b);   /* dec eax; mov al,0x19; add al,0x28; daa */
    enter_prot32();
    cpu->gpr[0] = 0x1000;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 0xf47);   /* 0x19 + 0x28 = 0x41 -> DAA 0x47 */
}

static void test_bound_arpl(void)
{
    /* bound eax, [0x3000]; arpl cx, dx; bound ebx, [0x3000] (out of range) */
    SETUP(0x62, 0x05, 0x00, 0x30, 0, 0, 0x63, 0xd1, 0x62, 0x1d, 0x00, 0x30, 0, 0, 0x0f, 0x0b);
    enter_prot32();
    int32_t b[2] = { -5, 10 };
    memcpy(ram + 0x3000, b, 8);
    cpu->gpr[0] = (uint32_t)-5;
    cpu->gpr[1] = 0x10;   /* RPL 0 */
    cpu->gpr[2] = 0x3;    /* RPL 3 */
    cpu->gpr[3] = 11;
    CHECK_EQ(run(), 5);
    CHECK_EQ(cpu->rip, CODE + 8);
    CHECK_EQ(cpu->gpr[1], 0x13);
    CHECK(emu_get_rflags(cpu) & RFLAGS_ZF);
}

static void test_real_mode(void)
{
    /* At 0100:0000 (linear 0x1000): mov ax, 0x1234; mov [bx+di], ax; mov ds, ...
     * (no segment loads: those are system.c's); add ax, [0x20]; jmp short +0; ud2 */
    SETUP(0xb8, 0x34, 0x12, 0x89, 0x01, 0x03, 0x06, 0x20, 0x00, 0xeb, 0x00, 0x0f, 0x0b);
    cpu->mode = MODE_REAL;
    cpu->efer = 0;
    cpu->cr0 = 0;
    for (int k = 0; k < 6; k++) {
        cpu->seg[k].l = 0;
        cpu->seg[k].db = 0;
        cpu->seg[k].limit = 0xffff;
        cpu->seg[k].selector = 0x100;
        cpu->seg[k].base = 0x1000;
    }
    cpu->seg[S_DS].selector = 0x200;
    cpu->seg[S_DS].base = 0x2000;
    cpu->rip = 0;
    cpu->gpr[3] = 0x10;
    cpu->gpr[7] = 0x5;
    ram[0x2020] = 0x01;
    ram[0x2021] = 0x01;
    CHECK_EQ(run(), 6);
    CHECK_EQ(ram[0x2015], 0x34);
    CHECK_EQ(ram[0x2016], 0x12);
    CHECK_EQ(cpu->gpr[0] & 0xffff, 0x1335);
    CHECK_EQ(cpu->rip, 11);
    /* an offset over the 64K limit faults: mov ax, [0xffff] (word) */
    SETUP(0xa1, 0xff, 0xff, 0x0f, 0x0b);
    cpu->mode = MODE_REAL;
    cpu->efer = 0;
    cpu->cr0 = 0;
    for (int k = 0; k < 6; k++) {
        cpu->seg[k].l = 0;
        cpu->seg[k].db = 0;
        cpu->seg[k].limit = 0xffff;
        cpu->seg[k].base = 0;
    }
    cpu->rip = 0x1000;
    CHECK_EQ(run(), 13);
}

/* Flags a later instruction overwrites are not computed, but a partial run
 * of the block (single step) must still see them. */
static void test_dead_flags(void)
{
    /* add eax, ebx; mov ecx, edx; rol esi, 3; xor edx, edx; ud2 */
    SETUP(0x01, 0xd8, 0x89, 0xd1, 0xc1, 0xc6, 0x03, 0x31, 0xd2, 0x0f, 0x0b);
    cpu->gpr[0] = 0xffffffff;
    cpu->gpr[3] = 1;
    cpu->gpr[2] = 5;
    cpu->gpr[6] = 0x80000001;
    CHECK_EQ(emu_execute(cpu, 1), 1);
    CHECK_EQ(cpu->rip, CODE + 2);
    uint64_t f = emu_get_rflags(cpu);
    CHECK(f & RFLAGS_CF);
    CHECK(f & RFLAGS_ZF);
    CHECK_EQ(run(), 6);
    f = emu_get_rflags(cpu);
    CHECK(!(f & RFLAGS_CF));
    CHECK(f & RFLAGS_ZF);
    CHECK_EQ(cpu->gpr[1], 5);
    CHECK_EQ(cpu->gpr[6], 0x0000000c);
    /* The whole block again (cached, flag-free add): same registers. */
    cpu->rip = CODE;
    cpu->gpr[0] = 0xffffffff;
    cpu->gpr[2] = 5;
    cpu->gpr[6] = 0x80000001;
    CHECK_EQ(run(), 6);
    CHECK_EQ(cpu->gpr[0], 0);
    CHECK_EQ(cpu->gpr[6], 0x0000000c);
    CHECK(emu_get_rflags(cpu) & RFLAGS_ZF);
}

static int hook_calls;
static void hook(struct emu_cpu *c)
{
    hook_calls++;
    c->gpr[0] = 99;
}

static void test_syscall_hook(void)
{
    SETUP(0xb8, 1, 0, 0, 0, 0x0f, 0x05, 0x0f, 0x0b);
    cpu->syscall_hook = hook;
    CHECK_EQ(run(), 6);
    cpu->syscall_hook = NULL;
    CHECK_EQ(hook_calls, 1);
    CHECK_EQ(cpu->gpr[0], 99);
    CHECK_EQ(cpu->gpr[1], CODE + 7);
}

/* ---- ALU flags against the host ----------------------------------------- */

struct regs { uint64_t rax, rbx, rcx, flags; };

/* push rbx; load rax rbx rcx and flags from [rdi]; <insn>; store them back; pop rbx; ret */
/* The host version moves flags with POPF/PUSHF; the emu version leaves
 * them out (those belong to system.c) and the test sets and reads RFLAGS. */
static size_t build_probe(uint8_t *p, const uint8_t *insn, size_t len, bool with_flags)
{
    static const uint8_t pre[] = { 0x53, 0x48, 0x8b, 0x07, 0x48, 0x8b, 0x5f, 0x08, 0x48, 0x8b,
                                   0x4f, 0x10, 0xff, 0x77, 0x18, 0x9d };
    static const uint8_t post[] = { 0x9c, 0x8f, 0x47, 0x18, 0x48, 0x89, 0x07, 0x48, 0x89, 0x5f,
                                    0x08, 0x48, 0x89, 0x4f, 0x10, 0x5b, 0xc3 };
    size_t n = 0;
    memcpy(p + n, pre, sizeof(pre) - (with_flags ? 0 : 4)); n += sizeof(pre) - (with_flags ? 0 : 4);
    memcpy(p + n, insn, len); n += len;
    memcpy(p + n, post + (with_flags ? 0 : 4), sizeof(post) - (with_flags ? 0 : 4));
    n += sizeof(post) - (with_flags ? 0 : 4);
    return n;
}

static uint64_t rnd_state = 88172645463325252ULL;
static uint64_t rnd(void)
{
    rnd_state ^= rnd_state << 13;
    rnd_state ^= rnd_state >> 7;
    rnd_state ^= rnd_state << 17;
    return rnd_state;
}

static uint64_t pick(void)
{
    static const uint64_t special[] = { 0, 1, 2, 0x7f, 0x80, 0xff, 0x7fff, 0x8000, 0xffff,
                                        0x7fffffff, 0x80000000, 0xffffffff, 0x7fffffffffffffffULL,
                                        0x8000000000000000ULL, ~0ULL, 0x0f, 0x10, 0x100 };
    uint64_t r = rnd();
    if ((r & 3) == 0)
        return special[(r >> 8) % (sizeof(special) / sizeof(special[0]))];
    switch ((r >> 4) & 3) {
    case 0: return rnd() & 0xff;
    case 1: return rnd() & 0xffff;
    default: return rnd();
    }
}

#define F_ALL 0x8d5ULL   /* CF PF AF ZF SF OF */
#define F_NOAF (F_ALL & ~0x10ULL)
#define F_CO 0x801ULL

static void test_flags_vs_host(void)
{
    static const struct { uint8_t b[8]; uint8_t len; uint64_t mask; uint8_t count_in_cl; const char *name; } ins[] = {
        { { 0x48, 0x01, 0xd8 }, 3, F_ALL, 0, "add rax,rbx" },
        { { 0x01, 0xd8 }, 2, F_ALL, 0, "add eax,ebx" },
        { { 0x66, 0x01, 0xd8 }, 3, F_ALL, 0, "add ax,bx" },
        { { 0x00, 0xd8 }, 2, F_ALL, 0, "add al,bl" },
        { { 0x48, 0x11, 0xd8 }, 3, F_ALL, 0, "adc rax,rbx" },
        { { 0x10, 0xd8 }, 2, F_ALL, 0, "adc al,bl" },
        { { 0x48, 0x29, 0xd8 }, 3, F_ALL, 0, "sub rax,rbx" },
        { { 0x28, 0xd8 }, 2, F_ALL, 0, "sub al,bl" },
        { { 0x48, 0x19, 0xd8 }, 3, F_ALL, 0, "sbb rax,rbx" },
        { { 0x66, 0x19, 0xd8 }, 3, F_ALL, 0, "sbb ax,bx" },
        { { 0x48, 0x39, 0xd8 }, 3, F_ALL, 0, "cmp rax,rbx" },
        { { 0x39, 0xd8 }, 2, F_ALL, 0, "cmp eax,ebx" },
        { { 0x48, 0x21, 0xd8 }, 3, F_NOAF, 0, "and rax,rbx" },
        { { 0x09, 0xd8 }, 2, F_NOAF, 0, "or eax,ebx" },
        { { 0x30, 0xd8 }, 2, F_NOAF, 0, "xor al,bl" },
        { { 0x48, 0x85, 0xd8 }, 3, F_NOAF, 0, "test rax,rbx" },
        { { 0x48, 0xff, 0xc0 }, 3, F_ALL, 0, "inc rax" },
        { { 0xfe, 0xc8 }, 2, F_ALL, 0, "dec al" },
        { { 0x66, 0xff, 0xc8 }, 3, F_ALL, 0, "dec ax" },
        { { 0x48, 0xf7, 0xd8 }, 3, F_ALL, 0, "neg rax" },
        { { 0xf6, 0xd8 }, 2, F_ALL, 0, "neg al" },
        { { 0x48, 0xd3, 0xe0 }, 3, F_NOAF, 1, "shl rax,cl" },
        { { 0xd3, 0xe0 }, 2, F_NOAF, 1, "shl eax,cl" },
        { { 0xd2, 0xe0 }, 2, F_NOAF, 1, "shl al,cl" },
        { { 0x66, 0xd3, 0xe8 }, 3, F_NOAF, 1, "shr ax,cl" },
        { { 0x48, 0xd3, 0xe8 }, 3, F_NOAF, 1, "shr rax,cl" },
        { { 0xd3, 0xf8 }, 2, F_NOAF, 1, "sar eax,cl" },
        { { 0xd2, 0xf8 }, 2, F_NOAF, 1, "sar al,cl" },
        { { 0x48, 0xd1, 0xe0 }, 3, F_NOAF, 0, "shl rax,1" },
        { { 0xd1, 0xe8 }, 2, F_NOAF, 0, "shr eax,1" },
        { { 0x48, 0xd3, 0xc0 }, 3, 0x1, 1, "rol rax,cl" },
        { { 0xd2, 0xc8 }, 2, 0x1, 1, "ror al,cl" },
        { { 0xd1, 0xc0 }, 2, F_CO, 0, "rol eax,1" },
        { { 0x66, 0xd1, 0xc8 }, 3, F_CO, 0, "ror ax,1" },
        { { 0xd2, 0xd0 }, 2, 0x1, 1, "rcl al,cl" },
        { { 0x48, 0xd3, 0xd8 }, 3, 0x1, 1, "rcr rax,cl" },
        { { 0xd1, 0xd0 }, 2, F_CO, 0, "rcl eax,1" },
        { { 0x66, 0xd1, 0xd8 }, 3, F_CO, 0, "rcr ax,1" },
        { { 0x48, 0x0f, 0xaf, 0xc3 }, 4, F_CO, 0, "imul rax,rbx" },
        { { 0x0f, 0xaf, 0xc3 }, 3, F_CO, 0, "imul eax,ebx" },
        { { 0x48, 0xf7, 0xe3 }, 3, F_CO, 0, "mul rbx" },
        { { 0xf6, 0xeb }, 2, F_CO, 0, "imul bl" },
        { { 0x48, 0x0f, 0xa5, 0xd8 }, 4, 0x8c5, 1, "shld rax,rbx,cl" },
        { { 0x0f, 0xad, 0xd8 }, 3, 0x8c5, 1, "shrd eax,ebx,cl" },
        { { 0x48, 0x0f, 0xa3, 0xd8 }, 4, 0x1, 0, "bt rax,rbx" },
        { { 0x48, 0x0f, 0xbb, 0xd8 }, 4, 0x1, 0, "btc rax,rbx" },
        { { 0x48, 0x0f, 0xb1, 0xd9 }, 4, F_ALL, 0, "cmpxchg rcx,rbx" },
        { { 0x48, 0x0f, 0xc1, 0xd8 }, 4, F_ALL, 0, "xadd rax,rbx" },
        { { 0x27 - 0x27 + 0x48, 0x0f, 0xbc, 0xc3 }, 4, 0x40, 0, "bsf rax,rbx" },
        { { 0xf3, 0x48, 0x0f, 0xbd, 0xc3 }, 5, 0x41, 0, "lzcnt rax,rbx" },
        { { 0xf3, 0x48, 0x0f, 0xb8, 0xc3 }, 5, F_ALL, 0, "popcnt rax,rbx" },
        { { 0x9e }, 1, F_ALL, 0, "sahf" },
        { { 0xf5 }, 1, F_ALL, 0, "cmc" },
    };
    uint8_t *host = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (host == MAP_FAILED) {
        printf("SKIP: test_flags_vs_host (no executable mapping)\n");
        return;
    }
    int bad = 0;
    for (unsigned k = 0; k < sizeof(ins) / sizeof(ins[0]); k++) {
        uint8_t emu_code[64];
        size_t n = build_probe(emu_code, ins[k].b, ins[k].len, false);
        build_probe(host, ins[k].b, ins[k].len, true);
        for (int t = 0; t < 300; t++) {
            struct regs in = { pick(), pick(), pick(), (rnd() & F_ALL) | 0x202 };
            if (ins[k].count_in_cl && (t & 1))
                in.rcx = rnd() % 70;
            struct regs h = in, e = in;
            ((void (*)(struct regs *))host)(&h);

            setup(emu_code, n);
            emu_set_rflags(cpu, in.flags);
            ram[0x100] = 0x0f;   /* return address: ud2 */
            ram[0x101] = 0x0b;
            memcpy(ram + 0x2000, &e, sizeof(e));
            cpu->gpr[7] = 0x2000;
            cpu->gpr[4] = STACK - 8;
            uint64_t ret = 0x100;
            memcpy(ram + STACK - 8, &ret, 8);
            int v = run();
            memcpy(&e, ram + 0x2000, sizeof(e));
            e.flags = emu_get_rflags(cpu);
            uint64_t m = ins[k].mask;
            /* Only count 1 defines OF for shifts and rotates. */
            if (ins[k].count_in_cl && (in.rcx & 0x3f) != 1)
                m &= ~0x800ULL;
            bool ok = v == 6 && e.rax == h.rax && e.rbx == h.rbx && e.rcx == h.rcx &&
                      (e.flags & m) == (h.flags & m);
            if (!ok && bad++ < 10)
                printf("  %s: in rax=%llx rbx=%llx rcx=%llx f=%llx: host rax=%llx rbx=%llx rcx=%llx f=%llx, "
                       "emu rax=%llx rbx=%llx rcx=%llx f=%llx (exc %d)\n", ins[k].name,
                       (unsigned long long)in.rax, (unsigned long long)in.rbx, (unsigned long long)in.rcx,
                       (unsigned long long)in.flags, (unsigned long long)h.rax, (unsigned long long)h.rbx,
                       (unsigned long long)h.rcx, (unsigned long long)(h.flags & m), (unsigned long long)e.rax,
                       (unsigned long long)e.rbx, (unsigned long long)e.rcx, (unsigned long long)(e.flags & m), v);
        }
    }
    CHECK_EQ(bad, 0);
    munmap(host, 4096);
}

/* A memory budget (--memory-limit) sizes a vCPU's caches: split 2/5 blocks,
 * 2/5 code (its data half as much again), within 4..128 MiB each; a small
 * arena flushes and the program still computes what it should. */
static void test_cache_budget(void)
{
    size_t arena, code;
    emu_cache_split(0, &arena, &code);
    CHECK(arena == 128u << 20 && code == 0);
    emu_cache_split(20u << 20, &arena, &code);
    CHECK(arena == 8u << 20 && code == 8u << 20);
    emu_cache_split(1u << 20, &arena, &code);
    CHECK(arena == 4u << 20 && code == 4u << 20);
    emu_cache_split((size_t)10 << 30, &arena, &code);
    CHECK(arena == 128u << 20 && code == 128u << 20);

    /* 100,000 blocks of INC EAX; JMP +0, then UD2: more than 4 MiB of
     * decoded blocks. */
    enum { N = 100000 };
    static uint8_t prog[N * 4 + 2];
    for (unsigned k = 0; k < N; k++)
        memcpy(prog + 4 * k, "\xff\xc0\xeb\x00", 4);
    memcpy(prog + 4 * N, "\x0f\x0b", 2);
    CHECK(CODE + sizeof(prog) < STACK);
    setup(prog, sizeof(prog));
    struct emu_block_cache *bc;
    CHECK(emu_cache_create(&bc, 1u << 20) == 0);
    CHECK(bc->arena_size == 4u << 20 && bc->code_size == 4u << 20);
    emu_cache_destroy(cpu->mmu.cache);   /* the one setup made */
    cpu->mmu.cache = bc;
    CHECK(run() == 6);
    CHECK(cpu->gpr[0] == N);
    CHECK(bc->flushes > 0);
}

int main(void)
{
    RUN_TEST(test_decode_lengths);
    RUN_TEST(test_loop_sum);
    RUN_TEST(test_call_ret_stack);
    RUN_TEST(test_div_by_zero);
    RUN_TEST(test_page_fault);
    RUN_TEST(test_undefined);
    RUN_TEST(test_strings);
    RUN_TEST(test_rep_large);
    RUN_TEST(test_self_modifying);
    RUN_TEST(test_page_crossing_insn);
    RUN_TEST(test_misc);
    RUN_TEST(test_syscall_hook);
    RUN_TEST(test_dead_flags);
    RUN_TEST(test_prot32);
    RUN_TEST(test_bound_arpl);
    RUN_TEST(test_real_mode);
    RUN_TEST(test_flags_vs_host);
    RUN_TEST(test_cache_budget);
    return CHECK_DONE();
}
