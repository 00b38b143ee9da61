/* sysret: the corners of SYSCALL and SYSRET (the syscall guest does the
 * ordinary round trip).  #UD with EFER.SCE clear; SYSCALL at CPL 0 with
 * SFMASK clearing some flags and keeping others, RF never saved in R11, CS
 * and SS taken from STAR; SYSRET to a non-canonical RCX faulting in ring 0;
 * SYSRETQ and SYSRETL (compatibility mode, upper RCX ignored) loading
 * CS/SS/RFLAGS for CPL 3, TF from R11 trapping at once (before the first
 * user instruction, unlike IRET); on Intel's model both #UD outside 64-bit
 * mode.  User code (lib/sysret_asm.S) comes back with INT 0x80 through
 * lib/user.c's DPL 3 gate. */
#include "lib/user.h"

#define FL_CF 0x1ull
#define FL_PF 0x4ull
#define FL_ZF 0x40ull
#define FL_SF 0x80ull
#define FL_TF 0x100ull
#define FL_DF 0x400ull
#define FL_OF 0x800ull
#define FL_RF 0x10000ull
#define FL_AC 0x40000ull
#define SYSRET_FLAGS 0x3c7fd7ull   /* the RFLAGS bits SYSRET takes from R11 */
#define MSR_CSTAR 0xc0000083

extern char k_syscall_next[], k_syscall_rf_next[], probe_entry[];
extern char user64[], user_tf[], user32[];
extern volatile struct { uint64_t rcx, r11, rflags; uint16_t cs, ss; } probe;
extern volatile struct { uint16_t cs, ss; uint32_t pad; uint64_t rflags; } user_seen;
void k_syscall(uint64_t rflags);
void k_syscall_rf(void);
void k_compat_try(int which);

static uint8_t user_stack[8192] __attribute__((aligned(16)));
static uint8_t kernel_stack[8192] __attribute__((aligned(16)));
static struct { uint64_t cs, rip; int count; } db_seen;

static void on_db(struct frame *f)
{
    db_seen.cs = f->cs;
    db_seen.rip = f->rip;
    db_seen.count++;
    f->rflags &= ~FL_TF;
}

static uint64_t star(uint16_t sysret_base, uint16_t syscall_cs)
{
    return (uint64_t)sysret_base << 48 | (uint64_t)syscall_cs << 32;
}

static void expect_fault(const char *what, uint64_t vec, uint64_t cs)
{
    if (last_fault.count != 1 || last_fault.vector != vec || last_fault.error != 0 ||
        last_fault.cs != cs)
        fail(3, "%s: %d faults, vector %lu error %lx cs %lx; expected vector %lu error 0 cs %lx",
             what, last_fault.count, last_fault.vector, last_fault.error, last_fault.cs, vec, cs);
}

static void sce_clear(void)
{
    uint64_t efer = rdmsr(MSR_EFER);
    wrmsr(MSR_EFER, efer & ~1ull);
    fault_reset();
    __asm__ volatile("lea 1f(%%rip), %%rax; mov %%rax, fault_recover(%%rip); syscall; 1:"
                     ::: "rax", "rcx", "r11", "memory");
    expect_fault("SYSCALL with EFER.SCE clear", 6, SEL_KCODE);
    fault_reset();
    __asm__ volatile("lea 1f(%%rip), %%rax; mov %%rax, fault_recover(%%rip); mov %%rax, %%rcx;"
                     "mov $2, %%r11d; sysretq; 1:" ::: "rax", "rcx", "r11", "memory");
    expect_fault("SYSRET with EFER.SCE clear", 6, SEL_KCODE);
    wrmsr(MSR_EFER, efer | 1);
    gprintf("EFER.SCE clear: SYSCALL #UD, SYSRET #UD ok\n");
}

static void check_probe(const char *what, uint64_t rcx, uint64_t r11, uint64_t rflags,
                        uint16_t cs, uint16_t ss)
{
    if (probe.rcx != rcx || probe.r11 != r11 || probe.rflags != rflags || probe.cs != cs ||
        probe.ss != ss)
        fail(4, "%s: RCX %lx R11 %lx RFLAGS %lx CS %x SS %x; expected %lx %lx %lx %x %x", what,
             probe.rcx, probe.r11, probe.rflags, probe.cs, probe.ss, rcx, r11, rflags, cs, ss);
}

static void syscall_at_cpl0(void)
{
    uint64_t mask = FL_AC | FL_DF | FL_OF | FL_SF | FL_CF;
    uint64_t in = FL_AC | FL_DF | FL_OF | FL_ZF | FL_PF | FL_CF | 2;
    wrmsr(MSR_FMASK, mask);
    k_syscall(in);
    check_probe("SYSCALL with SFMASK", (uint64_t)(uintptr_t)k_syscall_next, in, in & ~mask,
                SEL_KCODE, SEL_KDATA);
    gprintf("SYSCALL: SFMASK %lx, rflags %lx -> %lx, R11 %lx ok\n", mask, in, probe.rflags,
            probe.r11);

    k_syscall_rf();
    check_probe("SYSCALL with RF set", (uint64_t)(uintptr_t)k_syscall_rf_next, 2, 2,
                SEL_KCODE, SEL_KDATA);
    gprintf("SYSCALL after IRETQ with RF: R11 without RF ok\n");

    /* CS and SS come from STAR, not from the GDT: 0x18 is a 32-bit code
     * descriptor there, yet SYSCALL runs the probe as 64-bit code. */
    wrmsr(MSR_STAR, star(SEL_UCODE32 | 3, 0x18));
    k_syscall(2);
    __asm__ volatile("pushq $0x08; lea 1f(%%rip), %%rax; push %%rax; lretq; 1:" ::: "rax", "memory");
    check_probe("SYSCALL with STAR CS 0x18", (uint64_t)(uintptr_t)k_syscall_next, 2, 2, 0x18, 0x20);
    wrmsr(MSR_STAR, star(SEL_UCODE32 | 3, SEL_KCODE));
    gprintf("STAR selectors: CS 18 SS 20 ok\n");
}

static int vendor_intel(void);

/* Intel faults at CPL 0 before changing anything; AMD's SYSRET loads the
 * user state first and faults at CPL 3 (the reason Linux checks RCX). */
static void sysret_noncanonical(void)
{
    uint64_t at;
    if (!vendor_intel()) {
        gprintf("SYSRET to non-canonical RCX: not an Intel CPU, not checked\n");
        return;
    }
    fault_reset();
    __asm__ volatile("lea 1f(%%rip), %%rax; mov %%rax, fault_recover(%%rip);"
                     "lea 2f(%%rip), %0; movabs $0x0000800000001000, %%rcx; mov $2, %%r11d;"
                     "2: sysretq; 1:" : "=&r"(at) :: "rax", "rcx", "r11", "memory");
    expect_fault("SYSRET to RCX 0x800000001000", 13, SEL_KCODE);
    if (last_fault.rip != at)
        fail(5, "SYSRET's #GP at rip %lx, expected the SYSRET at %lx", last_fault.rip, at);
    gprintf("SYSRET to non-canonical RCX: #GP(0) in ring 0 at the SYSRET ok\n");
}

static uint64_t user_top(void)
{
    return (uint64_t)(uintptr_t)(user_stack + sizeof(user_stack));
}

static void sysret_64(void)
{
    uint64_t r11 = ~(FL_TF | 0x200ull);   /* everything but TF and IF */
    uint64_t want = (r11 & SYSRET_FLAGS) | 2;
    uint64_t r = sysret_to((uint64_t)(uintptr_t)user64, r11, user_top(), 0);
    if (r != 64 || user_return_seen.count != 1 || user_return_seen.cs != (SEL_UCODE | 3))
        fail(6, "SYSRETQ: the user program came back with %lu, %d times, from cs %lx", r,
             user_return_seen.count, user_return_seen.cs);
    if (user_seen.cs != (SEL_UCODE | 3) || user_seen.ss != (SEL_UDATA | 3) || user_seen.rflags != want)
        fail(7, "SYSRETQ with R11 %lx: cs %x ss %x rflags %lx; expected 33 2b %lx", r11,
             user_seen.cs, user_seen.ss, user_seen.rflags, want);
    gprintf("SYSRETQ to CPL 3: cs %x ss %x rflags %lx ok\n", user_seen.cs, user_seen.ss,
            user_seen.rflags);

    user_return_seen.count = 0;
    r = sysret_to((uint64_t)(uintptr_t)user_tf, FL_TF | 2, user_top(), 0);
    if (r != 65 || user_return_seen.count != 1)
        fail(8, "SYSRETQ with TF: the user program came back with %lu, %d times", r,
             user_return_seen.count);
    if (db_seen.count != 1 || db_seen.rip != (uint64_t)(uintptr_t)user_tf ||
        db_seen.cs != (SEL_UCODE | 3))
        fail(8, "TF from R11: %d #DB, at rip %lx cs %lx; expected one at %p cs 33", db_seen.count,
             db_seen.rip, db_seen.cs, (void *)user_tf);
    gprintf("TF from R11: #DB at CPL 3 before the first user instruction ok\n");
}

static void sysret_compat(void)
{
    uint64_t r11 = 0xffffffff00000000ull | FL_AC | FL_DF | FL_OF | 0xd7;
    uint64_t want = (r11 & SYSRET_FLAGS) | 2;
    uint64_t rip = 0xdeadbeef00000000ull | (uint32_t)(uintptr_t)user32;
    user_return_seen.count = 0;
    uint64_t r = sysret_to(rip, r11, user_top(), 1);
    if (r != 32 || user_return_seen.count != 1 || user_return_seen.cs != (SEL_UCODE32 | 3))
        fail(9, "SYSRETL: the user program came back with %lu, %d times, from cs %lx", r,
             user_return_seen.count, user_return_seen.cs);
    if (user_seen.cs != (SEL_UCODE32 | 3) || user_seen.ss != (SEL_UDATA | 3) ||
        user_seen.rflags != want)
        fail(9, "SYSRETL with R11 %lx: cs %x ss %x eflags %lx; expected 23 2b %lx", r11,
             user_seen.cs, user_seen.ss, user_seen.rflags, want);
    gprintf("SYSRETL to compatibility mode: cs %x ss %x eflags %lx, RCX upper half ignored ok\n",
            user_seen.cs, user_seen.ss, user_seen.rflags);
}

static int vendor_intel(void)
{
    uint32_t a = 0, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    return b == 0x756e6547 && d == 0x49656e69 && c == 0x6c65746e;   /* GenuineIntel */
}

static void compat_cpl0(void)
{
    if (!vendor_intel()) {
        gprintf("compatibility mode at CPL 0: not an Intel CPU, not checked\n");
        return;
    }
    fault_reset();
    k_compat_try(0);
    expect_fault("SYSCALL in compatibility mode", 6, 0x18);
    fault_reset();
    k_compat_try(1);
    expect_fault("SYSRET in compatibility mode", 6, 0x18);
    gprintf("compatibility mode at CPL 0: SYSCALL #UD, SYSRET #UD ok\n");
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("sysret: start\n");
    idt_init();
    tss_install((uint64_t)(uintptr_t)(kernel_stack + sizeof(kernel_stack)), 0);
    user_init();
    idt_set_handler(1, on_db);
    wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)probe_entry);
    wrmsr(MSR_CSTAR, (uint64_t)(uintptr_t)probe_entry);

    sce_clear();
    syscall_at_cpl0();
    sysret_noncanonical();
    sysret_64();
    sysret_compat();
    compat_cpl0();
    gprintf("sysret: ok\n");
}
