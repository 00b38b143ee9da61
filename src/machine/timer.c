/* One thread per machine that sleeps until the earliest armed deadline and
 * runs timer callbacks, so emulated timers never spin a host CPU; and the
 * machine's guest clock, which a pause stops. */
#include "machine/timer.h"
#include "lib/sandbox.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "lib/log.h"

struct timer {
    struct timer_service *ts;
    timer_fn fn;
    void *opaque;
    uint64_t deadline;
    bool armed;
    bool dying;                  /* timer_free started: arming is a no-op */
    struct timer *next;          /* in ts->armed list, sorted by deadline */
};

struct timer_service {
    pthread_mutex_t lock;
    pthread_cond_t cond;         /* the thread waits here for work */
    pthread_cond_t idle;         /* timer_free waits here for a callback */
    pthread_t thread;
    bool stopping;
    struct guest_clock *clock;   /* deadlines are on this clock; NULL: the host's */
    struct timer *armed;
    struct timer *running;       /* the timer whose callback runs now */
    /* get/put registry */
    const void *owner;
    int refs;
    struct timer_service *reg_next;
};

/* Guards the registry; also serializes guest clock pauses and resumes, so
 * they can wake the clock's service on the way. */
static pthread_mutex_t registry_lock = PTHREAD_MUTEX_INITIALIZER;
static struct timer_service *registry;

uint64_t timer_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ULL + (uint64_t)ts.tv_nsec;
}

/* ---- the guest clock ---------------------------------------------------------- */

/* One consistent reading of a clock: guest time, and how host time maps to it. */
struct clock_reading {
    uint64_t now;        /* guest ns */
    bool paused;
    uint64_t offset;     /* while running: guest = host - offset */
};

/* A seqlock read: pause and resume are rare, reads (every RDTSC) are not.
 * The host clock is read inside the window too, so a reading never mixes
 * the host time after a resume with the offset from before it. */
static void clock_read(const struct guest_clock *gc, struct clock_reading *r)
{
    if (!gc) {
        r->now = timer_now_ns();
        r->paused = false;
        r->offset = 0;
        return;
    }
    for (;;) {
        uint32_t seq = atomic_load(&gc->seq);
        if (seq & 1) {
            sched_yield();           /* a pause or resume is half done */
            continue;
        }
        bool paused = atomic_load(&gc->paused);
        uint64_t offset = atomic_load(&gc->offset_ns);
        uint64_t frozen = atomic_load(&gc->frozen_ns);
        uint64_t host = timer_now_ns();
        if (atomic_load(&gc->seq) != seq)
            continue;
        r->paused = paused;
        r->offset = offset;
        r->now = paused ? frozen : host - offset;
        return;
    }
}

uint64_t guest_clock_now(const struct guest_clock *gc)
{
    struct clock_reading r;
    clock_read(gc, &r);
    return r.now;
}

bool guest_clock_paused(const struct guest_clock *gc)
{
    return gc && atomic_load(&gc->paused);
}

uint64_t guest_clock_resumed_at(const struct guest_clock *gc)
{
    return gc ? atomic_load(&gc->resumed_host_ns) : 0;
}

/* The clock's service (registry lock held) must look again at its earliest
 * deadline: guest time stopped or started. */
static void wake_clock_service(const struct guest_clock *gc)
{
    for (struct timer_service *ts = registry; ts; ts = ts->reg_next) {
        if (ts->clock != gc)
            continue;
        pthread_mutex_lock(&ts->lock);
        pthread_cond_signal(&ts->cond);
        pthread_mutex_unlock(&ts->lock);
    }
}

void guest_clock_pause(struct guest_clock *gc)
{
    pthread_mutex_lock(&registry_lock);
    if (!atomic_load(&gc->paused)) {
        atomic_fetch_add(&gc->seq, 1);
        atomic_store(&gc->frozen_ns, timer_now_ns() - atomic_load(&gc->offset_ns));
        atomic_store(&gc->paused, true);
        atomic_fetch_add(&gc->seq, 1);
        wake_clock_service(gc);
    }
    pthread_mutex_unlock(&registry_lock);
}

void guest_clock_resume(struct guest_clock *gc)
{
    pthread_mutex_lock(&registry_lock);
    if (atomic_load(&gc->paused)) {
        uint64_t host = timer_now_ns();
        atomic_fetch_add(&gc->seq, 1);
        /* Guest time goes on from where the pause froze it. */
        atomic_store(&gc->offset_ns, host - atomic_load(&gc->frozen_ns));
        atomic_store(&gc->paused, false);
        atomic_store(&gc->resumed_host_ns, host);
        atomic_fetch_add(&gc->seq, 1);
        wake_clock_service(gc);
    }
    pthread_mutex_unlock(&registry_lock);
}

void guest_clock_set(struct guest_clock *gc, uint64_t guest_ns)
{
    pthread_mutex_lock(&registry_lock);
    atomic_fetch_add(&gc->seq, 1);
    if (atomic_load(&gc->paused))
        atomic_store(&gc->frozen_ns, guest_ns);
    else   /* modular: right even when guest time is ahead of this host's clock */
        atomic_store(&gc->offset_ns, timer_now_ns() - guest_ns);
    atomic_fetch_add(&gc->seq, 1);
    wake_clock_service(gc);
    pthread_mutex_unlock(&registry_lock);
}

/* ---- the service ------------------------------------------------------------- */

uint64_t timer_service_now(struct timer_service *ts)
{
    return guest_clock_now(ts->clock);
}

static void unlink_timer(struct timer *t)
{
    struct timer **pp = &t->ts->armed;
    while (*pp && *pp != t)
        pp = &(*pp)->next;
    if (*pp)
        *pp = t->next;
    t->next = NULL;
    t->armed = false;
}

static void *service_thread(void *arg)
{
    struct timer_service *ts = arg;
    pthread_mutex_lock(&ts->lock);
    while (!ts->stopping) {
        sandbox_thread_check(SANDBOX_TIMER);
        struct timer *t = ts->armed;
        if (!t) {
            pthread_cond_wait(&ts->cond, &ts->lock);
            continue;
        }
        struct clock_reading now;
        clock_read(ts->clock, &now);
        if (t->deadline > now.now) {
            /* Paused: guest time stands still until a resume wakes us. */
            if (now.paused) {
                pthread_cond_wait(&ts->cond, &ts->lock);
                continue;
            }
            uint64_t host = t->deadline + now.offset;
            struct timespec abs = { (time_t)(host / 1000000000ULL),
                                    (long)(host % 1000000000ULL) };
            pthread_cond_timedwait(&ts->cond, &ts->lock, &abs);
            continue;
        }
        ts->armed = t->next;
        t->next = NULL;
        t->armed = false;
        ts->running = t;
        pthread_mutex_unlock(&ts->lock);
        t->fn(t->opaque);
        pthread_mutex_lock(&ts->lock);
        ts->running = NULL;
        pthread_cond_broadcast(&ts->idle);
    }
    pthread_mutex_unlock(&ts->lock);
    return NULL;
}

int timer_service_create(struct timer_service **out)
{
    struct timer_service *ts = calloc(1, sizeof(*ts));
    if (!ts)
        return -ENOMEM;
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&ts->lock, NULL);
    pthread_cond_init(&ts->cond, &ca);
    pthread_cond_init(&ts->idle, NULL);
    pthread_condattr_destroy(&ca);
    int r = pthread_create(&ts->thread, NULL, service_thread, ts);
    if (r) {
        log_error("cannot start the timer thread: %s (check the process/thread limits)",
                  strerror(r));
        pthread_cond_destroy(&ts->cond);
        pthread_cond_destroy(&ts->idle);
        pthread_mutex_destroy(&ts->lock);
        free(ts);
        return -r;
    }
    *out = ts;
    return 0;
}

void timer_service_destroy(struct timer_service *ts)
{
    if (!ts)
        return;
    pthread_mutex_lock(&ts->lock);
    ts->stopping = true;
    pthread_cond_signal(&ts->cond);
    pthread_mutex_unlock(&ts->lock);
    pthread_join(ts->thread, NULL);
    if (ts->armed)
        log_error("timer service destroyed with timers still armed (a device leaked one)");
    pthread_cond_destroy(&ts->cond);
    pthread_cond_destroy(&ts->idle);
    pthread_mutex_destroy(&ts->lock);
    free(ts);
}

static int service_get(const void *owner, struct guest_clock *clock,
                       struct timer_service **out)
{
    pthread_mutex_lock(&registry_lock);
    for (struct timer_service *ts = registry; ts; ts = ts->reg_next) {
        if (ts->owner == owner && ts->clock == clock) {
            ts->refs++;
            *out = ts;
            pthread_mutex_unlock(&registry_lock);
            return 0;
        }
    }
    struct timer_service *ts;
    int r = timer_service_create(&ts);
    if (r == 0) {
        ts->owner = owner;
        /* Set before anyone can arm a timer: the thread reads it under
         * ts->lock, which timer_arm takes after this. */
        pthread_mutex_lock(&ts->lock);
        ts->clock = clock;
        pthread_mutex_unlock(&ts->lock);
        ts->refs = 1;
        ts->reg_next = registry;
        registry = ts;
        *out = ts;
    }
    pthread_mutex_unlock(&registry_lock);
    return r;
}

int timer_service_get(const void *owner, struct timer_service **out)
{
    return service_get(owner, NULL, out);
}

int timer_service_get_clock(struct guest_clock *gc, struct timer_service **out)
{
    return service_get(gc, gc, out);
}

void timer_service_put(struct timer_service *ts)
{
    if (!ts)
        return;
    pthread_mutex_lock(&registry_lock);
    if (--ts->refs > 0) {
        pthread_mutex_unlock(&registry_lock);
        return;
    }
    struct timer_service **pp = &registry;
    while (*pp && *pp != ts)
        pp = &(*pp)->reg_next;
    if (*pp)
        *pp = ts->reg_next;
    pthread_mutex_unlock(&registry_lock);
    timer_service_destroy(ts);
}

int timer_new(struct timer_service *ts, timer_fn fn, void *opaque, struct timer **out)
{
    struct timer *t = calloc(1, sizeof(*t));
    if (!t)
        return -ENOMEM;
    t->ts = ts;
    t->fn = fn;
    t->opaque = opaque;
    *out = t;
    return 0;
}

void timer_free(struct timer *t)
{
    if (!t)
        return;
    struct timer_service *ts = t->ts;
    pthread_mutex_lock(&ts->lock);
    /* A callback in flight may re-arm itself; from now on that is a no-op,
     * so the wait below ends with this callback. */
    t->dying = true;
    if (t->armed)
        unlink_timer(t);
    if (!pthread_equal(pthread_self(), ts->thread))
        while (ts->running == t)
            pthread_cond_wait(&ts->idle, &ts->lock);
    pthread_mutex_unlock(&ts->lock);
    free(t);
}

void timer_arm(struct timer *t, uint64_t deadline_ns)
{
    struct timer_service *ts = t->ts;
    pthread_mutex_lock(&ts->lock);
    if (t->dying) {
        pthread_mutex_unlock(&ts->lock);
        return;
    }
    if (t->armed)
        unlink_timer(t);
    t->deadline = deadline_ns;
    t->armed = true;
    struct timer **pp = &ts->armed;
    while (*pp && (*pp)->deadline <= deadline_ns)
        pp = &(*pp)->next;
    t->next = *pp;
    *pp = t;
    /* Only a new head changes how long the thread must sleep. */
    if (ts->armed == t)
        pthread_cond_signal(&ts->cond);
    pthread_mutex_unlock(&ts->lock);
}

void timer_cancel(struct timer *t)
{
    struct timer_service *ts = t->ts;
    pthread_mutex_lock(&ts->lock);
    if (t->armed)
        unlink_timer(t);
    pthread_mutex_unlock(&ts->lock);
}

bool timer_armed(struct timer *t)
{
    pthread_mutex_lock(&t->ts->lock);
    bool a = t->armed;
    pthread_mutex_unlock(&t->ts->lock);
    return a;
}
