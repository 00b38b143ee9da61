/* smc: self-modifying code, run long enough for emu to translate it.  A
 * routine that stores into its own next instruction (the immediate of a
 * MOV) and must return the stored value; one that patches an instruction
 * further on in the same block; a routine rewritten from C between calls,
 * thousands of times (a guest that rewrites code in a loop); and code
 * copied into a fresh page, run, and replaced by other code there. */
#include "lib/cpu64.h"

/* patch_next(v): stores v into the immediate of the very next instruction
 * (mov $0, %al) and returns what that instruction loaded. */
uint8_t patch_next(uint8_t v);
/* patch_later(v): the same for an instruction four instructions further on. */
uint32_t patch_later(uint32_t v);
/* rewritten(): mov $imm32, %eax; ret (the immediate is patched from C). */
uint32_t rewritten(void);
extern uint8_t rewritten_imm[4];

__asm__(".text\n"
        ".globl patch_next\n"
        "patch_next:\n"
        "    movb %dil, 1f+1(%rip)\n"
        "1:  movb $0, %al\n"
        "    ret\n"
        ".globl patch_later\n"
        "patch_later:\n"
        "    movl %edi, 2f+1(%rip)\n"
        "    xorl %ecx, %ecx\n"
        "    addl $1, %ecx\n"
        "    addl $2, %ecx\n"
        "2:  movl $0, %eax\n"
        "    ret\n"
        ".globl rewritten\n"
        ".globl rewritten_imm\n"
        "rewritten:\n"
        "    .byte 0xb8\n"
        "rewritten_imm:\n"
        "    .long 0\n"
        "    ret\n");

/* A page of its own for generated code. */
static uint8_t code_page[4096] __attribute__((aligned(4096)));

typedef uint32_t (*fn32)(uint32_t);

/* Writes "lea k(%rdi), %eax; ret" (8D 87 disp32 C3) at code_page + off. */
static void emit_add(unsigned off, uint32_t k)
{
    volatile uint8_t *p = code_page + off;
    p[0] = 0x8d;
    p[1] = 0x87;
    p[2] = (uint8_t)k;
    p[3] = (uint8_t)(k >> 8);
    p[4] = (uint8_t)(k >> 16);
    p[5] = (uint8_t)(k >> 24);
    p[6] = 0xc3;
}

/* Writes "imul $k, %edi, %eax; ret" (69 C7 imm32 C3). */
static void emit_mul(unsigned off, uint32_t k)
{
    volatile uint8_t *p = code_page + off;
    p[0] = 0x69;
    p[1] = 0xc7;
    p[2] = (uint8_t)k;
    p[3] = (uint8_t)(k >> 8);
    p[4] = (uint8_t)(k >> 16);
    p[5] = (uint8_t)(k >> 24);
    p[6] = 0xc3;
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("smc: start\n");

    /* The store's target is the next instruction: executed as patched. */
    for (unsigned i = 0; i < 20000; i++) {
        uint8_t v = (uint8_t)(i * 7 + 1), r = patch_next(v);
        if (r != v)
            fail(1, "patching the next instruction: call %u returned %x, stored %x", i, r, v);
    }
    gprintf("patched next instruction: 20000 calls ok\n");

    for (unsigned i = 0; i < 20000; i++) {
        uint32_t v = i * 0x9e3779b9u, r = patch_later(v);
        if (r != v)
            fail(2, "patching an instruction later in the block: call %u returned %x, stored %x",
                 i, r, v);
    }
    gprintf("patched later instruction: 20000 calls ok\n");

    /* Rewritten between calls, each version run enough to be translated. */
    for (unsigned i = 0; i < 5000; i++) {
        uint32_t v = i * 2654435761u;
        memcpy(rewritten_imm, &v, 4);
        for (unsigned k = 0; k < 40; k++) {
            uint32_t r = rewritten();
            if (r != v)
                fail(3, "version %u of a rewritten routine, run %u: returned %x, expected %x",
                     i, k, r, v);
        }
    }
    gprintf("rewritten routine: 5000 versions ok\n");

    /* Generated code in its own page, replaced by different code. */
    fn32 f = (fn32)(uintptr_t)code_page;
    for (unsigned i = 0; i < 2000; i++) {
        uint32_t k = i + 3;
        if (i & 1)
            emit_mul(0, k);
        else
            emit_add(0, k);
        for (uint32_t x = 0; x < 30; x++) {
            uint32_t want = (i & 1) ? x * k : x + k, r = f(x);
            if (r != want)
                fail(4, "generated code version %u (%s %u) on %u: %u, expected %u", i,
                     (i & 1) ? "mul" : "add", k, x, r, want);
        }
    }
    gprintf("generated code: 2000 versions ok\n");
    gprintf("smc: ok\n");
}
