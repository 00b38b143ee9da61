/* Unit tests for the HPET: capabilities, the halted counter and 32-bit
 * halves, a level comparator's status bit and line until write-1-to-clear,
 * the periodic accumulator rule, 32-bit mode, routes it cannot reach, and
 * its state saved and loaded (and hostile state refused). */
#include <errno.h>
#include <stdatomic.h>
#include <unistd.h>

#include "check.h"
#include "dev_harness.h"
#include "board/layout.h"
#include "hw/hpet.h"
#include "lib/err.h"
#include "lib/state.h"
#include "machine/timer.h"

static struct dev_harness dh;
static struct hpet *hp;

static struct irq_line route(void *opaque, unsigned gsi)
{
    return dev_harness_line(opaque, gsi);
}

static void setup(void)
{
    dev_harness_init(&dh);
    CHECK_EQ(hpet_create(&dh.mmio, LAYOUT_HPET, &dh.clock, route, &dh, &hp), 0);
}

static void teardown(void)
{
    hpet_destroy(hp);
    CHECK_EQ(dh.mmio.count, 0);
    dev_harness_destroy(&dh);
}

static uint64_t rd(uint64_t reg, unsigned size)
{
    uint64_t v = 0;
    bus_read(&dh.mmio, LAYOUT_HPET + reg, size, &v);
    return v;
}

static void wr(uint64_t reg, unsigned size, uint64_t v)
{
    bus_write(&dh.mmio, LAYOUT_HPET + reg, size, v);
}

static void hpet_capabilities_and_counter(void)
{
    setup();
    uint64_t cap = rd(0, 8);
    CHECK_EQ(cap & 0xff, 1);                       /* REV_ID */
    CHECK_EQ((cap >> 8) & 0x1f, HPET_TIMERS - 1);
    CHECK(cap & (1u << 13));                       /* 64-bit counter */
    CHECK(cap & (1u << 15));                       /* legacy replacement */
    CHECK_EQ(cap >> 32, HPET_PERIOD_FS);
    CHECK_EQ(rd(4, 4), HPET_PERIOD_FS);            /* the upper half alone */
    CHECK_EQ(rd(0x100, 8) >> 32, HPET_ROUTE_CAP);
    /* Halted: what is written (in halves too) stays. */
    wr(0xf0, 4, 0x89abcdef);
    wr(0xf4, 4, 0x01234567);
    CHECK_EQ(rd(0xf0, 8), 0x0123456789abcdefull);
    usleep(2000);
    CHECK_EQ(rd(0xf0, 8), 0x0123456789abcdefull);
    wr(0x10, 8, 1);                                /* ENABLE_CNF */
    usleep(2000);
    uint64_t ran = rd(0xf0, 8) - 0x0123456789abcdefull;
    CHECK(ran >= 200000 && ran < 100000000);       /* 2 ms is 200000 ticks */
    wr(0x10, 8, 0);
    uint64_t stopped = rd(0xf0, 8);
    usleep(1000);
    CHECK_EQ(rd(0xf0, 8), stopped);
    teardown();
}

static void hpet_level_holds_until_cleared(void)
{
    setup();
    wr(0x100 + 0x20, 8, (20ull << 9) | (1 << 1) | (1 << 2));   /* timer 1: pin 20, level */
    wr(0x108 + 0x20, 8, 100000);                               /* 1 ms after start */
    wr(0x10, 8, 1);
    for (int i = 0; i < 2000 && !fake_irq_level[20]; i++)
        usleep(1000);
    CHECK_EQ(fake_irq_level[20], 1);
    CHECK_EQ(rd(0x20, 8), 2);
    usleep(3000);
    CHECK_EQ(fake_irq_level[20], 1);               /* held */
    wr(0x20, 8, 1);                                /* another timer's bit: nothing */
    CHECK_EQ(rd(0x20, 8), 2);
    wr(0x20, 8, 2);
    CHECK_EQ(rd(0x20, 8), 0);
    CHECK_EQ(fake_irq_level[20], 0);
    teardown();
}

static atomic_bool blocker_in, blocker_out;
static void blocker(void *opaque)
{
    (void)opaque;
    atomic_store(&blocker_in, true);
    usleep(100000);
    atomic_store(&blocker_out, true);
}

/* A guest that polls the status register sees a level timer's bit from its
 * match on, as on hardware, even when the timer thread is late (a loaded
 * host): here another timer's callback keeps the thread busy past it. */
static void hpet_status_read_before_service_runs(void)
{
    setup();
    struct timer_service *ts;
    struct timer *tb;
    CHECK_EQ(timer_service_get_clock(&dh.clock, &ts), 0);
    CHECK_EQ(timer_new(ts, blocker, NULL, &tb), 0);
    atomic_store(&blocker_in, false);
    atomic_store(&blocker_out, false);
    timer_arm(tb, timer_service_now(ts));
    for (int i = 0; i < 2000 && !atomic_load(&blocker_in); i++)
        usleep(100);
    CHECK(atomic_load(&blocker_in));
    wr(0x100 + 0x20, 8, (20ull << 9) | (1 << 1) | (1 << 2));   /* timer 1: pin 20, level */
    wr(0x108 + 0x20, 8, 100000);                               /* 1 ms after start */
    wr(0x10, 8, 1);
    usleep(5000);
    bool busy = !atomic_load(&blocker_out);
    CHECK_EQ(rd(0x20, 8), 2);                      /* matched: the status bit is set */
    CHECK_EQ(fake_irq_level[20], 1);               /* and the line is up */
    CHECK(busy);                                   /* before the timer thread could do it */
    wr(0x20, 8, 2);
    CHECK_EQ(rd(0x20, 8), 0);
    CHECK_EQ(fake_irq_level[20], 0);
    for (int i = 0; i < 2000 && !atomic_load(&blocker_out); i++)
        usleep(1000);
    usleep(5000);                                  /* the thread's late callback sets nothing again */
    CHECK_EQ(rd(0x20, 8), 0);
    CHECK_EQ(fake_irq_level[20], 0);
    timer_free(tb);
    timer_service_put(ts);
    teardown();
}

static void hpet_periodic_and_32bit(void)
{
    setup();
    /* Periodic: VAL_SET writes comparator and period, the next write the period. */
    wr(0x100, 8, (1 << 3) | (1 << 6));
    wr(0x108, 8, 5000);
    CHECK_EQ(rd(0x100, 8) & (1 << 6), 0);          /* VAL_SET clears itself */
    wr(0x108, 8, 700);
    CHECK_EQ(rd(0x108, 8), 5000);
    /* A route outside INT_ROUTE_CAP is not taken. */
    wr(0x100, 8, (3ull << 9) | (1 << 3));
    CHECK_EQ((rd(0x100, 8) >> 9) & 0x1f, 0);
    /* 32-bit mode: 32 bits kept; the period wraps the comparator. */
    wr(0x140, 8, (21ull << 9) | (1 << 2) | (1 << 3) | (1 << 6) | (1 << 8));
    wr(0x148, 8, 0x77700000fffffff0ull);
    wr(0x148, 4, 0x10000);                         /* the period: 655 us */
    CHECK_EQ(rd(0x148, 8), 0xfffffff0ull);
    wr(0xf0, 8, 0xffffff00ull);
    wr(0x10, 8, 1);
    usleep(5000);
    CHECK_EQ(rd(0x148, 8) & 0xffff, 0xfff0);       /* stepped by the period */
    CHECK(rd(0x148, 8) < 0xfffffff0ull);           /* and wrapped at 2^32 */
    CHECK(rd(0xf0, 8) > 0xffffffffull);            /* the main counter did not */
    teardown();
}

static void hpet_state_round_trip(void)
{
    setup();
    wr(0xf0, 8, 0x123456789ull);
    wr(0x100 + 0x40, 8, (22ull << 9) | (1 << 1) | (1 << 3) | (1 << 6));
    wr(0x108 + 0x40, 8, 0x5000);
    wr(0x108 + 0x40, 8, 0x300);
    wr(0x10, 8, 2);                                /* legacy on, halted */
    struct state_out o;
    state_out_init(&o);
    CHECK_EQ(hpet_save(hp, &o), 0);
    teardown();

    setup();
    struct state_in in;
    struct err e = { 0 };
    state_in_init(&in, o.data, o.len);
    CHECK_EQ(hpet_load(hp, &in, &e), 0);
    CHECK(state_in_done(&in));
    CHECK_EQ(rd(0x10, 8), 2);
    CHECK_EQ(rd(0xf0, 8), 0x123456789ull);
    CHECK_EQ(rd(0x148, 8), 0x5000);
    CHECK_EQ((rd(0x140, 8) >> 9) & 0x1f, 22);
    teardown();

    /* Hostile: a route the timer cannot reach, a configuration bit it lacks. */
    o.data[8 + 8 + 1 + 24 * 2 + 1] = 0x06;          /* timer 2 config byte 1: route 3 */
    setup();
    state_in_init(&in, o.data, o.len);
    CHECK_EQ(hpet_load(hp, &in, &e), -EINVAL);
    CHECK(strstr(e.msg, "timer 2") != NULL);
    CHECK_EQ((rd(0x140, 8) >> 9) & 0x1f, 0);       /* left as it was */
    teardown();
    o.data[0] = 0x80;
    setup();
    state_in_init(&in, o.data, o.len);
    CHECK_EQ(hpet_load(hp, &in, &e), -EINVAL);
    state_in_init(&in, o.data, 10);
    CHECK_EQ(hpet_load(hp, &in, &e), -EINVAL);
    teardown();
    state_out_free(&o);
}

int main(void)
{
    RUN_TEST(hpet_capabilities_and_counter);
    RUN_TEST(hpet_level_holds_until_cleared);
    RUN_TEST(hpet_status_read_before_service_runs);
    RUN_TEST(hpet_periodic_and_32bit);
    RUN_TEST(hpet_state_round_trip);
    return CHECK_DONE();
}
