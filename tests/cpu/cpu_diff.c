/* Differential test of emu against the host CPU: every snippet of the case
 * tables (cases_*.S) runs with many operand sets natively (in a forked child,
 * memory mapped at the same addresses) and on emu (flat 64-bit mode, CPL 3),
 * and registers, flags, XMM/MXCSR, memory and exceptions must match.
 * Usage: cpu_diff [-v] [-a] [-u] [-x] [-n cases] [-f fuzz-count] [-S seed] [name-substring...]
 *   -u also unmasks random SSE exceptions (known emu-sse mismatches, see docs/cpu-tests.md)
 *   -x runs the host side only (also forms emu does not advertise) and prints it */
#include <cpuid.h>
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <ucontext.h>
#include <unistd.h>

#include "engine/emu/cpu.h"
#include "engine/emu/emu.h"
#include "engine/emu/jit.h"
#include "cases.h"

struct ct_case {
    const char *name;
    uint64_t start, end;
    int64_t kind, arg;
};
extern const struct ct_case __start_cpu_cases[], __stop_cpu_cases[];

/* Layout shared with native.S. */
struct ct_state {
    uint64_t gpr[16];
    uint64_t rip, rflags;
    uint32_t mxcsr, pad;
    uint64_t pad2;
    uint8_t xmm[16][16];
    int32_t vec, err;        /* vec -1: no exception */
    uint64_t cr2;
    uint8_t ymm_hi[16][16];  /* bits 255:128 of YMM0-15 (hosts with AVX) */
};
_Static_assert(__builtin_offsetof(struct ct_state, xmm) == 160, "native.S layout");
_Static_assert(__builtin_offsetof(struct ct_state, ymm_hi) == 432, "native.S layout");
/* native.S: load and store YMM upper halves (host has AVX enabled by its
 * OS); ct_nat_ymm_load 0 runs VZEROUPPER instead (AVX state back to its
 * initial configuration, as emu reports all-zero upper halves). */
extern uint8_t ct_nat_avx, ct_nat_ymm_load;
/* XCR0 as the host's OS set it, limited to what emu models (x87 SSE AVX). */
static uint64_t host_xcr0 = 1;
extern struct ct_state ct_nat_in, ct_nat_out;
void ct_native_run(void);
extern char ct_native_exit[];

#define MEM_SZ (CT_DATA_SZ + CT_STACK_SZ)
struct ct_result {
    struct ct_state st;
    uint8_t mem[MEM_SZ];
};

#define FLAGS_CMP 0xcd5ULL   /* CF PF AF ZF SF DF OF */
#define F_CF 0x1
#define F_PF 0x4
#define F_AF 0x10
#define F_ZF 0x40
#define F_SF 0x80
#define F_OF 0x800
#define F_ARITH (F_CF | F_PF | F_AF | F_ZF | F_SF | F_OF)

static const char *gpr_names[16] = {
    "rax", "rcx", "rdx", "rbx", "rsp", "rbp", "rsi", "rdi",
    "r8", "r9", "r10", "r11", "r12", "r13", "r14", "r15",
};

static const uint64_t edge[] = {
    0, 1, 2, 0x7f, 0x80, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x10000,
    0x7fffffff, 0x80000000, 0xffffffff, 0x100000000ULL, 0x7fffffffffffffffULL,
    0x8000000000000000ULL, 0xfffffffffffffffeULL, 0xffffffffffffffffULL,
};
#define NEDGE (sizeof(edge) / sizeof(edge[0]))
static const uint8_t counts[] = {
    0, 1, 2, 3, 7, 8, 9, 15, 16, 17, 31, 32, 33, 63, 64, 65, 127, 255,
};
#define NCOUNT (sizeof(counts) / sizeof(counts[0]))

/* Vector/SSE edge lanes: zeros, signs, NaNs, infinities, denormals, bytes. */
static const uint64_t xedge[] = {
    0, 0x8000000000000000ULL, 0x3ff0000000000000ULL, 0xbff0000000000000ULL,
    0x7ff0000000000000ULL, 0xfff8000000000000ULL, 0x7ff4000000000000ULL,
    0x000fffffffffffffULL, 0x3f8000003f800000ULL, 0x7f800000ff800000ULL,
    0x7fc0000000000001ULL, 0x0000000180000000ULL, 0x00ff00ff00ff00ffULL,
    0x0123456789abcdefULL, 0xffffffffffffffffULL, 0x8080808080808080ULL,
    0x4141414100414141ULL, 0x4f0000005f000000ULL, 0x43e0000000000000ULL,
};
#define NXEDGE (sizeof(xedge) / sizeof(xedge[0]))

static uint64_t splitmix(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t name_hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;
    while (*s)
        h = (h ^ (uint8_t)*s++) * 1099511628211ULL;
    return h;
}

/* Default: a spread of the edge-value pairs plus random operands, so the
 * suite stays short; -a (or HOSTEL_TEST_ALL=1) runs every pair. */
#define NPAIRS (NEDGE * NEDGE)
#define NRANDOM 24
static unsigned cases_per_form = 112 + NRANDOM;
static int verbose, native_only, fuzz_forced, unmask_random;
/* -F: also compare forms of features emu implements but does not advertise
 * yet (development: which of them already match the host). */
static int force_unadvertised;
static unsigned fuzz_count = 1500, chain_count = 1000;
static uint64_t fuzz_seed = 0x600dcafe;

/* Builds input k of a form: registers, flags, XMM and the data/stack bytes. */
static void make_input(const struct ct_case *f, unsigned k, uint64_t code,
                       struct ct_state *in, uint8_t *mem)
{
    uint64_t s = name_hash(f->name) ^ (0x5eedULL + k * 0x10001ULL);
    memset(in, 0, sizeof(*in));
    for (int r = 0; r < 16; r++)
        in->gpr[r] = splitmix(&s);
    uint64_t a, b;
    unsigned npairs = cases_per_form > NRANDOM ? cases_per_form - NRANDOM : 0;
    if (npairs > NPAIRS) npairs = NPAIRS;
    /* 37 is prime to 19*19: the first npairs cases spread over all pairs. */
    unsigned pair = (k * 37) % NPAIRS;
    if (k < npairs) {
        a = edge[pair % NEDGE];
        b = edge[pair / NEDGE];
    } else {
        a = splitmix(&s);
        b = splitmix(&s);
        if (k & 1) a >>= (splitmix(&s) & 63);
        if (k & 2) b >>= (splitmix(&s) & 63);
    }
    in->gpr[0] = a;
    in->gpr[3] = b;
    in->gpr[1] = (splitmix(&s) << 8) | counts[k % NCOUNT];
    if (f->kind & K_FUZZ)
        in->gpr[1] &= 0x3f;      /* random REP prefixes must end soon */
    switch (k % 4) {
    case 0: in->gpr[2] = 0; break;
    case 1: in->gpr[2] = ~0ULL; break;
    case 2: in->gpr[2] = splitmix(&s) & 0xffff; break;
    default: break;
    }
    in->gpr[4] = CT_STACK + 0x800;
    in->gpr[5] = CT_DATA + 0x400;
    in->gpr[6] = CT_DATA + 0x800;
    in->gpr[7] = CT_DATA + 0x1000;
    in->gpr[8] = splitmix(&s) & 7;
    in->rip = code;
    in->rflags = 0x202 | (splitmix(&s) & F_ARITH);
    in->mxcsr = 0x1f80;
    if ((f->kind & K_SSE) && !(f->kind & K_FUZZ) && (k % 4) != 0 && k >= 8) {
        /* Rounding modes, FTZ/DAZ and sticky flags; every fourth case also
         * unmasks random exceptions (the host then raises #XM). */
        uint64_t r = splitmix(&s);
        in->mxcsr = 0x1f80 | (uint32_t)(r & 0xe07f);
        if (k % 4 == 3 && unmask_random)
            in->mxcsr &= ~(uint32_t)((r >> 16) & 0x1f80);
    }
    for (int x = 0; x < 16; x++)
        for (int q = 0; q < 2; q++) {
            uint64_t v = splitmix(&s);
            if (f->kind & K_SSE) {
                unsigned sel = (unsigned)(splitmix(&s) % (NXEDGE * 2));
                if (sel < NXEDGE)
                    v = xedge[sel];
            }
            memcpy(&in->xmm[x][q * 8], &v, 8);
        }
    if ((f->kind & K_SSE) && k < npairs) {
        /* xmm0/xmm1 get pairs of edge values in both lanes. */
        uint64_t x0 = xedge[pair % NXEDGE], x1 = xedge[(pair / NXEDGE) % NXEDGE];
        memcpy(&in->xmm[0][0], &x0, 8); memcpy(&in->xmm[0][8], &x1, 8);
        memcpy(&in->xmm[1][0], &x1, 8); memcpy(&in->xmm[1][8], &x0, 8);
    }
    /* YMM upper halves from their own stream (the other inputs stay as they
     * were before YMM was compared); all zero in every third case. */
    if (ct_nat_avx && k % 3 != 0) {
        uint64_t ys = name_hash(f->name) ^ (0x9e37ULL + k * 0x3001ULL);
        for (int x = 0; x < 16; x++)
            for (int q = 0; q < 2; q++) {
                uint64_t v = splitmix(&ys);
                memcpy(&in->ymm_hi[x][q * 8], &v, 8);
            }
    }
    /* A fixed random image, with the words near the pointers varied per case. */
    static uint8_t image[MEM_SZ];
    static bool image_ready;
    if (!image_ready) {
        uint64_t is = 0x1a2b3c4dULL;
        for (unsigned i = 0; i < MEM_SZ; i += 8) {
            uint64_t v = splitmix(&is);
            memcpy(image + i, &v, 8);
        }
        image_ready = true;
    }
    memcpy(mem, image, MEM_SZ);
    static const unsigned hot[] = { 0x400, 0x800 - 0x100, 0x1000 - 0x40, CT_DATA_SZ + 0x800 - 0x80 };
    for (unsigned h = 0; h < sizeof(hot) / sizeof(hot[0]); h++)
        for (unsigned i = 0; i < 0x200; i += 8) {
            uint64_t v = splitmix(&s);
            memcpy(mem + hot[h] + i, &v, 8);
        }
    uint64_t off = CT_DATA + 0x800 - CT_DATA;
    memcpy(mem + off, &b, 8);
    memcpy(mem + off + 8, &a, 8);
    if (f->kind & K_SSE) {
        memcpy(mem + off + 16, in->xmm[1], 16);
        memcpy(mem + off + 32, in->xmm[0], 16);
    }
}

/* ---- native side --------------------------------------------------------- */

static sigjmp_buf nat_jmp;

static void on_fault(int sig, siginfo_t *si, void *ucv)
{
    (void)sig; (void)si;
    /* The kernel clears TF and DF for a handler, not AC: a snippet's POPF may
     * have set it, and the harness's own unaligned accesses would then fault. */
    __asm__ volatile("pushfq\n\tandq $~0x40000, (%%rsp)\n\tpopfq" ::: "cc", "memory");
    ucontext_t *uc = ucv;
    greg_t *g = uc->uc_mcontext.gregs;
    static const int map[16] = {
        REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP, REG_RSI, REG_RDI,
        REG_R8, REG_R9, REG_R10, REG_R11, REG_R12, REG_R13, REG_R14, REG_R15,
    };
    for (int r = 0; r < 16; r++)
        ct_nat_out.gpr[r] = (uint64_t)g[map[r]];
    ct_nat_out.rip = (uint64_t)g[REG_RIP];
    ct_nat_out.rflags = (uint64_t)g[REG_EFL];
    ct_nat_out.vec = (int)g[REG_TRAPNO];
    ct_nat_out.err = (int)g[REG_ERR];
    ct_nat_out.cr2 = (uint64_t)g[REG_CR2];
    if (uc->uc_mcontext.fpregs) {
        ct_nat_out.mxcsr = uc->uc_mcontext.fpregs->mxcsr;
        memcpy(ct_nat_out.xmm, uc->uc_mcontext.fpregs->_xmm, sizeof(ct_nat_out.xmm));
        /* The kernel's signal frame is an XSAVE image (standard format) when
         * its software-reserved bytes carry FP_XSTATE_MAGIC1. */
        const uint8_t *fp = (const uint8_t *)uc->uc_mcontext.fpregs;
        uint32_t magic;
        uint64_t bv;
        memcpy(&magic, fp + 464, 4);
        memcpy(&bv, fp + 512, 8);
        memset(ct_nat_out.ymm_hi, 0, sizeof(ct_nat_out.ymm_hi));
        if (ct_nat_avx && magic == 0x46505853u && (bv & 4))
            memcpy(ct_nat_out.ymm_hi, fp + 576, sizeof(ct_nat_out.ymm_hi));
    }
    siglongjmp(nat_jmp, 1);
}

static void native_setup_signals(void)
{
    static uint8_t altstack[65536];
    stack_t ss = { .ss_sp = altstack, .ss_size = sizeof(altstack) };
    sigaltstack(&ss, NULL);
    struct sigaction sa;
    memset(&sa, 0, sizeof(sa));
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    int sigs[] = { SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP };
    for (unsigned i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
        sigaction(sigs[i], &sa, NULL);
}

/* After the native copy of a snippet: jmp *0(%rip) to ct_native_exit (no
 * register or flag is touched).  14 bytes. */
static void place_native_tail(uint8_t *where)
{
    static const uint8_t jmp[6] = { 0xff, 0x25, 0, 0, 0, 0 };
    uint64_t target = (uint64_t)(uintptr_t)ct_native_exit;
    memcpy(where, jmp, 6);
    memcpy(where + 6, &target, 8);
}

static void place_code(uint8_t *where, const struct ct_case *f)
{
    size_t len = f->end - f->start;
    memcpy(where, (const void *)f->start, len);
    place_native_tail(where + len);
}

/* In a child: runs every case of the form natively, results into res[]. */
static void native_child(const struct ct_case *f, uint64_t code, unsigned n,
                         struct ct_result *res)
{
    place_code((uint8_t *)(uintptr_t)code, f);
    __builtin___clear_cache((char *)(uintptr_t)code, (char *)(uintptr_t)code + CT_SLOT);
    for (volatile unsigned k = 0; k < n; k++) {
        uint8_t *mem = (uint8_t *)(uintptr_t)CT_DATA;
        if (f->kind & K_SMC)
            place_code((uint8_t *)(uintptr_t)code, f);
        make_input(f, k, code, &ct_nat_in, mem);
        ct_nat_ymm_load = 0;
        for (unsigned b = 0; b < sizeof(ct_nat_in.ymm_hi); b++)
            ct_nat_ymm_load |= ct_nat_in.ymm_hi[b / 16][b % 16] != 0;
        memset(&ct_nat_out, 0, sizeof(ct_nat_out));
        ct_nat_out.vec = -1;
        if (sigsetjmp(nat_jmp, 1) == 0) {
            ct_native_run();
            ct_nat_out.rip = f->end - f->start + code;
            ct_nat_out.vec = -1;
        }
        res[k].st = ct_nat_out;
        memcpy(res[k].mem, mem, MEM_SZ);
    }
}

/* One native child serves every form (forked while the process is small:
 * forking later would copy emu's growing code cache each time). */
static int srv_req = -1, srv_resp = -1;
#define FUZZ_FORM 0xfffffffeu
static const struct ct_case *fuzz_form;
static uint64_t fuzz_code;
static uint8_t mem_in_buf[CT_DATA_SZ + CT_STACK_SZ];
static pid_t srv_pid;

static void native_server(int req, int resp, struct ct_result *res, unsigned n)
{
    native_setup_signals();
    uint32_t fi;
    while (read(req, &fi, 4) == 4) {
        const struct ct_case *f;
        uint64_t code;
        struct { struct ct_case c; uint64_t code; uint32_t n; uint8_t bytes[256]; char name[24]; } fz;
        unsigned cases = n;
        if (fi == FUZZ_FORM) {
            /* A random instruction: its bytes follow on the pipe. */
            if (read(req, &fz, sizeof(fz)) != (ssize_t)sizeof(fz))
                break;
            fz.c.start = (uint64_t)(uintptr_t)fz.bytes;
            fz.c.end = fz.c.start + (fz.c.end & 255);
            fz.c.name = fz.name;
            f = &fz.c;
            code = fz.code;
            if (code < CT_CODE || code + 256 > CT_CODE + CT_CODE_SZ)
                break;
            cases = fz.n;
        } else {
            f = &__start_cpu_cases[fi];
            code = CT_CODE + (uint64_t)fi * CT_SLOT;
        }
        alarm(20);   /* a snippet that never ends must not hang the suite */
        native_child(f, code, cases, res);
        alarm(0);
        if (write(resp, &fi, 4) != 4)
            break;
    }
    _exit(0);
}

static void native_start(struct ct_result *res, unsigned n)
{
    int a[2], b[2];
    if (pipe(a) || pipe(b)) { perror("cpu_diff: pipe"); exit(1); }
    srv_pid = fork();
    if (srv_pid == 0) {
        prctl(PR_SET_PDEATHSIG, SIGKILL);   /* never outlive the runner */
        close(a[1]); close(b[0]);
        native_server(a[0], b[1], res, n);
    }
    close(a[0]); close(b[1]);
    srv_req = a[1];
    srv_resp = b[0];
}

/* Runs form fi natively; false (with the wait status) when the child died.
 * FUZZ_FORM sends fuzz_form's bytes (n cases) instead of a table entry. */
static bool native_form(unsigned fi, struct ct_result *res, unsigned n, int *status)
{
    uint32_t v = fi, back;
    bool ok = write(srv_req, &v, 4) == 4;
    if (ok && fi == FUZZ_FORM) {
        struct { struct ct_case c; uint64_t code; uint32_t n; uint8_t bytes[256]; char name[24]; } fz;
        memset(&fz, 0, sizeof(fz));
        fz.c = *fuzz_form;
        size_t len = fuzz_form->end - fuzz_form->start;
        memcpy(fz.bytes, (const void *)fuzz_form->start, len);
        fz.c.end = len;
        snprintf(fz.name, sizeof(fz.name), "%s", fuzz_form->name);
        fz.code = fuzz_code;
        fz.n = n;
        ok = write(srv_req, &fz, sizeof(fz)) == (ssize_t)sizeof(fz);
    }
    /* The child's alarm ends a snippet that never finishes; this ends a child
     * that wrecked itself so badly that the alarm cannot. */
    struct pollfd pfd = { .fd = srv_resp, .events = POLLIN };
    if (ok && poll(&pfd, 1, 60000) == 1 && read(srv_resp, &back, 4) == 4)
        return true;
    close(srv_req); close(srv_resp);
    kill(srv_pid, SIGKILL);
    waitpid(srv_pid, status, 0);
    native_start(res, n);
    return false;
}

/* ---- emu side ------------------------------------------------------------ */

static uint8_t *emu_ram;
static struct emu_cpu *ecpu;

/* Runs one case on emu; returns false when it ran past the step budget. */
#define BLOCK_END (CT_END + 0x10000ULL)
/* How emu runs a case: instruction by instruction, in whole interpreted
 * blocks, or in blocks translated to host code (jit.c, translated at once),
 * whose memory accesses take their fast paths (a TLB hit, inline, as on a
 * machine; then, as hostel-emu-user's, reads straight to RAM: the flat
 * CPU's, emit_flat_read) or, in the last mode, all their slow paths (the
 * handler, out of line). */
enum { RUN_STEP, RUN_BLOCK, RUN_JIT, RUN_JIT_FLAT, RUN_JIT_SLOW, RUN_MODES };
static int run_mode;
static const char *const run_mode_name[RUN_MODES] = { "", "block mode: ", "translated mode: ",
                                                      "translated mode, flat reads: ",
                                                      "translated mode, slow paths: " };
static void place_emu_tail(uint8_t *where);

/* emu's IDT, as the host kernel's looks to a CPL 3 process: Linux gives
 * only #BP, #OF and the 32-bit system call vector (0x80) DPL 3 gates, so
 * INT3, INT 3 and INT 4 trap and every other INT n raises #GP(n * 8 + 2).
 * emu stops at the gate check (exc_to_caller); the targets are never used.
 * It lies below the test window, out of every snippet's reach. */
#define EMU_IDT (CT_BASE - 0x1000)
static void emu_build_idt(struct emu_cpu *c)
{
    for (unsigned v = 0; v < 256; v++) {
        uint64_t dpl = v == 3 || v == 4 || v == 0x80 ? 3 : 0;
        uint64_t lo = (0x10ULL << 16) | (0xeULL << 40) | (dpl << 45) | (1ULL << 47), hi = 0;
        memcpy(emu_ram + EMU_IDT + v * 16, &lo, 8);
        memcpy(emu_ram + EMU_IDT + v * 16 + 8, &hi, 8);
    }
    c->idtr.base = EMU_IDT;
    c->idtr.limit = 256 * 16 - 1;
}

/* One flat CPU for the whole run (its code cache is costly to rebuild;
 * every form has its own code slot); emu_run_case resets what a case sees.
 * Made before anything decodes: emu_length needs its 64-bit mode. */
static void emu_setup(void)
{
    emu_cpu_init_flat(ecpu, emu_ram, CT_END, 3);
    emu_build_idt(ecpu);
}

/* AVX state disabled the ways an OS can (emu side only; see vex_disabled_fail). */
static struct { uint64_t xcr0; bool no_osxsave; } avx_off;

static bool emu_run_case(const struct ct_case *f, uint64_t code, const struct ct_state *in,
                         const uint8_t *mem_in, struct ct_result *out)
{
    struct emu_cpu *c = ecpu;
    memcpy(emu_ram + CT_DATA, mem_in, MEM_SZ);
    if (f->kind & K_SMC) {
        /* Restored through emu's own store path, which drops stale decoded
         * blocks.  Random instructions (single steps only) keep the host's
         * tail: a RIP-relative load may read it. */
        uint8_t tail[14];
        if (f->kind & K_FUZZ)
            place_native_tail(tail);
        else
            place_emu_tail(tail);
        emu_write_buf(ecpu, code, (const void *)f->start, (unsigned)(f->end - f->start));
        emu_write_buf(ecpu, code + (f->end - f->start), tail, sizeof(tail));
    }
    c->seg[S_FS].base = c->seg[S_GS].base = 0;
    c->irq_shadow = false;
    c->state = EMU_RUNNING;
    atomic_store(&c->events, 0);
    memcpy(c->gpr, in->gpr, sizeof(c->gpr));
    c->rip = in->rip;
    emu_set_rflags(c, in->rflags);
    memcpy(c->xmm, in->xmm, sizeof(in->xmm));
    memcpy(c->ymm_hi, in->ymm_hi, sizeof(in->ymm_hi));
    c->xcr0 = avx_off.xcr0 ? avx_off.xcr0 : host_xcr0;
    if (avx_off.no_osxsave)
        c->cr4 &= ~(uint64_t)CR4_OSXSAVE;
    else
        c->cr4 |= CR4_OSXSAVE;
    c->mxcsr = in->mxcsr;
    c->x87.fcw = 0x37f;
    c->x87.fsw = 0;
    c->x87.ftw = 0xffff;
    c->x87.top = 0;
    c->x87.fop = 0;     /* FNINIT clears the last-instruction pointers too */
    c->x87.fip = c->x87.fdp = 0;
    for (int r = 0; r < 8; r++)
        c->x87.st[r] = 0.0L;   /* native.S zeroes the registers (MMX views) too */
    c->exc_to_caller = true;
    c->exc.vector = -1;
    uint64_t end = code + (f->end - f->start);
    bool done = false;
    /* The jump after the snippet: to BLOCK_END, or for random instructions
     * back to the host harness, outside emu's RAM. */
    uint64_t tail_target = BLOCK_END;
    if (f->kind & K_FUZZ)
        memcpy(&tail_target, emu_ram + end + 6, 8);
    emu_jit_test_slow_paths(run_mode == RUN_JIT_SLOW);
    emu_jit_test_flat(run_mode == RUN_JIT_FLAT);
    emu_jit_configure(run_mode >= RUN_JIT, 0);
    if (run_mode != RUN_STEP) {
        /* Whole blocks at once (emu's block-level shortcuts: flags skipped
         * when overwritten later, runs past untaken branches).  The snippet's
         * trailing jump leads to BLOCK_END, outside RAM: the fetch there
         * faults, which marks the end. */
        for (unsigned runs = 0; runs < 64; runs++) {
            emu_execute(c, 200000);
            if (c->exc.vector == EXC_PF && c->rip == tail_target && c->exc.cr2 == tail_target) {
                c->exc.vector = -1;
                c->rip = end;
                done = true;
                break;
            }
            if (c->exc.vector >= 0) { done = true; break; }
        }
    } else {
        for (unsigned steps = 0; steps < 20000; steps++) {
            if (c->rip == end) { done = true; break; }
            emu_execute(c, 1);
            if (c->exc.vector >= 0) { done = true; break; }
        }
    }
    memset(&out->st, 0, sizeof(out->st));
    memcpy(out->st.gpr, c->gpr, sizeof(c->gpr));
    out->st.rip = c->rip;
    out->st.rflags = emu_get_rflags(c);
    out->st.mxcsr = c->mxcsr;
    memcpy(out->st.xmm, c->xmm, sizeof(out->st.xmm));
    if (ct_nat_avx)
        memcpy(out->st.ymm_hi, c->ymm_hi, sizeof(out->st.ymm_hi));
    out->st.vec = c->exc.vector;
    out->st.err = c->exc.errcode;
    out->st.cr2 = c->exc.cr2;
    memcpy(out->mem, emu_ram + CT_DATA, MEM_SZ);
    return done;
}

/* Is the host CPU of emu's vendor (GenuineIntel)? */
static bool host_is_emu_vendor(void)
{
    static int same = -1;
    if (same < 0) {
        unsigned a, b, c, d;
        uint32_t e[4] = { 0, 0, 0, 0 };
        __cpuid(0, a, b, c, d);
        emu_cpuid(ecpu, 0, 0, e);
        same = b == e[1] && c == e[2] && d == e[3];
    }
    return same;
}

/* CPUID features a form needs (its kind bits): the leaf (sub-leaf 0),
 * register (0 EAX .. 3 EDX) and bit.  A form is compared only when the host
 * has the feature (VEX forms: with AVX state enabled by its OS) and emu
 * advertises it: a program must not use it otherwise. */
#define K_VEX_ALL (K_AVX | K_AVX2 | K_FMA | K_F16C)
static const struct case_feature {
    int64_t kind;
    uint32_t leaf, reg, bit;
    const char *name, *note;
} case_features[] = {
    { K_BMI1, 7, 1, 3, "BMI1", ", so F3 0F BC is BSF there, as on CPUs without BMI1, and VEX forms are #UD" },
    { K_BMI2, 7, 1, 8, "BMI2", "" },
    { K_LZCNT, 0x80000001u, 2, 5, "LZCNT (ABM)", ", so F3 0F BD is BSR there" },
    { K_MOVBE, 1, 2, 22, "MOVBE", "" },
    { K_AVX, 1, 2, 28, "AVX", "" },
    { K_AVX2, 7, 1, 5, "AVX2", "" },
    { K_FMA, 1, 2, 12, "FMA", "" },
    { K_F16C, 1, 2, 29, "F16C", "" },
};

/* Forms that cannot be compared here, and why: their behaviour depends on a
 * CPUID feature emu rightly does not advertise (or the host lacks), or on
 * the CPU vendor. */
static const char *skip_reason(const struct ct_case *f)
{
    static char why[160];
    for (unsigned i = 0; i < sizeof(case_features) / sizeof(case_features[0]); i++) {
        const struct case_feature *cf = &case_features[i];
        if (!(f->kind & cf->kind))
            continue;
        uint32_t r[4] = { 0, 0, 0, 0 };
        unsigned h[4] = { 0, 0, 0, 0 };
        __cpuid_count(cf->leaf, 0, h[0], h[1], h[2], h[3]);
        if (!(h[cf->reg] & (1u << cf->bit)) || ((cf->kind & K_VEX_ALL) && !ct_nat_avx)) {
            snprintf(why, sizeof(why), "the host CPU lacks %s", cf->name);
            return why;
        }
        emu_cpuid(ecpu, cf->leaf, 0, r);
        if (!(r[cf->reg] & (1u << cf->bit)) && !native_only && !force_unadvertised) {
            snprintf(why, sizeof(why), "emu does not advertise %s%s", cf->name, cf->note);
            return why;
        }
    }
    if ((f->kind & K_HOSTAVX) && !ct_nat_avx)
        return "the host runs no AVX (CPU or OS)";
    if ((f->kind & K_VENDOR) && !host_is_emu_vendor())
        return "vendor-specific: emu behaves as an Intel CPU and the host is not one";
    return NULL;
}

/* Known mismatches, by form: reported as SKIP (with the mismatch) until
 * fixed.  Keep this empty: a difference from the host is a FAIL, and a form
 * goes here only with the owner's reason while the fix is under way. */
static const struct { const char *form, *why; } known[] = {
    { NULL, NULL },
};

static const char *known_mismatch(const char *name)
{
    for (unsigned i = 0; i < sizeof(known) / sizeof(known[0]); i++)
        if (known[i].form && !strcmp(known[i].form, name))
            return known[i].why;
    return NULL;
}

/* After emu's copy of a snippet: jmp *0(%rip) to BLOCK_END (see run_mode). */
static void place_emu_tail(uint8_t *where)
{
    static const uint8_t jmp[6] = { 0xff, 0x25, 0, 0, 0, 0 };
    uint64_t target = BLOCK_END;
    memcpy(where, jmp, 6);
    memcpy(where + 6, &target, 8);
}

/* ---- comparison ---------------------------------------------------------- */

static uint64_t undefined_flags(const struct ct_case *f, const struct ct_state *in,
                                bool *dest_undefined)
{
    unsigned rule = f->kind & 0xff, width = (f->kind >> 8) & 0xff;
    *dest_undefined = false;
    unsigned cnt = f->arg == CNT_CL ? (unsigned)(in->gpr[1] & 0xff) : (unsigned)f->arg;
    cnt &= width == 64 ? 63 : 31;
    switch (rule) {
    case R_LOGIC: return F_AF;
    case R_MUL: return F_SF | F_ZF | F_AF | F_PF;
    case R_DIV: case R_ALL: return F_ARITH;
    case R_SHIFT:
        if (cnt == 0) return 0;
        return F_AF | (cnt != 1 ? F_OF : 0) | (cnt >= width ? F_CF : 0);
    case R_ROT:
        if (cnt == 0) return 0;
        return cnt != 1 ? F_OF : 0;
    case R_SHD:
        if (cnt == 0) return 0;
        if (cnt > width) { *dest_undefined = true; return F_ARITH; }
        return F_AF | (cnt != 1 ? F_OF : 0);
    case R_BT: return F_OF | F_SF | F_AF | F_PF;
    case R_BSF: return F_CF | F_OF | F_SF | F_AF | F_PF;
    case R_LZCNT: return F_OF | F_SF | F_AF | F_PF;
    case R_BMI: return F_AF | F_PF;
    case R_BEXTR: return F_AF | F_SF | F_PF;
    default: return 0;
    }
}

static const char *vec_name(int v)
{
    static const char *n[] = { "#DE", "#DB", "NMI", "#BP", "#OF", "#BR", "#UD", "#NM",
                               "#DF", "?9", "#TS", "#NP", "#SS", "#GP", "#PF", "?15",
                               "#MF", "#AC", "#MC", "#XM" };
    if (v < 0) return "none";
    if (v < 20) return n[v];
    return "?";
}

/* Returns NULL when equal, else a description of the first difference. */
static const char *compare(const struct ct_case *f, const struct ct_state *in,
                           const struct ct_result *nat, const struct ct_result *emu,
                           char *why, size_t len)
{
    const struct ct_state *n = &nat->st, *e = &emu->st;
    if (n->vec != e->vec) {
        snprintf(why, len, "exception: host %s(%d) rip=%#" PRIx64 ", emu %s(%d) rip=%#" PRIx64,
                 vec_name(n->vec), n->err, n->rip, vec_name(e->vec), e->err, e->rip);
        return why;
    }
    if (n->vec >= 0) {
        if (n->vec == EXC_PF) {
            if (n->cr2 != e->cr2 || ((n->err ^ e->err) & 2)) {
                snprintf(why, len, "#PF: host cr2=%#" PRIx64 " err=%#x, emu cr2=%#" PRIx64 " err=%#x",
                         n->cr2, n->err, e->cr2, e->err);
                return why;
            }
        } else if (n->vec == EXC_GP || n->vec == EXC_SS) {
            int ee = e->err == EMU_NO_ERRCODE ? 0 : e->err;
            if (n->err != ee) {
                snprintf(why, len, "%s error code: host %#x, emu %#x", vec_name(n->vec), n->err, e->err);
                return why;
            }
        }
    }
    bool dest_undef;
    uint64_t fmask = FLAGS_CMP & ~undefined_flags(f, in, &dest_undef);
    if (n->rip != e->rip) {
        snprintf(why, len, "rip: host %#" PRIx64 ", emu %#" PRIx64, n->rip, e->rip);
        return why;
    }
    for (int r = 0; r < 16; r++) {
        if (r == 0 && dest_undef) continue;
        if (n->gpr[r] != e->gpr[r]) {
            snprintf(why, len, "%s: host %#" PRIx64 ", emu %#" PRIx64, gpr_names[r], n->gpr[r], e->gpr[r]);
            return why;
        }
    }
    if ((n->rflags ^ e->rflags) & fmask) {
        snprintf(why, len, "rflags: host %#" PRIx64 ", emu %#" PRIx64 " (compared bits %#" PRIx64 ", differ %#" PRIx64 ")",
                 n->rflags & 0xfff, e->rflags & 0xfff, fmask, (n->rflags ^ e->rflags) & fmask);
        return why;
    }
    for (int x = 0; x < 16; x++) {
        if (memcmp(n->xmm[x], e->xmm[x], 16)) {
            uint64_t nq[2], eq[2];
            memcpy(nq, n->xmm[x], 16);
            memcpy(eq, e->xmm[x], 16);
            snprintf(why, len, "xmm%d: host %016" PRIx64 ":%016" PRIx64 ", emu %016" PRIx64 ":%016" PRIx64,
                     x, nq[1], nq[0], eq[1], eq[0]);
            return why;
        }
    }
    for (int x = 0; x < 16; x++) {
        if (memcmp(n->ymm_hi[x], e->ymm_hi[x], 16)) {
            uint64_t nq[2], eq[2];
            memcpy(nq, n->ymm_hi[x], 16);
            memcpy(eq, e->ymm_hi[x], 16);
            snprintf(why, len, "ymm%d[255:128]: host %016" PRIx64 ":%016" PRIx64 ", emu %016" PRIx64
                     ":%016" PRIx64, x, nq[1], nq[0], eq[1], eq[0]);
            return why;
        }
    }
    if (n->mxcsr != e->mxcsr) {
        snprintf(why, len, "mxcsr: host %#x, emu %#x", n->mxcsr, e->mxcsr);
        return why;
    }
    for (unsigned i = 0; i < MEM_SZ; i++) {
        if (nat->mem[i] != emu->mem[i]) {
            unsigned o = i & ~7u;
            uint64_t nv, ev;
            memcpy(&nv, nat->mem + o, 8);
            memcpy(&ev, emu->mem + o, 8);
            snprintf(why, len, "memory at %#" PRIx64 ": host %016" PRIx64 ", emu %016" PRIx64,
                     (uint64_t)CT_DATA + o, nv, ev);
            return why;
        }
    }
    return NULL;
}

static void print_bytes(const struct ct_case *f)
{
    const uint8_t *p = (const uint8_t *)f->start;
    size_t len = f->end - f->start;
    printf("   bytes:");
    for (size_t i = 0; i < len && i < 48; i++)
        printf(" %02x", p[i]);
    printf("%s\n", len > 48 ? " ..." : "");
}

static void print_input(const struct ct_state *in)
{
    printf("   input: rax=%#" PRIx64 " rbx=%#" PRIx64 " rcx=%#" PRIx64 " rdx=%#" PRIx64
           " rflags=%#" PRIx64 " mxcsr=%#x\n", in->gpr[0], in->gpr[3], in->gpr[1], in->gpr[2], in->rflags, in->mxcsr);
    uint64_t q[4];
    memcpy(q, in->xmm[0], 16);
    memcpy(q + 2, in->xmm[1], 16);
    printf("          xmm0=%016" PRIx64 ":%016" PRIx64 " xmm1=%016" PRIx64 ":%016" PRIx64 "\n",
           q[1], q[0], q[3], q[2]);
}

/* ---- random instructions ------------------------------------------------- */

/* Opcodes the fuzzer leaves out: control transfers (their targets are not
 * comparable), system calls and software interrupts (they would run on the
 * host), and state that differs by design between the host process and emu's
 * flat CPU: segment registers, descriptor tables, time stamps, CPUID, FS/GS
 * bases, XSAVE areas, moffs and XLAT absolute addresses. */
static bool fuzz_excluded(unsigned map, unsigned op, unsigned modrm)
{
    unsigned reg = (modrm >> 3) & 7;
    if (map == 0) {
        if ((op >= 0x70 && op <= 0x7f) || (op >= 0xe0 && op <= 0xe3) || op == 0xe8 || op == 0xe9 ||
            op == 0xeb || op == 0xc2 || op == 0xc3 || op == 0xca || op == 0xcb || op == 0xcf ||
            op == 0x9a || op == 0xea || op == 0xcc || op == 0xcd || op == 0xce || op == 0xf1 ||
            op == 0x8c || op == 0x8e || op == 0x9d || op == 0xd7 || (op >= 0xa0 && op <= 0xa3) ||
            op == 0xc4 || op == 0xc5 || op == 0x62 || op == 0x8f || op == 0xc8 || op == 0x9b)
            return true;
        if (op == 0xff && reg >= 2 && reg <= 5)
            return true;
        return false;
    }
    if (map == 1) {
        if ((op >= 0x80 && op <= 0x8f) || op == 0x00 || op == 0x01 || op == 0x02 || op == 0x03 ||
            op == 0x05 || op == 0x07 || op == 0x34 || op == 0x35 || op == 0x31 || op == 0x33 ||
            op == 0xa2 || op == 0xa0 || op == 0xa1 || op == 0xa8 || op == 0xa9 || op == 0xae ||
            op == 0x37 || op == 0x0e || op == 0x77 || op == 0x78 || op == 0x79)
            return true;
        if (op == 0xb2 || op == 0xb4 || op == 0xb5)
            return true;   /* LSS/LFS/LGS: AMD hosts ignore REX.W, Intel reads m16:64 */
        if (op == 0xc7 && reg >= 3)
            return true;   /* XRSTORS/XSAVEC/XSAVES/RDRAND/RDSEED/RDPID */
        if (op >= 0xa4 && op <= 0xad)
            return true;   /* SHLD/SHRD: results undefined for large counts */
        return false;
    }
    return false;
}

/* Length of the instruction at code by emu's decoder (0 when it rejects it). */
static __attribute__((noinline)) int emu_length(uint64_t code)
{
    struct emu_cpu *c = ecpu;
    struct emu_insn d;
    volatile int len = 0;   /* stays 0 when the decoder raises #UD or #GP */
    c->rip = code;
    c->exc.vector = -1;
    if (setjmp(c->jmp) == 0)
        len = emu_decode(c, code, &d);
    c->exc.vector = -1;
    return len <= 0 || len > 15 ? 0 : len;
}

struct fuzz_insn {
    uint8_t bytes[32];
    unsigned len;
    unsigned core;    /* bytes before the immediate */
};

/* Builds one random instruction whose memory operand (if any) is based on
 * RSI, RDI, RSP or RBP (or RIP) with a small displacement. */
static void fuzz_make(uint64_t *s, struct fuzz_insn *fi, unsigned *map_out, unsigned *op_out)
{
    static const uint8_t legacy[] = { 0x66, 0x66, 0x67, 0xf2, 0xf3, 0xf0, 0x2e, 0x3e, 0x26, 0x36 };
    unsigned n = 0, map, op, modrm;
    uint64_t r = splitmix(s);
    do {
        map = (r & 7) < 4 ? 0 : (r & 7) < 7 ? 1 : 2 + (unsigned)((r >> 3) & 1);
        op = (unsigned)(splitmix(s) & 0xff);
        modrm = (unsigned)(splitmix(s) & 0xff);
        if (fuzz_excluded(map == 0 ? 0 : map == 1 ? 1 : 2, op, modrm)) { r = splitmix(s); continue; }
        if (map == 0 && ((op >= 0x40 && op <= 0x4f) || op == 0x0f || op == 0x64 || op == 0x65 ||
                         op == 0x66 || op == 0x67 || op == 0xf0 || op == 0xf2 || op == 0xf3 ||
                         op == 0x26 || op == 0x2e || op == 0x36 || op == 0x3e)) { r = splitmix(s); continue; }
        break;
    } while (1);
    unsigned npfx = (unsigned)(splitmix(s) % 4);
    if (npfx == 3) npfx = 0;
    for (unsigned i = 0; i < npfx; i++)
        fi->bytes[n++] = legacy[splitmix(s) % sizeof(legacy)];
    unsigned mod = modrm >> 6, rm = modrm & 7;
    bool rex = splitmix(s) & 1;
    uint8_t rexb = 0x40 | (uint8_t)(splitmix(s) & 0xf);
    if (mod != 3) {
        static const uint8_t bases[] = { 6, 7, 4, 5 };
        rm = bases[splitmix(s) % 4];
        rexb &= ~3;             /* no REX.X / REX.B: keep the base register */
        modrm = (mod << 6) | (modrm & 0x38) | rm;
    }
    if (rex) fi->bytes[n++] = rexb;
    if (map >= 1) fi->bytes[n++] = 0x0f;
    if (map == 2) fi->bytes[n++] = 0x38;
    if (map == 3) fi->bytes[n++] = 0x3a;
    fi->bytes[n++] = (uint8_t)op;
    fi->bytes[n++] = (uint8_t)modrm;
    if (mod != 3 && rm == 4) {
        static const uint8_t sbase[] = { 6, 7, 4 };
        fi->bytes[n++] = (uint8_t)(((splitmix(s) & 3) << 6) | (4 << 3) | sbase[splitmix(s) % 3]);
    }
    if (mod == 1) {
        fi->bytes[n++] = (uint8_t)splitmix(s);
    } else if (mod == 2 || (mod == 0 && rm == 5)) {
        int32_t d = (int32_t)(splitmix(s) % 0x800) - 0x400;
        /* Not into the jump back to the harness after the instruction
         * (14 bytes from its end): a store there sends the host elsewhere. */
        if (mod == 0 && rm == 5 && d >= -16 && d < 14)
            d -= 32;
        memcpy(fi->bytes + n, &d, 4);
        n += 4;
    }
    /* Immediate bytes, if the opcode has any (the decoder decides the length). */
    for (unsigned i = 0; i < 8; i++)
        fi->bytes[n + i] = (uint8_t)splitmix(s);
    fi->core = n;
    fi->len = n + 8;
    *map_out = map;
    *op_out = op;
}

/* Flags some random opcodes leave undefined (conservative). */
static uint64_t fuzz_undefined(unsigned map, unsigned op, unsigned reg)
{
    if (map == 0) {
        if ((op >= 0xc0 && op <= 0xc1) || (op >= 0xd0 && op <= 0xd3))
            return F_OF | F_AF | F_CF;
        if ((op == 0xf6 || op == 0xf7) && reg >= 4)
            return F_ARITH;
        if (op == 0x69 || op == 0x6b)
            return F_SF | F_ZF | F_AF | F_PF;
        if ((op >= 0x20 && op <= 0x25) || (op >= 0x08 && op <= 0x0d) || (op >= 0x30 && op <= 0x35) ||
            op == 0x84 || op == 0x85 || op == 0xa8 || op == 0xa9 || ((op >= 0x80 && op <= 0x83)) ||
            ((op == 0xf6 || op == 0xf7) && reg < 2))
            return F_AF;
        return 0;
    }
    if (map == 1) {
        if (op == 0xaf) return F_SF | F_ZF | F_AF | F_PF;
        if (op == 0xa3 || op == 0xab || op == 0xb3 || op == 0xbb || op == 0xba) return F_OF | F_SF | F_AF | F_PF;
        if (op == 0xbc || op == 0xbd) return F_CF | F_OF | F_SF | F_AF | F_PF;
        if (op == 0xb8) return 0;
    }
    return 0;
}

/* A random instruction's opcode: map (0 one-byte, 1 0F, 2 0F38, 3 0F3A),
 * opcode, ModRM and mandatory prefix (0x66, 0xf2, 0xf3 or 0). */
struct fuzz_op {
    unsigned map, op, modrm, pfx;
};

static bool fuzz_parse(const uint8_t *p, unsigned len, struct fuzz_op *o)
{
    unsigned i = 0;
    bool o16 = false;
    o->pfx = 0;
    for (; i < len; i++) {
        if (p[i] == 0xf2 || p[i] == 0xf3) o->pfx = p[i];
        else if (p[i] == 0x66) o16 = true;
        else if (p[i] != 0x67 && p[i] != 0xf0 && p[i] != 0x2e && p[i] != 0x3e && p[i] != 0x26 &&
                 p[i] != 0x36 && p[i] != 0x64 && p[i] != 0x65) break;
    }
    if (!o->pfx && o16) o->pfx = 0x66;
    if (i < len && (p[i] & 0xf0) == 0x40) i++;
    o->map = 0;
    if (i + 2 < len && p[i] == 0x0f) {
        o->map = 1;
        if (p[i + 1] == 0x38 || p[i + 1] == 0x3a) { o->map = p[i + 1] == 0x38 ? 2 : 3; i++; }
        i++;
    }
    if (i >= len)
        return false;
    o->op = p[i];
    o->modrm = i + 1 < len ? p[i + 1] : 0;
    return true;
}

/* BT, BTS, BTR, BTC with a register bit offset and a memory operand: the
 * offset (signed, up to 64 bits) moves the access up to 2^60 bytes away from
 * the operand, so the store of one may land in any code slot or just below
 * the data area, where the restore between emu's runs does not reach. */
static bool fuzz_far_bits(const uint8_t *p, unsigned len)
{
    struct fuzz_op o;
    return fuzz_parse(p, len, &o) && o.map == 1 && o.modrm < 0xc0 &&
           (o.op == 0xa3 || o.op == 0xab || o.op == 0xb3 || o.op == 0xbb);
}

/* Differences of random instructions that are not emu bugs. */
static const char *known_fuzz(const uint8_t *p, unsigned len)
{
    struct fuzz_op o;
    if (!fuzz_parse(p, len, &o))
        return NULL;
    uint32_t r[4] = { 0, 0, 0, 0 };
    emu_cpuid(ecpu, 7, 0, r);
    if (o.map == 1 && o.op == 0xbc && o.pfx == 0xf3 && !(r[1] & (1u << 3)))
        return "tzcnt-without-bmi1";   /* by design when emu does not advertise BMI1 */
    if (!host_is_emu_vendor()) {
        /* emu behaves as an Intel CPU; other vendors differ here. */
        if (o.map == 1 && o.op == 0x0d && o.modrm >= 0xc0)
            return "vendor: 0F 0D with a register operand";
        if (o.map == 0 && o.op == 0x90 && o.pfx == 0xf3)
            return "vendor: F3 REX.B 90 (PAUSE or XCHG)";
        unsigned m = o.modrm;
        if (o.map == 0 && ((o.op == 0xd9 && m >= 0xd8 && m <= 0xdf) || (o.op == 0xdc && m >= 0xd0 && m <= 0xdf) ||
                           (o.op == 0xdd && m >= 0xc8 && m <= 0xcf) || (o.op == 0xde && m >= 0xd0 && m <= 0xd7) ||
                           (o.op == 0xdf && m >= 0xc8 && m <= 0xdf)))
            return "vendor: undocumented x87 alias";
    }
    return NULL;
}

/* Random instructions emu may reject with #UD where the host runs them:
 * those of CPUID features emu does not advertise (a program must not use
 * them there).  Returns the feature's name, or NULL when emu advertises it
 * or the opcode belongs to no listed feature: then emu's #UD is a FAIL. */
static const char *fuzz_not_advertised(const uint8_t *p, unsigned len)
{
    /* pfx: the mandatory prefix (0x66, 0xf2, 0xf3; 0: none). */
    static const struct {
        uint8_t map, lo, hi, pfx;
        uint32_t leaf;
        uint8_t reg, bit;      /* reg: 0 EAX .. 3 EDX */
        const char *name;
    } feat[] = {
        { 2, 0xc8, 0xcd, 0, 7, 1, 29, "SHA" },
        { 3, 0xcc, 0xcc, 0, 7, 1, 29, "SHA" },
        { 2, 0xdb, 0xdf, 0x66, 1, 2, 25, "AES" },
        { 3, 0xdf, 0xdf, 0x66, 1, 2, 25, "AES" },
        { 3, 0x44, 0x44, 0x66, 1, 2, 1, "PCLMULQDQ" },
        { 2, 0xcf, 0xcf, 0x66, 7, 2, 8, "GFNI" },
        { 3, 0xce, 0xcf, 0x66, 7, 2, 8, "GFNI" },
        { 2, 0xf6, 0xf6, 0x66, 7, 1, 19, "ADX" },
        { 2, 0xf6, 0xf6, 0xf3, 7, 1, 19, "ADX" },
        { 2, 0xf8, 0xf8, 0x66, 7, 2, 28, "MOVDIR64B" },
        { 2, 0xf8, 0xf8, 0xf2, 7, 2, 29, "ENQCMD" },
        { 2, 0xf8, 0xf8, 0xf3, 7, 2, 29, "ENQCMD" },
        { 2, 0xf9, 0xf9, 0, 7, 2, 27, "MOVDIRI" },
        { 2, 0x82, 0x82, 0x66, 7, 1, 10, "INVPCID" },
    };
    struct fuzz_op o;
    if (!fuzz_parse(p, len, &o))
        return NULL;
    uint32_t ext[4] = { 0, 0, 0, 0 };
    emu_cpuid(ecpu, 0x80000001, 0, ext);
    /* AMD's SSE4A: MOVNTSS, MOVNTSD (EXTRQ and INSERTQ are 0F 78/79, left out). */
    if (o.map == 1 && o.op == 0x2b && (o.pfx == 0xf2 || o.pfx == 0xf3) && o.modrm < 0xc0)
        return ext[2] & (1u << 6) ? NULL : "SSE4A";
    /* AMD's AltMovCr8: LOCK MOV CR0 is MOV CR8 (at CPL 3, #GP there). */
    if (o.map == 1 && (o.op == 0x20 || o.op == 0x22) && memchr(p, 0xf0, (size_t)(len < 4 ? len : 4)))
        return ext[2] & (1u << 4) ? NULL : "AltMovCr8";
    for (unsigned k = 0; k < sizeof(feat) / sizeof(feat[0]); k++) {
        if (feat[k].map != o.map || o.op < feat[k].lo || o.op > feat[k].hi)
            continue;
        if (feat[k].pfx != o.pfx)
            continue;
        uint32_t r[4] = { 0, 0, 0, 0 };
        emu_cpuid(ecpu, feat[k].leaf, 0, r);
        return r[feat[k].reg] & (1u << feat[k].bit) ? NULL : feat[k].name;
    }
    return NULL;
}

static int fuzz_run(unsigned count, uint64_t seed, struct ct_result *nres, unsigned nslot_first)
{
    static struct fuzz_insn insns[4096];
    static struct ct_case forms[4096];
    static char names[4096][24];
    static unsigned maps[4096], ops[4096];
    if (count > 4096) count = 4096;
    uint64_t s = seed;
    unsigned cases = 8, mism = 0, hostonly = 0, uncomparable = 0, decoded = 0, nknown = 0;
    uint64_t compared = 0;
    char hostonly_list[256] = "";
    for (unsigned i = 0; i < count; i++) {
        fuzz_make(&s, &insns[i], &maps[i], &ops[i]);
        snprintf(names[i], sizeof(names[i]), "fuzz_%u", i);
    }
    for (unsigned i = 0; i < count; i++) {
        /* A fresh 32-byte slot per instruction: emu's code cache never sees
         * host-side rewrites of code it has already decoded. */
        uint64_t code = CT_CODE + (uint64_t)nslot_first * CT_SLOT + (uint64_t)i * 32;
        struct fuzz_insn *fi = &insns[i];
        /* The instruction's length, by emu's decoder. */
        memcpy(emu_ram + code, fi->bytes, fi->len);
        int len = emu_length(code);
        if (len == 0) {
            /* emu's decoder rejects it: UD2s after the opcode keep the host
             * from running random bytes past an instruction of unknown length. */
            for (unsigned j = fi->core; j < fi->len; j++)
                fi->bytes[j] = (j - fi->core) & 1 ? 0x0b : 0x0f;
            len = (int)fi->len;
        }
        if ((unsigned)len > fi->len) len = (int)fi->len;
        decoded++;
        forms[i] = (struct ct_case){ names[i], (uint64_t)(uintptr_t)fi->bytes,
                                     (uint64_t)(uintptr_t)fi->bytes + (unsigned)len,
                                     K_SSE | K_FUZZ | K_SMC | R_NONE, 0 };   /* K_SMC: it may store into itself */
        fuzz_code = code;
        fuzz_form = &forms[i];
        int st = 0;
        if (!native_form(FUZZ_FORM, nres, cases, &st)) {
            /* The host process itself died (the instruction wrecked it): not emu's fault. */
            if (verbose) {
                printf("   the native run died on random instruction %u (status %#x)\n", i, st);
                print_bytes(&forms[i]);
            }
            uncomparable++;
            continue;
        }
        place_code(emu_ram + code, &forms[i]);
        /* A RIP-relative store may change the code around the slot, as it
         * does on the host, case after case; each case runs in every mode on
         * emu, and each run starts from what the case before left.  A bit
         * string form may store anywhere in the code area (fuzz_far_bits):
         * all of it is kept for those. */
        static uint8_t around[CT_DATA - CT_CODE];
        uint64_t around_at = code >= CT_CODE + 4096 ? code - 4096 : CT_CODE;
        size_t around_len = 8192;
        if (fuzz_far_bits(fi->bytes, (unsigned)len)) {
            around_at = CT_CODE;
            around_len = sizeof(around);
        }
        unsigned modrm_reg = 0;
        for (unsigned k = 0; k < cases; k++) {
            struct ct_state in;
            make_input(&forms[i], k, code, &in, mem_in_buf);
            struct ct_result *nr = &nres[k];
            if (nr->st.vec == EXC_PF && nr->st.cr2 < CT_BASE) { uncomparable++; continue; }
            if (nr->st.vec == EXC_DB || nr->st.vec == EXC_BP) { uncomparable++; continue; }
            /* It wrote into the jump back to the harness (RIP-relative store). */
            if (nr->st.vec >= 0 && (nr->st.rip < code || nr->st.rip >= code + (unsigned)len)) { uncomparable++; continue; }
            static struct ct_result er;
            memcpy(around, emu_ram + around_at, around_len);
            for (run_mode = RUN_STEP; run_mode < RUN_MODES; run_mode++) {
            for (size_t pg = 0; pg < around_len; pg += 4096)
                if (memcmp(around + pg, emu_ram + around_at + pg, 4096))
                    emu_write_buf(ecpu, around_at + pg, around + pg, 4096);
            bool finished = emu_run_case(&forms[i], code, &in, mem_in_buf, &er);
            compared++;
            const char *feature;
            if (er.st.vec == EXC_UD && er.st.rip == code && (nr->st.vec != EXC_UD || nr->st.rip != code) &&
                (feature = fuzz_not_advertised(fi->bytes, (unsigned)len)) != NULL) {
                hostonly++;
                char name[24];
                snprintf(name, sizeof(name), " %s", feature);
                if (!strstr(hostonly_list, name) && strlen(hostonly_list) + strlen(name) < sizeof(hostonly_list))
                    strcat(hostonly_list, name);
                goto next_insn;
            }
            char why[256];
            const char *diff = finished ? compare(&forms[i], &in, nr, &er, why, sizeof(why))
                                        : "emu did not finish";
            if (diff && !strncmp(diff, "rflags", 6)) {
                /* Retry the comparison with this opcode's undefined flags masked. */
                const uint8_t *p = fi->bytes;
                unsigned m = 0;
                while (m < 14 && (p[m] == 0x66 || p[m] == 0x67 || p[m] == 0xf2 || p[m] == 0xf3 || p[m] == 0xf0 ||
                                  p[m] == 0x2e || p[m] == 0x3e || p[m] == 0x26 || p[m] == 0x36 || (p[m] & 0xf0) == 0x40))
                    m++;
                modrm_reg = (maps[i] == 0 ? p[m + 1] : p[m + (maps[i] >= 2 ? 3 : 2)]) >> 3 & 7;
                uint64_t und = fuzz_undefined(maps[i], ops[i], modrm_reg);
                if (!((nr->st.rflags ^ er.st.rflags) & FLAGS_CMP & ~und))
                    diff = NULL;
            }
            /* A non-canonical address through RBP/RSP that is also
             * misaligned for an aligned SSE form: emu (as Intel documents
             * it) raises #SS(0), an AMD host #GP(0) (seed 2352: PABSB xmm4,
             * [rbp + rdx * 2 + 0x34]).  The same instruction, the same
             * place: the vendors order the two checks differently. */
            if (diff && !host_is_emu_vendor() && nr->st.vec == EXC_GP && er.st.vec == EXC_SS &&
                nr->st.err == 0 && er.st.err == 0 && nr->st.rip == er.st.rip) {
                nknown++;
                goto next_insn;
            }
            if (diff && known_fuzz(fi->bytes, (unsigned)len)) {
                nknown++;
                if (verbose) {
                    printf("   by design (%s): %s\n", known_fuzz(fi->bytes, (unsigned)len), diff);
                    print_bytes(&forms[i]);
                }
                goto next_insn;
            }
            if (diff) {
                mism++;
                if (mism <= 12) {
                    printf("   fuzz mismatch %u (case %u): %s%s\n", mism, k, run_mode_name[run_mode], diff);
                    print_bytes(&forms[i]);
                    print_input(&in);
                }
                goto next_insn;
            }
            }
        }
    next_insn:
        run_mode = RUN_STEP;
    }
    printf("cpu_diff fuzz: %u random instructions, %" PRIu64 " cases compared, %u uncomparable, "
           "%u different by design (TZCNT is BSF), %u host-only (emu #UD, features it does not advertise:%s)\n",
           decoded, compared, uncomparable, nknown, hostonly, hostonly_list);
    /* Typically 0.1%: far more means the host side broke, not the instructions. */
    bool few = !compared || compared < 50 * (uint64_t)uncomparable;
    if (mism)
        printf("FAIL: cpu/fuzz (%u of %u random instructions differ from the host; seed %#" PRIx64 ")\n",
               mism, count, seed);
    else if (count && few)
        printf("FAIL: cpu/fuzz (only %" PRIu64 " cases compared, %u uncomparable: the host runs stopped "
               "giving results; seed %#" PRIx64 ")\n", compared, uncomparable, seed);
    else
        printf("PASS: cpu/fuzz\n");
    return mism || (count && few) ? 1 : 0;
}

/* ---- random sequences of table snippets ------------------------------------ */

/* Forms that can be chained: no faults, no flags left undefined except AF,
 * no changes to RSP/RSI/RDI that later pieces would trip over. */
static bool chain_safe(const struct ct_case *f)
{
    static const char *bad[] = { "_ud", "_gp", "_pf", "_de", "_ss", "_bp", "_xm", "div", "rsp", "pushf",
                                 "popf", "lahf", "sahf", "xlat", "call", "ret", "jmp", "enter", "leave",
                                 "push", "pop", "movs", "stos", "lods", "cmps", "scas", "cmpxchg16b",
                                 "cmpxchg8b", "length", "rex_before", "wrap", "noncanonical", "mxcsr",
                                 "unmasked", "_mem_rmw", "mov_r13_base", "mov_r12_base", "bt", "lock_on" };
    unsigned rule = f->kind & 0xff;
    if (rule != R_NONE && rule != R_LOGIC)
        return false;
    for (unsigned i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (strstr(f->name, bad[i]))
            return false;
    return f->end - f->start <= 40;
}

/* General-register forms. */
static bool chainable(const struct ct_case *f)
{
    if (f->kind & (K_SSE | K_X87 | K_BMI1 | K_FUZZ | K_SMC | K_VENDOR | K_FEATURES))
        return false;
    return chain_safe(f);
}

/* Vector forms, for the vector chains: VEX (AVX, AVX2, FMA) and legacy
 * SSE ones compared on this host (skip_reason), mixed with general-register
 * ones: the translator keeps guest vector registers in host ones from one
 * VEX form to the next, across general-register forms, and forgets them
 * at SSE forms and C (jit_vex.c). */
static bool vec_chainable(const struct ct_case *f)
{
    if (!(f->kind & K_SSE) || (f->kind & (K_X87 | K_FUZZ | K_SMC | K_VENDOR)) || skip_reason(f))
        return false;
    return chain_safe(f);
}

static int chain_run(unsigned count, uint64_t seed, struct ct_result *nres, unsigned nforms, uint64_t area,
                     bool vec)
{
    const char *what = vec ? "vector chains" : "chains", *name = vec ? "vector_chains" : "chains";
    static const struct ct_case *pool[4096];
    static uint8_t bytes[4096][CT_SLOT];
    static struct ct_case forms[4096];
    static char names[4096][16];
    unsigned npool = 0, mism = 0, cases = 8;
    uint64_t compared = 0;
    unsigned nvec = 0;
    for (unsigned i = 0; i < nforms && npool < 4096; i++) {
        bool v = vec && vec_chainable(&__start_cpu_cases[i]);
        if (v || chainable(&__start_cpu_cases[i]))
            pool[npool++] = &__start_cpu_cases[i];
        nvec += v;
    }
    if (vec && !nvec) {
        printf("SKIP: cpu/vector_chains (no vector form is compared on this host)\n");
        return 0;
    }
    if (count > 4096) count = 4096;
    uint64_t s = seed;
    for (unsigned i = 0; i < count; i++) {
        unsigned len = 0, pieces = 2 + (unsigned)(splitmix(&s) % 6);
        char desc[512] = "";
        for (unsigned p = 0; p < pieces; p++) {
            const struct ct_case *f = pool[splitmix(&s) % npool];
            size_t l = f->end - f->start;
            if (len + l > 200) break;
            memcpy(bytes[i] + len, (const void *)f->start, l);
            len += (unsigned)l;
            if (strlen(desc) + strlen(f->name) + 2 < sizeof(desc)) {
                strcat(desc, " ");
                strcat(desc, f->name);
            }
        }
        snprintf(names[i], sizeof(names[i]), "chain_%u", i);
        forms[i] = (struct ct_case){ names[i], (uint64_t)(uintptr_t)bytes[i],
                                     (uint64_t)(uintptr_t)bytes[i] + len, R_LOGIC | K_FUZZ | (vec ? K_SSE : 0), 0 };
        uint64_t code = area + (uint64_t)i * 256;
        if (code + 256 > CT_CODE + CT_CODE_SZ) {
            printf("   %s: the code area holds only %u sequences\n", what, i);
            count = i;
            break;
        }
        fuzz_code = code;
        fuzz_form = &forms[i];
        int st = 0;
        if (!native_form(FUZZ_FORM, nres, cases, &st)) {
            /* Chainable snippets do not fault: a dead host run is a harness bug. */
            mism++;
            printf("   chain %u: the native run died (status %#x)\n   pieces:%s\n", i, st, desc);
            continue;
        }
        memcpy(emu_ram + code, bytes[i], len);
        place_emu_tail(emu_ram + code + len);
        if (verbose && i < 3)
            printf("   chain %u:%s -> host rax=%#" PRIx64 " rflags=%#" PRIx64 " exc=%s\n", i, desc,
                   nres[1].st.gpr[0], nres[1].st.rflags, vec_name(nres[1].st.vec));
        for (unsigned k = 0; k < cases; k++) {
            struct ct_state in;
            make_input(&forms[i], k, code, &in, mem_in_buf);
            static struct ct_result er;
            run_mode = (int)(k % RUN_MODES);
            bool finished = emu_run_case(&forms[i], code, &in, mem_in_buf, &er);
            compared++;
            char why[256];
            const char *diff = finished ? compare(&forms[i], &in, &nres[k], &er, why, sizeof(why))
                                        : "emu did not finish";
            if (diff) {
                mism++;
                if (mism <= 8) {
                    printf("   chain mismatch %u (case %u, %s): %s\n   pieces:%s\n", mism, k,
                           run_mode == RUN_STEP ? "single steps" : run_mode_name[run_mode], diff, desc);
                    print_bytes(&forms[i]);
                    print_input(&in);
                }
                break;
            }
        }
        run_mode = RUN_STEP;
    }
    printf("cpu_diff %s: %u random sequences of %u chainable forms (%u vector), %" PRIu64 " cases compared\n",
           what, count, npool, nvec, compared);
    if (mism) {
        printf("FAIL: cpu/%s (%u of %u sequences differ; seed %#" PRIx64 ")\n", name, mism, count, seed);
        return 1;
    }
    if (count && !compared) {
        printf("FAIL: cpu/%s (no sequence could be compared with the host)\n", name);
        return 1;
    }
    printf("PASS: cpu/%s\n", name);
    return 0;
}

/* VEX forms with AVX state disabled: every AVX/AVX2/FMA/F16C snippet must
 * raise #UD on emu when XCR0 lacks the AVX (or SSE) component or CR4.OSXSAVE
 * is clear.  The host cannot be put in that state from a Linux process, so
 * this is checked against the SDM's rule, not compared: the snippets reach
 * a VEX instruction before anything else can fault.  NULL when all raise #UD. */
static const char *vex_disabled_fail(const struct ct_case *f, uint64_t code, char *why, size_t len)
{
    static const struct { uint64_t xcr0; bool no_osxsave; const char *what; } ways[] = {
        { 3, false, "XCR0 without AVX state (x87|SSE)" },
        { 1, false, "XCR0 = x87 only" },
        { 0, true, "CR4.OSXSAVE clear" },
    };
    if (!(f->kind & K_VEX_ALL))
        return NULL;
    static struct ct_result res;
    static uint8_t mem[MEM_SZ];
    struct ct_state in;
    make_input(f, 0, code, &in, mem);
    int saved_mode = run_mode;
    run_mode = RUN_STEP;
    const char *fail = NULL;
    for (unsigned w = 0; w < sizeof(ways) / sizeof(ways[0]) && !fail; w++) {
        avx_off.xcr0 = ways[w].xcr0;
        avx_off.no_osxsave = ways[w].no_osxsave;
        bool done = emu_run_case(f, code, &in, mem, &res);
        if (!done || res.st.vec != EXC_UD) {
            snprintf(why, len, "with %s emu raised %s at rip %#" PRIx64 ", not #UD", ways[w].what,
                     done ? vec_name(res.st.vec) : "nothing (did not finish)", res.st.rip);
            fail = why;
        }
    }
    avx_off.xcr0 = 0;
    avx_off.no_osxsave = false;
    run_mode = saved_mode;
    return fail;
}

static bool selected(const char *name, int argc, char **argv, int first)
{
    if (first >= argc) return true;
    for (int i = first; i < argc; i++)
        if (strstr(name, argv[i])) return true;
    return false;
}

/* Does the host run AVX with its state enabled by the OS (OSXSAVE, XCR0
 * bits 1 and 2)?  Then YMM upper halves are compared, and emu's XCR0 is
 * the host's, limited to the components emu models. */
static void host_avx_probe(void)
{
    unsigned a, b, c, d;
    if (!__get_cpuid(1, &a, &b, &c, &d) || !(c & (1u << 27)))
        return;
    uint32_t lo, hi;
    __asm__ volatile("xgetbv" : "=a"(lo), "=d"(hi) : "c"(0));
    host_xcr0 = lo & 7;
    ct_nat_avx = (c & (1u << 28)) && (lo & 6) == 6;
}

int main(int argc, char **argv)
{
    int first = 1;
    while (first < argc && argv[first][0] == '-') {
        if (!strcmp(argv[first], "-v")) verbose = 1;
        else if (!strcmp(argv[first], "-x")) native_only = 1;
        else if (!strcmp(argv[first], "-u")) unmask_random = 1;
        else if (!strcmp(argv[first], "-F")) force_unadvertised = 1;
        else if (!strcmp(argv[first], "-c") && first + 1 < argc) chain_count = (unsigned)atoi(argv[++first]);
        else if (!strcmp(argv[first], "-a")) cases_per_form = NPAIRS + 48;
        else if (!strcmp(argv[first], "-f") && first + 1 < argc) { fuzz_count = (unsigned)atoi(argv[++first]); fuzz_forced = 1; }
        else if (!strcmp(argv[first], "-S") && first + 1 < argc) fuzz_seed = strtoull(argv[++first], NULL, 0);
        else if (!strcmp(argv[first], "-n") && first + 1 < argc) cases_per_form = (unsigned)atoi(argv[++first]);
        first++;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    host_avx_probe();
    const char *all = getenv("HOSTEL_TEST_ALL");
    if (all && *all == '1' && cases_per_form < NPAIRS + 48)
        cases_per_form = NPAIRS + 48;
    unsigned nforms = (unsigned)(__stop_cpu_cases - __start_cpu_cases);
    if (nforms * CT_SLOT > CT_CODE_SZ) {
        printf("FAIL: cpu_diff (%u forms do not fit the code area)\n", nforms);
        return 1;
    }
    void *nat = mmap((void *)CT_BASE, CT_END - CT_BASE, PROT_READ | PROT_WRITE | PROT_EXEC,
                     MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
    if (nat != (void *)CT_BASE) {
        printf("FAIL: cpu_diff (cannot map the native test area at %#x: %s)\n", CT_BASE, strerror(errno));
        return 1;
    }
    emu_ram = mmap(NULL, CT_END, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    struct ct_result *nres = mmap(NULL, sizeof(*nres) * cases_per_form, PROT_READ | PROT_WRITE,
                                  MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (emu_ram == MAP_FAILED || nres == MAP_FAILED) {
        printf("FAIL: cpu_diff (out of memory for the emu RAM or results)\n");
        return 1;
    }
    ecpu = aligned_alloc(64, (sizeof(struct emu_cpu) + 63) & ~(size_t)63);
    if (!ecpu) return 1;
    memset(ecpu, 0, sizeof(*ecpu));
    emu_setup();
    static struct ct_result eres;
    static uint8_t mem_in[MEM_SZ];
    static char why_block[256];

    signal(SIGPIPE, SIG_IGN);
    native_start(nres, cases_per_form);
    unsigned pass = 0, fail = 0, skip = 0, forms = 0;
    uint64_t ncases = 0;
    for (unsigned fi = 0; fi < nforms; fi++) {
        const struct ct_case *f = &__start_cpu_cases[fi];
        if (!selected(f->name, argc, argv, first)) continue;
        forms++;
        uint64_t code = CT_CODE + (uint64_t)fi * CT_SLOT;
        if (f->end - f->start > CT_SLOT - 16) {
            printf("FAIL: cpu/%s (snippet longer than a code slot)\n", f->name);
            fail++;
            continue;
        }
        unsigned n = cases_per_form;
        const char *nofeat = skip_reason(f);
        if (nofeat) {
            printf("SKIP: cpu/%s (%s)\n", f->name, nofeat);
            skip++;
            continue;
        }
        int st = 0;
        if (!native_form(fi, nres, n, &st)) {
            printf("FAIL: cpu/%s (the native run died: status %#x)\n", f->name, st);
            fail++;
            continue;
        }
        if (native_only) {
            /* Debugging aid: what the host did for the first cases. */
            for (unsigned k = 0; k < n && k < 4; k++) {
                const struct ct_state *r = &nres[k].st;
                printf("%s #%u: rax=%#" PRIx64 " rbx=%#" PRIx64 " rcx=%#" PRIx64 " rdx=%#" PRIx64
                       " rsp=%#" PRIx64 " rip=%#" PRIx64 " fl=%#" PRIx64 " exc=%s err=%#x cr2=%#" PRIx64 "\n",
                       f->name, k, r->gpr[0], r->gpr[3], r->gpr[1], r->gpr[2], r->gpr[4], r->rip,
                       r->rflags, vec_name(r->vec), r->err, r->cr2);
                if (ct_nat_avx) {
                    uint64_t h0[2], h3[2];
                    memcpy(h0, r->ymm_hi[0], 16);
                    memcpy(h3, r->ymm_hi[3], 16);
                    printf("%s #%u: ymm0 255:128=%016" PRIx64 ":%016" PRIx64 " ymm3 255:128=%016" PRIx64
                           ":%016" PRIx64 "\n", f->name, k, h0[1], h0[0], h3[1], h3[0]);
                }
            }
            continue;
        }
        /* emu's copy of the snippet (no trailing jump needed: it stops at the end). */
        memcpy(emu_ram + code, (const void *)f->start, f->end - f->start);
        place_emu_tail(emu_ram + code + (f->end - f->start));
        bool bad = false;
        unsigned k;
        for (k = 0; k < n; k++) {
            struct ct_state in;
            make_input(f, k, code, &in, mem_in);
            /* Single steps, then (while they agree) whole interpreted blocks,
             * then translated blocks. */
            bool finished = false;
            const char *mode = "";
            for (run_mode = RUN_STEP; run_mode < RUN_MODES; run_mode++) {
                finished = emu_run_case(f, code, &in, mem_in, &eres);
                mode = run_mode_name[run_mode];
                if (!finished || compare(f, &in, &nres[k], &eres, why_block, sizeof(why_block)))
                    break;
            }
            if (run_mode == RUN_MODES)
                run_mode = RUN_JIT_SLOW;
            ncases++;
            char why0[256], why[300];
            const char *diff0 = finished ? compare(f, &in, &nres[k], &eres, why0, sizeof(why0))
                                         : "emu did not reach the end of the snippet";
            const char *diff = NULL;
            if (diff0) {
                snprintf(why, sizeof(why), "%s%s", mode, diff0);
                diff = why;
            }
            if (diff && known_mismatch(f->name)) {
                printf("SKIP: cpu/%s (known, reported: %s; case %u: %s)\n", f->name,
                       known_mismatch(f->name), k, diff);
                skip++;
                bad = true;
                break;
            }
            if (diff) {
                fail++;
                printf("FAIL: cpu/%s (case %u: %s)\n", f->name, k, diff);
                print_bytes(f);
                print_input(&in);
                bad = true;
                break;
            }
        }
        const char *ud_why = NULL;
        if (!bad && known_mismatch(f->name)) {
            printf("FAIL: cpu/%s (matches the host now: remove it from known[])\n", f->name);
            fail++;
        } else if (!bad && (ud_why = vex_disabled_fail(f, code, why_block, sizeof(why_block)))) {
            printf("FAIL: cpu/%s (%s)\n", f->name, ud_why);
            fail++;
        } else if (!bad) {
            if (verbose) printf("PASS: cpu/%s (%u cases)\n", f->name, n);
            else printf("PASS: cpu/%s\n", f->name);
            pass++;
        }
    }
    printf("cpu_diff: %u forms, %" PRIu64 " cases compared: %u passed, %u failed, %u skipped\n",
           forms, ncases, pass, fail, skip);
    struct emu_jit_stats js;
    emu_jit_get_stats(ecpu, &js);
    printf("cpu_diff: translated mode: %" PRIu64 " blocks translated, %" PRIu64 " runs of translated code\n",
           js.blocks, js.entries);
    int frc = 0;
    if (fuzz_count && (first >= argc || fuzz_forced) && !native_only) {
        frc = fuzz_run(fuzz_count, fuzz_seed, nres, nforms + 1);
        /* Chains go after the fuzz slots (4096 x 32 bytes). */
        uint64_t area = CT_CODE + (uint64_t)(nforms + 1) * CT_SLOT + 4096 * 32;
        frc |= chain_run(chain_count, fuzz_seed ^ 0xc4a1, nres, nforms, area, false);
        frc |= chain_run(chain_count, fuzz_seed ^ 0x5e1f, nres, nforms, area + (uint64_t)chain_count * 256, true);
    }
    return fail || frc ? 1 : 0;
}
