/* Differential harness for emu's SSE/MMX/x87 handlers: the same instruction
 * bytes run natively on the host (in a generated stub, state loaded with
 * FXRSTOR64 and saved with FXSAVE64) and through emu's handlers; the test
 * compares registers, flags, MXCSR, the x87 state and memory.
 *
 * The handlers are driven without emu's decoder and MMU: a small decoder
 * below understands the SSE/x87 encodings the tests generate, and weak
 * stand-ins for the MMU and flag helpers work on a flat test buffer (the
 * real ones win when linked in). */
#ifndef EMU_SIMD_DIFF_H
#define EMU_SIMD_DIFF_H

#include <setjmp.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <signal.h>
#include <sys/mman.h>

#include "engine/emu/cpu.h"
#include "engine/emu/sse.h"

#ifndef EMU_SIMD_REAL
/* ---- stand-ins for the rest of emu ---- */

#define RAM_SIZE 0x1000
static uint8_t test_ram[RAM_SIZE] __attribute__((aligned(64)));

__attribute__((weak)) emu_handler emu_ops[4][256];

__attribute__((weak)) _Noreturn void emu_raise(struct emu_cpu *c, int vector, int errcode)
{
    c->exc.vector = vector;
    c->exc.errcode = errcode;
    longjmp(c->jmp, 1);
}

static void ram_check(struct emu_cpu *c, uint64_t la, unsigned len)
{
    if (la > RAM_SIZE || len > RAM_SIZE - la)
        emu_raise(c, EXC_PF, 0);
}

__attribute__((weak)) uint64_t emu_read(struct emu_cpu *c, uint64_t la, unsigned size)
{
    uint64_t v = 0;
    ram_check(c, la, size);
    memcpy(&v, test_ram + la, size);
    return v;
}

__attribute__((weak)) void emu_write(struct emu_cpu *c, uint64_t la, unsigned size, uint64_t val)
{
    ram_check(c, la, size);
    memcpy(test_ram + la, &val, size);
}

__attribute__((weak)) void emu_read_buf(struct emu_cpu *c, uint64_t la, void *buf, unsigned len)
{
    ram_check(c, la, len);
    memcpy(buf, test_ram + la, len);
}

__attribute__((weak)) void emu_write_buf(struct emu_cpu *c, uint64_t la, const void *buf, unsigned len)
{
    ram_check(c, la, len);
    memcpy(test_ram + la, buf, len);
}

__attribute__((weak)) uint64_t emu_translate(struct emu_cpu *c, uint64_t la, int access)
{
    (void)access;
    ram_check(c, la, 1);
    return la;
}

__attribute__((weak)) uint64_t emu_ea(struct emu_cpu *c, const struct emu_insn *i)
{
    return c->gpr[i->base] + i->disp;
}

__attribute__((weak)) uint64_t emu_linear(struct emu_cpu *c, int seg, uint64_t offset, unsigned len, bool write)
{
    (void)c; (void)seg; (void)len; (void)write;
    return offset;
}

__attribute__((weak)) uint64_t emu_get_rflags(struct emu_cpu *c)
{
    return c->rflags;
}

__attribute__((weak)) void emu_set_rflags(struct emu_cpu *c, uint64_t rflags)
{
    c->rflags = rflags;
}

__attribute__((weak)) bool emu_cond(struct emu_cpu *c, unsigned cc)
{
    uint64_t f = c->rflags;
    bool cf = f & RFLAGS_CF, zf = f & RFLAGS_ZF, sf = f & RFLAGS_SF, of = f & RFLAGS_OF, pf = f & RFLAGS_PF;
    bool r;
    switch (cc >> 1) {
    case 0: r = of; break;
    case 1: r = cf; break;
    case 2: r = zf; break;
    case 3: r = cf || zf; break;
    case 4: r = sf; break;
    case 5: r = pf; break;
    case 6: r = sf != of; break;
    default: r = zf || sf != of; break;
    }
    return (cc & 1) ? !r : r;
}

/* ---- a decoder for the encodings the tests use ---- */

/* Memory operands are always [rsi] (mod 0, rm 6). */
static int mini_decode(const uint8_t *b, unsigned len, struct emu_insn *i)
{
    unsigned p = 0;
    memset(i, 0, sizeof(*i));
    i->opsize = 4;
    i->adsize = 8;
    i->seg = S_DS;
    i->base = 0xff;
    i->index = 0xff;
    for (;; p++) {
        if (b[p] == 0x66) {
            i->prefix |= PFX_OPSIZE;
            i->opsize = 2;
        } else if (b[p] == 0xf2) {
            i->prefix = (i->prefix & ~PFX_REP) | PFX_REPNE;
        } else if (b[p] == 0xf3) {
            i->prefix = (i->prefix & ~PFX_REPNE) | PFX_REP;
        } else {
            break;
        }
    }
    if ((b[p] & 0xf0) == 0x40) {
        i->rex = b[p++];
        i->prefix |= PFX_REX;
        if (i->rex & 8)
            i->opsize = 8;
    }
    if (b[p] == 0x0f) {
        p++;
        if (b[p] == 0x38) {
            i->map = MAP_0F38;
            p++;
        } else if (b[p] == 0x3a) {
            i->map = MAP_0F3A;
            p++;
        } else {
            i->map = MAP_0F;
        }
    } else {
        i->map = MAP_1;
    }
    i->op = b[p++];
    if (i->map == MAP_0F && i->op == 0x77) {   /* emms: no ModRM */
        i->len = p;
        return p == len ? 0 : -1;
    }
    i->modrm = b[p++];
    i->mod = i->modrm >> 6;
    i->reg = ((i->modrm >> 3) & 7) | ((i->rex & 4) << 1);
    i->rm = (i->modrm & 7) | ((i->rex & 1) << 3);
    if (i->mod != 3) {
        if (i->mod != 0 || (i->modrm & 7) != 6)
            return -1;
        i->base = R_RSI;
    }
    if (p < len)
        i->imm = b[p++];
    i->len = p;
    return p == len ? 0 : -1;
}

#endif /* !EMU_SIMD_REAL */

/* ---- the state both sides start from and end in ---- */

struct simd_state {
    uint8_t fx[512];          /* FXSAVE64 image: x87, MXCSR, xmm0-15 */
    uint64_t gpr[16];
    uint64_t rflags;
    uint8_t mem[128] __attribute__((aligned(64)));   /* what [rsi] points at */
    uint32_t host_mxcsr;      /* restored after the instruction */
} __attribute__((aligned(64)));

#define FX_MXCSR 24

/* [rsi] points mem_skew bytes into the buffer: 0, or 8 to check which
 * forms demand 16-byte alignment (#GP, SIGSEGV on the host). */
static unsigned mem_skew;

/* ---- the host side ---- */

static uint8_t *stub_page;

static void emit(unsigned *n, const void *b, unsigned len)
{
    memcpy(stub_page + *n, b, len);
    *n += len;
}

static void emit_disp(unsigned *n, const uint8_t *op, unsigned oplen, uint32_t disp)
{
    emit(n, op, oplen);
    emit(n, &disp, 4);
}

#define GPR_OFF(r) ((uint32_t)(offsetof(struct simd_state, gpr) + 8 * (r)))

/* The registers tests may use as GPR operands (rsi is the memory pointer,
 * rdi the state pointer). */
static const unsigned test_gprs[] = { R_RAX, R_RCX, R_RDX, R_R8, R_R9, R_R10, R_R11 };

static sigjmp_buf host_fault_jmp;
static volatile int host_fault_sig;

static void host_fault(int sig)
{
    host_fault_sig = sig;
    siglongjmp(host_fault_jmp, 1);
}

/* Returns 0, or the signal the instruction raised on the host. */
static int host_run(struct simd_state *s, const uint8_t *insn, unsigned len)
{
    unsigned n = 0;
    static const uint8_t fxrstor[] = { 0x48, 0x0f, 0xae, 0x0f }, fxsave[] = { 0x48, 0x0f, 0xae, 0x07 };
    if (!stub_page) {
        stub_page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
        if (stub_page == MAP_FAILED) {
            perror("mmap of the host stub");
            exit(1);
        }
    }
    emit(&n, fxrstor, 4);
    for (unsigned k = 0; k < sizeof(test_gprs) / sizeof(test_gprs[0]); k++) {
        unsigned r = test_gprs[k];
        uint8_t op[3] = { (uint8_t)(0x48 | (r >= 8 ? 4 : 0)), 0x8b, (uint8_t)(0x87 | ((r & 7) << 3)) };
        emit_disp(&n, op, 3, GPR_OFF(r));
    }
    {
        uint8_t op[3] = { 0x48, 0x8d, 0xb7 };   /* lea rsi, [rdi + mem] */
        emit_disp(&n, op, 3, (uint32_t)(offsetof(struct simd_state, mem) + mem_skew));
        uint8_t push[2] = { 0xff, 0xb7 };       /* push [rdi + rflags]; popfq */
        emit_disp(&n, push, 2, offsetof(struct simd_state, rflags));
        emit(&n, "\x9d", 1);
    }
    emit(&n, insn, len);
    {
        uint8_t pop[2] = { 0x8f, 0x87 };        /* pushfq; pop [rdi + rflags] */
        emit(&n, "\x9c", 1);
        emit_disp(&n, pop, 2, offsetof(struct simd_state, rflags));
    }
    for (unsigned k = 0; k < sizeof(test_gprs) / sizeof(test_gprs[0]); k++) {
        unsigned r = test_gprs[k];
        uint8_t op[3] = { (uint8_t)(0x48 | (r >= 8 ? 4 : 0)), 0x89, (uint8_t)(0x87 | ((r & 7) << 3)) };
        emit_disp(&n, op, 3, GPR_OFF(r));
    }
    emit(&n, fxsave, 4);
    {
        /* give the host back an empty x87 stack and its own MXCSR */
        uint8_t ld[3] = { 0x0f, 0xae, 0x97 };
        emit(&n, "\xdb\xe3", 2);
        emit_disp(&n, ld, 3, offsetof(struct simd_state, host_mxcsr));
    }
    emit(&n, "\xc3", 1);
    __asm__ volatile("stmxcsr %0" : "=m"(s->host_mxcsr));
    if (sigsetjmp(host_fault_jmp, 1)) {
        __asm__ volatile("fninit\n\tldmxcsr %0" : : "m"(s->host_mxcsr));
        return host_fault_sig;
    }
    signal(SIGILL, host_fault);
    signal(SIGSEGV, host_fault);
    signal(SIGFPE, host_fault);
    signal(SIGBUS, host_fault);
    ((void (*)(struct simd_state *))(void *)stub_page)(s);
    signal(SIGILL, SIG_DFL);
    signal(SIGSEGV, SIG_DFL);
    signal(SIGFPE, SIG_DFL);
    signal(SIGBUS, SIG_DFL);
    return 0;
}

/* ---- the emu side ---- */

#ifdef EMU_SIMD_REAL
#include "engine/emu/emu.h"

/* The whole CPU: decoder, block cache, executor, MMU.  Code at CODE_OFF
 * runs FXRSTOR64 [rbx]; the instruction; FXSAVE64 [rbx]. */
#define REAL_RAM_SIZE 0x10000
#define EMU_MEM_OFF 0x100
#define EMU_FX_OFF  0x200
#define CODE_OFF    0x2000
static uint8_t *real_ram;

static int emu_side(struct emu_cpu *c, struct simd_state *s, const uint8_t *insn, unsigned len)
{
    static const uint8_t rstor[] = { 0x48, 0x0f, 0xae, 0x0b }, sv[] = { 0x48, 0x0f, 0xae, 0x03 };
    static bool ready;
    uint8_t *code;
    if (!real_ram) {
        real_ram = aligned_alloc(4096, REAL_RAM_SIZE);
        if (!real_ram)
            exit(1);
        memset(real_ram, 0, REAL_RAM_SIZE);
    }
    if (!ready) {
        emu_cpu_init_flat(c, real_ram, REAL_RAM_SIZE, 0);
        c->exc_to_caller = true;
        ready = true;
    }
    code = real_ram + CODE_OFF;
    memcpy(code, rstor, 4);
    memcpy(code + 4, insn, len);
    memcpy(code + 4 + len, sv, 4);
    code[8 + len] = 0xf4;
    memcpy(real_ram + EMU_FX_OFF, s->fx, 512);
    memcpy(real_ram + EMU_MEM_OFF, s->mem, sizeof(s->mem));
    memcpy(c->gpr, s->gpr, sizeof(c->gpr));
    c->gpr[R_RSI] = EMU_MEM_OFF + mem_skew;
    c->gpr[R_RBX] = EMU_FX_OFF;
    emu_set_rflags(c, s->rflags);
    c->rip = CODE_OFF;
    c->exc.vector = -1;
    emu_execute(c, 3);
    if (c->exc.vector >= 0) {
        int v = c->exc.vector;
        if (c->rip != CODE_OFF + 4)
            printf("  fault at rip %#llx\n", (unsigned long long)c->rip);
        c->exc.vector = -1;
        return v;
    }
    if (c->rip != CODE_OFF + 8 + len) {
        printf("  emu ended at rip %#llx, expected %#x\n", (unsigned long long)c->rip, CODE_OFF + 8 + len);
        return -3;
    }
    memcpy(s->fx, real_ram + EMU_FX_OFF, 512);
    memcpy(s->gpr, c->gpr, sizeof(c->gpr));
    s->rflags = emu_get_rflags(c);
    memcpy(s->mem, real_ram + EMU_MEM_OFF, sizeof(s->mem));
    return -1;
}
#else

#define EMU_MEM_OFF 0x100
#define EMU_FX_OFF  0x200

/* Runs one decoded instruction through its handler; returns the vector
 * raised, or -1. */
static int emu_run_insn(struct emu_cpu *c, const struct emu_insn *i)
{
    emu_handler h = emu_ops[i->map][i->op];
    if (!h)
        return EXC_UD;
    c->exc.vector = -1;
    if (setjmp(c->jmp))
        return c->exc.vector;
    h(c, i);
    return -1;
}

static int emu_run_bytes(struct emu_cpu *c, const uint8_t *b, unsigned len)
{
    struct emu_insn i;
    if (mini_decode(b, len, &i)) {
        printf("  test decoder cannot decode its own instruction\n");
        return -2;
    }
    return emu_run_insn(c, &i);
}

/* Loads/saves emu's whole FPU/SSE state through its own FXRSTOR64/FXSAVE64. */
static int emu_fx(struct emu_cpu *c, bool save)
{
    static const uint8_t rstor[] = { 0x48, 0x0f, 0xae, 0x0e }, sv[] = { 0x48, 0x0f, 0xae, 0x06 };
    uint64_t rsi = c->gpr[R_RSI];
    int r;
    c->gpr[R_RSI] = EMU_FX_OFF;
    r = emu_run_bytes(c, save ? sv : rstor, 4);
    c->gpr[R_RSI] = rsi;
    return r;
}

static int emu_side(struct emu_cpu *c, struct simd_state *s, const uint8_t *insn, unsigned len)
{
    int r;
    memset(c, 0, sizeof(*c));
    c->mode = MODE_LONG64;
    memcpy(test_ram + EMU_FX_OFF, s->fx, 512);
    if (emu_fx(c, false) != -1)
        return -2;
    memcpy(c->gpr, s->gpr, sizeof(c->gpr));
    c->gpr[R_RSI] = EMU_MEM_OFF + mem_skew;
    c->rflags = s->rflags;
    memcpy(test_ram + EMU_MEM_OFF, s->mem, sizeof(s->mem));
    r = emu_run_bytes(c, insn, len);
    if (emu_fx(c, true) != -1)
        return -2;
    memcpy(s->fx, test_ram + EMU_FX_OFF, 512);
    memcpy(s->gpr, c->gpr, sizeof(c->gpr));
    s->rflags = c->rflags;
    memcpy(s->mem, test_ram + EMU_MEM_OFF, sizeof(s->mem));
    return r;
}

#endif /* EMU_SIMD_REAL */

/* ---- random states with edge values ---- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint64_t rnd(void)
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

static uint32_t edge32(void)
{
    static const uint32_t e[] = {
        0, 0x80000000, 0x3f800000, 0xbf800000, 0x00000001, 0x007fffff, 0x80400000,
        0x7f800000, 0xff800000, 0x7fc00000, 0xffc00000, 0x7f800001, 0xffa00000,
        0x7f7fffff, 0xff7fffff, 0x00800000, 0x4f000000, 0xcf000000, 0x4effffff,
        0x5f000000, 0xdf000000, 0x3f000000, 0x3fc00000, 0x40200000, 0x7fffffff, 1, 0xffffffff,
    };
    switch (rnd() % 4) {
    case 0: return e[rnd() % (sizeof(e) / sizeof(e[0]))];
    case 1: return (uint32_t)rnd();
    case 2: {   /* a float near an integer, for rounding and conversion */
        float f = (float)((int64_t)(rnd() % 2000) - 1000) / 4.0f;
        uint32_t v;
        memcpy(&v, &f, 4);
        return v;
    }
    default: {   /* bytes with zeros and small letters, for string compares */
        uint32_t v = 0;
        for (int k = 0; k < 4; k++) {
            unsigned x = rnd() % 8;
            v |= (uint32_t)(x == 0 ? 0 : 'a' + x) << (8 * k);
        }
        return v;
    }
    }
}

static uint64_t edge64(void)
{
    static const uint64_t e[] = {
        0, 0x8000000000000000ull, 0x3ff0000000000000ull, 0xbff0000000000000ull, 1,
        0x000fffffffffffffull, 0x7ff0000000000000ull, 0xfff0000000000000ull,
        0x7ff8000000000000ull, 0xfff8000000000000ull, 0x7ff0000000000001ull,
        0x7fefffffffffffffull, 0x0010000000000000ull, 0x43e0000000000000ull,
        0xc3e0000000000000ull, 0x41dfffffffc00000ull, 0x41e0000000000000ull,
        0x3fe0000000000000ull, 0x4004000000000000ull, 0x7fffffffffffffffull,
        0x36a0000000000000ull, 0x47f0000000000000ull,
    };
    switch (rnd() % 3) {
    case 0: return e[rnd() % (sizeof(e) / sizeof(e[0]))];
    case 1: {
        double d = (double)((int64_t)(rnd() % 2000) - 1000) / 4.0;
        uint64_t v;
        memcpy(&v, &d, 8);
        return v;
    }
    default: return (uint64_t)edge32() | (uint64_t)edge32() << 32;
    }
}

static void rnd_vec(uint8_t *v16)
{
    uint64_t q[2];
    if (rnd() % 2) {
        q[0] = edge64();
        q[1] = edge64();
    } else {
        q[0] = (uint64_t)edge32() | (uint64_t)edge32() << 32;
        q[1] = (uint64_t)edge32() | (uint64_t)edge32() << 32;
    }
    memcpy(v16, q, 16);
}

static void rnd_x87(uint8_t *v10)
{
    long double v = 0;
    uint64_t m;
    uint16_t e;
    switch (rnd() % 6) {
    case 0: v = (long double)(int64_t)(rnd() % 2001 - 1000) / 8; break;
    case 1: v = (long double)(int64_t)rnd() * 1e-5L; break;
    case 2: {
        static const long double k[] = { 0.0L, -0.0L, 1.0L, -1.0L, 0.5L, 1e4000L, -1e4000L, 3.0L,
                                         1e-4940L, 1.1e-4932L, 2.5L, 1e300L, 123456789.75L };
        v = k[rnd() % (sizeof(k) / sizeof(k[0]))];
        break;
    }
    case 3:   /* infinities and NaNs */
        m = (rnd() % 3 == 0) ? 0x8000000000000000ull : (0x8000000000000000ull | (rnd() >> 1));
        e = 0x7fff | (uint16_t)((rnd() & 1) << 15);
        memcpy(&v, &m, 8);
        memcpy((uint8_t *)&v + 8, &e, 2);
        break;
    default: {
        double d;
        uint64_t b = edge64();
        memcpy(&d, &b, 8);
        v = (long double)d;
        break;
    }
    }
    memcpy(v10, &v, 10);
}

/* A fresh random state: rounding, DAZ, FZ and precision vary; MXCSR
 * sometimes unmasks exceptions (the host then traps and emu must fault),
 * and so does FCW (the x87 defers the fault: results must match). */
static void rnd_state(struct simd_state *s)
{
    uint32_t mxcsr;
    uint16_t fcw, fsw;
    memset(s, 0, sizeof(*s));
    fcw = 0x037f;
    if (rnd() % 4 == 0)
        fcw = 0x007f | (uint16_t)((rnd() % 4) << 10) | (uint16_t)((rnd() % 4) << 8);
    fsw = (uint16_t)(rnd() & 0x4741) | (uint16_t)((rnd() % 8) << 11);   /* CC, IE/SF/PE, TOP */
    /* x87 exceptions unmasked now and then; OE/UE only on request: emu
     * lacks the bias-adjusted results of FYL2X/FPATAN/... (docs/emu-simd.md) */
    if (rnd() % 4 == 0)
        fcw &= (uint16_t)~(rnd() & (getenv("EMU_X87_UNMASK") ? 0x3f : 0x27));
    fsw &= ~0x80;
    fsw &= (uint16_t)~(0x3f & ~fcw);   /* nothing pending at the start */
    memcpy(s->fx + 0, &fcw, 2);
    memcpy(s->fx + 2, &fsw, 2);
    s->fx[4] = (uint8_t)rnd();
    if (rnd() % 3 == 0)
        s->fx[4] = 0xff;
    if (rnd() % 3 == 0)
        s->fx[4] = 0;
    mxcsr = 0x1f80 | (uint32_t)(rnd() & 0x3f);
    if (rnd() % 3 == 0)
        mxcsr |= (uint32_t)((rnd() % 4) << 13);
    if (rnd() % 4 == 0)
        mxcsr |= 0x8000;
    if (rnd() % 4 == 0)
        mxcsr |= 0x40;
    if (rnd() % 5 == 0)   /* some exceptions unmasked: the host traps (SIGFPE) */
        mxcsr &= ~(uint32_t)((rnd() & 0x3f) << 7);
    memcpy(s->fx + FX_MXCSR, &mxcsr, 4);
    {
        uint32_t mask = 0xffff;
        memcpy(s->fx + 28, &mask, 4);
    }
    for (unsigned k = 0; k < 8; k++)
        rnd_x87(s->fx + 32 + 16 * k);
    for (unsigned k = 0; k < 16; k++)
        rnd_vec(s->fx + 160 + 16 * k);
    for (unsigned k = 0; k < 16; k++)
        s->gpr[k] = rnd() % 2 ? rnd() : rnd() % 40 - 20;
    s->rflags = 0x202 | (rnd() & 0x8d5);
    for (unsigned k = 0; k < sizeof(s->mem); k += 16)
        rnd_vec(s->mem + k);
}

/* Memory bytes a test does not compare (instruction addresses that
 * FNSTENV/FNSAVE store). */
static uint8_t mem_ignore[128];

/* Compares the two end states; prints the first differences. */
static int state_diff(const struct simd_state *h, const struct simd_state *e, const char *what)
{
    int bad = 0;
    for (unsigned k = 0; k < 416; k++) {
        if (k >= 6 && k < 24)
            continue;   /* FOP, FIP, FDP: addresses differ by design */
        if (k >= 28 && k < 32)
            continue;   /* MXCSR_MASK: a model property (AMD hosts add MM) */
        if (k >= 32 && k < 160 && (k & 15) >= 10)
            continue;   /* reserved bytes after each 80-bit register */
        if (h->fx[k] != e->fx[k]) {
            if (bad++ < 4)
                printf("  %s: fxsave byte %u (%s): host %02x emu %02x\n", what, k,
                       k < 24 ? "x87 control" : k < 32 ? "mxcsr" : k < 160 ? "st" : "xmm",
                       h->fx[k], e->fx[k]);
        }
    }
    for (unsigned k = 0; k < sizeof(test_gprs) / sizeof(test_gprs[0]); k++) {
        unsigned r = test_gprs[k];
        if (h->gpr[r] != e->gpr[r] && bad++ < 4)
            printf("  %s: gpr %u: host %llx emu %llx\n", what, r,
                   (unsigned long long)h->gpr[r], (unsigned long long)e->gpr[r]);
    }
    if ((h->rflags & 0x8d5) != (e->rflags & 0x8d5) && bad++ < 4)
        printf("  %s: rflags host %llx emu %llx\n", what, (unsigned long long)h->rflags,
               (unsigned long long)e->rflags);
    for (unsigned k = 0; k < sizeof(h->mem); k++)
        if (!mem_ignore[k] && h->mem[k] != e->mem[k]) {
            if (bad++ < 4)
                printf("  %s: memory byte %u: host %02x emu %02x\n", what, k, h->mem[k], e->mem[k]);
            break;
        }
    return bad;
}

static void hexdump_insn(const uint8_t *b, unsigned len, char *out)
{
    out[0] = 0;
    for (unsigned k = 0; k < len; k++)
        sprintf(out + strlen(out), "%02x ", b[k]);
}

/* Cases where the host trapped on an unmasked SIMD exception, or on a
 * misaligned operand, and emu faulted the same way. */
static unsigned simd_traps_matched, simd_align_faults_matched;

/* Runs one instruction on both sides from the same random state. */
static int diff_one(const uint8_t *insn, unsigned len)
{
    static struct simd_state s0, h, e;
    static struct emu_cpu c;
    char name[64];
    int r;
    rnd_state(&s0);
    mem_skew = rnd() % 4 == 0 ? 8 : 0;
    h = s0;
    e = s0;
    int hsig = host_run(&h, insn, len);
    r = emu_side(&c, &e, insn, len);
    hexdump_insn(insn, len, name);
    if (hsig == SIGILL && r == EXC_UD)
        return 0;
    if (hsig == SIGSEGV && r == EXC_GP && mem_skew) {
        simd_align_faults_matched++;
        return 0;
    }
    /* an unmasked SIMD exception: #XM, or #UD without CR4.OSXMMEXCPT */
    if (hsig == SIGFPE && (r == EXC_XM || r == EXC_UD)) {
        simd_traps_matched++;
        return 0;
    }
    if (hsig || r != -1) {
        printf("  %s: host signal %d, emu vector %d\n", name, hsig, r);
        return 1;
    }
    return state_diff(&h, &e, name) ? 1 : 0;
}

#endif
