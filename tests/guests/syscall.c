/* syscall: SYSCALL/SYSRET round trips between CPL 0 and CPL 3.  The guest
 * marks its own 2 MiB page user-accessible, enters CPL 3 with IRETQ and runs
 * user_prog (lib/syscall_user.S), which checks its privilege level, makes
 * system calls (the kernel checks RCX, R11, CS, SS and SFMASK), takes a #GP
 * from HLT and a #PF from a supervisor page through the TSS's RSP0, and
 * returns with system call 0. */
#include "lib/user.h"

#define SUPERVISOR_VA 0x4000000000ull

extern char user_prog[], user_after_syscall[];
void syscall_entry(void);
uint64_t syscall_c(uint64_t nr, uint64_t arg, uint64_t rcx, uint64_t r11);

uint64_t supervisor_va = SUPERVISOR_VA;
static uint8_t user_stack[8192] __attribute__((aligned(16)));
static uint8_t kernel_stack[8192] __attribute__((aligned(16)));
static uint8_t secret_page[4096] __attribute__((aligned(4096)));
static int calls;

uint64_t syscall_c(uint64_t nr, uint64_t arg, uint64_t rcx, uint64_t r11)
{
    uint16_t cs, ss;
    uint64_t rflags;
    __asm__ volatile("mov %%cs, %0; mov %%ss, %1; pushfq; pop %2" : "=r"(cs), "=r"(ss), "=r"(rflags));
    calls++;
    if (nr == 1) {
        gprintf("syscall %lu(%lu) from rip %lx rflags %lx, now cs %x ss %x rflags %lx\n",
                nr, arg, rcx, r11, cs, ss, rflags);
        if (cs != SEL_KCODE || ss != SEL_KDATA)
            fail(10, "in the system call CS %x SS %x, expected %x %x", cs, ss, SEL_KCODE, SEL_KDATA);
        if (rcx != (uint64_t)(uintptr_t)user_after_syscall)
            fail(11, "RCX is %lx, expected the return address %p", rcx, (void *)user_after_syscall);
        if (!(r11 & 0x400) || (rflags & 0x400))
            fail(12, "R11 %lx should hold the user's DF, and SFMASK clear it (rflags %lx)",
                 r11, rflags);
        return arg + 1;
    }
    if (nr == 2) {
        uint64_t vec = arg >> 8, err = arg & 0xff;
        int ok = last_fault.count == 1 && last_fault.vector == vec && last_fault.error == err &&
                 (last_fault.cs & 3) == 3;
        gprintf("fault from CPL 3: vector %lu error %lx cs %lx: %s\n", last_fault.vector,
                last_fault.error, last_fault.cs, ok ? "ok" : "WRONG");
        fault_reset();
        return ok;
    }
    fail(13, "unknown system call %lu", nr);
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("syscall: start\n");
    idt_init();
    tss_install((uint64_t)(uintptr_t)(kernel_stack + sizeof(kernel_stack)), 0);

    /* User access to the first 2 MiB (this image), EFER.SCE and STAR; the
     * rest stays supervisor. */
    user_init();
    map_page(SUPERVISOR_VA, (uint64_t)(uintptr_t)secret_page, PTE_P | PTE_W);

    wrmsr(MSR_LSTAR, (uint64_t)(uintptr_t)syscall_entry);
    wrmsr(MSR_FMASK, 0x40700);                                  /* AC DF IF TF */
    fault_reset();

    uint64_t r = enter_user((uint64_t)(uintptr_t)user_prog,
                            (uint64_t)(uintptr_t)(user_stack + sizeof(user_stack)));
    uint16_t cs;
    __asm__ volatile("mov %%cs, %0" : "=r"(cs));
    gprintf("back at CPL 0 (cs %x) after %d system calls, user result %lu\n", cs, calls, r);
    if (r != 0)
        fail((uint8_t)(20 + (r & 31)), "user program check %lu failed", r);
    if (calls != 3)
        fail(2, "%d system calls, expected 3", calls);
    gprintf("syscall: ok\n");
}
