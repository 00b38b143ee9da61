/* smp: starts the application processors with INIT-SIPI-SIPI through the
 * local APIC's ICR.  The real-mode trampoline (lib/smp_ap.S) is copied to
 * TRAMPOLINE, a page hostel's loader does not use once the guest runs (its
 * boot structures sit at 0x500-0x9fff and the command line at 0x20000,
 * which this guest reads before starting APs).  Each AP prints "cpu N
 * hello" under a spinlock, enables its LAPIC and interrupts and checks in
 * with LOCK XADD; the BSP waits, bounded, for all of them, then sends each
 * a fixed IPI that must wake it from HLT.  The CPU count comes from "cpus=N" on the
 * command line; APIC IDs are assumed to be 0..N-1, as hostel and QEMU
 * number them. */
#include "lib/cpu64.h"

#define TRAMPOLINE 0x10000u     /* SIPI vector 0x10 */
#define MAX_CPUS 16
#define VEC_IPI 0x50

extern char ap_tramp_start[], ap_tramp_end[];
void ap_main(int slot) __attribute__((noreturn));

static volatile int uart_lock;
static volatile uint32_t checked_in;
static volatile uint32_t ap_ids[MAX_CPUS];
static volatile uint32_t ipis_taken;

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

void guest_main(uint32_t magic, uint32_t mbi)
{
    const char *cmdline = mb_cmdline(magic, mbi);
    unsigned long ncpus = cmdline_uint(cmdline, "cpus=", 1);
    gprintf("smp: start, cmdline '%s', %lu cpus\n", cmdline, ncpus);
    if (ncpus < 1 || ncpus > MAX_CPUS)
        fail(1, "cpus=%lu on the command line: give 1 to %d", ncpus, MAX_CPUS);

    idt_init();
    idt_set_handler(VEC_IPI, on_ipi);
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

    for (uint32_t id = 0; id < ncpus; id++)
        if (id != bsp)
            send_ipi(id, VEC_IPI);                      /* fixed, physical */
    for (int ms = 0; ms < 5000 && ipis_taken < want; ms++)
        pit_delay_us(1000);
    if (ipis_taken != want)
        fail(6, "%u of %u application processors took the IPI", ipis_taken, want);
    gprintf("ipis taken: %u\n", ipis_taken);
    gprintf("smp: ok\n");
}
