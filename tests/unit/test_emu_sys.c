/* Unit tests of the software CPU's system level in the flat test setup:
 * exception/interrupt delivery (stack frames, error codes, IST, privilege
 * changes, #DF and triple fault, real mode), descriptor loads and the
 * system instructions run through emu_execute. */
#include <setjmp.h>
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
#define STACK0    0x8000     /* RSP0 */
#define IST1      0x9000
#define USTACK    0x7000
#define CODE      0x10000

/* GDT selectors of the test layout. */
#define SEL_CS64   0x08
#define SEL_DS     0x10
#define SEL_UCS32  0x18
#define SEL_UDS    0x20
#define SEL_UCS64  0x28
#define SEL_TSS    0x30       /* 16 bytes in long mode */
#define SEL_CS32   0x40
#define SEL_DS_NP  0x48
#define SEL_DS_DPL0 0x50
#define SEL_CODE_XO 0x58      /* execute-only code */
#define SEL_TSS32  0x60

static uint8_t *ram;
static struct emu_cpu *cpu;

static void put64(uint64_t pa, uint64_t v) { memcpy(ram + pa, &v, 8); }
static void put32(uint64_t pa, uint32_t v) { memcpy(ram + pa, &v, 4); }
static void put16(uint64_t pa, uint16_t v) { memcpy(ram + pa, &v, 2); }
static uint64_t get64(uint64_t pa) { uint64_t v; memcpy(&v, ram + pa, 8); return v; }
static uint32_t get32(uint64_t pa) { uint32_t v; memcpy(&v, ram + pa, 4); return v; }
static uint16_t get16(uint64_t pa) { uint16_t v; memcpy(&v, ram + pa, 2); return v; }

static uint64_t desc(uint32_t base, uint32_t limit, unsigned type, unsigned s, unsigned dpl,
                     unsigned p, unsigned l, unsigned db, unsigned g)
{
    return (limit & 0xffffULL) | ((uint64_t)(base & 0xffffff) << 16) | ((uint64_t)type << 40) |
           ((uint64_t)s << 44) | ((uint64_t)dpl << 45) | ((uint64_t)p << 47) |
           ((uint64_t)((limit >> 16) & 0xf) << 48) | ((uint64_t)l << 53) | ((uint64_t)db << 54) |
           ((uint64_t)g << 55) | ((uint64_t)(base >> 24) << 56);
}

static void gate64(int vec, uint64_t off, uint16_t sel, unsigned type, unsigned dpl, unsigned ist)
{
    uint64_t lo = (off & 0xffff) | ((uint64_t)sel << 16) | ((uint64_t)ist << 32) |
                  ((uint64_t)type << 40) | ((uint64_t)dpl << 45) | (1ULL << 47) |
                  (((off >> 16) & 0xffff) << 48);
    put64(IDT + vec * 16, lo);
    put64(IDT + vec * 16 + 8, off >> 32);
}

static void gate32(int vec, uint32_t off, uint16_t sel, unsigned type, unsigned dpl)
{
    uint64_t g = (off & 0xffff) | ((uint64_t)sel << 16) | ((uint64_t)type << 40) |
                 ((uint64_t)dpl << 45) | (1ULL << 47) | ((uint64_t)(off >> 16) << 48);
    put64(IDT + vec * 8, g);
}

/* A 64-bit kernel at CPL 0 with GDT, IDT and TSS in place. */
static void setup64(void)
{
    memset(ram, 0, RAM_SIZE);
    emu_cpu_init_flat(cpu, ram, RAM_SIZE, 0);
    put64(GDT + SEL_CS64, desc(0, 0xfffff, 0xb, 1, 0, 1, 1, 0, 1));
    put64(GDT + SEL_DS, desc(0, 0xfffff, 0x3, 1, 0, 1, 0, 1, 1));
    put64(GDT + SEL_UCS32, desc(0, 0xfffff, 0xb, 1, 3, 1, 0, 1, 1));
    put64(GDT + SEL_UDS, desc(0, 0xfffff, 0x3, 1, 3, 1, 0, 1, 1));
    put64(GDT + SEL_UCS64, desc(0, 0xfffff, 0xb, 1, 3, 1, 1, 0, 1));
    put64(GDT + SEL_TSS, desc(TSS, 0x67, 0x9, 0, 0, 1, 0, 0, 0));
    put64(GDT + SEL_TSS + 8, 0);
    put64(GDT + SEL_CS32, desc(0, 0xfffff, 0xb, 1, 0, 1, 0, 1, 1));
    put64(GDT + SEL_DS_NP, desc(0, 0xfffff, 0x3, 1, 3, 0, 0, 1, 1));
    put64(GDT + SEL_DS_DPL0, desc(0, 0xfffff, 0x3, 1, 0, 1, 0, 1, 1));
    put64(GDT + SEL_CODE_XO, desc(0, 0xfffff, 0x9, 1, 3, 1, 0, 1, 1));
    cpu->gdtr.base = GDT;
    cpu->gdtr.limit = 0x7f;
    cpu->idtr.base = IDT;
    cpu->idtr.limit = 256 * 16 - 1;
    put64(TSS + 4, STACK0);            /* RSP0 */
    put64(TSS + 0x24, IST1);           /* IST1 */
    cpu->tr.selector = SEL_TSS;
    cpu->tr.base = TSS;
    cpu->tr.limit = 0x67;
    cpu->tr.type = DESC_TSS_BUSY;
    cpu->tr.present = 1;
    cpu->tr.unusable = 0;
    cpu->seg[S_CS].selector = SEL_CS64;
    cpu->seg[S_SS].selector = SEL_DS;
    cpu->gpr[R_RSP] = 0x6008;          /* unaligned on purpose: delivery aligns to 16 */
    cpu->rip = cpu->next_rip = CODE;
    emu_set_rflags(cpu, RFLAGS_FIXED | RFLAGS_IF);
    for (int v = 0; v < 32; v++)
        gate64(v, 0x20000 + v * 0x10, SEL_CS64, DESC_INT_GATE, 0, 0);
    emu_update_mode(cpu);
}

/* Switches the test CPU to CPL 3 64-bit user code. */
static void to_user64(void)
{
    cpu->seg[S_CS].selector = SEL_UCS64 | 3;
    cpu->seg[S_CS].dpl = 3;
    cpu->seg[S_SS].selector = SEL_UDS | 3;
    cpu->seg[S_SS].dpl = 3;
    cpu->cpl = 3;
    cpu->gpr[R_RSP] = USTACK;
    emu_update_mode(cpu);
}

static void test_long_fault_same_cpl(void)
{
    setup64();
    uint64_t rsp0 = cpu->gpr[R_RSP];
    emu_deliver_exception(cpu, EXC_GP, 0x1234, false, CODE + 3);
    uint64_t sp = cpu->gpr[R_RSP];
    CHECK_EQ(sp, (rsp0 & ~0xfULL) - 48);
    CHECK_EQ(get64(sp + 0), 0x1234);               /* error code */
    CHECK_EQ(get64(sp + 8), CODE);                 /* faulting RIP, not the next one */
    CHECK_EQ(get64(sp + 16), SEL_CS64);
    CHECK(get64(sp + 24) & RFLAGS_IF);
    CHECK_EQ(get64(sp + 32), rsp0);
    CHECK_EQ(get64(sp + 40), SEL_DS);
    CHECK_EQ(cpu->rip, 0x20000 + EXC_GP * 0x10);
    CHECK(!(emu_get_rflags(cpu) & RFLAGS_IF));      /* interrupt gate */
    CHECK_EQ(cpu->exc.vector, -1);
}

static void test_long_no_errcode_trap_gate(void)
{
    setup64();
    gate64(EXC_BP, 0x30000, SEL_CS64, DESC_TRAP_GATE, 3, 0);
    uint64_t rsp0 = cpu->gpr[R_RSP];
    emu_deliver_exception(cpu, EXC_BP, EMU_NO_ERRCODE, true, CODE + 1);
    uint64_t sp = cpu->gpr[R_RSP];
    CHECK_EQ(sp, (rsp0 & ~0xfULL) - 40);
    CHECK_EQ(get64(sp), CODE + 1);                 /* INT3 pushes the next RIP */
    CHECK(emu_get_rflags(cpu) & RFLAGS_IF);         /* trap gate keeps IF */
    CHECK_EQ(cpu->rip, 0x30000);
}

static void test_long_pf_cr2(void)
{
    setup64();
    cpu->exc.cr2 = 0xdead000;
    emu_deliver_exception(cpu, EXC_PF, 6, false, CODE);
    CHECK_EQ(cpu->cr2, 0xdead000);
    CHECK_EQ(get64(cpu->gpr[R_RSP]), 6);
    CHECK_EQ(cpu->rip, 0x20000 + EXC_PF * 0x10);
}

static void test_long_cpl3_to_cpl0(void)
{
    setup64();
    to_user64();
    gate64(0x80, 0x40000, SEL_CS64, DESC_INT_GATE, 3, 0);
    emu_deliver_exception(cpu, 0x80, EMU_NO_ERRCODE, true, CODE + 2);
    uint64_t sp = cpu->gpr[R_RSP];
    CHECK_EQ(sp, STACK0 - 40);
    CHECK_EQ(get64(sp + 0), CODE + 2);
    CHECK_EQ(get64(sp + 8), SEL_UCS64 | 3);
    CHECK_EQ(get64(sp + 24), USTACK);
    CHECK_EQ(get64(sp + 32), SEL_UDS | 3);
    CHECK_EQ(cpu->cpl, 0);
    CHECK_EQ(cpu->seg[S_CS].selector, SEL_CS64);
    CHECK_EQ(cpu->seg[S_SS].selector, 0);           /* null SS, RPL 0 */
    CHECK_EQ(cpu->mode, MODE_LONG64);
    CHECK_EQ(cpu->rip, 0x40000);
}

static void test_long_ist(void)
{
    setup64();
    to_user64();
    gate64(EXC_NMI, 0x50000, SEL_CS64, DESC_INT_GATE, 0, 1);
    emu_deliver_exception(cpu, EXC_NMI, EMU_NO_ERRCODE, false, CODE);
    CHECK_EQ(cpu->gpr[R_RSP], IST1 - 40);
    CHECK_EQ(get64(IST1 - 40), CODE);
    /* IST is used at the same privilege too. */
    setup64();
    gate64(EXC_DF, 0x50000, SEL_CS64, DESC_INT_GATE, 0, 1);
    emu_deliver_exception(cpu, EXC_DF, 0, false, CODE);
    CHECK_EQ(cpu->gpr[R_RSP], IST1 - 48);
}

static void test_long_soft_int_dpl(void)
{
    setup64();
    to_user64();
    /* Vector 0x81 has a DPL 0 gate: INT 0x81 from CPL 3 is #GP(0x81*8+2). */
    gate64(0x81, 0x40000, SEL_CS64, DESC_INT_GATE, 0, 0);
    emu_deliver_exception(cpu, 0x81, EMU_NO_ERRCODE, true, CODE + 2);
    CHECK_EQ(cpu->rip, 0x20000 + EXC_GP * 0x10);
    CHECK_EQ(get64(cpu->gpr[R_RSP]), 0x81 * 8 + 2);
    CHECK_EQ(get64(cpu->gpr[R_RSP] + 8), CODE);     /* the INT itself faults */
}

static void test_double_fault(void)
{
    setup64();
    /* #GP's gate is not present: #NP during #GP delivery is #DF. */
    put64(IDT + EXC_GP * 16, get64(IDT + EXC_GP * 16) & ~(1ULL << 47));
    emu_deliver_exception(cpu, EXC_GP, 0, false, CODE);
    CHECK_EQ(cpu->rip, 0x20000 + EXC_DF * 0x10);
    CHECK_EQ(get64(cpu->gpr[R_RSP]), 0);
}

static void test_triple_fault(void)
{
    setup64();
    cpu->idtr.limit = 0;
    emu_deliver_exception(cpu, EXC_UD, EMU_NO_ERRCODE, false, CODE);
    CHECK_EQ(cpu->exc.vector, EMU_EXC_TRIPLE);
    CHECK_EQ(cpu->state, EMU_HALTED);
    CHECK_EQ(cpu->rip, CODE);
}

static void test_pf_on_stack_is_df(void)
{
    setup64();
    cpu->gpr[R_RSP] = RAM_SIZE + 0x100000;           /* outside RAM: #PF in the flat setup */
    gate64(EXC_DF, 0x50000, SEL_CS64, DESC_INT_GATE, 0, 1);
    cpu->exc.cr2 = 0x1000;
    emu_deliver_exception(cpu, EXC_PF, 2, false, CODE);
    CHECK_EQ(cpu->rip, 0x50000);                     /* #PF during #PF delivery: #DF on IST1 */
    CHECK_EQ(cpu->gpr[R_RSP], IST1 - 48);
}

static void test_real_mode_ivt(void)
{
    memset(ram, 0, RAM_SIZE);
    emu_cpu_init_flat(cpu, ram, RAM_SIZE, 0);
    emu_cpu_reset(cpu);
    CHECK_EQ(cpu->mode, MODE_REAL);
    CHECK_EQ(cpu->seg[S_CS].base, 0xffff0000);
    CHECK_EQ(cpu->rip, 0xfff0);
    cpu->idtr.base = 0;
    cpu->idtr.limit = 0x3ff;
    put16(0x21 * 4, 0x1234);
    put16(0x21 * 4 + 2, 0x2000);
    cpu->seg[S_CS].selector = 0x1000;
    cpu->seg[S_CS].base = 0x10000;
    cpu->seg[S_SS].selector = 0x0700;
    cpu->seg[S_SS].base = 0x7000;
    cpu->gpr[R_RSP] = 0x100;
    cpu->rip = 0x50;
    emu_set_rflags(cpu, RFLAGS_FIXED | RFLAGS_IF);
    emu_deliver_exception(cpu, 0x21, EMU_NO_ERRCODE, true, 0x52);
    CHECK_EQ(cpu->gpr[R_RSP], 0xfa);
    CHECK_EQ(get16(0x70fa), 0x52);
    CHECK_EQ(get16(0x70fc), 0x1000);
    CHECK(get16(0x70fe) & RFLAGS_IF);
    CHECK_EQ(cpu->seg[S_CS].selector, 0x2000);
    CHECK_EQ(cpu->seg[S_CS].base, 0x20000);
    CHECK_EQ(cpu->rip, 0x1234);
    CHECK(!(emu_get_rflags(cpu) & RFLAGS_IF));
}

/* 32-bit protected mode, CPL 3 -> 0 through the TSS's SS0:ESP0. */
static void test_prot32_cpl_change(void)
{
    setup64();
    cpu->efer = 0;
    cpu->cr0 = CR0_PE | CR0_ET;
    cpu->cr4 = 0;
    put64(GDT + SEL_TSS32, desc(TSS, 0x67, 0x9, 0, 0, 1, 0, 0, 0));
    put32(TSS + 4, 0x6800);             /* ESP0 */
    put16(TSS + 8, SEL_DS);             /* SS0 */
    cpu->tr.selector = SEL_TSS32;
    cpu->idtr.limit = 256 * 8 - 1;
    gate32(0x80, 0x44000, SEL_CS32, DESC_INT_GATE, 3);
    gate32(EXC_GP, 0x45000, SEL_CS32, DESC_INT_GATE, 0);
    put64(GDT + SEL_UCS32, desc(0, 0xfffff, 0xb, 1, 3, 1, 0, 1, 1));
    struct seg_state *cs = &cpu->seg[S_CS], *ss = &cpu->seg[S_SS];
    cs->selector = SEL_UCS32 | 3; cs->dpl = 3; cs->l = 0; cs->db = 1;
    ss->selector = SEL_UDS | 3; ss->dpl = 3; ss->db = 1;
    cpu->cpl = 3;
    cpu->gpr[R_RSP] = USTACK;
    emu_update_mode(cpu);
    CHECK_EQ(cpu->mode, MODE_PROT32);
    emu_deliver_exception(cpu, 0x80, EMU_NO_ERRCODE, true, CODE + 2);
    CHECK_EQ(cpu->cpl, 0);
    CHECK_EQ(cpu->seg[S_SS].selector, SEL_DS);
    CHECK_EQ(cpu->gpr[R_RSP], 0x6800 - 20);
    CHECK_EQ(get32(0x6800 - 20), CODE + 2);
    CHECK_EQ(get32(0x6800 - 16), SEL_UCS32 | 3);
    CHECK_EQ(get32(0x6800 - 8), USTACK);
    CHECK_EQ(get32(0x6800 - 4), SEL_UDS | 3);
    CHECK_EQ(cpu->rip, 0x44000);
    /* An error code is pushed as 32 bits by a 32-bit gate. */
    uint64_t sp = cpu->gpr[R_RSP];
    emu_deliver_exception(cpu, EXC_GP, SEL_DS_NP, false, 0);
    CHECK_EQ(cpu->gpr[R_RSP], sp - 16);
    CHECK_EQ(get32(sp - 16), SEL_DS_NP);
}

/* Runs f with a fault landing here; returns vector << 16 | errcode, or -1. */
static int catch_fault(void (*f)(void *), void *arg)
{
    if (setjmp(cpu->jmp))
        return (cpu->exc.vector << 16) | (cpu->exc.errcode & 0xffff);
    f(arg);
    return -1;
}

struct load { int seg; uint16_t sel; };
static void do_load(void *arg)
{
    struct load *l = arg;
    emu_load_seg(cpu, l->seg, l->sel);
}

static int load(int seg, uint16_t sel)
{
    struct load l = { seg, sel };
    return catch_fault(do_load, &l);
}

static void test_descriptor_loads(void)
{
    setup64();
    CHECK_EQ(load(S_DS, SEL_DS), -1);
    CHECK_EQ(cpu->seg[S_DS].selector, SEL_DS);
    CHECK_EQ(cpu->seg[S_DS].limit, 0xffffffff);
    CHECK(get64(GDT + SEL_DS) & (1ULL << 40));          /* accessed bit set */
    CHECK_EQ(load(S_DS, SEL_DS_NP), (EXC_NP << 16) | SEL_DS_NP);
    CHECK_EQ(load(S_DS, 0x400), (EXC_GP << 16) | 0x400);  /* beyond the GDT limit */
    CHECK_EQ(load(S_DS, SEL_TSS), (EXC_GP << 16) | SEL_TSS);   /* system descriptor */
    CHECK_EQ(load(S_DS, SEL_CODE_XO), (EXC_GP << 16) | SEL_CODE_XO);
    CHECK_EQ(load(S_SS, SEL_UDS | 3), (EXC_GP << 16) | SEL_UDS);   /* RPL != CPL */
    CHECK_EQ(load(S_SS, 0), -1);                         /* null SS at CPL 0 in 64-bit mode */
    CHECK_EQ(load(S_FS, 0), -1);
    CHECK(cpu->seg[S_FS].unusable);
    CHECK_EQ(load(S_SS, SEL_DS), -1);
    CHECK(cpu->irq_shadow);
    to_user64();
    CHECK_EQ(load(S_DS, SEL_DS_DPL0 | 3), (EXC_GP << 16) | SEL_DS_DPL0);
    CHECK_EQ(load(S_SS, 0 | 3), (EXC_GP << 16) | 0);     /* null SS at CPL 3 */
    CHECK_EQ(load(S_ES, SEL_UDS | 3), -1);
    /* Real mode: base = selector << 4, no descriptor read. */
    setup64();
    cpu->cr0 = 0;
    cpu->efer = 0;
    emu_update_mode(cpu);
    CHECK_EQ(load(S_ES, 0x1234), -1);
    CHECK_EQ(cpu->seg[S_ES].base, 0x12340);
}

struct farjmp { uint16_t sel; uint64_t off; };
static void do_far_jmp(void *arg)
{
    struct farjmp *f = arg;
    emu_far_jmp(cpu, f->sel, f->off);
}

static void test_far_jmp_modes(void)
{
    setup64();
    /* 32-bit protected mode, paging off: jump into the 32-bit code segment. */
    cpu->efer = 0;
    cpu->cr0 = CR0_PE | CR0_ET;
    cpu->seg[S_CS].l = 0;
    cpu->seg[S_CS].db = 1;
    emu_update_mode(cpu);
    struct farjmp f = { SEL_CS32, 0x1234 };
    CHECK_EQ(catch_fault(do_far_jmp, &f), -1);
    CHECK_EQ(cpu->mode, MODE_PROT32);
    CHECK_EQ(cpu->next_rip, 0x1234);
    /* A DPL 3 code segment from CPL 0 (non-conforming) is #GP(sel). */
    f.sel = SEL_UCS32;
    CHECK_EQ(catch_fault(do_far_jmp, &f), (EXC_GP << 16) | SEL_UCS32);
    /* Long mode active: a jump to the L=1 segment enters 64-bit mode. */
    cpu->efer = EFER_LME | EFER_LMA;
    emu_update_mode(cpu);
    CHECK_EQ(cpu->mode, MODE_COMPAT);
    f.sel = SEL_CS64;
    f.off = 0x5678;
    CHECK_EQ(catch_fault(do_far_jmp, &f), -1);
    CHECK_EQ(cpu->mode, MODE_LONG64);
}

static void test_msrs_and_cr(void)
{
    setup64();
    uint64_t v = 0;
    CHECK_EQ(emu_wrmsr(cpu, 0xc0000082, 0xffffffff81000000ULL), 0);
    CHECK_EQ(emu_rdmsr(cpu, 0xc0000082, &v), 0);
    CHECK_EQ(v, 0xffffffff81000000ULL);
    CHECK_EQ(emu_wrmsr(cpu, 0xc0000082, 0x0000800000000000ULL), -1);   /* not canonical */
    CHECK_EQ(emu_rdmsr(cpu, 0x12345678, &v), -1);                        /* unknown */
    CHECK_EQ(emu_wrmsr(cpu, 0x277, 0x0202020202020202ULL), -1);        /* PAT type 2 */
    CHECK_EQ(emu_wrmsr(cpu, 0xc0000100, 0x1000), 0);
    CHECK_EQ(cpu->seg[S_FS].base, 0x1000);
    CHECK_EQ(emu_rdmsr(cpu, 0x2ff, &v), 0);
    CHECK_EQ(v, 0xc06);
    /* LME cannot change while paging is on. */
    cpu->cr0 |= CR0_PG;
    CHECK_EQ(emu_wrmsr(cpu, 0xc0000080, 0), -1);
}

static void test_reset_state(void)
{
    memset(ram, 0, RAM_SIZE);
    emu_cpu_init_flat(cpu, ram, RAM_SIZE, 0);
    emu_cpu_reset(cpu);
    struct cpu_state s;
    emu_cpu_get_state(cpu, &s);
    CHECK_EQ(s.seg[S_CS].selector, 0xf000);
    CHECK_EQ(s.cr0, 0x60000010);
    CHECK_EQ(s.rflags, 2);
    CHECK_EQ(s.rip, 0xfff0);
    CHECK_EQ(s.apic_base & ~0xfffULL, 0xfee00000ULL);
    /* A 64-bit boot state round-trips and yields 64-bit mode at CPL 0. */
    memset(&s, 0, sizeof(s));
    cpu_state_flat_seg(&s.seg[S_CS], 0x10, true, true);
    for (int k = 0; k < 6; k++)
        if (k != S_CS)
            cpu_state_flat_seg(&s.seg[k], 0x18, false, false);
    s.cr0 = CR0_PE | CR0_PG | CR0_ET;
    s.cr4 = CR4_PAE;
    s.efer = EFER_LME;
    s.rip = 0x100000;
    s.rflags = 2;
    emu_cpu_set_state(cpu, &s);
    CHECK_EQ(cpu->mode, MODE_LONG64);
    CHECK_EQ(cpu->cpl, 0);
    CHECK(cpu->efer & EFER_LMA);
    CHECK_EQ(cpu->rip, 0x100000);
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
    RUN_TEST(test_long_fault_same_cpl);
    RUN_TEST(test_long_no_errcode_trap_gate);
    RUN_TEST(test_long_pf_cr2);
    RUN_TEST(test_long_cpl3_to_cpl0);
    RUN_TEST(test_long_ist);
    RUN_TEST(test_long_soft_int_dpl);
    RUN_TEST(test_double_fault);
    RUN_TEST(test_triple_fault);
    RUN_TEST(test_pf_on_stack_is_df);
    RUN_TEST(test_real_mode_ivt);
    RUN_TEST(test_prot32_cpl_change);
    RUN_TEST(test_descriptor_loads);
    RUN_TEST(test_far_jmp_modes);
    RUN_TEST(test_msrs_and_cr);
    RUN_TEST(test_reset_state);
    return CHECK_DONE();
}
