/* interrupts: exceptions and timer interrupts in long mode.  INT3, #DE and
 * #PF (CR2 and error code checked) return from their handlers; then the
 * 8259 PIC with the PIT in mode 2 at ~1 kHz, then the local APIC timer
 * (one-shot, then periodic) and a self-IPI, each counted with STI/HLT. */
#include "lib/cpu64.h"

#define TICKS_WANTED 20
#define VEC_PIT     0x20        /* IRQ 0 after the PIC remap */
#define VEC_LAPIC_TIMER 0x40
#define VEC_SELF_IPI    0x41
#define UNMAPPED    0x100000000ull      /* just above the 4 GiB identity map */

static volatile int bp_count, pit_ticks, lapic_ticks, ipi_count, spurious;
static volatile uint64_t bp_rip;

static void on_breakpoint(struct frame *f)
{
    bp_count++;
    bp_rip = f->rip;        /* INT3 is a trap: RIP is past the instruction */
}

static void on_pit(struct frame *f)
{
    (void)f;
    pit_ticks++;
    outb(0x20, 0x20);       /* non-specific EOI to the master PIC */
}

static void on_lapic_timer(struct frame *f)
{
    (void)f;
    lapic_ticks++;
    lapic_write(LAPIC_EOI, 0);
}

static void on_self_ipi(struct frame *f)
{
    (void)f;
    ipi_count++;
    lapic_write(LAPIC_EOI, 0);
}

static void on_spurious(struct frame *f)
{
    (void)f;
    spurious++;             /* no EOI for the APIC's spurious vector */
}

static void on_pic_spurious(struct frame *f)
{
    (void)f;
    spurious++;             /* IRQ 7 with ISR bit clear: no EOI either */
}

/* HLT until *counter reaches want.  The bound counts wake-ups from any
 * interrupt; an interrupt that never comes leaves HLT waiting, and the run
 * script's timeout reports that. */
static int wait_ticks(volatile int *counter, int want)
{
    for (long i = 0; i < 200000 && *counter < want; i++)
        sti_hlt();
    cli();
    return *counter;
}

static void test_exceptions(void)
{
    uint64_t after;
    __asm__ volatile("int3\n\t"
                     "1: leaq 1b(%%rip), %0" : "=r"(after) :: "memory");
    if (bp_count != 1 || bp_rip != after)
        fail(1, "INT3: handler ran %d times, saved RIP %lx, expected %lx", bp_count, bp_rip, after);
    gprintf("int3 ok\n");

    fault_reset();
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, fault_recover(%%rip)\n\t"
                     "xorl %%edx, %%edx\n\t"
                     "movl $7, %%eax\n\t"
                     "xorl %%ecx, %%ecx\n\t"
                     "divl %%ecx\n\t"
                     "1:" ::: "rax", "rcx", "rdx", "memory");
    if (last_fault.count != 1 || last_fault.vector != 0)
        fail(2, "DIV by zero: %d faults, vector %lu (expected one #DE)", last_fault.count,
             last_fault.vector);
    gprintf("#DE ok\n");

    fault_reset();
    uint64_t val = 0;
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, fault_recover(%%rip)\n\t"
                     "movq (%1), %0\n\t"
                     "1:" : "+r"(val) : "r"(UNMAPPED + 0x123) : "rax", "memory");
    if (last_fault.count != 1 || last_fault.vector != 14)
        fail(3, "read of unmapped %llx: %d faults, vector %lu (expected one #PF)",
             UNMAPPED + 0x123, last_fault.count, last_fault.vector);
    if (last_fault.cr2 != UNMAPPED + 0x123)
        fail(4, "#PF: CR2 is %lx, expected %llx", last_fault.cr2, UNMAPPED + 0x123);
    if (last_fault.error != 0)
        fail(5, "#PF on a supervisor read of a not-present page: error code %lx, expected 0",
             last_fault.error);

    fault_reset();
    __asm__ volatile("leaq 1f(%%rip), %%rax\n\t"
                     "movq %%rax, fault_recover(%%rip)\n\t"
                     "movq $1, (%0)\n\t"
                     "1:" :: "r"(UNMAPPED + 0x2000) : "rax", "memory");
    if (last_fault.vector != 14 || last_fault.error != 2 || last_fault.cr2 != UNMAPPED + 0x2000)
        fail(6, "#PF on a write: vector %lu error %lx cr2 %lx, expected 14, 2, %llx",
             last_fault.vector, last_fault.error, last_fault.cr2, UNMAPPED + 0x2000);
    gprintf("#PF ok (cr2 %lx)\n", last_fault.cr2);
}

static void test_pit(void)
{
    pic_init();
    outb(0x43, 0x34);                   /* channel 0, lobyte/hibyte, mode 2 */
    outb(0x40, 1193 & 0xff);            /* 1193182 Hz / 1193 = ~1 kHz */
    outb(0x40, 1193 >> 8);
    outb(0x21, 0xfe);                   /* unmask IRQ 0 only */
    int n = wait_ticks(&pit_ticks, TICKS_WANTED);
    outb(0x21, 0xff);
    outb(0xa1, 0xff);
    gprintf("pit ticks: %d\n", n);
    if (n < TICKS_WANTED)
        fail(7, "the PIT gave %d ticks through the PIC, expected %d", n, TICKS_WANTED);
}

static void test_lapic(void)
{
    lapic_enable();
    uint32_t svr = lapic_read(LAPIC_SVR);
    if (!(svr & 0x100))
        fail(8, "LAPIC SVR reads %x after enabling", svr);

    /* One-shot: a single interrupt, and the current count stops at 0. */
    lapic_write(LAPIC_TIMER_DIV, 0x3);              /* divide by 16 */
    lapic_write(LAPIC_LVT_TIMER, VEC_LAPIC_TIMER);  /* one-shot, unmasked */
    lapic_write(LAPIC_TIMER_INIT, 20000);
    int n = wait_ticks(&lapic_ticks, 1);
    if (n != 1)
        fail(9, "LAPIC one-shot timer: %d interrupts, expected 1", n);
    if (lapic_read(LAPIC_TIMER_CUR) != 0)
        fail(10, "LAPIC one-shot timer: current count %u after it fired",
             lapic_read(LAPIC_TIMER_CUR));
    gprintf("lapic one-shot ok\n");

    lapic_ticks = 0;
    lapic_write(LAPIC_LVT_TIMER, VEC_LAPIC_TIMER | (1u << 17));   /* periodic */
    /* 250 us at a 1 GHz timer clock (KVM, QEMU), 10 ms at 25 MHz (emu). */
    lapic_write(LAPIC_TIMER_INIT, 15625);
    n = wait_ticks(&lapic_ticks, TICKS_WANTED);
    lapic_write(LAPIC_LVT_TIMER, 1u << 16);                        /* masked */
    lapic_write(LAPIC_TIMER_INIT, 0);
    gprintf("lapic timer ticks: %d\n", n);
    if (n < TICKS_WANTED)
        fail(11, "LAPIC periodic timer gave %d ticks, expected %d", n, TICKS_WANTED);

    /* Self-IPI: fixed delivery, destination shorthand "self". */
    lapic_write(LAPIC_ICR_HI, 0);
    lapic_write(LAPIC_ICR_LO, (1u << 18) | VEC_SELF_IPI);
    n = wait_ticks(&ipi_count, 1);
    if (n != 1)
        fail(12, "self-IPI: %d interrupts, expected 1", n);
    gprintf("self-ipi ok\n");
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("interrupts: start\n");
    idt_init();
    idt_set_handler(3, on_breakpoint);
    idt_set_handler(VEC_PIT, on_pit);
    idt_set_handler(0x27, on_pic_spurious);
    idt_set_handler(VEC_LAPIC_TIMER, on_lapic_timer);
    idt_set_handler(VEC_SELF_IPI, on_self_ipi);
    idt_set_handler(0xff, on_spurious);

    test_exceptions();
    test_pit();
    test_lapic();
    gprintf("spurious: %d\n", spurious);
    gprintf("interrupts: ok\n");
}
