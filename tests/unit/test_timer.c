/* Unit tests for the timer service: ordering, re-arming, cancel, free. */
#include <pthread.h>
#include <stdatomic.h>
#include <unistd.h>

#include "check.h"
#include "machine/timer.h"

struct rec {
    int id;
    _Atomic int *order;      /* shared counter: fire order */
    _Atomic int fired_at;    /* order index + 1, 0 = not yet */
    _Atomic int count;
    struct timer *self;
    uint64_t period;         /* >0: re-arm itself until count reaches 5 */
};

static void rec_fire(void *opaque)
{
    struct rec *r = opaque;
    int n = atomic_fetch_add(r->order, 1);
    if (!atomic_load(&r->fired_at))
        atomic_store(&r->fired_at, n + 1);
    int c = atomic_fetch_add(&r->count, 1) + 1;
    if (r->period && c < 5)
        timer_arm(r->self, timer_now_ns() + r->period);
}

/* Waits up to 5 s (generous: the test must not depend on host speed). */
static bool wait_for(_Atomic int *v, int want)
{
    for (int i = 0; i < 5000; i++) {
        if (atomic_load(v) >= want)
            return true;
        usleep(1000);
    }
    return false;
}

static void timers_fire_in_deadline_order(void)
{
    struct timer_service *ts;
    CHECK_EQ(timer_service_create(&ts), 0);
    _Atomic int order = 0;
    struct rec r[3] = { { .id = 0, .order = &order }, { .id = 1, .order = &order },
                        { .id = 2, .order = &order } };
    for (int i = 0; i < 3; i++)
        CHECK_EQ(timer_new(ts, rec_fire, &r[i], &r[i].self), 0);
    uint64_t now = timer_now_ns();
    timer_arm(r[0].self, now + 30000000);   /* armed first, fires last */
    timer_arm(r[1].self, now + 2000000);
    timer_arm(r[2].self, now + 10000000);
    CHECK(wait_for(&order, 3));
    CHECK_EQ(atomic_load(&r[1].fired_at), 1);
    CHECK_EQ(atomic_load(&r[2].fired_at), 2);
    CHECK_EQ(atomic_load(&r[0].fired_at), 3);
    for (int i = 0; i < 3; i++)
        timer_free(r[i].self);
    timer_service_destroy(ts);
}

static void timer_past_deadline_fires_at_once_and_rearms(void)
{
    struct timer_service *ts;
    CHECK_EQ(timer_service_create(&ts), 0);
    _Atomic int order = 0;
    struct rec r = { .order = &order, .period = 1000000 };
    CHECK_EQ(timer_new(ts, rec_fire, &r, &r.self), 0);
    timer_arm(r.self, 0);
    CHECK(wait_for(&r.count, 5));
    usleep(20000);
    CHECK_EQ(atomic_load(&r.count), 5);     /* stopped re-arming itself */
    CHECK(!timer_armed(r.self));
    timer_free(r.self);
    timer_service_destroy(ts);
}

static void cancelled_timer_does_not_fire(void)
{
    struct timer_service *ts;
    CHECK_EQ(timer_service_create(&ts), 0);
    _Atomic int order = 0;
    struct rec a = { .order = &order }, b = { .order = &order };
    CHECK_EQ(timer_new(ts, rec_fire, &a, &a.self), 0);
    CHECK_EQ(timer_new(ts, rec_fire, &b, &b.self), 0);
    uint64_t now = timer_now_ns();
    timer_arm(a.self, now + 200000000);
    timer_arm(b.self, now + 20000000);
    CHECK(timer_armed(a.self));
    timer_cancel(a.self);
    CHECK(!timer_armed(a.self));
    CHECK(wait_for(&b.count, 1));
    CHECK_EQ(atomic_load(&a.count), 0);
    /* re-arming moves the deadline instead of adding a second one */
    timer_arm(a.self, timer_now_ns() + 100000000);
    timer_arm(a.self, timer_now_ns() + 1000000);
    CHECK(wait_for(&a.count, 1));
    usleep(150000);
    CHECK_EQ(atomic_load(&a.count), 1);
    timer_free(a.self);
    timer_free(b.self);
    timer_service_destroy(ts);
}

static void shared_service_is_refcounted(void)
{
    int owner1, owner2;
    struct timer_service *a, *b, *c;
    CHECK_EQ(timer_service_get(&owner1, &a), 0);
    CHECK_EQ(timer_service_get(&owner1, &b), 0);
    CHECK_EQ(timer_service_get(&owner2, &c), 0);
    CHECK(a == b);
    CHECK(a != c);
    _Atomic int order = 0;
    struct rec r = { .order = &order };
    CHECK_EQ(timer_new(b, rec_fire, &r, &r.self), 0);
    timer_service_put(a);                   /* b still holds it */
    timer_arm(r.self, timer_now_ns() + 1000000);
    CHECK(wait_for(&r.count, 1));
    timer_free(r.self);
    timer_service_put(b);
    timer_service_put(c);
}

/* A callback that keeps re-arming itself, freed from another thread. */
static void rearm_forever(void *opaque)
{
    struct rec *r = opaque;
    atomic_fetch_add(&r->count, 1);
    usleep(2000);                          /* widen the window timer_free waits in */
    timer_arm(r->self, timer_now_ns());
}

static void free_waits_for_a_rearming_callback(void)
{
    struct timer_service *ts;
    CHECK_EQ(timer_service_create(&ts), 0);
    struct rec r = { 0 };
    CHECK_EQ(timer_new(ts, rearm_forever, &r, &r.self), 0);
    timer_arm(r.self, 0);
    CHECK(wait_for(&r.count, 3));
    timer_free(r.self);                    /* must not leave it armed */
    int n = atomic_load(&r.count);
    usleep(10000);
    CHECK_EQ(atomic_load(&r.count), n);
    timer_service_destroy(ts);             /* complains if anything is still armed */
}

int main(void)
{
    RUN_TEST(timers_fire_in_deadline_order);
    RUN_TEST(timer_past_deadline_fires_at_once_and_rearms);
    RUN_TEST(cancelled_timer_does_not_fire);
    RUN_TEST(shared_service_is_refcounted);
    RUN_TEST(free_waits_for_a_rearming_callback);
    return CHECK_DONE();
}
