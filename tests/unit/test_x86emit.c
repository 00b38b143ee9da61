/* Unit tests of the translator's host instruction encoder (x86emit.h,
 * x86emit_vex.h): the bytes of each operand shape the translator uses
 * (checked against the Intel SDM's encodings and objdump), RIP-relative
 * displacements, rel32 jumps and their patching, and a buffer that runs
 * out of room: nothing is written past its end, `full` is set and stays
 * set, also when the caller moves the write position back. */
#include <stdint.h>
#include <string.h>

#include "check.h"
#include "engine/emu/alu.h"
#include "engine/emu/x86emit_vex.h"

static uint8_t mem[4096];

static void buf_init(struct xbuf *b, size_t size)
{
    memset(mem, 0xaa, sizeof(mem));
    memset(b, 0, sizeof(*b));
    b->p = mem;
    b->end = mem + size;
    b->rx_delta = 0x10000;   /* the "executable view" 64 KiB above */
}

/* The bytes emitted since `from` equal `want`. */
static int same_bytes(const uint8_t *from, const struct xbuf *b, const uint8_t *want, size_t n)
{
    if ((size_t)(b->p - from) != n) {
        printf("  %zu bytes emitted, expected %zu\n", (size_t)(b->p - from), n);
        return 0;
    }
    if (memcmp(from, want, n) != 0) {
        printf("  got");
        for (size_t k = 0; k < n; k++)
            printf(" %02x", from[k]);
        printf("\n");
        return 0;
    }
    return 1;
}

#define EXPECT(b, stmt, ...)                                                   \
    do {                                                                       \
        static const uint8_t want_[] = { __VA_ARGS__ };                        \
        uint8_t *from_ = (b)->p;                                               \
        stmt;                                                                  \
        CHECK(same_bytes(from_, (b), want_, sizeof(want_)));                   \
    } while (0)

static void test_moves_and_loads(void)
{
    struct xbuf b;
    buf_init(&b, sizeof(mem));
    EXPECT(&b, x_mov_rr(&b, 8, XAX, XCX), 0x48, 0x89, 0xc8);                 /* mov rax, rcx */
    EXPECT(&b, x_mov_rr(&b, 4, X8, XDX), 0x41, 0x89, 0xd0);                  /* mov r8d, edx */
    EXPECT(&b, x_mov_rr(&b, 1, XSI, XAX), 0x40, 0x88, 0xc6);                 /* mov sil, al */
    EXPECT(&b, x_mov_rr(&b, 2, XBX, X15), 0x66, 0x44, 0x89, 0xfb);           /* mov bx, r15w */
    EXPECT(&b, x_load(&b, 8, XDX, xm(XBP, 0)), 0x48, 0x8b, 0x55, 0x00);      /* mov rdx, [rbp] */
    EXPECT(&b, x_load(&b, 8, XAX, xmi(XBP, XAX, 0, 0x40)),                   /* mov rax, [rbp+rax+0x40] */
           0x48, 0x8b, 0x44, 0x05, 0x40);
    EXPECT(&b, x_load(&b, 4, X12, xm(XSP, 0x10)), 0x44, 0x8b, 0x64, 0x24, 0x10);   /* mov r12d, [rsp+0x10] */
    EXPECT(&b, x_load(&b, 1, XCX, xm(X13, 0)), 0x41, 0x0f, 0xb6, 0x4d, 0x00);      /* movzx ecx, byte [r13] */
    EXPECT(&b, x_load_sx(&b, 4, 8, XDX, xm(XCX, -8)), 0x48, 0x63, 0x51, 0xf8);     /* movsxd rdx, [rcx-8] */
    EXPECT(&b, x_store(&b, 2, xm(X13, 0x100), XCX),                          /* mov [r13+0x100], cx */
           0x66, 0x41, 0x89, 0x8d, 0x00, 0x01, 0x00, 0x00);
    EXPECT(&b, x_store_imm(&b, 8, xm(XBP, 8), (uint64_t)-2),                 /* mov qword [rbp+8], -2 */
           0x48, 0xc7, 0x45, 0x08, 0xfe, 0xff, 0xff, 0xff);
    EXPECT(&b, x_store_imm(&b, 2, xmi(XNONE, XDX, 2, 0x20), 0x1234),         /* mov word [rdx*4+0x20], 0x1234 */
           0x66, 0xc7, 0x04, 0x95, 0x20, 0x00, 0x00, 0x00, 0x34, 0x12);
    EXPECT(&b, x_mov_ri(&b, XAX, 0x12345678), 0xb8, 0x78, 0x56, 0x34, 0x12);
    EXPECT(&b, x_mov_ri(&b, X9, (uint64_t)-1), 0x49, 0xc7, 0xc1, 0xff, 0xff, 0xff, 0xff);
    EXPECT(&b, x_mov_ri(&b, XDX, 0x123456789aULL),
           0x48, 0xba, 0x9a, 0x78, 0x56, 0x34, 0x12, 0x00, 0x00, 0x00);
    EXPECT(&b, x_lea(&b, 8, XCX, xmi(X8, X9, 3, 0x7fffffff)),                /* lea rcx, [r8+r9*8+0x7fffffff] */
           0x4b, 0x8d, 0x8c, 0xc8, 0xff, 0xff, 0xff, 0x7f);
    EXPECT(&b, x_movzx_rr(&b, 1, XAX, XSI), 0x40, 0x0f, 0xb6, 0xc6);         /* movzx eax, sil */
    EXPECT(&b, x_movsx_rr(&b, 2, 8, X10, XAX), 0x4c, 0x0f, 0xbf, 0xd0);      /* movsx r10, ax */
    EXPECT(&b, x_movsx_rr(&b, 4, 8, XAX, X11), 0x49, 0x63, 0xc3);            /* movsxd rax, r11d */
    EXPECT(&b, x_bswap(&b, 8, X14), 0x49, 0x0f, 0xce);
    CHECK(!b.full);
}

static void test_arithmetic(void)
{
    struct xbuf b;
    buf_init(&b, sizeof(mem));
    EXPECT(&b, x_alu_ri(&b, 8, ALU_ADD, XSP, 8), 0x48, 0x83, 0xc4, 0x08);    /* add rsp, 8 */
    EXPECT(&b, x_alu_ri(&b, 4, ALU_AND, XAX, 0xffc0), 0x81, 0xe0, 0xc0, 0xff, 0x00, 0x00);
    EXPECT(&b, x_alu_ri(&b, 1, ALU_CMP, XDI, 5), 0x40, 0x80, 0xff, 0x05);    /* cmp dil, 5 */
    EXPECT(&b, x_alu_ri(&b, 2, ALU_SUB, XDX, 0x1234), 0x66, 0x81, 0xea, 0x34, 0x12);
    EXPECT(&b, x_alu_rr(&b, 8, ALU_XOR, X12, XAX), 0x49, 0x31, 0xc4);        /* xor r12, rax */
    EXPECT(&b, x_alu_rm(&b, 8, ALU_CMP, XDX, xmi(XBP, XAX, 0, 0x408)),       /* cmp rdx, [rbp+rax+0x408] */
           0x48, 0x3b, 0x94, 0x05, 0x08, 0x04, 0x00, 0x00);
    EXPECT(&b, x_alu_mr(&b, 4, ALU_OR, xm(X12, 4), XCX), 0x41, 0x09, 0x4c, 0x24, 0x04);   /* or [r12+4], ecx */
    EXPECT(&b, x_alu_mi(&b, 4, ALU_ADD, xmi(XNONE, XCX, 3, 0x10), 1),        /* add dword [rcx*8+0x10], 1 */
           0x83, 0x04, 0xcd, 0x10, 0x00, 0x00, 0x00, 0x01);
    EXPECT(&b, x_alu_mi(&b, 8, ALU_AND, xm(XAX, 0), 0x1000),                 /* and qword [rax], 0x1000 */
           0x48, 0x81, 0x20, 0x00, 0x10, 0x00, 0x00);
    EXPECT(&b, x_test_ri(&b, 1, XBX, 0x80), 0xf6, 0xc3, 0x80);               /* test bl, 0x80 */
    EXPECT(&b, x_test_rr(&b, 4, XSI, XSI), 0x85, 0xf6);
    EXPECT(&b, x_shift_ri(&b, 4, SH_SHL, XAX, 8), 0xc1, 0xe0, 0x08);
    EXPECT(&b, x_shift_cl(&b, 8, SH_SAR, X11), 0x49, 0xd3, 0xfb);
    EXPECT(&b, x_imul_rri(&b, 4, XAX, XDX, 1000), 0x69, 0xc2, 0xe8, 0x03, 0x00, 0x00);
    EXPECT(&b, x_imul_rri(&b, 2, XAX, XDX, -3), 0x66, 0x6b, 0xc2, 0xfd);
    EXPECT(&b, x_imul_rr(&b, 8, X8, XCX), 0x4c, 0x0f, 0xaf, 0xc1);
    EXPECT(&b, x_incdec(&b, 1, true, XSP), 0x40, 0xfe, 0xcc);                /* dec spl */
    EXPECT(&b, x_grp3(&b, 8, 3, XDX), 0x48, 0xf7, 0xda);                     /* neg rdx */
    EXPECT(&b, x_setcc(&b, 4, XCX), 0x0f, 0x94, 0xc1);                       /* sete cl */
    EXPECT(&b, x_setcc(&b, 5, XSI), 0x40, 0x0f, 0x95, 0xc6);                 /* setne sil */
    EXPECT(&b, x_cmov(&b, 8, 0xc, XAX, X9), 0x49, 0x0f, 0x4c, 0xc1);         /* cmovl rax, r9 */
    EXPECT(&b, x_vzeroupper(&b), 0xc5, 0xf8, 0x77);
    EXPECT(&b, x_vmovdqu_load(&b, 1, xm(XBP, 0x20)), 0xc4, 0xe1, 0x7a, 0x6f, 0x4d, 0x20);   /* vmovdqu xmm1, [rbp+0x20] */
    CHECK(!b.full);
}

/* RIP-relative operands count from the end of the instruction, as the
 * executable view sees it; jumps are patched to executable addresses. */
static void test_rip_relative_and_jumps(void)
{
    struct xbuf b;
    buf_init(&b, sizeof(mem));
    uint64_t rx = x_rx(&b);
    CHECK_EQ(rx, (uint64_t)(uintptr_t)mem + 0x10000);
    /* mov eax, [rip + d]: 6 bytes, d from the next instruction */
    x_load(&b, 4, XAX, xmrip((const void *)(uintptr_t)(rx + 100)));
    int32_t d;
    memcpy(&d, mem + 2, 4);
    CHECK_EQ(mem[0], 0x8b);
    CHECK_EQ(mem[1], 0x05);
    CHECK_EQ(d, 100 - 6);
    /* add dword [rip + d], 1: the immediate counts too */
    uint8_t *at = b.p;
    x_alu_mi(&b, 4, ALU_ADD, xmrip((const void *)(uintptr_t)rx), 1);
    CHECK_EQ(b.p - at, 7);
    memcpy(&d, at + 2, 4);
    CHECK_EQ(d, -(int32_t)(at - mem) - 7);
    /* jne rel32, patched backwards to the start */
    uint8_t *jne = x_jcc32(&b, 5);
    CHECK_EQ(jne[-2], 0x0f);
    CHECK_EQ(jne[-1], 0x85);
    CHECK(jne + 4 == b.p);
    x_patch32(&b, jne, rx);
    memcpy(&d, jne, 4);
    CHECK_EQ(d, -(int32_t)(jne + 4 - mem));
    uint8_t *jmp = x_jmp32(&b);
    CHECK_EQ(jmp[-1], 0xe9);
    x_patch32(&b, jmp, x_rx(&b) + 16);
    memcpy(&d, jmp, 4);
    CHECK_EQ(d, 16);
    CHECK(!b.full);
}

/* A small buffer: instructions go on being "emitted" after it is full,
 * none of their bytes lands past its end, and `full` stays set, also
 * after the caller moves the write position back into the buffer (as
 * jit.c does when it drops an instruction's code). */
static void test_full_buffer(void)
{
    struct xbuf b;
    buf_init(&b, 64);
    uint8_t *first_jne = x_jcc32(&b, 4);
    for (int k = 0; k < 40; k++) {
        x_store(&b, 8, xmi(X13, X14, 3, 0x12345678), X15);   /* 8 bytes each */
        x_mov_ri(&b, XDX, 0x123456789aULL);
        x8(&b, 0x90);
        x32(&b, 0xdeadbeef);
    }
    CHECK(b.full);
    for (size_t k = 64; k < sizeof(mem); k++)
        if (mem[k] != 0xaa) {
            printf("  byte %zu past the end written\n", k);
            check_failed_now = 1;
            break;
        }
    /* Moved back, the buffer still counts as full and writes nowhere. */
    uint8_t before[64];
    memcpy(before, mem, 64);
    b.p = mem + 8;
    for (int k = 0; k < 10; k++)
        x_alu_ri(&b, 8, ALU_ADD, XAX, 0x1000);
    CHECK(b.full);
    CHECK(memcmp(before, mem, 64) == 0);
    x_patch32(&b, first_jne, x_rx(&b));   /* nothing: the output is discarded */
    CHECK(memcmp(before, mem, 64) == 0);
    for (size_t k = 64; k < sizeof(mem); k++)
        CHECK(mem[k] == 0xaa);

    /* An instruction fits only with X_ROOM bytes left: a 16-byte buffer
     * takes one, a 15-byte buffer none. */
    buf_init(&b, X_ROOM);
    x_alu_ri(&b, 8, ALU_ADD, XAX, 1);
    CHECK(!b.full);
    CHECK_EQ(b.p - mem, 4);
    buf_init(&b, X_ROOM - 1);
    x8(&b, 0xc3);
    CHECK(b.full);
    CHECK_EQ(mem[0], 0xaa);
}

int main(void)
{
    RUN_TEST(test_moves_and_loads);
    RUN_TEST(test_arithmetic);
    RUN_TEST(test_rip_relative_and_jumps);
    RUN_TEST(test_full_buffer);
    return CHECK_DONE();
}
