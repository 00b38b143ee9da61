/* Unit tests of emu's translating tier (jit.c) in the flat test setup:
 * translated loops give the interpreter's results and instruction counts,
 * the budget is exact, a pending event stops a translated loop that never
 * leaves by itself, a self loop running CPUID sees code another thread
 * rewrote, a fault inside translated code leaves the state the
 * interpreter leaves (self loops that keep registers across the jump back
 * too), stores into the running block take effect, a full
 * code cache is emptied and filled again, a restored vCPU drops what was
 * translated from RAM the restore replaced, code mapped at two addresses
 * runs at each, one RET's return addresses in turn are found in the jump
 * cache, a device's DMA is announced only when it touches a page
 * code ran from, two pages on one TLB index stay in its two ways, a loop
 * through one page finds it inline (no handler), MOV r, Sreg is translated,
 * loops of two blocks run as one translation (results,
 * budgets, stores into and faults in the second range, events), the
 * stack page of RSP-based accesses (page boundaries, faults, a read-only
 * page, its mark of no page), the loop slots (a page boundary to a page
 * mapped far away, a read-only page, straddling accesses), PUSH and POP of registers no host register
 * holds, PUSHes and POPs in a row with one lookup (across pages, faulting
 * in the middle), traces through CALL, JMP and RET into other pages (results, a
 * RET to another address, stores into the callee, a remapped callee,
 * a callee's PUSH and POP groups with its CALL and RET, budgets), instructions across a page
 * boundary (results, budgets, stores into either page, a remapped second
 * page), and no mapping is ever writable and executable at once. */
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "jit_fp_case.h"
#include "engine/emu/cpu.h"
#include "engine/emu/emu.h"
#include "engine/emu/jit.h"
#include "engine/emu/state.h"
#include "engine/vcpu_snap.h"

#define RAM_SIZE (8u << 20)
#define CODE 0x1000
#define STACK 0x80000
#define DATA 0x90000

static struct emu_cpu *cpu;
static uint8_t *ram;

static void setup_len(const void *code, size_t len, bool jit)
{
    if (!cpu)
        cpu = calloc(1, sizeof(*cpu));
    if (!ram)
        ram = calloc(1, RAM_SIZE);
    memset(ram, 0, RAM_SIZE);
    memcpy(ram + CODE, code, len);
    emu_cpu_init_flat(cpu, ram, RAM_SIZE, 0);   /* a fresh code cache too */
    cpu->exc_to_caller = true;
    cpu->rip = CODE;
    cpu->gpr[R_RSP] = STACK;
    cpu->insn_count = 0;
    emu_jit_configure(jit, 0);   /* translated at first run */
}
#define SETUP(jit, ...) do { static const uint8_t p_[] = { __VA_ARGS__ }; setup_len(p_, sizeof(p_), jit); } while (0)

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* sum = 1000 + 999 + ... + 1 in a translated loop. */
static void test_loop_translated(void)
{
    SETUP(true, 0x31, 0xc0,                     /* xor eax, eax */
          0xb9, 0xe8, 0x03, 0, 0,               /* mov ecx, 1000 */
          0x48, 0x01, 0xc8,                     /* 1: add rax, rcx */
          0xff, 0xc9,                           /* dec ecx */
          0x75, 0xf9,                           /* jnz 1b */
          0x0f, 0x0b);                          /* ud2 */
    emu_execute(cpu, 100000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->gpr[R_RAX], 500500);
    CHECK_EQ(cpu->insn_count, 2 + 3 * 1000);
    struct emu_jit_stats st;
    emu_jit_get_stats(cpu, &st);
    CHECK(st.blocks >= 1);
    CHECK(st.entries >= 1);
}

/* emu_execute(n) retires exactly n instructions, translated or not. */
static void test_budget_exact(void)
{
    static const unsigned steps[] = { 1, 2, 3, 17, 1000, 12345, 5, 99999 };
    for (int jit = 0; jit < 2; jit++) {
        SETUP(jit, 0x48, 0xff, 0xc0,            /* 1: inc rax */
              0xeb, 0xfb);                      /* jmp 1b */
        uint64_t total = 0;
        for (unsigned k = 0; k < sizeof(steps) / sizeof(steps[0]); k++) {
            CHECK_EQ(emu_execute(cpu, steps[k]), steps[k]);
            total += steps[k];
            CHECK_EQ(cpu->insn_count, total);
            CHECK_EQ(cpu->gpr[R_RAX], (total + 1) / 2);
        }
    }
}

/* Posts the events in arg to the vCPU 20 ms from now (another thread). */
static void *post_later(void *arg)
{
    usleep(20000);
    emu_post_events(cpu, (uint32_t)(uintptr_t)arg);
    return NULL;
}

/* Runs the loop set up (translated after 1000 instructions) with no
 * budget to speak of, while another thread raises EMU_EV_STOP: only the
 * event checks end it, soon. */
static void run_until_stopped(void)
{
    emu_execute(cpu, 1000);                     /* translated now */
    pthread_t t;
    pthread_create(&t, NULL, post_later, (void *)(uintptr_t)EMU_EV_STOP);
    double t0 = now_s();
    uint64_t n = emu_execute(cpu, ~0ULL >> 2);
    double dt = now_s() - t0;
    pthread_join(t, NULL);
    CHECK(dt < 5.0);
    CHECK(n > 0 && n < (~0ULL >> 2));
}

/* A loop that never leaves, with no budget to speak of: only the event
 * check at every (chained) block entry ends it. */
static void test_event_stops_translated_loop(void)
{
    SETUP(true, 0x48, 0xff, 0xc0,               /* 1: inc rax */
          0xeb, 0xfb);                          /* jmp 1b */
    run_until_stopped();
    CHECK(cpu->rip == CODE || cpu->rip == CODE + 3);
    atomic_store(&cpu->events, 0);
}

static void *patch_jmp_later(void *arg)
{
    (void)arg;
    usleep(20000);
    __atomic_store_n((uint16_t *)(ram + CODE + 5), (uint16_t)0x9090, __ATOMIC_RELEASE);   /* jmp 1b -> nop; nop */
    return NULL;
}

static atomic_bool watchdog_off;

/* Stops the vCPU after arg milliseconds unless watchdog_off is set first. */
static void *watchdog(void *arg)
{
    for (uintptr_t ms = 0; ms < (uintptr_t)arg && !atomic_load(&watchdog_off); ms += 10)
        usleep(10000);
    if (!atomic_load(&watchdog_off))
        emu_post_events(cpu, EMU_EV_STOP);
    return NULL;
}

/* Another vCPU rewrites a self loop's jump back while it runs CPUID in
 * every pass (with more than one vCPU, CPUID is where cross-modified code
 * must become visible: it ends the epoch and the block goes on): the
 * loop's jump back compares the epoch too when an instruction of it runs
 * by its handler, leaves, and the new bytes run (the UD2 after them).  A
 * loop without such an instruction needs no compare there (emit_loop_edge:
 * nothing else inside translated code ends the epoch and goes on).  No
 * event is posted: only the epoch tells. */
static void test_loop_cpuid_sees_new_code(void)
{
    SETUP(true, 0x0f, 0xa2,                     /* 1: cpuid */
          0x48, 0xff, 0xc6,                     /* inc rsi: held in a host register at the jump back */
          0xeb, 0xf9,                           /* jmp 1b */
          0x0f, 0x0b);                          /* ud2 */
    cpu->mmu.smp = true;
    emu_execute(cpu, 1000);                     /* translated now */
    pthread_t t, w;
    pthread_create(&t, NULL, patch_jmp_later, NULL);
    atomic_store(&watchdog_off, false);
    pthread_create(&w, NULL, watchdog, (void *)(uintptr_t)5000);
    double t0 = now_s();
    emu_execute(cpu, ~0ULL >> 2);
    double dt = now_s() - t0;
    atomic_store(&watchdog_off, true);
    pthread_join(t, NULL);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->rip, CODE + 7);
    CHECK(dt < 4.0);
    pthread_join(w, NULL);
    cpu->mmu.smp = false;
    atomic_store(&cpu->events, 0);
}

/* An event the vCPU does not act on now (an interrupt with IF clear)
 * makes translated code leave once (emu_post_events zeroes its limit);
 * the dispatcher finds nothing to do and translated code runs on: the
 * budget ends the run, exactly. */
static void test_masked_event_runs_on(void)
{
    SETUP(true, 0x48, 0xff, 0xc0,               /* 1: inc rax */
          0xeb, 0xfb);                          /* jmp 1b */
    cpu->rflags &= ~RFLAGS_IF;
    emu_execute(cpu, 1000);                     /* translated now */
    pthread_t t;
    pthread_create(&t, NULL, post_later, (void *)(uintptr_t)EMU_EV_IRQ);
    uint64_t budget = 200000000;
    double t0 = now_s();
    uint64_t n = emu_execute(cpu, budget);
    while (n < budget && now_s() - t0 < 30)
        n += emu_execute(cpu, budget - n);
    pthread_join(t, NULL);
    CHECK_EQ(n, budget);
    CHECK_EQ(cpu->insn_count, 1000 + budget);
    CHECK_EQ(cpu->gpr[R_RAX], (1000 + budget) / 2);
    CHECK(now_s() - t0 > 0.02);                 /* the event came while it ran */
    atomic_store(&cpu->events, 0);
}

/* Runs code from the same start with the JIT off and on; everything the
 * guest can see must be equal. */
static void same_with_and_without(const uint8_t *code, size_t len, uint64_t budget)
{
    struct emu_cpu a;
    static uint8_t mem_a[0x1000];
    setup_len(code, len, false);
    emu_execute(cpu, budget);
    a = *cpu;
    memcpy(mem_a, ram + DATA, sizeof(mem_a));
    uint64_t fa = emu_get_rflags(cpu);
    setup_len(code, len, true);
    emu_execute(cpu, budget);
    for (int r = 0; r < 16; r++)
        CHECK_EQ(cpu->gpr[r], a.gpr[r]);
    CHECK_EQ(cpu->rip, a.rip);
    CHECK_EQ(emu_get_rflags(cpu), fa);
    CHECK_EQ(cpu->insn_count, a.insn_count);
    CHECK_EQ(cpu->exc.vector, a.exc.vector);
    CHECK_EQ(cpu->exc.errcode, a.exc.errcode);
    CHECK_EQ(cpu->exc.cr2, a.exc.cr2);
    CHECK(!memcmp(mem_a, ram + DATA, sizeof(mem_a)));
}

/* A self loop that uses 14 registers, more than translated code caches
 * (8): the allocation at the jump back is not the one its head loads, so
 * the jump back moves values between host registers, cycles among them
 * too (emit_loop_edge, parallel_moves): every register as the
 * interpreter leaves it, after the whole loop and stopped inside it. */
static void test_loop_edge_moves(void)
{
    static const uint8_t code[] = {
        0xb8, 0x01, 0x10, 0x00, 0x00, 0xbb, 0x08, 0x20, 0x00, 0x00,   /* mov eax, ...; mov ebx, ... */
        0xba, 0x0f, 0x30, 0x00, 0x00, 0xbe, 0x16, 0x40, 0x00, 0x00,   /* edx, esi */
        0xbf, 0x1d, 0x50, 0x00, 0x00, 0x41, 0xb8, 0x24, 0x60, 0x00, 0x00,   /* edi, r8d */
        0x41, 0xb9, 0x2b, 0x70, 0x00, 0x00, 0x41, 0xba, 0x32, 0x80, 0x00, 0x00,   /* r9d, r10d */
        0x41, 0xbb, 0x39, 0x90, 0x00, 0x00, 0x41, 0xbc, 0x40, 0xa0, 0x00, 0x00,   /* r11d, r12d */
        0x41, 0xbd, 0x47, 0xb0, 0x00, 0x00, 0x41, 0xbe, 0x4e, 0xc0, 0x00, 0x00,   /* r13d, r14d */
        0x41, 0xbf, 0x55, 0xd0, 0x00, 0x00, 0xbd, 0x5c, 0xe0, 0x00, 0x00,   /* r15d, ebp */
        0xb9, 0xe8, 0x03, 0x00, 0x00,           /* mov ecx, 1000 */
        0x48, 0x01, 0xd8, 0x48, 0x01, 0xd3,     /* 1: add rax, rbx; add rbx, rdx */
        0x48, 0x01, 0xf2, 0x48, 0x01, 0xfe,     /* add rdx, rsi; add rsi, rdi */
        0x4c, 0x01, 0xc7, 0x4d, 0x01, 0xc8,     /* add rdi, r8; add r8, r9 */
        0x4d, 0x01, 0xd1, 0x4d, 0x01, 0xda,     /* add r9, r10; add r10, r11 */
        0x4d, 0x01, 0xe3, 0x4d, 0x01, 0xec,     /* add r11, r12; add r12, r13 */
        0x4d, 0x01, 0xf5, 0x4d, 0x01, 0xfe,     /* add r13, r14; add r14, r15 */
        0x49, 0x01, 0xef, 0x48, 0x01, 0xc5,     /* add r15, rbp; add rbp, rax */
        0xff, 0xc9,                             /* dec ecx */
        0x75, 0xd2,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    static const uint64_t budgets[] = { 40, 100, 1001, 4567, 1000000 };
    for (unsigned k = 0; k < sizeof(budgets) / sizeof(budgets[0]); k++)
        same_with_and_without(code, sizeof(code), budgets[k]);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->insn_count, 15 + 16 * 1000);
    struct emu_jit_stats st;
    emu_jit_get_stats(cpu, &st);
    CHECK(st.blocks >= 1);
}

/* mov eax, 5; addsd xmm0, xmm1; inc eax; ud2 -- translated while SSE is
 * usable, then run with CR0.TS set (#NM), CR0.EM set (#UD) and
 * CR4.OSFXSR clear (#UD): the SSE form faults as the interpreter's
 * would, RIP at it, the instruction before it retired (emu_jit_run works
 * out c->jit_fp_ok before each entry). */
static void test_sse_state_checked(void)
{
    static const uint8_t code[] = { 0xb8, 5, 0, 0, 0, 0xf2, 0x0f, 0x58, 0xc1, 0xff, 0xc0, 0x0f, 0x0b };
    setup_len(code, sizeof(code), true);
    uint64_t entries = fp_first_run(cpu);
    uint64_t cr0 = cpu->cr0, cr4 = cpu->cr4;
    static const struct { uint64_t set0, clear4; int vector; } cases[] = {
        { CR0_TS, 0, EXC_NM }, { CR0_EM, 0, EXC_UD }, { 0, CR4_OSFXSR, EXC_UD }, { 0, 0, -1 },
    };
    for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        cpu->cr0 = cr0 | cases[k].set0;
        cpu->cr4 = cr4 & ~cases[k].clear4;
        fp_case(cpu, CODE, cases[k].vector, CODE + 11);
    }
    fp_ran_again(cpu, entries);
}

/* FNSTCW in translated code (emit_fnstcw): the control word stored; with
 * CR0.TS or CR0.EM set, #NM at it (as x87_check), then usable again. */
static void test_fnstcw_state_checked(void)
{
    static const uint8_t code[] = {
        0xb8, 5, 0, 0, 0,                       /* mov eax, 5 */
        0xd9, 0x3c, 0x25, 0x00, 0x00, 0x09, 0x00,   /* fnstcw [DATA] */
        0xff, 0xc0,                             /* inc eax */
        0x0f, 0x0b,                             /* ud2 */
    };
    setup_len(code, sizeof(code), true);
    cpu->x87.fcw = 0x27f;
    uint64_t entries = fp_first_run(cpu);
    CHECK_EQ(ram[DATA] | ram[DATA + 1] << 8, 0x27f);
    uint64_t cr0 = cpu->cr0;
    static const struct { uint64_t set0; int vector; } cases[] = {
        { CR0_TS, EXC_NM }, { CR0_EM, EXC_NM }, { 0, -1 },
    };
    for (unsigned k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
        cpu->cr0 = cr0 | cases[k].set0;
        ram[DATA] = ram[DATA + 1] = 0;
        fp_case(cpu, CODE, cases[k].vector, CODE + 14);
        CHECK_EQ(ram[DATA] | ram[DATA + 1] << 8, cases[k].vector < 0 ? 0x27f : 0);
    }
    fp_ran_again(cpu, entries);
}

/* A store walks up through memory inside a translated loop until it
 * leaves RAM: #PF at the store, with the registers and flags of the
 * iteration that faulted. */
static void test_fault_precise(void)
{
    static const uint8_t code[] = {
        0xbf, 0x00, 0x00, 0x09, 0x00,           /* mov edi, DATA */
        0x31, 0xc9,                             /* xor ecx, ecx */
        0x48, 0x83, 0xc1, 0x03,                 /* 1: add rcx, 3 */
        0x48, 0x39, 0xf9,                       /* cmp rcx, rdi */
        0x48, 0x89, 0x0f,                       /* mov [rdi], rcx */
        0x48, 0x81, 0xc7, 0x00, 0x40, 0, 0,     /* add rdi, 0x4000 */
        0xeb, 0xed,                             /* jmp 1b */
    };
    same_with_and_without(code, sizeof(code), 10000000);
    CHECK_EQ(cpu->exc.vector, EXC_PF);
    CHECK_EQ(cpu->rip, CODE + 14);
    CHECK_EQ(cpu->exc.cr2, RAM_SIZE);
}

/* A division by zero after a few hundred good ones in a translated loop. */
static void test_divide_fault_precise(void)
{
    static const uint8_t code[] = {
        0xb9, 0x00, 0x02, 0, 0,                 /* mov ecx, 512 */
        0x31, 0xdb,                             /* xor ebx, ebx */
        0x89, 0xc8,                             /* 1: mov eax, ecx */
        0x31, 0xd2,                             /* xor edx, edx */
        0x48, 0x01, 0xcb,                       /* add rbx, rcx */
        0x8d, 0x71, 0xc0,                       /* lea esi, [rcx-64] */
        0xf7, 0xf6,                             /* div esi */
        0xff, 0xc9,                             /* dec ecx */
        0xeb, 0xf0,                             /* jmp 1b */
    };
    same_with_and_without(code, sizeof(code), 10000000);
    CHECK_EQ(cpu->exc.vector, EXC_DE);
    CHECK_EQ(cpu->rip, CODE + 17);
    CHECK_EQ(cpu->gpr[R_RCX], 64);
}

/* Self loops keep their registers in host registers across the jump
 * back (jit.c, emit_loop_edge): stopped by the budget anywhere in the
 * loop, they leave what the interpreter leaves.  One loop uses more
 * guest registers than the translator caches (evictions), one ends with
 * a BT's CF and an INC's record pending, one with a store. */
static void test_loop_keeps_registers(void)
{
    static const uint8_t many[] = {
        0xb9, 0x00, 0x10, 0, 0,                 /* mov ecx, 4096 */
        0x48, 0x01, 0xd8,                       /* 1: add rax, rbx */
        0x48, 0x01, 0xf2,                       /* add rdx, rsi */
        0x4c, 0x31, 0xc7,                       /* xor rdi, r8 */
        0x4d, 0x01, 0xd1,                       /* add r9, r10 */
        0x49, 0x01, 0xc3,                       /* add r11, rax */
        0x48, 0x8d, 0x5c, 0x13, 0x01,           /* lea rbx, [rbx+rdx+1] */
        0x4d, 0x01, 0xd8,                       /* add r8, r11 */
        0x49, 0xff, 0xc2,                       /* inc r10 */
        0x48, 0x8d, 0x72, 0x07,                 /* lea rsi, [rdx+7] */
        0x4c, 0x89, 0x4c, 0x24, 0xf8,           /* mov [rsp-8], r9 */
        0xff, 0xc9,                             /* dec ecx */
        0x75, 0xd9,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    static const uint8_t cf[] = {
        0x48, 0x01, 0xc3,                       /* 1: add rbx, rax */
        0x48, 0x0f, 0xba, 0xe3, 0x05,           /* bt rbx, 5 */
        0x48, 0xff, 0xc0,                       /* inc rax */
        0x48, 0x0f, 0xba, 0xe0, 0x02,           /* bt rax, 2 */
        0xeb, 0xee,                             /* jmp 1b */
    };
    static const uint64_t budgets[] = { 1, 13, 14, 15, 1000, 4099, 12345, 99999 };
    for (unsigned k = 0; k < sizeof(budgets) / sizeof(budgets[0]); k++) {
        same_with_and_without(many, sizeof(many), budgets[k]);
        same_with_and_without(cf, sizeof(cf), budgets[k]);
    }
    same_with_and_without(many, sizeof(many), 10000000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->insn_count, 1 + 12 * 4096);
}

/* ---- loops of two blocks (jit.c, jit_follow) -------------------------------- */

/* A translation whose jump back goes below its start, to code that jumps
 * back to its start, takes that code in (a second range): the loop runs
 * as one translation, and budgets that stop it anywhere leave what the
 * interpreter leaves.  The back edge is a Jcc in one loop, a JMP in the
 * other (and a JMP closes it). */
static const uint8_t two_block_jcc[] = {
    0xb9, 0xe8, 0x03, 0, 0,                     /* mov ecx, 1000 */
    0x31, 0xc0,                                 /* xor eax, eax */
    0xeb, 0x0b,                                 /* jmp 2f */
    0x48, 0x01, 0xc8,                           /* 1: add rax, rcx */
    0x48, 0x83, 0xf8, 0xff,                     /* cmp rax, -1 */
    0x75, 0x02,                                 /* jne 2f (always) */
    0x0f, 0x0b,                                 /* ud2 */
    0xff, 0xc9,                                 /* 2: dec ecx */
    0x75, 0xf1,                                 /* jnz 1b */
    0x0f, 0x0b,                                 /* ud2 */
};

static void test_two_block_loop(void)
{
    const uint8_t *jcc = two_block_jcc;
    size_t jcc_len = sizeof(two_block_jcc);
    static const uint8_t jmp[] = {
        0xb9, 0xe8, 0x03, 0, 0,                 /* mov ecx, 1000 */
        0x31, 0xc0,                             /* xor eax, eax */
        0xeb, 0x05,                             /* jmp 2f */
        0x48, 0x01, 0xc8,                       /* 1: add rax, rcx */
        0xeb, 0x00,                             /* jmp 2f */
        0xff, 0xc9,                             /* 2: dec ecx */
        0x74, 0x02,                             /* jz 3f */
        0xeb, 0xf5,                             /* jmp 1b */
        0x0f, 0x0b,                             /* 3: ud2 */
    };
    static const uint64_t budgets[] = { 1, 3, 4, 5, 6, 7, 8, 9, 10, 13, 999, 4099 };
    for (unsigned k = 0; k < sizeof(budgets) / sizeof(budgets[0]); k++) {
        same_with_and_without(jcc, jcc_len, budgets[k]);
        same_with_and_without(jmp, sizeof(jmp), budgets[k]);
    }
    same_with_and_without(jcc, jcc_len, 1000000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->rip, CODE + 24);
    CHECK_EQ(cpu->gpr[R_RAX], 499500);
    struct emu_jit_stats st;
    emu_jit_get_stats(cpu, &st);
    CHECK(st.followed >= 1);
    uint64_t entries = st.entries;
    same_with_and_without(jmp, sizeof(jmp), 1000000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->rip, CODE + 20);
    CHECK_EQ(cpu->gpr[R_RAX], 499500);
    emu_jit_get_stats(cpu, &st);
    CHECK(st.followed >= 1);
    /* One loop, one translation: entered from the dispatcher a few times,
     * not once per iteration. */
    CHECK(st.entries < 10 && entries < 10);
    /* Off (HOSTEL_EMU_JIT_FOLLOW=0): the same results, nothing followed. */
    emu_jit_test_follow(false);
    same_with_and_without(jcc, jcc_len, 1000000);
    emu_jit_get_stats(cpu, &st);
    CHECK_EQ(st.followed, 0);
    CHECK_EQ(cpu->gpr[R_RAX], 499500);
    emu_jit_test_follow(true);
}

/* Stores into the second range take effect: the second range stores CL
 * into the immediate of its own ADD, every iteration; and bytes changed
 * there between runs (a new epoch) make a new translation. */
static void test_two_block_loop_smc(void)
{
    static const uint8_t code[] = {
        0x31, 0xdb,                             /* xor ebx, ebx */
        0xb9, 0x64, 0, 0, 0,                    /* mov ecx, 100 */
        0xeb, 0x0c,                             /* jmp 2f */
        0x48, 0x83, 0xc3, 0x00,                 /* 1: add rbx, imm8 */
        0x88, 0x0d, 0xf9, 0xff, 0xff, 0xff,     /* mov [rip-7], cl: the imm8 */
        0xeb, 0x00,                             /* jmp 2f */
        0xff, 0xc9,                             /* 2: dec ecx */
        0x75, 0xf0,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    same_with_and_without(code, sizeof(code), 100000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->gpr[R_RBX], 4949);   /* 0 + 99 + 98 + ... + 2 */

    /* Translated with ADD RAX, RCX in the second range; then SUB. */
    setup_len(two_block_jcc, sizeof(two_block_jcc), true);
    emu_execute(cpu, 100000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->gpr[R_RAX], 499500);
    struct emu_jit_stats st0, st;
    emu_jit_get_stats(cpu, &st0);
    ram[CODE + 10] = 0x29;                      /* sub rax, rcx */
    cpu->rip = CODE;
    cpu->exc.vector = -1;
    emu_execute(cpu, 100000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->gpr[R_RAX], (uint64_t)-499500);
    emu_jit_get_stats(cpu, &st);
    CHECK(st.blocks > st0.blocks);   /* translated again */
}

/* A fault in the second range is precise: the store there walks up
 * until it leaves RAM. */
static void test_two_block_loop_fault(void)
{
    static const uint8_t code[] = {
        0xbf, 0x00, 0x00, 0x09, 0x00,           /* mov edi, DATA */
        0x31, 0xc9,                             /* xor ecx, ecx */
        0xeb, 0x0c,                             /* jmp 2f */
        0x48, 0x89, 0x0f,                       /* 1: mov [rdi], rcx */
        0x48, 0x81, 0xc7, 0x00, 0x40, 0, 0,     /* add rdi, 0x4000 */
        0xeb, 0x00,                             /* jmp 2f */
        0x48, 0x83, 0xc1, 0x03,                 /* 2: add rcx, 3 */
        0x48, 0x39, 0xf9,                       /* cmp rcx, rdi */
        0x75, 0xeb,                             /* jne 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    /* Without traces the loop is a followed jump; with them, the first
     * JMP is followed too and the loop is the trace's (jit_trace). */
    for (int trace = 0; trace < 2; trace++) {
        emu_jit_test_trace(trace);
        same_with_and_without(code, sizeof(code), 10000000);
        CHECK_EQ(cpu->exc.vector, EXC_PF);
        CHECK_EQ(cpu->rip, CODE + 9);
        CHECK_EQ(cpu->exc.cr2, RAM_SIZE);
        struct emu_jit_stats st;
        emu_jit_get_stats(cpu, &st);
        CHECK(trace ? st.traced >= 1 : st.followed >= 1);
    }
}

/* A pending event stops a two-block loop that never leaves. */
static void test_two_block_loop_event(void)
{
    SETUP(true, 0xeb, 0x05,                     /* jmp 2f */
          0x48, 0xff, 0xc0,                     /* 1: inc rax */
          0xeb, 0x00,                           /* jmp 2f */
          0x48, 0xff, 0xc3,                     /* 2: inc rbx */
          0xeb, 0xf6);                          /* jmp 1b */
    run_until_stopped();
    CHECK(cpu->rip == CODE + 7 || cpu->rip == CODE + 2);
    CHECK(cpu->gpr[R_RBX] - cpu->gpr[R_RAX] <= 1);
    struct emu_jit_stats st;
    emu_jit_get_stats(cpu, &st);
    CHECK(st.followed >= 1);
    atomic_store(&cpu->events, 0);
}

/* A self loop whose body overwrites every flag first leaves the record of
 * its jump back unstored; stopped at that jump (the budget), the flags are
 * the interpreter's. */
static void test_loop_flags_dead(void)
{
    static const uint8_t code[] = {
        0xb9, 0x00, 0x10, 0, 0,                 /* mov ecx, 4096 */
        0x48, 0x01, 0xd8,                       /* 1: add rax, rbx */
        0x48, 0x31, 0xc2,                       /* xor rdx, rax */
        0x48, 0xff, 0xc3,                       /* inc rbx */
        0x48, 0x83, 0xe9, 0x01,                 /* sub rcx, 1 */
        0x75, 0xf1,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    static const uint64_t budgets[] = { 1, 5, 6, 11, 16, 21, 1001, 99999 };
    for (unsigned k = 0; k < sizeof(budgets) / sizeof(budgets[0]); k++)
        same_with_and_without(code, sizeof(code), budgets[k]);
}

/* A loop whose jump back is not its translation's last instruction (the
 * code after the loop is in the same block): the jump back is inline
 * behind a Jcc of the opposite condition (emit_jcc_back), and the code
 * after the loop must see the flags (CF of the CMP, kept by DECs), the
 * registers and the memory the interpreter leaves, run whole or stopped
 * anywhere inside (the jump back's budget check failing too). */
static void test_loop_back_mid_block(void)
{
    static const uint8_t code[] = {
        0x31, 0xc0,                             /* xor eax, eax */
        0xb9, 0x2c, 0x01, 0, 0,                 /* mov ecx, 300 */
        0x09, 0xdb,                             /* or ebx, ebx (a record of another kind before) */
        0xeb, 0x00,                             /* jmp 1f: the loop is a translation of its own */
        0x48, 0x01, 0xc8,                       /* 1: add rax, rcx */
        0x48, 0x89, 0x04, 0x25, 0x00, 0x00, 0x09, 0x00,   /* mov [DATA], rax */
        0x83, 0xf9, 0x07,                       /* cmp ecx, 7 */
        0xff, 0xc9,                             /* dec ecx */
        0x75, 0xee,                             /* jnz 1b */
        0xff, 0xca,                             /* dec edx (its record: the DEC's op again) */
        0x0f, 0x92, 0xc3,                       /* setc bl */
        0x0f, 0x0b,                             /* ud2 */
    };
    static const uint64_t budgets[] = { 1, 3, 7, 8, 12, 37, 100, 251, 1201, 1205, 1206, 99999 };
    for (unsigned k = 0; k < sizeof(budgets) / sizeof(budgets[0]); k++)
        same_with_and_without(code, sizeof(code), budgets[k]);
    setup_len(code, sizeof(code), true);
    emu_execute(cpu, 99999);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->gpr[R_RAX], 45150);           /* 300 + ... + 1 */
    CHECK_EQ(cpu->gpr[R_RDX], 0xffffffffu);
    CHECK_EQ(cpu->gpr[R_RBX] & 0xff, 1);        /* the CF of cmp 1, 7, kept by both DECs */
}

/* Each run of the loop stores a new immediate into the instruction right
 * after the store; the translated block must run the new one. */
static void test_store_into_running_block(void)
{
    SETUP(true, 0x31, 0xdb,                     /* xor ebx, ebx */
          0xb9, 0x64, 0, 0, 0,                  /* mov ecx, 100 */
          0x88, 0x0d, 0x01, 0, 0, 0,            /* 1: mov [rip+1], cl: the imm8 below */
          0xb0, 0x00,                           /* mov al, 0 */
          0x0f, 0xb6, 0xc0,                     /* movzx eax, al */
          0x48, 0x01, 0xc3,                     /* add rbx, rax */
          0xff, 0xc9,                           /* dec ecx */
          0x75, 0xee,                           /* jnz 1b */
          0x0f, 0x0b);                          /* ud2 */
    emu_execute(cpu, 100000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->gpr[R_RBX], 5050);
}

/* Two pages 4 MiB apart share a TLB index: a loop alternating between
 * them finds the one it does not hold in way 0 in way 1 (the stub's
 * compare, the swap), walks no page tables after the first accesses,
 * and computes what the interpreter does. */
static void test_tlb_second_way(void)
{
    uint64_t walks[2], sum[2];
    emu_jit_test_loop_slots(false);   /* RBX and RDX stay: the loop slots would hold both pages */
    for (int jit = 0; jit < 2; jit++) {
        SETUP(jit, 0xb9, 0xe8, 0x03, 0, 0,     /* mov ecx, 1000 */
              0x48, 0x8b, 0x03,                 /* 1: mov rax, [rbx] */
              0x48, 0x01, 0x02,                 /* add [rdx], rax */
              0xff, 0xc9,                       /* dec ecx */
              0x75, 0xf6,                       /* jnz 1b */
              0x0f, 0x0b);                      /* ud2 */
        ram[DATA] = 3;
        cpu->gpr[R_RBX] = DATA;
        cpu->gpr[R_RDX] = DATA + (4u << 20);
        uint64_t w0 = cpu->mmu.st.misses, h0 = cpu->mmu.st.way1_hits;
        emu_execute(cpu, 100000);
        CHECK_EQ(cpu->exc.vector, EXC_UD);
        CHECK_EQ(cpu->insn_count, 1 + 4 * 1000);
        walks[jit] = cpu->mmu.st.misses - w0;
        sum[jit] = *(uint64_t *)(ram + DATA + (4u << 20));
        CHECK(cpu->mmu.st.way1_hits - h0 >= 1000);
    }
    emu_jit_test_loop_slots(true);
    CHECK_EQ(sum[0], 3000);
    CHECK_EQ(sum[1], 3000);
    CHECK(walks[0] < 10);
    CHECK(walks[1] < 10);
    /* The same loop with every access on its slow path (cpu_diff's mode):
     * the handlers, same result. */
    emu_jit_test_slow_paths(true);
    SETUP(true, 0xb9, 0xe8, 0x03, 0, 0, 0x48, 0x8b, 0x03, 0x48, 0x01, 0x02,
          0xff, 0xc9, 0x75, 0xf6, 0x0f, 0x0b);
    ram[DATA] = 3;
    cpu->gpr[R_RBX] = DATA;
    cpu->gpr[R_RDX] = DATA + (4u << 20);
    emu_execute(cpu, 100000);
    emu_jit_test_slow_paths(false);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(*(uint64_t *)(ram + DATA + (4u << 20)), 3000);
}

/* Translated loads and stores find their page in the TLB inline: after
 * the first miss fills the entry, a loop through one data page (no loop
 * slots: every access its own lookup, emit_tlb) runs no handler, as the
 * index the inline code computes is the one the MMU fills.  A wrong index
 * (or tag) would still give right results, through the handlers: only
 * the count of handler calls (emu_jit_stats.handler_calls) shows it. */
static void test_tlb_inline_hits(void)
{
    emu_jit_test_loop_slots(false);
    SETUP(true, 0xb9, 0xe8, 0x03, 0, 0,     /* mov ecx, 1000 */
          0x48, 0x8b, 0x03,                 /* 1: mov rax, [rbx] */
          0x48, 0x89, 0x43, 0x08,           /* mov [rbx + 8], rax */
          0x48, 0x01, 0xc2,                 /* add rdx, rax */
          0xff, 0xc9,                       /* dec ecx */
          0x75, 0xf2,                       /* jnz 1b */
          0x0f, 0x0b);                      /* ud2 */
    *(uint64_t *)(ram + DATA + 0x7f8) = 5;
    cpu->gpr[R_RBX] = DATA + 0x7f8;
    uint64_t h0 = cpu->jit_hcalls;
    emu_execute(cpu, 100000);
    emu_jit_test_loop_slots(true);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->insn_count, 1 + 5 * 1000);
    CHECK_EQ(cpu->gpr[R_RDX], 5000);
    CHECK_EQ(*(uint64_t *)(ram + DATA + 0x800), 5);
    struct emu_jit_stats js;
    emu_jit_get_stats(cpu, &js);
    CHECK_EQ(js.handler_calls, cpu->jit_hcalls);
    CHECK(cpu->jit_hcalls - h0 < 10);
}

static void put_pte(uint64_t at, uint64_t v);

/* A flat CPU's translated reads go straight to RAM (jit.c emit_flat_read):
 * a loop's reads run no handler and sum what the interpreter sums; a read
 * of RAM's last 8 bytes (past flat_end: the handler) and one across the
 * end (#PF) leave what the interpreter leaves. */
static void test_flat_reads(void)
{
    static const uint8_t code[] = {
        0xb9, 0xe8, 0x03, 0, 0,                 /* mov ecx, 1000 */
        0x48, 0x8b, 0x44, 0xcb, 0xf8,           /* 1: mov rax, [rbx + rcx * 8 - 8] */
        0x48, 0x01, 0xc2,                       /* add rdx, rax */
        0xff, 0xc9,                             /* dec ecx */
        0x75, 0xf4,                             /* jnz 1b */
        0x48, 0x8b, 0x06,                       /* mov rax, [rsi]: RAM's last 8 bytes */
        0x48, 0x01, 0xc2,                       /* add rdx, rax */
        0x48, 0x8b, 0x07,                       /* mov rax, [rdi]: across RAM's end */
        0x0f, 0x0b,                             /* ud2 */
    };
    struct emu_cpu a;
    uint64_t hcalls = 0;
    emu_jit_test_flat(true);
    for (int jit = 0; jit < 2; jit++) {
        setup_len(code, sizeof(code), jit);
        for (unsigned k = 0; k < 1000; k++) {
            uint64_t v = k * 0x10001 + 3;
            memcpy(ram + DATA + 8 * k, &v, 8);
        }
        uint64_t last = 0x1122334455667788ULL;
        memcpy(ram + RAM_SIZE - 8, &last, 8);
        cpu->gpr[R_RBX] = DATA;
        cpu->gpr[R_RSI] = RAM_SIZE - 8;
        cpu->gpr[R_RDI] = RAM_SIZE - 4;
        uint64_t h0 = cpu->jit_hcalls;
        emu_execute(cpu, 100000);
        hcalls = cpu->jit_hcalls - h0;
        if (!jit)
            a = *cpu;
    }
    struct emu_jit_stats js;
    emu_jit_get_stats(cpu, &js);
    emu_jit_test_flat(false);
    uint64_t sum = 0x1122334455667788ULL;
    for (unsigned k = 0; k < 1000; k++)
        sum += k * 0x10001 + 3;
    CHECK_EQ(a.exc.vector, EXC_PF);
    CHECK_EQ(a.gpr[R_RDX], sum);
    CHECK_EQ(cpu->exc.vector, a.exc.vector);
    CHECK_EQ(cpu->exc.errcode, a.exc.errcode);
    CHECK_EQ(cpu->exc.cr2, a.exc.cr2);
    CHECK_EQ(cpu->rip, a.rip);
    CHECK_EQ(cpu->rip, CODE + 23);
    CHECK_EQ(cpu->insn_count, a.insn_count);
    for (int r = 0; r < 16; r++)
        CHECK_EQ(cpu->gpr[r], a.gpr[r]);
    CHECK_EQ(emu_get_rflags(cpu), emu_get_rflags(&a));
    CHECK(js.flat_reads >= 1);
    CHECK(hcalls <= 3);   /* the two reads at the end, not the loop's */
}

/* Paging turned on under a flat CPU's translations (as a test or a state
 * load does, between emu_execute calls): their reads stop going straight
 * to RAM and see the new mapping, through their handlers. */
static void test_flat_paging_on(void)
{
    enum { PML4 = 0x10000, PDPT = 0x11000, PD = 0x12000, PT = 0x13000 };
    emu_jit_test_flat(true);
    SETUP(true, 0xb9, 0x64, 0, 0, 0,            /* mov ecx, 100 */
          0x48, 0x03, 0x13,                     /* 1: add rdx, [rbx] */
          0xff, 0xc9,                           /* dec ecx */
          0x75, 0xf9,                           /* jnz 1b */
          0x0f, 0x0b);                          /* ud2 */
    ram[DATA] = 1;
    ram[DATA + 0x1000] = 7;
    cpu->gpr[R_RBX] = DATA;
    emu_execute(cpu, 100000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->gpr[R_RDX], 100);
    struct emu_jit_stats js;
    emu_jit_get_stats(cpu, &js);
    CHECK(js.flat_reads >= 1);
    /* The first 2 MiB identity-mapped, but DATA's page shows the next. */
    put_pte(PML4, PDPT | 7);
    put_pte(PDPT, PD | 7);
    put_pte(PD, PT | 7);
    for (uint64_t p = 0; p < 512; p++)
        put_pte(PT + 8 * p, (p == DATA >> 12 ? DATA + 0x1000 : p << 12) | 7);
    cpu->cr3 = PML4;
    cpu->cr0 |= CR0_PG;
    emu_tlb_flush(cpu, true);
    cpu->rip = CODE;
    cpu->gpr[R_RDX] = 0;
    cpu->exc.vector = -1;
    emu_execute(cpu, 100000);
    emu_jit_test_flat(false);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->gpr[R_RDX], 700);
    CHECK_EQ(cpu->mmu.flat_end, 0);
}

/* MOV r, Sreg in translated code: the selector zero-extended into 32-
 * and 64-bit registers, merged into a 16-bit one, as the interpreter
 * does; none of them runs its handler. */
static void test_mov_from_sreg(void)
{
    static const uint8_t code[] = {
        0x48, 0xc7, 0xc0, 0xff, 0xff, 0xff, 0xff,   /* mov rax, -1 */
        0x48, 0x89, 0xc3,                           /* mov rbx, rax */
        0x48, 0x89, 0xc1,                           /* mov rcx, rax */
        0x48, 0x89, 0xc2,                           /* mov rdx, rax */
        0x49, 0x89, 0xc0,                           /* mov r8, rax */
        0x8c, 0xc8,                                 /* mov eax, cs */
        0x48, 0x8c, 0xd3,                           /* mov rbx, ss */
        0x66, 0x8c, 0xd9,                           /* mov cx, ds */
        0x8c, 0xe2,                                 /* mov edx, fs */
        0x41, 0x8c, 0xe8,                           /* mov r8d, gs */
        0x0f, 0x0b,                                 /* ud2 */
    };
    same_with_and_without(code, sizeof(code), 100);
    uint64_t h0 = cpu->jit_hcalls;
    setup_len(code, sizeof(code), true);
    cpu->seg[S_DS].selector = 0x2b;
    cpu->seg[S_GS].selector = 0x1234;
    emu_execute(cpu, 100);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->gpr[R_RAX], 0x08);
    CHECK_EQ(cpu->gpr[R_RBX], 0x10);
    CHECK_EQ(cpu->gpr[R_RCX], 0xffffffffffff002bULL);
    CHECK_EQ(cpu->gpr[R_RDX], 0x10);
    CHECK_EQ(cpu->gpr[R_R8], 0x1234);
    CHECK_EQ(cpu->jit_hcalls, h0);
}

/* A device's DMA (emu_dma_written) asks a vCPU to look at its code again
 * only when the range shares a page with code it decoded: the loop's page
 * and ranges reaching into it do, data pages and the end of RAM do not. */
static void test_dma_sees_only_code_pages(void)
{
    SETUP(true, 0xb9, 0x10, 0, 0, 0,            /* mov ecx, 16 */
          0xff, 0xc9,                           /* 1: dec ecx */
          0x75, 0xfc,                           /* jnz 1b */
          0x0f, 0x0b);                          /* ud2 */
    emu_execute(cpu, 1000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK(emu_mmu_holds_code(cpu, CODE + 0x800, 4));
    CHECK(emu_mmu_holds_code(cpu, 0, CODE + 1));          /* ends in the code page */
    CHECK(emu_mmu_holds_code(cpu, CODE - 16, 4096));      /* reaches into it */
    CHECK(!emu_mmu_holds_code(cpu, 0, CODE));             /* ends just before it */
    CHECK(!emu_mmu_holds_code(cpu, CODE + 4096, 65536));  /* the pages after it */
    CHECK(!emu_mmu_holds_code(cpu, DATA, 4096));
    CHECK(!emu_mmu_holds_code(cpu, RAM_SIZE - 4096, 1 << 20));   /* past the end */
    CHECK(!emu_mmu_holds_code(cpu, CODE, 0));
}

/* Appends n blocks of ADD RAX, k+1; JMP next (a translation each), then
 * DEC reg (ECX 0xc9, EDX 0xca); JNZ to the start of code; UD2.  RAX ends
 * at passes * n * (n + 1) / 2.  Returns the new length. */
static size_t add_blocks_loop(uint8_t *code, size_t o, unsigned n, uint8_t dec_modrm)
{
    for (unsigned k = 0; k < n; k++) {
        code[o++] = 0x48; code[o++] = 0x05;     /* add rax, imm32 */
        uint32_t imm = k + 1;
        memcpy(code + o, &imm, 4);
        o += 4;
        code[o++] = 0xe9;                       /* jmp next (a block each) */
        uint32_t rel = 0;
        memcpy(code + o, &rel, 4);
        o += 4;
    }
    code[o++] = 0xff; code[o++] = dec_modrm;    /* dec ecx / edx */
    code[o++] = 0x0f; code[o++] = 0x85;         /* jnz start */
    int32_t back = -(int32_t)(o + 4);
    memcpy(code + o, &back, 4);
    o += 4;
    code[o++] = 0x0f; code[o++] = 0x0b;
    return o;
}

/* Runs code (translated at once, without traces) through a 256 KiB code
 * cache with guest register reg = passes, until its UD2; st: the counters
 * after. */
static void run_in_small_cache(const uint8_t *code, size_t len, unsigned reg, uint64_t passes,
                               struct emu_jit_stats *st)
{
    emu_jit_test_code_size(256u << 10);
    emu_jit_test_trace(false);   /* a translation for each block, not one for 64 of them */
    setup_len(code, len, true);
    cpu->gpr[reg] = passes;
    emu_execute(cpu, 100000000);
    emu_jit_test_trace(true);
    emu_jit_test_code_size(0);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    emu_jit_get_stats(cpu, st);
}

/* One RET returning in turn to eight call sites whose return addresses
 * (0x2102, 0x3103, ... 0x9109: offset 0x100 ^ page) all took one jump
 * cache entry under its first index, RIP ^ RIP >> 12 (busybox awk's
 * 0x568108 and 0x566106 did, and every one of awk's returns there went to
 * the dispatcher): without traces, the RET's exit finds each in the jump
 * cache, and the dispatcher enters a few times, not once per return. */
static void test_jump_cache_spread(void)
{
    enum { SITES = 8, PASSES = 2000, F = 0x20000 };
    static const uint8_t head[] = {
        0xb9, PASSES & 0xff, PASSES >> 8, 0, 0, /* mov ecx, PASSES */
        0xe9, 0, 0, 0, 0,                       /* 1: jmp site 0 (patched below) */
        0, 0, 0, 0, 0, 0,
        0xff, 0xc9,                             /* 0x1010: dec ecx */
        0x75, 0xf1,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    static const uint8_t f[] = { 0x48, 0xff, 0xc0, 0xc3 };   /* inc rax; ret */
    emu_jit_test_trace(false);   /* the RET leaves through the jump cache */
    setup_len(head, sizeof(head), true);
    memcpy(ram + F, f, sizeof(f));
    uint64_t prev_jmp = CODE + 5;   /* the jmp that goes to the next site */
    for (unsigned k = 0; k <= SITES; k++) {
        uint64_t ret = 0x1000 * (k + 2) + (0x100 ^ (k + 2));
        uint64_t target = k < SITES ? ret - 5 : CODE + 0x10;
        int32_t rel = (int32_t)(target - (prev_jmp + 5));
        memcpy(ram + prev_jmp + 1, &rel, 4);
        if (k == SITES)
            break;
        ram[ret - 5] = 0xe8;                    /* call f */
        rel = (int32_t)(F - ret);
        memcpy(ram + ret - 4, &rel, 4);
        ram[ret] = 0xe9;                        /* jmp to the next site */
        prev_jmp = ret;
    }
    emu_execute(cpu, 1000000);
    emu_jit_test_trace(true);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->gpr[R_RAX], SITES * PASSES);
    CHECK_EQ(cpu->insn_count, 1 + PASSES * (1 + SITES * 4 + 2));
    struct emu_jit_stats st;
    emu_jit_get_stats(cpu, &st);
    CHECK(st.entries < 100);
}

/* 3000 distinct blocks, each translated, through a code cache that holds
 * a few hundred: it fills, is emptied, and the results stay right. */
static void test_cache_full(void)
{
    enum { N = 3000 };
    static uint8_t code[N * 11 + 16];
    size_t o = add_blocks_loop(code, 0, N, 0xc9);
    struct emu_jit_stats st;
    run_in_small_cache(code, o, R_RCX, 3, &st);
    CHECK_EQ(cpu->gpr[R_RAX], 3ull * N * (N + 1) / 2);
    CHECK(st.flushes >= 1);
    CHECK(st.code_bytes <= (256u << 10));
    CHECK(st.blocks >= 3 * N / 2);
}

/* Followed ranges across flushes: a small code cache, flushed over and
 * over while a two-block loop (a followed range) is translated again each
 * pass, the results those of the interpreter.  (The records a flush hands
 * out again start from zeros; a translation that kept the last
 * generation's words once read an exit record as a followed range and
 * crashed the VMM. This flat program did not reproduce that crash; a
 * snapshot restored in place did, tests/machines/run_snapshot.sh.) */
static void test_followed_after_flush(void)
{
    enum { N = 3000 };
    static uint8_t code[N * 11 + 64];
    static const uint8_t inner[] = {
        0xb9, 0x0a, 0, 0, 0,                    /* mov ecx, 10 */
        0xeb, 0x0b,                             /* jmp 2f */
        0x48, 0xff, 0xc3,                       /* 1: inc rbx */
        0x48, 0x83, 0xfb, 0xff,                 /* cmp rbx, -1 */
        0x75, 0x02,                             /* jne 2f (always) */
        0x0f, 0x0b,                             /* ud2 */
        0xff, 0xc9,                             /* 2: dec ecx */
        0x75, 0xf1,                             /* jnz 1b */
    };
    memcpy(code, inner, sizeof(inner));
    size_t o = add_blocks_loop(code, sizeof(inner), N, 0xca);
    struct emu_jit_stats st;
    run_in_small_cache(code, o, R_RDX, 20, &st);
    CHECK_EQ(cpu->gpr[R_RAX], 20ull * N * (N + 1) / 2);
    CHECK_EQ(cpu->gpr[R_RBX], 20ull * 9);
    CHECK(st.flushes >= 2);
    CHECK(st.followed >= 2);
}

/* A restore in place maps the saved RAM over the running machine's and
 * loads the vCPU: nothing the CPU translated (or decoded) from the old
 * bytes may run afterwards, though no store told it of the change. */
static void test_restore_drops_translations(void)
{
    for (int jit = 0; jit < 2; jit++) {
        SETUP(jit, 0xb9, 0xe8, 0x03, 0, 0,      /* mov ecx, 1000 */
              0x48, 0x83, 0xc0, 0x01,           /* 1: add rax, 1 */
              0xff, 0xc9,                       /* dec ecx */
              0x75, 0xf8,                       /* jnz 1b */
              0x0f, 0x0b);                      /* ud2 */
        CHECK_EQ(emu_execute(cpu, 1 + 3 * 400), 1 + 3 * 400);   /* translated, linked */
        CHECK_EQ(cpu->gpr[R_RAX], 400);
        struct vcpu_snap *snap = malloc(sizeof(*snap));
        CHECK(snap != NULL);
        if (!snap)
            return;
        emu_state_save(cpu, snap);
        /* The machine runs on, then its snapshot comes back with other
         * code at the same address (add rax, 5). */
        emu_execute(cpu, 3 * 100);
        ram[CODE + 8] = 0x05;
        emu_state_load(cpu, snap);
        free(snap);
        emu_execute(cpu, 100000);
        CHECK_EQ(cpu->exc.vector, EXC_UD);
        CHECK_EQ(cpu->gpr[R_RAX], 400 + 5 * 600);
        atomic_store(&cpu->events, 0);
    }
}

static void put_pte(uint64_t at, uint64_t v)
{
    memcpy(ram + at, &v, 8);
}

/* One physical page of code mapped at two linear addresses (a shared
 * library at different places in two processes): translated code has its
 * RIPs built in, so each address needs its own translation.  The loop
 * adds its own RIP-relative address up; run at the second alias it must
 * add the second address, and its back edge must stay there. */
static void test_same_page_two_addresses(void)
{
    enum { PML4 = 0x10000, PDPT = 0x11000, PD = 0x12000, PT = 0x13000,
           A1 = 0x400000, A2 = 0x600000 };
    for (int jit = 0; jit < 2; jit++) {
        SETUP(jit, 0xb9, 0x64, 0, 0, 0,         /* mov ecx, 100 */
              0x48, 0x8d, 0x05, 0, 0, 0, 0,     /* 1: lea rax, [rip] */
              0x48, 0x01, 0xc3,                 /* add rbx, rax */
              0xff, 0xc9,                       /* dec ecx */
              0x75, 0xf2,                       /* jnz 1b */
              0x0f, 0x0b);                      /* ud2 */
        /* The first 2 MiB identity-mapped (stack, tables); the code page
         * at A1 and at A2 (the same page table). */
        put_pte(PML4, PDPT | 7);
        put_pte(PDPT, PD | 7);
        put_pte(PD, 0x87);
        put_pte(PD + 8 * (A1 >> 21), PT | 7);
        put_pte(PD + 8 * (A2 >> 21), PT | 7);
        put_pte(PT, CODE | 7);
        cpu->cr3 = PML4;
        cpu->cr0 |= CR0_PG;
        emu_tlb_flush(cpu, true);
        for (int round = 0; round < 3; round++) {
            uint64_t base = round == 1 ? A2 : A1;
            cpu->rip = base;
            cpu->gpr[R_RBX] = 0;
            cpu->exc.vector = -1;
            emu_execute(cpu, 100000);
            CHECK_EQ(cpu->exc.vector, EXC_UD);
            CHECK_EQ(cpu->rip, base + 19);
            CHECK_EQ(cpu->gpr[R_RBX], 100 * (base + 12));
        }
    }
}

/* RSP-based accesses go through the stack page (jit.c emit_tlb_stack):
 * pushes, pops and [rsp+d] on both sides of a page boundary, and a read
 * that straddles it, in a translated loop: the interpreter's results. */
static void test_stack_page_boundary(void)
{
    static const uint8_t code[] = {
        0xb9, 0xf4, 0x01, 0, 0,                 /* mov ecx, 500 */
        0x48, 0x83, 0xc4, 0x08,                 /* add rsp, 8: STACK + 8 */
        0x51,                                   /* 1: push rcx ([STACK]) */
        0x51,                                   /* push rcx ([STACK - 8], the page below) */
        0x48, 0x8b, 0x44, 0x24, 0x08,           /* mov rax, [rsp + 8] */
        0x48, 0x03, 0x04, 0x24,                 /* add rax, [rsp] */
        0x89, 0x44, 0x24, 0x04,                 /* mov [rsp + 4], eax: the lower page's last 4 bytes */
        0x48, 0x8b, 0x54, 0x24, 0x04,           /* mov rdx, [rsp + 4]: straddles the boundary */
        0x48, 0x01, 0xd3,                       /* add rbx, rdx */
        0x58,                                   /* pop rax */
        0x5e,                                   /* pop rsi */
        0xff, 0xc9,                             /* dec ecx */
        0x75, 0xe3,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    same_with_and_without(code, sizeof(code), 100000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->gpr[R_RSP], STACK + 8);
    CHECK(cpu->gpr[R_RBX] != 0);
}

/* The stack walks up out of RAM a MiB at a time, with several accesses
 * to each page (the stack page hits after the first): #PF at the first
 * access past the end, with the state the interpreter leaves. */
static void test_stack_page_fault(void)
{
    static const uint8_t code[] = {
        0x48, 0x81, 0xc4, 0x00, 0x00, 0x10, 0x00, /* 1: add rsp, 0x100000 */
        0x48, 0x89, 0x4c, 0x24, 0x08,           /* mov [rsp + 8], rcx */
        0x48, 0x8b, 0x04, 0x24,                 /* mov rax, [rsp] */
        0x48, 0x03, 0x44, 0x24, 0x08,           /* add rax, [rsp + 8] */
        0x50,                                   /* push rax */
        0x5a,                                   /* pop rdx */
        0x48, 0xff, 0xc1,                       /* inc rcx */
        0xeb, 0xe4,                             /* jmp 1b */
    };
    same_with_and_without(code, sizeof(code), 100000);
    CHECK_EQ(cpu->exc.vector, EXC_PF);
    CHECK_EQ(cpu->rip, CODE + 7);
    CHECK_EQ(cpu->exc.cr2, STACK + 8 * 0x100000 + 8);
    CHECK_EQ(cpu->gpr[R_RCX], 7);
}

/* PUSH and POP of registers that no host register holds go between
 * guest memory and the stack without taking one (a prologue's pushes
 * pushed out the arguments it then read): eight pushes, the pops into
 * other registers, in a loop of which some registers are kept across the
 * jump back and some are not; then the same walking up out of RAM a MiB
 * a time, which faults at a push.  Every register, the flags, RIP and
 * the count as the interpreter leaves them, at several budgets. */
static void test_push_pop_direct(void)
{
#define PP_SETUP                                                          \
        0xb8, 0x01, 0x10, 0x00, 0x00, 0xbb, 0x08, 0x20, 0x00, 0x00,       \
        0xba, 0x0f, 0x30, 0x00, 0x00, 0xbe, 0x16, 0x40, 0x00, 0x00,       \
        0xbf, 0x1d, 0x50, 0x00, 0x00, 0x41, 0xb8, 0x24, 0x60, 0x00, 0x00, \
        0x41, 0xb9, 0x2b, 0x70, 0x00, 0x00, 0x41, 0xba, 0x32, 0x80, 0x00, 0x00, \
        0x41, 0xbb, 0x39, 0x90, 0x00, 0x00, 0x41, 0xbc, 0x40, 0xa0, 0x00, 0x00, \
        0x41, 0xbd, 0x47, 0xb0, 0x00, 0x00, 0x41, 0xbe, 0x4e, 0xc0, 0x00, 0x00, \
        0x41, 0xbf, 0x55, 0xd0, 0x00, 0x00, 0xbd, 0x5c, 0xe0, 0x00, 0x00, \
        0xb9, 0xd0, 0x07, 0x00, 0x00            /* mov ecx, 2000 */
#define PP_BODY                                                           \
        0x53, 0x55, 0x41, 0x54, 0x41, 0x55,     /* push rbx, rbp, r12, r13 */ \
        0x41, 0x56, 0x41, 0x57, 0x56, 0x57,     /* push r14, r15, rsi, rdi */ \
        0x48, 0x01, 0xcb,                       /* add rbx, rcx */            \
        0x41, 0x5f, 0x41, 0x5e, 0x41, 0x5d,     /* pop r15, r14, r13 */       \
        0x41, 0x5c, 0x5d, 0x5f, 0x5e, 0x58,     /* pop r12, rbp, rdi, rsi, rax */ \
        0x48, 0x01, 0xf8,                       /* add rax, rdi */            \
        0x50, 0x5a,                             /* push rax; pop rdx */       \
        0xff, 0xc9                              /* dec ecx */
    static const uint8_t code[] = {
        PP_SETUP,
        PP_BODY,                                /* 1: */
        0x75, 0xdc,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    static const uint8_t walk[] = {
        PP_SETUP,
        0x48, 0x81, 0xc4, 0x00, 0x00, 0x10, 0x00, /* 1: add rsp, 0x100000 */
        PP_BODY,
        0x75, 0xd5,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
#undef PP_SETUP
#undef PP_BODY
    static const uint64_t budgets[] = { 30, 100, 1001, 4567, 1000000 };
    for (unsigned k = 0; k < sizeof(budgets) / sizeof(budgets[0]); k++)
        same_with_and_without(code, sizeof(code), budgets[k]);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->gpr[R_RSP], STACK);
    CHECK_EQ(cpu->gpr[R_RCX], 0);
    struct emu_jit_stats st;
    emu_jit_get_stats(cpu, &st);
    CHECK(st.blocks >= 1);
    same_with_and_without(walk, sizeof(walk), 1000000);
    CHECK_EQ(cpu->exc.vector, EXC_PF);
    CHECK_EQ(cpu->exc.cr2, STACK + 8 * 0x100000 - 8);
}

/* Paging for the stack page tests: the first 2 MiB mapped by 4 KiB
 * pages, identity but for the page at `top` (-> phys `top_pa`) and the
 * one under it (its flags `below_flags`: 7, or 5 for read-only; CR0.WP
 * makes supervisor writes honour it). */
enum { PML4 = 0x10000, PDPT = 0x11000, PD = 0x12000, PT = 0x13000 };
static void map_stack_pages(uint64_t top, uint64_t top_pa, uint64_t below_flags)
{
    put_pte(PML4, PDPT | 7);
    put_pte(PDPT, PD | 7);
    put_pte(PD, PT | 7);
    for (uint64_t p = 0; p < 512; p++)
        put_pte(PT + 8 * p, (p << 12) | 7);
    put_pte(PT + 8 * ((top >> 12) - 1), (top - 0x1000) | below_flags);
    put_pte(PT + 8 * (top >> 12), top_pa | 7);
    cpu->cr3 = PML4;
    cpu->cr0 |= CR0_PG | CR0_WP;
    emu_tlb_flush(cpu, true);
}

/* Runs code that reads 3 from the read-only page under STACK through
 * register base (set to STACK) 50 times, summing into register sum, then
 * writes there at fault_rip: #PF for a write to a present page, the sum
 * 150, memory unchanged, as in the interpreter. */
static void read_only_write_faults(const uint8_t *code, size_t len, int base, uint64_t fault_rip, int sum)
{
    struct emu_cpu a;
    for (int jit = 0; jit < 2; jit++) {
        setup_len(code, len, jit);
        map_stack_pages(STACK, STACK, 5);
        cpu->gpr[base] = STACK;
        memcpy(ram + STACK - 8, &(uint64_t){ 3 }, 8);
        emu_execute(cpu, 100000);
        CHECK_EQ(cpu->exc.vector, EXC_PF);
        CHECK_EQ(cpu->rip, fault_rip);
        CHECK_EQ(cpu->exc.cr2, STACK - 8);
        CHECK_EQ(cpu->exc.errcode & 3, 3);   /* a write to a present page */
        CHECK_EQ(cpu->gpr[sum], 150);
        uint64_t v;
        memcpy(&v, ram + STACK - 8, 8);
        CHECK_EQ(v, 3);
        if (!jit)
            a = *cpu;
    }
    CHECK_EQ(cpu->insn_count, a.insn_count);
    CHECK_EQ(emu_get_rflags(cpu), emu_get_rflags(&a));
}

/* A page the stack reads from is not one it may write to: reads of a
 * read-only stack page fill only the read side of the stack page, and
 * the write after the loop (the same translation, so nothing was
 * forgotten in between) still faults, as in the interpreter. */
static void test_stack_page_read_only(void)
{
    static const uint8_t code[] = {
        0xb9, 0x32, 0, 0, 0,                    /* mov ecx, 50 */
        0x48, 0x8b, 0x44, 0x24, 0xf8,           /* 1: mov rax, [rsp - 8] */
        0x48, 0x01, 0xc3,                       /* add rbx, rax */
        0xff, 0xc9,                             /* dec ecx */
        0x75, 0xf4,                             /* jnz 1b */
        0x48, 0x89, 0x5c, 0x24, 0xf8,           /* mov [rsp - 8], rbx: #PF */
        0x0f, 0x0b,                             /* ud2 */
    };
    read_only_write_faults(code, sizeof(code), R_RSP, CODE + 17, R_RBX);
}

/* Runs code whose loop reads through register base (set to top) the
 * page at top (mapped at 0x100000) and 8 bytes at top - 4 across the
 * boundary, adds them into register sum and stores the straddling word
 * back: with the JIT off and on, the same sum and memory, and the word
 * made of both pages' bytes (none from beside the wrong page). */
static void straddle_same(const uint8_t *code, size_t len, int base, uint64_t top, uint64_t insns, int sum)
{
    uint64_t got[2], at[2];
    for (int jit = 0; jit < 2; jit++) {
        setup_len(code, len, jit);
        map_stack_pages(top, 0x100000, 7);
        cpu->gpr[base] = top;
        memcpy(ram + top - 8, &(uint64_t){ 0x1111111122222222ULL }, 8);
        memcpy(ram + 0x100000, &(uint64_t){ 0x3333333344444444ULL }, 8);
        memcpy(ram + 0x100000 - 8, &(uint64_t){ 0x5555555566666666ULL }, 8);   /* beside the wrong page */
        emu_execute(cpu, 100000);
        CHECK_EQ(cpu->exc.vector, EXC_UD);
        CHECK_EQ(cpu->insn_count, insns);
        got[jit] = cpu->gpr[sum];
        memcpy(&at[jit], ram + top - 4, 4);
        memcpy((uint8_t *)&at[jit] + 4, ram + 0x100000, 4);
    }
    CHECK_EQ(got[1], got[0]);
    CHECK_EQ(at[1], at[0]);
    CHECK_EQ(at[0], 0x4444444411111111ULL);
}

/* An access that straddles two stack pages mapped far apart: its last
 * byte is on the stack page (filled by the access before it), its first
 * is not, so it must not take the stack page's addend for both (the
 * bytes would come from beside the wrong physical page): the
 * interpreter's values.  At two boundaries: the page under the top one
 * odd (0x7f | 0x80) and even (0x7e | 0x7f). */
static void test_stack_page_straddle(void)
{
    static const uint8_t code[] = {
        0xb9, 0x64, 0, 0, 0,                    /* mov ecx, 100 */
        0x48, 0x83, 0xec, 0x08,                 /* sub rsp, 8: top - 8 */
        0x48, 0x8b, 0x44, 0x24, 0x08,           /* 1: mov rax, [rsp + 8]: the top page */
        0x48, 0x8b, 0x54, 0x24, 0x04,           /* mov rdx, [rsp + 4]: top - 4 .. top + 3 */
        0x48, 0x01, 0xd3,                       /* add rbx, rdx */
        0x48, 0x89, 0x54, 0x24, 0x04,           /* mov [rsp + 4], rdx: straddles too */
        0x48, 0x01, 0xc3,                       /* add rbx, rax */
        0xff, 0xc9,                             /* dec ecx */
        0x75, 0xe7,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    straddle_same(code, sizeof(code), R_RSP, STACK, 2 + 7 * 100, R_RBX);
    straddle_same(code, sizeof(code), R_RSP, STACK - 0x1000, 2 + 7 * 100, R_RBX);
}

/* PUSHes and POPs in a row run as a group with one TLB lookup
 * (emit_stack_group).  Here each group straddles the top stack page
 * (mapped to a distant physical page) and the one under it, so the
 * group's lookup misses every time and each member is looked up on its
 * own (emit_group_slow; the handlers the first time, when the TLB is
 * empty): the values land on both physical pages and come back as in
 * the interpreter.  With the page under the top one not present, the
 * handlers run and the fourth PUSH faults with the first three done
 * (RSP, RIP, CR2, the count and the bytes written as the interpreter
 * leaves them). */
static void test_stack_group(void)
{
    static const uint8_t code[] = {
        0xb9, 0x64, 0, 0, 0,                    /* mov ecx, 100 */
        0x48, 0x83, 0xc4, 0x18,                 /* add rsp, 24: top + 24 */
        0x53, 0x55, 0x41, 0x54, 0x41, 0x55,     /* 1: push rbx, rbp, r12, r13 */
        0x56, 0x57,                             /* push rsi, rdi */
        0x48, 0x01, 0xcb,                       /* add rbx, rcx */
        0x41, 0x5d, 0x41, 0x5c, 0x5f,           /* pop r13, r12, rdi */
        0x5e, 0x5d, 0x58,                       /* pop rsi, rbp, rax */
        0x48, 0x01, 0xc3,                       /* add rbx, rax */
        0x48, 0xff, 0xc6,                       /* inc rsi */
        0xff, 0xc9,                             /* dec ecx */
        0x75, 0xe3,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    const uint64_t top = STACK;
    for (int present = 1; present >= 0; present--) {
        static struct emu_cpu a;
        uint8_t below[2][24], far[2][24];
        for (int jit = 0; jit < 2; jit++) {
            setup_len(code, sizeof(code), jit);
            map_stack_pages(top, 0x100000, present ? 7 : 0);
            cpu->gpr[R_RSP] = top;
            cpu->gpr[R_RBP] = 0x1234;
            cpu->gpr[R_R12] = 0x5678;
            emu_execute(cpu, 100000);
            memcpy(below[jit], ram + top - 24, 24);
            memcpy(far[jit], ram + 0x100000, 24);
            if (!jit)
                a = *cpu;
        }
        for (int r = 0; r < 16; r++)
            CHECK_EQ(cpu->gpr[r], a.gpr[r]);
        CHECK_EQ(cpu->rip, a.rip);
        CHECK_EQ(cpu->insn_count, a.insn_count);
        CHECK_EQ(cpu->exc.vector, a.exc.vector);
        CHECK_EQ(cpu->exc.cr2, a.exc.cr2);
        CHECK(!memcmp(below[0], below[1], 24));
        CHECK(!memcmp(far[0], far[1], 24));
        if (present) {
            CHECK_EQ(cpu->exc.vector, EXC_UD);
            CHECK_EQ(cpu->insn_count, 2 + 17 * 100);
            CHECK_EQ(cpu->gpr[R_RSP], top + 24);
        } else {
            CHECK_EQ(cpu->exc.vector, EXC_PF);
            CHECK_EQ(cpu->exc.cr2, top - 8);
            CHECK_EQ(cpu->gpr[R_RSP], top);
            CHECK_EQ(cpu->rip, CODE + 13);   /* the fourth PUSH (r13) */
        }
    }
}

/* The stack page's "no page" mark after entry matches no address: run 1
 * leaves the top stack page (mapped to a distant physical page) and its
 * addend in the slot; run 2 starts with RSP 0 and reads 4 bytes at linear
 * address 1, which must come from page 0.  With the mark 1 (as it was),
 * 1 & ~0xffc equalled it and the read took whatever addend the host
 * stack held there: this test crashed the host process. */
static void test_stack_page_no_page(void)
{
    static const uint8_t code[] = {
        0x48, 0x8b, 0x04, 0x24,                 /* mov rax, [rsp]: fills the stack page */
        0x0f, 0x0b,                             /* ud2 */
        0x8b, 0x44, 0x24, 0x01,                 /* mov eax, [rsp + 1] (a new run, RSP 0) */
        0x0f, 0x0b,                             /* ud2 */
    };
    uint64_t got[2];
    for (int jit = 0; jit < 2; jit++) {
        setup_len(code, sizeof(code), jit);
        map_stack_pages(STACK + 0x1000, 0x100000, 7);
        cpu->gpr[R_RSP] = STACK + 0x1000;
        memcpy(ram + 1, &(uint32_t){ 0x11223344 }, 4);
        memcpy(ram + 0x100000 - STACK - 0x1000 + 1, &(uint32_t){ 0x55667788 }, 4);
        emu_execute(cpu, 100);
        CHECK_EQ(cpu->exc.vector, EXC_UD);
        CHECK_EQ(cpu->rip, CODE + 4);
        cpu->rip = CODE + 6;
        cpu->gpr[R_RSP] = 0;
        cpu->exc.vector = 0;
        emu_execute(cpu, 100);
        CHECK_EQ(cpu->exc.vector, EXC_UD);
        CHECK_EQ(cpu->rip, CODE + 10);
        got[jit] = cpu->gpr[R_RAX];
    }
    CHECK_EQ(got[0], 0x11223344);
    CHECK_EQ(got[1], got[0]);
}

/* A self loop's accesses through a base it leaves alone and an index it
 * steps (the loop slots, jit.c's loop_site): bytes summed, 8-byte words
 * at every byte offset (those across the boundary must not take the
 * slot's addend for both pages) and bytes written back, over a page
 * boundary where the next page is mapped far away, so each slot must be
 * filled again there; the interpreter's results and memory. */
static void pages_same(const uint8_t *code, size_t len, uint64_t fsbase)
{
    uint64_t sum[2];
    uint8_t lo[2][0x800], hi[2][0x800];
    for (int jit = 0; jit < 2; jit++) {
        setup_len(code, len, jit);
        map_stack_pages(STACK, 0x100000, 7);
        cpu->seg[S_FS].base = fsbase;
        cpu->gpr[R_RBX] = STACK - 0x800 - fsbase;
        for (unsigned k = 0; k < 0x800; k++) {
            ram[STACK - 0x800 + k] = (uint8_t)(k * 7 + 1);
            ram[0x100000 + k] = (uint8_t)(k * 13 + 5);
            ram[STACK + k] = 0xee;                /* beside the wrong page */
        }
        emu_execute(cpu, 1000000);
        CHECK_EQ(cpu->exc.vector, EXC_UD);
        CHECK_EQ(cpu->insn_count, 1 + 8 * 0x1000);
        sum[jit] = cpu->gpr[R_RSI] ^ cpu->gpr[R_RDI] << 20;
        memcpy(lo[jit], ram + STACK - 0x800, 0x800);
        memcpy(hi[jit], ram + 0x100000, 0x800);
        CHECK_EQ(ram[STACK], 0xee);
    }
    CHECK_EQ(sum[1], sum[0]);
    CHECK(!memcmp(lo[1], lo[0], 0x800));
    CHECK(!memcmp(hi[1], hi[0], 0x800));
}

static void test_loop_slot_pages(void)
{
    static const uint8_t code[] = {
        0x31, 0xc9,                             /* xor ecx, ecx */
        0x0f, 0xb6, 0x04, 0x0b,                 /* 1: movzx eax, byte [rbx + rcx] */
        0x48, 0x01, 0xc6,                       /* add rsi, rax */
        0x48, 0x8b, 0x14, 0x0b,                 /* mov rdx, [rbx + rcx]: 8 bytes, mostly unaligned */
        0x48, 0x31, 0xd7,                       /* xor rdi, rdx */
        0x88, 0x0c, 0x0b,                       /* mov [rbx + rcx], cl */
        0x48, 0xff, 0xc1,                       /* inc rcx */
        0x48, 0x81, 0xf9, 0x00, 0x10, 0, 0,     /* cmp rcx, 0x1000 */
        0x75, 0xe3,                             /* jne 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    pages_same(code, sizeof(code), 0);
}

/* A loop slot filled by reads is not one writes use: the loop reads a
 * read-only page through RBX at four sites (all the read slots), and the
 * write after it (the same translation, the first write slot) still
 * faults, as in the interpreter. */
static void test_loop_slot_read_only(void)
{
    static const uint8_t code[] = {
        0xb9, 0x32, 0, 0, 0,                    /* mov ecx, 50 */
        0x48, 0x8b, 0x43, 0xf8,                 /* 1: mov rax, [rbx - 8] */
        0x48, 0x01, 0xc6,                       /* add rsi, rax */
        0x48, 0x03, 0x73, 0xf0,                 /* add rsi, [rbx - 16] */
        0x48, 0x03, 0x73, 0xe8,                 /* add rsi, [rbx - 24] */
        0x48, 0x03, 0x73, 0xe0,                 /* add rsi, [rbx - 32]: four sites */
        0xff, 0xc9,                             /* dec ecx */
        0x75, 0xe9,                             /* jnz 1b */
        0x48, 0x89, 0x73, 0xf8,                 /* mov [rbx - 8], rsi: #PF */
        0x0f, 0x0b,                             /* ud2 */
    };
    read_only_write_faults(code, sizeof(code), R_RBX, CODE + 28, R_RSI);
}

/* An access through a loop slot that straddles two pages mapped far
 * apart: its last byte is on the page the access before it filled the
 * slot with, its first is not, so it must not take that addend for both:
 * the interpreter's values. */
static void test_loop_slot_straddle(void)
{
    static const uint8_t code[] = {
        0xb9, 0x64, 0, 0, 0,                    /* mov ecx, 100 */
        0x48, 0x8b, 0x03,                       /* 1: mov rax, [rbx]: the upper page */
        0x48, 0x8b, 0x53, 0xfc,                 /* mov rdx, [rbx - 4]: straddles */
        0x48, 0x01, 0xd6,                       /* add rsi, rdx */
        0x48, 0x89, 0x53, 0xfc,                 /* mov [rbx - 4], rdx: straddles too */
        0x48, 0x01, 0xc6,                       /* add rsi, rax */
        0xff, 0xc9,                             /* dec ecx */
        0x75, 0xeb,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    straddle_same(code, sizeof(code), R_RBX, STACK, 1 + 7 * 100, R_RSI);
}

/* FS-based accesses (the TLS page, jit.c emit_tlb) with FS's base 4 KiB
 * up: as test_loop_slot_pages, each access through the TLS page. */
static void test_tls_page_pages(void)
{
    static const uint8_t code[] = {
        0x31, 0xc9,                             /* xor ecx, ecx */
        0x64, 0x0f, 0xb6, 0x04, 0x0b,           /* 1: movzx eax, byte fs:[rbx + rcx] */
        0x48, 0x01, 0xc6,                       /* add rsi, rax */
        0x64, 0x48, 0x8b, 0x14, 0x0b,           /* mov rdx, fs:[rbx + rcx] */
        0x48, 0x31, 0xd7,                       /* xor rdi, rdx */
        0x64, 0x88, 0x0c, 0x0b,                 /* mov fs:[rbx + rcx], cl */
        0x48, 0xff, 0xc1,                       /* inc rcx */
        0x48, 0x81, 0xf9, 0x00, 0x10, 0, 0,     /* cmp rcx, 0x1000 */
        0x75, 0xe0,                             /* jne 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    pages_same(code, sizeof(code), 0x1000);
}

/* A TLS page filled by reads is not the one writes use: a loop reads a
 * read-only page through FS, and the write after it still faults. */
static void test_tls_page_read_only(void)
{
    static const uint8_t code[] = {
        0xb9, 0x32, 0, 0, 0,                    /* mov ecx, 50 */
        0x64, 0x48, 0x8b, 0x46, 0xf8,           /* 1: mov rax, fs:[rsi - 8] */
        0x48, 0x01, 0xc3,                       /* add rbx, rax */
        0xff, 0xc9,                             /* dec ecx */
        0x75, 0xf4,                             /* jnz 1b */
        0x64, 0x48, 0x89, 0x5e, 0xf8,           /* mov fs:[rsi - 8], rbx: #PF */
        0x0f, 0x0b,                             /* ud2 */
    };
    read_only_write_faults(code, sizeof(code), R_RSI, CODE + 17, R_RBX);
}

/* An FS-based access across a page boundary to a page mapped far away,
 * after one that filled the TLS page with the upper page. */
static void test_tls_page_straddle(void)
{
    static const uint8_t code[] = {
        0xb9, 0x64, 0, 0, 0,                    /* mov ecx, 100 */
        0x64, 0x48, 0x8b, 0x03,                 /* 1: mov rax, fs:[rbx]: the upper page */
        0x64, 0x48, 0x8b, 0x53, 0xfc,           /* mov rdx, fs:[rbx - 4]: straddles */
        0x48, 0x01, 0xd6,                       /* add rsi, rdx */
        0x64, 0x48, 0x89, 0x53, 0xfc,           /* mov fs:[rbx - 4], rdx: straddles too */
        0x48, 0x01, 0xc6,                       /* add rsi, rax */
        0xff, 0xc9,                             /* dec ecx */
        0x75, 0xe8,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    straddle_same(code, sizeof(code), R_RBX, STACK, 1 + 7 * 100, R_RSI);
}

/* Constant addresses (RIP-relative, absolute) in a translated loop:
 * loads and stores, one that straddles a page boundary, a read-modify-
 * write, then an absolute load past the end of RAM (#PF), as in the
 * interpreter. */
static void test_constant_addresses(void)
{
    uint8_t code[64];
    size_t n = 0;
    int32_t d;
#define PUT(...) do { const uint8_t b_[] = { __VA_ARGS__ }; memcpy(code + n, b_, sizeof(b_)); n += sizeof(b_); } while (0)
#define RIPREL(target) do { d = (int32_t)((int64_t)(target) - (int64_t)(CODE + n + 4)); \
                           PUT((uint8_t)d, (uint8_t)(d >> 8), (uint8_t)(d >> 16), (uint8_t)(d >> 24)); } while (0)
    PUT(0xb9, 0xc8, 0, 0, 0);                        /* mov ecx, 200 */
    size_t loop = n;
    PUT(0x48, 0x89, 0x0d); RIPREL(DATA + 0xffc);     /* 1: mov [rip -> DATA + 0xffc], rcx: straddles */
    PUT(0x48, 0x03, 0x05); RIPREL(DATA + 0xffc);     /* add rax, [rip -> DATA + 0xffc] */
    PUT(0x48, 0x89, 0x05); RIPREL(DATA + 16);        /* mov [rip -> DATA + 16], rax */
    PUT(0x48, 0x8b, 0x1d); RIPREL(DATA + 16);        /* mov rbx, [rip -> DATA + 16] */
    PUT(0x48, 0x01, 0x1c, 0x25,                      /* add [DATA + 24], rbx (absolute) */
        (uint8_t)(DATA + 24), (uint8_t)((DATA + 24) >> 8), (uint8_t)((DATA + 24) >> 16), 0);
    PUT(0xff, 0xc9);                                 /* dec ecx */
    PUT(0x75, (uint8_t)(loop - (n + 2)));            /* jnz 1b */
    PUT(0x8b, 0x14, 0x25, 0x10, 0, 0x80, 0);         /* mov edx, [RAM_SIZE + 16]: #PF */
#undef RIPREL
#undef PUT
    same_with_and_without(code, n, 100000);
    CHECK_EQ(cpu->exc.vector, EXC_PF);
    CHECK_EQ(cpu->exc.cr2, RAM_SIZE + 16);
    CHECK_EQ(cpu->rip, CODE + n - 7);
    CHECK_EQ(cpu->gpr[R_RCX], 0);
    CHECK_EQ(cpu->gpr[R_RAX], 200 * 201 / 2);
    uint64_t sum;
    memcpy(&sum, ram + DATA + 24, 8);
    CHECK(sum != 0);
}

/* W^X: no mapping of the process is writable and executable at once. */
static void test_no_writable_executable_mapping(void)
{
    SETUP(true, 0x48, 0xff, 0xc0, 0xeb, 0xfb);
    emu_execute(cpu, 1000);
    FILE *f = fopen("/proc/self/maps", "r");
    CHECK(f != NULL);
    if (!f)
        return;
    char line[512];
    int views = 0;
    while (fgets(line, sizeof(line), f)) {
        char perms[8] = "";
        if (sscanf(line, "%*s %7s", perms) != 1)
            continue;
        if (perms[1] == 'w' && perms[2] == 'x') {
            printf("  writable and executable: %s", line);
            CHECK(0);
        }
        if (strstr(line, "hostel-emu-jit"))
            views++;
    }
    fclose(f);
    CHECK(views >= 2);   /* the executable and the writable view */
}

/* BT's CF goes into the lazy record at the next exit (here a #PF, whose
 * stub stores the flags the fault shows): the record before BT is replayed
 * on the host for 32/64-bit compares, adds and logic ops, through the C
 * helper for the rest; every flag must be the interpreter's. */
static void test_bt_keeps_other_flags(void)
{
    static const struct { uint8_t len, op[3]; } ops[] = {
        { 3, { 0x48, 0x39, 0xd8 } },   /* cmp rax, rbx */
        { 2, { 0x39, 0xd8 } },         /* cmp eax, ebx */
        { 3, { 0x48, 0x29, 0xd8 } },   /* sub rax, rbx */
        { 3, { 0x48, 0x01, 0xd8 } },   /* add rax, rbx */
        { 2, { 0x01, 0xd8 } },         /* add eax, ebx */
        { 3, { 0x48, 0x85, 0xd8 } },   /* test rax, rbx */
        { 2, { 0x21, 0xd8 } },         /* and eax, ebx */
        { 2, { 0x38, 0xd8 } },         /* cmp al, bl (the helper) */
        { 2, { 0xff, 0xc0 } },         /* inc eax (the helper) */
        { 3, { 0x48, 0xd1, 0xe0 } },   /* shl rax, 1 (the helper) */
    };
    static const uint64_t vals[][2] = {
        { 5, 7 }, { 0x80000000, 1 }, { 0x7fffffffffffffffULL, 1 }, { 0, 0 },
        { 0x8f, 0x71 }, { ~0ULL, 1 }, { 0x7fffffff, 0x7fffffff }, { 0x10, 0x8 },
    };
    for (unsigned o = 0; o < sizeof(ops) / sizeof(ops[0]); o++)
        for (unsigned v = 0; v < sizeof(vals) / sizeof(vals[0]); v++)
            for (uint64_t bit = 0; bit < 2; bit++) {
                uint8_t code[64];
                size_t n = 0;
                const uint64_t imm[4] = { vals[v][0], vals[v][1], bit << 3, RAM_SIZE };
                static const uint8_t movs[4] = { 0xb8, 0xbb, 0xb9, 0xba };   /* rax rbx rcx rdx */
                for (int r = 0; r < 4; r++) {
                    code[n++] = 0x48;
                    code[n++] = movs[r];
                    memcpy(code + n, &imm[r], 8);
                    n += 8;
                }
                memcpy(code + n, ops[o].op, ops[o].len);
                n += ops[o].len;
                static const uint8_t tail[] = {
                    0x48, 0x0f, 0xba, 0xe1, 0x03,   /* bt rcx, 3 */
                    0x88, 0x02,                     /* mov [rdx], al: #PF */
                };
                memcpy(code + n, tail, sizeof(tail));
                n += sizeof(tail);
                same_with_and_without(code, n, 1000);
                CHECK_EQ(cpu->exc.vector, EXC_PF);
                CHECK_EQ(emu_get_rflags(cpu) & RFLAGS_CF, bit);
            }
}

/* A high-byte read (MOVZX EAX, AH) of a register the translation holds,
 * then CMOVcc on the flags of the instruction before it and a locked
 * form that runs its handler (cpu_diff's chains, seed 777): the result
 * the interpreter leaves. */
static void test_high_byte_then_cmov(void)
{
    static const uint8_t code[] = {
        0x48, 0xc7, 0xc0, 0xfe, 0xff, 0xff, 0xff,   /* mov rax, -2 */
        0xbb, 0x7f, 0x00, 0x00, 0x00,               /* mov ebx, 0x7f */
        0xbe, 0x00, 0x00, 0x09, 0x00,               /* mov esi, DATA */
        0x48, 0xff, 0xc8,                           /* dec rax */
        0x0f, 0xb6, 0xc4,                           /* movzx eax, ah */
        0x0f, 0x4c, 0xc3,                           /* cmovl eax, ebx */
        0x66, 0x0f, 0x4a, 0xc3,                     /* cmovp ax, bx */
        0xf0, 0x48, 0x31, 0x46, 0x08,               /* lock xor [rsi + 8], rax */
        0x66, 0x0f, 0x42, 0xc3,                     /* cmovb ax, bx */
        0xf4,                                       /* hlt */
    };
    same_with_and_without(code, sizeof(code), 1000);
    CHECK_EQ(cpu->gpr[R_RAX], 0x7f);
}
/* COMISS and UCOMISD whose SSE state check sends them to their handler
 * (CR0.PE and CR4.OSFXSR clear: the flat test mode runs SSE without
 * faulting) and then SETcc/Jcc on their flags: the handler's flags, not
 * those its call left in the host (the check's stub gave none back). */
static void test_comis_checked_flags(void)
{
    static const uint8_t code[] = {
        0x0f, 0x2f, 0xc1,               /* comiss xmm0, xmm1 */
        0x0f, 0x92, 0xc0,               /* setb al */
        0x0f, 0x94, 0xc3,               /* sete bl */
        0x66, 0x0f, 0x2e, 0xd3,         /* ucomisd xmm2, xmm3 */
        0x72, 0x03,                     /* jb over */
        0x49, 0xff, 0xc0,               /* inc r8 */
        0x0f, 0x0b,                     /* ud2 */
    };
    uint64_t want[3] = { 0, 0, 0 };
    for (int jit = 0; jit < 2; jit++) {
        setup_len(code, sizeof(code), jit);
        cpu->cr0 = cpu->cr4 = 0;
        uint32_t one = 0x3f800000, two = 0x40000000;
        uint64_t d1 = 0x3ff0000000000000ULL, d2 = 0x4000000000000000ULL;
        memcpy(&cpu->xmm[0], &one, 4);
        memcpy(&cpu->xmm[1], &two, 4);
        memcpy(&cpu->xmm[2], &d1, 8);
        memcpy(&cpu->xmm[3], &d2, 8);
        emu_execute(cpu, 1000);
        CHECK_EQ(cpu->exc.vector, EXC_UD);
        if (!jit) {
            want[0] = cpu->gpr[R_RAX];
            want[1] = cpu->gpr[R_RBX];
            want[2] = cpu->gpr[R_R8];
            CHECK_EQ(want[0] & 0xff, 1);   /* 1.0 < 2.0: CF */
            CHECK_EQ(want[1] & 0xff, 0);
            CHECK_EQ(want[2], 0);          /* the jb taken */
        } else {
            CHECK_EQ(cpu->gpr[R_RAX], want[0]);
            CHECK_EQ(cpu->gpr[R_RBX], want[1]);
            CHECK_EQ(cpu->gpr[R_R8], want[2]);
        }
    }
}

/* MXCSR around translated float forms: their flags reach the guest's
 * MXCSR (STMXCSR, run by its handler, sees them), a LDMXCSR that clears
 * the flags or sets a rounding mode in the middle of a translation counts
 * for the forms after it (the flags the host's MXCSR still holds are not
 * the guest's again; the next form runs by its handler, rounding up), and
 * flags the host's MXCSR held before the run are not the guest's; the
 * same from a start in round-up mode.  As the interpreter, and as the
 * values worked out by hand. */
static void test_mxcsr_runs(void)
{
#define ABS(a) 0x25, (a) & 0xff, ((a) >> 8) & 0xff, ((a) >> 16) & 0xff, 0
    static const uint8_t code[] = {
        0xf2, 0x0f, 0x5e, 0xc1,             /* divsd xmm0, xmm1: 1/3, inexact */
        0x0f, 0xae, 0x1c, ABS(DATA),        /* stmxcsr [DATA] */
        0x0f, 0xae, 0x14, ABS(DATA + 4),    /* ldmxcsr [DATA + 4]: 0x1f80 */
        0xf2, 0x0f, 0x58, 0xd3,             /* addsd xmm2, xmm3: 1 + 2, exact */
        0x0f, 0xae, 0x1c, ABS(DATA + 8),    /* stmxcsr [DATA + 8] */
        0x0f, 0xae, 0x14, ABS(DATA + 12),   /* ldmxcsr [DATA + 12]: round up */
        0xf2, 0x0f, 0x5e, 0xe5,             /* divsd xmm4, xmm5: 1/3 rounded up */
        0x0f, 0xae, 0x1c, ABS(DATA + 16),   /* stmxcsr [DATA + 16] */
        0x0f, 0xae, 0x14, ABS(DATA + 20),   /* ldmxcsr [DATA + 20]: 0x1f80 */
        0xf2, 0x0f, 0x59, 0xf7,             /* mulsd xmm6, xmm7: 2 * 2, exact */
        0xf2, 0x0f, 0x5e, 0xf1,             /* divsd xmm6, xmm1: 4/3, inexact */
        0x0f, 0x0b,                         /* ud2 */
    };
#undef ABS
    static const uint32_t start[2] = { 0x1f80, 0x5f80 };
    for (int s = 0; s < 2; s++) {
        uint64_t want[8];
        uint32_t want_m[4];
        for (int jit = 0; jit < 2; jit++) {
            setup_len(code, sizeof(code), jit);
            static const double in[8] = { 1, 3, 1, 2, 1, 3, 2, 2 };
            for (int r = 0; r < 8; r++)
                memcpy(&cpu->xmm[r], &in[r], 8);
            static const uint32_t loads[3] = { 0x1f80, 0x5f80, 0x1f80 };
            for (int k = 0; k < 3; k++)
                memcpy(ram + DATA + 4 + 8 * k, &loads[k], 4);
            cpu->mxcsr = start[s];
            /* Flags in the host's MXCSR that are not the guest's. */
            __builtin_ia32_ldmxcsr(0x1f80 | 0x3f);
            emu_execute(cpu, 1000);
            __builtin_ia32_ldmxcsr(0x1f80);
            CHECK_EQ(cpu->exc.vector, EXC_UD);
            uint32_t m[4];
            for (int k = 0; k < 3; k++)
                memcpy(&m[k], ram + DATA + 8 * k, 4);
            m[3] = cpu->mxcsr;
            uint64_t x[8];
            for (int r = 0; r < 8; r++)
                memcpy(&x[r], &cpu->xmm[r], 8);
            if (!jit) {
                memcpy(want, x, sizeof(x));
                memcpy(want_m, m, sizeof(m));
                CHECK_EQ(m[0], start[s] | 0x20);          /* PE, nothing of the host's */
                CHECK_EQ(m[1], 0x1f80);                   /* cleared, 1 + 2 exact */
                CHECK_EQ(m[2], 0x5fa0);                   /* round up, PE */
                CHECK_EQ(m[3], 0x1fa0);                   /* cleared, 2 * 2 exact, 4/3 PE */
                CHECK_EQ(x[0], s ? 0x3fd5555555555556ULL : 0x3fd5555555555555ULL);   /* 1/3 */
                CHECK_EQ(x[2], 0x4008000000000000ULL);    /* 3.0 */
                CHECK_EQ(x[4], 0x3fd5555555555556ULL);    /* 1/3 up */
                CHECK_EQ(x[6], 0x3ff5555555555555ULL);    /* 4/3 nearest */
            } else {
                for (int k = 0; k < 4; k++)
                    CHECK_EQ(m[k], want_m[k]);
                for (int r = 0; r < 8; r++)
                    CHECK_EQ(x[r], want[r]);
                struct emu_jit_stats st;
                emu_jit_get_stats(cpu, &st);
                CHECK(st.blocks >= 1);
            }
        }
    }
}

/* RET, JMP and CALL through a register or memory to a non-canonical
 * address: #GP(0) at the transfer, RSP as before it (x86 checks the
 * target before anything of the instruction is done), translated or not,
 * after a loop that got the translation going. */
/* Two instructions run by their handler in one translation that leave
 * it in turn (REPNE SCASB longer than a slice: each slice leaves for its
 * own RIP again), through the one exit record the translation's handler
 * calls share, whose last target flips between them: as the interpreter
 * leaves it at every budget, and in a loop of several passes. */
static void test_handler_exits_shared(void)
{
    static const uint8_t code[] = {
        0xbf, 0x00, 0x01, 0x09, 0x00,           /* 1: mov edi, DATA + 0x100 */
        0xb9, 0x10, 0x27, 0x00, 0x00,           /* mov ecx, 10000 */
        0xb0, 0x01,                             /* mov al, 1 (no such byte) */
        0xf2, 0xae,                             /* repne scasb: three slices */
        0x48, 0x01, 0xca,                       /* add rdx, rcx */
        0xbf, 0x00, 0x81, 0x09, 0x00,           /* mov edi, DATA + 0x8100 */
        0xb9, 0x28, 0x23, 0x00, 0x00,           /* mov ecx, 9000 */
        0xf2, 0xae,                             /* repne scasb: three slices */
        0x48, 0xff, 0xc3,                       /* inc rbx */
        0xeb, 0xde,                             /* jmp 1b */
    };
    for (uint64_t budget = 1; budget <= 40; budget++)
        same_with_and_without(code, sizeof(code), budget);
    same_with_and_without(code, sizeof(code), 1000);
    CHECK_EQ(cpu->gpr[R_RBX], 1000 / 14);       /* 14 instructions a pass, slices included */
}

static void test_noncanonical_branch(void)
{
    static const struct { uint8_t len, op[4]; int64_t sp; } xfer[] = {
        { 2, { 0x50, 0xc3 }, -8 },             /* push rax; ret */
        { 2, { 0xff, 0xe0 }, 0 },              /* jmp rax */
        { 2, { 0xff, 0xd0 }, 0 },              /* call rax */
        { 3, { 0x50, 0xff, 0x14 }, -8 },       /* push rax; call [rsp] (SIB below) */
    };
    for (unsigned x = 0; x < sizeof(xfer) / sizeof(xfer[0]); x++)
        for (int jit = 0; jit < 2; jit++) {
            uint8_t code[64];
            size_t n = 0;
            static const uint8_t head[] = {
                0xb9, 0x64, 0x00, 0x00, 0x00,             /* mov ecx, 100 */
                0xff, 0xc9,                               /* 1: dec ecx */
                0x75, 0xfc,                               /* jnz 1b */
                0x48, 0xb8, 0, 0, 0, 0, 0, 0x80, 0, 0,   /* mov rax, 0x0000800000000000 */
            };
            memcpy(code, head, sizeof(head));
            n = sizeof(head);
            size_t at = n + (xfer[x].op[0] == 0x50 ? 1 : 0);   /* the transfer's offset */
            memcpy(code + n, xfer[x].op, xfer[x].len);
            n += xfer[x].len;
            if (x == 3)
                code[n++] = 0x24;                     /* SIB: [rsp] */
            code[n++] = 0x0f;                         /* ud2: not reached */
            code[n++] = 0x0b;
            setup_len(code, n, jit);
            emu_execute(cpu, 100000);
            CHECK_EQ(cpu->exc.vector, EXC_GP);
            CHECK_EQ(cpu->exc.errcode, 0);
            CHECK_EQ(cpu->rip, CODE + at);
            CHECK_EQ(cpu->gpr[R_RSP], STACK + xfer[x].sp);
            CHECK_EQ(cpu->gpr[R_RCX], 0);
        }
}


/* ---- random loops: translated against interpreted ---------------------- */

/* Random self loops (and loops with forward branches inside) of register,
 * byte-register (AH..BH too), shift, CMOVcc/SETcc, ADC/SBB, bit, load,
 * store, read-modify-write, faulting and push/pop forms over every register but RSP,
 * RCX (the count) and RSI (the data): run with translation off and on,
 * with budgets that stop inside the loop, everything the guest sees must
 * be equal.  They reach what straight-line tables do not: the register
 * allocation and flag record carried across the jump back (emit_loop_edge),
 * evictions, the entry checks at the loop head, followed ranges.
 * HOSTEL_TEST_LOOPS=N runs N loops (default 300), HOSTEL_TEST_LOOPS_SEED=S
 * other ones, and a failing loop's bytes are printed. */
static uint64_t loop_rnd(uint64_t *s)
{
    uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static const uint8_t loop_regs[] = { 0, 2, 3, 5, 7, 8, 9, 10, 11, 12, 13, 14, 15 };
static const uint8_t loop_bregs[] = { 0, 2, 3, 4, 6, 7 };   /* AL DL BL AH DH BH (no REX) */

static unsigned loop_reg(uint64_t *s)
{
    return loop_regs[loop_rnd(s) % sizeof(loop_regs)];
}

/* One instruction at p: its length. */
static unsigned loop_insn(uint64_t *s, uint8_t *p)
{
    unsigned n = 0, r = loop_reg(s), m = loop_reg(s);
    bool w = loop_rnd(s) & 1;
    uint8_t rex = (uint8_t)(0x40 | (w ? 8 : 0) | (r >= 8 ? 4 : 0) | (m >= 8 ? 1 : 0));
#define REX() do { if (rex != 0x40) p[n++] = rex; } while (0)
#define MODRM(reg, rm) (p[n++] = (uint8_t)(0xc0 | ((reg) & 7) << 3 | ((rm) & 7)))
    switch (loop_rnd(s) % 19) {
    case 0: {   /* ALU, TEST, MOV r/m, r */
        static const uint8_t ops[] = { 0x01, 0x09, 0x11, 0x19, 0x21, 0x29, 0x31, 0x39, 0x85, 0x89 };
        REX();
        p[n++] = ops[loop_rnd(s) % sizeof(ops)];
        MODRM(r, m);
        break;
    }
    case 1:     /* ALU r/m, imm8 */
        REX();
        p[n++] = 0x83;
        MODRM(loop_rnd(s) % 8, m);
        p[n++] = (uint8_t)loop_rnd(s);
        break;
    case 2: {   /* byte ALU, TEST, MOV, AH..BH among them */
        static const uint8_t ops[] = { 0x00, 0x08, 0x10, 0x18, 0x20, 0x28, 0x30, 0x38, 0x84, 0x88 };
        p[n++] = ops[loop_rnd(s) % sizeof(ops)];
        MODRM(loop_bregs[loop_rnd(s) % 6], loop_bregs[loop_rnd(s) % 6]);
        break;
    }
    case 3: {   /* INC DEC NOT NEG */
        static const uint8_t forms[4][2] = { { 0xff, 0 }, { 0xff, 1 }, { 0xf7, 2 }, { 0xf7, 3 } };
        unsigned f = (unsigned)(loop_rnd(s) % 4);
        REX();
        p[n++] = forms[f][0];
        MODRM(forms[f][1], m);
        break;
    }
    case 4: {   /* ROL ROR RCL RCR SHL SHR SAR by an immediate (0 keeps the flags) */
        static const uint8_t ext[] = { 0, 1, 2, 3, 4, 5, 7 };
        REX();
        p[n++] = 0xc1;
        MODRM(ext[loop_rnd(s) % sizeof(ext)], m);
        p[n++] = (uint8_t)(loop_rnd(s) % 3 == 0 ? 0 : loop_rnd(s) % 70);
        break;
    }
    case 5:     /* MOVZX MOVSX r32|64, r8 (AH..BH without REX) */
        if (loop_rnd(s) & 1) {
            p[n++] = 0x0f;
            p[n++] = loop_rnd(s) & 1 ? 0xb6 : 0xbe;
            MODRM(loop_bregs[loop_rnd(s) % 6], loop_bregs[loop_rnd(s) % 6]);
        } else {
            REX();
            p[n++] = 0x0f;
            p[n++] = loop_rnd(s) & 1 ? 0xb6 : 0xbf;
            MODRM(r, m);
        }
        break;
    case 6: {   /* LEA r, [base + index * scale + disp8] */
        unsigned b = loop_rnd(s) & 1 ? 6 : m, x = loop_reg(s);
        p[n++] = (uint8_t)(0x48 | (r >= 8 ? 4 : 0) | (x >= 8 ? 2 : 0) | (b >= 8 ? 1 : 0));
        p[n++] = 0x8d;
        p[n++] = (uint8_t)(0x44 | (r & 7) << 3);
        p[n++] = (uint8_t)((loop_rnd(s) % 4) << 6 | (x & 7) << 3 | (b & 7));
        p[n++] = (uint8_t)loop_rnd(s);
        break;
    }
    case 7:     /* CMOVcc */
        REX();
        p[n++] = 0x0f;
        p[n++] = (uint8_t)(0x40 + loop_rnd(s) % 16);
        MODRM(r, m);
        break;
    case 8:     /* SETcc r8 */
        p[n++] = 0x0f;
        p[n++] = (uint8_t)(0x90 + loop_rnd(s) % 16);
        MODRM(0, loop_bregs[loop_rnd(s) % 6]);
        break;
    case 9:     /* IMUL r, r/m; XCHG; BSWAP */
        switch (loop_rnd(s) % 3) {
        case 0: REX(); p[n++] = 0x0f; p[n++] = 0xaf; MODRM(r, m); break;
        case 1: REX(); p[n++] = 0x87; MODRM(r, m); break;
        default: p[n++] = (uint8_t)(0x48 | (m >= 8 ? 1 : 0)); p[n++] = 0x0f; p[n++] = (uint8_t)(0xc8 + (m & 7)); break;
        }
        break;
    case 10: {  /* MOV or ALU r, [rsi + d8] */
        static const uint8_t ops[] = { 0x8b, 0x8b, 0x03, 0x0b, 0x13, 0x1b, 0x23, 0x2b, 0x33, 0x3b };
        REX();
        p[n++] = ops[loop_rnd(s) % sizeof(ops)];
        p[n++] = (uint8_t)(0x46 | (r & 7) << 3);
        p[n++] = (uint8_t)(8 * (loop_rnd(s) % 16));
        break;
    }
    case 11: {  /* MOV or ALU [rsi + d8], r: read-modify-write */
        static const uint8_t ops[] = { 0x89, 0x89, 0x01, 0x09, 0x11, 0x21, 0x29, 0x31 };
        REX();
        p[n++] = ops[loop_rnd(s) % sizeof(ops)];
        p[n++] = (uint8_t)(0x46 | (r & 7) << 3);
        p[n++] = (uint8_t)(8 * (loop_rnd(s) % 16));
        break;
    }
    case 12:    /* PUSH r; POP r' */
        if (r >= 8) p[n++] = 0x41;
        p[n++] = (uint8_t)(0x50 + (r & 7));
        if (m >= 8) p[n++] = 0x41;
        p[n++] = (uint8_t)(0x58 + (m & 7));
        break;
    case 13:    /* BT BTS BTR BTC r, imm8 */
        REX();
        p[n++] = 0x0f;
        p[n++] = 0xba;
        MODRM(4 + loop_rnd(s) % 4, m);
        p[n++] = (uint8_t)loop_rnd(s);
        break;
    case 14:    /* MUL/IMUL r/m (RDX:RAX) */
        REX();
        p[n++] = 0xf7;
        MODRM(loop_rnd(s) & 1 ? 4 : 5, m);
        break;
    case 15:    /* INC/DEC or ADD byte [rsi + d8] */
        if (loop_rnd(s) & 1) {
            p[n++] = 0xfe;
            p[n++] = (uint8_t)(0x46 | (loop_rnd(s) & 1) << 3);
        } else {
            p[n++] = 0x00;
            p[n++] = (uint8_t)(0x46 | loop_bregs[loop_rnd(s) % 6] << 3);
        }
        p[n++] = (uint8_t)(loop_rnd(s) % 128);
        break;
    case 17:    /* MOV or ADD through a random register: mostly #PF or #GP, precise */
        REX();
        p[n++] = loop_rnd(s) & 1 ? 0x8b : 0x01;
        p[n++] = (uint8_t)(0x00 | (r & 7) << 3 | (m & 7));
        if ((m & 7) == 4)
            p[n++] = 0x24;           /* SIB: no index */
        if ((m & 7) == 5)
            p[n - 1] |= 0x40, p[n++] = 0;   /* [rbp/r13 + 0] */
        break;
    case 18:    /* MOVZX/MOVSX r, byte or word [rsi + d8] */
        REX();
        p[n++] = 0x0f;
        p[n++] = (uint8_t)(0xb6 + (loop_rnd(s) & 1) + (loop_rnd(s) & 1 ? 8 : 0));
        p[n++] = (uint8_t)(0x46 | (r & 7) << 3);
        p[n++] = (uint8_t)(loop_rnd(s) % 127);
        break;
    default:    /* CMP r/m, imm32; MOV r, imm32 */
        REX();
        if (loop_rnd(s) & 1) { p[n++] = 0x81; MODRM(7, m); }
        else { p[n++] = 0xc7; MODRM(0, m); }
        for (int k = 0; k < 4; k++)
            p[n++] = (uint8_t)loop_rnd(s);
        break;
    }
#undef REX
#undef MODRM
    return n;
}

/* A loop into code: its length. */
static size_t loop_make(uint64_t *s, uint8_t *code)
{
    size_t n = 0;
    for (unsigned k = 0; k < sizeof(loop_regs); k++) {   /* mov r, imm64 */
        unsigned r = loop_regs[k];
        code[n++] = (uint8_t)(0x48 | (r >= 8 ? 1 : 0));
        code[n++] = (uint8_t)(0xb8 + (r & 7));
        uint64_t v = loop_rnd(s);
        if (loop_rnd(s) & 1)
            v &= 0xff;
        memcpy(code + n, &v, 8);
        n += 8;
    }
    code[n++] = 0xbe;                                   /* mov esi, DATA */
    uint32_t d = DATA;
    memcpy(code + n, &d, 4);
    n += 4;
    code[n++] = 0xb9;                                   /* mov ecx, count */
    uint32_t cnt = 1 + (uint32_t)(loop_rnd(s) % 40);
    memcpy(code + n, &cnt, 4);
    n += 4;
    code[n++] = 0x48;                                   /* add rax, rbx: some flags */
    code[n++] = 0x01;
    code[n++] = 0xd8;
    size_t head = n;
    unsigned count = 1 + (unsigned)(loop_rnd(s) % 24);
    for (unsigned k = 0; k < count; k++) {
        if (loop_rnd(s) % 8 == 0) {                     /* jcc over the next one */
            uint8_t next[16];
            unsigned len = loop_insn(s, next);
            code[n++] = (uint8_t)(0x70 + loop_rnd(s) % 16);
            code[n++] = (uint8_t)len;
            memcpy(code + n, next, len);
            n += len;
        } else {
            n += loop_insn(s, code + n);
        }
    }
    if (loop_rnd(s) & 1) {                              /* dec ecx */
        code[n++] = 0xff;
        code[n++] = 0xc9;
    } else {                                            /* sub ecx, 1 */
        code[n++] = 0x83;
        code[n++] = 0xe9;
        code[n++] = 0x01;
    }
    int32_t back = (int32_t)head - (int32_t)(n + 6);     /* jnz head (rel32) */
    code[n++] = 0x0f;
    code[n++] = 0x85;
    memcpy(code + n, &back, 4);
    n += 4;
    code[n++] = 0x0f;                                   /* ud2 */
    code[n++] = 0x0b;
    return n;
}

static void test_random_loops(void)
{
    const char *e = getenv("HOSTEL_TEST_LOOPS"), *seed = getenv("HOSTEL_TEST_LOOPS_SEED");
    unsigned loops = e ? (unsigned)atoi(e) : 300;
    uint64_t s = seed ? strtoull(seed, NULL, 0) : 0x100b5eedULL;
    for (unsigned k = 0; k < loops; k++) {
        uint8_t code[1024];
        size_t len = loop_make(&s, code);
        uint64_t budget = loop_rnd(&s) % 3 ? 100000 : 20 + loop_rnd(&s) % 400;
        int before = check_failed_now;
        check_failed_now = 0;
        same_with_and_without(code, len, budget);
        if (check_failed_now) {
            printf("  random loop %u (budget %llu):", k, (unsigned long long)budget);
            for (size_t b = 0; b < len; b++)
                printf(" %02x", code[b]);
            printf("\n");
            break;
        }
        check_failed_now |= before;
    }
}


/* ---- traces (jit_trace): translations that go on through CALL, JMP, RET ---- */

#define FN 0x1800   /* a function's offset from CODE: another page */

/* code (main at CODE) with fn (at CODE + FN) in one image for setup_len. */
static size_t with_function(uint8_t *img, const uint8_t *code, size_t n, const uint8_t *fn, size_t fn_n)
{
    memset(img, 0, FN + fn_n);
    memcpy(img, code, n);
    memcpy(img + FN, fn, fn_n);
    return FN + fn_n;
}

/* 1000 calls of f (at CODE + FN), adding what it returns in RAX to RBX,
 * RCX counting down from 1000; then UD2. */
static const uint8_t calls_f[] = {
    0xb9, 0xe8, 0x03, 0, 0,                     /* mov ecx, 1000 */
    0xe8, 0xf6, 0x17, 0, 0,                     /* 1: call f (CODE + FN) */
    0x48, 0x01, 0xc3,                           /* add rbx, rax */
    0xff, 0xc9,                                 /* dec ecx */
    0x75, 0xf4,                                 /* jnz 1b */
    0x0f, 0x0b,                                 /* ud2 */
};

/* A loop that calls a function on another page: one translation runs
 * the call, the function, its return and the loop's tail; the
 * interpreter's results. */
static void test_trace_call_ret(void)
{
    static const uint8_t fn[] = {
        0x48, 0x8d, 0x04, 0x49,                 /* f: lea rax, [rcx + rcx * 2] */
        0xc3,                                   /* ret */
    };
    static uint8_t img[FN + 64];
    size_t n = with_function(img, calls_f, sizeof(calls_f), fn, sizeof(fn));
    same_with_and_without(img, n, 100000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->gpr[R_RBX], 3 * 500500);
    CHECK_EQ(cpu->gpr[R_RSP], STACK);
    struct emu_jit_stats st;
    emu_jit_get_stats(cpu, &st);
    CHECK(st.traced >= 1);
}

/* The function moves its return address on odd counts (past the ADD
 * after the call): the followed RET finds another address than its
 * CALL's and leaves for it; on even counts it goes on. */
static void test_trace_ret_elsewhere(void)
{
    static const uint8_t fn[] = {
        0xf6, 0xc1, 0x01,                       /* f: test cl, 1 */
        0x74, 0x05,                             /* jz 2f */
        0x48, 0x83, 0x04, 0x24, 0x03,           /* add qword [rsp], 3 */
        0x48, 0x8d, 0x04, 0x49,                 /* 2: lea rax, [rcx + rcx * 2] */
        0xc3,                                   /* ret */
    };
    static uint8_t img[FN + 64];
    size_t n = with_function(img, calls_f, sizeof(calls_f), fn, sizeof(fn));
    same_with_and_without(img, n, 100000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->gpr[R_RBX], 3 * 250500);     /* 3 * (1000 + 998 + ... + 2) */
    CHECK_EQ(cpu->gpr[R_RSP], STACK);
}

/* A callee that saves and restores two registers: its CALL and PUSHes
 * are one group, its POPs and RET another (emit_stack_group), traced or
 * (traces off) the RET ending the callee's own translation; on odd
 * counts it moves its return address, so the RET in the group leaves
 * for another address.  Then the same with RSP 16 bytes above a page
 * boundary: both groups straddle it, the lookup misses, and the
 * handlers run (the CALL's and the RET's leave).  The interpreter's
 * results. */
static void test_trace_stack_groups(void)
{
    static const uint8_t fn[] = {
        0x53, 0x55,                             /* f: push rbx; push rbp */
        0x48, 0x89, 0xcb,                       /* mov rbx, rcx */
        0x48, 0x8d, 0x2c, 0x5b,                 /* lea rbp, [rbx + rbx * 2] */
        0x48, 0x89, 0xe8,                       /* mov rax, rbp */
        0xf6, 0xc1, 0x01,                       /* test cl, 1 */
        0x74, 0x06,                             /* jz 2f */
        0x48, 0x83, 0x44, 0x24, 0x10, 0x03,     /* add qword [rsp + 16], 3 */
        0x5d, 0x5b,                             /* 2: pop rbp; pop rbx */
        0xc3,                                   /* ret */
    };
    static const uint8_t straddle[] = {
        0x48, 0x83, 0xc4, 0x10,                 /* add rsp, 16 */
        0xb9, 0xe8, 0x03, 0, 0,                 /* mov ecx, 1000 */
        0xe8, 0xf2, 0x17, 0, 0,                 /* 1: call f (CODE + FN) */
        0x48, 0x01, 0xc3,                       /* add rbx, rax */
        0xff, 0xc9,                             /* dec ecx */
        0x75, 0xf4,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    static uint8_t img[FN + 64];
    /* With traces, then without: f's own translation ends with its RET,
     * the last of its POP group, which leaves for the address popped. */
    for (int trace = 1; trace >= 0; trace--) {
        emu_jit_test_trace(trace);
        size_t n = with_function(img, calls_f, sizeof(calls_f), fn, sizeof(fn));
        same_with_and_without(img, n, 100000);
        CHECK_EQ(cpu->exc.vector, EXC_UD);
        CHECK_EQ(cpu->gpr[R_RBX], 3 * 250500);     /* 3 * (1000 + 998 + ... + 2) */
        CHECK_EQ(cpu->gpr[R_RSP], STACK);
        struct emu_jit_stats st;
        emu_jit_get_stats(cpu, &st);
        CHECK(trace ? st.traced >= 1 : st.traced == 0);
        n = with_function(img, straddle, sizeof(straddle), fn, sizeof(fn));
        same_with_and_without(img, n, 100000);
        CHECK_EQ(cpu->exc.vector, EXC_UD);
        CHECK_EQ(cpu->gpr[R_RBX], 3 * 250500);
        CHECK_EQ(cpu->gpr[R_RSP], STACK + 16);
        for (uint64_t budget = 1; budget < 120; budget++)   /* stopped anywhere in the groups */
            same_with_and_without(img, n, budget);
    }
    emu_jit_test_trace(true);
}

/* The loop stores into the function it calls (its MOV's immediate, on
 * another page than the loop): every call runs the bytes stored last,
 * as the interpreter does. */
static void test_trace_store_into_callee(void)
{
    static const uint8_t code[] = {
        0xb9, 0xe8, 0x03, 0, 0,                 /* mov ecx, 1000 */
        0xe8, 0xf6, 0x17, 0, 0,                 /* 1: call f (CODE + FN) */
        0x48, 0x01, 0xc3,                       /* add rbx, rax */
        0xff, 0x04, 0x25, 0x01, 0x28, 0, 0,     /* inc dword [CODE + FN + 1]: f's immediate */
        0xff, 0xc9,                             /* dec ecx */
        0x75, 0xed,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    static const uint8_t fn[] = {
        0xb8, 0, 0, 0, 0,                       /* f: mov eax, 0 (then 1, 2, ...) */
        0xc3,                                   /* ret */
    };
    static uint8_t img[FN + 64];
    size_t n = with_function(img, code, sizeof(code), fn, sizeof(fn));
    same_with_and_without(img, n, 100000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->gpr[R_RBX], 499500);          /* 0 + 1 + ... + 999 */
}

/* Paging on, the first 2 MiB identity-mapped (one large page) and linear
 * page F mapped to physical page P1 (f1's code there) through page table
 * PT; P2 holds f2's code, for the test to map F to. */
enum { F = 0x400000, P1 = 0x30000, P2 = 0x31000 };
static void map_f(const uint8_t *f1, const uint8_t *f2, size_t n)
{
    memcpy(ram + P1, f1, n);
    memcpy(ram + P2, f2, n);
    put_pte(PML4, PDPT | 7);
    put_pte(PDPT, PD | 7);
    put_pte(PD, 0x87);                          /* the first 2 MiB as they are */
    put_pte(PD + 8 * (F >> 21), PT | 7);
    put_pte(PT, P1 | 7);
    cpu->cr3 = PML4;
    cpu->cr0 |= CR0_PG;
    emu_tlb_flush(cpu, true);
}

/* The function's linear page is mapped to another physical page (other
 * code) and its TLB entry flushed, as a guest does after editing a page
 * table: a trace made with the old page must not run again; each run
 * adds the value the page mapped then returns. */
static void test_trace_remapped_callee(void)
{
    static const uint8_t code[] = {
        0xb9, 0x64, 0, 0, 0,                    /* mov ecx, 100 */
        0xe8, 0xf6, 0xef, 0x3f, 0,              /* 1: call F */
        0x48, 0x01, 0xc3,                       /* add rbx, rax */
        0xff, 0xc9,                             /* dec ecx */
        0x75, 0xf4,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    for (int jit = 0; jit < 2; jit++) {
        setup_len(code, sizeof(code), jit);
        static const uint8_t f1[] = { 0xb8, 1, 0, 0, 0, 0xc3 }, f2[] = { 0xb8, 2, 0, 0, 0, 0xc3 };
        map_f(f1, f2, sizeof(f1));
        for (int round = 0; round < 3; round++) {
            if (round)
                put_pte(PT, (round == 1 ? P2 : P1) | 7);
            emu_tlb_flush_page(cpu, F);
            cpu->rip = CODE;
            cpu->exc.vector = -1;
            emu_execute(cpu, 100000);
            CHECK_EQ(cpu->exc.vector, EXC_UD);
        }
        CHECK_EQ(cpu->gpr[R_RBX], 100 * 1 + 100 * 2 + 100 * 1);
        struct emu_jit_stats st;
        emu_jit_get_stats(cpu, &st);
        CHECK(jit ? st.traced >= 1 : st.blocks == 0);
    }
}


/* Links between translations (no traces: the heat is never spent) skip
 * the target's epoch compare only while the CPU's epoch and map epoch are
 * the ones they were linked in: a loop jumps to f (another page) and f
 * jumps back; every 64th time round the loop stores into f's immediate
 * (the epoch ends; f is translated and linked again in between), or f's
 * linear page is remapped to other code between runs (the map epoch
 * changes).  Each run through a link must see the new bytes, as the
 * interpreter does (checked that the first part fails when links compare
 * only the map epoch, the second when they compare only the epoch). */
static void test_link_sees_new_code(void)
{
    static const uint8_t code[] = {
        0xb9, 0xe8, 0x03, 0, 0,                 /* mov ecx, 1000 */
        0xe9, 0xf6, 0x17, 0, 0,                 /* 1: jmp f (CODE + FN) */
        0x48, 0x01, 0xc3,                       /* back: add rbx, rax */
        0xf6, 0xc1, 0x3f,                       /* test cl, 63 */
        0x75, 0x07,                             /* jnz 2f */
        0xff, 0x04, 0x25, 0x01, 0x28, 0, 0,     /* inc dword [CODE + FN + 1]: f's immediate */
        0xff, 0xc9,                             /* 2: dec ecx */
        0x75, 0xe8,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    static const uint8_t fn[] = {
        0xb8, 0, 0, 0, 0,                       /* f: mov eax, 0 (then 1, 2, ...) */
        0xe9, 0x00, 0xe8, 0xff, 0xff,           /* jmp back (CODE + 10) */
    };
    static uint8_t img[FN + 64];
    size_t n = with_function(img, code, sizeof(code), fn, sizeof(fn));
    emu_jit_test_trace_heat(1 << 20);
    struct emu_cpu a;
    setup_len(img, n, false);
    emu_execute(cpu, 100000);
    a = *cpu;
    setup_len(img, n, true);
    emu_jit_configure(true, 1);                 /* translated at the second run: linked */
    emu_execute(cpu, 100000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(a.exc.vector, EXC_UD);
    uint64_t want = 0, imm = 0;
    for (unsigned c = 1000; c; c--) {
        want += imm;
        imm += !(c & 63);
    }
    CHECK_EQ(cpu->gpr[R_RBX], want);
    CHECK_EQ(a.gpr[R_RBX], want);
    CHECK_EQ(cpu->insn_count, a.insn_count);
    struct emu_jit_stats st;
    emu_jit_get_stats(cpu, &st);
    CHECK(st.links >= 2);
    CHECK_EQ(st.traced, 0);

    /* The loop flips the page table entry of F's linear page between
     * two physical pages of other code every 32nd time round, then
     * INVLPG (the map epoch changes, the epoch not: no code written). */
    static const uint8_t code2[] = {
        0xb9, 0x64, 0, 0, 0,                    /* mov ecx, 100 */
        0xe9, 0xf6, 0xef, 0x3f, 0,              /* 1: jmp F */
        0x48, 0x01, 0xc3,                       /* back: add rbx, rax */
        0xf6, 0xc1, 0x1f,                       /* test cl, 31 */
        0x75, 0x13,                             /* jnz 2f */
        0x81, 0x34, 0x25, 0x00, 0x30, 0x01, 0,  /* xor dword [PT], P1 ^ P2 */
        0x00, 0x10, 0, 0,
        0x0f, 0x01, 0x3c, 0x25, 0, 0, 0x40, 0,  /* invlpg [F] */
        0xff, 0xc9,                             /* 2: dec ecx */
        0x75, 0xdc,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    uint64_t rbx[2] = { 0, 0 }, count[2] = { 0, 0 };
    for (int jit = 0; jit < 2; jit++) {
        setup_len(code2, sizeof(code2), jit);
        emu_jit_configure(jit, 1);
        int32_t back = (int32_t)((CODE + 10) - (F + 10));
        uint8_t f1[10] = { 0xb8, 1, 0, 0, 0, 0xe9 }, f2[10] = { 0xb8, 2, 0, 0, 0, 0xe9 };
        memcpy(f1 + 6, &back, 4);
        memcpy(f2 + 6, &back, 4);
        map_f(f1, f2, sizeof(f1));
        emu_execute(cpu, 100000);
        CHECK_EQ(cpu->exc.vector, EXC_UD);
        rbx[jit] = cpu->gpr[R_RBX];
        count[jit] = cpu->insn_count;
        emu_jit_get_stats(cpu, &st);
        CHECK(jit ? st.links >= 3 * 2 && st.traced == 0 : st.blocks == 0);
    }
    want = 0;
    unsigned page = 1;
    for (unsigned c = 100; c; c--) {
        want += page;
        if (!(c & 31))
            page ^= 3;
    }
    CHECK_EQ(rbx[0], want);
    CHECK_EQ(rbx[1], want);
    CHECK_EQ(count[1], count[0]);
    emu_jit_configure(1, 0);
    emu_jit_test_trace_heat(-1);
}

/* SHLD and SHRD of registers (emit_shld), by CL (200 counts down to 1:
 * counts of 0 after masking too, 32-bit ones zero-extending) and by
 * immediates, each followed by PUSHF: every flag, the ones the manuals
 * leave undefined too, as the interpreter defines them, at every budget
 * to 60 as well. */
static void test_shld_shrd(void)
{
    static const uint8_t code[] = {
        0xb9, 0xc8, 0, 0, 0,                    /* mov ecx, 200 */
        0x48, 0xbb, 0xf0, 0xde, 0xbc, 0x9a, 0x78, 0x56, 0x34, 0x12,   /* mov rbx, 0x123456789abcdef0 */
        0x48, 0x8d, 0x04, 0xc9,                 /* 1: lea rax, [rcx + rcx * 8] */
        0x48, 0x31, 0xd8,                       /* xor rax, rbx */
        0x48, 0x0f, 0xa5, 0xd8,                 /* shld rax, rbx, cl */
        0x9c, 0x5a,                             /* pushfq; pop rdx */
        0x49, 0x01, 0xd0, 0x49, 0x01, 0xc0,     /* add r8, rdx; add r8, rax */
        0x0f, 0xad, 0xc3,                       /* shrd ebx, eax, cl */
        0x9c, 0x5a,                             /* pushfq; pop rdx */
        0x49, 0x01, 0xd1, 0x49, 0x01, 0xd9,     /* add r9, rdx; add r9, rbx */
        0x48, 0x0f, 0xa4, 0xd8, 0x05,           /* shld rax, rbx, 5 */
        0x48, 0x0f, 0xac, 0xc3, 0x3f,           /* shrd rbx, rax, 63 */
        0x9c, 0x5a,                             /* pushfq; pop rdx */
        0x49, 0x01, 0xd2, 0x49, 0x31, 0xc2,     /* add r10, rdx; xor r10, rax */
        0xff, 0xc9,                             /* dec ecx */
        0x75, 0xcc,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    same_with_and_without(code, sizeof(code), 100000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->gpr[R_RCX], 0);
    CHECK(cpu->gpr[R_R8] != 0 && cpu->gpr[R_R9] != 0 && cpu->gpr[R_R10] != 0);
    for (uint64_t budget = 1; budget < 60; budget++)
        same_with_and_without(code, sizeof(code), budget);
}

/* ---- instructions across a page boundary (jit_cross) ---------------------- */

/* A loop at CODE + 0xff0 whose ADD RAX, imm32 crosses into the next page
 * (3 bytes in each), then tail (in the next page), then DEC ECX, JNZ
 * back and UD2; main sets ECX = 1000, calls a RET in the next page (its
 * TLB entry filled, the page marked as code) and stores into that page
 * (the mark dropped: mmu.c) before it jumps to the loop.  Returns the
 * image's length for setup_len (0x1200); *ud2: the UD2's offset. */
static size_t across_image(uint8_t *img, const uint8_t *tail, size_t tail_n, size_t *ud2)
{
    static const uint8_t main_code[] = {
        0xb9, 0xe8, 0x03, 0, 0,                 /* mov ecx, 1000 */
        0xe8, 0xf6, 0x10, 0, 0,                 /* call CODE + 0x1100 (a RET) */
        0xc6, 0x04, 0x25, 0x80, 0x21, 0, 0, 1,  /* mov byte [CODE + 0x1180], 1 */
        0xe9, 0xd9, 0x0f, 0, 0,                 /* jmp CODE + 0xff0 */
    };
    static const uint8_t loop[] = {
        0x48, 0x01, 0xcb,                       /* CODE + 0xff0: add rbx, rcx */
        0x48, 0x8d, 0x52, 0x01,                 /* lea rdx, [rdx + 1] */
        0x90, 0x90, 0x90, 0x90, 0x90, 0x90,
        0x48, 0x05, 0x11, 0x22, 0x33, 0x00,     /* CODE + 0xffd: add rax, 0x332211 */
    };
    memset(img, 0, 0x1200);
    memcpy(img, main_code, sizeof(main_code));
    img[0x1100] = 0xc3;
    memcpy(img + 0xff0, loop, sizeof(loop));
    size_t o = 0x1003;
    memcpy(img + o, tail, tail_n);
    o += tail_n;
    img[o++] = 0xff; img[o++] = 0xc9;           /* dec ecx */
    img[o] = 0x75;                              /* jnz CODE + 0xff0 */
    img[o + 1] = (uint8_t)(0xff0 - (o + 2));
    o += 2;
    *ud2 = o;
    img[o++] = 0x0f; img[o++] = 0x0b;           /* ud2 */
    return 0x1200;
}

/* The ADD across the page boundary runs in the loop's translation
 * (jit_cross): the interpreter's results at every budget, the dispatcher
 * entered a few times, not twice per pass; with the loop's stores into
 * the ADD's immediate, in the next page and in the rest of this one,
 * each pass adds the bytes stored last. */
static void test_cross_page_insn(void)
{
    static uint8_t img[0x1200];
    size_t ud2, n = across_image(img, NULL, 0, &ud2);
    same_with_and_without(img, n, 100000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    CHECK_EQ(cpu->gpr[R_RAX], 1000ull * 0x332211);
    CHECK_EQ(cpu->gpr[R_RBX], 500500);
    struct emu_jit_stats st;
    emu_jit_get_stats(cpu, &st);
    CHECK(st.crossed >= 1);
    CHECK(st.entries < 10);
    for (uint64_t budget = 1; budget < 40; budget++)
        same_with_and_without(img, n, budget);
    static const uint8_t into_next[] = { 0xfe, 0x04, 0x25, 0x01, 0x20, 0, 0 };   /* inc byte [CODE + 0x1001] */
    static const uint8_t into_this[] = { 0xfe, 0x04, 0x25, 0xff, 0x1f, 0, 0 };   /* inc byte [CODE + 0xfff] */
    n = across_image(img, into_next, sizeof(into_next), &ud2);
    same_with_and_without(img, n, 100000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    uint64_t sum = 0;
    for (uint64_t k = 0; k < 1000; k++)
        sum += 0x2211 + (((0x33 + k) & 0xff) << 16);
    CHECK_EQ(cpu->gpr[R_RAX], sum);
    n = across_image(img, into_this, sizeof(into_this), &ud2);
    same_with_and_without(img, n, 100000);
    CHECK_EQ(cpu->exc.vector, EXC_UD);
    sum = 0;
    for (uint64_t k = 0; k < 1000; k++)
        sum += 0x332200 + ((0x11 + k) & 0xff);
    CHECK_EQ(cpu->gpr[R_RAX], sum);
    /* Off (HOSTEL_EMU_JIT_CROSS=0): the same results, nothing across. */
    emu_jit_test_cross(false);
    n = across_image(img, NULL, 0, &ud2);
    same_with_and_without(img, n, 100000);
    CHECK_EQ(cpu->gpr[R_RAX], 1000ull * 0x332211);
    emu_jit_get_stats(cpu, &st);
    CHECK_EQ(st.crossed, 0);
    emu_jit_test_cross(true);
}

/* The page after the boundary is mapped to another physical page (other
 * bytes of the ADD's immediate) and its TLB entry flushed, as a guest
 * does after editing a page table: the translation made with the old
 * page must not run again; each round adds what the page holds then. */
static void test_cross_page_remapped(void)
{
    enum { PML4 = 0x10000, PDPT = 0x11000, PD = 0x12000, PT = 0x13000,
           F = 0x400000, P0 = 0x30000, P1 = 0x31000, P2 = 0x32000 };
    static uint8_t img[0x1200];
    size_t ud2, n = across_image(img, NULL, 0, &ud2);
    for (int jit = 0; jit < 2; jit++) {
        static const uint8_t go[] = {
            0xb9, 0x64, 0, 0, 0,                /* mov ecx, 100 */
            0x48, 0xc7, 0xc2, 0xf0, 0x0f, 0x40, 0,   /* mov rdx, F + 0xff0 */
            0xff, 0xe2,                         /* jmp rdx */
        };
        setup_len(go, sizeof(go), jit);
        /* Translated on the third run: the interpreter's fetches have put
         * the next page in the TLB by then (jit_cross looks there). */
        emu_jit_configure(jit, 2);
        memcpy(ram + P0, img, 0x1000);
        memcpy(ram + P1, img + 0x1000, n - 0x1000);
        memcpy(ram + P2, img + 0x1000, n - 0x1000);
        ram[P1 + 0x100] = ram[P2 + 0x100] = 0x90;   /* not main's RET: go has none */
        ram[P2] = 0x44;                         /* the immediate: 0x334411 there */
        put_pte(PML4, PDPT | 7);
        put_pte(PDPT, PD | 7);
        put_pte(PD, 0x87);                      /* the first 2 MiB as they are */
        put_pte(PD + 8 * (F >> 21), PT | 7);
        put_pte(PT, P0 | 7);
        put_pte(PT + 8, P1 | 7);
        cpu->cr3 = PML4;
        cpu->cr0 |= CR0_PG;
        emu_tlb_flush(cpu, true);
        for (int round = 0; round < 3; round++) {
            if (round)
                put_pte(PT + 8, (round == 1 ? P2 : P1) | 7);
            emu_tlb_flush_page(cpu, F + 0x1000);
            cpu->rip = CODE;
            cpu->exc.vector = -1;
            emu_execute(cpu, 100000);
            CHECK_EQ(cpu->exc.vector, EXC_UD);
            CHECK_EQ(cpu->rip, F + ud2);
        }
        CHECK_EQ(cpu->gpr[R_RAX], 100ull * 0x332211 + 100ull * 0x334411 + 100ull * 0x332211);
        struct emu_jit_stats st;
        emu_jit_get_stats(cpu, &st);
        CHECK(jit ? st.crossed >= 1 : st.blocks == 0);
    }
}

/* Runs the guest with budgets of 1, 2, ... max_step instructions, round
 * and round, until its UD2 (at most 20000 instructions): each run must
 * retire exactly its budget, or stop at the UD2. */
static void run_in_steps(unsigned max_step)
{
    uint64_t total = 0;
    for (unsigned step = 1; cpu->exc.vector != EXC_UD && total < 20000; step = step % max_step + 1) {
        uint64_t got = emu_execute(cpu, step);
        total += got;
        CHECK_EQ(cpu->insn_count, total);
        CHECK(got == step || cpu->exc.vector == EXC_UD);
    }
}

/* Traces made once a translation is hot (emu_jit_run's retrace: the
 * translation without one counts its entries down, then a trace replaces
 * it and its entry jumps there), run for budgets of every size from 1:
 * each run retires exactly its budget (a trace runs more instructions
 * than the translation it replaced, and a run must not be entered when
 * the budget is too short for it), with the interpreter's results. */
static void test_trace_budgets(void)
{
    static const uint8_t fn[] = {
        0x48, 0x8d, 0x04, 0x49,                 /* f: lea rax, [rcx + rcx * 2] */
        0xe9, 0x01, 0, 0, 0,                    /* jmp 2f (a second range) */
        0xcc,
        0x48, 0xff, 0xc6,                       /* 2: inc rsi */
        0xc3,                                   /* ret */
    };
    static uint8_t img[FN + 64];
    size_t n = with_function(img, calls_f, sizeof(calls_f), fn, sizeof(fn));
    for (int jit = 0; jit < 2; jit++) {
        setup_len(img, n, jit);
        emu_jit_configure(jit, 2);              /* translated after 2 runs, a trace after 32 more */
        run_in_steps(97);
        CHECK_EQ(cpu->exc.vector, EXC_UD);
        CHECK_EQ(cpu->insn_count, 1 + 1000 * 8);   /* mov, then call lea jmp inc ret add dec jnz */
        CHECK_EQ(cpu->gpr[R_RBX], 3 * 500500);
        CHECK_EQ(cpu->gpr[R_RSI], 1000);
        struct emu_jit_stats st;
        emu_jit_get_stats(cpu, &st);
        CHECK(jit ? st.traced >= 1 : st.blocks == 0);
    }
    emu_jit_configure(1, 0);
}

/* A loop whose Jcc jumps in 7 runs of 8: once the translation's heat is
 * spent (jcc_hints), a trace goes on at its target and leaves when it
 * does not jump.  Budgets of every size from 1 through 160: each run
 * retires exactly its budget, with the interpreter's results. */
static const uint8_t hot_jcc[] = {
    0xb9, 0xe8, 0x03, 0, 0,                     /* mov ecx, 1000 */
    0x48, 0x8d, 0x04, 0x49,                     /* 1: lea rax, [rcx + rcx * 2] */
    0xf6, 0xc1, 0x07,                           /* test cl, 7 */
    0x75, 0x04,                                 /* jnz 2f (taken 7 times in 8) */
    0x48, 0x83, 0xc0, 0x05,                     /* add rax, 5 */
    0x48, 0x01, 0xc3,                           /* 2: add rbx, rax */
    0xff, 0xc9,                                 /* dec ecx */
    0x75, 0xec,                                 /* jnz 1b */
    0x0f, 0x0b,                                 /* ud2 */
};

static void test_trace_hot_jcc(void)
{
    for (int jit = 0; jit < 2; jit++) {
        setup_len(hot_jcc, sizeof(hot_jcc), jit);
        emu_jit_configure(jit, 2);
        emu_jit_test_trace_heat(16);            /* hints after 32 entries */
        run_in_steps(160);
        CHECK_EQ(cpu->exc.vector, EXC_UD);
        CHECK_EQ(cpu->insn_count, 1 + 1000 * 6 + 125);
        CHECK_EQ(cpu->gpr[R_RBX], 3 * 500500 + 5 * 125);
        struct emu_jit_stats st;
        emu_jit_get_stats(cpu, &st);
        CHECK(jit ? st.jcc_followed >= 1 : st.blocks == 0);
    }
    emu_jit_configure(1, 0);
    emu_jit_test_trace_heat(-1);
}

/* A self loop entered 400 times, whose exit (a JZ) jumps once a run: it
 * is no hint (jcc_hints), or the trace made from the loop would go on at
 * the exit's target and leave the loop on every trip; no Jcc is followed,
 * and every result is the interpreter's. */
static void test_trace_loop_exit_no_hint(void)
{
    static const uint8_t code[] = {
        0xbe, 0x90, 0x01, 0, 0,                 /* mov esi, 400 */
        0xb9, 0x0a, 0, 0, 0,                    /* 1: mov ecx, 10 */
        0x48, 0x01, 0xc8,                       /* L: add rax, rcx */
        0xff, 0xc9,                             /* dec ecx */
        0x74, 0x06,                             /* jz 2f (once a run of L) */
        0x48, 0x83, 0xc3, 0x01,                 /* add rbx, 1 */
        0xeb, 0xf3,                             /* jmp L */
        0xff, 0xce,                             /* 2: dec esi */
        0x75, 0xea,                             /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    for (int jit = 0; jit < 2; jit++) {
        setup_len(code, sizeof(code), jit);
        emu_jit_configure(jit, 2);
        emu_jit_test_trace_heat(16);            /* hints after 32 entries */
        emu_execute(cpu, 100000);
        CHECK_EQ(cpu->exc.vector, EXC_UD);
        CHECK_EQ(cpu->insn_count, 1 + 400 * 51);
        CHECK_EQ(cpu->gpr[R_RAX], 400 * 55);
        CHECK_EQ(cpu->gpr[R_RBX], 400 * 9);
        struct emu_jit_stats st;
        emu_jit_get_stats(cpu, &st);
        CHECK(jit ? st.jcc_followed == 0 && st.blocks >= 1 : st.blocks == 0);
    }
    emu_jit_configure(1, 0);
    emu_jit_test_trace_heat(-1);
}

/* A loop with two Jccs that mostly jump, one to code on the next page,
 * storing in run 500 into that code (the ADD there becomes a SUB): the
 * trace made from them goes on in that page, and the store takes effect
 * at once, as in the interpreter. */
static void test_trace_hot_jcc_smc(void)
{
    static const uint8_t code[] = {
        0xb9, 0xe8, 0x03, 0, 0,                 /* mov ecx, 1000 */
        0x48, 0x8d, 0x04, 0x49,                 /* 1: lea rax, [rcx + rcx * 2] */
        0x81, 0xf9, 0xf4, 0x01, 0, 0,           /* cmp ecx, 500 */
        0x75, 0x07,                             /* jne 3f */
        0xc6, 0x05, 0xe9, 0x17, 0, 0, 0x29,     /* mov byte [f + 1], 0x29: ADD to SUB */
        0xf6, 0xc1, 0x07,                       /* 3: test cl, 7 */
        0x0f, 0x85, 0xdf, 0x17, 0, 0,           /* jnz f (CODE + FN) */
        0x48, 0x83, 0xc0, 0x05,                 /* add rax, 5 */
        0xe9, 0xd6, 0x17, 0, 0,                 /* jmp f */
    };
    static const uint8_t fn[] = {
        0x48, 0x01, 0xc3,                       /* f: add rbx, rax */
        0xff, 0xc9,                             /* dec ecx */
        0x0f, 0x85, 0xfa, 0xe7, 0xff, 0xff,     /* jnz 1b */
        0x0f, 0x0b,                             /* ud2 */
    };
    static uint8_t img[FN + 64];
    size_t n = with_function(img, code, sizeof(code), fn, sizeof(fn));
    uint64_t want = 0;
    for (uint64_t c = 1000; c >= 1; c--) {
        uint64_t v = 3 * c + (c % 8 ? 0 : 5);
        want = c > 500 ? want + v : want - v;
    }
    for (int jit = 0; jit < 2; jit++) {
        setup_len(img, n, jit);
        emu_jit_configure(jit, 2);
        emu_jit_test_trace_heat(16);            /* hints after 32 entries: traces well before run 500 */
        emu_execute(cpu, 100000);
        CHECK_EQ(cpu->exc.vector, EXC_UD);
        CHECK_EQ(cpu->gpr[R_RBX], want);
        CHECK_EQ(cpu->gpr[R_RCX], 0);
        CHECK_EQ(ram[CODE + FN + 1], 0x29);
        struct emu_jit_stats st;
        emu_jit_get_stats(cpu, &st);
        CHECK(jit ? st.jcc_followed >= 1 : st.blocks == 0);
    }
    emu_jit_configure(1, 0);
    emu_jit_test_trace_heat(-1);
}

int main(void)
{
    /* A flat CPU's reads go straight to RAM by default (hostel-emu-user's);
     * these tests are of the TLB's paths, as a machine's translated code
     * takes them, but for test_flat_reads and test_flat_paging_on. */
    emu_jit_test_flat(false);
    RUN_TEST(test_loop_translated);
    RUN_TEST(test_budget_exact);
    RUN_TEST(test_event_stops_translated_loop);
    RUN_TEST(test_loop_cpuid_sees_new_code);
    RUN_TEST(test_masked_event_runs_on);
    RUN_TEST(test_fault_precise);
    RUN_TEST(test_divide_fault_precise);
    RUN_TEST(test_loop_keeps_registers);
    RUN_TEST(test_bt_keeps_other_flags);
    RUN_TEST(test_high_byte_then_cmov);
    RUN_TEST(test_random_loops);
    RUN_TEST(test_comis_checked_flags);
    RUN_TEST(test_mxcsr_runs);
    RUN_TEST(test_noncanonical_branch);
    RUN_TEST(test_handler_exits_shared);
    RUN_TEST(test_store_into_running_block);
    RUN_TEST(test_tlb_second_way);
    RUN_TEST(test_tlb_inline_hits);
    RUN_TEST(test_flat_reads);
    RUN_TEST(test_flat_paging_on);
    RUN_TEST(test_mov_from_sreg);
    RUN_TEST(test_two_block_loop);
    RUN_TEST(test_two_block_loop_smc);
    RUN_TEST(test_two_block_loop_fault);
    RUN_TEST(test_two_block_loop_event);
    RUN_TEST(test_loop_flags_dead);
    RUN_TEST(test_loop_back_mid_block);
    RUN_TEST(test_jump_cache_spread);
    RUN_TEST(test_cache_full);
    RUN_TEST(test_followed_after_flush);
    RUN_TEST(test_dma_sees_only_code_pages);
    RUN_TEST(test_restore_drops_translations);
    RUN_TEST(test_same_page_two_addresses);
    RUN_TEST(test_stack_page_boundary);
    RUN_TEST(test_stack_page_fault);
    RUN_TEST(test_push_pop_direct);
    RUN_TEST(test_stack_group);
    RUN_TEST(test_stack_page_read_only);
    RUN_TEST(test_stack_page_straddle);
    RUN_TEST(test_stack_page_no_page);
    RUN_TEST(test_loop_edge_moves);
    RUN_TEST(test_sse_state_checked);
    RUN_TEST(test_fnstcw_state_checked);
    RUN_TEST(test_constant_addresses);
    RUN_TEST(test_loop_slot_pages);
    RUN_TEST(test_loop_slot_read_only);
    RUN_TEST(test_loop_slot_straddle);
    RUN_TEST(test_tls_page_pages);
    RUN_TEST(test_tls_page_read_only);
    RUN_TEST(test_tls_page_straddle);
    RUN_TEST(test_trace_call_ret);
    RUN_TEST(test_trace_ret_elsewhere);
    RUN_TEST(test_trace_stack_groups);
    RUN_TEST(test_trace_store_into_callee);
    RUN_TEST(test_trace_remapped_callee);
    RUN_TEST(test_link_sees_new_code);
    RUN_TEST(test_trace_budgets);
    RUN_TEST(test_trace_hot_jcc);
    RUN_TEST(test_trace_loop_exit_no_hint);
    RUN_TEST(test_trace_hot_jcc_smc);
    RUN_TEST(test_shld_shrd);
    RUN_TEST(test_cross_page_insn);
    RUN_TEST(test_cross_page_remapped);
    RUN_TEST(test_no_writable_executable_mapping);
    return CHECK_DONE();
}
