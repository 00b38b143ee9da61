/* irqlatency: tight loops still take timer interrupts.  The local APIC
 * timer ticks periodically while the CPU spins in loops that never leave
 * by themselves (a jump to itself, a counting loop, a call in a loop, a
 * read-modify-write of memory, a long countdown); the interrupt handler
 * lets each one go after a number of ticks by changing the return RIP.
 * On emu these loops become chained translated blocks, and every block
 * entry must look at pending interrupts.  The time between ticks is
 * measured with the TSC: no tick may be much later than the period. */
#include "lib/cpu64.h"

#define VEC_TIMER  0x40
#define TICKS      20

static volatile int ticks;
static volatile uint64_t escape_to, escape_rsp, last_tsc, max_gap;

static void on_timer(struct frame *f)
{
    uint64_t now = rdtsc();
    if (last_tsc && now - last_tsc > max_gap)
        max_gap = now - last_tsc;
    last_tsc = now;
    /* Leave the loop (not a function it calls: the stack must match). */
    if (++ticks >= TICKS && escape_to && f->rsp == escape_rsp) {
        f->rip = escape_to;
        escape_to = 0;
    }
    lapic_write(LAPIC_EOI, 0);
}

static void on_spurious(struct frame *f)
{
    (void)f;
}

static void start(void)
{
    ticks = 0;
    last_tsc = 0;
    max_gap = 0;
}

/* Runs loop `name` (inline assembly that spins until the handler moves
 * RIP to label 9) and checks it got its ticks. */
#define SPIN(name, body, ...)                                                   \
    do {                                                                        \
        start();                                                                \
        __asm__ volatile("leaq 9f(%%rip), %%rax\n\t"                            \
                         "movq %%rax, %[esc]\n\t"                               \
                         "movq %%rsp, escape_rsp(%%rip)\n\t"                    \
                         "sti\n\t" body "\n"                                    \
                         "9:\n\tcli"                                            \
                         : [esc] "=m"(escape_to) : __VA_ARGS__);                \
        report(name);                                                           \
    } while (0)

static uint64_t tsc_per_ms;
static uint64_t worst_us;

static void report(const char *name)
{
    uint64_t us = tsc_per_ms ? max_gap * 1000 / tsc_per_ms : 0;
    gprintf("%s: %d ticks, longest gap %lu us\n", name, ticks, us);
    if (ticks < TICKS)
        fail(1, "%s: %d timer interrupts, expected %d", name, ticks, TICKS);
    if (us > worst_us)
        worst_us = us;
}

static void counted(void)
{
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    (void)magic; (void)mbi;
    gprintf("irqlatency: start\n");
    idt_init();
    idt_set_handler(VEC_TIMER, on_timer);
    idt_set_handler(0xff, on_spurious);
    lapic_enable();

    /* The TSC rate, against the PIT (the same on every engine). */
    uint64_t t0 = rdtsc();
    pit_delay_us(10000);
    tsc_per_ms = (rdtsc() - t0) / 10;

    /* Periodic, about a millisecond on emu (25 MHz / 16), less on KVM. */
    lapic_write(LAPIC_TIMER_DIV, 0x3);
    lapic_write(LAPIC_LVT_TIMER, VEC_TIMER | (1u << 17));
    lapic_write(LAPIC_TIMER_INIT, 1600);

    static uint64_t cell;
    SPIN("jump to itself", "1: jmp 1b", "m"(cell) : "rax", "memory");
    SPIN("count", "xorl %%ecx, %%ecx\n1: incq %%rcx\n\tjmp 1b", "m"(cell) : "rax", "rcx", "memory");
    SPIN("countdown", "movq $-1, %%rcx\n1: decq %%rcx\n\tjnz 1b", "m"(cell) : "rax", "rcx", "memory");
    SPIN("call in a loop", "1: call *%[fn]\n\tjmp 1b", [fn] "r"(counted) : "rax", "rcx", "rdx", "rsi",
         "rdi", "r8", "r9", "r10", "r11", "memory");
    SPIN("memory", "leaq %[c], %%rdx\n1: addq $1, (%%rdx)\n\tjmp 1b", [c] "m"(cell) : "rax", "rdx", "memory");

    lapic_write(LAPIC_LVT_TIMER, 1u << 16);
    lapic_write(LAPIC_TIMER_INIT, 0);
    /* A tick may wait for a busy host; a second would mean it waited for
     * something else than the loop's next block. */
    if (worst_us > 1000000)
        fail(2, "a timer interrupt came %lu us after the one before", worst_us);
    gprintf("irqlatency: ok\n");
}
