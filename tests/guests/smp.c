/* smp: starts the application processors with INIT-SIPI-SIPI through the
 * local APIC's ICR.  The real-mode trampoline (lib/smp_ap.S) is copied to
 * TRAMPOLINE, a page hostel's loader does not use once the guest runs (its
 * boot structures sit at 0x500-0x9fff and the command line at 0x20000,
 * which this guest reads before starting APs).  Each AP prints "cpu N
 * hello" under a spinlock, enables its LAPIC and interrupts and checks in
 * with LOCK XADD; the BSP waits, bounded, for all of them, then sends each
 * a fixed IPI that must wake it from HLT.  Then every CPU sends every other
 * STRESS_ROUNDS fixed IPIs at once, each sender with its own vector, waiting
 * for each to be taken before the next to the same CPU (so none may merge):
 * every count must come out exact.  Last, every CPU adds to shared counters
 * RACE_ROUNDS times at once with LOCK XADD, LOCK ADD and LOCK XOR (whose
 * flags nothing reads: emu translates each to the host's own locked form),
 * and RACE_ROUNDS / 8 times to a 16-byte pair with LOCK CMPXCHG16B: no
 * update may be lost.  The CPU count comes from "cpus=N" on the
 * command line; APIC IDs are assumed to be 0..N-1, as hostel and QEMU
 * number them. */
#include "lib/cpu64.h"

#define TRAMPOLINE 0x10000u     /* SIPI vector 0x10 */
#define MAX_CPUS 16
#define VEC_IPI 0x50
#define VEC_STRESS 0x60         /* + the sender's APIC ID */
#define STRESS_ROUNDS 100
#define RACE_ROUNDS 1000000     /* even: each CPU's XOR bit ends clear */

extern char ap_tramp_start[], ap_tramp_end[];
void ap_main(int slot) __attribute__((noreturn));

static volatile int uart_lock;
static volatile uint32_t checked_in;
static volatile uint32_t ap_ids[MAX_CPUS];
static volatile uint32_t ipis_taken;
static volatile uint32_t ncpus_all, stress_go, stress_done, stress_timeouts;
static volatile uint32_t stress_recv[MAX_CPUS][MAX_CPUS];   /* [receiver][sender] */
static volatile uint32_t race_ready, race_xadd, race_add, race_xor;
static volatile uint64_t race_pair[2] __attribute__((aligned(16)));   /* CMPXCHG16B: +1, +2 */

/* One LOCK CMPXCHG16B increment of race_pair, retried until it takes. */
static void cas16_add(void)
{
    for (;;) {
        uint64_t lo = race_pair[0], hi = race_pair[1];
        uint8_t ok;
        __asm__ volatile("lock cmpxchg16b %1\n\tsete %0"
                         : "=q"(ok), "+m"(race_pair[0]), "+a"(lo), "+d"(hi)
                         : "b"(lo + 1), "c"(hi + 2) : "memory", "cc");
        if (ok)
            return;
    }
}
static void stress(uint32_t me);

static void lock_uart(void)
{
    while (__atomic_exchange_n(&uart_lock, 1, __ATOMIC_ACQUIRE))
        while (uart_lock)
            cpu_pause();
}

static void unlock_uart(void)
{
    __atomic_store_n(&uart_lock, 0, __ATOMIC_RELEASE);
}

static uint32_t lock_xadd(volatile uint32_t *p, uint32_t v)
{
    __asm__ volatile("lock xaddl %0, %1" : "+r"(v), "+m"(*p) :: "memory");
    return v;
}

void ap_main(int slot)
{
    uint32_t id = lapic_read(LAPIC_ID) >> 24;
    lock_uart();
    gprintf("cpu %u hello\n", id);
    unlock_uart();
    if (slot >= 0 && slot < MAX_CPUS)
        ap_ids[slot] = id;
    /* Ready for the BSP's IPI before checking in: a software-disabled
     * LAPIC would not accept it. */
    idt_load();
    lapic_write(LAPIC_SVR, 0x100 | 0xff);
    lock_xadd(&checked_in, 1);
    while (!stress_go)
        sti_hlt();
    stress(id);
    for (;;)
        sti_hlt();
}

static void on_ipi(struct frame *f)
{
    (void)f;
    uint32_t id = lapic_read(LAPIC_ID) >> 24;
    lock_uart();
    gprintf("cpu %u got ipi\n", id);
    unlock_uart();
    lock_xadd(&ipis_taken, 1);
    lapic_write(LAPIC_EOI, 0);
}

static void send_ipi(uint32_t apic_id, uint32_t icr_lo)
{
    lapic_write(LAPIC_ICR_HI, apic_id << 24);
    lapic_write(LAPIC_ICR_LO, icr_lo);
    for (int i = 0; i < 100000; i++)        /* delivery status: send pending */
        if (!(lapic_read(LAPIC_ICR_LO) & (1u << 12)))
            return;
    fail(3, "ICR delivery status stayed pending for %x to APIC %u", icr_lo, apic_id);
}

static void on_stress(struct frame *f)
{
    uint32_t me = lapic_read(LAPIC_ID) >> 24, from = (uint32_t)f->vector - VEC_STRESS;
    if (me < MAX_CPUS && from < MAX_CPUS)
        stress_recv[me][from]++;
    lapic_write(LAPIC_EOI, 0);
}

static void stress(uint32_t me)
{
    sti();
    for (uint32_t r = 0; r < STRESS_ROUNDS; r++)
        for (uint32_t to = 0; to < ncpus_all; to++) {
            if (to == me)
                continue;
            send_ipi(to, VEC_STRESS + me);
            long spins = 0;
            while (stress_recv[to][me] <= r && ++spins < 50000000)
                cpu_pause();
            if (stress_recv[to][me] <= r)
                lock_xadd(&stress_timeouts, 1);
        }
    /* All at once: each waits, bounded, for the others to get here. */
    lock_xadd(&race_ready, 1);
    for (long spins = 0; race_ready < ncpus_all && spins < 100000000; spins++)
        cpu_pause();
    for (uint32_t n = 0; n < RACE_ROUNDS; n++) {
        lock_xadd(&race_xadd, 1);
        /* A register form after each: their flags are dead (opt.c). */
        __asm__ volatile("lock xorl %2, %1\n\ttestl %2, %2\n\tlock addl $3, %0"
                         : "+m"(race_add), "+m"(race_xor) : "r"(1u << me) : "memory", "cc");
        if ((n & 7) == 0)
            cas16_add();
    }
    /* Interrupts stay on: the others may still be sending to this CPU. */
    lock_xadd(&stress_done, 1);
}

void guest_main(uint32_t magic, uint32_t mbi)
{
    const char *cmdline = mb_cmdline(magic, mbi);
    unsigned long ncpus = cmdline_uint(cmdline, "cpus=", 1);
    gprintf("smp: start, cmdline '%s', %lu cpus\n", cmdline, ncpus);
    if (ncpus < 1 || ncpus > MAX_CPUS)
        fail(1, "cpus=%lu on the command line: give 1 to %d", ncpus, MAX_CPUS);

    idt_init();
    pic_init();
    idt_set_handler(VEC_IPI, on_ipi);
    for (int v = 0; v < MAX_CPUS; v++)
        idt_set_handler(VEC_STRESS + v, on_stress);
    ncpus_all = (uint32_t)ncpus;
    lapic_enable();
    uint32_t bsp = lapic_read(LAPIC_ID) >> 24;
    gprintf("bsp apic id %u\n", bsp);
    if (bsp >= ncpus)
        fail(2, "BSP APIC ID %u is not below the CPU count %lu", bsp, ncpus);

    memcpy((void *)(uintptr_t)TRAMPOLINE, ap_tramp_start, (size_t)(ap_tramp_end - ap_tramp_start));
    for (uint32_t id = 0; id < ncpus; id++) {
        if (id == bsp)
            continue;
        /* The MP spec's timing: 10 ms after INIT, 200 us between SIPIs. */
        send_ipi(id, 0x4500);                           /* INIT, level assert */
        pit_delay_us(10000);
        send_ipi(id, 0x4600 | (TRAMPOLINE >> 12));      /* STARTUP */
        pit_delay_us(200);
        /* As the MP spec says: a second SIPI, ignored by an AP that started. */
        send_ipi(id, 0x4600 | (TRAMPOLINE >> 12));
    }

    /* Up to 5 s of PIT time: emulated APs may be slow to start. */
    uint32_t want = (uint32_t)ncpus - 1;
    for (int ms = 0; ms < 5000 && checked_in < want; ms++)
        pit_delay_us(1000);
    lock_uart();
    gprintf("cpus checked in: %u of %u\n", checked_in + 1, (uint32_t)ncpus);
    unlock_uart();
    if (checked_in != want)
        fail(4, "%u of %u application processors checked in", checked_in, want);
    for (uint32_t i = 0; i < want; i++)
        for (uint32_t j = 0; j <= i; j++)
            if ((j < i && ap_ids[i] == ap_ids[j]) || ap_ids[i] == bsp)
                fail(5, "two CPUs report APIC ID %u", ap_ids[i]);

    stress_go = 1;                                      /* (the APs see it after the IPI) */
    for (uint32_t id = 0; id < ncpus; id++)
        if (id != bsp)
            send_ipi(id, VEC_IPI);                      /* fixed, physical */
    for (int ms = 0; ms < 5000 && ipis_taken < want; ms++)
        pit_delay_us(1000);
    if (ipis_taken != want)
        fail(6, "%u of %u application processors took the IPI", ipis_taken, want);
    gprintf("ipis taken: %u\n", ipis_taken);

    stress(bsp);
    for (int ms = 0; ms < 20000 && stress_done < ncpus; ms++)
        pit_delay_us(1000);                 /* (IF on: the 8259s are masked) */
    cli();
    if (stress_done != ncpus || stress_timeouts)
        fail(7, "IPI stress: %u of %lu CPUs finished, %u waits timed out", stress_done, ncpus,
             stress_timeouts);
    for (uint32_t to = 0; to < ncpus; to++)
        for (uint32_t from = 0; from < ncpus; from++) {
            uint32_t want = to == from ? 0 : STRESS_ROUNDS;
            if (stress_recv[to][from] != want)
                fail(8, "IPI stress: cpu %u took %u IPIs from cpu %u, expected %u", to,
                     stress_recv[to][from], from, want);
        }
    gprintf("ipi stress: %lu cpus, %u rounds, %lu IPIs, every count exact\n", ncpus,
            STRESS_ROUNDS, ncpus * (ncpus - 1) * STRESS_ROUNDS);
    if (race_pair[0] != ncpus * (RACE_ROUNDS / 8) || race_pair[1] != 2 * ncpus * (RACE_ROUNDS / 8))
        fail(10, "CMPXCHG16B updates lost: %lu and %lu, expected %lu and %lu", (unsigned long)race_pair[0],
             (unsigned long)race_pair[1], ncpus * (RACE_ROUNDS / 8), 2 * ncpus * (RACE_ROUNDS / 8));
    if (race_xadd != ncpus * RACE_ROUNDS || race_add != 3 * ncpus * RACE_ROUNDS || race_xor != 0)
        fail(9, "locked updates lost: xadd %u, add %u (expected %lu, %lu), xor %x (expected 0)",
             race_xadd, race_add, ncpus * RACE_ROUNDS, 3 * ncpus * RACE_ROUNDS, race_xor);
    gprintf("locked updates: %lu cpus, %u rounds, every count exact\n", ncpus, RACE_ROUNDS);
    gprintf("smp: ok\n");
}
