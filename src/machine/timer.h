/* The timer service the emulated PIT and local APICs share: one thread per
 * machine runs callbacks at absolute deadlines (nanoseconds) on the machine's
 * guest clock, which stands still while the machine is paused. */
#ifndef HOSTEL_TIMER_H
#define HOSTEL_TIMER_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

/* A machine's guest clock (struct vm embeds one): host CLOCK_MONOTONIC minus
 * the time the machine has spent paused, in nanoseconds, like QEMU's virtual
 * clock.  Every emulated time source reads it (emu's TSC, LAPIC timer, PIT,
 * ACPI PM timer), so a paused guest sees no time pass.  All zero is a clock
 * that was never paused: it reads the host clock.  The fields are private. */
struct guest_clock {
    _Atomic uint32_t seq;           /* odd while pause or resume rewrites the rest */
    _Atomic bool paused;
    _Atomic uint64_t offset_ns;     /* host time spent paused before the current pause */
    _Atomic uint64_t frozen_ns;     /* guest time at which the current pause stopped it */
    _Atomic uint64_t resumed_host_ns; /* host time of the last resume; 0: never */
};

/* Guest time now; NULL reads the host clock.  Lock-free, from any thread,
 * never goes backwards. */
uint64_t guest_clock_now(const struct guest_clock *gc);
/* Stops and restarts guest time (each a no-op when already so); the timer
 * service of this clock re-plans, so its deadlines move by the pause. */
void guest_clock_pause(struct guest_clock *gc);
void guest_clock_resume(struct guest_clock *gc);
bool guest_clock_paused(const struct guest_clock *gc);
/* Makes guest time read guest_ns now (and go on from there): a restored
 * machine's time continues from its snapshot, not from this host's boot. */
void guest_clock_set(struct guest_clock *gc, uint64_t guest_ns);
/* Host CLOCK_MONOTONIC time of the last resume, 0 if never paused. */
uint64_t guest_clock_resumed_at(const struct guest_clock *gc);

struct timer_service;
struct timer;

/* Runs on the service thread, with no service lock held: it may arm, cancel
 * or re-arm any timer, its own included. */
typedef void (*timer_fn)(void *opaque);

/* Host CLOCK_MONOTONIC now, in nanoseconds (not the guest's time). */
uint64_t timer_now_ns(void);

/* One service per owner (any unique pointer) on the host clock: the first
 * get starts the thread, the last put stops and joins it. */
int timer_service_get(const void *owner, struct timer_service **out);
/* One service per guest clock (&vm->clock): its deadlines are guest time. */
int timer_service_get_clock(struct guest_clock *gc, struct timer_service **out);
void timer_service_put(struct timer_service *ts);
/* Now on the service's clock: what timer_arm deadlines are measured on. */
uint64_t timer_service_now(struct timer_service *ts);

/* A stand-alone service on the host clock (tests); destroy stops the
 * thread, and every timer must have been freed before. */
int timer_service_create(struct timer_service **out);
void timer_service_destroy(struct timer_service *ts);

int timer_new(struct timer_service *ts, timer_fn fn, void *opaque, struct timer **out);
/* Waits for a running callback of this timer to return, unless called from
 * that callback. */
void timer_free(struct timer *t);
/* (Re)arms at an absolute deadline on the service's clock; a deadline in
 * the past fires at once.  While the guest clock is paused nothing later
 * than the pause fires. */
void timer_arm(struct timer *t, uint64_t deadline_ns);
/* Never waits: a callback already running may still finish, so owners
 * check their own state in the callback (the usual lock order is device
 * lock -> timer service, and callbacks take the device lock). */
void timer_cancel(struct timer *t);
bool timer_armed(struct timer *t);

#endif
