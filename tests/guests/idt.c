/* idt: interrupt delivery through the long-mode IDT.  Interrupt gates clear
 * IF, trap gates keep it; an IST gate switches stacks without a privilege
 * change (RSP aligned down to 16, SS kept); INT n from CPL 3 goes to the
 * TSS's RSP0 with a null SS; and the faults of delivery with their exact
 * error codes (IDT bit 1, EXT bit 0): #GP for a DPL 0 gate from CPL 3, for
 * a vector beyond the IDT limit and for a non-gate type; #NP for a
 * not-present gate; #DF when a #GP's own gate is not present; #TS for an
 * IST slot beyond the TSS limit; #SS for a non-canonical RSP0; #SS(0) for a
 * push with a non-canonical RSP, and #DF when that #SS cannot be pushed on
 * the same stack. */
#include "lib/user.h"

#define FL_IF 0x200ull

static uint8_t user_stack[8192] __attribute__((aligned(16)));
static uint8_t kernel_stack[8192] __attribute__((aligned(16)));
static uint8_t ist1_stack[4096] __attribute__((aligned(16)));
static uint8_t ist2_stack[4096] __attribute__((aligned(16)));
extern uint64_t gdt_tss[2];

/* What the probe handler saw. */
static volatile struct {
    uint64_t vector, pushed_rflags, rflags, frame, rsp, ss, cs, rip;
    uint16_t cur_ss;
    int count;
} seen;

static void on_probe(struct frame *f)
{
    uint64_t fl;
    uint16_t ss;
    __asm__ volatile("pushfq; pop %0; mov %%ss, %1" : "=r"(fl), "=r"(ss));
    seen.vector = f->vector;
    seen.pushed_rflags = f->rflags;
    seen.rflags = fl;
    seen.frame = (uint64_t)(uintptr_t)f;
    seen.rsp = f->rsp;
    seen.ss = f->ss;
    seen.cs = f->cs;
    seen.rip = f->rip;
    seen.cur_ss = ss;
    seen.count++;
}

#define INT(n) __asm__ volatile("int $" #n ::: "memory")

static void expect(const char *what, uint64_t vec, uint64_t err)
{
    if (last_fault.count != 1 || last_fault.vector != vec || last_fault.error != err)
        fail(3, "%s: %d faults, vector %lu error %lx; expected vector %lu error %lx", what,
             last_fault.count, last_fault.vector, last_fault.error, vec, err);
    gprintf("%s: vector %lu error %lx ok\n", what, vec, err);
}

/* Runs `insn` with fault_recover set just past it. */
#define TRY(insn) do { fault_reset(); \
    __asm__ volatile("lea 1f(%%rip), %%rax; mov %%rax, fault_recover(%%rip);" insn "; 1:" \
                     ::: "rax", "memory"); } while (0)

static void gate_types(void)
{
    idt_set_handler(0x40, on_probe);
    idt_set_handler(0x41, on_probe);
    idt_set_gate_type(0x41, 0xf);
    sti();
    INT(0x40);
    cli();
    if (seen.count != 1 || !(seen.pushed_rflags & FL_IF) || (seen.rflags & FL_IF))
        fail(4, "interrupt gate: pushed rflags %lx, in the handler %lx; IF must be cleared",
             seen.pushed_rflags, seen.rflags);
    sti();
    INT(0x41);
    cli();
    if (seen.count != 2 || !(seen.pushed_rflags & FL_IF) || !(seen.rflags & FL_IF))
        fail(4, "trap gate: pushed rflags %lx, in the handler %lx; IF must stay set",
             seen.pushed_rflags, seen.rflags);
    gprintf("interrupt gate clears IF, trap gate keeps it ok\n");
}

static void ist_gate(void)
{
    uint64_t top = (uint64_t)(uintptr_t)(ist2_stack + sizeof(ist2_stack));
    tss_set_stack(2, top - 8);          /* misaligned: the CPU aligns it down */
    idt_set_gate_opts(0x42, 2, 0, 1);
    idt_set_handler(0x42, on_probe);
    uint64_t rsp;
    seen.count = 0;
    __asm__ volatile("mov %%rsp, %0; int $0x42" : "=r"(rsp) :: "memory");
    uint64_t ss_slot = seen.frame + __builtin_offsetof(struct frame, ss);
    if (seen.count != 1 || ss_slot != top - 24 || seen.rsp != rsp || seen.ss != SEL_KDATA)
        fail(5, "IST2 at CPL 0: SS slot at %lx (expected %lx), pushed RSP %lx (was %lx), "
             "pushed SS %lx", ss_slot, top - 24, seen.rsp, rsp, seen.ss);
    /* SS in the handler is not checked: the SDM nulls it on a CPL change
     * only (emu keeps it); QEMU TCG nulls it on every IST switch. */
    gprintf("IST gate at CPL 0: aligned IST stack, old RSP and SS pushed ok (SS now %x)\n",
            seen.cur_ss);
}

/* The CPL 3 programs: each comes back with INT 0x80. */
extern char user_int43[], user_int44[], user_ud2[], user_int43_insn[];
__asm__(
    "    .text\n"
    "user_int43:\n"
    "user_int43_insn:\n"
    "    int $0x43\n"
    "    int $0x80\n"
    "user_int44:\n"                       /* a DPL 0 gate: #GP, resumed after it */
    "    lea 1f(%rip), %rax\n"
    "    mov %rax, fault_recover(%rip)\n"
    "    int $0x44\n"
    "1:  int $0x80\n"
    "user_ud2:\n"                         /* on_ud skips it */
    "    ud2\n"
    "    int $0x80\n");

static uint64_t user_top(void)
{
    return (uint64_t)(uintptr_t)(user_stack + sizeof(user_stack));
}

static uint64_t kernel_top(void)
{
    return (uint64_t)(uintptr_t)(kernel_stack + sizeof(kernel_stack));
}

static void from_user(void)
{
    idt_set_gate_opts(0x43, 0, 3, 1);
    idt_set_handler(0x43, on_probe);
    seen.count = 0;
    sysret_to((uint64_t)(uintptr_t)user_int43, 2, user_top(), 0);
    uint64_t ss_slot = seen.frame + __builtin_offsetof(struct frame, ss);
    if (seen.count != 1 || ss_slot != kernel_top() - 8 || seen.cs != (SEL_UCODE | 3) ||
        seen.ss != (SEL_UDATA | 3) || seen.rsp != user_top() || seen.cur_ss != 0)
        fail(6, "INT from CPL 3: SS slot %lx (RSP0 %lx), pushed CS %lx SS %lx RSP %lx, SS now %x",
             ss_slot, kernel_top(), seen.cs, seen.ss, seen.rsp, seen.cur_ss);
    gprintf("INT from CPL 3: RSP0 stack, user SS:RSP and CS pushed, null SS ok\n");

    fault_reset();
    sysret_to((uint64_t)(uintptr_t)user_int44, 2, user_top(), 0);
    if (last_fault.cs != (SEL_UCODE | 3))
        fail(6, "the #GP came from cs %lx, expected 33", last_fault.cs);
    expect("INT 0x44 from CPL 3 to a DPL 0 gate: #GP", 13, 0x44 * 8 + 2);
}

static void gate_faults(void)
{
    idt_set_gate_opts(0x45, 0, 0, 0);
    TRY("int $0x45");
    expect("INT 0x45 to a not-present gate: #NP", 11, 0x45 * 8 + 2);

    idt_set_gate_opts(6, 0, 0, 0);
    TRY("ud2");
    idt_set_gate_opts(6, 0, 0, 1);
    expect("#UD through a not-present gate: #NP", 11, 6 * 8 + 3);

    idt_set_gate_opts(0x46, 0, 0, 1);
    idt_set_gate_type(0x46, 0xc);        /* a call gate: not allowed in the IDT */
    TRY("int $0x46");
    expect("INT 0x46 to a call-gate type: #GP", 13, 0x46 * 8 + 2);

    struct { uint16_t limit; uint64_t base; } __attribute__((packed)) d;
    __asm__ volatile("sidt %0" : "=m"(d));
    uint16_t full = d.limit;
    d.limit = 0x40 * 16 - 1;
    __asm__ volatile("lidt %0" :: "m"(d) : "memory");
    TRY("int $0x50");
    d.limit = full;
    __asm__ volatile("lidt %0" :: "m"(d) : "memory");
    expect("INT 0x50 beyond the IDT limit: #GP", 13, 0x50 * 8 + 2);

    /* #GP whose gate is not present: the #NP that follows is contributory
     * too, so the CPU gives up with #DF(0). */
    idt_set_gate_opts(13, 0, 0, 0);
    TRY("movabs $0x8000000000000000, %%rax; mov (%%rax), %%rax");
    idt_set_gate_opts(13, 0, 0, 1);
    expect("#GP through a not-present gate: #DF", 8, 0);
}

/* The TSS limit cut below IST3: a gate with IST 3 cannot read its stack. */
static void set_tss_limit(uint32_t limit)
{
    gdt_tss[0] = (gdt_tss[0] & ~0xffffull & ~(0xfull << 48) & ~(1ull << 41)) |
                 (limit & 0xffff) | (uint64_t)((limit >> 16) & 0xf) << 48;
    __asm__ volatile("ltr %w0" :: "r"(SEL_TSS) : "memory");
}

static void tss_faults(void)
{
    set_tss_limit(0x33);                 /* RSP0-2 and IST1-2 inside, IST3 at 0x34 not */
    idt_set_gate_opts(0x47, 3, 0, 1);
    TRY("int $0x47");
    expect("INT 0x47 with IST3 beyond the TSS limit: #TS", 10, SEL_TSS);
    idt_set_gate_opts(6, 3, 0, 1);
    TRY("ud2");
    idt_set_gate_opts(6, 0, 0, 1);
    expect("#UD with IST3 beyond the TSS limit: #TS", 10, SEL_TSS | 1);
    set_tss_limit(103);
}

/* #SS handler on IST1: note it, repair RSP0, return to the instruction. */
static volatile struct { uint64_t error, cs, rip; int count; } ss_seen;
static void on_ss(struct frame *f)
{
    ss_seen.error = f->error;
    ss_seen.cs = f->cs;
    ss_seen.rip = f->rip;
    ss_seen.count++;
    tss_set_stack(0, kernel_top());
}

static void on_ud(struct frame *f)
{
    f->rip += 2;
}

static void rsp0_noncanonical(void)
{
    idt_set_gate_opts(12, 1, 0, 1);
    idt_set_handler(12, on_ss);
    tss_set_stack(0, 0x8000000000000000ull);
    seen.count = 0;
    sysret_to((uint64_t)(uintptr_t)user_int43, 2, user_top(), 0);
    if (ss_seen.count != 1 || ss_seen.error != 0 || ss_seen.cs != (SEL_UCODE | 3) ||
        ss_seen.rip != (uint64_t)(uintptr_t)user_int43_insn || seen.count != 1)
        fail(7, "INT 0x43 from CPL 3 with a non-canonical RSP0: %d #SS, error %lx cs %lx rip %lx;"
             " then %d INT 0x43; expected one #SS(0) at %p, then the INT", ss_seen.count,
             ss_seen.error, ss_seen.cs, ss_seen.rip, seen.count, (void *)user_int43_insn);
    gprintf("INT from CPL 3 with a non-canonical RSP0: #SS(0) on IST1, then the INT ok\n");

    idt_set_handler(6, on_ud);
    ss_seen.count = 0;
    tss_set_stack(0, 0x8000000000000000ull);
    sysret_to((uint64_t)(uintptr_t)user_ud2, 2, user_top(), 0);
    idt_set_handler(6, 0);
    if (ss_seen.count != 1 || ss_seen.error != 1 || ss_seen.rip != (uint64_t)(uintptr_t)user_ud2)
        fail(7, "#UD at CPL 3 with a non-canonical RSP0: %d #SS, error %lx rip %lx; expected "
             "one #SS(1) at %p", ss_seen.count, ss_seen.error, ss_seen.rip, (void *)user_ud2);
    gprintf("#UD at CPL 3 with a non-canonical RSP0: #SS(EXT) ok\n");
}

/* Stack faults: the handler puts back the RSP kept in RBX and resumes at
 * RCX (the faulting frame's RSP is the non-canonical one). */
static volatile struct { uint64_t vector, error, frame; int count; } stack_seen;
static void on_stack_fault(struct frame *f)
{
    stack_seen.vector = f->vector;
    stack_seen.error = f->error;
    stack_seen.frame = (uint64_t)(uintptr_t)f;
    stack_seen.count++;
    f->rsp = f->rbx;
    f->rip = f->rcx;
}

static void push_noncanonical(void)
{
    __asm__ volatile("mov %%rsp, %%rbx; lea 1f(%%rip), %%rcx; movabs $0x8000000000001000, %%rax;"
                     "mov %%rax, %%rsp; push %%rax; 1: mov %%rbx, %%rsp"
                     ::: "rax", "rbx", "rcx", "memory");
}

static void stack_faults(void)
{
    uint64_t ist2 = (uint64_t)(uintptr_t)(ist2_stack + sizeof(ist2_stack));
    tss_set_stack(2, ist2);
    idt_set_handler(12, on_stack_fault);
    idt_set_handler(8, on_stack_fault);

    idt_set_gate_opts(12, 2, 0, 1);      /* #SS on IST2: it can be delivered */
    stack_seen.count = 0;
    push_noncanonical();
    if (stack_seen.count != 1 || stack_seen.vector != 12 || stack_seen.error != 0 ||
        stack_seen.frame >= ist2 || stack_seen.frame < ist2 - sizeof(ist2_stack))
        fail(9, "PUSH with RSP 0x8000000000001000: %d faults, vector %lu error %lx frame %lx; "
             "expected #SS(0) on IST2", stack_seen.count, stack_seen.vector, stack_seen.error,
             stack_seen.frame);
    gprintf("PUSH with a non-canonical RSP: #SS(0) on the IST stack ok\n");

    idt_set_gate_opts(12, 0, 0, 1);      /* #SS on the same bad stack: #DF, on IST2 */
    idt_set_gate_opts(8, 2, 0, 1);
    stack_seen.count = 0;
    push_noncanonical();
    idt_set_gate_opts(8, 0, 0, 1);
    idt_set_handler(8, 0);
    idt_set_handler(12, 0);
    if (stack_seen.count != 1 || stack_seen.vector != 8 || stack_seen.error != 0)
        fail(9, "PUSH with a non-canonical RSP, #SS gate without IST: %d faults, vector %lu "
             "error %lx; expected #DF(0)", stack_seen.count, stack_seen.vector, stack_seen.error);
    gprintf("#SS that cannot be delivered on the same stack: #DF(0) ok\n");
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("idt: start\n");
    pic_init();
    idt_init();
    tss_install(kernel_top(), (uint64_t)(uintptr_t)(ist1_stack + sizeof(ist1_stack)));
    user_init();

    gate_types();
    ist_gate();
    from_user();
    gate_faults();
    tss_faults();
    stack_faults();
    rsp0_noncanonical();
    gprintf("idt: ok\n");
}
