/* 64-bit helpers for the test guests: control registers and MSRs, an IDT
 * whose handlers are C functions, expected-fault recovery, a TSS, 4 KiB
 * mappings and the local APIC. */
#ifndef GUEST_CPU64_H
#define GUEST_CPU64_H

#include "guest.h"

#define SEL_KCODE 0x08
#define SEL_KDATA 0x10
#define SEL_UCODE32 0x20
#define SEL_UDATA 0x28
#define SEL_UCODE 0x30
#define SEL_TSS   0x38

#define MSR_APIC_BASE 0x1b
#define MSR_EFER      0xc0000080
#define MSR_STAR      0xc0000081
#define MSR_LSTAR     0xc0000082
#define MSR_FMASK     0xc0000084

#define PTE_P   (1ull << 0)
#define PTE_W   (1ull << 1)
#define PTE_U   (1ull << 2)
#define PTE_A   (1ull << 5)
#define PTE_D   (1ull << 6)
#define PTE_PS  (1ull << 7)
#define PTE_NX  (1ull << 63)
#define PTE_ADDR 0x000ffffffffff000ull

struct frame {
    uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
    uint64_t rdi, rsi, rbp, rbx, rdx, rcx, rax;
    uint64_t vector, error;
    uint64_t rip, cs, rflags, rsp, ss;    /* pushed by the CPU */
};

typedef void (*isr_fn)(struct frame *f);

/* Fills all 256 gates (interrupt gates, DPL 0) and loads the IDT.
 * Unhandled vectors print the frame and exit with code 0x7f. */
void idt_init(void);
void idt_set_handler(int vec, isr_fn fn);
/* Loads the IDT idt_init() built: for application processors. */
void idt_load(void);
void idt_set_gate_opts(int vec, int ist, int dpl, int present);
/* The gate's type field: 0xe interrupt gate, 0xf trap gate (others are
 * not gates in long mode). */
void idt_set_gate_type(int vec, int type);

/* Expected faults: the inline assembly stores a recovery address in
 * fault_recover before the faulting instruction; the dispatcher then
 * records the exception in last_fault and resumes there. */
struct fault_info {
    uint64_t vector, error, cr2, rip, cs;
    int count;
};
extern volatile uint64_t fault_recover;
extern volatile struct fault_info last_fault;
void fault_reset(void);

/* TSS with RSP0 and IST1 stacks, loaded with LTR. */
void tss_install(uint64_t rsp0, uint64_t ist1);
/* Changes one stack of the loaded TSS: which 0 is RSP0, 1-7 are IST1-7. */
void tss_set_stack(int which, uint64_t rsp);

/* Maps one 4 KiB page at va (outside the boot identity map's 2 MiB
 * pages: e.g. above 4 GiB) to pa with the leaf flags given; tables come
 * from a static pool.  Returns a pointer to the leaf entry. */
uint64_t *map_page(uint64_t va, uint64_t pa, uint64_t flags);
extern uint64_t boot_pml4[512], boot_pdpt[512], boot_pd[4 * 512];

static inline uint64_t rdmsr(uint32_t msr)
{
    uint32_t lo, hi;
    __asm__ volatile("rdmsr" : "=a"(lo), "=d"(hi) : "c"(msr));
    return ((uint64_t)hi << 32) | lo;
}
static inline void wrmsr(uint32_t msr, uint64_t v)
{
    __asm__ volatile("wrmsr" :: "c"(msr), "a"((uint32_t)v), "d"((uint32_t)(v >> 32)) : "memory");
}
#define READ_CR(n) ({ uint64_t v_; __asm__ volatile("mov %%cr" #n ", %0" : "=r"(v_)); v_; })
#define WRITE_CR(n, v) __asm__ volatile("mov %0, %%cr" #n :: "r"((uint64_t)(v)) : "memory")
static inline void invlpg(uint64_t va) { __asm__ volatile("invlpg (%0)" :: "r"(va) : "memory"); }
static inline void sti(void) { __asm__ volatile("sti" ::: "memory"); }
static inline void cli(void) { __asm__ volatile("cli" ::: "memory"); }
static inline void sti_hlt(void) { __asm__ volatile("sti; hlt" ::: "memory"); }

/* Local APIC at its default base, through the identity map. */
#define LAPIC_BASE  0xfee00000ull
#define LAPIC_ID    0x020
#define LAPIC_EOI   0x0b0
#define LAPIC_SVR   0x0f0
#define LAPIC_ICR_LO 0x300
#define LAPIC_ICR_HI 0x310
#define LAPIC_LVT_TIMER 0x320
#define LAPIC_TIMER_INIT 0x380
#define LAPIC_TIMER_CUR  0x390
#define LAPIC_TIMER_DIV  0x3e0
static inline uint32_t lapic_read(uint32_t reg) { return *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg); }
static inline void lapic_write(uint32_t reg, uint32_t v) { *(volatile uint32_t *)(uintptr_t)(LAPIC_BASE + reg) = v; }
/* Sets the global enable in IA32_APIC_BASE and the software enable in the
 * SVR, with spurious vector 0xff. */
void lapic_enable(void);

/* 8259 pair remapped to vectors 0x20-0x2f, every line masked. */
void pic_init(void);

#endif
