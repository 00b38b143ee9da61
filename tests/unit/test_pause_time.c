/* Unit tests for pausing guest time: the guest clock stands still while
 * paused and never goes backwards, timer service deadlines move by the
 * pause, and the PIT, ACPI PM timer, LAPIC timer and emu's TSC all read it;
 * the RTC, on purpose, keeps the host's wall-clock time.
 * Timing checks are bounds derived from host clock readings taken around
 * each step, so a slow or busy host can make them wait, never fail. */
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "dev_harness.h"
#include "engine/emu/cpu.h"
#include "engine/emu/lapic.h"
#include "hw/acpi_pm.h"
#include "hw/pit.h"
#include "hw/rtc.h"
#include "machine/timer.h"
#include "machine/vm.h"

#define MS 1000000ULL

static bool wait_for(_Atomic int *v, int want, int max_ms)
{
    for (int i = 0; i < max_ms; i++) {
        if (atomic_load(v) >= want)
            return true;
        usleep(1000);
    }
    return atomic_load(v) >= want;
}

/* ---- the clock itself ---- */

static void clock_stands_still_while_paused(void)
{
    struct guest_clock gc;
    memset(&gc, 0, sizeof(gc));
    uint64_t h0 = timer_now_ns();
    uint64_t g0 = guest_clock_now(&gc);
    uint64_t h1 = timer_now_ns();
    CHECK(g0 >= h0 && g0 <= h1);            /* never paused: the host clock */
    CHECK(!guest_clock_paused(&gc));
    CHECK_EQ(guest_clock_resumed_at(&gc), 0);

    guest_clock_pause(&gc);
    CHECK(guest_clock_paused(&gc));
    uint64_t gp = guest_clock_now(&gc);
    usleep(50000);
    CHECK_EQ(guest_clock_now(&gc), gp);
    guest_clock_pause(&gc);                 /* a second pause changes nothing */
    CHECK_EQ(guest_clock_now(&gc), gp);

    uint64_t hr0 = timer_now_ns();
    guest_clock_resume(&gc);
    uint64_t g1 = guest_clock_now(&gc);
    uint64_t hr1 = timer_now_ns();
    CHECK(!guest_clock_paused(&gc));
    CHECK(guest_clock_resumed_at(&gc) >= hr0 && guest_clock_resumed_at(&gc) <= hr1);
    /* It goes on from where it stopped: no jump by the 50 ms. */
    CHECK(g1 >= gp);
    CHECK(g1 - gp <= hr1 - hr0);
    guest_clock_resume(&gc);                /* a second resume changes nothing */
    usleep(20000);
    uint64_t g2 = guest_clock_now(&gc);
    CHECK(g2 - g1 >= 20 * MS);              /* and runs at the host's rate */
    /* Behind the host by the pause, at least. */
    CHECK(timer_now_ns() - g2 >= 50 * MS);
}

struct reader {
    struct guest_clock *gc;
    _Atomic bool stop;
    _Atomic int backwards;
    _Atomic int reads;
};

static void *read_forever(void *arg)
{
    struct reader *r = arg;
    uint64_t last = 0;
    while (!atomic_load(&r->stop)) {
        uint64_t t = guest_clock_now(r->gc);
        if (t < last)
            atomic_fetch_add(&r->backwards, 1);
        last = t;
        atomic_fetch_add(&r->reads, 1);
    }
    return NULL;
}

static void clock_never_goes_backwards_across_pauses(void)
{
    struct guest_clock gc;
    memset(&gc, 0, sizeof(gc));
    struct reader r = { .gc = &gc };
    pthread_t th;
    CHECK_EQ(pthread_create(&th, NULL, read_forever, &r), 0);
    /* The reader runs before the pauses start and reads during some of
     * them: on a loaded two-core host it may otherwise not be scheduled
     * before the loop ends (this test once failed so under make test). */
    uint64_t t0 = timer_now_ns();
    while (atomic_load(&r.reads) == 0 && timer_now_ns() - t0 < 5000 * MS)
        sched_yield();
    int paused_reads = 0;
    for (int i = 0; i < 300; i++) {
        guest_clock_pause(&gc);
        if (i % 50 == 0) {
            int before = atomic_load(&r.reads);
            usleep(1000);
            t0 = timer_now_ns();
            while (atomic_load(&r.reads) == before && timer_now_ns() - t0 < 5000 * MS)
                sched_yield();
            paused_reads += atomic_load(&r.reads) > before;
        }
        guest_clock_resume(&gc);
    }
    atomic_store(&r.stop, true);
    pthread_join(th, NULL);
    CHECK_EQ(atomic_load(&r.backwards), 0);
    CHECK_EQ(paused_reads, 6);   /* it read while paused, each of the 6 times it was waited for */
}

/* ---- the timer service ---- */

struct rec {
    struct guest_clock *gc;
    struct timer *self;
    _Atomic int count;
    uint64_t host_at, guest_at;   /* of the first firing */
    uint64_t period, next;        /* >0: re-arm on a fixed schedule */
};

static void rec_fire(void *opaque)
{
    struct rec *r = opaque;
    if (atomic_load(&r->count) == 0) {
        r->host_at = timer_now_ns();
        r->guest_at = guest_clock_now(r->gc);
    }
    atomic_fetch_add(&r->count, 1);
    if (r->period) {
        /* Catch-up style, as a naive device model would: a host clock that
         * jumped would make it fire back to back. */
        r->next += r->period;
        timer_arm(r->self, r->next);
    }
}

static void service_deadline_moves_by_the_pause(void)
{
    struct guest_clock gc;
    memset(&gc, 0, sizeof(gc));
    struct timer_service *ts;
    CHECK_EQ(timer_service_get_clock(&gc, &ts), 0);
    struct rec r = { .gc = &gc };
    CHECK_EQ(timer_new(ts, rec_fire, &r, &r.self), 0);

    uint64_t deadline = timer_service_now(ts) + 100 * MS;
    timer_arm(r.self, deadline);
    guest_clock_pause(&gc);
    uint64_t gp = guest_clock_now(&gc);
    usleep(300000);                         /* three times the deadline */
    if (gp < deadline) {                    /* (a host stalled over 100 ms fires it) */
        CHECK_EQ(atomic_load(&r.count), 0);
        CHECK(timer_armed(r.self));
    }
    uint64_t hr = timer_now_ns();
    guest_clock_resume(&gc);
    CHECK(wait_for(&r.count, 1, 5000));
    CHECK(r.guest_at >= deadline);          /* never early in guest time */
    /* What was left at the pause runs after the resume, in host time. */
    if (gp < deadline)
        CHECK(r.host_at - hr >= deadline - gp);
    timer_free(r.self);
    timer_service_put(ts);
}

static void periodic_timer_does_not_burst_after_a_pause(void)
{
    struct guest_clock gc;
    memset(&gc, 0, sizeof(gc));
    struct timer_service *ts;
    CHECK_EQ(timer_service_get_clock(&gc, &ts), 0);
    struct rec r = { .gc = &gc, .period = 5 * MS };
    CHECK_EQ(timer_new(ts, rec_fire, &r, &r.self), 0);
    r.next = timer_service_now(ts) + r.period;
    timer_arm(r.self, r.next);
    CHECK(wait_for(&r.count, 3, 5000));

    guest_clock_pause(&gc);
    usleep(2000);                           /* a callback in flight finishes */
    int before = atomic_load(&r.count);
    usleep(200000);                         /* 40 periods of host time */
    CHECK(atomic_load(&r.count) <= before + 1);
    before = atomic_load(&r.count);
    uint64_t h0 = timer_now_ns();
    guest_clock_resume(&gc);
    usleep(20000);
    int after = atomic_load(&r.count);
    uint64_t h1 = timer_now_ns();
    /* At most one period per elapsed 5 ms (plus one due at the pause),
     * never the 40 the pause would have owed. */
    CHECK(after - before <= (int)((h1 - h0) / r.period) + 2);
    timer_free(r.self);
    timer_service_put(ts);
}

/* ---- the devices ---- */

static _Atomic int pit_edges;
static uint64_t pit_edge_host_ns;

static void record_irq0(void *opaque, unsigned n, int level)
{
    (void)opaque;
    if (n == 0 && level) {
        if (atomic_load(&pit_edges) == 0)
            pit_edge_host_ns = timer_now_ns();
        atomic_fetch_add(&pit_edges, 1);
    }
}

static uint16_t pit_latched_count(struct dev_harness *h)
{
    pio_out(h, 0x43, 1, 0x00);              /* latch channel 0 */
    uint16_t lo = (uint16_t)pio_in(h, 0x40, 1);
    return (uint16_t)(lo | pio_in(h, 0x40, 1) << 8);
}

static void pit_stands_still_and_its_edge_moves(void)
{
    struct dev_harness dh;
    dev_harness_init(&dh);
    atomic_store(&pit_edges, 0);
    struct pit *pit;
    struct irq_line irq0 = { .set = record_irq0, .n = 0 };
    CHECK_EQ(pit_create(&dh.pio, 0x40, 0x61, &dh.clock, irq0, NULL, &pit), 0);

    /* Mode 0, count 65536: one rising edge after 54.925 ms. */
    uint64_t g_before = guest_clock_now(&dh.clock);
    pio_out(&dh, 0x43, 1, 0x30);
    pio_out(&dh, 0x40, 1, 0x00);
    pio_out(&dh, 0x40, 1, 0x00);
    uint64_t deadline_min = g_before + 54925000;
    guest_clock_pause(&dh.clock);
    uint64_t gp = guest_clock_now(&dh.clock);
    uint16_t c1 = pit_latched_count(&dh);
    usleep(150000);
    uint16_t c2 = pit_latched_count(&dh);
    if (gp < deadline_min) {
        CHECK_EQ(c1, c2);                   /* the counter does not count */
        CHECK_EQ(atomic_load(&pit_edges), 0);
    }
    uint64_t hr = timer_now_ns();
    guest_clock_resume(&dh.clock);
    CHECK(wait_for(&pit_edges, 1, 5000));
    if (gp < deadline_min)
        CHECK(pit_edge_host_ns - hr >= deadline_min - gp);
    CHECK_EQ(atomic_load(&pit_edges), 1);   /* a one-shot: no second edge */

    pit_destroy(pit);
    dev_harness_destroy(&dh);
}

static void acpi_pm_timer_stands_still(void)
{
    struct dev_harness dh;
    dev_harness_init(&dh);
    struct acpi_pm *pm;
    CHECK_EQ(acpi_pm_create(&dh.pio, 0x600, dev_harness_line(&dh, 9), &dh.clock,
                            dev_harness_stop(&dh), &pm), 0);
    guest_clock_pause(&dh.clock);
    uint32_t a = acpi_pm_timer(pm);
    usleep(50000);
    CHECK_EQ(acpi_pm_timer(pm), a);
    uint64_t h0 = timer_now_ns();
    guest_clock_resume(&dh.clock);
    usleep(10000);
    uint32_t b = acpi_pm_timer(pm);
    uint64_t h1 = timer_now_ns();
    uint32_t ticks = (b - a) & 0xffffff;
    /* 3.579545 MHz: at most the host time since the resume, not the pause. */
    CHECK(ticks <= (h1 - h0) * 3579545ULL / 1000000000ULL + 2);
    CHECK(ticks >= 10 * 3579);              /* and it runs again */
    acpi_pm_destroy(pm);
    dev_harness_destroy(&dh);
}

static void lapic_count_and_tsc_stand_still(void)
{
    /* The emu CPU reads its machine's clock: a bare machine, no engine. */
    struct vm vm;
    memset(&vm, 0, sizeof(vm));
    struct emu_cpu *c = aligned_alloc(64, (sizeof(struct emu_cpu) + 63) & ~(size_t)63);
    CHECK(c != NULL);
    if (!c)
        return;
    memset(c, 0, sizeof(*c));
    c->vm = &vm;
    CHECK_EQ(lapic_create(c, &c->lapic), 0);
    /* Masked one-shot (the APIC is software-disabled): the count still runs,
     * and nothing needs a vCPU to wake. */
    lapic_mmio_write(c->lapic, 0x3e0, 4, 0xb);          /* divide by 1: 25 MHz */
    lapic_mmio_write(c->lapic, 0x380, 4, 0xffffffff);   /* ~172 s */
    guest_clock_pause(&vm.clock);
    uint32_t cc1 = (uint32_t)lapic_mmio_read(c->lapic, 0x390, 4);
    uint64_t tsc1 = emu_rdtsc(c);
    usleep(50000);
    CHECK_EQ((uint32_t)lapic_mmio_read(c->lapic, 0x390, 4), cc1);
    CHECK_EQ(emu_rdtsc(c), tsc1);
    uint64_t h0 = timer_now_ns();
    guest_clock_resume(&vm.clock);
    usleep(10000);
    uint32_t cc2 = (uint32_t)lapic_mmio_read(c->lapic, 0x390, 4);
    uint64_t tsc2 = emu_rdtsc(c);
    uint64_t h1 = timer_now_ns();
    /* 25 MHz and 2 GHz: at most the host time since the resume. */
    CHECK(cc1 > cc2);
    CHECK((uint64_t)(cc1 - cc2) <= (h1 - h0) / 40 + 1);
    CHECK(tsc2 > tsc1);
    CHECK(tsc2 - tsc1 <= (h1 - h0) * 2 + 2);
    lapic_destroy(c->lapic);
    free(c);
}

/* Seconds of the day the RTC shows (BCD, 24-hour: its power-on format). */
static int rtc_second_of_day(struct rtc *r)
{
    int bcd[3];
    for (int i = 0; i < 3; i++) {
        uint8_t v = rtc_cmos_byte(r, (unsigned)i * 2);   /* seconds, minutes, hours */
        bcd[i] = (v >> 4) * 10 + (v & 0x0f);
    }
    return bcd[2] * 3600 + bcd[1] * 60 + bcd[0];
}

static void rtc_keeps_wall_clock_time(void)
{
    struct dev_harness dh;
    dev_harness_init(&dh);
    struct rtc *r;
    CHECK_EQ(rtc_create(&dh.pio, 0x70, dev_harness_line(&dh, 8), 64 << 20, 0, &r), 0);
    guest_clock_pause(&dh.clock);
    int a = rtc_second_of_day(r);
    time_t now = time(NULL);
    struct tm tm;
    gmtime_r(&now, &tm);
    int host = tm.tm_hour * 3600 + tm.tm_min * 60 + tm.tm_sec;
    CHECK((host - a + 86400) % 86400 <= 2);          /* the host's UTC time */
    usleep(1200000);
    int b = rtc_second_of_day(r);
    int d = (b - a + 86400) % 86400;
    CHECK(d >= 1 && d <= 3);                          /* it ran on while paused */
    guest_clock_resume(&dh.clock);
    rtc_destroy(r);
    dev_harness_destroy(&dh);
}

int main(void)
{
    RUN_TEST(clock_stands_still_while_paused);
    RUN_TEST(clock_never_goes_backwards_across_pauses);
    RUN_TEST(service_deadline_moves_by_the_pause);
    RUN_TEST(periodic_timer_does_not_burst_after_a_pause);
    RUN_TEST(pit_stands_still_and_its_edge_moves);
    RUN_TEST(acpi_pm_timer_stands_still);
    RUN_TEST(lapic_count_and_tsc_stand_still);
    RUN_TEST(rtc_keeps_wall_clock_time);
    return CHECK_DONE();
}
