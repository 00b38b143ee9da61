/* smap: SMEP, SMAP and UMIP.  CPUID leaf 7 advertises them; with CR4.SMEP
 * a supervisor fetch from a user page is #PF(P|I); with CR4.SMAP a
 * supervisor read or write of a user page is #PF(P) / #PF(P|W) unless
 * EFLAGS.AC is set (STAC), and clearing AC again (CLAC, POPF) takes the
 * permission back; STAC/CLAC at CPL 3 are #UD; with CR4.UMIP SGDT, SIDT,
 * SLDT, STR and SMSW (memory and register forms) at CPL 3 are #GP(0) and
 * still work at CPL 0.  The kernel image stays supervisor-only: user pages
 * are 4 KiB aliases mapped with PTE_U above 256 GiB. */
#include "lib/user.h"

#define CR4_SMEP (1ull << 20)
#define CR4_SMAP (1ull << 21)
#define CR4_UMIP (1ull << 11)
#define FL_AC 0x40000ull

#define USER_CODE  0x4000000000ull
#define USER_DATA  0x4000001000ull
#define USER_STACK 0x4000002000ull

static uint8_t data_page[4096] __attribute__((aligned(4096)));
static uint8_t stack_page[4096] __attribute__((aligned(4096)));
static uint8_t kernel_stack[8192] __attribute__((aligned(16)));

/* Position-independent code copied nowhere: its page is aliased at
 * USER_CODE.  user_code_page starts with "mov $42, %eax; ret" (for SMEP),
 * then the CPL 3 programs at fixed offsets. */
extern char user_code_page[], user_umip[], user_stac[], user_clac[];
__asm__(
    "    .text\n"
    "    .balign 4096\n"
    "user_code_page:\n"
    "    mov $42, %eax\n"
    "    ret\n"
    /* Each instruction with RCX at its resume point: on_gp/on_ud jump there. */
    "user_umip:\n"
    "    sub $64, %rsp\n"
    "    xor %ebx, %ebx\n"
    "    lea 1f(%rip), %rcx\n    sgdt (%rsp)\n1:\n"
    "    lea 1f(%rip), %rcx\n    sidt 16(%rsp)\n1:\n"
    "    lea 1f(%rip), %rcx\n    sldt %ax\n1:\n"
    "    lea 1f(%rip), %rcx\n    str %ax\n1:\n"
    "    lea 1f(%rip), %rcx\n    smsw 32(%rsp)\n1:\n"
    "    lea 1f(%rip), %rcx\n    smsw %eax\n1:\n"
    "    mov $7, %eax\n"
    "    int $0x80\n"
    "user_stac:\n"
    "    lea 1f(%rip), %rcx\n    stac\n1:\n"
    "    mov $8, %eax\n"
    "    int $0x80\n"
    "user_clac:\n"
    "    lea 1f(%rip), %rcx\n    clac\n1:\n"
    "    mov $9, %eax\n"
    "    int $0x80\n"
    "    .balign 4096\n"
    "user_code_end:\n");

static volatile struct { uint64_t vector, error, cs; int count; } trapped;

/* #GP and #UD from the user programs: count and resume at RCX. */
static void on_trap(struct frame *f)
{
    trapped.vector = f->vector;
    trapped.error = f->error;
    trapped.cs = f->cs;
    trapped.count++;
    f->rip = f->rcx;
}

static uint64_t user_va(const char *sym)
{
    return USER_CODE + (uint64_t)(sym - user_code_page);
}

static void expect_pf(const char *what, uint64_t va, uint64_t err)
{
    if (last_fault.count != 1 || last_fault.vector != 14 || last_fault.cr2 != va ||
        last_fault.error != err)
        fail(3, "%s: %d faults, vector %lu error %lx cr2 %lx; expected #PF error %lx cr2 %lx",
             what, last_fault.count, last_fault.vector, last_fault.error, last_fault.cr2, err, va);
}

static void expect_none(const char *what)
{
    if (last_fault.count != 0)
        fail(4, "%s: vector %lu error %lx cr2 %lx, expected no fault", what, last_fault.vector,
             last_fault.error, last_fault.cr2);
}

static uint64_t call_user_code(void)
{
    uint64_t r = 0;
    fault_reset();
    /* RDX keeps RSP: a fetch fault leaves the CALL's return address pushed. */
    __asm__ volatile("lea 1f(%%rip), %%rax; mov %%rax, fault_recover(%%rip); xor %%eax, %%eax;"
                     "mov %%rsp, %%rdx; call *%1; 1: mov %%rdx, %%rsp"
                     : "=a"(r) : "r"(USER_CODE) : "rcx", "rdx", "memory");
    return r;
}

static uint64_t read_user(void)
{
    uint64_t v = 0;
    fault_reset();
    __asm__ volatile("lea 1f(%%rip), %%rcx; mov %%rcx, fault_recover(%%rip); mov (%1), %0; 1:"
                     : "+r"(v) : "r"(USER_DATA) : "rcx", "memory");
    return v;
}

static void write_user(uint64_t v)
{
    fault_reset();
    __asm__ volatile("lea 1f(%%rip), %%rcx; mov %%rcx, fault_recover(%%rip); mov %0, (%1); 1:"
                     :: "r"(v), "r"(USER_DATA) : "rcx", "memory");
}

static void check_cpuid(void)
{
    uint32_t a = 7, b, c = 0, d;
    __asm__ volatile("cpuid" : "+a"(a), "=b"(b), "+c"(c), "=d"(d));
    gprintf("CPUID 7: SMEP %u SMAP %u UMIP %u\n", (b >> 7) & 1, (b >> 20) & 1, (c >> 2) & 1);
    if (!(b & (1u << 7)) || !(b & (1u << 20)) || !(c & (1u << 2)))
        fail(2, "CPUID leaf 7 must advertise SMEP, SMAP and UMIP (EBX %x ECX %x)", b, c);
}

static void smep(void)
{
    if (call_user_code() != 42 || last_fault.count)
        fail(5, "a supervisor call into a user page without SMEP did not return 42");
    WRITE_CR(4, READ_CR(4) | CR4_SMEP);
    call_user_code();
    expect_pf("SMEP: supervisor fetch from a user page", USER_CODE, 0x11);
    WRITE_CR(4, READ_CR(4) & ~CR4_SMEP);
    gprintf("SMEP: supervisor fetch from a user page: #PF error 11 ok\n");
}

static void smap(void)
{
    data_page[0] = 0x5a;
    if (read_user() != 0x5a || last_fault.count)
        fail(6, "a supervisor read of a user page without SMAP failed");
    WRITE_CR(4, READ_CR(4) | CR4_SMAP);
    read_user();
    expect_pf("SMAP: supervisor read of a user page", USER_DATA, 1);
    write_user(1);
    expect_pf("SMAP: supervisor write of a user page", USER_DATA, 3);
    gprintf("SMAP: supervisor read #PF error 1, write #PF error 3 ok\n");

    __asm__ volatile("stac" ::: "memory");
    uint64_t v = read_user();
    expect_none("SMAP with AC set: read");
    write_user(v + 1);
    expect_none("SMAP with AC set: write");
    __asm__ volatile("clac" ::: "memory");
    if (data_page[0] != 0x5b)
        fail(6, "SMAP with AC set: the write did not land (%x)", data_page[0]);
    read_user();
    expect_pf("SMAP after CLAC: read", USER_DATA, 1);
    gprintf("SMAP: STAC allows, CLAC forbids again ok\n");

    __asm__ volatile("stac" ::: "memory");
    read_user();
    expect_none("SMAP with AC set again: read");
    __asm__ volatile("pushfq; andq $~0x40000, (%%rsp); popfq" ::: "memory", "cc");
    read_user();
    expect_pf("SMAP after POPF cleared AC: read", USER_DATA, 1);
    WRITE_CR(4, READ_CR(4) & ~CR4_SMAP);
    gprintf("SMAP: POPF clearing AC forbids again ok\n");
}

static uint64_t user_top(void)
{
    return USER_STACK + 4096;
}

static void stac_clac_user(void)
{
    trapped.count = 0;
    uint64_t r = sysret_to(user_va(user_stac), 2, user_top(), 0);
    uint64_t r2 = sysret_to(user_va(user_clac), 2, user_top(), 0);
    if (r != 8 || r2 != 9 || trapped.count != 2 || trapped.vector != 6 ||
        trapped.cs != (SEL_UCODE | 3))
        fail(7, "STAC/CLAC at CPL 3: %d traps, last vector %lu cs %lx (results %lu %lu); "
             "expected two #UD", trapped.count, trapped.vector, trapped.cs, r, r2);
    gprintf("STAC and CLAC at CPL 3: #UD ok\n");
}

static void umip(void)
{
    trapped.count = 0;
    uint64_t r = sysret_to(user_va(user_umip), 2, user_top(), 0);
    if (r != 7 || trapped.count != 0)
        fail(8, "without UMIP the CPL 3 program took %d traps (result %lu)", trapped.count, r);
    WRITE_CR(4, READ_CR(4) | CR4_UMIP);
    r = sysret_to(user_va(user_umip), 2, user_top(), 0);
    if (r != 7 || trapped.count != 6 || trapped.vector != 13 || trapped.error != 0 ||
        trapped.cs != (SEL_UCODE | 3))
        fail(8, "UMIP at CPL 3: %d traps, last vector %lu error %lx cs %lx; expected six #GP(0)",
             trapped.count, trapped.vector, trapped.error, trapped.cs);
    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) d = { 0, 0 };
    __asm__ volatile("sgdt %0" : "=m"(d));
    if (d.limit == 0)
        fail(8, "SGDT at CPL 0 with UMIP read limit 0");
    WRITE_CR(4, READ_CR(4) & ~CR4_UMIP);
    gprintf("UMIP: SGDT SIDT SLDT STR SMSW m/r at CPL 3: 6 #GP(0), CPL 0 unaffected ok\n");
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("smap: start\n");
    idt_init();
    tss_install((uint64_t)(uintptr_t)(kernel_stack + sizeof(kernel_stack)), 0);
    user_entry_init();
    idt_set_handler(13, on_trap);
    idt_set_handler(6, on_trap);

    boot_pml4[0] |= PTE_U;   /* the boot PDPT's entries stay supervisor-only */
    map_page(USER_CODE, (uint64_t)(uintptr_t)user_code_page, PTE_P | PTE_U);
    map_page(USER_DATA, (uint64_t)(uintptr_t)data_page, PTE_P | PTE_W | PTE_U);
    map_page(USER_STACK, (uint64_t)(uintptr_t)stack_page, PTE_P | PTE_W | PTE_U);
    WRITE_CR(3, READ_CR(3));

    check_cpuid();
    smep();
    smap();
    stac_clac_user();
    umip();
    gprintf("smap: ok\n");
}
