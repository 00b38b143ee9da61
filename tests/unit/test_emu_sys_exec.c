/* Unit tests of the software CPU's system instructions, run through
 * emu_execute on hand-assembled code in the flat test setup: mode switches
 * (real -> protected -> long), IRETQ to CPL 3, INT n round trips,
 * SYSCALL/SYSRET, POPF/CLI privilege rules and the TSS I/O bitmap. */
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "engine/emu/cpu.h"
#include "engine/emu/emu.h"
#include "engine/emu/system.h"

#define RAM_SIZE  (1u << 20)
#define GDT       0x1000
#define IDT       0x2000
#define TSS       0x3000
#define STACK0    0x8000
#define USTACK    0x7000
#define CODE      0x10000
#define KCODE     0x30000
#define PML4      0x40000

#define SEL_CS64   0x08
#define SEL_DS     0x10
#define SEL_UCS32  0x18
#define SEL_UDS    0x20
#define SEL_UCS64  0x28
#define SEL_TSS    0x30
#define SEL_CS32   0x40

static uint8_t *ram;
static struct emu_cpu *cpu;

static void put64(uint64_t pa, uint64_t v) { memcpy(ram + pa, &v, 8); }
static void put16(uint64_t pa, uint16_t v) { memcpy(ram + pa, &v, 2); }
static void code(uint64_t pa, const void *bytes, size_t n) { memcpy(ram + pa, bytes, n); }

static uint64_t desc(uint32_t base, uint32_t limit, unsigned type, unsigned s, unsigned dpl,
                     unsigned l, unsigned db)
{
    return (limit & 0xffffULL) | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)type << 40) |
           ((uint64_t)s << 44) | ((uint64_t)dpl << 45) | (1ULL << 47) |
           ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)l << 53) | ((uint64_t)db << 54) |
           ((uint64_t)(s ? 1 : 0) << 55) | ((uint64_t)(base >> 24) << 56);
}

static void gate64(int vec, uint64_t off, unsigned dpl)
{
    uint64_t lo = (off & 0xffff) | ((uint64_t)SEL_CS64 << 16) | (0xeULL << 40) |
                  ((uint64_t)dpl << 45) | (1ULL << 47) | (((off >> 16) & 0xffff) << 48);
    put64(IDT + vec * 16, lo);
    put64(IDT + vec * 16 + 8, off >> 32);
}

static void setup_tables(void)
{
    put64(GDT + SEL_CS64, desc(0, 0xfffff, 0xb, 1, 0, 1, 0));
    put64(GDT + SEL_DS, desc(0, 0xfffff, 0x3, 1, 0, 0, 1));
    put64(GDT + SEL_UCS32, desc(0, 0xfffff, 0xb, 1, 3, 0, 1));
    put64(GDT + SEL_UDS, desc(0, 0xfffff, 0x3, 1, 3, 0, 1));
    put64(GDT + SEL_UCS64, desc(0, 0xfffff, 0xb, 1, 3, 1, 0));
    put64(GDT + SEL_TSS, desc(TSS, 0x67 + 0x2000 / 8, 0x9, 0, 0, 0, 0));
    put64(GDT + SEL_CS32, desc(0, 0xfffff, 0xb, 1, 0, 0, 1));
    put64(TSS + 4, STACK0);
}

static void setup64(void)
{
    memset(ram, 0, RAM_SIZE);
    emu_cpu_init_flat(cpu, ram, RAM_SIZE, 0);
    setup_tables();
    cpu->gdtr.base = GDT;
    cpu->gdtr.limit = 0x7f;
    cpu->idtr.base = IDT;
    cpu->idtr.limit = 256 * 16 - 1;
    cpu->tr.selector = SEL_TSS;
    cpu->tr.base = TSS;
    cpu->tr.limit = 0x67 + 0x2000 / 8;
    cpu->tr.type = DESC_TSS_BUSY;
    cpu->tr.present = 1;
    cpu->seg[S_CS].selector = SEL_CS64;
    cpu->seg[S_SS].selector = SEL_DS;
    cpu->gpr[R_RSP] = STACK0 - 0x100;
    cpu->rip = CODE;
    cpu->exc_to_caller = true;
    emu_update_mode(cpu);
}

static void to_user64(void)
{
    cpu->seg[S_CS].selector = SEL_UCS64 | 3;
    cpu->seg[S_CS].dpl = 3;
    cpu->seg[S_SS].selector = SEL_UDS | 3;
    cpu->seg[S_SS].dpl = 3;
    cpu->cpl = 3;
    cpu->gpr[R_RSP] = USTACK;
}

/* Runs n instructions; returns the exception vector that stopped it, or -1. */
static int run(uint64_t n)
{
    cpu->exc.vector = -1;
    emu_execute(cpu, n);
    return cpu->exc.vector;
}

static void test_iretq_to_user(void)
{
    setup64();
    uint64_t sp = cpu->gpr[R_RSP];
    put64(sp + 0, CODE + 0x100);
    put64(sp + 8, SEL_UCS64 | 3);
    put64(sp + 16, RFLAGS_FIXED | RFLAGS_IF);
    put64(sp + 24, USTACK);
    put64(sp + 32, SEL_UDS | 3);
    code(CODE, "\x48\xcf", 2);                      /* iretq */
    CHECK_EQ(run(1), -1);
    CHECK_EQ(cpu->cpl, 3);
    CHECK_EQ(cpu->rip, CODE + 0x100);
    CHECK_EQ(cpu->gpr[R_RSP], USTACK);
    CHECK_EQ(cpu->seg[S_SS].selector, SEL_UDS | 3);
    CHECK_EQ(cpu->mode, MODE_LONG64);
    CHECK(emu_get_rflags(cpu) & RFLAGS_IF);
}

static void test_iretq_to_compat(void)
{
    setup64();
    uint64_t sp = cpu->gpr[R_RSP];
    put64(sp + 0, 0x1234);
    put64(sp + 8, SEL_UCS32 | 3);
    put64(sp + 16, RFLAGS_FIXED);
    put64(sp + 24, USTACK);
    put64(sp + 32, SEL_UDS | 3);
    code(CODE, "\x48\xcf", 2);
    CHECK_EQ(run(1), -1);
    CHECK_EQ(cpu->mode, MODE_COMPAT);
    CHECK_EQ(cpu->rip, 0x1234);
}

static void test_int_iret_round_trip(void)
{
    setup64();
    to_user64();
    cpu->exc_to_caller = false;                     /* INT n enters the IDT only then */
    gate64(0x80, KCODE, 3);
    code(CODE, "\xcd\x80", 2);                      /* int 0x80 */
    code(KCODE, "\x48\xcf", 2);                     /* iretq */
    CHECK_EQ(run(1), -1);
    CHECK_EQ(cpu->cpl, 0);
    CHECK_EQ(cpu->rip, KCODE);
    CHECK_EQ(cpu->gpr[R_RSP], STACK0 - 40);
    CHECK_EQ(run(1), -1);
    CHECK_EQ(cpu->cpl, 3);
    CHECK_EQ(cpu->rip, CODE + 2);
    CHECK_EQ(cpu->gpr[R_RSP], USTACK);
}

/* With exc_to_caller the caller takes INT n as it takes faults: after the
 * gate's DPL check, with RIP after the instruction and no state changed. */
static void test_int_to_caller(void)
{
    setup64();
    to_user64();
    gate64(0x80, KCODE, 3);
    gate64(0x81, KCODE, 0);
    gate64(EXC_BP, KCODE, 3);
    code(CODE, "\xcd\x80\xcc\xcd\x81", 5);      /* int 0x80; int3; int 0x81 */
    CHECK_EQ(run(1), 0x80);
    CHECK_EQ(cpu->exc.errcode, EMU_NO_ERRCODE);
    CHECK_EQ(cpu->rip, CODE + 2);
    CHECK_EQ(cpu->cpl, 3);
    CHECK_EQ(cpu->gpr[R_RSP], USTACK);
    CHECK_EQ(run(1), EXC_BP);
    CHECK_EQ(cpu->rip, CODE + 3);
    CHECK_EQ(run(1), EXC_GP);                       /* DPL 0 gate from CPL 3 */
    CHECK_EQ(cpu->exc.errcode, 0x81 * 8 + 2);
    CHECK_EQ(cpu->rip, CODE + 3);
    CHECK_EQ(cpu->gpr[R_RSP], USTACK);
}

static void test_int_fault_delivery(void)
{
    setup64();
    cpu->exc_to_caller = false;
    for (int v = 0; v < 32; v++)
        gate64(v, KCODE + 0x10 * (uint64_t)v, 0);
    code(CODE, "\xcc", 1);                          /* int3 */
    CHECK_EQ(run(1), -1);
    CHECK_EQ(cpu->rip, KCODE + 0x10 * EXC_BP);
    CHECK_EQ(*(uint64_t *)(ram + cpu->gpr[R_RSP]), CODE + 1);
    /* A #UD (here: MOV to CS) is delivered with the faulting RIP. */
    setup64();
    cpu->exc_to_caller = false;
    for (int v = 0; v < 32; v++)
        gate64(v, KCODE + 0x10 * (uint64_t)v, 0);
    code(CODE, "\x8e\xc8", 2);                      /* mov cs, ax */
    ram[KCODE + 0x10 * EXC_UD] = 0xf4;              /* the handler halts */
    CHECK_EQ(run(1), -1);
    CHECK_EQ(cpu->state, EMU_HALTED);
    CHECK_EQ(cpu->rip, KCODE + 0x10 * EXC_UD + 1);
    CHECK_EQ(*(uint64_t *)(ram + cpu->gpr[R_RSP]), CODE);
    CHECK_EQ(cpu->exc.vector, -1);
}

static void test_syscall_sysret(void)
{
    setup64();
    to_user64();
    cpu->msr_star = (0x18ULL << 48) | ((uint64_t)SEL_CS64 << 32);
    cpu->msr_lstar = KCODE;
    cpu->msr_sfmask = RFLAGS_IF;
    emu_set_rflags(cpu, RFLAGS_FIXED | RFLAGS_IF);
    code(CODE, "\x0f\x05", 2);                      /* syscall */
    code(KCODE, "\x48\x0f\x07", 3);                 /* sysretq */
    CHECK_EQ(run(1), -1);
    CHECK_EQ(cpu->cpl, 0);
    CHECK_EQ(cpu->rip, KCODE);
    CHECK_EQ(cpu->gpr[R_RCX], CODE + 2);
    CHECK(cpu->gpr[R_R11] & RFLAGS_IF);
    CHECK(!(emu_get_rflags(cpu) & RFLAGS_IF));
    CHECK_EQ(cpu->seg[S_CS].selector, SEL_CS64);
    CHECK_EQ(cpu->seg[S_SS].selector, SEL_DS);
    CHECK_EQ(run(1), -1);
    CHECK_EQ(cpu->cpl, 3);
    CHECK_EQ(cpu->rip, CODE + 2);
    CHECK_EQ(cpu->seg[S_CS].selector, SEL_UCS64 | 3);
    CHECK_EQ(cpu->seg[S_SS].selector, SEL_UDS | 3);
    CHECK(emu_get_rflags(cpu) & RFLAGS_IF);
    CHECK_EQ(cpu->mode, MODE_LONG64);
}

static void test_user_privilege(void)
{
    setup64();
    to_user64();
    emu_set_rflags(cpu, RFLAGS_FIXED | RFLAGS_IF);
    code(CODE, "\x6a\x00\x9d", 3);                  /* push 0; popfq */
    CHECK_EQ(run(2), -1);
    CHECK(emu_get_rflags(cpu) & RFLAGS_IF);          /* IOPL 0: IF unchanged */
    code(CODE + 3, "\xfa", 1);                      /* cli */
    CHECK_EQ(run(1), EXC_GP);
    code(CODE + 3, "\xf4", 1);                      /* hlt */
    CHECK_EQ(run(1), EXC_GP);
    code(CODE + 3, "\x0f\x20\xc0", 3);              /* mov rax, cr0 */
    CHECK_EQ(run(1), EXC_GP);
    code(CODE + 3, "\x0f\x01\xf8", 3);              /* swapgs */
    CHECK_EQ(run(1), EXC_GP);
}

static void test_io_bitmap(void)
{
    setup64();
    to_user64();
    put16(TSS + 0x66, 0x68);                        /* I/O map right after the TSS */
    ram[TSS + 0x68 + 0x80 / 8] = 0x02;              /* port 0x81 denied, 0x80 allowed */
    code(CODE, "\xe6\x80\xe6\x81", 4);              /* out 0x80, al; out 0x81, al */
    CHECK_EQ(run(1), -1);
    CHECK_EQ(cpu->rip, CODE + 2);
    CHECK_EQ(run(1), EXC_GP);
    CHECK_EQ(cpu->rip, CODE + 2);
    /* IN from an unclaimed port without a machine reads all ones. */
    setup64();
    cpu->gpr[R_RAX] = 0;
    code(CODE, "\xe4\x70", 2);                      /* in al, 0x70 */
    CHECK_EQ(run(1), -1);
    CHECK_EQ(cpu->gpr[R_RAX], 0xff);
}

static void test_retf_to_user(void)
{
    setup64();
    uint64_t sp = cpu->gpr[R_RSP];
    put64(sp + 0, CODE + 0x100);
    put64(sp + 8, SEL_UCS64 | 3);
    put64(sp + 16, USTACK);
    put64(sp + 24, SEL_UDS | 3);
    code(CODE, "\x48\xcb", 2);                      /* retfq */
    CHECK_EQ(run(1), -1);
    CHECK_EQ(cpu->cpl, 3);
    CHECK_EQ(cpu->rip, CODE + 0x100);
    CHECK_EQ(cpu->gpr[R_RSP], USTACK);
    CHECK_EQ(cpu->seg[S_SS].selector, SEL_UDS | 3);
    /* RETF to a more privileged level is #GP(selector). */
    sp = cpu->gpr[R_RSP];
    put64(sp + 0, CODE);
    put64(sp + 8, SEL_CS64);
    code(CODE + 0x100, "\x48\xcb", 2);
    CHECK_EQ(run(1), EXC_GP);
    CHECK_EQ(cpu->exc.errcode, SEL_CS64);
}

static void test_ltr_sgdt(void)
{
    setup64();
    cpu->gpr[R_RAX] = SEL_TSS;
    code(CODE, "\x0f\x00\xd8", 3);                  /* ltr ax */
    code(CODE + 3, "\x0f\x01\x04\x25\x00\x50\x00\x00", 8);   /* sgdt [0x5000] */
    CHECK_EQ(run(2), -1);
    CHECK_EQ(cpu->tr.type, DESC_TSS_BUSY);
    CHECK_EQ((ram[GDT + SEL_TSS + 5] & 0xf), DESC_TSS_BUSY);   /* busy in the GDT too */
    CHECK_EQ(*(uint16_t *)(ram + 0x5000), 0x7f);
    CHECK_EQ(*(uint64_t *)(ram + 0x5002), GDT);
    /* A busy TSS cannot be loaded again. */
    code(CODE + 11, "\x0f\x00\xd8", 3);
    CHECK_EQ(run(1), EXC_GP);
    CHECK_EQ(cpu->exc.errcode, SEL_TSS);
}

/* A second NMI waits until the first one's handler returns with IRET. */
static void test_nmi_blocking(void)
{
    setup64();
    gate64(EXC_NMI, KCODE, 0);
    code(KCODE, "\x48\xcf", 2);                     /* iretq */
    code(CODE, "\x90\x90", 2);
    emu_post_events(cpu, EMU_EV_NMI);
    CHECK(emu_check_interrupts(cpu));
    CHECK_EQ(cpu->rip, KCODE);
    CHECK(cpu->nmi_blocked);
    emu_post_events(cpu, EMU_EV_NMI);
    CHECK(!emu_check_interrupts(cpu));
    CHECK_EQ(run(1), -1);                           /* the handler's IRETQ */
    CHECK_EQ(cpu->rip, CODE);
    CHECK(!cpu->nmi_blocked);
    CHECK(emu_check_interrupts(cpu));
    CHECK_EQ(cpu->rip, KCODE);
    /* Maskable interrupts do not come in with IF = 0 and no LAPIC. */
    emu_set_rflags(cpu, RFLAGS_FIXED);
    CHECK(!emu_check_interrupts(cpu));
}

/* REP OUTSB/INSB run in chunks and restart with the registers updated. */
static void test_rep_string_io(void)
{
    setup64();
    cpu->gpr[R_RCX] = 5000;
    cpu->gpr[R_RSI] = 0x20000;
    cpu->gpr[R_RDX] = 0x80;
    code(CODE, "\xf3\x6e", 2);                      /* rep outsb */
    CHECK_EQ(run(1), -1);
    CHECK_EQ(cpu->gpr[R_RCX], 5000 - 4096);
    CHECK_EQ(cpu->gpr[R_RSI], 0x20000 + 4096);
    CHECK_EQ(cpu->rip, CODE);
    CHECK_EQ(run(1), -1);
    CHECK_EQ(cpu->gpr[R_RCX], 0);
    CHECK_EQ(cpu->gpr[R_RSI], 0x20000 + 5000);
    CHECK_EQ(cpu->rip, CODE + 2);
    /* INSB without a machine stores all ones, backwards with DF = 1. */
    cpu->gpr[R_RCX] = 3;
    cpu->gpr[R_RDI] = 0x20002;
    emu_set_rflags(cpu, RFLAGS_FIXED | RFLAGS_DF);
    code(CODE + 2, "\xf3\x6c", 2);                  /* rep insb */
    CHECK_EQ(run(1), -1);
    CHECK_EQ(cpu->gpr[R_RDI], 0x1ffff);
    CHECK_EQ(ram[0x20000], 0xff);
    CHECK_EQ(ram[0x20002], 0xff);
    CHECK_EQ(ram[0x1ffff], 0);
}

/* Real mode -> 32-bit protected mode -> long mode, as a boot loader and an
 * AP trampoline do. */
static void test_real_to_long(void)
{
    memset(ram, 0, RAM_SIZE);
    emu_cpu_init_flat(cpu, ram, RAM_SIZE, 0);
    emu_cpu_reset(cpu);
    cpu->exc_to_caller = true;
    setup_tables();
    /* Real-mode code at 0x0700:0x0100 (linear 0x7100). */
    cpu->seg[S_CS].selector = 0x0700;
    cpu->seg[S_CS].base = 0x7000;
    cpu->seg[S_DS] = cpu->seg[S_CS];
    cpu->seg[S_DS].type = 3;
    cpu->rip = 0x100;
    put16(0x7000 + 0x200, 0x7f);                     /* GDTR at DS:0x200 */
    put16(0x7000 + 0x202, GDT & 0xffff);
    put16(0x7000 + 0x204, GDT >> 16);
    static const uint8_t real16[] = {
        0x0f, 0x01, 0x16, 0x00, 0x02,               /* lgdt [0x200] */
        0x0f, 0x20, 0xc0,                           /* mov eax, cr0 */
        0x0c, 0x01,                                 /* or al, 1 */
        0x0f, 0x22, 0xc0,                           /* mov cr0, eax */
        0x66, 0xea, 0x00, 0x80, 0x00, 0x00, SEL_CS32, 0x00,   /* jmp dword 0x40:0x8000 */
    };
    code(0x7100, real16, sizeof(real16));
    static const uint8_t prot32[] = {
        0xb8, SEL_DS, 0, 0, 0,                      /* mov eax, 0x10 */
        0x8e, 0xd8,                                 /* mov ds, eax */
        0x8e, 0xd0,                                 /* mov ss, eax */
        0x0f, 0x20, 0xe0,                           /* mov eax, cr4 */
        0x83, 0xc8, 0x20,                           /* or eax, 0x20 (PAE) */
        0x0f, 0x22, 0xe0,                           /* mov cr4, eax */
        0xb8, 0x00, 0x00, 0x04, 0x00,               /* mov eax, PML4 */
        0x0f, 0x22, 0xd8,                           /* mov cr3, eax */
        0xb9, 0x80, 0x00, 0x00, 0xc0,               /* mov ecx, EFER */
        0x0f, 0x32,                                 /* rdmsr */
        0x0d, 0x00, 0x01, 0x00, 0x00,               /* or eax, LME */
        0x0f, 0x30,                                 /* wrmsr */
        0x0f, 0x20, 0xc0,                           /* mov eax, cr0 */
        0x0d, 0x00, 0x00, 0x00, 0x80,               /* or eax, PG */
        0x0f, 0x22, 0xc0,                           /* mov cr0, eax */
        0xea, 0x00, 0x90, 0x00, 0x00, SEL_CS64, 0x00,   /* jmp 0x08:0x9000 */
    };
    code(0x8000, prot32, sizeof(prot32));
    code(0x9000, "\x48\xc7\xc0\x2a\x00\x00\x00\xf4", 8);   /* mov rax, 42; hlt */
    put64(PML4, (PML4 + 0x1000) | 3);
    put64(PML4 + 0x1000, (PML4 + 0x2000) | 3);
    put64(PML4 + 0x2000, 0x83);                     /* 2 MiB identity page */

    CHECK_EQ(cpu->mode, MODE_REAL);
    CHECK_EQ(run(5), -1);
    CHECK_EQ(cpu->gdtr.base, GDT);
    CHECK_EQ(cpu->gdtr.limit, 0x7f);
    CHECK_EQ(cpu->mode, MODE_PROT32);
    CHECK_EQ(cpu->rip, 0x8000);
    CHECK_EQ(run(100), -1);
    CHECK_EQ(cpu->state, EMU_HALTED);
    CHECK_EQ(cpu->mode, MODE_LONG64);
    CHECK(cpu->efer & EFER_LMA);
    CHECK_EQ(cpu->gpr[R_RAX], 42);
    CHECK_EQ(cpu->rip, 0x9008);
}

int main(void)
{
    ram = aligned_alloc(4096, RAM_SIZE);
    void *p = NULL;
    if (!ram || posix_memalign(&p, 64, sizeof(struct emu_cpu)))
        return 1;
    cpu = p;
    memset(cpu, 0, sizeof(*cpu));
    emu_ops_init();
    RUN_TEST(test_iretq_to_user);
    RUN_TEST(test_iretq_to_compat);
    RUN_TEST(test_int_iret_round_trip);
    RUN_TEST(test_int_to_caller);
    RUN_TEST(test_int_fault_delivery);
    RUN_TEST(test_syscall_sysret);
    RUN_TEST(test_user_privilege);
    RUN_TEST(test_io_bitmap);
    RUN_TEST(test_retf_to_user);
    RUN_TEST(test_ltr_sgdt);
    RUN_TEST(test_nmi_blocking);
    RUN_TEST(test_rep_string_io);
    RUN_TEST(test_real_to_long);
    return CHECK_DONE();
}
